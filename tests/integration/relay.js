// tests/integration/relay.js: a TCP relay on loopback that counts the
// bytes it carries, for the clients test's bytes-on-the-wire figure.
// Usage: node relay.js TARGET_PORT PORTFILE COUNTFILE
// Listens on a free 127.0.0.1 port (written to PORTFILE), passes every
// connection to 127.0.0.1:TARGET_PORT untouched (TLS included), and on
// SIGTERM writes "<client-to-server bytes> <server-to-client bytes>" to
// COUNTFILE and exits.
'use strict';
const fs = require('fs');
const net = require('net');

const [target, portfile, countfile] = process.argv.slice(2);
let up = 0, down = 0;
const srv = net.createServer((c) => {
	const s = net.connect(Number(target), '127.0.0.1');
	c.on('data', (b) => { up += b.length; });
	s.on('data', (b) => { down += b.length; });
	c.pipe(s);
	s.pipe(c);
	c.on('error', () => s.destroy());
	s.on('error', () => c.destroy());
});
srv.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portfile, String(srv.address().port));
});
process.on('SIGTERM', () => {
	fs.writeFileSync(countfile, `${up} ${down}\n`);
	process.exit(0);
});
