/*
 * policy/zip.c: a streaming zip reader for archives found inside a
 * package (nested.c opens them).
 *
 * Owns the zip format as the gate reads it: the local headers in file
 * order, each followed by its data (stored, or raw deflate through
 * zlib), an optional data descriptor after a deflated entry, then the
 * central directory and the end-of-central-directory record, and nothing
 * after it.  Zip tools read the central directory, not the local
 * headers, so the walk only counts when both say the same: each central
 * entry must name, in the same order, a local header at the offset where
 * the walk found it, with the same name, method, CRC-32 and sizes (the
 * sizes and CRC the walk computed), and the end record must count those
 * entries and point at that directory.  Both sequences are hashed as
 * they go by (SHA-256), so the check needs no table of entries.
 *
 * What the reader cannot judge is POL_ZIP_ERR_FORMAT with a static text
 * (the engine blocks it as archive.nested): encryption, methods other
 * than stored and deflate, a stored entry whose size is only in a data
 * descriptor, zip64 (sizes or offsets of 0xffffffff, a zip64 extra
 * field, zip64 end records), a Unicode path extra field (some tools use
 * it instead of the name), names with a NUL or '\\', a directory with
 * data, bytes before the first header, between entries or after the end,
 * spanned archives, a CRC or size that does not match the data, and a
 * central directory that disagrees with the walk.  A deflated entry that
 * inflates more than max_ratio times its compressed size past the first
 * POL_GZ_RATIO_MIN_OUT bytes is POL_ZIP_ERR_RATIO.
 *
 * Data flow: like tar.c, every entry gets cb->begin (a regular file
 * with its uncompressed size, 0 when only a data descriptor has it; a
 * directory for a name ending in '/'), its data through cb->data in
 * chunks (borrowed for the call), then cb->end.  A central entry that
 * marks a Unix symbolic link or special file gets one more begin/end
 * pair of that type after the walk.  Depends on zlib and libcrypto;
 * never logs.  Its memory is struct pol_zip (about 48 KiB) plus zlib's
 * inflate state (about 40 KiB) while an entry inflates.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "policy-int.h"

enum {
	ZS_SIG = 0,	/* collecting a 4-byte signature */
	ZS_LOCAL,	/* the rest of a local header */
	ZS_LNAME,	/* its name */
	ZS_LEXTRA,	/* its extra field */
	ZS_DATA,	/* its data */
	ZS_DESC,	/* a data descriptor */
	ZS_CENTRAL,	/* the rest of a central header */
	ZS_CNAME,
	ZS_CEXTRA,
	ZS_CCOMMENT,
	ZS_EOCD,	/* the rest of the end record */
	ZS_ECOMMENT,
	ZS_DONE,	/* nothing may follow */
};

#define SIG_LOCAL	0x04034b50u
#define SIG_CENTRAL	0x02014b50u
#define SIG_EOCD	0x06054b50u
#define SIG_DESC	0x08074b50u
#define SIG_Z64_EOCD	0x06064b50u
#define SIG_Z64_LOC	0x07064b50u

#define LOCAL_LEN	30
#define CENTRAL_LEN	46
#define EOCD_LEN	22

#define F_ENCRYPTED	0x0001u
#define F_DESCRIPTOR	0x0008u
#define F_PATCHED	0x0020u
#define F_STRONG	0x0040u
#define F_CD_MASKED	0x2000u

#define X_ZIP64		0x0001u
#define X_UPATH		0x7075u

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static enum pol_zip_rc
fail(struct pol_zip *z, enum pol_zip_rc rc, const char *why)
{
	z->rc = rc;
	z->err = why;
	return rc;
}

/* want() : the next state collects n header bytes into z->hdr at off. */
static void
want(struct pol_zip *z, int state, size_t off, size_t n)
{
	z->state = state;
	z->hlen = off;
	z->hwant = off + n;
}

/* skip() : the next state takes n variable bytes. */
static void
skip(struct pol_zip *z, int state, uint32_t n)
{
	z->state = state;
	z->remain = n;
	z->xhlen = 0;
}

/*
 * digest_entry() : adds one entry's tuple to md: the local header's
 * offset, whether it is encrypted, method, CRC-32, sizes and name.
 */
static int
digest_entry(EVP_MD_CTX *md, uint32_t off, uint16_t flags, uint16_t method,
    uint32_t crc, uint32_t csize, uint32_t usize, const char *name,
    size_t nlen)
{
	unsigned char	 b[24];
	uint32_t	 v[6] = { off, flags & F_ENCRYPTED, method, crc, csize,
	    usize };
	size_t		 i;

	for (i = 0; i < 6; i++) {
		b[4 * i] = (unsigned char)v[i];
		b[4 * i + 1] = (unsigned char)(v[i] >> 8);
		b[4 * i + 2] = (unsigned char)(v[i] >> 16);
		b[4 * i + 3] = (unsigned char)(v[i] >> 24);
	}
	b[20] = (unsigned char)nlen;
	b[21] = (unsigned char)(nlen >> 8);
	return EVP_DigestUpdate(md, b, 22) == 1 &&
	    EVP_DigestUpdate(md, name, nlen) == 1 ? 0 : -1;
}

/*
 * pol_zip_init() : resets z to read one archive; cb is borrowed until
 * pol_zip_free().  max_ratio 0: no ratio cap.  Returns 0, or -1 when
 * the digests cannot be set up (z must still be freed).
 */
int
pol_zip_init(struct pol_zip *z, const struct pol_tar_cb *cb, void *arg,
    uint32_t max_ratio)
{
	memset(z, 0, sizeof(*z));
	z->cb = cb;
	z->arg = arg;
	z->max_ratio = max_ratio;
	want(z, ZS_SIG, 0, 4);
	if ((z->lmd = EVP_MD_CTX_new()) == NULL ||
	    (z->cmd = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(z->lmd, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestInit_ex(z->cmd, EVP_sha256(), NULL) != 1) {
		z->rc = POL_ZIP_ERR_INTERNAL;
		z->err = "digest setup failed";
		return -1;
	}
	return 0;
}

/* sig_done() : a signature is in z->hdr[0..3]. */
static enum pol_zip_rc
sig_done(struct pol_zip *z)
{
	uint32_t sig = le32(z->hdr);

	switch (sig) {
	case SIG_LOCAL:
		if (z->in_central)
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "a local header after the central directory");
		if (z->nlocal >= 0xffff)
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "more entries than a zip without zip64 holds");
		z->cur_off = (uint32_t)z->offset - 4;
		want(z, ZS_LOCAL, 4, LOCAL_LEN - 4);
		return POL_ZIP_OK;
	case SIG_CENTRAL:
		if (!z->in_central) {
			z->in_central = 1;
			z->cd_off = z->offset - 4;
		}
		want(z, ZS_CENTRAL, 4, CENTRAL_LEN - 4);
		return POL_ZIP_OK;
	case SIG_EOCD:
		if (!z->in_central)
			z->cd_off = z->offset - 4;
		z->cd_end = z->offset - 4;
		want(z, ZS_EOCD, 4, EOCD_LEN - 4);
		return POL_ZIP_OK;
	case SIG_Z64_EOCD:
	case SIG_Z64_LOC:
		return fail(z, POL_ZIP_ERR_FORMAT, "zip64 end records");
	case SIG_DESC:
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "a spanned archive or a stray data descriptor");
	default:
		return fail(z, POL_ZIP_ERR_FORMAT, z->offset == 4 ?
		    "bytes before the first zip header" :
		    "unexpected bytes between zip records");
	}
}

/* local_done() : a whole fixed local header is in z->hdr. */
static enum pol_zip_rc
local_done(struct pol_zip *z)
{
	const unsigned char *h = z->hdr;

	z->flags = le16(h + 6);
	z->method = le16(h + 8);
	z->crc = le32(h + 14);
	z->csize = le32(h + 18);
	z->usize = le32(h + 22);
	z->nlen = le16(h + 26);
	z->xlen = le16(h + 28);
	if (z->flags & (F_ENCRYPTED | F_STRONG | F_CD_MASKED))
		return fail(z, POL_ZIP_ERR_FORMAT, "an encrypted entry");
	if (z->flags & F_PATCHED)
		return fail(z, POL_ZIP_ERR_FORMAT, "a patched-data entry");
	if (z->method != 0 && z->method != 8)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "a compression method other than stored or deflate");
	if (z->csize == 0xffffffffu || z->usize == 0xffffffffu)
		return fail(z, POL_ZIP_ERR_FORMAT, "zip64 sizes");
	if ((z->flags & F_DESCRIPTOR) && z->method == 0)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "a stored entry whose size is known only after its data");
	if (z->nlen == 0)
		return fail(z, POL_ZIP_ERR_FORMAT, "an entry without a name");
	if (z->nlen > POL_TAR_PATH_MAX)
		return fail(z, POL_ZIP_ERR_FORMAT, "an entry name over its cap");
	z->namelen = 0;
	skip(z, ZS_LNAME, z->nlen);
	return POL_ZIP_OK;
}

/*
 * extra_byte() : walks an extra field's records (4-byte id/size headers)
 * byte by byte; a zip64 or Unicode path record cannot be judged.  Bytes
 * that do not tile into records are ignored (some tools pad with zeros).
 */
static enum pol_zip_rc
extra_bytes(struct pol_zip *z, const unsigned char *p, size_t n)
{
	size_t k;
	uint16_t id;

	while (n > 0) {
		if (z->xskip > 0) {
			k = n < z->xskip ? n : z->xskip;
			z->xskip -= k;
			p += k;
			n -= k;
			continue;
		}
		z->xh[z->xhlen++] = *p++;
		n--;
		if (z->xhlen < 4)
			continue;
		z->xhlen = 0;
		id = le16(z->xh);
		if (id == X_ZIP64)
			return fail(z, POL_ZIP_ERR_FORMAT, "a zip64 extra field");
		if (id == X_UPATH)
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "a Unicode path extra field");
		z->xskip = le16(z->xh + 2);
	}
	return POL_ZIP_OK;
}

/* entry_begin() : the local name and extra are read; data comes next. */
static enum pol_zip_rc
entry_begin(struct pol_zip *z)
{
	struct pol_tar_entry *e = &z->entry;
	int zr;

	memset(e, 0, sizeof(*e));
	memcpy(e->path, z->name, z->namelen);
	e->path[z->namelen] = '\0';
	e->typeflag = '0';
	e->mode = 0644;
	if (memchr(z->name, '\0', z->namelen) != NULL ||
	    memchr(z->name, '\\', z->namelen) != NULL)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "an entry name with a NUL or a backslash");
	if (z->name[z->namelen - 1] == '/') {
		e->type = POL_TAR_DIR;
		if (z->usize != 0 || (z->method == 0 && z->csize != 0))
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "a directory entry with data");
	} else {
		e->type = POL_TAR_FILE;
		e->size = (z->flags & F_DESCRIPTOR) ? 0 : z->usize;
	}
	z->got_crc = crc32(0L, Z_NULL, 0);
	z->got_in = 0;
	z->got_out = 0;
	z->inflated = 0;
	if (z->method == 8) {
		if (z->inflating)
			(void)inflateEnd(&z->zs);
		memset(&z->zs, 0, sizeof(z->zs));
		zr = inflateInit2(&z->zs, -MAX_WBITS);
		if (zr != Z_OK)
			return fail(z, POL_ZIP_ERR_INTERNAL, "inflate setup");
		z->inflating = 1;
	}
	if (z->cb->begin != NULL && z->cb->begin(z->arg, e) != 0)
		return fail(z, POL_ZIP_ABORT, "callback failed");
	z->remain = z->csize;
	z->state = ZS_DATA;
	z->nlocal++;
	return POL_ZIP_OK;
}

/* out() : hands n bytes of an entry's data on. */
static enum pol_zip_rc
out(struct pol_zip *z, const unsigned char *p, size_t n)
{
	if (n == 0)
		return POL_ZIP_OK;
	z->got_crc = crc32(z->got_crc, p, (uInt)n);
	z->got_out += n;
	if (z->got_out > 0xfffffffeu)
		return fail(z, POL_ZIP_ERR_FORMAT, "an entry over 4 GiB (zip64)");
	if (z->max_ratio != 0 && z->got_out > POL_GZ_RATIO_MIN_OUT &&
	    z->got_out / z->max_ratio > z->got_in)
		return fail(z, POL_ZIP_ERR_RATIO, "compression ratio");
	if (z->entry.type == POL_TAR_FILE && z->cb->data != NULL &&
	    z->cb->data(z->arg, p, n) != 0)
		return fail(z, POL_ZIP_ABORT, "callback failed");
	return POL_ZIP_OK;
}

/* entry_check() : the data is complete and matches crc/sizes; ends it. */
static enum pol_zip_rc
entry_end(struct pol_zip *z)
{
	if (z->got_crc != z->crc || z->got_out != z->usize ||
	    z->got_in != z->csize)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "an entry whose data does not match its CRC or sizes");
	if (z->entry.type == POL_TAR_DIR && z->got_out != 0)
		return fail(z, POL_ZIP_ERR_FORMAT, "a directory entry with data");
	if (digest_entry(z->lmd, z->cur_off, z->flags, z->method, z->crc,
	    z->csize, z->usize, z->name, z->namelen) != 0)
		return fail(z, POL_ZIP_ERR_INTERNAL, "digest failed");
	if (z->inflating) {
		(void)inflateEnd(&z->zs);
		z->inflating = 0;
	}
	if (z->cb->end != NULL && z->cb->end(z->arg) != 0)
		return fail(z, POL_ZIP_ABORT, "callback failed");
	want(z, ZS_SIG, 0, 4);
	return POL_ZIP_OK;
}

/*
 * data_bytes() : feeds entry data; returns the bytes used (fewer than n
 * when the entry's data ends inside the buffer), or -1 with z->rc set.
 */
static ssize_t
data_bytes(struct pol_zip *z, const unsigned char *p, size_t n)
{
	size_t lim = n, used, have, taken = 0;
	int zr;

	if (!(z->flags & F_DESCRIPTOR) && lim > z->remain)
		lim = (size_t)z->remain;
	if (z->method == 0) {
		z->got_in += lim;
		z->remain -= lim;
		if (out(z, p, lim) != POL_ZIP_OK)
			return -1;
		return (ssize_t)lim;
	}
	do {
		z->zs.next_in = (Bytef *)(uintptr_t)(p + taken);
		z->zs.avail_in = (uInt)(lim - taken);
		z->zs.next_out = z->buf;
		z->zs.avail_out = sizeof(z->buf);
		zr = inflate(&z->zs, Z_NO_FLUSH);
		have = sizeof(z->buf) - z->zs.avail_out;
		used = (lim - taken) - z->zs.avail_in;
		taken += used;
		z->got_in += used;
		if (!(z->flags & F_DESCRIPTOR))
			z->remain -= used;
		if (out(z, z->buf, have) != POL_ZIP_OK)
			return -1;
		if (zr == Z_STREAM_END) {
			z->inflated = 1;
			break;
		}
		if (zr == Z_BUF_ERROR && have == 0 && used == 0)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			fail(z, zr == Z_MEM_ERROR ? POL_ZIP_ERR_INTERNAL :
			    POL_ZIP_ERR_FORMAT, "corrupt deflate data");
			return -1;
		}
	} while (taken < lim || have == sizeof(z->buf));
	return (ssize_t)taken;
}

/* data_step() : after data_bytes(): has the entry's data ended? */
static enum pol_zip_rc
data_step(struct pol_zip *z)
{
	if (z->flags & F_DESCRIPTOR) {
		if (!z->inflated)
			return POL_ZIP_OK;
		want(z, ZS_DESC, 0, 16);
		z->hwant = 12;		/* 12 or 16: decided at 4 */
		return POL_ZIP_OK;
	}
	if (z->remain > 0) {
		if (z->method == 8 && z->inflated)
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "deflate data ends before its compressed size");
		return POL_ZIP_OK;
	}
	if (z->method == 8 && !z->inflated)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "deflate data longer than its compressed size");
	return entry_end(z);
}

/*
 * desc_done() : a data descriptor of 12 bytes (crc, csize, usize) or 16
 * (the same after its signature) is in z->hdr.  Which one it is can be
 * told by the CRC the walk computed; when both readings fit, refused.
 */
static enum pol_zip_rc
desc_done(struct pol_zip *z)
{
	const unsigned char *h = z->hdr;

	if (z->hwant == 12 && le32(h) == SIG_DESC) {
		if ((uint32_t)z->got_crc == SIG_DESC)
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "a data descriptor read two ways");
		z->hwant = 16;
		return POL_ZIP_OK;	/* collect 4 more */
	}
	if (z->hwant == 16)
		h += 4;
	z->crc = le32(h);
	z->csize = le32(h + 4);
	z->usize = le32(h + 8);
	return entry_end(z);
}

/* central_done() : a whole fixed central header is in z->hdr. */
static enum pol_zip_rc
central_done(struct pol_zip *z)
{
	const unsigned char *h = z->hdr;

	z->c_madeby = le16(h + 4);
	z->flags = le16(h + 8);
	z->method = le16(h + 10);
	z->crc = le32(h + 16);
	z->csize = le32(h + 20);
	z->usize = le32(h + 24);
	z->nlen = le16(h + 28);
	z->xlen = le16(h + 30);
	z->clen = le16(h + 32);
	z->c_eattr = le32(h + 38);
	z->cur_off = le32(h + 42);
	if (le16(h + 34) != 0)
		return fail(z, POL_ZIP_ERR_FORMAT, "a spanned archive");
	if (z->csize == 0xffffffffu || z->usize == 0xffffffffu ||
	    z->cur_off == 0xffffffffu)
		return fail(z, POL_ZIP_ERR_FORMAT, "zip64 sizes");
	if (z->nlen == 0 || z->nlen > POL_TAR_PATH_MAX)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "a central entry name that is empty or over its cap");
	z->ncentral++;
	z->namelen = 0;
	skip(z, ZS_CNAME, z->nlen);
	return POL_ZIP_OK;
}

/*
 * central_entry() : the central entry's name is read: into the digest,
 * and a Unix link or special file is reported as such.
 */
static enum pol_zip_rc
central_entry(struct pol_zip *z)
{
	struct pol_tar_entry *e = &z->entry;
	unsigned fmt;

	if (digest_entry(z->cmd, z->cur_off, z->flags, z->method, z->crc,
	    z->csize, z->usize, z->name, z->namelen) != 0)
		return fail(z, POL_ZIP_ERR_INTERNAL, "digest failed");
	if ((z->c_madeby >> 8) != 3)
		return POL_ZIP_OK;
	fmt = (z->c_eattr >> 16) & 0170000u;
	if (fmt == 0 || fmt == 0100000u || fmt == 0040000u)
		return POL_ZIP_OK;
	memset(e, 0, sizeof(*e));
	memcpy(e->path, z->name, z->namelen);
	e->path[z->namelen] = '\0';
	e->type = fmt == 0120000u ? POL_TAR_SYMLINK : POL_TAR_OTHER;
	e->typeflag = fmt == 0120000u ? '2' : '?';
	if (z->cb->begin != NULL && z->cb->begin(z->arg, e) != 0)
		return fail(z, POL_ZIP_ABORT, "callback failed");
	if (z->cb->end != NULL && z->cb->end(z->arg) != 0)
		return fail(z, POL_ZIP_ABORT, "callback failed");
	return POL_ZIP_OK;
}

/* eocd_done() : the end record: it must describe what the walk saw. */
static enum pol_zip_rc
eocd_done(struct pol_zip *z)
{
	const unsigned char *h = z->hdr;
	unsigned char a[32], b[32];

	if (le16(h + 4) != 0 || le16(h + 6) != 0)
		return fail(z, POL_ZIP_ERR_FORMAT, "a spanned archive");
	if (le16(h + 8) != z->ncentral || le16(h + 10) != z->ncentral ||
	    z->ncentral != z->nlocal ||
	    le32(h + 12) != (uint32_t)(z->cd_end - z->cd_off) ||
	    le32(h + 16) != (uint32_t)z->cd_off)
		return fail(z, POL_ZIP_ERR_FORMAT,
		    "an end record that does not match the entries");
	if (EVP_DigestFinal_ex(z->lmd, a, NULL) != 1 ||
	    EVP_DigestFinal_ex(z->cmd, b, NULL) != 1)
		return fail(z, POL_ZIP_ERR_INTERNAL, "digest failed");
	if (memcmp(a, b, sizeof(a)) != 0)
		return fail(z, POL_ZIP_ERR_FORMAT, "a central directory that "
		    "does not list the entries as they are stored");
	skip(z, ZS_ECOMMENT, le16(h + 20));
	if (z->remain == 0)
		z->state = ZS_DONE;
	return POL_ZIP_OK;
}

/* hdr_done() : the bytes a fixed-size state wanted are in z->hdr. */
static enum pol_zip_rc
hdr_done(struct pol_zip *z)
{
	switch (z->state) {
	case ZS_SIG:
		return sig_done(z);
	case ZS_LOCAL:
		return local_done(z);
	case ZS_DESC:
		return desc_done(z);
	case ZS_CENTRAL:
		return central_done(z);
	case ZS_EOCD:
		return eocd_done(z);
	default:
		return fail(z, POL_ZIP_ERR_INTERNAL, "bad state");
	}
}

/* var_done() : a variable-length field is complete. */
static enum pol_zip_rc
var_done(struct pol_zip *z)
{
	switch (z->state) {
	case ZS_LNAME:
		skip(z, ZS_LEXTRA, z->xlen);
		z->xskip = 0;
		if (z->remain == 0)
			return entry_begin(z);
		return POL_ZIP_OK;
	case ZS_LEXTRA:
		return entry_begin(z);
	case ZS_CNAME:
		skip(z, ZS_CEXTRA, z->xlen);
		z->xskip = 0;
		if (z->remain == 0)
			return var_done(z);
		return POL_ZIP_OK;
	case ZS_CEXTRA:
		skip(z, ZS_CCOMMENT, z->clen);
		if (z->remain == 0)
			return var_done(z);
		return POL_ZIP_OK;
	case ZS_CCOMMENT:
		if (central_entry(z) != POL_ZIP_OK)
			return z->rc;
		want(z, ZS_SIG, 0, 4);
		return POL_ZIP_OK;
	case ZS_ECOMMENT:
		z->state = ZS_DONE;
		return POL_ZIP_OK;
	default:
		return fail(z, POL_ZIP_ERR_INTERNAL, "bad state");
	}
}

/*
 * pol_zip_feed() : reads len more bytes.  Returns POL_ZIP_OK (want
 * more), POL_ZIP_END once the end record (and its comment) is read, or a
 * sticky error with z->err set.  Bytes after the end are an error.
 */
enum pol_zip_rc
pol_zip_feed(struct pol_zip *z, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	size_t n;
	ssize_t used;

	if (z->rc != POL_ZIP_OK)
		return z->rc;
	while (p < end) {
		n = (size_t)(end - p);
		switch (z->state) {
		case ZS_SIG:
		case ZS_LOCAL:
		case ZS_DESC:
		case ZS_CENTRAL:
		case ZS_EOCD:
			if (n > z->hwant - z->hlen)
				n = z->hwant - z->hlen;
			memcpy(z->hdr + z->hlen, p, n);
			z->hlen += n;
			z->offset += n;
			p += n;
			if (z->hlen == z->hwant && hdr_done(z) != POL_ZIP_OK)
				return z->rc;
			break;
		case ZS_LNAME:
		case ZS_CNAME:
			if (n > z->remain)
				n = (size_t)z->remain;
			memcpy(z->name + z->namelen, p, n);
			z->namelen += n;
			z->remain -= n;
			z->offset += n;
			p += n;
			if (z->remain == 0 && var_done(z) != POL_ZIP_OK)
				return z->rc;
			break;
		case ZS_LEXTRA:
		case ZS_CEXTRA:
		case ZS_CCOMMENT:
		case ZS_ECOMMENT:
			if (n > z->remain)
				n = (size_t)z->remain;
			if ((z->state == ZS_LEXTRA || z->state == ZS_CEXTRA) &&
			    extra_bytes(z, p, n) != POL_ZIP_OK)
				return z->rc;
			z->remain -= n;
			z->offset += n;
			p += n;
			if (z->remain == 0 && var_done(z) != POL_ZIP_OK)
				return z->rc;
			break;
		case ZS_DATA:
			if ((used = data_bytes(z, p, n)) < 0)
				return z->rc;
			z->offset += (size_t)used;
			p += used;
			if (data_step(z) != POL_ZIP_OK)
				return z->rc;
			break;
		case ZS_DONE:
			return fail(z, POL_ZIP_ERR_FORMAT,
			    "bytes after the end of the zip");
		default:
			return fail(z, POL_ZIP_ERR_INTERNAL, "bad state");
		}
	}
	/* An entry of zero bytes ends without any data byte. */
	if (z->state == ZS_DATA && !(z->flags & F_DESCRIPTOR) &&
	    z->remain == 0 && data_step(z) != POL_ZIP_OK)
		return z->rc;
	return z->state == ZS_DONE ? POL_ZIP_END : POL_ZIP_OK;
}

/* pol_zip_finish() : POL_ZIP_END if the whole archive was read. */
enum pol_zip_rc
pol_zip_finish(struct pol_zip *z)
{
	if (z->rc != POL_ZIP_OK)
		return z->rc;
	if (z->state != ZS_DONE)
		return fail(z, POL_ZIP_ERR_FORMAT, "the zip ends early");
	return POL_ZIP_END;
}

/* pol_zip_free() : releases the inflate state and digests; safe twice. */
void
pol_zip_free(struct pol_zip *z)
{
	if (z == NULL)
		return;
	if (z->inflating)
		(void)inflateEnd(&z->zs);
	z->inflating = 0;
	EVP_MD_CTX_free(z->lmd);
	EVP_MD_CTX_free(z->cmd);
	z->lmd = NULL;
	z->cmd = NULL;
}
