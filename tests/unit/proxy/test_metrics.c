/*
 * tests/unit/proxy/test_metrics.c: the workers' metric slots (metrics.c):
 * a scrape's sum over the slots (counters over all, gauges over the live
 * ones, rules and addresses merged by name under their caps), a slot
 * reused by a restarted worker (counters go on, gauges start again), and
 * real processes counting into one shared mapping while another sums.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "px_harness.h"

static void
test_sum(void **state)
{
	struct px_metrics	*s, sum;
	char			 name[32];
	int			 i;

	(void)state;
	assert_non_null(s = px_metrics_map(3));
	for (i = 0; i < 3; i++)
		px_metrics_attach(&s[i], 100 + (uint64_t)i);
	PX_MADD(s[0].requests[0][2], 5);
	PX_MADD(s[1].requests[0][2], 7);
	PX_MADD(s[2].requests[1][4], 1);
	PX_MADD(s[0].inspect_hist[3], 2);
	PX_MADD(s[2].inspect_hist[3], 1);
	PX_MADD(s[1].inspect_count, 3);
	PX_MADD(s[0].quar.kept, 1);
	PX_MADD(s[2].quar.kept, 2);
	PX_MSET(s[0].quar.files, 9);
	PX_MSET(s[0].quar.at_ms, 1000);
	PX_MSET(s[2].quar.files, 4);	/* newer: the folder now */
	PX_MSET(s[2].quar.at_ms, 2000);
	PX_MSET(s[0].conns, 3);
	PX_MSET(s[1].conns, 4);
	PX_MSET(s[2].conns, 5);
	PX_MSET(s[0].store_on, 1);
	PX_MSET(s[0].store_up, 1);
	PX_MSET(s[1].store_on, 1);
	PX_MSET(s[1].store_up, 0);
	PX_MSET(s[0].cpu_us, 1500000);
	PX_MSET(s[2].cpu_us, 500000);
	PX_MADD(s[0].reloads[1], 2);
	PX_MADD(s[1].reloads[1], 2);
	PX_MSET(s[0].reload_ok_ms, 50);
	PX_MSET(s[1].reload_ok_ms, 40);
	PX_MSET(s[2].reload_ok_ms, 60);
	/* Rules: slot 0 fills the cap; slot 1 repeats one, adds another. */
	for (i = 0; i < PX_METRIC_RULES; i++) {
		snprintf(name, sizeof(name), "rule-%d", i);
		px_metrics_rule(&s[0], name);
	}
	px_metrics_rule(&s[0], "rule-over-cap");
	assert_int_equal(s[0].nrules, PX_METRIC_RULES);
	px_metrics_rule(&s[1], "rule-3");
	px_metrics_rule(&s[1], "rule-3");
	px_metrics_rule(&s[1], "a\"b");
	px_metrics_rule(&s[1], "");
	px_metrics_rule(&s[1], NULL);
	assert_int_equal(s[1].nrules, 2);
	assert_string_equal(s[1].rules[1].rule, "a_b");

	px_metrics_sum(s, 3, &sum);
	assert_int_equal(sum.live, 3);
	assert_int_equal(sum.requests[0][2], 12);
	assert_int_equal(sum.requests[1][4], 1);
	assert_int_equal(sum.inspect_hist[3], 3);
	assert_int_equal(sum.inspect_count, 3);
	assert_int_equal(sum.quar.kept, 3);
	assert_int_equal(sum.quar.files, 4);
	assert_int_equal(sum.conns, 12);
	assert_int_equal(sum.cpu_us, 2000000);
	assert_int_equal(sum.store_on, 1);
	assert_int_equal(sum.store_up, 0);	/* one worker's store is down */
	assert_int_equal(sum.reloads[1], 2);	/* each saw both SIGHUPs */
	assert_int_equal(sum.reload_ok, 1);
	assert_int_equal(sum.reload_ok_ms, 40);
	assert_int_equal(sum.nrules, PX_METRIC_RULES);	/* capped */
	assert_string_equal(sum.rules[3].rule, "rule-3");
	assert_int_equal(sum.rules[3].n, 3);
	for (i = 0; i < PX_METRIC_RULES; i++)
		assert_string_not_equal(sum.rules[i].rule, "a_b");

	/* A worker reported down: its gauges leave, its counters stay. */
	PX_MSET(s[1].reload_ok, 0);
	px_metrics_sum(s, 3, &sum);
	assert_int_equal(sum.reload_ok, 0);
	px_metrics_gone(&s[1]);
	px_metrics_sum(s, 3, &sum);
	assert_int_equal(sum.live, 2);
	assert_int_equal(sum.conns, 8);
	assert_int_equal(sum.store_up, 1);
	assert_int_equal(sum.reload_ok, 1);
	assert_int_equal(sum.reload_ok_ms, 50);
	assert_int_equal(sum.requests[0][2], 12);
	assert_int_equal(sum.rules[3].n, 3);
	munmap(s, 3 * sizeof(*s));
}

static void
test_addrs(void **state)
{
	struct px_metrics	*s, sum;
	int			 i;

	(void)state;
	assert_non_null(s = px_metrics_map(2));
	px_metrics_attach(&s[0], 1);
	px_metrics_attach(&s[1], 2);
	snprintf(s[0].addrs[0].text, sizeof(s[0].addrs[0].text), "10.0.0.1");
	snprintf(s[0].addrs[1].text, sizeof(s[0].addrs[1].text), "10.0.0.2");
	s[0].addrs[1].fails = 2;
	s[0].addrs[1].bad_until = 500;
	s[0].naddrs = 2;
	snprintf(s[1].addrs[0].text, sizeof(s[1].addrs[0].text), "10.0.0.2");
	s[1].addrs[0].fails = 3;
	s[1].naddrs = 1;
	px_metrics_sum(s, 2, &sum);
	assert_int_equal(sum.naddrs, 2);
	assert_string_equal(sum.addrs[1].text, "10.0.0.2");
	assert_int_equal(sum.addrs[1].fails, 5);
	assert_int_equal(sum.addrs[1].bad_until, 0);	/* worker 1 uses it */
	/* A table being rewritten is left out, not read torn. */
	s[1].addr_gen = 1;
	px_metrics_sum(s, 2, &sum);
	assert_int_equal(sum.addrs[1].fails, 2);
	assert_int_equal(sum.addrs[1].bad_until, 500);
	/* Capped: more distinct addresses than a table holds. */
	s[1].addr_gen = 2;
	for (i = 0; i < PX_DNS_ADDRS_MAX; i++)
		snprintf(s[1].addrs[i].text, sizeof(s[1].addrs[i].text),
		    "10.1.0.%d", i);
	s[1].naddrs = PX_DNS_ADDRS_MAX;
	px_metrics_sum(s, 2, &sum);
	assert_int_equal(sum.naddrs, PX_DNS_ADDRS_MAX);
	munmap(s, 2 * sizeof(*s));
}

/* worker() : a child counting n reads in slot i, then killed or exiting. */
static pid_t
worker(struct px_metrics *s, int i, int n, int conns, int hang)
{
	pid_t	 pid;
	int	 k;

	assert_true((pid = fork()) != -1);
	if (pid != 0)
		return pid;
	px_metrics_attach(&s[i], (uint64_t)getpid());
	for (k = 0; k < n; k++) {
		PX_MADD(s[i].requests[0][2], 1);
		PX_MADD(s[i].bytes_out, 100);
	}
	PX_MSET(s[i].conns, (uint64_t)conns);
	if (hang)
		for (;;)
			pause();
	_exit(0);
}

static void
test_slot_reuse(void **state)
{
	struct px_metrics	*s, sum;
	pid_t			 pid;
	int			 st;

	(void)state;
	assert_non_null(s = px_metrics_map(2));
	waitpid(worker(s, 0, 10, 1, 0), &st, 0);
	pid = worker(s, 1, 20, 6, 1);
	/* Relaxed stores: each shows in its own time; both do, soon. */
	do
		px_metrics_sum(s, 2, &sum);
	while (sum.conns != 7 || sum.requests[0][2] != 30);
	/* Worker 1 killed hard, as the supervisor would see it. */
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	px_metrics_gone(&s[1]);
	px_metrics_sum(s, 2, &sum);
	assert_int_equal(sum.requests[0][2], 30);
	assert_int_equal(sum.conns, 1);
	assert_int_equal(sum.live, 1);
	/* Its successor goes on from the slot's totals. */
	PX_MSET(s[1].store_errors, 4);
	PX_MSET(s[1].cpu_us, 7);
	waitpid(worker(s, 1, 5, 2, 0), &st, 0);
	assert_int_equal(s[1].base_store_errors, 4);
	assert_int_equal(s[1].base_cpu_us, 7);
	px_metrics_sum(s, 2, &sum);
	assert_int_equal(sum.requests[0][2], 35);
	assert_int_equal(sum.bytes_out, 3500);
	assert_int_equal(sum.store_errors, 4);
	assert_int_equal(sum.conns, 3);
	assert_int_equal(sum.live, 2);
	munmap(s, 2 * sizeof(*s));
}

/* Four processes count at once; every sum is a total some moment had. */
static void
test_concurrent(void **state)
{
	struct px_metrics	*s, sum;
	pid_t			 pids[4];
	uint64_t		 last = 0;
	int			 i, st, running;

	(void)state;
	assert_null(px_metrics_map(0));
	assert_null(px_metrics_map(PX_WORKERS_MAX + 1));
	assert_non_null(s = px_metrics_map(4));
	for (i = 0; i < 4; i++)
		pids[i] = worker(s, i, 200000, 0, 0);
	do {
		px_metrics_sum(s, 4, &sum);
		assert_true(sum.requests[0][2] >= last);
		assert_true(sum.bytes_out <= 100 * 800000ULL);
		last = sum.requests[0][2];
		running = 0;
		for (i = 0; i < 4; i++)
			if (pids[i] != 0 && waitpid(pids[i], &st, WNOHANG) == 0)
				running++;
			else
				pids[i] = 0;
	} while (running > 0);
	px_metrics_sum(s, 4, &sum);
	assert_int_equal(sum.requests[0][2], 800000);
	assert_int_equal(sum.bytes_out, 80000000);
	munmap(s, 4 * sizeof(*s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_addrs),
		cmocka_unit_test(test_slot_reuse),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
