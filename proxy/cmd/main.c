/*
 * proxy/cmd/main.c: the pubgate binary's entry point.  It only dispatches to a
 * subcommand; each subcommand owns its own options and exit codes:
 *   scan, policy check	offline CLI (cli.c), links policy/ only
 *   serve, log, show, approve, waivers, revoke, db, ca
 *			the daemon and its tools (added by proxy/ and certs/)
 * `-h`/`--help` anywhere before a `--` prints that subcommand's help
 * (help.c) and exits 0, so a subcommand never reads "--help" as a file.
 * Exit codes of the CLI: 0 allow/ok, 1 block, 2 error (one line on stderr).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "help.h"
#include "serve.h"
#include "cmd_log.h"
#include "cmd_waiver.h"
#include "cmd_ca.h"

/* wants_help() : whether argv (after the subcommand) asks for help. */
static int
wants_help(int argc, char *argv[])
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*cmd;

	if (argc < 2) {
		px_help_summary(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "--help") == 0) {
		if (argc == 2) {
			px_help_summary(stdout);
			return 0;
		}
		if (strcmp(argv[2], "--man") == 0) {
			px_help_man(stdout, PUBGATE_VERSION);
			return 0;
		}
		if (px_help_print(stdout, argv[2]) == -1) {
			fprintf(stderr, "pubgate help: unknown command \"%s\" "
			    "(try pubgate help)\n", argv[2]);
			return 2;
		}
		return 0;
	}
	if (px_help_known(cmd) && wants_help(argc - 1, argv + 1)) {
		px_help_print(stdout, cmd);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		printf("pubgate %s\n", PUBGATE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "scan") == 0)
		return px_cli_scan(argc - 1, argv + 1);
	if (strcmp(cmd, "policy") == 0)
		return px_cli_policy(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return px_serve_main(argc - 1, argv + 1);
	if (strcmp(cmd, "log") == 0)
		return px_log_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return px_show_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "approve") == 0)
		return px_approve_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "revoke") == 0)
		return px_revoke_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "waivers") == 0)
		return px_waivers_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "db") == 0)
		return px_db_cmd_main(argc - 1, argv + 1);
	if (strcmp(cmd, "ca") == 0)
		return px_ca_cmd_main(argc - 1, argv + 1);
	fprintf(stderr, "pubgate: unknown command \"%s\" (try pubgate help)\n",
	    cmd);
	return 2;
}
