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
 *				 scope=@x, limit=N);
 *   GET /-/pubgate/decisions/<id>/tarball	 the tarball a refused
 *				 decision kept in quarantine.dir
 *				 (application/octet-stream; 404 when not
 *				 kept, or quarantine is off);
 *   /-/pubgate/waivers[/revoke]	 waivers (waivers.c).
 * Metrics and decisions need `Authorization: Bearer <token>` when
 * `admin.token_file` is set (compared in constant time; the token is read
 * at startup and on SIGHUP).  Counters live in each worker's metric slot
 * (metrics.c); a scrape sums every worker's: the whole gate's figures.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "cmd_log.h"
#include "log.h"
#include "proxy-int.h"
#include "store.h"

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
	PX_MADD(ctx->m->requests[k][c], 1);
	PX_MADD(ctx->m->bytes_in, conn->bytes_in);
	PX_MADD(ctx->m->bytes_out, conn->bytes_out);
}

void
px_admin_observe(struct px_ctx *ctx, uint64_t ms)
{
	double	 s = (double)ms / 1000.0;
	int	 i;

	for (i = 0; i < PX_HIST_BUCKETS; i++)
		if (s <= px_admin_buckets[i])
			PX_MADD(ctx->m->inspect_hist[i], 1);
	PX_MADD(ctx->m->inspect_ms_sum, ms);
	PX_MADD(ctx->m->inspect_count, 1);	/* last: see px_metrics_sum */
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

int
px_admin_authorized(struct px_conn *conn)
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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * qdecode() : percent-decodes s (n bytes; '+' is a space) into out (len
 * bytes, NUL-terminated).  -1 on a bad escape, a NUL or control byte, or
 * when it does not fit.
 */
static int
qdecode(const char *s, size_t n, char *out, size_t len)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f || o + 1 >= len)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int
px_admin_qnext(const char **q, size_t *ql, char *key, size_t klen, char *val,
    size_t vlen, char *err, size_t errlen)
{
	const char	*s, *eq;
	size_t		 n;

	while (*ql > 0 && **q == '&') {
		(*q)++;
		(*ql)--;
	}
	if (*ql == 0)
		return 0;
	s = *q;
	for (n = 0; n < *ql && s[n] != '&'; n++)
		;
	*q += n;
	*ql -= n;
	eq = memchr(s, '=', n);
	if (qdecode(s, eq != NULL ? (size_t)(eq - s) : n, key, klen) == -1 ||
	    key[0] == '\0') {
		snprintf(err, errlen, "malformed or over-long parameter name");
		return -1;
	}
	if (qdecode(eq != NULL ? eq + 1 : s + n, eq != NULL ?
	    n - (size_t)(eq - s) - 1 : 0, val, vlen) == -1) {
		snprintf(err, errlen, "parameter '%s': malformed or over-long "
		    "value (at most %zu bytes, percent-encoded UTF-8, no "
		    "control characters)", key, vlen - 1);
		return -1;
	}
	return 1;
}

/* digits() : s is 1 to 15 decimal digits; the value in *v. */
static int
digits(const char *s, int64_t *v)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (i == 0 || i > 15)
		return 0;
	*v = strtoll(s, NULL, 10);
	return 1;
}

int
px_admin_parse_dq(const char *q, size_t qlen, int ui, int64_t now_ms,
    struct px_admin_dq *dq, char *err, size_t errlen)
{
	static const char *const keys[] = { "blocked", "since", "package",
	    "scope", "limit", "id", "user", "format" };
	char		 key[32], val[PX_ADMIN_ARG_MAX];
	unsigned	 seen = 0;
	size_t		 i, nkeys = 8;
	int64_t		 v;
	int		 r;

	memset(dq, 0, sizeof(*dq));
	while ((r = px_admin_qnext(&q, &qlen, key, sizeof(key), val,
	    sizeof(val), err, errlen)) == 1) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(key, keys[i]) == 0 && (ui ? i != 7 : i != 6))
				break;
		if (i == nkeys) {
			snprintf(err, errlen, "unknown parameter '%.31s' "
			    "(known: blocked, since, package, scope, limit, "
			    "id, %s)", key, ui ? "user" : "format");
			return -1;
		}
		if (seen & (1u << i)) {
			snprintf(err, errlen, "parameter '%s' given twice",
			    key);
			return -1;
		}
		seen |= 1u << i;
		if (val[0] == '\0')
			continue;	/* an empty form field: no filter */
		switch (i) {
		case 0:
			if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)
				dq->q.blocked_only = 1;
			else if (strcmp(val, "0") != 0 &&
			    strcmp(val, "false") != 0)
				goto bad;
			dq->blocked = dq->q.blocked_only;
			break;
		case 1:
			if (digits(val, &v))
				dq->q.since_ms = v;
			else if (px_log_cmd_parse_since(val, now_ms,
			    &dq->q.since_ms) == -1) {
				snprintf(err, errlen, "bad since '%.64s': want "
				    "milliseconds since the epoch, a duration "
				    "(30m, 24h, 7d) or an ISO-8601 time "
				    "(2026-12-01T10:00:00Z)", val);
				return -1;
			}
			snprintf(dq->since, sizeof(dq->since), "%s", val);
			break;
		case 2:
			if (strlen(val) > PX_ADMIN_PKG_MAX)
				goto bad;
			snprintf(dq->package, sizeof(dq->package), "%s", val);
			dq->q.package_glob = dq->package;
			break;
		case 3:
			if (strlen(val) > PX_ADMIN_PKG_MAX || strchr(val, '/') ||
			    strcmp(val, "@") == 0 || strchr(val + 1, '@'))
				goto bad;
			snprintf(dq->scope, sizeof(dq->scope), "%s%s",
			    val[0] == '@' ? "" : "@", val);
			dq->q.scope = dq->scope;
			break;
		case 4:
			if (!digits(val, &v) || v < 1 || v > PX_ADMIN_LIMIT_MAX) {
				snprintf(err, errlen, "bad limit '%.32s': want a "
				    "whole number from 1 to %d", val,
				    PX_ADMIN_LIMIT_MAX);
				return -1;
			}
			dq->q.limit = (int)v;
			break;
		case 5:
			if (strlen(val) >= sizeof(dq->id) ||
			    strspn(val, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
			    "abcdefghjkmnpqrstvwxyz-") != strlen(val))
				goto bad;
			snprintf(dq->id, sizeof(dq->id), "%s", val);
			dq->q.request_id = dq->id;
			break;
		case 6:
			if (strlen(val) >= sizeof(dq->user) ||
			    strspn(val, "0123456789abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ:-._") != strlen(val))
				goto bad;
			snprintf(dq->user, sizeof(dq->user), "%s", val);
			break;
		case 7:
			if (strcmp(val, "cyclonedx") == 0)
				dq->cyclonedx = 1;
			else if (strcmp(val, "json") != 0) {
				snprintf(err, errlen, "bad format '%.32s': want "
				    "json or cyclonedx", val);
				return -1;
			}
			break;
		}
		continue;
bad:
		snprintf(err, errlen, "bad %s '%.64s'", key, val);
		return -1;
	}
	return r;
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
ops_metrics(const struct px_ctx *ctx, const struct px_metrics *sum, FILE *f)
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
	    "reload (SIGHUP) loaded everything in every worker: policy, "
	    "token, TLS, CA.\n"
	    "# TYPE pubgate_config_last_reload_successful gauge\n"
	    "pubgate_config_last_reload_successful %d\n"
	    "# HELP pubgate_config_last_reload_success_timestamp_seconds "
	    "Time of the last good reload, or of the start (the oldest of "
	    "the workers').\n"
	    "# TYPE pubgate_config_last_reload_success_timestamp_seconds "
	    "gauge\n"
	    "pubgate_config_last_reload_success_timestamp_seconds %.3f\n"
	    "# HELP pubgate_config_reloads_total Reloads (SIGHUP) by result "
	    "(the most any worker counted).\n"
	    "# TYPE pubgate_config_reloads_total counter\n"
	    "pubgate_config_reloads_total{result=\"ok\"} %llu\n"
	    "pubgate_config_reloads_total{result=\"fail\"} %llu\n",
	    PUBGATE_VERSION, ctx->policy_sha256[0] ? ctx->policy_sha256 :
	    "unknown", ctx->cfg->policy[0] ? "file" : "embedded",
	    ctx->policy ? pol_policy_nrules(ctx->policy) : 0,
	    (int)sum->reload_ok, (double)sum->reload_ok_ms / 1000.0,
	    (unsigned long long)sum->reloads[1],
	    (unsigned long long)sum->reloads[0]);
}

/*
 * process_metrics() : the standard process_* family of Prometheus
 * clients, for this process (worker 0, which answers the admin API, with
 * `workers:` > 1; pubgate_workers says how many serve): CPU from
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

/* store_metrics() : the decision store's state (none without a store). */
static void
store_metrics(struct px_ctx *ctx, const struct px_metrics *sum, FILE *f)
{
	if (ctx->audit == NULL)
		return;
	fprintf(f, "# HELP pubgate_store_up 1 when the decision store can "
	    "commit records now in every worker (publishes and writes are "
	    "answered 503 at 0).\n"
	    "# TYPE pubgate_store_up gauge\n"
	    "pubgate_store_up{backend=\"%s\"} %d\n"
	    "# HELP pubgate_store_errors_total Failed store operations and "
	    "lost or refused database connections.\n"
	    "# TYPE pubgate_store_errors_total counter\n"
	    "pubgate_store_errors_total %llu\n"
	    "# HELP pubgate_store_reconnects_total Connections to the "
	    "database made again after one was lost.\n"
	    "# TYPE pubgate_store_reconnects_total counter\n"
	    "pubgate_store_reconnects_total %llu\n"
	    "# HELP pubgate_store_pending Store operations queued or in "
	    "flight.\n"
	    "# TYPE pubgate_store_pending gauge\n"
	    "pubgate_store_pending %llu\n", px_store_backend(ctx->audit),
	    (int)sum->store_up, (unsigned long long)sum->store_errors,
	    (unsigned long long)sum->store_reconnects,
	    (unsigned long long)sum->store_pending);
}

static void
metrics(struct px_conn *conn, FILE *f)
{
	static const char *const kinds[] = { "read", "publish", "write" };
	static const char *const classes[] = { "other", "1xx", "2xx", "3xx",
	    "4xx", "5xx" };
	struct px_metrics	 sum, *m = &sum;
	int			 k, c, i;

	/* This worker's pulled figures are fresh; others' at most 1 s old. */
	px_metrics_pull(conn->ctx);
	px_metrics_sum(conn->ctx->mall, conn->ctx->mn, &sum);

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
	    (unsigned long long)m->publishes[0],
	    (unsigned long long)m->publishes[1]);
	fprintf(f, "# HELP pubgate_denials_by_rule_total Publish denials by "
	    "the first rule.\n# TYPE pubgate_denials_by_rule_total counter\n");
	for (i = 0; (uint64_t)i < m->nrules; i++)
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
	    "# TYPE pubgate_connections gauge\npubgate_connections %llu\n"
	    "# HELP pubgate_workers Serving processes running now.\n"
	    "# TYPE pubgate_workers gauge\npubgate_workers %llu\n"
	    "# HELP pubgate_cpu_seconds_total User and system CPU time of "
	    "every serving process, those restarted included (each "
	    "worker's at most 1 s old).\n"
	    "# TYPE pubgate_cpu_seconds_total counter\n"
	    "pubgate_cpu_seconds_total %.3f\n",
	    (unsigned long long)m->bytes_in, (unsigned long long)m->bytes_out,
	    (unsigned long long)m->upstream_errors,
	    (unsigned long long)m->conns, (unsigned long long)m->live,
	    (double)m->cpu_us / 1e6);
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
	px_resolve_metrics(conn->ctx, m, f);
	px_egress_metrics(conn->ctx, m, f);
	store_metrics(conn->ctx, m, f);
	px_quar_metrics(conn->ctx, m, f);
	px_whoami_metrics(conn->ctx, m, f);
	px_pcache_metrics(conn->ctx, m, f);
	px_hook_metrics(conn->ctx, f);
	ops_metrics(conn->ctx, m, f);
	process_metrics(conn->ctx, f);
}

void
px_admin_rule(struct px_ctx *ctx, const char *rule)
{
	px_metrics_rule(ctx->m, rule);
}

int64_t
px_admin_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
px_admin_json_error(struct px_conn *conn, int status, const char *text,
    const char *hdrs)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);
	char		 body[600];
	size_t		 off;

	off = (size_t)snprintf(body, sizeof(body), "{\"error\": \"");
	pol_json_escape(body, sizeof(body) - 4, &off, text);
	if (off > sizeof(body) - 5)
		off = sizeof(body) - 5;
	memcpy(body + off, "\"}\n", 4);
	off += 3;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%sConnection: %s\r\n\r\n", status,
	    px_http_reason(status), off, hdrs != NULL ? hdrs : "",
	    conn->keepalive ? "keep-alive" : "close");
	evbuffer_add(out, body, off);
	conn->status = status;
	conn->bytes_out = off;
	conn->resp_head_sent = 1;
}

/*
 * bad_param() : 400 for a query the admin API does not take; text is
 * the reason (it names the parameter; a value is cut at 64 bytes).
 */
static int
bad_param(struct px_conn *conn, const char *text)
{
	char	 msg[400];

	snprintf(msg, sizeof(msg), "admin API: %s", text);
	px_admin_json_error(conn, 400, msg, NULL);
	return px_conn_resp_done(conn);
}

/* no_params() : -1 with a 400 answered when the query string holds any. */
static int
no_params(struct px_conn *conn, const char *url, size_t plen, const char *q,
    size_t qlen)
{
	char	 key[32], val[PX_ADMIN_ARG_MAX], err[300], msg[400];
	int	 n;

	n = px_admin_qnext(&q, &qlen, key, sizeof(key), val, sizeof(val), err,
	    sizeof(err));
	if (n == 0)
		return 0;
	if (n == 1)
		snprintf(err, sizeof(err), "unknown parameter '%s' (%.*s "
		    "takes none)", key, (int)plen, url);
	snprintf(msg, sizeof(msg), "admin API: %s", err);
	px_admin_json_error(conn, 400, msg, NULL);
	return -1;
}

static void
aq_done_cb(void *arg, int n, const char *err)
{
	struct px_conn	*conn = arg;
	void		*qa = conn->aq_arg;
	void		(*free_arg)(void *) = conn->aq_free;
	int		(*done)(struct px_conn *, void *, int, const char *) =
			    conn->aq_done;

	conn->store_op = NULL;
	conn->aq_arg = NULL;
	conn->aq_free = NULL;
	conn->aq_done = NULL;
	px_conn_set_state(conn, conn->rec_state);
	(void)done(conn, qa, n, err);
	free_arg(qa);
}

/*
 * aq_wait() : conn waits for op (the store's answer comes to
 * aq_done_cb()), or, op NULL (refused at once, err), done now.
 */
static int
aq_wait(struct px_conn *conn, struct px_store_op *op, const char *err,
    void *arg, void (*free_arg)(void *),
    int (*done)(struct px_conn *, void *, int, const char *))
{
	int	r;

	if (op == NULL) {
		r = done(conn, arg, -1, err[0] != '\0' ? err : "query failed");
		free_arg(arg);
		return r;
	}
	conn->store_op = op;
	conn->aq_arg = arg;
	conn->aq_free = free_arg;
	conn->aq_done = done;
	conn->rec_state = conn->state;
	px_conn_set_state(conn, PX_CONN_RECORD);
	return 0;
}

int
px_admin_query(struct px_conn *conn, const struct px_store_query *q,
    int (*row)(const struct px_store_row *, void *), void *arg,
    void (*free_arg)(void *),
    int (*done)(struct px_conn *, void *, int, const char *))
{
	struct px_store_op	*op;
	char			 err[300];

	snprintf(err, sizeof(err), "no decision store");
	op = conn->ctx->audit == NULL ? NULL : px_store_query_async(
	    conn->ctx->audit, q, row, arg, aq_done_cb, conn, err, sizeof(err));
	return aq_wait(conn, op, err, arg, free_arg, done);
}

int
px_admin_wlist(struct px_conn *conn, int64_t id, int active_only, int limit,
    int (*row)(const struct px_store_waiver *, void *), void *arg,
    void (*free_arg)(void *),
    int (*done)(struct px_conn *, void *, int, const char *))
{
	struct px_store_op	*op;
	char			 err[300];

	snprintf(err, sizeof(err), "no decision store");
	op = conn->ctx->audit == NULL ? NULL : px_store_waivers_async(
	    conn->ctx->audit, id, active_only, limit, row, arg, aq_done_cb,
	    conn, err, sizeof(err));
	return aq_wait(conn, op, err, arg, free_arg, done);
}

/* The decisions endpoint's query: rows into a JSON array in memory. */
struct dq_json {
	struct px_store_json	 js;	/* first: &js is the query arg */
	char			*body;
	size_t			 len;
	int			 cyclonedx;	/* format=cyclonedx */
	int			 found;		/* 1 SBOM written, -1 no list */
};

/* cdx_row() : the one decision's CycloneDX SBOM (arg: the dq_json). */
static int
cdx_row(const struct px_store_row *r, void *arg)
{
	struct dq_json	*dj = arg;

	dj->found = px_store_row_cyclonedx(r, dj->js.out) == 0 ? 1 : -1;
	return 1;
}

static void
dq_json_free(void *arg)
{
	struct dq_json	*dj = arg;

	if (dj->js.out != NULL)
		fclose(dj->js.out);
	free(dj->body);
	free(dj);
}

/* dq_json_done() : the decisions query's answer.  -1 if freed. */
static int
dq_json_done(struct px_conn *conn, void *arg, int n, const char *qerr)
{
	struct dq_json	*dj = arg;
	char		 err[300], msg[400];
	int		 ok;

	err[0] = '\0';
	if (n == -1)
		snprintf(err, sizeof(err), "%s", qerr != NULL && *qerr ?
		    qerr : "query failed");
	else if (!dj->cyclonedx)
		px_store_json_end(&dj->js);
	ok = fclose(dj->js.out) == 0;
	dj->js.out = NULL;
	if (err[0] == '\0' && dj->cyclonedx && dj->found != 1) {
		px_admin_json_error(conn, 404, dj->found == 0 ? "admin API: no "
		    "such decision" : "admin API: that decision has no file "
		    "list (not a publish, or recorded before pubgate kept one)",
		    NULL);
		return px_conn_resp_done(conn);
	}
	if (err[0] == '\0' && (!ok || dj->len > PX_ADMIN_BODY_MAX))
		snprintf(err, sizeof(err), "answer over %d bytes: narrow the "
		    "query (limit, since)", PX_ADMIN_BODY_MAX);
	if (err[0] == '\0') {
		reply(conn, 200, dj->cyclonedx ? "application/vnd.cyclonedx+json;"
		    " version=1.5" : "application/json", dj->body, dj->len);
		return px_conn_resp_done(conn);
	}
	snprintf(msg, sizeof(msg), "admin API: the decision store failed: %s",
	    err);
	px_log_warnx("conn=%llu event=admin-query-failed error=\"%s\"",
	    (unsigned long long)conn->id, px_log_quote(err, sizeof(err), err));
	/* A store that is down is not the server's fault: 503. */
	px_admin_json_error(conn, px_store_err_status(err), msg, NULL);
	return px_conn_resp_done(conn);
}

/*
 * tarball_id() : the <id> of /-/pubgate/decisions/<id>/tarball (url of
 * plen bytes) into id, or 0 when url is not that path.
 */
static int
tarball_id(const char *url, size_t plen, char *id, size_t idlen)
{
	static const char	 pre[] = "/-/pubgate/decisions/";
	static const char	 suf[] = "/tarball";
	size_t			 n;

	if (plen <= sizeof(pre) - 1 + sizeof(suf) - 1 ||
	    memcmp(url, pre, sizeof(pre) - 1) != 0 ||
	    memcmp(url + plen - (sizeof(suf) - 1), suf, sizeof(suf) - 1) != 0)
		return 0;
	n = plen - (sizeof(pre) - 1) - (sizeof(suf) - 1);
	if (n >= idlen)
		n = idlen - 1;	/* too long: px_quar_id_ok() refuses it */
	memcpy(id, url + sizeof(pre) - 1, n);
	id[n] = '\0';
	return 1;
}

int
px_admin_tarball(struct px_conn *conn, const char *id)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);
	struct stat	 st;
	int		 fd;

	if (!px_quar_id_ok(id, strlen(id))) {
		px_admin_json_error(conn, 400, "admin API: not a decision id "
		    "(like 1a2b3c4d-17)", NULL);
		return px_conn_resp_done(conn);
	}
	if ((fd = px_quar_open_kept(conn->ctx, id, strlen(id), &st)) == -1) {
		px_admin_json_error(conn, 404, conn->ctx->quar == NULL ?
		    "admin API: quarantine is off (quarantine.dir in "
		    "pubgate.yaml): no tarball is kept" : "admin API: no "
		    "tarball kept for that decision (not refused, not a "
		    "publish, expired, evicted, or too big to keep)", NULL);
		return px_conn_resp_done(conn);
	}
	evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: %lld\r\n"
	    "Content-Disposition: attachment; filename=\"%s.tgz\"\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\nConnection: %s\r\n\r\n",
	    (long long)st.st_size, id, conn->keepalive ? "keep-alive" :
	    "close");
	conn->status = 200;
	conn->resp_head_sent = 1;
	if (conn->method == HTTP_HEAD || st.st_size == 0)
		close(fd);
	else if (evbuffer_add_file(out, fd, 0, st.st_size) == -1) {
		/* The head is out: the connection ends short. */
		close(fd);
		px_log_warnx("conn=%llu event=admin-tarball-failed id=%s",
		    (unsigned long long)conn->id, id);
		conn->keepalive = 0;
		conn->resp_close = 1;
	} else	/* sent from the file by the kernel, not read in here */
		conn->bytes_out = (uint64_t)st.st_size;
	return px_conn_resp_done(conn);
}

int
px_admin_answer(struct px_conn *conn)
{
	const char		*url = conn->req.buf + conn->req.url;
	size_t			 ulen = conn->req.url_len, plen, qlen = 0;
	const char		*q = NULL;
	char			*body = NULL, err[300];
	size_t			 blen = 0;
	FILE			*f;
	struct px_admin_dq	 dq;
	int			 n, decisions, tarball;
	char			 tid[PX_QUAR_ID_MAX + 2];

	memset(&dq, 0, sizeof(dq));
	for (plen = 0; plen < ulen && url[plen] != '?'; plen++)
		;
	if (plen < ulen) {
		q = url + plen + 1;
		qlen = ulen - plen - 1;
	}
	conn->kind = "admin";
	if (px_ui_path(url, plen))
		return px_ui_answer(conn);
#define PATH_IS(s) (plen == strlen(s) && memcmp(url, (s), plen) == 0)
	if (PATH_IS("/-/pubgate/waivers") ||
	    PATH_IS("/-/pubgate/waivers/revoke"))
		return px_admin_waivers_answer(conn,
		    PATH_IS("/-/pubgate/waivers/revoke"), q, qlen);
	decisions = PATH_IS("/-/pubgate/decisions");
	tarball = tarball_id(url, plen, tid, sizeof(tid));
	if (conn->method != HTTP_GET && conn->method != HTTP_HEAD) {
		px_admin_json_error(conn, 405, "admin API: GET only",
		    "Allow: GET, HEAD\r\n");
		return px_conn_resp_done(conn);
	}
	if (!PATH_IS("/-/pubgate/health") && !PATH_IS("/-/pubgate/metrics") &&
	    !decisions && !tarball) {
		px_admin_json_error(conn, 404, "admin API: /-/pubgate/health, "
		    "/-/pubgate/metrics, /-/pubgate/decisions, "
		    "/-/pubgate/decisions/<id>/tarball, "
		    "/-/pubgate/waivers, /-/pubgate/ui/",
		    NULL);
		return px_conn_resp_done(conn);
	}
	if (PATH_IS("/-/pubgate/health")) {
		struct px_store_stat	 st;
		char			 h[600], le[300];
		size_t			 off = 0;

		/* Health takes no parameter (nor does metrics). */
		if (q != NULL && no_params(conn, url, plen, q, qlen) == -1)
			return px_conn_resp_done(conn);
		/*
		 * 200 while this process serves: reads flow even when the
		 * store is down, so a balancer keeps it; "store" says whether
		 * publishes can be recorded (all gates of a fleet share it).
		 */
		memset(&st, 0, sizeof(st));
		if (conn->ctx->audit != NULL)
			px_store_stat(conn->ctx->audit, &st);
		else
			st.state = "none";
		le[0] = '\0';
		pol_json_escape(le, sizeof(le) - 1, &off, st.last_error);
		le[off < sizeof(le) ? off : sizeof(le) - 1] = '\0';
		n = snprintf(h, sizeof(h), "{\"status\": \"ok\", \"version\": "
		    "\"%s\", \"connections\": %zu, \"draining\": %s, "
		    "\"store\": {\"backend\": \"%s\", \"state\": \"%s\", "
		    "\"publishes\": \"%s\", \"pending\": %llu, "
		    "\"error\": \"%s\"}}\n",
		    PUBGATE_VERSION, conn->ctx->nconns,
		    conn->ctx->draining ? "true" : "false",
		    conn->ctx->audit != NULL ? px_store_backend(conn->ctx->audit) :
		    "none", st.state, st.up ? "accepted" : "refused (503)",
		    (unsigned long long)st.pending, le);
		if (n < 0 || (size_t)n >= sizeof(h))
			n = snprintf(h, sizeof(h), "{\"status\": \"ok\"}\n");
		reply(conn, 200, "application/json", h, (size_t)n);
		return px_conn_resp_done(conn);
	}
	if (!px_admin_authorized(conn)) {
		/* RFC 6750 3: a challenge; invalid_token when one was sent. */
		px_admin_json_error(conn, 401, "admin API: bearer token "
		    "required (Authorization: Bearer <admin.token_file>)",
		    px_http_head_get(&conn->req, "authorization", NULL) ==
		    NULL ? "WWW-Authenticate: Bearer realm=\"pubgate admin\"\r\n" :
		    "WWW-Authenticate: Bearer realm=\"pubgate admin\", "
		    "error=\"invalid_token\"\r\n");
		return px_conn_resp_done(conn);
	}
	if (!decisions && q != NULL && no_params(conn, url, plen, q,
	    qlen) == -1)
		return px_conn_resp_done(conn);
	if (tarball)
		return px_admin_tarball(conn, tid);
	if (decisions && px_admin_parse_dq(q, q != NULL ? qlen : 0, 0,
	    px_admin_wall_ms(), &dq, err, sizeof(err)) == -1)
		return bad_param(conn, err);
	if (decisions && dq.cyclonedx && dq.q.request_id == NULL)
		return bad_param(conn, "format=cyclonedx needs id=DECISION-ID "
		    "(an SBOM is of one decision)");
	if (decisions) {
		struct dq_json	*dj;

		if ((dj = calloc(1, sizeof(*dj))) == NULL ||
		    (dj->js.out = open_memstream(&dj->body, &dj->len)) ==
		    NULL) {
			free(dj);
			px_admin_json_error(conn, 500, "out of memory", NULL);
			return px_conn_resp_done(conn);
		}
		dj->cyclonedx = dq.cyclonedx;
		return px_admin_query(conn, &dq.q, dq.cyclonedx ? cdx_row :
		    px_store_json_row, &dj->js, dq_json_free, dq_json_done);
	}
	if ((f = open_memstream(&body, &blen)) == NULL) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	err[0] = '\0';
	metrics(conn, f);
	if (fclose(f) != 0 || blen > PX_ADMIN_BODY_MAX)
		snprintf(err, sizeof(err), "answer over %d bytes",
		    PX_ADMIN_BODY_MAX);
	if (err[0] == '\0')
		reply(conn, 200, "text/plain; version=0.0.4", body, blen);
	else {
		char	 msg[400];

		snprintf(msg, sizeof(msg), "admin API: %s", err);
		px_admin_json_error(conn, 500, msg, NULL);
	}
	free(body);
#undef PATH_IS
	return px_conn_resp_done(conn);
}
