#!/usr/bin/env node
'use strict';
// Node entry point for design_schema.py: the same arguments, streams and exit status.
require('./run-python.js').runPythonScript('design_schema.py', process.argv.slice(2));
