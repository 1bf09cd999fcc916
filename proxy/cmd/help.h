/*
 * proxy/cmd/help.h: the help texts of the subcommands (help.c), shared by
 * main.c's dispatch and the generated pubgate(1) man page.
 */
#ifndef PUBGATE_HELP_H
#define PUBGATE_HELP_H

#include <stdio.h>

/* px_help_known() : whether cmd is a subcommand with a help entry. */
int		 px_help_known(const char *cmd);
/* px_help_usage() : cmd's usage line(s), without "usage: ". */
const char	*px_help_usage(const char *cmd);
/* px_help_summary() : every usage line (pubgate help). */
void		 px_help_summary(FILE *);
/* px_help_print() : usage, description, options, examples; 0 or -1. */
int		 px_help_print(FILE *, const char *cmd);
/* px_help_man() : pubgate(1) as roff. */
void		 px_help_man(FILE *, const char *version);

#endif /* PUBGATE_HELP_H */
