/*
 * proxy/gate/whoami.c: the npm user name behind a gated write's token,
 * for its decision record (issue 10, "who").
 *
 * When a publish or another gated write (dist-tag, unpublish, deprecate,
 * any write the gate records) carries an Authorization, px_whoami_start()
 * asks the conn's upstream registry GET <prefix>/-/whoami with that very
 * header (upget.c, on the loop), while the body is still being read and
 * judged.  The answer ({"username": "..."}) is cached per token
 * fingerprint (px_spool_who(), the record's `who`) and upstream for the
 * `whoami.ttl`; every conn asking for a fingerprint whose lookup is in
 * flight waits on that one lookup.  At most `whoami.max` names are kept
 * per process (default PX_WHOAMI_MAX_DEFAULT, at most PX_WHOAMI_MAX_MAX):
 * a new one evicts the least recently used; lookups in flight are never
 * evicted (when every entry is one, the name is not looked up).
 *
 * The record waits for the answer (spool.c's px_spool_record() defers
 * the write while conn->wm is set), at most `whoami.timeout` after the
 * lookup began: an error, a timeout or a refused token (401/403) gives
 * the user "" and one log line event=whoami-failed (the fingerprint,
 * never the token).  A refused token's "" is cached like a name; an
 * error or a timeout is not.  Nothing here changes a verdict or an
 * answer.  The token itself is only in the request upget.c sends and
 * wipes; the cache keys on the fingerprint.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy-int.h"

struct px_wm_ent {
	char			 key[17 + PX_URL_MAX];	/* who " " hostport */
	char			 who[17];
	char			 user[PX_USER_MAX];
	uint64_t		 expires_ms;
	uint64_t		 used;		/* wm->uses at its last use */
	int			 pending;	/* a lookup in flight */
	struct px_whoami	*wm;
	struct px_upget		*ug;
	struct event		*timer;
	uint64_t		 t0;
	unsigned long long	 conn_id;	/* the conn that asked first */
	char			 reqid[40];
	int			 status;
	int			 bad;		/* a content coding */
	size_t			 blen;
	char			 body[PX_WHOAMI_BODY_MAX];
	TAILQ_HEAD(, px_conn)	 waiters;
};

struct px_whoami {
	struct px_ctx		*ctx;
	struct px_wm_ent	**ents;
	size_t			 n, cap;
	uint64_t		 lookups, hits, failures, evictions;
	uint64_t		 uses;		/* LRU order: ms can tie */
};

static void
ent_stop(struct px_wm_ent *e)
{
	px_upget_free(e->ug, e->status == 200);
	e->ug = NULL;
	if (e->timer != NULL)
		event_free(e->timer);
	e->timer = NULL;
	e->pending = 0;
}

/* ent_remove() : drops entry i (no waiters left on it). */
static void
ent_remove(struct px_whoami *wm, size_t i)
{
	struct px_wm_ent	*e = wm->ents[i];

	ent_stop(e);
	wm->ents[i] = wm->ents[--wm->n];
	free(e);
}

void
px_whoami_free(struct px_whoami *wm)
{
	struct px_wm_ent	*e;
	struct px_conn		*c;

	if (wm == NULL)
		return;
	while (wm->n > 0) {
		e = wm->ents[wm->n - 1];
		while ((c = TAILQ_FIRST(&e->waiters)) != NULL) {
			TAILQ_REMOVE(&e->waiters, c, wm_entry);
			c->wm = NULL;
		}
		ent_remove(wm, wm->n - 1);
	}
	free(wm->ents);
	wm->ctx->whoami = NULL;
	free(wm);
}

void
px_whoami_stats(const struct px_ctx *ctx, struct px_whoami_stats *st)
{
	const struct px_whoami	*wm = ctx->whoami;

	memset(st, 0, sizeof(*st));
	if (wm == NULL)
		return;
	st->lookups = wm->lookups;
	st->hits = wm->hits;
	st->failures = wm->failures;
	st->evictions = wm->evictions;
	st->entries = wm->n;
}

void
px_whoami_metrics(const struct px_ctx *ctx, const struct px_metrics *sum,
    FILE *f)
{
	if (ctx->cfg->whoami.off)
		return;
	fprintf(f, "# HELP pubgate_whoami_lookups_total GET /-/whoami "
	    "requests the gate sent for a record's npm user name.\n"
	    "# TYPE pubgate_whoami_lookups_total counter\n"
	    "pubgate_whoami_lookups_total %llu\n"
	    "# HELP pubgate_whoami_hits_total Names taken from the cache.\n"
	    "# TYPE pubgate_whoami_hits_total counter\n"
	    "pubgate_whoami_hits_total %llu\n"
	    "# HELP pubgate_whoami_failures_total Lookups that gave no name "
	    "(error, timeout, refused or unknown token).\n"
	    "# TYPE pubgate_whoami_failures_total counter\n"
	    "pubgate_whoami_failures_total %llu\n"
	    "# HELP pubgate_whoami_evictions_total Cached names evicted at "
	    "whoami.max.\n"
	    "# TYPE pubgate_whoami_evictions_total counter\n"
	    "pubgate_whoami_evictions_total %llu\n",
	    (unsigned long long)sum->whoami[0],
	    (unsigned long long)sum->whoami[1],
	    (unsigned long long)sum->whoami[2],
	    (unsigned long long)sum->whoami[3]);
}

/*
 * px_whoami_username() : the "username" string member of a JSON object
 * (the registry's whoami answer) into out; 0, or -1 when there is none
 * or it is not a plain name (printable ASCII, no quote or backslash,
 * shorter than outlen).
 */
int
px_whoami_username(const char *b, size_t n, char *out, size_t outlen)
{
	size_t		 i = 0, ks, kn, vs;
	int		 depth;

#define WS() while (i < n && (b[i] == ' ' || b[i] == '\t' || \
	    b[i] == '\r' || b[i] == '\n')) i++
	out[0] = '\0';
	WS();
	if (i >= n || b[i++] != '{')
		return -1;
	for (;;) {
		WS();
		if (i >= n || b[i] != '"')
			return -1;
		ks = ++i;
		while (i < n && b[i] != '"') {
			if (b[i] == '\\')
				i++;
			i++;
		}
		if (i >= n)
			return -1;
		kn = i++ - ks;
		WS();
		if (i >= n || b[i++] != ':')
			return -1;
		WS();
		if (i >= n)
			return -1;
		if (kn == 8 && memcmp(b + ks, "username", 8) == 0) {
			if (b[i] != '"')
				return -1;
			vs = ++i;
			while (i < n && b[i] != '"') {
				if (b[i] < 0x21 || b[i] > 0x7e || b[i] == '\\')
					return -1;
				i++;
			}
			if (i >= n || i == vs || i - vs >= outlen)
				return -1;
			memcpy(out, b + vs, i - vs);
			out[i - vs] = '\0';
			return 0;
		}
		/* Another member: skipped, strings and nesting included. */
		depth = 0;
		while (i < n) {
			if (b[i] == '"') {
				for (i++; i < n && b[i] != '"'; i++)
					if (b[i] == '\\')
						i++;
			} else if (b[i] == '{' || b[i] == '[')
				depth++;
			else if (b[i] == '}' || b[i] == ']') {
				if (depth == 0)
					break;
				depth--;
			} else if (b[i] == ',' && depth == 0)
				break;
			i++;
		}
		if (i >= n || b[i] == '}')
			return -1;
		i++;	/* the ',' */
	}
#undef WS
}

/*
 * answer() : the lookup of e ended: every waiting conn gets user (its
 * deferred record is written now), then e is kept for the ttl (cache) or
 * dropped.  why, when not NULL, is logged as event=whoami-failed.
 */
static void
answer(struct px_wm_ent *e, const char *user, int cache, const char *why)
{
	struct px_whoami	*wm = e->wm;
	struct px_conn		*c;
	char			 name[PX_USER_MAX + 8];
	uint64_t		 now = px_now_ms();
	size_t			 i;

	if (why != NULL) {
		wm->failures++;
		PX_MADD(wm->ctx->m->whoami[2], 1);
		px_log_warnx("conn=%llu req=%s event=whoami-failed who=%s "
		    "reason=\"%s\" ms=%llu", e->conn_id, e->reqid, e->who, why,
		    (unsigned long long)(now - e->t0));
	} else {
		px_log_value(name, sizeof(name), user);
		px_log_info("conn=%llu req=%s event=whoami who=%s user=%s "
		    "ms=%llu", e->conn_id, e->reqid, e->who, name,
		    (unsigned long long)(now - e->t0));
	}
	snprintf(e->user, sizeof(e->user), "%s", user);
	px_upget_free(e->ug, e->status == 200);
	e->ug = NULL;
	if (e->timer != NULL)
		event_free(e->timer);
	e->timer = NULL;
	e->expires_ms = now + wm->ctx->cfg->whoami.ttl_ms;
	if (!cache) {
		/* Out of the cache first: a new ask makes a new lookup. */
		for (i = 0; i < wm->n; i++)
			if (wm->ents[i] == e) {
				wm->ents[i] = wm->ents[--wm->n];
				break;
			}
	}
	/*
	 * Still pending while the waiters go on (a resumed conn may end, or
	 * ask again: then it joins this list and is answered here too), so
	 * that nothing evicts e meanwhile.
	 */
	while ((c = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, c, wm_entry);
		c->wm = NULL;
		snprintf(c->user, sizeof(c->user), "%s", e->user);
		px_spool_whoami_done(c);
	}
	e->pending = 0;
	if (!cache)
		free(e);
}

static int
wm_head(void *arg, int status, int gzip, int bad)
{
	struct px_wm_ent	*e = arg;

	(void)gzip;
	e->status = status;
	e->bad = bad || gzip;
	e->blen = 0;
	return 0;
}

static int
wm_body(void *arg, const char *at, size_t len)
{
	struct px_wm_ent	*e = arg;

	if (len > sizeof(e->body) - e->blen)
		return -1;
	memcpy(e->body + e->blen, at, len);
	e->blen += len;
	return 0;
}

static void
wm_done(void *arg)
{
	struct px_wm_ent	*e = arg;
	char			 user[PX_USER_MAX], why[64];

	if (e->status == 401 || e->status == 403) {
		snprintf(why, sizeof(why), "HTTP %d: the registry refused the "
		    "token", e->status);
		answer(e, "", 1, why);
	} else if (e->status != 200) {
		snprintf(why, sizeof(why), "HTTP %d", e->status);
		answer(e, "", 0, why);
	} else if (e->bad)
		answer(e, "", 0, "unexpected content coding");
	else if (px_whoami_username(e->body, e->blen, user,
	    sizeof(user)) == -1)
		answer(e, "", 1, "no username in the answer");
	else
		answer(e, user, 1, NULL);
}

static void
wm_fail(void *arg, int parse, const char *why)
{
	struct px_wm_ent	*e = arg;
	char			 r[200];

	snprintf(r, sizeof(r), "%s%s", parse ? "answer: " : "", parse &&
	    e->blen >= sizeof(e->body) ? "over the size cap" : why);
	e->status = 0;	/* the connection is not reused */
	answer(e, "", 0, r);
}

static void
wm_timer(evutil_socket_t fd, short what, void *arg)
{
	struct px_wm_ent	*e = arg;
	char			 why[64];

	(void)fd;
	(void)what;
	e->status = 0;
	snprintf(why, sizeof(why), "no answer within %u ms",
	    e->wm->ctx->cfg->whoami.timeout_ms);
	answer(e, "", 0, why);
}

static const struct px_upget_ops wm_ops = {
	wm_head, wm_body, wm_done, wm_fail
};

/* slot() : a free entry, evicting the least recently used; NULL if none. */
static struct px_wm_ent *
slot(struct px_whoami *wm, size_t max)
{
	struct px_wm_ent	**ne, *e;
	size_t			 i, lru = (size_t)-1, ncap;

	if (wm->n >= max) {
		for (i = 0; i < wm->n; i++)
			if (!wm->ents[i]->pending && (lru == (size_t)-1 ||
			    wm->ents[i]->used < wm->ents[lru]->used))
				lru = i;
		if (lru == (size_t)-1)
			return NULL;
		wm->evictions++;
		PX_MADD(wm->ctx->m->whoami[3], 1);
		ent_remove(wm, lru);
	}
	if (wm->n == wm->cap) {
		ncap = wm->cap == 0 ? 16 : wm->cap * 2;
		if (ncap > max)
			ncap = max;
		if ((ne = reallocarray(wm->ents, ncap, sizeof(*ne))) == NULL)
			return NULL;
		wm->ents = ne;
		wm->cap = ncap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	TAILQ_INIT(&e->waiters);
	e->wm = wm;
	wm->ents[wm->n++] = e;
	return e;
}

void
px_whoami_start(struct px_conn *conn)
{
	struct px_ctx			*ctx = conn->ctx;
	const struct px_whoami_cfg	*wc = &ctx->cfg->whoami;
	struct px_whoami		*wm = ctx->whoami;
	struct px_wm_ent		*e = NULL;
	const struct px_url		*up = px_conn_up(conn);
	struct timeval			 tv;
	char				 key[sizeof(e->key)], path[PX_URL_MAX + 16];
	const char			*auth;
	uint64_t			 now;
	size_t				 alen, i;

	px_whoami_cancel(conn);
	conn->user[0] = '\0';
	if (wc->off || conn->who[0] == '\0' ||
	    (auth = px_http_head_get(&conn->req, "authorization", &alen)) ==
	    NULL || alen == 0 || memchr(auth, '\r', alen) != NULL ||
	    memchr(auth, '\n', alen) != NULL)
		return;
	if (wm == NULL) {
		if ((wm = calloc(1, sizeof(*wm))) == NULL)
			return;
		wm->ctx = ctx;
		ctx->whoami = wm;
	}
	now = px_now_ms();
	snprintf(key, sizeof(key), "%s %s", conn->who, up->hostport);
	for (i = 0; i < wm->n; i++)
		if (strcmp(wm->ents[i]->key, key) == 0) {
			e = wm->ents[i];
			break;
		}
	if (e != NULL && !e->pending && e->expires_ms > now) {
		wm->hits++;
		PX_MADD(ctx->m->whoami[1], 1);
		e->used = ++wm->uses;
		snprintf(conn->user, sizeof(conn->user), "%s", e->user);
		return;
	}
	if (e == NULL) {
		if ((e = slot(wm, wc->max)) == NULL)
			return;
		snprintf(e->key, sizeof(e->key), "%s", key);
		snprintf(e->who, sizeof(e->who), "%s", conn->who);
	}
	e->used = ++wm->uses;
	if (!e->pending) {
		/* Expired or new: one lookup, whoever asks meanwhile waits. */
		wm->lookups++;
		PX_MADD(ctx->m->whoami[0], 1);
		e->t0 = now;
		e->conn_id = (unsigned long long)conn->id;
		snprintf(e->reqid, sizeof(e->reqid), "%s", conn->reqid);
		e->status = 0;
		snprintf(path, sizeof(path), "%s/-/whoami", up->prefix);
		if ((e->ug = px_upget_new(conn, &wm_ops, e)) == NULL ||
		    (e->timer = evtimer_new(ctx->base, wm_timer, e)) == NULL ||
		    evtimer_add(e->timer, px_tv_ms(&tv, wc->timeout_ms)) == -1 ||
		    px_upget_get(e->ug, path, "User-Agent: pubgate (npm user "
		    "name for the decision record)\r\nAccept: application/json"
		    "\r\nAccept-Encoding: identity\r\n", auth, alen) == -1) {
			e->pending = 1;
			answer(e, "", 0, "cannot ask the registry");
			return;
		}
		e->pending = 1;
	}
	conn->wm = e;
	TAILQ_INSERT_TAIL(&e->waiters, conn, wm_entry);
}

void
px_whoami_cancel(struct px_conn *conn)
{
	if (conn->wm == NULL)
		return;
	TAILQ_REMOVE(&conn->wm->waiters, conn, wm_entry);
	conn->wm = NULL;
}
