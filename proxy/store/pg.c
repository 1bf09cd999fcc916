/*
 * proxy/store/pg.c: the PostgreSQL backend of the decision store, for a
 * fleet of gates sharing one database (`db: postgresql://...`).  It owns
 * the connection settings (a password in the URL is refused: it would
 * reach logs; libpq reads it from passfile= or PGPASSFILE; sslmode and
 * its certificates are libpq's own URL parameters), the schema, its
 * version table (pubgate_schema) and the forward migrations, the SQL of
 * each operation and the translation of rows to struct px_store_row.
 *
 * Every write is one statement (the decision and its reasons through a
 * data-modifying WITH), so it is committed, in autocommit, when its
 * result arrives: the same SQL serves the blocking calls of the CLI and
 * the tests (the ops table below) and the asynchronous ones the serving
 * process makes from its event loop (pgloop.c).  It never logs.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "policy.h"
#include "store.h"
#include "store-int.h"
#include "pg-int.h"

/*
 * Forward migrations, in order: migration i takes the schema from
 * version i to i + 1.  Never edit one that has shipped; append.
 */
static const char *const pg_migrations[] = {
	/* 0 -> 1: the decisions and their reasons. */
	"CREATE TABLE decisions ("
	" id bigserial PRIMARY KEY,"
	" time_ms bigint NOT NULL,"
	" time text NOT NULL,"
	" request_id text NOT NULL,"
	" client text NOT NULL,"
	" who text NOT NULL,"
	" npm_command text NOT NULL,"
	" user_agent text NOT NULL,"
	" kind text NOT NULL,"
	" package text COLLATE \"C\" NOT NULL,"
	" version text NOT NULL,"
	" tag text NOT NULL,"
	" access text NOT NULL,"
	" verdict text NOT NULL CHECK (verdict IN ('allow', 'block')),"
	" status integer NOT NULL,"
	" rule_match text NOT NULL,"
	" message text NOT NULL,"
	" inspection text NOT NULL,"
	" sha512 text NOT NULL,"
	" integrity text NOT NULL,"
	" body_bytes bigint NOT NULL,"
	" tarball_bytes bigint NOT NULL,"
	" unpacked_bytes bigint NOT NULL,"
	" file_count bigint NOT NULL,"
	" reasons_total bigint NOT NULL);"
	"CREATE INDEX decisions_time ON decisions (time_ms);"
	"CREATE INDEX decisions_package ON decisions (package, time_ms);"
	"CREATE INDEX decisions_request ON decisions (request_id);"
	"CREATE TABLE reasons ("
	" decision_id bigint NOT NULL REFERENCES decisions (id)"
	"  ON DELETE CASCADE,"
	" seq integer NOT NULL,"
	" rule text NOT NULL,"
	" file text NOT NULL,"
	" text text NOT NULL,"
	" hint text NOT NULL,"
	" byte_offset bigint NOT NULL,"
	" PRIMARY KEY (decision_id, seq));",
	/* 1 -> 2: waivers (issue 10). */
	"CREATE TABLE waivers ("
	" id bigserial PRIMARY KEY,"
	" created_ms bigint NOT NULL,"
	" expires_ms bigint NOT NULL,"
	" once integer NOT NULL,"
	" uses bigint NOT NULL DEFAULT 0,"
	" last_used_ms bigint NOT NULL DEFAULT 0,"
	" revoked_ms bigint NOT NULL DEFAULT 0,"
	" decision text NOT NULL,"
	" package text COLLATE \"C\" NOT NULL,"
	" version text NOT NULL,"
	" sha512 text NOT NULL,"
	" publisher text NOT NULL,"
	" approved_by text NOT NULL,"
	" reason text NOT NULL,"
	" revoked_by text NOT NULL DEFAULT '',"
	" revoke_reason text NOT NULL DEFAULT '');"
	"CREATE INDEX waivers_tarball ON waivers (package, version, sha512);",
	/*
	 * 2 -> 3: a request id is one decision of each kind, fleet-wide
	 * (gates put a random boot number in theirs; a publish and the
	 * waiver-use it took share theirs): a write whose COMMIT was
	 * uncertain can never land twice.
	 */
	"CREATE UNIQUE INDEX decisions_request_kind ON decisions"
	" (request_id, kind);",
	/* 3 -> 4: who, path, policy, dist-tag values, file list (issue 10). */
	"ALTER TABLE decisions"
	" ADD COLUMN npm_user text NOT NULL DEFAULT '',"
	" ADD COLUMN path text NOT NULL DEFAULT '',"
	" ADD COLUMN connect_target text NOT NULL DEFAULT '',"
	" ADD COLUMN policy_sha256 text NOT NULL DEFAULT '',"
	" ADD COLUMN policy_name text NOT NULL DEFAULT '',"
	" ADD COLUMN policy_revision text NOT NULL DEFAULT '',"
	" ADD COLUMN tag_old text NOT NULL DEFAULT '',"
	" ADD COLUMN tag_new text NOT NULL DEFAULT '',"
	" ADD COLUMN files_listed bigint NOT NULL DEFAULT -1,"
	" ADD COLUMN files_total bigint NOT NULL DEFAULT 0,"
	" ADD COLUMN files text NOT NULL DEFAULT '';",
	/*
	 * 4 -> 5: the webhook outbox (issue 10): one row per alert and
	 * hook, written with its decision; deliverers lease due rows
	 * (FOR UPDATE SKIP LOCKED), so gates on one database never send
	 * a row at the same time.
	 */
	"CREATE TABLE outbox ("
	" id bigserial PRIMARY KEY,"
	" decision_id bigint NOT NULL REFERENCES decisions (id)"
	"  ON DELETE CASCADE,"
	" hook text NOT NULL,"
	" created_ms bigint NOT NULL,"
	" due_ms bigint NOT NULL,"
	" attempts integer NOT NULL DEFAULT 0,"
	" lease_until_ms bigint NOT NULL DEFAULT 0,"
	" delivered_ms bigint NOT NULL DEFAULT 0,"
	" gave_up_ms bigint NOT NULL DEFAULT 0,"
	" last_error text NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_due ON outbox (due_ms)"
	" WHERE delivered_ms = 0 AND gave_up_ms = 0;",
};
#define PG_SCHEMA_VERSION \
	((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/* Any constant: serialises migrations of gates starting at once. */
#define PG_MIGRATE_LOCK		"7370756267617465"

const char px_pg_sql_insert[] =
    "WITH d AS (INSERT INTO decisions (time_ms, time, request_id, client,"
    " who, npm_command, user_agent, kind, package, version, tag, access,"
    " verdict, status, rule_match, message, inspection, sha512, integrity,"
    " body_bytes, tarball_bytes, unpacked_bytes, file_count, reasons_total,"
    " npm_user, path, connect_target, policy_sha256, policy_name,"
    " policy_revision, tag_old, tag_new, files_listed, files_total, files)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
    " $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $30, $31, $32, $33,"
    " $34, $35, $36, $37, $38, $39, $40) RETURNING id),"
    " r AS (INSERT INTO reasons (decision_id, seq, rule, file, text, hint,"
    " byte_offset) SELECT d.id, x.ord - 1, x.rule, x.file, x.text, x.hint,"
    " x.off FROM d, unnest($25::text[], $26::text[], $27::text[],"
    " $28::text[], $29::bigint[]) WITH ORDINALITY"
    " AS x(rule, file, text, hint, off, ord)),"
    " o AS (INSERT INTO outbox (decision_id, hook, created_ms, due_ms)"
    " SELECT d.id, h, $1, $1 FROM d, unnest($41::text[]) AS h"
    " WHERE h <> '')"
    " SELECT id FROM d";

const char px_pg_sql_status[] =
    "UPDATE decisions SET status = $2 WHERE id = $1 AND status = 0";

#define PG_COLUMNS \
    "d.id, d.time_ms, d.time, d.request_id, d.client, d.who," \
    " d.npm_command, d.user_agent, d.kind, d.package, d.version, d.tag," \
    " d.access, d.verdict, d.status, d.rule_match, d.message," \
    " d.inspection, d.sha512, d.integrity, d.body_bytes, d.tarball_bytes," \
    " d.unpacked_bytes, d.file_count, d.reasons_total," \
    " r.rule, r.file, r.text, r.hint, r.byte_offset," \
    " d.npm_user, d.path, d.connect_target, d.policy_sha256," \
    " d.policy_name, d.policy_revision, d.tag_old, d.tag_new," \
    " d.files_listed, d.files_total"
#define PG_NCOLUMNS	40	/* and the file list, last */

/* One row per reason (one for a record without), newest record first. */
static const char pg_sql_query[] =
    "SELECT " PG_COLUMNS ", CASE WHEN $7::text IS NOT NULL AND"
    " coalesce(r.seq, 0) = 0 THEN d.files ELSE '' END"
    " FROM (SELECT * FROM decisions"
    " WHERE ($1::int = 0 OR verdict = 'block')"
    " AND time_ms >= $2::bigint"
    " AND ($3::text IS NULL OR package ~ $3::text)"
    " AND ($4::text IS NULL OR (package >= $4::text AND package < $5::text))"
    " AND ($7::text IS NULL OR request_id = $7::text)"
    " ORDER BY time_ms DESC, id DESC LIMIT $6::int) d"
    " LEFT JOIN reasons r ON r.decision_id = d.id"
    " ORDER BY d.time_ms DESC, d.id DESC, r.seq";

const char px_pg_sql_byid[] =
    "SELECT " PG_COLUMNS ", '' FROM decisions d"
    " LEFT JOIN reasons r ON r.decision_id = d.id"
    " WHERE d.id = $1::bigint ORDER BY r.seq";

struct px_pg {
	PGconn			*conn;
};

int
px_pg_schema_version(void)
{
	return PG_SCHEMA_VERSION;
}

int
px_pg_is_url(const char *db)
{
	return db != NULL && (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0);
}

int
px_pg_check_url(const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	char			*perr = NULL;
	int			 rc = 0;

	if (px_pq_load(err, errlen) == -1)
		return -1;
	if ((opts = PQconninfoParse(url, &perr)) == NULL) {
		/* libpq's message ends with a newline: one line here. */
		px_store_seterr(err, errlen, "db: bad PostgreSQL URL: %.*s",
		    perr != NULL ? (int)strcspn(perr, "\n") : 13,
		    perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0') {
			px_store_seterr(err, errlen, "db: a password in the "
			    "URL is refused (it would be logged); put it in a "
			    "passfile (passfile=... or PGPASSFILE)");
			rc = -1;
		}
	}
	PQconninfoFree(opts);
	return rc;
}

/*
 * The connection keywords: application_name and connect_timeout are
 * defaults the URL may override; client_encoding is always UTF8 (every
 * string is checked to be UTF-8 before it is sent).
 */
static const char *const pg_keys[] = { "application_name",
    "connect_timeout", "dbname", "client_encoding", NULL };

int
px_pg_url_host(const char *url, char **host, char *err, size_t errlen)
{
	PQconninfoOption	*opts, *o;
	const char		*h = NULL, *ha = NULL;
	unsigned char		 a[16];
	char			*perr = NULL;

	*host = NULL;
	if (px_pq_load(err, errlen) == -1)
		return -1;
	if ((opts = PQconninfoParse(url, &perr)) == NULL) {
		px_store_seterr(err, errlen, "db: bad PostgreSQL URL: %.*s",
		    perr != NULL ? (int)strcspn(perr, "\n") : 13,
		    perr != NULL ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			h = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			ha = o->val;
	}
	if (h != NULL && *h != '\0' && (ha == NULL || *ha == '\0') &&
	    strchr(h, ',') == NULL && h[0] != '/' && h[0] != '@' &&
	    inet_pton(AF_INET, h, a) != 1 && inet_pton(AF_INET6, h, a) != 1 &&
	    (*host = strdup(h)) == NULL) {
		PQconninfoFree(opts);
		px_store_seterr(err, errlen, "out of memory");
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

void
px_pg_conn_params(const char *url, const char *vals[5])
{
	vals[0] = "pubgate";
	vals[1] = "10";
	vals[2] = url;
	vals[3] = "UTF8";
	vals[4] = NULL;
}

const char *const *
px_pg_conn_keys(void)
{
	return pg_keys;
}

/* pg_err() : the server's or libpq's message, on one line. */
void
px_pg_errmsg(PGconn *c, const PGresult *res, char *err, size_t errlen)
{
	const char	*m = NULL;
	size_t		 i;

	if (res != NULL)
		m = PQresultErrorMessage(res);
	if ((m == NULL || *m == '\0') && c != NULL)
		m = PQerrorMessage(c);
	if (m == NULL || *m == '\0')
		m = "unknown error";
	px_store_seterr(err, errlen, "postgresql: %s", m);
	for (i = 0; err != NULL && i < errlen && err[i] != '\0'; i++)
		if (err[i] == '\n' || err[i] == '\r')
			err[i] = err[i + 1] == '\0' ? '\0' : ' ';
}

/* exec_ok() : runs sql (no parameters); 0 if it succeeded. */
static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult	*res;
	int		 st;

	res = PQexec(c, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		px_pg_errmsg(c, res, err, errlen);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* pg_version() : the schema version, 0 without a version table, or -1. */
static int
pg_version(PGconn *c, char *err, size_t errlen)
{
	PGresult	*res;
	int		 v = -1;

	res = PQexec(c, "SELECT to_regclass('pubgate_schema') IS NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		px_pg_errmsg(c, res, err, errlen);
		PQclear(res);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM pubgate_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		px_pg_errmsg(c, res, err, errlen);
	else
		v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

int
px_pg_migrate(PGconn *c, int *version, char *err, size_t errlen)
{
	char	sql[128];
	int	v, i;

	if (exec_ok(c, "BEGIN", err, errlen) == -1)
		return -1;
	if (exec_ok(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")",
	    err, errlen) == -1 ||
	    exec_ok(c, "CREATE TABLE IF NOT EXISTS pubgate_schema ("
	    " version integer PRIMARY KEY,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", err,
	    errlen) == -1 ||
	    (v = pg_version(c, err, errlen)) == -1)
		goto fail;
	if (v > PG_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %d"
		    " is newer than this pubgate's (%d)", v, PG_SCHEMA_VERSION);
		goto fail;
	}
	for (i = v; i < PG_SCHEMA_VERSION; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO pubgate_schema "
		    "(version) VALUES (%d)", i + 1);
		if (exec_ok(c, pg_migrations[i], err, errlen) == -1 ||
		    exec_ok(c, sql, err, errlen) == -1)
			goto fail;
	}
	if (exec_ok(c, "COMMIT", err, errlen) == -1)
		goto fail;
	if (version != NULL)
		*version = PG_SCHEMA_VERSION;
	return 0;
fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

int
px_pg_check_version(PGconn *c, char *err, size_t errlen)
{
	int	v;

	if ((v = pg_version(c, err, errlen)) == -1)
		return -1;
	if (v == 0) {
		px_store_seterr(err, errlen, "not a pubgate decision store "
		    "(no schema; run pubgate db migrate)");
		return -1;
	}
	if (v > PG_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %d"
		    " is newer than this pubgate's (%d)", v, PG_SCHEMA_VERSION);
		return -1;
	}
	if (v < PG_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %d"
		    " is older than this pubgate's (%d); run pubgate db "
		    "migrate", v, PG_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/*
 * arr_text() : a PostgreSQL array literal of the n strings at
 * base + i * stride (each quoted, '"' and '\\' escaped), malloc'd.
 */
static char *
arr_text(const char *base, size_t stride, size_t n)
{
	char		*out, *o;
	const char	*s;
	size_t		 i, len = 3;

	for (i = 0; i < n; i++)
		len += 2 * strlen(base + i * stride) + 3;
	if ((out = o = malloc(len)) == NULL)
		return NULL;
	*o++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (s = base + i * stride; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

void
px_pg_params_free(struct px_pg_params *p)
{
	size_t	i;

	for (i = 0; i < sizeof(p->arr) / sizeof(p->arr[0]); i++) {
		free(p->arr[i]);
		p->arr[i] = NULL;
	}
}

/*
 * outbox_array() : the webhook names (one per line) as a text[] literal,
 * each quoted with '"' and '\\' escaped; malloc'd, NULL without memory.
 */
static char *
outbox_array(const char *names)
{
	const char	*s;
	char		*o, *q;

	/* Each byte at most twice, two quotes and a comma per name. */
	if ((o = malloc(strlen(names) * 4 + 3)) == NULL)
		return NULL;
	q = o;
	*q++ = '{';
	for (s = names; *s != '\0';) {
		if (*s == '\n') {
			s++;
			continue;
		}
		if (q > o + 1)
			*q++ = ',';
		*q++ = '"';
		for (; *s != '\0' && *s != '\n'; s++) {
			if (*s == '"' || *s == '\\')
				*q++ = '\\';
			*q++ = *s;
		}
		*q++ = '"';
	}
	*q++ = '}';
	*q = '\0';
	return o;
}

int
px_pg_params_insert(struct px_pg_params *p, struct px_store_buf *b)
{
	struct px_store_row	*r = &b->row;
	char			*o;
	size_t			 i, n = r->nreasons, len;

	memset(p, 0, sizeof(*p));
	/* PostgreSQL refuses text that is not UTF-8: never let it fail. */
	px_store_utf8_fix(b->request_id);
	px_store_utf8_fix(b->client);
	px_store_utf8_fix(b->npm_command);
	px_store_utf8_fix(b->user_agent);
	px_store_utf8_fix(b->kind);
	px_store_utf8_fix(b->package);
	px_store_utf8_fix(b->version);
	px_store_utf8_fix(b->tag);
	px_store_utf8_fix(b->access);
	px_store_utf8_fix(b->rule_match);
	px_store_utf8_fix(b->message);
	px_store_utf8_fix(b->sha512);
	px_store_utf8_fix(b->integrity);
	px_store_utf8_fix(b->user);
	px_store_utf8_fix(b->connect_target);
	px_store_utf8_fix(b->policy_name);
	px_store_utf8_fix(b->policy_revision);
	px_store_utf8_fix(b->tag_old);
	px_store_utf8_fix(b->tag_new);
	if (b->files != NULL)
		px_store_utf8_fix(b->files);
	for (i = 0; i < n; i++) {
		px_store_utf8_fix(b->r_rule[i]);
		px_store_utf8_fix(b->r_file[i]);
		px_store_utf8_fix(b->r_text[i]);
		px_store_utf8_fix(b->r_hint[i]);
	}
	snprintf(p->num[0], sizeof(p->num[0]), "%" PRId64, r->time_ms);
	snprintf(p->num[1], sizeof(p->num[1]), "%d", r->status);
	snprintf(p->num[2], sizeof(p->num[2]), "%" PRId64, r->body_bytes);
	snprintf(p->num[3], sizeof(p->num[3]), "%" PRId64, r->tarball_bytes);
	snprintf(p->num[4], sizeof(p->num[4]), "%" PRId64, r->unpacked_bytes);
	snprintf(p->num[5], sizeof(p->num[5]), "%" PRId64, r->file_count);
	snprintf(p->num[6], sizeof(p->num[6]), "%" PRId64, r->reasons_total);
	p->v[0] = p->num[0];
	p->v[1] = b->time;
	p->v[2] = b->request_id;
	p->v[3] = b->client;
	p->v[4] = b->who;
	p->v[5] = b->npm_command;
	p->v[6] = b->user_agent;
	p->v[7] = b->kind;
	p->v[8] = b->package;
	p->v[9] = b->version;
	p->v[10] = b->tag;
	p->v[11] = b->access;
	p->v[12] = b->verdict;
	p->v[13] = p->num[1];
	p->v[14] = b->rule_match;
	p->v[15] = b->message;
	p->v[16] = b->inspection;
	p->v[17] = b->sha512;
	p->v[18] = b->integrity;
	p->v[19] = p->num[2];
	p->v[20] = p->num[3];
	p->v[21] = p->num[4];
	p->v[22] = p->num[5];
	p->v[23] = p->num[6];
	p->arr[0] = arr_text(b->r_rule[0], sizeof(b->r_rule[0]), n);
	p->arr[1] = arr_text(b->r_file[0], sizeof(b->r_file[0]), n);
	p->arr[2] = arr_text(b->r_text[0], sizeof(b->r_text[0]), n);
	p->arr[3] = arr_text(b->r_hint[0], sizeof(b->r_hint[0]), n);
	len = 3 + n * 22;
	if ((p->arr[4] = o = malloc(len)) != NULL) {
		*o++ = '{';
		for (i = 0; i < n; i++)
			o += snprintf(o, len - (size_t)(o - p->arr[4]),
			    "%s%" PRId64, i > 0 ? "," : "",
			    b->reasons[i].offset);
		snprintf(o, len - (size_t)(o - p->arr[4]), "}");
	}
	for (i = 0; i < 5; i++) {
		if (p->arr[i] == NULL) {
			px_pg_params_free(p);
			return -1;
		}
		p->v[24 + i] = p->arr[i];
	}
	snprintf(p->num[7], sizeof(p->num[7]), "%" PRId64, r->files_listed);
	snprintf(p->num[8], sizeof(p->num[8]), "%" PRId64, r->files_total);
	p->v[29] = b->user;
	p->v[30] = b->path;
	p->v[31] = b->connect_target;
	p->v[32] = b->policy_sha256;
	p->v[33] = b->policy_name;
	p->v[34] = b->policy_revision;
	p->v[35] = b->tag_old;
	p->v[36] = b->tag_new;
	p->v[37] = p->num[7];
	p->v[38] = p->num[8];
	p->v[39] = r->files;
	px_store_utf8_fix(b->outbox);
	if ((p->arr[5] = outbox_array(b->outbox)) == NULL) {
		px_pg_params_free(p);
		return -1;
	}
	p->v[40] = p->arr[5];
	p->n = 41;
	return 0;
}

/*
 * glob_regex() : SQLite's GLOB pattern (case-sensitive; *, ?, [...] and
 * [^...]) as an anchored PostgreSQL regular expression.  0 or -1.
 */
static int
glob_regex(const char *g, char *out, size_t outlen)
{
	size_t	o = 0;
	int	inclass = 0;

	if (outlen < 3)
		return -1;
	out[o++] = '^';
	for (; *g != '\0'; g++) {
		if (o + 4 >= outlen)
			return -1;
		if (inclass) {
			if (*g == ']' && inclass > 1)
				inclass = 0;
			else if (*g == '\\')
				out[o++] = '\\';
			else
				inclass++;
			out[o++] = *g;
			continue;
		}
		switch (*g) {
		case '*':
			out[o++] = '.';
			out[o++] = '*';
			break;
		case '?':
			out[o++] = '.';
			break;
		case '[':
			inclass = 1;
			out[o++] = '[';
			if (g[1] == '^') {
				out[o++] = '^';
				g++;
			}
			if (g[1] == ']') {
				out[o++] = '\\';
				out[o++] = ']';
				g++;
			}
			break;
		default:
			if (strchr(".^$+(){}|\\]", *g) != NULL)
				out[o++] = '\\';
			out[o++] = *g;
		}
	}
	if (inclass)
		return -1;	/* SQLite matches nothing: refuse the pattern */
	out[o++] = '$';
	out[o] = '\0';
	return 0;
}

/* row_fill() : row i of res into b (the record part, no reason). */
static void
row_fill(const PGresult *res, int i, struct px_store_buf *b)
{
	struct px_store_row	*r = &b->row;

	memset(r, 0, sizeof(*r));
	px_store_buf_link(b);
#define V(c)	PQgetvalue(res, i, (c))
	r->id = strtoll(V(0), NULL, 10);
	r->time_ms = strtoll(V(1), NULL, 10);
	PX_STORE_SET(b, time, V(2));
	PX_STORE_SET(b, request_id, V(3));
	PX_STORE_SET(b, client, V(4));
	PX_STORE_SET(b, who, V(5));
	PX_STORE_SET(b, npm_command, V(6));
	PX_STORE_SET(b, user_agent, V(7));
	PX_STORE_SET(b, kind, V(8));
	PX_STORE_SET(b, package, V(9));
	PX_STORE_SET(b, version, V(10));
	PX_STORE_SET(b, tag, V(11));
	PX_STORE_SET(b, access, V(12));
	PX_STORE_SET(b, verdict, V(13));
	r->status = atoi(V(14));
	PX_STORE_SET(b, rule_match, V(15));
	PX_STORE_SET(b, message, V(16));
	PX_STORE_SET(b, inspection, V(17));
	PX_STORE_SET(b, sha512, V(18));
	PX_STORE_SET(b, integrity, V(19));
	r->body_bytes = strtoll(V(20), NULL, 10);
	r->tarball_bytes = strtoll(V(21), NULL, 10);
	r->unpacked_bytes = strtoll(V(22), NULL, 10);
	r->file_count = strtoll(V(23), NULL, 10);
	r->reasons_total = strtoll(V(24), NULL, 10);
	PX_STORE_SET(b, user, V(30));
	PX_STORE_SET(b, path, V(31));
	PX_STORE_SET(b, connect_target, V(32));
	PX_STORE_SET(b, policy_sha256, V(33));
	PX_STORE_SET(b, policy_name, V(34));
	PX_STORE_SET(b, policy_revision, V(35));
	PX_STORE_SET(b, tag_old, V(36));
	PX_STORE_SET(b, tag_new, V(37));
	r->files_listed = strtoll(V(38), NULL, 10);
	r->files_total = strtoll(V(39), NULL, 10);
	(void)px_store_buf_files(b, V(40), (size_t)PQgetlength(res, i, 40));
}

/* reason_fill() : row i's reason columns, if any, as b's next reason. */
static void
reason_fill(const PGresult *res, int i, struct px_store_buf *b)
{
	size_t	n = b->row.nreasons;

	if (PQgetisnull(res, i, 25) || n >= POL_REASONS_MAX)
		return;
	PX_STORE_SET(b, r_rule[n], V(25));
	PX_STORE_SET(b, r_file[n], V(26));
	PX_STORE_SET(b, r_text[n], V(27));
	PX_STORE_SET(b, r_hint[n], V(28));
	b->reasons[n].offset = strtoll(V(29), NULL, 10);
	b->row.nreasons = n + 1;
#undef V
}

int
px_pg_rows(const PGresult *res, struct px_store_buf *b,
    int (*cb)(const struct px_store_row *, void *), void *arg)
{
	int	i, nt = PQntuples(res), n = 0;

	if (PQnfields(res) != PG_NCOLUMNS + 1)
		return -1;
	for (i = 0; i < nt; i++) {
		if (i == 0 || strcmp(PQgetvalue(res, i, 0),
		    PQgetvalue(res, i - 1, 0)) != 0) {
			if (i > 0) {
				n++;
				if (cb(&b->row, arg) != 0)
					return n;
			}
			row_fill(res, i, b);
		}
		reason_fill(res, i, b);
	}
	if (nt > 0) {
		n++;
		(void)cb(&b->row, arg);
	}
	return n;
}

int
px_pg_params_query(struct px_pg_params *p, const struct px_store_qargs *qa,
    char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->num[0], sizeof(p->num[0]), "%d", qa->blocked_only);
	snprintf(p->num[1], sizeof(p->num[1]), "%" PRId64, qa->since_ms);
	snprintf(p->num[2], sizeof(p->num[2]), "%d", qa->limit);
	p->v[0] = p->num[0];
	p->v[1] = p->num[1];
	if (qa->glob != NULL) {
		if (glob_regex(qa->glob, p->re, sizeof(p->re)) == -1) {
			px_store_seterr(err, errlen, "bad package pattern");
			return -1;
		}
		p->v[2] = p->re;
	}
	p->v[3] = qa->scope_lo;
	p->v[4] = qa->scope_hi;
	p->v[5] = p->num[2];
	p->v[6] = qa->request_id;
	p->n = 7;
	return 0;
}

const char *
px_pg_sql_query(void)
{
	return pg_sql_query;
}

/* ----------------------------------------------- blocking (CLI, tests) */

/* pg_quiet() : server notices ("already exists, skipping") are not ours. */
static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

void
px_pg_quiet(PGconn *c)
{
	PQsetNoticeProcessor(c, pg_quiet, NULL);
}

PGconn *
px_pg_connect(const char *url, char *err, size_t errlen)
{
	const char	*vals[5];
	PGconn		*c;

	if (px_pg_check_url(url, err, errlen) == -1)
		return NULL;
	px_pg_conn_params(url, vals);
	c = PQconnectdbParams(pg_keys, vals, 1);
	if (c == NULL) {
		px_store_seterr(err, errlen, "postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		px_pg_errmsg(c, NULL, err, errlen);
		PQfinish(c);
		return NULL;
	}
	px_pg_quiet(c);
	return c;
}

static void
pg_close(void *be)
{
	struct px_pg	*p = be;

	if (p == NULL)
		return;
	PQfinish(p->conn);
	free(p);
}

void *
px_pg_open(const char *url, int create, char *err, size_t errlen)
{
	struct px_pg	*p;

	if (px_pq_load(err, errlen) == -1)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if ((p->conn = px_pg_connect(url, err, errlen)) == NULL ||
	    (create ? px_pg_migrate(p->conn, NULL, err, errlen) :
	    px_pg_check_version(p->conn, err, errlen)) == -1) {
		pg_close(p);
		return NULL;
	}
	return p;
}

static int
pg_insert(void *be, struct px_store_buf *b)
{
	struct px_pg		*p = be;
	struct px_pg_params	 pp;
	PGresult		*res;
	int			 rc = -1;

	if (px_pg_params_insert(&pp, b) == -1)
		return -1;
	res = PQexecParams(p->conn, px_pg_sql_insert, pp.n, NULL, pp.v, NULL,
	    NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		b->row.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = 0;
	}
	PQclear(res);
	px_pg_params_free(&pp);
	return rc;
}

static int
pg_set_status(void *be, int64_t id, int status)
{
	struct px_pg	*p = be;
	PGresult	*res;
	char		 ids[24], sts[16];
	const char	*v[2] = { ids, sts };
	int		 rc = -1;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	snprintf(sts, sizeof(sts), "%d", status);
	res = PQexecParams(p->conn, px_pg_sql_status, 2, NULL, v, NULL, NULL,
	    0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK &&
	    strcmp(PQcmdTuples(res), "1") == 0)
		rc = 0;
	PQclear(res);
	return rc;
}

static int
store_one(const struct px_store_row *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
	return 1;
}

static int
pg_by_id(void *be, int64_t id, struct px_store_buf *b)
{
	struct px_pg	*p = be;
	PGresult	*res;
	char		 ids[24];
	const char	*v[1] = { ids };
	int		 found = 0;

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	res = PQexecParams(p->conn, px_pg_sql_byid, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		(void)px_pg_rows(res, b, store_one, &found);
	PQclear(res);
	return found ? 0 : -1;
}

static int
pg_query(void *be, const struct px_store_qargs *qa, struct px_store_buf *b,
    int (*cb)(const struct px_store_row *, void *), void *arg, char *err,
    size_t errlen)
{
	struct px_pg		*p = be;
	struct px_pg_params	 pp;
	PGresult		*res;
	int			 n = -1;

	if (px_pg_params_query(&pp, qa, err, errlen) == -1)
		return -1;
	res = PQexecParams(p->conn, pg_sql_query, pp.n, NULL, pp.v, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		px_pg_errmsg(p->conn, res, err, errlen);
	else if ((n = px_pg_rows(res, b, cb, arg)) == -1)
		px_store_seterr(err, errlen, "postgresql: unexpected result");
	PQclear(res);
	return n;
}

/* ------------------------------------------------------------ waivers */

/*
 * A change's parameters: $1 now (an approval's created_ms), then its own
 * as pg_wparams() puts them, from $2 (px_pg_wsend()'s put them from $7).
 */
static const char pg_sql_w_add[] =
    "INSERT INTO waivers (created_ms, expires_ms, once, decision, package,"
    " version, sha512, publisher, approved_by, reason) VALUES ($1::bigint,"
    " $2::bigint, $3::int, $4, $5, $6, $7, $8, $9, $10) RETURNING "
    PX_STORE_WCOLS;
static const char pg_sql_w_revoke[] =
    "UPDATE waivers SET revoked_ms = $1::bigint, revoked_by = $3,"
    " revoke_reason = $4 WHERE id = $2::bigint AND revoked_ms = 0"
    " RETURNING " PX_STORE_WCOLS;
/*
 * One use of the newest valid waiver for the tarball.  Under READ
 * COMMITTED a second gate's UPDATE waits for the first's row lock, then
 * checks the conditions again on the new row: a once waiver is used once.
 */
static const char pg_sql_w_use[] =
    "UPDATE waivers SET uses = uses + 1, last_used_ms = $1::bigint"
    " WHERE id = (SELECT id FROM waivers WHERE package = $2 AND version = $3"
    " AND sha512 = $4 AND revoked_ms = 0 AND expires_ms > $1::bigint"
    " AND (once = 0 OR uses = 0) ORDER BY id DESC LIMIT 1)"
    " AND revoked_ms = 0 AND expires_ms > $1::bigint"
    " AND (once = 0 OR uses = 0) RETURNING " PX_STORE_WCOLS;
static const char pg_sql_w_list[] =
    "SELECT " PX_STORE_WCOLS " FROM waivers WHERE ($1::bigint = 0 OR"
    " id = $1::bigint) AND ($2::int = 0 OR (revoked_ms = 0 AND"
    " expires_ms > $3::bigint AND (once = 0 OR uses = 0)))"
    " ORDER BY id DESC LIMIT $4::int";

/*
 * pg_wparams() : a waiver change's own parameters, v[base] on: ADD
 * expires_ms, once, decision, package, version, sha512, publisher,
 * approved_by, reason (from wb); REVOKE id, revoked_by, revoke_reason
 * (wb's); USE package, version, sha512.  The text from a record or a
 * reviewer is made valid UTF-8 in wb (PostgreSQL refuses the rest); num
 * is room for two numbers.  Returns the index after the last, -1 for a
 * bad kind.
 */
static int
pg_wparams(const char *v[], int base, char num[2][24], enum px_wop_kind kind,
    int64_t id, const char *package, const char *version, const char *sha512,
    struct px_store_wbuf *wb)
{
	const char	**p = v + base;

	switch (kind) {
	case PX_WOP_ADD:
		px_store_utf8_fix(wb->package);
		px_store_utf8_fix(wb->version);
		px_store_utf8_fix(wb->reason);
		snprintf(num[0], sizeof(num[0]), "%" PRId64, wb->w.expires_ms);
		snprintf(num[1], sizeof(num[1]), "%d", wb->w.once);
		*p++ = num[0];
		*p++ = num[1];
		*p++ = wb->decision;
		*p++ = wb->package;
		*p++ = wb->version;
		*p++ = wb->sha512;
		*p++ = wb->publisher;
		*p++ = wb->approved_by;
		*p++ = wb->reason;
		break;
	case PX_WOP_REVOKE:
		px_store_utf8_fix(wb->revoke_reason);
		snprintf(num[0], sizeof(num[0]), "%" PRId64, id);
		*p++ = num[0];
		*p++ = wb->revoked_by;
		*p++ = wb->revoke_reason;
		break;
	case PX_WOP_USE:
		*p++ = package;
		*p++ = version;
		*p++ = sha512;
		break;
	default:
		return -1;
	}
	return (int)(p - v);
}

/* wrow() : row i of res (the waiver columns) into wb. */
static void
pg_wrow(const PGresult *res, int i, struct px_store_wbuf *wb)
{
	const char	*c[PX_STORE_WNCOLS];
	int		 j;

	for (j = 0; j < PX_STORE_WNCOLS; j++)
		c[j] = PQgetvalue(res, i, j);
	px_store_wbuf_set(wb, c);
}

static int
pg_waiver_op(void *be, struct px_store_wop *op, char *err, size_t errlen)
{
	struct px_pg		*p = be;
	struct px_store_wbuf	*wb = op->wb;
	struct px_pg_params	 pp;
	PGresult		*res;
	char			 num[3][24];
	const char		*v[10], *sql;
	int			 nv, rc = -1;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, op->kind == PX_WOP_ADD ?
	    wb->w.created_ms : op->now_ms);
	v[0] = num[0];
	if ((nv = pg_wparams(v, 1, num + 1, op->kind, op->id, op->package,
	    op->version, op->sha512, wb)) == -1) {
		px_store_seterr(err, errlen, "bad waiver change");
		return -1;
	}
	sql = op->kind == PX_WOP_ADD ? pg_sql_w_add : op->kind ==
	    PX_WOP_REVOKE ? pg_sql_w_revoke : pg_sql_w_use;
	if (exec_ok(p->conn, "BEGIN", err, errlen) == -1)
		return -1;
	res = PQexecParams(p->conn, sql, nv, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQnfields(res) != PX_STORE_WNCOLS) {
		px_pg_errmsg(p->conn, res, err, errlen);
		PQclear(res);
		goto fail;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		PQclear(PQexec(p->conn, "ROLLBACK"));
		return 1;
	}
	pg_wrow(res, 0, wb);
	PQclear(res);
	op->fill(op);
	if (px_pg_params_insert(&pp, op->rec) == -1) {
		px_store_seterr(err, errlen, "out of memory");
		goto fail;
	}
	res = PQexecParams(p->conn, px_pg_sql_insert, pp.n, NULL, pp.v, NULL,
	    NULL, 0);
	px_pg_params_free(&pp);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		px_pg_errmsg(p->conn, res, err, errlen);
		PQclear(res);
		goto fail;
	}
	op->rec->row.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (exec_ok(p->conn, "COMMIT", err, errlen) == -1)
		goto fail;
	rc = 0;
	return rc;
fail:
	PQclear(PQexec(p->conn, "ROLLBACK"));
	return -1;
}

static int
pg_waivers(void *be, int64_t id, int active_only, int64_t now_ms, int limit,
    struct px_store_wbuf *wb,
    int (*cb)(const struct px_store_waiver *, void *), void *arg, char *err,
    size_t errlen)
{
	struct px_pg	*p = be;
	PGresult	*res;
	char		 num[4][24];
	const char	*v[4] = { num[0], num[1], num[2], num[3] };
	int		 i, n = 0, nt;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, id);
	snprintf(num[1], sizeof(num[1]), "%d", active_only);
	snprintf(num[2], sizeof(num[2]), "%" PRId64, now_ms);
	snprintf(num[3], sizeof(num[3]), "%d", limit);
	res = PQexecParams(p->conn, pg_sql_w_list, 4, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQnfields(res) != PX_STORE_WNCOLS) {
		px_pg_errmsg(p->conn, res, err, errlen);
		PQclear(res);
		return -1;
	}
	nt = PQntuples(res);
	for (i = 0; i < nt; i++) {
		pg_wrow(res, i, wb);
		px_store_wbuf_state(wb, now_ms);
		n++;
		if (cb(&wb->w, arg) != 0)
			break;
	}
	PQclear(res);
	return n;
}

/* ------------------------------------------------------------- outbox */

static const char pg_sql_claim[] =
    "UPDATE outbox o SET lease_until_ms = $1::bigint + $2::bigint,"
    " attempts = o.attempts + 1 FROM (SELECT id FROM outbox WHERE"
    " delivered_ms = 0 AND gave_up_ms = 0 AND due_ms <= $1::bigint AND"
    " lease_until_ms <= $1::bigint ORDER BY due_ms, id LIMIT $3::int"
    " FOR UPDATE SKIP LOCKED) s WHERE o.id = s.id"
    " RETURNING o.id, o.decision_id, o.hook, o.created_ms, o.attempts";

static const char pg_sql_finish[] =
    "UPDATE outbox SET"
    " delivered_ms = CASE WHEN $3::int = 0 THEN $2::bigint ELSE 0 END,"
    " gave_up_ms = CASE WHEN $3::int = 2 THEN $2::bigint ELSE 0 END,"
    " due_ms = CASE WHEN $3::int = 1 THEN $4::bigint ELSE due_ms END,"
    " lease_until_ms = 0, last_error = $5 WHERE id = $1::bigint";

static int
pg_outbox_claim(void *be, int64_t now_ms, int64_t lease_ms,
    struct px_store_alert *out, int max, char *err, size_t errlen)
{
	struct px_pg	*p = be;
	PGresult	*res;
	char		 num[3][24];
	const char	*v[3] = { num[0], num[1], num[2] };
	int		 i, n;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, now_ms);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, lease_ms);
	snprintf(num[2], sizeof(num[2]), "%d", max);
	res = PQexecParams(p->conn, pg_sql_claim, 3, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 5) {
		px_pg_errmsg(p->conn, res, err, errlen);
		PQclear(res);
		return -1;
	}
	n = PQntuples(res) < max ? PQntuples(res) : max;
	for (i = 0; i < n; i++) {
		out[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		out[i].decision_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		px_store_copy(out[i].hook, sizeof(out[i].hook),
		    PQgetvalue(res, i, 2));
		out[i].created_ms = strtoll(PQgetvalue(res, i, 3), NULL, 10);
		out[i].attempts = (int)strtol(PQgetvalue(res, i, 4), NULL, 10);
	}
	PQclear(res);
	return n;
}

static int
pg_outbox_finish(void *be, int64_t id, int64_t now_ms, int result,
    int64_t due_ms, const char *error, char *err, size_t errlen)
{
	struct px_pg	*p = be;
	PGresult	*res;
	char		 num[4][24];
	const char	*v[5] = { num[0], num[1], num[2], num[3], error };
	int		 rc = 0;

	snprintf(num[0], sizeof(num[0]), "%" PRId64, id);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, now_ms);
	snprintf(num[2], sizeof(num[2]), "%d", result);
	snprintf(num[3], sizeof(num[3]), "%" PRId64, due_ms);
	res = PQexecParams(p->conn, pg_sql_finish, 5, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		px_pg_errmsg(p->conn, res, err, errlen);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int64_t
pg_outbox_pending(void *be, char *err, size_t errlen)
{
	struct px_pg	*p = be;
	PGresult	*res;
	int64_t		 n = -1;

	res = PQexecParams(p->conn, "SELECT count(*) FROM outbox WHERE"
	    " delivered_ms = 0 AND gave_up_ms = 0", 0, NULL, NULL, NULL, NULL,
	    0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		px_pg_errmsg(p->conn, res, err, errlen);
	PQclear(res);
	return n;
}

const struct px_store_ops px_pg_ops = {
	.name = "postgresql",
	.insert = pg_insert,
	.set_status = pg_set_status,
	.by_id = pg_by_id,
	.query = pg_query,
	.close = pg_close,
	.waiver_op = pg_waiver_op,
	.waivers = pg_waivers,
	.outbox_claim = pg_outbox_claim,
	.outbox_finish = pg_outbox_finish,
	.outbox_pending = pg_outbox_pending,
};

/* ------------------------------------------- waivers from the loop */

/*
 * A waiver's use, approval or revocation as one statement: the change
 * (CTE w, RETURNING the waiver) and, only when it matched, its decision
 * record and reason (d, r), so both commit together.  The record is what
 * store.c's wop_fill() makes for the blocking calls (the reason's text
 * cut to POL_TEXT_MAX - 1 bytes as snprintf() there; every part ASCII).
 * Parameters: $1 now (ms), $2 its time text, $3 the record's request id
 * (a use) or its prefix (then prefix-<waiver id>), $4 client, $5 who,
 * $6 user agent; the change's from $7; its webhook names (a text[], the
 * outbox rows of its record) last.
 */
#define PG_WREC(reqid, kind, status, msg, rule, text, hooks) \
    " d AS (INSERT INTO decisions (time_ms, time, request_id, client, who," \
    " npm_command, user_agent, kind, package, version, tag, access," \
    " verdict, status, rule_match, message, inspection, sha512, integrity," \
    " body_bytes, tarball_bytes, unpacked_bytes, file_count, reasons_total)" \
    " SELECT $1::bigint, $2::text, " reqid ", $4::text, $5::text, ''," \
    " $6::text, '" kind "', w.package, w.version, '', '', 'allow', " \
    status ", '', " msg ", '', w.sha512, '', 0, 0, 0, 0, 1 FROM w" \
    " RETURNING id)," \
    " r AS (INSERT INTO reasons (decision_id, seq, rule, file, text, hint," \
    " byte_offset) SELECT d.id, 0, '" rule "', '', left(" text ", 199)," \
    " '', -1 FROM d, w)," \
    " o AS (INSERT INTO outbox (decision_id, hook, created_ms, due_ms)" \
    " SELECT d.id, h, $1::bigint, $1::bigint FROM d, unnest(" hooks \
    "::text[]) AS h WHERE h <> '')" \
    " SELECT w.*, d.id FROM w, d"

/* Under READ COMMITTED a racing gate's UPDATE waits for the row, then
   checks the conditions again on its new version: once is once. */
static const char pg_sql_wa_use[] =
    "WITH w AS (UPDATE waivers SET uses = uses + 1,"
    " last_used_ms = $1::bigint WHERE id = (SELECT id FROM waivers WHERE"
    " package = $7::text AND version = $8::text AND sha512 = $9::text AND"
    " revoked_ms = 0 AND expires_ms > $1::bigint AND (once = 0 OR"
    " uses = 0) ORDER BY id DESC LIMIT 1) AND revoked_ms = 0 AND"
    " expires_ms > $1::bigint AND (once = 0 OR uses = 0)"
    " RETURNING " PX_STORE_WCOLS "),"
    PG_WREC("$3::text", "waiver-use", "0", "w.reason", "waiver.use",
    "format('waiver %s (decision %s, approved by %s) let this tarball"
    " through: use %s', w.id, w.decision, w.approved_by, w.uses)", "$10");

static const char pg_sql_wa_revoke[] =
    "WITH w AS (UPDATE waivers SET revoked_ms = $1::bigint,"
    " revoked_by = $8::text, revoke_reason = $9::text"
    " WHERE id = $7::bigint AND revoked_ms = 0"
    " RETURNING " PX_STORE_WCOLS "),"
    PG_WREC("$3::text || '-' || w.id", "waiver-revoke", "200",
    "w.revoke_reason", "waiver.revoke",
    "format('waiver %s for decision %s revoked by %s', w.id, w.decision,"
    " w.revoked_by)", "$10");

static const char pg_sql_wa_add[] =
    "WITH w AS (INSERT INTO waivers (created_ms, expires_ms, once,"
    " decision, package, version, sha512, publisher, approved_by, reason)"
    " VALUES ($1::bigint, $7::bigint, $8::int, $9::text, $10::text,"
    " $11::text, $12::text, $13::text, $14::text, $15::text)"
    " RETURNING " PX_STORE_WCOLS "),"
    PG_WREC("$3::text || '-' || w.id", "waiver-approve", "200", "w.reason",
    "waiver.approve",
    "format('waiver %s for decision %s approved by %s, %s until %s',"
    " w.id, w.decision, w.approved_by, CASE WHEN w.once <> 0 THEN"
    " 'one use' ELSE 'any use' END, $16::text)", "$17");

int
px_pg_wsend(PGconn *c, struct px_store_op *op)
{
	struct px_store_wasync	*wa = op->w;
	struct px_store_wbuf	*wb = &wa->wb;
	char			 num[4][24];
	const char		*v[17], *sql;
	char			*hooks;
	int			 n, ok;

	if (wa->list) {
		snprintf(num[0], sizeof(num[0]), "%" PRId64, wa->id);
		snprintf(num[1], sizeof(num[1]), "%d", wa->active_only);
		snprintf(num[2], sizeof(num[2]), "%" PRId64, wa->now_ms);
		snprintf(num[3], sizeof(num[3]), "%d", wa->limit);
		v[0] = num[0];
		v[1] = num[1];
		v[2] = num[2];
		v[3] = num[3];
		return PQsendQueryParams(c, pg_sql_w_list, 4, NULL, v, NULL,
		    NULL, 0) ? 1 : 0;
	}
	/* Text from a publish: never refused as UTF-8 (pg_wparams(): wb). */
	px_store_utf8_fix(wa->client);
	px_store_utf8_fix(wa->ua);
	px_store_utf8_fix(wa->package);
	px_store_utf8_fix(wa->version);
	snprintf(num[0], sizeof(num[0]), "%" PRId64, wa->now_ms);
	v[0] = num[0];
	v[1] = wa->time;
	v[2] = wa->kind == PX_WOP_USE ? wa->reqid : wa->prefix;
	v[3] = wa->client;
	v[4] = wa->who;
	v[5] = wa->ua;
	if ((n = pg_wparams(v, 6, num + 1, wa->kind, wa->id, wa->package,
	    wa->version, wa->sha512, wb)) == -1)
		return 0;
	if (wa->kind == PX_WOP_ADD)
		v[n++] = wa->until;
	sql = wa->kind == PX_WOP_ADD ? pg_sql_wa_add : wa->kind ==
	    PX_WOP_REVOKE ? pg_sql_wa_revoke : pg_sql_wa_use;
	px_store_utf8_fix(wa->outbox);
	if ((hooks = outbox_array(wa->outbox)) == NULL)
		return 0;
	v[n++] = hooks;
	ok = PQsendQueryParams(c, sql, n, NULL, v, NULL, NULL, 0);
	free(hooks);
	return ok ? 1 : 0;
}

int
px_pg_wresult(const PGresult *res, struct px_store_op *op, char *err,
    size_t errlen)
{
	struct px_store_wasync	*wa = op->w;
	int			 i, n = 0, nt;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		px_pg_errmsg(NULL, res, err, errlen);
		return -1;
	}
	nt = PQntuples(res);
	if (wa->list) {
		if (PQnfields(res) != PX_STORE_WNCOLS) {
			px_store_seterr(err, errlen, "postgresql: unexpected "
			    "result");
			return -1;
		}
		for (i = 0; i < nt && !op->cancelled; i++) {
			pg_wrow(res, i, &wa->wb);
			px_store_wbuf_state(&wa->wb, wa->now_ms);
			n++;
			if (wa->row(&wa->wb.w, wa->row_arg) != 0)
				break;
		}
		return n;
	}
	if (PQnfields(res) != PX_STORE_WNCOLS + 1 || nt > 1) {
		px_store_seterr(err, errlen, "postgresql: unexpected result");
		return -1;
	}
	if (nt == 0)
		return 1;
	pg_wrow(res, 0, &wa->wb);
	wa->rec_id = strtoll(PQgetvalue(res, 0, PX_STORE_WNCOLS), NULL, 10);
	return 0;
}
