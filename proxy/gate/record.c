/*
 * proxy/gate/record.c: what the gate adds to a decision record besides
 * the verdict (issue 10): the publish's file list (the engine's on_file
 * callback, every regular file of the tarball with its size and SHA-256,
 * kept up to PX_STORE_FILES_MAX files and PX_FILES_PATH_BYTES of names,
 * the rest counted), the path the request came by (reverse, or egress
 * with its CONNECT target), the policy that judged it (SHA-256 of its
 * text, its name and revision), the npm user name whoami.c knows for the
 * token's fingerprint, a dist-tag write's new value, and the webhooks
 * the decision alerts (the outbox rows written in its transaction).
 *
 * The list belongs to the conn (conn->files) and is freed by
 * px_spool_reset().  Never logs a path or a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "store.h"
#include "proxy-int.h"

struct px_filelist {
	struct px_store_file	*ents;
	size_t			 n, cap;
	size_t			 path_bytes;
	uint64_t		 total;		/* every file seen */
};

void
px_record_files_free(struct px_conn *conn)
{
	struct px_filelist	*fl = conn->files;
	size_t			 i;

	if (fl == NULL)
		return;
	for (i = 0; i < fl->n; i++)
		free((char *)fl->ents[i].path);
	free(fl->ents);
	free(fl);
	conn->files = NULL;
}

int
px_record_files_begin(struct px_conn *conn)
{
	px_record_files_free(conn);
	if ((conn->files = calloc(1, sizeof(*conn->files))) == NULL)
		return -1;
	return 0;
}

/*
 * px_record_on_file() : the engine's pol_file_fn: one file of the
 * tarball.  Past a cap (or out of memory) the file is only counted, so
 * the record says the list is incomplete.
 */
void
px_record_on_file(void *arg, const char *path, uint64_t size,
    const unsigned char sha256[32])
{
	struct px_conn		*conn = arg;
	struct px_filelist	*fl = conn->files;
	struct px_store_file	*e;
	size_t			 plen, ncap;
	char			*p;

	if (fl == NULL)
		return;
	fl->total++;
	plen = strlen(path);
	if (fl->n >= PX_STORE_FILES_MAX ||
	    fl->path_bytes + plen > PX_FILES_PATH_BYTES)
		return;
	if (fl->n == fl->cap) {
		ncap = fl->cap == 0 ? 64 : fl->cap * 2;
		if (ncap > PX_STORE_FILES_MAX)
			ncap = PX_STORE_FILES_MAX;
		if ((e = reallocarray(fl->ents, ncap, sizeof(*e))) == NULL)
			return;
		fl->ents = e;
		fl->cap = ncap;
	}
	if ((p = malloc(plen + 1)) == NULL)
		return;
	memcpy(p, path, plen + 1);
	e = &fl->ents[fl->n++];
	e->path = p;
	e->size = size;
	memcpy(e->sha256, sha256, 32);
	fl->path_bytes += plen;
}

/*
 * tag_value() : a dist-tag PUT's body is a JSON string (the version the
 * tag is to point at): its inside, if it is a plain one, into out.
 */
static void
tag_value(struct px_conn *conn, char *out, size_t outlen)
{
	size_t		 n, i, o = 0;
	const char	*p;

	out[0] = '\0';
	if (conn->wbody == NULL || conn->method != HTTP_PUT)
		return;
	n = evbuffer_get_length(conn->wbody);
	if (n < 2 || n > 256 ||
	    (p = (const char *)evbuffer_pullup(conn->wbody, -1)) == NULL)
		return;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\n' ||
	    p[n - 1] == '\r' || p[n - 1] == '\t'))
		n--;
	while (n > 0 && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
		p++;
		n--;
	}
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return;
	for (i = 1; i < n - 1 && o < outlen - 1; i++) {
		/* A version never needs an escape: refuse to guess one. */
		if (p[i] == '\\' || p[i] == '"' || (unsigned char)p[i] < 0x20)
			return;
		out[o++] = p[i];
	}
	out[o] = '\0';
}

/* tag_name() : the <tag> of /-/package/<name>/dist-tags/<tag>. */
static void
tag_name(struct px_conn *conn, char *out, size_t outlen)
{
	const char	*url, *q, *s;
	size_t		 len;

	out[0] = '\0';
	url = conn->req.buf + conn->req.url;
	len = conn->req.url_len;
	if ((q = memchr(url, '?', len)) != NULL)
		len = (size_t)(q - url);
	for (s = url + len; s > url && s[-1] != '/'; s--)
		;
	if (s == url || (size_t)(url + len - s) >= outlen)
		return;
	if ((size_t)(s - url) < 11 || memcmp(s - 11, "/dist-tags/", 11) != 0)
		return;
	memcpy(out, s, (size_t)(url + len - s));
	out[url + len - s] = '\0';
}

static const struct px_store_file no_files;

void
px_record_outbox(const struct px_cfg *cfg, unsigned event, char *out,
    size_t outlen)
{
	size_t	i, len = 0, n;

	out[0] = '\0';
	for (i = 0; i < cfg->nhooks && event != 0; i++) {
		if ((cfg->hooks[i].events & event) == 0)
			continue;
		n = strlen(cfg->hooks[i].name);
		if (len + (len > 0) + n + 1 > outlen)
			break;	/* cannot happen: sized for every name */
		if (len > 0)
			out[len++] = '\n';
		memcpy(out + len, cfg->hooks[i].name, n + 1);
		len += n;
	}
}

void
px_record_fill(struct px_conn *conn, struct px_store_rec *rec,
    struct px_record_bufs *b)
{
	const struct pol_policy		*pol;
	const struct px_egress_up	*eu = conn->eg_up;
	struct px_filelist		*fl = conn->files;

	pol = conn->policy != NULL ? conn->policy : conn->ctx->policy;
	rec->policy_sha256 = pol_policy_sha256(pol);
	rec->policy_name = pol_policy_name(pol);
	rec->policy_revision = pol_policy_revision(pol);
	rec->path = eu != NULL ? "egress" : "reverse";
	b->target[0] = '\0';
	if (eu != NULL)
		snprintf(b->target, sizeof(b->target), "%s:%s", eu->u.host,
		    eu->u.port[0] != '\0' ? eu->u.port : "443");
	rec->connect_target = b->target;
	rec->user = conn->user;
	if (strcmp(conn->kind, "dist-tag") == 0) {
		tag_name(conn, b->tag, sizeof(b->tag));
		tag_value(conn, b->tag_new, sizeof(b->tag_new));
		if (rec->tag == NULL || rec->tag[0] == '\0')
			rec->tag = b->tag;
		rec->tag_new = b->tag_new;
	}
	/* The alerts this decision raises, committed with it. */
	b->outbox[0] = '\0';
	if (conn->ctx->cfg == NULL)
		;	/* unit tests */
	else if (rec->verdict == POL_DENY)
		px_record_outbox(conn->ctx->cfg, PX_HOOK_EV_BLOCK, b->outbox,
		    sizeof(b->outbox));
	else if (rec->report != NULL && rec->report->monitor)
		px_record_outbox(conn->ctx->cfg, PX_HOOK_EV_MONITOR, b->outbox,
		    sizeof(b->outbox));
	rec->outbox = b->outbox;
	if (fl != NULL && rec->report != NULL) {
		rec->files = fl->ents != NULL ? fl->ents : &no_files;
		rec->nfiles = fl->n;
		rec->files_total = fl->total;
	}
}
