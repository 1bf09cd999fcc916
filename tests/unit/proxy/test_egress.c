/*
 * tests/unit/proxy/test_egress.c: egress mode (proxy/egress/egress.c) against a
 * real event_base.  The client is one end of a socketpair handed to
 * px_egress_accept(); tunnel targets are real loopback TCP listeners; the
 * leaves come from a CA made by cert_ca_init() in a temporary directory.
 * Each case runs in its own process (cmocka forks nothing, so the cases
 * fork themselves): OpenSSL keeps global state.
 *
 * Covered: CONNECT refusals (IP literal, port, unknown host, malformed,
 * origin-form, Host disagreeing with an absolute-form URL, max_tunnels),
 * a tunnel that relays bytes both ways (with backpressure, and closed
 * when idle), interception with a leaf whose
 * SNI must match (mismatch aborts the handshake; a second handshake is a
 * cache hit), a ClientHello sent behind the CONNECT head, SIGHUP's CA
 * reload, and the egress settings' errors.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"
#include "log.h"
#include "proxy-int.h"
#include "px_testcert.h"

struct fx {
	struct px_cfg	 cfg;
	struct px_ctx	 ctx;
	char		 dir[64];
	int		 cli;			/* test's end of the client */
	int		 lst4, lst6;		/* tunnel target listeners */
	int		 port;			/* their port */
	int		 up;			/* accepted tunnel conn */
	char		 resp[65536];
	size_t		 rlen;
};

/* fx_listen() : a TCP listener on addr (v4 or v6) at port (0: any). */
static int
fx_listen(int v6, int port, int *out_port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	int			 fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 8) == -1) {
		close(fd);
		return -1;
	}
	if (out_port != NULL) {
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		*out_port = v6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * fx_setup() : a ctx with egress on (not listening), the CA made in a
 * temporary directory, the settings yaml (may be NULL) and extra flags.
 */
static void
fx_setup(struct fx *f, const char *yaml, const char *tunnel)
{
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 errs;
	struct cert_ca_init_req	 req;
	struct cert_err		 cerr;
	char			 cert[128], key[128], port[16];
	int			 sv[2];

	memset(f, 0, sizeof(*f));
	f->up = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pg-egress-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	memset(&req, 0, sizeof(req));
	req.dir = f->dir;
	assert_int_equal(cert_ca_init(&req, &cerr), 0);
	snprintf(cert, sizeof(cert), "%s/%s", f->dir, CERT_CA_CERT_NAME);
	snprintf(key, sizeof(key), "%s/%s", f->dir, CERT_CA_KEY_NAME);

	f->lst4 = fx_listen(0, 0, &f->port);
	assert_true(f->lst4 >= 0);
	f->lst6 = fx_listen(1, f->port, NULL);	/* -1 without IPv6 */

	px_cfg_defaults(&f->cfg);
	memset(&errs, 0, sizeof(errs));
	if (yaml != NULL)
		assert_int_equal(px_cfg_load_buf(&f->cfg, "t.yaml", yaml,
		    strlen(yaml), &errs), 0);
	memset(&fl, 0, sizeof(fl));
	fl.upstream = "http://127.0.0.1:9";
	fl.egress_listen = "http://127.0.0.1:3128";
	fl.ca_cert = cert;
	fl.ca_key = key;
	if (tunnel != NULL) {
		fl.tunnel[0] = tunnel;
		fl.ntunnel = 1;
	}
	if (px_cfg_apply(&f->cfg, &fl, &errs) != 0)
		fail_msg("config: %s", errs.msg[0]);
	/* The tunnel target's port is allowed too. */
	snprintf(port, sizeof(port), "%d", f->port);
	f->cfg.egress.allow_ports[f->cfg.egress.nports++] =
	    (unsigned)f->port;
	assert_int_equal(px_ctx_init(&f->ctx, &f->cfg, NULL, 0), 0);
	assert_non_null(f->ctx.egress);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->cli = sv[1];
	fcntl(f->cli, F_SETFL, O_NONBLOCK);
	assert_int_equal(px_egress_accept(&f->ctx, sv[0], NULL, 0), 0);
}

static void
fx_teardown(struct fx *f)
{
	char	 p[128];

	px_ctx_free(&f->ctx);
	close(f->cli);
	if (f->up != -1)
		close(f->up);
	close(f->lst4);
	if (f->lst6 != -1)
		close(f->lst6);
	snprintf(p, sizeof(p), "%s/%s", f->dir, CERT_CA_CERT_NAME);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s", f->dir, CERT_CA_KEY_NAME);
	unlink(p);
	rmdir(f->dir);
}

/* fx_pump() : one loop step; collects client bytes, accepts a target. */
static void
fx_pump(struct fx *f)
{
	ssize_t	 n;
	int	 fd;

	event_base_loop(f->ctx.base, EVLOOP_NONBLOCK);
	while (f->rlen < sizeof(f->resp) - 1 && (n = read(f->cli,
	    f->resp + f->rlen, sizeof(f->resp) - 1 - f->rlen)) > 0) {
		f->rlen += (size_t)n;
		f->resp[f->rlen] = '\0';
	}
	if (f->up == -1 && ((fd = accept(f->lst4, NULL, NULL)) >= 0 ||
	    (f->lst6 != -1 && (fd = accept(f->lst6, NULL, NULL)) >= 0))) {
		fcntl(fd, F_SETFL, O_NONBLOCK);
		f->up = fd;
	}
	usleep(300);
}

/* fx_wait_head() : pumps until the client got a response head. */
static int
fx_wait_head(struct fx *f, int ms)
{
	uint64_t	 t0 = px_now_ms();

	while (px_now_ms() - t0 < (uint64_t)ms) {
		fx_pump(f);
		if (strstr(f->resp, "\r\n\r\n") != NULL)
			return atoi(f->resp + 9);
	}
	return 0;
}

static void
fx_send(struct fx *f, const char *s)
{
	assert_int_equal(write(f->cli, s, strlen(s)), (ssize_t)strlen(s));
}

/* refused() : sends req, expects status and text in the JSON body. */
static void
refused(const char *req, int status, const char *text)
{
	struct fx	 f;

	fx_setup(&f, NULL, NULL);
	fx_send(&f, req);
	assert_int_equal(fx_wait_head(&f, 3000), status);
	if (strstr(f.resp, text) == NULL)
		fail_msg("want \"%s\" in: %s", text, f.resp);
	assert_null(strstr(f.resp, "200 Connection established"));
	assert_int_equal(f.up, -1);
	fx_teardown(&f);
}

static void
t_ip_literal(void **state)
{
	refused("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
	    403, "IP address");
	refused("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
	    403, "IP address");
	refused("CONNECT 127.1:443 HTTP/1.1\r\n\r\n", 403, "IP address");
	refused("CONNECT 0x7f.1:443 HTTP/1.1\r\n\r\n", 403, "IP address");
}

static void
t_port(void **state)
{
	refused("CONNECT registry.npmjs.org:22 HTTP/1.1\r\n"
	    "Host: registry.npmjs.org:22\r\n\r\n", 403, "port 22");
}

static void
t_unknown_host(void **state)
{
	refused("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
	    "\r\n", 403, "not an allowed destination");
}

static void
t_malformed(void **state)
{
	refused("CONNECT registry.npmjs.org HTTP/1.1\r\n\r\n", 400,
	    "host:port");
	refused("GET /foo HTTP/1.1\r\nHost: registry.npmjs.org\r\n\r\n", 400,
	    "absolute URL");
	refused("GET http://registry.npmjs.org/foo HTTP/1.1\r\n"
	    "Host: evil.example\r\n\r\n", 400, "Host header does not match");
	refused("GET http://example.com/foo HTTP/1.1\r\nHost: example.com\r\n"
	    "\r\n", 403, "plain http to example.com");
	refused("GET http://127.0.0.1/foo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "\r\n", 403, "IP address");
}

/* t_tunnel() : a listed host is relayed both ways, byte for byte. */
static void
t_tunnel(void **state)
{
	struct fx	 f;
	char		 req[200], buf[4096];
	const char	*up_says = "SSH-2.0-fake\r\n", *cli_says = "hello up\n";
	size_t		 got = 0;
	ssize_t		 n;
	uint64_t	 t0;

	fx_setup(&f, NULL, "localhost");
	snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\n"
	    "Host: localhost:%d\r\n\r\n%s", f.port, f.port, cli_says);
	fx_send(&f, req);
	assert_int_equal(fx_wait_head(&f, 5000), 200);
	assert_non_null(strstr(f.resp, "200 Connection established"));
	assert_true(f.up != -1);
	/* Bytes sent right after the head reach the target. */
	for (t0 = px_now_ms(); got < strlen(cli_says) &&
	    px_now_ms() - t0 < 3000;) {
		fx_pump(&f);
		if ((n = read(f.up, buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, strlen(cli_says));
	assert_memory_equal(buf, cli_says, got);
	/* And the other way. */
	assert_int_equal(write(f.up, up_says, strlen(up_says)),
	    (ssize_t)strlen(up_says));
	f.rlen = 0;
	f.resp[0] = '\0';
	for (t0 = px_now_ms(); f.rlen < strlen(up_says) &&
	    px_now_ms() - t0 < 3000;)
		fx_pump(&f);
	assert_string_equal(f.resp, up_says);
	assert_int_equal(f.ctx.egress != NULL, 1);
	fx_teardown(&f);
}

/* open_tunnel() : CONNECT localhost:<target>, 200 read, target accepted. */
static void
open_tunnel(struct fx *f)
{
	char	 req[200];

	snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\n\r\n",
	    f->port);
	fx_send(f, req);
	assert_int_equal(fx_wait_head(f, 5000), 200);
	assert_true(f->up != -1);
	f->rlen = 0;
	f->resp[0] = '\0';
}

/*
 * t_tunnel_backpressure() : a target that sends while the client reads
 * nothing is stopped once the kernel buffers and PX_HIGH_WATER are full
 * (memory stays bounded); then every byte arrives, in order.
 */
static void
t_tunnel_backpressure(void **state)
{
	struct fx	 f;
	static char	 chunk[65536], in[65536];
	uint64_t	 sent = 0, got = 0, plateau = 0, t0;
	ssize_t		 n;
	size_t		 i;
	int		 rcv = 4096;

	fx_setup(&f, NULL, "localhost");
	/* Small client-side buffer so the proxy's output is what fills. */
	setsockopt(f.cli, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	open_tunnel(&f);
	for (t0 = px_now_ms(); px_now_ms() - t0 < 1500;) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)((sent + i) % 251);
		n = write(f.up, chunk, sizeof(chunk));
		if (n > 0)
			sent += (uint64_t)n;
		event_base_loop(f.ctx.base, EVLOOP_NONBLOCK);
		if (n <= 0)
			usleep(1000);
		if (sent > 64ULL * 1024 * 1024)
			break;
	}
	plateau = sent;
	print_message("target got %llu bytes in while the client read "
	    "nothing\n", (unsigned long long)plateau);
	/* Kernel buffers (both sockets) plus the proxy's bounded buffers. */
	if (plateau > 24ULL * 1024 * 1024)
		fail_msg("the tunnel buffered without bound: %llu bytes taken "
		    "while the client read nothing", (unsigned long long)plateau);
	/* Now the client reads: everything arrives, in order. */
	for (t0 = px_now_ms(); got < sent && px_now_ms() - t0 < 10000;) {
		event_base_loop(f.ctx.base, EVLOOP_NONBLOCK);
		while ((n = read(f.cli, in, sizeof(in))) > 0) {
			for (i = 0; i < (size_t)n; i++)
				if (in[i] != (char)((got + i) % 251))
					fail_msg("byte %llu differs",
					    (unsigned long long)(got + i));
			got += (uint64_t)n;
		}
	}
	assert_int_equal(got, sent);
	fx_teardown(&f);
}

/* t_tunnel_idle() : a tunnel with no byte either way is closed. */
static void
t_tunnel_idle(void **state)
{
	struct fx	 f;
	uint64_t	 t0;
	char		 c;
	ssize_t		 n = -1;

	fx_setup(&f, "egress:\n  idle_timeout: 300ms\n", "localhost");
	open_tunnel(&f);
	for (t0 = px_now_ms(); px_now_ms() - t0 < 3000;) {
		event_base_loop(f.ctx.base, EVLOOP_NONBLOCK);
		if ((n = read(f.cli, &c, 1)) == 0)
			break;
		usleep(1000);
	}
	assert_int_equal(n, 0);		/* the client saw the close */
	assert_true(px_now_ms() - t0 >= 250);
	fx_teardown(&f);
}

/* t_tunnel_other() : other: tunnel relays a host that is not listed. */
static void
t_tunnel_other(void **state)
{
	struct fx	 f;
	char		 req[200];

	fx_setup(&f, "egress:\n  other: tunnel\n", NULL);
	snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\n\r\n",
	    f.port);
	fx_send(&f, req);
	assert_int_equal(fx_wait_head(&f, 5000), 200);
	assert_true(f.up != -1);
	fx_teardown(&f);
}

/* t_max_tunnels() : past max_tunnels, a CONNECT gets 503. */
static void
t_max_tunnels(void **state)
{
	struct fx	 f;
	char		 req[200];
	int		 sv[2], first;

	fx_setup(&f, "egress:\n  max_tunnels: 1\n", "localhost");
	snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\n\r\n",
	    f.port);
	fx_send(&f, req);
	assert_int_equal(fx_wait_head(&f, 5000), 200);
	/* A second client while the first tunnel is open. */
	first = f.cli;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f.cli = sv[1];
	fcntl(f.cli, F_SETFL, O_NONBLOCK);
	assert_int_equal(px_egress_accept(&f.ctx, sv[0], NULL, 0), 0);
	f.rlen = 0;
	f.resp[0] = '\0';
	fx_send(&f, "CONNECT registry.npmjs.org:443 HTTP/1.1\r\n\r\n");
	assert_int_equal(fx_wait_head(&f, 3000), 503);
	close(first);
	fx_teardown(&f);
}

/*
 * handshake() : after a CONNECT to registry.npmjs.org was answered 200,
 * a TLS client handshake on the test's end with SNI sni (NULL: none),
 * trusting only the CA.  Returns 1 if it completed and verified.
 */
static int
handshake(struct fx *f, const char *sni)
{
	SSL_CTX		*sc;
	SSL		*ssl;
	char		 cafile[128];
	uint64_t	 t0;
	int		 r, ok = 0, e;

	snprintf(cafile, sizeof(cafile), "%s/%s", f->dir, CERT_CA_CERT_NAME);
	assert_non_null(sc = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_load_verify_locations(sc, cafile, NULL), 1);
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	assert_non_null(ssl = SSL_new(sc));
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	SSL_set1_host(ssl, "registry.npmjs.org");
	SSL_set_fd(ssl, f->cli);
	for (t0 = px_now_ms(); px_now_ms() - t0 < 5000;) {
		r = SSL_connect(ssl);
		if (r == 1) {
			ok = SSL_get_verify_result(ssl) == X509_V_OK;
			break;
		}
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		event_base_loop(f->ctx.base, EVLOOP_NONBLOCK);
		usleep(300);
	}
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(sc);
	return ok;
}

/* connect_intercept() : a new client, CONNECT, 200 read off. */
static void
connect_intercept(struct fx *f, int fresh)
{
	int	 sv[2];
	char	 c;
	char	 head[200];
	size_t	 n = 0;
	uint64_t t0;

	if (fresh) {
		close(f->cli);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		f->cli = sv[1];
		fcntl(f->cli, F_SETFL, O_NONBLOCK);
		assert_int_equal(px_egress_accept(&f->ctx, sv[0], NULL, 0), 0);
	}
	fx_send(f, "CONNECT Registry.NPMJS.org:443 HTTP/1.1\r\n"
	    "Host: registry.npmjs.org:443\r\n\r\n");
	/* Read exactly the head: the TLS bytes come after it. */
	for (t0 = px_now_ms(); px_now_ms() - t0 < 3000 &&
	    n < sizeof(head) - 1;) {
		event_base_loop(f->ctx.base, EVLOOP_NONBLOCK);
		if (read(f->cli, &c, 1) == 1) {
			head[n++] = c;
			head[n] = '\0';
			if (strstr(head, "\r\n\r\n") != NULL)
				break;
		} else
			usleep(300);
	}
	assert_non_null(strstr(head, "HTTP/1.1 200 Connection established"));
}

static void
t_intercept_sni(void **state)
{
	struct fx		 f;
	struct px_egress_stats	 st;

	fx_setup(&f, NULL, NULL);
	connect_intercept(&f, 0);
	assert_int_equal(handshake(&f, "evil.example"), 0);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 0);	/* refused before minting */

	connect_intercept(&f, 1);
	assert_int_equal(handshake(&f, "REGISTRY.npmjs.org"), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);
	assert_int_equal(st.leaf_hits, 0);

	connect_intercept(&f, 1);		/* no SNI: the CONNECT host */
	assert_int_equal(handshake(&f, NULL), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);
	assert_int_equal(st.leaf_hits, 1);
	fx_teardown(&f);
}

/*
 * t_intercept_pipelined() : a client that sends its ClientHello right
 * behind the CONNECT head, before the 200 (the TLS layer then runs over
 * the buffered plain connection): the handshake still completes.
 */
static void
t_intercept_pipelined(void **state)
{
	struct fx		 f;
	SSL_CTX			*sc;
	SSL			*ssl;
	BIO			*rb, *wb;
	char			 cafile[128], buf[16384], *p;
	const char		*head =
	    "CONNECT registry.npmjs.org:443 HTTP/1.1\r\n"
	    "Host: registry.npmjs.org:443\r\n\r\n";
	size_t			 hl = strlen(head);
	ssize_t			 n;
	int			 r = 0, got_200 = 0;
	uint64_t		 t0;

	fx_setup(&f, NULL, NULL);
	snprintf(cafile, sizeof(cafile), "%s/%s", f.dir, CERT_CA_CERT_NAME);
	assert_non_null(sc = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_load_verify_locations(sc, cafile, NULL), 1);
	SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
	assert_non_null(ssl = SSL_new(sc));
	rb = BIO_new(BIO_s_mem());
	wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	SSL_set_tlsext_host_name(ssl, "registry.npmjs.org");
	SSL_set1_host(ssl, "registry.npmjs.org");
	assert_int_equal(SSL_do_handshake(ssl), -1);	/* ClientHello out */
	memcpy(buf, head, hl);
	n = BIO_read(wb, buf + hl, (int)(sizeof(buf) - hl));
	assert_true(n > 0);
	assert_int_equal(write(f.cli, buf, hl + (size_t)n),
	    (ssize_t)(hl + (size_t)n));
	for (t0 = px_now_ms(); px_now_ms() - t0 < 5000 && r != 1;) {
		event_base_loop(f.ctx.base, EVLOOP_NONBLOCK);
		if ((n = read(f.cli, buf, sizeof(buf) - 1)) > 0) {
			buf[n] = '\0';
			p = buf;
			if (!got_200) {
				assert_int_equal(strncmp(buf, "HTTP/1.1 200 ",
				    13), 0);
				p = strstr(buf, "\r\n\r\n");
				assert_non_null(p);
				p += 4;
				got_200 = 1;
			}
			BIO_write(rb, p, (int)(n - (p - buf)));
		}
		r = SSL_do_handshake(ssl);
		while ((n = BIO_read(wb, buf, sizeof(buf))) > 0)
			assert_int_equal(write(f.cli, buf, (size_t)n), n);
		usleep(300);
	}
	assert_int_equal(r, 1);
	assert_int_equal(SSL_get_verify_result(ssl), X509_V_OK);
	SSL_free(ssl);
	SSL_CTX_free(sc);
	fx_teardown(&f);
}

/*
 * t_reload() : SIGHUP's px_egress_reload(): a CA that loads replaces the
 * old one with an empty leaf cache; one that does not is logged and the
 * old one (and its cache) stays.
 */
static void
t_reload(void **state)
{
	struct fx		 f;
	struct px_egress_stats	 st;
	char			 path[128];
	FILE			*fp;

	fx_setup(&f, NULL, NULL);
	connect_intercept(&f, 0);
	assert_int_equal(handshake(&f, "registry.npmjs.org"), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);

	assert_int_equal(px_egress_reload(&f.ctx), 0);	/* a fresh cache */
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses + st.leaf_hits + st.leaf_size, 0);
	connect_intercept(&f, 1);
	assert_int_equal(handshake(&f, "registry.npmjs.org"), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);

	snprintf(path, sizeof(path), "%s/%s", f.dir, CERT_CA_KEY_NAME);
	assert_non_null(fp = fopen(path, "w"));
	fputs("not a key\n", fp);
	fclose(fp);
	assert_int_equal(px_egress_reload(&f.ctx), -1);	/* old CA stays */
	connect_intercept(&f, 1);
	assert_int_equal(handshake(&f, "registry.npmjs.org"), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);
	assert_int_equal(st.leaf_hits, 1);
	fx_teardown(&f);
}

/* cfg_errs() : yaml must fail with want in the first error. */
static void
cfg_errs(const char *yaml, const char *want)
{
	struct px_cfg		*cfg;
	struct px_cfg_errs	 errs;
	struct px_cfg_flags	 fl;

	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	px_cfg_defaults(cfg);
	memset(&errs, 0, sizeof(errs));
	memset(&fl, 0, sizeof(fl));
	if (px_cfg_load_buf(cfg, "t.yaml", yaml, strlen(yaml), &errs) == 0)
		(void)px_cfg_apply(cfg, &fl, &errs);
	assert_true(errs.count > 0);
	if (strstr(errs.msg[0], want) == NULL)
		fail_msg("want \"%s\" in \"%s\"", want, errs.msg[0]);
	free(cfg);
}

static void
t_config(void **state)
{
	struct px_cfg		*cfg;
	struct px_cfg_errs	 errs;
	struct px_cfg_flags	 fl;
	const char		*yaml =
	    "upstream: https://npm.corp.example\n"
	    "egress:\n"
	    "  listen: http://127.0.0.1:3128\n"
	    "  ca_cert: /x/ca.pem\n"
	    "  ca_key: /x/ca-key.pem\n"
	    "  tunnel: [github.com]\n"
	    "  allow_ports: [443, 8443]\n"
	    "  idle_timeout: 90s\n"
	    "  max_tunnels: 10\n"
	    "  leaf_cache: 50\n";

	cfg_errs("egress:\n  listen: http://127.0.0.1:3128\n  colour: red\n",
	    "t.yaml:3:3: egress.unknown key \"colour\"");
	cfg_errs("egress:\n  listen: http://h:1\n  ca_cert: a\n  ca_key: b\n"
	    "  other: maybe\n", "not refuse or tunnel");
	cfg_errs("egress:\n  listen: http://h:1\n  intercept: [10.0.0.1]\n",
	    "not an address");
	cfg_errs("egress:\n  listen: https://h:1\n  ca_cert: a\n  ca_key: b\n",
	    "plain HTTP");
	cfg_errs("egress:\n  listen: http://h:1\n", "ca_cert");
	cfg_errs("egress:\n  tunnel: [a.example]\n", "egress listener");

	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	px_cfg_defaults(cfg);
	memset(&errs, 0, sizeof(errs));
	memset(&fl, 0, sizeof(fl));
	fl.intercept[0] = "registry.npmjs.org=127.0.0.1:4873";
	fl.intercept[1] = "registry.example:443=[::1]:8443";
	fl.nintercept = 2;
	assert_int_equal(px_cfg_load_buf(cfg, "t.yaml", yaml, strlen(yaml),
	    &errs), 0);
	assert_int_equal(px_cfg_apply(cfg, &fl, &errs), 0);
	/* Defaults (registry.npmjs.org, the upstream's host), then flags. */
	assert_int_equal(cfg->egress.nintercept, 3);
	assert_string_equal(cfg->egress.intercept[0].name,
	    "registry.npmjs.org");
	assert_string_equal(cfg->egress.intercept[0].addr, "127.0.0.1");
	assert_string_equal(cfg->egress.intercept[0].port, "4873");
	assert_string_equal(cfg->egress.intercept[1].name, "npm.corp.example");
	assert_string_equal(cfg->egress.intercept[2].name, "registry.example");
	assert_string_equal(cfg->egress.intercept[2].addr, "::1");
	assert_int_equal(cfg->egress.ntunnel, 1);
	assert_int_equal(cfg->egress.nports, 2);
	assert_int_equal(cfg->egress.idle_ms, 90000);
	assert_int_equal(cfg->egress.max_tunnels, 10);
	assert_int_equal(cfg->egress.leaf_cache, 50);
	assert_int_equal(cfg->egress.other_tunnel, 0);
	free(cfg);
}

/*
 * write_plain_ca() : a corporate-style root with no name constraints,
 * written over dir's ca.pem and ca-key.pem.
 */
static void
write_plain_ca(const char *dir)
{
	EVP_PKEY	*k;
	X509		*x;
	FILE		*fp;
	char		 p[128];

	x = tc_self_signed(&k, 7, "Plain Root", 30, NID_basic_constraints,
	    "critical,CA:TRUE");
	snprintf(p, sizeof(p), "%s/%s", dir, CERT_CA_CERT_NAME);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	snprintf(p, sizeof(p), "%s/%s", dir, CERT_CA_KEY_NAME);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* check_yaml() : px_egress_check of yaml with dir's CA; 0 or -1 + err. */
static int
check_yaml(const char *dir, const char *extra, char *err, size_t errlen)
{
	struct px_cfg		*cfg;
	struct px_cfg_errs	 errs;
	struct px_cfg_flags	 fl;
	char			 yaml[1024];
	int			 rc;

	snprintf(yaml, sizeof(yaml), "upstream: https://npm.corp.example\n"
	    "egress:\n  listen: http://127.0.0.1:3128\n"
	    "  ca_cert: %s/%s\n  ca_key: %s/%s\n%s", dir, CERT_CA_CERT_NAME,
	    dir, CERT_CA_KEY_NAME, extra);
	assert_non_null(cfg = calloc(1, sizeof(*cfg)));
	px_cfg_defaults(cfg);
	memset(&errs, 0, sizeof(errs));
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(px_cfg_load_buf(cfg, "t.yaml", yaml, strlen(yaml),
	    &errs), 0);
	assert_int_equal(px_cfg_apply(cfg, &fl, &errs), 0);
	rc = px_egress_check(cfg, err, errlen);
	free(cfg);
	return rc;
}

/*
 * t_ca_constraints() : the egress CA's name constraints at startup and
 * reload.  `pubgate ca init`'s CA (registry.npmjs.org only) fails the
 * check while the upstream's host is intercepted too, passes with an
 * intercept list inside it; a CA without constraints fails unless
 * allow_unconstrained_ca: true; SIGHUP onto such a CA keeps the old one.
 */
static void
t_ca_constraints(void **state)
{
	struct fx		 f;
	struct px_egress_stats	 st;
	struct cert_ca_init_req	 req;
	struct cert_err		 cerr;
	char			 dir[64], err[600], pem[4096];
	size_t			 pem_len;
	FILE			*fp;

	cfg_errs("egress:\n  listen: http://h:1\n  ca_cert: a\n  ca_key: b\n"
	    "  allow_unconstrained_ca: yes\n", "not true or false");

	snprintf(dir, sizeof(dir), "/tmp/pg-egress-nc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(&req, 0, sizeof(req));
	req.dir = dir;
	assert_int_equal(cert_ca_init(&req, &cerr), 0);
	assert_int_equal(check_yaml(dir, "", err, sizeof(err)), -1);
	if (strstr(err, "npm.corp.example is outside the CA's name "
	    "constraints (permitted: registry.npmjs.org)") == NULL)
		fail_msg("%s", err);
	assert_int_equal(check_yaml(dir, "  intercept: [registry.npmjs.org]\n",
	    err, sizeof(err)), 0);

	write_plain_ca(dir);
	assert_int_equal(check_yaml(dir, "  intercept: [registry.npmjs.org]\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no name constraints"));
	assert_int_equal(check_yaml(dir, "  intercept: [registry.npmjs.org]\n"
	    "  allow_unconstrained_ca: true\n", err, sizeof(err)), 0);
	assert_int_equal(check_yaml(dir, "  intercept: [registry.npmjs.org]\n"
	    "  allow_unconstrained_ca: false\n", err, sizeof(err)), -1);
	snprintf(err, sizeof(err), "%s/%s", dir, CERT_CA_CERT_NAME);
	unlink(err);
	snprintf(err, sizeof(err), "%s/%s", dir, CERT_CA_KEY_NAME);
	unlink(err);
	rmdir(dir);

	/* Reload onto an unconstrained CA: refused, the old one serves. */
	fx_setup(&f, NULL, NULL);
	connect_intercept(&f, 0);
	assert_int_equal(handshake(&f, "registry.npmjs.org"), 1);
	snprintf(err, sizeof(err), "%s/%s", f.dir, CERT_CA_CERT_NAME);
	assert_non_null(fp = fopen(err, "r"));
	pem_len = fread(pem, 1, sizeof(pem), fp);
	fclose(fp);
	write_plain_ca(f.dir);
	px_egress_reload(&f.ctx);
	/* The client trusts the CA still in use (handshake() reads ca.pem). */
	assert_non_null(fp = fopen(err, "w"));
	assert_int_equal(fwrite(pem, 1, pem_len, fp), pem_len);
	fclose(fp);
	connect_intercept(&f, 1);
	assert_int_equal(handshake(&f, "registry.npmjs.org"), 1);
	px_egress_stats(&f.ctx, &st);
	assert_int_equal(st.leaf_misses, 1);
	assert_int_equal(st.leaf_hits, 1);
	fx_teardown(&f);
}

/* run_forked() : each case in its own process (OpenSSL global state). */
static void
run_forked(void (*fn)(void **))
{
	pid_t	 pid;
	int	 st;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		const struct CMUnitTest one[] = { cmocka_unit_test(fn) };

		_exit(cmocka_run_group_tests(one, NULL, NULL) == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#define FORKED(name) \
	static void name##_f(void **s) { run_forked(name); }
FORKED(t_ip_literal)
FORKED(t_port)
FORKED(t_unknown_host)
FORKED(t_malformed)
FORKED(t_tunnel)
FORKED(t_tunnel_other)
FORKED(t_tunnel_backpressure)
FORKED(t_tunnel_idle)
FORKED(t_max_tunnels)
FORKED(t_intercept_sni)
FORKED(t_config)
FORKED(t_intercept_pipelined)
FORKED(t_reload)
FORKED(t_ca_constraints)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ip_literal_f),
		cmocka_unit_test(t_port_f),
		cmocka_unit_test(t_unknown_host_f),
		cmocka_unit_test(t_malformed_f),
		cmocka_unit_test(t_tunnel_f),
		cmocka_unit_test(t_tunnel_other_f),
		cmocka_unit_test(t_tunnel_backpressure_f),
		cmocka_unit_test(t_tunnel_idle_f),
		cmocka_unit_test(t_max_tunnels_f),
		cmocka_unit_test(t_intercept_sni_f),
		cmocka_unit_test(t_config_f),
		cmocka_unit_test(t_intercept_pipelined_f),
		cmocka_unit_test(t_reload_f),
		cmocka_unit_test(t_ca_constraints_f),
	};

	signal(SIGPIPE, SIG_IGN);
	px_log_init(getenv("PX_TEST_VERBOSE") != NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
