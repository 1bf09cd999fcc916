// tests/oracle/tar.js: the differential oracle for tarballs (issue 8,
// class 4).
//
// Every input is judged by `pubgate scan --reading` under permissive.yaml
// (verdict plus every regular file it read: tar path, size, SHA-256) and
// extracted by node-tar as npm bundles it, with pacote's options (strip 1,
// links skipped, only files kept), into a temporary directory.  The test
// fails if pubgate ALLOWS an input and a file npm would write is missing
// from pubgate's reading or has other content (the last entry of a path
// is the one extraction leaves, on both sides).  Files pubgate read that
// npm does not write (a '..' path, say) are harmless: it judged more.
//
// Inputs: tests/fuzz/corpus/tar (two knob bytes dropped, gzipped here),
// the .tgz files of tests/fuzz/corpus/scan, and the hostile tarballs of
// tests/hostile/mktar.js, every variant with every hidden file.
//
// Usage: node tar.js PUBGATE POLICY SRCDIR
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { spawnSync, execSync } = require('child_process');

function loadTar() {
	try {
		const root = execSync('npm root -g', { encoding: 'utf8' }).trim();
		return require(path.join(root, 'npm', 'node_modules', 'tar'));
	} catch (e) {
		return require(path.join(__dirname, '..', 'integration',
		    'node_modules', 'tar'));
	}
}
const tar = loadTar();

const [pubgate, policy, src] = process.argv.slice(2);
if (!pubgate || !policy || !src) {
	process.stderr.write('usage: node tar.js PUBGATE POLICY SRCDIR\n');
	process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pubgate-oracle-tar.'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// The inputs, as .tgz files in tmp.
const inputs = [];
let seq = 0;
function addTgz(name, gz) {
	const f = path.join(tmp, `${seq++}-${name.replace(/[^\w.-]/g, '_')}.tgz`);
	fs.writeFileSync(f, gz);
	inputs.push({ name, file: f });
}
const tarCorpus = path.join(src, 'tests/fuzz/corpus/tar');
for (const n of fs.readdirSync(tarCorpus).sort()) {
	const b = fs.readFileSync(path.join(tarCorpus, n));
	if (b.length > 2)
		addTgz('corpus/tar/' + n, zlib.gzipSync(b.subarray(2)));
}
const scanCorpus = path.join(src, 'tests/fuzz/corpus/scan');
for (const n of fs.readdirSync(scanCorpus).sort())
	if (n.endsWith('.tgz'))
		addTgz('corpus/scan/' + n,
		    fs.readFileSync(path.join(scanCorpus, n)));
const mktar = path.join(src, 'tests/hostile/mktar.js');
for (const v of ['dir-size', 'file-slash', 'file-linkname', 'pax-gnu-long',
    'pax-global-size', 'pax-newline', 'ustar-prefix', 'pax-utf8-split']) {
	for (const h of ['src', 'npmrc', 'map', 'package-json']) {
		const out = path.join(tmp, `mk-${v}-${h}.tgz`);
		const r = spawnSync('node', [mktar, v, out, `@pgtest/o-${v}`,
		    '1.0.0', h], { encoding: 'utf8' });
		if (r.status !== 0) {
			process.stderr.write(`mktar.js ${v} ${h} failed: ` +
			    r.stderr + '\n');
			process.exit(1);
		}
		inputs.push({ name: `hostile/${v}-${h}`, file: out });
	}
}

// npm's reading: extract as pacote does, then walk what was written.
// step 0: the whole file at once; otherwise the tar handed over in
// pieces of step bytes, as a slow download through zlib can (node-tar
// decodes an extended header piece by piece).
function npmReading(file, step) {
	const dir = fs.mkdtempSync(path.join(tmp, 'x.'));
	const opts = { cwd: dir, strip: 1, noChmod: true,
	    noMtime: true, preserveOwner: false,
	    filter: (name, entry) => /File$/.test(entry.type) &&
	    !/Link$/.test(entry.type), onwarn: () => {} };
	try {
		if (step === 0) {
			tar.x({ file, sync: true, ...opts });
		} else {
			const raw = zlib.gunzipSync(fs.readFileSync(file));
			const u = new tar.UnpackSync(opts);
			for (let i = 0; i < raw.length; i += step)
				u.write(raw.subarray(i, i + step));
			u.end();
		}
	} catch (e) {
		// What it wrote before failing is what npm would leave.
	}
	const files = new Map();
	(function walk(d, rel) {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, e.name);
			const r = rel ? rel + '/' + e.name : e.name;
			if (e.isDirectory())
				walk(p, r);
			else if (e.isFile())
				files.set(r, crypto.createHash('sha256')
				    .update(fs.readFileSync(p)).digest('hex'));
		}
	})(dir, '');
	fs.rmSync(dir, { recursive: true, force: true });
	return files;
}

// pubgate's reading, as extraction would place it (strip 1, last wins).
function gateReading(file) {
	const r = spawnSync(pubgate, ['scan', '--reading', '-p', policy, file],
	    { encoding: 'utf8', maxBuffer: 256 << 20 });
	if (r.status === 2 || !r.stdout)
		return { error: r.stderr };
	const j = JSON.parse(r.stdout);
	const files = new Map();
	for (const f of j.files) {
		const parts = f.path.split('/').slice(1);
		const p = path.posix.normalize(parts.join('/'))
		    .replace(/^\/+/, '');
		files.set(p, f.sha256);
	}
	return { verdict: j.verdict, files };
}

let compared = 0, denied = 0, bad = 0;
for (const inp of inputs) {
	const g = gateReading(inp.file);
	if (g.error !== undefined) {
		process.stderr.write(`FAIL ${inp.name}: pubgate scan: ${g.error}\n`);
		bad++;
		continue;
	}
	if (g.verdict !== 'allow') {
		denied++;
		process.stdout.write(`# denied ${inp.name}\n`);
		continue;
	}
	compared++;
	const diffs = [];
	let n;
	for (const step of [0, 1, 700]) {
		if (step === 1 && fs.statSync(inp.file).size > (256 << 10))
			continue;	// byte by byte: small inputs only
		n = npmReading(inp.file, step);
		for (const [p, h] of n) {
			const how = step ? ` (read ${step} bytes at a time)` : '';
			if (!g.files.has(p))
				diffs.push(`npm writes ${p}, pubgate never ` +
				    `read it${how}`);
			else if (g.files.get(p) !== h)
				diffs.push(`npm writes ${p} with other ` +
				    `content${how}`);
		}
	}
	if (diffs.length > 0) {
		bad++;
		process.stderr.write(`FAIL ${inp.name}: allowed, but\n  ` +
		    diffs.join('\n  ') + '\n');
	} else {
		process.stdout.write(`# same ${inp.name} (${n.size} files)\n`);
	}
}
process.stdout.write(`oracle-tar: ${inputs.length} inputs, ${compared} ` +
    `allowed and compared, ${denied} denied, ${bad} failed\n`);
process.exit(bad > 0 ? 1 : 0);
