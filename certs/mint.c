/*
 * certs/mint.c: leaf minting.  Owns struct cert_mint: a borrowed CA, the
 * one ECDSA P-256 leaf key every minted leaf carries (generated once, at
 * cert_mint_new, never per connection), and the extensions that are the
 * same for every leaf (built once).  Per leaf only the serial, the names,
 * the validity and one ECDSA/RSA signature by the CA key are new.
 *
 * Flow: host name -> cert_mint_host_norm (checked, lower case) ->
 * cert_ca_permits (inside the CA's name constraints, or refused before
 * anything is signed) -> mint_leaf (X509, signed, then checked again by
 * OpenSSL's NAME_CONSTRAINTS_check) -> DER in a plain-data reply
 * (cert_mint_sign) or the X509 itself for the cache (cert_mint_leaf,
 * certs-int.h).
 *
 * Depends on OpenSSL and libc only: no libevent, no proxy types, no
 * logging, no globals.
 */
/* For leaf_key_new(): see the XXX there. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs-int.h"

#define MINT_CN_MAX	64	/* ub-common-name; longer: SAN only */
#define MINT_LABEL_MAX	63	/* one DNS label */
#define MINT_EXT_MAX	5

struct cert_mint {
	const struct cert_ca	*mi_ca;		/* borrowed */
	EVP_PKEY		*mi_key;	/* the shared leaf key */
	X509_EXTENSION		*mi_ext[MINT_EXT_MAX];	/* same for every leaf */
	int			 mi_next;
	uint64_t		 mi_signs;	/* leaves signed so far */
};

/* Is s an IPv4 or IPv6 literal, without brackets? */
static int
is_ip_literal(const char *s)
{
	unsigned char	 addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1;
}

int
cert_mint_host_norm(const char *host, char *out, struct cert_err *err)
{
	size_t	 len, i, label = 0;
	int	 digits_only = 1;
	char	 c;

	if (host == NULL || *host == '\0') {
		cert_err_set(err, "empty host name");
		return -1;
	}
	len = strnlen(host, CERT_HOST_MAX + 1);
	if (len > CERT_HOST_MAX) {
		cert_err_set(err, "host name longer than %d characters",
		    CERT_HOST_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	out[len] = '\0';
	if (is_ip_literal(out))
		return 0;

	/* A DNS name: labels of letters, digits, '-' and '_'. */
	for (i = 0; i <= len; i++) {
		c = out[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || out[i - 1] == '-') {
				cert_err_set(err, "host name has an empty "
				    "label or one ending in '-'");
				return -1;
			}
			label = 0;
			if (c == '.')
				digits_only = 1;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_')) {
			cert_err_set(err, "host name has a character that is "
			    "not a letter, digit, '-', '_' or '.'");
			return -1;
		}
		if (label == 0 && c == '-') {
			cert_err_set(err, "host name has a label starting "
			    "with '-'");
			return -1;
		}
		if (!isdigit((unsigned char)c))
			digits_only = 0;
		if (++label > MINT_LABEL_MAX) {
			cert_err_set(err, "host name has a label longer "
			    "than %d characters", MINT_LABEL_MAX);
			return -1;
		}
	}
	/* URL parsers read a numeric last label as an IPv4 address. */
	if (digits_only) {
		cert_err_set(err, "host name ends in a numeric label");
		return -1;
	}
	return 0;
}

/*
 * leaf_key_new() : a new ECDSA P-256 key owned by the caller, or NULL.
 *
 * XXX OpenSSL 3.0 runs a fresh encoder in every X509_set_pubkey() of a
 * provider-native key (about 380 us, seven times the ECDSA signature, and
 * it would make every cache miss cost that); a key held as a legacy
 * EC_KEY takes the old encoding path (about 11 us).  Go back to
 * EVP_EC_gen() once OpenSSL >= 3.2, which caches encoders, is the floor.
 */
static EVP_PKEY *
leaf_key_new(void)
{
#ifdef OPENSSL_NO_DEPRECATED_3_0
	return EVP_EC_gen("P-256");
#else
	EC_KEY		*ec;
	EVP_PKEY	*pk = NULL;

	if ((ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1)) == NULL)
		return NULL;
	if (EC_KEY_generate_key(ec) != 1 || (pk = EVP_PKEY_new()) == NULL ||
	    EVP_PKEY_assign_EC_KEY(pk, ec) != 1) {
		EC_KEY_free(ec);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
#endif
}

/*
 * add_ext() : appends a constant extension (owned by the context) to
 * mint->mi_ext.  Returns 0, or -1 and frees ext.
 */
static int
add_ext(struct cert_mint *mint, X509_EXTENSION *ext)
{
	if (ext == NULL)
		return -1;
	if (mint->mi_next >= MINT_EXT_MAX) {
		X509_EXTENSION_free(ext);
		return -1;
	}
	mint->mi_ext[mint->mi_next++] = ext;
	return 0;
}

struct cert_mint *
cert_mint_new(const struct cert_ca *ca, struct cert_err *err)
{
	struct cert_mint	*mint;
	X509			*tmpl = NULL, *issuer = cert_ca_cert(ca);
	X509_EXTENSION		*akid;

	if ((mint = calloc(1, sizeof(*mint))) == NULL) {
		cert_err_set(err, "out of memory");
		return NULL;
	}
	mint->mi_ca = ca;
	if ((mint->mi_key = leaf_key_new()) == NULL) {
		cert_err_set(err, "cannot generate the leaf key");
		goto fail;
	}

	/* The key identifiers depend only on the leaf key and the CA. */
	if ((tmpl = X509_new()) == NULL ||
	    X509_set_pubkey(tmpl, mint->mi_key) != 1) {
		cert_err_set(err, "out of memory");
		goto fail;
	}
	if ((akid = cert_ext_make(tmpl, issuer, NID_authority_key_identifier,
	    "keyid:always")) == NULL)
		akid = cert_ext_make(tmpl, issuer,
		    NID_authority_key_identifier, "keyid,issuer:always");
	if (add_ext(mint, cert_ext_make(tmpl, issuer, NID_basic_constraints,
	    "critical,CA:FALSE")) == -1 ||
	    add_ext(mint, cert_ext_make(tmpl, issuer, NID_key_usage,
	    "critical,digitalSignature")) == -1 ||
	    add_ext(mint, cert_ext_make(tmpl, issuer, NID_ext_key_usage,
	    "serverAuth")) == -1 ||
	    add_ext(mint, cert_ext_make(tmpl, issuer,
	    NID_subject_key_identifier, "hash")) == -1 ||
	    add_ext(mint, akid) == -1) {
		cert_err_set(err, "cannot build the leaf extensions");
		goto fail;
	}
	X509_free(tmpl);
	return mint;
 fail:
	X509_free(tmpl);
	cert_mint_free(mint);
	return NULL;
}

void
cert_mint_free(struct cert_mint *mint)
{
	int	 i;

	if (mint == NULL)
		return;
	for (i = 0; i < mint->mi_next; i++)
		X509_EXTENSION_free(mint->mi_ext[i]);
	/* EVP_PKEY_free clears the private key's memory (BN_clear_free). */
	EVP_PKEY_free(mint->mi_key);
	OPENSSL_cleanse(mint, sizeof(*mint));
	free(mint);
}

uint64_t
cert_mint_count(const struct cert_mint *mint)
{
	return mint->mi_signs;
}

EVP_PKEY *
cert_mint_key(const struct cert_mint *mint)
{
	return mint->mi_key;
}

const struct cert_ca *
cert_mint_ca(const struct cert_mint *mint)
{
	return mint->mi_ca;
}

STACK_OF(X509) *
cert_mint_chain(const struct cert_mint *mint)
{
	return cert_ca_chain(mint->mi_ca);
}

/*
 * add_san() : subjectAltName = the one DNS name or IP address, critical
 * when the subject is empty (RFC 5280 4.2.1.6).  Returns 0 or -1.
 */
static int
add_san(X509 *x, const char *host, int ip, int critical)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*gn;
	int		 rc = -1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return -1;
	gn = a2i_GENERAL_NAME(NULL, NULL, NULL, ip ? GEN_IPADD : GEN_DNS,
	    host, 0);
	if (gn == NULL)
		goto fail;
	if (sk_GENERAL_NAME_push(gens, gn) == 0) {
		GENERAL_NAME_free(gn);
		goto fail;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
 fail:
	GENERAL_NAMES_free(gens);
	return rc;
}

int
cert_mint_leaf(struct cert_mint *mint, const char *host, time_t now,
    X509 **out, time_t *not_after, unsigned char *serial,
    struct cert_err *err)
{
	const struct cert_ca	*ca = mint->mi_ca;
	X509			*x = NULL;
	X509_NAME		*subj;
	time_t			 nb, na;
	size_t			 hlen = strlen(host);
	int			 i, ip = is_ip_literal(host);

	/* Never sign for a host outside the CA's name constraints. */
	if (cert_ca_permits(ca, host, err) == -1)
		return -1;
	if (now == 0)
		now = time(NULL);
	nb = now - CERT_LEAF_BACKDATE;
	if (nb < cert_ca_not_before(ca))
		nb = cert_ca_not_before(ca);
	na = now + (time_t)CERT_LEAF_DAYS * 86400;
	if (na > cert_ca_not_after(ca))
		na = cert_ca_not_after(ca);
	if (na <= now || nb > now) {
		cert_err_set(err, "the CA certificate is not valid now");
		return -1;
	}

	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    cert_serial_set(x, serial) == -1 ||
	    X509_set_issuer_name(x,
	    X509_get_subject_name(cert_ca_cert(ca))) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL ||
	    X509_set_pubkey(x, mint->mi_key) != 1)
		goto fail;
	if (hlen <= MINT_CN_MAX) {
		subj = X509_get_subject_name(x);
		if (X509_NAME_add_entry_by_NID(subj, NID_commonName,
		    MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) != 1)
			goto fail;
	}
	for (i = 0; i < mint->mi_next; i++)
		if (X509_add_ext(x, mint->mi_ext[i], -1) != 1)
			goto fail;
	if (add_san(x, host, ip, hlen > MINT_CN_MAX) == -1)
		goto fail;
	if (X509_sign(x, cert_ca_key(ca), cert_ca_md(ca)) <= 0)
		goto fail;
	/* A second reading of the finished leaf: OpenSSL's own. */
	if (cert_ca_check_leaf(ca, x, err) == -1) {
		X509_free(x);
		return -1;
	}
	mint->mi_signs++;
	*out = x;
	if (not_after != NULL)
		*not_after = na;
	return 0;
 fail:
	cert_err_set(err, "cannot mint a certificate for %s", host);
	X509_free(x);
	return -1;
}

int
cert_mint_sign(struct cert_mint *mint, const struct cert_mint_req *req,
    struct cert_mint_reply *reply, struct cert_err *err)
{
	X509		*x = NULL;
	unsigned char	*p;
	char		 host[CERT_HOST_MAX + 1];
	int		 len;

	memset(reply, 0, sizeof(*reply));
	if (memchr(req->host, '\0', sizeof(req->host)) == NULL) {
		cert_err_set(err, "host name not terminated");
		return -1;
	}
	if (cert_mint_host_norm(req->host, host, err) == -1)
		return -1;
	if (cert_mint_leaf(mint, host, req->now, &x, &reply->not_after,
	    reply->serial, err) == -1)
		return -1;
	if (cert_asn1_time(X509_get0_notBefore(x), &reply->not_before) == -1)
		goto fail;
	if ((len = i2d_X509(x, NULL)) <= 0 || len > CERT_DER_MAX)
		goto fail;
	p = reply->der;
	if (i2d_X509(x, &p) != len)
		goto fail;
	reply->der_len = (size_t)len;
	memcpy(reply->host, host, sizeof(reply->host));
	X509_free(x);
	return 0;
 fail:
	cert_err_set(err, "cannot encode the certificate for %s", host);
	X509_free(x);
	memset(reply, 0, sizeof(*reply));
	return -1;
}
