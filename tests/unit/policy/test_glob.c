/*
 * tests/unit/policy/test_glob.c: policy/glob.c, the glob syntax of
 * package-name matches, file allow/deny lists and dist-tags.  Depends on
 * policy-int.h and cmocka only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy-int.h"

struct gcase {
	const char	*pat;
	const char	*s;
	int		 want;
};

static void
run_cases(const struct gcase *c, size_t n)
{
	size_t	 i;
	int	 got;

	for (i = 0; i < n; i++) {
		got = pol_glob_match(c[i].pat, c[i].s);
		if (got != c[i].want)
			fail_msg("pol_glob_match(\"%s\", \"%s\") = %d, want %d",
			    c[i].pat, c[i].s, got, c[i].want);
	}
}

static void
test_package_names(void **state)
{
	static const struct gcase c[] = {
		{ "@acme/*", "@acme/x", 1 },
		{ "@acme/*", "@acme/", 1 },
		{ "@acme/*", "@acme/x/y", 0 },
		{ "@acme/*", "@acmex/y", 0 },
		{ "@acme/*", "acme", 0 },
		{ "@acme/*", "@ACME/x", 0 },
		{ "*", "lodash", 1 },
		{ "*", "@acme/x", 0 },
		{ "*", "", 1 },
		{ "@*/*", "@acme/x", 1 },
		{ "@*/*", "lodash", 0 },
		{ "lodash", "lodash", 1 },
		{ "lodash", "lodash.map", 0 },
		{ "lodash", "lodas", 0 },
		{ "lodash.*", "lodash.map", 1 },
		{ "@{acme,corp}/*", "@corp/tool", 1 },
		{ "@{acme,corp}/*", "@acme/tool", 1 },
		{ "@{acme,corp}/*", "@other/tool", 0 },
		{ "@acme/ui-?", "@acme/ui-a", 1 },
		{ "@acme/ui-?", "@acme/ui-ab", 0 },
		{ "@acme/ui-?", "@acme/ui-", 0 },
	};

	(void)state;
	run_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_paths(void **state)
{
	static const struct gcase c[] = {
		{ "**/*.map", "a.map", 1 },
		{ "**/*.map", "dist/a.map", 1 },
		{ "**/*.map", "dist/x/y/cli.js.map", 1 },
		{ "**/*.map", "lodash/map.js", 0 },
		{ "**/*.map", "map.js", 0 },
		{ "**/*.map", "a.map.js", 0 },
		{ "*.map", "dist/a.map", 0 },
		{ "dist/**", "dist/index.js", 1 },
		{ "dist/**", "dist/a/b/c.js", 1 },
		{ "dist/**", "dist/", 1 },
		{ "dist/**", "dist", 0 },
		{ "dist/**", "distx/a", 0 },
		{ "dist/**", "src/dist/a", 0 },
		{ "README*", "README", 1 },
		{ "README*", "README.md", 1 },
		{ "README*", "docs/README.md", 0 },
		{ "README*", "readme.md", 0 },
		{ "**/.env*", ".env", 1 },
		{ "**/.env*", ".env.local", 1 },
		{ "**/.env*", "config/.env.production", 1 },
		{ "**/.env*", "env.js", 0 },
		{ "src/**", "src/index.ts", 1 },
		{ "src/**", "dist/src/index.ts", 0 },
		{ "a/**/b", "a/b", 1 },
		{ "a/**/b", "a/x/b", 1 },
		{ "a/**/b", "a/x/y/b", 1 },
		{ "a/**/b", "a/xb", 0 },
		{ "**", "anything/at/all", 1 },
		{ "**", "", 1 },
		{ "*", "a/b", 0 },
		{ "*.d.ts", "index.d.ts", 1 },
		{ "*.d.ts", "types/index.d.ts", 0 },
		{ "**/*.{js,mjs,cjs}", "dist/cli.mjs", 1 },
		{ "**/*.{js,mjs,cjs}", "cli.cjs", 1 },
		{ "**/*.{js,mjs,cjs}", "cli.ts", 0 },
		{ "{,dist/}index.js", "index.js", 1 },
		{ "{,dist/}index.js", "dist/index.js", 1 },
		{ "{,dist/}index.js", "lib/index.js", 0 },
		{ "**/npm-debug.log*", "npm-debug.log", 1 },
		{ "**/npm-debug.log*", "a/npm-debug.log.1", 1 },
		{ "a?c", "a/c", 0 },
		{ "a?c", "abc", 1 },
	};

	(void)state;
	run_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_classes(void **state)
{
	static const struct gcase c[] = {
		{ "v[0-9]", "v7", 1 },
		{ "v[0-9]", "va", 0 },
		{ "v[0-9]", "v", 0 },
		{ "[a-c]x", "bx", 1 },
		{ "[a-c]x", "dx", 0 },
		{ "[!x]y", "ay", 1 },
		{ "[!x]y", "xy", 0 },
		{ "[^x]y", "xy", 0 },
		{ "[!x]y", "/y", 0 },
		{ "[abc]", "c", 1 },
		{ "[abc]", "d", 0 },
		{ "[a-]", "-", 1 },
		{ "[-a]", "-", 1 },
		{ "[\\]]", "]", 1 },
		{ "a\\*b", "a*b", 1 },
		{ "a\\*b", "axb", 0 },
		{ "a\\{b", "a{b", 1 },
		{ "a,b", "a,b", 1 },
		{ "beta*", "beta", 1 },
		{ "beta*", "beta.1", 1 },
		{ "beta*", "alpha", 0 },
	};

	(void)state;
	run_cases(c, sizeof(c) / sizeof(c[0]));
}

static void
test_check(void **state)
{
	static const char *good[] = {
		"@acme/*", "**/*.map", "[a-z]", "[!x]", "{a,b}", "{,a}", "{}",
		"a\\[", "a,b", "x**y", "\\}",
	};
	static const char *bad[] = {
		"", "[", "[a-", "[]", "[!]", "a]", "{a,b", "a}", "{a,{b}}",
		"trailing\\", "[z-a]", "[a/b]",
	};
	char	 err[128], big[POL_GLOB_MAX + 2];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (pol_glob_check(good[i], err, sizeof(err)) != 0)
			fail_msg("\"%s\" refused: %s", good[i], err);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (pol_glob_check(bad[i], err, sizeof(err)) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_true(err[0] != '\0');
		/* A refused pattern fits nothing. */
		assert_int_equal(pol_glob_match(bad[i], bad[i]), 0);
	}
	assert_int_equal(pol_glob_check(NULL, err, sizeof(err)), -1);
	assert_int_equal(pol_glob_check("[", NULL, 0), -1);

	memset(big, 'a', sizeof(big));
	big[POL_GLOB_MAX] = '\0';
	assert_int_equal(pol_glob_check(big, err, sizeof(err)), 0);
	assert_int_equal(pol_glob_match(big, big), 1);
	big[POL_GLOB_MAX] = 'a';
	big[POL_GLOB_MAX + 1] = '\0';
	assert_int_equal(pol_glob_check(big, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "512"));
	assert_int_equal(pol_glob_match(big, big), 0);

	assert_int_equal(pol_glob_check("a}", err, sizeof(err)), -1);
	assert_string_equal(err, "unbalanced '}' at byte 2");
	assert_int_equal(pol_glob_check("x[ab", err, sizeof(err)), -1);
	assert_string_equal(err, "unclosed '[' at byte 2");
	/* The message is cut to the buffer, never overrun. */
	assert_int_equal(pol_glob_check("x[ab", err, 4), -1);
	assert_string_equal(err, "unc");
	assert_int_equal(pol_glob_match("a", NULL), 0);
}

/* Patterns that make a backtracking matcher take exponential time. */
static void
test_pathological(void **state)
{
	char	 pat[POL_GLOB_MAX + 1], s[4097];
	size_t	 i;

	(void)state;
	for (i = 0; i + 2 <= 400; i += 2)
		memcpy(pat + i, "*a", 2);
	pat[i] = 'b';
	pat[i + 1] = '\0';
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(pol_glob_check(pat, NULL, 0), 0);
	assert_int_equal(pol_glob_match(pat, s), 0);
	for (i = 0; i + 3 <= 450; i += 3)
		memcpy(pat + i, "**a", 3);
	pat[i] = '\0';
	assert_int_equal(pol_glob_match(pat, s), 1);
	s[10] = '/';
	assert_int_equal(pol_glob_match(pat, s), 1);
	assert_int_equal(pol_glob_match("*a*a*a*a*a*a*a*a*a*b", s), 0);
	for (i = 0; i + 3 <= 510; i += 3)
		memcpy(pat + i, "**/", 3);
	pat[i] = 'b';
	pat[i + 1] = '\0';
	assert_int_equal(pol_glob_check(pat, NULL, 0), 0);
	assert_int_equal(pol_glob_match(pat, s), 0);
	assert_int_equal(pol_glob_match(pat, "b"), 1);
	for (i = 0; i + 1 < sizeof(s); i += 2)
		memcpy(s + i, "a/", 2);
	s[sizeof(s) - 3] = 'b';	/* "a/a/.../a/b" */
	s[sizeof(s) - 2] = '\0';
	assert_int_equal(pol_glob_match(pat, s), 1);
	for (i = 0; i + 7 <= 511; i += 7)
		memcpy(pat + i, "{a,b,*}", 7);
	pat[i] = '\0';
	assert_int_equal(pol_glob_check(pat, NULL, 0), 0);
	assert_int_equal(pol_glob_match(pat, "ab"), 1);
	assert_int_equal(pol_glob_match(pat, s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_package_names),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_pathological),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
