/*
 * proxy/admin/admin.c: the admin API, served on its own listener (`admin.listen`,
 * loopback by default; plain http only) by the same connection code as
 * the gate, never forwarded upstream:
 *   GET /-/pubgate/health	 {"status": "ok", ...}, no token needed;
 *   GET /-/pubgate/metrics	 Prometheus text (`promtool check metrics`
 *				 clean): requests by kind and status class,
 *				 publishes by verdict, bytes, upstream errors,
 *				 inspection seconds histogram, build, policy
 *				 hash, last reload, process_* figures;
 *   GET /-/pubgate/decisions	 the decision log as JSON (the `pubgate log`
 *				 query: blocked=1, since=<ms>, package=<glob>,
 *				 scope=@x, limit=N).
 * Metrics and decisions need `Authorization: Bearer <token>` when
 * `admin.token_file` is set (compared in constant time; the token is read
 * at startup and on SIGHUP).  Counters live in struct px_ctx.
 */
#include <sys/resource.h>
#include <sys/time.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "store.h"
#include "log.h"
#include "proxy-int.h"

#define PX_ADMIN_BODY_MAX	(8 * 1024 * 1024)

const double px_admin_buckets[PX_HIST_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void
px_admin_count(struct px_conn *conn)
{
	struct px_ctx	*ctx = conn->ctx;
	int		 k, c;

	if (conn->admin)
		return;
	k = conn->route == PX_ROUTE_READ ? 0 : conn->route == PX_ROUTE_WRITE ?
	    2 : 1;
	c = conn->status / 100;
	if (c < 1 || c > 5)
		c = 0;
	ctx->m.requests[k][c]++;
	ctx->m.bytes_in += conn->bytes_in;
	ctx->m.bytes_out += conn->bytes_out;
}

void
px_admin_observe(struct px_ctx *ctx, uint64_t ms)
{
	double	 s = (double)ms / 1000.0;
	int	 i;

	for (i = 0; i < PX_HIST_BUCKETS; i++)
		if (s <= px_admin_buckets[i])
			ctx->m.inspect_hist[i]++;
	ctx->m.inspect_count++;
	ctx->m.inspect_ms_sum += ms;
}

int
px_admin_load_token(struct px_ctx *ctx)
{
	FILE	*f;
	char	 buf[sizeof(ctx->admin_token)];
	size_t	 n;

	if (ctx->cfg->admin_token_file[0] == '\0')
		return 0;
	if ((f = fopen(ctx->cfg->admin_token_file, "r")) == NULL) {
		px_log_warn("event=admin-token-unreadable file=%s",
		    ctx->cfg->admin_token_file);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n < 16) {
		px_log_warnx("event=admin-token-too-short file=%s min=16",
		    ctx->cfg->admin_token_file);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	OPENSSL_cleanse(ctx->admin_token, sizeof(ctx->admin_token));
	memcpy(ctx->admin_token, buf, n + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* authorized() : the request carries the admin token (if one is set). */
static int
authorized(struct px_conn *conn)
{
	const char	*v, *tok = conn->ctx->admin_token;
	size_t		 n, tl = strlen(tok);

	if (tl == 0)
		return 1;
	if ((v = px_http_head_get(&conn->req, "authorization", &n)) == NULL ||
	    n != 7 + tl || strncasecmp(v, "bearer ", 7) != 0)
		return 0;
	return CRYPTO_memcmp(v + 7, tok, tl) == 0;
}

/* query_arg() : copies the decoded value of key from the query string. */
static int
query_arg(const char *q, size_t qlen, const char *key, char *out, size_t len)
{
	size_t	 kl = strlen(key), i = 0, s, o;

	while (i < qlen) {
		s = i;
		while (i < qlen && q[i] != '&')
			i++;
		if (i - s > kl && memcmp(q + s, key, kl) == 0 &&
		    q[s + kl] == '=') {
			for (s += kl + 1, o = 0; s < i && o + 1 < len; s++) {
				char c = q[s];

				if (c == '+')
					c = ' ';
				else if (c == '%' && s + 2 < i) {
					char hx[3] = { q[s + 1], q[s + 2], 0 };

					c = (char)strtol(hx, NULL, 16);
					s += 2;
				}
				out[o++] = c;
			}
			out[o] = '\0';
			return 1;
		}
		i++;
	}
	return 0;
}

/* reply() : a complete response; the body is copied. */
static void
reply(struct px_conn *conn, int status, const char *ctype, const char *body,
    size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: %s\r\n\r\n", status, px_http_reason(status), ctype,
	    len, conn->keepalive ? "keep-alive" : "close");
	evbuffer_add(out, body, len);
	conn->status = status;
	conn->bytes_out = len;
	conn->resp_head_sent = 1;
}

/*
 * ops_metrics() : what runs: the build, the policy in force (its SHA-256
 * as a label), and the last SIGHUP reload (a start counts as a good one).
 */
static void
ops_metrics(const struct px_ctx *ctx, FILE *f)
{
	fprintf(f, "# HELP pubgate_build_info The running build (always 1).\n"
	    "# TYPE pubgate_build_info gauge\n"
	    "pubgate_build_info{version=\"%s\"} 1\n"
	    "# HELP pubgate_policy_info The policy in force (always 1): "
	    "SHA-256 of its text, file or embedded.\n"
	    "# TYPE pubgate_policy_info gauge\n"
	    "pubgate_policy_info{sha256=\"%s\",source=\"%s\"} 1\n"
	    "# HELP pubgate_policy_rules Rules of the policy in force.\n"
	    "# TYPE pubgate_policy_rules gauge\n"
	    "pubgate_policy_rules %zu\n"
	    "# HELP pubgate_config_last_reload_successful Whether the last "
	    "reload (SIGHUP) loaded everything: policy, token, TLS, CA.\n"
	    "# TYPE pubgate_config_last_reload_successful gauge\n"
	    "pubgate_config_last_reload_successful %d\n"
	    "# HELP pubgate_config_last_reload_success_timestamp_seconds "
	    "Time of the last good reload, or of the start.\n"
	    "# TYPE pubgate_config_last_reload_success_timestamp_seconds "
	    "gauge\n"
	    "pubgate_config_last_reload_success_timestamp_seconds %.3f\n"
	    "# HELP pubgate_config_reloads_total Reloads (SIGHUP) by result.\n"
	    "# TYPE pubgate_config_reloads_total counter\n"
	    "pubgate_config_reloads_total{result=\"ok\"} %llu\n"
	    "pubgate_config_reloads_total{result=\"fail\"} %llu\n",
	    PUBGATE_VERSION, ctx->policy_sha256[0] ? ctx->policy_sha256 :
	    "unknown", ctx->cfg->policy[0] ? "file" : "embedded",
	    ctx->policy ? pol_policy_nrules(ctx->policy) : 0,
	    ctx->reload_ok, (double)ctx->reload_ok_ms / 1000.0,
	    (unsigned long long)ctx->nreloads[1],
	    (unsigned long long)ctx->nreloads[0]);
}

/*
 * process_metrics() : the standard process_* family of Prometheus
 * clients, for this process (worker 0 with `workers:` > 1): CPU from
 * getrusage(), memory from /proc/self/statm, descriptors counted in
 * /proc/self/fd.  A /proc that cannot be read leaves its lines out.
 */
static void
process_metrics(const struct px_ctx *ctx, FILE *f)
{
	struct rusage	 ru;
	struct rlimit	 rl;
	unsigned long	 vsz, rss;
	long		 page = sysconf(_SC_PAGESIZE);
	FILE		*sf;
	DIR		*d;
	struct dirent	*de;
	size_t		 nfd = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(f, "# HELP process_cpu_seconds_total User and system "
		    "CPU time spent.\n"
		    "# TYPE process_cpu_seconds_total counter\n"
		    "process_cpu_seconds_total %.3f\n",
		    (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if ((sf = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(sf, "%lu %lu", &vsz, &rss) == 2 && page > 0)
			fprintf(f, "# HELP process_resident_memory_bytes "
			    "Resident memory size.\n"
			    "# TYPE process_resident_memory_bytes gauge\n"
			    "process_resident_memory_bytes %llu\n"
			    "# HELP process_virtual_memory_bytes Virtual "
			    "memory size.\n"
			    "# TYPE process_virtual_memory_bytes gauge\n"
			    "process_virtual_memory_bytes %llu\n",
			    (unsigned long long)rss * (unsigned long long)page,
			    (unsigned long long)vsz * (unsigned long long)page);
		fclose(sf);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				nfd++;
		closedir(d);
		/* Less the one opendir() held. */
		fprintf(f, "# HELP process_open_fds Open file descriptors.\n"
		    "# TYPE process_open_fds gauge\nprocess_open_fds %zu\n",
		    nfd > 0 ? nfd - 1 : 0);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fprintf(f, "# HELP process_max_fds Limit of open file "
		    "descriptors.\n# TYPE process_max_fds gauge\n"
		    "process_max_fds %llu\n", rl.rlim_cur == RLIM_INFINITY ?
		    0ULL : (unsigned long long)rl.rlim_cur);
	fprintf(f, "# HELP process_start_time_seconds Start time of the "
	    "process since the Unix epoch.\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %.3f\n",
	    (double)ctx->start_ms / 1000.0);
}

static void
metrics(struct px_conn *conn, FILE *f)
{
	static const char *const kinds[] = { "read", "publish", "write" };
	static const char *const classes[] = { "other", "1xx", "2xx", "3xx",
	    "4xx", "5xx" };
	struct px_metrics	*m = &conn->ctx->m;
	int			 k, c, i;

	fprintf(f, "# HELP pubgate_requests_total Requests answered, by "
	    "route kind and status class.\n"
	    "# TYPE pubgate_requests_total counter\n");
	for (k = 0; k < 3; k++)
		for (c = 0; c < 6; c++)
			fprintf(f, "pubgate_requests_total{kind=\"%s\","
			    "status=\"%s\"} %llu\n", kinds[k], classes[c],
			    (unsigned long long)m->requests[k][c]);
	fprintf(f, "# HELP pubgate_publishes_total Publish decisions by "
	    "verdict.\n# TYPE pubgate_publishes_total counter\n"
	    "pubgate_publishes_total{verdict=\"allow\"} %llu\n"
	    "pubgate_publishes_total{verdict=\"deny\"} %llu\n",
	    (unsigned long long)conn->ctx->npublish_allow,
	    (unsigned long long)conn->ctx->npublish_deny);
	fprintf(f, "# HELP pubgate_denials_by_rule_total Publish denials by "
	    "the first rule.\n# TYPE pubgate_denials_by_rule_total counter\n");
	for (i = 0; i < m->nrules; i++)
		fprintf(f, "pubgate_denials_by_rule_total{rule=\"%s\"} %llu\n",
		    m->rules[i].rule, (unsigned long long)m->rules[i].n);
	fprintf(f, "# HELP pubgate_received_bytes_total Bytes received from "
	    "clients (heads and bodies).\n"
	    "# TYPE pubgate_received_bytes_total counter\n"
	    "pubgate_received_bytes_total %llu\n"
	    "# HELP pubgate_sent_bytes_total Bytes sent to clients.\n"
	    "# TYPE pubgate_sent_bytes_total counter\n"
	    "pubgate_sent_bytes_total %llu\n"
	    "# HELP pubgate_upstream_errors_total Requests answered 502/504 "
	    "because the upstream failed.\n"
	    "# TYPE pubgate_upstream_errors_total counter\n"
	    "pubgate_upstream_errors_total %llu\n"
	    "# HELP pubgate_connections Client connections open now.\n"
	    "# TYPE pubgate_connections gauge\npubgate_connections %zu\n",
	    (unsigned long long)m->bytes_in, (unsigned long long)m->bytes_out,
	    (unsigned long long)m->upstream_errors, conn->ctx->nconns);
	fprintf(f, "# HELP pubgate_client_cap_refused_total Connections closed "
	    "at accept: their address held limits.client_conns.\n"
	    "# TYPE pubgate_client_cap_refused_total counter\n"
	    "pubgate_client_cap_refused_total %llu\n"
	    "# HELP pubgate_head_timeouts_total Requests whose head missed "
	    "timeouts.header.\n"
	    "# TYPE pubgate_head_timeouts_total counter\n"
	    "pubgate_head_timeouts_total %llu\n"
	    "# HELP pubgate_body_too_slow_total Publish or write bodies "
	    "under limits.body_min_rate.\n"
	    "# TYPE pubgate_body_too_slow_total counter\n"
	    "pubgate_body_too_slow_total %llu\n",
	    (unsigned long long)m->client_cap_refused,
	    (unsigned long long)m->head_timeouts,
	    (unsigned long long)m->body_too_slow);
	fprintf(f, "# HELP pubgate_inspection_seconds Time from a publish's "
	    "head to its verdict.\n"
	    "# TYPE pubgate_inspection_seconds histogram\n");
	for (i = 0; i < PX_HIST_BUCKETS; i++)
		fprintf(f, "pubgate_inspection_seconds_bucket{le=\"%g\"} "
		    "%llu\n", px_admin_buckets[i],
		    (unsigned long long)m->inspect_hist[i]);
	fprintf(f, "pubgate_inspection_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "pubgate_inspection_seconds_sum %.3f\n"
	    "pubgate_inspection_seconds_count %llu\n",
	    (unsigned long long)m->inspect_count,
	    (double)m->inspect_ms_sum / 1000.0,
	    (unsigned long long)m->inspect_count);
	px_resolve_metrics(conn->ctx, f);
	px_egress_metrics(conn->ctx, f);
	ops_metrics(conn->ctx, f);
	process_metrics(conn->ctx, f);
}

void
px_admin_rule(struct px_ctx *ctx, const char *rule)
{
	struct px_metrics	*m = &ctx->m;
	int			 i;

	if (rule == NULL || rule[0] == '\0')
		return;
	for (i = 0; i < m->nrules; i++)
		if (strcmp(m->rules[i].rule, rule) == 0) {
			m->rules[i].n++;
			return;
		}
	if (m->nrules >= PX_METRIC_RULES)
		return;	/* capped: the first rules seen are kept */
	snprintf(m->rules[m->nrules].rule, sizeof(m->rules[0].rule), "%s",
	    rule);
	for (i = 0; m->rules[m->nrules].rule[i] != '\0'; i++)
		if (m->rules[m->nrules].rule[i] == '"' ||
		    m->rules[m->nrules].rule[i] == '\\')
			m->rules[m->nrules].rule[i] = '_';
	m->rules[m->nrules++].n = 1;
}

int
px_admin_answer(struct px_conn *conn)
{
	const char		*url = conn->req.buf + conn->req.url;
	size_t			 ulen = conn->req.url_len, plen, qlen = 0;
	const char		*q = NULL;
	char			*body = NULL, err[256], arg[256], glob[256],
				 scope[256];
	size_t			 blen = 0;
	FILE			*f;
	struct px_store_query	 aq;
	int			 n;

	for (plen = 0; plen < ulen && url[plen] != '?'; plen++)
		;
	if (plen < ulen) {
		q = url + plen + 1;
		qlen = ulen - plen - 1;
	}
	conn->kind = "admin";
#define PATH_IS(s) (plen == strlen(s) && memcmp(url, (s), plen) == 0)
	if (conn->method != HTTP_GET && conn->method != HTTP_HEAD) {
		px_http_error(bufferevent_get_output(conn->client), 405,
		    "admin API: GET only", conn->keepalive);
		conn->status = 405;
		conn->resp_head_sent = 1;
	} else if (PATH_IS("/-/pubgate/health")) {
		char h[200];

		n = snprintf(h, sizeof(h), "{\"status\": \"ok\", \"version\": "
		    "\"%s\", \"connections\": %zu, \"draining\": %s}\n",
		    PUBGATE_VERSION, conn->ctx->nconns,
		    conn->ctx->draining ? "true" : "false");
		reply(conn, 200, "application/json", h, (size_t)n);
	} else if (!PATH_IS("/-/pubgate/metrics") &&
	    !PATH_IS("/-/pubgate/decisions")) {
		px_http_error(bufferevent_get_output(conn->client), 404,
		    "admin API: /-/pubgate/health, /-/pubgate/metrics, "
		    "/-/pubgate/decisions", conn->keepalive);
		conn->status = 404;
		conn->resp_head_sent = 1;
	} else if (!authorized(conn)) {
		px_http_error(bufferevent_get_output(conn->client), 401,
		    "admin API: bearer token required", conn->keepalive);
		conn->status = 401;
		conn->resp_head_sent = 1;
	} else if ((f = open_memstream(&body, &blen)) == NULL) {
		px_http_error(bufferevent_get_output(conn->client), 500,
		    "out of memory", conn->keepalive);
		conn->status = 500;
		conn->resp_head_sent = 1;
	} else {
		int	 ok = 1;

		if (PATH_IS("/-/pubgate/metrics"))
			metrics(conn, f);
		else {
			memset(&aq, 0, sizeof(aq));
			if (q != NULL && query_arg(q, qlen, "blocked", arg,
			    sizeof(arg)))
				aq.blocked_only = strcmp(arg, "0") != 0;
			if (q != NULL && query_arg(q, qlen, "since", arg,
			    sizeof(arg)))
				aq.since_ms = strtoll(arg, NULL, 10);
			if (q != NULL && query_arg(q, qlen, "limit", arg,
			    sizeof(arg)))
				aq.limit = atoi(arg);
			if (q != NULL && query_arg(q, qlen, "package", glob,
			    sizeof(glob)))
				aq.package_glob = glob;
			if (q != NULL && query_arg(q, qlen, "scope", scope,
			    sizeof(scope)))
				aq.scope = scope;
			if (conn->ctx->audit == NULL ||
			    px_store_query_json(conn->ctx->audit, &aq, f, err,
			    sizeof(err)) == -1)
				ok = 0;
		}
		if (fclose(f) != 0 || blen > PX_ADMIN_BODY_MAX)
			ok = 0;
		if (ok)
			reply(conn, 200, PATH_IS("/-/pubgate/metrics") ?
			    "text/plain; version=0.0.4" : "application/json",
			    body, blen);
		else {
			px_http_error(bufferevent_get_output(conn->client),
			    400, "admin API: query failed", conn->keepalive);
			conn->status = 400;
			conn->resp_head_sent = 1;
		}
		free(body);
	}
#undef PATH_IS
	return px_conn_resp_done(conn);
}
