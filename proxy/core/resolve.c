/*
 * proxy/core/resolve.c: the reverse proxy's upstream name, resolved once
 * per process and shared by every upstream connection it dials.
 *
 * The upstream's host is looked up with evdns (A and AAAA in parallel,
 * each answer's TTL kept; a name no DNS server knows falls back to
 * evdns_getaddrinfo, which reads /etc/hosts).  The answer (at most
 * PX_DNS_ADDRS_MAX addresses, IPv4 first) is cached for its TTL clamped
 * to dns.min_ttl .. dns.max_ttl and refreshed in the background when it
 * expires; connections keep using the old answer while the refresh is in
 * flight, and when it fails the last good answer stays (retried after
 * dns.min_ttl).  A connection that needs an address before the first
 * answer arrives waits in a list; one lookup serves all of them, so a
 * burst of clients costs one query pair, not one per connection.
 *
 * Addresses are handed out round robin; one whose connect failed is set
 * aside for PX_ADDR_PENALTY_MS (fwd.c retries an idempotent read on the
 * next one).  An IP literal upstream is never looked up.
 *
 * It knows no HTTP: fwd.c asks for an address (px_resolve_connect) and is
 * told when a waiting conn can go on (px_fwd_resolved).  Waiters are woken
 * from a zero-timeout event, never from inside px_resolve_connect, so a
 * failure never frees a conn under its caller.  evdns requests still in
 * flight when the context is freed are freed by evdns_base_free (serve.c),
 * which runs no callback.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "log.h"
#include "proxy-int.h"

struct px_raddr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 text[INET6_ADDRSTRLEN];
	uint64_t		 bad_until;	/* px_now_ms(); 0 usable */
	uint64_t		 connect_fails;
};

enum { RS_LIST_NONE, RS_LIST_WAIT, RS_LIST_WAKE };

struct px_resolver {
	struct px_ctx		*ctx;
	char			 host[256];
	int			 port;
	int			 literal;	/* never looked up */
	struct px_raddr		 addrs[PX_DNS_ADDRS_MAX];
	size_t			 naddrs;
	size_t			 rr;		/* next address handed out */
	uint64_t		 resolved_ms;	/* last good answer */
	uint64_t		 expires_ms;
	unsigned		 ttl_ms;	/* clamped */
	struct event		*ev_refresh;
	struct event		*ev_wake;

	/* The lookup in flight. */
	int			 busy;
	int			 pending;	/* A/AAAA answers awaited */
	struct px_raddr		 a4[PX_DNS_ADDRS_MAX], a6[PX_DNS_ADDRS_MAX];
	size_t			 n4, n6;
	int			 ttl;		/* smallest seen, seconds */
	int			 err4, err6;
	int			 hosts;		/* in the hosts fallback */

	struct px_conn_rlist	 wait;		/* conns awaiting an answer */
	struct px_conn_rlist	 wake;		/* conns being woken */
	char			 last_error[128];	/* "" none yet */

	uint64_t		 n_ok, n_fail, n_retries;
};

static void	lookup_start(struct px_resolver *);

/*
 * addr_publish() : r's addresses into the worker's metric slot, which the
 * scrape may read meanwhile: addr_gen is odd while the table changes.
 */
static void
addr_publish(struct px_resolver *r)
{
	struct px_metrics	*m = r->ctx->m;
	uint64_t		 g = PX_MGET(m->addr_gen);
	size_t			 i;

	__atomic_store_n(&m->addr_gen, g + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < r->naddrs && i < PX_DNS_ADDRS_MAX; i++) {
		snprintf(m->addrs[i].text, sizeof(m->addrs[i].text), "%s",
		    r->addrs[i].text);
		PX_MSET(m->addrs[i].fails, r->addrs[i].connect_fails);
		PX_MSET(m->addrs[i].bad_until, r->literal ? 0 :
		    r->addrs[i].bad_until);
	}
	PX_MSET(m->naddrs, i);
	__atomic_store_n(&m->addr_gen, g + 2, __ATOMIC_RELEASE);
}

static void
set_addr(struct px_raddr *a, int family, const void *ip, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip, sizeof(sin->sin_addr));
		a->len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip, sizeof(sin6->sin6_addr));
		a->len = sizeof(*sin6);
	}
	inet_ntop(family, ip, a->text, sizeof(a->text));
}

/* resolver() : ctx's resolver, made on first use; NULL out of memory. */
static struct px_resolver *
resolver(struct px_ctx *ctx)
{
	struct px_resolver	*r;
	const struct px_url	*up = &ctx->cfg->up;
	struct in6_addr		 ip6;
	struct in_addr		 ip4;

	if (ctx->resolver != NULL)
		return ctx->resolver;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->ctx = ctx;
	snprintf(r->host, sizeof(r->host), "%s", up->host);
	r->port = atoi(up->port);
	TAILQ_INIT(&r->wait);
	TAILQ_INIT(&r->wake);
	if (inet_pton(AF_INET, r->host, &ip4) == 1) {
		set_addr(&r->addrs[0], AF_INET, &ip4, r->port);
		r->naddrs = r->literal = 1;
	} else if (inet_pton(AF_INET6, r->host, &ip6) == 1) {
		set_addr(&r->addrs[0], AF_INET6, &ip6, r->port);
		r->naddrs = r->literal = 1;
	}
	ctx->resolver = r;
	addr_publish(r);
	return r;
}

/* ------------------------------------------------------------ waking */

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_resolver	*r = arg;
	struct px_conn		*conn;
	const char		*err;

	/* The conns waiting now; any that come back wait for the next. */
	TAILQ_CONCAT(&r->wake, &r->wait, rs_entry);
	while ((conn = TAILQ_FIRST(&r->wake)) != NULL) {
		TAILQ_REMOVE(&r->wake, conn, rs_entry);
		conn->rs_list = RS_LIST_NONE;
		err = r->naddrs > 0 ? NULL : r->last_error[0] != '\0' ?
		    r->last_error : "no address";
		px_fwd_resolved(conn, err);
	}
}

/* wake() : schedules wake_cb if a conn waits and the lookup is over. */
static void
wake(struct px_resolver *r)
{
	if (TAILQ_EMPTY(&r->wait) || r->busy)
		return;
	if (r->ev_wake == NULL &&
	    (r->ev_wake = event_new(r->ctx->base, -1, 0, wake_cb, r)) == NULL) {
		px_log_warnx("event=dns-error host=%s error=\"out of memory\"",
		    r->host);
		return;
	}
	event_active(r->ev_wake, EV_TIMEOUT, 1);
}

/* ---------------------------------------------------------- lookups */

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	lookup_start(arg);
}

/* schedule() : the next lookup in ms. */
static void
schedule(struct px_resolver *r, unsigned ms)
{
	struct timeval	 tv;

	if (r->ev_refresh == NULL && (r->ev_refresh = evtimer_new(r->ctx->base,
	    refresh_cb, r)) == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->ev_refresh, &tv);
}

/* clamp() : a TTL in seconds (< 0 unknown) into the configured bounds. */
static unsigned
clamp(const struct px_cfg *cfg, int ttl)
{
	uint64_t	 ms = ttl < 0 ? cfg->dns_max_ttl_ms : (uint64_t)ttl * 1000;

	if (ms < cfg->dns_min_ttl_ms)
		ms = cfg->dns_min_ttl_ms;
	if (ms > cfg->dns_max_ttl_ms)
		ms = cfg->dns_max_ttl_ms;
	return (unsigned)ms;
}

/*
 * lookup_done() : the lookup ended with the n addresses in a (IPv4
 * first), or none and why; installs or keeps, schedules the next.
 */
static void
lookup_done(struct px_resolver *r, const struct px_raddr *a, size_t n,
    int ttl, const char *why)
{
	const struct px_cfg	*cfg = r->ctx->cfg;
	size_t			 i, j;
	uint64_t		 now = px_now_ms();

	r->busy = 0;
	r->hosts = 0;
	if (n == 0) {
		r->n_fail++;
		PX_MADD(r->ctx->m->resolve[1], 1);
		snprintf(r->last_error, sizeof(r->last_error), "%s", why);
		px_log_warnx("event=dns-error host=%s error=\"%s\" kept=%zu",
		    r->host, why, r->naddrs);
		if (r->naddrs > 0)
			schedule(r, cfg->dns_min_ttl_ms);
		wake(r);
		return;
	}
	r->n_ok++;
	PX_MADD(r->ctx->m->resolve[0], 1);
	r->last_error[0] = '\0';
	for (i = 0; i < n; i++) {
		struct px_raddr	 na = a[i];

		/* An address seen before keeps its record. */
		for (j = 0; j < r->naddrs; j++)
			if (strcmp(r->addrs[j].text, na.text) == 0) {
				na.bad_until = r->addrs[j].bad_until;
				na.connect_fails = r->addrs[j].connect_fails;
				break;
			}
		r->a4[i] = na;	/* a may be r->a4: copied in order */
	}
	memcpy(r->addrs, r->a4, n * sizeof(r->addrs[0]));
	r->naddrs = n;
	if (r->rr >= n)
		r->rr = 0;
	addr_publish(r);
	r->ttl_ms = clamp(cfg, ttl);
	r->resolved_ms = now;
	r->expires_ms = now + r->ttl_ms;
	px_log_debug("event=dns-resolved host=%s addrs=%zu first=%s ttl_ms=%u",
	    r->host, n, r->addrs[0].text, r->ttl_ms);
	schedule(r, r->ttl_ms);
	wake(r);
}

/* dns_why() : the text of an evdns error. */
static const char *
dns_why(int err)
{
	switch (err) {
	case DNS_ERR_NOTEXIST:
		return "no such name";
	case DNS_ERR_NODATA:
		return "no address for the name";
	case DNS_ERR_TIMEOUT:
		return "DNS timed out";
	case DNS_ERR_SERVERFAILED:
		return "DNS server failure";
	case DNS_ERR_REFUSED:
		return "DNS server refused";
	default:
		return evdns_err_to_string(err);
	}
}

static void
hosts_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct px_resolver	*r = arg;
	struct px_raddr		 a[PX_DNS_ADDRS_MAX];
	struct evutil_addrinfo	*ai;
	size_t			 n = 0, pass;
	char			 why[128];

	/* IPv4 first, as the DNS answers. */
	for (pass = 0; pass < 2; pass++)
		for (ai = res; ai != NULL && n < PX_DNS_ADDRS_MAX;
		    ai = ai->ai_next) {
			if (pass == 0 && ai->ai_family == AF_INET)
				set_addr(&a[n++], AF_INET, &((struct
				    sockaddr_in *)ai->ai_addr)->sin_addr,
				    r->port);
			else if (pass == 1 && ai->ai_family == AF_INET6)
				set_addr(&a[n++], AF_INET6, &((struct
				    sockaddr_in6 *)ai->ai_addr)->sin6_addr,
				    r->port);
		}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	/* Not in the hosts file either: the DNS's word stands. */
	snprintf(why, sizeof(why), "%s", dns_why(r->err4 != DNS_ERR_NONE ?
	    r->err4 : DNS_ERR_NODATA));
	lookup_done(r, a, n, -1, why);
}

/* answer() : the A (v6 == 0) or AAAA answer of the lookup. */
static void
answer(struct px_resolver *r, int v6, int result, int count, int ttl,
    const void *addrs)
{
	struct evutil_addrinfo	 hints;
	struct px_raddr		*dst = v6 ? r->a6 : r->a4;
	size_t			*np = v6 ? &r->n6 : &r->n4, i;
	char			 why[128];

	if (v6)
		r->err6 = result;
	else
		r->err4 = result;
	if (result == DNS_ERR_NONE && count > 0 && addrs != NULL) {
		for (i = 0; i < (size_t)count && *np < PX_DNS_ADDRS_MAX; i++)
			set_addr(&dst[(*np)++], v6 ? AF_INET6 : AF_INET,
			    (const char *)addrs + (v6 ? 16 : 4) * i, r->port);
		if (r->ttl < 0 || ttl < r->ttl)
			r->ttl = ttl;
	}
	if (--r->pending > 0)
		return;
	/* Both in: IPv4 first, then IPv6, within the cap. */
	for (i = 0; i < r->n6 && r->n4 < PX_DNS_ADDRS_MAX; i++)
		r->a4[r->n4++] = r->a6[i];
	if (r->n4 > 0) {
		lookup_done(r, r->a4, r->n4, r->ttl, NULL);
		return;
	}
	if ((r->err4 == DNS_ERR_NOTEXIST || r->err4 == DNS_ERR_NODATA ||
	    r->err4 == DNS_ERR_NONE) && (r->err6 == DNS_ERR_NOTEXIST ||
	    r->err6 == DNS_ERR_NODATA || r->err6 == DNS_ERR_NONE)) {
		/* The DNS does not know it: the hosts file may. */
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_protocol = IPPROTO_TCP;
		r->hosts = 1;
		(void)evdns_getaddrinfo(r->ctx->dns, r->host, NULL, &hints,
		    hosts_cb, r);
		return;
	}
	snprintf(why, sizeof(why), "%s", dns_why(r->err4 != DNS_ERR_NONE ?
	    r->err4 : r->err6));
	lookup_done(r, NULL, 0, -1, why);
}

/* On an error evdns gives no type: one callback per query. */
static void
answer4_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	answer(arg, 0, result, type == DNS_IPv4_A ? count : 0, ttl, addrs);
}

static void
answer6_cb(int result, char type, int count, int ttl, void *addrs, void *arg)
{
	answer(arg, 1, result, type == DNS_IPv6_AAAA ? count : 0, ttl, addrs);
}

/* lookup_start() : one A + AAAA lookup, unless one is in flight. */
static void
lookup_start(struct px_resolver *r)
{
	if (r->busy || r->literal)
		return;
	if (r->ctx->dns == NULL) {
		lookup_done(r, NULL, 0, -1, "no DNS resolver");
		return;
	}
	r->busy = 1;
	r->pending = 2;
	r->n4 = r->n6 = 0;
	r->ttl = -1;
	r->err4 = r->err6 = -1;
	if (evdns_base_resolve_ipv4(r->ctx->dns, r->host, 0, answer4_cb,
	    r) == NULL)
		answer(r, 0, DNS_ERR_UNKNOWN, 0, 0, NULL);
	if (evdns_base_resolve_ipv6(r->ctx->dns, r->host, 0, answer6_cb,
	    r) == NULL)
		answer(r, 1, DNS_ERR_UNKNOWN, 0, 0, NULL);
}

/* --------------------------------------------------------------- API */

/* pick() : the index of the next address for a conn not to use avoid. */
static size_t
pick(struct px_resolver *r, int avoid)
{
	uint64_t	 now = px_now_ms(), best_t = UINT64_MAX;
	size_t		 i, k, best = 0;

	for (k = 0; k < r->naddrs; k++) {
		i = (r->rr + k) % r->naddrs;
		if ((int)i == avoid && r->naddrs > 1)
			continue;
		if (r->addrs[i].bad_until <= now) {
			best = i;
			best_t = 0;
			break;
		}
		if (r->addrs[i].bad_until < best_t) {
			best_t = r->addrs[i].bad_until;
			best = i;
		}
	}
	r->rr = (best + 1) % r->naddrs;
	return best;
}

int
px_resolve_connect(struct px_conn *conn)
{
	struct px_resolver	*r;
	struct px_raddr		*a;
	size_t			 i;

	if ((r = resolver(conn->ctx)) == NULL)
		return -1;
	if (r->naddrs == 0) {
		/* Nothing known yet: wait for the one lookup (a try). */
		conn->up_tries++;
		TAILQ_INSERT_TAIL(&r->wait, conn, rs_entry);
		conn->rs_list = RS_LIST_WAIT;
		if (!r->busy)
			lookup_start(r);
		wake(r);
		return 0;
	}
	if (!r->literal && !r->busy && px_now_ms() >= r->expires_ms)
		lookup_start(r);	/* overdue (the timer is late) */
	i = pick(r, conn->up_addr);
	a = &r->addrs[i];
	conn->up_addr = (int)i;
	conn->up_tries++;
	px_log_debug("conn=%llu event=upstream-connect host=%s addr=%s "
	    "try=%d", (unsigned long long)conn->id, r->host, a->text,
	    conn->up_tries);
	return bufferevent_socket_connect(conn->up, (struct sockaddr *)&a->ss,
	    (int)a->len);
}

int
px_resolve_addr(struct px_ctx *ctx, struct sockaddr_storage *ss, int *len)
{
	struct px_resolver	*r;
	struct px_raddr		*a;

	if ((r = resolver(ctx)) == NULL)
		return -1;
	if (r->naddrs == 0) {
		if (!r->busy)
			lookup_start(r);
		return -1;
	}
	if (!r->literal && !r->busy && px_now_ms() >= r->expires_ms)
		lookup_start(r);
	a = &r->addrs[pick(r, -1)];
	memcpy(ss, &a->ss, a->len);
	*len = (int)a->len;
	return 0;
}

void
px_resolve_cancel(struct px_conn *conn)
{
	struct px_resolver	*r = conn->ctx->resolver;

	if (r == NULL || conn->rs_list == RS_LIST_NONE)
		return;
	if (conn->rs_list == RS_LIST_WAIT)
		TAILQ_REMOVE(&r->wait, conn, rs_entry);
	else
		TAILQ_REMOVE(&r->wake, conn, rs_entry);
	conn->rs_list = RS_LIST_NONE;
}

void
px_resolve_result(struct px_conn *conn, int ok)
{
	struct px_resolver	*r = conn->ctx->resolver;
	struct px_raddr		*a;

	if (r == NULL || conn->up_addr < 0 ||
	    (size_t)conn->up_addr >= r->naddrs)
		return;
	a = &r->addrs[conn->up_addr];
	if (ok) {
		if (a->bad_until != 0) {
			a->bad_until = 0;
			addr_publish(r);
		}
		return;
	}
	a->connect_fails++;
	if (!r->literal)
		a->bad_until = px_now_ms() + PX_ADDR_PENALTY_MS;
	addr_publish(r);
}

int
px_resolve_may_retry(struct px_conn *conn)
{
	struct px_resolver	*r = conn->ctx->resolver;
	int			 tries;

	if (r == NULL)
		return 0;
	tries = r->naddrs < PX_CONNECT_TRIES ? (int)r->naddrs :
	    PX_CONNECT_TRIES;
	if (tries < 2)
		tries = 2;	/* one address: once more, afresh */
	if (conn->up_tries >= tries)
		return 0;
	r->n_retries++;
	PX_MADD(r->ctx->m->resolve[2], 1);
	return 1;
}

void
px_resolve_free(struct px_ctx *ctx)
{
	struct px_resolver	*r = ctx->resolver;
	struct px_conn		*conn;

	if (r == NULL)
		return;
	while ((conn = TAILQ_FIRST(&r->wait)) != NULL)
		px_resolve_cancel(conn);
	while ((conn = TAILQ_FIRST(&r->wake)) != NULL)
		px_resolve_cancel(conn);
	if (r->ev_refresh != NULL)
		event_free(r->ev_refresh);
	if (r->ev_wake != NULL)
		event_free(r->ev_wake);
	/* Lookups in flight are freed, callbacks unrun, by evdns_base_free. */
	free(r);
	ctx->resolver = NULL;
}

void
px_resolve_stats(const struct px_ctx *ctx, struct px_resolve_stats *st)
{
	const struct px_resolver *r = ctx->resolver;
	const struct px_conn	*conn;

	memset(st, 0, sizeof(*st));
	if (r == NULL)
		return;
	TAILQ_FOREACH(conn, &r->wait, rs_entry)
		st->waiting++;
	st->naddrs = r->naddrs;
	st->ok = r->n_ok;
	st->fail = r->n_fail;
	st->retries = r->n_retries;
	st->ttl_ms = r->ttl_ms;
	st->busy = r->busy;
}

void
px_resolve_metrics(const struct px_ctx *ctx, const struct px_metrics *sum,
    FILE *f)
{
	const struct px_resolver *r = ctx->resolver;
	const struct px_url	*up = &ctx->cfg->up;
	uint64_t		 now = px_now_ms();
	size_t			 i;

	fprintf(f, "# HELP pubgate_upstream_address The upstream's addresses "
	    "in use (1), or set aside after a failed connect (0).\n"
	    "# TYPE pubgate_upstream_address gauge\n");
	for (i = 0; i < sum->naddrs; i++)
		fprintf(f, "pubgate_upstream_address{host=\"%s\",addr=\"%s\"} "
		    "%d\n", up->host, sum->addrs[i].text,
		    sum->addrs[i].bad_until <= now);
	fprintf(f, "# HELP pubgate_upstream_connect_failures_total Failed "
	    "connects to each upstream address.\n"
	    "# TYPE pubgate_upstream_connect_failures_total counter\n");
	for (i = 0; i < sum->naddrs; i++)
		fprintf(f, "pubgate_upstream_connect_failures_total{host=\"%s\","
		    "addr=\"%s\"} %llu\n", up->host, sum->addrs[i].text,
		    (unsigned long long)sum->addrs[i].fails);
	fprintf(f, "# HELP pubgate_upstream_resolve_total Lookups of the "
	    "upstream's name by result.\n"
	    "# TYPE pubgate_upstream_resolve_total counter\n"
	    "pubgate_upstream_resolve_total{host=\"%s\",result=\"ok\"} %llu\n"
	    "pubgate_upstream_resolve_total{host=\"%s\",result=\"fail\"} "
	    "%llu\n", up->host, (unsigned long long)sum->resolve[0],
	    up->host, (unsigned long long)sum->resolve[1]);
	/* Each worker resolves for itself: this one's answer. */
	fprintf(f, "# HELP pubgate_upstream_resolve_age_seconds Age of the "
	    "upstream addresses in use by the answering worker (-1: none "
	    "yet).\n"
	    "# TYPE pubgate_upstream_resolve_age_seconds gauge\n"
	    "pubgate_upstream_resolve_age_seconds{host=\"%s\"} %.3f\n",
	    up->host, r == NULL || r->naddrs == 0 ? -1.0 : r->literal ? 0.0 :
	    (double)(now - r->resolved_ms) / 1000.0);
	fprintf(f, "# HELP pubgate_upstream_connect_retries_total Idempotent "
	    "reads sent again after a failed connect.\n"
	    "# TYPE pubgate_upstream_connect_retries_total counter\n"
	    "pubgate_upstream_connect_retries_total %llu\n",
	    (unsigned long long)sum->resolve[2]);
}
