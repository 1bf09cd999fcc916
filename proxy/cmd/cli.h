/*
 * proxy/cmd/cli.h: the offline subcommands (scan, policy check).  They use
 * policy/policy.h only, so they run where no proxy runs (CI, laptops).
 */
#ifndef PUBGATE_CLI_H
#define PUBGATE_CLI_H

/* Each takes argv with argv[0] the subcommand name; returns the exit code. */
int	px_cli_scan(int argc, char *argv[]);
int	px_cli_policy(int argc, char *argv[]);

#endif
