/*
 * proxy/store/cmd_log.h: `pubgate log`, the decision log query of the CLI.
 */
#ifndef PUBGATE_CMD_LOG_H
#define PUBGATE_CMD_LOG_H

#include <stdint.h>

/* The store `pubgate log` reads when --db is not given (as `serve`). */
#define PX_LOG_CMD_DEFAULT_DB	"pubgate.db"

/*
 * px_log_cmd_main() : runs `pubgate log` with argv[0] "log"; returns the
 * exit code (0 ok, 2 error with one line on stderr).
 */
int	px_log_cmd_main(int argc, char *argv[]);
/*
 * px_show_cmd_main() : `pubgate show ID`, one decision by its request id;
 * 0 found, 1 no such decision, 2 error.
 */
int	px_show_cmd_main(int argc, char *argv[]);

/*
 * px_db_cmd_main() : runs `pubgate db migrate` with argv[0] "db"; exit
 * code 0, or 2 with one line on stderr.
 */
int	px_db_cmd_main(int argc, char *argv[]);

/*
 * px_log_cmd_parse_since() : parses a --since value, either a duration
 * back from now_ms ("90s", "15m", "2h", "7d", "2w", "1h30m") or a UTC
 * time ("2026-11-24", "2026-11-24T10:00:00Z", "...T10:00Z",
 * "...T10:00:00.250+01:00").  Sets *out to ms since the epoch; 0 or -1.
 */
int	px_log_cmd_parse_since(const char *s, int64_t now_ms, int64_t *out);
/*
 * px_log_cmd_parse_duration() : "90s", "15m", "2h", "7d", "2w", "1h30m"
 * (at most 100 years) into *out ms; 0 or -1.
 */
int	px_log_cmd_parse_duration(const char *s, int64_t *out);

#endif /* PUBGATE_CMD_LOG_H */
