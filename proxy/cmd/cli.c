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
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "cli.h"

#define CLI_READ_CHUNK	(256u << 10)
#define NOT_A_PUBLISH	"not a package tarball (the .tgz of npm pack) nor " \
			"a publish body (the JSON npm sends)"

static struct pol_policy *
cli_load_policy(const char *path)
{
	struct pol_errors	*errs;
	struct pol_policy	*p;
	char			 line[600];
	size_t			 i;

	if ((errs = calloc(1, sizeof(*errs))) == NULL) {
		fprintf(stderr, "pubgate: out of memory\n");
		return NULL;
	}
	if (path != NULL)
		p = pol_load_file(path, errs);
	else
		p = pol_load_default(errs);
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

/*
 * scan_file() : judges one file; prints the result.  Returns 0 allow,
 * 1 block, 2 error.  With reading, prints one JSON line instead:
 * {"file":..,"verdict":"allow"|"deny","files":[{path,size,sha256}...]},
 * the regular files in tar order, paths as in the tar.
 */
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

static int
scan_file(struct pol_policy *p, const char *path, const char *name, int json,
    int reading, unsigned char *buf, const char *prev)
{
	struct reading		 rd = { NULL, 0, 0, 0 };
	struct pol_stream_opts	 opts;
	struct pol_stream	*s;
	const struct pol_report	*r;
	enum pol_verdict	 v;
	FILE			*f;
	size_t			 n, need, i;
	char			*text;
	int			 first = 1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "pubgate: %s: %s\n", path, strerror(errno));
		return 2;
	}
	memset(&opts, 0, sizeof(opts));
	opts.input = POL_INPUT_AUTO;
	opts.url_name = name;
	opts.previous = prev != NULL;
	if (reading) {
		opts.on_file = on_file;
		opts.file_arg = &rd;
	}
	if ((s = pol_publish_new(p, &opts)) == NULL) {
		fclose(f);
		fprintf(stderr, "pubgate: out of memory\n");
		return 2;
	}
	while ((n = fread(buf, 1, CLI_READ_CHUNK, f)) > 0) {
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
		if (pol_publish_feed(s, buf, n) != POL_CONTINUE)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "pubgate scan: %s: %s\n", path,
		    errno == EISDIR ? "is a directory (give the .tgz of npm "
		    "pack)" : "read error");
		fclose(f);
		pol_publish_free(s);
		return 2;
	}
	fclose(f);
	if (first) {
		fprintf(stderr, "pubgate scan: %s: %s\n", path,
		    NOT_A_PUBLISH);
		pol_publish_free(s);
		return 2;
	}
	v = pol_publish_end(s, &r);
	if (v == POL_PENDING)
		v = scan_previous(s, prev, buf, &r);
	/* A JSON object that carried no tarball is not a publish. */
	if (v == POL_ALLOW && r->tarball_bytes == 0 &&
	    r->sha512_hex[0] == '\0') {
		fprintf(stderr, "pubgate scan: %s: %s (no tarball in it)\n",
		    path, NOT_A_PUBLISH);
		pol_publish_free(s);
		return 2;
	}

	if (reading) {
		char	 esc[8192];
		size_t	 off = 0;

		pol_json_escape(esc, sizeof(esc), &off, path);
		if (rd.over) {
			fprintf(stderr, "pubgate: %s: reading over %u bytes\n",
			    path, CLI_READING_MAX);
			free(rd.buf);
			pol_publish_free(s);
			return 2;
		}
		printf("{\"file\":\"%s\",\"verdict\":\"%s\",\"files\":[%.*s]}\n",
		    esc, v == POL_ALLOW ? "allow" : "deny", (int)rd.len,
		    rd.buf != NULL ? rd.buf : "");
		free(rd.buf);
	} else if (json) {
		need = pol_report_json(r, NULL, 0) + 1;
		if ((text = malloc(need)) == NULL) {
			pol_publish_free(s);
			fprintf(stderr, "pubgate: out of memory\n");
			return 2;
		}
		pol_report_json(r, text, need);
		printf("{\"file\":\"");
		{
			char	 esc[1024];
			size_t	 off = 0;

			pol_json_escape(esc, sizeof(esc), &off, path);
			printf("%s", esc);
		}
		printf("\",\"report\":%s}\n", text);
		free(text);
	} else {
		printf("%s: %s %s%s%s\n", path, v == POL_ALLOW ? "ALLOW" :
		    "BLOCK", r->name[0] ? r->name : "(unknown)",
		    r->version[0] ? "@" : "", r->version);
		if (v != POL_ALLOW) {
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
	pol_publish_free(s);
	return v == POL_ALLOW ? 0 : 1;
}

int
px_cli_scan(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "policy",	required_argument,	NULL, 'p' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "reading",	no_argument,		NULL, 'R' },
		{ "previous",	required_argument,	NULL, 'P' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct pol_policy	*p;
	const char		*policy = NULL, *name = NULL, *prev = NULL;
	unsigned char		*buf;
	int			 ch, json = 0, reading = 0, rc = 0, r, i;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "p:n:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			policy = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'R':
			reading = 1;
			break;
		case 'P':
			prev = optarg;
			break;
		case 'h':
			printf("usage: pubgate scan [-p policy.yaml] [--name NAME] "
			    "[--previous PREV.tgz] [--json | --reading] "
			    "FILE...\n");
			return 0;
		default:
			fprintf(stderr, "pubgate scan: unknown option or "
			    "missing value: %s (try pubgate scan --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pubgate scan: no FILE given (a .tgz from npm "
		    "pack or a captured publish body)\n");
		return 2;
	}
	if ((p = cli_load_policy(policy)) == NULL)
		return 2;
	if ((buf = malloc(CLI_READ_CHUNK)) == NULL) {
		pol_policy_unref(p);
		fprintf(stderr, "pubgate: out of memory\n");
		return 2;
	}
	for (i = optind; i < argc; i++) {
		r = scan_file(p, argv[i], name, json, reading, buf, prev);
		if (r > rc)
			rc = r;
	}
	free(buf);
	pol_policy_unref(p);
	return rc;
}

int
px_cli_policy(int argc, char *argv[])
{
	struct pol_policy	*p;

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
