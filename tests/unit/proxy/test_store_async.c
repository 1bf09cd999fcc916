/*
 * tests/unit/proxy/test_store_async.c: the decision store's asynchronous
 * calls (px_store_*_async(), the serving process's) on a real libevent
 * event_base: SQLite by default; with PUBGATE_TEST_PG (store-pg.sh starts
 * a real PostgreSQL) the same cases against store/pgloop.c, plus what only
 * a database server does: a second record with the same request id is
 * refused, a database nobody listens on fails writes at once (fail
 * closed) and counts errors, a connection killed by the server
 * (pg_terminate_backend) is made again by itself, and a write in flight
 * when its connection dies is reported not committed, then resolved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "store.h"

static const char	*pg_url;

struct fx {
	char			 dir[64];
	char			 db[512];
	struct event_base	*base;
	struct px_store		*a;
	FILE			*jsonl;
	char			*jbuf;
	size_t			 jlen;
};

/* One write's outcome, as its callback saw it. */
struct wres {
	int	 called, rc;
	int64_t	 id;
};

static void
write_cb(void *arg, int rc, int64_t id)
{
	struct wres	*w = arg;

	w->called++;
	w->rc = rc;
	w->id = id;
}

struct qres {
	int	 done, n, rows;
	char	 err[200];
	char	 pkg[8][64];
	int	 status[8];
};

static int
row_cb(const struct px_store_row *r, void *arg)
{
	struct qres	*q = arg;

	if (q->rows < 8) {
		snprintf(q->pkg[q->rows], sizeof(q->pkg[0]), "%s", r->package);
		q->status[q->rows] = r->status;
	}
	q->rows++;
	return 0;
}

static void
qdone_cb(void *arg, int n, const char *err)
{
	struct qres	*q = arg;

	q->done = 1;
	q->n = n;
	snprintf(q->err, sizeof(q->err), "%s", err != NULL ? err : "");
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* run_until() : runs the loop until *flag is non-zero or ms pass. */
static int
run_until(struct event_base *base, const int *flag, int ms)
{
	int64_t	end = now_ms() + ms;

	while (*flag == 0 && now_ms() < end) {
		struct timeval	tv = { 0, 20000 };

		event_base_loopexit(base, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	return *flag != 0;
}

/* run_for() : runs the loop for ms. */
static void
run_for(struct event_base *base, int ms)
{
	int	never = 0;

	(void)run_until(base, &never, ms);
}

static int
pg_sql(const char *sql)
{
	PGconn		*c;
	PGresult	*res;
	int		 rc = -1;

	c = PQconnectdb(pg_url);
	if (PQstatus(c) == CONNECTION_OK) {
		res = PQexec(c, sql);
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)
			rc = 0;
		else
			fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
		PQclear(res);
	} else
		fprintf(stderr, "%s", PQerrorMessage(c));
	PQfinish(c);
	return rc;
}

static int
setup(void **state)
{
	struct fx	*fx;
	char		 err[256];

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/test_store_async.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/pubgate.db", fx->dir);
	if (pg_url != NULL) {
		snprintf(fx->db, sizeof(fx->db), "%s", pg_url);
		assert_int_equal(pg_sql("SET client_min_messages = warning;"
		    "DROP TABLE IF EXISTS outbox, reasons, decisions, waivers, "
		    "pubgate_schema"),
		    0);
	}
	fx->base = event_base_new();
	assert_non_null(fx->base);
	fx->jsonl = open_memstream(&fx->jbuf, &fx->jlen);
	assert_non_null(fx->jsonl);
	fx->a = px_store_open_loop(fx->db, fx->base, fx->jsonl, err,
	    sizeof(err));
	if (fx->a == NULL)
		fail_msg("px_store_open_loop: %s", err);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	char		 cmd[256];

	px_store_close(fx->a);
	event_base_free(fx->base);
	fclose(fx->jsonl);
	free(fx->jbuf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fx->dir);
	free(fx);
	return 0;
}

static void
mkrec(struct px_store_rec *rec, const char *reqid, const char *pkg,
    enum pol_verdict v, int status)
{
	memset(rec, 0, sizeof(*rec));
	rec->time_ms = 1796119200000LL;
	rec->request_id = reqid;
	rec->client = "127.0.0.1:50000";
	rec->who = "sha256:0123456789abcdef";
	rec->npm_command = "publish";
	rec->user_agent = "npm/11.0.0";
	rec->kind = "publish";
	rec->package = pkg;
	rec->version = "1.0.0";
	rec->verdict = v;
	rec->status = status;
}

/* write_wait() : one write, waited for on the loop; its outcome. */
static struct wres
write_wait(struct fx *fx, const char *reqid, const char *pkg, int status)
{
	struct px_store_rec	 rec;
	struct wres		 w = { 0, 0, 0 };

	mkrec(&rec, reqid, pkg, POL_ALLOW, status);
	assert_non_null(px_store_write_async(fx->a, &rec, write_cb, &w));
	/* Never called back from inside the call. */
	assert_int_equal(w.called, 0);
	assert_true(run_until(fx->base, &w.called, 10000));
	assert_int_equal(w.called, 1);
	return w;
}

static struct qres
query_wait(struct fx *fx)
{
	struct px_store_query	q;
	struct qres		r;
	char			err[200];

	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	assert_non_null(px_store_query_async(fx->a, &q, row_cb, &r, qdone_cb,
	    &r, err, sizeof(err)));
	assert_int_equal(r.done, 0);
	assert_true(run_until(fx->base, &r.done, 10000));
	return r;
}

/* Write, status, query: committed records, read back by the loop. */
static void
test_round_trip(void **state)
{
	struct fx		*fx = *state;
	struct px_store_stat	 st;
	struct wres		 w1, w2;
	struct qres		 r;
	int			 i;

	w1 = write_wait(fx, "aaaa0001-1", "@acme/one", 0);
	assert_int_equal(w1.rc, 0);
	assert_true(w1.id > 0);
	w2 = write_wait(fx, "aaaa0001-2", "@acme/two", 403);
	assert_int_equal(w2.rc, 0);
	assert_true(w2.id > w1.id);
	px_store_set_status_async(fx->a, w1.id, 201);
	for (i = 0; i < 50; i++) {
		run_for(fx->base, 20);
		px_store_stat(fx->a, &st);
		if (st.pending == 0)
			break;
	}
	r = query_wait(fx);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rows, 2);
	assert_string_equal(r.pkg[0], "@acme/two");
	assert_int_equal(r.status[0], 403);
	assert_string_equal(r.pkg[1], "@acme/one");
	assert_int_equal(r.status[1], 201);
	/* The JSON lines: two records and the update. */
	fflush(fx->jsonl);
	assert_non_null(strstr(fx->jbuf, "\"package\":\"@acme/one\""));
	assert_non_null(strstr(fx->jbuf, "\"status\":201,"));
	assert_non_null(strstr(fx->jbuf, "\"update\":true"));
	px_store_stat(fx->a, &st);
	assert_int_equal(st.up, 1);
	assert_string_equal(st.state, "up");
	assert_int_equal(st.pending, 0);
}

/* A cancelled write's callback never runs; a cancelled query's neither. */
static void
test_cancel(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct px_store_op	*op;
	struct wres		 w = { 0, 0, 0 }, w2;
	struct qres		 r;
	char			 err[200];

	mkrec(&rec, "aaaa0002-1", "@acme/gone", POL_ALLOW, 0);
	op = px_store_write_async(fx->a, &rec, write_cb, &w);
	assert_non_null(op);
	px_store_op_cancel(op);
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	op = px_store_query_async(fx->a, &q, row_cb, &r, qdone_cb, &r, err,
	    sizeof(err));
	assert_non_null(op);
	px_store_op_cancel(op);
	/* A later write completes: everything queued before it has run. */
	w2 = write_wait(fx, "aaaa0002-2", "@acme/after", 0);
	assert_int_equal(w2.rc, 0);
	run_for(fx->base, 100);
	assert_int_equal(w.called, 0);
	assert_int_equal(r.done, 0);
	assert_int_equal(r.rows, 0);
}

/* PostgreSQL: a request id is one record, fleet-wide. */
static void
test_pg_unique_request(void **state)
{
	struct fx	*fx = *state;
	struct wres	 w;
	struct qres	 r;

	w = write_wait(fx, "aaaa0003-1", "@acme/once", 0);
	assert_int_equal(w.rc, 0);
	w = write_wait(fx, "aaaa0003-1", "@acme/once", 0);
	assert_int_equal(w.rc, -1);
	r = query_wait(fx);
	assert_int_equal(r.n, 1);
}

/*
 * PostgreSQL nobody listens on: the store opens (a fleet's gate starts
 * and serves reads), writes fail, then are refused at once, queries
 * too; health's figures say down.
 */
static void
test_pg_down(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*d;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct px_store_stat	 st;
	struct wres		 w = { 0, 0, 0 };
	struct qres		 r;
	char			 err[256];

	d = px_store_open_loop("postgresql://pubgate@127.0.0.1:1/x", fx->base,
	    NULL, err, sizeof(err));
	if (d == NULL)
		fail_msg("px_store_open_loop: %s", err);
	mkrec(&rec, "aaaa0004-1", "@acme/down", POL_ALLOW, 0);
	if (px_store_write_async(d, &rec, write_cb, &w) != NULL) {
		/* Queued while the first connection is tried: it fails. */
		assert_true(run_until(fx->base, &w.called, 10000));
		assert_int_equal(w.rc, -1);
	}
	run_for(fx->base, 50);
	px_store_stat(d, &st);
	assert_int_equal(st.up, 0);
	assert_string_not_equal(st.state, "up");
	assert_true(st.errors >= 1);
	assert_non_null(strstr(st.last_error, "postgresql"));
	/* Down: refused at once, no callback. */
	if (strcmp(st.state, "down") == 0) {
		w.called = 0;
		assert_null(px_store_write_async(d, &rec, write_cb, &w));
		memset(&q, 0, sizeof(q));
		memset(&r, 0, sizeof(r));
		assert_null(px_store_query_async(d, &q, row_cb, &r, qdone_cb,
		    &r, err, sizeof(err)));
		assert_non_null(strstr(err, "down"));
		run_for(fx->base, 50);
		assert_int_equal(w.called, 0);
		assert_int_equal(r.done, 0);
	}
	px_store_close(d);
}

/* kill_backend() : the server ends the gate's connection. */
static void
kill_backend(void)
{
	assert_int_equal(pg_sql("SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE application_name = 'pubgate' AND pid <> "
	    "pg_backend_pid()"), 0);
}

/*
 * PostgreSQL ends the connection (a restart, a failover): writes fail
 * closed until the store has connected again by itself, then work.
 */
static void
test_pg_reconnect(void **state)
{
	struct fx		*fx = *state;
	struct px_store_stat	 st;
	struct wres		 w;
	int			 i;

	w = write_wait(fx, "aaaa0005-1", "@acme/before", 0);
	assert_int_equal(w.rc, 0);
	kill_backend();
	for (i = 0; i < 250; i++) {
		run_for(fx->base, 20);
		px_store_stat(fx->a, &st);
		if (st.up && st.reconnects >= 1)
			break;
	}
	assert_int_equal(st.up, 1);
	assert_int_equal(st.reconnects, 1);
	assert_true(st.errors >= 1);
	w = write_wait(fx, "aaaa0005-2", "@acme/after", 0);
	assert_int_equal(w.rc, 0);
}

/*
 * A write in flight when its connection dies: not known committed, so
 * the caller is told -1 (503, nothing forwarded).  Here the INSERT
 * waits on a lock another session holds while the server ends the
 * gate's connection, so it never landed: once reconnected, the record
 * is absent and the same request id can be written.
 */
static void
test_pg_uncertain(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_stat	 st;
	struct wres		 w = { 0, 0, 0 };
	struct qres		 r;
	PGconn			*lock;
	PGresult		*res;
	int			 i;

	w = write_wait(fx, "aaaa0006-0", "@acme/first", 0);
	assert_int_equal(w.rc, 0);
	lock = PQconnectdb(pg_url);
	assert_int_equal(PQstatus(lock), CONNECTION_OK);
	res = PQexec(lock, "BEGIN; LOCK TABLE decisions IN EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	memset(&w, 0, sizeof(w));
	mkrec(&rec, "aaaa0006-1", "@acme/uncertain", POL_ALLOW, 0);
	assert_non_null(px_store_write_async(fx->a, &rec, write_cb, &w));
	run_for(fx->base, 300);		/* sent, waiting on the lock */
	assert_int_equal(w.called, 0);
	kill_backend();
	assert_true(run_until(fx->base, &w.called, 5000));
	assert_int_equal(w.rc, -1);
	res = PQexec(lock, "ROLLBACK");
	PQclear(res);
	PQfinish(lock);
	for (i = 0; i < 250; i++) {
		run_for(fx->base, 20);
		px_store_stat(fx->a, &st);
		if (st.up && st.pending == 0)
			break;
	}
	assert_int_equal(st.up, 1);
	r = query_wait(fx);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.pkg[0], "@acme/first");
	w = write_wait(fx, "aaaa0006-1", "@acme/uncertain", 0);
	assert_int_equal(w.rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_unique_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pg_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_uncertain, setup,
		    teardown),
	};

	if ((pg_url = getenv("PUBGATE_TEST_PG")) != NULL)
		return cmocka_run_group_tests_name("postgresql-async",
		    pg_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
