/*
 * proxy/core/http.c: the HTTP/1.1 message head model shared by the request
 * side (conn.c) and the response side (fwd.c), hop-by-hop rules and the
 * error responses the gate writes itself.
 *
 * llhttp hands out borrowed spans, possibly split across reads; the head
 * model copies them into one buffer that grows up to a hard cap (the
 * header_bytes limit for requests, PX_RESP_HEAD_BYTES for responses),
 * with a capped array of field offsets.  Exceeding either cap is reported
 * to the caller, who answers 431 (request) or 502 (response).  Nothing
 * here knows sockets; the head is wiped before it is freed because it
 * holds Authorization and npm-otp values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "proxy-int.h"

int
px_http_head_init(struct px_head *h, size_t max_bytes, size_t max_hdrs)
{
	memset(h, 0, sizeof(*h));
	h->max = max_bytes;
	h->hdrs_max = max_hdrs;
	return 0;
}

void
px_http_head_reset(struct px_head *h)
{
	if (h->buf != NULL)
		explicit_bzero(h->buf, h->len);
	h->len = 0;
	h->url = h->url_len = 0;
	h->nhdrs = 0;
	h->in_value = 0;
}

void
px_http_head_free(struct px_head *h)
{
	if (h->buf != NULL) {
		explicit_bzero(h->buf, h->cap);
		free(h->buf);
	}
	free(h->hdrs);
	h->buf = NULL;
	h->hdrs = NULL;
	h->len = h->cap = 0;
	h->nhdrs = h->hdrs_cap = 0;
}

/* append() : copies a span into the head buffer; -1 over the cap. */
static int
append(struct px_head *h, const char *p, size_t n)
{
	size_t	 ncap;
	char	*nb;

	if (n > h->max || h->len > h->max - n)
		return -1;
	if (h->len + n > h->cap) {
		ncap = h->cap ? h->cap : 1024;
		while (ncap < h->len + n)
			ncap *= 2;
		if (ncap > h->max)
			ncap = h->max;
		if ((nb = malloc(ncap)) == NULL)
			return -1;
		if (h->buf != NULL) {
			memcpy(nb, h->buf, h->len);
			explicit_bzero(h->buf, h->cap);
			free(h->buf);
		}
		h->buf = nb;
		h->cap = ncap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
	return 0;
}

int
px_http_head_url(struct px_head *h, const char *p, size_t n)
{
	if (h->url_len == 0)
		h->url = (uint32_t)h->len;
	if (append(h, p, n) == -1)
		return -1;
	h->url_len += (uint32_t)n;
	return 0;
}

int
px_http_head_field(struct px_head *h, const char *p, size_t n)
{
	struct px_hdr	*nh;
	size_t		 ncap;

	if (h->nhdrs == 0 || h->in_value) {
		if (h->nhdrs >= h->hdrs_max)
			return -1;
		if (h->nhdrs == h->hdrs_cap) {
			ncap = h->hdrs_cap ? h->hdrs_cap * 2 : 16;
			if (ncap > h->hdrs_max)
				ncap = h->hdrs_max;
			nh = reallocarray(h->hdrs, ncap, sizeof(*nh));
			if (nh == NULL)
				return -1;
			h->hdrs = nh;
			h->hdrs_cap = ncap;
		}
		memset(&h->hdrs[h->nhdrs], 0, sizeof(h->hdrs[0]));
		h->hdrs[h->nhdrs].name = (uint32_t)h->len;
		h->hdrs[h->nhdrs].value = (uint32_t)h->len;
		h->nhdrs++;
		h->in_value = 0;
	}
	if (append(h, p, n) == -1)
		return -1;
	h->hdrs[h->nhdrs - 1].name_len += (uint32_t)n;
	h->hdrs[h->nhdrs - 1].value = (uint32_t)h->len;
	return 0;
}

int
px_http_head_value(struct px_head *h, const char *p, size_t n)
{
	if (h->nhdrs == 0)
		return -1;
	h->in_value = 1;
	if (append(h, p, n) == -1)
		return -1;
	h->hdrs[h->nhdrs - 1].value_len += (uint32_t)n;
	return 0;
}

/* name_is() : field i is called name (case-insensitive). */
static int
name_is(const struct px_head *h, size_t i, const char *name)
{
	size_t	 n = strlen(name);

	return h->hdrs[i].name_len == n &&
	    strncasecmp(h->buf + h->hdrs[i].name, name, n) == 0;
}

const char *
px_http_head_get(const struct px_head *h, const char *name, size_t *len)
{
	size_t	 i;

	for (i = 0; i < h->nhdrs; i++) {
		if (name_is(h, i, name)) {
			if (len != NULL)
				*len = h->hdrs[i].value_len;
			return h->buf + h->hdrs[i].value;
		}
	}
	return NULL;
}

/*
 * px_http_head_join() : every field called name, in order, joined with
 * ',' into out (NUL-terminated).  Returns the length, 0 when there is no
 * such field, -1 when out is too small.
 */
int
px_http_head_join(const struct px_head *h, const char *name, char *out,
    size_t outlen)
{
	size_t	 i, len = 0, n;

	for (i = 0; i < h->nhdrs; i++) {
		if (!name_is(h, i, name))
			continue;
		n = h->hdrs[i].value_len;
		if (len + n + 2 > outlen || len + n + 2 > INT32_MAX)
			return -1;
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, h->buf + h->hdrs[i].value, n);
		len += n;
	}
	if (outlen > 0)
		out[len] = '\0';
	return (int)len;
}

size_t
px_http_head_count(const struct px_head *h, const char *name)
{
	size_t	 i, n = 0;

	for (i = 0; i < h->nhdrs; i++)
		if (name_is(h, i, name))
			n++;
	return n;
}

/*
 * token_in() : whether the comma-separated list v (vlen bytes) holds the
 * token t (n bytes), case-insensitively.
 */
static int
token_in(const char *v, size_t vlen, const char *t, size_t n)
{
	size_t	 i = 0, s, e;

	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < vlen && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == n && strncasecmp(v + s, t, n) == 0)
			return 1;
	}
	return 0;
}

int
px_http_hop_by_hop(const struct px_head *h, size_t i)
{
	static const char *const hop[] = {
		"connection", "keep-alive", "proxy-connection",
		"proxy-authenticate", "proxy-authorization", "te", "trailer",
		"transfer-encoding", "upgrade",
	};
	size_t	 k;

	for (k = 0; k < sizeof(hop) / sizeof(hop[0]); k++)
		if (name_is(h, i, hop[k]))
			return 1;
	/* Fields the sender named in Connection are hop-by-hop too. */
	for (k = 0; k < h->nhdrs; k++) {
		if (name_is(h, k, "connection") &&
		    token_in(h->buf + h->hdrs[k].value, h->hdrs[k].value_len,
		    h->buf + h->hdrs[i].name, h->hdrs[i].name_len))
			return 1;
	}
	return 0;
}

const char *
px_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

void
px_http_error(struct evbuffer *out, int status, const char *text,
    int keepalive)
{
	char	 body[PX_RENDER_MAX + 64];
	size_t	 off;

	off = (size_t)snprintf(body, sizeof(body), "{\"error\": \"");
	pol_json_escape(body, sizeof(body) - 4, &off, text);
	if (off > sizeof(body) - 5)
		off = sizeof(body) - 5;
	memcpy(body + off, "\"}\n", 4);
	off += 3;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: %s\r\n\r\n", status, px_http_reason(status), off,
	    keepalive ? "keep-alive" : "close");
	evbuffer_add(out, body, off);
}

llhttp_errno_t
px_http_feed(llhttp_t *p, struct evbuffer *in, size_t max, size_t *used)
{
	struct evbuffer_iovec	 v;
	llhttp_errno_t		 err;
	size_t			 n;

	*used = 0;
	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
		return HPE_OK;
	n = v.iov_len < max ? v.iov_len : max;
	err = llhttp_execute(p, v.iov_base, n);
	if (err == HPE_OK)
		*used = n;
	else if (err == HPE_PAUSED)
		*used = (size_t)(llhttp_get_error_pos(p) -
		    (const char *)v.iov_base);
	return err;
}
