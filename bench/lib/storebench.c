/*
 * bench/lib/storebench.c: decisions per second the decision store commits
 * (store.h, either backend), as bench/store runs it.
 *
 *   storebench DB PROCS RECORDS
 *
 * PROCS processes (each its own connection, as gates or workers have)
 * each write RECORDS blocked-publish records with two reasons, each
 * committed before the next (px_store_write returns once durable, as for
 * a publish); prints "procs=P records=N failed=F seconds=S
 * decisions_per_s=R" (R counts committed records; a failed write, such
 * as SQLite's lock wait running out, is a publish the gate answers 503).
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "store.h"

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
writer(const char *db, int id, int n)
{
	struct pol_report	*rep;
	struct px_store_rec	 rec;
	struct px_store		*s;
	char			 err[512], reqid[32], pkg[64];
	int			 i, failed = 0;

	/* migrate made the schema: open as the gate's workers reopen it. */
	if ((s = px_store_open_existing(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "storebench: %s\n", err);
		return 250;
	}
	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return 1;
	rep->verdict = POL_DENY;
	snprintf(rep->version, sizeof(rep->version), "1.0.0");
	snprintf(rep->tag, sizeof(rep->tag), "latest");
	memset(rep->sha512_hex, 'a', 128);
	rep->nreasons = rep->nreasons_total = 2;
	snprintf(rep->reasons[0].rule, POL_RULE_ID_MAX, "secret.npm-token");
	snprintf(rep->reasons[0].file, POL_FILE_MAX, "dist/index.js");
	snprintf(rep->reasons[0].text, POL_TEXT_MAX, "npm token npm_****");
	snprintf(rep->reasons[1].rule, POL_RULE_ID_MAX, "files.denied");
	snprintf(rep->reasons[1].file, POL_FILE_MAX, ".env");
	for (i = 0; i < n; i++) {
		snprintf(reqid, sizeof(reqid), "%08x-%d", id, i);
		snprintf(pkg, sizeof(pkg), "@bench/p%d-%d", id, i % 50);
		snprintf(rep->name, sizeof(rep->name), "%s", pkg);
		memset(&rec, 0, sizeof(rec));
		rec.request_id = reqid;
		rec.client = "127.0.0.1:40000";
		rec.who = "0123456789abcdef";
		rec.npm_command = "publish";
		rec.user_agent = "npm/10.8.2 node/v20.18.0 linux x64";
		rec.kind = "publish";
		rec.package = pkg;
		rec.verdict = POL_DENY;
		rec.status = 403;
		rec.report = rep;
		/* A failed write is a publish the gate answers 503. */
		if (px_store_write(s, &rec) == -1)
			failed++;
	}
	free(rep);
	px_store_close(s);
	return failed > 250 ? 250 : failed;
}

int
main(int argc, char *argv[])
{
	char	 err[512];
	double	 t0, t1;
	int	 procs, n, i, st, bad = 0, failed = 0, v;

	if (argc != 4 || (procs = atoi(argv[2])) < 1 ||
	    (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: storebench DB PROCS RECORDS\n");
		return 2;
	}
	if (px_store_migrate(argv[1], &v, err, sizeof(err)) == -1) {
		fprintf(stderr, "storebench: %s\n", err);
		return 2;
	}
	t0 = now_s();
	for (i = 0; i < procs; i++) {
		switch (fork()) {
		case -1:
			perror("fork");
			return 2;
		case 0:
			_exit(writer(argv[1], i, n));
		}
	}
	for (i = 0; i < procs; i++)
		if (wait(&st) == -1 || !WIFEXITED(st))
			bad++;
		else
			failed += WEXITSTATUS(st);
	t1 = now_s();
	if (bad) {
		fprintf(stderr, "storebench: %d writers failed\n", bad);
		return 1;
	}
	printf("procs=%d records=%d failed=%d seconds=%.2f "
	    "decisions_per_s=%.0f\n", procs, procs * n, failed, t1 - t0,
	    (double)(procs * n - failed) / (t1 - t0));
	return 0;
}
