/*
 * proxy/gate/prev.c: fetching the previous version of a package for a
 * rule's diff: key, on the event loop.
 *
 * When pol_publish_end() says POL_PENDING (spool.c), the body is complete
 * and judged on its own; the verdict waits for the previous version:
 *   1. GET <prefix>/<name> (the abbreviated packument, gzip welcome) from
 *      the conn's upstream (the reverse proxy's upstream, or an egress
 *      conn's intercepted host), with the client's Authorization so that
 *      private packages can be read; the bytes stream into pol_prev_feed()
 *      (policy/prev.c), which keeps a few bounded fields and chooses the
 *      version: the one the publish's dist-tag points at now, else the
 *      highest lower one (semver order);
 *   2. GET its tarball (dist.tarball when it names the same upstream,
 *      else the registry's usual <name>/-/<base>-<version>.tgz), streamed
 *      into pol_publish_prev_feed(): gz + tar walkers, names and sizes
 *      only, no file kept;
 *   3. pol_publish_prev_end() adds the diff reasons and gives the final
 *      verdict, and px_spool_verdict() records and answers it.
 * A 404 packument, or one with no other version to compare with, is a
 * first publish: diff allows it.  Anything else that goes wrong (connect,
 * TLS, a status other than 200 or 404, a timeout after PX_PREV_TIMEOUT_MS,
 * a packument or tarball over its cap or unreadable) ends as
 * diff.unreachable, which blocks unless the rule says
 * diff.unreachable: allow.
 *
 * The connection comes from the upstream pool (fwd.c) or is dialed afresh
 * with resolve.c's cached address (evdns for the name otherwise) and TLS
 * verified as every upstream connection (tls.c); a reused one that fails
 * before any answer is dialed once more.  A complete keep-alive answer
 * leaves it in the pool.  Memory is bounded: responses are parsed as they
 * arrive (the read watermark holds at most PX_HIGH_WATER), nothing of
 * them is kept but what policy/prev.c and the file lists keep.  The
 * Authorization value is held only for the fetch, never logged, and
 * wiped when the fetch ends.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>

#include "log.h"
#include "proxy-int.h"

enum { ST_PACKUMENT = 1, ST_TARBALL = 2 };

struct px_prev {
	struct px_conn		*conn;
	struct px_ctx		*ctx;
	struct bufferevent	*bev;
	int			 tls;
	int			 pooled;	/* bev came from the pool */
	int			 connected;
	int			 answered;	/* a response byte arrived */
	int			 retried;
	llhttp_t		 p;
	llhttp_settings_t	 set;
	int			 stage;
	int			 status;	/* of the current response */
	int			 gzip;		/* Content-Encoding: gzip */
	int			 bad_coding;	/* another coding */
	int			 done;		/* response complete */
	int			 keepalive;
	uint64_t		 body;		/* bytes of the body */
	char			 hname[24];	/* header name being read */
	size_t			 hnlen;
	int			 in_value;
	int			 ce;		/* reading Content-Encoding */
	char			 ceval[32];
	size_t			 celen;
	struct pol_prev		*pp;
	struct event		*timer;
	uint64_t		 t0;
	char			*auth;		/* wiped at the end */
	size_t			 authlen;
	char			 name[PX_NAME_MAX + 2];
	char			 version[POL_PREV_VERSION_MAX];
	char			 tag[64];
	char			 prev[POL_PREV_VERSION_MAX];
	char			 path[PX_URL_MAX * 3];	/* of the current GET */
};

static int	drive(struct px_prev *);
static void	prev_readcb(struct bufferevent *, void *);
static void	prev_eventcb(struct bufferevent *, short, void *);
static int	prev_request(struct px_prev *);

static struct timeval *
tv_ms(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* drop_bev() : the connection, parked when idle and reusable, else freed. */
static void
drop_bev(struct px_prev *pv, int reusable)
{
	SSL	*ssl;

	if (pv->bev == NULL)
		return;
	bufferevent_setcb(pv->bev, NULL, NULL, NULL, NULL);
	if (reusable && pv->conn->eg_up == NULL && pv->connected)
		px_fwd_pool_give(pv->ctx, pv->bev, pv->tls);
	else {
		if (pv->tls && pv->connected &&
		    (ssl = bufferevent_openssl_get_ssl(pv->bev)) != NULL)
			SSL_shutdown(ssl);
		bufferevent_free(pv->bev);
	}
	pv->bev = NULL;
	pv->connected = 0;
}

void
px_prev_free(struct px_prev *pv)
{
	if (pv == NULL)
		return;
	drop_bev(pv, 0);
	if (pv->timer != NULL)
		event_free(pv->timer);
	pol_prev_free(pv->pp);
	if (pv->auth != NULL) {
		explicit_bzero(pv->auth, pv->authlen);
		free(pv->auth);
	}
	free(pv);
}

/*
 * finish() : ends the judgement: version (the fed tarball's), none (a
 * first publish, both NULL) or why (unreachable).  Frees pv and acts on
 * the verdict; 1, or -1 if the conn was freed too.  Every function below
 * that can end the fetch returns 0 while pv lives, non-zero once it is
 * gone.
 */
static int
finish(struct px_prev *pv, const char *version, const char *why)
{
	struct px_conn		*conn = pv->conn;
	const struct pol_report	*rep;
	enum pol_verdict	 v;
	char			 pkg[PX_NAME_MAX + 2], prev[POL_PREV_VERSION_MAX];

	v = pol_publish_prev_end(conn->stream, version, why, &rep);
	px_log_value(pkg, sizeof(pkg), pv->name);
	px_log_value(prev, sizeof(prev), version != NULL ? version : "-");
	px_log_info("conn=%llu req=%s event=previous-version pkg=%s "
	    "previous=%s result=%s ms=%llu%s%s%s",
	    (unsigned long long)conn->id, conn->reqid, pkg, prev,
	    why != NULL ? "unreachable" : (version != NULL ? "judged" :
	    "first-publish"), (unsigned long long)(px_now_ms() - pv->t0),
	    why != NULL ? " reason=\"" : "", why != NULL ? why : "",
	    why != NULL ? "\"" : "");
	drop_bev(pv, pv->done && pv->keepalive && why == NULL);
	px_prev_free(pv);
	conn->prev = NULL;
	px_conn_set_state(conn, PX_CONN_SPOOL);
	return px_spool_verdict(conn, v, rep, 0) == -1 ? -1 : 1;
}

/* fail() : finish() as unreachable with a formatted, log-safe reason. */
static int
fail(struct px_prev *pv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct px_prev *pv, const char *fmt, ...)
{
	char	 why[160];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return finish(pv, NULL, why);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_prev	*pv = arg;

	(void)fd;
	(void)what;
	(void)fail(pv, "the registry did not answer within %u s",
	    PX_PREV_TIMEOUT_MS / 1000);
}

/* ------------------------------------------------------- the response */

static int
on_message_begin(llhttp_t *p)
{
	struct px_prev	*pv = p->data;

	pv->status = 0;
	pv->gzip = pv->bad_coding = 0;
	pv->done = 0;
	pv->body = 0;
	pv->hnlen = 0;
	pv->in_value = 0;
	pv->ce = 0;
	pv->celen = 0;
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct px_prev	*pv = p->data;

	if (pv->in_value) {
		pv->in_value = 0;
		pv->hnlen = 0;
	}
	if (pv->hnlen + len >= sizeof(pv->hname))
		len = pv->hnlen < sizeof(pv->hname) - 1 ?
		    sizeof(pv->hname) - 1 - pv->hnlen : 0;
	memcpy(pv->hname + pv->hnlen, at, len);
	pv->hnlen += len;
	pv->hname[pv->hnlen] = '\0';
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct px_prev	*pv = p->data;

	if (!pv->in_value) {
		pv->in_value = 1;
		pv->ce = strcasecmp(pv->hname, "content-encoding") == 0;
		if (pv->ce && pv->celen > 0)
			pv->bad_coding = 1;	/* twice */
		pv->celen = 0;
	}
	if (!pv->ce)
		return 0;
	if (pv->celen + len >= sizeof(pv->ceval)) {
		pv->bad_coding = 1;
		return 0;
	}
	memcpy(pv->ceval + pv->celen, at, len);
	pv->celen += len;
	pv->ceval[pv->celen] = '\0';
	return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct px_prev	*pv = p->data;
	const char	*v = pv->ceval;
	size_t		 n = pv->celen;

	pv->status = p->status_code;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n == 0 || (n == 8 && strncasecmp(v, "identity", 8) == 0))
		pv->gzip = 0;
	else if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(v, "x-gzip", 6) == 0))
		pv->gzip = 1;
	else
		pv->bad_coding = 1;
	/* A tarball travels as it is: a coding on it is not expected. */
	if (pv->stage == ST_TARBALL && pv->gzip)
		pv->bad_coding = 1;
	if (pv->stage == ST_PACKUMENT && pv->status == 200 &&
	    !pv->bad_coding && (pv->pp = pol_prev_new(pv->version,
	    pv->tag[0] ? pv->tag : NULL, pv->gzip)) == NULL)
		return -1;
	return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_prev	*pv = p->data;

	pv->body += len;
	if (pv->status != 200 || pv->bad_coding) {
		/* Read and dropped, so the connection stays usable. */
		return pv->body > PX_PREV_DISCARD_MAX ? -1 : 0;
	}
	if (pv->stage == ST_PACKUMENT) {
		if (pv->body > PX_PREV_PACKUMENT_MAX ||
		    pol_prev_feed(pv->pp, at, len) != 0)
			return -1;
		return 0;
	}
	if (pv->body > PX_PREV_TARBALL_MAX ||
	    pol_publish_prev_feed(pv->conn->stream, at, len) != POL_CONTINUE)
		return -1;
	return 0;
}

static int
on_message_complete(llhttp_t *p)
{
	struct px_prev	*pv = p->data;

	pv->done = 1;
	pv->keepalive = llhttp_should_keep_alive(p);
	return HPE_PAUSED;
}

/*
 * tarball_path() : the path of the previous tarball on pv's upstream:
 * dist.tarball when it is on the same origin (and plain), else the
 * registry's usual <name>/-/<base>-<version>.tgz.
 */
static void
tarball_path(struct px_prev *pv, const char *tarball)
{
	const struct px_url	*up = px_conn_up(pv->conn);
	const char		*base, *rest, *c;
	char			 origin[PX_URL_MAX * 2];
	size_t			 n;

	n = (size_t)snprintf(origin, sizeof(origin), "%s://%s%s/",
	    up->tls ? "https" : "http", up->hostport, up->prefix);
	if (tarball[0] && n < sizeof(origin) &&
	    strncasecmp(tarball, origin, n) == 0) {
		rest = tarball + strlen(up->tls ? "https://" : "http://") +
		    strlen(up->hostport);
		for (c = rest; *c > ' ' && *c < 0x7f; c++)
			;
		if (*c == '\0' && strlen(rest) < sizeof(pv->path)) {
			snprintf(pv->path, sizeof(pv->path), "%s", rest);
			return;
		}
	}
	base = strrchr(pv->name, '/');
	base = base != NULL ? base + 1 : pv->name;
	snprintf(pv->path, sizeof(pv->path), "%s/%s/-/%s-%s.tgz", up->prefix,
	    pv->name, base, pv->prev);
}

/* response_done() : one answer is complete; on to the next step. */
static int
response_done(struct px_prev *pv)
{
	char	 tarball[POL_PREV_URL_MAX];
	int	 r;

	if (pv->stage == ST_PACKUMENT) {
		if (pv->status == 404)
			return finish(pv, NULL, NULL);	/* a first publish */
		if (pv->status != 200)
			return fail(pv, "packument: HTTP %d", pv->status);
		if (pv->bad_coding)
			return fail(pv, "packument: unknown content coding");
		r = pol_prev_end(pv->pp, pv->prev, sizeof(pv->prev), tarball,
		    sizeof(tarball));
		if (r == -1)
			return fail(pv, "the packument is not readable");
		if (r == 0)
			return finish(pv, NULL, NULL);	/* nothing before */
		tarball_path(pv, tarball);
		pv->stage = ST_TARBALL;
		if (!pv->keepalive)
			drop_bev(pv, 0);
		pv->retried = 0;
		if (prev_request(pv) == -1)
			return fail(pv, "cannot connect to the registry");
		return 0;
	}
	if (pv->status != 200)
		return fail(pv, "tarball of %s: HTTP %d", pv->prev, pv->status);
	if (pv->bad_coding)
		return fail(pv, "tarball: unexpected content coding");
	return finish(pv, pv->prev, NULL);
}

/* drive() : parses what the upstream sent; -1 if the conn was freed. */
static int
drive(struct px_prev *pv)
{
	struct evbuffer		*in = bufferevent_get_input(pv->bev);
	struct evbuffer_iovec	 v;
	llhttp_errno_t		 err;
	size_t			 n, used;

	while (!pv->done && evbuffer_get_length(in) > 0) {
		pv->answered = 1;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = v.iov_len < PX_FEED_CHUNK ? v.iov_len : PX_FEED_CHUNK;
		err = llhttp_execute(&pv->p, v.iov_base, n);
		if (err == HPE_OK)
			used = n;
		else if (err == HPE_PAUSED)
			used = (size_t)(llhttp_get_error_pos(&pv->p) -
			    (const char *)v.iov_base);
		else {
			if (pv->stage == ST_PACKUMENT && pv->pp != NULL &&
			    pv->body > PX_PREV_PACKUMENT_MAX)
				return fail(pv, "the packument is over %llu "
				    "bytes", (unsigned long long)
				    PX_PREV_PACKUMENT_MAX);
			return fail(pv, "%s: %s", pv->stage == ST_PACKUMENT ?
			    "packument" : "tarball", pv->status != 200 &&
			    pv->status != 0 ? "error body too long" :
			    "unreadable answer");
		}
		evbuffer_drain(in, used);
	}
	if (pv->done) {
		if (evbuffer_get_length(in) > 0)
			pv->keepalive = 0;	/* bytes nobody asked for */
		return response_done(pv);
	}
	return 0;
}

static void
prev_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)drive(arg);
}

static void
prev_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_prev	*pv = arg;
	struct timeval	 tv;
	unsigned long	 e;
	char		 tlserr[256];
	int		 dnserr, serr, one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		pv->connected = 1;
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		bufferevent_set_timeouts(bev, tv_ms(&tv,
		    pv->ctx->cfg->request_ms), &tv);
		return;
	}
	if ((what & BEV_EVENT_EOF) && pv->connected) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
		    drive(pv) != 0)
			return;
		/* A close-delimited answer ends here. */
		if (!pv->done && llhttp_finish(&pv->p) == HPE_OK && pv->done) {
			pv->keepalive = 0;
			(void)response_done(pv);
			return;
		}
	}
	if (pv->pooled && !pv->answered && !pv->retried) {
		/* A kept-alive connection the registry had just closed. */
		pv->retried = 1;
		drop_bev(pv, 0);
		if (prev_request(pv) == 0)
			return;
		(void)fail(pv, "cannot connect to the registry");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		(void)fail(pv, "%s timed out", pv->connected ?
		    "the registry's answer" : "connect");
		return;
	}
	serr = errno;
	dnserr = bufferevent_socket_get_dns_error(bev);
	tlserr[0] = '\0';
	if (pv->tls && (e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, tlserr, sizeof(tlserr));
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	}
	ERR_clear_error();
	if (dnserr != 0)
		(void)fail(pv, "cannot resolve %s: %s",
		    px_conn_up(pv->conn)->host, evutil_gai_strerror(dnserr));
	else if (!pv->connected && serr != 0)
		(void)fail(pv, "connect: %s", strerror(serr));
	else if (tlserr[0])
		(void)fail(pv, "TLS: %s", tlserr);
	else if (what & BEV_EVENT_EOF)
		(void)fail(pv, "the registry closed the connection");
	else
		(void)fail(pv, "%s", errno != 0 ? strerror(errno) :
		    "connection error");
}

/* ------------------------------------------------------- the requests */

/* dial() : pv->bev, pooled or connecting; 0 or -1. */
static int
dial(struct px_prev *pv)
{
	struct px_conn		*conn = pv->conn;
	struct px_ctx		*ctx = pv->ctx;
	const struct px_url	*up = px_conn_up(conn);
	const char		*host = conn->eg_up ? conn->eg_up->addr :
				    up->host;
	const char		*port = conn->eg_up ? conn->eg_up->port :
				    up->port;
	SSL_CTX			*sslctx = conn->eg_up ? conn->eg_up->ssl :
				    ctx->up_ssl;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	SSL			*ssl;
	int			 sslen;
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	pv->tls = up->tls;
	pv->pooled = 0;
	pv->answered = 0;
	if (conn->eg_up == NULL && !pv->retried &&
	    (pv->bev = px_fwd_pool_take(ctx)) != NULL) {
		pv->pooled = 1;
		pv->connected = 1;
	} else if (up->tls) {
		if ((ssl = px_tls_client_new(sslctx, up->host)) == NULL)
			return -1;
		/* The bev owns ssl from here, even when this fails. */
		pv->bev = bufferevent_openssl_socket_new(ctx->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	} else
		pv->bev = bufferevent_socket_new(ctx->base, -1, opts);
	if (pv->bev == NULL)
		return -1;
	bufferevent_setcb(pv->bev, prev_readcb, NULL, prev_eventcb, pv);
	bufferevent_setwatermark(pv->bev, EV_READ, 0, PX_HIGH_WATER);
	bufferevent_set_max_single_read(pv->bev, PX_FEED_CHUNK);
	bufferevent_set_timeouts(pv->bev, tv_ms(&tv, pv->connected ?
	    ctx->cfg->request_ms : ctx->cfg->connect_ms), &tv);
	bufferevent_enable(pv->bev, EV_READ | EV_WRITE);
	if (pv->connected)
		return 0;
	if (conn->eg_up == NULL && px_resolve_addr(ctx, &ss, &sslen) == 0)
		return bufferevent_socket_connect(pv->bev,
		    (struct sockaddr *)&ss, sslen);
	return bufferevent_socket_connect_hostname(pv->bev, ctx->dns,
	    AF_UNSPEC, host, atoi(port));
}

/* prev_request() : sends the GET of pv->stage (dialing if needed); 0/-1. */
static int
prev_request(struct px_prev *pv)
{
	const struct px_url	*up = px_conn_up(pv->conn);
	struct evbuffer		*out;
	int			 r = 0;

	if (pv->bev == NULL && dial(pv) == -1) {
		drop_bev(pv, 0);
		return -1;
	}
	llhttp_init(&pv->p, HTTP_RESPONSE, &pv->set);
	pv->p.data = pv;
	pv->done = 0;
	out = bufferevent_get_output(pv->bev);
	r |= evbuffer_add_printf(out, "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: pubgate (previous version for diff:)\r\n",
	    pv->path, up->hostport) < 0;
	if (pv->stage == ST_PACKUMENT)
		r |= evbuffer_add_printf(out, "Accept: application/vnd.npm."
		    "install-v1+json; q=1.0, application/json; q=0.8\r\n"
		    "Accept-Encoding: gzip\r\n") < 0;
	else
		r |= evbuffer_add_printf(out, "Accept: */*\r\n"
		    "Accept-Encoding: identity\r\n") < 0;
	if (pv->auth != NULL) {
		r |= evbuffer_add(out, "Authorization: ", 15);
		r |= evbuffer_add(out, pv->auth, pv->authlen);
		r |= evbuffer_add(out, "\r\n", 2);
	}
	r |= evbuffer_add(out, "\r\n", 2);
	if (r != 0)
		return -1;
	px_log_debug("conn=%llu req=%s event=previous-get stage=%s",
	    (unsigned long long)pv->conn->id, pv->conn->reqid,
	    pv->stage == ST_PACKUMENT ? "packument" : "tarball");
	return 0;
}

int
px_prev_start(struct px_conn *conn)
{
	const struct pol_report	*rep = pol_publish_report(conn->stream);
	const struct px_url	*up = px_conn_up(conn);
	struct px_prev		*pv;
	struct timeval		 tv;
	const char		*auth, *slash;
	size_t			 alen;

	if ((pv = calloc(1, sizeof(*pv))) == NULL) {
		(void)pol_publish_prev_end(conn->stream, NULL, "out of memory",
		    &rep);
		return px_spool_verdict(conn, POL_DENY, rep, 0);
	}
	pv->conn = conn;
	pv->ctx = conn->ctx;
	pv->t0 = px_now_ms();
	pv->stage = ST_PACKUMENT;
	conn->prev = pv;
	/* The gate reads the request as a whole: keep it in the replay state. */
	px_conn_set_state(conn, PX_CONN_REPLAY);
	snprintf(pv->name, sizeof(pv->name), "%s", conn->pkg[0] ? conn->pkg :
	    rep->name);
	snprintf(pv->version, sizeof(pv->version), "%s", rep->version);
	snprintf(pv->tag, sizeof(pv->tag), "%s", rep->tag);
	llhttp_settings_init(&pv->set);
	pv->set.on_message_begin = on_message_begin;
	pv->set.on_header_field = on_header_field;
	pv->set.on_header_value = on_header_value;
	pv->set.on_headers_complete = on_headers_complete;
	pv->set.on_body = on_body;
	pv->set.on_message_complete = on_message_complete;
	if ((auth = px_http_head_get(&conn->req, "authorization", &alen)) !=
	    NULL && alen > 0 && memchr(auth, '\r', alen) == NULL &&
	    memchr(auth, '\n', alen) == NULL) {
		if ((pv->auth = malloc(alen)) == NULL)
			return fail(pv, "out of memory") == -1 ? -1 : 0;
		memcpy(pv->auth, auth, alen);
		pv->authlen = alen;
	}
	/* npm's own spelling of a scoped name in a packument URL. */
	slash = strchr(pv->name, '/');
	if (slash != NULL)
		snprintf(pv->path, sizeof(pv->path), "%s/%.*s%%2f%s",
		    up->prefix, (int)(slash - pv->name), pv->name, slash + 1);
	else
		snprintf(pv->path, sizeof(pv->path), "%s/%s", up->prefix,
		    pv->name);
	if ((pv->timer = evtimer_new(pv->ctx->base, timer_cb, pv)) == NULL ||
	    evtimer_add(pv->timer, tv_ms(&tv, PX_PREV_TIMEOUT_MS)) == -1)
		return fail(pv, "out of memory") == -1 ? -1 : 0;
	if (prev_request(pv) == -1)
		return fail(pv, "cannot connect to the registry") == -1 ?
		    -1 : 0;
	return 0;
}
