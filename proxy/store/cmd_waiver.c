/*
 * proxy/store/cmd_waiver.c: the waiver commands of the CLI (issue 10),
 * over the decision store (store.h) and nothing else:
 *
 *   pubgate approve [--db FILE] [--by NAME] [--expires DURATION] [--once]
 *       [--json] --reason TEXT DECISION-ID
 *   pubgate waivers [--db FILE] [--active] [--json] [--limit N]
 *   pubgate revoke [--db FILE] [--by NAME] --reason TEXT WAIVER-ID
 *
 * The reviewer is --by, else the user who ran sudo ($SUDO_USER), else the
 * OS user; approve refuses a reviewer who is the decision's publisher.
 * Exit codes: 0 done; 1 refused or not found (one line on stderr); 2 a
 * usage or store error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "store.h"
#include "cmd_log.h"
#include "cmd_waiver.h"

/* The longest a waiver may last: a waiver is for one release, not a policy. */
#define PX_WAIVER_MAX_MS	(90LL * 86400 * 1000)
#define PX_WAIVER_DEFAULT_MS	(7LL * 86400 * 1000)

int
px_waiver_cmd_parse_expires(const char *s, int64_t *ms)
{
	int64_t	d;

	if (s == NULL || px_log_cmd_parse_duration(s, &d) == -1 || d <= 0 ||
	    d > PX_WAIVER_MAX_MS)
		return -1;
	*ms = d;
	return 0;
}

int
px_waiver_cmd_parse_id(const char *s, int64_t *id)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s < '1' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	*id = v;
	return 0;
}

int
px_waiver_cmd_decision_ok(const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p) && *p != '-')
			return 0;
	return p != s && p - s <= 40;
}

/* reviewer() : --by, $SUDO_USER or the OS user; NULL if none is known. */
static const char *
reviewer(const char *by)
{
	struct passwd	*pw;
	const char	*s;

	if (by != NULL)
		return by;
	if ((s = getenv("SUDO_USER")) != NULL && *s != '\0')
		return s;
	if ((pw = getpwuid(geteuid())) != NULL)
		return pw->pw_name;
	return NULL;
}

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* hint() : what to do about a store without the waivers table. */
static const char *
hint(const char *err)
{
	return strstr(err, "waivers") != NULL && (strstr(err, "no such table") !=
	    NULL || strstr(err, "does not exist") != NULL) ?
	    " (run pubgate db migrate)" : "";
}

/* put_safe() : s with control characters as '?'. */
static void
put_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		putc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static int
text_cb(const struct px_store_waiver *w, void *arg)
{
	FILE	*f = arg;
	char	 t[32];
	time_t	 sec = (time_t)(w->expires_ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "waiver %" PRId64 " %-7s ", w->id, w->state);
	put_safe(f, w->package);
	putc('@', f);
	put_safe(f, w->version);
	fprintf(f, " sha512=%.16s... decision=%s by=", w->sha512, w->decision);
	put_safe(f, w->approved_by);
	fprintf(f, " expires=%s %s uses=%" PRId64 " reason=\"", t,
	    w->once ? "once" : "until-expiry", w->uses);
	put_safe(f, w->reason);
	putc('"', f);
	if (w->revoked_ms > 0) {
		fputs(" revoked-by=", f);
		put_safe(f, w->revoked_by);
		fputs(" revoke-reason=\"", f);
		put_safe(f, w->revoke_reason);
		putc('"', f);
	}
	putc('\n', f);
	return 0;
}

static int
json_cb(const struct px_store_waiver *w, void *arg)
{
	int	*n = arg;

	fputs((*n)++ == 0 ? "[\n" : ",\n", stdout);
	px_store_waiver_json(w, stdout);
	return 0;
}

static int
json1_cb(const struct px_store_waiver *w, void *arg)
{
	(void)arg;
	px_store_waiver_json(w, stdout);
	putc('\n', stdout);
	return 1;
}

int
px_approve_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "by",		required_argument,	NULL,	'b' },
		{ "reason",	required_argument,	NULL,	'r' },
		{ "expires",	required_argument,	NULL,	'e' },
		{ "once",	no_argument,		NULL,	'o' },
		{ "json",	no_argument,		NULL,	'j' },
		{ NULL,		0,			NULL,	0 }
	};
	struct px_store_approve	 ap;
	struct px_store		*a;
	const char		*db = PX_LOG_CMD_DEFAULT_DB, *by = NULL;
	char			 err[512];
	int64_t			 dur = PX_WAIVER_DEFAULT_MS, id = 0;
	int			 ch, json = 0, rc;

	memset(&ap, 0, sizeof(ap));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+d:b:r:e:oj", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'r':
			ap.reason = optarg;
			break;
		case 'e':
			if (px_waiver_cmd_parse_expires(optarg, &dur) == -1) {
				fprintf(stderr, "pubgate approve: bad --expires "
				    "\"%.40s\" (want a duration such as 30m, "
				    "2h, 7d; at most 90d)\n", optarg);
				return 2;
			}
			break;
		case 'o':
			ap.once = 1;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fprintf(stderr, "pubgate approve: unknown option or "
			    "missing value: %s (try pubgate approve --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "pubgate approve: give one decision id (try "
		    "pubgate approve --help)\n");
		return 2;
	}
	if (!px_waiver_cmd_decision_ok(argv[optind])) {
		fprintf(stderr, "pubgate approve: \"%.40s\" is not a decision "
		    "id (like 1a2b3c4d-17)\n", argv[optind]);
		return 2;
	}
	if (ap.reason == NULL || !px_store_why_ok(ap.reason)) {
		fprintf(stderr, "pubgate approve: --reason TEXT is required "
		    "(1 to %d bytes, no control characters)\n",
		    PX_STORE_WHY_MAX);
		return 2;
	}
	if ((ap.actor.by = reviewer(by)) == NULL ||
	    !px_store_name_ok(ap.actor.by)) {
		fprintf(stderr, "pubgate approve: bad or unknown reviewer name "
		    "(--by NAME: 1 to %d of A-Z a-z 0-9 . _ @ + -)\n",
		    PX_STORE_BY_MAX);
		return 2;
	}
	ap.decision = argv[optind];
	ap.now_ms = wall_ms();
	ap.expires_ms = ap.now_ms + dur;
	ap.actor.who = "";
	ap.actor.client = "cli";
	ap.actor.user_agent = "pubgate approve";
	ap.waivable = pol_reason_waivable;
	if ((a = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pubgate approve: %s\n", err);
		return 2;
	}
	rc = px_store_waiver_approve(a, &ap, &id, err, sizeof(err));
	if (rc == 0) {
		if (json)
			rc = px_store_waivers(a, id, 0, 1, json1_cb, NULL, err,
			    sizeof(err)) == 1 ? 0 : 2;
		else
			rc = px_store_waivers(a, id, 0, 1, text_cb, stdout,
			    err, sizeof(err)) == 1 ? 0 : 2;
	} else if (rc == PX_STORE_REFUSED || rc == PX_STORE_NOTFOUND) {
		fprintf(stderr, "pubgate approve: %s\n", err);
		rc = 1;
	} else {
		fprintf(stderr, "pubgate approve: %s%s\n", err, hint(err));
		rc = 2;
	}
	px_store_close(a);
	return rc;
}

int
px_revoke_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "by",		required_argument,	NULL,	'b' },
		{ "reason",	required_argument,	NULL,	'r' },
		{ NULL,		0,			NULL,	0 }
	};
	struct px_store_actor	 actor;
	struct px_store		*a;
	const char		*db = PX_LOG_CMD_DEFAULT_DB, *by = NULL,
				*why = NULL;
	char			 err[512];
	int64_t			 id;
	int			 ch, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+d:b:r:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'r':
			why = optarg;
			break;
		default:
			fprintf(stderr, "pubgate revoke: unknown option or "
			    "missing value: %s (try pubgate revoke --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1 || px_waiver_cmd_parse_id(argv[optind],
	    &id) == -1) {
		fprintf(stderr, "pubgate revoke: give one waiver id (a number, "
		    "as pubgate waivers lists them)\n");
		return 2;
	}
	if (why == NULL || !px_store_why_ok(why)) {
		fprintf(stderr, "pubgate revoke: --reason TEXT is required "
		    "(1 to %d bytes, no control characters)\n",
		    PX_STORE_WHY_MAX);
		return 2;
	}
	memset(&actor, 0, sizeof(actor));
	if ((actor.by = reviewer(by)) == NULL || !px_store_name_ok(actor.by)) {
		fprintf(stderr, "pubgate revoke: bad or unknown reviewer name "
		    "(--by NAME: 1 to %d of A-Z a-z 0-9 . _ @ + -)\n",
		    PX_STORE_BY_MAX);
		return 2;
	}
	actor.who = "";
	actor.client = "cli";
	actor.user_agent = "pubgate revoke";
	if ((a = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pubgate revoke: %s\n", err);
		return 2;
	}
	rc = px_store_waiver_revoke(a, id, &actor, why, wall_ms(), err,
	    sizeof(err));
	if (rc == 0)
		rc = px_store_waivers(a, id, 0, 1, text_cb, stdout, err,
		    sizeof(err)) == 1 ? 0 : 2;
	else if (rc == PX_STORE_NOTFOUND || rc == PX_STORE_REFUSED) {
		fprintf(stderr, "pubgate revoke: %s\n", err);
		rc = 1;
	} else {
		fprintf(stderr, "pubgate revoke: %s%s\n", err, hint(err));
		rc = 2;
	}
	px_store_close(a);
	return rc;
}

int
px_waivers_cmd_main(int argc, char *argv[])
{
	static const struct option	 longopts[] = {
		{ "db",		required_argument,	NULL,	'd' },
		{ "active",	no_argument,		NULL,	'a' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "limit",	required_argument,	NULL,	'n' },
		{ NULL,		0,			NULL,	0 }
	};
	struct px_store	*a;
	const char	*db = PX_LOG_CMD_DEFAULT_DB;
	char		 err[512], *end;
	long		 l;
	int		 ch, json = 0, active = 0, limit = 0, n, jn = 0;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+d:ajn:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'a':
			active = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    l < 1 || l > 10000) {
				fprintf(stderr, "pubgate waivers: bad --limit "
				    "\"%.40s\" (1 to 10000)\n", optarg);
				return 2;
			}
			limit = (int)l;
			break;
		default:
			fprintf(stderr, "pubgate waivers: unknown option or "
			    "missing value: %s (try pubgate waivers --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pubgate waivers: unexpected argument \"%.40s\"\n",
		    argv[optind]);
		return 2;
	}
	if ((a = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pubgate waivers: %s\n", err);
		return 2;
	}
	n = px_store_waivers(a, 0, active, limit, json ? json_cb : text_cb,
	    json ? (void *)&jn : (void *)stdout, err, sizeof(err));
	px_store_close(a);
	if (n == -1) {
		fprintf(stderr, "pubgate waivers: %s%s\n", err, hint(err));
		return 2;
	}
	if (json)
		fputs(n == 0 ? "[]\n" : "\n]\n", stdout);
	return fflush(stdout) == 0 ? 0 : 2;
}
