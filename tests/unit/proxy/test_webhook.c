/*
 * tests/unit/proxy/test_webhook.c: webhooks (gate/webhook.c, issue 10):
 * the `webhooks:` settings and their errors at file:line:col, which
 * webhooks a decision's outbox names, the payload built from a stored
 * record (generic JSON and Slack's text, escaped, the record's redacted
 * reasons only), the HMAC-SHA256 signature against a known vector, the
 * backoff's bounds and the secret file's reading.
 */
#include "px_harness.h"
#include "store.h"

static int
has_err(const struct px_cfg_errs *e, const char *want)
{
	size_t	 i;

	for (i = 0; i < e->count && i < PX_CFG_ERRORS_MAX; i++)
		if (strstr(e->msg[i], want) != NULL)
			return 1;
	return 0;
}

static int
load(struct px_cfg *cfg, struct px_cfg_errs *e, const char *doc)
{
	struct px_cfg_flags	fl;

	memset(&fl, 0, sizeof(fl));
	memset(e, 0, sizeof(*e));
	px_cfg_defaults(cfg);
	if (px_cfg_load_buf(cfg, "w.yaml", doc, strlen(doc), e) == -1)
		return -1;
	return px_cfg_apply(cfg, &fl, e);
}

static void
test_settings(void **state)
{
	static struct px_cfg	cfg;
	struct px_cfg_errs	e;
	char			out[PX_HOOKS_MAX * (PX_HOOK_NAME_MAX + 1)];

	(void)state;
	assert_int_equal(load(&cfg, &e,
	    "webhooks:\n"
	    "  - name: sec\n"
	    "    url: https://hooks.example/alerts/pubgate\n"
	    "    secret_file: /etc/pubgate/hook.key\n"
	    "    ca_file: /etc/pubgate/hook-ca.pem\n"
	    "    events: [block, waiver, monitor]\n"
	    "  - name: chat.ops_1\n"
	    "    url: http://127.0.0.1:9000/x\n"
	    "    format: slack\n"), 0);
	assert_int_equal(cfg.nhooks, 2);
	assert_string_equal(cfg.hooks[0].name, "sec");
	assert_int_equal(cfg.hooks[0].u.tls, 1);
	assert_string_equal(cfg.hooks[0].u.host, "hooks.example");
	assert_string_equal(cfg.hooks[0].u.prefix, "/alerts/pubgate");
	assert_int_equal(cfg.hooks[0].format, PX_HOOK_JSON);
	assert_int_equal(cfg.hooks[0].events, PX_HOOK_EV_BLOCK |
	    PX_HOOK_EV_WAIVER | PX_HOOK_EV_MONITOR);
	assert_string_equal(cfg.hooks[0].secret_file, "/etc/pubgate/hook.key");
	assert_string_equal(cfg.hooks[0].ca_file, "/etc/pubgate/hook-ca.pem");
	assert_int_equal(cfg.hooks[1].format, PX_HOOK_SLACK);
	assert_int_equal(cfg.hooks[1].events, PX_HOOK_EV_BLOCK);	/* default */
	assert_string_equal(cfg.hooks[1].secret_file, "");

	/* Which webhooks a decision names in its outbox. */
	px_record_outbox(&cfg, PX_HOOK_EV_BLOCK, out, sizeof(out));
	assert_string_equal(out, "sec\nchat.ops_1");
	px_record_outbox(&cfg, PX_HOOK_EV_MONITOR, out, sizeof(out));
	assert_string_equal(out, "sec");
	px_record_outbox(&cfg, 0, out, sizeof(out));
	assert_string_equal(out, "");
	px_cfg_defaults(&cfg);
	px_record_outbox(&cfg, PX_HOOK_EV_BLOCK, out, sizeof(out));
	assert_string_equal(out, "");

	/* Errors, each at its place; the URL itself is never repeated. */
	assert_int_equal(load(&cfg, &e,
	    "webhooks:\n"
	    "  - name: a\n"
	    "    url: https://hooks.example/secret-path\n"
	    "  - name: 'b c'\n"
	    "    url: https://h.example/\n"
	    "    events: [block, blok]\n"
	    "    format: xml\n"
	    "    colour: red\n"
	    "  - url: https://h.example/\n"
	    "  - name: a\n"), -1);
	assert_true(has_err(&e, "w.yaml:4:11: webhooks.name: \"b c\""));
	assert_true(has_err(&e, "w.yaml:6:21: webhooks.events: \"blok\" is not "
	    "block, waiver or monitor"));
	assert_true(has_err(&e, "w.yaml:7:13: webhooks.format: \"xml\""));
	assert_true(has_err(&e, "w.yaml:8:5: webhooks: unknown key \"colour\""));
	assert_true(has_err(&e, "w.yaml:9:5: webhooks: \"name\" is required"));
	assert_true(has_err(&e, "w.yaml:10:11: webhooks.name: \"a\" given "
	    "twice"));
	assert_true(has_err(&e, "w.yaml:10:5: webhooks: \"url\" is required"));
	assert_false(has_err(&e, "secret-path"));
	assert_int_equal(load(&cfg, &e,
	    "webhooks:\n"
	    "  - name: a\n"
	    "    url: http://hooks.example/secret-path\n"), -1);
	assert_true(has_err(&e, "w.yaml:3:10: webhook a: url: plain http only "
	    "to a loopback address"));
	assert_false(has_err(&e, "secret-path"));
	assert_int_equal(load(&cfg, &e, "webhooks: {name: a}\n"), -1);
	assert_true(has_err(&e, "w.yaml:1:11: webhooks: expected a list"));
	assert_int_equal(load(&cfg, &e,
	    "webhooks: [{name: a, url: 'http://127.0.0.1:1/', "
	    "ca_file: /x}]\n"), -1);
	assert_true(has_err(&e, "ca_file for a plain http url"));
	assert_int_equal(load(&cfg, &e,
	    "webhooks: [{name: a, url: 'https://h/', events: []}]\n"), -1);
	assert_true(has_err(&e, "webhooks.events: empty"));
}

/* A stored block as px_store_by_id() gives it to the deliverer. */
static void
row_fill(struct px_store_row *r, struct px_store_reason *rs)
{
	memset(r, 0, sizeof(*r));
	memset(rs, 0, 2 * sizeof(*rs));
	r->id = 7;
	r->time = "2026-12-04T05:00:00.000Z";
	r->request_id = "0a1b2c3d-7";
	r->client = "192.0.2.10:5123";
	r->who = "sha256:0011aabb";
	r->npm_command = r->user_agent = r->tag = r->access = "";
	r->kind = "publish";
	r->package = "@acme/<x>";
	r->version = "1.0.0";
	r->verdict = "block";
	r->status = 403;
	r->rule_match = r->message = r->inspection = r->sha512 = "";
	r->integrity = "";
	r->user = "alice";
	r->path = "reverse";
	r->connect_target = "";
	r->policy_sha256 = "ab12";
	r->policy_name = "acme";
	r->policy_revision = "3";
	r->tag_old = r->tag_new = r->files = r->outbox = "";
	rs[0].rule = "secret.npm-token";
	rs[0].file = "dist/a \"b\".js";
	rs[0].text = "npm token (npm_****)\nline two";
	rs[0].hint = "revoke it";
	rs[1].rule = "files.deny";
	rs[1].file = "dist/x.pem";
	rs[1].text = "denied & <kept>";
	rs[1].hint = "";
	r->reasons = rs;
	r->nreasons = 2;
	r->reasons_total = 3;
}

static char *
payload(const struct px_store_row *r, enum px_hook_format fmt)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(px_hook_payload(f, r, 42, "sec", fmt), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_payload(void **state)
{
	struct px_store_row	r;
	struct px_store_reason	rs[2];
	char			*p;

	(void)state;
	row_fill(&r, rs);
	assert_string_equal(px_hook_event(&r), "block");
	p = payload(&r, PX_HOOK_JSON);
	assert_non_null(strstr(p, "{\"event\":\"block\",\"delivery\":42,"
	    "\"webhook\":\"sec\",\"decision\":\"0a1b2c3d-7\","
	    "\"time\":\"2026-12-04T05:00:00.000Z\",\"kind\":\"publish\","
	    "\"package\":\"@acme/<x>\",\"version\":\"1.0.0\""));
	assert_non_null(strstr(p, "\"verdict\":\"block\",\"status\":403,"
	    "\"user\":\"alice\",\"who\":\"sha256:0011aabb\","
	    "\"client\":\"192.0.2.10:5123\",\"path\":\"reverse\""));
	assert_non_null(strstr(p, "\"policy\":{\"sha256\":\"ab12\","
	    "\"name\":\"acme\",\"revision\":\"3\"}"));
	assert_non_null(strstr(p, "{\"rule\":\"secret.npm-token\","
	    "\"file\":\"dist/a \\\"b\\\".js\",\"text\":\"npm token "
	    "(npm_****)\\nline two\",\"hint\":\"revoke it\"}"));
	assert_non_null(strstr(p, "\"reasons_total\":3,"));
	assert_non_null(strstr(p, "\"text\":\"pubgate blocked: publish "
	    "@acme/<x>@1.0.0 by alice from 192.0.2.10:5123, decision "
	    "0a1b2c3d-7\\n- secret.npm-token in dist/a \\\"b\\\".js: npm "
	    "token (npm_****)\\nline two\\n- files.deny in dist/x.pem: "
	    "denied & <kept>\\n(1 more)\"}"));
	assert_null(strchr(p, '\n'));	/* one line of JSON */
	free(p);

	p = payload(&r, PX_HOOK_SLACK);
	assert_string_equal(p, "{\"text\":\"*pubgate blocked*: publish "
	    "`@acme/&lt;x&gt;@1.0.0` by alice from 192.0.2.10:5123, decision "
	    "0a1b2c3d-7\\n- secret.npm-token in dist/a \\\"b\\\".js: npm "
	    "token (npm_****)\\nline two\\n- files.deny in dist/x.pem: "
	    "denied &amp; &lt;kept&gt;\\n(1 more)\"}");
	free(p);

	/* Monitor (an allowed publish with reasons), a waiver record. */
	r.verdict = "allow";
	assert_string_equal(px_hook_event(&r), "monitor");
	p = payload(&r, PX_HOOK_SLACK);
	assert_non_null(strstr(p, "would have blocked (monitor mode)"));
	free(p);
	rs[0].rule = "waiver.approve";
	assert_string_equal(px_hook_event(&r), "waiver");
	/* No user name: the token's fingerprint, no token: said so. */
	r.user = "";
	p = payload(&r, PX_HOOK_JSON);
	assert_non_null(strstr(p, "by sha256:0011aabb from"));
	free(p);
	r.who = "";
	r.nreasons = 0;
	r.reasons_total = 0;
	p = payload(&r, PX_HOOK_JSON);
	assert_non_null(strstr(p, "by (no token) from"));
	assert_non_null(strstr(p, "\"reasons\":[],"));
	free(p);
}

static void
test_sign_backoff(void **state)
{
	static const char	 msg[] =
	    "The quick brown fox jumps over the lazy dog";
	char			 sig[72];
	int64_t			 d;
	uint32_t		 rnd;

	(void)state;
	/* RFC 4231-style known answer (the classic "key" vector). */
	px_hook_sign((const unsigned char *)"key", 3, msg, strlen(msg), sig);
	assert_string_equal(sig, "sha256=f7bc83f430538424b13298e6aa6fb143ef4d"
	    "59a14946175997479dbc2d1a3cd8");
	px_hook_sign((const unsigned char *)"kez", 3, msg, strlen(msg), sig);
	assert_string_not_equal(sig, "sha256=f7bc83f430538424b13298e6aa6fb143e"
	    "f4d59a14946175997479dbc2d1a3cd8");

	/* 1 s, 2 s, 4 s ... 10 min, +-25%, never under 1 s. */
	for (rnd = 0; rnd < 5000; rnd += 97) {
		d = px_hook_backoff_ms(1, rnd);
		assert_true(d >= 1000 && d <= 1250);
		d = px_hook_backoff_ms(3, rnd);
		assert_true(d >= 3000 && d <= 5000);
		d = px_hook_backoff_ms(11, rnd * 1000);
		assert_true(d >= 450000 && d <= 750000);
		d = px_hook_backoff_ms(1000, rnd * 1000);
		assert_true(d >= 450000 && d <= 750000);
	}
	assert_int_equal(px_hook_backoff_ms(2, 0), 1500);
	assert_int_equal(px_hook_backoff_ms(2, 1000), 2500);
}

static void
test_secret_file(void **state)
{
	char		 path[] = "/tmp/pubgate-hook-XXXXXX", err[200];
	unsigned char	*key;
	size_t		 len;
	int		 fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, "s3cret\r\n\n", 9), 9);
	assert_int_equal(px_hook_read_secret(path, &key, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(key, "s3cret", 6);
	free(key);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(write(fd, "\n", 1), 1);
	assert_int_equal(px_hook_read_secret(path, &key, &len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "empty");
	assert_null(key);
	close(fd);
	unlink(path);
	assert_int_equal(px_hook_read_secret(path, &key, &len, err,
	    sizeof(err)), -1);
	assert_string_equal(err, strerror(ENOENT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_payload),
		cmocka_unit_test(test_sign_backoff),
		cmocka_unit_test(test_secret_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
