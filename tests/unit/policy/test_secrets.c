/*
 * tests/unit/policy/test_secrets.c: the secret detectors (secrets.c).
 *
 * Every built-in detector gets a positive and a negative sample, built at
 * run time by concatenation so that the repository never holds a literal
 * that looks like a live token.  Each sample is scanned whole and in 1,
 * 7 and 4096-byte chunks, and the findings must be the same; the finding
 * text must never contain the secret's bytes past the literal prefix.
 * Depends on policy-int.h and scan-int.h only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "policy-int.h"
#include "scan-int.h"

#define MAXF	64

struct found {
	size_t	 n;
	char	 rule[MAXF][64];
	char	 text[MAXF][POL_TEXT_MAX];
	int64_t	 off[MAXF];
};

static void
collect(void *arg, const struct pol_finding *f)
{
	struct found *fo = arg;

	assert_non_null(f->rule);
	assert_true(strncmp(f->rule, "secret.", 7) == 0);
	assert_non_null(f->hint);
	if (fo->n == MAXF)
		return;
	snprintf(fo->rule[fo->n], sizeof(fo->rule[0]), "%s", f->rule);
	snprintf(fo->text[fo->n], sizeof(fo->text[0]), "%s", f->text);
	fo->off[fo->n] = f->offset;
	fo->n++;
}

/* scan() : scans buf as file path in chunks of chunk bytes (0: whole). */
static void
scan(struct pol_secrets_run *r, struct found *fo, const char *path,
    const char *buf, size_t len, size_t chunk)
{
	size_t off, n;

	memset(fo, 0, sizeof(*fo));
	assert_int_equal(pol_secrets_run_begin(r, path), 0);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(pol_secrets_run_data(r,
		    (const unsigned char *)buf + off, n), 0);
	}
	assert_int_equal(pol_secrets_run_end(r), 0);
}

static int
has_rule(const struct found *fo, const char *rule)
{
	size_t i;

	for (i = 0; i < fo->n; i++)
		if (strcmp(fo->rule[i], rule) == 0)
			return 1;
	return 0;
}

/* fill() : appends n characters cycling through set to s. */
static char *
fill(char *s, const char *set, size_t n)
{
	size_t i, m = strlen(set), len = strlen(s);

	for (i = 0; i < n; i++)
		s[len + i] = set[(i * 7 + 3) % m];
	s[len + n] = '\0';
	return s;
}

static void
test_check_regex(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(pol_secrets_check_regex("acme_[a-z0-9]{32}", err,
	    sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(pol_secrets_check_regex("acme_[a-z", err,
	    sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	/* Back-references are not Hyperscan syntax. */
	assert_int_equal(pol_secrets_check_regex("(a)\\1", err,
	    sizeof(err)), -1);
	assert_int_equal(pol_secrets_check_regex("", err, sizeof(err)), -1);
	assert_int_equal(pol_secrets_check_regex("a*", err, sizeof(err)), -1);
}

static void
test_compile(void **state)
{
	struct pol_custom_secret good[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
	};
	struct pol_custom_secret bad[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
		{ "broken-one", "x(" },
	};
	struct pol_secrets_db *db;
	char err[256];

	(void)state;
	assert_true(pol_secrets_builtin_count() >= 25);
	db = pol_secrets_compile(NULL, 0, err, sizeof(err));
	assert_non_null(db);
	pol_secrets_free(db);
	db = pol_secrets_compile(good, 1, err, sizeof(err));
	assert_non_null(db);
	pol_secrets_free(db);
	err[0] = '\0';
	db = pol_secrets_compile(bad, 2, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, "broken-one"));
	pol_secrets_free(NULL);
}

static void
test_custom_split(void **state)
{
	struct pol_custom_secret c[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	char err[256], val[64] = "acme_", buf[256];
	size_t chunks[] = { 0, 1, 7, 4096 }, i;

	(void)state;
	db = pol_secrets_compile(c, 1, err, sizeof(err));
	assert_non_null(db);
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	assert_non_null(r);
	fill(val, "abcdefghijklmnopqrstuvwxyz0123456789", 32);
	snprintf(buf, sizeof(buf), "const k = '%s';\n", val);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		scan(r, &fo, "lib/index.js", buf, strlen(buf), chunks[i]);
		assert_int_equal(fo.n, 1);
		assert_true(has_rule(&fo, "secret.acme-token"));
		assert_null(strstr(fo.text[0], val + 5));
		assert_int_equal(fo.off[0], 11 + 37);
	}
	/* Builtins off: custom patterns still report. */
	pol_secrets_run_free(r);
	r = pol_secrets_run_new(db, 0, 0, collect, &fo);
	assert_non_null(r);
	scan(r, &fo, "lib/index.js", buf, strlen(buf), 7);
	assert_int_equal(fo.n, 1);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/*
 * Sample templates: {Xn} expands to n generated characters of class X,
 * so that no literal here looks like a live token:
 * a alnum, U upper alnum, h lower hex, b base64, u base64url, d digits,
 * L letters, D base64 of digits (Discord user ids), B bech32 (age),
 * l lowercase alnum,
 * x, X, z one repeated character (placeholders: x, X, 0), and C36 a
 * GitHub/npm token body: 30 alnum and their CRC32 in 6 base62 digits.
 */
static const char *
class_set(char c, size_t i)
{
	static const char *const digit64[] = { "MNO", "DTjz", "AEIMQUYcgk",
	    "wxyz012345" };

	switch (c) {
	case 'a':
	case 'C':
		return "aZ3kQ9mB7xR2pL5tW8nC4vY6";
	case 'U':
		return "Q7ZK3XJ9W2VM5TP8RB4N";
	case 'h':
		return "0123456789abcdef";
	case 'b':
		return "Ab+Cd/Ef9Gh8Ij7Kl6Mn5Q";
	case 'u':
		return "Ab-Cd_Ef9Gh8Ij7Kl6Mn5Q";
	case 'd':
		return "0123456789";
	case 'L':
		return "aZkQmBxRpLtWnCvY";
	case 'D':
		return digit64[i % 4];
	case 'B':
		return "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
	case 'l':
		return "k3q9m7x2p5t8n4v6w1r0";
	case 'x':
		return "x";
	case 'X':
		return "X";
	case 'z':
		return "0";
	default:
		return NULL;
	}
}

/* crc_token() : writes the last 6 bytes of a 36-byte token body at s. */
static void
crc_token(char *s)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz";
	unsigned long v = crc32(0L, (const Bytef *)s, 30);
	int i;

	for (i = 5; i >= 0; i--) {
		s[30 + i] = b62[v % 62];
		v /= 62;
	}
}

struct gen {
	char	 s[2048];
	size_t	 nseg;
	char	 seg[8][160];	/* generated runs, for the redaction check */
};

/* expand() : expands template t into g. */
static void
expand(struct gen *g, const char *t)
{
	size_t o = 0, n, i;
	const char *set, *e;
	char c;

	memset(g, 0, sizeof(*g));
	while (*t != '\0') {
		if (*t == '{' && (set = class_set(t[1], 0)) != NULL &&
		    (e = strchr(t, '}')) != NULL) {
			c = t[1];
			n = (size_t)strtoul(t + 2, NULL, 10);
			assert_true(o + n < sizeof(g->s));
			for (i = 0; i < n; i++) {
				set = class_set(c, i);
				g->s[o + i] = set[(i * 7 + 3 + o) % strlen(set)];
			}
			if (c == 'C') {
				assert_int_equal(n, 36);
				crc_token(g->s + o);
			}
			if (n >= 8 && g->nseg < 8 && n < sizeof(g->seg[0]) &&
			    strchr("xXz", c) == NULL)
				memcpy(g->seg[g->nseg++], g->s + o, n);
			o += n;
			t = e + 1;
			continue;
		}
		assert_true(o + 1 < sizeof(g->s));
		g->s[o++] = *t++;
	}
	g->s[o] = '\0';
}

/*
 * One sample per detector: pos must be found; doc (a documented example
 * value or a look-alike), ph (placeholders) and bnd (the same shape past
 * its end boundary, or short of it) must not.
 */
struct sample {
	const char	*id;		/* detector */
	const char	*path;
	const char	*pos;		/* must find id (and only also) */
	const char	*doc;		/* must not find id */
	const char	*neg_path;	/* NULL: path */
	const char	*also;		/* other detectors pos may trip, or NULL */
	const char	*ph;		/* placeholders: must not find id */
	const char	*bnd;		/* past the boundary: must not find id */
};

/* jwt.io's sample token, in pieces. */
#define JWTIO_H		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
#define JWTIO_P		"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi" \
			"aWF0IjoxNTE2MjM5MDIyfQ"
#define JWTIO_S		"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"

static const struct sample samples[] = {
	{ "npm-token", "lib/a.js", "const t = \"npm_{C36}\";\n",
	    "const t = \"npm_{a35}\"; npm_{a40} npm_{a36}\n", NULL, NULL,
	    "t = 'npm_{x36}'; u = 'npm_{z36}'\n", "t = 'npm_{C36}Q'\n" },
	{ "npmrc-auth-token", "config/.npmrc",
	    "registry=https://registry.npmjs.org/\n"
	    "//registry.npmjs.org/:_authToken={a36}\n",
	    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
	    "x = '//registry.npmjs.org/:_authToken=' + token;\n"
	    "this._authToken = data.accessToken;\n", NULL, NULL,
	    "//registry.npmjs.org/:_authToken={x36}\n"
	    "//registry.npmjs.org/:_authToken=<your-token-here>\n",
	    "//registry.npmjs.org/:_authToken={a12}\n" },
	{ "npmrc-auth", ".npmrc", "email=a@b.c\n_auth={b24}\n",
	    "_auth=\n_auth=${AUTH}\nfoo_auth={b24}\n", NULL, NULL,
	    "_auth={X24}\n", "_auth={b6}\n" },
	{ "npmrc-password", "config/.npmrc", "username=me\n_password={b16}\n",
	    "username=me\n_password={b16}\n", "README.md", NULL,
	    "_password=changeme\n_password=\"your-password\"\n",
	    "_password=abc\n" },
	{ "github-token", "a.txt", "GH ghp_{C36}\n",
	    "ghp_{a30} ghx_{C36} ghp_{a36} ghp_" "16C7e42F292c6912E77"
	    "10c838347Ae178B4a\n", NULL, NULL,
	    "ghp_{x36} gho_{z36}\n", "ghp_{C36}a\n" },
	{ "github-pat", "a.txt", "github_pat_{a22}_{a59}\n",
	    "github_pat_{a22}_{a20}\n", NULL, NULL,
	    "github_pat_{x22}_{x59}\n", "github_pat_{a22}_{a60}\n" },
	{ "gitlab-token", "a.yml", "token: glpat-{u20}\n", "glpat-{u10}\n",
	    NULL, NULL, "token: glpat-{x20}\n", "token: glpat-{u70}\n" },
	{ "aws-access-key-id", "a.ini", "aws_access_key_id = AKIA{U16}\n",
	    "key = AKIA" "IOSFODNN7" "EXAMPLE\nAKIA{U12}\n", NULL, NULL,
	    "key = AKIA{X16}\n", "key = AKIA{U17}\n" },
	{ "aws-secret-access-key", ".aws/credentials",
	    "aws_secret_access_key = {b40}\n",
	    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/" "bPxRfiCY"
	    "EXAMPLEKEY\nsecretAccessKey: creds.secretAccessKey,\n"
	    "\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/" "bPxRfiCYz"
	    "EXAMPLEKEY\",\n", NULL, NULL,
	    "aws_secret_access_key = {x40}\n",
	    "aws_secret_access_key = {b41}\n" },
	{ "gcp-service-account", "key.json",
	    "{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n"
	    "  \"private_key_id\": \"{h40}\",\n  \"private_key\": \"-----BEGIN"
	    " PRIVATE KEY-----\\n{b64}\\n-----END PRIVATE KEY-----\\n\"\n}\n",
	    "{\"type\": \"authorized_user\", \"private_key\": \"-----BEGIN\"}\n",
	    NULL, "private-key",
	    "{\"type\": \"service_account\", \"private_key\": \"<key>\"}\n",
	    "{\"type\": \"service_accounts\", \"private_key\": \"-----BEGIN\"}\n" },
	{ "google-api-key", "app.js", "apiKey: \"AIza{u35}\",\n",
	    "AIza{u20}\n", NULL, NULL, "apiKey: \"AIza{x35}\",\n",
	    "apiKey: \"AIza{u36}\",\n" },
	{ "google-oauth-secret", "a.json", "\"client_secret\":\"GOCSPX-{u28}\"",
	    "GOCSPX-{u10}\n", NULL, NULL, "\"client_secret\":\"GOCSPX-{x28}\"",
	    "\"client_secret\":\"GOCSPX-{u29}\"" },
	{ "azure-storage-key", "a.cs",
	    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={b86}=="
	    ";EndpointSuffix=core.windows.net\n",
	    "AccountKey=<your key>;\nAccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1"
	    "OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;\n",
	    NULL, NULL, "AccountKey={X86}==;\n", "AccountKey={b85}==;\n" },
	{ "stripe-live-key", ".env.local", "STRIPE=sk_" "live_{a24}\n",
	    "STRIPE=sk_test_{a24}\n", "a.js", "env-assignment",
	    "s = 'sk_" "live_{x24}'\n", "s = 'sk_" "live_{a23}'\n" },
	{ "slack-token", "a.js", "token: 'xoxb-{d11}-{d12}-{a24}'",
	    "token: 'xoxb-XXXXXXXX-XXXX'", NULL, NULL,
	    "token: 'xoxb-{d11}-{d12}-{x24}'", "token: 'xoxb-{d3}-{d12}-{a24}'" },
	{ "slack-webhook", "a.js",
	    "url = \"https://hooks.slack.com/services/T{U8}/B{U8}/{a24}\"",
	    "url = \"https://hooks.slack.com/services/XXX/YYY/ZZZ\"", NULL,
	    NULL, "url = \"https://hooks.slack.com/services/T{U8}/B{U8}/{X24}\"",
	    "url = \"https://hooks.slack.com/services/T{U8}/B{U8}/{a10}\"" },
	{ "twilio-api-key", "a.js", "sid = 'SK{h32}'", "sid = 'SK{h31}'",
	    NULL, NULL, "sid = 'SK{z32}'", "sid = 'SK{h33}'" },
	{ "twilio-credentials", "a.js",
	    "const client = require('twilio')('AC{h32}', '{h32}');\n",
	    "sid = 'AC{h32}'", NULL, NULL,
	    "client = twilio('AC{h32}', '{z32}');\n",
	    "u = 'AC{h32}:{h33}'\n" },
	{ "sendgrid-api-key", "a.js", "k = 'SG.{u22}.{u43}'",
	    "k = 'SG.{u10}.{u10}'", NULL, NULL, "k = 'SG.{x22}.{x43}'",
	    "k = 'SG.{u22}.{u44}'" },
	{ "openai-api-key", "a.py", "k = 'sk-proj-{u48}'\nj = 'sk-{a48}'\n",
	    "k = 'sk-{a20}'\n", NULL, NULL, "k = 'sk-proj-{x48}'\n",
	    "k = 'sk-{a49}'\n" },
	{ "anthropic-api-key", "a.py", "k = 'sk-ant-api03-{u90}AA'",
	    "k = 'sk-ant-api03-{u20}'", NULL, NULL, "k = 'sk-ant-api03-{x90}'",
	    "k = 'sk-ant-api03-{u79}'" },
	{ "private-key", "secret",
	    "-----BEGIN RSA PRIVATE KEY-----\n{b64}\n{b64}\n"
	    "-----END RSA PRIVATE KEY-----\n",
	    "var h = '-----BEGIN RSA PRIVATE KEY-----';\n"
	    "-----BEGIN PUBLIC KEY-----\n{b64}\n", NULL, NULL,
	    "-----BEGIN RSA PRIVATE KEY-----\n{x64}\n"
	    "-----END RSA PRIVATE KEY-----\n"
	    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
	    "...\n-----END PRIVATE KEY-----\n",
	    "-----BEGIN RSA PRIVATE KEY-----\n{b30}\n"
	    "-----END RSA PRIVATE KEY-----\n" },
	{ "openssh-private-key", "id_ed25519",
	    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE{b50}\n",
	    "h = '-----BEGIN OPENSSH PRIVATE KEY-----';\n", NULL, NULL,
	    "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n",
	    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNza\n" },
	{ "pgp-private-key", "key.asc",
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: x\n\n{b64}\n",
	    "const H = '-----BEGIN PGP PRIVATE KEY BLOCK-----';\nf();\n",
	    NULL, NULL, "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{x64}\n",
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{b50}\n" },
	{ "jwt", "a.http", "Authorization: Bearer eyJ{u20}.eyJ{u30}.{u43}\n",
	    "x = 'eyJ{u5}.eyJ{u5}.{u5}'\ny = '" JWTIO_H "." JWTIO_P "."
	    JWTIO_S "'\n", NULL, NULL,
	    "x = 'eyJ{x20}.eyJ{x30}.{x43}'\n",
	    "x = 'eyJ{u20}.eyJ{u30}.{u10}'\n" },
	{ "npm-config-gypi", "build/config.gypi",
	    "{ 'variables': { 'nodedir': '/x',\n"
	    "  \"npm_config__authtoken\": \"{a36}\",\n } }\n",
	    "{ 'variables': { \"npm_config__authtoken\": \"{a36}\" } }\n",
	    "build/other.gypi", NULL,
	    "{ 'variables': { \"npm_config__authtoken\": \"\" } }\n",
	    "{ 'variables': { \"npm_config_authtoken\": \"{a36}\" } }\n" },
	{ "env-assignment", ".env.production",
	    "NODE_ENV=production\nDB_PASSWORD=hunter2x\n",
	    "DB_PASSWORD=hunter2x\n", "src/app.js", NULL,
	    "DB_PASSWORD=\nAPI_KEY=your-api-key-here\nSECRET=changeme\n"
	    "TOKEN=<token>\nJWT_SECRET=xxxxxxxx\nTOKEN_TTL=3600\n"
	    "AUTH_URL=https://auth.acme.io/token\nKEY_FILE=./keys/key.pem\n"
	    "SESSION_SECRET=\"{{ session_secret }}\"\nPASSWORD=********\n"
	    "API_TOKEN=null # set in CI\n",
	    "DB_PASSWORD=abc\nTOKEN=12345678\n" },
	{ "docker-config-auth", ".docker/config.json",
	    "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n"
	    "\t\t\t\"auth\": \"{b32}\"\n\t\t}\n\t}\n}\n",
	    "{\"auths\": {}}\n", NULL, NULL,
	    "{\"auths\": {\"r\": {\"auth\": \"{X32}\"}}}\n",
	    "{\"auths\": {\"r\": {\"auth\": \"{b6}\"}}}\n" },
	{ "heroku-api-key", "deploy.sh",
	    "export HEROKU_API_KEY={h8}-{h4}-{h4}-{h4}-{h12}\n",
	    "export HEROKU_APP=app\nid = '{h8}-{h4}-{h4}-{h4}-{h12}'\n", NULL,
	    NULL, "export HEROKU_API_KEY={z8}-{z4}-{z4}-{z4}-{z12}\n",
	    "export HEROKU_API_KEY={h8}-{h4}-{h4}-{h4}-{h13}\n" },
	{ "mailgun-api-key", "mail.js", "apiKey: 'key-{h32}'",
	    "apiKey: 'key-{h31}' monkey-{h32}", NULL, NULL,
	    "apiKey: 'key-{z32}'", "apiKey: 'key-{h33}'" },
	{ "shopify-token", "a.js", "t = 'shpat_{h32}'", "t = 'shpat_{h20}'",
	    NULL, NULL, "t = 'shpat_{z32}'", "t = 'shpat_{h33}'" },
	{ "discord-bot-token", "bot.js", "client.login('{D24}.{u6}.{u27}')",
	    "client.login('Abcd{a20}.{u6}.{u27}')", NULL, NULL,
	    "client.login('{D24}.{x6}.{x27}')",
	    "client.login('{D24}.{u6}.{u20}')" },
	{ "huggingface-token", "a.py", "HF = 'hf_{L34}'", "HF = 'hf_{L10}'",
	    NULL, NULL, "HF = 'hf_{x34}'", "HF = 'hf_{L41}'" },
	{ "digitalocean-token", "a.tf", "token = \"dop_v1_{h64}\"",
	    "token = \"dop_v1_{h32}\"", NULL, NULL, "token = \"dop_v1_{z64}\"",
	    "token = \"dop_v1_{h65}\"" },
	{ "pypi-token", ".pypirc", "password = pypi-AgEIcHlwaS5vcmc{u60}\n",
	    "password = pypi-AgEIcHlwaS5vcmc{u10}\n", NULL, "pypirc-password",
	    "password = pypi-AgEIcHlwaS5vcmc{x60}\n",
	    "password = pypi-AgEIcHlwaS5vcmd{u60}\n" },
	{ "doppler-token", "a.sh", "DOPPLER_TOKEN=dp.pt.{a43}\n",
	    "DOPPLER_TOKEN=dp.pt.{a10}\n", NULL, NULL,
	    "DOPPLER_TOKEN=dp.pt.{x43}\n", "DOPPLER_TOKEN=dp.pt.{a45}\n" },
	{ "datadog-api-key", "a.yml", "DD_API_KEY: {h32}\n",
	    "DD_API_KEY: ${DD_API_KEY}\n", NULL, NULL, "DD_API_KEY: {z32}\n",
	    "DD_API_KEY: {h33}\n" },
	{ "url-credentials", "config.js",
	    "db: \"postgres://app:{a16}@db.internal.acme.io:5432/app\",\n",
	    "db: 'postgres://user:password@localhost:5432/db',\n"
	    "m: 'mongodb://admin:admin@mongo.acme.io/x',\n"
	    "r: 'https://user:${TOKEN}@github.com/a/b',\n"
	    "s: 'redis://:{a16}@localhost:6379',\n"
	    "t: 'mysql://root:{a16}@db.example.com/x',\n"
	    "u: 'amqp://guest:guest@rabbit:5672',\n"
	    "v: 'https://github.com/a/b.git',\n", NULL, NULL,
	    "db: 'postgres://app:xxxxxxxx@db.acme.io/app',\n"
	    "e: 'postgres://app:<password>@db.acme.io/app',\n"
	    "f: 'postgres://app:%s@db.acme.io/app',\n",
	    "db: 'postgres://app:{a2}@db.acme.io/app',\n" },
	{ "databricks-token", "a.py", "token = 'dapi{h32}'",
	    "token = 'dapi{h20}'", NULL, NULL, "token = 'dapi{z32}'",
	    "token = 'dapi{h33}'" },
	{ "dockerhub-token", "ci.sh", "echo dckr_pat_{u27} | docker login\n",
	    "echo dckr_pat_{u10}\n", NULL, NULL, "echo dckr_pat_{x27}\n",
	    "echo dckr_pat_{u40}\n" },
	{ "vault-token", "deploy.sh", "export VAULT_TOKEN=s.{a24}\n",
	    "export VAULT_ADDR=https://vault.acme.io\nid = 's.{a24}'\n", NULL,
	    NULL, "export VAULT_TOKEN=hvs.{x95}\n",
	    "t = 'hvs.{u40}'\nexport VAULT_TOKEN=s.{a25}\n" },
	{ "linear-api-key", "a.js", "k = 'lin_api_{a40}'",
	    "k = 'lin_api_{a20}'", NULL, NULL, "k = 'lin_api_{x40}'",
	    "k = 'lin_api_{a65}'" },
	{ "grafana-token", "a.js", "k = 'glsa_{a32}_{h8}'",
	    "k = 'glsa_{a32}'", NULL, NULL, "k = 'glsa_{x32}_{h8}'",
	    "k = 'glsa_{a32}_{h9}'" },
	{ "notion-token", "a.js", "k = 'ntn_{d11}{a35}'",
	    "k = 'ntn_{a20}'", NULL, NULL, "k = 'ntn_{z11}{x35}'",
	    "k = 'ntn_{d11}{a36}'" },
	{ "groq-api-key", "a.py", "k = 'gsk_{a52}'", "k = 'gsk_{a20}'", NULL,
	    NULL, "k = 'gsk_{x52}'", "k = 'gsk_{a53}'" },
	{ "telegram-bot-token", "bot.js",
	    "fetch('https://api.telegram.org/bot{d10}:AA{u33}/getMe')\n",
	    "t = '{d10}:AB{u33}'\n", NULL, NULL, "t = '{d10}:AA{x33}'\n",
	    "t = '{d10}:AA{u40}'\n" },
	{ "discord-webhook", "a.js",
	    "u = 'https://discord.com/api/webhooks/{d18}/{u68}'",
	    "u = 'https://discord.com/api/webhooks/{d18}'", NULL, NULL,
	    "u = 'https://discord.com/api/webhooks/{d18}/{x68}'",
	    "u = 'https://discord.com/api/webhooks/{d18}/{u30}'" },
	{ "fcm-server-key", "push.js", "key = 'AAAA{u7}:APA91b{u134}'",
	    "key = 'AAAA{u7}:APA91b'", NULL, NULL,
	    "key = 'AAAA{u7}:APA91b{x134}'", "key = 'AAAA{u7}:APA91b{u50}'" },
	{ "newrelic-key", "newrelic.js", "key: 'NRAK-{U27}'",
	    "key: 'NRAK-{U20}'", NULL, NULL, "key: 'NRAK-{X27}'",
	    "key: 'NRAK-{U28}'" },
	{ "sentry-token", "a.sh", "SENTRY_AUTH_TOKEN=sntryu_{h64}\n",
	    "SENTRY_DSN=https://{h32}@o1.ingest.sentry.io/1\n", NULL, NULL,
	    "SENTRY_AUTH_TOKEN=sntryu_{z64}\n",
	    "SENTRY_AUTH_TOKEN=sntryu_{h65}\n" },
	{ "square-token", "a.js", "t = 'EAAA{u60}'", "t = 'EAAA{u20}'",
	    NULL, NULL, "t = 'EAAA{x60}'", "t = 'EAAA{u61}'" },
	{ "postman-api-key", "a.js", "k = 'PMAK-{h24}-{h34}'",
	    "k = 'PMAK-{h24}'", NULL, NULL, "k = 'PMAK-{z24}-{z34}'",
	    "k = 'PMAK-{h24}-{h35}'" },
	{ "age-secret-key", "key.txt", "AGE-SECRET-KEY-1{B58}\n",
	    "age1{B58}\n", NULL, NULL, "AGE-SECRET-KEY-1{X58}\n",
	    "AGE-SECRET-KEY-1{B59}\n" },
	{ "yarnrc-auth", ".yarnrc.yml",
	    "npmRegistryServer: \"https://registry.npmjs.org\"\n"
	    "npmAuthToken: {a36}\n",
	    "npmAuthToken: \"${NPM_TOKEN}\"\n"
	    "npmAuthToken: config.npmAuthToken,\n", NULL, NULL,
	    "npmAuthToken: \"xxxxxxxxxxxx\"\n", "npmAuthToken: {a5}\n" },
	{ "pypirc-password", ".pypirc",
	    "[pypi]\nusername = __token__\npassword = {a20}\n",
	    "[pypi]\npassword = {a20}\n", "setup.cfg", NULL,
	    "[pypi]\npassword = <your password>\npassword = %(PYPI_PASS)s\n",
	    "[pypi]\npassword = abc\n" },
	{ "rubygems-token", "a.sh", "GEM_HOST_API_KEY=rubygems_{h48}\n",
	    "GEM_HOST_API_KEY=rubygems_{h20}\n", NULL, NULL,
	    "GEM_HOST_API_KEY=rubygems_{z48}\n",
	    "GEM_HOST_API_KEY=rubygems_{h49}\n" },
	{ "pulumi-token", "a.sh", "PULUMI_ACCESS_TOKEN=pul-{h40}\n",
	    "PULUMI_ACCESS_TOKEN=pul-{h20}\n", NULL, NULL,
	    "PULUMI_ACCESS_TOKEN=pul-{z40}\n",
	    "PULUMI_ACCESS_TOKEN=pul-{h41}\n" },
	{ "terraform-token", "a.tfrc", "token = \"{a14}.atlasv1.{u67}\"\n",
	    "token = \"{a14}.atlasv1.{u20}\"\n", NULL, NULL,
	    "token = \"{a14}.atlasv1.{x67}\"\n",
	    "token = \"{a14}.atlasv1.{u80}\"\n" },
	{ "planetscale-token", "a.sh", "PS=pscale_tkn_{u43}\n",
	    "PS=pscale_tkn_{u20}\n", NULL, NULL,
	    "PS=pscale_tkn_{x43}\n",
	    "PS=pscale_tkn_{u70}\n" },
	{ "mailchimp-api-key", "a.js", "apiKey: '{h32}-us{d1}'",
	    "apiKey: '{h20}-us1'", NULL, NULL,
	    "apiKey: '{z32}-us1'",
	    "apiKey: '{h33}-us1'" },
	{ "dynatrace-token", "a.yml", "token: dt0c01.{U24}.{U64}\n",
	    "token: dt0c01.{U24}\n", NULL, NULL,
	    "token: dt0c01.{X24}.{X64}\n",
	    "token: dt0c01.{U24}.{U65}\n" },
	{ "clojars-token", "a.sh", "CLOJARS_{l60}\n",
	    "CLOJARS_{l20}\n", NULL, NULL,
	    "CLOJARS_{x60}\n",
	    "CLOJARS_{l61}\n" },
	{ "brevo-api-key", "a.js", "k = 'xkeysib-{h64}-{a16}'",
	    "k = 'xkeysib-{h64}'", NULL, NULL,
	    "k = 'xkeysib-{z64}-{x16}'",
	    "k = 'xkeysib-{h64}-{a17}'" },
	{ "shippo-token", "a.js", "k = 'shippo_live_{h40}'",
	    "k = 'shippo_live_{h20}'", NULL, NULL,
	    "k = 'shippo_live_{z40}'",
	    "k = 'shippo_live_{h41}'" },
	{ "typeform-token", "a.js", "k = 'tfp_{u59}'",
	    "k = 'tfp_{u20}'", NULL, NULL,
	    "k = 'tfp_{x59}'",
	    "k = 'tfp_{u60}'" },
	{ "airtable-token", "a.js", "k = 'pat{a14}.{h64}'",
	    "k = 'pat{a14}.{h20}'", NULL, NULL,
	    "k = 'pat{a14}.{z64}'",
	    "k = 'pat{a14}.{h65}'" },
	{ "supabase-token", "a.js", "k = 'sbp_{h40}'",
	    "k = 'sbp_{h20}'", NULL, NULL,
	    "k = 'sbp_{z40}'",
	    "k = 'sbp_{h41}'" },
	{ "flyio-token", "a.sh", "FLY_API_TOKEN=fo1_{u43}\n",
	    "FLY_API_TOKEN=fo1_{u20}\n", NULL, NULL,
	    "FLY_API_TOKEN=fo1_{x43}\n",
	    "FLY_API_TOKEN=fo1_{u44}\n" },
	{ "replicate-token", "a.py", "k = 'r8_{a37}'",
	    "k = 'r8_{a20}'", NULL, NULL,
	    "k = 'r8_{x37}'",
	    "k = 'r8_{a38}'" },
	{ "xai-api-key", "a.py", "k = 'xai-{a80}'",
	    "k = 'xai-{a40}'", NULL, NULL,
	    "k = 'xai-{x80}'",
	    "k = 'xai-{a81}'" },
	{ "azure-ad-client-secret", "a.json", "\"clientSecret\": \"{a3}8Q~{a34}\"",
	    "\"clientSecret\": \"{a3}8Q~{a20}\"", NULL, NULL,
	    "\"clientSecret\": \"{a3}8Q~{x34}\"",
	    "\"clientSecret\": \"{a3}8Q~{a36}\"" },
	{ "mapbox-secret-token", "a.js", "k = 'sk.eyJ{u30}.{u22}'",
	    "k = 'pk.eyJ{u30}.{u22}'", NULL, NULL,
	    "k = 'sk.eyJ{x30}.{x22}'",
	    "k = 'sk.eyJ{u10}.{u22}'" },
	{ "alibaba-access-key-id", "a.js", "id: 'LTAI{a20}'",
	    "id: 'LTAI{a8}'", NULL, NULL,
	    "id: 'LTAI{x20}'",
	    "id: 'LTAI{a21}'" },
	{ "contentful-token", "a.js", "k = 'CFPAT-{u43}'",
	    "k = 'CFPAT-{u20}'", NULL, NULL,
	    "k = 'CFPAT-{x43}'",
	    "k = 'CFPAT-{u44}'" },
	{ "figma-token", "a.js", "k = 'figd_{u40}'",
	    "k = 'figd_{u20}'", NULL, NULL,
	    "k = 'figd_{x40}'",
	    "k = 'figd_{u41}'" },
	{ "langsmith-api-key", "a.py", "k = 'lsv2_pt_{h32}_{h10}'",
	    "k = 'lsv2_pt_{h32}'", NULL, NULL,
	    "k = 'lsv2_pt_{z32}_{z10}'",
	    "k = 'lsv2_pt_{h32}_{h11}'" },
	{ "tailscale-key", "a.sh", "TS_AUTHKEY=tskey-auth-{a12}-{a30}\n",
	    "TS_AUTHKEY=tskey-auth-{a12}\n", NULL, NULL,
	    "TS_AUTHKEY=tskey-auth-{x12}-{x30}\n",
	    "TS_AUTHKEY=tskey-auth-{a12}-{a10}\n" },
	{ "buildkite-token", "a.sh", "T=bkua_{h40}\n",
	    "T=bkua_{h20}\n", NULL, NULL,
	    "T=bkua_{z40}\n",
	    "T=bkua_{h41}\n" },
	{ "packagist-token", "auth.json", "\"token\": \"packagist_out_{h68}\"",
	    "\"token\": \"packagist_out_{h20}\"", NULL, NULL,
	    "\"token\": \"packagist_out_{z68}\"",
	    "\"token\": \"packagist_out_{h69}\"" },
	{ "jfrog-token", "a.sh", "JFROG_API_KEY=AKCp{a69}\n",
	    "JFROG_API_KEY=AKCp{a20}\n", NULL, NULL,
	    "JFROG_API_KEY=AKCp{x69}\n",
	    "JFROG_API_KEY=AKCp{a70}\n" },
	{ "onepassword-token", "a.sh", "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{b260}\n",
	    "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{b20}\n", NULL, NULL,
	    "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{x260}\n",
	    "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{b100}\n" },
	{ "atlassian-token", "a.sh", "JIRA_API_TOKEN=ATATT3{u190}\n",
	    "JIRA_API_TOKEN=ATATT3{u20}\n", NULL, NULL,
	    "JIRA_API_TOKEN=ATATT3{x190}\n",
	    "JIRA_API_TOKEN=ATATT3{u100}\n" },
	{ "cloudflare-origin-ca-key", "a.sh", "CF_ORIGIN_CA_KEY=v1.0-{h24}-{h146}\n",
	    "CF_ORIGIN_CA_KEY=v1.0-{h24}\n", NULL, NULL,
	    "CF_ORIGIN_CA_KEY=v1.0-{z24}-{z146}\n",
	    "CF_ORIGIN_CA_KEY=v1.0-{h24}-{h147}\n" },
	{ "sourcegraph-token", "a.sh", "SRC_ACCESS_TOKEN=sgp_{h16}_{h40}\n",
	    "SRC_ACCESS_TOKEN=sgp_{h16}\n", NULL, NULL,
	    "SRC_ACCESS_TOKEN=sgp_{z16}_{z40}\n",
	    "SRC_ACCESS_TOKEN=sgp_{h16}_{h41}\n" },
	{ "circleci-token", "a.sh", "CIRCLE_TOKEN=CCIPAT_{a22}_{h40}\n",
	    "CIRCLE_TOKEN=CCIPAT_{a22}\n", NULL, NULL,
	    "CIRCLE_TOKEN=CCIPAT_{x22}_{z40}\n",
	    "CIRCLE_TOKEN=CCIPAT_{a22}_{h41}\n" },
	{ "render-api-key", "a.sh", "RENDER_API_KEY=rnd_{a32}\n",
	    "RENDER_API_KEY=rnd_{a20}\n", NULL, NULL,
	    "RENDER_API_KEY=rnd_{x32}\n",
	    "RENDER_API_KEY=rnd_{a33}\n" },
};

#define NSAMPLES	(sizeof(samples) / sizeof(samples[0]))

/* allowed() : 1 if rule is "secret.<id>" or one of the comma list also. */
static int
allowed(const char *rule, const char *id, const char *also)
{
	const char *p;
	size_t n;

	if (strcmp(rule + 7, id) == 0)
		return 1;
	for (p = also; p != NULL && *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (strlen(rule + 7) == n && strncmp(rule + 7, p, n) == 0)
			return 1;
	}
	return 0;
}

static struct pol_secrets_db *
builtin_db(void)
{
	struct pol_secrets_db *db;
	char err[256];

	db = pol_secrets_compile(NULL, 0, err, sizeof(err));
	if (db == NULL)
		fail_msg("compile: %s", err);
	return db;
}

/* same() : the two scans found the same rules at the same offsets. */
static void
same(const struct found *a, const struct found *b, const char *what,
    size_t chunk)
{
	size_t i, j;

	if (a->n != b->n)
		fail_msg("%s: %zu findings whole, %zu in %zu-byte chunks",
		    what, a->n, b->n, chunk);
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(a->rule[i], b->rule[j]) == 0 &&
			    a->off[i] == b->off[j])
				break;
		if (j == b->n)
			fail_msg("%s: %s at %lld lost in %zu-byte chunks", what,
			    a->rule[i], (long long)a->off[i], chunk);
	}
}

static void
test_every_detector(void **state)
{
	static const size_t chunks[] = { 1, 7, 4096 };
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	const struct pol_detector *d;
	struct found whole, fo;
	struct gen g;
	size_t i, k, c, w, v;
	char win[9];

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	assert_non_null(r);

	/* Every built-in has a sample. */
	for (i = 0; (d = pol_secrets_builtin(i)) != NULL; i++) {
		for (k = 0; k < NSAMPLES; k++)
			if (strcmp(samples[k].id, d->id) == 0)
				break;
		if (k == NSAMPLES)
			fail_msg("detector %s has no sample", d->id);
		assert_true(strncmp(d->rule, "secret.", 7) == 0);
		assert_string_equal(d->rule + 7, d->id);
		assert_non_null(d->label);
		assert_non_null(d->hint);
	}
	assert_int_equal(i, pol_secrets_builtin_count());

	for (k = 0; k < NSAMPLES; k++) {
		const struct sample *s = &samples[k];

		/* Positive: found, nothing unexpected, same in any split. */
		expand(&g, s->pos);
		scan(r, &fo, s->path, g.s, strlen(g.s), 0);
		whole = fo;
		for (i = 0; i < whole.n; i++)
			if (strcmp(whole.rule[i] + 7, s->id) == 0)
				break;
		if (i == whole.n)
			fail_msg("%s: positive sample not found", s->id);
		for (i = 0; i < whole.n; i++) {
			if (!allowed(whole.rule[i], s->id, s->also))
				fail_msg("%s: positive sample also found %s",
				    s->id, whole.rule[i]);
			/* Redaction: no 8 generated bytes in the text. */
			for (c = 0; c < g.nseg; c++)
				for (w = 0; w + 8 <= strlen(g.seg[c]); w++) {
					memcpy(win, g.seg[c] + w, 8);
					win[8] = '\0';
					if (strstr(whole.text[i], win) != NULL)
						fail_msg("%s: text \"%s\" leaks "
						    "the value", s->id,
						    whole.text[i]);
				}
			assert_true(whole.off[i] > 0);
			assert_true(whole.off[i] <= (int64_t)strlen(g.s));
		}
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			scan(r, &fo, s->path, g.s, strlen(g.s), chunks[c]);
			same(&whole, &fo, s->id, chunks[c]);
		}

		/* Negatives: not found, in any split. */
		for (v = 0; v < 3; v++) {
			const char *t = v == 0 ? s->doc : v == 1 ? s->ph :
			    s->bnd;
			static const char *const what[] = { "documented or "
			    "look-alike", "placeholder", "boundary" };

			if (t == NULL)
				fail_msg("%s: no %s sample", s->id, what[v]);
			expand(&g, t);
			for (c = 0; c < 2; c++) {
				scan(r, &fo, v == 0 && s->neg_path ?
				    s->neg_path : s->path, g.s, strlen(g.s),
				    c == 0 ? 0 : 1);
				for (i = 0; i < fo.n; i++)
					if (strcmp(fo.rule[i] + 7, s->id) == 0)
						fail_msg("%s: %s sample found",
						    s->id, what[v]);
			}
		}
	}
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* Known documentation values are suppressed, real ones after them are not. */
static void
test_suppressed_then_real(void **state)
{
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	struct gen g;

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	expand(&g, "a = AKIA" "IOSFODNN7" "EXAMPLE\nb = AKIA" "IOSFODNN7"
	    "EXAMPLE\nc = AKIA{U16}\n");
	scan(r, &fo, "a.ini", g.s, strlen(g.s), 0);
	assert_int_equal(fo.n, 1);
	assert_string_equal(fo.rule[0], "secret.aws-access-key-id");
	assert_int_equal(fo.off[0], (int64_t)strlen(g.s) - 1);
	scan(r, &fo, "a.ini", g.s, strlen(g.s), 1);
	assert_int_equal(fo.n, 1);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* A token straddling chunk boundaries, and end-of-file matches. */
static void
test_boundaries(void **state)
{
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	struct gen g;
	char *buf;
	size_t len, pre = 4090, cut[] = { 4093, 4096, 4100 }, i;

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	expand(&g, "ghp_{C36}");
	len = pre + strlen(g.s);
	buf = malloc(len);
	assert_non_null(buf);
	memset(buf, ' ', pre);
	memcpy(buf + pre, g.s, strlen(g.s));
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		assert_int_equal(pol_secrets_run_begin(r, "x.js"), 0);
		memset(&fo, 0, sizeof(fo));
		assert_int_equal(pol_secrets_run_data(r,
		    (unsigned char *)buf, cut[i]), 0);
		assert_int_equal(fo.n, 0);
		assert_int_equal(pol_secrets_run_data(r,
		    (unsigned char *)buf + cut[i], len - cut[i]), 0);
		/* \b at the end of data: only the end completes it. */
		assert_int_equal(pol_secrets_run_end(r), 0);
		assert_int_equal(fo.n, 1);
		assert_int_equal(fo.off[0], (int64_t)len);
	}
	/* The stream is reset: a new file does not see the old bytes. */
	assert_int_equal(pol_secrets_run_begin(r, "y.js"), 0);
	memset(&fo, 0, sizeof(fo));
	assert_int_equal(pol_secrets_run_data(r, (unsigned char *)"ghp_", 4), 0);
	assert_int_equal(pol_secrets_run_end(r), 0);
	assert_int_equal(pol_secrets_run_begin(r, "z.js"), 0);
	assert_int_equal(pol_secrets_run_data(r, (unsigned char *)g.s + 4,
	    strlen(g.s) - 4), 0);
	assert_int_equal(pol_secrets_run_end(r), 0);
	assert_int_equal(fo.n, 0);
	free(buf);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* Hashes, integrity strings and ordinary code are not secrets. */
static void
test_false_positives(void **state)
{
	static const char *const clean[] = {
		"SPDXVersion: SPDX-2.3\nSPDXID: SPDXRef-DOCUMENT\n"
		"FileChecksum: SHA1: {h40}\nFileChecksum: SHA256: {h64}\n"
		"PackageVerificationCode: {h40}\n",
		"{\"lockfileVersion\": 3, \"packages\": {\"node_modules/x\": {"
		"\"version\": \"1.0.0\", \"resolved\": \"https://registry.npmjs"
		".org/x/-/x-1.0.0.tgz\", \"integrity\": \"sha512-{b86}==\"}}}\n",
		"shasum: {h40}\nsha256-{b43}=\nsha1-{b27}=\n",
		"var e=function(t){return t&&t.__esModule?t:{default:t}};"
		"Object.defineProperty(exports,\"__esModule\",{value:!0});"
		"const a=require(\"./map\"),b=new Map;function c(d){return "
		"d.split(\"/\").map(encodeURIComponent).join(\"/\")}\n",
		"/*! lodash v4.17.21 | MIT */\nvar FUNC_ERROR_TEXT = 'Expected "
		"a function', HASH_UNDEFINED = '__lodash_hash_undefined__';\n",
		"export declare function getToken(options: TokenOptions): "
		"Promise<string>;\nconst secret = process.env.SECRET;\n"
		"password = options.password;\n",
		"{\"_authToken\": null, \"token\": \"\", \"apiKey\": \"\"}\n",
		"commit {h40}\nuuid {h8}-{h4}-{h4}-{h4}-{h12}\n",
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	struct gen g;
	size_t i;

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	for (i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
		expand(&g, clean[i]);
		scan(r, &fo, "lib/index.js", g.s, strlen(g.s), 0);
		if (fo.n != 0)
			fail_msg("clean sample %zu: %s", i, fo.rule[0]);
		scan(r, &fo, ".env", g.s, strlen(g.s), 7);
		if (fo.n != 0 && strcmp(fo.rule[0], "secret.env-assignment") != 0)
			fail_msg("clean sample %zu in .env: %s", i, fo.rule[0]);
	}
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* found_in() : scans template t as path; 1 if id is found (fo: r's). */
static int
found_in(struct pol_secrets_run *r, struct found *fo, const char *path,
    const char *t, const char *id, size_t chunk)
{
	struct gen g;
	char rule[64];

	expand(&g, t);
	scan(r, fo, path, g.s, strlen(g.s), chunk);
	snprintf(rule, sizeof(rule), "secret.%s", id);
	return has_rule(fo, rule);
}

/* More shapes each detector must find, and look-alikes it must not. */
static void
test_shapes(void **state)
{
	static const struct {
		const char	*id, *path, *t;
		int		 want;
	} cases[] = {
		/* Armored keys whatever the body looks like. */
		{ "private-key", "k.json", "{\"key\": \"-----BEGIN PRIVATE "
		    "KEY-----\\nMII{b61}\\n{b64}\\n-----END PRIVATE KEY-----\\n\"}",
		    1 },
		{ "private-key", "k.js", "const k =\n  '-----BEGIN EC PRIVATE "
		    "KEY-----\\n' +\n  'MHc{b61}\\n' +\n  '{b40}';\n", 1 },
		{ "private-key", "k.pem", "-----BEGIN ENCRYPTED PRIVATE KEY"
		    "-----\r\nMIIF{b60}\r\n", 1 },
		{ "private-key", "k.pem", "-----BEGIN RSA PRIVATE KEY-----\n"
		    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{h32}\n\n"
		    "{b64}\n", 1 },
		{ "private-key", "k.txt", "  -----BEGIN ED25519 PRIVATE KEY"
		    "-----\n    MC4{b45}\n", 1 },
		{ "private-key", "id.ppk", "PuTTY-User-Key-File-3: ssh-ed25519"
		    "\nEncryption: none\nPublic-Lines: 2\n{b64}\n{b4}\n"
		    "Private-Lines: 1\r\n{b44}\nPrivate-MAC: {h64}\n", 1 },
		{ "private-key", "a.js", "if (pem.startsWith('-----BEGIN "
		    "PRIVATE KEY-----')) return parse(pem);\n", 0 },
		{ "private-key", "a.js", "'-----BEGIN RSA PRIVATE KEY-----"
		    "\\n' + base64(der) + '\\n-----END RSA PRIVATE KEY-----'\n",
		    0 },
		/* A body cut short in documentation (twilio's doc comment). */
		{ "private-key", "a.d.ts", "/** e.g. `-----BEGIN RSA PRIVATE "
		    "KEY----- MIIEpQIBAAKCAQEA{b48}. -----END RSA PRIVATE KEY"
		    "-----` */\n", 0 },
		{ "private-key", "a.md", "-----BEGIN PRIVATE KEY-----\n"
		    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC{b20}\xe2\x80\xa6\n", 0 },
		/* The same body whole, on one line or padded. */
		{ "private-key", "a.d.ts", "/** e.g. `-----BEGIN RSA PRIVATE "
		    "KEY----- MIIEpQIBAAKCAQEA{b48} -----END RSA PRIVATE KEY"
		    "-----` */\n", 1 },
		{ "private-key", "k.pem", "-----BEGIN PRIVATE KEY-----\n"
		    "MC4CAQAwBQYDK2VwBCIEI{b40}=\n-----END PRIVATE KEY-----\n",
		    1 },
		{ "openssh-private-key", "k.json", "\"-----BEGIN OPENSSH "
		    "PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjE{b50}\\n\"", 1 },
		/* Credentials in URLs and connection strings. */
		{ "url-credentials", "a.js", "mongodb+srv://svc:{a20}@cluster0."
		    "ab1cd.mongodb.net/db?retryWrites=true", 1 },
		{ "url-credentials", "a.py", "REDIS = 'redis://:{a24}@cache.acme"
		    ".io:6379/0'", 1 },
		{ "url-credentials", "a.yml", "url: amqps://svc:{a16}@mq.acme.io"
		    "/vhost\n", 1 },
		{ "url-credentials", "a.js", "mysql://deploy:{a20}@10.0.3.7:3306"
		    "/app", 1 },
		{ "url-credentials", "a.js", "u = `https://x-access-token:"
		    "${token}@github.com/${repo}.git`", 0 },
		{ "url-credentials", "a.js", "u = 'postgres://app:app@db.acme.io"
		    "/app'", 0 },
		{ "url-credentials", "a.js", "u = 'postgres://app:{a16}@db."
		    "example.com/app'", 0 },
		{ "url-credentials", "a.js", "re = /^(\\w+):\\/\\/([^:]+):([^@]+)"
		    "@(.*)$/;", 0 },
		{ "url-credentials", "doc.md", "https-proxy=https://use%21r:"
		    "pas%2As@my.proxy:8080\n", 0 },
		{ "url-credentials", "doc.md", "cvs://:pserver:anoncvs@sources."
		    "redhat.com:/cvs/src\n", 0 },
		{ "url-credentials", "doc.md", "https://user:he%2F%2Fo@pypi."
		    "company.com/simple\n", 0 },
		{ "url-credentials", "a.js", "new URL('dotenv://:key_1234@dotenv"
		    ".org/vault/.env.vault?environment=production')", 0 },
		/* Stand-in and documented passwords: Prisma's template,
		   Redis's docs, MDN's URL.password page. */
		{ "url-credentials", "a.js", "return\"mongodb+srv://root:"
		    "randompassword@cluster0.ab1cd.mongodb.net/mydb\"", 0 },
		{ "url-credentials", "a.js", "u = 'postgres://app:SuperSecret"
		    "@db.acme.io/app'", 0 },
		{ "url-credentials", "README.md", "url: \"redis://alice:foobared"
		    "@awesome.redis.server:6380\"", 0 },
		{ "url-credentials", "a.test.ts", "url.parse(\"https://anonymous:"
		    "flabada@developer.mozilla.org/en-US/docs/Web/API/URL\");",
		    0 },
		{ "url-credentials", "a.js", "return\"mongodb+srv://root:"
		    "randompassword7@cluster0.ab1cd.mongodb.net/mydb\"", 1 },
		{ "url-credentials", "a.js", "u = 'redis://alice:foobared{a8}"
		    "@cache.acme.io:6380'", 1 },
		{ "url-credentials", "a.js", "u = 'https://anonymous:{a12}@"
		    "developer.mozilla.org/'", 1 },
		{ "url-credentials", "a.js", "DOTENV_KEY='dotenv://:key_{h64}@"
		    "dotenv.org/vault/.env.vault?environment=production'", 1 },
		/* A library's documentation payload ({"some":"payload"}). */
		{ "jwt", "README.rst", "    " JWTIO_H ".eyJzb21lIjoicGF5bG9hZCJ9."
		    "{u43}\n", 0 },
		/* A placeholder or a bad checksum first hides nothing after. */
		{ "aws-access-key-id", "a.ini", "a = AKIA{X16}\nb = AKIA{U16}\n",
		    1 },
		{ "github-token", "a.js", "a = 'ghp_{a36}'\nb = 'ghp_{C36}'\n",
		    1 },
		{ "url-credentials", "a.js", "a = 'mysql://u:password@db.acme."
		    "io/x'\nb = 'mysql://u:{a16}@db.acme.io/x'\n", 1 },
		/* Twilio's call shapes. */
		{ "twilio-credentials", "a.py", "client = Client(\"AC{h32}\",\n"
		    "    \"{h32}\")\n", 1 },
		{ "twilio-credentials", ".env.local", "TWILIO_AUTH_TOKEN="
		    "{h32}\n", 1 },
		/* Vault's current token format. */
		{ "vault-token", "a.sh", "VAULT_TOKEN=hvs.{u95}\n", 1 },
		{ "vault-token", "a.sh", "t = 'hvs.{u95}'\n", 1 },
		/* Telegram's token alone. */
		{ "telegram-bot-token", "a.py", "TOKEN = '{d10}:AA{u33}'\n", 1 },
		/* Templates are judged by their values, not their name. */
		{ "env-assignment", ".env.example", "DB_PASSWORD=\n"
		    "STRIPE_SECRET=your-stripe-secret\nAPI_TOKEN={a32}\n", 1 },
		{ "env-assignment", ".env.sample", "DB_PASSWORD=\n"
		    "STRIPE_SECRET=your-stripe-secret\nAPI_TOKEN=<token>\n", 0 },
		{ "pypirc-password", "pypirc", "[testpypi]\npassword: {a24}\n",
		    1 },
		/* Code that names a field is not a credential. */
		{ "npmrc-auth-token", "lib/client.js", "this._authToken = "
		    "options.authToken || process.env.NPM_TOKEN;\n", 0 },
		{ "npmrc-auth-token", "lib/client.js", "this._authToken = "
		    "'{a36}';\n", 1 },
		{ "yarnrc-auth", "lib/cfg.js", "npmAuthToken: configuration."
		    "npmAuthToken\n", 0 },
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	size_t i, c;
	static const size_t chunks[] = { 0, 1, 5 };

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	assert_non_null(r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
			if (found_in(r, &fo, cases[i].path, cases[i].t, cases[i].id,
			    chunks[c]) != cases[i].want)
				fail_msg("case %zu (%s, %zu-byte chunks): %s", i,
				    cases[i].id, chunks[c], cases[i].want ?
				    "not found" : "found");
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* b64url() : base64url of n bytes, no padding, into out (NUL-ended). */
static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789-_";
	size_t i, o = 0;
	unsigned int v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned int)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned int)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

/*
 * mkjwt() : a JWT of alg (HS256/384/512, or RS256 with a made-up
 * signature) over payload, signed with key, into out.
 */
static void
mkjwt(const char *alg, const char *payload, const char *key, char *out,
    size_t len)
{
	char hdr[128], h[256], p[2048], sig[256];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	const EVP_MD *md = NULL;
	size_t i;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
	b64url((const unsigned char *)hdr, strlen(hdr), h);
	b64url((const unsigned char *)payload, strlen(payload), p);
	snprintf(out, len, "%s.%s", h, p);
	if (strcmp(alg, "HS256") == 0)
		md = EVP_sha256();
	else if (strcmp(alg, "HS384") == 0)
		md = EVP_sha384();
	else if (strcmp(alg, "HS512") == 0)
		md = EVP_sha512();
	if (md != NULL)
		assert_non_null(HMAC(md, key, (int)strlen(key),
		    (const unsigned char *)out, strlen(out), mac, &mlen));
	else
		for (mlen = 0; mlen < 64; mlen++)
			mac[mlen] = (unsigned char)(mlen * 37 + 11);
	b64url(mac, mlen, sig);
	i = strlen(out);
	snprintf(out + i, len - i, ".%s", sig);
}

/*
 * JWTs that are documented samples, example payloads or signed with a
 * published key are not credentials; the same tokens made otherwise are.
 */
static void
test_jwt_samples(void **state)
{
	static const struct {
		const char	*alg, *payload, *key;
		int		 want;
	} cases[] = {
		/* jwt.io's claims, sub a number (passport-jwt's tests). */
		{ "HS256", "{\"sub\":1234567890,\"name\":\"John Doe\",\"iss\":"
		    "\"acme.io\",\"exp\":\"9999999999\"}", "k-7Hq2xZ", 0 },
		{ "HS256", "{\"sub\": \"1234567890\", \"name\": \"John Doe\"}",
		    "k-7Hq2xZ", 0 },
		{ "HS256", "{\"sub\":12345678901,\"name\":\"John Doe\"}",
		    "k-7Hq2xZ", 1 },
		/* Microsoft's documented ID token. */
		{ "RS256", "{\"ver\":\"2.0\",\"tid\":\"9122040d-6c67-4c5b-b112-"
		    "36a304b66dad\",\"name\":\"Abe Lincoln\"}", "", 0 },
		{ "RS256", "{\"ver\":\"2.0\",\"tid\":\"4f0c6a2e-1b7d-4e59-9c3a-"
		    "8d2b5e7f1a60\",\"name\":\"Abe Lincoln\"}", "", 1 },
		/* An example payload (AWS's documentation). */
		{ "RS256", "{\"sub\":\"730448f2\",\"sts:identity_context\":"
		    "\"EXAMPLEIDENTITYCONTEXT\",\"exp\":1579729529}", "", 0 },
		{ "RS256", "{\"sub\":\"730448f2\",\"sts:identity_context\":"
		    "\"AQoJb3JpZ2luX2VjEJr\",\"exp\":1579729529}", "", 1 },
		/* Signed with a published key: anyone can make these. */
		{ "HS256", "{\"source\":\"dev\",\"data\":\"LOCAL\"}",
		    "your-256-bit-secret", 0 },
		{ "HS384", "{\"source\":\"dev\",\"data\":\"LOCAL\"}",
		    "your-384-bit-secret", 0 },
		{ "HS512", "{\"source\":\"dev\",\"data\":\"LOCAL\"}",
		    "shhhhh", 0 },
		{ "HS256", "{\"user\":\"admin\",\"iat\":1700000000}", "secret",
		    0 },
		/* The same claims under a key of the issuer's own. */
		{ "HS256", "{\"source\":\"dev\",\"data\":\"LOCAL\"}",
		    "q8Zr-2kLw9Tn4Vx", 1 },
		{ "HS512", "{\"source\":\"dev\",\"data\":\"LOCAL\"}",
		    "your-512-bit-secret!", 1 },
		{ "HS256", "{\"user\":\"admin\",\"iat\":1700000000}",
		    "secret2", 1 },
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	char tok[4096], file[4400];
	size_t i, c, len;
	static const size_t chunks[] = { 0, 1, 5 };

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	assert_non_null(r);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mkjwt(cases[i].alg, cases[i].payload, cases[i].key, tok,
		    sizeof(tok));
		len = (size_t)snprintf(file, sizeof(file), "headers: {\n"
		    "  authorization: 'Bearer %s',\n}\n", tok);
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			scan(r, &fo, "lib/a.js", file, len, chunks[c]);
			if (has_rule(&fo, "secret.jwt") != cases[i].want)
				fail_msg("case %zu (%zu-byte chunks): %s", i,
				    chunks[c], cases[i].want ? "not found" :
				    "found");
		}
	}
	/* A sample longer than 1 KiB (Microsoft's is 1139 bytes) is read
	   back whole. */
	{
		char pl[1400];
		size_t k;

		len = (size_t)snprintf(pl, sizeof(pl), "{\"ver\":\"2.0\","
		    "\"aio\":\"");
		for (k = 0; k < 900; k++)
			pl[len++] = "Df2Gh4Jk6Lm8"[k % 12];
		snprintf(pl + len, sizeof(pl) - len, "\",\"tid\":\"9122040d-"
		    "6c67-4c5b-b112-36a304b66dad\",\"name\":\"Abe Lincoln\"}");
		mkjwt("RS256", pl, "", tok, sizeof(tok));
		assert_true(strlen(tok) > 1300);
		scan(r, &fo, "apis/x.examples.json", tok, strlen(tok), 0);
		assert_false(has_rule(&fo, "secret.jwt"));
		scan(r, &fo, "apis/x.examples.json", tok, strlen(tok), 7);
		assert_false(has_rule(&fo, "secret.jwt"));
	}
	/* A published key's signature altered: no longer anyone's token. */
	mkjwt("HS256", "{\"source\":\"dev\"}", "your-256-bit-secret", tok,
	    sizeof(tok));
	len = strlen(tok);
	tok[len - 2] = tok[len - 2] == 'A' ? 'B' : 'A';
	scan(r, &fo, "lib/a.js", tok, len, 0);
	assert_true(has_rule(&fo, "secret.jwt"));
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* GitHub's and npm's CRC32: the token verifies, any change breaks it. */
static void
test_checksum(void **state)
{
	struct gen g;
	char tok[41];
	size_t i;

	(void)state;
	expand(&g, "ghp_{C36}");
	assert_int_equal(strlen(g.s), 40);
	assert_int_equal(pol_secrets_token_crc_ok(g.s, 40), 1);
	for (i = 4; i < 40; i++) {
		memcpy(tok, g.s, 41);
		tok[i] = tok[i] == 'a' ? 'b' : 'a';
		if (pol_secrets_token_crc_ok(tok, 40))
			fail_msg("byte %zu changed, checksum still fits", i);
	}
	assert_int_equal(pol_secrets_token_crc_ok(g.s, 39), 0);
	expand(&g, "npm_{C36}");
	assert_int_equal(pol_secrets_token_crc_ok(g.s, 40), 1);
	/* The documentation's example token does not verify. */
	assert_int_equal(pol_secrets_token_crc_ok("ghp_" "16C7e42F292c6912E"
	    "7710c838347Ae178B4a", 40), 0);
	/* Zero-padded checksums: the leading digits are '0'. */
	memcpy(tok, "npm_", 4);
	for (i = 0; i < 100000; i++) {
		snprintf(tok + 4, 31, "%030zu", i);
		crc_token(tok + 4);
		tok[40] = '\0';
		if (tok[34] == '0')
			break;
	}
	assert_true(tok[34] == '0');
	assert_int_equal(pol_secrets_token_crc_ok(tok, 40), 1);
}

/* Findings under test folders say so; the path test itself. */
static void
test_test_paths(void **state)
{
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	struct gen g;

	(void)state;
	assert_int_equal(pol_secrets_test_path("test/a.js"), 1);
	assert_int_equal(pol_secrets_test_path("lib/tests/x/a.js"), 1);
	assert_int_equal(pol_secrets_test_path("src/__tests__/a.js"), 1);
	assert_int_equal(pol_secrets_test_path("fixtures/key.pem"), 1);
	assert_int_equal(pol_secrets_test_path("a/__fixtures__/k"), 1);
	assert_int_equal(pol_secrets_test_path("test"), 0);
	assert_int_equal(pol_secrets_test_path("lib/test.js"), 0);
	assert_int_equal(pol_secrets_test_path("testing/a.js"), 0);
	assert_int_equal(pol_secrets_test_path("lib/contest/a.js"), 0);
	assert_int_equal(pol_secrets_file_class("test/.env") &
	    (POL_SF_TEST | POL_SF_ENV), POL_SF_TEST | POL_SF_ENV);

	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	expand(&g, "k = 'ghp_{C36}'\n");
	scan(r, &fo, "test/auth.test.js", g.s, strlen(g.s), 0);
	assert_int_equal(fo.n, 1);
	assert_non_null(strstr(fo.text[0], "test folder"));
	scan(r, &fo, "lib/auth.js", g.s, strlen(g.s), 0);
	assert_int_equal(fo.n, 1);
	assert_null(strstr(fo.text[0], "test folder"));
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/*
 * A value longer than the window the checks read back: the JWT check
 * cannot see the payload and reports it (fail closed); an env line
 * longer than the window is reported.
 */
static void
test_long_values(void **state)
{
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	char *buf;
	size_t n, i;

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	buf = malloc(16384);
	assert_non_null(buf);
	n = (size_t)snprintf(buf, 16384, "t = 'eyJ");
	for (i = 0; i < 2500; i++)
		buf[n++] = "Ab9Cd8Ef7"[i % 9];
	n += (size_t)snprintf(buf + n, 16384 - n, ".eyJ");
	for (i = 0; i < 2500; i++)
		buf[n++] = "Gh6Ij5Kl4"[i % 9];
	n += (size_t)snprintf(buf + n, 16384 - n, ".");
	for (i = 0; i < 43; i++)
		buf[n++] = "Mn3Op2Qr1"[i % 9];
	n += (size_t)snprintf(buf + n, 16384 - n, "'\n");
	scan(r, &fo, "a.js", buf, n, 0);
	assert_true(has_rule(&fo, "secret.jwt"));
	scan(r, &fo, "a.js", buf, n, 3);
	assert_true(has_rule(&fo, "secret.jwt"));

	n = (size_t)snprintf(buf, 16384, "DB_PASSWORD=");
	for (i = 0; i < 5000; i++)
		buf[n++] = "Zq8Wx7"[i % 6];
	buf[n++] = '\n';
	scan(r, &fo, ".env", buf, n, 0);
	assert_true(has_rule(&fo, "secret.env-assignment"));
	free(buf);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

/* The README's detector table has a row for every built-in detector. */
static void
test_readme_table(void **state)
{
	const struct pol_detector *d;
	const char *src;
	char path[4096], row[128], *text;
	FILE *f;
	long n;
	size_t i;

	(void)state;
	if ((src = getenv("SRCDIR")) == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/README.md", src);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	for (i = 0; (d = pol_secrets_builtin(i)) != NULL; i++) {
		snprintf(row, sizeof(row), "\n| `%s` | ", d->rule);
		if (strstr(text, row) == NULL)
			fail_msg("README.md has no detector row for %s",
			    d->rule);
		assert_non_null(d->guard);
	}
	free(text);
}

static void
test_file_class(void **state)
{
	(void)state;
	assert_int_equal(pol_secrets_file_class(".env"), POL_SF_ENV);
	assert_int_equal(pol_secrets_file_class("app/.env.local"), POL_SF_ENV);
	assert_int_equal(pol_secrets_file_class("prod.env"), POL_SF_ENV);
	assert_int_equal(pol_secrets_file_class("environment.js"), 0);
	assert_int_equal(pol_secrets_file_class("lib/env"), 0);
	assert_int_equal(pol_secrets_file_class("build/config.gypi"),
	    POL_SF_GYPI);
	assert_int_equal(pol_secrets_file_class("config.gypi.bak"), 0);
	assert_int_equal(pol_secrets_file_class("a/.npmrc"), POL_SF_NPMRC);
	assert_int_equal(pol_secrets_file_class("npmrc"), POL_SF_NPMRC);
	assert_int_equal(pol_secrets_file_class("npmrc.js"), 0);
}

/*
 * Data that ends right before an unmapped page: Hyperscan's AVX-512
 * literal matcher reads past the end of what it is given (vectorscan
 * issue 322), so the scanner must never hand it the caller's last bytes.
 */
static void
test_end_of_mapping(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} texts[] = {
		/* Found by fuzz_scan. */
		{ "{\"n\": \t\t\t\t\t\t\t\t\t\t\t\n\n\n\n\0\0\0\0\0A}]}", 30 },
		{ "VAt hat pat sat fat rat mat ca", 30 },
		{ "x", 1 },
		{ "token = \"npm_", 14 },
		{ "-----BEGIN RSA PRIVATE KEY-----\n", 32 },
	};
	struct pol_secrets_db *db;
	struct pol_secrets_run *r;
	struct found fo;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *map, *p;
	size_t i, len, chunk;

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, 0, collect, &fo);
	assert_non_null(r);
	map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		len = texts[i].len;
		for (chunk = 1; chunk <= len; chunk++) {
			size_t off, n;

			assert_int_equal(pol_secrets_run_begin(r, "a.js"), 0);
			for (off = 0; off < len; off += n) {
				n = len - off < chunk ? len - off : chunk;
				/* Each chunk ends at the unmapped page. */
				p = map + pg - n;
				memcpy(p, texts[i].s + off, n);
				assert_int_equal(pol_secrets_run_data(r, p, n),
				    0);
			}
			assert_int_equal(pol_secrets_run_end(r), 0);
		}
	}
	munmap(map, (size_t)pg * 2);
	pol_secrets_run_free(r);
	pol_secrets_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_regex),
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_custom_split),
		cmocka_unit_test(test_every_detector),
		cmocka_unit_test(test_suppressed_then_real),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_false_positives),
		cmocka_unit_test(test_file_class),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_jwt_samples),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_test_paths),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_readme_table),
		cmocka_unit_test(test_end_of_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
