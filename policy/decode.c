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
 *  - JS object literals that hold a source map, as every tool writes one:
 *    `{version: 3, sources: [...], sourcesContent: [...], mappings: "..."}`
 *    with unquoted, '- or "-quoted keys (`var m = {"version":3,...}`,
 *    babel's and istanbul's inputSourceMap): woken at a `3` after `:` or
 *    `: `, the bytes behind are read back for `{ version :` (DEC_OBJ_WS
 *    blanks at most), then the literal is handed on as JSON (keys quoted,
 *    '- and `-strings as "-strings, comments and trailing commas dropped)
 *    until it closes or stops being a literal (an identifier or call as a
 *    value, `${`, an operator): only the source map judge reads these
 *    pieces (pol_dec_objects()).  Not at the file's first non-blank byte,
 *    which the judge reads as the file itself, nor inside a '{' string;
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
 * 1, UTF-16 1 for 2; an object literal at most 3 for 1: `{a:1}` is
 * `{"a":1}`), so the work is bounded by the package's own limits
 * (limits.file per file, limits.unpacked per package): no separate cap,
 * and so no verdict of its own.  Depends on libc and b64.c; no logging,
 * no allocation after pol_dec_new().
 *
 * Speed: every byte of every text file passes here, so the watchers are
 * not run on each.  skip() passes over the blocks in which no byte can
 * wake one (no '%', no '{' after a quote, no '3' after ':' or ' ', no
 * end of SM_NEEDLE, no base64 run reaching DEC_B64_MIN: only the run's
 * length at the block's ends is kept), 32 bytes at a time with AVX2
 * where the CPU has it, else 16 with SSE2, else in plain C; what can
 * wake a watcher is stepped a byte
 * at a time through step(), the reference, and a base64 piece is
 * decoded a run at a time (b_bulk()).  Every split of a file gives the
 * pieces of a one-byte-at-a-time feed (test_decode holds each build to
 * it).
 */
#include <stdlib.h>
#include <string.h>
/* POL_DEC_PORTABLE: plain C only (the tests build it too). */
#if defined(__SSE2__) && !defined(POL_DEC_PORTABLE)
#define DEC_SSE2	1
#include <emmintrin.h>
#else
#define DEC_SSE2	0
#endif
#if DEC_SSE2 && defined(__x86_64__) && defined(__GNUC__) && \
    !defined(POL_DEC_NO_AVX2)
#define DEC_AVX2	1	/* an AVX2 pass, used where the CPU has it */
#include <immintrin.h>
#else
#define DEC_AVX2	0
#endif

#include "policy-int.h"
#include "scan-int.h"

#define DEC_B64_MIN	40	/* base64 characters before a run is decoded */
#define DEC_HEX_MIN	40	/* hex digits likewise */
#define DEC_PCT_MIN	8	/* escapes before a percent run is decoded */
#define DEC_PCT_HOLD	256	/* bytes of a percent run held to count them */
#define DEC_U16_SNIFF	64	/* bytes that tell UTF-16 without a BOM */
#define DEC_JS_MIN	32	/* bytes of a '{' string before it is judged */
#define DEC_OUT		1024	/* decoded bytes handed on at a time */
#define DEC_BLK		16	/* bytes the skip loop judges at once */
#define SM_NEEDLE	"sourceMappingURL="
#define SM_LEN		(sizeof(SM_NEEDLE) - 1)
#define DEC_OBJ_WS	40	/* blanks between '{' and "version" */
#define DEC_OBJ_DEPTH	64	/* nesting of an object literal */
/* `{` DEC_OBJ_WS `"version"` 4 blanks `:` ` ` before the '3' */
#define DEC_OBJ_LOOK	(1 + DEC_OBJ_WS + 9 + 4 + 2)
#define DEC_TAIL	64	/* bytes kept from the previous call */

_Static_assert(DEC_TAIL >= SM_LEN && DEC_TAIL >= DEC_OBJ_LOOK,
    "the tail must hold the needle and an object's head");

/* Byte classes. */
#define C_B64	0x01	/* A-Z a-z 0-9 + / */
#define C_HEX	0x02
#define C_URL	0x04	/* what a percent-encoded run may hold */

enum { B_IDLE, B_HOLD, B_B64, B_HEX, B_DEAD };
enum { P_IDLE, P_HOLD, P_ON, P_DEAD };
enum { U_SNIFF, U_LE, U_BE, U_NO };
enum { J_IDLE, J_HOLD, J_ON };
enum { O_IDLE, O_ON };
/* What an object literal expects next, between tokens. */
enum { OX_KEY, OX_COLON, OX_VALUE, OX_AFTER };
/* The token it is in. */
enum { OT_NONE, OT_KEY, OT_WORD, OT_NUM, OT_STR, OT_SLASH, OT_LINE,
    OT_BLOCK };

struct pol_dec;
/*
 * A pass: from buf[i], the blocks in which no watcher would act (see
 * skip()), *run the base64 run before them, then after them; returns
 * where it stopped.  One per instruction set, chosen at pol_dec_new().
 */
typedef size_t (*dec_pass_fn)(const struct pol_dec *, const unsigned char *,
    size_t i, size_t len, size_t *run);
/* The end of the base64 characters from buf[i]. */
typedef size_t (*dec_runend_fn)(const struct pol_dec *,
    const unsigned char *, size_t i, size_t len);

struct pol_dec {
	pol_dec_fn	 fn;
	void		*arg;
	dec_pass_fn	 pass;
	dec_runend_fn	 runend;
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
	/* JS object literal that starts `{version: 3` */
	int		 oon;		/* watched at all (pol_dec_objects()) */
	int		 ost;
	int		 oexp;		/* OX_* */
	int		 otok;		/* OT_* */
	unsigned int	 odepth;
	uint64_t	 ostack;	/* bit k: depth k+1 is an object */
	int		 ocomma;	/* a ',' held: dropped before a closer */
	unsigned char	 oq;		/* the string's quote */
	int		 okey;		/* the string is a key */
	int		 oesc;		/* after a backslash */
	int		 odollar;	/* a '$' held in a template */
	int		 ostar;		/* '*' in a block comment */
	unsigned char	 oprev;		/* the number's last byte */
	size_t		 owlen;
	unsigned char	 oword[5];	/* true, false, null */
	int		 lead;		/* only blanks so far */
	uint64_t	 lead_at;	/* offset of the first other byte */
	/* `sourceMappingURL=` seen on this line: its data URL is not ours */
	int		 smurl;
	unsigned char	 tail[DEC_TAIL];	/* the file's bytes before buf */
	/* output */
	size_t		 olen[POL_DEC_KINDS];
	unsigned char	 out[POL_DEC_KINDS][DEC_OUT];
};

/*
 * b64mask() : the mask of the base64 characters among the DEC_BLK bytes
 * at p (bit k for p[k]).  blk() : the same in *b64, and returns the mask
 * of the bytes a watcher acts on: '%', '{' after a quote, '=' after 'L'
 * (the end of SM_NEEDLE), when nl '\n', when object literals are
 * watched '3' after ':' or ' '; p[-1] must be readable.
 * SSE2 where the compiler has it (every x86-64), plain C elsewhere.
 */
#if DEC_SSE2
static inline __m128i
b64vec(__m128i v)
{
	__m128i	 az, dg;

	/* (c | 0x20) in a..z; c in '/'..'9', that is '/' and 0-9; '+' */
	az = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
	    _mm_set1_epi8((char)(0x80 - 'a'))), _mm_set1_epi8(-128 + 26));
	dg = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '/'))),
	    _mm_set1_epi8(-128 + 11));
	return _mm_or_si128(_mm_or_si128(az, dg), _mm_cmpeq_epi8(v,
	    _mm_set1_epi8('+')));
}

static inline unsigned int
b64mask(const struct pol_dec *d, const unsigned char *p)
{
	(void)d;
	return (unsigned int)_mm_movemask_epi8(b64vec(_mm_loadu_si128(
	    (const __m128i *)(const void *)p)));
}

static inline unsigned int
blk(const struct pol_dec *d, const unsigned char *p, int nl,
    unsigned int *b64)
{
	__m128i	 v, w, q, s;

	v = _mm_loadu_si128((const __m128i *)(const void *)p);
	w = _mm_loadu_si128((const __m128i *)(const void *)(p - 1));
	*b64 = (unsigned int)_mm_movemask_epi8(b64vec(v));
	q = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(w, _mm_set1_epi8('\''))),
	    _mm_cmpeq_epi8(w, _mm_set1_epi8('`')));
	s = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('%')),
	    _mm_and_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('{')), q));
	s = _mm_or_si128(s, _mm_and_si128(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('=')), _mm_cmpeq_epi8(w, _mm_set1_epi8('L'))));
	s = _mm_or_si128(s, _mm_and_si128(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('\n')), _mm_set1_epi8(nl ? -1 : 0)));
	/* '3' after ':' or ' ', when object literals are watched */
	s = _mm_or_si128(s, _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('3')), _mm_or_si128(_mm_cmpeq_epi8(w,
	    _mm_set1_epi8(':')), _mm_cmpeq_epi8(w, _mm_set1_epi8(' ')))),
	    _mm_set1_epi8(d->oon ? -1 : 0)));
	return (unsigned int)_mm_movemask_epi8(s);
}
#else
static inline unsigned int
b64mask(const struct pol_dec *d, const unsigned char *p)
{
	unsigned int	 m = 0, k;

	for (k = 0; k < DEC_BLK; k++)
		if (d->cls[p[k]] & C_B64)
			m |= 1u << k;
	return m;
}

static inline unsigned int
blk(const struct pol_dec *d, const unsigned char *p, int nl,
    unsigned int *b64)
{
	unsigned int	 s = 0, k;
	unsigned char	 c, w;

	for (k = 0; k < DEC_BLK; k++) {
		c = p[k];
		w = *(p + k - 1);
		if (c == '%' || (c == '{' && (w == '"' || w == '\'' ||
		    w == '`')) || (c == '=' && w == 'L') || (c == '\n' && nl) ||
		    (c == '3' && (w == ':' || w == ' ') && d->oon))
			s |= 1u << k;
	}
	*b64 = b64mask(d, p);
	return s;
}
#endif

/* run_on() : a block of bits bytes with base64 mask m (not all set)
   after a run of *run characters: 0 if the run reaches DEC_B64_MIN in
   it, else 1 with *run the characters at its end. */
static inline int
run_on(size_t *run, uint64_t m, unsigned int bits)
{
	if (*run + (size_t)__builtin_ctzll(~m) >= DEC_B64_MIN)
		return 0;
	*run = (size_t)__builtin_clzll(~(m << (64 - bits)));
	return 1;
}

static size_t
pass16(const struct pol_dec *d, const unsigned char *buf, size_t i,
    size_t len, size_t *run)
{
	unsigned int	 m;

	while (len - i >= DEC_BLK) {
		if (blk(d, buf + i, d->smurl, &m) != 0 || m == 0xffff ||
		    !run_on(run, m, DEC_BLK))
			break;
		i += DEC_BLK;
	}
	return i;
}

static size_t
runend16(const struct pol_dec *d, const unsigned char *buf, size_t i,
    size_t len)
{
	while (len - i >= DEC_BLK && b64mask(d, buf + i) == 0xffff)
		i += DEC_BLK;
	while (i < len && (d->cls[buf[i]] & C_B64) != 0)
		i++;
	return i;
}

#if DEC_AVX2
/*
 * The same as pass16() and runend16(), 32 bytes at a time with AVX2, by
 * table lookups on the nibbles (vpshufb): a byte is base64 when the bits
 * of its low and of its high nibble meet (A-O a-o, P-Z p-z, 0-9, + /),
 * and a byte is in a set whose members all differ in their low nibble
 * when the table entry at that nibble is the byte itself.  The trigger
 * test is looser than blk()'s ('{' or '=' after a quote or 'L'): what it
 * lets through, skip() judges again with blk().
 */
#define LUT16(...)	_mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)

__attribute__((target("avx2"))) static inline unsigned int
nonb64_32(__m256i v)
{
	const __m256i	 lo = LUT16(0x06, 0x07, 0x07, 0x07, 0x07, 0x07, 0x07,
			    0x07, 0x07, 0x07, 0x03, 0x09, 0x01, 0x01, 0x01,
			    0x09);
	const __m256i	 hi = LUT16(0, 0, 0x08, 0x04, 0x01, 0x02, 0x01,
			    0x02, 0, 0, 0, 0, 0, 0, 0, 0);
	__m256i		 x;

	x = _mm256_and_si256(_mm256_shuffle_epi8(lo, v), _mm256_shuffle_epi8(hi,
	    _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f))));
	return (unsigned int)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x,
	    _mm256_setzero_si256()));
}

__attribute__((target("avx2"))) static size_t
pass32(const struct pol_dec *d, const unsigned char *buf, size_t i,
    size_t len, size_t *run)
{
	/* '{' '='; '"' '\'' '`' 'L'; '%' and, after SM_NEEDLE, '\n' (a
	   spare entry holds a byte of another low nibble: 0x81, 0x80) */
	const __m256i	 tv = LUT16(0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
			    0x80, 0x80, 0x80, 0x80, 0x7b, 0x80, 0x3d, 0x80,
			    0x80);
	const __m256i	 tw = LUT16(0x60, 0x80, 0x22, 0x80, 0x80, 0x80, 0x80,
			    0x27, 0x80, 0x80, 0x80, 0x80, 0x4c, 0x80, 0x80,
			    0x80);
	const __m256i	 tu = LUT16(0x81, 0x80, 0x80, 0x80, 0x80, 0x25, 0x80,
			    0x80, 0x80, 0x80, d->smurl ? 0x0a : 0x80, 0x80,
			    0x80, 0x80, 0x80, 0x80);
	const __m256i	 om = _mm256_set1_epi8(d->oon ? -1 : 0);
	__m256i		 v, w, t;
	unsigned int	 nm;

	while (len - i >= 32) {
		v = _mm256_loadu_si256((const __m256i *)(const void *)(buf + i));
		w = _mm256_loadu_si256((const __m256i *)(const void *)(buf + i -
		    1));
		t = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_shuffle_epi8(tv,
		    v), v), _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tw, w), w));
		t = _mm256_or_si256(t, _mm256_cmpeq_epi8(_mm256_shuffle_epi8(tu,
		    v), v));
		/* '3' after ':' or ' ' (object literals) */
		t = _mm256_or_si256(t, _mm256_and_si256(om, _mm256_and_si256(
		    _mm256_cmpeq_epi8(v, _mm256_set1_epi8('3')), _mm256_or_si256(
		    _mm256_cmpeq_epi8(w, _mm256_set1_epi8(':')),
		    _mm256_cmpeq_epi8(w, _mm256_set1_epi8(' '))))));
		if (!_mm256_testz_si256(t, t))
			break;
		nm = nonb64_32(v);
		if (nm == 0 || !run_on(run, (uint32_t)~nm, 32))
			break;
		i += 32;
	}
	return i;
}

__attribute__((target("avx2"))) static size_t
runend32(const struct pol_dec *d, const unsigned char *buf, size_t i,
    size_t len)
{
	while (len - i >= 32 && nonb64_32(_mm256_loadu_si256(
	    (const __m256i *)(const void *)(buf + i))) == 0)
		i += 32;
	return runend16(d, buf, i, len);
}
#endif

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
	d->pass = pass16;
	d->runend = runend16;
#if DEC_AVX2
	if (__builtin_cpu_supports("avx2")) {
		d->pass = pass32;
		d->runend = runend32;
	}
#endif
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
pol_dec_objects(struct pol_dec *d, int on)
{
	d->oon = on != 0;
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
	d->ost = O_IDLE;
	d->lead = 1;
	d->lead_at = 0;
	d->smurl = 0;
	memset(d->tail, 0, sizeof(d->tail));
	memset(d->olen, 0, sizeof(d->olen));
}

/* before() : the file's byte k places before buf[i] (k <= DEC_TAIL). */
static inline unsigned char
before(const struct pol_dec *d, const unsigned char *buf, size_t i, size_t k)
{
	return i >= k ? buf[i - k] : d->tail[DEC_TAIL - (k - i)];
}

/* sm_ends() : 1 if the '=' at buf[i] ends `sourceMappingURL=`. */
static int
sm_ends(const struct pol_dec *d, const unsigned char *buf, size_t i)
{
	size_t	 k;

	for (k = 1; k < SM_LEN; k++)
		if (before(d, buf, i, k) !=
		    (unsigned char)SM_NEEDLE[SM_LEN - 1 - k])
			return 0;
	return 1;
}

/* ------------------------------------------------ JS object literals */

static int
is_ident(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '$';
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
o_put(struct pol_dec *d, unsigned char c)
{
	return put(d, POL_DEC_OBJ, c);
}

/* o_end() : the literal closed, or is not one after all: the piece ends. */
static int
o_end(struct pol_dec *d)
{
	d->ost = O_IDLE;
	return piece_end(d, POL_DEC_OBJ);
}

/* o_strc() : one character of a string, as it goes in a JSON string. */
static int
o_strc(struct pol_dec *d, unsigned char c)
{
	if (c == '"' || c == '\\') {
		if (o_put(d, '\\') != 0)
			return -1;
		return o_put(d, c);
	}
	if (c < 0x20)
		return o_put(d, ' ');
	/* The judge reads only where strings start and end. */
	return o_put(d, c < 0x80 ? c : '?');
}

/* o_comma() : the ',' held, now that a key or a value follows it. */
static int
o_comma(struct pol_dec *d)
{
	if (!d->ocomma)
		return 0;
	d->ocomma = 0;
	return o_put(d, ',');
}

static int
o_open(struct pol_dec *d, unsigned char c)
{
	if (d->odepth == DEC_OBJ_DEPTH)
		return o_end(d);
	if (c == '{')
		d->ostack |= (uint64_t)1 << d->odepth;
	else
		d->ostack &= ~((uint64_t)1 << d->odepth);
	d->odepth++;
	d->oexp = c == '{' ? OX_KEY : OX_VALUE;
	return o_put(d, c);
}

/* o_close() : '}' or ']'; a ',' held before it is dropped. */
static int
o_close(struct pol_dec *d, unsigned char c)
{
	int obj = (int)(d->ostack >> (d->odepth - 1) & 1);

	if ((c == '}') != obj)
		return o_end(d);
	d->ocomma = 0;
	if (o_put(d, c) != 0)
		return -1;
	if (--d->odepth == 0)
		return o_end(d);
	d->oexp = OX_AFTER;
	return 0;
}

static int
o_word_is(const struct pol_dec *d, const char *w)
{
	return d->owlen == strlen(w) && memcmp(d->oword, w, d->owlen) == 0;
}

/* o_tok() : one byte of the token being read; 1 when it ended before c. */
static int
o_tok(struct pol_dec *d, unsigned char c, int *rc)
{
	size_t	 k;

	*rc = 0;
	switch (d->otok) {
	case OT_STR:
		if (d->oesc) {
			d->oesc = 0;
			if (c != '\n' && c != '\r')	/* else a continuation */
				*rc = o_strc(d, c);
			return 0;
		}
		if (c == '\\') {
			d->oesc = 1;
			return 0;
		}
		if (d->odollar) {
			d->odollar = 0;
			if (c == '{') {		/* ${...}: not a literal */
				*rc = o_end(d);
				return 0;
			}
			if (o_strc(d, '$') != 0) {
				*rc = -1;
				return 0;
			}
		}
		if (c == d->oq) {
			d->otok = OT_NONE;
			d->oexp = d->okey ? OX_COLON : OX_AFTER;
			*rc = o_put(d, '"');
		} else if (c == '$' && d->oq == '`')
			d->odollar = 1;
		else if ((c == '\n' || c == '\r') && d->oq != '`')
			*rc = o_end(d);
		else
			*rc = o_strc(d, c);
		return 0;
	case OT_KEY:
		if (is_ident(c)) {
			*rc = o_put(d, c);
			return 0;
		}
		d->otok = OT_NONE;
		d->oexp = OX_COLON;
		*rc = o_put(d, '"');
		return 1;
	case OT_WORD:
		if (is_ident(c)) {
			if (d->owlen == sizeof(d->oword))
				*rc = o_end(d);
			else
				d->oword[d->owlen++] = c;
			return 0;
		}
		d->otok = OT_NONE;
		/* A name or a call is code, not a literal. */
		if (!o_word_is(d, "true") && !o_word_is(d, "false") &&
		    !o_word_is(d, "null")) {
			*rc = o_end(d);
			return 0;
		}
		for (k = 0; k < d->owlen; k++)
			if (o_put(d, d->oword[k]) != 0)
				*rc = -1;
		d->oexp = OX_AFTER;
		return 1;
	case OT_NUM:
		if (is_ident(c) || c == '.' || ((c == '+' || c == '-') &&
		    (d->oprev == 'e' || d->oprev == 'E'))) {
			d->oprev = c;
			*rc = o_put(d, c);
			return 0;
		}
		d->otok = OT_NONE;
		d->oexp = OX_AFTER;
		return 1;
	case OT_SLASH:
		if (c == '/')
			d->otok = OT_LINE;
		else if (c == '*') {
			d->otok = OT_BLOCK;
			d->ostar = 0;
		} else
			*rc = o_end(d);	/* a division or a regex */
		return 0;
	case OT_LINE:
		if (c == '\n')
			d->otok = OT_NONE;
		return 0;
	case OT_BLOCK:
		if (d->ostar && c == '/')
			d->otok = OT_NONE;
		d->ostar = c == '*';
		return 0;
	default:
		return 1;
	}
}

/*
 * o_byte() : one byte of the file while an object literal is open: it
 * goes on as JSON, or ends the piece.
 */
static int
o_byte(struct pol_dec *d, unsigned char c)
{
	int	 rc, top;

	if (!o_tok(d, c, &rc) || rc != 0 || d->ost != O_ON)
		return rc;
	if (is_blank(c))
		return 0;
	if (c == '/') {
		d->otok = OT_SLASH;
		return 0;
	}
	top = (int)(d->ostack >> (d->odepth - 1) & 1);
	switch (d->oexp) {
	case OX_KEY:
		if (c == '}')
			return o_close(d, c);
		if (o_comma(d) != 0)
			return -1;
		if (c == '"' || c == '\'') {
			d->otok = OT_STR;
			d->oq = c;
			d->okey = 1;
			d->oesc = d->odollar = 0;
			return o_put(d, '"');
		}
		if (is_ident(c)) {
			d->otok = OT_KEY;
			if (o_put(d, '"') != 0)
				return -1;
			return o_put(d, c);
		}
		return o_end(d);	/* [computed], ...spread */
	case OX_COLON:
		if (c != ':')
			return o_end(d);	/* shorthand, method */
		d->oexp = OX_VALUE;
		return o_put(d, c);
	case OX_VALUE:
		if (c == ']' && !top)
			return o_close(d, c);
		if (o_comma(d) != 0)
			return -1;
		if (c == '{' || c == '[')
			return o_open(d, c);
		if (c == '"' || c == '\'' || c == '`') {
			d->otok = OT_STR;
			d->oq = c;
			d->okey = 0;
			d->oesc = d->odollar = 0;
			return o_put(d, '"');
		}
		if ((c >= '0' && c <= '9') || c == '-' || c == '.') {
			d->otok = OT_NUM;
			d->oprev = c;
			return o_put(d, c);
		}
		if (is_ident(c)) {
			d->otok = OT_WORD;
			d->owlen = 0;
			d->oword[d->owlen++] = c;
			return 0;
		}
		return o_end(d);
	default:	/* OX_AFTER */
		if (c == ',') {
			d->ocomma = 1;
			d->oexp = top ? OX_KEY : OX_VALUE;
			return 0;
		}
		if (c == '}' || c == ']')
			return o_close(d, c);
		return o_end(d);	/* an operator: code */
	}
}

/*
 * o_trigger() : a '3' at buf[i]: if `{ version :` (key quoted or not)
 * stands behind it, an object literal's piece starts at its '{' with
 * `{"version":`, and the '3' is its first value.
 */
static int
o_trigger(struct pol_dec *d, const unsigned char *buf, size_t i)
{
	static const char key[] = "version";
	size_t	 k = 1, n, j;
	int	 q = 0, c;

	if (before(d, buf, i, k) == ' ')
		k++;
	if (before(d, buf, i, k++) != ':')
		return 0;
	for (n = 0; n < 4 && is_blank(before(d, buf, i, k)); n++)
		k++;
	c = before(d, buf, i, k);
	if (c == '"' || c == '\'') {
		q = c;
		k++;
	}
	for (j = 0; j < sizeof(key) - 1; j++, k++)
		if (before(d, buf, i, k) != (unsigned char)key[sizeof(key) - 2 -
		    j])
			return 0;
	if (q != 0 && before(d, buf, i, k++) != q)
		return 0;
	for (n = 0; n < DEC_OBJ_WS && is_blank(before(d, buf, i, k)); n++)
		k++;
	if (before(d, buf, i, k) != '{')
		return 0;
	/* The file's own first byte: the judge reads the file as a map. */
	if (!d->lead && d->lead_at == d->off - k)
		return 0;
	d->ost = O_ON;
	d->odepth = 1;
	d->ostack = 1;
	d->otok = OT_NONE;
	d->oexp = OX_VALUE;
	d->ocomma = 0;
	if (piece_begin(d, POL_DEC_OBJ, d->off - k) != 0)
		return -1;
	for (j = 0; j < sizeof("{\"version\":") - 1; j++)
		if (o_put(d, (unsigned char)"{\"version\":"[j]) != 0)
			return -1;
	return o_byte(d, buf[i]);
}

/* step() : buf[i] through every watcher, one byte at a time. */
static int
step(struct pol_dec *d, const unsigned char *buf, size_t i)
{
	unsigned char	 c = buf[i];
	int		 rc;

	if (c == '=' && before(d, buf, i, 1) == 'L' && sm_ends(d, buf, i))
		d->smurl = 1;
	else if (c == '\n')
		d->smurl = 0;
	rc = j_byte(d, c);
	if (d->ost == O_ON)
		rc |= o_byte(d, c);
	else if (c == '3' && d->oon && d->jst == J_IDLE)
		rc |= o_trigger(d, buf, i);
	/* The common case: a byte no watcher wants, none running. */
	if (d->bst != B_IDLE || d->pst != P_IDLE ||
	    (d->cls[c] & C_B64) != 0 || c == '%') {
		rc |= b_byte(d, c);
		rc |= p_byte(d, c);
	}
	d->off++;
	return rc;
}

/*
 * skip() : from buf[i] (i > 0, every watcher idle or holding a short
 * base64 run, jprev == buf[i - 1]), passes over the bytes in which
 * stepping each would change nothing but the run length and jprev: no
 * trigger ('%', '{' after a quote, the '=' of SM_NEEDLE, '\n' after it),
 * no base64 run reaching DEC_B64_MIN.  Returns where the bytes must be
 * stepped again, the state as if they had been; *trig says that byte is
 * a trigger, else a base64 run that reaches DEC_B64_MIN goes on there
 * (or the buffer ends).
 */
static size_t
skip(struct pol_dec *d, const unsigned char *buf, size_t i, size_t len,
    int *trig)
{
	size_t		 start = i, run, k, t, e;
	unsigned int	 m, s, low;

	*trig = 0;
	run = d->bst == B_HOLD ? d->blen : 0;
	for (;;) {
		i = d->pass(d, buf, i, len, &run);
		if (len - i < DEC_BLK)
			break;
		/* Where in this block, and why. */
		s = blk(d, buf + i, d->smurl, &m);
		if (s != 0) {
			/* Up to the first trigger (never a base64 character). */
			t = (size_t)__builtin_ctz(s);
			low = (1u << t) - 1;
			if ((m & low) == low) {
				if (run + t >= DEC_B64_MIN)
					break;
				run += t;
			} else {
				if (run + (size_t)__builtin_ctz(~m) >= DEC_B64_MIN)
					break;
				run = (size_t)__builtin_clz(~((m & low) <<
				    (32 - t)));
			}
			i += t;
			*trig = 1;
			break;
		}
		if (m != 0xffff && run_on(&run, m, DEC_BLK)) {
			i += DEC_BLK;	/* the pass's block was wider */
			continue;
		}
		/* A base64 run: a long identifier is passed over whole. */
		e = d->runend(d, buf, i, len);
		if (run + (e - i) >= DEC_B64_MIN)
			break;
		run += e - i;
		i = e;
	}
	if (i == start)
		return i;
	d->off += i - start;
	d->jprev = buf[i - 1];
	if (run > i - start) {
		/* The run held before goes on (bst is B_HOLD). */
		for (k = start; k < i; k++) {
			d->bhold[d->blen++] = buf[k];
			if ((d->cls[buf[k]] & C_HEX) == 0)
				d->ballhex = 0;
		}
		return i;
	}
	d->bst = run == 0 ? B_IDLE : d->smurl ? B_DEAD : B_HOLD;
	d->blen = run;
	if (d->bst == B_HOLD) {
		d->bat = d->off - run;
		d->ballhex = 1;
		for (k = 0; k < run; k++) {
			d->bhold[k] = buf[i - run + k];
			if ((d->cls[d->bhold[k]] & C_HEX) == 0)
				d->ballhex = 0;
		}
	}
	return i;
}

/*
 * b_bulk() : a base64 or hex piece (or a dead run) going on while the
 * other watchers are idle: its characters from buf[i] are decoded (or
 * passed over) at once; none of them can wake another watcher.  Returns
 * the end of the characters, or -1 through *rc on a sink failure.
 */
static size_t
b_bulk(struct pol_dec *d, const unsigned char *buf, size_t i, size_t len,
    int *rc)
{
	unsigned char	*o;
	size_t		 j = i, n, room, got, k;
	unsigned char	 c;
	int		 kind;

	j = d->runend(d, buf, i, len);
	if (j == i)
		return i;
	d->off += j - i;
	d->jprev = buf[j - 1];
	if (d->bst == B_DEAD)
		return j;
	kind = d->bst == B_HEX ? POL_DEC_HEX : POL_DEC_B64;
	for (; i < j; i += n) {
		room = DEC_OUT - d->olen[kind];
		if (room < 8) {
			if (d->fn(d->arg, kind, POL_DEC_DATA, d->out[kind],
			    d->olen[kind], 0) != 0)
				*rc = -1;
			d->olen[kind] = 0;
			room = DEC_OUT;
		}
		o = d->out[kind] + d->olen[kind];
		got = 0;
		if (kind == POL_DEC_HEX) {
			/* Two digits a byte; other letters are passed over. */
			n = j - i < room ? j - i : room;
			for (k = 0; k < n; k++) {
				c = buf[i + k];
				if ((d->cls[c] & C_HEX) == 0)
					continue;
				d->hexv = (d->hexv << 4 | hexval(c)) & 0xff;
				if (++d->nib == 2) {
					d->nib = 0;
					o[got++] = (unsigned char)d->hexv;
				}
			}
		} else {
			/* At most 3 bytes for every 4 characters, with up
			   to 3 pending: (room / 3 - 1) * 4 fit. */
			n = (room / 3 - 1) * 4;
			if (n > j - i)
				n = j - i;
			/* An error is sticky: what came before it counts. */
			(void)pol_b64_decode(&d->b64, buf + i, n, o, &got);
		}
		d->olen[kind] += got;
	}
	if (d->olen[kind] == DEC_OUT) {
		d->olen[kind] = 0;
		if (d->fn(d->arg, kind, POL_DEC_DATA, d->out[kind], DEC_OUT,
		    0) != 0)
			*rc = -1;
	}
	return j;
}

/* text() : the next bytes of a file that is not UTF-16. */
static int
text(struct pol_dec *d, const unsigned char *buf, size_t len)
{
	size_t	 i, lim;
	int	 rc = 0, trig;

	/* Where the file's first non-blank byte is (after a UTF-8 BOM). */
	for (i = 0; d->lead && i < len; i++) {
		if (is_blank(buf[i]) || (d->off + i < 3 &&
		    buf[i] == (unsigned char)"ï»¿"[d->off + i]))
			continue;
		d->lead = 0;
		d->lead_at = d->off + i;
	}

	/*
	 * Most text wakes no watcher: skip() passes over it a block at a
	 * time.  A block that may wake one is stepped a byte at a time, so
	 * are the bytes while a percent run, a JS string or an object
	 * literal is open; a base64 or hex piece alone is decoded a run at a
	 * time by b_bulk().
	 */
	for (i = 0; i < len;) {
		if (i > 0 && d->jst == J_IDLE && d->pst == P_IDLE &&
		    d->ost == O_IDLE && (d->bst == B_IDLE || d->bst == B_HOLD) &&
		    d->jprev == buf[i - 1] && len - i >= DEC_BLK) {
			i = skip(d, buf, i, len, &trig);
			if (trig) {
				rc |= step(d, buf, i++);
				continue;
			}
			/* A long run: stepped until its piece starts. */
			lim = len - i < DEC_B64_MIN ? len : i + DEC_B64_MIN;
			while (i < lim && (d->bst == B_IDLE || d->bst == B_HOLD))
				rc |= step(d, buf, i++);
			continue;
		}
		if ((d->bst == B_B64 || d->bst == B_HEX || d->bst == B_DEAD) &&
		    d->jst == J_IDLE && d->ost == O_IDLE &&
		    (d->pst == P_IDLE || d->pst == P_DEAD)) {
			lim = b_bulk(d, buf, i, len, &rc);
			if (lim > i) {
				i = lim;
				continue;
			}
		}
		rc |= step(d, buf, i++);
	}
	/* The last bytes, for a needle split across calls. */
	if (len >= DEC_TAIL)
		memcpy(d->tail, buf + len - DEC_TAIL, DEC_TAIL);
	else {
		memmove(d->tail, d->tail + len, DEC_TAIL - len);
		memcpy(d->tail + DEC_TAIL - len, buf, len);
	}
	return rc;
}

/*
 * pol_dec_data() : the next bytes of the file.  Its first DEC_U16_SNIFF
 * bytes are held until they tell whether it is UTF-16, so every split
 * of a file gives the same pieces.
 */
int
pol_dec_data(struct pol_dec *d, const unsigned char *buf, size_t len)
{
	size_t	 i, k = 0;

	if (d->ust == U_SNIFF) {
		while (k < len && d->ulen < DEC_U16_SNIFF)
			d->usniff[d->ulen++] = buf[k++];
		if (d->ulen < DEC_U16_SNIFF)
			return 0;
		if (u_decide(d) != 0)
			return -1;
		if (d->ust == U_NO && text(d, d->usniff, d->ulen) != 0)
			return -1;
	}
	if (d->ust == U_LE || d->ust == U_BE) {
		/* u_decide() handed on the sniffed bytes. */
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
		d->off += len - k;
		return 0;
	}
	return text(d, buf + k, len - k);
}

int
pol_dec_end(struct pol_dec *d)
{
	int rc = 0;

	/* A file shorter than the sniff: decided on what there is. */
	if (d->ust == U_SNIFF && d->ulen > 0) {
		if (u_decide(d) != 0)
			rc = -1;
		else if (d->ust == U_NO)
			rc |= text(d, d->usniff, d->ulen);
	}
	if (d->ust == U_LE || d->ust == U_BE)
		rc |= piece_end(d, POL_DEC_U16);
	rc |= b_end(d);
	rc |= p_end(d);
	rc |= j_end(d);
	if (d->ost == O_ON)
		rc |= o_end(d);
	d->ust = U_NO;
	return rc;
}
