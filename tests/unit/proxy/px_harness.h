/*
 * tests/unit/proxy/px_harness.h: the fixture the proxy/ unit tests share
 * (static helpers, included by each test_*.c).  Everything is real: a
 * libevent event_base, a px_ctx built by px_ctx_init() (without
 * listeners), the client as one end of a socketpair handed to
 * px_conn_new(), and the upstream as a listening TCP socket on 127.0.0.1
 * whose connections the test accepts (or checks it never got).
 */
#ifndef PX_HARNESS_H
#define PX_HARNESS_H

#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "proxy-int.h"

struct h_buf {
	char	*p;
	size_t	 len, cap;
};

struct harness {
	struct px_cfg	 cfg;
	struct px_ctx	 ctx;
	int		 cli;		/* the test's end of the client pair */
	int		 up_listen;	/* fake upstream's listening socket */
	int		 up;		/* accepted upstream connection, or -1 */
	struct h_buf	 resp;		/* bytes the client received */
	struct h_buf	 upreq;		/* bytes the upstream received */
	int		 cli_eof;
};

static __attribute__((unused)) void
h_append(struct h_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * h_setup_host() : ctx with upstream http://<host>:<fake> (the fake
 * listens on 127.0.0.1; another host must resolve to it); pol may be NULL.
 */
static __attribute__((unused)) void
h_setup_host(struct harness *h, struct pol_policy *pol, const char *host)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 errs;
	char			 url[300];
	int			 sv[2];

	memset(h, 0, sizeof(*h));
	h->up = -1;
	h->up_listen = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(h->up_listen >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(h->up_listen, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_int_equal(listen(h->up_listen, 8), 0);
	assert_int_equal(getsockname(h->up_listen, (struct sockaddr *)&sin,
	    &sl), 0);
	fcntl(h->up_listen, F_SETFL, O_NONBLOCK);
	snprintf(url, sizeof(url), "http://%s:%d", host, ntohs(sin.sin_port));

	px_cfg_defaults(&h->cfg);
	memset(&fl, 0, sizeof(fl));
	memset(&errs, 0, sizeof(errs));
	fl.upstream = url;
	/* A test name (resolved to 127.0.0.1 by the test) over plain http. */
	h->cfg.allow_insecure_upstream = 1;
	/* No whoami GET on the one fake upstream (test_whoami turns it on). */
	h->cfg.whoami.off = 1;
	assert_int_equal(px_cfg_apply(&h->cfg, &fl, &errs), 0);
	assert_int_equal(px_ctx_init(&h->ctx, &h->cfg, pol, 0), 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h->cli = sv[1];
	fcntl(h->cli, F_SETFL, O_NONBLOCK);
	assert_non_null(px_conn_new(&h->ctx, sv[0], NULL, 0, NULL));
}

/* h_setup() : ctx with upstream http://127.0.0.1:<fake>; pol may be NULL. */
static __attribute__((unused)) void
h_setup(struct harness *h, struct pol_policy *pol)
{
	h_setup_host(h, pol, "127.0.0.1");
}

static __attribute__((unused)) void
h_teardown(struct harness *h)
{
	px_ctx_free(&h->ctx);	/* closes the conns; the policy stays */
	pol_policy_unref(h->ctx.policy);
	close(h->cli);
	if (h->up != -1)
		close(h->up);
	close(h->up_listen);
	free(h->resp.p);
	free(h->upreq.p);
}

/* h_send() : writes all of s to the client socket (small, never blocks). */
static __attribute__((unused)) void
h_send(struct harness *h, const void *s, size_t n)
{
	size_t	 off = 0;
	ssize_t	 w;

	while (off < n) {
		w = write(h->cli, (const char *)s + off, n - off);
		if (w == -1 && errno == EAGAIN) {
			event_base_loop(h->ctx.base, EVLOOP_NONBLOCK);
			usleep(1000);
			continue;
		}
		assert_true(w > 0);
		off += (size_t)w;
	}
}

#define h_sends(h, s)	h_send((h), (s), strlen(s))

/*
 * h_pump() : one step: run the loop once, collect what the client and
 * the fake upstream received, accept a pending upstream connection.
 */
static __attribute__((unused)) void
h_pump(struct harness *h)
{
	char	 buf[65536];
	ssize_t	 n;
	int	 fd;

	event_base_loop(h->ctx.base, EVLOOP_NONBLOCK);
	while ((n = read(h->cli, buf, sizeof(buf))) > 0)
		h_append(&h->resp, buf, (size_t)n);
	if (n == 0)
		h->cli_eof = 1;
	if (h->up == -1 && (fd = accept(h->up_listen, NULL, NULL)) >= 0) {
		fcntl(fd, F_SETFL, O_NONBLOCK);
		h->up = fd;
	}
	if (h->up != -1)
		while ((n = read(h->up, buf, sizeof(buf))) > 0)
			h_append(&h->upreq, buf, (size_t)n);
	usleep(500);
}

/* h_resp_complete() : the client got a head and its Content-Length body. */
static __attribute__((unused)) int
h_resp_complete(const struct harness *h)
{
	const char	*end, *cl;
	size_t		 hl;

	if (h->resp.p == NULL || (end = strstr(h->resp.p, "\r\n\r\n")) == NULL)
		return 0;
	hl = (size_t)(end - h->resp.p) + 4;
	if ((cl = strcasestr(h->resp.p, "\r\ncontent-length:")) != NULL &&
	    cl < end)
		return h->resp.len >= hl + strtoul(cl + 17, NULL, 10);
	if (strcasestr(h->resp.p, "\r\ntransfer-encoding: chunked") != NULL)
		return strstr(end, "\r\n0\r\n\r\n") != NULL;
	return h->cli_eof;
}

/* h_run() : pumps until done(h) or ms elapsed; returns done(h). */
static __attribute__((unused)) int
h_run(struct harness *h, int (*done)(const struct harness *), int ms)
{
	uint64_t	 t0 = px_now_ms();

	while (px_now_ms() - t0 < (uint64_t)ms) {
		h_pump(h);
		if (done(h))
			return 1;
	}
	return done(h);
}

/* h_status() : the status code of the response, 0 if none. */
static __attribute__((unused)) int
h_status(const struct harness *h)
{
	if (h->resp.p == NULL || strncmp(h->resp.p, "HTTP/1.1 ", 9) != 0)
		return 0;
	return atoi(h->resp.p + 9);
}

/* h_body() : the response body (after the head), or "". */
static __attribute__((unused)) const char *
h_body(const struct harness *h)
{
	const char	*end;

	if (h->resp.p == NULL || (end = strstr(h->resp.p, "\r\n\r\n")) == NULL)
		return "";
	return end + 4;
}

#endif /* PX_HARNESS_H */
