// tests/hostile/body.js: rewrites a publish body (JSON text from
// mkbody.js) into a hostile variant, for the charset and attachment
// cases.  Usage: node body.js MODE IN OUT [ARG...]
//   utf7        the body in UTF-7 as body-parser (iconv-lite) decodes
//               it: '+' written "+-", "_attachments" as "+AF8-attachments"
//   utf7imap    the same in UTF-7-IMAP ('&' shifts: "&AF8-attachments")
//   utf16le     the body in UTF-16LE
//   gzip        the body gzip'd (for Content-Encoding: gzip)
//   sigstore    the tarball attachment renamed <name>-<v>.sigstore and
//               dist.tarball pointing at it
//   two         a second tarball attachment ARG (a .tgz file) next to
//               the first, named <name>-<v>-b.tgz
'use strict';
const fs = require('fs');
const zlib = require('zlib');

const [mode, inp, out, arg] = process.argv.slice(2);
const text = fs.readFileSync(inp, 'utf8');
let res;

switch (mode) {
case 'utf7':
	if (!text.includes('"_attachments"'))
		throw new Error('no _attachments');
	res = Buffer.from(text.replace(/\+/g, '+-')
	    .replace('"_attachments"', '"+AF8-attachments"'), 'latin1');
	break;
case 'utf7imap':
	if (!text.includes('"_attachments"'))
		throw new Error('no _attachments');
	res = Buffer.from(text.replace(/&/g, '&-')
	    .replace('"_attachments"', '"&AF8-attachments"'), 'latin1');
	break;
case 'utf16le':
	res = Buffer.from(text, 'utf16le');
	break;
case 'gzip':
	res = zlib.gzipSync(Buffer.from(text, 'utf8'));
	break;
case 'sigstore': {
	const d = JSON.parse(text);
	const [file] = Object.keys(d._attachments);
	const v = Object.keys(d.versions)[0];
	const sig = file.replace(/\.tgz$/, '.sigstore');
	d._attachments = { [sig]: d._attachments[file] };
	const m = d.versions[v];
	m.dist.tarball = m.dist.tarball.replace(/[^/]*$/, '') +
	    sig.replace(/^@[^/]+\//, '');
	res = Buffer.from(JSON.stringify(d), 'utf8');
	break;
}
case 'two': {
	const d = JSON.parse(text);
	const [file] = Object.keys(d._attachments);
	const data = fs.readFileSync(arg);
	d._attachments[file.replace(/\.tgz$/, '-b.tgz')] = {
		content_type: 'application/octet-stream',
		data: data.toString('base64'),
		length: data.length,
	};
	res = Buffer.from(JSON.stringify(d), 'utf8');
	break;
}
default:
	process.stderr.write('body.js: unknown mode ' + mode + '\n');
	process.exit(2);
}
fs.writeFileSync(out, res);
