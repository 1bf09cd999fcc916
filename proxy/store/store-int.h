/*
 * proxy/store/store-int.h: what the decision store's backends share with
 * store.c and nothing else includes: the caps on stored strings, the
 * bounded record buffer, the backend operations table and the helpers
 * that fill a buffer from a row a backend read.
 */
#ifndef PUBGATE_STORE_INT_H
#define PUBGATE_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "store.h"

#define PX_STORE_LIMIT_DEFAULT	100
#define PX_STORE_LIMIT_MAX	10000

/* Caps on stored strings, in bytes without the NUL. */
#define PX_STORE_TIME_MAX	31
#define PX_STORE_REQID_MAX	64
#define PX_STORE_CLIENT_MAX	64
#define PX_STORE_WHO_MAX	71	/* "sha256:" and 64 hex digits */
#define PX_STORE_CMD_MAX	32
#define PX_STORE_UA_MAX		256
#define PX_STORE_KIND_MAX	32
#define PX_STORE_PKG_MAX	256
#define PX_STORE_VERSION_MAX	127
#define PX_STORE_TAG_MAX	63
#define PX_STORE_ACCESS_MAX	15
#define PX_STORE_RULE_MAX	127
#define PX_STORE_MSG_MAX	(POL_TEXT_MAX - 1)
#define PX_STORE_INSP_MAX	15
#define PX_STORE_SHA_MAX	128
#define PX_STORE_INTEG_MAX	99
#define PX_STORE_SCOPE_MAX	214
#define PX_STORE_USER_MAX	214	/* an npm user name */
#define PX_STORE_PATH_MAX	15
#define PX_STORE_TARGET_MAX	270	/* "host:port" */
#define PX_STORE_PSHA_MAX	64
#define PX_STORE_LABEL_MAX	POL_POLICY_LABEL_MAX
/* The stored file list, whatever the paths: past it files are unlisted. */
#define PX_STORE_FILES_TEXT_MAX	(4 * 1024 * 1024)

/* A record in bounded storage: what is written, and what is read back. */
struct px_store_buf {
	char			 time[PX_STORE_TIME_MAX + 1];
	char			 request_id[PX_STORE_REQID_MAX + 1];
	char			 client[PX_STORE_CLIENT_MAX + 1];
	char			 who[PX_STORE_WHO_MAX + 1];
	char			 npm_command[PX_STORE_CMD_MAX + 1];
	char			 user_agent[PX_STORE_UA_MAX + 1];
	char			 kind[PX_STORE_KIND_MAX + 1];
	char			 package[PX_STORE_PKG_MAX + 1];
	char			 version[PX_STORE_VERSION_MAX + 1];
	char			 tag[PX_STORE_TAG_MAX + 1];
	char			 access[PX_STORE_ACCESS_MAX + 1];
	char			 verdict[8];
	char			 rule_match[PX_STORE_RULE_MAX + 1];
	char			 message[PX_STORE_MSG_MAX + 1];
	char			 inspection[PX_STORE_INSP_MAX + 1];
	char			 sha512[PX_STORE_SHA_MAX + 1];
	char			 integrity[PX_STORE_INTEG_MAX + 1];
	char			 r_rule[POL_REASONS_MAX][POL_RULE_ID_MAX];
	char			 r_file[POL_REASONS_MAX][POL_FILE_MAX];
	char			 r_text[POL_REASONS_MAX][POL_TEXT_MAX];
	char			 r_hint[POL_REASONS_MAX][POL_HINT_MAX];
	struct px_store_reason	 reasons[POL_REASONS_MAX];
	char			 user[PX_STORE_USER_MAX + 1];
	char			 path[PX_STORE_PATH_MAX + 1];
	char			 connect_target[PX_STORE_TARGET_MAX + 1];
	char			 policy_sha256[PX_STORE_PSHA_MAX + 1];
	char			 policy_name[PX_STORE_LABEL_MAX + 1];
	char			 policy_revision[PX_STORE_LABEL_MAX + 1];
	char			 tag_old[PX_STORE_VERSION_MAX + 1];
	char			 tag_new[PX_STORE_VERSION_MAX + 1];
	char			*files;		/* malloc'd list text, or NULL */
	char			 outbox[PX_STORE_OUTBOX_MAX + 1];
	size_t			 files_cap;
	struct px_store_row	 row;
};

/* A waiver in bounded storage. */
struct px_store_wbuf {
	char			 decision[PX_STORE_REQID_MAX + 1];
	char			 package[PX_STORE_PKG_MAX + 1];
	char			 version[PX_STORE_VERSION_MAX + 1];
	char			 sha512[PX_STORE_SHA_MAX + 1];
	char			 publisher[PX_STORE_WHO_MAX + 1];
	char			 approved_by[PX_STORE_BY_MAX + 1];
	char			 reason[PX_STORE_WHY_MAX + 1];
	char			 revoked_by[PX_STORE_BY_MAX + 1];
	char			 revoke_reason[PX_STORE_WHY_MAX + 1];
	char			 state[8];
	struct px_store_waiver	 w;
};

/*
 * One change to a waiver and the decision record that tells of it, done
 * by a backend in one transaction:
 *   PX_WOP_ADD     inserts wb->w (its id is set);
 *   PX_WOP_REVOKE  sets revoked_ms/by/reason of waiver id if not revoked;
 *   PX_WOP_USE     takes one use of the newest valid waiver for
 *                  package, version, sha512 at now_ms.
 * Once the waiver row is known (read back into wb), the backend calls
 * fill(op) to make op->rec, then inserts it.  0 done, 1 no row matched
 * (nothing written), -1 error.
 */
enum px_wop_kind { PX_WOP_ADD, PX_WOP_REVOKE, PX_WOP_USE };

struct px_store_wop {
	enum px_wop_kind	 kind;
	int64_t			 now_ms;
	int64_t			 id;		/* REVOKE */
	const char		*package;	/* USE */
	const char		*version;
	const char		*sha512;
	struct px_store_wbuf	*wb;		/* in (ADD, REVOKE's by and
						   reason) and out */
	struct px_store_buf	*rec;
	void			(*fill)(struct px_store_wop *);
	const void		*arg;		/* for fill */
};

/*
 * The filters of a query, checked and bounded by store.c: glob NULL for
 * any package, scope_lo/scope_hi NULL for any scope (else "@x/" and
 * "@x0": a range on the package column), 1 <= limit <= PX_STORE_LIMIT_MAX.
 */
struct px_store_qargs {
	int		 blocked_only;
	int64_t		 since_ms;
	const char	*glob;
	const char	*scope_lo;
	const char	*scope_hi;
	const char	*request_id;	/* NULL: any */
	int		 limit;
};

/*
 * A backend.  store.c serialises every call (one at a time per store) and
 * owns the JSON stream; a backend only stores and reads rows.  Each
 * returns -1 on failure with a message in err where it takes one.
 *   insert      stores b->row and its reasons in one transaction and
 *               returns once it is committed (durable); sets b->row.id.
 *   set_status  sets the status of record id where it is 0; -1 when no
 *               such pending record exists.
 *   by_id       reads record id into b.
 *   query       calls row(b, arg) for each matching record into b, newest
 *               first, until row returns non-zero; the count or -1.
 *   close       frees the backend.
 */
struct px_store_ops {
	const char	*name;
	int		(*insert)(void *be, struct px_store_buf *b);
	int		(*set_status)(void *be, int64_t id, int status);
	int		(*by_id)(void *be, int64_t id, struct px_store_buf *b);
	int		(*query)(void *be, const struct px_store_qargs *qa,
			    struct px_store_buf *b,
			    int (*row)(const struct px_store_row *, void *),
			    void *arg, char *err, size_t errlen);
	void		(*close)(void *be);
	/* Waivers (see struct px_store_wop); a store without the table
	   (schema 1, not migrated) fails with the database's message. */
	int		(*waiver_op)(void *be, struct px_store_wop *op,
			    char *err, size_t errlen);
	int		(*waivers)(void *be, int64_t id, int active_only,
			    int64_t now_ms, int limit, struct px_store_wbuf *wb,
			    int (*cb)(const struct px_store_waiver *, void *),
			    void *arg, char *err, size_t errlen);
	/* The outbox (see px_store_outbox_claim() and _finish()). */
	int		(*outbox_claim)(void *be, int64_t now_ms,
			    int64_t lease_ms, struct px_store_alert *out,
			    int max, char *err, size_t errlen);
	int		(*outbox_finish)(void *be, int64_t id, int64_t now_ms,
			    int result, int64_t due_ms, const char *error,
			    char *err, size_t errlen);
	int64_t		(*outbox_pending)(void *be, char *err, size_t errlen);
};

/* px_store_wbuf_link() : points wb->w's strings at wb's own arrays. */
void	 px_store_wbuf_link(struct px_store_wbuf *wb);
/*
 * px_store_wbuf_state() : sets wb->state from the waiver's fields as of
 * now_ms.
 */
void	 px_store_wbuf_state(struct px_store_wbuf *wb, int64_t now_ms);
/*
 * The waiver columns, in this order, in both backends' SQL:
 * id, created_ms, expires_ms, once, uses, last_used_ms, revoked_ms,
 * decision, package, version, sha512, publisher, approved_by, reason,
 * revoked_by, revoke_reason.
 */
#define PX_STORE_WCOLS \
    "id, created_ms, expires_ms, once, uses, last_used_ms, revoked_ms," \
    " decision, package, version, sha512, publisher, approved_by, reason," \
    " revoked_by, revoke_reason"
#define PX_STORE_WNCOLS	16

/* The outbox's claim and finish, with the same parameters in both. */
#define PX_STORE_ERROR_MAX	200
/*
 * px_store_wbuf_set() : fills wb from the 16 columns as text (cols[i],
 * NULL is ""), as both backends read them.
 */
void	 px_store_wbuf_set(struct px_store_wbuf *wb, const char *const cols[16]);

/* The SQLite backend (sqlite.c): path is a file name. */
int	 px_sqlite_migrate(const char *path, int *version, char *err,
	    size_t errlen);
void	*px_sqlite_open(const char *path, int create, char *err,
	    size_t errlen);
extern const struct px_store_ops px_sqlite_ops;

/*
 * An asynchronous operation (store.h's px_store_*_async()).  store.c
 * makes it and finishes it (px_store_op_done()); pgloop.c or store.c's
 * SQLite deferral runs it.  A cancelled one is freed by whoever holds it
 * next, without its callback.
 */
enum px_store_op_kind {
	PX_OP_INSERT,		/* buf -> a record; sets id */
	PX_OP_STATUS,		/* id, status (idempotent, kept across losses) */
	PX_OP_RESOLVE,		/* reqid: an insert whose commit was uncertain
				   gets status 503 (what its client got) */
	PX_OP_BYID,		/* id -> buf (the JSON line of an update) */
	PX_OP_QUERY,		/* qa -> rows (an approval on PostgreSQL
				   first reads its decision so: op->w set) */
	PX_OP_WAIVER,		/* op->w: a waiver's use, approval,
				   revocation, or a list of waivers */
};

/*
 * A waiver operation from the loop (px_store_waiver_*_async()).  On
 * PostgreSQL a use, approval or revocation is one statement that changes
 * the waiver and inserts its decision record (pg.c's px_pg_wsend()):
 * committed together when its result arrives; the runner sets op->rc to
 * 0 (a row matched: wb, rec_id set), 1 (none) or -1, and store.c makes
 * the record's JSON line and answers.  On SQLite the deferral runs the
 * blocking call, which does it all (synced).
 */
struct px_store_wasync {
	enum px_wop_kind	 kind;
	int			 list;		/* px_store_waivers_async() */
	int			 synced;	/* SQLite: rc is the blocking
						   call's, JSON line written */
	int64_t			 now_ms;
	int64_t			 id;		/* REVOKE; list: 0 all */
	int			 active_only;	/* list */
	int			 limit;		/* list */
	char			 prefix[9];	/* ADD, REVOKE: the record's
						   request id is prefix-<id> */
	char			 time[PX_STORE_TIME_MAX + 1];	/* now_ms */
	char			 reqid[PX_STORE_REQID_MAX + 1];	/* USE */
	char			 client[PX_STORE_CLIENT_MAX + 1];
	char			 who[PX_STORE_WHO_MAX + 1];	/* as stored */
	char			 awho[PX_STORE_WHO_MAX + 1];	/* ADD: as given */
	char			 ua[PX_STORE_UA_MAX + 1];
	char			 outbox[PX_STORE_OUTBOX_MAX + 1];	/* the
						   record's webhook names */
	char			 package[PX_STORE_PKG_MAX + 1];	/* USE */
	char			 version[PX_STORE_VERSION_MAX + 1];
	char			 sha512[PX_STORE_SHA_MAX + 1];
	char			 until[PX_STORE_TIME_MAX + 1];	/* ADD */
	/* ADD: the approval, and what reading its decision found. */
	char			 decision[PX_STORE_REQID_MAX + 1];
	char			 reason[PX_STORE_WHY_MAX + 1];
	char			 by[PX_STORE_BY_MAX + 1];
	int64_t			 expires_ms;
	int			 once;
	int			(*waivable)(const char *rule);
	int			 found;
	char			 why[300];
	/* The waiver (in: ADD's, REVOKE's by and reason; out: as changed). */
	struct px_store_wbuf	 wb;
	int64_t			 rec_id;	/* the decision record's id */
	px_store_waiver_cb	*cb;
	int			(*row)(const struct px_store_waiver *, void *);
	void			*row_arg;
};

struct px_store_qstore {
	struct px_store_qargs	 qa;
	char			 lo[PX_STORE_SCOPE_MAX + 3];
	char			 hi[PX_STORE_SCOPE_MAX + 3];
	char			 glob[PX_STORE_PKG_MAX + 1];
	char			 reqid[256];
};

struct px_store_op {
	struct px_store_op	*next;		/* in its queue */
	struct px_store		*store;
	enum px_store_op_kind	 kind;
	int			 cancelled;
	int			 sent;		/* pgloop: statement sent */
	px_store_write_cb	*wcb;
	int			(*row)(const struct px_store_row *, void *);
	void			*row_arg;
	px_store_query_done_cb	*qdone;
	void			*arg;
	struct px_store_buf	*buf;		/* INSERT, BYID, QUERY */
	struct px_store_qstore	*q;		/* QUERY */
	struct px_store_wasync	*w;		/* WAIVER */
	int64_t			 id;
	int			 status;
	char			 reqid[PX_STORE_REQID_MAX + 1];
	char			 rkind[PX_STORE_KIND_MAX + 1];	/* RESOLVE */
	/* The outcome, set by the runner before px_store_op_done(). */
	int			 rc;		/* 0, -1; QUERY: the count */
	char			 err[200];
};

/*
 * px_store_op_done() : the runner's operation ended (op->rc, op->err,
 * op->id, op->buf set): JSON line, the caller's callback, then frees op.
 */
void	 px_store_op_done(struct px_store_op *op);
void	 px_store_op_free(struct px_store_op *op);

/*
 * px_store_approve_row() : an approval's check of its decision's row, as
 * a query's row callback (arg: the op); sets op->w's found, why and wb.
 */
int	 px_store_approve_row(const struct px_store_row *r, void *arg);

/* The loop-driven PostgreSQL client (pgloop.c). */
struct px_pgloop;
struct px_pgloop *px_pgloop_new(struct event_base *base, const char *url,
	    char *err, size_t errlen);
/*
 * px_pgloop_submit() : queues op (taking it) and returns 0, or -1 when
 * it is refused at once (down; the queue full), with err set: op stays
 * the caller's.
 */
int	 px_pgloop_submit(struct px_pgloop *, struct px_store_op *op,
	    char *err, size_t errlen);
void	 px_pgloop_stat(const struct px_pgloop *, struct px_store_stat *);
void	 px_pgloop_free(struct px_pgloop *);

/* px_store_buf_link() : points b->row's strings at b's own arrays. */
void	 px_store_buf_link(struct px_store_buf *b);
/*
 * px_store_buf_files() : copies a stored file list (len bytes, not
 * NUL-terminated; NULL is none) into b, growing b->files, and points
 * b->row.files at it; 0, or -1 out of memory (then "").
 * px_store_buf_free() frees it.
 */
int	 px_store_buf_files(struct px_store_buf *b, const char *text,
	    size_t len);
void	 px_store_buf_free(struct px_store_buf *b);
/*
 * px_store_files_encode() : (files.c) rec's file list as b's stored text
 * (b->row.files, files_listed, files_total); a list over
 * PX_STORE_FILES_MAX files or PX_STORE_FILES_TEXT_MAX bytes is cut, the
 * rest counted.  Out of memory: no list (files_listed -1).
 */
void	 px_store_files_encode(struct px_store_buf *b,
	    const struct px_store_rec *rec);
/* px_store_row_json_more() : (files.c) the issue 10 fields of r, JSON. */
void	 px_store_row_json_more(const struct px_store_row *r, FILE *f);
/* px_store_hexval() : the value of hex digit c, or -1. */
int	 px_store_hexval(int c);
/* px_store_json_str() : s as a JSON string, always valid JSON. */
void	 px_store_json_str(FILE *f, const char *s);
/*
 * px_store_copy() : copies s (NULL is "") into dst of dstlen bytes, cut
 * on a UTF-8 boundary.  PX_STORE_SET(b, field, s) copies into a field.
 */
char	*px_store_copy(char *dst, size_t dstlen, const char *s);
#define PX_STORE_SET(b, field, s)	\
	px_store_copy((b)->field, sizeof((b)->field), (s))
/*
 * px_store_utf8_fix() : replaces, in place, each byte of s that is not
 * part of a valid UTF-8 sequence by '?', for databases that refuse
 * invalid text (PostgreSQL).
 */
void	 px_store_utf8_fix(char *s);
void	 px_store_seterr(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* PUBGATE_STORE_INT_H */
