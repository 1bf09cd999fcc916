/*
 * proxy/store/cmd_log.c: `pubgate log`, the decision log from the command line.
 * It parses the options into a struct px_store_query, opens the store
 * read-side (px_store_open_existing: it never creates one) and prints the
 * records newest first, as text (one line each) or as the JSON array the
 * admin API serves.  It depends on store.h only.
 *
 *   pubgate log [--db FILE] [--blocked] [--since DURATION|TIME]
 *       [--package GLOB] [--scope @x] [--json] [--limit N]
 *
 * Exit codes: 0 (even when nothing matched), 2 on an error, with one line
 * on stderr.  Text output never passes a control character from the
 * store to the terminal.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "cmd_log.h"

#define PX_LOG_CMD_LIMIT_MAX	10000

static void
log_usage(FILE *f)
{
	fprintf(f, "usage: pubgate log [--db FILE] [--blocked] "
	    "[--since DURATION|TIME] [--package GLOB]\n"
	    "                   [--scope @x] [--user NAME|FINGERPRINT] "
	    "[--json] [--limit N]\n");
}

/* digits() : parses exactly n decimal digits at s into *v; 0 or -1. */
static int
digits(const char *s, int n, int *v)
{
	int	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* parse_duration() : "15m", "1h30m"...; *out in ms; 0 or -1. */
int
px_log_cmd_parse_duration(const char *s, int64_t *out)
{
	int64_t		 total = 0, unit, n;
	char		*end;

	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno != 0 || n > 100000000)
			return -1;
		switch (*end) {
		case 's':
			unit = 1000;
			break;
		case 'm':
			unit = 60 * 1000;
			break;
		case 'h':
			unit = 3600 * 1000;
			break;
		case 'd':
			unit = 86400 * 1000;
			break;
		case 'w':
			unit = 7 * 86400 * (int64_t)1000;
			break;
		default:
			return -1;
		}
		total += n * unit;
		if (total > (int64_t)100 * 366 * 86400 * 1000)
			return -1;
		s = end + 1;
	}
	*out = total;
	return 0;
}

/* parse_time() : ISO-8601 date or date-time, UTC unless an offset. */
static int
parse_time(const char *s, int64_t *out)
{
	struct tm	tm;
	time_t		t;
	int		y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
	int		oh, om, i;

	if (strlen(s) < 10 || digits(s, 4, &y) == -1 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1)
		return -1;
	s += 10;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (digits(s, 2, &h) == -1 || s[2] != ':' ||
		    digits(s + 3, 2, &mi) == -1)
			return -1;
		s += 5;
		if (*s == ':') {
			if (digits(s + 1, 2, &sec) == -1)
				return -1;
			s += 3;
			if (*s == '.') {
				s++;
				for (i = 0; *s >= '0' && *s <= '9'; i++, s++)
					if (i < 3)
						ms = ms * 10 + (*s - '0');
				if (i == 0)
					return -1;
				for (; i < 3; i++)
					ms *= 10;
			}
		}
		if (*s == 'Z' || *s == 'z')
			s++;
		else if (*s == '+' || *s == '-') {
			if (digits(s + 1, 2, &oh) == -1 || s[3] != ':' ||
			    digits(s + 4, 2, &om) == -1 || oh > 23 || om > 59)
				return -1;
			off = (oh * 60 + om) * 60;
			if (*s == '-')
				off = -off;
			s += 6;
		}
	}
	if (*s != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* timegm() normalises 2026-02-31 into March: refuse that. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*out = ((int64_t)t - off) * 1000 + ms;
	return 0;
}

int
px_log_cmd_parse_since(const char *s, int64_t now_ms, int64_t *out)
{
	int64_t	d;

	if (s == NULL || *s == '\0')
		return -1;
	if (strlen(s) >= 10 && s[4] == '-')
		return parse_time(s, out);
	if (px_log_cmd_parse_duration(s, &d) == -1)
		return -1;
	*out = now_ms > d ? now_ms - d : 0;
	return 0;
}

/*
 * put_safe() : prints s with every control character (C0, DEL and C1 in
 * UTF-8) as '?', so a hostile package name or user agent cannot drive the
 * terminal.
 */
static void
put_safe(const char *s, FILE *f)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			putc('?', f);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			putc('?', f);
			p++;
		} else
			putc(*p, f);
	}
}

/* text_cb() : one line per record: time verdict status pkg@ver who reasons. */
static int
text_cb(const struct px_store_row *r, void *arg)
{
	FILE	*f = arg;
	size_t	 i;

	/* An allowed publish is recorded before the upstream answers. */
	if (r->status > 0)
		fprintf(f, "%s %-5s %3d ", r->time, r->verdict, r->status);
	else
		fprintf(f, "%s %-5s   - ", r->time, r->verdict);
	fprintf(f, "%s ", r->kind[0] != '\0' ? r->kind : "-");
	put_safe(r->package[0] != '\0' ? r->package : "-", f);
	if (r->version[0] != '\0') {
		putc('@', f);
		put_safe(r->version, f);
	}
	if (r->user[0] != '\0') {
		fputs(" user=", f);
		put_safe(r->user, f);
	}
	fputs(" who=", f);
	put_safe(r->who[0] != '\0' ? r->who : "-", f);
	for (i = 0; i < r->nreasons; i++) {
		fputs(i == 0 ? " reasons: " : "; ", f);
		put_safe(r->reasons[i].rule, f);
		if (r->reasons[i].file[0] != '\0') {
			fputs(" (", f);
			put_safe(r->reasons[i].file, f);
			putc(')', f);
		}
		if (r->reasons[i].text[0] != '\0') {
			fputs(": ", f);
			put_safe(r->reasons[i].text, f);
		}
	}
	if (r->reasons_total > (int64_t)r->nreasons)
		fprintf(f, "; and %" PRId64 " more",
		    r->reasons_total - (int64_t)r->nreasons);
	putc('\n', f);
	return 0;
}

/*
 * --user: the records whose npm user name is NAME or whose token
 * fingerprint starts with it (as the console's filter), up to want.
 */
struct user_arg {
	const char		*user;
	int			 want, n, json;
	struct px_store_json	 js;
};

static int
user_cb(const struct px_store_row *r, void *arg)
{
	struct user_arg	*ua = arg;
	const char	*w = r->who;

	if (strncmp(w, "sha256:", 7) == 0)
		w += 7;
	if (strcmp(r->user, ua->user) != 0 &&
	    strncmp(w, ua->user, strlen(ua->user)) != 0)
		return 0;
	if (ua->json)
		(void)px_store_json_row(r, &ua->js);
	else
		(void)text_cb(r, stdout);
	return ++ua->n >= ua->want;
}

int
px_log_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "blocked",	no_argument,		NULL,	'b' },
		{ "since",	required_argument,	NULL,	's' },
		{ "package",	required_argument,	NULL,	'p' },
		{ "scope",	required_argument,	NULL,	'S' },
		{ "user",	required_argument,	NULL,	'u' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "limit",	required_argument,	NULL,	'n' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	struct px_store_query	 q;
	struct px_store		*a = NULL;
	struct timespec		 ts;
	const char		*db = PX_LOG_CMD_DEFAULT_DB;
	char			 err[512], *end;
	long			 l;
	struct user_arg		 ua;
	int			 ch, json = 0, n, rc = 2;

	memset(&q, 0, sizeof(q));
	memset(&ua, 0, sizeof(ua));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+bjd:s:p:S:u:n:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'b':
			q.blocked_only = 1;
			break;
		case 's':
			clock_gettime(CLOCK_REALTIME, &ts);
			if (px_log_cmd_parse_since(optarg,
			    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
			    &q.since_ms) == -1) {
				fprintf(stderr, "pubgate log: bad --since \"%s\""
				    " (want 15m, 2h, 7d, 2026-11-24 or "
				    "2026-11-24T10:00:00Z)\n", optarg);
				return 2;
			}
			break;
		case 'p':
			q.package_glob = optarg;
			break;
		case 'S':
			q.scope = optarg;
			break;
		case 'u':
			if (optarg[0] == '\0' || strlen(optarg) >= 215) {
				fprintf(stderr, "pubgate log: bad --user \"%s\""
				    " (an npm user name or a token "
				    "fingerprint)\n", optarg);
				return 2;
			}
			ua.user = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    l < 1 || l > PX_LOG_CMD_LIMIT_MAX) {
				fprintf(stderr, "pubgate log: bad --limit \"%s\""
				    " (1 to %d)\n", optarg,
				    PX_LOG_CMD_LIMIT_MAX);
				return 2;
			}
			q.limit = (int)l;
			break;
		case 'h':
			log_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "pubgate log: unknown option or "
			    "missing value: %s (try pubgate log --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pubgate log: unexpected argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	if ((a = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pubgate log: %s\n", err);
		return 2;
	}
	if (ua.user != NULL) {
		/* Filtered here: scan up to the cap for --limit matches. */
		ua.want = q.limit > 0 ? q.limit : 100;
		ua.json = json;
		ua.js.out = stdout;
		q.limit = PX_LOG_CMD_LIMIT_MAX;
		n = px_store_query(a, &q, user_cb, &ua, err, sizeof(err));
		if (n != -1 && json)
			px_store_json_end(&ua.js);
	} else if (json)
		n = px_store_query_json(a, &q, stdout, err, sizeof(err));
	else
		n = px_store_query(a, &q, text_cb, stdout, err, sizeof(err));
	if (n == -1) {
		fprintf(stderr, "pubgate log: %s\n", err);
		goto done;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pubgate log: write error: %s\n",
		    strerror(errno));
		goto done;
	}
	rc = 0;
done:
	px_store_close(a);
	return rc;
}

/* ------------------------------------------------------ pubgate show */

static void
show_usage(FILE *f)
{
	fprintf(f, "usage: pubgate show [--db FILE] [--quarantine DIR] "
	    "[--json | --cyclonedx] DECISION-ID\n"
	    "\n"
	    "Prints one decision: the id a refused publish's error text names\n"
	    "(\"decision 1a2b3c4d-17: quote it to your security team\"), with\n"
	    "who, from where, what, the verdict and every reason.\n"
	    "\n"
	    "  --db FILE   the decision store (default %s)\n"
	    "  --json      one JSON object, as pubgate log --json writes them\n"
	    "  --cyclonedx the published files as a CycloneDX 1.5 JSON SBOM\n"
	    "  --quarantine DIR  quarantine.dir of pubgate.yaml: says whether\n"
	    "              the refused tarball is kept there (DIR/ID.tgz)\n"
	    "\n"
	    "example: pubgate show --db /var/lib/pubgate/pubgate.db "
	    "1a2b3c4d-17\n", PX_LOG_CMD_DEFAULT_DB);
}

/* field() : "  name: value" with the value made printable, "-" if empty. */
static void
show_field(FILE *f, const char *name, const char *v)
{
	fprintf(f, "  %-12s ", name);
	put_safe(v != NULL && v[0] != '\0' ? v : "-", f);
	putc('\n', f);
}

struct show_arg {
	FILE		*out;
	int		 nolist;
	const char	*qdir;	/* --quarantine, NULL none */
};

/*
 * show_kept() : whether a refused tarball is kept in the quarantine
 * folder (a regular file DIR/<id>.tgz, symbolic links not followed).
 */
static void
show_kept(const struct px_store_row *r, const char *qdir, FILE *f)
{
	struct stat	 st;
	char		 line[PATH_MAX + 64];
	int		 dfd, fd = -1;

	if (qdir == NULL)
		return;
	if (r->sha512[0] == '\0' || strcmp(r->verdict, "block") != 0) {
		show_field(f, "quarantine", "not kept (only a refused tarball "
		    "read whole is)");
		return;
	}
	if ((dfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		snprintf(line, sizeof(line), "%s.tgz", r->request_id);
		fd = openat(dfd, line, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK);
		close(dfd);
	}
	if (fd != -1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		snprintf(line, sizeof(line), "kept: %s/%s.tgz (%lld bytes)",
		    qdir, r->request_id, (long long)st.st_size);
	else
		snprintf(line, sizeof(line), "not kept in %s (expired, "
		    "evicted, too big, or quarantine was off)", qdir);
	if (fd != -1)
		close(fd);
	show_field(f, "quarantine", line);
}

/* show_files() : the file list, one "sha256 size path" line each. */
static void
show_files(const struct px_store_row *r, FILE *f)
{
	struct px_store_file_row	*fr;
	const char			*cur = r->files;

	if (r->files_listed < 0)
		return;
	fprintf(f, "  file list    %" PRId64 " of %" PRId64 " files%s\n",
	    r->files_listed, r->files_total, r->files_listed < r->files_total ?
	    " (capped: the rest were judged but not listed)" : "");
	if ((fr = malloc(sizeof(*fr))) == NULL)
		return;
	while (px_store_files_next(&cur, fr)) {
		fprintf(f, "    %s %10" PRIu64 " ", fr->sha256, fr->size);
		put_safe(fr->path, f);
		putc('\n', f);
	}
	free(fr);
}

static int
show_cb(const struct px_store_row *r, void *arg)
{
	struct show_arg	*sa = arg;
	FILE		*f = sa->out;
	char		 num[32];
	size_t	 i;

	fprintf(f, "decision %s (record %" PRId64 ")\n", r->request_id, r->id);
	show_field(f, "time", r->time);
	show_field(f, "verdict", r->verdict);
	snprintf(num, sizeof(num), "%d", r->status);
	show_field(f, "status", r->status > 0 ? num : "");
	show_field(f, "kind", r->kind);
	show_field(f, "package", r->package);
	show_field(f, "version", r->version);
	show_field(f, "tag", r->tag);
	show_field(f, "access", r->access);
	show_field(f, "user", r->user);
	show_field(f, "who", r->who);
	show_field(f, "client", r->client);
	show_field(f, "path", r->path);
	if (r->connect_target[0] != '\0')
		show_field(f, "connect", r->connect_target);
	show_field(f, "npm-command", r->npm_command);
	show_field(f, "user-agent", r->user_agent);
	show_field(f, "rule", r->rule_match);
	show_field(f, "sha512", r->sha512);
	snprintf(num, sizeof(num), "%" PRId64, r->tarball_bytes);
	show_field(f, "tarball", num);
	snprintf(num, sizeof(num), "%" PRId64, r->unpacked_bytes);
	show_field(f, "unpacked", num);
	snprintf(num, sizeof(num), "%" PRId64, r->file_count);
	show_field(f, "files", num);
	show_kept(r, sa->qdir, f);
	if (r->inspection[0] != '\0')
		show_field(f, "inspection", r->inspection);
	if (r->tag_new[0] != '\0' || r->tag_old[0] != '\0') {
		show_field(f, "tag-old", r->tag_old);
		show_field(f, "tag-new", r->tag_new);
	}
	show_field(f, "policy", r->policy_sha256);
	if (r->policy_name[0] != '\0')
		show_field(f, "policy-name", r->policy_name);
	if (r->policy_revision[0] != '\0')
		show_field(f, "policy-rev", r->policy_revision);
	for (i = 0; i < r->nreasons; i++) {
		fputs("  reason       ", f);
		put_safe(r->reasons[i].rule, f);
		if (r->reasons[i].file[0] != '\0') {
			fputs(" ", f);
			put_safe(r->reasons[i].file, f);
		}
		fputs(": ", f);
		put_safe(r->reasons[i].text, f);
		putc('\n', f);
		if (r->reasons[i].hint[0] != '\0') {
			fputs("               fix: ", f);
			put_safe(r->reasons[i].hint, f);
			putc('\n', f);
		}
	}
	if (r->reasons_total > (int64_t)r->nreasons)
		fprintf(f, "  and %" PRId64 " more reasons\n",
		    r->reasons_total - (int64_t)r->nreasons);
	show_files(r, f);
	return 1;	/* one is enough */
}

static int
cyclonedx_cb(const struct px_store_row *r, void *arg)
{
	struct show_arg	*sa = arg;

	if (px_store_row_cyclonedx(r, sa->out) == 0)
		fputc('\n', sa->out);
	else
		sa->nolist = 1;
	return 1;
}

static int
json_cb(const struct px_store_row *r, void *arg)
{
	px_store_row_json(r, arg);
	fputc('\n', arg);
	return 1;
}

int
px_show_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "cyclonedx",	no_argument,		NULL,	'c' },
		{ "quarantine",	required_argument,	NULL,	'q' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	struct px_store_query	 q;
	struct px_store		*a;
	struct show_arg		 sa;
	const char		*db = PX_LOG_CMD_DEFAULT_DB, *p, *qdir = NULL;
	char			 err[512];
	int			 ch, json = 0, cdx = 0, n;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+jcd:q:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'q':
			qdir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'c':
			cdx = 1;
			break;
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "pubgate show: unknown option or "
			    "missing value: %s (try pubgate show --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (json && cdx) {
		fprintf(stderr, "pubgate show: --json or --cyclonedx, not "
		    "both\n");
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "pubgate show: give one decision id (try "
		    "pubgate show --help)\n");
		return 2;
	}
	/* A request id: hex, '-', digits; nothing else reaches the query. */
	for (p = argv[optind]; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p) && *p != '-')
			break;
	if (*p != '\0' || p == argv[optind] || p - argv[optind] > 40) {
		fprintf(stderr, "pubgate show: \"%.40s\" is not a decision id "
		    "(like 1a2b3c4d-17)\n", argv[optind]);
		return 2;
	}
	if ((a = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pubgate show: %s\n", err);
		return 2;
	}
	memset(&q, 0, sizeof(q));
	q.request_id = argv[optind];
	q.limit = 1;
	sa.out = stdout;
	sa.nolist = 0;
	sa.qdir = qdir;
	n = px_store_query(a, &q, cdx ? cyclonedx_cb : json ? json_cb :
	    show_cb, json ? (void *)stdout : &sa, err, sizeof(err));
	px_store_close(a);
	if (n == -1) {
		fprintf(stderr, "pubgate show: %s\n", err);
		return 2;
	}
	if (n == 0) {
		fprintf(stderr, "pubgate show: no decision %s in %s\n",
		    argv[optind], db);
		return 1;
	}
	if (sa.nolist) {
		fprintf(stderr, "pubgate show: decision %s has no file list "
		    "(not a publish, or recorded before pubgate kept one)\n",
		    argv[optind]);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 2;
}

/*
 * px_db_cmd_main() : `pubgate db migrate [--db FILE|URL]`: creates the
 * decision store's schema or brings it forward, then prints its version.
 */
int
px_db_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,			NULL,	0 }
	};
	const char	*db = PX_LOG_CMD_DEFAULT_DB;
	char		 err[512];
	int		 ch, version = 0;

	if (argc < 2 || strcmp(argv[1], "migrate") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			fprintf(stdout, "usage: pubgate db migrate "
			    "[--db FILE|postgresql://...]\n");
			return 0;
		}
		fprintf(stderr, "pubgate db: want \"pubgate db migrate "
		    "[--db FILE|postgresql://...]\"\n");
		return 2;
	}
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc - 1, argv + 1, "+d:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'h':
			fprintf(stdout, "usage: pubgate db migrate "
			    "[--db FILE|postgresql://...]\n");
			return 0;
		default:
			fprintf(stderr, "pubgate db migrate: unknown option or "
			    "missing value: %s\n", argv[optind]);
			return 2;
		}
	}
	if (optind < argc - 1) {
		fprintf(stderr, "pubgate db migrate: unexpected argument "
		    "\"%s\"\n", argv[optind + 1]);
		return 2;
	}
	if (px_store_migrate(db, &version, err, sizeof(err)) == -1) {
		fprintf(stderr, "pubgate db migrate: %s\n", err);
		return 2;
	}
	printf("decision store schema version %d\n", version);
	return 0;
}
