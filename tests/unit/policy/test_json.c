/*
 * tests/unit/policy/test_json.c: unit tests of the streaming JSON scanner
 * (policy/json.c), through policy-int.h.
 *
 * Each JSON text is scanned in one feed and again in 1-byte and random
 * splits; the events are recorded as a string (string chunks joined, so
 * chunk boundaries do not matter) and must be equal.  Depends on cmocka
 * and libpolicy only.
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

struct rec {
	char	*buf;
	size_t	 len, cap;
	size_t	 chunks;
	int	 stop_on_key;	/* 1: return 1 on key "stop"; -1: return -1 */
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
rec_cb(void *arg, enum pol_json_ev ev, const char *s, size_t len, int depth)
{
	struct rec *r = arg;
	char t[64];

	switch (ev) {
	case POL_JSON_OBJ_BEGIN:
		snprintf(t, sizeof(t), "{%d", depth);
		break;
	case POL_JSON_OBJ_END:
		snprintf(t, sizeof(t), "}%d", depth);
		break;
	case POL_JSON_ARR_BEGIN:
		snprintf(t, sizeof(t), "[%d", depth);
		break;
	case POL_JSON_ARR_END:
		snprintf(t, sizeof(t), "]%d", depth);
		break;
	case POL_JSON_KEY:
		snprintf(t, sizeof(t), " K%d:", depth);
		rec_add(r, t, strlen(t));
		rec_add(r, s, len);
		if (r->stop_on_key && len == 4 && memcmp(s, "stop", 4) == 0)
			return r->stop_on_key;
		return 0;
	case POL_JSON_STR_BEGIN:
		snprintf(t, sizeof(t), " S%d:", depth);
		break;
	case POL_JSON_STR_CHUNK:
		assert_true(len > 0);
		r->chunks++;
		rec_add(r, s, len);
		return 0;
	case POL_JSON_STR_END:
		snprintf(t, sizeof(t), "/S%d", depth);
		break;
	case POL_JSON_NUMBER:
		snprintf(t, sizeof(t), " N%d:", depth);
		rec_add(r, t, strlen(t));
		rec_add(r, s, len);
		return 0;
	case POL_JSON_TRUE:
		snprintf(t, sizeof(t), " T%d", depth);
		break;
	case POL_JSON_FALSE:
		snprintf(t, sizeof(t), " F%d", depth);
		break;
	case POL_JSON_NULL:
		snprintf(t, sizeof(t), " Z%d", depth);
		break;
	default:
		fail_msg("unknown event %d", ev);
	}
	rec_add(r, t, strlen(t));
	return 0;
}

/*
 * run() : scans in with feeds of the sizes given by step (0: one feed;
 * -1: random sizes from seed).  Returns the final rc (feed rc, or finish
 * rc when every feed was OK); the events land in r.
 */
static enum pol_json_rc
run(const char *in, size_t len, int max_depth, long step, unsigned seed,
    struct rec *r, struct pol_json *jp)
{
	struct pol_json j;
	enum pol_json_rc rc = POL_JSON_OK;
	size_t off = 0, n;

	pol_json_init(&j, max_depth, rec_cb, r);
	while (off < len) {
		if (step == 0)
			n = len - off;
		else if (step < 0)
			n = 1 + (size_t)(rand_r(&seed) % 17);
		else
			n = (size_t)step;
		if (n > len - off)
			n = len - off;
		rc = pol_json_feed(&j, in + off, n);
		off += n;
		if (rc != POL_JSON_OK)
			break;
	}
	if (rc == POL_JSON_OK)
		rc = pol_json_finish(&j);
	if (jp != NULL)
		*jp = j;
	return rc;
}

/* check_splits() : whole, 1-byte and random feeds agree; returns rc. */
static enum pol_json_rc
check_splits(const char *in, size_t len, int max_depth, char **events)
{
	struct rec whole = { 0 }, r;
	struct pol_json jw, js;
	enum pol_json_rc rc, rc2;
	long steps[] = { 1, 2, 3, 7, -1 };
	unsigned seed;
	size_t i;

	rc = run(in, len, max_depth, 0, 0, &whole, &jw);
	rec_add(&whole, "", 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		for (seed = 1; seed < (steps[i] < 0 ? 20u : 2u); seed++) {
			memset(&r, 0, sizeof(r));
			rc2 = run(in, len, max_depth, steps[i], seed, &r, &js);
			rec_add(&r, "", 0);
			assert_int_equal(rc, rc2);
			assert_string_equal(whole.buf, r.buf);
			if (rc == POL_JSON_ERR_SYNTAX ||
			    rc == POL_JSON_ERR_LIMIT) {
				assert_non_null(js.err);
				assert_string_equal(jw.err, js.err);
				assert_true(jw.offset == js.offset);
			}
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
expect_events(const char *in, const char *want)
{
	char *ev;

	assert_int_equal(check_splits(in, strlen(in), 0, &ev), POL_JSON_OK);
	assert_string_equal(ev, want);
	free(ev);
}

static void
expect_rc(const char *in, enum pol_json_rc want)
{
	enum pol_json_rc rc;

	rc = check_splits(in, strlen(in), 0, NULL);
	if (rc != want)
		fail_msg("%s: rc %d, want %d", in, rc, want);
}

static void
test_valid(void **state)
{
	expect_events("{}", "{0}0");
	expect_events(" [ ] ", "[0]0");
	expect_events("\"x\"", " S0:x/S0");
	expect_events("0", " N0:0");
	expect_events("-12.5e+3", " N0:-12.5e+3");
	expect_events("true", " T0");
	expect_events(" null\n", " Z0");
	expect_events("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
	    "{0 K1:a N1:1 K1:b[1 T2 F2 Z2]1 K1:c{1 K2:d S2:e/S2}1}0");
	expect_events("[1,-0,0.5,1E5,2e-3,[]]",
	    "[0 N1:1 N1:-0 N1:0.5 N1:1E5 N1:2e-3[1]1]0");
	expect_events("\t{ \"k\" :\r\n \"v\" }\n\n", "{0 K1:k S1:v/S1}0");
	expect_events("\xef\xbb\xbf{}", "{0}0");
	expect_events("\"\"", " S0:/S0");
	expect_events("{\"\":\"\"}", "{0 K1: S1:/S1}0");
	expect_events("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
	    " S0:a\"b\\c/d\b\f\n\r\t/S0");
	expect_events("\"\\u0041\\u00e9\\u20AC\"", " S0:A\xc3\xa9\xe2\x82\xac/S0");
	expect_events("\"\\ud83d\\ude00\"", " S0:\xf0\x9f\x98\x80/S0");
	expect_events("{\"\\u006b\\ud83d\\ude00\":0}",
	    "{0 K1:k\xf0\x9f\x98\x80 N1:0}0");
	expect_events("\"caf\xc3\xa9 \x7f\"", " S0:caf\xc3\xa9 \x7f/S0");
}

static void
test_nul_escape(void **state)
{
	struct rec r = { 0 };

	assert_int_equal(run("\"a\\u0000b\"", 10, 0, 0, 0, &r, NULL),
	    POL_JSON_OK);
	assert_int_equal(r.len, 10);
	assert_memory_equal(r.buf, " S0:a\0b/S0", 10);
	free(r.buf);
}

static void
test_syntax_errors(void **state)
{
	static const char *bad[] = {
		"", " ", "\xef\xbb", "\xef\xbb\xbe{}", "{", "[", "]", "}",
		"[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}",
		"{1:2}", "{'a':1}", "[1 2]", "{\"a\":1 \"b\":2}", "[}", "{]",
		"01", "-", "-a", "1.", "1.e5", ".5", "+1", "1e", "1e+", "0x10",
		"-01", "1.5.", "NaN", "Infinity", "tru", "truex", "nul",
		"True", "\"abc", "\"a\nb\"", "\"a\tb\"", "\"\x01\"", "\"\\x\"",
		"\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\ud800x\"",
		"\"\\ud800\\n\"", "\"\\ud800\\u0041\"", "\"\\udc00\"",
		"{} {}", "1 2", "[] x", "\"a\" \"b\"", "{\"a\":1}}", "[1]]",
		"\"\\", "[\"a\"", "{\"a\":[1,{\"b\":\"c\"]}}",
		"/* c */ 1", "[1,2] //",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_rc(bad[i], POL_JSON_ERR_SYNTAX);
	/* The NUL-only and embedded-NUL cases need explicit lengths. */
	assert_int_equal(check_splits("\"a\0b\"", 5, 0, NULL),
	    POL_JSON_ERR_SYNTAX);
	assert_int_equal(check_splits("[1]\0", 4, 0, NULL),
	    POL_JSON_ERR_SYNTAX);
}

static void
test_error_detail(void **state)
{
	struct rec r = { 0 };
	struct pol_json j;

	assert_int_equal(run("{\"a\":[1,2,x]}", 13, 0, 1, 0, &r, &j),
	    POL_JSON_ERR_SYNTAX);
	assert_non_null(j.err);
	assert_true(j.offset == 10);
	free(r.buf);
	memset(&r, 0, sizeof(r));
	assert_int_equal(run("\"ab\x01\"", 5, 0, 0, 0, &r, &j),
	    POL_JSON_ERR_SYNTAX);
	assert_string_equal(j.err, "control character in string");
	assert_true(j.offset == 3);
	free(r.buf);
}

static void
test_depth(void **state)
{
	char buf[2 * (POL_JSON_DEPTH_MAX + 2) + 1];
	int i, n;

	assert_int_equal(check_splits("[[[]]]", 6, 3, NULL), POL_JSON_OK);
	assert_int_equal(check_splits("[[[[]]]]", 8, 3, NULL),
	    POL_JSON_ERR_LIMIT);
	assert_int_equal(check_splits("{\"a\":{\"b\":{}}}", 14, 3, NULL),
	    POL_JSON_OK);
	assert_int_equal(check_splits("{\"a\":{\"b\":{\"c\":[]}}}", 20, 3,
	    NULL), POL_JSON_ERR_LIMIT);
	/* The default (0) and any bigger value mean POL_JSON_DEPTH_MAX. */
	for (n = POL_JSON_DEPTH_MAX; n <= POL_JSON_DEPTH_MAX + 1; n++) {
		for (i = 0; i < n; i++) {
			buf[i] = '[';
			buf[2 * n - 1 - i] = ']';
		}
		assert_int_equal(check_splits(buf, 2 * n, 0, NULL),
		    n <= POL_JSON_DEPTH_MAX ? POL_JSON_OK :
		    POL_JSON_ERR_LIMIT);
		assert_int_equal(check_splits(buf, 2 * n, 1000, NULL),
		    n <= POL_JSON_DEPTH_MAX ? POL_JSON_OK :
		    POL_JSON_ERR_LIMIT);
	}
}

static void
test_key_cap(void **state)
{
	char buf[POL_JSON_KEY_MAX + 16];
	size_t n;

	for (n = POL_JSON_KEY_MAX; n <= POL_JSON_KEY_MAX + 1; n++) {
		buf[0] = '{';
		buf[1] = '"';
		memset(buf + 2, 'k', n);
		memcpy(buf + 2 + n, "\":1}", 4);
		assert_int_equal(check_splits(buf, n + 6, 0, NULL),
		    n <= POL_JSON_KEY_MAX ? POL_JSON_OK : POL_JSON_ERR_LIMIT);
	}
	/* An escape that crosses the cap counts by its unescaped size. */
	buf[0] = '{';
	buf[1] = '"';
	memset(buf + 2, 'k', POL_JSON_KEY_MAX - 1);
	memcpy(buf + 1 + POL_JSON_KEY_MAX, "\\u00e9\":1}", 10);
	assert_int_equal(check_splits(buf, POL_JSON_KEY_MAX + 11, 0, NULL),
	    POL_JSON_ERR_LIMIT);
}

static void
test_scalar_cap(void **state)
{
	char buf[POL_JSON_SCALAR_MAX + 8];
	size_t n;

	for (n = POL_JSON_SCALAR_MAX; n <= POL_JSON_SCALAR_MAX + 1; n++) {
		buf[0] = '[';
		memset(buf + 1, '7', n);
		buf[n + 1] = ']';
		assert_int_equal(check_splits(buf, n + 2, 0, NULL),
		    n <= POL_JSON_SCALAR_MAX ? POL_JSON_OK :
		    POL_JSON_ERR_LIMIT);
		/* Top level: the number ends at finish(). */
		assert_int_equal(check_splits(buf + 1, n, 0, NULL),
		    n <= POL_JSON_SCALAR_MAX ? POL_JSON_OK :
		    POL_JSON_ERR_LIMIT);
	}
}

static void
test_stop_abort(void **state)
{
	const char *in = "{\"a\":1,\"stop\":2,\"c\":3}";
	struct rec r = { 0 };
	struct pol_json j;

	r.stop_on_key = 1;
	pol_json_init(&j, 0, rec_cb, &r);
	assert_int_equal(pol_json_feed(&j, in, strlen(in)), POL_JSON_STOP);
	assert_string_equal(r.buf, "{0 K1:a N1:1 K1:stop");
	assert_true(j.offset == 13);
	assert_int_equal(pol_json_feed(&j, "]", 1), POL_JSON_STOP);
	assert_int_equal(pol_json_finish(&j), POL_JSON_STOP);
	free(r.buf);

	memset(&r, 0, sizeof(r));
	r.stop_on_key = -1;
	assert_int_equal(check_splits(in, strlen(in), 0, NULL), POL_JSON_OK);
	pol_json_init(&j, 0, rec_cb, &r);
	assert_int_equal(pol_json_feed(&j, in, 9), POL_JSON_OK);
	assert_int_equal(pol_json_feed(&j, in + 9, strlen(in) - 9),
	    POL_JSON_ABORT);
	assert_int_equal(pol_json_finish(&j), POL_JSON_ABORT);
	free(r.buf);
}

static void
test_long_string(void **state)
{
	size_t n = 8u << 20, i;
	char *buf = malloc(n + 2);
	struct rec r = { 0 };
	struct pol_json j;

	assert_non_null(buf);
	buf[0] = '"';
	for (i = 1; i <= n; i++)
		buf[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/"[i % 64];
	buf[n + 1] = '"';
	pol_json_init(&j, 0, rec_cb, &r);
	assert_int_equal(pol_json_feed(&j, buf, n + 2), POL_JSON_OK);
	assert_int_equal(pol_json_finish(&j), POL_JSON_OK);
	/* One plain run is one borrowed chunk. */
	assert_int_equal(r.chunks, 1);
	assert_int_equal(r.len, n + 7);
	assert_memory_equal(r.buf + 4, buf + 1, n);
	free(r.buf);

	/* Escape-heavy text is batched, not one callback per escape. */
	for (i = 1; i + 1 < n; i += 2)
		memcpy(buf + i, "\\n", 2);
	buf[i] = '"';
	memset(&r, 0, sizeof(r));
	pol_json_init(&j, 0, rec_cb, &r);
	assert_int_equal(pol_json_feed(&j, buf, i + 1), POL_JSON_OK);
	assert_int_equal(pol_json_finish(&j), POL_JSON_OK);
	assert_true(r.chunks < n / 2 / 256);
	free(r.buf);
	free(buf);
}

static void
test_random_docs(void **state)
{
	static const char *atoms[] = {
		"{", "}", "[", "]", ",", ":", "\"k\"", "\"\\u00e9\"", "1",
		"-0.5e3", "true", "null", " ", "\"\\ud83d\\ude00\"", "\"a\\nb\"",
	};
	char buf[256];
	unsigned seed = 42;
	size_t len, k;
	int i, ok = 0;

	/* Random token soups: whatever the rc, every split must agree. */
	for (i = 0; i < 3000; i++) {
		len = 0;
		k = 1 + rand_r(&seed) % 12;
		while (k-- > 0) {
			const char *a = atoms[rand_r(&seed) %
			    (sizeof(atoms) / sizeof(atoms[0]))];
			if (len + strlen(a) >= sizeof(buf))
				break;
			memcpy(buf + len, a, strlen(a));
			len += strlen(a);
		}
		if (check_splits(buf, len, 4, NULL) == POL_JSON_OK)
			ok++;
	}
	assert_true(ok > 10);
}

static void
test_utf8(void **state)
{
	static const char *bad[] = {
		"\"\x80\"", "\"\xbf\"", "\"\xc0\x80\"", "\"\xc1\xbf\"",
		"\"\xe0\x80\x80\"", "\"\xe0\x9f\xbf\"",
		"\"\xed\xa0\x80\"", "\"\xed\xbf\xbf\"",
		"\"\xf0\x80\x80\x80\"", "\"\xf0\x8f\xbf\xbf\"",
		"\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"",
		"\"\xff\"", "\"\xfe\"", "\"\xc3\"", "\"\xe2\x82\"",
		"\"\xf0\x9f\x98\"", "\"\xc3\xa9\xa9\"", "\"\xc3" "A\"",
		"\"\xe2\x82\\n\"", "{\"k\xff\":1}", "[\xc3\xa9]",
		"\xc3\xa9", "\"a\xc3",
	};
	char *buf, *ev;
	size_t i, n;

	expect_events("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
	    " S0:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/S0");
	expect_events("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
	    "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"",
	    " S0:\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
	    "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf/S0");
	expect_events("{\"\xe6\x97\xa5\xe6\x9c\xac\":\"\\u00e9\xc3\xa9\"}",
	    "{0 K1:\xe6\x97\xa5\xe6\x9c\xac S1:\xc3\xa9\xc3\xa9/S1}0");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_rc(bad[i], POL_JSON_ERR_SYNTAX);

	/* Long non-ASCII text goes through in few, big chunks. */
	n = 3 * 100000;
	buf = malloc(n + 2);
	assert_non_null(buf);
	buf[0] = '"';
	for (i = 0; i < n; i += 3)
		memcpy(buf + 1 + i, "\xe6\x97\xa5", 3);
	buf[n + 1] = '"';
	assert_int_equal(check_splits(buf, n + 2, 0, &ev), POL_JSON_OK);
	assert_int_equal(strlen(ev), n + 7);
	free(ev);
	free(buf);
}

/*
 * dup_scan() : scans in (split into step-byte feeds, 0: whole) with the
 * duplicate-key check on; returns the rc and the offending key in *key.
 */
static enum pol_json_rc
dup_scan(const char *in, size_t len, size_t step, char *key, size_t keylen)
{
	struct rec	 r = { 0 };
	struct pol_json	 j;
	enum pol_json_rc rc = POL_JSON_OK;
	size_t		 off = 0, n;

	pol_json_init(&j, 0, rec_cb, &r);
	assert_int_equal(pol_json_dupkeys(&j), 0);
	while (off < len && rc == POL_JSON_OK) {
		n = step == 0 || step > len - off ? len - off : step;
		rc = pol_json_feed(&j, in + off, n);
		off += n;
	}
	if (rc == POL_JSON_OK)
		rc = pol_json_finish(&j);
	if (key != NULL) {
		n = j.klen < keylen - 1 ? j.klen : keylen - 1;
		memcpy(key, j.key, n);
		key[n] = '\0';
	}
	pol_json_free(&j);
	pol_json_free(&j);	/* a second free is a no-op */
	free(r.buf);
	return rc;
}

static void
expect_dup(const char *in, enum pol_json_rc want, const char *key)
{
	static const size_t steps[] = { 0, 1, 3, 7 };
	char	 k[POL_JSON_KEY_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (dup_scan(in, strlen(in), steps[i], k, sizeof(k)) != want)
			fail_msg("%s: want rc %d at step %zu", in, (int)want,
			    steps[i]);
		if (key != NULL)
			assert_string_equal(k, key);
	}
}

/* Duplicate keys: refused in any object, compared unescaped. */
static void
test_dup_keys(void **state)
{
	char	*buf;
	size_t	 i, n, cap;

	(void)state;
	/* The same key in sibling and nested objects is fine. */
	expect_dup("{\"a\":{\"a\":1,\"b\":{\"a\":2}},\"b\":[{\"a\":1},"
	    "{\"a\":2}],\"c\":{\"a\":3}}", POL_JSON_OK, NULL);
	expect_dup("{\"a\":1,\"A\":2,\"a \":3,\"\":4}", POL_JSON_OK, NULL);
	expect_dup("{\"a\":1,\"a\":2}", POL_JSON_ERR_DUPKEY, "a");
	expect_dup("{\"_attachments\":{},\"\\u005fattachments\":{\"x\":1}}",
	    POL_JSON_ERR_DUPKEY, "_attachments");
	expect_dup("{\"v\":{\"1.0.0\":{},\"1.0\\u002e0\":{}}}",
	    POL_JSON_ERR_DUPKEY, "1.0.0");
	expect_dup("{\"\\u00e9\":1,\"\xc3\xa9\":2}", POL_JSON_ERR_DUPKEY,
	    "\xc3\xa9");
	expect_dup("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	    POL_JSON_ERR_DUPKEY, "\xf0\x9f\x98\x80");
	expect_dup("{\"\\/\":1,\"/\":2}", POL_JSON_ERR_DUPKEY, "/");
	/* Deep: the outer set survives the inner object. */
	expect_dup("{\"a\":{\"x\":{\"y\":{\"a\":1}}},\"b\":1,\"a\":2}",
	    POL_JSON_ERR_DUPKEY, "a");
	expect_dup("[{\"a\":1},{\"b\":1,\"b\":2}]", POL_JSON_ERR_DUPKEY, "b");

	/* Many keys in one object: the set grows; a late duplicate. */
	cap = 64 + 20 * 5000;
	buf = malloc(cap);
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "{");
	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(buf + n, cap - n, "\"k%zu\":%zu,", i, i);
	memcpy(buf + n, "\"k1234\":0}", 11);
	assert_int_equal(dup_scan(buf, strlen(buf), 0, NULL, 0),
	    POL_JSON_ERR_DUPKEY);
	memcpy(buf + n, "\"k5000\":0}", 11);
	assert_int_equal(dup_scan(buf, strlen(buf), 0, NULL, 0), POL_JSON_OK);
	free(buf);

	/* Over POL_JSON_KEYS_MAX keys held at once: refused. */
	cap = 64 + 12 * (POL_JSON_KEYS_MAX + 1);
	buf = malloc(cap);
	assert_non_null(buf);
	n = (size_t)snprintf(buf, cap, "{\"o\":{");
	for (i = 0; i < POL_JSON_KEYS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n, "\"%zx\":0,", i);
	buf[n - 1] = '}';
	memcpy(buf + n, "}", 2);
	assert_int_equal(dup_scan(buf, strlen(buf), 0, NULL, 0),
	    POL_JSON_ERR_KEYS);
	/* The same keys spread over sibling objects are fine. */
	n = (size_t)snprintf(buf, cap, "[");
	for (i = 0; i < POL_JSON_KEYS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%zx\":0",
		    i % 1000 == 0 ? (i ? "},{" : "{") : ",", i);
	memcpy(buf + n, "}]", 3);
	assert_int_equal(dup_scan(buf, strlen(buf), 0, NULL, 0), POL_JSON_OK);
	free(buf);

	/* Without pol_json_dupkeys() the scanner reports no duplicate. */
	expect_rc("{\"a\":1,\"a\":2}", POL_JSON_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_nul_escape),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_error_detail),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_key_cap),
		cmocka_unit_test(test_scalar_cap),
		cmocka_unit_test(test_stop_abort),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_random_docs),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_dup_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
