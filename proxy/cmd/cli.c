/*
 * proxy/cmd/cli.c: `pubgate scan` and `pubgate policy check`, the offline
 * face of the policy engine.  Security teams run these in CI before a
 * publish ever leaves, with the same loader and pipeline the gate uses.
 * Depends on policy/policy.h only (no libevent, no sockets).
 *
 * Exit codes: 0 every file allowed / policy OK, 1 a file blocked, 2 an
 * error (bad usage, unreadable file, policy that does not load), with one
 * line on stderr saying which.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "policy.h"
#include "cli.h"
#include "help.h"
#include "pack.h"
#include "packlist.h"
#include "sarif.h"

#define CLI_READ_CHUNK	(256u << 10)
#define NOT_A_PUBLISH	"not a package tarball (the .tgz of npm pack) nor " \
			"a publish body (the JSON npm sends)"

/*
 * cli_crypto_init() : libcrypto for the offline commands, which use its
 * digests only (EVP_sha1, EVP_sha256, EVP_sha512 of the default provider,
 * never looked up by name): without reading openssl.cnf (providers,
 * engines and TLS defaults they have no use for), without loading its
 * error strings and without filling the table of legacy cipher and digest
 * names, about 1.3 ms of a small scan (issue 13, startup).  Nor does it
 * free all of that at exit: the process is ending, and OpenSSL's cleanup
 * touched a few of a small scan's 450 pages.  The first call of
 * OPENSSL_init_crypto decides; a failure is seen at the first digest.
 */
static void
cli_crypto_init(void)
{
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
	    OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS |
	    OPENSSL_INIT_NO_ATEXIT, NULL);
}

/*
 * cli_cache_dir() : where the compiled secret detectors are cached:
 * $PUBGATE_CACHE_DIR (set but empty: no cache), else
 * $XDG_CACHE_HOME/pubgate, else $HOME/.cache/pubgate; NULL for none.
 */
static const char *
cli_cache_dir(char *buf, size_t len)
{
	const char	*v;
	int		 n;

	if ((v = getenv("PUBGATE_CACHE_DIR")) != NULL)
		return *v != '\0' ? v : NULL;
	if ((v = getenv("XDG_CACHE_HOME")) != NULL && *v == '/')
		n = snprintf(buf, len, "%s/pubgate", v);
	else if ((v = getenv("HOME")) != NULL && *v == '/')
		n = snprintf(buf, len, "%s/.cache/pubgate", v);
	else
		return NULL;
	return n > 0 && (size_t)n < len ? buf : NULL;
}

static struct pol_policy *
cli_load_policy(const char *path)
{
	struct pol_errors	*errs;
	struct pol_policy	*p;
	struct pol_load_opts	 opts;
	char			 line[600], dir[4096];
	const char		*text;
	size_t			 i, len;

	if ((errs = calloc(1, sizeof(*errs))) == NULL) {
		fprintf(stderr, "pubgate: out of memory\n");
		return NULL;
	}
	opts.cache_dir = cli_cache_dir(dir, sizeof(dir));
	if (path != NULL)
		p = pol_load_file_opts(path, &opts, errs);
	else {
		text = pol_default_policy_text(&len);
		p = pol_load_buf_opts("(built-in strict.yaml)", text, len,
		    &opts, errs);
	}
	if (p == NULL) {
		for (i = 0; i < errs->count && i < POL_ERRORS_MAX; i++)
			fprintf(stderr, "%s\n",
			    pol_errors_format(errs, i, line, sizeof(line)));
		if (errs->count > POL_ERRORS_MAX)
			fprintf(stderr, "%s: %zu more errors\n", errs->file,
			    errs->count - POL_ERRORS_MAX);
		if (errs->count == 0)
			fprintf(stderr, "%s: policy did not load\n",
			    path ? path : "(default)");
	}
	free(errs);
	return p;
}

/* The files of one tarball as the engine read them (--reading). */
#define CLI_READING_MAX	(64u << 20)

struct reading {
	char	*buf;
	size_t	 len, cap;
	int	 over;	/* past CLI_READING_MAX or out of memory */
};

/* on_file() : appends {"path":..,"size":..,"sha256":..} to the list. */
static void
on_file(void *arg, const char *path, uint64_t size,
    const unsigned char sha256[32])
{
	struct reading	*rd = arg;
	size_t		 need, off, i;
	char		*n;

	if (rd->over)
		return;
	need = rd->len + strlen(path) * 6 + 160;
	if (need > CLI_READING_MAX) {
		rd->over = 1;
		return;
	}
	if (need > rd->cap) {
		if ((n = realloc(rd->buf, need * 2)) == NULL) {
			rd->over = 1;
			return;
		}
		rd->buf = n;
		rd->cap = need * 2;
	}
	off = rd->len;
	off += (size_t)snprintf(rd->buf + off, rd->cap - off, "%s{\"path\":\"",
	    rd->len > 0 ? "," : "");
	pol_json_escape(rd->buf, rd->cap, &off, path);
	off += (size_t)snprintf(rd->buf + off, rd->cap - off,
	    "\",\"size\":%llu,\"sha256\":\"", (unsigned long long)size);
	for (i = 0; i < 32; i++)
		off += (size_t)snprintf(rd->buf + off, rd->cap - off, "%02x",
		    sha256[i]);
	off += (size_t)snprintf(rd->buf + off, rd->cap - off, "\"}");
	rd->len = off;
}

/* semver_end() : past "N.N.N" at q, or NULL. */
static const char *
semver_end(const char *q)
{
	int	 i;

	for (i = 0; i < 3; i++) {
		if (*q < '0' || *q > '9')
			return NULL;
		while (*q >= '0' && *q <= '9')
			q++;
		if (i < 2 && *q++ != '.')
			return NULL;
	}
	return q;
}

/*
 * prev_label() : the version in an npm pack file name ("name-1.2.3.tgz"
 * -> "1.2.3"), else the file's base name; what the diff texts name.
 */
static void
prev_label(const char *path, char *out, size_t len)
{
	const char	*base, *p, *q, *end;
	size_t		 n;

	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	n = strlen(base);
	snprintf(out, len, "%.*s", (int)n, base);
	if (n < 4 || strcmp(base + n - 4, ".tgz") != 0)
		return;
	end = base + n - 4;
	for (p = strchr(base, '-'); p != NULL && p < end;
	    p = strchr(p + 1, '-')) {
		if ((q = semver_end(p + 1)) != NULL && q <= end &&
		    (q == end || *q == '-' || *q == '+')) {
			snprintf(out, len, "%.*s", (int)(end - p - 1), p + 1);
			return;
		}
	}
}

/*
 * scan_previous() : judges s against the previous version's .tgz at
 * prev (--previous); returns the final verdict.
 */
static enum pol_verdict
scan_previous(struct pol_stream *s, const char *prev, unsigned char *buf,
    const struct pol_report **r)
{
	char	 label[POL_PREV_VERSION_MAX], why[160];
	FILE	*f;
	size_t	 n;
	int	 bad = 0;

	if ((f = fopen(prev, "rb")) == NULL) {
		snprintf(why, sizeof(why), "--previous %s: %s", prev,
		    strerror(errno));
		return pol_publish_prev_end(s, NULL, why, r);
	}
	while (!bad && (n = fread(buf, 1, CLI_READ_CHUNK, f)) > 0)
		bad = pol_publish_prev_feed(s, buf, n) != POL_CONTINUE;
	bad |= ferror(f);
	fclose(f);
	prev_label(prev, label, sizeof(label));
	if (bad) {
		snprintf(why, sizeof(why), "--previous %s is not a readable "
		    ".tgz", prev);
		return pol_publish_prev_end(s, NULL, why, r);
	}
	return pol_publish_prev_end(s, label, NULL, r);
}

/* What one scan reads: a file (tarball or publish body) or a folder. */
struct scan_src {
	const char		*label;	/* as given on the command line */
	FILE			*f;
	struct px_packlist	*pl;	/* a folder: the files npm would pack */
	char			 dir[PATH_MAX];
};

struct scan_opts {
	const char		*name;	/* --name, NULL: inferred */
	const char		*prev;	/* --previous PREV.tgz, NULL: none */
	enum { OUT_TEXT, OUT_JSON, OUT_READING, OUT_LIST, OUT_SARIF } out;
	struct px_sarif		*sarif;
	unsigned char		*buf;
};

struct feed_arg {
	struct pol_stream	*s;
};

static int
feed_cb(void *arg, const void *buf, size_t len)
{
	struct feed_arg	*fa = arg;

	return pol_publish_feed(fa->s, buf, len) != POL_CONTINUE;
}

/* on_pj() : the first pass's on_file: the package.json of the root is read. */
static void
on_pj(void *arg, const char *path, uint64_t size,
    const unsigned char sha256[32])
{
	const char	*sl = strchr(path, '/');

	(void)size;
	(void)sha256;
	if (sl != NULL && strcmp(sl + 1, "package.json") == 0)
		*(int *)arg = 1;
}

/*
 * judge() : one pass of the engine over src under name (NULL: none).
 * With name_only, stops reading once the package's package.json is read
 * (the pass is for its name only).  Returns the stream (report final) or
 * NULL after printing why (exit 2).
 */
static struct pol_stream *
judge(struct pol_policy *p, struct scan_src *src, const char *name,
    const char *prev, struct reading *rd, unsigned char *buf, int name_only)
{
	struct pol_stream_opts	 opts;
	struct pol_stream	*s;
	const struct pol_report	*r;
	struct feed_arg		 fa;
	enum pol_verdict	 v;
	char			 err[600];
	size_t			 n, i;
	int			 first = 1, got_pj = 0;

	memset(&opts, 0, sizeof(opts));
	opts.input = src->pl != NULL ? POL_INPUT_TGZ : POL_INPUT_AUTO;
	opts.url_name = name;
	opts.previous = prev != NULL;
	if (rd != NULL) {
		opts.on_file = on_file;
		opts.file_arg = rd;
	} else if (name_only) {
		opts.on_file = on_pj;
		opts.file_arg = &got_pj;
	}
	if ((s = pol_publish_new(p, &opts)) == NULL) {
		fprintf(stderr, "pubgate: out of memory\n");
		return NULL;
	}
	if (src->pl != NULL) {
		fa.s = s;
		if (px_pack_stream(src->dir, src->pl, feed_cb, &fa, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "pubgate scan: %s: %s\n", src->label,
			    err);
			pol_publish_free(s);
			return NULL;
		}
		if (pol_publish_end(s, &r) == POL_PENDING)
			scan_previous(s, prev, buf, &r);
		return s;
	}
	rewind(src->f);
	while ((n = fread(buf, 1, CLI_READ_CHUNK, src->f)) > 0) {
		/* gzip magic (npm pack) or a JSON object (a publish body). */
		if (first) {
			for (i = 0; i < n && strchr(" \t\r\n", buf[i]) != NULL;
			    i++)
				;
			if (!(n >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) &&
			    !(i < n && buf[i] == '{'))
				break;
			first = 0;
		}
		if (pol_publish_feed(s, buf, n) != POL_CONTINUE || got_pj)
			break;
	}
	if (ferror(src->f)) {
		fprintf(stderr, "pubgate scan: %s: read error\n", src->label);
		pol_publish_free(s);
		return NULL;
	}
	if (first) {
		fprintf(stderr, "pubgate scan: %s: %s\n", src->label,
		    NOT_A_PUBLISH);
		pol_publish_free(s);
		return NULL;
	}
	v = pol_publish_end(s, &r);
	if (v == POL_PENDING)
		v = scan_previous(s, prev, buf, &r);
	/* A JSON object that carried no tarball is not a publish. */
	if (v == POL_ALLOW && !got_pj && r->tarball_bytes == 0 &&
	    r->sha512_hex[0] == '\0') {
		fprintf(stderr, "pubgate scan: %s: %s (no tarball in it)\n",
		    src->label, NOT_A_PUBLISH);
		pol_publish_free(s);
		return NULL;
	}
	return s;
}

static int
print_report(struct scan_src *src, struct scan_opts *so,
    const struct pol_report *r, struct reading *rd)
{
	char	 esc[8192], *text;
	size_t	 off = 0, need;
	int	 allow = r->verdict == POL_ALLOW;

	pol_json_escape(esc, sizeof(esc), &off, src->label);
	switch (so->out) {
	case OUT_READING:
		if (rd->over) {
			fprintf(stderr, "pubgate: %s: reading over %u bytes\n",
			    src->label, CLI_READING_MAX);
			return 2;
		}
		printf("{\"file\":\"%s\",\"verdict\":\"%s\",\"files\":[%.*s]}"
		    "\n", esc, allow ? "allow" : "deny", (int)rd->len,
		    rd->buf != NULL ? rd->buf : "");
		break;
	case OUT_JSON:
		need = pol_report_json(r, NULL, 0) + 1;
		if ((text = malloc(need)) == NULL) {
			fprintf(stderr, "pubgate: out of memory\n");
			return 2;
		}
		pol_report_json(r, text, need);
		/* A folder's sha512/integrity are of pubgate's own packing. */
		printf("{\"file\":\"%s\",%s\"report\":%s}\n", esc,
		    src->pl != NULL ? "\"folder\":true," : "", text);
		free(text);
		break;
	case OUT_SARIF:
		if (px_sarif_add(so->sarif, src->label, src->pl != NULL ?
		    src->dir : NULL, r) != 0) {
			fprintf(stderr, "pubgate: out of memory\n");
			return 2;
		}
		break;
	default:
		printf("%s: %s %s%s%s\n", src->label, allow ? "ALLOW" :
		    "BLOCK", r->name[0] ? r->name : "(unknown)",
		    r->version[0] ? "@" : "", r->version);
		if (!allow) {
			need = pol_report_render(r, NULL, 0) + 1;
			if ((text = malloc(need)) != NULL) {
				pol_report_render(r, text, need);
				printf("%s\n", text);
				free(text);
			}
		} else if (r->nreasons > 0) {
			char	 note[2048];

			pol_report_notice(r, note, sizeof(note));
			printf("%s\n", note);
		}
	}
	return allow ? 0 : 1;
}

/*
 * scan_one() : judges one FILE or folder; prints the result.  Returns 0
 * allow, 1 block, 2 error.  Without --name the rule is the one that
 * matches the package's own name (package.json in the folder or the
 * tarball, the body's name): a first pass learns it when it is not known
 * before reading, and the judging pass runs under it, as the gate's
 * would under the publish URL's name.
 */
static int
scan_one(struct pol_policy *p, const char *path, struct scan_opts *so)
{
	struct reading		 rd = { NULL, 0, 0, 0 };
	struct scan_src		 src;
	struct stat		 st;
	struct pol_stream	*s;
	const struct pol_report	*r;
	char			 err[600], name[216];
	const char		*use = so->name;
	size_t			 i;
	int			 rc = 2;

	memset(&src, 0, sizeof(src));
	src.label = path;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "pubgate: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (S_ISDIR(st.st_mode)) {
		if (realpath(path, src.dir) == NULL ||
		    (src.pl = px_pl_build(src.dir, err, sizeof(err))) ==
		    NULL) {
			fprintf(stderr, "pubgate scan: %s: %s\n", path,
			    src.dir[0] ? err : strerror(errno));
			return 2;
		}
		if (so->out == OUT_LIST) {
			for (i = 0; i < src.pl->n; i++)
				printf("%s\n", src.pl->files[i].path);
			px_pl_free(src.pl);
			return 0;
		}
		if (use == NULL)
			use = src.pl->name;
	} else if (so->out == OUT_LIST) {
		fprintf(stderr, "pubgate scan: %s: --list takes a package "
		    "folder\n", path);
		return 2;
	} else if ((src.f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "pubgate: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if (use == NULL && pol_policy_nrules(p) > 0) {
		/* First pass: the package's name, when it has one. */
		if ((s = judge(p, &src, NULL, NULL, NULL, so->buf, 1)) == NULL)
			goto out;
		r = pol_publish_report(s);
		snprintf(name, sizeof(name), "%s", r->name);
		pol_publish_free(s);
		if (name[0])
			use = name;
	}
	if ((s = judge(p, &src, use, so->prev, so->out == OUT_READING ? &rd :
	    NULL, so->buf, 0)) == NULL)
		goto out;
	rc = print_report(&src, so, pol_publish_report(s), &rd);
	pol_publish_free(s);
out:
	free(rd.buf);
	if (src.f != NULL)
		fclose(src.f);
	px_pl_free(src.pl);
	return rc;
}

int
px_cli_scan(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "policy",	required_argument,	NULL, 'p' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "reading",	no_argument,		NULL, 'R' },
		{ "list",	no_argument,		NULL, 'l' },
		{ "format",	required_argument,	NULL, 'f' },
		{ "previous",	required_argument,	NULL, 'P' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct scan_opts	 so;
	struct pol_policy	*p;
	const char		*policy = NULL;
	int			 ch, rc = 0, r, i, nout = 0;

	cli_crypto_init();
	memset(&so, 0, sizeof(so));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "p:n:jlf:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'p':
			policy = optarg;
			break;
		case 'n':
			so.name = optarg;
			break;
		case 'j':
			so.out = OUT_JSON;
			nout++;
			break;
		case 'R':
			so.out = OUT_READING;
			nout++;
			break;
		case 'P':
			so.prev = optarg;
			break;
		case 'l':
			so.out = OUT_LIST;
			nout++;
			break;
		case 'f':
			if (strcmp(optarg, "sarif") == 0)
				so.out = OUT_SARIF;
			else if (strcmp(optarg, "json") == 0)
				so.out = OUT_JSON;
			else if (strcmp(optarg, "text") == 0)
				so.out = OUT_TEXT;
			else {
				fprintf(stderr, "pubgate scan: --format: "
				    "\"%s\" is not text, json or sarif\n",
				    optarg);
				return 2;
			}
			nout++;
			break;
		case 'h':
			px_help_print(stdout, "scan");
			return 0;
		default:
			fprintf(stderr, "pubgate scan: unknown option or "
			    "missing value: %s (try pubgate scan --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (nout > 1) {
		fprintf(stderr, "pubgate scan: give one of --json, --reading, "
		    "--list, --format\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "pubgate scan: no FILE given (a package "
		    "folder, a .tgz from npm pack or a captured publish "
		    "body)\n");
		return 2;
	}
	if (so.out == OUT_LIST)
		p = NULL;
	else if ((p = cli_load_policy(policy)) == NULL)
		return 2;
	if ((so.buf = malloc(CLI_READ_CHUNK)) == NULL ||
	    (so.out == OUT_SARIF && (so.sarif = px_sarif_new()) == NULL)) {
		free(so.buf);
		pol_policy_unref(p);
		fprintf(stderr, "pubgate: out of memory\n");
		return 2;
	}
	for (i = optind; i < argc; i++) {
		r = scan_one(p, argv[i], &so);
		if (r > rc)
			rc = r;
	}
	/* A log that misses an input is not written: exit 2 says why. */
	if (so.out == OUT_SARIF && rc < 2)
		px_sarif_print(so.sarif, stdout, PUBGATE_VERSION);
	px_sarif_free(so.sarif);
	free(so.buf);
	pol_policy_unref(p);
	return rc;
}

int
px_cli_policy(int argc, char *argv[])
{
	struct pol_policy	*p;

	cli_crypto_init();
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "pubgate policy: %s%s%s (usage: pubgate policy "
		    "check FILE)\n", argc < 2 ? "missing subcommand" :
		    "unknown subcommand \"", argc < 2 ? "" : argv[1],
		    argc < 2 ? "" : "\"");
		return 2;
	}
	if (argc == 3 && argv[2][0] == '-' && argv[2][1] != '\0') {
		fprintf(stderr, "pubgate policy check: unknown option %s "
		    "(try pubgate policy --help)\n", argv[2]);
		return 2;
	}
	if (argc != 3) {
		fprintf(stderr, "pubgate policy check: %s (usage: pubgate "
		    "policy check FILE)\n", argc < 3 ? "no FILE given" :
		    "give one FILE");
		return 2;
	}
	if ((p = cli_load_policy(argv[2])) == NULL)
		return 2;
	printf("%s: policy OK (%zu rules)\n", argv[2], pol_policy_nrules(p));
	pol_policy_unref(p);
	return 0;
}
