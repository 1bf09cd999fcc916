/*
 * proxy/cmd/packlist.h: the files `npm pack` would put in the tarball of a
 * package folder, computed the way npm 11 does it (npm-packlist 10 over
 * ignore-walk 8 and minimatch 10), for `pubgate scan DIR`.  What this
 * reading might get differently from npm (bundled dependencies,
 * workspaces, brace or class globs, names outside printable ASCII, ...)
 * is refused with a reason, never guessed.
 */
#ifndef PUBGATE_PACKLIST_H
#define PUBGATE_PACKLIST_H

#include <stddef.h>

#define PX_PL_FILES_MAX		100000	/* files in one package */
#define PX_PL_PATH_MAX		1024	/* bytes of one relative path */
#define PX_PL_PATTERN_MAX	4096	/* bytes of one ignore pattern */
#define PX_PL_RULES_MAX		10000	/* patterns of one ignore file */

struct px_pl_file {
	char	*path;		/* relative to the folder, '/'-separated */
	int	 bin;		/* 1: a bin target (packed executable) */
};

struct px_packlist {
	char			*name;	/* package.json "name", NULL if none */
	size_t			 n;
	struct px_pl_file	*files;	/* in npm's order */
};

/*
 * px_pl_build() : lists dir as npm pack would.  Returns NULL with the
 * reason in err (one line, always NUL-terminated) when the folder cannot
 * be listed or its listing might differ from npm's.
 */
struct px_packlist	*px_pl_build(const char *dir, char *err, size_t errlen);
void			 px_pl_free(struct px_packlist *);

/*
 * px_pl_match() : minimatch(path, pattern, {matchBase, dot, nocase,
 * flipNegate}) as ignore-walk calls it, for tests: 1 match, 0 not, -1 a
 * pattern this reading refuses (reason in err).
 */
int	px_pl_match(const char *pattern, const char *path, int partial,
	    char *err, size_t errlen);

#endif
