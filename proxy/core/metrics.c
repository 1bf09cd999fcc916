/*
 * proxy/core/metrics.c: the gate's metric slots.  One struct px_metrics
 * per worker: in struct px_ctx with `workers: 1`, or in one anonymous
 * shared mapping the supervisor makes before it forks (PX_WORKERS_MAX
 * at most), so that worker 0, which answers the admin API, can sum what
 * every worker counted.  Each worker writes only its own slot, with
 * relaxed atomic stores (one writer: no read-modify-write needed); the
 * scrape reads with relaxed atomic loads.  A worker the supervisor
 * restarts takes its predecessor's slot as it is: counters go on from the
 * totals, gauges start again.  Fixed size: every label set has a cap.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include <errno.h>
#include <string.h>

#include "proxy-int.h"
#include "store.h"

struct px_metrics *
px_metrics_map(size_t n)
{
	void	*p;

	if (n == 0 || n > PX_WORKERS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, n * sizeof(struct px_metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;	/* zeroed by the kernel */
}

void
px_metrics_gone(struct px_metrics *m)
{
	PX_MSET(m->live, 0);
	PX_MSET(m->conns, 0);
	PX_MSET(m->store_on, 0);
	PX_MSET(m->store_up, 0);
	PX_MSET(m->store_pending, 0);
	PX_MSET(m->reload_ok, 0);
	PX_MSET(m->reload_ok_ms, 0);
	PX_MSET(m->naddrs, 0);
}

void
px_metrics_attach(struct px_metrics *m, uint64_t pid)
{
	px_metrics_gone(m);
	/* The store's own counters start at 0 in this process. */
	m->base_store_errors = PX_MGET(m->store_errors);
	m->base_store_reconnects = PX_MGET(m->store_reconnects);
	m->base_cpu_us = PX_MGET(m->cpu_us);
	PX_MSET(m->reload_ok, 1);
	PX_MSET(m->live, pid);
}

void
px_metrics_rule(struct px_metrics *m, const char *rule)
{
	uint64_t	 i, n = PX_MGET(m->nrules);
	char		*r;

	if (rule == NULL || rule[0] == '\0')
		return;
	for (i = 0; i < n; i++)
		if (strcmp(m->rules[i].rule, rule) == 0) {
			PX_MADD(m->rules[i].n, 1);
			return;
		}
	if (n >= PX_METRIC_RULES)
		return;	/* capped: the first rules seen are kept */
	r = m->rules[n].rule;
	/* A slot reused after a crash mid-write: the name is written again. */
	snprintf(r, sizeof(m->rules[0].rule), "%s", rule);
	for (i = 0; r[i] != '\0'; i++)
		if (r[i] == '"' || r[i] == '\\')
			r[i] = '_';
	PX_MSET(m->rules[n].n, 1);
	__atomic_store_n(&m->nrules, n + 1, __ATOMIC_RELEASE);
}

void
px_metrics_pull(struct px_ctx *ctx)
{
	struct px_metrics	*m = ctx->m;
	struct px_store_stat	 st;
	struct rusage		 ru;

	PX_MSET(m->conns, ctx->nconns);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		PX_MSET(m->cpu_us, m->base_cpu_us +
		    (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		    1000000 + (uint64_t)(ru.ru_utime.tv_usec +
		    ru.ru_stime.tv_usec));
	if (ctx->audit == NULL)
		return;
	px_store_stat(ctx->audit, &st);
	PX_MSET(m->store_errors, m->base_store_errors + st.errors);
	PX_MSET(m->store_reconnects, m->base_store_reconnects +
	    st.reconnects);
	PX_MSET(m->store_pending, st.pending);
	PX_MSET(m->store_up, st.up ? 1 : 0);
	PX_MSET(m->store_on, 1);
}

/* merge_rules() : slot s's denials by rule into out, by name, capped. */
static void
merge_rules(const struct px_metrics *s, struct px_metrics *out)
{
	uint64_t	 i, j, n;

	n = __atomic_load_n(&s->nrules, __ATOMIC_ACQUIRE);
	if (n > PX_METRIC_RULES)
		n = PX_METRIC_RULES;
	for (i = 0; i < n; i++) {
		for (j = 0; j < out->nrules; j++)
			if (strncmp(out->rules[j].rule, s->rules[i].rule,
			    sizeof(out->rules[j].rule)) == 0)
				break;
		if (j == out->nrules) {
			if (out->nrules >= PX_METRIC_RULES)
				continue;
			memcpy(out->rules[j].rule, s->rules[i].rule,
			    sizeof(out->rules[j].rule));
			out->rules[j].rule[sizeof(out->rules[j].rule) - 1] =
			    '\0';
			out->rules[j].n = 0;
			out->nrules++;
		}
		out->rules[j].n += PX_MGET(s->rules[i].n);
	}
}

/*
 * merge_addrs() : a live slot's upstream addresses into out, by address
 * (usable when any worker may use it, failures summed), capped; a table the
 * worker is rewriting (addr_gen odd or moved) is read again, or left out.
 */
static void
merge_addrs(const struct px_metrics *s, struct px_metrics *out)
{
	struct px_maddr	 a[PX_DNS_ADDRS_MAX];
	uint64_t	 g, n = 0, i, j;
	int		 tries;

	for (tries = 0; tries < 4; tries++) {
		g = __atomic_load_n(&s->addr_gen, __ATOMIC_ACQUIRE);
		if (g & 1)
			continue;
		n = PX_MGET(s->naddrs);
		if (n > PX_DNS_ADDRS_MAX)
			n = PX_DNS_ADDRS_MAX;
		for (i = 0; i < n; i++) {
			memcpy(a[i].text, s->addrs[i].text, sizeof(a[i].text));
			a[i].text[sizeof(a[i].text) - 1] = '\0';
			a[i].fails = PX_MGET(s->addrs[i].fails);
			a[i].bad_until = PX_MGET(s->addrs[i].bad_until);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->addr_gen, __ATOMIC_RELAXED) == g)
			break;
	}
	if (tries == 4)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < out->naddrs; j++)
			if (strcmp(out->addrs[j].text, a[i].text) == 0)
				break;
		if (j == out->naddrs) {
			if (out->naddrs >= PX_DNS_ADDRS_MAX)
				continue;
			out->addrs[j] = a[i];
			out->naddrs++;
			continue;
		}
		out->addrs[j].fails += a[i].fails;
		if (a[i].bad_until < out->addrs[j].bad_until)
			out->addrs[j].bad_until = a[i].bad_until;
	}
}

void
px_metrics_sum(const struct px_metrics *slots, size_t n,
    struct px_metrics *out)
{
	const struct px_metrics	*s;
	uint64_t		 v, qat = 0;
	size_t			 i, k, c;
	int			 first_live = 1;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		s = &slots[i];
		for (k = 0; k < 3; k++)
			for (c = 0; c < 6; c++)
				out->requests[k][c] +=
				    PX_MGET(s->requests[k][c]);
		out->bytes_in += PX_MGET(s->bytes_in);
		out->bytes_out += PX_MGET(s->bytes_out);
		out->upstream_errors += PX_MGET(s->upstream_errors);
		out->client_cap_refused += PX_MGET(s->client_cap_refused);
		out->head_timeouts += PX_MGET(s->head_timeouts);
		out->body_too_slow += PX_MGET(s->body_too_slow);
		/* The count first: a bucket is never behind it here. */
		out->inspect_count += PX_MGET(s->inspect_count);
		out->inspect_ms_sum += PX_MGET(s->inspect_ms_sum);
		for (k = 0; k < PX_HIST_BUCKETS; k++)
			out->inspect_hist[k] += PX_MGET(s->inspect_hist[k]);
		for (k = 0; k < 2; k++) {
			out->publishes[k] += PX_MGET(s->publishes[k]);
			/* Every worker sees each SIGHUP: the most counted. */
			if ((v = PX_MGET(s->reloads[k])) > out->reloads[k])
				out->reloads[k] = v;
		}
		for (k = 0; k < 3; k++) {
			out->resolve[k] += PX_MGET(s->resolve[k]);
			out->egress[k] += PX_MGET(s->egress[k]);
		}
		out->store_errors += PX_MGET(s->store_errors);
		out->store_reconnects += PX_MGET(s->store_reconnects);
		out->cpu_us += PX_MGET(s->cpu_us);
		out->quar.kept += PX_MGET(s->quar.kept);
		for (k = 0; k < PX_QUAR_SKIP_N; k++)
			out->quar.skipped[k] += PX_MGET(s->quar.skipped[k]);
		out->quar.failed += PX_MGET(s->quar.failed);
		out->quar.expired += PX_MGET(s->quar.expired);
		out->quar.evicted += PX_MGET(s->quar.evicted);
		out->quar.parts += PX_MGET(s->quar.parts);
		out->quar.sweeps += PX_MGET(s->quar.sweeps);
		for (k = 0; k < 4; k++) {
			out->whoami[k] += PX_MGET(s->whoami[k]);
			out->pcache[k] += PX_MGET(s->pcache[k]);
		}
		/* One folder for all: the newest look at it. */
		if ((v = PX_MGET(s->quar.at_ms)) >= qat && v != 0) {
			qat = v;
			out->quar.at_ms = v;
			out->quar.files = PX_MGET(s->quar.files);
			out->quar.bytes = PX_MGET(s->quar.bytes);
		}
		merge_rules(s, out);
		if (PX_MGET(s->live) == 0)
			continue;
		out->live++;
		out->conns += PX_MGET(s->conns);
		out->store_pending += PX_MGET(s->store_pending);
		out->pcache_bytes += PX_MGET(s->pcache_bytes);
		if (PX_MGET(s->store_on)) {
			v = PX_MGET(s->store_up);
			out->store_up = out->store_on ? (out->store_up && v) :
			    v;
			out->store_on = 1;
		}
		v = PX_MGET(s->reload_ok_ms);
		if (first_live) {
			out->reload_ok = PX_MGET(s->reload_ok);
			out->reload_ok_ms = v;
			first_live = 0;
		} else {
			out->reload_ok = out->reload_ok &&
			    PX_MGET(s->reload_ok);
			if (v < out->reload_ok_ms)
				out->reload_ok_ms = v;
		}
		merge_addrs(s, out);
	}
}
