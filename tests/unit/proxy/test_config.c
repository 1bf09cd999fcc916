/*
 * tests/unit/proxy/test_config.c: server settings (config.c): defaults,
 * every key, flags overriding the file, and errors reported all at once
 * with file:line:col (unknown keys, bad values, https without a cert),
 * errors naming the flag or file:line:col of the value at fault, the
 * plain-http upstream rule, and log.c's quoting of values.
 */
#include "px_harness.h"
#include <unistd.h>

static int
has_err(const struct px_cfg_errs *e, const char *want)
{
	size_t	 i;

	for (i = 0; i < e->count && i < PX_CFG_ERRORS_MAX; i++)
		if (strstr(e->msg[i], want) != NULL)
			return 1;
	return 0;
}

static void
test_defaults(void **state)
{
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 e;

	(void)state;
	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0].url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.up.host, "registry.npmjs.org");
	assert_string_equal(cfg.up.port, "443");
	assert_int_equal(cfg.up.tls, 1);
	assert_string_equal(cfg.up_origin, "https://registry.npmjs.org/");
	assert_int_equal(cfg.header_bytes, PX_HEAD_BYTES_DEFAULT);
	assert_int_equal(cfg.body, PX_BODY_DEFAULT);
	assert_string_equal(cfg.policy, "");
	assert_string_equal(cfg.cache_dir, "");
}

static void
test_all_keys(void **state)
{
	static const char doc[] =
	    "listen:\n"
	    "  - url: https://127.0.0.1:8443\n"
	    "    cert: /etc/pubgate/cert.pem\n"
	    "    key: /etc/pubgate/key.pem\n"
	    "    chain: /etc/pubgate/chain.pem\n"
	    "  - url: http://[::1]:8080\n"
	    "upstream: http://127.0.0.1:4873/npm/\n"
	    "upstream_ca: /etc/ssl/ca.pem\n"
	    "policy: /etc/pubgate/policy.yaml\n"
	    "public_url: https://npm-gate.example/\n"
	    "timeouts: { connect: 500ms, idle: 2m, request: 1h }\n"
	    "limits: { header_bytes: 16KB, headers: 50, body: 300MB }\n"
	    "spool_dir: /var/spool/pubgate\n"
	    "cache_dir: /var/cache/pubgate/detectors\n"
	    "db: /var/lib/pubgate/decisions.db\n"
	    "audit_log: /var/log/pubgate/audit.jsonl\n"
	    "admin: { listen: http://127.0.0.1:9090, token_file: /etc/t }\n"
	    "workers: 2\n";
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 e;

	(void)state;
	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.nlisten, 2);
	assert_int_equal(cfg.listen[0].u.tls, 1);
	assert_string_equal(cfg.listen[0].chain, "/etc/pubgate/chain.pem");
	assert_string_equal(cfg.listen[1].u.host, "::1");
	assert_string_equal(cfg.up.prefix, "/npm");
	assert_string_equal(cfg.up.hostport, "127.0.0.1:4873");
	assert_string_equal(cfg.up_origin, "http://127.0.0.1:4873/npm/");
	assert_int_equal(cfg.connect_ms, 500);
	assert_int_equal(cfg.idle_ms, 120000);
	assert_int_equal(cfg.request_ms, 3600000);
	assert_int_equal(cfg.header_bytes, 16384);
	assert_int_equal(cfg.headers, 50);
	assert_int_equal(cfg.body, 300ULL * 1024 * 1024);
	assert_string_equal(cfg.admin_listen, "http://127.0.0.1:9090");
	assert_int_equal(cfg.workers, 2);
	assert_string_equal(cfg.cache_dir, "/var/cache/pubgate/detectors");

	/* Flags win over the file. */
	fl.listen = "http://127.0.0.1:9999";
	fl.upstream = "https://registry.example:8443";
	fl.db = "/tmp/x.db";
	fl.policy = "/tmp/p.yaml";
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0].u.port, "9999");
	assert_string_equal(cfg.up.hostport, "registry.example:8443");
	assert_string_equal(cfg.db, "/tmp/x.db");
	assert_string_equal(cfg.policy, "/tmp/p.yaml");
}

static void
test_errors_line_col(void **state)
{
	static const char doc[] =
	    "listen:\n"
	    "  - url: http://127.0.0.1:8080\n"
	    "    certt: x.pem\n"
	    "upstream: http://127.0.0.1:4873\n"
	    "timeouts:\n"
	    "  connect: soon\n"
	    "limits: { body: 10TB }\n"
	    "workres: 2\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "s.yaml", doc, sizeof(doc) - 1,
	    &e), -1);
	assert_int_equal(e.count, 4);
	assert_true(has_err(&e, "s.yaml:3:5: listen: unknown key \"certt\""));
	assert_true(has_err(&e, "s.yaml:6:12: connect: \"soon\""));
	assert_true(has_err(&e, "s.yaml:7:17: body:"));
	assert_true(has_err(&e, "s.yaml:8:1: unknown key \"workres\""));
}

/* quarantine: {dir, keep, max}: defaults, units, errors at line:col. */
static void
test_quarantine(void **state)
{
	static const char doc[] =
	    "quarantine: { dir: /var/lib/pubgate/quarantine, keep: 30d, "
	    "max: 10GB }\n";
	static const char small[] =
	    "quarantine:\n"
	    "  dir: /q\n"
	    "  keep: 2s\n"
	    "  max: 64KB\n";
	static const char bad[] =
	    "quarantine:\n"
	    "  dir: quar\n"
	    "  keep: forever\n"
	    "  max: 1\n"
	    "  maxx: 1GB\n";
	static const char nodir[] = "quarantine: { keep: 1h }\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_string_equal(cfg.quar.dir, "");		/* off by default */
	assert_true(cfg.quar.keep_ms == 30ULL * 24 * 3600 * 1000);
	assert_true(cfg.quar.max_bytes == 10ULL << 30);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "q.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_string_equal(cfg.quar.dir, "/var/lib/pubgate/quarantine");
	assert_true(cfg.quar.keep_ms == 30ULL * 24 * 3600 * 1000);
	assert_true(cfg.quar.max_bytes == 10ULL << 30);
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "q.yaml", small,
	    sizeof(small) - 1, &e), 0);
	assert_true(cfg.quar.keep_ms == 2000);
	assert_true(cfg.quar.max_bytes == 65536);

	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "b.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_int_equal(e.count, 4);
	assert_true(has_err(&e, "b.yaml:2:8: quarantine.dir: \"quar\" must be "
	    "an absolute path"));
	assert_true(has_err(&e, "b.yaml:3:9: quarantine.keep: \"forever\" is "
	    "not a duration"));
	assert_true(has_err(&e, "b.yaml:4:8: quarantine.max: 1 out of range"));
	assert_true(has_err(&e, "b.yaml:5:3: quarantine: unknown key "
	    "\"maxx\""));
	assert_string_equal(cfg.quar.dir, "");	/* never a relative one */
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "n.yaml", nodir,
	    sizeof(nodir) - 1, &e), -1);
	assert_true(has_err(&e, "n.yaml:1:13: quarantine: \"dir\" is "
	    "required"));
}

/* packument_cache: on by default, {max, entry_max}, off; errors. */
static void
test_packument_cache(void **state)
{
	static const char doc[] =
	    "packument_cache: { max: 256MB, entry_max: 32MB }\n";
	static const char off[] = "packument_cache: off\n";
	static const char bad[] =
	    "packument_cache:\n"
	    "  max: 1KB\n"
	    "  entry_max: lots\n"
	    "  size: 1GB\n";
	static const char inv[] = "packument_cache: { max: 8MB, entry_max: "
	    "16MB }\n";
	static const char word[] = "packument_cache: maybe\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_int_equal(cfg.pcache.off, 0);
	assert_true(cfg.pcache.max_bytes == 64ULL << 20);
	assert_true(cfg.pcache.entry_max == 16ULL << 20);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "p.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_true(cfg.pcache.max_bytes == 256ULL << 20);
	assert_true(cfg.pcache.entry_max == 32ULL << 20);
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "p.yaml", off, sizeof(off) - 1,
	    &e), 0);
	assert_int_equal(cfg.pcache.off, 1);
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "b.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_int_equal(e.count, 3);
	assert_true(has_err(&e, "b.yaml:2:8: packument_cache.max: 1KB out of "
	    "range"));
	assert_true(has_err(&e, "b.yaml:3:14: packument_cache.entry_max: "
	    "\"lots\""));
	assert_true(has_err(&e, "b.yaml:4:3: packument_cache: unknown key "
	    "\"size\""));
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "i.yaml", inv, sizeof(inv) - 1,
	    &e), -1);
	assert_true(has_err(&e, "i.yaml:1:18: packument_cache: entry_max is "
	    "above max"));
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "w.yaml", word,
	    sizeof(word) - 1, &e), -1);
	assert_true(has_err(&e, "w.yaml:1:18: packument_cache: \"maybe\" is "
	    "not off, on"));
}

/* workers: auto is px_cfg_workers_auto(); a number still works; else 1:1. */
static void
test_workers_auto(void **state)
{
	static const char	 ok[] = "workers: auto\n";
	static const char	 bad[] = "workers: many\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;
	long			 n = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", ok, sizeof(ok) - 1,
	    &e), 0);
	assert_int_equal(cfg.workers, px_cfg_workers_auto());
	assert_true(px_cfg_workers_auto() >= 1);
	/* No more than the online cores (affinity and quota only lower it). */
	assert_true(px_cfg_workers_auto() <= (n < 1 ? 1 : n > 64 ? 64 :
	    (int)n));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_true(has_err(&e, "t.yaml:1:10"));
}

/* A cgroup v2 cpu.max line: the CPUs its quota allows, rounded up. */
static void
test_cpu_quota(void **state)
{
	(void)state;
	assert_int_equal(px_cfg_cpu_quota("max 100000\n"), 0);
	assert_int_equal(px_cfg_cpu_quota("200000 100000\n"), 2);
	assert_int_equal(px_cfg_cpu_quota("150000 100000"), 2);
	assert_int_equal(px_cfg_cpu_quota("50000 100000\n"), 1);
	assert_int_equal(px_cfg_cpu_quota("100000000 1000\n"), 64);
	assert_int_equal(px_cfg_cpu_quota("0 100000\n"), 0);
	assert_int_equal(px_cfg_cpu_quota("100000 0\n"), 0);
	assert_int_equal(px_cfg_cpu_quota("-5 100000\n"), 0);
	assert_int_equal(px_cfg_cpu_quota("\n"), 0);
	assert_int_equal(px_cfg_cpu_quota("lots of cpus\n"), 0);
}

/*
 * The default is auto (issue 9); --workers N|auto overrides the file; a
 * number out of range or a word is an error naming the flag.
 */
static void
test_workers_default_and_flag(void **state)
{
	static const char	 two[] = "workers: 2\n";
	static const char	*bad[] = { "0", "65", "x", "3x", "" };
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;
	struct px_cfg_flags	 fl;
	size_t			 i;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_int_equal(cfg.workers, px_cfg_workers_auto());
	memset(&e, 0, sizeof(e));
	memset(&fl, 0, sizeof(fl));
	assert_int_equal(px_cfg_load_buf(&cfg, "t.yaml", two, sizeof(two) - 1,
	    &e), 0);
	assert_int_equal(cfg.workers, 2);
	fl.workers = "3";
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.workers, 3);
	fl.workers = "auto";
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.workers, px_cfg_workers_auto());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		px_cfg_defaults(&cfg);
		fl.workers = bad[i];
		assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
		assert_true(has_err(&e, "--workers: \""));
	}
}

/* dns and pool: the upstream's name cache and the idle pool (resolve.c). */
static void
test_dns_pool(void **state)
{
	static const char doc[] =
	    "dns: { min_ttl: 2s, max_ttl: 10m }\n"
	    "pool: { max_idle: 256, idle_timeout: 3s }\n";
	static const char bad[] =
	    "dns:\n"
	    "  min_ttl: 5m\n"
	    "  max_ttl: 1m\n"
	    "  ttl: 3\n"
	    "pool: { max_idle: 5000, idle_timeout: 2m }\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_int_equal(cfg.dns_min_ttl_ms, 10000);
	assert_int_equal(cfg.dns_max_ttl_ms, 300000);
	assert_int_equal(cfg.pool_max, 128);
	assert_int_equal(cfg.pool_idle_ms, 4000);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "d.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_int_equal(cfg.dns_min_ttl_ms, 2000);
	assert_int_equal(cfg.dns_max_ttl_ms, 600000);
	assert_int_equal(cfg.pool_max, 256);
	assert_int_equal(cfg.pool_idle_ms, 3000);

	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "b.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_int_equal(e.count, 4);
	assert_true(has_err(&e, "b.yaml:4:3: dns: unknown key \"ttl\""));
	assert_true(has_err(&e, "b.yaml:2:3: dns: min_ttl is above max_ttl"));
	assert_true(has_err(&e, "b.yaml:5:19: max_idle: 5000 out of range"));
	assert_true(has_err(&e, "b.yaml:5:39: idle_timeout: 2m out of range"));
}

static void
test_yaml_syntax_and_semantics(void **state)
{
	static const char bad[] = "listen: [\n  url: x\n";
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 e;

	(void)state;
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "y.yaml", bad, sizeof(bad) - 1,
	    &e), -1);
	assert_int_equal(e.count, 1);
	assert_true(strncmp(e.msg[0], "y.yaml:", 7) == 0);

	/* https without a cert, a bad upstream URL: both reported. */
	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	fl.listen = "https://127.0.0.1:8443";
	fl.upstream = "ftp://x";
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
	assert_int_equal(e.count, 2);
	assert_true(has_err(&e, "https needs a cert"));
	assert_true(has_err(&e, "upstream ftp://x"));
}

/* Errors name where the value came from: the flag, or file:line:col. */
static void
test_errors_name_origin(void **state)
{
	static const char doc[] =
	    "listen:\n"
	    "  - url: https://127.0.0.1:8443\n"
	    "upstream: ftp://registry.example\n"
	    "admin: { listen: https://127.0.0.1:9090 }\n"
	    "cache_dir: cache\n";
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 e;

	(void)state;
	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	fl.listen = "http://127.0.0.1:99999";
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
	assert_int_equal(e.count, 1);
	assert_true(has_err(&e, "--listen: listen http://127.0.0.1:99999: "
	    "bad port"));
	assert_false(has_err(&e, "(defaults)"));

	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "o.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
	assert_int_equal(e.count, 4);
	assert_true(has_err(&e, "o.yaml:5:12: cache_dir cache: must be an "
	    "absolute path"));
	assert_true(has_err(&e, "o.yaml:2:10: listen https://127.0.0.1:8443: "
	    "https needs a cert"));
	assert_true(has_err(&e, "o.yaml:3:11: upstream ftp://"));
	assert_true(has_err(&e, "o.yaml:4:18: admin listen"));

	/* The flag wins, and is blamed. */
	fl.upstream = "gopher://x";
	fl.listen = "http://127.0.0.1:8080";
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
	assert_true(has_err(&e, "--upstream: upstream gopher://x"));
}

/* Plain http upstream: loopback only, unless allow_insecure_upstream. */
static void
test_insecure_upstream(void **state)
{
	static const char allow[] =
	    "upstream: http://registry.corp.example:4873\n"
	    "allow_insecure_upstream: true\n";
	static const char * const ok[] = { "http://127.0.0.1:4873",
	    "http://localhost:4873/npm", "http://[::1]:4873",
	    "https://registry.corp.example" };
	static const char * const bad[] = { "http://registry.npmjs.org",
	    "http://10.0.0.1:4873", "http://[::2]:80", "http://127x.example",
	    "http://127.0.0.1.evil.example" };
	struct px_cfg		 cfg;
	struct px_cfg_flags	 fl;
	struct px_cfg_errs	 e;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&fl, 0, sizeof(fl));
		memset(&e, 0, sizeof(e));
		px_cfg_defaults(&cfg);
		fl.upstream = ok[i];
		assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&fl, 0, sizeof(fl));
		memset(&e, 0, sizeof(e));
		px_cfg_defaults(&cfg);
		fl.upstream = bad[i];
		assert_int_equal(px_cfg_apply(&cfg, &fl, &e), -1);
		assert_int_equal(e.count, 1);
		assert_true(has_err(&e, "allow_insecure_upstream: true"));
		assert_true(has_err(&e, "--upstream: "));
	}
	memset(&fl, 0, sizeof(fl));
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "i.yaml", allow,
	    sizeof(allow) - 1, &e), 0);
	assert_int_equal(px_cfg_apply(&cfg, &fl, &e), 0);
	assert_int_equal(cfg.allow_insecure_upstream, 1);
	assert_int_equal(cfg.up.tls, 0);
}


/* log_format: text (default) or json; anything else is an error. */
static void
test_log_format(void **state)
{
	static const char json[] = "log_format: json\n";
	static const char bad[] = "log_format: xml\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;

	(void)state;
	px_cfg_defaults(&cfg);
	assert_int_equal(cfg.log_json, 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "j.yaml", json,
	    sizeof(json) - 1, &e), 0);
	assert_int_equal(cfg.log_json, 1);
	px_cfg_defaults(&cfg);
	memset(&e, 0, sizeof(e));
	assert_int_equal(px_cfg_load_buf(&cfg, "j.yaml", bad,
	    sizeof(bad) - 1, &e), -1);
	assert_true(has_err(&e, "j.yaml:1:13: log_format: \"xml\" is not "
	    "text or json"));
}

/* px_log_to_json(): one valid JSON object per line, whatever the values. */
static void
test_log_json(void **state)
{
	char	 out[600], q[200], big[3000];
	size_t	 n;

	(void)state;
	px_log_quote(q, sizeof(q), "a \"b\" \\ c\nd\x01\xc3\xa9");
	snprintf(big, sizeof(big), "conn=7 req=0badcafe-3 client=1.2.3.4:5 "
	    "pkg=@a/b status=403 verdict=deny rule=- upstream_status=0 "
	    "bytes_in=012 ms=-5 note=\"%s\" tail", q);
	n = px_log_to_json("2026-12-03T10:00:00.000Z", "info", big, out,
	    sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "{\"ts\":\"2026-12-03T10:00:00.000Z\","
	    "\"level\":\"info\",\"conn\":7,\"req\":\"0badcafe-3\","
	    "\"client\":\"1.2.3.4:5\",\"pkg\":\"@a/b\",\"status\":403,"
	    "\"verdict\":\"block\",\"rule\":null,\"upstream_status\":0,"
	    "\"bytes_in\":\"012\",\"ms\":-5,"
	    "\"note\":\"a \\\"b\\\" \\\\ c\\nd\\\\x01\\\\xc3\\\\xa9\","
	    "\"msg\":\"tail\"}\n");
	/* verdict=allow and a quoted "deny" stay as they are. */
	n = px_log_to_json("t", "warn", "verdict=allow x=\"deny\"", out,
	    sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "{\"ts\":\"t\",\"level\":\"warn\","
	    "\"verdict\":\"allow\",\"x\":\"deny\"}\n");
	/* Too long: whole fields only, closed, marked. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "a=1 b=", 6);
	big[sizeof(big) - 1] = '\0';
	n = px_log_to_json("t", "info", big, out, sizeof(out));
	assert_true(n <= sizeof(out));
	out[n - 1] = '\0';
	assert_string_equal(out, "{\"ts\":\"t\",\"level\":\"info\",\"a\":1,"
	    "\"truncated\":true}");
}

/* Log values: quoted and escaped, never mangled (log.c). */
static void
test_log_values(void **state)
{
	char	 b[64], small[8];

	(void)state;
	assert_string_equal(px_log_quote(b, sizeof(b),
	    "cannot open /a b/c.pem"), "cannot open /a b/c.pem");
	assert_string_equal(px_log_quote(b, sizeof(b), "say \"hi\"\\\n\t\x01"),
	    "say \\\"hi\\\"\\\\\\n\\t\\x01");
	assert_string_equal(px_log_quote(b, sizeof(b), "caf\xc3\xa9"),
	    "caf\\xc3\\xa9");
	/* In place, as callers use it. */
	snprintf(b, sizeof(b), "a \"b\"");
	assert_string_equal(px_log_quote(b, sizeof(b), b), "a \\\"b\\\"");
	/* An escape that does not fit is dropped whole. */
	assert_string_equal(px_log_quote(small, sizeof(small), "abcdef\n"),
	    "abcdef");
	assert_string_equal(px_log_value(b, sizeof(b), "/@acme%2flib"),
	    "/@acme%2flib");
	assert_string_equal(px_log_value(b, sizeof(b), "a b"), "\"a b\"");
	assert_string_equal(px_log_value(b, sizeof(b), "k=v"), "\"k=v\"");
	assert_string_equal(px_log_value(b, sizeof(b), ""), "\"\"");
	assert_string_equal(px_log_value(small, sizeof(small), "a b c d e"),
	    "\"a b c\"");
}

/*
 * Paths may name systemd credentials: $CREDENTIALS_DIRECTORY/x is read
 * under that directory; unset, it is an error at the value's line:col.
 */
static void
test_credentials_paths(void **state)
{
	static const char doc[] =
	    "listen:\n"
	    "  - url: https://127.0.0.1:8443\n"
	    "    cert: /etc/pubgate/cert.pem\n"
	    "    key: $CREDENTIALS_DIRECTORY/tls-key\n"
	    "admin:\n"
	    "  listen: http://127.0.0.1:9100\n"
	    "  token_file: ${CREDENTIALS_DIRECTORY}/admin-token\n"
	    "egress:\n"
	    "  listen: http://127.0.0.1:3128\n"
	    "  ca_cert: /etc/pubgate/ca.pem\n"
	    "  ca_key: $CREDENTIALS_DIRECTORY/ca-key\n";
	struct px_cfg		 cfg;
	struct px_cfg_errs	 e;
	char			 out[64];
	const char		*why;

	(void)state;
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/pubgate.service",
	    1);
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "c.yaml", doc, sizeof(doc) - 1,
	    &e), 0);
	assert_string_equal(cfg.listen[0].key,
	    "/run/credentials/pubgate.service/tls-key");
	assert_string_equal(cfg.listen[0].cert, "/etc/pubgate/cert.pem");
	assert_string_equal(cfg.admin_token_file,
	    "/run/credentials/pubgate.service/admin-token");
	assert_string_equal(cfg.egress.ca_key,
	    "/run/credentials/pubgate.service/ca-key");
	assert_int_equal(px_cfg_path("$CREDENTIALS_DIRECTORY/a-rather-long-"
	    "credential-name-that-will-not-fit", out, sizeof(out), &why), -1);
	assert_int_equal(px_cfg_path("/x/$CREDENTIALS_DIRECTORY/y", out,
	    sizeof(out), &why), 0);
	assert_string_equal(out, "/x/$CREDENTIALS_DIRECTORY/y");

	unsetenv("CREDENTIALS_DIRECTORY");
	memset(&e, 0, sizeof(e));
	px_cfg_defaults(&cfg);
	assert_int_equal(px_cfg_load_buf(&cfg, "c.yaml", doc, sizeof(doc) - 1,
	    &e), -1);
	assert_int_equal(e.count, 3);
	assert_true(has_err(&e, "c.yaml:4:10: listen.key: $CREDENTIALS_"
	    "DIRECTORY is not set"));
	assert_true(has_err(&e, "c.yaml:7:15: admin.token_file: "
	    "$CREDENTIALS_DIRECTORY is not set"));
	assert_true(has_err(&e, "ca_key: $CREDENTIALS_DIRECTORY is not set"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors_line_col),
		cmocka_unit_test(test_dns_pool),
		cmocka_unit_test(test_workers_auto),
		cmocka_unit_test(test_workers_default_and_flag),
		cmocka_unit_test(test_cpu_quota),
		cmocka_unit_test(test_yaml_syntax_and_semantics),
		cmocka_unit_test(test_errors_name_origin),
		cmocka_unit_test(test_insecure_upstream),
		cmocka_unit_test(test_log_format),
		cmocka_unit_test(test_log_json),
		cmocka_unit_test(test_log_values),
		cmocka_unit_test(test_credentials_paths),
		cmocka_unit_test(test_quarantine),
		cmocka_unit_test(test_packument_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
