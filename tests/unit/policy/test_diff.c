/*
 * tests/unit/policy/test_diff.c: policy/diff.c, judging a release against
 * the previous version (new files, files that grew, the package's growth),
 * the file lists' caps, and the loader's diff: key with its errors.
 * Depends on policy-int.h and cmocka only.
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

struct got {
	int	 n;
	char	 rule[8][40];
	char	 file[8][128];
	int	 warn[8];
	char	 text[8][POL_TEXT_MAX];
};

static void
collect(void *arg, const char *rule, const char *file, int warn,
    const char *text)
{
	struct got	*g = arg;

	assert_true(g->n < 8);
	snprintf(g->rule[g->n], sizeof(g->rule[0]), "%s", rule);
	snprintf(g->file[g->n], sizeof(g->file[0]), "%s", file ? file : "-");
	g->warn[g->n] = warn;
	snprintf(g->text[g->n], sizeof(g->text[0]), "%s", text);
	g->n++;
}

static void
fill(struct pol_flist *l, const char *const *names, const uint64_t *sizes)
{
	size_t	 i;

	pol_flist_init(l, 1000, 1 << 20);
	for (i = 0; names[i] != NULL; i++)
		assert_int_equal(pol_flist_add(l, names[i], sizes[i]), 0);
}

static const char *const v0_names[] = {
	"package.json", "index.js", "README.md", NULL
};
static const uint64_t v0_sizes[] = { 400, 1200000, 400 };

/* The case: a 5 MB .map and 4x growth, both reasons, blocking. */
static void
test_map_and_growth(void **state)
{
	static const char *const names[] = {
		"README.md", "index.js", "cli.js.map", "package.json", NULL
	};
	static const uint64_t sizes[] = { 400, 1200000, 5000000, 400 };
	struct pol_flist prev, cur;
	struct pol_diff	 d;
	struct got	 g;

	(void)state;
	pol_diff_defaults(&d);
	d.on = 1;
	fill(&prev, v0_names, v0_sizes);
	fill(&cur, names, sizes);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1.0.0", &prev, &cur, collect,
	    &g), 2);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.rule[0], "diff.new_file_size");
	assert_string_equal(g.file[0], "cli.js.map");
	assert_int_equal(g.warn[0], 0);
	assert_string_equal(g.text[0], "new since 1.0.0: cli.js.map, 5.0 MB "
	    "(over diff.new_file_size 1.0 MB)");
	assert_string_equal(g.rule[1], "diff.growth");
	assert_int_equal(g.warn[1], 0);
	assert_string_equal(g.text[1], "grew 5.2x since 1.0.0: 1.2 MB -> "
	    "6.2 MB unpacked (over diff.max_growth 3.000x)");
	pol_flist_free(&prev);
	pol_flist_free(&cur);
}

/* A small new file: warning under warn, nothing under allow, block. */
static void
test_small_new_file(void **state)
{
	static const char *const names[] = {
		"package.json", "index.js", "README.md", "lib/x.js", NULL
	};
	static const uint64_t sizes[] = { 400, 1200000, 400, 300 };
	struct pol_flist prev, cur;
	struct pol_diff	 d;
	struct got	 g;
	int		 mode;

	(void)state;
	for (mode = POL_DIFF_ALLOW; mode <= POL_DIFF_BLOCK; mode++) {
		pol_diff_defaults(&d);
		d.on = 1;
		d.new_files = (enum pol_diff_new)mode;
		fill(&prev, v0_names, v0_sizes);
		fill(&cur, names, sizes);
		memset(&g, 0, sizeof(g));
		assert_int_equal(pol_diff_judge(&d, "1.0.1", &prev, &cur,
		    collect, &g), mode == POL_DIFF_BLOCK);
		assert_int_equal(g.n, mode == POL_DIFF_ALLOW ? 0 : 1);
		if (mode != POL_DIFF_ALLOW) {
			assert_string_equal(g.rule[0], "diff.new_file");
			assert_string_equal(g.file[0], "lib/x.js");
			assert_int_equal(g.warn[0], mode == POL_DIFF_WARN);
			assert_string_equal(g.text[0],
			    "new since 1.0.1: lib/x.js, 300 B");
		}
		pol_flist_free(&prev);
		pol_flist_free(&cur);
	}
}

/* A file that grew by more than new_file_size; shrinking is fine. */
static void
test_file_grew(void **state)
{
	static const char *const names[] = {
		"package.json", "index.js", "README.md", NULL
	};
	static const uint64_t sizes[] = { 100, 2300000, 10 };
	struct pol_flist prev, cur;
	struct pol_diff	 d;
	struct got	 g;

	(void)state;
	pol_diff_defaults(&d);
	d.on = 1;
	fill(&prev, v0_names, v0_sizes);
	fill(&cur, names, sizes);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1.0.0", &prev, &cur, collect,
	    &g), 1);
	assert_string_equal(g.rule[0], "diff.new_file_size");
	assert_string_equal(g.file[0], "index.js");
	assert_string_equal(g.text[0], "grew since 1.0.0: index.js, 1.2 MB -> "
	    "2.3 MB (over diff.new_file_size 1.0 MB)");
	pol_flist_free(&prev);
	pol_flist_free(&cur);

	/* just under the limit: 1 MiB exactly is not over */
	fill(&prev, v0_names, v0_sizes);
	{
		static const uint64_t s2[] = { 400, 1200000 + (1 << 20), 400 };

		fill(&cur, v0_names, s2);
	}
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1.0.0", &prev, &cur, collect,
	    &g), 0);
	assert_int_equal(g.n, 0);
	pol_flist_free(&prev);
	pol_flist_free(&cur);
}

/* Growth exactly at the limit passes; a fraction over does not. */
static void
test_growth_edge(void **state)
{
	static const char *const n1[] = { "a", NULL };
	static const uint64_t s0[] = { 1000 }, s3[] = { 3000 },
	    s3p[] = { 3001 }, s0b[] = { 0 };
	struct pol_flist prev, cur;
	struct pol_diff	 d;
	struct got	 g;

	(void)state;
	pol_diff_defaults(&d);
	d.on = 1;
	fill(&prev, n1, s0);
	fill(&cur, n1, s3);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1", &prev, &cur, collect, &g), 0);
	pol_flist_free(&cur);
	fill(&cur, n1, s3p);
	assert_int_equal(pol_diff_judge(&d, "1", &prev, &cur, collect, &g), 1);
	assert_string_equal(g.rule[0], "diff.growth");
	pol_flist_free(&prev);
	pol_flist_free(&cur);
	/* an empty previous package: growth is not a ratio, not judged */
	fill(&prev, n1, s0b);
	fill(&cur, n1, s3);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1", &prev, &cur, collect, &g), 0);
	pol_flist_free(&prev);
	pol_flist_free(&cur);
	/* diff off: nothing judged */
	d.on = 0;
	fill(&prev, n1, s0);
	fill(&cur, n1, s3p);
	assert_int_equal(pol_diff_judge(&d, "1", &prev, &cur, collect, &g), 0);
	pol_flist_free(&prev);
	pol_flist_free(&cur);
}

/* Caps: a list over its cap is incomplete and the judge says -1. */
static void
test_caps(void **state)
{
	struct pol_flist l, cur;
	struct pol_diff	 d;
	struct got	 g;

	(void)state;
	pol_flist_init(&l, 2, 1 << 20);
	assert_int_equal(pol_flist_add(&l, "a", 1), 0);
	assert_int_equal(pol_flist_add(&l, "b", 1), 0);
	assert_int_equal(pol_flist_add(&l, "c", 1), -1);
	assert_true(l.over);
	pol_flist_init(&cur, 10, 1 << 20);
	assert_int_equal(pol_flist_add(&cur, "a", 1), 0);
	pol_diff_defaults(&d);
	d.on = 1;
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1", &l, &cur, collect, &g), -1);
	assert_int_equal(g.n, 0);
	pol_flist_free(&l);
	pol_flist_free(&cur);

	pol_flist_init(&l, 100, 8);		/* name bytes */
	assert_int_equal(pol_flist_add(&l, "abc", 1), 0);	/* 4 */
	assert_int_equal(pol_flist_add(&l, "def", 1), 0);	/* 8 */
	assert_int_equal(pol_flist_add(&l, "g", 1), -1);
	pol_flist_free(&l);

	/* a repeated name counts once, with its largest size */
	pol_flist_init(&l, 10, 1 << 20);
	pol_flist_init(&cur, 10, 1 << 20);
	assert_int_equal(pol_flist_add(&l, "a", 10), 0);
	assert_int_equal(pol_flist_add(&cur, "a", 5), 0);
	assert_int_equal(pol_flist_add(&cur, "a", 25), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(pol_diff_judge(&d, "1", &l, &cur, collect, &g), 0);
	pol_flist_free(&l);
	pol_flist_free(&cur);
}

static void
test_growth_words(void **state)
{
	uint32_t	 v;

	(void)state;
	assert_int_equal(pol_diff_parse_growth("3x", &v), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(pol_diff_parse_growth("2.5x", &v), 0);
	assert_int_equal(v, 2500);
	assert_int_equal(pol_diff_parse_growth("1.125", &v), 0);
	assert_int_equal(v, 1125);
	assert_int_equal(pol_diff_parse_growth("1000x", &v), 0);
	assert_int_equal(pol_diff_parse_growth("1001x", &v), -1);
	assert_int_equal(pol_diff_parse_growth("0.5x", &v), -1);
	assert_int_equal(pol_diff_parse_growth("x", &v), -1);
	assert_int_equal(pol_diff_parse_growth("3.x", &v), -1);
	assert_int_equal(pol_diff_parse_growth("1.0001", &v), -1);
	assert_int_equal(pol_diff_parse_growth("3xx", &v), -1);
	assert_int_equal(pol_diff_parse_growth("-3", &v), -1);
	assert_int_equal(pol_diff_parse_growth("99999999999999999999", &v), -1);
}

static struct pol_errors errs;

static const struct pol_rule *
load_rule(const char *doc, struct pol_policy **pp)
{
	*pp = pol_load_buf("t.yaml", doc, strlen(doc), &errs);
	if (*pp == NULL)
		return NULL;
	return pol_rule_find(*pp, "pkg");
}

static void
test_load(void **state)
{
	struct pol_policy	*p;
	const struct pol_rule	*r;
	char			 line[512];

	(void)state;
	r = load_rule("version: 1\nrules:\n  - match: pkg\n    publish: allow\n",
	    &p);
	assert_non_null(r);
	assert_int_equal(r->diff.on, 0);
	pol_policy_unref(p);

	r = load_rule("version: 1\nrules:\n  - match: pkg\n    publish: allow\n"
	    "    diff: {}\n", &p);
	assert_non_null(r);
	assert_int_equal(r->diff.on, 1);
	assert_int_equal(r->diff.new_files, POL_DIFF_WARN);
	assert_int_equal(r->diff.max_growth, 3000);
	assert_int_equal(r->diff.new_file_size, 1 << 20);
	assert_int_equal(r->diff.unreachable, POL_MODE_BLOCK);
	pol_policy_unref(p);

	r = load_rule("version: 1\nrules:\n  - match: pkg\n    publish: allow\n"
	    "    diff: { new_files: block, max_growth: 2.5x, "
	    "new_file_size: 5MB, unreachable: allow }\n", &p);
	assert_non_null(r);
	assert_int_equal(r->diff.new_files, POL_DIFF_BLOCK);
	assert_int_equal(r->diff.max_growth, 2500);
	assert_int_equal(r->diff.new_file_size, 5 << 20);
	assert_int_equal(r->diff.unreachable, POL_MODE_ALLOW);
	pol_policy_unref(p);

	r = load_rule("version: 1\nrules:\n  - match: pkg\n"
	    "    diff: { new_files: maybe, max_growth: 0.5x,\n"
	    "      new_file_size: 0, colour: red }\n", &p);
	assert_null(p);
	assert_int_equal(errs.count, 4);
	assert_string_equal(pol_errors_format(&errs, 0, line, sizeof(line)),
	    "t.yaml:4:24: diff.new_files: 'maybe' is not allow, warn or "
	    "block");
	assert_string_equal(pol_errors_format(&errs, 1, line, sizeof(line)),
	    "t.yaml:4:43: diff.max_growth: '0.5x' is not a factor from 1x "
	    "to 1000x (like 3x or 2.5x)");
	assert_string_equal(pol_errors_format(&errs, 2, line, sizeof(line)),
	    "t.yaml:5:22: diff.new_file_size: '0' is not a size from 1 byte "
	    "to 4GiB");
	pol_errors_format(&errs, 3, line, sizeof(line));
	assert_non_null(strstr(line, "colour"));

	r = load_rule("version: 1\nrules:\n  - match: pkg\n"
	    "    diff: block\n", &p);
	assert_null(p);
	assert_string_equal(pol_errors_format(&errs, 0, line, sizeof(line)),
	    "t.yaml:4:11: diff: expected a mapping, got a scalar");
}


/* ------------------------------------------------ the version choice */

/* semver order, as npm's semver sorts versions. */
static void
test_semver(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 want;
	} t[] = {
		{ "1.0.0", "1.0.0", 0 },
		{ "1.0.0", "1.0.1", -1 },
		{ "1.10.0", "1.9.0", 1 },
		{ "2.0.0", "10.0.0", -1 },
		{ "1.0.0-alpha", "1.0.0", -1 },
		{ "1.0.0-alpha", "1.0.0-alpha.1", -1 },
		{ "1.0.0-alpha.1", "1.0.0-alpha.beta", -1 },
		{ "1.0.0-alpha.beta", "1.0.0-beta", -1 },
		{ "1.0.0-beta", "1.0.0-beta.2", -1 },
		{ "1.0.0-beta.2", "1.0.0-beta.11", -1 },
		{ "1.0.0-beta.11", "1.0.0-rc.1", -1 },
		{ "1.0.0-rc.1", "1.0.0", -1 },
		{ "1.0.0+build.5", "1.0.0", 0 },
		{ "1.0.1-0", "1.0.0", 1 },
	};
	static const char *const bad[] = { "", "1", "1.0", "1.0.0.0", "v1.0.0",
	    "1.0.x", "1.0.0-", "1.0.0+", "1.0.0-a b", "latest",
	    "1.0.1234567890123456789" };
	size_t	 i;
	int	 c;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(pol_semver_cmp(t[i].a, t[i].b, &c), 0);
		if (c != t[i].want)
			fail_msg("%s vs %s: %d, want %d", t[i].a, t[i].b, c,
			    t[i].want);
		assert_int_equal(pol_semver_cmp(t[i].b, t[i].a, &c), 0);
		assert_int_equal(c, -t[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pol_semver_cmp(bad[i], "1.0.0", &c), -1);
}

static unsigned char *
gzip_buf(const void *in, size_t len, size_t *outlen)
{
	z_stream	 z;
	unsigned char	*out;
	size_t		 cap = len + len / 2 + 1024;

	out = malloc(cap);
	assert_non_null(out);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

/*
 * choose() : pol_prev over doc fed in chunk-byte pieces (gzip'd first
 * when gz); returns pol_prev_end()'s answer, version and tarball.
 */
static int
choose(const char *doc, const char *version, const char *tag, int gz,
    size_t chunk, char *v, char *t)
{
	struct pol_prev	*pp;
	unsigned char	*z = NULL;
	const unsigned char *buf = (const unsigned char *)doc;
	size_t		 len = strlen(doc), off, n;
	int		 r;

	if (gz)
		buf = z = gzip_buf(doc, len, &len);
	pp = pol_prev_new(version, tag, gz);
	assert_non_null(pp);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if (pol_prev_feed(pp, buf + off, n) != 0)
			break;
	}
	r = pol_prev_end(pp, v, POL_PREV_VERSION_MAX, t, POL_PREV_URL_MAX);
	pol_prev_free(pp);
	free(z);
	return r;
}

/* The dist-tag the publish moves, else the highest lower version. */
static void
test_prev_choice(void **state)
{
	static const char tag_first[] =
	    "{\"name\":\"x\",\"dist-tags\":{\"latest\":\"1.0.0\","
	    "\"next\":\"2.0.0-rc.1\",\"old\":\"0.9.0\"},\"versions\":{"
	    "\"0.9.0\":{\"dist\":{\"tarball\":\"https://r/x/-/x-0.9.0.tgz\"}},"
	    "\"1.0.0\":{\"name\":\"x\",\"dist\":{\"shasum\":\"00\","
	    "\"tarball\":\"https://r/x/-/x-1.0.0.tgz\"}},"
	    "\"1.0.1-beta.1\":{\"dist\":{\"tarball\":\"https://r/b1.tgz\"}},"
	    "\"not-semver\":{\"dist\":{\"tarball\":\"https://r/ns.tgz\"}},"
	    "\"2.0.0-rc.1\":{\"dist\":{\"tarball\":\"https://r/rc.tgz\"}}},"
	    "\"time\":{\"1.0.0\":\"2026-01-01T00:00:00Z\"}}";
	static const char tag_last[] =
	    "{\"versions\":{"
	    "\"0.9.0\":{\"dist\":{\"tarball\":\"https://r/x/-/x-0.9.0.tgz\"}},"
	    "\"1.0.0\":{\"dist\":{\"tarball\":\"https://r/x/-/x-1.0.0.tgz\"}}},"
	    "\"dist-tags\":{\"latest\":\"1.0.0\",\"old\":\"0.9.0\"}}";
	static const size_t chunks[] = { 1 << 20, 7, 1 };
	char	 v[POL_PREV_VERSION_MAX], t[POL_PREV_URL_MAX];
	size_t	 i;
	int	 gz;

	(void)state;
	for (gz = 0; gz < 2; gz++)
		for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
			/* latest moves from 1.0.0 to 1.0.2 */
			assert_int_equal(choose(tag_first, "1.0.2", "latest",
			    gz, chunks[i], v, t), 1);
			assert_string_equal(v, "1.0.0");
			assert_string_equal(t, "https://r/x/-/x-1.0.0.tgz");
			/* next points higher: still the one it moves from */
			assert_int_equal(choose(tag_first, "1.5.0", "next", gz,
			    chunks[i], v, t), 1);
			assert_string_equal(v, "2.0.0-rc.1");
			assert_string_equal(t, "https://r/rc.tgz");
			/* a new tag: the highest lower version, prereleases too */
			assert_int_equal(choose(tag_first, "1.0.1", "beta", gz,
			    chunks[i], v, t), 1);
			assert_string_equal(v, "1.0.1-beta.1");
			assert_string_equal(t, "https://r/b1.tgz");
			/* no tag, and a tag on the published version itself */
			assert_int_equal(choose(tag_first, "1.0.0", NULL, gz,
			    chunks[i], v, t), 1);
			assert_string_equal(v, "0.9.0");
			assert_int_equal(choose(tag_first, "1.0.0", "latest",
			    gz, chunks[i], v, t), 1);
			assert_string_equal(v, "0.9.0");
			/* nothing lower: a first publish */
			assert_int_equal(choose(tag_first, "0.1.0", NULL, gz,
			    chunks[i], v, t), 0);
			assert_string_equal(v, "");
			/* dist-tags after versions: the tag's tarball is
			   known only when it was a candidate */
			assert_int_equal(choose(tag_last, "2.0.0", "latest",
			    gz, chunks[i], v, t), 1);
			assert_string_equal(v, "1.0.0");
			assert_string_equal(t, "https://r/x/-/x-1.0.0.tgz");
			assert_int_equal(choose(tag_last, "2.0.0", "old", gz,
			    chunks[i], v, t), 1);
			assert_string_equal(v, "0.9.0");
			assert_string_equal(t, "");
		}
	/* Empty packuments, and ones that cannot be read. */
	assert_int_equal(choose("{}", "1.0.0", "latest", 0, 64, v, t), 0);
	assert_int_equal(choose("{\"versions\":{}}", "1.0.0", NULL, 1, 64, v,
	    t), 0);
	assert_int_equal(choose("[]", "1.0.0", NULL, 0, 64, v, t), -1);
	assert_int_equal(choose("{\"versions\":{\"0.1.0\":{}", "1.0.0", NULL,
	    0, 64, v, t), -1);
	assert_int_equal(choose("{} {}", "1.0.0", NULL, 0, 64, v, t), -1);
	assert_int_equal(choose("", "1.0.0", NULL, 0, 64, v, t), -1);
	{
		/* gzip flag on plain bytes: unreadable */
		struct pol_prev	*pp = pol_prev_new("1.0.0", NULL, 1);

		assert_non_null(pp);
		(void)pol_prev_feed(pp, "{}", 2);
		assert_int_equal(pol_prev_end(pp, v, sizeof(v), t, sizeof(t)),
		    -1);
		pol_prev_free(pp);
	}
}

/* ---------------------------------------------- the engine's API */

struct tfile {
	const char	*name;
	size_t		 size;
	char		 fill;
};

static void
octal(char *dst, size_t width, uint64_t v)
{
	snprintf(dst, width, "%0*llo", (int)width - 1, (unsigned long long)v);
}

/*
 * mkpkg() : an npm pack .tgz of @acme/d at version (package/ prefix,
 * ustar, gzip): package.json, a 1.2 MB index.js, README.md and extra.
 */
static unsigned char *
mkpkg(const char *version, const struct tfile *extra, size_t nextra,
    size_t *len)
{
	char		 pj[128];
	struct tfile	 f[8];
	unsigned char	*tar, *out, *h;
	size_t		 n = 0, i, off = 0, cap = 1024, k;
	unsigned	 sum;

	snprintf(pj, sizeof(pj), "{\"name\":\"@acme/d\",\"version\":\"%s\"}",
	    version);
	f[n++] = (struct tfile){ "package.json", strlen(pj), 0 };
	f[n++] = (struct tfile){ "index.js", 1200000, 'a' };
	f[n++] = (struct tfile){ "README.md", 400, 'r' };
	for (i = 0; i < nextra; i++)
		f[n++] = extra[i];
	for (i = 0; i < n; i++)
		cap += 512 + (f[i].size + 511) / 512 * 512;
	tar = calloc(1, cap);
	assert_non_null(tar);
	for (i = 0; i < n; i++) {
		h = tar + off;
		snprintf((char *)h, 100, "package/%s", f[i].name);
		octal((char *)h + 100, 8, 0644);
		octal((char *)h + 108, 8, 0);
		octal((char *)h + 116, 8, 0);
		octal((char *)h + 124, 12, f[i].size);
		octal((char *)h + 136, 12, 0);
		memset(h + 148, ' ', 8);
		h[156] = '0';
		memcpy(h + 257, "ustar\0" "00", 8);
		for (sum = 0, k = 0; k < 512; k++)
			sum += h[k];
		snprintf((char *)h + 148, 8, "%06o", sum);
		off += 512;
		if (i == 0)
			memcpy(tar + off, pj, f[i].size);
		else {
			/* Text that compresses as code does (under the ratio
			   limit), seeded by the fill byte. */
			uint32_t	 x = (uint32_t)f[i].fill;

			for (k = 0; k < f[i].size; k++) {
				x = x * 1103515245u + 12345u;
				tar[off + k] = (unsigned char)
				    "abcdefgh ij\n;(){}"[(x >> 16) % 18];
			}
		}
		off += (f[i].size + 511) / 512 * 512;
	}
	out = gzip_buf(tar, cap, len);
	free(tar);
	return out;
}

static struct pol_policy *
diff_policy(const char *diff)
{
	char			 doc[512];
	struct pol_policy	*p;

	snprintf(doc, sizeof(doc), "version: 1\nrules:\n  - match: \"@acme/*\"\n"
	    "    publish: allow\n    sourcemaps: allow\n    secrets: allow\n"
	    "    diff: %s\n", diff);
	p = pol_load_buf("d.yaml", doc, strlen(doc), &errs);
	if (p == NULL)
		fail_msg("%s", errs.e[0].msg);
	return p;
}

/*
 * pending() : the stream of cur (a .tgz) under p with opts.previous;
 * pol_publish_end() must say POL_PENDING when want_pending.
 */
static struct pol_stream *
pending(struct pol_policy *p, const unsigned char *cur, size_t len,
    int previous, enum pol_verdict want)
{
	struct pol_stream_opts	 o = { POL_INPUT_TGZ, NULL, NULL, NULL,
				    previous, NULL, NULL };
	struct pol_stream	*s;
	const struct pol_report	*r;

	s = pol_publish_new(p, &o);
	assert_non_null(s);
	assert_int_equal(pol_publish_feed(s, cur, len), POL_CONTINUE);
	assert_int_equal(pol_publish_end(s, &r), want);
	assert_string_equal(r->name, "@acme/d");
	return s;
}

static int
has(const struct pol_report *r, const char *rule, int warn)
{
	size_t	 i;

	for (i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].rule, rule) == 0 &&
		    r->reasons[i].warn == warn)
			return 1;
	return 0;
}

/* pol_publish_end() -> POL_PENDING -> prev_feed/prev_end -> verdict. */
static void
test_engine(void **state)
{
	static const struct tfile map[] = { { "cli.js.map", 5000000, 'm' } };
	static const struct tfile small[] = { { "lib/x.js", 300, 'x' } };
	struct pol_policy	*p, *pa;
	struct pol_stream	*s;
	const struct pol_report	*r;
	unsigned char		*v0, *v1, *v2;
	size_t			 l0, l1, l2, i;

	(void)state;
	p = diff_policy("{ new_files: warn }");
	v0 = mkpkg("1.0.0", NULL, 0, &l0);
	v1 = mkpkg("1.0.1", map, 1, &l1);
	v2 = mkpkg("1.0.2", small, 1, &l2);

	/* The 5 MB map, 4x: both reasons, named after the previous. */
	s = pending(p, v1, l1, 1, POL_PENDING);
	for (i = 0; i < l0; i += 1000)
		assert_int_equal(pol_publish_prev_feed(s, v0 + i,
		    l0 - i < 1000 ? l0 - i : 1000), POL_CONTINUE);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_DENY);
	assert_true(has(r, "diff.new_file_size", 0));
	assert_true(has(r, "diff.growth", 0));
	assert_non_null(strstr(r->reasons[0].text, "new since 1.0.0: cli.js.map, "
	    "5.0 MB"));
	/* Ending twice keeps the verdict. */
	assert_int_equal(pol_publish_prev_end(s, NULL, NULL, &r), POL_DENY);
	pol_publish_free(s);

	/* A small new file only warns under new_files: warn. */
	s = pending(p, v2, l2, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_feed(s, v0, l0), POL_CONTINUE);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_ALLOW);
	assert_true(has(r, "diff.new_file", 1));
	assert_int_equal(r->nwarn, 1);
	assert_int_equal(r->monitor, 0);
	pol_publish_free(s);

	/* A first publish: diff allows. */
	s = pending(p, v1, l1, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_end(s, NULL, NULL, &r), POL_ALLOW);
	assert_int_equal(r->nreasons_total, 0);
	pol_publish_free(s);

	/* Unreachable: blocks by default ... */
	s = pending(p, v2, l2, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_end(s, NULL, "connect: refused", &r),
	    POL_DENY);
	assert_true(has(r, "diff.unreachable", 0));
	assert_non_null(strstr(r->reasons[0].text, "connect: refused"));
	pol_publish_free(s);
	/* ... a truncated or corrupt previous tarball too ... */
	s = pending(p, v2, l2, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_feed(s, v0, l0 / 2), POL_CONTINUE);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_DENY);
	assert_true(has(r, "diff.unreachable", 0));
	pol_publish_free(s);
	s = pending(p, v2, l2, 1, POL_PENDING);
	(void)pol_publish_prev_feed(s, "not gzip at all, a page of HTML",
	    31);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_DENY);
	assert_true(has(r, "diff.unreachable", 0));
	pol_publish_free(s);
	/* ... and only warns under unreachable: allow. */
	pa = diff_policy("{ unreachable: allow }");
	s = pending(pa, v2, l2, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_end(s, NULL, "HTTP 500", &r),
	    POL_ALLOW);
	assert_true(has(r, "diff.unreachable", 1));
	pol_publish_free(s);
	/* new_files: block refuses the small new file. */
	pol_policy_unref(pa);
	pa = diff_policy("{ new_files: block }");
	s = pending(pa, v2, l2, 1, POL_PENDING);
	assert_int_equal(pol_publish_prev_feed(s, v0, l0), POL_CONTINUE);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_DENY);
	assert_true(has(r, "diff.new_file", 0));
	pol_publish_free(s);
	pol_policy_unref(pa);

	/* Without opts.previous: no pending (a .tgz is judged alone). */
	s = pending(p, v1, l1, 0, POL_ALLOW);
	assert_int_equal(pol_publish_prev_end(s, "1.0.0", NULL, &r), POL_ALLOW);
	pol_publish_free(s);
	/* No diff: in the rule: no pending. */
	{
		static const char doc[] = "version: 1\nrules:\n"
		    "  - match: \"@acme/*\"\n    publish: allow\n"
		    "    sourcemaps: allow\n    secrets: allow\n";

		pa = pol_load_buf("n.yaml", doc, strlen(doc), &errs);
		assert_non_null(pa);
		s = pending(pa, v1, l1, 1, POL_ALLOW);
		pol_publish_free(s);
		pol_policy_unref(pa);
	}
	free(v0);
	free(v1);
	free(v2);
	pol_policy_unref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_and_growth),
		cmocka_unit_test(test_small_new_file),
		cmocka_unit_test(test_file_grew),
		cmocka_unit_test(test_growth_edge),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_growth_words),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_semver),
		cmocka_unit_test(test_prev_choice),
		cmocka_unit_test(test_engine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
