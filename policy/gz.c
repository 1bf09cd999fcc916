/*
 * policy/gz.c: streaming gzip inflate with output and ratio caps.
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"
int pol_gz_init(struct pol_gz *g, uint64_t max_out, uint32_t max_ratio) { memset(g, 0, sizeof(*g)); g->max_out = max_out; g->max_ratio = max_ratio; return 0; }
enum pol_gz_rc pol_gz_feed(struct pol_gz *g, const void *in, size_t len, pol_gz_sink sink, void *arg) { (void)g; (void)in; (void)len; (void)sink; (void)arg; return POL_GZ_ERR_INTERNAL; }
enum pol_gz_rc pol_gz_finish(struct pol_gz *g) { (void)g; return POL_GZ_ERR_DATA; }
void pol_gz_free(struct pol_gz *g) { (void)g; }
