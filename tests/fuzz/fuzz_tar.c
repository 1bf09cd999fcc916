/*
 * tests/fuzz/fuzz_tar.c: libFuzzer target for the tar walker
 * (policy/tar.c).
 *
 * Input: byte 0 picks a callback that aborts (bits 0-1: none, begin,
 * data, end; bits 2-6: at which entry; data aborts at the first chunk
 * of that entry) and, with bit 7, has the checksum of every 512-byte
 * block with ustar magic fixed first (so that mutations get past it);
 * byte 1 picks the chunk boundaries; the
 * rest is the tar data.  It is walked in one feed and again in chunks;
 * both runs must give the same rc, error text, entries and data bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"
#include "split.h"

struct run {
	uint64_t	 h;
	int		 in;
	int		 first;		/* no data call yet in this entry */
	int		 abort_cb;	/* 0 none, 1 begin, 2 data, 3 end */
	unsigned	 abort_at;
	unsigned	 calls;
};

static int
hit(struct run *r, int which)
{
	return r->abort_cb == which && ++r->calls == r->abort_at;
}

static int
cb_begin(void *arg, const struct pol_tar_entry *e)
{
	struct run *r = arg;
	unsigned char t[2];
	uint64_t v[2];

	FZ_CHECK(!r->in);
	FZ_CHECK(strlen(e->path) > 0 && strlen(e->path) <= POL_TAR_PATH_MAX);
	FZ_CHECK(strlen(e->link) <= POL_TAR_PATH_MAX);
	FZ_CHECK(e->type >= POL_TAR_FILE && e->type <= POL_TAR_OTHER);
	r->in = 1;
	r->first = 1;
	t[0] = 'B';
	t[1] = (unsigned char)e->typeflag;
	v[0] = e->size;
	v[1] = e->mode;
	r->h = fz_hash(r->h, t, 2);
	r->h = fz_hash(r->h, v, sizeof(v));
	r->h = fz_hash(r->h, e->path, strlen(e->path) + 1);
	r->h = fz_hash(r->h, e->link, strlen(e->link) + 1);
	return hit(r, 1);
}

static int
cb_data(void *arg, const unsigned char *b, size_t n)
{
	struct run *r = arg;

	FZ_CHECK(r->in && n > 0);
	/* Chunks differ by split: only the first of an entry may abort. */
	if (r->first) {
		r->first = 0;
		if (hit(r, 2))
			return 1;
	}
	r->h = fz_hash(r->h, b, n);
	return 0;
}

static int
cb_end(void *arg)
{
	struct run *r = arg;

	FZ_CHECK(r->in);
	r->in = 0;
	r->h = fz_hash(r->h, "E", 1);
	return hit(r, 3);
}

static const struct pol_tar_cb cbs = { cb_begin, cb_data, cb_end };

/* walk() : one run; sp NULL means one feed.  Returns the final rc. */
static enum pol_tar_rc
walk(const uint8_t *d, size_t len, struct fz_split *sp, struct run *r,
    struct pol_tar *t)
{
	enum pol_tar_rc rc = POL_TAR_OK;
	size_t off = 0, n;

	pol_tar_init(t, &cbs, r);
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		rc = pol_tar_feed(t, d + off, n);
		off += n;
		if (rc != POL_TAR_OK && rc != POL_TAR_END)
			break;
	}
	if (rc == POL_TAR_OK || rc == POL_TAR_END)
		rc = pol_tar_finish(t);
	FZ_CHECK(rc == POL_TAR_END || t->err != NULL);
	FZ_CHECK(pol_tar_finish(t) == rc);
	pol_tar_free(t);
	pol_tar_free(t);
	return rc;
}

/* fix_sums() : rewrites the checksum of each block with ustar magic. */
static void
fix_sums(uint8_t *d, size_t len)
{
	unsigned long sum;
	size_t off, i;

	for (off = 0; off + 512 <= len; off += 512) {
		if (memcmp(d + off + 257, "ustar", 5) != 0)
			continue;
		memset(d + off + 148, ' ', 8);
		for (sum = 0, i = 0; i < 512; i++)
			sum += d[off + i];
		snprintf((char *)d + off + 148, 8, "%06lo", sum & 0777777);
	}
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_tar t1, t2;
	struct run r1, r2;
	struct fz_split sp;
	enum pol_tar_rc rc1, rc2;
	uint8_t *d;

	if (size < 2)
		return 0;
	memset(&r1, 0, sizeof(r1));
	r1.h = FZ_HASH_INIT;
	r1.abort_cb = data[0] & 3;
	r1.abort_at = 1 + ((data[0] >> 2) & 0x1f);
	r2 = r1;
	fz_split_init(&sp, data[1]);
	d = malloc(size - 2 + 1);
	FZ_CHECK(d != NULL);
	memcpy(d, data + 2, size - 2);
	if (data[0] & 0x80)
		fix_sums(d, size - 2);

	rc1 = walk(d, size - 2, NULL, &r1, &t1);
	rc2 = walk(d, size - 2, &sp, &r2, &t2);
	free(d);
	FZ_CHECK(rc1 == rc2);
	FZ_CHECK(r1.h == r2.h);
	FZ_CHECK(t1.entries == t2.entries);
	if (rc1 != POL_TAR_END)
		FZ_CHECK(strcmp(t1.err, t2.err) == 0);
	else
		FZ_CHECK(!r1.in);
	return 0;
}
