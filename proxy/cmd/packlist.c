/*
 * proxy/cmd/packlist.c: which files of a folder `npm pack` packs
 * (packlist.h).  Three layers, each a port of the npm 11 code it names:
 *
 *  - mm_*: minimatch 10 with the options ignore-walk gives it (matchBase,
 *    dot, nocase, flipNegate, optimizationLevel 1): segment globs with
 *    `*` and `?`, `**` with minimatch's head/body/tail globstar walk, and
 *    its partial mode.  Brace, class and extglob syntax, backslashes and
 *    bytes outside printable ASCII are refused (the only classes are the
 *    ones npm's own rules use, built here directly);
 *  - walker: ignore-walk 8's Walker (per directory rules from
 *    .npmignore, else .gitignore; parents' verdicts first; `exact`
 *    children; partial matches for directories);
 *  - pkg_*: npm-packlist 10's PackWalker (the default and strict rule
 *    sets, package.json `files` with npm's lstat-based reading,
 *    `main`, `browser`, `bin` as npm-normalize-package-bin cleans it).
 *
 * Refused, with the reason: bundleDependencies, workspaces,
 * directories.bin without bin, a package.json npm would not read, names
 * outside printable ASCII, an unreadable ignore file.  Symbolic links and
 * other non-regular files are skipped, as npm skips them.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "packlist.h"
#include "pkgjson.h"

/* Internal segment encoding: GLOBSTAR, and classes "\x01" op chars "\x02". */
#define MM_GLOBSTAR	"\x03**"
#define MM_CLASS	'\x01'
#define MM_CLASS_END	'\x02'
#define MM_PARTS_MAX	4	/* brace alternatives (npm's rules only) */
#define MM_DEPTH_MAX	200	/* minimatch's maxGlobstarRecursion */

struct mm_part {
	size_t	 n;
	char	**seg;		/* MM_GLOBSTAR or a segment glob */
	int	 relative;	/* ignore-walk's isRelativeRule test */
};

struct mm_rule {
	int		 negate;
	int		 comment;	/* matches nothing */
	size_t		 nparts;
	struct mm_part	 parts[MM_PARTS_MAX];
};

struct ruleset {
	int		 present;	/* JS: ignoreRules[f] is an array */
	size_t		 n;
	struct mm_rule	*r;
};

struct pl_err {
	char	*buf;
	size_t	 len;
	int	 set;
};

static void
pl_fail(struct pl_err *e, const char *fmt, ...)
{
	va_list	 ap;

	if (e->set)
		return;
	e->set = 1;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->len, fmt, ap);
	va_end(ap);
}

static int
is_gs(const char *s)
{
	return strcmp(s, MM_GLOBSTAR) == 0;
}

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* One pattern character (or class) against one name byte. */
static int
char_hit(const char **pp, int c)
{
	const char	*p = *pp;
	int		 neg, hit = 0;

	if (*p == MM_CLASS) {
		neg = p[1] == '^';
		for (p += 2; *p != MM_CLASS_END; p++)
			if (lc(*p) == lc(c))
				hit = 1;
		*pp = p + 1;
		return neg ? !hit : hit;
	}
	*pp = p + 1;
	return *p == '?' || lc(*p) == lc(c);
}

/* glob_here() : the segment glob p matches all of f (backtracking on *). */
static int
glob_here(const char *p, const char *f)
{
	const char	*q;

	for (;;) {
		if (*p == '\0')
			return *f == '\0';
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return 1;
			for (; *f != '\0'; f++)
				if (glob_here(p, f))
					return 1;
			return 0;
		}
		if (*f == '\0')
			return 0;
		q = p;
		if (!char_hit(&q, (unsigned char)*f))
			return 0;
		p = q;
		f++;
	}
}

/* seg_hit() : minimatch's test of one pattern segment on one path part. */
static int
seg_hit(const char *p, const char *f)
{
	const char	*s;

	if (*p == '\0')
		return *f == '\0';
	for (s = p; *s == '*'; s++)
		;
	if (*s == '\0')		/* starTestDot */
		return *f != '\0' && strcmp(f, ".") != 0 &&
		    strcmp(f, "..") != 0;
	if ((*p == '*' || *p == '?' || *p == MM_CLASS) &&
	    (strcmp(f, ".") == 0 || strcmp(f, "..") == 0))
		return 0;
	return glob_here(p, f);
}

/* minimatch #matchOne over file[fi..fl) and pat[pi..pl). */
static int
match_seq(char **file, size_t fl, char **pat, size_t pl, int partial,
    size_t fi, size_t pi)
{
	for (; fi < fl && pi < pl; fi++, pi++) {
		if (is_gs(pat[pi]))
			return 0;
		if (!seg_hit(pat[pi], file[fi]))
			return 0;
	}
	if (fi >= fl && pi == pl)
		return 1;
	if (fi >= fl)
		return partial;
	return fi == fl - 1 && file[fi][0] == '\0';
}

static int
dotseg(const char *f)
{
	return strcmp(f, ".") == 0 || strcmp(f, "..") == 0;
}

struct body_sec {
	char	**seg;
	size_t	 n;
	long	 after;
};

/* #matchGlobStarBodySections: 1 true, 0 false, -1 null (give up). */
static int
body_sections(char **file, size_t fl, struct body_sec *secs, size_t nsecs,
    size_t fi, size_t bi, int partial, int depth, int saw_tail)
{
	size_t	 i, cut;
	int	 sub;

	if (bi >= nsecs) {
		for (i = fi; i < fl; i++) {
			saw_tail = 1;
			if (dotseg(file[i]))
				return 0;
		}
		return saw_tail;
	}
	while ((long)fi <= secs[bi].after) {
		cut = fi + secs[bi].n < fl ? fi + secs[bi].n : fl;
		if (match_seq(file, cut, secs[bi].seg, secs[bi].n, partial, fi,
		    0) && depth < MM_DEPTH_MAX) {
			sub = body_sections(file, fl, secs, nsecs,
			    fi + secs[bi].n, bi + 1, partial, depth + 1,
			    saw_tail);
			if (sub != 0)
				return sub;
		}
		if (fi < fl && dotseg(file[fi]))
			return 0;
		fi++;
	}
	return partial ? 1 : -1;
}

/* minimatch #matchGlobstar, from the start of file and pattern. */
static int
match_gs(char **file, size_t fl, char **pat, size_t pl, int partial)
{
	struct body_sec	 secs[64];
	size_t		 firstgs, lastgs, i, nsecs, fi = 0, tail_start;
	size_t		 hn, bn, tn, nongs = 0, sums[64], k, fh;
	char		**head, **body, **tail;
	long		 file_len, tail_match = 0;
	int		 saw;

	for (firstgs = 0; !is_gs(pat[firstgs]); firstgs++)
		;
	for (lastgs = pl - 1; !is_gs(pat[lastgs]); lastgs--)
		;
	head = pat;
	hn = firstgs;
	body = pat + firstgs + 1;
	if (partial) {
		bn = pl - firstgs - 1;
		tail = NULL;
		tn = 0;
	} else {
		bn = lastgs > firstgs ? lastgs - firstgs - 1 : 0;
		tail = pat + lastgs + 1;
		tn = pl - lastgs - 1;
	}
	if (hn > 0) {
		fh = fi < fl ? (fl - fi < hn ? fl - fi : hn) : 0;
		if (!match_seq(file + fi, fh, head, hn, partial, 0, 0))
			return 0;
		fi += hn;
	}
	if (tn > 0) {
		if (tn + fi > fl)
			return 0;
		tail_start = fl - tn;
		if (match_seq(file, fl, tail, tn, partial, tail_start, 0))
			tail_match = (long)tn;
		else {
			if (file[fl - 1][0] != '\0' || fi + tn == fl)
				return 0;
			tail_start--;
			if (!match_seq(file, fl, tail, tn, partial, tail_start,
			    0))
				return 0;
			tail_match = (long)tn + 1;
		}
	}
	if (bn == 0) {
		saw = tail_match != 0;
		for (i = fi; (long)i < (long)fl - tail_match; i++) {
			saw = 1;
			if (dotseg(file[i]))
				return 0;
		}
		return partial || saw;
	}
	nsecs = 1;
	secs[0].seg = body;
	secs[0].n = 0;
	sums[0] = 0;
	for (i = 0; i < bn; i++) {
		if (is_gs(body[i])) {
			if (nsecs >= 64)
				return 0;
			sums[nsecs] = nongs;
			secs[nsecs].seg = body + i + 1;
			secs[nsecs].n = 0;
			nsecs++;
		} else {
			secs[nsecs - 1].n++;
			nongs++;
		}
	}
	file_len = (long)fl - tail_match;
	for (k = 0; k < nsecs; k++)
		secs[k].after = file_len - (long)(sums[nsecs - 1 - k] +
		    secs[k].n);
	return body_sections(file, fl, secs, nsecs, fi, 0, partial, 0,
	    tail_match != 0) == 1;
}

/* Splits s on runs of '/' (JS: s.split(/\/+/)); n parts, pointers into buf. */
static size_t
split_path(char *buf, char **parts, size_t max)
{
	size_t	 n = 0;
	char	*p = buf;

	parts[n++] = p;
	for (; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		while (p[1] == '/')
			p++;
		if (n == max)
			return 0;
		parts[n++] = p + 1;
	}
	return n;
}

/* mm_match() : Minimatch.match(f, partial) with flipNegate. */
static int
mm_match(const struct mm_rule *r, const char *f, int partial)
{
	char	 buf[PX_PL_PATH_MAX + 8], *ff[PX_PL_PATH_MAX / 2 + 4];
	char	*filename, **file;
	size_t	 n, i, k, fl;
	int	 has_gs;

	if (r->comment)
		return 0;
	if (partial && strcmp(f, "/") == 0)
		return 1;
	if (strlen(f) >= sizeof(buf))
		return 0;
	strcpy(buf, f);
	if ((n = split_path(buf, ff, sizeof(ff) / sizeof(ff[0]))) == 0)
		return 0;
	filename = ff[n - 1];
	for (i = n - 1; filename[0] == '\0' && i > 0; i--)
		filename = ff[i - 1];
	for (k = 0; k < r->nparts; k++) {
		const struct mm_part	*pt = &r->parts[k];

		file = ff;
		fl = n;
		if (pt->n == 1) {
			file = &filename;
			fl = 1;
		}
		has_gs = 0;
		for (i = 0; i < pt->n; i++)
			if (is_gs(pt->seg[i]))
				has_gs = 1;
		if (has_gs ? match_gs(file, fl, pt->seg, pt->n, partial) :
		    match_seq(file, fl, pt->seg, pt->n, partial, 0, 0))
			return 1;
	}
	return 0;
}

static void
rule_free(struct mm_rule *r)
{
	size_t	 k, i;

	for (k = 0; k < r->nparts; k++) {
		for (i = 0; i < r->parts[k].n; i++)
			free(r->parts[k].seg[i]);
		free(r->parts[k].seg);
	}
	r->nparts = 0;
}

/*
 * add_part() : one brace alternative: split, levelOneOptimize, segments.
 * s is in the internal encoding already.
 */
static int
add_part(struct mm_rule *r, const char *s, struct pl_err *e)
{
	struct mm_part	*pt;
	char		*buf, **raw;
	size_t		 n, i, m = 0, max = strlen(s) / 2 + 2;

	if (r->nparts >= MM_PARTS_MAX)
		return -1;
	if ((buf = strdup(s)) == NULL ||
	    (raw = calloc(max, sizeof(*raw))) == NULL) {
		free(buf);
		pl_fail(e, "out of memory");
		return -1;
	}
	n = split_path(buf, raw, max);
	pt = &r->parts[r->nparts];
	if ((pt->seg = calloc(n + 1, sizeof(*pt->seg))) == NULL) {
		pl_fail(e, "out of memory");
		free(raw);
		free(buf);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char	*prev = m > 0 ? pt->seg[m - 1] : NULL;
		int		 gs = strcmp(raw[i], "**") == 0;

		if (gs && prev != NULL && is_gs(prev))
			continue;
		if (strcmp(raw[i], "..") == 0 && prev != NULL &&
		    prev[0] != '\0' && strcmp(prev, "..") != 0 &&
		    strcmp(prev, ".") != 0 && !is_gs(prev)) {
			free(pt->seg[--m]);
			continue;
		}
		if ((pt->seg[m] = strdup(gs ? MM_GLOBSTAR : raw[i])) == NULL) {
			pl_fail(e, "out of memory");
			break;
		}
		m++;
	}
	if (m == 0 && !e->set)
		pt->seg[m++] = strdup("");
	pt->n = m;
	/* ignore-walk: globParts with one part, or two ending in "". */
	pt->relative = pt->seg[m - 1] != NULL && pt->seg[m - 1][0] != '\0' ?
	    m <= 1 : m <= 2;
	r->nparts++;
	free(raw);
	free(buf);
	return e->set ? -1 : 0;
}

/*
 * mm_compile() : a pattern as ignore-walk hands it to minimatch.  Syntax
 * this reading does not follow exactly is refused.
 */
static int
mm_compile(struct mm_rule *r, const char *pat, const char *where,
    struct pl_err *e)
{
	const char	*p;

	memset(r, 0, sizeof(*r));
	if (strlen(pat) > PX_PL_PATTERN_MAX) {
		pl_fail(e, "%s: a pattern over %u bytes", where,
		    PX_PL_PATTERN_MAX);
		return -1;
	}
	if (pat[0] == '#' || pat[0] == '\0') {
		r->comment = 1;
		return 0;
	}
	for (p = pat; *p == '!'; p++)
		r->negate = !r->negate;
	for (const char *q = p; *q != '\0'; q++) {
		unsigned char	 c = (unsigned char)*q;

		if (c < 0x20 || c > 0x7e || strchr("[]{}()\\", c) != NULL) {
			pl_fail(e, "%s: pattern \"%.80s\" uses glob syntax "
			    "this reading does not follow (braces, classes, "
			    "extglobs, escapes or non-ASCII); run npm pack "
			    "and scan the .tgz", where, pat);
			return -1;
		}
	}
	return add_part(r, p, e);
}

/* ---- ignore-walk's Walker ---- */

enum { SRC_DEFAULT, SRC_PKG, SRC_NPMIGNORE, SRC_GITIGNORE, SRC_STRICT,
    SRC_N };

struct walker {
	struct walker	*parent;
	char		*abs;		/* the folder */
	char		*rel;		/* relative to the root, "" for it */
	const char	*base;		/* basename of abs */
	int		 exact;
	struct ruleset	 rs[SRC_N];
	char		**required;	/* requiredFiles */
	size_t		 nrequired;
};

struct pl_ctx {
	struct px_packlist	*out;
	size_t			 cap;
	struct pl_err		*e;
	char			**bins;	/* normalized bin targets */
	size_t			 nbins;
};

static void
ruleset_free(struct ruleset *rs)
{
	size_t	 i;

	for (i = 0; i < rs->n; i++)
		rule_free(&rs->r[i]);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

static struct mm_rule *
ruleset_add(struct ruleset *rs, struct pl_err *e)
{
	struct mm_rule	*n;

	if (rs->n >= PX_PL_RULES_MAX) {
		pl_fail(e, "over %u ignore rules in one file",
		    PX_PL_RULES_MAX);
		return NULL;
	}
	if ((n = realloc(rs->r, (rs->n + 1) * sizeof(*n))) == NULL) {
		pl_fail(e, "out of memory");
		return NULL;
	}
	rs->r = n;
	rs->present = 1;
	memset(&rs->r[rs->n], 0, sizeof(rs->r[rs->n]));
	return &rs->r[rs->n++];
}

/* One rule line as onReadIgnoreFile keeps it (trimmed, not a comment). */
static int
ruleset_line(struct ruleset *rs, const char *line, size_t len,
    const char *where, struct pl_err *e)
{
	char		 buf[PX_PL_PATTERN_MAX + 1];
	struct mm_rule	*r;

	rs->present = 1;
	/* JS trim() also drops a BOM (U+FEFF). */
	if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		len -= 3;
	}
	while (len > 0 && strchr(" \t\r\n\v\f", line[0]) != NULL) {
		line++;
		len--;
	}
	while (len > 0 && strchr(" \t\r\n\v\f", line[len - 1]) != NULL)
		len--;
	if (len == 0 || line[0] == '#')
		return 0;
	if (len > PX_PL_PATTERN_MAX) {
		pl_fail(e, "%s: a pattern over %u bytes", where,
		    PX_PL_PATTERN_MAX);
		return -1;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((r = ruleset_add(rs, e)) == NULL)
		return -1;
	if (mm_compile(r, buf, where, e) != 0) {
		rs->n--;
		return -1;
	}
	return 0;
}

static int
ruleset_text(struct ruleset *rs, const char *text, size_t len,
    const char *where, struct pl_err *e)
{
	const char	*p = text, *end = text + len, *nl;

	rs->present = 1;
	if (memchr(text, '\0', len) != NULL) {
		pl_fail(e, "%s: a NUL byte in an ignore file", where);
		return -1;
	}
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (ruleset_line(rs, p, (size_t)(nl - p), where, e) != 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}

static int
ruleset_list(struct ruleset *rs, const char *const *lines, size_t n,
    struct pl_err *e)
{
	size_t	 i;

	rs->present = 1;
	for (i = 0; i < n; i++)
		if (ruleset_line(rs, lines[i], strlen(lines[i]), "npm's rules",
		    e) != 0)
			return -1;
	return 0;
}

/* filterEntry(entry, partial, entryBasename) */
static int
filter_entry(const struct walker *w, const char *entry, int partial,
    const char *ebase)
{
	static const int	 order[] = { SRC_DEFAULT, SRC_PKG,
	    SRC_NPMIGNORE, SRC_GITIGNORE, SRC_STRICT };
	char			 a[PX_PL_PATH_MAX * 2 + 8];
	char			 b[PX_PL_PATH_MAX * 2 + 8];
	char			 c[PX_PL_PATH_MAX * 2 + 8];
	char			 d[PX_PL_PATH_MAX * 2 + 8];
	size_t			 s, i, k;
	int			 included = 1, rel, match;

	if (w->parent != NULL) {
		snprintf(a, sizeof(a), "%s/%s", w->base, entry);
		included = filter_entry(w->parent, a, partial,
		    ebase != NULL ? ebase : entry);
		if (!included && !w->exact)
			return 0;
	}
	snprintf(a, sizeof(a), "/%s", entry);
	snprintf(b, sizeof(b), "/%s/", entry);
	snprintf(c, sizeof(c), "%s/", entry);
	for (s = 0; s < SRC_N; s++) {
		const struct ruleset	*rs = &w->rs[order[s]];

		for (i = 0; rs->present && i < rs->n; i++) {
			const struct mm_rule	*r = &rs->r[i];

			if (r->negate == included)
				continue;
			rel = 0;
			for (k = 0; ebase != NULL && k < r->nparts; k++)
				if (r->parts[k].relative)
					rel = 1;
			match = mm_match(r, a, 0) || mm_match(r, entry, 0);
			if (!match && partial) {
				match = mm_match(r, b, 0) || mm_match(r, c, 0) ||
				    (r->negate && (mm_match(r, a, 1) ||
				    mm_match(r, entry, 1)));
				if (!match && rel) {
					snprintf(d, sizeof(d), "/%s/", ebase);
					match = mm_match(r, d, 0) ||
					    mm_match(r, d + 1, 0);
					if (!match && r->negate) {
						d[strlen(d) - 1] = '\0';
						match = mm_match(r, d, 1) ||
						    mm_match(r, d + 1, 1);
					}
				}
			}
			if (match)
				included = r->negate;
		}
	}
	return included;
}

static int
add_file(struct pl_ctx *cx, const char *rel)
{
	struct px_pl_file	*n;
	size_t			 i;

	if (cx->out->n >= PX_PL_FILES_MAX) {
		pl_fail(cx->e, "over %u files to pack", PX_PL_FILES_MAX);
		return -1;
	}
	if (cx->out->n == cx->cap) {
		cx->cap = cx->cap ? cx->cap * 2 : 64;
		if ((n = realloc(cx->out->files, cx->cap * sizeof(*n))) ==
		    NULL) {
			pl_fail(cx->e, "out of memory");
			return -1;
		}
		cx->out->files = n;
	}
	n = &cx->out->files[cx->out->n];
	if ((n->path = strdup(rel)) == NULL) {
		pl_fail(cx->e, "out of memory");
		return -1;
	}
	n->bin = 0;
	for (i = 0; i < cx->nbins; i++)
		if (strcmp(cx->bins[i], rel) == 0)
			n->bin = 1;
	cx->out->n++;
	return 0;
}

static int
read_small(const char *path, char **out, size_t *len, size_t max)
{
	FILE	*f;
	char	*b;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if ((b = malloc(max + 1)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(b, 1, max + 1, f);
	if (ferror(f) || n > max) {
		errno = ferror(f) ? (errno ? errno : EIO) : EFBIG;
		fclose(f);
		free(b);
		return -1;
	}
	fclose(f);
	b[n] = '\0';
	*out = b;
	*len = n;
	return 0;
}

static int walk_dir(struct pl_ctx *, struct walker *);

static const char *const default_rules[] = {
	".npmignore", ".gitignore", "**/.git", "**/.svn", "**/.hg",
	"**/CVS", "**/.git/**", "**/.svn/**", "**/.hg/**", "**/CVS/**",
	"/.lock-wscript", "/.wafpickle-*", "/build/config.gypi",
	"npm-debug.log", "**/.npmrc", ".*.swp", ".DS_Store",
	"**/.DS_Store/**", "._*", "**/._*/**", "*.orig",
	"/archived-packages/**",
};

static int
walker_init(struct walker *w, struct walker *parent, const char *abs,
    const char *rel, struct pl_err *e)
{
	const char	*sl;

	memset(w, 0, sizeof(*w));
	w->parent = parent;
	if ((w->abs = strdup(abs)) == NULL || (w->rel = strdup(rel)) == NULL) {
		pl_fail(e, "out of memory");
		return -1;
	}
	sl = strrchr(w->abs, '/');
	w->base = sl != NULL ? sl + 1 : w->abs;
	return ruleset_list(&w->rs[SRC_DEFAULT], default_rules,
	    sizeof(default_rules) / sizeof(default_rules[0]), e);
}

static void
walker_free(struct walker *w)
{
	size_t	 i;

	for (i = 0; i < SRC_N; i++)
		ruleset_free(&w->rs[i]);
	for (i = 0; i < w->nrequired; i++)
		free(w->required[i]);
	free(w->required);
	free(w->abs);
	free(w->rel);
}

/* posix path.normalize of a relative path, without a trailing slash. */
static void
norm_rel(const char *in, char *out, size_t len)
{
	char	 buf[PX_PL_PATH_MAX + 1], *parts[PX_PL_PATH_MAX / 2 + 2];
	size_t	 n = 0, i, off = 0;
	char	*tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", in);
	for (tok = strtok_r(buf, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (n > 0 && strcmp(parts[n - 1], "..") != 0)
				n--;
			else if (in[0] != '/' && n < sizeof(parts) /
			    sizeof(parts[0]))
				parts[n++] = tok;
			continue;
		}
		if (n < sizeof(parts) / sizeof(parts[0]))
			parts[n++] = tok;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, off < len ? len - off : 0,
		    "%s%s", i ? "/" : "", parts[i]);
}

/*
 * child_required() : the requiredFiles a child walker for entry gets:
 * those whose path.relative(file, entry) is "..".
 */
static int
child_required(const struct walker *w, struct walker *c, const char *entry,
    struct pl_err *e)
{
	char	 n[PX_PL_PATH_MAX + 1], *sl;
	size_t	 i;

	for (i = 0; i < w->nrequired; i++) {
		if (w->required[i][0] == '/')
			continue;
		norm_rel(w->required[i], n, sizeof(n));
		if ((sl = strchr(n, '/')) == NULL || strchr(sl + 1, '/'))
			continue;
		*sl = '\0';
		if (strcmp(n, entry) != 0 || strcmp(sl + 1, "..") == 0)
			continue;
		c->required = realloc(c->required, (c->nrequired + 1) *
		    sizeof(*c->required));
		if (c->required == NULL ||
		    (c->required[c->nrequired] = strdup(sl + 1)) == NULL) {
			pl_fail(e, "out of memory");
			return -1;
		}
		c->nrequired++;
	}
	return 0;
}

static int
name_ok(struct pl_ctx *cx, const struct walker *w, const char *name)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e) {
			pl_fail(cx->e, "%s%s%s: a name outside printable "
			    "ASCII (npm matches such names by rules this "
			    "reading does not follow); run npm pack and scan "
			    "the .tgz", w->rel, w->rel[0] ? "/" : "",
			    "(name)");
			return 0;
		}
	return 1;
}

static int
read_ignore(struct pl_ctx *cx, struct walker *w, const char *file, int src)
{
	char	 path[PX_PL_PATH_MAX * 2], where[PX_PL_PATH_MAX + 32], *text;
	size_t	 len;
	int	 rc;

	snprintf(path, sizeof(path), "%s/%s", w->abs, file);
	snprintf(where, sizeof(where), "%s%s%s", w->rel, w->rel[0] ? "/" : "",
	    file);
	if (read_small(path, &text, &len, 1u << 20) != 0) {
		pl_fail(cx->e, "%s: cannot read: %s", where, strerror(errno));
		return -1;
	}
	/* JS: split(/\r?\n/) then trim: the same lines as a split on \n. */
	rc = ruleset_text(&w->rs[src], text, len, where, cx->e);
	free(text);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
walk_dir(struct pl_ctx *cx, struct walker *w)
{
	DIR		*d;
	struct dirent	*de;
	char		**ents = NULL, **n;
	size_t		 nents = 0, i;
	int		 rc = -1, has_npmi = 0, has_giti = 0;

	if ((d = opendir(w->abs)) == NULL) {
		pl_fail(cx->e, "%s: %s", w->rel[0] ? w->rel : ".",
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (!name_ok(cx, w, de->d_name))
			goto out;
		if (nents % 64 == 0) {
			if ((n = realloc(ents, (nents + 64) * sizeof(*n))) ==
			    NULL) {
				pl_fail(cx->e, "out of memory");
				goto out;
			}
			ents = n;
		}
		if ((ents[nents] = strdup(de->d_name)) == NULL) {
			pl_fail(cx->e, "out of memory");
			goto out;
		}
		nents++;
		if (strcmp(de->d_name, ".npmignore") == 0)
			has_npmi = 1;
		if (strcmp(de->d_name, ".gitignore") == 0)
			has_giti = 1;
	}
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), cmp_str);
	if (has_npmi && read_ignore(cx, w, ".npmignore", SRC_NPMIGNORE) != 0)
		goto out;
	if (has_giti && read_ignore(cx, w, ".gitignore", SRC_GITIGNORE) != 0)
		goto out;
	/* filterEntries: package.json `files` beats .npmignore beats .gitignore. */
	if (w->rs[SRC_PKG].present) {
		ruleset_free(&w->rs[SRC_NPMIGNORE]);
		ruleset_free(&w->rs[SRC_GITIGNORE]);
	} else if (w->rs[SRC_NPMIGNORE].present)
		ruleset_free(&w->rs[SRC_GITIGNORE]);

	for (i = 0; i < nents; i++) {
		const char	*ent = ents[i];
		char		 abs[PX_PL_PATH_MAX * 2], rel[PX_PL_PATH_MAX + 2];
		char		 slash[PX_PL_PATH_MAX + 2];
		struct stat	 st;
		int		 pf, pd;

		pf = filter_entry(w, ent, 0, NULL);
		pd = filter_entry(w, ent, 1, NULL);
		if (!pf && !pd)
			continue;
		if (strchr(ent, '*') != NULL)	/* nameIsBadForWindows */
			continue;
		if (snprintf(rel, sizeof(rel), "%s%s%s", w->rel,
		    w->rel[0] ? "/" : "", ent) >= PX_PL_PATH_MAX) {
			pl_fail(cx->e, "%.80s...: a path over %u bytes", rel,
			    PX_PL_PATH_MAX);
			goto out;
		}
		snprintf(abs, sizeof(abs), "%s/%s", w->abs, ent);
		if (lstat(abs, &st) != 0) {
			pl_fail(cx->e, "%s: %s", rel, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;	/* npm-packlist onstat: links, fifos */
		if (!S_ISDIR(st.st_mode)) {
			if (pf && add_file(cx, rel) != 0)
				goto out;
			continue;
		}
		if (pd) {
			struct walker	 c;
			int		 r;

			snprintf(slash, sizeof(slash), "%s/", ent);
			if (walker_init(&c, w, abs, rel, cx->e) != 0) {
				walker_free(&c);
				goto out;
			}
			c.exact = pf || filter_entry(w, slash, 0, NULL);
			r = child_required(w, &c, ent, cx->e);
			/* strictRules of a non-package walker */
			if (r == 0 && ruleset_line(&c.rs[SRC_STRICT], "/.git", 5,
			    "npm's rules", cx->e) != 0)
				r = -1;
			for (size_t k = 0; r == 0 && k < c.nrequired; k++) {
				char	 inv[PX_PL_PATH_MAX + 2];

				snprintf(inv, sizeof(inv), "!%s",
				    c.required[k]);
				if (ruleset_line(&c.rs[SRC_STRICT], inv,
				    strlen(inv), "package.json files",
				    cx->e) != 0)
					r = -1;
			}
			if (r == 0)
				r = walk_dir(cx, &c);
			walker_free(&c);
			if (r != 0)
				goto out;
		}
	}
	rc = 0;
out:
	for (i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	closedir(d);
	return rc;
}

/* ---- npm-packlist's package rules ---- */

static int
str_prop(const struct px_pj *pj, const char *key, const char **out,
    struct pl_err *e)
{
	const struct px_pj	*v = px_pj_get(pj, key);

	*out = NULL;
	if (v == NULL || v->type == PX_PJ_NULL || v->type == PX_PJ_FALSE)
		return 0;
	if (v->type == PX_PJ_STRING && v->str[0] == '\0')
		return 0;
	if (v->type != PX_PJ_STRING || v->has_nul) {
		pl_fail(e, "package.json: \"%s\" is not a string (npm reads "
		    "it differently); fix it or run npm pack and scan the "
		    ".tgz", key);
		return -1;
	}
	*out = v->str;
	return 0;
}

/* npm-normalize-package-bin: join('/', target).slice(1). */
static char *
bin_target(const char *v)
{
	char	 n[PX_PL_PATH_MAX + 2], tmp[PX_PL_PATH_MAX + 2];
	size_t	 l = strlen(v);
	char	*p;

	if (l > PX_PL_PATH_MAX)
		return NULL;
	snprintf(tmp, sizeof(tmp), "/%s", v);
	for (p = tmp; *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	norm_rel(tmp, n, sizeof(n) - 1);
	if (n[0] == '\0')
		return strdup("");
	if (l > 0 && (v[l - 1] == '/' || v[l - 1] == '\\'))
		strcat(n, "/");
	return strdup(n);
}

static int
bin_key_ok(const char *k)
{
	char		 b[PX_PL_PATH_MAX + 1], *p, *s;
	size_t		 l;

	snprintf(b, sizeof(b), "%s", k);
	for (p = b; *p != '\0'; p++)
		if (*p == '\\' || *p == ':')
			*p = '/';
	l = strlen(b);
	while (l > 0 && b[l - 1] == '/')
		b[--l] = '\0';
	s = strrchr(b, '/');
	s = s != NULL ? s + 1 : b;
	return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int
add_bin(struct pl_ctx *cx, const char *key, const char *val)
{
	char	*t;

	if (!bin_key_ok(key))
		return 0;
	if ((t = bin_target(val)) == NULL) {
		pl_fail(cx->e, "out of memory");
		return -1;
	}
	if (t[0] == '\0') {
		free(t);
		return 0;
	}
	cx->bins = realloc(cx->bins, (cx->nbins + 1) * sizeof(*cx->bins));
	if (cx->bins == NULL) {
		free(t);
		pl_fail(cx->e, "out of memory");
		return -1;
	}
	cx->bins[cx->nbins++] = t;
	return 0;
}

static int
read_bins(struct pl_ctx *cx, const struct px_pj *pj)
{
	const struct px_pj	*bin = px_pj_get(pj, "bin"), *name, *v;
	const char		*b;
	size_t			 i;

	if (bin == NULL)
		return 0;
	switch (bin->type) {
	case PX_PJ_STRING:
		if (bin->str[0] == '\0')
			return 0;
		name = px_pj_get(pj, "name");
		if (name == NULL || name->type != PX_PJ_STRING ||
		    name->str[0] == '\0')
			return 0;
		return add_bin(cx, name->str, bin->str);
	case PX_PJ_ARRAY:
		for (i = 0; i < bin->n; i++) {
			v = bin->vals[i];
			if (v->type != PX_PJ_STRING)
				goto odd;
			b = strrchr(v->str, '/');
			if (add_bin(cx, b != NULL ? b + 1 : v->str, v->str) !=
			    0)
				return -1;
		}
		return 0;
	case PX_PJ_OBJECT:
		for (i = 0; i < bin->n; i++)
			if (bin->vals[i]->type == PX_PJ_STRING &&
			    add_bin(cx, bin->keys[i], bin->vals[i]->str) != 0)
				return -1;
		return 0;
	case PX_PJ_NULL:
	case PX_PJ_FALSE:
		return 0;
	default:
	odd:
		pl_fail(cx->e, "package.json: \"bin\" has a form npm "
		    "normalizes in ways this reading does not follow; run "
		    "npm pack and scan the .tgz");
		return -1;
	}
}

static int
truthy_nonempty(const struct px_pj *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case PX_PJ_NULL:
	case PX_PJ_FALSE:
		return 0;
	case PX_PJ_ARRAY:
	case PX_PJ_OBJECT:
		return v->n > 0;
	default:
		return 1;
	}
}

/* processPackage: the package.json rules and strict rules of the root. */
static int
process_package(struct pl_ctx *cx, struct walker *root,
    const struct px_pj *pj)
{
	static const char *const strict_tail[] = {
		"/.git", "!/package.json",
		"", "", "", "",		/* readme, copying, license, licence */
		"/.git", "/node_modules", ".npmrc", "/package-lock.json",
		"/yarn.lock", "/pnpm-lock.yaml", "/bun.lockb",
	};
	static const char *const always[] = { "readme", "copying",
	    "license", "licence" };
	const struct px_pj	*files = px_pj_get(pj, "files"), *dirs;
	struct ruleset		*strict = &root->rs[SRC_STRICT];
	struct ruleset		*pkg = &root->rs[SRC_PKG];
	const char		*main, *browser = NULL;
	char			 buf[PX_PL_PATTERN_MAX + 8];
	char			 pth[PX_PL_PATTERN_MAX + PX_PL_PATH_MAX + 16];
	char			**front = NULL;
	size_t			 nfront = 0, i, k;
	struct stat		 st;
	int			 rc = -1;

	if (truthy_nonempty(px_pj_get(pj, "bundleDependencies")) ||
	    truthy_nonempty(px_pj_get(pj, "bundledDependencies"))) {
		pl_fail(cx->e, "package.json has bundleDependencies: bundled "
		    "packages are not listed from a folder; run npm pack "
		    "and scan the .tgz");
		return -1;
	}
	if (px_pj_get(pj, "workspaces") != NULL) {
		pl_fail(cx->e, "package.json has workspaces (npm reads "
		    "nested package.json files then); run npm pack and scan "
		    "the .tgz");
		return -1;
	}
	dirs = px_pj_get(pj, "directories");
	if (px_pj_get(dirs, "bin") != NULL && px_pj_get(pj, "bin") == NULL) {
		pl_fail(cx->e, "package.json has directories.bin (npm globs "
		    "it into bin); run npm pack and scan the .tgz");
		return -1;
	}
	if (read_bins(cx, pj) != 0)
		return -1;
	if (str_prop(pj, "main", &main, cx->e) != 0)
		return -1;
	{
		const struct px_pj	*b = px_pj_get(pj, "browser");

		if (b != NULL && b->type == PX_PJ_OBJECT && b->n > 0)
			browser = "[object Object]";
		else if (b != NULL && b->type != PX_PJ_OBJECT &&
		    str_prop(pj, "browser", &browser, cx->e) != 0)
			return -1;
	}

	if (files != NULL && files->type != PX_PJ_NULL &&
	    files->type != PX_PJ_FALSE) {
		if (files->type != PX_PJ_ARRAY) {
			pl_fail(cx->e, "package.json: \"files\" is not an "
			    "array");
			return -1;
		}
		if (ruleset_line(pkg, "*", 1, "npm's rules", cx->e) != 0)
			return -1;
		for (i = 0; i < files->n; i++) {
			const struct px_pj	*f = files->vals[i];
			const char		*p, *s;
			size_t			 l;

			if (f->type != PX_PJ_STRING || f->has_nul) {
				pl_fail(cx->e, "package.json: \"files\" has "
				    "an entry that is not a string");
				goto out;
			}
			s = f->str;
			if (strncmp(s, "./", 2) == 0)
				s++;
			l = strlen(s);
			if (l > PX_PL_PATTERN_MAX - 8) {
				pl_fail(cx->e, "package.json: a \"files\" "
				    "entry over %u bytes", PX_PL_PATTERN_MAX);
				goto out;
			}
			snprintf(buf, sizeof(buf), "!%s%s", s,
			    l >= 2 && strcmp(s + l - 2, "/*") == 0 ? "*" :
			    "");
			for (p = buf + 1; *p == '!'; p++)
				;
			snprintf(pth, sizeof(pth), "%s/%s", root->abs, p);
			if (lstat(pth, &st) == 0 && S_ISREG(st.st_mode)) {
				char	**n;

				n = realloc(front, (nfront + 1) *
				    sizeof(*front));
				if (n == NULL || (n[nfront] = strdup(buf)) ==
				    NULL) {
					front = n ? n : front;
					pl_fail(cx->e, "out of memory");
					goto out;
				}
				front = n;
				nfront++;
				n = realloc(root->required,
				    (root->nrequired + 1) * sizeof(*n));
				if (n == NULL || (n[root->nrequired] =
				    strdup(buf[1] == '/' ? buf + 2 : buf + 1))
				    == NULL) {
					root->required = n ? n :
					    root->required;
					pl_fail(cx->e, "out of memory");
					goto out;
				}
				root->required = n;
				root->nrequired++;
			} else if (lstat(pth, &st) == 0 &&
			    S_ISDIR(st.st_mode)) {
				if (ruleset_line(pkg, buf, strlen(buf),
				    "package.json files", cx->e) != 0)
					goto out;
				strcat(buf, "/**");
				if (ruleset_line(pkg, buf, strlen(buf),
				    "package.json files", cx->e) != 0)
					goto out;
			} else if (lstat(pth, &st) != 0) {
				if (ruleset_line(pkg, buf, strlen(buf),
				    "package.json files", cx->e) != 0)
					goto out;
			}
		}
	}

	/* strict: the unshifted required files (last first), then npm's. */
	strict->present = 1;
	for (i = nfront; i > 0; i--)
		if (ruleset_line(strict, front[i - 1], strlen(front[i - 1]),
		    "package.json files", cx->e) != 0)
			goto out;
	for (i = 0; i < sizeof(strict_tail) / sizeof(strict_tail[0]); i++) {
		struct mm_rule	*r;

		if (strict_tail[i][0] != '\0') {
			if (ruleset_line(strict, strict_tail[i],
			    strlen(strict_tail[i]), "npm's rules",
			    cx->e) != 0)
				goto out;
			continue;
		}
		/* "!/readme{,.*[^~$]}" expanded: /readme, /readme.*[^~$] */
		k = i - 2;
		if ((r = ruleset_add(strict, cx->e)) == NULL)
			goto out;
		r->negate = 1;
		snprintf(buf, sizeof(buf), "/%s", always[k]);
		if (add_part(r, buf, cx->e) != 0)
			goto out;
		snprintf(buf, sizeof(buf), "/%s.*%c^~$%c", always[k],
		    MM_CLASS, MM_CLASS_END);
		if (add_part(r, buf, cx->e) != 0)
			goto out;
	}
	if (browser != NULL) {
		struct mm_rule	*r;

		if (strcmp(browser, "[object Object]") == 0) {
			/* `!/${browser}` of an object: a class, as npm has it */
			if ((r = ruleset_add(strict, cx->e)) == NULL)
				goto out;
			r->negate = 1;
			snprintf(buf, sizeof(buf), "/%c=object Object%c",
			    MM_CLASS, MM_CLASS_END);
			if (add_part(r, buf, cx->e) != 0)
				goto out;
		} else {
			snprintf(buf, sizeof(buf), "!/%s", browser);
			if (ruleset_line(strict, buf, strlen(buf),
			    "package.json browser", cx->e) != 0)
				goto out;
		}
	}
	if (main != NULL) {
		snprintf(buf, sizeof(buf), "!/%s", main);
		if (ruleset_line(strict, buf, strlen(buf), "package.json main",
		    cx->e) != 0)
			goto out;
	}
	for (i = 0; i < cx->nbins; i++) {
		snprintf(buf, sizeof(buf), "!/%s", cx->bins[i]);
		if (ruleset_line(strict, buf, strlen(buf), "package.json bin",
		    cx->e) != 0)
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < nfront; i++)
		free(front[i]);
	free(front);
	return rc;
}

/* PackWalker.sort: extname, then basename, then the path (lowercase). */
static const char *
ext_of(const char *p)
{
	const char	*b = strrchr(p, '/'), *d;

	b = b != NULL ? b + 1 : p;
	d = strrchr(b, '.');
	return d != NULL && d != b ? d : "";
}

static int
cmp_pack(const void *a, const void *b)
{
	const char	*x = ((const struct px_pl_file *)a)->path;
	const char	*y = ((const struct px_pl_file *)b)->path;
	const char	*bx, *by;
	int		 r;

	if ((r = strcasecmp(ext_of(x), ext_of(y))) != 0)
		return r;
	bx = strrchr(x, '/');
	by = strrchr(y, '/');
	if ((r = strcasecmp(bx ? bx + 1 : x, by ? by + 1 : y)) != 0)
		return r;
	return strcmp(x, y);
}

struct px_packlist *
px_pl_build(const char *dir, char *err, size_t errlen)
{
	struct pl_err		 e = { err, errlen, 0 };
	struct pl_ctx		 cx;
	struct walker		 root;
	struct px_pj		*pj = NULL;
	struct stat		 st;
	char			 path[PX_PL_PATH_MAX * 2], *text = NULL, msg[200];
	char			 abs[PX_PL_PATH_MAX];
	size_t			 len, i;
	int			 ok = 0;

	if (errlen > 0)
		err[0] = '\0';
	memset(&cx, 0, sizeof(cx));
	memset(&root, 0, sizeof(root));
	cx.e = &e;
	if ((cx.out = calloc(1, sizeof(*cx.out))) == NULL) {
		pl_fail(&e, "out of memory");
		return NULL;
	}
	if (realpath(dir, abs) == NULL) {
		pl_fail(&e, "%s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/package.json", abs);
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		pl_fail(&e, "no package.json (npm pack needs one)");
		goto out;
	}
	if (read_small(path, &text, &len, PX_PJ_MAX_BYTES) != 0) {
		pl_fail(&e, "package.json: %s", strerror(errno));
		goto out;
	}
	if ((pj = px_pj_parse(text, len, msg, sizeof(msg))) == NULL ||
	    pj->type != PX_PJ_OBJECT) {
		pl_fail(&e, "package.json: %s", pj ? "not a JSON object" :
		    msg);
		goto out;
	}
	{
		const struct px_pj	*n = px_pj_get(pj, "name");

		if (n != NULL && n->type == PX_PJ_STRING && !n->has_nul &&
		    (cx.out->name = strdup(n->str)) == NULL) {
			pl_fail(&e, "out of memory");
			goto out;
		}
	}
	if (walker_init(&root, NULL, abs, "", &e) != 0 ||
	    process_package(&cx, &root, pj) != 0 ||
	    walk_dir(&cx, &root) != 0)
		goto out;
	qsort(cx.out->files, cx.out->n, sizeof(*cx.out->files), cmp_pack);
	ok = 1;
out:
	walker_free(&root);
	for (i = 0; i < cx.nbins; i++)
		free(cx.bins[i]);
	free(cx.bins);
	px_pj_free(pj);
	free(text);
	if (!ok) {
		px_pl_free(cx.out);
		return NULL;
	}
	return cx.out;
}

void
px_pl_free(struct px_packlist *pl)
{
	size_t	 i;

	if (pl == NULL)
		return;
	for (i = 0; i < pl->n; i++)
		free(pl->files[i].path);
	free(pl->files);
	free(pl->name);
	free(pl);
}

int
px_pl_match(const char *pattern, const char *path, int partial, char *err,
    size_t errlen)
{
	struct pl_err	 e = { err, errlen, 0 };
	struct mm_rule	 r;
	int		 hit;

	if (mm_compile(&r, pattern, "pattern", &e) != 0) {
		rule_free(&r);
		return -1;
	}
	hit = mm_match(&r, path, partial);
	rule_free(&r);
	return hit;
}
