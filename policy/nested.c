/*
 * policy/nested.c: archives inside a package (.tgz, .tar, .gz, .zip, found
 * by their content: gzip magic 1f 8b, zip "PK\3\4" (or an empty zip's
 * "PK\5\6"), "ustar" at offset 257; or by those names), opened and judged
 * as the package's own files are, at most POL_NEST_DEPTH_MAX levels deep.
 * Also the streaming reader of a gzip header's extra, name and comment
 * fields (pol_gzh_*), which the engine scans for secrets in the package
 * tarball's own header and which is used here for every inner gzip.
 *
 * Owns struct pol_nest, one per publish: for each depth the file being
 * read there (its composed path, "dist/vendor.tgz!package/x.js", and the
 * first bytes that decide whether it is an archive), the archive opened
 * below it (gz.c inflate, then tar.c's walker when the gzip holds a tar
 * or one member file otherwise; tar.c; zip.c) and a content scanner
 * (scan.c) for the files at that depth.  Memory is bounded by the depth:
 * one inflate state, one tar walker or zip reader and one scanner per
 * level, whatever the archives hold.
 *
 * Judgments go back to the engine (publish.c) through struct
 * pol_nest_env, which knows whether the rule is known yet: each inner
 * entry after its data (pol_nest_judge() applies the rule's path, deny
 * glob and file-size rules to it), each finding of the scanners, each
 * archive among the package's files (for archives: block), and the
 * totals (files and unpacked bytes, counted against the package's
 * limits).  An archive the gate cannot read to the end (corrupt,
 * truncated, encrypted, an unsupported zip, a tar node-tar would read
 * another way, nested too deep, a name that promises an archive the
 * content does not hold) is a finding "archive.nested" on its path; what
 * was read of it before still counts.  Depends on policy-int.h stages;
 * never logs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy-int.h"

enum { NF_SNIFF = 0, NF_PLAIN, NF_ARCHIVE, NF_DEAD };
enum nkind { NK_NONE = 0, NK_GZ, NK_TAR, NK_ZIP };
enum { GZ_SNIFF = 0, GZ_TAR, GZ_ONE };

static const char *const hint_nested =
    "ship the files unpacked, or set the rule's archives: allow";

struct nfile {
	int		 open;
	int		 state;		/* NF_* */
	int		 scanned;	/* the depth's scanner has it open */
	enum pol_tar_type type;
	uint64_t	 size;		/* from the header, 0 if unknown */
	uint64_t	 bytes;		/* data seen */
	size_t		 inner_off;	/* where the inner path starts in path */
	char		 path[POL_TAR_PATH_MAX + 1];
	size_t		 hlen;
	unsigned char	 head[POL_NEST_SNIFF];
};

struct narc {
	struct pol_nest	*n;
	int		 depth;
	int		 open;
	int		 dead;		/* reported; the rest is ignored */
	enum nkind	 kind;
	struct pol_gz	*gz;
	struct pol_gzh	 gzh;
	int		 gz_mode;	/* GZ_* */
	size_t		 ghlen;
	unsigned char	 ghead[POL_NEST_SNIFF];
	struct pol_tar	*tar;
	int		 tar_ended;
	struct pol_zip	*zip;
};

/* A reason held until the package file ends (see pol_nest_hold()). */
struct nhold {
	char		 rule[POL_RULE_ID_MAX];
	char		 file[POL_FILE_MAX];
	char		 text[POL_TEXT_MAX];
	const char	*hint;
	int64_t		 offset;
	char		 fp[POL_FP_LEN + 1];
};

struct pol_nest {
	struct pol_nest_env	 env;
	int			 is_archive;	/* the package file is one */
	size_t			 nhold;
	struct nhold		 hold[POL_NEST_HOLD_MAX];
	int			 hold_over;	/* a finding was not held */
	const struct pol_rule	*rule;
	struct pol_limits	 lim;
	int			 open;	/* 1: open archives, 0: only name them */
	int			 fatal;	/* the env ended the publish */
	struct nfile		 f[POL_NEST_DEPTH_MAX + 1];
	struct narc		 a[POL_NEST_DEPTH_MAX + 1];	/* a[0] unused */
	struct pol_scan		*scan[POL_NEST_DEPTH_MAX + 1];	/* [0] unused */
};

static int	file_data(struct pol_nest *, int, const unsigned char *,
		    size_t);
static int	file_end(struct pol_nest *, int);
static void	arc_close(struct pol_nest *, int);

/* ------------------------------------------------------ gzip header */

#define GZH_FEXTRA	0x04
#define GZH_FNAME	0x08
#define GZH_FCOMMENT	0x10
#define GZH_FHCRC	0x02

enum {
	GH_FIXED = 0, GH_XLEN, GH_EXTRA, GH_NAME, GH_COMMENT, GH_HCRC, GH_DONE
};

/* pol_gzh_init() : starts reading one gzip header. */
void
pol_gzh_init(struct pol_gzh *h)
{
	memset(h, 0, sizeof(*h));
}

/* gzh_next() : the state after the fields up to `after`. */
static int
gzh_next(const struct pol_gzh *h, int after)
{
	if (after < GH_XLEN && (h->flg & GZH_FEXTRA))
		return GH_XLEN;
	if (after < GH_NAME && (h->flg & GZH_FNAME))
		return GH_NAME;
	if (after < GH_COMMENT && (h->flg & GZH_FCOMMENT))
		return GH_COMMENT;
	if (after < GH_HCRC && (h->flg & GZH_FHCRC))
		return GH_HCRC;
	return GH_DONE;
}

static const char *
gzh_field(int state)
{
	return state == GH_EXTRA ? "extra" : state == GH_NAME ? "name" :
	    "comment";
}

/*
 * pol_gzh_feed() : reads the next bytes of a gzip stream (any split) and
 * hands the extra, name and comment fields of its header to fn as they
 * pass (POL_GZH_BEGIN, DATA..., END per field; the NUL is not passed).
 * Bytes after the header are ignored; a malformed header is left to the
 * inflater.  Returns 0, or -1 when fn did.
 */
int
pol_gzh_feed(struct pol_gzh *h, const void *buf, size_t len, pol_gzh_fn fn,
    void *arg)
{
	const unsigned char *p = buf, *e = p + len, *z;
	size_t n;
	int next;

	while (p < e && h->state != GH_DONE) {
		switch (h->state) {
		case GH_FIXED:
			h->fixed[h->n++] = *p++;
			if (h->n < 10)
				break;
			if (h->fixed[0] != 0x1f || h->fixed[1] != 0x8b) {
				h->state = GH_DONE;
				break;
			}
			h->flg = h->fixed[3];
			h->n = 0;
			h->state = gzh_next(h, GH_FIXED);
			break;
		case GH_XLEN:
			h->xlen |= (uint32_t)*p++ << (8 * h->n);
			if (++h->n < 2)
				break;
			h->n = 0;
			h->state = GH_EXTRA;
			if (fn(arg, "extra", POL_GZH_BEGIN, NULL, 0) != 0)
				return -1;
			if (h->xlen == 0) {
				if (fn(arg, "extra", POL_GZH_END, NULL, 0) != 0)
					return -1;
				h->state = gzh_next(h, GH_EXTRA);
			}
			break;
		case GH_EXTRA:
			n = (size_t)(e - p);
			if (n > h->xlen)
				n = h->xlen;
			if (fn(arg, "extra", POL_GZH_DATA, p, n) != 0)
				return -1;
			p += n;
			h->xlen -= (uint32_t)n;
			if (h->xlen == 0) {
				if (fn(arg, "extra", POL_GZH_END, NULL, 0) != 0)
					return -1;
				h->state = gzh_next(h, GH_EXTRA);
			}
			break;
		case GH_NAME:
		case GH_COMMENT:
			if (!h->in_field) {
				h->in_field = 1;
				if (fn(arg, gzh_field(h->state), POL_GZH_BEGIN,
				    NULL, 0) != 0)
					return -1;
			}
			z = memchr(p, '\0', (size_t)(e - p));
			n = (size_t)((z != NULL ? z : e) - p);
			if (n > 0 && fn(arg, gzh_field(h->state),
			    POL_GZH_DATA, p, n) != 0)
				return -1;
			p += n;
			if (z == NULL)
				break;
			p++;
			h->in_field = 0;
			if (fn(arg, gzh_field(h->state), POL_GZH_END, NULL,
			    0) != 0)
				return -1;
			next = gzh_next(h, h->state);
			h->state = next;
			break;
		case GH_HCRC:
			p++;
			if (++h->n == 2)
				h->state = GH_DONE;
			break;
		default:
			h->state = GH_DONE;
			break;
		}
	}
	return 0;
}

/* ---------------------------------------------------------- helpers */

static enum nkind
sniff(const unsigned char *h, size_t n)
{
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		return NK_GZ;
	if (n >= 4 && h[0] == 'P' && h[1] == 'K' &&
	    ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6) ||
	    (h[2] == 7 && h[3] == 8)))
		return NK_ZIP;
	if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
		return NK_TAR;
	return NK_NONE;
}

static int
has_ext(const char *path, const char *ext)
{
	size_t a = strlen(path), b = strlen(ext);

	return a > b && strcasecmp(path + a - b, ext) == 0;
}

/* named_archive() : a name that says gzip, tar or zip. */
static int
named_archive(const char *path)
{
	return has_ext(path, ".tgz") || has_ext(path, ".tar") ||
	    has_ext(path, ".gz") || has_ext(path, ".zip");
}

/* bad() : the archive at path cannot be judged: archive.nested. */
static void
bad(struct pol_nest *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
bad(struct pol_nest *n, const char *path, const char *fmt, ...)
{
	struct pol_finding	 f;
	char			 why[POL_TEXT_MAX];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	memset(&f, 0, sizeof(f));
	f.rule = "archive.nested";
	snprintf(f.text, sizeof(f.text), "archive inside the package that "
	    "cannot be judged: %.140s", why);
	f.hint = hint_nested;
	f.offset = -1;
	pol_nest_hold(n, path, &f);
}

/* limit() : a cap of the engine: the env ends the publish. */
static int
limit(struct pol_nest *n, const char *rule, const char *path,
    const char *text)
{
	if (!n->fatal) {
		n->fatal = 1;
		n->env.limit(n->env.arg, rule, path, text);
	}
	return -1;
}

static void
on_scan_finding(void *arg, const char *file, const struct pol_finding *f)
{
	pol_nest_hold(arg, file, f);
}

static int
hold_cmp(const void *va, const void *vb)
{
	const struct nhold *a = va, *b = vb;
	int c;

	if ((c = strcmp(a->rule, b->rule)) != 0 ||
	    (c = strcmp(a->file, b->file)) != 0 ||
	    (c = strcmp(a->text, b->text)) != 0 ||
	    (c = strcmp(a->fp, b->fp)) != 0)
		return c;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/*
 * pol_nest_hold() : keeps a reason about nested content until the
 * package file ends.  The scanners of several depths run at once, so the
 * order in which they find things depends on where the input was split;
 * held and then reported sorted, the reasons do not.  At most
 * POL_NEST_HOLD_MAX are held per package file: the smallest in that
 * order, so which are kept does not depend on the split either (the
 * report holds fewer anyway).  A pol_finding_fn; arg is the pol_nest.
 */
void
pol_nest_hold(void *arg, const char *file, const struct pol_finding *f)
{
	struct pol_nest	*n = arg;
	struct nhold	 c, *h;
	size_t		 i, max = 0;

	memset(&c, 0, sizeof(c));
	snprintf(c.rule, sizeof(c.rule), "%s", f->rule);
	snprintf(c.file, sizeof(c.file), "%s", file ? file : "");
	snprintf(c.text, sizeof(c.text), "%s", f->text);
	c.hint = f->hint;
	c.offset = f->offset;
	memcpy(c.fp, f->fp, sizeof(c.fp));
	if (n->nhold < POL_NEST_HOLD_MAX) {
		n->hold[n->nhold++] = c;
		return;
	}
	for (i = 1; i < n->nhold; i++)
		if (hold_cmp(&n->hold[i], &n->hold[max]) > 0)
			max = i;
	h = &n->hold[max];
	/* One finding is not reported: with allow_findings the ones held
	   might all be suppressed, so the file cannot pass on them. */
	n->hold_over = 1;
	if (hold_cmp(&c, h) < 0)
		*h = c;
}

/* flush() : the package file ended: its held reasons, in order. */
static void
flush(struct pol_nest *n)
{
	struct pol_finding	 f;
	size_t			 i;

	if (n->is_archive)
		n->env.archive(n->env.arg, n->f[0].path);
	n->is_archive = 0;
	qsort(n->hold, n->nhold, sizeof(n->hold[0]), hold_cmp);
	for (i = 0; i < n->nhold; i++) {
		memset(&f, 0, sizeof(f));
		f.rule = n->hold[i].rule;
		snprintf(f.text, sizeof(f.text), "%s", n->hold[i].text);
		f.hint = n->hold[i].hint;
		f.offset = n->hold[i].offset;
		memcpy(f.fp, n->hold[i].fp, sizeof(f.fp));
		n->env.finding(n->env.arg, n->hold[i].file, &f);
	}
	if (n->hold_over && n->rule->fp_each && n->nhold > 0) {
		memset(&f, 0, sizeof(f));
		f.rule = "archive.nested";
		snprintf(f.text, sizeof(f.text), "more than %d findings inside "
		    "this archive: those past the cap cannot be checked "
		    "against allow_findings", POL_NEST_HOLD_MAX);
		f.hint = hint_nested;
		f.offset = -1;
		n->env.finding(n->env.arg, n->f[0].path, &f);
	}
	n->hold_over = 0;
	n->nhold = 0;
}

static struct pol_scan *
scanner(struct pol_nest *n, int d)
{
	if (n->scan[d] == NULL)
		n->scan[d] = pol_scan_new(n->rule, on_scan_finding, n);
	return n->scan[d];
}

/* --------------------------------------------------------- members */

/*
 * member_begin() : an entry of the archive at depth d starts (a file at
 * depth d).  Returns 0, or -1 to stop the walk (n->fatal or a->dead).
 */
static int
member_begin(struct narc *a, const char *inner, enum pol_tar_type type,
    uint64_t size)
{
	struct pol_nest	*n = a->n;
	struct nfile	*f = &n->f[a->depth];
	const char	*parent = n->f[a->depth - 1].path;
	struct pol_scan	*sc;
	size_t		 pl = strlen(parent), il = strlen(inner);

	if (pl + 1 + il >= sizeof(f->path)) {
		bad(n, parent, "a path inside it is over %u bytes",
		    POL_TAR_PATH_MAX);
		a->dead = 1;
		return -1;
	}
	if (n->env.account(n->env.arg, 1, 0) != 0) {
		n->fatal = 1;
		return -1;
	}
	memcpy(f->path, parent, pl);
	f->path[pl] = '!';
	memcpy(f->path + pl + 1, inner, il + 1);
	f->open = 1;
	f->inner_off = pl + 1;
	f->type = type;
	f->size = size;
	f->bytes = 0;
	f->hlen = 0;
	f->scanned = 0;
	f->state = type == POL_TAR_FILE ? NF_SNIFF : NF_PLAIN;
	if (type != POL_TAR_FILE)
		return 0;
	if ((sc = scanner(n, a->depth)) == NULL ||
	    pol_scan_file_begin(sc, f->path, size) != 0)
		return limit(n, "scan.internal", f->path,
		    "content scanner failed");
	f->scanned = 1;
	return 0;
}

static int
member_data(struct narc *a, const unsigned char *buf, size_t len)
{
	struct pol_nest	*n = a->n;
	struct nfile	*f = &n->f[a->depth];

	if (!f->open || len == 0)
		return 0;
	f->bytes += len;
	if (n->env.account(n->env.arg, 0, len) != 0) {
		n->fatal = 1;
		return -1;
	}
	if (f->scanned && pol_scan_file_data(n->scan[a->depth], buf, len) != 0)
		return limit(n, "scan.internal", f->path,
		    "content scanner failed");
	return file_data(n, a->depth, buf, len);
}

static int
member_end(struct narc *a)
{
	struct pol_nest	*n = a->n;
	struct nfile	*f = &n->f[a->depth];

	if (!f->open)
		return 0;
	if (f->scanned) {
		f->scanned = 0;
		if (pol_scan_file_end(n->scan[a->depth]) != 0)
			return limit(n, "scan.internal", f->path,
			    "content scanner failed");
	}
	if (file_end(n, a->depth) != 0)
		return -1;
	n->env.entry(n->env.arg, f->path, f->path + f->inner_off, f->type,
	    f->type == POL_TAR_FILE ? f->bytes : f->size);
	f->open = 0;
	return 0;
}

/* member_drop() : the archive died inside an entry: close it quietly. */
static void
member_drop(struct pol_nest *n, int d)
{
	struct nfile *f = &n->f[d];

	if (d + 1 <= POL_NEST_DEPTH_MAX)
		arc_close(n, d + 1);
	if (f->open && f->scanned)
		(void)pol_scan_file_end(n->scan[d]);
	f->open = 0;
	f->scanned = 0;
}

static int
cb_begin(void *arg, const struct pol_tar_entry *e)
{
	return member_begin(arg, e->path, e->type, e->size);
}

static int
cb_data(void *arg, const unsigned char *buf, size_t len)
{
	return member_data(arg, buf, len);
}

static int
cb_end(void *arg)
{
	return member_end(arg);
}

static const struct pol_tar_cb nest_cbs = { cb_begin, cb_data, cb_end };

/* ------------------------------------------------------- archives */

/* arc_dead() : a is unreadable from here on. */
static void
arc_dead(struct narc *a, const char *why)
{
	struct pol_nest *n = a->n;

	if (a->dead)
		return;
	a->dead = 1;
	bad(n, n->f[a->depth - 1].path, "%s", why);
	member_drop(n, a->depth);
}

/*
 * gzh_cb() : an inner gzip's header fields are scanned as pseudo-files
 * "<archive>!(gzip name)" at the depth of its content.
 */
static int
gzh_cb(void *arg, const char *field, enum pol_gzh_ev ev,
    const unsigned char *p, size_t len)
{
	struct narc	*a = arg;
	struct pol_nest	*n = a->n;
	struct pol_scan	*sc;
	char		 path[POL_TAR_PATH_MAX + 1];

	if ((sc = scanner(n, a->depth)) == NULL)
		return limit(n, "scan.internal", n->f[a->depth - 1].path,
		    "content scanner failed");
	switch (ev) {
	case POL_GZH_BEGIN:
		snprintf(path, sizeof(path), "%s!(gzip %s)",
		    n->f[a->depth - 1].path, field);
		if (pol_scan_file_begin(sc, path, 0) != 0)
			break;
		return 0;
	case POL_GZH_DATA:
		if (pol_scan_file_data(sc, p, len) != 0)
			break;
		return 0;
	case POL_GZH_END:
		if (pol_scan_file_end(sc) != 0)
			break;
		return 0;
	}
	return limit(n, "scan.internal", n->f[a->depth - 1].path,
	    "content scanner failed");
}

/* tar_rc() : what a tar walker's result means for the archive a. */
static int
tar_rc(struct narc *a, enum pol_tar_rc rc)
{
	switch (rc) {
	case POL_TAR_OK:
		return 0;
	case POL_TAR_END:
		a->tar_ended = 1;
		return 0;
	case POL_TAR_ABORT:
		return a->n->fatal ? -1 : 0;
	default:
		arc_dead(a, a->tar->err ? a->tar->err : "malformed tar");
		return 0;
	}
}

/* gz_one_name() : the member of a bare gzip is named as gunzip would. */
static void
gz_one_name(const char *path, char *out, size_t len)
{
	const char	*b = strrchr(path, '/');
	const char	*bang = strrchr(path, '!');
	size_t		 n;

	if (bang != NULL && (b == NULL || bang > b))
		b = bang;
	b = b != NULL ? b + 1 : path;
	n = strlen(b);
	if (has_ext(b, ".tgz"))
		snprintf(out, len, "%.*s.tar", (int)(n - 4), b);
	else if (has_ext(b, ".gz") && n > 3)
		snprintf(out, len, "%.*s", (int)(n - 3), b);
	else
		snprintf(out, len, "%s", b);
}

/* gz_decide() : the gzip's first output bytes say tar or one file. */
static int
gz_decide(struct narc *a)
{
	struct pol_nest	*n = a->n;
	char		 name[POL_TAR_PATH_MAX + 1];

	if (a->ghlen >= 262 && memcmp(a->ghead + 257, "ustar", 5) == 0) {
		a->gz_mode = GZ_TAR;
		if ((a->tar = malloc(sizeof(*a->tar))) == NULL)
			return limit(n, "internal", NULL, "out of memory");
		pol_tar_init(a->tar, &nest_cbs, a);
		return tar_rc(a, pol_tar_feed(a->tar, a->ghead, a->ghlen));
	}
	a->gz_mode = GZ_ONE;
	gz_one_name(n->f[a->depth - 1].path, name, sizeof(name));
	if (member_begin(a, name, POL_TAR_FILE, 0) != 0)
		return n->fatal ? -1 : 0;
	return member_data(a, a->ghead, a->ghlen);
}

/* gz_sink() : inflated bytes of an inner gzip; non-zero stops it. */
static int
gz_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct narc	*a = arg;
	size_t		 k;

	if (a->dead)
		return -1;
	if (a->gz_mode == GZ_SNIFF) {
		k = sizeof(a->ghead) - a->ghlen;
		if (k > len)
			k = len;
		memcpy(a->ghead + a->ghlen, buf, k);
		a->ghlen += k;
		buf += k;
		len -= k;
		if (a->ghlen < sizeof(a->ghead))
			return 0;
		if (gz_decide(a) != 0 || a->dead)
			return -1;
	}
	if (len == 0)
		return 0;
	if (a->gz_mode == GZ_TAR) {
		if (tar_rc(a, pol_tar_feed(a->tar, buf, len)) != 0 || a->dead)
			return -1;
		return 0;
	}
	return member_data(a, buf, len) != 0 || a->dead ? -1 : 0;
}

/* arc_open() : the file at depth d - 1 is an archive of kind k. */
static int
arc_open(struct pol_nest *n, int d, enum nkind k)
{
	struct narc	*a = &n->a[d];
	uint64_t	 max_out;

	memset(a, 0, sizeof(*a));
	a->n = n;
	a->depth = d;
	a->open = 1;
	a->kind = k;
	switch (k) {
	case NK_GZ:
		max_out = n->lim.unpacked + n->lim.files * 1536 + (1u << 20);
		if ((a->gz = malloc(sizeof(*a->gz))) == NULL)
			return limit(n, "internal", NULL, "out of memory");
		if (pol_gz_init(a->gz, max_out, n->lim.ratio) != 0)
			return limit(n, "internal", NULL, "inflate setup failed");
		pol_gzh_init(&a->gzh);
		return 0;
	case NK_TAR:
		if ((a->tar = malloc(sizeof(*a->tar))) == NULL)
			return limit(n, "internal", NULL, "out of memory");
		pol_tar_init(a->tar, &nest_cbs, a);
		return 0;
	case NK_ZIP:
		if ((a->zip = malloc(sizeof(*a->zip))) == NULL)
			return limit(n, "internal", NULL, "out of memory");
		if (pol_zip_init(a->zip, &nest_cbs, a, n->lim.ratio) != 0)
			return limit(n, "internal", NULL, "digest setup failed");
		return 0;
	default:
		return limit(n, "internal", NULL, "bad archive kind");
	}
}

/* arc_close() : frees the archive at depth d and what is open below. */
static void
arc_close(struct pol_nest *n, int d)
{
	struct narc *a = &n->a[d];

	if (!a->open)
		return;
	a->open = 0;
	if (n->f[d].open)
		member_drop(n, d);
	if (a->gz != NULL) {
		pol_gz_free(a->gz);
		free(a->gz);
		a->gz = NULL;
	}
	if (a->tar != NULL) {
		pol_tar_free(a->tar);
		free(a->tar);
		a->tar = NULL;
	}
	if (a->zip != NULL) {
		pol_zip_free(a->zip);
		free(a->zip);
		a->zip = NULL;
	}
}

static int
arc_feed(struct pol_nest *n, int d, const unsigned char *buf, size_t len)
{
	struct narc	*a = &n->a[d];
	const char	*path = n->f[d - 1].path;
	enum pol_zip_rc	 zrc;

	if (!a->open || a->dead || len == 0)
		return n->fatal ? -1 : 0;
	switch (a->kind) {
	case NK_GZ:
		if (pol_gzh_feed(&a->gzh, buf, len, gzh_cb, a) != 0)
			return -1;
		switch (pol_gz_feed(a->gz, buf, len, gz_sink, a)) {
		case POL_GZ_OK:
		case POL_GZ_END:
			return 0;
		case POL_GZ_ABORT:
			return n->fatal ? -1 : 0;
		case POL_GZ_ERR_LIMIT:
			return limit(n, "limits.unpacked", path,
			    "an archive inside the package inflates past the "
			    "unpacked limit");
		case POL_GZ_ERR_RATIO:
			return limit(n, "limits.ratio", path,
			    "an archive inside the package inflates more than "
			    "the ratio limit (a compression bomb)");
		case POL_GZ_ERR_DATA:
			arc_dead(a, "corrupt gzip, or data after its end");
			return 0;
		default:
			return limit(n, "internal", path, "inflate failed");
		}
	case NK_TAR:
		return tar_rc(a, pol_tar_feed(a->tar, buf, len));
	case NK_ZIP:
		zrc = pol_zip_feed(a->zip, buf, len);
		switch (zrc) {
		case POL_ZIP_OK:
		case POL_ZIP_END:
			return 0;
		case POL_ZIP_ABORT:
			return n->fatal ? -1 : 0;
		case POL_ZIP_ERR_RATIO:
			return limit(n, "limits.ratio", path,
			    "a zip entry inside the package inflates more than "
			    "the ratio limit (a compression bomb)");
		case POL_ZIP_ERR_FORMAT:
			arc_dead(a, a->zip->err ? a->zip->err : "malformed zip");
			return 0;
		default:
			return limit(n, "internal", path, "zip reader failed");
		}
	default:
		return 0;
	}
}

/* arc_end() : the archive's last byte came; it must be complete. */
static int
arc_end(struct pol_nest *n, int d)
{
	struct narc	*a = &n->a[d];
	enum pol_gz_rc	 grc;
	int		 rc = 0;

	if (!a->open)
		return 0;
	if (a->dead || n->fatal)
		goto done;
	switch (a->kind) {
	case NK_GZ:
		grc = pol_gz_finish(a->gz);
		if (grc != POL_GZ_END) {
			arc_dead(a, "truncated or corrupt gzip");
			break;
		}
		if (a->gz_mode == GZ_SNIFF && (rc = gz_decide(a)) != 0)
			break;
		if (a->dead)
			break;
		if (a->gz_mode == GZ_TAR) {
			if (!a->tar_ended &&
			    pol_tar_finish(a->tar) != POL_TAR_END)
				arc_dead(a, a->tar->err ? a->tar->err :
				    "truncated tar");
		} else
			rc = member_end(a);
		break;
	case NK_TAR:
		if (!a->tar_ended && pol_tar_finish(a->tar) != POL_TAR_END)
			arc_dead(a, a->tar->err ? a->tar->err : "truncated tar");
		break;
	case NK_ZIP:
		if (pol_zip_finish(a->zip) != POL_ZIP_END)
			arc_dead(a, a->zip->err ? a->zip->err : "truncated zip");
		break;
	default:
		break;
	}
done:
	arc_close(n, d);
	return n->fatal ? -1 : rc;
}

/* ------------------------------------------------------------ files */

/* decide() : enough of the file at depth d is known to say what it is. */
static int
decide(struct pol_nest *n, int d)
{
	struct nfile	*f = &n->f[d];
	enum nkind	 k = sniff(f->head, f->hlen);

	f->state = NF_PLAIN;
	if (k == NK_NONE && !named_archive(f->path))
		return 0;
	if (d == 0)
		n->is_archive = 1;
	if (!n->open)
		return 0;
	if (k == NK_NONE) {
		bad(n, f->path, "named like an archive, but not a gzip, tar "
		    "or zip the gate reads");
		f->state = NF_DEAD;
		return 0;
	}
	if (d + 1 > POL_NEST_DEPTH_MAX) {
		bad(n, f->path, "archives nested more than %d levels deep",
		    POL_NEST_DEPTH_MAX);
		f->state = NF_DEAD;
		return 0;
	}
	if (arc_open(n, d + 1, k) != 0)
		return -1;
	f->state = NF_ARCHIVE;
	return arc_feed(n, d + 1, f->head, f->hlen);
}

static int
file_data(struct pol_nest *n, int d, const unsigned char *buf, size_t len)
{
	struct nfile	*f = &n->f[d];
	size_t		 k;

	if (f->state == NF_SNIFF) {
		k = sizeof(f->head) - f->hlen;
		if (k > len)
			k = len;
		memcpy(f->head + f->hlen, buf, k);
		f->hlen += k;
		buf += k;
		len -= k;
		if (f->hlen < sizeof(f->head))
			return 0;
		if (decide(n, d) != 0)
			return -1;
	}
	if (f->state == NF_ARCHIVE && len > 0)
		return arc_feed(n, d + 1, buf, len);
	return n->fatal ? -1 : 0;
}

static int
file_end(struct pol_nest *n, int d)
{
	struct nfile *f = &n->f[d];

	if (f->state == NF_SNIFF && decide(n, d) != 0)
		return -1;
	if (f->state == NF_ARCHIVE)
		return arc_end(n, d + 1);
	return n->fatal ? -1 : 0;
}

/* -------------------------------------------------------------- API */

/*
 * pol_nest_new() : nested archives of one publish.  env is copied; rule
 * (borrowed, it must outlive the result) chooses the scanners of inner
 * files, lim the caps of inner inflates.  open: 1 to open archives
 * (archives: judge), 0 to only report them through env->archive.
 * Returns NULL when out of memory.
 */
struct pol_nest *
pol_nest_new(const struct pol_nest_env *env, const struct pol_rule *rule,
    const struct pol_limits *lim, int open)
{
	struct pol_nest *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->env = *env;
	n->rule = rule;
	n->lim = *lim;
	n->open = open;
	return n;
}

/*
 * pol_nest_file_begin() : a regular file of the package starts (path
 * without "package/").  Returns 0, or -1 when the publish is over.
 */
int
pol_nest_file_begin(struct pol_nest *n, const char *path, uint64_t size)
{
	struct nfile *f = &n->f[0];

	if (n->fatal)
		return -1;
	if (f->open)
		(void)pol_nest_file_end(n);
	memset(f, 0, offsetof(struct nfile, head));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->open = 1;
	f->type = POL_TAR_FILE;
	f->size = size;
	f->state = NF_SNIFF;
	return 0;
}

/* pol_nest_file_data() : its next bytes; 0, or -1 when the publish is over. */
int
pol_nest_file_data(struct pol_nest *n, const unsigned char *buf, size_t len)
{
	if (n->fatal)
		return -1;
	if (!n->f[0].open || len == 0)
		return 0;
	return file_data(n, 0, buf, len);
}

/*
 * pol_nest_file_end() : its last byte came: what was held about it is
 * reported.  0, or -1 when the publish is over.
 */
int
pol_nest_file_end(struct pol_nest *n)
{
	int rc;

	if (!n->f[0].open)
		return n->fatal ? -1 : 0;
	rc = n->fatal ? -1 : file_end(n, 0);
	n->f[0].open = 0;
	if (rc == 0)
		flush(n);
	return rc;
}

void
pol_nest_free(struct pol_nest *n)
{
	int d;

	if (n == NULL)
		return;
	for (d = POL_NEST_DEPTH_MAX; d >= 1; d--) {
		arc_close(n, d);
		pol_scan_free(n->scan[d]);
	}
	free(n);
}

/* is_dotdot() : a ".." component in p. */
static int
is_dotdot(const char *p)
{
	const char *c = p;

	for (;;) {
		if (c[0] == '.' && c[1] == '.' &&
		    (c[2] == '\0' || c[2] == '/' || c[2] == '\\'))
			return 1;
		c += strcspn(c, "/\\");
		if (*c == '\0')
			return 0;
		c++;
	}
}

/*
 * pol_nest_judge() : the rule's per-entry judgments for an entry inside
 * an archive (file: its composed path, inner: its path in the archive):
 * paths (absolute, "..", a home directory, links and special files),
 * deny globs (on either path) and the single file size, each reason
 * handed to fn.  files.allow is judged on the archive itself, a file of
 * the package.
 */
/* emit() : one reason of pol_nest_judge(). */
static void
emit(pol_finding_fn fn, void *arg, const char *rule, const char *file,
    const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
emit(pol_finding_fn fn, void *arg, const char *rule, const char *file,
    const char *hint, const char *fmt, ...)
{
	struct pol_finding	 f;
	va_list			 ap;

	memset(&f, 0, sizeof(f));
	f.rule = rule;
	f.hint = hint;
	f.offset = -1;
	va_start(ap, fmt);
	vsnprintf(f.text, sizeof(f.text), fmt, ap);
	va_end(ap);
	fn(arg, file, &f);
}

void
pol_nest_judge(const struct pol_rule *rule, const char *file,
    const char *inner, enum pol_tar_type type, uint64_t size,
    pol_finding_fn fn, void *arg)
{
	size_t i;

	if (rule->paths == POL_MODE_BLOCK) {
		if (inner[0] == '/' || inner[0] == '\\' ||
		    (inner[0] != '\0' && inner[1] == ':'))
			emit(fn, arg, "paths.absolute", file, hint_nested,
			    "absolute path inside an archive");
		if (is_dotdot(inner))
			emit(fn, arg, "paths.traversal", file, hint_nested,
			    "path inside an archive escapes its folder");
		if (strstr(inner, "/home/") != NULL ||
		    strncmp(inner, "home/", 5) == 0 ||
		    strstr(inner, "/Users/") != NULL ||
		    strncmp(inner, "Users/", 6) == 0)
			emit(fn, arg, "paths.home", file, hint_nested,
			    "path inside an archive names a user's home "
			    "directory");
		if (type == POL_TAR_SYMLINK || type == POL_TAR_HARDLINK)
			emit(fn, arg, "paths.link", file, hint_nested,
			    "link entry inside an archive");
		else if (type == POL_TAR_OTHER)
			emit(fn, arg, "paths.type", file, hint_nested,
			    "special file (device, fifo) inside an archive");
	}
	if (type == POL_TAR_DIR)
		return;
	for (i = 0; i < rule->files_deny.n; i++) {
		if (pol_glob_match(rule->files_deny.pat[i], file) ||
		    pol_glob_match(rule->files_deny.pat[i], inner)) {
			emit(fn, arg, "files.deny", file, "remove it from the "
			    "archive, or the archive from the package",
			    "matches the deny pattern \"%s\"",
			    rule->files_deny.pat[i]);
			break;
		}
	}
	if (size > rule->limits.file)
		emit(fn, arg, "limits.file", file,
		    "keep single files under the policy's limit",
		    "file is %llu bytes, the limit is %llu",
		    (unsigned long long)size,
		    (unsigned long long)rule->limits.file);
}
