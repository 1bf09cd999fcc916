/*
 * proxy/cmd_ca.c: `pubgate ca init --out DIR [--name NAME] [--days N]`.
 * Creates an evaluation CA for egress mode (certs/ does the work:
 * cert_ca_init) and prints the lines a user adds to trust it: `cafile=`
 * for .npmrc and NODE_EXTRA_CA_CERTS for node, plus the serve flags.
 * Depends on certs/certs.h only (no libevent, no sockets, no logging
 * module: a CLI prints to stdout/stderr itself).
 *
 * Exit codes: 0 created, 2 error (bad usage, files exist, cannot write),
 * with one line on stderr saying which.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "cmd_ca.h"

static void
ca_usage(FILE *f)
{
	fprintf(f, "usage: pubgate ca init --out DIR [--name NAME] "
	    "[--days N]\n");
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
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct cert_ca_init_req	 req;
	struct cert_err		 err;
	char			 abs[PATH_MAX];
	int			 ch;

	memset(&req, 0, sizeof(req));
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:n:d:h", opts, NULL)) != -1) {
		switch (ch) {
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
			    "incomplete option \"%s\" (usage: pubgate ca "
			    "init --out DIR [--name NAME] [--days N])\n",
			    argv[optind - 1]);
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
	if (cert_ca_init(&req, &err) == -1) {
		fprintf(stderr, "pubgate ca init: %s\n", err.msg);
		return 2;
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
	return 0;
}

int
px_ca_cmd_main(int argc, char *argv[])
{
	if (argc < 2) {
		fprintf(stderr, "pubgate ca: missing subcommand (usage: "
		    "pubgate ca init --out DIR [--name NAME] [--days N])\n");
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return ca_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		ca_usage(stdout);
		return 0;
	}
	fprintf(stderr, "pubgate ca: unknown subcommand \"%s\" (usage: "
	    "pubgate ca init --out DIR [--name NAME] [--days N])\n", argv[1]);
	return 2;
}
