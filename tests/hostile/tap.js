// tests/hostile/tap.js: a TCP relay between pubgate and Verdaccio that
// counts what pubgate sends upstream, so a case can tell, at once and
// without trusting either side's logs, whether a request was forwarded.
// Usage: node tap.js LISTEN-PORT TARGET-PORT COUNT-FILE
// COUNT-FILE holds "<connections> <bytes>" (pubgate -> Verdaccio),
// rewritten as each chunk arrives, before it is passed on.  Loopback
// only; TLS passes through untouched.
'use strict';
const fs = require('fs');
const net = require('net');

const [lport, tport, file] = process.argv.slice(2);
let conns = 0, bytes = 0;

function save() {
	fs.writeFileSync(file + '.tmp', conns + ' ' + bytes + '\n');
	fs.renameSync(file + '.tmp', file);
}
save();
net.createServer(c => {
	const u = net.connect({ host: '127.0.0.1', port: +tport });
	conns++;
	save();
	c.on('data', d => {
		bytes += d.length;
		save();
		u.write(d);
	});
	u.on('data', d => c.write(d));
	c.on('end', () => u.end());
	u.on('end', () => c.end());
	c.on('error', () => u.destroy());
	u.on('error', () => c.destroy());
	c.on('close', () => u.destroy());
	u.on('close', () => c.destroy());
}).listen(+lport, '127.0.0.1', () => fs.writeFileSync(file + '.ready', ''));
