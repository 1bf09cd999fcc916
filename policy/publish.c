/*
 * policy/publish.c: the publish pipeline.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"

#include <stdlib.h>
struct pol_stream { struct pol_report r; };
struct pol_stream *pol_publish_new(struct pol_policy *p, const struct pol_stream_opts *o) { (void)p; (void)o; return calloc(1, sizeof(struct pol_stream)); }
enum pol_status pol_publish_feed(struct pol_stream *s, const void *b, size_t l) { (void)b; (void)l; s->r.verdict = POL_DENY; return POL_ERR_INTERNAL; }
enum pol_verdict pol_publish_end(struct pol_stream *s, const struct pol_report **r) { s->r.verdict = POL_DENY; *r = &s->r; return POL_DENY; }
const struct pol_report *pol_publish_report(const struct pol_stream *s) { return &s->r; }
void pol_publish_free(struct pol_stream *s) { free(s); }
