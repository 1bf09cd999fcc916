/*
 * policy/report.c: reasons, the 403 text and the JSON report.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

size_t pol_report_render(const struct pol_report *r, char *buf, size_t len) { (void)r; return (size_t)snprintf(buf, len, "not built"); }
size_t pol_report_json(const struct pol_report *r, char *buf, size_t len) { (void)r; return (size_t)snprintf(buf, len, "{}"); }
void pol_json_escape(char *buf, size_t len, size_t *off, const char *s) { (void)buf; (void)len; (void)off; (void)s; }
