/*
 * policy/policy-int.h: declarations shared between the files of policy/
 * and its unit tests and fuzzers.  Nothing outside policy/ and tests/ may
 * include it: the proxy and the CLI use policy.h only.
 *
 * Every stage here is streaming and resumable at any byte: it accepts any
 * split of its input, never keeps a pointer into the caller's buffer, and
 * has a hard cap on everything it accumulates.  Stages never allocate on
 * their hot path and never log.
 *
 * Data flow of one publish (publish.c wires it):
 *   body -> json (publish body fields) -> _attachments.*.data string
 *        -> b64 -> sha512/sha1 -> gz (inflate) -> tar -> per-file:
 *           path rules, package.json, scan (secrets, source maps)
 */
#ifndef PUBGATE_POLICY_INT_H
#define PUBGATE_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zlib.h>

#include "policy.h"

/* ---------------------------------------------------------------- caps */
/* Every cap of the engine lives here; README.md documents them. */
#define POL_JSON_DEPTH_MAX	64	/* nesting of any JSON we scan */
#define POL_JSON_KEY_MAX	1024	/* bytes of one object key */
#define POL_JSON_SCALAR_MAX	64	/* bytes of one number literal */
#define POL_JSON_KEYS_MAX	(1u << 17)	/* keys held for the duplicate check */
#define POL_FIELD_MAX		1024	/* bytes kept of one interesting string field */
#define POL_VERSIONS_MAX	20000	/* versions in one publish body */
#define POL_TAGS_MAX		256	/* dist-tags in one publish body */
#define POL_PKGJSON_MAX		(4u << 20)	/* bytes of package.json we parse */
#define POL_TAR_PATH_MAX	4096	/* bytes of one entry path */
#define POL_TAR_PAX_MAX		(64u << 10)	/* bytes of one pax header */
#define POL_GZ_CHUNK		(64u << 10)	/* inflate output buffer */
#define POL_GZ_RATIO_MIN_OUT	(1u << 20)	/* ratio is judged past this output */

/* The policy document (load.c, glob.c; README "Policy reference"). */
#define POL_POLICY_BYTES_MAX	(1u << 20)	/* size of a policy file */
#define POL_RULES_MAX		4096	/* rules in one policy */
#define POL_GLOBS_MAX		1024	/* globs in one list */
#define POL_GLOB_MAX		512	/* bytes of one glob */
#define POL_CUSTOM_MAX		64	/* custom_secrets of one rule */
#define POL_REGEX_MAX		1024	/* bytes of one custom regex */
#define POL_ALLOW_FINDINGS_MAX	1024	/* allow_findings of one rule */

/* Content scanners (sourcemap.c): inline `sourceMappingURL=data:` maps. */
#define POL_SMAP_MEDIA_MAX	128	/* bytes of a data URL's media type */
#define POL_SMAP_MARK_WS_MAX	16	/* blanks between `//#` and the URL */

/* Defaults of a rule's limits (README "limits"). */
#define POL_DEF_TARBALL		(100ull << 20)
#define POL_DEF_UNPACKED	(512ull << 20)
#define POL_DEF_FILES		20000ull
#define POL_DEF_FILE		(256ull << 20)
#define POL_DEF_RATIO		100u
/* Hard ceilings a policy may not raise the limits above. */
#define POL_CAP_TARBALL		(4ull << 30)
#define POL_CAP_UNPACKED	(16ull << 30)
#define POL_CAP_FILES		1000000ull
#define POL_CAP_FILE		(4ull << 30)
#define POL_CAP_RATIO		10000u

/* ---------------------------------------------------------- the policy */
enum pol_mode {
	POL_MODE_BLOCK = 0,
	POL_MODE_ALLOW = 1,
};

/* secrets_in_tests: what a secret finding under a test folder does. */
enum pol_tests_mode {
	POL_TESTS_BLOCK = 0,
	POL_TESTS_ALLOW = 1,
	POL_TESTS_WARN = 2,	/* reported, does not block (as warn:) */
};

/* archives: judge (open and judge them), block (refuse them), allow (opaque). */
enum pol_archives {
	POL_ARCH_JUDGE = 0,
	POL_ARCH_BLOCK = 1,
	POL_ARCH_ALLOW = 2,
};

struct pol_limits {
	uint64_t	 tarball;	/* decoded .tgz bytes */
	uint64_t	 unpacked;	/* sum of file sizes */
	uint64_t	 files;		/* entries */
	uint64_t	 file;		/* one file's size */
	uint32_t	 ratio;		/* unpacked / tarball, judged by gz */
};

struct pol_globs {
	size_t		  n;
	char		**pat;
};

struct pol_custom_secret {
	char		*id;		/* reported as "secret.<id>" */
	char		*regex;		/* Hyperscan syntax */
};

/* allow_findings: one known fake the rule lets through. */
struct pol_allow_finding {
	char		*rule;		/* glob of rule ids ("secret.jwt") */
	char		*file;		/* glob of package paths */
	char		 fp[POL_FP_LEN + 1];	/* the finding's fingerprint */
	int		 line;		/* where it is written */
};

struct pol_secrets_db;		/* secrets.c: compiled detectors of one rule */

/* diff: judging against the previous version (diff.c). */
enum pol_diff_new {
	POL_DIFF_ALLOW = 0,
	POL_DIFF_WARN = 1,
	POL_DIFF_BLOCK = 2,
};
#define POL_DIFF_GROWTH_CAP	1000u	/* max_growth at most 1000x */

struct pol_diff {
	int			 on;		/* the rule has a diff: key */
	enum pol_diff_new	 new_files;
	uint32_t		 max_growth;	/* thousandths: 3000 = 3x */
	uint64_t		 new_file_size;	/* bytes */
	enum pol_mode		 unreachable;	/* previous unreadable */
};

struct pol_rule {
	char			*match;		/* package-name glob */
	int			 line;		/* where the rule starts */
	enum pol_verdict	 publish;
	char			*message;	/* appended to the 403, or NULL */
	char			*access;	/* required body access, or NULL */
	enum pol_mode		 private_mode;	/* private: block|allow */
	int			 has_files_allow;
	struct pol_globs	 files_allow;
	struct pol_globs	 files_deny;
	struct pol_limits	 limits;
	enum pol_mode		 sourcemaps;
	enum pol_mode		 secrets;
	enum pol_tests_mode	 secrets_in_tests;	/* findings under test/ */
	enum pol_mode		 paths;
	enum pol_archives	 archives;	/* archives inside the package */
	struct pol_custom_secret *custom;
	size_t			 ncustom;
	struct pol_globs	 publish_config;	/* allowed publishConfig keys */
	int			 has_tags;
	struct pol_globs	 tags;		/* dist-tags that may be set */
	int			 provenance;	/* 1: provenance attachment required */
	enum pol_verdict	 writes;	/* other writes (dist-tag, ...) */
	int			 monitor;	/* mode: monitor (record, allow) */
	struct pol_globs	 warn;		/* rule ids that only warn */
	struct pol_allow_finding *allow_findings;	/* known fakes */
	size_t			 nallow_findings;
	int			 fp_each;	/* 1: report every distinct secret
						   value of a file, not only the
						   first per detector (set on
						   every rule when any rule has
						   allow_findings) */
	struct pol_diff		 diff;		/* against the previous version */
	int			 approval;	/* approval: required (a reviewer
						   approves each tarball) */
	struct pol_secrets_db	*secrets_db;	/* owned; NULL when secrets: allow
						   and no custom patterns */
};

struct pol_policy {
	int			 refs;		/* atomic */
	enum pol_verdict	 default_verdict;
	size_t			 nrules;
	struct pol_rule		*rules;
	struct pol_rule		 dflt;		/* applied to names no rule matches */
	char			 sha256[65];	/* of the text, hex */
	char			 name[POL_POLICY_LABEL_MAX + 1];	/* "" none */
	char			 revision[POL_POLICY_LABEL_MAX + 1];
	unsigned int		 ndb_cached;	/* detector databases read */
	unsigned int		 ndb_compiled;	/* ... and compiled */
};

/* load.c */
void	pol_rule_defaults(struct pol_rule *);
/* pol_rule_find() : the first rule whose match fits name, else &p->dflt. */
const struct pol_rule *pol_rule_find(const struct pol_policy *, const char *name);
/* pol_load_keys() : the keys of a section of the document (tests). */
const char *const *pol_load_keys(const char *section, size_t *n);
/* Sizes: "50MB", "1GiB", "4096" -> bytes; -1 on a malformed size. */
int	pol_parse_size(const char *s, uint64_t *out);

/* glob.c: `*` (not '/'), `**` (anything, '/' too), `?`, `[a-z]`, `[!x]`, `{a,b}` */
int	pol_glob_match(const char *pat, const char *s);
/* pol_glob_check() : 0 if pat is a valid glob, else -1 with a message. */
int	pol_glob_check(const char *pat, char *err, size_t errlen);

/* ---------------------------------------------------------------- json */
enum pol_json_ev {
	POL_JSON_OBJ_BEGIN,
	POL_JSON_OBJ_END,
	POL_JSON_ARR_BEGIN,
	POL_JSON_ARR_END,
	POL_JSON_KEY,		/* s,len: the whole unescaped key */
	POL_JSON_STR_BEGIN,
	POL_JSON_STR_CHUNK,	/* s,len: unescaped bytes of a string value */
	POL_JSON_STR_END,
	POL_JSON_NUMBER,	/* s,len: the literal */
	POL_JSON_TRUE,
	POL_JSON_FALSE,
	POL_JSON_NULL,
};

/*
 * Callback: depth is the number of containers around the event (the top
 * value is at depth 0, the keys and values of the top object at depth 1;
 * OBJ_END/ARR_END carry the depth of their BEGIN).  Return 0 to go on,
 * 1 to stop scanning successfully (feed returns POL_JSON_STOP), -1 to
 * abort (feed returns POL_JSON_ABORT).  s is borrowed for the call.
 */
typedef int (*pol_json_cb)(void *arg, enum pol_json_ev ev, const char *s,
    size_t len, int depth);

enum pol_json_rc {
	POL_JSON_OK = 0,	/* input consumed, want more (or complete) */
	POL_JSON_STOP,		/* the callback asked to stop */
	POL_JSON_ABORT,		/* the callback failed */
	POL_JSON_ERR_SYNTAX,
	POL_JSON_ERR_LIMIT,	/* depth or key or scalar cap */
	POL_JSON_ERR_DUPKEY,	/* a key repeats in its object (j->key) */
	POL_JSON_ERR_KEYS,	/* over POL_JSON_KEYS_MAX keys held */
};

struct pol_json_keys;		/* json.c: the keys of the open objects */

struct pol_json {
	pol_json_cb	 cb;
	void		*arg;
	int		 state;		/* json.c private */
	int		 rc;		/* sticky once not OK */
	int		 depth;
	int		 max_depth;
	uint8_t		 stack[POL_JSON_DEPTH_MAX];	/* 'o' or 'a' */
	uint32_t	 u_pending;	/* \uXXXX decoding */
	int		 u_digits;
	uint32_t	 u_high;	/* pending high surrogate */
	int		 in_key;
	int		 seen_value;	/* top-level value complete */
	size_t		 klen;
	char		 key[POL_JSON_KEY_MAX];
	size_t		 slen;		/* scalar literal */
	char		 scalar[POL_JSON_SCALAR_MAX];
	uint64_t	 offset;	/* bytes consumed */
	const char	*err;		/* static text on error */
	struct pol_json_keys *keys;	/* duplicate check, NULL if off */
};

void		 pol_json_init(struct pol_json *, int max_depth, pol_json_cb cb,
		    void *arg);
enum pol_json_rc pol_json_feed(struct pol_json *, const void *buf, size_t len);
/* pol_json_finish() : OK only if exactly one complete value was seen. */
enum pol_json_rc pol_json_finish(struct pol_json *);
/*
 * pol_json_dupkeys() : after pol_json_init(), refuses any key that repeats
 * in its object (POL_JSON_ERR_DUPKEY, the key left in j->key/j->klen):
 * JSON.parse keeps the last of them, a streaming reader sees the first.
 * Keys are compared unescaped.  The keys of all open objects are held as
 * 64-bit keyed hashes, at most POL_JSON_KEYS_MAX (POL_JSON_ERR_KEYS past
 * it); a closed object's keys are dropped.  Returns 0, or -1 when out of
 * memory.  pol_json_free() releases them (before another init).
 */
int		 pol_json_dupkeys(struct pol_json *);
void		 pol_json_free(struct pol_json *);

/* ----------------------------------------------------------------- b64 */
enum pol_b64_mode {
	POL_B64_STRICT,		/* any byte outside the alphabet is an error */
	POL_B64_STOP,		/* stop at the first byte outside the alphabet */
};

struct pol_b64 {
	enum pol_b64_mode mode;
	uint32_t	 acc;
	int		 n;		/* sextets in acc */
	int		 pad;		/* '=' seen */
	int		 stopped;	/* POL_B64_STOP: terminator seen */
	int		 err;
};

void	pol_b64_init(struct pol_b64 *, enum pol_b64_mode);
/*
 * pol_b64_decode() : decodes in into out, which has room for
 * (len / 4 + 1) * 3 bytes; *outlen gets the bytes written.  Returns the
 * input bytes consumed (< len only when a POL_B64_STOP terminator was
 * seen), or -1 on invalid input.
 */
ssize_t	pol_b64_decode(struct pol_b64 *, const void *in, size_t len,
	    unsigned char *out, size_t *outlen);
/* pol_b64_finish() : flushes an unpadded tail; -1 if the tail is invalid. */
int	pol_b64_finish(struct pol_b64 *, unsigned char *out, size_t *outlen);

/* ------------------------------------------------------------------ gz */
enum pol_gz_rc {
	POL_GZ_OK = 0,		/* want more */
	POL_GZ_END,		/* the gzip member ended; later input is an error */
	POL_GZ_ERR_DATA,	/* not gzip, corrupt, or bytes after the end */
	POL_GZ_ERR_LIMIT,	/* output over max_out */
	POL_GZ_ERR_RATIO,	/* output/input over max_ratio */
	POL_GZ_ABORT,		/* the sink failed */
	POL_GZ_ERR_INTERNAL,
};

/* The sink returns 0 to go on, non-zero to abort. */
typedef int (*pol_gz_sink)(void *arg, const unsigned char *buf, size_t len);

struct pol_gz {
	z_stream	 z;
	void		*isal;		/* gz.c: ISA-L inflate state, or NULL */
	int		 inited;
	int		 ended;
	int		 rc;		/* sticky once an error */
	uint64_t	 in_total;
	uint64_t	 out_total;
	uint64_t	 max_out;	/* 0: none */
	uint32_t	 max_ratio;	/* 0: none */
	unsigned char	 out[POL_GZ_CHUNK];
};

int		pol_gz_init(struct pol_gz *, uint64_t max_out, uint32_t max_ratio);
enum pol_gz_rc	pol_gz_feed(struct pol_gz *, const void *in, size_t len,
		    pol_gz_sink sink, void *arg);
/* pol_gz_finish() : POL_GZ_END if the member ended, else POL_GZ_ERR_DATA. */
enum pol_gz_rc	pol_gz_finish(struct pol_gz *);
void		pol_gz_free(struct pol_gz *);

/* ----------------------------------------------------------------- tar */
enum pol_tar_type {
	POL_TAR_FILE,
	POL_TAR_DIR,
	POL_TAR_SYMLINK,
	POL_TAR_HARDLINK,
	POL_TAR_OTHER,		/* devices, fifos, unknown types */
};

struct pol_tar_entry {
	char		 path[POL_TAR_PATH_MAX + 1];	/* as in the archive */
	char		 link[POL_TAR_PATH_MAX + 1];	/* link target, "" if none */
	uint64_t	 size;
	enum pol_tar_type type;
	char		 typeflag;
	unsigned	 mode;
};

/* Callbacks return 0 to go on, non-zero to abort the walk. */
struct pol_tar_cb {
	int	(*begin)(void *arg, const struct pol_tar_entry *);
	int	(*data)(void *arg, const unsigned char *buf, size_t len);
	int	(*end)(void *arg);
};

enum pol_tar_rc {
	POL_TAR_OK = 0,		/* want more */
	POL_TAR_END,		/* end-of-archive marker seen */
	POL_TAR_ERR_FORMAT,	/* bad checksum, bad number, bad pax, ... */
	POL_TAR_ERR_LIMIT,	/* path or pax header over its cap */
	POL_TAR_ERR_TRAILING,	/* non-zero bytes after the end marker */
	POL_TAR_ERR_AMBIGUOUS,	/* node-tar would read it another way */
	POL_TAR_ABORT,		/* a callback failed */
};

struct pol_tar {
	const struct pol_tar_cb *cb;
	void		*arg;
	int		 state;		/* tar.c private */
	int		 rc;		/* sticky once an error */
	size_t		 hlen;		/* bytes in hdr */
	unsigned char	 hdr[512];
	uint64_t	 remain;	/* data bytes left in the entry */
	uint64_t	 pad;		/* padding bytes left */
	int		 zero_blocks;
	/* pending extended header (pax 'x', GNU 'L'/'K'), malloc'd, capped */
	char		*ext;
	size_t		 ext_len;
	char		 ext_type;
	/* next entry's path and link: pax or GNU 'L'/'K', the last wins */
	char		 pax_path[POL_TAR_PATH_MAX + 1];
	char		 pax_link[POL_TAR_PATH_MAX + 1];
	int		 pax_path_fragile;	/* a pax path with non-ASCII bytes */
	int		 have_pax_size;
	uint64_t	 pax_size;
	struct pol_tar_entry entry;
	uint64_t	 entries;
	const char	*err;		/* static text on error */
};

void		pol_tar_init(struct pol_tar *, const struct pol_tar_cb *, void *arg);
enum pol_tar_rc	pol_tar_feed(struct pol_tar *, const void *buf, size_t len);
/* pol_tar_finish() : POL_TAR_END if the archive ended properly. */
enum pol_tar_rc	pol_tar_finish(struct pol_tar *);
void		pol_tar_free(struct pol_tar *);

/* ----------------------------------------------------------------- zip */
/* zip.c: archives inside a package (nested.c); entries as tar.c's. */
enum pol_zip_rc {
	POL_ZIP_OK = 0,		/* want more */
	POL_ZIP_END,		/* the end record (and its comment) was read */
	POL_ZIP_ERR_FORMAT,	/* cannot be judged (z->err says why) */
	POL_ZIP_ERR_RATIO,	/* an entry inflates over max_ratio */
	POL_ZIP_ABORT,		/* a callback failed */
	POL_ZIP_ERR_INTERNAL,
};

struct pol_zip {
	const struct pol_tar_cb *cb;
	void		*arg;
	int		 state;		/* zip.c private */
	int		 rc;		/* sticky once an error */
	const char	*err;		/* static text on error */
	uint32_t	 max_ratio;
	uint64_t	 offset;	/* bytes read */
	size_t		 hlen, hwant;
	unsigned char	 hdr[48];
	uint64_t	 remain;
	/* the record being read */
	uint16_t	 flags, method, nlen, xlen, clen, c_madeby;
	uint32_t	 crc, csize, usize, c_eattr, cur_off;
	size_t		 namelen;
	char		 name[POL_TAR_PATH_MAX + 1];
	unsigned char	 xh[4];		/* extra record header */
	size_t		 xhlen, xskip;
	struct pol_tar_entry entry;
	/* the entry's data */
	z_stream	 zs;
	int		 inflating, inflated;
	unsigned long	 got_crc;
	uint64_t	 got_in, got_out;
	unsigned char	 buf[32u << 10];
	/* local walk vs central directory */
	void		*lmd, *cmd;	/* EVP_MD_CTX */
	uint32_t	 nlocal, ncentral;
	int		 in_central;
	uint64_t	 cd_off, cd_end;
};

int		pol_zip_init(struct pol_zip *, const struct pol_tar_cb *,
		    void *arg, uint32_t max_ratio);
enum pol_zip_rc	pol_zip_feed(struct pol_zip *, const void *buf, size_t len);
/* pol_zip_finish() : POL_ZIP_END if the whole archive was read. */
enum pol_zip_rc	pol_zip_finish(struct pol_zip *);
void		pol_zip_free(struct pol_zip *);

/* ---------------------------------------------------------------- scan */
/*
 * scan.c, secrets.c, sourcemap.c: per-file content scanners.  One
 * struct pol_scan per publish; files are scanned one after another.
 * Findings go to the callback; the engine turns them into reasons.
 */
struct pol_finding {
	const char	*rule;		/* "secret.<id>", "sourcemap.<what>" */
	char		 text[POL_TEXT_MAX];	/* log-safe; secrets redacted */
	const char	*hint;		/* static text, or NULL */
	int64_t		 offset;	/* in the file, -1 if none */
	char		 fp[POL_FP_LEN + 1];	/* fingerprint, "" if none */
};

typedef void (*pol_finding_fn)(void *arg, const char *file,
    const struct pol_finding *);

struct pol_scan;

struct pol_scan	*pol_scan_new(const struct pol_rule *, pol_finding_fn, void *arg);
int		 pol_scan_file_begin(struct pol_scan *, const char *path,
		    uint64_t size);
int		 pol_scan_file_data(struct pol_scan *, const unsigned char *,
		    size_t);
int		 pol_scan_file_end(struct pol_scan *);
void		 pol_scan_free(struct pol_scan *);

/* secrets.c */
struct pol_secrets_db *pol_secrets_compile(const struct pol_custom_secret *,
		    size_t n, char *err, size_t errlen);
/* pol_secrets_compile_in() : the same, through the cache in dir (NULL:
   none; see hscache.c); *cached (if not NULL) says whether the database
   was read from the cache. */
struct pol_secrets_db *pol_secrets_compile_in(const struct pol_custom_secret *,
		    size_t n, const char *dir, int *cached, char *err,
		    size_t errlen);
void		 pol_secrets_free(struct pol_secrets_db *);
/* hscache.c: compiled Hyperscan databases cached on disk. */
#define POL_HSC_KEY	32	/* SHA-256 */
struct hs_database;
int		 pol_hsc_key(const char *const *exprs,
		    const unsigned int *flags, const unsigned int *ids, size_t n,
		    unsigned int mode, unsigned char key[POL_HSC_KEY]);
struct hs_database *pol_hsc_load(const char *dir,
		    const unsigned char key[POL_HSC_KEY]);
void		 pol_hsc_free(struct hs_database *);
void		 pol_hsc_store(const char *dir,
		    const unsigned char key[POL_HSC_KEY],
		    const struct hs_database *db);
/* pol_secrets_check_regex() : 0 if re compiles, else -1 with a message. */
int		 pol_secrets_check_regex(const char *re, char *err, size_t errlen);
size_t		 pol_secrets_builtin_count(void);
/* pol_secrets_test_path() : 1 if a folder of path is test/, tests/, ... */
int		 pol_secrets_test_path(const char *path);

/* -------------------------------------------------------------- nested */
/*
 * nested.c: archives inside a package, opened and judged (README
 * "Nested archives"), and the gzip header's text fields.
 */
#define POL_NEST_DEPTH_MAX	2	/* archives inside archives inside the package */
#define POL_NEST_SNIFF		262	/* bytes that tell gzip, zip, tar */
#define POL_NEST_HOLD_MAX	64	/* reasons held per package file */

enum pol_gzh_ev { POL_GZH_BEGIN, POL_GZH_DATA, POL_GZH_END };
/* field: "extra", "name" or "comment"; p is borrowed for the call. */
typedef int (*pol_gzh_fn)(void *arg, const char *field, enum pol_gzh_ev,
    const unsigned char *p, size_t len);

struct pol_gzh {
	int		 state;
	int		 in_field;
	size_t		 n;
	unsigned	 flg;
	uint32_t	 xlen;
	unsigned char	 fixed[10];
};

void	pol_gzh_init(struct pol_gzh *);
int	pol_gzh_feed(struct pol_gzh *, const void *buf, size_t len,
	    pol_gzh_fn fn, void *arg);

/* What the engine does with what nested.c finds (all borrowed for the call). */
struct pol_nest_env {
	void	*arg;
	/* an entry inside an archive, after its data; size: what it held */
	void	(*entry)(void *arg, const char *file, const char *inner,
		    enum pol_tar_type type, uint64_t size);
	/* a content finding in an inner file, or "archive.nested" */
	pol_finding_fn finding;
	/* a file of the package that is an archive (by content or name) */
	void	(*archive)(void *arg, const char *file);
	/* a cap of the engine: the engine ends the publish */
	void	(*limit)(void *arg, const char *rule, const char *file,
		    const char *text);
	/* files and bytes more inside archives; -1: over a total (ended) */
	int	(*account)(void *arg, uint64_t files, uint64_t bytes);
};

struct pol_nest;

struct pol_nest	*pol_nest_new(const struct pol_nest_env *,
		    const struct pol_rule *scan_rule,
		    const struct pol_limits *caps, int open);
int		 pol_nest_file_begin(struct pol_nest *, const char *path,
		    uint64_t size);
int		 pol_nest_file_data(struct pol_nest *, const unsigned char *,
		    size_t);
int		 pol_nest_file_end(struct pol_nest *);
void		 pol_nest_free(struct pol_nest *);
void		 pol_nest_judge(const struct pol_rule *, const char *file,
		    const char *inner, enum pol_tar_type type, uint64_t size,
		    pol_finding_fn fn, void *arg);
/* A pol_finding_fn: arg is the pol_nest; see nested.c. */
void		 pol_nest_hold(void *arg, const char *file,
		    const struct pol_finding *);

/* ---------------------------------------------------------------- diff.c */
struct pol_fent {
	char		*name;
	uint64_t	 size;
};

/* The names and sizes of one package's regular files, capped. */
struct pol_flist {
	struct pol_fent	*e;
	size_t		 n, cap;
	uint64_t	 bytes;		/* name bytes held */
	uint64_t	 max_files, max_bytes;
	int		 over;		/* a cap was hit: incomplete */
	int		 sorted;
};

/* Caps of judging against the previous version (publish.c, prev.c). */
#define POL_DIFF_FILES_MAX	100000	/* files in one list */
#define POL_DIFF_NAMES_MAX	(8u << 20)	/* name bytes of one list */
#define POL_PREV_PACKUMENT_MAX	(256ull << 20)	/* packument JSON bytes */

/*
 * pol_semver_cmp() : *cmp gets -1, 0, 1 for a against b in semver order
 * (build metadata ignored).  0, or -1 if either is not semver.
 */
int		 pol_semver_cmp(const char *a, const char *b, int *cmp);

/* A reason of the diff judge; warn: it does not block. */
typedef void (*pol_diff_fn)(void *arg, const char *rule, const char *file,
    int warn, const char *text);

void		 pol_diff_defaults(struct pol_diff *);
int		 pol_diff_parse_growth(const char *, uint32_t *);
void		 pol_flist_init(struct pol_flist *, uint64_t max_files,
		    uint64_t max_bytes);
int		 pol_flist_add(struct pol_flist *, const char *name,
		    uint64_t size);
void		 pol_flist_free(struct pol_flist *);
const char	*pol_diff_fmt_size(uint64_t, char *, size_t);
int		 pol_diff_judge(const struct pol_diff *, const char *prev_version,
		    struct pol_flist *prev, struct pol_flist *cur,
		    pol_diff_fn, void *arg);

/* ------------------------------------------------------------- reasons */
/* report.c: add a reason (deduplicated by rule+file, capped). */
void	pol_report_add(struct pol_report *, const char *rule, const char *file,
	    int64_t offset, const char *hint, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/*
 * pol_report_add_finding() : a content finding with its fingerprint
 * (deduplicated by rule+file+fingerprint).  suppressed: allow_findings
 * names it: kept as a note (warn, suppressed) that does not block.
 */
void	pol_report_add_finding(struct pol_report *, const char *rule,
	    const char *file, int64_t offset, const char *hint, const char *fp,
	    int suppressed, const char *text);
/* pol_allow_finding_match() : 1 if an allow_findings entry of r names it. */
int	pol_allow_finding_match(const struct pol_rule *, const char *rule,
	    const char *file, const char *fp);

#endif /* PUBGATE_POLICY_INT_H */
