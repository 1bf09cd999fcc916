/*
 * policy/diff.c: judging a release against the previous version of the
 * same package (the rule's `diff:` key).  A pure function of two file
 * lists and the rule's settings; no I/O.  Fetching and listing the
 * previous tarball is the proxy's job: it feeds the names and sizes the
 * streaming walker (gz.c + tar.c) reports into a pol_flist, keeps no file
 * content, and calls pol_diff_judge() before the verdict.
 *
 * What is judged, in this order (each reason names the previous version):
 *   diff.new_file       a file that was not in the previous version
 *                       (new_files: allow ignores it, warn reports it as a
 *                       warning, block refuses it)
 *   diff.new_file_size  a new file larger than new_file_size, or a file
 *                       that grew by more than new_file_size bytes: always
 *                       blocks ("new since 2.1.87: cli.js.map, 59.8 MB")
 *   diff.growth         the package's unpacked size grew past max_growth
 *                       times the previous one: blocks
 *
 * Memory is bounded: a pol_flist refuses entries past its caps (files and
 * name bytes), and the caller turns that refusal into a verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"

void
pol_diff_defaults(struct pol_diff *d)
{
	memset(d, 0, sizeof(*d));
	d->on = 0;
	d->new_files = POL_DIFF_WARN;
	d->max_growth = 3000;			/* 3x, in thousandths */
	d->new_file_size = 1ull << 20;		/* 1MiB */
	d->unreachable = POL_MODE_BLOCK;
}

/*
 * pol_diff_parse_growth() : "3x", "2.5x", "3" -> thousandths (3000).  At
 * most three decimals; 1x to POL_DIFF_GROWTH_CAP.  0, or -1 on bad text.
 */
int
pol_diff_parse_growth(const char *s, uint32_t *out)
{
	uint64_t	 v = 0, frac = 0, scale = 1000;
	size_t		 ndig = 0, nfrac = 0;

	if (s == NULL)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, ndig++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > POL_DIFF_GROWTH_CAP)
			return -1;
	}
	if (ndig == 0)
		return -1;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if (nfrac == 3)
				return -1;
			scale /= 10;
			frac += (uint64_t)(*s - '0') * scale;
		}
		if (nfrac == 0)
			return -1;
	}
	if (*s == 'x' || *s == 'X')
		s++;
	if (*s != '\0')
		return -1;
	v = v * 1000 + frac;
	if (v < 1000 || v > (uint64_t)POL_DIFF_GROWTH_CAP * 1000)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* ------------------------------------------------------------ file lists */

void
pol_flist_init(struct pol_flist *l, uint64_t max_files, uint64_t max_bytes)
{
	memset(l, 0, sizeof(*l));
	l->max_files = max_files;
	l->max_bytes = max_bytes;
}

void
pol_flist_free(struct pol_flist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

/*
 * pol_flist_add() : one regular file.  A name seen again is merged
 * when judged (its largest size counts).  Returns 0, -1 past a cap or on
 * memory exhaustion: the list is then incomplete and must not be judged.
 */
int
pol_flist_add(struct pol_flist *l, const char *name, uint64_t size)
{
	struct pol_fent	*ne;
	size_t		 len, cap;

	len = strlen(name);
	if (l->n >= l->max_files || len + 1 > l->max_bytes - l->bytes ||
	    l->bytes > l->max_bytes) {
		l->over = 1;
		return -1;
	}
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : l->cap * 2;
		if ((ne = reallocarray(l->e, cap, sizeof(*ne))) == NULL) {
			l->over = 1;
			return -1;
		}
		l->e = ne;
		l->cap = cap;
	}
	if ((l->e[l->n].name = strdup(name)) == NULL) {
		l->over = 1;
		return -1;
	}
	l->e[l->n].size = size;
	l->n++;
	l->bytes += len + 1;
	l->sorted = 0;
	return 0;
}

static int
fent_cmp(const void *a, const void *b)
{
	const struct pol_fent *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Sorts by name; a repeated name keeps its largest size. */
static void
flist_sort(struct pol_flist *l)
{
	size_t	 i, o;

	if (l->sorted)
		return;
	/* qsort is not stable: of a repeated name keep the larger size,
	   the stricter reading for growth */
	qsort(l->e, l->n, sizeof(l->e[0]), fent_cmp);
	for (i = o = 0; i < l->n; i++) {
		if (o > 0 && strcmp(l->e[o - 1].name, l->e[i].name) == 0) {
			if (l->e[i].size > l->e[o - 1].size)
				l->e[o - 1].size = l->e[i].size;
			free(l->e[i].name);
			continue;
		}
		l->e[o++] = l->e[i];
	}
	l->n = o;
	l->sorted = 1;
}

/* "59.8 MB", "512 B": decimal units, as npm prints sizes. */
const char *
pol_diff_fmt_size(uint64_t v, char *buf, size_t len)
{
	if (v >= 1000000000ull)
		snprintf(buf, len, "%.1f GB", (double)v / 1e9);
	else if (v >= 1000000ull)
		snprintf(buf, len, "%.1f MB", (double)v / 1e6);
	else if (v >= 1000ull)
		snprintf(buf, len, "%.1f kB", (double)v / 1e3);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	return buf;
}

/*
 * pol_diff_judge() : cur against prev under d.  fn gets each reason with
 * warn set when it must not block.  Returns the number of blocking
 * reasons, or -1 when a list is over its cap (incomplete: the caller
 * blocks).  prev_version names the previous version in every text.
 */
int
pol_diff_judge(const struct pol_diff *d, const char *prev_version,
    struct pol_flist *prev, struct pol_flist *cur, pol_diff_fn fn, void *arg)
{
	char		 text[POL_TEXT_MAX], a[32], b[32], lim[32];
	uint64_t	 ptot = 0, ctot = 0;
	size_t		 i = 0, j = 0;
	int		 nblock = 0, c;

	if (!d->on)
		return 0;
	if (prev->over || cur->over)
		return -1;
	flist_sort(prev);
	flist_sort(cur);
	for (i = 0; i < prev->n; i++)
		ptot += prev->e[i].size;
	for (i = 0; i < cur->n; i++)
		ctot += cur->e[i].size;
	for (i = 0, j = 0; j < cur->n; ) {
		const struct pol_fent *ce = &cur->e[j];

		c = i < prev->n ? strcmp(prev->e[i].name, ce->name) : 1;
		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {			/* new since prev */
			if (ce->size > d->new_file_size) {
				snprintf(text, sizeof(text), "new since %s: "
				    "%s, %s (over diff.new_file_size %s)",
				    prev_version, ce->name,
				    pol_diff_fmt_size(ce->size, a, sizeof(a)),
				    pol_diff_fmt_size(d->new_file_size, b,
				    sizeof(b)));
				fn(arg, "diff.new_file_size", ce->name, 0, text);
				nblock++;
			} else if (d->new_files != POL_DIFF_ALLOW) {
				snprintf(text, sizeof(text), "new since %s: "
				    "%s, %s", prev_version, ce->name,
				    pol_diff_fmt_size(ce->size, a, sizeof(a)));
				fn(arg, "diff.new_file", ce->name,
				    d->new_files == POL_DIFF_WARN, text);
				if (d->new_files == POL_DIFF_BLOCK)
					nblock++;
			}
			j++;
			continue;
		}
		if (ce->size > prev->e[i].size &&
		    ce->size - prev->e[i].size > d->new_file_size) {
			pol_diff_fmt_size(prev->e[i].size, a, sizeof(a));
			pol_diff_fmt_size(ce->size, b, sizeof(b));
			pol_diff_fmt_size(d->new_file_size, lim, sizeof(lim));
			snprintf(text, sizeof(text), "grew since %s: %s, %s -> %s "
			    "(over diff.new_file_size %s)", prev_version, ce->name,
			    a, b, lim);
			fn(arg, "diff.new_file_size", ce->name, 0, text);
			nblock++;
		}
		i++;
		j++;
	}
	if (ptot > 0 && ctot > ptot &&
	    (ctot * 1000.0) / (double)ptot > (double)d->max_growth) {
		snprintf(text, sizeof(text), "grew %.1fx since %s: %s -> %s "
		    "unpacked (over diff.max_growth %u.%03ux)",
		    (double)ctot / (double)ptot, prev_version,
		    pol_diff_fmt_size(ptot, a, sizeof(a)),
		    pol_diff_fmt_size(ctot, b, sizeof(b)),
		    d->max_growth / 1000, d->max_growth % 1000);
		fn(arg, "diff.growth", NULL, 0, text);
		nblock++;
	}
	return nblock;
}
