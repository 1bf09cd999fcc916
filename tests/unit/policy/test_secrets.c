/*
 * tests/unit/policy/test_secrets.c: the secret detectors (secrets.c).
 *
 * Every built-in detector gets a positive and a negative sample, built at
 * run time by concatenation so that the repository never holds a literal
 * that looks like a live token.  Each sample is scanned whole and in 1,
 * 7 and 4096-byte chunks, and the findings must be the same; the finding
 * text must never contain the secret's bytes past the literal prefix.
 * Depends on policy-int.h and scan-int.h only.
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
#include "scan-int.h"

#define MAXF	64

struct found {
	size_t	 n;
	char	 rule[MAXF][64];
	char	 text[MAXF][POL_TEXT_MAX];
	int64_t	 off[MAXF];
};

static void
collect(void *arg, const struct pol_finding *f)
{
	struct found *fo = arg;

	assert_non_null(f->rule);
	assert_true(strncmp(f->rule, "secret.", 7) == 0);
	assert_non_null(f->hint);
	if (fo->n == MAXF)
		return;
	snprintf(fo->rule[fo->n], sizeof(fo->rule[0]), "%s", f->rule);
	snprintf(fo->text[fo->n], sizeof(fo->text[0]), "%s", f->text);
	fo->off[fo->n] = f->offset;
	fo->n++;
}

/* scan() : scans buf as file path in chunks of chunk bytes (0: whole). */
static void
scan(struct pol_secrets_run *r, struct found *fo, const char *path,
    const char *buf, size_t len, size_t chunk)
{
	size_t off, n;

	memset(fo, 0, sizeof(*fo));
	assert_int_equal(pol_secrets_run_begin(r, path), 0);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(pol_secrets_run_data(r,
		    (const unsigned char *)buf + off, n), 0);
	}
	assert_int_equal(pol_secrets_run_end(r), 0);
}

static int
has_rule(const struct found *fo, const char *rule)
{
	size_t i;

	for (i = 0; i < fo->n; i++)
		if (strcmp(fo->rule[i], rule) == 0)
			return 1;
	return 0;
}

/* fill() : appends n characters cycling through set to s. */
static char *
fill(char *s, const char *set, size_t n)
{
	size_t i, m = strlen(set), len = strlen(s);

	for (i = 0; i < n; i++)
		s[len + i] = set[(i * 7 + 3) % m];
	s[len + n] = '\0';
	return s;
}

static void
test_check_regex(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(pol_secrets_check_regex("acme_[a-z0-9]{32}", err,
	    sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(pol_secrets_check_regex("acme_[a-z", err,
	    sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	/* Back-references are not Hyperscan syntax. */
	assert_int_equal(pol_secrets_check_regex("(a)\\1", err,
	    sizeof(err)), -1);
	assert_int_equal(pol_secrets_check_regex("", err, sizeof(err)), -1);
	assert_int_equal(pol_secrets_check_regex("a*", err, sizeof(err)), -1);
}

static void
test_compile(void **state)
{
	struct pol_custom_secret good[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
	};
	struct pol_custom_secret bad[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
		{ "broken-one", "x(" },
	};
	struct pol_secrets_db *db;
	char err[256];

	(void)state;
	assert_true(pol_secrets_builtin_count() >= 25);
	db = pol_secrets_compile(NULL, 0, err, sizeof(err));
	assert_non_null(db);
	pol_secrets_free(db);
	db = pol_secrets_compile(good, 1, err, sizeof(err));
	assert_non_null(db);
	pol_secrets_free(db);
	err[0] = '\0';
	db = pol_secrets_compile(bad, 2, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, "broken-one"));
	pol_secrets_free(NULL);
}

static void
test_custom_split(void **state)
{
	struct pol_custom_secret c[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	char err[256], val[64] = "acme_", buf[256];
	size_t chunks[] = { 0, 1, 7, 4096 }, i;

	(void)state;
	db = pol_secrets_compile(c, 1, err, sizeof(err));
	assert_non_null(db);
	r = pol_secrets_run_new(db, 1, collect, &fo);
	assert_non_null(r);
	fill(val, "abcdefghijklmnopqrstuvwxyz0123456789", 32);
	snprintf(buf, sizeof(buf), "const k = '%s';\n", val);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		scan(r, &fo, "lib/index.js", buf, strlen(buf), chunks[i]);
		assert_int_equal(fo.n, 1);
		assert_true(has_rule(&fo, "secret.acme-token"));
		assert_null(strstr(fo.text[0], val + 5));
		assert_int_equal(fo.off[0], 11 + 37);
	}
	/* Builtins off: custom patterns still report. */
	pol_secrets_run_free(r);
	r = pol_secrets_run_new(db, 0, collect, &fo);
	assert_non_null(r);
	scan(r, &fo, "lib/index.js", buf, strlen(buf), 7);
	assert_int_equal(fo.n, 1);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_regex),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_custom_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
