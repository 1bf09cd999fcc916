/*
 * policy/json.c: the streaming JSON scanner (RFC 8259, strict).
 *
 * Owns the byte-level grammar of JSON: it turns any split of a JSON text
 * into the events of policy-int.h (containers, whole keys, string values
 * as unescaped chunks, whole number literals, literals).  It builds no
 * tree: publish.c and the package.json reader keep what they need.  It
 * depends on nothing but libc, never logs and never allocates; all state
 * lives in struct pol_json, capped by POL_JSON_*_MAX.
 *
 * Data flow: pol_json_feed() runs a byte state machine over the caller's
 * buffer.  Inside a string the common case is a long run of plain bytes
 * (a base64 attachment is hundreds of MB of them); str_span() finds the
 * end of such a run 16 bytes at a time and the run is handed to the
 * callback in place, borrowed for the call.  Short runs and unescaped
 * escape sequences are gathered in a small buffer on the stack first so
 * that escape-heavy text costs few callbacks.
 *
 * String bytes must be well-formed UTF-8 (RFC 8259 section 8.1); they
 * are passed on as they are, escapes are decoded to UTF-8.
 *
 * Duplicate keys (opt-in, pol_json_dupkeys()): JSON.parse keeps the last
 * of two equal keys, a streaming reader acts on the first, so a reader
 * that must agree with JSON.parse refuses them.  Each open object keeps
 * a small open-addressing set of SipHash-1-3 values of its unescaped
 * keys, under a key drawn at random per scanner (so that crafted keys
 * cannot pile up in one probe chain); the set is dropped when the object
 * closes.  Two different keys with the same 64-bit hash read as a
 * duplicate: a refusal, never an allow.  This part allocates (bounded by
 * POL_JSON_KEYS_MAX held keys).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/random.h>
#endif

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "policy-int.h"

enum {
	ST_START = 0,	/* first byte: maybe a BOM */
	ST_BOM1,	/* EF seen, want BB */
	ST_BOM2,	/* EF BB seen, want BF */
	ST_VALUE,	/* want a value */
	ST_ARR_FIRST,	/* after '[': a value or ']' */
	ST_OBJ_FIRST,	/* after '{': a key or '}' */
	ST_KEY,		/* after ',' in an object: a key */
	ST_COLON,	/* after a key */
	ST_AFTER,	/* after a value: ',' or a closer */
	ST_DONE,	/* top-level value complete: whitespace only */
	ST_STR,		/* inside a string (key if in_key) */
	ST_ESC,		/* after '\' */
	ST_U,		/* in the hex digits of \uXXXX */
	ST_U_BS,	/* after a high surrogate: want '\' */
	ST_U_U,		/* after a high surrogate and '\': want 'u' */
	ST_LIT,		/* in true, false or null */
	ST_NUM_MINUS,	/* "-" */
	ST_NUM_ZERO,	/* "0" or "-0" */
	ST_NUM_INT,	/* integer digits */
	ST_NUM_DOT,	/* "1." */
	ST_NUM_FRAC,	/* fraction digits */
	ST_NUM_E,	/* "1e" */
	ST_NUM_ESIGN,	/* "1e+" */
	ST_NUM_EXP,	/* exponent digits */
};

/* Bytes that end a plain run inside a string. */
static const unsigned char str_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,	/* '\\' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* UTF-8 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Runs at least this long go to the callback in place, not copied. */
#define JSON_BORROW_MIN	128
#define JSON_OUTBUF	1024

/* Pending STR_CHUNK bytes of one feed call (stack only). */
struct outbuf {
	size_t	 len;
	char	 buf[JSON_OUTBUF];
};

/* ------------------------------------------------------ duplicate keys */

#define KEYS_SLOTS_MIN	16	/* first table of an object */
#define KEYS_SLOTS_KEEP	256	/* larger tables are freed on close */

struct keyset {
	uint64_t	*slot;		/* 0: empty */
	uint32_t	 size;		/* slots, a power of two; 0 if none */
	uint32_t	 n;		/* keys held */
};

struct pol_json_keys {
	uint64_t	 k0, k1;	/* SipHash key */
	size_t		 total;		/* keys held in all sets */
	struct keyset	 set[POL_JSON_DEPTH_MAX + 1];	/* by key depth */
};

#define ROTL64(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);	\
	v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);	\
} while (0)

/* siphash13() : SipHash-1-3 of s under (k0, k1). */
static uint64_t
siphash13(uint64_t k0, uint64_t k1, const unsigned char *s, size_t len)
{
	uint64_t	 v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t	 v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t	 v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t	 v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t	 m;
	size_t		 i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		m = (uint64_t)s[i] | (uint64_t)s[i + 1] << 8 |
		    (uint64_t)s[i + 2] << 16 | (uint64_t)s[i + 3] << 24 |
		    (uint64_t)s[i + 4] << 32 | (uint64_t)s[i + 5] << 40 |
		    (uint64_t)s[i + 6] << 48 | (uint64_t)s[i + 7] << 56;
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	m = (uint64_t)len << 56;
	while (left > 0) {
		left--;
		m |= (uint64_t)s[i + left] << (8 * left);
	}
	v3 ^= m;
	SIPROUND;
	v0 ^= m;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* keys_close() : drops the keys of the object whose keys are at depth d. */
static void
keys_close(struct pol_json_keys *k, int d)
{
	struct keyset	*ks = &k->set[d];

	k->total -= ks->n;
	ks->n = 0;
	if (ks->size > KEYS_SLOTS_KEEP) {
		free(ks->slot);
		ks->slot = NULL;
		ks->size = 0;
	} else if (ks->slot != NULL)
		memset(ks->slot, 0, ks->size * sizeof(*ks->slot));
}

/* keys_put() : inserts h into ks (room is known); 1 if it was there. */
static int
keys_put(struct keyset *ks, uint64_t h)
{
	uint32_t	 mask = ks->size - 1, i = (uint32_t)h & mask;

	while (ks->slot[i] != 0) {
		if (ks->slot[i] == h)
			return 1;
		i = (i + 1) & mask;
	}
	ks->slot[i] = h;
	ks->n++;
	return 0;
}

/*
 * keys_add() : records key (j->key) in the set of depth j->depth.
 * Returns 0, or the rc set (DUPKEY, KEYS, or LIMIT when out of memory).
 */
static int
keys_add(struct pol_json *j)
{
	struct pol_json_keys	*k = j->keys;
	struct keyset		*ks = &k->set[j->depth], grown;
	uint64_t		 h;
	uint32_t		 i;

	if (k->total >= POL_JSON_KEYS_MAX) {
		j->rc = POL_JSON_ERR_KEYS;
		j->err = "too many object keys";
		return j->rc;
	}
	if ((ks->n + 1) * 2 > ks->size) {
		grown.size = ks->size ? ks->size * 2 : KEYS_SLOTS_MIN;
		grown.n = 0;
		if ((grown.slot = calloc(grown.size, sizeof(uint64_t))) ==
		    NULL) {
			j->rc = POL_JSON_ERR_LIMIT;
			j->err = "out of memory for object keys";
			return j->rc;
		}
		for (i = 0; i < ks->size; i++)
			if (ks->slot[i] != 0)
				(void)keys_put(&grown, ks->slot[i]);
		free(ks->slot);
		*ks = grown;
	}
	h = siphash13(k->k0, k->k1, (const unsigned char *)j->key, j->klen);
	if (h == 0)
		h = 1;
	if (keys_put(ks, h)) {
		j->rc = POL_JSON_ERR_DUPKEY;
		j->err = "duplicate object key";
		return j->rc;
	}
	k->total++;
	return 0;
}

int
pol_json_dupkeys(struct pol_json *j)
{
	struct pol_json_keys	*k;
	uint64_t		 seed[2] = { 0, 0 };

	if (j->keys != NULL)
		return 0;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -1;
#if defined(__linux__)
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
#else
	arc4random_buf(seed, sizeof(seed));
	if (0)
#endif
	{
		/* Still correct, only easier to flood: mix in addresses. */
		seed[0] = (uint64_t)(uintptr_t)k ^ 0x9e3779b97f4a7c15ULL;
		seed[1] = (uint64_t)(uintptr_t)j ^ (uint64_t)(uintptr_t)&seed;
	}
	k->k0 = seed[0];
	k->k1 = seed[1];
	j->keys = k;
	return 0;
}

void
pol_json_free(struct pol_json *j)
{
	size_t	 i;

	if (j == NULL || j->keys == NULL)
		return;
	for (i = 0; i <= POL_JSON_DEPTH_MAX; i++)
		free(j->keys->set[i].slot);
	free(j->keys);
	j->keys = NULL;
}

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * str_span() : the first byte in [p, end) that ends a plain ASCII run
 * ('"', '\\', a control byte or a byte over 0x7f), or end.
 */
static const unsigned char *
str_span(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	__m128i x, y, mx, my;
	unsigned int m;

	while (end - p >= 32) {
		x = _mm_loadu_si128((const __m128i *)(const void *)p);
		y = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
		mx = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
		    _mm_cmpeq_epi8(x, bslash)),
		    _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x));
		my = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, quote),
		    _mm_cmpeq_epi8(y, bslash)),
		    _mm_cmpeq_epi8(_mm_min_epu8(y, ctl), y));
		mx = _mm_or_si128(mx, x);	/* the top bit: non-ASCII */
		my = _mm_or_si128(my, y);
		m = (unsigned int)_mm_movemask_epi8(mx) |
		    ((unsigned int)_mm_movemask_epi8(my) << 16);
		if (m != 0)
			return p + __builtin_ctz(m);
		p += 32;
	}
#endif
	while (p < end && !str_stop[*p])
		p++;
	return p;
}

/*
 * str_run() : the end of the run of string bytes at p that need no
 * unescaping: ASCII other than '"', '\\' and control bytes, and
 * well-formed UTF-8 (RFC 3629: no overlongs, surrogates or code points
 * over U+10FFFF).  A sequence cut by the end of the buffer is kept in
 * j->u_digits (continuation bytes still due) and j->u_pending (their
 * allowed range, lo << 8 | hi); those fields serve \\u escapes only
 * outside such a sequence.  *bad is set when the run ends at a byte
 * that breaks UTF-8.
 */
static const unsigned char *
str_run(struct pol_json *j, const unsigned char *p, const unsigned char *end,
    int *bad)
{
	unsigned char c;

	*bad = 0;
	for (;;) {
		while (j->u_digits > 0) {
			if (p == end)
				return p;
			if (*p < (j->u_pending >> 8) ||
			    *p > (j->u_pending & 0xff)) {
				*bad = 1;
				return p;
			}
			p++;
			j->u_digits--;
			j->u_pending = 0x80bf;
		}
		p = str_span(p, end);
		if (p == end || *p < 0x80)
			return p;
		c = *p;
		if (c >= 0xc2 && c <= 0xdf) {
			j->u_digits = 1;
			j->u_pending = 0x80bf;
		} else if (c >= 0xe0 && c <= 0xef) {
			j->u_digits = 2;
			j->u_pending = c == 0xe0 ? 0xa0bf :
			    c == 0xed ? 0x809f : 0x80bf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			j->u_digits = 3;
			j->u_pending = c == 0xf0 ? 0x90bf :
			    c == 0xf4 ? 0x808f : 0x80bf;
		} else {
			*bad = 1;
			return p;
		}
		p++;
	}
}

/*
 * emit() : calls the callback; 0 to go on, else the sticky rc is set
 * (STOP for 1, ABORT for anything else) and returned.
 */
static int
emit(struct pol_json *j, enum pol_json_ev ev, const char *s, size_t len,
    int depth)
{
	int r;

	r = j->cb(j->arg, ev, s, len, depth);
	if (r == 0)
		return 0;
	j->rc = r == 1 ? POL_JSON_STOP : POL_JSON_ABORT;
	return j->rc;
}

/* flush() : hands the pending chunk bytes to the callback; 0 or rc. */
static int
flush(struct pol_json *j, struct outbuf *ob)
{
	size_t n = ob->len;

	if (n == 0)
		return 0;
	ob->len = 0;
	return emit(j, POL_JSON_STR_CHUNK, ob->buf, n, j->depth);
}

/*
 * put() : appends unescaped string bytes to the key (in a key) or to the
 * pending chunk (in a value).  Returns 0 or a non-OK rc (already set).
 */
static int
put(struct pol_json *j, struct outbuf *ob, const char *s, size_t n)
{
	size_t room;

	if (j->in_key) {
		if (n > POL_JSON_KEY_MAX - j->klen) {
			j->rc = POL_JSON_ERR_LIMIT;
			j->err = "object key too long";
			return j->rc;
		}
		memcpy(j->key + j->klen, s, n);
		j->klen += n;
		return 0;
	}
	if (n >= JSON_BORROW_MIN) {
		if (flush(j, ob) != 0)
			return j->rc;
		return emit(j, POL_JSON_STR_CHUNK, s, n, j->depth);
	}
	while (n > 0) {
		room = sizeof(ob->buf) - ob->len;
		if (room == 0) {
			if (flush(j, ob) != 0)
				return j->rc;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(ob->buf + ob->len, s, room);
		ob->len += room;
		s += room;
		n -= room;
	}
	return 0;
}

/* put_cp() : appends code point cp as UTF-8; 0 or rc. */
static int
put_cp(struct pol_json *j, struct outbuf *ob, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(j, ob, u, n);
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * num_end() : the number literal in j->scalar is complete; validates the
 * final state and delivers it.  Returns 0 or rc.
 */
static int
num_end(struct pol_json *j)
{
	switch (j->state) {
	case ST_NUM_ZERO:
	case ST_NUM_INT:
	case ST_NUM_FRAC:
	case ST_NUM_EXP:
		break;
	default:
		j->rc = POL_JSON_ERR_SYNTAX;
		j->err = "malformed number";
		return j->rc;
	}
	j->state = ST_AFTER;
	return emit(j, POL_JSON_NUMBER, j->scalar, j->slen, j->depth);
}

/* push() : opens a container of kind 'o' or 'a'; 0 or rc. */
static int
push(struct pol_json *j, uint8_t kind)
{
	if (j->depth >= j->max_depth) {
		j->rc = POL_JSON_ERR_LIMIT;
		j->err = "nesting too deep";
		return j->rc;
	}
	if (emit(j, kind == 'o' ? POL_JSON_OBJ_BEGIN : POL_JSON_ARR_BEGIN,
	    NULL, 0, j->depth) != 0)
		return j->rc;
	j->stack[j->depth++] = kind;
	j->state = kind == 'o' ? ST_OBJ_FIRST : ST_ARR_FIRST;
	/* A set left by an aborted scan is cleared before reuse. */
	if (kind == 'o' && j->keys != NULL && j->keys->set[j->depth].n > 0)
		keys_close(j->keys, j->depth);
	return 0;
}

/* pop() : closes the innermost container with closer c; 0 or rc. */
static int
pop(struct pol_json *j, unsigned char c)
{
	uint8_t want = c == '}' ? 'o' : 'a';

	if (j->depth == 0 || j->stack[j->depth - 1] != want) {
		j->rc = POL_JSON_ERR_SYNTAX;
		j->err = "mismatched closing bracket";
		return j->rc;
	}
	if (want == 'o' && j->keys != NULL)
		keys_close(j->keys, j->depth);
	j->depth--;
	j->state = ST_AFTER;
	return emit(j, want == 'o' ? POL_JSON_OBJ_END : POL_JSON_ARR_END,
	    NULL, 0, j->depth);
}

/*
 * value_start() : c starts a value (state ST_VALUE); returns 0 with the
 * byte consumed, or rc.
 */
static int
value_start(struct pol_json *j, unsigned char c)
{
	switch (c) {
	case '{':
		return push(j, 'o');
	case '[':
		return push(j, 'a');
	case '"':
		j->in_key = 0;
		j->state = ST_STR;
		return emit(j, POL_JSON_STR_BEGIN, NULL, 0, j->depth);
	case 't':
	case 'f':
	case 'n':
		j->scalar[0] = (char)c;
		j->slen = 1;
		j->state = ST_LIT;
		return 0;
	case '-':
		j->scalar[0] = '-';
		j->slen = 1;
		j->state = ST_NUM_MINUS;
		return 0;
	default:
		if (c >= '0' && c <= '9') {
			j->scalar[0] = (char)c;
			j->slen = 1;
			j->state = c == '0' ? ST_NUM_ZERO : ST_NUM_INT;
			return 0;
		}
		j->rc = POL_JSON_ERR_SYNTAX;
		j->err = "unexpected byte, want a value";
		return j->rc;
	}
}

/*
 * pol_json_init() : resets j to scan one JSON text; a max_depth of 0 or
 * over POL_JSON_DEPTH_MAX means POL_JSON_DEPTH_MAX.
 */
void
pol_json_init(struct pol_json *j, int max_depth, pol_json_cb cb, void *arg)
{
	memset(j, 0, sizeof(*j));
	if (max_depth <= 0 || max_depth > POL_JSON_DEPTH_MAX)
		max_depth = POL_JSON_DEPTH_MAX;
	j->max_depth = max_depth;
	j->cb = cb;
	j->arg = arg;
	j->state = ST_START;
	j->rc = POL_JSON_OK;
}

/*
 * pol_json_feed() : scans len more bytes.  Returns POL_JSON_OK when all
 * were consumed, else the sticky rc; on an error j->err says why and
 * j->offset is the offset of the offending byte.
 */
enum pol_json_rc
pol_json_feed(struct pol_json *j, const void *buf, size_t len)
{
	const unsigned char *start = buf, *p = start, *end = p + len, *q;
	struct outbuf ob;
	unsigned char c;
	size_t n;
	int d;

	if (j->rc != POL_JSON_OK)
		return j->rc;
	ob.len = 0;

	while (p < end) {
		c = *p;
		switch (j->state) {
		case ST_STR:
			q = str_run(j, p, end, &d);
			if (q > p) {
				n = POL_JSON_KEY_MAX - j->klen;
				if (j->in_key && (size_t)(q - p) > n) {
					/* Report the first byte over it. */
					p += n;
					j->rc = POL_JSON_ERR_LIMIT;
					j->err = "object key too long";
					goto out;
				}
				if (put(j, &ob, (const char *)p, q - p) != 0)
					goto out;
				p = q;
			}
			if (d) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "invalid UTF-8 in string";
				goto out;
			}
			if (p == end)
				continue;
			c = *p;
			if (c == '"') {
				p++;
				if (j->in_key) {
					j->in_key = 0;
					j->state = ST_COLON;
					if (j->keys != NULL && keys_add(j) != 0)
						goto out;
					if (emit(j, POL_JSON_KEY, j->key,
					    j->klen, j->depth) != 0)
						goto out;
				} else {
					j->state = ST_AFTER;
					if (flush(j, &ob) != 0 ||
					    emit(j, POL_JSON_STR_END, NULL, 0,
					    j->depth) != 0)
						goto out;
				}
			} else if (c == '\\') {
				p++;
				j->state = ST_ESC;
			} else {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "control character in string";
				goto out;
			}
			continue;
		case ST_ESC:
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u':
				j->state = ST_U;
				j->u_digits = 0;
				j->u_pending = 0;
				p++;
				continue;
			default:
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "bad escape in string";
				goto out;
			}
			if (put(j, &ob, (const char *)&c, 1) != 0)
				goto out;
			j->state = ST_STR;
			p++;
			continue;
		case ST_U:
			if ((d = hexval(c)) < 0) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "bad \\u escape";
				goto out;
			}
			j->u_pending = (j->u_pending << 4) | (uint32_t)d;
			if (++j->u_digits < 4) {
				p++;
				continue;
			}
			if (j->u_high != 0) {
				if (j->u_pending < 0xdc00 ||
				    j->u_pending > 0xdfff) {
					j->rc = POL_JSON_ERR_SYNTAX;
					j->err = "lone surrogate in string";
					goto out;
				}
				if (put_cp(j, &ob, 0x10000 +
				    ((j->u_high - 0xd800) << 10) +
				    (j->u_pending - 0xdc00)) != 0)
					goto out;
				j->u_high = 0;
				j->state = ST_STR;
			} else if (j->u_pending >= 0xd800 &&
			    j->u_pending <= 0xdbff) {
				j->u_high = j->u_pending;
				j->state = ST_U_BS;
			} else if (j->u_pending >= 0xdc00 &&
			    j->u_pending <= 0xdfff) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "lone surrogate in string";
				goto out;
			} else {
				if (put_cp(j, &ob, j->u_pending) != 0)
					goto out;
				j->state = ST_STR;
			}
			/* Back in the string, u_digits tracks UTF-8 again. */
			j->u_digits = 0;
			j->u_pending = 0;
			p++;
			continue;
		case ST_U_BS:
		case ST_U_U:
			if (c != (j->state == ST_U_BS ? '\\' : 'u')) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "lone surrogate in string";
				goto out;
			}
			if (j->state == ST_U_BS)
				j->state = ST_U_U;
			else {
				j->state = ST_U;
				j->u_digits = 0;
				j->u_pending = 0;
			}
			p++;
			continue;
		default:
			break;
		}

		/* Everything below works outside strings. */
		if (flush(j, &ob) != 0)
			goto out;
		switch (j->state) {
		case ST_START:
			if (c == 0xef) {
				j->state = ST_BOM1;
				p++;
			} else
				j->state = ST_VALUE;
			continue;
		case ST_BOM1:
		case ST_BOM2:
			if (c != (j->state == ST_BOM1 ? 0xbb : 0xbf)) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "bad byte order mark";
				goto out;
			}
			j->state = j->state == ST_BOM1 ? ST_BOM2 : ST_VALUE;
			p++;
			continue;
		case ST_VALUE:
			if (is_ws(c)) {
				p++;
				continue;
			}
			if (value_start(j, c) != 0)
				goto out;
			p++;
			continue;
		case ST_ARR_FIRST:
			if (is_ws(c)) {
				p++;
				continue;
			}
			if (c == ']') {
				if (pop(j, c) != 0)
					goto out;
			} else if (value_start(j, c) != 0)
				goto out;
			p++;
			continue;
		case ST_OBJ_FIRST:
		case ST_KEY:
			if (is_ws(c)) {
				p++;
				continue;
			}
			if (c == '"') {
				j->in_key = 1;
				j->klen = 0;
				j->state = ST_STR;
			} else if (c == '}' && j->state == ST_OBJ_FIRST) {
				if (pop(j, c) != 0)
					goto out;
			} else {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "unexpected byte, want an object key";
				goto out;
			}
			p++;
			continue;
		case ST_COLON:
			if (is_ws(c)) {
				p++;
				continue;
			}
			if (c != ':') {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "unexpected byte, want ':'";
				goto out;
			}
			j->state = ST_VALUE;
			p++;
			continue;
		case ST_AFTER:
			if (j->depth == 0) {
				j->seen_value = 1;
				j->state = ST_DONE;
				continue;
			}
			if (is_ws(c)) {
				p++;
				continue;
			}
			if (c == ',') {
				j->state = j->stack[j->depth - 1] == 'o' ?
				    ST_KEY : ST_VALUE;
			} else if (c == '}' || c == ']') {
				if (pop(j, c) != 0)
					goto out;
			} else {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "unexpected byte, want ',' or closer";
				goto out;
			}
			p++;
			continue;
		case ST_DONE:
			if (!is_ws(c)) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "data after the top-level value";
				goto out;
			}
			p++;
			continue;
		case ST_LIT: {
			const char *lit = j->scalar[0] == 't' ? "true" :
			    j->scalar[0] == 'f' ? "false" : "null";
			size_t llen = strlen(lit);

			if (c != (unsigned char)lit[j->slen]) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "bad literal";
				goto out;
			}
			p++;
			if (++j->slen < llen)
				continue;
			j->state = ST_AFTER;
			if (emit(j, lit[0] == 't' ? POL_JSON_TRUE :
			    lit[0] == 'f' ? POL_JSON_FALSE : POL_JSON_NULL,
			    NULL, 0, j->depth) != 0)
				goto out;
			continue;
		}
		default:
			break;
		}

		/* Numbers: one byte of the literal, or its end. */
		d = c >= '0' && c <= '9';
		switch (j->state) {
		case ST_NUM_MINUS:
			if (!d)
				goto num_done;
			j->state = c == '0' ? ST_NUM_ZERO : ST_NUM_INT;
			break;
		case ST_NUM_ZERO:
		case ST_NUM_INT:
			if (d && j->state == ST_NUM_INT)
				break;
			if (c == '.')
				j->state = ST_NUM_DOT;
			else if (c == 'e' || c == 'E')
				j->state = ST_NUM_E;
			else if (d) {
				j->rc = POL_JSON_ERR_SYNTAX;
				j->err = "leading zero in number";
				goto out;
			} else
				goto num_done;
			break;
		case ST_NUM_DOT:
		case ST_NUM_FRAC:
			if (d)
				j->state = ST_NUM_FRAC;
			else if (j->state == ST_NUM_FRAC &&
			    (c == 'e' || c == 'E'))
				j->state = ST_NUM_E;
			else
				goto num_done;
			break;
		case ST_NUM_E:
			if (c == '+' || c == '-')
				j->state = ST_NUM_ESIGN;
			else if (d)
				j->state = ST_NUM_EXP;
			else
				goto num_done;
			break;
		case ST_NUM_ESIGN:
		case ST_NUM_EXP:
			if (!d)
				goto num_done;
			j->state = ST_NUM_EXP;
			break;
		default:
			j->rc = POL_JSON_ERR_SYNTAX;
			j->err = "internal: bad scanner state";
			goto out;
		}
		if (j->slen >= POL_JSON_SCALAR_MAX) {
			j->rc = POL_JSON_ERR_LIMIT;
			j->err = "number literal too long";
			goto out;
		}
		j->scalar[j->slen++] = (char)c;
		p++;
		continue;
num_done:
		/* c is not part of the number: deliver it, then rescan c. */
		if (num_end(j) != 0)
			goto out;
	}
	if (flush(j, &ob) != 0)
		goto out;
	j->offset += len;
	return POL_JSON_OK;
out:
	/*
	 * On an input error, string bytes before it are still delivered, so
	 * that every split of the input gives the same events; the callback
	 * cannot change the rc any more.  On STOP or ABORT p is past the
	 * byte that made the event.
	 */
	if ((j->rc == POL_JSON_ERR_SYNTAX || j->rc == POL_JSON_ERR_LIMIT) &&
	    ob.len > 0)
		(void)j->cb(j->arg, POL_JSON_STR_CHUNK, ob.buf, ob.len,
		    j->depth);
	j->offset += (uint64_t)(p - start);
	return j->rc;
}

/*
 * pol_json_finish() : POL_JSON_OK if exactly one complete value was
 * scanned (a top-level number is delivered here), else the sticky rc.
 */
enum pol_json_rc
pol_json_finish(struct pol_json *j)
{
	if (j->rc != POL_JSON_OK)
		return j->rc;
	/* A top-level number ends with the input. */
	if (j->state >= ST_NUM_MINUS && j->state <= ST_NUM_EXP &&
	    j->depth == 0 && num_end(j) != 0)
		return j->rc;
	if (j->state == ST_AFTER && j->depth == 0) {
		j->seen_value = 1;
		j->state = ST_DONE;
	}
	if (j->state == ST_DONE && j->seen_value)
		return POL_JSON_OK;
	j->rc = POL_JSON_ERR_SYNTAX;
	j->err = j->state == ST_START ? "empty JSON text" :
	    "truncated JSON text";
	return j->rc;
}
