/*
 * proxy/admin/waivers.c: waivers on the admin listener (issue 10), for the
 * API and the console alike:
 *   GET  /-/pubgate/waivers[?active=1&id=N&limit=N]  the waivers as JSON;
 *   POST /-/pubgate/waivers         form decision=ID&reason=TEXT
 *                                   [&expires=7d][&once=1][&by=NAME]:
 *                                   201 and the waiver; 404 no such
 *                                   decision; 409 refused (why);
 *   POST /-/pubgate/waivers/revoke  form id=N&reason=TEXT[&by=NAME]: 200.
 * All need the admin token (Authorization: Bearer).  The reviewer is
 * `by` ("admin" if not given) and the admin token's fingerprint, so a
 * publisher whose npm token is the admin token cannot approve their own
 * publish.  The console (ui.c) reads its forms with px_admin_wform_read()
 * and acts through px_admin_wact().  Form bodies are urlencoded, held by
 * conn.c (bounded) and wiped when dropped.  The store is called with its
 * asynchronous waiver calls, as by the decisions query: the conn waits
 * in PX_CONN_RECORD, the loop goes on (a PostgreSQL gate's statements
 * run on its loop-driven connection); a store that is down answers 503.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "admin.h"
#include "cmd_log.h"
#include "cmd_waiver.h"
#include "log.h"
#include "proxy-int.h"
#include "store.h"

#define PX_WAIVER_DEFAULT_MS	(7LL * 86400 * 1000)

int
px_admin_wform_read(struct px_conn *conn, struct px_admin_wform *wf,
    char *err, size_t errlen)
{
	static const char *const keys[] = { "csrf", "decision", "reason",
	    "expires", "once", "by", "id" };
	const char	*p, *ct;
	char		 key[32], val[PX_ADMIN_ARG_MAX], *dst[7];
	size_t		 n, i, dlen[7];
	unsigned	 seen = 0;
	int		 r;

	memset(wf, 0, sizeof(*wf));
	dst[0] = wf->csrf, dlen[0] = sizeof(wf->csrf);
	dst[1] = wf->decision, dlen[1] = sizeof(wf->decision);
	dst[2] = wf->reason, dlen[2] = sizeof(wf->reason);
	dst[3] = wf->expires, dlen[3] = sizeof(wf->expires);
	dst[4] = wf->once, dlen[4] = sizeof(wf->once);
	dst[5] = wf->by, dlen[5] = sizeof(wf->by);
	dst[6] = wf->id, dlen[6] = sizeof(wf->id);
	if (conn->wbody == NULL || (n = evbuffer_get_length(conn->wbody)) == 0)
		return 0;
	if ((ct = px_http_head_get(&conn->req, "content-type", NULL)) == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		snprintf(err, errlen, "the body must be "
		    "application/x-www-form-urlencoded");
		return -1;
	}
	if ((p = (const char *)evbuffer_pullup(conn->wbody, -1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((r = px_admin_qnext(&p, &n, key, sizeof(key), val, sizeof(val),
	    err, errlen)) == 1) {
		for (i = 0; i < 7 && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == 7) {
			snprintf(err, errlen, "unknown field '%s' (known: "
			    "decision, reason, expires, once, by, id)", key);
			return -1;
		}
		if (seen & (1u << i)) {
			snprintf(err, errlen, "field '%s' given twice", key);
			return -1;
		}
		seen |= 1u << i;
		if (strlen(val) >= dlen[i]) {
			snprintf(err, errlen, "field '%s' is too long", key);
			return -1;
		}
		memcpy(dst[i], val, strlen(val) + 1);
	}
	return r == -1 ? -1 : 0;
}

/* actor() : the reviewer: by (or "admin") and the admin token's print. */
static void
actor(struct px_conn *conn, const char *by, struct px_store_actor *a,
    char who[17])
{
	const char	*tok = conn->ctx->admin_token;

	memset(a, 0, sizeof(*a));
	px_spool_who(tok, strlen(tok), who);
	a->by = by != NULL && by[0] != '\0' ? by : "admin";
	a->who = who;
	a->client = px_conn_client(conn);
}

/* An approval or revocation waiting for the store. */
struct wact {
	int		 revoke;
	px_admin_wdone	*done;
	char		 by[PX_STORE_BY_MAX + 1];
};

/* wact_log() : the outcome in the log (no reason, no token). */
static void
wact_log(struct px_conn *conn, const struct wact *wa, int rc,
    const struct px_store_waiver *w)
{
	if (rc == 0 && w != NULL)
		px_log_info("conn=%llu event=waiver-%s waiver=%lld by=%s "
		    "client=%s", (unsigned long long)conn->id, wa->revoke ?
		    "revoked" : "approved", (long long)w->id, wa->by,
		    px_conn_client(conn));
	else if (rc == -1)
		px_log_warnx("conn=%llu event=waiver-store-failed",
		    (unsigned long long)conn->id);
}

/* wact_cb() : the store's answer: back to the conn's state, then done. */
static void
wact_cb(void *arg, int rc, const struct px_store_waiver *w, const char *err)
{
	struct px_conn	*conn = arg;
	struct wact	*wa = conn->aq_arg;

	conn->store_op = NULL;
	conn->aq_arg = NULL;
	conn->aq_free = NULL;
	conn->aq_done = NULL;
	px_conn_set_state(conn, conn->rec_state);
	wact_log(conn, wa, rc, w);
	(void)wa->done(conn, wa->revoke, rc, w, err);
	free(wa);
}

int
px_admin_wact(struct px_conn *conn, const struct px_admin_wform *wf,
    int revoke, const char *by, const char *ua, px_admin_wdone *done)
{
	struct px_store_approve	 ap;
	struct px_store_actor	 a;
	struct px_store_op	*op;
	struct wact		*wa;
	char			 who[17], err[400];
	int64_t			 dur = PX_WAIVER_DEFAULT_MS, id = 0;
	int			 rc;

	if (conn->ctx->audit == NULL)
		return done(conn, revoke, -1, NULL, "no decision store");
	actor(conn, by, &a, who);
	a.user_agent = ua;
	/* The form first, then the reviewer, as the store would check. */
	if (revoke && px_waiver_cmd_parse_id(wf->id, &id) == -1) {
		snprintf(err, sizeof(err), "bad id '%.32s' (a waiver id)",
		    wf->id);
		return done(conn, revoke, PX_STORE_REFUSED, NULL, err);
	}
	if (!revoke && !px_waiver_cmd_decision_ok(wf->decision)) {
		snprintf(err, sizeof(err), "bad decision '%.40s' (like "
		    "1a2b3c4d-17)", wf->decision);
		return done(conn, revoke, PX_STORE_REFUSED, NULL, err);
	}
	if (!revoke && wf->expires[0] != '\0' &&
	    px_waiver_cmd_parse_expires(wf->expires, &dur) == -1) {
		snprintf(err, sizeof(err), "bad expires '%.32s' (30m, 2h, 7d; "
		    "at most 90d)", wf->expires);
		return done(conn, revoke, PX_STORE_REFUSED, NULL, err);
	}
	if (!revoke && wf->once[0] != '\0' && strcmp(wf->once, "1") != 0 &&
	    strcmp(wf->once, "0") != 0 && strcmp(wf->once, "true") != 0 &&
	    strcmp(wf->once, "false") != 0 && strcmp(wf->once, "on") != 0) {
		snprintf(err, sizeof(err), "bad once '%.8s' (1, 0, true, "
		    "false)", wf->once);
		return done(conn, revoke, PX_STORE_REFUSED, NULL, err);
	}
	if ((rc = px_store_actor_check(a.by, wf->reason, err, sizeof(err))) !=
	    0)
		return done(conn, revoke, rc, NULL, err);
	if ((wa = calloc(1, sizeof(*wa))) == NULL)
		return done(conn, revoke, -1, NULL, "out of memory");
	wa->revoke = revoke;
	wa->done = done;
	snprintf(wa->by, sizeof(wa->by), "%s", a.by);
	err[0] = '\0';
	if (revoke)
		op = px_store_waiver_revoke_async(conn->ctx->audit, id, &a,
		    wf->reason, 0, wact_cb, conn, err, sizeof(err));
	else {
		memset(&ap, 0, sizeof(ap));
		ap.decision = wf->decision;
		ap.reason = wf->reason;
		ap.now_ms = px_admin_wall_ms();
		ap.expires_ms = ap.now_ms + dur;
		ap.once = strcmp(wf->once, "1") == 0 ||
		    strcmp(wf->once, "true") == 0 || strcmp(wf->once, "on") == 0;
		ap.actor = a;
		ap.waivable = pol_reason_waivable;
		op = px_store_waiver_approve_async(conn->ctx->audit, &ap,
		    wact_cb, conn, err, sizeof(err));
	}
	if (op == NULL) {
		/* Refused at once: the store is down or busy. */
		wact_log(conn, wa, -1, NULL);
		free(wa);
		return done(conn, revoke, -1, NULL, err[0] != '\0' ? err :
		    "the decision store refused the operation");
	}
	conn->store_op = op;
	conn->aq_arg = wa;
	conn->aq_free = free;
	conn->aq_done = NULL;
	conn->rec_state = conn->state;
	px_conn_set_state(conn, PX_CONN_RECORD);
	return 0;
}

/* reply_json() : status and the JSON body (len bytes). */
static int
reply_json(struct px_conn *conn, int status, const char *body, size_t len)
{
	evbuffer_add_printf(bufferevent_get_output(conn->client),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: %s\r\n\r\n", status, px_http_reason(status), len,
	    conn->keepalive ? "keep-alive" : "close");
	if (conn->method != HTTP_HEAD)
		evbuffer_add(bufferevent_get_output(conn->client), body, len);
	conn->status = status;
	conn->bytes_out = len;
	conn->resp_head_sent = 1;
	return px_conn_resp_done(conn);
}

/* A list of waivers being written while the store answers. */
struct jl {
	FILE	*f;
	char	*body;
	size_t	 len;
	int	 n;
};

static int
jl_cb(const struct px_store_waiver *w, void *arg)
{
	struct jl	*j = arg;

	fputs(j->n++ == 0 ? "[\n" : ",\n", j->f);
	px_store_waiver_json(w, j->f);
	return 0;
}

static void
jl_free(void *arg)
{
	struct jl	*j = arg;

	if (j->f != NULL)
		fclose(j->f);
	free(j->body);
	free(j);
}

/* store_failed() : 503 when the store is down or busy, else 500. */
static int
store_failed(struct px_conn *conn, const char *err)
{
	char	 msg[500];

	snprintf(msg, sizeof(msg), "admin API: the decision store failed: %s",
	    err != NULL && err[0] != '\0' ? err : "unknown error");
	px_admin_json_error(conn, px_store_err_status(err), msg, NULL);
	return px_conn_resp_done(conn);
}

/* jl_done() : the list's answer.  -1 if the conn was freed. */
static int
jl_done(struct px_conn *conn, void *arg, int n, const char *err)
{
	struct jl	*j = arg;
	int		 ok;

	if (n >= 0)
		fputs(n == 0 ? "[]\n" : "\n]\n", j->f);
	ok = fclose(j->f) == 0;
	j->f = NULL;
	if (n == -1)
		return store_failed(conn, err);
	if (!ok) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	return reply_json(conn, 200, j->body, j->len);
}

/* list() : GET /-/pubgate/waivers?active=&id=&limit= */
static int
list(struct px_conn *conn, const char *q, size_t qlen)
{
	char		 key[32], val[PX_ADMIN_ARG_MAX], err[300], msg[400];
	struct jl	*j;
	int64_t		 id = 0, v;
	int		 active = 0, limit = 0, r;

	while ((r = px_admin_qnext(&q, &qlen, key, sizeof(key), val,
	    sizeof(val), err, sizeof(err))) == 1) {
		if (strcmp(key, "active") == 0 && (strcmp(val, "1") == 0 ||
		    strcmp(val, "true") == 0 || strcmp(val, "0") == 0 ||
		    strcmp(val, "false") == 0 || val[0] == '\0'))
			active = val[0] == '1' || val[0] == 't';
		else if (strcmp(key, "id") == 0 && (val[0] == '\0' ||
		    px_waiver_cmd_parse_id(val, &id) == 0))
			;
		else if (strcmp(key, "limit") == 0 && (val[0] == '\0' ||
		    (px_waiver_cmd_parse_id(val, &v) == 0 && v <= 10000)))
			limit = val[0] == '\0' ? 0 : (int)v;
		else {
			snprintf(err, sizeof(err), "%s parameter '%s' (known: "
			    "active, id, limit)", strcmp(key, "active") == 0 ||
			    strcmp(key, "id") == 0 || strcmp(key, "limit") ==
			    0 ? "bad value of" : "unknown", key);
			r = -1;
			break;
		}
	}
	if (r == -1) {
		snprintf(msg, sizeof(msg), "admin API: %s", err);
		px_admin_json_error(conn, 400, msg, NULL);
		return px_conn_resp_done(conn);
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->f = open_memstream(&j->body, &j->len)) == NULL) {
		free(j);
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	return px_admin_wlist(conn, id, active, limit, jl_cb, j, jl_free,
	    jl_done);
}

/* posted() : an approval's or revocation's answer.  -1 if freed. */
static int
posted(struct px_conn *conn, int revoke, int rc,
    const struct px_store_waiver *w, const char *err)
{
	char	 msg[500], *body = NULL;
	size_t	 blen = 0;
	FILE	*f;
	int	 status, r;

	switch (rc) {
	case 0:
		break;
	case PX_STORE_NOTFOUND:
	case PX_STORE_REFUSED:
		status = rc == PX_STORE_NOTFOUND ? 404 : revoke ? 400 : 409;
		if (rc == PX_STORE_REFUSED && (strncmp(err, "bad ", 4) == 0 ||
		    strncmp(err, "a reason", 8) == 0))
			status = 400;
		snprintf(msg, sizeof(msg), "admin API: %s", err);
		px_admin_json_error(conn, status, msg, NULL);
		return px_conn_resp_done(conn);
	default:
		return store_failed(conn, err);
	}
	if (w == NULL || (f = open_memstream(&body, &blen)) == NULL) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	px_store_waiver_json(w, f);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(body);
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	r = reply_json(conn, revoke ? 200 : 201, body, blen);
	free(body);
	return r;
}

int
px_admin_waivers_answer(struct px_conn *conn, int revoke, const char *q,
    size_t qlen)
{
	struct px_admin_wform	 wf;
	char			 err[400], msg[500];

	err[0] = '\0';
	if (!px_admin_authorized(conn)) {
		px_admin_json_error(conn, 401, "admin API: bearer token "
		    "required (Authorization: Bearer <admin.token_file>)",
		    "WWW-Authenticate: Bearer realm=\"pubgate admin\"\r\n");
		return px_conn_resp_done(conn);
	}
	if (!revoke && (conn->method == HTTP_GET ||
	    conn->method == HTTP_HEAD))
		return list(conn, q, q != NULL ? qlen : 0);
	if (conn->method != HTTP_POST) {
		px_admin_json_error(conn, 405, "admin API: waivers: GET lists, "
		    "POST approves", revoke ? "Allow: POST\r\n" :
		    "Allow: GET, HEAD, POST\r\n");
		return px_conn_resp_done(conn);
	}
	if (q != NULL && qlen > 0) {
		px_admin_json_error(conn, 400, "admin API: a POST takes its "
		    "fields in the body, not the query string", NULL);
		return px_conn_resp_done(conn);
	}
	if (px_admin_wform_read(conn, &wf, err, sizeof(err)) == 0 &&
	    wf.csrf[0] != '\0')
		snprintf(err, sizeof(err), "unknown field 'csrf' (the API "
		    "takes the bearer token, not the console's form)");
	else if (err[0] == '\0')
		goto read;
	{
		snprintf(msg, sizeof(msg), "admin API: %s", err);
		px_admin_json_error(conn, 400, msg, NULL);
		return px_conn_resp_done(conn);
	}
read:
	if (wf.by[0] != '\0' && !px_store_name_ok(wf.by)) {
		px_admin_json_error(conn, 400, "admin API: bad by (1 to 64 of "
		    "A-Z a-z 0-9 . _ @ + -)", NULL);
		return px_conn_resp_done(conn);
	}
	return px_admin_wact(conn, &wf, revoke, wf.by, "admin API", posted);
}
