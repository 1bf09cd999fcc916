/*
 * policy/glob.c: glob matching for package names (a rule's `match`), file
 * paths in the tarball (`files.allow`, `files.deny`) and dist-tags
 * (`tags`).
 *
 * Owns the glob syntax, and only that: it depends on nothing but libc,
 * never allocates, never logs and has no state between calls.
 *
 *   *       any run of bytes without '/', the empty run too
 *   **      any run of bytes, '/' included
 *   ** + /  (the three bytes "**" "/"): as above, or zero directories,
 *           so the glob for "*.map files anywhere" fits both "a.map" and
 *           "lib/a.map" (written apart here only because a C comment
 *           cannot hold those bytes together)
 *   ?       one byte that is not '/'
 *   [a-z]   one byte of the set (ranges, single bytes), never '/'
 *   [!x]    one byte not in the set ('^' works like '!'), never '/'
 *   {a,b}   one of the alternatives (no nesting; an empty one is allowed)
 *   \c      the byte c itself
 * Everything else matches itself, byte for byte and case-sensitively.  A
 * leading '.' is not special: "*" fits ".env".
 *
 * Data flow: glob_compile() checks a pattern and records where each
 * bracket expression and brace group ends; glob_run() then simulates the
 * pattern as a nondeterministic automaton whose states are byte positions
 * in the pattern, one input byte at a time.  The cost is bounded by
 * pattern length times input length, whatever the pattern: no
 * backtracking, so no pattern can make a match take exponential time.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

#define GLOB_WORDS	((POL_GLOB_MAX + 1 + 63) / 64)

struct glob_prog {
	const char	*pat;
	size_t		 len;
	/* '[' at i: index of its closing ']'. */
	int16_t		 cls_end[POL_GLOB_MAX + 1];
	/* '{' or ',' in a group: index of the next ',' or the closing '}'. */
	int16_t		 alt_next[POL_GLOB_MAX + 1];
	/* ',' or '}' of a group: index of the group's '}'; -1 elsewhere. */
	int16_t		 grp_end[POL_GLOB_MAX + 1];
};

struct glob_set {
	uint64_t	 w[GLOB_WORDS];	/* the states */
	uint64_t	 e[GLOB_WORDS];	/* states entered by set_add() */
};

/*
 * class_end() : the index of the ']' that closes the bracket expression
 * opening at pat[i], or -1 with a message.
 */
static int
class_end(const char *pat, size_t len, size_t i, char *err, size_t errlen)
{
	size_t		 j = i + 1;
	int		 n = 0;
	unsigned char	 lo, hi;

	if (j < len && (pat[j] == '!' || pat[j] == '^'))
		j++;
	while (j < len && pat[j] != ']') {
		if (pat[j] == '/') {
			snprintf(err, errlen, "'/' inside [...] at byte %zu "
			    "can never match", j + 1);
			return -1;
		}
		if (pat[j] == '\\') {
			if (++j >= len)
				break;
		}
		lo = (unsigned char)pat[j];
		if (j + 2 < len && pat[j + 1] == '-' && pat[j + 2] != ']') {
			j += 2;
			if (pat[j] == '\\' && ++j >= len)
				break;
			hi = (unsigned char)pat[j];
			if (hi < lo) {
				snprintf(err, errlen, "bad range '%c-%c' in "
				    "[...] at byte %zu", lo, hi, i + 1);
				return -1;
			}
		}
		n++;
		j++;
	}
	if (j >= len) {
		snprintf(err, errlen, "unclosed '[' at byte %zu", i + 1);
		return -1;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty '[]' at byte %zu", i + 1);
		return -1;
	}
	return (int)j;
}

/*
 * glob_compile() : checks pat and fills the tables of g.  Returns 0, or
 * -1 with a message in err (which may be NULL).
 */
static int
glob_compile(const char *pat, struct glob_prog *g, char *err, size_t errlen)
{
	char	 dummy[8];
	size_t	 len, i;
	int	 open = -1, last = -1, e;

	if (err == NULL) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (pat == NULL || (len = strlen(pat)) == 0) {
		snprintf(err, errlen, "empty pattern");
		return -1;
	}
	if (len > POL_GLOB_MAX) {
		snprintf(err, errlen, "pattern is %zu bytes, over the cap of "
		    "%d", len, POL_GLOB_MAX);
		return -1;
	}
	g->pat = pat;
	g->len = len;
	for (i = 0; i <= len; i++) {
		g->cls_end[i] = -1;
		g->alt_next[i] = -1;
		g->grp_end[i] = -1;
	}
	for (i = 0; i < len; i++) {
		switch (pat[i]) {
		case '\\':
			if (i + 1 >= len) {
				snprintf(err, errlen, "trailing '\\'");
				return -1;
			}
			i++;
			break;
		case '[':
			if ((e = class_end(pat, len, i, err, errlen)) == -1)
				return -1;
			g->cls_end[i] = (int16_t)e;
			i = (size_t)e;
			break;
		case ']':
			snprintf(err, errlen, "unbalanced ']' at byte %zu",
			    i + 1);
			return -1;
		case '{':
			if (open != -1) {
				snprintf(err, errlen, "nested '{' at byte %zu "
				    "(braces do not nest)", i + 1);
				return -1;
			}
			open = last = (int)i;
			break;
		case ',':
			if (open == -1)
				break;	/* a plain comma */
			g->alt_next[last] = (int16_t)i;
			last = (int)i;
			break;
		case '}':
			if (open == -1) {
				snprintf(err, errlen, "unbalanced '}' at byte "
				    "%zu", i + 1);
				return -1;
			}
			g->alt_next[last] = (int16_t)i;
			/* Every ',' of the group and its '}' lead past it. */
			for (e = g->alt_next[open]; e != -1 && e != (int)i;
			    e = g->alt_next[e])
				g->grp_end[e] = (int16_t)i;
			g->grp_end[i] = (int16_t)i;
			open = -1;
			break;
		default:
			break;
		}
	}
	if (open != -1) {
		snprintf(err, errlen, "unclosed '{' at byte %d", open + 1);
		return -1;
	}
	return 0;
}

static void	set_add(const struct glob_prog *, struct glob_set *, size_t);
static void	set_loop(const struct glob_prog *, struct glob_set *, size_t);

static int
set_has(const struct glob_set *s, size_t i)
{
	return (s->w[i / 64] >> (i % 64)) & 1;
}

/*
 * set_add() : puts state i into s along with every state reachable from
 * it without consuming a byte.  The recursion is at most one level per
 * pattern byte (POL_GLOB_MAX).
 */
static void
set_add(const struct glob_prog *g, struct glob_set *s, size_t i)
{
	const char	*p = g->pat;

	/*
	 * Entering "**" + "/" may skip it whole (zero directories); once it
	 * has consumed a byte (set_loop) it may not, or the pattern a, "**",
	 * "/", b would fit "axb".  Every epsilon edge goes forward, so the
	 * recursion ends.
	 */
	if ((s->e[i / 64] >> (i % 64)) & 1)
		return;
	s->e[i / 64] |= 1ull << (i % 64);
	if (i + 2 < g->len && p[i] == '*' && p[i + 1] == '*' && p[i + 2] == '/')
		set_add(g, s, i + 3);
	set_loop(g, s, i);
}

/*
 * set_loop() : puts state i into s with its epsilon closure, except the
 * zero-directory skip of a "**" + "/" at i (see set_add()).
 */
static void
set_loop(const struct glob_prog *g, struct glob_set *s, size_t i)
{
	const char	*p = g->pat;
	int		 k;

	if (set_has(s, i))
		return;
	s->w[i / 64] |= 1ull << (i % 64);
	if (i >= g->len)
		return;
	switch (p[i]) {
	case '*':
		if (i + 1 < g->len && p[i + 1] == '*')
			set_add(g, s, i + 2);
		else
			set_add(g, s, i + 1);
		break;
	case '{':
		for (k = (int)i; k != -1 && p[k] != '}'; k = g->alt_next[k])
			set_add(g, s, (size_t)k + 1);
		break;
	case ',':
	case '}':
		if (g->grp_end[i] != -1)
			set_add(g, s, (size_t)g->grp_end[i] + 1);
		break;
	default:
		break;
	}
}

/* class_match() : whether byte c is in the bracket expression at i. */
static int
class_match(const struct glob_prog *g, size_t i, unsigned char c)
{
	const char	*p = g->pat;
	size_t		 j = i + 1, end = (size_t)g->cls_end[i];
	unsigned char	 lo, hi;
	int		 neg = 0, in = 0;

	if (p[j] == '!' || p[j] == '^') {
		neg = 1;
		j++;
	}
	while (j < end) {
		if (p[j] == '\\')
			j++;
		lo = hi = (unsigned char)p[j];
		if (j + 2 < end && p[j + 1] == '-') {
			j += 2;
			if (p[j] == '\\')
				j++;
			hi = (unsigned char)p[j];
		}
		if (c >= lo && c <= hi)
			in = 1;
		j++;
	}
	return in != neg;
}

/*
 * glob_run() : returns 1 if the compiled pattern g fits all of s, else 0.
 */
static int
glob_run(const struct glob_prog *g, const char *s)
{
	struct glob_set	 cur, next;
	const char	*p = g->pat;
	unsigned char	 c;
	size_t		 i, w;
	int		 any;

	memset(&cur, 0, sizeof(cur));
	set_add(g, &cur, 0);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		memset(&next, 0, sizeof(next));
		any = 0;
		for (w = 0; w < GLOB_WORDS; w++) {
			uint64_t bits = cur.w[w];

			while (bits != 0) {
				i = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (i >= g->len)
					continue;
				switch (p[i]) {
				case '\\':
					if (c == (unsigned char)p[i + 1])
						set_add(g, &next, i + 2);
					break;
				case '?':
					if (c != '/')
						set_add(g, &next, i + 1);
					break;
				case '[':
					if (c != '/' && class_match(g, i, c))
						set_add(g, &next,
						    (size_t)g->cls_end[i] + 1);
					break;
				case '*':
					if ((i + 1 < g->len && p[i + 1] == '*') ||
					    c != '/')
						set_loop(g, &next, i);
					break;
				case '{':
					break;	/* no byte of its own */
				case ',':
				case '}':
					/* In a group: no byte of its own. */
					if (g->grp_end[i] == -1 &&
					    c == (unsigned char)p[i])
						set_add(g, &next, i + 1);
					break;
				default:
					if (c == (unsigned char)p[i])
						set_add(g, &next, i + 1);
					break;
				}
			}
			any |= next.w[w] != 0;
		}
		if (!any)
			return 0;
		cur = next;
	}
	return set_has(&cur, g->len);
}

/*
 * pol_glob_match() : returns 1 if pat fits all of s, else 0.  A pattern
 * that pol_glob_check() refuses fits nothing (the loader never lets one
 * through).
 */
int
pol_glob_match(const char *pat, const char *s)
{
	struct glob_prog g;

	if (s == NULL || glob_compile(pat, &g, NULL, 0) == -1)
		return 0;
	return glob_run(&g, s);
}

/*
 * pol_glob_check() : returns 0 if pat is a valid glob, else -1 with a
 * message in err (NUL-terminated; err may be NULL).
 */
int
pol_glob_check(const char *pat, char *err, size_t errlen)
{
	struct glob_prog g;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return glob_compile(pat, &g, err, errlen);
}
