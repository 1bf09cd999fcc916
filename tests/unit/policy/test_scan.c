/*
 * tests/unit/policy/test_scan.c: the per-file scanner glue (scan.c) as
 * the engine calls it.
 *
 * Rules are built by hand (as load.c would) and their secrets database
 * compiled here.  Covers: findings carry the file path, both scanners run
 * per the rule (secrets, custom patterns, sourcemaps on and off), files
 * follow each other cleanly, chunked feeds equal whole feeds, and misuse
 * is an error, not a crash.  Secret-like samples are generated at run
 * time.
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
#include "scan-int.h"

#define MAXF	32

struct found {
	size_t	 n;
	char	 file[MAXF][128];
	char	 rule[MAXF][64];
	char	 text[MAXF][POL_TEXT_MAX];
	int64_t	 off[MAXF];
};

static void
collect(void *arg, const char *file, const struct pol_finding *f)
{
	struct found *fo = arg;

	if (fo->n == MAXF)
		return;
	snprintf(fo->file[fo->n], sizeof(fo->file[0]), "%s", file);
	snprintf(fo->rule[fo->n], sizeof(fo->rule[0]), "%s", f->rule);
	snprintf(fo->text[fo->n], sizeof(fo->text[0]), "%s", f->text);
	fo->off[fo->n] = f->offset;
	fo->n++;
}

/* find() : index of the finding (file, rule), or -1. */
static int
find(const struct found *fo, const char *file, const char *rule)
{
	size_t i;

	for (i = 0; i < fo->n; i++)
		if (strcmp(fo->file[i], file) == 0 &&
		    strcmp(fo->rule[i], rule) == 0)
			return (int)i;
	return -1;
}

/* file() : one file through s in chunks of chunk bytes (0: whole). */
static void
file(struct pol_scan *s, const char *path, const char *buf, size_t len,
    size_t chunk)
{
	size_t off, n;

	assert_int_equal(pol_scan_file_begin(s, path, len), 0);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(pol_scan_file_data(s,
		    (const unsigned char *)buf + off, n), 0);
	}
	assert_int_equal(pol_scan_file_end(s), 0);
}

static void
rule_init(struct pol_rule *r, enum pol_mode secrets, enum pol_mode maps,
    struct pol_custom_secret *custom, size_t ncustom)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->secrets = secrets;
	r->sourcemaps = maps;
	r->custom = custom;
	r->ncustom = ncustom;
	if (secrets == POL_MODE_BLOCK || ncustom > 0) {
		r->secrets_db = pol_secrets_compile(custom, ncustom, err,
		    sizeof(err));
		if (r->secrets_db == NULL)
			fail_msg("compile: %s", err);
	}
}

/* Builds the sample files of a small leaky package. */
struct pkg {
	char	 npm[64];	/* the generated token */
	char	 npmrc[128];
	char	 acme[64];
	char	 cli[512];
};

static void
pkg_init(struct pkg *p)
{
	static const char set[] = "Qk3ZxT9bLm2VwR7pNc5Hy8Jd4Fg6";
	static const char map[] = "{\"version\":3,\"sources\":[\"a.ts\"],"
	    "\"sourcesContent\":[\"x\"],\"mappings\":\"AAAA\"}";
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz";
	size_t i, n = sizeof(map) - 1, o;
	uint32_t v;
	unsigned long crc;

	memcpy(p->npm, "npm_", 4);
	for (i = 0; i < 30; i++)
		p->npm[4 + i] = set[(i * 5 + 1) % (sizeof(set) - 1)];
	/* npm's token format ends in the CRC32 of the 30 random bytes. */
	crc = crc32(0L, (const Bytef *)p->npm + 4, 30);
	for (i = 6; i-- > 0; crc /= 62)
		p->npm[34 + i] = b62[crc % 62];
	p->npm[40] = '\0';
	snprintf(p->npmrc, sizeof(p->npmrc),
	    "//registry.npmjs.org/:_authToken=%s\n", p->npm);
	memcpy(p->acme, "acme_", 5);
	for (i = 0; i < 32; i++)
		p->acme[5 + i] = "abcdefghij0123456789"[(i * 3) % 20];
	p->acme[37] = '\0';
	o = (size_t)snprintf(p->cli, sizeof(p->cli), "#!/usr/bin/env node\n"
	    "console.log(1);\n//# sourceMappingURL=data:application/json;"
	    "base64,");
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)(unsigned char)map[i] << 16 |
		    (uint32_t)(unsigned char)map[i + 1] << 8 |
		    (unsigned char)map[i + 2];
		p->cli[o++] = al[v >> 18];
		p->cli[o++] = al[(v >> 12) & 63];
		p->cli[o++] = al[(v >> 6) & 63];
		p->cli[o++] = al[v & 63];
	}
	if (n - i > 0) {
		v = (uint32_t)(unsigned char)map[i] << 16;
		if (n - i == 2)
			v |= (uint32_t)(unsigned char)map[i + 1] << 8;
		p->cli[o++] = al[v >> 18];
		p->cli[o++] = al[(v >> 12) & 63];
		p->cli[o++] = n - i == 2 ? al[(v >> 6) & 63] : '=';
		p->cli[o++] = '=';
	}
	p->cli[o++] = '\n';
	p->cli[o] = '\0';
}

/* Runs the package through s; chunk as in file(). */
static void
pkg_scan(struct pol_scan *s, const struct pkg *p, size_t chunk)
{
	char code[128];

	file(s, "package.json", "{\"name\":\"x\",\"version\":\"1.0.0\"}", 31,
	    chunk);
	file(s, "config/.npmrc", p->npmrc, strlen(p->npmrc), chunk);
	file(s, "dist/cli.js", p->cli, strlen(p->cli), chunk);
	file(s, "dist/cli.js.map", "{}", 2, chunk);
	snprintf(code, sizeof(code), "const k = \"%s\";\n", p->acme);
	file(s, "lib/acme.js", code, strlen(code), chunk);
	file(s, "README.md", "# x\n", 4, chunk);
}

static void
test_all_on(void **state)
{
	struct pol_custom_secret c[] = { { "acme-token", "acme_[a-z0-9]{32}" } };
	static const size_t chunks[] = { 0, 1, 7, 4096 };
	struct pol_rule r;
	struct pol_scan *s;
	struct found fo, whole;
	struct pkg p;
	size_t i, k;

	(void)state;
	pkg_init(&p);
	rule_init(&r, POL_MODE_BLOCK, POL_MODE_BLOCK, c, 1);
	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		memset(&fo, 0, sizeof(fo));
		s = pol_scan_new(&r, collect, &fo);
		assert_non_null(s);
		pkg_scan(s, &p, chunks[k]);
		pol_scan_free(s);
		assert_true(find(&fo, "config/.npmrc", "secret.npm-token") >= 0);
		assert_true(find(&fo, "config/.npmrc",
		    "secret.npmrc-auth-token") >= 0);
		assert_true(find(&fo, "dist/cli.js", "sourcemap.inline") >= 0);
		assert_true(find(&fo, "dist/cli.js",
		    "sourcemap.sources-content") >= 0);
		assert_true(find(&fo, "dist/cli.js.map", "sourcemap.file") >= 0);
		assert_true(find(&fo, "lib/acme.js", "secret.acme-token") >= 0);
		assert_int_equal(fo.n, 6);
		for (i = 0; i < fo.n; i++) {
			assert_null(strstr(fo.text[i], p.npm + 4));
			assert_null(strstr(fo.text[i], p.acme + 5));
		}
		if (k == 0)
			whole = fo;
		else
			for (i = 0; i < whole.n; i++)
				assert_int_equal(fo.off[find(&fo, whole.file[i],
				    whole.rule[i])], whole.off[i]);
	}
	pol_secrets_free(r.secrets_db);
}

static void
test_modes(void **state)
{
	struct pol_custom_secret c[] = { { "acme-token", "acme_[a-z0-9]{32}" } };
	struct pol_rule r;
	struct pol_scan *s;
	struct found fo;
	struct pkg p;

	(void)state;
	pkg_init(&p);

	/* secrets: allow, custom patterns still on; sourcemaps: allow. */
	rule_init(&r, POL_MODE_ALLOW, POL_MODE_ALLOW, c, 1);
	memset(&fo, 0, sizeof(fo));
	s = pol_scan_new(&r, collect, &fo);
	assert_non_null(s);
	pkg_scan(s, &p, 7);
	pol_scan_free(s);
	assert_int_equal(fo.n, 1);
	assert_string_equal(fo.rule[0], "secret.acme-token");
	assert_string_equal(fo.file[0], "lib/acme.js");
	pol_secrets_free(r.secrets_db);

	/* No detectors at all, source maps only. */
	rule_init(&r, POL_MODE_ALLOW, POL_MODE_BLOCK, NULL, 0);
	assert_null(r.secrets_db);
	memset(&fo, 0, sizeof(fo));
	s = pol_scan_new(&r, collect, &fo);
	assert_non_null(s);
	pkg_scan(s, &p, 0);
	pol_scan_free(s);
	assert_int_equal(fo.n, 3);
	assert_true(find(&fo, "dist/cli.js.map", "sourcemap.file") >= 0);

	/* Secrets only. */
	rule_init(&r, POL_MODE_BLOCK, POL_MODE_ALLOW, NULL, 0);
	memset(&fo, 0, sizeof(fo));
	s = pol_scan_new(&r, collect, &fo);
	assert_non_null(s);
	pkg_scan(s, &p, 4096);
	pol_scan_free(s);
	assert_int_equal(fo.n, 2);
	assert_true(find(&fo, "config/.npmrc", "secret.npm-token") >= 0);
	pol_secrets_free(r.secrets_db);

	/* Everything off: nothing to do, nothing found. */
	rule_init(&r, POL_MODE_ALLOW, POL_MODE_ALLOW, NULL, 0);
	memset(&fo, 0, sizeof(fo));
	s = pol_scan_new(&r, collect, &fo);
	assert_non_null(s);
	pkg_scan(s, &p, 0);
	pol_scan_free(s);
	assert_int_equal(fo.n, 0);
}

static void
test_misuse(void **state)
{
	struct pol_rule r;
	struct pol_scan *s;
	struct found fo;
	char longpath[POL_TAR_PATH_MAX + 100];

	(void)state;
	rule_init(&r, POL_MODE_BLOCK, POL_MODE_BLOCK, NULL, 0);
	assert_null(pol_scan_new(NULL, collect, &fo));
	assert_null(pol_scan_new(&r, NULL, &fo));
	memset(&fo, 0, sizeof(fo));
	s = pol_scan_new(&r, collect, &fo);
	assert_non_null(s);
	/* Data or end outside a file. */
	assert_int_equal(pol_scan_file_data(s, (const unsigned char *)"x", 1),
	    -1);
	assert_int_equal(pol_scan_file_end(s), -1);
	/* A begin without an end ends the previous file first. */
	assert_int_equal(pol_scan_file_begin(s, "a.map", 0), 0);
	assert_int_equal(pol_scan_file_begin(s, "b.js", 0), 0);
	assert_int_equal(pol_scan_file_data(s, NULL, 0), 0);
	assert_int_equal(pol_scan_file_end(s), 0);
	assert_int_equal(fo.n, 1);
	assert_string_equal(fo.file[0], "a.map");
	/* Over-long paths are truncated, not overflowed. */
	memset(longpath, 'a', sizeof(longpath) - 5);
	memcpy(longpath + sizeof(longpath) - 5, ".map", 5);
	file(s, longpath, "", 0, 0);
	pol_scan_free(s);
	pol_scan_free(NULL);
	pol_secrets_free(r.secrets_db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_on),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
