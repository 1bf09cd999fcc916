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
 * reason_class() : where a reason goes in reasons[]: 0 for policy-level
 * reasons (what the package may be, whoever wrote its files: they come
 * first and are never pushed out by content findings), 1 for the others,
 * 2 for suppressed notes (the first to go when room is short).
 */
static int
reason_class(const char *rule, int suppressed)
{
	static const char *const pfx[] = { "publish.", "scope", "access",
	    "consistency.", "integrity.", "private", "publish-config",
	    "dist-tag", "provenance" };
	size_t	 i;

	if (suppressed)
		return 2;
	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (strncmp(rule, pfx[i], strlen(pfx[i])) == 0)
			return 0;
	return 1;
}

/* count_more() : one reason of this rule past the cap. */
static void
count_more(struct pol_report *r, const char *rule)
{
	size_t	 i;

	for (i = 0; i < r->nmore; i++)
		if (strcmp(r->more[i].rule, rule) == 0) {
			r->more[i].n++;
			return;
		}
	if (r->nmore < POL_MORE_MAX) {
		snprintf(r->more[r->nmore].rule, sizeof(r->more[0].rule), "%s",
		    rule);
		r->more[r->nmore++].n = 1;
	}
}

/*
 * add() : the slot for a new reason of class cls, in class order, or NULL
 * (then it is counted in more[]).  When reasons[] is full, the last reason
 * of a later class makes room: a note is dropped, another reason counted
 * in more[].
 */
static struct pol_reason *
add(struct pol_report *r, const char *rule, int cls)
{
	struct pol_reason	*rs;
	size_t			 at, last;
	int			 lc;

	if (r->nreasons >= POL_REASONS_MAX) {
		last = r->nreasons - 1;
		lc = reason_class(r->reasons[last].rule,
		    r->reasons[last].suppressed);
		if (lc <= cls)
			return NULL;
		if (r->reasons[last].suppressed)
			r->nreasons_total--;	/* a note, not a reason */
		else
			count_more(r, r->reasons[last].rule);
		r->nreasons--;
	}
	for (at = r->nreasons; at > 0; at--)
		if (reason_class(r->reasons[at - 1].rule,
		    r->reasons[at - 1].suppressed) <= cls)
			break;
	memmove(&r->reasons[at + 1], &r->reasons[at],
	    (r->nreasons - at) * sizeof(r->reasons[0]));
	r->nreasons++;
	rs = &r->reasons[at];
	memset(rs, 0, sizeof(*rs));
	return rs;
}

/* seen() : is a reason with this rule, file and fingerprint kept? */
static int
seen(const struct pol_report *r, const char *rule, const char *file,
    const char *fp)
{
	size_t	 i;

	for (i = 0; i < r->nreasons; i++) {
		if (strcmp(r->reasons[i].rule, rule) == 0 &&
		    strncmp(r->reasons[i].file, file, POL_FILE_MAX - 1) == 0 &&
		    strcmp(r->reasons[i].fingerprint, fp) == 0)
			return 1;
	}
	return 0;
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

	r->verdict = POL_DENY;
	if (file == NULL)
		file = "";
	if (seen(r, rule, file, ""))
		return;
	r->nreasons_total++;
	if ((rs = add(r, rule, reason_class(rule, 0))) == NULL) {
		count_more(r, rule);
		return;
	}
	snprintf(rs->rule, sizeof(rs->rule), "%s", rule);
	snprintf(rs->file, sizeof(rs->file), "%s", file);
	snprintf(rs->hint, sizeof(rs->hint), "%s", hint ? hint : "");
	rs->offset = offset;
	va_start(ap, fmt);
	vsnprintf(rs->text, sizeof(rs->text), fmt, ap);
	va_end(ap);
}

void
pol_report_add_finding(struct pol_report *r, const char *rule,
    const char *file, int64_t offset, const char *hint, const char *fp,
    int suppressed, const char *text)
{
	struct pol_reason	*rs;

	if (file == NULL)
		file = "";
	if (fp == NULL)
		fp = "";
	if (!suppressed)
		r->verdict = POL_DENY;
	if (seen(r, rule, file, fp))
		return;
	if (suppressed)
		r->nsuppressed++;
	if ((rs = add(r, rule, reason_class(rule, suppressed))) == NULL) {
		/* A note past the cap is only counted in nsuppressed. */
		if (!suppressed) {
			r->nreasons_total++;
			count_more(r, rule);
		}
		return;
	}
	r->nreasons_total++;
	snprintf(rs->rule, sizeof(rs->rule), "%s", rule);
	snprintf(rs->file, sizeof(rs->file), "%s", file);
	snprintf(rs->fingerprint, sizeof(rs->fingerprint), "%s", fp);
	rs->offset = offset;
	if (suppressed) {
		rs->warn = 1;
		rs->suppressed = 1;
		snprintf(rs->text, sizeof(rs->text), "suppressed by "
		    "allow_findings: %s", text);
	} else {
		snprintf(rs->hint, sizeof(rs->hint), "%s", hint ? hint : "");
		snprintf(rs->text, sizeof(rs->text), "%s", text);
	}
}

/* render_more() : "; and N more: rule xK, ..." for the reasons past the cap. */
static void
render_more(const struct pol_report *r, char *buf, size_t len, size_t *off,
    const char *lead)
{
	size_t	 i, counted = 0;

	if (r->nreasons_total <= r->nreasons)
		return;
	cat(buf, len, off, "%s%zu more reason%s", lead,
	    r->nreasons_total - r->nreasons,
	    r->nreasons_total - r->nreasons == 1 ? "" : "s");
	for (i = 0; i < r->nmore; i++) {
		cat(buf, len, off, "%s%s x%zu", i ? ", " : ": ",
		    r->more[i].rule, r->more[i].n);
		counted += r->more[i].n;
	}
	if (r->nmore > 0 && counted < r->nreasons_total - r->nreasons)
		cat(buf, len, off, ", other rules x%zu",
		    r->nreasons_total - r->nreasons - counted);
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
		if (r->nsuppressed > 0)
			cat(buf, len, &off, " (%zu finding%s suppressed by "
			    "allow_findings)", r->nsuppressed,
			    r->nsuppressed == 1 ? "" : "s");
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
		    rs->warn && !rs->suppressed ? " (warning only)" : "",
		    rs->file[0] ? rs->file : "", rs->file[0] ? ": " : "",
		    rs->text);
		if (rs->hint[0])
			cat(buf, len, &off, "\n    fix: %s", rs->hint);
		if (rs->fingerprint[0] && !rs->suppressed)
			cat(buf, len, &off, "\n    fingerprint %s (a known "
			    "fake? allow_findings: [{rule: %s, file: \"%s\", "
			    "fingerprint: %s}])", rs->fingerprint, rs->rule,
			    rs->file, rs->fingerprint);
	}
	render_more(r, buf, len, &off, "\n  ... and ");
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
	cat(buf, len, &off, ",\"approval\":%s", r->approval ? "true" :
	    "false");
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
		jstr(buf, len, &off, "fingerprint", rs->fingerprint, 1);
		cat(buf, len, &off, ",\"offset\":%lld,\"warn\":%s,"
		    "\"suppressed\":%s}", (long long)rs->offset,
		    rs->warn ? "true" : "false",
		    rs->suppressed ? "true" : "false");
	}
	cat(buf, len, &off, "],\"suppressed\":%zu,\"more\":{", r->nsuppressed);
	for (i = 0; i < r->nmore; i++)
		cat(buf, len, &off, "%s\"%s\":%zu", i ? "," : "",
		    r->more[i].rule, r->more[i].n);
	cat(buf, len, &off, "}}");
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
	else if (r->nsuppressed == r->nreasons)
		cat(buf, len, &off, "pubgate: %zu finding%s suppressed by "
		    "allow_findings for %s%s%s:", r->nreasons,
		    r->nreasons == 1 ? "" : "s", r->name[0] ? r->name :
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
	render_more(r, buf, len, &off, "; and ");
	/* A header value: no control bytes, nothing past ASCII. */
	for (p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return strlen(buf);
}
