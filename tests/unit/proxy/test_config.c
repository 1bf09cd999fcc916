/*
 * tests/unit/proxy/test_config.c: server settings (config.c): defaults,
 * every key, flags overriding the file, and errors reported all at once
 * with file:line:col (unknown keys, bad values, https without a cert).
 */
#include "px_harness.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors_line_col),
		cmocka_unit_test(test_dns_pool),
		cmocka_unit_test(test_yaml_syntax_and_semantics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
