/*
 * tests/unit/certs/mint_leaf.c: a test tool, never installed.  Loads a CA
 * with cert_ca_load, mints one leaf with cert_mint_sign (the plain-data
 * request/reply) and writes OUTDIR/leaf.pem (leaf, then the served chain)
 * and OUTDIR/leaf-key.pem, so that ca_init.sh can check the result with
 * `openssl verify` and a real node TLS client.  Writing the leaf key out
 * is for tests only: pubgate itself never lets it leave certs/.
 *
 * usage: mint_leaf CA_CERT CA_KEY HOST OUTDIR; exit 0 or 2.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "certs-int.h"

int
main(int argc, char *argv[])
{
	struct cert_ca_conf	 conf;
	struct cert_mint_req	 req;
	static struct cert_mint_reply reply;
	struct cert_err		 err;
	struct cert_ca		*ca = NULL;
	struct cert_mint	*mint = NULL;
	const unsigned char	*p;
	STACK_OF(X509)		*chain;
	X509			*leaf = NULL;
	FILE			*f = NULL;
	char			 path[4096];
	int			 i, rc = 2;

	if (argc != 5) {
		fprintf(stderr,
		    "usage: mint_leaf CA_CERT CA_KEY HOST OUTDIR\n");
		return 2;
	}
	conf.cert_file = argv[1];
	conf.key_file = argv[2];
	conf.chain_file = NULL;
	conf.allow_unconstrained = 0;	/* `pubgate ca init` CAs are constrained */
	if ((ca = cert_ca_load(&conf, &err)) == NULL ||
	    (mint = cert_mint_new(ca, &err)) == NULL) {
		fprintf(stderr, "mint_leaf: %s\n", err.msg);
		goto done;
	}
	memset(&req, 0, sizeof(req));
	snprintf(req.host, sizeof(req.host), "%s", argv[3]);
	if (cert_mint_sign(mint, &req, &reply, &err) == -1) {
		fprintf(stderr, "mint_leaf: %s\n", err.msg);
		goto done;
	}
	p = reply.der;
	if ((leaf = d2i_X509(NULL, &p, (long)reply.der_len)) == NULL)
		goto done;

	snprintf(path, sizeof(path), "%s/leaf.pem", argv[4]);
	if ((f = fopen(path, "w")) == NULL || PEM_write_X509(f, leaf) != 1)
		goto done;
	chain = cert_mint_chain(mint);
	for (i = 0; i < sk_X509_num(chain); i++)
		if (PEM_write_X509(f, sk_X509_value(chain, i)) != 1)
			goto done;
	if (fclose(f) != 0) {
		f = NULL;
		goto done;
	}
	snprintf(path, sizeof(path), "%s/leaf-key.pem", argv[4]);
	if ((f = fopen(path, "w")) == NULL ||
	    PEM_write_PrivateKey(f, cert_mint_key(mint), NULL, NULL, 0, NULL,
	    NULL) != 1)
		goto done;
	rc = 0;
 done:
	if (f != NULL && fclose(f) != 0)
		rc = 2;
	if (rc != 0)
		fprintf(stderr, "mint_leaf: failed\n");
	X509_free(leaf);
	cert_mint_free(mint);
	cert_ca_free(ca);
	return rc;
}
