/*
 * tests/fuzz/fuzz_json.c: libFuzzer target for the streaming JSON scanner
 * (policy/json.c).
 *
 * Input: byte 0 picks the depth cap, byte 1 the chunk boundaries, byte 2
 * an event at which the callback stops or aborts; the rest is the JSON
 * text.  It is scanned in one feed and again in chunks; both runs must
 * give the same rc, error text and offset, and the same event stream
 * (string chunks joined, so only their bytes count).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy-int.h"
#include "split.h"

struct run {
	uint64_t	 h;
	unsigned long	 events;
	unsigned long	 stop_at;	/* 0: never */
	int		 stop_rc;	/* 1 or -1 */
	int		 in_str;
};

static int
cb(void *arg, enum pol_json_ev ev, const char *s, size_t len, int depth)
{
	struct run *r = arg;
	unsigned char t[2];
	uint64_t l = len;

	FZ_CHECK(depth >= 0 && depth <= POL_JSON_DEPTH_MAX);
	if (ev == POL_JSON_STR_CHUNK) {
		FZ_CHECK(r->in_str && len > 0 && s != NULL);
		r->h = fz_hash(r->h, s, len);
		return 0;
	}
	if (ev == POL_JSON_STR_BEGIN)
		r->in_str = 1;
	else if (ev == POL_JSON_STR_END)
		r->in_str = 0;
	t[0] = (unsigned char)ev;
	t[1] = (unsigned char)depth;
	r->h = fz_hash(r->h, t, 2);
	if (ev == POL_JSON_KEY || ev == POL_JSON_NUMBER) {
		FZ_CHECK(ev != POL_JSON_KEY || len <= POL_JSON_KEY_MAX);
		FZ_CHECK(ev != POL_JSON_NUMBER ||
		    (len > 0 && len <= POL_JSON_SCALAR_MAX));
		r->h = fz_hash(r->h, &l, sizeof(l));
		r->h = fz_hash(r->h, s, len);
	}
	if (++r->events == r->stop_at)
		return r->stop_rc;
	return 0;
}

/* scan() : one run; sp NULL means one feed.  Returns the final rc. */
static enum pol_json_rc
scan(const uint8_t *d, size_t len, int depth, struct run *r,
    struct fz_split *sp, struct pol_json *j)
{
	enum pol_json_rc rc = POL_JSON_OK;
	size_t off = 0, n;

	pol_json_init(j, depth, cb, r);
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		rc = pol_json_feed(j, d + off, n);
		off += n;
		if (rc != POL_JSON_OK)
			break;
	}
	if (rc == POL_JSON_OK)
		rc = pol_json_finish(j);
	/* Sticky. */
	FZ_CHECK(rc == POL_JSON_OK || pol_json_feed(j, "1", 1) == rc);
	return rc;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_json j1, j2;
	struct run r1, r2;
	struct fz_split sp;
	enum pol_json_rc rc1, rc2;
	int depth;

	if (size < 3)
		return 0;
	depth = (data[0] & 0x40) ? 1 + (data[0] & 0x0f) : 0;
	memset(&r1, 0, sizeof(r1));
	r1.h = FZ_HASH_INIT;
	if (data[2] & 0x80) {
		r1.stop_at = 1 + (data[2] & 0x3f);
		r1.stop_rc = (data[2] & 0x40) ? 1 : -1;
	}
	r2 = r1;
	fz_split_init(&sp, data[1]);

	rc1 = scan(data + 3, size - 3, depth, &r1, NULL, &j1);
	rc2 = scan(data + 3, size - 3, depth, &r2, &sp, &j2);
	FZ_CHECK(rc1 == rc2);
	FZ_CHECK(r1.h == r2.h);
	FZ_CHECK(r1.events == r2.events);
	if (rc1 == POL_JSON_ERR_SYNTAX || rc1 == POL_JSON_ERR_LIMIT) {
		FZ_CHECK(j1.err != NULL && j2.err != NULL);
		FZ_CHECK(strcmp(j1.err, j2.err) == 0);
	}
	if (rc1 != POL_JSON_OK)
		FZ_CHECK(j1.offset == j2.offset);
	if (rc1 == POL_JSON_OK)
		FZ_CHECK(!r1.in_str && j1.depth == 0);
	return 0;
}
