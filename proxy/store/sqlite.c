/*
 * proxy/store/sqlite.c: the SQLite backend of the decision store (the
 * embedded default).  It owns the connection (one file, WAL,
 * synchronous=FULL, a busy timeout so that several processes can share
 * the file), the schema and its version (PRAGMA user_version), and the
 * prepared statements.  store.c serialises calls; this file never logs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "policy.h"
#include "store.h"
#include "store-int.h"

#define PX_SQLITE_SCHEMA_VERSION	4
/*
 * How long a write waits for another writer's lock (a sqlite3 shell, a
 * backup).  The gate writes from its event loop, so this is short: past
 * it the write fails and the publish is refused (503), never forwarded.
 */
#define PX_SQLITE_BUSY_MS	2000

struct px_sqlite {
	sqlite3			*db;
	sqlite3_stmt		*st_begin;
	sqlite3_stmt		*st_commit;
	sqlite3_stmt		*st_rollback;
	sqlite3_stmt		*st_insert;
	sqlite3_stmt		*st_reason;
	sqlite3_stmt		*st_query;
	sqlite3_stmt		*st_reasons;
	sqlite3_stmt		*st_status;
	sqlite3_stmt		*st_byid;
	sqlite3_stmt		*st_outbox;
};

static const char audit_schema[] =
    "CREATE TABLE IF NOT EXISTS decisions ("
    " id INTEGER PRIMARY KEY,"
    " time_ms INTEGER NOT NULL,"
    " time TEXT NOT NULL,"
    " request_id TEXT NOT NULL,"
    " client TEXT NOT NULL,"
    " who TEXT NOT NULL,"
    " npm_command TEXT NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " package TEXT NOT NULL,"
    " version TEXT NOT NULL,"
    " tag TEXT NOT NULL,"
    " access TEXT NOT NULL,"
    " verdict TEXT NOT NULL CHECK (verdict IN ('allow', 'block')),"
    " status INTEGER NOT NULL,"
    " rule_match TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " inspection TEXT NOT NULL,"
    " sha512 TEXT NOT NULL,"
    " integrity TEXT NOT NULL,"
    " body_bytes INTEGER NOT NULL,"
    " tarball_bytes INTEGER NOT NULL,"
    " unpacked_bytes INTEGER NOT NULL,"
    " file_count INTEGER NOT NULL,"
    " reasons_total INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time_ms);"
    "CREATE INDEX IF NOT EXISTS decisions_package ON decisions"
    " (package, time_ms);"
    "CREATE INDEX IF NOT EXISTS decisions_request ON decisions"
    " (request_id);"
    "CREATE TABLE IF NOT EXISTS reasons ("
    " decision_id INTEGER NOT NULL REFERENCES decisions (id)"
    "  ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " rule TEXT NOT NULL,"
    " file TEXT NOT NULL,"
    " text TEXT NOT NULL,"
    " hint TEXT NOT NULL,"
    " byte_offset INTEGER NOT NULL,"
    " PRIMARY KEY (decision_id, seq)) WITHOUT ROWID;";

/*
 * Forward migrations after the first schema (audit_schema, version 1):
 * migration i takes version i + 1 to i + 2.  Never edit one that has
 * shipped; append.
 */
static const char *const sqlite_migrations[] = {
	/* 1 -> 2: waivers (issue 10). */
	"CREATE TABLE waivers ("
	" id INTEGER PRIMARY KEY,"
	" created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL,"
	" once INTEGER NOT NULL,"
	" uses INTEGER NOT NULL DEFAULT 0,"
	" last_used_ms INTEGER NOT NULL DEFAULT 0,"
	" revoked_ms INTEGER NOT NULL DEFAULT 0,"
	" decision TEXT NOT NULL,"
	" package TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" sha512 TEXT NOT NULL,"
	" publisher TEXT NOT NULL,"
	" approved_by TEXT NOT NULL,"
	" reason TEXT NOT NULL,"
	" revoked_by TEXT NOT NULL DEFAULT '',"
	" revoke_reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX waivers_tarball ON waivers (package, version, sha512);",
	/* 2 -> 3: who, path, policy, dist-tag values, file list (issue 10). */
	"ALTER TABLE decisions ADD COLUMN npm_user TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN path TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN connect_target TEXT NOT NULL"
	" DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN policy_sha256 TEXT NOT NULL"
	" DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN policy_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN policy_revision TEXT NOT NULL"
	" DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN tag_old TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN tag_new TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE decisions ADD COLUMN files_listed INTEGER NOT NULL"
	" DEFAULT -1;"
	"ALTER TABLE decisions ADD COLUMN files_total INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE decisions ADD COLUMN files TEXT NOT NULL DEFAULT '';",
	/*
	 * 3 -> 4: the webhook outbox (issue 10): one row per alert and
	 * hook, written with its decision; a deliverer leases due rows.
	 */
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY,"
	" decision_id INTEGER NOT NULL REFERENCES decisions (id)"
	"  ON DELETE CASCADE,"
	" hook TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL,"
	" due_ms INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" lease_until_ms INTEGER NOT NULL DEFAULT 0,"
	" delivered_ms INTEGER NOT NULL DEFAULT 0,"
	" gave_up_ms INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_due ON outbox (due_ms)"
	" WHERE delivered_ms = 0 AND gave_up_ms = 0;",
};

static const char sql_outbox[] =
    "INSERT INTO outbox (decision_id, hook, created_ms, due_ms)"
    " VALUES (?1, ?2, ?3, ?3)";

/* The columns of a record; files only where a query asks for them. */
#define AUDIT_COLUMNS_NOFILES \
    "id, time_ms, time, request_id, client, who, npm_command, user_agent," \
    " kind, package, version, tag, access, verdict, status, rule_match," \
    " message, inspection, sha512, integrity, body_bytes, tarball_bytes," \
    " unpacked_bytes, file_count, reasons_total, npm_user, path," \
    " connect_target, policy_sha256, policy_name, policy_revision," \
    " tag_old, tag_new, files_listed, files_total"
#define AUDIT_COLUMNS	AUDIT_COLUMNS_NOFILES ", ''"

static const char audit_sql_insert[] =
    "INSERT INTO decisions (time_ms, time, request_id, client, who,"
    " npm_command, user_agent, kind, package, version, tag, access,"
    " verdict, status, rule_match, message, inspection, sha512, integrity,"
    " body_bytes, tarball_bytes, unpacked_bytes, file_count, reasons_total,"
    " npm_user, path, connect_target, policy_sha256, policy_name,"
    " policy_revision, tag_old, tag_new, files_listed, files_total, files)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28,"
    " ?29, ?30, ?31, ?32, ?33, ?34, ?35)";

static const char audit_sql_reason[] =
    "INSERT INTO reasons (decision_id, seq, rule, file, text, hint,"
    " byte_offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/*
 * The scope bound is a range on the package column: "@x/" <= package <
 * "@x0" ('0' follows '/'), which needs no escaping and uses the index.
 */
static const char audit_sql_query[] =
    "SELECT " AUDIT_COLUMNS_NOFILES ","
    " CASE WHEN ?7 IS NULL THEN '' ELSE files END FROM decisions"
    " WHERE (?1 = 0 OR verdict = 'block')"
    " AND time_ms >= ?2"
    " AND (?3 IS NULL OR package GLOB ?3)"
    " AND (?4 IS NULL OR (package >= ?4 AND package < ?5))"
    " AND (?7 IS NULL OR request_id = ?7)"
    " ORDER BY time_ms DESC, id DESC LIMIT ?6";

static const char audit_sql_status[] =
    "UPDATE decisions SET status = ?2 WHERE id = ?1 AND status = 0";

static const char audit_sql_byid[] =
    "SELECT " AUDIT_COLUMNS " FROM decisions WHERE id = ?1";

static const char audit_sql_reasons[] =
    "SELECT rule, file, text, hint, byte_offset FROM reasons"
    " WHERE decision_id = ?1 ORDER BY seq";

static int
prep(struct px_sqlite *a, const char *sql, sqlite3_stmt **st, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	return 0;
}

/* run1() : steps st once to completion and resets it; 0 or -1. */
static int
run1(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* pragma_int() : the integer a PRAGMA returns, or -1. */
static int64_t
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* set_wal() : switches to WAL; 0 when the database is in WAL mode. */
static int
set_wal(sqlite3 *db)
{
	sqlite3_stmt		*st;
	const unsigned char	*mode;
	int			 ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (mode = sqlite3_column_text(st, 0)) != NULL &&
	    strcmp((const char *)mode, "wal") == 0)
		ok = 1;
	sqlite3_finalize(st);
	return ok ? 0 : -1;
}

/*
 * init_schema() : creates the schema in one immediate transaction, so
 * that two processes opening a new file at once do not race.
 */
static int
init_schema(struct px_sqlite *a, char *err, size_t errlen)
{
	int64_t	v;
	char	sql[64];

	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	v = pragma_int(a->db, "PRAGMA user_version");
	if (v < 0) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		goto fail;
	}
	if (v > PX_SQLITE_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %" PRId64
		    " is newer than this pubgate's (%d)", v,
		    PX_SQLITE_SCHEMA_VERSION);
		goto fail;
	}
	if (v < 1 && sqlite3_exec(a->db, audit_schema, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		px_store_seterr(err, errlen, "sqlite: schema: %s",
		    sqlite3_errmsg(a->db));
		goto fail;
	}
	for (; v < PX_SQLITE_SCHEMA_VERSION; v++) {
		if (v < 1)
			continue;
		if (sqlite3_exec(a->db, sqlite_migrations[v - 1], NULL, NULL,
		    NULL) != SQLITE_OK) {
			px_store_seterr(err, errlen, "sqlite: migration to "
			    "version %d: %s", (int)v + 1, sqlite3_errmsg(a->db));
			goto fail;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    PX_SQLITE_SCHEMA_VERSION);
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* check_schema() : an existing store must carry a version we read. */
static int
check_schema(struct px_sqlite *a, char *err, size_t errlen)
{
	int64_t	v;

	v = pragma_int(a->db, "PRAGMA user_version");
	if (v < 0) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	if (v == 0) {
		px_store_seterr(err, errlen, "not a pubgate decision store");
		return -1;
	}
	if (v > PX_SQLITE_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %" PRId64
		    " is newer than this pubgate's (%d)", v,
		    PX_SQLITE_SCHEMA_VERSION);
		return -1;
	}
	if (v < PX_SQLITE_SCHEMA_VERSION) {
		px_store_seterr(err, errlen, "decision store schema version %"
		    PRId64 " is older than this pubgate's (%d); run pubgate db "
		    "migrate", v, PX_SQLITE_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static void	sqlite_close(void *);

/*
 * px_sqlite_open() : with create, the file is made 0600 first (it holds
 * client addresses) and the schema is created if missing; without, the
 * file and a schema this pubgate reads must exist (`pubgate log`).
 */
void *
px_sqlite_open(const char *path, int create, char *err, size_t errlen)
{
	struct px_sqlite	*a = NULL;
	int			 fd, flags;

	if (create) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
		    -1) {
			px_store_seterr(err, errlen, "%s: %s", path,
			    strerror(errno));
			return NULL;
		}
		close(fd);
	} else if (access(path, F_OK) == -1) {
		px_store_seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, &a->db, flags, NULL) != SQLITE_OK) {
		px_store_seterr(err, errlen, "%s: %s", path, a->db ?
		    sqlite3_errmsg(a->db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(a->db, 1);
	if (sqlite3_busy_timeout(a->db, PX_SQLITE_BUSY_MS) != SQLITE_OK)
		goto sqlfail;
	/* A file that is not a database fails on its first read. */
	if (pragma_int(a->db, "PRAGMA user_version") < 0) {
		px_store_seterr(err, errlen, "%s: %s", path,
		    sqlite3_errmsg(a->db));
		goto fail;
	}
	if (set_wal(a->db) == -1) {
		px_store_seterr(err, errlen, "%s: cannot switch to WAL mode: %s",
		    path, sqlite3_errmsg(a->db));
		goto fail;
	}
	if (sqlite3_exec(a->db, "PRAGMA synchronous=FULL", NULL, NULL,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, "PRAGMA foreign_keys=ON", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto sqlfail;
	if (create) {
		if (init_schema(a, err, errlen) == -1)
			goto fail;
	} else if (check_schema(a, err, errlen) == -1)
		goto fail;
	if (prep(a, "BEGIN IMMEDIATE", &a->st_begin, err, errlen) == -1 ||
	    prep(a, "COMMIT", &a->st_commit, err, errlen) == -1 ||
	    prep(a, "ROLLBACK", &a->st_rollback, err, errlen) == -1 ||
	    prep(a, audit_sql_insert, &a->st_insert, err, errlen) == -1 ||
	    prep(a, audit_sql_reason, &a->st_reason, err, errlen) == -1 ||
	    prep(a, audit_sql_query, &a->st_query, err, errlen) == -1 ||
	    prep(a, audit_sql_reasons, &a->st_reasons, err, errlen) == -1 ||
	    prep(a, audit_sql_status, &a->st_status, err, errlen) == -1 ||
	    prep(a, audit_sql_byid, &a->st_byid, err, errlen) == -1 ||
	    prep(a, sql_outbox, &a->st_outbox, err, errlen) == -1)
		goto fail;
	return a;
sqlfail:
	px_store_seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(a->db));
fail:
	sqlite_close(a);
	return NULL;
}

static void
sqlite_close(void *be)
{
	struct px_sqlite	*a = be;

	if (a == NULL)
		return;
	sqlite3_finalize(a->st_begin);
	sqlite3_finalize(a->st_commit);
	sqlite3_finalize(a->st_rollback);
	sqlite3_finalize(a->st_insert);
	sqlite3_finalize(a->st_reason);
	sqlite3_finalize(a->st_query);
	sqlite3_finalize(a->st_reasons);
	sqlite3_finalize(a->st_status);
	sqlite3_finalize(a->st_byid);
	sqlite3_finalize(a->st_outbox);
	/* Closing the last connection checkpoints the WAL into the file. */
	sqlite3_close(a->db);
	free(a);
}

/* insert_outbox() : one outbox row per webhook name of r; 0 or -1. */
static int
insert_outbox(struct px_sqlite *a, const struct px_store_row *r)
{
	sqlite3_stmt	*st = a->st_outbox;
	const char	*p, *e;
	int		 rc;

	for (p = r->outbox != NULL ? r->outbox : ""; *p != '\0'; p = e) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if (e > p) {
			sqlite3_bind_int64(st, 1, r->id);
			sqlite3_bind_text(st, 2, p, (int)(e - p),
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, r->time_ms);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			if (rc != SQLITE_DONE)
				return -1;
		}
		if (*e == '\n')
			e++;
	}
	return 0;
}

/* insert_row() : binds and inserts b's row and its reasons; 0 or -1. */
static int
insert_row(struct px_sqlite *a, struct px_store_buf *b)
{
	struct px_store_row	*r = &b->row;
	sqlite3_stmt		*st = a->st_insert;
	sqlite3_int64		 id;
	size_t			 i;
	int			 rc;

	sqlite3_bind_int64(st, 1, r->time_ms);
	sqlite3_bind_text(st, 2, r->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->request_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->npm_command, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->package, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->tag, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->access, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->verdict, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, r->status);
	sqlite3_bind_text(st, 15, r->rule_match, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, r->message, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, r->inspection, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 18, r->sha512, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, r->integrity, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 20, r->body_bytes);
	sqlite3_bind_int64(st, 21, r->tarball_bytes);
	sqlite3_bind_int64(st, 22, r->unpacked_bytes);
	sqlite3_bind_int64(st, 23, r->file_count);
	sqlite3_bind_int64(st, 24, r->reasons_total);
	sqlite3_bind_text(st, 25, r->user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 26, r->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 27, r->connect_target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 28, r->policy_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 29, r->policy_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 30, r->policy_revision, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 31, r->tag_old, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 32, r->tag_new, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 33, r->files_listed);
	sqlite3_bind_int64(st, 34, r->files_total);
	sqlite3_bind_text(st, 35, r->files, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return -1;
	id = sqlite3_last_insert_rowid(a->db);
	r->id = id;
	st = a->st_reason;
	for (i = 0; i < r->nreasons; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		sqlite3_bind_text(st, 3, r->reasons[i].rule, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->reasons[i].file, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->reasons[i].text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->reasons[i].hint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, r->reasons[i].offset);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return insert_outbox(a, r);
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*s;

	s = sqlite3_column_text(st, i);
	return s != NULL ? (const char *)s : "";
}

/* read_row() : the current row of st, with its reasons, into b. */
static int
read_row(struct px_sqlite *a, sqlite3_stmt *st, struct px_store_buf *b)
{
	struct px_store_row	*r = &b->row;
	size_t			 n = 0;
	int			 rc;

	memset(r, 0, sizeof(*r));
	px_store_buf_link(b);
	r->id = sqlite3_column_int64(st, 0);
	r->time_ms = sqlite3_column_int64(st, 1);
	PX_STORE_SET(b, time, col_text(st, 2));
	PX_STORE_SET(b, request_id, col_text(st, 3));
	PX_STORE_SET(b, client, col_text(st, 4));
	PX_STORE_SET(b, who, col_text(st, 5));
	PX_STORE_SET(b, npm_command, col_text(st, 6));
	PX_STORE_SET(b, user_agent, col_text(st, 7));
	PX_STORE_SET(b, kind, col_text(st, 8));
	PX_STORE_SET(b, package, col_text(st, 9));
	PX_STORE_SET(b, version, col_text(st, 10));
	PX_STORE_SET(b, tag, col_text(st, 11));
	PX_STORE_SET(b, access, col_text(st, 12));
	PX_STORE_SET(b, verdict, col_text(st, 13));
	r->status = sqlite3_column_int(st, 14);
	PX_STORE_SET(b, rule_match, col_text(st, 15));
	PX_STORE_SET(b, message, col_text(st, 16));
	PX_STORE_SET(b, inspection, col_text(st, 17));
	PX_STORE_SET(b, sha512, col_text(st, 18));
	PX_STORE_SET(b, integrity, col_text(st, 19));
	r->body_bytes = sqlite3_column_int64(st, 20);
	r->tarball_bytes = sqlite3_column_int64(st, 21);
	r->unpacked_bytes = sqlite3_column_int64(st, 22);
	r->file_count = sqlite3_column_int64(st, 23);
	r->reasons_total = sqlite3_column_int64(st, 24);
	PX_STORE_SET(b, user, col_text(st, 25));
	PX_STORE_SET(b, path, col_text(st, 26));
	PX_STORE_SET(b, connect_target, col_text(st, 27));
	PX_STORE_SET(b, policy_sha256, col_text(st, 28));
	PX_STORE_SET(b, policy_name, col_text(st, 29));
	PX_STORE_SET(b, policy_revision, col_text(st, 30));
	PX_STORE_SET(b, tag_old, col_text(st, 31));
	PX_STORE_SET(b, tag_new, col_text(st, 32));
	r->files_listed = sqlite3_column_int64(st, 33);
	r->files_total = sqlite3_column_int64(st, 34);
	(void)px_store_buf_files(b, col_text(st, 35),
	    (size_t)sqlite3_column_bytes(st, 35));

	st = a->st_reasons;
	sqlite3_bind_int64(st, 1, r->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < POL_REASONS_MAX) {
		PX_STORE_SET(b, r_rule[n], col_text(st, 0));
		PX_STORE_SET(b, r_file[n], col_text(st, 1));
		PX_STORE_SET(b, r_text[n], col_text(st, 2));
		PX_STORE_SET(b, r_hint[n], col_text(st, 3));
		b->reasons[n].offset = sqlite3_column_int64(st, 4);
		n++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	r->nreasons = n;
	return 0;
}

/* sqlite_insert() : the row and its reasons in one transaction. */
static int
sqlite_insert(void *be, struct px_store_buf *b)
{
	struct px_sqlite	*a = be;

	if (run1(a->st_begin) == -1)
		return -1;
	if (insert_row(a, b) == -1) {
		run1(a->st_rollback);
		return -1;
	}
	/* With WAL and synchronous=FULL, COMMIT returns once it is synced. */
	if (run1(a->st_commit) == -1) {
		run1(a->st_rollback);
		return -1;
	}
	return 0;
}

static int
sqlite_query(void *be, const struct px_store_qargs *qa,
    struct px_store_buf *b, int (*cb)(const struct px_store_row *, void *),
    void *arg, char *err, size_t errlen)
{
	struct px_sqlite	*a = be;
	sqlite3_stmt		*st = a->st_query;
	int			 n = 0, rc;

	sqlite3_bind_int(st, 1, qa->blocked_only);
	sqlite3_bind_int64(st, 2, qa->since_ms);
	if (qa->glob != NULL)
		sqlite3_bind_text(st, 3, qa->glob, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (qa->scope_lo != NULL) {
		sqlite3_bind_text(st, 4, qa->scope_lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, qa->scope_hi, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 4);
		sqlite3_bind_null(st, 5);
	}
	sqlite3_bind_int(st, 6, qa->limit);
	if (qa->request_id != NULL)
		sqlite3_bind_text(st, 7, qa->request_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(a, st, b) == -1) {
			rc = SQLITE_ERROR;
			break;
		}
		n++;
		if (cb(&b->row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		px_store_seterr(err, errlen, "sqlite: %s",
		    sqlite3_errmsg(a->db));
		n = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

static int
sqlite_set_status(void *be, int64_t id, int status)
{
	struct px_sqlite	*a = be;
	int			 step;

	sqlite3_bind_int64(a->st_status, 1, id);
	sqlite3_bind_int(a->st_status, 2, status);
	step = sqlite3_step(a->st_status);
	sqlite3_reset(a->st_status);
	sqlite3_clear_bindings(a->st_status);
	/* Autocommit: the UPDATE is durable when the step returns. */
	if (step != SQLITE_DONE || sqlite3_changes(a->db) != 1)
		return -1;
	return 0;
}

static int
sqlite_by_id(void *be, int64_t id, struct px_store_buf *b)
{
	struct px_sqlite	*a = be;
	int			 rc = -1;

	sqlite3_bind_int64(a->st_byid, 1, id);
	if (sqlite3_step(a->st_byid) == SQLITE_ROW &&
	    read_row(a, a->st_byid, b) == 0)
		rc = 0;
	sqlite3_reset(a->st_byid);
	sqlite3_clear_bindings(a->st_byid);
	return rc;
}

/* ------------------------------------------------------------ waivers */

static const char sql_w_add[] =
    "INSERT INTO waivers (created_ms, expires_ms, once, decision, package,"
    " version, sha512, publisher, approved_by, reason) VALUES (?1, ?2, ?3,"
    " ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING " PX_STORE_WCOLS;
static const char sql_w_revoke[] =
    "UPDATE waivers SET revoked_ms = ?2, revoked_by = ?3, revoke_reason = ?4"
    " WHERE id = ?1 AND revoked_ms = 0 RETURNING " PX_STORE_WCOLS;
/*
 * One use of the newest valid waiver for the tarball: the conditions are
 * checked again on the row itself, so a once waiver is never used twice.
 */
static const char sql_w_use[] =
    "UPDATE waivers SET uses = uses + 1, last_used_ms = ?4"
    " WHERE id = (SELECT id FROM waivers WHERE package = ?1 AND version = ?2"
    " AND sha512 = ?3 AND revoked_ms = 0 AND expires_ms > ?4"
    " AND (once = 0 OR uses = 0) ORDER BY id DESC LIMIT 1)"
    " AND revoked_ms = 0 AND expires_ms > ?4 AND (once = 0 OR uses = 0)"
    " RETURNING " PX_STORE_WCOLS;
static const char sql_w_list[] =
    "SELECT " PX_STORE_WCOLS " FROM waivers WHERE (?1 = 0 OR id = ?1)"
    " AND (?2 = 0 OR (revoked_ms = 0 AND expires_ms > ?3"
    " AND (once = 0 OR uses = 0))) ORDER BY id DESC LIMIT ?4";

/* wrow() : the waiver columns of st's current row into wb. */
static void
wrow(sqlite3_stmt *st, struct px_store_wbuf *wb)
{
	const char	*c[PX_STORE_WNCOLS];
	int		 i;

	for (i = 0; i < PX_STORE_WNCOLS; i++)
		c[i] = col_text(st, i);
	px_store_wbuf_set(wb, c);
}

static int
sqlite_waiver_op(void *be, struct px_store_wop *op, char *err, size_t errlen)
{
	struct px_sqlite	*a = be;
	struct px_store_wbuf	*wb = op->wb;
	const struct px_store_waiver *w = &wb->w;
	sqlite3_stmt		*st = NULL;
	const char		*sql;
	int			 rc, found = 0;

	sql = op->kind == PX_WOP_ADD ? sql_w_add : op->kind == PX_WOP_REVOKE ?
	    sql_w_revoke : sql_w_use;
	if (run1(a->st_begin) == -1)
		goto sqlerr;
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto sqlerr;
	switch (op->kind) {
	case PX_WOP_ADD:
		sqlite3_bind_int64(st, 1, w->created_ms);
		sqlite3_bind_int64(st, 2, w->expires_ms);
		sqlite3_bind_int(st, 3, w->once);
		sqlite3_bind_text(st, 4, w->decision, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, w->package, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, w->version, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, w->sha512, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 8, w->publisher, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, w->approved_by, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 10, w->reason, -1, SQLITE_TRANSIENT);
		break;
	case PX_WOP_REVOKE:
		sqlite3_bind_int64(st, 1, op->id);
		sqlite3_bind_int64(st, 2, op->now_ms);
		sqlite3_bind_text(st, 3, w->revoked_by, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, w->revoke_reason, -1,
		    SQLITE_TRANSIENT);
		break;
	case PX_WOP_USE:
		sqlite3_bind_text(st, 1, op->package, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, op->version, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, op->sha512, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, op->now_ms);
		break;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		found = 1;
		wrow(st, wb);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(st);
	st = NULL;
	if (!found) {
		run1(a->st_rollback);
		return 1;
	}
	op->fill(op);
	if (insert_row(a, op->rec) == -1 || run1(a->st_commit) == -1)
		goto sqlerr;
	return 0;
sqlerr:
	px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	run1(a->st_rollback);
	return -1;
}

static int
sqlite_waivers(void *be, int64_t id, int active_only, int64_t now_ms,
    int limit, struct px_store_wbuf *wb,
    int (*cb)(const struct px_store_waiver *, void *), void *arg, char *err,
    size_t errlen)
{
	struct px_sqlite	*a = be;
	sqlite3_stmt		*st;
	int			 n = 0, rc;

	if (sqlite3_prepare_v2(a->db, sql_w_list, -1, &st, NULL) !=
	    SQLITE_OK) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, active_only);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int(st, 4, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		wrow(st, wb);
		px_store_wbuf_state(wb, now_ms);
		n++;
		if (cb(&wb->w, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		px_store_seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		n = -1;
	}
	sqlite3_finalize(st);
	return n;
}

/* ------------------------------------------------------------- outbox */

static const char sql_claim[] =
    "UPDATE outbox SET lease_until_ms = ?1 + ?2, attempts = attempts + 1"
    " WHERE id IN (SELECT id FROM outbox WHERE delivered_ms = 0 AND"
    " gave_up_ms = 0 AND due_ms <= ?1 AND lease_until_ms <= ?1"
    " ORDER BY due_ms, id LIMIT ?3)"
    " RETURNING id, decision_id, hook, created_ms, attempts";

static const char sql_finish[] =
    "UPDATE outbox SET"
    " delivered_ms = CASE WHEN ?3 = 0 THEN ?2 ELSE 0 END,"
    " gave_up_ms = CASE WHEN ?3 = 2 THEN ?2 ELSE 0 END,"
    " due_ms = CASE WHEN ?3 = 1 THEN ?4 ELSE due_ms END,"
    " lease_until_ms = 0, last_error = ?5 WHERE id = ?1";

static int
sqlite_outbox_claim(void *be, int64_t now_ms, int64_t lease_ms,
    struct px_store_alert *out, int max, char *err, size_t errlen)
{
	struct px_sqlite	*a = be;
	sqlite3_stmt		*st = NULL;
	int			 n = 0, rc;

	if (sqlite3_prepare_v2(a->db, sql_claim, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, lease_ms);
	sqlite3_bind_int(st, 3, max);
	/* One statement: SQLite runs it in a transaction of its own. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n >= max)
			continue;
		out[n].id = sqlite3_column_int64(st, 0);
		out[n].decision_id = sqlite3_column_int64(st, 1);
		px_store_copy(out[n].hook, sizeof(out[n].hook),
		    col_text(st, 2));
		out[n].created_ms = sqlite3_column_int64(st, 3);
		out[n].attempts = sqlite3_column_int(st, 4);
		n++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return n;
fail:
	px_store_seterr(err, errlen, "sqlite: outbox: %s",
	    sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	return -1;
}

static int
sqlite_outbox_finish(void *be, int64_t id, int64_t now_ms, int result,
    int64_t due_ms, const char *error, char *err, size_t errlen)
{
	struct px_sqlite	*a = be;
	sqlite3_stmt		*st = NULL;
	int			 rc;

	if (sqlite3_prepare_v2(a->db, sql_finish, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int(st, 3, result);
	sqlite3_bind_int64(st, 4, due_ms);
	sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	px_store_seterr(err, errlen, "sqlite: outbox: %s",
	    sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	return -1;
}

static int64_t
sqlite_outbox_pending(void *be, char *err, size_t errlen)
{
	struct px_sqlite	*a = be;
	sqlite3_stmt		*st = NULL;
	int64_t			 n = -1;

	if (sqlite3_prepare_v2(a->db, "SELECT count(*) FROM outbox WHERE"
	    " delivered_ms = 0 AND gave_up_ms = 0", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		px_store_seterr(err, errlen, "sqlite: outbox: %s",
		    sqlite3_errmsg(a->db));
	sqlite3_finalize(st);
	return n;
}

const struct px_store_ops px_sqlite_ops = {
	.name = "sqlite",
	.insert = sqlite_insert,
	.set_status = sqlite_set_status,
	.by_id = sqlite_by_id,
	.query = sqlite_query,
	.close = sqlite_close,
	.waiver_op = sqlite_waiver_op,
	.waivers = sqlite_waivers,
	.outbox_claim = sqlite_outbox_claim,
	.outbox_finish = sqlite_outbox_finish,
	.outbox_pending = sqlite_outbox_pending,
};

int
px_sqlite_migrate(const char *path, int *version, char *err, size_t errlen)
{
	void	*be;

	/* Opening with create brings the schema to this version. */
	if ((be = px_sqlite_open(path, 1, err, errlen)) == NULL)
		return -1;
	sqlite_close(be);
	if (version != NULL)
		*version = PX_SQLITE_SCHEMA_VERSION;
	return 0;
}
