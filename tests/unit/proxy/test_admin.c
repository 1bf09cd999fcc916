/*
 * tests/unit/proxy/test_admin.c: the admin API (admin.c) on a real
 * connection: health without a token, metrics and decisions refused
 * without the bearer token and served with it, unknown paths 404; the
 * admin listener never forwards anything upstream.
 */
#include "px_harness.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_and_auth),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
