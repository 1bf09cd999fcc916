/*
 * tests/fuzz/fuzz_inflate.c: libFuzzer target for the inflate stage
 * (policy/gz.c).
 *
 * Input: byte 0 picks the output cap, byte 1 the chunk boundaries; the
 * rest is the gzip data.  It is inflated in one feed and again in chunks
 * without a ratio cap: both runs must accept it with the same bytes or
 * both refuse it, and zlib must accept exactly the same members with the
 * same bytes.  Then both again with the default ratio cap: each must
 * refuse the input or end like the runs without the cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "policy-int.h"
#include "split.h"

struct out {
	uint64_t	 h;
	uint64_t	 len;
};

static int
sink(void *arg, const unsigned char *b, size_t n)
{
	struct out *o = arg;

	FZ_CHECK(n > 0 && n <= POL_GZ_CHUNK);
	o->h = fz_hash(o->h, b, n);
	o->len += n;
	return 0;
}

/* bad() : the input was refused for its data or its size. */
static int
bad(enum pol_gz_rc rc)
{
	return rc == POL_GZ_ERR_DATA || rc == POL_GZ_ERR_LIMIT;
}

/* run() : one run; sp NULL means one feed.  Returns the final rc. */
static enum pol_gz_rc
run(const uint8_t *d, size_t len, uint64_t max_out, uint32_t ratio,
    struct fz_split *sp, struct out *o)
{
	struct pol_gz *g;
	enum pol_gz_rc rc = POL_GZ_OK;
	size_t off = 0, n;

	o->h = FZ_HASH_INIT;
	o->len = 0;
	g = malloc(sizeof(*g));
	FZ_CHECK(g != NULL);
	FZ_CHECK(pol_gz_init(g, max_out, ratio) == 0);
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		rc = pol_gz_feed(g, d + off, n, sink, o);
		off += n;
		if (rc != POL_GZ_OK && rc != POL_GZ_END)
			break;
	}
	if (rc == POL_GZ_OK || rc == POL_GZ_END)
		rc = pol_gz_finish(g);
	FZ_CHECK(rc == POL_GZ_ERR_RATIO || g->out_total == o->len);
	FZ_CHECK(max_out == 0 || o->len <= max_out);
	pol_gz_free(g);
	pol_gz_free(g);
	free(g);
	return rc;
}

/*
 * ref() : zlib's verdict on d as one gzip member with nothing after it,
 * output capped at max_out: POL_GZ_END, POL_GZ_ERR_DATA or
 * POL_GZ_ERR_LIMIT; o gets the output.  The reference for ISA-L.
 */
static enum pol_gz_rc
ref(const uint8_t *d, size_t len, uint64_t max_out, struct out *o)
{
	unsigned char buf[16384];
	enum pol_gz_rc rc = POL_GZ_ERR_DATA;
	z_stream z;
	size_t have;
	int zr;

	o->h = FZ_HASH_INIT;
	o->len = 0;
	memset(&z, 0, sizeof(z));
	FZ_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
	z.next_in = (Bytef *)(uintptr_t)d;
	z.avail_in = (uInt)len;
	for (;;) {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		zr = inflate(&z, Z_NO_FLUSH);
		have = sizeof(buf) - z.avail_out;
		if (o->len + have > max_out) {
			rc = POL_GZ_ERR_LIMIT;
			break;
		}
		o->h = fz_hash(o->h, buf, have);
		o->len += have;
		if (zr == Z_STREAM_END) {
			rc = z.avail_in == 0 ? POL_GZ_END : POL_GZ_ERR_DATA;
			break;
		}
		if (zr != Z_OK)
			break;
	}
	inflateEnd(&z);
	return rc;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t caps[4] = { 4u << 20, 1000, 65536, 1u << 20 };
	struct fz_split sp;
	struct out o1, o2, o3, o4, o5;
	enum pol_gz_rc rc1, rc2, rc3, rc4, rc5;
	uint64_t max_out;

	if (size < 2)
		return 0;
	max_out = caps[data[0] & 3];
	fz_split_init(&sp, data[1]);

	/*
	 * ISA-L may detect corrupt data a few bytes earlier or later
	 * depending on the split, so before an error the output (and with
	 * it whether the output cap was reached first) may differ; what
	 * ends, ends the same.
	 */
	rc1 = run(data + 2, size - 2, max_out, 0, NULL, &o1);
	rc2 = run(data + 2, size - 2, max_out, 0, &sp, &o2);
	FZ_CHECK(rc1 == rc2 || (bad(rc1) && bad(rc2)));
	FZ_CHECK(rc1 == POL_GZ_END || bad(rc1));
	if (rc1 == POL_GZ_END)
		FZ_CHECK(o1.len == o2.len && o1.h == o2.h);

	/*
	 * The engine (ISA-L or zlib) agrees with zlib: a member is accepted
	 * by both, with the same bytes, or by neither.
	 */
	rc5 = ref(data + 2, size - 2, max_out, &o5);
	FZ_CHECK((rc1 == POL_GZ_END) == (rc5 == POL_GZ_END));
	if (rc1 == POL_GZ_END)
		FZ_CHECK(o1.len == o5.len && o1.h == o5.h);

	/*
	 * With the ratio cap: both runs refuse the input for its ratio or
	 * end like the runs without the cap.  Where the ratio is within a
	 * few input bytes of the cap at an output offset, engines that read
	 * ahead (ISA-L) may judge a one-shot and a chunked run differently.
	 */
	rc3 = run(data + 2, size - 2, max_out, POL_DEF_RATIO, NULL, &o3);
	fz_split_init(&sp, data[1]);
	rc4 = run(data + 2, size - 2, max_out, POL_DEF_RATIO, &sp, &o4);
	FZ_CHECK(rc3 == rc4 || (bad(rc3) && bad(rc4)) ||
	    rc3 == POL_GZ_ERR_RATIO || rc4 == POL_GZ_ERR_RATIO);
	if (rc3 == POL_GZ_END || rc4 == POL_GZ_END)
		FZ_CHECK(rc1 == POL_GZ_END);
	if (rc3 == POL_GZ_END)
		FZ_CHECK(o1.len == o3.len && o1.h == o3.h);
	if (rc3 == POL_GZ_ERR_RATIO)
		FZ_CHECK(o3.len >= POL_GZ_RATIO_MIN_OUT);
	if (rc4 == POL_GZ_ERR_RATIO)
		FZ_CHECK(o4.len >= POL_GZ_RATIO_MIN_OUT);
	return 0;
}
