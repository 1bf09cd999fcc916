/*
 * tests/unit/proxy/test_tls_fill.c: reads from a TLS upstream whose SSL
 * reads ahead (tls.c px_tls_bulk, io.c px_tls_fill).  The fake upstream
 * is a non-blocking OpenSSL server on loopback with a self-signed
 * certificate for 127.0.0.1, driven between turns of the gate's loop.
 * It sends a response as many small records in one burst and keeps the
 * connection open: OpenSSL reads them all at once and libevent, which
 * takes one or two records per readable event, would leave the rest in
 * OpenSSL with no event to come; the whole body must still arrive.  A
 * 1 MiB body in full-size records arrives byte for byte, and the kept
 * upstream connection serves the next request.  And writes: px_io_flush()
 * corks a TLS socket while it writes more than one record and never
 * leaves it corked (a corked socket holds its last partial segment for
 * up to 200 ms), whether all of the output went or the peer's window
 * filled.
 */
#include "px_harness.h"
#include "px_testcert.h"

#include <netinet/tcp.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_up {
	char	 dir[64];
	char	 ca[128];
	SSL_CTX	*srv;
	SSL	*ssl;		/* on h->up once accepted */
};

/* make_cert() : a self-signed P-256 leaf for IP 127.0.0.1 in t->dir. */
static void
make_cert(struct tls_up *t)
{
	EVP_PKEY	*k;
	X509		*x;
	FILE		*fp;

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_tls_fill.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	x = tc_self_signed(&k, 9, "127.0.0.1", 2, NID_subject_alt_name,
	    "IP:127.0.0.1");
	snprintf(t->ca, sizeof(t->ca), "%s/up.pem", t->dir);
	assert_non_null(fp = fopen(t->ca, "w"));
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	assert_non_null(t->srv = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(t->srv, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(t->srv, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* setup() : the harness with its upstream made https://127.0.0.1:<fake>. */
static void
setup(struct harness *h, struct tls_up *t)
{
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 errs;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 url[64], err[256];

	make_cert(t);
	t->ssl = NULL;
	h_setup(h, NULL);
	assert_int_equal(getsockname(h->up_listen, (struct sockaddr *)&sin,
	    &sl), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d",
	    ntohs(sin.sin_port));
	memset(&fl, 0, sizeof(fl));
	memset(&errs, 0, sizeof(errs));
	fl.upstream = url;
	fl.upstream_ca = t->ca;
	assert_int_equal(px_cfg_apply(&h->cfg, &fl, &errs), 0);
	assert_int_equal(h->cfg.up.tls, 1);
	h->ctx.up_ssl = px_tls_client_ctx(t->ca, err, sizeof(err));
	assert_non_null(h->ctx.up_ssl);
}

static void
teardown(struct harness *h, struct tls_up *t)
{
	char	 p[160];

	if (t->ssl != NULL)
		SSL_free(t->ssl);
	h_teardown(h);
	SSL_CTX_free(h->ctx.up_ssl);
	SSL_CTX_free(t->srv);
	unlink(t->ca);
	snprintf(p, sizeof(p), "%s", t->dir);
	rmdir(p);
}

/*
 * pump() : one turn of the gate's loop and of the fake upstream: accept,
 * handshake, and read what the gate sent (into h->upreq).
 */
static void
pump(struct harness *h, struct tls_up *t)
{
	char	 buf[16384];
	ssize_t	 n;
	int	 fd, r;

	event_base_loop(h->ctx.base, EVLOOP_NONBLOCK);
	while ((n = read(h->cli, buf, sizeof(buf))) > 0)
		h_append(&h->resp, buf, (size_t)n);
	if (n == 0)
		h->cli_eof = 1;
	if (h->up == -1 && (fd = accept(h->up_listen, NULL, NULL)) >= 0) {
		fcntl(fd, F_SETFL, O_NONBLOCK);
		h->up = fd;
		assert_non_null(t->ssl = SSL_new(t->srv));
		SSL_set_fd(t->ssl, fd);
		SSL_set_accept_state(t->ssl);
	}
	if (t->ssl != NULL)
		while ((r = SSL_read(t->ssl, buf, sizeof(buf))) > 0)
			h_append(&h->upreq, buf, (size_t)r);
	usleep(300);
}

static int
run(struct harness *h, struct tls_up *t, int (*done)(const struct harness *),
    int ms)
{
	uint64_t	 t0 = px_now_ms();

	while (px_now_ms() - t0 < (uint64_t)ms) {
		pump(h, t);
		if (done(h))
			return 1;
	}
	return done(h);
}

static int
up_head_complete(const struct harness *h)
{
	return h->upreq.p != NULL && strstr(h->upreq.p, "\r\n\r\n") != NULL;
}

/* up_send() : s as records of at most rec bytes, the gate's loop idle. */
static void
up_send(struct harness *h, struct tls_up *t, const char *s, size_t n,
    size_t rec)
{
	size_t		 off = 0, k;
	int		 r;
	uint64_t	 t0 = px_now_ms();

	while (off < n) {
		k = n - off < rec ? n - off : rec;
		r = SSL_write(t->ssl, s + off, (int)k);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		assert_int_equal(SSL_get_error(t->ssl, r), SSL_ERROR_WANT_WRITE);
		assert_true(px_now_ms() - t0 < 20000);
		pump(h, t);
	}
}

static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i * 131) ^ (i >> 9));
}

/*
 * 200 records of 50 bytes in one burst, the connection kept open: the
 * client gets all of the body (without px_tls_fill the gate got the
 * first record or two and waited, the rest sitting inside OpenSSL).
 * Then a second request on the same upstream connection gets its answer.
 */
static void
test_small_records_burst(void **state)
{
	struct harness	 h;
	struct tls_up	 t;
	char		 head[128], *body;
	size_t		 n = 200 * 50, i;

	(void)state;
	setup(&h, &t);
	body = malloc(n);
	assert_non_null(body);
	for (i = 0; i < n; i++)
		body[i] = (char)('a' + i % 26);
	h_sends(&h, "GET /x.tgz HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(run(&h, &t, up_head_complete, 5000));
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %zu\r\n\r\n", n);
	up_send(&h, &t, head, strlen(head), 50);
	up_send(&h, &t, body, n, 50);
	assert_true(run(&h, &t, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_int_equal(strlen(h_body(&h)), n);
	assert_memory_equal(h_body(&h), body, n);

	/* The same upstream connection answers the next request. */
	free(h.resp.p);
	free(h.upreq.p);
	memset(&h.resp, 0, sizeof(h.resp));
	memset(&h.upreq, 0, sizeof(h.upreq));
	h_sends(&h, "GET /y.tgz HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(run(&h, &t, up_head_complete, 5000));
	assert_non_null(strstr(h.upreq.p, "GET /y.tgz "));
	up_send(&h, &t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
	    41, 7);
	assert_true(run(&h, &t, h_resp_complete, 5000));
	assert_string_equal(h_body(&h), "abc");
	free(body);
	teardown(&h, &t);
}

/*
 * A 1 MiB body in full-size records, written as fast as the socket takes
 * it: byte for byte at the client.
 */
static void
test_big_body(void **state)
{
	struct harness	 h;
	struct tls_up	 t;
	unsigned char	*body;
	const char	*b;
	size_t		 n = 1024 * 1024 + 77, i;

	(void)state;
	setup(&h, &t);
	body = malloc(n);
	assert_non_null(body);
	for (i = 0; i < n; i++)
		body[i] = pattern(i);
	h_sends(&h, "GET /big.tgz HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(run(&h, &t, up_head_complete, 5000));
	up_send(&h, &t, "HTTP/1.1 200 OK\r\nContent-Length: 1048653\r\n\r\n",
	    44, 16384);
	up_send(&h, &t, (const char *)body, n, 16384);
	assert_true(run(&h, &t, h_resp_complete, 20000));
	b = h_body(&h);
	assert_int_equal(h.resp.len - (size_t)(b - h.resp.p), n);
	assert_memory_equal(b, body, n);
	free(body);
	teardown(&h, &t);
}

static int
corked(int fd)
{
	int		 v = -1;
	socklen_t	 l = sizeof(v);

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, &l), 0);
	return v;
}

/* srv_read() : what the fake server can read now, appended to b. */
static void
srv_read(SSL *ssl, struct h_buf *b)
{
	char	 buf[16384];
	int	 r;

	while ((r = SSL_read(ssl, buf, sizeof(buf))) > 0)
		h_append(b, buf, (size_t)r);
}

/*
 * srv_until() : the gate's loop and the fake server's reads turn until b
 * holds want bytes; fails after ms.
 */
static void
srv_until(struct harness *h, SSL *ssl, struct h_buf *b, size_t want, int ms)
{
	uint64_t	 t0;

	for (t0 = px_now_ms(); b->len < want;) {
		assert_true(px_now_ms() - t0 < (uint64_t)ms);
		srv_read(ssl, b);
		event_base_loop(h->ctx.base, EVLOOP_NONBLOCK);
	}
}

/*
 * A TLS bufferevent on a real TCP connection (TCP_CORK needs TCP), the
 * peer the fake server: 300 KiB flushed at once all arrive and leave the
 * socket uncorked; 16 MiB, more than the socket takes while the peer
 * does not read, stop early on the full window, uncorked too, and
 * libevent's write event then sends the rest.
 */
static void
test_flush_uncorks(void **state)
{
	struct harness		 h;
	struct tls_up		 t;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	struct bufferevent	*bev;
	struct h_buf		 got;
	SSL			*ssl, *srv;
	unsigned char		*big;
	size_t			 n1 = 300 * 1024, n2 = 16u << 20, i;
	uint64_t		 t0;
	int			 c, a;

	(void)state;
	setup(&h, &t);
	memset(&got, 0, sizeof(got));
	assert_int_equal(getsockname(h.up_listen, (struct sockaddr *)&sin,
	    &sl), 0);
	assert_true((c = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_true((a = accept(h.up_listen, NULL, NULL)) >= 0);
	fcntl(c, F_SETFL, O_NONBLOCK);
	fcntl(a, F_SETFL, O_NONBLOCK);
	assert_non_null(srv = SSL_new(t.srv));
	SSL_set_fd(srv, a);
	SSL_set_accept_state(srv);
	assert_non_null(ssl = SSL_new(h.ctx.up_ssl));
	assert_non_null(bev = bufferevent_openssl_socket_new(h.ctx.base, c,
	    ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	for (t0 = px_now_ms(); !SSL_is_init_finished(ssl) ||
	    !SSL_is_init_finished(srv);) {
		assert_true(px_now_ms() - t0 < 5000);
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
		srv_read(srv, &got);
		usleep(300);
	}
	assert_int_equal(corked(c), 0);

	/* All of it goes at once. */
	assert_non_null(big = malloc(n2));
	for (i = 0; i < n2; i++)
		big[i] = pattern(i);
	assert_int_equal(evbuffer_add(bufferevent_get_output(bev), big, n1),
	    0);
	px_io_flush(bev);
	assert_int_equal(corked(c), 0);
	srv_until(&h, srv, &got, n1, 5000);
	assert_int_equal(got.len, n1);
	assert_memory_equal(got.p, big, n1);
	assert_int_equal(evbuffer_get_length(bufferevent_get_output(bev)), 0);

	/* More than the socket takes: stopped by the window, uncorked. */
	got.len = 0;
	assert_int_equal(evbuffer_add(bufferevent_get_output(bev), big, n2),
	    0);
	px_io_flush(bev);
	assert_int_equal(corked(c), 0);
	assert_true(evbuffer_get_length(bufferevent_get_output(bev)) > 0);
	srv_until(&h, srv, &got, n2, 20000);
	assert_int_equal(got.len, n2);
	assert_memory_equal(got.p, big, n2);
	assert_int_equal(corked(c), 0);

	bufferevent_free(bev);
	SSL_free(srv);
	close(a);
	free(got.p);
	free(big);
	teardown(&h, &t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_records_burst),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_flush_uncorks),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
