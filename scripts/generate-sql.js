#!/usr/bin/env node
'use strict';
// Node entry point for generate_sql.py: the same arguments, streams and exit status.
require('./run-python.js').runPythonScript('generate_sql.py', process.argv.slice(2));
