/*
 * tests/fuzz/fuzz_scan.c: libFuzzer target for the per-file content
 * scanners (policy/scan.c, secrets.c, sourcemap.c).
 *
 * Input: byte 0 picks the chunk boundaries, byte 1 the file name (a .js,
 * a .map, a .json, an env file, config.gypi, an npmrc); the rest is the
 * file.  It is scanned in one call and again in chunks, under a rule with
 * every scanner on and one custom pattern; both runs must report the same
 * findings (rule and offset, in any order).  Every finding must have a
 * rule id and a NUL-terminated text.
 *
 * The detector database takes a while to compile, so it is compiled once
 * per process and kept (test code; policy/ itself has no globals).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy-int.h"
#include "split.h"

#define FZ_MAXF	64

struct fz_found {
	size_t		 n;
	const char	*rule[FZ_MAXF];
	int64_t		 off[FZ_MAXF];
	char		 file[FZ_MAXF][64];
};

static struct pol_rule fz_rule;
static int fz_ready;

static void
fz_collect(void *arg, const char *file, const struct pol_finding *f)
{
	struct fz_found *fo = arg;
	size_t len;

	FZ_CHECK(f->rule != NULL && f->rule[0] != '\0');
	len = strnlen(f->text, sizeof(f->text));
	FZ_CHECK(len > 0 && len < sizeof(f->text));
	if (fo->n == FZ_MAXF)
		return;
	fo->rule[fo->n] = f->rule;
	fo->off[fo->n] = f->offset;
	strncpy(fo->file[fo->n], file, sizeof(fo->file[0]) - 1);
	fo->n++;
}

static void
fz_setup(void)
{
	static struct pol_custom_secret custom[] = {
		{ "fuzz-token", "fz_[a-z]{8}" },
	};
	char err[256];

	memset(&fz_rule, 0, sizeof(fz_rule));
	fz_rule.secrets = POL_MODE_BLOCK;
	fz_rule.sourcemaps = POL_MODE_BLOCK;
	fz_rule.custom = custom;
	fz_rule.ncustom = 1;
	fz_rule.secrets_db = pol_secrets_compile(custom, 1, err, sizeof(err));
	FZ_CHECK(fz_rule.secrets_db != NULL);
	fz_ready = 1;
}

/* fz_run() : one scan of the file; sp NULL means one call. */
static void
fz_run(const char *path, const uint8_t *d, size_t len, struct fz_split *sp,
    struct fz_found *fo)
{
	struct pol_scan *s;
	size_t off = 0, n;

	memset(fo, 0, sizeof(*fo));
	s = pol_scan_new(&fz_rule, fz_collect, fo);
	FZ_CHECK(s != NULL);
	FZ_CHECK(pol_scan_file_begin(s, path, len) == 0);
	while (off < len) {
		n = sp != NULL ? fz_split_next(sp, len - off) : len - off;
		FZ_CHECK(pol_scan_file_data(s, d + off, n) == 0);
		off += n;
	}
	FZ_CHECK(pol_scan_file_end(s) == 0);
	/* A second, empty file must start clean. */
	FZ_CHECK(pol_scan_file_begin(s, "empty.txt", 0) == 0);
	FZ_CHECK(pol_scan_file_end(s) == 0);
	pol_scan_free(s);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[8] = {
		"dist/cli.js", "dist/cli.js.map", "dist/data.json", ".env.local",
		"build/config.gypi", "config/.npmrc", "styles/a.css", "README",
	};
	struct fz_found a, b;
	struct fz_split sp;
	const char *path;
	size_t i, j;

	if (size < 2)
		return 0;
	if (!fz_ready)
		fz_setup();
	fz_split_init(&sp, data[0]);
	path = names[data[1] & 7];
	fz_run(path, data + 2, size - 2, NULL, &a);
	fz_run(path, data + 2, size - 2, &sp, &b);
	FZ_CHECK(a.n == b.n);
	for (i = 0; i < a.n; i++) {
		FZ_CHECK(strcmp(a.file[i], path) == 0);
		for (j = 0; j < b.n; j++)
			if (strcmp(a.rule[i], b.rule[j]) == 0 &&
			    a.off[i] == b.off[j])
				break;
		FZ_CHECK(j < b.n);
	}
	return 0;
}
