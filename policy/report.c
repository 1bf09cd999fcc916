/*
 * policy/report.c: the reasons of a verdict and their two renderings:
 * the plain text npm prints from a 403 {"error": ...}, and one JSON
 * object for machines (pubgate scan --json, the decision log).
 *
 * Reasons are already log-safe when they arrive here (detectors redact);
 * this file only bounds, deduplicates and formats them.  No allocation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

/* Appends formatted text at *off like snprintf, never past len. */
static void
cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
cat(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	if (*off < len)
		n = vsnprintf(buf + *off, len - *off, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

const char *
pol_status_str(enum pol_status st)
{
	switch (st) {
	case POL_CONTINUE:
		return "continue";
	case POL_DONE:
		return "done";
	case POL_ERR_LIMIT:
		return "limit";
	case POL_ERR_SYNTAX:
		return "syntax";
	case POL_ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

/*
 * pol_report_add() : records one reason and makes the verdict deny.  A
 * reason with the same rule and file as a kept one is counted once.
 */
void
pol_report_add(struct pol_report *r, const char *rule, const char *file,
    int64_t offset, const char *hint, const char *fmt, ...)
{
	struct pol_reason	*rs;
	va_list			 ap;
	size_t			 i;

	r->verdict = POL_DENY;
	if (file == NULL)
		file = "";
	for (i = 0; i < r->nreasons; i++) {
		if (strcmp(r->reasons[i].rule, rule) == 0 &&
		    strncmp(r->reasons[i].file, file, POL_FILE_MAX - 1) == 0)
			return;
	}
	r->nreasons_total++;
	if (r->nreasons >= POL_REASONS_MAX)
		return;
	rs = &r->reasons[r->nreasons++];
	memset(rs, 0, sizeof(*rs));
	snprintf(rs->rule, sizeof(rs->rule), "%s", rule);
	snprintf(rs->file, sizeof(rs->file), "%s", file);
	snprintf(rs->hint, sizeof(rs->hint), "%s", hint ? hint : "");
	rs->offset = offset;
	va_start(ap, fmt);
	vsnprintf(rs->text, sizeof(rs->text), fmt, ap);
	va_end(ap);
}

size_t
pol_report_render(const struct pol_report *r, char *buf, size_t len)
{
	const struct pol_reason	*rs;
	size_t			 off = 0, i;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	else
		len = 0;
	if (r->verdict == POL_ALLOW) {
		cat(buf, len, &off, "pubgate: %s%s%s allowed",
		    r->name[0] ? r->name : "package", r->version[0] ? "@" : "",
		    r->version);
		return off;
	}
	cat(buf, len, &off, "pubgate blocked the publish of %s%s%s",
	    r->name[0] ? r->name : "(unknown package)",
	    r->version[0] ? "@" : "", r->version);
	if (r->rule_match[0])
		cat(buf, len, &off, " (policy rule \"%s\")", r->rule_match);
	cat(buf, len, &off, ":");
	for (i = 0; i < r->nreasons; i++) {
		rs = &r->reasons[i];
		cat(buf, len, &off, "\n  - [%s]%s %s%s%s", rs->rule,
		    rs->warn ? " (warning only)" : "",
		    rs->file[0] ? rs->file : "", rs->file[0] ? ": " : "",
		    rs->text);
		if (rs->hint[0])
			cat(buf, len, &off, "\n    fix: %s", rs->hint);
	}
	if (r->nreasons_total > r->nreasons)
		cat(buf, len, &off, "\n  ... and %zu more reasons",
		    r->nreasons_total - r->nreasons);
	if (r->message[0])
		cat(buf, len, &off, "\n%s", r->message);
	return off;
}

void
pol_json_escape(char *buf, size_t len, size_t *off, const char *s)
{
	const unsigned char	*p;
	char			 tmp[8];
	const char		*out;
	size_t			 n;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			out = "\\\"";
			break;
		case '\\':
			out = "\\\\";
			break;
		case '\n':
			out = "\\n";
			break;
		case '\r':
			out = "\\r";
			break;
		case '\t':
			out = "\\t";
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
				out = tmp;
			} else {
				tmp[0] = (char)*p;
				tmp[1] = '\0';
				out = tmp;
			}
			break;
		}
		n = strlen(out);
		if (buf != NULL && *off + n < len)
			memcpy(buf + *off, out, n);
		*off += n;
	}
	if (buf != NULL && len > 0)
		buf[*off < len ? *off : len - 1] = '\0';
}

/* Appends "key":"escaped value". */
static void
jstr(char *buf, size_t len, size_t *off, const char *key, const char *val,
    int comma)
{
	cat(buf, len, off, "%s\"%s\":\"", comma ? "," : "", key);
	pol_json_escape(buf, len, off, val);
	cat(buf, len, off, "\"");
}

size_t
pol_report_json(const struct pol_report *r, char *buf, size_t len)
{
	const struct pol_reason	*rs;
	size_t			 off = 0, i;

	if (buf == NULL)
		len = 0;
	else if (len > 0)
		buf[0] = '\0';
	cat(buf, len, &off, "{\"verdict\":\"%s\",\"status\":\"%s\"",
	    r->verdict == POL_ALLOW ? "allow" : "block",
	    pol_status_str(r->status));
	jstr(buf, len, &off, "name", r->name, 1);
	jstr(buf, len, &off, "version", r->version, 1);
	jstr(buf, len, &off, "tag", r->tag, 1);
	jstr(buf, len, &off, "access", r->access, 1);
	jstr(buf, len, &off, "rule", r->rule_match, 1);
	jstr(buf, len, &off, "message", r->message, 1);
	jstr(buf, len, &off, "sha512", r->sha512_hex, 1);
	jstr(buf, len, &off, "integrity", r->integrity, 1);
	cat(buf, len, &off, ",\"monitor\":%s", r->monitor ? "true" : "false");
	cat(buf, len, &off, ",\"body_bytes\":%llu,\"tarball_bytes\":%llu,"
	    "\"unpacked_bytes\":%llu,\"files\":%u,\"reasons_total\":%zu,"
	    "\"reasons\":[", (unsigned long long)r->body_bytes,
	    (unsigned long long)r->tarball_bytes,
	    (unsigned long long)r->unpacked_bytes, r->file_count,
	    r->nreasons_total);
	for (i = 0; i < r->nreasons; i++) {
		rs = &r->reasons[i];
		cat(buf, len, &off, "%s{", i ? "," : "");
		jstr(buf, len, &off, "rule", rs->rule, 0);
		jstr(buf, len, &off, "file", rs->file, 1);
		jstr(buf, len, &off, "text", rs->text, 1);
		jstr(buf, len, &off, "hint", rs->hint, 1);
		cat(buf, len, &off, ",\"offset\":%lld,\"warn\":%s}",
		    (long long)rs->offset, rs->warn ? "true" : "false");
	}
	cat(buf, len, &off, "]}");
	return off;
}

/*
 * pol_report_notice() : for an allowed publish that has reasons (warn
 * rules, or mode: monitor), one line for npm's "npm notice" (the
 * registry's npm-notice response header): printable ASCII only, every
 * reason's rule and file, cut to len.  "" when there is nothing to say.
 */
size_t
pol_report_notice(const struct pol_report *r, char *buf, size_t len)
{
	const struct pol_reason	*rs;
	size_t			 off = 0, i;
	char			*p;

	if (buf == NULL || len == 0)
		return 0;
	buf[0] = '\0';
	if (r->verdict != POL_ALLOW || r->nreasons == 0)
		return 0;
	if (r->monitor)
		cat(buf, len, &off, "pubgate (monitor mode): this publish of "
		    "%s%s%s would be blocked:", r->name[0] ? r->name :
		    "the package", r->version[0] ? "@" : "", r->version);
	else
		cat(buf, len, &off, "pubgate: %zu warning%s for %s%s%s:",
		    r->nreasons, r->nreasons == 1 ? "" : "s", r->name[0] ?
		    r->name : "the package", r->version[0] ? "@" : "",
		    r->version);
	for (i = 0; i < r->nreasons; i++) {
		rs = &r->reasons[i];
		cat(buf, len, &off, "%s [%s] %s%s%s", i > 0 ? ";" : "",
		    rs->rule, rs->file, rs->file[0] ? ": " : "", rs->text);
	}
	if (r->nreasons_total > r->nreasons)
		cat(buf, len, &off, "; and %zu more",
		    r->nreasons_total - r->nreasons);
	/* A header value: no control bytes, nothing past ASCII. */
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return strlen(buf);
}
