/*
 * policy/gz.c: streaming gzip inflate with an output cap and a ratio cap.
 *
 * Owns the inflate state of one attachment (or one bare .tgz): exactly
 * one gzip member, nothing before it and nothing after it.  Output goes
 * to the caller's sink in chunks of at most POL_GZ_CHUNK bytes, from
 * g->out (valid for the sink call only).  Never logs.
 *
 * Two engines behind one interface: ISA-L's igzip when the build found
 * it (POL_HAVE_ISAL; about three times zlib's speed, its state of about
 * 90 KiB is allocated once by pol_gz_init()), else zlib with
 * inflateInit2(16 + MAX_WBITS) (about 40 KiB of window).  Both parse the
 * gzip header and check the CRC-32 and length of the trailer; the unit
 * tests and the inflate fuzz target hold ISA-L to zlib's results.  Where
 * ISA-L differs, the fixed 10-byte gzip header is looked at first (it is
 * gathered in g->out, unused until output starts): reserved FLG bits are
 * refused as zlib does, and a member with a header CRC (FHCRC, which
 * ISA-L 2.30 checks wrongly when the header is split across calls) or
 * with an extra, name or comment field (which it fails to parse when
 * they are split across calls) is inflated by zlib.
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
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#ifdef POL_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include "policy-int.h"

/* Result of one engine step. */
enum step {
	STEP_OK,	/* progress made */
	STEP_NEED,	/* no progress possible without more input */
	STEP_END,	/* the member ended */
	STEP_DATA,	/* corrupt or not gzip */
	STEP_MEM,	/* out of memory */
};

#define GZ_HDR		10	/* fixed part of a gzip header */
#define GZ_FLG		3	/* its flag byte */
#define GZ_FHCRC	0x02
#define GZ_FTEXTS	0x1c	/* FEXTRA, FNAME, FCOMMENT */
#define GZ_FRESERVED	0xe0

/* zlib_init() : starts zlib's engine; 0 or -1. */
static int
zlib_init(struct pol_gz *g)
{
	g->z.zalloc = Z_NULL;
	g->z.zfree = Z_NULL;
	g->z.opaque = Z_NULL;
	return inflateInit2(&g->z, 16 + MAX_WBITS) == Z_OK ? 0 : -1;
}

/*
 * pol_gz_init() : 0, or -1 when the inflate state cannot be allocated.
 * max_out and max_ratio of 0 mean no cap.
 */
int
pol_gz_init(struct pol_gz *g, uint64_t max_out, uint32_t max_ratio)
{
	memset(g, 0, sizeof(*g));
	g->max_out = max_out;
	g->max_ratio = max_ratio;
#ifdef POL_HAVE_ISAL
	{
		struct inflate_state *st;

		if ((st = malloc(sizeof(*st))) == NULL) {
			g->rc = POL_GZ_ERR_INTERNAL;
			return -1;
		}
		isal_inflate_init(st);
		st->crc_flag = ISAL_GZIP;
		g->isal = st;
	}
#else
	if (zlib_init(g) != 0) {
		g->rc = POL_GZ_ERR_INTERNAL;
		return -1;
	}
#endif
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

static void
in_set(struct pol_gz *g, const unsigned char *p, uInt n)
{
#ifdef POL_HAVE_ISAL
	struct inflate_state *st = g->isal;

	if (st != NULL) {
		st->next_in = (uint8_t *)(uintptr_t)p;
		st->avail_in = n;
		return;
	}
#endif
	g->z.next_in = (Bytef *)(uintptr_t)p;
	g->z.avail_in = n;
}

static uInt
in_left(const struct pol_gz *g)
{
#ifdef POL_HAVE_ISAL
	const struct inflate_state *st = g->isal;

	if (st != NULL)
		return st->avail_in;
#endif
	return g->z.avail_in;
}

/* step() : inflates into g->out (room bytes); *have gets the output. */
static enum step
step(struct pol_gz *g, size_t room, size_t *have)
{
	int zr;
#ifdef POL_HAVE_ISAL
	struct inflate_state *st = g->isal;

	if (st != NULL) {
		uInt before = st->avail_in;

		st->next_out = g->out;
		st->avail_out = (uint32_t)room;
		zr = isal_inflate(st);
		*have = room - st->avail_out;
		if (zr != ISAL_DECOMP_OK)
			return STEP_DATA;	/* any other code: an error */
		if (st->block_state == ISAL_BLOCK_FINISH)
			return STEP_END;
		if (*have == 0 && st->avail_in == before)
			return STEP_NEED;
		return STEP_OK;
	}
#endif
	g->z.next_out = g->out;
	g->z.avail_out = (uInt)room;
	zr = inflate(&g->z, Z_NO_FLUSH);
	*have = room - g->z.avail_out;
	switch (zr) {
	case Z_OK:
		return STEP_OK;
	case Z_STREAM_END:
		return STEP_END;
	case Z_BUF_ERROR:
		return STEP_NEED;
	case Z_MEM_ERROR:
		return STEP_MEM;
	default:
		/* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR. */
		return STEP_DATA;
	}
}

/*
 * run() : inflates len bytes with the engine, calling sink with every
 * chunk of output.  Returns POL_GZ_OK, POL_GZ_END or a sticky error.
 */
static enum pol_gz_rc
run(struct pol_gz *g, const unsigned char *p, size_t len, pol_gz_sink sink,
    void *arg)
{
	uInt slice, before;
	size_t have, room;
	enum step st;

	while (len > 0) {
		slice = len > UINT_MAX ? UINT_MAX : (uInt)len;
		in_set(g, p, slice);
		do {
			/*
			 * Output never crosses a multiple of POL_GZ_CHUNK
			 * within one step, and the ratio is judged only there,
			 * so the verdict does not depend on the input split.
			 */
			room = sizeof(g->out) -
			    (size_t)(g->out_total % sizeof(g->out));
			before = in_left(g);
			st = step(g, room, &have);
			g->in_total += before - in_left(g);
			if (st == STEP_MEM)
				return fail(g, POL_GZ_ERR_INTERNAL);
			/*
			 * Output comes before the error of the same step, so
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
				if (sink != NULL &&
				    sink(arg, g->out, have) != 0)
					return fail(g, POL_GZ_ABORT);
			}
			if (st == STEP_DATA)
				return fail(g, POL_GZ_ERR_DATA);
			if (st == STEP_END) {
				g->ended = 1;
				if (in_left(g) != 0 || len > slice)
					return fail(g, POL_GZ_ERR_DATA);
				return POL_GZ_END;
			}
			if (st == STEP_NEED) {
				/* An engine that stalls with input left. */
				if (in_left(g) != 0)
					return fail(g, POL_GZ_ERR_INTERNAL);
				break;
			}
		} while (in_left(g) > 0 || have == room);
		p += slice;
		len -= slice;
	}
	in_set(g, NULL, 0);
	return POL_GZ_OK;
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
	unsigned char hdr[GZ_HDR];
	enum pol_gz_rc rc;
	size_t n;

	if (g->rc != POL_GZ_OK)
		return g->rc;
	if (!g->inited)
		return fail(g, POL_GZ_ERR_INTERNAL);
	if (g->ended)
		return len == 0 ? POL_GZ_END : fail(g, POL_GZ_ERR_DATA);

	/* With ISA-L, gather the fixed header first (see the top). */
	if (g->isal != NULL && g->in_total < GZ_HDR && len > 0) {
		n = GZ_HDR - (size_t)g->in_total;
		if (n > len)
			n = len;
		memcpy(g->out + g->in_total, p, n);
		g->in_total += n;
		p += n;
		len -= n;
		if (g->in_total < GZ_HDR)
			return POL_GZ_OK;
		memcpy(hdr, g->out, GZ_HDR);
		if (hdr[GZ_FLG] & GZ_FRESERVED)
			return fail(g, POL_GZ_ERR_DATA);
		if (hdr[GZ_FLG] & (GZ_FHCRC | GZ_FTEXTS)) {
			free(g->isal);
			g->isal = NULL;
			if (zlib_init(g) != 0)
				return fail(g, POL_GZ_ERR_INTERNAL);
		}
		/* run() counts these bytes again. */
		g->in_total = 0;
		rc = run(g, hdr, GZ_HDR, sink, arg);
		if (rc == POL_GZ_END && len > 0)
			return fail(g, POL_GZ_ERR_DATA);
		if (rc != POL_GZ_OK)
			return rc;
	}
	return run(g, p, len, sink, arg);
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

/*
 * pol_gz_free() : releases the inflate state; safe to call twice and on
 * a zeroed struct.
 */
void
pol_gz_free(struct pol_gz *g)
{
	if (g == NULL)
		return;
	if (g->z.state != NULL)
		(void)inflateEnd(&g->z);
	free(g->isal);
	g->isal = NULL;
	g->inited = 0;
}
