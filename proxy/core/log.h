/*
 * proxy/core/log.h: the daemon's logging, the only code of pubgate serve that
 * writes log lines.  Every line goes to stderr as
 *	ts=<UTC time> level=<level> <key=value ...>
 * and callers always put conn=<id> first when a connection is concerned.
 * Nothing here may ever be handed an Authorization value, an npm-otp, a
 * token, a cookie or a request body: callers log package names, rule ids,
 * statuses and sizes only.
 */
#ifndef PUBGATE_PX_LOG_H
#define PUBGATE_PX_LOG_H

#include <stddef.h>

/*
 * px_log_init() : sets the verbosity once, before the event loop runs
 * (0 info, 1 debug).  This write-once setting is the only state of log.c.
 */
void	px_log_init(int verbose);
int	px_log_verbose(void);

/* px_log_warn() appends error="<strerror(errno)>"; px_log_warnx() does not. */
void	px_log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	px_log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	px_log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	px_log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Startup and broken invariants only: never on peer input.  Exit 2. */
void	px_log_fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	px_log_fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * px_log_quote() : copies s into buf (len bytes, NUL-terminated) as the
 * inside of a quoted log value (key="..."): '"', '\\' and control
 * characters backslash-escaped (\n, \r, \t, \xNN), bytes outside
 * printable ASCII as \xNN, spaces kept; an escape that does not fit is
 * dropped whole.  s may be buf.  Returns buf.
 */
const char	*px_log_quote(char *buf, size_t len, const char *s);
/*
 * px_log_value() : s as a whole value for key=%s: as is when it is
 * printable ASCII without space, '"', '\\' or '=', else quoted and
 * escaped as px_log_quote() does ("" for an empty s).  s may be buf.
 */
const char	*px_log_value(char *buf, size_t len, const char *s);

#endif /* PUBGATE_PX_LOG_H */
