// tests/integration/json.js: the integration tests' JSON reader (no jq on
// a fresh Debian).  Usage: node json.js EXPR [FILE] evaluates the
// JavaScript expression EXPR with `d` bound to the parsed JSON of FILE (or
// stdin) and prints the result: strings raw, other values as JSON,
// undefined as nothing (exit 1).
'use strict';
const fs = require('fs');
const expr = process.argv[2];
const file = process.argv[3];
let d;
try {
	d = JSON.parse(fs.readFileSync(file !== undefined ? file : 0, 'utf8'));
} catch (e) {
	process.stderr.write('json.js: not JSON: ' + e.message + '\n');
	process.exit(2);
}
// eslint-disable-next-line no-new-func
const v = new Function('d', 'return (' + expr + ');')(d);
if (v === undefined || v === null) {
	process.exit(1);
}
process.stdout.write((typeof v === 'string' ? v : JSON.stringify(v)) + '\n');
