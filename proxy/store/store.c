/*
 * proxy/store/store.c: the decision store behind store.h, independent of
 * the database.  It owns what every backend shares: the bounded copy of
 * a caller's record (every string has a cap and is cut on a UTF-8
 * boundary, `who` must look like a fingerprint), the JSON form of a
 * record, which is the same for the log stream (one line per record) and
 * for queries (`pubgate log --json`, the admin API), the checks on query
 * filters, and the choice of backend from the `db` setting.
 *
 * The asynchronous calls (px_store_*_async()) copy the record into an
 * operation of their own and hand it to pgloop.c (PostgreSQL) or to a
 * zero-timeout event that runs the blocking call (SQLite); either ends
 * in px_store_op_done(), which writes the JSON line and calls back.
 *
 * Data flow: px_store_write() copies the record into the store's write
 * buffer, hands it to the backend, which returns after COMMIT (durable),
 * then writes the JSON line.  Queries read rows back into the same shape
 * (struct px_store_row) and hand them to a callback.
 *
 * It also owns px_hex(), the lowercase hex of bytes (digests, random
 * names) for all of proxy/, store/ being the library every part links.
 *
 * It uses policy.h for struct pol_report only (no engine call) and never
 * logs: failures are returned with a message.  Nothing here ever sees a
 * token.  One mutex serialises use of a store, so threads may share one;
 * processes must each open their own (after fork).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>

#include "policy.h"
#include "store.h"
#include "store-int.h"
#include "pg-int.h"

struct px_store {
	const struct px_store_ops *ops;		/* NULL with pl */
	void			*be;
	struct px_pgloop	*pl;		/* PostgreSQL on the loop */
	struct event		*ev_defer;	/* SQLite's async calls */
	struct px_store_op	*dq_head, *dq_tail;
	uint64_t		 ndeferred;
	uint64_t		 op_errors;
	FILE			*jsonl;		/* borrowed */
	pthread_mutex_t		 mtx;
	uint64_t		 jsonl_errors;
	struct px_store_buf	 wbuf;		/* under mtx */
	struct px_store_buf	 rbuf;		/* under mtx */
	struct px_store_wbuf	 wwb;		/* under mtx */
	/* Webhook names a waiver's record alerts (one per line), "" none. */
	char			 waiver_outbox[PX_STORE_OUTBOX_MAX + 1];
};

void
px_store_seterr(char *err, size_t errlen, const char *fmt, ...)
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

void
px_store_utf8_fix(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 left = strlen(s), n;

	while (left > 0) {
		if ((n = utf8_seq(p, left)) == 0) {
			*p = '?';
			n = 1;
		}
		p += n;
		left -= n;
	}
}

void
px_hex(const unsigned char *in, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
px_store_err_status(const char *err)
{
	if (err != NULL && (strstr(err, "store is down") != NULL ||
	    strstr(err, "store is busy") != NULL))
		return 503;
	return 500;
}

/*
 * px_store_copy() : copies s (NULL is "") into dst of size dstlen, cut to
 * dstlen - 1 bytes without splitting a UTF-8 sequence.  Returns dst.
 */
char *
px_store_copy(char *dst, size_t dstlen, const char *s)
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
 * copy_field() : like px_store_copy() for a fixed-size char array of the
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
	return px_store_copy(dst, dstlen, tmp);
}

int
px_store_hexval(int c)
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
	char	tmp[PX_STORE_PKG_MAX * 3 + 1];
	size_t	i, o;
	int	c;

	if (s == NULL)
		s = "";
	for (i = o = 0; s[i] != '\0' && o < sizeof(tmp) - 1; i++) {
		if (s[i] == '%' && px_store_hexval(s[i + 1]) >= 0 &&
		    px_store_hexval(s[i + 2]) >= 0) {
			c = px_store_hexval(s[i + 1]) * 16 +
			    px_store_hexval(s[i + 2]);
			if (c == '/' || c == '@') {
				tmp[o++] = (char)c;
				i += 2;
				continue;
			}
		}
		tmp[o++] = s[i];
	}
	tmp[o] = '\0';
	px_store_copy(dst, dstlen, tmp);
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
		px_store_copy(dst, dstlen, "");
		return;
	}
	p = who;
	if (strncmp(p, "sha256:", 7) == 0)
		p += 7;
	n = strspn(p, "0123456789abcdef");
	if (n == 0 || p[n] != '\0' || n > 64) {
		px_store_copy(dst, dstlen, "(invalid)");
		return;
	}
	px_store_copy(dst, dstlen, who);
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
void
px_store_json_str(FILE *f, const char *s)
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
	px_store_json_str(f, val);
}

static void
json_kv_int(FILE *f, const char *key, int64_t val)
{
	fprintf(f, ",\"%s\":%" PRId64, key, val);
}

/* row_json() : r as one JSON object; with update, "update":true too. */
static void
row_json(const struct px_store_row *r, FILE *f, int update)
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
	px_store_row_json_more(r, f);
	if (update)
		fputs(",\"update\":true", f);
	putc('}', f);
}

void
px_store_row_json(const struct px_store_row *r, FILE *f)
{
	row_json(r, f, 0);
}

/* px_store_buf_link() : points b->row's strings at b's buffers. */
void
px_store_buf_link(struct px_store_buf *b)
{
	struct px_store_row	*r = &b->row;
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
	r->user = b->user;
	r->path = b->path;
	r->connect_target = b->connect_target;
	r->policy_sha256 = b->policy_sha256;
	r->policy_name = b->policy_name;
	r->policy_revision = b->policy_revision;
	r->tag_old = b->tag_old;
	r->tag_new = b->tag_new;
	/* Fields a writer may not set (waiver records): empty, no list. */
	b->user[0] = b->path[0] = b->connect_target[0] = '\0';
	b->policy_sha256[0] = b->policy_name[0] = '\0';
	b->policy_revision[0] = b->tag_old[0] = b->tag_new[0] = '\0';
	r->files = "";
	r->files_listed = -1;
	r->files_total = 0;
	b->outbox[0] = '\0';
	r->outbox = b->outbox;
}

#define BCOPY(b, field, s)	px_store_copy((b)->field, sizeof((b)->field), (s))
#define FCOPY(b, field, rep)	copy_field((b)->field, sizeof((b)->field), \
				    (rep), sizeof(rep))

static void
reason_copy(struct px_store_buf *b, size_t i, const struct pol_reason *pr)
{
	FCOPY(b, r_rule[i], pr->rule);
	FCOPY(b, r_file[i], pr->file);
	FCOPY(b, r_text[i], pr->text);
	FCOPY(b, r_hint[i], pr->hint);
	b->reasons[i].offset = pr->offset < 0 ? -1 : pr->offset;
}

/* rec_to_buf() : the caller's record, bounded, into b. */
static void
rec_to_buf(struct px_store_buf *b, const struct px_store_rec *rec)
{
	const struct pol_report	*rep = rec->report;
	struct px_store_row	*r = &b->row;
	size_t			 i, n;

	memset(r, 0, sizeof(*r));
	px_store_buf_link(b);
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
	BCOPY(b, user, rec->user);
	BCOPY(b, path, rec->path);
	BCOPY(b, connect_target, rec->connect_target);
	BCOPY(b, policy_sha256, rec->policy_sha256);
	BCOPY(b, policy_name, rec->policy_name);
	BCOPY(b, policy_revision, rec->policy_revision);
	BCOPY(b, tag_old, rec->tag_old);
	BCOPY(b, tag_new, rec->tag_new);
	BCOPY(b, outbox, rec->outbox);
	px_store_files_encode(b, rec);
}

/*
 * write_jsonl() : the record as one line, built in memory and written with
 * one fwrite so lines from several writers do not interleave mid-line.
 * An update carries "update":true.
 */
static int
write_jsonl(struct px_store *a, const struct px_store_row *r0, int update)
{
	struct px_store_row	 rr = *r0, *r = &rr;
	FILE	*m;
	char	*line = NULL;
	size_t	 len = 0;
	int	 rc = -1;

	/* The log line counts the files; the list itself stays stored. */
	rr.files = "";

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

/* store_new() : a store around backend be (closed on failure). */
static struct px_store *
store_new(const struct px_store_ops *ops, void *be, FILE *jsonl, char *err,
    size_t errlen)
{
	struct px_store	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		ops->close(be);
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&a->mtx, NULL) != 0) {
		ops->close(be);
		free(a);
		px_store_seterr(err, errlen, "mutex init failed");
		return NULL;
	}
	a->ops = ops;
	a->be = be;
	a->jsonl = jsonl;
	px_store_buf_link(&a->wbuf);
	px_store_buf_link(&a->rbuf);
	return a;
}

/* store_open() : the backend the db setting names, then the store. */
static struct px_store *
store_open(const char *db, FILE *jsonl, int create, char *err,
    size_t errlen)
{
	void	*be;

	if (db == NULL || *db == '\0') {
		px_store_seterr(err, errlen, "no decision store path");
		return NULL;
	}
	if (px_pg_is_url(db)) {
		if ((be = px_pg_open(db, create, err, errlen)) == NULL)
			return NULL;
		return store_new(&px_pg_ops, be, jsonl, err, errlen);
	}
	if ((be = px_sqlite_open(db, create, err, errlen)) == NULL)
		return NULL;
	return store_new(&px_sqlite_ops, be, jsonl, err, errlen);
}

int
px_store_loop_only(const struct px_store *a)
{
	return a != NULL && a->pl != NULL;
}

int
px_store_is_pg(const char *db)
{
	return px_pg_is_url(db);
}

int
px_store_migrate(const char *db, int *version, char *err, size_t errlen)
{
	PGconn	*c;
	int	 rc;

	if (db == NULL || *db == '\0') {
		px_store_seterr(err, errlen, "no decision store path");
		return -1;
	}
	if (!px_pg_is_url(db))
		return px_sqlite_migrate(db, version, err, errlen);
	if ((c = px_pg_connect(db, err, errlen)) == NULL)
		return -1;
	rc = px_pg_migrate(c, version, err, errlen);
	PQfinish(c);
	return rc;
}

struct px_store *
px_store_open(const char *db, FILE *jsonl, char *err, size_t errlen)
{
	return store_open(db, jsonl, 1, err, errlen);
}

struct px_store *
px_store_open_existing(const char *db, char *err, size_t errlen)
{
	return store_open(db, NULL, 0, err, errlen);
}

void
px_store_close(struct px_store *a)
{
	struct px_store_op	*op;

	if (a == NULL)
		return;
	while ((op = a->dq_head) != NULL) {
		a->dq_head = op->next;
		px_store_op_free(op);
	}
	if (a->ev_defer != NULL)
		event_free(a->ev_defer);
	px_pgloop_free(a->pl);
	if (a->ops != NULL)
		a->ops->close(a->be);
	px_store_buf_free(&a->wbuf);
	px_store_buf_free(&a->rbuf);
	pthread_mutex_destroy(&a->mtx);
	free(a);
}

const char *
px_store_backend(const struct px_store *a)
{
	return a->pl != NULL ? "postgresql" : a->ops->name;
}

uint64_t
px_store_jsonl_errors(const struct px_store *a)
{
	return a->jsonl_errors;
}

int
px_store_write_id(struct px_store *a, const struct px_store_rec *rec,
    int64_t *id)
{
	struct px_store_buf	*b;
	int			 rc = -1;

	if (a == NULL || rec == NULL || a->pl != NULL)
		return -1;	/* a loop store takes the async calls only */
	pthread_mutex_lock(&a->mtx);
	b = &a->wbuf;
	rec_to_buf(b, rec);
	if (a->ops->insert(a->be, b) == -1)
		goto done;
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
px_store_write(struct px_store *a, const struct px_store_rec *rec)
{
	return px_store_write_id(a, rec, NULL);
}

int
px_store_set_status(struct px_store *a, int64_t id, int status)
{
	int	rc = -1;

	if (a == NULL || id <= 0 || status <= 0 || a->pl != NULL)
		return -1;
	pthread_mutex_lock(&a->mtx);
	if (a->ops->set_status(a->be, id, status) == -1)
		goto done;
	rc = 0;
	if (a->jsonl == NULL)
		goto done;
	if (a->ops->by_id(a->be, id, &a->rbuf) == -1 ||
	    write_jsonl(a, &a->rbuf.row, 1) == -1)
		a->jsonl_errors++;
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

/*
 * query_args() : q checked and bounded into qs (which owns the strings
 * qs->qa points at).  0, or -1 with err.
 */
static int
query_args(const struct px_store_query *q, struct px_store_qstore *qs,
    char *err, size_t errlen)
{
	struct px_store_qargs	*qa = &qs->qa;
	const char		*scope;
	size_t			 slen;

	memset(qa, 0, sizeof(*qa));
	qa->limit = q->limit;
	if (qa->limit < 0) {
		px_store_seterr(err, errlen, "limit must not be negative");
		return -1;
	}
	if (qa->limit == 0)
		qa->limit = PX_STORE_LIMIT_DEFAULT;
	if (qa->limit > PX_STORE_LIMIT_MAX)
		qa->limit = PX_STORE_LIMIT_MAX;
	if ((scope = q->scope) != NULL) {
		if (*scope == '@')
			scope++;
		slen = strlen(scope);
		if (slen == 0 || slen > PX_STORE_SCOPE_MAX ||
		    strchr(scope, '/') != NULL) {
			px_store_seterr(err, errlen,
			    "bad scope \"%s\" (want @name)", q->scope);
			return -1;
		}
		snprintf(qs->lo, sizeof(qs->lo), "@%s/", scope);
		snprintf(qs->hi, sizeof(qs->hi), "@%s0", scope);
		qa->scope_lo = qs->lo;
		qa->scope_hi = qs->hi;
	}
	if (q->package_glob != NULL) {
		if (strlen(q->package_glob) > PX_STORE_PKG_MAX) {
			px_store_seterr(err, errlen, "package pattern too long");
			return -1;
		}
		snprintf(qs->glob, sizeof(qs->glob), "%s", q->package_glob);
		qa->glob = qs->glob;
	}
	if (q->request_id != NULL) {
		if (strlen(q->request_id) >= sizeof(qs->reqid)) {
			px_store_seterr(err, errlen, "request id too long");
			return -1;
		}
		snprintf(qs->reqid, sizeof(qs->reqid), "%s", q->request_id);
		qa->request_id = qs->reqid;
	}
	qa->blocked_only = q->blocked_only ? 1 : 0;
	qa->since_ms = q->since_ms > 0 ? q->since_ms : 0;
	return 0;
}

int
px_store_query(struct px_store *a, const struct px_store_query *q,
    int (*cb)(const struct px_store_row *, void *), void *arg, char *err,
    size_t errlen)
{
	struct px_store_qstore	 qs;
	int			 n;

	if (a == NULL || q == NULL || cb == NULL) {
		px_store_seterr(err, errlen, "bad query");
		return -1;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "this store answers "
		    "px_store_query_async() only");
		return -1;
	}
	if (query_args(q, &qs, err, errlen) == -1)
		return -1;
	pthread_mutex_lock(&a->mtx);
	n = a->ops->query(a->be, &qs.qa, &a->rbuf, cb, arg, err, errlen);
	pthread_mutex_unlock(&a->mtx);
	return n;
}

int
px_store_json_row(const struct px_store_row *r, void *arg)
{
	struct px_store_json	*ja = arg;

	fputs(ja->n++ == 0 ? "[\n" : ",\n", ja->out);
	px_store_row_json(r, ja->out);
	return 0;
}

void
px_store_json_end(struct px_store_json *ja)
{
	fputs(ja->n == 0 ? "[]\n" : "\n]\n", ja->out);
}

int
px_store_query_json(struct px_store *a, const struct px_store_query *q,
    FILE *out, char *err, size_t errlen)
{
	struct px_store_json	ja;
	int			n;

	ja.out = out;
	ja.n = 0;
	if ((n = px_store_query(a, q, px_store_json_row, &ja, err,
	    errlen)) == -1)
		return -1;
	px_store_json_end(&ja);
	if (ferror(out)) {
		px_store_seterr(err, errlen, "write error");
		return -1;
	}
	return n;
}

/* ------------------------------------------------------------ waivers */

void
px_store_wbuf_link(struct px_store_wbuf *wb)
{
	struct px_store_waiver	*w = &wb->w;

	w->decision = wb->decision;
	w->package = wb->package;
	w->version = wb->version;
	w->sha512 = wb->sha512;
	w->publisher = wb->publisher;
	w->approved_by = wb->approved_by;
	w->reason = wb->reason;
	w->revoked_by = wb->revoked_by;
	w->revoke_reason = wb->revoke_reason;
	w->state = wb->state;
}

void
px_store_wbuf_state(struct px_store_wbuf *wb, int64_t now_ms)
{
	const struct px_store_waiver	*w = &wb->w;
	const char			*st;

	if (w->revoked_ms > 0)
		st = "revoked";
	else if (w->once && w->uses > 0)
		st = "used";
	else if (w->expires_ms <= now_ms)
		st = "expired";
	else
		st = "active";
	px_store_copy(wb->state, sizeof(wb->state), st);
}

void
px_store_wbuf_set(struct px_store_wbuf *wb, const char *const c[16])
{
	struct px_store_waiver	*w = &wb->w;

	memset(w, 0, sizeof(*w));
	px_store_wbuf_link(wb);
#define N(i)	(c[i] != NULL ? strtoll(c[i], NULL, 10) : 0)
	w->id = N(0);
	w->created_ms = N(1);
	w->expires_ms = N(2);
	w->once = N(3) != 0;
	w->uses = N(4);
	w->last_used_ms = N(5);
	w->revoked_ms = N(6);
#undef N
	px_store_copy(wb->decision, sizeof(wb->decision), c[7]);
	px_store_copy(wb->package, sizeof(wb->package), c[8]);
	px_store_copy(wb->version, sizeof(wb->version), c[9]);
	px_store_copy(wb->sha512, sizeof(wb->sha512), c[10]);
	px_store_copy(wb->publisher, sizeof(wb->publisher), c[11]);
	px_store_copy(wb->approved_by, sizeof(wb->approved_by), c[12]);
	px_store_copy(wb->reason, sizeof(wb->reason), c[13]);
	px_store_copy(wb->revoked_by, sizeof(wb->revoked_by), c[14]);
	px_store_copy(wb->revoke_reason, sizeof(wb->revoke_reason), c[15]);
}

int
px_store_name_ok(const char *by)
{
	size_t	n;

	if (by == NULL)
		return 0;
	n = strlen(by);
	return n > 0 && n <= PX_STORE_BY_MAX && strspn(by, "abcdefghijklmnop"
	    "qrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-") == n;
}

int
px_store_why_ok(const char *why)
{
	const unsigned char	*p = (const unsigned char *)why;
	size_t			 left, n;

	if (why == NULL || (left = strlen(why)) == 0 ||
	    left > PX_STORE_WHY_MAX)
		return 0;
	while (left > 0) {
		if (*p < 0x20 || *p == 0x7f || (n = utf8_seq(p, left)) == 0)
			return 0;
		/* C1 controls in UTF-8 */
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return 0;
		p += n;
		left -= n;
	}
	return 1;
}

void
px_store_waiver_json(const struct px_store_waiver *w, FILE *f)
{
	char	t[PX_STORE_TIME_MAX + 1];

	fprintf(f, "{\"id\":%" PRId64, w->id);
	json_kv_str(f, "state", w->state, 1);
	json_kv_str(f, "decision", w->decision, 1);
	json_kv_str(f, "package", w->package, 1);
	json_kv_str(f, "version", w->version, 1);
	json_kv_str(f, "sha512", w->sha512, 1);
	json_kv_str(f, "publisher", w->publisher, 1);
	json_kv_str(f, "approved_by", w->approved_by, 1);
	json_kv_str(f, "reason", w->reason, 1);
	fmt_time(w->created_ms, t, sizeof(t));
	json_kv_str(f, "created", t, 1);
	json_kv_int(f, "created_ms", w->created_ms);
	fmt_time(w->expires_ms, t, sizeof(t));
	json_kv_str(f, "expires", t, 1);
	json_kv_int(f, "expires_ms", w->expires_ms);
	fprintf(f, ",\"once\":%s", w->once ? "true" : "false");
	json_kv_int(f, "uses", w->uses);
	json_kv_int(f, "last_used_ms", w->last_used_ms);
	json_kv_int(f, "revoked_ms", w->revoked_ms);
	json_kv_str(f, "revoked_by", w->revoked_by, 1);
	json_kv_str(f, "revoke_reason", w->revoke_reason, 1);
	putc('}', f);
}

/* What a waiver record says beyond the waiver itself. */
struct wrec {
	const char		*kind;		/* "waiver-approve", ... */
	const char		*request_id;	/* NULL: a new one */
	const char		*client;
	const char		*who;
	const char		*user_agent;
	const char		*by;
	const char		*prefix;	/* request_id NULL: prefix-<id>,
						   NULL: a random prefix */
	const char		*outbox;	/* webhook names, NULL none */
};

/* rand_prefix() : 8 random hex digits, a record id's first part. */
static void
rand_prefix(char out[9])
{
	uint32_t	r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)now_ms();
	snprintf(out, 9, "%08x", r);
}

/*
 * new_reqid() : a decision id for a record the CLI or API makes:
 * prefix (random if NULL), '-', the waiver's id.
 */
static void
new_reqid(char *out, size_t len, const char *prefix, int64_t wid)
{
	char	p[9];

	if (prefix == NULL) {
		rand_prefix(p);
		prefix = p;
	}
	snprintf(out, len, "%s-%" PRId64, prefix, wid);
}

/* wop_fill() : op->rec, the decision record of a waiver change. */
static void
wop_fill(struct px_store_wop *op)
{
	const struct wrec		*wr = op->arg;
	const struct px_store_waiver	*w = &op->wb->w;
	struct px_store_buf		*b = op->rec;
	struct px_store_row		*r = &b->row;
	char				 until[PX_STORE_TIME_MAX + 1],
					 reqid[PX_STORE_REQID_MAX + 1];

	memset(r, 0, sizeof(*r));
	px_store_buf_link(b);
	r->time_ms = op->now_ms;
	fmt_time(r->time_ms, b->time, sizeof(b->time));
	if (wr->request_id != NULL)
		BCOPY(b, request_id, wr->request_id);
	else {
		new_reqid(reqid, sizeof(reqid), wr->prefix, w->id);
		BCOPY(b, request_id, reqid);
	}
	BCOPY(b, client, wr->client);
	copy_who(b->who, sizeof(b->who), wr->who);
	BCOPY(b, npm_command, "");
	BCOPY(b, user_agent, wr->user_agent);
	BCOPY(b, kind, wr->kind);
	BCOPY(b, package, w->package);
	BCOPY(b, version, w->version);
	BCOPY(b, tag, "");
	BCOPY(b, access, "");
	BCOPY(b, verdict, "allow");
	BCOPY(b, rule_match, "");
	BCOPY(b, inspection, "");
	BCOPY(b, sha512, w->sha512);
	BCOPY(b, integrity, "");
	BCOPY(b, outbox, wr->outbox != NULL ? wr->outbox : "");
	fmt_time(w->expires_ms, until, sizeof(until));
	switch (op->kind) {
	case PX_WOP_ADD:
		r->status = 200;
		BCOPY(b, r_rule[0], "waiver.approve");
		snprintf(b->r_text[0], sizeof(b->r_text[0]), "waiver %" PRId64
		    " for decision %s approved by %s, %s until %s", w->id,
		    w->decision, w->approved_by, w->once ? "one use" :
		    "any use", until);
		BCOPY(b, message, w->reason);
		break;
	case PX_WOP_REVOKE:
		r->status = 200;
		BCOPY(b, r_rule[0], "waiver.revoke");
		snprintf(b->r_text[0], sizeof(b->r_text[0]), "waiver %" PRId64
		    " for decision %s revoked by %s", w->id, w->decision,
		    w->revoked_by);
		BCOPY(b, message, w->revoke_reason);
		break;
	case PX_WOP_USE:
		r->status = 0;
		BCOPY(b, r_rule[0], "waiver.use");
		snprintf(b->r_text[0], sizeof(b->r_text[0]), "waiver %" PRId64
		    " (decision %s, approved by %s) let this tarball through: "
		    "use %" PRId64, w->id, w->decision, w->approved_by,
		    w->uses);
		BCOPY(b, message, w->reason);
		break;
	}
	BCOPY(b, r_file[0], "");
	BCOPY(b, r_hint[0], "");
	b->reasons[0].offset = -1;
	r->nreasons = 1;
	r->reasons_total = 1;
}

int
px_store_actor_check(const char *by, const char *why, char *err,
    size_t errlen)
{
	if (!px_store_name_ok(by)) {
		px_store_seterr(err, errlen, "bad reviewer name (want 1 to %d "
		    "of A-Z a-z 0-9 . _ @ + -)", PX_STORE_BY_MAX);
		return PX_STORE_REFUSED;
	}
	if (!px_store_why_ok(why)) {
		px_store_seterr(err, errlen, "a reason is required: 1 to %d "
		    "bytes of text, no control characters", PX_STORE_WHY_MAX);
		return PX_STORE_REFUSED;
	}
	return 0;
}

/* actor_check() : a reviewer's name and reason are plain; 0 or -1. */
static int
actor_check(const char *by, const char *why, char *err, size_t errlen)
{
	return px_store_actor_check(by, why, err, errlen) == 0 ? 0 : -1;
}

int
px_store_waiver_match_ok(const char *package, const char *version,
    const char *sha512)
{
	size_t	i;

	if (package == NULL || version == NULL || sha512 == NULL ||
	    *package == '\0' || *version == '\0' || strlen(sha512) != 128)
		return 0;
	for (i = 0; i < 128; i++)
		if (px_store_hexval((unsigned char)sha512[i]) == -1)
			return 0;
	return 1;
}

/* The publish decision a waiver is asked for, as checked. */
struct approve_arg {
	const struct px_store_approve	*ap;
	struct px_store_wbuf		*wb;
	int				 found;
	char				 why[300];	/* refusal, "" ok */
};

static int
is_publish_kind(const char *k)
{
	return strcmp(k, "publish") == 0 || strcmp(k, "stage-publish") == 0;
}

/* same_who() : a and b name the same token ("sha256:" or not). */
static int
same_who(const char *a, const char *b)
{
	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return 0;
	if (strncmp(a, "sha256:", 7) == 0)
		a += 7;
	if (strncmp(b, "sha256:", 7) == 0)
		b += 7;
	return strcmp(a, b) == 0;
}

/* approve_cb() : checks the newest publish record of the id. */
static int
approve_cb(const struct px_store_row *r, void *arg)
{
	struct approve_arg		*aa = arg;
	const struct px_store_approve	*ap = aa->ap;
	struct px_store_wbuf		*wb = aa->wb;
	const char			*pub;
	size_t				 i;

	if (!is_publish_kind(r->kind))
		return 0;
	aa->found = 1;
	if (strcmp(r->verdict, "block") != 0) {
		snprintf(aa->why, sizeof(aa->why), "decision %s was not "
		    "blocked (verdict %s): nothing to approve", r->request_id,
		    r->verdict);
		return 1;
	}
	if (r->sha512[0] == '\0' || r->version[0] == '\0' ||
	    strcmp(r->inspection, "done") != 0) {
		snprintf(aa->why, sizeof(aa->why), "decision %s: the tarball "
		    "was not read whole (inspection %s), so no waiver can name "
		    "it", r->request_id, r->inspection[0] ? r->inspection :
		    "unknown");
		return 1;
	}
	if (r->reasons_total > (int64_t)r->nreasons) {
		snprintf(aa->why, sizeof(aa->why), "decision %s has %" PRId64
		    " reasons and only %zu are recorded: it cannot be waived "
		    "unseen", r->request_id, r->reasons_total, r->nreasons);
		return 1;
	}
	for (i = 0; ap->waivable != NULL && i < r->nreasons; i++)
		if (!ap->waivable(r->reasons[i].rule)) {
			snprintf(aa->why, sizeof(aa->why), "decision %s: %s is "
			    "the gate's own inspection reason (the publish "
			    "cannot be read as the registry would): no waiver "
			    "lets it through; publish a corrected tarball",
			    r->request_id, r->reasons[i].rule);
			return 1;
		}
	/* Two people: the reviewer is not the publisher. */
	pub = r->who;
	if (pub[0] != '\0' && (same_who(ap->actor.who, pub) ||
	    same_who(ap->actor.by, pub))) {
		snprintf(aa->why, sizeof(aa->why), "decision %s: the reviewer "
		    "is its publisher (%s); a reviewer who is not the "
		    "publisher approves it", r->request_id, pub);
		return 1;
	}
	memset(&wb->w, 0, sizeof(wb->w));
	px_store_wbuf_link(wb);
	PX_STORE_SET(wb, decision, r->request_id);
	PX_STORE_SET(wb, package, r->package);
	PX_STORE_SET(wb, version, r->version);
	PX_STORE_SET(wb, sha512, r->sha512);
	PX_STORE_SET(wb, publisher, r->who);
	return 1;
}

int
px_store_approve_row(const struct px_store_row *r, void *arg)
{
	struct px_store_op	*op = arg;
	struct px_store_wasync	*wa = op->w;
	struct px_store_approve	 ap;
	struct approve_arg	 aa;
	int			 rc;

	memset(&ap, 0, sizeof(ap));
	ap.actor.by = wa->by;
	ap.actor.who = wa->awho;
	ap.waivable = wa->waivable;
	memset(&aa, 0, sizeof(aa));
	aa.ap = &ap;
	aa.wb = &wa->wb;
	rc = approve_cb(r, &aa);
	if (aa.found) {
		wa->found = 1;
		snprintf(wa->why, sizeof(wa->why), "%s", aa.why);
	}
	return rc;
}

int
px_store_waiver_approve(struct px_store *a, const struct px_store_approve *ap,
    int64_t *id, char *err, size_t errlen)
{
	struct px_store_qargs	 qa;
	struct approve_arg	 aa;
	struct px_store_wop	 op;
	struct px_store_wbuf	*wb;
	struct wrec		 wr;
	int			 rc = -1, n;

	if (a == NULL || ap == NULL || ap->decision == NULL) {
		px_store_seterr(err, errlen, "bad approval");
		return -1;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "a PostgreSQL gate's loop store "
		    "takes the asynchronous waiver calls only");
		return -1;
	}
	if (actor_check(ap->actor.by, ap->reason, err, errlen) == -1)
		return PX_STORE_REFUSED;
	if (strlen(ap->decision) > PX_STORE_REQID_MAX) {
		px_store_seterr(err, errlen, "bad decision id");
		return PX_STORE_REFUSED;
	}
	memset(&qa, 0, sizeof(qa));
	qa.request_id = ap->decision;
	qa.limit = 16;
	pthread_mutex_lock(&a->mtx);
	wb = &a->wwb;
	memset(&aa, 0, sizeof(aa));
	aa.ap = ap;
	aa.wb = wb;
	n = a->ops->query(a->be, &qa, &a->rbuf, approve_cb, &aa, err, errlen);
	if (n == -1)
		goto done;
	if (!aa.found) {
		px_store_seterr(err, errlen, "no publish decision %s",
		    ap->decision);
		rc = PX_STORE_NOTFOUND;
		goto done;
	}
	if (aa.why[0] != '\0') {
		px_store_seterr(err, errlen, "%s", aa.why);
		rc = PX_STORE_REFUSED;
		goto done;
	}
	wb->w.created_ms = ap->now_ms > 0 ? ap->now_ms : now_ms();
	if (ap->expires_ms <= wb->w.created_ms) {
		px_store_seterr(err, errlen, "the waiver would expire before "
		    "it starts");
		rc = PX_STORE_REFUSED;
		goto done;
	}
	wb->w.expires_ms = ap->expires_ms;
	wb->w.once = ap->once ? 1 : 0;
	PX_STORE_SET(wb, approved_by, ap->actor.by);
	PX_STORE_SET(wb, reason, ap->reason);
	PX_STORE_SET(wb, revoked_by, "");
	PX_STORE_SET(wb, revoke_reason, "");
	memset(&wr, 0, sizeof(wr));
	wr.kind = "waiver-approve";
	wr.outbox = a->waiver_outbox;
	wr.client = ap->actor.client;
	wr.who = ap->actor.who;
	wr.user_agent = ap->actor.user_agent;
	memset(&op, 0, sizeof(op));
	op.kind = PX_WOP_ADD;
	op.now_ms = wb->w.created_ms;
	op.wb = wb;
	op.rec = &a->wbuf;
	op.fill = wop_fill;
	op.arg = &wr;
	if (a->ops->waiver_op(a->be, &op, err, errlen) != 0)
		goto done;
	px_store_wbuf_state(wb, op.now_ms);
	if (id != NULL)
		*id = wb->w.id;
	if (a->jsonl != NULL && write_jsonl(a, &a->wbuf.row, 0) == -1)
		a->jsonl_errors++;
	rc = 0;
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

int
px_store_waiver_revoke(struct px_store *a, int64_t id,
    const struct px_store_actor *actor, const char *reason, int64_t now,
    char *err, size_t errlen)
{
	struct px_store_wop	 op;
	struct px_store_wbuf	*wb;
	struct wrec		 wr;
	int			 rc = -1, r;

	if (a == NULL || actor == NULL || id <= 0) {
		px_store_seterr(err, errlen, "bad waiver id");
		return PX_STORE_REFUSED;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "a PostgreSQL gate's loop store "
		    "takes the asynchronous waiver calls only");
		return -1;
	}
	if (actor_check(actor->by, reason, err, errlen) == -1)
		return PX_STORE_REFUSED;
	pthread_mutex_lock(&a->mtx);
	wb = &a->wwb;
	memset(&wb->w, 0, sizeof(wb->w));
	px_store_wbuf_link(wb);
	PX_STORE_SET(wb, revoked_by, actor->by);
	PX_STORE_SET(wb, revoke_reason, reason);
	memset(&wr, 0, sizeof(wr));
	wr.kind = "waiver-revoke";
	wr.outbox = a->waiver_outbox;
	wr.client = actor->client;
	wr.who = actor->who;
	wr.user_agent = actor->user_agent;
	memset(&op, 0, sizeof(op));
	op.kind = PX_WOP_REVOKE;
	op.now_ms = now > 0 ? now : now_ms();
	op.id = id;
	op.wb = wb;
	op.rec = &a->wbuf;
	op.fill = wop_fill;
	op.arg = &wr;
	if ((r = a->ops->waiver_op(a->be, &op, err, errlen)) == -1)
		goto done;
	if (r == 1) {
		px_store_seterr(err, errlen, "no waiver %" PRId64 " that is "
		    "not revoked already", id);
		rc = PX_STORE_NOTFOUND;
		goto done;
	}
	if (a->jsonl != NULL && write_jsonl(a, &a->wbuf.row, 0) == -1)
		a->jsonl_errors++;
	rc = 0;
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

int
px_store_waiver_use(struct px_store *a, const char *package,
    const char *version, const char *sha512, const char *request_id,
    const char *client, const char *who, int64_t now,
    int (*cb)(const struct px_store_waiver *, void *), void *arg, char *err,
    size_t errlen)
{
	struct px_store_wop	 op;
	struct px_store_wbuf	*wb;
	struct wrec		 wr;
	char			 pkg[PX_STORE_PKG_MAX + 1];
	int			 rc = -1, r;

	if (a == NULL)
		return -1;
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "a PostgreSQL gate's loop store "
		    "takes the asynchronous waiver calls only");
		return -1;
	}
	/* Nothing to match: no waiver names an empty hash or version. */
	if (!px_store_waiver_match_ok(package, version, sha512))
		return 0;
	copy_package(pkg, sizeof(pkg), package);
	pthread_mutex_lock(&a->mtx);
	wb = &a->wwb;
	memset(&wr, 0, sizeof(wr));
	wr.kind = "waiver-use";
	wr.outbox = a->waiver_outbox;
	wr.request_id = request_id;
	wr.client = client;
	wr.who = who;
	wr.user_agent = "";
	memset(&op, 0, sizeof(op));
	op.kind = PX_WOP_USE;
	op.now_ms = now > 0 ? now : now_ms();
	op.package = pkg;
	op.version = version;
	op.sha512 = sha512;
	op.wb = wb;
	op.rec = &a->wbuf;
	op.fill = wop_fill;
	op.arg = &wr;
	if ((r = a->ops->waiver_op(a->be, &op, err, errlen)) == -1)
		goto done;
	if (r == 1) {
		rc = 0;
		goto done;
	}
	if (a->jsonl != NULL && write_jsonl(a, &a->wbuf.row, 0) == -1)
		a->jsonl_errors++;
	px_store_wbuf_state(wb, op.now_ms);
	if (cb != NULL)
		(void)cb(&wb->w, arg);
	rc = 1;
done:
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

int
px_store_waivers(struct px_store *a, int64_t id, int active_only, int limit,
    int (*cb)(const struct px_store_waiver *, void *), void *arg, char *err,
    size_t errlen)
{
	int	n;

	if (a == NULL || cb == NULL || limit < 0) {
		px_store_seterr(err, errlen, "bad query");
		return -1;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "a PostgreSQL gate's loop store "
		    "takes the asynchronous waiver calls only");
		return -1;
	}
	if (limit == 0)
		limit = PX_STORE_LIMIT_DEFAULT;
	if (limit > PX_STORE_LIMIT_MAX)
		limit = PX_STORE_LIMIT_MAX;
	pthread_mutex_lock(&a->mtx);
	n = a->ops->waivers(a->be, id, active_only ? 1 : 0, now_ms(), limit,
	    &a->wwb, cb, arg, err, errlen);
	pthread_mutex_unlock(&a->mtx);
	return n;
}

/* --------------------------------------------------------- the outbox */

int
px_store_outbox_claim(struct px_store *a, int64_t now, int64_t lease_ms,
    struct px_store_alert *out, int max, char *err, size_t errlen)
{
	int	n;

	if (a == NULL || out == NULL || max < 1 || lease_ms < 1) {
		px_store_seterr(err, errlen, "bad outbox claim");
		return -1;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "the outbox is not claimed from a "
		    "PostgreSQL gate's event loop by a blocking call");
		return -1;
	}
	pthread_mutex_lock(&a->mtx);
	n = a->ops->outbox_claim(a->be, now, lease_ms, out, max, err, errlen);
	pthread_mutex_unlock(&a->mtx);
	return n;
}

int
px_store_outbox_finish(struct px_store *a, int64_t id, int64_t now,
    enum px_alert_result result, int64_t due_ms, const char *error,
    char *err, size_t errlen)
{
	char	e[PX_STORE_ERROR_MAX + 1];
	int	rc;

	if (a == NULL || id < 1 || (result != PX_ALERT_DELIVERED &&
	    result != PX_ALERT_RETRY && result != PX_ALERT_GIVEN_UP)) {
		px_store_seterr(err, errlen, "bad outbox finish");
		return -1;
	}
	if (a->pl != NULL) {
		px_store_seterr(err, errlen, "the outbox is not updated from a "
		    "PostgreSQL gate's event loop by a blocking call");
		return -1;
	}
	px_store_copy(e, sizeof(e), result == PX_ALERT_DELIVERED ? "" : error);
	px_store_utf8_fix(e);
	pthread_mutex_lock(&a->mtx);
	rc = a->ops->outbox_finish(a->be, id, now, (int)result, due_ms, e, err,
	    errlen);
	pthread_mutex_unlock(&a->mtx);
	return rc;
}

void
px_store_set_waiver_outbox(struct px_store *a, const char *names)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mtx);
	px_store_copy(a->waiver_outbox, sizeof(a->waiver_outbox),
	    names != NULL ? names : "");
	pthread_mutex_unlock(&a->mtx);
}

int64_t
px_store_outbox_pending(struct px_store *a, char *err, size_t errlen)
{
	int64_t	n;

	if (a == NULL || a->pl != NULL) {
		px_store_seterr(err, errlen, "the outbox is not counted from a "
		    "PostgreSQL gate's event loop by a blocking call");
		return -1;
	}
	pthread_mutex_lock(&a->mtx);
	n = a->ops->outbox_pending(a->be, err, errlen);
	pthread_mutex_unlock(&a->mtx);
	return n;
}

int
px_store_by_id(struct px_store *a, int64_t id,
    void (*cb)(const struct px_store_row *, void *), void *arg, char *err,
    size_t errlen)
{
	int	rc;

	if (a == NULL || a->pl != NULL || id < 1 || cb == NULL) {
		px_store_seterr(err, errlen, "bad record read");
		return -1;
	}
	pthread_mutex_lock(&a->mtx);
	rc = a->ops->by_id(a->be, id, &a->rbuf);
	if (rc == 0)
		cb(&a->rbuf.row, arg);
	pthread_mutex_unlock(&a->mtx);
	return rc == 0 ? 1 : 0;
}

/* ------------------------------------------- asynchronous (the loop) */

void
px_store_op_free(struct px_store_op *op)
{
	if (op == NULL)
		return;
	if (op->buf != NULL)
		px_store_buf_free(op->buf);
	free(op->buf);
	free(op->q);
	free(op->w);
	free(op);
}

static struct px_store_op *
op_new(struct px_store *a, enum px_store_op_kind kind, int want_buf)
{
	struct px_store_op	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	op->store = a;
	op->kind = kind;
	if (want_buf) {
		if ((op->buf = calloc(1, sizeof(*op->buf))) == NULL) {
			free(op);
			return NULL;
		}
		px_store_buf_link(op->buf);
	}
	return op;
}

/*
 * submit() : op to its runner: pgloop.c, or the SQLite deferral queue.
 * 0, or -1 (op still the caller's) with err.
 */
static int
submit(struct px_store *a, struct px_store_op *op, char *err, size_t errlen)
{
	if (a->pl != NULL)
		return px_pgloop_submit(a->pl, op, err, errlen);
	if (a->ev_defer == NULL) {
		px_store_seterr(err, errlen, "store not opened for the loop");
		return -1;
	}
	op->next = NULL;
	if (a->dq_tail != NULL)
		a->dq_tail->next = op;
	else
		a->dq_head = op;
	a->dq_tail = op;
	a->ndeferred++;
	event_active(a->ev_defer, EV_TIMEOUT, 0);
	return 0;
}

static void	wrun_sync(struct px_store *, struct px_store_op *);
static void	wdone(struct px_store_op *);
static void	wlookup_done(struct px_store_op *);

/* run_sync() : the blocking call an operation stands for (SQLite). */
static void
run_sync(struct px_store *a, struct px_store_op *op)
{
	op->rc = -1;
	switch (op->kind) {
	case PX_OP_INSERT:
		pthread_mutex_lock(&a->mtx);
		if (a->ops->insert(a->be, op->buf) == 0) {
			op->rc = 0;
			op->id = op->buf->row.id;
		} else
			px_store_seterr(op->err, sizeof(op->err), "%s: write "
			    "failed", a->ops->name);
		pthread_mutex_unlock(&a->mtx);
		break;
	case PX_OP_STATUS:
	case PX_OP_RESOLVE:
		op->rc = px_store_set_status(a, op->id, op->status);
		break;
	case PX_OP_BYID:
		break;
	case PX_OP_QUERY:
		pthread_mutex_lock(&a->mtx);
		op->rc = a->ops->query(a->be, &op->q->qa, &a->rbuf, op->row,
		    op->row_arg, op->err, sizeof(op->err));
		pthread_mutex_unlock(&a->mtx);
		break;
	case PX_OP_WAIVER:
		wrun_sync(a, op);
		break;
	}
}

/* defer_cb() : runs the SQLite operations queued so far, in order. */
static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_store		*a = arg;
	struct px_store_op	*op, *list;

	(void)fd;
	(void)what;
	list = a->dq_head;
	a->dq_head = a->dq_tail = NULL;
	while ((op = list) != NULL) {
		list = op->next;
		a->ndeferred--;
		if (op->cancelled && op->kind != PX_OP_STATUS) {
			px_store_op_free(op);	/* never run: nothing waits */
			continue;
		}
		run_sync(a, op);
		px_store_op_done(op);
	}
}

void
px_store_op_done(struct px_store_op *op)
{
	struct px_store		*a = op->store;
	struct px_store_op	*by;

	if (op->w != NULL) {
		/* A waiver's: its own answers (refusals are not errors). */
		if (op->kind == PX_OP_QUERY)
			wlookup_done(op);
		else
			wdone(op);
		return;
	}
	if (op->rc < 0)
		a->op_errors++;
	switch (op->kind) {
	case PX_OP_INSERT:
		if (op->rc == 0)
			op->buf->row.id = op->id;	/* pgloop sets op->id */
		if (op->rc == 0 && a->jsonl != NULL &&
		    write_jsonl(a, &op->buf->row, 0) == -1)
			a->jsonl_errors++;
		if (!op->cancelled && op->wcb != NULL)
			op->wcb(op->arg, op->rc, op->id);
		break;
	case PX_OP_STATUS:
		/* The JSON line of the update: the record read back. */
		if (op->rc == 0 && a->jsonl != NULL && a->pl != NULL &&
		    (by = op_new(a, PX_OP_BYID, 1)) != NULL) {
			by->id = op->id;
			if (submit(a, by, NULL, 0) == -1) {
				px_store_op_free(by);
				a->jsonl_errors++;
			}
		}
		break;
	case PX_OP_BYID:
		if (op->rc != 0 || a->jsonl == NULL ||
		    write_jsonl(a, &op->buf->row, 1) == -1)
			a->jsonl_errors++;
		break;
	case PX_OP_RESOLVE:
		break;
	case PX_OP_QUERY:
		if (!op->cancelled && op->qdone != NULL)
			op->qdone(op->arg, op->rc, op->rc < 0 ? op->err : NULL);
		break;
	case PX_OP_WAIVER:
		break;
	}
	px_store_op_free(op);
}

struct px_store *
px_store_open_loop(const char *db, struct event_base *base, FILE *jsonl,
    char *err, size_t errlen)
{
	struct px_store	*a;
	char		 merr[512];
	int		 v;

	if (db == NULL || !px_pg_is_url(db)) {
		if ((a = px_store_open(db, jsonl, err, errlen)) == NULL)
			return NULL;
		if ((a->ev_defer = event_new(base, -1, 0, defer_cb, a)) ==
		    NULL) {
			px_store_close(a);
			px_store_seterr(err, errlen, "out of memory");
			return NULL;
		}
		return a;
	}
	if (px_pg_check_url(db, err, errlen) == -1)
		return NULL;
	/*
	 * Migrations at start, as `pubgate db migrate`; a database that
	 * cannot be reached now is not fatal (the loop connects when it
	 * can, and checks the schema version then), one that answers with
	 * a schema newer than ours is.
	 */
	merr[0] = '\0';
	if (px_store_migrate(db, &v, merr, sizeof(merr)) == -1 &&
	    strstr(merr, "newer") != NULL) {
		px_store_seterr(err, errlen, "%s", merr);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    pthread_mutex_init(&a->mtx, NULL) != 0) {
		free(a);
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	a->jsonl = jsonl;
	px_store_buf_link(&a->wbuf);
	px_store_buf_link(&a->rbuf);
	if ((a->pl = px_pgloop_new(base, db, err, errlen)) == NULL) {
		pthread_mutex_destroy(&a->mtx);
		free(a);
		return NULL;
	}
	return a;
}

struct px_store_op *
px_store_write_async(struct px_store *a, const struct px_store_rec *rec,
    px_store_write_cb *cb, void *arg)
{
	struct px_store_op	*op;

	if (a == NULL || rec == NULL || (op = op_new(a, PX_OP_INSERT, 1)) ==
	    NULL)
		return NULL;
	rec_to_buf(op->buf, rec);
	snprintf(op->reqid, sizeof(op->reqid), "%s", op->buf->request_id);
	op->wcb = cb;
	op->arg = arg;
	if (submit(a, op, NULL, 0) == -1) {
		a->op_errors++;
		px_store_op_free(op);
		return NULL;
	}
	return op;
}

void
px_store_set_status_async(struct px_store *a, int64_t id, int status)
{
	struct px_store_op	*op;

	if (a == NULL || id <= 0 || status <= 0)
		return;
	if ((op = op_new(a, PX_OP_STATUS, 0)) == NULL) {
		a->op_errors++;
		return;
	}
	op->id = id;
	op->status = status;
	if (submit(a, op, NULL, 0) == -1) {
		a->op_errors++;
		px_store_op_free(op);
	}
}

struct px_store_op *
px_store_query_async(struct px_store *a, const struct px_store_query *q,
    int (*row)(const struct px_store_row *, void *), void *row_arg,
    px_store_query_done_cb *done, void *arg, char *err, size_t errlen)
{
	struct px_store_op	*op;

	if (a == NULL || q == NULL || row == NULL || done == NULL) {
		px_store_seterr(err, errlen, "bad query");
		return NULL;
	}
	if ((op = op_new(a, PX_OP_QUERY, 1)) == NULL ||
	    (op->q = malloc(sizeof(*op->q))) == NULL) {
		px_store_op_free(op);
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (query_args(q, op->q, err, errlen) == -1) {
		px_store_op_free(op);
		return NULL;
	}
	op->row = row;
	op->row_arg = row_arg;
	op->qdone = done;
	op->arg = arg;
	if (submit(a, op, err, errlen) == -1) {
		px_store_op_free(op);
		return NULL;
	}
	return op;
}

void
px_store_op_cancel(struct px_store_op *op)
{
	if (op != NULL)
		op->cancelled = 1;
}

void
px_store_stat(const struct px_store *a, struct px_store_stat *st)
{
	memset(st, 0, sizeof(*st));
	if (a->pl != NULL)
		px_pgloop_stat(a->pl, st);
	else {
		st->up = 1;
		st->state = "up";
		st->pending = a->ndeferred;
	}
	st->errors += a->op_errors;
}

/* ------------------------------------------- waivers from the loop */

/* wbuf_copy() : w, strings included, into wb. */
static void
wbuf_copy(struct px_store_wbuf *wb, const struct px_store_waiver *w)
{
	wb->w = *w;
	px_store_wbuf_link(wb);
	PX_STORE_SET(wb, decision, w->decision);
	PX_STORE_SET(wb, package, w->package);
	PX_STORE_SET(wb, version, w->version);
	PX_STORE_SET(wb, sha512, w->sha512);
	PX_STORE_SET(wb, publisher, w->publisher);
	PX_STORE_SET(wb, approved_by, w->approved_by);
	PX_STORE_SET(wb, reason, w->reason);
	PX_STORE_SET(wb, revoked_by, w->revoked_by);
	PX_STORE_SET(wb, revoke_reason, w->revoke_reason);
	PX_STORE_SET(wb, state, w->state);
}

static int
wcopy_cb(const struct px_store_waiver *w, void *arg)
{
	wbuf_copy(arg, w);
	return 1;
}

/* wop_new() : a waiver operation (kind PX_OP_WAIVER, a record buffer). */
static struct px_store_op *
wop_new(struct px_store *a, enum px_wop_kind kind, int64_t now,
    px_store_waiver_cb *cb, void *arg, char *err, size_t errlen)
{
	struct px_store_op	*op;

	if ((op = op_new(a, PX_OP_WAIVER, 1)) == NULL ||
	    (op->w = calloc(1, sizeof(*op->w))) == NULL) {
		px_store_op_free(op);
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	px_store_wbuf_link(&op->w->wb);
	op->w->kind = kind;
	op->w->now_ms = now > 0 ? now : now_ms();
	fmt_time(op->w->now_ms, op->w->time, sizeof(op->w->time));
	rand_prefix(op->w->prefix);
	px_store_copy(op->w->outbox, sizeof(op->w->outbox), a->waiver_outbox);
	op->w->cb = cb;
	op->arg = arg;
	return op;
}

/* wsubmit() : op to its runner, or NULL (op freed, err set). */
static struct px_store_op *
wsubmit(struct px_store *a, struct px_store_op *op, char *err, size_t errlen)
{
	char	e[200];

	e[0] = '\0';
	if (submit(a, op, e, sizeof(e)) == -1) {
		a->op_errors++;
		px_store_seterr(err, errlen, "%s", e[0] != '\0' ? e :
		    "the decision store refused the operation");
		px_store_op_free(op);
		return NULL;
	}
	return op;
}

/*
 * wrun_sync() : SQLite: the blocking call, which writes the record and
 * its JSON line; the waiver read into op->w->wb.
 */
static void
wrun_sync(struct px_store *a, struct px_store_op *op)
{
	struct px_store_wasync	*wa = op->w;
	struct px_store_approve	 ap;
	struct px_store_actor	 ac;
	int64_t			 id = 0;
	int			 rc;

	wa->synced = 1;
	if (wa->list) {
		op->rc = px_store_waivers(a, wa->id, wa->active_only,
		    wa->limit, wa->row, wa->row_arg, op->err,
		    sizeof(op->err));
		return;
	}
	memset(&ac, 0, sizeof(ac));
	ac.by = wa->by;
	ac.who = wa->awho;
	ac.client = wa->client;
	ac.user_agent = wa->ua;
	switch (wa->kind) {
	case PX_WOP_USE:
		op->rc = px_store_waiver_use(a, wa->package, wa->version,
		    wa->sha512, wa->reqid, wa->client, wa->who, wa->now_ms,
		    wcopy_cb, &wa->wb, op->err, sizeof(op->err));
		return;
	case PX_WOP_ADD:
		memset(&ap, 0, sizeof(ap));
		ap.decision = wa->decision;
		ap.reason = wa->reason;
		ap.now_ms = wa->now_ms;
		ap.expires_ms = wa->expires_ms;
		ap.once = wa->once;
		ap.actor = ac;
		ap.waivable = wa->waivable;
		rc = px_store_waiver_approve(a, &ap, &id, op->err,
		    sizeof(op->err));
		break;
	case PX_WOP_REVOKE:
		id = wa->id;
		rc = px_store_waiver_revoke(a, id, &ac, wa->wb.revoke_reason,
		    wa->now_ms, op->err, sizeof(op->err));
		break;
	default:
		rc = -1;
		break;
	}
	/* The waiver as it is now, for the answer. */
	if (rc == 0 && px_store_waivers(a, id, 0, 1, wcopy_cb, &wa->wb,
	    op->err, sizeof(op->err)) != 1)
		rc = -1;
	op->rc = rc;
}

/* wfinish() : the caller's answer, then op is freed. */
static void
wfinish(struct px_store_op *op, int rc, const struct px_store_waiver *w,
    const char *err)
{
	struct px_store_wasync	*wa = op->w;

	if (rc == -1)
		op->store->op_errors++;
	if (!op->cancelled && wa->cb != NULL)
		wa->cb(op->arg, rc, w, err != NULL ? err : "");
	px_store_op_free(op);
}

/*
 * wdone() : a waiver operation ended.  PostgreSQL: op->rc 0 a waiver
 * matched and its record is committed (the JSON line and the answer are
 * made here, the record as wop_fill() makes the blocking calls'), 1 none
 * matched, -1 failed.  SQLite (synced): the blocking call's answer.
 */
static void
wdone(struct px_store_op *op)
{
	struct px_store		*a = op->store;
	struct px_store_wasync	*wa = op->w;
	struct px_store_wop	 wop;
	struct wrec		 wr;
	const struct px_store_waiver *w = NULL;
	char			 err[200];
	int			 rc = op->rc;

	if (wa->list) {
		if (rc < 0)
			a->op_errors++;
		if (!op->cancelled && op->qdone != NULL)
			op->qdone(op->arg, rc, rc < 0 ? op->err : NULL);
		px_store_op_free(op);
		return;
	}
	if (wa->synced) {
		if ((wa->kind == PX_WOP_USE && rc == 1) ||
		    (wa->kind != PX_WOP_USE && rc == 0))
			w = &wa->wb.w;
		wfinish(op, rc, w, op->err);
		return;
	}
	if (rc == -1) {
		wfinish(op, -1, NULL, op->err[0] != '\0' ? op->err :
		    "the decision store failed");
		return;
	}
	if (rc == 1) {
		if (wa->kind == PX_WOP_USE)
			wfinish(op, 0, NULL, NULL);
		else if (wa->kind == PX_WOP_REVOKE) {
			snprintf(err, sizeof(err), "no waiver %" PRId64 " that "
			    "is not revoked already", wa->id);
			wfinish(op, PX_STORE_NOTFOUND, NULL, err);
		} else
			wfinish(op, -1, NULL, "the waiver was not stored");
		return;
	}
	memset(&wr, 0, sizeof(wr));
	wr.kind = wa->kind == PX_WOP_USE ? "waiver-use" : wa->kind ==
	    PX_WOP_ADD ? "waiver-approve" : "waiver-revoke";
	wr.request_id = wa->kind == PX_WOP_USE ? wa->reqid : NULL;
	wr.prefix = wa->prefix;
	wr.outbox = wa->outbox;
	wr.client = wa->client;
	wr.who = wa->who;
	wr.user_agent = wa->ua;
	memset(&wop, 0, sizeof(wop));
	wop.kind = wa->kind;
	wop.now_ms = wa->now_ms;
	wop.wb = &wa->wb;
	wop.rec = op->buf;
	wop.arg = &wr;
	wop_fill(&wop);
	op->buf->row.id = wa->rec_id;
	if (a->jsonl != NULL && write_jsonl(a, &op->buf->row, 0) == -1)
		a->jsonl_errors++;
	px_store_wbuf_state(&wa->wb, wa->now_ms);
	wfinish(op, wa->kind == PX_WOP_USE ? 1 : 0, &wa->wb.w, NULL);
}

/*
 * wlookup_done() : PostgreSQL, an approval's decision read: refused,
 * or on to the statement that stores the waiver and its record.
 */
static void
wlookup_done(struct px_store_op *op)
{
	struct px_store_wasync	*wa = op->w;
	struct px_store_wbuf	*wb = &wa->wb;
	char			 err[400];

	if (op->cancelled) {
		px_store_op_free(op);
		return;
	}
	if (op->rc < 0) {
		wfinish(op, -1, NULL, op->err[0] != '\0' ? op->err :
		    "the decision store failed");
		return;
	}
	if (!wa->found) {
		snprintf(err, sizeof(err), "no publish decision %s",
		    wa->decision);
		wfinish(op, PX_STORE_NOTFOUND, NULL, err);
		return;
	}
	if (wa->why[0] != '\0') {
		wfinish(op, PX_STORE_REFUSED, NULL, wa->why);
		return;
	}
	if (wa->expires_ms <= wa->now_ms) {
		wfinish(op, PX_STORE_REFUSED, NULL, "the waiver would expire "
		    "before it starts");
		return;
	}
	wb->w.created_ms = wa->now_ms;
	wb->w.expires_ms = wa->expires_ms;
	wb->w.once = wa->once;
	PX_STORE_SET(wb, approved_by, wa->by);
	PX_STORE_SET(wb, reason, wa->reason);
	PX_STORE_SET(wb, revoked_by, "");
	PX_STORE_SET(wb, revoke_reason, "");
	fmt_time(wa->expires_ms, wa->until, sizeof(wa->until));
	op->kind = PX_OP_WAIVER;
	op->sent = 0;
	op->rc = 0;
	op->err[0] = '\0';
	free(op->q);
	op->q = NULL;
	op->row = NULL;
	op->row_arg = NULL;
	err[0] = '\0';
	if (submit(op->store, op, err, sizeof(err)) == -1)
		wfinish(op, -1, NULL, err[0] != '\0' ? err :
		    "the decision store refused the operation");
}

struct px_store_op *
px_store_waiver_use_async(struct px_store *a, const char *package,
    const char *version, const char *sha512, const char *request_id,
    const char *client, const char *who, int64_t now,
    px_store_waiver_cb *cb, void *arg, char *err, size_t errlen)
{
	struct px_store_op	*op;
	struct px_store_wasync	*wa;

	if (a == NULL || !px_store_waiver_match_ok(package, version,
	    sha512) || request_id == NULL) {
		px_store_seterr(err, errlen, "no waiver can match");
		return NULL;
	}
	if ((op = wop_new(a, PX_WOP_USE, now, cb, arg, err, errlen)) == NULL)
		return NULL;
	wa = op->w;
	copy_package(wa->package, sizeof(wa->package), package);
	PX_STORE_SET(wa, version, version);
	PX_STORE_SET(wa, sha512, sha512);
	PX_STORE_SET(wa, reqid, request_id);
	PX_STORE_SET(wa, client, client);
	copy_who(wa->who, sizeof(wa->who), who);
	PX_STORE_SET(wa, ua, "");
	/* pgloop's uncertain commit: the record resolved by this id. */
	snprintf(op->reqid, sizeof(op->reqid), "%s", wa->reqid);
	return wsubmit(a, op, err, errlen);
}

/* wactor() : the reviewer into wa (who as given and as stored). */
static void
wactor(struct px_store_wasync *wa, const struct px_store_actor *ac)
{
	PX_STORE_SET(wa, by, ac->by);
	PX_STORE_SET(wa, awho, ac->who);
	copy_who(wa->who, sizeof(wa->who), ac->who);
	PX_STORE_SET(wa, client, ac->client);
	PX_STORE_SET(wa, ua, ac->user_agent);
}

struct px_store_op *
px_store_waiver_approve_async(struct px_store *a,
    const struct px_store_approve *ap, px_store_waiver_cb *cb, void *arg,
    char *err, size_t errlen)
{
	struct px_store_op	*op;
	struct px_store_wasync	*wa;
	struct px_store_query	 q;

	if (a == NULL || ap == NULL || ap->decision == NULL ||
	    strlen(ap->decision) > PX_STORE_REQID_MAX) {
		px_store_seterr(err, errlen, "bad decision id");
		return NULL;
	}
	if (px_store_actor_check(ap->actor.by, ap->reason, err, errlen) != 0)
		return NULL;
	if ((op = wop_new(a, PX_WOP_ADD, ap->now_ms, cb, arg, err, errlen)) ==
	    NULL)
		return NULL;
	wa = op->w;
	wactor(wa, &ap->actor);
	PX_STORE_SET(wa, decision, ap->decision);
	PX_STORE_SET(wa, reason, ap->reason);
	wa->expires_ms = ap->expires_ms;
	wa->once = ap->once ? 1 : 0;
	wa->waivable = ap->waivable;
	if (a->pl != NULL) {
		/* First the decision, as px_store_waiver_approve() reads it. */
		memset(&q, 0, sizeof(q));
		q.request_id = wa->decision;
		q.limit = 16;
		if ((op->q = malloc(sizeof(*op->q))) == NULL ||
		    query_args(&q, op->q, err, errlen) == -1) {
			if (op->q == NULL)
				px_store_seterr(err, errlen, "out of memory");
			px_store_op_free(op);
			return NULL;
		}
		op->kind = PX_OP_QUERY;
		op->row = px_store_approve_row;
		op->row_arg = op;
	}
	return wsubmit(a, op, err, errlen);
}

struct px_store_op *
px_store_waiver_revoke_async(struct px_store *a, int64_t id,
    const struct px_store_actor *actor, const char *reason, int64_t now,
    px_store_waiver_cb *cb, void *arg, char *err, size_t errlen)
{
	struct px_store_op	*op;
	struct px_store_wasync	*wa;

	if (a == NULL || actor == NULL || id <= 0) {
		px_store_seterr(err, errlen, "bad waiver id");
		return NULL;
	}
	if (px_store_actor_check(actor->by, reason, err, errlen) != 0)
		return NULL;
	if ((op = wop_new(a, PX_WOP_REVOKE, now, cb, arg, err, errlen)) ==
	    NULL)
		return NULL;
	wa = op->w;
	wactor(wa, actor);
	wa->id = id;
	PX_STORE_SET(&wa->wb, revoked_by, actor->by);
	PX_STORE_SET(&wa->wb, revoke_reason, reason);
	return wsubmit(a, op, err, errlen);
}

struct px_store_op *
px_store_waivers_async(struct px_store *a, int64_t id, int active_only,
    int limit, int (*row)(const struct px_store_waiver *, void *),
    void *row_arg, px_store_query_done_cb *done, void *arg, char *err,
    size_t errlen)
{
	struct px_store_op	*op;
	struct px_store_wasync	*wa;

	if (a == NULL || row == NULL || done == NULL || limit < 0 || id < 0) {
		px_store_seterr(err, errlen, "bad query");
		return NULL;
	}
	if ((op = wop_new(a, PX_WOP_USE, 0, NULL, NULL, err, errlen)) == NULL)
		return NULL;
	wa = op->w;
	wa->list = 1;
	wa->id = id;
	wa->active_only = active_only ? 1 : 0;
	wa->limit = limit == 0 ? PX_STORE_LIMIT_DEFAULT : limit >
	    PX_STORE_LIMIT_MAX ? PX_STORE_LIMIT_MAX : limit;
	wa->row = row;
	wa->row_arg = row_arg;
	op->qdone = done;
	op->arg = arg;
	return wsubmit(a, op, err, errlen);
}
