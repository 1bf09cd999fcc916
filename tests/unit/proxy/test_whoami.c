/*
 * tests/unit/proxy/test_whoami.c: the npm user name of a write's token
 * (whoami.c, over upget.c): reading the registry's answer, the whoami:
 * settings, and on a real event_base with a loopback fake registry and
 * a SQLite store: one GET /-/whoami with the client's Authorization, its
 * name in the record, the cache answering the same token without a GET,
 * a registry that never answers delaying the record by the timeout and
 * no more (user empty, the write forwarded as before), and the cache's
 * cap evicting the least recently used name.
 */
#include "px_harness.h"
#include "store.h"

static void
test_username(void **state)
{
	char	 u[PX_USER_MAX];

#define OK(s, want) do {						\
		assert_int_equal(px_whoami_username(s, strlen(s), u,	\
		    sizeof(u)), 0);					\
		assert_string_equal(u, want);				\
	} while (0)
#define NO(s) assert_int_equal(px_whoami_username(s, strlen(s), u,	\
	    sizeof(u)), -1)
	(void)state;
	OK("{\"username\":\"alice\"}", "alice");
	OK(" {\n \"username\" : \"bob-2.x_y\" }\n", "bob-2.x_y");
	OK("{\"ok\":true,\"n\":[1,{\"username\":\"no\"}],\"s\":\"a\\\"b,}\","
	    "\"username\":\"carol\"}", "carol");
	NO("{}");			/* Verdaccio: a token it does not know */
	NO("{\"username\":null}");
	NO("{\"username\":\"\"}");
	NO("{\"username\":\"a b\"}");
	NO("{\"username\":\"a\\\"b\"}");
	NO("{\"username\":\"\xc3\xa9\"}");
	NO("{\"username\":\"alice");	/* cut short */
	NO("[\"username\",\"alice\"]");
	NO("{\"user\":\"alice\"}");
	NO("");
	{
		char	 big[PX_USER_MAX + 32], name[PX_USER_MAX + 1];

		/* 214 bytes (npm's longest) pass, 215 do not. */
		memset(name, 'a', PX_USER_MAX - 1);
		name[PX_USER_MAX - 1] = '\0';
		snprintf(big, sizeof(big), "{\"username\":\"%s\"}", name);
		assert_int_equal(px_whoami_username(big, strlen(big), u,
		    sizeof(u)), 0);
		assert_int_equal(strlen(u), PX_USER_MAX - 1);
		memset(name, 'a', PX_USER_MAX);
		name[PX_USER_MAX] = '\0';
		snprintf(big, sizeof(big), "{\"username\":\"%s\"}", name);
		assert_int_equal(px_whoami_username(big, strlen(big), u,
		    sizeof(u)), -1);
	}
#undef OK
#undef NO
}

static void
test_config(void **state)
{
	static const char on[] = "whoami: { ttl: 5m, timeout: 500ms, "
	    "max: 8 }\n";
	static const char off[] = "whoami: off\n";
	static const char bad[] = "whoami:\n  ttl: 2x\n  timeout: 1h\n"
	    "  max: 0\n  tmeout: 1s\n";
	static const char bad2[] = "whoami: maybe\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_int_equal(cfg.whoami.off, 0);
	assert_int_equal(cfg.whoami.ttl_ms, 600000);
	assert_int_equal(cfg.whoami.timeout_ms, 3000);
	assert_int_equal(cfg.whoami.max, 1024);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "w.yaml", on, sizeof(on) - 1,
	    &e), 0);
	assert_int_equal(cfg.whoami.ttl_ms, 300000);
	assert_int_equal(cfg.whoami.timeout_ms, 500);
	assert_int_equal(cfg.whoami.max, 8);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "w.yaml", off, sizeof(off) - 1,
	    &e), 0);
	assert_int_equal(cfg.whoami.off, 1);
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "b.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_int_equal(e.count, 4);
	assert_non_null(strstr(e.msg[0], "b.yaml:2:8: whoami.ttl: \"2x\""));
	assert_non_null(strstr(e.msg[1], "b.yaml:3:12: whoami.timeout"));
	assert_non_null(strstr(e.msg[2], "b.yaml:4:8: whoami.max"));
	assert_non_null(strstr(e.msg[3], "b.yaml:5:3: whoami: unknown key "
	    "\"tmeout\""));
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "c.yaml", bad2,
	    sizeof(bad2) - 1, &e), -1);
	assert_non_null(strstr(e.msg[0], "c.yaml:1:9: whoami: \"maybe\""));
}

/* ------------------------------------------------ on the event loop */

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

struct fx {
	struct harness	 h;
	char		 dir[64];
	char		 db[128];
	int		 cli[16];
	size_t		 ncli;
	int		 ups[16];	/* upstream conns accepted by the test */
	size_t		 nups;
};

static void
fx_setup(struct fx *f, unsigned timeout_ms, size_t max)
{
	char	 err[256];

	memset(f, 0, sizeof(*f));
	h_setup(&f->h, strict());
	f->h.cfg.whoami.off = 0;
	f->h.cfg.whoami.timeout_ms = timeout_ms;
	f->h.cfg.whoami.max = max;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pgwhoamiXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/p.db", f->dir);
	f->h.ctx.audit = px_store_open_loop(f->db, f->h.ctx.base, NULL, err,
	    sizeof(err));
	assert_non_null(f->h.ctx.audit);
	f->cli[f->ncli++] = f->h.cli;
}

static void
fx_teardown(struct fx *f)
{
	size_t	 i;
	char	 p[200];

	for (i = 1; i < f->ncli; i++)
		close(f->cli[i]);
	for (i = 0; i < f->nups; i++)
		close(f->ups[i]);
	h_teardown(&f->h);	/* the conns, the store, the cache */
	snprintf(p, sizeof(p), "%s-wal", f->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->db);
	unlink(p);
	unlink(f->db);
	rmdir(f->dir);
}

/* fx_client() : another client conn on the same ctx; its test end. */
static int
fx_client(struct fx *f)
{
	int	 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	assert_non_null(px_conn_new(&f->h.ctx, sv[0], NULL, 0, NULL));
	f->cli[f->ncli++] = sv[1];
	return sv[1];
}

static void
fx_write(int fd, const char *token)
{
	char	 req[512];
	int	 n;

	n = snprintf(req, sizeof(req), "DELETE /-/package/@acme%%2fx/"
	    "dist-tags/beta HTTP/1.1\r\nHost: gate\r\nAuthorization: Bearer "
	    "%s\r\n\r\n", token);
	assert_int_equal(write(fd, req, (size_t)n), n);
}

/*
 * fx_accept() : runs the loop until the fake registry gets a connection
 * with a complete request head (within ms): its fd, the head in buf.
 */
static int
fx_accept(struct fx *f, char *buf, size_t len, int ms)
{
	uint64_t	 t0 = px_now_ms();
	int		 fd = -1;
	size_t		 got = 0;
	ssize_t		 n;

	buf[0] = '\0';
	while (px_now_ms() - t0 < (uint64_t)ms) {
		event_base_loop(f->h.ctx.base, EVLOOP_NONBLOCK);
		if (fd == -1 && (fd = accept(f->h.up_listen, NULL, NULL)) >= 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			f->ups[f->nups++] = fd;
		}
		if (fd != -1 && (n = read(fd, buf + got, len - 1 - got)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				return fd;
		}
		usleep(500);
	}
	return -1;
}

static void
fx_pump(struct fx *f, int ms)
{
	uint64_t	 t0 = px_now_ms();

	while (px_now_ms() - t0 < (uint64_t)ms) {
		event_base_loop(f->h.ctx.base, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

struct rows {
	char	 user[8][PX_USER_MAX];
	char	 who[8][40];
	int	 n;
};

static int
row_cb(const struct px_store_row *r, void *arg)
{
	struct rows	*rs = arg;

	if (rs->n < 8) {
		snprintf(rs->user[rs->n], sizeof(rs->user[0]), "%s", r->user);
		snprintf(rs->who[rs->n], sizeof(rs->who[0]), "%s", r->who);
		rs->n++;
	}
	return 0;
}

/* newest_user() : the npm user of the newest record. */
static const char *
newest_user(struct fx *f, struct rows *rs)
{
	struct px_store_query	 q;
	char			 err[256];

	memset(&q, 0, sizeof(q));
	memset(rs, 0, sizeof(*rs));
	assert_true(px_store_query(f->h.ctx.audit, &q, row_cb, rs, err,
	    sizeof(err)) >= 1);
	return rs->user[0];
}

static void
answer(int fd, const char *body)
{
	char	 resp[512];
	int	 n;

	n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
	    "\r\n%s", strlen(body), body);
	assert_int_equal(write(fd, resp, (size_t)n), n);
}

static void
test_lookup_and_cache(void **state)
{
	struct fx		 f;
	struct px_whoami_stats	 st;
	struct rows		 rs;
	char			 head[4096];
	int			 up;

	(void)state;
	fx_setup(&f, 3000, 16);
	/* 1. The write's head starts one GET with the client's token. */
	fx_write(f.h.cli, "tok-AAAA-1111");
	up = fx_accept(&f, head, sizeof(head), 3000);
	assert_true(up >= 0);
	assert_true(strncmp(head, "GET /-/whoami HTTP/1.1\r\n", 24) == 0);
	assert_non_null(strstr(head, "\r\nAuthorization: Bearer "
	    "tok-AAAA-1111\r\n"));
	/* The record waits for the name: nothing is forwarded yet. */
	fx_pump(&f, 100);
	assert_int_equal(accept(f.h.up_listen, NULL, NULL), -1);
	answer(up, "{\"username\":\"alice\"}");
	up = fx_accept(&f, head, sizeof(head), 3000);
	assert_true(up >= 0);
	assert_true(strncmp(head, "DELETE /-/package/@acme%2fx/dist-tags/"
	    "beta HTTP/1.1\r\n", 41) == 0);
	assert_string_equal(newest_user(&f, &rs), "alice");
	assert_int_equal(rs.n, 1);

	/* 2. The same token on another conn: the cache, no GET. */
	fx_write(fx_client(&f), "tok-AAAA-1111");
	up = fx_accept(&f, head, sizeof(head), 3000);
	assert_true(up >= 0);
	assert_true(strncmp(head, "DELETE ", 7) == 0);
	assert_string_equal(newest_user(&f, &rs), "alice");
	assert_int_equal(rs.n, 2);
	px_whoami_stats(&f.h.ctx, &st);
	assert_int_equal(st.lookups, 1);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.entries, 1);
	fx_teardown(&f);
}

static void
test_timeout(void **state)
{
	struct fx		 f;
	struct px_whoami_stats	 st;
	struct rows		 rs;
	char			 head[4096];
	uint64_t		 t0, waited;
	int			 up;

	(void)state;
	fx_setup(&f, 400, 16);
	/* A registry that takes the GET and never answers. */
	t0 = px_now_ms();
	fx_write(f.h.cli, "tok-BBBB-2222");
	up = fx_accept(&f, head, sizeof(head), 3000);
	assert_true(up >= 0);
	assert_true(strncmp(head, "GET /-/whoami ", 14) == 0);
	up = fx_accept(&f, head, sizeof(head), 5000);
	waited = px_now_ms() - t0;
	assert_true(up >= 0);
	assert_true(strncmp(head, "DELETE ", 7) == 0);
	/* Forwarded after the timeout, not much later. */
	assert_true(waited >= 380);
	assert_true(waited < 1500);
	assert_string_equal(newest_user(&f, &rs), "");
	px_whoami_stats(&f.h.ctx, &st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.entries, 0);	/* a timeout is not cached */
	fx_teardown(&f);
}

static void
test_evict_lru(void **state)
{
	static const char *const tok[] = { "tok-C1-aaaa", "tok-C2-bbbb",
	    "tok-C1-aaaa", "tok-C3-cccc", "tok-C1-aaaa", "tok-C2-bbbb" };
	/* max 2: C1 C2 | C1 hit | C3 evicts C2 | C1 hit | C2 asked again */
	static const int get[] = { 1, 1, 0, 1, 0, 1 };
	struct fx		 f;
	struct px_whoami_stats	 st;
	char			 head[4096], name[32];
	size_t			 i;
	int			 up;

	(void)state;
	fx_setup(&f, 3000, 2);
	for (i = 0; i < 6; i++) {
		fx_write(i == 0 ? f.h.cli : fx_client(&f), tok[i]);
		up = fx_accept(&f, head, sizeof(head), 3000);
		assert_true(up >= 0);
		if (get[i]) {
			assert_true(strncmp(head, "GET /-/whoami ", 14) == 0);
			snprintf(name, sizeof(name), "{\"username\":\"u%c\"}",
			    tok[i][5]);
			answer(up, name);
			up = fx_accept(&f, head, sizeof(head), 3000);
			assert_true(up >= 0);
		}
		if (strncmp(head, "DELETE ", 7) != 0)
			fail_msg("step %zu: %.60s", i, head);
	}
	px_whoami_stats(&f.h.ctx, &st);
	assert_int_equal(st.lookups, 4);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(st.entries, 2);
	fx_teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_username),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_lookup_and_cache),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_evict_lru),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
