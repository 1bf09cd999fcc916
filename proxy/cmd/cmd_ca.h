/*
 * proxy/cmd/cmd_ca.h: `pubgate ca`, the CA tools of the CLI (today: init, an
 * evaluation CA for egress mode).  Uses certs/certs.h only.
 */
#ifndef PUBGATE_CMD_CA_H
#define PUBGATE_CMD_CA_H

/*
 * px_ca_cmd_main() : runs `pubgate ca` with argv[0] "ca"; returns the
 * exit code (0 ok, 2 error with one line on stderr).
 */
int	px_ca_cmd_main(int argc, char *argv[]);

#endif /* PUBGATE_CMD_CA_H */
