// tests/hostile/flood.js: the connection-exhaustion attacks of issue 8
// (class 7), bounded in count and time, loopback only.
//
//   node flood.js flood PORT SRC N SECS OUT
//       keeps N TCP connections open to 127.0.0.1:PORT from source
//       address SRC for SECS seconds: every other socket sends one byte
//       (0x16, the start of a TLS handshake), the rest nothing; a socket
//       the server closes is opened again 2 s later.  Writes OUT (JSON):
//       opens, connect errors, the longest a socket stayed open, the
//       most sockets that had been open over 3 s at any one time (what
//       the server let one address hold; a refused socket lives
//       milliseconds), and writes OUT.ready once the first N connects
//       have been attempted.
//   node flood.js slow PORT SRC CA OUT
//       one TLS connection from SRC that sends a request head one byte
//       a second; writes OUT (JSON): seconds from connect to the close,
//       bytes of the head sent, and the server's status line.
//   node flood.js slowbody PORT SRC CA OUT TOKEN
//       one TLS publish (PUT, Content-Length 200000) whose body is sent
//       100 bytes a second; OUT: the status line and the seconds from
//       the head to that answer.
'use strict';
const fs = require('fs');
const net = require('net');
const tls = require('tls');

const mode = process.argv[2];

function flood(port, src, n, secs, out) {
	const t0 = Date.now(), end = t0 + secs * 1000;
	const open = new Set();
	const st = { opens: 0, errors: 0, error_codes: {}, closes: 0,
	    max_life_ms: 0, max_held: 0 };
	let attempted = 0;

	function one(i) {
		if (Date.now() >= end)
			return;
		const s = net.connect({ host: '127.0.0.1', port,
		    localAddress: src });
		const rec = { s, at: 0 };
		st.opens++;
		s.on('connect', () => {
			rec.at = Date.now();
			open.add(rec);
			if (i % 2 === 0)
				s.write(Buffer.from([0x16]));
		});
		s.on('error', e => {
			st.errors++;
			st.error_codes[e.code] = (st.error_codes[e.code] || 0) + 1;
		});
		s.on('data', () => {});
		s.on('close', () => {
			if (rec.at) {
				st.closes++;
				st.max_life_ms = Math.max(st.max_life_ms,
				    Date.now() - rec.at);
			}
			open.delete(rec);
			setTimeout(() => one(i), 2000);
		});
		if (++attempted === n)
			fs.writeFileSync(out + '.ready', '');
	}
	for (let i = 0; i < n; i++)
		one(i);
	const tick = setInterval(() => {
		const now = Date.now();
		let held = 0;
		for (const r of open)
			if (now - r.at > 3000)
				held++;
		st.max_held = Math.max(st.max_held, held);
		if (now >= end) {
			clearInterval(tick);
			st.open_at_end = open.size;
			for (const r of open) {
				st.max_life_ms = Math.max(st.max_life_ms,
				    now - r.at);
				r.s.destroy();
			}
			fs.writeFileSync(out, JSON.stringify(st));
			process.exit(0);
		}
	}, 250);
}

function slow(port, src, ca, out) {
	const head = 'PUT /@pgtest%2fh-slowloris HTTP/1.1\r\n' +
	    'Host: 127.0.0.1\r\nContent-Type: application/json\r\n' +
	    'X-Padding: ' + 'p'.repeat(60) + '\r\nContent-Length: 2\r\n\r\n{}';
	const st = { sent: 0, head_bytes: head.length, status: '' };
	let t0, timer;
	const s = tls.connect({ host: '127.0.0.1', port, localAddress: src,
	    ca: fs.readFileSync(ca), servername: 'localhost' });
	t0 = Date.now();
	s.on('secureConnect', () => {
		st.handshake_ms = Date.now() - t0;
		timer = setInterval(() => {
			if (st.sent < head.length)
				s.write(head[st.sent++]);
		}, 1000);
	});
	s.on('data', d => {
		if (!st.status)
			st.status = d.toString('latin1').split('\r\n')[0];
	});
	s.on('error', e => { st.error = e.code || e.message; });
	s.on('close', () => {
		clearInterval(timer);
		st.closed_after_s = (Date.now() - t0) / 1000;
		fs.writeFileSync(out, JSON.stringify(st));
		process.exit(0);
	});
	setTimeout(() => {
		st.closed_after_s = -1;	/* never cut */
		fs.writeFileSync(out, JSON.stringify(st));
		process.exit(0);
	}, 60000).unref();
}

// slowbody(): a publish head at once, then its body 100 bytes a second.
function slowbody(port, src, ca, out, token) {
	const len = 200000;
	const head = 'PUT /@pgtest%2fh-slowbody HTTP/1.1\r\n' +
	    'Host: 127.0.0.1\r\nContent-Type: application/json\r\n' +
	    'Authorization: Bearer ' + token + '\r\n' +
	    'User-Agent: pubgate-hostile/flood-slow-body\r\n' +
	    'Content-Length: ' + len + '\r\n\r\n';
	const st = { sent: 0, status: '' };
	let t0, timer;
	const s = tls.connect({ host: '127.0.0.1', port, localAddress: src,
	    ca: fs.readFileSync(ca), servername: 'localhost' });
	s.on('secureConnect', () => {
		t0 = Date.now();
		s.write(head + '{"name":"@pgtest/h-slowbody","x":"');
		timer = setInterval(() => {
			s.write('x'.repeat(100));
			st.sent += 100;
		}, 1000);
	});
	s.on('data', d => {
		if (st.status)
			return;
		/* The answer is what counts; the gate may linger after it. */
		st.status = d.toString('latin1').split('\r\n')[0];
		st.answered_after_s = (Date.now() - t0) / 1000;
		s.destroy();
	});
	s.on('error', e => { st.error = e.code || e.message; });
	s.on('close', () => {
		clearInterval(timer);
		st.closed_after_s = (Date.now() - t0) / 1000;
		fs.writeFileSync(out, JSON.stringify(st));
		process.exit(0);
	});
	setTimeout(() => s.destroy(), 60000).unref();
}

if (mode === 'flood')
	flood(+process.argv[3], process.argv[4], +process.argv[5],
	    +process.argv[6], process.argv[7]);
else if (mode === 'slow')
	slow(+process.argv[3], process.argv[4], process.argv[5],
	    process.argv[6]);
else if (mode === 'slowbody')
	slowbody(+process.argv[3], process.argv[4], process.argv[5],
	    process.argv[6], process.argv[7]);
else {
	process.stderr.write('usage: node flood.js flood|slow ...\n');
	process.exit(2);
}
