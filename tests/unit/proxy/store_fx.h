/*
 * tests/unit/proxy/store_fx.h: the fixtures the two store test programs
 * share (test_store.c, the blocking calls; test_store_async.c, the
 * loop's): a case's database (a SQLite file in a folder of its own, or
 * the test PostgreSQL emptied), SQL run on that PostgreSQL, the waiver
 * cases' tarball hashes and publisher, an approval's arguments and a
 * waiver's fields kept from a callback.  store_fx.c is compiled into both
 * (meson.build).
 */
#ifndef STORE_FX_H
#define STORE_FX_H

#include <stdint.h>

#include "store.h"

/* The blocked tarball's sha512 (hex), and another tarball's. */
#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* Who published the blocked publishes (a token fingerprint). */
#define PUBLISHER	"sha256:0123456789abcdef"

/* A waiver as a callback saw it, its text copied. */
struct fx_waiver {
	int64_t	 id, uses, expires_ms;
	int	 once;
	char	 state[16], decision[80], by[80], sha512[130];
};

void	fx_waiver_copy(struct fx_waiver *, const struct px_store_waiver *);
/*
 * fx_approve_args() : an approval of decision by reviewer by, once or
 * not, at now_ms (0: the store's clock) until expires_ms, from the admin
 * API with no token fingerprint; every rule waivable (waivable NULL).
 */
void	fx_approve_args(struct px_store_approve *, const char *decision,
	    const char *by, int once, int64_t now_ms, int64_t expires_ms);
/* fx_pg_sql() : runs sql on the database at url; 0, or -1 (said why). */
int	fx_pg_sql(const char *url, const char *sql);
/*
 * fx_db() : a case's database: a new folder /tmp/NAME.XXXXXX (dir) and
 * the SQLite file pubgate.db in it (db); with url (PUBGATE_TEST_PG), db
 * is url and that database is emptied, so every case creates the schema
 * (the migration runs too).
 */
void	fx_db(const char *name, const char *url, char dir[64], char db[512]);
/* fx_rmdir() : removes the case's folder (fx_db()'s dir). */
void	fx_rmdir(const char *dir);

#endif
