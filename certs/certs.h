/*
 * certs/certs.h: the only header of the certificate module that code
 * outside certs/ may include (the proxy's egress listener, `pubgate ca`).
 *
 * certs/ uses OpenSSL only: no libevent, no sockets, no proxy types (the
 * build shadows the libevent headers), it never logs and it has no mutable
 * globals.  It does three things:
 *
 *  - loads the corporate CA (certificate, key, intermediates) into an
 *    opaque struct cert_ca; the CA key never leaves certs/ and is wiped
 *    when the CA is freed (cert_ca_load / cert_ca_free).  The CA must
 *    carry X.509 name constraints limiting the DNS names it may certify
 *    (unless the caller explicitly accepts an unconstrained CA), and no
 *    leaf is ever minted for a host outside them (cert_ca_permits), so a
 *    stolen gateway key cannot impersonate other sites to clients that
 *    enforce name constraints;
 *  - mints short-lived leaf certificates for one host name at a time with
 *    a single pre-generated ECDSA P-256 leaf key (cert_mint_*).  Requests
 *    and replies are plain data (a host name in, DER bytes out), so the
 *    signer could move into its own process later, as relayd's ca.c did;
 *  - keeps the minted leaves in a bounded LRU cache keyed by the lower-case
 *    host name and installs leaf + key + chain on an SSL from the SNI or
 *    certificate callback (cert_cache_*).  A hit costs no signing.
 *
 * The served chain is the leaf, then the issuing CA when it is not
 * self-signed, then every other certificate given with the CA, so a client
 * that trusts only the root still verifies it.
 *
 * Thread safety: none.  Each object belongs to one thread (one event loop
 * per worker); give each worker its own struct cert_mint and cert_cache.
 * A struct cert_ca may be shared by several struct cert_mint of the same
 * thread only.
 *
 * Errors: functions return 0/-1 or a pointer/NULL; the reason goes into a
 * caller-provided struct cert_err (no allocation on the error path).
 */
#ifndef PUBGATE_CERTS_H
#define PUBGATE_CERTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/*
 * Limits, all in one place.  Leaves live CERT_LEAF_DAYS (capped by the
 * CA's notAfter) from CERT_LEAF_BACKDATE seconds ago (clock skew); a cached
 * leaf this close to its end (CERT_RENEW_MARGIN) is minted again.  A cache
 * entry costs about 2.5 KB, so CERT_CACHE_MAX entries cost about 250 MB.
 */
#define CERT_ERRMSG_MAX		200	/* struct cert_err text, with NUL */
#define CERT_HOST_MAX		253	/* a DNS name, no trailing dot */
#define CERT_DER_MAX		4096	/* one minted leaf, DER */
#define CERT_SERIAL_LEN		16	/* random serial, positive */
#define CERT_PEM_MAX		(1024 * 1024)	/* one PEM input file */
#define CERT_CHAIN_MAX		16	/* intermediates served */
#define CERT_LEAF_DAYS		7
#define CERT_LEAF_BACKDATE	3600
#define CERT_RENEW_MARGIN	86400
#define CERT_CACHE_DEFAULT	1000	/* capacity when config says 0 */
#define CERT_CACHE_MAX		100000	/* largest capacity accepted */
#define CERT_CA_DAYS_DEFAULT	365	/* `pubgate ca init` validity */
#define CERT_CA_DAYS_MAX	3650
#define CERT_CA_NAME_MAX	64	/* a CN is at most 64 characters */
#define CERT_NC_MAX		256	/* DNS + IP name constraints per cert */
#define CERT_CA_PERMIT_MAX	128	/* `pubgate ca init` permitted names */

struct cert_err {
	char	 msg[CERT_ERRMSG_MAX];	/* one line, log-safe, no secrets */
};

/*
 * The CA.
 */
struct cert_ca;			/* opaque: CA cert, key, intermediates */

struct cert_ca_conf {
	const char	*cert_file;	/* PEM: CA cert, then intermediates */
	const char	*key_file;	/* PEM: its key, unencrypted */
	const char	*chain_file;	/* PEM: more intermediates, or NULL */
	int		 allow_unconstrained;	/* see cert_ca_load() */
};

/*
 * cert_ca_load() : reads the files named in conf (borrowed until return)
 * and checks that the certificate is a CA that may sign certificates,
 * that it has not expired, that the key matches it, and that its name
 * constraints (and those of every chain certificate) are readable.
 *
 * Unless conf->allow_unconstrained, the signing CA certificate itself must
 * carry a NameConstraints extension with at least one permitted DNS
 * subtree (and no empty one, which would permit every name); a CA without
 * that is refused, since its stolen key could impersonate any site.  With
 * allow_unconstrained such a CA loads (cert_ca_constrained() says 0) and
 * the caller is expected to warn loudly.
 *
 * Returns a new CA owned by the caller (free with cert_ca_free), or NULL
 * with *err set.  Reads files: call it at startup or reload, never on the
 * request path.
 */
struct cert_ca	*cert_ca_load(const struct cert_ca_conf *conf,
		    struct cert_err *err);

/*
 * cert_ca_free() : frees the CA; its key material is wiped.  Every
 * struct cert_mint made from it must be freed first.  NULL is a no-op.
 */
void		 cert_ca_free(struct cert_ca *ca);

/*
 * cert_ca_not_after() : the CA certificate's notAfter, as a time_t.
 */
time_t		 cert_ca_not_after(const struct cert_ca *ca);

/*
 * cert_ca_constrained() : 1 if the signing CA limits DNS names with name
 * constraints (every minted host must fall in its permitted subtrees), 0
 * for a CA loaded with allow_unconstrained that does not.
 */
int		 cert_ca_constrained(const struct cert_ca *ca);

/*
 * cert_ca_permits() : may ca mint a leaf for host?  host is checked and
 * normalised as by cert_mint_host_norm.  For a constrained CA the host
 * must fall in one of the signing certificate's permitted subtrees of its
 * type (DNS name or IP address) and in none of its excluded ones; the name
 * constraints of every chain certificate apply too, as RFC 5280 reads
 * them.  Returns 0, or -1 with *err saying why (and which DNS names are
 * permitted).  Pure: no signing, no allocation.
 */
int		 cert_ca_permits(const struct cert_ca *ca, const char *host,
		    struct cert_err *err);

/*
 * cert_ca_describe() : the signing CA's permitted DNS subtrees, comma-
 * separated ("" when unconstrained), into buf of len bytes (truncated).
 */
void		 cert_ca_describe(const struct cert_ca *ca, char *buf,
		    size_t len);

/* What `pubgate ca init` asks for; plain data. */
struct cert_ca_init_req {
	const char	*dir;		/* created (0700) if it does not exist */
	const char	*name;		/* subject CN; NULL means the default */
	int		 days;		/* 1..CERT_CA_DAYS_MAX; 0 means default */
	const char *const *permit;	/* DNS names the CA may certify */
	size_t		 npermit;	/* 0: CERT_CA_PERMIT_DEFAULT alone */
};

#define CERT_CA_NAME_DEFAULT	"pubgate evaluation CA"
#define CERT_CA_CERT_NAME	"ca.pem"
#define CERT_CA_KEY_NAME	"ca-key.pem"
#define CERT_CA_PERMIT_DEFAULT	"registry.npmjs.org"

/*
 * cert_ca_init() : creates an evaluation root CA (ECDSA P-256,
 * CA:TRUE with pathlen:0, keyCertSign|cRLSign) as req->dir/ca.pem (0644)
 * and req->dir/ca-key.pem (0600).  The CA carries a critical
 * NameConstraints extension: permitted DNS subtrees = req->permit (each a
 * host name, lower-cased; "example.com" covers it and its subdomains,
 * ".example.com" its subdomains only; at most CERT_CA_PERMIT_MAX,
 * duplicates dropped), excluded iPAddress 0.0.0.0/0 and ::/0 (no leaf for
 * an IP address).  Never overwrites: if either file exists, nothing is
 * written.  Returns 0, or -1 with *err set (and no file left behind).
 */
int		 cert_ca_init(const struct cert_ca_init_req *req,
		    struct cert_err *err);

/*
 * Minting.
 */
struct cert_mint;		/* opaque: a CA reference and one leaf key */

struct cert_mint_req {
	char	 host[CERT_HOST_MAX + 1];	/* DNS name or IP literal */
	time_t	 now;				/* 0: the current time */
};

struct cert_mint_reply {
	unsigned char	 der[CERT_DER_MAX];	/* the leaf, DER */
	size_t		 der_len;
	unsigned char	 serial[CERT_SERIAL_LEN];
	time_t		 not_before;
	time_t		 not_after;
	char		 host[CERT_HOST_MAX + 1];	/* normalised (lower case) */
};

/*
 * cert_mint_new() : a minting context signing with ca (borrowed: it must
 * outlive the context) and one freshly generated ECDSA P-256 leaf key,
 * shared by every leaf it mints.  Returns NULL with *err set on failure.
 */
struct cert_mint	*cert_mint_new(const struct cert_ca *ca,
			    struct cert_err *err);

/*
 * cert_mint_free() : frees the context and wipes the leaf key.  Every
 * struct cert_cache using it must be freed first.  NULL is a no-op.
 */
void		 cert_mint_free(struct cert_mint *mint);

/*
 * cert_mint_sign() : mints one leaf for req->host: CN and SAN = the host
 * (SAN IP for an IP literal), validity now - CERT_LEAF_BACKDATE to now +
 * CERT_LEAF_DAYS (capped by the CA's notAfter), a random positive 128-bit
 * serial, SKID/AKID, CA:FALSE, digitalSignature, serverAuth, signed with
 * the CA key.  A host the CA's name constraints do not permit
 * (cert_ca_permits) is refused before anything is signed, and the signed
 * leaf is checked again by OpenSSL's NAME_CONSTRAINTS_check against every
 * constrained CA certificate of the chain.  req and reply are borrowed
 * until return.  Returns 0, or -1 with *err set (bad host name, host
 * outside the constraints, expired CA, OpenSSL failure).
 */
int		 cert_mint_sign(struct cert_mint *mint,
		    const struct cert_mint_req *req,
		    struct cert_mint_reply *reply, struct cert_err *err);

/* cert_mint_count() : how many leaves this context has signed. */
uint64_t	 cert_mint_count(const struct cert_mint *mint);

/*
 * cert_mint_host_norm() : checks a host name (DNS name or IP literal, no
 * port, no trailing dot, no wildcard) and writes it in lower case to out
 * (CERT_HOST_MAX + 1 bytes).  Returns 0, or -1 with *err set.  Pure.
 */
int		 cert_mint_host_norm(const char *host, char *out,
		    struct cert_err *err);

/*
 * The cache.
 */
struct cert_cache;		/* opaque: bounded LRU, host -> leaf */

struct cert_cache_stats {
	uint64_t	 hits;		/* answered without signing */
	uint64_t	 misses;	/* signed a new leaf */
	uint64_t	 renewals;	/* misses because the cached leaf was expiring */
	uint64_t	 evictions;	/* least recently used entries dropped */
	size_t		 size;		/* entries now; never above capacity */
	size_t		 capacity;
};

/*
 * cert_cache_new() : an empty cache of at most capacity leaves (0 means
 * CERT_CACHE_DEFAULT; above CERT_CACHE_MAX is an error) minted by mint
 * (borrowed: it must outlive the cache).  Returns NULL with *err set.
 */
struct cert_cache	*cert_cache_new(struct cert_mint *mint, size_t capacity,
			    struct cert_err *err);

/* cert_cache_free() : frees every cached leaf.  NULL is a no-op. */
void		 cert_cache_free(struct cert_cache *cache);

/*
 * cert_cache_get() : the leaf for host (case-insensitive), minted on a
 * miss, and marked most recently used.  Returns a borrowed X509, valid
 * until the next cert_cache_get/cert_cache_use or cert_cache_free (which
 * may evict it; X509_up_ref it to keep it longer), or NULL with *err set.
 */
X509		*cert_cache_get(struct cert_cache *cache, const char *host,
		    struct cert_err *err);

/*
 * cert_cache_use() : for the SNI (servername) or certificate callback:
 * installs the leaf for host, the shared leaf key and the chain on ssl
 * (borrowed; it takes its own references).  Returns 0, or -1 with *err set.
 */
int		 cert_cache_use(struct cert_cache *cache, SSL *ssl,
		    const char *host, struct cert_err *err);

/* cert_cache_stats() : copies the counters into *st. */
void		 cert_cache_stats(const struct cert_cache *cache,
		    struct cert_cache_stats *st);

#endif
