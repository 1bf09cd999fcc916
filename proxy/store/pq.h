/*
 * proxy/store/pq.h: libpq, loaded when a PostgreSQL store is first used.
 *
 * pubgate is not linked against libpq: its dependencies (Kerberos, LDAP,
 * GnuTLS, SASL: some twenty shared objects) doubled the start of every
 * `pubgate scan` and of a gate on SQLite (issue 13, startup).  pq.c opens
 * libpq.so.5 with dlopen() on the first px_pq_load() and fills px_pq with
 * the functions pg.c and pgloop.c call; the macros below make those calls
 * go through it, typed by libpq-fe.h's own declarations.  Only pg.c,
 * pgloop.c, pq.c and store.c include this file; tests that talk to
 * PostgreSQL themselves link libpq and include <libpq-fe.h> directly.
 */
#ifndef PUBGATE_PQ_H
#define PUBGATE_PQ_H

#include <stddef.h>

#include <libpq-fe.h>

/* The libpq functions pubgate calls, as X(name) for each. */
#define PX_PQ_FUNCS(X) \
	X(PQclear) \
	X(PQcmdTuples) \
	X(PQconnectPoll) \
	X(PQconnectStartParams) \
	X(PQconnectdbParams) \
	X(PQconninfoFree) \
	X(PQconninfoParse) \
	X(PQconsumeInput) \
	X(PQerrorMessage) \
	X(PQexec) \
	X(PQexecParams) \
	X(PQfinish) \
	X(PQflush) \
	X(PQfreemem) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetlength) \
	X(PQgetvalue) \
	X(PQisBusy) \
	X(PQnfields) \
	X(PQntuples) \
	X(PQresultErrorMessage) \
	X(PQresultStatus) \
	X(PQsendQuery) \
	X(PQsendQueryParams) \
	X(PQsetNoticeProcessor) \
	X(PQsetnonblocking) \
	X(PQsocket) \
	X(PQstatus) \

struct px_pq {
#define PX_PQ_FIELD(name)	__typeof__(name) *name;
	PX_PQ_FUNCS(PX_PQ_FIELD)
#undef PX_PQ_FIELD
};
extern struct px_pq	px_pq;

/*
 * px_pq_load() : makes px_pq usable: dlopen()s libpq.so.5 once per process
 * (later calls only answer).  0, or -1 with err saying what is missing
 * ("install libpq5").  Thread-safe.
 */
int		 px_pq_load(char *err, size_t errlen);

#ifndef PX_PQ_IMPL
#define PQclear	(*px_pq.PQclear)
#define PQcmdTuples	(*px_pq.PQcmdTuples)
#define PQconnectPoll	(*px_pq.PQconnectPoll)
#define PQconnectStartParams	(*px_pq.PQconnectStartParams)
#define PQconnectdbParams	(*px_pq.PQconnectdbParams)
#define PQconninfoFree	(*px_pq.PQconninfoFree)
#define PQconninfoParse	(*px_pq.PQconninfoParse)
#define PQconsumeInput	(*px_pq.PQconsumeInput)
#define PQerrorMessage	(*px_pq.PQerrorMessage)
#define PQexec	(*px_pq.PQexec)
#define PQexecParams	(*px_pq.PQexecParams)
#define PQfinish	(*px_pq.PQfinish)
#define PQflush	(*px_pq.PQflush)
#define PQfreemem	(*px_pq.PQfreemem)
#define PQgetResult	(*px_pq.PQgetResult)
#define PQgetisnull	(*px_pq.PQgetisnull)
#define PQgetlength	(*px_pq.PQgetlength)
#define PQgetvalue	(*px_pq.PQgetvalue)
#define PQisBusy	(*px_pq.PQisBusy)
#define PQnfields	(*px_pq.PQnfields)
#define PQntuples	(*px_pq.PQntuples)
#define PQresultErrorMessage	(*px_pq.PQresultErrorMessage)
#define PQresultStatus	(*px_pq.PQresultStatus)
#define PQsendQuery	(*px_pq.PQsendQuery)
#define PQsendQueryParams	(*px_pq.PQsendQueryParams)
#define PQsetNoticeProcessor	(*px_pq.PQsetNoticeProcessor)
#define PQsetnonblocking	(*px_pq.PQsetnonblocking)
#define PQsocket	(*px_pq.PQsocket)
#define PQstatus	(*px_pq.PQstatus)
#endif

#endif /* PUBGATE_PQ_H */
