/*
 * policy/gz.c: streaming gzip inflate with an output cap and a ratio cap.
 *
 * Owns the zlib inflate state of one attachment (or one bare .tgz):
 * exactly one gzip member, nothing before it and nothing after it.
 * Output goes to the caller's sink in chunks of at most POL_GZ_CHUNK
 * bytes, from g->out (valid for the sink call only).  Depends on zlib
 * only; never logs; the only memory besides struct pol_gz is zlib's own
 * window (about 40 KiB, allocated once by pol_gz_init()).
 *
 * Caps, judged before each chunk reaches the sink: max_out (the unpacked
 * limit) and max_ratio (output over input consumed, judged at every
 * POL_GZ_CHUNK of output past POL_GZ_RATIO_MIN_OUT, so that a gzip bomb
 * is refused within its first few MB whatever the input split).  Every
 * error is sticky; the caller still calls pol_gz_free().
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "policy-int.h"

/*
 * pol_gz_init() : 0, or -1 when zlib cannot allocate its state.  max_out
 * and max_ratio of 0 mean no cap.
 */
int
pol_gz_init(struct pol_gz *g, uint64_t max_out, uint32_t max_ratio)
{
	memset(g, 0, sizeof(*g));
	g->max_out = max_out;
	g->max_ratio = max_ratio;
	g->z.zalloc = Z_NULL;
	g->z.zfree = Z_NULL;
	g->z.opaque = Z_NULL;
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		g->rc = POL_GZ_ERR_INTERNAL;
		return -1;
	}
	g->inited = 1;
	return 0;
}

/* fail() : makes rc the sticky result and returns it. */
static enum pol_gz_rc
fail(struct pol_gz *g, enum pol_gz_rc rc)
{
	g->rc = rc;
	return rc;
}

/*
 * pol_gz_feed() : inflates len more bytes, calling sink with every chunk
 * of output.  Returns POL_GZ_OK (want more), POL_GZ_END (the member is
 * complete and no byte followed it) or a sticky error.  Input after the
 * end, including in a later call, is POL_GZ_ERR_DATA.
 */
enum pol_gz_rc
pol_gz_feed(struct pol_gz *g, const void *in, size_t len, pol_gz_sink sink,
    void *arg)
{
	const unsigned char *p = in;
	uInt slice, before;
	size_t have, room;
	int zr;

	if (g->rc != POL_GZ_OK)
		return g->rc;
	if (!g->inited)
		return fail(g, POL_GZ_ERR_INTERNAL);
	if (g->ended)
		return len == 0 ? POL_GZ_END : fail(g, POL_GZ_ERR_DATA);

	while (len > 0) {
		slice = len > UINT_MAX ? UINT_MAX : (uInt)len;
		g->z.next_in = (Bytef *)(uintptr_t)p;
		g->z.avail_in = slice;
		do {
			/*
			 * Output never crosses a multiple of POL_GZ_CHUNK
			 * within one call, and the ratio is judged only there,
			 * so the verdict does not depend on the input split.
			 */
			room = sizeof(g->out) -
			    (size_t)(g->out_total % sizeof(g->out));
			g->z.next_out = g->out;
			g->z.avail_out = (uInt)room;
			before = g->z.avail_in;
			zr = inflate(&g->z, Z_NO_FLUSH);
			g->in_total += before - g->z.avail_in;
			have = room - g->z.avail_out;
			if (zr == Z_MEM_ERROR)
				return fail(g, POL_GZ_ERR_INTERNAL);
			/*
			 * Output comes before the error of the same call, so
			 * that every split of the input gives the same sink
			 * calls and the same result.
			 */
			if (have > 0) {
				if (g->max_out != 0 &&
				    have > g->max_out - g->out_total)
					return fail(g, POL_GZ_ERR_LIMIT);
				g->out_total += have;
				if (g->max_ratio != 0 &&
				    g->out_total % sizeof(g->out) == 0 &&
				    g->out_total > POL_GZ_RATIO_MIN_OUT &&
				    g->in_total <= UINT64_MAX / g->max_ratio &&
				    g->out_total > g->in_total * g->max_ratio)
					return fail(g, POL_GZ_ERR_RATIO);
				if (sink != NULL && sink(arg, g->out, have) != 0)
					return fail(g, POL_GZ_ABORT);
			}
			/* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR. */
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return fail(g, POL_GZ_ERR_DATA);
			if (zr == Z_STREAM_END) {
				g->ended = 1;
				if (g->z.avail_in != 0 || len > slice)
					return fail(g, POL_GZ_ERR_DATA);
				g->rc = POL_GZ_OK;
				return POL_GZ_END;
			}
			if (zr == Z_BUF_ERROR)
				break;	/* no progress possible: needs input */
		} while (g->z.avail_in > 0 || g->z.avail_out == 0);
		p += slice;
		len -= slice;
	}
	g->z.next_in = Z_NULL;
	g->z.avail_in = 0;
	return POL_GZ_OK;
}

/* pol_gz_finish() : see policy-int.h; a sticky error is returned as is. */
enum pol_gz_rc
pol_gz_finish(struct pol_gz *g)
{
	if (g->rc != POL_GZ_OK)
		return g->rc;
	if (!g->ended)
		return fail(g, POL_GZ_ERR_DATA);
	return POL_GZ_END;
}

/* pol_gz_free() : releases zlib's state; safe to call twice. */
void
pol_gz_free(struct pol_gz *g)
{
	if (g == NULL)
		return;
	if (g->inited)
		(void)inflateEnd(&g->z);
	g->inited = 0;
}
