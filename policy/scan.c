/*
 * policy/scan.c: the per-file content scanners as the engine sees them.
 *
 * Owns struct pol_scan, one per publish: it runs the secret detectors
 * (secrets.c, Hyperscan streaming) and the source map judge (sourcemap.c)
 * over each file of the tarball, as the rule says (secrets: block, custom
 * patterns, sourcemaps: block), and turns their findings into calls of
 * the engine's callback with the file's path.  Depends on policy-int.h
 * and scan-int.h only; never logs, keeps no globals.
 *
 * Encoded content (decode.c): the base64, hex and percent-encoded runs,
 * the JS strings that hold JSON and the UTF-16 text of each file are
 * decoded and run through their own instances of the same judges (one
 * per kind, as pieces of different kinds may overlap); JS object
 * literals that start `{version: 3` go, as JSON, to the source map judge
 * only, which reports what they leak (sourcesContent, remote sources).
 * Their findings carry the file's path and say where the piece starts.
 *
 * Data flow: publish.c calls pol_scan_file_begin(path, size) for each
 * regular file (path without the leading "package/"), then
 * pol_scan_file_data() for each chunk in any split, then
 * pol_scan_file_end().  A -1 anywhere means an internal failure (a
 * Hyperscan error): the engine fails closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"
#include "scan-int.h"

/* The judges of one kind of decoded piece. */
struct dec_judge {
	struct pol_scan		*s;
	int			 kind;
	struct pol_secrets_run	*sec;
	struct pol_smap		*smap;
	uint64_t		 at;	/* file offset of the piece */
};

static const char *const dec_names[POL_DEC_KINDS] = {
	"base64", "hex", "percent-encoded", "UTF-16", "JS string", "JS object"
};

struct pol_scan {
	const struct pol_rule	*rule;
	pol_finding_fn		 fn;
	void			*arg;
	struct pol_secrets_run	*sec;	/* NULL: no detectors */
	struct pol_smap		*smap;	/* NULL: maps allowed */
	int			 in_file;
	int			 failed;	/* sticky for the file */
	char			 path[POL_TAR_PATH_MAX + 1];
	struct pol_dec		*dec;	/* NULL: no judges */
	struct dec_judge	 dj[POL_DEC_KINDS];
};

/* on_emit() : a scanner's finding, handed on with the file's path. */
static void
on_emit(void *arg, const struct pol_finding *f)
{
	struct pol_scan *s = arg;

	s->fn(s->arg, s->path, f);
}

/* on_dec_emit() : a finding in a decoded piece: where the piece starts. */
static void
on_dec_emit(void *arg, const struct pol_finding *f)
{
	struct dec_judge	*j = arg;
	struct pol_finding	 g = *f;

	/*
	 * A map literal in code is judged for what it leaks, its sources
	 * (sourcesContent) and where they live; without them it is code
	 * (a bundler's dummy map, an example in a README), not a map file.
	 */
	if (j->kind == POL_DEC_OBJ && strcmp(f->rule,
	    "sourcemap.sources-content") != 0 && strcmp(f->rule,
	    "sourcemap.remote-sources") != 0)
		return;
	snprintf(g.text, sizeof(g.text), "%.150s, in %s text at byte %llu",
	    f->text, dec_names[j->kind], (unsigned long long)j->at);
	g.offset = (int64_t)j->at;
	j->s->fn(j->s->arg, j->s->path, &g);
}

/*
 * dec_judges() : the judges of kind j->kind, made when its first piece
 * begins, not with the scanner: most files decode nothing, and each
 * detector run costs a Hyperscan scratch and stream (a CLI scan of one
 * small package paid for six).  Returns 0, or -1 (the file fails: it is
 * blocked, not passed unjudged).
 */
static int
dec_judges(struct dec_judge *j)
{
	struct pol_scan		*s = j->s;
	const struct pol_rule	*r = s->rule;

	if (s->sec != NULL && j->kind != POL_DEC_OBJ && j->sec == NULL &&
	    (j->sec = pol_secrets_run_new(r->secrets_db,
	    r->secrets == POL_MODE_BLOCK, r->fp_each, on_dec_emit, j)) == NULL)
		return -1;
	if (s->smap != NULL && j->smap == NULL &&
	    (j->smap = pol_smap_new(on_dec_emit, j)) == NULL)
		return -1;
	return 0;
}

/* on_dec() : decode.c's sink: a decoded piece through its judges. */
static int
on_dec(void *arg, int kind, enum pol_dec_ev ev, const unsigned char *p,
    size_t len, uint64_t at)
{
	struct pol_scan		*s = arg;
	struct dec_judge	*j = &s->dj[kind];
	int			 rc = 0;

	switch (ev) {
	case POL_DEC_BEGIN:
		j->at = at;
		if (dec_judges(j) != 0)
			return -1;
		/* The file's name keeps its class (.env, test/); never .map. */
		if (j->sec != NULL && pol_secrets_run_begin(j->sec, s->path))
			rc = -1;
		if (j->smap != NULL)
			pol_smap_begin(j->smap, "(decoded)", 0);
		break;
	case POL_DEC_DATA:
		if (j->sec != NULL && pol_secrets_run_data(j->sec, p, len))
			rc = -1;
		if (j->smap != NULL && pol_smap_data(j->smap, p, len))
			rc = -1;
		break;
	case POL_DEC_END:
		if (j->sec != NULL && pol_secrets_run_end(j->sec))
			rc = -1;
		if (j->smap != NULL && pol_smap_end(j->smap))
			rc = -1;
		break;
	}
	return rc;
}

/*
 * pol_scan_new() : a scanner for one publish under rule r (borrowed: it
 * and its compiled secrets database must outlive the scanner).  Findings
 * go to fn(arg, file, finding).  Returns NULL on allocation or library
 * failure.
 */
struct pol_scan *
pol_scan_new(const struct pol_rule *r, pol_finding_fn fn, void *arg)
{
	struct pol_scan *s;
	int k;

	if (r == NULL || fn == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->rule = r;
	s->fn = fn;
	s->arg = arg;
	if (r->secrets_db != NULL && (r->secrets == POL_MODE_BLOCK ||
	    r->ncustom > 0)) {
		s->sec = pol_secrets_run_new(r->secrets_db,
		    r->secrets == POL_MODE_BLOCK, r->fp_each, on_emit, s);
		if (s->sec == NULL)
			goto fail;
	}
	if (r->sourcemaps == POL_MODE_BLOCK &&
	    (s->smap = pol_smap_new(on_emit, s)) == NULL)
		goto fail;
	if (s->sec != NULL || s->smap != NULL) {
		if ((s->dec = pol_dec_new(on_dec, s)) == NULL)
			goto fail;
		/* An object literal is JSON for the map judge alone: its
		   strings are the file's own bytes, which the detectors read. */
		pol_dec_objects(s->dec, s->smap != NULL);
		/* The judges of each kind are made at its first piece. */
		for (k = 0; k < POL_DEC_KINDS; k++) {
			s->dj[k].s = s;
			s->dj[k].kind = k;
		}
	}
	return s;
fail:
	pol_scan_free(s);
	return NULL;
}

void
pol_scan_free(struct pol_scan *s)
{
	int k;

	if (s == NULL)
		return;
	pol_secrets_run_free(s->sec);
	pol_smap_free(s->smap);
	for (k = 0; k < POL_DEC_KINDS; k++) {
		pol_secrets_run_free(s->dj[k].sec);
		pol_smap_free(s->dj[k].smap);
	}
	pol_dec_free(s->dec);
	free(s);
}

/*
 * pol_scan_file_begin() : starts the file at path (copied, truncated to
 * POL_TAR_PATH_MAX).  A file still open is ended first.  Returns 0 or -1.
 */
int
pol_scan_file_begin(struct pol_scan *s, const char *path, uint64_t size)
{
	size_t len;

	if (s->in_file && pol_scan_file_end(s) != 0)
		return -1;
	len = strlen(path);
	if (len > POL_TAR_PATH_MAX)
		len = POL_TAR_PATH_MAX;
	memcpy(s->path, path, len);
	s->path[len] = '\0';
	s->in_file = 1;
	s->failed = 0;
	if (s->sec != NULL && pol_secrets_run_begin(s->sec, s->path) != 0)
		s->failed = 1;
	if (s->smap != NULL)
		pol_smap_begin(s->smap, s->path, size);
	if (s->dec != NULL)
		pol_dec_begin(s->dec);
	return s->failed ? -1 : 0;
}

/* pol_scan_file_data() : the next bytes of the file; 0 or -1. */
int
pol_scan_file_data(struct pol_scan *s, const unsigned char *buf, size_t len)
{
	if (!s->in_file || s->failed)
		return -1;
	if (len == 0)
		return 0;
	if (s->sec != NULL && pol_secrets_run_data(s->sec, buf, len) != 0)
		s->failed = 1;
	if (s->smap != NULL && pol_smap_data(s->smap, buf, len) != 0)
		s->failed = 1;
	if (s->dec != NULL && pol_dec_data(s->dec, buf, len) != 0)
		s->failed = 1;
	return s->failed ? -1 : 0;
}

/*
 * pol_scan_file_end() : the file is complete; end-of-file findings are
 * reported.  Returns 0, or -1 if any step of this file failed.
 */
int
pol_scan_file_end(struct pol_scan *s)
{
	int failed;

	if (!s->in_file)
		return -1;
	failed = s->failed;
	/* Always end both, so the next file starts clean. */
	if (s->sec != NULL && pol_secrets_run_end(s->sec) != 0)
		failed = 1;
	if (s->smap != NULL && pol_smap_end(s->smap) != 0)
		failed = 1;
	if (s->dec != NULL && pol_dec_end(s->dec) != 0)
		failed = 1;
	s->in_file = 0;
	s->failed = 0;
	return failed ? -1 : 0;
}
