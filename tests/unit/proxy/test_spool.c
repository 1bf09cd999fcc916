/*
 * tests/unit/proxy/test_spool.c: the publish gate through a real
 * connection (spool.c): a denied publish is a 403 JSON whose text names
 * the file and the upstream never gets a connection; an allowed publish
 * reaches the upstream as the exact bytes the client sent (method, path,
 * credentials, Content-Length) and the upstream's answer is relayed; a
 * malformed body is refused without a byte upstream; `who` is a
 * fingerprint of the token.  Bodies are the generated incident fixtures
 * (FIXDIR, tests/fixtures/mkfixtures.py), judged by the embedded policy.
 */
#include <openssl/evp.h>

#include "px_harness.h"

static unsigned char *
slurp(const char *name, size_t *len)
{
	char		 path[1024];
	const char	*dir = getenv("FIXDIR");
	FILE		*f;
	unsigned char	*buf;
	long		 n;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct pol_policy *
strict(void)
{
	struct pol_errors	*errs = calloc(1, sizeof(*errs));
	struct pol_policy	*p;

	assert_non_null(errs);
	p = pol_load_default(errs);
	free(errs);
	assert_non_null(p);
	return p;
}

/* send_publish() : PUT path with body, in uneven pieces. */
static void
send_publish(struct harness *h, const char *path, const unsigned char *body,
    size_t len)
{
	char	 head[512];
	size_t	 off, n;

	snprintf(head, sizeof(head), "PUT %s HTTP/1.1\r\nHost: gate\r\n"
	    "Authorization: Bearer npm_secrettoken\r\nnpm-command: publish\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    path, len);
	h_sends(h, head);
	for (off = 0; off < len; off += n) {
		n = len - off < 777 ? len - off : 777;
		h_send(h, body + off, n);
		h_pump(h);
	}
}

static int
upstream_untouched(const struct harness *h)
{
	int	 fd = accept(h->up_listen, NULL, NULL);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return h->up == -1 && h->upreq.len == 0;
}

static void
test_deny_403(void **state)
{
	struct harness	 h;
	unsigned char	*body;
	size_t		 len;

	(void)state;
	body = slurp("env-stripe.json", &len);
	h_setup(&h, strict());
	send_publish(&h, "/@acme%2fenv", body, len);
	assert_true(h_run(&h, h_resp_complete, 10000));
	assert_int_equal(h_status(&h), 403);
	assert_non_null(strcasestr(h.resp.p, "content-type: application/json"));
	assert_true(strncmp(h_body(&h), "{\"error\": \"", 11) == 0);
	assert_non_null(strstr(h_body(&h), "dist/.env.local"));
	/* The decision's id, to hand to the security team. */
	{
		const char	*d = strstr(h_body(&h), "\\ndecision ");
		char		 id[64], want[96];

		assert_non_null(d);
		assert_int_equal(sscanf(d, "\\ndecision %63[^:]", id), 1);
		assert_non_null(strstr(d, ": quote it to your security team"));
		snprintf(want, sizeof(want), "(pubgate show %s)", id);
		assert_non_null(strstr(d, want));
	}
	/* The token never shows up in the answer. */
	assert_null(strstr(h.resp.p, "npm_secrettoken"));
	h_run(&h, upstream_untouched, 200);
	assert_true(upstream_untouched(&h));
	h_teardown(&h);
	free(body);
}

static size_t want_up_bytes;	/* for up_has_all(), set per test */

static int
up_head_done(const struct harness *h)
{
	return h->upreq.p != NULL && strstr(h->upreq.p, "\r\n\r\n") != NULL;
}

static int
up_has_all(const struct harness *h)
{
	return h->upreq.len >= want_up_bytes;
}

static void
test_allow_exact_bytes(void **state)
{
	struct harness	 h;
	unsigned char	*body;
	size_t		 len, hl;
	char		 cl[64];
	const char	*end;
	static const char created[] = "HTTP/1.1 201 Created\r\n"
	    "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n"
	    "{\"ok\":true}";

	(void)state;
	body = slurp("ok-plain.json", &len);
	h_setup(&h, strict());
	send_publish(&h, "/@acme%2fplain", body, len);
	assert_true(h_run(&h, up_head_done, 10000));
	assert_true(strncmp(h.upreq.p, "PUT /@acme%2fplain HTTP/1.1\r\n", 29)
	    == 0);
	assert_non_null(strstr(h.upreq.p,
	    "\r\nAuthorization: Bearer npm_secrettoken\r\n"));
	assert_non_null(strstr(h.upreq.p, "\r\nnpm-command: publish\r\n"));
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", len);
	assert_non_null(strstr(h.upreq.p, cl));
	end = strstr(h.upreq.p, "\r\n\r\n");
	hl = (size_t)(end - h.upreq.p) + 4;
	want_up_bytes = hl + len;
	assert_true(h_run(&h, up_has_all, 10000));
	assert_int_equal(h.upreq.len, hl + len);
	assert_memory_equal(h.upreq.p + hl, body, len);
	/* The upstream's answer comes back unchanged. */
	assert_int_equal(write(h.up, created, sizeof(created) - 1),
	    (ssize_t)(sizeof(created) - 1));
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 201);
	assert_string_equal(h_body(&h), "{\"ok\":true}");
	h_teardown(&h);
	free(body);
}

static void
test_malformed_body(void **state)
{
	struct harness	 h;
	static const char bad[] = "{\"name\": \"@acme/x\", \"_attachments\": {";

	(void)state;
	h_setup(&h, strict());
	send_publish(&h, "/@acme%2fx", (const unsigned char *)bad,
	    sizeof(bad) - 1);
	assert_true(h_run(&h, h_resp_complete, 10000));
	assert_true(h_status(&h) == 400 || h_status(&h) == 403);
	assert_true(strncmp(h_body(&h), "{\"error\": \"", 11) == 0);
	h_run(&h, upstream_untouched, 200);
	assert_true(upstream_untouched(&h));
	h_teardown(&h);
}

/* Other writes: the matching rule's `writes` decides; allowed ones go on. */
static void
test_other_writes(void **state)
{
	struct harness	 h;

	static const char nowrites[] = "version: 1\ndefault: deny\nrules:\n"
	    "  - match: \"@acme/*\"\n    publish: allow\n    writes: deny\n";
	struct pol_errors	*errs = calloc(1, sizeof(*errs));
	struct pol_policy	*p;

	(void)state;
	assert_non_null(errs);
	p = pol_load_buf("nowrites.yaml", nowrites, sizeof(nowrites) - 1, errs);
	free(errs);
	assert_non_null(p);
	h_setup(&h, p);
	h_sends(&h, "PUT /-/package/@acme%2fx/dist-tags/beta HTTP/1.1\r\n"
	    "Host: g\r\nContent-Type: application/json\r\n"
	    "Content-Length: 7\r\n\r\n\"1.0.0\"");
	assert_true(h_run(&h, h_resp_complete, 5000));
	assert_int_equal(h_status(&h), 403);
	assert_non_null(strstr(h_body(&h), "rule write.dist-tag"));
	h_run(&h, upstream_untouched, 200);
	assert_true(upstream_untouched(&h));
	h_teardown(&h);

	h_setup(&h, strict());
	h_sends(&h, "PUT /-/package/@acme%2fx/dist-tags/beta HTTP/1.1\r\n"
	    "Host: g\r\nContent-Type: application/json\r\n"
	    "Content-Length: 7\r\n\r\n\"1.0.0\"");
	want_up_bytes = 1;
	assert_true(h_run(&h, up_head_done, 5000));
	assert_true(strncmp(h.upreq.p,
	    "PUT /-/package/@acme%2fx/dist-tags/beta HTTP/1.1\r\n",
	    strlen("PUT /-/package/@acme%2fx/dist-tags/beta HTTP/1.1\r\n"))
	    == 0);
	h_teardown(&h);
}

/* send_head_body() : a request with the given extra header lines. */
static void
send_head_body(struct harness *h, const char *method, const char *path,
    const char *hdrs, const unsigned char *body, size_t len)
{
	char	 head[1024];

	snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: gate\r\n%s"
	    "Content-Length: %zu\r\n\r\n", method, path, hdrs, len);
	h_sends(h, head);
	if (len > 0)
		h_send(h, body, len);
	h_pump(h);
}

/* refused_untouched() : status and rule in the answer; nothing upstream. */
static void
refused_untouched(struct harness *h, int status, const char *rule)
{
	assert_true(h_run(h, h_resp_complete, 10000));
	if (h_status(h) != status)
		fail_msg("status %d, want %d: %s", h_status(h), status,
		    h_body(h));
	if (rule != NULL && strstr(h_body(h), rule) == NULL)
		fail_msg("no %s in %s", rule, h_body(h));
	if (strstr(h_body(h), "\\ndecision ") == NULL)
		fail_msg("no decision id in %s", h_body(h));
	h_run(h, upstream_untouched, 200);
	assert_true(upstream_untouched(h));
}

/*
 * A publish body under another charset or a content coding is refused
 * before the engine (the registry's body parser would decode what the
 * gate never read): utf-7, utf-7-imap, quoted, two Content-Types, gzip.
 */
static void
test_body_charset(void **state)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json; charset=utf-7\r\n",
		"Content-Type: application/json; charset=utf-7-imap\r\n",
		"Content-Type: application/json; charset=\"utf-7\"\r\n",
		"Content-Type: application/json\r\n"
		    "Content-Type: application/json; charset=utf-7\r\n",
		"Content-Type: text/plain\r\n",
		"",
	};
	static const char	 body[] = "{\"_id\":\"x\",\"name\":\"x\","
	    "\"+AF8-attachments\":{}}";
	struct harness		 h;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		h_setup(&h, strict());
		send_head_body(&h, "PUT", "/x", hdrs[i],
		    (const unsigned char *)body, sizeof(body) - 1);
		refused_untouched(&h, 415, "body.charset");
		h_teardown(&h);
	}
	h_setup(&h, strict());
	send_head_body(&h, "PUT", "/x", "Content-Type: application/json\r\n"
	    "Content-Encoding: gzip\r\n", (const unsigned char *)body,
	    sizeof(body) - 1);
	refused_untouched(&h, 415, "body.encoding");
	h_teardown(&h);
}

/*
 * Writes are classified by what they carry: a -rev PUT with a package is
 * judged by the engine (the fixture is a leak); a dist-tag write that
 * carries _attachments (escaped key too) is refused; unknown write routes
 * and the registry's "-" prefix are refused, recorded, never forwarded.
 */
static void
test_write_routes(void **state)
{
	static const char	 att[] = "{\"\\u005fattachments\":"
	    "{\"x-1.0.0.tgz\":{\"data\":\"H4sI\"}}}";
	static const char *const paths[][2] = {
		{ "PUT", "/-" }, { "PUT", "/-/" }, { "PUT", "/-/-rev/x" },
		{ "POST", "/leftpad" }, { "POST", "/-/anything" },
		{ "PATCH", "/leftpad" }, { "PUT", "/.hidden" },
	};
	struct harness		 h;
	unsigned char		*body;
	size_t			 len, i;

	(void)state;
	body = slurp("leak-map.json", &len);
	h_setup(&h, strict());
	send_head_body(&h, "PUT", "/@acme%2fcli/-rev/9-abc",
	    "Content-Type: application/json\r\n", body, len);
	refused_untouched(&h, 403, "sourcemap");
	h_teardown(&h);
	free(body);

	h_setup(&h, strict());
	send_head_body(&h, "PUT", "/-/package/@acme%2fx/dist-tags/beta",
	    "Content-Type: application/json\r\n",
	    (const unsigned char *)att, sizeof(att) - 1);
	refused_untouched(&h, 403, "write.attachments");
	h_teardown(&h);

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		h_setup(&h, strict());
		send_head_body(&h, paths[i][0], paths[i][1],
		    "Content-Type: application/json\r\n",
		    (const unsigned char *)att, sizeof(att) - 1);
		refused_untouched(&h, strcmp(paths[i][0], "PATCH") == 0 ?
		    405 : 400, "write.");
		h_teardown(&h);
	}
}

static void
test_who(void **state)
{
	unsigned char	 md[32];
	unsigned int	 mdlen;
	char		 want[17], got[17];
	int		 i;

	(void)state;
	EVP_Digest("npm_abc", 7, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 8; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	px_spool_who("Bearer npm_abc", 14, got);
	assert_string_equal(got, want);
	px_spool_who("bearer  npm_abc", 15, got);
	assert_string_equal(got, want);
	px_spool_who("", 0, got);
	assert_string_equal(got, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_403),
		cmocka_unit_test(test_allow_exact_bytes),
		cmocka_unit_test(test_malformed_body),
		cmocka_unit_test(test_other_writes),
		cmocka_unit_test(test_body_charset),
		cmocka_unit_test(test_write_routes),
		cmocka_unit_test(test_who),
	};

	px_log_init(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
