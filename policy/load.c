/*
 * policy/load.c: the YAML policy loader, and the small lookups on a
 * loaded policy (pol_rule_find, pol_check_write, refcounting).
 *
 * Owns the mapping from the policy document (README "Policy reference")
 * to struct pol_policy / struct pol_rule, the defaults of a rule, the size
 * syntax and the loader's diagnostics.  It depends on libyaml, glob.c (to
 * check globs) and secrets.c (to check custom regexes and compile each
 * rule's detectors); never on the proxy, never on libevent.  It never
 * logs: every problem becomes a struct pol_error with its line and column.
 *
 * Data flow: the whole document (capped at POL_POLICY_BYTES_MAX) is
 * composed by yaml_parser_load() into libyaml's node tree; a second load
 * makes sure there is exactly one document.  The walk then follows the
 * schema, and only the schema, so its depth is fixed whatever the input:
 * root mapping -> rules -> each rule -> files / limits / lists.  Every
 * problem is recorded and the walk goes on, so one run reports every
 * error.  Anchors and aliases are refused (a node reached twice), which
 * bounds the walk by the size of the document.  Only when the document
 * has no error at all are the rules' secret detectors compiled; any
 * failure frees everything built so far: the caller gets a whole policy
 * or NULL, never a part.
 *
 * The defaults of a rule (pol_rule_defaults) share one constant
 * publish_config list; rule_clear() knows not to free it.  Rules without
 * custom secret patterns share the default rule's compiled detectors
 * (compile_detectors); policy_free() frees that database once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "policy-int.h"

#define LD_SHOW		40	/* bytes of a bad value echoed in a message */

/* publish_config of a rule that does not set it; shared, never freed. */
static char *const def_publish_config[] = { "access", "registry", "tag" };

static const char *const verdict_words[] = { "allow", "deny", NULL };
static const char *const mode_words[] = { "block", "allow", NULL };
static const char *const access_words[] = { "public", "restricted", NULL };
static const char *const provenance_words[] = { "optional", "require", NULL };
static const char *const enforce_words[] = { "enforce", "monitor", NULL };
static const char *const approval_words[] = { "none", "required", NULL };
static const char *const tests_words[] = { "block", "allow", "warn", NULL };
/* In enum pol_archives order. */
static const char *const archives_words[] = { "judge", "block", "allow", NULL };
static const char *const write_kinds[] = {
	"dist-tag", "deprecate", "unpublish", "owner", "access", NULL
};

/* The keys of each mapping of the document, in README order. */
enum { K_VERSION, K_NAME, K_REVISION, K_DEFAULT, K_RULES, K_ROOT_N };
static const char *const root_keys[] = { "version", "name", "revision",
	"default", "rules" };

enum {
	K_MATCH, K_PUBLISH, K_MESSAGE, K_ACCESS, K_PRIVATE, K_FILES, K_LIMITS,
	K_SOURCEMAPS, K_SECRETS, K_CUSTOM_SECRETS, K_PATHS, K_PUBLISH_CONFIG,
	K_TAGS, K_PROVENANCE, K_WRITES, K_SECRETS_IN_TESTS, K_MODE, K_WARN,
	K_ARCHIVES, K_ALLOW_FINDINGS, K_DIFF, K_APPROVAL, K_RULE_N
};
static const char *const rule_keys[] = {
	"match", "publish", "message", "access", "private", "files", "limits",
	"sourcemaps", "secrets", "custom_secrets", "paths", "publish_config",
	"tags", "provenance", "writes", "secrets_in_tests", "mode", "warn",
	"archives", "allow_findings", "diff", "approval"
};

enum { K_D_NEW_FILES, K_D_MAX_GROWTH, K_D_NEW_FILE_SIZE, K_D_UNREACHABLE,
	K_DIFF_N };
static const char *const diff_keys[] = {
	"new_files", "max_growth", "new_file_size", "unreachable"
};
/* In enum pol_diff_new order. */
static const char *const diff_new_words[] = { "allow", "warn", "block", NULL };

enum { K_F_ALLOW, K_F_DENY, K_FILES_N };
static const char *const files_keys[] = { "allow", "deny" };

enum { K_L_TARBALL, K_L_UNPACKED, K_L_FILES, K_L_FILE, K_L_RATIO, K_LIMITS_N };
static const char *const limits_keys[] = {
	"tarball", "unpacked", "files", "file", "ratio"
};

enum { K_A_RULE, K_A_FILE, K_A_FP, K_ALLOWF_N };
static const char *const allowf_keys[] = { "rule", "file", "fingerprint" };
/* Detectors whose findings carry no fingerprint (single-match: no value). */
static const char *const no_fp_rules[] = { "secret.gcp-service-account",
    "secret.openssh-private-key", "secret.npm-config-gypi", NULL };

enum { K_C_ID, K_C_REGEX, K_CUSTOM_N };
static const char *const custom_keys[] = { "id", "regex" };

#define KEYS_MAX	K_RULE_N	/* the largest mapping */

/* The state of one load. */
struct ld {
	yaml_document_t		*doc;
	struct pol_errors	*errs;
	const char		*cache_dir;	/* compiled detectors; NULL */
	unsigned char		*seen;		/* per node: reached already */
	size_t			 nnodes;
	int			*rule_col;	/* column of each rule */
};

/* One mapping being walked: which keys were seen, where. */
struct ld_map {
	const char *const	*keys;
	int			 nkeys;
	const char		*what;		/* "a rule", "limits", ... */
	int			 line[KEYS_MAX];	/* 0: not seen */
};

static void	ld_err(struct ld *, const yaml_mark_t *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ errors */

static void
errs_init(struct pol_errors *errs, const char *name)
{
	memset(errs, 0, sizeof(*errs));
	snprintf(errs->file, sizeof(errs->file), "%s",
	    name != NULL ? name : "(policy)");
}

/*
 * errs_add() : records one error at line:col (1-based, 0 for none); the
 * count grows past POL_ERRORS_MAX, the text is kept for the first ones.
 */
static void
errs_add(struct pol_errors *errs, int line, int col, const char *fmt,
    va_list ap)
{
	struct pol_error *e;

	if (errs->count < POL_ERRORS_MAX) {
		e = &errs->e[errs->count];
		e->line = line;
		e->col = col;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	errs->count++;
}

static void __attribute__((format(printf, 4, 5)))
errs_addf(struct pol_errors *errs, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	errs_add(errs, line, col, fmt, ap);
	va_end(ap);
}

/* ld_err() : an error at mark m (libyaml marks are 0-based), or nowhere. */
static void
ld_err(struct ld *ld, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	 ap;
	int	 line = 0, col = 0;

	if (m != NULL) {
		line = m->line > (size_t)INT32_MAX - 1 ? INT32_MAX :
		    (int)m->line + 1;
		col = m->column > (size_t)INT32_MAX - 1 ? INT32_MAX :
		    (int)m->column + 1;
	}
	va_start(ap, fmt);
	errs_add(ld->errs, line, col, fmt, ap);
	va_end(ap);
}

/* errs_sort() : puts the kept errors in document order (stable). */
static void
errs_sort(struct pol_errors *errs)
{
	struct pol_error tmp;
	size_t		 n, i, j;

	n = errs->count < POL_ERRORS_MAX ? errs->count : POL_ERRORS_MAX;
	for (i = 1; i < n; i++) {
		tmp = errs->e[i];
		for (j = i; j > 0 && (errs->e[j - 1].line > tmp.line ||
		    (errs->e[j - 1].line == tmp.line &&
		    errs->e[j - 1].col > tmp.col)); j--)
			errs->e[j] = errs->e[j - 1];
		errs->e[j] = tmp;
	}
}

/*
 * pol_errors_format() : error i as "file:line:col: msg" ("file: msg" when
 * the error has no place) into buf, always NUL-terminated; returns buf.
 */
const char *
pol_errors_format(const struct pol_errors *errs, size_t i, char *buf,
    size_t len)
{
	const struct pol_error *e;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	if (errs == NULL || i >= errs->count || i >= POL_ERRORS_MAX)
		return buf;
	e = &errs->e[i];
	if (e->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", errs->file, e->line, e->col,
		    e->msg);
	else
		snprintf(buf, len, "%s: %s", errs->file, e->msg);
	return buf;
}

/* ------------------------------------------------------------- rules */

static void
globs_free(struct pol_globs *g)
{
	size_t	 i;

	if (g->pat != NULL && g->pat != (char **)def_publish_config) {
		for (i = 0; i < g->n; i++)
			free(g->pat[i]);
		free(g->pat);
	}
	g->pat = NULL;
	g->n = 0;
}

/*
 * pol_load_keys() : the keys the loader reads in one section ("root",
 * "rule", "files", "limits", "custom_secrets", "allow_findings"), for the
 * test that holds README's policy reference to them; NULL if none.
 */
const char *const *
pol_load_keys(const char *section, size_t *n)
{
	static const struct {
		const char		*name;
		const char *const	*keys;
		size_t			 n;
	} secs[] = {
		{ "root", root_keys, K_ROOT_N },
		{ "rule", rule_keys, K_RULE_N },
		{ "files", files_keys, K_FILES_N },
		{ "limits", limits_keys, K_LIMITS_N },
		{ "custom_secrets", custom_keys, K_CUSTOM_N },
		{ "allow_findings", allowf_keys, K_ALLOWF_N },
	};
	size_t	 i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if (strcmp(secs[i].name, section) == 0) {
			*n = secs[i].n;
			return secs[i].keys;
		}
	*n = 0;
	return NULL;
}

/* rule_clear() : frees everything a rule owns (not the rule itself). */
static void
rule_clear(struct pol_rule *r)
{
	size_t	 i;

	free(r->match);
	free(r->message);
	free(r->access);
	globs_free(&r->files_allow);
	globs_free(&r->files_deny);
	globs_free(&r->publish_config);
	globs_free(&r->tags);
	globs_free(&r->warn);
	for (i = 0; i < r->nallow_findings; i++) {
		free(r->allow_findings[i].rule);
		free(r->allow_findings[i].file);
	}
	free(r->allow_findings);
	for (i = 0; i < r->ncustom; i++) {
		free(r->custom[i].id);
		free(r->custom[i].regex);
	}
	free(r->custom);
	pol_secrets_free(r->secrets_db);
	memset(r, 0, sizeof(*r));
}

/*
 * pol_rule_defaults() : fills r with the defaults of a rule (README table):
 * publish deny, every mode block, limits POL_DEF_*, publish_config
 * [access, registry, tag], any dist-tag, provenance optional, writes
 * allow.  Allocates nothing; r owns no memory afterwards.
 */
void
pol_rule_defaults(struct pol_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->publish = POL_DENY;
	r->private_mode = POL_MODE_BLOCK;
	r->limits.tarball = POL_DEF_TARBALL;
	r->limits.unpacked = POL_DEF_UNPACKED;
	r->limits.files = POL_DEF_FILES;
	r->limits.file = POL_DEF_FILE;
	r->limits.ratio = POL_DEF_RATIO;
	r->sourcemaps = POL_MODE_BLOCK;
	r->secrets = POL_MODE_BLOCK;
	r->secrets_in_tests = POL_TESTS_BLOCK;
	r->paths = POL_MODE_BLOCK;
	r->publish_config.n = sizeof(def_publish_config) /
	    sizeof(def_publish_config[0]);
	r->publish_config.pat = (char **)def_publish_config;
	r->provenance = 0;
	r->writes = POL_ALLOW;
	pol_diff_defaults(&r->diff);
}

static void
policy_free(struct pol_policy *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		if (p->rules[i].secrets_db == p->dflt.secrets_db)
			p->rules[i].secrets_db = NULL;	/* dflt's: freed with it */
		rule_clear(&p->rules[i]);
	}
	free(p->rules);
	rule_clear(&p->dflt);
	free(p);
}

/*
 * pol_rule_find() : returns the first rule whose match fits name, else
 * &p->dflt (NULL only when p is NULL).
 */
const struct pol_rule *
pol_rule_find(const struct pol_policy *p, const char *name)
{
	size_t	 i;

	if (p == NULL)
		return NULL;
	if (name != NULL) {
		for (i = 0; i < p->nrules; i++) {
			if (pol_glob_match(p->rules[i].match, name))
				return &p->rules[i];
		}
	}
	return &p->dflt;
}

struct pol_policy *
pol_policy_ref(struct pol_policy *p)
{
	if (p != NULL)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

/* pol_policy_unref() : drops a reference; the last one frees p. */
void
pol_policy_unref(struct pol_policy *p)
{
	if (p == NULL)
		return;
	if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
		policy_free(p);
}

size_t
pol_policy_nrules(const struct pol_policy *p)
{
	return p != NULL ? p->nrules : 0;
}

void
pol_policy_detectors(const struct pol_policy *p, unsigned int *cached,
    unsigned int *compiled)
{
	*cached = p != NULL ? p->ndb_cached : 0;
	*compiled = p != NULL ? p->ndb_compiled : 0;
}

/* count_db() : one detector database of the load, read or compiled. */
static void
count_db(struct pol_policy *p, int cached)
{
	if (cached)
		p->ndb_cached++;
	else
		p->ndb_compiled++;
}

/* safe_copy() : s with every byte outside printable ASCII as '?'. */
static void
safe_copy(char *dst, size_t len, const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (len > 0)
		dst[i] = '\0';
}

/*
 * pol_check_write() : whether the rule that matches name lets a write of
 * this kind through.  Returns POL_ALLOW, or POL_DENY with *reason (if not
 * NULL) filled: rule "write.<kind>", the rule's message as the hint.  An
 * unknown kind or a NULL policy is a deny (fail closed).
 */
enum pol_verdict
pol_check_write(const struct pol_policy *p, const char *name,
    const char *kind, struct pol_reason *reason)
{
	const struct pol_rule	*r;
	char			 sname[80];
	int			 known = 0, i;

	for (i = 0; kind != NULL && write_kinds[i] != NULL; i++)
		if (strcmp(kind, write_kinds[i]) == 0)
			known = 1;
	r = pol_rule_find(p, name);
	if (r != NULL && known && r->writes == POL_ALLOW)
		return POL_ALLOW;
	if (reason == NULL)
		return POL_DENY;
	memset(reason, 0, sizeof(*reason));
	reason->offset = -1;
	snprintf(reason->rule, sizeof(reason->rule), "write.%s",
	    known ? kind : "unknown");
	safe_copy(sname, sizeof(sname), name != NULL ? name : "");
	if (r == NULL)
		snprintf(reason->text, sizeof(reason->text),
		    "no policy is loaded");
	else if (!known)
		snprintf(reason->text, sizeof(reason->text),
		    "unknown kind of write to %s", sname);
	else
		snprintf(reason->text, sizeof(reason->text),
		    "%.16s on %s is not allowed by the rule for \"%.60s\"",
		    kind, sname, r->match != NULL ? r->match : "(default)");
	if (r != NULL && r->message != NULL)
		snprintf(reason->hint, sizeof(reason->hint), "%s", r->message);
	else
		snprintf(reason->hint, sizeof(reason->hint),
		    "this write needs `writes: allow` in the matching rule of "
		    "the policy");
	return POL_DENY;
}

/* ------------------------------------------------------------- sizes */

/*
 * pol_parse_size() : "4096", "512KB", "10 MB", "1GiB" -> bytes.  Units are
 * binary and case-insensitive: B; K, KB, KiB = 1024; M, MB, MiB; G, GB,
 * GiB.  At most one blank between number and unit; no sign, no fraction,
 * no other text.  Returns 0, or -1 on a malformed size or an overflow.
 */
int
pol_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char	*unit;
		int		 shift;
	} units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
	};
	uint64_t	 v = 0;
	size_t		 i, ndig = 0;

	if (s == NULL || out == NULL)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, ndig++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (ndig == 0)
		return -1;
	if (*s == ' ' && s[1] != '\0')
		s++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(s, units[i].unit) != 0)
			continue;
		if (units[i].shift > 0 && v > (UINT64_MAX >> units[i].shift))
			return -1;
		*out = v << units[i].shift;
		return 0;
	}
	return -1;
}

/* fmt_size() : bytes as the largest exact binary unit ("4GiB"). */
static const char *
fmt_size(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && v % (1ull << 30) == 0)
		snprintf(buf, len, "%lluGiB", (unsigned long long)(v >> 30));
	else if (v != 0 && v % (1ull << 20) == 0)
		snprintf(buf, len, "%lluMiB", (unsigned long long)(v >> 20));
	else if (v != 0 && v % (1ull << 10) == 0)
		snprintf(buf, len, "%lluKiB", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* ------------------------------------------------------- yaml nodes */

/*
 * ld_node() : node idx of the document, or NULL when it does not exist or
 * was reached before (an alias: reported once per node).
 */
static yaml_node_t *
ld_node(struct ld *ld, int idx)
{
	yaml_node_t	*n;

	if ((n = yaml_document_get_node(ld->doc, idx)) == NULL)
		return NULL;
	if (ld->seen[idx]) {
		if (ld->seen[idx] == 1)
			ld_err(ld, &n->start_mark, "anchors and aliases are "
			    "not supported in a policy; write the value out");
		ld->seen[idx] = 2;
		return NULL;
	}
	ld->seen[idx] = 1;
	return n;
}

static int
is_null(const yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 ||
	    strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	    strcmp(v, "NULL") == 0;
}

static const char *
kind_of(const yaml_node_t *n)
{
	if (is_null(n))
		return "nothing (null)";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

/*
 * scalar() : the text of a non-null scalar node, or NULL after reporting
 * that what (e.g. "publish") wanted expect.  The text is NUL-terminated by
 * libyaml; one holding a NUL byte is refused.
 */
static const char *
scalar(struct ld *ld, const yaml_node_t *n, const char *what,
    const char *expect)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		ld_err(ld, &n->start_mark, "%s: expected %s, got %s", what,
		    expect, kind_of(n));
		return NULL;
	}
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length) != NULL) {
		ld_err(ld, &n->start_mark, "%s: a NUL byte is not allowed",
		    what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* ld_strdup() : a copy of s, or NULL after reporting the failure. */
static char *
ld_strdup(struct ld *ld, const yaml_node_t *n, const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		ld_err(ld, &n->start_mark, "out of memory");
	return d;
}

/*
 * word() : the index in words of the scalar n, or -1 after reporting it
 * (a wrong type, or a value that is none of the words).
 */
static int
word(struct ld *ld, const yaml_node_t *n, const char *what,
    const char *const *words)
{
	const char	*v;
	char		 expect[96];
	size_t		 off = 0;
	int		 i;

	expect[0] = '\0';
	for (i = 0; words[i] != NULL; i++)
		off += (size_t)snprintf(expect + off, sizeof(expect) - off,
		    "%s%s", i == 0 ? "" : words[i + 1] == NULL ? " or " : ", ",
		    words[i]);
	if ((v = scalar(ld, n, what, expect)) == NULL)
		return -1;
	for (i = 0; words[i] != NULL; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	ld_err(ld, &n->start_mark, "%s: '%.*s%s' is not %s", what, LD_SHOW, v,
	    strlen(v) > LD_SHOW ? "..." : "", expect);
	return -1;
}

/* edit_distance() : Levenshtein distance of a and b (short strings). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, d[33], prev, cur;

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j] > d[j - 1] + 1)
				d[j] = d[j - 1] + 1;
			if (d[j] > cur + 1)
				d[j] = cur + 1;
			prev = cur;
		}
	}
	return d[lb];
}

/*
 * map_key() : the index of the key node k in m's keys, or -1 after
 * reporting an unknown (with a suggestion), duplicate or non-text key.
 */
static int
map_key(struct ld *ld, struct ld_map *m, const yaml_node_t *k)
{
	const char	*v, *best = NULL;
	size_t		 d, bestd = SIZE_MAX;
	int		 i;

	if ((v = scalar(ld, k, m->what, "a key")) == NULL)
		return -1;
	for (i = 0; i < m->nkeys; i++) {
		if (strcmp(v, m->keys[i]) != 0)
			continue;
		if (m->line[i] != 0) {
			ld_err(ld, &k->start_mark, "duplicate key '%s' in %s "
			    "(first at line %d)", v, m->what, m->line[i]);
			return -1;
		}
		m->line[i] = (int)k->start_mark.line + 1;
		return i;
	}
	for (i = 0; i < m->nkeys; i++) {
		d = edit_distance(v, m->keys[i]);
		if (d < bestd) {
			bestd = d;
			best = m->keys[i];
		}
	}
	if (best != NULL && bestd <= 2 && bestd < strlen(v))
		ld_err(ld, &k->start_mark, "unknown key '%.*s' in %s (did you "
		    "mean '%s'?)", LD_SHOW, v, m->what, best);
	else
		ld_err(ld, &k->start_mark, "unknown key '%.*s%s' in %s",
		    LD_SHOW, v, strlen(v) > LD_SHOW ? "..." : "", m->what);
	return -1;
}

static void
map_init(struct ld_map *m, const char *const *keys, int nkeys,
    const char *what)
{
	memset(m, 0, sizeof(*m));
	m->keys = keys;
	m->nkeys = nkeys;
	m->what = what;
}

/*
 * is_mapping() / is_list() : 1 if n is one, else 0 after reporting it.
 */
static int
is_mapping(struct ld *ld, const yaml_node_t *n, const char *what)
{
	if (n->type == YAML_MAPPING_NODE)
		return 1;
	ld_err(ld, &n->start_mark, "%s: expected a mapping, got %s", what,
	    kind_of(n));
	return 0;
}

static int
is_list(struct ld *ld, const yaml_node_t *n, const char *what)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return 1;
	ld_err(ld, &n->start_mark, "%s: expected a list, got %s", what,
	    kind_of(n));
	return 0;
}

/* list_len() : the items of a sequence node. */
static size_t
list_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start);
}

/* check_name() : 0 if s is a plain key name (publish_config), else -1. */
static int
check_name(const char *s, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			snprintf(err, errlen, "blanks and control characters "
			    "are not allowed in a key name");
			return -1;
		}
	}
	if (i == 0 || i > POL_GLOB_MAX) {
		snprintf(err, errlen, "a key name is 1 to %d bytes",
		    POL_GLOB_MAX);
		return -1;
	}
	return 0;
}

/*
 * get_globs() : a list of globs (or, with names set, of exact key names)
 * into *g (which owns nothing on entry).  An empty list is refused when
 * nonempty is set.  Every bad item is reported; the good ones are kept
 * either way.
 */
static void
get_globs(struct ld *ld, const yaml_node_t *n, const char *what,
    int nonempty, int names, struct pol_globs *g)
{
	const yaml_node_t *it;
	const char	*v;
	char		 msg[128];
	size_t		 i, len;

	if (!is_list(ld, n, what))
		return;
	len = list_len(n);
	if (len == 0 && nonempty) {
		ld_err(ld, &n->start_mark, "%s: the list is empty (leave the "
		    "key out instead)", what);
		return;
	}
	if (len > POL_GLOBS_MAX) {
		ld_err(ld, &n->start_mark, "%s: %zu entries, over the cap of "
		    "%d", what, len, POL_GLOBS_MAX);
		return;
	}
	if (len > 0 && (g->pat = calloc(len, sizeof(*g->pat))) == NULL) {
		ld_err(ld, &n->start_mark, "out of memory");
		return;
	}
	for (i = 0; i < len; i++) {
		if ((it = ld_node(ld, n->data.sequence.items.start[i])) == NULL)
			continue;
		if ((v = scalar(ld, it, what, names ? "a key name" :
		    "a glob")) == NULL)
			continue;
		if ((names ? check_name(v, msg, sizeof(msg)) :
		    pol_glob_check(v, msg, sizeof(msg))) == -1) {
			ld_err(ld, &it->start_mark, "%s: bad %s '%.*s%s': %s",
			    what, names ? "key name" : "glob", LD_SHOW, v,
			    strlen(v) > LD_SHOW ? "..." : "", msg);
			continue;
		}
		if ((g->pat[g->n] = ld_strdup(ld, it, v)) != NULL)
			g->n++;
	}
}

/*
 * get_limit() : one entry of limits, a size (or a count for files and
 * ratio), checked against its floor and ceiling.
 */
static void
get_limit(struct ld *ld, const yaml_node_t *n, int key, struct pol_limits *l)
{
	static const uint64_t	 caps[] = {
		POL_CAP_TARBALL, POL_CAP_UNPACKED, POL_CAP_FILES, POL_CAP_FILE,
		POL_CAP_RATIO
	};
	const char		*v, *name = limits_keys[key];
	char			 what[32], cap[32];
	uint64_t		 x = 0;
	int			 count, ok;

	snprintf(what, sizeof(what), "limits.%s", name);
	count = key == K_L_FILES || key == K_L_RATIO;
	if ((v = scalar(ld, n, what, count ? "a number" : "a size")) == NULL)
		return;
	if (count) {
		ok = v[0] != '\0' && strspn(v, "0123456789") == strlen(v) &&
		    pol_parse_size(v, &x) == 0;
	} else
		ok = pol_parse_size(v, &x) == 0;
	if (!ok) {
		ld_err(ld, &n->start_mark, count ? "%s: '%.*s%s' is not a "
		    "whole number" : "%s: '%.*s%s' is not a size (a whole "
		    "number with an optional unit B, K, KB, KiB, M, MB, MiB, "
		    "G, GB, GiB)", what, LD_SHOW, v,
		    strlen(v) > LD_SHOW ? "..." : "");
		return;
	}
	if (x == 0) {
		ld_err(ld, &n->start_mark, "%s: must be at least 1", what);
		return;
	}
	if (x > caps[key]) {
		if (count)
			snprintf(cap, sizeof(cap), "%llu",
			    (unsigned long long)caps[key]);
		else
			fmt_size(caps[key], cap, sizeof(cap));
		ld_err(ld, &n->start_mark, "%s: %.*s%s is above the ceiling of "
		    "%s", what, LD_SHOW, v, strlen(v) > LD_SHOW ? "..." : "",
		    cap);
		return;
	}
	switch (key) {
	case K_L_TARBALL:
		l->tarball = x;
		break;
	case K_L_UNPACKED:
		l->unpacked = x;
		break;
	case K_L_FILES:
		l->files = x;
		break;
	case K_L_FILE:
		l->file = x;
		break;
	default:
		l->ratio = (uint32_t)x;
		break;
	}
}

static void
walk_limits(struct ld *ld, const yaml_node_t *n, struct pol_limits *l)
{
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	int		 key;

	if (!is_mapping(ld, n, "limits"))
		return;
	map_init(&m, limits_keys, K_LIMITS_N, "limits");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		get_limit(ld, v, key, l);
	}
}

/*
 * walk_diff() : diff: { new_files, max_growth, new_file_size, unreachable }.
 * The key turns the check on; an empty mapping takes every default.
 */
static void
walk_diff(struct ld *ld, const yaml_node_t *n, struct pol_diff *d)
{
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	const char	*s;
	uint64_t	 x;
	int		 key, w;

	if (!is_mapping(ld, n, "diff"))
		return;
	d->on = 1;
	map_init(&m, diff_keys, K_DIFF_N, "diff");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		switch (key) {
		case K_D_NEW_FILES:
			if ((w = word(ld, v, "diff.new_files",
			    diff_new_words)) != -1)
				d->new_files = (enum pol_diff_new)w;
			break;
		case K_D_UNREACHABLE:
			if ((w = word(ld, v, "diff.unreachable",
			    mode_words)) != -1)
				d->unreachable = (enum pol_mode)w;
			break;
		case K_D_MAX_GROWTH:
			if ((s = scalar(ld, v, "diff.max_growth",
			    "a factor")) == NULL)
				break;
			if (pol_diff_parse_growth(s, &d->max_growth) == -1)
				ld_err(ld, &v->start_mark, "diff.max_growth: "
				    "'%.*s%s' is not a factor from 1x to %ux "
				    "(like 3x or 2.5x)", LD_SHOW, s,
				    strlen(s) > LD_SHOW ? "..." : "",
				    POL_DIFF_GROWTH_CAP);
			break;
		case K_D_NEW_FILE_SIZE:
			if ((s = scalar(ld, v, "diff.new_file_size",
			    "a size")) == NULL)
				break;
			if (pol_parse_size(s, &x) == -1 || x == 0 ||
			    x > POL_CAP_FILE) {
				ld_err(ld, &v->start_mark, "diff.new_file_size: "
				    "'%.*s%s' is not a size from 1 byte to 4GiB",
				    LD_SHOW, s, strlen(s) > LD_SHOW ? "..." : "");
				break;
			}
			d->new_file_size = x;
			break;
		default:
			break;
		}
	}
}

static void
walk_files(struct ld *ld, const yaml_node_t *n, struct pol_rule *r)
{
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	int		 key;

	if (!is_mapping(ld, n, "files"))
		return;
	map_init(&m, files_keys, K_FILES_N, "files");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		if (key == K_F_ALLOW) {
			r->has_files_allow = 1;
			get_globs(ld, v, "files.allow", 1, 0,
			    &r->files_allow);
		} else
			get_globs(ld, v, "files.deny", 0, 0,
			    &r->files_deny);
	}
}

/* valid_secret_id() : [a-z0-9][a-z0-9-]{0,39} */
static int
valid_secret_id(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (s[i] == '-' && i > 0)
			continue;
		return 0;
	}
	return i >= 1 && i <= 40;
}

/* walk_custom() : one item of custom_secrets into r->custom[r->ncustom]. */
static void
walk_custom(struct ld *ld, const yaml_node_t *n, struct pol_rule *r)
{
	struct pol_custom_secret *c = &r->custom[r->ncustom];
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	const char	*s;
	char		 msg[160];
	size_t		 i;
	int		 key;

	if (!is_mapping(ld, n, "custom_secrets entry"))
		return;
	map_init(&m, custom_keys, K_CUSTOM_N, "a custom secret");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		if (key == K_C_ID) {
			if ((s = scalar(ld, v, "custom_secrets.id",
			    "an id")) == NULL)
				continue;
			if (!valid_secret_id(s)) {
				ld_err(ld, &v->start_mark, "custom_secrets.id: "
				    "'%.*s%s' is not an id (1 to 40 of a-z, "
				    "0-9, '-', not starting with '-')", LD_SHOW,
				    s, strlen(s) > LD_SHOW ? "..." : "");
				continue;
			}
			for (i = 0; i < r->ncustom; i++) {
				if (r->custom[i].id != NULL &&
				    strcmp(r->custom[i].id, s) == 0)
					break;
			}
			if (i < r->ncustom) {
				ld_err(ld, &v->start_mark, "custom_secrets.id: "
				    "'%s' is used twice in this rule", s);
				continue;
			}
			c->id = ld_strdup(ld, v, s);
		} else {
			if ((s = scalar(ld, v, "custom_secrets.regex",
			    "a regular expression")) == NULL)
				continue;
			if (v->data.scalar.length > POL_REGEX_MAX) {
				ld_err(ld, &v->start_mark, "custom_secrets."
				    "regex: %zu bytes, over the cap of %d",
				    v->data.scalar.length, POL_REGEX_MAX);
				continue;
			}
			if (v->data.scalar.length == 0) {
				ld_err(ld, &v->start_mark, "custom_secrets."
				    "regex: empty");
				continue;
			}
			msg[0] = '\0';
			if (pol_secrets_check_regex(s, msg, sizeof(msg)) != 0) {
				ld_err(ld, &v->start_mark, "custom_secrets."
				    "regex: %s", msg[0] ? msg : "refused");
				continue;
			}
			c->regex = ld_strdup(ld, v, s);
		}
	}
	if (m.line[K_C_ID] == 0)
		ld_err(ld, &n->start_mark, "custom_secrets entry: missing 'id'");
	if (m.line[K_C_REGEX] == 0)
		ld_err(ld, &n->start_mark, "custom_secrets entry: missing "
		    "'regex'");
	/* Kept (and freed with the rule) even when incomplete. */
	r->ncustom++;
}

static void
walk_customs(struct ld *ld, const yaml_node_t *n, struct pol_rule *r)
{
	yaml_node_t	*it;
	size_t		 i, len;

	if (!is_list(ld, n, "custom_secrets"))
		return;
	if ((len = list_len(n)) > POL_CUSTOM_MAX) {
		ld_err(ld, &n->start_mark, "custom_secrets: %zu entries, over "
		    "the cap of %d", len, POL_CUSTOM_MAX);
		return;
	}
	if (len == 0)
		return;
	if ((r->custom = calloc(len, sizeof(*r->custom))) == NULL) {
		ld_err(ld, &n->start_mark, "out of memory");
		return;
	}
	for (i = 0; i < len; i++) {
		if ((it = ld_node(ld, n->data.sequence.items.start[i])) != NULL)
			walk_custom(ld, it, r);
	}
}

/*
 * walk_allow_finding() : one item of allow_findings into
 * r->allow_findings[r->nallow_findings]: rule (a glob of secret.* rule
 * ids), file (a glob of package paths), fingerprint (POL_FP_LEN lowercase
 * hex digits, as the 403 and pubgate scan print it).
 */
static void
walk_allow_finding(struct ld *ld, const yaml_node_t *n, struct pol_rule *r)
{
	struct pol_allow_finding *a = &r->allow_findings[r->nallow_findings];
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	const char	*s;
	char		 msg[128];
	size_t		 i;
	int		 key;

	a->line = (int)n->start_mark.line + 1;
	if (!is_mapping(ld, n, "allow_findings entry"))
		return;
	map_init(&m, allowf_keys, K_ALLOWF_N, "an allow_findings entry");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		if (key == K_A_FP) {
			if ((s = scalar(ld, v, "allow_findings.fingerprint",
			    "a fingerprint")) == NULL)
				continue;
			for (i = 0; s[i] != '\0'; i++)
				if (!((s[i] >= '0' && s[i] <= '9') ||
				    (s[i] >= 'a' && s[i] <= 'f')))
					break;
			if (s[i] != '\0' || i != POL_FP_LEN) {
				ld_err(ld, &v->start_mark, "allow_findings."
				    "fingerprint: '%.*s%s' is not a fingerprint "
				    "(%d of 0-9a-f, as the block text and "
				    "pubgate scan print it)", LD_SHOW, s,
				    strlen(s) > LD_SHOW ? "..." : "",
				    POL_FP_LEN);
				continue;
			}
			memcpy(a->fp, s, POL_FP_LEN + 1);
			continue;
		}
		if ((s = scalar(ld, v, key == K_A_RULE ? "allow_findings.rule" :
		    "allow_findings.file", "a glob")) == NULL)
			continue;
		if (pol_glob_check(s, msg, sizeof(msg)) == -1) {
			ld_err(ld, &v->start_mark, "allow_findings.%s: bad "
			    "glob '%.*s%s': %s", allowf_keys[key], LD_SHOW, s,
			    strlen(s) > LD_SHOW ? "..." : "", msg);
			continue;
		}
		if (key == K_A_RULE) {
			if (strncmp(s, "secret.", 7) != 0) {
				ld_err(ld, &v->start_mark, "allow_findings."
				    "rule: '%.*s%s' is not a secret rule id "
				    "(secret.<detector>; other findings have "
				    "their own settings: sourcemaps, files)",
				    LD_SHOW, s, strlen(s) > LD_SHOW ? "..." :
				    "");
				continue;
			}
			for (i = 0; no_fp_rules[i] != NULL; i++)
				if (strcmp(s, no_fp_rules[i]) == 0)
					break;
			if (no_fp_rules[i] != NULL) {
				ld_err(ld, &v->start_mark, "allow_findings."
				    "rule: %s findings have no fingerprint (the "
				    "detector does not see one value); use "
				    "files.deny or secrets_in_tests", s);
				continue;
			}
			a->rule = ld_strdup(ld, v, s);
		} else
			a->file = ld_strdup(ld, v, s);
	}
	for (i = 0; i < K_ALLOWF_N; i++)
		if (m.line[i] == 0)
			ld_err(ld, &n->start_mark, "allow_findings entry: "
			    "missing '%s'", allowf_keys[i]);
	/* Kept (and freed with the rule) even when incomplete. */
	r->nallow_findings++;
}

static void
walk_allow_findings(struct ld *ld, const yaml_node_t *n, struct pol_rule *r)
{
	yaml_node_t	*it;
	size_t		 i, len;

	if (!is_list(ld, n, "allow_findings"))
		return;
	if ((len = list_len(n)) > POL_ALLOW_FINDINGS_MAX) {
		ld_err(ld, &n->start_mark, "allow_findings: %zu entries, over "
		    "the cap of %d", len, POL_ALLOW_FINDINGS_MAX);
		return;
	}
	if (len == 0)
		return;
	if ((r->allow_findings = calloc(len, sizeof(*r->allow_findings))) ==
	    NULL) {
		ld_err(ld, &n->start_mark, "out of memory");
		return;
	}
	for (i = 0; i < len; i++) {
		if ((it = ld_node(ld, n->data.sequence.items.start[i])) != NULL)
			walk_allow_finding(ld, it, r);
	}
}

/* walk_rule() : one item of rules into r (which holds the defaults). */
static void
walk_rule(struct ld *ld, const yaml_node_t *n, struct pol_rule *r,
    int *col)
{
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	const char	*s;
	char		 msg[128];
	int		 key, w;

	r->line = (int)n->start_mark.line + 1;
	*col = (int)n->start_mark.column + 1;
	if (!is_mapping(ld, n, "rule"))
		return;
	map_init(&m, rule_keys, K_RULE_N, "a rule");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		switch (key) {
		case K_MATCH:
			if ((s = scalar(ld, v, "match", "a glob")) == NULL)
				break;
			if (pol_glob_check(s, msg, sizeof(msg)) == -1) {
				ld_err(ld, &v->start_mark, "match: bad glob "
				    "'%.*s%s': %s", LD_SHOW, s,
				    strlen(s) > LD_SHOW ? "..." : "", msg);
				break;
			}
			r->match = ld_strdup(ld, v, s);
			break;
		case K_PUBLISH:
			if ((w = word(ld, v, "publish", verdict_words)) != -1)
				r->publish = w == 0 ? POL_ALLOW : POL_DENY;
			break;
		case K_WRITES:
			if ((w = word(ld, v, "writes", verdict_words)) != -1)
				r->writes = w == 0 ? POL_ALLOW : POL_DENY;
			break;
		case K_MESSAGE:
			if ((s = scalar(ld, v, "message", "a text")) == NULL)
				break;
			if (v->data.scalar.length > POL_TEXT_MAX - 1) {
				ld_err(ld, &v->start_mark, "message: %zu bytes, "
				    "over the cap of %d", v->data.scalar.length,
				    POL_TEXT_MAX - 1);
				break;
			}
			for (w = 0; s[w] != '\0'; w++)
				if (((unsigned char)s[w] < 0x20 &&
				    s[w] != '\n' && s[w] != '\t') || s[w] == 0x7f)
					break;
			if (s[w] != '\0') {
				ld_err(ld, &v->start_mark, "message: control "
				    "characters are not allowed");
				break;
			}
			r->message = ld_strdup(ld, v, s);
			break;
		case K_ACCESS:
			if ((w = word(ld, v, "access", access_words)) != -1)
				r->access = ld_strdup(ld, v, access_words[w]);
			break;
		case K_PRIVATE:
			if ((w = word(ld, v, "private", mode_words)) != -1)
				r->private_mode = (enum pol_mode)w;
			break;
		case K_SOURCEMAPS:
			if ((w = word(ld, v, "sourcemaps", mode_words)) != -1)
				r->sourcemaps = (enum pol_mode)w;
			break;
		case K_SECRETS:
			if ((w = word(ld, v, "secrets", mode_words)) != -1)
				r->secrets = (enum pol_mode)w;
			break;
		case K_SECRETS_IN_TESTS:
			if ((w = word(ld, v, "secrets_in_tests",
			    tests_words)) != -1)
				r->secrets_in_tests = w == 1 ? POL_TESTS_ALLOW :
				    w == 2 ? POL_TESTS_WARN : POL_TESTS_BLOCK;
			break;
		case K_PATHS:
			if ((w = word(ld, v, "paths", mode_words)) != -1)
				r->paths = (enum pol_mode)w;
			break;
		case K_ARCHIVES:
			if ((w = word(ld, v, "archives", archives_words)) != -1)
				r->archives = (enum pol_archives)w;
			break;
		case K_PROVENANCE:
			if ((w = word(ld, v, "provenance",
			    provenance_words)) != -1)
				r->provenance = w;
			break;
		case K_FILES:
			walk_files(ld, v, r);
			break;
		case K_LIMITS:
			walk_limits(ld, v, &r->limits);
			break;
		case K_DIFF:
			walk_diff(ld, v, &r->diff);
			break;
		case K_CUSTOM_SECRETS:
			walk_customs(ld, v, r);
			break;
		case K_PUBLISH_CONFIG:
			r->publish_config.pat = NULL;	/* the defaults */
			r->publish_config.n = 0;
			get_globs(ld, v, "publish_config", 0, 1,
			    &r->publish_config);
			break;
		case K_TAGS:
			r->has_tags = 1;
			get_globs(ld, v, "tags", 1, 0, &r->tags);
			break;
		case K_MODE:
			if ((w = word(ld, v, "mode", enforce_words)) != -1)
				r->monitor = w == 1;
			break;
		case K_WARN:
			get_globs(ld, v, "warn", 1, 0, &r->warn);
			break;
		case K_ALLOW_FINDINGS:
			walk_allow_findings(ld, v, r);
			break;
		case K_APPROVAL:
			if ((w = word(ld, v, "approval", approval_words)) != -1)
				r->approval = w == 1;
			break;
		default:
			break;
		}
	}
	if (m.line[K_MATCH] == 0)
		ld_err(ld, &n->start_mark, "rule: missing 'match' (the glob of "
		    "package names it applies to)");
}

static void
walk_rules(struct ld *ld, const yaml_node_t *n, struct pol_policy *p)
{
	yaml_node_t	*it;
	size_t		 i, len;

	if (!is_list(ld, n, "rules"))
		return;
	if ((len = list_len(n)) > POL_RULES_MAX) {
		ld_err(ld, &n->start_mark, "rules: %zu rules, over the cap of "
		    "%d", len, POL_RULES_MAX);
		return;
	}
	if (len == 0)
		return;
	if ((p->rules = calloc(len, sizeof(*p->rules))) == NULL ||
	    (ld->rule_col = calloc(len, sizeof(*ld->rule_col))) == NULL) {
		ld_err(ld, &n->start_mark, "out of memory");
		return;
	}
	for (i = 0; i < len; i++)
		pol_rule_defaults(&p->rules[i]);
	p->nrules = len;
	for (i = 0; i < len; i++) {
		if ((it = ld_node(ld, n->data.sequence.items.start[i])) != NULL)
			walk_rule(ld, it, &p->rules[i], &ld->rule_col[i]);
	}
}

/*
 * policy_digest() : the SHA-256 of the policy text, hex, into p (what the
 * decision records and the metrics name the policy by).
 */
static void
policy_digest(struct pol_policy *p, const void *buf, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;

	if (EVP_Digest(len > 0 ? buf : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return;
	for (i = 0; i < 32; i++) {
		p->sha256[2 * i] = hex[md[i] >> 4];
		p->sha256[2 * i + 1] = hex[md[i] & 0xf];
	}
	p->sha256[64] = '\0';
}

/* label_bad() : s holds a control character (a label is one line). */
static int
label_bad(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
walk_root(struct ld *ld, const yaml_node_t *n, struct pol_policy *p)
{
	struct ld_map	 m;
	yaml_node_pair_t *pr;
	yaml_node_t	*k, *v;
	const yaml_node_t *dflt_node = NULL;
	const char	*s;
	int		 key, w;

	if (n->type != YAML_MAPPING_NODE) {
		ld_err(ld, &n->start_mark, "the policy must be a mapping with "
		    "version, default and rules; got %s", kind_of(n));
		return;
	}
	map_init(&m, root_keys, K_ROOT_N, "the policy");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	    pr++) {
		k = ld_node(ld, pr->key);
		v = ld_node(ld, pr->value);
		if (k == NULL || (key = map_key(ld, &m, k)) == -1 || v == NULL)
			continue;
		switch (key) {
		case K_VERSION:
			if ((s = scalar(ld, v, "version", "1")) == NULL)
				break;
			if (strcmp(s, "1") != 0)
				ld_err(ld, &v->start_mark, "version: '%.*s%s' is "
				    "not supported (this pubgate reads version "
				    "1)", LD_SHOW, s,
				    strlen(s) > LD_SHOW ? "..." : "");
			break;
		case K_NAME:
		case K_REVISION:
			if ((s = scalar(ld, v, root_keys[key], "text")) == NULL)
				break;
			if (strlen(s) > POL_POLICY_LABEL_MAX || s[0] == '\0' ||
			    label_bad(s))
				ld_err(ld, &v->start_mark, "%s: want 1 to %d "
				    "printable characters (a label the decision "
				    "records carry)", root_keys[key],
				    POL_POLICY_LABEL_MAX);
			else
				snprintf(key == K_NAME ? p->name : p->revision,
				    sizeof(p->name), "%s", s);
			break;
		case K_DEFAULT:
			if ((w = word(ld, v, "default", verdict_words)) == -1)
				break;
			p->default_verdict = w == 0 ? POL_ALLOW : POL_DENY;
			dflt_node = v;
			break;
		case K_RULES:
			walk_rules(ld, v, p);
			break;
		default:
			break;
		}
	}
	if (m.line[K_VERSION] == 0)
		ld_err(ld, &n->start_mark, "missing 'version' (add `version: "
		    "1` at the top)");
	if (p->nrules == 0 && p->default_verdict == POL_ALLOW &&
	    dflt_node != NULL)
		ld_err(ld, &dflt_node->start_mark, "default: allow with zero "
		    "rules: a policy with zero rules is never allow all");
}

/*
 * compile_detectors() : the default rule's secret detectors (the
 * built-ins), then each rule's.  A rule without custom patterns shares
 * the default rule's database (read-only once compiled; policy_free()
 * frees it once), so a policy of many rules costs one compilation, not
 * one per rule.  Failures are errors at the rule.
 */
static void
compile_detectors(struct ld *ld, struct pol_policy *p)
{
	struct pol_rule	*r;
	char		 msg[160];
	size_t		 i;
	int		 hit;

	/* One rule's known fakes: every scan reports each distinct value,
	   so a fake first in a file cannot hide a real one after it (the
	   scanners may run before the rule is known). */
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].nallow_findings > 0)
			break;
	if (i < p->nrules) {
		p->dflt.fp_each = 1;
		for (i = 0; i < p->nrules; i++)
			p->rules[i].fp_each = 1;
	}
	r = &p->dflt;
	if (r->secrets == POL_MODE_BLOCK) {
		msg[0] = '\0';
		if ((r->secrets_db = pol_secrets_compile_in(NULL, 0,
		    ld->cache_dir, &hit, msg, sizeof(msg))) == NULL) {
			errs_addf(ld->errs, 0, 0, "cannot compile the built-in "
			    "secret detectors: %s", msg[0] ? msg : "failed");
			return;
		}
		count_db(p, hit);
	}
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		if (r->secrets != POL_MODE_BLOCK && r->ncustom == 0)
			continue;
		if (r->ncustom == 0) {
			/* The built-ins alone: share the default rule's. */
			r->secrets_db = p->dflt.secrets_db;
			continue;
		}
		msg[0] = '\0';
		r->secrets_db = pol_secrets_compile_in(r->custom, r->ncustom,
		    ld->cache_dir, &hit, msg, sizeof(msg));
		if (r->secrets_db == NULL)
			errs_addf(ld->errs, r->line, ld->rule_col[i],
			    "rule \"%.60s\": cannot compile its secret "
			    "detectors: %s", r->match, msg[0] ? msg : "failed");
		else
			count_db(p, hit);
	}
}

/* ------------------------------------------------------------- load */

/*
 * syntax_error() : libyaml's failure as an error at its problem mark (a
 * reader error has only a byte offset: it is turned into line:col).
 */
static void
syntax_error(struct ld *ld, const yaml_parser_t *ps, const unsigned char *buf,
    size_t len)
{
	yaml_mark_t	 m;
	size_t		 i, end;

	if (ps->error == YAML_MEMORY_ERROR) {
		ld_err(ld, NULL, "out of memory");
		return;
	}
	if (ps->error == YAML_READER_ERROR) {
		memset(&m, 0, sizeof(m));
		end = ps->problem_offset < len ? ps->problem_offset : len;
		for (i = 0; i < end; i++) {
			if (buf[i] == '\n') {
				m.line++;
				m.column = 0;
			} else
				m.column++;
		}
		ld_err(ld, &m, "not a valid YAML text: %s",
		    ps->problem != NULL ? ps->problem : "reader error");
		return;
	}
	m = ps->problem_mark;
	if (ps->context != NULL)
		ld_err(ld, &m, "YAML syntax error: %s (%s at line %zu)",
		    ps->problem != NULL ? ps->problem : "error", ps->context,
		    ps->context_mark.line + 1);
	else
		ld_err(ld, &m, "YAML syntax error: %s",
		    ps->problem != NULL ? ps->problem : "error");
}

/*
 * pol_load_buf() : loads and validates the policy document buf (len
 * bytes, borrowed; name is used in the errors).  Returns a policy with one
 * reference, or NULL with every error in *errs (errs may be NULL).
 */
struct pol_policy *
pol_load_buf(const char *name, const void *buf, size_t len,
    struct pol_errors *errs)
{
	return pol_load_buf_opts(name, buf, len, NULL, errs);
}

/* pol_load_buf_opts() : pol_load_buf() with options (opts may be NULL). */
struct pol_policy *
pol_load_buf_opts(const char *name, const void *buf, size_t len,
    const struct pol_load_opts *opts, struct pol_errors *errs)
{
	struct pol_errors	 local;
	struct pol_policy	*p = NULL;
	struct ld		 ld;
	yaml_parser_t		 ps;
	yaml_document_t		 doc, doc2;
	yaml_node_t		*root, *root2;
	int			 have_ps = 0, have_doc = 0;

	if (errs == NULL)
		errs = &local;
	errs_init(errs, name);
	memset(&ld, 0, sizeof(ld));
	ld.errs = errs;
	ld.doc = &doc;
	ld.cache_dir = opts != NULL ? opts->cache_dir : NULL;
	if (buf == NULL && len > 0) {
		ld_err(&ld, NULL, "no policy text");
		goto fail;
	}
	if (len > POL_POLICY_BYTES_MAX) {
		ld_err(&ld, NULL, "the policy is %zu bytes, over the cap of "
		    "%u", len, POL_POLICY_BYTES_MAX);
		goto fail;
	}
	if (!yaml_parser_initialize(&ps)) {
		ld_err(&ld, NULL, "out of memory");
		goto fail;
	}
	have_ps = 1;
	yaml_parser_set_input_string(&ps, len > 0 ? buf : (const void *)"",
	    len);
	if (!yaml_parser_load(&ps, &doc)) {
		syntax_error(&ld, &ps, buf, len);
		goto fail;
	}
	have_doc = 1;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		errs_addf(errs, 1, 1, "the policy is empty (it needs at least "
		    "`version: 1`)");
		goto fail;
	}
	ld.nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
	if ((ld.seen = calloc(ld.nnodes + 1, 1)) == NULL ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		ld_err(&ld, NULL, "out of memory");
		goto fail;
	}
	p->refs = 1;
	p->default_verdict = POL_DENY;
	pol_rule_defaults(&p->dflt);
	if ((p->dflt.match = strdup("(default)")) == NULL) {
		ld_err(&ld, NULL, "out of memory");
		goto fail;
	}
	ld.seen[1] = 1;
	walk_root(&ld, root, p);
	p->dflt.publish = p->default_verdict;

	/* Exactly one document: the next load must find the stream's end. */
	if (!yaml_parser_load(&ps, &doc2))
		syntax_error(&ld, &ps, buf, len);
	else {
		if ((root2 = yaml_document_get_root_node(&doc2)) != NULL)
			ld_err(&ld, &root2->start_mark, "a second YAML "
			    "document: a policy is one document");
		yaml_document_delete(&doc2);
	}
	if (errs->count == 0)
		compile_detectors(&ld, p);
	if (errs->count == 0)
		policy_digest(p, buf, len);
	if (errs->count > 0)
		goto fail;
	free(ld.seen);
	free(ld.rule_col);
	yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
	return p;

fail:
	if (errs->count == 0)
		ld_err(&ld, NULL, "the policy did not load");
	errs_sort(errs);
	policy_free(p);
	free(ld.seen);
	free(ld.rule_col);
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_ps)
		yaml_parser_delete(&ps);
	return NULL;
}

const char *
pol_policy_sha256(const struct pol_policy *p)
{
	return p != NULL ? p->sha256 : "";
}

const char *
pol_policy_name(const struct pol_policy *p)
{
	return p != NULL ? p->name : "";
}

const char *
pol_policy_revision(const struct pol_policy *p)
{
	return p != NULL ? p->revision : "";
}

/*
 * pol_load_file() : reads path (at most POL_POLICY_BYTES_MAX bytes) and
 * loads it with pol_load_buf(); errors name path.
 */
struct pol_policy *
pol_load_file(const char *path, struct pol_errors *errs)
{
	return pol_load_file_opts(path, NULL, errs);
}

/* pol_load_file_opts() : pol_load_file() with options (may be NULL). */
struct pol_policy *
pol_load_file_opts(const char *path, const struct pol_load_opts *opts,
    struct pol_errors *errs)
{
	struct pol_errors	 local;
	struct pol_policy	*p;
	FILE			*f;
	char			*buf;
	size_t			 n;
	int			 saved;

	if (errs == NULL)
		errs = &local;
	errs_init(errs, path);
	if (path == NULL) {
		errs_addf(errs, 0, 0, "no policy file given");
		return NULL;
	}
	if ((buf = malloc(POL_POLICY_BYTES_MAX + 1)) == NULL) {
		errs_addf(errs, 0, 0, "out of memory");
		return NULL;
	}
	if ((f = fopen(path, "rb")) == NULL) {
		saved = errno;
		errs_addf(errs, 0, 0, "cannot open: %s", strerror(saved));
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, POL_POLICY_BYTES_MAX + 1, f);
	if (ferror(f)) {
		saved = errno;
		errs_addf(errs, 0, 0, "cannot read: %s", strerror(saved));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (n > POL_POLICY_BYTES_MAX) {
		errs_addf(errs, 0, 0, "the policy is over the cap of %u bytes",
		    POL_POLICY_BYTES_MAX);
		free(buf);
		return NULL;
	}
	p = pol_load_buf_opts(path, buf, n, opts, errs);
	free(buf);
	return p;
}

/* pol_load_default() : the strict policy compiled into the binary. */
struct pol_policy *
pol_load_default(struct pol_errors *errs)
{
	const char	*text;
	size_t		 len;

	text = pol_default_policy_text(&len);
	return pol_load_buf("(built-in strict.yaml)", text, len, errs);
}
