/*
 * tests/fuzz/fuzz_inflate.c: libFuzzer target for the inflate stage
 * (policy/gz.c).
 *
 * Input: byte 0 picks the output cap, byte 1 the chunk boundaries; the
 * rest is the gzip data.  It is inflated in one feed and again in chunks
 * without a ratio cap; both runs must give the same rc and, unless the
 * output cap stopped them, the same output.  Then both again with the
 * default ratio cap: they must agree with each other, and with the first
 * runs unless they refused the input for its ratio.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t caps[4] = { 4u << 20, 1000, 65536, 1u << 20 };
	struct fz_split sp;
	struct out o1, o2, o3, o4;
	enum pol_gz_rc rc1, rc2, rc3, rc4;
	uint64_t max_out;

	if (size < 2)
		return 0;
	max_out = caps[data[0] & 3];
	fz_split_init(&sp, data[1]);

	rc1 = run(data + 2, size - 2, max_out, 0, NULL, &o1);
	rc2 = run(data + 2, size - 2, max_out, 0, &sp, &o2);
	FZ_CHECK(rc1 == rc2);
	FZ_CHECK(rc1 != POL_GZ_OK && rc1 != POL_GZ_ABORT &&
	    rc1 != POL_GZ_ERR_INTERNAL && rc1 != POL_GZ_ERR_RATIO);
	if (rc1 != POL_GZ_ERR_LIMIT)
		FZ_CHECK(o1.len == o2.len && o1.h == o2.h);

	/*
	 * With the ratio cap: the one-shot and chunked runs agree (the ratio
	 * is judged at fixed output offsets), and either refuse the input
	 * for its ratio or end like the runs without the cap.
	 */
	rc3 = run(data + 2, size - 2, max_out, POL_DEF_RATIO, NULL, &o3);
	fz_split_init(&sp, data[1]);
	rc4 = run(data + 2, size - 2, max_out, POL_DEF_RATIO, &sp, &o4);
	FZ_CHECK(rc3 == rc4);
	if (rc3 != POL_GZ_ERR_RATIO) {
		FZ_CHECK(rc3 == rc1);
		if (rc1 != POL_GZ_ERR_LIMIT)
			FZ_CHECK(o1.len == o3.len && o1.h == o3.h);
	} else {
		/* The chunked run may have delivered part of the chunk. */
		FZ_CHECK(o3.len <= o4.len && o4.len - o3.len < POL_GZ_CHUNK);
		FZ_CHECK(o3.len >= POL_GZ_RATIO_MIN_OUT);
	}
	return 0;
}
