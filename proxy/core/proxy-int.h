/*
 * proxy/core/proxy-int.h: declarations shared between the files of proxy/
 * (the daemon, `pubgate serve`) and its unit tests.  Nothing outside
 * proxy/ and tests/unit/proxy/ includes it.
 *
 * It holds every cap of the daemon (one place, documented in README.md
 * "## Server settings"), the runtime settings (struct px_cfg, config.c),
 * the daemon context (struct px_ctx: event base, listeners, TLS contexts,
 * the current policy; passed explicitly, never global) and the connection
 * (struct px_conn, conn.c is the only place that frees one).
 *
 * Data flow of one request:
 *   client bev --llhttp (http.c)--> head --route (conn.c)--+
 *     read/other write: head + body re-framed --> upstream bev (fwd.c)
 *     publish: body --> spool file + pol_publish_feed (spool.c)
 *              allow --> spool replayed upstream (fwd.c); block --> 403
 *   upstream bev --llhttp (fwd.c)--> response head + body --> client bev
 */
#ifndef PUBGATE_PROXY_INT_H
#define PUBGATE_PROXY_INT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include <llhttp.h>

#include "policy.h"

struct px_store;
struct px_prev;
struct px_quar;
struct px_quar_tee;
struct stat;
struct px_store_op;
struct evdns_base;
struct px_gzs;

/* ---------------------------------------------------------------- caps */
#define PX_HEAD_BYTES_DEFAULT	(32 * 1024)	/* request line + headers */
#define PX_HEAD_BYTES_MAX	(1024 * 1024)
#define PX_HEADERS_DEFAULT	100		/* header fields per request */
#define PX_HEADERS_MAX		1000
#define PX_BODY_DEFAULT		(128ULL * 1024 * 1024)	/* request body */
#define PX_BODY_MAX		(4ULL * 1024 * 1024 * 1024)
#define PX_RESP_HEAD_BYTES	(64 * 1024)	/* upstream response head */
#define PX_RESP_HEADERS		200
#define PX_LISTEN_MAX		8		/* listeners */
#define PX_NOTICE_MAX		2048		/* an npm-notice header */
#define PX_CONN_MAX		4096		/* open client connections */
#define PX_HIGH_WATER		(256 * 1024)	/* peer output that stops reading */
/*
 * The response direction's own: upstream reads stop while this much waits
 * for the client, start again at half, and read at most half of it per
 * event.  At 256 KiB the relay of a 1 MiB tarball stopped and started
 * the upstream about once per answer, each restart opening the upstream's
 * window in the gate's own reads (bench/proxy, plain upstream: CPU per
 * request 0.84 of 256 KiB's at 1 MiB).  Envoy's default per-connection
 * buffer limit is also 1 MiB.
 */
#define PX_RELAY_HIGH		(1024 * 1024)
#define PX_POOL_DEFAULT		128		/* idle upstream connections kept */
#define PX_POOL_MAX		PX_CONN_MAX
#define PX_POOL_IDLE_MS		4000		/* ... for at most this long */
#define PX_POOL_IDLE_MAX_MS	60000
#define PX_DNS_ADDRS_MAX	16		/* upstream addresses kept */
#define PX_DNS_MIN_TTL_MS	10000		/* answers cached at least ... */
#define PX_DNS_MAX_TTL_MS	300000		/* ... and at most this long */
#define PX_DNS_TTL_CAP_MS	(24U * 3600 * 1000)
#define PX_ADDR_PENALTY_MS	30000		/* an address that refused */
#define PX_CONNECT_TRIES	4		/* connects for one idempotent read */
#define PX_FEED_CHUNK		(64 * 1024)	/* bytes read, parsed per step */
#define PX_GZ_FEED		4096		/* gzip bytes inflated per step */
#define PX_SPOOL_CHUNK		(64 * 1024)	/* bytes read from a spool per step */
#define PX_SPOOL_BUF		(256 * 1024)	/* body bytes held per spool write */
#define PX_LINGER_MS		2000		/* discard input after a final error */
#define PX_LINGER_BYTES		(16 * 1024 * 1024)
#define PX_RENDER_MAX		(16 * 1024)	/* a 403 text */
#define PX_PREV_TIMEOUT_MS	30000		/* the previous version's
						   packument and tarball */
#define PX_PREV_PACKUMENT_MAX	(128ULL * 1024 * 1024)	/* wire bytes */
#define PX_PREV_TARBALL_MAX	(4ULL * 1024 * 1024 * 1024)
#define PX_PREV_DISCARD_MAX	(64 * 1024)	/* a 404's body read */
#define PX_NAME_MAX		214		/* npm package name */
#define PX_WRITE_BODY_MAX	(64 * 1024)	/* dist-tag, login, ... body */
#define PX_ADMIN_FORM_MAX	(16 * 1024)	/* a console form's body */
#define PX_CFG_ERRORS_MAX	32
#define PX_CFG_ERRMSG_MAX	400
#define PX_URL_MAX		512
#define PX_WORKERS_MAX		64
#define PX_HIST_BUCKETS		11		/* inspection seconds histogram */
#define PX_METRIC_RULES		64		/* rules counted in metrics */
#define PX_FILES_PATH_BYTES	(2 * 1024 * 1024)	/* file names listed in
							   a record (record.c) */
#define PX_USER_MAX		215		/* an npm user name + NUL */
#define PX_WHOAMI_BODY_MAX	4096		/* a whoami answer's body */
#define PX_WHOAMI_TTL_DEFAULT_MS	600000U	/* 10m */
#define PX_WHOAMI_TTL_MAX_MS	(24U * 3600 * 1000)
#define PX_WHOAMI_TIMEOUT_DEFAULT_MS	3000U
#define PX_WHOAMI_TIMEOUT_MAX_MS	30000U
#define PX_WHOAMI_MAX_DEFAULT	1024		/* names cached per process */
#define PX_PC_MAX_DEFAULT	(64ULL << 20)	/* packument cache per worker */
#define PX_PC_ENTRY_DEFAULT	(16ULL << 20)	/* one cached answer */
#define PX_PC_ETAG_MAX		256		/* a cached answer's ETag */
#define PX_PC_KEY_MAX		2048		/* target, origin, Accept */
#define PX_PC_HEAD_MAX		16384		/* a cached answer's head */
#define PX_WHOAMI_MAX_MAX	65536
#define PX_QUAR_BUF		(64 * 1024)	/* tarball bytes held per
						   quarantine write */
#define PX_QUAR_KEEP_DEFAULT_MS	(30ULL * 24 * 3600 * 1000)	/* 30d */
#define PX_QUAR_KEEP_MAX_MS	(3650ULL * 24 * 3600 * 1000)
#define PX_QUAR_MAX_DEFAULT	(10ULL * 1024 * 1024 * 1024)	/* 10GB */
#define PX_QUAR_MAX_MAX		(1ULL << 50)
#define PX_QUAR_FILES_MAX	65536		/* kept files one sweep sees */
#define PX_QUAR_PART_STALE_MS	3600000		/* a part nobody writes */
#define PX_QUAR_SWEEP_MIN_MS	1000
#define PX_QUAR_SWEEP_MAX_MS	60000
#define PX_QUAR_ID_MAX		40		/* a decision id */
#define PX_QUAR_NAME_MAX	96

#define PX_CONNECT_TIMEOUT_MS	10000
#define PX_IDLE_TIMEOUT_MS	60000
#define PX_REQUEST_TIMEOUT_MS	300000
#define PX_HEADER_TIMEOUT_MS	10000	/* the whole request head */
#define PX_CLIENT_CONNS_DEFAULT	256	/* per client address */
#define PX_BODY_MIN_RATE_DEFAULT 1024	/* publish body, bytes/s */
#define PX_RATE_WINDOW_MS	10000	/* body_min_rate is checked per window */
#define PX_DRAIN_TIMEOUT_MS	30000

/* ------------------------------------------- egress.c: caps and types */
#define PX_EGRESS_HOSTS_MAX	64	/* intercept and tunnel entries each */
#define PX_EGRESS_PORTS_MAX	16	/* allow_ports entries */
#define PX_EGRESS_TUNNELS_DEFAULT 256	/* concurrent CONNECTs (max_tunnels) */
#define PX_EGRESS_TUNNELS_MAX	PX_CONN_MAX
#define PX_EGRESS_IDLE_MS	300000	/* tunnel idle_timeout default */
#define PX_EGRESS_IDLE_MAX_MS	(24ULL * 3600 * 1000)

/* ------------------------------------------------------------- config.c */
struct px_url {
	int	 tls;			/* https */
	char	 host[256];		/* without brackets */
	char	 port[8];
	char	 hostport[270];		/* for a Host header: "h", "h:p", "[v6]:p" */
	char	 prefix[PX_URL_MAX];	/* path prefix without trailing '/', "" */
};

struct px_listen_cfg {
	char		 url[PX_URL_MAX];
	struct px_url	 u;
	char		 cert[PATH_MAX];
	char		 key[PATH_MAX];
	char		 chain[PATH_MAX];
	int		 proxy_protocol;	/* a PROXY v1/v2 header first */
};

/* addr.c: an address block of trusted_proxies. */
#define PX_TRUSTED_MAX		64
#define PX_PP_MAX		1024	/* a PROXY v2 header, TLVs included */
struct px_cidr {
	int		 family;	/* AF_INET, AF_INET6 */
	int		 bits;
	unsigned char	 addr[16];
};

/* egress.c: the egress section of the settings (see the end of file). */
/* One intercepted host: "HOST[=ADDR:PORT]". */
struct px_egress_host {
	char	 name[256];	/* lower case, no port */
	char	 addr[256];	/* where it is really reached; "" the name */
	char	 port[8];	/* with addr */
};

/* The egress section of the server settings ("" listen: egress off). */
struct px_egress_cfg {
	char			 listen[PX_URL_MAX];
	struct px_url		 lu;		/* listen, parsed */
	char			 ca_cert[PATH_MAX];
	char			 ca_key[PATH_MAX];
	char			 ca_chain[PATH_MAX];
	struct px_egress_host	 intercept[PX_EGRESS_HOSTS_MAX];
	size_t			 nintercept;
	char			 tunnel[PX_EGRESS_HOSTS_MAX][256];
	size_t			 ntunnel;
	int			 other_tunnel;	/* other: tunnel (else refuse) */
	unsigned		 allow_ports[PX_EGRESS_PORTS_MAX];
	size_t			 nports;
	size_t			 max_tunnels;
	unsigned		 idle_ms;
	size_t			 leaf_cache;
	int			 allow_unconstrained_ca;	/* see load_ca() */
	int			 file_set;	/* the file has an egress key */
	int			 intercept_set;	/* the file gave the list */
	int			 ports_set;
};

/*
 * Where a setting came from, for its errors: "file:line:col" of its value,
 * the flag ("--listen") or "(default)".
 */
#define PX_AT_MAX		320
struct px_cfg_at {
	char	 listen[PX_LISTEN_MAX][PX_AT_MAX];
	char	 upstream[PX_AT_MAX];
	char	 upstream_ca[PX_AT_MAX];
	char	 policy[PX_AT_MAX];
	char	 public_url[PX_AT_MAX];
	char	 spool_dir[PX_AT_MAX];
	char	 cache_dir[PX_AT_MAX];
	char	 db[PX_AT_MAX];
	char	 audit_log[PX_AT_MAX];
	char	 admin[PX_AT_MAX];
	char	 token_file[PX_AT_MAX];
	char	 quarantine[PX_AT_MAX];
};

/*
 * webhooks: alerts POSTed from the decision store's outbox (gate/webhook.c).
 * name is [A-Za-z0-9._-], at most PX_STORE_HOOK_MAX bytes, unique.
 */
#define PX_HOOKS_MAX		16
#define PX_HOOK_NAME_MAX	63
#define PX_HOOK_EV_BLOCK	0x1
#define PX_HOOK_EV_WAIVER	0x2
#define PX_HOOK_EV_MONITOR	0x4
enum px_hook_format { PX_HOOK_JSON = 0, PX_HOOK_SLACK = 1 };
struct px_hook_cfg {
	char			 name[PX_HOOK_NAME_MAX + 1];
	char			 url[PX_URL_MAX];
	struct px_url		 u;		/* parsed url (px_cfg_apply) */
	enum px_hook_format	 format;
	unsigned		 events;	/* PX_HOOK_EV_* */
	char			 secret_file[PATH_MAX];	/* "" unsigned */
	char			 ca_file[PATH_MAX];	/* "" system store */
	char			 at[PX_AT_MAX];	/* where it was set */
};

/* quarantine: blocked tarballs kept (gate/quarantine.c); dir "" off. */
struct px_quar_cfg {
	char		 dir[PATH_MAX];
	uint64_t	 keep_ms;
	uint64_t	 max_bytes;
};

/* whoami: the npm user name lookup (whoami.c). */
struct px_whoami_cfg {
	int		 off;
	unsigned	 ttl_ms;
	unsigned	 timeout_ms;
	size_t		 max;		/* names cached */
};

/* packument_cache: rewritten packuments kept, revalidated (pcache.c). */
struct px_pcache_cfg {
	int		 off;
	uint64_t	 max_bytes;	/* per worker */
	uint64_t	 entry_max;	/* one answer: key, head, body */
};

struct px_cfg {
	char			 file[PATH_MAX];	/* "" without a file */
	struct px_listen_cfg	 listen[PX_LISTEN_MAX];
	size_t			 nlisten;
	char			 upstream[PX_URL_MAX];
	struct px_url		 up;
	char			 upstream_ca[PATH_MAX];	/* "" system store */
	char			 policy[PATH_MAX];	/* "" embedded strict */
	char			 public_url[PX_URL_MAX];
	char			 up_origin[PX_URL_MAX * 2];	/* "scheme://hostport/prefix/" */
	unsigned		 connect_ms, idle_ms, request_ms;
	unsigned		 header_ms;	/* whole request head */
	size_t			 header_bytes, headers;
	uint64_t		 body;
	unsigned		 client_conns;	/* per client address; 0 off */
	uint64_t		 body_min_rate;	/* bytes/s; 0 off */
	unsigned		 rate_window_ms;	/* its window (tests) */
	char			 spool_dir[PATH_MAX];
	char			 cache_dir[PATH_MAX];	/* "" no detector cache */
	char			 db[PATH_MAX];
	char			 audit_log[PATH_MAX];	/* "-" stderr */
	char			 admin_listen[PX_URL_MAX];	/* "" none */
	struct px_listen_cfg	 admin;		/* parsed admin_listen */
	char			 admin_token_file[PATH_MAX];
	struct px_cidr		 trusted[PX_TRUSTED_MAX];	/* trusted_proxies */
	size_t			 ntrusted;
	unsigned		 dns_min_ttl_ms, dns_max_ttl_ms;	/* resolve.c */
	size_t			 pool_max;	/* idle upstream conns kept */
	unsigned		 pool_idle_ms;
	int			 workers;
	int			 worker;	/* runtime: this process's index */
	int			 verbose;
	int			 log_json;	/* log_format: json */
	struct px_egress_cfg	 egress;		/* egress.c */
	int			 allow_insecure_upstream;
	struct px_quar_cfg	 quar;	/* quarantine: */
	struct px_hook_cfg	 hooks[PX_HOOKS_MAX];	/* webhooks: */
	size_t			 nhooks;
	struct px_whoami_cfg	 whoami;	/* whoami: */
	struct px_pcache_cfg	 pcache;	/* packument_cache: */
	struct px_cfg_at	 at;	/* where each value came from */
};

struct px_cfg_errs {
	size_t	 count;
	char	 msg[PX_CFG_ERRORS_MAX][PX_CFG_ERRMSG_MAX];
};

/* Command-line overrides: NULL leaves the file's (or default) value. */
struct px_cfg_flags {
	const char	*listen;
	const char	*upstream;
	const char	*upstream_ca;
	const char	*policy;
	const char	*tls_cert;
	const char	*tls_key;
	const char	*db;
	const char	*admin;
	const char	*workers;	/* --workers N|auto */
	int		 verbose;
	/* egress.c: --egress-listen, --ca-cert, --ca-key, --intercept, --tunnel */
	const char	*egress_listen;
	const char	*ca_cert;
	const char	*ca_key;
	const char	*intercept[PX_EGRESS_HOSTS_MAX];
	size_t		 nintercept;	/* may exceed the array: an error */
	const char	*tunnel[PX_EGRESS_HOSTS_MAX];
	size_t		 ntunnel;
};

void	px_cfg_defaults(struct px_cfg *);
/*
 * px_cfg_load() : reads the server settings at path into cfg (which
 * holds the defaults).  Returns 0, or -1 with every error as
 * "file:line:col: msg" in errs.
 */
int	px_cfg_load(struct px_cfg *, const char *path, struct px_cfg_errs *);
int	px_cfg_workers_auto(void);
int	px_cfg_cpu_quota(const char *cpu_max_line);
int	px_cfg_load_buf(struct px_cfg *, const char *name, const void *buf,
	    size_t len, struct px_cfg_errs *);
/* px_cfg_apply() : applies flags, then validates the whole; 0 or -1. */
int	px_cfg_apply(struct px_cfg *, const struct px_cfg_flags *,
	    struct px_cfg_errs *);
/* px_cfg_parse_url() : "http[s]://host[:port][/prefix]"; 0 or -1 + why. */
int	px_cfg_parse_url(const char *, struct px_url *, const char **why);
/*
 * px_cfg_path() : a file path setting, "$CREDENTIALS_DIRECTORY/x" read
 * under systemd's credentials directory; 0, or -1 and why.
 */
int	px_cfg_path(const char *, char *, size_t, const char **why);
/* px_cfg_loopback() : whether host (of a URL) names this machine. */
int	px_cfg_loopback(const char *host);
void	px_cfg_err(struct px_cfg_errs *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- tls.c */
SSL_CTX	*px_tls_server_ctx(const char *cert, const char *key, const char *chain,
	    char *err, size_t errlen);
SSL_CTX	*px_tls_client_ctx(const char *cafile, char *err, size_t errlen);
/* px_tls_client_new() : an SSL for host with SNI and name check set. */
SSL	*px_tls_client_new(SSL_CTX *, const char *host);
/*
 * px_tls_bulk() : ssl reads ahead into a PX_TLS_RBUF buffer: one read
 * syscall for several records.  Its bufferevent's input must then be
 * read through px_tls_fill() (io.c).
 */
void	px_tls_bulk(SSL *);
#define PX_TLS_RBUF		(64 * 1024 + 512)
/* px_tls_errors() : drains the OpenSSL error queue into buf; returns buf. */
const char	*px_tls_errors(char *buf, size_t len);

/* ----------------------------------------------------------------- io.c */
/*
 * px_io_fill() : tops a plain socket bufferevent's input up to cap bytes
 * with big reads when libevent's 4 KiB read came back full; the bytes
 * added.
 */
size_t	px_io_fill(struct bufferevent *, size_t cap);
/*
 * px_tls_fill() : decrypts what a px_tls_bulk() SSL holds or its socket
 * has into the bufferevent's input, up to cap bytes; the bytes added.
 */
size_t	px_tls_fill(struct bufferevent *, size_t cap);
/*
 * px_io_whole() : how many bytes at the front of buf make whole chains,
 * at most max unless the first chain alone is longer (moving those with
 * evbuffer_remove_buffer() copies nothing).
 */
size_t	px_io_whole(struct evbuffer *, size_t max);
/*
 * px_io_flush() : writes the output of a bufferevent that was empty
 * before the caller filled it now, without waiting for a write event.
 */
void	px_io_flush(struct bufferevent *);
#define PX_FILL_CAP		(PX_HIGH_WATER / 2)	/* below the read
							   high watermark */
#define PX_RELAY_FILL		(PX_RELAY_HIGH / 2)	/* the same, upstream */

/* ---------------------------------------------------------- daemon ctx */
struct px_conn;

struct px_listener {
	struct px_ctx		*ctx;
	struct evconnlistener	*lev;
	struct px_listen_cfg	*cfg;
	SSL_CTX			*ssl;	/* NULL for plain http */
	int			 admin;	/* the admin API listener */
	struct event		*ev_retry;	/* re-enables after EMFILE */
};

/*
 * Metrics (metrics.c).  With `workers:` > 1 the supervisor maps one
 * struct px_metrics per worker (MAP_SHARED|MAP_ANONYMOUS) before it forks;
 * each worker writes only its own slot (relaxed atomic stores, PX_MADD),
 * worker 0 sums every slot for a scrape.  A restarted worker continues its
 * predecessor's slot, so counters never go down; gauges are of the live
 * worker and zeroed when it is gone.  With one worker the slot is in
 * struct px_ctx.
 */
#define PX_MGET(f)	__atomic_load_n(&(f), __ATOMIC_RELAXED)
#define PX_MSET(f, v)	__atomic_store_n(&(f), (v), __ATOMIC_RELAXED)
#define PX_MADD(f, n)	PX_MSET(f, PX_MGET(f) + (n))	/* one writer */

enum px_quar_skip {
	PX_QUAR_SKIP_INCOMPLETE,	/* not read whole: no sha512 */
	PX_QUAR_SKIP_OVER,		/* bigger than max by itself */
	PX_QUAR_SKIP_WRITE,		/* a file operation failed */
	PX_QUAR_SKIP_DIGEST,		/* the bytes are not the record's */
	PX_QUAR_SKIP_EXISTS,		/* <id>.tgz is there already */
	PX_QUAR_SKIP_N
};

/* Quarantine figures (quarantine.c), in a worker's slot. */
struct px_quar_count {
	uint64_t	 kept, skipped[PX_QUAR_SKIP_N], failed;
	uint64_t	 expired, evicted, parts, sweeps;
	uint64_t	 files, bytes;	/* gauges: at the last sweep or keep */
	uint64_t	 at_ms;		/* wall clock of files and bytes */
};

/* An upstream address as a worker's resolver holds it (resolve.c). */
struct px_maddr {
	char		 text[48];	/* INET6_ADDRSTRLEN */
	uint64_t	 fails;		/* failed connects */
	uint64_t	 bad_until;	/* px_now_ms() (CLOCK_MONOTONIC,
					   one clock for all); 0 usable */
};

struct px_metrics {
	/* Counters: kept across a worker's restart. */
	uint64_t	 requests[3][6];	/* read/publish/write x class */
	uint64_t	 bytes_in, bytes_out, upstream_errors;
	uint64_t	 client_cap_refused;	/* limit.c */
	uint64_t	 head_timeouts, body_too_slow;	/* conn.c */
	uint64_t	 inspect_hist[PX_HIST_BUCKETS];
	uint64_t	 inspect_count, inspect_ms_sum;
	uint64_t	 publishes[2];		/* allow, deny (spool.c) */
	uint64_t	 resolve[3];		/* ok, fail, retries */
	uint64_t	 egress[3];		/* intercept, tunnel, refuse */
	uint64_t	 reloads[2];		/* failed, succeeded */
	uint64_t	 store_errors, store_reconnects;	/* pulled */
	uint64_t	 cpu_us;		/* pulled: user + system */
	struct px_quar_count quar;
	uint64_t	 whoami[4];	/* lookups, hits, failures, evictions
					   (whoami.c) */
	uint64_t	 pcache[4];	/* PX_PC_*: pcache.c */
	struct {
		char		 rule[POL_RULE_ID_MAX];
		uint64_t	 n;
	}		 rules[PX_METRIC_RULES];
	uint64_t	 nrules;	/* release-stored after the name */
	/* Gauges of the live worker. */
	uint64_t	 live;		/* its pid; 0 none (or gone) */
	uint64_t	 conns;
	uint64_t	 store_on, store_up, store_pending;
	uint64_t	 pcache_bytes;	/* pcache.c: held now */
	uint64_t	 reload_ok, reload_ok_ms;
	uint64_t	 addr_gen;	/* odd while addrs change */
	struct px_maddr	 addrs[PX_DNS_ADDRS_MAX];
	uint64_t	 naddrs;
	/* This worker's own (not shared): pulled counters at its start. */
	uint64_t	 base_store_errors, base_store_reconnects, base_cpu_us;
};

/* px_metrics_attach() : a worker (pid) starts serving from slot m. */
void	px_metrics_attach(struct px_metrics *, uint64_t pid);
/* px_metrics_gone() : the supervisor reaped slot m's worker. */
void	px_metrics_gone(struct px_metrics *);
/*
 * px_metrics_sum() : the gate's figures from n slots into out: counters
 * summed over every slot, gauges over the live ones (conns, store_pending
 * summed; store_up, reload_ok the least; reloads the most any counted;
 * quarantine files and bytes the newest), rules and addresses merged by
 * name up to their caps; out->live is the number of live workers.
 */
void	px_metrics_sum(const struct px_metrics *slots, size_t n,
	    struct px_metrics *out);
/* px_metrics_rule() : one denial by rule in slot m (capped, first kept). */
void	px_metrics_rule(struct px_metrics *, const char *rule);
/* px_metrics_map() : n zeroed slots shared with children; NULL + errno. */
struct px_metrics *px_metrics_map(size_t n);
struct px_ctx;
/* px_metrics_pull() : refreshes ctx's slot: store, CPU (pulled). */
void	px_metrics_pull(struct px_ctx *);

TAILQ_HEAD(px_conn_list, px_conn);

/* An idle keep-alive upstream connection waiting in the pool (fwd.c). */
struct px_pooled {
	TAILQ_ENTRY(px_pooled)	 entry;
	struct px_ctx		*ctx;
	struct bufferevent	*bev;
};
TAILQ_HEAD(px_pool, px_pooled);
TAILQ_HEAD(px_conn_rlist, px_conn);
struct px_resolver;

struct px_ppwait;
struct px_ctx {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct px_cfg		*cfg;		/* borrowed, lives as long */
	struct pol_policy	*policy;	/* current; conns take refs */
	struct px_store		*audit;
	SSL_CTX			*up_ssl;	/* NULL for an http upstream */
	struct px_listener	 listeners[PX_LISTEN_MAX + 1];	/* + admin */
	size_t			 nlisteners;
	struct px_conn_list	 conns;
	struct px_pool		 pool;		/* idle upstream connections */
	struct px_resolver	*resolver;	/* resolve.c; NULL until used */
	struct px_whoami	*whoami;	/* whoami.c; NULL until used */
	struct px_pcache	*pcache;	/* pcache.c; NULL until used */
	size_t			 npool;
	size_t			 nconns;
	uint64_t		 next_id;
	uint32_t		 boot;		/* random, in request ids */
	int			 draining;
	struct event		*ev_hup, *ev_term, *ev_int, *ev_drain;
	struct event		*ev_flush;	/* drain: store ops left */
	/* Counters for the access log and metrics. */
	uint64_t		 nrequests, npublish_allow, npublish_deny;
	struct px_egress	*egress;	/* egress.c; NULL when off */
	struct px_metrics	*m;		/* this worker's slot */
	struct px_metrics	*mall;		/* every worker's slot */
	size_t			 mn;		/* slots in mall */
	struct event		*ev_mpull;	/* metrics.c, workers > 1 */
	struct px_metrics	 m_own;		/* the slot of workers: 1 */
	char			 admin_token[256];	/* "" none */
	struct px_ui		*ui;		/* ui.c: console sessions */
	struct px_ppwait	*ppwaits;	/* conn.c: PROXY headers awaited */
	size_t			 nppwaits;
	void			*clients;	/* limit.c's table */
	size_t			 nclients;
	uint64_t		 client_cap_log_ms;
	/* Operations (serve.c sets them; admin.c's metrics show them). */
	char			 policy_sha256[65];	/* hex, "" unknown */
	int64_t			 start_ms;	/* wall clock, ms */
	int64_t			 reload_ok_ms;	/* last good reload/start */
	int			 reload_ok;	/* the last reload's result */
	uint64_t		 nreloads[2];	/* failed, succeeded */
	struct px_quar		*quar;		/* quarantine.c; NULL off */
	struct px_hooks		*hooks;		/* webhook.c; NULL off */
};

/* ------------------------------------------------------------ http.c */
/*
 * A parsed message head, copied out of llhttp's borrowed spans into one
 * bounded, growing buffer: the URL (requests) or the reason (responses),
 * then each field name and value, contiguously.
 */
struct px_hdr {
	uint32_t	 name, name_len;
	uint32_t	 value, value_len;
};

struct px_head {
	char		*buf;
	size_t		 len, cap, max;	/* max: the cap in bytes */
	uint32_t	 url, url_len;	/* or the reason phrase */
	struct px_hdr	*hdrs;
	size_t		 nhdrs, hdrs_cap, hdrs_max;
	int		 in_value;	/* last span appended was a value */
};

int	px_http_head_init(struct px_head *, size_t max_bytes, size_t max_hdrs);
void	px_http_head_reset(struct px_head *);
void	px_http_head_free(struct px_head *);	/* wipes it first */
/* Append a span; -1 when over the cap. */
int	px_http_head_url(struct px_head *, const char *, size_t);
int	px_http_head_field(struct px_head *, const char *, size_t);
int	px_http_head_value(struct px_head *, const char *, size_t);
/* The value of the first field called name (case-insensitive), or NULL;
 * *len gets its length.  Borrowed until the head is reset. */
const char	*px_http_head_get(const struct px_head *, const char *name,
		    size_t *len);
int		 px_http_head_join(const struct px_head *, const char *name,
		    char *out, size_t outlen);
/* The number of fields called name (case-insensitive). */
size_t	px_http_head_count(const struct px_head *, const char *name);
/* 1 if field i is hop-by-hop (RFC 9110 7.6.1) or named in Connection. */
int	px_http_hop_by_hop(const struct px_head *, size_t i);
/* Writes a complete error response with a JSON body {"error": text}. */
void	px_http_error(struct evbuffer *, int status, const char *text,
	    int keepalive);
const char	*px_http_reason(int status);
/*
 * px_http_feed() : runs p over the first contiguous bytes of in, at most
 * max; *used is what it took (all of them, or up to where a callback
 * paused it).  Drains nothing.  Returns llhttp's result (HPE_OK with
 * *used 0 when in is empty).
 */
llhttp_errno_t	px_http_feed(llhttp_t *p, struct evbuffer *in, size_t max,
		    size_t *used);

/* ---------------------------------------------------------- conn.c */
enum px_conn_state {
	PX_CONN_IDLE,		/* waiting for a request */
	PX_CONN_HEAD,		/* reading a request head */
	PX_CONN_BODY,		/* streaming a request body upstream */
	PX_CONN_SPOOL,		/* publish: spooling and inspecting the body */
	PX_CONN_REPLAY,		/* allowed publish: spool going upstream */
	PX_CONN_RESPONSE,	/* request sent, relaying the response */
	PX_CONN_LINGER,		/* final answer queued; discarding input */
	PX_CONN_RECORD,		/* waiting for the store to commit a record
				   (spool.c); rec_state is where it goes on */
};

enum px_route {
	PX_ROUTE_READ,		/* everything that is not a gated write */
	PX_ROUTE_PUBLISH,	/* PUT /<name> */
	PX_ROUTE_STAGE,		/* POST /-/stage/package/<name> */
	PX_ROUTE_WRITE,		/* dist-tag, unpublish, ... : rules, forward */
	PX_ROUTE_ACCOUNT,	/* login, tokens, orgs: body rule, forward */
	PX_ROUTE_ADMIN,		/* the admin API, answered here */
	PX_ROUTE_REFUSED = -1,	/* a write the gate does not know: 400 */
	PX_ROUTE_REFUSED_NAME = -2,	/* a write URL naming no valid package */
	PX_ROUTE_REFUSED_METHOD = -3,	/* PATCH, PROPFIND, ...: 405 */
};

enum px_resp_mode {
	PX_RESP_NONE,		/* no body (HEAD, 204, 304) */
	PX_RESP_LENGTH,		/* Content-Length passed through */
	PX_RESP_CHUNKED,	/* re-framed as chunked */
	PX_RESP_EOF,		/* close-delimited */
};

struct px_conn {
	struct px_ctx		*ctx;
	uint64_t		 id;
	TAILQ_ENTRY(px_conn)	 entry;
	enum px_conn_state	 state;
	struct bufferevent	*client;
	struct bufferevent	*up;
	int			 up_connected;
	int			 up_reusable;	/* upstream said keep-alive */
	char			 peer[64];	/* "ip:port" (PROXY's client) */
	char			*notice;	/* npm-notice for the response, or
						   NULL (an allowed publish's
						   warnings; malloc'd) */
	char			 fwd_for[64];	/* this request's X-Forwarded-For
						   client, "" none (addr.c) */
	int			 tls;
	int			 admin;		/* accepted on the admin listener */
	llhttp_t		 reqp;
	llhttp_t		 respp;
	llhttp_settings_t	 req_settings;
	llhttp_settings_t	 resp_settings;
	struct px_head		 req;
	struct px_head		 resp;

	/* The current request. */
	enum px_route		 route;
	const char		*kind;		/* "read", "publish", ... */
	int			 method;	/* llhttp_method_t */
	int			 http_minor;
	int			 keepalive;	/* client side, this request */
	int			 head_done, msg_done;
	int			 req_chunked;	/* body re-framed chunked upstream */
	uint64_t		 body_bytes;
	int			 err_status;	/* set by a parser callback */
	const char		*err_text;
	char			 err_buf[POL_TEXT_MAX + POL_HINT_MAX + POL_RULE_ID_MAX + 64];
	char			 reqid[40];
	char			 pkg[PX_NAME_MAX + 2];
	char			 who[17];
	uint64_t		 t_start_ms;
	uint64_t		 bytes_in, bytes_out;
	int			 status;	/* sent to the client */
	int			 up_status;
	const char		*verdict;	/* "allow", "deny", "-" */
	char			 rule[POL_RULE_ID_MAX];
	int			 paused_up;	/* upstream reads stopped (client slow) */
	int			 paused_client;	/* client reads stopped (upstream slow) */
	int			 logged;	/* access line written */
	int			 in_drive;	/* px_conn_drive() is on the stack */
	int			 up_eof;	/* upstream closed its side */
	int			 up_reused;	/* upstream served a request before */
	int			 retried;	/* this request was sent twice */
	int			 up_tries;	/* fresh connects for this request */
	int			 up_addr;	/* resolve.c's index; -1 none */
	int			 rs_list;	/* on a resolve.c list */
	TAILQ_ENTRY(px_conn)	 rs_entry;
	int			 resp_1xx;	/* current response is interim */
	int			 replay_started;	/* spool replay began */
	int			 rw_candidate;	/* GET of a packument: may rewrite */
	int			 rw_active;	/* rewriting this response body */
	size_t			 rw_carry_len;	/* bytes of a partial match */
	char			 rw_carry[PX_URL_MAX * 2];
	char			 rw_to[PX_URL_MAX + 16];	/* replacement */
	struct evbuffer		*rw_buf;	/* one rewritten chunk */
	int			 accept_gzip;	/* the client takes gzip */
	int			 resp_gzip;	/* the answer went out gzip */
	int			 rw_nop;	/* inflate only, no rewrite */
	int			 gz_in_end;	/* a gzip member ended */
	struct px_gzs		*gz_in;		/* inflating the upstream's */
	struct px_gzs		*gz_out;	/* gzip to the client */
	struct evbuffer		*gz_obuf;	/* one compressed chunk */
	/* pcache.c: this request's cache key, entry asked about, filling. */
	char			 pc_key[PX_PC_KEY_MAX];
	size_t			 pc_keylen;	/* 0: not cacheable */
	struct px_pc_ent	*pc_hit;	/* sent If-None-Match for it */
	int			 pc_had;	/* pc_key had an entry */
	struct px_pc_ent	*pc_fill;	/* this answer, being kept */
	const char		*pc_log;	/* cache=: -, hit, miss, changed */
	struct evbuffer		*wbody;		/* a held write body */
	int			 client_counted;	/* px_client_take() */
	struct event		*ev_deadline;	/* head deadline, body rate */
	int			 deadline_body;	/* ev_deadline checks the rate */
	uint64_t		 rate_mark;	/* body_bytes at the window start */

	/* The current response. */
	enum px_resp_mode	 resp_mode;
	int			 resp_head_sent;
	int			 resp_done;
	int			 resp_close;	/* close the client after it */
	int			 resp_ka;	/* upstream allows keep-alive */
	uint64_t		 resp_raw_left;	/* body bytes moved without llhttp */

	/* Publish (spool.c). */
	struct pol_policy	*policy;	/* ref taken when the request began */
	struct pol_stream	*stream;
	enum pol_status		 pst;
	int			 spool_fd;
	uint64_t		 spool_len, spool_off;	/* spool_len: body bytes
						   taken, flushed or not */
	char			*spool_buf;	/* PX_SPOOL_BUF, not yet written */
	size_t			 spool_buflen;
	uint64_t		 linger_bytes;
	int64_t			 audit_id;	/* record awaiting its status */
	struct px_prev		*prev;		/* prev.c: the previous version
						   being fetched, or NULL */
	/* A record being committed (spool.c's px_spool_record()). */
	struct px_store_op	*store_op;	/* NULL: none pending */
	int			(*rec_next)(struct px_conn *, int rc);
	enum px_conn_state	 rec_state;	/* the state to go back to */
	int			 rec_alerts;	/* the record has outbox rows */
	int			 rec_status;	/* the record's HTTP status */
	enum pol_verdict	 waiver_v;	/* waiver.c: the verdict a
						   pending waiver lookup
						   may change */
	char			*rec_text;	/* a refusal's text, malloc'd */
	/* An admin query in flight (admin.c's px_admin_query()). */
	void			*aq_arg;	/* owned; aq_free() */
	void			(*aq_free)(void *);
	int			(*aq_done)(struct px_conn *, void *, int,
				    const char *);
	struct px_filelist	*files;		/* record.c: the tarball's files */
	char			 user[PX_USER_MAX];	/* npm user name, "" */
	struct px_wm_ent	*wm;		/* whoami.c: the lookup this
						   request waits for, or NULL */
	TAILQ_ENTRY(px_conn)	 wm_entry;
	struct px_wm_defer	*wm_defer;	/* spool.c: a record waiting
						   for it */
	struct px_quar_tee	*quar;		/* quarantine.c: the tarball
						   being kept, or NULL */

	/* Egress mode (egress.c); both NULL on the reverse proxy's conns. */
	const struct px_egress_up *eg_up;	/* this conn's upstream */
	struct px_egress_sess	*eg;		/* owned; px_egress_conn_end() */
};

/*
 * px_conn_new() : takes ownership of fd (a connected client socket) and
 * starts serving it; ssl (may be NULL) is the server context.  Returns
 * the conn or NULL (fd closed).
 */
struct px_conn	*px_conn_new(struct px_ctx *, evutil_socket_t fd,
		    const struct sockaddr *sa, int salen, SSL_CTX *ssl);
/*
 * px_conn_adopt() : px_conn_new() for a client bufferevent that already
 * exists (egress.c: an intercepted CONNECT's TLS filter, or the plain bev
 * of an absolute-form request); takes ownership of bev (freed on
 * failure).  id: the conn id already logged; tls: bev speaks TLS.
 */
struct px_conn	*px_conn_adopt(struct px_ctx *, uint64_t id,
		    struct bufferevent *bev, const char *peer, int tls);
/* px_conn_close() : the only way a conn ends; frees it. */
void	px_conn_close(struct px_conn *, const char *reason);
/*
 * px_conn_abort() : answers status with a JSON error and lingers, then
 * closes (if a response head was already sent, closes at once).  Returns
 * -1 if the conn was freed, 0 if it lingers.
 */
int	px_conn_abort(struct px_conn *, int status, const char *text);
/* px_conn_drive() : parses client input; -1 if the conn was freed. */
int	px_conn_drive(struct px_conn *);
/* px_conn_resp_done() : the response is complete; -1 if freed. */
int	px_conn_resp_done(struct px_conn *);
void	px_conn_set_state(struct px_conn *, enum px_conn_state);
void	px_conn_access_log(struct px_conn *);
uint64_t	px_now_ms(void);
/* px_ctx_drain() : stop accepting; close when the last conn is done. */
void	px_ctx_drain(struct px_ctx *);
/*
 * px_ctx_drained() : a draining ctx has no conn left: ends the loop once
 * the decision store has no operation queued or in flight (a publish's
 * upstream status, say), checked every 20 ms; the drain timeout bounds it.
 */
void	px_ctx_drained(struct px_ctx *);

/* ---------------------------------------------------------- limit.c */
/*
 * px_client_take() : counts one more connection from peer ("ip:port");
 * -1 when that address already holds limits.client_conns (the caller
 * closes the socket).  px_client_drop() undoes one take.
 */
int	px_client_take(struct px_ctx *, const char *peer);

/* addr.c: trusted_proxies, X-Forwarded-For, the PROXY protocol header. */
struct sockaddr_storage;
int	px_cidr_parse(const char *, struct px_cidr *, const char **why);
int	px_cidr_match(const struct px_cidr *, size_t, const char *addr);
int	px_peer_host(const char *peer, char *out, size_t outlen);
int	px_xff_client(const char *v, size_t len, const struct px_cidr *,
	    size_t, char *out, size_t outlen);
int	px_pp_want(const unsigned char *, size_t);
int	px_pp_parse(const unsigned char *, size_t, struct sockaddr_storage *,
	    int *have);
/*
 * px_pp_accept() : fd was accepted on a proxy_protocol listener: reads the
 * PROXY header (within timeouts.header, from a trusted_proxies peer
 * only), then hands fd to px_conn_new() as the client it names.
 */
void	px_pp_accept(struct px_ctx *, evutil_socket_t, const struct sockaddr *,
	    int salen, SSL_CTX *, int admin);
/* px_pp_abort_all() : closes the connections still awaiting a header. */
void	px_pp_abort_all(struct px_ctx *);
/* px_conn_client() : the client address of the current request. */
/* px_conn_note_decision() : "\ndecision <id>: ..." appended to text. */
void	px_conn_note_decision(const struct px_conn *, char *text, size_t size);
const char	*px_conn_client(const struct px_conn *);
void	px_client_drop(struct px_ctx *, const char *peer);

/* ---------------------------------------------------------- route.c */
/*
 * px_route_classify() : the route of a request from its method and path
 * (no query); fills name with the decoded package name (package routes
 * only) and *kind ("read", "publish", "dist-tag", "login", ...).  A
 * negative PX_ROUTE_REFUSED* for a write the gate does not forward.
 */
int	px_route_classify(int method, const char *path, size_t len, char *name,
	    size_t namelen, const char **kind);
/* px_route_name_ok() : a decoded package name npm's rules accept. */
int	px_route_name_ok(const char *name, size_t len);
/*
 * px_route_json_type() : a Content-Type value the registry reads as
 * UTF-8 JSON: "application/json", alone or with charset=utf-8.
 */
int	px_route_json_type(const char *v, size_t len);

/* ----------------------------------------------------------- fwd.c */
/* px_fwd_connect() : makes sure conn->up exists (connecting is fine). */
int	px_fwd_connect(struct px_conn *);
/* px_fwd_request_head() : writes the upstream request head. */
int	px_fwd_request_head(struct px_conn *, int chunked, uint64_t length);
/* px_fwd_body() : forwards request body bytes (framed). */
void	px_fwd_body(struct px_conn *, const char *, size_t);
void	px_fwd_body_end(struct px_conn *);
/* px_fwd_pc_end() : drops conn's packument cache entry and fill. */
void	px_fwd_pc_end(struct px_conn *);
/* px_fwd_gz_free() : ends a response's (de)compression streams. */
void	px_fwd_gz_free(struct px_conn *);
/* px_fwd_free_up() : drops the upstream connection. */
void	px_fwd_free_up(struct px_conn *);
/* px_fwd_pool_free() : closes every pooled upstream connection. */
void	px_fwd_pool_free(struct px_ctx *);
/*
 * px_fwd_pool_take() : an idle keep-alive connection to the reverse
 * proxy's upstream (its callbacks are the pool's: set new ones), or NULL.
 * px_fwd_pool_give() : takes ownership of bev, idle after a complete
 * keep-alive response: parked, or freed when the pool cannot take it.
 */
struct bufferevent	*px_fwd_pool_take(struct px_ctx *);
void	px_fwd_pool_give(struct px_ctx *, struct bufferevent *, int tls);
/* px_fwd_drive() : parses upstream input toward the client; -1 if freed. */
int	px_fwd_drive(struct px_conn *);

/*
 * px_fwd_resolved() : resolve.c's answer for a conn that waited for the
 * upstream's name: err NULL (dial now) or why it cannot be resolved.
 */
void	px_fwd_resolved(struct px_conn *, const char *err);

/* -------------------------------------------------------- resolve.c */
/*
 * px_resolve_connect() : starts conn->up's connect to an address of the
 * reverse proxy's upstream (cached; round robin, failed ones set aside),
 * or queues conn until the name resolves (px_fwd_resolved, later).
 * Counts one try in conn->up_tries.  0 or -1.
 */
int	px_resolve_connect(struct px_conn *);
/*
 * px_resolve_addr() : an address of the reverse proxy's upstream from the
 * cache (round robin) into ss; 0, or -1 when none is known yet (a lookup
 * is started; dial the name with evdns meanwhile).
 */
int	px_resolve_addr(struct px_ctx *, struct sockaddr_storage *, int *len);
/* px_resolve_cancel() : conn stops waiting for the name (no-op if not). */
void	px_resolve_cancel(struct px_conn *);
/* px_resolve_result() : conn's connect to its address worked (ok) or not. */
void	px_resolve_result(struct px_conn *, int ok);
/* px_resolve_may_retry() : 1 if conn may dial once more (counted). */
int	px_resolve_may_retry(struct px_conn *);
void	px_resolve_free(struct px_ctx *);
struct px_resolve_stats {
	size_t		 naddrs;
	uint64_t	 ok, fail, retries;
	unsigned	 ttl_ms;
	int		 busy, waiting;
};
void	px_resolve_stats(const struct px_ctx *, struct px_resolve_stats *);
/* px_resolve_metrics() : the upstream lines of /-/pubgate/metrics. */
void	px_resolve_metrics(const struct px_ctx *, const struct px_metrics *sum,
	    FILE *);

/* ---------------------------------------------------------- spool.c */
/* px_spool_begin() : a publish head arrived; -1 if the conn was freed. */
int	px_spool_begin(struct px_conn *);
/* px_spool_body() : body bytes (inside llhttp on_body); 0 or -1 (stop). */
int	px_spool_body(struct px_conn *, const char *, size_t);
/* px_spool_end() : body complete: judge, record, answer or replay. */
int	px_spool_end(struct px_conn *);
/* px_spool_pump() : moves spool bytes upstream; -1 if freed. */
int	px_spool_pump(struct px_conn *);
/* px_spool_connected() : the upstream for a replay is up. -1 if freed. */
int	px_spool_connected(struct px_conn *);
/* px_spool_up_failed() : the upstream for a replay failed. */
void	px_spool_up_failed(struct px_conn *, int status, const char *text);
void	px_spool_reset(struct px_conn *);
/* px_spool_who() : 16 hex chars of SHA-256 of the bearer token, or "". */
void	px_spool_who(const char *auth, size_t len, char out[17]);
/*
 * What a client gets when its decision cannot be committed (the store is
 * down or did not confirm the commit): 503, nothing forwarded.
 */
#define PX_TEXT_NOT_RECORDED	"pubgate: the decision could not be " \
	"recorded (the decision store is unavailable); nothing was " \
	"forwarded: try again shortly"
/*
 * px_spool_next : what follows a record once the store has answered:
 * rc 0 committed, -1 not (answer 503).  Returns -1 if the conn was freed.
 */
typedef int px_spool_next(struct px_conn *, int rc);
/*
 * px_spool_record() : queues the decision record without waiting.
 * Returns 0 when it is pending: the conn is in PX_CONN_RECORD until
 * next(conn, rc) is called from the loop (never from inside this call);
 * 1 when there is no store (unit tests): nothing recorded, go on now;
 * -1 when the store refused it at once (down, busy): answer 503, next
 * is not called.  next NULL: fire and forget (the conn does not wait).
 * A record with status 0 (allowed, not yet forwarded) keeps its id in
 * conn->audit_id for px_spool_status().
 */
int	px_spool_record(struct px_conn *, enum pol_verdict, int status,
	    const struct pol_report *, px_spool_next *next);
/*
 * px_spool_record_then() : px_spool_record(), then next at once when
 * nothing is pending (no store: rc 0; refused: rc -1).  -1 if freed.
 */
int	px_spool_record_then(struct px_conn *, enum pol_verdict, int status,
	    const struct pol_report *, px_spool_next *next);
/*
 * px_spool_refused() : the px_spool_next of a refusal: rc 0 answers
 * rec_status with conn->rec_text (taken and freed) or err_buf; rc -1 503.
 */
int	px_spool_refused(struct px_conn *, int rc);
/*
 * px_spool_blocked() : px_spool_refused() for a refused publish: with
 * rc 0 its tarball is kept in quarantine first (quarantine.c).
 */
int	px_spool_blocked(struct px_conn *, int rc);
/*
 * px_spool_record_reason() : a deny decided before any engine ran (a
 * refused route, charset, write body): recorded with that one reason,
 * as px_spool_record().
 */
int	px_spool_record_reason(struct px_conn *, int status,
	    const struct pol_reason *, px_spool_next *next);
/*
 * px_spool_status() : the status of conn->audit_id's record is known:
 * queued for the store, not waited for.
 */
void	px_spool_status(struct px_conn *, int status);

/* gate/waiver.c: waivers and approval: required at the verdict. */
enum px_waiver_res {
	PX_WAIVER_NONE = 0,	/* the verdict stands */
	PX_WAIVER_ALLOW,	/* a reviewer's waiver lets this tarball through */
	PX_WAIVER_AWAIT,	/* approval: required and none yet: refuse */
	PX_WAIVER_ERR,		/* the store failed: refuse (503) */
	PX_WAIVER_PENDING,	/* looked up: px_spool_waived() follows */
};
/*
 * px_waiver_gate() : after the engine's verdict v on a publish whose body
 * was read whole: a blocked tarball (every reason waivable) or an allowed
 * one under approval: required takes one use of a valid waiver for its
 * package, version and sha512 (recorded as "waiver-use"), and then
 * conn->notice says so.  The lookup is the store's asynchronous call:
 * PX_WAIVER_PENDING, the conn waits in PX_CONN_RECORD and
 * px_spool_waived() is called from the loop with the answer.  Answers
 * that need no lookup are returned at once.
 */
enum px_waiver_res px_waiver_gate(struct px_conn *, const struct pol_report *,
	    enum pol_verdict v);
/*
 * px_waiver_await() : answers PX_WAIVER_AWAIT: records the publish as
 * blocked (reason approval.required) and sends the 403 that names the
 * decision to approve.  -1 if the conn was freed.
 */
int	px_waiver_await(struct px_conn *, const struct pol_report *);

/*
 * px_spool_waived() : the verdict v after the waiver lookup's answer res
 * (record, then 403 or the replay).  -1 if the conn was freed.
 */
int	px_spool_waived(struct px_conn *, enum px_waiver_res res,
	    enum pol_verdict v, const struct pol_report *);

/*
 * px_spool_verdict() : acts on the final verdict of a publish (record,
 * then 403/413/400 or the replay); early: decided before the body ended.
 * -1 if the conn was freed.
 */
int	px_spool_verdict(struct px_conn *, enum pol_verdict,
	    const struct pol_report *, int early);

/* ----------------------------------------------------- quarantine.c */
/*
 * Blocked tarballs kept for review: <quarantine.dir>/<decision id>.tgz,
 * 0600, the record's sha512; oldest deleted past max, expired past keep.
 */

struct px_quar {
	int		 dirfd, lockfd;
	char		 dir[PATH_MAX];
	uint64_t	 keep_ms, max_bytes;
	uint64_t	 part_stale_ms;	/* a part older is a dead process's */
	struct event	*ev_sweep;
	unsigned	 sweep_ms;
	/* For the metrics: the worker's slot (or own, unserved). */
	struct px_quar_count own, *c;
};

/* A kept file as a sweep sees it; del is its fate. */
enum px_quar_del { PX_QUAR_KEEP, PX_QUAR_EXPIRED, PX_QUAR_EVICTED };
struct px_quar_ent {
	char		 name[PX_QUAR_NAME_MAX];
	uint64_t	 size;
	int64_t		 mtime_ms;
	enum px_quar_del del;
};

/* What one sweep did. */
struct px_quar_sweep {
	uint64_t	 expired, evicted, parts;
	uint64_t	 files, bytes;	/* kept after it */
	uint64_t	 ms;
	int		 capped;	/* over PX_QUAR_FILES_MAX files */
};

/*
 * px_quar_check_dir() : dir is a folder (not a symbolic link) owned by
 * this user and not writable by group or others; missing, it is made
 * 0700 when create, else it must be makeable (serve -n makes nothing).
 * 0, or -1 and why in err.
 */
int	px_quar_check_dir(const char *dir, int create, char *err,
	    size_t errlen);
/*
 * px_quar_new() : opens a checked folder (its descriptor and lock file);
 * NULL and why.  px_quar_free(NULL) is a no-op.
 */
struct px_quar	*px_quar_new(const char *dir, uint64_t keep_ms,
		    uint64_t max_bytes, char *err, size_t errlen);
void	px_quar_free(struct px_quar *);
/*
 * px_quar_start() : a serving process's quarantine (cfg->quar.dir set):
 * opened, swept, its sweep timer armed on ctx->base.  0, or -1 logged.
 */
int	px_quar_start(struct px_ctx *);
/*
 * px_quar_plan() : sorts e oldest first and marks each: expired (older
 * than keep_ms at now_ms; keep_ms 0: never), then evicted, oldest first,
 * until what stays plus incoming bytes fits in max_bytes.  Returns the
 * bytes that stay.  Pure: the sweep's decisions, for tests.
 */
uint64_t	px_quar_plan(struct px_quar_ent *, size_t n, int64_t now_ms,
		    uint64_t keep_ms, uint64_t max_bytes, uint64_t incoming);
/*
 * px_quar_sweep() : deletes q's expired files, stale parts and the oldest
 * files past max (leaving room for incoming bytes), under the folder's
 * lock taken without waiting.  0 done (sw filled), 1 another process
 * holds the lock (nothing done), -1 error.
 */
int	px_quar_sweep(struct px_quar *, int64_t now_ms, uint64_t incoming,
	    struct px_quar_sweep *sw);
/* px_quar_begin() : a publish starts (conn->quar, when on); 0 or -1. */
int	px_quar_begin(struct px_conn *);
/* px_quar_tee() : the engine's pol_bytes_fn (arg: the conn). */
void	px_quar_tee(void *arg, const void *buf, size_t len);
/*
 * px_quar_keep() : conn's publish was refused and its record committed:
 * keeps its tarball as <id>.tgz when it is whole and rep's (sha512,
 * size); else logs and counts why not.  Never fails the request.
 */
void	px_quar_keep(struct px_conn *, const struct pol_report *rep);
/* px_quar_drop() : not kept: the part is unlinked (no-op without one). */
void	px_quar_drop(struct px_conn *);
/* px_quar_id_ok() : id has a decision id's shape (hex digits and '-'). */
int	px_quar_id_ok(const char *id, size_t len);
/*
 * px_quar_open_kept() : a read-only descriptor of decision id's kept
 * tarball, st its stat; -1 (errno ENOENT when there is none, or
 * quarantine is off).
 */
int	px_quar_open_kept(const struct px_ctx *, const char *id, size_t idlen,
	    struct stat *st);
/* px_quar_metrics() : the pubgate_quarantine_* lines (none when off). */
void	px_quar_metrics(const struct px_ctx *, const struct px_metrics *sum,
	    FILE *);

/* px_tv_ms() : *tv set to ms milliseconds; returns tv. */
static inline struct timeval *
px_tv_ms(struct timeval *tv, unsigned ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* ---------------------------------------------------------- upget.c */
/*
 * A GET to the upstream registry (prev.c, whoami.c).  head: the status
 * and the content coding (gzip, or bad: another or several); body: the
 * body's bytes as they arrive; each returns 0, or -1 to end the fetch
 * as unreadable (fail with parse 1).  done: the answer is complete (the
 * connection is idle: px_upget_get() may send another GET).  fail: the
 * fetch failed with a log-safe reason (parse: the answer could not be
 * read, else the connection).  After done or fail the ops own ug again:
 * free it, or ask again.
 */
struct px_upget;
struct px_upget_ops {
	int	(*head)(void *arg, int status, int gzip, int bad);
	int	(*body)(void *arg, const char *at, size_t len);
	void	(*done)(void *arg);
	void	(*fail)(void *arg, int parse, const char *why);
};
/*
 * px_upget_new() : a fetcher for conn's upstream (the reverse proxy's,
 * or an egress conn's intercepted host), copied: it may outlive conn.
 */
struct px_upget	*px_upget_new(const struct px_conn *,
		    const struct px_upget_ops *, void *arg);
/*
 * px_upget_get() : sends GET path with headers (each line ending in
 * CRLF, or NULL) and, when auth is not NULL, the Authorization value
 * auth[0..authlen) (never logged; wiped once answered).  0, or -1 (no
 * op is called).
 */
int		 px_upget_get(struct px_upget *, const char *path,
		    const char *headers, const char *auth, size_t authlen);
/* px_upget_url() : the upstream it asks. */
const struct px_url *px_upget_url(const struct px_upget *);
/*
 * px_upget_free() : ends it; a complete keep-alive answer's connection
 * goes to the pool when reusable.  NULL is a no-op.
 */
void		 px_upget_free(struct px_upget *, int reusable);

/* --------------------------------------------------------- pcache.c */
struct px_pcache;
struct px_pc_ent;
enum { PX_PC_HIT, PX_PC_MISS, PX_PC_STORE, PX_PC_EVICT };
/* px_pcache_get() : key's entry with a reference taken, or NULL. */
struct px_pc_ent *px_pcache_get(struct px_ctx *, const char *key, size_t);
/* px_pcache_etag() : the upstream's ETag the entry was stored with. */
const char *px_pcache_etag(const struct px_pc_ent *, size_t *len);
/* px_pcache_unref() : drops a reference; NULL ok. */
void	px_pcache_unref(struct px_pc_ent *);
/*
 * px_pcache_fill_start() : a new entry for key (not visible until
 * px_pcache_fill_done), holding head (header lines as sent) and the
 * upstream's etag; NULL when off, too big or out of memory.
 */
struct px_pc_ent *px_pcache_fill_start(struct px_ctx *, const char *key,
	    size_t keylen, const char *etag, size_t etaglen, int gzip,
	    const char *head, size_t headlen);
/* px_pcache_fill_body() : copies b's bytes (b kept); -1: over a cap. */
int	px_pcache_fill_body(struct px_pc_ent *, struct evbuffer *b);
/* px_pcache_fill_done() : the body is whole: the entry replaces key's. */
void	px_pcache_fill_done(struct px_pc_ent *);
/* px_pcache_fill_abort() : the entry is dropped. */
void	px_pcache_fill_abort(struct px_pc_ent *);
/*
 * px_pcache_serve() : the entry's header lines (CRLF each; valid while
 * the entry is referenced) and its body into body (by reference); its
 * coding and length.  0 or -1.
 */
int	px_pcache_serve(struct px_pc_ent *, const char **head, size_t *headlen,
	    struct evbuffer *body, int *gzip, size_t *len);
/* px_pcache_free() : the worker's cache; entries in use free later. */
void	px_pcache_free(struct px_ctx *);
/* px_pcache_metrics() : the pubgate_packument_cache_* lines of sum. */
void	px_pcache_metrics(const struct px_ctx *, const struct px_metrics *sum,
	    FILE *f);

/* --------------------------------------------------------- whoami.c */
struct px_whoami;
struct px_wm_ent;
struct px_wm_defer;
/*
 * px_whoami_start() : a gated write's head is read: conn->user is the
 * cached npm user name of its token (or ""), or a lookup is started (or
 * joined) and conn->wm set until it ends.  Never fails the request.
 */
void	px_whoami_start(struct px_conn *);
/* px_whoami_cancel() : conn no longer waits (it ended); no-op if not. */
void	px_whoami_cancel(struct px_conn *);
/* px_whoami_free() : the cache and its lookups (ctx->whoami); NULL ok. */
void	px_whoami_free(struct px_whoami *);
/* px_whoami_username() : the "username" of a whoami answer; 0 or -1. */
int	px_whoami_username(const char *, size_t, char *out, size_t outlen);
struct px_whoami_stats {
	uint64_t	 lookups, hits, failures, evictions;
	size_t		 entries;
};
void	px_whoami_stats(const struct px_ctx *, struct px_whoami_stats *);
/* px_whoami_metrics() : the pubgate_whoami_* lines of sum (none if off). */
void	px_whoami_metrics(const struct px_ctx *, const struct px_metrics *sum,
	    FILE *);
/*
 * px_spool_whoami_done() : (spool.c) conn's lookup ended, conn->user is
 * set: a record deferred for it is written now.
 */
void	px_spool_whoami_done(struct px_conn *);

/* ----------------------------------------------------------- prev.c */
/*
 * px_prev_start() : pol_publish_end() said POL_PENDING: fetches the
 * package's packument and the previous version's tarball from conn's
 * upstream, asynchronously, then ends the judgement with
 * pol_publish_prev_end() and calls px_spool_verdict().  -1 if the conn
 * was freed.
 */
int	px_prev_start(struct px_conn *);
/* px_prev_free() : stops a fetch in flight (conn closed); NULL no-op. */
void	px_prev_free(struct px_prev *);
/* ---------------------------------------------------------- record.c */
struct px_store_rec;
struct px_filelist;
/* Storage px_record_fill() points a record's strings into. */
struct px_record_bufs {
	char	 target[300];
	char	 tag[64];
	char	 tag_new[128];
	char	 outbox[PX_HOOKS_MAX * (PX_HOOK_NAME_MAX + 1)];
};
/* px_record_files_begin() : a publish starts: an empty file list; 0/-1. */
int	px_record_files_begin(struct px_conn *);
void	px_record_files_free(struct px_conn *);
/* px_record_on_file() : pol_file_fn for conn (arg): one tarball file. */
void	px_record_on_file(void *arg, const char *path, uint64_t size,
	    const unsigned char sha256[32]);
/*
 * px_record_fill() : the issue 10 fields of rec (path, CONNECT target,
 * policy, user, dist-tag value, file list), borrowed from conn and b
 * until the record is written.
 */
void	px_record_fill(struct px_conn *, struct px_store_rec *,
	    struct px_record_bufs *);
/*
 * px_record_outbox() : the names of cfg's webhooks that take event (a
 * PX_HOOK_EV_* bit), one per line, into out ("" none).
 */
void	px_record_outbox(const struct px_cfg *, unsigned event, char *out,
	    size_t outlen);

/* --------------------------------------------------------- webhook.c */
struct px_hooks;
struct px_store_row;
/*
 * px_hook_start() : worker 0 of a gate with webhooks: reads the secrets
 * and starts the deliverer's thread (ctx->hooks); 0, or -1 with one line
 * in err (a secret that cannot be read).  Nothing without webhooks.
 */
int	px_hook_start(struct px_ctx *, char *err, size_t errlen);
/* px_hook_stop() : gives the leases in flight back, joins the thread. */
void	px_hook_stop(struct px_ctx *);
/* px_hook_wake() : a record with alerts was committed: poll now. */
void	px_hook_wake(struct px_ctx *);
/* px_hook_reload() : SIGHUP: the secret files read again; 0 or -1. */
int	px_hook_reload(struct px_ctx *);
/* px_hook_check() : serve -n: secret files and CA files load; 0 or -1. */
int	px_hook_check(const struct px_cfg *, char *err, size_t errlen);
/* px_hook_metrics() : pubgate_webhook_* for /-/pubgate/metrics. */
void	px_hook_metrics(struct px_ctx *, FILE *);
/* px_hook_event() : "block", "waiver" or "monitor": what r alerts of. */
const char *px_hook_event(const struct px_store_row *);
/*
 * px_hook_payload() : the body POSTed for r as delivery of webhook hook:
 * the generic JSON document or Slack's {"text"}; 0, or -1.
 */
int	px_hook_payload(FILE *, const struct px_store_row *, int64_t delivery,
	    const char *hook, enum px_hook_format);
/* px_hook_sign() : "sha256=<hex HMAC-SHA256 of body under key>". */
void	px_hook_sign(const unsigned char *key, size_t keylen,
	    const void *body, size_t len, char out[72]);
/* px_hook_backoff_ms() : the wait after a failed attempt (jitter rnd). */
int64_t	px_hook_backoff_ms(int attempts, uint32_t rnd);
/* px_hook_read_secret() : a secret_file's key (trailing newlines cut). */
int	px_hook_read_secret(const char *path, unsigned char **key,
	    size_t *len, char *err, size_t errlen);

/* ---------------------------------------------------------- admin.c */
/* px_admin_answer() : answers an admin request; -1 if the conn was freed. */
int	px_admin_answer(struct px_conn *);
/* px_admin_count() : adds a finished request to the metrics. */
void	px_admin_count(struct px_conn *);
/* px_admin_observe() : one publish inspected in ms. */
void	px_admin_observe(struct px_ctx *, uint64_t ms);
/* px_admin_rule() : one denial by rule. */
void	px_admin_rule(struct px_ctx *, const char *rule);
/* px_admin_load_token() : (re)reads admin.token_file; 0 or -1 (kept). */
int	px_admin_load_token(struct px_ctx *);
/* px_ui_free() : (ui.c) ends every console session. */
void	px_ui_free(struct px_ctx *);

/* ---------------------------------------------------------- serve.c */
/* px_ctx_init() : event base, DNS, TLS contexts, listeners; 0 or -1. */
int	px_ctx_init(struct px_ctx *, struct px_cfg *, struct pol_policy *,
	    int listen);
void	px_ctx_free(struct px_ctx *);

/* ---------------------------------------------------------- egress.c */
/*
 * Egress mode: the egress listener (plain HTTP proxy protocol), CONNECT
 * interception with leaves from certs/, blind tunnels.  An intercepted
 * CONNECT (or an absolute-form http:// request to an intercepted host)
 * becomes a struct px_conn whose eg_up names its upstream: always TLS,
 * verified against upstream_ca or the system store with the intercepted
 * host name.
 */
struct px_egress;
struct px_egress_sess;
struct sockaddr;
struct yaml_document_s;
struct yaml_node_s;

/* The upstream of an egress conn (fwd.c reads it through px_conn_up()). */
struct px_egress_up {
	struct px_url	 u;		/* https://name[:port]: Host, SNI, check */
	char		 addr[256];	/* connect here: mapped address or name */
	char		 port[8];
	SSL_CTX		*ssl;		/* borrowed from struct px_egress */
};

struct px_egress_stats {
	uint64_t	 leaf_hits, leaf_misses;
	size_t		 leaf_size;
	size_t		 conns;		/* egress conns not yet adopted */
	size_t		 tunnels;	/* CONNECTs open (tunnel or intercept) */
};

/* px_conn_up() : the upstream URL conn talks to. */
static inline const struct px_url *
px_conn_up(const struct px_conn *conn)
{
	return conn->eg_up != NULL ? &conn->eg_up->u : &conn->ctx->cfg->up;
}

/* px_egress_cfg_walk() : the "egress" mapping of the settings file. */
void	px_egress_cfg_walk(struct px_cfg *, struct px_cfg_errs *,
	    const char *file, struct yaml_document_s *, struct yaml_node_s *);
/* px_egress_cfg_apply() : flags, defaults, validation; 0 or -1. */
int	px_egress_cfg_apply(struct px_cfg *, const struct px_cfg_flags *,
	    struct px_cfg_errs *, const char *where);
/* px_egress_host_parse() : "HOST[:PORT][=ADDR:PORT]"; 0 or -1 + why. */
int	px_egress_host_parse(const char *, struct px_egress_host *,
	    const char **why);
/* px_egress_ip_literal() : 1 if host is (or resolves as) an address. */
int	px_egress_ip_literal(const char *host);
/*
 * px_egress_init() : the CA, leaf cache and TLS contexts, and with
 * listen the egress listener; a no-op when egress is off.  0 or -1.
 */
int	px_egress_init(struct px_ctx *, int listen);
void	px_egress_drain(struct px_ctx *);
void	px_egress_free(struct px_ctx *);
/* px_egress_accept() : takes ownership of fd, an egress client; 0 or -1. */
int	px_egress_accept(struct px_ctx *, evutil_socket_t fd,
	    const struct sockaddr *, int salen);
/*
 * px_egress_request() : route()'s check of each request of an egress
 * conn: the target and Host must name this conn's host; an absolute-form
 * target is cut to its path.  0, or -1 with the status and text to answer.
 */
int	px_egress_request(struct px_conn *, int *status, const char **text);
/* px_egress_conn_end() : px_conn_close()'s hook: access line, slot, free. */
void	px_egress_conn_end(struct px_conn *);
void	px_egress_stats(const struct px_ctx *, struct px_egress_stats *);
/*
 * px_egress_reload() : SIGHUP: a new CA and leaf cache, or the old kept
 * (-1, logged).  0 when loaded or egress is off.
 */
int	px_egress_reload(struct px_ctx *);
/* px_egress_metrics() : egress lines of /-/pubgate/metrics (if on). */
void	px_egress_metrics(const struct px_ctx *, const struct px_metrics *sum,
	    FILE *);
/* px_egress_check() : for -n: the CA and leaf minting work; 0 or -1 + err. */
int	px_egress_check(const struct px_cfg *, char *err, size_t errlen);

#endif /* PUBGATE_PROXY_INT_H */
