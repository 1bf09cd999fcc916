/*
 * tests/unit/certs/certs_test.h: fixtures shared by the certs/ unit tests:
 * throw-away directories, keys and certificates (roots, intermediates,
 * leaves) built with OpenSSL directly, independent of the code under test,
 * and a runner that gives every test case its own process.
 */
#ifndef PUBGATE_CERTS_TEST_H
#define PUBGATE_CERTS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs.h"

#define DAY	86400

/* A fresh directory under $TMPDIR (or /tmp); removed by tmpdir_remove. */
void		 tmpdir_make(char *dir, size_t len);
void		 tmpdir_remove(const char *dir);
/* dir/name into buf; returns buf. */
char		*path_in(char *buf, size_t len, const char *dir,
		    const char *name);

EVP_PKEY	*key_ec(void);
EVP_PKEY	*key_rsa(void);

/*
 * make_cert() : a certificate for key named cn, issued by issuer/ikey
 * (NULL, NULL: self-signed with key), valid from now + from to now + to
 * seconds, CA:TRUE with keyCertSign if ca.  Never NULL (fails the test).
 */
X509		*make_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
		    EVP_PKEY *ikey, int ca, long from, long to);
/*
 * make_cert_ext() : make_cert() plus, when not NULL, a nameConstraints
 * and a subjectAltName extension in openssl.cnf syntax.
 */
X509		*make_cert_ext(const char *cn, EVP_PKEY *key, X509 *issuer,
		    EVP_PKEY *ikey, int ca, long from, long to, const char *nc,
		    const char *san);

/* Writes certificates (NULL-terminated list) or a key as PEM. */
void		 write_certs(const char *path, X509 *first, ...);
void		 write_key(const char *path, EVP_PKEY *key);
void		 write_text(const char *path, const char *text);

/* A CA on disk, loaded, with a minting context. */
struct ca_fx {
	char		 dir[256];
	char		 cert[512], key[512];
	EVP_PKEY	*root_key, *inter_key;
	X509		*root, *inter;		/* inter NULL: the root signs */
	struct cert_ca	*ca;
	struct cert_mint *mint;
};

/*
 * ca_fx_new() : with_inter: the CA is an intermediate under a root;
 * ca_life: how many seconds the signing CA has left; rsa: an RSA root.
 */
struct ca_fx	*ca_fx_new(int with_inter, long ca_life, int rsa);
void		 ca_fx_free(struct ca_fx *f);

/*
 * certs_test_run() : runs every case in its own forked process, so that
 * no OpenSSL state (error queue, RNG, caches) leaks from one to the next.
 * With an argument, runs only the case of that name.  Returns the number
 * of failed cases (the exit code).
 */
int		 certs_test_run(const char *group, const struct CMUnitTest *t,
		    size_t n, int argc, char *argv[]);

#endif
