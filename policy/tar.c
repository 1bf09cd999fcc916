/*
 * policy/tar.c: streaming tar walker.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"
void pol_tar_init(struct pol_tar *t, const struct pol_tar_cb *cb, void *arg) { memset(t, 0, sizeof(*t)); t->cb = cb; t->arg = arg; }
enum pol_tar_rc pol_tar_feed(struct pol_tar *t, const void *buf, size_t len) { (void)t; (void)buf; (void)len; return POL_TAR_ERR_FORMAT; }
enum pol_tar_rc pol_tar_finish(struct pol_tar *t) { (void)t; return POL_TAR_ERR_FORMAT; }
void pol_tar_free(struct pol_tar *t) { (void)t; }
