/*
 * policy/load.c: the YAML policy loader.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

#include <stdlib.h>
const char *pol_errors_format(const struct pol_errors *e, size_t i, char *buf, size_t len) { snprintf(buf, len, "%s:%d:%d: %s", e->file, e->e[i].line, e->e[i].col, e->e[i].msg); return buf; }
static struct pol_policy *notyet(const char *name, struct pol_errors *errs) { memset(errs, 0, sizeof(*errs)); snprintf(errs->file, sizeof(errs->file), "%s", name); errs->count = 1; snprintf(errs->e[0].msg, POL_ERRMSG_MAX, "policy loader not built yet"); return NULL; }
struct pol_policy *pol_load_file(const char *path, struct pol_errors *errs) { return notyet(path, errs); }
struct pol_policy *pol_load_buf(const char *name, const void *buf, size_t len, struct pol_errors *errs) { (void)buf; (void)len; return notyet(name, errs); }
struct pol_policy *pol_load_default(struct pol_errors *errs) { return notyet("(default)", errs); }
struct pol_policy *pol_policy_ref(struct pol_policy *p) { return p; }
void pol_policy_unref(struct pol_policy *p) { (void)p; }
size_t pol_policy_nrules(const struct pol_policy *p) { return p->nrules; }
