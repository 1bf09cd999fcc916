// tests/integration/tree.js: a real dependency tree for the clients test
// (clients.sh), taken from the packages installed in
// tests/integration/node_modules.  Starting from ROOT names, it follows
// each package's dependencies the way node resolves them (the nearest
// node_modules up from the package), so the tree keeps its real versions
// and relations, packs each name@version as a tarball (package/ prefix,
// package.json with its dependencies and no scripts, dev, peer or optional
// ones, which name packages outside the tree) and publishes them all to
// Verdaccio with PUTs, many at once, versions of one name in order.
// Usage: node tree.js OUTDIR REGISTRY_URL TOKEN ROOT...
// Prints the number of packages published; OUTDIR/tree.json lists them.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');

const [out, registry, token, ...roots] = process.argv.slice(2);
const top = path.join(__dirname, 'node_modules');

function resolveFrom(dir, name) {
	for (let d = dir; d.startsWith(top) || d === path.dirname(top);
	    d = path.dirname(d)) {
		const p = path.join(d, 'node_modules', name, 'package.json');
		if (fs.existsSync(p))
			return path.dirname(p);
		if (d === path.dirname(top))
			break;
	}
	return null;
}

const seen = new Map();	// name@version -> dir
const todo = roots.map((r) => path.join(top, r));
while (todo.length > 0) {
	const dir = todo.shift();
	const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json')));
	const key = `${pj.name}@${pj.version}`;
	if (seen.has(key))
		continue;
	seen.set(key, dir);
	for (const dep of Object.keys(pj.dependencies || {})) {
		const d = resolveFrom(dir, dep);
		if (d === null)
			throw new Error(`${key}: dependency ${dep} not installed`);
		todo.push(d);
	}
}

fs.mkdirSync(path.join(out, 'tgz'), { recursive: true });
const list = [];
for (const [key, dir] of seen) {
	const pj = JSON.parse(fs.readFileSync(path.join(dir, 'package.json')));
	const stage = fs.mkdtempSync(path.join(out, 'stage-'));
	const pkg = path.join(stage, 'package');
	fs.cpSync(dir, pkg, { recursive: true,
	    filter: (src) => !src.slice(dir.length).includes('node_modules') });
	const m = {};
	for (const k of ['name', 'version', 'description', 'main', 'license',
	    'repository', 'files', 'exports', 'engines', 'bin', 'types'])
		if (pj[k] !== undefined)
			m[k] = pj[k];
	if (pj.dependencies)
		m.dependencies = pj.dependencies;
	fs.writeFileSync(path.join(pkg, 'package.json'),
	    JSON.stringify(m, null, 2) + '\n');
	const tgz = path.join(out, 'tgz',
	    `${pj.name.replace('/', '-')}-${pj.version}.tgz`);
	execFileSync('tar', ['-czf', tgz, '--owner=0', '--group=0',
	    '--sort=name', '--mtime=@499162500', '-C', stage, 'package']);
	fs.rmSync(stage, { recursive: true });
	list.push({ name: pj.name, version: pj.version, tgz, manifest: m });
}
fs.writeFileSync(path.join(out, 'tree.json'), JSON.stringify(
    list.map(({ name, version }) => ({ name, version })), null, 1));

function put(p) {
	const data = fs.readFileSync(p.tgz);
	const base = p.name.replace(/^@[^/]+\//, '');
	const body = Buffer.from(JSON.stringify({
		_id: p.name, name: p.name,
		'dist-tags': { latest: p.version },
		versions: { [p.version]: { ...p.manifest,
		    _id: `${p.name}@${p.version}`,
		    dist: {
			integrity: 'sha512-' + crypto.createHash('sha512')
			    .update(data).digest('base64'),
			shasum: crypto.createHash('sha1').update(data)
			    .digest('hex'),
			tarball: `${registry}/${p.name}/-/${base}-${p.version}.tgz`,
		    } } },
		_attachments: { [`${base}-${p.version}.tgz`]: {
			content_type: 'application/octet-stream',
			data: data.toString('base64'), length: data.length } },
	}));
	return new Promise((ok, fail) => {
		const req = http.request(
		    `${registry}/${p.name.replace('/', '%2f')}`, {
			method: 'PUT', headers: {
			    'content-type': 'application/json',
			    'content-length': body.length,
			    authorization: `Bearer ${token}` } }, (res) => {
			res.resume();
			res.on('end', () => res.statusCode < 300 ? ok() :
			    fail(new Error(`PUT ${p.name}@${p.version}: ` +
			    `${res.statusCode}`)));
		});
		req.on('error', fail);
		req.end(body);
	});
}

// Versions of one name in order (dist-tags.latest is the last one), names
// in parallel.
const byName = new Map();
for (const p of list) {
	if (!byName.has(p.name))
		byName.set(p.name, []);
	byName.get(p.name).push(p);
}
(async () => {
	const names = [...byName.values()];
	let next = 0;
	const worker = async () => {
		while (next < names.length) {
			const vs = names[next++];
			for (const p of vs)
				await put(p);
		}
	};
	await Promise.all(Array.from({ length: 8 }, worker));
	console.log(list.length);
})().catch((e) => { console.error(e.message); process.exit(1); });
