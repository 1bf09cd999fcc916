/*
 * policy/scan-int.h: declarations shared by the per-file content scanners
 * (scan.c, secrets.c, sourcemap.c) and their unit tests.  Nothing else
 * includes it: the engine talks to the scanners through the "scan"
 * section of policy-int.h only.
 *
 * Like the rest of policy/, nothing here logs, includes libevent or keeps
 * mutable globals; the detector table is constant.
 *
 * Data flow: scan.c owns one struct pol_secrets_run (Hyperscan scratch and
 * one reusable stream) and one struct pol_smap (source map state) per
 * publish, and hands every file to both, in order: begin, data..., end.
 * Both report findings through the emit callback below.
 */
#ifndef PUBGATE_SCAN_INT_H
#define PUBGATE_SCAN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy-int.h"

/* The per-file emit callback: the finding is borrowed for the call. */
typedef void (*pol_emit_fn)(void *arg, const struct pol_finding *);

/* ------------------------------------------------------------- secrets */
/* File classes a detector can be limited to (basename tests). */
#define POL_SF_ANY	0x00u	/* every file */
#define POL_SF_ENV	0x01u	/* .env, .env.*, *.env */
#define POL_SF_GYPI	0x02u	/* config.gypi */
#define POL_SF_NPMRC	0x04u	/* .npmrc, npmrc, *.npmrc */
#define POL_SF_PYPIRC	0x08u	/* .pypirc, pypirc */
#define POL_SF_TEST	0x100u	/* under test/, tests/, __tests__/, fixtures/ */

/*
 * A detector's check: w holds the bytes of the file that end where the
 * match ends (n of them, at most POL_SECRETS_LOOK; fewer at the start of
 * a file).  Returns 1 if the match is a credential, 0 if it is a
 * placeholder, a documented example, code that names a field or a token
 * whose checksum is wrong.
 */
typedef int (*pol_check_fn)(const unsigned char *w, size_t n);
#define POL_SECRETS_LOOK	4096	/* bytes kept behind the scan */

/* One built-in detector; the table in secrets.c is constant. */
struct pol_detector {
	const char	*id;		/* "npm-token" */
	const char	*rule;		/* "secret.npm-token" */
	const char	*desc;		/* what it found */
	const char	*label;		/* static redacted form */
	const char	*hint;		/* how to fix it */
	const char	*re;		/* Hyperscan expression */
	unsigned int	 hsflags;	/* HS_FLAG_* */
	unsigned int	 files;		/* POL_SF_*, 0: every file */
	pol_check_fn	 check;		/* NULL: every match is a finding */
	const char	*guard;		/* the false-positive guard, for docs */
};

/* pol_secrets_builtin() : detector i (< builtin_count), or NULL. */
const struct pol_detector *pol_secrets_builtin(size_t i);
/*
 * pol_secrets_file_class() : the POL_SF_* bits of path (its basename, and
 * POL_SF_TEST for a test directory among its folders).
 */
unsigned int	 pol_secrets_file_class(const char *path);
/* pol_secrets_token_crc_ok() : 1 if a 40-byte GitHub/npm token's CRC32 fits. */
int		 pol_secrets_token_crc_ok(const char *tok, size_t len);

/*
 * One scanning context per publish: a scratch space and one stream that
 * is reset between files.  Created from a compiled database, which must
 * outlive it.  builtins: 1 to report the built-in detectors, 0 to report
 * custom patterns only (secrets: allow with custom_secrets).  each: 1 to
 * report every distinct value a detector finds in a file (the rule's
 * fp_each), 0 for the first only.
 */
struct pol_secrets_run;

struct pol_secrets_run *pol_secrets_run_new(const struct pol_secrets_db *,
		    int builtins, int each, pol_emit_fn emit, void *arg);
/*
 * pol_secrets_fingerprint() : the fingerprint of a finding of rule whose
 * match ends where the n bytes of w end ("" if no value); see secrets.c.
 */
void		 pol_secrets_fingerprint(const char *rule,
		    const unsigned char *w, size_t n, char out[POL_FP_LEN + 1]);
/* pol_secrets_run_begin() : starts a file; 0, or -1 on a library failure. */
int		 pol_secrets_run_begin(struct pol_secrets_run *,
		    const char *path);
/* pol_secrets_run_data() : scans the next bytes; 0 or -1. */
int		 pol_secrets_run_data(struct pol_secrets_run *,
		    const unsigned char *, size_t);
/* pol_secrets_run_end() : flushes end-of-file matches; 0 or -1. */
int		 pol_secrets_run_end(struct pol_secrets_run *);
void		 pol_secrets_run_free(struct pol_secrets_run *);

/* ---------------------------------------------------------- source maps */
struct pol_smap;

struct pol_smap	*pol_smap_new(pol_emit_fn emit, void *arg);
/* pol_smap_begin() : starts a file (path without "package/"). */
void		 pol_smap_begin(struct pol_smap *, const char *path,
		    uint64_t size);
/* pol_smap_data() : the next bytes of the file; 0, or -1 on an error. */
int		 pol_smap_data(struct pol_smap *, const unsigned char *,
		    size_t);
/* pol_smap_end() : the file is complete; reports what is left; 0 or -1. */
int		 pol_smap_end(struct pol_smap *);
void		 pol_smap_free(struct pol_smap *);

/* -------------------------------------------------------- encoded text */
/* decode.c: pieces of a file that are encoded, decoded for the judges. */
enum { POL_DEC_B64, POL_DEC_HEX, POL_DEC_PCT, POL_DEC_U16, POL_DEC_JS,
    POL_DEC_OBJ, POL_DEC_KINDS };
enum pol_dec_ev { POL_DEC_BEGIN, POL_DEC_DATA, POL_DEC_END };
/*
 * The sink: a piece of kind starts (at: its file offset), has decoded
 * bytes, ends.  Pieces of different kinds may overlap; one kind has one
 * piece open at a time.  Returns 0, or -1 to fail the file.
 */
typedef int (*pol_dec_fn)(void *arg, int kind, enum pol_dec_ev ev,
    const unsigned char *p, size_t len, uint64_t at);

struct pol_dec;

struct pol_dec	*pol_dec_new(pol_dec_fn fn, void *arg);
/*
 * pol_dec_objects() : on (1) or off (0, the default): JS object literals
 * that start `{version: 3` are handed on as JSON (POL_DEC_OBJ pieces);
 * only the source map judge wants them.
 */
void		 pol_dec_objects(struct pol_dec *, int on);
void		 pol_dec_begin(struct pol_dec *);
int		 pol_dec_data(struct pol_dec *, const unsigned char *, size_t);
int		 pol_dec_end(struct pol_dec *);
void		 pol_dec_free(struct pol_dec *);

#endif /* PUBGATE_SCAN_INT_H */
