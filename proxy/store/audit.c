/*
 * proxy/store/audit.c: the decision store behind audit.h.  It owns the SQLite
 * connection (one file, WAL, synchronous=FULL, a busy timeout so that
 * several processes can share the file), the schema and its version, the
 * prepared statements, and the JSON form of a record, which is the same
 * for the log stream (one line per record) and for queries (`pubgate log
 * --json`, the admin API).
 *
 * Data flow: px_audit_write() copies the caller's record into bounded
 * storage (every string has a cap and is cut on a UTF-8 boundary), inserts
 * it and its reasons in one transaction, returns after COMMIT (durable),
 * then writes the JSON line.  Queries read rows back into the same shape
 * (struct px_audit_row) and hand them to a callback.
 *
 * It uses policy.h for struct pol_report only (no engine call) and never
 * logs: failures are returned with a message.  Nothing here ever sees a
 * token; `who` is checked to look like a fingerprint.
 *
 * One mutex serialises use of the connection, so threads may share a
 * store; processes must each open their own (after fork).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "policy.h"
#include "audit.h"

#define PX_AUDIT_SCHEMA_VERSION	1
/*
 * How long a write waits for another writer's lock (a sqlite3 shell, a
 * backup).  The gate writes from its event loop, so this is short: past
 * it the write fails and the publish is refused (503), never forwarded.
 */
#define PX_AUDIT_BUSY_MS	2000
#define PX_AUDIT_LIMIT_DEFAULT	100
#define PX_AUDIT_LIMIT_MAX	10000

/* Caps on stored strings, in bytes without the NUL. */
#define PX_AUDIT_TIME_MAX	31
#define PX_AUDIT_REQID_MAX	64
#define PX_AUDIT_CLIENT_MAX	64
#define PX_AUDIT_WHO_MAX	71	/* "sha256:" and 64 hex digits */
#define PX_AUDIT_CMD_MAX	32
#define PX_AUDIT_UA_MAX		256
#define PX_AUDIT_KIND_MAX	32
#define PX_AUDIT_PKG_MAX	256
#define PX_AUDIT_VERSION_MAX	127
#define PX_AUDIT_TAG_MAX	63
#define PX_AUDIT_ACCESS_MAX	15
#define PX_AUDIT_RULE_MAX	127
#define PX_AUDIT_MSG_MAX	(POL_TEXT_MAX - 1)
#define PX_AUDIT_INSP_MAX	15
#define PX_AUDIT_SHA_MAX	128
#define PX_AUDIT_INTEG_MAX	99
#define PX_AUDIT_SCOPE_MAX	214

/* A record in bounded storage: what is written, and what is read back. */
struct audit_buf {
	char			 time[PX_AUDIT_TIME_MAX + 1];
	char			 request_id[PX_AUDIT_REQID_MAX + 1];
	char			 client[PX_AUDIT_CLIENT_MAX + 1];
	char			 who[PX_AUDIT_WHO_MAX + 1];
	char			 npm_command[PX_AUDIT_CMD_MAX + 1];
	char			 user_agent[PX_AUDIT_UA_MAX + 1];
	char			 kind[PX_AUDIT_KIND_MAX + 1];
	char			 package[PX_AUDIT_PKG_MAX + 1];
	char			 version[PX_AUDIT_VERSION_MAX + 1];
	char			 tag[PX_AUDIT_TAG_MAX + 1];
	char			 access[PX_AUDIT_ACCESS_MAX + 1];
	char			 verdict[8];
	char			 rule_match[PX_AUDIT_RULE_MAX + 1];
	char			 message[PX_AUDIT_MSG_MAX + 1];
	char			 inspection[PX_AUDIT_INSP_MAX + 1];
	char			 sha512[PX_AUDIT_SHA_MAX + 1];
	char			 integrity[PX_AUDIT_INTEG_MAX + 1];
	char			 r_rule[POL_REASONS_MAX][POL_RULE_ID_MAX];
	char			 r_file[POL_REASONS_MAX][POL_FILE_MAX];
	char			 r_text[POL_REASONS_MAX][POL_TEXT_MAX];
	char			 r_hint[POL_REASONS_MAX][POL_HINT_MAX];
	struct px_audit_reason	 reasons[POL_REASONS_MAX];
	struct px_audit_row	 row;
};

struct px_audit {
	sqlite3			*db;
	FILE			*jsonl;		/* borrowed */
	pthread_mutex_t		 mtx;
	sqlite3_stmt		*st_begin;
	sqlite3_stmt		*st_commit;
	sqlite3_stmt		*st_rollback;
	sqlite3_stmt		*st_insert;
	sqlite3_stmt		*st_reason;
	sqlite3_stmt		*st_query;
	sqlite3_stmt		*st_reasons;
	sqlite3_stmt		*st_status;
	sqlite3_stmt		*st_byid;
	uint64_t		 jsonl_errors;
	struct audit_buf	 wbuf;		/* under mtx */
	struct audit_buf	 rbuf;		/* under mtx */
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

#define AUDIT_COLUMNS \
    "id, time_ms, time, request_id, client, who, npm_command, user_agent," \
    " kind, package, version, tag, access, verdict, status, rule_match," \
    " message, inspection, sha512, integrity, body_bytes, tarball_bytes," \
    " unpacked_bytes, file_count, reasons_total"

static const char audit_sql_insert[] =
    "INSERT INTO decisions (time_ms, time, request_id, client, who,"
    " npm_command, user_agent, kind, package, version, tag, access,"
    " verdict, status, rule_match, message, inspection, sha512, integrity,"
    " body_bytes, tarball_bytes, unpacked_bytes, file_count, reasons_total)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)";

static const char audit_sql_reason[] =
    "INSERT INTO reasons (decision_id, seq, rule, file, text, hint,"
    " byte_offset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/*
 * The scope bound is a range on the package column: "@x/" <= package <
 * "@x0" ('0' follows '/'), which needs no escaping and uses the index.
 */
static const char audit_sql_query[] =
    "SELECT " AUDIT_COLUMNS " FROM decisions"
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

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * utf8_seq() : the length of the valid UTF-8 sequence at p (at most n
 * bytes available), or 0 if it is not one (overlong, surrogate, past
 * U+10FFFF, truncated).
 */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * bcopy_str() : copies s (NULL is "") into dst of size dstlen, cut to
 * dstlen - 1 bytes without splitting a UTF-8 sequence.  Returns dst.
 */
static char *
bcopy_str(char *dst, size_t dstlen, const char *s)
{
	size_t	n;

	if (s == NULL)
		s = "";
	for (n = 0; n < dstlen - 1 && s[n] != '\0'; n++)
		;
	if (s[n] != '\0') {
		/* Cut: do not leave half a character behind. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return dst;
}

/*
 * copy_field() : like bcopy_str() for a fixed-size char array of the
 * engine's report, which is read no further than its size even when it
 * lacks a NUL.
 */
static char *
copy_field(char *dst, size_t dstlen, const char *field, size_t fieldlen)
{
	char	tmp[512];
	size_t	n;

	n = strnlen(field, fieldlen);
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, field, n);
	tmp[n] = '\0';
	return bcopy_str(dst, dstlen, tmp);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * copy_package() : copies a package name from a URL, decoding "%2f" and
 * "%40" so that "@s%2fx" and "@s/x" are stored (and queried) alike.
 */
static void
copy_package(char *dst, size_t dstlen, const char *s)
{
	char	tmp[PX_AUDIT_PKG_MAX * 3 + 1];
	size_t	i, o;
	int	c;

	if (s == NULL)
		s = "";
	for (i = o = 0; s[i] != '\0' && o < sizeof(tmp) - 1; i++) {
		if (s[i] == '%' && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			if (c == '/' || c == '@') {
				tmp[o++] = (char)c;
				i += 2;
				continue;
			}
		}
		tmp[o++] = s[i];
	}
	tmp[o] = '\0';
	bcopy_str(dst, dstlen, tmp);
}

/*
 * copy_who() : stores who only when it has the shape of a fingerprint
 * (lowercase hex, optional "sha256:" prefix), so a token handed over by
 * mistake is never written.
 */
static void
copy_who(char *dst, size_t dstlen, const char *who)
{
	const char	*p;
	size_t		 n;

	if (who == NULL || *who == '\0') {
		bcopy_str(dst, dstlen, "");
		return;
	}
	p = who;
	if (strncmp(p, "sha256:", 7) == 0)
		p += 7;
	n = strspn(p, "0123456789abcdef");
	if (n == 0 || p[n] != '\0' || n > 64) {
		bcopy_str(dst, dstlen, "(invalid)");
		return;
	}
	bcopy_str(dst, dstlen, who);
}

static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;

	if (ms < 0)
		ms = 0;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
inspection_str(enum pol_status st)
{
	switch (st) {
	case POL_CONTINUE:
		return "complete";
	case POL_DONE:
		return "done";
	case POL_ERR_LIMIT:
		return "limit";
	case POL_ERR_SYNTAX:
		return "syntax";
	case POL_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

/*
 * json_str() : writes s as a JSON string: quotes, escapes, control
 * characters as \u00XX, and every byte that is not valid UTF-8 as
 * U+FFFD, so the output is always valid JSON.
 */
static void
json_str(FILE *f, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, left;

	left = strlen(s);
	putc('"', f);
	while (left > 0) {
		if (*p == '"' || *p == '\\') {
			putc('\\', f);
			putc(*p, f);
			n = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			n = 1;
		} else if ((n = utf8_seq(p, left)) > 0) {
			fwrite(p, 1, n, f);
		} else {
			fputs("\\ufffd", f);
			n = 1;
		}
		p += n;
		left -= n;
	}
	putc('"', f);
}

static void
json_kv_str(FILE *f, const char *key, const char *val, int comma)
{
	if (comma)
		putc(',', f);
	fprintf(f, "\"%s\":", key);
	json_str(f, val);
}

static void
json_kv_int(FILE *f, const char *key, int64_t val)
{
	fprintf(f, ",\"%s\":%" PRId64, key, val);
}

/* row_json() : r as one JSON object; with update, "update":true too. */
static void
row_json(const struct px_audit_row *r, FILE *f, int update)
{
	size_t	i;

	fprintf(f, "{\"id\":%" PRId64, r->id);
	json_kv_str(f, "time", r->time, 1);
	json_kv_int(f, "time_ms", r->time_ms);
	json_kv_str(f, "request_id", r->request_id, 1);
	json_kv_str(f, "client", r->client, 1);
	json_kv_str(f, "who", r->who, 1);
	json_kv_str(f, "npm_command", r->npm_command, 1);
	json_kv_str(f, "user_agent", r->user_agent, 1);
	json_kv_str(f, "kind", r->kind, 1);
	json_kv_str(f, "package", r->package, 1);
	json_kv_str(f, "version", r->version, 1);
	json_kv_str(f, "tag", r->tag, 1);
	json_kv_str(f, "access", r->access, 1);
	json_kv_str(f, "verdict", r->verdict, 1);
	json_kv_int(f, "status", r->status);
	json_kv_str(f, "rule_match", r->rule_match, 1);
	json_kv_str(f, "message", r->message, 1);
	json_kv_str(f, "inspection", r->inspection, 1);
	json_kv_str(f, "sha512", r->sha512, 1);
	json_kv_str(f, "integrity", r->integrity, 1);
	json_kv_int(f, "body_bytes", r->body_bytes);
	json_kv_int(f, "tarball_bytes", r->tarball_bytes);
	json_kv_int(f, "unpacked_bytes", r->unpacked_bytes);
	json_kv_int(f, "file_count", r->file_count);
	json_kv_int(f, "reasons_total", r->reasons_total);
	fputs(",\"reasons\":[", f);
	for (i = 0; i < r->nreasons; i++) {
		if (i > 0)
			putc(',', f);
		putc('{', f);
		json_kv_str(f, "rule", r->reasons[i].rule, 0);
		json_kv_str(f, "file", r->reasons[i].file, 1);
		json_kv_str(f, "text", r->reasons[i].text, 1);
		json_kv_str(f, "hint", r->reasons[i].hint, 1);
		json_kv_int(f, "offset", r->reasons[i].offset);
		putc('}', f);
	}
	putc(']', f);
	if (update)
		fputs(",\"update\":true", f);
	putc('}', f);
}

void
px_audit_row_json(const struct px_audit_row *r, FILE *f)
{
	row_json(r, f, 0);
}

/* row_link() : points b->row's strings at b's buffers. */
static void
row_link(struct audit_buf *b)
{
	struct px_audit_row	*r = &b->row;
	size_t			 i;

	r->time = b->time;
	r->request_id = b->request_id;
	r->client = b->client;
	r->who = b->who;
	r->npm_command = b->npm_command;
	r->user_agent = b->user_agent;
	r->kind = b->kind;
	r->package = b->package;
	r->version = b->version;
	r->tag = b->tag;
	r->access = b->access;
	r->verdict = b->verdict;
	r->rule_match = b->rule_match;
	r->message = b->message;
	r->inspection = b->inspection;
	r->sha512 = b->sha512;
	r->integrity = b->integrity;
	for (i = 0; i < POL_REASONS_MAX; i++) {
		b->reasons[i].rule = b->r_rule[i];
		b->reasons[i].file = b->r_file[i];
		b->reasons[i].text = b->r_text[i];
		b->reasons[i].hint = b->r_hint[i];
	}
	r->reasons = b->reasons;
}

#define BCOPY(b, field, s)	bcopy_str((b)->field, sizeof((b)->field), (s))
#define FCOPY(b, field, rep)	copy_field((b)->field, sizeof((b)->field), \
				    (rep), sizeof(rep))

static void
reason_copy(struct audit_buf *b, size_t i, const struct pol_reason *pr)
{
	FCOPY(b, r_rule[i], pr->rule);
	FCOPY(b, r_file[i], pr->file);
	FCOPY(b, r_text[i], pr->text);
	FCOPY(b, r_hint[i], pr->hint);
	b->reasons[i].offset = pr->offset < 0 ? -1 : pr->offset;
}

/* rec_to_buf() : the caller's record, bounded, into b. */
static void
rec_to_buf(struct audit_buf *b, const struct px_audit_rec *rec)
{
	const struct pol_report	*rep = rec->report;
	struct px_audit_row	*r = &b->row;
	size_t			 i, n;

	memset(r, 0, sizeof(*r));
	row_link(b);
	r->time_ms = rec->time_ms > 0 ? rec->time_ms : now_ms();
	fmt_time(r->time_ms, b->time, sizeof(b->time));
	BCOPY(b, request_id, rec->request_id);
	BCOPY(b, client, rec->client);
	copy_who(b->who, sizeof(b->who), rec->who);
	BCOPY(b, npm_command, rec->npm_command);
	BCOPY(b, user_agent, rec->user_agent);
	BCOPY(b, kind, rec->kind);
	copy_package(b->package, sizeof(b->package), rec->package);
	BCOPY(b, verdict, rec->verdict == POL_ALLOW ? "allow" : "block");
	r->status = rec->status;
	if (rep != NULL) {
		if (b->package[0] == '\0')
			FCOPY(b, package, rep->name);
		FCOPY(b, version, rep->version);
		FCOPY(b, tag, rep->tag);
		FCOPY(b, access, rep->access);
		FCOPY(b, rule_match, rep->rule_match);
		FCOPY(b, message, rep->message);
		BCOPY(b, inspection, inspection_str(rep->status));
		FCOPY(b, sha512, rep->sha512_hex);
		FCOPY(b, integrity, rep->integrity);
		r->body_bytes = (int64_t)rep->body_bytes;
		r->tarball_bytes = (int64_t)rep->tarball_bytes;
		r->unpacked_bytes = (int64_t)rep->unpacked_bytes;
		r->file_count = rep->file_count;
		n = rep->nreasons < POL_REASONS_MAX ? rep->nreasons :
		    POL_REASONS_MAX;
		for (i = 0; i < n; i++)
			reason_copy(b, i, &rep->reasons[i]);
		r->nreasons = n;
		r->reasons_total = (int64_t)(rep->nreasons_total > n ?
		    rep->nreasons_total : n);
	} else {
		BCOPY(b, version, rec->version);
		BCOPY(b, tag, rec->tag);
		BCOPY(b, access, "");
		BCOPY(b, rule_match, "");
		BCOPY(b, message, "");
		BCOPY(b, inspection, "");
		BCOPY(b, sha512, "");
		BCOPY(b, integrity, "");
		if (rec->reason != NULL) {
			reason_copy(b, 0, rec->reason);
			r->nreasons = 1;
			r->reasons_total = 1;
		}
	}
}

static int
prep(struct px_audit *a, const char *sql, sqlite3_stmt **st, char *err,
    size_t errlen)
{
	if (sqlite3_prepare_v3(a->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
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
init_schema(struct px_audit *a, char *err, size_t errlen)
{
	int64_t	v;
	char	sql[64];

	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	v = pragma_int(a->db, "PRAGMA user_version");
	if (v < 0) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		goto fail;
	}
	if (v > PX_AUDIT_SCHEMA_VERSION) {
		seterr(err, errlen, "decision store schema version %" PRId64
		    " is newer than this pubgate's (%d)", v,
		    PX_AUDIT_SCHEMA_VERSION);
		goto fail;
	}
	if (sqlite3_exec(a->db, audit_schema, NULL, NULL, NULL) != SQLITE_OK) {
		seterr(err, errlen, "sqlite: schema: %s",
		    sqlite3_errmsg(a->db));
		goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    PX_AUDIT_SCHEMA_VERSION);
	if (sqlite3_exec(a->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		goto fail;
	}
	return 0;
fail:
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* check_schema() : an existing store must carry a version we read. */
static int
check_schema(struct px_audit *a, char *err, size_t errlen)
{
	int64_t	v;

	v = pragma_int(a->db, "PRAGMA user_version");
	if (v < 0) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		return -1;
	}
	if (v == 0) {
		seterr(err, errlen, "not a pubgate decision store");
		return -1;
	}
	if (v > PX_AUDIT_SCHEMA_VERSION) {
		seterr(err, errlen, "decision store schema version %" PRId64
		    " is newer than this pubgate's (%d)", v,
		    PX_AUDIT_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

/*
 * audit_open() : the common part of the two constructors.  With create,
 * the file is made 0600 first (it holds client addresses) and the schema
 * is created if missing.
 */
static struct px_audit *
audit_open(const char *path, FILE *jsonl, int create, char *err,
    size_t errlen)
{
	struct px_audit	*a = NULL;
	int		 fd, flags;

	if (path == NULL || *path == '\0') {
		seterr(err, errlen, "no decision store path");
		return NULL;
	}
	if (create) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
		    -1) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			return NULL;
		}
		close(fd);
	} else if (access(path, F_OK) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&a->mtx, NULL) != 0) {
		free(a);
		seterr(err, errlen, "mutex init failed");
		return NULL;
	}
	a->jsonl = jsonl;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	if (sqlite3_open_v2(path, &a->db, flags, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, a->db ?
		    sqlite3_errmsg(a->db) : "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(a->db, 1);
	if (sqlite3_busy_timeout(a->db, PX_AUDIT_BUSY_MS) != SQLITE_OK)
		goto sqlfail;
	/* A file that is not a database fails on its first read. */
	if (pragma_int(a->db, "PRAGMA user_version") < 0) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(a->db));
		goto fail;
	}
	if (set_wal(a->db) == -1) {
		seterr(err, errlen, "%s: cannot switch to WAL mode: %s", path,
		    sqlite3_errmsg(a->db));
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
	    prep(a, audit_sql_byid, &a->st_byid, err, errlen) == -1)
		goto fail;
	row_link(&a->wbuf);
	row_link(&a->rbuf);
	return a;
sqlfail:
	seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(a->db));
fail:
	px_audit_close(a);
	return NULL;
}

struct px_audit *
px_audit_open(const char *db_path, FILE *jsonl, char *err, size_t errlen)
{
	return audit_open(db_path, jsonl, 1, err, errlen);
}

struct px_audit *
px_audit_open_existing(const char *db_path, char *err, size_t errlen)
{
	return audit_open(db_path, NULL, 0, err, errlen);
}

void
px_audit_close(struct px_audit *a)
{
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
	/* Closing the last connection checkpoints the WAL into the file. */
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->mtx);
	free(a);
}

uint64_t
px_audit_jsonl_errors(const struct px_audit *a)
{
	return a->jsonl_errors;
}

/* insert_row() : binds and inserts b's row and its reasons; 0 or -1. */
static int
insert_row(struct px_audit *a, struct audit_buf *b)
{
	struct px_audit_row	*r = &b->row;
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
	return 0;
}

/*
 * write_jsonl() : the record as one line, built in memory and written with
 * one fwrite so lines from several writers do not interleave mid-line.
 * An update carries "update":true.
 */
static int
write_jsonl(struct px_audit *a, const struct px_audit_row *r, int update)
{
	FILE	*m;
	char	*line = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	if ((m = open_memstream(&line, &len)) == NULL)
		return -1;
	row_json(r, m, update);
	putc('\n', m);
	if (fclose(m) != 0)
		goto done;
	if (fwrite(line, 1, len, a->jsonl) == len && fflush(a->jsonl) == 0)
		rc = 0;
done:
	free(line);
	return rc;
}

int
px_audit_write_id(struct px_audit *a, const struct px_audit_rec *rec,
    int64_t *id)
{
	struct audit_buf	*b;
	int			 rc = -1;

	if (a == NULL || rec == NULL)
		return -1;
	pthread_mutex_lock(&a->mtx);
	b = &a->wbuf;
	rec_to_buf(b, rec);
	if (run1(a->st_begin) == -1)
		goto done;
	if (insert_row(a, b) == -1) {
		run1(a->st_rollback);
		goto done;
	}
	/* With WAL and synchronous=FULL, COMMIT returns once it is synced. */
	if (run1(a->st_commit) == -1) {
		run1(a->st_rollback);
		goto done;
	}
	rc = 0;
	if (id != NULL)
		*id = b->row.id;
	if (a->jsonl != NULL && write_jsonl(a, &b->row, 0) == -1)
		a->jsonl_errors++;
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

int
px_audit_write(struct px_audit *a, const struct px_audit_rec *rec)
{
	return px_audit_write_id(a, rec, NULL);
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
read_row(struct px_audit *a, sqlite3_stmt *st, struct audit_buf *b)
{
	struct px_audit_row	*r = &b->row;
	size_t			 n = 0;
	int			 rc;

	memset(r, 0, sizeof(*r));
	row_link(b);
	r->id = sqlite3_column_int64(st, 0);
	r->time_ms = sqlite3_column_int64(st, 1);
	BCOPY(b, time, col_text(st, 2));
	BCOPY(b, request_id, col_text(st, 3));
	BCOPY(b, client, col_text(st, 4));
	BCOPY(b, who, col_text(st, 5));
	BCOPY(b, npm_command, col_text(st, 6));
	BCOPY(b, user_agent, col_text(st, 7));
	BCOPY(b, kind, col_text(st, 8));
	BCOPY(b, package, col_text(st, 9));
	BCOPY(b, version, col_text(st, 10));
	BCOPY(b, tag, col_text(st, 11));
	BCOPY(b, access, col_text(st, 12));
	BCOPY(b, verdict, col_text(st, 13));
	r->status = sqlite3_column_int(st, 14);
	BCOPY(b, rule_match, col_text(st, 15));
	BCOPY(b, message, col_text(st, 16));
	BCOPY(b, inspection, col_text(st, 17));
	BCOPY(b, sha512, col_text(st, 18));
	BCOPY(b, integrity, col_text(st, 19));
	r->body_bytes = sqlite3_column_int64(st, 20);
	r->tarball_bytes = sqlite3_column_int64(st, 21);
	r->unpacked_bytes = sqlite3_column_int64(st, 22);
	r->file_count = sqlite3_column_int64(st, 23);
	r->reasons_total = sqlite3_column_int64(st, 24);

	st = a->st_reasons;
	sqlite3_bind_int64(st, 1, r->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < POL_REASONS_MAX) {
		BCOPY(b, r_rule[n], col_text(st, 0));
		BCOPY(b, r_file[n], col_text(st, 1));
		BCOPY(b, r_text[n], col_text(st, 2));
		BCOPY(b, r_hint[n], col_text(st, 3));
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

int
px_audit_query(struct px_audit *a, const struct px_audit_query *q,
    int (*cb)(const struct px_audit_row *, void *), void *arg, char *err,
    size_t errlen)
{
	sqlite3_stmt	*st;
	char		 lo[PX_AUDIT_SCOPE_MAX + 3], hi[PX_AUDIT_SCOPE_MAX + 3];
	const char	*scope;
	size_t		 slen;
	int		 limit, n = 0, rc;

	if (a == NULL || q == NULL || cb == NULL) {
		seterr(err, errlen, "bad query");
		return -1;
	}
	limit = q->limit;
	if (limit < 0) {
		seterr(err, errlen, "limit must not be negative");
		return -1;
	}
	if (limit == 0)
		limit = PX_AUDIT_LIMIT_DEFAULT;
	if (limit > PX_AUDIT_LIMIT_MAX)
		limit = PX_AUDIT_LIMIT_MAX;
	if ((scope = q->scope) != NULL) {
		if (*scope == '@')
			scope++;
		slen = strlen(scope);
		if (slen == 0 || slen > PX_AUDIT_SCOPE_MAX ||
		    strchr(scope, '/') != NULL) {
			seterr(err, errlen, "bad scope \"%s\" (want @name)",
			    q->scope);
			return -1;
		}
		snprintf(lo, sizeof(lo), "@%s/", scope);
		snprintf(hi, sizeof(hi), "@%s0", scope);
	}
	if (q->package_glob != NULL && strlen(q->package_glob) >
	    PX_AUDIT_PKG_MAX) {
		seterr(err, errlen, "package pattern too long");
		return -1;
	}

	pthread_mutex_lock(&a->mtx);
	st = a->st_query;
	sqlite3_bind_int(st, 1, q->blocked_only ? 1 : 0);
	sqlite3_bind_int64(st, 2, q->since_ms > 0 ? q->since_ms : 0);
	if (q->package_glob != NULL)
		sqlite3_bind_text(st, 3, q->package_glob, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	if (q->scope != NULL) {
		sqlite3_bind_text(st, 4, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hi, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 4);
		sqlite3_bind_null(st, 5);
	}
	sqlite3_bind_int(st, 6, limit);
	if (q->request_id != NULL)
		sqlite3_bind_text(st, 7, q->request_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(a, st, &a->rbuf) == -1) {
			rc = SQLITE_ERROR;
			break;
		}
		n++;
		if (cb(&a->rbuf.row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(a->db));
		n = -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&a->mtx);
	return n;
}

int
px_audit_set_status(struct px_audit *a, int64_t id, int status)
{
	int	rc = -1, step;

	if (a == NULL || id <= 0 || status <= 0)
		return -1;
	pthread_mutex_lock(&a->mtx);
	sqlite3_bind_int64(a->st_status, 1, id);
	sqlite3_bind_int(a->st_status, 2, status);
	step = sqlite3_step(a->st_status);
	sqlite3_reset(a->st_status);
	sqlite3_clear_bindings(a->st_status);
	/* Autocommit: the UPDATE is durable when the step returns. */
	if (step != SQLITE_DONE || sqlite3_changes(a->db) != 1)
		goto done;
	rc = 0;
	if (a->jsonl == NULL)
		goto done;
	sqlite3_bind_int64(a->st_byid, 1, id);
	if (sqlite3_step(a->st_byid) != SQLITE_ROW ||
	    read_row(a, a->st_byid, &a->rbuf) == -1 ||
	    write_jsonl(a, &a->rbuf.row, 1) == -1)
		a->jsonl_errors++;
	sqlite3_reset(a->st_byid);
	sqlite3_clear_bindings(a->st_byid);
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

struct json_arg {
	FILE	*out;
	int	 n;
};

static int
json_cb(const struct px_audit_row *r, void *arg)
{
	struct json_arg	*ja = arg;

	fputs(ja->n++ == 0 ? "[\n" : ",\n", ja->out);
	px_audit_row_json(r, ja->out);
	return 0;
}

int
px_audit_query_json(struct px_audit *a, const struct px_audit_query *q,
    FILE *out, char *err, size_t errlen)
{
	struct json_arg	ja;
	int		n;

	ja.out = out;
	ja.n = 0;
	if ((n = px_audit_query(a, q, json_cb, &ja, err, errlen)) == -1)
		return -1;
	fputs(n == 0 ? "[]\n" : "\n]\n", out);
	if (ferror(out)) {
		seterr(err, errlen, "write error");
		return -1;
	}
	return n;
}
