/*
 * proxy/core/log.h: the daemon's logging, the only code of pubgate serve that
 * writes log lines.  Every line goes to stderr as
 *	ts=<UTC time> level=<level> <key=value ...>
 * or, with `log_format: json`, as the same fields in one JSON object; and
 * callers always put conn=<id> first when a connection is concerned.
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
/*
 * px_log_set_json() : `log_format: json`, set once at startup: every line
 * is then one JSON object (px_log_to_json()) instead of key=value text.
 */
void	px_log_set_json(int json);
/*
 * px_log_to_json() : one log line as a JSON object and a newline into out
 * (len bytes, at least 64): {"ts": ts, "level": level, then each key=value
 * of kv in order}.  Quoted values are unescaped (\xNN stays as text);
 * unquoted whole numbers are JSON numbers, "-" is null; verdict=deny is
 * "block" (the store's and the API's word); words that are no key=value
 * go to "msg".  A line that does not fit keeps its first whole fields and
 * says "truncated": true.  Returns the bytes written (never NUL-ended).
 */
size_t	px_log_to_json(const char *ts, const char *level, const char *kv,
	    char *out, size_t len);

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
