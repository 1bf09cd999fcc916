/*
 * tests/unit/policy/test_load.c: policy/load.c, the YAML policy loader:
 * the documented example, every kind of error with its exact line:col,
 * sizes, caps, rule order, refcounting, the embedded default and the
 * contrib policies (found through $SRCDIR, set by meson).  Depends on
 * policy-int.h and cmocka only; every document is written here.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy-int.h"

/* The document of the README and issue 3, verbatim. */
static const char example[] =
    "version: 1\n"
    "default: deny                    # deny | allow\n"
    "rules:\n"
    "  - match: \"@acme/*\"\n"
    "    publish: allow\n"
    "    message: \"text appended to the 403 on deny\"\n"
    "    access: restricted\n"
    "    private: block\n"
    "    files:\n"
    "      allow: [\"package.json\", \"README*\", \"LICENSE*\", \"dist/**\"]\n"
    "      deny: [\"**/*.map\", \"**/.env*\", \"src/**\"]\n"
    "    limits: { tarball: 50MB, unpacked: 200MB, files: 10000, "
    "file: 100MB, ratio: 100 }\n"
    "    sourcemaps: block\n"
    "    secrets: block\n"
    "    custom_secrets: [ { id: acme-token, regex: 'acme_[a-z0-9]{32}' } ]\n"
    "    paths: block\n"
    "    publish_config: [access, registry, tag]\n"
    "    tags: [\"latest\", \"next\", \"beta*\"]\n"
    "    provenance: optional\n"
    "    writes: allow\n";

static struct pol_errors errs;

/* load() : loads text (a C string); fails the test on an error. */
static struct pol_policy *
load(const char *text)
{
	struct pol_policy	*p;
	char			 line[512];
	size_t			 i;

	p = pol_load_buf("t.yaml", text, strlen(text), &errs);
	if (p == NULL) {
		for (i = 0; i < errs.count && i < POL_ERRORS_MAX; i++)
			print_error("%s\n", pol_errors_format(&errs, i, line,
			    sizeof(line)));
		fail_msg("policy did not load");
	}
	assert_int_equal(errs.count, 0);
	return p;
}

/*
 * refused() : loads text, which must fail with exactly n errors; the
 * first one must be at line:col and contain want.
 */
static void
refused(const char *text, size_t n, int line, int col, const char *want)
{
	struct pol_policy	*p;
	char			 buf[512];
	size_t			 i;

	p = pol_load_buf("t.yaml", text, strlen(text), &errs);
	if (p != NULL) {
		pol_policy_unref(p);
		fail_msg("loaded, but should not have:\n%s", text);
	}
	if (errs.count != n || errs.e[0].line != line || errs.e[0].col != col ||
	    strstr(errs.e[0].msg, want) == NULL) {
		for (i = 0; i < errs.count && i < POL_ERRORS_MAX; i++)
			print_error("%s\n", pol_errors_format(&errs, i, buf,
			    sizeof(buf)));
		fail_msg("want %zu error(s), the first at %d:%d with \"%s\"", n,
		    line, col, want);
	}
}

static void
test_example(void **state)
{
	struct pol_policy	*p;
	const struct pol_rule	*r;

	(void)state;
	p = load(example);
	assert_int_equal(pol_policy_nrules(p), 1);
	assert_int_equal(p->default_verdict, POL_DENY);
	r = &p->rules[0];
	assert_string_equal(r->match, "@acme/*");
	assert_int_equal(r->line, 4);
	assert_int_equal(r->publish, POL_ALLOW);
	assert_string_equal(r->message, "text appended to the 403 on deny");
	assert_string_equal(r->access, "restricted");
	assert_int_equal(r->private_mode, POL_MODE_BLOCK);
	assert_true(r->has_files_allow);
	assert_int_equal(r->files_allow.n, 4);
	assert_string_equal(r->files_allow.pat[0], "package.json");
	assert_string_equal(r->files_allow.pat[3], "dist/**");
	assert_int_equal(r->files_deny.n, 3);
	assert_string_equal(r->files_deny.pat[0], "**/*.map");
	assert_int_equal(r->limits.tarball, 50ull << 20);
	assert_int_equal(r->limits.unpacked, 200ull << 20);
	assert_int_equal(r->limits.files, 10000);
	assert_int_equal(r->limits.file, 100ull << 20);
	assert_int_equal(r->limits.ratio, 100);
	assert_int_equal(r->sourcemaps, POL_MODE_BLOCK);
	assert_int_equal(r->secrets, POL_MODE_BLOCK);
	assert_int_equal(r->ncustom, 1);
	assert_string_equal(r->custom[0].id, "acme-token");
	assert_string_equal(r->custom[0].regex, "acme_[a-z0-9]{32}");
	assert_int_equal(r->paths, POL_MODE_BLOCK);
	assert_int_equal(r->publish_config.n, 3);
	assert_string_equal(r->publish_config.pat[1], "registry");
	assert_true(r->has_tags);
	assert_int_equal(r->tags.n, 3);
	assert_string_equal(r->tags.pat[2], "beta*");
	assert_int_equal(r->provenance, 0);
	assert_int_equal(r->writes, POL_ALLOW);
	assert_non_null(r->secrets_db);

	/* Names no rule matches get the default rule: deny, secrets on. */
	r = pol_rule_find(p, "lodash");
	assert_ptr_equal(r, &p->dflt);
	assert_int_equal(r->publish, POL_DENY);
	assert_non_null(r->secrets_db);
	/* The rule with a custom pattern has a database of its own. */
	assert_ptr_not_equal(p->rules[0].secrets_db, p->dflt.secrets_db);
	assert_int_equal(r->limits.tarball, POL_DEF_TARBALL);
	pol_policy_unref(p);
}

/* The other value of every switch, and keys left out. */
static void
test_values(void **state)
{
	struct pol_policy	*p;
	const struct pol_rule	*r;

	(void)state;
	p = load("version: 1\n"
	    "default: allow\n"
	    "rules:\n"
	    "  - match: x\n"
	    "    publish: deny\n"
	    "    access: public\n"
	    "    private: allow\n"
	    "    sourcemaps: allow\n"
	    "    secrets: allow\n"
	    "    secrets_in_tests: allow\n"
	    "    paths: allow\n"
	    "    provenance: require\n"
	    "    writes: deny\n"
	    "    publish_config: []\n"
	    "    limits: { tarball: 10 MB, files: 5 }\n"
	    "  - match: y\n");
	assert_int_equal(p->default_verdict, POL_ALLOW);
	assert_int_equal(p->dflt.publish, POL_ALLOW);
	r = &p->rules[0];
	assert_int_equal(r->publish, POL_DENY);
	assert_string_equal(r->access, "public");
	assert_int_equal(r->private_mode, POL_MODE_ALLOW);
	assert_int_equal(r->sourcemaps, POL_MODE_ALLOW);
	assert_int_equal(r->secrets, POL_MODE_ALLOW);
	assert_int_equal(r->secrets_in_tests, POL_TESTS_ALLOW);
	assert_int_equal(r->paths, POL_MODE_ALLOW);
	assert_int_equal(r->provenance, 1);
	assert_int_equal(r->writes, POL_DENY);
	assert_int_equal(r->publish_config.n, 0);
	assert_int_equal(r->limits.tarball, 10ull << 20);
	assert_int_equal(r->limits.files, 5);
	assert_int_equal(r->limits.unpacked, POL_DEF_UNPACKED);
	/* secrets: allow and no custom patterns: nothing compiled. */
	assert_null(r->secrets_db);
	assert_false(r->has_files_allow);
	assert_false(r->has_tags);

	/* A rule with only match: every default of the README table. */
	r = &p->rules[1];
	assert_string_equal(r->match, "y");
	assert_int_equal(r->line, 16);
	assert_int_equal(r->publish, POL_DENY);
	assert_null(r->message);
	assert_null(r->access);
	assert_int_equal(r->publish_config.n, 3);
	assert_int_equal(r->writes, POL_ALLOW);
	assert_int_equal(r->secrets_in_tests, POL_TESTS_BLOCK);
	assert_non_null(r->secrets_db);
	/* Built-ins only: the default rule's database, compiled once. */
	assert_ptr_equal(r->secrets_db, p->dflt.secrets_db);
	pol_policy_unref(p);
}

static void
test_rule_defaults(void **state)
{
	struct pol_rule	 r;

	(void)state;
	pol_rule_defaults(&r);
	assert_null(r.match);
	assert_int_equal(r.publish, POL_DENY);
	assert_int_equal(r.private_mode, POL_MODE_BLOCK);
	assert_int_equal(r.sourcemaps, POL_MODE_BLOCK);
	assert_int_equal(r.secrets, POL_MODE_BLOCK);
	assert_int_equal(r.secrets_in_tests, POL_TESTS_BLOCK);
	assert_int_equal(r.paths, POL_MODE_BLOCK);
	assert_int_equal(r.limits.tarball, POL_DEF_TARBALL);
	assert_int_equal(r.limits.unpacked, POL_DEF_UNPACKED);
	assert_int_equal(r.limits.files, POL_DEF_FILES);
	assert_int_equal(r.limits.file, POL_DEF_FILE);
	assert_int_equal(r.limits.ratio, POL_DEF_RATIO);
	assert_int_equal(r.publish_config.n, 3);
	assert_string_equal(r.publish_config.pat[0], "access");
	assert_string_equal(r.publish_config.pat[1], "registry");
	assert_string_equal(r.publish_config.pat[2], "tag");
	assert_false(r.has_files_allow);
	assert_false(r.has_tags);
	assert_int_equal(r.provenance, 0);
	assert_int_equal(r.writes, POL_ALLOW);
	assert_null(r.secrets_db);
	assert_int_equal(r.ncustom, 0);
}

/* One error of each kind, with the exact place. */
static void
test_error_places(void **state)
{
	char	 big[POL_TEXT_MAX + 64];

	(void)state;
	refused("default: deny\nrules: []\n", 1, 1, 1, "missing 'version'");
	refused("version: 2\n", 1, 1, 10, "not supported");
	refused("version: [1]\n", 1, 1, 10, "expected 1, got a list");
	refused("version: 1\nfoo: 1\n", 1, 2, 1, "unknown key 'foo'");
	refused("version: 1\ndefault: maybe\n", 1, 2, 10,
	    "'maybe' is not allow or deny");
	refused("version: 1\nversion: 1\n", 1, 2, 1,
	    "duplicate key 'version' in the policy (first at line 1)");
	refused("version: 1\nrules: {}\n", 1, 2, 8,
	    "rules: expected a list, got a mapping");
	refused("version: 1\nrules:\n  - publish: allow\n", 1, 3, 5,
	    "missing 'match'");
	refused("version: 1\nrules:\n  - match: \"@a/{x\"\n", 1, 3, 12,
	    "bad glob '@a/{x': unclosed '{'");
	refused("version: 1\nrules:\n  - match: \"\"\n", 1, 3, 12,
	    "empty pattern");
	refused("version: 1\nrules:\n  - match: x\n    publish: yes\n", 1, 4,
	    14, "publish: 'yes' is not allow or deny");
	refused("version: 1\nrules:\n  - match: x\n    private: [a]\n", 1, 4,
	    14, "private: expected block or allow, got a list");
	refused("version: 1\nrules:\n  - match: x\n    access: secret\n", 1, 4,
	    13, "'secret' is not public or restricted");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    secrets_in_tests: skip\n", 1, 4, 23,
	    "secrets_in_tests: 'skip' is not block, allow or warn");
	refused("version: 1\nrules:\n  - match: x\n    provenance: always\n", 1,
	    4, 17, "not optional or require");
	refused("version: 1\nrules:\n  - match: x\n    sourcemaps:\n", 1, 4, 16,
	    "expected block or allow, got nothing (null)");
	refused("version: 1\nrules:\n  - match: x\n    files: [a]\n", 1, 4, 12,
	    "files: expected a mapping");
	refused("version: 1\nrules:\n  - match: x\n    files: {alow: [a]}\n", 1,
	    4, 13, "unknown key 'alow' in files (did you mean 'allow'?)");
	refused("version: 1\nrules:\n  - match: x\n    files: {deny: [\"a]\"]}\n",
	    1, 4, 20, "files.deny: bad glob 'a]': unbalanced ']'");
	refused("version: 1\nrules:\n  - match: x\n    files: {allow: []}\n", 1,
	    4, 20, "files.allow: the list is empty");
	refused("version: 1\nrules:\n  - match: x\n    tags: [[a]]\n", 1, 4, 12,
	    "tags: expected a glob, got a list");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    publish_config: [access, \"a b\"]\n", 1, 4, 30,
	    "publish_config: bad key name 'a b'");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    publish_config: access\n", 1, 4, 21,
	    "publish_config: expected a list, got a scalar");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { tarball: 50XB }\n", 1, 4, 24,
	    "limits.tarball: '50XB' is not a size");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { files: 10k }\n", 1, 4, 22,
	    "limits.files: '10k' is not a whole number");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { unpacked: 0 }\n", 1, 4, 25,
	    "limits.unpacked: must be at least 1");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { file: -5MB }\n", 1, 4, 21, "is not a size");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { tarball: 5GiB }\n", 1, 4, 24,
	    "limits.tarball: 5GiB is above the ceiling of 4GiB");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { ratio: 0 }\n", 1, 4, 22,
	    "limits.ratio: must be at least 1");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { ratio: 10001 }\n", 1, 4, 22,
	    "limits.ratio: 10001 is above the ceiling of 10000");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { size: 1 }\n", 1, 4, 15, "unknown key 'size' in "
	    "limits");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: Acme, regex: 'x' } ]\n", 1, 4, 29,
	    "custom_secrets.id: 'Acme' is not an id");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-"
	    "s-t-u, regex: 'x' } ]\n", 1, 4, 29, "is not an id");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: a, regex: 'x' }, { id: a, regex: 'y' } "
	    "]\n", 1, 4, 52, "'a' is used twice in this rule");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { regex: 'x' } ]\n", 1, 4, 23,
	    "missing 'id'");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: a, regex: 'x', re: y } ]\n", 1, 4, 44,
	    "unknown key 're' in a custom secret");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: { id: a }\n", 1, 4, 21,
	    "custom_secrets: expected a list");
	refused("version: 1\nrules:\n  - match: x\n    message: [a]\n", 1, 4, 14,
	    "message: expected a text, got a list");
	refused("version: 1\nrules:\n  - match: x\n    message: \"a\\tb\\x01\"\n",
	    1, 4, 14, "control characters");
	memset(big, 'm', sizeof(big));
	snprintf(big, sizeof(big), "version: 1\nrules:\n  - match: x\n"
	    "    message: %.*s\n", POL_TEXT_MAX, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
	    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
	    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm"
	    "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
	refused(big, 1, 4, 14, "200 bytes, over the cap of 199");
	refused("version: 1\nrules:\n  - x\n", 1, 3, 5,
	    "rule: expected a mapping, got a scalar");
	refused("- a\n- b\n", 1, 1, 1, "the policy must be a mapping");
	refused("version: 1\n[a]: 1\n", 1, 2, 1, "expected a key, got a list");
	/* The message fits 199 bytes, not 200. */
	big[strlen(big) - 2] = '\n';
	big[strlen(big) - 1] = '\0';
	pol_policy_unref(load(big));
}

static void
test_zero_rules(void **state)
{
	struct pol_policy	*p;

	(void)state;
	refused("version: 1\ndefault: allow\n", 1, 2, 10,
	    "a policy with zero rules is never allow all");
	refused("version: 1\ndefault: allow\nrules: []\n", 1, 2, 10,
	    "zero rules");
	/* Deny everything is a fine (if useless) policy. */
	p = load("version: 1\ndefault: deny\nrules: []\n");
	assert_int_equal(pol_policy_nrules(p), 0);
	assert_int_equal(pol_rule_find(p, "x")->publish, POL_DENY);
	pol_policy_unref(p);
	p = load("version: 1\n");
	assert_int_equal(p->default_verdict, POL_DENY);
	pol_policy_unref(p);
	p = load("version: 1\ndefault: deny\nrules:\n"
	    "  - { match: \"a\", publish: deny }\n"
	    "  - { match: \"b\", publish: deny }\n");
	assert_int_equal(pol_policy_nrules(p), 2);
	pol_policy_unref(p);
}

/* Errors are all reported, in document order, and counted past the cap. */
static void
test_many_errors(void **state)
{
	char		*text;
	char		 line[512];
	size_t		 i, off, cap;

	(void)state;
	refused("version: 1\nrules:\n  - match: x\n    publish: maybe\n"
	    "    limits: { ratio: 0 }\n", 2, 4, 14, "publish");
	assert_int_equal(errs.e[1].line, 5);
	assert_int_equal(errs.e[1].col, 22);
	assert_string_equal(pol_errors_format(&errs, 0, line, sizeof(line)),
	    "t.yaml:4:14: publish: 'maybe' is not allow or deny");
	assert_string_equal(pol_errors_format(&errs, 1, line, sizeof(line)),
	    "t.yaml:5:22: limits.ratio: must be at least 1");

	/* Missing version (reported at 1:1) comes before a later error. */
	refused("rules:\n  - match: x\n    publis: allow\n", 2, 1, 1,
	    "missing 'version'");
	assert_int_equal(errs.e[1].line, 3);
	assert_non_null(strstr(errs.e[1].msg, "did you mean 'publish'?"));

	/* 100 unknown keys: 100 counted, the first POL_ERRORS_MAX kept. */
	cap = 64 + 100 * 32;
	text = malloc(cap);
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "version: 1\n");
	for (i = 0; i < 100; i++)
		off += (size_t)snprintf(text + off, cap - off, "key%zu: 1\n", i);
	assert_null(pol_load_buf("many.yaml", text, off, &errs));
	assert_int_equal(errs.count, 100);
	for (i = 0; i < POL_ERRORS_MAX; i++) {
		assert_int_equal(errs.e[i].line, (int)i + 2);
		assert_int_equal(errs.e[i].col, 1);
	}
	assert_string_equal(errs.file, "many.yaml");
	/* Out of range and tiny buffers. */
	assert_string_equal(pol_errors_format(&errs, 100, line, sizeof(line)),
	    "");
	assert_string_equal(pol_errors_format(&errs, 0, line, 8), "many.ya");
	free(text);
}

static void
test_syntax(void **state)
{
	char	*text;

	(void)state;
	/* libyaml's problem mark: the unterminated quote's end. */
	refused("version: 1\nrules:\n  - match: \"abc\n", 1, 4, 1,
	    "YAML syntax error: found unexpected end of stream");
	refused("version: 1\n\tdefault: deny\n", 1, 2, 1, "YAML syntax error");
	refused("version: 1\nrules: [a, b\n", 1, 3, 1, "YAML syntax error");
	/* Invalid UTF-8: a reader error, placed by its offset. */
	refused("version: 1\nrules: \xff\n", 1, 2, 8, "not a valid YAML text");
	refused("", 1, 1, 1, "the policy is empty");
	refused("# only a comment\n", 1, 1, 1, "the policy is empty");
	refused("version: 1\n---\nversion: 1\n", 1, 3, 1,
	    "a second YAML document");
	refused("version: 1\nrules:\n  - &r { match: a }\n  - *r\n", 1, 3, 5,
	    "anchors and aliases are not supported");
	refused("version: 1\nrules: &l [ *l ]\n", 1, 2, 8,
	    "anchors and aliases are not supported");
	refused("version: 1\nrules: [ *nope ]\n", 1, 2, 10, "YAML syntax error");

	/* Over the size cap: refused before parsing. */
	text = malloc(POL_POLICY_BYTES_MAX + 1);
	assert_non_null(text);
	memset(text, '#', POL_POLICY_BYTES_MAX + 1);
	assert_null(pol_load_buf("big", text, POL_POLICY_BYTES_MAX + 1, &errs));
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.e[0].line, 0);
	assert_non_null(strstr(errs.e[0].msg, "over the cap"));
	memcpy(text, "version: 1\n", 11);
	assert_non_null(strstr(text, "version"));
	{
		struct pol_policy *p;

		p = pol_load_buf("big", text, POL_POLICY_BYTES_MAX, &errs);
		assert_non_null(p);
		pol_policy_unref(p);
	}
	free(text);
	/* errs may be NULL. */
	assert_null(pol_load_buf("x", "version: 2\n", 11, NULL));
}

static void
test_regex(void **state)
{
	(void)state;
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: a, regex: 'a(' } ]\n", 1, 4, 39,
	    "custom_secrets.regex:");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [ { id: a, regex: '' } ]\n", 1, 4, 39,
	    "custom_secrets.regex: empty");
	/* Custom patterns get a db even with the built-ins off. */
	{
		struct pol_policy *p;

		p = load("version: 1\nrules:\n  - match: x\n    secrets: allow\n"
		    "    custom_secrets: [ { id: a-1, regex: 'tok_[0-9]{8}' } ]\n");
		assert_non_null(p->rules[0].secrets_db);
		pol_policy_unref(p);
	}
}

static void
test_sizes(void **state)
{
	static const struct {
		const char	*s;
		int		 rc;
		uint64_t	 v;
	} c[] = {
		{ "4096", 0, 4096 },
		{ "0", 0, 0 },
		{ "1B", 0, 1 },
		{ "512KB", 0, 512ull << 10 },
		{ "512K", 0, 512ull << 10 },
		{ "512KiB", 0, 512ull << 10 },
		{ "50MB", 0, 50ull << 20 },
		{ "50mb", 0, 50ull << 20 },
		{ "50M", 0, 50ull << 20 },
		{ "50MiB", 0, 50ull << 20 },
		{ "10 MB", 0, 10ull << 20 },
		{ "1GiB", 0, 1ull << 30 },
		{ "1GB", 0, 1ull << 30 },
		{ "16G", 0, 16ull << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "17179869184G", -1, 0 },
		{ "17179869183G", 0, 17179869183ull << 30 },
		{ "", -1, 0 },
		{ "MB", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ "1.5MB", -1, 0 },
		{ " 1MB", -1, 0 },
		{ "1MB ", -1, 0 },
		{ "1  MB", -1, 0 },
		{ "1 ", -1, 0 },
		{ "1TB", -1, 0 },
		{ "1MBx", -1, 0 },
		{ "0x10", -1, 0 },
		{ "1e6", -1, 0 },
	};
	uint64_t	 v;
	size_t		 i;
	int		 rc;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 0;
		rc = pol_parse_size(c[i].s, &v);
		if (rc != c[i].rc || (rc == 0 && v != c[i].v))
			fail_msg("pol_parse_size(\"%s\") = %d, %llu", c[i].s, rc,
			    (unsigned long long)v);
	}
	assert_int_equal(pol_parse_size(NULL, &v), -1);
	assert_int_equal(pol_parse_size("1", NULL), -1);
}

/* Every limit at its ceiling loads; one byte more does not. */
static void
test_caps(void **state)
{
	struct pol_policy	*p;
	const struct pol_rule	*r;

	(void)state;
	p = load("version: 1\nrules:\n  - match: x\n"
	    "    limits: { tarball: 4GiB, unpacked: 16GiB, files: 1000000, "
	    "file: 4GiB, ratio: 10000 }\n");
	r = &p->rules[0];
	assert_int_equal(r->limits.tarball, POL_CAP_TARBALL);
	assert_int_equal(r->limits.unpacked, POL_CAP_UNPACKED);
	assert_int_equal(r->limits.files, POL_CAP_FILES);
	assert_int_equal(r->limits.file, POL_CAP_FILE);
	assert_int_equal(r->limits.ratio, POL_CAP_RATIO);
	pol_policy_unref(p);
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { tarball: 4294967297 }\n", 1, 4, 24, "ceiling of 4GiB");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { unpacked: 17GB }\n", 1, 4, 25, "ceiling of 16GiB");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { files: 1000001 }\n", 1, 4, 22, "ceiling of 1000000");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { file: 5G }\n", 1, 4, 21, "ceiling of 4GiB");
	refused("version: 1\nrules:\n  - match: x\n"
	    "    limits: { ratio: 99999999999999999999999 }\n", 1, 4, 22,
	    "not a whole number");
}

/* Lists over their caps. */
static void
test_list_caps(void **state)
{
	char	*text;
	size_t	 i, off, cap;

	(void)state;
	cap = 128 + (POL_GLOBS_MAX + 1) * 4;
	text = malloc(cap);
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "version: 1\nrules:\n  - match: x\n"
	    "    tags: [");
	for (i = 0; i <= POL_GLOBS_MAX; i++)
		off += (size_t)snprintf(text + off, cap - off, "a,");
	snprintf(text + off - 1, cap - off + 1, "]\n");
	refused(text, 1, 4, 11, "over the cap of 1024");
	free(text);

	cap = 128 + (POL_CUSTOM_MAX + 1) * 32;
	text = malloc(cap);
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "version: 1\nrules:\n  - match: x\n"
	    "    custom_secrets: [");
	for (i = 0; i <= POL_CUSTOM_MAX; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "{id: a%zu, regex: x},", i);
	snprintf(text + off - 1, cap - off + 1, "]\n");
	refused(text, 1, 4, 21, "over the cap of 64");
	free(text);
}

static void
test_find_order(void **state)
{
	struct pol_policy	*p;

	(void)state;
	p = load("version: 1\ndefault: deny\nrules:\n"
	    "  - { match: \"@acme/secret-*\", publish: deny }\n"
	    "  - { match: \"@acme/*\", publish: allow }\n"
	    "  - { match: \"@acme/secret-x\", publish: allow }\n"
	    "  - { match: \"*\", publish: allow, writes: deny }\n");
	assert_ptr_equal(pol_rule_find(p, "@acme/secret-x"), &p->rules[0]);
	assert_ptr_equal(pol_rule_find(p, "@acme/ui"), &p->rules[1]);
	assert_ptr_equal(pol_rule_find(p, "lodash"), &p->rules[3]);
	assert_ptr_equal(pol_rule_find(p, "@other/x"), &p->dflt);
	assert_ptr_equal(pol_rule_find(p, "@acme/a/b"), &p->dflt);
	assert_ptr_equal(pol_rule_find(p, NULL), &p->dflt);
	assert_null(pol_rule_find(NULL, "x"));
	assert_int_equal(pol_rule_find(p, "@acme/secret-x")->publish, POL_DENY);
	assert_string_equal(p->dflt.match, "(default)");
	assert_int_equal(p->dflt.line, 0);
	pol_policy_unref(p);
}

static void
test_check_write(void **state)
{
	struct pol_policy	*p;
	struct pol_reason	 why;

	(void)state;
	p = load("version: 1\nrules:\n"
	    "  - { match: \"@acme/*\", writes: deny, message: \"ask #npm\" }\n"
	    "  - { match: \"*\", writes: deny }\n"
	    "  - { match: \"@open/*\" }\n");
	assert_int_equal(pol_check_write(p, "@acme/x", "dist-tag", &why),
	    POL_DENY);
	assert_string_equal(why.rule, "write.dist-tag");
	assert_string_equal(why.file, "");
	assert_int_equal(why.offset, -1);
	assert_non_null(strstr(why.text, "@acme/x"));
	assert_non_null(strstr(why.text, "@acme/*"));
	assert_string_equal(why.hint, "ask #npm");
	assert_int_equal(pol_check_write(p, "lodash", "unpublish", &why),
	    POL_DENY);
	assert_string_equal(why.rule, "write.unpublish");
	assert_true(why.hint[0] != '\0');
	assert_int_equal(pol_check_write(p, "@open/x", "deprecate", &why),
	    POL_ALLOW);
	assert_int_equal(pol_check_write(p, "@open/x", "owner", NULL),
	    POL_ALLOW);
	assert_int_equal(pol_check_write(p, "@open/x", "access", NULL),
	    POL_ALLOW);
	/* Names of no rule: the default rule, whose writes are allowed. */
	assert_int_equal(pol_check_write(p, "@other/x", "dist-tag", NULL),
	    POL_ALLOW);
	/* An unknown kind, or no policy, fails closed. */
	assert_int_equal(pol_check_write(p, "@open/x", "star", &why), POL_DENY);
	assert_string_equal(why.rule, "write.unknown");
	assert_int_equal(pol_check_write(p, "@open/x", NULL, &why), POL_DENY);
	assert_int_equal(pol_check_write(NULL, "x", "owner", &why), POL_DENY);
	/* Control bytes of the name never reach the text. */
	assert_int_equal(pol_check_write(p, "a\nb\x1b", "owner", &why),
	    POL_DENY);
	assert_null(strchr(why.text, '\n'));
	assert_null(strchr(why.text, '\x1b'));
	pol_policy_unref(p);
}

static void *
unref_thread(void *arg)
{
	int	 i;

	for (i = 0; i < 1000; i++)
		pol_policy_unref(arg);
	return NULL;
}

static void
test_refcount(void **state)
{
	struct pol_policy	*p;
	pthread_t		 t[2];
	int			 i;

	(void)state;
	pol_policy_unref(NULL);
	assert_null(pol_policy_ref(NULL));
	assert_int_equal(pol_policy_nrules(NULL), 0);
	p = load(example);
	assert_int_equal(p->refs, 1);
	assert_ptr_equal(pol_policy_ref(p), p);
	assert_int_equal(p->refs, 2);
	pol_policy_unref(p);
	assert_int_equal(p->refs, 1);
	/* Two threads drop 2000 references at once; the last one remains. */
	for (i = 0; i < 2000; i++)
		pol_policy_ref(p);
	assert_int_equal(pthread_create(&t[0], NULL, unref_thread, p), 0);
	assert_int_equal(pthread_create(&t[1], NULL, unref_thread, p), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_int_equal(p->refs, 1);
	assert_string_equal(p->rules[0].match, "@acme/*");
	pol_policy_unref(p);	/* ASan reports a leak if this does not free */
}

static void
test_default(void **state)
{
	struct pol_policy	*p;
	const char		*text;
	size_t			 len;

	(void)state;
	text = pol_default_policy_text(&len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "version: 1"));
	p = pol_load_default(&errs);
	assert_non_null(p);
	assert_int_equal(errs.count, 0);
	assert_true(pol_policy_nrules(p) >= 1);
	assert_int_equal(p->default_verdict, POL_DENY);
	assert_int_equal(pol_rule_find(p, "lodash")->publish, POL_DENY);
	assert_int_equal(pol_rule_find(p, "@acme/ui")->publish, POL_ALLOW);
	assert_int_equal(pol_rule_find(p, "@acme/ui")->sourcemaps,
	    POL_MODE_BLOCK);
	pol_policy_unref(p);
	p = pol_load_default(NULL);
	assert_non_null(p);
	pol_policy_unref(p);
}

/* The policies of contrib/policies/ in the source tree ($SRCDIR). */
static void
test_contrib(void **state)
{
	struct pol_policy	*p;
	const char		*src;
	char			 path[4096];

	(void)state;
	if ((src = getenv("SRCDIR")) == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/contrib/policies/strict.yaml", src);
	p = pol_load_file(path, &errs);
	assert_non_null(p);
	assert_int_equal(pol_rule_find(p, "@acme/x")->publish, POL_ALLOW);
	assert_non_null(pol_rule_find(p, "@acme/x")->access);
	assert_int_equal(pol_rule_find(p, "left-pad")->publish, POL_DENY);
	pol_policy_unref(p);

	snprintf(path, sizeof(path), "%s/contrib/policies/oss.yaml", src);
	p = pol_load_file(path, &errs);
	assert_non_null(p);
	assert_int_equal(pol_rule_find(p, "left-pad")->publish, POL_ALLOW);
	assert_int_equal(pol_rule_find(p, "left-pad")->sourcemaps,
	    POL_MODE_ALLOW);
	assert_int_equal(pol_rule_find(p, "left-pad")->secrets, POL_MODE_BLOCK);
	assert_int_equal(pol_rule_find(p, "left-pad")->secrets_in_tests,
	    POL_TESTS_BLOCK);
	assert_true(pol_rule_find(p, "@scope/x")->publish_config.n > 3);
	assert_int_equal(pol_rule_find(p, "@scope/x")->publish, POL_ALLOW);
	assert_ptr_not_equal(pol_rule_find(p, "@scope/x"), &p->dflt);
	pol_policy_unref(p);

	/* A missing file: one error, with no place, naming the file. */
	snprintf(path, sizeof(path), "%s/contrib/policies/nope.yaml", src);
	assert_null(pol_load_file(path, &errs));
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.e[0].line, 0);
	assert_string_equal(errs.file, path);
	assert_non_null(strstr(errs.e[0].msg, "cannot open"));
	/* A directory is not a policy. */
	snprintf(path, sizeof(path), "%s/contrib/policies", src);
	assert_null(pol_load_file(path, &errs));
	assert_int_equal(errs.count, 1);
	assert_null(pol_load_file(NULL, &errs));
}

/* A policy file written by the test: errors carry its name. */
static void
test_file_errors(void **state)
{
	char		 path[] = "/tmp/pubgate-test-load-XXXXXX";
	char		 line[512];
	FILE		*f;
	int		 fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("version: 1\nrules:\n  - match: x\n    acces: public\n", f);
	fclose(f);
	assert_null(pol_load_file(path, &errs));
	unlink(path);
	assert_int_equal(errs.count, 1);
	pol_errors_format(&errs, 0, line, sizeof(line));
	assert_non_null(strstr(line, ":4:5: unknown key 'acces' in a rule "
	    "(did you mean 'access'?)"));
	assert_memory_equal(line, path, strlen(path));
}

/* The policy's identity: the SHA-256 of its text, its name and revision. */
static void
test_identity(void **state)
{
	static const char	 text[] = "version: 1\nname: acme publishing\n"
	    "revision: \"2026-12-03.1\"\ndefault: deny\n";
	struct pol_policy	*p;

	(void)state;
	p = load(text);
	assert_string_equal(pol_policy_name(p), "acme publishing");
	assert_string_equal(pol_policy_revision(p), "2026-12-03.1");
	/* sha256sum of the same bytes. */
	assert_string_equal(pol_policy_sha256(p), "2c9c9f7bad124db20abcb02a1b"
	    "27799668f2a7993a9dd26506655d4a26ccde3d");
	pol_policy_unref(p);
	p = load("version: 1\ndefault: deny\n");
	assert_string_equal(pol_policy_name(p), "");
	assert_string_equal(pol_policy_revision(p), "");
	assert_int_equal(strlen(pol_policy_sha256(p)), 64);
	pol_policy_unref(p);
	refused("version: 1\nname: \"a\\nb\"\ndefault: deny\n", 1, 2, 7,
	    "name: want 1 to 128");
	refused("version: 1\nrevision: [1]\ndefault: deny\n", 1, 2, 11,
	    "revision: expected");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_rule_defaults),
		cmocka_unit_test(test_error_places),
		cmocka_unit_test(test_zero_rules),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_list_caps),
		cmocka_unit_test(test_find_order),
		cmocka_unit_test(test_check_write),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_contrib),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
