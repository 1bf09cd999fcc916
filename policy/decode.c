/*
 * policy/decode.c: encoded content inside a package file, decoded for the
 * content judges (issue 13, encoded content).
 *
 * Owns struct pol_dec, one per scanner: it watches the bytes of each file
 * for
 *  - runs of at least DEC_B64_MIN base64 characters (the standard
 *    alphabet, '=' padding ends a run): decoded as base64, or as hex when
 *    the first DEC_B64_MIN characters are all hex digits (and at least
 *    DEC_HEX_MIN of them);
 *  - percent-encoded runs: from a `%XX` escape, URL characters holding at
 *    least DEC_PCT_MIN escapes within their first DEC_PCT_HOLD bytes;
 *  - JS string literals that start with '{' (`JSON.parse("{\"version\":3,
 *    ...}")`, `'{"version":3, ...}'`): the string's escapes are undone
 *    (\" \' \\ \n \t \r \/ \uXXXX below 0x80, the others as '?') once it
 *    holds DEC_JS_MIN bytes, so a source map or a secret kept as JSON in
 *    a string is judged as JSON;
 *  - UTF-16 text: a byte order mark, or, without one, a first DEC_U16_SNIFF
 *    bytes whose every other byte is zero and the others printable ASCII;
 *    the code units below 0x80 are passed on, the others as '?';
 * (runs on a line after `sourceMappingURL=` are left to sourcemap.c,
 * which decodes and judges inline maps itself) and hands the decoded
 * bytes of each to the sink, one "piece" at a time
 * (begin, data..., end), so the same secret detectors and source map judge
 * run over them as over the file.  Nothing is accumulated: a run is held
 * raw only until it is known to be long enough (at most DEC_PCT_HOLD
 * bytes), then decoded as it streams.  Every decoded byte comes from a
 * byte of the file (base64 3 for 4, hex 1 for 2, percent at most 1 for
 * 1, UTF-16 1 for 2), so the work is bounded by the package's own limits
 * (limits.file per file, limits.unpacked per package): no separate cap,
 * and so no verdict of its own.  Depends on libc and b64.c; no logging,
 * no allocation after pol_dec_new().
 */
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"
#include "scan-int.h"

#define DEC_B64_MIN	40	/* base64 characters before a run is decoded */
#define DEC_HEX_MIN	40	/* hex digits likewise */
#define DEC_PCT_MIN	8	/* escapes before a percent run is decoded */
#define DEC_PCT_HOLD	256	/* bytes of a percent run held to count them */
#define DEC_U16_SNIFF	64	/* bytes that tell UTF-16 without a BOM */
#define DEC_JS_MIN	32	/* bytes of a '{' string before it is judged */
#define DEC_OUT		1024
#define SM_NEEDLE	"sourceMappingURL="	/* decoded bytes handed on at a time */

/* Byte classes. */
#define C_B64	0x01	/* A-Z a-z 0-9 + / */
#define C_HEX	0x02
#define C_URL	0x04	/* what a percent-encoded run may hold */

enum { B_IDLE, B_HOLD, B_B64, B_HEX, B_DEAD };
enum { P_IDLE, P_HOLD, P_ON, P_DEAD };
enum { U_SNIFF, U_LE, U_BE, U_NO };
enum { J_IDLE, J_HOLD, J_ON };

struct pol_dec {
	pol_dec_fn	 fn;
	void		*arg;
	unsigned char	 cls[256];
	uint64_t	 off;		/* file offset of the next byte */
	/* base64 / hex run */
	int		 bst;
	size_t		 blen;		/* characters in the run */
	uint64_t	 bat;		/* file offset of its first */
	int		 ballhex;
	unsigned char	 bhold[DEC_B64_MIN];
	struct pol_b64	 b64;
	int		 nib, hexv;
	/* percent run */
	int		 pst;
	size_t		 plen, pesc;
	uint64_t	 pat;
	int		 pe;		/* 0, or digits of an escape seen (1, 2) */
	int		 pv;
	unsigned char	 phold[DEC_PCT_HOLD];
	/* UTF-16 */
	int		 ust;
	size_t		 ulen;
	unsigned char	 usniff[DEC_U16_SNIFF];
	int		 uodd;		/* a byte of a code unit is pending */
	unsigned char	 ufirst;
	/* JS string that starts with '{' */
	int		 jst;
	unsigned char	 jq;		/* its quote */
	unsigned char	 jprev;		/* the byte before, outside strings */
	int		 jesc;		/* 0, 1 after '\\', 2..5 in \uXXXX */
	unsigned int	 ju;
	uint64_t	 jat;
	size_t		 jlen;
	unsigned char	 jhold[DEC_JS_MIN];
	/* `sourceMappingURL=` seen on this line: its data URL is not ours */
	size_t		 sm;		/* bytes of the needle matched */
	int		 smurl;
	/* output */
	size_t		 olen[POL_DEC_KINDS];
	unsigned char	 out[POL_DEC_KINDS][DEC_OUT];
};

struct pol_dec *
pol_dec_new(pol_dec_fn fn, void *arg)
{
	struct pol_dec	*d;
	int		 c;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->fn = fn;
	d->arg = arg;
	for (c = 0; c < 256; c++) {
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/')
			d->cls[c] |= C_B64;
		if ((c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') ||
		    (c >= '0' && c <= '9'))
			d->cls[c] |= C_HEX;
		if (c > 0x20 && c < 0x7f && strchr("\"'`<>\\{}|^", c) == NULL)
			d->cls[c] |= C_URL;
	}
	return d;
}

void
pol_dec_free(struct pol_dec *d)
{
	free(d);
}

/* put() : one decoded byte of piece kind. */
static int
put(struct pol_dec *d, int kind, unsigned char c)
{
	d->out[kind][d->olen[kind]++] = c;
	if (d->olen[kind] == DEC_OUT) {
		d->olen[kind] = 0;
		return d->fn(d->arg, kind, POL_DEC_DATA, d->out[kind], DEC_OUT,
		    0);
	}
	return 0;
}

static int
piece_begin(struct pol_dec *d, int kind, uint64_t at)
{
	d->olen[kind] = 0;
	return d->fn(d->arg, kind, POL_DEC_BEGIN, NULL, 0, at);
}

static int
piece_end(struct pol_dec *d, int kind)
{
	int rc = 0;

	if (d->olen[kind] > 0)
		rc = d->fn(d->arg, kind, POL_DEC_DATA, d->out[kind],
		    d->olen[kind], 0);
	d->olen[kind] = 0;
	if (d->fn(d->arg, kind, POL_DEC_END, NULL, 0, 0) != 0)
		rc = -1;
	return rc;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/* b_char() : the next character of a base64 or hex piece being decoded. */
static int
b_char(struct pol_dec *d, unsigned char c)
{
	unsigned char	 o[4];
	size_t		 n = 0, i;

	if (d->bst == B_HEX) {
		if ((d->cls[c] & C_HEX) == 0)
			return 0;	/* not hex after all: the rest is not */
		d->hexv = (d->hexv << 4 | hexval(c)) & 0xff;
		if (++d->nib == 2) {
			d->nib = 0;
			return put(d, POL_DEC_HEX, (unsigned char)d->hexv);
		}
		return 0;
	}
	if (pol_b64_decode(&d->b64, &c, 1, o, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (put(d, POL_DEC_B64, o[i]) != 0)
			return -1;
	return 0;
}

/* b_end() : the base64/hex run ended at a byte outside the alphabet. */
static int
b_end(struct pol_dec *d)
{
	unsigned char	 o[4];
	size_t		 n = 0, i;
	int		 rc = 0, kind;

	if (d->bst == B_B64 || d->bst == B_HEX) {
		kind = d->bst == B_HEX ? POL_DEC_HEX : POL_DEC_B64;
		if (kind == POL_DEC_B64 && pol_b64_finish(&d->b64, o, &n) == 0)
			for (i = 0; i < n; i++)
				rc |= put(d, kind, o[i]);
		rc |= piece_end(d, kind);
	}
	d->bst = B_IDLE;
	d->blen = 0;
	return rc;
}

/* b_start() : the run is long enough: decode what was held. */
static int
b_start(struct pol_dec *d)
{
	size_t	 i;

	d->bst = d->ballhex ? B_HEX : B_B64;
	d->nib = 0;
	d->hexv = 0;
	pol_b64_init(&d->b64, POL_B64_STOP);
	if (piece_begin(d, d->bst == B_HEX ? POL_DEC_HEX : POL_DEC_B64,
	    d->bat) != 0)
		return -1;
	for (i = 0; i < DEC_B64_MIN; i++)
		if (b_char(d, d->bhold[i]) != 0)
			return -1;
	return 0;
}

/* b_byte() : one byte of the file, for the base64/hex watcher. */
static int
b_byte(struct pol_dec *d, unsigned char c)
{
	if ((d->cls[c] & C_B64) == 0) {
		if (d->bst == B_IDLE || d->bst == B_HOLD || d->bst == B_DEAD) {
			d->bst = B_IDLE;
			d->blen = 0;
			return 0;
		}
		if (d->bst == B_B64 && c == '=') {
			(void)b_char(d, c);
			return 0;
		}
		return b_end(d);
	}
	switch (d->bst) {
	case B_IDLE:
		if (d->smurl) {
			d->bst = B_DEAD;	/* sourcemap.c judges it */
			return 0;
		}
		d->bst = B_HOLD;
		d->blen = 0;
		d->bat = d->off;
		d->ballhex = 1;
		/* FALLTHROUGH */
	case B_HOLD:
		d->bhold[d->blen++] = c;
		if ((d->cls[c] & C_HEX) == 0)
			d->ballhex = 0;
		if (d->blen == DEC_B64_MIN)
			return b_start(d);
		return 0;
	case B_B64:
	case B_HEX:
		return b_char(d, c);
	default:
		return 0;
	}
}

/* p_decode() : one byte of a percent piece being decoded. */
static int
p_decode(struct pol_dec *d, unsigned char c)
{
	if (d->pe == 0) {
		if (c == '%') {
			d->pe = 1;
			d->pv = 0;
			return 0;
		}
		return put(d, POL_DEC_PCT, c == '+' ? ' ' : c);
	}
	if ((d->cls[c] & C_HEX) == 0) {
		d->pe = 0;	/* a lone '%': kept as it is */
		if (put(d, POL_DEC_PCT, '%') != 0)
			return -1;
		return p_decode(d, c);
	}
	d->pv = (d->pv << 4 | hexval(c)) & 0xff;
	if (++d->pe == 3) {
		d->pe = 0;
		return put(d, POL_DEC_PCT, (unsigned char)d->pv);
	}
	return 0;
}

static int
p_end(struct pol_dec *d)
{
	int rc = 0;

	if (d->pst == P_ON)
		rc = piece_end(d, POL_DEC_PCT);
	d->pst = P_IDLE;
	d->plen = 0;
	d->pesc = 0;
	return rc;
}

/* p_byte() : one byte of the file, for the percent-run watcher. */
static int
p_byte(struct pol_dec *d, unsigned char c)
{
	size_t	 i;

	if ((d->cls[c] & C_URL) == 0)
		return d->pst == P_IDLE ? 0 : p_end(d);
	switch (d->pst) {
	case P_IDLE:
		if (c != '%')
			return 0;
		if (d->smurl) {
			d->pst = P_DEAD;	/* sourcemap.c judges it */
			return 0;
		}
		d->pst = P_HOLD;
		d->plen = 0;
		d->pesc = 0;
		d->pat = d->off;
		/* FALLTHROUGH */
	case P_HOLD:
		if (d->plen == DEC_PCT_HOLD) {
			d->pst = P_DEAD;
			return 0;
		}
		d->phold[d->plen++] = c;
		if (c == '%')
			d->pesc++;
		if (d->pesc < DEC_PCT_MIN)
			return 0;
		d->pst = P_ON;
		d->pe = 0;
		if (piece_begin(d, POL_DEC_PCT, d->pat) != 0)
			return -1;
		for (i = 0; i < d->plen; i++)
			if (p_decode(d, d->phold[i]) != 0)
				return -1;
		return 0;
	case P_ON:
		return p_decode(d, c);
	default:
		return 0;
	}
}

/* u_unit() : one UTF-16 code unit's bytes (a, b in file order). */
static int
u_unit(struct pol_dec *d, unsigned char a, unsigned char b)
{
	unsigned int u = d->ust == U_LE ? (unsigned)a | (unsigned)b << 8 :
	    (unsigned)a << 8 | b;

	return put(d, POL_DEC_U16, u < 0x80 ? (unsigned char)u : '?');
}

/* u_decide() : UTF-16 or not, on the first bytes (d->ulen of them). */
static int
u_decide(struct pol_dec *d)
{
	size_t	 i, z[2] = { 0, 0 }, pr[2] = { 0, 0 }, n = d->ulen, start = 0;

	if (n >= 2 && d->usniff[0] == 0xff && d->usniff[1] == 0xfe) {
		d->ust = U_LE;
		start = 2;
	} else if (n >= 2 && d->usniff[0] == 0xfe && d->usniff[1] == 0xff) {
		d->ust = U_BE;
		start = 2;
	} else if (n >= 16) {
		for (i = 0; i + 1 < n; i += 2) {
			z[0] += d->usniff[i] == 0;
			z[1] += d->usniff[i + 1] == 0;
			pr[0] += (d->usniff[i] >= 0x20 && d->usniff[i] < 0x7f) ||
			    d->usniff[i] == '\n' || d->usniff[i] == '\r' ||
			    d->usniff[i] == '\t';
			pr[1] += (d->usniff[i + 1] >= 0x20 &&
			    d->usniff[i + 1] < 0x7f) || d->usniff[i + 1] ==
			    '\n' || d->usniff[i + 1] == '\r' ||
			    d->usniff[i + 1] == '\t';
		}
		if (z[1] == n / 2 && pr[0] == n / 2)
			d->ust = U_LE;
		else if (z[0] == n / 2 && pr[1] == n / 2)
			d->ust = U_BE;
		else
			d->ust = U_NO;
	} else
		d->ust = U_NO;
	if (d->ust == U_NO)
		return 0;
	if (piece_begin(d, POL_DEC_U16, 0) != 0)
		return -1;
	d->uodd = 0;
	for (i = start; i < n; i++) {
		if (!d->uodd) {
			d->ufirst = d->usniff[i];
			d->uodd = 1;
		} else {
			d->uodd = 0;
			if (u_unit(d, d->ufirst, d->usniff[i]) != 0)
				return -1;
		}
	}
	return 0;
}

/* j_out() : one decoded byte of the string: held, then judged. */
static int
j_out(struct pol_dec *d, unsigned char c)
{
	size_t	 i;

	if (d->jst == J_ON)
		return put(d, POL_DEC_JS, c);
	d->jhold[d->jlen++] = c;
	if (d->jlen < DEC_JS_MIN)
		return 0;
	d->jst = J_ON;
	if (piece_begin(d, POL_DEC_JS, d->jat) != 0)
		return -1;
	for (i = 0; i < d->jlen; i++)
		if (put(d, POL_DEC_JS, d->jhold[i]) != 0)
			return -1;
	return 0;
}

static int
j_end(struct pol_dec *d)
{
	int rc = 0;

	if (d->jst == J_ON)
		rc = piece_end(d, POL_DEC_JS);
	d->jst = J_IDLE;
	d->jlen = 0;
	d->jprev = 0;
	return rc;
}

/* j_byte() : one byte of the file, for the JS string watcher. */
static int
j_byte(struct pol_dec *d, unsigned char c)
{
	static const char esc_from[] = "nrtbf0";
	static const char esc_to[] = "\n\r\t\b\f";
	const char *e;

	if (d->jst == J_IDLE) {
		if (c == '{' && (d->jprev == '"' || d->jprev == '\'' ||
		    d->jprev == '`')) {
			d->jst = J_HOLD;
			d->jq = d->jprev;
			d->jesc = 0;
			d->jlen = 0;
			d->jat = d->off;
			return j_out(d, c);
		}
		d->jprev = c;
		return 0;
	}
	if (d->jesc == 1) {
		d->jesc = 0;
		if (c == 'u') {
			d->jesc = 2;
			d->ju = 0;
			return 0;
		}
		if ((e = strchr(esc_from, c)) != NULL && c != '\0')
			return j_out(d, (unsigned char)esc_to[e - esc_from]);
		if (c == '\n' || c == '\r')
			return 0;	/* a line continuation */
		return j_out(d, c);
	}
	if (d->jesc >= 2) {
		if ((d->cls[c] & C_HEX) == 0)
			return j_end(d);
		d->ju = d->ju << 4 | (unsigned)hexval(c);
		if (++d->jesc < 6)
			return 0;
		d->jesc = 0;
		return j_out(d, d->ju < 0x80 ? (unsigned char)d->ju : '?');
	}
	if (c == '\\') {
		d->jesc = 1;
		return 0;
	}
	if (c == d->jq || (c == '\n' && d->jq != '`'))
		return j_end(d);
	return j_out(d, c);
}

void
pol_dec_begin(struct pol_dec *d)
{
	d->off = 0;
	d->bst = B_IDLE;
	d->blen = 0;
	d->pst = P_IDLE;
	d->plen = 0;
	d->pesc = 0;
	d->ust = U_SNIFF;
	d->ulen = 0;
	d->jst = J_IDLE;
	d->jprev = 0;
	d->jlen = 0;
	d->sm = 0;
	d->smurl = 0;
	memset(d->olen, 0, sizeof(d->olen));
}

int
pol_dec_data(struct pol_dec *d, const unsigned char *buf, size_t len)
{
	size_t	 i, k = 0;
	int	 rc = 0;

	if (d->ust == U_SNIFF) {
		while (k < len && d->ulen < DEC_U16_SNIFF)
			d->usniff[d->ulen++] = buf[k++];
		if (d->ulen == DEC_U16_SNIFF && u_decide(d) != 0)
			return -1;
	}
	if (d->ust == U_LE || d->ust == U_BE) {
		/* u_decide() handed on the sniffed bytes (buf[0..k) too). */
		for (i = k; i < len; i++) {
			if (!d->uodd) {
				d->ufirst = buf[i];
				d->uodd = 1;
			} else {
				d->uodd = 0;
				if (u_unit(d, d->ufirst, buf[i]) != 0)
					return -1;
			}
		}
		d->off += len;
		return 0;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if (c == (unsigned char)SM_NEEDLE[d->sm]) {
			if (++d->sm == sizeof(SM_NEEDLE) - 1) {
				d->smurl = 1;
				d->sm = 0;
			}
		} else
			d->sm = c == 's';
		if (c == '\n')
			d->smurl = 0;
		rc |= j_byte(d, c);
		/* The common case: a byte no watcher wants, none running. */
		if (d->bst == B_IDLE && d->pst == P_IDLE &&
		    (d->cls[c] & C_B64) == 0 && c != '%') {
			d->off++;
			continue;
		}
		rc |= b_byte(d, c);
		rc |= p_byte(d, c);
		d->off++;
	}
	return rc;
}

int
pol_dec_end(struct pol_dec *d)
{
	int rc = 0;

	/* A file shorter than the sniff: decided on what there is (its
	   bytes were watched as text already). */
	if (d->ust == U_SNIFF && d->ulen > 0 && u_decide(d) != 0)
		rc = -1;
	if (d->ust == U_LE || d->ust == U_BE)
		rc |= piece_end(d, POL_DEC_U16);
	rc |= b_end(d);
	rc |= p_end(d);
	rc |= j_end(d);
	d->ust = U_NO;
	return rc;
}
