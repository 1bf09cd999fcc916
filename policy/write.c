/*
 * policy/write.c: the body rule for writes that are not publishes.
 *
 * Owns pol_check_write_body(): a dist-tag, access, login, token, org or
 * team write carries a small JSON body (or none).  The registry routes it
 * by its path, but the gate classifies writes by what they carry, not by
 * where they go: a body with a non-empty "_attachments" is a publish
 * wherever it is sent, so on any of these routes it is refused (the
 * publish routes send it through the engine instead).  A body the JSON
 * scanner cannot read is refused too: the gate never forwards a write
 * it could not read.  Keys are compared unescaped ("\u005fattachments"
 * is "_attachments"), as JSON.parse compares them.  Depends on json.c
 * only; never logs.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

struct wb {
	int	 in_att;	/* inside the value of a top-level _attachments */
	int	 att_depth;	/* depth of that value's container */
	int	 att_nonempty;	/* it holds something */
	int	 att_seen;	/* "_attachments" key seen at the top */
	int	 want_value;	/* the next event is _attachments' value */
};

static int
wb_cb(void *arg, enum pol_json_ev ev, const char *s, size_t len, int depth)
{
	struct wb	*w = arg;

	if (w->want_value) {
		w->want_value = 0;
		if (ev == POL_JSON_OBJ_BEGIN || ev == POL_JSON_ARR_BEGIN) {
			w->in_att = 1;
			w->att_depth = depth;
			return 0;
		}
		/* A scalar: only null means "nothing attached". */
		if (ev != POL_JSON_NULL)
			w->att_nonempty = 1;
		return 0;
	}
	if (w->in_att) {
		if ((ev == POL_JSON_OBJ_END || ev == POL_JSON_ARR_END) &&
		    depth == w->att_depth)
			w->in_att = 0;
		else
			w->att_nonempty = 1;
		return 0;
	}
	if (ev == POL_JSON_KEY && depth == 1 && len == 12 &&
	    memcmp(s, "_attachments", 12) == 0) {
		w->att_seen++;
		w->want_value = 1;
	}
	return 0;
}

static enum pol_verdict
wb_deny(struct pol_reason *why, const char *rule, const char *text,
    const char *hint)
{
	if (why != NULL) {
		memset(why, 0, sizeof(*why));
		snprintf(why->rule, sizeof(why->rule), "%s", rule);
		snprintf(why->text, sizeof(why->text), "%s", text);
		snprintf(why->hint, sizeof(why->hint), "%s", hint);
		why->offset = -1;
	}
	return POL_DENY;
}

enum pol_verdict
pol_check_write_body(const void *buf, size_t len, struct pol_reason *why)
{
	struct pol_json	 j;
	struct wb	 w;
	const unsigned char *p = buf;
	size_t		 i;
	enum pol_json_rc rc;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			break;
	if (i == len)
		return POL_ALLOW;	/* no body */
	memset(&w, 0, sizeof(w));
	pol_json_init(&j, POL_JSON_DEPTH_MAX, wb_cb, &w);
	rc = pol_json_feed(&j, buf, len);
	if (rc == POL_JSON_OK)
		rc = pol_json_finish(&j);
	if (rc != POL_JSON_OK)
		return wb_deny(why, "write.body", "the body of this write is "
		    "not JSON the gate can read; it was not forwarded",
		    "npm sends JSON bodies; retry with a current npm client");
	if (w.att_seen > 1 || w.att_nonempty)
		return wb_deny(why, "write.attachments", "this write carries "
		    "a package (_attachments) on a route that is not a "
		    "publish; it was not forwarded",
		    "publish with `npm publish` (PUT /<name>), where the "
		    "tarball is inspected");
	return POL_ALLOW;
}
