/*
 * proxy/cmd/cmd_ca.c: `pubgate ca init --out DIR [--name NAME] [--days N]
 * [--permit HOST]... [-c pubgate.yaml]`.  Creates an evaluation CA for
 * egress mode (certs/ does the work: cert_ca_init) and prints the lines a
 * user adds to trust it: `cafile=` for .npmrc and NODE_EXTRA_CA_CERTS for
 * node, plus the serve flags.
 *
 * The CA is name-constrained: it can only ever certify the hosts the
 * gateway intercepts.  They are the egress.intercept list of the settings
 * file given with -c (its default included: registry.npmjs.org and the
 * upstream's host), or registry.npmjs.org without -c, plus every
 * --permit HOST.  The settings file is read with the daemon's own loader
 * (config.c, egress.c), nothing else of the daemon runs.  Depends on
 * certs/certs.h and those loaders; no sockets, no event loop, no logging
 * module: a CLI prints to stdout/stderr itself.
 *
 * Exit codes: 0 created, 2 error (bad usage, bad settings, files exist,
 * cannot write), with one line on stderr saying which.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "cmd_ca.h"
#include "proxy-int.h"

#define CA_USAGE	"pubgate ca init --out DIR [--name NAME] [--days N] " \
			"[--permit HOST]... [-c pubgate.yaml]"

static void
ca_usage(FILE *f)
{
	fprintf(f, "usage: %s\n", CA_USAGE);
}

/*
 * config_hosts() : the intercepted hosts of the settings file path, as
 * the daemon reads it, appended to permit[*n] (at most max).  cfg must
 * outlive permit (the names point into it).  Returns 0, or -1 after one
 * line on stderr.
 */
static int
config_hosts(struct px_cfg *cfg, const char *path, const char **permit,
    size_t max, size_t *n)
{
	struct px_cfg_errs	*errs;
	struct px_cfg_flags	 fl;
	size_t			 i;
	int			 rc = -1;

	if ((errs = calloc(1, sizeof(*errs))) == NULL) {
		fprintf(stderr, "pubgate ca init: out of memory\n");
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	px_cfg_defaults(cfg);
	if (px_cfg_load(cfg, path, errs) == -1 ||
	    px_cfg_apply(cfg, &fl, errs) == -1) {
		fprintf(stderr, "pubgate ca init: %s%s\n", errs->msg[0],
		    errs->count > 1 ? " (and more: pubgate serve -n)" : "");
		goto done;
	}
	if (cfg->egress.listen[0] == '\0') {
		fprintf(stderr, "pubgate ca init: %s has no egress section "
		    "(egress.listen): no host to permit\n", path);
		goto done;
	}
	for (i = 0; i < cfg->egress.nintercept; i++) {
		if (*n >= max) {
			fprintf(stderr, "pubgate ca init: at most %d permitted "
			    "names\n", CERT_CA_PERMIT_MAX);
			goto done;
		}
		permit[(*n)++] = cfg->egress.intercept[i].name;
	}
	rc = 0;
 done:
	free(errs);
	return rc;
}

/* parse_days() : a whole number of days, 1..CERT_CA_DAYS_MAX; 0 or -1. */
static int
parse_days(const char *s, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > CERT_CA_DAYS_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int
ca_init(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "out",	required_argument,	NULL, 'o' },
		{ "name",	required_argument,	NULL, 'n' },
		{ "days",	required_argument,	NULL, 'd' },
		{ "permit",	required_argument,	NULL, 'p' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct cert_ca_init_req	 req;
	struct cert_err		 err;
	struct px_cfg		*cfg = NULL;
	const char		*flags[CERT_CA_PERMIT_MAX];
	const char		*permit[CERT_CA_PERMIT_MAX];
	const char		*config = NULL;
	char			 abs[PATH_MAX];
	size_t			 nflags = 0, n = 0, i;
	int			 ch, rc = 2;

	memset(&req, 0, sizeof(req));
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:n:d:p:c:h", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'p':
			if (nflags >= CERT_CA_PERMIT_MAX) {
				fprintf(stderr, "pubgate ca init: at most %d "
				    "--permit\n", CERT_CA_PERMIT_MAX);
				return 2;
			}
			flags[nflags++] = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'o':
			req.dir = optarg;
			break;
		case 'n':
			req.name = optarg;
			break;
		case 'd':
			if (parse_days(optarg, &req.days) == -1) {
				fprintf(stderr, "pubgate ca init: --days must "
				    "be a number from 1 to %d\n",
				    CERT_CA_DAYS_MAX);
				return 2;
			}
			break;
		case 'h':
			ca_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "pubgate ca init: unknown or "
			    "incomplete option \"%s\" (usage: %s)\n",
			    argv[optind - 1], CA_USAGE);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pubgate ca init: unexpected argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	if (req.dir == NULL) {
		fprintf(stderr, "pubgate ca init: --out DIR is required\n");
		return 2;
	}
	/* The settings' intercepted hosts (or registry.npmjs.org), flags. */
	if (config != NULL) {
		if ((cfg = calloc(1, sizeof(*cfg))) == NULL) {
			fprintf(stderr, "pubgate ca init: out of memory\n");
			return 2;
		}
		if (config_hosts(cfg, config, permit, CERT_CA_PERMIT_MAX,
		    &n) == -1)
			goto done;
	} else
		permit[n++] = CERT_CA_PERMIT_DEFAULT;
	for (i = 0; i < nflags; i++) {
		if (n >= CERT_CA_PERMIT_MAX) {
			fprintf(stderr, "pubgate ca init: at most %d permitted "
			    "names\n", CERT_CA_PERMIT_MAX);
			goto done;
		}
		permit[n++] = flags[i];
	}
	req.permit = permit;
	req.npermit = n;
	if (cert_ca_init(&req, &err) == -1) {
		fprintf(stderr, "pubgate ca init: %s\n", err.msg);
		goto done;
	}
	/* Absolute paths, so the lines work from any directory. */
	if (realpath(req.dir, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", req.dir);
	printf("# pubgate: created %s/%s and %s/%s (keep the key secret)\n",
	    abs, CERT_CA_CERT_NAME, abs, CERT_CA_KEY_NAME);
	printf("# npm: add to .npmrc\n");
	printf("cafile=%s/%s\n", abs, CERT_CA_CERT_NAME);
	printf("# node: add to the environment\n");
	printf("NODE_EXTRA_CA_CERTS=%s/%s\n", abs, CERT_CA_CERT_NAME);
	printf("# pubgate serve: --ca-cert %s/%s --ca-key %s/%s\n",
	    abs, CERT_CA_CERT_NAME, abs, CERT_CA_KEY_NAME);
	printf("# name constraints: this CA can only certify");
	for (i = 0; i < n; i++)
		printf("%s %s", i > 0 ? "," : "", permit[i]);
	printf(" (a name covers its subdomains, a leading '.' only them; "
	    "no IP address)\n");
	rc = 0;
 done:
	free(cfg);
	return rc;
}

int
px_ca_cmd_main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "pubgate ca: missing subcommand (usage: %s)\n",
		    CA_USAGE);
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return ca_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		ca_usage(stdout);
		return 0;
	}
	fprintf(stderr, "pubgate ca: unknown subcommand \"%s\" (usage: %s)\n",
	    argv[1], CA_USAGE);
	return 2;
}
