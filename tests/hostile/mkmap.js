// tests/hostile/mkmap.js: writes the package directories of class 5
// (source-map judges that give up).  Usage: node mkmap.js VARIANT DIR
// NAME VERSION.  DIR gets package.json, README.md and dist/index.js,
// which throws on its first line and names its map; the map embeds the
// TypeScript source (sourcesContent).  Variants:
//   lone-surrogate, invalid-utf8, deep-nesting, long-key, long-number:
//       dist/index.js.json (a map file not named *.map) whose JSON has,
//       before "version", a "\ud800" escape, a 0xff byte, 65 levels of
//       arrays, a 1100-byte key, an 80-digit number
//   inline-upper, inline-mixed: an inline map written "DATA:" / "Data:"
//   inline-urlsafe: an inline map in URL-safe base64 ('-' and '_')
// Each is a map `node --enable-source-maps` uses (the case checks that).
'use strict';
const fs = require('fs');
const path = require('path');

const [variant, dir, name, version] = process.argv.slice(2);
fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
	name, version, description: 'pubgate hostile test package',
	main: 'dist/index.js', license: 'ISC' }, null, 2) + '\n');
fs.writeFileSync(path.join(dir, 'README.md'), '# ' + name + '\n');

const tail = '"version":3,"file":"index.js","sources":["../src/index.ts"],' +
    '"sourcesContent":["export function main(): void {\\n  throw new ' +
    'Error(\\"the product source\\");\\n}\\n"],"names":[],' +
    '"mappings":"AAAA"}';
const js = 'throw new Error("boom from the built file");\n';
let map, comment;

function fileMap(head) {
	map = Buffer.concat([Buffer.from('{'), head, Buffer.from(',' + tail)]);
	comment = '//# sourceMappingURL=index.js.json\n';
}

switch (variant) {
case 'lone-surrogate':
	fileMap(Buffer.from('"x":"\\ud800"'));
	break;
case 'invalid-utf8':
	fileMap(Buffer.concat([Buffer.from('"x":"'), Buffer.from([0xff]),
	    Buffer.from('"')]));
	break;
case 'deep-nesting':
	fileMap(Buffer.from('"x":' + '['.repeat(65) + ']'.repeat(65)));
	break;
case 'long-key':
	fileMap(Buffer.from('"' + 'k'.repeat(1100) + '":1'));
	break;
case 'long-number':
	fileMap(Buffer.from('"x":' + '12345678'.repeat(10)));
	break;
case 'inline-upper':
case 'inline-mixed': {
	const b64 = Buffer.from('{' + tail).toString('base64');
	const scheme = variant === 'inline-upper' ? 'DATA:' : 'Data:';
	comment = '//# sourceMappingURL=' + scheme +
	    'application/json;base64,' + b64 + '\n';
	break;
}
case 'inline-urlsafe': {
	// Pad until the standard encoding has a '+' or '/' to rewrite.
	let pad = '', b64;
	for (;;) {
		b64 = Buffer.from('{"x":"' + pad + '",' + tail)
		    .toString('base64');
		if (/[+/]/.test(b64))
			break;
		pad += '?';
	}
	b64 = b64.replace(/\+/g, '-').replace(/\//g, '_');
	comment = '//# sourceMappingURL=data:application/json;base64,' +
	    b64 + '\n';
	break;
}
default:
	process.stderr.write('mkmap.js: unknown variant ' + variant + '\n');
	process.exit(2);
}
fs.writeFileSync(path.join(dir, 'dist', 'index.js'), js + comment);
if (map)
	fs.writeFileSync(path.join(dir, 'dist', 'index.js.json'), map);
