/*
 * bench/lib/inflate-ref.c: reference costs of the pipeline's library
 * stages on one .tgz, in C, the way policy/ calls them: streaming gzip
 * inflate into a 64 KiB output buffer fed 256 KiB at a time, with zlib
 * (inflateInit2(16 + MAX_WBITS)) and, when built with -DHAVE_ISAL, ISA-L
 * (isal_inflate, ISAL_GZIP: header parsed and CRC checked); SHA-512 + SHA-1
 * of the compressed bytes with libcrypto EVP.  Not part of pubgate: built by
 * bench/inspect into its workdir.
 *
 *   cc -O2 -DHAVE_ISAL inflate-ref.c -o inflate-ref -lz -lisal -lcrypto
 *   inflate-ref FILE.tgz [runs]
 *
 * Prints one line per stage: name, median CPU seconds of this thread (so
 * other work on the machine does not count), MB/s in, MB/s out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <zlib.h>
#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#define OUT_CHUNK	(64u << 10)
#define IN_CHUNK	(256u << 10)

static unsigned char	 outbuf[OUT_CHUNK];

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
run_zlib(const unsigned char *in, size_t len)
{
	z_stream	 z;
	size_t		 off = 0, out = 0;
	int		 rc = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return 0;
	while (rc != Z_STREAM_END && off < len) {
		size_t	 n = len - off < IN_CHUNK ? len - off : IN_CHUNK;

		z.next_in = (unsigned char *)in + off;
		z.avail_in = n;
		do {
			z.next_out = outbuf;
			z.avail_out = OUT_CHUNK;
			rc = inflate(&z, Z_NO_FLUSH);
			if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
				inflateEnd(&z);
				return 0;
			}
			out += OUT_CHUNK - z.avail_out;
		} while (z.avail_out == 0 && rc != Z_STREAM_END);
		off += n - z.avail_in;
	}
	inflateEnd(&z);
	return rc == Z_STREAM_END ? out : 0;
}

#ifdef HAVE_ISAL
static size_t
run_isal(const unsigned char *in, size_t len)
{
	static struct inflate_state	 st;
	size_t				 off = 0, out = 0;
	int				 rc;

	isal_inflate_init(&st);
	st.crc_flag = ISAL_GZIP;
	while (st.block_state != ISAL_BLOCK_FINISH && off < len) {
		size_t	 n = len - off < IN_CHUNK ? len - off : IN_CHUNK;

		st.next_in = (unsigned char *)in + off;
		st.avail_in = n;
		do {
			st.next_out = outbuf;
			st.avail_out = OUT_CHUNK;
			rc = isal_inflate(&st);
			if (rc != ISAL_DECOMP_OK)
				return 0;
			out += OUT_CHUNK - st.avail_out;
		} while (st.avail_out == 0 &&
		    st.block_state != ISAL_BLOCK_FINISH);
		off += n - st.avail_in;
	}
	return st.block_state == ISAL_BLOCK_FINISH ? out : 0;
}
#endif

static size_t
run_digests(const unsigned char *in, size_t len)
{
	EVP_MD_CTX	*a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 off;

	EVP_DigestInit_ex(a, EVP_sha512(), NULL);
	EVP_DigestInit_ex(b, EVP_sha1(), NULL);
	for (off = 0; off < len; off += OUT_CHUNK) {
		size_t	 n = len - off < OUT_CHUNK ? len - off : OUT_CHUNK;

		EVP_DigestUpdate(a, in + off, n);
		EVP_DigestUpdate(b, in + off, n);
	}
	EVP_DigestFinal_ex(a, md, NULL);
	EVP_DigestFinal_ex(b, md, NULL);
	EVP_MD_CTX_free(a);
	EVP_MD_CTX_free(b);
	return len;
}

static int
cmpd(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
bench(const char *name, size_t (*fn)(const unsigned char *, size_t),
    const unsigned char *in, size_t len, int runs)
{
	double	 t[64], t0;
	size_t	 out = 0;
	int	 i;

	for (i = 0; i < runs; i++) {
		t0 = now();
		out = fn(in, len);
		t[i] = now() - t0;
		if (out == 0) {
			printf("%s FAILED\n", name);
			return;
		}
	}
	qsort(t, runs, sizeof(t[0]), cmpd);
	printf("%s %.4f %.1f %.1f\n", name, t[runs / 2], len / t[runs / 2] / 1e6,
	    out / t[runs / 2] / 1e6);
}

int
main(int argc, char *argv[])
{
	unsigned char	*in;
	FILE		*f;
	long		 len;
	int		 runs = argc > 2 ? atoi(argv[2]) : 5;

	if (argc < 2 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: inflate-ref FILE.tgz [runs]\n");
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (in = malloc(len)) == NULL || fread(in, 1, len, f) != (size_t)len) {
		perror(argv[1]);
		return 2;
	}
	fclose(f);
	bench("zlib-inflate", run_zlib, in, len, runs);
#ifdef HAVE_ISAL
	bench("isal-inflate", run_isal, in, len, runs);
#endif
	bench("sha512+sha1", run_digests, in, len, runs);
	free(in);
	return 0;
}
