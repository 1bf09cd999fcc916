/*
 * tests/unit/certs/test_nc.c: certs/nc.c, name constraints, and what they
 * buy: the CA of `pubgate ca init` carries a critical NameConstraints
 * extension (permitted DNS = the registry hosts, every IP excluded);
 * minting for a permitted host works and OpenSSL's chain verification
 * (X509_verify_cert, which enforces name constraints) accepts the leaf;
 * minting for any other host (a bank, a parent or sibling domain, an IP
 * address) is refused before signing; OpenSSL itself rejects a leaf for a
 * bank signed with the CA key by hand (what a thief of the key would do);
 * a CA without constraints is refused unless allowed explicitly; the
 * DNS matcher agrees with X509_verify_cert host by host; a reload (a
 * second load of the same files, or a failing one) keeps working.  Each
 * case runs in its own process.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs_test.h"
#include "certs-int.h"

struct fx {
	char		 dir[256];
	char		 cert[512], key[512], chain[512];
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

/* init_ca() : cert_ca_init() into f->dir with these permitted names. */
static void
init_ca(struct fx *f, const char *const *permit, size_t n)
{
	struct cert_ca_init_req	 req;
	struct cert_err		 err;

	memset(&req, 0, sizeof(req));
	req.dir = f->dir;
	req.permit = permit;
	req.npermit = n;
	if (cert_ca_init(&req, &err) == -1)
		fail_msg("cert_ca_init: %s", err.msg);
}

static struct cert_ca *
load(struct fx *f, const char *chain, int allow, struct cert_err *err)
{
	struct cert_ca_conf	 conf;

	memset(&conf, 0, sizeof(conf));
	conf.cert_file = f->cert;
	conf.key_file = f->key;
	conf.chain_file = chain;
	conf.allow_unconstrained = allow;
	return cert_ca_load(&conf, err);
}

static X509 *
read_cert(const char *path)
{
	FILE	*fp;
	X509	*x;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(x = PEM_read_X509(fp, NULL, NULL, NULL));
	fclose(fp);
	return x;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE		*fp;
	EVP_PKEY	*k;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(k = PEM_read_PrivateKey(fp, NULL, NULL, NULL));
	fclose(fp);
	return k;
}

/*
 * verify() : OpenSSL's chain verification of leaf for host, trusting root
 * only, with untrusted intermediates (may be NULL).  Returns the
 * X509_V_* result.
 */
static int
verify(X509 *root, STACK_OF(X509) *untrusted, X509 *leaf, const char *host)
{
	X509_STORE	*st;
	X509_STORE_CTX	*ctx;
	int		 rc;

	assert_non_null(st = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(st, root), 1);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, st, leaf, untrusted), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx,
	    X509_PURPOSE_SSL_SERVER), 1);
	if (host != NULL)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(
		    X509_STORE_CTX_get0_param(ctx), host, 0), 1);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return rc;
}

/* mint() : cert_mint_sign for host; the leaf parsed, or NULL + *err. */
static X509 *
mint(struct cert_mint *m, const char *host, struct cert_err *err)
{
	static struct cert_mint_reply	 r;
	struct cert_mint_req		 req;
	const unsigned char		*p;
	X509				*x;

	memset(&req, 0, sizeof(req));
	snprintf(req.host, sizeof(req.host), "%s", host);
	if (cert_mint_sign(m, &req, &r, err) == -1)
		return NULL;
	p = r.der;
	assert_non_null(x = d2i_X509(NULL, &p, (long)r.der_len));
	return x;
}

/* hand_leaf() : a leaf for host (DNS or IP SAN) signed by ikey directly. */
static X509 *
hand_leaf(const char *host, X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *lk)
{
	char		 san[300];
	unsigned char	 a[16];
	int		 ip = inet_pton(AF_INET, host, a) == 1 ||
			    inet_pton(AF_INET6, host, a) == 1;

	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", host);
	return make_cert_ext(ip ? "leaf" : host, lk, issuer, ikey, 0, -3600,
	    DAY, NULL, san);
}

/*
 * init_has_constraints() : the CA of `pubgate ca init` carries a critical
 * NameConstraints extension: permitted DNS registry.npmjs.org (the
 * default), excluded 0.0.0.0/0 and ::/0; and pathlen:0.
 */
static void
init_has_constraints(void **state)
{
	struct fx		*f = fx_new();
	NAME_CONSTRAINTS	*nc;
	GENERAL_SUBTREE		*st;
	X509_EXTENSION		*e;
	X509			*x;
	const unsigned char	*d;
	int			 i, crit, j;

	init_ca(f, NULL, 0);
	x = read_cert(f->cert);
	assert_true((i = X509_get_ext_by_NID(x, NID_name_constraints, -1)) >=
	    0);
	assert_non_null(e = X509_get_ext(x, i));
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_name_constraints, i), -1);
	assert_non_null(nc = X509_get_ext_d2i(x, NID_name_constraints, &crit,
	    NULL));
	assert_int_equal(crit, 1);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 1);
	st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, 0);
	assert_int_equal(st->base->type, GEN_DNS);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    st->base->d.dNSName), "registry.npmjs.org");
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 2);
	for (i = 0; i < 2; i++) {
		st = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i);
		assert_int_equal(st->base->type, GEN_IPADD);
		assert_int_equal(ASN1_STRING_length(st->base->d.iPAddress),
		    i == 0 ? 8 : 32);
		d = ASN1_STRING_get0_data(st->base->d.iPAddress);
		for (j = 0; j < ASN1_STRING_length(st->base->d.iPAddress); j++)
			assert_int_equal(d[j], 0);
	}
	NAME_CONSTRAINTS_free(nc);
	/* pathlen:0: no sub-CA can be made with the key either. */
	assert_int_equal(X509_get_pathlen(x), 0);
	X509_free(x);
	fx_free(f);
}

/* init_permit_list() : --permit names: normalised, deduplicated, checked. */
static void
init_permit_list(void **state)
{
	static const char *const good[] = { "Registry.NPMJS.org",
	    ".corp.example", "registry.npmjs.org", "npm.internal" };
	static const char *const bad[] = { "10.0.0.1", "::1", "*.x.com", "",
	    ".", "a..b", "x.com.", "host:443", "a b", "-a.com", "..x.com" };
	const char		*many[CERT_CA_PERMIT_MAX + 1];
	struct fx		*f = fx_new();
	struct cert_ca_init_req	 req;
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct stat		 sb;
	char			 list[200];
	size_t			 i;

	memset(&req, 0, sizeof(req));
	req.dir = f->dir;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req.permit = &bad[i];
		req.npermit = 1;
		if (cert_ca_init(&req, &err) != -1)
			fail_msg("accepted permitted name \"%s\"", bad[i]);
		assert_non_null(strstr(err.msg, "permitted name"));
	}
	for (i = 0; i < CERT_CA_PERMIT_MAX + 1; i++)
		many[i] = "a.example";
	req.permit = many;
	req.npermit = CERT_CA_PERMIT_MAX + 1;
	assert_int_equal(cert_ca_init(&req, &err), -1);
	assert_int_equal(stat(f->key, &sb), -1);	/* nothing written */
	assert_int_equal(stat(f->cert, &sb), -1);

	init_ca(f, good, 4);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_int_equal(cert_ca_constrained(ca), 1);
	cert_ca_describe(ca, list, sizeof(list));
	assert_string_equal(list,
	    "registry.npmjs.org, .corp.example, npm.internal");
	cert_ca_free(ca);
	fx_free(f);
}

/*
 * mint_permitted_verifies() : leaves for permitted hosts are minted and
 * OpenSSL's X509_verify_cert (name constraints included) accepts them.
 */
static void
mint_permitted_verifies(void **state)
{
	static const char *const permit[] = { "registry.npmjs.org",
	    ".corp.example" };
	static const char *const ok[] = { "registry.npmjs.org",
	    "REGISTRY.npmjs.org", "mirror.registry.npmjs.org",
	    "npm.corp.example", "a.b.corp.example" };
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct cert_mint	*m;
	X509			*root, *leaf;
	size_t			 i;

	init_ca(f, permit, 2);
	root = read_cert(f->cert);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_non_null(m = cert_mint_new(ca, &err));
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if ((leaf = mint(m, ok[i], &err)) == NULL)
			fail_msg("mint %s: %s", ok[i], err.msg);
		assert_int_equal(cert_ca_permits(ca, ok[i], &err), 0);
		assert_int_equal(verify(root, NULL, leaf, ok[i]), X509_V_OK);
		X509_free(leaf);
	}
	assert_int_equal(cert_mint_count(m), 5);
	cert_mint_free(m);
	cert_ca_free(ca);
	X509_free(root);
	fx_free(f);
}

/*
 * mint_outside_refused() : a bank, a parent, a sibling, a look-alike
 * suffix, the bare domain of a ".x" subtree and IP addresses are refused
 * before anything is signed, by cert_mint_sign and by the cache alike.
 */
static void
mint_outside_refused(void **state)
{
	static const char *const permit[] = { "registry.npmjs.org",
	    ".corp.example" };
	static const char *const no[] = { "www.bank.example", "bank.example",
	    "npmjs.org", "www.npmjs.org", "xregistry.npmjs.org",
	    "registry.npmjs.org.evil.example", "corp.example",
	    "evilcorp.example", "mail.google.com", "10.0.0.1", "127.0.0.1",
	    "::1", "2001:db8::1" };
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct cert_mint	*m;
	struct cert_cache	*c;
	struct cert_cache_stats	 cs;
	size_t			 i;

	init_ca(f, permit, 2);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_non_null(m = cert_mint_new(ca, &err));
	assert_non_null(c = cert_cache_new(m, 4, &err));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (mint(m, no[i], &err) != NULL)
			fail_msg("minted a leaf for %s", no[i]);
		if (strstr(err.msg, "outside the CA's name constraints") ==
		    NULL && strstr(err.msg, "excluded by the CA's name "
		    "constraints") == NULL)
			fail_msg("%s: %s", no[i], err.msg);
		assert_non_null(strstr(err.msg, "registry.npmjs.org"));
		assert_int_equal(cert_ca_permits(ca, no[i], &err), -1);
		assert_null(cert_cache_get(c, no[i], &err));
	}
	assert_int_equal(cert_mint_count(m), 0);	/* nothing signed */
	cert_cache_stats(c, &cs);
	assert_int_equal(cs.size, 0);
	cert_cache_free(c);
	cert_mint_free(m);
	cert_ca_free(ca);
	fx_free(f);
}

/*
 * stolen_key_rejected() : what the constraint guarantees even when the
 * CA key is stolen: a leaf for a bank (or an IP address) signed with it
 * by hand, outside pubgate, is rejected by X509_verify_cert with a name
 * constraints violation, while the same hand-made leaf for the registry
 * verifies.  Also, certs/' second reading (OpenSSL's NAME_CONSTRAINTS_check
 * on the finished leaf, cert_ca_check_leaf) refuses the bank's leaf.
 */
static void
stolen_key_rejected(void **state)
{
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	EVP_PKEY		*cak, *lk = key_ec();
	X509			*root, *leaf;

	init_ca(f, NULL, 0);
	root = read_cert(f->cert);
	cak = read_key(f->key);
	assert_non_null(ca = load(f, NULL, 0, &err));

	leaf = hand_leaf("registry.npmjs.org", root, cak, lk);
	assert_int_equal(verify(root, NULL, leaf, "registry.npmjs.org"),
	    X509_V_OK);
	assert_int_equal(cert_ca_check_leaf(ca, leaf, &err), 0);
	X509_free(leaf);

	leaf = hand_leaf("www.bank.example", root, cak, lk);
	assert_int_equal(verify(root, NULL, leaf, "www.bank.example"),
	    X509_V_ERR_PERMITTED_VIOLATION);
	assert_int_equal(cert_ca_check_leaf(ca, leaf, &err), -1);
	X509_free(leaf);

	leaf = hand_leaf("192.0.2.1", root, cak, lk);
	assert_int_equal(verify(root, NULL, leaf, NULL),
	    X509_V_ERR_EXCLUDED_VIOLATION);
	X509_free(leaf);
	leaf = hand_leaf("2001:db8::1", root, cak, lk);
	assert_int_equal(verify(root, NULL, leaf, NULL),
	    X509_V_ERR_EXCLUDED_VIOLATION);
	X509_free(leaf);

	cert_ca_free(ca);
	X509_free(root);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(lk);
	fx_free(f);
}

/*
 * unconstrained_refused() : a CA with no name constraints, or with some
 * that do not limit DNS names (only exclusions; an empty permitted DNS
 * name), is refused by default; allowed explicitly it loads, says so,
 * and still honours its exclusions.
 */
static void
unconstrained_refused(void **state)
{
	static const char *const nc[] = { NULL,
	    "critical,excluded;DNS:bank.example",
	    "critical,permitted;IP:10.0.0.0/255.0.0.0" };
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct cert_mint	*m;
	EVP_PKEY		*k = key_ec();
	X509			*root, *leaf;
	size_t			 i;

	for (i = 0; i < sizeof(nc) / sizeof(nc[0]); i++) {
		root = make_cert_ext("Corp Root", k, NULL, NULL, 1, -DAY,
		    30 * DAY, nc[i], NULL);
		unlink(f->cert);
		unlink(f->key);
		write_certs(f->cert, root, NULL);
		write_key(f->key, k);
		assert_null(load(f, NULL, 0, &err));
		assert_non_null(strstr(err.msg, "no name constraints"));
		assert_non_null(strstr(err.msg, f->cert));
		assert_non_null(ca = load(f, NULL, 1, &err));
		assert_int_equal(cert_ca_constrained(ca), 0);
		assert_non_null(m = cert_mint_new(ca, &err));
		assert_non_null(leaf = mint(m, "anything.example", &err));
		assert_int_equal(verify(root, NULL, leaf, "anything.example"),
		    X509_V_OK);
		X509_free(leaf);
		/* An exclusion still holds (RFC 5280 reading). */
		leaf = mint(m, "www.bank.example", &err);
		assert_true((leaf == NULL) == (i == 1));
		X509_free(leaf);
		cert_mint_free(m);
		cert_ca_free(ca);
		X509_free(root);
	}
	EVP_PKEY_free(k);
	fx_free(f);
}

/*
 * dns_semantics() : RFC 5280's DNS subtrees, host by host, checked
 * against OpenSSL's X509_verify_cert on a hand-made leaf: cert_ca_permits
 * accepts a host exactly when OpenSSL verifies its leaf (a differential
 * test of the matcher), and cert_mint_sign follows cert_ca_permits.
 */
static void
dns_semantics(void **state)
{
	static const char *const hosts[] = { "example.com", "a.example.com",
	    "A.EXAMPLE.COM", "x.y.example.com", "badexample.com",
	    "example.com.evil", "com", "bad.example.com", "x.bad.example.com",
	    "sub.test", "a.sub.test", "b.a.sub.test", "xsub.test", "test",
	    "npm.internal", "npm.internal.x", "other.org", "10.1.2.3",
	    "10.9.9.9", "11.0.0.1", "10.1.2.200", "fd00::1" };
	static const int want[] = { 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0,
	    1, 0, 0, 1, 0, 0, 0, 0 };
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct cert_mint	*m;
	EVP_PKEY		*k = key_ec(), *lk = key_ec();
	X509			*root, *leaf;
	size_t			 i;
	int			 perm, ossl;

	root = make_cert_ext("Corp Root", k, NULL, NULL, 1, -DAY, 30 * DAY,
	    "critical,permitted;DNS:Example.COM,permitted;DNS:.sub.test,"
	    "permitted;DNS:npm.internal,permitted;IP:10.1.0.0/255.255.0.0,"
	    "excluded;DNS:bad.example.com,excluded;IP:10.1.2.128/"
	    "255.255.255.128", NULL);
	write_certs(f->cert, root, NULL);
	write_key(f->key, k);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_int_equal(cert_ca_constrained(ca), 1);
	assert_non_null(m = cert_mint_new(ca, &err));
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		perm = cert_ca_permits(ca, hosts[i], &err) == 0;
		leaf = hand_leaf(hosts[i], root, k, lk);
		ossl = verify(root, NULL, leaf, NULL) == X509_V_OK;
		X509_free(leaf);
		if (perm != want[i] || ossl != want[i])
			fail_msg("%s: want %d, cert_ca_permits %d, "
			    "X509_verify_cert %d", hosts[i], want[i], perm,
			    ossl);
		leaf = mint(m, hosts[i], &err);
		assert_true((leaf != NULL) == want[i]);
		X509_free(leaf);
	}
	cert_mint_free(m);
	cert_ca_free(ca);
	X509_free(root);

	/*
	 * Stricter than RFC 5280 on purpose: a CA with no IP subtree at all
	 * leaves addresses open to OpenSSL, but pubgate mints only inside a
	 * permitted subtree of the name's type.
	 */
	root = make_cert_ext("Corp Root", k, NULL, NULL, 1, -DAY, 30 * DAY,
	    "critical,permitted;DNS:example.com", NULL);
	unlink(f->cert);
	write_certs(f->cert, root, NULL);
	assert_non_null(ca = load(f, NULL, 0, &err));
	leaf = hand_leaf("192.0.2.1", root, k, lk);
	assert_int_equal(verify(root, NULL, leaf, NULL), X509_V_OK);
	X509_free(leaf);
	assert_int_equal(cert_ca_permits(ca, "192.0.2.1", &err), -1);
	assert_non_null(strstr(err.msg, "outside"));
	cert_ca_free(ca);
	X509_free(root);
	EVP_PKEY_free(k);
	EVP_PKEY_free(lk);
	fx_free(f);
}

/*
 * corporate_chain() : a corporate root and an issuing intermediate.  The
 * intermediate pubgate signs with must carry the constraints itself; a
 * constrained root above an unconstrained intermediate is not enough by
 * default (a client may trust the intermediate directly), but its
 * constraints still bind what is minted when allowed.  A constrained
 * intermediate under an unconstrained root loads, and its leaves verify
 * against the root with the intermediate served.
 */
static void
corporate_chain(void **state)
{
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca;
	struct cert_mint	*m;
	STACK_OF(X509)		*untrusted;
	EVP_PKEY		*rk = key_ec(), *ik = key_ec();
	X509			*root, *inter, *leaf;

	/* Constrained root, unconstrained intermediate. */
	root = make_cert_ext("Corp Root", rk, NULL, NULL, 1, -DAY, 30 * DAY,
	    "critical,permitted;DNS:registry.npmjs.org", NULL);
	inter = make_cert("Corp Issuing", ik, root, rk, 1, -DAY, 20 * DAY);
	write_certs(f->cert, inter, NULL);
	write_certs(f->chain, root, NULL);
	write_key(f->key, ik);
	assert_null(load(f, f->chain, 0, &err));
	assert_non_null(strstr(err.msg, "no name constraints"));
	assert_non_null(ca = load(f, f->chain, 1, &err));
	assert_int_equal(cert_ca_permits(ca, "registry.npmjs.org", &err), 0);
	assert_int_equal(cert_ca_permits(ca, "www.bank.example", &err), -1);
	cert_ca_free(ca);
	X509_free(inter);
	X509_free(root);

	/* Unconstrained root, constrained intermediate (the README recipe). */
	unlink(f->cert);
	unlink(f->chain);
	root = make_cert("Corp Root", rk, NULL, NULL, 1, -DAY, 30 * DAY);
	inter = make_cert_ext("Corp Issuing", ik, root, rk, 1, -DAY, 20 * DAY,
	    "critical,permitted;DNS:registry.npmjs.org,excluded;"
	    "IP:0.0.0.0/0.0.0.0,excluded;IP:::/::", NULL);
	write_certs(f->cert, inter, NULL);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_non_null(m = cert_mint_new(ca, &err));
	assert_non_null(untrusted = sk_X509_new_null());
	assert_int_equal(sk_X509_push(untrusted, inter), 1);
	assert_non_null(leaf = mint(m, "registry.npmjs.org", &err));
	assert_int_equal(verify(root, untrusted, leaf, "registry.npmjs.org"),
	    X509_V_OK);
	X509_free(leaf);
	assert_null(mint(m, "www.bank.example", &err));
	/* The key holder's own bank leaf fails at the client. */
	leaf = hand_leaf("www.bank.example", inter, ik, rk);
	assert_int_equal(verify(root, untrusted, leaf, "www.bank.example"),
	    X509_V_ERR_PERMITTED_VIOLATION);
	X509_free(leaf);
	sk_X509_free(untrusted);
	cert_mint_free(m);
	cert_ca_free(ca);
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
	fx_free(f);
}

/* bad_constraints() : constraints certs/ cannot read fail the load. */
static void
bad_constraints(void **state)
{
	static const char *const nc[] = {
	    "critical,permitted;DNS:*.example.com",
	    "critical,permitted;DNS:example.com.",
	    "critical,permitted;DNS:registry.npmjs.org,excluded;DNS:a..b",
	};
	struct fx		*f = fx_new();
	struct cert_err		 err;
	EVP_PKEY		*k = key_ec();
	X509			*root;
	size_t			 i;

	for (i = 0; i < sizeof(nc) / sizeof(nc[0]); i++) {
		root = make_cert_ext("Corp Root", k, NULL, NULL, 1, -DAY,
		    30 * DAY, nc[i], NULL);
		unlink(f->cert);
		unlink(f->key);
		write_certs(f->cert, root, NULL);
		write_key(f->key, k);
		assert_null(load(f, NULL, 1, &err));
		if (strstr(err.msg, "unreadable DNS name constraint") == NULL)
			fail_msg("%s: %s", nc[i], err.msg);
		X509_free(root);
	}
	EVP_PKEY_free(k);
	fx_free(f);
}

/*
 * reload_keeps_working() : what SIGHUP does (egress.c px_egress_reload):
 * a second CA loaded from the same files while the first is in use, a
 * new minting context and cache on it, the old ones freed; then a
 * replacement without constraints fails to load and the current CA goes
 * on minting.
 */
static void
reload_keeps_working(void **state)
{
	struct fx		*f = fx_new();
	struct cert_err		 err;
	struct cert_ca		*ca, *ca2;
	struct cert_mint	*m, *m2;
	struct cert_cache	*c, *c2;
	EVP_PKEY		*k = key_ec();
	X509			*root, *x;

	init_ca(f, NULL, 0);
	root = read_cert(f->cert);
	assert_non_null(ca = load(f, NULL, 0, &err));
	assert_non_null(m = cert_mint_new(ca, &err));
	assert_non_null(c = cert_cache_new(m, 8, &err));
	assert_non_null(cert_cache_get(c, "registry.npmjs.org", &err));

	assert_non_null(ca2 = load(f, NULL, 0, &err));
	assert_non_null(m2 = cert_mint_new(ca2, &err));
	assert_non_null(c2 = cert_cache_new(m2, 8, &err));
	cert_cache_free(c);
	cert_mint_free(m);
	cert_ca_free(ca);
	assert_non_null(x = cert_cache_get(c2, "registry.npmjs.org", &err));
	assert_int_equal(verify(root, NULL, x, "registry.npmjs.org"),
	    X509_V_OK);
	assert_null(cert_cache_get(c2, "www.bank.example", &err));

	/* An unconstrained replacement: refused, the current CA stays. */
	X509_free(root);
	root = make_cert("Corp Root", k, NULL, NULL, 1, -DAY, 30 * DAY);
	unlink(f->cert);
	unlink(f->key);
	write_certs(f->cert, root, NULL);
	write_key(f->key, k);
	assert_null(load(f, NULL, 0, &err));
	assert_non_null(cert_cache_get(c2, "mirror.registry.npmjs.org",
	    &err));
	cert_cache_free(c2);
	cert_mint_free(m2);
	cert_ca_free(ca2);
	X509_free(root);
	EVP_PKEY_free(k);
	fx_free(f);
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_has_constraints),
		cmocka_unit_test(init_permit_list),
		cmocka_unit_test(mint_permitted_verifies),
		cmocka_unit_test(mint_outside_refused),
		cmocka_unit_test(stolen_key_rejected),
		cmocka_unit_test(unconstrained_refused),
		cmocka_unit_test(dns_semantics),
		cmocka_unit_test(corporate_chain),
		cmocka_unit_test(bad_constraints),
		cmocka_unit_test(reload_keeps_working),
	};

	return certs_test_run("certs_nc", tests,
	    sizeof(tests) / sizeof(tests[0]), argc, argv);
}
