// tests/hostile/mktar.js: writes the hostile tarballs of class 4 (tar
// interpretation) byte by byte, then reads each back with node-tar 7.5.22
// (npm's extractor, tests/integration/node_modules/tar) and checks that
// npm would extract the smuggled entry: a case whose tarball node-tar
// reads harmlessly would prove nothing, so that is an error (exit 1).
//
// Usage: node mktar.js VARIANT OUT.tgz NAME VERSION [HIDDEN]
// Prints node-tar's reading (one "type path size" line per entry) on
// stderr.  Every variant is a valid small package (package.json, README,
// dist/index.js) plus one smuggling construct; the smuggled entry
// (HIDDEN) is package/src/index.ts (src, the default: the test policy
// denies src/**), package/.npmrc with a token (npmrc), a map embedding
// the source (map), or a second package/package.json, private and with
// a postinstall, that replaces the judged one on extraction
// (package-json).  Variants:
//   dir-size      a directory entry ('5') with a non-zero size whose data
//                 is the smuggled header + data (node-tar: size 0)
//   file-slash    a regular file whose name ends in '/' (node-tar: a
//                 directory, size 0), same data
//   file-linkname a regular file with a linkname (node-tar drops the
//                 header and reads its data as headers)
//   pax-gnu-long  a pax 'x' path (dist/notes.md) then a GNU 'L' long name
//                 (src/index.ts) for the same file: node-tar takes the last
//   pax-global-size  a global pax header ('g') with a size, then a file
//                 whose header size covers one filler block and the
//                 smuggled entry (node-tar: every later file has the
//                 global size, so the blob ends after the filler)
//   pax-newline   a pax record whose value contains a newline and a
//                 second record: node-tar splits on newlines and keeps
//                 the inner path
//   ustar-prefix  magic "ustar\0" with version "  " and a prefix: node-tar
//                 only reads the prefix under "ustar\0" "00"
//   pax-utf8-split  a pax path of over 512 bytes with non-ASCII characters
//                 (dist/<u-umlauts>/.../notes.md) over a header naming the
//                 smuggled file: node-tar decodes the pax data chunk by
//                 chunk, and a chunk boundary inside a character drops the
//                 record, so the header's name is extracted; checked here
//                 by feeding node-tar the tar one byte at a time (what a
//                 slow download through zlib can do)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const tar = require(path.join(__dirname, '..', 'integration',
    'node_modules', 'tar'));

const [variant, out, name, version, hidden] = process.argv.slice(2);
if (!variant || !out || !name || !version) {
	process.stderr.write('usage: node mktar.js VARIANT OUT NAME VERSION ' +
	    '[src|npmrc|map|package-json]\n');
	process.exit(2);
}
// What is smuggled: a path and content the policy refuses.
const HIDDEN = {
	src: ['package/src/index.ts',
	    'export const internalOnly = "the product source";\n'],
	npmrc: ['package/.npmrc', '//registry.npmjs.org/:_authToken=npm_' +
	    'Q7hX2mK9pLw4RtZ8vN3bY6cJ1fD5gH0sA2eT\n'],
	map: ['package/dist/index.js.map', JSON.stringify({ version: 3,
	    file: 'index.js', sources: ['../src/index.ts'],
	    sourcesContent: ['export const internalOnly = 1;\n'],
	    names: [], mappings: 'AAAA' }) + '\n'],
	'package-json': ['package/package.json', JSON.stringify({ name,
	    version, private: true, license: 'ISC',
	    scripts: { postinstall: 'node -e 0' } }, null, 2) + '\n'],
};
if (!HIDDEN[hidden || 'src']) {
	process.stderr.write('mktar.js: unknown hidden file ' + hidden + '\n');
	process.exit(2);
}
const [SMUGGLED, SECRET_SRC] = HIDDEN[hidden || 'src'];

function octal(buf, off, len, n) {
	buf.write(n.toString(8).padStart(len - 1, '0') + '\0', off, len,
	    'latin1');
}

// header(): one 512-byte header block.  f: name, size, type, linkname,
// prefix, magic (8 bytes: magic + version).
function header(f) {
	const b = Buffer.alloc(512);
	b.write(f.name, 0, 100, 'utf8');
	octal(b, 100, 8, f.mode ?? 0o644);
	octal(b, 108, 8, 0);
	octal(b, 116, 8, 0);
	octal(b, 124, 12, f.size ?? 0);
	octal(b, 136, 12, 1700000000);
	b.write(f.type ?? '0', 156, 1, 'latin1');
	if (f.linkname)
		b.write(f.linkname, 157, 100, 'utf8');
	b.write(f.magic ?? 'ustar\x0000', 257, 8, 'latin1');
	if (f.prefix)
		b.write(f.prefix, 345, 155, 'utf8');
	b.fill(0x20, 148, 156);
	let sum = 0;
	for (let i = 0; i < 512; i++)
		sum += b[i];
	b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
	return b;
}

function pad(data) {
	const n = Math.ceil(data.length / 512) * 512;
	const b = Buffer.alloc(n);
	data.copy(b);
	return b;
}

// file(): header + padded data of a regular file.
function file(name, data, extra) {
	data = Buffer.from(data);
	return Buffer.concat([header({ name, size: data.length, ...extra }),
	    pad(data)]);
}

// paxrec(): one length-prefixed pax record "LEN key=value\n".
function paxrec(key, value) {
	const body = ' ' + key + '=' + value + '\n';
	let n = Buffer.byteLength(body);
	let len = n + String(n).length;
	if (String(len).length !== String(n).length)
		len = n + String(len).length;
	return len + body;
}

function pax(type, records, name) {
	return file(name ?? 'PaxHeader/x', Buffer.from(records, 'utf8'),
	    { type });
}

const pkgjson = JSON.stringify({
	name, version, description: 'pubgate hostile test package',
	main: 'dist/index.js', license: 'ISC',
}, null, 2) + '\n';
const base = [
	file('package/package.json', pkgjson),
	file('package/README.md', '# ' + name + '\n'),
	file('package/dist/index.js', '"use strict";\nmodule.exports = 1;\n'),
];
const smuggled = file(SMUGGLED, SECRET_SRC);
let parts;

switch (variant) {
case 'dir-size':
	parts = [...base, header({ name: 'package/lib/', type: '5',
	    mode: 0o755, size: smuggled.length }), smuggled];
	break;
case 'file-slash':
	parts = [...base, header({ name: 'package/lib/', type: '0',
	    size: smuggled.length }), smuggled];
	break;
case 'file-linkname':
	parts = [...base, header({ name: 'package/dist/extra.js', type: '0',
	    linkname: 'index.js', size: smuggled.length }), smuggled];
	break;
case 'pax-gnu-long':
	parts = [...base,
	    pax('x', paxrec('path', 'package/dist/notes.md')),
	    file('././@LongLink', SMUGGLED + '\0', { type: 'L' }),
	    file('package/dist/notes.md', SECRET_SRC)];
	break;
case 'pax-global-size': {
	// node-tar gives every later file the global size (the length of the
	// smuggled data): the blob's first block is its whole body, the next
	// block the smuggled header.
	const n = Buffer.byteLength(SECRET_SRC);
	const filler = pad(Buffer.from('/* blob */\n'.repeat(4)));
	parts = [...base,
	    pax('g', paxrec('size', String(n)), 'pax_global_header'),
	    header({ name: 'package/dist/blob.js', size:
	        filler.length + smuggled.length }),
	    filler, smuggled];
	break;
}
case 'pax-newline': {
	const inner = paxrec('path', SMUGGLED);
	const value = 'package/dist/notes.md\n' + inner.slice(0, -1);
	parts = [...base, pax('x', paxrec('path', value)),
	    file('package/dist/notes.md', SECRET_SRC)];
	break;
}
case 'pax-utf8-split': {
	// Over one block, with a character across the block boundary:
	// node-tar consumes a body 512 bytes at a time at least, so only an
	// extended header longer than a block can be cut.
	let pre = 'package/dist/';
	const rec = () => paxrec('path', pre + ('\u00fc'.repeat(60) + '/')
	    .repeat(5) + 'notes.md');
	if ((Buffer.from(rec())[512] & 0xc0) !== 0x80)
		pre += 'x';
	parts = [...base, pax('x', rec()), file(SMUGGLED, SECRET_SRC)];
	break;
}
case 'ustar-prefix':
	parts = [...base, file(SMUGGLED, SECRET_SRC,
	    { magic: 'ustar\0  ', prefix: 'package/dist' })];
	break;
default:
	process.stderr.write('mktar.js: unknown variant ' + variant + '\n');
	process.exit(2);
}
const raw = Buffer.concat([...parts, Buffer.alloc(1024)]);
fs.writeFileSync(out, zlib.gzipSync(raw));

// node-tar's reading, as npm's extractor would see it.
const seen = [];
const onReadEntry = e => {
	const ent = { type: e.type, path: e.path, chunks: [] };
	seen.push(ent);
	e.on('data', c => ent.chunks.push(c));
};
if (variant === 'pax-utf8-split') {
	const p = new tar.Parser({ onReadEntry });
	for (let i = 0; i < raw.length; i++)
		p.write(raw.subarray(i, i + 1));
	p.end();
} else {
	tar.t({ file: out, sync: true, onReadEntry });
}
// The last entry of a path is what extraction leaves on disk.
let found = false;
for (const e of seen) {
	const data = Buffer.concat(e.chunks);
	process.stderr.write(`node-tar: ${e.type} ${e.path} ${data.length}\n`);
	if (e.path === SMUGGLED)
		found = e.type === 'File' &&
		    data.toString('utf8') === SECRET_SRC;
}
if (!found) {
	process.stderr.write(`mktar.js: node-tar does not read ${SMUGGLED} ` +
	    `from the ${variant} tarball; the case would prove nothing\n`);
	process.exit(1);
}
