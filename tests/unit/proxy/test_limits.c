/*
 * tests/unit/proxy/test_limits.c: the connection limits of issue 8
 * (limit.c and conn.c's deadlines): connections per client address over
 * real loopback TCP, the counting table under churn, the request-head
 * deadline that trickled bytes do not extend, and the minimum body rate
 * of a publish.
 */
#include "px_harness.h"

/* tcp_pair() : a connected loopback pair from src (127.0.0.x). */
static void
tcp_pair(int lfd, const char *src, int *cli, int *srv,
    struct sockaddr_in *peer)
{
	struct sockaddr_in	 sin, a;
	socklen_t		 sl = sizeof(sin);

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	*cli = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*cli >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	assert_int_equal(bind(*cli, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(connect(*cli, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	sl = sizeof(*peer);
	*srv = accept(lfd, (struct sockaddr *)peer, &sl);
	assert_true(*srv >= 0);
	fcntl(*cli, F_SETFL, O_NONBLOCK);
}

/* closed_by_gate() : the gate closed fd (EOF) within ms. */
static int
closed_by_gate(struct harness *h, int fd, int ms)
{
	uint64_t	 t0 = px_now_ms();
	char		 b[256];
	ssize_t		 n;

	while (px_now_ms() - t0 < (uint64_t)ms) {
		event_base_loop(h->ctx.base, EVLOOP_NONBLOCK);
		n = read(fd, b, sizeof(b));
		if (n == 0)
			return 1;
		usleep(1000);
	}
	return 0;
}

/*
 * Three connections from 127.0.0.2 with client_conns 2: the third is
 * closed at accept; 127.0.0.3 is still served; closing one of the first
 * two frees a place.
 */
static void
test_client_cap(void **state)
{
	struct harness		 h;
	struct sockaddr_in	 sin, peer;
	int			 lfd, cli[4], srv, i;

	(void)state;
	h_setup(&h, NULL);
	h.cfg.client_conns = 2;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	for (i = 0; i < 3; i++) {
		tcp_pair(lfd, "127.0.0.2", &cli[i], &srv, &peer);
		if (i < 2)
			assert_non_null(px_conn_new(&h.ctx, srv,
			    (struct sockaddr *)&peer, sizeof(peer), NULL));
		else
			assert_null(px_conn_new(&h.ctx, srv,
			    (struct sockaddr *)&peer, sizeof(peer), NULL));
	}
	assert_true(closed_by_gate(&h, cli[2], 1000));
	assert_false(closed_by_gate(&h, cli[0], 100));
	assert_int_equal(h.ctx.m->client_cap_refused, 1);

	tcp_pair(lfd, "127.0.0.3", &cli[3], &srv, &peer);
	assert_non_null(px_conn_new(&h.ctx, srv, (struct sockaddr *)&peer,
	    sizeof(peer), NULL));

	/* The gate closes cli[0]'s server side: its place is free again. */
	close(cli[0]);
	for (i = 0; i < 200; i++)
		h_pump(&h);
	close(cli[2]);
	tcp_pair(lfd, "127.0.0.2", &cli[2], &srv, &peer);
	assert_non_null(px_conn_new(&h.ctx, srv, (struct sockaddr *)&peer,
	    sizeof(peer), NULL));
	h_teardown(&h);
	for (i = 1; i < 4; i++)
		close(cli[i]);
	close(lfd);
}

/* The table under churn: 3000 addresses in and out in another order. */
static void
test_client_table(void **state)
{
	struct harness	 h;
	char		 peer[64];
	int		 i, j;

	(void)state;
	h_setup(&h, NULL);
	h.cfg.client_conns = 3;
	for (i = 0; i < 3000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.1:%d", i / 250, i % 250,
		    i);
		for (j = 0; j < 3; j++)
			assert_int_equal(px_client_take(&h.ctx, peer), 0);
		assert_int_equal(px_client_take(&h.ctx, peer), -1);
	}
	assert_int_equal(h.ctx.nclients, 3000);
	for (i = 0; i < 3000; i++) {
		int k = (i * 7919) % 3000;	/* a permutation */

		snprintf(peer, sizeof(peer), "10.%d.%d.1:%d", k / 250,
		    k % 250, k);
		px_client_drop(&h.ctx, peer);
	}
	assert_int_equal(h.ctx.nclients, 3000);
	for (i = 0; i < 3000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.1:%d", i / 250, i % 250,
		    i);
		/* Two left of three: one more fits, then the cap. */
		assert_int_equal(px_client_take(&h.ctx, peer), 0);
		assert_int_equal(px_client_take(&h.ctx, peer), -1);
		for (j = 0; j < 3; j++)
			px_client_drop(&h.ctx, peer);
	}
	assert_int_equal(h.ctx.nclients, 0);
	h_teardown(&h);
}

/* A head sent one byte every 50 ms is cut at the deadline (300 ms). */
static void
test_head_deadline(void **state)
{
	static const char	 head[] = "GET /leftpad HTTP/1.1\r\nHost: gate\r\n"
	    "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	struct harness		 h;
	uint64_t		 t0;
	size_t			 i;

	(void)state;
	h_setup(&h, NULL);
	h.cfg.header_ms = 300;
	t0 = px_now_ms();
	for (i = 0; i < sizeof(head) - 1 && h_status(&h) == 0; i++) {
		h_send(&h, head + i, 1);
		h_run(&h, h_resp_complete, 50);
	}
	assert_true(h_run(&h, h_resp_complete, 2000));
	assert_int_equal(h_status(&h), 408);
	assert_true(px_now_ms() - t0 < 1500);
	assert_int_equal(h.ctx.m->head_timeouts, 1);
	h_teardown(&h);
}

static struct pol_policy *
strict(void)
{
	struct pol_errors	*errs = calloc(1, sizeof(*errs));
	struct pol_policy	*p;

	assert_non_null(errs);
	p = pol_load_default(errs);
	free(errs);
	assert_non_null(p);
	return p;
}

/*
 * A publish body that stalls after its first bytes is refused with 408
 * at the end of the window; nothing reaches the upstream.  One that
 * keeps pace is not.
 */
static void
test_body_rate(void **state)
{
	static const char	 head[] = "PUT /leftpad HTTP/1.1\r\nHost: gate\r\n"
	    "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
	char			 chunk[2000];
	struct harness		 h;
	int			 i;

	(void)state;
	h_setup(&h, strict());
	h.cfg.body_min_rate = 10000;	/* 10 KB/s */
	h.cfg.rate_window_ms = 300;
	h_sends(&h, head);
	h_sends(&h, "{\"name\":");
	assert_true(h_run(&h, h_resp_complete, 3000));
	assert_int_equal(h_status(&h), 408);
	assert_int_equal(h.up, -1);
	assert_int_equal(h.ctx.m->body_too_slow, 1);
	h_teardown(&h);

	/* 2000 bytes every 100 ms (20 KB/s): still being read at 1.5 s. */
	h_setup(&h, strict());
	h.cfg.body_min_rate = 10000;
	h.cfg.rate_window_ms = 300;
	h_sends(&h, head);
	h_sends(&h, "{\"x\":\"");
	memset(chunk, 'a', sizeof(chunk));
	for (i = 0; i < 15; i++) {
		h_send(&h, chunk, sizeof(chunk));
		h_run(&h, h_resp_complete, 100);
	}
	assert_int_equal(h_status(&h), 0);
	assert_int_equal(h.ctx.m->body_too_slow, 0);
	h_teardown(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_cap),
		cmocka_unit_test(test_client_table),
		cmocka_unit_test(test_head_deadline),
		cmocka_unit_test(test_body_rate),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
