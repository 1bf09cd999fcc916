/*
 * proxy/admin/admin.h: what the admin listener's files share (admin.c,
 * the API and metrics; ui.c, the web console): the strict reading of a
 * query string or form body, and the decision-query parameters both
 * accept.  Only admin/ includes it.
 */
#ifndef PUBGATE_PX_ADMIN_H
#define PUBGATE_PX_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct px_conn;

#define PX_ADMIN_ARG_MAX	257	/* a decoded value, NUL included */
#define PX_ADMIN_PKG_MAX	256	/* package glob, scope */
#define PX_ADMIN_LIMIT_MAX	10000	/* the store's own cap */

/* A decisions query as read from ?blocked=&since=&package=&scope=&limit=&id=. */
struct px_admin_dq {
	struct px_store_query	 q;	/* points into the strings below */
	int			 blocked;
	char			 since[PX_ADMIN_ARG_MAX];	/* as given */
	char			 package[PX_ADMIN_PKG_MAX + 1];
	char			 scope[PX_ADMIN_PKG_MAX + 2];
	char			 id[40];
	char			 user[72];	/* ui only: who fingerprint prefix
						   or npm user name */
	int			 cyclonedx;	/* API only: format=cyclonedx */
};

/*
 * px_admin_qnext() : reads the next key=value pair of the query string
 * (or urlencoded form) at *q, *ql bytes, and advances them; the pair is
 * percent-decoded into key and val (klen, vlen bytes).  Returns 1 with a
 * pair, 0 at the end, or -1 with a message in err: a bad %-escape, a
 * control byte, an empty name, a name or value that does not fit.
 */
int	px_admin_qnext(const char **q, size_t *ql, char *key, size_t klen,
	    char *val, size_t vlen, char *err, size_t errlen);
/*
 * px_admin_parse_dq() : reads a decisions query (ui adds `user`).  Every
 * key must be known and given once; an empty value is no filter.
 * blocked: 1, 0, true, false; since: ms since the epoch, a duration
 * before now_ms (`24h`) or an ISO-8601 time; limit: 1 to 10000; scope:
 * `@x` or `x`; id: a decision id.  0, or -1 with a message in err.
 */
int	px_admin_parse_dq(const char *q, size_t qlen, int ui, int64_t now_ms,
	    struct px_admin_dq *dq, char *err, size_t errlen);
/*
 * px_admin_json_error() : answers status with {"error": text} and, when
 * hdrs is not NULL, those extra header lines (each ending in CRLF).
 */
void	px_admin_json_error(struct px_conn *, int status, const char *text,
	    const char *hdrs);

/*
 * px_admin_query() : runs q on the decision store without waiting (the
 * loop goes on; on PostgreSQL the query is a statement on the gate's
 * connection): row(r, arg) for each record, then done(conn, arg, n, err)
 * (n the count, or -1 and err), after which free_arg(arg).  arg is the
 * conn's until then (freed with it if the conn goes first).  done runs
 * at once when there is no store or it refuses the query (down), else
 * from the loop while the conn waits in PX_CONN_RECORD (px_conn_close()
 * cancels it and frees arg).  Returns done's result, or 0 while pending;
 * -1 if the conn was freed.
 */
int	px_admin_query(struct px_conn *, const struct px_store_query *q,
	    int (*row)(const struct px_store_row *, void *), void *arg,
	    void (*free_arg)(void *),
	    int (*done)(struct px_conn *, void *arg, int n, const char *err));
/*
 * px_admin_wlist() : px_admin_query() for the waivers (px_store_waivers()'s
 * id, active_only, limit): row(w, arg) for each, then done.
 */
int	px_admin_wlist(struct px_conn *, int64_t id, int active_only, int limit,
	    int (*row)(const struct px_store_waiver *, void *), void *arg,
	    void (*free_arg)(void *),
	    int (*done)(struct px_conn *, void *arg, int n, const char *err));
/*
 * px_admin_tarball() : answers the kept tarball of decision id (checked
 * here) from quarantine.dir: application/octet-stream, sent from the file;
 * 404 when none is kept.  -1 if the conn was freed.
 */
int	px_admin_tarball(struct px_conn *, const char *id);
/* px_admin_authorized() : the request carries the admin token (if one is set). */
int	px_admin_authorized(struct px_conn *);
/* px_admin_wall_ms() : wall-clock ms since the epoch. */
int64_t	px_admin_wall_ms(void);

/* waivers.c */
/* A waiver form (API or console), each field as sent, "" if absent. */
struct px_admin_wform {
	char	 csrf[40];		/* console only */
	char	 decision[48];
	char	 reason[PX_ADMIN_ARG_MAX];
	char	 expires[24];
	char	 once[8];
	char	 by[72];
	char	 id[24];
};
/*
 * px_admin_wform_read() : reads the urlencoded body of conn into wf:
 * csrf, decision, reason, expires, once, by, id, each at most once; any
 * other field is an error.  0, or -1 with a message in err.
 */
int	px_admin_wform_read(struct px_conn *, struct px_admin_wform *wf,
	    char *err, size_t errlen);
/*
 * px_admin_wact() : approves wf->decision (revoke 0) or revokes waiver
 * wf->id (revoke 1) as reviewer by ("admin" if empty) with the admin
 * token's fingerprint; ua names the tool in the record.  The answer
 * comes to done(conn, revoke, rc, w, err): rc 0 (w the waiver as it is
 * now), PX_STORE_REFUSED, PX_STORE_NOTFOUND (err says why), -1 (the
 * store failed; err says "is down" when it is); at once for a bad form
 * or a store that refuses at once, else from the loop while the conn
 * waits in PX_CONN_RECORD (the store's asynchronous calls).  Returns
 * done's result, 0 while pending, -1 if the conn was freed.
 */
typedef int px_admin_wdone(struct px_conn *, int revoke, int rc,
	    const struct px_store_waiver *w, const char *err);
int	px_admin_wact(struct px_conn *, const struct px_admin_wform *wf,
	    int revoke, const char *by, const char *ua, px_admin_wdone *done);
/*
 * px_admin_waivers_answer() : /-/pubgate/waivers (GET lists, POST
 * approves) and, with revoke, POST /-/pubgate/waivers/revoke.  -1 if the
 * conn was freed.
 */
int	px_admin_waivers_answer(struct px_conn *, int revoke, const char *q,
	    size_t qlen);

/* ui.c */
/* px_ui_path() : the path (plen bytes) is the console's, /-/pubgate/ui... */
int	px_ui_path(const char *path, size_t plen);
/*
 * px_ui_answer() : answers one console request (any method; a form body
 * is in conn->wbody).  Returns -1 if the conn was freed.
 */
int	px_ui_answer(struct px_conn *);

#endif /* PUBGATE_PX_ADMIN_H */
