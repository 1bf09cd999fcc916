/*
 * certs/certs-int.h: declarations shared by the files of certs/ and its
 * unit tests, never by code outside certs/.  The accessors hand out
 * borrowed OpenSSL objects that stay inside the module (the CA key above
 * all): callers outside certs/ only ever see certs.h.
 */
#ifndef PUBGATE_CERTS_INT_H
#define PUBGATE_CERTS_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs.h"

/* ca.c */

/*
 * cert_err_set() : formats a message into *err (err may be NULL) and, if
 * OpenSSL queued an error, appends its reason; always clears the queue so
 * that one failure is never reported against another.
 */
void		 cert_err_set(struct cert_err *err, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Borrowed views of the CA, valid until cert_ca_free(). */
X509		*cert_ca_cert(const struct cert_ca *ca);
EVP_PKEY	*cert_ca_key(const struct cert_ca *ca);
const EVP_MD	*cert_ca_md(const struct cert_ca *ca);	/* NULL for EdDSA */
STACK_OF(X509)	*cert_ca_chain(const struct cert_ca *ca); /* served after a leaf */
time_t		 cert_ca_not_before(const struct cert_ca *ca);

/*
 * cert_asn1_time() : an ASN1_TIME as a time_t (UTC).  Returns 0, or -1
 * when the time cannot be represented.
 */
int		 cert_asn1_time(const ASN1_TIME *t, time_t *out);

/*
 * cert_serial_set() : gives x a random positive serial of CERT_SERIAL_LEN
 * bytes, also copied to out (may be NULL).  Returns 0 or -1.
 */
int		 cert_serial_set(X509 *x, unsigned char *out);

/*
 * cert_ext_add() : adds extension nid with the openssl.cnf-style value to
 * x, issued by issuer (may be x itself).  Returns 0 or -1.
 */
int		 cert_ext_add(X509 *x, X509 *issuer, int nid, const char *value);

/*
 * cert_ext_make() : the same extension as a new object owned by the
 * caller (X509_EXTENSION_free), or NULL.
 */
X509_EXTENSION	*cert_ext_make(X509 *x, X509 *issuer, int nid,
		    const char *value);

/* nc.c */

struct cert_nc;			/* one certificate's name constraints */

/*
 * cert_nc_parse() : x's NameConstraints extension.  Returns 0 with *out a
 * new struct owned by the caller (NULL when x has none), or -1 with *err
 * set (undecodable or repeated extension, a subtree with a minimum or
 * maximum, an unreadable DNS or IP subtree, more than CERT_NC_MAX).
 */
int		 cert_nc_parse(X509 *x, struct cert_nc **out,
		    struct cert_err *err);
void		 cert_nc_free(struct cert_nc *nc);

/* 1 if nc has permitted DNS subtrees and none of them is empty. */
int		 cert_nc_dns_limited(const struct cert_nc *nc);
/* 1 if the extension was marked critical. */
int		 cert_nc_critical(const struct cert_nc *nc);

/*
 * cert_nc_check() : does host (normalised: lower case DNS name or IP
 * literal) satisfy nc?  Excluded subtrees of its type always refuse; with
 * strict, a host matching no permitted subtree of its type is refused even
 * when nc has none of that type (RFC 5280 would leave the type open).
 * Returns 0, or -1 with *err set.
 */
int		 cert_nc_check(const struct cert_nc *nc, const char *host,
		    int strict, struct cert_err *err);

/*
 * cert_nc_check_leaf() : OpenSSL's own NAME_CONSTRAINTS_check of a signed
 * leaf (every name in it: subject and SANs) against nc.  0, or -1.
 */
int		 cert_nc_check_leaf(const struct cert_nc *nc, X509 *leaf,
		    struct cert_err *err);

/* The permitted DNS subtrees, comma-separated, into buf (truncated). */
void		 cert_nc_describe(const struct cert_nc *nc, char *buf,
		    size_t len);

/* ca.c: the name constraints a leaf must satisfy, OpenSSL's reading. */
int		 cert_ca_check_leaf(const struct cert_ca *ca, X509 *leaf,
		    struct cert_err *err);

/* mint.c */

/* Borrowed views of the minting context, valid until cert_mint_free(). */
EVP_PKEY	*cert_mint_key(const struct cert_mint *mint);
STACK_OF(X509)	*cert_mint_chain(const struct cert_mint *mint);
const struct cert_ca *cert_mint_ca(const struct cert_mint *mint);

/*
 * cert_mint_leaf() : mints a leaf for host, which cert_mint_host_norm()
 * has already checked, at time now (0: the current time).  Returns 0 with
 * a new X509 in *out owned by the caller, its notAfter in *not_after and
 * its serial in serial (CERT_SERIAL_LEN bytes; both may be NULL), or -1
 * with *err set.
 */
int		 cert_mint_leaf(struct cert_mint *mint, const char *host,
		    time_t now, X509 **out, time_t *not_after,
		    unsigned char *serial, struct cert_err *err);

/* cache.c */

/* cert_cache_get_at() : cert_cache_get() as if the time were now. */
X509		*cert_cache_get_at(struct cert_cache *cache, const char *host,
		    time_t now, struct cert_err *err);

#endif
