/*
 * proxy/cmd/sarif.h: `pubgate scan --format sarif`, the reports of a scan
 * as one SARIF 2.1.0 log (sarif.c) for code-scanning UIs.
 */
#ifndef PUBGATE_SARIF_H
#define PUBGATE_SARIF_H

#include <stdio.h>

#include "policy.h"

struct px_sarif;

struct px_sarif	*px_sarif_new(void);
/*
 * px_sarif_add() : the reasons of one judged input.  dir is the package
 * folder when the input was one (lines are counted there), else NULL.
 * Returns -1 on allocation failure.
 */
int		 px_sarif_add(struct px_sarif *, const char *input,
		    const char *dir, const struct pol_report *);
/* px_sarif_print() : the log, one JSON document and a newline. */
void		 px_sarif_print(struct px_sarif *, FILE *, const char *version);
void		 px_sarif_free(struct px_sarif *);

#endif
