/*
 * bench/lib/gzbench.c: gzip costs of pubgate's packument re-compression
 * (issue 9).  For each file given, compresses it as one gzip stream, fed
 * and drained in 16 KiB pieces as proxy/core/fwd.c does, with zlib at
 * levels 6 and 1 and ISA-L's isal_deflate at levels 1, 2 and 3, then
 * inflates zlib's level-6 output with zlib and with isal_inflate.  Prints
 * MB/s (of the plain bytes) and the output size against zlib level 6.
 *
 *	cc -O2 -o gzbench gzbench.c -lz -lisal
 *	gzbench [-t SECONDS] FILE...
 */

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <isa-l/igzip_lib.h>
#include <zlib.h>

#define PIECE	16384

static unsigned char	*out;
static size_t		 outcap;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
z_deflate(const unsigned char *in, size_t n, int level)
{
	z_stream	z;
	size_t		off = 0, piece;
	int		flush, r;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		errx(1, "deflateInit2");
	z.next_out = out;
	do {
		piece = n - off > PIECE ? PIECE : n - off;
		z.next_in = (unsigned char *)in + off;
		z.avail_in = piece;
		off += piece;
		flush = off == n ? Z_FINISH : Z_NO_FLUSH;
		do {
			z.avail_out = PIECE;
			r = deflate(&z, flush);
			if (r == Z_STREAM_ERROR)
				errx(1, "deflate");
		} while (z.avail_out == 0 || z.avail_in > 0 ||
		    (flush == Z_FINISH && r != Z_STREAM_END));
	} while (off < n);
	deflateEnd(&z);
	return z.total_out;
}

static size_t
i_deflate(const unsigned char *in, size_t n, int level)
{
	static const uint32_t	 lb[] = { 0, ISAL_DEF_LVL1_DEFAULT,
	    ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT };
	struct isal_zstream	 s;
	unsigned char		*buf;
	size_t			 off = 0, piece;

	if ((buf = malloc(lb[level])) == NULL)
		err(1, NULL);
	isal_deflate_init(&s);
	s.level = level;
	s.level_buf = buf;
	s.level_buf_size = lb[level];
	s.gzip_flag = IGZIP_GZIP;
	s.next_out = out;
	do {
		piece = n - off > PIECE ? PIECE : n - off;
		s.next_in = (unsigned char *)in + off;
		s.avail_in = piece;
		off += piece;
		s.end_of_stream = off == n;
		s.flush = NO_FLUSH;
		do {
			s.avail_out = PIECE;
			if (isal_deflate(&s) != COMP_OK)
				errx(1, "isal_deflate");
		} while (s.avail_out == 0 || s.avail_in > 0 ||
		    (s.end_of_stream && s.internal_state.state !=
		    ZSTATE_END));
	} while (off < n);
	free(buf);
	return s.total_out;
}

static size_t
z_inflate(const unsigned char *in, size_t n, unsigned char *dst)
{
	z_stream	z;
	int		r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		errx(1, "inflateInit2");
	z.next_in = (unsigned char *)in;
	z.avail_in = n;
	z.next_out = dst;
	do {
		z.avail_out = PIECE;
		r = inflate(&z, Z_NO_FLUSH);
	} while (r == Z_OK);
	if (r != Z_STREAM_END)
		errx(1, "inflate %d", r);
	inflateEnd(&z);
	return z.total_out;
}

static size_t
i_inflate(const unsigned char *in, size_t n, unsigned char *dst)
{
	static struct inflate_state	s;
	int				r;

	isal_inflate_init(&s);
	s.crc_flag = ISAL_GZIP;
	s.next_in = (unsigned char *)in;
	s.avail_in = n;
	s.next_out = dst;
	do {
		s.avail_out = PIECE;
		if ((r = isal_inflate(&s)) != ISAL_DECOMP_OK)
			errx(1, "isal_inflate %d", r);
	} while (s.block_state != ISAL_BLOCK_FINISH);
	return s.total_out;
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char	*name;
		int		 isal, level;
	} how[] = { { "zlib 6", 0, 6 }, { "zlib 1", 0, 1 },
	    { "isal 1", 1, 1 }, { "isal 2", 1, 2 }, { "isal 3", 1, 3 } };
	double		 secs = 2, t0, t;
	unsigned char	*in, *gz, *plain;
	size_t		 n, gzn, z6 = 0, sz, i;
	long		 reps;
	FILE		*f;
	int		 c, a;

	while ((c = getopt(argc, argv, "t:")) != -1)
		if (c == 't')
			secs = atof(optarg);
		else
			errx(2, "usage: gzbench [-t SECONDS] FILE...");
	for (a = optind; a < argc; a++) {
		if ((f = fopen(argv[a], "rb")) == NULL)
			err(1, "%s", argv[a]);
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		if ((in = malloc(n)) == NULL || fread(in, 1, n, f) != n)
			err(1, "%s", argv[a]);
		fclose(f);
		outcap = compressBound(n) + 2 * PIECE + 1024;
		if ((out = malloc(outcap)) == NULL ||
		    (gz = malloc(outcap)) == NULL ||
		    (plain = malloc(n + PIECE)) == NULL)
			err(1, NULL);
		printf("%s: %zu bytes\n", argv[a], n);
		printf("  %-16s %10s %10s %8s\n", "deflate", "MB/s", "bytes",
		    "vs z6");
		for (i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
			t0 = now();
			reps = 0;
			do {
				sz = how[i].isal ? i_deflate(in, n,
				    how[i].level) : z_deflate(in, n,
				    how[i].level);
				reps++;
			} while ((t = now() - t0) < secs);
			if (i == 0) {
				z6 = sz;
				memcpy(gz, out, sz);
				gzn = sz;
			}
			/* every output must give the input back */
			if (z_inflate(out, sz, plain) != n ||
			    memcmp(plain, in, n) != 0)
				errx(1, "%s: round trip differs", how[i].name);
			printf("  %-16s %10.1f %10zu %7.1f%%\n", how[i].name,
			    n * reps / t / 1e6, sz, 100.0 * sz / z6);
		}
		printf("  %-16s %10s\n", "inflate z6 out", "MB/s");
		for (i = 0; i < 2; i++) {
			t0 = now();
			reps = 0;
			do {
				sz = i ? i_inflate(gz, gzn, plain) :
				    z_inflate(gz, gzn, plain);
				reps++;
			} while ((t = now() - t0) < secs);
			if (sz != n || memcmp(plain, in, n) != 0)
				errx(1, "inflate differs");
			printf("  %-16s %10.1f\n", i ? "isal_inflate" :
			    "zlib inflate", n * reps / t / 1e6);
		}
		free(in);
		free(out);
		free(gz);
		free(plain);
	}
	return 0;
}
