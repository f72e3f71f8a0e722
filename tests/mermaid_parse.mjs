// Parse each Mermaid file named on the command line with the real Mermaid
// parser; print one line per file ("ok PATH" or "error PATH: MESSAGE") and
// exit 1 when any file fails. Mermaid needs a DOM, which jsdom provides.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

let failed = false;
for (const path of process.argv.slice(2)) {
  try {
    await mermaid.parse(readFileSync(path, 'utf8'));
    console.log(`ok ${path}`);
  } catch (error) {
    failed = true;
    console.log(`error ${path}: ${String(error.message).split('\n').join(' ')}`);
  }
}
process.exit(failed ? 1 : 0);
