/*
 * proxy/core/gzs.c: the gzip streams of a packument whose tarball URLs
 * fwd.c rewrites: one inflating the upstream's gzip body (members one
 * after another), one deflating the rewritten bytes into one gzip stream
 * for the client.
 *
 * Built with ISA-L (PX_HAVE_ISAL), both are ISA-L's: isal_inflate
 * (checks the gzip header and the CRC32/ISIZE trailer) and isal_deflate
 * at level PX_GZ_LEVEL with IGZIP_GZIP (writes header and trailer).  On
 * bench/gzip's 10 MB typescript-like packument, level 3 deflates 3x as
 * fast as zlib's level 6 for 6 % more bytes and isal_inflate is 2.8x
 * zlib's inflate (bench/README).  Without ISA-L, zlib at level
 * PX_GZ_ZLIB_LEVEL.  Memory per stream is fixed at creation (about 230 KB
 * to deflate, 90 KB to inflate), whatever the body's size or ratio.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef PX_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "gzs.h"

struct px_gzs {
	int			 deflating;
#ifdef PX_HAVE_ISAL
	unsigned char		*level_buf;	/* deflating */
	union {
		struct inflate_state	in;
		struct isal_zstream	out;
	};
#else
	z_stream		 z;
#endif
};

#ifdef PX_HAVE_ISAL
#define LEVEL_BUF	ISAL_DEF_LVL3_SMALL	/* bigger gains nothing here */
#endif

struct px_gzs *
px_gzs_inflater(void)
{
	struct px_gzs	*g;

#ifdef PX_HAVE_ISAL
	if ((g = malloc(sizeof(*g))) == NULL)
		return NULL;
	g->deflating = 0;
	g->level_buf = NULL;
	isal_inflate_init(&g->in);
	g->in.crc_flag = ISAL_GZIP;
#else
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g);
		return NULL;
	}
#endif
	return g;
}

struct px_gzs *
px_gzs_deflater(void)
{
	struct px_gzs	*g;

	if ((g = malloc(sizeof(*g))) == NULL)
		return NULL;
	g->deflating = 1;
#ifdef PX_HAVE_ISAL
	if ((g->level_buf = malloc(LEVEL_BUF)) == NULL) {
		free(g);
		return NULL;
	}
	isal_deflate_init(&g->out);
	g->out.level = PX_GZ_LEVEL;
	g->out.level_buf = g->level_buf;
	g->out.level_buf_size = LEVEL_BUF;
	g->out.gzip_flag = IGZIP_GZIP;
	g->out.flush = NO_FLUSH;
#else
	memset(&g->z, 0, sizeof(g->z));
	if (deflateInit2(&g->z, PX_GZ_ZLIB_LEVEL, Z_DEFLATED, 16 + MAX_WBITS,
	    8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(g);
		return NULL;
	}
#endif
	return g;
}

void
px_gzs_free(struct px_gzs *g)
{
	if (g == NULL)
		return;
#ifdef PX_HAVE_ISAL
	if (g->deflating)
		free(g->level_buf);
#else
	if (g->deflating)
		deflateEnd(&g->z);
	else
		inflateEnd(&g->z);
#endif
	free(g);
}

int
px_gzs_reset(struct px_gzs *g)
{
#ifdef PX_HAVE_ISAL
	isal_inflate_init(&g->in);
	g->in.crc_flag = ISAL_GZIP;
	return 0;
#else
	return inflateReset(&g->z) == Z_OK ? 0 : -1;
#endif
}

int
px_gzs_run(struct px_gzs *g, const unsigned char **in, size_t *inlen,
    unsigned char *out, size_t *outlen, int fin)
{
	uint32_t	 inn = *inlen > UINT32_MAX ? UINT32_MAX : *inlen;
	uint32_t	 outn = *outlen > UINT32_MAX ? UINT32_MAX : *outlen;
	int		 r, end;

#ifdef PX_HAVE_ISAL
	if (g->deflating) {
		struct isal_zstream *s = &g->out;

		s->next_in = (uint8_t *)(uintptr_t)*in;
		s->avail_in = inn;
		s->next_out = out;
		s->avail_out = outn;
		s->end_of_stream = fin != 0;
		r = isal_deflate(s) == COMP_OK ? 0 : -1;
		end = s->internal_state.state == ZSTATE_END;
		inn -= s->avail_in;
		outn -= s->avail_out;
	} else {
		struct inflate_state *s = &g->in;

		s->next_in = (uint8_t *)(uintptr_t)*in;
		s->avail_in = inn;
		s->next_out = out;
		s->avail_out = outn;
		/* Any code but OK: corrupt, a bad CRC, a header too odd. */
		r = isal_inflate(s) == ISAL_DECOMP_OK ? 0 : -1;
		end = s->block_state == ISAL_BLOCK_FINISH;
		inn -= s->avail_in;
		outn -= s->avail_out;
	}
#else
	g->z.next_in = (Bytef *)(uintptr_t)*in;
	g->z.avail_in = inn;
	g->z.next_out = out;
	g->z.avail_out = outn;
	if (g->deflating)
		r = deflate(&g->z, fin ? Z_FINISH : Z_NO_FLUSH);
	else
		r = inflate(&g->z, Z_NO_FLUSH);
	end = r == Z_STREAM_END;
	r = r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR ? 0 : -1;
	inn -= g->z.avail_in;
	outn -= g->z.avail_out;
#endif
	*in += inn;
	*inlen -= inn;
	*outlen = outn;
	if (r == -1)
		return -1;
	return end ? 1 : 0;
}
