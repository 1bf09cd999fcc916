/*
 * tests/unit/proxy/test_addr.c: proxy/core/addr.c (trusted_proxies,
 * X-Forwarded-For, the PROXY protocol header) and the accept path that
 * reads the header on a real event_base (px_pp_accept): what a record
 * names as the client behind HAProxy or a load balancer.
 */
#include "px_harness.h"

static void
cidrs(struct px_cidr *c, size_t *n, const char *const *list)
{
	const char	*why;

	for (*n = 0; list[*n] != NULL; (*n)++)
		assert_int_equal(px_cidr_parse(list[*n], &c[*n], &why), 0);
}

static void
test_cidr(void **state)
{
	static const char *const list[] = { "10.0.0.0/8", "192.0.2.7",
	    "2001:db8::/32", "172.16.0.0/12", NULL };
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0.0/",
	    "10.0.0.0/-1", "2001:db8::/129", "example.com", "10.0.0.0/8x",
	    "", "1.2.3", NULL };
	struct px_cidr	 c[8], one;
	const char	*why;
	size_t		 n, i;

	(void)state;
	cidrs(c, &n, list);
	assert_true(px_cidr_match(c, n, "10.255.1.2"));
	assert_true(px_cidr_match(c, n, "192.0.2.7"));
	assert_false(px_cidr_match(c, n, "192.0.2.8"));
	assert_true(px_cidr_match(c, n, "172.31.255.255"));
	assert_false(px_cidr_match(c, n, "172.32.0.0"));
	assert_true(px_cidr_match(c, n, "2001:db8:ffff::1"));
	assert_false(px_cidr_match(c, n, "2001:db9::1"));
	/* An IPv4-mapped IPv6 peer matches the IPv4 blocks. */
	assert_true(px_cidr_match(c, n, "::ffff:10.1.2.3"));
	assert_false(px_cidr_match(c, n, "::ffff:11.1.2.3"));
	assert_false(px_cidr_match(c, n, "not-an-address"));
	assert_false(px_cidr_match(c, 0, "10.0.0.1"));
	assert_int_equal(px_cidr_parse("0.0.0.0/0", &one, &why), 0);
	assert_true(px_cidr_match(&one, 1, "203.0.113.1"));
	for (i = 0; bad[i] != NULL; i++)
		if (px_cidr_parse(bad[i], &one, &why) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
}

static void
test_xff(void **state)
{
	static const char *const list[] = { "10.0.0.0/8", "2001:db8::/32",
	    NULL };
	static const struct {
		const char	*v;
		const char	*want;	/* NULL: none taken */
	} cases[] = {
		{ "203.0.113.5", "203.0.113.5" },
		{ "203.0.113.5, 10.0.0.2", "203.0.113.5" },
		/* The leftmost is anyone's to write: the rightmost untrusted. */
		{ "1.1.1.1, 198.51.100.9, 10.0.0.2, 10.0.0.3", "198.51.100.9" },
		{ "198.51.100.9:4711", "198.51.100.9" },
		{ "[2001:db9::5]:443, 2001:db8::1", "2001:db9::5" },
		{ "2001:db9::5", "2001:db9::5" },
		/* Every hop trusted: the first one. */
		{ "10.0.0.9, 10.0.0.8", "10.0.0.9" },
		/* Unreadable on the way: none (the peer stays the client). */
		{ "203.0.113.5, unknown", NULL },
		{ "203.0.113.5, , 10.0.0.1", NULL },
		{ "", NULL },
		{ "evil.example, 10.0.0.1", NULL },
		{ "203.0.113.5,10.0.0.1", "203.0.113.5" },
		{ "  203.0.113.6\t", "203.0.113.6" },
	};
	struct px_cidr	 c[4];
	char		 out[64];
	size_t		 n, i;
	int		 rc;

	(void)state;
	cidrs(c, &n, list);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = px_xff_client(cases[i].v, strlen(cases[i].v), c, n, out,
		    sizeof(out));
		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\": took %s", cases[i].v, out);
		} else if (rc != 0 || strcmp(out, cases[i].want) != 0)
			fail_msg("\"%s\": rc %d, %s", cases[i].v, rc,
			    rc == 0 ? out : "-");
	}
}

/* pp_read() : reads a header off stream as px_pp_accept does. */
static int
pp_read(const unsigned char *stream, size_t len, size_t *used,
    struct sockaddr_storage *ss, int *have)
{
	int	 want;
	size_t	 got = 0;

	while ((want = px_pp_want(stream, got)) > 0) {
		if (got + (size_t)want > len)
			return -2;	/* would need more than there is */
		got += (size_t)want;
	}
	*used = got;
	if (want < 0)
		return -1;
	return px_pp_parse(stream, got, ss, have);
}

static void
v2(unsigned char *b, size_t *len, int cmd, int fam, const void *addrs,
    size_t alen, size_t tlv)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

	memcpy(b, sig, 12);
	b[12] = (unsigned char)(0x20 | cmd);
	b[13] = (unsigned char)fam;
	b[14] = (unsigned char)((alen + tlv) >> 8);
	b[15] = (unsigned char)((alen + tlv) & 0xff);
	if (alen > 0)
		memcpy(b + 16, addrs, alen);
	memset(b + 16 + alen, 0x04, tlv);	/* TLVs: skipped */
	*len = 16 + alen + tlv;
}

static void
test_pp_parse(void **state)
{
	static const char *const good1[] = {
		"PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\r\n",
		"PROXY TCP6 2001:db8::9 2001:db8::1 65535 443\r\n",
	};
	static const char *const bad1[] = {
		"PROXY TCP4 203.0.113.9  10.0.0.1 40000 443\r\n",
		"PROXY TCP4 203.0.113.9 10.0.0.1 40000 443 x\r\n",
		"PROXY TCP4 203.0.113.9 10.0.0.1 040000 443\r\n",
		"PROXY TCP4 203.0.113.9 10.0.0.1 65536 443\r\n",
		"PROXY TCP4 2001:db8::9 10.0.0.1 1 443\r\n",
		"PROXY UDP4 203.0.113.9 10.0.0.1 1 443\r\n",
		"PROXY TCP4 203.0.113.9 10.0.0.1 40000 443\n\r\n",
		"proxy TCP4 203.0.113.9 10.0.0.1 40000 443\r\n",
		"GET / HTTP/1.1\r\n",
	};
	unsigned char		 b[2048], a4[12] = { 198, 51, 100, 7, 10, 0, 0,
	    1, 0x9c, 0x40, 0x01, 0xbb }, a6[36];
	struct sockaddr_storage	 ss;
	const struct sockaddr_in *s4 = (const void *)&ss;
	char			 host[64], line[256];
	size_t			 i, len, used;
	int			 have;

	(void)state;
	for (i = 0; i < sizeof(good1) / sizeof(good1[0]); i++) {
		/* What follows the header (a TLS hello) is never read. */
		len = (size_t)snprintf((char *)b, sizeof(b), "%s\x16\x03\x01",
		    good1[i]);
		assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
		assert_int_equal(used, strlen(good1[i]));
		assert_int_equal(have, 1);
	}
	assert_int_equal(ss.ss_family, AF_INET6);
	len = (size_t)snprintf((char *)b, sizeof(b), "%s", good1[0]);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
	inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
	assert_string_equal(host, "203.0.113.9");
	assert_int_equal(ntohs(s4->sin_port), 40000);
	/* UNKNOWN (a balancer's health check): no address, not an error. */
	len = (size_t)snprintf((char *)b, sizeof(b), "PROXY UNKNOWN\r\nGET");
	assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
	assert_int_equal(used, 15);
	assert_int_equal(have, 0);
	for (i = 0; i < sizeof(bad1) / sizeof(bad1[0]); i++) {
		len = (size_t)snprintf((char *)b, sizeof(b), "%sGET / HTTP/1.1"
		    "\r\n\r\n", bad1[i]);
		if (pp_read(b, len, &used, &ss, &have) == 0)
			fail_msg("accepted %s", bad1[i]);
	}
	/* A v1 line over 107 bytes. */
	memset(line, '1', sizeof(line));
	memcpy(line, "PROXY TCP4 ", 11);
	memcpy(line + 200, "\r\n", 3);
	assert_true(pp_read((unsigned char *)line, 203, &used, &ss,
	    &have) != 0);

	/* v2: PROXY over IPv4 with TLVs, then data that stays unread. */
	v2(b, &len, 1, 0x11, a4, sizeof(a4), 40);
	memcpy(b + len, "\x16\x03", 2);
	assert_int_equal(pp_read(b, len + 2, &used, &ss, &have), 0);
	assert_int_equal(used, len);
	assert_int_equal(have, 1);
	inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
	assert_string_equal(host, "198.51.100.7");
	assert_int_equal(ntohs(s4->sin_port), 40000);
	/* IPv6. */
	memset(a6, 0, sizeof(a6));
	a6[0] = 0x20;
	a6[1] = 0x01;
	a6[15] = 0x09;
	a6[33] = 0x01;
	v2(b, &len, 1, 0x21, a6, sizeof(a6), 0);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
	assert_int_equal(have, 1);
	assert_int_equal(ss.ss_family, AF_INET6);
	/* LOCAL (health check) and UNSPEC: the socket's own address. */
	v2(b, &len, 0, 0x00, NULL, 0, 0);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
	assert_int_equal(have, 0);
	v2(b, &len, 1, 0x00, NULL, 0, 0);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), 0);
	assert_int_equal(have, 0);
	/* Bad: short address block, unknown command, version, too long. */
	v2(b, &len, 1, 0x11, a4, 8, 0);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), -1);
	v2(b, &len, 2, 0x11, a4, sizeof(a4), 0);
	assert_int_equal(pp_read(b, len, &used, &ss, &have), -1);
	v2(b, &len, 1, 0x11, a4, sizeof(a4), 0);
	b[12] = 0x11;
	assert_int_equal(pp_read(b, len, &used, &ss, &have), -1);
	v2(b, &len, 1, 0x11, a4, sizeof(a4), 0);
	b[14] = 0x10;	/* 4 KiB of TLVs: over PX_PP_MAX */
	assert_true(pp_read(b, sizeof(b), &used, &ss, &have) != 0);
}

/* ------------------------------------------------ on the event loop */

static struct px_conn *
last_conn(struct harness *h)
{
	return TAILQ_LAST(&h->ctx.conns, px_conn_list);
}

static int
head_done(struct harness *h, size_t nconns)
{
	int	 i;

	for (i = 0; i < 500; i++) {
		if (h->ctx.nconns == nconns && last_conn(h)->head_done)
			return 1;
		h_pump(h);
	}
	return 0;
}

/* fake_sa() : the address the balancer connects from. */
static struct sockaddr_in
fake_sa(const char *ip)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5555);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static int
pp_conn(struct harness *h, const char *from)
{
	struct sockaddr_in	 sin = fake_sa(from);
	int			 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	px_pp_accept(&h->ctx, sv[0], (struct sockaddr *)&sin, sizeof(sin),
	    NULL, 0);
	return sv[1];
}

static int
closed(struct harness *h, int fd)
{
	uint64_t	 t0 = px_now_ms();
	char		 c;

	/*
	 * By the clock, as h_run() waits, not by a count of pumps: the header
	 * timeout (300 ms) must have passed, and 500 pumps of h_pump()'s
	 * 0.5 ms can take less.
	 */
	while (px_now_ms() - t0 < 5000) {
		if (read(fd, &c, 1) == 0)
			return 1;
		h_pump(h);
	}
	return 0;
}

static void
test_pp_accept(void **state)
{
	static const char *const trusted[] = { "127.0.0.0/8", "10.0.0.0/8",
	    NULL };
	static const char req[] = "GET /-/x HTTP/1.1\r\nHost: g\r\n"
	    "X-Forwarded-For: 192.0.2.66\r\n\r\n";
	struct harness	 h;
	struct px_conn	*c;
	int		 fd, i;

	(void)state;
	h_setup(&h, NULL);
	cidrs(h.cfg.trusted, &h.cfg.ntrusted, trusted);
	h.cfg.header_ms = 300;

	/* The header in two pieces, then a request in the same write. */
	fd = pp_conn(&h, "127.0.0.1");
	assert_int_equal(write(fd, "PROXY TCP4 203.0.11", 19), 19);
	for (i = 0; i < 20; i++)
		h_pump(&h);
	assert_int_equal(h.ctx.nppwaits, 1);
	assert_int_equal(h.ctx.nconns, 1);
	assert_int_equal(write(fd, "3.9 10.0.0.1 40000 443\r\n", 24), 24);
	assert_int_equal(write(fd, req, sizeof(req) - 1),
	    (ssize_t)sizeof(req) - 1);
	assert_true(head_done(&h, 2));
	c = last_conn(&h);
	assert_int_equal(h.ctx.nppwaits, 0);
	assert_string_equal(c->peer, "203.0.113.9:40000");
	/* The client is not a trusted proxy: its X-Forwarded-For is not. */
	assert_string_equal(px_conn_client(c), "203.0.113.9:40000");
	close(fd);

	/* Behind two trusted hops: X-Forwarded-For names the client. */
	fd = pp_conn(&h, "127.0.0.1");
	assert_int_equal(write(fd, "PROXY TCP4 10.0.0.5 10.0.0.1 1 443\r\n",
	    36), 36);
	assert_int_equal(write(fd, req, sizeof(req) - 1),
	    (ssize_t)sizeof(req) - 1);
	for (i = 0; i < 50; i++)
		h_pump(&h);
	c = last_conn(&h);
	assert_true(c->head_done);
	assert_string_equal(c->peer, "10.0.0.5:1");
	assert_string_equal(px_conn_client(c), "192.0.2.66");
	close(fd);

	/* From an address not in trusted_proxies: closed, nothing read. */
	fd = pp_conn(&h, "192.0.2.1");
	assert_true(closed(&h, fd));
	close(fd);
	/* Not a PROXY header; and no header in time. */
	fd = pp_conn(&h, "127.0.0.1");
	assert_int_equal(write(fd, req, sizeof(req) - 1),
	    (ssize_t)sizeof(req) - 1);
	assert_true(closed(&h, fd));
	close(fd);
	fd = pp_conn(&h, "127.0.0.1");
	assert_int_equal(write(fd, "PROXY ", 6), 6);
	assert_true(closed(&h, fd));
	assert_int_equal(h.ctx.nppwaits, 0);
	close(fd);
	/* One still waiting at shutdown is closed by px_ctx_free(). */
	fd = pp_conn(&h, "127.0.0.1");
	assert_int_equal(h.ctx.nppwaits, 1);
	h_teardown(&h);
	close(fd);
}

/* Settings: proxy_protocol needs trusted_proxies; bad entries are errors. */
static void
test_settings(void **state)
{
	static const char ok[] = "listen:\n  - url: http://127.0.0.1:8080\n"
	    "    proxy_protocol: true\ntrusted_proxies: [10.0.0.0/8, "
	    "\"::1\"]\n";
	static const char none[] = "listen:\n  - url: http://127.0.0.1:8080\n"
	    "    proxy_protocol: true\n";
	static const char bad[] = "trusted_proxies: [10.0.0.0/40]\n";
	static const char badbool[] = "listen:\n  - url: http://127.0.0.1:8080\n"
	    "    proxy_protocol: yes\n";
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 errs;

	(void)state;
	memset(&fl, 0, sizeof(fl));
	px_cfg_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	if (px_cfg_load_buf(&cfg, "t.yaml", ok, sizeof(ok) - 1, &errs) != 0)
		fail_msg("%s", errs.msg[0]);
	if (px_cfg_apply(&cfg, &fl, &errs) != 0)
		fail_msg("%s", errs.msg[0]);
	assert_int_equal(cfg.ntrusted, 2);
	assert_true(cfg.listen[0].proxy_protocol);

	px_cfg_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", none,
	    sizeof(none) - 1, &errs), 0);
	assert_int_equal(px_cfg_apply(&cfg, &fl, &errs), -1);
	assert_non_null(strstr(errs.msg[0], "trusted_proxies"));

	px_cfg_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", bad, sizeof(bad) - 1,
	    &errs), -1);
	assert_non_null(strstr(errs.msg[0], "t.yaml:1:"));
	px_cfg_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", badbool,
	    sizeof(badbool) - 1, &errs), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_xff),
		cmocka_unit_test(test_pp_parse),
		cmocka_unit_test(test_pp_accept),
		cmocka_unit_test(test_settings),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
