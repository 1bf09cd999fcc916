// tests/hostile/mknested.js: nested archives for class "nested content"
// of issue 8.  The secret is a GitHub token (made up, the shape the
// built-in detector matches) in a file inside an archive inside the
// package; a gate that does not open the inner archive ships it.
//   node mknested.js tgz|tar|gz|zip DIR    writes DIR/dist/vendor.<ext>
//   node mknested.js gzip-comment IN OUT   rewrites the gzip IN with the
//                                          token in its header's comment
//                                          and name fields
//   node mknested.js clean DIR             writes DIR/dist/fixtures/
//                                          clean.zip (deflated, with a
//                                          data descriptor) and clean.gz:
//                                          archives with nothing to refuse
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

// Its last 6 characters are the CRC32 GitHub's format carries.
const TOKEN = 'ghp_' + 'Q7hX2mK9pLw4RtZ8vN3bY6cJ1fD5gH' + '32TQSA';
const CONTENT = Buffer.from('# vendored build settings\nGITHUB_TOKEN=' +
    TOKEN + '\n');

function crc32(buf) {
	let c, crc = 0xffffffff;
	for (const b of buf) {
		c = (crc ^ b) & 0xff;
		for (let k = 0; k < 8; k++)
			c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
		crc = (crc >>> 8) ^ c;
	}
	return (crc ^ 0xffffffff) >>> 0;
}

// tarOne(): a one-file ustar archive.
function tarOne(name, data) {
	const h = Buffer.alloc(512);
	h.write(name, 0, 100);
	h.write('0000644\0', 100);
	h.write('0000000\0', 108);
	h.write('0000000\0', 116);
	h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
	h.write('14540000000\0', 136);
	h.write('0', 156);
	h.write('ustar\x0000', 257, 'latin1');
	h.fill(0x20, 148, 156);
	let sum = 0;
	for (const b of h)
		sum += b;
	h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
	const body = Buffer.alloc(Math.ceil(data.length / 512) * 512);
	data.copy(body);
	return Buffer.concat([h, body, Buffer.alloc(1024)]);
}

// zipOne(): a one-file zip archive, deflated (method 8), so the secret
// is not in the package as plain text.  desc: the sizes and CRC in a
// data descriptor after the data (flag bit 3), as streaming writers do.
function zipOne(name, data, desc) {
	const n = Buffer.from(name), crc = crc32(data);
	const z = zlib.deflateRawSync(data);
	const local = Buffer.alloc(30);
	local.writeUInt32LE(0x04034b50, 0);
	local.writeUInt16LE(20, 4);
	local.writeUInt16LE(desc ? 8 : 0, 6);
	local.writeUInt16LE(8, 8);
	if (!desc) {
		local.writeUInt32LE(crc, 14);
		local.writeUInt32LE(z.length, 18);
		local.writeUInt32LE(data.length, 22);
	}
	local.writeUInt16LE(n.length, 26);
	const dd = Buffer.alloc(desc ? 16 : 0);
	if (desc) {
		dd.writeUInt32LE(0x08074b50, 0);
		dd.writeUInt32LE(crc, 4);
		dd.writeUInt32LE(z.length, 8);
		dd.writeUInt32LE(data.length, 12);
	}
	const cen = Buffer.alloc(46);
	cen.writeUInt32LE(0x02014b50, 0);
	cen.writeUInt16LE(20, 4);
	cen.writeUInt16LE(20, 6);
	cen.writeUInt16LE(desc ? 8 : 0, 8);
	cen.writeUInt16LE(8, 10);
	cen.writeUInt32LE(crc, 16);
	cen.writeUInt32LE(z.length, 20);
	cen.writeUInt32LE(data.length, 24);
	cen.writeUInt16LE(n.length, 28);
	const cdOff = local.length + n.length + z.length + dd.length;
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(1, 8);
	end.writeUInt16LE(1, 10);
	end.writeUInt32LE(cen.length + n.length, 12);
	end.writeUInt32LE(cdOff, 16);
	return Buffer.concat([local, n, z, dd, cen, n, end]);
}

const [variant, a, b] = process.argv.slice(2);
const inner = 'vendor/settings.env';
let out, data;

switch (variant) {
case 'tgz':
	data = zlib.gzipSync(tarOne(inner, CONTENT));
	break;
case 'tar':
	data = tarOne(inner, CONTENT);
	break;
case 'gz':
	data = zlib.gzipSync(CONTENT);
	break;
case 'zip':
	data = zipOne(inner, CONTENT);
	break;
case 'clean': {
	const js = Buffer.from('module.exports = function fixture() ' +
	    '{ return 42; };\n');
	const dir = path.join(a, 'dist', 'fixtures');
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'clean.zip'),
	    zipOne('fixture/index.js', js, true));
	fs.writeFileSync(path.join(dir, 'clean.gz'), zlib.gzipSync(js));
	process.exit(0);
}
case 'gzip-comment': {
	const raw = zlib.gunzipSync(fs.readFileSync(a));
	const hdr = Buffer.from([0x1f, 0x8b, 8, 0x18, 0, 0, 0, 0, 0, 3]);
	const trailer = Buffer.alloc(8);
	trailer.writeUInt32LE(crc32(raw), 0);
	trailer.writeUInt32LE(raw.length >>> 0, 4);
	fs.writeFileSync(b, Buffer.concat([hdr,
	    Buffer.from('token-' + TOKEN + '.tar\0', 'latin1'),
	    Buffer.from('GITHUB_TOKEN=' + TOKEN + '\0', 'latin1'),
	    zlib.deflateRawSync(raw), trailer]));
	if (!zlib.gunzipSync(fs.readFileSync(b)).equals(raw))
		throw new Error('gzip-comment: does not round-trip');
	process.exit(0);
}
default:
	process.stderr.write('mknested.js: unknown variant ' + variant + '\n');
	process.exit(2);
}
out = path.join(a, 'dist', 'vendor.' + variant);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, data);
