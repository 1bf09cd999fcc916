/*
 * tests/unit/proxy/test_admin.c: the admin API (admin.c) on a real
 * connection: health without a token, metrics and decisions refused
 * without the bearer token and served with it, unknown paths 404; the
 * admin listener never forwards anything upstream.  Parameters are
 * validated (400 with a JSON error naming the parameter; 401 carries
 * WWW-Authenticate).  The console (ui.c): no session redirects to the
 * login form, the login needs its CSRF token and the token, the session
 * cookie is HttpOnly and SameSite=Strict, a POST without the session's
 * CSRF token is 403, and a hostile package name comes out escaped.
 */
#include "px_harness.h"
#include "admin.h"
#include "store.h"

/* admin_conn() : the harness, with its client conn on the admin side. */
static void
admin_conn(struct harness *h, const char *token)
{
	h_setup(h, NULL);
	TAILQ_FIRST(&h->ctx.conns)->admin = 1;
	if (token != NULL)
		snprintf(h->ctx.admin_token, sizeof(h->ctx.admin_token), "%s",
		    token);
}

static void
reset_resp(struct harness *h)
{
	free(h->resp.p);
	memset(&h->resp, 0, sizeof(h->resp));
}

static void
test_health_and_auth(void **state)
{
	struct harness	 h;

	(void)state;
	admin_conn(&h, "0123456789abcdef0123");
	h_sends(&h, "GET /-/pubgate/health HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_non_null(strstr(h_body(&h), "\"status\": \"ok\""));

	reset_resp(&h);
	h_sends(&h, "GET /-/pubgate/metrics HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 401);

	reset_resp(&h);
	h_sends(&h, "GET /-/pubgate/metrics HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer 0123456789abcdef0123\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 200);
	assert_non_null(strstr(h_body(&h), "pubgate_requests_total{kind="));
	assert_non_null(strstr(h_body(&h),
	    "pubgate_inspection_seconds_bucket{le=\"+Inf\"}"));

	reset_resp(&h);
	h_sends(&h, "GET /leftpad HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 404);
	assert_int_equal(accept(h.up_listen, NULL, NULL), -1);
	assert_int_equal(h.up, -1);
	h_teardown(&h);
}


#define TOKEN	"0123456789abcdef0123"
#define AUTH	"Authorization: Bearer " TOKEN "\r\n"

/* get() : one request on the admin conn; returns the status. */
static int
get(struct harness *h, const char *req)
{
	reset_resp(h);
	h_sends(h, req);
	assert_true(h_run(h, h_resp_complete, 5000));
	return h_status(h);
}

/* expect400() : GET path (with the token) is 400 naming what. */
static void
expect400(struct harness *h, const char *path, const char *what)
{
	char	 req[600];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a\r\n" AUTH
	    "\r\n", path);
	if (get(h, req) != 400)
		fail_msg("%s: status %d, want 400", path, h_status(h));
	assert_non_null(strstr(h->resp.p, "Content-Type: application/json"));
	if (strstr(h_body(h), "{\"error\": \"admin API: ") == NULL ||
	    strstr(h_body(h), what) == NULL)
		fail_msg("%s: body %s lacks %s", path, h_body(h), what);
}

static void
test_validation(void **state)
{
	struct harness	 h;

	(void)state;
	admin_conn(&h, TOKEN);
	/* 401 with a challenge; invalid_token when a wrong one was sent. */
	assert_int_equal(get(&h, "GET /-/pubgate/decisions HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), 401);
	assert_non_null(strstr(h.resp.p, "\r\nWWW-Authenticate: Bearer "
	    "realm=\"pubgate admin\"\r\n"));
	assert_non_null(strstr(h_body(&h), "{\"error\": "));
	assert_int_equal(get(&h, "GET /-/pubgate/decisions HTTP/1.1\r\n"
	    "Host: a\r\nAuthorization: Bearer 0123456789abcdef0124\r\n\r\n"),
	    401);
	assert_non_null(strstr(h.resp.p, "error=\"invalid_token\""));
	/* Unauthenticated bad parameters are still 401, not 400. */
	assert_int_equal(get(&h, "GET /-/pubgate/decisions?bogus=1 HTTP/1.1"
	    "\r\nHost: a\r\n\r\n"), 401);
	assert_int_equal(get(&h, "GET /-/pubgate/metrics?x=1 HTTP/1.1"
	    "\r\nHost: a\r\n\r\n"), 401);

	expect400(&h, "/-/pubgate/decisions?bogus=1", "unknown parameter "
	    "'bogus'");
	expect400(&h, "/-/pubgate/decisions?blocked=1&Limit=3",
	    "unknown parameter 'Limit'");
	expect400(&h, "/-/pubgate/decisions?since=yesterday", "bad since "
	    "'yesterday'");
	expect400(&h, "/-/pubgate/decisions?since=-5", "bad since");
	expect400(&h, "/-/pubgate/decisions?since=2026-13-45", "bad since");
	expect400(&h, "/-/pubgate/decisions?limit=0", "bad limit '0'");
	expect400(&h, "/-/pubgate/decisions?limit=10001", "bad limit");
	expect400(&h, "/-/pubgate/decisions?limit=ten", "bad limit 'ten'");
	expect400(&h, "/-/pubgate/decisions?limit=5%00", "malformed");
	expect400(&h, "/-/pubgate/decisions?limit=5&limit=6", "given twice");
	expect400(&h, "/-/pubgate/decisions?blocked=yes", "bad blocked");
	expect400(&h, "/-/pubgate/decisions?scope=@a/b", "bad scope");
	expect400(&h, "/-/pubgate/decisions?package=%zz", "malformed");
	expect400(&h, "/-/pubgate/decisions?id=<x>", "bad id");
	/* user is the console's filter, not the API's. */
	expect400(&h, "/-/pubgate/decisions?user=ab", "unknown parameter "
	    "'user'");
	expect400(&h, "/-/pubgate/metrics?format=json", "takes none");
	expect400(&h, "/-/pubgate/health?x", "unknown parameter 'x'");
	/* A hostile name is escaped in the JSON error. */
	expect400(&h, "/-/pubgate/decisions?%22%5C=1",
	    "unknown parameter '\\\"\\\\'");
	/* 405 says what is allowed. */
	assert_int_equal(get(&h, "DELETE /-/pubgate/decisions HTTP/1.1\r\n"
	    "Host: a\r\n" AUTH "\r\n"), 405);
	assert_non_null(strstr(h.resp.p, "\r\nAllow: GET, HEAD\r\n"));
	h_teardown(&h);
}

/* The parser alone: what each good value means. */
static void
test_parse_dq(void **state)
{
	struct px_admin_dq	 dq;
	char			 err[300];
	const char		*q;

	(void)state;
	q = "blocked=true&since=1700000000000&package=%40acme%2F*&scope=acme"
	    "&limit=7&id=0badcafe-12";
	assert_int_equal(px_admin_parse_dq(q, strlen(q), 0, 0, &dq, err,
	    sizeof(err)), 0);
	assert_int_equal(dq.q.blocked_only, 1);
	assert_int_equal(dq.q.since_ms, 1700000000000LL);
	assert_string_equal(dq.q.package_glob, "@acme/*");
	assert_string_equal(dq.q.scope, "@acme");
	assert_int_equal(dq.q.limit, 7);
	assert_string_equal(dq.q.request_id, "0badcafe-12");
	q = "since=2h&blocked=0&package=&scope=";
	assert_int_equal(px_admin_parse_dq(q, strlen(q), 0, 10000000, &dq,
	    err, sizeof(err)), 0);
	assert_int_equal(dq.q.since_ms, 10000000 - 2 * 3600 * 1000);
	assert_int_equal(dq.q.blocked_only, 0);
	assert_null(dq.q.package_glob);
	assert_null(dq.q.scope);
	q = "since=2026-12-01T10:00:00Z";
	assert_int_equal(px_admin_parse_dq(q, strlen(q), 0, 0, &dq, err,
	    sizeof(err)), 0);
	assert_int_equal(dq.q.since_ms, 1796119200000LL);
	q = "user=sha256:ab12";
	assert_int_equal(px_admin_parse_dq(q, strlen(q), 1, 0, &dq, err,
	    sizeof(err)), 0);
	assert_string_equal(dq.user, "sha256:ab12");
	assert_int_equal(px_admin_parse_dq(q, strlen(q), 0, 0, &dq, err,
	    sizeof(err)), -1);
}

/* hdr() : copies the value of the first "name: " header into out. */
static int
hdr(const struct harness *h, const char *name, char *out, size_t len)
{
	const char	*p, *e;
	char		 pat[64];

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	if ((p = strstr(h->resp.p, pat)) == NULL)
		return 0;
	p += strlen(pat);
	e = strstr(p, "\r\n");
	snprintf(out, len, "%.*s", (int)(e - p), p);
	return 1;
}

/* cookie_val() : "name=value" of a Set-Cookie value (up to ';'). */
static void
cookie_val(const char *sc, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)strcspn(sc, ";"), sc);
}

/* hidden() : the value of the first hidden csrf field of the page. */
static void
hidden(const struct harness *h, char *out, size_t len)
{
	const char	*p = strstr(h_body(h), "name=\"csrf\" value=\"");

	assert_non_null(p);
	p += 19;
	snprintf(out, len, "%.*s", (int)strcspn(p, "\""), p);
}

static void
test_console(void **state)
{
	struct harness		 h;
	struct px_store_rec	 rec;
	char			 dir[] = "/tmp/pgconsoleXXXXXX", db[300],
				 err[256], sc[300], pre[100], sess[100],
				 csrf[64], req[1200];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/p.db", dir);
	admin_conn(&h, TOKEN);
	h.ctx.audit = px_store_open_loop(db, h.ctx.base, NULL, err,
	    sizeof(err));
	assert_non_null(h.ctx.audit);
	memset(&rec, 0, sizeof(rec));
	rec.time_ms = 1796119200000LL;
	rec.request_id = "0000abcd-7";
	rec.client = "10.1.2.3:4000";
	rec.who = "sha256:0123456789abcdef";
	rec.npm_command = "publish";
	rec.user_agent = "<img src=x onerror=alert(1)>";
	rec.kind = "dist-tag";
	rec.package = "<script>alert(1)</script>";
	rec.version = "1.0.0\"'&";
	rec.verdict = POL_DENY;
	rec.status = 403;
	assert_int_equal(px_store_write(h.ctx.audit, &rec), 0);

	/* No session: pages redirect to the login form, forms are 403. */
	assert_int_equal(get(&h, "GET /-/pubgate/ui/ HTTP/1.1\r\nHost: a\r\n"
	    "\r\n"), 303);
	assert_non_null(strstr(h.resp.p, "\r\nLocation: /-/pubgate/ui/login"
	    "\r\n"));
	/* The API's bearer token is not a console session. */
	assert_int_equal(get(&h, "GET /-/pubgate/ui/policy HTTP/1.1\r\n"
	    "Host: a\r\n" AUTH "\r\n"), 303);
	assert_int_equal(get(&h, "POST /-/pubgate/ui/logout HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 0\r\n\r\n"), 403);
	assert_int_equal(get(&h, "GET /-/pubgate/ui/style.css HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), 200);

	/* The login form sets its pre-login cookie and CSRF field. */
	assert_int_equal(get(&h, "GET /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), 200);
	assert_non_null(strstr(h.resp.p, "Content-Security-Policy: "
	    "default-src 'none'"));
	assert_true(hdr(&h, "Set-Cookie", sc, sizeof(sc)));
	assert_non_null(strstr(sc, "HttpOnly"));
	assert_non_null(strstr(sc, "SameSite=Strict"));
	cookie_val(sc, pre, sizeof(pre));
	hidden(&h, csrf, sizeof(csrf));
	assert_int_equal(strlen(csrf), 32);

	/* Without the CSRF field, or with another, the login is refused. */
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\ntoken=%s",
	    pre, strlen("token=" TOKEN), TOKEN);
	assert_int_equal(get(&h, req), 403);
	assert_false(hdr(&h, "Set-Cookie", sc, sizeof(sc)));
	/* A wrong token: 401 and the form again. */
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n"
	    "csrf=%s&token=nope", pre, strlen("csrf=&token=nope") + 32, csrf);
	assert_int_equal(get(&h, req), 401);
	assert_null(strstr(h.resp.p, "pubgate_session="));
	/* The right token: a session cookie and a redirect to the list. */
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n"
	    "csrf=%s&token=%s", pre, strlen("csrf=&token=" TOKEN) + 32, csrf,
	    TOKEN);
	assert_int_equal(get(&h, req), 303);
	assert_true(hdr(&h, "Set-Cookie", sc, sizeof(sc)));
	assert_int_equal(strncmp(sc, "pubgate_session=", 16), 0);
	assert_non_null(strstr(sc, "; HttpOnly; SameSite=Strict; "
	    "Max-Age=28800"));
	cookie_val(sc, sess, sizeof(sess));
	assert_int_equal(strlen(sess), 16 + 32);
	assert_null(strstr(h.resp.p, TOKEN));

	/* The list, filtered to blocked: the hostile strings escaped. */
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/?blocked=1&user=0123"
	    "&since=&package=&scope=&limit= HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: x=y; %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 200);
	assert_non_null(strstr(h_body(&h), "&lt;script&gt;alert(1)"
	    "&lt;/script&gt;@1.0.0&quot;&#39;&amp;"));
	assert_null(strstr(h_body(&h), "<script>"));
	assert_non_null(strstr(h_body(&h), "1 decision shown"));
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/?user=ffff HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 200);
	assert_non_null(strstr(h_body(&h), "0 decisions shown"));
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/?since=soon HTTP/1.1"
	    "\r\nHost: a\r\nCookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 400);
	assert_non_null(strstr(h_body(&h), "bad since"));

	/* One decision's page. */
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/decision?id=0000abcd-7 "
	    "HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 200);
	assert_non_null(strstr(h_body(&h), "&lt;img src=x onerror=alert(1)"
	    "&gt;"));
	assert_non_null(strstr(h_body(&h), "10.1.2.3:4000"));
	assert_null(strstr(h_body(&h), "<img"));
	hidden(&h, csrf, sizeof(csrf));
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/decision?id=0000abcd-8 "
	    "HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 404);

	/* The policy page: the embedded policy checks. */
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/policy HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 200);
	assert_non_null(strstr(h_body(&h), "policy OK ("));

	/* Log out without the CSRF token: refused, the session lives. */
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/logout HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 403);
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/logout HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 37\r\n\r\n"
	    "csrf=0123456789abcdef0123456789abcdef", sess);
	assert_int_equal(get(&h, req), 403);
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/ HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 200);
	/* With it: the session ends. */
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/logout HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 37\r\n\r\ncsrf=%s",
	    sess, csrf);
	assert_int_equal(get(&h, req), 303);
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/ HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 303);

	/* A new admin token (SIGHUP) ends every session. */
	assert_int_equal(get(&h, "GET /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), 200);
	assert_true(hdr(&h, "Set-Cookie", sc, sizeof(sc)));
	cookie_val(sc, pre, sizeof(pre));
	hidden(&h, csrf, sizeof(csrf));
	snprintf(req, sizeof(req), "POST /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\nCookie: %s\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n"
	    "csrf=%s&token=%s", pre, strlen("csrf=&token=" TOKEN) + 32, csrf,
	    TOKEN);
	assert_int_equal(get(&h, req), 303);
	assert_true(hdr(&h, "Set-Cookie", sc, sizeof(sc)));
	cookie_val(sc, sess, sizeof(sess));
	snprintf(h.ctx.admin_token, sizeof(h.ctx.admin_token),
	    "another-token-0123456789");
	snprintf(req, sizeof(req), "GET /-/pubgate/ui/ HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: %s\r\n\r\n", sess);
	assert_int_equal(get(&h, req), 303);

	/* Without admin.token_file the console is closed. */
	h.ctx.admin_token[0] = '\0';
	assert_int_equal(get(&h, "GET /-/pubgate/ui/login HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), 403);
	px_store_close(h.ctx.audit);
	h.ctx.audit = NULL;
	h_teardown(&h);
	snprintf(req, sizeof(req), "rm -rf %s", dir);
	assert_int_equal(system(req), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_and_auth),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_parse_dq),
		cmocka_unit_test(test_console),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
