// tests/oracle/body.js: the differential oracle for publish bodies.
//
// For every input (a publish body, or a fuzz-corpus file whose two
// leading option bytes are dropped), pubgate judges it under
// permissive.yaml (`pubgate scan --json`), and the consumers read it:
// the registry's body parser (UTF-8, BOM stripped) and JSON.parse (last
// duplicate key wins), then, for the attached tarball, node-tar as npm
// bundles it.  The test fails if pubgate ALLOWS an input that the
// consumers read differently from what pubgate judged: another name or
// version, another tarball (sha512), more than one version or tarball, a
// dist.tarball that does not name the attachment, a private manifest or
// tarball package.json, or a body they cannot read at all.  It also
// derives hostile variants from each clean fixture (a second version, a
// duplicate key, an escaped key, the tarball renamed .sigstore), so the
// classes of issue 8 stay closed as the code changes.
//
// Usage: node body.js PUBGATE POLICY [--corpus DIR]... [--fixtures DIR]...
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
		return { mod: require(path.join(root, 'npm', 'node_modules',
		    'tar')), from: 'npm' };
	} catch (e) {
		return { mod: require(path.join(__dirname, '..', 'integration',
		    'node_modules', 'tar')), from: 'tests/integration' };
	}
}
const tar = loadTar();

const [pubgate, policy, ...rest] = process.argv.slice(2);
const inputs = [];
for (let i = 0; i < rest.length; i += 2) {
	const dir = rest[i + 1];
	for (const f of fs.readdirSync(dir).sort()) {
		const p = path.join(dir, f);
		if (!fs.statSync(p).isFile())
			continue;
		let b = fs.readFileSync(p);
		if (rest[i] === '--corpus')
			b = b.subarray(2);
		inputs.push({ name: path.relative(process.cwd(), p), buf: b });
	}
}

// The registry's reading of the bytes: body-parser decodes UTF-8 (invalid
// bytes become U+FFFD, a BOM is dropped), then JSON.parse.
function registryParse(buf) {
	const text = new TextDecoder('utf-8').decode(buf);
	return JSON.parse(text);
}

function isBody(buf) {
	let i = 0;
	while (i < buf.length && ' \t\r\n'.includes(String.fromCharCode(buf[i])))
		i++;
	return buf[i] === 0x7b;
}

// Hostile variants of a clean body (text edits, so duplicates survive).
function variants(inp) {
	const out = [];
	let body;
	try {
		body = registryParse(inp.buf);
	} catch (e) {
		return out;
	}
	const vs = Object.keys(body.versions || {});
	const atts = Object.keys(body._attachments || {});
	if (vs.length !== 1 || atts.length !== 1)
		return out;
	const v = vs[0], m = body.versions[v], key = atts[0];
	const text = inp.buf.toString('utf8');
	// A second, private version before the judged one.
	{
		const b = JSON.parse(text);
		const m2 = Object.assign({}, m, { version: '0.0.1-x',
		    private: true });
		b.versions = { '0.0.1-x': m2, [v]: m };
		out.push({ name: inp.name + '+two-versions',
		    buf: Buffer.from(JSON.stringify(b)) });
	}
	// The manifest again, private, as a duplicate key (last wins).
	{
		const dup = JSON.stringify(Object.assign({}, m, { private: true }));
		const t = text.replace(/"versions"\s*:\s*\{/, '"versions": {' +
		    JSON.stringify(v) + ': ' + JSON.stringify(m) + ', ' +
		    JSON.stringify(v) + ': ' + dup + ', "x-pad": 1, ');
		if (t !== text)
			out.push({ name: inp.name + '+dup-version',
			    buf: Buffer.from(t.replace(/, "x-pad": 1, (?=")/,
			    ', ').replace(/, "x-pad": 1, \}/, '}')) });
	}
	// Escaped key names mean the same to JSON.parse.
	{
		const t = text.replace('"_attachments"', '"\\u005fattachments"')
		    .replace('"private"', '"priv\\u0061te"');
		out.push({ name: inp.name + '+escaped-keys', buf: Buffer.from(t) });
	}
	// The tarball attached under a provenance-bundle name, dist.tarball
	// naming it (issue 8 class 2): the registry serves it as the tarball.
	{
		const b = JSON.parse(text);
		const nk = key.replace(/\.tgz$/, '') + '.sigstore';
		b._attachments = { [nk]: body._attachments[key] };
		b.versions[v] = Object.assign({}, m, { dist: Object.assign({},
		    m.dist, { tarball: String(m.dist && m.dist.tarball || '')
		    .replace(/[^/]*$/, nk.replace(/^@[^/]*\//, '')) }) });
		out.push({ name: inp.name + '+sigstore-name',
		    buf: Buffer.from(JSON.stringify(b)) });
	}
	return out;
}

// node-tar's reading of a tarball as npm extracts it (strip: 1).
function readTar(gz) {
	const files = new Map();
	const p = new tar.mod.Parser({ strict: false });
	p.on('entry', e => {
		const chunks = [];
		e.on('data', c => chunks.push(c));
		e.on('end', () => {
			const parts = String(e.path).split('/').filter(Boolean);
			parts.shift();
			if (e.type === 'File' || e.type === 'OldFile' ||
			    e.type === 'ContiguousFile')
				files.set(parts.join('/'), Buffer.concat(chunks));
		});
	});
	p.end(zlib.gunzipSync(gz));
	return files;
}

// scanAll() : pubgate's reports for all inputs, in few invocations (the
// policy and its detectors are compiled once per run).
function scanAll(list) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pubgate-oracle-'));
	const reps = new Map();
	for (let i = 0; i < list.length; i += 64) {
		const files = [];
		for (let j = i; j < Math.min(i + 64, list.length); j++) {
			const f = path.join(dir, j + '.json');
			fs.writeFileSync(f, list[j].buf);
			files.push(f);
		}
		const r = spawnSync(pubgate, ['scan', '--json', '-p', policy,
		    ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
		for (const line of r.stdout.split('\n')) {
			if (line.trim() === '')
				continue;
			const o = JSON.parse(line);
			if (o.report !== undefined)
				reps.set(o.file, o.report);
		}
		for (const f of files) {
			if (!reps.has(f))
				reps.set(f, { error: r.stderr });
			fs.unlinkSync(f);
		}
	}
	fs.rmdirSync(dir);
	return list.map((x, j) => reps.get(path.join(dir, j + '.json')));
}

function differences(buf, rep) {
	const d = [];
	let body;
	try {
		body = registryParse(buf);
	} catch (e) {
		return ['the registry cannot parse what the gate allowed: ' +
		    e.message];
	}
	const atts = Object.keys(body._attachments || {});
	const tgz = atts.filter(k => !k.endsWith('.sigstore'));
	if (atts.length === 0)
		return d;	/* a packument edit, judged by `writes` */
	const vs = Object.keys(body.versions || {});
	if (vs.length !== 1)
		d.push(`${vs.length} versions in the body`);
	if (tgz.length !== 1)
		d.push(`${tgz.length} tarball attachments (${atts.join(', ')})`);
	if (body.name !== rep.name)
		d.push(`name: JSON.parse ${body.name}, gate ${rep.name}`);
	const v = vs[vs.length - 1], m = (body.versions || {})[v] || {};
	if (v !== rep.version)
		d.push(`version: JSON.parse ${v}, gate ${rep.version}`);
	if (m.name !== body.name)
		d.push(`manifest name ${m.name} is not ${body.name}`);
	if (m.private === true)
		d.push('the manifest JSON.parse reads is private');
	for (const k of atts) {
		const data = Buffer.from(String(body._attachments[k].data || ''),
		    'base64');
		if (k.endsWith('.sigstore'))
			continue;
		const sha = crypto.createHash('sha512').update(data).digest('hex');
		if (sha !== rep.sha512)
			d.push(`attachment ${k}: sha512 differs from the judged tarball`);
		/* npm: key "@s/n-1.0.0.tgz", URL ".../@s/n/-/n-1.0.0.tgz" */
		const tb = String(m.dist && m.dist.tarball || '');
		if (!tb.endsWith('/-/' + k.replace(/^@[^/]*\//, '')) &&
		    !tb.endsWith('/-/' + k))
			d.push(`dist.tarball ${tb} does not name ${k}`);
		let files;
		try {
			files = readTar(data);
		} catch (e) {
			d.push(`node-tar cannot read ${k}: ${e.message}`);
			continue;
		}
		const pj = files.get('package.json');
		if (pj === undefined) {
			d.push('node-tar finds no package/package.json');
			continue;
		}
		let pk;
		try {
			pk = JSON.parse(pj.toString('utf8'));
		} catch (e) {
			d.push('package.json: JSON.parse fails: ' + e.message);
			continue;
		}
		if (pk.name !== body.name || pk.version !== v)
			d.push(`tarball package.json is ${pk.name}@${pk.version}`);
		if (pk.private === true)
			d.push('the tarball package.json is private');
	}
	return d;
}

const all = [];
for (const inp of inputs) {
	if (!isBody(inp.buf))
		continue;
	all.push(inp);
	for (const x of variants(inp))
		all.push(x);
}
let compared = 0, denied = 0, errors = 0, bad = 0;
const reports = scanAll(all);
for (const [i, inp] of all.entries()) {
	const rep = reports[i];
	if (rep.error !== undefined) {
		errors++;
		continue;
	}
	if (rep.verdict !== 'allow') {
		denied++;
		continue;
	}
	compared++;
	const d = differences(inp.buf, rep);
	if (d.length > 0) {
		bad++;
		console.log(`not ok: ${inp.name}: the gate allowed it, but ` +
		    d.join('; '));
	}
}
console.log(`oracle-body: node-tar from ${tar.from}; ${all.length} bodies ` +
    `(${inputs.length} files + variants): ${compared} allowed and ` +
    `compared, ${denied} denied, ${errors} unreadable by scan, ` +
    `${bad} differ`);
if (bad > 0)
	process.exit(1);
if (compared < 5) {
	console.log('too few allowed inputs to compare: the oracle proves nothing');
	process.exit(1);
}
