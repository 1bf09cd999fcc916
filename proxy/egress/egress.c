/*
 * proxy/egress/egress.c: egress mode, pubgate as the network's forward proxy.
 *
 * It owns the egress listener (plain HTTP proxy protocol), the egress
 * section of the server settings and its flags, the corporate CA and the
 * leaf cache (through certs/: cert_ca, cert_mint, cert_cache), the TLS
 * context that terminates intercepted CONNECTs, the verified client TLS
 * context toward intercepted hosts, and every egress client connection
 * until it becomes a struct px_conn or ends as a blind tunnel.
 *
 * Data flow of one egress client connection (struct px_eg_conn):
 *   accept --> read the first request head (at most header_bytes) -->
 *   CONNECT host:port
 *     IP literal, port not in allow_ports, bad target   --> 400/403
 *     intercepted host --> "200 Connection established", TLS terminated
 *         with a leaf minted for the host (SNI must match it), and the
 *         TLS bufferevent handed to px_conn_adopt(): from there the
 *         request goes through the reverse proxy's paths (conn.c, fwd.c,
 *         spool.c) with the upstream https://host (or its mapped
 *         address), always verified against the upstream CA
 *     tunnel-listed host, or any host with other: tunnel --> upstream
 *         connect, "200", blind byte relay both ways (backpressure at
 *         PX_HIGH_WATER, idle timeout)
 *     else --> 403
 *   absolute-form http://host/... to an intercepted host --> the plain
 *     bufferevent (head still unread) handed to px_conn_adopt(), the
 *     upstream is https://host; anything else --> 400/403.
 * Each CONNECT ends in one access line (host, verdict, bytes, leaf cache
 * hit or miss); the cache counters are in a debug line per handshake.
 *
 * px_conn_close() calls px_egress_conn_end() for adopted connections, and
 * conn.c's route() calls px_egress_request() for each of their requests
 * (Host must agree with the intercepted host; absolute-form targets are
 * cut to their path).  No global state: everything hangs off px_ctx.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <yaml.h>

#include "certs.h"
#include "log.h"
#include "proxy-int.h"

enum px_eg_state {
	PX_EG_HEAD,		/* reading the first request head */
	PX_EG_CONNECTING,	/* tunnel: upstream connect in progress */
	PX_EG_TUNNEL,		/* tunnel: relaying bytes */
	PX_EG_CLOSING,		/* final answer or last bytes being written */
};

/* One egress client connection until adopted by px_conn or closed. */
struct px_eg_conn {
	struct px_egress	*eg;
	uint64_t		 id;
	TAILQ_ENTRY(px_eg_conn)	 entry;
	enum px_eg_state	 state;
	struct bufferevent	*client;
	struct bufferevent	*up;		/* tunnel only */
	char			 peer[64];
	char			 reqid[40];
	char			 host[CERT_HOST_MAX + 1];	/* lower case */
	char			 port[8];
	const char		*method;
	const char		*verdict;	/* intercept, tunnel, refuse */
	int			 status;
	int			 counted;	/* holds a tunnel slot */
	int			 logged;
	int			 paused_client, paused_up;
	uint64_t		 t_start_ms, last_ms;
	uint64_t		 bytes_in;	/* client to upstream */
	uint64_t		 bytes_out;	/* upstream to client */
	size_t			 head_len;
	struct event		*ev_head;	/* head deadline */
	int			 client_counted;	/* px_client_take() */
};

TAILQ_HEAD(px_eg_list, px_eg_conn);

/* What an adopted (intercepted or absolute-form) px_conn carries. */
struct px_egress_sess {
	struct px_egress_up	 up;		/* conn->eg_up points here */
	int			 connect;	/* 1 CONNECT, 0 absolute-form */
	uint64_t		 id;		/* the conn's */
	char			 reqid[40];
	const char		*tls;		/* handshake problem, or NULL */
	const char		*leaf;		/* "hit", "miss" or "-" */
	uint64_t		 wire_in, wire_out;
	uint64_t		 t_start_ms;
};

struct px_egress {
	struct px_ctx		*ctx;
	struct px_egress_cfg	*cfg;		/* borrowed, in ctx->cfg */
	struct evconnlistener	*lev;
	SSL_CTX			*srv;		/* terminates intercepted TLS */
	SSL_CTX			*cli;		/* toward intercepted hosts */
	struct cert_ca		*ca;
	struct cert_mint	*mint;
	struct cert_cache	*cache;
	struct px_eg_list	 conns;
	size_t			 nconns;
	size_t			 ntunnels;	/* CONNECTs in progress */
	uint64_t		 nverdict[3];	/* intercept, tunnel, refuse */
};

static void	eg_close(struct px_eg_conn *, const char *);
static void	eg_client_readcb(struct bufferevent *, void *);
static void	eg_client_writecb(struct bufferevent *, void *);
static void	eg_client_eventcb(struct bufferevent *, short, void *);

/* ------------------------------------------------------------ helpers */

/* set_tmo() : read and write timeouts of bev in ms (0: none). */
static void
set_tmo(struct bufferevent *bev, unsigned rd_ms, unsigned wr_ms)
{
	struct timeval	 r, w;

	r.tv_sec = rd_ms / 1000;
	r.tv_usec = (rd_ms % 1000) * 1000;
	w.tv_sec = wr_ms / 1000;
	w.tv_usec = (wr_ms % 1000) * 1000;
	bufferevent_set_timeouts(bev, rd_ms ? &r : NULL, wr_ms ? &w : NULL);
}

/*
 * px_egress_ip_literal() : 1 if host is, or could be read by a resolver
 * as, an IP address: an IPv4 or IPv6 literal, or a name whose last label
 * is numeric or hexadecimal ("127.1", "0x7f.1", "2130706433").
 */
int
px_egress_ip_literal(const char *host)
{
	unsigned char	 a[16];
	const char	*last;
	size_t		 i;

	if (strchr(host, ':') != NULL || inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1)
		return 1;
	last = strrchr(host, '.');
	last = last != NULL ? last + 1 : host;
	if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
		return 1;
	for (i = 0; last[i] != '\0'; i++)
		if (!isdigit((unsigned char)last[i]))
			return 0;
	return i > 0;
}

/* find_intercept() : the intercept entry for host (lower case), or NULL. */
static const struct px_egress_host *
find_intercept(const struct px_egress_cfg *ec, const char *host)
{
	size_t	 i;

	for (i = 0; i < ec->nintercept; i++)
		if (strcmp(ec->intercept[i].name, host) == 0)
			return &ec->intercept[i];
	return NULL;
}

static int
tunnel_listed(const struct px_egress_cfg *ec, const char *host)
{
	size_t	 i;

	for (i = 0; i < ec->ntunnel; i++)
		if (strcmp(ec->tunnel[i], host) == 0)
			return 1;
	return 0;
}

static int
port_allowed(const struct px_egress_cfg *ec, unsigned port)
{
	size_t	 i;

	for (i = 0; i < ec->nports; i++)
		if (ec->allow_ports[i] == port)
			return 1;
	return 0;
}

/*
 * parse_port() : a decimal port 1..65535 of n bytes; 0 if bad.
 */
static unsigned
parse_port(const char *s, size_t n)
{
	unsigned long	 v = 0;
	size_t		 i;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (unsigned)v : 0;
}

/*
 * split_authority() : "host[:port]" (n bytes, no brackets allowed: an
 * IPv6 literal is refused anyway) into host (lower case, checked by
 * cert_mint_host_norm) and *port (0 when absent).  Returns 0, -1 for a
 * malformed authority, -2 for an IP literal.
 */
static int
split_authority(const char *s, size_t n, char host[CERT_HOST_MAX + 1],
    unsigned *port)
{
	char		 tmp[CERT_HOST_MAX + 1];
	const char	*colon;
	struct cert_err	 err;
	size_t		 hl;

	*port = 0;
	if (n > 0 && s[0] == '[')
		return -2;
	colon = memchr(s, ':', n);
	hl = colon != NULL ? (size_t)(colon - s) : n;
	if (colon != NULL && (*port = parse_port(colon + 1,
	    n - hl - 1)) == 0)
		return -1;
	if (hl == 0 || hl > CERT_HOST_MAX)
		return -1;
	memcpy(tmp, s, hl);
	tmp[hl] = '\0';
	if (px_egress_ip_literal(tmp))
		return -2;
	if (cert_mint_host_norm(tmp, host, &err) == -1)
		return -1;
	return 0;
}

/* ----------------------------------------------------------- logging */

/* count() : one more request with verdict v (metrics). */
static void
count(struct px_egress *eg, const char *v)
{
	if (v == NULL)
		return;
	if (strcmp(v, "intercept") == 0)
		eg->nverdict[0]++;
	else if (strcmp(v, "tunnel") == 0)
		eg->nverdict[1]++;
	else
		eg->nverdict[2]++;
	/* The slot keeps them across a restart of worker 0. */
	PX_MADD(eg->ctx->m->egress[strcmp(v, "intercept") == 0 ? 0 :
	    strcmp(v, "tunnel") == 0 ? 1 : 2], 1);
}

/* access_log() : the one line of a CONNECT or refused request. */
static void
access_log(struct px_eg_conn *c)
{
	if (c->logged || (c->method == NULL && c->status == 0))
		return;		/* logged, or closed before any request */
	c->logged = 1;
	count(c->eg, c->verdict);
	px_log_info("conn=%llu req=%s client=%s method=%s host=%s port=%s "
	    "verdict=%s status=%d bytes_in=%llu bytes_out=%llu ms=%llu",
	    (unsigned long long)c->id, c->reqid, c->peer,
	    c->method != NULL ? c->method : "-",
	    c->host[0] ? c->host : "-", c->port[0] ? c->port : "-",
	    c->verdict != NULL ? c->verdict : "-", c->status,
	    (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
	    (unsigned long long)(px_now_ms() - c->t_start_ms));
}

/* ----------------------------------------------------- ending a conn */

/* eg_close() : the only way a struct px_eg_conn ends; frees it. */
static void
eg_close(struct px_eg_conn *c, const char *reason)
{
	struct px_egress	*eg = c->eg;

	access_log(c);
	px_log_debug("conn=%llu event=close reason=\"%s\"",
	    (unsigned long long)c->id, reason);
	if (c->up != NULL) {
		bufferevent_setcb(c->up, NULL, NULL, NULL, NULL);
		bufferevent_free(c->up);
		c->up = NULL;
	}
	if (c->client != NULL) {
		bufferevent_setcb(c->client, NULL, NULL, NULL, NULL);
		bufferevent_free(c->client);
		c->client = NULL;
	}
	if (c->counted)
		eg->ntunnels--;
	if (c->ev_head != NULL)
		event_free(c->ev_head);
	if (c->client_counted)
		px_client_drop(eg->ctx, c->peer);
	TAILQ_REMOVE(&eg->conns, c, entry);
	eg->nconns--;
	free(c);
}

/*
 * refuse() : answers status with a JSON error and closes once it is
 * written; input from then on is discarded.
 */
static void
refuse(struct px_eg_conn *c, int status, const char *text)
{
	if (c->verdict == NULL)
		c->verdict = "refuse";
	c->status = status;
	if (c->up != NULL) {
		bufferevent_setcb(c->up, NULL, NULL, NULL, NULL);
		bufferevent_free(c->up);
		c->up = NULL;
	}
	px_http_error(bufferevent_get_output(c->client), status, text, 0);
	access_log(c);
	c->state = PX_EG_CLOSING;
	bufferevent_setwatermark(c->client, EV_WRITE, 0, 0);
	set_tmo(c->client, PX_LINGER_MS, PX_LINGER_MS);
	bufferevent_enable(c->client, EV_READ | EV_WRITE);
}

/* ----------------------------------------------------------- tunnels */

static void	tun_readcb(struct bufferevent *, void *);
static void	tun_writecb(struct bufferevent *, void *);
static void	tun_eventcb(struct bufferevent *, short, void *);

/*
 * tun_relay() : moves what src has read to dst, stopping src when dst
 * holds more than PX_HIGH_WATER (dst's write callback restarts it).
 */
static void
tun_relay(struct px_eg_conn *c, struct bufferevent *src)
{
	struct bufferevent	*dst = src == c->client ? c->up : c->client;
	struct evbuffer		*in = bufferevent_get_input(src);
	size_t			 n = evbuffer_get_length(in);

	if (n == 0)
		return;
	c->last_ms = px_now_ms();
	if (src == c->client)
		c->bytes_in += n;
	else
		c->bytes_out += n;
	evbuffer_add_buffer(bufferevent_get_output(dst), in);
	if (evbuffer_get_length(bufferevent_get_output(dst)) > PX_HIGH_WATER) {
		bufferevent_disable(src, EV_READ);
		if (src == c->client)
			c->paused_client = 1;
		else
			c->paused_up = 1;
	}
}

static void
tun_readcb(struct bufferevent *bev, void *arg)
{
	struct px_eg_conn	*c = arg;

	if (c->state == PX_EG_TUNNEL)
		tun_relay(c, bev);
	else if (c->state == PX_EG_CLOSING)
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
tun_writecb(struct bufferevent *bev, void *arg)
{
	struct px_eg_conn	*c = arg;
	size_t			 out;

	out = evbuffer_get_length(bufferevent_get_output(bev));
	if (c->state == PX_EG_CLOSING) {
		if (out == 0)
			eg_close(c, "tunnel done");
		return;
	}
	if (out > PX_HIGH_WATER / 2)
		return;
	c->last_ms = px_now_ms();
	if (bev == c->client && c->paused_up) {
		c->paused_up = 0;
		bufferevent_enable(c->up, EV_READ);
	} else if (bev == c->up && c->paused_client) {
		c->paused_client = 0;
		bufferevent_enable(c->client, EV_READ);
	}
}

/*
 * tun_finish() : one side is gone: what it sent is flushed to the other
 * side, which is then closed.
 */
static void
tun_finish(struct px_eg_conn *c, struct bufferevent *gone, const char *why)
{
	struct bufferevent	*other = gone == c->client ? c->up : c->client;

	if (c->state == PX_EG_TUNNEL)
		tun_relay(c, gone);
	bufferevent_setcb(gone, NULL, NULL, NULL, NULL);
	bufferevent_free(gone);
	if (gone == c->client)
		c->client = NULL;
	else
		c->up = NULL;
	if (other == NULL || evbuffer_get_length(
	    bufferevent_get_output(other)) == 0) {
		eg_close(c, why);
		return;
	}
	c->state = PX_EG_CLOSING;
	bufferevent_setwatermark(other, EV_WRITE, 0, 0);
	bufferevent_enable(other, EV_WRITE);
	bufferevent_disable(other, EV_READ);
}

static void
tun_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_eg_conn	*c = arg;
	uint64_t		 idle = c->eg->cfg->idle_ms;
	char			 why[300];
	int			 dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		/* The upstream is up: answer the CONNECT, start relaying. */
		c->state = PX_EG_TUNNEL;
		c->status = 200;
		c->last_ms = px_now_ms();
		evbuffer_add_printf(bufferevent_get_output(c->client),
		    "HTTP/1.1 200 Connection established\r\n\r\n");
		evbuffer_drain(bufferevent_get_input(c->client), c->head_len);
		px_log_debug("conn=%llu req=%s event=tunnel-open host=%s "
		    "port=%s", (unsigned long long)c->id, c->reqid, c->host,
		    c->port);
		set_tmo(c->client, (unsigned)idle, (unsigned)idle);
		set_tmo(c->up, (unsigned)idle, (unsigned)idle);
		bufferevent_setwatermark(c->client, EV_WRITE,
		    PX_HIGH_WATER / 2, 0);
		bufferevent_setwatermark(c->up, EV_WRITE, PX_HIGH_WATER / 2,
		    0);
		bufferevent_setcb(c->client, tun_readcb, tun_writecb,
		    tun_eventcb, c);
		bufferevent_enable(c->client, EV_READ | EV_WRITE);
		tun_relay(c, c->client);	/* bytes sent after the head */
		return;
	}
	if (c->state == PX_EG_CONNECTING) {
		/* bev is the upstream: it could not be reached. */
		dnserr = bufferevent_socket_get_dns_error(bev);
		if (dnserr != 0)
			snprintf(why, sizeof(why), "cannot resolve %s: %s",
			    c->host, evutil_gai_strerror(dnserr));
		else if (what & BEV_EVENT_TIMEOUT)
			snprintf(why, sizeof(why), "connect to %s timed out",
			    c->host);
		else
			snprintf(why, sizeof(why),
			    "cannot connect to %s:%s: %s", c->host, c->port,
			    errno ? strerror(errno) : "connection closed");
		px_log_warnx("conn=%llu req=%s event=tunnel-failed "
		    "reason=\"%s\"", (unsigned long long)c->id, c->reqid, why);
		refuse(c, (what & BEV_EVENT_TIMEOUT) ? 504 : 502, why);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* One direction may be quiet while the other is busy. */
		if (px_now_ms() - c->last_ms < idle &&
		    (what & BEV_EVENT_READING)) {
			bufferevent_enable(bev, EV_READ);
			return;
		}
		tun_finish(c, bev, "idle timeout");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		tun_finish(c, bev, bev == c->client ? "client closed" :
		    "upstream closed");
}

/* tunnel() : starts a blind relay to c->host:c->port. */
static void
tunnel(struct px_eg_conn *c)
{
	struct px_egress	*eg = c->eg;
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	c->verdict = "tunnel";
	c->up = bufferevent_socket_new(eg->ctx->base, -1, opts);
	if (c->up == NULL) {
		refuse(c, 500, "out of memory");
		return;
	}
	c->state = PX_EG_CONNECTING;
	bufferevent_disable(c->client, EV_READ);
	bufferevent_setcb(c->up, tun_readcb, tun_writecb, tun_eventcb, c);
	set_tmo(c->up, eg->ctx->cfg->connect_ms, eg->ctx->cfg->connect_ms);
	bufferevent_enable(c->up, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(c->up, eg->ctx->dns,
	    AF_UNSPEC, c->host, (int)parse_port(c->port,
	    strlen(c->port))) == -1) {
		refuse(c, 502, "pubgate: cannot connect to the tunnel's host");
		return;
	}
}

/* ------------------------------------------------------ interception */

/* sess_new() : the egress session of an adopted conn toward h. */
static struct px_egress_sess *
sess_new(struct px_eg_conn *c, const struct px_egress_host *h,
    const char *port)
{
	struct px_egress_sess	*s;
	struct px_url		*u;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	u = &s->up.u;
	u->tls = 1;
	snprintf(u->host, sizeof(u->host), "%s", h->name);
	snprintf(u->port, sizeof(u->port), "%s", port);
	if (strcmp(port, "443") == 0)
		snprintf(u->hostport, sizeof(u->hostport), "%s", h->name);
	else
		snprintf(u->hostport, sizeof(u->hostport), "%s:%s", h->name,
		    port);
	if (h->addr[0] != '\0') {
		snprintf(s->up.addr, sizeof(s->up.addr), "%s", h->addr);
		snprintf(s->up.port, sizeof(s->up.port), "%s", h->port);
	} else {
		snprintf(s->up.addr, sizeof(s->up.addr), "%s", h->name);
		snprintf(s->up.port, sizeof(s->up.port), "%s", port);
	}
	s->up.ssl = c->eg->cli;
	s->leaf = "-";
	s->t_start_ms = c->t_start_ms;
	s->id = c->id;
	snprintf(s->reqid, sizeof(s->reqid), "%s", c->reqid);
	return s;
}

/*
 * wire_cb() : a BIO callback on an intercepted conn's TLS transport:
 * counts the bytes read from and written to the client socket.
 */
static long
wire_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
    int ret, size_t *processed)
{
	struct px_egress_sess	*s = (void *)BIO_get_callback_arg(b);

	if (s == NULL || ret <= 0 || processed == NULL)
		return ret;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN))
		s->wire_in += *processed;
	else if (oper == (BIO_CB_WRITE | BIO_CB_RETURN))
		s->wire_out += *processed;
	return ret;
}

/*
 * hand_over() : gives c's client (bev: the plain one, or the TLS filter
 * over it) to a new px_conn with session s (ownership of both passes);
 * c is freed.  Returns the conn or NULL (everything freed).
 */
static struct px_conn *
hand_over(struct px_eg_conn *c, struct bufferevent *bev, int tls,
    struct px_egress_sess *s)
{
	struct px_egress	*eg = c->eg;
	struct px_conn		*conn;
	uint64_t		 id = c->id;
	char			 peer[64];

	snprintf(peer, sizeof(peer), "%s", c->peer);
	c->client = NULL;		/* now inside bev, or bev itself */
	if (c->counted) {
		c->counted = 0;		/* the slot moves to the px_conn */
		s->connect = 1;
	}
	c->logged = 1;			/* px_egress_conn_end() logs it */
	eg_close(c, "handed over");
	conn = px_conn_adopt(eg->ctx, id, bev, peer, tls);
	if (conn == NULL) {
		if (s->connect)
			eg->ntunnels--;
		free(s);
		return NULL;
	}
	conn->eg = s;
	conn->eg_up = &s->up;
	return conn;
}

/* intercept() : CONNECT to an intercepted host: 200, then TLS. */
static void
intercept(struct px_eg_conn *c, const struct px_egress_host *h)
{
	struct px_egress	*eg = c->eg;
	struct px_egress_sess	*s;
	struct bufferevent	*plain = c->client, *tls;
	struct evbuffer		*in;
	SSL			*ssl;
	BIO			*bio;
	evutil_socket_t		 fd;
	static const char	 ok[] =
	    "HTTP/1.1 200 Connection established\r\n\r\n";
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	c->verdict = "intercept";
	c->status = 200;
	if ((s = sess_new(c, h, c->port)) == NULL ||
	    (ssl = SSL_new(eg->srv)) == NULL) {
		free(s);
		refuse(c, 500, "out of memory");
		return;
	}
	/* Before any byte reaches the handshake: cert_cb needs it. */
	SSL_set_app_data(ssl, s);
	s->wire_in = c->head_len;
	s->wire_out = sizeof(ok) - 1;
	in = bufferevent_get_input(plain);
	if (evbuffer_get_length(in) == c->head_len &&
	    evbuffer_get_length(bufferevent_get_output(plain)) == 0 &&
	    (fd = bufferevent_getfd(plain)) != -1) {
		/*
		 * The usual case: nothing sent after the head.  The 200 goes
		 * out now and TLS runs on the socket itself (no filter layer:
		 * fewer copies per record).  The plain bev lets go of the
		 * socket rather than a dup() of it being kept: with epoll's
		 * change list (serve.c) a closed original would stay
		 * registered in the kernel through the copy.
		 */
		if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(ok) - 1) {
			SSL_free(ssl);
			free(s);
			eg_close(c, "cannot answer the CONNECT");
			return;
		}
		bufferevent_setcb(plain, NULL, NULL, NULL, NULL);
		bufferevent_setfd(plain, -1);	/* no close at the free */
		bufferevent_free(plain);
		c->client = NULL;
		/* The bev owns ssl from here, even when this fails. */
		tls = bufferevent_openssl_socket_new(eg->ctx->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, opts);
		if (tls == NULL)
			close(fd);
	} else {
		/* The client already sent more: TLS over the plain bev. */
		evbuffer_drain(in, c->head_len);
		evbuffer_add(bufferevent_get_output(plain), ok, sizeof(ok) - 1);
		bufferevent_setcb(plain, NULL, NULL, NULL, NULL);
		set_tmo(plain, 0, 0);	/* px_conn times the TLS side */
		/* The filter owns ssl (and plain) from here. */
		tls = bufferevent_openssl_filter_new(eg->ctx->base, plain, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, opts);
		c->client = NULL;
	}
	if (tls == NULL) {
		/* Out of memory: what the bev took may be gone; never reuse. */
		free(s);
		eg_close(c, "out of memory");
		return;
	}
	if ((bio = SSL_get_wbio(ssl)) != NULL) {
		BIO_set_callback_arg(bio, (char *)s);
		BIO_set_callback_ex(bio, wire_cb);
	}
	px_log_debug("conn=%llu req=%s event=intercept host=%s port=%s "
	    "upstream=%s:%s", (unsigned long long)c->id, c->reqid, c->host,
	    c->port, s->up.addr, s->up.port);
	(void)hand_over(c, tls, 1, s);
}

/*
 * cert_cb() : the server certificate callback of an intercepted
 * handshake: the SNI must name the CONNECT host (no SNI means that
 * host); the leaf for it comes from the cache.  1 or 0 (abort).
 */
static int
cert_cb(SSL *ssl, void *arg)
{
	struct px_egress	*eg = arg;
	struct px_egress_sess	*s = SSL_get_app_data(ssl);
	struct cert_cache_stats	 a, b;
	struct cert_err		 err;
	const char		*sni, *host;
	char			 q[300];

	if (s == NULL)
		return 0;
	host = s->up.u.host;
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL && strcasecmp(sni, host) != 0) {
		s->tls = "sni-mismatch";
		px_log_info("conn=%llu req=%s event=tls-refused host=%s "
		    "sni=%s reason=\"SNI does not match the CONNECT host\"",
		    (unsigned long long)s->id, s->reqid, host,
		    px_log_quote(q, sizeof(q), sni));
		return 0;
	}
	cert_cache_stats(eg->cache, &a);
	if (cert_cache_use(eg->cache, ssl, host, &err) == -1) {
		s->tls = "no-leaf";
		px_log_warnx("conn=%llu event=leaf-failed host=%s error=\"%s\"",
		    (unsigned long long)s->id, host,
		    px_log_quote(q, sizeof(q), err.msg));
		return 0;
	}
	cert_cache_stats(eg->cache, &b);
	s->leaf = b.hits > a.hits ? "hit" : "miss";
	px_log_debug("conn=%llu event=leaf host=%s cache=%s hits=%llu "
	    "misses=%llu evictions=%llu size=%zu", (unsigned long long)s->id,
	    host, s->leaf, (unsigned long long)b.hits,
	    (unsigned long long)b.misses, (unsigned long long)b.evictions,
	    b.size);
	return 1;
}

/* ------------------------------------------------ the first request */

struct head_parse {
	struct px_head	 head;
	int		 done;
	int		 method;
	int		 major, minor;
};

static int
hp_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct head_parse	*hp = p->data;

	return px_http_head_url(&hp->head, at, len) == -1 ? HPE_USER : 0;
}

static int
hp_on_field(llhttp_t *p, const char *at, size_t len)
{
	struct head_parse	*hp = p->data;

	return px_http_head_field(&hp->head, at, len) == -1 ? HPE_USER : 0;
}

static int
hp_on_value(llhttp_t *p, const char *at, size_t len)
{
	struct head_parse	*hp = p->data;

	return px_http_head_value(&hp->head, at, len) == -1 ? HPE_USER : 0;
}

static int
hp_on_headers_complete(llhttp_t *p)
{
	struct head_parse	*hp = p->data;

	hp->done = 1;
	hp->method = p->method;
	hp->major = p->http_major;
	hp->minor = p->http_minor;
	return HPE_PAUSED;
}

/*
 * host_agrees() : whether the Host field of h (if any) names host with
 * port (or the default port dflt when Host has none).  Returns 1 when
 * there is no Host field (HTTP/1.0).
 */
static int
host_agrees(const struct px_head *h, const char *host, unsigned port,
    unsigned dflt)
{
	const char	*v;
	size_t		 n;
	char		 hh[CERT_HOST_MAX + 1];
	unsigned	 hp;

	if ((v = px_http_head_get(h, "host", &n)) == NULL)
		return 1;
	if (split_authority(v, n, hh, &hp) != 0)
		return 0;
	if (hp == 0)
		hp = dflt;
	return strcmp(hh, host) == 0 && hp == port;
}

/* raw_target() : a refused target, log-safe, as the conn's host. */
static void
raw_target(struct px_eg_conn *c, const char *s, size_t n)
{
	char	 tmp[CERT_HOST_MAX + 1];

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	px_log_quote(c->host, sizeof(c->host), tmp);
}

/*
 * decide() : routes the first request of c, whose complete head (len
 * bytes, still in the client's input) is in hp.
 */
static void
decide(struct px_eg_conn *c, struct head_parse *hp)
{
	struct px_egress		*eg = c->eg;
	struct px_egress_cfg		*ec = eg->cfg;
	const struct px_egress_host	*h;
	struct px_egress_sess		*s;
	struct px_conn			*conn;
	struct bufferevent		*bev;
	const char			*url = hp->head.buf + hp->head.url;
	size_t				 ulen = hp->head.url_len, alen;
	unsigned			 port;
	char				 text[400];
	int				 r;

	c->method = llhttp_method_name((llhttp_method_t)hp->method);
	if (hp->major != 1) {
		refuse(c, 505, "HTTP/1.x only");
		return;
	}
	if (hp->method == HTTP_CONNECT) {
		r = split_authority(url, ulen, c->host, &port);
		if (r == 0 && port == 0)
			r = -1;
		if (r == 0)
			snprintf(c->port, sizeof(c->port), "%hu",
			    (unsigned short)port);
		if (r == -1) {
			refuse(c, 400, "pubgate: CONNECT needs host:port");
			return;
		}
		if (r == -2) {
			raw_target(c, url, ulen);
			refuse(c, 403, "pubgate: CONNECT to an IP address is "
			    "not allowed; use the host name");
			return;
		}
		if (!port_allowed(ec, port)) {
			snprintf(text, sizeof(text), "pubgate: CONNECT to port "
			    "%u is not allowed (allow_ports)", port);
			refuse(c, 403, text);
			return;
		}
		h = find_intercept(ec, c->host);
		if (h == NULL && !ec->other_tunnel &&
		    !tunnel_listed(ec, c->host)) {
			snprintf(text, sizeof(text), "pubgate: %s is not an "
			    "allowed destination of this gateway", c->host);
			refuse(c, 403, text);
			return;
		}
		if (eg->ntunnels >= ec->max_tunnels) {
			refuse(c, 503, "pubgate: too many open tunnels; try "
			    "again later");
			return;
		}
		eg->ntunnels++;
		c->counted = 1;
		if (h != NULL)
			intercept(c, h);
		else
			tunnel(c);
		return;
	}

	/* Absolute-form: http://host[:port]/path. */
	if (ulen < 8 || strncasecmp(url, "http://", 7) != 0) {
		refuse(c, 400, ulen > 0 && url[0] == '/' ? "pubgate: this is "
		    "a proxy: the request target must be an absolute URL" :
		    "pubgate: only http:// URLs and CONNECT are proxied");
		return;
	}
	url += 7;
	ulen -= 7;
	for (alen = 0; alen < ulen && url[alen] != '/' && url[alen] != '?' &&
	    url[alen] != '#'; alen++)
		;
	r = split_authority(url, alen, c->host, &port);
	if (r == -1 || alen == ulen || url[alen] != '/') {
		refuse(c, 400, "pubgate: malformed request URL");
		return;
	}
	if (r == -2) {
		raw_target(c, url, alen);
		refuse(c, 403, "pubgate: requests to an IP address are not "
		    "allowed; use the host name");
		return;
	}
	snprintf(c->port, sizeof(c->port), "%hu",
	    (unsigned short)(port ? port : 80));
	if (!host_agrees(&hp->head, c->host, port ? port : 80, 80)) {
		refuse(c, 400, "pubgate: the Host header does not match the "
		    "request URL");
		return;
	}
	if ((h = find_intercept(ec, c->host)) == NULL ||
	    (port != 0 && port != 80)) {
		snprintf(text, sizeof(text), "pubgate: plain http to %s is "
		    "not allowed through this gateway", c->host);
		refuse(c, 403, text);
		return;
	}
	if ((s = sess_new(c, h, "443")) == NULL) {
		refuse(c, 500, "out of memory");
		return;
	}
	c->verdict = "intercept";
	bev = c->client;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	px_log_debug("conn=%llu req=%s event=intercept-http host=%s "
	    "upstream=%s:%s", (unsigned long long)c->id, c->reqid, c->host,
	    s->up.addr, s->up.port);
	if ((conn = hand_over(c, bev, 0, s)) == NULL)
		return;
	(void)px_conn_drive(conn);	/* the head is already buffered */
}

/* read_head() : looks for a complete head in c's input; routes it. */
static void
read_head(struct px_eg_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->client);
	struct evbuffer_ptr	 e;
	struct head_parse	 hp;
	llhttp_settings_t	 set;
	llhttp_t		 p;
	llhttp_errno_t		 err;
	size_t			 cap = c->eg->ctx->cfg->header_bytes, len;
	unsigned char		*buf;

	e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (e.pos == -1) {
		if (evbuffer_get_length(in) > cap)
			refuse(c, 431, "request head too large");
		return;
	}
	len = (size_t)e.pos + 4;
	if (len > cap) {
		refuse(c, 431, "request head too large");
		return;
	}
	c->head_len = len;
	c->eg->ctx->nrequests++;
	snprintf(c->reqid, sizeof(c->reqid), "%08x-%llu", c->eg->ctx->boot,
	    (unsigned long long)c->eg->ctx->nrequests);
	if ((buf = evbuffer_pullup(in, (ssize_t)len)) == NULL) {
		refuse(c, 500, "out of memory");
		return;
	}
	memset(&hp, 0, sizeof(hp));
	if (px_http_head_init(&hp.head, cap, c->eg->ctx->cfg->headers) == -1) {
		refuse(c, 500, "out of memory");
		return;
	}
	llhttp_settings_init(&set);
	set.on_url = hp_on_url;
	set.on_header_field = hp_on_field;
	set.on_header_value = hp_on_value;
	set.on_headers_complete = hp_on_headers_complete;
	llhttp_init(&p, HTTP_REQUEST, &set);
	p.data = &hp;
	err = llhttp_execute(&p, (const char *)buf, len);
	if ((err != HPE_PAUSED && err != HPE_OK) || !hp.done) {
		px_log_info("conn=%llu event=bad-request error=%s",
		    (unsigned long long)c->id, llhttp_errno_name(err));
		refuse(c, 400, "malformed HTTP request");
	} else
		decide(c, &hp);
	px_http_head_free(&hp.head);
}

/* -------------------------------------------- egress client callbacks */

/*
 * eg_head_deadline() : the first request head (CONNECT or absolute-form)
 * is not complete timeouts.header after accept; bytes that trickle in do
 * not extend it.
 */
static void
eg_head_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct px_eg_conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->state != PX_EG_HEAD)
		return;
	PX_MADD(c->eg->ctx->m->head_timeouts, 1);
	px_log_info("conn=%llu event=head-deadline listener=egress client=%s",
	    (unsigned long long)c->id, c->peer);
	if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
		refuse(c, 408, "pubgate: the request head was not received "
		    "in time");
	else
		eg_close(c, "head deadline");
}

static void
eg_client_readcb(struct bufferevent *bev, void *arg)
{
	struct px_eg_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	if (c->state == PX_EG_HEAD)
		read_head(c);
	else if (c->state == PX_EG_CLOSING)
		evbuffer_drain(in, evbuffer_get_length(in));
}

static void
eg_client_writecb(struct bufferevent *bev, void *arg)
{
	struct px_eg_conn	*c = arg;

	if (c->state == PX_EG_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		eg_close(c, "done");
}

static void
eg_client_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct px_eg_conn	*c = arg;

	if (c->state == PX_EG_CONNECTING && (what & BEV_EVENT_EOF) == 0 &&
	    (what & BEV_EVENT_ERROR) == 0)
		return;
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->state == PX_EG_HEAD && evbuffer_get_length(
		    bufferevent_get_input(bev)) > 0) {
			refuse(c, 408, "request timeout");
			return;
		}
		eg_close(c, "timeout");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		eg_close(c, what & BEV_EVENT_EOF ? "client closed" :
		    "client error");
}

/* ---------------------------------------------------------- accepting */

int
px_egress_accept(struct px_ctx *ctx, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	struct px_egress	*eg = ctx->egress;
	struct px_eg_conn	*c;
	char			 host[INET6_ADDRSTRLEN];
	int			 one = 1, port = 0;
	const int		 opts = BEV_OPT_CLOSE_ON_FREE |
				    BEV_OPT_DEFER_CALLBACKS;

	if (eg == NULL || eg->nconns >= PX_CONN_MAX || ctx->draining ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		px_log_warnx("event=refused listener=egress reason=%s",
		    ctx->draining ? "draining" : "too-many-connections");
		evutil_closesocket(fd);
		return -1;
	}
	c->eg = eg;
	c->id = ++ctx->next_id;
	c->t_start_ms = c->last_ms = px_now_ms();
	evutil_make_socket_nonblocking(fd);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	host[0] = '\0';
	if (sa != NULL && sa->sa_family == AF_INET &&
	    salen >= (int)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa != NULL && sa->sa_family == AF_INET6 &&
	    salen >= (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	if (host[0] != '\0')
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	else
		snprintf(c->peer, sizeof(c->peer), "local");
	if ((c->client = bufferevent_socket_new(ctx->base, fd, opts)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return -1;
	}
	if (px_client_take(ctx, c->peer) == -1) {
		bufferevent_free(c->client);
		free(c);
		return -1;
	}
	c->client_counted = 1;
	TAILQ_INSERT_TAIL(&eg->conns, c, entry);
	eg->nconns++;
	bufferevent_setcb(c->client, eg_client_readcb, eg_client_writecb,
	    eg_client_eventcb, c);
	set_tmo(c->client, ctx->cfg->request_ms, ctx->cfg->request_ms);
	if (ctx->cfg->header_ms > 0 && (c->ev_head = evtimer_new(ctx->base,
	    eg_head_deadline, c)) != NULL) {
		struct timeval	 tv;

		tv.tv_sec = ctx->cfg->header_ms / 1000;
		tv.tv_usec = (ctx->cfg->header_ms % 1000) * 1000;
		evtimer_add(c->ev_head, &tv);
	}
	bufferevent_enable(c->client, EV_READ | EV_WRITE);
	px_log_debug("conn=%llu event=accept listener=egress client=%s",
	    (unsigned long long)c->id, c->peer);
	return 0;
}

static void
eg_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct px_egress	*eg = arg;

	(void)px_egress_accept(eg->ctx, fd, sa, salen);
}

static void
eg_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	px_log_warn("event=accept-error listener=egress");
}

/* ------------------------------------------------- adopted conns */

int
px_egress_request(struct px_conn *conn, int *status, const char **text)
{
	struct px_head	*h = &conn->req;
	const char	*url = h->buf + h->url;
	const char	*host = conn->eg->up.u.host;
	size_t		 ulen = h->url_len, skip = 0, alen;
	unsigned	 uport = (unsigned)atoi(conn->eg->up.u.port), port;
	unsigned	 dflt = conn->tls ? uport : 80;
	char		 ah[CERT_HOST_MAX + 1];
	int		 r;

	if (ulen >= 7 && strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else if (ulen >= 8 && strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	if (skip > 0) {
		/* Absolute-form: must name this conn's host. */
		for (alen = skip; alen < ulen && url[alen] != '/' &&
		    url[alen] != '?' && url[alen] != '#'; alen++)
			;
		r = split_authority(url + skip, alen - skip, ah, &port);
		if (r != 0 || alen == ulen || url[alen] != '/') {
			*status = 400;
			*text = "pubgate: malformed request URL";
			return -1;
		}
		if (port == 0)
			port = skip == 8 ? 443 : 80;
		if (strcmp(ah, host) != 0 || port != (skip == 8 ? uport : 80) ||
		    (skip == 8) != (conn->tls != 0)) {
			*status = 400;
			*text = "pubgate: one host per proxy connection; open "
			    "a new connection for this URL";
			return -1;
		}
		if (!host_agrees(h, ah, port, skip == 8 ? 443 : 80)) {
			*status = 400;
			*text = "pubgate: the Host header does not match the "
			    "request URL";
			return -1;
		}
		h->url += (uint32_t)alen;
		h->url_len -= (uint32_t)alen;
		return 0;
	}
	if (!conn->tls) {
		*status = 400;
		*text = "pubgate: this is a proxy: the request target must be "
		    "an absolute URL";
		return -1;
	}
	if (!host_agrees(h, host, uport, dflt)) {
		*status = 400;
		*text = "pubgate: the Host header does not match the "
		    "CONNECT host";
		return -1;
	}
	return 0;
}

void
px_egress_conn_end(struct px_conn *conn)
{
	struct px_egress_sess	*s = conn->eg;
	struct px_egress	*eg = conn->ctx->egress;

	SSL			*ssl;
	BIO			*bio;

	if (s == NULL)
		return;
	/* The wire counter points at s: detach it before s goes. */
	if (conn->client != NULL && conn->tls &&
	    (ssl = bufferevent_openssl_get_ssl(conn->client)) != NULL &&
	    (bio = SSL_get_wbio(ssl)) != NULL) {
		BIO_set_callback_ex(bio, NULL);
		BIO_set_callback_arg(bio, NULL);
	}
	if (eg != NULL)
		count(eg, "intercept");
	if (s->connect) {
		px_log_info("conn=%llu req=%s client=%s method=CONNECT host=%s "
		    "port=%s verdict=intercept status=200 leaf=%s tls=%s "
		    "bytes_in=%llu bytes_out=%llu ms=%llu",
		    (unsigned long long)conn->id, s->reqid, conn->peer,
		    s->up.u.host, s->up.u.port, s->leaf,
		    s->tls != NULL ? s->tls : "ok",
		    (unsigned long long)s->wire_in,
		    (unsigned long long)s->wire_out,
		    (unsigned long long)(px_now_ms() - s->t_start_ms));
		if (eg != NULL && eg->ntunnels > 0)
			eg->ntunnels--;
	}
	conn->eg = NULL;
	conn->eg_up = NULL;
	free(s);
}

/* ------------------------------------------------------ the context */

/*
 * ca_open() : loads the CA of the settings.  A CA whose certificate does
 * not limit DNS names with name constraints is refused unless
 * allow_unconstrained_ca (then a loud warning, at every load); every
 * intercepted host must be inside the CA's constraints, so a CA that
 * cannot serve one fails here, at startup or reload, not at a handshake.
 * Returns the CA, or NULL with *cerr set.
 */
static struct cert_ca *
ca_open(const struct px_egress_cfg *ec, struct cert_err *cerr)
{
	struct cert_ca_conf	 cc;
	struct cert_ca		*ca;
	struct cert_err		 why;
	size_t			 i;

	memset(&cc, 0, sizeof(cc));
	cc.cert_file = ec->ca_cert;
	cc.key_file = ec->ca_key;
	cc.chain_file = ec->ca_chain[0] != '\0' ? ec->ca_chain : NULL;
	cc.allow_unconstrained = ec->allow_unconstrained_ca;
	if ((ca = cert_ca_load(&cc, cerr)) == NULL)
		return NULL;
	if (!cert_ca_constrained(ca))
		px_log_warnx("event=egress-ca-unconstrained ca_cert=%s "
		    "warning=\"WARNING: this CA has no name constraints: "
		    "anyone who steals its key can impersonate ANY site to "
		    "every client that trusts it; allowed only because "
		    "egress.allow_unconstrained_ca is true\"", ec->ca_cert);
	for (i = 0; i < ec->nintercept; i++) {
		if (cert_ca_permits(ca, ec->intercept[i].name, &why) == -1) {
			snprintf(cerr->msg, sizeof(cerr->msg), "intercepted "
			    "host: %.170s", why.msg);
			cert_ca_free(ca);
			return NULL;
		}
	}
	return ca;
}

/*
 * load_ca() : the CA, minting context and an empty leaf cache of the
 * settings into *ca, *mint, *cache; 0, or -1 (logged, nothing kept).
 */
static int
load_ca(const struct px_egress_cfg *ec, struct cert_ca **ca,
    struct cert_mint **mint, struct cert_cache **cache)
{
	struct cert_err		 cerr;
	char			 q[CERT_ERRMSG_MAX];

	*ca = NULL;
	*mint = NULL;
	*cache = NULL;
	if ((*ca = ca_open(ec, &cerr)) != NULL &&
	    (*mint = cert_mint_new(*ca, &cerr)) != NULL &&
	    (*cache = cert_cache_new(*mint, ec->leaf_cache, &cerr)) != NULL)
		return 0;
	px_log_warnx("event=egress-ca-error ca_cert=%s error=\"%s\"",
	    ec->ca_cert, px_log_quote(q, sizeof(q), cerr.msg));
	cert_mint_free(*mint);
	cert_ca_free(*ca);
	*ca = NULL;
	*mint = NULL;
	return -1;
}

int
px_egress_reload(struct px_ctx *ctx)
{
	struct px_egress	*eg = ctx->egress;
	struct cert_ca		*ca;
	struct cert_mint	*mint;
	struct cert_cache	*cache;

	if (eg == NULL)
		return 0;
	if (load_ca(eg->cfg, &ca, &mint, &cache) == -1) {
		px_log_warnx("event=reload-failed what=egress-ca file=%s "
		    "action=kept-old", eg->cfg->ca_cert);
		return -1;
	}
	/* Handshakes in flight hold their own references (cache.c). */
	cert_cache_free(eg->cache);
	cert_mint_free(eg->mint);
	cert_ca_free(eg->ca);
	eg->ca = ca;
	eg->mint = mint;
	eg->cache = cache;
	px_log_info("event=reloaded what=egress-ca file=%s", eg->cfg->ca_cert);
	return 0;
}

int
px_egress_init(struct px_ctx *ctx, int listen)
{
	struct px_egress_cfg	*ec = &ctx->cfg->egress;
	struct px_egress	*eg;
	struct addrinfo		 hints, *res = NULL;
	char			 err[600];
	int			 gai;

	if (ec->listen[0] == '\0')
		return 0;
	if ((eg = calloc(1, sizeof(*eg))) == NULL)
		return -1;
	ctx->egress = eg;
	eg->ctx = ctx;
	eg->cfg = ec;
	TAILQ_INIT(&eg->conns);
	if (load_ca(ec, &eg->ca, &eg->mint, &eg->cache) == -1)
		goto fail;
	if ((eg->srv = SSL_CTX_new(TLS_server_method())) == NULL)
		goto tlsfail;
	SSL_CTX_set_min_proto_version(eg->srv, TLS1_2_VERSION);
	SSL_CTX_set_options(eg->srv, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	/* No resumption: every handshake goes through cert_cb's SNI check. */
	SSL_CTX_set_session_cache_mode(eg->srv, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(eg->srv, 0);
	SSL_CTX_set_mode(eg->srv, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_cert_cb(eg->srv, cert_cb, eg);
	if ((eg->cli = px_tls_client_ctx(ctx->cfg->upstream_ca, err,
	    sizeof(err))) == NULL) {
		px_log_warnx("event=tls-error what=egress-upstream "
		    "error=\"%s\"",
		    px_log_quote(err, sizeof(err), err));
		goto fail;
	}
	if (!listen)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(ec->lu.host, ec->lu.port, &hints, &res)) != 0) {
		px_log_warnx("event=listen-failed url=%s error=\"%s\"",
		    ec->listen, gai_strerror(gai));
		goto fail;
	}
	eg->lev = evconnlistener_new_bind(ctx->base, eg_accept_cb, eg,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    512, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (eg->lev == NULL) {
		px_log_warn("event=listen-failed url=%s", ec->listen);
		goto fail;
	}
	evconnlistener_set_error_cb(eg->lev, eg_accept_error_cb);
	px_log_info("event=listening url=%s mode=egress intercept=%zu "
	    "tunnel=%zu other=%s", ec->listen, ec->nintercept, ec->ntunnel,
	    ec->other_tunnel ? "tunnel" : "refuse");
	return 0;
tlsfail:
	px_log_warnx("event=tls-error what=egress error=\"%s\"",
	    px_tls_errors(err, sizeof(err)));
fail:
	px_egress_free(ctx);
	return -1;
}

void
px_egress_drain(struct px_ctx *ctx)
{
	struct px_egress	*eg = ctx->egress;
	struct px_eg_conn	*c, *next;

	if (eg == NULL)
		return;
	if (eg->lev != NULL) {
		evconnlistener_free(eg->lev);
		eg->lev = NULL;
	}
	/* Tunnels are opaque: they cannot be drained, only cut. */
	for (c = TAILQ_FIRST(&eg->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != PX_EG_CLOSING)
			eg_close(c, "draining");
	}
}

void
px_egress_free(struct px_ctx *ctx)
{
	struct px_egress	*eg = ctx->egress;

	if (eg == NULL)
		return;
	while (!TAILQ_EMPTY(&eg->conns))
		eg_close(TAILQ_FIRST(&eg->conns), "shutdown");
	if (eg->lev != NULL)
		evconnlistener_free(eg->lev);
	SSL_CTX_free(eg->srv);
	SSL_CTX_free(eg->cli);
	cert_cache_free(eg->cache);
	cert_mint_free(eg->mint);
	cert_ca_free(eg->ca);
	free(eg);
	ctx->egress = NULL;
}

void
px_egress_metrics(const struct px_ctx *ctx, const struct px_metrics *sum,
    FILE *f)
{
	struct px_egress	*eg = ctx->egress;
	struct cert_cache_stats	 cs;

	if (eg == NULL)
		return;
	cert_cache_stats(eg->cache, &cs);
	fprintf(f, "# HELP pubgate_egress_requests_total CONNECTs and "
	    "absolute-form requests on the egress listener, by verdict.\n"
	    "# TYPE pubgate_egress_requests_total counter\n"
	    "pubgate_egress_requests_total{verdict=\"intercept\"} %llu\n"
	    "pubgate_egress_requests_total{verdict=\"tunnel\"} %llu\n"
	    "pubgate_egress_requests_total{verdict=\"refuse\"} %llu\n"
	    "# HELP pubgate_egress_leaf_cache_total Leaf lookups of "
	    "intercepted handshakes: hit (no signature) or miss.\n"
	    "# TYPE pubgate_egress_leaf_cache_total counter\n"
	    "pubgate_egress_leaf_cache_total{result=\"hit\"} %llu\n"
	    "pubgate_egress_leaf_cache_total{result=\"miss\"} %llu\n"
	    "# HELP pubgate_egress_leaf_cache_evictions_total Minted leaves "
	    "dropped from the full cache.\n"
	    "# TYPE pubgate_egress_leaf_cache_evictions_total counter\n"
	    "pubgate_egress_leaf_cache_evictions_total %llu\n"
	    "# HELP pubgate_egress_leaf_cache_entries Minted leaves held.\n"
	    "# TYPE pubgate_egress_leaf_cache_entries gauge\n"
	    "pubgate_egress_leaf_cache_entries %zu\n"
	    "# HELP pubgate_egress_tunnels CONNECT tunnels open now.\n"
	    "# TYPE pubgate_egress_tunnels gauge\n"
	    "pubgate_egress_tunnels %zu\n",
	    (unsigned long long)sum->egress[0],
	    (unsigned long long)sum->egress[1],
	    (unsigned long long)sum->egress[2],
	    (unsigned long long)cs.hits, (unsigned long long)cs.misses,
	    (unsigned long long)cs.evictions, cs.size, eg->ntunnels);
}

int
px_egress_check(const struct px_cfg *cfg, char *err, size_t errlen)
{
	const struct px_egress_cfg	*ec = &cfg->egress;
	struct cert_err			 cerr;
	struct cert_ca			*ca;
	struct cert_mint		*mint = NULL;
	struct cert_mint_req		 req;
	struct cert_mint_reply		*rep;
	int				 rv = -1;

	if (ec->listen[0] == '\0')
		return 0;
	if ((rep = calloc(1, sizeof(*rep))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&req, 0, sizeof(req));
	snprintf(req.host, sizeof(req.host), "%.*s", CERT_HOST_MAX,
	    ec->nintercept > 0 ? ec->intercept[0].name : "registry.npmjs.org");
	/* One leaf is minted, so a CA that cannot sign is caught too. */
	if ((ca = ca_open(ec, &cerr)) == NULL ||
	    (mint = cert_mint_new(ca, &cerr)) == NULL ||
	    cert_mint_sign(mint, &req, rep, &cerr) == -1)
		snprintf(err, errlen, "%s", cerr.msg);
	else
		rv = 0;
	cert_mint_free(mint);
	cert_ca_free(ca);
	free(rep);
	return rv;
}

void
px_egress_stats(const struct px_ctx *ctx, struct px_egress_stats *st)
{
	struct cert_cache_stats	 cs;

	memset(st, 0, sizeof(*st));
	if (ctx->egress == NULL)
		return;
	cert_cache_stats(ctx->egress->cache, &cs);
	st->leaf_hits = cs.hits;
	st->leaf_misses = cs.misses;
	st->leaf_size = cs.size;
	st->conns = ctx->egress->nconns;
	st->tunnels = ctx->egress->ntunnels;
}

/* ------------------------------------------------------------ config */

struct eg_walk {
	struct px_egress_cfg	*ec;
	struct px_cfg_errs	*errs;
	const char		*file;
	yaml_document_t		*doc;
};

static void __attribute__((format(printf, 3, 4)))
w_err(struct eg_walk *w, yaml_node_t *n, const char *fmt, ...)
{
	char	 msg[PX_CFG_ERRMSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	px_cfg_err(w->errs, "%s:%zu:%zu: egress.%s", w->file,
	    n->start_mark.line + 1, n->start_mark.column + 1, msg);
}

static const char *
w_scalar(struct eg_walk *w, yaml_node_t *n, const char *key)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		if (n != NULL)
			w_err(w, n, "%s: expected a scalar", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static void
w_str(struct eg_walk *w, yaml_node_t *n, const char *key, char *dst,
    size_t len)
{
	const char	*s;

	if ((s = w_scalar(w, n, key)) == NULL)
		return;
	if (strlen(s) >= len) {
		w_err(w, n, "%s: value too long", key);
		return;
	}
	snprintf(dst, len, "%s", s);
}

/* w_path() : a file path setting (px_cfg_path(): credentials). */
static void
w_path(struct eg_walk *w, yaml_node_t *n, const char *key, char *dst,
    size_t len)
{
	const char	*s, *why;

	if ((s = w_scalar(w, n, key)) == NULL)
		return;
	if (px_cfg_path(s, dst, len, &why) == -1)
		w_err(w, n, "%s: %s", key, why);
}

/* w_uint() : a plain unsigned number within [min, max]; 0 or -1. */
static int
w_uint(struct eg_walk *w, yaml_node_t *n, const char *key,
    unsigned long long min, unsigned long long max, unsigned long long *out)
{
	const char		*s;
	char			*ep;
	unsigned long long	 v;

	if ((s = w_scalar(w, n, key)) == NULL)
		return -1;
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (!isdigit((unsigned char)*s) || *ep != '\0' || errno != 0 ||
	    v < min || v > max) {
		w_err(w, n, "%s: \"%s\" is not a number in %llu..%llu", key, s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* w_duration() : "30s", "500ms", "5m", "1h" or bare seconds, in ms. */
static int
w_duration(struct eg_walk *w, yaml_node_t *n, const char *key,
    unsigned *out)
{
	const char		*s;
	char			*ep;
	unsigned long long	 v, mul;

	if ((s = w_scalar(w, n, key)) == NULL)
		return -1;
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (!isdigit((unsigned char)*s) || errno != 0)
		goto bad;
	if (*ep == '\0' || strcmp(ep, "s") == 0)
		mul = 1000;
	else if (strcmp(ep, "ms") == 0)
		mul = 1;
	else if (strcmp(ep, "m") == 0)
		mul = 60000;
	else if (strcmp(ep, "h") == 0)
		mul = 3600000;
	else
		goto bad;
	if (v > PX_EGRESS_IDLE_MAX_MS / mul || v * mul < 100)
		goto bad;
	*out = (unsigned)(v * mul);
	return 0;
bad:
	w_err(w, n, "%s: \"%s\" is not a duration in 100ms..24h", key, s);
	return -1;
}

/*
 * px_egress_host_parse() : "HOST[:PORT][=ADDR:PORT]" into h (the name's
 * port is ignored: allow_ports says which ports may be CONNECTed).
 * Returns 0, or -1 with *why.
 */
int
px_egress_host_parse(const char *s, struct px_egress_host *h,
    const char **why)
{
	const char	*eq, *a, *colon;
	char		 name[CERT_HOST_MAX + 1];
	unsigned	 port;
	size_t		 n, al;
	int		 r;

	memset(h, 0, sizeof(*h));
	eq = strchr(s, '=');
	n = eq != NULL ? (size_t)(eq - s) : strlen(s);
	r = split_authority(s, n, name, &port);
	if (r == -2) {
		*why = "an intercepted host must be a name, not an address";
		return -1;
	}
	if (r == -1) {
		*why = "bad host name";
		return -1;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	if (eq == NULL)
		return 0;
	a = eq + 1;
	if (*a == '[') {
		if ((colon = strchr(a, ']')) == NULL || colon[1] != ':') {
			*why = "address must be ADDR:PORT or [V6]:PORT";
			return -1;
		}
		al = (size_t)(colon - a - 1);
		a++;
		colon++;
	} else {
		if ((colon = strrchr(a, ':')) == NULL) {
			*why = "address must be ADDR:PORT";
			return -1;
		}
		al = (size_t)(colon - a);
	}
	if (al == 0 || al >= sizeof(h->addr) ||
	    (port = parse_port(colon + 1, strlen(colon + 1))) == 0) {
		*why = "address must be ADDR:PORT";
		return -1;
	}
	memcpy(h->addr, a, al);
	h->addr[al] = '\0';
	for (n = 0; n < al; n++) {
		unsigned char c = (unsigned char)h->addr[n];

		if (!isalnum(c) && c != '.' && c != '-' && c != ':' &&
		    c != '_') {
			*why = "bad address";
			return -1;
		}
	}
	snprintf(h->port, sizeof(h->port), "%hu", (unsigned short)port);
	return 0;
}

/* add_intercept() : adds h, or replaces the entry of the same name. */
static int
add_intercept(struct px_egress_cfg *ec, const struct px_egress_host *h)
{
	size_t	 i;

	for (i = 0; i < ec->nintercept; i++) {
		if (strcmp(ec->intercept[i].name, h->name) == 0) {
			ec->intercept[i] = *h;
			return 0;
		}
	}
	if (ec->nintercept >= PX_EGRESS_HOSTS_MAX)
		return -1;
	ec->intercept[ec->nintercept++] = *h;
	return 0;
}

static int
add_tunnel(struct px_egress_cfg *ec, const char *s, const char **why)
{
	char		 name[CERT_HOST_MAX + 1];
	unsigned	 port;
	size_t		 i;

	if (split_authority(s, strlen(s), name, &port) != 0) {
		*why = "bad host name (a name, not an address)";
		return -1;
	}
	for (i = 0; i < ec->ntunnel; i++)
		if (strcmp(ec->tunnel[i], name) == 0)
			return 0;
	if (ec->ntunnel >= PX_EGRESS_HOSTS_MAX) {
		*why = "too many hosts";
		return -1;
	}
	snprintf(ec->tunnel[ec->ntunnel++], sizeof(ec->tunnel[0]), "%s", name);
	return 0;
}

/* w_list() : calls fn for each scalar of a sequence node. */
static void
w_list(struct eg_walk *w, yaml_node_t *n, const char *key)
{
	yaml_node_item_t		*it;
	yaml_node_t			*v;
	struct px_egress_host		 h;
	const char			*s, *why;
	unsigned long long		 port;

	if (n->type != YAML_SEQUENCE_NODE) {
		w_err(w, n, "%s: expected a list", key);
		return;
	}
	if (strcmp(key, "intercept") == 0) {
		w->ec->intercept_set = 1;
		w->ec->nintercept = 0;
	} else if (strcmp(key, "allow_ports") == 0) {
		w->ec->ports_set = 1;
		w->ec->nports = 0;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		v = yaml_document_get_node(w->doc, *it);
		if (strcmp(key, "allow_ports") == 0) {
			if (w_uint(w, v, key, 1, 65535, &port) == -1)
				continue;
			if (w->ec->nports >= PX_EGRESS_PORTS_MAX) {
				w_err(w, v, "%s: at most %d ports", key,
				    PX_EGRESS_PORTS_MAX);
				return;
			}
			w->ec->allow_ports[w->ec->nports++] = (unsigned)port;
			continue;
		}
		if ((s = w_scalar(w, v, key)) == NULL)
			continue;
		if (strcmp(key, "intercept") == 0) {
			if (px_egress_host_parse(s, &h, &why) == -1)
				w_err(w, v, "%s: \"%s\": %s", key, s, why);
			else if (add_intercept(w->ec, &h) == -1)
				w_err(w, v, "%s: at most %d hosts", key,
				    PX_EGRESS_HOSTS_MAX);
		} else if (add_tunnel(w->ec, s, &why) == -1)
			w_err(w, v, "%s: \"%s\": %s", key, s, why);
	}
}

void
px_egress_cfg_walk(struct px_cfg *cfg, struct px_cfg_errs *errs,
    const char *file, struct yaml_document_s *doc, struct yaml_node_s *n)
{
	struct eg_walk		 w;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	unsigned long long	 x;

	w.ec = &cfg->egress;
	w.errs = errs;
	w.file = file;
	w.doc = doc;
	if (n->type != YAML_MAPPING_NODE) {
		px_cfg_err(errs, "%s:%zu:%zu: egress: expected a mapping", file,
		    n->start_mark.line + 1, n->start_mark.column + 1);
		return;
	}
	w.ec->file_set = 1;
	for (pair = n->data.mapping.pairs.start;
	    pair < n->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(doc, pair->key);
		v = yaml_document_get_node(doc, pair->value);
		if ((key = w_scalar(&w, k, "key")) == NULL || v == NULL)
			continue;
		if (strcmp(key, "listen") == 0)
			w_str(&w, v, key, w.ec->listen, sizeof(w.ec->listen));
		else if (strcmp(key, "ca_cert") == 0)
			w_path(&w, v, key, w.ec->ca_cert, sizeof(w.ec->ca_cert));
		else if (strcmp(key, "ca_key") == 0)
			w_path(&w, v, key, w.ec->ca_key, sizeof(w.ec->ca_key));
		else if (strcmp(key, "ca_chain") == 0)
			w_path(&w, v, key, w.ec->ca_chain,
			    sizeof(w.ec->ca_chain));
		else if (strcmp(key, "intercept") == 0 ||
		    strcmp(key, "tunnel") == 0 ||
		    strcmp(key, "allow_ports") == 0)
			w_list(&w, v, key);
		else if (strcmp(key, "other") == 0) {
			if ((s = w_scalar(&w, v, key)) == NULL)
				continue;
			if (strcmp(s, "refuse") == 0)
				w.ec->other_tunnel = 0;
			else if (strcmp(s, "tunnel") == 0)
				w.ec->other_tunnel = 1;
			else
				w_err(&w, v, "other: \"%s\" is not refuse or "
				    "tunnel", s);
		} else if (strcmp(key, "max_tunnels") == 0) {
			if (w_uint(&w, v, key, 1, PX_EGRESS_TUNNELS_MAX,
			    &x) == 0)
				w.ec->max_tunnels = (size_t)x;
		} else if (strcmp(key, "idle_timeout") == 0)
			(void)w_duration(&w, v, key, &w.ec->idle_ms);
		else if (strcmp(key, "leaf_cache") == 0) {
			if (w_uint(&w, v, key, 1, CERT_CACHE_MAX, &x) == 0)
				w.ec->leaf_cache = (size_t)x;
		} else if (strcmp(key, "allow_unconstrained_ca") == 0) {
			if ((s = w_scalar(&w, v, key)) == NULL)
				continue;
			if (strcmp(s, "true") == 0)
				w.ec->allow_unconstrained_ca = 1;
			else if (strcmp(s, "false") == 0)
				w.ec->allow_unconstrained_ca = 0;
			else
				w_err(&w, v, "%s: \"%s\" is not true or "
				    "false", key, s);
		} else
			w_err(&w, k, "unknown key \"%s\"", key);
	}
}

/* fill_defaults() : the defaults of what neither the file nor flags set. */
static void
fill_defaults(struct px_egress_cfg *ec)
{
	if (ec->nports == 0 && !ec->ports_set) {
		ec->allow_ports[0] = 443;
		ec->nports = 1;
	}
	if (ec->max_tunnels == 0)
		ec->max_tunnels = PX_EGRESS_TUNNELS_DEFAULT;
	if (ec->idle_ms == 0)
		ec->idle_ms = PX_EGRESS_IDLE_MS;
	if (ec->leaf_cache == 0)
		ec->leaf_cache = CERT_CACHE_DEFAULT;
}

int
px_egress_cfg_apply(struct px_cfg *cfg, const struct px_cfg_flags *fl,
    struct px_cfg_errs *errs, const char *where)
{
	struct px_egress_cfg	*ec = &cfg->egress;
	struct px_egress_host	 h;
	const char		*why;
	size_t			 i, before = errs->count;

	fill_defaults(ec);
	if (fl->egress_listen != NULL &&
	    strlen(fl->egress_listen) >= sizeof(ec->listen))
		px_cfg_err(errs, "--egress-listen: value too long");
	else if (fl->egress_listen != NULL)
		snprintf(ec->listen, sizeof(ec->listen), "%s",
		    fl->egress_listen);
	if (fl->ca_cert != NULL)
		snprintf(ec->ca_cert, sizeof(ec->ca_cert), "%s", fl->ca_cert);
	if (fl->ca_key != NULL)
		snprintf(ec->ca_key, sizeof(ec->ca_key), "%s", fl->ca_key);
	if (ec->listen[0] == '\0') {
		if (fl->nintercept > 0 || fl->ntunnel > 0 ||
		    fl->ca_cert != NULL || fl->ca_key != NULL || ec->file_set)
			px_cfg_err(errs, "%s: egress settings need an egress "
			    "listener (egress.listen, --egress-listen)", where);
		return errs->count == before ? 0 : -1;
	}
	if (px_cfg_parse_url(ec->listen, &ec->lu, &why) == -1)
		px_cfg_err(errs, "%s: egress listen %s: %s", where, ec->listen,
		    why);
	else if (ec->lu.tls || ec->lu.prefix[0] != '\0')
		px_cfg_err(errs, "%s: egress listen %s: must be "
		    "http://host:port (the proxy protocol is plain HTTP)",
		    where, ec->listen);
	if (ec->ca_cert[0] == '\0' || ec->ca_key[0] == '\0')
		px_cfg_err(errs, "%s: egress needs the CA that signs the "
		    "leaves (egress.ca_cert and ca_key, --ca-cert --ca-key)",
		    where);
	if (!ec->intercept_set) {
		/* registry.npmjs.org and the upstream's host, by name. */
		(void)px_egress_host_parse("registry.npmjs.org", &h, &why);
		(void)add_intercept(ec, &h);
		if (!px_egress_ip_literal(cfg->up.host) &&
		    px_egress_host_parse(cfg->up.host, &h, &why) == 0)
			(void)add_intercept(ec, &h);
	}
	if (fl->nintercept > PX_EGRESS_HOSTS_MAX ||
	    fl->ntunnel > PX_EGRESS_HOSTS_MAX)
		px_cfg_err(errs, "%s: at most %d --intercept and --tunnel "
		    "flags", where, PX_EGRESS_HOSTS_MAX);
	for (i = 0; i < fl->nintercept && i < PX_EGRESS_HOSTS_MAX; i++) {
		if (px_egress_host_parse(fl->intercept[i], &h, &why) == -1)
			px_cfg_err(errs, "--intercept %s: %s", fl->intercept[i],
			    why);
		else if (add_intercept(ec, &h) == -1)
			px_cfg_err(errs, "--intercept %s: at most %d hosts",
			    fl->intercept[i], PX_EGRESS_HOSTS_MAX);
	}
	for (i = 0; i < fl->ntunnel && i < PX_EGRESS_HOSTS_MAX; i++)
		if (add_tunnel(ec, fl->tunnel[i], &why) == -1)
			px_cfg_err(errs, "--tunnel %s: %s", fl->tunnel[i], why);
	return errs->count == before ? 0 : -1;
}
