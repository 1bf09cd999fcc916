/*
 * proxy/core/conn.c: one client connection, from accept to close.
 *
 * A struct px_conn owns the client bufferevent (plain or TLS), the
 * upstream bufferevent (fwd.c), both llhttp parsers, the copied request
 * and response heads, the spool and policy stream of a publish (spool.c)
 * and the policy reference it started with.  px_conn_close() is the only
 * function that frees one.  Callbacks run deferred (BEV_OPT_DEFER_
 * CALLBACKS); every function that may free the conn says so and returns
 * -1, and its callers return at once.
 *
 * Request side: client input is fed to llhttp in steps of PX_FEED_CHUNK
 * while the upstream's output is under PX_HIGH_WATER (else client reads
 * stop until the upstream drains to half).  The head is routed in
 * on_headers_complete: reads and other writes stream to the upstream,
 * publishes go to the spool.  on_message_complete pauses the parser, so a
 * pipelined next request waits until this response is done (requests are
 * served one at a time per connection, in order).
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "log.h"
#include "proxy-int.h"
#include "store.h"

/* err_status: a publish was decided before its body ended. */
#define PX_ERR_DECIDED	(-2)

static const char *const state_names[] = {
	"idle", "head", "body", "spool", "replay", "response", "linger",
	"record",
};

uint64_t
px_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
px_conn_set_state(struct px_conn *conn, enum px_conn_state s)
{
	if (conn->state != s)
		px_log_debug("conn=%llu state=%s->%s",
		    (unsigned long long)conn->id, state_names[conn->state],
		    state_names[s]);
	conn->state = s;
}

/* set_timeouts() : read/write timeouts of a bev, in ms (0: none). */
static void
set_timeouts(struct bufferevent *bev, unsigned rd_ms, unsigned wr_ms)
{
	struct timeval	 r, w;

	r.tv_sec = rd_ms / 1000;
	r.tv_usec = (rd_ms % 1000) * 1000;
	w.tv_sec = wr_ms / 1000;
	w.tv_usec = (wr_ms % 1000) * 1000;
	bufferevent_set_timeouts(bev, rd_ms ? &r : NULL, wr_ms ? &w : NULL);
}

/* path_len() : the length of the path part of a request target. */
static size_t
path_len(const char *url, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (url[i] == '?' || url[i] == '#')
			break;
	return i;
}

/*
 * wbody_free() : drops a held write body, wiped first (a login or token
 * body holds a password).
 */
static void
wbody_free(struct px_conn *conn)
{
	unsigned char	*p;
	size_t		 n;

	if (conn->wbody == NULL)
		return;
	n = evbuffer_get_length(conn->wbody);
	if (n > 0 && (p = evbuffer_pullup(conn->wbody, -1)) != NULL)
		explicit_bzero(p, n);
	evbuffer_free(conn->wbody);
	conn->wbody = NULL;
}

/* ---------------------------------------------------------- deadlines */

static void
arm(struct px_conn *conn, unsigned ms, int body)
{
	struct timeval	 tv;

	if (conn->ev_deadline == NULL)
		return;
	conn->deadline_body = body;
	if (ms == 0) {
		evtimer_del(conn->ev_deadline);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(conn->ev_deadline, &tv);
}

/*
 * deadline_cb() : the request head was not complete header_ms after its
 * first byte (or after accept), or a publish or write body sent less
 * than body_min_rate bytes a second over the last window.  Each byte no
 * longer buys more time, as it does for the read timeout.
 */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_conn	*conn = arg;
	struct px_ctx	*ctx = conn->ctx;
	uint64_t	 got;

	(void)fd;
	(void)what;
	if (conn->state == PX_CONN_LINGER || conn->in_drive)
		return;
	if (!conn->deadline_body) {
		PX_MADD(ctx->m->head_timeouts, 1);
		px_log_info("conn=%llu event=head-deadline client=%s state=%s",
		    (unsigned long long)conn->id, conn->peer,
		    state_names[conn->state]);
		if (conn->state == PX_CONN_IDLE)
			px_conn_close(conn, "head deadline");
		else
			(void)px_conn_abort(conn, 408, "pubgate: the request "
			    "head was not received in time");
		return;
	}
	if (conn->msg_done || (conn->state != PX_CONN_SPOOL &&
	    conn->state != PX_CONN_BODY))
		return;
	got = conn->body_bytes - conn->rate_mark;
	if (got * 1000 < ctx->cfg->body_min_rate * ctx->cfg->rate_window_ms) {
		PX_MADD(ctx->m->body_too_slow, 1);
		px_log_info("conn=%llu event=body-too-slow client=%s bytes=%llu "
		    "window_ms=%u", (unsigned long long)conn->id, conn->peer,
		    (unsigned long long)got, ctx->cfg->rate_window_ms);
		(void)px_conn_abort(conn, 408, "pubgate: the request body "
		    "arrived too slowly; nothing was forwarded");
		return;
	}
	conn->rate_mark = conn->body_bytes;
	arm(conn, ctx->cfg->rate_window_ms, 1);
}

/* ------------------------------------------------- request callbacks */

static int
req_on_message_begin(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	px_http_head_reset(&conn->req);
	wbody_free(conn);
	free(conn->notice);
	conn->notice = NULL;
	conn->head_done = conn->msg_done = 0;
	conn->body_bytes = 0;
	conn->fwd_for[0] = '\0';
	conn->err_status = 0;
	conn->err_text = NULL;
	conn->req_chunked = 0;
	conn->route = PX_ROUTE_READ;
	conn->kind = "read";
	conn->pkg[0] = '\0';
	conn->who[0] = '\0';
	conn->user[0] = '\0';
	conn->rule[0] = '\0';
	conn->verdict = "-";
	conn->status = 0;
	conn->up_status = 0;
	conn->bytes_in = 0;
	conn->bytes_out = 0;
	conn->resp_gzip = 0;
	conn->pc_log = "-";
	px_fwd_pc_end(conn);
	conn->retried = 0;
	conn->up_tries = 0;
	conn->up_addr = -1;
	conn->logged = 0;
	conn->resp_head_sent = 0;
	conn->resp_done = 0;
	conn->resp_close = 0;
	conn->t_start_ms = px_now_ms();
	conn->ctx->nrequests++;
	snprintf(conn->reqid, sizeof(conn->reqid), "%08x-%llu",
	    conn->ctx->boot, (unsigned long long)conn->ctx->nrequests);
	set_timeouts(conn->client, conn->ctx->cfg->request_ms,
	    conn->ctx->cfg->request_ms);
	arm(conn, conn->ctx->cfg->header_ms, 0);
	px_conn_set_state(conn, PX_CONN_HEAD);
	return 0;
}

static int
req_fail(struct px_conn *conn, int status, const char *text)
{
	conn->err_status = status;
	conn->err_text = text;
	llhttp_set_error_reason(&conn->reqp, text);
	return HPE_USER;
}

static int
req_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_url(&conn->req, at, len) == -1)
		return req_fail(conn, 431, "request head too large");
	return 0;
}

static int
req_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_field(&conn->req, at, len) == -1)
		return req_fail(conn, 431, conn->req.nhdrs >=
		    conn->req.hdrs_max ? "too many header fields" :
		    "request head too large");
	return 0;
}

static int
req_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_value(&conn->req, at, len) == -1)
		return req_fail(conn, 431, "request head too large");
	return 0;
}

/*
 * px_conn_note_decision() : appends the line that lets a developer hand a
 * refusal to the security team: the decision's request id, which
 * `pubgate show` and the decision log know it by.
 */
void
px_conn_note_decision(const struct px_conn *conn, char *text, size_t size)
{
	size_t	 n = strlen(text);

	if (conn->reqid[0] == '\0' || n >= size)
		return;
	snprintf(text + n, size - n, "\ndecision %s: quote it to your "
	    "security team (pubgate show %s)", conn->reqid, conn->reqid);
}

/*
 * refused_recorded() : a refusal's record is committed (rc 0): the
 * refusal (err_buf) with its status; else 503.  -1 if the conn was freed.
 */
static int
refused_recorded(struct px_conn *conn, int rc)
{
	if (rc == -1)
		return px_conn_abort(conn, 503, PX_TEXT_NOT_RECORDED);
	return px_conn_abort(conn, conn->rec_status, conn->err_buf);
}

/*
 * refuse_why() : a write the gate refuses before anything is forwarded:
 * recorded (a deny with its rule), then answered with status.  In the
 * parser's callbacks: HPE_PAUSED while the record is pending (the conn
 * waits in PX_CONN_RECORD; refused_recorded() answers), else
 * req_fail()'s result.
 */
static int
refuse_why(struct px_conn *conn, int status, const struct pol_reason *why)
{
	conn->verdict = "deny";
	snprintf(conn->rule, sizeof(conn->rule), "%s", why->rule);
	if (why->hint[0] != '\0')
		snprintf(conn->err_buf, sizeof(conn->err_buf),
		    "pubgate: %s (rule %s)\nfix: %s", why->text, why->rule,
		    why->hint);
	else
		snprintf(conn->err_buf, sizeof(conn->err_buf),
		    "pubgate: %s (rule %s)", why->text, why->rule);
	px_conn_note_decision(conn, conn->err_buf, sizeof(conn->err_buf));
	switch (px_spool_record_reason(conn, status, why, refused_recorded)) {
	case 0:
		return HPE_PAUSED;
	case -1:
		return req_fail(conn, 503, PX_TEXT_NOT_RECORDED);
	default:
		return req_fail(conn, status, conn->err_buf);
	}
}

static int
refuse(struct px_conn *conn, int status, const char *rule, const char *text)
{
	struct pol_reason	 why;

	memset(&why, 0, sizeof(why));
	snprintf(why.rule, sizeof(why.rule), "%s", rule);
	snprintf(why.text, sizeof(why.text), "%s", text);
	why.offset = -1;
	return refuse_why(conn, status, &why);
}

/*
 * body_rule() : the framing and type of a request body, before it is
 * read.  Every request: Transfer-Encoding is absent or exactly
 * "chunked".  Every write but npm audit's: a body is JSON the registry
 * reads as UTF-8 (Content-Type application/json, no charset but utf-8,
 * once), with no content coding (the registry's body parser would
 * decode a charset or a gzip the gate never saw); DELETEs carry none.
 * 0, or req_fail()'s result.
 */
static int
body_rule(struct px_conn *conn, int has_body)
{
	const struct px_head	*h = &conn->req;
	const char		*v;
	size_t			 n;

	if ((v = px_http_head_get(h, "transfer-encoding", &n)) != NULL &&
	    (px_http_head_count(h, "transfer-encoding") != 1 || n != 7 ||
	    strncasecmp(v, "chunked", 7) != 0))
		return refuse(conn, 400, "body.framing", "a Transfer-Encoding "
		    "other than chunked; nothing was forwarded");
	if (conn->route == PX_ROUTE_READ || !has_body)
		return 0;
	if (conn->method == HTTP_DELETE)
		return refuse(conn, 400, "write.body", "a DELETE with a body; "
		    "nothing was forwarded");
	if ((v = px_http_head_get(h, "content-encoding", &n)) != NULL &&
	    (px_http_head_count(h, "content-encoding") != 1 || n != 8 ||
	    strncasecmp(v, "identity", 8) != 0))
		return refuse(conn, 415, "body.encoding", "a write body must "
		    "not carry a Content-Encoding; nothing was forwarded");
	if ((v = px_http_head_get(h, "content-type", &n)) == NULL ||
	    px_http_head_count(h, "content-type") != 1 ||
	    !px_route_json_type(v, n))
		return refuse(conn, 415, "body.charset", "a write body must be "
		    "Content-Type: application/json in UTF-8 (no other "
		    "charset); nothing was forwarded");
	return 0;
}

/*
 * write_allowed() : a package or account write that passed its rules:
 * package writes are recorded as allowed (their outcome follows) before
 * anything is forwarded.  1: go on now; 0: pending, next(conn, rc) goes
 * on; -1 with the error set (503).
 */
static int
write_allowed(struct px_conn *conn, px_spool_next *next)
{
	int	 r;

	if (conn->route != PX_ROUTE_WRITE)
		return 1;
	if ((r = px_spool_record(conn, POL_ALLOW, 0, NULL, next)) == -1)
		(void)req_fail(conn, 503, PX_TEXT_NOT_RECORDED);
	if (r == 1)
		conn->verdict = "allow";
	return r;
}

/*
 * start_forward() : the request head goes upstream, its body follows.
 * 0, or req_fail()'s result.
 */
static int
start_forward(struct px_conn *conn, int has_body)
{
	if (px_fwd_connect(conn) == -1)
		return req_fail(conn, 502, "pubgate: cannot reach the upstream "
		    "registry");
	if (px_fwd_request_head(conn, conn->req_chunked,
	    has_body && !conn->req_chunked ? conn->reqp.content_length : 0) ==
	    -1)
		return req_fail(conn, 500, "out of memory");
	px_conn_set_state(conn, PX_CONN_BODY);
	return 0;
}

/*
 * write_go() : a bodiless write's record is committed (rc 0): forward it
 * and go on reading.  -1 if the conn was freed.
 */
static int
write_go(struct px_conn *conn, int rc)
{
	if (rc == -1)
		return px_conn_abort(conn, 503, PX_TEXT_NOT_RECORDED);
	conn->verdict = "allow";
	if (start_forward(conn, 0) != 0)
		return px_conn_abort(conn, conn->err_status, conn->err_text);
	llhttp_resume(&conn->reqp);
	return px_conn_drive(conn);
}

/*
 * route() : called from on_headers_complete: classifies the request and
 * starts it (upstream head for reads, spool for publishes).  Never frees
 * the conn; errors are returned through req_fail().
 */
static int
route(struct px_conn *conn)
{
	struct px_ctx	*ctx = conn->ctx;
	llhttp_t	*p = &conn->reqp;
	const char	*url = conn->req.buf + conn->req.url;
	size_t		 ulen = conn->req.url_len, plen, alen;
	const char	*auth;
	int		 r, has_body;

	conn->method = p->method;
	conn->http_minor = p->http_minor;
	conn->keepalive = llhttp_should_keep_alive(p) && !ctx->draining;
	if (p->upgrade || p->method == HTTP_CONNECT)
		return req_fail(conn, 501, "pubgate: CONNECT and protocol "
		    "upgrades are not supported on this listener");
	if (p->http_major != 1)
		return req_fail(conn, 505, "HTTP/1.x only");
	if (conn->eg != NULL) {
		/* Egress: the target must name this conn's host (egress.c). */
		if (px_egress_request(conn, &r, &conn->err_text) == -1)
			return req_fail(conn, r, conn->err_text);
		url = conn->req.buf + conn->req.url;
		ulen = conn->req.url_len;
	}
	if (ulen == 0 || url[0] != '/')
		return req_fail(conn, 400, "request target must be a path");
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > ctx->cfg->body)
		return req_fail(conn, 413, "request body over the limit");
	if (p->http_minor == 0 && (p->flags & F_CHUNKED))
		return req_fail(conn, 400, "chunked body in HTTP/1.0");
	plen = path_len(url, ulen);
	if (conn->admin) {
		conn->route = PX_ROUTE_ADMIN;
		conn->kind = "admin";
		/* A console form: held (bounded), wiped when dropped. */
		if (((p->flags & F_CHUNKED) || p->content_length > 0) &&
		    (conn->wbody = evbuffer_new()) == NULL)
			return req_fail(conn, 500, "out of memory");
		px_conn_set_state(conn, PX_CONN_BODY);
		return 0;
	}
	r = px_route_classify(p->method, url, plen, conn->pkg,
	    sizeof(conn->pkg), &conn->kind);
	if ((auth = px_http_head_get(&conn->req, "authorization",
	    &alen)) != NULL)
		px_spool_who(auth, alen, conn->who);
	if (r == PX_ROUTE_REFUSED_METHOD)
		return refuse(conn, 405, "write.route", "this method is not "
		    "a registry write the gate knows; it was not forwarded");
	if (r == PX_ROUTE_REFUSED_NAME)
		return refuse(conn, 400, "write.name", "the package name in "
		    "this URL is not one npm accepts; it was not forwarded");
	if (r < 0)
		return refuse(conn, 400, "write.route", "this write is not a "
		    "registry request the gate knows; it was not forwarded");
	conn->route = (enum px_route)r;
	has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
	conn->req_chunked = (p->flags & F_CHUNKED) != 0;
	if ((r = body_rule(conn, has_body)) != 0)
		return r;

	/* Expect: 100-continue is answered here (RFC 9110 10.1.1). */
	if (px_http_head_get(&conn->req, "expect", NULL) != NULL)
		evbuffer_add_printf(bufferevent_get_output(conn->client),
		    "HTTP/1.1 100 Continue\r\n\r\n");

	if (conn->route == PX_ROUTE_PUBLISH || conn->route == PX_ROUTE_STAGE) {
		px_conn_set_state(conn, PX_CONN_SPOOL);
		if (px_spool_begin(conn) == -1)
			return HPE_USER;	/* err_status set */
		px_whoami_start(conn);	/* meanwhile: the record's user */
		return 0;
	}
	if (conn->route == PX_ROUTE_WRITE) {
		struct pol_reason	 why;

		px_whoami_start(conn);

		if (pol_check_write(ctx->policy, conn->pkg, conn->kind, &why) !=
		    POL_ALLOW)
			return refuse_why(conn, 403, &why);
	}
	if (conn->route == PX_ROUTE_WRITE || conn->route == PX_ROUTE_ACCOUNT) {
		if (has_body) {
			/* Held (bounded) and read before anything is sent. */
			if ((conn->wbody = evbuffer_new()) == NULL)
				return req_fail(conn, 500, "out of memory");
			px_conn_set_state(conn, PX_CONN_BODY);
			return 0;
		}
		if ((r = write_allowed(conn, write_go)) == -1)
			return HPE_USER;
		if (r == 0)
			return HPE_PAUSED;	/* write_go() goes on */
	}
	return start_forward(conn, has_body);
}

/*
 * forwarded_for() : behind a trusted balancer (the peer is in
 * trusted_proxies), the request's client is the first untrusted hop of
 * its X-Forwarded-For fields read from the right; otherwise, or when the
 * list cannot be read, the peer itself.
 */
static void
forwarded_for(struct px_conn *conn)
{
	const struct px_cfg	*cfg = conn->ctx->cfg;
	char			 host[64], all[1024];
	int			 n;

	conn->fwd_for[0] = '\0';
	if (cfg->ntrusted == 0 ||
	    px_peer_host(conn->peer, host, sizeof(host)) == -1 ||
	    !px_cidr_match(cfg->trusted, cfg->ntrusted, host))
		return;
	n = px_http_head_join(&conn->req, "x-forwarded-for", all, sizeof(all));
	if (n > 0 && px_xff_client(all, (size_t)n, cfg->trusted,
	    cfg->ntrusted, conn->fwd_for, sizeof(conn->fwd_for)) == -1)
		conn->fwd_for[0] = '\0';
}

static int
req_on_headers_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;
	int		 r;

	conn->head_done = 1;
	arm(conn, 0, 0);
	forwarded_for(conn);
	r = route(conn);
	/* A body the gate holds or inspects must keep coming. */
	if (r == 0 && !conn->msg_done && conn->ctx->cfg->body_min_rate > 0 &&
	    (conn->route == PX_ROUTE_PUBLISH || conn->route == PX_ROUTE_STAGE ||
	    conn->wbody != NULL) && ((p->flags & F_CHUNKED) ||
	    p->content_length > 0)) {
		conn->rate_mark = 0;
		arm(conn, conn->ctx->cfg->rate_window_ms, 1);
	}
	return r;
}

static int
req_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	conn->body_bytes += len;
	if (conn->body_bytes > conn->ctx->cfg->body)
		return req_fail(conn, 413, "request body over the limit");
	switch (conn->route) {
	case PX_ROUTE_PUBLISH:
	case PX_ROUTE_STAGE:
		if (px_spool_body(conn, at, len) == -1) {
			if (conn->err_status == 0)
				conn->err_status = PX_ERR_DECIDED;
			return HPE_USER;
		}
		break;
	case PX_ROUTE_ADMIN:
		if (conn->wbody == NULL ||
		    evbuffer_get_length(conn->wbody) + len > PX_ADMIN_FORM_MAX)
			return req_fail(conn, 413, "admin: the body is over "
			    "the limit");
		if (evbuffer_add(conn->wbody, at, len) == -1)
			return req_fail(conn, 500, "out of memory");
		break;
	case PX_ROUTE_WRITE:
	case PX_ROUTE_ACCOUNT:
		if (conn->wbody != NULL) {
			if (evbuffer_get_length(conn->wbody) + len >
			    PX_WRITE_BODY_MAX)
				return req_fail(conn, 413, "pubgate: the body "
				    "of this write is over the limit");
			if (evbuffer_add(conn->wbody, at, len) == -1)
				return req_fail(conn, 500, "out of memory");
			break;
		}
		/* FALLTHROUGH */
	default:
		px_fwd_body(conn, at, len);
		break;
	}
	return 0;
}

/*
 * message_forwarded() : the whole request is upstream: wait for the
 * response.  -1 if the conn was freed.
 */
static int
message_forwarded(struct px_conn *conn)
{
	px_fwd_body_end(conn);
	px_conn_set_state(conn, PX_CONN_RESPONSE);
	/*
	 * Client input is not parsed until this response is done; reading
	 * stays on (no event churn per request) but stops by itself at the
	 * read watermark, and the upstream's timeout covers the wait.
	 */
	set_timeouts(conn->client, 0, conn->ctx->cfg->request_ms);
	if (conn->resp_done)
		return px_conn_resp_done(conn);
	return 0;
}

/*
 * write_body_go() : a held write body's record is committed (rc 0): the
 * write goes upstream as sent, with its length.  -1 if the conn was
 * freed.
 */
static int
write_body_go(struct px_conn *conn, int rc)
{
	struct evbuffer		*b = conn->wbody;
	size_t			 n = evbuffer_get_length(b);
	unsigned char		*p;

	if (rc == -1)
		return px_conn_abort(conn, 503, PX_TEXT_NOT_RECORDED);
	if (conn->route == PX_ROUTE_WRITE)
		conn->verdict = "allow";
	if ((p = evbuffer_pullup(b, -1)) == NULL && n > 0)
		return px_conn_abort(conn, 500, "out of memory");
	if (px_fwd_connect(conn) == -1)
		return px_conn_abort(conn, 502, "pubgate: cannot reach the "
		    "upstream registry");
	conn->req_chunked = 0;
	if (px_fwd_request_head(conn, 0, n) == -1)
		return px_conn_abort(conn, 500, "out of memory");
	if (n > 0)
		px_fwd_body(conn, (const char *)p, n);
	wbody_free(conn);
	return message_forwarded(conn);
}

/*
 * write_body_done() : a held write body is complete: judged by
 * pol_check_write_body(), then (allowed) recorded and forwarded by
 * write_body_go().  -1 if the conn was freed.
 */
static int
write_body_done(struct px_conn *conn)
{
	struct pol_reason	 why;
	struct evbuffer		*b = conn->wbody;
	size_t			 n = evbuffer_get_length(b);
	unsigned char		*p;
	int			 r;

	if ((p = evbuffer_pullup(b, -1)) == NULL && n > 0)
		return px_conn_abort(conn, 500, "out of memory");
	if (pol_check_write_body(p, n, &why) != POL_ALLOW) {
		r = refuse_why(conn, strcmp(why.rule, "write.body") == 0 ?
		    400 : 403, &why);
		if (r == HPE_PAUSED)
			return 0;	/* refused_recorded() answers */
		return px_conn_abort(conn, conn->err_status, conn->err_text);
	}
	if ((r = write_allowed(conn, write_body_go)) == -1)
		return px_conn_abort(conn, conn->err_status, conn->err_text);
	if (r == 0)
		return 0;	/* write_body_go() goes on */
	return write_body_go(conn, 0);	/* verdict set by write_allowed() */
}

static int
req_on_message_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	conn->msg_done = 1;
	arm(conn, 0, 0);
	return HPE_PAUSED;
}

/* ------------------------------------------------------------ driving */

/*
 * message_done() : the request has been read completely.  Returns -1 if
 * the conn was freed.
 */
static int
message_done(struct px_conn *conn)
{
	if (conn->route == PX_ROUTE_PUBLISH || conn->route == PX_ROUTE_STAGE)
		return px_spool_end(conn);
	if (conn->route == PX_ROUTE_ADMIN) {
		bufferevent_disable(conn->client, EV_READ);
		return px_admin_answer(conn);
	}
	if (conn->wbody != NULL)
		return write_body_done(conn);
	return message_forwarded(conn);
}

/*
 * drive_loop() : feeds client input to the request parser until it runs
 * out, a request waits for its response, or the upstream is full.
 * Returns -1 if the conn was freed.
 */
static int
drive_loop(struct px_conn *conn)
{
	struct evbuffer		*in;
	llhttp_errno_t		 err;
	size_t			 n, used;
	int			 status;
	char			 why[200];

	in = bufferevent_get_input(conn->client);
	for (;;) {
		if (conn->state == PX_CONN_LINGER) {
			n = evbuffer_get_length(in);
			conn->linger_bytes += n;
			evbuffer_drain(in, n);
			if (conn->linger_bytes > PX_LINGER_BYTES) {
				px_conn_close(conn, "linger limit");
				return -1;
			}
			return 0;
		}
		if (conn->state == PX_CONN_RESPONSE ||
		    conn->state == PX_CONN_REPLAY ||
		    conn->state == PX_CONN_RECORD)
			return 0;
		if (conn->up != NULL && evbuffer_get_length(
		    bufferevent_get_output(conn->up)) > PX_HIGH_WATER) {
			/* The upstream is slow: stop reading the client. */
			bufferevent_disable(conn->client, EV_READ);
			conn->paused_client = 1;
			return 0;
		}
		if (evbuffer_get_length(in) == 0)
			return 0;
		err = px_http_feed(&conn->reqp, in, PX_FEED_CHUNK, &used);
		if (err != HPE_OK && err != HPE_PAUSED) {
			status = conn->err_status;
			if (status == PX_ERR_DECIDED) {
				if (px_spool_end(conn) == -1)
					return -1;
				continue;
			}
			if (status == 0)
				status = 400;
			px_log_info("conn=%llu event=request-refused status=%d "
			    "error=%s reason=\"%s\"",
			    (unsigned long long)conn->id, status,
			    llhttp_errno_name(err), px_log_quote(why,
			    sizeof(why), conn->err_text ? conn->err_text :
			    llhttp_get_error_reason(&conn->reqp)));
			if (px_conn_abort(conn, status, conn->err_text != NULL ?
			    conn->err_text : "malformed HTTP request") == -1)
				return -1;
			continue;
		}
		conn->bytes_in += used;
		evbuffer_drain(in, used);
		if (err == HPE_PAUSED && conn->msg_done) {
			if (message_done(conn) == -1)
				return -1;
		}
	}
}

/*
 * px_conn_drive() : entry point for client input; not re-entrant (a
 * request answered while parsing continues in the running loop rather
 * than recursing).  Returns -1 if the conn was freed.
 */
int
px_conn_drive(struct px_conn *conn)
{
	int	 r;

	if (conn->in_drive)
		return 0;
	conn->in_drive = 1;
	r = drive_loop(conn);
	if (r == 0)
		conn->in_drive = 0;
	return r;
}

/* --------------------------------------------------- ending requests */

void
px_conn_access_log(struct px_conn *conn)
{
	char	 path[256], pkg[PX_NAME_MAX + 2];
	size_t	 plen;

	if (conn->logged || !conn->head_done)
		return;
	conn->logged = 1;
	px_admin_count(conn);
	plen = path_len(conn->req.buf + conn->req.url, conn->req.url_len);
	if (plen >= sizeof(path))
		plen = sizeof(path) - 1;
	memcpy(path, conn->req.buf + conn->req.url, plen);
	path[plen] = '\0';
	px_log_value(path, sizeof(path), path);
	px_log_info("conn=%llu req=%s client=%s method=%s path=%s kind=%s "
	    "pkg=%s status=%d verdict=%s rule=%s upstream_status=%d "
	    "bytes_in=%llu bytes_out=%llu ms=%llu enc=%s cache=%s",
	    (unsigned long long)conn->id, conn->reqid, px_conn_client(conn),
	    llhttp_method_name((llhttp_method_t)conn->method), path,
	    conn->kind, conn->pkg[0] ? px_log_value(pkg, sizeof(pkg),
	    conn->pkg) : "-", conn->status, conn->verdict,
	    conn->rule[0] ? conn->rule : "-", conn->up_status,
	    (unsigned long long)conn->bytes_in,
	    (unsigned long long)conn->bytes_out,
	    (unsigned long long)(px_now_ms() - conn->t_start_ms),
	    conn->resp_gzip ? "gzip" : "-",
	    conn->pc_log != NULL ? conn->pc_log : "-");
}

/*
 * linger() : the final answer is queued: stop parsing, discard input for
 * a while, close once the answer is written (and the client stopped
 * sending or the linger time ran out).
 */
static void
linger(struct px_conn *conn)
{
	px_conn_set_state(conn, PX_CONN_LINGER);
	conn->keepalive = 0;
	bufferevent_setwatermark(conn->client, EV_WRITE, 0, 0);
	set_timeouts(conn->client, PX_LINGER_MS, conn->ctx->cfg->idle_ms);
	bufferevent_enable(conn->client, EV_READ | EV_WRITE);
}

int
px_conn_abort(struct px_conn *conn, int status, const char *text)
{
	if (conn->resp_head_sent) {
		px_conn_access_log(conn);
		px_conn_close(conn, text);
		return -1;
	}
	px_fwd_free_up(conn);
	conn->status = status;
	conn->resp_head_sent = 1;
	px_http_error(bufferevent_get_output(conn->client), status, text, 0);
	px_conn_access_log(conn);
	linger(conn);
	return 0;
}

int
px_conn_resp_done(struct px_conn *conn)
{
	struct px_ctx	*ctx = conn->ctx;

	px_conn_access_log(conn);
	if (!conn->up_reusable)
		px_fwd_free_up(conn);
	if (!conn->msg_done || !conn->keepalive || conn->resp_close ||
	    ctx->draining) {
		/* Close once the response is out. */
		px_fwd_free_up(conn);
		linger(conn);
		if (evbuffer_get_length(bufferevent_get_output(conn->client))
		    == 0 && conn->msg_done) {
			px_conn_close(conn, "done");
			return -1;
		}
		return 0;
	}
	px_spool_reset(conn);
	px_http_head_reset(&conn->req);
	px_http_head_reset(&conn->resp);
	conn->head_done = conn->msg_done = 0;
	conn->resp_done = 0;
	conn->resp_head_sent = 0;
	px_conn_set_state(conn, PX_CONN_IDLE);
	set_timeouts(conn->client, ctx->cfg->idle_ms, ctx->cfg->request_ms);
	bufferevent_enable(conn->client, EV_READ);
	llhttp_resume(&conn->reqp);
	return px_conn_drive(conn);
}

void
px_conn_close(struct px_conn *conn, const char *reason)
{
	struct px_ctx	*ctx = conn->ctx;
	SSL		*ssl;

	px_log_debug("conn=%llu event=close reason=\"%s\"",
	    (unsigned long long)conn->id, reason);
	px_fwd_free_up(conn);
	px_spool_reset(conn);	/* cancels a pending store operation */
	if (conn->aq_arg != NULL) {
		conn->aq_free(conn->aq_arg);	/* an admin query's */
		conn->aq_arg = NULL;
	}
	if (conn->eg != NULL)
		px_egress_conn_end(conn);
	if (conn->client != NULL) {
		bufferevent_setcb(conn->client, NULL, NULL, NULL, NULL);
		if (conn->tls && (ssl = bufferevent_openssl_get_ssl(
		    conn->client)) != NULL)
			SSL_shutdown(ssl);
		bufferevent_free(conn->client);
		conn->client = NULL;
	}
	px_http_head_free(&conn->req);
	px_http_head_free(&conn->resp);
	if (conn->rw_buf != NULL)
		evbuffer_free(conn->rw_buf);
	px_fwd_gz_free(conn);
	px_fwd_pc_end(conn);
	wbody_free(conn);
	free(conn->notice);
	conn->notice = NULL;
	if (conn->ev_deadline != NULL)
		event_free(conn->ev_deadline);
	if (conn->client_counted)
		px_client_drop(ctx, conn->peer);
	TAILQ_REMOVE(&ctx->conns, conn, entry);
	ctx->nconns--;
	PX_MSET(ctx->m->conns, ctx->nconns);
	free(conn);
	if (ctx->draining && ctx->nconns == 0)
		px_ctx_drained(ctx);
}

/* --------------------------------------------------- client callbacks */

static void
client_readcb(struct bufferevent *bev, void *arg)
{
	struct px_conn	*conn = arg;

	if (!conn->tls)
		px_io_fill(bev, PX_FILL_CAP);	/* 4 KiB reads: io.c */
	px_conn_drive(conn);
}

static void
client_writecb(struct bufferevent *bev, void *arg)
{
	struct px_conn	*conn = arg;
	size_t		 out;

	out = evbuffer_get_length(bufferevent_get_output(bev));
	if (conn->state == PX_CONN_LINGER) {
		if (out == 0 && (conn->msg_done || !conn->head_done))
			px_conn_close(conn, "done");
		return;
	}
	if (conn->paused_up && out <= PX_RELAY_HIGH / 2 && conn->up != NULL) {
		conn->paused_up = 0;
		bufferevent_enable(conn->up, EV_READ);
		px_fwd_drive(conn);
	}
}

static void
client_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_conn	*conn = arg;
	char		 e[512];

	if (what & BEV_EVENT_TIMEOUT) {
		if (conn->state == PX_CONN_IDLE || conn->state ==
		    PX_CONN_LINGER)
			px_conn_close(conn, "idle timeout");
		else if (!conn->resp_head_sent && (what & BEV_EVENT_READING))
			px_conn_abort(conn, 408, "request timeout");
		else
			px_conn_close(conn, "client timeout");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (conn->tls) {
			px_tls_errors(e, sizeof(e));
			px_log_debug("conn=%llu event=client-error tls=\"%s\"",
			    (unsigned long long)conn->id, e);
		}
		px_conn_close(conn, "client error");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (conn->state == PX_CONN_RESPONSE ||
		    conn->state == PX_CONN_REPLAY ||
		    conn->state == PX_CONN_RECORD) {
			conn->resp_close = 1;	/* answer, then close */
			return;
		}
		px_conn_close(conn, "client closed");
	}
}

/* ---------------------------------------------------------- accepting */

static struct px_conn	*conn_start(struct px_conn *);

/*
 * sa_text() : the address of an IPv4/IPv6 sa as text in host ("" for any
 * other family or a short salen); returns its port (0 if none).
 */
static int
sa_text(const struct sockaddr *sa, int salen, char *host, size_t len)
{
	host[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET && salen >= (int)sizeof(
	    struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)len);
		return ntohs(s4->sin_port);
	}
	if (sa != NULL && sa->sa_family == AF_INET6 && salen >=
	    (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)len);
		return ntohs(s6->sin6_port);
	}
	return 0;
}

struct px_conn *
px_conn_new(struct px_ctx *ctx, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, SSL_CTX *sslctx)
{
	struct px_conn	*conn;
	SSL		*ssl;
	char		 host[INET6_ADDRSTRLEN];
	int		 one = 1, port;
	const int	 opts = BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS;

	if (ctx->nconns >= PX_CONN_MAX || ctx->draining) {
		px_log_warnx("event=refused reason=%s",
		    ctx->draining ? "draining" : "too-many-connections");
		evutil_closesocket(fd);
		return NULL;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	conn->ctx = ctx;
	conn->id = ++ctx->next_id;
	conn->spool_fd = -1;
	conn->verdict = "-";
	conn->kind = "read";
	evutil_make_socket_nonblocking(fd);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	port = sa_text(sa, salen, host, sizeof(host));
	if (host[0] != '\0')
		snprintf(conn->peer, sizeof(conn->peer), "%s:%d", host, port);
	else
		snprintf(conn->peer, sizeof(conn->peer), "local");
	if (sslctx != NULL) {
		conn->tls = 1;
		if ((ssl = SSL_new(sslctx)) == NULL) {
			evutil_closesocket(fd);
			free(conn);
			return NULL;
		}
		/* The bev owns ssl from here, even when this fails. */
		conn->client = bufferevent_openssl_socket_new(ctx->base, fd,
		    ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
	} else
		conn->client = bufferevent_socket_new(ctx->base, fd, opts);
	if (conn->client == NULL) {
		evutil_closesocket(fd);
		free(conn);
		return NULL;
	}
	return conn_start(conn);
}

/*
 * A connection on a proxy_protocol listener before its PROXY header is
 * read: bytes are taken only as far as px_pp_want() allows, so the TLS
 * handshake or request after the header stays in the socket for the
 * bufferevent px_conn_new() makes.
 */
struct px_ppwait {
	struct px_ctx		*ctx;
	struct px_ppwait	*next, **prevp;
	struct event		*ev;
	evutil_socket_t		 fd;
	SSL_CTX			*ssl;
	int			 admin;
	struct sockaddr_storage	 sa;	/* the balancer's socket address */
	int			 salen;
	size_t			 len;
	unsigned char		 buf[PX_PP_MAX];
};

static void
ppwait_free(struct px_ppwait *w, int close_fd)
{
	*w->prevp = w->next;
	if (w->next != NULL)
		w->next->prevp = w->prevp;
	w->ctx->nppwaits--;
	event_free(w->ev);
	if (close_fd)
		evutil_closesocket(w->fd);
	free(w);
}

static void
ppwait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_ppwait	*w = arg;
	struct px_ctx		*ctx = w->ctx;
	struct px_conn		*conn;
	struct sockaddr_storage	 src;
	const struct sockaddr	*sa;
	ssize_t			 n;
	int			 want, have, salen, admin = w->admin;
	SSL_CTX			*ssl = w->ssl;
	const char		*why = NULL;

	if (what & EV_TIMEOUT)
		why = "no PROXY header in time";
	while (why == NULL && (want = px_pp_want(w->buf, w->len)) > 0) {
		n = recv(fd, w->buf + w->len, (size_t)want, 0);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;		/* the rest later */
		if (n <= 0)
			why = n == 0 ? "closed before its PROXY header" :
			    "read error";
		else
			w->len += (size_t)n;
	}
	if (why == NULL && (px_pp_want(w->buf, w->len) != 0 ||
	    px_pp_parse(w->buf, w->len, &src, &have) != 0))
		why = "not a PROXY protocol header";
	if (why != NULL) {
		px_log_warnx("event=proxy-protocol-refused reason=\"%s\"", why);
		ppwait_free(w, 1);
		return;
	}
	/* A header without an address (health checks): the socket's. */
	if (have) {
		sa = (const struct sockaddr *)&src;
		salen = src.ss_family == AF_INET ?
		    (int)sizeof(struct sockaddr_in) :
		    (int)sizeof(struct sockaddr_in6);
	} else {
		sa = (const struct sockaddr *)&w->sa;
		salen = w->salen;
	}
	explicit_bzero(w->buf, sizeof(w->buf));
	ppwait_free(w, 0);
	if ((conn = px_conn_new(ctx, fd, sa, salen, ssl)) != NULL)
		conn->admin = admin;
}

void
px_pp_accept(struct px_ctx *ctx, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, SSL_CTX *ssl, int admin)
{
	struct px_ppwait	*w;
	struct timeval		 tv;
	char			 host[INET6_ADDRSTRLEN];

	(void)sa_text(sa, salen, host, sizeof(host));
	/* Only a trusted balancer may say who the client is. */
	if (!px_cidr_match(ctx->cfg->trusted, ctx->cfg->ntrusted, host)) {
		px_log_warnx("event=proxy-protocol-refused peer=%s "
		    "reason=\"not in trusted_proxies\"", host[0] ? host :
		    "local");
		evutil_closesocket(fd);
		return;
	}
	if (ctx->draining || ctx->nconns + ctx->nppwaits >= PX_CONN_MAX ||
	    salen < 0 || (size_t)salen > sizeof(w->sa) ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		px_log_warnx("event=refused reason=%s", ctx->draining ?
		    "draining" : "too-many-connections");
		evutil_closesocket(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	w->ctx = ctx;
	w->fd = fd;
	w->ssl = ssl;
	w->admin = admin;
	memcpy(&w->sa, sa, (size_t)salen);
	w->salen = salen;
	if ((w->ev = event_new(ctx->base, fd, EV_READ | EV_PERSIST, ppwait_cb,
	    w)) == NULL) {
		evutil_closesocket(fd);
		free(w);
		return;
	}
	w->next = ctx->ppwaits;
	if (w->next != NULL)
		w->next->prevp = &w->next;
	w->prevp = &ctx->ppwaits;
	ctx->ppwaits = w;
	ctx->nppwaits++;
	tv.tv_sec = ctx->cfg->header_ms / 1000;
	tv.tv_usec = (ctx->cfg->header_ms % 1000) * 1000;
	event_add(w->ev, &tv);
}

void
px_pp_abort_all(struct px_ctx *ctx)
{
	while (ctx->ppwaits != NULL)
		ppwait_free(ctx->ppwaits, 1);
}

/* px_conn_client() : the request's client: X-Forwarded-For, else peer. */
const char *
px_conn_client(const struct px_conn *conn)
{
	return conn->fwd_for[0] != '\0' ? conn->fwd_for : conn->peer;
}

struct px_conn *
px_conn_adopt(struct px_ctx *ctx, uint64_t id, struct bufferevent *bev,
    const char *peer, int tls)
{
	struct px_conn	*conn;

	if (ctx->nconns >= PX_CONN_MAX || ctx->draining ||
	    (conn = calloc(1, sizeof(*conn))) == NULL) {
		px_log_warnx("conn=%llu event=refused reason=%s",
		    (unsigned long long)id, ctx->draining ? "draining" :
		    "too-many-connections");
		bufferevent_free(bev);
		return NULL;
	}
	conn->ctx = ctx;
	conn->id = id;
	conn->spool_fd = -1;
	conn->verdict = "-";
	conn->kind = "read";
	conn->tls = tls;
	conn->client = bev;
	snprintf(conn->peer, sizeof(conn->peer), "%s", peer);
	return conn_start(conn);
}

/* conn_start() : conn has its client bev: list it and start reading. */
static struct px_conn *
conn_start(struct px_conn *conn)
{
	struct px_ctx	*ctx = conn->ctx;

	if (px_client_take(ctx, conn->peer) == -1) {
		/* One address holds its share of the slots: closed at once. */
		bufferevent_free(conn->client);
		free(conn);
		return NULL;
	}
	conn->client_counted = 1;
	TAILQ_INSERT_TAIL(&ctx->conns, conn, entry);
	ctx->nconns++;
	PX_MSET(ctx->m->conns, ctx->nconns);
	px_http_head_init(&conn->req, ctx->cfg->header_bytes,
	    ctx->cfg->headers);
	px_http_head_init(&conn->resp, PX_RESP_HEAD_BYTES, PX_RESP_HEADERS);
	llhttp_settings_init(&conn->req_settings);
	conn->req_settings.on_message_begin = req_on_message_begin;
	conn->req_settings.on_url = req_on_url;
	conn->req_settings.on_header_field = req_on_header_field;
	conn->req_settings.on_header_value = req_on_header_value;
	conn->req_settings.on_headers_complete = req_on_headers_complete;
	conn->req_settings.on_body = req_on_body;
	conn->req_settings.on_message_complete = req_on_message_complete;
	llhttp_init(&conn->reqp, HTTP_REQUEST, &conn->req_settings);
	conn->reqp.data = conn;
	bufferevent_setcb(conn->client, client_readcb, client_writecb,
	    client_eventcb, conn);
	bufferevent_setwatermark(conn->client, EV_WRITE, PX_RELAY_HIGH / 2, 0);
	bufferevent_setwatermark(conn->client, EV_READ, 0, PX_HIGH_WATER);
	/* Bigger reads: fewer syscalls, fewer and larger pieces to parse. */
	bufferevent_set_max_single_read(conn->client, PX_FEED_CHUNK);
	/* Whole chains to SSL_write: a chain cut short is a short record. */
	bufferevent_set_max_single_write(conn->client, PX_HIGH_WATER);
	set_timeouts(conn->client, ctx->cfg->idle_ms, ctx->cfg->request_ms);
	/* The TLS handshake and the first head share one deadline. */
	conn->ev_deadline = evtimer_new(ctx->base, deadline_cb, conn);
	arm(conn, ctx->cfg->header_ms, 0);
	bufferevent_enable(conn->client, EV_READ | EV_WRITE);
	px_log_debug("conn=%llu event=accept client=%s tls=%d",
	    (unsigned long long)conn->id, conn->peer, conn->tls);
	return conn;
}

void
px_ctx_drain(struct px_ctx *ctx)
{
	struct px_conn	*conn, *next;
	size_t		 i;

	if (ctx->draining)
		return;
	ctx->draining = 1;
	px_fwd_pool_free(ctx);
	px_pp_abort_all(ctx);
	for (i = 0; i < ctx->nlisteners; i++) {
		if (ctx->listeners[i].lev != NULL) {
			evconnlistener_free(ctx->listeners[i].lev);
			ctx->listeners[i].lev = NULL;
		}
	}
	px_egress_drain(ctx);
	for (conn = TAILQ_FIRST(&ctx->conns); conn != NULL; conn = next) {
		next = TAILQ_NEXT(conn, entry);
		if (conn->state == PX_CONN_IDLE)
			px_conn_close(conn, "draining");
	}
	if (ctx->nconns == 0)
		px_ctx_drained(ctx);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	px_ctx_drained(arg);
}

void
px_ctx_drained(struct px_ctx *ctx)
{
	struct px_store_stat	 st;
	struct timeval		 tv = { 0, 20 * 1000 };

	if (ctx->audit != NULL)
		px_store_stat(ctx->audit, &st);
	if (ctx->audit == NULL || st.pending == 0) {
		event_base_loopexit(ctx->base, NULL);
		return;
	}
	if (ctx->ev_flush == NULL) {
		px_log_info("event=drain-store pending=%llu",
		    (unsigned long long)st.pending);
		if ((ctx->ev_flush = evtimer_new(ctx->base, flush_cb,
		    ctx)) == NULL) {
			event_base_loopexit(ctx->base, NULL);
			return;
		}
	}
	evtimer_add(ctx->ev_flush, &tv);
}
