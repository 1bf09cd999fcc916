/*
 * tests/unit/certs/helpers.c: fixtures for the certs/ unit tests (see
 * certs_test.h).  Builds its certificates with OpenSSL alone, so a bug in
 * certs/ cannot hide itself in the fixtures.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "certs_test.h"

void
tmpdir_make(char *dir, size_t len)
{
	const char	*base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	assert_true((size_t)snprintf(dir, len, "%s/certs-test.XXXXXX", base) <
	    len);
	assert_non_null(mkdtemp(dir));
}

void
tmpdir_remove(const char *dir)
{
	char		 p[4096];
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		unlink(path_in(p, sizeof(p), dir, de->d_name));
	}
	closedir(d);
	rmdir(dir);
}

char *
path_in(char *buf, size_t len, const char *dir, const char *name)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", dir, name) < len);
	return buf;
}

EVP_PKEY *
key_ec(void)
{
	EVP_PKEY	*k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

EVP_PKEY *
key_rsa(void)
{
	EVP_PKEY	*k = EVP_RSA_gen(2048);

	assert_non_null(k);
	return k;
}

static void
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int ca, long from, long to)
{
	return make_cert_ext(cn, key, issuer, ikey, ca, from, to, NULL, NULL);
}

X509 *
make_cert_ext(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    int ca, long from, long to, const char *nc, const char *san)
{
	static long	 serial = 1000;
	X509		*x;
	time_t		 now = time(NULL);

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(x)), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, from,
	    &now));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, to, &now));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (issuer == NULL) {
		issuer = x;
		ikey = key;
	}
	if (ca) {
		ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		ext(x, issuer, NID_key_usage, "critical,digitalSignature");
	}
	if (nc != NULL)
		ext(x, issuer, NID_name_constraints, nc);
	if (san != NULL)
		ext(x, issuer, NID_subject_alt_name, san);
	ext(x, issuer, NID_subject_key_identifier, "hash");
	ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

void
write_certs(const char *path, X509 *first, ...)
{
	va_list	 ap;
	FILE	*f;
	X509	*x;

	assert_non_null(f = fopen(path, "w"));
	va_start(ap, first);
	for (x = first; x != NULL; x = va_arg(ap, X509 *))
		assert_int_equal(PEM_write_X509(f, x), 1);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
}

void
write_key(const char *path, EVP_PKEY *key)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	assert_int_equal(fclose(f), 0);
}

void
write_text(const char *path, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/*
 * ca_fx_new() : with_inter: the CA is an intermediate under a root; ca_life:
 * how many seconds the signing CA has left.
 */
struct ca_fx *
ca_fx_new(int with_inter, long ca_life, int rsa)
{
	struct ca_fx		*f;
	struct cert_ca_conf	 conf;
	struct cert_err		 err = { "" };

	assert_non_null(f = calloc(1, sizeof(*f)));
	tmpdir_make(f->dir, sizeof(f->dir));
	path_in(f->cert, sizeof(f->cert), f->dir, "ca.pem");
	path_in(f->key, sizeof(f->key), f->dir, "ca-key.pem");
	f->root_key = rsa ? key_rsa() : key_ec();
	if (with_inter) {
		f->root = make_cert("Test Root", f->root_key, NULL, NULL, 1,
		    -DAY, 365 * DAY);
		f->inter_key = key_ec();
		f->inter = make_cert("Test Issuing CA", f->inter_key, f->root,
		    f->root_key, 1, -DAY, ca_life);
		write_certs(f->cert, f->inter, NULL);
		write_key(f->key, f->inter_key);
	} else {
		f->root = make_cert("Test Root", f->root_key, NULL, NULL, 1,
		    -DAY, ca_life);
		write_certs(f->cert, f->root, NULL);
		write_key(f->key, f->root_key);
	}
	conf.cert_file = f->cert;
	conf.key_file = f->key;
	conf.chain_file = NULL;
	/* These fixture CAs carry no name constraints: allowed explicitly. */
	conf.allow_unconstrained = 1;
	f->ca = cert_ca_load(&conf, &err);
	if (f->ca == NULL)
		fail_msg("cert_ca_load: %s", err.msg);
	f->mint = cert_mint_new(f->ca, &err);
	if (f->mint == NULL)
		fail_msg("cert_mint_new: %s", err.msg);
	return f;
}

void
ca_fx_free(struct ca_fx *f)
{
	cert_mint_free(f->mint);
	cert_ca_free(f->ca);
	X509_free(f->root);
	X509_free(f->inter);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->inter_key);
	tmpdir_remove(f->dir);
	free(f);
}

int
certs_test_run(const char *group, const struct CMUnitTest *t, size_t n,
    int argc, char *argv[])
{
	size_t	 i;
	pid_t	 pid;
	int	 status, failed = 0, ran = 0;

	for (i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], t[i].name) != 0)
			continue;
		ran++;
		fflush(stdout);
		fflush(stderr);
		if ((pid = fork()) == -1) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			exit(_cmocka_run_group_tests(group, &t[i], 1, NULL,
			    NULL) == 0 ? 0 : 1);
		if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "%s: case %s failed\n", group,
			    t[i].name);
			failed++;
		}
	}
	if (ran == 0) {
		fprintf(stderr, "%s: no case named %s\n", group,
		    argc > 1 ? argv[1] : "(any)");
		return 1;
	}
	return failed;
}
