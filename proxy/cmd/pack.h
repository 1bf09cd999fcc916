/*
 * proxy/cmd/pack.h: a packlist streamed as the .tgz npm pack writes
 * (pack.c), for `pubgate scan DIR`.
 */
#ifndef PUBGATE_PACK_H
#define PUBGATE_PACK_H

#include <stddef.h>

#include "packlist.h"

/* Takes the next compressed bytes; nonzero: stop (the judge is done). */
typedef int	(*px_pack_out_fn)(void *arg, const void *buf, size_t len);

/*
 * px_pack_stream() : writes the tarball of pl's files (read from dir) to
 * out.  0 when done (or stopped by out), -1 with err filled when a file
 * cannot be read as listed.
 */
int	px_pack_stream(const char *dir, const struct px_packlist *pl,
	    px_pack_out_fn out, void *arg, char *err, size_t errlen);

#endif
