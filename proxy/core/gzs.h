/*
 * proxy/core/gzs.h: gzip streams for rewritten packuments (gzs.c).
 */
#ifndef PX_GZS_H
#define PX_GZS_H

#include <stddef.h>

#define PX_GZ_LEVEL		3	/* ISA-L's isal_deflate (0-3) */
#define PX_GZ_ZLIB_LEVEL	6	/* zlib's, built without ISA-L */

struct px_gzs;

/* px_gzs_inflater() : inflates gzip members; NULL when out of memory. */
struct px_gzs	*px_gzs_inflater(void);
/* px_gzs_deflater() : writes one gzip stream; NULL when out of memory. */
struct px_gzs	*px_gzs_deflater(void);
void		 px_gzs_free(struct px_gzs *);
/* px_gzs_reset() : an inflater that ended a member takes the next; 0/-1. */
int		 px_gzs_reset(struct px_gzs *);
/*
 * px_gzs_run() : one step: takes bytes from *in (*in and *inlen advance),
 * writes at most *outlen bytes to out (*outlen set to how many).  fin
 * (deflater): *in is the last input, end the stream.  Returns 1 when the
 * member (inflater) or the stream (deflater) ended, 0 when more is to
 * come, -1 on a corrupt stream or an internal error.
 */
int		 px_gzs_run(struct px_gzs *, const unsigned char **, size_t *,
		    unsigned char *, size_t *, int);

#endif /* PX_GZS_H */
