/*
 * proxy/cmd/sarif.c: the SARIF 2.1.0 log of `pubgate scan --format sarif`.
 * One run; one result per reason (ruleId the reason's rule id; level
 * error when it blocks, warning when it only warns or the rule is in
 * monitor mode, note when allow_findings suppressed it); the location is
 * the reason's file relative to the package root (package.json for
 * policy-level reasons), with the line when the input was a folder and
 * the byte offset where known.  Texts are the engine's, which redacts
 * secrets exactly as in the 403: no matched value is ever written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sarif.h"

struct sarif_res {
	struct pol_reason	 why;
	char			*input;
	char			 pkg[360];
	int			 level;		/* 0 note, 1 warning, 2 error */
	long			 line;		/* 1-based, 0 unknown */
};

struct px_sarif {
	struct sarif_res	*res;
	size_t			 n, cap;
	size_t			 more;		/* reasons past the report caps */
};

static const char *const level_name[] = { "note", "warning", "error" };

struct px_sarif *
px_sarif_new(void)
{
	return calloc(1, sizeof(struct px_sarif));
}

/* line_of() : the 1-based line of byte offset off in dir/file, 0 unknown. */
static long
line_of(const char *dir, const char *file, int64_t off)
{
	char	 path[4096], buf[65536];
	FILE	*f;
	long	 line = 1;
	int64_t	 pos = 0;
	size_t	 n, i;

	if (dir == NULL || off < 0 || file[0] == '\0' || strstr(file, "..")
	    != NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	while (pos < off && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (i = 0; i < n && pos < off; i++, pos++)
			if (buf[i] == '\n')
				line++;
	}
	fclose(f);
	return pos == off ? line : 0;
}

int
px_sarif_add(struct px_sarif *s, const char *input, const char *dir,
    const struct pol_report *r)
{
	struct sarif_res	*n;
	size_t			 i;

	for (i = 0; i < r->nreasons; i++) {
		const struct pol_reason	*why = &r->reasons[i];

		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 32;
			if ((n = realloc(s->res, s->cap * sizeof(*n))) == NULL)
				return -1;
			s->res = n;
		}
		n = &s->res[s->n];
		memset(n, 0, sizeof(*n));
		n->why = *why;
		if ((n->input = strdup(input)) == NULL)
			return -1;
		snprintf(n->pkg, sizeof(n->pkg), "%s%s%s", r->name,
		    r->version[0] ? "@" : "", r->version);
		n->level = why->suppressed ? 0 : (why->warn || r->monitor) ?
		    1 : 2;
		n->line = line_of(dir, why->file, why->offset);
		s->n++;
	}
	if (r->nreasons_total > r->nreasons)
		s->more += r->nreasons_total - r->nreasons;
	return 0;
}

static void
jstr(FILE *f, const char *s)
{
	char	 buf[2048];
	size_t	 off = 0;

	pol_json_escape(buf, sizeof(buf), &off, s);
	fprintf(f, "\"%s\"", buf);
}

/* uri() : a relative path as a URI reference (RFC 3986 percent-encoding). */
static void
uri(FILE *f, const char *p)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*c;

	fputc('"', f);
	for (c = (const unsigned char *)p; *c != '\0'; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~/!$&'()*+,;=:@",
		    *c) != NULL)
			fputc(*c, f);
		else
			fprintf(f, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
	}
	fputc('"', f);
}

static int
rule_index(const struct px_sarif *s, size_t upto, const char *rule)
{
	size_t	 i;
	int	 k = 0;

	for (i = 0; i < upto; i++) {
		size_t	 j;
		int	 seen = 0;

		for (j = 0; j < i; j++)
			if (strcmp(s->res[j].why.rule, s->res[i].why.rule) == 0)
				seen = 1;
		if (seen)
			continue;
		if (strcmp(s->res[i].why.rule, rule) == 0)
			return k;
		k++;
	}
	return -1;
}

void
px_sarif_print(struct px_sarif *s, FILE *f, const char *version)
{
	size_t	 i, j;
	int	 first = 1, seen;

	fprintf(f, "{\"$schema\":\"https://json.schemastore.org/"
	    "sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":"
	    "{\"driver\":{\"name\":\"pubgate\",\"version\":");
	jstr(f, version);
	fprintf(f, ",\"rules\":[");
	for (i = 0; i < s->n; i++) {
		for (seen = 0, j = 0; j < i; j++)
			if (strcmp(s->res[j].why.rule, s->res[i].why.rule) == 0)
				seen = 1;
		if (seen)
			continue;
		fprintf(f, "%s{\"id\":", first ? "" : ",");
		first = 0;
		jstr(f, s->res[i].why.rule);
		fprintf(f, ",\"shortDescription\":{\"text\":");
		{
			char	 d[POL_RULE_ID_MAX + 40];

			snprintf(d, sizeof(d), "pubgate policy rule %s",
			    s->res[i].why.rule);
			jstr(f, d);
		}
		fprintf(f, "}");
		if (s->res[i].why.hint[0]) {
			fprintf(f, ",\"help\":{\"text\":");
			jstr(f, s->res[i].why.hint);
			fprintf(f, "}");
		}
		fprintf(f, ",\"defaultConfiguration\":{\"level\":\"error\"}}");
	}
	fprintf(f, "]}},\"invocations\":[{\"executionSuccessful\":true}],"
	    "\"results\":[");
	for (i = 0; i < s->n; i++) {
		const struct sarif_res	*r = &s->res[i];
		char			 msg[POL_TEXT_MAX + POL_HINT_MAX + 16];

		if (r->why.hint[0])
			snprintf(msg, sizeof(msg), "%s (fix: %s)", r->why.text,
			    r->why.hint);
		else
			snprintf(msg, sizeof(msg), "%s", r->why.text);
		fprintf(f, "%s{\"ruleId\":", i ? "," : "");
		jstr(f, r->why.rule);
		fprintf(f, ",\"ruleIndex\":%d,\"level\":\"%s\",\"message\":"
		    "{\"text\":", rule_index(s, i + 1, r->why.rule),
		    level_name[r->level]);
		jstr(f, msg);
		fprintf(f, "},\"locations\":[{\"physicalLocation\":"
		    "{\"artifactLocation\":{\"uri\":");
		uri(f, r->why.file[0] ? r->why.file : "package.json");
		fprintf(f, "}");
		if (r->line > 0 || (r->why.offset >= 0 && r->why.file[0])) {
			fprintf(f, ",\"region\":{");
			if (r->line > 0)
				fprintf(f, "\"startLine\":%ld%s", r->line,
				    r->why.offset >= 0 ? "," : "");
			if (r->why.offset >= 0)
				fprintf(f, "\"byteOffset\":%lld",
				    (long long)r->why.offset);
			fprintf(f, "}");
		}
		fprintf(f, "}}]");
		if (r->why.fingerprint[0]) {
			fprintf(f, ",\"partialFingerprints\":"
			    "{\"pubgateFinding/v1\":");
			jstr(f, r->why.fingerprint);
			fprintf(f, "}");
		}
		if (r->why.suppressed)
			fprintf(f, ",\"suppressions\":[{\"kind\":\"external\","
			    "\"justification\":\"allow_findings in the "
			    "policy\"}]");
		fprintf(f, ",\"properties\":{\"input\":");
		jstr(f, r->input);
		fprintf(f, ",\"package\":");
		jstr(f, r->pkg);
		fprintf(f, "}}");
	}
	fprintf(f, "]");
	if (s->more > 0)
		fprintf(f, ",\"properties\":{\"moreReasons\":%zu}", s->more);
	fprintf(f, "}]}\n");
}

void
px_sarif_free(struct px_sarif *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->res[i].input);
	free(s->res);
	free(s);
}
