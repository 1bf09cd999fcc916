/*
 * proxy/cmd/pkgjson.c: a recursive-descent JSON reader for package.json
 * (pkgjson.h).  Owns the parse tree; strings are decoded to UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkgjson.h"

struct pj_in {
	const unsigned char	*p, *end;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

static struct px_pj *parse_value(struct pj_in *, int depth);

static void
pj_fail(struct pj_in *in, const char *what)
{
	if (!in->failed)
		snprintf(in->err, in->errlen, "%s", what);
	in->failed = 1;
}

static void
skip_ws(struct pj_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' ||
	    *in->p == '\n' || *in->p == '\r'))
		in->p++;
}

static int
hex4(const unsigned char *p, unsigned *out)
{
	unsigned	 v = 0;
	int		 i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* parse_string() : at the opening quote; returns the decoded string. */
static char *
parse_string(struct pj_in *in, int *has_nul)
{
	const unsigned char	*s = ++in->p;
	char			*out, *o;
	unsigned		 cp, lo;

	/* Decoded text is never longer than the source. */
	while (in->p < in->end && *in->p != '"') {
		if (*in->p == '\\')
			in->p++;
		in->p++;
	}
	if (in->p >= in->end) {
		pj_fail(in, "unterminated string");
		return NULL;
	}
	if ((out = malloc((size_t)(in->p - s) + 1)) == NULL) {
		pj_fail(in, "out of memory");
		return NULL;
	}
	o = out;
	*has_nul = 0;
	while (s < in->p) {
		if (*s < 0x20) {
			pj_fail(in, "control character in a string");
			goto bad;
		}
		if (*s != '\\') {
			*o++ = (char)*s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (in->p - s < 4 || hex4(s, &cp) != 0) {
				pj_fail(in, "bad \\u escape");
				goto bad;
			}
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && in->p - s >= 6 &&
			    s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;	/* lone surrogate */
			if (cp == 0)
				*has_nul = 1;
			o += put_utf8(o, cp);
			break;
		default:
			pj_fail(in, "bad escape in a string");
			goto bad;
		}
	}
	*o = '\0';
	in->p++;
	return out;
bad:
	free(out);
	return NULL;
}

static struct px_pj *
new_node(struct pj_in *in, enum px_pj_type t)
{
	struct px_pj	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		pj_fail(in, "out of memory");
	else
		v->type = t;
	return v;
}

static int
append(struct pj_in *in, struct px_pj *v, char *key, struct px_pj *val)
{
	void	*n;

	if ((v->n & (v->n - 1)) == 0) {	/* 0, 1, 2, 4, ...: grow */
		size_t	 cap = v->n ? v->n * 2 : 4;

		if ((n = realloc(v->vals, cap * sizeof(*v->vals))) == NULL)
			goto oom;
		v->vals = n;
		if (v->type == PX_PJ_OBJECT) {
			if ((n = realloc(v->keys, cap * sizeof(*v->keys))) ==
			    NULL)
				goto oom;
			v->keys = n;
		}
	}
	v->vals[v->n] = val;
	if (v->type == PX_PJ_OBJECT)
		v->keys[v->n] = key;
	v->n++;
	return 0;
oom:
	pj_fail(in, "out of memory");
	free(key);
	px_pj_free(val);
	return -1;
}

static struct px_pj *
parse_container(struct pj_in *in, int depth, int object)
{
	struct px_pj	*v, *val;
	char		*key = NULL;
	int		 nul;

	if (depth >= PX_PJ_MAX_DEPTH) {
		pj_fail(in, "nested too deep");
		return NULL;
	}
	if ((v = new_node(in, object ? PX_PJ_OBJECT : PX_PJ_ARRAY)) == NULL)
		return NULL;
	in->p++;
	skip_ws(in);
	if (in->p < in->end && *in->p == (object ? '}' : ']')) {
		in->p++;
		return v;
	}
	for (;;) {
		skip_ws(in);
		if (object) {
			if (in->p >= in->end || *in->p != '"') {
				pj_fail(in, "expected a member name");
				goto bad;
			}
			if ((key = parse_string(in, &nul)) == NULL)
				goto bad;
			skip_ws(in);
			if (in->p >= in->end || *in->p != ':') {
				free(key);
				pj_fail(in, "expected ':'");
				goto bad;
			}
			in->p++;
		}
		if ((val = parse_value(in, depth + 1)) == NULL) {
			free(key);
			goto bad;
		}
		if (append(in, v, key, val) != 0)
			goto bad;
		key = NULL;
		skip_ws(in);
		if (in->p < in->end && *in->p == ',') {
			in->p++;
			continue;
		}
		if (in->p < in->end && *in->p == (object ? '}' : ']')) {
			in->p++;
			return v;
		}
		pj_fail(in, object ? "expected ',' or '}'" :
		    "expected ',' or ']'");
		goto bad;
	}
bad:
	px_pj_free(v);
	return NULL;
}

static struct px_pj *
parse_literal(struct pj_in *in, const char *word, enum px_pj_type t)
{
	size_t	 n = strlen(word);

	if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0) {
		pj_fail(in, "unexpected character");
		return NULL;
	}
	in->p += n;
	return new_node(in, t);
}

static struct px_pj *
parse_number(struct pj_in *in)
{
	const unsigned char	*s = in->p;
	struct px_pj		*v;

	if (in->p < in->end && *in->p == '-')
		in->p++;
	if (in->p >= in->end || *in->p < '0' || *in->p > '9') {
		pj_fail(in, "bad number");
		return NULL;
	}
	if (*in->p == '0')
		in->p++;
	else
		while (in->p < in->end && *in->p >= '0' && *in->p <= '9')
			in->p++;
	if (in->p < in->end && *in->p == '.') {
		in->p++;
		if (in->p >= in->end || *in->p < '0' || *in->p > '9') {
			pj_fail(in, "bad number");
			return NULL;
		}
		while (in->p < in->end && *in->p >= '0' && *in->p <= '9')
			in->p++;
	}
	if (in->p < in->end && (*in->p == 'e' || *in->p == 'E')) {
		in->p++;
		if (in->p < in->end && (*in->p == '+' || *in->p == '-'))
			in->p++;
		if (in->p >= in->end || *in->p < '0' || *in->p > '9') {
			pj_fail(in, "bad number");
			return NULL;
		}
		while (in->p < in->end && *in->p >= '0' && *in->p <= '9')
			in->p++;
	}
	if ((v = new_node(in, PX_PJ_NUMBER)) == NULL)
		return NULL;
	if ((v->str = strndup((const char *)s, (size_t)(in->p - s))) == NULL) {
		pj_fail(in, "out of memory");
		free(v);
		return NULL;
	}
	return v;
}

static struct px_pj *
parse_value(struct pj_in *in, int depth)
{
	struct px_pj	*v;
	char		*s;
	int		 nul;

	skip_ws(in);
	if (in->p >= in->end) {
		pj_fail(in, "unexpected end");
		return NULL;
	}
	switch (*in->p) {
	case '{':
		return parse_container(in, depth, 1);
	case '[':
		return parse_container(in, depth, 0);
	case '"':
		if ((s = parse_string(in, &nul)) == NULL)
			return NULL;
		if ((v = new_node(in, PX_PJ_STRING)) == NULL) {
			free(s);
			return NULL;
		}
		v->str = s;
		v->has_nul = nul;
		return v;
	case 't':
		return parse_literal(in, "true", PX_PJ_TRUE);
	case 'f':
		return parse_literal(in, "false", PX_PJ_FALSE);
	case 'n':
		return parse_literal(in, "null", PX_PJ_NULL);
	default:
		return parse_number(in);
	}
}

struct px_pj *
px_pj_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct pj_in	 in;
	struct px_pj	*v;

	in.p = (const unsigned char *)buf;
	in.end = in.p + len;
	in.err = err;
	in.errlen = errlen;
	in.failed = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (len > PX_PJ_MAX_BYTES) {
		pj_fail(&in, "over 4 MB");
		return NULL;
	}
	/* A UTF-8 BOM, as npm's parser strips it. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		in.p += 3;
	if ((v = parse_value(&in, 0)) == NULL)
		return NULL;
	skip_ws(&in);
	if (in.p != in.end) {
		pj_fail(&in, "text after the JSON value");
		px_pj_free(v);
		return NULL;
	}
	return v;
}

void
px_pj_free(struct px_pj *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		if (v->keys != NULL)
			free(v->keys[i]);
		px_pj_free(v->vals[i]);
	}
	free(v->keys);
	free(v->vals);
	free(v->str);
	free(v);
}

const struct px_pj *
px_pj_get(const struct px_pj *v, const char *key)
{
	size_t	 i;

	if (v == NULL || v->type != PX_PJ_OBJECT)
		return NULL;
	for (i = v->n; i > 0; i--)
		if (strcmp(v->keys[i - 1], key) == 0)
			return v->vals[i - 1];
	return NULL;
}
