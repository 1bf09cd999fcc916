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
 * Waivers from the loop (px_store_waiver_*_async()): approve, list, use,
 * revoke and their records on both; on PostgreSQL a once waiver raced by
 * four gates (four connections) is used once, and a store that is down
 * refuses a use at once (the gate fails closed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "store.h"
#include "store_fx.h"

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
setup(void **state)
{
	struct fx	*fx;
	char		 err[256];

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx_db("test_store_async", pg_url, fx->dir, fx->db);
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

	px_store_close(fx->a);
	event_base_free(fx->base);
	fclose(fx->jsonl);
	free(fx->jbuf);
	fx_rmdir(fx->dir);
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
	char			 want[64];
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
	/* The JSON lines: two records (with their ids) and the update. */
	fflush(fx->jsonl);
	snprintf(want, sizeof(want), "{\"id\":%lld,", (long long)w2.id);
	assert_non_null(strstr(fx->jbuf, want));
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
		assert_int_equal(px_store_err_status(err), 503);
		run_for(fx->base, 50);
		assert_int_equal(w.called, 0);
		assert_int_equal(r.done, 0);
	}
	px_store_close(d);
}

/*
 * A database named by host name: the loop looks it up (evdns, /etc/hosts
 * here) and connects to the address with host= kept (the passfile is
 * matched on "localhost", not on the address); a name that does not
 * resolve leaves the store down with the name in its error.
 */
static void
test_pg_hostname(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*d;
	struct px_store_rec	 rec;
	struct px_store_stat	 st;
	struct wres		 w = { 0, 0, 0 };
	char			 err[256], url[2048], pass[1024], line[512];
	const char		*pf, *at;
	FILE			*in, *out;
	int			 i;

	/* pg_url: postgresql://pubgate@127.0.0.1:PORT/postgres?passfile=F */
	at = strstr(pg_url, "@127.0.0.1:");
	pf = strstr(pg_url, "passfile=");
	assert_non_null(at);
	assert_non_null(pf);
	snprintf(pass, sizeof(pass), "%s/pgpass", fx->dir);
	in = fopen(pf + strlen("passfile="), "r");
	assert_non_null(in);
	out = fopen(pass, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in) != NULL)
		if (strncmp(line, "127.0.0.1:", 10) == 0)
			fprintf(out, "localhost:%s", line + 10);
	fclose(in);
	fclose(out);
	assert_int_equal(chmod(pass, 0600), 0);
	snprintf(url, sizeof(url), "postgresql://pubgate@localhost:%.*s"
	    "passfile=%s", (int)(pf - (at + 11)), at + 11, pass);
	d = px_store_open_loop(url, fx->base, NULL, err, sizeof(err));
	if (d == NULL)
		fail_msg("px_store_open_loop: %s", err);
	for (i = 0; i < 250; i++) {
		run_for(fx->base, 20);
		px_store_stat(d, &st);
		if (st.up)
			break;
	}
	if (!st.up)
		fail_msg("not up through localhost: %s", st.last_error);
	mkrec(&rec, "aaaa0009-1", "@acme/byname", POL_ALLOW, 0);
	assert_non_null(px_store_write_async(d, &rec, write_cb, &w));
	assert_true(run_until(fx->base, &w.called, 10000));
	assert_int_equal(w.rc, 0);
	px_store_close(d);

	d = px_store_open_loop("postgresql://pubgate@pubgate-no-such-host."
	    "invalid/x", fx->base, NULL, err, sizeof(err));
	if (d == NULL)
		fail_msg("px_store_open_loop: %s", err);
	for (i = 0; i < 400; i++) {
		run_for(fx->base, 20);
		px_store_stat(d, &st);
		if (st.errors > 0)
			break;
	}
	assert_int_equal(st.up, 0);
	if (strstr(st.last_error, "cannot resolve pubgate-no-such-host."
	    "invalid") == NULL && strstr(st.last_error, "looking up") == NULL)
		fail_msg("error: %s", st.last_error);
	px_store_close(d);
}

/* kill_backend() : the server ends the gate's connection. */
static void
kill_backend(void)
{
	assert_int_equal(fx_pg_sql(pg_url,
	    "SELECT pg_terminate_backend(pid) FROM "
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

/* ------------------------------------------------------------ waivers */

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* blocked() : a blocked publish of pkg@1.0.0 (tarball SHA_A, read whole). */
static void
blocked(struct fx *fx, const char *reqid, const char *pkg)
{
	struct pol_report	*r;
	struct px_store_rec	 rec;
	struct wres		 w = { 0, 0, 0 };

	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->verdict = POL_DENY;
	r->status = POL_DONE;
	snprintf(r->name, sizeof(r->name), "%s", pkg);
	snprintf(r->version, sizeof(r->version), "1.0.0");
	memset(r->sha512_hex, 'a', 128);
	snprintf(r->reasons[0].rule, POL_RULE_ID_MAX, "secret.npm-token");
	snprintf(r->reasons[0].file, POL_FILE_MAX, "test/fixture.js");
	snprintf(r->reasons[0].text, POL_TEXT_MAX, "an npm token");
	r->reasons[0].offset = 3;
	r->nreasons = r->nreasons_total = 1;
	mkrec(&rec, reqid, pkg, POL_DENY, 403);
	rec.report = r;
	assert_non_null(px_store_write_async(fx->a, &rec, write_cb, &w));
	assert_true(run_until(fx->base, &w.called, 10000));
	assert_int_equal(w.rc, 0);
	free(r);
}

/* One waiver call's answer, as its callback saw it. */
struct wans {
	int			 called, rc;
	char			 err[256];
	struct fx_waiver	 w;
};

static void
wans_cb(void *arg, int rc, const struct px_store_waiver *w, const char *err)
{
	struct wans	*a = arg;

	a->called++;
	a->rc = rc;
	snprintf(a->err, sizeof(a->err), "%s", err != NULL ? err : "(null)");
	if (w != NULL)
		fx_waiver_copy(&a->w, w);
}

/* approve_wait() : an approval of decision by by, waited for. */
static struct wans
approve_wait(struct fx *fx, const char *decision, const char *by,
    const char *who, int once)
{
	struct px_store_approve	 ap;
	struct wans		 a;
	char			 err[256];

	memset(&a, 0, sizeof(a));
	/* now 0: the store's clock. */
	fx_approve_args(&ap, decision, by, once, 0, wall_ms() + 3600000);
	ap.actor.who = who;
	if (px_store_waiver_approve_async(fx->a, &ap, wans_cb, &a, err,
	    sizeof(err)) == NULL)
		fail_msg("px_store_waiver_approve_async: %s", err);
	assert_int_equal(a.called, 0);
	assert_true(run_until(fx->base, &a.called, 10000));
	assert_int_equal(a.called, 1);
	return a;
}

/* use_wait() : a gate's lookup for pkg@1.0.0 of sha as request reqid. */
static struct wans
use_wait(struct fx *fx, struct px_store *s, const char *reqid,
    const char *pkg, const char *sha)
{
	struct wans	 a;
	char		 err[256];

	memset(&a, 0, sizeof(a));
	if (px_store_waiver_use_async(s, pkg, "1.0.0", sha, reqid,
	    "127.0.0.1:50001", PUBLISHER, 0, wans_cb, &a, err,
	    sizeof(err)) == NULL)
		fail_msg("px_store_waiver_use_async: %s", err);
	assert_int_equal(a.called, 0);
	assert_true(run_until(fx->base, &a.called, 10000));
	return a;
}

struct wlist {
	int	 done, n, rows;
	int64_t	 id[8];
	char	 state[8][16];
	char	 err[200];
};

static int
wrow_cb(const struct px_store_waiver *w, void *arg)
{
	struct wlist	*l = arg;

	if (l->rows < 8) {
		l->id[l->rows] = w->id;
		snprintf(l->state[l->rows], sizeof(l->state[0]), "%s",
		    w->state);
	}
	l->rows++;
	return 0;
}

static void
wlist_done(void *arg, int n, const char *err)
{
	struct wlist	*l = arg;

	l->done = 1;
	l->n = n;
	snprintf(l->err, sizeof(l->err), "%s", err != NULL ? err : "");
}

static struct wlist
list_wait(struct fx *fx, int64_t id, int active)
{
	struct wlist	 l;
	char		 err[256];

	memset(&l, 0, sizeof(l));
	if (px_store_waivers_async(fx->a, id, active, 0, wrow_cb, &l,
	    wlist_done, &l, err, sizeof(err)) == NULL)
		fail_msg("px_store_waivers_async: %s", err);
	assert_int_equal(l.done, 0);
	assert_true(run_until(fx->base, &l.done, 10000));
	return l;
}

/* The records of one kind: how many, and the first one's fields. */
struct kinds {
	const char	*kind;
	int		 n, status;
	char		 text[POL_TEXT_MAX], reqid[80], pkg[64], msg[256];
	char		 who[80];
};

static int
kind_cb(const struct px_store_row *r, void *arg)
{
	struct kinds	*k = arg;

	if (strcmp(r->kind, k->kind) != 0)
		return 0;
	if (k->n++ == 0) {
		snprintf(k->text, sizeof(k->text), "%s", r->nreasons > 0 ?
		    r->reasons[0].text : "");
		snprintf(k->reqid, sizeof(k->reqid), "%s", r->request_id);
		snprintf(k->pkg, sizeof(k->pkg), "%s", r->package);
		snprintf(k->msg, sizeof(k->msg), "%s", r->message);
		snprintf(k->who, sizeof(k->who), "%s", r->who);
		k->status = r->status;
	}
	return 0;
}

static void
kdone_cb(void *arg, int n, const char *err)
{
	int	*done = arg;

	(void)n;
	(void)err;
	*done = 1;
}

static struct kinds
kinds(struct fx *fx, const char *kind)
{
	struct px_store_query	q;
	struct kinds		k;
	char			err[200];
	int			done = 0;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	assert_non_null(px_store_query_async(fx->a, &q, kind_cb, &k, kdone_cb,
	    &done, err, sizeof(err)));
	assert_true(run_until(fx->base, &done, 10000));
	return k;
}

static void
outbox_row(const struct px_store_row *r, void *arg)
{
	assert_true(strncmp(r->kind, "waiver-", 7) == 0);
	assert_true(r->nreasons == 1);
	assert_true(strncmp(r->reasons[0].rule, "waiver.", 7) == 0);
	(*(int *)arg)++;
}

/*
 * outbox_check() : through a second (blocking) store on the same
 * database, as the webhook deliverer reads it: want alerts pending, each
 * a waiver record's (px_store_by_id()).
 */
static void
outbox_check(struct fx *fx, int want)
{
	struct px_store_alert	 al[16];
	struct px_store		*b;
	char			 err[256];
	int			 i, n, rows = 0;

	b = px_store_open(fx->db, NULL, err, sizeof(err));
	if (b == NULL)
		fail_msg("px_store_open: %s", err);
	assert_int_equal(px_store_outbox_pending(b, err, sizeof(err)), want);
	n = px_store_outbox_claim(b, 4102444800000LL, 60000, al, 16,
	    err, sizeof(err));
	assert_int_equal(n, want);
	for (i = 0; i < n; i++) {
		assert_true(strcmp(al[i].hook, "sec") == 0 ||
		    strcmp(al[i].hook, "soc") == 0);
		assert_int_equal(px_store_by_id(b, al[i].decision_id,
		    outbox_row, &rows, err, sizeof(err)), 1);
	}
	assert_int_equal(rows, want);
	assert_int_equal(px_store_by_id(b, 999999, outbox_row, &rows, err,
	    sizeof(err)), 0);
	px_store_close(b);
}

/*
 * Approve, list, use, revoke from the loop: the answers the blocking
 * calls give, each change with its record, the JSON lines written.
 */
static void
test_waiver_async(void **state)
{
	struct fx		*fx = *state;
	struct px_store_actor	 bob;
	struct wans		 a, u;
	struct wlist		 l;
	struct kinds		 k;
	char			 text[POL_TEXT_MAX], err[256];
	int64_t			 id;

	/* Each waiver record alerts two webhooks (the outbox). */
	px_store_set_waiver_outbox(fx->a, "sec\nsoc");
	blocked(fx, "bbbb0001-1", "@acme/w");
	/* Refusals: no such decision, the publisher approving. */
	a = approve_wait(fx, "bbbb0001-9", "alice", "", 1);
	assert_int_equal(a.rc, PX_STORE_NOTFOUND);
	assert_non_null(strstr(a.err, "no publish decision bbbb0001-9"));
	a = approve_wait(fx, "bbbb0001-1", "mallory", PUBLISHER, 1);
	assert_int_equal(a.rc, PX_STORE_REFUSED);
	assert_non_null(strstr(a.err, "publisher"));
	/* A bad reviewer name is refused at once, no callback. */
	{
		struct px_store_approve	ap;

		memset(&ap, 0, sizeof(ap));
		ap.decision = "bbbb0001-1";
		ap.reason = "why";
		ap.actor.by = "bad name";
		ap.expires_ms = 1796119300000LL + 1000;
		assert_null(px_store_waiver_approve_async(fx->a, &ap, wans_cb,
		    &a, err, sizeof(err)));
		assert_non_null(strstr(err, "reviewer"));
	}
	a = approve_wait(fx, "bbbb0001-1", "alice", "", 1);
	assert_int_equal(a.rc, 0);
	assert_true(a.w.id > 0);
	id = a.w.id;
	assert_string_equal(a.w.state, "active");
	assert_string_equal(a.w.decision, "bbbb0001-1");
	assert_string_equal(a.w.by, "alice");
	assert_int_equal(a.w.once, 1);
	k = kinds(fx, "waiver-approve");
	assert_int_equal(k.n, 1);
	assert_int_equal(k.status, 200);
	assert_string_equal(k.pkg, "@acme/w");
	assert_string_equal(k.msg, "a documented sample token");
	{
		time_t		sec = (time_t)(a.w.expires_ms / 1000);
		struct tm	tm;
		char		until[40];

		gmtime_r(&sec, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(text, sizeof(text), "waiver %lld for decision "
		    "bbbb0001-1 approved by alice, one use until %s.%03dZ",
		    (long long)id, until, (int)(a.w.expires_ms % 1000));
	}
	assert_string_equal(k.text, text);
	snprintf(text, sizeof(text), "-%lld", (long long)id);
	assert_non_null(strstr(k.reqid, text));
	l = list_wait(fx, 0, 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.id[0], id);
	assert_string_equal(l.state[0], "active");
	/* Another tarball: none applies, nothing recorded. */
	u = use_wait(fx, fx->a, "cccc0001-1", "@acme/w", SHA_B);
	assert_int_equal(u.rc, 0);
	assert_int_equal(kinds(fx, "waiver-use").n, 0);
	/* That tarball: used, recorded under the publish's request id. */
	u = use_wait(fx, fx->a, "cccc0001-2", "@acme/w", SHA_A);
	assert_int_equal(u.rc, 1);
	assert_int_equal(u.w.id, id);
	assert_int_equal(u.w.uses, 1);
	assert_string_equal(u.w.state, "used");
	k = kinds(fx, "waiver-use");
	assert_int_equal(k.n, 1);
	assert_string_equal(k.reqid, "cccc0001-2");
	assert_string_equal(k.who, PUBLISHER);
	assert_int_equal(k.status, 0);
	snprintf(text, sizeof(text), "waiver %lld (decision bbbb0001-1, "
	    "approved by alice) let this tarball through: use 1",
	    (long long)id);
	assert_string_equal(k.text, text);
	/* Spent. */
	u = use_wait(fx, fx->a, "cccc0001-3", "@acme/w", SHA_A);
	assert_int_equal(u.rc, 0);
	assert_int_equal(kinds(fx, "waiver-use").n, 1);
	l = list_wait(fx, 0, 1);
	assert_int_equal(l.n, 0);
	/* Revoke: once, then not found. */
	memset(&bob, 0, sizeof(bob));
	bob.by = "bob";
	bob.who = "";
	bob.client = "127.0.0.1:40001";
	bob.user_agent = "console";
	memset(&a, 0, sizeof(a));
	assert_non_null(px_store_waiver_revoke_async(fx->a, id, &bob,
	    "approved by mistake", 0, wans_cb, &a, err, sizeof(err)));
	assert_true(run_until(fx->base, &a.called, 10000));
	assert_int_equal(a.rc, 0);
	assert_string_equal(a.w.state, "revoked");
	k = kinds(fx, "waiver-revoke");
	assert_int_equal(k.n, 1);
	snprintf(text, sizeof(text), "waiver %lld for decision bbbb0001-1 "
	    "revoked by bob", (long long)id);
	assert_string_equal(k.text, text);
	assert_string_equal(k.msg, "approved by mistake");
	memset(&a, 0, sizeof(a));
	assert_non_null(px_store_waiver_revoke_async(fx->a, id, &bob, "again",
	    0, wans_cb, &a, err, sizeof(err)));
	assert_true(run_until(fx->base, &a.called, 10000));
	assert_int_equal(a.rc, PX_STORE_NOTFOUND);
	l = list_wait(fx, id, 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.state[0], "revoked");
	/* The JSON lines of the three records. */
	fflush(fx->jsonl);
	assert_non_null(strstr(fx->jbuf, "\"kind\":\"waiver-approve\""));
	assert_non_null(strstr(fx->jbuf, "\"kind\":\"waiver-use\""));
	assert_non_null(strstr(fx->jbuf, "\"kind\":\"waiver-revoke\""));
	outbox_check(fx, 6);
}

/* A cancelled lookup's callback never runs. */
static void
test_waiver_cancel(void **state)
{
	struct fx		*fx = *state;
	struct px_store_op	*op;
	struct wans		 u, a;
	char			 err[256];

	blocked(fx, "bbbb0002-1", "@acme/c");
	a = approve_wait(fx, "bbbb0002-1", "alice", "", 0);
	assert_int_equal(a.rc, 0);
	memset(&u, 0, sizeof(u));
	op = px_store_waiver_use_async(fx->a, "@acme/c", "1.0.0", SHA_A,
	    "cccc0002-1", "127.0.0.1:1", PUBLISHER, 0, wans_cb, &u, err,
	    sizeof(err));
	assert_non_null(op);
	px_store_op_cancel(op);
	/* A later use is answered: the cancelled one was before it. */
	a = use_wait(fx, fx->a, "cccc0002-2", "@acme/c", SHA_A);
	assert_int_equal(a.rc, 1);
	run_for(fx->base, 100);
	assert_int_equal(u.called, 0);
	/* Nothing to match: refused at once. */
	assert_null(px_store_waiver_use_async(fx->a, "@acme/c", "1.0.0", "ab",
	    "cccc0002-3", "127.0.0.1:1", PUBLISHER, 0, wans_cb, &u, err,
	    sizeof(err)));
}

/*
 * PostgreSQL, four gates (four connections) race one once waiver: each
 * reads it valid, then waits on the row a fifth session holds; released,
 * exactly one takes the use, the others find it spent (READ COMMITTED
 * checks the row again): one waiver-use record, uses 1.
 */
static void
test_pg_waiver_race(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*g[4];
	struct wans		 u[4], a;
	struct px_store_stat	 st;
	PGconn			*lock;
	PGresult		*res;
	char			 err[256], reqid[32];
	int			 i, j, used = 0, none = 0, all, early;

	blocked(fx, "bbbb0003-1", "@acme/race");
	a = approve_wait(fx, "bbbb0003-1", "alice", "", 1);
	assert_int_equal(a.rc, 0);
	for (i = 0; i < 4; i++) {
		g[i] = px_store_open_loop(fx->db, fx->base, NULL, err,
		    sizeof(err));
		if (g[i] == NULL)
			fail_msg("px_store_open_loop: %s", err);
	}
	for (j = 0; j < 250; j++) {
		run_for(fx->base, 20);
		for (i = 0, all = 1; i < 4; i++) {
			px_store_stat(g[i], &st);
			all = all && st.up;
		}
		if (all)
			break;
	}
	assert_true(all);
	lock = PQconnectdb(pg_url);
	assert_int_equal(PQstatus(lock), CONNECTION_OK);
	res = PQexec(lock, "BEGIN; SELECT id FROM waivers FOR UPDATE");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
	memset(u, 0, sizeof(u));
	for (i = 0; i < 4; i++) {
		snprintf(reqid, sizeof(reqid), "dddd0003-%d", i);
		assert_non_null(px_store_waiver_use_async(g[i], "@acme/race",
		    "1.0.0", SHA_A, reqid, "127.0.0.1:2", PUBLISHER, 0,
		    wans_cb, &u[i], err, sizeof(err)));
	}
	run_for(fx->base, 300);		/* all four wait on the row */
	for (i = 0, early = 0; i < 4; i++)
		early += u[i].called;
	res = PQexec(lock, "COMMIT");
	PQclear(res);
	PQfinish(lock);
	for (i = 0; i < 4; i++) {
		assert_true(run_until(fx->base, &u[i].called, 10000));
		if (u[i].rc == -1)
			fail_msg("gate %d: %s", i, u[i].err);
		assert_int_equal(early, 0);
		if (u[i].rc == 1)
			used++;
		else if (u[i].rc == 0)
			none++;
	}
	assert_int_equal(used, 1);
	assert_int_equal(none, 3);
	assert_int_equal(kinds(fx, "waiver-use").n, 1);
	for (i = 0; i < 4; i++)
		px_store_close(g[i]);
}

/* PostgreSQL down: a lookup, an approval, a list are refused at once. */
static void
test_pg_waiver_down(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*d;
	struct px_store_approve	 ap;
	struct px_store_stat	 st;
	struct wans		 u;
	struct wlist		 l;
	char			 err[256];
	int			 i;

	d = px_store_open_loop("postgresql://pubgate@127.0.0.1:1/x", fx->base,
	    NULL, err, sizeof(err));
	if (d == NULL)
		fail_msg("px_store_open_loop: %s", err);
	for (i = 0; i < 100; i++) {
		run_for(fx->base, 20);
		px_store_stat(d, &st);
		if (strcmp(st.state, "down") == 0)
			break;
	}
	assert_string_equal(st.state, "down");
	memset(&u, 0, sizeof(u));
	assert_null(px_store_waiver_use_async(d, "@acme/x", "1.0.0", SHA_A,
	    "eeee0004-1", "127.0.0.1:3", PUBLISHER, 0, wans_cb, &u, err,
	    sizeof(err)));
	assert_int_equal(px_store_err_status(err), 503);
	memset(&ap, 0, sizeof(ap));
	ap.decision = "bbbb0004-1";
	ap.reason = "why";
	ap.actor.by = "alice";
	ap.actor.who = "";
	ap.expires_ms = 1796119300000LL + 1000;
	assert_null(px_store_waiver_approve_async(d, &ap, wans_cb, &u, err,
	    sizeof(err)));
	assert_int_equal(px_store_err_status(err), 503);
	memset(&l, 0, sizeof(l));
	assert_null(px_store_waivers_async(d, 0, 0, 0, wrow_cb, &l,
	    wlist_done, &l, err, sizeof(err)));
	run_for(fx->base, 50);
	assert_int_equal(u.called, 0);
	assert_int_equal(l.done, 0);
	px_store_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiver_async, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_cancel, setup,
		    teardown),
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
		cmocka_unit_test_setup_teardown(test_waiver_async, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_cancel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_waiver_race, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_waiver_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_hostname, setup,
		    teardown),
	};

	if ((pg_url = getenv("PUBGATE_TEST_PG")) != NULL)
		return cmocka_run_group_tests_name("postgresql-async",
		    pg_tests, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
