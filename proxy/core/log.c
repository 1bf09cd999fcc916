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
#define PX_LOG_JSON_MAX	(PX_LOG_LINE_MAX * 2 + 128)

static int px_log_level;	/* write-once at startup: 0 info, 1 debug */
static int px_log_json;		/* write-once at startup: log_format: json */

void
px_log_init(int verbose)
{
	px_log_level = verbose;
}

void
px_log_set_json(int json)
{
	px_log_json = json;
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
	char		 line[PX_LOG_LINE_MAX], ts[40], json[PX_LOG_JSON_MAX];
	struct timespec	 tv;
	struct tm	 tm;
	size_t		 off;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &tv);
	gmtime_r(&tv.tv_sec, &tm);
	off = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + off, sizeof(ts) - off, ".%03ldZ", tv.tv_nsec / 1000000);
	off = 0;
	if (!px_log_json) {
		n = snprintf(line, sizeof(line), "ts=%s level=%s ", ts, level);
		if (n > 0)
			off = (size_t)n;
	}
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
	if (px_log_json) {
		line[off] = '\0';
		off = px_log_to_json(ts, level, line, json, sizeof(json));
		(void)write(STDERR_FILENO, json, off);
		return;
	}
	line[off++] = '\n';
	(void)write(STDERR_FILENO, line, off);
}

/* A bounded writer for px_log_to_json(): it never writes past lim. */
struct jw {
	char	*b;
	size_t	 o, lim;
	int	 full;
};

static void
jput(struct jw *w, const char *s, size_t n)
{
	if (w->full || w->o + n > w->lim) {
		w->full = 1;
		return;
	}
	memcpy(w->b + w->o, s, n);
	w->o += n;
}

/* jstr() : n bytes of s as a JSON string, quotes included. */
static void
jstr(struct jw *w, const char *s, size_t n)
{
	char		 e[8];
	size_t		 i;

	jput(w, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			jput(w, e, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			jput(w, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			jput(w, e, 6);
		} else if (c > 0x7f) {
			/* Cannot come from px_log_quote(); kept visible. */
			snprintf(e, sizeof(e), "\\\\x%02x", c);
			jput(w, e, 5);
		} else
			jput(w, (const char *)&c, 1);
	}
	jput(w, "\"", 1);
}

/* number() : s (n bytes) is a JSON-safe integer: -?(0|[1-9][0-9]{0,17}). */
static int
number(const char *s, size_t n)
{
	size_t	 i = 0;

	if (n > 0 && s[0] == '-')
		i++;
	if (i == n || n - i > 18 || (s[i] == '0' && n - i > 1))
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

size_t
px_log_to_json(const char *ts, const char *level, const char *kv, char *out,
    size_t len)
{
	struct jw	 w = { out, 0, len > 48 ? len - 48 : 0, 0 };
	char		 val[PX_LOG_LINE_MAX], msg[PX_LOG_LINE_MAX];
	const char	*p = kv, *k, *v;
	size_t		 kl, vl, ml = 0, mark;
	int		 quoted;

	jput(&w, "{\"ts\":", 6);
	jstr(&w, ts, strlen(ts));
	jput(&w, ",\"level\":", 9);
	jstr(&w, level, strlen(level));
	while (*p != '\0' && !w.full) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (k = p, kl = 0; k[kl] != '\0' && k[kl] != ' ' &&
		    k[kl] != '='; kl++)
			;
		if (k[kl] != '=' || kl == 0) {
			/* A word that is no key=value: kept in "msg". */
			for (kl = 0; k[kl] != '\0' && k[kl] != ' '; kl++)
				;
			if (ml + kl + 2 < sizeof(msg)) {
				if (ml > 0)
					msg[ml++] = ' ';
				memcpy(msg + ml, k, kl);
				ml += kl;
			}
			p = k + kl;
			continue;
		}
		v = k + kl + 1;
		vl = 0;
		quoted = *v == '"';
		if (quoted) {
			/* Undo px_log_quote(): \" \\ \n \r \t; \xNN kept. */
			for (p = v + 1; *p != '\0' && *p != '"'; p++) {
				char c = *p;

				if (c == '\\' && p[1] != '\0') {
					p++;
					c = *p == 'n' ? '\n' : *p == 'r' ? '\r' :
					    *p == 't' ? '\t' : *p;
					if (*p == 'x' && vl + 1 < sizeof(val))
						val[vl++] = '\\';
				}
				if (vl + 1 < sizeof(val))
					val[vl++] = c;
			}
			if (*p == '"')
				p++;
		} else {
			for (p = v; *p != '\0' && *p != ' '; p++)
				if (vl + 1 < sizeof(val))
					val[vl++] = *p;
		}
		mark = w.o;
		jput(&w, ",", 1);
		jstr(&w, k, kl);
		jput(&w, ":", 1);
		if (!quoted && vl == 1 && val[0] == '-')
			jput(&w, "null", 4);
		else if (!quoted && number(val, vl))
			jput(&w, val, vl);
		else if (kl == 7 && memcmp(k, "verdict", 7) == 0 && vl == 4 &&
		    memcmp(val, "deny", 4) == 0)
			jstr(&w, "block", 5);	/* one vocabulary: allow/block */
		else
			jstr(&w, val, vl);
		if (w.full)
			w.o = mark;	/* no half field */
	}
	if (ml > 0 && !w.full) {
		mark = w.o;
		jput(&w, ",\"msg\":", 7);
		jstr(&w, msg, ml);
		if (w.full)
			w.o = mark;
	}
	/* The 48 bytes held back always close the object. */
	w.lim = len;
	if (w.full) {
		w.full = 0;
		jput(&w, ",\"truncated\":true", 17);
	}
	jput(&w, "}\n", 2);
	return w.o;
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
