/*
 * tests/fuzz/fuzz_http_head.c: libFuzzer target for the request-head
 * model (px_http_head_* in proxy/core/http.c) behind llhttp's strict request
 * parser, wired as conn.c wires them: URL, field and value spans are
 * appended to a capped head; a cap exceeded is HPE_USER (conn.c's 431).
 *
 * Input: byte 0 picks the chunk boundaries, byte 1 the caps (head bytes,
 * field count); the rest is the request.  It is parsed in one call and
 * again in chunks; both runs must agree on how the head ended (complete,
 * incomplete, over a cap, or the same llhttp error), and a complete head
 * must be the same: method, version, URL and every field name and value.
 * The head's invariants (offsets and lengths inside the buffer, under
 * the caps) are checked after each run, and the lookups conn.c and
 * fwd.c make (px_http_head_get, px_http_hop_by_hop) run on it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proxy-int.h"
#include "split.h"

enum end {
	END_INCOMPLETE,		/* input ended inside the head */
	END_HEAD,		/* on_headers_complete */
	END_CAP,		/* a cap of the head model: 431 */
	END_ERROR,		/* an llhttp error: 400 */
};

struct run {
	struct px_head	 head;
	llhttp_t	 p;
	llhttp_settings_t s;
	enum end	 end;
	llhttp_errno_t	 err;
	int		 method, major, minor;
	uint64_t	 h;		/* hash of the complete head */
	size_t		 nhdrs;
};

static int
on_message_begin(llhttp_t *p)
{
	struct run	*r = p->data;

	px_http_head_reset(&r->head);
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	struct run	*r = p->data;

	if (px_http_head_url(&r->head, at, len) == -1) {
		r->end = END_CAP;
		llhttp_set_error_reason(p, "request head too large");
		return HPE_USER;
	}
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct run	*r = p->data;

	if (px_http_head_field(&r->head, at, len) == -1) {
		r->end = END_CAP;
		llhttp_set_error_reason(p, "too many fields or too large");
		return HPE_USER;
	}
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct run	*r = p->data;

	if (px_http_head_value(&r->head, at, len) == -1) {
		r->end = END_CAP;
		llhttp_set_error_reason(p, "request head too large");
		return HPE_USER;
	}
	return 0;
}

/* check_head() : the model's invariants. */
static void
check_head(const struct px_head *h)
{
	size_t	 i;

	FZ_CHECK(h->len <= h->max && h->len <= h->cap);
	FZ_CHECK(h->nhdrs <= h->hdrs_max);
	FZ_CHECK((size_t)h->url + h->url_len <= h->len);
	for (i = 0; i < h->nhdrs; i++) {
		FZ_CHECK((size_t)h->hdrs[i].name + h->hdrs[i].name_len <=
		    h->len);
		FZ_CHECK((size_t)h->hdrs[i].value + h->hdrs[i].value_len <=
		    h->len);
		FZ_CHECK(h->hdrs[i].value >= h->hdrs[i].name +
		    h->hdrs[i].name_len);
	}
}

static int
on_headers_complete(llhttp_t *p)
{
	struct run	*r = p->data;
	struct px_head	*h = &r->head;
	const char	*v;
	uint32_t	 n;
	size_t		 i, vl;

	check_head(h);
	r->end = END_HEAD;
	r->method = p->method;
	r->major = p->http_major;
	r->minor = p->http_minor;
	r->nhdrs = h->nhdrs;
	n = h->url_len;
	r->h = fz_hash(r->h, &n, sizeof(n));
	r->h = fz_hash(r->h, h->buf + h->url, h->url_len);
	for (i = 0; i < h->nhdrs; i++) {
		n = h->hdrs[i].name_len;
		r->h = fz_hash(r->h, &n, sizeof(n));
		r->h = fz_hash(r->h, h->buf + h->hdrs[i].name, n);
		n = h->hdrs[i].value_len;
		r->h = fz_hash(r->h, &n, sizeof(n));
		r->h = fz_hash(r->h, h->buf + h->hdrs[i].value, n);
		n = (uint32_t)px_http_hop_by_hop(h, i);
		r->h = fz_hash(r->h, &n, sizeof(n));
	}
	/* The lookups the proxy makes on every request. */
	if ((v = px_http_head_get(h, "host", &vl)) != NULL)
		FZ_CHECK(v >= h->buf && v + vl <= h->buf + h->len);
	(void)px_http_head_get(h, "authorization", &vl);
	(void)px_http_head_get(h, "expect", NULL);
	return HPE_PAUSED;	/* the head is all this target looks at */
}

/* parse() : one run; sp NULL means one call. */
static void
parse(const uint8_t *d, size_t len, size_t max_bytes, size_t max_hdrs,
    struct fz_split *sp, struct run *r)
{
	size_t	 off = 0, n;

	memset(r, 0, sizeof(*r));
	px_http_head_init(&r->head, max_bytes, max_hdrs);
	llhttp_settings_init(&r->s);
	r->s.on_message_begin = on_message_begin;
	r->s.on_url = on_url;
	r->s.on_header_field = on_header_field;
	r->s.on_header_value = on_header_value;
	r->s.on_headers_complete = on_headers_complete;
	llhttp_init(&r->p, HTTP_REQUEST, &r->s);
	r->p.data = r;
	r->h = 1469598103934665603ULL;
	r->end = END_INCOMPLETE;
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		r->err = llhttp_execute(&r->p, (const char *)d + off, n);
		off += n;
		if (r->err != HPE_OK)
			break;
	}
	if (r->err == HPE_PAUSED)
		FZ_CHECK(r->end == END_HEAD);
	else if (r->err == HPE_USER)
		FZ_CHECK(r->end == END_CAP);
	else if (r->err != HPE_OK) {
		FZ_CHECK(r->end == END_INCOMPLETE);
		r->end = END_ERROR;
	} else
		FZ_CHECK(r->end == END_INCOMPLETE);
	check_head(&r->head);
	px_http_head_free(&r->head);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bytes[4] = { 64, 512, 4096, 32 * 1024 };
	static const size_t hdrs[4] = { 1, 4, 16, 100 };
	struct run	 one, chunked;
	struct fz_split	 sp;
	size_t		 max_bytes, max_hdrs;

	if (size < 2)
		return 0;
	fz_split_init(&sp, data[0]);
	max_bytes = bytes[data[1] & 3];
	max_hdrs = hdrs[(data[1] >> 2) & 3];
	data += 2;
	size -= 2;

	parse(data, size, max_bytes, max_hdrs, NULL, &one);
	parse(data, size, max_bytes, max_hdrs, &sp, &chunked);

	/*
	 * A cap may be hit sooner in chunks (a span arrives in parts) than
	 * an llhttp error later in the same span, and the reverse; "refused"
	 * is what both must say then.
	 */
	if ((one.end == END_CAP && chunked.end == END_ERROR) ||
	    (one.end == END_ERROR && chunked.end == END_CAP))
		return 0;
	FZ_CHECK(one.end == chunked.end);
	if (one.end == END_ERROR)
		FZ_CHECK(one.err == chunked.err);
	if (one.end == END_HEAD) {
		FZ_CHECK(one.method == chunked.method);
		FZ_CHECK(one.major == chunked.major);
		FZ_CHECK(one.minor == chunked.minor);
		FZ_CHECK(one.nhdrs == chunked.nhdrs);
		FZ_CHECK(one.h == chunked.h);
	}
	return 0;
}
