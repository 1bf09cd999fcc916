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
	r = pol_secrets_run_new(db, 1, collect, &fo);
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
	r = pol_secrets_run_new(db, 0, collect, &fo);
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
 * L letters, D base64 of digits (Discord user ids).
 */
static const char *
class_set(char c, size_t i)
{
	static const char *const digit64[] = { "MNO", "DTjz", "AEIMQUYcgk",
	    "wxyz012345" };

	switch (c) {
	case 'a':
		return "aZ3kQ9mB7xR2pL5tW8nC4vY6";
	case 'U':
		return "Q7ZK3XJ9W2VM5TP8RB4N";
	case 'h':
		return "0123456789abcdef";
	case 'b':
		return "Ab+Cd/Ef9Gh8Ij7Kl6Mn5";
	case 'u':
		return "Ab-Cd_Ef9Gh8Ij7Kl6Mn5";
	case 'd':
		return "0123456789";
	case 'L':
		return "aZkQmBxRpLtWnCvY";
	case 'D':
		return digit64[i % 4];
	default:
		return NULL;
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
			if (n >= 8 && g->nseg < 8 && n < sizeof(g->seg[0]))
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

struct sample {
	const char	*id;		/* detector */
	const char	*path;
	const char	*pos;		/* must find id (and only also) */
	const char	*neg;		/* must not find id */
	const char	*neg_path;	/* NULL: path */
	const char	*also;		/* other detectors pos may trip, or NULL */
};

static const struct sample samples[] = {
	{ "npm-token", "lib/a.js", "const t = \"npm_{a36}\";\n",
	    "const t = \"npm_{a35}\"; npm_{a40}\n", NULL, NULL },
	{ "npmrc-auth-token", "config/.npmrc",
	    "registry=https://registry.npmjs.org/\n"
	    "//registry.npmjs.org/:_authToken={a36}\n",
	    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
	    "x = '//registry.npmjs.org/:_authToken=' + token;\n", NULL,
	    NULL },
	{ "npmrc-auth", ".npmrc", "email=a@b.c\n_auth={b24}\n",
	    "_auth=\n_auth=${AUTH}\nfoo_auth={b24}\n", NULL, NULL },
	{ "npmrc-password", "config/.npmrc", "username=me\n_password={b16}\n",
	    "username=me\n_password={b16}\n", "README.md", NULL },
	{ "github-token", "a.txt", "GH ghp_{a36}\n", "ghp_{a30} ghx_{a36}\n",
	    NULL, NULL },
	{ "github-pat", "a.txt", "github_pat_{a22}_{a59}\n",
	    "github_pat_{a22}_{a20}\n", NULL, NULL },
	{ "gitlab-token", "a.yml", "token: glpat-{u20}\n", "glpat-{u10}\n",
	    NULL, NULL },
	{ "aws-access-key-id", "a.ini", "aws_access_key_id = AKIA{U16}\n",
	    "key = AKIA" "IOSFODNN7" "EXAMPLE\nAKIA{U12}\n", NULL, NULL },
	{ "aws-secret-access-key", ".aws/credentials",
	    "aws_secret_access_key = {b40}\n",
	    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/" "bPxRfiCY"
	    "EXAMPLEKEY\nsecretAccessKey: creds.secretAccessKey,\n"
	    "\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/" "bPxRfiCYz"
	    "EXAMPLEKEY\",\n", NULL,
	    NULL },
	{ "gcp-service-account", "key.json",
	    "{\n  \"type\": \"service_account\",\n  \"project_id\": \"p\",\n"
	    "  \"private_key_id\": \"{h40}\",\n  \"private_key\": \"-----BEGIN"
	    " PRIVATE KEY-----\\n{b64}\\n-----END PRIVATE KEY-----\\n\"\n}\n",
	    "{\"type\": \"authorized_user\", \"private_key\": \"-----BEGIN\"}\n",
	    NULL,
	    "private-key" },
	{ "google-api-key", "app.js", "apiKey: \"AIza{u35}\",\n",
	    "AIza{u20}\n", NULL, NULL },
	{ "google-oauth-secret", "a.json", "\"client_secret\":\"GOCSPX-{u28}\"",
	    "GOCSPX-{u10}\n", NULL, NULL },
	{ "azure-storage-key", "a.cs",
	    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={b86}=="
	    ";EndpointSuffix=core.windows.net\n",
	    "AccountKey=<your key>;\nAccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1"
	    "OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;\n",
	    NULL, NULL },
	{ "stripe-live-key", ".env.local", "STRIPE=sk_" "live_{a24}\n",
	    "STRIPE=sk_test_{a24}\n", "a.js", "env-assignment" },
	{ "slack-token", "a.js", "token: 'xoxb-{d11}-{d12}-{a24}'",
	    "token: 'xoxb-XXXXXXXX-XXXX'", NULL, NULL },
	{ "slack-webhook", "a.js",
	    "url = \"https://hooks.slack.com/services/T{U8}/B{U8}/{a24}\"",
	    "url = \"https://hooks.slack.com/services/XXX/YYY/ZZZ\"", NULL,
	    NULL },
	{ "twilio-api-key", "a.js", "sid = 'SK{h32}'", "sid = 'SK{h31}'",
	    NULL, NULL },
	{ "twilio-credentials", "a.js", "u = 'https://AC{h32}:{h32}@api'",
	    "sid = 'AC{h32}'", NULL, NULL },
	{ "sendgrid-api-key", "a.js", "k = 'SG.{u22}.{u43}'",
	    "k = 'SG.{u10}.{u10}'", NULL, NULL },
	{ "openai-api-key", "a.py", "k = 'sk-proj-{u48}'\nj = 'sk-{a48}'\n",
	    "k = 'sk-{a20}'\n", NULL, NULL },
	{ "anthropic-api-key", "a.py", "k = 'sk-ant-api03-{u90}AA'",
	    "k = 'sk-ant-api03-{u20}'", NULL, NULL },
	{ "private-key", "secret",
	    "-----BEGIN RSA PRIVATE KEY-----\n{b64}\n{b64}\n"
	    "-----END RSA PRIVATE KEY-----\n",
	    "var h = '-----BEGIN RSA PRIVATE KEY-----';\n"
	    "-----BEGIN PUBLIC KEY-----\n{b64}\n", NULL, NULL },
	{ "openssh-private-key", "id_ed25519",
	    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE{b50}\n",
	    "h = '-----BEGIN OPENSSH PRIVATE KEY-----';\n", NULL, NULL },
	{ "pgp-private-key", "key.asc",
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: x\n\n{b64}\n",
	    "const H = '-----BEGIN PGP PRIVATE KEY BLOCK-----';\nf();\n",
	    NULL, NULL },
	{ "jwt", "a.http", "Authorization: Bearer eyJ{u20}.eyJ{u30}.{u43}\n",
	    "x = 'eyJ{u5}.eyJ{u5}.{u5}'\n", NULL, NULL },
	{ "npm-config-gypi", "build/config.gypi",
	    "{ 'variables': { 'nodedir': '/x',\n"
	    "  \"npm_config__authtoken\": \"{a36}\",\n } }\n",
	    "{ 'variables': { \"npm_config__authtoken\": \"{a36}\" } }\n",
	    "build/other.gypi", NULL },
	{ "env-assignment", ".env.production",
	    "NODE_ENV=production\nDB_PASSWORD=hunter2x\n",
	    "DB_PASSWORD=hunter2x\n", "src/app.js", NULL },
	{ "docker-config-auth", ".docker/config.json",
	    "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n"
	    "\t\t\t\"auth\": \"{b32}\"\n\t\t}\n\t}\n}\n",
	    "{\"auths\": {}}\n", NULL, NULL },
	{ "heroku-api-key", "deploy.sh",
	    "export HEROKU_API_KEY={h8}-{h4}-{h4}-{h4}-{h12}\n",
	    "export HEROKU_APP=app\nid = '{h8}-{h4}-{h4}-{h4}-{h12}'\n", NULL,
	    NULL },
	{ "mailgun-api-key", "mail.js", "apiKey: 'key-{h32}'",
	    "apiKey: 'key-{h31}' monkey-{h32}", NULL, NULL },
	{ "shopify-token", "a.js", "t = 'shpat_{h32}'", "t = 'shpat_{h20}'",
	    NULL, NULL },
	{ "discord-bot-token", "bot.js", "client.login('{D24}.{u6}.{u27}')",
	    "client.login('Abcd{a20}.{u6}.{u27}')", NULL, NULL },
	{ "huggingface-token", "a.py", "HF = 'hf_{L34}'", "HF = 'hf_{L10}'",
	    NULL, NULL },
	{ "digitalocean-token", "a.tf", "token = \"dop_v1_{h64}\"",
	    "token = \"dop_v1_{h32}\"", NULL, NULL },
	{ "pypi-token", ".pypirc", "password = pypi-AgEIcHlwaS5vcmc{u60}\n",
	    "password = pypi-AgEIcHlwaS5vcmc{u10}\n", NULL, NULL },
	{ "doppler-token", "a.sh", "DOPPLER_TOKEN=dp.pt.{a43}\n",
	    "DOPPLER_TOKEN=dp.pt.{a10}\n", NULL, NULL },
	{ "datadog-api-key", "a.yml", "DD_API_KEY: {h32}\n",
	    "DD_API_KEY: ${DD_API_KEY}\n", NULL, NULL },
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
	size_t i, k, c, w;
	char win[9];

	(void)state;
	db = builtin_db();
	r = pol_secrets_run_new(db, 1, collect, &fo);
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

		/* Negative: not found, in any split. */
		expand(&g, s->neg);
		for (c = 0; c < 2; c++) {
			scan(r, &fo, s->neg_path ? s->neg_path : s->path, g.s,
			    strlen(g.s), c == 0 ? 0 : 1);
			for (i = 0; i < fo.n; i++)
				if (strcmp(fo.rule[i] + 7, s->id) == 0)
					fail_msg("%s: negative sample found",
					    s->id);
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
	r = pol_secrets_run_new(db, 1, collect, &fo);
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
	r = pol_secrets_run_new(db, 1, collect, &fo);
	expand(&g, "ghp_{a36}");
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
	r = pol_secrets_run_new(db, 1, collect, &fo);
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
	r = pol_secrets_run_new(db, 1, collect, &fo);
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
		cmocka_unit_test(test_end_of_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
