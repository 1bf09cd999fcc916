/*
 * tests/unit/proxy/test_http.c: request heads through a real connection
 * (conn.c + http.c): caps answered 431, malformed input 400, a body over
 * the limit 413, all with a JSON error body and nothing sent upstream;
 * the route of registry paths (px_conn_classify) and the hop-by-hop rule.
 */
#include "px_harness.h"

static int
no_upstream_connection(struct harness *h)
{
	int	 fd = accept(h->up_listen, NULL, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return h->up == -1;
}

/* expect_error() : sends req, expects status with a JSON error body. */
static void
expect_error(const char *req, size_t header_bytes, size_t headers,
    uint64_t body, int status)
{
	struct harness	 h;

	h_setup(&h, NULL);
	if (header_bytes)
		h.cfg.header_bytes = header_bytes;
	if (headers)
		h.cfg.headers = headers;
	if (body)
		h.cfg.body = body;
	/* Caps are read per connection: make a fresh one with them. */
	px_ctx_free(&h.ctx);
	close(h.cli);
	{
		int sv[2];

		assert_int_equal(px_ctx_init(&h.ctx, &h.cfg, NULL, 0), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		h.cli = sv[1];
		fcntl(h.cli, F_SETFL, O_NONBLOCK);
		assert_non_null(px_conn_new(&h.ctx, sv[0], NULL, 0, NULL));
	}
	h_send(&h, req, strlen(req));
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), status);
	assert_non_null(strcasestr(h.resp.p, "content-type: application/json"));
	assert_true(strncmp(h_body(&h), "{\"error\": \"", 11) == 0);
	assert_true(no_upstream_connection(&h));
	h_teardown(&h);
}

static void
test_head_too_large(void **state)
{
	char	 req[8192];
	char	 big[4000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: a\r\n"
	    "X-Big: %s\r\n\r\n", big);
	expect_error(req, 2048, 0, 0, 431);
}

static void
test_too_many_headers(void **state)
{
	char	 req[8192];
	size_t	 off;
	int	 i;

	(void)state;
	off = (size_t)snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\n");
	for (i = 0; i < 20; i++)
		off += (size_t)snprintf(req + off, sizeof(req) - off,
		    "X-H%d: v\r\n", i);
	snprintf(req + off, sizeof(req) - off, "\r\n");
	expect_error(req, 0, 10, 0, 431);
}

static void
test_malformed(void **state)
{
	(void)state;
	expect_error("GET /x HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n",
	    0, 0, 0, 400);
	expect_error("GET /x HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, 0, 0, 400);
	expect_error("GET x HTTP/1.1\r\n\r\n", 0, 0, 0, 400);
	/* A write whose path could be normalised into another one. */
	expect_error("PUT /a/../b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
	    0, 0, 0, 400);
}

static void
test_body_too_large(void **state)
{
	(void)state;
	expect_error("POST /-/npm/v1/security/audits HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5000\r\n\r\n", 0, 0, 4096, 413);
	expect_error("PUT /leftpad HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5000\r\n\r\n", 0, 0, 4096, 413);
}

static void
test_classify(void **state)
{
	static const struct {
		int		 method;
		const char	*path;
		int		 route;
		const char	*name;
		const char	*kind;
	} c[] = {
		{ HTTP_GET, "/leftpad", PX_ROUTE_READ, "", "read" },
		{ HTTP_GET, "/-", PX_ROUTE_READ, "", "read" },
		{ HTTP_PUT, "/leftpad", PX_ROUTE_PUBLISH, "leftpad", "publish" },
		{ HTTP_PUT, "/@acme%2fx", PX_ROUTE_PUBLISH, "@acme/x", "publish" },
		{ HTTP_PUT, "/@acme%2Fx", PX_ROUTE_PUBLISH, "@acme/x", "publish" },
		{ HTTP_PUT, "/@acme/x", PX_ROUTE_PUBLISH, "@acme/x", "publish" },
		{ HTTP_PUT, "/%40acme%2fx", PX_ROUTE_PUBLISH, "@acme/x",
		    "publish" },
		/* A -rev PUT can carry a publish: the engine reads it. */
		{ HTTP_PUT, "/leftpad/-rev/3-abc", PX_ROUTE_PUBLISH, "leftpad",
		    "publish-rev" },
		{ HTTP_PUT, "/@acme/x/-rev/3-abc", PX_ROUTE_PUBLISH, "@acme/x",
		    "publish-rev" },
		{ HTTP_DELETE, "/leftpad/-rev/3-abc", PX_ROUTE_WRITE, "leftpad",
		    "unpublish" },
		{ HTTP_DELETE, "/leftpad/-/leftpad-1.0.0.tgz/-rev/4-a",
		    PX_ROUTE_WRITE, "leftpad", "unpublish" },
		{ HTTP_DELETE, "/@acme/x/-/@acme/x-1.0.0.tgz/-rev/4-a",
		    PX_ROUTE_WRITE, "@acme/x", "unpublish" },
		{ HTTP_DELETE, "/@acme/x/-/x-1.0.0.tgz/-rev/4-a",
		    PX_ROUTE_WRITE, "@acme/x", "unpublish" },
		{ HTTP_POST, "/-/stage/package/@acme%2fx", PX_ROUTE_STAGE,
		    "@acme/x", "stage-publish" },
		{ HTTP_POST, "/-/stage/package/@acme/x", PX_ROUTE_STAGE,
		    "@acme/x", "stage-publish" },
		{ HTTP_PUT, "/-/package/@acme%2fx/dist-tags/beta",
		    PX_ROUTE_WRITE, "@acme/x", "dist-tag" },
		{ HTTP_DELETE, "/-/package/leftpad/dist-tags/beta",
		    PX_ROUTE_WRITE, "leftpad", "dist-tag" },
		{ HTTP_POST, "/-/package/leftpad/access", PX_ROUTE_WRITE,
		    "leftpad", "access" },
		{ HTTP_PUT, "/-/user/org.couchdb.user:bob", PX_ROUTE_ACCOUNT,
		    "", "login" },
		{ HTTP_DELETE, "/-/user/token/abc", PX_ROUTE_ACCOUNT, "",
		    "logout" },
		{ HTTP_POST, "/-/npm/v1/tokens", PX_ROUTE_ACCOUNT, "", "token" },
		{ HTTP_POST, "/-/npm/v1/security/audits/quick", PX_ROUTE_READ,
		    "", "audit" },
		/* The registry's API prefix is never a package. */
		{ HTTP_PUT, "/-", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/-/", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/-/-rev/x", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/%2d", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_POST, "/-/whatever", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_POST, "/leftpad", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_DELETE, "/leftpad", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/leftpad/", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/leftpad/-REV/1", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/-/package/x/dist-tags", PX_ROUTE_REFUSED, "", "" },
		/* npm's naming rules. */
		{ HTTP_PUT, "/.hidden", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/_under", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/@acme/.x", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/@acme%2f..", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/a%3cb", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/a%2fb", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/node_modules", PX_ROUTE_REFUSED_NAME, "", "" },
		{ HTTP_PUT, "/-/package/.x/dist-tags/a", PX_ROUTE_REFUSED_NAME,
		    "", "" },
		{ HTTP_PUT, "/a/b", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/leftpad/../x", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/leftpad/%2e%2e/x", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "//leftpad", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PUT, "/@acme/x/y", PX_ROUTE_REFUSED, "", "" },
		{ HTTP_PATCH, "/leftpad", PX_ROUTE_REFUSED_METHOD, "", "" },
		{ HTTP_PROPFIND, "/leftpad", PX_ROUTE_REFUSED_METHOD, "", "" },
	};
	char		 name[PX_NAME_MAX + 2];
	const char	*kind;
	size_t		 i;
	int		 r;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		r = px_route_classify(c[i].method, c[i].path, strlen(c[i].path),
		    name, sizeof(name), &kind);
		if (r != c[i].route)
			fail_msg("%s: route %d, want %d", c[i].path, r,
			    c[i].route);
		if (r < 0)
			continue;
		assert_string_equal(name, c[i].name);
		assert_string_equal(kind, c[i].kind);
	}
}

static void
test_name_ok(void **state)
{
	char	 n[300];

	(void)state;
	memset(n, 0, sizeof(n));
	assert_true(px_route_name_ok("leftpad", 7));
	assert_true(px_route_name_ok("@acme/x.y-z_w", 13));
	assert_true(px_route_name_ok("JSONStream", 10));	/* legacy caps */
	assert_false(px_route_name_ok("-", 1));
	assert_false(px_route_name_ok("@acme/", 6));
	assert_false(px_route_name_ok("@/x", 3));
	assert_false(px_route_name_ok("a b", 3));
	memset(n, 'a', 214);
	assert_true(px_route_name_ok(n, 214));
	n[214] = 'a';
	assert_false(px_route_name_ok(n, 215));
}

static void
test_json_type(void **state)
{
	static const char *const ok[] = {
		"application/json", "Application/JSON",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"application/json; charset=\"utf-8\"",
	};
	static const char *const bad[] = {
		"application/json; charset=utf-7",
		"application/json; charset=\"utf-7\"",
		"application/json; charset=utf-7-imap",
		"application/json; charset=utf-16le",
		"application/json; charset=utf-8; charset=utf-7",
		"application/json; foo=bar", "text/plain",
		"application/jsonx", "application/vnd.npm+json", "",
		"application/json; charset=\"utf-8",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!px_route_json_type(ok[i], strlen(ok[i])))
			fail_msg("refused: %s", ok[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (px_route_json_type(bad[i], strlen(bad[i])))
			fail_msg("accepted: %s", bad[i]);
}

static void
test_hop_by_hop(void **state)
{
	struct px_head	 h;
	static const char *const f[][2] = {
		{ "Connection", "keep-alive, X-Secret-Hop" },
		{ "X-Secret-Hop", "1" },
		{ "Keep-Alive", "timeout=5" },
		{ "Authorization", "Bearer t" },
		{ "TE", "trailers" },
		{ "npm-otp", "123456" },
	};
	static const int hop[] = { 1, 1, 1, 0, 1, 0 };
	size_t		 i, n;
	const char	*v;

	(void)state;
	px_http_head_init(&h, 4096, 16);
	for (i = 0; i < 6; i++) {
		/* Split spans, as llhttp may deliver them. */
		assert_int_equal(px_http_head_field(&h, f[i][0], 1), 0);
		assert_int_equal(px_http_head_field(&h, f[i][0] + 1,
		    strlen(f[i][0]) - 1), 0);
		assert_int_equal(px_http_head_value(&h, f[i][1],
		    strlen(f[i][1])), 0);
	}
	assert_int_equal(h.nhdrs, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(px_http_hop_by_hop(&h, i), hop[i]);
	v = px_http_head_get(&h, "NPM-OTP", &n);
	assert_non_null(v);
	assert_int_equal(n, 6);
	assert_memory_equal(v, "123456", 6);
	px_http_head_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_json_type),
		cmocka_unit_test(test_hop_by_hop),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
