/*
 * tests/unit/proxy/px_testcert.h: a self-signed P-256 certificate for the
 * proxy's unit tests (a static helper, included by each test that needs
 * one): test_egress's corporate root, test_tls_fill's fake upstream.
 */
#ifndef PX_TESTCERT_H
#define PX_TESTCERT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/*
 * tc_self_signed() : a self-signed certificate named CN=cn with serial
 * serial, valid from a day ago for days days, with the one extension
 * nid = value (e.g. NID_basic_constraints "critical,CA:TRUE"); its new
 * key in *kp.  The caller frees both.
 */
static __attribute__((unused)) X509 *
tc_self_signed(EVP_PKEY **kp, long serial, const char *cn, long days,
    int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*e;
	EVP_PKEY	*k;
	X509		*x;
	time_t		 now = time(NULL);

	assert_non_null(k = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0,
	    &now));
	assert_int_equal(X509_set_pubkey(x, k), 1);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	assert_non_null(e = X509V3_EXT_nconf_nid(NULL, &v3, nid, value));
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	*kp = k;
	return x;
}

#endif /* PX_TESTCERT_H */
