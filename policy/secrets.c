/*
 * policy/secrets.c: secret detectors (Hyperscan).
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"
struct pol_secrets_db *pol_secrets_compile(const struct pol_custom_secret *c, size_t n, char *err, size_t errlen) { (void)c; (void)n; snprintf(err, errlen, "secret detectors not built"); return NULL; }
void pol_secrets_free(struct pol_secrets_db *db) { (void)db; }
int pol_secrets_check_regex(const char *re, char *err, size_t errlen) { (void)re; snprintf(err, errlen, "not built"); return -1; }
size_t pol_secrets_builtin_count(void) { return 0; }
