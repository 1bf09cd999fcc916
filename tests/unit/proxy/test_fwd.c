/*
 * tests/unit/proxy/test_fwd.c: reads through a real connection to a fake
 * upstream on loopback (fwd.c): a chunked response passes through with
 * its bytes intact, the request reaches the upstream with Host rewritten
 * and hop-by-hop fields gone, a request body is re-framed faithfully,
 * keep-alive reuses the upstream connection, a slow client stops the
 * upstream reads (bounded buffering), a dead upstream is a 502 JSON, and
 * packuments stay gzip end to end: the upstream is asked for gzip, a gzip
 * answer is inflated, rewritten and compressed again (or sent plain to a
 * client that does not take gzip), validators and 304s pass, a truncated
 * or corrupt stream never completes, and a gzip bomb stays bounded; a
 * 1 MiB body comes through byte for byte, and io.c fills a plain
 * socket's input with big reads where libevent reads 4 KiB.
 */
#include "px_harness.h"

#include <zlib.h>

static int
up_head_complete(const struct harness *h)
{
	return h->upreq.p != NULL && strstr(h->upreq.p, "\r\n\r\n") != NULL;
}

/* dechunk() : decodes a chunked body in place-ish into out. */
static int
dechunk(const char *p, struct h_buf *out)
{
	unsigned long	 n;
	char		*ep;

	for (;;) {
		n = strtoul(p, &ep, 16);
		if (ep == p || strncmp(ep, "\r\n", 2) != 0)
			return -1;
		p = ep + 2;
		if (n == 0)
			return strncmp(p, "\r\n", 2) == 0 ? 0 : -1;
		h_append(out, p, n);
		p += n;
		if (strncmp(p, "\r\n", 2) != 0)
			return -1;
		p += 2;
	}
}

static void
up_write(struct harness *h, const char *s, size_t n)
{
	ssize_t	 w;
	size_t	 off = 0;

	while (off < n) {
		w = write(h->up, s + off, n - off);
		if (w == -1 && errno == EAGAIN) {
			h_pump(h);
			continue;
		}
		assert_true(w > 0);
		off += (size_t)w;
	}
}

#define up_writes(h, s)	up_write((h), (s), strlen(s))

static void
test_chunked_passthrough(void **state)
{
	struct harness	 h;
	struct h_buf	 body = { 0 };
	char		 want_host[300];
	static const char resp[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "Connection: keep-alive, X-Hop\r\n"
	    "X-Hop: gone\r\n"
	    "X-Kept: yes\r\n\r\n"
	    "5\r\nhello\r\n"
	    "1;ext=1\r\n \r\n"
	    "6\r\nworld!\r\n"
	    "0\r\n\r\n";

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "GET /-/x?q=1 HTTP/1.1\r\nHost: gate.example\r\n"
	    "Authorization: Bearer secret-token\r\nnpm-otp: 123456\r\n"
	    "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\n"
	    "Proxy-Authorization: x\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	/* The upstream sees its own host, credentials, no hop-by-hop fields. */
	assert_true(strncmp(h.upreq.p, "GET /-/x?q=1 HTTP/1.1\r\n", 23) == 0);
	snprintf(want_host, sizeof(want_host), "\r\nHost: %s\r\n",
	    h.cfg.up.hostport);
	assert_non_null(strstr(h.upreq.p, want_host));
	assert_null(strstr(h.upreq.p, "gate.example"));
	assert_non_null(strstr(h.upreq.p, "Authorization: Bearer secret-token"));
	assert_non_null(strstr(h.upreq.p, "npm-otp: 123456"));
	assert_null(strcasestr(h.upreq.p, "X-Drop"));
	assert_null(strcasestr(h.upreq.p, "Proxy-Authorization"));
	assert_null(strcasestr(h.upreq.p, "\r\nConnection:"));

	up_write(&h, resp, sizeof(resp) - 1);
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_non_null(strcasestr(h.resp.p, "\r\nTransfer-Encoding: chunked"));
	assert_non_null(strstr(h.resp.p, "\r\nX-Kept: yes"));
	assert_null(strcasestr(h.resp.p, "X-Hop"));
	assert_int_equal(dechunk(h_body(&h), &body), 0);
	assert_int_equal(body.len, 12);
	assert_memory_equal(body.p, "hello world!", 12);
	free(body.p);

	/* Keep-alive: a second request goes over the same upstream conn. */
	free(h.resp.p);
	memset(&h.resp, 0, sizeof(h.resp));
	free(h.upreq.p);
	memset(&h.upreq, 0, sizeof(h.upreq));
	h_sends(&h, "HEAD /-/y HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_int_equal(accept(h.up_listen, NULL, NULL), -1);
	up_writes(&h, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 2000) ||
	    strstr(h.resp.p ? h.resp.p : "", "\r\n\r\n") != NULL);
	assert_non_null(strstr(h.resp.p, "Content-Length: 99\r\n"));
	h_teardown(&h);
}

static void
test_request_body_reframed(void **state)
{
	struct harness	 h;
	const char	*b;
	struct h_buf	 body = { 0 };

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "POST /-/npm/v1/security/audits/quick HTTP/1.1\r\nHost: g\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	h_run(&h, h_resp_complete, 300);
	assert_non_null(strcasestr(h.upreq.p, "Transfer-Encoding: chunked\r\n"));
	b = strstr(h.upreq.p, "\r\n\r\n") + 4;
	assert_int_equal(dechunk(b, &body), 0);
	assert_int_equal(body.len, 7);
	assert_memory_equal(body.p, "{\"a\":1}", 7);
	free(body.p);
	h_teardown(&h);
}

/* A client that does not read: pubgate buffers a bounded amount. */
static void
test_slow_client_backpressure(void **state)
{
	struct harness	 h;
	struct px_conn	*conn;
	char		*chunk;
	size_t		 sent = 0, total = 16 * 1024 * 1024, maxbuf = 0, len;
	ssize_t		 w;
	int		 i;

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "GET /big.tgz HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	chunk = calloc(1, 65536);
	assert_non_null(chunk);
	up_writes(&h, "HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\n\r\n");
	conn = TAILQ_FIRST(&h.ctx.conns);
	assert_non_null(conn);
	/* Feed the upstream side for a while without reading the client. */
	for (i = 0; i < 3000 && sent < total; i++) {
		w = write(h.up, chunk, 65536);
		if (w > 0)
			sent += (size_t)w;
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
		len = evbuffer_get_length(bufferevent_get_output(conn->client));
		if (len > maxbuf)
			maxbuf = len;
		if (w < 0)
			usleep(200);
	}
	/* The upstream was stopped: nowhere near 16 MiB was accepted. */
	assert_true(sent < total);
	assert_true(maxbuf <= PX_RELAY_HIGH + 2 * PX_FEED_CHUNK);
	assert_int_equal(conn->paused_up, 1);
	free(chunk);
	h_teardown(&h);
}

/*
 * A packument's tarball URLs name the upstream: they are rewritten to the
 * gate (listener scheme + Host), also when the origin is split across
 * chunks, and the request asks the upstream for gzip; a plain answer
 * is rewritten plain.
 */
static void
test_packument_rewrite(void **state)
{
	struct harness	 h;
	struct h_buf	 body = { 0 }, resp = { 0 };
	const char	*o;
	char		 chunk[600], doc[4096];
	size_t		 ol, i, bounds[6] = { 0, 8, 9, 15, 23, 0 };

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "GET /@acme%2fx HTTP/1.1\r\nHost: gate.example:8080\r\n"
	    "Accept-Encoding: gzip\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_non_null(strstr(h.upreq.p, "\r\nAccept-Encoding: gzip\r\n"));
	o = h.cfg.up_origin;	/* "http://127.0.0.1:PORT/" */
	ol = strlen(o);
	snprintf(doc, sizeof(doc), "{\"a\":\"%s@acme/x/-/x-1.tgz\",\"h\":"
	    "\"http://elsewhere/\",\"b\":\"%sx-2.tgz\",\"t\":\"%.*s\"}", o, o,
	    (int)(ol - 1), o);
	h_append(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 79);
	/* Chunks cut inside the first origin (it starts at offset 6). */
	bounds[5] = strlen(doc);
	for (i = 0; i < 5; i++) {
		snprintf(chunk, sizeof(chunk), "%zx\r\n", bounds[i + 1] -
		    bounds[i]);
		h_append(&resp, chunk, strlen(chunk));
		h_append(&resp, doc + bounds[i], bounds[i + 1] - bounds[i]);
		h_append(&resp, "\r\n", 2);
	}
	h_append(&resp, "0\r\n\r\n", 5);
	up_write(&h, resp.p, resp.len);
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_int_equal(dechunk(h_body(&h), &body), 0);
	assert_non_null(strstr(body.p,
	    "\"a\":\"http://gate.example:8080/@acme/x/-/x-1.tgz\""));
	assert_non_null(strstr(body.p, "\"b\":\"http://gate.example:8080/x-2.tgz\""));
	assert_non_null(strstr(body.p, "\"h\":\"http://elsewhere/\""));
	/* A prefix of the origin at the end stays as it was. */
	assert_non_null(strstr(body.p, "\"t\":\"http://127.0.0.1:"));
	free(body.p);
	free(resp.p);
	h_teardown(&h);
}

/* A second client connection reuses the first one's upstream (the pool). */
static void
test_upstream_pool(void **state)
{
	struct harness	 h;
	int		 sv[2], i;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "GET /-/a HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	up_write(&h, ok, sizeof(ok) - 1);
	assert_true(h_run(&h, h_resp_complete, 5000));
	/* The client goes away: its idle upstream is parked. */
	close(h.cli);
	for (i = 0; i < 200 && h.ctx.npool == 0; i++)
		h_pump(&h);
	assert_int_equal(h.ctx.nconns, 0);
	assert_int_equal(h.ctx.npool, 1);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	h.cli = sv[1];
	fcntl(h.cli, F_SETFL, O_NONBLOCK);
	assert_non_null(px_conn_new(&h.ctx, sv[0], NULL, 0, NULL));
	free(h.resp.p);
	memset(&h.resp, 0, sizeof(h.resp));
	free(h.upreq.p);
	memset(&h.upreq, 0, sizeof(h.upreq));
	h_sends(&h, "GET /-/b HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_true(strncmp(h.upreq.p, "GET /-/b ", 9) == 0);
	assert_int_equal(h.ctx.npool, 0);
	assert_int_equal(accept(h.up_listen, NULL, NULL), -1);
	up_write(&h, ok, sizeof(ok) - 1);
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_string_equal(h_body(&h), "ok");

	/* A pooled connection the upstream closes is dropped. */
	close(h.cli);
	for (i = 0; i < 200 && h.ctx.npool == 0; i++)
		h_pump(&h);
	assert_int_equal(h.ctx.npool, 1);
	close(h.up);
	h.up = -1;
	for (i = 0; i < 200 && h.ctx.npool == 1; i++)
		h_pump(&h);
	assert_int_equal(h.ctx.npool, 0);
	h.cli = open("/dev/null", O_RDONLY);
	h_teardown(&h);
}

static void
test_upstream_down(void **state)
{
	struct harness	 h;

	(void)state;
	h_setup(&h, NULL);
	close(h.up_listen);	/* nobody listens there any more */
	h.up_listen = socket(AF_INET, SOCK_STREAM, 0);
	h_sends(&h, "GET /leftpad HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 502);
	assert_true(strncmp(h_body(&h), "{\"error\": \"", 11) == 0);
	h_teardown(&h);
}

/* ---------------------------------------------------- gzip packuments */

/* resp_whole() : a response ending its chunked body (binary-safe). */
static int
resp_whole(const struct harness *h)
{
	return h->resp.p != NULL && memmem(h->resp.p, h->resp.len,
	    "\r\n0\r\n\r\n", 7) != NULL;
}

/* gz() : gzip of n bytes of p into out. */
static void
gz(const char *p, size_t n, struct h_buf *out)
{
	z_stream	 z;
	char		 buf[65536];
	int		 r;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof(buf);
		r = deflate(&z, Z_FINISH);
		h_append(out, buf, sizeof(buf) - z.avail_out);
	} while (r == Z_OK);
	assert_int_equal(r, Z_STREAM_END);
	deflateEnd(&z);
}

/* gunzip() : -1 unless p is one whole gzip stream; its bytes into out. */
static int
gunzip(const char *p, size_t n, struct h_buf *out)
{
	z_stream	 z;
	char		 buf[65536];
	int		 r;

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = (Bytef *)buf;
		z.avail_out = sizeof(buf);
		r = inflate(&z, Z_NO_FLUSH);
		h_append(out, buf, sizeof(buf) - z.avail_out);
	} while (r == Z_OK);
	inflateEnd(&z);
	return r == Z_STREAM_END && z.avail_in == 0 ? 0 : -1;
}

/* big_doc() : a packument of many versions naming origin's tarballs. */
static void
big_doc(const char *origin, int versions, struct h_buf *doc)
{
	char	 v[2048];	/* origin is at most 1023 bytes */
	int	 i;

	h_append(doc, "{\"name\":\"x\",\"versions\":{", 24);
	for (i = 0; i < versions; i++) {
		snprintf(v, sizeof(v), "%s\"1.0.%d\":{\"name\":\"x\",\"version\":"
		    "\"1.0.%d\",\"dist\":{\"tarball\":\"%sx/-/x-1.0.%d.tgz\","
		    "\"shasum\":\"%040d\"}}", i ? "," : "", i, i, origin, i, i);
		h_append(doc, v, strlen(v));
	}
	h_append(doc, "}}", 2);
}

/*
 * gz_exchange() : a GET of /x with the client's extra header lines, the
 * upstream answering with head and body; the request the upstream saw
 * is in h->upreq, the answer in h->resp.
 */
static void
gz_exchange(struct harness *h, const char *req_hdrs, const char *head,
    const struct h_buf *body)
{
	char	 req[512];

	snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: gate.example\r\n"
	    "%s\r\n", req_hdrs);
	h_sends(h, req);
	assert_true(h_run(h, up_head_complete, 5000));
	up_writes(h, head);
	up_write(h, body->p, body->len);
	assert_true(h_run(h, resp_whole, 10000) || h_resp_complete(h));
}

/* The packument's tarball URLs name the gate; it stays gzip end to end. */
static void
test_packument_gzip_rewrite(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 }, body = { 0 }, plain = { 0 };
	char		 head[512], want[256];

	(void)state;
	h_setup(&h, NULL);
	big_doc(h.cfg.up_origin, 3000, &doc);	/* ~400 KB */
	gz(doc.p, doc.len, &zdoc);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/vnd.npm.install-v1+json\r\n"
	    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n"
	    "ETag: \"abc\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
	    "\r\n", zdoc.len);
	gz_exchange(&h, "Accept-Encoding: br, gzip;q=0.9\r\n"
	    "Accept: application/vnd.npm.install-v1+json\r\n", head, &zdoc);
	/* The upstream was asked for gzip, and gzip alone. */
	assert_non_null(strstr(h.upreq.p, "\r\nAccept-Encoding: gzip\r\n"));
	assert_null(strstr(h.upreq.p, "br,"));
	assert_int_equal(h_status(&h), 200);
	assert_non_null(strcasestr(h.resp.p, "\r\nContent-Encoding: gzip\r\n"));
	assert_non_null(strcasestr(h.resp.p, "\r\nTransfer-Encoding: chunked"));
	assert_null(strcasestr(h.resp.p, "\r\nContent-Length:"));
	assert_non_null(strstr(h.resp.p, "\r\nETag: \"abc\"\r\n"));
	assert_non_null(strstr(h.resp.p, "\r\nLast-Modified: Tue, 01 Dec"));
	assert_non_null(strstr(h.resp.p, "\r\nVary: Accept-Encoding\r\n"));
	assert_int_equal(dechunk(h_body(&h), &body), 0);
	assert_int_equal(gunzip(body.p, body.len, &plain), 0);
	assert_true(body.len < plain.len / 4);	/* compressed indeed */
	assert_null(strstr(plain.p, h.cfg.up_origin));
	snprintf(want, sizeof(want), "\"tarball\":\"http://gate.example/x/-/"
	    "x-1.0.2999.tgz\"");
	assert_non_null(strstr(plain.p, want));
	assert_int_equal(plain.len, doc.len - 3000 * (strlen(h.cfg.up_origin) -
	    strlen("http://gate.example/")));
	free(doc.p);
	free(zdoc.p);
	free(body.p);
	free(plain.p);
	h_teardown(&h);
}

/* A client that does not take gzip gets the rewritten document plain. */
static void
test_packument_gzip_to_plain(void **state)
{
	static const char *const accepts[] = { "", "Accept-Encoding: gzip;q=0\r\n",
	    "Accept-Encoding: identity\r\n",
	    "Accept-Encoding: *;q=0.5, gzip;q=0.0\r\n" };
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 }, body = { 0 };
	char		 head[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		h_setup(&h, NULL);
		big_doc(h.cfg.up_origin, 50, &doc);
		gz(doc.p, doc.len, &zdoc);
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
		    zdoc.len);
		gz_exchange(&h, accepts[i], head, &zdoc);
		assert_non_null(strstr(h.upreq.p,
		    "\r\nAccept-Encoding: gzip\r\n"));
		assert_int_equal(h_status(&h), 200);
		assert_null(strcasestr(h.resp.p, "Content-Encoding"));
		assert_int_equal(dechunk(h_body(&h), &body), 0);
		assert_null(strstr(body.p, h.cfg.up_origin));
		assert_non_null(strstr(body.p,
		    "\"tarball\":\"http://gate.example/x/-/x-1.0.49.tgz\""));
		free(doc.p);
		free(zdoc.p);
		free(body.p);
		memset(&doc, 0, sizeof(doc));
		memset(&zdoc, 0, sizeof(zdoc));
		memset(&body, 0, sizeof(body));
		h_teardown(&h);
	}
}

/* Nothing to rewrite and a client that takes gzip: bytes untouched. */
static void
test_packument_gzip_untouched(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 };
	char		 head[512];

	(void)state;
	h_setup(&h, NULL);
	/* The gate's public URL is the upstream's own: no rewrite. */
	assert_true(strlen(h.cfg.up_origin) < sizeof(h.cfg.public_url));
	memcpy(h.cfg.public_url, h.cfg.up_origin, strlen(h.cfg.up_origin) + 1);
	big_doc(h.cfg.up_origin, 50, &doc);
	gz(doc.p, doc.len, &zdoc);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zdoc.len);
	gz_exchange(&h, "Accept-Encoding: gzip\r\n", head, &zdoc);
	assert_int_equal(h_status(&h), 200);
	assert_non_null(strstr(h.resp.p, "\r\nContent-Encoding: gzip\r\n"));
	snprintf(head, sizeof(head), "\r\nContent-Length: %zu\r\n", zdoc.len);
	assert_non_null(strstr(h.resp.p, head));
	assert_int_equal(strlen(h_body(&h)) <= zdoc.len, 1);
	assert_memory_equal(strstr(h.resp.p, "\r\n\r\n") + 4, zdoc.p,
	    zdoc.len);
	free(doc.p);
	free(zdoc.p);
	h_teardown(&h);
}

static void	h_next(struct harness *);

/* A 304 passes with its validators; the conditional reached upstream. */
static void
test_packument_304(void **state)
{
	struct harness	 h;

	(void)state;
	h_setup(&h, NULL);
	h_sends(&h, "GET /x HTTP/1.1\r\nHost: gate.example\r\n"
	    "Accept-Encoding: gzip\r\nIf-None-Match: \"abc\"\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"abc\"\r\n"));
	/* Content-Length of a 304 is the 200's (RFC 9110 8.6): no body. */
	up_writes(&h, "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\n"
	    "Content-Encoding: gzip\r\nContent-Length: 12\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000) ||
	    strstr(h.resp.p ? h.resp.p : "", "\r\n\r\n") != NULL);
	assert_int_equal(h_status(&h), 304);
	assert_non_null(strstr(h.resp.p, "\r\nETag: \"abc\"\r\n"));
	assert_string_equal(h_body(&h), "");
	/* The connections go on: the next answer is not taken as its body. */
	h_next(&h);
	h_sends(&h, "GET /-/a HTTP/1.1\r\nHost: gate.example\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	up_writes(&h, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_string_equal(h_body(&h), "ok");
	h_teardown(&h);
}

/* h_next() : forgets the last exchange, for another on the same conn. */
static void
h_next(struct harness *h)
{
	free(h->resp.p);
	memset(&h->resp, 0, sizeof(h->resp));
	free(h->upreq.p);
	memset(&h->upreq, 0, sizeof(h->upreq));
}

/* pc_whole() : a whole answer, chunked (binary-safe) or by length. */
static int
pc_whole(const struct harness *h)
{
	return resp_whole(h) || h_resp_complete(h);
}

/*
 * pc_get() : a GET of path with extra request lines (takes gzip); the
 * upstream's answer is head (+ zbody when not NULL).  Returns the status
 * the client got, its answer left in h->resp.
 */
static int
pc_get(struct harness *h, const char *path, const char *req_hdrs,
    const char *head, const struct h_buf *zbody)
{
	char	 req[512];

	h_next(h);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: gate.example\r\n"
	    "Accept-Encoding: gzip\r\n%s\r\n", path, req_hdrs);
	h_sends(h, req);
	assert_true(h_run(h, up_head_complete, 5000));
	up_writes(h, head);
	if (zbody != NULL)
		up_write(h, zbody->p, zbody->len);
	assert_true(h_run(h, pc_whole, 10000));
	return h_status(h);
}

/*
 * pc_round() : pc_get() of /x that must be a 200; its body (dechunked
 * when chunked) in body.
 */
static void
pc_round(struct harness *h, const char *req_hdrs, const char *head,
    const struct h_buf *zbody, struct h_buf *body)
{
	assert_int_equal(pc_get(h, "/x", req_hdrs, head, zbody), 200);
	memset(body, 0, sizeof(*body));
	if (strcasestr(h->resp.p, "\r\ntransfer-encoding: chunked") != NULL)
		assert_int_equal(dechunk(h_body(h), body), 0);
	else
		h_append(body, h_body(h), h->resp.len - (size_t)(h_body(h) -
		    h->resp.p));
}

/* pc_cache() : the access log's cache= of the conn's last request. */
static const char *
pc_cache(const struct harness *h)
{
	const struct px_conn	*c = TAILQ_FIRST(&h->ctx.conns);

	assert_non_null(c);
	return c->pc_log != NULL ? c->pc_log : "-";
}

static const char *
pc_ok_head(char *buf, size_t len, const char *etag, const char *extra,
    size_t clen)
{
	snprintf(buf, len, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
	    "ETag: %s\r\n%sContent-Length: %zu\r\n\r\n", etag, extra, clen);
	return buf;
}

/*
 * The packument cache (pcache.c): a rewritten answer is kept with the
 * upstream's ETag; the next request asks If-None-Match and a 304 sends
 * the kept bytes, identical to the first answer; a changed document
 * replaces it; requests with credentials have entries of their own (one
 * per Authorization value); requests with conditionals of their own,
 * other Hosts and answers marked private are never served from it.  A
 * miss (metric and access log) is a packument rewritten with nothing
 * kept for it: a 404 or a tarball at a packument-like path is none.
 */
static void
test_packument_cache(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 }, doc2 = { 0 }, zdoc2 = { 0 };
	struct h_buf	 b1, b2, b3, p1 = { 0 }, p3 = { 0 };
	char		 head[512];
	static const char nm[] = "HTTP/1.1 304 Not Modified\r\n"
	    "ETag: \"v1\"\r\nDate: Fri, 04 Dec 2026 08:00:00 GMT\r\n"
	    "Cache-Control: public, max-age=600\r\n"
	    "Content-Length: 7\r\n\r\n";

	(void)state;
	h_setup(&h, NULL);
	big_doc(h.cfg.up_origin, 2000, &doc);
	gz(doc.p, doc.len, &zdoc);
	big_doc(h.cfg.up_origin, 2001, &doc2);
	gz(doc2.p, doc2.len, &zdoc2);

	/* 0: a 404 and a tarball are no packuments: no miss. */
	assert_int_equal(pc_get(&h, "/x", "", "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: application/json\r\nContent-Length: 21\r\n\r\n"
	    "{\"error\":\"not found\"}", NULL), 404);
	assert_string_equal(pc_cache(&h), "-");
	assert_int_equal(pc_get(&h, "/x.tgz", "", "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\nETag: \"t\"\r\n"
	    "Content-Length: 4\r\n\r\ntgz!", NULL), 200);
	assert_string_equal(pc_cache(&h), "-");
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 0);
	assert_int_equal(h.ctx.m->pcache[PX_PC_STORE], 0);

	/* 1: nothing kept; the answer is rewritten and stored. */
	pc_round(&h, "", pc_ok_head(head, sizeof(head), "\"v1\"",
	    "Date: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
	    "Cache-Control: public, max-age=300\r\n", zdoc.len), &zdoc, &b1);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	assert_int_equal(gunzip(b1.p, b1.len, &p1), 0);
	assert_null(strstr(p1.p, h.cfg.up_origin));
	assert_int_equal(h.ctx.m->pcache[PX_PC_STORE], 1);
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 1);
	assert_string_equal(pc_cache(&h), "miss");

	/* 2: revalidated; a 304 sends the kept answer, byte for byte. */
	pc_round(&h, "", nm, NULL, &b2);
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v1\"\r\n"));
	assert_non_null(strstr(h.resp.p, "\r\nETag: \"v1\"\r\n"));
	assert_non_null(strstr(h.resp.p, "\r\nContent-Encoding: gzip\r\n"));
	assert_non_null(strstr(h.resp.p, "\r\nVary: Accept-Encoding\r\n"));
	/* The 304's fields replace the kept ones (RFC 9111 4.3.4). */
	assert_non_null(strstr(h.resp.p, "\r\nDate: Fri, 04 Dec 2026"));
	assert_null(strstr(h.resp.p, "Tue, 01 Dec"));
	assert_non_null(strstr(h.resp.p, "max-age=600\r\n"));
	assert_null(strstr(h.resp.p, "max-age=300"));
	assert_null(strstr(strstr(h.resp.p, "ETag:") + 1, "ETag:"));
	assert_null(strstr(h.resp.p, "Content-Length: 7\r\n"));
	assert_int_equal(b2.len, b1.len);
	assert_memory_equal(b2.p, b1.p, b1.len);
	assert_int_equal(h.ctx.m->pcache[PX_PC_HIT], 1);
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 1);
	assert_string_equal(pc_cache(&h), "hit");
	free(b2.p);
	/* Kept, but the upstream has no such document now: no miss. */
	assert_int_equal(pc_get(&h, "/x", "", "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	    NULL), 404);
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v1\"\r\n"));
	assert_string_equal(pc_cache(&h), "-");
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 1);

	/* 3: the document changed: the new one goes out and is kept. */
	pc_round(&h, "", pc_ok_head(head, sizeof(head), "\"v2\"", "",
	    zdoc2.len), &zdoc2, &b3);
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v1\"\r\n"));
	assert_int_equal(gunzip(b3.p, b3.len, &p3), 0);
	assert_non_null(strstr(p3.p, "x-1.0.2000.tgz"));
	assert_string_equal(pc_cache(&h), "changed");
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 1);
	pc_round(&h, "", "HTTP/1.1 304 Not Modified\r\n\r\n", NULL, &b2);
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v2\"\r\n"));
	assert_int_equal(b2.len, b3.len);
	assert_memory_equal(b2.p, b3.p, b3.len);
	free(b2.p);

	/*
	 * Credentials: an entry of their own, for the same value only, and
	 * revalidated with it.  A conditional of the client's: never.
	 */
	pc_round(&h, "Authorization: Bearer npm_x\r\n", pc_ok_head(head,
	    sizeof(head), "\"v2\"", "", zdoc2.len), &zdoc2, &b2);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	assert_string_equal(pc_cache(&h), "miss");
	assert_int_equal(h.ctx.m->pcache[PX_PC_MISS], 2);
	free(b2.p);
	pc_round(&h, "Authorization: Bearer npm_y\r\n", pc_ok_head(head,
	    sizeof(head), "\"v2\"", "", zdoc2.len), &zdoc2, &b2);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	free(b2.p);
	pc_round(&h, "Authorization: Bearer npm_x\r\n", "HTTP/1.1 304 Not "
	    "Modified\r\n\r\n", NULL, &b2);
	assert_non_null(strstr(h.upreq.p, "\r\nAuthorization: Bearer npm_x\r\n"));
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v2\"\r\n"));
	assert_int_equal(b2.len, b3.len);
	free(b2.p);
	pc_round(&h, "Authorization: Bearer npm_z\r\n", pc_ok_head(head,
	    sizeof(head), "\"v2\"", "", zdoc2.len), &zdoc2, &b2);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	free(b2.p);
	h_next(&h);
	h_sends(&h, "GET /x HTTP/1.1\r\nHost: gate.example\r\n"
	    "Accept-Encoding: gzip\r\nIf-None-Match: \"v2\"\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"v2\"\r\n"));
	assert_null(strstr(strstr(h.upreq.p, "If-None-Match") + 1,
	    "If-None-Match"));
	up_writes(&h, "HTTP/1.1 304 Not Modified\r\nETag: \"v2\"\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000) ||
	    strstr(h.resp.p ? h.resp.p : "", "\r\n\r\n") != NULL);
	assert_int_equal(h_status(&h), 304);	/* the client's own 304 */

	/* Another Host, another Accept: other entries. */
	h_next(&h);
	h_sends(&h, "GET /x HTTP/1.1\r\nHost: other.example\r\n"
	    "Accept-Encoding: gzip\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	up_writes(&h, pc_ok_head(head, sizeof(head), "\"v2\"", "", zdoc2.len));
	up_write(&h, zdoc2.p, zdoc2.len);
	assert_true(h_run(&h, pc_whole, 10000));
	pc_round(&h, "Accept: application/vnd.npm.install-v1+json\r\n",
	    pc_ok_head(head, sizeof(head), "\"v2\"", "", zdoc2.len), &zdoc2,
	    &b2);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	free(b2.p);

	/* private, no-store, Vary on more, no ETag: not kept. */
	pc_round(&h, "Accept: text/x-private\r\n", pc_ok_head(head,
	    sizeof(head), "\"p\"", "Cache-Control: private, max-age=0\r\n",
	    zdoc2.len), &zdoc2, &b2);
	free(b2.p);
	pc_round(&h, "Accept: text/x-private\r\n", pc_ok_head(head,
	    sizeof(head), "\"p\"", "Vary: Accept, Authorization\r\n",
	    zdoc2.len), &zdoc2, &b2);
	free(b2.p);
	pc_round(&h, "Accept: text/x-private\r\n", pc_ok_head(head,
	    sizeof(head), "\"p\"", "Cache-Control: no-store\r\n",
	    zdoc2.len), &zdoc2, &b2);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	free(b2.p);

	free(b1.p);
	free(b3.p);
	free(p1.p);
	free(p3.p);
	free(doc.p);
	free(zdoc.p);
	free(doc2.p);
	free(zdoc2.p);
	h_teardown(&h);
}

/* The cache's bounds: an answer over entry_max is not kept; max evicts. */
static void
test_packument_cache_bounds(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 }, b;
	char		 head[512], req[128];
	int		 i, n;

	(void)state;
	h_setup(&h, NULL);
	h.cfg.pcache.entry_max = 64 << 10;
	h.cfg.pcache.max_bytes = 1 << 20;
	/* Over entry_max compressed (random-ish names do not shrink). */
	big_doc(h.cfg.up_origin, 6000, &doc);
	gz(doc.p, doc.len, &zdoc);
	assert_true(zdoc.len > (64 << 10));
	pc_round(&h, "", pc_ok_head(head, sizeof(head), "\"big\"", "",
	    zdoc.len), &zdoc, &b);
	free(b.p);
	assert_int_equal(h.ctx.m->pcache[PX_PC_STORE], 0);
	assert_int_equal(h.ctx.m->pcache_bytes, 0);
	free(doc.p);
	free(zdoc.p);
	memset(&doc, 0, sizeof(doc));
	memset(&zdoc, 0, sizeof(zdoc));
	/* Many small ones: the total stays under max, the oldest go. */
	big_doc(h.cfg.up_origin, 300, &doc);
	gz(doc.p, doc.len, &zdoc);
	n = (int)((2 << 20) / zdoc.len) + 2;	/* twice max */
	for (i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "Accept: text/x-%d\r\n", i);
		pc_round(&h, req, pc_ok_head(head, sizeof(head), "\"s\"", "",
		    zdoc.len), &zdoc, &b);
		free(b.p);
		assert_true(h.ctx.m->pcache_bytes <= (1 << 20));
	}
	assert_int_equal(h.ctx.m->pcache[PX_PC_STORE], n);
	assert_true(h.ctx.m->pcache[PX_PC_EVICT] > 0);
	/* The newest is still there, the first is gone. */
	snprintf(req, sizeof(req), "Accept: text/x-%d\r\n", n - 1);
	pc_round(&h, req, "HTTP/1.1 304 Not Modified\r\n"
	    "\r\n", NULL, &b);
	assert_non_null(strstr(h.upreq.p, "\r\nIf-None-Match: \"s\"\r\n"));
	free(b.p);
	pc_round(&h, "Accept: text/x-0\r\n", pc_ok_head(head, sizeof(head),
	    "\"s\"", "", zdoc.len), &zdoc, &b);
	assert_null(strcasestr(h.upreq.p, "If-None-Match"));
	free(b.p);
	free(doc.p);
	free(zdoc.p);
	h_teardown(&h);
}

/* A gzip body cut short, or corrupt, never ends as a whole response. */
static void
test_packument_gzip_truncated(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, zdoc = { 0 };
	char		 head[512];
	int		 corrupt;

	(void)state;
	for (corrupt = 0; corrupt < 2; corrupt++) {
		h_setup(&h, NULL);
		big_doc(h.cfg.up_origin, 200, &doc);
		gz(doc.p, doc.len, &zdoc);
		if (corrupt)
			memset(zdoc.p + zdoc.len / 2, 0x55, 64);
		else
			zdoc.len -= 20;	/* the end of the stream is missing */
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
		    zdoc.len);
		h_sends(&h, "GET /x HTTP/1.1\r\nHost: g\r\n"
		    "Accept-Encoding: gzip\r\n\r\n");
		assert_true(h_run(&h, up_head_complete, 5000));
		up_writes(&h, head);
		up_write(&h, zdoc.p, zdoc.len);
		h_run(&h, resp_whole, 3000);
		assert_true(h.cli_eof);
		assert_false(resp_whole(&h));
		free(doc.p);
		free(zdoc.p);
		memset(&doc, 0, sizeof(doc));
		memset(&zdoc, 0, sizeof(zdoc));
		h_teardown(&h);
	}
}

/*
 * up_pieces() : writes n bytes to the upstream socket in random pieces of
 * 1 to 8 KiB, the gate running between them; chunked: each piece is one
 * chunk, and the last chunk follows.
 */
static void
up_pieces(struct harness *h, const char *p, size_t n, int chunked,
    unsigned *seed)
{
	char	 line[32];
	size_t	 off = 0, k;

	while (off < n) {
		k = (size_t)rand_r(seed) % 8192 + 1;
		if (k > n - off)
			k = n - off;
		if (chunked) {
			snprintf(line, sizeof(line), "%zx\r\n", k);
			up_writes(h, line);
		}
		up_write(h, p + off, k);
		if (chunked)
			up_writes(h, "\r\n");
		off += k;
		h_pump(h);
	}
	if (chunked)
		up_writes(h, "0\r\n\r\n");
}

/*
 * A several-MB packument, gzip from the upstream in two members, framed by
 * Content-Length and then chunked, arriving in random pieces: the client
 * gets one gzip stream that zlib inflates to exactly the rewritten
 * document (every tarball URL naming the gate, nothing else changed), and
 * a re-compressed size near zlib level 6's.
 */
static void
test_packument_gzip_large(void **state)
{
	struct harness	 h;
	struct h_buf	 doc = { 0 }, want = { 0 }, zdoc = { 0 }, body = { 0 },
			 plain = { 0 };
	char		 head[512];
	size_t		 half;
	unsigned	 seed;
	int		 chunked;

	(void)state;
	for (chunked = 0; chunked < 2; chunked++) {
		seed = 9 + (unsigned)chunked;
		h_setup(&h, NULL);
		big_doc(h.cfg.up_origin, 30000, &doc);	/* ~4 MB */
		big_doc("http://gate.example/", 30000, &want);
		half = doc.len / 2;
		gz(doc.p, half, &zdoc);
		gz(doc.p + half, doc.len - half, &zdoc);
		if (chunked)
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Encoding: gzip\r\n"
			    "Transfer-Encoding: chunked\r\n\r\n");
		else
			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Encoding: gzip\r\n"
			    "Content-Length: %zu\r\n\r\n", zdoc.len);
		h_sends(&h, "GET /x HTTP/1.1\r\nHost: gate.example\r\n"
		    "Accept-Encoding: gzip\r\n\r\n");
		assert_true(h_run(&h, up_head_complete, 5000));
		up_writes(&h, head);
		up_pieces(&h, zdoc.p, zdoc.len, chunked, &seed);
		assert_true(h_run(&h, resp_whole, 30000));
		assert_int_equal(h_status(&h), 200);
		assert_non_null(strcasestr(h.resp.p,
		    "\r\nContent-Encoding: gzip\r\n"));
		assert_int_equal(dechunk(h_body(&h), &body), 0);
		assert_int_equal(gunzip(body.p, body.len, &plain), 0);
		assert_int_equal(plain.len, want.len);
		assert_memory_equal(plain.p, want.p, want.len);
		/* Within 15 % of zlib 6's size (two members cost a little). */
		assert_true(body.len < zdoc.len * 115 / 100);
		free(doc.p);
		free(want.p);
		free(zdoc.p);
		free(body.p);
		free(plain.p);
		memset(&doc, 0, sizeof(doc));
		memset(&want, 0, sizeof(want));
		memset(&zdoc, 0, sizeof(zdoc));
		memset(&body, 0, sizeof(body));
		memset(&plain, 0, sizeof(plain));
		h_teardown(&h);
	}
}

/*
 * A gzip bomb (16 MiB of spaces in ~16 KiB) to a client that reads
 * nothing: the gate holds a bounded amount, then all of it arrives.
 */
static void
test_packument_gzip_bounded(void **state)
{
	struct harness	 h;
	struct h_buf	 zdoc = { 0 };
	struct px_conn	*conn;
	char		*zeros, head[512], buf[65536];
	size_t		 n = 16u << 20, off = 0, held, max_held = 0, got = 0;
	char		 tail[8] = { 0 };
	uint64_t	 t0;
	ssize_t		 r;

	(void)state;
	h_setup(&h, NULL);
	zeros = calloc(1, n);
	assert_non_null(zeros);
	memcpy(zeros, "[\"", 2);
	memset(zeros + 2, ' ', n - 4);
	memcpy(zeros + n - 2, "\"]", 2);
	gz(zeros, n, &zdoc);
	free(zeros);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zdoc.len);
	h_sends(&h, "GET /x HTTP/1.1\r\nHost: g\r\n\r\n");	/* plain */
	assert_true(h_run(&h, up_head_complete, 5000));
	up_writes(&h, head);
	/* Feed the whole bomb while the client reads nothing. */
	while (off < zdoc.len) {
		r = write(h.up, zdoc.p + off, zdoc.len - off);
		if (r > 0)
			off += (size_t)r;
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
	}
	t0 = px_now_ms();
	while (px_now_ms() - t0 < 1000)
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
	conn = TAILQ_FIRST(&h.ctx.conns);
	assert_non_null(conn);
	held = evbuffer_get_length(bufferevent_get_output(conn->client)) +
	    (conn->rw_buf ? evbuffer_get_length(conn->rw_buf) : 0);
	if (held > max_held)
		max_held = held;
	/* 1 MiB high water, plus at most one step's inflation. */
	assert_true(max_held < PX_RELAY_HIGH + PX_GZ_FEED * 1100);
	/* Now read: all of it comes, chunked, plain. */
	t0 = px_now_ms();
	while (px_now_ms() - t0 < 60000) {
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
		while ((r = read(h.cli, buf, sizeof(buf))) > 0) {
			got += (size_t)r;
			if (h.resp.len < 4096)
				h_append(&h.resp, buf, (size_t)r);
			if (r >= 7)
				memcpy(tail, buf + r - 7, 7);
			else {
				memmove(tail, tail + r, (size_t)(7 - r));
				memcpy(tail + 7 - r, buf, (size_t)r);
			}
		}
		if (memcmp(tail, "\r\n0\r\n\r\n", 7) == 0)
			break;
	}
	assert_true(got > n);	/* the body plus the chunk framing */
	assert_null(strcasestr(h.resp.p, "Content-Encoding"));
	free(zdoc.p);
	h_teardown(&h);
}

/* pattern() : byte i of a body that no shift or repeat of 4 KiB matches. */
static unsigned char
pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13 ^ (i >> 12));
}

/*
 * A 1 MiB Content-Length body from a plain upstream reaches the client
 * byte for byte, the upstream writing as fast as it can (so io.c's reads
 * take big, split reservations).
 */
static void
test_big_body_intact(void **state)
{
	struct harness	 h;
	unsigned char	*body;
	const char	*b;
	size_t		 n = 1024 * 1024 + 13, i, off = 0;
	ssize_t		 w;
	uint64_t	 t0;

	(void)state;
	h_setup(&h, NULL);
	body = malloc(n);
	assert_non_null(body);
	for (i = 0; i < n; i++)
		body[i] = pattern(i);
	h_sends(&h, "GET /big.tgz HTTP/1.1\r\nHost: g\r\n\r\n");
	assert_true(h_run(&h, up_head_complete, 5000));
	up_writes(&h, "HTTP/1.1 200 OK\r\nContent-Length: 1048589\r\n\r\n");
	t0 = px_now_ms();
	while (off < n && px_now_ms() - t0 < 20000) {
		w = write(h.up, body + off, n - off);
		if (w > 0)
			off += (size_t)w;
		h_pump(&h);
	}
	assert_true(h_run(&h, h_resp_complete, 20000));
	b = h_body(&h);
	assert_int_equal(h.resp.len - (size_t)(b - h.resp.p), n);
	assert_memory_equal(b, body, n);
	free(body);
	h_teardown(&h);
}

static size_t	fill_first, fill_got;

static void
fill_readcb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (fill_first == 0) {
		fill_first = evbuffer_get_length(bufferevent_get_input(bev));
		fill_got = px_io_fill(bev, PX_FILL_CAP);
	}
}

/*
 * px_io_fill() : libevent's first read of a busy socket is 4 KiB; one fill
 * in the read callback takes the input to the cap (in order), and libevent
 * still reads the rest and reports the end afterwards.
 */
static void
test_io_fill(void **state)
{
	struct event_base	*base;
	struct bufferevent	*bev;
	struct evbuffer		*in;
	unsigned char		*data, *got;
	size_t			 n = 200 * 1024, i, len;
	int			 sv[2];
	uint64_t		 t0;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	i = 1024 * 1024;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &i, sizeof(int));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &i, sizeof(int));
	data = malloc(n);
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = pattern(i);
	assert_int_equal(write(sv[1], data, n), (ssize_t)n);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	bev = bufferevent_socket_new(base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	bufferevent_setwatermark(bev, EV_READ, 0, PX_HIGH_WATER);
	bufferevent_setcb(bev, fill_readcb, NULL, NULL, NULL);
	bufferevent_enable(bev, EV_READ);
	fill_first = fill_got = 0;
	event_base_loop(base, EVLOOP_ONCE);
	in = bufferevent_get_input(bev);
	assert_int_equal(fill_first, 4096);
	assert_int_equal(fill_got, PX_FILL_CAP - 4096);
	assert_int_equal(evbuffer_get_length(in), PX_FILL_CAP);
	/* libevent goes on reading: all of it arrives, then the end. */
	close(sv[1]);
	t0 = px_now_ms();
	while (evbuffer_get_length(in) < n && px_now_ms() - t0 < 5000)
		event_base_loop(base, EVLOOP_NONBLOCK);
	len = evbuffer_get_length(in);
	assert_int_equal(len, n);
	got = evbuffer_pullup(in, -1);
	assert_memory_equal(got, data, n);
	evbuffer_drain(in, len);
	assert_int_equal(px_io_fill(bev, PX_FILL_CAP), 0);	/* < 4 KiB */
	bufferevent_free(bev);
	event_base_free(base);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_passthrough),
		cmocka_unit_test(test_request_body_reframed),
		cmocka_unit_test(test_slow_client_backpressure),
		cmocka_unit_test(test_packument_rewrite),
		cmocka_unit_test(test_packument_gzip_rewrite),
		cmocka_unit_test(test_packument_gzip_to_plain),
		cmocka_unit_test(test_packument_gzip_untouched),
		cmocka_unit_test(test_packument_304),
		cmocka_unit_test(test_packument_cache),
		cmocka_unit_test(test_packument_cache_bounds),
		cmocka_unit_test(test_packument_gzip_truncated),
		cmocka_unit_test(test_packument_gzip_large),
		cmocka_unit_test(test_packument_gzip_bounded),
		cmocka_unit_test(test_upstream_pool),
		cmocka_unit_test(test_upstream_down),
		cmocka_unit_test(test_big_body_intact),
		cmocka_unit_test(test_io_fill),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
