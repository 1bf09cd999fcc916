/*
 * policy/secrets.c: the secret detectors, on Hyperscan in streaming mode.
 *
 * Owns the table of built-in detectors (cloud keys, registry tokens,
 * private keys, ...), the compilation of one rule's database (built-ins
 * plus the rule's custom regexes, done once at policy load by load.c) and
 * the per-publish scanning context (struct pol_secrets_run: a scratch
 * space and one stream, reset between files), and the checks a match
 * passes before it is a finding (placeholders, documented example
 * values, CRC32 of GitHub and npm tokens, code naming a field).  Depends
 * on libc, Hyperscan and zlib (crc32) only; never logs, keeps no mutable
 * globals.
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
 * Checks: a detector with a check sees the POL_SECRETS_LOOK bytes of the
 * file that end where its match ends (the run keeps the last bytes of
 * the chunks it scanned, so a value split over chunks reads back whole)
 * and may drop the match.  Such detectors are not single-match: a
 * placeholder first in a file must not hide a real token after it.  Each
 * has an end boundary, so one occurrence is one match, not one per byte.
 *
 * Offsets: a finding's offset is the end of the match in the file (what
 * Hyperscan reports without start-of-match tracking).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

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

/*
 * End boundaries: a token ends where its alphabet does (the byte after it
 * is part of the match) or at the end of the file.  \b serves the tokens
 * made of word characters only.
 */
#define E_U	"([^A-Za-z0-9_-]|$)"		/* base64url tokens */
#define E_B	"([^A-Za-z0-9+/=]|$)"		/* base64 values */
#define E_T	"([^A-Za-z0-9._~+/=-]|$)"	/* npmrc token values */

/*
 * The end of a PEM body's first run: a line break, a space, padding, a
 * quote, the END line; not '.' or the first byte of U+2026, which mark a
 * body cut short in documentation ("MIIEpQIBAAK...").
 */
#define E_PEM	"([^A-Za-z0-9+/.\\xe2]|$)"

/* What may stand between a PEM header and the first line of its body. */
#define PEM_GAP	"([^A-Za-z0-9\\\\-]|\\\\[nrt]){1,40}"

#define DET(id, desc, label, hint, re, fl, files, check, guard)		\
	{ id, "secret." id, desc, label, hint, re, fl, files, check, guard }

/* A fixed-format token: any file, checked for placeholders. */
#define TOK(id, desc, label, re)					\
	DET(id, desc, label, HINT_REVOKE, re, 0, 0, check_token, G_PH)

#define HINT_REVOKE	"revoke the credential now, remove it from the " \
	"package and keep it in a secret store or CI variable"
#define HINT_NPMRC	"never ship .npmrc credentials: add the file to " \
	".npmignore (or use \"files\") and revoke the token"
#define HINT_KEY	"remove the private key from the package and " \
	"replace the key pair"
#define HINT_ENV	"do not publish .env files: add them to .npmignore " \
	"(or use \"files\") and rotate the values"
#define HINT_URL	"take the password out of the URL (read it from " \
	"the environment) and change it"

/* Guards, as the README's detector table words them. */
#define G_PH		"exact shape and end; placeholders"
#define G_CODE		"placeholders; code that names a field"
#define G_CRC		"CRC32 checksum must verify"

static int	check_token(const unsigned char *, size_t);
static int	check_key(const unsigned char *, size_t);
static int	check_assign(const unsigned char *, size_t);
static int	check_env(const unsigned char *, size_t);
static int	check_crc(const unsigned char *, size_t);
static int	check_url(const unsigned char *, size_t);
static int	check_jwt(const unsigned char *, size_t);

static const struct pol_detector builtins[] = {
	DET("npm-token", "npm access token",
	    "npm_************************************", HINT_REVOKE,
	    "\\bnpm_[A-Za-z0-9]{36}\\b", 0, 0, check_crc, G_CRC),
	DET("npmrc-auth-token", "npm _authToken setting",
	    "_authToken=****", HINT_NPMRC,
	    "_authToken[ \\t]*=[ \\t]*[\"']?[A-Za-z0-9._~+/=-]{16,}" E_T,
	    0, 0, check_assign, G_CODE),
	DET("npmrc-auth", "npm _auth setting (basic credentials)",
	    "_auth=****", HINT_NPMRC,
	    "(^|[\\s:;])_auth[ \\t]*=[ \\t]*[\"']?[A-Za-z0-9+/]{8,}={0,2}" E_B,
	    ML, 0, check_assign, G_CODE),
	DET("npmrc-password", "npm _password setting",
	    "_password=****", HINT_NPMRC,
	    "(^|[\\s:;])_password[ \\t]*=[ \\t]*[\"']?[^\\s\"'$][^\\n]*$",
	    ML, POL_SF_NPMRC, check_env, G_PH),
	DET("github-token", "GitHub token",
	    "gh?_************************************", HINT_REVOKE,
	    "\\bgh[pousr]_[A-Za-z0-9]{36}\\b", 0, 0, check_crc, G_CRC),
	DET("github-pat", "GitHub fine-grained personal access token",
	    "github_pat_****", HINT_REVOKE,
	    "\\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\\b", 0, 0,
	    check_token, G_PH),
	DET("gitlab-token", "GitLab access, trigger, deploy or runner token",
	    "glpat-********************", HINT_REVOKE,
	    "\\bgl(pat|ptt|dt|rt|cbt|ft|imt|soat|agent|oas)-"
	    "[A-Za-z0-9_-]{20,64}" E_U, 0, 0, check_token, G_PH),
	DET("aws-access-key-id", "AWS access key id",
	    "AKIA****************", HINT_REVOKE,
	    "\\b(AKIA|ASIA)[A-Z0-9]{16}\\b", 0, 0, check_token,
	    "AWS documentation keys (...EXAMPLE), placeholders"),
	DET("aws-secret-access-key", "AWS secret access key assignment",
	    "aws_secret_access_key=****************************************",
	    HINT_REVOKE,
	    "(?i)secret_?access_?key[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[A-Za-z0-9/+]{40}([^A-Za-z0-9/+=]|$)", 0, 0, check_assign,
	    "AWS documentation keys (...EXAMPLEKEY), placeholders, code"),
	/* Logical combination of the two quiet parts below (AUX 0, 1). */
	DET("gcp-service-account", "Google Cloud service account key file",
	    "\"private_key\": \"-----BEGIN ****\"", HINT_KEY,
	    "100000 & 100001", SM | HS_FLAG_COMBINATION, 0, NULL,
	    "both \"type\": \"service_account\" and a PEM private_key"),
	DET("google-api-key", "Google API key",
	    "AIza***********************************", HINT_REVOKE,
	    "\\bAIza[0-9A-Za-z_-]{35}" E_U, 0, 0, check_token, G_PH),
	DET("google-oauth-secret", "Google OAuth client secret",
	    "GOCSPX-****************************", HINT_REVOKE,
	    "\\bGOCSPX-[A-Za-z0-9_-]{28}" E_U, 0, 0, check_token, G_PH),
	/* The storage emulator's public key is suppressed (AUX). */
	DET("azure-storage-key", "Azure storage or service bus key",
	    "AccountKey=****", HINT_REVOKE,
	    "(AccountKey=[A-Za-z0-9+/]{86}==|"
	    "SharedAccessKey=[A-Za-z0-9+/]{43}=)", 0, 0, check_token,
	    "the storage emulator's published key, placeholders"),
	DET("stripe-live-key", "Stripe live secret key",
	    "sk_live_****", HINT_REVOKE,
	    "\\b[rs]k_live_[A-Za-z0-9]{24,}\\b", 0, 0, check_token, G_PH),
	DET("slack-token", "Slack token", "xox?-****", HINT_REVOKE,
	    "(\\bxox[abeoprs]-[0-9]{6,}-[A-Za-z0-9-]{8,}([^A-Za-z0-9-]|$)|"
	    "\\bxapp-[0-9]-[A-Z0-9]{8,}-[0-9]{8,}-[a-z0-9]{32,}\\b|"
	    "\\bxoxe\\.xox[bp]-[0-9]-[A-Za-z0-9]{100,}\\b)",
	    0, 0, check_token, G_PH),
	DET("slack-webhook", "Slack incoming webhook URL",
	    "hooks.slack.com/services/****", HINT_REVOKE,
	    "hooks\\.slack\\.com/(services|workflows)/T[A-Z0-9]{6,12}/"
	    "[A-Z0-9]{6,12}/[A-Za-z0-9]{20,}\\b", 0, 0, check_token, G_PH),
	DET("twilio-api-key", "Twilio API key",
	    "SK********************************", HINT_REVOKE,
	    "\\bSK[0-9a-f]{32}\\b", 0, 0, check_token, G_PH),
	DET("twilio-credentials", "Twilio account SID with auth token",
	    "AC****:****", HINT_REVOKE,
	    "(\\bAC[0-9a-f]{32}(:|[\"'`][ \\t]*,[ \\t\\r\\n]*[\"'`])"
	    "[0-9a-f]{32}\\b|"
	    "(?i:twilio_?auth_?token)[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[0-9a-f]{32}\\b)", 0, 0, check_token,
	    "placeholders; a SID alone is not reported"),
	DET("sendgrid-api-key", "SendGrid API key", "SG.****.****",
	    HINT_REVOKE,
	    "\\bSG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}" E_U, 0, 0,
	    check_token, G_PH),
	DET("openai-api-key", "OpenAI API key", "sk-****", HINT_REVOKE,
	    "(\\bsk-(proj|svcacct|admin)-[A-Za-z0-9_-]{40,}" E_U "|"
	    "\\bsk-[A-Za-z0-9]{48}\\b)", 0, 0, check_token, G_PH),
	DET("anthropic-api-key", "Anthropic API key", "sk-ant-****",
	    HINT_REVOKE,
	    "\\bsk-ant-[a-z]{3,8}[0-9]{2}-[A-Za-z0-9_-]{80,}" E_U, 0, 0,
	    check_token, G_PH),
	DET("private-key", "PEM private key",
	    "-----BEGIN PRIVATE KEY-----****", HINT_KEY,
	    "(-----BEGIN ((RSA|DSA|EC|ECDSA|ED25519|ED448|X25519|X448|DH|"
	    "ENCRYPTED|SSH2 ENCRYPTED) )?PRIVATE KEY-----" PEM_GAP
	    "((Proc-Type|DEK-Info|Comment):|[A-Za-z0-9+/]{40}"
	    "[A-Za-z0-9+/]*" E_PEM ")|"
	    "\\bPrivate-Lines: [0-9]{1,3}" NL "[A-Za-z0-9+/]{40})", 0, 0,
	    check_key, "a body of 40+ base64 characters, not a placeholder "
	    "nor cut short (MIIE...)"),
	DET("openssh-private-key", "OpenSSH private key",
	    "-----BEGIN OPENSSH PRIVATE KEY-----****", HINT_KEY,
	    "-----BEGIN OPENSSH PRIVATE KEY-----" PEM_GAP
	    "b3BlbnNzaC1rZXktdjE", SM, 0, NULL,
	    "the body must start as an OpenSSH key does"),
	DET("pgp-private-key", "PGP private key block",
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----****", HINT_KEY,
	    "-----BEGIN PGP PRIVATE KEY BLOCK-----[^-]{0,200}(\\n|\\\\n)"
	    "[^A-Za-z0-9]{0,40}[A-Za-z0-9+/]{60}", 0, 0, check_key,
	    "a body of 60+ base64 characters, not a placeholder"),
	DET("jwt", "JSON web token", "eyJ****.eyJ****.****", HINT_REVOKE,
	    "\\beyJ[A-Za-z0-9_-]{15,}\\.eyJ[A-Za-z0-9_-]{15,}\\."
	    "[A-Za-z0-9_-]{20,}" E_U, 0, 0, check_jwt,
	    "documented sample tokens (jwt.io's), example payloads, "
	    "tokens signed with a published key, placeholders"),
	DET("npm-config-gypi", "npm credentials saved in config.gypi",
	    "\"npm_config__authToken\": \"****\"",
	    "delete build/config.gypi before packing (node-gyp copies the "
	    "npm environment into it) and revoke the token",
	    "(?i)[\"'](npm_config_[^\"'\\r\\n]*|//[^\"'\\r\\n]*:)"
	    "_(auth|authtoken|password)[\"'][ \\t]*:[ \\t]*[\"'][^\"'\\s]",
	    SM, POL_SF_GYPI, NULL, "only in config.gypi"),
	DET("env-assignment", "password, secret or key assigned in an env file",
	    "NAME=****", HINT_ENV,
	    "(?i)^[ \\t]*(export[ \\t]+)?[A-Za-z0-9_.-]*"
	    "(password|passwd|secret|api_?key|token|private_?key|"
	    "access_?key|credential)[A-Za-z0-9_.-]*[ \\t]*=[ \\t]*"
	    "([\"'][^\"'\\s]|[^\\s\"'#$])[^\\n]*$", ML, POL_SF_ENV,
	    check_env, "only in env files (.env.example too), judged by "
	    "value: placeholders, short or numeric values, URLs and paths"),
	DET("docker-config-auth",
	    "Docker registry credentials (config.json auths)",
	    "\"auths\": {\"****\": {\"auth\": \"****\"}}", HINT_REVOKE,
	    "\"auths\"\\s*:\\s*\\{\\s*\"[^\"]{1,200}\"\\s*:\\s*\\{\\s*"
	    "\"auth\"\\s*:\\s*\"[A-Za-z0-9+/]{8,}={0,2}\"", 0, 0,
	    check_token, G_PH),
	DET("heroku-api-key", "Heroku API key", "HRKU-****", HINT_REVOKE,
	    "((?i:heroku)[A-Za-z0-9_ .-]{0,24}[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
	    "[0-9a-fA-F]{12}\\b|\\bHRKU-[A-Za-z0-9_-]{60}" E_U ")", 0, 0,
	    check_token, G_PH),
	DET("mailgun-api-key", "Mailgun API key",
	    "key-********************************", HINT_REVOKE,
	    "\\bkey-[0-9a-f]{32}\\b", 0, 0, check_token, G_PH),
	DET("shopify-token", "Shopify access token",
	    "shpat_********************************", HINT_REVOKE,
	    "\\bshp(at|ca|pa|ss)_[a-fA-F0-9]{32}\\b", 0, 0, check_token,
	    G_PH),
	/* The first part is the base64 of a numeric user id. */
	DET("discord-bot-token", "Discord bot token", "M****.******.****",
	    HINT_REVOKE,
	    "\\b[MNO][DTjz][AEIMQUYcgk][w-z0-5]"
	    "([MNO][DTjz][AEIMQUYcgk][w-z0-5]){4}[A-Za-z0-9_-]{3,6}\\."
	    "[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38}" E_U, 0, 0,
	    check_token, G_PH),
	DET("huggingface-token", "Hugging Face access token",
	    "hf_**********************************", HINT_REVOKE,
	    "\\b(hf|api_org)_[A-Za-z0-9]{34,40}\\b", 0, 0, check_token, G_PH),
	DET("digitalocean-token", "DigitalOcean token",
	    "dop_v1_****", HINT_REVOKE,
	    "\\bdo[opr]_v1_[a-f0-9]{64}\\b", 0, 0, check_token, G_PH),
	DET("pypi-token", "PyPI upload token", "pypi-AgEIcHlwaS5vcmc****",
	    HINT_REVOKE,
	    "\\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}" E_U, 0, 0,
	    check_token, G_PH),
	DET("doppler-token", "Doppler token", "dp.pt.****", HINT_REVOKE,
	    "\\bdp\\.(pt|st|sa|ct|scim|audit)\\.[A-Za-z0-9]{40,44}\\b",
	    0, 0, check_token, G_PH),
	DET("datadog-api-key", "Datadog API or application key assignment",
	    "DD_API_KEY=********************************", HINT_REVOKE,
	    "(?i:(dd|datadog)_(api|app|application)_key)[\"']?[ \\t]*[:=]"
	    "[ \\t]*[\"']?[0-9a-f]{32}\\b", 0, 0, check_token, G_PH),
	DET("url-credentials", "password in a URL or connection string",
	    "scheme://user:****@host", HINT_URL,
	    "\\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[A-Za-z0-9._~%!$&*+,;=-]"
	    "{0,64}:[^\\s@/\"'`<>\\\\]{3,128}@[A-Za-z0-9_-][A-Za-z0-9._-]*"
	    "([:/?#\\s\"'`),;\\]}<>\\\\]|$)", 0, 0, check_url,
	    "placeholder, variable or documented example passwords "
	    "(randompassword, foobared), user = password, localhost and "
	    "example hosts"),
	DET("databricks-token", "Databricks personal access token",
	    "dapi********************************", HINT_REVOKE,
	    "\\bdapi[0-9a-f]{32}(-[0-9])?\\b", 0, 0, check_token, G_PH),
	DET("dockerhub-token", "Docker Hub access token", "dckr_pat_****",
	    HINT_REVOKE, "\\bdckr_(pat|oat)_[A-Za-z0-9_-]{27,32}" E_U, 0, 0,
	    check_token, G_PH),
	DET("vault-token", "HashiCorp Vault token", "hvs.****",
	    HINT_REVOKE,
	    "(\\bhv[sbr]\\.[A-Za-z0-9_-]{90,}" E_U "|"
	    "(?i:vault_?token)[\"']?[ \\t]*[:=][ \\t]*[\"']?"
	    "(s\\.[A-Za-z0-9]{24}|hv[sbr]\\.[A-Za-z0-9_-]{24,})" E_U ")",
	    0, 0, check_token, G_PH),
	DET("linear-api-key", "Linear API key", "lin_api_****", HINT_REVOKE,
	    "\\blin_(api|oauth)_[A-Za-z0-9]{40,64}\\b", 0, 0, check_token,
	    G_PH),
	DET("grafana-token", "Grafana service account or cloud token",
	    "glsa_****", HINT_REVOKE,
	    "(\\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\\b|"
	    "\\bglc_eyJ[A-Za-z0-9+/_-]{40,}={0,2}" E_B ")", 0, 0,
	    check_token, G_PH),
	DET("notion-token", "Notion integration token", "ntn_****",
	    HINT_REVOKE,
	    "(\\bntn_[0-9]{11}[A-Za-z0-9]{35}\\b|"
	    "\\bsecret_[A-Za-z0-9]{43}\\b)", 0, 0, check_token, G_PH),
	DET("groq-api-key", "Groq API key", "gsk_****", HINT_REVOKE,
	    "\\bgsk_[A-Za-z0-9]{52}\\b", 0, 0, check_token, G_PH),
	DET("telegram-bot-token", "Telegram bot token", "123456:AA****",
	    HINT_REVOKE, "(\\b|bot)[0-9]{6,12}:AA[A-Za-z0-9_-]{33}" E_U, 0, 0,
	    check_token, G_PH),
	DET("discord-webhook", "Discord webhook URL",
	    "discord.com/api/webhooks/****", HINT_REVOKE,
	    "\\bdiscord(app)?\\.com/api/webhooks/[0-9]{17,20}/"
	    "[A-Za-z0-9_-]{60,68}" E_U, 0, 0, check_token, G_PH),
	DET("fcm-server-key", "Firebase Cloud Messaging server key",
	    "AAAA****:APA91b****", HINT_REVOKE,
	    "\\bAAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,}" E_U, 0, 0,
	    check_token, G_PH),
	DET("newrelic-key", "New Relic API, insert or license key",
	    "NRAK-****", HINT_REVOKE,
	    "(\\bNRAK-[A-Z0-9]{27}\\b|\\bNRI[IQ]-[A-Za-z0-9_-]{32}" E_U "|"
	    "\\b[a-f0-9]{36}NRAL\\b)", 0, 0, check_token, G_PH),
	DET("sentry-token", "Sentry auth token", "sntrys_****",
	    HINT_REVOKE,
	    "(\\bsntry[u]_[a-f0-9]{64}\\b|"
	    "\\bsntrys_eyJ[A-Za-z0-9+/=]{40,}_[A-Za-z0-9+/]{43}" E_B ")",
	    0, 0, check_token, G_PH),
	DET("square-token", "Square access token or OAuth secret",
	    "EAAA****", HINT_REVOKE,
	    "(\\bEAAA[A-Za-z0-9_-]{60}" E_U "|"
	    "\\bsq0(atp|csp)-[A-Za-z0-9_-]{22,43}" E_U ")", 0, 0,
	    check_token, G_PH),
	DET("postman-api-key", "Postman API key", "PMAK-****", HINT_REVOKE,
	    "\\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\\b", 0, 0, check_token, G_PH),
	DET("age-secret-key", "age secret key", "AGE-SECRET-KEY-1****",
	    HINT_KEY, "\\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]"
	    "{58}\\b", 0, 0, check_token, G_PH),
	DET("yarnrc-auth", "Yarn npmAuthToken or npmAuthIdent setting",
	    "npmAuthToken: ****", HINT_NPMRC,
	    "\\bnpmAuth(Token|Ident)[\"']?[ \\t]*:[ \\t]*[\"']?"
	    "[A-Za-z0-9._~+/=-]{8,}" E_T, 0, 0, check_assign, G_CODE),
	DET("pypirc-password", "password in a .pypirc file",
	    "password = ****", HINT_REVOKE,
	    "(?i)^[ \\t]*password[ \\t]*[:=][ \\t]*[^\\s%$][^\\n]*$",
	    ML, POL_SF_PYPIRC, check_env, "only in .pypirc; placeholders"),
	/* Prefixed tokens of more services (formats their docs give). */
	TOK("rubygems-token", "RubyGems API key", "rubygems_****",
	    "\\brubygems_[a-f0-9]{48}\\b"),
	TOK("pulumi-token", "Pulumi access token", "pul-****",
	    "\\bpul-[a-f0-9]{40}\\b"),
	TOK("terraform-token", "Terraform Cloud / HCP Terraform API token",
	    "****.atlasv1.****",
	    "\\b[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_=-]{60,70}" E_U),
	TOK("planetscale-token", "PlanetScale token or password",
	    "pscale_tkn_****",
	    "\\bpscale_(tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}"
	    "([^A-Za-z0-9_.-]|$)"),
	TOK("mailchimp-api-key", "Mailchimp API key", "****-us1",
	    "\\b[0-9a-f]{32}-us[0-9]{1,2}\\b"),
	TOK("dynatrace-token", "Dynatrace API token", "dt0c01.****",
	    "\\bdt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}\\b"),
	TOK("clojars-token", "Clojars deploy token", "CLOJARS_****",
	    "\\bCLOJARS_[a-z0-9]{60}\\b"),
	TOK("brevo-api-key", "Brevo (Sendinblue) API key", "xkeysib-****",
	    "\\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}\\b"),
	TOK("shippo-token", "Shippo API token", "shippo_live_****",
	    "\\bshippo_(live|test)_[a-f0-9]{40}\\b"),
	TOK("typeform-token", "Typeform personal access token", "tfp_****",
	    "\\btfp_[A-Za-z0-9_.=-]{59}([^A-Za-z0-9_.=-]|$)"),
	TOK("airtable-token", "Airtable personal access token", "pat****.****",
	    "\\bpat[A-Za-z0-9]{14}\\.[a-f0-9]{64}\\b"),
	TOK("supabase-token", "Supabase access or secret key", "sbp_****",
	    "(\\bsbp_[a-f0-9]{40}\\b|\\bsb_secret_[A-Za-z0-9_-]{31,64}" E_U
	    ")"),
	TOK("flyio-token", "Fly.io access token", "fo1_****",
	    "(\\bfo1_[A-Za-z0-9_-]{43}" E_U "|"
	    "\\bfm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}" E_B ")"),
	TOK("replicate-token", "Replicate API token", "r8_****",
	    "\\br8_[A-Za-z0-9]{37}\\b"),
	TOK("xai-api-key", "xAI API key", "xai-****",
	    "\\bxai-[A-Za-z0-9]{80}\\b"),
	TOK("azure-ad-client-secret", "Azure AD (Entra ID) client secret",
	    "***8Q~****",
	    "\\b[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}"
	    "([^A-Za-z0-9_~.-]|$)"),
	TOK("mapbox-secret-token", "Mapbox secret token", "sk.eyJ****",
	    "\\bsk\\.eyJ[A-Za-z0-9_-]{20,}\\.[A-Za-z0-9_-]{20,}" E_U),
	TOK("alibaba-access-key-id", "Alibaba Cloud AccessKey ID",
	    "LTAI****", "\\bLTAI[A-Za-z0-9]{12,20}\\b"),
	TOK("contentful-token", "Contentful personal access token",
	    "CFPAT-****", "\\bCFPAT-[A-Za-z0-9_-]{43}" E_U),
	TOK("figma-token", "Figma personal access token", "figd_****",
	    "\\bfigd_[A-Za-z0-9_-]{40}" E_U),
	TOK("langsmith-api-key", "LangSmith API key", "lsv2_pt_****",
	    "\\blsv2_(pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\\b"),
	TOK("tailscale-key", "Tailscale API or auth key", "tskey-****",
	    "\\btskey-(api|auth|client|scim|webhook)-[A-Za-z0-9]{6,}-"
	    "[A-Za-z0-9]{20,}\\b"),
	TOK("buildkite-token", "Buildkite API access token", "bkua_****",
	    "\\bbkua_[a-f0-9]{40}\\b"),
	TOK("packagist-token", "Private Packagist token", "packagist_***_****",
	    "\\bpackagist_[ou][ru]t_[a-f0-9]{68}\\b"),
	TOK("jfrog-token", "JFrog API key or reference token", "AKCp****",
	    "(\\bAKCp[A-Za-z0-9]{69}\\b|\\bcmVmdGtuOjAxOj[A-Za-z0-9]{40,}"
	    "\\b)"),
	TOK("onepassword-token", "1Password service account token",
	    "ops_eyJ****", "\\bops_eyJ[A-Za-z0-9+/]{250,}={0,3}" E_B),
	TOK("atlassian-token", "Atlassian API token or Bitbucket app password",
	    "ATATT3****",
	    "(\\bATATT3[A-Za-z0-9_=-]{150,}([^A-Za-z0-9_=-]|$)|"
	    "\\bATBB[A-Za-z0-9]{32}\\b)"),
	TOK("cloudflare-origin-ca-key", "Cloudflare Origin CA key",
	    "v1.0-****", "\\bv1\\.0-[a-f0-9]{24}-[a-f0-9]{146}\\b"),
	TOK("sourcegraph-token", "Sourcegraph access token", "sgp_****",
	    "\\bsgp_([a-f0-9]{16}_)?[a-f0-9]{40}\\b"),
	TOK("circleci-token", "CircleCI personal API token", "CCIPAT_****",
	    "\\bCCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}\\b"),
	TOK("render-api-key", "Render API key", "rnd_****",
	    "\\brnd_[A-Za-z0-9]{32}\\b"),
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
	int		 hs_cached;	/* hs from pol_hsc_load() */
	size_t		 ncustom;
	char		**ids;		/* custom ids as written */
	char		**rules;	/* "secret.<id>" */
	unsigned int	 aux_target[NAUX];	/* built-in per aux */
};

/* fp_each: distinct values reported per file (past it, every match is). */
#define FP_SEEN_MAX	64
/* Bytes of a value a fingerprint covers (read back from its end). */
#define FP_VALUE_MAX	256

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
	int		 each;		/* 1: every distinct value (fp_each) */
	size_t		 nfps;		/* reported (id, fingerprint) pairs */
	struct {
		unsigned int	 id;
		char		 fp[POL_FP_LEN + 1];
	}		 fps[FP_SEEN_MAX];
	size_t		 nheld;
	unsigned long long held_to;	/* end offset of the held matches */
	unsigned char	 tail[SCAN_TAIL * 2];	/* see SCAN_TAIL */
	struct held	 held[PENDING_MAX];
	int		 failed;
	/* The bytes behind the scan, for the detectors' checks. */
	const unsigned char *blk;	/* the piece being scanned */
	size_t		 blen;
	unsigned long long base;	/* file offset of blk[0] */
	size_t		 nhist;
	unsigned char	 hist[POL_SECRETS_LOOK];	/* bytes before base */
	unsigned char	 win[POL_SECRETS_LOOK];
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
 * pol_secrets_test_path() : 1 if a folder of path (not its basename) is
 * test, tests, __tests__, fixtures or __fixtures__.
 */
int
pol_secrets_test_path(const char *path)
{
	static const char *const dirs[] = { "test", "tests", "__tests__",
	    "fixtures", "__fixtures__" };
	const char *p, *slash;
	size_t i, n;

	for (p = path; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		n = (size_t)(slash - p);
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (strlen(dirs[i]) == n && memcmp(p, dirs[i], n) == 0)
				return 1;
	}
	return 0;
}

/*
 * pol_secrets_file_class() : returns the POL_SF_* classes of path: by its
 * basename (after its last '/' or '!', which joins an archive's name to
 * a file inside it: nested.c) env files (.env, .env.local, production.env), config.gypi,
 * npmrc and pypirc files; POL_SF_TEST for a file under a test folder.
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
	/* A file inside an archive: "dist/a.zip!.npmrc" (nested.c). */
	if (strrchr(b, '!') != NULL)
		b = strrchr(b, '!') + 1;
	len = strlen(b);
	if (strcmp(b, ".env") == 0 || strncmp(b, ".env.", 5) == 0 ||
	    (len > 4 && has_suffix(b, len, ".env")))
		c |= POL_SF_ENV;
	if (strcmp(b, "config.gypi") == 0)
		c |= POL_SF_GYPI;
	if (strcmp(b, "npmrc") == 0 || has_suffix(b, len, ".npmrc"))
		c |= POL_SF_NPMRC;
	if (strcmp(b, ".pypirc") == 0 || strcmp(b, "pypirc") == 0)
		c |= POL_SF_PYPIRC;
	if (pol_secrets_test_path(path))
		c |= POL_SF_TEST;
	return c;
}

/* -------------------------------------------------------------- checks */

static int
is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z');
}

static int
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A byte of a token or value, as the checks walk back over them. */
static int
is_vchar(int c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '+' || c == '/' ||
	    c == '.' || c == '~';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ci_find() : 1 if the lowercase word occurs in v, case-insensitively. */
static int
ci_find(const unsigned char *v, size_t n, const char *word)
{
	size_t i, j, m = strlen(word);

	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++)
			if (lower(v[i + j]) != word[j])
				break;
		if (j == m)
			return 1;
	}
	return 0;
}

/* ci_eq() : 1 if v is the lowercase word, case-insensitively. */
static int
ci_eq(const unsigned char *v, size_t n, const char *word)
{
	return strlen(word) == n && ci_find(v, n, word);
}

/*
 * value_at() : the value that ends the window w: the terminator byte a
 * boundary consumed and base64 '=' padding are dropped, then the run of
 * value bytes before them is the value.  Returns its start; *vlen.
 */
static const unsigned char *
value_at(const unsigned char *w, size_t n, size_t *vlen)
{
	size_t e = n, b;

	if (e > 0 && !is_vchar(w[e - 1]) && w[e - 1] != '=')
		e--;
	while (e > 0 && w[e - 1] == '=')
		e--;
	for (b = e; b > 0 && is_vchar(w[b - 1]); b--)
		;
	*vlen = e - b;
	return w + b;
}

/*
 * Words that mark a stand-in (case-insensitive): documentation values
 * (AWS's keys end in EXAMPLE, its secret key starts with wJalrXUtnFEMI),
 * template text, counting sequences.
 */
static const char *const ph_words[] = {
	"xxxx", "example", "sample", "placeholder", "changeme", "change_me",
	"change-me", "dummy", "redacted", "your", "insert", "replace",
	"0123456789", "1234567890", "abcdefghij", "wjalrxutnfemi",
};

/*
 * placeholder() : 1 if the value v is a stand-in: empty, a word above,
 * one repeated byte; strict (tokens) also a run of 6 equal bytes or at
 * most 4 distinct bytes in 12 or more.
 */
static int
placeholder(const unsigned char *v, size_t n, int strict)
{
	unsigned char seen[256];
	size_t i, run = 1, maxrun = 1, distinct = 0;

	if (n == 0)
		return 1;
	for (i = 0; i < sizeof(ph_words) / sizeof(ph_words[0]); i++)
		if (ci_find(v, n, ph_words[i]))
			return 1;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		if (!seen[v[i]]) {
			seen[v[i]] = 1;
			distinct++;
		}
		if (i > 0 && v[i] == v[i - 1]) {
			if (++run > maxrun)
				maxrun = run;
		} else
			run = 1;
	}
	if (distinct == 1)
		return 1;
	if (!strict)
		return 0;
	return maxrun >= 6 || (n >= 12 && distinct <= 4);
}

/* check_token() : a fixed-format token that is not a placeholder. */
static int
check_token(const unsigned char *w, size_t n)
{
	const unsigned char *v;
	size_t vlen;

	v = value_at(w, n, &vlen);
	return !placeholder(v, vlen, 1);
}

/* check_key() : a key body that is not a placeholder (no run test). */
static int
check_key(const unsigned char *w, size_t n)
{
	const unsigned char *v;
	size_t vlen;

	v = value_at(w, n, &vlen);
	return !placeholder(v, vlen, 0);
}

/*
 * pol_secrets_token_crc_ok() : GitHub's and npm's token format: a 4-byte
 * prefix, 30 random base62 bytes and their CRC32 in 6 base62 digits
 * (0-9A-Za-z, zero padded).  Returns 1 if tok (len bytes) carries it.
 */
int
pol_secrets_token_crc_ok(const char *tok, size_t len)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz";
	const char *p;
	uint64_t want = 0;
	size_t i;

	if (len != 40 || tok[3] != '_')
		return 0;
	for (i = 34; i < 40; i++) {
		if (tok[i] == '\0' || (p = strchr(b62, tok[i])) == NULL)
			return 0;
		want = want * 62 + (uint64_t)(p - b62);
	}
	return want == crc32(0L, (const Bytef *)tok + 4, 30);
}

/* check_crc() : a ghp_/npm_ token whose checksum verifies. */
static int
check_crc(const unsigned char *w, size_t n)
{
	const unsigned char *v;
	size_t vlen;

	v = value_at(w, n, &vlen);
	if (vlen > 40) {
		v += vlen - 40;
		vlen = 40;
	}
	return pol_secrets_token_crc_ok((const char *)v, vlen);
}

/*
 * check_assign() : a setting's value (name = value) that is neither a
 * placeholder nor code: an unquoted dotted name without digits
 * (this._authToken = data.accessToken) is a field, not a credential.
 */
static int
check_assign(const unsigned char *w, size_t n)
{
	const unsigned char *v;
	size_t vlen, i;
	int dot = 0, digit = 0, q;

	v = value_at(w, n, &vlen);
	q = v > w ? v[-1] : 0;
	if (q != '"' && q != '\'' && q != '`') {
		for (i = 0; i < vlen; i++) {
			if (v[i] == '.')
				dot = 1;
			if (v[i] >= '0' && v[i] <= '9')
				digit = 1;
		}
		if (dot && !digit)
			return 0;
	}
	return !placeholder(v, vlen, 1);
}

/* Values an env or config template holds instead of a secret. */
static const char *const env_words[] = {
	"password", "passwd", "secret", "test", "testing", "todo", "none",
	"null", "nil", "undefined", "true", "false", "yes", "no", "required",
	"optional", "default", "empty", "token", "key", "value", "string",
};

/*
 * check_env() : the value of a NAME=value (or name: value) line that the
 * match ends; not a finding when it is a placeholder, a template
 * (${X}, {{x}}, %(x)s, <x>), shorter than 6 bytes, a number, a URL
 * (url-credentials judges those) or a path.  A line longer than the
 * window cannot be read back: it is a finding (fail closed).
 */
static int
check_env(const unsigned char *w, size_t n)
{
	const unsigned char *v;
	size_t b, e = n, i, vlen;
	int digits = 1;

	while (e > 0 && (w[e - 1] == '\r' || w[e - 1] == '\n'))
		e--;
	for (b = e; b > 0 && w[b - 1] != '\n'; b--)
		;
	if (b == 0 && n == POL_SECRETS_LOOK)
		return 1;
	while (b < e && w[b] != '=' && w[b] != ':')
		b++;
	if (b == e)
		return 1;
	b++;
	while (b < e && (w[b] == ' ' || w[b] == '\t'))
		b++;
	while (e > b && (w[e - 1] == ' ' || w[e - 1] == '\t'))
		e--;
	if (b < e && w[b] != '"' && w[b] != '\'') {
		/* An unquoted value ends at a " #" comment. */
		for (i = b + 1; i < e; i++)
			if (w[i] == '#' && (w[i - 1] == ' ' ||
			    w[i - 1] == '\t'))
				break;
		for (e = i; e > b && (w[e - 1] == ' ' || w[e - 1] == '\t');)
			e--;
	} else if (e - b >= 2 && w[e - 1] == w[b]) {
		b++;
		e--;
	}
	v = w + b;
	vlen = e - b;
	if (vlen < 6)
		return 0;
	for (i = 0; i < sizeof(env_words) / sizeof(env_words[0]); i++)
		if (ci_eq(v, vlen, env_words[i]))
			return 0;
	for (i = 0; i < vlen; i++)
		if (v[i] < '0' || v[i] > '9')
			digits = 0;
	if (digits)
		return 0;
	if (v[0] == '<' || v[0] == '[' || v[0] == '{' || v[0] == '%' ||
	    v[0] == '$' || v[0] == '/' || v[0] == '~' ||
	    (v[0] == '.' && vlen > 1 && (v[1] == '/' || v[1] == '.')))
		return 0;
	if (ci_find(v, vlen, "${") || ci_find(v, vlen, "{{") ||
	    ci_find(v, vlen, "%(") || ci_find(v, vlen, "://") ||
	    ci_find(v, vlen, "****") || ci_find(v, vlen, "...") ||
	    ci_find(v, vlen, "<") || ci_find(v, vlen, ">"))
		return 0;
	return !placeholder(v, vlen, 0);
}

static int
is_hostchar(int c)
{
	return is_alnum(c) || c == '.' || c == '-' || c == '_';
}

/*
 * Passwords that documentation and templates put in URLs; the last ones
 * are vendors' documented examples: Redis's (redis.conf, `requirepass
 * foobared`) and MDN's URL.password page (anonymous:flabada).
 */
static const char *const url_words[] = {
	"password", "pass", "passwd", "pwd", "pw", "secret", "admin", "root",
	"guest", "test", "user", "username", "mypassword", "token", "apikey",
	"api_key", "foo", "bar", "xxx", "***", "abc", "123", "1234",
	"12345", "123456", "qwerty", "letmein", "anonymous", "foobared",
	"flabada",
};

/*
 * Words that, in a password of letters alone, say it stands for one:
 * randompassword, yourpassword, supersecret.
 */
static const char *const url_stand_in[] = { "password", "passwd", "secret" };

/* Hosts of documentation and local development. */
static const char *const url_hosts[] = {
	"localhost", "127.0.0.1", "0.0.0.0", "host", "hostname", "server",
	"domain", "domain.com", "example.com", "example.org", "example.net",
	"company.com", "mycompany.com", "yourcompany.com",
};

/* Suffixes reserved for documentation and tests (RFC 2606, 6761). */
static const char *const url_suffixes[] = {
	".example", ".test", ".invalid", ".localhost", ".example.com",
	".example.org", ".example.net", ".local", ".company.com",
	".mycompany.com", ".yourcompany.com",
};

/*
 * check_url() : scheme://user:password@host.  Not a finding: a password
 * that is a placeholder (also once percent-decoded and reduced to its
 * letters and digits: pas%2As), a documented example, holds 1234, is
 * letters alone around "password" or "secret" (randompassword), a
 * template or variable ($X, ${X}, {x}, %s), the same as the user, one
 * repeated byte; a host of local development or documentation.  A URL
 * longer than the window: a finding.
 */
static int
check_url(const unsigned char *w, size_t n)
{
	const unsigned char *user, *pass, *host;
	unsigned char norm[256];
	size_t e = n, hb, at, i, ulen, plen, hlen, nlen;

	if (e > 0 && !is_hostchar(w[e - 1]))
		e--;
	for (hb = e; hb > 0 && is_hostchar(w[hb - 1]); hb--)
		;
	if (hb == 0 || w[hb - 1] != '@')
		return 1;
	at = hb - 1;
	for (i = at; i >= 3; i--)
		if (w[i - 3] == ':' && w[i - 2] == '/' && w[i - 1] == '/')
			break;
	if (i < 3)
		return 1;
	user = w + i;
	for (ulen = 0; i + ulen < at && user[ulen] != ':'; ulen++)
		;
	if (i + ulen >= at)
		return 1;
	pass = user + ulen + 1;
	plen = at - (i + ulen + 1);
	host = w + hb;
	hlen = e - hb;
	/* The password percent-decoded, letters and digits only: pas%2As. */
	for (i = 0, nlen = 0; i < plen && nlen < sizeof(norm); i++) {
		if (pass[i] == '%' && i + 2 < plen) {
			i += 2;
			continue;
		}
		if (is_alnum(pass[i]))
			norm[nlen++] = pass[i];
	}

	for (i = 0; i < sizeof(url_words) / sizeof(url_words[0]); i++)
		if (ci_eq(pass, plen, url_words[i]) ||
		    ci_eq(norm, nlen, url_words[i]))
			return 0;
	if (ci_find(pass, plen, "1234"))
		return 0;
	for (i = 0; i < plen && is_alpha(pass[i]); i++)
		;
	if (i == plen)
		for (i = 0; i < sizeof(url_stand_in) / sizeof(url_stand_in[0]);
		    i++)
			if (ci_find(pass, plen, url_stand_in[i]))
				return 0;
	/* A ':' in the password: cvs://:pserver:anoncvs@host, not a URL's. */
	for (i = 0; i < plen; i++)
		if (pass[i] == '$' || pass[i] == '{' || pass[i] == '*' ||
		    pass[i] == ':' ||
		    pass[i] == '[' || pass[i] == '(' ||
		    (pass[i] == '%' && i + 1 < plen && (pass[i + 1] == 's' ||
		    pass[i + 1] == '(')))
			return 0;
	if (plen == ulen && memcmp(pass, user, plen) == 0)
		return 0;
	if (placeholder(pass, plen, 0))
		return 0;
	for (i = 0; i < sizeof(url_hosts) / sizeof(url_hosts[0]); i++)
		if (ci_eq(host, hlen, url_hosts[i]))
			return 0;
	for (i = 0; i < sizeof(url_suffixes) / sizeof(url_suffixes[0]); i++)
		if (hlen > strlen(url_suffixes[i]) && ci_eq(host + hlen -
		    strlen(url_suffixes[i]), strlen(url_suffixes[i]),
		    url_suffixes[i]))
			return 0;
	if (hlen >= 4 && memcmp(host, "127.", 4) == 0)
		return 0;
	return 1;
}

/* b64url_val() : the value of a base64url byte, or -1. */
static int
b64url_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/*
 * b64url_decode() : decodes the n base64url bytes at p into out (at most
 * cap bytes); returns the decoded length, or -1 on a byte outside the
 * alphabet.
 */
static long
b64url_decode(const unsigned char *p, size_t n, unsigned char *out,
    size_t cap)
{
	size_t i, o = 0;
	unsigned int acc = 0;
	int bits = 0, x;

	for (i = 0; i < n && o < cap; i++) {
		if ((x = b64url_val(p[i])) < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)o;
}

/* ci_same() : 1 if the n bytes at a are s (n bytes), in any case. */
static int
ci_same(const unsigned char *a, size_t n, const char *s)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(a[i]) != lower((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * claim_is() : 1 if the decoded JSON payload j holds the claim "name"
 * with the value val (case-insensitive), as a string or a bare number,
 * with any blanks around the colon.
 */
static int
claim_is(const unsigned char *j, size_t n, const char *name, const char *val)
{
	size_t i, k, nl = strlen(name), vl = strlen(val);

	for (i = 0; i + nl + 2 <= n; i++) {
		if (j[i] != '"' || j[i + nl + 1] != '"' ||
		    !ci_same(j + i + 1, nl, name))
			continue;
		k = i + nl + 2;
		while (k < n && (j[k] == ' ' || j[k] == '\t' || j[k] == '\n' ||
		    j[k] == '\r'))
			k++;
		if (k >= n || j[k++] != ':')
			continue;
		while (k < n && (j[k] == ' ' || j[k] == '\t' || j[k] == '\n' ||
		    j[k] == '\r'))
			k++;
		if (k < n && j[k] == '"') {
			if (k + vl + 2 <= n && j[k + vl + 1] == '"' &&
			    ci_same(j + k + 1, vl, val))
				return 1;
		} else if (k + vl <= n && ci_same(j + k, vl, val) &&
		    (k + vl == n || j[k + vl] < '0' || j[k + vl] > '9'))
			return 1;
	}
	return 0;
}

/*
 * Documented sample tokens, by two claims of their payload: jwt.io's
 * (and the many copies with a numeric sub), and the ID token of
 * Microsoft's identity platform documentation.
 */
static const struct {
	const char	*n1, *v1, *n2, *v2;
} jwt_samples[] = {
	{ "sub", "1234567890", "name", "John Doe" },
	{ "tid", "9122040d-6c67-4c5b-b112-36a304b66dad", "name",
	    "Abe Lincoln" },
};

/* Words that mark a payload written for documentation or a template. */
static const char *const jwt_words[] = {
	"example", "sample", "placeholder", "dummy", "xxxx", "redacted",
	"changeme",
};

/*
 * Published HMAC keys: jwt.io's defaults for HS256/384/512, and what
 * libraries' READMEs sign with (jsonwebtoken's "shhhhh", "secret").  A
 * token signed with one of them can be forged by anyone.
 */
static const char *const jwt_keys[] = {
	"your-256-bit-secret", "your-384-bit-secret", "your-512-bit-secret",
	"secret", "shhhhh", "",
};

/*
 * jwt_public_key() : 1 if the token t (n bytes: header.payload.sig) is an
 * HS256/384/512 token whose signature verifies with a published key.
 * hdr is its decoded header (hlen bytes).
 */
static int
jwt_public_key(const unsigned char *t, size_t n, const unsigned char *hdr,
    size_t hlen)
{
	unsigned char sig[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	const unsigned char *dot;
	const EVP_MD *md;
	unsigned int mlen;
	size_t i, signed_len;
	long slen;

	if (claim_is(hdr, hlen, "alg", "HS256"))
		md = EVP_sha256();
	else if (claim_is(hdr, hlen, "alg", "HS384"))
		md = EVP_sha384();
	else if (claim_is(hdr, hlen, "alg", "HS512"))
		md = EVP_sha512();
	else
		return 0;
	/* The second dot ends what is signed. */
	if ((dot = memchr(t, '.', n)) == NULL || (dot = memchr(dot + 1, '.',
	    n - (size_t)(dot + 1 - t))) == NULL)
		return 0;
	signed_len = (size_t)(dot - t);
	slen = b64url_decode(dot + 1, n - signed_len - 1, sig, sizeof(sig));
	if (slen != (long)EVP_MD_size(md))
		return 0;
	for (i = 0; i < sizeof(jwt_keys) / sizeof(jwt_keys[0]); i++) {
		mlen = 0;
		if (HMAC(md, jwt_keys[i], (int)strlen(jwt_keys[i]), t,
		    signed_len, mac, &mlen) == NULL || mlen != (unsigned)slen)
			continue;
		if (CRYPTO_memcmp(mac, sig, mlen) == 0)
			return 1;
	}
	return 0;
}

/*
 * check_jwt() : a JWT that is not a documented sample (jwt.io's: its
 * payload holds sub 1234567890 and name John Doe; Microsoft's docs'), nor
 * one whose payload holds an example or placeholder word (AWS's docs:
 * EXAMPLEIDENTITYCONTEXT), nor one signed with a published HMAC key
 * (anyone can make it), nor a placeholder.  A token cut by the window
 * start is a finding.
 */
static int
check_jwt(const unsigned char *w, size_t n)
{
	unsigned char out[POL_SECRETS_LOOK], hdr[256];
	const unsigned char *v, *p, *dot;
	size_t vlen, i, plen;
	long o, hl;

	v = value_at(w, n, &vlen);
	for (i = 0; i + 3 <= vlen; i++)
		if (memcmp(v + i, "eyJ", 3) == 0)
			break;
	if (i + 3 > vlen)
		return 1;
	v += i;
	vlen -= i;
	if (placeholder(v, vlen, 0))
		return 0;
	if ((p = memchr(v, '.', vlen)) == NULL)
		return 1;
	hl = b64url_decode(v, (size_t)(p - v), hdr, sizeof(hdr));
	p++;
	if ((dot = memchr(p, '.', vlen - (size_t)(p - v))) == NULL)
		return 1;
	plen = (size_t)(dot - p);
	if ((o = b64url_decode(p, plen, out, sizeof(out))) < 0)
		return 1;
	for (i = 0; i < sizeof(jwt_samples) / sizeof(jwt_samples[0]); i++)
		if (claim_is(out, (size_t)o, jwt_samples[i].n1,
		    jwt_samples[i].v1) && claim_is(out, (size_t)o,
		    jwt_samples[i].n2, jwt_samples[i].v2))
			return 0;
	for (i = 0; i < sizeof(jwt_words) / sizeof(jwt_words[0]); i++)
		if (ci_find(out, (size_t)o, jwt_words[i]))
			return 0;
	/* PyJWT's and jsonwebtoken's documentation payloads. */
	if (ci_eq(out, (size_t)o, "{\"some\":\"payload\"}") ||
	    ci_eq(out, (size_t)o, "{\"foo\":\"bar\"}"))
		return 0;
	if (hl > 0 && jwt_public_key(v, vlen, hdr, (size_t)hl))
		return 0;
	return 1;
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
	if (db->hs_cached)
		pol_hsc_free(db->hs);
	else
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
	return pol_secrets_compile_in(custom, n, NULL, NULL, err, errlen);
}

/*
 * pol_secrets_compile_in() : pol_secrets_compile() through the cache in
 * dir: a database cached for this pattern set, Hyperscan and CPU is
 * used, else the one compiled is stored there (hscache.c).  *cached (if
 * not NULL): 1 when it came from the cache.
 */
struct pol_secrets_db *
pol_secrets_compile_in(const struct pol_custom_secret *custom, size_t n,
    const char *dir, int *cached, char *err, size_t errlen)
{
	struct pol_secrets_db *db = NULL;
	hs_compile_error_t *cerr = NULL;
	const char **exprs = NULL;
	unsigned int *flags = NULL, *ids = NULL;
	unsigned char key[POL_HSC_KEY];
	size_t total, i, k, len;
	int idx, keyed = 0;

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

	if (cached != NULL)
		*cached = 0;
	if (dir != NULL && pol_hsc_key(exprs, flags, ids, total,
	    HS_MODE_STREAM, key) == 0) {
		db->hs = pol_hsc_load(dir, key);
		db->hs_cached = db->hs != NULL;
		keyed = db->hs == NULL;	/* to store once compiled */
		if (cached != NULL)
			*cached = db->hs != NULL;
	}
	if (db->hs == NULL && hs_compile_multi(exprs, flags, ids,
	    (unsigned int)total, HS_MODE_STREAM, NULL, &db->hs, &cerr) !=
	    HS_SUCCESS) {
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
	if (keyed)
		pol_hsc_store(dir, key, db->hs);
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

/*
 * fp_char() : a byte that can be part of a credential's value (base64,
 * base64url, hex, URL userinfo and host): the value a fingerprint covers
 * is the run of them that ends where the match does.
 */
static int
fp_char(int c)
{
	return is_alnum(c) || (c != 0 && strchr("-_.~+/=:@%!$&*#?^", c) !=
	    NULL);
}

/*
 * pol_secrets_fingerprint() : the fingerprint of a finding of rule whose
 * match ends at the end of w (n bytes of the file): the first POL_FP_LEN
 * hex digits of SHA-256 over "pubgate-finding-1", the rule id and the
 * value (the run of fp_char bytes ending at the match's end, after its
 * end boundary is dropped; at most FP_VALUE_MAX bytes).  It names one
 * value without giving it away (64 bits of a hash of a high-entropy
 * token), and does not depend on where the file is or how it was split.
 * out gets "" when the value is empty.
 */
void
pol_secrets_fingerprint(const char *rule, const unsigned char *w, size_t n,
    char out[POL_FP_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	static const char tag[] = "pubgate-finding-1";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	size_t end, start, i;
	int ok;

	out[0] = '\0';
	end = n;
	while (end > 0 && !fp_char(w[end - 1]))
		end--;
	start = end;
	while (start > 0 && end - start < FP_VALUE_MAX && fp_char(w[start - 1]))
		start--;
	if (start == end || (ctx = EVP_MD_CTX_new()) == NULL)
		return;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, tag, sizeof(tag)) == 1 &&
	    EVP_DigestUpdate(ctx, rule, strlen(rule) + 1) == 1 &&
	    EVP_DigestUpdate(ctx, w + start, end - start) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= POL_FP_LEN / 2;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return;
	for (i = 0; i < POL_FP_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[POL_FP_LEN] = '\0';
}

/* fp_seen() : 1 if (id, fp) was reported in this file, else records it. */
static int
fp_seen(struct pol_secrets_run *r, unsigned int id, const char *fp)
{
	size_t i;

	for (i = 0; i < r->nfps; i++)
		if (r->fps[i].id == id && strcmp(r->fps[i].fp, fp) == 0)
			return 1;
	if (r->nfps < FP_SEEN_MAX) {
		r->fps[r->nfps].id = id;
		memcpy(r->fps[r->nfps].fp, fp, POL_FP_LEN + 1);
		r->nfps++;
	}
	return 0;
}

static const unsigned char *window(struct pol_secrets_run *,
		    unsigned long long, size_t *);

/*
 * report() : emits the finding for id unless already reported in this
 * file (with fp_each: unless this value was).
 */
static void
report(struct pol_secrets_run *r, unsigned int id, unsigned long long to)
{
	const struct pol_detector *d;
	const unsigned char *w;
	struct pol_finding f;
	size_t j, wn;

	if (r->seen[id] && !r->each)
		return;
	memset(&f, 0, sizeof(f));
	f.offset = (int64_t)to;
	/* Single-match detectors have no value of their own to name. */
	if (id >= NBUILTIN || (builtins[id].hsflags & SM) == 0) {
		w = window(r, to, &wn);
		pol_secrets_fingerprint(id < NBUILTIN ? builtins[id].rule :
		    r->db->rules[id - NBUILTIN], w, wn, f.fp);
	}
	if (r->each && r->seen[id] && fp_seen(r, id, f.fp))
		return;
	if (r->each && !r->seen[id])
		(void)fp_seen(r, id, f.fp);
	r->seen[id] = 1;
	if (id < NBUILTIN) {
		d = &builtins[id];
		f.rule = d->rule;
		f.hint = d->hint;
		snprintf(f.text, sizeof(f.text), "%s (%s)%s", d->desc,
		    d->label, r->fclass & POL_SF_TEST ? ", in a test folder" :
		    "");
	} else {
		j = id - NBUILTIN;
		f.rule = r->db->rules[j];
		f.hint = "remove the value matched by this custom secret "
		    "pattern from the package and rotate it";
		snprintf(f.text, sizeof(f.text), "custom secret pattern '%s' "
		    "matched (value redacted)%s", r->db->ids[j],
		    r->fclass & POL_SF_TEST ? ", in a test folder" : "");
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

/*
 * window() : the (at most POL_SECRETS_LOOK) bytes of the file that end at
 * offset to: in place when the piece being scanned holds them all, else
 * copied into r->win.  Sets *n; the pointer is valid for the callback.
 */
static const unsigned char *
window(struct pol_secrets_run *r, unsigned long long to, size_t *n)
{
	unsigned long long first = r->base - r->nhist, pos;
	size_t i;

	*n = 0;
	if (to > r->base + r->blen)
		to = r->base + r->blen;
	if (to < first)
		return r->win;
	*n = (size_t)(to - first);
	if (*n > POL_SECRETS_LOOK)
		*n = POL_SECRETS_LOOK;
	if (to - *n >= r->base)
		return r->blk + (to - *n - r->base);
	for (i = 0, pos = to - *n; i < *n; i++, pos++)
		r->win[i] = pos >= r->base ? r->blk[pos - r->base] :
		    r->hist[r->nhist - (size_t)(r->base - pos)];
	return r->win;
}

/* remember() : the piece just scanned joins the bytes kept behind it. */
static void
remember(struct pol_secrets_run *r, const unsigned char *p, size_t n)
{
	size_t keep;

	if (n >= POL_SECRETS_LOOK) {
		memcpy(r->hist, p + n - POL_SECRETS_LOOK, POL_SECRETS_LOOK);
		r->nhist = POL_SECRETS_LOOK;
	} else {
		keep = r->nhist + n > POL_SECRETS_LOOK ?
		    POL_SECRETS_LOOK - n : r->nhist;
		memmove(r->hist, r->hist + r->nhist - keep, keep);
		memcpy(r->hist + keep, p, n);
		r->nhist = keep + n;
	}
	r->base += n;
	r->blk = NULL;
	r->blen = 0;
}

/* on_match() : Hyperscan's match callback; always goes on (returns 0). */
static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
	struct pol_secrets_run *r = ctx;
	const struct pol_detector *d;
	const unsigned char *w;
	size_t wn;
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
		if (r->seen[id] && !r->each)
			return 0;
		if (d->check != NULL) {
			w = window(r, to, &wn);
			if (!d->check(w, wn))
				return 0;
		}
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
    int each, pol_emit_fn emit, void *arg)
{
	struct pol_secrets_run *r;

	if (db == NULL || db->hs == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->db = db;
	r->builtins = builtins_on;
	r->each = each;
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
	r->nfps = 0;
	r->nheld = 0;
	r->failed = 0;
	r->blk = NULL;
	r->blen = 0;
	r->base = 0;
	r->nhist = 0;
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
		r->blk = p;
		r->blen = n;
		if (hs_scan_stream(r->stream, (const char *)p,
		    (unsigned int)n, 0, r->scratch, on_match, r) !=
		    HS_SUCCESS) {
			r->failed = 1;
			return -1;
		}
		resolve(r);
		remember(r, p, n);
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
