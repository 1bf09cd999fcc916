/*
 * policy/tar.c: the streaming tar walker.
 *
 * Owns the tar format: 512-byte ustar headers (POSIX "ustar\0" with the
 * prefix field, GNU "ustar  \0" without it), pax extended headers ('x'
 * applies to the next entry: path, linkpath and size are used, other
 * keys ignored; 'g' is parsed and ignored), GNU long names ('L', 'K'),
 * octal and base-256 numbers, header checksums and the end-of-archive
 * marker (two zero blocks, then only zero bytes).  Anything else is an
 * error: the walker fails closed rather than guess.
 *
 * The reading is node-tar's (7.5.x, what npm extracts with, strip 1):
 * a directory ('5', or '0'/NUL named "x/") has size 0 and the bytes after
 * its header are headers; the prefix counts only under "ustar\0" "00"; a
 * pax path and a GNU long name for the same entry: the last one wins.
 * What node-tar would read another way, or skip while we would not, is
 * POL_TAR_ERR_AMBIGUOUS: a linkname on a non-link, a link without one,
 * unknown type flags, a pax record with a newline, a leading zero, bad
 * UTF-8, an empty path or size, or a "type" key, a global header with a
 * size, a checksum node-tar would not match, text after a field's NUL
 * that node-tar keeps, and paths node-tar's extraction rewrites ("." or
 * empty components, '\\', a leading '/', a drive letter after the top
 * folder, a trailing '/' on a non-directory).  Depends on libc only;
 * never logs.  Its memory is struct pol_tar plus one extended-header
 * buffer of POL_TAR_PAX_MAX bytes, allocated at the first extended header
 * and released by pol_tar_free().
 *
 * Data flow: every entry (any type) gets cb->begin, then, for
 * POL_TAR_FILE entries only, its data through cb->data in chunks as they
 * arrive (borrowed for the call), then cb->end after its last byte; the
 * data of other types is skipped.  Precedence of names: the last pax
 * path or GNU long name, then prefix/name of the header (same for links).
 *
 * Non-ASCII extended names: node-tar turns each piece of an extended
 * header's data into a string as it consumes it, at least one 512-byte
 * block at a time but otherwise where the download's chunks end, so in
 * data longer than a block a cut inside a multi-byte character yields
 * U+FFFD.  A GNU long name is then mangled, and a pax record no longer
 * matches its length and is dropped, the entry falling back to its
 * header's prefix/name.  Which happens depends on the network, not on
 * the archive.  So in an extended header over one block, a non-ASCII GNU
 * long name or pax linkpath is ambiguous, and a non-ASCII pax path is
 * read only when the header's own name is the same path (npm pack writes
 * the whole UTF-8 path there when prefix/name can hold it) and overrides
 * no other name; otherwise either reading could be the one extracted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"

enum {
	T_HDR = 0,	/* collecting a header block in t->hdr */
	T_DATA,		/* entry data: t->remain bytes left */
	T_EXT,		/* extended header data into t->ext */
	T_PAD,		/* t->pad bytes of block padding left */
	T_END,		/* after the end marker: zero bytes only */
};

#define TAR_BLOCK	512

/* Header field offsets and sizes (POSIX ustar). */
#define H_NAME		0
#define H_NAME_LEN	100
#define H_MODE		100
#define H_SIZE		124
#define H_CHKSUM	148
#define H_TYPE		156
#define H_LINK		157
#define H_LINK_LEN	100
#define H_MAGIC		257
#define H_PREFIX	345
#define H_PREFIX_LEN	155

/* ascii() : 1 if the n bytes at p are all 7-bit. */
static int
ascii(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] & 0x80)
			return 0;
	return 1;
}

/* fail() : makes rc the sticky result with a static message. */
static enum pol_tar_rc
fail(struct pol_tar *t, enum pol_tar_rc rc, const char *why)
{
	t->rc = rc;
	t->err = why;
	return rc;
}

/*
 * tar_num() : parses a numeric header field of n bytes: octal digits with
 * optional leading spaces and trailing NULs or spaces, or GNU base-256
 * (first byte 0x80 set, non-negative).  Returns 0 or -1.
 */
#define JS_SAFE_MAX	((UINT64_C(1) << 53) - 1)	/* Number.MAX_SAFE_INTEGER */

static int
tar_num(const unsigned char *f, size_t n, uint64_t *out, int term)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		/* node-tar: 0x80 then big-endian, a safe integer; else throws */
		if (f[0] != 0x80)
			return -1;
		for (i = 1; i < n; i++) {
			if (v > (UINT64_MAX >> 8))
				return -1;
			v = (v << 8) | f[i];
		}
		if (v > JS_SAFE_MAX)
			return -1;
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	while (i < n && f[i] >= '0' && f[i] <= '7') {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
		i++;
	}
	/* node-tar reads the checksum on into the next field without one. */
	if (term && i == n)
		return -1;
	while (i < n && (f[i] == ' ' || f[i] == '\0'))
		i++;
	if (i != n)
		return -1;
	*out = v;
	return 0;
}

/*
 * chksum_ok() : the header checksum matches as an unsigned sum, the only
 * one node-tar accepts (it skips a header whose sum it does not match and
 * reads the next block as a header).
 */
static int
chksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long usum = 0;
	size_t i;

	if (h[H_CHKSUM] & 0x80 || tar_num(h + H_CHKSUM, 8, &want, 1) != 0)
		return 0;
	for (i = 0; i < TAR_BLOCK; i++) {
		if (i >= H_CHKSUM && i < H_CHKSUM + 8)
			usum += ' ';
		else
			usum += h[i];
	}
	return want == usum;
}

/*
 * utf8_ok() : p[0..n) is valid UTF-8 (no overlong forms, surrogates or
 * values over U+10FFFF): Node decodes it to exactly these characters.
 */
static int
utf8_ok(const unsigned char *p, size_t n)
{
	size_t i = 0, k, len;
	uint32_t c;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			c &= 0x07;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/*
 * text_ok() : a NUL-terminated text field of n bytes reads the same in
 * node-tar: valid UTF-8 up to its first NUL, and after it no line break
 * (node-tar's /\0.*\/ stops at \n, \r, U+2028 and U+2029 and keeps what
 * follows).
 */
static int
text_ok(const unsigned char *f, size_t n)
{
	size_t len = strnlen((const char *)f, n), i;

	if (!utf8_ok(f, len))
		return 0;
	for (i = len; i < n; i++)
		if (f[i] == '\n' || f[i] == '\r' || f[i] == 0xe2)
			return 0;
	return 1;
}

/*
 * path_ok() : node-tar's extraction (strip 1) writes the path where we
 * judge it: no '\\' (a separator on Windows), no leading '/', no "." or
 * empty components, no drive letter after the top folder (stripped as a
 * Windows root on every platform), a trailing '/' on directories only.
 */
static int
path_ok(const char *p, int dir)
{
	const char *c = p, *e, *rest;
	size_t len = strlen(p);

	if (strchr(p, '\\') != NULL || p[0] == '/')
		return 0;
	if (len > 0 && p[len - 1] == '/' && !dir)
		return 0;
	for (;;) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if ((e == c && *e == '/') || (e - c == 1 && c[0] == '.'))
			return 0;
		if (*e == '\0')
			break;
		c = e + 1;
	}
	rest = strchr(p, '/');
	if (rest != NULL && ((rest[1] >= 'a' && rest[1] <= 'z') ||
	    (rest[1] >= 'A' && rest[1] <= 'Z')) && rest[2] == ':')
		return 0;
	return 1;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

/* field() : copies a NUL-padded header field to dst (room for n + 1). */
static size_t
field(char *dst, const unsigned char *f, size_t n)
{
	size_t len = strnlen((const char *)f, n);

	memcpy(dst, f, len);
	dst[len] = '\0';
	return len;
}

static enum pol_tar_type
map_type(char c)
{
	switch (c) {
	case '0':
	case '\0':
	case '7':
		return POL_TAR_FILE;
	case '5':
		return POL_TAR_DIR;
	case '2':
		return POL_TAR_SYMLINK;
	case '1':
		return POL_TAR_HARDLINK;
	default:
		return POL_TAR_OTHER;
	}
}

/* pad_of() : padding after size bytes of data. */
static uint64_t
pad_of(uint64_t size)
{
	return (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
}

/*
 * set_path() : stores a pax path value of n bytes in dst (room for
 * POL_TAR_PATH_MAX + 1); node-tar would use an empty value as the path
 * (and skip or misread the entry), so that is ambiguous.  Returns 0 or rc.
 */
static enum pol_tar_rc
set_path(struct pol_tar *t, char *dst, const char *v, size_t n)
{
	if (n == 0)
		return fail(t, POL_TAR_ERR_AMBIGUOUS, "empty pax path");
	if (n > POL_TAR_PATH_MAX)
		return fail(t, POL_TAR_ERR_LIMIT, "pax path over its cap");
	if (memchr(v, '\0', n) != NULL)
		return fail(t, POL_TAR_ERR_FORMAT, "NUL byte in a pax path");
	memcpy(dst, v, n);
	dst[n] = '\0';
	return POL_TAR_OK;
}

/*
 * pax_parse() : parses the records "<len> <key>=<value>\n" of the pax
 * header in t->ext; applies path, linkpath and size unless global.
 * node-tar splits the header on newlines and decodes it as UTF-8 first,
 * drops a record whose length does not match, and applies a global size
 * and any "type": all of that is ambiguous here.  Returns POL_TAR_OK or rc.
 */
static enum pol_tar_rc
pax_parse(struct pol_tar *t, int global)
{
	const char *p = t->ext, *end = p + t->ext_len, *q, *rec_end, *kv, *eq;
	size_t reclen, klen, vlen, i;
	uint64_t size;
	char c;
	int frag;

	if (!utf8_ok((const unsigned char *)p, t->ext_len))
		return fail(t, POL_TAR_ERR_AMBIGUOUS,
		    "pax header is not UTF-8");
	while (p < end) {
		reclen = 0;
		if (*p == '0')
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "pax record length with a leading zero");
		for (q = p; q < end && *q >= '0' && *q <= '9'; q++) {
			reclen = reclen * 10 + (size_t)(*q - '0');
			if (reclen > t->ext_len)
				goto bad;
		}
		if (q == p || q == end || *q != ' ' ||
		    reclen > (size_t)(end - p))
			goto bad;
		rec_end = p + reclen;
		kv = q + 1;
		if (kv >= rec_end || rec_end[-1] != '\n')
			goto bad;
		if (memchr(p, '\n', reclen - 1) != NULL)
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "newline inside a pax record");
		eq = memchr(kv, '=', (size_t)(rec_end - 1 - kv));
		if (eq == NULL || eq == kv)
			goto bad;
		klen = (size_t)(eq - kv);
		vlen = (size_t)(rec_end - 1 - (eq + 1));
		if (klen == 4 && memcmp(kv, "type", 4) == 0)
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "pax record sets the entry type");
		if (global && klen == 4 && memcmp(kv, "size", 4) == 0)
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "global pax header sets a size");
		if (!global && klen == 4 && memcmp(kv, "path", 4) == 0) {
			/* dropped on a cut read: the name under it shows */
			frag = t->ext_len > TAR_BLOCK && !ascii(eq + 1, vlen);
			if (frag && t->pax_path[0] != '\0')
				return fail(t, POL_TAR_ERR_AMBIGUOUS,
				    "non-ASCII pax path over another name");
			if (set_path(t, t->pax_path, eq + 1, vlen) != 0)
				return t->rc;
			t->pax_path_fragile = frag;
		} else if (!global && klen == 8 &&
		    memcmp(kv, "linkpath", 8) == 0) {
			if (t->ext_len > TAR_BLOCK && !ascii(eq + 1, vlen))
				return fail(t, POL_TAR_ERR_AMBIGUOUS,
				    "non-ASCII pax linkpath");
			if (set_path(t, t->pax_link, eq + 1, vlen) != 0)
				return t->rc;
		} else if (!global && klen == 4 && memcmp(kv, "size", 4) == 0) {
			/* node-tar reads an empty size as 0 */
			if (vlen == 0)
				return fail(t, POL_TAR_ERR_AMBIGUOUS,
				    "empty pax size");
			size = 0;
			for (i = 0; i < vlen; i++) {
				c = eq[1 + i];
				if (c < '0' || c > '9' ||
				    size > (JS_SAFE_MAX - 9) / 10)
					return fail(t, POL_TAR_ERR_FORMAT,
					    "bad pax size");
				size = size * 10 + (uint64_t)(c - '0');
			}
			t->pax_size = size;
			t->have_pax_size = 1;
		}
		p = rec_end;
	}
	return POL_TAR_OK;
bad:
	return fail(t, POL_TAR_ERR_FORMAT, "malformed pax record");
}

/*
 * ext_done() : the data of an extended header (type in t->hdr) is
 * complete; applies it to the next entry.  Returns POL_TAR_OK or rc.
 */
static enum pol_tar_rc
ext_done(struct pol_tar *t)
{
	char type = (char)t->hdr[H_TYPE];
	size_t n;

	switch (type) {
	case 'x':
	case 'g':
		if (pax_parse(t, type == 'g') != POL_TAR_OK)
			return t->rc;
		break;
	case 'L':
	case 'K':
		/* The same slot as a pax path: node-tar keeps the last. */
		n = strnlen(t->ext, t->ext_len);
		if (n == 0)
			return fail(t, POL_TAR_ERR_FORMAT,
			    "empty GNU long name");
		if (n > POL_TAR_PATH_MAX)
			return fail(t, POL_TAR_ERR_LIMIT,
			    "GNU long name over its cap");
		if (!text_ok((const unsigned char *)t->ext, t->ext_len))
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "GNU long name node-tar reads another way");
		if (t->ext_len > TAR_BLOCK && !ascii(t->ext, n))
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "non-ASCII GNU long name");
		memcpy(type == 'L' ? t->pax_path : t->pax_link, t->ext, n);
		(type == 'L' ? t->pax_path : t->pax_link)[n] = '\0';
		if (type == 'L')
			t->pax_path_fragile = 0;
		break;
	}
	/* A global header applies to no entry in particular. */
	if (type != 'g')
		t->ext_type = type;
	t->ext_len = 0;
	t->state = t->pad > 0 ? T_PAD : T_HDR;
	return POL_TAR_OK;
}

/* entry_end() : the entry's data is complete; calls cb->end. */
static enum pol_tar_rc
entry_end(struct pol_tar *t)
{
	if (t->cb->end != NULL && t->cb->end(t->arg) != 0)
		return fail(t, POL_TAR_ABORT, "callback failed");
	t->state = t->pad > 0 ? T_PAD : T_HDR;
	return POL_TAR_OK;
}

/* clear_ext() : forgets the extended headers applied to an entry. */
static void
clear_ext(struct pol_tar *t)
{
	t->ext_type = 0;
	t->pax_path[0] = '\0';
	t->pax_link[0] = '\0';
	t->pax_path_fragile = 0;
	t->have_pax_size = 0;
	t->pax_size = 0;
}

/*
 * hdr_done() : a whole header block is in t->hdr.  Returns POL_TAR_OK,
 * POL_TAR_END (second zero block) or rc.
 */
static enum pol_tar_rc
hdr_done(struct pol_tar *t)
{
	const unsigned char *h = t->hdr;
	struct pol_tar_entry *e = &t->entry;
	uint64_t size, mode;
	size_t n, plen;
	int posix;
	char type;

	if (all_zero(h, TAR_BLOCK)) {
		if (t->ext_type != 0)
			return fail(t, POL_TAR_ERR_FORMAT,
			    "extended header without an entry");
		if (++t->zero_blocks == 2) {
			t->state = T_END;
			return POL_TAR_END;
		}
		return POL_TAR_OK;
	}
	if (t->zero_blocks != 0)
		return fail(t, POL_TAR_ERR_FORMAT, "lone zero block");
	if (!chksum_ok(h))
		return fail(t, POL_TAR_ERR_FORMAT, "bad header checksum");
	/* node-tar reads the prefix under "ustar\0" "00" only. */
	if (memcmp(h + H_MAGIC, "ustar\0" "00", 8) == 0)
		posix = 1;
	else if (memcmp(h + H_MAGIC, "ustar\0", 6) == 0 ||
	    memcmp(h + H_MAGIC, "ustar  \0", 8) == 0)
		posix = 0;
	else
		return fail(t, POL_TAR_ERR_FORMAT, "not a ustar header");
	if (tar_num(h + H_SIZE, 12, &size, 0) != 0)
		return fail(t, POL_TAR_ERR_FORMAT, "bad size field");
	type = (char)h[H_TYPE];
	if (type != '\0' && strchr("01234567xgLK", type) == NULL)
		return fail(t, POL_TAR_ERR_AMBIGUOUS,
		    "entry type node-tar reads another way");
	/* node-tar: 130 bytes of prefix unless byte 475 is set (xstar) */
	plen = h[H_PREFIX + 130] != 0 ? H_PREFIX_LEN : 130;
	if (!text_ok(h + H_NAME, H_NAME_LEN) ||
	    !text_ok(h + H_LINK, H_LINK_LEN) ||
	    (posix && !text_ok(h + H_PREFIX, plen)))
		return fail(t, POL_TAR_ERR_AMBIGUOUS,
		    "header text node-tar reads another way");
	/* node-tar skips a link without a linkname, a non-link with one. */
	if ((type == '1' || type == '2') != (h[H_LINK] != '\0') &&
	    type != 'x' && type != 'g')
		return fail(t, POL_TAR_ERR_AMBIGUOUS, type == '1' ||
		    type == '2' ? "link without a linkname" :
		    "linkname on an entry that is not a link");

	switch (type) {
	case 'x':
	case 'g':
	case 'L':
	case 'K':
		/* node-tar skips a nameless header, reading its data next. */
		if (h[H_NAME] == '\0' && !(posix && h[H_PREFIX] != '\0'))
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "extended header without a name");
		if (size > POL_TAR_PAX_MAX)
			return fail(t, POL_TAR_ERR_LIMIT,
			    "extended header over its cap");
		if (t->ext == NULL &&
		    (t->ext = malloc(POL_TAR_PAX_MAX)) == NULL)
			return fail(t, POL_TAR_ERR_LIMIT, "out of memory");
		t->ext_len = 0;
		t->remain = size;
		t->pad = pad_of(size);
		t->state = T_EXT;
		if (size == 0)
			return ext_done(t);
		return POL_TAR_OK;
	default:
		break;
	}

	if (tar_num(h + H_MODE, 8, &mode, 0) != 0)
		return fail(t, POL_TAR_ERR_FORMAT, "bad mode field");
	memset(e, 0, sizeof(*e));
	/* The header's own name (e->path is big enough for 155+1+100). */
	n = 0;
	if (posix && h[H_PREFIX] != '\0') {
		n = field(e->path, h + H_PREFIX, plen);
		e->path[n++] = '/';
	}
	field(e->path + n, h + H_NAME, H_NAME_LEN);
	if (t->pax_path[0] != '\0') {
		if (t->pax_path_fragile && strcmp(t->pax_path, e->path) != 0)
			return fail(t, POL_TAR_ERR_AMBIGUOUS,
			    "non-ASCII pax path the header names otherwise");
		memcpy(e->path, t->pax_path, strlen(t->pax_path) + 1);
	}
	if (t->pax_link[0] != '\0')
		memcpy(e->link, t->pax_link, strlen(t->pax_link) + 1);
	else
		field(e->link, h + H_LINK, H_LINK_LEN);
	if (t->have_pax_size)
		size = t->pax_size;
	clear_ext(t);
	if (e->path[0] == '\0')
		return fail(t, POL_TAR_ERR_FORMAT, "entry without a name");
	e->type = map_type(type);
	/* node-tar: an old-style file named "x/" is a directory ... */
	if ((type == '0' || type == '\0') &&
	    e->path[strlen(e->path) - 1] == '/')
		e->type = POL_TAR_DIR;
	/* ... and a directory has no data: what follows are headers. */
	if (e->type == POL_TAR_DIR)
		size = 0;
	if (!path_ok(e->path, e->type == POL_TAR_DIR))
		return fail(t, POL_TAR_ERR_AMBIGUOUS,
		    "path node-tar's extraction rewrites");
	e->size = size;
	e->typeflag = type;
	e->mode = (unsigned)(mode & 07777);
	t->entries++;

	if (t->cb->begin != NULL && t->cb->begin(t->arg, e) != 0)
		return fail(t, POL_TAR_ABORT, "callback failed");
	t->remain = size;
	t->pad = pad_of(size);
	t->state = T_DATA;
	if (size == 0)
		return entry_end(t);
	return POL_TAR_OK;
}

/*
 * pol_tar_init() : resets t to walk one archive; cb is borrowed until
 * pol_tar_free().  Call pol_tar_free() before initializing t again.
 */
void
pol_tar_init(struct pol_tar *t, const struct pol_tar_cb *cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->state = T_HDR;
	t->rc = POL_TAR_OK;
}

/*
 * pol_tar_feed() : walks len more bytes.  Returns POL_TAR_OK (want
 * more), POL_TAR_END once the end marker is complete (and on every later
 * call whose bytes are all zero), or a sticky error with t->err set.
 */
enum pol_tar_rc
pol_tar_feed(struct pol_tar *t, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	size_t n;

	if (t->rc != POL_TAR_OK)
		return t->rc;
	while (p < end) {
		n = (size_t)(end - p);
		switch (t->state) {
		case T_HDR:
			if (n > TAR_BLOCK - t->hlen)
				n = TAR_BLOCK - t->hlen;
			memcpy(t->hdr + t->hlen, p, n);
			t->hlen += n;
			p += n;
			if (t->hlen < TAR_BLOCK)
				break;
			t->hlen = 0;
			switch (hdr_done(t)) {
			case POL_TAR_OK:
			case POL_TAR_END:
				break;
			default:
				return t->rc;
			}
			break;
		case T_DATA:
			if (n > t->remain)
				n = (size_t)t->remain;
			if (t->entry.type == POL_TAR_FILE &&
			    t->cb->data != NULL &&
			    t->cb->data(t->arg, p, n) != 0)
				return fail(t, POL_TAR_ABORT,
				    "callback failed");
			t->remain -= n;
			p += n;
			if (t->remain == 0 && entry_end(t) != POL_TAR_OK)
				return t->rc;
			break;
		case T_EXT:
			if (n > t->remain)
				n = (size_t)t->remain;
			memcpy(t->ext + t->ext_len, p, n);
			t->ext_len += n;
			t->remain -= n;
			p += n;
			if (t->remain == 0 && ext_done(t) != POL_TAR_OK)
				return t->rc;
			break;
		case T_PAD:
			if (n > t->pad)
				n = (size_t)t->pad;
			t->pad -= n;
			p += n;
			if (t->pad == 0)
				t->state = T_HDR;
			break;
		case T_END:
			if (!all_zero(p, n))
				return fail(t, POL_TAR_ERR_TRAILING,
				    "data after the end of the archive");
			p = end;
			break;
		default:
			return fail(t, POL_TAR_ERR_FORMAT,
			    "internal: bad state");
		}
	}
	return t->state == T_END ? POL_TAR_END : POL_TAR_OK;
}

/*
 * pol_tar_finish() : POL_TAR_END if the end marker was seen, a sticky
 * error as is, else POL_TAR_ERR_FORMAT saying where the archive stopped.
 */
enum pol_tar_rc
pol_tar_finish(struct pol_tar *t)
{
	if (t->rc != POL_TAR_OK)
		return t->rc;
	switch (t->state) {
	case T_END:
		return POL_TAR_END;
	case T_HDR:
		if (t->hlen != 0)
			return fail(t, POL_TAR_ERR_FORMAT,
			    "archive ends inside a header");
		return fail(t, POL_TAR_ERR_FORMAT,
		    t->zero_blocks ? "archive ends after one zero block" :
		    "archive ends without the end marker");
	case T_DATA:
		return fail(t, POL_TAR_ERR_FORMAT,
		    "archive ends inside an entry's data");
	case T_EXT:
		return fail(t, POL_TAR_ERR_FORMAT,
		    "archive ends inside an extended header");
	default:
		return fail(t, POL_TAR_ERR_FORMAT,
		    "archive ends inside block padding");
	}
}

/* pol_tar_free() : releases the extended-header buffer; safe twice. */
void
pol_tar_free(struct pol_tar *t)
{
	if (t == NULL)
		return;
	free(t->ext);
	t->ext = NULL;
}
