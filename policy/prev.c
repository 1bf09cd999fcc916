/*
 * policy/prev.c: which version a publish is judged against (the rule's
 * `diff:` key), chosen from the package's packument as it streams.
 *
 * The gate (proxy/gate/prev.c) fetches the packument from the upstream
 * and feeds its bytes here (gzip or plain, any split); nothing of it is
 * kept but a few bounded fields:
 *   dist-tags[tag]                the version the publish's tag points at
 *                                 now (the tag the publish moves)
 *   versions.V                    each V is compared with the published
 *                                 version (semver order); the highest
 *                                 lower one is kept
 *   versions.V.dist.tarball       of the candidates only
 * The choice: the version the tag points at, when there is one and it is
 * not the published version; else the highest version lower than the
 * published one; else none (a first publish).  Versions that are not
 * semver are never chosen.  A packument that is not one JSON object, or
 * over POL_PREV_PACKUMENT_MAX bytes once inflated, is unreadable (the
 * caller fails closed as diff.unreachable says).
 *
 * Depends on json.c and gz.c; no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"

#define PREV_KEY_MAX	256	/* bytes kept of a key on the path */
#define PREV_DEPTH	5	/* keys tracked: versions.V.dist.tarball */

struct pol_prev {
	char		 version[POL_PREV_VERSION_MAX];	/* the published one */
	char		 tag[POL_PREV_VERSION_MAX];
	int		 gzip;
	struct pol_gz	*gz;
	struct pol_json	 json;
	uint64_t	 bytes;		/* JSON bytes fed */
	int		 err;		/* sticky: unreadable */

	char		 keys[PREV_DEPTH + 1][PREV_KEY_MAX];
	int		 keylong[PREV_DEPTH + 1];

	/* The string being read, when it is one we want. */
	int		 want;		/* 0, 'T' dist-tag, 'U' tarball */
	size_t		 svlen;
	int		 svlong;
	char		 sval[POL_FIELD_MAX];

	char		 tagver[POL_PREV_VERSION_MAX];	/* dist-tags[tag] */
	char		 best[POL_PREV_VERSION_MAX];	/* highest lower */
	char		 best_tarball[POL_FIELD_MAX];
	char		 tag_tarball[POL_FIELD_MAX];
	int		 cur_best, cur_tag;	/* the version being read is */
	int		 top_obj;	/* the document is an object */
};

/* ------------------------------------------------------------- semver */

/* A number of at most 18 digits; end past it.  -1 if none. */
static int
num(const char **p, uint64_t *v)
{
	const char	*s = *p;
	size_t		 n = 0;

	*v = 0;
	while (*s >= '0' && *s <= '9') {
		if (++n > 18)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (n == 0)
		return -1;
	*p = s;
	return 0;
}

struct semver {
	uint64_t	 v[3];
	const char	*pre;		/* after '-', NULL if none */
	size_t		 prelen;
};

static int
semver_parse(const char *s, struct semver *sv)
{
	int	 i;

	memset(sv, 0, sizeof(*sv));
	for (i = 0; i < 3; i++) {
		if (num(&s, &sv->v[i]) == -1)
			return -1;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	if (*s == '-') {
		sv->pre = ++s;
		while (*s != '\0' && *s != '+') {
			if (!((*s >= '0' && *s <= '9') ||
			    (*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') || *s == '-' ||
			    *s == '.'))
				return -1;
			s++;
		}
		sv->prelen = (size_t)(s - sv->pre);
		if (sv->prelen == 0)
			return -1;
	}
	if (*s == '+') {	/* build metadata: ignored in the order */
		if (*++s == '\0')
			return -1;
		while (*s != '\0') {
			if (!((*s >= '0' && *s <= '9') ||
			    (*s >= 'a' && *s <= 'z') ||
			    (*s >= 'A' && *s <= 'Z') || *s == '-' ||
			    *s == '.'))
				return -1;
			s++;
		}
	}
	return *s == '\0' ? 0 : -1;
}

/* One dot-separated prerelease identifier against another. */
static int
ident_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	size_t	 i;
	int	 an = 1, bn = 1, c;

	for (i = 0; i < al; i++)
		an &= a[i] >= '0' && a[i] <= '9';
	for (i = 0; i < bl; i++)
		bn &= b[i] >= '0' && b[i] <= '9';
	if (an && bn) {
		/* Numeric: fewer digits (without leading zeros) is lower. */
		while (al > 1 && *a == '0') {
			a++;
			al--;
		}
		while (bl > 1 && *b == '0') {
			b++;
			bl--;
		}
		if (al != bl)
			return al < bl ? -1 : 1;
		return memcmp(a, b, al);
	}
	if (an != bn)
		return an ? -1 : 1;	/* numeric is lower than alphanumeric */
	c = memcmp(a, b, al < bl ? al : bl);
	if (c != 0)
		return c;
	return al == bl ? 0 : (al < bl ? -1 : 1);
}

int
pol_semver_cmp(const char *a, const char *b, int *cmp)
{
	struct semver	 x, y;
	size_t		 i, j;
	int		 c;

	if (semver_parse(a, &x) == -1 || semver_parse(b, &y) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		if (x.v[i] != y.v[i]) {
			*cmp = x.v[i] < y.v[i] ? -1 : 1;
			return 0;
		}
	/* A prerelease is lower than its release. */
	if (x.pre == NULL || y.pre == NULL) {
		*cmp = (x.pre == NULL) - (y.pre == NULL);
		return 0;
	}
	for (i = 0, j = 0;;) {
		size_t	 pi = i, qj = j;
		int	 xe, ye;

		while (i < x.prelen && x.pre[i] != '.')
			i++;
		while (j < y.prelen && y.pre[j] != '.')
			j++;
		c = ident_cmp(x.pre + pi, i - pi, y.pre + qj, j - qj);
		if (c != 0) {
			*cmp = c < 0 ? -1 : 1;
			return 0;
		}
		xe = i >= x.prelen;
		ye = j >= y.prelen;
		if (xe || ye) {
			/* More identifiers is higher. */
			*cmp = xe && ye ? 0 : (xe ? -1 : 1);
			return 0;
		}
		i++;
		j++;
	}
}

/* ---------------------------------------------------- the packument */

static void
copy(char *dst, size_t dlen, const char *src, size_t n)
{
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
key_is(const struct pol_prev *pp, int depth, const char *k)
{
	return !pp->keylong[depth] && strcmp(pp->keys[depth], k) == 0;
}

/* A version object begins: is it the tag's, a better lower one? */
static void
version_begin(struct pol_prev *pp)
{
	const char	*v = pp->keys[2];
	int		 c;

	pp->cur_best = pp->cur_tag = 0;
	if (pp->keylong[2])
		return;
	if (pp->tagver[0] && strcmp(v, pp->tagver) == 0)
		pp->cur_tag = 1;
	if (pol_semver_cmp(v, pp->version, &c) == -1 || c >= 0)
		return;
	if (pp->best[0] && (pol_semver_cmp(v, pp->best, &c) == -1 || c <= 0))
		return;
	copy(pp->best, sizeof(pp->best), v, strlen(v));
	pp->best_tarball[0] = '\0';
	pp->cur_best = 1;
}

static int
prev_cb(void *arg, enum pol_json_ev ev, const char *s, size_t len, int depth)
{
	struct pol_prev	*pp = arg;

	switch (ev) {
	case POL_JSON_KEY:
		if (depth >= 1 && depth <= PREV_DEPTH) {
			pp->keylong[depth] = len >= PREV_KEY_MAX ||
			    memchr(s, '\0', len) != NULL;
			copy(pp->keys[depth], PREV_KEY_MAX, s, len);
		}
		break;
	case POL_JSON_OBJ_BEGIN:
		if (depth == 0)
			pp->top_obj = 1;
		if (depth == 2 && key_is(pp, 1, "versions"))
			version_begin(pp);
		break;
	case POL_JSON_OBJ_END:
		if (depth == 2 && key_is(pp, 1, "versions"))
			pp->cur_best = pp->cur_tag = 0;
		break;
	case POL_JSON_STR_BEGIN:
		pp->want = 0;
		pp->svlen = 0;
		pp->svlong = 0;
		if (depth == 2 && key_is(pp, 1, "dist-tags") && pp->tag[0] &&
		    key_is(pp, 2, pp->tag))
			pp->want = 'T';
		else if (depth == 4 && key_is(pp, 1, "versions") &&
		    key_is(pp, 3, "dist") && key_is(pp, 4, "tarball") &&
		    (pp->cur_best || pp->cur_tag))
			pp->want = 'U';
		break;
	case POL_JSON_STR_CHUNK:
		if (pp->want == 0)
			break;
		if (pp->svlen + len >= sizeof(pp->sval)) {
			pp->svlong = 1;
			break;
		}
		memcpy(pp->sval + pp->svlen, s, len);
		pp->svlen += len;
		break;
	case POL_JSON_STR_END:
		if (pp->want == 0)
			break;
		pp->sval[pp->svlen] = '\0';
		if (pp->svlong || memchr(pp->sval, '\0', pp->svlen) != NULL)
			pp->sval[0] = '\0';
		if (pp->want == 'T') {
			if (pp->svlen < sizeof(pp->tagver))
				copy(pp->tagver, sizeof(pp->tagver), pp->sval,
				    strlen(pp->sval));
		} else {
			if (pp->cur_best)
				copy(pp->best_tarball,
				    sizeof(pp->best_tarball), pp->sval,
				    strlen(pp->sval));
			if (pp->cur_tag)
				copy(pp->tag_tarball, sizeof(pp->tag_tarball),
				    pp->sval, strlen(pp->sval));
		}
		pp->want = 0;
		break;
	default:
		break;
	}
	return 0;
}

struct pol_prev *
pol_prev_new(const char *version, const char *tag, int gzip)
{
	struct pol_prev	*pp;

	if (version == NULL || strlen(version) >= POL_PREV_VERSION_MAX ||
	    (tag != NULL && strlen(tag) >= POL_PREV_VERSION_MAX) ||
	    (pp = calloc(1, sizeof(*pp))) == NULL)
		return NULL;
	copy(pp->version, sizeof(pp->version), version, strlen(version));
	if (tag != NULL)
		copy(pp->tag, sizeof(pp->tag), tag, strlen(tag));
	pp->gzip = gzip;
	if (gzip) {
		if ((pp->gz = calloc(1, sizeof(*pp->gz))) == NULL ||
		    pol_gz_init(pp->gz, POL_PREV_PACKUMENT_MAX, 0) != 0) {
			free(pp->gz);
			free(pp);
			return NULL;
		}
	}
	pol_json_init(&pp->json, POL_JSON_DEPTH_MAX, prev_cb, pp);
	return pp;
}

static int
json_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct pol_prev	*pp = arg;

	pp->bytes += len;
	if (pp->bytes > POL_PREV_PACKUMENT_MAX)
		return -1;
	if (pol_json_feed(&pp->json, buf, len) != POL_JSON_OK)
		return -1;
	return 0;
}

int
pol_prev_feed(struct pol_prev *pp, const void *buf, size_t len)
{
	enum pol_gz_rc	 rc;

	if (pp->err)
		return -1;
	if (pp->gzip) {
		rc = pol_gz_feed(pp->gz, buf, len, json_sink, pp);
		if (rc != POL_GZ_OK && rc != POL_GZ_END)
			pp->err = 1;
	} else if (json_sink(pp, buf, len) != 0)
		pp->err = 1;
	return pp->err ? -1 : 0;
}

int
pol_prev_end(struct pol_prev *pp, char *version, size_t vlen, char *tarball,
    size_t tlen)
{
	const char	*v = NULL, *t = "";
	int		 c;

	version[0] = '\0';
	tarball[0] = '\0';
	if (pp->err || (pp->gzip && pol_gz_finish(pp->gz) != POL_GZ_END) ||
	    pol_json_finish(&pp->json) != POL_JSON_OK || !pp->top_obj)
		return -1;
	if (pp->tagver[0] && pol_semver_cmp(pp->tagver, pp->version, &c) == 0 &&
	    c != 0) {
		v = pp->tagver;
		t = pp->tag_tarball[0] ? pp->tag_tarball :
		    (strcmp(pp->best, pp->tagver) == 0 ? pp->best_tarball : "");
	} else if (pp->best[0]) {
		v = pp->best;
		t = pp->best_tarball;
	}
	if (v == NULL)
		return 0;
	copy(version, vlen, v, strlen(v));
	copy(tarball, tlen, t, strlen(t));
	return 1;
}

void
pol_prev_free(struct pol_prev *pp)
{
	if (pp == NULL)
		return;
	if (pp->gz != NULL) {
		pol_gz_free(pp->gz);
		free(pp->gz);
	}
	pol_json_free(&pp->json);
	free(pp);
}
