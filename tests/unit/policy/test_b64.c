/*
 * tests/unit/policy/test_b64.c: unit tests of the streaming base64
 * decoder (policy/b64.c), through policy-int.h.
 *
 * Reference encodings come from libcrypto's EVP_EncodeBlock; every input
 * is decoded in one call and again in 1-byte and random splits.  Depends
 * on cmocka, libcrypto and libpolicy only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "policy-int.h"

/*
 * decode() : decodes in with splits of step bytes (0: one call, -1:
 * random from seed) into out (room for len + 3).  Returns 0 on success,
 * -1 if decode or finish failed; *outlen gets the bytes decoded and
 * *consumed the input consumed.
 */
static int
decode(enum pol_b64_mode mode, const char *in, size_t len, long step,
    unsigned seed, unsigned char *out, size_t *outlen, size_t *consumed,
    struct pol_b64 *bp)
{
	struct pol_b64 b;
	size_t off = 0, n, ol, tot = 0;
	ssize_t r;
	int rc = 0;

	pol_b64_init(&b, mode);
	while (off < len) {
		if (step == 0)
			n = len - off;
		else if (step < 0)
			n = 1 + (size_t)(rand_r(&seed) % 13);
		else
			n = (size_t)step;
		if (n > len - off)
			n = len - off;
		r = pol_b64_decode(&b, in + off, n, out + tot, &ol);
		if (r < 0) {
			rc = -1;
			break;
		}
		assert_true(ol <= (n / 4 + 1) * 3);
		tot += ol;
		off += (size_t)r;
		if ((size_t)r < n) {
			assert_int_equal(b.stopped, 1);
			/* Nothing more is consumed after the terminator. */
			assert_int_equal(pol_b64_decode(&b, in + off,
			    len - off, out + tot, &ol), 0);
			assert_int_equal(ol, 0);
			break;
		}
	}
	if (rc == 0) {
		rc = pol_b64_finish(&b, out + tot, &ol);
		if (rc == 0)
			tot += ol;
	}
	*outlen = tot;
	*consumed = off;
	if (bp != NULL)
		*bp = b;
	return rc;
}

/* check() : every split agrees; returns the rc, output in out/outlen. */
static int
check(enum pol_b64_mode mode, const char *in, size_t len, unsigned char *out,
    size_t *outlen, size_t *consumed)
{
	unsigned char *o2 = malloc(len + 4);
	long steps[] = { 1, 2, 3, 4, 5, 7, -1 };
	size_t i, ol2, c2;
	unsigned seed;
	int rc, rc2;

	assert_non_null(o2);
	rc = decode(mode, in, len, 0, 0, out, outlen, consumed, NULL);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (seed = 1; seed < (steps[i] < 0 ? 10u : 2u); seed++) {
			rc2 = decode(mode, in, len, steps[i], seed, o2, &ol2,
			    &c2, NULL);
			assert_int_equal(rc, rc2);
			if (rc == 0) {
				assert_int_equal(*outlen, ol2);
				assert_memory_equal(out, o2, ol2);
				assert_int_equal(*consumed, c2);
			}
		}
	}
	free(o2);
	return rc;
}

static void
expect_ok(enum pol_b64_mode mode, const char *in, const char *want,
    size_t wantlen)
{
	unsigned char out[256];
	size_t ol, c;

	assert_int_equal(check(mode, in, strlen(in), out, &ol, &c), 0);
	assert_int_equal(ol, wantlen);
	assert_memory_equal(out, want, wantlen);
}

static void
expect_fail(const char *in)
{
	unsigned char out[256];
	size_t ol, c;

	if (check(POL_B64_STRICT, in, strlen(in), out, &ol, &c) != -1)
		fail_msg("\"%s\" decoded", in);
}

static void
test_vectors(void **state)
{
	/* RFC 4648 section 10, padded and unpadded. */
	expect_ok(POL_B64_STRICT, "", "", 0);
	expect_ok(POL_B64_STRICT, "Zg==", "f", 1);
	expect_ok(POL_B64_STRICT, "Zm8=", "fo", 2);
	expect_ok(POL_B64_STRICT, "Zm9v", "foo", 3);
	expect_ok(POL_B64_STRICT, "Zm9vYg==", "foob", 4);
	expect_ok(POL_B64_STRICT, "Zm9vYmE=", "fooba", 5);
	expect_ok(POL_B64_STRICT, "Zm9vYmFy", "foobar", 6);
	expect_ok(POL_B64_STRICT, "Zg", "f", 1);
	expect_ok(POL_B64_STRICT, "Zm8", "fo", 2);
	expect_ok(POL_B64_STRICT, "Zm9vYmE", "fooba", 5);
	expect_ok(POL_B64_STRICT, "+/+/", "\xfb\xff\xbf", 3);
	expect_ok(POL_B64_STRICT, "AAAA", "\0\0\0", 3);
}

static void
test_invalid(void **state)
{
	static const char *bad[] = {
		"Z", "Zm9vY", "Zg=", "Z===", "=", "==", "Zm9v=", "Zg==Zg==",
		"Zg==A", "Zm8==", "Zg===", "Zm9v Zm9v", "Zm9v\n", "Zm-v",
		"Zm_v", "Zm9v.", "\xff\xff\xff\xff", "Zm9vYmFyZm9vYmFyZm9v*mFy",
		"Zm=v",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i]);
}

static void
test_sticky_error(void **state)
{
	struct pol_b64 b;
	unsigned char out[16];
	size_t ol;

	pol_b64_init(&b, POL_B64_STRICT);
	assert_int_equal(pol_b64_decode(&b, "Zm9v", 4, out, &ol), 4);
	assert_int_equal(ol, 3);
	assert_int_equal(pol_b64_decode(&b, "Z!", 2, out, &ol), -1);
	assert_int_equal(pol_b64_decode(&b, "Zm9v", 4, out, &ol), -1);
	assert_int_equal(pol_b64_finish(&b, out, &ol), -1);
	assert_int_equal(ol, 0);
}

static void
test_stop_mode(void **state)
{
	unsigned char out[64];
	size_t ol, c;

	/* A data: URL inside JS ends at the first non-alphabet byte. */
	assert_int_equal(check(POL_B64_STOP, "Zm9vYmE=\n//x", 12, out, &ol,
	    &c), 0);
	assert_int_equal(c, 8);
	assert_int_equal(ol, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(check(POL_B64_STOP, "Zm9vYmE')", 9, out, &ol, &c),
	    0);
	assert_int_equal(c, 7);
	assert_int_equal(ol, 5);
	assert_int_equal(check(POL_B64_STOP, "Zm9v", 4, out, &ol, &c), 0);
	assert_int_equal(c, 4);
	assert_int_equal(ol, 3);
	assert_int_equal(check(POL_B64_STOP, ")", 1, out, &ol, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(ol, 0);
	/* Bad tails and bad padding still fail. */
	assert_int_equal(check(POL_B64_STOP, "Zm9vY\"", 6, out, &ol, &c), -1);
	assert_int_equal(check(POL_B64_STOP, "Zg=\"", 4, out, &ol, &c), -1);
	assert_int_equal(check(POL_B64_STOP, "Zg==Zg==", 8, out, &ol, &c),
	    -1);
	/* Whitespace is a terminator, not skipped. */
	assert_int_equal(check(POL_B64_STOP, "Zm9v Zm9v", 9, out, &ol, &c),
	    0);
	assert_int_equal(c, 4);
}

static void
test_random_roundtrip(void **state)
{
	unsigned char *raw, *out;
	char *enc;
	size_t n, ol, c, el;
	unsigned seed = 7;
	int i;

	raw = malloc(70000);
	enc = malloc(70000 / 3 * 4 + 8);
	out = malloc(70000 + 8);
	assert_non_null(raw);
	assert_non_null(enc);
	assert_non_null(out);
	for (i = 0; i < 200; i++) {
		n = (size_t)rand_r(&seed) % (i < 150 ? 64 : 70000);
		for (c = 0; c < n; c++)
			raw[c] = (unsigned char)rand_r(&seed);
		el = (size_t)EVP_EncodeBlock((unsigned char *)enc, raw,
		    (int)n);
		assert_int_equal(check(POL_B64_STRICT, enc, el, out, &ol, &c),
		    0);
		assert_int_equal(ol, n);
		assert_memory_equal(out, raw, n);
		/* Unpadded. */
		while (el > 0 && enc[el - 1] == '=')
			el--;
		assert_int_equal(check(POL_B64_STRICT, enc, el, out, &ol, &c),
		    0);
		assert_int_equal(ol, n);
		assert_memory_equal(out, raw, n);
		/* A bad byte anywhere is an error. */
		if (el > 0) {
			enc[(size_t)rand_r(&seed) % el] = '-';
			assert_int_equal(check(POL_B64_STRICT, enc, el, out,
			    &ol, &c), -1);
		}
	}
	free(raw);
	free(enc);
	free(out);
}

static void
test_big_stop(void **state)
{
	size_t n = 1u << 20, i, ol, c;
	char *enc = malloc(n + 1);
	unsigned char *out = malloc(n);

	assert_non_null(enc);
	assert_non_null(out);
	for (i = 0; i < n; i++)
		enc[i] = "AbCd+/90"[i % 8];
	/* n - 3 characters: a 1-character tail, invalid. */
	enc[n - 3] = '"';
	assert_int_equal(decode(POL_B64_STOP, enc, n, 0, 0, out, &ol, &c,
	    NULL), -1);
	enc[n - 4] = '"';
	assert_int_equal(decode(POL_B64_STOP, enc, n, 0, 0, out, &ol, &c,
	    NULL), 0);
	assert_int_equal(c, n - 4);
	assert_int_equal(ol, (n - 4) / 4 * 3);
	free(enc);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_stop_mode),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_big_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
