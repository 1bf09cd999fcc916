/*
 * policy/secrets.c: the secret detectors, on Hyperscan in streaming mode.
 *
 * Owns the table of built-in detectors (cloud keys, registry tokens,
 * private keys, ...), the compilation of one rule's database (built-ins
 * plus the rule's custom regexes, done once at policy load by load.c) and
 * the per-publish scanning context (struct pol_secrets_run: a scratch
 * space and one stream, reset between files).  Depends on libc and
 * Hyperscan only; never logs, keeps no mutable globals.
 *
 * Data flow: scan.c calls pol_secrets_run_begin() for each file, then
 * pol_secrets_run_data() for every chunk (any split: the stream carries
 * the automaton state across calls, so a token split over two chunks is
 * still found) and pol_secrets_run_end(), which resets the stream and so
 * flushes end-anchored matches.  Matches arrive in on_match(); a finding
 * names the detector and a static redacted label, never a byte of the
 * value beyond the literal prefix that the pattern itself requires.
 *
 * Expression ids: built-in i is id i, custom pattern j is id nbuiltin + j,
 * auxiliary expressions (suppressors of well-known documentation values,
 * quiet parts of logical combinations) are AUX_BASE + k.  A suppressor
 * ends exactly where the detector match it cancels ends; the matches
 * that end at one offset are held and resolved when a later offset is
 * reported or the scan call returns (Hyperscan reports in end order).
 *
 * Offsets: a finding's offset is the end of the match in the file (what
 * Hyperscan reports without start-of-match tracking).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>

#include "policy-int.h"
#include "scan-int.h"

#define AUX_BASE	100000u	/* first id of an auxiliary expression */

/*
 * Hyperscan's AVX-512 literal matcher reads up to 32 bytes past the end
 * of the data it is given (vectorscan issue 322, also in Hyperscan 5.4):
 * a chunk that ends right before an unmapped page crashes it.  So the
 * last SCAN_TAIL bytes of every chunk are scanned from a copy with room
 * behind it; the stream makes the split invisible.
 */
#define SCAN_TAIL	64

#define SM	HS_FLAG_SINGLEMATCH
#define ML	HS_FLAG_MULTILINE

/* A PEM line break, raw or JSON-escaped ("\n" as two bytes). */
#define NL	"(\\r|\\\\r)?(\\n|\\\\n)"

#define DET(id, desc, label, hint, re, fl, files)			\
	{ id, "secret." id, desc, label, hint, re, fl, files }

#define HINT_REVOKE	"revoke the credential now, remove it from the " \
	"package and keep it in a secret store or CI variable"
#define HINT_NPMRC	"never ship .npmrc credentials: add the file to " \
	".npmignore (or use \"files\") and revoke the token"
#define HINT_KEY	"remove the private key from the package and " \
	"replace the key pair"
#define HINT_ENV	"do not publish .env files: add them to .npmignore " \
	"(or use \"files\") and rotate the values"

static const struct pol_detector builtins[] = {
	DET("npm-token", "npm access token",
	    "npm_************************************", HINT_REVOKE,
	    "\\bnpm_[A-Za-z0-9]{36}\\b", SM, 0),
	DET("npmrc-auth-token", "npm _authToken setting",
	    "_authToken=****", HINT_NPMRC,
	    "_authToken[ \\t]*=[ \\t]*[\"']?[A-Za-z0-9._~+/=-]{16,}", SM, 0),
	DET("npmrc-auth", "npm _auth setting (basic credentials)",
	    "_auth=****", HINT_NPMRC,
	    "(^|[\\s:;])_auth[ \\t]*=[ \\t]*[\"']?[A-Za-z0-9+/]{8,}",
	    SM | ML, 0),
	DET("npmrc-password", "npm _password setting",
	    "_password=****", HINT_NPMRC,
	    "(^|[\\s:;])_password[ \\t]*=[ \\t]*[\"']?[^\\s\"'$]",
	    SM | ML, POL_SF_NPMRC),
	DET("github-token", "GitHub token",
	    "gh?_************************************", HINT_REVOKE,
	    "\\bgh[pousr]_[A-Za-z0-9]{36}\\b", SM, 0),
	DET("github-pat", "GitHub fine-grained personal access token",
	    "github_pat_****", HINT_REVOKE,
	    "\\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\\b", SM, 0),
	DET("gitlab-token", "GitLab personal access token",
	    "glpat-********************", HINT_REVOKE,
	    "\\bglpat-[A-Za-z0-9_-]{20}", SM, 0),
	/* Not single-match: the AWS documentation key is suppressed. */
	DET("aws-access-key-id", "AWS access key id",
	    "AKIA****************", HINT_REVOKE,
	    "\\b(AKIA|ASIA)[A-Z0-9]{16}\\b", 0, 0),
	DET("aws-secret-access-key", "AWS secret access key assignment",
	    "aws_secret_access_key=****************************************",
	    HINT_REVOKE,
	    "(?i)secret_?access_?key[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[A-Za-z0-9/+]{40}", 0, 0),
	/* Logical combination of the two quiet parts below (AUX 0, 1). */
	DET("gcp-service-account", "Google Cloud service account key file",
	    "\"private_key\": \"-----BEGIN ****\"", HINT_KEY,
	    "100000 & 100001", SM | HS_FLAG_COMBINATION, 0),
	DET("google-api-key", "Google API key",
	    "AIza***********************************", HINT_REVOKE,
	    "\\bAIza[0-9A-Za-z_-]{35}", SM, 0),
	DET("google-oauth-secret", "Google OAuth client secret",
	    "GOCSPX-****************************", HINT_REVOKE,
	    "\\bGOCSPX-[A-Za-z0-9_-]{28}", SM, 0),
	/* Not single-match: the storage emulator's public key is suppressed. */
	DET("azure-storage-key", "Azure storage or service bus key",
	    "AccountKey=****", HINT_REVOKE,
	    "(AccountKey=[A-Za-z0-9+/]{86}==|"
	    "SharedAccessKey=[A-Za-z0-9+/]{43}=)", 0, 0),
	DET("stripe-live-key", "Stripe live secret key",
	    "sk_live_****", HINT_REVOKE,
	    "\\b[rs]k_live_[A-Za-z0-9]{24,}", SM, 0),
	DET("slack-token", "Slack token", "xox?-****", HINT_REVOKE,
	    "\\bxox[abeoprs]-[0-9]{6,}-[A-Za-z0-9-]{8,}", SM, 0),
	DET("slack-webhook", "Slack incoming webhook URL",
	    "hooks.slack.com/services/****", HINT_REVOKE,
	    "hooks\\.slack\\.com/(services|workflows)/T[A-Z0-9]{6,12}/"
	    "[A-Z0-9]{6,12}/[A-Za-z0-9]{20,}", SM, 0),
	DET("twilio-api-key", "Twilio API key",
	    "SK********************************", HINT_REVOKE,
	    "\\bSK[0-9a-f]{32}\\b", SM, 0),
	DET("twilio-credentials", "Twilio account SID with auth token",
	    "AC****:****", HINT_REVOKE,
	    "(\\bAC[0-9a-f]{32}:[0-9a-f]{32}\\b|"
	    "(?i:twilio_?auth_?token)[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[0-9a-f]{32}\\b)", SM, 0),
	DET("sendgrid-api-key", "SendGrid API key", "SG.****.****",
	    HINT_REVOKE,
	    "\\bSG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}", SM, 0),
	DET("openai-api-key", "OpenAI API key", "sk-****", HINT_REVOKE,
	    "(\\bsk-(proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|"
	    "\\bsk-[A-Za-z0-9]{48}\\b)", SM, 0),
	DET("anthropic-api-key", "Anthropic API key", "sk-ant-****",
	    HINT_REVOKE,
	    "\\bsk-ant-[a-z]{3,8}[0-9]{2}-[A-Za-z0-9_-]{80,}", SM, 0),
	DET("private-key", "PEM private key",
	    "-----BEGIN PRIVATE KEY-----****", HINT_KEY,
	    "-----BEGIN ((RSA|DSA|EC|ENCRYPTED) )?PRIVATE KEY-----" NL
	    "(Proc-Type:|[A-Za-z0-9+/]{40})", SM, 0),
	DET("openssh-private-key", "OpenSSH private key",
	    "-----BEGIN OPENSSH PRIVATE KEY-----****", HINT_KEY,
	    "-----BEGIN OPENSSH PRIVATE KEY-----" NL "b3BlbnNzaC1rZXktdjE",
	    SM, 0),
	DET("pgp-private-key", "PGP private key block",
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----****", HINT_KEY,
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----[^-]{0,200}(\\n|\\\\n)"
	    "[A-Za-z0-9+/]{60}", SM, 0),
	DET("jwt", "JSON web token", "eyJ****.eyJ****.****", HINT_REVOKE,
	    "\\beyJ[A-Za-z0-9_-]{15,}\\.eyJ[A-Za-z0-9_-]{15,}\\."
	    "[A-Za-z0-9_-]{20,}", SM, 0),
	DET("npm-config-gypi", "npm credentials saved in config.gypi",
	    "\"npm_config__authToken\": \"****\"",
	    "delete build/config.gypi before packing (node-gyp copies the "
	    "npm environment into it) and revoke the token",
	    "(?i)[\"'](npm_config_[^\"'\\r\\n]*|//[^\"'\\r\\n]*:)"
	    "_(auth|authtoken|password)[\"'][ \\t]*:[ \\t]*[\"'][^\"'\\s]",
	    SM, POL_SF_GYPI),
	DET("env-assignment", "password, secret or key assigned in an env file",
	    "NAME=****", HINT_ENV,
	    "(?i)^[ \\t]*(export[ \\t]+)?[A-Za-z0-9_.-]*"
	    "(password|passwd|secret|api_?key|token|private_?key|"
	    "access_?key|credential)[A-Za-z0-9_.-]*[ \\t]*=[ \\t]*"
	    "([\"'][^\"'\\s]|[^\\s\"'#$])", SM | ML, POL_SF_ENV),
	DET("docker-config-auth",
	    "Docker registry credentials (config.json auths)",
	    "\"auths\": {\"****\": {\"auth\": \"****\"}}", HINT_REVOKE,
	    "\"auths\"\\s*:\\s*\\{\\s*\"[^\"]{1,200}\"\\s*:\\s*\\{\\s*"
	    "\"auth\"\\s*:\\s*\"[A-Za-z0-9+/]{8,}", SM, 0),
	DET("heroku-api-key", "Heroku API key", "HRKU-****", HINT_REVOKE,
	    "((?i:heroku)[A-Za-z0-9_ .-]{0,24}[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
	    "[0-9a-fA-F]{12}\\b|\\bHRKU-[A-Za-z0-9_-]{60})", SM, 0),
	DET("mailgun-api-key", "Mailgun API key",
	    "key-********************************", HINT_REVOKE,
	    "\\bkey-[0-9a-f]{32}\\b", SM, 0),
	DET("shopify-token", "Shopify access token",
	    "shpat_********************************", HINT_REVOKE,
	    "\\bshp(at|ca|pa|ss)_[a-fA-F0-9]{32}\\b", SM, 0),
	/* The first part is the base64 of a numeric user id. */
	DET("discord-bot-token", "Discord bot token", "M****.******.****",
	    HINT_REVOKE,
	    "\\b[MNO][DTjz][AEIMQUYcgk][w-z0-5]"
	    "([MNO][DTjz][AEIMQUYcgk][w-z0-5]){4}[A-Za-z0-9_-]{3,6}\\."
	    "[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38}\\b", SM, 0),
	DET("huggingface-token", "Hugging Face access token",
	    "hf_**********************************", HINT_REVOKE,
	    "\\bhf_[A-Za-z0-9]{34,40}\\b", SM, 0),
	DET("digitalocean-token", "DigitalOcean token",
	    "dop_v1_****", HINT_REVOKE,
	    "\\bdo[opr]_v1_[a-f0-9]{64}\\b", SM, 0),
	DET("pypi-token", "PyPI upload token", "pypi-AgEIcHlwaS5vcmc****",
	    HINT_REVOKE,
	    "\\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", SM, 0),
	DET("doppler-token", "Doppler token", "dp.pt.****", HINT_REVOKE,
	    "\\bdp\\.(pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}\\b",
	    SM, 0),
	DET("datadog-api-key", "Datadog API or application key assignment",
	    "DD_API_KEY=********************************", HINT_REVOKE,
	    "(?i:(dd|datadog)_(api|app|application)_key)[\"']?[ \\t]*[:=]"
	    "[ \\t]*[\"']?[0-9a-f]{32}", SM, 0),
};

#define NBUILTIN	(sizeof(builtins) / sizeof(builtins[0]))

enum aux_kind {
	AUX_PART,		/* quiet part of a logical combination */
	AUX_SUPPRESS,		/* cancels `target` where both end */
};

struct aux {
	const char	*re;
	unsigned int	 hsflags;
	enum aux_kind	 kind;
	const char	*target;	/* detector id */
};

/*
 * Auxiliary expressions; the position in this table is the id offset
 * from AUX_BASE, which the combination above refers to.
 */
static const struct aux auxes[] = {
	{ "\"type\"\\s*:\\s*\"service_account\"", HS_FLAG_QUIET, AUX_PART,
	    "gcp-service-account" },
	{ "\"private_key\"\\s*:\\s*\"-----BEGIN", HS_FLAG_QUIET, AUX_PART,
	    "gcp-service-account" },
	/* AWS documentation values (they end in EXAMPLE / EXAMPLEKEY). */
	{ "\\b(AKIA|ASIA)[A-Z0-9]{9}EXAMPLE\\b", 0, AUX_SUPPRESS,
	    "aws-access-key-id" },
	{ "[A-Za-z0-9/+]{30}EXAMPLEKEY", 0, AUX_SUPPRESS,
	    "aws-secret-access-key" },
	/* Its variants (...CYzEXAMPLEKEY): the 40 bytes from the prefix. */
	{ "wJalrXUtnFEMI/K7MDENG/[A-Za-z0-9/+]{18}", 0, AUX_SUPPRESS,
	    "aws-secret-access-key" },
	/* The Azure storage emulator's published account key. */
	{ "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsu"
	    "Fq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", 0, AUX_SUPPRESS,
	    "azure-storage-key" },
};

#define NAUX		(sizeof(auxes) / sizeof(auxes[0]))
/* Held matches: at most one per detector and one per suppressor. */
#define PENDING_MAX	(NBUILTIN + NAUX)

struct pol_secrets_db {
	hs_database_t	*hs;
	size_t		 ncustom;
	char		**ids;		/* custom ids as written */
	char		**rules;	/* "secret.<id>" */
	unsigned int	 aux_target[NAUX];	/* built-in per aux */
};

struct held {
	unsigned int	 id;		/* builtin index */
	unsigned long long to;
	int		 suppress;	/* 1: a suppressor of id */
};

struct pol_secrets_run {
	const struct pol_secrets_db *db;
	int		 builtins;
	pol_emit_fn	 emit;
	void		*arg;
	hs_scratch_t	*scratch;
	hs_stream_t	*stream;
	unsigned int	 fclass;	/* POL_SF_* of the current file */
	unsigned char	*seen;		/* per id: reported */
	size_t		 nheld;
	unsigned long long held_to;	/* end offset of the held matches */
	unsigned char	 tail[SCAN_TAIL * 2];	/* see SCAN_TAIL */
	struct held	 held[PENDING_MAX];
	int		 failed;
};

const struct pol_detector *
pol_secrets_builtin(size_t i)
{
	return i < NBUILTIN ? &builtins[i] : NULL;
}

size_t
pol_secrets_builtin_count(void)
{
	return NBUILTIN;
}

/* builtin_index() : the index of detector id, or NBUILTIN. */
static size_t
builtin_index(const char *id)
{
	size_t i;

	for (i = 0; i < NBUILTIN; i++)
		if (strcmp(builtins[i].id, id) == 0)
			break;
	return i;
}

/* has_suffix() : 1 if s ends with suf. */
static int
has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

/*
 * pol_secrets_file_class() : returns the POL_SF_* classes of the basename
 * of path: env files (.env, .env.local, production.env), config.gypi,
 * npmrc files.
 */
unsigned int
pol_secrets_file_class(const char *path)
{
	const char *b;
	size_t len;
	unsigned int c = 0;

	if ((b = strrchr(path, '/')) != NULL)
		b++;
	else
		b = path;
	len = strlen(b);
	if (strcmp(b, ".env") == 0 || strncmp(b, ".env.", 5) == 0 ||
	    (len > 4 && has_suffix(b, len, ".env")))
		c |= POL_SF_ENV;
	if (strcmp(b, "config.gypi") == 0)
		c |= POL_SF_GYPI;
	if (strcmp(b, "npmrc") == 0 || has_suffix(b, len, ".npmrc"))
		c |= POL_SF_NPMRC;
	return c;
}

/*
 * check_platform() : 0 if Hyperscan runs on this CPU, else -1 with a
 * message.
 */
static int
check_platform(char *err, size_t errlen)
{
	if (hs_valid_platform() == HS_SUCCESS)
		return 0;
	snprintf(err, errlen, "Hyperscan does not support this CPU "
	    "(SSSE3 is required); secret detectors are unavailable");
	return -1;
}

/*
 * pol_secrets_check_regex() : compiles re alone, as a custom pattern
 * would be; returns 0, or -1 with Hyperscan's message in err.
 */
int
pol_secrets_check_regex(const char *re, char *err, size_t errlen)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;

	if (check_platform(err, errlen) == -1)
		return -1;
	if (re == NULL || *re == '\0') {
		snprintf(err, errlen, "empty regex");
		return -1;
	}
	if (hs_compile(re, HS_FLAG_SINGLEMATCH, HS_MODE_STREAM, NULL, &db,
	    &cerr) != HS_SUCCESS) {
		snprintf(err, errlen, "%s", cerr != NULL &&
		    cerr->message != NULL ? cerr->message :
		    "regex does not compile");
		hs_free_compile_error(cerr);
		return -1;
	}
	hs_free_database(db);
	return 0;
}

void
pol_secrets_free(struct pol_secrets_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	hs_free_database(db->hs);
	for (i = 0; i < db->ncustom; i++) {
		if (db->ids != NULL)
			free(db->ids[i]);
		if (db->rules != NULL)
			free(db->rules[i]);
	}
	free(db->ids);
	free(db->rules);
	free(db);
}

/*
 * pol_secrets_compile() : compiles the built-in detectors plus n custom
 * patterns into one streaming database.  Returns it, or NULL with a
 * message in err (naming the custom pattern that failed).  The custom
 * array is copied; the caller keeps it.
 */
struct pol_secrets_db *
pol_secrets_compile(const struct pol_custom_secret *custom, size_t n,
    char *err, size_t errlen)
{
	struct pol_secrets_db *db = NULL;
	hs_compile_error_t *cerr = NULL;
	const char **exprs = NULL;
	unsigned int *flags = NULL, *ids = NULL;
	size_t total, i, k, len;
	int idx;

	if (check_platform(err, errlen) == -1)
		return NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		goto nomem;
	total = NBUILTIN + NAUX + n;
	exprs = calloc(total, sizeof(*exprs));
	flags = calloc(total, sizeof(*flags));
	ids = calloc(total, sizeof(*ids));
	if (exprs == NULL || flags == NULL || ids == NULL)
		goto nomem;
	if (n > 0) {
		db->ids = calloc(n, sizeof(*db->ids));
		db->rules = calloc(n, sizeof(*db->rules));
		if (db->ids == NULL || db->rules == NULL)
			goto nomem;
	}
	db->ncustom = n;

	k = 0;
	for (i = 0; i < NBUILTIN; i++, k++) {
		exprs[k] = builtins[i].re;
		flags[k] = builtins[i].hsflags;
		ids[k] = (unsigned int)i;
	}
	for (i = 0; i < NAUX; i++, k++) {
		exprs[k] = auxes[i].re;
		flags[k] = auxes[i].hsflags;
		ids[k] = AUX_BASE + (unsigned int)i;
		db->aux_target[i] =
		    (unsigned int)builtin_index(auxes[i].target);
	}
	for (i = 0; i < n; i++, k++) {
		if (custom[i].id == NULL || custom[i].regex == NULL) {
			snprintf(err, errlen, "custom secret %zu: missing id "
			    "or regex", i + 1);
			goto fail;
		}
		len = strlen(custom[i].id);
		if ((db->ids[i] = strdup(custom[i].id)) == NULL ||
		    (db->rules[i] = malloc(len + 8)) == NULL)
			goto nomem;
		memcpy(db->rules[i], "secret.", 7);
		memcpy(db->rules[i] + 7, custom[i].id, len + 1);
		exprs[k] = custom[i].regex;
		flags[k] = HS_FLAG_SINGLEMATCH;
		ids[k] = (unsigned int)(NBUILTIN + i);
	}

	if (hs_compile_multi(exprs, flags, ids, (unsigned int)total,
	    HS_MODE_STREAM, NULL, &db->hs, &cerr) != HS_SUCCESS) {
		idx = cerr != NULL ? cerr->expression : -1;
		if (idx >= (int)(NBUILTIN + NAUX))
			snprintf(err, errlen, "custom secret '%s': %s",
			    custom[idx - NBUILTIN - NAUX].id, cerr->message);
		else if (idx >= 0 && idx < (int)NBUILTIN)
			snprintf(err, errlen, "internal: built-in detector "
			    "%s does not compile: %s", builtins[idx].id,
			    cerr->message);
		else
			snprintf(err, errlen, "internal: secret detectors do "
			    "not compile: %s", cerr != NULL ? cerr->message :
			    "unknown error");
		hs_free_compile_error(cerr);
		db->hs = NULL;
		goto fail;
	}
	free(exprs);
	free(flags);
	free(ids);
	return db;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	free(exprs);
	free(flags);
	free(ids);
	pol_secrets_free(db);
	return NULL;
}

/* report() : emits the finding for id unless already reported in this file. */
static void
report(struct pol_secrets_run *r, unsigned int id, unsigned long long to)
{
	const struct pol_detector *d;
	struct pol_finding f;
	size_t j;

	if (r->seen[id])
		return;
	r->seen[id] = 1;
	memset(&f, 0, sizeof(f));
	f.offset = (int64_t)to;
	if (id < NBUILTIN) {
		d = &builtins[id];
		f.rule = d->rule;
		f.hint = d->hint;
		snprintf(f.text, sizeof(f.text), "%s (%s)", d->desc, d->label);
	} else {
		j = id - NBUILTIN;
		f.rule = r->db->rules[j];
		f.hint = "remove the value matched by this custom secret "
		    "pattern from the package and rotate it";
		snprintf(f.text, sizeof(f.text), "custom secret pattern '%s' "
		    "matched (value redacted)", r->db->ids[j]);
	}
	r->emit(r->arg, &f);
}

static void	resolve(struct pol_secrets_run *);

/*
 * hold() : keeps a match until every match ending at the same offset is
 * known; matches held for an earlier offset are resolved first.
 */
static void
hold(struct pol_secrets_run *r, unsigned int id, unsigned long long to,
    int suppress)
{
	if (r->nheld > 0 && r->held_to != to)
		resolve(r);
	r->held_to = to;
	if (r->nheld == PENDING_MAX) {
		/* Full: a detector match is reported now (fail closed). */
		if (!suppress)
			report(r, id, to);
		return;
	}
	r->held[r->nheld].id = id;
	r->held[r->nheld].to = to;
	r->held[r->nheld].suppress = suppress;
	r->nheld++;
}

/* resolve() : reports the held matches that no suppressor cancels. */
static void
resolve(struct pol_secrets_run *r)
{
	size_t i, j;
	int cancelled;

	for (i = 0; i < r->nheld; i++) {
		if (r->held[i].suppress)
			continue;
		cancelled = 0;
		for (j = 0; j < r->nheld; j++)
			if (r->held[j].suppress &&
			    r->held[j].id == r->held[i].id &&
			    r->held[j].to == r->held[i].to)
				cancelled = 1;
		if (!cancelled)
			report(r, r->held[i].id, r->held[i].to);
	}
	r->nheld = 0;
}

/* on_match() : Hyperscan's match callback; always goes on (returns 0). */
static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
	struct pol_secrets_run *r = ctx;
	const struct pol_detector *d;
	unsigned int t;

	(void)from;
	(void)flags;
	if (id >= AUX_BASE) {
		id -= AUX_BASE;
		if (id >= NAUX || auxes[id].kind != AUX_SUPPRESS)
			return 0;
		t = r->db->aux_target[id];
		if (t < NBUILTIN && r->builtins)
			hold(r, t, to, 1);
		return 0;
	}
	if (id < NBUILTIN) {
		if (!r->builtins)
			return 0;
		d = &builtins[id];
		if (d->files != 0 && (d->files & r->fclass) == 0)
			return 0;
		if (r->seen[id])
			return 0;
		if ((d->hsflags & HS_FLAG_SINGLEMATCH) == 0) {
			hold(r, id, to, 0);
			return 0;
		}
		report(r, id, to);
		return 0;
	}
	if (id - NBUILTIN < r->db->ncustom)
		report(r, id, to);
	return 0;
}

/*
 * pol_secrets_run_new() : a scanning context for db (borrowed, must
 * outlive it); findings go to emit(arg).  Returns NULL on failure.
 */
struct pol_secrets_run *
pol_secrets_run_new(const struct pol_secrets_db *db, int builtins_on,
    pol_emit_fn emit, void *arg)
{
	struct pol_secrets_run *r;

	if (db == NULL || db->hs == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->db = db;
	r->builtins = builtins_on;
	r->emit = emit;
	r->arg = arg;
	if ((r->seen = calloc(NBUILTIN + db->ncustom, 1)) == NULL)
		goto fail;
	if (hs_alloc_scratch(db->hs, &r->scratch) != HS_SUCCESS)
		goto fail;
	if (hs_open_stream(db->hs, 0, &r->stream) != HS_SUCCESS)
		goto fail;
	return r;
fail:
	pol_secrets_run_free(r);
	return NULL;
}

void
pol_secrets_run_free(struct pol_secrets_run *r)
{
	if (r == NULL)
		return;
	if (r->stream != NULL)
		(void)hs_close_stream(r->stream, r->scratch, NULL, NULL);
	if (r->scratch != NULL)
		hs_free_scratch(r->scratch);
	free(r->seen);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/*
 * pol_secrets_run_begin() : starts a file.  The stream is already fresh
 * (opened by run_new, reset by run_end).  Returns 0.
 */
int
pol_secrets_run_begin(struct pol_secrets_run *r, const char *path)
{
	r->fclass = pol_secrets_file_class(path);
	memset(r->seen, 0, NBUILTIN + r->db->ncustom);
	r->nheld = 0;
	r->failed = 0;
	return 0;
}

/*
 * pol_secrets_run_data() : scans len bytes (any split); 0, or -1 on a
 * library error.  Only bytes before the last SCAN_TAIL are read in place.
 */
int
pol_secrets_run_data(struct pol_secrets_run *r, const unsigned char *buf,
    size_t len)
{
	const unsigned char *p;
	size_t n;

	if (r->failed)
		return -1;
	while (len > 0) {
		if (len > SCAN_TAIL) {
			/* Hyperscan takes an unsigned int length. */
			n = len - SCAN_TAIL;
			if (n > (1u << 30))
				n = 1u << 30;
			p = buf;
		} else {
			n = len;
			memcpy(r->tail, buf, n);
			p = r->tail;
		}
		if (hs_scan_stream(r->stream, (const char *)p,
		    (unsigned int)n, 0, r->scratch, on_match, r) !=
		    HS_SUCCESS) {
			r->failed = 1;
			return -1;
		}
		resolve(r);
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * pol_secrets_run_end() : ends the file: resetting the stream delivers
 * the matches that only the end of data completes.  Returns 0 or -1.
 */
int
pol_secrets_run_end(struct pol_secrets_run *r)
{
	if (hs_reset_stream(r->stream, 0, r->scratch, on_match, r) !=
	    HS_SUCCESS) {
		r->failed = 1;
		return -1;
	}
	resolve(r);
	return r->failed ? -1 : 0;
}
