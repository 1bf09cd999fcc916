/*
 * policy/json.c: streaming JSON scanner.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"
void pol_json_init(struct pol_json *j, int max_depth, pol_json_cb cb, void *arg) { memset(j, 0, sizeof(*j)); j->max_depth = max_depth; j->cb = cb; j->arg = arg; }
enum pol_json_rc pol_json_feed(struct pol_json *j, const void *buf, size_t len) { (void)j; (void)buf; (void)len; return POL_JSON_ERR_SYNTAX; }
enum pol_json_rc pol_json_finish(struct pol_json *j) { (void)j; return POL_JSON_ERR_SYNTAX; }
