/*
 * tests/unit/policy/test_gz.c: unit tests of the streaming inflate stage
 * (policy/gz.c), through policy-int.h.
 *
 * Fixtures are made in memory with zlib's deflate (gzip wrapper); every
 * one is inflated in one feed and in 1-byte and random splits, and the
 * output must equal the original.  Depends on cmocka, zlib and libpolicy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zlib.h>

#include "policy-int.h"

/* gz_make() : the gzip member of data (malloc'd); *outlen its size. */
static unsigned char *
gz_make(const void *data, size_t len, int level, size_t *outlen)
{
	z_stream z;
	unsigned char *out;
	size_t cap;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS,
	    9, Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, len) + 64;
	out = malloc(cap);
	assert_non_null(out);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

struct sink {
	unsigned char	*buf;	/* NULL: count only */
	size_t		 len, cap;
	size_t		 calls;
	size_t		 abort_after;	/* abort on this call (0: never) */
};

static int
sink_cb(void *arg, const unsigned char *b, size_t n)
{
	struct sink *s = arg;

	assert_true(n > 0 && n <= POL_GZ_CHUNK);
	if (++s->calls == s->abort_after)
		return 1;
	if (s->buf != NULL) {
		assert_true(s->len + n <= s->cap);
		memcpy(s->buf + s->len, b, n);
	}
	s->len += n;
	return 0;
}

/*
 * run() : inflates in with the given split (0: one feed, -1: random,
 * else fixed); returns the feed rc if not OK, else finish's rc.
 */
static enum pol_gz_rc
run(const unsigned char *in, size_t len, uint64_t max_out, uint32_t ratio,
    long step, unsigned seed, struct sink *s)
{
	struct pol_gz *g = malloc(sizeof(*g));
	enum pol_gz_rc rc = POL_GZ_OK;
	size_t off = 0, n;

	assert_non_null(g);
	assert_int_equal(pol_gz_init(g, max_out, ratio), 0);
	while (off < len) {
		if (step == 0)
			n = len - off;
		else if (step < 0)
			n = 1 + (size_t)(rand_r(&seed) % 4000);
		else
			n = (size_t)step;
		if (n > len - off)
			n = len - off;
		rc = pol_gz_feed(g, in + off, n, sink_cb, s);
		off += n;
		/* After END, more input is fed: it must fail. */
		if (rc != POL_GZ_OK && rc != POL_GZ_END)
			break;
	}
	if (rc == POL_GZ_OK)
		rc = pol_gz_finish(g);
	else if (rc == POL_GZ_END)
		assert_int_equal(pol_gz_finish(g), POL_GZ_END);
	pol_gz_free(g);
	pol_gz_free(g);
	free(g);
	return rc;
}

/* roundtrip() : data survives deflate + every split of inflate. */
static void
roundtrip(const unsigned char *data, size_t len, int level)
{
	long steps[] = { 0, 1, 7, 512, -1 };
	struct sink s;
	unsigned char *gz;
	size_t gzlen, i;

	gz = gz_make(data, len, level, &gzlen);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i] == 1 && gzlen > 100000)
			continue;
		memset(&s, 0, sizeof(s));
		s.buf = malloc(len + 1);
		s.cap = len;
		assert_non_null(s.buf);
		assert_int_equal(run(gz, gzlen, 0, 0, steps[i], 3, &s),
		    POL_GZ_END);
		assert_int_equal(s.len, len);
		assert_memory_equal(s.buf, data, len);
		free(s.buf);
	}
	free(gz);
}

static unsigned char *
text(size_t n, unsigned seed)
{
	static const char *words[] = { "const ", "function", "(a,b)",
	    "{return ", "x+1;}", "\n", "module.exports", " = ", "require",
	    "'./lib'", ";" };
	unsigned char *b = malloc(n + 1);
	size_t i = 0, k;
	const char *w;

	assert_non_null(b);
	while (i < n) {
		w = words[rand_r(&seed) % (sizeof(words) / sizeof(words[0]))];
		for (k = 0; w[k] != '\0' && i < n; k++)
			b[i++] = (unsigned char)w[k];
	}
	return b;
}

static void
test_roundtrip(void **state)
{
	unsigned char *b;
	size_t i;
	unsigned seed = 5;

	roundtrip((const unsigned char *)"", 0, 6);
	roundtrip((const unsigned char *)"x", 1, 6);
	b = text(300000, 1);
	roundtrip(b, 300000, 9);
	roundtrip(b, 300000, 0);	/* stored blocks */
	roundtrip(b, 3000, 1);
	free(b);
	b = malloc(200000);
	assert_non_null(b);
	for (i = 0; i < 200000; i++)
		b[i] = (unsigned char)rand_r(&seed);
	roundtrip(b, 200000, 6);
	free(b);
}

static void
test_truncated(void **state)
{
	unsigned char *b = text(5000, 2), *gz;
	size_t gzlen, cut;
	struct sink s;

	gz = gz_make(b, 5000, 6, &gzlen);
	/* Every strict prefix feeds fine and fails at finish(). */
	for (cut = 0; cut < gzlen; cut++) {
		struct pol_gz g;

		memset(&s, 0, sizeof(s));
		assert_int_equal(pol_gz_init(&g, 0, 0), 0);
		assert_int_equal(pol_gz_feed(&g, gz, cut, sink_cb, &s),
		    POL_GZ_OK);
		assert_int_equal(pol_gz_finish(&g), POL_GZ_ERR_DATA);
		/* Sticky. */
		assert_int_equal(pol_gz_feed(&g, gz + cut, gzlen - cut,
		    sink_cb, &s), POL_GZ_ERR_DATA);
		pol_gz_free(&g);
	}
	free(gz);
	free(b);
}

static void
test_trailing(void **state)
{
	unsigned char *b = text(5000, 3), *gz, *two;
	size_t gzlen;
	struct sink s = { 0 };
	struct pol_gz g;

	gz = gz_make(b, 5000, 6, &gzlen);
	two = malloc(2 * gzlen);
	assert_non_null(two);
	memcpy(two, gz, gzlen);
	memcpy(two + gzlen, gz, gzlen);
	/* Garbage after the member, in the same feed and in later ones. */
	memcpy(two + gzlen, "x", 1);
	assert_int_equal(run(two, gzlen + 1, 0, 0, 0, 0, &s),
	    POL_GZ_ERR_DATA);
	assert_int_equal(run(two, gzlen + 1, 0, 0, 1, 0, &s),
	    POL_GZ_ERR_DATA);
	two[gzlen] = '\0';
	assert_int_equal(run(two, gzlen + 1, 0, 0, 0, 0, &s),
	    POL_GZ_ERR_DATA);
	/* A second gzip member (what `cat a.gz b.gz` makes). */
	memcpy(two + gzlen, gz, gzlen);
	assert_int_equal(run(two, 2 * gzlen, 0, 0, 0, 0, &s),
	    POL_GZ_ERR_DATA);
	assert_int_equal(run(two, 2 * gzlen, 0, 0, -1, 9, &s),
	    POL_GZ_ERR_DATA);

	assert_int_equal(pol_gz_init(&g, 0, 0), 0);
	assert_int_equal(pol_gz_feed(&g, gz, gzlen, sink_cb, &s), POL_GZ_END);
	assert_int_equal(pol_gz_feed(&g, "", 0, sink_cb, &s), POL_GZ_END);
	assert_int_equal(pol_gz_finish(&g), POL_GZ_END);
	assert_int_equal(pol_gz_feed(&g, "\0", 1, sink_cb, &s),
	    POL_GZ_ERR_DATA);
	assert_int_equal(pol_gz_finish(&g), POL_GZ_ERR_DATA);
	pol_gz_free(&g);
	free(two);
	free(gz);
	free(b);
}

static void
test_corrupt(void **state)
{
	unsigned char *b = text(20000, 4), *gz, *zl;
	size_t gzlen, i;
	uLongf zlen = compressBound(20000);
	struct sink s = { 0 };
	int errs = 0;

	/* Not gzip at all; a zlib stream; a raw text. */
	assert_int_equal(run((const unsigned char *)"hello, world", 12, 0, 0,
	    0, 0, &s), POL_GZ_ERR_DATA);
	zl = malloc(zlen);
	assert_non_null(zl);
	assert_int_equal(compress(zl, &zlen, b, 20000), Z_OK);
	assert_int_equal(run(zl, zlen, 0, 0, 0, 0, &s), POL_GZ_ERR_DATA);
	free(zl);

	gz = gz_make(b, 20000, 6, &gzlen);
	/* A wrong CRC-32 or ISIZE in the trailer. */
	gz[gzlen - 6] ^= 1;
	assert_int_equal(run(gz, gzlen, 0, 0, 0, 0, &s), POL_GZ_ERR_DATA);
	gz[gzlen - 6] ^= 1;
	gz[gzlen - 2] ^= 1;
	assert_int_equal(run(gz, gzlen, 0, 0, 0, 0, &s), POL_GZ_ERR_DATA);
	gz[gzlen - 2] ^= 1;
	assert_int_equal(run(gz, gzlen, 0, 0, 0, 0, &s), POL_GZ_END);
	/* A flipped bit anywhere: never END with the wrong bytes. */
	for (i = 0; i < gzlen; i += 7) {
		memset(&s, 0, sizeof(s));
		s.buf = malloc(1 << 20);
		s.cap = 1 << 20;
		gz[i] ^= 0x10;
		if (run(gz, gzlen, 1 << 20, 0, 0, 0, &s) == POL_GZ_END) {
			/* Only header bits zlib ignores (MTIME, XFL, OS). */
			assert_true(i >= 4 && i <= 9);
			assert_int_equal(s.len, 20000);
			assert_memory_equal(s.buf, b, 20000);
		} else
			errs++;
		gz[i] ^= 0x10;
		free(s.buf);
	}
	assert_true(errs > 0);
	free(gz);
	free(b);
}

static void
test_max_out(void **state)
{
	unsigned char *b = text(100000, 6), *gz;
	size_t gzlen;
	struct sink s = { 0 };

	gz = gz_make(b, 100000, 6, &gzlen);
	assert_int_equal(run(gz, gzlen, 100000, 0, 0, 0, &s), POL_GZ_END);
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(gz, gzlen, 99999, 0, 0, 0, &s), POL_GZ_ERR_LIMIT);
	assert_true(s.len <= 99999);
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(gz, gzlen, 99999, 0, 1, 0, &s), POL_GZ_ERR_LIMIT);
	assert_true(s.len <= 99999);
	free(gz);
	free(b);
}

static void
test_bomb(void **state)
{
	size_t n = 64u << 20, gzlen;
	unsigned char *zero = calloc(1, n), *gz;
	long steps[] = { 0, 1, 4096 };
	struct sink s;
	size_t i;

	/* 64 MiB of zeros in about 64 KiB: a ratio near 1000. */
	assert_non_null(zero);
	gz = gz_make(zero, n, 9, &gzlen);
	free(zero);
	assert_true(gzlen < n / 500);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		memset(&s, 0, sizeof(s));
		assert_int_equal(run(gz, gzlen, 0, POL_DEF_RATIO, steps[i], 0,
		    &s), POL_GZ_ERR_RATIO);
		assert_true(s.len < (4u << 20));
	}
	/* Without a ratio cap it inflates whole; an output cap stops it. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(gz, gzlen, 0, 0, 0, 0, &s), POL_GZ_END);
	assert_true(s.len == n);
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(gz, gzlen, 8u << 20, 0, 0, 0, &s),
	    POL_GZ_ERR_LIMIT);
	assert_true(s.len <= (8u << 20));
	free(gz);
}

static void
test_ratio_ok(void **state)
{
	unsigned char *b = text(3u << 20, 8), *gz;
	size_t gzlen;
	struct sink s = { 0 };

	/* Ordinary code compresses 3-10x: well under the default cap. */
	gz = gz_make(b, 3u << 20, 9, &gzlen);
	assert_int_equal(run(gz, gzlen, 0, POL_DEF_RATIO, 0, 0, &s),
	    POL_GZ_END);
	assert_int_equal(s.len, 3u << 20);
	/* A tight cap refuses it once past POL_GZ_RATIO_MIN_OUT. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(run(gz, gzlen, 0, 2, 0, 0, &s), POL_GZ_ERR_RATIO);
	assert_true(s.len <= POL_GZ_RATIO_MIN_OUT + POL_GZ_CHUNK);
	free(gz);
	free(b);
}

static void
test_abort_internal(void **state)
{
	unsigned char *b = text(1u << 20, 9), *gz;
	size_t gzlen;
	struct sink s = { 0 };
	struct pol_gz g;

	gz = gz_make(b, 1u << 20, 6, &gzlen);
	s.abort_after = 3;
	assert_int_equal(pol_gz_init(&g, 0, 0), 0);
	assert_int_equal(pol_gz_feed(&g, gz, gzlen, sink_cb, &s),
	    POL_GZ_ABORT);
	assert_int_equal(s.calls, 3);
	assert_int_equal(pol_gz_feed(&g, gz, gzlen, sink_cb, &s),
	    POL_GZ_ABORT);
	assert_int_equal(pol_gz_finish(&g), POL_GZ_ABORT);
	pol_gz_free(&g);
	pol_gz_free(&g);

	/* A struct that was never initialized (zeroed). */
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_gz_feed(&g, gz, gzlen, sink_cb, &s),
	    POL_GZ_ERR_INTERNAL);
	pol_gz_free(&g);
	pol_gz_free(NULL);
	free(gz);
	free(b);
}

static void
test_ratio_split(void **state)
{
	size_t n = 3u << 20, gzlen, i;
	unsigned char *b = malloc(n), *gz;
	long steps[] = { 1, 7, 4096, 65536, -1 };
	enum pol_gz_rc rc0;
	struct sink s;
	unsigned seed = 1;
	int density, k, refused = 0;

	/*
	 * Near the default cap (ratios about 90 and 115), the verdict is the
	 * same for every split: the ratio is judged at fixed output offsets.
	 * (Within a few input bytes of the cap, an engine that reads ahead,
	 * ISA-L, may judge splits differently; zlib does not.)
	 */
	assert_non_null(b);
	for (density = 400; density <= 560; density += 32) {
		for (i = 0; i < n; i++)
			b[i] = rand_r(&seed) % density == 0 ?
			    (unsigned char)rand_r(&seed) : 'a';
		gz = gz_make(b, n, 6, &gzlen);
		memset(&s, 0, sizeof(s));
		rc0 = run(gz, gzlen, 0, POL_DEF_RATIO, 0, 0, &s);
		assert_true(rc0 == POL_GZ_END || rc0 == POL_GZ_ERR_RATIO);
		refused += rc0 == POL_GZ_ERR_RATIO;
		for (k = 0; k < (int)(sizeof(steps) / sizeof(steps[0])); k++) {
			memset(&s, 0, sizeof(s));
			assert_int_equal(run(gz, gzlen, 0, POL_DEF_RATIO,
			    steps[k], (unsigned)density, &s), rc0);
		}
		free(gz);
	}
	/* The range covers both verdicts. */
	assert_true(refused > 0 && refused < 6);
	free(b);
}

/* member() : a gzip member of data with the header flags and fields. */
static unsigned char *
member(const unsigned char *data, size_t len, unsigned char flg,
    int bad_hcrc, unsigned char method, size_t *outlen)
{
	unsigned char *o = malloc(len * 2 + 128), *h;
	z_stream z;
	size_t n = 0;
	uLong crc;

	assert_non_null(o);
	memcpy(o, "\x1f\x8b", 2);
	o[2] = method;
	o[3] = flg;
	memset(o + 4, 0, 4);
	o[8] = 0;
	o[9] = 3;
	n = 10;
	if (flg & 0x04) {		/* FEXTRA */
		memcpy(o + n, "\x04\x00" "ab\x00\x00", 6);
		n += 6;
	}
	if (flg & 0x08) {		/* FNAME */
		memcpy(o + n, "pkg.tar", 8);
		n += 8;
	}
	if (flg & 0x10) {		/* FCOMMENT */
		memcpy(o + n, "note", 5);
		n += 5;
	}
	if (flg & 0x02) {		/* FHCRC */
		crc = crc32(0, o, (uInt)n) ^ (bad_hcrc ? 1 : 0);
		o[n++] = (unsigned char)crc;
		o[n++] = (unsigned char)(crc >> 8);
	}
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = o + n;
	z.avail_out = (uInt)(len * 2 + 100 - n);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	n += z.total_out;
	deflateEnd(&z);
	crc = crc32(0, data, (uInt)len);
	h = o + n;
	h[0] = (unsigned char)crc;
	h[1] = (unsigned char)(crc >> 8);
	h[2] = (unsigned char)(crc >> 16);
	h[3] = (unsigned char)(crc >> 24);
	h[4] = (unsigned char)len;
	h[5] = (unsigned char)(len >> 8);
	h[6] = (unsigned char)(len >> 16);
	h[7] = (unsigned char)(len >> 24);
	*outlen = n + 8;
	return o;
}

static void
test_headers(void **state)
{
	static const struct {
		unsigned char flg;
		int bad_hcrc;
		unsigned char method;
		enum pol_gz_rc want;
	} c[] = {
		{ 0x00, 0, 8, POL_GZ_END },
		{ 0x04 | 0x08 | 0x10, 0, 8, POL_GZ_END },
		{ 0x02, 0, 8, POL_GZ_END },
		{ 0x02 | 0x08, 0, 8, POL_GZ_END },
		{ 0x02, 1, 8, POL_GZ_ERR_DATA },
		{ 0x20, 0, 8, POL_GZ_ERR_DATA },	/* reserved bits */
		{ 0x80, 0, 8, POL_GZ_ERR_DATA },
		{ 0x00, 0, 7, POL_GZ_ERR_DATA },	/* not deflate */
	};
	long steps[] = { 0, 1, 3, 9, 10, 11, -1 };
	unsigned char *b = text(20000, 12), *gz;
	struct sink s;
	size_t i, k, gzlen;

	/* Every engine agrees with zlib on header fields, for any split. */
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		gz = member(b, 20000, c[i].flg, c[i].bad_hcrc, c[i].method,
		    &gzlen);
		for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			memset(&s, 0, sizeof(s));
			s.buf = malloc(20001);
			s.cap = 20000;
			if (run(gz, gzlen, 0, 0, steps[k], 1, &s) != c[i].want)
				fail_msg("flags %#x step %ld: rc != %d",
				    c[i].flg, steps[k], c[i].want);
			if (c[i].want == POL_GZ_END) {
				assert_int_equal(s.len, 20000);
				assert_memory_equal(s.buf, b, 20000);
			}
			free(s.buf);
		}
		free(gz);
	}
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_max_out),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_ratio_ok),
		cmocka_unit_test(test_ratio_split),
		cmocka_unit_test(test_abort_internal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
