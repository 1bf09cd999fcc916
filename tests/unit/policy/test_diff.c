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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
