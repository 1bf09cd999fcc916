/*
 * policy/b64.c: the streaming base64 decoder (RFC 4648 standard
 * alphabet, no URL-safe variant, no line breaks).
 *
 * Owns decoding only: publish.c feeds it the chunks of an attachment's
 * "data" string (POL_B64_STRICT) and scan.c the text after
 * "data:...;base64," in a source file (POL_B64_STOP, which ends at the
 * first byte outside the alphabet).  Depends on libc only; keeps at most
 * three pending sextets between calls and never allocates.
 *
 * Data flow: whole quads are decoded four characters at a time through
 * one table; the byte-at-a-time path handles a quad split across calls,
 * '=' padding (which must end the data: any alphabet character after it
 * is an error) and the terminator of POL_B64_STOP.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "policy-int.h"

#define B64_PAD		64	/* b64_dec value of '=' */
#define B64_BAD		0xff	/* b64_dec value outside the alphabet */

/* b->pad: no '=' yet, one '=' of "xx==" seen, padding complete. */
enum {
	PAD_NONE = 0,
	PAD_HALF,
	PAD_DONE,
};

/* Sextet of each byte, B64_PAD for '=', B64_BAD for the rest. */
static const unsigned char b64_dec[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b,
	0x3c, 0x3d, 0xff, 0xff, 0xff, 0x40, 0xff, 0xff,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
	0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,
	0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* pol_b64_init() : resets b to decode one base64 text in mode. */
void
pol_b64_init(struct pol_b64 *b, enum pol_b64_mode mode)
{
	memset(b, 0, sizeof(*b));
	b->mode = mode;
}

/*
 * pol_b64_decode() : see policy-int.h.  Errors are sticky: every later
 * call returns -1.  After a POL_B64_STOP terminator nothing more is
 * consumed (returns 0).
 */
ssize_t
pol_b64_decode(struct pol_b64 *b, const void *in, size_t len,
    unsigned char *out, size_t *outlen)
{
	const unsigned char *start = in, *p = start, *end = p + len;
	unsigned char *o = out;
	uint32_t v;
	unsigned int c0, c1, c2, c3;

	*outlen = 0;
	if (b->err)
		return -1;
	if (b->stopped)
		return 0;

	while (p < end) {
		if (b->n == 0 && b->pad == PAD_NONE) {
			while (end - p >= 8) {
				c0 = b64_dec[p[0]];
				c1 = b64_dec[p[1]];
				c2 = b64_dec[p[2]];
				c3 = b64_dec[p[3]];
				if ((c0 | c1 | c2 | c3) & 0xc0)
					break;
				v = c0 << 18 | c1 << 12 | c2 << 6 | c3;
				c0 = b64_dec[p[4]];
				c1 = b64_dec[p[5]];
				c2 = b64_dec[p[6]];
				c3 = b64_dec[p[7]];
				o[0] = (unsigned char)(v >> 16);
				o[1] = (unsigned char)(v >> 8);
				o[2] = (unsigned char)v;
				if ((c0 | c1 | c2 | c3) & 0xc0) {
					o += 3;
					p += 4;
					break;
				}
				v = c0 << 18 | c1 << 12 | c2 << 6 | c3;
				o[3] = (unsigned char)(v >> 16);
				o[4] = (unsigned char)(v >> 8);
				o[5] = (unsigned char)v;
				o += 6;
				p += 8;
			}
			if (p == end)
				break;
		}

		/* One byte at a time. */
		c0 = b64_dec[*p];
		if (c0 < 64) {
			if (b->pad != PAD_NONE)
				goto fail;	/* data after padding */
			b->acc = (b->acc << 6) | c0;
			if (++b->n == 4) {
				o[0] = (unsigned char)(b->acc >> 16);
				o[1] = (unsigned char)(b->acc >> 8);
				o[2] = (unsigned char)b->acc;
				o += 3;
				b->n = 0;
				b->acc = 0;
			}
		} else if (c0 == B64_PAD) {
			if (b->pad == PAD_NONE && b->n == 2)
				b->pad = PAD_HALF;
			else if (b->pad == PAD_HALF) {
				/* "xx==": 12 bits, one byte. */
				*o++ = (unsigned char)(b->acc >> 4);
				b->n = 0;
				b->acc = 0;
				b->pad = PAD_DONE;
			} else if (b->pad == PAD_NONE && b->n == 3) {
				/* "xxx=": 18 bits, two bytes. */
				*o++ = (unsigned char)(b->acc >> 10);
				*o++ = (unsigned char)(b->acc >> 2);
				b->n = 0;
				b->acc = 0;
				b->pad = PAD_DONE;
			} else
				goto fail;	/* misplaced '=' */
		} else if (b->mode == POL_B64_STOP) {
			b->stopped = 1;
			break;
		} else
			goto fail;
		p++;
	}
	*outlen = (size_t)(o - out);
	return p - start;
fail:
	b->err = 1;
	*outlen = (size_t)(o - out);
	return -1;
}

/*
 * pol_b64_finish() : flushes an unpadded tail of 2 or 3 characters.
 * Returns 0, or -1 after an error, on a 1-character tail or on
 * incomplete padding ("xx=").
 */
int
pol_b64_finish(struct pol_b64 *b, unsigned char *out, size_t *outlen)
{
	*outlen = 0;
	if (b->err || b->pad == PAD_HALF || b->n == 1) {
		b->err = 1;
		return -1;
	}
	if (b->n == 2)
		out[(*outlen)++] = (unsigned char)(b->acc >> 4);
	else if (b->n == 3) {
		out[(*outlen)++] = (unsigned char)(b->acc >> 10);
		out[(*outlen)++] = (unsigned char)(b->acc >> 2);
	}
	b->n = 0;
	b->acc = 0;
	return 0;
}
