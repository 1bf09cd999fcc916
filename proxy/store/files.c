/*
 * proxy/store/files.c: the parts of a decision record that say what was
 * published, by whom, by which path and under which policy (issue 10),
 * shared by both backends: the stored form of a tarball's file list (one
 * "<sha256 hex> <size> <path>" line per file, the path's '%', control
 * bytes and DEL written %XX, so any tar name survives a TEXT column), its
 * reading back, and those fields' JSON.  Never logs; never sees a token.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "store.h"
#include "store-int.h"

int
px_store_buf_files(struct px_store_buf *b, const char *text, size_t len)
{
	char	*n;

	if (text == NULL)
		len = 0;
	if (b->files == NULL || b->files_cap < len + 1) {
		if ((n = realloc(b->files, len + 1)) == NULL) {
			if (b->files != NULL)
				b->files[0] = '\0';
			b->row.files = b->files != NULL ? b->files : "";
			return -1;
		}
		b->files = n;
		b->files_cap = len + 1;
	}
	if (len > 0)
		memcpy(b->files, text, len);
	b->files[len] = '\0';
	b->row.files = b->files;
	return 0;
}

void
px_store_buf_free(struct px_store_buf *b)
{
	free(b->files);
	b->files = NULL;
	b->files_cap = 0;
	b->row.files = "";
}

/* path_put() : p with '%', control bytes and DEL as %XX. */
static void
path_put(FILE *m, const char *p)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s = (const unsigned char *)p;

	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f || *s == '%') {
			putc('%', m);
			putc(hex[*s >> 4], m);
			putc(hex[*s & 0xf], m);
		} else
			putc(*s, m);
	}
}

void
px_store_files_encode(struct px_store_buf *b, const struct px_store_rec *rec)
{
	struct px_store_row	*r = &b->row;
	FILE			*m;
	char			*text = NULL, sha[65];
	size_t			 len = 0, keep = 0, i;
	long			 mark;
	int			 cut = 0;

	r->files_listed = -1;
	r->files_total = 0;
	(void)px_store_buf_files(b, NULL, 0);
	if (rec->files == NULL)
		return;
	r->files_total = (int64_t)(rec->files_total > rec->nfiles ?
	    rec->files_total : rec->nfiles);
	if ((m = open_memstream(&text, &len)) == NULL)
		return;
	for (i = 0; i < rec->nfiles && i < PX_STORE_FILES_MAX; i++) {
		px_hex(rec->files[i].sha256, 32, sha);
		mark = ftell(m);
		fprintf(m, "%s %" PRIu64 " ", sha, rec->files[i].size);
		path_put(m, rec->files[i].path != NULL ?
		    rec->files[i].path : "");
		putc('\n', m);
		if (ftell(m) > PX_STORE_FILES_TEXT_MAX) {
			/* Over the byte cap: this file and the rest unlisted. */
			keep = (size_t)mark;
			cut = 1;
			break;
		}
	}
	if (fclose(m) != 0) {
		free(text);
		return;
	}
	if (cut)
		len = keep;
	if (px_store_buf_files(b, text, len) == 0)
		r->files_listed = (int64_t)i;
	free(text);
}

int
px_store_files_next(const char **cur, struct px_store_file_row *f)
{
	const char	*s, *e, *p;
	size_t		 o;
	char		*end;

	for (s = *cur; s != NULL && *s != '\0'; s = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(s, '\n')) == NULL)
			e = s + strlen(s);
		*cur = *e != '\0' ? e + 1 : e;
		if (e - s < 67 || s[64] != ' ' ||
		    strspn(s, "0123456789abcdef") != 64)
			continue;
		memcpy(f->sha256, s, 64);
		f->sha256[64] = '\0';
		if (s[65] < '0' || s[65] > '9')
			continue;
		f->size = strtoull(s + 65, &end, 10);
		if (*end != ' ' || end >= e)
			continue;
		for (p = end + 1, o = 0; p < e && o < sizeof(f->path) - 1;
		    p++) {
			if (*p == '%' && p + 2 < e &&
			    px_store_hexval(p[1]) >= 0 &&
			    px_store_hexval(p[2]) >= 0) {
				f->path[o++] = (char)(px_store_hexval(p[1]) *
				    16 + px_store_hexval(p[2]));
				p += 2;
			} else
				f->path[o++] = *p;
		}
		f->path[o] = '\0';
		return 1;
	}
	if (s != NULL)
		*cur = s;
	return 0;
}

void
px_store_row_json_more(const struct px_store_row *r, FILE *f)
{
	struct px_store_file_row	*fr;
	const char			*cur;
	int				 n = 0;

#define KV(k, v)	do {						\
		fputs(",\"" k "\":", f);				\
		px_store_json_str(f, (v) != NULL ? (v) : "");		\
	} while (0)
	KV("user", r->user);
	KV("path", r->path);
	KV("connect_target", r->connect_target);
	KV("policy_sha256", r->policy_sha256);
	KV("policy_name", r->policy_name);
	KV("policy_revision", r->policy_revision);
	KV("tag_old", r->tag_old);
	KV("tag_new", r->tag_new);
#undef KV
	fprintf(f, ",\"files_listed\":%" PRId64 ",\"files_total\":%" PRId64,
	    r->files_listed, r->files_total);
	if (r->files == NULL || r->files[0] == '\0')
		return;
	if ((fr = malloc(sizeof(*fr))) == NULL)
		return;
	fputs(",\"files\":[", f);
	cur = r->files;
	while (px_store_files_next(&cur, fr)) {
		fputs(n++ > 0 ? ",{\"path\":" : "{\"path\":", f);
		px_store_json_str(f, fr->path);
		fprintf(f, ",\"size\":%" PRIu64 ",\"sha256\":\"%s\"}",
		    fr->size, fr->sha256);
	}
	putc(']', f);
	free(fr);
}
