/*
 * proxy/store/store.h: the decision store, whatever holds it.  Every
 * publish decision (allow or block) and every other write the gate
 * forwards becomes one record, committed before the client gets its
 * answer, and written as one JSON line to the log stream for SIEMs.
 * store.c owns what backends share (bounded records, JSON, query checks);
 * sqlite.c is the embedded backend (one file, WAL).
 *
 * Records never carry a token, a cookie or a secret: `who` is a short
 * SHA-256 fingerprint of the bearer token, reasons name rule, file and
 * detector only (the policy engine already redacts).
 */
#ifndef PUBGATE_STORE_H
#define PUBGATE_STORE_H

#include <stdint.h>
#include <stdio.h>

#include "policy.h"

struct px_store;

/* One file of a published tarball (borrowed for the write). */
struct px_store_file {
	const char	*path;		/* as in the tar */
	uint64_t	 size;
	unsigned char	 sha256[32];
};

struct px_store_rec {
	int64_t			 time_ms;	/* wall clock, ms since the epoch */
	const char		*request_id;
	const char		*client;	/* client address "ip:port" */
	const char		*who;		/* token fingerprint, "" if none:
						   lowercase hex, optionally
						   "sha256:"-prefixed, at most 64
						   digits; anything else is stored
						   as "(invalid)" so that a token
						   passed by mistake never lands */
	const char		*npm_command;	/* npm-command header, or "" */
	const char		*user_agent;	/* or "" */
	const char		*kind;		/* "publish", "stage-publish",
						   "dist-tag", "unpublish", ... */
	const char		*package;	/* from the URL */
	enum pol_verdict	 verdict;
	int			 status;	/* HTTP status the client gets */
	const struct pol_report	*report;	/* publishes; NULL otherwise */
	/*
	 * Optional, for records without a report (dist-tag, unpublish...):
	 * NULL or "" when unknown.  reason is the write rule's reason on a
	 * block.  Ignored when report is set.
	 */
	const char		*version;
	const char		*tag;
	const struct pol_reason	*reason;
	/*
	 * Who, by which path, under which policy (issue 10); NULL or ""
	 * when unknown.  user is the npm user name the upstream's whoami
	 * gave for the client's token (never the token).
	 */
	const char		*user;
	const char		*path;		/* "reverse" or "egress" */
	const char		*connect_target; /* egress: CONNECT host:port */
	const char		*policy_sha256;	/* hex of the policy text */
	const char		*policy_name;	/* the policy's `name` */
	const char		*policy_revision; /* its `revision` */
	const char		*tag_old;	/* dist-tag writes: the value */
	const char		*tag_new;	/* before and the one asked */
	/*
	 * Webhook names, one per line ("" or NULL: none): one outbox row
	 * per name is written in the decision's own transaction, so an
	 * alert exists iff its record is committed.
	 */
	const char		*outbox;
	/*
	 * The files of the tarball (publishes): files[0..nfiles) with path,
	 * size and sha256; files_total counts every file seen, so
	 * files_total > nfiles says the list was capped.  files NULL: no
	 * list (not a publish, or not read to the end).
	 */
	const struct px_store_file *files;
	size_t			 nfiles;
	uint64_t		 files_total;
};

/*
 * px_store_open() : opens (creating) the store the `db` setting names:
 * postgresql://... (or postgres://) is a PostgreSQL database (pg.c), any
 * other value a SQLite file (WAL, synchronous=FULL).  jsonl, if not
 * NULL, receives one JSON line per record (borrowed; the caller closes
 * it).  Returns NULL with a message in err on failure.
 */
struct px_store	*px_store_open(const char *db, FILE *jsonl, char *err,
		    size_t errlen);
/*
 * px_store_loop_only() : the store takes the asynchronous calls only (a
 * PostgreSQL store opened with px_store_open_loop()); its blocking calls
 * (write, set_status, query, waivers, outbox) fail with a message.
 */
int		 px_store_loop_only(const struct px_store *);
/* px_store_is_pg() : db names a PostgreSQL database (postgresql://). */
int		 px_store_is_pg(const char *db);
/*
 * px_store_migrate() : creates the schema of the store db names or brings
 * it forward to this pubgate's version (`pubgate db migrate`; serve does
 * it at start); *version is set.  0, or -1 with a message in err.
 */
int		 px_store_migrate(const char *db, int *version, char *err,
		    size_t errlen);
/*
 * px_store_open_existing() : opens a store that must already exist (for
 * `pubgate log`): never creates the file or the schema.  jsonl is unused.
 */
struct px_store	*px_store_open_existing(const char *db, char *err,
		    size_t errlen);
/*
 * px_store_write() : stores one record; returns 0 once it is durable on
 * disk, -1 on failure (the caller must then refuse the publish: a
 * decision that cannot be recorded is not made).
 */
int		 px_store_write(struct px_store *, const struct px_store_rec *);
/*
 * px_store_write_id() : px_store_write() that also returns the record's id
 * in *id, for px_store_set_status().
 */
int		 px_store_write_id(struct px_store *, const struct px_store_rec *,
		    int64_t *id);
/*
 * px_store_set_status() : sets the status of record id once it is known
 * (an allowed publish is recorded before the upstream answers, with
 * status 0) and writes the updated record as a JSON line with
 * "update":true.  Only a status of 0 is replaced.  Returns 0 once durable,
 * -1 on failure (or if id has no pending status).
 */
int		 px_store_set_status(struct px_store *, int64_t id, int status);
/*
 * The asynchronous calls of the serving process: nothing here waits on
 * the database.  A store opened with px_store_open_loop() completes them
 * on base's event loop: PostgreSQL through libpq's non-blocking API on
 * the connection's socket (pgloop.c: one connection per process, a FIFO
 * of operations, one statement in flight, a statement timeout, reconnect
 * with backoff); SQLite runs the same blocking call as px_store_write()
 * (bounded by its 2 s lock wait) from a zero-timeout event.  Either way
 * a callback is never called before the call that queued it returns, is
 * called exactly once unless its operation is cancelled first, and runs
 * from the loop with nothing of the caller's on the stack.
 */
struct event_base;
struct px_store_op;

/*
 * px_store_open_loop() : px_store_open() for the serving process.  A
 * PostgreSQL store first migrates the schema (blocking, before the loop
 * runs, as `pubgate db migrate`); when the database cannot be reached
 * the store starts down and connects by itself.  NULL with err on
 * failure (bad URL, a schema newer than this pubgate's, SQLite errors).
 */
struct px_store	*px_store_open_loop(const char *db, struct event_base *base,
		    FILE *jsonl, char *err, size_t errlen);

/*
 * px_store_write_cb : rc 0 once the record is committed (id set), -1
 * when it is not known to be (the database refused it, went away before
 * its COMMIT answered, or timed out): the caller then refuses with 503
 * and forwards nothing.
 */
typedef void	 px_store_write_cb(void *arg, int rc, int64_t id);
/*
 * px_store_write_async() : queues rec (copied: rec is borrowed until
 * return).  Returns the operation, or NULL when it is refused at once
 * (the database is down, the queue is full): cb is then never called.
 * cb may be NULL (fire and forget).  The record's request_id must be
 * unique: on PostgreSQL a second record with the same one is refused.
 */
struct px_store_op *px_store_write_async(struct px_store *,
		    const struct px_store_rec *, px_store_write_cb *cb,
		    void *arg);
/*
 * px_store_set_status_async() : px_store_set_status() without waiting:
 * queued (kept across a reconnection, the update is idempotent), never
 * answered; a failure is counted in px_store_stat()'s errors.
 */
void		 px_store_set_status_async(struct px_store *, int64_t id,
		    int status);
/*
 * px_store_query_async() : px_store_query() from the loop: row(r,
 * row_arg) is called for each record, then done(arg, ...) with the count
 * (or -1 and a message), all from the loop.  NULL when refused at once (err set): no callback.
 */
typedef void	 px_store_query_done_cb(void *arg, int n, const char *err);
struct px_store_query;
struct px_store_row;
struct px_store_op *px_store_query_async(struct px_store *,
		    const struct px_store_query *q,
		    int (*row)(const struct px_store_row *, void *),
		    void *row_arg, px_store_query_done_cb *done, void *arg,
		    char *err, size_t errlen);
/*
 * px_store_op_cancel() : the operation's callback will not be called
 * (the connection that waited for it is gone).  A write not yet sent is
 * dropped; one already sent completes in the database.  NULL is a no-op.
 */
void		 px_store_op_cancel(struct px_store_op *);

/* The store's state, for /-/pubgate/health and metrics. */
struct px_store_stat {
	int		 up;		/* writes can be committed now */
	const char	*state;		/* "up", "connecting", "down" */
	uint64_t	 errors;	/* failed operations and connections */
	uint64_t	 reconnects;	/* connections made after the first */
	uint64_t	 pending;	/* operations queued or in flight */
	char		 last_error[200];	/* "" none */
};
void		 px_store_stat(const struct px_store *, struct px_store_stat *);

/* px_store_backend() : "sqlite" or "postgresql", for logs, health and metrics. */
const char	*px_store_backend(const struct px_store *);
/* Records that reached the store but whose JSON line could not be written. */
uint64_t	 px_store_jsonl_errors(const struct px_store *);
void		 px_store_close(struct px_store *);

/* Query, shared by `pubgate log` and the admin API. */
struct px_store_query {
	int		 blocked_only;
	int64_t		 since_ms;	/* 0: no bound */
	const char	*package_glob;	/* NULL: any */
	const char	*scope;		/* "@x", NULL: any */
	const char	*request_id;	/* one decision (pubgate show), NULL */
	int		 limit;		/* 0: default 100 */
};

/*
 * px_store_query_json() : runs q and writes a JSON array of records to
 * out.  Returns the number of records, or -1 with a message in err.
 */
int		 px_store_query_json(struct px_store *, const struct px_store_query *q,
		    FILE *out, char *err, size_t errlen);

/*
 * One stored record as a query returns it.  Every string is non-NULL,
 * bounded, and valid only during the callback that receives the row.
 */
struct px_store_reason {
	const char	*rule;
	const char	*file;
	const char	*text;
	const char	*hint;
	int64_t		 offset;	/* -1 if none */
};

struct px_store_row {
	int64_t			 id;
	int64_t			 time_ms;
	const char		*time;		/* ISO-8601 UTC, ms */
	const char		*request_id;
	const char		*client;
	const char		*who;
	const char		*npm_command;
	const char		*user_agent;
	const char		*kind;
	const char		*package;
	const char		*version;
	const char		*tag;
	const char		*access;
	const char		*verdict;	/* "allow" or "block" */
	int			 status;
	const char		*rule_match;
	const char		*message;
	const char		*inspection;	/* how the stream ended, "" */
	const char		*sha512;	/* hex */
	const char		*integrity;
	int64_t			 body_bytes;
	int64_t			 tarball_bytes;
	int64_t			 unpacked_bytes;
	int64_t			 file_count;
	int64_t			 reasons_total;	/* may exceed nreasons */
	size_t			 nreasons;
	const struct px_store_reason *reasons;
	const char		*user;		/* npm user name, "" unknown */
	const char		*path;		/* "reverse", "egress", "" */
	const char		*connect_target;
	const char		*policy_sha256;
	const char		*policy_name;
	const char		*policy_revision;
	const char		*tag_old;
	const char		*tag_new;
	/*
	 * The file list: files_listed entries (-1: no list kept) of
	 * files_total seen.  files is the stored list, one line per file
	 * ("<sha256 hex> <size> <path>", the path's '%', control bytes
	 * and DEL as %XX), read only when a query names one decision
	 * (request_id), "" otherwise: walk it with px_store_files_next().
	 */
	int64_t			 files_listed;
	int64_t			 files_total;
	const char		*files;
	const char		*outbox;	/* as written; "" when read */
};

/* One file of a stored list, as px_store_files_next() reads it. */
struct px_store_file_row {
	char		 sha256[65];	/* hex */
	uint64_t	 size;
	char		 path[4096];	/* unescaped, cut if longer */
};

/*
 * px_store_files_next() : the next file of a row's list at *cur (start
 * with row->files); 1 with *f filled and *cur advanced, 0 at the end.
 * Malformed lines are skipped.
 */
int		 px_store_files_next(const char **cur,
		    struct px_store_file_row *f);

/*
 * px_store_query() : runs q and calls cb for each record, newest first;
 * a non-zero return from cb stops the query.  cb must not call back into
 * the store.  Returns the number of records passed to cb, or -1 with a
 * message in err.
 */
int		 px_store_query(struct px_store *, const struct px_store_query *q,
		    int (*cb)(const struct px_store_row *, void *), void *arg,
		    char *err, size_t errlen);
/*
 * A JSON array of records, as `pubgate log --json` and the admin API
 * serve it: px_store_json_row() is a query's row callback (arg a struct
 * px_store_json, n 0 at first), px_store_json_end() closes the array.
 */
struct px_store_json {
	FILE	*out;
	int	 n;
};
int		 px_store_json_row(const struct px_store_row *, void *arg);
void		 px_store_json_end(struct px_store_json *);
/* px_store_row_json() : writes row as one JSON object (no newline) to out. */
void		 px_store_row_json(const struct px_store_row *, FILE *out);
/*
 * px_store_row_cyclonedx() : (sbom.c) writes row as a CycloneDX 1.5 JSON
 * document (an SBOM of that one decision: the package as the component,
 * each listed file a file component with its SHA-256) to out.  0, or -1
 * when the row has no file list (files not read or not kept).
 */
int		 px_store_row_cyclonedx(const struct px_store_row *, FILE *out);
/* PX_STORE_FILES_MAX: files listed in a record (more are counted). */
#define PX_STORE_FILES_MAX	10000

/*
 * Waivers (issue 10): a reviewer lets exactly one blocked tarball (its
 * sha512) of one package@version through, once or until it expires.  A
 * waiver is made from a blocked publish decision; every approval, use and
 * revocation is itself a decision record (kind "waiver-approve",
 * "waiver-use", "waiver-revoke") written in the same transaction as the
 * waiver's change.
 */
#define PX_STORE_OUTBOX_MAX	1023	/* webhook names, one per line */
#define PX_STORE_BY_MAX		64	/* a reviewer's name */
#define PX_STORE_WHY_MAX	199	/* an approval's or revocation's reason */

struct px_store_waiver {
	int64_t		 id;
	int64_t		 created_ms;
	int64_t		 expires_ms;
	int		 once;		/* 1: one use, then spent */
	int64_t		 uses;
	int64_t		 last_used_ms;	/* 0: never used */
	int64_t		 revoked_ms;	/* 0: not revoked */
	const char	*decision;	/* request id of the decision approved */
	const char	*package;
	const char	*version;
	const char	*sha512;	/* hex, of the tarball let through */
	const char	*publisher;	/* `who` of the decision approved */
	const char	*approved_by;
	const char	*reason;
	const char	*revoked_by;	/* "" if not revoked */
	const char	*revoke_reason;
	const char	*state;		/* as of the query: "active", "used",
					   "expired" or "revoked" */
};

/* Who approves or revokes, for the waiver and its decision record. */
struct px_store_actor {
	const char	*by;		/* a name: the OS user, --by, "admin"
					   or the console login's name */
	const char	*who;		/* a token fingerprint (API), or "" */
	const char	*client;	/* "cli" or the admin client's address */
	const char	*user_agent;	/* "pubgate approve", "console", ... */
};

struct px_store_approve {
	const char		*decision;	/* the blocked decision's id */
	const char		*reason;
	int64_t			 now_ms;	/* 0: the clock */
	int64_t			 expires_ms;	/* absolute */
	int			 once;
	struct px_store_actor	 actor;
	/*
	 * Whether a reason's rule may be waived (the gate's own inspection
	 * reasons may not: pol_reason_waivable()); NULL: all may.
	 */
	int			(*waivable)(const char *rule);
};

/* The answers of px_store_waiver_approve() and _revoke() besides 0, -1. */
#define PX_STORE_REFUSED	(-2)	/* err says why (nothing written) */
#define PX_STORE_NOTFOUND	(-3)

/*
 * px_store_waiver_approve() : a waiver for the publish decision a->decision:
 * it must be a blocked publish whose tarball was read whole (its sha512 and
 * version known, inspection complete, every reason known and waivable),
 * and the reviewer (a->actor.by and .who) must not be its publisher.
 * Writes the waiver and its "waiver-approve" record in one transaction;
 * *id is the waiver's id.  0; PX_STORE_NOTFOUND (no such publish
 * decision); PX_STORE_REFUSED with the reason in err; -1 on a store error.
 */
int	px_store_waiver_approve(struct px_store *, const struct px_store_approve *a,
	    int64_t *id, char *err, size_t errlen);
/*
 * px_store_waiver_revoke() : ends waiver id (not revoked yet) and writes its
 * "waiver-revoke" record, in one transaction.  0, PX_STORE_NOTFOUND (no
 * such waiver, or already revoked), -1 on a store error.
 */
int	px_store_waiver_revoke(struct px_store *, int64_t id,
	    const struct px_store_actor *actor, const char *reason,
	    int64_t now_ms, char *err, size_t errlen);
/*
 * px_store_waiver_use() : the gate: takes one use of a valid waiver
 * (not revoked, not expired, not spent) for exactly package, version and
 * sha512 (hex), and writes the "waiver-use" record (request_id: the
 * publish's, who: its publisher) in the same transaction; the waiver is
 * copied to *w (strings valid until the next call on the store, or cb
 * NULL).  1 used, 0 none applies, -1 on a store error (the caller
 * refuses the publish: fail closed).  Atomic: a once waiver is used once
 * even by gates racing on one store.
 */
int	px_store_waiver_use(struct px_store *, const char *package,
	    const char *version, const char *sha512, const char *request_id,
	    const char *client, const char *who, int64_t now_ms,
	    int (*cb)(const struct px_store_waiver *, void *), void *arg,
	    char *err, size_t errlen);
/*
 * px_store_waivers() : calls cb for each waiver, newest first (id: that
 * one only, 0 all; active_only: valid now), at most limit (0: 100); the
 * count or -1.  cb must not call back into the store.
 */
int	px_store_waivers(struct px_store *, int64_t id, int active_only,
	    int limit, int (*cb)(const struct px_store_waiver *, void *),
	    void *arg, char *err, size_t errlen);
/*
 * The waiver calls of the serving process (the gate's verdict, the admin
 * API, the console): the same operations as the blocking calls above,
 * completed from the loop as the other asynchronous calls are (never
 * before the call returns, once unless cancelled).  On PostgreSQL a use,
 * an approval and a revocation are each one statement that changes the
 * waiver and inserts its decision record, so both are committed together
 * (an approval first reads its decision); on SQLite the blocking call
 * runs from a zero-timeout event.
 *
 * cb(arg, rc, w, err): rc is the blocking call's answer (use: 1 used, 0
 * none applies, -1 a store error; approve and revoke: 0,
 * PX_STORE_REFUSED, PX_STORE_NOTFOUND, -1), w the waiver as changed (for
 * rc 1 of a use, 0 of the others; else NULL), err the reason of a
 * refusal or failure ("" otherwise); both valid during the call only.
 * Each returns the operation, or NULL when it is refused at once (the
 * database is down, the queue is full, a bad argument: err says which):
 * cb is then never called.  A use whose commit is uncertain (the
 * connection lost after it was sent) answers -1: the publish is refused
 * (fail closed); once reconnected its waiver-use record, if it landed,
 * gets status 503, and a once waiver may be spent by it.
 */
typedef void	 px_store_waiver_cb(void *arg, int rc,
		    const struct px_store_waiver *w, const char *err);
struct px_store_op *px_store_waiver_use_async(struct px_store *,
		    const char *package, const char *version,
		    const char *sha512, const char *request_id,
		    const char *client, const char *who, int64_t now_ms,
		    px_store_waiver_cb *cb, void *arg, char *err,
		    size_t errlen);
struct px_store_op *px_store_waiver_approve_async(struct px_store *,
		    const struct px_store_approve *a, px_store_waiver_cb *cb,
		    void *arg, char *err, size_t errlen);
struct px_store_op *px_store_waiver_revoke_async(struct px_store *,
		    int64_t id, const struct px_store_actor *actor,
		    const char *reason, int64_t now_ms, px_store_waiver_cb *cb,
		    void *arg, char *err, size_t errlen);
/*
 * px_store_waivers_async() : px_store_waivers() from the loop: row(w,
 * row_arg) for each waiver, then done(arg, n, err) with the count (or -1
 * and a message).
 */
struct px_store_op *px_store_waivers_async(struct px_store *, int64_t id,
		    int active_only, int limit,
		    int (*row)(const struct px_store_waiver *, void *),
		    void *row_arg, px_store_query_done_cb *done, void *arg,
		    char *err, size_t errlen);
/*
 * px_store_waiver_match_ok() : a publish can match a waiver at all (a
 * package, a version and a sha512 of 128 hex digits); 0: no waiver
 * names it, nothing to look up.
 */
int	px_store_waiver_match_ok(const char *package, const char *version,
	    const char *sha512);
/*
 * px_store_actor_check() : a reviewer's name and reason as the calls
 * take them: 0, or PX_STORE_REFUSED with the reason in err.
 */
int	px_store_actor_check(const char *by, const char *why, char *err,
	    size_t errlen);
/* px_store_waiver_json() : w as one JSON object (no newline). */
void	px_store_waiver_json(const struct px_store_waiver *w, FILE *out);
/*
 * px_store_name_ok() : a reviewer name: 1 to PX_STORE_BY_MAX characters of
 * [A-Za-z0-9._@+-].  px_store_why_ok() : a reason: 1 to PX_STORE_WHY_MAX
 * bytes of valid UTF-8 without control characters.
 */
int	px_store_name_ok(const char *by);
int	px_store_why_ok(const char *why);

/* ------------------------------------------------ the webhook outbox */

#define PX_STORE_HOOK_MAX	63	/* a webhook's name */

/* A due alert, as px_store_outbox_claim() leases it. */
struct px_store_alert {
	int64_t		 id;		/* the outbox row: the delivery id */
	int64_t		 decision_id;
	int64_t		 created_ms;
	int		 attempts;	/* counting this one */
	char		 hook[PX_STORE_HOOK_MAX + 1];
};

/* How a delivery ended (px_store_outbox_finish()). */
enum px_alert_result {
	PX_ALERT_DELIVERED = 0,
	PX_ALERT_RETRY = 1,		/* due again at due_ms */
	PX_ALERT_GIVEN_UP = 2
};

/*
 * px_store_outbox_claim() : leases up to max due alerts (not delivered,
 * not given up, due_ms <= now_ms, no lease running) until now_ms +
 * lease_ms, counting an attempt on each, oldest due first; on PostgreSQL
 * rows another gate holds are skipped (FOR UPDATE SKIP LOCKED), so no row
 * is leased twice at once.  The number leased into out, or -1.  Blocking:
 * not on a PostgreSQL gate's loop store.
 */
int		 px_store_outbox_claim(struct px_store *, int64_t now_ms,
		    int64_t lease_ms, struct px_store_alert *out, int max,
		    char *err, size_t errlen);
/*
 * px_store_outbox_finish() : ends alert id's lease: delivered (at now_ms),
 * due again at due_ms, or given up (at now_ms); error is the last
 * failure's text ("" when delivered), cut to 200 bytes.  0 or -1.
 */
int		 px_store_outbox_finish(struct px_store *, int64_t id,
		    int64_t now_ms, enum px_alert_result result, int64_t due_ms,
		    const char *error, char *err, size_t errlen);

/*
 * px_store_set_waiver_outbox() : the webhook names (one per line, "" or
 * NULL none) whose outbox rows every later waiver record (approval, use,
 * revocation) through this store gets, in its own transaction.
 */
void		 px_store_set_waiver_outbox(struct px_store *, const char *names);
/*
 * px_store_outbox_pending() : how many alerts are neither delivered nor
 * given up (due or waiting for a retry); -1 on failure.  Blocking.
 */
int64_t		 px_store_outbox_pending(struct px_store *, char *err,
		    size_t errlen);
/*
 * px_store_by_id() : calls cb(row, arg) with record id (the outbox's
 * decision_id), reasons and file list read; 1 found, 0 none, -1 error.
 * Blocking.
 */
int		 px_store_by_id(struct px_store *, int64_t id,
		    void (*cb)(const struct px_store_row *, void *), void *arg,
		    char *err, size_t errlen);

/*
 * px_hex() : the len bytes at in as 2 * len lowercase hex digits and a
 * NUL into out (2 * len + 1 bytes).  Every part of proxy/ writes digests
 * with it; it lives in store.c because store/ is the library all of
 * proxy/ links, and store/ may not call core/.
 */
void		 px_hex(const unsigned char *in, size_t len, char *out);

/*
 * px_store_err_status() : the HTTP status for a store call that failed
 * with the text err: 503 when the store is down or its queue is full
 * (the texts pgloop.c writes: try again later, the request was fine),
 * else 500.  Every admin and console answer to a failed store call uses
 * it, so they agree.
 */
int		 px_store_err_status(const char *err);

#endif /* PUBGATE_STORE_H */
