/*
 * proxy/cmd/pkgjson.h: a small, bounded JSON reader for one package.json
 * (pubgate scan DIR reads `files`, `main`, `bin`, ... the way npm does).
 * Strict JSON (RFC 8259); a document over PX_PJ_MAX_BYTES or nested deeper
 * than PX_PJ_MAX_DEPTH is refused.
 */
#ifndef PUBGATE_PKGJSON_H
#define PUBGATE_PKGJSON_H

#include <stddef.h>

#define PX_PJ_MAX_BYTES		(4u << 20)
#define PX_PJ_MAX_DEPTH		64

enum px_pj_type {
	PX_PJ_NULL,
	PX_PJ_FALSE,
	PX_PJ_TRUE,
	PX_PJ_NUMBER,
	PX_PJ_STRING,
	PX_PJ_ARRAY,
	PX_PJ_OBJECT,
};

struct px_pj {
	enum px_pj_type	 type;
	char		*str;		/* STRING (UTF-8, NUL-terminated; a
					   \u0000 makes has_nul 1), NUMBER text */
	int		 has_nul;
	size_t		 n;		/* ARRAY, OBJECT: members */
	char		**keys;		/* OBJECT: member names */
	struct px_pj	**vals;		/* ARRAY, OBJECT: members */
};

/*
 * px_pj_parse() : parses len bytes; NULL with a message in err (always
 * NUL-terminated) on malformed JSON or allocation failure.
 */
struct px_pj	*px_pj_parse(const char *buf, size_t len, char *err,
		    size_t errlen);
void		 px_pj_free(struct px_pj *);
/* px_pj_get() : the last member named key of an object, NULL if none. */
const struct px_pj *px_pj_get(const struct px_pj *, const char *key);

#endif
