/*
 * bench/lib/storebench.c: decisions per second the decision store commits
 * through the serving path's calls (px_store_write_async() on a libevent
 * loop, store.h, either backend), as bench/store runs it.
 *
 *   storebench DB PROCS INFLIGHT RECORDS ROUNDS
 *
 * Each round forks PROCS processes (each its own store and connection,
 * as the workers of a gate or the gates of a fleet have); each opens the
 * store as `pubgate serve` does (px_store_open_loop()), waits until it is
 * up, then, all starting together, keeps INFLIGHT writes queued until it
 * has committed its share of RECORDS: a blocked-publish record with two
 * reasons, committed (the callback's rc 0) before it counts, as a publish
 * waits for it before its answer.  A write's latency runs from the call
 * to its callback (queueing in the process's FIFO included: what a
 * publish waits).  Prints one line: the median and range of the rounds'
 * decisions/s (committed records over the span from the first start to
 * the last end), p50 and p99 of every write's latency in ms, and failed
 * writes (refused, or not committed: each a publish the gate answers
 * 503).
 */
#include <sys/wait.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "policy.h"
#include "store.h"

#define MAX_PROCS	64
#define MAX_ROUNDS	50

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One writer process. */
struct w {
	struct event_base	*base;
	struct px_store		*s;
	struct pol_report	*rep;
	int			 id, round;
	unsigned		 nonce;		/* the run's */
	int			 n, sent, done, ok, failed, inflight;
	double			*t_sent;	/* per write */
	uint32_t		*lat_us;	/* per committed write */
	int			 nlat;
};

struct slot {
	struct w	*w;
	int		 i;
};

static void	submit(struct w *, struct slot *);

static void
write_cb(void *arg, int rc, int64_t id)
{
	struct slot	*sl = arg;
	struct w	*w = sl->w;
	double		 t = now_s();

	(void)id;
	w->done++;
	w->inflight--;
	if (rc == 0) {
		w->ok++;
		w->lat_us[w->nlat++] = (uint32_t)((t - w->t_sent[sl->i]) *
		    1e6);
	} else
		w->failed++;
	if (w->sent < w->n)
		submit(w, sl);
	if (w->done == w->n)
		event_base_loopbreak(w->base);
}

static void
submit(struct w *w, struct slot *sl)
{
	struct px_store_rec	 rec;
	char			 reqid[48], pkg[64];

	while (w->sent < w->n) {
		sl->i = w->sent++;
		/* Unique in the store (request id and kind) across runs. */
		snprintf(reqid, sizeof(reqid), "%08x-%d-%d-%d", w->nonce, w->id,
		    w->round, sl->i);
		snprintf(pkg, sizeof(pkg), "@bench/p%d-%d", w->id, sl->i % 50);
		snprintf(w->rep->name, sizeof(w->rep->name), "%s", pkg);
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
		rec.report = w->rep;
		w->t_sent[sl->i] = now_s();
		w->inflight++;
		if (px_store_write_async(w->s, &rec, write_cb, sl) != NULL)
			return;
		/* Refused at once (down, queue full): a 503, no callback. */
		w->inflight--;
		w->done++;
		w->failed++;
		if (w->done == w->n) {
			event_base_loopbreak(w->base);
			return;
		}
	}
}

/*
 * writer() : one process: up, ready on rfd's peer, go on gfd, then the
 * writes; "ok failed start end nlat" and the latencies to out.
 */
static int
writer(const char *db, unsigned nonce, int id, int round, int n,
    int inflight, int ready, int go, FILE *out)
{
	struct px_store_stat	 st;
	struct slot		*slots;
	struct w		 w;
	struct timeval		 tv = { 0, 10000 };
	char			 err[512], c;
	double			 t0, t1, until;
	int			 i;

	memset(&w, 0, sizeof(w));
	w.nonce = nonce;
	w.id = id;
	w.round = round;
	w.n = n;
	if ((w.base = event_base_new()) == NULL ||
	    (w.rep = calloc(1, sizeof(*w.rep))) == NULL ||
	    (w.t_sent = calloc((size_t)n, sizeof(double))) == NULL ||
	    (w.lat_us = calloc((size_t)n, sizeof(uint32_t))) == NULL ||
	    (slots = calloc((size_t)inflight, sizeof(*slots))) == NULL)
		return 1;
	if ((w.s = px_store_open_loop(db, w.base, NULL, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "storebench: %s\n", err);
		return 1;
	}
	until = now_s() + 10;
	for (;;) {
		px_store_stat(w.s, &st);
		if (st.up)
			break;
		if (now_s() > until) {
			fprintf(stderr, "storebench: store not up: %s\n",
			    st.last_error);
			return 1;
		}
		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
	}
	w.rep->verdict = POL_DENY;
	w.rep->status = POL_DONE;
	snprintf(w.rep->version, sizeof(w.rep->version), "1.0.0");
	snprintf(w.rep->tag, sizeof(w.rep->tag), "latest");
	memset(w.rep->sha512_hex, 'a', 128);
	w.rep->nreasons = w.rep->nreasons_total = 2;
	snprintf(w.rep->reasons[0].rule, POL_RULE_ID_MAX, "secret.npm-token");
	snprintf(w.rep->reasons[0].file, POL_FILE_MAX, "dist/index.js");
	snprintf(w.rep->reasons[0].text, POL_TEXT_MAX, "npm token npm_****");
	snprintf(w.rep->reasons[1].rule, POL_RULE_ID_MAX, "files.denied");
	snprintf(w.rep->reasons[1].file, POL_FILE_MAX, ".env");
	c = 'r';
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 1;
	t0 = now_s();
	for (i = 0; i < inflight && w.sent < w.n; i++) {
		slots[i].w = &w;
		submit(&w, &slots[i]);
	}
	if (w.done < w.n)
		event_base_dispatch(w.base);
	t1 = now_s();
	fprintf(out, "%d %d %.6f %.6f %d\n", w.ok, w.failed, t0, t1, w.nlat);
	for (i = 0; i < w.nlat; i++)
		fprintf(out, "%u\n", w.lat_us[i]);
	fflush(out);
	px_store_close(w.s);
	event_base_free(w.base);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_d(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	FILE		*res[MAX_PROCS];
	uint32_t	*lat = NULL;
	double		 rate[MAX_ROUNDS], t0, t1, s, e;
	size_t		 nlat = 0, cap = 0;
	char		 err[512], c;
	int		 procs, inflight, n, rounds, r, i, st, v, ok, failed,
			 tfailed = 0, k, nl, rp[2], gp[2];
	unsigned	 u, nonce;

	if (argc != 6 || (procs = atoi(argv[2])) < 1 || procs > MAX_PROCS ||
	    (inflight = atoi(argv[3])) < 1 || (n = atoi(argv[4])) < procs ||
	    (rounds = atoi(argv[5])) < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: storebench DB PROCS(1-%d) INFLIGHT "
		    "RECORDS ROUNDS(1-%d)\n", MAX_PROCS, MAX_ROUNDS);
		return 2;
	}
	if (px_store_migrate(argv[1], &v, err, sizeof(err)) == -1) {
		fprintf(stderr, "storebench: %s\n", err);
		return 2;
	}
	nonce = (unsigned)(now_s() * 1000) ^ (unsigned)getpid() << 16;
	for (r = 0; r < rounds; r++) {
		if (pipe(rp) == -1 || pipe(gp) == -1) {
			perror("pipe");
			return 2;
		}
		for (i = 0; i < procs; i++) {
			if ((res[i] = tmpfile()) == NULL) {
				perror("tmpfile");
				return 2;
			}
			switch (fork()) {
			case -1:
				perror("fork");
				return 2;
			case 0:
				close(rp[0]);
				close(gp[1]);
				_exit(writer(argv[1], nonce, i, r, n / procs +
				    (i < n % procs), inflight, rp[1], gp[0],
				    res[i]));
			}
		}
		close(rp[1]);
		close(gp[0]);
		for (i = 0; i < procs; i++)
			if (read(rp[0], &c, 1) != 1) {
				fprintf(stderr, "storebench: a writer did not "
				    "start\n");
				return 1;
			}
		/* Go: every writer reads one byte. */
		for (i = 0; i < procs; i++)
			if (write(gp[1], "g", 1) != 1)
				return 2;
		close(rp[0]);
		close(gp[1]);
		for (i = 0; i < procs; i++)
			if (wait(&st) == -1 || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0) {
				fprintf(stderr, "storebench: a writer failed\n");
				return 1;
			}
		ok = failed = 0;
		t0 = 1e300;
		t1 = 0;
		for (i = 0; i < procs; i++) {
			rewind(res[i]);
			if (fscanf(res[i], "%d %d %lf %lf %d", &k, &v, &s, &e,
			    &nl) != 5)
				return 1;
			ok += k;
			failed += v;
			t0 = s < t0 ? s : t0;
			t1 = e > t1 ? e : t1;
			if (nlat + (size_t)nl > cap) {
				cap = (nlat + (size_t)nl) * 2;
				if ((lat = realloc(lat, cap * sizeof(*lat))) ==
				    NULL)
					return 2;
			}
			while (nl-- > 0 && fscanf(res[i], "%u", &u) == 1)
				lat[nlat++] = u;
			fclose(res[i]);
		}
		rate[r] = t1 > t0 ? ok / (t1 - t0) : 0;
		tfailed += failed;
	}
	qsort(rate, (size_t)rounds, sizeof(rate[0]), cmp_d);
	qsort(lat, nlat, sizeof(*lat), cmp_u32);
	printf("procs=%-2d inflight=%-3d decisions_per_s=%-6.0f (%.0f..%.0f) "
	    "p50_ms=%-6.1f p99_ms=%-7.1f failed=%d of %d\n", procs, inflight,
	    rate[rounds / 2], rate[0], rate[rounds - 1],
	    nlat ? lat[nlat / 2] / 1000.0 : 0,
	    nlat ? lat[(nlat * 99) / 100] / 1000.0 : 0, tfailed, n * rounds);
	free(lat);
	return 0;
}
