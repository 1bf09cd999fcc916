/*
 * proxy/core/route.c: which requests are writes, and which writes exist.
 *
 * Owns the route table of the registry API as the gate knows it, the
 * package-name rule for write URLs and the body-type rule for writes.
 * Reads are GET, HEAD and OPTIONS, whatever their path.  Every other
 * method is a write, and a write is forwarded only if it matches a row of
 * write_routes[] below: the publish routes (PUT /<name>, PUT
 * /<name>/-rev/<rev>, POST /-/stage/package/<name>) go through the
 * engine; package writes (dist-tags, access, unpublish DELETEs) through
 * the policy's write rules and the body rule; account writes (login,
 * tokens, orgs, teams) through the body rule.  Anything else (PUT /-,
 * PUT /-/, an unknown /-/... write, PATCH, a DELETE with a body, a name
 * npm would never accept) is refused before a byte goes upstream.
 *
 * Paths are matched segment by segment and case-sensitively; the
 * registry (Express) matches case-insensitively and ignores a trailing
 * slash, so a variant we do not match is refused, never misrouted.
 * Package names follow npm's rules (validate-npm-package-name): at most
 * 214 bytes, URL-safe characters only, "@scope/name" or "name", no part
 * starting with '.' or '_', and "-" (the prefix of the registry's own API
 * paths) is never a name.  Depends on llhttp's method numbers only.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "proxy-int.h"

#define M(x)	(1u << (x))

/*
 * Segment patterns: a literal; "{pkg}" a package name (one segment, or
 * two for an unencoded "@scope/name"); "{seg}" any non-empty segment; a
 * literal ending in '*' matches a segment with that prefix and more.
 */
static const struct px_route_def {
	unsigned		 methods;
	const char		*pattern;
	enum px_route		 route;
	const char		*kind;
} write_routes[] = {
	/* Publishes and packument edits: the engine reads every body. */
	{ M(HTTP_PUT), "/{pkg}", PX_ROUTE_PUBLISH, "publish" },
	{ M(HTTP_PUT), "/{pkg}/-rev/{seg}", PX_ROUTE_PUBLISH, "publish-rev" },
	{ M(HTTP_POST), "/-/stage/package/{pkg}", PX_ROUTE_STAGE,
	    "stage-publish" },
	/* Package writes: the policy's write rule, then the body rule. */
	{ M(HTTP_DELETE), "/{pkg}/-rev/{seg}", PX_ROUTE_WRITE, "unpublish" },
	{ M(HTTP_DELETE), "/{pkg}/-/{seg}/-rev/{seg}", PX_ROUTE_WRITE,
	    "unpublish" },
	/* Verdaccio names a scoped tarball "@scope/name-1.0.0.tgz". */
	{ M(HTTP_DELETE), "/{pkg}/-/@*/{seg}/-rev/{seg}", PX_ROUTE_WRITE,
	    "unpublish" },
	{ M(HTTP_PUT) | M(HTTP_POST) | M(HTTP_DELETE),
	    "/-/package/{pkg}/dist-tags/{seg}", PX_ROUTE_WRITE, "dist-tag" },
	{ M(HTTP_POST), "/-/package/{pkg}/access", PX_ROUTE_WRITE, "access" },
	{ M(HTTP_POST), "/-/package/{pkg}/trust", PX_ROUTE_WRITE, "access" },
	{ M(HTTP_DELETE), "/-/package/{pkg}/trust/{seg}", PX_ROUTE_WRITE,
	    "access" },
	/* Account writes: no package; the body rule only. */
	{ M(HTTP_PUT), "/-/user/org.couchdb.user:*", PX_ROUTE_ACCOUNT,
	    "login" },
	{ M(HTTP_PUT), "/-/user/org.couchdb.user:*/-rev/{seg}",
	    PX_ROUTE_ACCOUNT, "login" },
	{ M(HTTP_DELETE), "/-/user/token/{seg}", PX_ROUTE_ACCOUNT, "logout" },
	{ M(HTTP_POST), "/-/v1/login", PX_ROUTE_ACCOUNT, "login" },
	{ M(HTTP_POST), "/-/npm/v1/tokens", PX_ROUTE_ACCOUNT, "token" },
	{ M(HTTP_DELETE), "/-/npm/v1/tokens/token/{seg}", PX_ROUTE_ACCOUNT,
	    "token" },
	{ M(HTTP_POST), "/-/npm/v1/oidc/token/exchange/package/{pkg}",
	    PX_ROUTE_ACCOUNT, "token" },
	{ M(HTTP_POST), "/-/npm/v1/user", PX_ROUTE_ACCOUNT, "profile" },
	{ M(HTTP_PUT) | M(HTTP_DELETE), "/-/org/{seg}/user", PX_ROUTE_ACCOUNT,
	    "org" },
	{ M(HTTP_PUT), "/-/org/{seg}/team", PX_ROUTE_ACCOUNT, "org" },
	{ M(HTTP_PUT) | M(HTTP_DELETE), "/-/team/{seg}/{seg}",
	    PX_ROUTE_ACCOUNT, "org" },
	{ M(HTTP_PUT) | M(HTTP_DELETE), "/-/team/{seg}/{seg}/user",
	    PX_ROUTE_ACCOUNT, "org" },
	{ M(HTTP_PUT) | M(HTTP_DELETE), "/-/team/{seg}/{seg}/package",
	    PX_ROUTE_ACCOUNT, "org" },
	{ M(HTTP_POST), "/-/stage/{seg}/approve", PX_ROUTE_ACCOUNT, "stage" },
	{ M(HTTP_DELETE), "/-/stage/{seg}", PX_ROUTE_ACCOUNT, "stage" },
	{ M(HTTP_POST), "/-/npm/v1/hooks/hook", PX_ROUTE_ACCOUNT, "hook" },
	{ M(HTTP_PUT) | M(HTTP_DELETE), "/-/npm/v1/hooks/hook/{seg}",
	    PX_ROUTE_ACCOUNT, "hook" },
	/*
	 * npm audit: a POST whose (often gzip'd) body the registry's audit
	 * service reads and never stores; streamed like a read.
	 */
	{ M(HTTP_POST), "/-/npm/v1/security/advisories/bulk", PX_ROUTE_READ,
	    "audit" },
	{ M(HTTP_POST), "/-/npm/v1/security/audits/quick", PX_ROUTE_READ,
	    "audit" },
	{ M(HTTP_POST), "/-/npm/v1/security/audits", PX_ROUTE_READ, "audit" },
};

#define HEXV(x) ((x) >= '0' && (x) <= '9' ? (x) - '0' :			\
	    (x) >= 'a' && (x) <= 'f' ? (x) - 'a' + 10 :			\
	    (x) >= 'A' && (x) <= 'F' ? (x) - 'A' + 10 : -1)

/*
 * decode_seg() : percent-decodes n bytes of a path segment into out;
 * only printable ASCII results are accepted.  0 or -1.
 */
static int
decode_seg(const char *s, size_t n, char *out, size_t outlen, size_t *olen)
{
	size_t	 i, o = 0;
	char	 c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if (HEXV(s[i + 1]) < 0 || HEXV(s[i + 2]) < 0)
				return -1;
			c = (char)(HEXV(s[i + 1]) * 16 + HEXV(s[i + 2]));
			i += 2;
		}
		if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e ||
		    c == '\\' || c == '"')
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	*olen = o;
	return 0;
}

/* url_safe() : c is left alone by encodeURIComponent(). */
static int
url_safe(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL;
}

/* name_part_ok() : one part of a name ("scope" or "name"). */
static int
name_part_ok(const char *p, size_t n)
{
	size_t	 i;

	if (n == 0 || p[0] == '.' || p[0] == '_')
		return 0;
	for (i = 0; i < n; i++)
		if (!url_safe(p[i]))
			return 0;
	return 1;
}

int
px_route_name_ok(const char *name, size_t len)
{
	const char	*slash;

	if (len == 0 || len > PX_NAME_MAX || strlen(name) != len)
		return 0;
	if (name[0] == '-' || strcmp(name, "node_modules") == 0 ||
	    strcmp(name, "favicon.ico") == 0)
		return 0;
	if (name[0] != '@')
		return name_part_ok(name, len);
	if ((slash = strchr(name, '/')) == NULL)
		return 0;
	return name_part_ok(name + 1, (size_t)(slash - name - 1)) &&
	    name_part_ok(slash + 1, len - (size_t)(slash - name) - 1);
}

/*
 * path_clean() : no empty, "." or ".." segment (also percent-encoded) and
 * no backslash, so the upstream cannot normalise a path into another one.
 */
static int
path_clean(const char *p, size_t n)
{
	size_t	 i, s, sl;
	char	 seg[16];

	if (n == 0 || p[0] != '/')
		return 0;
	for (i = 1, s = 1; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (i == s)
				return 0;	/* "//" or a trailing '/' */
			if (i - s < 10 && decode_seg(p + s, i - s, seg,
			    sizeof(seg), &sl) == 0 &&
			    (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0))
				return 0;
			s = i + 1;
		} else if (p[i] == '\\')
			return 0;
	}
	return 1;
}

#define PX_SEGS_MAX	12

struct segs {
	const char	*p[PX_SEGS_MAX];
	size_t		 n[PX_SEGS_MAX];
	size_t		 count;
};

/* split() : the segments of a clean path; -1 if there are too many. */
static int
split(const char *path, size_t len, struct segs *sg)
{
	size_t	 i, s;

	sg->count = 0;
	for (i = 1, s = 1; i <= len; i++) {
		if (i == len || path[i] == '/') {
			if (sg->count == PX_SEGS_MAX)
				return -1;
			sg->p[sg->count] = path + s;
			sg->n[sg->count++] = i - s;
			s = i + 1;
		}
	}
	return 0;
}

/*
 * match() : whether the segments match pattern; fills name (decoded) for
 * "{pkg}".  0 no match, 1 match, -1 a match whose name is not valid.
 */
static int
match(const char *pattern, const struct segs *sg, char *name, size_t namelen)
{
	char		 tok[64], tmp[PX_NAME_MAX * 3 + 8];
	const char	*p = pattern + 1, *e;
	size_t		 k = 0, tl, nl, plen, two;
	int		 bad = 0;

	for (;;) {
		e = strchr(p, '/');
		tl = e != NULL ? (size_t)(e - p) : strlen(p);
		if (tl >= sizeof(tok))
			return 0;
		memcpy(tok, p, tl);
		tok[tl] = '\0';
		if (k >= sg->count)
			return 0;
		if (strcmp(tok, "{pkg}") == 0) {
			/* "@scope/name" unencoded spans two segments. */
			two = sg->n[k] > 0 && sg->p[k][0] == '@' &&
			    memchr(sg->p[k], '%', sg->n[k]) == NULL &&
			    k + 1 < sg->count;
			plen = sg->n[k] + (two ? sg->n[k + 1] + 1 : 0);
			if (plen >= sizeof(tmp))
				bad = 1;
			else {
				memcpy(tmp, sg->p[k], plen);
				if (decode_seg(tmp, plen, name, namelen,
				    &nl) == -1 || !px_route_name_ok(name, nl))
					bad = 1;
			}
			k += two ? 2 : 1;
		} else if (strcmp(tok, "{seg}") == 0) {
			if (sg->n[k] == 0)
				return 0;
			k++;
		} else if (tl > 0 && tok[tl - 1] == '*') {
			if (sg->n[k] <= tl - 1 ||
			    memcmp(sg->p[k], tok, tl - 1) != 0)
				return 0;
			k++;
		} else {
			if (sg->n[k] != tl || memcmp(sg->p[k], tok, tl) != 0)
				return 0;
			k++;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (k != sg->count)
		return 0;
	return bad ? -1 : 1;
}

int
px_route_classify(int method, const char *path, size_t n, char *name,
    size_t namelen, const char **kind)
{
	struct segs	 sg;
	size_t		 i;
	int		 r, badname = 0;

	*kind = "read";
	name[0] = '\0';
	if (method == HTTP_GET || method == HTTP_HEAD ||
	    method == HTTP_OPTIONS)
		return PX_ROUTE_READ;
	*kind = "refused";
	if (method != HTTP_PUT && method != HTTP_POST &&
	    method != HTTP_DELETE)
		return PX_ROUTE_REFUSED_METHOD;
	if (!path_clean(path, n) || split(path, n, &sg) == -1)
		return PX_ROUTE_REFUSED;
	for (i = 0; i < sizeof(write_routes) / sizeof(write_routes[0]); i++) {
		if ((write_routes[i].methods & M(method)) == 0)
			continue;
		r = match(write_routes[i].pattern, &sg, name, namelen);
		if (r == -1)
			badname = 1;
		if (r != 1)
			continue;
		*kind = write_routes[i].kind;
		if (write_routes[i].route == PX_ROUTE_ACCOUNT ||
		    write_routes[i].route == PX_ROUTE_READ)
			name[0] = '\0';
		return write_routes[i].route;
	}
	name[0] = '\0';
	return badname ? PX_ROUTE_REFUSED_NAME : PX_ROUTE_REFUSED;
}

/* ows() : skips optional white space. */
static const char *
ows(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * px_route_json_type() : see proxy-int.h.  "application/json", optionally
 * with one parameter, charset=utf-8 (quoted or not, any case).
 */
int
px_route_json_type(const char *v, size_t n)
{
	const char	*p = v, *e = v + n, *t;
	size_t		 tl;

	p = ows(p, e);
	for (t = p; t < e && *t != ';' && *t != ' ' && *t != '\t'; t++)
		;
	if ((size_t)(t - p) != 16 || strncasecmp(p, "application/json", 16))
		return 0;
	p = ows(t, e);
	if (p == e)
		return 1;
	if (*p++ != ';')
		return 0;
	p = ows(p, e);
	if ((size_t)(e - p) < 8 || strncasecmp(p, "charset=", 8) != 0)
		return 0;
	p += 8;
	if (p < e && *p == '"') {
		for (t = ++p; t < e && *t != '"'; t++)
			;
		if (t == e)
			return 0;
		tl = (size_t)(t - p);
		t++;
	} else {
		for (t = p; t < e && *t != ' ' && *t != '\t' && *t != ';'; t++)
			;
		tl = (size_t)(t - p);
	}
	if (tl != 5 || strncasecmp(p, "utf-8", 5) != 0)
		return 0;
	return ows(t, e) == e;
}
