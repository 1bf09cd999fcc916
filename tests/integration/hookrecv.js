// tests/integration/hookrecv.js: the webhook receiver of webhook.sh.
// Usage: node hookrecv.js PORT OUTFILE [SECRETFILE]
// Listens on 127.0.0.1:PORT and appends each POST to OUTFILE as one JSON
// line: {path, delivery, event, signature, sig_ok, body} where sig_ok says
// whether X-Pubgate-Signature is "sha256=" + the hex HMAC-SHA256 of the
// body under SECRETFILE's key (trailing newlines cut; null without a
// SECRETFILE).  Answers 200 "ok".  Exits on SIGTERM.  With HOOK_TLS_CERT
// and HOOK_TLS_KEY in the environment it serves https with that pair.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const crypto = require('crypto');

const [port, out, secretFile] = process.argv.slice(2);
const key = secretFile !== undefined ?
    fs.readFileSync(secretFile, 'utf8').replace(/[\r\n]+$/, '') : null;
const handler = (req, res) => {
	if (req.method !== 'POST') {	/* the test's start probe */
		res.writeHead(204);
		res.end();
		return;
	}
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks);
		const sig = req.headers['x-pubgate-signature'] || '';
		let ok = null;
		if (key !== null) {
			const want = 'sha256=' + crypto.createHmac('sha256', key)
			    .update(body).digest('hex');
			ok = sig.length === want.length &&
			    crypto.timingSafeEqual(Buffer.from(sig),
			    Buffer.from(want));
		}
		fs.appendFileSync(out, JSON.stringify({
			method: req.method,
			path: req.url,
			delivery: req.headers['x-pubgate-delivery'] || '',
			event: req.headers['x-pubgate-event'] || '',
			type: req.headers['content-type'] || '',
			signature: sig,
			sig_ok: ok,
			body: body.toString('utf8'),
		}) + '\n');
		res.writeHead(200, { 'content-type': 'text/plain' });
		res.end('ok\n');
	});
};
const tls = process.env.HOOK_TLS_CERT;
const srv = tls !== undefined ?
    https.createServer({ cert: fs.readFileSync(tls),
	key: fs.readFileSync(process.env.HOOK_TLS_KEY) }, handler) :
    http.createServer(handler);
srv.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
