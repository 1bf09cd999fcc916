/*
 * tests/unit/proxy/test_store.c: the decision store (proxy/store/store.c,
 * sqlite.c) and the --since parser of `pubgate log` (proxy/store/cmd_log.c), against a real
 * SQLite file in a temporary directory: write/read round trip, every
 * query filter, durability (a second connection sees a row as soon as
 * px_store_write() returns), JSON escaping of hostile strings, that
 * nothing token-like is ever stored, px_hex() and px_store_err_status()
 * (store.c).
 */
#include <sys/stat.h>

#include <fcntl.h>
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
#include <libpq-fe.h>
#include <sqlite3.h>

#include "policy.h"
#include "store.h"
#include "cmd_log.h"
#include "cmd_waiver.h"
#include "store_fx.h"

#define T0	1795514400000LL	/* 2026-11-24T10:00:00.000Z */

struct fx {
	char		 dir[64];
	char		 db[512];
	struct px_store	*a;
	FILE		*jsonl;
	char		*jbuf;
	size_t		 jlen;
};

/*
 * PUBGATE_TEST_PG: a PostgreSQL URL (tests/unit/proxy/store-pg.sh starts
 * the server); the cases that are not about SQLite's file then run
 * against it, each on an emptied database.
 */
static const char	*pg_url;
/* Request ids are unique (PostgreSQL refuses a second): req-1, req-2... */
static int		 reqno;

static int
setup(void **state)
{
	struct fx	*fx;
	char		 err[256];

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	reqno = 0;
	fx_db("test_audit", pg_url, fx->dir, fx->db);
	fx->jsonl = open_memstream(&fx->jbuf, &fx->jlen);
	assert_non_null(fx->jsonl);
	fx->a = px_store_open(fx->db, fx->jsonl, err, sizeof(err));
	if (fx->a == NULL)
		fail_msg("px_store_open: %s", err);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	px_store_close(fx->a);
	fclose(fx->jsonl);
	free(fx->jbuf);
	fx_rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A report as the engine fills it for a blocked publish. */
static void
mkreport(struct pol_report *r, const char *name, const char *version,
    enum pol_verdict v)
{
	memset(r, 0, sizeof(*r));
	r->verdict = v;
	r->status = POL_CONTINUE;
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->version, sizeof(r->version), "%s", version);
	snprintf(r->tag, sizeof(r->tag), "latest");
	snprintf(r->access, sizeof(r->access), "restricted");
	snprintf(r->rule_match, sizeof(r->rule_match), "@acme/*");
	memset(r->sha512_hex, 'a', 128);
	snprintf(r->integrity, sizeof(r->integrity), "sha512-qqqq==");
	r->body_bytes = 4000;
	r->tarball_bytes = 2900;
	r->unpacked_bytes = 10000;
	r->file_count = 3;
	if (v == POL_DENY) {
		snprintf(r->message, sizeof(r->message), "see the wiki");
		r->nreasons = 2;
		r->nreasons_total = 5;
		snprintf(r->reasons[0].rule, POL_RULE_ID_MAX,
		    "sourcemap.sources-content");
		snprintf(r->reasons[0].file, POL_FILE_MAX, "dist/cli.js.map");
		snprintf(r->reasons[0].text, POL_TEXT_MAX,
		    "source map embeds sourcesContent");
		snprintf(r->reasons[0].hint, POL_HINT_MAX,
		    "build without sourcesContent");
		r->reasons[0].offset = 17;
		snprintf(r->reasons[1].rule, POL_RULE_ID_MAX,
		    "secret.aws-access-key");
		snprintf(r->reasons[1].file, POL_FILE_MAX, "dist/cfg.js");
		snprintf(r->reasons[1].text, POL_TEXT_MAX, "AKIA****");
		r->reasons[1].offset = -1;
	}
}

static void
mkrec(struct px_store_rec *rec, int64_t t, const char *pkg,
    const struct pol_report *rep)
{
	static char	ids[16][24];
	char		*id = ids[reqno % 16];

	memset(rec, 0, sizeof(*rec));
	rec->time_ms = t;
	snprintf(id, sizeof(ids[0]), "req-%d", ++reqno);
	rec->request_id = id;
	rec->client = "127.0.0.1:50000";
	rec->who = "sha256:0123456789abcdef";
	rec->npm_command = "publish";
	rec->user_agent = "npm/11.0.0 node/v20";
	rec->kind = "publish";
	rec->package = pkg;
	rec->verdict = rep != NULL ? rep->verdict : POL_ALLOW;
	rec->status = rec->verdict == POL_ALLOW ? 201 : 403;
	rec->report = rep;
}

/* Collects a copy of the interesting fields of each row. */
#define MAXROWS	200
struct got {
	int	n;
	int64_t	id[MAXROWS];
	int64_t	time_ms[MAXROWS];
	char	package[MAXROWS][300];
	char	verdict[MAXROWS][8];
};

static int
collect(const struct px_store_row *r, void *arg)
{
	struct got	*g = arg;

	if (g->n >= MAXROWS)
		return 1;
	g->id[g->n] = r->id;
	g->time_ms[g->n] = r->time_ms;
	snprintf(g->package[g->n], sizeof(g->package[0]), "%s", r->package);
	snprintf(g->verdict[g->n], sizeof(g->verdict[0]), "%s", r->verdict);
	g->n++;
	return 0;
}

static int
check_full(const struct px_store_row *r, void *arg)
{
	int	*seen = arg;

	(*seen)++;
	assert_true(r->id > 0);
	assert_int_equal(r->time_ms, T0 + 123);
	assert_string_equal(r->time, "2026-11-24T10:00:00.123Z");
	assert_string_equal(r->request_id, "req-1");
	assert_string_equal(r->client, "127.0.0.1:50000");
	assert_string_equal(r->who, "sha256:0123456789abcdef");
	assert_string_equal(r->npm_command, "publish");
	assert_string_equal(r->user_agent, "npm/11.0.0 node/v20");
	assert_string_equal(r->kind, "publish");
	assert_string_equal(r->package, "@acme/leak");
	assert_string_equal(r->version, "1.2.3");
	assert_string_equal(r->tag, "latest");
	assert_string_equal(r->access, "restricted");
	assert_string_equal(r->verdict, "block");
	assert_int_equal(r->status, 403);
	assert_string_equal(r->rule_match, "@acme/*");
	assert_string_equal(r->message, "see the wiki");
	assert_string_equal(r->inspection, "complete");
	assert_int_equal(strlen(r->sha512), 128);
	assert_string_equal(r->integrity, "sha512-qqqq==");
	assert_int_equal(r->body_bytes, 4000);
	assert_int_equal(r->tarball_bytes, 2900);
	assert_int_equal(r->unpacked_bytes, 10000);
	assert_int_equal(r->file_count, 3);
	assert_int_equal(r->reasons_total, 5);
	assert_int_equal(r->nreasons, 2);
	assert_string_equal(r->reasons[0].rule, "sourcemap.sources-content");
	assert_string_equal(r->reasons[0].file, "dist/cli.js.map");
	assert_string_equal(r->reasons[0].text,
	    "source map embeds sourcesContent");
	assert_string_equal(r->reasons[0].hint, "build without sourcesContent");
	assert_int_equal(r->reasons[0].offset, 17);
	assert_string_equal(r->reasons[1].rule, "secret.aws-access-key");
	assert_int_equal(r->reasons[1].offset, -1);
	return 0;
}

static void
test_round_trip(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	char			 err[256];
	int			 seen = 0;

	mkreport(&rep, "@acme/leak", "1.2.3", POL_DENY);
	mkrec(&rec, T0 + 123, "@acme%2fleak", &rep);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, check_full, &seen, err,
	    sizeof(err)), 1);
	assert_int_equal(seen, 1);

	/* The JSON line went out, flushed, with the same facts. */
	fflush(fx->jsonl);
	assert_non_null(strstr(fx->jbuf, "\"package\":\"@acme/leak\""));
	assert_non_null(strstr(fx->jbuf, "\"verdict\":\"block\""));
	assert_non_null(strstr(fx->jbuf,
	    "\"rule\":\"sourcemap.sources-content\""));
	assert_non_null(strstr(fx->jbuf, "\"time\":\"2026-11-24T10:00:00.123Z\""));
	/* Exactly one line. */
	assert_int_equal(fx->jbuf[fx->jlen - 1], '\n');
	assert_true(strchr(fx->jbuf, '\n') == fx->jbuf + fx->jlen - 1);
	assert_int_equal(px_store_jsonl_errors(fx->a), 0);
}

static int
status_cb(const struct px_store_row *r, void *arg)
{
	*(int *)arg = r->status;
	return 0;
}

static void
test_set_status(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	char			 err[256], *second;
	int64_t			 id = 0;
	int			 status = -1;

	mkreport(&rep, "@acme/ok", "1.0.0", POL_ALLOW);
	mkrec(&rec, T0, "@acme/ok", &rep);
	rec.status = 0;		/* the upstream has not answered yet */
	assert_int_equal(px_store_write_id(fx->a, &rec, &id), 0);
	assert_true(id > 0);
	assert_int_equal(px_store_set_status(fx->a, id, 201), 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, status_cb, &status, err,
	    sizeof(err)), 1);
	assert_int_equal(status, 201);
	/* Only a pending status is replaced; unknown ids fail. */
	assert_int_equal(px_store_set_status(fx->a, id, 500), -1);
	assert_int_equal(px_store_set_status(fx->a, id + 100, 201), -1);
	assert_int_equal(px_store_set_status(fx->a, id, 0), -1);
	assert_int_equal(px_store_query(fx->a, &q, status_cb, &status, err,
	    sizeof(err)), 1);
	assert_int_equal(status, 201);
	/* The stream got the record, then the update, as two lines. */
	fflush(fx->jsonl);
	second = strchr(fx->jbuf, '\n');
	assert_non_null(second);
	second++;
	second[-1] = '\0';	/* look at the first line alone */
	assert_non_null(strstr(fx->jbuf, "\"status\":0,"));
	assert_null(strstr(fx->jbuf, "\"update\""));
	second[-1] = '\n';
	assert_non_null(strstr(second, "\"status\":201,"));
	assert_non_null(strstr(second, ",\"update\":true}\n"));
	assert_int_equal(strchr(second, '\n') + 1 - fx->jbuf, fx->jlen);
}

static void
test_non_publish_record(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct pol_reason	 why;
	FILE			*out;
	char			*buf = NULL, err[256];
	size_t			 len = 0;

	memset(&why, 0, sizeof(why));
	snprintf(why.rule, sizeof(why.rule), "write.dist-tag");
	snprintf(why.text, sizeof(why.text), "dist-tag beta not allowed");
	why.offset = -1;
	mkrec(&rec, T0, "@acme/x", NULL);
	rec.kind = "dist-tag";
	rec.version = "1.0.0";
	rec.tag = "beta";
	rec.verdict = POL_DENY;
	rec.status = 403;
	rec.reason = &why;
	rec.who = NULL;
	rec.npm_command = NULL;
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	memset(&q, 0, sizeof(q));
	out = open_memstream(&buf, &len);
	assert_int_equal(px_store_query_json(fx->a, &q, out, err,
	    sizeof(err)), 1);
	fclose(out);
	assert_non_null(strstr(buf, "\"kind\":\"dist-tag\""));
	assert_non_null(strstr(buf, "\"tag\":\"beta\""));
	assert_non_null(strstr(buf, "\"who\":\"\""));
	assert_non_null(strstr(buf, "\"rule\":\"write.dist-tag\""));
	assert_non_null(strstr(buf, "\"inspection\":\"\""));
	assert_int_equal(buf[0], '[');
	free(buf);
}

static void
test_filters(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 deny, allow;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct got		*g;
	char			 err[256];
	static const char	*pkgs[] = { "@acme/a", "@acme/b", "@acme2/a",
	    "left-pad", "@acme/a" };
	int			 i;

	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	mkreport(&deny, "x", "1.0.0", POL_DENY);
	mkreport(&allow, "x", "1.0.0", POL_ALLOW);
	/* Records i = 0..4 at T0 + i s; odd ones blocked. */
	for (i = 0; i < 5; i++) {
		mkrec(&rec, T0 + i * 1000, pkgs[i], i % 2 ? &deny : &allow);
		assert_int_equal(px_store_write(fx->a, &rec), 0);
	}

	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 5);
	/* Newest first. */
	for (i = 0; i < 5; i++)
		assert_int_equal(g->time_ms[i], T0 + (4 - i) * 1000);

	memset(g, 0, sizeof(*g));
	q.blocked_only = 1;
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 2);
	assert_string_equal(g->package[0], "left-pad");
	assert_string_equal(g->package[1], "@acme/b");
	assert_string_equal(g->verdict[0], "block");

	memset(g, 0, sizeof(*g));
	memset(&q, 0, sizeof(q));
	q.since_ms = T0 + 2000;
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 3);

	memset(g, 0, sizeof(*g));
	memset(&q, 0, sizeof(q));
	q.package_glob = "@acme/*";
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 3);

	memset(g, 0, sizeof(*g));
	q.package_glob = "*a";
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 3);

	/* A scope is that scope only, not a prefix of another. */
	memset(g, 0, sizeof(*g));
	memset(&q, 0, sizeof(q));
	q.scope = "@acme";
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 3);
	memset(g, 0, sizeof(*g));
	q.scope = "acme2";
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 1);
	assert_string_equal(g->package[0], "@acme2/a");
	q.scope = "@a/b";
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "scope"));

	/* Filters combine. */
	memset(g, 0, sizeof(*g));
	memset(&q, 0, sizeof(q));
	q.scope = "@acme";
	q.blocked_only = 1;
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 1);
	assert_string_equal(g->package[0], "@acme/b");

	memset(g, 0, sizeof(*g));
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 2);
	assert_int_equal(g->time_ms[0], T0 + 4000);
	q.limit = -1;
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), -1);
	free(g);
}

static void
test_default_limit(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct got		*g;
	char			 err[256];
	int			 i;

	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	for (i = 0; i < 120; i++) {
		mkrec(&rec, T0 + i, "p", NULL);
		assert_int_equal(px_store_write(fx->a, &rec), 0);
	}
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 100);
	memset(g, 0, sizeof(*g));
	q.limit = 1000000;	/* capped at 10000 */
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 120);
	free(g);
}

static int
count_cb(void *arg, int n, char **v, char **c)
{
	*(int *)arg = atoi(v[0]);
	return 0;
}

static void
test_durable_second_connection(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	struct stat		 sb;
	sqlite3			*db;
	char			 wal[600];
	int			 i, n;

	assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	mkreport(&rep, "@acme/x", "1.0.0", POL_ALLOW);
	for (i = 1; i <= 3; i++) {
		mkrec(&rec, T0 + i, "@acme/x", &rep);
		assert_int_equal(px_store_write(fx->a, &rec), 0);
		/* Visible to another connection at once. */
		n = -1;
		assert_int_equal(sqlite3_exec(db,
		    "SELECT count(*) FROM decisions", count_cb, &n, NULL),
		    SQLITE_OK);
		assert_int_equal(n, i);
	}
	/* WAL mode, and the file is private to its owner. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode", NULL, NULL,
	    NULL), SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", fx->db);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(stat(fx->db, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	sqlite3_close(db);

	/* A fresh store object on the same file sees everything too. */
	{
		struct px_store		*b;
		struct px_store_query	 q;
		struct got		*g;
		char			 err[256];

		g = calloc(1, sizeof(*g));
		assert_non_null(g);
		b = px_store_open_existing(fx->db, err, sizeof(err));
		assert_non_null(b);
		memset(&q, 0, sizeof(q));
		assert_int_equal(px_store_query(b, &q, collect, g, err,
		    sizeof(err)), 3);
		px_store_close(b);
		free(g);
	}
}

static void
test_json_escaping(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	FILE			*out;
	char			*buf = NULL, err[256], want_pkg[128],
				 want_ua[128];
	const char		*bad3;
	size_t			 len = 0, i;

	mkreport(&rep, "", "1.0.0\"\n", POL_DENY);
	snprintf(rep.reasons[0].file, POL_FILE_MAX, "a\\b\tc\x01\x7f.js");
	/* Invalid UTF-8: a lone continuation byte and an overlong '/'. */
	mkrec(&rec, T0, "@x/a\"b\\c\x1b[31m\x80\xc0\xafz\xc3\xa9", &rep);
	rec.user_agent = "npm/\xe2\x82\xac \xed\xa0\x80";	/* euro; surrogate */
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	fflush(fx->jsonl);
	/*
	 * SQLite keeps the bytes and JSON shows each as U+FFFD; PostgreSQL
	 * refuses invalid text, so its backend stores (and logs) '?'.
	 */
	bad3 = pg_url != NULL ? "???" : "\\ufffd\\ufffd\\ufffd";
	snprintf(want_pkg, sizeof(want_pkg), "\"package\":"
	    "\"@x/a\\\"b\\\\c\\u001b[31m%sz\xc3\xa9\"", bad3);
	snprintf(want_ua, sizeof(want_ua), "\"user_agent\":\"npm/\xe2\x82\xac "
	    "%s\"", bad3);
	assert_non_null(strstr(fx->jbuf, want_pkg));
	assert_non_null(strstr(fx->jbuf,
	    "\"version\":\"1.0.0\\\"\\u000a\""));
	assert_non_null(strstr(fx->jbuf,
	    "\"file\":\"a\\\\b\\u0009c\\u0001\\u007f.js\""));
	assert_non_null(strstr(fx->jbuf, want_ua));
	/* One line: no raw control byte anywhere but the final newline. */
	for (i = 0; i + 1 < fx->jlen; i++)
		assert_true((unsigned char)fx->jbuf[i] >= 0x20 &&
		    fx->jbuf[i] != 0x7f);

	/* The query output escapes the stored value the same way. */
	memset(&q, 0, sizeof(q));
	out = open_memstream(&buf, &len);
	assert_int_equal(px_store_query_json(fx->a, &q, out, err,
	    sizeof(err)), 1);
	fclose(out);
	assert_non_null(strstr(buf, want_pkg));
	free(buf);
}

static void
test_bounded_strings(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	char			 ua[2000], err[256];
	size_t			 i;
	struct got		*g;

	/* 2-byte characters: a cut must not split one. */
	for (i = 0; i + 2 < sizeof(ua); i += 2) {
		ua[i] = (char)0xc3;
		ua[i + 1] = (char)0xa9;
	}
	ua[i] = '\0';
	mkrec(&rec, T0, ua + 1, NULL);	/* starts mid-character, long */
	rec.user_agent = ua;
	rec.request_id = ua;
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 1);
	assert_true(strlen(g->package[0]) <= 256);
	assert_true(strlen(g->package[0]) > 200);
	/* Ends on a whole character. */
	i = strlen(g->package[0]);
	assert_int_equal((unsigned char)g->package[0][i - 1], 0xa9);
	assert_int_equal((unsigned char)g->package[0][i - 2], 0xc3);
	free(g);
}

static int
schema_col_cb(void *arg, int n, char **v, char **c)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (v[i] == NULL || strcmp(c[i], "name") != 0)
			continue;
		if (strcasestr(v[i], "token") || strcasestr(v[i], "auth") ||
		    strcasestr(v[i], "cookie") || strcasestr(v[i], "secret") ||
		    strcasestr(v[i], "password"))
			(*(int *)arg)++;
	}
	return 0;
}

/* grep_file() : whether needle occurs in the file at path. */
static int
grep_file(const char *path, const char *needle)
{
	FILE	*f;
	char	*buf;
	size_t	 n, nl = strlen(needle), i;
	int	 found = 0;

	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	buf = malloc(8 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, 8 << 20, f);
	fclose(f);
	for (i = 0; i + nl <= n && !found; i++)
		found = memcmp(buf + i, needle, nl) == 0;
	free(buf);
	return found;
}

static void
test_no_token_fields(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	sqlite3			*db;
	char			 path[600], err[256];
	struct got		*g;
	int			 bad = 0;
	static const char	 tok[] = "npm_SECRETtoken0123456789abcdefABCDEF";

	/* A token passed as `who` by mistake is not stored. */
	mkrec(&rec, T0, "@acme/x", NULL);
	rec.who = tok;
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	rec.who = "deadbeefDEADBEEF";	/* not lowercase hex */
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	rec.who = "0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0";	/* 65 digits: too long for SHA-256 */
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	fflush(fx->jsonl);
	assert_null(strstr(fx->jbuf, "SECRET"));
	assert_null(strstr(fx->jbuf, "DEADBEEF"));
	assert_non_null(strstr(fx->jbuf, "\"who\":\"(invalid)\""));
	assert_false(grep_file(fx->db, "SECRET"));
	snprintf(path, sizeof(path), "%s-wal", fx->db);
	assert_false(grep_file(path, "SECRET"));

	/* No column could hold a credential. */
	assert_int_equal(sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT name FROM "
	    "pragma_table_info('decisions') UNION ALL SELECT name FROM "
	    "pragma_table_info('reasons')", schema_col_cb, &bad, NULL),
	    SQLITE_OK);
	assert_int_equal(bad, 0);
	sqlite3_close(db);

	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, collect, g, err,
	    sizeof(err)), 3);
	free(g);
}

static void
test_open_errors(void **state)
{
	struct fx	*fx = *state;
	char		 path[160], err[256];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/missing.db", fx->dir);
	assert_null(px_store_open_existing(path, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.db"));
	assert_int_equal(access(path, F_OK), -1);	/* not created */

	snprintf(path, sizeof(path), "%s/junk.db", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, just some text long enough to fail "
	    "the sqlite header check.................................\n", f);
	fclose(f);
	assert_null(px_store_open(path, NULL, err, sizeof(err)));
	assert_null(px_store_open_existing(path, err, sizeof(err)));

	/* An empty SQLite database is not a decision store. */
	snprintf(path, sizeof(path), "%s/empty.db", fx->dir);
	{
		sqlite3	*db;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL,
		    NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_null(px_store_open_existing(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a pubgate"));

	/* A newer schema is refused rather than misread. */
	{
		sqlite3	*db;

		assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99",
		    NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_null(px_store_open(fx->db, NULL, err, sizeof(err)));
}

/* run_log() : runs `pubgate log ARGS` with stdout in a file; its text. */
static char *
run_log(struct fx *fx, int *rc, const char *a1, const char *a2)
{
	char	 path[160], *argv[8], *buf;
	FILE	*f;
	int	 fd, saved, argc = 0;
	long	 n;

	snprintf(path, sizeof(path), "%s/stdout", fx->dir);
	fflush(stdout);
	saved = dup(1);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved != -1 && fd != -1);
	dup2(fd, 1);
	close(fd);
	argv[argc++] = (char *)"log";
	argv[argc++] = (char *)"--db";
	argv[argc++] = fx->db;
	if (a1 != NULL)
		argv[argc++] = (char *)a1;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	argv[argc] = NULL;
	*rc = px_log_cmd_main(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	n = (long)fread(buf, 1, 65535, f);
	assert_true(n >= 0);
	fclose(f);
	return buf;
}

static void
test_log_cmd_text(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	char			*out;
	int			 rc;

	mkreport(&rep, "", "1.2.3", POL_DENY);
	mkrec(&rec, T0, "@acme/evil\x1b]0;pwned\x07\xc2\x9bx", &rep);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	mkreport(&rep, "", "2.0.0", POL_ALLOW);
	mkrec(&rec, T0 + 1000, "@acme/ok", &rep);
	rec.status = 0;		/* recorded before the upstream answers */
	assert_int_equal(px_store_write(fx->a, &rec), 0);

	out = run_log(fx, &rc, NULL, NULL);
	assert_int_equal(rc, 0);
	/* Newest first, one line each, no control character. */
	assert_non_null(strstr(out, "2026-11-24T10:00:01.000Z allow   - "
	    "publish @acme/ok@2.0.0 who=sha256:0123456789abcdef\n"));
	assert_non_null(strstr(out, "2026-11-24T10:00:00.000Z block 403 "
	    "publish @acme/evil?]0;pwned??x@1.2.3 who=sha256:0123456789abcdef"
	    " reasons: sourcemap.sources-content (dist/cli.js.map): source map"
	    " embeds sourcesContent; secret.aws-access-key (dist/cfg.js): "
	    "AKIA****; and 3 more\n"));
	assert_true(strstr(out, "allow") < strstr(out, "block"));
	assert_null(strchr(out, '\x1b'));
	free(out);

	out = run_log(fx, &rc, "--blocked", "--json");
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "@acme/ok"));
	assert_non_null(strstr(out, "\"package\":\"@acme/evil\\u001b"));
	free(out);

	out = run_log(fx, &rc, "--limit", "0");
	assert_int_equal(rc, 2);
	free(out);
	out = run_log(fx, &rc, "--scope", "@a/b");
	assert_int_equal(rc, 2);
	free(out);
	out = run_log(fx, &rc, "extra", NULL);
	assert_int_equal(rc, 2);
	free(out);
}

static void
test_parse_since(void **state)
{
	const int64_t	now = T0 + 500;
	int64_t		v;

	(void)state;
	assert_int_equal(px_log_cmd_parse_since("15m", now, &v), 0);
	assert_int_equal(v, now - 15 * 60000);
	assert_int_equal(px_log_cmd_parse_since("2h", now, &v), 0);
	assert_int_equal(v, now - 2 * 3600000);
	assert_int_equal(px_log_cmd_parse_since("7d", now, &v), 0);
	assert_int_equal(v, now - 7 * 86400000LL);
	assert_int_equal(px_log_cmd_parse_since("1h30m", now, &v), 0);
	assert_int_equal(v, now - 90 * 60000);
	assert_int_equal(px_log_cmd_parse_since("90s", now, &v), 0);
	assert_int_equal(v, now - 90000);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24T10:00:00Z", now,
	    &v), 0);
	assert_int_equal(v, T0);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24", now, &v), 0);
	assert_int_equal(v, T0 - 10 * 3600000LL);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24T10:00Z", now, &v),
	    0);
	assert_int_equal(v, T0);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24T11:00:00.25+01:00",
	    now, &v), 0);
	assert_int_equal(v, T0 + 250);
	assert_int_equal(px_log_cmd_parse_since("", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("15", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("15x", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("m", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("-5m", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("2026-02-31", now, &v), -1);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24T25:00Z", now, &v),
	    -1);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24Tjunk", now, &v),
	    -1);
	assert_int_equal(px_log_cmd_parse_since("2026-11-24T10:00:00Zx", now,
	    &v), -1);
}

/* PostgreSQL: what its backend checks that SQLite's does not need to. */
static void
test_pg_specific(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*b;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct got		*g;
	char			 err[256], url[600], bad[8];
	int			 v = 0;

	/* Invalid UTF-8 from a client is stored, never a refused insert. */
	bad[0] = 'n';
	bad[1] = (char)0xff;
	bad[2] = (char)0xc3;
	bad[3] = '\0';
	mkrec(&rec, T0, "@acme/x", NULL);
	rec.user_agent = bad;
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	/* Another store object (another gate) sees it at once. */
	b = px_store_open_existing(fx->db, err, sizeof(err));
	if (b == NULL)
		fail_msg("px_store_open_existing: %s", err);
	assert_string_equal(px_store_backend(b), "postgresql");
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(b, &q, collect, g, err, sizeof(err)),
	    1);
	assert_string_equal(g->package[0], "@acme/x");
	free(g);
	px_store_close(b);
	/* Migrating again is a no-op; a newer schema is refused. */
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5);
	/* A store of version 1 (before waivers) is brought forward. */
	assert_int_equal(fx_pg_sql(pg_url,
	    "DROP TABLE waivers, outbox; DROP INDEX "
	    "decisions_request_kind; DELETE FROM pubgate_schema WHERE "
	    "version >= 2; ALTER TABLE decisions DROP COLUMN npm_user,"
	    " DROP COLUMN path, DROP COLUMN connect_target,"
	    " DROP COLUMN policy_sha256, DROP COLUMN policy_name,"
	    " DROP COLUMN policy_revision, DROP COLUMN tag_old,"
	    " DROP COLUMN tag_new, DROP COLUMN files_listed,"
	    " DROP COLUMN files_total, DROP COLUMN files"), 0);
	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5);
	assert_int_equal(fx_pg_sql(pg_url, "SELECT count(*) FROM waivers"), 0);
	assert_int_equal(fx_pg_sql(pg_url,
	    "INSERT INTO pubgate_schema (version) "
	    "VALUES (99)"), 0);
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer"));
	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	/* A password in the URL is refused (it would reach logs). */
	snprintf(url, sizeof(url), "%s", fx->db);
	assert_non_null(strstr(url, "pubgate@"));
	memcpy(strstr(url, "pubgate@"), "pubgate:", 8);
	{
		char	u2[700];
		char	*at = strchr(url + 13, ':');

		assert_non_null(at);
		snprintf(u2, sizeof(u2), "%.*s:hunter2@%s", (int)(at - url),
		    url, strchr(url + 13, '@') != NULL ?
		    strchr(url + 13, '@') + 1 : at + 1);
		assert_null(px_store_open_existing(u2, err, sizeof(err)));
		assert_non_null(strstr(err, "password in the URL"));
		assert_null(strstr(err, "hunter2"));
	}
	/* Nobody listening: a clear error, no store. */
	assert_null(px_store_open("postgresql://pubgate@127.0.0.1:1/x",
	    NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "postgresql:"));
}

/* ------------------------------------------------------------ waivers */

/*
 * blocked() : records a blocked publish of pkg@1.0.0 (tarball SHA_A,
 * read whole, every reason known) as decision reqid.
 */
static void
blocked(struct px_store *a, const char *reqid, const char *pkg)
{
	struct pol_report	*r;
	struct px_store_rec	 rec;

	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	mkreport(r, pkg, "1.0.0", POL_DENY);
	r->status = POL_DONE;
	r->nreasons_total = r->nreasons;
	mkrec(&rec, T0, pkg, r);
	rec.request_id = reqid;
	assert_int_equal(px_store_write(a, &rec), 0);
	free(r);
}

/* approve_args() : fx_approve_args(), with the policy's waivable rules. */
static void
approve_args(struct px_store_approve *ap, const char *decision,
    const char *by, int once, int64_t now, int64_t dur)
{
	fx_approve_args(ap, decision, by, once, now, now + dur);
	ap->waivable = pol_reason_waivable;
}

struct wgot {
	int			n;
	struct fx_waiver	w;	/* the last one */
};

static int
wcollect(const struct px_store_waiver *w, void *arg)
{
	struct wgot	*g = arg;

	g->n++;
	fx_waiver_copy(&g->w, w);
	return 0;
}

/* kinds() : how many records of kind the store holds. */
struct kcount {
	const char	*kind;
	int		 n;
	char		 text[POL_TEXT_MAX];
	char		 reqid[64];
	char		 sha512[130];
};

static int
kind_cb(const struct px_store_row *r, void *arg)
{
	struct kcount	*k = arg;

	if (strcmp(r->kind, k->kind) != 0)
		return 0;
	if (k->n++ == 0) {
		snprintf(k->text, sizeof(k->text), "%s", r->nreasons > 0 ?
		    r->reasons[0].text : "");
		snprintf(k->reqid, sizeof(k->reqid), "%s", r->request_id);
		snprintf(k->sha512, sizeof(k->sha512), "%s", r->sha512);
	}
	return 0;
}

static int
kinds(struct px_store *a, const char *kind, struct kcount *k)
{
	struct px_store_query	 q;
	char			 err[256];

	memset(k, 0, sizeof(*k));
	k->kind = kind;
	memset(&q, 0, sizeof(q));
	q.limit = 1000;
	assert_true(px_store_query(a, &q, kind_cb, k, err, sizeof(err)) >= 0);
	return k->n;
}

static int	 use_n;	/* request ids of use(): feedface-1, -2... */

static int
use(struct px_store *a, const char *pkg, const char *ver, const char *sha,
    int64_t now)
{
	char		 err[256], reqid[32];
	int		 r;

	/* Each publish has its own request id (unique per kind). */
	snprintf(reqid, sizeof(reqid), "feedface-%d", ++use_n);
	r = px_store_waiver_use(a, pkg, ver, sha, reqid,
	    "127.0.0.1:1", PUBLISHER, now, NULL, NULL, err,
	    sizeof(err));
	if (r == -1)
		fail_msg("px_store_waiver_use: %s", err);
	return r;
}

/* A once waiver: exactly that tarball, that version, one time. */
static void
test_waiver_once(void **state)
{
	struct fx		*fx = *state;
	struct px_store_approve	 ap;
	struct wgot		 g;
	struct kcount		 k;
	char			 err[256];
	int64_t			 id = 0, now = T0 + 1000;

	blocked(fx->a, "abcd0001-1", "@acme/x");
	approve_args(&ap, "abcd0001-1", "alice", 1, now, 3600 * 1000);
	if (px_store_waiver_approve(fx->a, &ap, &id, err, sizeof(err)) != 0)
		fail_msg("approve: %s", err);
	assert_true(id > 0);
	assert_int_equal(kinds(fx->a, "waiver-approve", &k), 1);
	assert_non_null(strstr(k.text, "approved by alice"));
	assert_non_null(strstr(k.text, "one use"));
	assert_string_equal(k.sha512, SHA_A);
	/* A different tarball, version or package is never let through. */
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_B, now + 1), 0);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.1", SHA_A, now + 1), 0);
	assert_int_equal(use(fx->a, "@acme/y", "1.0.0", SHA_A, now + 1), 0);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", "", now + 1), 0);
	assert_int_equal(kinds(fx->a, "waiver-use", &k), 0);
	/* The URL's form of the name is the same package. */
	assert_int_equal(use(fx->a, "@acme%2fx", "1.0.0", SHA_A, now + 2), 1);
	assert_int_equal(kinds(fx->a, "waiver-use", &k), 1);
	{
		char	want[32];

		snprintf(want, sizeof(want), "feedface-%d", use_n);
		assert_string_equal(k.reqid, want);
	}
	assert_non_null(strstr(k.text, "use 1"));
	/* Spent. */
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 3), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(px_store_waivers(fx->a, 0, 0, 0, wcollect, &g, err,
	    sizeof(err)), 1);
	assert_int_equal(g.w.id, id);
	assert_int_equal(g.w.uses, 1);
	assert_string_equal(g.w.state, "used");
	assert_string_equal(g.w.by, "alice");
	assert_string_equal(g.w.decision, "abcd0001-1");
	assert_string_equal(g.w.sha512, SHA_A);
	memset(&g, 0, sizeof(g));
	assert_int_equal(px_store_waivers(fx->a, 0, 1, 0, wcollect, &g, err,
	    sizeof(err)), 0);
}

/* Without --once: any number of uses until it expires, then none. */
static void
test_waiver_until_expiry(void **state)
{
	struct fx		*fx = *state;
	struct px_store_approve	 ap;
	struct wgot		 g;
	struct kcount		 k;
	char			 err[256];
	int64_t			 id = 0, now = T0 + 1000;

	blocked(fx->a, "abcd0002-2", "@acme/x");
	approve_args(&ap, "abcd0002-2", "alice", 0, now, 2000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), 0);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 10), 1);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 1999), 1);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 2000), 0);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 9999), 0);
	assert_int_equal(kinds(fx->a, "waiver-use", &k), 2);
	/* Listed as of the real clock: long expired. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(px_store_waivers(fx->a, id, 0, 0, wcollect, &g, err,
	    sizeof(err)), 1);
	assert_string_equal(g.w.state, "expired");
	assert_int_equal(g.w.uses, 2);
	assert_int_equal(g.w.once, 0);
	/* An expiry before the start is refused. */
	approve_args(&ap, "abcd0002-2", "alice", 0, now, 0);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
}

/* Revoked: no more uses; the revocation is a record; twice is refused. */
static void
test_waiver_revoke(void **state)
{
	struct fx		*fx = *state;
	struct px_store_approve	 ap;
	struct px_store_actor	 bob;
	struct wgot		 g;
	struct kcount		 k;
	char			 err[256];
	int64_t			 id = 0, now;
	struct timespec		 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000;
	blocked(fx->a, "abcd0003-3", "@acme/x");
	approve_args(&ap, "abcd0003-3", "alice", 0, now, 3600 * 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(px_store_waivers(fx->a, 0, 1, 0, wcollect, &g, err,
	    sizeof(err)), 1);
	assert_string_equal(g.w.state, "active");
	memset(&bob, 0, sizeof(bob));
	bob.by = "bob";
	bob.who = "";
	bob.client = "cli";
	bob.user_agent = "pubgate revoke";
	assert_int_equal(px_store_waiver_revoke(fx->a, id, &bob, "approved "
	    "the wrong decision", now + 5, err, sizeof(err)), 0);
	assert_int_equal(use(fx->a, "@acme/x", "1.0.0", SHA_A, now + 6), 0);
	assert_int_equal(kinds(fx->a, "waiver-revoke", &k), 1);
	assert_non_null(strstr(k.text, "revoked by bob"));
	assert_int_equal(px_store_waiver_revoke(fx->a, id, &bob, "again",
	    now + 7, err, sizeof(err)), PX_STORE_NOTFOUND);
	assert_int_equal(px_store_waiver_revoke(fx->a, id + 100, &bob, "none",
	    now + 7, err, sizeof(err)), PX_STORE_NOTFOUND);
	assert_int_equal(px_store_waiver_revoke(fx->a, id, &bob, "",
	    now + 7, err, sizeof(err)), PX_STORE_REFUSED);
	memset(&g, 0, sizeof(g));
	assert_int_equal(px_store_waivers(fx->a, id, 0, 0, wcollect, &g, err,
	    sizeof(err)), 1);
	assert_string_equal(g.w.state, "revoked");
}

/* What approve refuses, and that a refusal writes nothing. */
static void
test_waiver_refusals(void **state)
{
	struct fx		*fx = *state;
	struct px_store_approve	 ap;
	struct pol_report	*r;
	struct px_store_rec	 rec;
	struct kcount		 k;
	char			 err[256];
	int64_t			 id = 0, now = T0 + 1000;

	approve_args(&ap, "abcd0009-9", "alice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_NOTFOUND);
	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	/* An allowed publish: nothing to approve. */
	mkreport(r, "@acme/ok", "1.0.0", POL_ALLOW);
	r->status = POL_DONE;
	mkrec(&rec, T0, "@acme/ok", r);
	rec.request_id = "abcd0004-4";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	approve_args(&ap, "abcd0004-4", "alice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	assert_non_null(strstr(err, "not blocked"));
	/* Reasons past the cap were never seen. */
	mkreport(r, "@acme/many", "1.0.0", POL_DENY);
	r->status = POL_DONE;
	mkrec(&rec, T0, "@acme/many", r);
	rec.request_id = "abcd0005-5";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	approve_args(&ap, "abcd0005-5", "alice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	/* A tarball not read whole (over a limit). */
	mkreport(r, "@acme/big", "1.0.0", POL_DENY);
	r->status = POL_ERR_LIMIT;
	r->nreasons_total = r->nreasons;
	mkrec(&rec, T0, "@acme/big", r);
	rec.request_id = "abcd0006-6";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	approve_args(&ap, "abcd0006-6", "alice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	assert_non_null(strstr(err, "not read whole"));
	/* The gate's own inspection reason. */
	mkreport(r, "@acme/int", "1.0.0", POL_DENY);
	r->status = POL_DONE;
	r->nreasons_total = r->nreasons;
	snprintf(r->reasons[1].rule, POL_RULE_ID_MAX, "integrity.mismatch");
	mkrec(&rec, T0, "@acme/int", r);
	rec.request_id = "abcd0007-7";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	approve_args(&ap, "abcd0007-7", "alice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	assert_non_null(strstr(err, "integrity.mismatch"));
	free(r);
	/* The publisher cannot approve their own publish. */
	blocked(fx->a, "abcd0008-8", "@acme/x");
	approve_args(&ap, "abcd0008-8", "0123456789abcdef", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	assert_non_null(strstr(err, "publisher"));
	approve_args(&ap, "abcd0008-8", "admin", 1, now, 1000);
	ap.actor.who = PUBLISHER;
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	/* A reason and a name are required and plain. */
	approve_args(&ap, "abcd0008-8", "alice", 1, now, 1000);
	ap.reason = "";
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	ap.reason = "line\nbreak";
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	approve_args(&ap, "abcd0008-8", "al ice", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), PX_STORE_REFUSED);
	assert_int_equal(kinds(fx->a, "waiver-approve", &k), 0);
	/* Another reviewer may. */
	approve_args(&ap, "abcd0008-8", "bob", 1, now, 1000);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), 0);
}

/* The CLI's parsing of --expires, waiver ids and decision ids. */
static void
test_waiver_cli_parse(void **state)
{
	int64_t	v = 0;

	(void)state;
	assert_int_equal(px_waiver_cmd_parse_expires("2s", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(px_waiver_cmd_parse_expires("7d", &v), 0);
	assert_int_equal(v, 7LL * 86400 * 1000);
	assert_int_equal(px_waiver_cmd_parse_expires("1h30m", &v), 0);
	assert_int_equal(v, 5400LL * 1000);
	assert_int_equal(px_waiver_cmd_parse_expires("90d", &v), 0);
	assert_int_equal(px_waiver_cmd_parse_expires("91d", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_expires("0s", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_expires("7", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_expires("", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_expires("-1d", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_id("17", &v), 0);
	assert_int_equal(v, 17);
	assert_int_equal(px_waiver_cmd_parse_id("0", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_id("-3", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_id("3x", &v), -1);
	assert_int_equal(px_waiver_cmd_parse_id("99999999999999999999", &v),
	    -1);
	assert_true(px_waiver_cmd_decision_ok("1a2b3c4d-17"));
	assert_false(px_waiver_cmd_decision_ok(""));
	assert_false(px_waiver_cmd_decision_ok("1a2b'; DROP"));
	assert_true(px_store_name_ok("alice.smith@acme"));
	assert_false(px_store_name_ok("alice smith"));
	assert_false(px_store_name_ok(""));
	assert_true(px_store_why_ok("jwt.io sample — known fake"));
	assert_false(px_store_why_ok("tab\there"));
	assert_false(px_store_why_ok("\xff"));
}

/* SQLite: a version 1 file (before waivers) is migrated when opened. */
static void
test_waiver_sqlite_migrate(void **state)
{
	struct fx		*fx = *state;
	struct px_store_approve	 ap;
	sqlite3			*db;
	char			 err[256];
	int64_t			 id;
	int			 v = 0;

	blocked(fx->a, "abcd000a-10", "@acme/x");
	px_store_close(fx->a);
	fx->a = NULL;
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE waivers;"
	    "DROP TABLE outbox;"
	    "ALTER TABLE decisions DROP COLUMN npm_user;"
	    "ALTER TABLE decisions DROP COLUMN path;"
	    "ALTER TABLE decisions DROP COLUMN connect_target;"
	    "ALTER TABLE decisions DROP COLUMN policy_sha256;"
	    "ALTER TABLE decisions DROP COLUMN policy_name;"
	    "ALTER TABLE decisions DROP COLUMN policy_revision;"
	    "ALTER TABLE decisions DROP COLUMN tag_old;"
	    "ALTER TABLE decisions DROP COLUMN tag_new;"
	    "ALTER TABLE decisions DROP COLUMN files_listed;"
	    "ALTER TABLE decisions DROP COLUMN files_total;"
	    "ALTER TABLE decisions DROP COLUMN files;"
	    "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	/* Not read until migrated (the record columns of version 3). */
	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	approve_args(&ap, "abcd000a-10", "alice", 1, T0 + 1, 1000);
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 4);
	fx->a = px_store_open_existing(fx->db, err, sizeof(err));
	assert_non_null(fx->a);
	assert_int_equal(px_store_waiver_approve(fx->a, &ap, &id, err,
	    sizeof(err)), 0);
}

/* ---------------------------------------------- issue 10 record fields */

static const struct px_store_file rec_files[] = {
	{ "package/package.json", 120, { 0x01, 0x02 } },
	{ "package/we%ird\nname.js", 7, { 0xff } },
	{ "package/caf\xc3\xa9.js", 0, { 0 } },
};

static void
mkrec10(struct px_store_rec *rec, const struct pol_report *rep)
{
	mkrec(rec, T0 + 5, "@acme/full", rep);
	rec->request_id = "abc-10";
	rec->user = "alice";
	rec->path = "egress";
	rec->connect_target = "registry.npmjs.org:443";
	rec->policy_sha256 = "5e1f00000000000000000000000000000000000000000000"
	    "00000000000000aa";
	rec->policy_name = "acme publishing";
	rec->policy_revision = "2026-12-03.1";
	rec->files = rec_files;
	rec->nfiles = 3;
	rec->files_total = 5;	/* two more were seen than listed */
}

static int
check10(const struct px_store_row *r, void *arg)
{
	struct px_store_file_row	*fr;
	const char			*cur = r->files;
	int				*want_files = arg;

	assert_string_equal(r->user, "alice");
	assert_string_equal(r->path, "egress");
	assert_string_equal(r->connect_target, "registry.npmjs.org:443");
	assert_string_equal(r->policy_name, "acme publishing");
	assert_string_equal(r->policy_revision, "2026-12-03.1");
	assert_int_equal(strlen(r->policy_sha256), 64);
	assert_int_equal(r->files_listed, 3);
	assert_int_equal(r->files_total, 5);
	if (!*want_files) {
		/* A list query does not carry the lists. */
		assert_string_equal(r->files, "");
		return 0;
	}
	fr = malloc(sizeof(*fr));
	assert_non_null(fr);
	assert_int_equal(px_store_files_next(&cur, fr), 1);
	assert_string_equal(fr->path, "package/package.json");
	assert_int_equal(fr->size, 120);
	assert_memory_equal(fr->sha256, "0102000000", 10);
	assert_int_equal(px_store_files_next(&cur, fr), 1);
	assert_string_equal(fr->path, "package/we%ird\nname.js");
	assert_int_equal(fr->size, 7);
	assert_memory_equal(fr->sha256, "ff00", 4);
	assert_int_equal(px_store_files_next(&cur, fr), 1);
	assert_string_equal(fr->path, "package/caf\xc3\xa9.js");
	assert_int_equal(px_store_files_next(&cur, fr), 0);
	free(fr);
	(*want_files)++;
	return 0;
}

static int	sbom_cb(const struct px_store_row *, void *);

static void
test_record_fields(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	 rep;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	char			 err[256], *out = NULL;
	size_t			 olen = 0;
	FILE			*m;
	int			 want = 0;

	mkreport(&rep, "@acme/full", "2.0.0", POL_DENY);
	mkrec10(&rec, &rep);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(fx->a, &q, check10, &want, err,
	    sizeof(err)), 1);
	want = 1;
	q.request_id = "abc-10";
	assert_int_equal(px_store_query(fx->a, &q, check10, &want, err,
	    sizeof(err)), 1);
	assert_int_equal(want, 2);

	/* The log line has the fields and counts, not the list. */
	fflush(fx->jsonl);
	assert_non_null(strstr(fx->jbuf, "\"user\":\"alice\""));
	assert_non_null(strstr(fx->jbuf, "\"path\":\"egress\""));
	assert_non_null(strstr(fx->jbuf, "\"files_listed\":3"));
	assert_null(strstr(fx->jbuf, "\"files\":["));

	/* One decision's JSON carries its list; the SBOM too. */
	assert_non_null(m = open_memstream(&out, &olen));
	assert_int_equal(px_store_query_json(fx->a, &q, m, err, sizeof(err)),
	    1);
	fclose(m);
	assert_non_null(strstr(out, "\"files\":[{\"path\":\"package/"
	    "package.json\",\"size\":120,\"sha256\":\"0102"));
	assert_non_null(strstr(out, "\"package/we%ird\\u000aname.js\""));
	assert_non_null(strstr(out, "\"policy_revision\":\"2026-12-03.1\""));
	free(out);
	out = NULL;
	q.limit = 1;
	assert_int_equal(px_store_query(fx->a, &q, sbom_cb, &out, err,
	    sizeof(err)), 1);
	assert_non_null(out);
	assert_non_null(strstr(out, "\"bomFormat\":\"CycloneDX\","
	    "\"specVersion\":\"1.5\""));
	assert_non_null(strstr(out, "\"purl\":\"pkg:npm/%40acme/full@2.0.0\""));
	assert_non_null(strstr(out, "{\"type\":\"file\",\"name\":"
	    "\"package/package.json\",\"hashes\":[{\"alg\":\"SHA-256\","
	    "\"content\":\"0102"));
	assert_non_null(strstr(out, "{\"name\":\"pubgate:user\","
	    "\"value\":\"alice\"}"));
	assert_non_null(strstr(out, "{\"alg\":\"SHA-512\",\"content\":\"aaaa"));
	free(out);
}

static int
sbom_cb(const struct px_store_row *r, void *arg)
{
	char	**out = arg;
	size_t	  len = 0;
	FILE	 *m;

	assert_non_null(m = open_memstream(out, &len));
	assert_int_equal(px_store_row_cyclonedx(r, m), 0);
	fclose(m);
	return 1;
}

static int
nolist_cb(const struct px_store_row *r, void *arg)
{
	FILE	*m = arg;

	assert_int_equal(r->files_listed, -1);
	assert_int_equal(px_store_row_cyclonedx(r, m), -1);
	return 1;
}

/* A record without a list (a dist-tag write), and the cap on lists. */
static void
test_record_no_list_and_cap(void **state)
{
	struct fx		*fx = *state;
	struct px_store_rec	 rec;
	struct px_store_query	 q;
	struct pol_report	 rep;
	struct px_store_file	*many;
	char			 err[256], *out = NULL;
	size_t			 olen = 0, i;
	FILE			*m;

	mkrec(&rec, T0, "@acme/x", NULL);
	rec.request_id = "t-1";
	rec.kind = "dist-tag";
	rec.tag = "beta";
	rec.tag_new = "1.0.1";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	memset(&q, 0, sizeof(q));
	q.request_id = "t-1";
	assert_non_null(m = open_memstream(&out, &olen));
	assert_int_equal(px_store_query(fx->a, &q, nolist_cb, m, err,
	    sizeof(err)), 1);
	fclose(m);
	free(out);
	out = NULL;
	assert_non_null(m = open_memstream(&out, &olen));
	assert_int_equal(px_store_query_json(fx->a, &q, m, err, sizeof(err)),
	    1);
	fclose(m);
	assert_non_null(strstr(out, "\"tag_new\":\"1.0.1\""));
	assert_non_null(strstr(out, "\"files_listed\":-1"));
	free(out);
	out = NULL;

	/* Over PX_STORE_FILES_MAX: the first ones listed, all counted. */
	many = calloc(PX_STORE_FILES_MAX + 5, sizeof(*many));
	assert_non_null(many);
	for (i = 0; i < PX_STORE_FILES_MAX + 5; i++)
		many[i].path = "package/f.js";
	mkreport(&rep, "@acme/many", "1.0.0", POL_ALLOW);
	mkrec(&rec, T0, "@acme/many", &rep);
	rec.request_id = "m-1";
	rec.files = many;
	rec.nfiles = PX_STORE_FILES_MAX + 5;
	rec.files_total = PX_STORE_FILES_MAX + 7;
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	free(many);
	q.request_id = "m-1";
	assert_non_null(m = open_memstream(&out, &olen));
	assert_int_equal(px_store_query_json(fx->a, &q, m, err, sizeof(err)),
	    1);
	fclose(m);
	assert_non_null(strstr(out, "\"files_listed\":10000,"
	    "\"files_total\":10007"));
	free(out);
}

/* A version 1 store (before issue 10's columns) is brought forward. */
static void
test_migrate_v1(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*a;
	struct px_store_query	 q;
	char			 err[256];
	int			 v = 0;
	struct got		*g;
	static const char	*cols[] = { "npm_user", "path", "connect_target",
	    "policy_sha256", "policy_name", "policy_revision", "tag_old",
	    "tag_new", "files_listed", "files_total", "files" };
	char			 sql[128];
	size_t			 i;
	sqlite3			*db;
	struct px_store_rec	 rec;

	mkrec(&rec, T0, "@acme/old", NULL);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	px_store_close(fx->a);
	fx->a = NULL;
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE decisions DROP COLUMN "
		    "%s", cols[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		    SQLITE_OK);
	}
	assert_int_equal(sqlite3_exec(db, "DROP TABLE outbox;"
	    "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 4);
	assert_non_null(a = px_store_open_existing(fx->db, err, sizeof(err)));
	g = calloc(1, sizeof(*g));
	assert_non_null(g);
	memset(&q, 0, sizeof(q));
	assert_int_equal(px_store_query(a, &q, collect, g, err, sizeof(err)),
	    1);
	assert_string_equal(g->package[0], "@acme/old");
	free(g);
	px_store_close(a);
	fx->a = px_store_open(fx->db, fx->jsonl, err, sizeof(err));
	assert_non_null(fx->a);
}

/* PostgreSQL: a version 1 schema is brought forward by migration 2. */
static void
test_pg_migrate_v1(void **state)
{
	struct fx		*fx = *state;
	struct px_store		*a;
	struct px_store_rec	 rec;
	char			 err[256];
	int			 v = 0;

	mkrec(&rec, T0, "@acme/old", NULL);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	px_store_close(fx->a);
	fx->a = NULL;
	assert_int_equal(fx_pg_sql(pg_url,
	    "ALTER TABLE decisions DROP COLUMN npm_user,"
	    " DROP COLUMN path, DROP COLUMN connect_target,"
	    " DROP COLUMN policy_sha256, DROP COLUMN policy_name,"
	    " DROP COLUMN policy_revision, DROP COLUMN tag_old,"
	    " DROP COLUMN tag_new, DROP COLUMN files_listed,"
	    " DROP COLUMN files_total, DROP COLUMN files;"
	    " DROP TABLE outbox;"
	    " DELETE FROM pubgate_schema WHERE version > 3"), 0);
	assert_null(px_store_open_existing(fx->db, err, sizeof(err)));
	assert_non_null(strstr(err, "older"));
	assert_int_equal(px_store_migrate(fx->db, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 5);
	assert_non_null(a = px_store_open_existing(fx->db, err, sizeof(err)));
	px_store_close(a);
	fx->a = px_store_open(fx->db, fx->jsonl, err, sizeof(err));
	assert_non_null(fx->a);
}

/* ------------------------------------------------- issue 10 outbox */

/* count_sql() : the first column of sql's first row, or -1. */
static int64_t
count_sql(struct fx *fx, const char *sql)
{
	int64_t		 n = -1;

	if (pg_url != NULL) {
		PGconn		*c = PQconnectdb(pg_url);
		PGresult	*res;

		if (PQstatus(c) == CONNECTION_OK) {
			res = PQexec(c, sql);
			if (PQresultStatus(res) == PGRES_TUPLES_OK &&
			    PQntuples(res) == 1)
				n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			else
				fprintf(stderr, "%s: %s", sql,
				    PQerrorMessage(c));
			PQclear(res);
		}
		PQfinish(c);
	} else {
		sqlite3		*db;
		sqlite3_stmt	*st;

		if (sqlite3_open(fx->db, &db) != SQLITE_OK)
			return -1;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		} else
			fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
	}
	return n;
}

/*
 * The outbox: one row per webhook name, written with its decision (same
 * decision id, due at once, not yet tried); none without names.
 */
static void
test_outbox_rows(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	*rep;
	struct px_store_rec	 rec;

	rep = calloc(1, sizeof(*rep));
	assert_non_null(rep);
	mkreport(rep, "@acme/alert", "1.0.0", POL_DENY);
	rep->status = POL_DONE;
	rep->nreasons_total = rep->nreasons;
	mkrec(&rec, T0 + 7, "@acme/alert", rep);
	rec.outbox = "siem\n\nslack\"x\n";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	mkrec(&rec, T0 + 8, "@acme/quiet", rep);
	rec.outbox = "";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	mkrec(&rec, T0 + 9, "@acme/quiet", rep);
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	free(rep);
	assert_int_equal(count_sql(fx, "SELECT count(*) FROM outbox"), 2);
	assert_int_equal(count_sql(fx, "SELECT count(*) FROM outbox o"
	    " JOIN decisions d ON d.id = o.decision_id"
	    " WHERE d.package = '@acme/alert' AND o.hook IN ('siem',"
	    " 'slack\"x') AND o.due_ms = d.time_ms AND o.created_ms ="
	    " d.time_ms AND o.attempts = 0 AND o.lease_until_ms = 0 AND"
	    " o.delivered_ms = 0 AND o.gave_up_ms = 0"), 2);
}

/*
 * Claims lease due rows once (a second store, another gate, gets none
 * while the lease runs), finish delivers, reschedules or gives up; an
 * unfinished lease that ran out is claimed again, one attempt more.
 */
static void
test_outbox_claim(void **state)
{
	struct fx		*fx = *state;
	struct pol_report	*rep;
	struct px_store_rec	 rec;
	struct px_store_alert	 al[4];
	struct px_store		*b;
	char			 err[256];
	int64_t			 t = T0 + 7, siem, slack;

	rep = calloc(1, sizeof(*rep));
	assert_non_null(rep);
	mkreport(rep, "@acme/alert", "1.0.0", POL_DENY);
	rep->status = POL_DONE;
	rep->nreasons_total = rep->nreasons;
	mkrec(&rec, t, "@acme/alert", rep);
	rec.outbox = "siem\nslack";
	assert_int_equal(px_store_write(fx->a, &rec), 0);
	free(rep);
	/* Not due before the decision's time. */
	assert_int_equal(px_store_outbox_claim(fx->a, t - 1, 30000, al, 4,
	    err, sizeof(err)), 0);
	assert_int_equal(px_store_outbox_claim(fx->a, t, 30000, al, 4, err,
	    sizeof(err)), 2);
	assert_string_equal(al[0].hook, "siem");
	assert_string_equal(al[1].hook, "slack");
	assert_int_equal(al[0].attempts, 1);
	assert_int_equal(al[0].decision_id, al[1].decision_id);
	assert_true(al[0].id != al[1].id);
	assert_int_equal(al[0].created_ms, t);
	siem = al[0].id;
	slack = al[1].id;
	/* Leased: neither this store nor another gets them. */
	assert_int_equal(px_store_outbox_claim(fx->a, t + 1, 30000, al, 4,
	    err, sizeof(err)), 0);
	b = px_store_open_existing(fx->db, err, sizeof(err));
	if (b == NULL)
		fail_msg("px_store_open_existing: %s", err);
	assert_int_equal(px_store_outbox_claim(b, t + 2, 30000, al, 4, err,
	    sizeof(err)), 0);
	assert_int_equal(px_store_outbox_finish(fx->a, siem, t + 3,
	    PX_ALERT_DELIVERED, 0, "ignored", err, sizeof(err)), 0);
	assert_int_equal(px_store_outbox_finish(fx->a, slack, t + 3,
	    PX_ALERT_RETRY, t + 1000, "HTTP 503", err, sizeof(err)), 0);
	assert_int_equal(px_store_outbox_claim(b, t + 999, 30000, al, 4, err,
	    sizeof(err)), 0);
	assert_int_equal(px_store_outbox_claim(b, t + 1000, 100, al, 4, err,
	    sizeof(err)), 1);
	assert_int_equal(al[0].id, slack);
	assert_int_equal(al[0].attempts, 2);
	/* The lease runs out unfinished (a gate died): claimed again. */
	assert_int_equal(px_store_outbox_claim(fx->a, t + 1099, 100, al, 4,
	    err, sizeof(err)), 0);
	assert_int_equal(px_store_outbox_claim(fx->a, t + 1100, 100, al, 4,
	    err, sizeof(err)), 1);
	assert_int_equal(al[0].id, slack);
	assert_int_equal(al[0].attempts, 3);
	assert_int_equal(px_store_outbox_finish(fx->a, slack, t + 1101,
	    PX_ALERT_GIVEN_UP, 0, "HTTP 404", err, sizeof(err)), 0);
	assert_int_equal(px_store_outbox_claim(b, t + 999999, 100, al, 4, err,
	    sizeof(err)), 0);
	px_store_close(b);
	assert_int_equal(count_sql(fx, "SELECT count(*) FROM outbox WHERE"
	    " hook = 'siem' AND delivered_ms > 0 AND gave_up_ms = 0 AND"
	    " last_error = '' AND lease_until_ms = 0"), 1);
	assert_int_equal(count_sql(fx, "SELECT count(*) FROM outbox WHERE"
	    " hook = 'slack' AND delivered_ms = 0 AND gave_up_ms > 0 AND"
	    " last_error = 'HTTP 404' AND attempts = 3"), 1);
	/* Bad arguments are refused. */
	assert_int_equal(px_store_outbox_claim(fx->a, t, 0, al, 4, err,
	    sizeof(err)), -1);
	assert_int_equal(px_store_outbox_finish(fx->a, siem, t, 7, 0, "",
	    err, sizeof(err)), -1);
}

/*
 * px_hex() : lowercase, two digits a byte, NUL after, nothing past it;
 * the SHA-256 of "abc" (FIPS 180-2) as sha256sum prints it.
 */
static void
test_hex(void **state)
{
	static const unsigned char abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	unsigned char	 b;
	char		 out[2 * 32 + 2];

	(void)state;
	memset(out, '#', sizeof(out));
	px_hex(abc, 0, out);
	assert_string_equal(out, "");
	assert_int_equal(out[1], '#');
	b = 0x00;
	px_hex(&b, 1, out);
	assert_string_equal(out, "00");
	b = 0xff;
	px_hex(&b, 1, out);
	assert_string_equal(out, "ff");
	assert_int_equal(out[3], '#');
	b = 0x0a;
	px_hex(&b, 1, out);
	assert_string_equal(out, "0a");
	px_hex(abc, sizeof(abc), out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(out[65], '#');
}

/*
 * px_store_err_status() : 503 for the texts of a store that is down or
 * busy (test_store_async checks PostgreSQL's real ones), 500 otherwise.
 */
static void
test_err_status(void **state)
{
	(void)state;
	assert_int_equal(px_store_err_status("the decision store is down "
	    "(connection refused)"), 503);
	assert_int_equal(px_store_err_status("the decision store is busy "
	    "(1024 operations waiting)"), 503);
	assert_int_equal(px_store_err_status("database disk image is "
	    "malformed"), 500);
	assert_int_equal(px_store_err_status(""), 500);
	assert_int_equal(px_store_err_status(NULL), 500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_non_publish_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_durable_second_connection,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded_strings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_token_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_cmd_text, setup,
		    teardown),
		cmocka_unit_test(test_parse_since),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_err_status),
		cmocka_unit_test_setup_teardown(test_waiver_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_until_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_revoke, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_refusals, setup,
		    teardown),
		cmocka_unit_test(test_waiver_cli_parse),
		cmocka_unit_test_setup_teardown(test_waiver_sqlite_migrate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_record_no_list_and_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup,
		    teardown),
	};

	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_non_publish_record, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded_strings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_cmd_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_until_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_revoke, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiver_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_record_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_record_no_list_and_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pg_migrate_v1, setup,
		    teardown),
		/* Last: store-pg.sh reads what it leaves. */
		cmocka_unit_test_setup_teardown(test_pg_specific, setup,
		    teardown),
	};

	if ((pg_url = getenv("PUBGATE_TEST_PG")) != NULL)
		return cmocka_run_group_tests_name("postgresql", pg_tests,
		    NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
