/*
 * proxy/gate/upget.c: the gate's own GET requests to the upstream
 * registry, on the event loop: the previous version's packument and
 * tarball (prev.c) and the token's npm user name (whoami.c).
 *
 * One struct px_upget sends one GET at a time over one connection: taken
 * from the upstream pool (fwd.c) or dialed afresh with resolve.c's cached
 * address (evdns for the name otherwise, and always for an egress conn's
 * intercepted host) and TLS verified as every upstream connection
 * (tls.c); a reused one that fails before any answer is dialed once
 * more.  The answer is parsed as it arrives (llhttp; the read watermark
 * holds at most PX_HIGH_WATER): the caller's ops get the status and
 * content coding, the body's bytes, then the end, or one failure with a
 * log-safe reason.  After an answer another GET may follow on the same
 * connection; px_upget_free() leaves a complete keep-alive one in the
 * pool.  The target is copied, so a fetch may outlive the conn that
 * started it.  The request (which carries the client's Authorization,
 * never logged) is kept only for a retry and wiped when replaced or
 * freed.
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

#include "log.h"
#include "proxy-int.h"

struct px_upget {
	struct px_ctx		*ctx;
	const struct px_upget_ops *ops;
	void			*arg;
	struct px_url		 up;		/* Host, SNI, name check */
	char			 addr[256];	/* connect here */
	char			 port[8];
	SSL_CTX			*ssl;
	int			 egress;	/* no pool, no resolve.c */
	struct bufferevent	*bev;
	int			 pooled;	/* bev came from the pool */
	int			 connected;
	int			 answered;	/* a response byte arrived */
	int			 retried;
	int			 failed;
	llhttp_t		 p;
	llhttp_settings_t	 set;
	int			 done;		/* response complete */
	int			 keepalive;
	int			 gzip, bad_coding;
	char			 hname[24];	/* header name being read */
	size_t			 hnlen;
	int			 in_value;
	int			 ce;		/* reading Content-Encoding */
	char			 ceval[32];
	size_t			 celen;
	char			*req;		/* the request, for a retry */
	size_t			 reqlen;
};

static void	ug_readcb(struct bufferevent *, void *);
static void	ug_eventcb(struct bufferevent *, short, void *);
static int	ug_send(struct px_upget *);

/* drop_bev() : the connection, parked when idle and reusable, else freed. */
static void
drop_bev(struct px_upget *ug, int reusable)
{
	SSL	*ssl;

	if (ug->bev == NULL)
		return;
	bufferevent_setcb(ug->bev, NULL, NULL, NULL, NULL);
	if (reusable && !ug->egress && ug->connected)
		px_fwd_pool_give(ug->ctx, ug->bev, ug->up.tls);
	else {
		if (ug->up.tls && ug->connected &&
		    (ssl = bufferevent_openssl_get_ssl(ug->bev)) != NULL)
			SSL_shutdown(ssl);
		bufferevent_free(ug->bev);
	}
	ug->bev = NULL;
	ug->connected = 0;
}

static void
req_wipe(struct px_upget *ug)
{
	if (ug->req != NULL) {
		explicit_bzero(ug->req, ug->reqlen);
		free(ug->req);
	}
	ug->req = NULL;
	ug->reqlen = 0;
}

void
px_upget_free(struct px_upget *ug, int reusable)
{
	if (ug == NULL)
		return;
	drop_bev(ug, reusable && ug->done && ug->keepalive && !ug->failed);
	req_wipe(ug);
	free(ug);
}

/* fail() : the fetch failed; ug must not be touched after. */
static void
fail(struct px_upget *ug, int parse, const char *why)
{
	ug->failed = 1;
	ug->ops->fail(ug->arg, parse, why);
}

/* ------------------------------------------------------- the response */

static int
on_message_begin(llhttp_t *p)
{
	struct px_upget	*ug = p->data;

	ug->gzip = ug->bad_coding = 0;
	ug->done = 0;
	ug->hnlen = 0;
	ug->in_value = 0;
	ug->ce = 0;
	ug->celen = 0;
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct px_upget	*ug = p->data;

	if (ug->in_value) {
		ug->in_value = 0;
		ug->hnlen = 0;
	}
	if (ug->hnlen + len >= sizeof(ug->hname))
		len = ug->hnlen < sizeof(ug->hname) - 1 ?
		    sizeof(ug->hname) - 1 - ug->hnlen : 0;
	memcpy(ug->hname + ug->hnlen, at, len);
	ug->hnlen += len;
	ug->hname[ug->hnlen] = '\0';
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct px_upget	*ug = p->data;

	if (!ug->in_value) {
		ug->in_value = 1;
		ug->ce = strcasecmp(ug->hname, "content-encoding") == 0;
		if (ug->ce && ug->celen > 0)
			ug->bad_coding = 1;	/* twice */
		ug->celen = 0;
	}
	if (!ug->ce)
		return 0;
	if (ug->celen + len >= sizeof(ug->ceval)) {
		ug->bad_coding = 1;
		return 0;
	}
	memcpy(ug->ceval + ug->celen, at, len);
	ug->celen += len;
	ug->ceval[ug->celen] = '\0';
	return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct px_upget	*ug = p->data;
	const char	*v = ug->ceval;
	size_t		 n = ug->celen;

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n == 0 || (n == 8 && strncasecmp(v, "identity", 8) == 0))
		ug->gzip = 0;
	else if ((n == 4 && strncasecmp(v, "gzip", 4) == 0) ||
	    (n == 6 && strncasecmp(v, "x-gzip", 6) == 0))
		ug->gzip = 1;
	else
		ug->bad_coding = 1;
	return ug->ops->head(ug->arg, p->status_code, ug->gzip,
	    ug->bad_coding) == 0 ? 0 : -1;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct px_upget	*ug = p->data;

	return ug->ops->body(ug->arg, at, len) == 0 ? 0 : -1;
}

static int
on_message_complete(llhttp_t *p)
{
	struct px_upget	*ug = p->data;

	ug->done = 1;
	ug->keepalive = llhttp_should_keep_alive(p);
	return HPE_PAUSED;
}

/* response_done() : the answer is complete: the caller's turn. */
static void
response_done(struct px_upget *ug)
{
	req_wipe(ug);
	if (!ug->keepalive)
		drop_bev(ug, 0);
	ug->ops->done(ug->arg);
}

/* drive() : parses what the upstream sent; 1 once an op ended it. */
static int
drive(struct px_upget *ug)
{
	struct evbuffer		*in = bufferevent_get_input(ug->bev);
	llhttp_errno_t		 err;
	size_t			 used;

	while (!ug->done && evbuffer_get_length(in) > 0) {
		ug->answered = 1;
		err = px_http_feed(&ug->p, in, PX_FEED_CHUNK, &used);
		if (err != HPE_OK && err != HPE_PAUSED) {
			fail(ug, 1, ug->p.status_code != 200 &&
			    ug->p.status_code != 0 ? "error body too long" :
			    "unreadable answer");
			return 1;
		}
		evbuffer_drain(in, used);
	}
	if (ug->done) {
		if (evbuffer_get_length(in) > 0)
			ug->keepalive = 0;	/* bytes nobody asked for */
		response_done(ug);
		return 1;
	}
	return 0;
}

static void
ug_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)drive(arg);
}

static void
ug_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_upget	*ug = arg;
	struct timeval	 tv;
	unsigned long	 e;
	char		 why[300], tlserr[256];
	int		 dnserr, serr, one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		ug->connected = 1;
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
		    TCP_NODELAY, &one, sizeof(one));
		bufferevent_set_timeouts(bev, px_tv_ms(&tv,
		    ug->ctx->cfg->request_ms), &tv);
		return;
	}
	if ((what & BEV_EVENT_EOF) && ug->connected) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
		    drive(ug) != 0)
			return;
		/* A close-delimited answer ends here. */
		if (!ug->done && llhttp_finish(&ug->p) == HPE_OK && ug->done) {
			ug->keepalive = 0;
			response_done(ug);
			return;
		}
	}
	if (ug->pooled && !ug->answered && !ug->retried) {
		/* A kept-alive connection the registry had just closed. */
		ug->retried = 1;
		drop_bev(ug, 0);
		if (ug_send(ug) == 0)
			return;
		fail(ug, 0, "cannot connect to the registry");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(ug, 0, ug->connected ? "the registry's answer timed out" :
		    "connect timed out");
		return;
	}
	serr = errno;
	dnserr = bufferevent_socket_get_dns_error(bev);
	tlserr[0] = '\0';
	if (ug->up.tls && (e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, tlserr, sizeof(tlserr));
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	}
	ERR_clear_error();
	if (dnserr != 0)
		snprintf(why, sizeof(why), "cannot resolve %s: %s",
		    ug->up.host, evutil_gai_strerror(dnserr));
	else if (!ug->connected && serr != 0)
		snprintf(why, sizeof(why), "connect: %s", strerror(serr));
	else if (tlserr[0])
		snprintf(why, sizeof(why), "TLS: %s", tlserr);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "the registry closed the "
		    "connection");
	else
		snprintf(why, sizeof(why), "%s", errno != 0 ? strerror(errno) :
		    "connection error");
	fail(ug, 0, why);
}

/* ------------------------------------------------------- the request */

/* dial() : ug->bev, pooled or connecting; 0 or -1. */
static int
dial(struct px_upget *ug)
{
	struct px_ctx		*ctx = ug->ctx;
	struct sockaddr_storage	 ss;
	struct timeval		 tv;
	SSL			*ssl;
	int			 sslen;
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	ug->pooled = 0;
	ug->answered = 0;
	if (!ug->egress && !ug->retried &&
	    (ug->bev = px_fwd_pool_take(ctx)) != NULL) {
		ug->pooled = 1;
		ug->connected = 1;
	} else if (ug->up.tls) {
		if ((ssl = px_tls_client_new(ug->ssl, ug->up.host)) == NULL)
			return -1;
		/* The bev owns ssl from here, even when this fails. */
		ug->bev = bufferevent_openssl_socket_new(ctx->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	} else
		ug->bev = bufferevent_socket_new(ctx->base, -1, opts);
	if (ug->bev == NULL)
		return -1;
	bufferevent_setcb(ug->bev, ug_readcb, NULL, ug_eventcb, ug);
	bufferevent_setwatermark(ug->bev, EV_READ, 0, PX_HIGH_WATER);
	bufferevent_set_max_single_read(ug->bev, PX_FEED_CHUNK);
	bufferevent_set_timeouts(ug->bev, px_tv_ms(&tv, ug->connected ?
	    ctx->cfg->request_ms : ctx->cfg->connect_ms), &tv);
	bufferevent_enable(ug->bev, EV_READ | EV_WRITE);
	if (ug->connected)
		return 0;
	if (!ug->egress && px_resolve_addr(ctx, &ss, &sslen) == 0)
		return bufferevent_socket_connect(ug->bev,
		    (struct sockaddr *)&ss, sslen);
	return bufferevent_socket_connect_hostname(ug->bev, ctx->dns,
	    AF_UNSPEC, ug->addr, atoi(ug->port));
}

/* ug_send() : (dials if needed and) sends the kept request; 0 or -1. */
static int
ug_send(struct px_upget *ug)
{
	if (ug->bev == NULL && dial(ug) == -1) {
		drop_bev(ug, 0);
		return -1;
	}
	llhttp_init(&ug->p, HTTP_RESPONSE, &ug->set);
	ug->p.data = ug;
	ug->done = 0;
	ug->keepalive = 0;
	if (evbuffer_add(bufferevent_get_output(ug->bev), ug->req,
	    ug->reqlen) != 0)
		return -1;
	return 0;
}

struct px_upget *
px_upget_new(const struct px_conn *conn, const struct px_upget_ops *ops,
    void *arg)
{
	struct px_upget	*ug;

	if ((ug = calloc(1, sizeof(*ug))) == NULL)
		return NULL;
	ug->ctx = conn->ctx;
	ug->ops = ops;
	ug->arg = arg;
	ug->up = *px_conn_up(conn);
	if (conn->eg_up != NULL) {
		ug->egress = 1;
		snprintf(ug->addr, sizeof(ug->addr), "%s", conn->eg_up->addr);
		snprintf(ug->port, sizeof(ug->port), "%s", conn->eg_up->port);
		ug->ssl = conn->eg_up->ssl;
	} else {
		snprintf(ug->addr, sizeof(ug->addr), "%s", ug->up.host);
		snprintf(ug->port, sizeof(ug->port), "%s", ug->up.port);
		ug->ssl = conn->ctx->up_ssl;
	}
	llhttp_settings_init(&ug->set);
	ug->set.on_message_begin = on_message_begin;
	ug->set.on_header_field = on_header_field;
	ug->set.on_header_value = on_header_value;
	ug->set.on_headers_complete = on_headers_complete;
	ug->set.on_body = on_body;
	ug->set.on_message_complete = on_message_complete;
	return ug;
}

const struct px_url *
px_upget_url(const struct px_upget *ug)
{
	return &ug->up;
}

int
px_upget_get(struct px_upget *ug, const char *path, const char *headers,
    const char *auth, size_t authlen)
{
	const char	*h = headers != NULL ? headers : "";
	size_t		 len, o;
	int		 n;

	req_wipe(ug);
	if (ug->bev != NULL && !(ug->done && ug->keepalive))
		drop_bev(ug, 0);
	ug->retried = 0;
	ug->failed = 0;
	n = snprintf(NULL, 0, "GET %s HTTP/1.1\r\nHost: %s\r\n%s", path,
	    ug->up.hostport, h);
	if (n < 0)
		return -1;
	len = (size_t)n + (auth != NULL ? 15 + authlen + 2 : 0) + 2;
	if ((ug->req = malloc(len + 1)) == NULL)
		return -1;
	ug->reqlen = len;
	(void)snprintf(ug->req, (size_t)n + 1, "GET %s HTTP/1.1\r\nHost: "
	    "%s\r\n%s", path, ug->up.hostport, h);
	o = (size_t)n;
	if (auth != NULL) {
		memcpy(ug->req + o, "Authorization: ", 15);
		memcpy(ug->req + o + 15, auth, authlen);
		memcpy(ug->req + o + 15 + authlen, "\r\n", 2);
		o += 15 + authlen + 2;
	}
	memcpy(ug->req + o, "\r\n", 2);
	return ug_send(ug);
}
