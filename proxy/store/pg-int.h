/*
 * proxy/store/pg-int.h: what pg.c (SQL, schema, rows) shares with the
 * event-loop driver of the serving process (pgloop.c) and store.c.
 */
#ifndef PUBGATE_PG_INT_H
#define PUBGATE_PG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pq.h"

#include "store-int.h"

/* The parameters of one statement, as text. */
struct px_pg_params {
	const char	*v[41];
	int		 n;
	char		 num[9][24];
	char		*arr[6];		/* malloc'd array literals */
	char		 re[PX_STORE_PKG_MAX * 2 + 8];
};

extern const char	 px_pg_sql_insert[];	/* $1..$41, returns id */
extern const char	 px_pg_sql_status[];	/* $1 id, $2 status */
extern const char	 px_pg_sql_byid[];	/* $1 id: its rows */
extern const struct px_store_ops px_pg_ops;

/* px_pg_schema_version() : the schema version this pubgate writes. */
int		 px_pg_schema_version(void);
/* px_pg_is_url() : db names a PostgreSQL database (postgres[ql]://). */
int		 px_pg_is_url(const char *db);
/* px_pg_check_url() : parses url; refuses a password in it.  0 or -1. */
int		 px_pg_check_url(const char *url, char *err, size_t errlen);
/*
 * px_pg_url_host() : *host is a malloc'd copy of url's host when it is one
 * name to look up (not an address, a socket folder, a list, nor given a
 * hostaddr), else NULL.  0, or -1 (bad URL, out of memory) with err.
 */
int		 px_pg_url_host(const char *url, char **host, char *err,
		    size_t errlen);
/* The keywords and values for PQconnectStartParams (expand_dbname 1). */
const char *const *px_pg_conn_keys(void);
void		 px_pg_conn_params(const char *url, const char *vals[5]);
/* px_pg_errmsg() : res's or c's error on one line, "postgresql: ..." */
void		 px_pg_errmsg(PGconn *c, const PGresult *res, char *err,
		    size_t errlen);
/*
 * px_pg_migrate() : blocking: brings the schema to this pubgate's version
 * in one transaction under an advisory lock; *version is set.  0 or -1.
 */
int		 px_pg_migrate(PGconn *c, int *version, char *err,
		    size_t errlen);
/* px_pg_check_version() : blocking: the schema is this pubgate's.  */
int		 px_pg_check_version(PGconn *c, char *err, size_t errlen);
/* px_pg_quiet() : drops the server's notices (libpq prints them). */
void		 px_pg_quiet(PGconn *c);
/* px_pg_connect() : blocking connection (CLI, tests); NULL with err. */
PGconn		*px_pg_connect(const char *url, char *err, size_t errlen);
/* px_pg_open() : the blocking backend of px_pg_ops. */
void		*px_pg_open(const char *url, int create, char *err,
		    size_t errlen);
/*
 * px_pg_params_insert() : the parameters of px_pg_sql_insert for b's row
 * (its strings made valid UTF-8 in place).  0, or -1 out of memory;
 * px_pg_params_free() after use.
 */
int		 px_pg_params_insert(struct px_pg_params *, struct px_store_buf *b);
void		 px_pg_params_free(struct px_pg_params *);
/* px_pg_params_query() : the parameters of px_pg_sql_query(). */
int		 px_pg_params_query(struct px_pg_params *,
		    const struct px_store_qargs *qa, char *err, size_t errlen);
const char	*px_pg_sql_query(void);
/*
 * px_pg_rows() : the records of a query result (one row per reason) into
 * b, cb called for each, until it returns non-zero; the count, or -1.
 */
int		 px_pg_rows(const PGresult *res, struct px_store_buf *b,
		    int (*cb)(const struct px_store_row *, void *), void *arg);

/*
 * px_pg_wsend() : sends op's waiver statement (PX_OP_WAIVER) on c; 1
 * sent, 0 libpq refused (c's error), -1 out of memory.
 * px_pg_wresult() : its result: a use, approval or revocation 0 (the
 * waiver in op->w->wb, the record's id in rec_id), 1 no waiver matched,
 * -1 (err set); a list the number of rows (row callback called for each
 * unless op is cancelled) or -1.
 */
int		 px_pg_wsend(PGconn *c, struct px_store_op *op);
int		 px_pg_wresult(const PGresult *res, struct px_store_op *op,
		    char *err, size_t errlen);

#endif /* PUBGATE_PG_INT_H */
