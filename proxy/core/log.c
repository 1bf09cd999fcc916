/*
 * proxy/core/log.c: key=value log lines on stderr for pubgate serve.
 *
 * One line per event, written with a single write(2) so lines of
 * concurrent processes do not interleave.  The verbosity is set once at
 * startup by px_log_init(); nothing else here changes after that.
 * Callers never pass secrets (see log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PX_LOG_LINE_MAX	2048

static int px_log_level;	/* write-once at startup: 0 info, 1 debug */

void
px_log_init(int verbose)
{
	px_log_level = verbose;
}

int
px_log_verbose(void)
{
	return px_log_level;
}

/*
 * vlog() : formats one line with its timestamp and level; when err is
 * not 0 appends its strerror.  The line is truncated at PX_LOG_LINE_MAX.
 */
static void
vlog(const char *level, int err, const char *fmt, va_list ap)
{
	char		 line[PX_LOG_LINE_MAX];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	off = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + off, sizeof(line) - off, ".%03ldZ level=%s ",
	    ts.tv_nsec / 1000000, level);
	if (n > 0)
		off += (size_t)n;
	if (off < sizeof(line)) {
		n = vsnprintf(line + off, sizeof(line) - off, fmt, ap);
		if (n > 0)
			off += (size_t)n;
	}
	if (err != 0 && off < sizeof(line)) {
		n = snprintf(line + off, sizeof(line) - off, " error=\"%s\"",
		    strerror(err));
		if (n > 0)
			off += (size_t)n;
	}
	if (off > sizeof(line) - 2)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	(void)write(STDERR_FILENO, line, off);
}

void
px_log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog("warn", saved != 0 ? saved : EIO, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
px_log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("warn", 0, fmt, ap);
	va_end(ap);
}

void
px_log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("info", 0, fmt, ap);
	va_end(ap);
}

void
px_log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (px_log_level < 1)
		return;
	va_start(ap, fmt);
	vlog("debug", 0, fmt, ap);
	va_end(ap);
}

void
px_log_fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog("fatal", saved != 0 ? saved : EIO, fmt, ap);
	va_end(ap);
	exit(2);
}

void
px_log_fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(2);
}

/*
 * escape() : s into buf (len bytes, NUL-terminated) with '"', '\\' and
 * control characters backslash-escaped (\n, \r, \t, \xNN) and bytes
 * outside printable ASCII as \xNN; spaces kept.  An escape that does not
 * fit is dropped whole.  s may be buf: it is copied first.
 */
static void
escape(char *buf, size_t len, const char *s, int quotes)
{
	char		 src[PX_LOG_LINE_MAX];
	const char	*esc;
	char		 hex[5];
	size_t		 o = 0, n, i;
	int		 q = quotes && len > 2;

	snprintf(src, sizeof(src), "%s", s != NULL ? s : "");
	if (q) {
		buf[o++] = '"';
		len--;		/* room for the closing quote */
	}
	for (i = 0; src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		default:
			if (c < 0x20 || c > 0x7e) {
				snprintf(hex, sizeof(hex), "\\x%02x", c);
				esc = hex;
			} else {
				hex[0] = (char)c;
				hex[1] = '\0';
				esc = hex;
			}
		}
		n = strlen(esc);
		if (o + n + 1 > len)
			break;
		memcpy(buf + o, esc, n);
		o += n;
	}
	if (q)
		buf[o++] = '"';
	buf[o] = '\0';
}

const char *
px_log_quote(char *buf, size_t len, const char *s)
{
	if (len == 0)
		return buf;
	escape(buf, len, s, 0);
	return buf;
}

const char *
px_log_value(char *buf, size_t len, const char *s)
{
	size_t	 i;
	int	 plain = 1;

	if (len == 0)
		return buf;
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '=')
			plain = 0;
	}
	if (s[0] == '\0')
		plain = 0;
	escape(buf, len, s, !plain);
	return buf;
}
