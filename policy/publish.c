/*
 * policy/publish.c: judges one publish as a stream.  It owns struct
 * pol_stream and wires the stages together:
 *
 *   body  -> json (the npm publish document: _id, name, access, dist-tags,
 *            versions.*, _attachments.*)
 *         -> _attachments["<name>-<version>.tgz"].data, chunk by chunk
 *         -> b64 -> sha512 + sha1 of the tarball -> gz -> tar
 *         -> per entry: path rules, limits, package.json, content scan
 *   .tgz  -> (same, from gz on)
 *
 * Nothing here holds a whole body, tarball or file: the manifests keep a
 * few bounded fields per version, package.json is parsed as it streams,
 * scanners keep their own bounded state.  At the end the facts are checked
 * against each other (names, versions, integrity, length) and the rule.
 *
 * When the package name is not known before the first file arrives (a
 * bare .tgz: package.json is not the first entry of an npm pack tarball),
 * the scanners run with everything on and the per-file facts are kept
 * (bounded) until the name, and so the rule, is known; if they do not fit
 * the verdict is deny (fail closed), with a hint to pass the name.
 *
 * Depends on policy-int.h stages and libcrypto's EVP digests only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy-int.h"

#define PUB_NAME_MAX		216	/* npm caps names at 214 */
#define PUB_VERSION_MAX		128
#define PUB_INTEGRITY_MAX	512
#define PUB_KEY_DEPTH		5	/* body keys tracked: versions.V.dist.integrity */
#define PUB_DECODE_IN		(48u << 10)	/* base64 bytes decoded per slice */
#define PUB_PENDING_FILES_MAX	(2u << 20)	/* bytes of paths kept while the rule is unknown */
#define PUB_PENDING_FINDINGS	256
#define PUB_SIGSTORE_MAX	(8u << 20)	/* a provenance bundle */
#define PUB_BODY_SLACK		(64ull << 20)	/* body beyond 4/3 of the tarball cap */

struct pub_version {
	char		 version[PUB_VERSION_MAX];	/* the key in "versions" */
	char		 mversion[PUB_VERSION_MAX];	/* its "version" field */
	char		 name[PUB_NAME_MAX];		/* its "name" field */
	char		 integrity[PUB_INTEGRITY_MAX];
	char		 shasum[48];
	char		 bad_pubcfg[64];		/* first publishConfig key not allowed */
	char		 tarball[POL_FIELD_MAX];	/* dist.tarball */
	int		 is_private;
};

struct pub_tag {
	char		 tag[64];
	char		 version[PUB_VERSION_MAX];
};

struct pub_finding {
	char		 rule[POL_RULE_ID_MAX];
	char		 file[POL_FILE_MAX];
	char		 text[POL_TEXT_MAX];
	const char	*hint;
	int64_t		 offset;
	int		 nested;	/* NEST_* */
	char		 fp[POL_FP_LEN + 1];
};

/*
 * Findings about archives inside the package (nested.c) count under
 * archives: judge; "this is an archive" counts under archives: block.
 * While the rule is unknown archives are opened, and the findings kept
 * with their kind until it is.
 */
#define NEST_NONE	0
#define NEST_CONTENT	1
#define NEST_PRESENT	2
#define PEND_NESTED	100	/* pend_entry type offset of an inner entry */

/* What the json callback is collecting into sval. */
enum pub_field {
	F_NONE = 0,
	F_ID, F_NAME, F_ACCESS,
	F_TAG,			/* dist-tags.<tag> */
	F_V_NAME, F_V_VERSION, F_V_INTEGRITY, F_V_SHASUM,
	F_V_TARBALL,		/* versions.V.dist.tarball */
	F_A_LENGTH,		/* _attachments.K.length (number) */
	F_PJ_NAME, F_PJ_VERSION,
};

enum pub_attach {
	A_NONE = 0,
	A_TARBALL,
	A_SIGSTORE,
	A_UNKNOWN,
};

struct pol_stream {
	struct pol_policy	*policy;
	struct pol_report	 r;
	enum pol_input		 input;
	int			 sniffed;
	char			 url_name[PUB_NAME_MAX];
	const struct pol_rule	*rule;		/* final rule, once known */
	struct pol_rule		 scan_rule;	/* all-on rule while unknown */
	int			 scan_rule_inited;
	const struct pol_rule	*srule;		/* rule the scanners run with */
	struct pol_limits	 lim;		/* caps the pipeline runs with */

	/* The publish document. */
	struct pol_json		 json;
	int			 ctype[POL_JSON_DEPTH_MAX + 2];	/* 'o' / 'a' */
	char			 keys[PUB_KEY_DEPTH + 1][PUB_NAME_MAX + 64];
	int			 keylong[PUB_KEY_DEPTH + 1];
	enum pub_field		 field;
	size_t			 svlen;
	int			 svlong;
	char			 sval[POL_FIELD_MAX];
	char			 body_id[PUB_NAME_MAX];
	char			 body_name[PUB_NAME_MAX];
	int			 has_access;
	int			 saw_object;
	struct pub_version	*versions;
	size_t			 nversions, versions_cap;
	struct pub_version	*curv;		/* manifest being read */
	struct pub_tag		*tags;
	size_t			 ntags;
	char			 tagkey[64];

	/* Attachments. */
	enum pub_attach		 cur_attach;	/* of the K being read */
	int			 ntarballs;
	int			 has_sigstore;	/* a .sigstore key was seen */
	char			 attach_key[PUB_NAME_MAX + 64];	/* the K being read */
	char			 tgz_key[PUB_NAME_MAX + 64];	/* the tarball's K */
	char			 sig_key[PUB_NAME_MAX + 64];	/* the bundle's K */

	/* The .sigstore attachment's data, read as JSON as it streams. */
	struct pol_json		 sig;
	int			 sig_started;
	int			 sig_ok;	/* parsed as a Sigstore bundle */
	int			 sig_failed;	/* reported as not one */
	int			 sig_object;	/* its top value is an object */
	int			 sig_in_media;	/* reading "mediaType" */
	int			 sig_nmedia;
	size_t			 sig_media_len;
	char			 sig_media[96];
	int			 have_length;
	uint64_t		 attach_length;
	uint64_t		 sigstore_bytes;
	int			 in_data;
	int			 data_done;

	/* The tarball. */
	int			 tarball_started;
	struct pol_b64		 b64;
	EVP_MD_CTX		*sha512;
	EVP_MD_CTX		*sha1;
	unsigned char		 sha1_hex[41];
	struct pol_gz		*gz;
	int			 gz_ended;
	struct pol_tar		*tar;
	int			 tar_ended;
	unsigned char		*decbuf;
	struct pol_gzh		 gzh;		/* the tarball's gzip header */
	struct pol_nest		*nest;		/* archives inside (nested.c) */
	uint64_t		 nest_files;	/* entries inside them */
	uint64_t		 nest_bytes;	/* their unpacked bytes */

	/* The current tar entry. */
	int			 in_entry;
	int			 entry_scanned;
	int			 entry_pkgjson;
	char			 entry_path[POL_TAR_PATH_MAX + 1];
	struct pol_scan		*scan;

	/* The per-file reading callback (opts.on_file). */
	pol_file_fn		 on_file;
	/* The tee of the decoded tarball (opts.on_tarball). */
	pol_bytes_fn		 on_tarball;
	void			*tarball_arg;
	void			*file_arg;
	EVP_MD_CTX		*file_md;
	int			 file_hashing;
	uint64_t		 file_size;
	char			 file_raw[POL_TAR_PATH_MAX + 1];

	/* package.json of the tarball. */
	struct pol_json		 pj;
	int			 pj_seen;
	int			 pj_ok;
	int			 pj_ctype[POL_JSON_DEPTH_MAX + 2];
	char			 pj_key[64];
	char			 pj_name[PUB_NAME_MAX];
	char			 pj_version[PUB_VERSION_MAX];
	int			 pj_private;
	char			 pj_bad_pubcfg[64];
	uint64_t		 pj_bytes;

	/* Facts kept while the rule is unknown. */
	char			*pend_paths;	/* NUL-separated "size\0type\0path\0" */
	size_t			 pend_len, pend_cap;
	int			 pend_overflow;
	struct pub_finding	*pend_find;
	size_t			 npend_find;

	/* Judging against the previous version (diff:). */
	int			 want_prev;	/* opts.previous */
	int			 collect_files;	/* a rule has diff: */
	struct pol_flist	 cur_files;	/* this tarball's files */
	int			 pending;	/* POL_PENDING said */
	struct pol_gz		*pgz;		/* the previous .tgz */
	struct pol_tar		*ptar;
	int			 prev_bad;	/* it cannot be read */
	struct pol_flist	 prev_files;
	size_t			 npreset_warn;	/* reasons added as warn */

	int			 replayed;
	int			 ended;
};

static const char *const hint_integrity =
    "republish with a client that computes dist.integrity over the attached tarball";

/* ------------------------------------------------------------ helpers */

/* Copies src into dst, truncating to dlen - 1 bytes. */
static void
setstr(char *dst, size_t dlen, const char *src)
{
	size_t	 n = strlen(src);

	if (n >= dlen)
		n = dlen - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

/*
 * key_text() : a log-safe copy of a JSON key for a reason: at most 60
 * bytes, anything but printable ASCII (and '"', '\\') as '?'.
 */
static void
key_text(char *dst, size_t dlen, const char *key, size_t klen)
{
	size_t		 i, n = klen < 60 ? klen : 60;
	unsigned char	 c;

	if (n >= dlen)
		n = dlen - 1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)key[i];
		dst[i] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ?
		    '?' : (char)c;
	}
	dst[n] = '\0';
	if (klen > n && n >= 3)
		memcpy(dst + n - 3, "...", 3);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	 a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/*
 * fatal() : ends the stream with a deny: st says why (limit, syntax,
 * internal).  The first fatal status wins.
 */
static enum pol_status
fatal(struct pol_stream *s, enum pol_status st, const char *rule,
    const char *file, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum pol_status
fatal(struct pol_stream *s, enum pol_status st, const char *rule,
    const char *file, const char *hint, const char *fmt, ...)
{
	char	 text[POL_TEXT_MAX];
	va_list	 ap;

	if (s->r.status != POL_CONTINUE)
		return s->r.status;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pol_report_add(&s->r, rule, file, -1, hint, "%s", text);
	s->r.status = st;
	return st;
}

/*
 * json_key_fatal() : the deny for a duplicate key or too many keys in
 * the JSON j (what names where: "the publish body", "package.json").
 */
static enum pol_status
json_key_fatal(struct pol_stream *s, const struct pol_json *j,
    enum pol_json_rc rc, const char *file, const char *what)
{
	char	 k[64];

	if (rc == POL_JSON_ERR_KEYS)
		return fatal(s, POL_ERR_LIMIT, "json.too-many-keys", file,
		    NULL, "%s holds more than %u object keys at once",
		    what ? what : "it", POL_JSON_KEYS_MAX);
	key_text(k, sizeof(k), j->key, j->klen);
	return fatal(s, POL_ERR_SYNTAX, "json.duplicate-key", file,
	    "each key may appear once per object (JSON.parse keeps the last)",
	    "%s%sthe key \"%s\" %s in one object", what ? what : "",
	    what ? " has " : "", k, what ? "twice" : "appears twice");
}

/* The tar path without its first component ("package/"). */
static const char *
strip_top(const char *path)
{
	const char	*slash;

	while (path[0] == '.' && path[1] == '/')
		path += 2;
	slash = strchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

static int
rule_known(const struct pol_stream *s)
{
	return s->rule != NULL;
}

/* The name the rule is chosen by: URL, then body name/_id, then tarball. */
static const char *
best_name(const struct pol_stream *s)
{
	if (s->url_name[0])
		return s->url_name;
	if (s->body_name[0])
		return s->body_name;
	if (s->body_id[0])
		return s->body_id;
	if (s->nversions > 0 && s->versions[0].name[0])
		return s->versions[0].name;
	if (s->pj_name[0])
		return s->pj_name;
	return NULL;
}

static void
limits_max(struct pol_limits *dst, const struct pol_limits *l)
{
	if (l->tarball > dst->tarball)
		dst->tarball = l->tarball;
	if (l->unpacked > dst->unpacked)
		dst->unpacked = l->unpacked;
	if (l->files > dst->files)
		dst->files = l->files;
	if (l->file > dst->file)
		dst->file = l->file;
	if (l->ratio > dst->ratio)
		dst->ratio = l->ratio;
}

/* ------------------------------------------------------ rule judgments */

/*
 * Is a finding of this rule id in file reported under rule r?  A secret
 * under a test folder is dropped when the rule says secrets_in_tests:
 * allow.
 */
static int
finding_applies(const struct pol_rule *r, const char *id, const char *file)
{
	size_t	 i;

	if (strncmp(id, "sourcemap.", 10) == 0)
		return r->sourcemaps == POL_MODE_BLOCK;
	if (strncmp(id, "secret.", 7) == 0) {
		if (r->secrets_in_tests == POL_TESTS_ALLOW && file != NULL &&
		    pol_secrets_test_path(file))
			return 0;
		for (i = 0; i < r->ncustom; i++)
			if (strcmp(id + 7, r->custom[i].id) == 0)
				return 1;
		return r->secrets == POL_MODE_BLOCK;
	}
	return 1;
}

/* nested_applies() : does a finding of this NEST_* kind count under r? */
static int
nested_applies(const struct pol_rule *r, int nested)
{
	if (nested == NEST_CONTENT)
		return r->archives == POL_ARCH_JUDGE;
	if (nested == NEST_PRESENT)
		return r->archives == POL_ARCH_BLOCK;
	return 1;
}

/*
 * pol_allow_finding_match() : 1 if an allow_findings entry of r names the
 * finding of rule id in file with fingerprint fp.  A finding without a
 * fingerprint is never suppressed.
 */
int
pol_allow_finding_match(const struct pol_rule *r, const char *id,
    const char *file, const char *fp)
{
	const struct pol_allow_finding	*a;
	size_t				 i;

	if (fp == NULL || fp[0] == '\0')
		return 0;
	for (i = 0; i < r->nallow_findings; i++) {
		a = &r->allow_findings[i];
		if (strcmp(a->fp, fp) == 0 && pol_glob_match(a->rule, id) &&
		    pol_glob_match(a->file, file != NULL ? file : ""))
			return 1;
	}
	return 0;
}

/* report_under() : a finding into the report, judged by rule r. */
static void
report_under(struct pol_stream *s, const struct pol_rule *r,
    const char *file, const char *rule, const char *text, const char *hint,
    int64_t offset, const char *fp)
{
	pol_report_add_finding(&s->r, rule, file, offset, hint, fp,
	    pol_allow_finding_match(r, rule, file, fp), text);
}

static void
add_finding_n(struct pol_stream *s, const char *file, const char *rule,
    const char *text, const char *hint, int64_t offset, int nested,
    const char *fp)
{
	struct pub_finding	*f;

	if (rule_known(s)) {
		if (finding_applies(s->rule, rule, file) &&
		    nested_applies(s->rule, nested))
			report_under(s, s->rule, file, rule, text, hint, offset,
			    fp);
		return;
	}
	/* Made at the first pending finding: most publishes have none. */
	if (s->pend_find == NULL && (s->pend_find = calloc(
	    PUB_PENDING_FINDINGS, sizeof(*s->pend_find))) == NULL) {
		s->pend_overflow = 1;	/* blocks as scan.name-late */
		return;
	}
	if (s->npend_find >= PUB_PENDING_FINDINGS) {
		s->pend_overflow = 1;
		return;
	}
	f = &s->pend_find[s->npend_find++];
	setstr(f->rule, sizeof(f->rule), rule);
	setstr(f->file, sizeof(f->file), file);
	setstr(f->text, sizeof(f->text), text);
	f->hint = hint;
	f->offset = offset;
	f->nested = nested;
	setstr(f->fp, sizeof(f->fp), fp != NULL ? fp : "");
}

static void
on_finding(void *arg, const char *file, const struct pol_finding *f)
{
	add_finding_n(arg, file, f->rule, f->text, f->hint, f->offset,
	    NEST_NONE, f->fp);
}

/* report_finding() : a reason straight into the report (rule known). */
static void
report_finding(void *arg, const char *file, const struct pol_finding *f)
{
	struct pol_stream	*s = arg;

	report_under(s, s->rule, file, f->rule, f->text, f->hint, f->offset,
	    f->fp);
}

/*
 * judge_entry() : the per-entry rules that need only the path, type and
 * size: paths, file allow/deny globs, single file size.
 */
static void
judge_entry(struct pol_stream *s, const struct pol_rule *r, const char *raw,
    enum pol_tar_type type, uint64_t size)
{
	const char	*path = strip_top(raw);
	size_t		 i;
	int		 ok;

	if (r->paths == POL_MODE_BLOCK) {
		if (raw[0] == '/' || raw[0] == '\\' ||
		    (raw[0] != '\0' && raw[1] == ':'))
			pol_report_add(&s->r, "paths.absolute", raw, -1,
			    "pack from the package folder (npm pack)",
			    "absolute path in the tarball");
		if (strcmp(raw, "..") == 0 || strncmp(raw, "../", 3) == 0 ||
		    strstr(raw, "/../") != NULL || ends_with(raw, "/..") ||
		    strstr(raw, "..\\") != NULL)
			pol_report_add(&s->r, "paths.traversal", raw, -1,
			    "remove '..' components from the tarball",
			    "path escapes the package folder");
		if (strstr(raw, "/home/") != NULL ||
		    strncmp(raw, "home/", 5) == 0 ||
		    strstr(raw, "/Users/") != NULL ||
		    strncmp(raw, "Users/", 6) == 0)
			pol_report_add(&s->r, "paths.home", raw, -1,
			    "the tarball was packed from a home directory path;"
			    " pack with npm pack",
			    "path names a user's home directory");
		if (strchr(raw, '/') == NULL && type != POL_TAR_DIR)
			pol_report_add(&s->r, "paths.layout", raw, -1,
			    "pack with npm pack (entries live under package/)",
			    "entry outside the package folder");
		if (type == POL_TAR_SYMLINK || type == POL_TAR_HARDLINK)
			pol_report_add(&s->r, "paths.link", raw, -1,
			    "ship the file itself, not a link",
			    "link entry in the tarball");
		else if (type == POL_TAR_OTHER)
			pol_report_add(&s->r, "paths.type", raw, -1,
			    "ship regular files only",
			    "special file (device, fifo) in the tarball");
	}
	if (type == POL_TAR_DIR)
		return;
	for (i = 0; i < r->files_deny.n; i++) {
		if (pol_glob_match(r->files_deny.pat[i], path)) {
			pol_report_add(&s->r, "files.deny", path, -1,
			    "add it to .npmignore or remove it from \"files\"",
			    "matches the deny pattern \"%s\"",
			    r->files_deny.pat[i]);
			break;
		}
	}
	if (r->has_files_allow) {
		ok = 0;
		for (i = 0; i < r->files_allow.n && !ok; i++)
			ok = pol_glob_match(r->files_allow.pat[i], path);
		if (!ok)
			pol_report_add(&s->r, "files.allow", path, -1,
			    "only the files the policy allows may ship; "
			    "check \"files\" in package.json",
			    "not in the policy's allowed files");
	}
	if (size > r->limits.file)
		pol_report_add(&s->r, "limits.file", path, -1,
		    "keep single files under the policy's limit",
		    "file is %llu bytes, the limit is %llu",
		    (unsigned long long)size,
		    (unsigned long long)r->limits.file);
}

/* Keeps an entry's facts until the rule is known; fails closed past the cap. */
static void
pend_entry(struct pol_stream *s, const char *raw, int type, uint64_t size,
    size_t inner_off)
{
	char	 head[48];
	size_t	 hl, pl, need;
	char	*n;

	if (s->pend_overflow)
		return;
	hl = (size_t)snprintf(head, sizeof(head), "%llu %d %zu",
	    (unsigned long long)size, type, inner_off) + 1;
	pl = strlen(raw) + 1;
	need = s->pend_len + hl + pl;
	if (need > PUB_PENDING_FILES_MAX) {
		s->pend_overflow = 1;
		return;
	}
	if (need > s->pend_cap) {
		size_t	 cap = s->pend_cap ? s->pend_cap * 2 : 4096;

		while (cap < need)
			cap *= 2;
		if (cap > PUB_PENDING_FILES_MAX)
			cap = PUB_PENDING_FILES_MAX;
		if ((n = realloc(s->pend_paths, cap)) == NULL) {
			s->pend_overflow = 1;
			return;
		}
		s->pend_paths = n;
		s->pend_cap = cap;
	}
	memcpy(s->pend_paths + s->pend_len, head, hl);
	memcpy(s->pend_paths + s->pend_len + hl, raw, pl);
	s->pend_len = need;
}

/* ------------------------------------------------------- package.json */

static int
pj_cb(void *arg, enum pol_json_ev ev, const char *str, size_t len, int depth)
{
	struct pol_stream	*s = arg;
	const struct pol_rule	*r;
	size_t			 i;
	int			 allowed;

	switch (ev) {
	case POL_JSON_OBJ_BEGIN:
	case POL_JSON_ARR_BEGIN:
		if (depth + 1 <= POL_JSON_DEPTH_MAX)
			s->pj_ctype[depth + 1] = ev == POL_JSON_OBJ_BEGIN ?
			    'o' : 'a';
		if (depth == 1 && strcmp(s->pj_key, "private") == 0)
			s->pj_private = 1;	/* truthy */
		return 0;
	case POL_JSON_KEY:
		if (depth == 1) {
			if (len >= sizeof(s->pj_key))
				len = sizeof(s->pj_key) - 1;
			memcpy(s->pj_key, str, len);
			s->pj_key[len] = '\0';
		} else if (depth == 2 && s->pj_ctype[1] == 'o' &&
		    strcmp(s->pj_key, "publishConfig") == 0 &&
		    s->pj_bad_pubcfg[0] == '\0') {
			/* Judged against the scan rule's list at the end. */
			r = s->rule ? s->rule : s->srule;
			allowed = 0;
			for (i = 0; r != NULL && i < r->publish_config.n; i++)
				if (strlen(r->publish_config.pat[i]) == len &&
				    memcmp(r->publish_config.pat[i], str,
				    len) == 0)
					allowed = 1;
			if (!allowed) {
				if (len >= sizeof(s->pj_bad_pubcfg))
					len = sizeof(s->pj_bad_pubcfg) - 1;
				memcpy(s->pj_bad_pubcfg, str, len);
				s->pj_bad_pubcfg[len] = '\0';
			}
		}
		return 0;
	case POL_JSON_STR_BEGIN:
		if (depth == 1 && strcmp(s->pj_key, "name") == 0)
			s->pj_name[0] = '\0';
		if (depth == 1 && strcmp(s->pj_key, "version") == 0)
			s->pj_version[0] = '\0';
		return 0;
	case POL_JSON_STR_CHUNK:
		if (depth != 1)
			return 0;
		if (strcmp(s->pj_key, "private") == 0) {
			s->pj_private = 1;
			return 0;
		}
		if (strcmp(s->pj_key, "name") == 0 ||
		    strcmp(s->pj_key, "version") == 0) {
			char	*dst = s->pj_key[0] == 'n' ? s->pj_name :
			    s->pj_version;
			size_t	 cap = s->pj_key[0] == 'n' ?
			    sizeof(s->pj_name) : sizeof(s->pj_version);
			size_t	 have = strlen(dst);

			if (have + len >= cap)
				return -1;
			memcpy(dst + have, str, len);
			dst[have + len] = '\0';
		}
		return 0;
	case POL_JSON_TRUE:
	case POL_JSON_NUMBER:
		if (depth == 1 && strcmp(s->pj_key, "private") == 0)
			s->pj_private = 1;
		return 0;
	default:
		return 0;
	}
}

/* --------------------------------------------------------- tar entries */

static void
choose_rule(struct pol_stream *s);

static int
tar_begin(void *arg, const struct pol_tar_entry *e)
{
	struct pol_stream	*s = arg;
	const char		*path = strip_top(e->path);

	s->r.file_count++;
	if (s->r.file_count > s->lim.files) {
		fatal(s, POL_ERR_LIMIT, "limits.files", NULL,
		    "ship fewer files (check \"files\" in package.json)",
		    "more than %llu files in the tarball",
		    (unsigned long long)s->lim.files);
		return -1;
	}
	if (e->type == POL_TAR_FILE) {
		s->r.unpacked_bytes += e->size;
		if (s->r.unpacked_bytes > s->lim.unpacked) {
			fatal(s, POL_ERR_LIMIT, "limits.unpacked", NULL,
			    "ship less (check \"files\" in package.json)",
			    "unpacked size over %llu bytes",
			    (unsigned long long)s->lim.unpacked);
			return -1;
		}
	}
	if (rule_known(s))
		judge_entry(s, s->rule, e->path, e->type, e->size);
	else
		pend_entry(s, e->path, (int)e->type, e->size, 0);
	/* Past its cap the list is incomplete: diff then cannot judge. */
	if (s->collect_files && e->type == POL_TAR_FILE)
		(void)pol_flist_add(&s->cur_files, path, e->size);

	setstr(s->entry_path, sizeof(s->entry_path), path);
	s->in_entry = 1;
	s->entry_pkgjson = 0;
	s->entry_scanned = 0;
	s->file_hashing = 0;
	if (e->type != POL_TAR_FILE)
		return 0;
	if (s->on_file != NULL) {
		if ((s->file_md == NULL &&
		    (s->file_md = EVP_MD_CTX_new()) == NULL) ||
		    EVP_DigestInit_ex(s->file_md, EVP_sha256(), NULL) != 1) {
			fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
			    "digest setup failed");
			return -1;
		}
		setstr(s->file_raw, sizeof(s->file_raw), e->path);
		s->file_size = e->size;
		s->file_hashing = 1;
	}
	if (strcmp(path, "package.json") == 0 && strchr(e->path, '/') != NULL) {
		if (s->pj_seen) {
			pol_report_add(&s->r, "tarball.package-json", path, -1,
			    NULL, "more than one package.json at the top");
		} else {
			s->pj_seen = 1;
			s->entry_pkgjson = 1;
			pol_json_init(&s->pj, POL_JSON_DEPTH_MAX, pj_cb, s);
			if (pol_json_dupkeys(&s->pj) != 0) {
				fatal(s, POL_ERR_INTERNAL, "internal", NULL,
				    NULL, "out of memory");
				return -1;
			}
		}
	}
	if (pol_scan_file_begin(s->scan, path, e->size) != 0) {
		fatal(s, POL_ERR_INTERNAL, "scan.internal", path, NULL,
		    "content scanner failed");
		return -1;
	}
	s->entry_scanned = 1;
	if (s->nest != NULL && pol_nest_file_begin(s->nest, path, e->size) != 0)
		return -1;
	return 0;
}

static int
tar_data(void *arg, const unsigned char *buf, size_t len)
{
	struct pol_stream	*s = arg;
	enum pol_json_rc	 jrc;

	if (s->entry_pkgjson) {
		s->pj_bytes += len;
		if (s->pj_bytes > POL_PKGJSON_MAX) {
			fatal(s, POL_ERR_LIMIT, "limits.package-json",
			    "package.json", NULL, "package.json is over %u bytes",
			    POL_PKGJSON_MAX);
			return -1;
		}
		jrc = pol_json_feed(&s->pj, buf, len);
		if (jrc == POL_JSON_ERR_DUPKEY || jrc == POL_JSON_ERR_KEYS) {
			json_key_fatal(s, &s->pj, jrc, "package.json", NULL);
			return -1;
		}
		if (jrc != POL_JSON_OK && jrc != POL_JSON_STOP) {
			fatal(s, POL_ERR_SYNTAX, "tarball.package-json",
			    "package.json", "fix package.json",
			    "package.json is not valid JSON or a field is too long");
			return -1;
		}
	}
	if (s->file_hashing && EVP_DigestUpdate(s->file_md, buf, len) != 1) {
		fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "digest failed");
		return -1;
	}
	if (s->entry_scanned && pol_scan_file_data(s->scan, buf, len) != 0) {
		fatal(s, POL_ERR_INTERNAL, "scan.internal", s->entry_path, NULL,
		    "content scanner failed");
		return -1;
	}
	if (s->nest != NULL && pol_nest_file_data(s->nest, buf, len) != 0)
		return -1;
	return 0;
}

static int
tar_end(void *arg)
{
	struct pol_stream	*s = arg;
	unsigned char		 md[32];
	unsigned int		 mdlen = 0;

	if (s->file_hashing) {
		s->file_hashing = 0;
		if (EVP_DigestFinal_ex(s->file_md, md, &mdlen) != 1 ||
		    mdlen != sizeof(md)) {
			fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
			    "digest failed");
			return -1;
		}
		s->on_file(s->file_arg, s->file_raw, s->file_size, md);
	}
	if (s->entry_pkgjson) {
		if (pol_json_finish(&s->pj) != POL_JSON_OK) {
			fatal(s, POL_ERR_SYNTAX, "tarball.package-json",
			    "package.json", "fix package.json",
			    "package.json is not valid JSON");
			return -1;
		}
		s->pj_ok = 1;
		s->entry_pkgjson = 0;
		if (!rule_known(s) && best_name(s) != NULL)
			choose_rule(s);
	}
	if (s->entry_scanned) {
		s->entry_scanned = 0;
		if (pol_scan_file_end(s->scan) != 0) {
			fatal(s, POL_ERR_INTERNAL, "scan.internal",
			    s->entry_path, NULL, "content scanner failed");
			return -1;
		}
	}
	s->in_entry = 0;
	if (s->nest != NULL && pol_nest_file_end(s->nest) != 0)
		return -1;
	return 0;
}

static const struct pol_tar_cb tar_cbs = { tar_begin, tar_data, tar_end };

/* ----------------------------------------------------- nested archives */

static void
nest_entry(void *arg, const char *file, const char *inner,
    enum pol_tar_type type, uint64_t size)
{
	struct pol_stream	*s = arg;

	if (!rule_known(s))
		pend_entry(s, file, PEND_NESTED + (int)type, size,
		    (size_t)(inner - file));
	else if (nested_applies(s->rule, NEST_CONTENT))
		pol_nest_judge(s->rule, file, inner, type, size, pol_nest_hold,
		    s->nest);
}

static void
nest_finding(void *arg, const char *file, const struct pol_finding *f)
{
	add_finding_n(arg, file, f->rule, f->text, f->hint, f->offset,
	    NEST_CONTENT, f->fp);
}

static void
nest_archive(void *arg, const char *file)
{
	add_finding_n(arg, file, "archive.nested", "archive inside the "
	    "package (the policy refuses them: archives: block)",
	    "ship the files unpacked", -1, NEST_PRESENT, NULL);
}

static void
nest_limit(void *arg, const char *rule, const char *file, const char *text)
{
	struct pol_stream	*s = arg;

	fatal(s, strcmp(rule, "internal") == 0 || strcmp(rule,
	    "scan.internal") == 0 ? POL_ERR_INTERNAL : POL_ERR_LIMIT, rule,
	    file, "ship the files unpacked, within the policy's limits", "%s",
	    text);
}

/* Entries and bytes inside archives count against the package's totals. */
static int
nest_account(void *arg, uint64_t files, uint64_t bytes)
{
	struct pol_stream	*s = arg;

	s->nest_files += files;
	s->nest_bytes += bytes;
	if (s->r.file_count + s->nest_files > s->lim.files) {
		fatal(s, POL_ERR_LIMIT, "limits.files", NULL,
		    "ship fewer files (archives inside count too)",
		    "more than %llu files in the tarball and the archives "
		    "inside it", (unsigned long long)s->lim.files);
		return -1;
	}
	if (s->r.unpacked_bytes + s->nest_bytes > s->lim.unpacked) {
		fatal(s, POL_ERR_LIMIT, "limits.unpacked", NULL,
		    "ship less (archives inside count too)",
		    "unpacked size of the tarball and the archives inside it "
		    "over %llu bytes", (unsigned long long)s->lim.unpacked);
		return -1;
	}
	return 0;
}

/*
 * outer_gzh() : the tarball's own gzip header fields (name, comment,
 * extra) are scanned like a file: npm ignores them, but they are
 * published with the tarball.
 */
static int
outer_gzh(void *arg, const char *field, enum pol_gzh_ev ev,
    const unsigned char *p, size_t len)
{
	struct pol_stream	*s = arg;
	char			 path[32];
	int			 rc = 0;

	switch (ev) {
	case POL_GZH_BEGIN:
		snprintf(path, sizeof(path), "(gzip %s)", field);
		rc = pol_scan_file_begin(s->scan, path, 0);
		break;
	case POL_GZH_DATA:
		rc = pol_scan_file_data(s->scan, p, len);
		break;
	case POL_GZH_END:
		rc = pol_scan_file_end(s->scan);
		break;
	}
	if (rc != 0) {
		fatal(s, POL_ERR_INTERNAL, "scan.internal", NULL, NULL,
		    "content scanner failed");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ tarball */

static int
gz_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct pol_stream	*s = arg;
	enum pol_tar_rc		 rc;

	rc = pol_tar_feed(s->tar, buf, len);
	switch (rc) {
	case POL_TAR_OK:
		return 0;
	case POL_TAR_END:
		s->tar_ended = 1;
		return 0;
	case POL_TAR_ABORT:
		return -1;	/* the reason is already recorded */
	case POL_TAR_ERR_LIMIT:
		fatal(s, POL_ERR_LIMIT, "tarball.tar", NULL, NULL,
		    "tar header over its cap: %s",
		    s->tar->err ? s->tar->err : "limit");
		return -1;
	case POL_TAR_ERR_AMBIGUOUS:
		fatal(s, POL_ERR_SYNTAX, "tar.ambiguous", NULL,
		    "pack with npm pack",
		    "tar that npm's extractor reads another way: %s",
		    s->tar->err ? s->tar->err : "ambiguous");
		return -1;
	case POL_TAR_ERR_TRAILING:
		fatal(s, POL_ERR_SYNTAX, "tarball.tar", NULL,
		    "pack with npm pack",
		    "data after the end of the tar archive");
		return -1;
	default:
		fatal(s, POL_ERR_SYNTAX, "tarball.tar", NULL,
		    "pack with npm pack", "malformed tar: %s",
		    s->tar->err ? s->tar->err : "format error");
		return -1;
	}
}

/* Starts the decode chain for the one tarball of this publish. */
static enum pol_status
tarball_start(struct pol_stream *s)
{
	uint64_t	 max_out;

	if (s->tarball_started)
		return fatal(s, POL_ERR_SYNTAX, "attachment.multiple", NULL,
		    "publish one tarball per request",
		    "more than one tarball attached");
	s->tarball_started = 1;
	if (!rule_known(s) && best_name(s) != NULL)
		choose_rule(s);
	if (!rule_known(s) && !s->scan_rule_inited)
		choose_rule(s);		/* sets up the all-on scan rule */
	if ((s->sha512 = EVP_MD_CTX_new()) == NULL ||
	    (s->sha1 = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s->sha512, EVP_sha512(), NULL) != 1 ||
	    EVP_DigestInit_ex(s->sha1, EVP_sha1(), NULL) != 1)
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "digest setup failed");
	if ((s->gz = malloc(sizeof(*s->gz))) == NULL ||
	    (s->tar = malloc(sizeof(*s->tar))) == NULL ||
	    (s->decbuf = malloc(PUB_DECODE_IN / 4 * 3 + 3)) == NULL)
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "out of memory");
	/* Output cap: the unpacked limit plus tar headers and padding. */
	max_out = s->lim.unpacked + s->lim.files * 1536 + (1u << 20);
	if (pol_gz_init(s->gz, max_out, s->lim.ratio) != 0) {
		free(s->gz);
		s->gz = NULL;
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "inflate setup failed");
	}
	pol_tar_init(s->tar, &tar_cbs, s);
	if ((s->scan = pol_scan_new(s->srule, on_finding, s)) == NULL)
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "content scanner setup failed");
	pol_gzh_init(&s->gzh);
	if (s->srule->archives != POL_ARCH_ALLOW) {
		struct pol_nest_env	 env = { s, nest_entry, nest_finding,
		    nest_archive, nest_limit, nest_account };

		if ((s->nest = pol_nest_new(&env, s->srule, &s->lim,
		    s->srule->archives == POL_ARCH_JUDGE)) == NULL)
			return fatal(s, POL_ERR_INTERNAL, "internal", NULL,
			    NULL, "out of memory");
	}
	pol_b64_init(&s->b64, POL_B64_STRICT);
	return POL_CONTINUE;
}

/* Feeds decoded tarball bytes: digests, size cap, inflate. */
static enum pol_status
tarball_bytes(struct pol_stream *s, const unsigned char *buf, size_t len)
{
	enum pol_gz_rc	 rc;

	if (len == 0)
		return s->r.status;
	s->r.tarball_bytes += len;
	if (s->r.tarball_bytes > s->lim.tarball)
		return fatal(s, POL_ERR_LIMIT, "limits.tarball", NULL,
		    "ship less (check \"files\" in package.json)",
		    "tarball over %llu bytes",
		    (unsigned long long)s->lim.tarball);
	if (EVP_DigestUpdate(s->sha512, buf, len) != 1 ||
	    EVP_DigestUpdate(s->sha1, buf, len) != 1)
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "digest failed");
	if (s->on_tarball != NULL)
		s->on_tarball(s->tarball_arg, buf, len);
	if (s->gz_ended)
		return fatal(s, POL_ERR_SYNTAX, "tarball.gzip", NULL,
		    "pack with npm pack", "data after the end of the gzip stream");
	if (pol_gzh_feed(&s->gzh, buf, len, outer_gzh, s) != 0)
		return s->r.status;
	rc = pol_gz_feed(s->gz, buf, len, gz_sink, s);
	switch (rc) {
	case POL_GZ_OK:
		return s->r.status;
	case POL_GZ_END:
		s->gz_ended = 1;
		return s->r.status;
	case POL_GZ_ERR_LIMIT:
		return fatal(s, POL_ERR_LIMIT, "limits.unpacked", NULL,
		    "ship less (check \"files\" in package.json)",
		    "tarball inflates past the unpacked limit");
	case POL_GZ_ERR_RATIO:
		return fatal(s, POL_ERR_LIMIT, "limits.ratio", NULL,
		    "this looks like a compression bomb",
		    "tarball inflates more than %u times its size",
		    s->lim.ratio);
	case POL_GZ_ABORT:
		if (s->r.status == POL_CONTINUE)
			return fatal(s, POL_ERR_INTERNAL, "internal", NULL,
			    NULL, "tar walk aborted");
		return s->r.status;
	case POL_GZ_ERR_DATA:
		return fatal(s, POL_ERR_SYNTAX, "tarball.gzip", NULL,
		    "attach the .tgz that npm pack writes",
		    "the tarball is not valid gzip");
	default:
		return fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
		    "inflate failed");
	}
}

/* Base64 text of the attachment's "data". */
static enum pol_status
tarball_b64(struct pol_stream *s, const char *txt, size_t len)
{
	size_t		 n, outlen;
	ssize_t		 used;
	enum pol_status	 st;

	while (len > 0) {
		n = len < PUB_DECODE_IN ? len : PUB_DECODE_IN;
		used = pol_b64_decode(&s->b64, txt, n, s->decbuf, &outlen);
		/*
		 * On an error the groups before it are still judged, so that
		 * the first problem in the data wins whatever the split.
		 */
		if ((st = tarball_bytes(s, s->decbuf, outlen)) != POL_CONTINUE)
			return st;
		if (used < 0)
			return fatal(s, POL_ERR_SYNTAX, "attachment.base64",
			    NULL, "attach the tarball as base64",
			    "attachment data is not valid base64");
		txt += n;
		len -= n;
	}
	return POL_CONTINUE;
}

/* ------------------------------------------------------- publish body */

static int
path_is(const struct pol_stream *s, int depth, const char *k1, const char *k2,
    const char *k3, const char *k4)
{
	const char	*want[4] = { k1, k2, k3, k4 };
	int		 d;

	for (d = 1; d <= depth; d++) {
		if (d > PUB_KEY_DEPTH || s->ctype[d] != 'o')
			return 0;
		if (d - 1 >= 4)
			return 0;
		if (want[d - 1] == NULL)
			return 0;
		if (strcmp(want[d - 1], "*") == 0)
			continue;
		if (s->keylong[d] || strcmp(s->keys[d], want[d - 1]) != 0)
			return 0;
	}
	return depth < 4 ? want[depth] == NULL : 1;
}

static struct pub_version *
version_new(struct pol_stream *s, const char *key)
{
	struct pub_version	*v;
	size_t			 cap;

	if (s->nversions >= POL_VERSIONS_MAX)
		return NULL;
	if (s->nversions == s->versions_cap) {
		cap = s->versions_cap ? s->versions_cap * 2 : 4;
		if (cap > POL_VERSIONS_MAX)
			cap = POL_VERSIONS_MAX;
		if ((v = realloc(s->versions, cap * sizeof(*v))) == NULL)
			return NULL;
		s->versions = v;
		s->versions_cap = cap;
	}
	v = &s->versions[s->nversions++];
	memset(v, 0, sizeof(*v));
	setstr(v->version, sizeof(v->version), key);
	return v;
}

/* Which field does a string or number at this depth belong to? */
static enum pub_field
field_at(const struct pol_stream *s, int depth)
{
	if (path_is(s, depth, "_id", NULL, NULL, NULL))
		return F_ID;
	if (path_is(s, depth, "name", NULL, NULL, NULL))
		return F_NAME;
	if (path_is(s, depth, "access", NULL, NULL, NULL))
		return F_ACCESS;
	if (path_is(s, depth, "dist-tags", "*", NULL, NULL))
		return F_TAG;
	if (s->curv != NULL && depth >= 3) {
		if (path_is(s, depth, "versions", "*", "name", NULL))
			return F_V_NAME;
		if (path_is(s, depth, "versions", "*", "version", NULL))
			return F_V_VERSION;
		if (path_is(s, depth, "versions", "*", "dist", "integrity"))
			return F_V_INTEGRITY;
		if (path_is(s, depth, "versions", "*", "dist", "shasum"))
			return F_V_SHASUM;
		if (path_is(s, depth, "versions", "*", "dist", "tarball"))
			return F_V_TARBALL;
	}
	if (path_is(s, depth, "_attachments", "*", "length", NULL))
		return F_A_LENGTH;
	return F_NONE;
}

static int
field_store(struct pol_stream *s)
{
	struct pub_version	*v = s->curv;
	struct pub_tag		*t;
	const char		*val = s->sval;
	char			*end;
	unsigned long long	 n;

	switch (s->field) {
	case F_ID:
		setstr(s->body_id, sizeof(s->body_id), val);
		break;
	case F_NAME:
		setstr(s->body_name, sizeof(s->body_name), val);
		break;
	case F_ACCESS:
		setstr(s->r.access, sizeof(s->r.access), val);
		s->has_access = 1;
		break;
	case F_TAG:
		if (s->ntags >= POL_TAGS_MAX) {
			fatal(s, POL_ERR_LIMIT, "limits.dist-tags", NULL, NULL,
			    "more than %d dist-tags", POL_TAGS_MAX);
			return -1;
		}
		if (s->tags == NULL && (s->tags = calloc(POL_TAGS_MAX,
		    sizeof(*s->tags))) == NULL) {
			fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL,
			    "out of memory");
			return -1;
		}
		t = &s->tags[s->ntags++];
		setstr(t->tag, sizeof(t->tag), s->keys[2]);
		setstr(t->version, sizeof(t->version), val);
		break;
	case F_V_NAME:
		setstr(v->name, sizeof(v->name), val);
		break;
	case F_V_VERSION:
		setstr(v->mversion, sizeof(v->mversion), val);
		break;
	case F_V_INTEGRITY:
		setstr(v->integrity, sizeof(v->integrity), val);
		break;
	case F_V_SHASUM:
		setstr(v->shasum, sizeof(v->shasum), val);
		break;
	case F_V_TARBALL:
		setstr(v->tarball, sizeof(v->tarball), val);
		break;
	case F_A_LENGTH:
		n = strtoull(val, &end, 10);
		if (*end != '\0' || val[0] == '-') {
			fatal(s, POL_ERR_SYNTAX, "attachment.length", NULL,
			    NULL, "attachment length is not a byte count");
			return -1;
		}
		if (s->cur_attach == A_TARBALL) {	/* not the bundle's */
			s->have_length = 1;
			s->attach_length = n;
		}
		break;
	default:
		break;
	}
	return 0;
}

static size_t
field_cap(enum pub_field f)
{
	switch (f) {
	case F_ID:
	case F_NAME:
	case F_V_NAME:
		return PUB_NAME_MAX;
	case F_ACCESS:
		return 16;
	case F_TAG:
	case F_V_VERSION:
		return PUB_VERSION_MAX;
	case F_V_INTEGRITY:
		return PUB_INTEGRITY_MAX;
	case F_V_SHASUM:
		return 48;
	default:
		return POL_FIELD_MAX;
	}
}

/* ---------------------------------------------------------- sigstore */

/*
 * npm (libnpmpublish), pnpm and yarn attach a provenance bundle as
 * "<name>-<version>.sigstore" whose "data" is the bundle's JSON text as
 * a string, and whose top-level "mediaType" names a Sigstore bundle.
 * A registry may store any attachment under its own name and serve it
 * as whatever dist.tarball names, so the bundle is read here as JSON as
 * it streams (duplicate keys refused, as JSON.parse would keep the last
 * one) and anything else attached under that name is refused.
 */
#define SIG_MEDIA_PREFIX	"application/vnd.dev.sigstore.bundle"

static int
sig_cb(void *arg, enum pol_json_ev ev, const char *str, size_t len,
    int depth)
{
	struct pol_stream	*s = arg;
	size_t			 room;

	switch (ev) {
	case POL_JSON_OBJ_BEGIN:
		if (depth == 0)
			s->sig_object = 1;
		s->sig_in_media = 0;
		break;
	case POL_JSON_KEY:
		s->sig_in_media = depth == 1 && len == 9 &&
		    memcmp(str, "mediaType", 9) == 0;
		break;
	case POL_JSON_STR_BEGIN:
		if (s->sig_in_media && depth == 1) {
			s->sig_nmedia++;
			s->sig_media_len = 0;
		}
		break;
	case POL_JSON_STR_CHUNK:
		if (!s->sig_in_media || depth != 1)
			break;
		room = sizeof(s->sig_media) - 1 - s->sig_media_len;
		if (len > room)
			len = room;
		memcpy(s->sig_media + s->sig_media_len, str, len);
		s->sig_media_len += len;
		s->sig_media[s->sig_media_len] = '\0';
		break;
	default:
		if (depth == 1)
			s->sig_in_media = 0;
		break;
	}
	return 0;
}

/* A block, not a syntax error: the body is well-formed JSON. */
static int
sig_bad(struct pol_stream *s, const char *why)
{
	if (!s->sig_failed) {
		s->sig_failed = 1;
		pol_report_add(&s->r, "attachment.sigstore", s->sig_key, -1,
		    "attach only the provenance bundle npm publish "
		    "--provenance makes under a .sigstore name", "%s", why);
	}
	return 0;
}

static int
sig_start(struct pol_stream *s)
{
	s->sig_started = 1;
	pol_json_init(&s->sig, POL_JSON_DEPTH_MAX, sig_cb, s);
	if (pol_json_dupkeys(&s->sig) != 0) {
		fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL, "memory");
		return -1;
	}
	return 0;
}

static int
sig_feed(struct pol_stream *s, const char *str, size_t len)
{
	s->sigstore_bytes += len;
	if (s->sigstore_bytes > PUB_SIGSTORE_MAX) {
		fatal(s, POL_ERR_LIMIT, "limits.provenance", s->sig_key, NULL,
		    "provenance bundle over %u bytes", PUB_SIGSTORE_MAX);
		return -1;
	}
	if (s->sig_failed)
		return 0;
	if (pol_json_feed(&s->sig, str, len) != POL_JSON_OK)
		return sig_bad(s, "the .sigstore attachment is not a JSON "
		    "Sigstore bundle");
	return 0;
}

static int
sig_end(struct pol_stream *s)
{
	if (s->sig_failed)
		return 0;
	if (pol_json_finish(&s->sig) != POL_JSON_OK || !s->sig_object)
		return sig_bad(s, "the .sigstore attachment is not a JSON "
		    "Sigstore bundle");
	if (s->sig_nmedia != 1 || strncmp(s->sig_media, SIG_MEDIA_PREFIX,
	    sizeof(SIG_MEDIA_PREFIX) - 1) != 0)
		return sig_bad(s, "the .sigstore attachment has no Sigstore "
		    "bundle mediaType");
	s->sig_ok = 1;
	return 0;
}

static int
body_attach_begin(struct pol_stream *s, const char *key)
{
	setstr(s->attach_key, sizeof(s->attach_key), key);
	if (ends_with(key, ".tgz")) {
		s->cur_attach = A_TARBALL;
		s->ntarballs++;
		setstr(s->tgz_key, sizeof(s->tgz_key), key);
	} else if (ends_with(key, ".sigstore")) {
		if (s->has_sigstore) {
			fatal(s, POL_ERR_SYNTAX, "attachment.multiple", key,
			    "attach one provenance bundle, as npm does",
			    "more than one .sigstore attachment");
			return -1;
		}
		s->cur_attach = A_SIGSTORE;
		s->has_sigstore = 1;
		setstr(s->sig_key, sizeof(s->sig_key), key);
	} else {
		s->cur_attach = A_UNKNOWN;
		pol_report_add(&s->r, "attachment.unknown", key, -1,
		    "attach only the package tarball (and its provenance)",
		    "unknown attachment");
	}
	return 0;
}

static int
body_cb(void *arg, enum pol_json_ev ev, const char *str, size_t len, int depth)
{
	struct pol_stream	*s = arg;
	size_t			 i;
	int			 allowed;

	switch (ev) {
	case POL_JSON_OBJ_BEGIN:
	case POL_JSON_ARR_BEGIN:
		if (depth == 0) {
			if (ev != POL_JSON_OBJ_BEGIN)
				return -1;
			s->saw_object = 1;
		}
		if (depth + 1 < (int)(sizeof(s->ctype) / sizeof(s->ctype[0])))
			s->ctype[depth + 1] = ev == POL_JSON_OBJ_BEGIN ?
			    'o' : 'a';
		if (ev == POL_JSON_OBJ_BEGIN && depth == 2 &&
		    path_is(s, 2, "versions", "*", NULL, NULL)) {
			if (s->keylong[2] ||
			    (s->curv = version_new(s, s->keys[2])) == NULL) {
				fatal(s, POL_ERR_LIMIT, "limits.versions", NULL,
				    NULL, "too many versions or a version key "
				    "over %d bytes", PUB_VERSION_MAX - 1);
				return -1;
			}
		}
		if (ev == POL_JSON_OBJ_BEGIN && depth == 2 &&
		    path_is(s, 2, "_attachments", "*", NULL, NULL)) {
			if (s->keylong[2]) {
				fatal(s, POL_ERR_LIMIT, "limits.attachment-name",
				    NULL, NULL, "attachment name too long");
				return -1;
			}
			if (body_attach_begin(s, s->keys[2]) != 0)
				return -1;
		}
		if (depth == 3 && s->curv != NULL &&
		    path_is(s, 3, "versions", "*", "private", NULL))
			s->curv->is_private = 1;
		return 0;
	case POL_JSON_OBJ_END:
		if (depth == 2 && s->curv != NULL &&
		    path_is(s, 2, "versions", "*", NULL, NULL))
			s->curv = NULL;
		if (depth == 2 && path_is(s, 2, "_attachments", "*", NULL, NULL))
			s->cur_attach = A_NONE;
		return 0;
	case POL_JSON_ARR_END:
		return 0;
	case POL_JSON_KEY:
		if (depth <= PUB_KEY_DEPTH) {
			s->keylong[depth] = len >= sizeof(s->keys[depth]);
			if (s->keylong[depth])
				len = sizeof(s->keys[depth]) - 1;
			memcpy(s->keys[depth], str, len);
			s->keys[depth][len] = '\0';
		}
		/* versions.V.publishConfig.<key> */
		if (depth == 4 && s->curv != NULL &&
		    path_is(s, 3, "versions", "*", "publishConfig", NULL) &&
		    s->curv->bad_pubcfg[0] == '\0') {
			const struct pol_rule *r = s->rule ? s->rule :
			    pol_rule_find(s->policy, best_name(s) ?
			    best_name(s) : "");

			allowed = 0;
			for (i = 0; i < r->publish_config.n; i++)
				if (strcmp(r->publish_config.pat[i],
				    s->keys[4]) == 0)
					allowed = 1;
			if (!allowed)
				setstr(s->curv->bad_pubcfg,
				    sizeof(s->curv->bad_pubcfg), s->keys[4]);
		}
		return 0;
	case POL_JSON_STR_BEGIN:
		s->svlen = 0;
		s->svlong = 0;
		s->sval[0] = '\0';
		s->field = F_NONE;
		if (depth == 3 && path_is(s, 3, "_attachments", "*", "data",
		    NULL)) {
			s->in_data = 1;
			if (s->cur_attach == A_TARBALL) {
				if (tarball_start(s) != POL_CONTINUE)
					return -1;
			}
			if (s->cur_attach == A_SIGSTORE)
				return sig_start(s);
			return 0;
		}
		if (depth == 3 && s->curv != NULL &&
		    path_is(s, 3, "versions", "*", "private", NULL))
			s->curv->is_private = 1;	/* any string: fail closed */
		s->field = field_at(s, depth);
		return 0;
	case POL_JSON_STR_CHUNK:
		if (s->in_data) {
			if (s->cur_attach == A_TARBALL)
				return tarball_b64(s, str, len) ==
				    POL_CONTINUE ? 0 : -1;
			if (s->cur_attach == A_SIGSTORE)
				return sig_feed(s, str, len);
			return 0;
		}
		if (s->field == F_NONE)
			return 0;
		if (s->svlen + len >= field_cap(s->field)) {
			fatal(s, POL_ERR_LIMIT, "limits.field", NULL, NULL,
			    "a name, version or digest field is too long");
			return -1;
		}
		memcpy(s->sval + s->svlen, str, len);
		s->svlen += len;
		s->sval[s->svlen] = '\0';
		return 0;
	case POL_JSON_STR_END:
		if (s->in_data) {
			s->in_data = 0;
			if (s->cur_attach == A_TARBALL)
				s->data_done = 1;
			if (s->cur_attach == A_SIGSTORE)
				return sig_end(s);
			return 0;
		}
		if (s->field != F_NONE && s->field != F_A_LENGTH) {
			if (field_store(s) != 0)
				return -1;
			if ((s->field == F_NAME || s->field == F_ID) &&
			    !rule_known(s) && !s->tarball_started)
				choose_rule(s);
		}
		s->field = F_NONE;
		return 0;
	case POL_JSON_NUMBER:
		if (field_at(s, depth) == F_A_LENGTH) {
			if (len >= sizeof(s->sval))
				len = sizeof(s->sval) - 1;
			memcpy(s->sval, str, len);
			s->sval[len] = '\0';
			s->field = F_A_LENGTH;
			if (field_store(s) != 0)
				return -1;
			s->field = F_NONE;
		}
		/* FALLTHROUGH */
	case POL_JSON_TRUE:
		if (depth == 3 && s->curv != NULL &&
		    path_is(s, 3, "versions", "*", "private", NULL))
			s->curv->is_private = 1;	/* truthy */
		return 0;
	case POL_JSON_FALSE:
	case POL_JSON_NULL:
		return 0;
	}
	return 0;
}

/* -------------------------------------------------------- rule choice */

/*
 * choose_rule() : fixes the rule once a name is known.  With no name yet,
 * sets up the all-on scan rule (every detector of every rule, limits at
 * the policy's maximum) so that nothing is missed before the name comes.
 */
static void
choose_rule(struct pol_stream *s)
{
	const char		*name = best_name(s);
	const struct pol_policy	*p = s->policy;
	size_t			 i;

	if (rule_known(s))
		return;
	if (name != NULL) {
		s->rule = pol_rule_find(p, name);
		if (!s->tarball_started) {
			s->srule = s->rule;
			s->lim = s->rule->limits;
		}
		return;
	}
	if (s->scan_rule_inited)
		return;
	/* All-on: the scanners use the default rule's detectors. */
	s->scan_rule = p->dflt;
	s->scan_rule.sourcemaps = POL_MODE_BLOCK;
	s->scan_rule.secrets = POL_MODE_BLOCK;
	s->scan_rule.has_files_allow = 0;
	s->scan_rule.archives = POL_ARCH_JUDGE;
	s->lim = p->dflt.limits;
	for (i = 0; i < p->nrules; i++) {
		limits_max(&s->lim, &p->rules[i].limits);
		if (p->rules[i].ncustom > 0)
			s->pend_overflow = 1;	/* custom detectors unknown */
	}
	s->scan_rule.limits = s->lim;
	s->scan_rule_inited = 1;
	s->srule = &s->scan_rule;
}

/* ------------------------------------------------------------- the API */

struct pol_stream *
pol_publish_new(struct pol_policy *p, const struct pol_stream_opts *opts)
{
	struct pol_stream	*s;

	if (p == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->policy = pol_policy_ref(p);
	s->input = opts != NULL ? opts->input : POL_INPUT_AUTO;
	if (opts != NULL && opts->url_name != NULL)
		setstr(s->url_name, sizeof(s->url_name), opts->url_name);
	if (opts != NULL) {
		s->on_file = opts->on_file;
		s->file_arg = opts->file_arg;
		s->on_tarball = opts->on_tarball;
		s->tarball_arg = opts->tarball_arg;
		s->want_prev = opts->previous != 0;
	}
	if (s->want_prev) {
		size_t	 i;

		s->collect_files = p->dflt.diff.on;
		for (i = 0; i < p->nrules && !s->collect_files; i++)
			s->collect_files = p->rules[i].diff.on;
	}
	pol_flist_init(&s->cur_files, POL_DIFF_FILES_MAX, POL_DIFF_NAMES_MAX);
	pol_flist_init(&s->prev_files, POL_DIFF_FILES_MAX, POL_DIFF_NAMES_MAX);
	s->r.verdict = POL_ALLOW;
	s->r.status = POL_CONTINUE;
	s->lim = p->dflt.limits;
	if (s->url_name[0])
		choose_rule(s);
	pol_json_init(&s->json, POL_JSON_DEPTH_MAX, body_cb, s);
	if (pol_json_dupkeys(&s->json) != 0) {
		pol_publish_free(s);
		return NULL;
	}
	return s;
}

static enum pol_status
feed_body(struct pol_stream *s, const unsigned char *buf, size_t len)
{
	enum pol_json_rc	 rc;
	uint64_t		 cap;

	cap = s->lim.tarball / 3 * 4 + PUB_BODY_SLACK;
	if (s->r.body_bytes > cap)
		return fatal(s, POL_ERR_LIMIT, "limits.body", NULL, NULL,
		    "publish body over %llu bytes", (unsigned long long)cap);
	rc = pol_json_feed(&s->json, buf, len);
	switch (rc) {
	case POL_JSON_OK:
	case POL_JSON_STOP:
		return s->r.status;
	case POL_JSON_ABORT:
		if (s->r.status == POL_CONTINUE)
			return fatal(s, POL_ERR_SYNTAX, "body.json", NULL,
			    "send the body npm publish sends",
			    "the publish body is not an npm publish document");
		return s->r.status;
	case POL_JSON_ERR_DUPKEY:
	case POL_JSON_ERR_KEYS:
		return json_key_fatal(s, &s->json, rc, NULL,
		    "the publish body");
	case POL_JSON_ERR_LIMIT:
		return fatal(s, POL_ERR_LIMIT, "limits.json", NULL, NULL,
		    "publish body JSON over a cap at byte %llu: %s",
		    (unsigned long long)s->json.offset,
		    s->json.err ? s->json.err : "limit");
	default:
		return fatal(s, POL_ERR_SYNTAX, "body.json", NULL,
		    "send the body npm publish sends",
		    "malformed JSON at byte %llu: %s",
		    (unsigned long long)s->json.offset,
		    s->json.err ? s->json.err : "syntax error");
	}
}

enum pol_status
pol_publish_feed(struct pol_stream *s, const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	if (s->ended || s->r.status != POL_CONTINUE)
		return s->r.status == POL_CONTINUE ? POL_DONE : s->r.status;
	if (len == 0)
		return POL_CONTINUE;
	if (!s->sniffed) {
		/* gzip starts with 0x1f; anything else can only be JSON. */
		if (s->input == POL_INPUT_AUTO)
			s->input = p[0] == 0x1f ? POL_INPUT_TGZ : POL_INPUT_BODY;
		s->sniffed = 1;
		if (s->input == POL_INPUT_TGZ) {
			s->cur_attach = A_TARBALL;
			s->ntarballs = 1;
			if (tarball_start(s) != POL_CONTINUE)
				return s->r.status;
		}
	}
	s->r.body_bytes += len;
	if (s->input == POL_INPUT_TGZ)
		return tarball_bytes(s, p, len);
	return feed_body(s, p, len);
}

/* Hex of a digest. */
static void
hex(char *dst, const unsigned char *d, size_t n)
{
	static const char	 x[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = x[d[i] >> 4];
		dst[2 * i + 1] = x[d[i] & 15];
	}
	dst[2 * n] = '\0';
}

/* Does the SRI list in integrity hold our sha512 (and no other sha512)? */
static int
integrity_check(const char *integrity, const char *ours, int *has512)
{
	char		 buf[PUB_INTEGRITY_MAX], *tok, *save = NULL;
	int		 match = 0, other = 0;
	size_t		 n;

	*has512 = 0;
	setstr(buf, sizeof(buf), integrity);
	for (tok = strtok_r(buf, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "sha512-", 7) != 0)
			continue;
		*has512 = 1;
		/* Options after '?' are allowed by SRI. */
		n = strcspn(tok, "?");
		tok[n] = '\0';
		if (strcmp(tok, ours) == 0)
			match = 1;
		else
			other = 1;
	}
	return match && !other;
}

/* The version whose attachment came: "<name>-<version>.tgz". */
static struct pub_version *
judged_version(struct pol_stream *s)
{
	size_t	 i, kl, vl;
	char	 suffix[PUB_VERSION_MAX + 8];

	kl = strlen(s->tgz_key);
	for (i = 0; i < s->nversions; i++) {
		snprintf(suffix, sizeof(suffix), "-%s.tgz",
		    s->versions[i].version);
		vl = strlen(suffix);
		if (kl > vl && strcmp(s->tgz_key + kl - vl, suffix) == 0)
			return &s->versions[i];
	}
	return NULL;
}

static void
check_name(struct pol_stream *s, const char *what, const char *val,
    const char *ref, const char *refwhat)
{
	if (val[0] == '\0' || ref[0] == '\0')
		return;
	if (strcmp(val, ref) != 0)
		pol_report_add(&s->r, "consistency.name", NULL, -1,
		    "publish from the package's own folder with npm publish",
		    "%s \"%.80s\" does not match %s \"%.80s\"", what, val,
		    refwhat, ref);
}

/* The bundle, if any, is the judged tarball's: "<same>.sigstore". */
static void
check_sigstore(struct pol_stream *s)
{
	char	 want[sizeof(s->tgz_key) + 8];
	size_t	 kl;

	if (!s->has_sigstore)
		return;
	if (!s->sig_started)
		sig_bad(s, "the .sigstore attachment has no bundle data");
	kl = strlen(s->tgz_key);
	snprintf(want, sizeof(want), "%.*s.sigstore",
	    (int)(kl > 4 ? kl - 4 : 0), s->tgz_key);
	if (strcmp(s->sig_key, want) != 0)
		pol_report_add(&s->r, "attachment.sigstore", s->sig_key, -1,
		    "attach the bundle as <name>-<version>.sigstore, as npm "
		    "does", "the .sigstore attachment is not named after the "
		    "tarball \"%.120s\"", s->tgz_key);
}

/*
 * npm, pnpm and yarn write dist.tarball as <registry>/<name>/-/<K> with K
 * the tarball's attachment key; a registry serves the attachment whose
 * file name is the URL's last segment.  Any other file name could be
 * something the gate did not judge.  None of them leaves it out, empty
 * or other than a string; what a registry or a client makes of such a
 * version is theirs to choose, so it is refused as ambiguous.
 */
static void
check_dist_tarball(struct pol_stream *s, const struct pub_version *v)
{
	static const char hint[] = "publish with npm publish "
	    "(dist.tarball names the attached tarball)";
	const char	*url = v->tarball, *seg, *key;
	size_t		 n;

	if (url[0] == '\0') {	/* only a string is ever stored here */
		pol_report_add(&s->r, "attachment.dist-tarball", NULL, -1,
		    hint, "the version's dist.tarball is "
		    "missing, empty or not a string: it does not name the "
		    "attached tarball \"%.120s\"", s->tgz_key);
		return;
	}
	n = strcspn(url, "?#");
	seg = url + n;
	while (seg > url && seg[-1] != '/')
		seg--;
	key = strrchr(s->tgz_key, '/');
	key = key != NULL ? key + 1 : s->tgz_key;
	if ((size_t)(url + n - seg) != strlen(key) ||
	    strncmp(seg, key, strlen(key)) != 0)
		pol_report_add(&s->r, "attachment.dist-tarball", NULL, -1,
		    hint, "dist.tarball names the file "
		    "\"%.*s\", not the attached tarball \"%.120s\"",
		    (int)(url + n - seg > 120 ? 120 : url + n - seg), seg,
		    s->tgz_key);
}

/* Replays the facts kept while the rule was unknown. */
static void
replay_pending(struct pol_stream *s)
{
	size_t			 off = 0, i;
	unsigned long long	 size;
	int			 type;
	size_t			 inner;
	const char		*head, *path;
	struct pub_finding	*f;

	s->replayed = 1;
	while (off < s->pend_len) {
		head = s->pend_paths + off;
		path = head + strlen(head) + 1;
		if (sscanf(head, "%llu %d %zu", &size, &type, &inner) != 3)
			;
		else if (type >= PEND_NESTED) {
			if (nested_applies(s->rule, NEST_CONTENT) &&
			    inner <= strlen(path))
				pol_nest_judge(s->rule, path, path + inner,
				    (enum pol_tar_type)(type - PEND_NESTED),
				    size, report_finding, s);
		} else
			judge_entry(s, s->rule, path, (enum pol_tar_type)type,
			    size);
		off = (size_t)(path - s->pend_paths) + strlen(path) + 1;
	}
	for (i = 0; i < s->npend_find; i++) {
		f = &s->pend_find[i];
		if (finding_applies(s->rule, f->rule, f->file) &&
		    nested_applies(s->rule, f->nested))
			report_under(s, s->rule, f->file, f->rule, f->text,
			    f->hint, f->offset, f->fp);
	}
}

/* The checks that need the whole input: completeness, consistency, rule. */
/* ------------------------------------------ the previous version */

static void	lenient(struct pol_stream *);

/*
 * add_warn() : a reason that only warns (diff.new_file under
 * new_files: warn, diff.unreachable under unreachable: allow).
 */
static void
add_warn(struct pol_stream *s, const char *rule, const char *file,
    const char *hint, const char *text)
{
	struct pol_report	*r = &s->r;
	enum pol_verdict	 was = r->verdict;
	size_t			 i, total = r->nreasons_total;

	if (file == NULL)
		file = "";
	pol_report_add(r, rule, file, -1, hint, "%s", text);
	if (r->nreasons_total == total) {
		r->verdict = was;	/* a repeat */
		return;
	}
	for (i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].rule, rule) == 0 &&
		    strncmp(r->reasons[i].file, file, POL_FILE_MAX - 1) == 0 &&
		    !r->reasons[i].warn) {
			r->reasons[i].warn = 1;
			s->npreset_warn++;
			r->verdict = was;
			return;
		}
	/* Past the cap: not known in full, so it blocks. */
}

/* diff_unreachable() : the previous version could not be judged. */
static void
diff_unreachable(struct pol_stream *s, const char *why)
{
	static const char hint[] = "retry when the registry answers; "
	    "diff.unreachable: allow lets such publishes through";
	char	 text[POL_TEXT_MAX];

	snprintf(text, sizeof(text), "the previous version could not be "
	    "read to judge diff: (%s)", why);
	if (s->rule->diff.unreachable == POL_MODE_BLOCK)
		pol_report_add(&s->r, "diff.unreachable", NULL, -1, hint,
		    "%s", text);
	else
		add_warn(s, "diff.unreachable", NULL, hint, text);
}

/* A pol_diff_fn: the judge's reasons into the report. */
static void
diff_reason(void *arg, const char *rule, const char *file, int warn,
    const char *text)
{
	struct pol_stream	*s = arg;
	const char		*hint;

	if (strcmp(rule, "diff.new_file") == 0)
		hint = "ship only what is meant (check \"files\" in "
		    "package.json); diff.new_files says how new files count";
	else
		hint = "ship only what is meant (check \"files\" in "
		    "package.json and the build output)";
	if (warn)
		add_warn(s, rule, file, hint, text);
	else
		pol_report_add(&s->r, rule, file, -1, hint, "%s", text);
}

static int
ptar_begin(void *arg, const struct pol_tar_entry *e)
{
	struct pol_stream	*s = arg;

	if (e->type == POL_TAR_FILE)
		(void)pol_flist_add(&s->prev_files, strip_top(e->path),
		    e->size);
	return 0;
}

static int
ptar_data(void *arg, const unsigned char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

static int
ptar_end(void *arg)
{
	(void)arg;
	return 0;
}

static const struct pol_tar_cb ptar_cbs = { ptar_begin, ptar_data, ptar_end };

static int
pgz_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct pol_stream	*s = arg;
	enum pol_tar_rc		 rc;

	rc = pol_tar_feed(s->ptar, buf, len);
	return rc == POL_TAR_OK || rc == POL_TAR_END ? 0 : -1;
}

enum pol_status
pol_publish_prev_feed(struct pol_stream *s, const void *buf, size_t len)
{
	enum pol_gz_rc	 rc;

	if (!s->pending || s->prev_bad)
		return POL_ERR_SYNTAX;
	if (s->pgz == NULL) {
		if ((s->pgz = calloc(1, sizeof(*s->pgz))) == NULL ||
		    (s->ptar = calloc(1, sizeof(*s->ptar))) == NULL ||
		    pol_gz_init(s->pgz, POL_CAP_UNPACKED, POL_CAP_RATIO) != 0) {
			s->prev_bad = 1;
			return POL_ERR_INTERNAL;
		}
		pol_tar_init(s->ptar, &ptar_cbs, s);
	}
	rc = pol_gz_feed(s->pgz, buf, len, pgz_sink, s);
	if (rc != POL_GZ_OK && rc != POL_GZ_END) {
		s->prev_bad = 1;
		return rc == POL_GZ_ERR_LIMIT || rc == POL_GZ_ERR_RATIO ?
		    POL_ERR_LIMIT : POL_ERR_SYNTAX;
	}
	return POL_CONTINUE;
}

enum pol_verdict
pol_publish_prev_end(struct pol_stream *s, const char *version,
    const char *why, const struct pol_report **report)
{
	struct pol_report	*r = &s->r;
	int			 n;

	if (s->pending) {
		s->pending = 0;
		if (why != NULL)
			diff_unreachable(s, why);
		else if (version != NULL) {
			if (s->prev_bad || s->pgz == NULL ||
			    pol_gz_finish(s->pgz) != POL_GZ_END ||
			    pol_tar_finish(s->ptar) != POL_TAR_END)
				diff_unreachable(s, "its tarball is not a "
				    "readable .tgz");
			else {
				n = pol_diff_judge(&s->rule->diff, version,
				    &s->prev_files, &s->cur_files,
				    diff_reason, s);
				if (n == -1)
					diff_unreachable(s, "a file list is "
					    "over its cap");
			}
		}
		/* version and why NULL: a first publish, diff allows. */
		if (r->verdict == POL_DENY && r->message[0] == '\0' &&
		    s->rule->message != NULL)
			setstr(r->message, sizeof(r->message),
			    s->rule->message);
		lenient(s);
	}
	if (report != NULL)
		*report = r;
	return r->verdict;
}

static void
judge_end(struct pol_stream *s)
{
	struct pol_report	*r = &s->r;
	const struct pol_rule	*rule;
	struct pub_version	*v = NULL;
	unsigned char		 d512[64], d1[20];
	unsigned char		 b64[100];
	char			 ours[110], sha1hex[41];
	size_t			 i, outlen;
	int			 has512, ok;
	const char		*ref;

	if (s->input == POL_INPUT_BODY || s->input == POL_INPUT_AUTO) {
		if (!s->sniffed)
			fatal(s, POL_ERR_SYNTAX, "body.empty", NULL, NULL,
			    "empty publish body");
		else if (pol_json_finish(&s->json) != POL_JSON_OK)
			fatal(s, POL_ERR_SYNTAX, "body.truncated", NULL,
			    "send the whole body", "the publish body is "
			    "truncated or malformed at byte %llu",
			    (unsigned long long)s->json.offset);
	}
	if (r->status != POL_CONTINUE)
		return;
	if (s->input == POL_INPUT_BODY && !s->saw_object) {
		fatal(s, POL_ERR_SYNTAX, "body.json", NULL,
		    "send the body npm publish sends",
		    "the publish body is not a JSON object");
		return;
	}
	if (s->has_sigstore && s->ntarballs == 0)
		pol_report_add(r, "attachment.sigstore", s->sig_key, -1,
		    "attach the provenance bundle next to its tarball",
		    "a .sigstore attachment without the package tarball");
	if (s->ntarballs == 0) {
		/* Not a publish: a packument write (deprecate, ...). */
		choose_rule(s);
		if (s->body_name[0] && s->url_name[0])
			check_name(s, "body name", s->body_name, s->url_name,
			    "the URL's name");
		if (s->rule != NULL)
			setstr(r->rule_match, sizeof(r->rule_match),
			    s->rule == &s->policy->dflt ? "(default)" :
			    s->rule->match);
		setstr(r->name, sizeof(r->name), best_name(s) ? best_name(s) :
		    "");
		return;
	}
	if (s->tarball_started && s->input == POL_INPUT_BODY && !s->data_done) {
		fatal(s, POL_ERR_SYNTAX, "attachment.truncated", NULL, NULL,
		    "attachment data incomplete");
		return;
	}
	if (!s->tarball_started) {
		fatal(s, POL_ERR_SYNTAX, "attachment.missing", NULL, NULL,
		    "tarball attachment without data");
		return;
	}
	if (pol_b64_finish(&s->b64, s->decbuf, &outlen) != 0) {
		fatal(s, POL_ERR_SYNTAX, "attachment.base64", NULL, NULL,
		    "attachment data ends in the middle of a base64 group");
		return;
	}
	if (outlen > 0 && tarball_bytes(s, s->decbuf, outlen) != POL_CONTINUE)
		return;
	if (!s->gz_ended && pol_gz_finish(s->gz) != POL_GZ_END) {
		fatal(s, POL_ERR_SYNTAX, "tarball.truncated", NULL,
		    "attach the whole .tgz", "the gzip stream is truncated");
		return;
	}
	if (!s->tar_ended && pol_tar_finish(s->tar) != POL_TAR_END) {
		fatal(s, POL_ERR_SYNTAX, "tarball.truncated", NULL,
		    "attach the whole .tgz", "the tar archive ends early: %s",
		    s->tar->err ? s->tar->err : "no end marker");
		return;
	}
	if (s->in_entry) {
		fatal(s, POL_ERR_SYNTAX, "tarball.truncated", NULL, NULL,
		    "the tar archive ends inside a file");
		return;
	}

	/* Digests of the attached bytes. */
	if (EVP_DigestFinal_ex(s->sha512, d512, NULL) != 1 ||
	    EVP_DigestFinal_ex(s->sha1, d1, NULL) != 1) {
		fatal(s, POL_ERR_INTERNAL, "internal", NULL, NULL, "digest");
		return;
	}
	hex(r->sha512_hex, d512, sizeof(d512));
	hex(sha1hex, d1, sizeof(d1));
	EVP_EncodeBlock(b64, d512, sizeof(d512));
	snprintf(ours, sizeof(ours), "sha512-%s", b64);
	setstr(r->integrity, sizeof(r->integrity), ours);

	if (!s->pj_seen || !s->pj_ok)
		pol_report_add(r, "tarball.package-json", NULL, -1,
		    "pack with npm pack", "no package/package.json in the "
		    "tarball");

	/* The rule: by now the name is known, or the publish is refused. */
	if (!rule_known(s))
		choose_rule(s);
	if (!rule_known(s)) {
		pol_report_add(r, "consistency.name", NULL, -1,
		    "pass the package name (pubgate scan --name NAME)",
		    "the package name is unknown");
		return;
	}
	rule = s->rule;
	setstr(r->rule_match, sizeof(r->rule_match),
	    rule == &s->policy->dflt ? "(default)" : rule->match);
	if (s->srule != rule) {
		if (s->pend_overflow)
			pol_report_add(r, "scan.name-late", NULL, -1,
			    "pass the package name (pubgate scan --name NAME)",
			    "the package name came too late to judge every "
			    "file by its rule");
		replay_pending(s);
		if (r->tarball_bytes > rule->limits.tarball ||
		    r->unpacked_bytes + s->nest_bytes > rule->limits.unpacked ||
		    r->file_count + s->nest_files > rule->limits.files)
			pol_report_add(r, "limits.total", NULL, -1,
			    "ship less (check \"files\" in package.json)",
			    "the tarball is over the rule's size or file "
			    "count limits");
	}

	if (s->input == POL_INPUT_BODY) {
		v = judged_version(s);
		if (v == NULL) {
			pol_report_add(r, "attachment.unmatched",
			    s->tgz_key, -1,
			    "send the manifest of the attached version",
			    "no version in the body matches the attachment");
		}
		/*
		 * npm, pnpm and yarn send exactly one version with its
		 * tarball; which of several a registry stores is its
		 * choice, not ours: refused as ambiguous.
		 */
		if (s->nversions > 1)
			pol_report_add(r, "body.versions", "", -1,
			    "publish one version per request, as npm does",
			    "a publish body with a tarball and more than one "
			    "version in \"versions\"");
		check_sigstore(s);
		if (v != NULL)
			check_dist_tarball(s, v);
	}
	setstr(r->name, sizeof(r->name), best_name(s) ? best_name(s) : "");
	if (v != NULL)
		setstr(r->version, sizeof(r->version), v->version);
	else
		setstr(r->version, sizeof(r->version), s->pj_version);

	/* Names: URL, body name, _id, manifest, tarball package.json. */
	ref = s->url_name[0] ? s->url_name : (s->body_name[0] ? s->body_name :
	    (v != NULL ? v->name : ""));
	if (ref[0]) {
		check_name(s, "body name", s->body_name, ref, "the package name");
		check_name(s, "body _id", s->body_id, ref, "the package name");
		if (v != NULL)
			check_name(s, "the manifest's name", v->name, ref,
			    "the package name");
		check_name(s, "the tarball's package.json name", s->pj_name,
		    ref, "the package name");
	}
	if (v != NULL) {
		if (v->mversion[0] && strcmp(v->mversion, v->version) != 0)
			pol_report_add(r, "consistency.version", NULL, -1, NULL,
			    "manifest version \"%.60s\" is filed under \"%.60s\"",
			    v->mversion, v->version);
		if (s->pj_version[0] && strcmp(s->pj_version, v->version) != 0)
			pol_report_add(r, "consistency.version", "package.json",
			    -1, "publish the tarball of this version",
			    "tarball version \"%.60s\" but the manifest says "
			    "\"%.60s\"", s->pj_version, v->version);
		/* Integrity of what was actually attached. */
		ok = 1;
		has512 = 0;
		if (v->integrity[0]) {
			if (!integrity_check(v->integrity, ours, &has512) &&
			    has512)
				ok = 0;
		}
		if (v->shasum[0] && strcasecmp(v->shasum, sha1hex) != 0)
			ok = 0;
		if (!ok)
			pol_report_add(r, "integrity.mismatch", NULL, -1,
			    hint_integrity, "dist.integrity/dist.shasum do "
			    "not match the attached tarball");
		else if (!has512 && !v->shasum[0])	/* nothing checked */
			pol_report_add(r, "integrity.missing", NULL, -1,
			    hint_integrity, "the manifest has no sha512 "
			    "dist.integrity and no dist.shasum to check the "
			    "attached tarball against");
		if (s->have_length && s->attach_length != r->tarball_bytes)
			pol_report_add(r, "integrity.length", NULL, -1,
			    hint_integrity, "attachment length %llu but %llu "
			    "bytes attached",
			    (unsigned long long)s->attach_length,
			    (unsigned long long)r->tarball_bytes);
		if (v->is_private && rule->private_mode == POL_MODE_BLOCK)
			pol_report_add(r, "private", NULL, -1,
			    "remove \"private\": true only if it is meant to be "
			    "published", "the manifest says \"private\": true");
		if (v->bad_pubcfg[0])
			pol_report_add(r, "publish-config", NULL, -1,
			    "allowed publishConfig keys are set by the policy",
			    "publishConfig.%s is not allowed", v->bad_pubcfg);
		for (i = 0; i < s->ntags; i++) {
			if (strcmp(s->tags[i].version, v->version) != 0)
				continue;
			if (r->tag[0] == '\0' ||
			    strcmp(s->tags[i].tag, "latest") == 0)
				setstr(r->tag, sizeof(r->tag), s->tags[i].tag);
		}
	}
	if (s->pj_private && rule->private_mode == POL_MODE_BLOCK)
		pol_report_add(r, "private", "package.json", -1,
		    "a private package must not be published",
		    "package.json says \"private\": true");
	if (s->pj_bad_pubcfg[0])
		pol_report_add(r, "publish-config", "package.json", -1,
		    "allowed publishConfig keys are set by the policy",
		    "publishConfig.%s is not allowed", s->pj_bad_pubcfg);

	/* Dist-tags the rule allows. */
	if (rule->has_tags && r->tag[0]) {
		for (i = 0; i < s->ntags; i++) {
			size_t	 j;

			if (v == NULL || strcmp(s->tags[i].version,
			    v->version) != 0)
				continue;
			ok = 0;
			for (j = 0; j < rule->tags.n && !ok; j++)
				ok = pol_glob_match(rule->tags.pat[j],
				    s->tags[i].tag);
			if (!ok)
				pol_report_add(r, "dist-tag", NULL, -1,
				    "publish with an allowed --tag",
				    "dist-tag \"%.60s\" is not allowed",
				    s->tags[i].tag);
		}
	}
	/* Access. */
	if (rule->access != NULL) {
		const char	*want = rule->access;
		const char	*got = r->access;

		if (got[0] == '\0' && s->input == POL_INPUT_BODY)
			got = (r->name[0] == '@') ? "restricted" : "public";
		if (s->input == POL_INPUT_BODY && strcmp(got, want) != 0)
			pol_report_add(r, "access", NULL, -1,
			    "publish with --access as the policy says",
			    "access \"%s\" but the policy requires \"%s\"",
			    got, want);
	}
	if (rule->provenance && s->input == POL_INPUT_BODY && !s->sig_ok)
		pol_report_add(r, "provenance", NULL, -1,
		    "publish from CI with --provenance",
		    "the policy requires a provenance attestation");
	/*
	 * diff: a caller that cannot fetch the previous version (no
	 * opts.previous) cannot have it judged: fail closed as
	 * diff.unreachable says.  With opts.previous, pol_publish_end()
	 * asks for it (POL_PENDING).
	 */
	if (rule->diff.on && !s->want_prev && s->input == POL_INPUT_BODY)
		diff_unreachable(s, "this reader does not fetch previous "
		    "versions");
	if (rule->publish != POL_ALLOW)
		pol_report_add(r, "publish.denied", NULL, -1,
		    rule == &s->policy->dflt ? "no policy rule covers this "
		    "package name; ask your security team" : NULL,
		    "the policy does not allow publishing %s",
		    r->name[0] ? r->name : "this package");
	if (r->verdict == POL_DENY && rule->message != NULL)
		setstr(r->message, sizeof(r->message), rule->message);
}

/*
 * inspection_reason() : the reasons the gate gives when it cannot read a
 * publish as the registry and npm would, or when the request is not what
 * it says it is.  No warn list and no monitor mode ever let these
 * through: a publish that cannot be fully inspected is blocked.
 */
static int
inspection_reason(const char *id)
{
	static const char *const pfx[] = { "attachment.", "body.", "tarball.",
	    "tar.", "json.", "integrity.", "consistency.", "scan.", "write.",
	    "archive.", "internal", "limits.field", "limits.package-json" };
	size_t	 i;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (strncmp(id, pfx[i], strlen(pfx[i])) == 0)
			return 1;
	return strcmp(id, "sourcemap.undecidable") == 0;
}

int
pol_reason_waivable(const char *rule)
{
	return rule != NULL && !inspection_reason(rule);
}

int
pol_report_waivable(const struct pol_report *r)
{
	size_t	 i;

	if (r == NULL || r->status != POL_DONE || r->sha512_hex[0] == '\0' ||
	    r->version[0] == '\0' || r->nreasons_total > r->nreasons)
		return 0;
	for (i = 0; i < r->nreasons; i++)
		if (inspection_reason(r->reasons[i].rule))
			return 0;
	return 1;
}

/*
 * lenient() : a finished publish with reasons under a rule that has a warn
 * list (those reasons do not block) or mode: monitor (nothing the policy
 * finds blocks; the report says it would have).  Inspection reasons, and
 * reasons past POL_REASONS_MAX (not known), always block.
 */
static void
lenient(struct pol_stream *s)
{
	struct pol_report	*r = &s->r;
	const struct pol_rule	*rule = s->rule;
	struct pol_reason	*rs;
	size_t			 i, j, blocking, hard = 0;

	if (rule == NULL || r->status != POL_DONE || r->nreasons_total == 0 ||
	    (rule->warn.n == 0 && !rule->monitor &&
	    rule->secrets_in_tests != POL_TESTS_WARN && r->nsuppressed == 0 &&
	    s->npreset_warn == 0))
		return;
	blocking = r->nreasons_total - r->nreasons;
	for (i = 0; i < r->nreasons; i++) {
		rs = &r->reasons[i];
		if (rs->suppressed || rs->warn) {
			/* rs->warn: added as a warning (diff:) */
			r->nwarn++;
			continue;
		}
		if (inspection_reason(rs->rule)) {
			hard++;
			blocking++;
			continue;
		}
		for (j = 0; j < rule->warn.n && !rs->warn; j++)
			rs->warn = pol_glob_match(rule->warn.pat[j], rs->rule);
		if (rule->secrets_in_tests == POL_TESTS_WARN &&
		    strncmp(rs->rule, "secret.", 7) == 0 &&
		    pol_secrets_test_path(rs->file))
			rs->warn = 1;
		if (rs->warn)
			r->nwarn++;
		else
			blocking++;
	}
	if (blocking == 0 || (rule->monitor && hard == 0 &&
	    r->nreasons_total == r->nreasons)) {
		r->monitor = blocking > 0;
		r->verdict = POL_ALLOW;
		setstr(r->message, sizeof(r->message), r->monitor ?
		    "mode: monitor: allowed, would have been blocked" : "");
	}
}

enum pol_verdict
pol_publish_end(struct pol_stream *s, const struct pol_report **report)
{
	if (!s->ended) {
		s->ended = 1;
		if (s->r.status == POL_CONTINUE)
			judge_end(s);
		else if (!s->replayed) {
			/* What was found before a fatal error still counts. */
			if (!rule_known(s) && best_name(s) != NULL)
				choose_rule(s);
			if (rule_known(s) && s->srule != s->rule)
				replay_pending(s);
		}
		if (s->r.status != POL_CONTINUE || s->r.nreasons_total > 0)
			s->r.verdict = POL_DENY;
		if (s->r.name[0] == '\0' && best_name(s) != NULL)
			setstr(s->r.name, sizeof(s->r.name), best_name(s));
		if (s->r.version[0] == '\0' && s->nversions == 1)
			setstr(s->r.version, sizeof(s->r.version),
			    s->versions[0].version);
		if (s->r.version[0] == '\0' && s->pj_version[0])
			setstr(s->r.version, sizeof(s->r.version),
			    s->pj_version);
		if (s->r.rule_match[0] == '\0' && s->rule != NULL) {
			setstr(s->r.rule_match, sizeof(s->r.rule_match),
			    s->rule == &s->policy->dflt ? "(default)" :
			    s->rule->match);
			if (s->r.verdict == POL_DENY && s->rule->message != NULL)
				setstr(s->r.message, sizeof(s->r.message),
				    s->rule->message);
		}
		if (s->r.status == POL_CONTINUE)
			s->r.status = POL_DONE;
		if (s->rule != NULL)
			s->r.approval = s->rule->approval;
		/*
		 * diff: the caller fetches the previous version and ends
		 * with pol_publish_prev_end(), which runs lenient().
		 */
		if (s->want_prev && s->r.status == POL_DONE &&
		    rule_known(s) && s->rule->diff.on &&
		    s->r.tarball_bytes > 0 && s->r.name[0] &&
		    s->r.version[0])
			s->pending = 1;
		else
			lenient(s);
	}
	if (report != NULL)
		*report = &s->r;
	return s->pending ? POL_PENDING : s->r.verdict;
}

const struct pol_report *
pol_publish_report(const struct pol_stream *s)
{
	return &s->r;
}

void
pol_publish_free(struct pol_stream *s)
{
	if (s == NULL)
		return;
	if (s->gz != NULL) {
		pol_gz_free(s->gz);
		free(s->gz);
	}
	if (s->tar != NULL) {
		pol_tar_free(s->tar);
		free(s->tar);
	}
	pol_nest_free(s->nest);
	pol_scan_free(s->scan);
	EVP_MD_CTX_free(s->sha512);
	EVP_MD_CTX_free(s->sha1);
	EVP_MD_CTX_free(s->file_md);
	free(s->decbuf);
	free(s->versions);
	free(s->tags);
	free(s->pend_paths);
	free(s->pend_find);
	if (s->pgz != NULL) {
		pol_gz_free(s->pgz);
		free(s->pgz);
	}
	if (s->ptar != NULL) {
		pol_tar_free(s->ptar);
		free(s->ptar);
	}
	pol_flist_free(&s->cur_files);
	pol_flist_free(&s->prev_files);
	pol_json_free(&s->json);
	pol_json_free(&s->pj);
	pol_json_free(&s->sig);
	pol_policy_unref(s->policy);
	free(s);
}
