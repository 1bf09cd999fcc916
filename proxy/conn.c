/*
 * proxy/conn.c: one client connection, from accept to close.
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

/* err_status: a publish was decided before its body ended. */
#define PX_ERR_DECIDED	(-2)

static const char *const state_names[] = {
	"idle", "head", "body", "spool", "replay", "response", "linger",
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

/*
 * decode_seg() : percent-decodes n bytes of a path segment into out;
 * only printable ASCII results are accepted.  0 or -1.
 */
static int
decode_seg(const char *s, size_t n, char *out, size_t outlen, size_t *olen)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			hi = s[i + 1];
			lo = s[i + 2];
#define HEXV(x) ((x) >= '0' && (x) <= '9' ? (x) - '0' :			\
	    (x) >= 'a' && (x) <= 'f' ? (x) - 'a' + 10 :			\
	    (x) >= 'A' && (x) <= 'F' ? (x) - 'A' + 10 : -1)
			if (HEXV(hi) < 0 || HEXV(lo) < 0)
				return -1;
			c = (char)(HEXV(hi) * 16 + HEXV(lo));
#undef HEXV
			i += 2;
		}
		if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e ||
		    c == '\\' || c == '"')
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*olen = o;
	return 0;
}

/* name_ok() : a decoded npm name: "x" or "@s/x", no other '/'. */
static int
name_ok(const char *name, size_t len)
{
	const char	*slash;

	if (len == 0 || len > PX_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	slash = strchr(name, '/');
	if (name[0] == '@') {
		if (slash == NULL || slash == name + 1 || slash[1] == '\0' ||
		    strchr(slash + 1, '/') != NULL)
			return 0;
	} else if (slash != NULL)
		return 0;
	return 1;
}

/*
 * path_clean() : no empty, "." or ".." segment (also percent-encoded) and
 * no backslash, so the upstream cannot normalise a path into another one.
 */
static int
path_clean(const char *p, size_t n)
{
	size_t	 i, s;
	char	 seg[16];
	size_t	 sl;

	if (n == 0 || p[0] != '/')
		return 0;
	for (i = 1, s = 1; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (i == s && i != n)
				return 0;	/* "//" */
			if (i - s < 10 && decode_seg(p + s, i - s, seg,
			    sizeof(seg), &sl) == 0 &&
			    (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0))
				return 0;
			s = i + 1;
		} else if (p[i] == '\\')
			return 0;
	}
	return 1;
}

/*
 * px_conn_classify() : see proxy-int.h.  Reads (GET, HEAD, OPTIONS, and
 * POST/PUT/DELETE under /-/ that are not package writes) stream through;
 * PUT /<name> is a publish, POST /-/stage/package/<name> a stage publish;
 * -rev, tarball DELETEs and /-/package/<name>/... are other writes.
 */
int
px_conn_classify(int method, const char *path, size_t n, char *name,
    size_t namelen, const char **kind)
{
	const char	*segs[8];
	size_t		 lens[8], nseg = 0, i, s, nl;
	char		 tmp[PX_NAME_MAX + 8];

	*kind = "read";
	name[0] = '\0';
	if (method == HTTP_GET || method == HTTP_HEAD || method == HTTP_OPTIONS)
		return PX_ROUTE_READ;
	if (!path_clean(path, n))
		return -1;
	for (i = 1, s = 1; i <= n && nseg < 8; i++) {
		if (i == n || path[i] == '/') {
			segs[nseg] = path + s;
			lens[nseg++] = i - s;
			s = i + 1;
		}
	}
	if (i <= n)
		nseg = 8;	/* too many segments: not a package path */

	/* Registry API paths under /-/ (login, tokens, audit, orgs, ...). */
	if (nseg >= 1 && lens[0] == 1 && segs[0][0] == '-') {
		if (method == HTTP_POST && nseg == 4 && lens[1] == 5 &&
		    memcmp(segs[1], "stage", 5) == 0 && lens[2] == 7 &&
		    memcmp(segs[2], "package", 7) == 0) {
			if (decode_seg(segs[3], lens[3], name, namelen, &nl) ==
			    -1 || !name_ok(name, nl))
				return -1;
			*kind = "stage-publish";
			return PX_ROUTE_STAGE;
		}
		if (method == HTTP_POST && nseg == 5 && lens[1] == 5 &&
		    memcmp(segs[1], "stage", 5) == 0 && lens[2] == 7 &&
		    memcmp(segs[2], "package", 7) == 0 && segs[3][0] == '@') {
			if (lens[3] + lens[4] + 2 > sizeof(tmp))
				return -1;
			memcpy(tmp, segs[3], lens[3] + 1 + lens[4]);
			if (decode_seg(tmp, lens[3] + 1 + lens[4], name,
			    namelen, &nl) == -1 || !name_ok(name, nl))
				return -1;
			*kind = "stage-publish";
			return PX_ROUTE_STAGE;
		}
		if (nseg >= 3 && lens[1] == 7 &&
		    memcmp(segs[1], "package", 7) == 0) {
			/* /-/package/<name>/dist-tags[/<tag>], /access, ... */
			size_t	 k = 2, ns = 1;

			if (segs[2][0] == '@' && nseg >= 4 &&
			    memchr(segs[2], '%', lens[2]) == NULL)
				ns = 2;
			if (lens[k] + (ns == 2 ? lens[k + 1] + 1 : 0) >=
			    sizeof(tmp))
				return -1;
			memcpy(tmp, segs[k], lens[k] + (ns == 2 ?
			    lens[k + 1] + 1 : 0));
			if (decode_seg(tmp, lens[k] + (ns == 2 ?
			    lens[k + 1] + 1 : 0), name, namelen, &nl) == -1 ||
			    !name_ok(name, nl))
				return -1;
			k += ns;
			if (k < nseg && lens[k] == 9 &&
			    memcmp(segs[k], "dist-tags", 9) == 0)
				*kind = "dist-tag";
			else
				*kind = "access";
			return PX_ROUTE_WRITE;
		}
		return PX_ROUTE_READ;
	}
	if (method != HTTP_PUT && method != HTTP_DELETE)
		return method == HTTP_POST ? PX_ROUTE_READ : -1;

	/* /<name>, /@scope/name or /@scope%2fname, then maybe /-rev/... */
	if (nseg == 0 || nseg == 8)
		return -1;
	i = 1;
	if (segs[0][0] == '@' && memchr(segs[0], '%', lens[0]) == NULL &&
	    nseg >= 2)
		i = 2;
	nl = lens[0] + (i == 2 ? lens[1] + 1 : 0);
	if (nl >= sizeof(tmp))
		return -1;
	memcpy(tmp, segs[0], nl);
	if (decode_seg(tmp, nl, name, namelen, &nl) == -1 ||
	    !name_ok(name, nl))
		return -1;
	if (nseg == i) {
		if (method == HTTP_DELETE) {
			*kind = "unpublish";
			return PX_ROUTE_WRITE;
		}
		*kind = "publish";
		return PX_ROUTE_PUBLISH;
	}
	if (lens[i] == 4 && memcmp(segs[i], "-rev", 4) == 0) {
		*kind = "unpublish";
		return PX_ROUTE_WRITE;
	}
	if (method == HTTP_DELETE && lens[i] == 1 && segs[i][0] == '-') {
		/* DELETE /<name>/-/<file>/-rev/<rev> */
		*kind = "unpublish";
		return PX_ROUTE_WRITE;
	}
	return -1;
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

/* ------------------------------------------------- request callbacks */

static int
req_on_message_begin(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	px_http_head_reset(&conn->req);
	conn->head_done = conn->msg_done = 0;
	conn->body_bytes = 0;
	conn->err_status = 0;
	conn->err_text = NULL;
	conn->req_chunked = 0;
	conn->route = PX_ROUTE_READ;
	conn->kind = "read";
	conn->pkg[0] = '\0';
	conn->who[0] = '\0';
	conn->rule[0] = '\0';
	conn->verdict = "-";
	conn->status = 0;
	conn->up_status = 0;
	conn->bytes_in = 0;
	conn->bytes_out = 0;
	conn->retried = 0;
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
		px_conn_set_state(conn, PX_CONN_BODY);
		return 0;
	}
	r = px_conn_classify(p->method, url, plen, conn->pkg,
	    sizeof(conn->pkg), &conn->kind);
	if (r == -1)
		return req_fail(conn, 400, "pubgate: this write is not a "
		    "recognised registry request; it was not forwarded");
	conn->route = (enum px_route)r;
	if ((auth = px_http_head_get(&conn->req, "authorization",
	    &alen)) != NULL)
		px_spool_who(auth, alen, conn->who);

	/* Expect: 100-continue is answered here (RFC 9110 10.1.1). */
	if (px_http_head_get(&conn->req, "expect", NULL) != NULL)
		evbuffer_add_printf(bufferevent_get_output(conn->client),
		    "HTTP/1.1 100 Continue\r\n\r\n");

	if (conn->route == PX_ROUTE_PUBLISH || conn->route == PX_ROUTE_STAGE) {
		px_conn_set_state(conn, PX_CONN_SPOOL);
		if (px_spool_begin(conn) == -1)
			return HPE_USER;	/* err_status set */
		return 0;
	}
	if (conn->route == PX_ROUTE_WRITE) {
		struct pol_reason	 why;

		if (pol_check_write(ctx->policy, conn->pkg, conn->kind, &why) !=
		    POL_ALLOW) {
			conn->verdict = "deny";
			snprintf(conn->rule, sizeof(conn->rule), "%s",
			    why.rule);
			snprintf(conn->err_buf, sizeof(conn->err_buf),
			    "pubgate: %s (rule %s)\nfix: %s", why.text,
			    why.rule, why.hint);
			if (px_spool_record(conn, POL_DENY, 403, NULL) == -1)
				return req_fail(conn, 503, "pubgate: the "
				    "decision could not be recorded; nothing "
				    "was forwarded");
			return req_fail(conn, 403, conn->err_buf);
		}
		if (px_spool_record(conn, POL_ALLOW, 0, NULL) == -1)
			return req_fail(conn, 503, "pubgate: the decision "
			    "could not be recorded; nothing was forwarded");
		conn->verdict = "allow";
	}
	has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
	conn->req_chunked = (p->flags & F_CHUNKED) != 0;
	if (px_fwd_connect(conn) == -1)
		return req_fail(conn, 502, "pubgate: cannot reach the upstream "
		    "registry");
	if (px_fwd_request_head(conn, conn->req_chunked,
	    has_body && !conn->req_chunked ? p->content_length : 0) == -1)
		return req_fail(conn, 500, "out of memory");
	px_conn_set_state(conn, PX_CONN_BODY);
	return 0;
}

static int
req_on_headers_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	conn->head_done = 1;
	return route(conn);
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
	default:
		px_fwd_body(conn, at, len);
		break;
	}
	return 0;
}

static int
req_on_message_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	conn->msg_done = 1;
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
 * drive_loop() : feeds client input to the request parser until it runs
 * out, a request waits for its response, or the upstream is full.
 * Returns -1 if the conn was freed.
 */
static int
drive_loop(struct px_conn *conn)
{
	struct evbuffer		*in;
	struct evbuffer_iovec	 v;
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
		    conn->state == PX_CONN_REPLAY)
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
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return 0;
		n = v.iov_len < PX_FEED_CHUNK ? v.iov_len : PX_FEED_CHUNK;
		err = llhttp_execute(&conn->reqp, v.iov_base, n);
		if (err == HPE_OK)
			used = n;
		else if (err == HPE_PAUSED)
			used = (size_t)(llhttp_get_error_pos(&conn->reqp) -
			    (const char *)v.iov_base);
		else {
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
	px_log_quote(path, sizeof(path), path);
	px_log_info("conn=%llu req=%s client=%s method=%s path=%s kind=%s "
	    "pkg=%s status=%d verdict=%s rule=%s upstream_status=%d "
	    "bytes_in=%llu bytes_out=%llu ms=%llu",
	    (unsigned long long)conn->id, conn->reqid, conn->peer,
	    llhttp_method_name((llhttp_method_t)conn->method), path,
	    conn->kind, conn->pkg[0] ? px_log_quote(pkg, sizeof(pkg),
	    conn->pkg) : "-", conn->status, conn->verdict,
	    conn->rule[0] ? conn->rule : "-", conn->up_status,
	    (unsigned long long)conn->bytes_in,
	    (unsigned long long)conn->bytes_out,
	    (unsigned long long)(px_now_ms() - conn->t_start_ms));
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
	px_spool_reset(conn);
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
	TAILQ_REMOVE(&ctx->conns, conn, entry);
	ctx->nconns--;
	free(conn);
	if (ctx->draining && ctx->nconns == 0)
		event_base_loopexit(ctx->base, NULL);
}

/* --------------------------------------------------- client callbacks */

static void
client_readcb(struct bufferevent *bev, void *arg)
{
	px_conn_drive(arg);
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
	if (conn->paused_up && out <= PX_HIGH_WATER / 2 && conn->up != NULL) {
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
		    conn->state == PX_CONN_REPLAY) {
			conn->resp_close = 1;	/* answer, then close */
			return;
		}
		px_conn_close(conn, "client closed");
	}
}

/* ---------------------------------------------------------- accepting */

static struct px_conn	*conn_start(struct px_conn *);

struct px_conn *
px_conn_new(struct px_ctx *ctx, evutil_socket_t fd, const struct sockaddr *sa,
    int salen, SSL_CTX *sslctx)
{
	struct px_conn	*conn;
	SSL		*ssl;
	char		 host[INET6_ADDRSTRLEN];
	int		 one = 1, port = 0;
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
	host[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET && salen >= (int)sizeof(
	    struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6 && salen >=
	    (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
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

	TAILQ_INSERT_TAIL(&ctx->conns, conn, entry);
	ctx->nconns++;
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
	bufferevent_setwatermark(conn->client, EV_WRITE, PX_HIGH_WATER / 2, 0);
	bufferevent_setwatermark(conn->client, EV_READ, 0, PX_HIGH_WATER);
	/* Bigger reads: fewer syscalls, fewer and larger pieces to parse. */
	bufferevent_set_max_single_read(conn->client, PX_FEED_CHUNK);
	bufferevent_set_max_single_write(conn->client, PX_FEED_CHUNK);
	set_timeouts(conn->client, ctx->cfg->idle_ms, ctx->cfg->request_ms);
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
		event_base_loopexit(ctx->base, NULL);
}
