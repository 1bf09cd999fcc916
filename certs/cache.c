/*
 * certs/cache.c: the leaf cache.  Owns struct cert_cache: a bounded LRU
 * of minted leaves keyed by the lower-case host name, a hash table over
 * it, and the hit/miss/eviction counters.  A hit costs a hash and a list
 * move, never a signature; a miss signs one leaf (cert_mint_leaf) and, at
 * capacity, evicts the least recently used entry first, so the cache never
 * holds more than its capacity.  Leaves close to their notAfter are
 * minted again on lookup (CERT_RENEW_MARGIN).
 *
 * The served leaf, the shared leaf key and the chain are installed on an
 * SSL with SSL_use_cert_and_key(), which takes its own references, so an
 * entry evicted while a handshake uses it stays alive for that handshake.
 *
 * Depends on OpenSSL and libc only: no libevent, no proxy types, no
 * logging, no globals.  Not thread-safe (one cache per event loop).
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "certs-int.h"

#define CACHE_BUCKETS_MIN	16

struct cache_ent {
	TAILQ_ENTRY(cache_ent)	 ce_lru;	/* head: most recently used */
	struct cache_ent	*ce_next;	/* hash chain */
	uint64_t		 ce_hash;
	X509			*ce_leaf;	/* owned */
	time_t			 ce_not_after;
	char			 ce_host[];	/* lower case, NUL-terminated */
};

TAILQ_HEAD(cache_lru, cache_ent);

struct cert_cache {
	struct cert_mint	*cc_mint;	/* borrowed */
	struct cache_ent	**cc_buckets;
	size_t			 cc_nbuckets;	/* a power of two */
	struct cache_lru	 cc_lru;
	uint64_t		 cc_key[2];	/* hash key, random per cache */
	struct cert_cache_stats	 cc_st;		/* size and capacity included */
};

/*
 * SipHash-2-4 (Aumasson, Bernstein), keyed per cache so that host names
 * chosen by a client cannot be made to collide on purpose.
 */
#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
siphash(const uint64_t key[2], const unsigned char *in, size_t len)
{
	uint64_t	 v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t	 v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t	 v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t	 v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t	 m, b = (uint64_t)len << 56;
	size_t		 i, j;

	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)in[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct cert_cache *
cert_cache_new(struct cert_mint *mint, size_t capacity, struct cert_err *err)
{
	struct cert_cache	*cache;
	size_t			 n = CACHE_BUCKETS_MIN;

	if (capacity == 0)
		capacity = CERT_CACHE_DEFAULT;
	if (capacity > CERT_CACHE_MAX) {
		cert_err_set(err, "cache capacity %zu above the cap of %d",
		    capacity, CERT_CACHE_MAX);
		return NULL;
	}
	while (n < capacity)
		n <<= 1;
	if ((cache = calloc(1, sizeof(*cache))) == NULL ||
	    (cache->cc_buckets = calloc(n, sizeof(*cache->cc_buckets))) ==
	    NULL) {
		free(cache);
		cert_err_set(err, "out of memory");
		return NULL;
	}
	if (RAND_bytes((unsigned char *)cache->cc_key,
	    sizeof(cache->cc_key)) != 1) {
		free(cache->cc_buckets);
		free(cache);
		cert_err_set(err, "no randomness for the cache key");
		return NULL;
	}
	cache->cc_mint = mint;
	cache->cc_nbuckets = n;
	cache->cc_st.capacity = capacity;
	TAILQ_INIT(&cache->cc_lru);
	return cache;
}

static void
ent_free(struct cache_ent *e)
{
	X509_free(e->ce_leaf);
	free(e);
}

void
cert_cache_free(struct cert_cache *cache)
{
	struct cache_ent	*e;

	if (cache == NULL)
		return;
	while ((e = TAILQ_FIRST(&cache->cc_lru)) != NULL) {
		TAILQ_REMOVE(&cache->cc_lru, e, ce_lru);
		ent_free(e);
	}
	free(cache->cc_buckets);
	free(cache);
}

static struct cache_ent **
bucket(struct cert_cache *cache, uint64_t hash)
{
	return &cache->cc_buckets[hash & (cache->cc_nbuckets - 1)];
}

/* evict_lru() : drops the least recently used entry. */
static void
evict_lru(struct cert_cache *cache)
{
	struct cache_ent	*e, **pp;

	if ((e = TAILQ_LAST(&cache->cc_lru, cache_lru)) == NULL)
		return;
	for (pp = bucket(cache, e->ce_hash); *pp != NULL;
	    pp = &(*pp)->ce_next) {
		if (*pp == e) {
			*pp = e->ce_next;
			break;
		}
	}
	TAILQ_REMOVE(&cache->cc_lru, e, ce_lru);
	ent_free(e);
	cache->cc_st.size--;
	cache->cc_st.evictions++;
}

/*
 * renew() : mints a new leaf for an entry close to expiry.  When minting
 * fails the old leaf is kept while it is still valid.  Returns 0 or -1.
 */
static int
renew(struct cert_cache *cache, struct cache_ent *e, time_t now,
    struct cert_err *err)
{
	X509	*x;
	time_t	 na;

	if (cert_mint_leaf(cache->cc_mint, e->ce_host, now, &x, &na, NULL,
	    err) == -1)
		return e->ce_not_after > now ? 0 : -1;
	X509_free(e->ce_leaf);
	e->ce_leaf = x;
	e->ce_not_after = na;
	cache->cc_st.misses++;
	cache->cc_st.renewals++;
	return 0;
}

X509 *
cert_cache_get_at(struct cert_cache *cache, const char *host, time_t now,
    struct cert_err *err)
{
	struct cache_ent	*e, **b;
	char			 norm[CERT_HOST_MAX + 1];
	uint64_t		 h;
	size_t			 len;
	time_t			 ca_end;

	if (cert_mint_host_norm(host, norm, err) == -1)
		return NULL;
	len = strlen(norm);
	h = siphash(cache->cc_key, (const unsigned char *)norm, len);
	b = bucket(cache, h);
	for (e = *b; e != NULL; e = e->ce_next)
		if (e->ce_hash == h && strcmp(e->ce_host, norm) == 0)
			break;

	if (e != NULL) {
		/* Renew when close to expiry, unless the CA ends first. */
		ca_end = cert_ca_not_after(cert_mint_ca(cache->cc_mint));
		if (e->ce_not_after - now < CERT_RENEW_MARGIN &&
		    e->ce_not_after < ca_end) {
			if (renew(cache, e, now, err) == -1)
				return NULL;
		} else if (e->ce_not_after <= now) {
			cert_err_set(err, "the CA certificate has expired");
			return NULL;
		} else
			cache->cc_st.hits++;
		TAILQ_REMOVE(&cache->cc_lru, e, ce_lru);
		TAILQ_INSERT_HEAD(&cache->cc_lru, e, ce_lru);
		return e->ce_leaf;
	}

	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL) {
		cert_err_set(err, "out of memory");
		return NULL;
	}
	if (cert_mint_leaf(cache->cc_mint, norm, now, &e->ce_leaf,
	    &e->ce_not_after, NULL, err) == -1) {
		free(e);
		return NULL;
	}
	cache->cc_st.misses++;
	memcpy(e->ce_host, norm, len + 1);
	e->ce_hash = h;
	if (cache->cc_st.size >= cache->cc_st.capacity)
		evict_lru(cache);
	e->ce_next = *b;
	*b = e;
	TAILQ_INSERT_HEAD(&cache->cc_lru, e, ce_lru);
	cache->cc_st.size++;
	return e->ce_leaf;
}

X509 *
cert_cache_get(struct cert_cache *cache, const char *host,
    struct cert_err *err)
{
	return cert_cache_get_at(cache, host, time(NULL), err);
}

int
cert_cache_use(struct cert_cache *cache, SSL *ssl, const char *host,
    struct cert_err *err)
{
	X509	*x;

	if ((x = cert_cache_get(cache, host, err)) == NULL)
		return -1;
	if (SSL_use_cert_and_key(ssl, x, cert_mint_key(cache->cc_mint),
	    cert_mint_chain(cache->cc_mint), 1) != 1) {
		cert_err_set(err, "cannot install the certificate for %s",
		    host);
		return -1;
	}
	return 0;
}

void
cert_cache_stats(const struct cert_cache *cache, struct cert_cache_stats *st)
{
	*st = cache->cc_st;
}
