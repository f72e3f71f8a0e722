'use strict';
// Runs one of the Python scripts in this folder with the caller's arguments,
// so that `node scripts/design-schema.js ...` behaves like
// `python scripts/design_schema.py ...`: same arguments, same standard
// streams, same exit status (a child killed by signal N exits 128 + N).
//
// The interpreter is the first of: $DMODEL_PYTHON, the checkout's
// .venv/bin/python (Scripts\python.exe on Windows), python3 on PATH,
// python on PATH. When none is found the shim exits with status 2.

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const USAGE_ERROR = 2;

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch (error) {
    return false;
  }
}

function findOnPath(name) {
  const extensions = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const folder of (process.env.PATH || '').split(path.delimiter)) {
    if (!folder) {
      continue;
    }
    for (const extension of extensions) {
      const candidate = path.join(folder, name + extension);
      if (isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return null;
}

function findPython() {
  if (process.env.DMODEL_PYTHON) {
    return process.env.DMODEL_PYTHON;
  }
  const checkout = path.resolve(__dirname, '..');
  const venvPython = process.platform === 'win32'
    ? path.join(checkout, '.venv', 'Scripts', 'python.exe')
    : path.join(checkout, '.venv', 'bin', 'python');
  if (isExecutable(venvPython)) {
    return venvPython;
  }
  return findOnPath('python3') || findOnPath('python');
}

function exitStatusOf(code, signal) {
  if (signal) {
    return 128 + (os.constants.signals[signal] || 0);
  }
  return code === null ? 1 : code;
}

function runPythonScript(scriptName, args) {
  const prefix = `${path.basename(process.argv[1] || scriptName)}:`;
  const python = findPython();
  if (!python) {
    process.stderr.write(`${prefix} error: no Python interpreter found (tried .venv/bin/python, python3, python). ` +
      'Fix: install Python 3.11 or newer, or set DMODEL_PYTHON to the interpreter to use.\n');
    process.exit(USAGE_ERROR);
  }

  const script = path.join(__dirname, scriptName);
  const child = childProcess.spawn(python, [script, ...args], { stdio: 'inherit' });

  // The child shares the terminal, so Ctrl-C reaches it directly. The shim
  // ignores it and waits to report the child's status. A SIGTERM sent to the
  // shim alone is passed on to the child.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));

  child.on('error', (error) => {
    process.stderr.write(`${prefix} error: cannot run the Python interpreter '${python}': ${error.message}. ` +
      'Fix: set DMODEL_PYTHON to a working Python 3.11 or newer.\n');
    process.exit(USAGE_ERROR);
  });
  child.on('exit', (code, signal) => {
    process.exit(exitStatusOf(code, signal));
  });
}

module.exports = { findPython, runPythonScript };
