/*
 * proxy/audit.h: the decision store.  Every publish decision (allow or
 * block) and every other write the gate forwards becomes one record,
 * committed to SQLite (one file, WAL) before the client gets its answer,
 * and written as one JSON line to the log stream for SIEMs.
 *
 * Records never carry a token, a cookie or a secret: `who` is a short
 * SHA-256 fingerprint of the bearer token, reasons name rule, file and
 * detector only (the policy engine already redacts).
 */
#ifndef PUBGATE_AUDIT_H
#define PUBGATE_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "policy.h"

struct px_audit;

struct px_audit_rec {
	int64_t			 time_ms;	/* wall clock, ms since the epoch */
	const char		*request_id;
	const char		*client;	/* client address "ip:port" */
	const char		*who;		/* token fingerprint, "" if none */
	const char		*npm_command;	/* npm-command header, or "" */
	const char		*user_agent;	/* or "" */
	const char		*kind;		/* "publish", "stage-publish",
						   "dist-tag", "unpublish", ... */
	const char		*package;	/* from the URL */
	enum pol_verdict	 verdict;
	int			 status;	/* HTTP status the client gets */
	const struct pol_report	*report;	/* publishes; NULL otherwise */
};

/*
 * px_audit_open() : opens (creating) the SQLite store at db_path and
 * sets WAL and synchronous=FULL.  jsonl, if not NULL, receives one JSON
 * line per record (borrowed; the caller closes it).  Returns NULL with a
 * message in err on failure.
 */
struct px_audit	*px_audit_open(const char *db_path, FILE *jsonl, char *err,
		    size_t errlen);
/*
 * px_audit_write() : stores one record; returns 0 once it is durable on
 * disk, -1 on failure (the caller must then refuse the publish: a
 * decision that cannot be recorded is not made).
 */
int		 px_audit_write(struct px_audit *, const struct px_audit_rec *);
void		 px_audit_close(struct px_audit *);

/* Query, shared by `pubgate log` and the admin API. */
struct px_audit_query {
	int		 blocked_only;
	int64_t		 since_ms;	/* 0: no bound */
	const char	*package_glob;	/* NULL: any */
	const char	*scope;		/* "@x", NULL: any */
	int		 limit;		/* 0: default 100 */
};

/*
 * px_audit_query_json() : runs q and writes a JSON array of records to
 * out.  Returns the number of records, or -1 with a message in err.
 */
int		 px_audit_query_json(struct px_audit *, const struct px_audit_query *q,
		    FILE *out, char *err, size_t errlen);

#endif /* PUBGATE_AUDIT_H */
