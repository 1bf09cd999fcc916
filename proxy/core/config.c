/*
 * proxy/core/config.c: the server settings of `pubgate serve` (pubgate.yaml),
 * kept apart from the org policy (policy/, policy.yaml).
 *
 * The YAML is loaded with libyaml into a document, walked once into a
 * struct px_cfg that starts out holding the defaults, then command-line
 * flags override it (px_cfg_apply) and the result is validated.  Every
 * error is collected as "file:line:col: msg"; unknown keys are errors,
 * so a typo never silently changes how the gate behaves.  The keys, their
 * defaults and caps are documented in README.md "## Server settings".
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "proxy-int.h"

struct cfg_walk {
	struct px_cfg		*cfg;
	struct px_cfg_errs	*errs;
	const char		*name;
	yaml_document_t		*doc;
};

void
px_cfg_err(struct px_cfg_errs *errs, const char *fmt, ...)
{
	va_list	 ap;

	if (errs->count < PX_CFG_ERRORS_MAX) {
		va_start(ap, fmt);
		vsnprintf(errs->msg[errs->count], PX_CFG_ERRMSG_MAX, fmt, ap);
		va_end(ap);
	}
	errs->count++;
}

/* node_err() : an error at node's position. */
static void __attribute__((format(printf, 3, 4)))
node_err(struct cfg_walk *w, yaml_node_t *n, const char *fmt, ...)
{
	char	 msg[PX_CFG_ERRMSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	px_cfg_err(w->errs, "%s:%zu:%zu: %s", w->name,
	    n->start_mark.line + 1, n->start_mark.column + 1, msg);
}

/* at() : records n's position as where a setting came from. */
static void
at(struct cfg_walk *w, yaml_node_t *n, char *dst)
{
	snprintf(dst, PX_AT_MAX, "%s:%zu:%zu", w->name,
	    n->start_mark.line + 1, n->start_mark.column + 1);
}

/* set_at() : a setting given by a flag or left at its default. */
static void
set_at(char *dst, const char *what)
{
	snprintf(dst, PX_AT_MAX, "%s", what);
}

int
px_cfg_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

void
px_cfg_defaults(struct px_cfg *cfg)
{
	size_t		 i;

	const char	*tmp;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->upstream, sizeof(cfg->upstream), "%s",
	    "https://registry.npmjs.org");
	cfg->connect_ms = PX_CONNECT_TIMEOUT_MS;
	cfg->idle_ms = PX_IDLE_TIMEOUT_MS;
	cfg->request_ms = PX_REQUEST_TIMEOUT_MS;
	cfg->header_ms = PX_HEADER_TIMEOUT_MS;
	cfg->client_conns = PX_CLIENT_CONNS_DEFAULT;
	cfg->body_min_rate = PX_BODY_MIN_RATE_DEFAULT;
	cfg->rate_window_ms = PX_RATE_WINDOW_MS;
	cfg->header_bytes = PX_HEAD_BYTES_DEFAULT;
	cfg->headers = PX_HEADERS_DEFAULT;
	cfg->body = PX_BODY_DEFAULT;
	tmp = getenv("TMPDIR");
	snprintf(cfg->spool_dir, sizeof(cfg->spool_dir), "%s",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	snprintf(cfg->db, sizeof(cfg->db), "%s", "pubgate.db");
	snprintf(cfg->audit_log, sizeof(cfg->audit_log), "%s", "-");
	cfg->workers = px_cfg_workers_auto();	/* issue 9: one per core */
	cfg->dns_min_ttl_ms = PX_DNS_MIN_TTL_MS;
	cfg->dns_max_ttl_ms = PX_DNS_MAX_TTL_MS;
	cfg->pool_max = PX_POOL_DEFAULT;
	cfg->pool_idle_ms = PX_POOL_IDLE_MS;
	for (i = 0; i < PX_LISTEN_MAX; i++)
		set_at(cfg->at.listen[i], "(default)");
	set_at(cfg->at.upstream, "(default)");
	set_at(cfg->at.upstream_ca, "(default)");
	set_at(cfg->at.policy, "(default)");
	set_at(cfg->at.public_url, "(default)");
	set_at(cfg->at.spool_dir, "(default: $TMPDIR)");
	set_at(cfg->at.cache_dir, "(default)");
	set_at(cfg->at.db, "(default)");
	set_at(cfg->at.audit_log, "(default)");
	set_at(cfg->at.admin, "(default)");
	set_at(cfg->at.token_file, "(default)");
	set_at(cfg->at.quarantine, "(default)");
	cfg->quar.keep_ms = PX_QUAR_KEEP_DEFAULT_MS;
	cfg->quar.max_bytes = PX_QUAR_MAX_DEFAULT;
	cfg->whoami.ttl_ms = PX_WHOAMI_TTL_DEFAULT_MS;
	cfg->whoami.timeout_ms = PX_WHOAMI_TIMEOUT_DEFAULT_MS;
	cfg->whoami.max = PX_WHOAMI_MAX_DEFAULT;
	cfg->pcache.max_bytes = PX_PC_MAX_DEFAULT;
	cfg->pcache.entry_max = PX_PC_ENTRY_DEFAULT;
}

int
px_cfg_parse_url(const char *s, struct px_url *u, const char **why)
{
	const char	*p, *end, *hend;
	size_t		 hl;
	long		 port;
	char		*ep;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = 1;
		p = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		p = s + 7;
	} else {
		*why = "URL must start with http:// or https://";
		return -1;
	}
	end = p + strcspn(p, "/?#");
	if (*end == '?' || *end == '#') {
		*why = "URL must not have a query or fragment";
		return -1;
	}
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (hend == NULL) {
			*why = "unterminated [IPv6] host";
			return -1;
		}
		hl = (size_t)(hend - p - 1);
		if (hl == 0 || hl >= sizeof(u->host))
			goto badhost;
		memcpy(u->host, p + 1, hl);
		p = hend + 1;
	} else {
		hend = p + strcspn(p, ":/");
		if (hend > end)
			hend = end;
		hl = (size_t)(hend - p);
		if (hl == 0 || hl >= sizeof(u->host))
			goto badhost;
		memcpy(u->host, p, hl);
		p = hend;
	}
	for (hl = 0; u->host[hl] != '\0'; hl++) {
		unsigned char c = (unsigned char)u->host[hl];

		if (!isalnum(c) && c != '.' && c != '-' && c != ':' &&
		    c != '_')
			goto badhost;
	}
	if (*p == ':') {
		errno = 0;
		port = strtol(p + 1, &ep, 10);
		if (ep == p + 1 || ep != end || port < 1 || port > 65535 ||
		    errno != 0) {
			*why = "bad port";
			return -1;
		}
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else if (p != end) {
		goto badhost;
	} else
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	if (strchr(u->host, ':') != NULL)
		snprintf(u->hostport, sizeof(u->hostport), "[%s]", u->host);
	else
		snprintf(u->hostport, sizeof(u->hostport), "%s", u->host);
	if (strcmp(u->port, u->tls ? "443" : "80") != 0) {
		hl = strlen(u->hostport);
		snprintf(u->hostport + hl, sizeof(u->hostport) - hl, ":%s",
		    u->port);
	}
	hl = strlen(end);
	while (hl > 0 && end[hl - 1] == '/')
		hl--;
	if (hl >= sizeof(u->prefix)) {
		*why = "URL path too long";
		return -1;
	}
	memcpy(u->prefix, end, hl);
	u->prefix[hl] = '\0';
	return 0;
badhost:
	*why = "bad host";
	return -1;
}

/* scalar() : the scalar text of n, or NULL with an error. */
static const char *
scalar(struct cfg_walk *w, yaml_node_t *n, const char *key)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		if (n != NULL)
			node_err(w, n, "%s: expected a scalar", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* get_str() : copies a scalar into dst (len bytes); 0 or -1. */
static int
get_str(struct cfg_walk *w, yaml_node_t *n, const char *key, char *dst,
    size_t len)
{
	const char	*s;

	if ((s = scalar(w, n, key)) == NULL)
		return -1;
	if (strlen(s) >= len) {
		node_err(w, n, "%s: value too long (max %zu bytes)", key,
		    len - 1);
		return -1;
	}
	snprintf(dst, len, "%s", s);
	return 0;
}

/*
 * px_cfg_path() : a file path setting: "$CREDENTIALS_DIRECTORY/name" (or
 * "${CREDENTIALS_DIRECTORY}/name") names a credential systemd passed with
 * LoadCredential=, under the directory that variable holds; any other
 * text is taken as written.  0, or -1 and why.
 */
int
px_cfg_path(const char *s, char *dst, size_t len, const char **why)
{
	static const char *const pfx[] = { "$CREDENTIALS_DIRECTORY/",
	    "${CREDENTIALS_DIRECTORY}/" };
	const char	*dir;
	size_t		 i, pl;

	for (i = 0; i < 2; i++) {
		pl = strlen(pfx[i]);
		if (strncmp(s, pfx[i], pl) != 0)
			continue;
		if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL ||
		    dir[0] != '/') {
			*why = "$CREDENTIALS_DIRECTORY is not set (systemd sets "
			    "it for a unit with LoadCredential=)";
			return -1;
		}
		if ((size_t)snprintf(dst, len, "%s/%s", dir, s + pl) >= len) {
			*why = "value too long";
			return -1;
		}
		return 0;
	}
	if ((size_t)snprintf(dst, len, "%s", s) >= len) {
		*why = "value too long";
		return -1;
	}
	return 0;
}

/* get_path() : a file path setting into dst (px_cfg_path()); 0 or -1. */
static int
get_path(struct cfg_walk *w, yaml_node_t *n, const char *key, char *dst,
    size_t len)
{
	const char	*s, *why;

	if ((s = scalar(w, n, key)) == NULL)
		return -1;
	if (px_cfg_path(s, dst, len, &why) == -1) {
		node_err(w, n, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* get_bool() : true or false (YAML 1.2's spelling only); 0 or -1. */
static int
get_bool(struct cfg_walk *w, yaml_node_t *n, const char *key, int *out)
{
	const char	*s;

	if ((s = scalar(w, n, key)) == NULL)
		return -1;
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else {
		node_err(w, n, "%s: expected true or false", key);
		return -1;
	}
	return 0;
}

/*
 * get_num() : an unsigned number with an optional unit.  For sizes
 * (is_time 0): KB, MB, GB (powers of 1024; KiB, MiB, GiB accepted).  For
 * durations (is_time 1) the value is returned in milliseconds: ms, s, m, h;
 * a bare number is seconds.  The result must lie within [min, max].
 */
static int
get_num(struct cfg_walk *w, yaml_node_t *n, const char *key, int is_time,
    uint64_t min, uint64_t max, uint64_t *out)
{
	const char		*s;
	char			*ep;
	unsigned long long	 v;
	uint64_t		 mul = 1;

	if ((s = scalar(w, n, key)) == NULL)
		return -1;
	if (!isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (errno != 0)
		goto bad;
	while (*ep == ' ')
		ep++;
	if (is_time) {
		mul = 1000;
		if (*ep == '\0' || strcmp(ep, "s") == 0)
			mul = 1000;
		else if (strcmp(ep, "ms") == 0)
			mul = 1;
		else if (strcmp(ep, "m") == 0)
			mul = 60000;
		else if (strcmp(ep, "h") == 0)
			mul = 3600000;
		else if (strcmp(ep, "d") == 0)
			mul = 24ULL * 3600000;
		else
			goto bad;
	} else {
		if (*ep == '\0' || strcmp(ep, "B") == 0)
			mul = 1;
		else if (strcmp(ep, "KB") == 0 || strcmp(ep, "KiB") == 0 ||
		    strcmp(ep, "k") == 0)
			mul = 1024;
		else if (strcmp(ep, "MB") == 0 || strcmp(ep, "MiB") == 0 ||
		    strcmp(ep, "M") == 0)
			mul = 1024 * 1024;
		else if (strcmp(ep, "GB") == 0 || strcmp(ep, "GiB") == 0 ||
		    strcmp(ep, "G") == 0)
			mul = 1024ULL * 1024 * 1024;
		else
			goto bad;
	}
	if (v > max / mul || v * mul < min || v * mul > max) {
		node_err(w, n, "%s: %s out of range", key, s);
		return -1;
	}
	*out = v * mul;
	return 0;
bad:
	node_err(w, n, "%s: \"%s\" is not a %s", key, s,
	    is_time ? "duration (30s, 500ms, 5m, 2h, 30d)" :
	    "size (4096, 64KB, 100MB, 10GB)");
	return -1;
}

/* is_map() : whether n is a mapping (an error if it is another node). */
static int
is_map(struct cfg_walk *w, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE) {
		if (n != NULL)
			node_err(w, n, "%s: expected a mapping", what);
		return 0;
	}
	return 1;
}

#define FOREACH_PAIR(w, n, pair)					\
	for ((pair) = (n)->data.mapping.pairs.start;			\
	    (pair) < (n)->data.mapping.pairs.top; (pair)++)

static void
walk_listen_one(struct cfg_walk *w, yaml_node_t *n)
{
	struct px_listen_cfg	*l;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	int			 have_url = 0;

	if (!is_map(w, n, "listen[]"))
		return;
	if (w->cfg->nlisten >= PX_LISTEN_MAX) {
		node_err(w, n, "listen: at most %d listeners", PX_LISTEN_MAX);
		return;
	}
	l = &w->cfg->listen[w->cfg->nlisten++];
	memset(l, 0, sizeof(*l));
	at(w, n, w->cfg->at.listen[w->cfg->nlisten - 1]);
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "listen key")) == NULL)
			continue;
		if (strcmp(key, "url") == 0) {
			/* Parsed by px_cfg_apply(), which names v's place. */
			if (get_str(w, v, "listen.url", l->url,
			    sizeof(l->url)) == 0) {
				have_url = 1;
				at(w, v, w->cfg->at.listen[w->cfg->nlisten - 1]);
			}
		} else if (strcmp(key, "cert") == 0)
			get_path(w, v, "listen.cert", l->cert, sizeof(l->cert));
		else if (strcmp(key, "key") == 0)
			get_path(w, v, "listen.key", l->key, sizeof(l->key));
		else if (strcmp(key, "chain") == 0)
			get_path(w, v, "listen.chain", l->chain,
			    sizeof(l->chain));
		else if (strcmp(key, "proxy_protocol") == 0)
			get_bool(w, v, "listen.proxy_protocol",
			    &l->proxy_protocol);
		else
			node_err(w, k, "listen: unknown key \"%s\"", key);
	}
	if (!have_url)
		node_err(w, n, "listen: \"url\" is required");
}

static void
walk_listen(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_item_t	*it;

	if (n->type == YAML_MAPPING_NODE) {
		walk_listen_one(w, n);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		node_err(w, n,
		    "listen: expected a list of {url, cert, key, chain}");
		return;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++)
		walk_listen_one(w, yaml_document_get_node(w->doc, *it));
}

/* walk_trusted() : trusted_proxies, a list of addresses or CIDR blocks. */
static void
walk_trusted(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_item_t	*it;
	yaml_node_t		*v;
	const char		*s, *why;

	if (n->type != YAML_SEQUENCE_NODE) {
		node_err(w, n, "trusted_proxies: expected a list of addresses "
		    "or CIDR blocks");
		return;
	}
	w->cfg->ntrusted = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		v = yaml_document_get_node(w->doc, *it);
		if ((s = scalar(w, v, "trusted_proxies[]")) == NULL)
			continue;
		if (w->cfg->ntrusted >= PX_TRUSTED_MAX) {
			node_err(w, v, "trusted_proxies: at most %d entries",
			    PX_TRUSTED_MAX);
			return;
		}
		if (px_cidr_parse(s, &w->cfg->trusted[w->cfg->ntrusted],
		    &why) == -1)
			node_err(w, v, "trusted_proxies: \"%s\": %s", s, why);
		else
			w->cfg->ntrusted++;
	}
}

static void
walk_timeouts(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 ms;

	if (!is_map(w, n, "timeouts"))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "timeouts key")) == NULL)
			continue;
		if (strcmp(key, "connect") != 0 && strcmp(key, "idle") != 0 &&
		    strcmp(key, "request") != 0 && strcmp(key, "header") != 0) {
			node_err(w, k, "timeouts: unknown key \"%s\"", key);
			continue;
		}
		if (get_num(w, v, key, 1, 100, 24ULL * 3600 * 1000, &ms) == -1)
			continue;
		if (strcmp(key, "connect") == 0)
			w->cfg->connect_ms = (unsigned)ms;
		else if (strcmp(key, "idle") == 0)
			w->cfg->idle_ms = (unsigned)ms;
		else if (strcmp(key, "header") == 0)
			w->cfg->header_ms = (unsigned)ms;
		else
			w->cfg->request_ms = (unsigned)ms;
	}
}

static void
walk_limits(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;

	if (!is_map(w, n, "limits"))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "limits key")) == NULL)
			continue;
		if (strcmp(key, "header_bytes") == 0) {
			if (get_num(w, v, key, 0, 1024, PX_HEAD_BYTES_MAX,
			    &x) == 0)
				w->cfg->header_bytes = (size_t)x;
		} else if (strcmp(key, "headers") == 0) {
			if (get_num(w, v, key, 0, 8, PX_HEADERS_MAX, &x) == 0)
				w->cfg->headers = (size_t)x;
		} else if (strcmp(key, "body") == 0) {
			if (get_num(w, v, key, 0, 1024, PX_BODY_MAX, &x) == 0)
				w->cfg->body = x;
		} else if (strcmp(key, "client_conns") == 0) {
			/* 0: off (behind a load balancer, until the client
			 * address is taken from it). */
			if (get_num(w, v, key, 0, 0, PX_CONN_MAX, &x) == 0)
				w->cfg->client_conns = (unsigned)x;
		} else if (strcmp(key, "body_min_rate") == 0) {
			/* Bytes a second; 0: off. */
			if (get_num(w, v, key, 0, 0, 1024ULL * 1024 * 1024,
			    &x) == 0)
				w->cfg->body_min_rate = x;
		} else
			node_err(w, k, "limits: unknown key \"%s\"", key);
	}
}

/* walk_dns() : how long the upstream's addresses are cached (resolve.c). */
static void
walk_dns(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 ms;

	if (!is_map(w, n, "dns"))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "dns key")) == NULL)
			continue;
		if (strcmp(key, "min_ttl") != 0 && strcmp(key, "max_ttl") != 0) {
			node_err(w, k, "dns: unknown key \"%s\"", key);
			continue;
		}
		if (get_num(w, v, key, 1, 1000, PX_DNS_TTL_CAP_MS, &ms) == -1)
			continue;
		if (strcmp(key, "min_ttl") == 0)
			w->cfg->dns_min_ttl_ms = (unsigned)ms;
		else
			w->cfg->dns_max_ttl_ms = (unsigned)ms;
	}
	if (w->cfg->dns_min_ttl_ms > w->cfg->dns_max_ttl_ms)
		node_err(w, n, "dns: min_ttl is above max_ttl");
}

/* walk_pool() : the idle upstream connections kept (fwd.c). */
static void
walk_pool(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;

	if (!is_map(w, n, "pool"))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "pool key")) == NULL)
			continue;
		if (strcmp(key, "max_idle") == 0) {
			if (get_num(w, v, key, 0, 0, PX_POOL_MAX, &x) == 0)
				w->cfg->pool_max = (size_t)x;
		} else if (strcmp(key, "idle_timeout") == 0) {
			if (get_num(w, v, key, 1, 100, PX_POOL_IDLE_MAX_MS,
			    &x) == 0)
				w->cfg->pool_idle_ms = (unsigned)x;
		} else
			node_err(w, k, "pool: unknown key \"%s\"", key);
	}
}

static void
walk_admin(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;

	if (!is_map(w, n, "admin"))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "admin key")) == NULL)
			continue;
		if (strcmp(key, "listen") == 0) {
			get_str(w, v, "admin.listen", w->cfg->admin_listen,
			    sizeof(w->cfg->admin_listen));
			at(w, v, w->cfg->at.admin);
		} else if (strcmp(key, "token_file") == 0) {
			get_path(w, v, "admin.token_file",
			    w->cfg->admin_token_file,
			    sizeof(w->cfg->admin_token_file));
			at(w, v, w->cfg->at.token_file);
		}
		else
			node_err(w, k, "admin: unknown key \"%s\"", key);
	}
}

/*
 * walk_quarantine() : where blocked tarballs are kept (quarantine.c):
 * {dir, keep, max}; dir is required (an absolute path, checked by
 * px_cfg_apply()).
 */
static void
walk_quarantine(struct cfg_walk *w, yaml_node_t *n)
{
	struct px_quar_cfg	*qc = &w->cfg->quar;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;
	int			 have_dir = 0;

	if (!is_map(w, n, "quarantine"))
		return;
	at(w, n, w->cfg->at.quarantine);
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "quarantine key")) == NULL)
			continue;
		if (strcmp(key, "dir") == 0) {
			if (get_str(w, v, "quarantine.dir", qc->dir,
			    sizeof(qc->dir)) == 0) {
				have_dir = 1;
				at(w, v, w->cfg->at.quarantine);
				if (qc->dir[0] != '/') {
					node_err(w, v, "quarantine.dir: \"%s\" "
					    "must be an absolute path", qc->dir);
					qc->dir[0] = '\0';
				}
			}
		} else if (strcmp(key, "keep") == 0) {
			if (get_num(w, v, "quarantine.keep", 1, 1000,
			    PX_QUAR_KEEP_MAX_MS, &x) == 0)
				qc->keep_ms = x;
		} else if (strcmp(key, "max") == 0) {
			if (get_num(w, v, "quarantine.max", 0, 1024,
			    PX_QUAR_MAX_MAX, &x) == 0)
				qc->max_bytes = x;
		} else
			node_err(w, k, "quarantine: unknown key \"%s\" (dir, "
			    "keep, max)", key);
	}
	if (!have_dir && n->type == YAML_MAPPING_NODE)
		node_err(w, n, "quarantine: \"dir\" is required");
}

/* hook_name_ok() : a webhook's name: 1-63 bytes of [A-Za-z0-9._-]. */
static int
hook_name_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return i > 0 && i <= PX_HOOK_NAME_MAX;
}

/* walk_hook_events() : a webhook's events, a list of block/waiver/monitor. */
static void
walk_hook_events(struct cfg_walk *w, yaml_node_t *n, struct px_hook_cfg *h)
{
	yaml_node_item_t	*it;
	yaml_node_t		*v;
	const char		*s;

	if (n->type != YAML_SEQUENCE_NODE) {
		node_err(w, n, "webhooks.events: expected a list of block, "
		    "waiver, monitor");
		return;
	}
	h->events = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++) {
		v = yaml_document_get_node(w->doc, *it);
		if ((s = scalar(w, v, "webhooks.events[]")) == NULL)
			continue;
		if (strcmp(s, "block") == 0)
			h->events |= PX_HOOK_EV_BLOCK;
		else if (strcmp(s, "waiver") == 0)
			h->events |= PX_HOOK_EV_WAIVER;
		else if (strcmp(s, "monitor") == 0)
			h->events |= PX_HOOK_EV_MONITOR;
		else
			node_err(w, v, "webhooks.events: \"%s\" is not block, "
			    "waiver or monitor", s);
	}
	if (h->events == 0 && n->data.sequence.items.start ==
	    n->data.sequence.items.top)
		node_err(w, n, "webhooks.events: empty (leave it out for "
		    "[block])");
}

/*
 * walk_hook() : one webhook, {name, url, format, events, secret_file,
 * ca_file}; the url is checked by px_cfg_apply().
 */
static void
walk_hook(struct cfg_walk *w, yaml_node_t *n)
{
	struct px_hook_cfg	*h;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	char			 fmt[16];
	size_t			 i;
	int			 have_name = 0, have_url = 0;

	if (!is_map(w, n, "webhooks[]"))
		return;
	if (w->cfg->nhooks >= PX_HOOKS_MAX) {
		node_err(w, n, "webhooks: at most %d webhooks", PX_HOOKS_MAX);
		return;
	}
	h = &w->cfg->hooks[w->cfg->nhooks++];
	memset(h, 0, sizeof(*h));
	h->events = PX_HOOK_EV_BLOCK;
	at(w, n, h->at);
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "webhooks key")) == NULL)
			continue;
		if (strcmp(key, "name") == 0) {
			if (get_str(w, v, "webhooks.name", h->name,
			    sizeof(h->name)) == -1)
				continue;
			have_name = 1;
			if (!hook_name_ok(h->name)) {
				node_err(w, v, "webhooks.name: \"%s\": use "
				    "letters, digits, '.', '_', '-'", h->name);
				continue;
			}
			for (i = 0; i + 1 < w->cfg->nhooks; i++)
				if (strcmp(w->cfg->hooks[i].name, h->name) == 0)
					node_err(w, v, "webhooks.name: \"%s\" "
					    "given twice", h->name);
		} else if (strcmp(key, "url") == 0) {
			if (get_str(w, v, "webhooks.url", h->url,
			    sizeof(h->url)) == 0) {
				have_url = 1;
				at(w, v, h->at);
			}
		} else if (strcmp(key, "format") == 0) {
			if (get_str(w, v, "webhooks.format", fmt,
			    sizeof(fmt)) == -1)
				continue;
			if (strcmp(fmt, "json") == 0)
				h->format = PX_HOOK_JSON;
			else if (strcmp(fmt, "slack") == 0)
				h->format = PX_HOOK_SLACK;
			else
				node_err(w, v, "webhooks.format: \"%s\" is not "
				    "json or slack", fmt);
		} else if (strcmp(key, "events") == 0)
			walk_hook_events(w, v, h);
		else if (strcmp(key, "secret_file") == 0)
			get_path(w, v, "webhooks.secret_file", h->secret_file,
			    sizeof(h->secret_file));
		else if (strcmp(key, "ca_file") == 0)
			get_path(w, v, "webhooks.ca_file", h->ca_file,
			    sizeof(h->ca_file));
		else
			node_err(w, k, "webhooks: unknown key \"%s\" (name, url, "
			    "format, events, secret_file, ca_file)", key);
	}
	if (!have_name)
		node_err(w, n, "webhooks: \"name\" is required");
	if (!have_url)
		node_err(w, n, "webhooks: \"url\" is required");
}

/* walk_hooks() : webhooks, a list of webhooks. */
static void
walk_hooks(struct cfg_walk *w, yaml_node_t *n)
{
	yaml_node_item_t	*it;

	if (n->type != YAML_SEQUENCE_NODE) {
		node_err(w, n, "webhooks: expected a list of {name, url, "
		    "format, events, secret_file, ca_file}");
		return;
	}
	w->cfg->nhooks = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	    it++)
		walk_hook(w, yaml_document_get_node(w->doc, *it));
}

/*
 * off_or_map() : a feature set by off (or false), on (or true) or a
 * mapping of its settings (keys: their names, for the error).  Sets *off;
 * 1 when n is a mapping to walk (the feature on), else 0: a switch taken,
 * or an error said.
 */
static int
off_or_map(struct cfg_walk *w, yaml_node_t *n, const char *name,
    const char *keys, int *off)
{
	const char	*s;

	if (n->type == YAML_SCALAR_NODE) {
		s = (const char *)n->data.scalar.value;
		if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0)
			*off = 1;
		else if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0)
			*off = 0;
		else
			node_err(w, n, "%s: \"%s\" is not off, on or a mapping "
			    "{%s}", name, s, keys);
		return 0;
	}
	if (!is_map(w, n, name))
		return 0;
	*off = 0;
	return 1;
}

/*
 * walk_whoami() : the npm user name lookup (whoami.c): off (or false),
 * or {ttl, timeout, max}.
 */
static void
walk_whoami(struct cfg_walk *w, yaml_node_t *n)
{
	struct px_whoami_cfg	*wc = &w->cfg->whoami;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;

	if (!off_or_map(w, n, "whoami", "ttl, timeout, max", &wc->off))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "whoami key")) == NULL)
			continue;
		if (strcmp(key, "ttl") == 0) {
			if (get_num(w, v, "whoami.ttl", 1, 0,
			    PX_WHOAMI_TTL_MAX_MS, &x) == 0)
				wc->ttl_ms = (unsigned)x;
		} else if (strcmp(key, "timeout") == 0) {
			if (get_num(w, v, "whoami.timeout", 1, 100,
			    PX_WHOAMI_TIMEOUT_MAX_MS, &x) == 0)
				wc->timeout_ms = (unsigned)x;
		} else if (strcmp(key, "max") == 0) {
			if (get_num(w, v, "whoami.max", 0, 1,
			    PX_WHOAMI_MAX_MAX, &x) == 0)
				wc->max = (size_t)x;
		} else
			node_err(w, k, "whoami: unknown key \"%s\" (ttl, "
			    "timeout, max)", key);
	}
}

/*
 * walk_pcache() : the packument cache (pcache.c): off (or false), or
 * {max, entry_max}.
 */
static void
walk_pcache(struct cfg_walk *w, yaml_node_t *n)
{
	struct px_pcache_cfg	*pc = &w->cfg->pcache;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;

	if (!off_or_map(w, n, "packument_cache", "max, entry_max", &pc->off))
		return;
	FOREACH_PAIR(w, n, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "packument_cache key")) == NULL)
			continue;
		if (strcmp(key, "max") == 0) {
			if (get_num(w, v, "packument_cache.max", 0, 1ULL << 20,
			    1ULL << 40, &x) == 0)
				pc->max_bytes = x;
		} else if (strcmp(key, "entry_max") == 0) {
			if (get_num(w, v, "packument_cache.entry_max", 0,
			    64ULL << 10, 1ULL << 32, &x) == 0)
				pc->entry_max = x;
		} else
			node_err(w, k, "packument_cache: unknown key \"%s\" "
			    "(max, entry_max)", key);
	}
	if (pc->entry_max > pc->max_bytes)
		node_err(w, n, "packument_cache: entry_max is above max");
}

/* walk_root() : the top-level mapping. */
static void
walk_root(struct cfg_walk *w, yaml_node_t *root)
{
	struct px_cfg		*c = w->cfg;
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;
	uint64_t		 x;

	if (!is_map(w, root, "top level"))
		return;
	FOREACH_PAIR(w, root, pair) {
		k = yaml_document_get_node(w->doc, pair->key);
		v = yaml_document_get_node(w->doc, pair->value);
		if ((key = scalar(w, k, "key")) == NULL)
			continue;
		if (strcmp(key, "listen") == 0)
			walk_listen(w, v);
		else if (strcmp(key, "upstream") == 0) {
			get_str(w, v, key, c->upstream, sizeof(c->upstream));
			at(w, v, c->at.upstream);
		} else if (strcmp(key, "allow_insecure_upstream") == 0)
			get_bool(w, v, key, &c->allow_insecure_upstream);
		else if (strcmp(key, "log_format") == 0) {
			char	 fmt[16];

			if (get_str(w, v, key, fmt, sizeof(fmt)) == 0) {
				if (strcmp(fmt, "json") == 0)
					c->log_json = 1;
				else if (strcmp(fmt, "text") == 0)
					c->log_json = 0;
				else
					node_err(w, v, "log_format: \"%s\" is "
					    "not text or json", fmt);
			}
		}
		else if (strcmp(key, "upstream_ca") == 0) {
			get_path(w, v, key, c->upstream_ca,
			    sizeof(c->upstream_ca));
			at(w, v, c->at.upstream_ca);
		} else if (strcmp(key, "policy") == 0) {
			get_str(w, v, key, c->policy, sizeof(c->policy));
			at(w, v, c->at.policy);
		} else if (strcmp(key, "public_url") == 0) {
			get_str(w, v, key, c->public_url,
			    sizeof(c->public_url));
			at(w, v, c->at.public_url);
		}
		else if (strcmp(key, "timeouts") == 0)
			walk_timeouts(w, v);
		else if (strcmp(key, "limits") == 0)
			walk_limits(w, v);
		else if (strcmp(key, "spool_dir") == 0) {
			get_str(w, v, key, c->spool_dir, sizeof(c->spool_dir));
			at(w, v, c->at.spool_dir);
		} else if (strcmp(key, "cache_dir") == 0) {
			get_str(w, v, key, c->cache_dir, sizeof(c->cache_dir));
			at(w, v, c->at.cache_dir);
		} else if (strcmp(key, "db") == 0) {
			get_str(w, v, key, c->db, sizeof(c->db));
			at(w, v, c->at.db);
		} else if (strcmp(key, "audit_log") == 0) {
			get_str(w, v, key, c->audit_log, sizeof(c->audit_log));
			at(w, v, c->at.audit_log);
		}
		else if (strcmp(key, "admin") == 0)
			walk_admin(w, v);
		else if (strcmp(key, "trusted_proxies") == 0)
			walk_trusted(w, v);
		else if (strcmp(key, "dns") == 0)
			walk_dns(w, v);
		else if (strcmp(key, "pool") == 0)
			walk_pool(w, v);
		else if (strcmp(key, "quarantine") == 0)
			walk_quarantine(w, v);
		else if (strcmp(key, "webhooks") == 0)
			walk_hooks(w, v);
		else if (strcmp(key, "whoami") == 0)
			walk_whoami(w, v);
		else if (strcmp(key, "packument_cache") == 0)
			walk_pcache(w, v);
		else if (strcmp(key, "egress") == 0)
			px_egress_cfg_walk(c, w->errs, w->name, w->doc, v);
		else if (strcmp(key, "workers") == 0) {
			/* auto: px_cfg_workers_auto(), affinity and quota. */
			if (v->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)v->data.scalar.value,
			    "auto") == 0)
				c->workers = px_cfg_workers_auto();
			else if (get_num(w, v, key, 0, 1, PX_WORKERS_MAX,
			    &x) == 0)
				c->workers = (int)x;
		} else
			node_err(w, k, "unknown key \"%s\"", key);
	}
}

/*
 * px_cfg_cpu_quota() : the CPUs a cgroup v2 cpu.max line ("QUOTA PERIOD"
 * or "max PERIOD") allows, rounded up; 0 for no limit or a line it cannot
 * read.
 */
int
px_cfg_cpu_quota(const char *line)
{
	long long	 quota, period;
	char		 word[16];

	if (sscanf(line, "%15s %lld", word, &period) != 2 || period <= 0 ||
	    strcmp(word, "max") == 0)
		return 0;
	if (sscanf(word, "%lld", &quota) != 1 || quota <= 0)
		return 0;
	quota = (quota + period - 1) / period;
	return quota > PX_WORKERS_MAX ? PX_WORKERS_MAX : (int)quota;
}

/*
 * px_cfg_workers_auto() : `workers: auto`, one serving process per CPU
 * this process may run on: the CPUs of its affinity mask (a cpuset), no
 * more than its cgroup's CPU quota allows (a container limited to 2 CPUs
 * on a 64-core host gets 2, not 64), 1 when nothing is known, at most
 * PX_WORKERS_MAX.
 */
int
px_cfg_workers_auto(void)
{
	cpu_set_t	 set;
	char		 line[64];
	FILE		*fp;
	long		 n = sysconf(_SC_NPROCESSORS_ONLN);
	int		 q;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		n = CPU_COUNT(&set);
	if ((fp = fopen("/sys/fs/cgroup/cpu.max", "re")) != NULL) {
		if (fgets(line, sizeof(line), fp) != NULL &&
		    (q = px_cfg_cpu_quota(line)) > 0 && q < n)
			n = q;
		fclose(fp);
	}
	if (n < 1)
		return 1;
	return n > PX_WORKERS_MAX ? PX_WORKERS_MAX : (int)n;
}

/* flag_workers() : --workers N|auto, as the file's workers: reads it. */
static void
flag_workers(struct px_cfg *cfg, const char *s, struct px_cfg_errs *errs)
{
	char	*end;
	long	 n;

	if (strcmp(s, "auto") == 0) {
		cfg->workers = px_cfg_workers_auto();
		return;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 1 ||
	    n > PX_WORKERS_MAX) {
		px_cfg_err(errs, "--workers: \"%s\": a number 1 .. %d or auto",
		    s, PX_WORKERS_MAX);
		return;
	}
	cfg->workers = (int)n;
}

int
px_cfg_load_buf(struct px_cfg *cfg, const char *name, const void *buf,
    size_t len, struct px_cfg_errs *errs)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	struct cfg_walk	 w;
	size_t		 before = errs->count;

	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	if (!yaml_parser_initialize(&parser)) {
		px_cfg_err(errs, "%s: out of memory", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		px_cfg_err(errs, "%s:%zu:%zu: %s", name,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return -1;
	}
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.errs = errs;
	w.name = name;
	w.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) != NULL)
		walk_root(&w, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return errs->count == before ? 0 : -1;
}

int
px_cfg_load(struct px_cfg *cfg, const char *path, struct px_cfg_errs *errs)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;
	int	 rv = -1;

	if ((f = fopen(path, "r")) == NULL) {
		px_cfg_err(errs, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 4096) {
			char *nb;

			if (cap >= 4 * 1024 * 1024) {
				px_cfg_err(errs, "%s: file too large", path);
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap)) == NULL) {
				px_cfg_err(errs, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		px_cfg_err(errs, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rv = px_cfg_load_buf(cfg, path, buf, len, errs);
fail:
	free(buf);
	fclose(f);
	return rv;
}

/* set_path() : copies a flag value, with an error if it is too long. */
static void
set_path(struct px_cfg_errs *errs, const char *flag, char *dst, size_t len,
    const char *v)
{
	if (strlen(v) >= len) {
		px_cfg_err(errs, "%s: value too long", flag);
		return;
	}
	snprintf(dst, len, "%s", v);
}

int
px_cfg_apply(struct px_cfg *cfg, const struct px_cfg_flags *fl,
    struct px_cfg_errs *errs)
{
	struct px_cfg_at	*at = &cfg->at;
	const char		*why, *where;
	struct px_url		 u;
	size_t			 i, before = errs->count;

	where = cfg->file[0] != '\0' ? cfg->file : "(defaults)";
	if (fl->listen != NULL) {
		memset(cfg->listen, 0, sizeof(cfg->listen));
		cfg->nlisten = 1;
		set_at(at->listen[0], "--listen");
		set_path(errs, "--listen", cfg->listen[0].url,
		    sizeof(cfg->listen[0].url), fl->listen);
	}
	if (cfg->nlisten == 0) {
		cfg->nlisten = 1;
		snprintf(cfg->listen[0].url, sizeof(cfg->listen[0].url), "%s",
		    "http://127.0.0.1:8080");
	}
	for (i = 0; i < cfg->nlisten; i++) {
		struct px_listen_cfg *l = &cfg->listen[i];

		if (fl->tls_cert != NULL)
			set_path(errs, "--tls-cert", l->cert, sizeof(l->cert),
			    fl->tls_cert);
		if (fl->tls_key != NULL)
			set_path(errs, "--tls-key", l->key, sizeof(l->key),
			    fl->tls_key);
		if (l->url[0] == '\0')
			continue;	/* "url" is required: said already */
		if (px_cfg_parse_url(l->url, &l->u, &why) == -1) {
			px_cfg_err(errs, "%s: listen %s: %s", at->listen[i],
			    l->url, why);
			continue;
		}
		if (l->u.prefix[0] != '\0')
			px_cfg_err(errs, "%s: listen %s: a listener has no "
			    "path", at->listen[i], l->url);
		if (l->u.tls && (l->cert[0] == '\0' || l->key[0] == '\0'))
			px_cfg_err(errs, "%s: listen %s: https needs a cert "
			    "and a key (--tls-cert, --tls-key)", at->listen[i],
			    l->url);
		if (!l->u.tls && (l->cert[0] != '\0' || l->chain[0] != '\0') &&
		    fl->tls_cert == NULL)
			px_cfg_err(errs, "%s: listen %s: cert given for a "
			    "plain http listener", at->listen[i], l->url);
	}
	if (fl->upstream != NULL) {
		set_at(at->upstream, "--upstream");
		set_path(errs, "--upstream", cfg->upstream,
		    sizeof(cfg->upstream), fl->upstream);
	}
	if (px_cfg_parse_url(cfg->upstream, &cfg->up, &why) == -1)
		px_cfg_err(errs, "%s: upstream %s: %s", at->upstream,
		    cfg->upstream, why);
	else if (!cfg->up.tls && !px_cfg_loopback(cfg->up.host) &&
	    !cfg->allow_insecure_upstream)
		px_cfg_err(errs, "%s: upstream %s: plain http to a host that "
		    "is not loopback would send publish tokens in clear (use "
		    "https://, or set allow_insecure_upstream: true)",
		    at->upstream, cfg->upstream);
	snprintf(cfg->up_origin, sizeof(cfg->up_origin), "%s://%s%s/",
	    cfg->up.tls ? "https" : "http", cfg->up.hostport, cfg->up.prefix);
	if (fl->upstream_ca != NULL) {
		set_at(at->upstream_ca, "--upstream-ca");
		set_path(errs, "--upstream-ca", cfg->upstream_ca,
		    sizeof(cfg->upstream_ca), fl->upstream_ca);
	}
	if (fl->policy != NULL) {
		set_at(at->policy, "--policy");
		set_path(errs, "--policy", cfg->policy, sizeof(cfg->policy),
		    fl->policy);
	}
	if (fl->db != NULL) {
		set_at(at->db, "--db");
		set_path(errs, "--db", cfg->db, sizeof(cfg->db), fl->db);
	}
	if (fl->workers != NULL)
		flag_workers(cfg, fl->workers, errs);
	if (fl->admin != NULL) {
		set_at(at->admin, "--admin");
		set_path(errs, "--admin", cfg->admin_listen,
		    sizeof(cfg->admin_listen), fl->admin);
	}
	memset(&cfg->admin, 0, sizeof(cfg->admin));
	if (cfg->admin_listen[0] != '\0') {
		snprintf(cfg->admin.url, sizeof(cfg->admin.url), "%s",
		    cfg->admin_listen);
		if (px_cfg_parse_url(cfg->admin_listen, &cfg->admin.u, &why) ==
		    -1)
			px_cfg_err(errs, "%s: admin listen %s: %s", at->admin,
			    cfg->admin_listen, why);
		else if (cfg->admin.u.tls || cfg->admin.u.prefix[0] != '\0')
			px_cfg_err(errs, "%s: admin listen %s: must be "
			    "http://host:port", at->admin, cfg->admin_listen);
	}
	if (cfg->public_url[0] != '\0' &&
	    px_cfg_parse_url(cfg->public_url, &u, &why) == -1)
		px_cfg_err(errs, "%s: public_url %s: %s", at->public_url,
		    cfg->public_url, why);
	if (cfg->spool_dir[0] != '/')
		px_cfg_err(errs, "%s: spool_dir %s: must be an absolute path",
		    at->spool_dir, cfg->spool_dir);
	if (cfg->cache_dir[0] != '\0' && cfg->cache_dir[0] != '/')
		px_cfg_err(errs, "%s: cache_dir %s: must be an absolute path",
		    at->cache_dir, cfg->cache_dir);
	for (i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].proxy_protocol && cfg->ntrusted == 0)
			px_cfg_err(errs, "%s: listen %s: proxy_protocol needs "
			    "trusted_proxies (the balancers' addresses)",
			    at->listen[i], cfg->listen[i].url);
	for (i = 0; i < cfg->nhooks; i++) {
		struct px_hook_cfg *h = &cfg->hooks[i];

		if (h->url[0] == '\0')
			continue;	/* "url" is required: said already */
		if (px_cfg_parse_url(h->url, &h->u, &why) == -1)
			px_cfg_err(errs, "%s: webhook %s: url: %s", h->at,
			    h->name, why);
		else if (!h->u.tls && !px_cfg_loopback(h->u.host))
			px_cfg_err(errs, "%s: webhook %s: url: plain http only "
			    "to a loopback address (use https://)", h->at,
			    h->name);
		else if (!h->u.tls && h->ca_file[0] != '\0')
			px_cfg_err(errs, "%s: webhook %s: ca_file for a plain "
			    "http url", h->at, h->name);
	}
	if (fl->verbose)
		cfg->verbose = fl->verbose;
	(void)px_egress_cfg_apply(cfg, fl, errs, where);
	return errs->count == before ? 0 : -1;
}
