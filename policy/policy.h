/*
 * policy/policy.h: the only header of the policy engine that code outside
 * policy/ may include (the proxy, the offline CLI, the fuzzers).
 *
 * The engine is pure: it knows no sockets, no libevent and no proxy types,
 * it never logs and it has no mutable globals.  It does two things:
 *
 *  - loads the org's YAML policy into an immutable, refcounted
 *    struct pol_policy (pol_load_file), reporting every error with
 *    file:line:col;
 *  - judges one publish, fed as a stream of bytes in any split
 *    (pol_publish_new / pol_publish_feed / pol_publish_end), either an npm
 *    publish body (the JSON of PUT /<name>) or a bare .tgz as `npm pack`
 *    writes it.  The verdict comes with every reason and the facts an
 *    audit record needs (struct pol_report).
 *
 * Status (is the stream still readable?) is kept apart from the verdict
 * (may it be published?): a stream can be perfectly readable and denied.
 */
#ifndef PUBGATE_POLICY_H
#define PUBGATE_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* Loader diagnostics: every error, in document order, with its position. */
#define POL_ERRORS_MAX		64
#define POL_ERRMSG_MAX		200

struct pol_error {
	int	 line;			/* 1-based; 0 when not tied to a place */
	int	 col;			/* 1-based */
	char	 msg[POL_ERRMSG_MAX];
};

struct pol_errors {
	char		 file[256];	/* the name the errors refer to */
	size_t		 count;		/* errors found (may exceed POL_ERRORS_MAX) */
	struct pol_error e[POL_ERRORS_MAX];	/* the first POL_ERRORS_MAX */
};

/*
 * pol_errors_format() : writes error i as "file:line:col: msg" into buf
 * (always NUL-terminated); returns buf.
 */
const char	*pol_errors_format(const struct pol_errors *, size_t i, char *buf,
		    size_t len);

struct pol_policy;		/* opaque, immutable once loaded, refcounted */

/*
 * pol_load_file() : loads and validates a policy file.  Returns a policy
 * with one reference, or NULL with every error in *errs (never a partial
 * policy).  pol_load_buf() does the same for a document in memory; name is
 * used in the errors.
 */
struct pol_policy	*pol_load_file(const char *path, struct pol_errors *errs);
struct pol_policy	*pol_load_buf(const char *name, const void *buf, size_t len,
			    struct pol_errors *errs);
/*
 * Options of a load.  cache_dir: a folder where the compiled secret
 * detectors are cached (policy/hscache.c; created 0700 if missing), NULL
 * for none.  A cache that cannot be read or written is only slower.
 */
struct pol_load_opts {
	const char	*cache_dir;
};
struct pol_policy	*pol_load_file_opts(const char *path,
			    const struct pol_load_opts *, struct pol_errors *);
struct pol_policy	*pol_load_buf_opts(const char *name, const void *buf,
			    size_t len, const struct pol_load_opts *,
			    struct pol_errors *);
/* The strict example policy compiled into the binary (contrib/policies/strict.yaml). */
struct pol_policy	*pol_load_default(struct pol_errors *errs);
const char		*pol_default_policy_text(size_t *len);

/* Reference counting; thread-safe.  pol_policy_unref(NULL) is a no-op. */
struct pol_policy	*pol_policy_ref(struct pol_policy *);
void			 pol_policy_unref(struct pol_policy *);
/*
 * The policy's identity for decision records: the SHA-256 of its text
 * (64 hex digits), and its top-level `name` and `revision` ("" when
 * absent; at most POL_POLICY_LABEL_MAX bytes, no control character).
 * Valid as long as the reference.
 */
#define POL_POLICY_LABEL_MAX	128
const char		*pol_policy_sha256(const struct pol_policy *);
const char		*pol_policy_name(const struct pol_policy *);
const char		*pol_policy_revision(const struct pol_policy *);
/* Number of rules (a loaded policy always has at least one or a deny default). */
size_t			 pol_policy_nrules(const struct pol_policy *);
/*
 * pol_policy_detectors() : of the compiled secret detector databases the
 * load needed (one for the built-ins, one per rule with custom patterns),
 * how many it read from the cache (pol_load_opts.cache_dir) and how many
 * it compiled.
 */
void			 pol_policy_detectors(const struct pol_policy *,
			    unsigned int *cached, unsigned int *compiled);

/* Verdicts and stream status. */
enum pol_verdict {
	POL_ALLOW = 0,
	POL_DENY = 1,
	POL_PENDING = 2,	/* pol_publish_end() with opts.previous: the
				   previous version is wanted first (a caller
				   that does not know it reads it as deny) */
};

enum pol_status {
	POL_CONTINUE = 0,	/* feed more */
	POL_DONE,		/* verdict is final (a fatal reason); more input is ignored */
	POL_ERR_LIMIT,		/* a cap was exceeded: the verdict is deny (413 material) */
	POL_ERR_SYNTAX,		/* malformed input: the verdict is deny */
	POL_ERR_INTERNAL,	/* out of memory or a library failure: deny */
};

const char	*pol_status_str(enum pol_status);

/* What kind of bytes the stream carries. */
enum pol_input {
	POL_INPUT_AUTO = 0,	/* sniff: gzip magic is a .tgz, '{' a publish body */
	POL_INPUT_BODY,		/* the JSON body of an npm publish */
	POL_INPUT_TGZ,		/* a bare gzip'd tarball */
};

/*
 * on_file, if set, is called after the last byte of each regular file of
 * the tarball (and not after a walk that stopped): its path as in the
 * tar, its size and the SHA-256 of its data.  For tests and `pubgate scan
 * --reading`: the differential oracle compares it with node-tar's.
 */
typedef void	(*pol_file_fn)(void *arg, const char *path, uint64_t size,
		    const unsigned char sha256[32]);

/*
 * on_tarball, if set, is a tee of the tarball's bytes as they are decoded
 * (base64 of a publish body, or a .tgz as fed), in order, each byte once,
 * the same bytes the report's sha512_hex and tarball_bytes are of (bytes
 * past limits.tarball are not passed).  The buffer is borrowed for the
 * call; the callback cannot change the verdict (proxy/gate/quarantine.c
 * keeps a blocked publish's tarball with it).
 */
typedef void	(*pol_bytes_fn)(void *arg, const void *buf, size_t len);

struct pol_stream_opts {
	enum pol_input	 input;
	const char	*url_name;	/* package name from the URL, decoded; NULL if none */
	pol_file_fn	 on_file;	/* NULL: none */
	void		*file_arg;
	int		 previous;	/* 1: the caller fetches the previous
					   version when pol_publish_end() says
					   POL_PENDING (a rule with diff:); 0: a
					   publish body under such a rule is
					   refused as diff.unreachable */
	pol_bytes_fn	 on_tarball;	/* NULL: none */
	void		*tarball_arg;
};

/* One reason for a deny (or a note on an allow). All strings are log-safe. */
#define POL_REASONS_MAX		32
#define POL_MORE_MAX		16	/* rules counted past the cap */
#define POL_RULE_ID_MAX		48
#define POL_FILE_MAX		256
#define POL_TEXT_MAX		200
#define POL_HINT_MAX		200
#define POL_FP_LEN		16	/* hex digits of a finding's fingerprint */

struct pol_reason {
	char		 rule[POL_RULE_ID_MAX];	/* e.g. "sourcemap.sources-content", "secret.aws-access-key" */
	char		 file[POL_FILE_MAX];	/* file in the tarball, "" if none */
	char		 text[POL_TEXT_MAX];	/* what is wrong, secrets redacted */
	char		 hint[POL_HINT_MAX];	/* how to fix it, "" if none */
	int64_t		 offset;		/* byte offset in the file, -1 if none */
	int		 warn;			/* 1: reported, does not block */
	int		 suppressed;		/* 1: a finding allow_findings
						   names (warn is 1 too) */
	char		 fingerprint[POL_FP_LEN + 1];	/* of a secret
						   finding, "" if none */
};

struct pol_report {
	enum pol_verdict verdict;
	enum pol_status	 status;	/* the stream status that ended it */
	char		 name[216];	/* package name (best known), "" if none */
	char		 version[128];	/* judged version, "" if none */
	char		 tag[64];	/* dist-tag pointing at it, "" if none */
	char		 access[16];	/* body "access", "" if none */
	char		 rule_match[128];	/* the `match` of the rule applied, "(default)" */
	char		 message[POL_TEXT_MAX];	/* the rule's message on deny, "" if none */
	char		 sha512_hex[129];	/* of the tarball bytes, "" if none */
	char		 integrity[100];	/* "sha512-<base64>" of the tarball, "" if none */
	uint64_t	 body_bytes;	/* bytes fed */
	uint64_t	 tarball_bytes;	/* decoded (compressed) tarball size */
	uint64_t	 unpacked_bytes;	/* sum of file sizes */
	uint32_t	 file_count;
	int		 monitor;	/* 1: allowed by mode: monitor although
					   reasons would block (would-block) */
	int		 approval;	/* 1: the rule says approval: required:
					   an allowed publish still waits for a
					   reviewer's waiver (the gate's job) */
	size_t		 nwarn;		/* reasons[] that only warn */
	size_t		 nsuppressed;	/* findings allow_findings let through
					   (kept in reasons[] while room) */
	size_t		 nreasons;	/* reasons kept in reasons[] */
	size_t		 nreasons_total;	/* reasons found (may exceed POL_REASONS_MAX) */
	/* Policy-level reasons (publish.denied, access, consistency., ...)
	   first, then the others in the order found, then suppressed notes. */
	struct pol_reason reasons[POL_REASONS_MAX];
	/* Reasons past the cap, counted per rule id (the first POL_MORE_MAX
	   rule ids; the rest are in nreasons_total only). */
	size_t		 nmore;
	struct {
		char	 rule[POL_RULE_ID_MAX];
		size_t	 n;
	}		 more[POL_MORE_MAX];
};

struct pol_stream;		/* opaque, one per publish */

/*
 * pol_publish_new() : starts judging one publish under policy p (a
 * reference is taken and dropped by pol_publish_free()).  Returns NULL on
 * allocation failure.
 */
struct pol_stream	*pol_publish_new(struct pol_policy *p,
			    const struct pol_stream_opts *opts);
/*
 * pol_publish_feed() : feeds the next len bytes; any split is fine, the
 * buffer is borrowed for the call only.  Returns POL_CONTINUE while more is
 * wanted; any other status means the verdict is already deny and further
 * input is ignored.
 */
enum pol_status		 pol_publish_feed(struct pol_stream *, const void *buf,
			    size_t len);
/*
 * pol_publish_end() : the input is complete; runs the end-of-input checks
 * (truncation, consistency, integrity) and returns the verdict.  The report
 * stays valid until pol_publish_free().
 */
enum pol_verdict	 pol_publish_end(struct pol_stream *,
			    const struct pol_report **report);
/*
 * Judging against the previous version (a rule's diff:).  With
 * opts.previous, pol_publish_end() of a readable publish with a tarball
 * under a rule with diff: returns POL_PENDING: every other reason is in
 * the report already (name, version and tag too), the verdict is not
 * final.  The caller chooses the previous version (pol_prev_*, below),
 * feeds its .tgz to pol_publish_prev_feed() (names and sizes are kept,
 * no content), then pol_publish_prev_end() adds the diff reasons and
 * gives the final verdict:
 *   version set, why NULL    the fed tarball is version's: judged
 *   version NULL, why NULL   there is no previous version (a first
 *                            publish): diff allows
 *   why set                  the previous version could not be read
 *                            (why: log-safe text): diff.unreachable,
 *                            blocking unless diff.unreachable: allow
 * A tarball that did not end properly, or a file list over its cap, is
 * unreadable too.  Without POL_PENDING, prev_end returns the verdict.
 */
enum pol_status		 pol_publish_prev_feed(struct pol_stream *,
			    const void *buf, size_t len);
enum pol_verdict	 pol_publish_prev_end(struct pol_stream *,
			    const char *version, const char *why,
			    const struct pol_report **report);

/*
 * pol_prev_*: chooses the previous version from the package's packument
 * (full or abbreviated, gzip or not), fed as it streams, any split.  The
 * choice: the version the publish's dist-tag (tag, may be NULL) points at
 * now, when it is another one; else the highest version lower than the
 * published one (semver order); else none.  pol_prev_end() returns 1
 * with the version and its dist.tarball ("" if not known), 0 when there
 * is none (a first publish), -1 when the packument cannot be read (not a
 * JSON object, over POL_PREV_PACKUMENT_MAX bytes inflated, corrupt gzip).
 */
#define POL_PREV_VERSION_MAX	128
#define POL_PREV_URL_MAX	1024	/* a dist.tarball kept */
struct pol_prev;
struct pol_prev	*pol_prev_new(const char *version, const char *tag, int gzip);
int		 pol_prev_feed(struct pol_prev *, const void *buf, size_t len);
int		 pol_prev_end(struct pol_prev *, char *version, size_t vlen,
		    char *tarball, size_t tlen);
void		 pol_prev_free(struct pol_prev *);

/* The report so far (valid until pol_publish_free()). */
const struct pol_report	*pol_publish_report(const struct pol_stream *);
void			 pol_publish_free(struct pol_stream *);

/*
 * pol_reason_waivable() : whether a reviewer's waiver may let a publish
 * blocked for reason rule through: not the gate's own inspection reasons
 * (a publish that cannot be read as the registry and npm would), which
 * no mode, warn list or waiver ever lets through.
 */
int		 pol_reason_waivable(const char *rule);
/*
 * pol_report_waivable() : a denied report whose tarball was read whole
 * (status POL_DONE, sha512 and version known), whose every reason is
 * known (none past the cap) and waivable.
 */
int		 pol_report_waivable(const struct pol_report *);

/*
 * pol_report_render() : the text npm prints for a deny (a 403 "error"):
 * package@version, each reason on its own line with its file and hint, the
 * rule's message.  Plain text, not JSON-escaped.  Returns the length that
 * the full text needs (like snprintf); buf is always NUL-terminated.
 */
size_t		 pol_report_render(const struct pol_report *, char *buf, size_t len);
/*
 * pol_report_notice() : one printable-ASCII line for an allowed publish
 * that has reasons (warn, monitor): what the gate sends as npm-notice.
 */
size_t		 pol_report_notice(const struct pol_report *, char *buf, size_t len);
/*
 * pol_report_json() : the report as one JSON object (no trailing newline).
 * Returns the length needed, like snprintf.
 */
size_t		 pol_report_json(const struct pol_report *, char *buf, size_t len);
/*
 * pol_json_escape() : appends s as the inside of a JSON string (no quotes)
 * to buf at *off, never past len-1; *off advances by what the whole string
 * needs.  buf is kept NUL-terminated.
 */
void		 pol_json_escape(char *buf, size_t len, size_t *off, const char *s);

/*
 * Other writes (dist-tag, deprecate, unpublish, owner, access): whether the
 * rule that matches name lets them through.  kind is one of "dist-tag",
 * "deprecate", "unpublish", "owner", "access".  Fills reason on deny.
 */
enum pol_verdict pol_check_write(const struct pol_policy *, const char *name,
		    const char *kind, struct pol_reason *reason);

/*
 * pol_check_write_body() : the body of a write that is not a publish
 * (dist-tag, access, login, token, ...): empty, or JSON that carries no
 * "_attachments" (a package travels only on a publish route, where the
 * engine judges it).  POL_DENY with *reason filled ("write.attachments",
 * "write.body") otherwise.
 */
enum pol_verdict pol_check_write_body(const void *buf, size_t len,
		    struct pol_reason *reason);

#endif /* PUBGATE_POLICY_H */
