/*
 * tests/fuzz/fuzz_b64.c: libFuzzer target for the streaming base64
 * decoder (policy/b64.c).
 *
 * Input: byte 0 picks the mode (bit 0: POL_B64_STOP), byte 1 the chunk
 * boundaries; the rest is the text.  It is decoded in one call and again
 * in chunks; both runs must agree on success, bytes consumed, the stop
 * flag and every output byte.  A successful strict decode must also
 * match a naive reference decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "policy-int.h"
#include "split.h"

struct res {
	int		 ok;		/* decode and finish succeeded */
	size_t		 consumed;
	int		 stopped;
	size_t		 outlen;
};

/* dec() : one run into out (room len + 8); sp NULL means one call. */
static void
dec(enum pol_b64_mode mode, const uint8_t *d, size_t len,
    struct fz_split *sp, unsigned char *out, struct res *r)
{
	struct pol_b64 b;
	size_t off = 0, n, ol;
	ssize_t c;

	memset(r, 0, sizeof(*r));
	pol_b64_init(&b, mode);
	r->ok = 1;
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		c = pol_b64_decode(&b, d + off, n, out + r->outlen, &ol);
		FZ_CHECK(ol <= (n / 4 + 1) * 3);
		r->outlen += ol;
		if (c < 0) {
			r->ok = 0;
			FZ_CHECK(pol_b64_decode(&b, d, len, out + r->outlen,
			    &ol) == -1);
			break;
		}
		FZ_CHECK((size_t)c <= n);
		off += (size_t)c;
		if ((size_t)c < n) {
			FZ_CHECK(mode == POL_B64_STOP && b.stopped);
			break;
		}
	}
	r->consumed = off;
	r->stopped = b.stopped;
	if (r->ok) {
		if (pol_b64_finish(&b, out + r->outlen, &ol) != 0)
			r->ok = 0;
		else
			r->outlen += ol;
	}
}

/* ref() : naive strict decoder; returns the length or -1. */
static long
ref(const uint8_t *d, size_t len, unsigned char *out)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, pad = 0, n = len, o = 0, k = 0;
	uint32_t acc = 0;
	const char *p;

	while (n > 0 && d[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad > 0 && (len % 4 != 0))
		return -1;
	for (i = 0; i < n; i++) {
		if (d[i] == 0 || (p = memchr(al, d[i], 64)) == NULL)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - al);
		if (++k == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			k = 0;
			acc = 0;
		}
	}
	if (k == 1 || (pad > 0 && k + pad != 4))
		return -1;
	if (k == 2)
		out[o++] = (unsigned char)(acc >> 4);
	else if (k == 3) {
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	return (long)o;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pol_b64_mode mode;
	struct fz_split sp;
	struct res r1, r2;
	unsigned char *o1, *o2;
	size_t len;
	long rl;

	if (size < 2)
		return 0;
	mode = (data[0] & 1) ? POL_B64_STOP : POL_B64_STRICT;
	fz_split_init(&sp, data[1]);
	data += 2;
	len = size - 2;
	o1 = malloc(len + 8);
	o2 = malloc(len + 8);
	FZ_CHECK(o1 != NULL && o2 != NULL);

	dec(mode, data, len, NULL, o1, &r1);
	dec(mode, data, len, &sp, o2, &r2);
	FZ_CHECK(r1.ok == r2.ok);
	FZ_CHECK(r1.stopped == r2.stopped);
	FZ_CHECK(r1.outlen == r2.outlen);
	FZ_CHECK(memcmp(o1, o2, r1.outlen) == 0);
	if (r1.ok)
		FZ_CHECK(r1.consumed == r2.consumed);
	if (mode == POL_B64_STRICT) {
		rl = ref(data, len, o2);
		FZ_CHECK((rl >= 0) == r1.ok);
		if (r1.ok)
			FZ_CHECK((size_t)rl == r1.outlen &&
			    memcmp(o1, o2, r1.outlen) == 0);
	}
	free(o1);
	free(o2);
	return 0;
}
