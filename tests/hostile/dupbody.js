// tests/hostile/dupbody.js: rewrites a clean publish body (mkbody.js
// output) so that a key occurs twice: the first occurrence is the clean
// value (what a first-wins reader judges), the last the unsafe one (what
// JSON.parse, hence the registry, keeps).  Usage:
//   node dupbody.js VARIANT IN OUT [LEAKY.tgz]
//   version-key      versions: {"1.0.0": clean, "1.0.0": private: true}
//   versions-object  "versions" twice; the last has publishConfig.proxy
//   name             the manifest's "name" twice; the last another name
//   integrity        dist.integrity twice; the last a wrong digest
//   scripts          "scripts" twice; the last has a postinstall
//   attachments      "_attachments" twice; the last is LEAKY.tgz (and
//                    dist.integrity, dist.shasum twice: the last its own)
// Checks that JSON.parse of the result reads the unsafe value.
'use strict';
const fs = require('fs');

const [variant, inp, out, leaky] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(inp, 'utf8'));
const v = Object.keys(d.versions)[0];
const clean = d.versions[v];
const dup = k => `"@@DUP@@${k}"`;
let check;

switch (variant) {
case 'version-key':
	d.versions = { [v]: clean, ['@@DUP@@' + v]: { ...clean,
	    private: true } };
	check = p => p.versions[v].private === true;
	break;
case 'versions-object': {
	const bad = { [v]: { ...clean, publishConfig: { access: 'restricted',
	    proxy: 'http://proxy.invalid:8080/' } } };
	const rest = { ...d };
	delete rest._attachments;
	Object.assign(d, rest, { '@@DUP@@versions': bad });
	const att = d._attachments;
	delete d._attachments;
	d._attachments = att;
	check = p => p.versions[v].publishConfig.proxy !== undefined;
	break;
}
case 'name': {
	const m = {};
	for (const [k, val] of Object.entries(clean)) {
		m[k] = val;
		if (k === 'name')
			m['@@DUP@@name'] = 'pgtest-other-name';
	}
	d.versions[v] = m;
	check = p => p.versions[v].name === 'pgtest-other-name';
	break;
}
case 'integrity':
	clean.dist = { ...clean.dist, '@@DUP@@integrity': 'sha512-' +
	    Buffer.alloc(64, 7).toString('base64') };
	check = p => p.versions[v].dist.integrity.startsWith('sha512-Bwc');
	break;
case 'scripts':
	clean.scripts = {};
	clean['@@DUP@@scripts'] = {
	    postinstall: 'node -e "require(\'child_process\')"' };
	check = p => p.versions[v].scripts.postinstall !== undefined;
	break;
case 'attachments': {
	const data = fs.readFileSync(leaky);
	const [file] = Object.keys(d._attachments);
	const crypto = require('crypto');
	d['@@DUP@@_attachments'] = { [file]: {
	    content_type: 'application/octet-stream',
	    data: data.toString('base64'), length: data.length } };
	// The digests too, so the registry's shasum check passes.
	clean.dist = { ...clean.dist,
	    '@@DUP@@integrity': 'sha512-' + crypto.createHash('sha512')
	        .update(data).digest('base64'),
	    '@@DUP@@shasum': crypto.createHash('sha1').update(data)
	        .digest('hex') };
	check = p => p._attachments[file].length === data.length;
	break;
}
default:
	process.stderr.write('dupbody.js: unknown variant ' + variant + '\n');
	process.exit(2);
}
const text = JSON.stringify(d).replace(/"@@DUP@@([^"]*)"/g, '"$1"');
if (!check(JSON.parse(text))) {
	process.stderr.write('dupbody.js: JSON.parse does not read the ' +
	    'unsafe value; the case would prove nothing\n');
	process.exit(1);
}
fs.writeFileSync(out, text);
