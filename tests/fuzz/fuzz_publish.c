/*
 * tests/fuzz/fuzz_publish.c: libFuzzer target for the whole publish
 * pipeline (policy/publish.c and every stage behind it) under the
 * embedded strict policy.
 *
 * Input: byte 0 picks the chunk boundaries, byte 1 the input kind (auto,
 * body, tgz) and whether the URL name is given; the rest is the publish
 * body or tarball.  It is judged in one feed and again in chunks: the
 * verdict and the status must be identical, and for a stream that ended
 * well every fact and reason too (the chunk-split invariant); a stream
 * that did not end well is a deny.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy.h"
#include "split.h"

static struct pol_policy *policy;	/* loaded once; immutable */

static uint64_t
run(const uint8_t *data, size_t size, struct fz_split *sp, int mode,
    enum pol_verdict *v)
{
	struct pol_stream_opts	 o;
	struct pol_stream	*s;
	const struct pol_report	*r;
	enum pol_status		 st = POL_CONTINUE;
	uint64_t		 h = FZ_HASH_INIT;
	size_t			 off = 0, n, i;

	memset(&o, 0, sizeof(o));
	o.input = (enum pol_input)(mode % 3);
	o.url_name = (mode & 4) ? "@acme/x" : NULL;
	s = pol_publish_new(policy, &o);
	FZ_CHECK(s != NULL);
	while (off < size && st == POL_CONTINUE) {
		n = sp != NULL ? fz_split_next(sp, size - off) : size - off;
		st = pol_publish_feed(s, data + off, n);
		off += n;
	}
	*v = pol_publish_end(s, &r);
	FZ_CHECK(r->verdict == *v);
	if (r->status != POL_DONE)
		FZ_CHECK(*v == POL_DENY);
	if (*v == POL_ALLOW)
		FZ_CHECK(r->nreasons_total == 0);
	FZ_CHECK(r->nreasons <= POL_REASONS_MAX);
	h = fz_hash(h, v, sizeof(*v));
	h = fz_hash(h, &r->status, sizeof(r->status));
	/*
	 * A broken input (truncated, corrupt) is a deny whatever the split,
	 * but how far each scanner got into the file the input broke off in
	 * depends on the split: only a stream that ended well must agree on
	 * every fact and reason.
	 */
	if (r->status != POL_DONE) {
		pol_publish_free(s);
		return h;
	}
	h = fz_hash(h, r->name, strlen(r->name));
	h = fz_hash(h, r->version, strlen(r->version));
	h = fz_hash(h, r->sha512_hex, strlen(r->sha512_hex));
	h = fz_hash(h, &r->file_count, sizeof(r->file_count));
	h = fz_hash(h, &r->unpacked_bytes, sizeof(r->unpacked_bytes));
	h = fz_hash(h, &r->nreasons_total, sizeof(r->nreasons_total));
	for (i = 0; i < r->nreasons; i++) {
		h = fz_hash(h, r->reasons[i].rule, strlen(r->reasons[i].rule));
		h = fz_hash(h, r->reasons[i].file, strlen(r->reasons[i].file));
		h = fz_hash(h, r->reasons[i].text, strlen(r->reasons[i].text));
	}
	pol_publish_free(s);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_errors	 errs;
	struct fz_split		 sp;
	enum pol_verdict	 v1, v2;
	uint64_t		 h1, h2;
	int			 mode;

	if (policy == NULL) {
		policy = pol_load_default(&errs);
		FZ_CHECK(policy != NULL);
	}
	if (size < 2)
		return 0;
	fz_split_init(&sp, data[0]);
	mode = data[1];
	h1 = run(data + 2, size - 2, NULL, mode, &v1);
	h2 = run(data + 2, size - 2, &sp, mode, &v2);
	FZ_CHECK(v1 == v2);
	FZ_CHECK(h1 == h2);
	return 0;
}
