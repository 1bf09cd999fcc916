/*
 * proxy/cmd/main.c: the pubgate binary's entry point.  It only dispatches to a
 * subcommand; each subcommand owns its own options and exit codes:
 *   scan, policy check	offline CLI (cli.c), links policy/ only
 *   serve, log, ca	the daemon and its tools (added by proxy/ and certs/)
 * Exit codes of the CLI: 0 allow/ok, 1 block, 2 error (one line on stderr).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "serve.h"
#include "cmd_log.h"
#include "cmd_ca.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pubgate scan -p policy.yaml [--name NAME] [--json] FILE...\n"
	    "       pubgate policy check FILE\n"
	    "       pubgate serve [-nv] [-c pubgate.yaml] [--listen URL] ...\n"
	    "       pubgate log [--db FILE] [--blocked] [--since DURATION|TIME]\n"
	    "                   [--package GLOB] [--scope @x] [--json] [--limit N]\n"
	    "       pubgate show [--db FILE] [--json] DECISION-ID\n"
	    "       pubgate db migrate [--db FILE|postgresql://...]\n"
	    "       pubgate ca init --out DIR [--name NAME] [--days N]\n"
	    "                       [--permit HOST]... [-c pubgate.yaml]\n"
	    "       pubgate version\n");
}

int
main(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "scan") == 0)
		return px_cli_scan(argc - 1, argv + 1);
	if (strcmp(argv[1], "policy") == 0)
		return px_cli_policy(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return px_serve_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "log") == 0)
		return px_log_cmd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return px_show_cmd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "db") == 0)
		return px_db_cmd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ca") == 0)
		return px_ca_cmd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("pubgate %s\n", PUBGATE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "pubgate: unknown command \"%s\" (try pubgate help)\n",
	    argv[1]);
	return 2;
}
