/*
 * certs/ca.c: the corporate CA.  Owns struct cert_ca (the CA certificate,
 * its private key, the intermediates served after every leaf) from
 * cert_ca_load() to cert_ca_free(), which wipes the key, and the name
 * constraints read from it (nc.c) that decide which hosts it may mint for
 * (cert_ca_permits).  Also creates the evaluation CA of `pubgate ca init`
 * (cert_ca_init), name-constrained to the registry hosts, and holds the
 * small helpers the other files share (errors, serials, extensions).
 *
 * Depends on OpenSSL and libc only: no libevent, no proxy types, no
 * logging.  Files are read whole into bounded buffers (CERT_PEM_MAX) that
 * are wiped before they are freed, since a key file's bytes are the key.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs-int.h"

struct cert_ca {
	X509		*ca_cert;	/* signs the leaves */
	EVP_PKEY	*ca_key;	/* never leaves certs/; wiped on free */
	const EVP_MD	*ca_md;		/* sha256, or NULL for EdDSA keys */
	STACK_OF(X509)	*ca_chain;	/* served after a leaf, in order */
	time_t		 ca_not_before;
	time_t		 ca_not_after;
	struct cert_nc	*ca_nc;		/* the signing cert's, or NULL */
	int		 ca_constrained;	/* ca_nc limits DNS names */
	struct cert_nc	*ca_chain_nc[CERT_CHAIN_MAX];	/* other certs' */
	int		 ca_nchain_nc;
};

void
cert_err_set(struct cert_err *err, const char *fmt, ...)
{
	va_list		 ap;
	unsigned long	 e;
	const char	*reason;
	size_t		 n;

	e = ERR_peek_last_error();
	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (e != 0 && (reason = ERR_reason_error_string(e)) != NULL) {
			n = strlen(err->msg);
			snprintf(err->msg + n, sizeof(err->msg) - n, " (%s)",
			    reason);
		}
	}
	ERR_clear_error();
}

/* prefix_err() : rewrites *err as "<what> <path>: <message>". */
static void
prefix_err(struct cert_err *err, const char *what, const char *path)
{
	char	 msg[CERT_ERRMSG_MAX];
	size_t	 n, l;
	int	 w;

	if (err == NULL)
		return;
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	w = snprintf(err->msg, sizeof(err->msg), "%s %s: ", what, path);
	if (w < 0 || (size_t)w >= sizeof(err->msg))
		return;
	n = (size_t)w;
	l = strnlen(msg, sizeof(err->msg) - n - 1);
	memcpy(err->msg + n, msg, l);
	err->msg[n + l] = '\0';
}

int
cert_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm	 tm;
	time_t		 r;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if ((r = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = r;
	return 0;
}

int
cert_serial_set(X509 *x, unsigned char *out)
{
	unsigned char	 buf[CERT_SERIAL_LEN];
	BIGNUM		*bn = NULL;
	int		 rc = -1;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			goto fail;
		buf[0] &= 0x7f;		/* positive as a DER INTEGER */
	} while (buf[0] == 0 && buf[1] == 0);	/* at least 120 bits */
	if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
		goto fail;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	if (out != NULL)
		memcpy(out, buf, sizeof(buf));
	rc = 0;
 fail:
	BN_free(bn);
	return rc;
}

X509_EXTENSION *
cert_ext_make(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	return X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
}

int
cert_ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 rc;

	if ((ext = cert_ext_make(x, issuer, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/*
 * read_file() : reads a whole regular file of at most CERT_PEM_MAX bytes.
 * Returns a NUL-terminated buffer owned by the caller, who must wipe it
 * (OPENSSL_clear_free(buf, *lenp + 1)), or NULL with *err set.
 */
static char *
read_file(const char *what, const char *path, size_t *lenp,
    struct cert_err *err)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 cap = 0, len = 0;
	ssize_t		 n;
	int		 fd;

	if (path == NULL || *path == '\0') {
		cert_err_set(err, "no %s file given", what);
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		cert_err_set(err, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		cert_err_set(err, "%s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CERT_PEM_MAX) {
		cert_err_set(err, "%s %s: not a regular file of at most %d "
		    "bytes", what, path, CERT_PEM_MAX);
		goto fail;
	}
	cap = (size_t)st.st_size;
	if ((buf = OPENSSL_malloc(cap + 1)) == NULL) {
		cert_err_set(err, "%s %s: out of memory", what, path);
		goto fail;
	}
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cert_err_set(err, "%s %s: %s", what, path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return buf;
 fail:
	OPENSSL_clear_free(buf, cap + 1);
	close(fd);
	return NULL;
}

/*
 * read_certs() : appends every certificate of a PEM buffer to *out
 * (created if NULL).  Returns the number read, or -1 with *err set.
 */
static int
read_certs(const char *what, const char *path, const char *buf, size_t len,
    STACK_OF(X509) **out, struct cert_err *err)
{
	BIO		*bio;
	X509		*x;
	unsigned long	 e;
	int		 n = 0;

	if (*out == NULL && (*out = sk_X509_new_null()) == NULL) {
		cert_err_set(err, "out of memory");
		return -1;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cert_err_set(err, "out of memory");
		return -1;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(*out) >= CERT_CHAIN_MAX + 1) {
			X509_free(x);
			cert_err_set(err, "%s %s: more than %d certificates",
			    what, path, CERT_CHAIN_MAX);
			goto fail;
		}
		if (sk_X509_push(*out, x) == 0) {
			X509_free(x);
			cert_err_set(err, "out of memory");
			goto fail;
		}
		n++;
	}
	/* The loop ends at the end of the data, or at a broken certificate. */
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		cert_err_set(err, "%s %s: unreadable certificate", what, path);
		goto fail;
	}
	ERR_clear_error();
	BIO_free(bio);
	return n;
 fail:
	BIO_free(bio);
	return -1;
}

/* A passphrase callback that refuses: encrypted keys are not supported. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

static EVP_PKEY *
read_key(const char *path, struct cert_err *err)
{
	EVP_PKEY	*key = NULL;
	BIO		*bio = NULL;
	char		*buf;
	size_t		 len;

	if ((buf = read_file("CA key", path, &len, err)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cert_err_set(err, "out of memory");
		goto done;
	}
	ERR_clear_error();
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (key == NULL)
		cert_err_set(err, "CA key %s: no unencrypted PEM private key",
		    path);
 done:
	BIO_free(bio);
	OPENSSL_clear_free(buf, len + 1);
	return key;
}

/*
 * load_constraints() : reads the name constraints of the signing CA and of
 * every other certificate served after a leaf, and refuses a signing CA
 * that does not limit DNS names unless conf allows it.  Returns 0, or -1
 * with *err set.
 */
static int
load_constraints(struct cert_ca *ca, const struct cert_ca_conf *conf,
    struct cert_err *err)
{
	struct cert_nc	*nc;
	X509		*x;
	int		 i;

	if (cert_nc_parse(ca->ca_cert, &ca->ca_nc, err) == -1) {
		prefix_err(err, "CA certificate", conf->cert_file);
		return -1;
	}
	ca->ca_constrained = cert_nc_dns_limited(ca->ca_nc);
	for (i = 0; i < sk_X509_num(ca->ca_chain); i++) {
		x = sk_X509_value(ca->ca_chain, i);
		if (X509_cmp(x, ca->ca_cert) == 0)
			continue;
		if (cert_nc_parse(x, &nc, err) == -1) {
			prefix_err(err, "CA chain certificate", conf->cert_file);
			return -1;
		}
		if (nc != NULL)
			ca->ca_chain_nc[ca->ca_nchain_nc++] = nc;
	}
	if (!ca->ca_constrained && !conf->allow_unconstrained) {
		cert_err_set(err, "CA certificate %s has no name constraints "
		    "limiting DNS names: its key could impersonate any site "
		    "(issue it with nameConstraints, or allow an unconstrained "
		    "CA explicitly)", conf->cert_file);
		return -1;
	}
	return 0;
}

struct cert_ca *
cert_ca_load(const struct cert_ca_conf *conf, struct cert_err *err)
{
	struct cert_ca	*ca;
	STACK_OF(X509)	*certs = NULL;
	X509		*x;
	char		*buf = NULL;
	size_t		 len = 0;
	time_t		 now;
	int		 i;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		cert_err_set(err, "out of memory");
		return NULL;
	}
	if ((ca->ca_chain = sk_X509_new_null()) == NULL) {
		cert_err_set(err, "out of memory");
		goto fail;
	}

	/* The CA certificate comes first in its file, intermediates after. */
	if ((buf = read_file("CA certificate", conf->cert_file, &len,
	    err)) == NULL)
		goto fail;
	if ((i = read_certs("CA certificate", conf->cert_file, buf, len,
	    &certs, err)) == -1)
		goto fail;
	OPENSSL_clear_free(buf, len + 1);
	buf = NULL;
	if (i == 0) {
		cert_err_set(err, "CA certificate %s: no PEM certificate",
		    conf->cert_file);
		goto fail;
	}
	if (conf->chain_file != NULL) {
		if ((buf = read_file("CA chain", conf->chain_file, &len,
		    err)) == NULL)
			goto fail;
		if (read_certs("CA chain", conf->chain_file, buf, len,
		    &certs, err) == -1)
			goto fail;
		OPENSSL_clear_free(buf, len + 1);
		buf = NULL;
	}
	ca->ca_cert = sk_X509_shift(certs);

	if ((ca->ca_key = read_key(conf->key_file, err)) == NULL)
		goto fail;
	if (X509_check_private_key(ca->ca_cert, ca->ca_key) != 1) {
		cert_err_set(err, "CA key %s does not match CA certificate %s",
		    conf->key_file, conf->cert_file);
		goto fail;
	}
	if (X509_check_ca(ca->ca_cert) == 0) {
		cert_err_set(err, "CA certificate %s may not sign certificates "
		    "(needs CA:TRUE and keyCertSign)", conf->cert_file);
		goto fail;
	}
	if (cert_asn1_time(X509_get0_notBefore(ca->ca_cert),
	    &ca->ca_not_before) == -1 ||
	    cert_asn1_time(X509_get0_notAfter(ca->ca_cert),
	    &ca->ca_not_after) == -1) {
		cert_err_set(err, "CA certificate %s: unreadable validity",
		    conf->cert_file);
		goto fail;
	}
	now = time(NULL);
	if (ca->ca_not_after <= now || ca->ca_not_before > now) {
		cert_err_set(err, "CA certificate %s is not valid now "
		    "(expired or not yet valid)", conf->cert_file);
		goto fail;
	}
	if (EVP_PKEY_is_a(ca->ca_key, "ED25519") ||
	    EVP_PKEY_is_a(ca->ca_key, "ED448"))
		ca->ca_md = NULL;
	else
		ca->ca_md = EVP_sha256();

	/*
	 * The served chain: the issuing CA itself unless it is a root, then
	 * every other certificate given, without repeating the CA.
	 */
	if ((X509_get_extension_flags(ca->ca_cert) & EXFLAG_SS) == 0) {
		if (X509_up_ref(ca->ca_cert) != 1 ||
		    sk_X509_push(ca->ca_chain, ca->ca_cert) == 0) {
			cert_err_set(err, "out of memory");
			goto fail;
		}
	}
	while ((x = sk_X509_shift(certs)) != NULL) {
		if (X509_cmp(x, ca->ca_cert) == 0) {
			X509_free(x);
			continue;
		}
		if (sk_X509_num(ca->ca_chain) >= CERT_CHAIN_MAX) {
			X509_free(x);
			cert_err_set(err, "more than %d intermediates",
			    CERT_CHAIN_MAX);
			goto fail;
		}
		if (sk_X509_push(ca->ca_chain, x) == 0) {
			X509_free(x);
			cert_err_set(err, "out of memory");
			goto fail;
		}
	}
	sk_X509_free(certs);
	certs = NULL;
	if (load_constraints(ca, conf, err) == -1)
		goto fail;
	return ca;
 fail:
	OPENSSL_clear_free(buf, len + 1);
	sk_X509_pop_free(certs, X509_free);
	cert_ca_free(ca);
	return NULL;
}

void
cert_ca_free(struct cert_ca *ca)
{
	int	 i;

	if (ca == NULL)
		return;
	cert_nc_free(ca->ca_nc);
	for (i = 0; i < ca->ca_nchain_nc; i++)
		cert_nc_free(ca->ca_chain_nc[i]);
	/* EVP_PKEY_free clears the private key's memory (BN_clear_free). */
	EVP_PKEY_free(ca->ca_key);
	ca->ca_key = NULL;
	X509_free(ca->ca_cert);
	sk_X509_pop_free(ca->ca_chain, X509_free);
	OPENSSL_cleanse(ca, sizeof(*ca));
	free(ca);
}

time_t
cert_ca_not_after(const struct cert_ca *ca)
{
	return ca->ca_not_after;
}

int
cert_ca_constrained(const struct cert_ca *ca)
{
	return ca->ca_constrained;
}

void
cert_ca_describe(const struct cert_ca *ca, char *buf, size_t len)
{
	if (!ca->ca_constrained) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	cert_nc_describe(ca->ca_nc, buf, len);
}

int
cert_ca_permits(const struct cert_ca *ca, const char *host,
    struct cert_err *err)
{
	char	 norm[CERT_HOST_MAX + 1], list[120];
	size_t	 n;
	int	 i;

	if (cert_mint_host_norm(host, norm, err) == -1)
		return -1;
	if (ca->ca_nc != NULL &&
	    cert_nc_check(ca->ca_nc, norm, ca->ca_constrained, err) == -1)
		goto refused;
	for (i = 0; i < ca->ca_nchain_nc; i++)
		if (cert_nc_check(ca->ca_chain_nc[i], norm, 0, err) == -1)
			goto refused;
	return 0;
 refused:
	if (err != NULL && ca->ca_constrained) {
		cert_nc_describe(ca->ca_nc, list, sizeof(list));
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, " (permitted: %s)",
		    list);
	}
	return -1;
}

int
cert_ca_check_leaf(const struct cert_ca *ca, X509 *leaf,
    struct cert_err *err)
{
	int	 i;

	if (ca->ca_nc != NULL && cert_nc_check_leaf(ca->ca_nc, leaf, err) == -1)
		return -1;
	for (i = 0; i < ca->ca_nchain_nc; i++)
		if (cert_nc_check_leaf(ca->ca_chain_nc[i], leaf, err) == -1)
			return -1;
	return 0;
}

time_t
cert_ca_not_before(const struct cert_ca *ca)
{
	return ca->ca_not_before;
}

X509 *
cert_ca_cert(const struct cert_ca *ca)
{
	return ca->ca_cert;
}

EVP_PKEY *
cert_ca_key(const struct cert_ca *ca)
{
	return ca->ca_key;
}

const EVP_MD *
cert_ca_md(const struct cert_ca *ca)
{
	return ca->ca_md;
}

STACK_OF(X509) *
cert_ca_chain(const struct cert_ca *ca)
{
	return ca->ca_chain;
}

/* A permitted DNS subtree of `pubgate ca init`, normalised. */
struct permit_name {
	char	 pn_name[CERT_HOST_MAX + 2];	/* optional leading '.' */
};

/*
 * permits_norm() : checks and lower-cases the permitted names of req (the
 * default when it has none) into a new array *outp of *np entries owned by
 * the caller (free), duplicates dropped.  A name is a host name as
 * cert_mint_host_norm reads it, optionally after one leading '.', and
 * never an IP address.  Returns 0, or -1 with *err set.
 */
static int
permits_norm(const struct cert_ca_init_req *req, struct permit_name **outp,
    size_t *np, struct cert_err *err)
{
	static const char *const def[] = { CERT_CA_PERMIT_DEFAULT };
	const char *const *in = req->npermit > 0 ? req->permit : def;
	size_t		 nin = req->npermit > 0 ? req->npermit : 1;
	struct permit_name *out;
	unsigned char	 addr[16];
	const char	*h;
	char		 norm[CERT_HOST_MAX + 1];
	size_t		 i, j, n = 0;
	int		 dot;

	if (nin > CERT_CA_PERMIT_MAX) {
		cert_err_set(err, "at most %d permitted names",
		    CERT_CA_PERMIT_MAX);
		return -1;
	}
	if ((out = calloc(nin, sizeof(*out))) == NULL) {
		cert_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < nin; i++) {
		if ((h = in[i]) == NULL)
			goto bad;
		dot = *h == '.';
		if (cert_mint_host_norm(h + dot, norm, NULL) == -1 ||
		    inet_pton(AF_INET, norm, addr) == 1 ||
		    inet_pton(AF_INET6, norm, addr) == 1)
			goto bad;
		snprintf(out[n].pn_name, sizeof(out[n].pn_name), "%s%s",
		    dot ? "." : "", norm);
		for (j = 0; j < n; j++)
			if (strcmp(out[j].pn_name, out[n].pn_name) == 0)
				break;
		if (j == n)
			n++;
	}
	*outp = out;
	*np = n;
	return 0;
 bad:
	cert_err_set(err, "permitted name \"%.80s\" is not a host name "
	    "(letters, digits, '-', '_', '.'; an optional leading '.' for "
	    "subdomains only; no IP address, no wildcard)",
	    h != NULL ? h : "");
	free(out);
	return -1;
}

/* push_subtree() : appends a subtree of base gn (owned) to sk; 0 or -1. */
static int
push_subtree(STACK_OF(GENERAL_SUBTREE) *sk, GENERAL_NAME *gn)
{
	GENERAL_SUBTREE	*st;

	if (gn == NULL)
		return -1;
	if ((st = GENERAL_SUBTREE_new()) == NULL) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	GENERAL_NAME_free(st->base);
	st->base = gn;
	if (sk_GENERAL_SUBTREE_push(sk, st) == 0) {
		GENERAL_SUBTREE_free(st);
		return -1;
	}
	return 0;
}

/* name_of() : a new GENERAL_NAME of type (GEN_DNS, GEN_IPADD), or NULL. */
static GENERAL_NAME *
name_of(int type, const void *data, int len)
{
	GENERAL_NAME	*gn;
	ASN1_STRING	*v;

	v = type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
	if (v == NULL)
		return NULL;
	if (ASN1_STRING_set(v, data, len) != 1 ||
	    (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(v);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, type, v);
	return gn;
}

/*
 * add_name_constraints() : the critical NameConstraints extension of an
 * evaluation CA: the n permitted DNS subtrees, and every IPv4 and IPv6
 * address excluded.  Returns 0 or -1.
 */
static int
add_name_constraints(X509 *x, const struct permit_name *p, size_t n)
{
	static const unsigned char zero[32];
	NAME_CONSTRAINTS	*nc;
	size_t			 i;
	int			 rc = -1;

	if ((nc = NAME_CONSTRAINTS_new()) == NULL)
		return -1;
	if ((nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL ||
	    (nc->excludedSubtrees = sk_GENERAL_SUBTREE_new_null()) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (push_subtree(nc->permittedSubtrees, name_of(GEN_DNS,
		    p[i].pn_name, (int)strlen(p[i].pn_name))) == -1)
			goto fail;
	/* 0.0.0.0/0 and ::/0: address and mask all zero. */
	if (push_subtree(nc->excludedSubtrees, name_of(GEN_IPADD, zero,
	    8)) == -1 ||
	    push_subtree(nc->excludedSubtrees, name_of(GEN_IPADD, zero,
	    32)) == -1)
		goto fail;
	if (X509_add1_ext_i2d(x, NID_name_constraints, nc, 1,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
 fail:
	NAME_CONSTRAINTS_free(nc);
	return rc;
}

/*
 * make_root() : a self-signed ECDSA P-256 root named name, valid for days
 * from an hour ago, name-constrained to the n permitted names.  Returns 0
 * with *certp and *keyp owned by the caller, or -1 with *err set.
 */
static int
make_root(const char *name, int days, const struct permit_name *permit,
    size_t npermit, X509 **certp, EVP_PKEY **keyp, struct cert_err *err)
{
	X509_NAME	*subj;
	X509		*x = NULL;
	EVP_PKEY	*key = NULL;
	time_t		 now = time(NULL);

	if ((key = EVP_EC_gen("P-256")) == NULL) {
		cert_err_set(err, "cannot generate the CA key");
		goto fail;
	}
	if ((x = X509_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    cert_serial_set(x, NULL) == -1 ||
	    (subj = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8,
	    (const unsigned char *)name, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, subj) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -CERT_LEAF_BACKDATE,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) == NULL ||
	    X509_set_pubkey(x, key) != 1) {
		cert_err_set(err, "cannot build the CA certificate");
		goto fail;
	}
	/* pathlen:0: a stolen key cannot make a sub-CA either. */
	if (cert_ext_add(x, x, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0") ||
	    cert_ext_add(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_name_constraints(x, permit, npermit) ||
	    cert_ext_add(x, x, NID_subject_key_identifier, "hash") ||
	    cert_ext_add(x, x, NID_authority_key_identifier, "keyid:always")) {
		cert_err_set(err, "cannot add the CA extensions");
		goto fail;
	}
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		cert_err_set(err, "cannot sign the CA certificate");
		goto fail;
	}
	*certp = x;
	*keyp = key;
	return 0;
 fail:
	X509_free(x);
	EVP_PKEY_free(key);
	return -1;
}

/*
 * write_new() : creates path (it must not exist) with mode and writes the
 * contents of the memory BIO into it.  Returns 0, or -1 with *err set and
 * no file left behind.
 */
static int
write_new(const char *path, mode_t mode, BIO *mem, struct cert_err *err)
{
	char	*data;
	long	 len;
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	len = BIO_get_mem_data(mem, &data);
	if (len <= 0) {
		cert_err_set(err, "%s: nothing to write", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		cert_err_set(err, "%s: %s", path, errno == EEXIST ?
		    "exists, not overwriting" : strerror(errno));
		return -1;
	}
	while (off < (size_t)len) {
		n = write(fd, data + off, (size_t)len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
 fail:
	cert_err_set(err, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(path);
	return -1;
}

int
cert_ca_init(const struct cert_ca_init_req *req, struct cert_err *err)
{
	char		 certpath[PATH_MAX], keypath[PATH_MAX];
	struct stat	 st;
	const char	*name;
	const unsigned char *p;
	struct permit_name *permit = NULL;
	size_t		 npermit = 0;
	X509		*x = NULL;
	EVP_PKEY	*key = NULL;
	BIO		*certmem = NULL, *keymem = NULL;
	int		 days, rc = -1;

	name = req->name != NULL ? req->name : CERT_CA_NAME_DEFAULT;
	days = req->days != 0 ? req->days : CERT_CA_DAYS_DEFAULT;
	if (*name == '\0' || strlen(name) > CERT_CA_NAME_MAX) {
		cert_err_set(err, "CA name must be 1 to %d characters",
		    CERT_CA_NAME_MAX);
		return -1;
	}
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			cert_err_set(err, "CA name has a control character");
			return -1;
		}
	}
	if (days < 1 || days > CERT_CA_DAYS_MAX) {
		cert_err_set(err, "--days must be 1 to %d", CERT_CA_DAYS_MAX);
		return -1;
	}
	if (req->dir == NULL || *req->dir == '\0') {
		cert_err_set(err, "no output directory given");
		return -1;
	}
	if (permits_norm(req, &permit, &npermit, err) == -1)
		return -1;
	if ((size_t)snprintf(certpath, sizeof(certpath), "%s/%s", req->dir,
	    CERT_CA_CERT_NAME) >= sizeof(certpath) ||
	    (size_t)snprintf(keypath, sizeof(keypath), "%s/%s", req->dir,
	    CERT_CA_KEY_NAME) >= sizeof(keypath)) {
		cert_err_set(err, "%s: path too long", req->dir);
		goto done;
	}
	if (mkdir(req->dir, 0700) == -1 && errno != EEXIST) {
		cert_err_set(err, "%s: %s", req->dir, strerror(errno));
		goto done;
	}
	if (stat(req->dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cert_err_set(err, "%s: not a directory", req->dir);
		goto done;
	}
	if (lstat(certpath, &st) == 0 || lstat(keypath, &st) == 0) {
		cert_err_set(err, "%s: exists, not overwriting",
		    lstat(certpath, &st) == 0 ? certpath : keypath);
		goto done;
	}

	if (make_root(name, days, permit, npermit, &x, &key, err) == -1)
		goto done;
	/* A secure-memory BIO is wiped when it is freed. */
	if ((keymem = BIO_new(BIO_s_secmem())) == NULL ||
	    (certmem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(keymem, key, NULL, NULL, 0, NULL,
	    NULL) != 1 || PEM_write_bio_X509(certmem, x) != 1) {
		cert_err_set(err, "cannot encode the CA");
		goto done;
	}
	if (write_new(keypath, 0600, keymem, err) == -1)
		goto done;
	if (write_new(certpath, 0644, certmem, err) == -1) {
		unlink(keypath);
		goto done;
	}
	rc = 0;
 done:
	free(permit);
	BIO_free(keymem);
	BIO_free(certmem);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}
