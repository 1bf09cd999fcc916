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
 * conn.c (bounded) and wiped when dropped.  The store is called
 * synchronously, as by the decisions query.
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

int
px_admin_wact(struct px_conn *conn, const struct px_admin_wform *wf,
    int revoke, const char *by, const char *ua, int64_t *id, char *err,
    size_t errlen)
{
	struct px_store_approve	 ap;
	struct px_store_actor	 a;
	char			 who[17];
	int64_t			 dur = PX_WAIVER_DEFAULT_MS;
	int			 rc;

	if (conn->ctx->audit == NULL) {
		snprintf(err, errlen, "no decision store");
		return -1;
	}
	actor(conn, by, &a, who);
	a.user_agent = ua;
	if (revoke) {
		if (px_waiver_cmd_parse_id(wf->id, id) == -1) {
			snprintf(err, errlen, "bad id '%.32s' (a waiver id)",
			    wf->id);
			return PX_STORE_REFUSED;
		}
		rc = px_store_waiver_revoke(conn->ctx->audit, *id, &a,
		    wf->reason, 0, err, errlen);
	} else {
		if (!px_waiver_cmd_decision_ok(wf->decision)) {
			snprintf(err, errlen, "bad decision '%.40s' (like "
			    "1a2b3c4d-17)", wf->decision);
			return PX_STORE_REFUSED;
		}
		if (wf->expires[0] != '\0' &&
		    px_waiver_cmd_parse_expires(wf->expires, &dur) == -1) {
			snprintf(err, errlen, "bad expires '%.32s' (30m, 2h, "
			    "7d; at most 90d)", wf->expires);
			return PX_STORE_REFUSED;
		}
		if (wf->once[0] != '\0' && strcmp(wf->once, "1") != 0 &&
		    strcmp(wf->once, "0") != 0 && strcmp(wf->once, "true") !=
		    0 && strcmp(wf->once, "false") != 0 &&
		    strcmp(wf->once, "on") != 0) {
			snprintf(err, errlen, "bad once '%.8s' (1, 0, true, "
			    "false)", wf->once);
			return PX_STORE_REFUSED;
		}
		memset(&ap, 0, sizeof(ap));
		ap.decision = wf->decision;
		ap.reason = wf->reason;
		ap.now_ms = px_admin_wall_ms();
		ap.expires_ms = ap.now_ms + dur;
		ap.once = strcmp(wf->once, "1") == 0 ||
		    strcmp(wf->once, "true") == 0 || strcmp(wf->once, "on") == 0;
		ap.actor = a;
		ap.waivable = pol_reason_waivable;
		rc = px_store_waiver_approve(conn->ctx->audit, &ap, id, err,
		    errlen);
	}
	if (rc == 0)
		px_log_info("conn=%llu event=waiver-%s waiver=%lld by=%s "
		    "client=%s", (unsigned long long)conn->id, revoke ?
		    "revoked" : "approved", (long long)*id, a.by, a.client);
	else if (rc == -1)
		px_log_warnx("conn=%llu event=waiver-store-failed",
		    (unsigned long long)conn->id);
	return rc;
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

struct jl {
	FILE	*f;
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

static int
j1_cb(const struct px_store_waiver *w, void *arg)
{
	px_store_waiver_json(w, arg);
	fputc('\n', arg);
	return 1;
}

/* list() : GET /-/pubgate/waivers?active=&id=&limit= */
static int
list(struct px_conn *conn, const char *q, size_t qlen)
{
	char		 key[32], val[PX_ADMIN_ARG_MAX], err[300], msg[400];
	char		*body = NULL;
	size_t		 blen = 0;
	struct jl	 j;
	int64_t		 id = 0, v;
	int		 active = 0, limit = 0, r, n;

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
	if ((j.f = open_memstream(&body, &blen)) == NULL) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	j.n = 0;
	n = conn->ctx->audit == NULL ? -1 : px_store_waivers(conn->ctx->audit,
	    id, active, limit, jl_cb, &j, err, sizeof(err));
	if (n >= 0)
		fputs(n == 0 ? "[]\n" : "\n]\n", j.f);
	fclose(j.f);
	if (n == -1) {
		free(body);
		snprintf(msg, sizeof(msg), "admin API: the decision store "
		    "failed: %s", conn->ctx->audit == NULL ? "no store" : err);
		px_admin_json_error(conn, 500, msg, NULL);
		return px_conn_resp_done(conn);
	}
	r = reply_json(conn, 200, body, blen);
	free(body);
	return r;
}

int
px_admin_waivers_answer(struct px_conn *conn, int revoke, const char *q,
    size_t qlen)
{
	struct px_admin_wform	 wf;
	char			 err[400], msg[500], *body = NULL;
	size_t			 blen = 0;
	FILE			*f;
	int64_t			 id = 0;
	int			 rc, status;

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
	rc = px_admin_wact(conn, &wf, revoke, wf.by, "admin API", &id, err,
	    sizeof(err));
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
		snprintf(msg, sizeof(msg), "admin API: the decision store "
		    "failed: %s", err);
		px_admin_json_error(conn, 500, msg, NULL);
		return px_conn_resp_done(conn);
	}
	if ((f = open_memstream(&body, &blen)) == NULL) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	rc = px_store_waivers(conn->ctx->audit, id, 0, 1, j1_cb, f, err,
	    sizeof(err));
	fclose(f);
	rc = reply_json(conn, rc == 1 ? (revoke ? 200 : 201) : 500, body,
	    blen);
	free(body);
	return rc;
}
