/*
 * proxy/store/cmd_waiver.h: `pubgate approve`, `pubgate waivers` and
 * `pubgate revoke`, the waiver commands of the CLI (issue 10).
 */
#ifndef PUBGATE_CMD_WAIVER_H
#define PUBGATE_CMD_WAIVER_H

#include <stdint.h>

/* Each runs its command with argv[0] the command's name; the exit code. */
int	px_approve_cmd_main(int argc, char *argv[]);
int	px_revoke_cmd_main(int argc, char *argv[]);
int	px_waivers_cmd_main(int argc, char *argv[]);

/*
 * px_waiver_cmd_parse_expires() : an --expires duration ("2s", "30m",
 * "7d", "1h30m"), more than 0 and at most 90 days, into *ms; 0 or -1.
 */
int	px_waiver_cmd_parse_expires(const char *s, int64_t *ms);
/* px_waiver_cmd_parse_id() : a waiver id, a positive decimal; 0 or -1. */
int	px_waiver_cmd_parse_id(const char *s, int64_t *id);
/* px_waiver_cmd_decision_ok() : s has the shape of a decision id. */
int	px_waiver_cmd_decision_ok(const char *s);

#endif /* PUBGATE_CMD_WAIVER_H */
