/*
 * proxy/core/fwd.c: the upstream side of a connection.
 *
 * It connects to the upstream registry (an address resolve.c keeps for
 * the reverse proxy's upstream; egress hosts by bufferevent_socket_
 * connect_hostname; TLS always verified, see tls.c), writes the request
 * head with Host rewritten and hop-by-hop fields dropped (RFC 9110 7.6.1),
 * frames the request body (Content-Length kept, chunked re-framed), and
 * parses the response with llhttp to relay it: head minus hop-by-hop
 * fields, body passed through by length or re-framed as chunked (or close
 * delimited for HTTP/1.0 clients).  Interim 1xx responses are dropped
 * (the gate answers Expect itself).
 *
 * Backpressure: upstream input is parsed in PX_FEED_CHUNK steps only
 * while the client's output is under PX_RELAY_HIGH; past it upstream
 * reads stop, and conn.c restarts them when the client drains to half.
 * The upstream connection stays with its client connection across
 * keep-alive requests when both sides allow it.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "gzs.h"
#include "log.h"
#include "proxy-int.h"
#include "store.h"

static void	up_readcb(struct bufferevent *, void *);
static void	up_writecb(struct bufferevent *, void *);
static void	up_eventcb(struct bufferevent *, short, void *);
static int	rw_target(struct px_conn *);
static int	is_packument_path(const char *, size_t);

/* set_tv() : ms into a timeval. */
static struct timeval *
set_tv(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* ------------------------------------------------------ upstream pool */

/*
 * Idle keep-alive connections to the reverse proxy's upstream outlive the
 * client connection that opened them: px_fwd_free_up() parks one whose
 * last response was complete and reusable (LIFO, at most pool.max_idle,
 * for at most pool.idle_timeout, below the 5 s keep-alive of Node
 * registries); px_fwd_connect() takes the most recent one before dialing.
 * A pooled connection that speaks, closes, errs or times out is dropped.
 * A GET or HEAD that fails on a reused connection before any response
 * byte is sent once more on a fresh connection (the peer may have closed
 * it just then); one whose fresh connect fails is sent again on the next
 * address (connect_failed()).
 */
static void
pool_drop(struct px_pooled *pp)
{
	struct px_ctx	*ctx = pp->ctx;

	TAILQ_REMOVE(&ctx->pool, pp, entry);
	ctx->npool--;
	bufferevent_setcb(pp->bev, NULL, NULL, NULL, NULL);
	bufferevent_free(pp->bev);
	free(pp);
}

static void
pool_readcb(struct bufferevent *bev, void *arg)
{
	pool_drop(arg);		/* unsolicited bytes: not reusable */
}

static void
pool_eventcb(struct bufferevent *bev, short what, void *arg)
{
	pool_drop(arg);
}

void
px_fwd_pool_free(struct px_ctx *ctx)
{
	while (!TAILQ_EMPTY(&ctx->pool))
		pool_drop(TAILQ_FIRST(&ctx->pool));
	/* Draining conns may still dial; the last one out frees it. */
	if (ctx->nconns == 0)
		px_resolve_free(ctx);
}

/* pool_park() : parks bev, idle and reusable; 0, or -1 if it must be freed. */
static int
pool_park(struct px_ctx *ctx, struct bufferevent *bev)
{
	struct px_pooled	*pp;
	struct timeval		 tv;

	if (ctx->draining || ctx->npool >= ctx->cfg->pool_max ||
	    evbuffer_get_length(bufferevent_get_input(bev)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return -1;
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return -1;
	pp->ctx = ctx;
	pp->bev = bev;
	bufferevent_setcb(pp->bev, pool_readcb, NULL, pool_eventcb, pp);
	bufferevent_set_timeouts(pp->bev, set_tv(&tv, ctx->cfg->pool_idle_ms),
	    NULL);
	bufferevent_enable(pp->bev, EV_READ);
	TAILQ_INSERT_HEAD(&ctx->pool, pp, entry);
	ctx->npool++;
	return 0;
}

/* pool_put() : parks conn's idle upstream; 0, or -1 if it must be freed. */
static int
pool_put(struct px_conn *conn)
{
	if (conn->eg_up != NULL || !conn->up_reusable || !conn->up_connected ||
	    conn->up_eof)
		return -1;
	return pool_park(conn->ctx, conn->up);
}

/* pool_get() : the most recently parked upstream, or NULL. */
static struct bufferevent *
pool_get(struct px_ctx *ctx)
{
	struct px_pooled	*pp;
	struct bufferevent	*bev;

	if ((pp = TAILQ_FIRST(&ctx->pool)) == NULL)
		return NULL;
	TAILQ_REMOVE(&ctx->pool, pp, entry);
	ctx->npool--;
	bev = pp->bev;
	free(pp);
	return bev;
}

struct bufferevent *
px_fwd_pool_take(struct px_ctx *ctx)
{
	return pool_get(ctx);
}

void
px_fwd_pool_give(struct px_ctx *ctx, struct bufferevent *bev, int tls)
{
	SSL	*ssl;

	if (pool_park(ctx, bev) == 0)
		return;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	if (tls && (ssl = bufferevent_openssl_get_ssl(bev)) != NULL)
		SSL_shutdown(ssl);
	bufferevent_free(bev);
}

void
px_fwd_free_up(struct px_conn *conn)
{
	SSL	*ssl;

	px_resolve_cancel(conn);
	if (conn->up == NULL)
		return;
	if (pool_put(conn) == 0) {
		conn->up = NULL;
		conn->up_connected = 0;
		conn->up_reusable = 0;
		conn->up_eof = 0;
		conn->paused_up = 0;
		if (conn->paused_client && conn->client != NULL) {
			conn->paused_client = 0;
			bufferevent_enable(conn->client, EV_READ);
		}
		return;
	}
	bufferevent_setcb(conn->up, NULL, NULL, NULL, NULL);
	if (px_conn_up(conn)->tls && conn->up_connected &&
	    (ssl = bufferevent_openssl_get_ssl(conn->up)) != NULL)
		SSL_shutdown(ssl);
	bufferevent_free(conn->up);
	conn->up = NULL;
	conn->up_connected = 0;
	conn->up_reusable = 0;
	conn->up_eof = 0;
	conn->paused_up = 0;
	if (conn->paused_client && conn->client != NULL) {
		conn->paused_client = 0;
		bufferevent_enable(conn->client, EV_READ);
	}
}

/* ------------------------------------------------- response callbacks */

static int
resp_on_message_begin(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	px_http_head_reset(&conn->resp);
	conn->resp_1xx = 0;
	conn->resp_raw_left = 0;
	return 0;
}

static int
resp_on_status(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_url(&conn->resp, at, len) == -1) {
		llhttp_set_error_reason(p, "response head too large");
		return HPE_USER;
	}
	return 0;
}

static int
resp_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_field(&conn->resp, at, len) == -1) {
		llhttp_set_error_reason(p, "response head too large");
		return HPE_USER;
	}
	return 0;
}

static int
resp_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;

	if (px_http_head_value(&conn->resp, at, len) == -1) {
		llhttp_set_error_reason(p, "response head too large");
		return HPE_USER;
	}
	return 0;
}

/* is_named() : field i of h is called name. */
static int
is_named(const struct px_head *h, size_t i, const char *name)
{
	size_t	 n = strlen(name);

	return h->hdrs[i].name_len == n &&
	    strncasecmp(h->buf + h->hdrs[i].name, name, n) == 0;
}

/* is_json() : a JSON body (application/json, vnd.npm.install-v1+json). */
static int
is_json(const struct px_head *h)
{
	const char	*v;
	size_t		 n, i;

	if ((v = px_http_head_get(h, "content-type", &n)) == NULL)
		return 0;
	for (i = 0; i + 4 <= n; i++)
		if (strncasecmp(v + i, "json", 4) == 0)
			return 1;
	return 0;
}

/*
 * coding() : the response's content coding: 0 none (or identity), 1 gzip
 * (one field, "gzip" or "x-gzip"), -1 anything else.
 */
static int
coding(const struct px_head *h)
{
	const char	*v;
	size_t		 n;

	if ((v = px_http_head_get(h, "content-encoding", &n)) == NULL)
		return 0;
	if (px_http_head_count(h, "content-encoding") != 1)
		return -1;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n == 8 && strncasecmp(v, "identity", 8) == 0)
		return 0;
	if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(v, "x-gzip", 6) == 0))
		return 1;
	return -1;
}

/*
 * accepts_gzip() : the request's Accept-Encoding fields take gzip: gzip
 * (or x-gzip) listed with a q above 0, or "*" so listed and gzip not
 * named.  No field: no (RFC 9110 12.5.3 allows any, npm sends one).
 */
static int
accepts_gzip(const struct px_head *h)
{
	const char	*v, *end, *tok, *tend, *q;
	size_t		 i, tl;
	int		 gzip = -1, star = -1, ok;

	for (i = 0; i < h->nhdrs; i++) {
		if (h->hdrs[i].name_len != 15 || strncasecmp(h->buf +
		    h->hdrs[i].name, "accept-encoding", 15) != 0)
			continue;
		v = h->buf + h->hdrs[i].value;
		end = v + h->hdrs[i].value_len;
		while (v < end) {
			while (v < end && (*v == ' ' || *v == '\t' ||
			    *v == ','))
				v++;
			tok = v;
			while (v < end && *v != ',' && *v != ';' && *v != ' ' &&
			    *v != '\t')
				v++;
			tl = (size_t)(v - tok);
			tend = v;
			while (v < end && *v != ',')
				v++;
			/* q=0, q=0.0...: refused; anything else takes it. */
			ok = 1;
			for (q = tend; q + 2 < v; q++)
				if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
					const char *d = q + 2;

					ok = 0;
					while (d < v && (*d == '0' || *d == '.'))
						d++;
					if (d < v && *d >= '1' && *d <= '9')
						ok = 1;
					break;
				}
			if ((tl == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
			    (tl == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
				gzip = ok;
			else if (tl == 1 && *tok == '*')
				star = ok;
		}
	}
	return gzip == 1 || (gzip == -1 && star == 1);
}

/* ------------------------------------------------ packument cache */

/*
 * The gate keeps what it sent for a rewritten packument (pcache.c) and
 * asks the upstream whether it changed before sending it again.  These
 * decide which requests and answers take part; see pcache.c's header.
 */

void
px_fwd_pc_end(struct px_conn *conn)
{
	px_pcache_unref(conn->pc_hit);
	conn->pc_hit = NULL;
	if (conn->pc_fill != NULL)
		px_pcache_fill_abort(conn->pc_fill);
	conn->pc_fill = NULL;
	conn->pc_keylen = 0;
	conn->pc_had = 0;
}

/*
 * pc_key() : conn's cache key into pc_key (0: not cacheable).  A request
 * with credentials has their SHA-256 in its key: only the same
 * Authorization value is ever sent that entry, and only after the
 * upstream, asked with that value, said 304.
 */
static void
pc_key(struct px_conn *conn)
{
	static const char *const skip[] = { "cookie", "if-none-match",
	    "if-modified-since", "if-match", "if-unmodified-since",
	    "if-range", "range" };
	const struct px_head	*h = &conn->req;
	const char		*acc, *auth;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 who[2 * 32 + 1];
	size_t			 i, al = 0;
	int			 n;

	conn->pc_keylen = 0;
	if (conn->ctx->cfg->pcache.off || !conn->rw_candidate ||
	    conn->eg_up != NULL || rw_target(conn) == -1 ||
	    strcmp(conn->rw_to, conn->ctx->cfg->up_origin) == 0)
		return;
	for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (px_http_head_get(h, skip[i], &al) != NULL)
			return;
	if (px_http_head_count(h, "accept") > 1 ||
	    px_http_head_count(h, "authorization") > 1)
		return;
	who[0] = '\0';
	if ((auth = px_http_head_get(h, "authorization", &al)) != NULL) {
		if (EVP_Digest(auth, al, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		    mdlen != 32)
			return;
		px_hex(md, 32, who);
		explicit_bzero(md, sizeof(md));
	}
	if ((acc = px_http_head_get(h, "accept", &al)) == NULL) {
		acc = "";
		al = 0;
	}
	n = snprintf(conn->pc_key, sizeof(conn->pc_key),
	    "%.*s\n%s\n%.*s\n%d\n%s", (int)h->url_len, h->buf + h->url,
	    conn->rw_to, (int)al, acc, conn->accept_gzip, who);
	if (n > 0 && (size_t)n < sizeof(conn->pc_key))
		conn->pc_keylen = (size_t)n;
}

/* has_token() : the comma list v (n bytes) names tok, any case. */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t	 tl = strlen(tok), i;

	for (i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0 &&
		    (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ' ||
		    v[i - 1] == '\t') && (i + tl == n || v[i + tl] == ',' ||
		    v[i + tl] == ' ' || v[i + tl] == '\t' || v[i + tl] == '=' ||
		    v[i + tl] == ';'))
			return 1;
	return 0;
}

/* pc_storable() : the answer may be kept: its ETag, or NULL. */
static const char *
pc_storable(const struct px_head *h, size_t *etaglen)
{
	const char	*v, *tok;
	size_t		 n, i, tl;

	if (px_http_head_count(h, "etag") != 1 ||
	    px_http_head_get(h, "set-cookie", &n) != NULL)
		return NULL;
	for (i = 0; i < h->nhdrs; i++) {
		if (is_named(h, i, "cache-control")) {
			v = h->buf + h->hdrs[i].value;
			n = h->hdrs[i].value_len;
			if (has_token(v, n, "no-store") ||
			    has_token(v, n, "private"))
				return NULL;
		} else if (is_named(h, i, "vary")) {
			/* Only what the key holds. */
			v = h->buf + h->hdrs[i].value;
			n = h->hdrs[i].value_len;
			while (n > 0) {
				while (n > 0 && (*v == ',' || *v == ' ' ||
				    *v == '\t')) {
					v++;
					n--;
				}
				tok = v;
				while (n > 0 && *v != ',' && *v != ' ' &&
				    *v != '\t') {
					v++;
					n--;
				}
				tl = (size_t)(v - tok);
				if (tl == 0)
					continue;
				if (!(tl == 6 && strncasecmp(tok, "accept",
				    6) == 0) && !(tl == 15 && strncasecmp(tok,
				    "accept-encoding", 15) == 0))
					return NULL;
			}
		}
	}
	v = px_http_head_get(h, "etag", &n);
	if (n == 0 || n >= PX_PC_ETAG_MAX || memchr(v, '\r', n) != NULL ||
	    memchr(v, '\n', n) != NULL)
		return NULL;
	*etaglen = n;
	return v;
}

/*
 * pc_fresh() : field i of the upstream's 304 updates the kept answer's
 * (RFC 9111 4.3.4: Date, Cache-Control, ETag, Expires...), unless it
 * frames or describes the kept body.
 */
static int
pc_fresh(const struct px_head *r, size_t i)
{
	static const char *const body[] = { "content-length",
	    "content-encoding", "content-type", "content-range", "vary" };
	size_t	 k;

	if (px_http_hop_by_hop(r, i))
		return 0;
	for (k = 0; k < sizeof(body) / sizeof(body[0]); k++)
		if (is_named(r, i, body[k]))
			return 0;
	return 1;
}

/*
 * pc_serve() : the upstream said 304 to the If-None-Match the gate sent
 * for conn->pc_hit: the kept answer goes out, whole and framed by length,
 * with the header fields the 304 carries in place of the kept ones.  0,
 * or -1 (out of memory).
 */
static int
pc_serve(struct px_conn *conn)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);
	const struct px_head *r = &conn->resp;
	struct evbuffer	*body;
	const char	*head, *p, *end, *eol, *colon;
	size_t		 headlen, len, i;
	int		 gzip, replaced;

	if ((body = evbuffer_new()) == NULL)
		return -1;
	if (px_pcache_serve(conn->pc_hit, &head, &headlen, body, &gzip,
	    &len) == -1) {
		evbuffer_free(body);
		return -1;
	}
	evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n");
	for (p = head, end = head + headlen; p < end; p = eol + 2) {
		if ((eol = memchr(p, '\r', (size_t)(end - p))) == NULL)
			break;	/* never: the gate wrote these lines */
		colon = memchr(p, ':', (size_t)(eol - p));
		replaced = 0;
		for (i = 0; colon != NULL && i < r->nhdrs && !replaced; i++)
			replaced = r->hdrs[i].name_len == (size_t)(colon - p) &&
			    strncasecmp(r->buf + r->hdrs[i].name, p,
			    r->hdrs[i].name_len) == 0 && pc_fresh(r, i);
		if (!replaced)
			evbuffer_add(out, p, (size_t)(eol - p) + 2);
	}
	for (i = 0; i < r->nhdrs; i++)
		if (pc_fresh(r, i))
			evbuffer_add_printf(out, "%.*s: %.*s\r\n",
			    (int)r->hdrs[i].name_len, r->buf + r->hdrs[i].name,
			    (int)r->hdrs[i].value_len,
			    r->buf + r->hdrs[i].value);
	px_pcache_unref(conn->pc_hit);	/* body holds its own reference */
	conn->pc_hit = NULL;
	conn->pc_log = "hit";
	conn->status = 200;
	conn->resp_gzip = gzip;
	conn->resp_mode = PX_RESP_NONE;
	conn->resp_raw_left = 0;
	if (!conn->keepalive || conn->ctx->draining)
		conn->resp_close = 1;
	evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: %s\r\n"
	    "\r\n", len, conn->resp_close ? "close" : "keep-alive");
	conn->resp_head_sent = 1;
	conn->bytes_out += len;
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
	return 0;
}

void
px_fwd_gz_free(struct px_conn *conn)
{
	px_gzs_free(conn->gz_in);
	conn->gz_in = NULL;
	px_gzs_free(conn->gz_out);
	conn->gz_out = NULL;
	if (conn->gz_obuf != NULL) {
		evbuffer_free(conn->gz_obuf);
		conn->gz_obuf = NULL;
	}
	conn->gz_in_end = 0;
}

/* gz_start() : the streams of one response; 0 or -1 (out of memory). */
static int
gz_start(struct px_conn *conn, int out)
{
	px_fwd_gz_free(conn);
	if ((conn->gz_in = px_gzs_inflater()) == NULL)
		return -1;
	if (!out)
		return 0;
	if ((conn->gz_obuf = evbuffer_new()) == NULL ||
	    (conn->gz_out = px_gzs_deflater()) == NULL) {
		px_fwd_gz_free(conn);
		return -1;
	}
	return 0;
}

/*
 * pc_fill_start() : a rewritten 200 the cache may keep: its header lines
 * (out from lines on) are copied and the body is teed by emit().  (A
 * bufferevent's output is frozen at its start: evbuffer_copyout_from()
 * refuses it, evbuffer_peek() does not.)
 */
static void
pc_fill_start(struct px_conn *conn, struct evbuffer *out, size_t lines)
{
	struct evbuffer_ptr	 pos;
	struct evbuffer_iovec	 v[8];
	const char		*etag;
	char			 head[PX_PC_HEAD_MAX];
	size_t			 etaglen, n = evbuffer_get_length(out) - lines;
	size_t			 got = 0, k;
	int			 nv, i;

	if ((etag = pc_storable(&conn->resp, &etaglen)) == NULL ||
	    n > sizeof(head) ||
	    evbuffer_ptr_set(out, &pos, lines, EVBUFFER_PTR_SET) == -1 ||
	    (nv = evbuffer_peek(out, (ev_ssize_t)n, &pos, v, 8)) < 1 ||
	    nv > 8)
		return;
	for (i = 0; i < nv && got < n; i++) {
		k = v[i].iov_len < n - got ? v[i].iov_len : n - got;
		memcpy(head + got, v[i].iov_base, k);
		got += k;
	}
	if (got != n)
		return;
	conn->pc_fill = px_pcache_fill_start(conn->ctx, conn->pc_key,
	    conn->pc_keylen, etag, etaglen, conn->gz_out != NULL, head, n);
}

/*
 * resp_on_headers_complete() : writes the response head to the client.
 * Returns 1 (no body) for a HEAD request, as llhttp cannot know that.
 */
static int
resp_on_headers_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;
	struct evbuffer	*out = bufferevent_get_output(conn->client);
	struct px_head	*h = &conn->resp;
	int		 status = p->status_code;
	size_t		 i, lines;
	int		 keep_cl = 0, enc, rewrite;

	if (status < 200) {
		if (status == 101) {
			llhttp_set_error_reason(p, "unexpected 101");
			return HPE_USER;
		}
		conn->resp_1xx = 1;	/* interim: dropped */
		return 0;
	}
	conn->up_status = status;
	conn->status = status;
	if (conn->audit_id > 0)
		px_spool_status(conn, status);	/* an allowed write's outcome */
	if (conn->pc_hit != NULL) {
		if (status == 304) {
			/* Unchanged: the kept answer, not the 304. */
			if (pc_serve(conn) == -1) {
				llhttp_set_error_reason(p, "out of memory");
				return HPE_USER;
			}
			return 1;	/* a 304 has no body, whatever its fields */
		}
		px_pcache_unref(conn->pc_hit);	/* changed, or gone */
		conn->pc_hit = NULL;
	}
	if (conn->method == HTTP_HEAD || status == 204 || status == 304) {
		conn->resp_mode = PX_RESP_NONE;
		keep_cl = 1;
	} else if (p->flags & F_CHUNKED)
		conn->resp_mode = conn->http_minor >= 1 ? PX_RESP_CHUNKED :
		    PX_RESP_EOF;
	else if (p->flags & F_CONTENT_LENGTH)
		conn->resp_mode = PX_RESP_LENGTH;
	else
		conn->resp_mode = conn->http_minor >= 1 ? PX_RESP_CHUNKED :
		    PX_RESP_EOF;
	conn->rw_active = 0;
	conn->rw_nop = 0;
	conn->rw_carry_len = 0;
	px_fwd_gz_free(conn);
	if (conn->rw_candidate && status == 200 &&
	    conn->resp_mode != PX_RESP_NONE && is_json(h) &&
	    (enc = coding(h)) != -1) {
		/*
		 * A packument: rewritten when its tarball URLs must name the
		 * gate; a gzip one is inflated for that (and re-compressed
		 * for a client that takes gzip), or only inflated for a
		 * client that does not.  Else it passes untouched.
		 */
		rewrite = conn->eg_up == NULL && rw_target(conn) == 0 &&
		    strcmp(conn->rw_to, conn->ctx->cfg->up_origin) != 0;
		if ((rewrite || (enc == 1 && !conn->accept_gzip)) &&
		    (conn->rw_buf != NULL ||
		    (conn->rw_buf = evbuffer_new()) != NULL)) {
			if (enc == 1 && gz_start(conn, conn->accept_gzip) ==
			    -1) {
				llhttp_set_error_reason(p, "out of memory");
				return HPE_USER;
			}
			conn->rw_active = 1;
			conn->rw_nop = !rewrite;
			conn->resp_mode = conn->http_minor >= 1 ?
			    PX_RESP_CHUNKED : PX_RESP_EOF;
		}
	}
	/*
	 * A body of known length that is not rewritten bypasses llhttp and
	 * moves from buffer to buffer without a copy (px_fwd_drive); llhttp is
	 * told the message has no body and resumes after it.
	 */
	conn->resp_raw_left = 0;
	if (conn->resp_mode == PX_RESP_LENGTH && !conn->rw_active &&
	    p->content_length > 0)
		conn->resp_raw_left = p->content_length;
	if (conn->resp_mode == PX_RESP_EOF || !conn->keepalive ||
	    conn->ctx->draining)
		conn->resp_close = 1;
	if (h->url_len > 0)
		evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", status,
		    (int)h->url_len, h->buf + h->url);
	else
		evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
		    px_http_reason(status));
	lines = evbuffer_get_length(out);
	for (i = 0; i < h->nhdrs; i++) {
		if (px_http_hop_by_hop(h, i))
			continue;
		if (is_named(h, i, "content-length") && !keep_cl)
			continue;
		/* Inflated for a client that does not take gzip. */
		if (conn->gz_in != NULL && conn->gz_out == NULL &&
		    is_named(h, i, "content-encoding"))
			continue;
		/* What the client gets, for the access log's enc=. */
		if (is_named(h, i, "content-encoding") &&
		    h->hdrs[i].value_len == 4 &&
		    strncasecmp(h->buf + h->hdrs[i].value, "gzip", 4) == 0)
			conn->resp_gzip = 1;
		evbuffer_add_printf(out, "%.*s: %.*s\r\n",
		    (int)h->hdrs[i].name_len, h->buf + h->hdrs[i].name,
		    (int)h->hdrs[i].value_len, h->buf + h->hdrs[i].value);
	}
	if (conn->notice != NULL)
		evbuffer_add_printf(out, "npm-notice: %s\r\n", conn->notice);
	if (conn->gz_in != NULL && px_http_head_get(h, "vary", &i) == NULL)
		evbuffer_add_printf(out, "Vary: Accept-Encoding\r\n");
	if (conn->rw_active && conn->pc_keylen > 0) {
		/*
		 * A packument the cache could keep: a miss when nothing was
		 * kept for it (a 404, or a path that only looks like a
		 * packument's, is none), else the kept one changed.
		 */
		if (conn->pc_had)
			conn->pc_log = "changed";
		else {
			conn->pc_log = "miss";
			PX_MADD(conn->ctx->m->pcache[PX_PC_MISS], 1);
		}
		if (conn->notice == NULL)
			pc_fill_start(conn, out, lines);
	}
	if (conn->resp_mode == PX_RESP_LENGTH)
		evbuffer_add_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)p->content_length);
	else if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
	evbuffer_add_printf(out, "Connection: %s\r\n\r\n",
	    conn->resp_close ? "close" : "keep-alive");
	conn->resp_head_sent = 1;
	/* No body after HEAD, 204 or 304, whatever Content-Length says. */
	return conn->resp_mode == PX_RESP_NONE || conn->resp_raw_left > 0 ?
	    1 : 0;
}

/* ------------------------------------------------ tarball URL rewrite */

/*
 * Packuments name their tarballs by absolute URL, built by the upstream
 * from the Host it saw (Verdaccio) or its own origin (registry.npmjs.org).
 * For installs to come back through the gate, a 200 JSON answer to a GET
 * of a packument has every occurrence of the upstream origin
 * ("scheme://host[:port][/prefix]/") replaced by the gate's public URL:
 * public_url when configured, else the listener's scheme and the Host the
 * client used.  The body is streamed: a partial match at the end of a
 * chunk is carried (at most the origin's length) into the next one.  The
 * request for such a document is sent without Accept-Encoding so the
 * answer is plain text; the rewritten body is re-framed as chunked.
 */

/* is_packument_path() : "/name", "/@scope%2fname" or "/@scope/name". */
static int
is_packument_path(const char *u, size_t len)
{
	size_t	 i, slashes = 0, n;

	for (n = 0; n < len && u[n] != '?' && u[n] != '#'; n++)
		;
	if (n < 2 || u[0] != '/' || u[1] == '-')
		return 0;
	for (i = 1; i < n; i++)
		if (u[i] == '/')
			slashes++;
	if (slashes == 0)
		return 1;
	return slashes == 1 && u[1] == '@' && u[n - 1] != '/';
}

/* rw_target() : fills conn->rw_to; 0, or -1 when no usable URL is known. */
static int
rw_target(struct px_conn *conn)
{
	const char	*host, *pub = conn->ctx->cfg->public_url;
	size_t		 hl, i;

	if (pub[0] != '\0') {
		hl = strlen(pub);
		while (hl > 0 && pub[hl - 1] == '/')
			hl--;
		snprintf(conn->rw_to, sizeof(conn->rw_to), "%.*s/", (int)hl,
		    pub);
		return 0;
	}
	if ((host = px_http_head_get(&conn->req, "host", &hl)) == NULL ||
	    hl == 0 || hl > 260)
		return -1;
	for (i = 0; i < hl; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':' || c == '[' || c == ']' || c == '_'))
			return -1;
	}
	snprintf(conn->rw_to, sizeof(conn->rw_to), "%s://%.*s/",
	    conn->tls ? "https" : "http", (int)hl, host);
	return 0;
}

/*
 * rw_feed() : rewrites n bytes into conn->rw_buf, carrying a partial
 * match of the upstream origin over to the next call.
 */
static void
rw_feed(struct px_conn *conn, const char *p, size_t n)
{
	const char	*pat = conn->ctx->cfg->up_origin, *q, *start, *end;
	size_t		 plen = strlen(pat), take, m;
	char		 tmp[sizeof(conn->rw_carry)];
	struct evbuffer	*b = conn->rw_buf;

	while (n > 0) {
		if (conn->rw_carry_len > 0) {
			take = plen - conn->rw_carry_len;
			if (take > n)
				take = n;
			if (memcmp(p, pat + conn->rw_carry_len, take) == 0) {
				memcpy(conn->rw_carry + conn->rw_carry_len, p,
				    take);
				conn->rw_carry_len += take;
				p += take;
				n -= take;
				if (conn->rw_carry_len == plen) {
					evbuffer_add(b, conn->rw_to,
					    strlen(conn->rw_to));
					conn->rw_carry_len = 0;
				}
				continue;
			}
			/* No match after all: emit a byte, rescan the rest. */
			m = conn->rw_carry_len;
			memcpy(tmp, conn->rw_carry, m);
			conn->rw_carry_len = 0;
			evbuffer_add(b, tmp, 1);
			rw_feed(conn, tmp + 1, m - 1);
			continue;
		}
		/* Scan for the origin, emitting the bytes between matches. */
		start = p;
		end = p + n;
		while (p < end &&
		    (q = memchr(p, pat[0], (size_t)(end - p))) != NULL) {
			m = (size_t)(end - q) < plen ? (size_t)(end - q) : plen;
			if (memcmp(q, pat, m) != 0) {
				p = q + 1;
				continue;
			}
			evbuffer_add(b, start, (size_t)(q - start));
			if (m < plen) {
				/* A partial match at the end: carry it. */
				memcpy(conn->rw_carry, q, m);
				conn->rw_carry_len = m;
				return;
			}
			evbuffer_add(b, conn->rw_to, strlen(conn->rw_to));
			p = start = q + plen;
		}
		evbuffer_add(b, start, (size_t)(end - start));
		return;
	}
}

/* emit() : frames all of b as one chunk to the client. */
static void
emit(struct px_conn *conn, struct evbuffer *b)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);
	size_t		 len = evbuffer_get_length(b);

	if (len == 0)
		return;
	if (conn->pc_fill != NULL &&
	    px_pcache_fill_body(conn->pc_fill, b) == -1) {
		px_pcache_fill_abort(conn->pc_fill);	/* too big to keep */
		conn->pc_fill = NULL;
	}
	if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add_printf(out, "%zx\r\n", len);
	conn->bytes_out += len;
	evbuffer_add_buffer(out, b);
	if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add(out, "\r\n", 2);
}

/*
 * gz_deflate() : compresses all of rw_buf into gz_obuf (finish: and ends
 * the gzip stream).  0 or -1.
 */
static int
gz_deflate(struct px_conn *conn, int finish)
{
	struct evbuffer_iovec	 in, v;
	const unsigned char	*ip;
	size_t			 left, il, room, got;
	int			 fin, r;

	for (;;) {
		left = evbuffer_get_length(conn->rw_buf);
		if (left == 0 && !finish)
			return 0;
		in.iov_base = NULL;
		in.iov_len = 0;
		if (left > 0 && evbuffer_peek(conn->rw_buf, -1, NULL, &in,
		    1) < 1)
			return -1;
		ip = in.iov_base;
		il = in.iov_len;
		fin = finish && in.iov_len == left;
		do {
			if (evbuffer_reserve_space(conn->gz_obuf, 16384, &v,
			    1) < 1)
				return -1;
			room = v.iov_len > 65536 ? 65536 : v.iov_len;
			got = room;
			r = px_gzs_run(conn->gz_out, &ip, &il, v.iov_base,
			    &got, fin);
			v.iov_len = got;
			if (evbuffer_commit_space(conn->gz_obuf, &v, 1) == -1 ||
			    r == -1)
				return -1;
		} while (got == room || il > 0 || (fin && r != 1));
		if (in.iov_len > 0)
			evbuffer_drain(conn->rw_buf, in.iov_len);
		if (fin)
			return 0;
	}
}

/*
 * rw_flush() : sends what rw_feed produced as one chunk, compressed for
 * a client that takes gzip (finish: the end of the body).  0 or -1.
 */
static int
rw_flush(struct px_conn *conn, int finish)
{
	if (conn->gz_out == NULL) {
		emit(conn, conn->rw_buf);
		return 0;
	}
	if (gz_deflate(conn, finish) == -1)
		return -1;
	emit(conn, conn->gz_obuf);
	return 0;
}

/* rw_take() : n bytes of the (inflated) body: rewritten, or kept. */
static void
rw_take(struct px_conn *conn, const char *p, size_t n)
{
	if (conn->rw_nop)
		evbuffer_add(conn->rw_buf, p, n);
	else
		rw_feed(conn, p, n);
}

/*
 * gz_body() : inflates n gzip bytes of the upstream's body into rw_take,
 * 16 KiB at a time, flushing as it goes so memory stays bounded whatever
 * the ratio (px_fwd_drive feeds at most PX_GZ_FEED bytes a step).  More
 * gzip members may follow one another.  0, or -1 on a corrupt stream.
 */
static int
gz_body(struct px_conn *conn, const char *p, size_t n)
{
	unsigned char		 buf[16384];
	const unsigned char	*in = (const unsigned char *)p;
	size_t			 left = n, before, got;
	int			 r;

	for (;;) {
		if (conn->gz_in_end) {
			if (left == 0)
				return 0;
			if (px_gzs_reset(conn->gz_in) == -1)
				return -1;
			conn->gz_in_end = 0;
		}
		before = left;
		got = sizeof(buf);
		if ((r = px_gzs_run(conn->gz_in, &in, &left, buf, &got,
		    0)) == -1)
			return -1;
		if (r == 1)
			conn->gz_in_end = 1;
		if (got > 0)
			rw_take(conn, (const char *)buf, got);
		if (evbuffer_get_length(conn->rw_buf) >= sizeof(buf) &&
		    rw_flush(conn, 0) == -1)
			return -1;
		if (left == 0 && got < sizeof(buf))
			return 0;
		/*
		 * No progress: a stream that neither takes input nor gives
		 * output, or that says it ended having read nothing since
		 * its reset (a gzip member is 18 bytes at least), would
		 * spin here forever.
		 */
		if (got == 0 && left == before)
			return -1;
	}
}

static int
resp_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_conn	*conn = p->data;
	struct evbuffer	*out = bufferevent_get_output(conn->client);

	if (conn->resp_1xx || len == 0)
		return 0;
	if (conn->rw_active) {
		if (conn->gz_in != NULL) {
			if (gz_body(conn, at, len) == -1) {
				llhttp_set_error_reason(p,
				    "corrupt gzip body");
				return HPE_USER;
			}
		} else
			rw_take(conn, at, len);
		if (rw_flush(conn, 0) == -1) {
			llhttp_set_error_reason(p, "out of memory");
			return HPE_USER;
		}
		return 0;
	}
	if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add_printf(out, "%zx\r\n", len);
	evbuffer_add(out, at, len);
	if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add(out, "\r\n", 2);
	conn->bytes_out += len;
	return 0;
}

static int
resp_on_message_complete(llhttp_t *p)
{
	struct px_conn	*conn = p->data;

	if (conn->resp_1xx)
		return 0;
	if (conn->rw_active && conn->gz_in != NULL && !conn->gz_in_end) {
		/* Cut short: the client must not take it as whole. */
		llhttp_set_error_reason(p, "truncated gzip body");
		return HPE_USER;
	}
	if (conn->rw_active) {
		if (conn->rw_carry_len > 0) {
			evbuffer_add(conn->rw_buf, conn->rw_carry,
			    conn->rw_carry_len);
			conn->rw_carry_len = 0;
		}
		if (rw_flush(conn, 1) == -1) {
			llhttp_set_error_reason(p, "out of memory");
			return HPE_USER;
		}
		px_fwd_gz_free(conn);
		if (conn->pc_fill != NULL) {
			px_pcache_fill_done(conn->pc_fill);
			conn->pc_fill = NULL;
		}
	}
	if (conn->resp_mode == PX_RESP_CHUNKED)
		evbuffer_add(bufferevent_get_output(conn->client),
		    "0\r\n\r\n", 5);
	conn->resp_ka = llhttp_should_keep_alive(p);
	if (conn->resp_raw_left > 0)
		return HPE_PAUSED;	/* the body follows, raw */
	conn->resp_done = 1;
	conn->up_reusable = conn->resp_ka;
	return HPE_PAUSED;
}

/* -------------------------------------------------------- connecting */

int
px_fwd_connect(struct px_conn *conn)
{
	struct px_ctx	*ctx = conn->ctx;
	struct px_cfg	*cfg = ctx->cfg;
	const struct px_url *up = px_conn_up(conn);
	/* Egress conns may reach their host at a mapped address. */
	const char	*addr = conn->eg_up ? conn->eg_up->addr : up->host;
	const char	*port = conn->eg_up ? conn->eg_up->port : up->port;
	SSL_CTX		*sslctx = conn->eg_up ? conn->eg_up->ssl : ctx->up_ssl;
	SSL		*ssl;
	struct timeval	 tv;
	const int	 opts = BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS;

	if (conn->up != NULL && !conn->up_eof) {
		conn->up_reused = 1;
		return 0;
	}
	px_fwd_free_up(conn);
	conn->up_reused = 0;
	if (conn->eg_up == NULL && !conn->retried &&
	    (conn->up = pool_get(ctx)) != NULL) {
		conn->up_connected = 1;
		conn->up_reused = 1;
		px_log_debug("conn=%llu event=upstream-reuse pooled=%zu",
		    (unsigned long long)conn->id, ctx->npool);
	} else if (up->tls) {
		if ((ssl = px_tls_client_new(sslctx, up->host)) == NULL)
			return -1;
		px_tls_bulk(ssl);	/* read through px_fwd_drive() */
		/* The bev owns ssl from here, even when this fails. */
		conn->up = bufferevent_openssl_socket_new(ctx->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	} else
		conn->up = bufferevent_socket_new(ctx->base, -1, opts);
	if (conn->up == NULL)
		return -1;
	llhttp_settings_init(&conn->resp_settings);
	conn->resp_settings.on_message_begin = resp_on_message_begin;
	conn->resp_settings.on_status = resp_on_status;
	conn->resp_settings.on_header_field = resp_on_header_field;
	conn->resp_settings.on_header_value = resp_on_header_value;
	conn->resp_settings.on_headers_complete = resp_on_headers_complete;
	conn->resp_settings.on_body = resp_on_body;
	conn->resp_settings.on_message_complete = resp_on_message_complete;
	llhttp_init(&conn->respp, HTTP_RESPONSE, &conn->resp_settings);
	conn->respp.data = conn;
	bufferevent_setcb(conn->up, up_readcb, up_writecb, up_eventcb, conn);
	bufferevent_setwatermark(conn->up, EV_WRITE, PX_HIGH_WATER / 2, 0);
	/* A read watermark also makes libevent's TLS reads 16 KB, not 4 KB. */
	bufferevent_setwatermark(conn->up, EV_READ, 0, PX_RELAY_HIGH);
	bufferevent_set_max_single_read(conn->up, PX_FEED_CHUNK);
	bufferevent_set_max_single_write(conn->up, PX_FEED_CHUNK);
	bufferevent_set_timeouts(conn->up, set_tv(&tv, conn->up_connected ?
	    cfg->request_ms : cfg->connect_ms), &tv);
	bufferevent_enable(conn->up, EV_READ | EV_WRITE);
	if (conn->up_connected)
		return 0;	/* from the pool */
	if (conn->eg_up == NULL) {
		if (px_resolve_connect(conn) == -1) {
			px_log_warnx("conn=%llu event=upstream-connect-failed",
			    (unsigned long long)conn->id);
			px_fwd_free_up(conn);
			return -1;
		}
		return 0;
	}
	px_log_debug("conn=%llu event=upstream-connect host=%s port=%s tls=%d",
	    (unsigned long long)conn->id, addr, port, up->tls);
	if (bufferevent_socket_connect_hostname(conn->up, ctx->dns, AF_UNSPEC,
	    addr, atoi(port)) == -1) {
		/* The error event may already have been queued. */
		px_log_warnx("conn=%llu event=upstream-connect-failed",
		    (unsigned long long)conn->id);
		px_fwd_free_up(conn);
		return -1;
	}
	return 0;
}

int
px_fwd_request_head(struct px_conn *conn, int chunked, uint64_t length)
{
	struct evbuffer	*out = bufferevent_get_output(conn->up);
	struct px_head	*h = &conn->req;
	const struct px_url *up = px_conn_up(conn);
	size_t		 i, out0 = evbuffer_get_length(out);
	int		 r = 0;

	llhttp_reset(&conn->respp);
	conn->resp_done = 0;
	conn->up_reusable = 0;	/* a request is in flight */
	conn->rw_candidate = conn->method == HTTP_GET &&
	    conn->route == PX_ROUTE_READ &&
	    is_packument_path(h->buf + h->url, h->url_len);
	conn->accept_gzip = accepts_gzip(h);
	px_fwd_pc_end(conn);
	pc_key(conn);
	if (conn->pc_keylen > 0) {
		conn->pc_hit = px_pcache_get(conn->ctx, conn->pc_key,
		    conn->pc_keylen);
		conn->pc_had = conn->pc_hit != NULL;
	}
	r |= evbuffer_add_printf(out, "%s %s%.*s HTTP/1.1\r\nHost: %s\r\n",
	    llhttp_method_name((llhttp_method_t)conn->method), up->prefix,
	    (int)h->url_len, h->buf + h->url, up->hostport) < 0;
	for (i = 0; i < h->nhdrs; i++) {
		if (px_http_hop_by_hop(h, i) || is_named(h, i, "host") ||
		    is_named(h, i, "content-length") ||
		    is_named(h, i, "expect") || (conn->rw_candidate &&
		    is_named(h, i, "accept-encoding")))
			continue;
		r |= evbuffer_add_printf(out, "%.*s: %.*s\r\n",
		    (int)h->hdrs[i].name_len, h->buf + h->hdrs[i].name,
		    (int)h->hdrs[i].value_len, h->buf + h->hdrs[i].value) < 0;
	}
	if (conn->rw_candidate)
		r |= evbuffer_add_printf(out, "Accept-Encoding: gzip\r\n") < 0;
	if (conn->pc_hit != NULL) {
		const char	*etag;
		size_t		 el;

		etag = px_pcache_etag(conn->pc_hit, &el);
		r |= evbuffer_add_printf(out, "If-None-Match: %.*s\r\n",
		    (int)el, etag) < 0;
	}
	if (chunked)
		r |= evbuffer_add_printf(out,
		    "Transfer-Encoding: chunked\r\n") < 0;
	else if (length > 0 || conn->method == HTTP_POST ||
	    conn->method == HTTP_PUT || conn->method == HTTP_PATCH)
		r |= evbuffer_add_printf(out, "Content-Length: %llu\r\n",
		    (unsigned long long)length) < 0;
	r |= evbuffer_add(out, "\r\n", 2);
	if (out0 == 0 && conn->up_connected)
		px_io_flush(conn->up);		/* no write event: io.c */
	return r ? -1 : 0;
}

void
px_fwd_body(struct px_conn *conn, const char *p, size_t n)
{
	struct evbuffer	*out;

	if (conn->up == NULL || n == 0)
		return;
	out = bufferevent_get_output(conn->up);
	if (conn->req_chunked)
		evbuffer_add_printf(out, "%zx\r\n", n);
	evbuffer_add(out, p, n);
	if (conn->req_chunked)
		evbuffer_add(out, "\r\n", 2);
}

void
px_fwd_body_end(struct px_conn *conn)
{
	if (conn->up != NULL && conn->req_chunked)
		evbuffer_add(bufferevent_get_output(conn->up), "0\r\n\r\n", 5);
}

/* ------------------------------------------------------------ relaying */

/*
 * upstream_failed() : answers a request the upstream let down: 502 (504
 * on timeout) if no response head went out yet, else closes.  Frees the
 * conn or moves it to linger; callers return.
 */
static void
upstream_failed(struct px_conn *conn, int status, const char *why)
{
	char	 text[600];

	/* reused/retried/state: whether the retry below applies. */
	px_log_warnx("conn=%llu req=%s event=upstream-error status=%d "
	    "reason=\"%s\" reused=%d retried=%d state=%d",
	    (unsigned long long)conn->id, conn->reqid, status, why,
	    conn->up_reused, conn->retried, (int)conn->state);
	conn->up_reusable = 0;
	px_fwd_free_up(conn);
	if (conn->state == PX_CONN_RESPONSE && conn->up_reused &&
	    !conn->retried && !conn->resp_head_sent && conn->eg_up == NULL &&
	    conn->route == PX_ROUTE_READ && conn->body_bytes == 0 &&
	    (conn->method == HTTP_GET || conn->method == HTTP_HEAD)) {
		/* A kept-alive connection the upstream had just closed. */
		conn->retried = 1;
		if (px_fwd_connect(conn) == 0 &&
		    px_fwd_request_head(conn, 0, 0) == 0) {
			px_log_debug("conn=%llu req=%s event=upstream-retry",
			    (unsigned long long)conn->id, conn->reqid);
			return;
		}
		px_fwd_free_up(conn);
	}
	if (conn->state != PX_CONN_IDLE)
		PX_MADD(conn->ctx->m->upstream_errors, 1);
	if (conn->state == PX_CONN_IDLE) {
		return;	/* an idle keep-alive upstream went away */
	}
	conn->up_status = 0;
	if ((conn->state == PX_CONN_REPLAY || (conn->state == PX_CONN_RECORD &&
	    conn->replay_started)) && !conn->resp_head_sent) {
		snprintf(text, sizeof(text), "pubgate: upstream registry "
		    "%s: %s; the publish was not forwarded", status == 504 ?
		    "timed out" : "unavailable", why);
		px_spool_up_failed(conn, status, text);
		return;
	}
	snprintf(text, sizeof(text), "pubgate: upstream registry %s: %s",
	    status == 504 ? "timed out" : "unavailable", why);
	px_spool_status(conn, status);	/* an allowed write that failed */
	px_conn_abort(conn, status, text);
}

/*
 * connect_failed() : a fresh connect (or TLS handshake) to the reverse
 * proxy's upstream failed.  The address is set aside, and an idempotent
 * read (GET/HEAD, no body, nothing answered yet) is sent again on the
 * next address (or afresh) while px_resolve_may_retry() allows; else as
 * upstream_failed().  retry 0: the failure would repeat (TLS).
 */
static void
connect_failed(struct px_conn *conn, int status, const char *why, int retry)
{
	if (conn->eg_up == NULL)
		px_resolve_result(conn, 0);
	if (retry && conn->eg_up == NULL && conn->state == PX_CONN_RESPONSE &&
	    !conn->resp_head_sent && conn->route == PX_ROUTE_READ &&
	    conn->body_bytes == 0 && (conn->method == HTTP_GET ||
	    conn->method == HTTP_HEAD) && px_resolve_may_retry(conn)) {
		px_log_warnx("conn=%llu req=%s event=upstream-retry try=%d "
		    "reason=\"%s\"", (unsigned long long)conn->id, conn->reqid,
		    conn->up_tries + 1, why);
		conn->up_reusable = 0;
		px_fwd_free_up(conn);
		conn->retried = 1;	/* never onto a pooled connection */
		if (px_fwd_connect(conn) == 0 &&
		    px_fwd_request_head(conn, 0, 0) == 0)
			return;
	}
	upstream_failed(conn, status, why);
}

void
px_fwd_resolved(struct px_conn *conn, const char *err)
{
	char	 why[400];

	if (err == NULL) {
		conn->up_tries--;	/* the wait was no try after all */
		if (conn->up != NULL && px_resolve_connect(conn) == 0)
			return;
		err = "cannot connect";
	}
	snprintf(why, sizeof(why), "cannot resolve %s: %s",
	    px_conn_up(conn)->host, err);
	upstream_failed(conn, 502, why);
}

/*
 * fwd_eof() : the upstream closed; completes a close-delimited response
 * or fails the request.  Returns -1 if the conn was freed (or moved on).
 */
static int
fwd_eof(struct px_conn *conn)
{
	llhttp_errno_t	 err;

	if (conn->state == PX_CONN_IDLE || conn->state == PX_CONN_LINGER ||
	    conn->state == PX_CONN_SPOOL) {
		px_fwd_free_up(conn);
		return 0;
	}
	if (conn->resp_head_sent && !conn->resp_done) {
		err = llhttp_finish(&conn->respp);
		if (err == HPE_OK && conn->resp_done) {
			conn->up_reusable = 0;
			return px_conn_resp_done(conn);
		}
		px_conn_access_log(conn);
		px_conn_close(conn, "upstream closed mid-response");
		return -1;
	}
	upstream_failed(conn, 502, "connection closed before a response");
	return -1;
}

/*
 * coalesce() : libevent writes each buffer chunk of a TLS bufferevent as
 * its own record and syscall; a small answer built from many pieces (head,
 * chunk sizes, rewritten spans) is made one chunk first.
 */
static void
coalesce(struct px_conn *conn, struct evbuffer *out)
{
	size_t	 len = evbuffer_get_length(out);

	if (conn->tls && len > 0 && len <= 16384)
		evbuffer_pullup(out, (ev_ssize_t)len);
}

int
px_fwd_drive(struct px_conn *conn)
{
	struct evbuffer		*in, *out;
	llhttp_errno_t		 err;
	size_t			 n, used, out0;
	int			 tls;

	if (conn->up == NULL)
		return 0;
	in = bufferevent_get_input(conn->up);
	out = bufferevent_get_output(conn->client);
	out0 = evbuffer_get_length(out);
	tls = px_conn_up(conn)->tls;
	if (!tls)
		px_io_fill(conn->up, PX_RELAY_FILL);	/* 4 KiB reads: io.c */
	for (;;) {
		/* Records OpenSSL read ahead get no event of their own. */
		if (tls && evbuffer_get_length(in) == 0)
			px_tls_fill(conn->up, PX_RELAY_FILL);
		if (evbuffer_get_length(in) == 0)
			break;
		if (conn->resp_done)
			break;
		if (conn->state == PX_CONN_IDLE || conn->state ==
		    PX_CONN_SPOOL) {
			/* Bytes nobody asked for: drop that connection. */
			px_fwd_free_up(conn);
			return 0;
		}
		if (evbuffer_get_length(out) > PX_RELAY_HIGH) {
			/* The client is slow: stop reading the upstream. */
			bufferevent_disable(conn->up, EV_READ);
			conn->paused_up = 1;
			return 0;
		}
		if (conn->resp_raw_left > 0) {
			/* Whole chains move, a part of one is copied. */
			n = px_io_whole(in, PX_FEED_CHUNK);
			if (n > conn->resp_raw_left)
				n = (size_t)conn->resp_raw_left;
			if (evbuffer_remove_buffer(in, out, n) != (int)n) {
				px_conn_close(conn, "out of memory");
				return -1;
			}
			conn->resp_raw_left -= n;
			conn->bytes_out += n;
			if (conn->resp_raw_left == 0) {
				conn->resp_done = 1;
				conn->up_reusable = conn->resp_ka;
			}
			continue;
		}
		/* A gzip packument: bounds what one step inflates. */
		err = px_http_feed(&conn->respp, in, conn->rw_candidate ?
		    PX_GZ_FEED : PX_FEED_CHUNK, &used);
		if (err != HPE_OK && err != HPE_PAUSED) {
			char why[200];

			snprintf(why, sizeof(why), "malformed response: %s",
			    llhttp_get_error_reason(&conn->respp) ?
			    llhttp_get_error_reason(&conn->respp) :
			    llhttp_errno_name(err));
			if (conn->resp_head_sent) {
				px_log_warnx("conn=%llu req=%s "
				    "event=upstream-error reason=\"%s\"",
				    (unsigned long long)conn->id, conn->reqid,
				    why);
				px_conn_access_log(conn);
				px_conn_close(conn, why);
			} else
				upstream_failed(conn, 502, why);
			return -1;
		}
		evbuffer_drain(in, used);
		if (err == HPE_PAUSED) {
			llhttp_resume(&conn->respp);
			if (conn->resp_raw_left > 0)
				continue;
			break;
		}
	}
	coalesce(conn, out);
	if (out0 == 0)
		px_io_flush(conn->client);	/* no write event: io.c */
	if (conn->resp_done) {
		if (evbuffer_get_length(in) > 0)
			conn->up_reusable = 0;	/* unasked-for bytes */
		if (conn->state == PX_CONN_RESPONSE)
			return px_conn_resp_done(conn);
		/* Early answer while the request is still being sent. */
		conn->resp_close = 1;
		conn->up_reusable = 0;
		return px_conn_resp_done(conn);
	}
	if (conn->up_eof && evbuffer_get_length(in) == 0)
		return fwd_eof(conn);
	return 0;
}

/* ------------------------------------------------- upstream callbacks */

static void
up_readcb(struct bufferevent *bev, void *arg)
{
	px_fwd_drive(arg);
}

static void
up_writecb(struct bufferevent *bev, void *arg)
{
	struct px_conn	*conn = arg;
	size_t		 out;

	out = evbuffer_get_length(bufferevent_get_output(bev));
	if (conn->state == PX_CONN_REPLAY) {
		px_spool_pump(conn);
		return;
	}
	if (conn->paused_client && out <= PX_HIGH_WATER / 2) {
		conn->paused_client = 0;
		bufferevent_enable(conn->client, EV_READ);
		px_conn_drive(conn);
	}
}

static void
up_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_conn	*conn = arg;
	struct px_cfg	*cfg = conn->ctx->cfg;
	struct timeval	 tv;
	char		 why[600], tlserr[512];
	unsigned long	 e;
	int		 dnserr, tls = 0;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		conn->up_connected = 1;
		if (conn->eg_up == NULL)
			px_resolve_result(conn, 1);
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		bufferevent_set_timeouts(bev, set_tv(&tv, cfg->request_ms),
		    &tv);
		px_log_debug("conn=%llu event=upstream-connected",
		    (unsigned long long)conn->id);
		if (conn->state == PX_CONN_REPLAY && !conn->replay_started)
			px_spool_connected(conn);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (!conn->up_connected)
			connect_failed(conn, 504, "connect timed out", 1);
		else
			upstream_failed(conn, 504, "no response in time");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		dnserr = bufferevent_socket_get_dns_error(bev);
		if (dnserr != 0)
			snprintf(why, sizeof(why), "cannot resolve %s: %s",
			    px_conn_up(conn)->host, evutil_gai_strerror(dnserr));
		else if (px_conn_up(conn)->tls &&
		    (e = bufferevent_get_openssl_error(bev))
		    != 0) {
			ERR_error_string_n(e, tlserr, sizeof(tlserr));
			while (bufferevent_get_openssl_error(bev) != 0)
				;
			snprintf(why, sizeof(why), "TLS: %s", tlserr);
			tls = 1;
		} else if (errno != 0)
			snprintf(why, sizeof(why), "%s", strerror(errno));
		else
			snprintf(why, sizeof(why), "connection error");
		ERR_clear_error();
		if (conn->up_connected && conn->resp_head_sent) {
			px_log_warnx("conn=%llu req=%s event=upstream-error "
			    "reason=\"%s\"", (unsigned long long)conn->id,
			    conn->reqid, why);
			px_conn_access_log(conn);
			px_conn_close(conn, "upstream error");
			return;
		}
		if (!conn->up_connected)
			connect_failed(conn, 502, why, !tls);
		else
			upstream_failed(conn, 502, why);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		conn->up_eof = 1;
		bufferevent_disable(bev, EV_READ);
		if (!conn->up_connected) {
			connect_failed(conn, 502, "connection closed", 1);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_input(bev)) == 0)
			fwd_eof(conn);
		else
			px_fwd_drive(conn);
	}
}
