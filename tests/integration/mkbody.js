// tests/integration/mkbody.js: builds the JSON body of an npm publish
// (PUT /<name>) from a tarball, the way npm's libnpmpublish does, so a
// test can send it with curl and bypass the npm client's own checks.
// Usage: node mkbody.js TGZ NAME VERSION [ACCESS] > body.json
// The version's manifest is the package.json inside the tarball; NAME and
// VERSION are what the body claims (a test may make them disagree).
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const [tgz, name, version, access] = process.argv.slice(2);
if (!tgz || !name || !version) {
	process.stderr.write('usage: node mkbody.js TGZ NAME VERSION [ACCESS]\n');
	process.exit(2);
}
const data = fs.readFileSync(tgz);
const tar = require('child_process').spawnSync('tar',
    ['-xzOf', tgz, 'package/package.json']);
let manifest = {};
if (tar.status === 0) {
	try {
		manifest = JSON.parse(tar.stdout.toString('utf8'));
	} catch (e) {
		manifest = {};
	}
}
const base = name.replace(/^@[^/]+\//, '');
const file = `${name}-${version}.tgz`;
const body = {
	_id: name,
	name,
	description: 'pubgate integration test package',
	'dist-tags': { latest: version },
	versions: {
		[version]: {
			...manifest,
			name,
			version,
			_id: `${name}@${version}`,
			dist: {
				integrity: 'sha512-' +
				    crypto.createHash('sha512').update(data).digest('base64'),
				shasum: crypto.createHash('sha1').update(data).digest('hex'),
				tarball: `http://registry.invalid/${name}/-/${base}-${version}.tgz`,
			},
		},
	},
	access: access || null,
	_attachments: {
		[file]: {
			content_type: 'application/octet-stream',
			data: data.toString('base64'),
			length: data.length,
		},
	},
};
process.stdout.write(JSON.stringify(body));
