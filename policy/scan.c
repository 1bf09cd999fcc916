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
 * Data flow: publish.c calls pol_scan_file_begin(path, size) for each
 * regular file (path without the leading "package/"), then
 * pol_scan_file_data() for each chunk in any split, then
 * pol_scan_file_end().  A -1 anywhere means an internal failure (a
 * Hyperscan error): the engine fails closed.
 */
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"
#include "scan-int.h"

struct pol_scan {
	const struct pol_rule	*rule;
	pol_finding_fn		 fn;
	void			*arg;
	struct pol_secrets_run	*sec;	/* NULL: no detectors */
	struct pol_smap		*smap;	/* NULL: maps allowed */
	int			 in_file;
	int			 failed;	/* sticky for the file */
	char			 path[POL_TAR_PATH_MAX + 1];
};

/* on_emit() : a scanner's finding, handed on with the file's path. */
static void
on_emit(void *arg, const struct pol_finding *f)
{
	struct pol_scan *s = arg;

	s->fn(s->arg, s->path, f);
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
		    r->secrets == POL_MODE_BLOCK, on_emit, s);
		if (s->sec == NULL)
			goto fail;
	}
	if (r->sourcemaps == POL_MODE_BLOCK &&
	    (s->smap = pol_smap_new(on_emit, s)) == NULL)
		goto fail;
	return s;
fail:
	pol_scan_free(s);
	return NULL;
}

void
pol_scan_free(struct pol_scan *s)
{
	if (s == NULL)
		return;
	pol_secrets_run_free(s->sec);
	pol_smap_free(s->smap);
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
	s->in_file = 0;
	s->failed = 0;
	return failed ? -1 : 0;
}
