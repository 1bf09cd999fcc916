/*
 * tests/unit/certs/test_cache.c: certs/cache.c.  A hit hands back the same
 * leaf and signs nothing (cert_mint_count); at capacity the least recently
 * used entry goes; the size never exceeds the capacity; expiring leaves
 * are minted again; and a real TLS handshake over a BIO pair, with the
 * server choosing its leaf in the SNI callback through cert_cache_use,
 * verifies on a client that trusts only the root, the second time from
 * the cache.  Each case runs in its own process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "certs_test.h"
#include "certs-int.h"

static struct cert_cache *
cache_new(struct ca_fx *f, size_t cap)
{
	struct cert_cache	*c;
	struct cert_err		 err = { "" };

	if ((c = cert_cache_new(f->mint, cap, &err)) == NULL)
		fail_msg("cert_cache_new: %s", err.msg);
	return c;
}

static X509 *
get(struct cert_cache *c, const char *host)
{
	struct cert_err	 err = { "" };
	X509		*x;

	if ((x = cert_cache_get(c, host, &err)) == NULL)
		fail_msg("cert_cache_get(%s): %s", host, err.msg);
	return x;
}

static void
hit_no_sign(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 10);
	struct cert_cache_stats	 st;
	X509			*a, *b;

	a = get(c, "registry.npmjs.org");
	assert_int_equal(cert_mint_count(f->mint), 1);
	assert_int_equal(X509_check_host(a, "registry.npmjs.org", 0, 0,
	    NULL), 1);
	b = get(c, "registry.npmjs.org");
	assert_ptr_equal(a, b);
	b = get(c, "REGISTRY.npmjs.ORG");	/* keyed by the lower-case name */
	assert_ptr_equal(a, b);
	assert_int_equal(cert_mint_count(f->mint), 1);
	cert_cache_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.evictions, 0);
	assert_int_equal(st.size, 1);
	assert_int_equal(st.capacity, 10);

	b = get(c, "registry.yarnpkg.com");
	assert_ptr_not_equal(a, b);
	assert_int_equal(cert_mint_count(f->mint), 2);
	cert_cache_free(c);
	cert_cache_free(NULL);
	ca_fx_free(f);
}

static void
lru_eviction(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 3);
	struct cert_cache_stats	 st;
	X509			*a, *c1, *d;

	a = get(c, "a.example");
	get(c, "b.example");
	c1 = get(c, "c.example");
	assert_ptr_equal(get(c, "a.example"), a);	/* a: most recent */
	d = get(c, "d.example");			/* evicts b */
	assert_int_equal(cert_mint_count(f->mint), 4);
	cert_cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.size, 3);

	/* a, c and d are still there: no signing. */
	assert_ptr_equal(get(c, "a.example"), a);
	assert_ptr_equal(get(c, "c.example"), c1);
	assert_ptr_equal(get(c, "d.example"), d);
	assert_int_equal(cert_mint_count(f->mint), 4);

	/* b was the one evicted: it is signed again, evicting a. */
	get(c, "b.example");
	assert_int_equal(cert_mint_count(f->mint), 5);
	get(c, "c.example");
	get(c, "d.example");
	assert_int_equal(cert_mint_count(f->mint), 5);
	get(c, "a.example");
	assert_int_equal(cert_mint_count(f->mint), 6);
	cert_cache_stats(c, &st);
	assert_int_equal(st.evictions, 3);
	assert_int_equal(st.size, 3);
	assert_int_equal(st.misses, 6);
	assert_int_equal(st.hits, 6);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
size_bound(void **state)
{
	enum { CAP = 16, HOSTS = 200, ROUNDS = 600 };
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c = cache_new(f, CAP);
	struct cert_cache_stats	 st;
	char			 host[64];
	unsigned int		 seed = 12345;
	int			 i;

	for (i = 0; i < ROUNDS; i++) {
		/* Mostly a hot set of 8, sometimes one of 200. */
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) % 4 == 0)
			snprintf(host, sizeof(host), "cold%u.example",
			    (seed >> 8) % HOSTS);
		else
			snprintf(host, sizeof(host), "hot%u.example",
			    (seed >> 8) % 8);
		get(c, host);
		cert_cache_stats(c, &st);
		assert_true(st.size <= CAP);
		assert_int_equal(st.hits + st.misses, i + 1);
		assert_int_equal(st.misses, cert_mint_count(f->mint));
		assert_int_equal(st.size + st.evictions, st.misses);
	}
	cert_cache_stats(c, &st);
	assert_int_equal(st.size, CAP);
	assert_true(st.evictions > 0);
	/* The hot set stays cached: far fewer signatures than lookups. */
	assert_true(st.hits > ROUNDS / 2);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
capacity_limits(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c;
	struct cert_cache_stats	 st;
	struct cert_err		 err;

	assert_non_null(c = cert_cache_new(f->mint, 0, &err));
	cert_cache_stats(c, &st);
	assert_int_equal(st.capacity, CERT_CACHE_DEFAULT);
	cert_cache_free(c);
	assert_non_null(c = cert_cache_new(f->mint, CERT_CACHE_MAX, &err));
	cert_cache_free(c);
	assert_null(cert_cache_new(f->mint, CERT_CACHE_MAX + 1, &err));
	assert_non_null(strstr(err.msg, "above the cap"));
	/* Capacity 1: every new host evicts the previous one. */
	c = cache_new(f, 1);
	get(c, "a.example");
	get(c, "b.example");
	get(c, "b.example");
	cert_cache_stats(c, &st);
	assert_int_equal(st.size, 1);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.hits, 1);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
bad_host(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 4);
	struct cert_cache_stats	 st;
	struct cert_err		 err = { "" };

	assert_null(cert_cache_get(c, "*.npmjs.org", &err));
	assert_true(err.msg[0] != '\0');
	assert_null(cert_cache_get(c, "", &err));
	cert_cache_stats(c, &st);
	assert_int_equal(st.size, 0);
	assert_int_equal(st.misses, 0);
	assert_int_equal(cert_mint_count(f->mint), 0);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
renewal(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 4);
	struct cert_cache_stats	 st;
	struct cert_err		 err;
	time_t			 now = time(NULL), na;
	X509			*a, *b;

	assert_non_null(a = cert_cache_get_at(c, "a.example", now, &err));
	/* Well before expiry: a hit. */
	assert_ptr_equal(cert_cache_get_at(c, "a.example", now + 5 * DAY,
	    &err), a);
	assert_int_equal(cert_mint_count(f->mint), 1);
	/* Within the margin: a new leaf, valid from then on. */
	b = cert_cache_get_at(c, "a.example",
	    now + CERT_LEAF_DAYS * DAY - CERT_RENEW_MARGIN / 2, &err);
	assert_non_null(b);
	assert_int_equal(cert_mint_count(f->mint), 2);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(b), &na), 0);
	assert_true(na > now + CERT_LEAF_DAYS * DAY);
	cert_cache_stats(c, &st);
	assert_int_equal(st.renewals, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.size, 1);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
no_renewal_past_ca(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 2 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 4);
	struct cert_err		 err;
	time_t			 now = time(NULL);
	X509			*a;

	/* The CA ends within the margin: re-minting would not help. */
	assert_non_null(a = cert_cache_get_at(c, "a.example", now, &err));
	assert_ptr_equal(cert_cache_get_at(c, "a.example", now + DAY + 3600,
	    &err), a);
	assert_int_equal(cert_mint_count(f->mint), 1);
	/* Past the CA's end nothing is served. */
	assert_null(cert_cache_get_at(c, "a.example", now + 3 * DAY, &err));
	assert_non_null(strstr(err.msg, "expired"));
	assert_null(cert_cache_get_at(c, "b.example", now + 3 * DAY, &err));
	cert_cache_free(c);
	ca_fx_free(f);
}

/* The server's SNI callback, as the egress listener will write it. */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct cert_cache	*c = arg;
	struct cert_err		 err;
	const char		*name;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || cert_cache_use(c, ssl, name, &err) == -1) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* One TLS connection over a BIO pair, driven step by step. */
struct hs {
	SSL_CTX		*sctx, *cctx;
	SSL		*s, *cl;
	int		 rs, rc;	/* last SSL_do_handshake results */
	int		 failed;
};

/*
 * hs_start() : a client that trusts only root and asks for host, and a
 * server whose SNI callback uses the cache.  Nothing is sent yet.
 */
static struct hs *
hs_start(struct cert_cache *c, X509 *root, const char *host)
{
	struct hs	*h;
	BIO		*sb, *cb;

	assert_non_null(h = calloc(1, sizeof(*h)));
	assert_non_null(h->sctx = SSL_CTX_new(TLS_server_method()));
	SSL_CTX_set_tlsext_servername_callback(h->sctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(h->sctx, c);
	assert_non_null(h->cctx = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_verify(h->cctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(h->cctx),
	    root), 1);
	assert_non_null(h->s = SSL_new(h->sctx));
	assert_non_null(h->cl = SSL_new(h->cctx));
	assert_int_equal(SSL_set_tlsext_host_name(h->cl, host), 1);
	assert_int_equal(SSL_set1_host(h->cl, host), 1);
	assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(h->s, sb, sb);
	SSL_set_bio(h->cl, cb, cb);
	SSL_set_accept_state(h->s);
	SSL_set_connect_state(h->cl);
	return h;
}

static int
hs_side(SSL *ssl, int *r)
{
	int	 e;

	if (*r == 1 || (*r = SSL_do_handshake(ssl)) == 1)
		return 0;
	e = SSL_get_error(ssl, *r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* hs_run() : at most steps rounds of client then server. */
static void
hs_run(struct hs *h, int steps)
{
	while (steps-- > 0 && !h->failed && (h->rs != 1 || h->rc != 1))
		if (hs_side(h->cl, &h->rc) == -1 || hs_side(h->s, &h->rs) == -1)
			h->failed = 1;
}

/*
 * hs_end() : finishes the handshake and frees it.  Returns 0 when both
 * sides completed and the client verified the server; *chain_len is the
 * length of the chain the server sent (leaf included), *cn its CN.
 */
static int
hs_end(struct hs *h, int *chain_len, char *cn, size_t cnlen)
{
	X509	*peer;
	int	 ok = -1;

	hs_run(h, 50);
	if (!h->failed && h->rs == 1 && h->rc == 1 &&
	    SSL_get_verify_result(h->cl) == X509_V_OK) {
		*chain_len = sk_X509_num(SSL_get_peer_cert_chain(h->cl));
		peer = SSL_get0_peer_certificate(h->cl);
		if (cn != NULL)
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
			    NID_commonName, cn, (int)cnlen);
		ok = 0;
	}
	ERR_clear_error();
	SSL_free(h->s);
	SSL_free(h->cl);
	SSL_CTX_free(h->sctx);
	SSL_CTX_free(h->cctx);
	free(h);
	return ok;
}

static int
handshake(struct cert_cache *c, X509 *root, const char *host,
    int *chain_len)
{
	return hs_end(hs_start(c, root, host), chain_len, NULL, 0);
}

static void
tls_handshake(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 100 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 4);
	struct cert_cache_stats	 st;
	int			 n = 0;

	/* Leaf + intermediate on the wire; the client holds the root. */
	assert_int_equal(handshake(c, f->root, "registry.npmjs.org", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cert_mint_count(f->mint), 1);
	/* The second connection is served from the cache. */
	assert_int_equal(handshake(c, f->root, "registry.npmjs.org", &n), 0);
	assert_int_equal(cert_mint_count(f->mint), 1);
	cert_cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	cert_cache_free(c);
	ca_fx_free(f);
}

static void
tls_refusals(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 100 * DAY, 0);
	struct ca_fx		*other = ca_fx_new(0, 100 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 4);
	int			 n = 0;

	/* A client that trusts another root refuses the leaf. */
	assert_int_equal(handshake(c, other->root, "registry.npmjs.org", &n),
	    -1);
	/* A name the cache refuses ends the handshake. */
	assert_int_equal(handshake(c, f->root, "bad..name", &n), -1);
	cert_cache_free(c);
	ca_fx_free(other);
	ca_fx_free(f);
}

static void
tls_evict_midway(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 100 * DAY, 0);
	struct cert_cache	*c = cache_new(f, 1);
	struct cert_cache_stats	 st;
	struct hs		*h;
	char			 cn[128] = "";
	int			 n = 0;

	/*
	 * The server has chosen a.example's leaf when b.example evicts it
	 * (and frees the cache's reference): the SSL holds its own, so the
	 * handshake still completes with the right leaf.
	 */
	h = hs_start(c, f->root, "a.example");
	hs_run(h, 1);
	get(c, "b.example");
	cert_cache_stats(c, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(hs_end(h, &n, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "a.example");
	/* With the cache freed too. */
	h = hs_start(c, f->root, "b.example");
	hs_run(h, 1);
	cert_cache_free(c);
	assert_int_equal(hs_end(h, &n, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "b.example");
	ca_fx_free(f);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hit_no_sign),
		cmocka_unit_test(lru_eviction),
		cmocka_unit_test(size_bound),
		cmocka_unit_test(capacity_limits),
		cmocka_unit_test(bad_host),
		cmocka_unit_test(renewal),
		cmocka_unit_test(no_renewal_past_ca),
		cmocka_unit_test(tls_handshake),
		cmocka_unit_test(tls_refusals),
		cmocka_unit_test(tls_evict_midway),
	};

	return certs_test_run("certs_cache", tests,
	    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
