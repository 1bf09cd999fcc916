/*
 * tests/fuzz/split.h: helpers shared by the fuzz targets (header only):
 * chunk boundaries chosen by the input's first byte, an FNV-1a hash of
 * an event stream, and a check that aborts (what libFuzzer reports).
 * Depends on libc only; holds no state of its own.
 */
#ifndef PUBGATE_FUZZ_SPLIT_H
#define PUBGATE_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* FZ_CHECK() : aborts with the failed condition (the fuzzer's crash). */
#define FZ_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

struct fz_split {
	uint32_t	 state;
	size_t		 max;
};

/*
 * fz_split_init() : chunk sizes from seed byte b: the low 3 bits pick the
 * largest chunk (1 byte up to 64 KiB), the rest seed the generator.
 */
static inline void
fz_split_init(struct fz_split *sp, uint8_t b)
{
	static const size_t max[8] = { 1, 2, 3, 7, 64, 511, 4096, 65536 };

	sp->max = max[b & 7];
	sp->state = 0x9e3779b9u ^ ((uint32_t)b << 8);
}

/* fz_split_next() : the next chunk size, 1..left (left > 0). */
static inline size_t
fz_split_next(struct fz_split *sp, size_t left)
{
	size_t n;

	sp->state ^= sp->state << 13;
	sp->state ^= sp->state >> 17;
	sp->state ^= sp->state << 5;
	n = 1 + sp->state % sp->max;
	return n > left ? left : n;
}

/* fz_hash() : FNV-1a over n more bytes. */
static inline uint64_t
fz_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FZ_HASH_INIT	0xcbf29ce484222325ull

#endif /* PUBGATE_FUZZ_SPLIT_H */
