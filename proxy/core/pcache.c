/*
 * proxy/core/pcache.c: the packument cache, revalidated on every use.
 *
 * A packument whose tarball URLs the gate rewrites (fwd.c) costs the gate
 * an inflate, a rewrite and a deflate per request: ~27 ms of CPU for a
 * 10 MB typescript-like document, where a proxy that passes bytes spends
 * ~1 ms.  This worker-local cache keeps what the gate sent for such a
 * response (head lines and body, as they went out) with the upstream's
 * ETag.  The next anonymous request for the same document asks the
 * upstream with If-None-Match; only a 304 lets the kept answer go out,
 * so what the client gets is never staler than without the cache.  A 200
 * is rewritten as before and replaces the entry.
 *
 * Keyed by everything the answer depends on: the request target, the
 * URL the tarballs are rewritten to (from public_url or the client's
 * Host), the client's Accept (full or abbreviated documents), whether it
 * takes gzip, and the SHA-256 of its Authorization value if any: an
 * entry filled for one credential is only sent to the same one, after
 * the upstream, asked with it, said 304.  Requests with Cookie or with
 * conditionals of their own never use it; answers without exactly one
 * ETag, or with Set-Cookie, Cache-Control private/no-store or a Vary
 * beyond Accept and Accept-Encoding, are never kept (fwd.c decides).
 *
 * Memory: at most max bytes of entries (keys, heads, bodies) per worker,
 * least recently used evicted first; an entry being filled counts from
 * its first byte and is dropped past entry_max.  Entries are reference
 * counted: one sent by evbuffer_add_reference() stays alive until the
 * client's output has taken it, even when evicted meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy-int.h"

#define PC_BUCKETS	1024

struct px_pc_ent {
	TAILQ_ENTRY(px_pc_ent)	 lru;		/* in the cache, newest first */
	struct px_pc_ent	*next;		/* hash chain */
	struct px_pcache	*pc;
	uint32_t		 hash;
	int			 refs;
	int			 cached;	/* in the table and lru */
	int			 gzip;		/* body is gzip */
	char			*key;
	size_t			 keylen;
	char			 etag[PX_PC_ETAG_MAX];
	size_t			 etaglen;
	char			*head;		/* header lines, CRLF each */
	size_t			 headlen;
	char			*body;
	size_t			 bodylen, bodycap;
	size_t			 bytes;		/* counted against max */
};
TAILQ_HEAD(px_pc_lru, px_pc_ent);

struct px_pcache {
	struct px_ctx		*ctx;
	struct px_pc_ent	*tab[PC_BUCKETS];
	struct px_pc_lru	 lru;
	size_t			 bytes;		/* entries, filling ones too */
	size_t			 live;		/* entries not yet freed */
	int			 closed;	/* px_pcache_free() ran */
};

static uint32_t
pc_hash(const char *p, size_t n)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	while (n-- > 0) {
		h ^= (unsigned char)*p++;
		h *= 16777619u;
	}
	return h;
}

static struct px_pcache *
pc_get(struct px_ctx *ctx)
{
	if (ctx->pcache == NULL && !ctx->cfg->pcache.off) {
		if ((ctx->pcache = calloc(1, sizeof(*ctx->pcache))) == NULL)
			return NULL;
		ctx->pcache->ctx = ctx;
		TAILQ_INIT(&ctx->pcache->lru);
	}
	return ctx->pcache;
}

static void
pc_set_gauge(struct px_pcache *pc)
{
	if (pc->ctx->m != NULL)
		PX_MSET(pc->ctx->m->pcache_bytes, pc->bytes);
}

/* ent_free() : the last reference went. */
static void
ent_free(struct px_pc_ent *e)
{
	struct px_pcache	*pc = e->pc;

	pc->bytes -= e->bytes;
	pc->live--;
	if (!pc->closed)
		pc_set_gauge(pc);
	else if (pc->live == 0)
		free(pc);	/* the last entry of a freed cache */
	free(e->key);
	free(e->head);
	free(e->body);
	free(e);
}

void
px_pcache_unref(struct px_pc_ent *e)
{
	if (e != NULL && --e->refs == 0)
		ent_free(e);
}

/* unlink_ent() : out of the table and the LRU; the cache's ref dropped. */
static void
unlink_ent(struct px_pcache *pc, struct px_pc_ent *e)
{
	struct px_pc_ent	**pp;

	for (pp = &pc->tab[e->hash % PC_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	TAILQ_REMOVE(&pc->lru, e, lru);
	e->cached = 0;
	e->next = NULL;
	px_pcache_unref(e);
}

/* find() : the entry of key, or NULL. */
static struct px_pc_ent *
find(struct px_pcache *pc, const char *key, size_t keylen, uint32_t h)
{
	struct px_pc_ent	*e;

	for (e = pc->tab[h % PC_BUCKETS]; e != NULL; e = e->next)
		if (e->hash == h && e->keylen == keylen &&
		    memcmp(e->key, key, keylen) == 0)
			return e;
	return NULL;
}

/* evict() : least recently used entries out until need more bytes fit. */
static void
evict(struct px_pcache *pc, size_t need)
{
	struct px_pc_ent	*e;
	size_t			 max = pc->ctx->cfg->pcache.max_bytes;

	while (pc->bytes + need > max &&
	    (e = TAILQ_LAST(&pc->lru, px_pc_lru)) != NULL) {
		PX_MADD(pc->ctx->m->pcache[PX_PC_EVICT], 1);
		unlink_ent(pc, e);
	}
}

struct px_pc_ent *
px_pcache_get(struct px_ctx *ctx, const char *key, size_t keylen)
{
	struct px_pcache	*pc;
	struct px_pc_ent	*e;

	if ((pc = pc_get(ctx)) == NULL)
		return NULL;
	if ((e = find(pc, key, keylen, pc_hash(key, keylen))) == NULL)
		return NULL;	/* a miss only if a packument comes: fwd.c */
	TAILQ_REMOVE(&pc->lru, e, lru);
	TAILQ_INSERT_HEAD(&pc->lru, e, lru);
	e->refs++;
	return e;
}

const char *
px_pcache_etag(const struct px_pc_ent *e, size_t *len)
{
	*len = e->etaglen;
	return e->etag;
}

/*
 * grow() : room for n more bytes in e's body, e within entry_max and the
 * cache within max (older entries evicted for it); 0 or -1.
 */
static int
grow(struct px_pc_ent *e, size_t n)
{
	struct px_pcache	*pc = e->pc;
	size_t			 cap, want = e->bodylen + n;
	size_t			 fixed = e->bytes - e->bodycap;
	size_t			 emax = pc->ctx->cfg->pcache.entry_max;
	char			*p;

	if (want <= e->bodycap)
		return 0;
	if (fixed + want > emax)
		return -1;
	cap = e->bodycap ? e->bodycap : 16384;
	while (cap < want)
		cap *= 2;
	if (fixed + cap > emax)
		cap = emax - fixed;
	evict(pc, cap - e->bodycap);
	if (pc->bytes + cap - e->bodycap > pc->ctx->cfg->pcache.max_bytes)
		return -1;	/* other fills hold the room */
	if ((p = realloc(e->body, cap)) == NULL)
		return -1;
	pc->bytes += cap - e->bodycap;
	e->bytes += cap - e->bodycap;
	e->body = p;
	e->bodycap = cap;
	pc_set_gauge(pc);
	return 0;
}

struct px_pc_ent *
px_pcache_fill_start(struct px_ctx *ctx, const char *key, size_t keylen,
    const char *etag, size_t etaglen, int gzip, const char *head,
    size_t headlen)
{
	struct px_pcache	*pc;
	struct px_pc_ent	*e;
	size_t			 bytes;

	if ((pc = pc_get(ctx)) == NULL || etaglen == 0 ||
	    etaglen >= PX_PC_ETAG_MAX)
		return NULL;
	bytes = sizeof(*e) + keylen + headlen;
	if (bytes > ctx->cfg->pcache.entry_max)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->key = malloc(keylen)) == NULL ||
	    (e->head = malloc(headlen ? headlen : 1)) == NULL) {
		free(e->key);
		free(e);
		return NULL;
	}
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	e->hash = pc_hash(key, keylen);
	memcpy(e->head, head, headlen);
	e->headlen = headlen;
	memcpy(e->etag, etag, etaglen);
	e->etaglen = etaglen;
	e->gzip = gzip;
	e->refs = 1;		/* the filling conn's */
	e->pc = pc;
	e->bytes = bytes;
	evict(pc, bytes);
	if (pc->bytes + bytes > ctx->cfg->pcache.max_bytes) {
		free(e->key);
		free(e->head);
		free(e);
		return NULL;
	}
	pc->bytes += bytes;
	pc->live++;
	pc_set_gauge(pc);
	return e;
}

int
px_pcache_fill_body(struct px_pc_ent *e, struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);

	if (n == 0)
		return 0;
	if (grow(e, n) == -1)
		return -1;
	if (evbuffer_copyout(b, e->body + e->bodylen, n) != (ev_ssize_t)n)
		return -1;
	e->bodylen += n;
	return 0;
}

void
px_pcache_fill_done(struct px_pc_ent *e)
{
	struct px_pcache	*pc = e->pc;
	struct px_pc_ent	*old, **bucket;
	char			*p;

	if (pc->closed) {
		px_pcache_unref(e);
		return;
	}
	/* The doubling's slack is given back. */
	if (e->bodylen > 0 && e->bodylen < e->bodycap &&
	    (p = realloc(e->body, e->bodylen)) != NULL) {
		pc->bytes -= e->bodycap - e->bodylen;
		e->bytes -= e->bodycap - e->bodylen;
		e->body = p;
		e->bodycap = e->bodylen;
		pc_set_gauge(pc);
	}
	if ((old = find(pc, e->key, e->keylen, e->hash)) != NULL)
		unlink_ent(pc, old);
	bucket = &pc->tab[e->hash % PC_BUCKETS];
	e->next = *bucket;
	*bucket = e;
	TAILQ_INSERT_HEAD(&pc->lru, e, lru);
	e->cached = 1;
	PX_MADD(pc->ctx->m->pcache[PX_PC_STORE], 1);
	/* The cache keeps the filler's reference. */
}

void
px_pcache_fill_abort(struct px_pc_ent *e)
{
	px_pcache_unref(e);
}

static void
ref_done(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	px_pcache_unref(arg);
}

int
px_pcache_serve(struct px_pc_ent *e, const char **head, size_t *headlen,
    struct evbuffer *body, int *gzip, size_t *len)
{
	*gzip = e->gzip;
	*len = e->bodylen;
	*head = e->head;
	*headlen = e->headlen;
	if (e->bodylen == 0)
		return 0;
	e->refs++;
	if (evbuffer_add_reference(body, e->body, e->bodylen, ref_done, e) ==
	    -1) {
		e->refs--;
		return -1;
	}
	PX_MADD(e->pc->ctx->m->pcache[PX_PC_HIT], 1);
	return 0;
}

void
px_pcache_free(struct px_ctx *ctx)
{
	struct px_pcache	*pc = ctx->pcache;
	struct px_pc_ent	*e;

	if (pc == NULL)
		return;
	ctx->pcache = NULL;
	while ((e = TAILQ_FIRST(&pc->lru)) != NULL)
		unlink_ent(pc, e);
	/* Entries still referenced (being sent or filled) free it last. */
	pc->closed = 1;
	if (pc->live == 0)
		free(pc);
}

void
px_pcache_metrics(const struct px_ctx *ctx, const struct px_metrics *sum,
    FILE *f)
{
	if (ctx->cfg->pcache.off)
		return;
	fprintf(f, "# HELP pubgate_packument_cache_hits_total Rewritten "
	    "packuments sent from the cache after the upstream answered 304.\n"
	    "# TYPE pubgate_packument_cache_hits_total counter\n"
	    "pubgate_packument_cache_hits_total %llu\n"
	    "# HELP pubgate_packument_cache_misses_total Cacheable packument "
	    "requests with nothing kept for them, answered with a packument "
	    "the gate rewrote.\n"
	    "# TYPE pubgate_packument_cache_misses_total counter\n"
	    "pubgate_packument_cache_misses_total %llu\n"
	    "# HELP pubgate_packument_cache_stores_total Rewritten answers "
	    "kept (new, or replacing a changed one).\n"
	    "# TYPE pubgate_packument_cache_stores_total counter\n"
	    "pubgate_packument_cache_stores_total %llu\n"
	    "# HELP pubgate_packument_cache_evictions_total Entries evicted "
	    "at packument_cache.max.\n"
	    "# TYPE pubgate_packument_cache_evictions_total counter\n"
	    "pubgate_packument_cache_evictions_total %llu\n"
	    "# HELP pubgate_packument_cache_bytes Memory the packument cache "
	    "holds, over all workers.\n"
	    "# TYPE pubgate_packument_cache_bytes gauge\n"
	    "pubgate_packument_cache_bytes %llu\n",
	    (unsigned long long)sum->pcache[PX_PC_HIT],
	    (unsigned long long)sum->pcache[PX_PC_MISS],
	    (unsigned long long)sum->pcache[PX_PC_STORE],
	    (unsigned long long)sum->pcache[PX_PC_EVICT],
	    (unsigned long long)sum->pcache_bytes);
}
