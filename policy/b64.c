/*
 * policy/b64.c: streaming base64 decoder (see policy-int.h).
 *
 * XXX placeholder so the tree builds while the stage is written.
 */
#include <stdio.h>
#include <string.h>

#include "policy-int.h"
void pol_b64_init(struct pol_b64 *b, enum pol_b64_mode m) { memset(b, 0, sizeof(*b)); b->mode = m; }
ssize_t pol_b64_decode(struct pol_b64 *b, const void *in, size_t len, unsigned char *out, size_t *outlen) { (void)b; (void)in; (void)len; (void)out; *outlen = 0; return -1; }
int pol_b64_finish(struct pol_b64 *b, unsigned char *out, size_t *outlen) { (void)b; (void)out; *outlen = 0; return -1; }
