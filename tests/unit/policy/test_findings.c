/*
 * tests/unit/policy/test_findings.c: finding fingerprints and
 * allow_findings (issue 10), and the order and overflow counts of a
 * report's reasons (issue 13 part 5), through the whole engine: packages
 * are built here as real .tgz (ustar + gzip) and fed in several splits.
 * And README's policy reference against the loader's keys.
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

/* Random-looking Stripe keys of the right shape: one fake, one "real". */
#define FAKE	"sk_live_4eC39HqLyjWDarjtT1zdp7dc"
#define REAL	"sk_live_Zq81mNbVx02LkPwe93JdTy7u"

struct tgz {
	unsigned char	*tar;
	size_t		 len, cap;
};

static void
put(struct tgz *t, const void *p, size_t n)
{
	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2 + 4096;
		t->tar = realloc(t->tar, t->cap);
		assert_non_null(t->tar);
	}
	memcpy(t->tar + t->len, p, n);
	t->len += n;
}

/* add() : one regular file "package/<path>" as npm pack writes it. */
static void
add(struct tgz *t, const char *path, const char *data)
{
	unsigned char	 h[512], pad[512];
	size_t		 n = strlen(data), i;
	unsigned	 sum = 0;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "package/%s", path);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011o", (unsigned)n & 07777777u);
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	put(t, h, 512);
	put(t, data, n);
	memset(pad, 0, sizeof(pad));
	if (n % 512)
		put(t, pad, 512 - n % 512);
}

/* finish() : the end blocks, gzip'd; returns the .tgz (t is freed). */
static unsigned char *
finish(struct tgz *t, size_t *outlen)
{
	unsigned char	 zero[1024];
	unsigned char	*out;
	z_stream	 z;

	memset(zero, 0, sizeof(zero));
	put(t, zero, sizeof(zero));
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	out = malloc(deflateBound(&z, t->len) + 64);
	assert_non_null(out);
	z.next_in = t->tar;
	z.avail_in = (uInt)t->len;
	z.next_out = out;
	z.avail_out = (uInt)deflateBound(&z, t->len) + 64;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
	free(t->tar);
	return out;
}

static struct pol_policy *
policy(const char *extra)
{
	struct pol_errors	*errs = calloc(1, sizeof(*errs));
	struct pol_policy	*p;
	char			 doc[4096], line[600];
	size_t			 i;

	assert_non_null(errs);
	snprintf(doc, sizeof(doc), "version: 1\ndefault: deny\nrules:\n"
	    "  - match: \"fp*\"\n    publish: allow\n%s", extra);
	p = pol_load_buf("findings.yaml", doc, strlen(doc), errs);
	for (i = 0; p == NULL && i < errs->count && i < POL_ERRORS_MAX; i++)
		fprintf(stderr, "%s\n", pol_errors_format(errs, i, line,
		    sizeof(line)));
	free(errs);
	return p;
}

/* judge() : the verdict of tgz fed in chunks of chunk bytes. */
static enum pol_verdict
judge(struct pol_policy *p, const unsigned char *buf, size_t len,
    size_t chunk, struct pol_stream **sp, const struct pol_report **r)
{
	struct pol_stream_opts	 o = { POL_INPUT_TGZ, NULL, NULL, NULL, 0, NULL, NULL };
	size_t			 off, n;

	*sp = pol_publish_new(p, &o);
	assert_non_null(*sp);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if (pol_publish_feed(*sp, buf + off, n) != POL_CONTINUE)
			break;
	}
	return pol_publish_end(*sp, r);
}

/* reason() : the kept reason of rule in file that is (not) suppressed. */
static const struct pol_reason *
reason(const struct pol_report *r, const char *rule, const char *file,
    int suppressed)
{
	size_t	 i;

	for (i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].rule, rule) == 0 &&
		    strcmp(r->reasons[i].file, file) == 0 &&
		    r->reasons[i].suppressed == suppressed)
			return &r->reasons[i];
	return NULL;
}

static unsigned char *
pkg(size_t *len, const char *const *files)
{
	struct tgz	 t = { NULL, 0, 0 };
	size_t		 i;

	add(&t, "package.json", "{\"name\":\"fpt\",\"version\":\"1.0.0\"}\n");
	for (i = 0; files[i] != NULL; i += 2)
		add(&t, files[i], files[i + 1]);
	return finish(&t, len);
}

/*
 * The fingerprint: printed with the finding, the same in every split and
 * every file for one value, different for another value; never the value.
 */
static void
test_fingerprint(void **state)
{
	static const char *const files[] = {
		"test/fake.js", "const k = \"" FAKE "\";\n",
		"lib/other.js", "// copy\nmodule.exports = '" FAKE "';\n",
		"real.js", "const k = \"" REAL "\";\n", NULL };
	static const size_t chunks[] = { 1 << 20, 4096, 7, 1 };
	struct pol_policy	*p = policy("");
	struct pol_stream	*s;
	const struct pol_report	*r;
	const struct pol_reason	*a, *b, *c;
	char			 fake[POL_FP_LEN + 1] = "", text[8192];
	unsigned char		*tgz;
	size_t			 len, i;

	(void)state;
	assert_non_null(p);
	tgz = pkg(&len, files);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(judge(p, tgz, len, chunks[i], &s, &r),
		    POL_DENY);
		a = reason(r, "secret.stripe-live-key", "test/fake.js", 0);
		b = reason(r, "secret.stripe-live-key", "lib/other.js", 0);
		c = reason(r, "secret.stripe-live-key", "real.js", 0);
		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(c);
		assert_int_equal(strlen(a->fingerprint), POL_FP_LEN);
		assert_string_equal(a->fingerprint, b->fingerprint);
		assert_string_not_equal(a->fingerprint, c->fingerprint);
		if (fake[0] == '\0')
			memcpy(fake, a->fingerprint, sizeof(fake));
		assert_string_equal(a->fingerprint, fake);
		/* The 403 text gives it ready to copy, never the value. */
		pol_report_render(r, text, sizeof(text));
		assert_non_null(strstr(text, "fingerprint: "));
		assert_non_null(strstr(text, fake));
		assert_null(strstr(text, "4eC39HqLyjWDarjtT1zdp7dc"));
		pol_report_json(r, text, sizeof(text));
		assert_non_null(strstr(text, "\"fingerprint\":\""));
		assert_null(strstr(text, "4eC39HqLyjWDarjtT1zdp7dc"));
		pol_publish_free(s);
	}
	free(tgz);
	pol_policy_unref(p);
}

/* fp_of() : the fingerprint the engine prints for FAKE. */
static void
fp_of(char out[POL_FP_LEN + 1])
{
	static const char *const files[] = {
		"a.js", "x = \"" FAKE "\";\n", NULL };
	struct pol_policy	*p = policy("");
	struct pol_stream	*s;
	const struct pol_report	*r;
	unsigned char		*tgz;
	size_t			 len;

	tgz = pkg(&len, files);
	assert_int_equal(judge(p, tgz, len, 1 << 20, &s, &r), POL_DENY);
	assert_int_equal(r->nreasons, 1);
	memcpy(out, r->reasons[0].fingerprint, POL_FP_LEN + 1);
	pol_publish_free(s);
	free(tgz);
	pol_policy_unref(p);
}

/*
 * allow_findings: the named finding passes (recorded as suppressed), an
 * unsuppressed one in the same package, or in the same file after it,
 * still blocks; the file glob and the rule glob must fit.
 */
static void
test_allow(void **state)
{
	static const char *const only_fake[] = {
		"test/fake.js", "const k = \"" FAKE "\";\n", NULL };
	static const char *const fake_and_real[] = {
		"test/fake.js", "const k = \"" FAKE "\";\n",
		"real.js", "const k = \"" REAL "\";\n", NULL };
	static const char *const same_file[] = {
		"test/fake.js", "a = \"" FAKE "\";\nb = \"" REAL "\";\n", NULL };
	static const size_t chunks[] = { 1 << 20, 5, 1 };
	struct pol_policy	*p, *other_file, *other_rule;
	struct pol_stream	*s;
	const struct pol_report	*r;
	const struct pol_reason	*rs;
	char			 fp[POL_FP_LEN + 1], extra[512], text[4096];
	unsigned char		*tgz;
	size_t			 len, i;

	(void)state;
	fp_of(fp);
	snprintf(extra, sizeof(extra), "    allow_findings:\n"
	    "      - rule: secret.stripe-live-key\n"
	    "        file: \"test/**\"\n        fingerprint: %s\n", fp);
	p = policy(extra);
	assert_non_null(p);
	snprintf(extra, sizeof(extra), "    allow_findings:\n"
	    "      - {rule: \"secret.*\", file: \"lib/**\", fingerprint: %s}\n",
	    fp);
	other_file = policy(extra);
	assert_non_null(other_file);
	snprintf(extra, sizeof(extra), "    allow_findings:\n"
	    "      - {rule: secret.jwt, file: \"**\", fingerprint: %s}\n", fp);
	other_rule = policy(extra);
	assert_non_null(other_rule);

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		/* Only the known fake: allowed, and the record says why. */
		tgz = pkg(&len, only_fake);
		assert_int_equal(judge(p, tgz, len, chunks[i], &s, &r),
		    POL_ALLOW);
		assert_int_equal(r->nsuppressed, 1);
		rs = reason(r, "secret.stripe-live-key", "test/fake.js", 1);
		assert_non_null(rs);
		assert_int_equal(rs->warn, 1);
		assert_string_equal(rs->fingerprint, fp);
		assert_non_null(strstr(rs->text, "suppressed by allow_findings"));
		pol_report_notice(r, text, sizeof(text));
		assert_non_null(strstr(text, "suppressed"));
		pol_report_render(r, text, sizeof(text));
		assert_non_null(strstr(text, "1 finding suppressed"));
		pol_report_json(r, text, sizeof(text));
		assert_non_null(strstr(text, "\"suppressed\":true"));
		pol_publish_free(s);
		/* ... not under another file glob or rule glob. */
		assert_int_equal(judge(other_file, tgz, len, chunks[i], &s,
		    &r), POL_DENY);
		assert_int_equal(r->nsuppressed, 0);
		pol_publish_free(s);
		assert_int_equal(judge(other_rule, tgz, len, chunks[i], &s,
		    &r), POL_DENY);
		pol_publish_free(s);
		free(tgz);

		/* An unsuppressed finding in the same package blocks. */
		tgz = pkg(&len, fake_and_real);
		assert_int_equal(judge(p, tgz, len, chunks[i], &s, &r),
		    POL_DENY);
		assert_non_null(reason(r, "secret.stripe-live-key", "real.js",
		    0));
		assert_non_null(reason(r, "secret.stripe-live-key",
		    "test/fake.js", 1));
		pol_publish_free(s);
		free(tgz);

		/* ... and in the same file, after the fake. */
		tgz = pkg(&len, same_file);
		assert_int_equal(judge(p, tgz, len, chunks[i], &s, &r),
		    POL_DENY);
		rs = reason(r, "secret.stripe-live-key", "test/fake.js", 0);
		assert_non_null(rs);
		assert_string_not_equal(rs->fingerprint, fp);
		pol_publish_free(s);
		free(tgz);
	}
	pol_policy_unref(p);
	pol_policy_unref(other_file);
	pol_policy_unref(other_rule);
}

/* Bad allow_findings entries are errors at their file:line:col. */
static void
test_load_errors(void **state)
{
	static const char doc[] = "version: 1\nrules:\n"
	    "  - match: \"*\"\n    publish: allow\n    allow_findings:\n"
	    "      - {rule: sourcemap.x, file: \"a\", fingerprint: "
	    "0123456789abcdef}\n"					/* 6 */
	    "      - {rule: secret.jwt, file: \"[\", fingerprint: "
	    "0123456789abcdef}\n"					/* 7 */
	    "      - {rule: secret.jwt, file: a, fingerprint: 0123}\n"	/* 8 */
	    "      - {rule: secret.jwt, file: a, fingerprint: "
	    "0123456789ABCDEF}\n"					/* 9 */
	    "      - {rule: secret.jwt, file: a}\n"			/* 10 */
	    "      - {rule: secret.openssh-private-key, file: a, "
	    "fingerprint: 0123456789abcdef}\n"				/* 11 */
	    "      - {rule: secret.jwt, file: a, fingerprint: "
	    "0123456789abcdef, why: x}\n"				/* 12 */
	    "      - just a string\n";					/* 13 */
	static const char *const want[] = {
	    "findings.yaml:6:16: allow_findings.rule: 'sourcemap.x' is not a "
	    "secret rule id",
	    "findings.yaml:7:34: allow_findings.file: bad glob '['",
	    "findings.yaml:8:50: allow_findings.fingerprint: '0123' is not a "
	    "fingerprint",
	    "findings.yaml:9:50: allow_findings.fingerprint: "
	    "'0123456789ABCDEF' is not",
	    "findings.yaml:10:9: allow_findings entry: missing 'fingerprint'",
	    "findings.yaml:11:16: allow_findings.rule: "
	    "secret.openssh-private-key findings have no fingerprint",
	    "findings.yaml:12:68: unknown key 'why'", "findings.yaml:13:9: allow_findings entry: "
	    "expected a mapping" };
	struct pol_errors	*errs = calloc(1, sizeof(*errs));
	char			 line[600];
	size_t			 i, j;

	(void)state;
	assert_non_null(errs);
	assert_null(pol_load_buf("findings.yaml", doc, sizeof(doc) - 1, errs));
	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
		for (i = 0; i < errs->count && i < POL_ERRORS_MAX; i++) {
			pol_errors_format(errs, i, line, sizeof(line));
			if (strncmp(line, want[j], strlen(want[j])) == 0)
				break;
		}
		if (i == errs->count) {
			for (i = 0; i < errs->count; i++)
				fprintf(stderr, "%s\n", pol_errors_format(errs,
				    i, line, sizeof(line)));
			free(errs);
			fail_msg("no error like \"%s\"", want[j]);
		}
	}
	free(errs);
}

/*
 * Reports: policy-level reasons first whatever their order of discovery,
 * and past the cap a count per rule.
 */
static void
test_report_order(void **state)
{
	struct pol_policy	*p;
	struct pol_stream	*s;
	const struct pol_report	*r;
	struct tgz		 t = { NULL, 0, 0 };
	unsigned char		*tgz;
	char			 path[64], text[16384];
	size_t			 len, i, nmore = 0;

	(void)state;
	/* Publishing is denied by the rule: found at the end, shown first. */
	{
		struct pol_errors *errs = calloc(1, sizeof(*errs));
		static const char doc[] = "version: 1\nrules:\n"
		    "  - match: \"fp*\"\n    publish: deny\n"
		    "    files:\n      deny: [\"**/*.txt\"]\n";

		assert_non_null(errs);
		p = pol_load_buf("order.yaml", doc, sizeof(doc) - 1, errs);
		free(errs);
		assert_non_null(p);
	}
	add(&t, "package.json", "{\"name\":\"fpt\",\"version\":\"1.0.0\"}\n");
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "f%02zu.txt", i);
		add(&t, path, "x\n");
	}
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "k%zu.js", i);
		add(&t, path, i == 0 ? "a = \"" FAKE "\";\n" :
		    "b = \"" REAL "\";\n");
	}
	tgz = finish(&t, &len);
	assert_int_equal(judge(p, tgz, len, 4096, &s, &r), POL_DENY);
	assert_string_equal(r->reasons[0].rule, "publish.denied");
	assert_int_equal(r->nreasons, POL_REASONS_MAX);
	assert_int_equal(r->nreasons_total, 1 + 40 + 3);
	for (i = 0; i < r->nmore; i++) {
		nmore += r->more[i].n;
		assert_true(strcmp(r->more[i].rule, "publish.denied") != 0);
	}
	assert_int_equal(nmore, r->nreasons_total - r->nreasons);
	pol_report_render(r, text, sizeof(text));
	assert_non_null(strstr(text, "  - [publish.denied]"));
	assert_true(strstr(text, "[publish.denied]") <
	    strstr(text, "[files.deny]"));
	assert_non_null(strstr(text, "... and 12 more reasons: "));
	assert_non_null(strstr(text, "secret.stripe-live-key x"));
	pol_report_json(r, text, sizeof(text));
	assert_non_null(strstr(text, "\"more\":{\""));
	pol_publish_free(s);
	free(tgz);
	pol_policy_unref(p);
}

/*
 * README's "Policy reference" table has a row for every key the loader
 * reads (sub-keys as `files.allow`, or named in the row of a list of
 * mappings), and every row is a key the loader reads.
 */
static void
test_readme_keys(void **state)
{
	static const char *const secs[] = { "rule", "files", "limits",
	    "custom_secrets", "allow_findings" };
	const char *const	*keys, *const *rk;
	const char		*src = getenv("SRCDIR");
	char			 path[1024], line[4096], want[128], *p, *e;
	char			*table = NULL;
	size_t			 tlen = 0, n, nr, i, j, k;
	int			 in = 0, found;
	FILE			*f;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/README.md", src);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		/* The key table: from its header to the blank line. */
		if (strncmp(line, "## ", 3) == 0)
			in = strcmp(line, "## Policy reference\n") == 0;
		else if (in == 1 && strncmp(line, "| key |", 7) == 0)
			in = 2;
		else if (in == 2 && line[0] == '\n')
			in = 0;
		if (in != 2 || strncmp(line, "| `", 3) != 0)
			continue;
		table = realloc(table, tlen + strlen(line) + 1);
		assert_non_null(table);
		memcpy(table + tlen, line, strlen(line) + 1);
		tlen += strlen(line);
	}
	fclose(f);
	assert_non_null(table);
	/* Every key read has a row. */
	rk = pol_load_keys("rule", &nr);
	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		keys = pol_load_keys(secs[i], &n);
		assert_non_null(keys);
		for (j = 0; j < n; j++) {
			if (i == 0)
				snprintf(want, sizeof(want), "| `%s", keys[j]);
			else
				snprintf(want, sizeof(want), "%s", keys[j]);
			found = 0;
			for (p = table; p != NULL && *p; p = e) {
				e = strchr(p, '\n');
				if (e != NULL)
					*e = '\0';
				if (i == 0 ? (strncmp(p, want, strlen(want)) ==
				    0 || (strncmp(p, "| `rules[].", 11) == 0 &&
				    strncmp(p + 11, keys[j], strlen(keys[j])) ==
				    0)) : (strncmp(p + 3, secs[i],
				    strlen(secs[i])) == 0 && strstr(p, want)))
					found = 1;
				if (e != NULL)
					*e++ = '\n';
			}
			if (!found)
				fail_msg("README's policy reference has no row "
				    "for %s%s%s", i ? secs[i] : "", i ? "." :
				    "", keys[j]);
		}
	}
	/* Every row names a key read. */
	for (p = table; p != NULL && *p; p = e) {
		e = strchr(p, '\n');
		p += 3;
		if (strncmp(p, "rules[].", 8) == 0)
			p += 8;
		k = strcspn(p, ".`");
		found = 0;
		for (j = 0; j < nr; j++)
			if (strlen(rk[j]) == k && strncmp(p, rk[j], k) == 0)
				found = 1;
		keys = pol_load_keys("root", &n);
		for (j = 0; j < n; j++)
			if (strlen(keys[j]) == k && strncmp(p, keys[j], k) == 0)
				found = 1;
		if (!found)
			fail_msg("README's policy reference names '%.*s', which "
			    "the loader does not read", (int)k, p);
		if (e != NULL)
			e++;
	}
	free(table);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_report_order),
		cmocka_unit_test(test_readme_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
