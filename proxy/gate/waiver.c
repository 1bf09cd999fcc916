/*
 * proxy/gate/waiver.c: waivers and `approval: required` at the gate's
 * verdict (issue 10).  spool.c calls px_waiver_gate() once the engine has
 * judged a publish whose body was read whole and before anything is
 * recorded or forwarded:
 *   - a blocked publish whose every reason may be waived (never the
 *     gate's own inspection reasons: pol_report_waivable()) goes through
 *     when a reviewer's waiver names exactly its package, version and
 *     tarball sha512 and is neither revoked, expired nor spent;
 *   - an allowed publish under a rule with `approval: required` goes
 *     through only with such a waiver; without one it is refused (403)
 *     as "awaiting approval" and recorded as blocked with the reason
 *     approval.required, so `pubgate approve <id>` can name it.
 * Taking a use of a waiver and its "waiver-use" record are one store
 * transaction, durable before the publish is forwarded: the store's
 * asynchronous call (px_store_waiver_use_async(); on PostgreSQL one
 * statement on the gate's loop-driven connection, on SQLite the blocking
 * call from a zero-timeout event), the conn waiting in PX_CONN_RECORD
 * meanwhile.  A store failure refuses the publish (fail closed, 503).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "store.h"
#include "log.h"
#include "proxy-int.h"

struct use_arg {
	struct px_conn	*conn;
	const char	*pkg;
	const char	*version;
};

/* used_cb() : the waiver used: log it, tell npm through npm-notice. */
static int
used_cb(const struct px_store_waiver *w, void *arg)
{
	struct use_arg	*ua = arg;
	struct px_conn	*conn = ua->conn;
	char		 by[PX_STORE_BY_MAX * 4 + 3];
	char		*c;

	px_log_info("conn=%llu req=%s event=waiver-used waiver=%lld "
	    "decision=%s by=%s uses=%lld once=%d",
	    (unsigned long long)conn->id, conn->reqid, (long long)w->id,
	    w->decision, px_log_value(by, sizeof(by), w->approved_by),
	    (long long)w->uses, w->once);
	free(conn->notice);
	if ((conn->notice = malloc(PX_NOTICE_MAX)) == NULL)
		return 0;
	snprintf(conn->notice, PX_NOTICE_MAX, "pubgate: %s@%s was let "
	    "through by waiver %lld (approved by %s for decision %s; %s)",
	    ua->pkg, ua->version, (long long)w->id, w->approved_by,
	    w->decision, w->once ? "used up" : "valid until it expires");
	px_conn_note_decision(conn, conn->notice, PX_NOTICE_MAX);
	/* One header line of printable ASCII. */
	for (c = conn->notice; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = ' ';
	return 0;
}

/* use_done() : the store's answer to the lookup: on with the verdict. */
static void
use_done(void *arg, int rc, const struct px_store_waiver *w, const char *err)
{
	struct px_conn		*conn = arg;
	const struct pol_report	*rep = pol_publish_report(conn->stream);
	enum pol_verdict	 v = conn->waiver_v;
	enum px_waiver_res	 res;
	struct use_arg		 ua;
	char			 e[256];

	conn->store_op = NULL;
	px_conn_set_state(conn, conn->rec_state);
	if (rc == 1 && w != NULL) {
		ua.conn = conn;
		ua.pkg = conn->pkg;
		ua.version = rep->version;
		(void)used_cb(w, &ua);
		res = PX_WAIVER_ALLOW;
	} else if (rc == 0)
		res = v == POL_DENY ? PX_WAIVER_NONE : PX_WAIVER_AWAIT;
	else {
		snprintf(e, sizeof(e), "%s", err != NULL ? err : "");
		px_log_warnx("conn=%llu req=%s event=waiver-lookup-failed "
		    "error=\"%s\"", (unsigned long long)conn->id, conn->reqid,
		    px_log_quote(e, sizeof(e), e));
		res = PX_WAIVER_ERR;
	}
	(void)px_spool_waived(conn, res, v, rep);
}

enum px_waiver_res
px_waiver_gate(struct px_conn *conn, const struct pol_report *rep,
    enum pol_verdict v)
{
	struct px_store_op	*op;
	char			 err[256];

	if (rep == NULL || !conn->msg_done || conn->pst != POL_CONTINUE)
		return PX_WAIVER_NONE;
	if (v == POL_DENY) {
		if (!pol_report_waivable(rep) || conn->ctx->audit == NULL)
			return PX_WAIVER_NONE;
	} else if (!rep->approval || rep->sha512_hex[0] == '\0')
		return PX_WAIVER_NONE;	/* not a tarball: writes: judges it */
	else if (conn->ctx->audit == NULL || rep->version[0] == '\0' ||
	    rep->status != POL_DONE)
		return PX_WAIVER_AWAIT;
	/* No waiver names a tarball without a version or a hash. */
	if (!px_store_waiver_match_ok(conn->pkg, rep->version,
	    rep->sha512_hex))
		return v == POL_DENY ? PX_WAIVER_NONE : PX_WAIVER_AWAIT;
	err[0] = '\0';
	op = px_store_waiver_use_async(conn->ctx->audit, conn->pkg,
	    rep->version, rep->sha512_hex, conn->reqid, px_conn_client(conn),
	    conn->who, 0, use_done, conn, err, sizeof(err));
	if (op == NULL) {
		px_log_warnx("conn=%llu req=%s event=waiver-lookup-failed "
		    "error=\"%s\"", (unsigned long long)conn->id, conn->reqid,
		    px_log_quote(err, sizeof(err), err));
		return PX_WAIVER_ERR;
	}
	conn->store_op = op;
	conn->waiver_v = v;
	conn->rec_state = conn->state;
	px_conn_set_state(conn, PX_CONN_RECORD);
	return PX_WAIVER_PENDING;
}

int
px_waiver_await(struct px_conn *conn, const struct pol_report *rep)
{
	struct pol_report	*cp;
	struct pol_reason	*why;
	char			*text;
	int			 r;

	conn->verdict = "deny";
	snprintf(conn->rule, sizeof(conn->rule), "approval.required");
	px_admin_rule(conn->ctx, conn->rule);
	if ((cp = malloc(sizeof(*cp))) == NULL)
		return px_conn_abort(conn, 500, "pubgate: out of memory");
	*cp = *rep;
	cp->verdict = POL_DENY;
	/* The approval's reason goes first; the report's notes follow. */
	if (cp->nreasons == POL_REASONS_MAX)
		cp->nreasons--;
	memmove(&cp->reasons[1], &cp->reasons[0],
	    cp->nreasons * sizeof(cp->reasons[0]));
	why = &cp->reasons[0];
	memset(why, 0, sizeof(*why));
	snprintf(why->rule, sizeof(why->rule), "approval.required");
	snprintf(why->text, sizeof(why->text), "rule %s says approval: "
	    "required: this tarball waits for a reviewer", rep->rule_match);
	snprintf(why->hint, sizeof(why->hint), "a reviewer who is not the "
	    "publisher runs pubgate approve %s --reason TEXT; then publish "
	    "the same tarball again", conn->reqid);
	why->offset = -1;
	cp->nreasons++;
	cp->nreasons_total++;
	if ((text = malloc(PX_RENDER_MAX)) != NULL)
		snprintf(text, PX_RENDER_MAX, "pubgate: %s@%s passed every "
		    "check and is awaiting approval, decision %s: a reviewer "
		    "who is not the publisher approves it with pubgate approve "
		    "%s; then publish the same tarball again", conn->pkg,
		    rep->version, conn->reqid, conn->reqid);
	else
		snprintf(conn->err_buf, sizeof(conn->err_buf), "pubgate: "
		    "awaiting approval");
	free(conn->rec_text);
	conn->rec_text = text;
	/*
	 * Recorded (committed) first, then the 403: px_spool_blocked() (the
	 * tarball waiting for a reviewer is kept in quarantine, when on).
	 */
	r = px_spool_record_then(conn, POL_DENY, 403, cp, px_spool_blocked);
	free(cp);
	return r;
}
