/*
 * tests/fuzz/fuzz_policy_load.c: libFuzzer target for policy/load.c (and
 * through it glob.c and the regex check of secrets.c).  Depends on
 * policy-int.h and libc only.
 *
 * The input is a policy document.  The chunk-split invariant of the
 * stream stages does not apply (the loader takes a whole document), so
 * the invariant here is determinism: loading the same bytes twice gives
 * the same outcome, the same error count and the same kept errors.  On
 * success the policy must hold what the loader promises (every rule has a
 * valid match glob, limits within their ceilings, never zero rules with
 * default allow); on failure there is at least one error.  Leaks and
 * memory errors are the sanitizers' to find.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"

#define PL_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_rule(const struct pol_rule *r)
{
	size_t	 i;

	PL_CHECK(r->match != NULL);
	PL_CHECK(r->limits.tarball >= 1 && r->limits.tarball <= POL_CAP_TARBALL);
	PL_CHECK(r->limits.unpacked >= 1 &&
	    r->limits.unpacked <= POL_CAP_UNPACKED);
	PL_CHECK(r->limits.files >= 1 && r->limits.files <= POL_CAP_FILES);
	PL_CHECK(r->limits.file >= 1 && r->limits.file <= POL_CAP_FILE);
	PL_CHECK(r->limits.ratio >= 1 && r->limits.ratio <= POL_CAP_RATIO);
	PL_CHECK(r->message == NULL || strlen(r->message) < POL_TEXT_MAX);
	PL_CHECK(!r->has_files_allow || r->files_allow.n > 0);
	for (i = 0; i < r->files_allow.n; i++)
		PL_CHECK(pol_glob_check(r->files_allow.pat[i], NULL, 0) == 0);
	for (i = 0; i < r->files_deny.n; i++)
		PL_CHECK(pol_glob_check(r->files_deny.pat[i], NULL, 0) == 0);
	for (i = 0; i < r->ncustom; i++)
		PL_CHECK(r->custom[i].id != NULL && r->custom[i].regex != NULL);
	PL_CHECK(r->ncustom <= POL_CUSTOM_MAX);
	PL_CHECK(r->secrets_db != NULL ||
	    (r->secrets == POL_MODE_ALLOW && r->ncustom == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_errors e1, e2;
	struct pol_policy	*p1, *p2;
	const struct pol_rule	*r;
	char			 line[POL_ERRMSG_MAX + 300];
	size_t			 i, n;

	p1 = pol_load_buf("fuzz.yaml", data, size, &e1);
	p2 = pol_load_buf("fuzz.yaml", data, size, &e2);
	PL_CHECK((p1 == NULL) == (p2 == NULL));
	PL_CHECK(e1.count == e2.count);
	n = e1.count < POL_ERRORS_MAX ? e1.count : POL_ERRORS_MAX;
	PL_CHECK(memcmp(e1.e, e2.e, n * sizeof(e1.e[0])) == 0);
	for (i = 0; i < n; i++) {
		PL_CHECK(e1.e[i].line >= 0 && e1.e[i].col >= 0);
		PL_CHECK(memchr(e1.e[i].msg, '\0', sizeof(e1.e[i].msg)) != NULL);
		PL_CHECK(i == 0 || e1.e[i - 1].line <= e1.e[i].line);
		pol_errors_format(&e1, i, line, sizeof(line));
		PL_CHECK(strlen(line) < sizeof(line));
	}
	if (p1 == NULL) {
		PL_CHECK(e1.count >= 1);
		return 0;
	}
	PL_CHECK(e1.count == 0);
	PL_CHECK(pol_policy_nrules(p1) == pol_policy_nrules(p2));
	PL_CHECK(pol_policy_nrules(p1) > 0 || p1->default_verdict == POL_DENY);
	PL_CHECK(pol_policy_nrules(p1) <= POL_RULES_MAX);
	for (i = 0; i < p1->nrules; i++) {
		check_rule(&p1->rules[i]);
		PL_CHECK(strcmp(p1->rules[i].match, p2->rules[i].match) == 0);
		/* Any name finds a rule or the default one. */
		r = pol_rule_find(p1, p1->rules[i].match);
		PL_CHECK(r != NULL);
	}
	check_rule(&p1->dflt);
	PL_CHECK(p1->dflt.publish == p1->default_verdict);
	PL_CHECK(pol_rule_find(p1, "@fuzz/pkg") != NULL);
	pol_policy_ref(p1);
	pol_policy_unref(p1);
	pol_policy_unref(p1);
	pol_policy_unref(p2);
	return 0;
}
