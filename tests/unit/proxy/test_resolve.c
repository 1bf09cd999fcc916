/*
 * tests/unit/proxy/test_resolve.c: the upstream's name, resolved once and
 * shared (resolve.c), through real reads (fwd.c).  The gate's evdns base
 * asks a DNS server of this test on loopback (evdns_add_server_port) that
 * answers, drops or denies queries; the upstream name resolves to the
 * harness's fake upstream on 127.0.0.1.  Proved: one lookup serves many
 * connections and a burst of clients; a lost query is retransmitted, not
 * turned into a 502; a refresh that fails keeps the last good answer; a
 * refused address is set aside and the read is retried on the next one;
 * a name that does not exist is a 502 naming it; metrics show it all.
 */
#include "px_harness.h"

#include <event2/dns.h>
#include <event2/dns_struct.h>

#define UP_NAME		"registry.example"

enum { SRV_ANSWER, SRV_DROP, SRV_NXDOMAIN };

struct dns_srv {
	struct evdns_server_port *port;
	int		 fd;
	int		 mode;
	int		 drop_a;	/* A queries still to drop */
	uint32_t	 a[4];		/* network order */
	int		 na;
	int		 ttl;
	int		 queries_a, queries_aaaa;
};

static void
srv_cb(struct evdns_server_request *req, void *arg)
{
	struct dns_srv	*s = arg;
	int		 i, has_a = 0;

	for (i = 0; i < req->nquestions; i++) {
		if (req->questions[i]->type == EVDNS_TYPE_A) {
			s->queries_a++;
			has_a = 1;
			if (s->mode == SRV_ANSWER && s->na > 0)
				evdns_server_request_add_a_reply(req,
				    req->questions[i]->name, s->na, s->a,
				    s->ttl);
		} else if (req->questions[i]->type == EVDNS_TYPE_AAAA)
			s->queries_aaaa++;	/* no AAAA: NODATA */
	}
	if (s->mode == SRV_DROP || (has_a && s->drop_a > 0)) {
		if (has_a && s->drop_a > 0)
			s->drop_a--;
		evdns_server_request_drop(req);
		return;
	}
	evdns_server_request_respond(req, s->mode == SRV_NXDOMAIN ?
	    DNS_ERR_NOTEXIST : 0);
}

static void
srv_addr(struct dns_srv *s, int i, const char *ip)
{
	struct in_addr	 in;

	assert_int_equal(inet_pton(AF_INET, ip, &in), 1);
	s->a[i] = in.s_addr;
	if (s->na < i + 1)
		s->na = i + 1;
}

/* setup() : harness with upstream UP_NAME, resolved by the test's server. */
static void
setup(struct harness *h, struct dns_srv *s)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 ns[64];

	h_setup_host(h, NULL, UP_NAME);
	memset(s, 0, sizeof(*s));
	s->ttl = 300;
	srv_addr(s, 0, "127.0.0.1");
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sin, &sl), 0);
	evutil_make_socket_nonblocking(s->fd);
	s->port = evdns_add_server_port_with_base(h->ctx.base, s->fd, 0,
	    srv_cb, s);
	assert_non_null(s->port);

	assert_int_equal(evdns_base_clear_nameservers_and_suspend(h->ctx.dns),
	    0);
	evdns_base_search_clear(h->ctx.dns);
	snprintf(ns, sizeof(ns), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(evdns_base_nameserver_ip_add(h->ctx.dns, ns), 0);
	assert_int_equal(evdns_base_set_option(h->ctx.dns, "timeout:", "0.2"),
	    0);
	assert_int_equal(evdns_base_set_option(h->ctx.dns, "attempts:", "3"),
	    0);
	assert_int_equal(evdns_base_set_option(h->ctx.dns, "randomize-case:",
	    "0"), 0);
	assert_int_equal(evdns_base_resume(h->ctx.dns), 0);
}

static void
teardown(struct harness *h, struct dns_srv *s)
{
	px_ctx_free(&h->ctx);	/* before the port: evdns frees its requests */
	evdns_close_server_port(s->port);
	close(s->fd);
	close(h->cli);
	if (h->up != -1)
		close(h->up);
	close(h->up_listen);
	free(h->resp.p);
	free(h->upreq.p);
}

static int
up_head_complete(const struct harness *h)
{
	return h->upreq.p != NULL && strstr(h->upreq.p, "\r\n\r\n") != NULL;
}

static int
resp_or_eof(const struct harness *h)
{
	return h_resp_complete(h) || h->cli_eof;
}

/*
 * one_read() : a GET through the gate; the fake upstream answers "ok"
 * and closes, so the next read dials again.  Returns the status.
 */
static int
one_read(struct harness *h)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok";

	free(h->resp.p);
	memset(&h->resp, 0, sizeof(h->resp));
	free(h->upreq.p);
	memset(&h->upreq, 0, sizeof(h->upreq));
	h_sends(h, "GET /-/ping HTTP/1.1\r\nHost: gate\r\n\r\n");
	if (h_run(h, up_head_complete, 5000)) {
		assert_int_equal(write(h->up, resp, sizeof(resp) - 1),
		    (ssize_t)sizeof(resp) - 1);
		close(h->up);
		h->up = -1;
	}
	assert_true(h_run(h, resp_or_eof, 5000));
	return h_status(h);
}

/* metrics() : px_resolve_metrics()'s text (caller frees). */
static char *
metrics(struct harness *h)
{
	char			*buf = NULL;
	size_t			 len = 0;
	FILE			*f = open_memstream(&buf, &len);
	struct px_metrics	 sum;

	assert_non_null(f);
	px_metrics_sum(h->ctx.mall, h->ctx.mn, &sum);
	px_resolve_metrics(&h->ctx, &sum, f);
	fclose(f);
	return buf;
}

static void
test_one_lookup_for_many_connects(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;
	char			*m;
	int			 i;

	(void)state;
	setup(&h, &s);
	for (i = 0; i < 3; i++)
		assert_int_equal(one_read(&h), 200);
	/* Three upstream connections, one A and one AAAA query. */
	assert_int_equal(s.queries_a, 1);
	assert_int_equal(s.queries_aaaa, 1);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.naddrs, 1);
	assert_int_equal(st.ok, 1);
	assert_int_equal(st.fail, 0);
	assert_int_equal(st.ttl_ms, 300000);	/* the answer's TTL */
	m = metrics(&h);
	assert_non_null(strstr(m, "pubgate_upstream_address{host=\""
	    UP_NAME "\",addr=\"127.0.0.1\"} 1\n"));
	assert_non_null(strstr(m, "pubgate_upstream_resolve_total{host=\""
	    UP_NAME "\",result=\"ok\"} 1\n"));
	free(m);
	teardown(&h, &s);
}

static void
test_ttl_clamped(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;

	(void)state;
	setup(&h, &s);
	s.ttl = 1;		/* below dns.min_ttl */
	assert_int_equal(one_read(&h), 200);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.ttl_ms, PX_DNS_MIN_TTL_MS);
	teardown(&h, &s);

	setup(&h, &s);
	s.ttl = 86400;		/* above dns.max_ttl */
	h.cfg.dns_max_ttl_ms = 60000;
	assert_int_equal(one_read(&h), 200);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.ttl_ms, 60000);
	teardown(&h, &s);
}

static int
refresh_failed(const struct harness *h)
{
	struct px_resolve_stats	 st;

	px_resolve_stats(&h->ctx, &st);
	return st.fail > 0 && !st.busy;
}

static int
refreshed(const struct harness *h)
{
	struct px_resolve_stats	 st;

	px_resolve_stats(&h->ctx, &st);
	return st.ok >= 2;
}

static void
test_stale_kept_on_failure(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;
	char			*m;
	int			 q;

	(void)state;
	setup(&h, &s);
	h.cfg.dns_min_ttl_ms = 300;
	h.cfg.dns_max_ttl_ms = 300;
	assert_int_equal(one_read(&h), 200);
	assert_int_equal(s.queries_a, 1);

	/* The server goes silent: the background refresh fails... */
	s.mode = SRV_DROP;
	assert_true(h_run(&h, refresh_failed, 5000));
	assert_true(s.queries_a > 1);
	/* ... and reads still go to the last good address. */
	q = s.queries_a;
	assert_int_equal(one_read(&h), 200);
	assert_int_equal(one_read(&h), 200);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.naddrs, 1);
	assert_true(st.fail >= 1);
	m = metrics(&h);
	assert_non_null(strstr(m, "addr=\"127.0.0.1\"} 1\n"));
	assert_null(strstr(m, "result=\"fail\"} 0\n"));
	free(m);

	/* It answers again (with a second address): the refresh takes it. */
	s.mode = SRV_ANSWER;
	srv_addr(&s, 1, "127.0.0.3");
	assert_true(h_run(&h, refreshed, 8000));
	assert_true(s.queries_a > q);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.naddrs, 2);
	teardown(&h, &s);
}

static void
test_refused_address_retried(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;
	char			*m;

	(void)state;
	setup(&h, &s);
	/* The first address has no listener on the port: refused. */
	s.na = 0;
	srv_addr(&s, 0, "127.0.0.2");
	srv_addr(&s, 1, "127.0.0.1");
	assert_int_equal(one_read(&h), 200);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.naddrs, 2);
	assert_int_equal(st.retries, 1);
	m = metrics(&h);
	assert_non_null(strstr(m, "addr=\"127.0.0.2\"} 0\n"));	/* aside */
	assert_non_null(strstr(m, "pubgate_upstream_connect_failures_total{"
	    "host=\"" UP_NAME "\",addr=\"127.0.0.2\"} 1\n"));
	assert_non_null(strstr(m, "pubgate_upstream_connect_retries_total "
	    "1\n"));
	free(m);
	/* The refused address is set aside: the next reads go straight. */
	assert_int_equal(one_read(&h), 200);
	assert_int_equal(one_read(&h), 200);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.retries, 1);
	assert_int_equal(h.ctx.m->upstream_errors, 0);
	teardown(&h, &s);
}

static void
test_every_address_refused(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;

	(void)state;
	setup(&h, &s);
	s.na = 0;
	srv_addr(&s, 0, "127.0.0.2");
	srv_addr(&s, 1, "127.0.0.3");
	h_sends(&h, "GET /-/ping HTTP/1.1\r\nHost: gate\r\n\r\n");
	assert_true(h_run(&h, resp_or_eof, 5000));
	assert_int_equal(h_status(&h), 502);
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.retries, 1);	/* two tries, two addresses */
	teardown(&h, &s);
}

static void
test_no_such_name(void **state)
{
	struct harness		 h;
	struct dns_srv		 s;
	struct px_resolve_stats	 st;
	char			*m;

	(void)state;
	setup(&h, &s);
	s.mode = SRV_NXDOMAIN;
	h_sends(&h, "GET /-/ping HTTP/1.1\r\nHost: gate\r\n\r\n");
	assert_true(h_run(&h, resp_or_eof, 5000));
	assert_int_equal(h_status(&h), 502);
	assert_non_null(strstr(h_body(&h), "cannot resolve " UP_NAME
	    ": no such name"));
	assert_int_equal(h.up, -1);	/* nothing dialed */
	px_resolve_stats(&h.ctx, &st);
	assert_int_equal(st.naddrs, 0);
	assert_true(st.fail >= 1);
	m = metrics(&h);
	assert_non_null(strstr(m, "pubgate_upstream_resolve_age_seconds{host=\""
	    UP_NAME "\"} -1.000\n"));
	free(m);
	teardown(&h, &s);
}

/*
 * A burst of clients before the first answer, and the first A query lost:
 * every read succeeds, and the whole burst cost one lookup (the lost
 * query retransmitted once), not a lookup per connection.
 */
#define BURST	24

static void
test_burst_one_lookup(void **state)
{
	struct harness	 h;
	struct dns_srv	 s;
	struct px_resolve_stats st;
	int		 cli[BURST], up[BURST], nup = 0, done = 0, i, sv[2];
	struct h_buf	 got[BURST], req[BURST];
	int		 answered[BURST], ok[BURST];
	char		 buf[4096];
	ssize_t		 n;
	uint64_t	 t0;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\nok";

	(void)state;
	setup(&h, &s);
	s.drop_a = 1;
	memset(got, 0, sizeof(got));
	memset(req, 0, sizeof(req));
	memset(answered, 0, sizeof(answered));
	memset(ok, 0, sizeof(ok));
	for (i = 0; i < BURST; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		cli[i] = sv[1];
		fcntl(cli[i], F_SETFL, O_NONBLOCK);
		assert_non_null(px_conn_new(&h.ctx, sv[0], NULL, 0, NULL));
		assert_int_equal(write(cli[i], "GET /-/ping HTTP/1.1\r\n"
		    "Host: gate\r\n\r\n", 36), 36);
	}
	/* Every conn waits on the one lookup (its first query is lost). */
	t0 = px_now_ms();
	do {
		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
		px_resolve_stats(&h.ctx, &st);
	} while (st.waiting < BURST && px_now_ms() - t0 < 2000);
	assert_int_equal(st.waiting, BURST);
	assert_int_equal(s.queries_a, 1);
	t0 = px_now_ms();
	while (done < BURST && px_now_ms() - t0 < 10000) {
		int fd;

		event_base_loop(h.ctx.base, EVLOOP_NONBLOCK);
		while (nup < BURST &&
		    (fd = accept(h.up_listen, NULL, NULL)) >= 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			up[nup++] = fd;
		}
		for (i = 0; i < nup; i++) {
			if (answered[i])
				continue;
			while ((n = read(up[i], buf, sizeof(buf))) > 0)
				h_append(&req[i], buf, (size_t)n);
			if (req[i].p != NULL &&
			    strstr(req[i].p, "\r\n\r\n") != NULL) {
				assert_int_equal(write(up[i], resp,
				    sizeof(resp) - 1), (ssize_t)sizeof(resp) - 1);
				close(up[i]);
				answered[i] = 1;
			}
		}
		for (i = 0; i < BURST; i++) {
			if (ok[i])
				continue;
			while ((n = read(cli[i], buf, sizeof(buf))) > 0)
				h_append(&got[i], buf, (size_t)n);
			if (got[i].p != NULL && strstr(got[i].p, "\r\n\r\n") &&
			    (strstr(got[i].p, "\r\n\r\nok") ||
			    strncmp(got[i].p, "HTTP/1.1 200", 12) != 0)) {
				ok[i] = 1;
				done++;
			}
		}
		usleep(500);
	}
	assert_int_equal(done, BURST);
	for (i = 0; i < BURST; i++) {
		assert_true(strncmp(got[i].p, "HTTP/1.1 200 ", 13) == 0);
		free(got[i].p);
		free(req[i].p);
		close(cli[i]);
	}
	assert_int_equal(nup, BURST);
	assert_int_equal(s.queries_a, 2);	/* the lost one, once more */
	assert_int_equal(s.queries_aaaa, 1);
	teardown(&h, &s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_lookup_for_many_connects),
		cmocka_unit_test(test_ttl_clamped),
		cmocka_unit_test(test_stale_kept_on_failure),
		cmocka_unit_test(test_refused_address_retried),
		cmocka_unit_test(test_every_address_refused),
		cmocka_unit_test(test_no_such_name),
		cmocka_unit_test(test_burst_one_lookup),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
