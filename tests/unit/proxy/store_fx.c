/*
 * tests/unit/proxy/store_fx.c: the fixtures test_store.c and
 * test_store_async.c share (store_fx.h says which).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store_fx.h"

void
fx_waiver_copy(struct fx_waiver *g, const struct px_store_waiver *w)
{
	g->id = w->id;
	g->uses = w->uses;
	g->expires_ms = w->expires_ms;
	g->once = w->once;
	snprintf(g->state, sizeof(g->state), "%s", w->state);
	snprintf(g->decision, sizeof(g->decision), "%s", w->decision);
	snprintf(g->by, sizeof(g->by), "%s", w->approved_by);
	snprintf(g->sha512, sizeof(g->sha512), "%s", w->sha512);
}

void
fx_approve_args(struct px_store_approve *ap, const char *decision,
    const char *by, int once, int64_t now_ms, int64_t expires_ms)
{
	memset(ap, 0, sizeof(*ap));
	ap->decision = decision;
	ap->reason = "a documented sample token";
	ap->now_ms = now_ms;
	ap->expires_ms = expires_ms;
	ap->once = once;
	ap->actor.by = by;
	ap->actor.who = "";
	ap->actor.client = "127.0.0.1:40000";
	ap->actor.user_agent = "admin API";
}

int
fx_pg_sql(const char *url, const char *sql)
{
	PGconn		*c;
	PGresult	*res;
	int		 rc = -1;

	c = PQconnectdb(url);
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

void
fx_db(const char *name, const char *url, char dir[64], char db[512])
{
	snprintf(dir, 64, "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(dir));
	snprintf(db, 512, "%s/pubgate.db", dir);
	if (url != NULL) {
		snprintf(db, 512, "%s", url);
		assert_int_equal(fx_pg_sql(url,
		    "SET client_min_messages = warning;"
		    "DROP TABLE IF EXISTS outbox, waivers, reasons, decisions,"
		    " pubgate_schema"), 0);
	}
}

void
fx_rmdir(const char *dir)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}
