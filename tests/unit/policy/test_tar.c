/*
 * tests/unit/policy/test_tar.c: unit tests of the streaming tar walker
 * (policy/tar.c), through policy-int.h.
 *
 * Archives are built in memory by the small writer below (ustar, pax,
 * GNU long names, base-256), walked in one feed and in 1-byte, 7-byte
 * and random splits, and the recorded events must agree.  Depends on
 * cmocka and libpolicy only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy-int.h"

/* ------------------------------------------------------ archive writer */

struct ar {
	unsigned char	*b;
	size_t		 len, cap;
};

static void
ar_put(struct ar *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		a->cap = (a->len + n) * 2 + 4096;
		a->b = realloc(a->b, a->cap);
		assert_non_null(a->b);
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void
ar_zero(struct ar *a, size_t n)
{
	static const unsigned char z[512];

	while (n > 0) {
		size_t k = n > sizeof(z) ? sizeof(z) : n;

		ar_put(a, z, k);
		n -= k;
	}
}

enum { F_POSIX = 0, F_GNU = 1, F_V7 = 2, F_B256 = 4, F_SIGNED = 8,
    F_BADSUM = 16 };

/*
 * hdr() : a header block for name (split into prefix/name when longer
 * than 100 and F_POSIX), type, size, link; checksum last.
 */
static void
hdr(unsigned char *h, const char *name, char type, uint64_t size,
    const char *link, int flags)
{
	size_t nl = strlen(name), i;
	unsigned long sum = 0;
	long ssum = 0;
	const char *slash;

	memset(h, 0, 512);
	if (nl > 100 && !(flags & F_GNU)) {
		/* Split at a '/' so that the rest fits the name field. */
		slash = strchr(name + nl - 101, '/');
		assert_non_null(slash);
		memcpy(h + 345, name, (size_t)(slash - name));
		memcpy(h, slash + 1, strlen(slash + 1));
	} else
		memcpy(h, name, nl > 100 ? 100 : nl);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 1000);
	snprintf((char *)h + 116, 8, "%07o", 1000);
	if (flags & F_B256) {
		h[124] = 0x80;
		for (i = 0; i < 8; i++)
			h[135 - i] = (unsigned char)(size >> (8 * i));
	} else
		snprintf((char *)h + 124, 12, "%011llo",
		    (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link != NULL)
		memcpy(h + 157, link, strlen(link));
	if (flags & F_GNU)
		memcpy(h + 257, "ustar  \0", 8);
	else if (!(flags & F_V7))
		memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++) {
		sum += h[i];
		ssum += (signed char)h[i];
	}
	if (flags & F_SIGNED)
		sum = (unsigned long)ssum;
	if (flags & F_BADSUM)
		sum++;
	snprintf((char *)h + 148, 8, "%06lo", sum);
}

/* ar_entry() : header, data (size bytes of data, or of 'A'+i), padding. */
static void
ar_entry(struct ar *a, const char *name, char type, const void *data,
    uint64_t size, const char *link, int flags)
{
	unsigned char h[512];
	uint64_t i;

	hdr(h, name, type, size, link, flags);
	ar_put(a, h, 512);
	if (data != NULL)
		ar_put(a, data, (size_t)size);
	else
		for (i = 0; i < size; i++) {
			unsigned char c = (unsigned char)('A' + i % 26);
			ar_put(a, &c, 1);
		}
	ar_zero(a, (512 - size % 512) % 512);
}

/* pax_rec() : appends one "<len> key=value\n" record to s. */
static void
pax_rec(struct ar *s, const char *key, const char *val)
{
	char buf[16];
	size_t body = strlen(key) + strlen(val) + 3, n, d;

	/* len counts its own digits. */
	for (d = 1;; d++) {
		n = body + d;
		snprintf(buf, sizeof(buf), "%zu", n);
		if (strlen(buf) == d)
			break;
	}
	ar_put(s, buf, d);
	ar_put(s, " ", 1);
	ar_put(s, key, strlen(key));
	ar_put(s, "=", 1);
	ar_put(s, val, strlen(val));
	ar_put(s, "\n", 1);
}

static void
ar_end(struct ar *a)
{
	ar_zero(a, 1024);
}

/* ------------------------------------------------------------ recorder */

struct rec {
	char	*buf;
	size_t	 len, cap;
	int	 abort_on;	/* 1 begin, 2 data, 3 end */
	int	 in;		/* 1 between begin and end */
};

static void
rec_add(struct rec *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->buf = realloc(r->buf, r->cap);
		assert_non_null(r->buf);
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

static int
rec_begin(void *arg, const struct pol_tar_entry *e)
{
	struct rec *r = arg;
	char t[128];

	assert_int_equal(r->in, 0);
	r->in = 1;
	rec_add(r, "<", 1);
	rec_add(r, e->path, strlen(e->path));
	snprintf(t, sizeof(t), "|%d|%c|%llu|%o|", (int)e->type,
	    e->typeflag ? e->typeflag : '@', (unsigned long long)e->size,
	    e->mode);
	rec_add(r, t, strlen(t));
	rec_add(r, e->link, strlen(e->link));
	rec_add(r, ">", 1);
	return r->abort_on == 1;
}

static int
rec_data(void *arg, const unsigned char *b, size_t n)
{
	struct rec *r = arg;

	assert_int_equal(r->in, 1);
	assert_true(n > 0);
	rec_add(r, (const char *)b, n);
	return r->abort_on == 2;
}

static int
rec_end(void *arg)
{
	struct rec *r = arg;

	assert_int_equal(r->in, 1);
	r->in = 0;
	rec_add(r, "</>", 3);
	return r->abort_on == 3;
}

static const struct pol_tar_cb rec_cbs = { rec_begin, rec_data, rec_end };

/*
 * walk() : walks in with the given split (0 one feed, -1 random); the
 * result is the first feed error, else finish's rc.  *end_at gets the
 * input offset after which feed first returned POL_TAR_END (or -1).
 */
static enum pol_tar_rc
walk(const unsigned char *in, size_t len, long step, unsigned seed,
    struct rec *r, const char **err, long *end_at)
{
	struct pol_tar t;
	enum pol_tar_rc rc = POL_TAR_OK;
	size_t off = 0, n;

	if (end_at != NULL)
		*end_at = -1;
	pol_tar_init(&t, &rec_cbs, r);
	while (off < len) {
		if (step == 0)
			n = len - off;
		else if (step < 0)
			n = 1 + (size_t)(rand_r(&seed) % 1500);
		else
			n = (size_t)step;
		if (n > len - off)
			n = len - off;
		rc = pol_tar_feed(&t, in + off, n);
		off += n;
		if (rc == POL_TAR_END && end_at != NULL && *end_at < 0)
			*end_at = (long)off;
		if (rc != POL_TAR_OK && rc != POL_TAR_END)
			break;
	}
	if (rc == POL_TAR_OK || rc == POL_TAR_END)
		rc = pol_tar_finish(&t);
	if (rc != POL_TAR_END)
		assert_non_null(t.err);
	if (err != NULL)
		*err = t.err;
	pol_tar_free(&t);
	pol_tar_free(&t);
	return rc;
}

/* check() : every split agrees; returns rc, events in *events. */
static enum pol_tar_rc
check(const struct ar *a, char **events)
{
	long steps[] = { 1, 7, 512, 513, -1 };
	struct rec whole = { 0 }, r;
	const char *e1, *e2;
	enum pol_tar_rc rc;
	size_t i;
	unsigned seed;

	rc = walk(a->b, a->len, 0, 0, &whole, &e1, NULL);
	rec_add(&whole, "", 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (seed = 1; seed < (steps[i] < 0 ? 6u : 2u); seed++) {
			memset(&r, 0, sizeof(r));
			assert_int_equal(walk(a->b, a->len, steps[i], seed, &r,
			    &e2, NULL), rc);
			rec_add(&r, "", 0);
			assert_string_equal(whole.buf, r.buf);
			if (rc != POL_TAR_END)
				assert_string_equal(e1, e2);
			free(r.buf);
		}
	}
	if (events != NULL)
		*events = whole.buf;
	else
		free(whole.buf);
	return rc;
}

static void
expect(const struct ar *a, enum pol_tar_rc want, const char *want_events)
{
	char *ev;
	enum pol_tar_rc rc;

	rc = check(a, &ev);
	if (rc != want)
		fail_msg("rc %d, want %d (events %s)", rc, want, ev);
	if (want_events != NULL)
		assert_string_equal(ev, want_events);
	free(ev);
}

/* --------------------------------------------------------------- tests */

static void
test_basic(void **state)
{
	struct ar a = { 0 };
	char *want;
	size_t n, i;

	ar_entry(&a, "package/", '5', NULL, 0, NULL, 0);
	ar_entry(&a, "package/package.json", '0', "{\"name\":\"x\"}", 12,
	    NULL, 0);
	ar_entry(&a, "package/a.js", '\0', NULL, 600, NULL, 0);
	ar_entry(&a, "package/c.js", '7', "c", 1, NULL, 0);
	ar_entry(&a, "package/l", '2', NULL, 0, "a.js", 0);
	ar_entry(&a, "package/h", '1', NULL, 0, "package/a.js", 0);
	ar_entry(&a, "package/fifo", '6', NULL, 0, NULL, 0);
	ar_entry(&a, "package/empty", '0', NULL, 0, NULL, 0);
	ar_end(&a);
	want = malloc(2048);
	assert_non_null(want);
	n = (size_t)snprintf(want, 2048, "<package/|1|5|0|644|></>"
	    "<package/package.json|0|0|12|644|>{\"name\":\"x\"}</>"
	    "<package/a.js|0|@|600|644|>");
	for (i = 0; i < 600; i++)
		want[n++] = (char)('A' + i % 26);
	snprintf(want + n, 2048 - n, "</>"
	    "<package/c.js|0|7|1|644|>c</>"
	    "<package/l|2|2|0|644|a.js></>"
	    "<package/h|3|1|0|644|package/a.js></>"
	    "<package/fifo|4|6|0|644|></>"
	    "<package/empty|0|0|0|644|></>");
	expect(&a, POL_TAR_END, want);
	free(want);
	free(a.b);

	/* An empty archive is just the end marker. */
	memset(&a, 0, sizeof(a));
	ar_end(&a);
	expect(&a, POL_TAR_END, "");
	free(a.b);
}

static void
test_non_file_data_skipped(void **state)
{
	struct ar a = { 0 };

	/* Data of a non-file entry is skipped, not delivered. */
	ar_entry(&a, "dev", '3', NULL, 700, NULL, 0);
	ar_entry(&a, "f", '0', "x", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<dev|4|3|700|644|></><f|0|0|1|644|>x</>");
	free(a.b);
}

static void
test_prefix_and_gnu(void **state)
{
	char longp[300];
	struct ar a = { 0 };
	char *want;

	/* 150 + 1 + 98 bytes: prefix "package/aaa...", name "bbb...". */
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "package/", 8);
	longp[150] = '/';
	memset(longp + 151, 'b', 98);
	longp[249] = '\0';
	ar_entry(&a, longp, '0', "p", 1, NULL, F_POSIX);
	/* GNU magic: the prefix area is not part of the name. */
	ar_entry(&a, "gnu.txt", '0', "g", 1, NULL, F_GNU);
	ar_end(&a);
	want = malloc(1024);
	assert_non_null(want);
	snprintf(want, 1024, "<%s|0|0|1|644|>p</><gnu.txt|0|0|1|644|>g</>",
	    longp);
	expect(&a, POL_TAR_END, want);
	free(want);
	free(a.b);

	/* A header without ustar magic (old v7) is refused. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "v7.txt", '0', "v", 1, NULL, F_V7);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
}

static void
test_pax(void **state)
{
	struct ar a = { 0 }, x = { 0 };
	char longp[400], *want;

	memset(longp, 'd', sizeof(longp));
	memcpy(longp, "package/", 8);
	longp[399] = '\0';
	/* A global header: parsed, ignored (its path applies to nobody). */
	pax_rec(&x, "comment", "made by a test");
	pax_rec(&x, "path", "global/ignored");
	ar_entry(&a, "pax_global_header", 'g', x.b, x.len, NULL, 0);
	x.len = 0;
	/* path, linkpath and size of the next entry; other keys ignored. */
	pax_rec(&x, "mtime", "1700000000.5");
	pax_rec(&x, "path", longp);
	pax_rec(&x, "uid", "12345678901");
	pax_rec(&x, "SCHILY.xattr.user.k", "v=w x");
	ar_entry(&a, "PaxHeader/dddd", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/dddd", '0', "long", 4, NULL, 0);
	x.len = 0;
	pax_rec(&x, "linkpath", "target/of/the/link");
	ar_entry(&a, "PaxHeader/l", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/l", '2', NULL, 0, "short", 0);
	/* A pax size overrides the header's size field. */
	x.len = 0;
	pax_rec(&x, "size", "5");
	ar_entry(&a, "PaxHeader/s", 'x', x.b, x.len, NULL, 0);
	{
		unsigned char h[512];

		hdr(h, "package/s", '0', 0, NULL, 0);
		ar_put(&a, h, 512);
		ar_put(&a, "12345", 5);
		ar_zero(&a, 507);
	}
	/* Extended headers apply to one entry only. */
	ar_entry(&a, "package/after", '0', NULL, 0, NULL, 0);
	ar_end(&a);
	want = malloc(2048);
	assert_non_null(want);
	snprintf(want, 2048, "<%s|0|0|4|644|>long</>"
	    "<package/l|2|2|0|644|target/of/the/link></>"
	    "<package/s|0|0|5|644|>12345</>"
	    "<package/after|0|0|0|644|></>", longp);
	expect(&a, POL_TAR_END, want);
	free(want);
	free(a.b);
	free(x.b);
}

static void
test_gnu_long(void **state)
{
	struct ar a = { 0 };
	char longp[1000], longl[700], *want;

	memset(longp, 'n', sizeof(longp));
	memcpy(longp, "package/", 8);
	longp[999] = '\0';
	memset(longl, 'k', sizeof(longl));
	longl[699] = '\0';
	ar_entry(&a, "././@LongLink", 'L', longp, strlen(longp) + 1, NULL,
	    F_GNU);
	ar_entry(&a, "package/nnnnn", '0', "L", 1, NULL, F_GNU);
	ar_entry(&a, "././@LongLink", 'K', longl, strlen(longl), NULL, F_GNU);
	ar_entry(&a, "././@LongLink", 'L', "package/sym", 11, NULL, F_GNU);
	ar_entry(&a, "package/s", '2', NULL, 0, "kkk", F_GNU);
	ar_end(&a);
	want = malloc(4096);
	assert_non_null(want);
	snprintf(want, 4096, "<%s|0|0|1|644|>L</><package/sym|2|2|0|644|%s></>",
	    longp, longl);
	expect(&a, POL_TAR_END, want);
	free(want);
	free(a.b);
}

/*
 * Non-ASCII extended names: node-tar decodes an extended header's data
 * piece by piece, a block at least, so in data over 512 bytes a cut
 * inside a multi-byte character drops a pax record (the header's own name
 * shows) or mangles a GNU long name.  Such a pax path is read only when
 * the header names the same path.
 */
static void
pad_rec(struct ar *x)
{
	char pad[600];

	memset(pad, 'c', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	pax_rec(x, "comment", pad);
}

static void
test_pax_non_ascii(void **state)
{
	struct ar a = { 0 }, x = { 0 }, l = { 0 };
	char longp[400], split[400], *want;
	size_t i, n;

	(void)state;
	/* One block: never cut, the pax path is what node-tar reads. */
	pax_rec(&x, "path", "package/\xc3\xbc.txt");
	ar_entry(&a, "PaxHeader/u", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/u.txt", '0', "u", 1, NULL, 0);
	/* Over a block: npm pack's header holds the same path (prefix). */
	n = (size_t)snprintf(split, sizeof(split), "package/");
	for (i = 0; i < 60; i++)
		n += (size_t)snprintf(split + n, sizeof(split) - n, "\xc3\xa9");
	n += (size_t)snprintf(split + n, sizeof(split) - n, "/");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(split + n, sizeof(split) - n, "\xc3\xbc");
	snprintf(split + n, sizeof(split) - n, ".txt");
	x.len = 0;
	pad_rec(&x);
	pax_rec(&x, "path", split);
	ar_entry(&a, "PaxHeader/s", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, split, '0', "s", 1, NULL, 0);
	/* A later GNU long name wins whatever happens to the pax path. */
	x.len = 0;
	pad_rec(&x);
	pax_rec(&x, "path", "package/\xc3\xbc-dropped.txt");
	ar_entry(&a, "PaxHeader/g", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "././@LongLink", 'L', "package/long", 12, NULL, F_GNU);
	ar_entry(&a, "package/.npmrc", '0', "g", 1, NULL, 0);
	/* A short non-ASCII GNU long name is never cut either. */
	ar_entry(&a, "././@LongLink", 'L', "package/\xc3\xbc", 10, NULL,
	    F_GNU);
	ar_entry(&a, "package/u", '0', "l", 1, NULL, F_GNU);
	ar_end(&a);
	want = malloc(2048);
	assert_non_null(want);
	snprintf(want, 2048, "<package/\xc3\xbc.txt|0|0|1|644|>u</>"
	    "<%s|0|0|1|644|>s</><package/long|0|0|1|644|>g</>"
	    "<package/\xc3\xbc|0|0|1|644|>l</>", split);
	expect(&a, POL_TAR_END, want);
	free(want);

	/* A long last component: the header holds a truncated name. */
	n = (size_t)snprintf(longp, sizeof(longp), "package/d/");
	for (i = 0; i < 70; i++)
		n += (size_t)snprintf(longp + n, sizeof(longp) - n, "\xc3\xbc");
	snprintf(longp + n, sizeof(longp) - n, ".js.map");
	a.len = x.len = 0;
	pad_rec(&x);
	pax_rec(&x, "path", longp);
	ar_entry(&a, "PaxHeader/t", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/d/x.js", '0', "t", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);

	/* The header names another file outright. */
	a.len = x.len = 0;
	pax_rec(&x, "path", "package/docs/\xc3\xbc.txt");
	pad_rec(&x);
	ar_entry(&a, "PaxHeader/n", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/.npmrc", '0', "n", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);

	/* Over a GNU long name (which shows if the pax path drops). */
	a.len = x.len = 0;
	ar_entry(&a, "././@LongLink", 'L', "package/.npmrc", 14, NULL, F_GNU);
	pad_rec(&x);
	pax_rec(&x, "path", "package/\xc3\xbc");
	ar_entry(&a, "PaxHeader/o", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/\xc3\xbc", '0', "o", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);

	/* Over an earlier path record of the same header. */
	a.len = x.len = 0;
	pad_rec(&x);
	pax_rec(&x, "path", "package/.npmrc");
	pax_rec(&x, "path", "package/\xc3\xbc");
	ar_entry(&a, "PaxHeader/r", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/\xc3\xbc", '0', "r", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);

	/* A GNU long name or pax linkpath over a block, non-ASCII. */
	a.len = 0;
	for (i = 0; i < 130; i++)
		ar_put(&l, "d\xc3\xbc/", 4);
	ar_put(&l, "f", 2);
	ar_entry(&a, "././@LongLink", 'L', l.b, l.len, NULL, F_GNU);
	ar_entry(&a, "package/u", '0', "l", 1, NULL, F_GNU);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);
	a.len = x.len = 0;
	pad_rec(&x);
	pax_rec(&x, "linkpath", "t\xc3\xbc");
	ar_entry(&a, "PaxHeader/k", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/k", '2', NULL, 0, "t", 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, NULL);
	free(a.b);
	free(x.b);
	free(l.b);
}

static void
test_numbers_checksum(void **state)
{
	struct ar a = { 0 };
	unsigned char h[512];

	/* Base-256 size; an unsigned checksum over high bytes. */
	ar_entry(&a, "package/b256", '0', "xyz", 3, NULL, F_B256);
	ar_entry(&a, "package/\xc3\xa9t\xc3\xa9", '0', "s", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<package/b256|0|0|3|644|>xyz</>"
	    "<package/\xc3\xa9t\xc3\xa9|0|0|1|644|>s</>");
	free(a.b);

	/* A signed checksum: node-tar only matches the unsigned sum. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/\xc3\xa9t\xc3\xa9", '0', "s", 1, NULL,
	    F_SIGNED);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);

	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/bad", '0', "s", 1, NULL, F_BADSUM);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);

	/* A size field with a non-octal digit. */
	memset(&a, 0, sizeof(a));
	hdr(h, "package/x", '0', 0, NULL, 0);
	memcpy(h + 124, "0000000008\0", 12);
	memset(h + 148, ' ', 8);
	{
		unsigned long sum = 0;
		size_t i;

		for (i = 0; i < 512; i++)
			sum += h[i];
		snprintf((char *)h + 148, 8, "%06lo", sum);
	}
	ar_put(&a, h, 512);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
}

static void
test_pax_errors(void **state)
{
	static const char *bad[] = {
		"5 a=\n6 b=x",			/* record cut short */
		"x path=a\n",			/* no length */
		"8 path=ab\n",			/* wrong length */
		"9path=ab\n",			/* no space */
		"8 patha\n",			/* no '=' */
		"5 =a\n",			/* empty key */
		"11 path=abc",			/* no newline */
		"13 size=12a4\n",		/* bad size */
		"30 size=99999999999999999999\n",	/* overflow */
		"9 path=a\n\n",			/* junk after the records */
	};
	struct ar a, x;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		ar_entry(&a, "P", 'x', bad[i], strlen(bad[i]), NULL, 0);
		ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
		ar_end(&a);
		if (check(&a, NULL) != POL_TAR_ERR_FORMAT)
			fail_msg("pax record \"%s\" accepted", bad[i]);
		free(a.b);
	}
	/* A NUL byte inside a path value. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "P", 'x', "12 path=a\0b\n", 12, NULL, 0);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
	/* An extended header with no entry after it. */
	memset(&a, 0, sizeof(a));
	memset(&x, 0, sizeof(x));
	pax_rec(&x, "path", "package/nothing");
	ar_entry(&a, "P", 'x', x.b, x.len, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
	free(x.b);
	/* An empty GNU long name. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "././@LongLink", 'L', "\0", 1, NULL, F_GNU);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, F_GNU);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
	/* An entry without a name. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
}

static void
test_caps(void **state)
{
	struct ar a, x;
	char *p = malloc(POL_TAR_PAX_MAX + 2);
	size_t n;

	assert_non_null(p);
	/* pax path of exactly POL_TAR_PATH_MAX bytes, then one more. */
	for (n = POL_TAR_PATH_MAX; n <= POL_TAR_PATH_MAX + 1; n++) {
		memset(&a, 0, sizeof(a));
		memset(&x, 0, sizeof(x));
		memset(p, 'p', n);
		p[n] = '\0';
		pax_rec(&x, "path", p);
		ar_entry(&a, "P", 'x', x.b, x.len, NULL, 0);
		ar_entry(&a, "f", '0', "f", 1, NULL, 0);
		ar_end(&a);
		assert_int_equal(check(&a, NULL), n <= POL_TAR_PATH_MAX ?
		    POL_TAR_END : POL_TAR_ERR_LIMIT);
		free(a.b);
		free(x.b);
		/* The same with a GNU long name. */
		memset(&a, 0, sizeof(a));
		ar_entry(&a, "././@LongLink", 'L', p, n, NULL, F_GNU);
		ar_entry(&a, "f", '0', "f", 1, NULL, F_GNU);
		ar_end(&a);
		assert_int_equal(check(&a, NULL), n <= POL_TAR_PATH_MAX ?
		    POL_TAR_END : POL_TAR_ERR_LIMIT);
		free(a.b);
	}
	/* An extended header over POL_TAR_PAX_MAX. */
	for (n = POL_TAR_PAX_MAX; n <= POL_TAR_PAX_MAX + 1; n++) {
		memset(&a, 0, sizeof(a));
		memset(&x, 0, sizeof(x));
		/* One record: "NNNNN comment=<value>\n" of n bytes. */
		memset(p, 'c', n - 15);
		p[n - 15] = '\0';
		pax_rec(&x, "comment", p);
		ar_entry(&a, "P", 'x', x.b, x.len, NULL, 0);
		ar_entry(&a, "f", '0', "f", 1, NULL, 0);
		ar_end(&a);
		assert_int_equal(x.len, n);
		assert_int_equal(check(&a, NULL), n <= POL_TAR_PAX_MAX ?
		    POL_TAR_END : POL_TAR_ERR_LIMIT);
		free(a.b);
		free(x.b);
	}
	free(p);
}

static void
test_end_marker(void **state)
{
	struct ar a = { 0 };
	long end_at;
	struct rec r = { 0 };
	const char *err;
	size_t full;

	ar_entry(&a, "f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	full = a.len;
	/* END is reported by the feed that completes the marker. */
	assert_int_equal(walk(a.b, a.len, 1, 0, &r, &err, &end_at),
	    POL_TAR_END);
	assert_int_equal(end_at, (long)full);
	free(r.buf);
	/* Zero bytes after it are fine (tar(1) pads to 10 KiB). */
	ar_zero(&a, 10240 - full + 3);
	expect(&a, POL_TAR_END, "<f|0|0|1|644|>f</>");
	/* Anything else is trailing data. */
	a.b[a.len - 2] = 'x';
	expect(&a, POL_TAR_ERR_TRAILING, "<f|0|0|1|644|>f</>");
	a.len = full;
	ar_put(&a, "x", 1);
	expect(&a, POL_TAR_ERR_TRAILING, "<f|0|0|1|644|>f</>");
	/* A lone zero block before more entries. */
	a.len = full - 1024;
	ar_zero(&a, 512);
	ar_entry(&a, "hidden", '0', "h", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "<f|0|0|1|644|>f</>");
	free(a.b);
}

static void
test_truncated(void **state)
{
	struct ar a = { 0 };
	struct rec r;
	const char *err, *seen[8];
	size_t cut, nseen = 0, i;
	enum pol_tar_rc rc;

	ar_entry(&a, "package/a", '0', NULL, 700, NULL, 0);
	ar_entry(&a, "P", 'x', "17 path=package/b\n", 18, NULL, 0);
	ar_entry(&a, "x", '0', "b", 1, NULL, 0);
	ar_end(&a);
	/* Every strict prefix fails with a reason at finish(). */
	for (cut = 0; cut < a.len; cut++) {
		memset(&r, 0, sizeof(r));
		rc = walk(a.b, cut, 0, 0, &r, &err, NULL);
		assert_int_equal(rc, POL_TAR_ERR_FORMAT);
		assert_non_null(err);
		for (i = 0; i < nseen && seen[i] != err; i++)
			;
		if (i == nseen && nseen < 8)
			seen[nseen++] = err;
		free(r.buf);
	}
	/* Header, data, pad, extended header, marker: distinct reasons. */
	assert_true(nseen >= 5);
	free(a.b);
}

static void
test_abort(void **state)
{
	struct ar a = { 0 };
	struct rec r;
	struct pol_tar t;
	int which;

	ar_entry(&a, "f", '0', "data", 4, NULL, 0);
	ar_end(&a);
	for (which = 1; which <= 3; which++) {
		memset(&r, 0, sizeof(r));
		r.abort_on = which;
		pol_tar_init(&t, &rec_cbs, &r);
		assert_int_equal(pol_tar_feed(&t, a.b, a.len), POL_TAR_ABORT);
		assert_int_equal(pol_tar_feed(&t, a.b, a.len), POL_TAR_ABORT);
		assert_int_equal(pol_tar_finish(&t), POL_TAR_ABORT);
		pol_tar_free(&t);
		free(r.buf);
	}
	free(a.b);
}

static void
test_garbage(void **state)
{
	unsigned char buf[4096];
	unsigned seed = 11;
	struct ar a;
	size_t i;
	int k;

	/* Random bytes and random damage: never a crash, splits agree. */
	for (k = 0; k < 200; k++) {
		memset(&a, 0, sizeof(a));
		ar_entry(&a, "package/x", '0', NULL, 900, NULL, 0);
		ar_entry(&a, "P", 'x', "17 path=package/b\n", 18, NULL, 0);
		ar_entry(&a, "x", '0', "b", 1, NULL, 0);
		ar_end(&a);
		for (i = 0; i < 1 + (size_t)(k % 4); i++)
			a.b[rand_r(&seed) % a.len] = (unsigned char)rand_r(&seed);
		(void)check(&a, NULL);
		free(a.b);
	}
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand_r(&seed);
	a.b = buf;
	a.len = sizeof(buf);
	expect(&a, POL_TAR_ERR_FORMAT, "");
}

/* hdr_sum() : recomputes the (unsigned) checksum of a hand-edited header. */
static void
hdr_sum(unsigned char *h)
{
	unsigned long sum = 0;
	size_t i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06lo", sum);
}

/* one_hdr() : an archive of header h (checksum fixed), data, end. */
static void
one_hdr(struct ar *a, unsigned char *h, const char *data, size_t n)
{
	memset(a, 0, sizeof(*a));
	hdr_sum(h);
	ar_put(a, h, 512);
	if (n > 0) {
		ar_put(a, data, n);
		ar_zero(a, (512 - n % 512) % 512);
	}
	ar_end(a);
}

/*
 * read_corpus() : tests/fuzz/corpus/tar/NAME (2 knob bytes first) into a
 * (a->b malloc'd); 0, or -1 without FIXTURES.
 */
static int
read_corpus(struct ar *a, const char *name)
{
	const char *fx = getenv("FIXTURES");
	char path[4096];
	unsigned char *buf;
	size_t n;
	FILE *f;

	if (fx == NULL)
		return -1;
	snprintf(path, sizeof(path), "%.*s/../../fuzz/corpus/tar/%s",
	    (int)(strrchr(fx, '/') != NULL ? strrchr(fx, '/') - fx : 0), fx,
	    name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: cannot open", path);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	assert_true(n > 2 + 1024);
	memset(a, 0, sizeof(*a));
	ar_put(a, buf + 2, n - 2);
	free(buf);
	return 0;
}

/*
 * The hostile tarballs of tests/hostile/mktar.js (issue 8, class 4), as
 * node-tar 7.5.22 reads them: each hides package/src/index.ts (or a
 * second package/package.json) from a walker with other header rules.
 * The walker must read the hidden entry as node-tar does, or refuse the
 * archive as ambiguous.
 */
static void
test_hostile_mktar(void **state)
{
	static const struct {
		const char *file;
		enum pol_tar_rc rc;
		const char *must;	/* node-tar's reading includes it */
	} cases[] = {
		/* a '5' with a size: node-tar reads its "data" as headers */
		{ "hostile-dir-size", POL_TAR_END,
		    "<package/lib/|1|5|0|755|></>"
		    "<package/src/index.ts|0|0|50|644|>export const" },
		{ "hostile-dir-size-package-json", POL_TAR_END,
		    "<package/lib/|1|5|0|755|></><package/package.json|0|0|" },
		/* a '0' named "lib/": a directory for node-tar */
		{ "hostile-file-slash", POL_TAR_END,
		    "<package/lib/|1|0|0|644|></>"
		    "<package/src/index.ts|0|0|50|644|>export const" },
		/* pax path then GNU long name: the last one wins */
		{ "hostile-pax-gnu-long", POL_TAR_END,
		    "<package/src/index.ts|0|0|50|644|>export const" },
		/* "ustar\0" "  ": node-tar ignores the prefix */
		{ "hostile-ustar-prefix", POL_TAR_END,
		    "<package/src/index.ts|0|0|50|644|>export const" },
		/* node-tar skips the header, reads its data as headers */
		{ "hostile-file-linkname", POL_TAR_ERR_AMBIGUOUS, NULL },
		/* node-tar gives every later file the global size */
		{ "hostile-pax-global-size", POL_TAR_ERR_AMBIGUOUS, NULL },
		/* node-tar splits the record at the newline */
		{ "hostile-pax-newline", POL_TAR_ERR_AMBIGUOUS, NULL },
	};
	struct ar a;
	char *ev;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (read_corpus(&a, cases[i].file) != 0)
			skip();
		if (check(&a, &ev) != cases[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", cases[i].file,
			    check(&a, NULL), cases[i].rc, ev);
		if (cases[i].must != NULL && strstr(ev, cases[i].must) == NULL)
			fail_msg("%s: no %s in %s", cases[i].file,
			    cases[i].must, ev);
		free(ev);
		free(a.b);
	}
}

/* Directories carry no data; names ending in '/' are directories. */
static void
test_dir_mirror(void **state)
{
	struct ar a = { 0 }, x = { 0 };
	unsigned char h[512];

	/* A pax size on a directory is ignored too. */
	pax_rec(&x, "size", "1024");
	ar_entry(&a, "PaxHeader/d", 'x', x.b, x.len, NULL, 0);
	hdr(h, "package/d/", '5', 0, NULL, 0);
	ar_put(&a, h, 512);
	/* An old-style directory: NUL type, trailing '/'. */
	hdr(h, "package/e/", '\0', 512, NULL, 0);
	ar_put(&a, h, 512);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<package/d/|1|5|0|644|></>"
	    "<package/e/|1|@|0|644|></><package/f|0|0|1|644|>f</>");
	free(a.b);
	free(x.b);

	/* '7' named "x/" stays a file: the trailing '/' is ambiguous. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/c/", '7', "c", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
}

/* GNU long names and pax paths share one slot: the last one wins. */
static void
test_long_name_order(void **state)
{
	struct ar a = { 0 }, x = { 0 };

	pax_rec(&x, "path", "package/pax-first");
	ar_entry(&a, "PaxHeader/p", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "././@LongLink", 'L', "package/gnu-last", 16, NULL,
	    F_GNU);
	ar_entry(&a, "package/one", '0', "1", 1, NULL, 0);
	ar_entry(&a, "././@LongLink", 'L', "package/gnu-first", 17, NULL,
	    F_GNU);
	ar_entry(&a, "PaxHeader/p", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/two", '0', "2", 1, NULL, 0);
	x.len = 0;
	pax_rec(&x, "linkpath", "pax-link");
	ar_entry(&a, "PaxHeader/l", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "././@LongLink", 'K', "gnu-link", 8, NULL, F_GNU);
	ar_entry(&a, "package/l", '2', NULL, 0, "short", 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<package/gnu-last|0|0|1|644|>1</>"
	    "<package/pax-first|0|0|1|644|>2</>"
	    "<package/l|2|2|0|644|gnu-link></>");
	free(a.b);
	free(x.b);
}

/* Header shapes node-tar reads another way: refused as ambiguous. */
static void
test_ambiguous_headers(void **state)
{
	static const char types[] = "ADIMNSVX34";
	struct ar a = { 0 };
	unsigned char h[512];
	size_t i;

	/* Unknown or vendor type flags. */
	for (i = 0; types[i] != '\0'; i++) {
		memset(&a, 0, sizeof(a));
		ar_entry(&a, "package/t", types[i] == '3' ? 'Z' :
		    types[i] == '4' ? 'g' + 1 : types[i], NULL, 0, NULL, 0);
		ar_end(&a);
		expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
		free(a.b);
	}
	/* A link without a linkname; a directory or GNU name with one. */
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/l", '2', NULL, 0, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/h", '1', NULL, 0, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/d/", '5', NULL, 0, "x", 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "././@LongLink", 'L', "package/x", 9, "y", F_GNU);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	/* An extended header without a name: node-tar skips it. */
	memset(&a, 0, sizeof(a));
	hdr(h, "", 'x', 0, NULL, 0);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);

	/* A name with "\0\n" in it: node-tar keeps what follows the \n. */
	hdr(h, "package/a.js", '0', 0, NULL, 0);
	memcpy(h + 12, "\0\nsrc/x.ts", 10);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	/* The same after a linkname and a prefix's NUL. */
	hdr(h, "package/l", '2', 0, "t", 0);
	memcpy(h + 158, "\0\r", 2);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	hdr(h, "f", '0', 0, NULL, 0);
	memcpy(h + 345, "package\0\xe2\x80\xa8x", 12);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	/* A name that is not UTF-8 (node-tar reads U+FFFD). */
	hdr(h, "package/\xff.js", '0', 0, NULL, 0);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	hdr(h, "package/\xed\xa0\x80.js", '0', 0, NULL, 0);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	/* Garbage after the NUL that is no line break is fine. */
	hdr(h, "package/a.js", '0', 0, NULL, 0);
	memcpy(h + 13, "xyz", 3);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_END, "<package/a.js|0|0|0|644|></>");
	free(a.b);
}

/* Where the prefix counts: "ustar\0" "00" only, 130 bytes for xstar. */
static void
test_prefix_magic(void **state)
{
	struct ar a;
	unsigned char h[512];

	hdr(h, "index.ts", '0', 0, NULL, 0);
	memcpy(h + 345, "package/src", 11);
	memcpy(h + 257, "ustar\0  ", 8);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_END, "<index.ts|0|0|0|644|></>");
	free(a.b);
	hdr(h, "package/index.ts", '0', 0, NULL, 0);
	memcpy(h + 345, "package/src", 11);
	memcpy(h + 257, "ustar\0" "01", 8);
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_END, "<package/index.ts|0|0|0|644|></>");
	free(a.b);
	/* xstar: byte 475 NUL, the prefix is 130 bytes (then atime). */
	hdr(h, "x.js", '0', 0, NULL, 0);
	memset(h + 345, 'p', 130);
	memcpy(h + 345, "package/", 8);
	memcpy(h + 476, "14000000000", 11);
	one_hdr(&a, h, NULL, 0);
	{
		char want[300];

		snprintf(want, sizeof(want), "<package/%.*s/x.js|0|0|0|644|></>",
		    122, (const char *)h + 353);
		expect(&a, POL_TAR_END, want);
	}
	free(a.b);
}

/* Paths node-tar's extraction (strip 1) writes somewhere else. */
static void
test_ambiguous_paths(void **state)
{
	static const char *bad[] = {
		"./src/index.ts",	/* node-tar strips ".", keeps src/ */
		"package/./x",
		"package//x",
		"/package/x",
		"package/src\\index.ts",
		"package/C:src/index.ts",	/* "C:" stripped as a root */
		"package/x/.",
	};
	struct ar a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		ar_entry(&a, bad[i], '0', "x", 1, NULL, 0);
		ar_end(&a);
		if (check(&a, NULL) != POL_TAR_ERR_AMBIGUOUS)
			fail_msg("path \"%s\" accepted", bad[i]);
		free(a.b);
	}
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "package/ab:c/..x/.y", '0', "x", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<package/ab:c/..x/.y|0|0|1|644|>x</>");
	free(a.b);
}

/* Pax records node-tar reads another way. */
static void
test_ambiguous_pax(void **state)
{
	static const char *bad[] = {
		"011 path=a\n",			/* leading zero: key " path" */
		"22 path=package/a\n4 b\n",	/* newline inside a record */
		"9 type=0\n",			/* sets the entry type */
		"8 path=\n",			/* empty path */
		"13 linkpath=\n",		/* empty linkpath */
		"8 size=\n",			/* empty size: 0 for node-tar */
		"15 path=a\xff.js\n",		/* not UTF-8 */
	};
	struct ar a, x = { 0 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		ar_entry(&a, "P", 'x', bad[i], strlen(bad[i]), NULL, 0);
		ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
		ar_end(&a);
		if (check(&a, NULL) != POL_TAR_ERR_AMBIGUOUS)
			fail_msg("pax record \"%s\" accepted", bad[i]);
		free(a.b);
	}
	/* A global header with a size or a type. */
	pax_rec(&x, "size", "3");
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "pax_global_header", 'g', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	x.len = 0;
	pax_rec(&x, "type", "0");
	memset(&a, 0, sizeof(a));
	ar_entry(&a, "pax_global_header", 'g', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/f", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_AMBIGUOUS, "");
	free(a.b);
	free(x.b);
	/*
	 * UTF-8 paths are fine (npm pack writes them in pax and in the
	 * header; test_pax_non_ascii has the header naming another path).
	 */
	memset(&a, 0, sizeof(a));
	x.b = NULL;
	x.len = x.cap = 0;
	pax_rec(&x, "path", "package/caf\xc3\xa9.md");
	ar_entry(&a, "P", 'x', x.b, x.len, NULL, 0);
	ar_entry(&a, "package/caf\xc3\xa9.md", '0', "f", 1, NULL, 0);
	ar_end(&a);
	expect(&a, POL_TAR_END, "<package/caf\xc3\xa9.md|0|0|1|644|>f</>");
	free(a.b);
	free(x.b);
}

/* Numbers node-tar reads another way. */
static void
test_ambiguous_numbers(void **state)
{
	struct ar a;
	unsigned char h[512];

	/* An 8-digit checksum: node-tar reads on into the type flag. */
	hdr(h, "package/f", '0', 0, NULL, 0);
	hdr_sum(h);
	{
		char d[9];

		snprintf(d, sizeof(d), "%08o", (unsigned)strtoul(
		    (const char *)h + 148, NULL, 8));
		memcpy(h + 148, d, 8);
	}
	memset(&a, 0, sizeof(a));
	ar_put(&a, h, 512);
	ar_end(&a);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
	/* Base-256 with a first byte other than 0x80: node-tar throws. */
	hdr(h, "package/f", '0', 1, NULL, F_B256);
	h[124] = 0x81;
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
	/* Base-256 over 2^53: not a safe integer for node-tar. */
	hdr(h, "package/f", '0', 0, NULL, F_B256);
	h[128] = 0x01;
	one_hdr(&a, h, NULL, 0);
	expect(&a, POL_TAR_ERR_FORMAT, "");
	free(a.b);
}

/*
 * Real archives (seeds of the tar fuzz corpus, 2 knob bytes first):
 * npm pack (node-tar writes a pax header for the long path) and GNU tar
 * in its gnu, pax and ustar formats.
 */
static void
test_real_archives(void **state)
{
	static const struct {
		const char *file;
		const char *must;	/* a path that must be walked */
	} real[] = {
		{ "real-npm", "<package/src/dddd" },
		{ "real-pax", "<src/dddd" },
		{ "real-gnu", "<src/dddd" },
		{ "real-ustar", "<link.json|2|2|0|" },
	};
	const char *fx = getenv("FIXTURES");
	char path[4096];
	struct ar a;
	struct rec r;
	unsigned char *buf;
	size_t i, n;
	FILE *f;

	if (fx == NULL)
		skip();
	buf = malloc(1 << 20);
	assert_non_null(buf);
	for (i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		/* FIXTURES is tests/unit/policy/fixtures (may not exist). */
		snprintf(path, sizeof(path), "%.*s/../../fuzz/corpus/tar/%s",
		    (int)(strrchr(fx, '/') != NULL ? strrchr(fx, '/') - fx :
		    0), fx, real[i].file);
		f = fopen(path, "rb");
		if (f == NULL)
			fail_msg("%s: cannot open", path);
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		assert_true(n > 2 + 1024);
		a.b = buf + 2;
		a.len = n - 2;
		memset(&r, 0, sizeof(r));
		assert_int_equal(walk(a.b, a.len, 0, 0, &r, NULL, NULL),
		    POL_TAR_END);
		assert_non_null(r.buf);
		if (strstr(r.buf, real[i].must) == NULL)
			fail_msg("%s: no %s in %s", real[i].file, real[i].must,
			    r.buf);
		free(r.buf);
		expect(&a, POL_TAR_END, NULL);
	}
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_non_file_data_skipped),
		cmocka_unit_test(test_prefix_and_gnu),
		cmocka_unit_test(test_pax),
		cmocka_unit_test(test_gnu_long),
		cmocka_unit_test(test_pax_non_ascii),
		cmocka_unit_test(test_numbers_checksum),
		cmocka_unit_test(test_pax_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_end_marker),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_real_archives),
		cmocka_unit_test(test_hostile_mktar),
		cmocka_unit_test(test_dir_mirror),
		cmocka_unit_test(test_long_name_order),
		cmocka_unit_test(test_ambiguous_headers),
		cmocka_unit_test(test_prefix_magic),
		cmocka_unit_test(test_ambiguous_paths),
		cmocka_unit_test(test_ambiguous_pax),
		cmocka_unit_test(test_ambiguous_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
