/*
 * proxy/gate/spool.c: the publish gate.
 *
 * A publish (PUT /<name>, POST /-/stage/package/<name>) takes a reference
 * to the policy current when its head arrived, so a reload never changes
 * the rules of a request in flight.  Its body goes, chunk by chunk, both
 * to a spool file (mkstemp in spool_dir, unlinked at once: bounded
 * memory, gone when closed) and to pol_publish_feed().  When the body is
 * complete (or the engine has already decided), the verdict is recorded
 * (px_store_write_async(): the conn waits in PX_CONN_RECORD, the loop
 * goes on, and the step after the record runs once the store answers
 * that it is committed) before anything else happens:
 *   deny  -> 403 {"error": pol_report_render()} (413 over a limit, 400 for
 *            a malformed body); the upstream never sees a byte;
 *   allow -> the upstream connection is made, the record written, then
 *            the exact spooled bytes are replayed (same method, path and
 *            headers, Content-Length of the spool) and the upstream's
 *            answer is relayed unchanged by fwd.c.
 * A record that cannot be committed (the store is down, or the commit
 * was not confirmed) is a 503 and nothing is forwarded.  A
 * PUT whose body carries no tarball and draws no reason (deprecate, an
 * edit of the packument) is an ordinary write: recorded and forwarded.
 * Nothing is forwarded that was not fully inspected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "store.h"
#include "log.h"
#include "proxy-int.h"

/* A record waiting for the npm user name (whoami.c). */
struct px_wm_defer {
	enum pol_verdict	 verdict;
	int			 status;
	struct pol_report	*rep;		/* a copy, or NULL */
	px_spool_next		*next;
	enum px_conn_state	 state;		/* the conn's before waiting */
};

static void
wm_defer_free(struct px_conn *conn)
{
	if (conn->wm_defer == NULL)
		return;
	free(conn->wm_defer->rep);
	free(conn->wm_defer);
	conn->wm_defer = NULL;
}

void
px_spool_reset(struct px_conn *conn)
{
	if (conn->spool_fd != -1) {
		close(conn->spool_fd);
		conn->spool_fd = -1;
	}
	free(conn->spool_buf);
	conn->spool_buf = NULL;
	conn->spool_buflen = 0;
	px_prev_free(conn->prev);
	conn->prev = NULL;
	pol_publish_free(conn->stream);
	conn->stream = NULL;
	pol_policy_unref(conn->policy);
	conn->policy = NULL;
	conn->spool_len = conn->spool_off = 0;
	conn->pst = POL_CONTINUE;
	conn->replay_started = 0;
	conn->audit_id = 0;
	/* A record still pending: committed or not, nobody waits for it. */
	px_store_op_cancel(conn->store_op);
	conn->store_op = NULL;
	conn->rec_next = NULL;
	free(conn->rec_text);
	conn->rec_text = NULL;
	px_record_files_free(conn);
	px_quar_drop(conn);
	px_whoami_cancel(conn);
	wm_defer_free(conn);
}

void
px_spool_who(const char *auth, size_t len, char out[17])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	out[0] = '\0';
	if (len > 7 && strncasecmp(auth, "bearer ", 7) == 0) {
		auth += 7;
		len -= 7;
	}
	while (len > 0 && *auth == ' ') {
		auth++;
		len--;
	}
	if (len == 0 || EVP_Digest(auth, len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < 8)
		return;
	px_hex(md, 8, out);
	explicit_bzero(md, sizeof(md));
}

/*
 * header_copy() : a header value as it was sent, cut to len - 1 bytes,
 * for the decision record (store.c escapes it for JSON; never put it in
 * a log line without px_log_quote()).
 */
static const char *
header_copy(struct px_conn *conn, const char *name, char *buf, size_t len)
{
	const char	*v;
	size_t		 n;

	buf[0] = '\0';
	if ((v = px_http_head_get(&conn->req, name, &n)) == NULL)
		return buf;
	if (n >= len)
		n = len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

/*
 * spool_recorded() : the store answered for conn's pending record: back
 * to the state it waited in, then the step that follows.
 */
static void
spool_recorded(void *arg, int rc, int64_t id)
{
	struct px_conn	*conn = arg;
	px_spool_next	*next = conn->rec_next;

	conn->store_op = NULL;
	conn->rec_next = NULL;
	if (rc == 0 && conn->rec_status == 0)
		conn->audit_id = id;
	if (rc == 0 && conn->rec_alerts)
		px_hook_wake(conn->ctx);
	if (rc == -1)
		px_log_warnx("conn=%llu req=%s event=audit-write-failed "
		    "error=\"not committed\"", (unsigned long long)conn->id,
		    conn->reqid);
	px_conn_set_state(conn, conn->rec_state);
	(void)next(conn, rc);
}

int
px_spool_record(struct px_conn *conn, enum pol_verdict verdict, int status,
    const struct pol_report *rep, px_spool_next *next)
{
	struct px_store_rec	 rec;
	struct px_store_op	*op;
	struct px_record_bufs	 rb;
	struct timeval		 tv;
	char			 cmd[64], ua[256];

	conn->audit_id = 0;
	conn->rec_status = status;
	if (conn->ctx->audit == NULL)
		return 1;	/* no store configured (unit tests) */
	if (conn->wm != NULL && next != NULL && conn->wm_defer == NULL) {
		/*
		 * The npm user name is being looked up: the record waits for
		 * it (at most whoami.timeout from the lookup's start), as if
		 * the store were committing it.
		 */
		struct px_wm_defer	*d;

		if ((d = calloc(1, sizeof(*d))) == NULL ||
		    (rep != NULL && (d->rep = malloc(sizeof(*rep))) == NULL)) {
			free(d);
			goto write;
		}
		if (rep != NULL)
			memcpy(d->rep, rep, sizeof(*rep));
		d->verdict = verdict;
		d->status = status;
		d->next = next;
		d->state = conn->state;
		conn->wm_defer = d;
		px_conn_set_state(conn, PX_CONN_RECORD);
		return 0;
	}
write:
	gettimeofday(&tv, NULL);
	memset(&rec, 0, sizeof(rec));
	rec.time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	rec.request_id = conn->reqid;
	rec.client = px_conn_client(conn);
	rec.who = conn->who;
	rec.npm_command = header_copy(conn, "npm-command", cmd, sizeof(cmd));
	rec.user_agent = header_copy(conn, "user-agent", ua, sizeof(ua));
	rec.kind = conn->kind;
	rec.package = conn->pkg;
	rec.verdict = verdict;
	rec.status = status;
	rec.report = rep;
	px_record_fill(conn, &rec, &rb);
	conn->rec_alerts = rec.outbox[0] != '\0';
	op = px_store_write_async(conn->ctx->audit, &rec, next != NULL ?
	    spool_recorded : NULL, conn);
	if (op == NULL) {
		px_log_warnx("conn=%llu req=%s event=audit-write-failed "
		    "error=\"store unavailable\"", (unsigned long long)conn->id,
		    conn->reqid);
		return -1;
	}
	if (next == NULL)
		return 0;
	conn->store_op = op;
	conn->rec_next = next;
	conn->rec_state = conn->state;
	px_conn_set_state(conn, PX_CONN_RECORD);
	return 0;
}

void
px_spool_whoami_done(struct px_conn *conn)
{
	struct px_wm_defer	*d = conn->wm_defer;
	px_spool_next		*next;
	int			 r;

	if (d == NULL)
		return;
	conn->wm_defer = NULL;
	if (conn->state != PX_CONN_RECORD) {
		/*
		 * The conn was answered meanwhile (the upstream failed, say):
		 * the decision is still recorded; nobody waits for it.
		 */
		(void)px_spool_record(conn, d->verdict, d->status, d->rep, NULL);
		free(d->rep);
		free(d);
		return;
	}
	px_conn_set_state(conn, d->state);
	next = d->next;
	r = px_spool_record(conn, d->verdict, d->status, d->rep, next);
	free(d->rep);
	free(d);
	if (r == 1)
		(void)next(conn, 0);
	else if (r == -1)
		(void)next(conn, -1);
}

int
px_spool_record_reason(struct px_conn *conn, int status,
    const struct pol_reason *why, px_spool_next *next)
{
	struct pol_report	*rep;
	int			 r;

	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return -1;
	rep->verdict = POL_DENY;
	rep->status = POL_DONE;
	snprintf(rep->name, sizeof(rep->name), "%s", conn->pkg);
	rep->reasons[0] = *why;
	rep->nreasons = rep->nreasons_total = 1;
	r = px_spool_record(conn, POL_DENY, status, rep, next);
	free(rep);
	return r;
}

/*
 * px_spool_record_then() : px_spool_record(), then next at once when nothing is
 * pending (no store: 0; refused: -1).  -1 if the conn was freed.
 */
int
px_spool_record_then(struct px_conn *conn, enum pol_verdict verdict, int status,
    const struct pol_report *rep, px_spool_next *next)
{
	switch (px_spool_record(conn, verdict, status, rep, next)) {
	case 1:
		return next(conn, 0);
	case -1:
		return next(conn, -1);
	default:
		return 0;
	}
}

void
px_spool_status(struct px_conn *conn, int status)
{
	int64_t	 id = conn->audit_id;

	conn->audit_id = 0;
	if (id <= 0 || status <= 0 || conn->ctx->audit == NULL)
		return;
	/* The decision itself is committed already; only its outcome is late. */
	px_store_set_status_async(conn->ctx->audit, id, status);
}

/* spool_fail() : an error before the verdict, answered by conn.c. */
static int
spool_fail(struct px_conn *conn, int status, const char *text)
{
	conn->err_status = status;
	conn->err_text = text;
	return -1;
}

int
px_spool_begin(struct px_conn *conn)
{
	struct px_ctx		*ctx = conn->ctx;
	struct pol_stream_opts	 opts;
	char			 path[PATH_MAX];

	px_spool_reset(conn);
	conn->policy = pol_policy_ref(ctx->policy);
	memset(&opts, 0, sizeof(opts));
	opts.input = POL_INPUT_BODY;
	opts.url_name = conn->pkg;
	opts.previous = 1;	/* diff: prev.c fetches the previous version */
	if (px_record_files_begin(conn) == -1)
		return spool_fail(conn, 500, "pubgate: out of memory");
	opts.on_file = px_record_on_file;
	opts.file_arg = conn;
	/* quarantine: a tee of the tarball; never a reason to refuse. */
	if (px_quar_begin(conn) == -1)
		px_log_warnx("conn=%llu req=%s event=quarantine-failed "
		    "what=begin error=\"out of memory\"",
		    (unsigned long long)conn->id, conn->reqid);
	if (conn->quar != NULL) {
		opts.on_tarball = px_quar_tee;
		opts.tarball_arg = conn;
	}
	if ((conn->stream = pol_publish_new(conn->policy, &opts)) == NULL)
		return spool_fail(conn, 500, "pubgate: out of memory");
	if (snprintf(path, sizeof(path), "%s/pubgate-spool-XXXXXX",
	    ctx->cfg->spool_dir) >= (int)sizeof(path))
		return spool_fail(conn, 503, "pubgate: spool path too long");
	if ((conn->spool_fd = mkstemp(path)) == -1) {
		px_log_warn("conn=%llu req=%s event=spool-open-failed dir=%s",
		    (unsigned long long)conn->id, conn->reqid,
		    ctx->cfg->spool_dir);
		return spool_fail(conn, 503, "pubgate: cannot spool the "
		    "publish; nothing was forwarded");
	}
	unlink(path);
	if ((conn->spool_buf = malloc(PX_SPOOL_BUF)) == NULL)
		return spool_fail(conn, 500, "pubgate: out of memory");
	conn->spool_buflen = 0;
	return 0;
}

/* spool_write() : writes n bytes to the spool file; 0 or -1 (logged). */
static int
spool_write(struct px_conn *conn, const char *p, size_t n)
{
	ssize_t	 w;
	size_t	 off = 0;

	while (off < n) {
		w = write(conn->spool_fd, p + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			px_log_warn("conn=%llu req=%s event=spool-write-failed",
			    (unsigned long long)conn->id, conn->reqid);
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* spool_flush() : writes out what spool_buf holds; 0 or -1. */
static int
spool_flush(struct px_conn *conn)
{
	size_t	 n = conn->spool_buflen;

	conn->spool_buflen = 0;
	if (n == 0)
		return 0;
	return spool_write(conn, conn->spool_buf, n);
}

/*
 * px_spool_body() : the body goes to the policy stream at once (the
 * inspection keeps pace with the upload) and to the spool file in writes
 * of up to PX_SPOOL_BUF; px_spool_end() flushes the rest before the
 * verdict is acted on.
 */
int
px_spool_body(struct px_conn *conn, const char *p, size_t n)
{
	if (conn->pst != POL_CONTINUE)
		return -1;
	if (conn->spool_buflen + n > PX_SPOOL_BUF && spool_flush(conn) == -1)
		goto fail;
	if (n >= PX_SPOOL_BUF) {
		if (spool_write(conn, p, n) == -1)
			goto fail;
	} else {
		memcpy(conn->spool_buf + conn->spool_buflen, p, n);
		conn->spool_buflen += n;
	}
	conn->spool_len += n;
	conn->pst = pol_publish_feed(conn->stream, p, n);
	return conn->pst == POL_CONTINUE ? 0 : -1;
fail:
	return spool_fail(conn, 503, "pubgate: cannot spool the publish; "
	    "nothing was forwarded");
}

/* deny_status() : the HTTP status of a denied publish. */
static int
deny_status(enum pol_status st)
{
	switch (st) {
	case POL_ERR_LIMIT:
		return 413;
	case POL_ERR_SYNTAX:
		return 400;
	case POL_ERR_INTERNAL:
		return 500;
	default:
		return 403;
	}
}

/*
 * px_spool_refused() : a refusal's record is committed (rc 0): the refusal
 * (conn->rec_text, or err_buf when NULL) with rec_status; else 503.
 * -1 if the conn was freed.
 */
int
px_spool_refused(struct px_conn *conn, int rc)
{
	char	*text = conn->rec_text;
	int	 status = conn->rec_status, r;

	conn->rec_text = NULL;
	if (rc == -1) {
		free(text);
		return px_conn_abort(conn, 503, PX_TEXT_NOT_RECORDED);
	}
	if (text == NULL)
		text = conn->err_buf;
	if (!conn->msg_done || !conn->keepalive)
		r = px_conn_abort(conn, status, text);
	else {
		conn->status = status;
		conn->resp_head_sent = 1;
		px_http_error(bufferevent_get_output(conn->client), status,
		    text, 1);
		r = px_conn_resp_done(conn);
	}
	if (text != conn->err_buf)
		free(text);
	return r;
}

/*
 * px_spool_blocked() : px_spool_refused() for a refused publish that may
 * carry a tarball: once its record is committed (rc 0) the tarball is
 * kept in quarantine (when on), before the answer; else the part goes.
 */
int
px_spool_blocked(struct px_conn *conn, int rc)
{
	if (rc == 0 && conn->quar != NULL)
		px_quar_keep(conn, conn->stream != NULL ?
		    pol_publish_report(conn->stream) : NULL);
	else
		px_quar_drop(conn);
	return px_spool_refused(conn, rc);
}

/*
 * write_denied() : a packument write the policy refuses (err_buf holds
 * the text): recorded, then 403.  -1 if the conn was freed.
 */
static int
write_denied(struct px_conn *conn, const struct pol_report *rep)
{
	conn->verdict = "deny";
	px_conn_note_decision(conn, conn->err_buf, sizeof(conn->err_buf));
	return px_spool_record_then(conn, POL_DENY, 403, rep, px_spool_refused);
}

int
px_spool_end(struct px_conn *conn)
{
	const struct pol_report	*rep = NULL;
	enum pol_verdict	 v;
	int			 early = !conn->msg_done;

	if (conn->stream == NULL)
		return px_conn_abort(conn, 500, "pubgate: no inspection");
	if (!early) {
		bufferevent_disable(conn->client, EV_READ);
		/* The spool holds every byte before anything is decided. */
		if (spool_flush(conn) == -1)
			return px_conn_abort(conn, 503, "pubgate: cannot spool "
			    "the publish; nothing was forwarded");
		v = pol_publish_end(conn->stream, &rep);
	} else {
		rep = pol_publish_report(conn->stream);
		v = POL_DENY;
	}
	if (v == POL_PENDING)	/* diff: the previous version first */
		return px_prev_start(conn);
	return px_spool_verdict(conn, v, rep, early);
}

int
px_spool_verdict(struct px_conn *conn, enum pol_verdict v,
    const struct pol_report *rep, int early)
{
	enum pol_status		 st;
	enum px_waiver_res	 res;

	st = conn->pst != POL_CONTINUE ? conn->pst : rep->status;
	px_admin_observe(conn->ctx, px_now_ms() - conn->t_start_ms);
	if (rep->nreasons > 0)
		snprintf(conn->rule, sizeof(conn->rule), "%s",
		    rep->reasons[0].rule);
	if (!early && conn->route == PX_ROUTE_PUBLISH &&
	    rep->tarball_bytes == 0 && rep->nreasons == 0 &&
	    rep->nreasons_total == 0 && st != POL_ERR_LIMIT &&
	    st != POL_ERR_SYNTAX && st != POL_ERR_INTERNAL) {
		/* No tarball: a packument edit such as deprecate. */
		struct pol_reason	 why;

		conn->kind = strcmp(conn->kind, "publish-rev") == 0 ?
		    "unpublish" : "deprecate";
		v = pol_check_write(conn->policy, conn->pkg, conn->kind, &why);
		if (v != POL_ALLOW) {
			snprintf(conn->rule, sizeof(conn->rule), "%s",
			    why.rule);
			snprintf(conn->err_buf, sizeof(conn->err_buf),
			    "pubgate: %s (rule %s)\nfix: %s", why.text,
			    why.rule, why.hint);
			return write_denied(conn, rep);
		}
	}
	if (strcmp(conn->kind, "publish-rev") == 0)
		conn->kind = "publish";
	/* A reviewer's waiver, or approval: required (waiver.c). */
	res = px_waiver_gate(conn, rep, v);
	if (res == PX_WAIVER_PENDING)
		return 0;
	return px_spool_waived(conn, res, v, rep);
}

int
px_spool_waived(struct px_conn *conn, enum px_waiver_res res,
    enum pol_verdict v, const struct pol_report *rep)
{
	enum pol_status		 st;
	char			*text;
	int			 status;

	st = conn->pst != POL_CONTINUE ? conn->pst : rep->status;
	switch (res) {
	case PX_WAIVER_ALLOW:
		v = POL_ALLOW;
		break;
	case PX_WAIVER_AWAIT:
		return px_waiver_await(conn, rep);
	case PX_WAIVER_ERR:
		return px_conn_abort(conn, 503, "pubgate: the decision store "
		    "failed; nothing was forwarded");
	default:
		break;
	}
	if (v == POL_ALLOW) {
		px_quar_drop(conn);	/* only refused tarballs are kept */
		conn->verdict = "allow";
		conn->ctx->npublish_allow++;
		PX_MADD(conn->ctx->m->publishes[0], 1);
		px_conn_set_state(conn, PX_CONN_REPLAY);
		conn->replay_started = 0;
		if (px_fwd_connect(conn) == -1) {
			px_spool_up_failed(conn, 502, "pubgate: cannot reach "
			    "the upstream registry; the publish was not "
			    "forwarded");
			return 0;
		}
		if (conn->up_connected)
			return px_spool_connected(conn);
		return 0;
	}

	conn->verdict = "deny";
	conn->ctx->npublish_deny++;
	PX_MADD(conn->ctx->m->publishes[1], 1);
	px_admin_rule(conn->ctx, conn->rule[0] ? conn->rule :
	    pol_status_str(st));
	status = deny_status(st);
	if ((text = malloc(PX_RENDER_MAX)) != NULL) {
		pol_report_render(rep, text, PX_RENDER_MAX - 160); /* + id */
		if (text[0] == '\0')
			snprintf(text, PX_RENDER_MAX, "pubgate: publish of %s "
			    "refused (%s)", conn->pkg, pol_status_str(st));
		px_conn_note_decision(conn, text, PX_RENDER_MAX);
	} else
		snprintf(conn->err_buf, sizeof(conn->err_buf), "pubgate: "
		    "publish refused");
	free(conn->rec_text);
	conn->rec_text = text;
	return px_spool_record_then(conn, POL_DENY, status, rep,
	    px_spool_blocked);
}

/*
 * replay_go() : the allowed publish is committed (rc 0): its warnings,
 * the request head and the spooled body go upstream.  -1 if freed.
 */
static int
replay_go(struct px_conn *conn, int rc)
{
	const struct pol_report	*rep;

	if (rc == -1)
		return px_conn_abort(conn, 503, PX_TEXT_NOT_RECORDED);
	rep = conn->stream != NULL ? pol_publish_report(conn->stream) : NULL;
	/* Warnings, or what monitor mode let through: npm prints them. */
	if (rep != NULL && rep->nreasons > 0 && conn->notice == NULL &&
	    (conn->notice = malloc(PX_NOTICE_MAX)) != NULL) {
		pol_report_notice(rep, conn->notice, PX_NOTICE_MAX - 80);
		px_conn_note_decision(conn, conn->notice, PX_NOTICE_MAX);
		/* One header line: the decision note's newline too. */
		for (char *c = conn->notice; *c != '\0'; c++)
			if (*c == '\n')
				*c = ' ';
		px_log_info("conn=%llu req=%s event=publish-allowed-with-"
		    "reasons monitor=%d warnings=%zu",
		    (unsigned long long)conn->id, conn->reqid, rep->monitor,
		    rep->nwarn);
	}
	if (px_fwd_request_head(conn, 0, conn->spool_len) == -1)
		return px_conn_abort(conn, 500, "pubgate: out of memory");
	conn->spool_off = 0;
	return px_spool_pump(conn);
}

int
px_spool_connected(struct px_conn *conn)
{
	const struct pol_report	*rep;

	conn->replay_started = 1;
	rep = conn->stream != NULL ? pol_publish_report(conn->stream) : NULL;
	return px_spool_record_then(conn, POL_ALLOW, 0, rep, replay_go);
}

int
px_spool_pump(struct px_conn *conn)
{
	struct evbuffer		*out;
	struct evbuffer_iovec	 v;
	size_t			 n;
	ssize_t			 r;

	if (conn->up == NULL || !conn->replay_started ||
	    conn->state == PX_CONN_RECORD)
		return 0;	/* not yet: the record is being committed */
	out = bufferevent_get_output(conn->up);
	while (conn->spool_off < conn->spool_len &&
	    evbuffer_get_length(out) < PX_HIGH_WATER) {
		n = PX_SPOOL_CHUNK;
		if (conn->spool_len - conn->spool_off < n)
			n = (size_t)(conn->spool_len - conn->spool_off);
		if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
			return px_conn_abort(conn, 500,
			    "pubgate: out of memory");
		if (v.iov_len > n)
			v.iov_len = n;
		r = pread(conn->spool_fd, v.iov_base, v.iov_len,
		    (off_t)conn->spool_off);
		if (r <= 0) {
			px_log_warn("conn=%llu req=%s event=spool-read-failed",
			    (unsigned long long)conn->id, conn->reqid);
			return px_conn_abort(conn, 500, "pubgate: spool read "
			    "failed");
		}
		v.iov_len = (size_t)r;
		evbuffer_commit_space(out, &v, 1);
		conn->spool_off += (uint64_t)r;
	}
	if (conn->spool_off == conn->spool_len &&
	    conn->state == PX_CONN_REPLAY) {
		px_conn_set_state(conn, PX_CONN_RESPONSE);
		if (conn->resp_done)
			return px_conn_resp_done(conn);
	}
	return 0;
}

void
px_spool_up_failed(struct px_conn *conn, int status, const char *text)
{
	const struct pol_report	*rep;

	if (!conn->replay_started) {
		/* Never reached the registry: not recorded as allowed. */
		rep = conn->stream != NULL ? pol_publish_report(conn->stream) :
		    NULL;
		(void)px_spool_record(conn, POL_DENY, status, rep, NULL);
		conn->verdict = "deny";
		snprintf(conn->rule, sizeof(conn->rule), "upstream");
	} else
		px_spool_status(conn, status);	/* what the client gets */
	px_conn_abort(conn, status, text);
}
