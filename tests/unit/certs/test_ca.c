/*
 * tests/unit/certs/test_ca.c: certs/ca.c.  Loading a root and a root +
 * intermediate CA (the served chain), every refusal (missing files, a key
 * that does not match, a certificate that is no CA, an expired CA, an
 * encrypted or broken key), and `pubgate ca init`'s cert_ca_init (modes,
 * no overwriting, the result loads).  Each case runs in its own process.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs_test.h"
#include "certs-int.h"

struct fx {
	char	 dir[256];
	char	 cert[512], key[512], chain[512];
};

static struct fx *
fx_new(void)
{
	struct fx	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	tmpdir_make(f->dir, sizeof(f->dir));
	path_in(f->cert, sizeof(f->cert), f->dir, "ca.pem");
	path_in(f->key, sizeof(f->key), f->dir, "ca-key.pem");
	path_in(f->chain, sizeof(f->chain), f->dir, "chain.pem");
	return f;
}

static void
fx_free(struct fx *f)
{
	tmpdir_remove(f->dir);
	free(f);
}

static void
load_root(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_ec();
	X509			*root = make_cert("Test Root", k, NULL, NULL, 1,
				    -DAY, 30 * DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err = { "" };
	struct cert_ca		*ca;
	time_t			 na;

	write_certs(f->cert, root, NULL);
	write_key(f->key, k);
	ca = cert_ca_load(&conf, &err);
	assert_non_null(ca);
	assert_string_equal(err.msg, "");
	/* A root is not served: the chain after a leaf is empty. */
	assert_int_equal(sk_X509_num(cert_ca_chain(ca)), 0);
	assert_int_equal(X509_cmp(cert_ca_cert(ca), root), 0);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(root), &na), 0);
	assert_true(cert_ca_not_after(ca) == na);
	assert_non_null(cert_ca_md(ca));
	cert_ca_free(ca);
	cert_ca_free(NULL);
	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void
load_intermediate(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*rk = key_ec(), *ik = key_ec();
	X509			*root, *inter;
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err;
	struct cert_ca		*ca;

	root = make_cert("Test Root", rk, NULL, NULL, 1, -DAY, 30 * DAY);
	inter = make_cert("Test Issuing CA", ik, root, rk, 1, -DAY, 20 * DAY);
	write_key(f->key, ik);

	/* The intermediate alone: it is served itself. */
	write_certs(f->cert, inter, NULL);
	assert_non_null(ca = cert_ca_load(&conf, &err));
	assert_int_equal(sk_X509_num(cert_ca_chain(ca)), 1);
	assert_int_equal(X509_cmp(sk_X509_value(cert_ca_chain(ca), 0), inter),
	    0);
	cert_ca_free(ca);

	/* The intermediate followed by the root, in one file. */
	unlink(f->cert);
	write_certs(f->cert, inter, root, NULL);
	assert_non_null(ca = cert_ca_load(&conf, &err));
	assert_int_equal(sk_X509_num(cert_ca_chain(ca)), 2);
	assert_int_equal(X509_cmp(sk_X509_value(cert_ca_chain(ca), 0), inter),
	    0);
	assert_int_equal(X509_cmp(sk_X509_value(cert_ca_chain(ca), 1), root),
	    0);
	cert_ca_free(ca);

	/* The root in a separate chain file. */
	unlink(f->cert);
	write_certs(f->cert, inter, NULL);
	write_certs(f->chain, root, NULL);
	conf.chain_file = f->chain;
	assert_non_null(ca = cert_ca_load(&conf, &err));
	assert_int_equal(sk_X509_num(cert_ca_chain(ca)), 2);
	assert_int_equal(X509_cmp(sk_X509_value(cert_ca_chain(ca), 1), root),
	    0);
	cert_ca_free(ca);

	X509_free(root);
	X509_free(inter);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	fx_free(f);
}

static void
load_mismatch(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_ec(), *other = key_ec();
	X509			*root = make_cert("Test Root", k, NULL, NULL, 1,
				    -DAY, 30 * DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err = { "" };

	write_certs(f->cert, root, NULL);
	write_key(f->key, other);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "does not match"));
	X509_free(root);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	fx_free(f);
}

static void
load_missing(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_ec();
	X509			*root = make_cert("Test Root", k, NULL, NULL, 1,
				    -DAY, 30 * DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err = { "" };

	/* No certificate file. */
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, f->cert));
	assert_non_null(strstr(err.msg, "No such file"));

	/* No key file. */
	write_certs(f->cert, root, NULL);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, f->key));

	/* A chain file that is named but missing. */
	write_key(f->key, k);
	conf.chain_file = f->chain;
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, f->chain));

	/* No names at all. */
	conf.cert_file = NULL;
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "no CA certificate file"));

	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void
load_not_ca(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*rk = key_ec(), *lk = key_ec();
	X509			*root, *leaf;
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err;

	root = make_cert("Test Root", rk, NULL, NULL, 1, -DAY, 30 * DAY);
	leaf = make_cert("leaf.example", lk, root, rk, 0, -DAY, 30 * DAY);
	write_certs(f->cert, leaf, NULL);
	write_key(f->key, lk);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "may not sign"));
	X509_free(root);
	X509_free(leaf);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(lk);
	fx_free(f);
}

static void
load_expired(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_ec();
	X509			*root = make_cert("Old Root", k, NULL, NULL, 1,
				    -30 * DAY, -DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err;

	write_certs(f->cert, root, NULL);
	write_key(f->key, k);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "not valid now"));
	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void
load_bad_files(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_ec();
	X509			*root = make_cert("Test Root", k, NULL, NULL, 1,
				    -DAY, 30 * DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err;
	FILE			*fp;

	/* A certificate file without a certificate. */
	write_text(f->cert, "hello\n");
	write_key(f->key, k);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "no PEM certificate"));

	/* A broken certificate after a good one. */
	unlink(f->cert);
	write_certs(f->cert, root, NULL);
	assert_non_null(fp = fopen(f->cert, "a"));
	fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	    fp);
	fclose(fp);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "unreadable certificate"));

	/* A key file with no key. */
	unlink(f->cert);
	write_certs(f->cert, root, NULL);
	unlink(f->key);
	write_text(f->key, "-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n");
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "no unencrypted PEM private key"));

	/* An encrypted key: refused, never prompted for. */
	unlink(f->key);
	assert_non_null(fp = fopen(f->key, "w"));
	assert_int_equal(PEM_write_PKCS8PrivateKey(fp, k,
	    EVP_aes_256_cbc(), "secret", 6, NULL, NULL), 1);
	fclose(fp);
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "no unencrypted PEM private key"));

	/* A directory is not a file. */
	conf.key_file = f->dir;
	assert_null(cert_ca_load(&conf, &err));
	assert_non_null(strstr(err.msg, "not a regular file"));

	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void
load_rsa(void **state)
{
	struct fx		*f = fx_new();
	EVP_PKEY		*k = key_rsa();
	X509			*root = make_cert("RSA Root", k, NULL, NULL, 1,
				    -DAY, 30 * DAY);
	struct cert_ca_conf	 conf = { f->cert, f->key, NULL, 1 };
	struct cert_err		 err;
	struct cert_ca		*ca;

	write_certs(f->cert, root, NULL);
	write_key(f->key, k);
	assert_non_null(ca = cert_ca_load(&conf, &err));
	assert_ptr_equal(cert_ca_md(ca), EVP_sha256());
	cert_ca_free(ca);
	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

static void
init_creates(void **state)
{
	struct fx		*f = fx_new();
	char			 sub[512];
	struct cert_ca_init_req	 req;
	struct cert_ca_conf	 conf;
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct stat		 st;
	X509			*x;
	FILE			*fp;
	char			 cn[128];

	/* A directory that does not exist yet is created 0700. */
	path_in(sub, sizeof(sub), f->dir, "ca");
	memset(&req, 0, sizeof(req));
	req.dir = sub;
	req.name = "Acme egress CA";
	req.days = 30;
	assert_int_equal(cert_ca_init(&req, &err), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	path_in(f->cert, sizeof(f->cert), sub, "ca.pem");
	path_in(f->key, sizeof(f->key), sub, "ca-key.pem");
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->cert, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	/* The result is a self-signed P-256 root that loads. */
	assert_non_null(fp = fopen(f->cert, "r"));
	assert_non_null(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	assert_true(X509_check_ca(x) > 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
	assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Acme egress CA");
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(x), "EC"));
	X509_free(x);
	conf.cert_file = f->cert;
	conf.key_file = f->key;
	conf.chain_file = NULL;
	conf.allow_unconstrained = 0;	/* it is name-constrained */
	assert_non_null(ca = cert_ca_load(&conf, &err));
	assert_int_equal(cert_ca_constrained(ca), 1);
	assert_true(cert_ca_not_after(ca) > time(NULL) + 29 * DAY);
	assert_true(cert_ca_not_after(ca) <= time(NULL) + 30 * DAY);
	cert_ca_free(ca);

	/* A second run refuses and leaves the files alone. */
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(cert_ca_init(&req, &err), -1);
	assert_non_null(strstr(err.msg, "not overwriting"));
	assert_non_null(ca = cert_ca_load(&conf, &err));
	cert_ca_free(ca);

	/* Only the key there: still refused, no certificate written. */
	unlink(f->cert);
	assert_int_equal(cert_ca_init(&req, &err), -1);
	assert_non_null(strstr(err.msg, "not overwriting"));
	assert_int_equal(stat(f->cert, &st), -1);

	tmpdir_remove(sub);
	fx_free(f);
}

static void
init_refuses(void **state)
{
	struct fx		*f = fx_new();
	struct cert_ca_init_req	 req;
	struct cert_err		 err;
	char			 longname[100];
	struct stat		 st;

	memset(&req, 0, sizeof(req));
	req.dir = f->dir;
	req.days = CERT_CA_DAYS_MAX + 1;
	assert_int_equal(cert_ca_init(&req, &err), -1);
	assert_non_null(strstr(err.msg, "--days"));
	req.days = -1;
	assert_int_equal(cert_ca_init(&req, &err), -1);
	req.days = 0;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	req.name = longname;
	assert_int_equal(cert_ca_init(&req, &err), -1);
	req.name = "bad\nname";
	assert_int_equal(cert_ca_init(&req, &err), -1);
	req.name = "";
	assert_int_equal(cert_ca_init(&req, &err), -1);
	req.name = NULL;
	req.dir = "";
	assert_int_equal(cert_ca_init(&req, &err), -1);
	/* A file where the directory should be. */
	path_in(f->cert, sizeof(f->cert), f->dir, "file");
	write_text(f->cert, "x");
	req.dir = f->cert;
	assert_int_equal(cert_ca_init(&req, &err), -1);
	assert_non_null(strstr(err.msg, "not a directory"));
	/* Nothing was written by any refusal. */
	path_in(f->key, sizeof(f->key), f->dir, "ca-key.pem");
	assert_int_equal(stat(f->key, &st), -1);
	/* Defaults work. */
	req.dir = f->dir;
	assert_int_equal(cert_ca_init(&req, &err), 0);
	fx_free(f);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(load_root),
		cmocka_unit_test(load_intermediate),
		cmocka_unit_test(load_mismatch),
		cmocka_unit_test(load_missing),
		cmocka_unit_test(load_not_ca),
		cmocka_unit_test(load_expired),
		cmocka_unit_test(load_bad_files),
		cmocka_unit_test(load_rsa),
		cmocka_unit_test(init_creates),
		cmocka_unit_test(init_refuses),
	};

	return certs_test_run("certs_ca", tests,
	    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
