/*
 * tests/unit/certs/test_mint.c: certs/mint.c.  A minted leaf verifies with
 * X509_verify_cert against the root alone (directly, or through the
 * intermediate served as the untrusted chain), matches its host with
 * X509_check_host / X509_check_ip_asc and nothing else, has the promised
 * validity, extensions and key, and a fresh random serial every time.
 * Host names are checked and lower-cased.  Each case runs in its own
 * process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "certs_test.h"
#include "certs-int.h"

/* mint() : signs a leaf for host; returns it parsed (caller frees). */
static X509 *
mint(struct ca_fx *f, const char *host, time_t now,
    struct cert_mint_reply *reply)
{
	struct cert_mint_req	 req;
	struct cert_err		 err = { "" };
	const unsigned char	*p;
	X509			*x;

	memset(&req, 0, sizeof(req));
	snprintf(req.host, sizeof(req.host), "%s", host);
	req.now = now;
	if (cert_mint_sign(f->mint, &req, reply, &err) != 0)
		fail_msg("cert_mint_sign(%s): %s", host, err.msg);
	p = reply->der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)reply->der_len));
	assert_ptr_equal(p, reply->der + reply->der_len);
	return x;
}

/*
 * verify() : X509_verify_cert of leaf for purpose sslserver, trusting only
 * the root, with chain (may be NULL) as untrusted certificates.  Returns
 * the verification error (X509_V_OK on success).
 */
static int
verify(X509 *root, X509 *leaf, STACK_OF(X509) *chain, const char *host)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx;
	int		 rc;

	assert_non_null(store = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	if (host != NULL)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(
		    X509_STORE_CTX_get0_param(ctx), host, 0), 1);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

static void
verify_root(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "registry.npmjs.org", 0, r);
	assert_string_equal(r->host, "registry.npmjs.org");
	assert_int_equal(verify(f->root, leaf, NULL, "registry.npmjs.org"),
	    X509_V_OK);
	assert_int_equal(verify(f->root, leaf, NULL, "evil.example"),
	    X509_V_ERR_HOSTNAME_MISMATCH);
	assert_int_equal(X509_check_host(leaf, "registry.npmjs.org", 0, 0,
	    NULL), 1);
	assert_int_equal(X509_check_host(leaf, "REGISTRY.NPMJS.ORG", 0, 0,
	    NULL), 1);
	assert_int_equal(X509_check_host(leaf, "npmjs.org", 0, 0, NULL), 0);
	assert_int_equal(X509_check_host(leaf, "x.registry.npmjs.org", 0, 0,
	    NULL), 0);
	/* Signed by the CA key: the signature checks with the root's key. */
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(f->root)), 1);
	assert_int_equal(cert_mint_count(f->mint), 1);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
verify_intermediate(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 100 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf;
	STACK_OF(X509)		*chain = cert_mint_chain(f->mint);

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "registry.npmjs.org", 0, r);
	/* The served chain is the intermediate; with it the root suffices. */
	assert_int_equal(sk_X509_num(chain), 1);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), f->inter), 0);
	assert_int_equal(verify(f->root, leaf, chain, "registry.npmjs.org"),
	    X509_V_OK);
	/* Without it a client that trusts only the root cannot build one. */
	assert_int_equal(verify(f->root, leaf, NULL, "registry.npmjs.org"),
	    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	assert_int_equal(X509_verify(leaf, X509_get0_pubkey(f->inter)), 1);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
verify_rsa_root(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 1);
	struct cert_mint_reply	*r;
	X509			*leaf;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "registry.yarnpkg.com", 0, r);
	assert_int_equal(verify(f->root, leaf, NULL, "registry.yarnpkg.com"),
	    X509_V_OK);
	assert_int_equal(X509_get_signature_nid(leaf),
	    NID_sha256WithRSAEncryption);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
ip_literal(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "127.0.0.1", 0, r);
	assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "127.0.0.2", 0), 0);
	assert_int_equal(X509_check_host(leaf, "localhost", 0, 0, NULL), 0);
	X509_free(leaf);
	leaf = mint(f, "::1", 0, r);
	assert_int_equal(X509_check_ip_asc(leaf, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(leaf, "0:0::1", 0), 1);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
validity(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf;
	time_t			 now = time(NULL), nb, na;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "a.example", now, r);
	assert_int_equal(cert_asn1_time(X509_get0_notBefore(leaf), &nb), 0);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(leaf), &na), 0);
	assert_true(nb == now - CERT_LEAF_BACKDATE);
	assert_true(na == now + CERT_LEAF_DAYS * DAY);
	assert_true(r->not_before == nb && r->not_after == na);
	X509_free(leaf);

	/* At a later time the window moves with it. */
	leaf = mint(f, "a.example", now + 10 * DAY, r);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(leaf), &na), 0);
	assert_true(na == now + 17 * DAY);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
validity_capped(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 2 * DAY, 0);
	struct cert_mint_reply	*r;
	struct cert_mint_req	 req;
	struct cert_err		 err;
	X509			*leaf;
	time_t			 now = time(NULL), na, ca_na;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "a.example", now, r);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(leaf), &na), 0);
	assert_int_equal(cert_asn1_time(X509_get0_notAfter(f->inter), &ca_na),
	    0);
	assert_true(na == ca_na);
	assert_true(na == cert_ca_not_after(f->ca));
	/* The leaf still verifies: it never outlives its issuer. */
	assert_int_equal(verify(f->root, leaf, cert_mint_chain(f->mint),
	    "a.example"), X509_V_OK);
	X509_free(leaf);

	/* Once the CA has expired nothing is minted. */
	memset(&req, 0, sizeof(req));
	strcpy(req.host, "a.example");
	req.now = now + 3 * DAY;
	assert_int_equal(cert_mint_sign(f->mint, &req, r, &err), -1);
	assert_non_null(strstr(err.msg, "not valid now"));
	assert_int_equal(r->der_len, 0);
	free(r);
	ca_fx_free(f);
}

static void
serials(void **state)
{
	enum { N = 64 };
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_mint_reply	*r;
	unsigned char		 seen[N][CERT_SERIAL_LEN];
	X509			*leaf;
	BIGNUM			*bn;
	int			 i, j;

	assert_non_null(r = malloc(sizeof(*r)));
	for (i = 0; i < N; i++) {
		leaf = mint(f, "same.example", 0, r);
		memcpy(seen[i], r->serial, CERT_SERIAL_LEN);
		/* Positive, and what the certificate carries. */
		assert_true(r->serial[0] < 0x80);
		assert_non_null(bn = ASN1_INTEGER_to_BN(
		    X509_get0_serialNumber(leaf), NULL));
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		assert_true(BN_num_bytes(bn) >= CERT_SERIAL_LEN - 1);
		assert_true(BN_num_bytes(bn) <= CERT_SERIAL_LEN);
		BN_free(bn);
		X509_free(leaf);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j],
			    CERT_SERIAL_LEN);
	}
	assert_int_equal(cert_mint_count(f->mint), N);
	free(r);
	ca_fx_free(f);
}

static void
extensions(void **state)
{
	struct ca_fx		*f = ca_fx_new(1, 100 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf, *leaf2;
	const ASN1_OCTET_STRING	*akid_keyid, *ca_skid;
	AUTHORITY_KEYID		*akid;
	GENERAL_NAMES		*gens;
	char			 cn[128];
	int			 crit, nid;

	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, "Registry.NPMJS.org", 0, r);
	assert_string_equal(r->host, "registry.npmjs.org");
	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
	/* Not a CA; digitalSignature only; serverAuth. */
	assert_int_equal(X509_check_ca(leaf), 0);
	assert_true(X509_get_extension_flags(leaf) & EXFLAG_BCONS);
	assert_int_equal(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	/* CN = the host; issuer = the CA's subject. */
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "registry.npmjs.org");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(f->inter)), 0);
	/* SAN is not critical when there is a subject. */
	assert_non_null(gens = X509_get_ext_d2i(leaf, NID_subject_alt_name,
	    &crit, NULL));
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	GENERAL_NAMES_free(gens);
	assert_int_equal(crit, 0);
	/* SKID present; AKID names the CA's SKID. */
	assert_non_null(X509_get0_subject_key_id(leaf));
	assert_non_null(ca_skid = X509_get0_subject_key_id(f->inter));
	assert_non_null(akid = X509_get_ext_d2i(leaf,
	    NID_authority_key_identifier, NULL, NULL));
	assert_non_null(akid_keyid = akid->keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid_keyid, ca_skid), 0);
	AUTHORITY_KEYID_free(akid);
	/* An ECDSA P-256 key, ecdsa-with-SHA256 by a P-256 CA. */
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(leaf), "EC"));
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(leaf)), 256);
	nid = X509_get_signature_nid(leaf);
	assert_int_equal(nid, NID_ecdsa_with_SHA256);
	/* The one leaf key: every leaf carries the same public key. */
	leaf2 = mint(f, "other.example", 0, r);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf),
	    X509_get0_pubkey(leaf2)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf),
	    cert_mint_key(f->mint)), 1);
	X509_free(leaf2);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
long_host(void **state)
{
	struct ca_fx		*f = ca_fx_new(0, 365 * DAY, 0);
	struct cert_mint_reply	*r;
	X509			*leaf;
	char			 host[CERT_HOST_MAX + 1];
	int			 crit;

	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters. */
	memset(host, 'a', sizeof(host));
	host[63] = host[127] = host[191] = '.';
	strcpy(host + 192, "b");
	memset(host + 193, 'c', 59);
	memcpy(host + 252, "m", 2);
	assert_int_equal(strlen(host), CERT_HOST_MAX);
	assert_non_null(r = malloc(sizeof(*r)));
	leaf = mint(f, host, 0, r);
	/* No CN (over 64 characters): the subject is empty, SAN critical. */
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)),
	    0);
	GENERAL_NAMES_free(X509_get_ext_d2i(leaf, NID_subject_alt_name,
	    &crit, NULL));
	assert_int_equal(crit, 1);
	assert_int_equal(verify(f->root, leaf, NULL, host), X509_V_OK);
	X509_free(leaf);
	free(r);
	ca_fx_free(f);
}

static void
host_names(void **state)
{
	static const char *const bad[] = {
		"", "*.npmjs.org", "a..b", ".a.b", "a.b.", "-a.example",
		"a-.example", "1.2.3", "999.1.1.1", "[::1]", "host:443",
		"a b.example", "a/b.example", "caf\xc3\xa9.example",
		"a.example\n", "under%score.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		".example",	/* a 64-character label */
	};
	char			 out[CERT_HOST_MAX + 1], big[400];
	struct cert_err		 err;
	struct cert_mint_req	 req;
	struct cert_mint_reply	*r;
	struct ca_fx		*f;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (cert_mint_host_norm(bad[i], out, &err) != -1)
			fail_msg("accepted host \"%s\"", bad[i]);
		assert_true(err.msg[0] != '\0');
	}
	assert_int_equal(cert_mint_host_norm(NULL, out, &err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(cert_mint_host_norm(big, out, &err), -1);
	assert_non_null(strstr(err.msg, "longer than"));

	assert_int_equal(cert_mint_host_norm("Registry.NPMJS.Org", out, &err),
	    0);
	assert_string_equal(out, "registry.npmjs.org");
	assert_int_equal(cert_mint_host_norm("localhost", out, &err), 0);
	assert_int_equal(cert_mint_host_norm("my_host.corp", out, &err), 0);
	assert_int_equal(cert_mint_host_norm("npm-1.corp9", out, &err), 0);
	assert_int_equal(cert_mint_host_norm("10.0.0.1", out, &err), 0);
	assert_int_equal(cert_mint_host_norm("FE80::1", out, &err), 0);
	assert_string_equal(out, "fe80::1");

	/* cert_mint_sign refuses the same names, and unterminated ones. */
	f = ca_fx_new(0, 365 * DAY, 0);
	assert_non_null(r = malloc(sizeof(*r)));
	memset(&req, 0, sizeof(req));
	strcpy(req.host, "*.npmjs.org");
	assert_int_equal(cert_mint_sign(f->mint, &req, r, &err), -1);
	memset(req.host, 'a', sizeof(req.host));
	assert_int_equal(cert_mint_sign(f->mint, &req, r, &err), -1);
	assert_non_null(strstr(err.msg, "not terminated"));
	assert_int_equal(cert_mint_count(f->mint), 0);
	free(r);
	ca_fx_free(f);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verify_root),
		cmocka_unit_test(verify_intermediate),
		cmocka_unit_test(verify_rsa_root),
		cmocka_unit_test(ip_literal),
		cmocka_unit_test(validity),
		cmocka_unit_test(validity_capped),
		cmocka_unit_test(serials),
		cmocka_unit_test(extensions),
		cmocka_unit_test(long_host),
		cmocka_unit_test(host_names),
	};

	return certs_test_run("certs_mint", tests,
	    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
