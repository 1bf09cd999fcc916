/*
 * proxy/cmd/serve.c: `pubgate serve`, the daemon's startup and operations.
 *
 * It parses the flags, loads the server settings (config.c) and the org
 * policy (policy.h: a file, or the embedded strict policy), builds the
 * daemon context (event base, evdns, the upstream TLS context, one
 * listener per `listen` entry, the decision store) and runs the event
 * loop.  Signals are libevent signal events, so they run in the loop:
 *   SIGHUP          reload the policy file and the listeners' TLS certs;
 *                   what fails to load leaves the old one in place, and
 *                   requests in flight keep the policy they started with;
 *   SIGTERM/SIGINT  stop accepting, finish the requests in flight
 *                   (at most PX_DRAIN_TIMEOUT_MS), exit 0.
 * Under systemd's Type=notify ($NOTIFY_SOCKET set) it says READY=1 once
 * the listeners are bound, RELOADING=1 and READY=1 around a reload and
 * STOPPING=1 at SIGTERM (px_notify(): the datagram protocol, no
 * libsystemd).
 * With -n it only checks the settings, the policy and the TLS files.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <netdb.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "store.h"
#include "log.h"
#include "proxy-int.h"
#include "serve.h"

static void
serve_usage(FILE *f)
{
	fprintf(f,
	    "usage: pubgate serve [-nv] [-c pubgate.yaml] [--listen URL] "
	    "[--upstream URL]\n"
	    "                     [--upstream-ca FILE] [--policy FILE] "
	    "[--tls-cert FILE --tls-key FILE]\n"
	    "                     [--db FILE] [--admin URL] [--workers N|auto]\n"
	    "                     [--egress-listen URL --ca-cert FILE "
	    "--ca-key FILE]\n"
	    "                     [--intercept HOST[=ADDR:PORT]]... "
	    "[--tunnel HOST]...\n");
}

/*
 * px_notify() : one message of systemd's notify protocol (sd_notify(3),
 * written here: one datagram of "KEY=VALUE" lines to the AF_UNIX socket
 * named by $NOTIFY_SOCKET; '@' starts an abstract name).  No socket set
 * (not under Type=notify) is no-op; a failed send is logged, never fatal.
 */
static void
px_notify(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 plen;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	if ((plen = strlen(path)) >= sizeof(sun.sun_path)) {
		px_log_warnx("event=notify-failed error=\"NOTIFY_SOCKET too "
		    "long\"");
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + plen)) == -1)
		px_log_warn("event=notify-failed socket=%s", path);
	else
		px_log_debug("event=notified what=%.*s", (int)strcspn(msg,
		    "\n"), msg);
	if (fd != -1)
		close(fd);
}

/* notify_reloading() : RELOADING=1 with the time systemd 253+ asks for. */
static void
notify_reloading(void)
{
	struct timespec	 ts;
	char		 msg[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	px_notify(msg);
}

/*
 * ready() : this process is serving (after start or a reload).  Alone,
 * it tells systemd READY=1; as one of `workers:` it tells the supervisor
 * (a queued real-time signal, one per event), which tells systemd once
 * every worker has answered.
 */
static void
ready(const struct px_cfg *cfg)
{
	if (cfg->workers > 1)
		kill(getppid(), SIGRTMIN);
	else
		px_notify("READY=1\nSTATUS=serving");
}

/* wall_ms() : the wall clock in ms (metrics' timestamps). */
static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * read_policy() : the policy file's bytes (malloc'd, *len) or NULL when
 * it cannot be read whole within PX_POLICY_READ_MAX; the loader then
 * opens it itself and says why.  One reading feeds both the SHA-256 and
 * the loader, so the hash is that of the policy in force.
 */
#define PX_POLICY_READ_MAX	(4u << 20)	/* over policy/'s own cap */
static char *
read_policy(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = malloc(PX_POLICY_READ_MAX + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, PX_POLICY_READ_MAX + 1, f);
	if (ferror(f) || n > PX_POLICY_READ_MAX) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/*
 * The supervisor's private detector cache (workers above 1, no cache_dir):
 * a folder it makes under spool_dir at the start and empties and removes
 * at its exit, so that at a SIGHUP the workers read the detectors it has
 * just compiled instead of each compiling them again.
 */
static char	 priv_cache[PATH_MAX];

/* cache_dir() : where the compiled secret detectors are cached, or NULL. */
static const char *
cache_dir(const struct px_cfg *cfg)
{
	if (cfg->cache_dir[0] != '\0')
		return cfg->cache_dir;
	return priv_cache[0] != '\0' ? priv_cache : NULL;
}

/* priv_cache_make() : priv_cache, 0700 under spool_dir; "" if it fails. */
static void
priv_cache_make(const struct px_cfg *cfg)
{
	const char	*dir = cfg->spool_dir[0] != '\0' ? cfg->spool_dir : "/tmp";

	if ((size_t)snprintf(priv_cache, sizeof(priv_cache),
	    "%s/pubgate-detectors.XXXXXX", dir) >= sizeof(priv_cache) ||
	    mkdtemp(priv_cache) == NULL) {
		px_log_warn("event=detector-cache-private dir=%s "
		    "note=\"reloads compile in every worker\"", dir);
		priv_cache[0] = '\0';
	}
}

/* priv_cache_remove() : empties and removes priv_cache (its own names). */
static void
priv_cache_remove(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 fd;

	if (priv_cache[0] == '\0' || (d = opendir(priv_cache)) == NULL)
		return;
	fd = dirfd(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0))
			(void)unlinkat(fd, e->d_name, 0);
	closedir(d);
	if (rmdir(priv_cache) == -1)
		px_log_warn("event=detector-cache-private-rmdir dir=%s",
		    priv_cache);
	priv_cache[0] = '\0';
}

/* sha256_hex() : hex SHA-256 of buf into out[65] ("" on failure). */
static void
sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return;
	px_hex(md, mdlen, out);
}

/*
 * load_policy() : the policy file, or the embedded strict policy when
 * path is empty, its secret detectors read from or stored in cache_dir
 * (NULL: compiled, not stored).  Returns a reference and the SHA-256 of
 * its text in sha (hex), or NULL with each error written to stderr (as
 * log lines when as_log).
 */
static struct pol_policy *
load_policy(const char *path, const char *cache_dir, int as_log,
    char sha[65])
{
	struct pol_errors	*errs;
	struct pol_policy	*p;
	struct pol_load_opts	 opts;
	char			 line[POL_ERRMSG_MAX + 300];
	const char		*text;
	char			*buf = NULL;
	size_t			 i, len = 0;

	sha[0] = '\0';
	opts.cache_dir = cache_dir;
	if ((errs = calloc(1, sizeof(*errs))) == NULL)
		return NULL;
	if (path[0] == '\0') {
		text = pol_default_policy_text(&len);
		if ((p = pol_load_buf_opts("(built-in strict.yaml)", text, len,
		    &opts, errs)) != NULL)
			sha256_hex(text, len, sha);
	} else if ((buf = read_policy(path, &len)) != NULL) {
		if ((p = pol_load_buf_opts(path, buf, len, &opts, errs)) !=
		    NULL)
			sha256_hex(buf, len, sha);
		free(buf);
	} else
		p = pol_load_file(path, errs);	/* it says what failed */
	if (p == NULL) {
		for (i = 0; i < errs->count && i < POL_ERRORS_MAX; i++) {
			pol_errors_format(errs, i, line, sizeof(line));
			if (as_log)
				px_log_warnx("event=policy-error error=\"%s\"",
				    px_log_quote(line, sizeof(line), line));
			else
				fprintf(stderr, "%s\n", line);
		}
		if (errs->count == 0) {
			if (as_log)
				px_log_warnx("event=policy-error file=%s",
				    path[0] ? path : "(default)");
			else
				fprintf(stderr, "%s: cannot load the policy\n",
				    path[0] ? path : "(default)");
		}
	}
	free(errs);
	return p;
}

/* accept_cb() : a new client on one listener. */
static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct px_listener	*l = arg;
	struct px_conn		*conn;

	if (l->cfg->proxy_protocol) {
		px_pp_accept(l->ctx, fd, sa, salen, l->ssl, l->admin);
		return;
	}
	if ((conn = px_conn_new(l->ctx, fd, sa, salen, l->ssl)) != NULL)
		conn->admin = l->admin;
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct px_listener	*l = arg;
	struct timeval		 tv = { 1, 0 };

	/*
	 * Out of descriptors (or another accept error): pause this listener
	 * for a second rather than spin on a backlog it cannot take.
	 */
	px_log_warn("event=accept-error url=%s action=pause-1s", l->cfg->url);
	if (l->ev_retry == NULL)
		return;
	evconnlistener_disable(lev);
	evtimer_add(l->ev_retry, &tv);
}

/* accept_retry_cb() : the pause after an accept error is over. */
static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_listener	*l = arg;

	if (l->lev != NULL)
		evconnlistener_enable(l->lev);
}

/* open_listener() : binds one listen entry; 0 or -1 (logged). */
static int
open_listener(struct px_ctx *ctx, struct px_listener *l)
{
	struct addrinfo	 hints, *res = NULL;
	char		 err[600];
	int		 gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(l->cfg->u.host, l->cfg->u.port, &hints,
	    &res)) != 0) {
		px_log_warnx("event=listen-failed url=%s error=\"%s\"",
		    l->cfg->url, gai_strerror(gai));
		return -1;
	}
	if (l->cfg->u.tls) {
		l->ssl = px_tls_server_ctx(l->cfg->cert, l->cfg->key,
		    l->cfg->chain, err, sizeof(err));
		if (l->ssl == NULL) {
			px_log_warnx("event=tls-error url=%s error=\"%s\"",
			    l->cfg->url, px_log_quote(err, sizeof(err), err));
			freeaddrinfo(res);
			return -1;
		}
	}
	/* Workers each bind the gate's listeners (SO_REUSEPORT). */
	l->lev = evconnlistener_new_bind(ctx->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
	    (ctx->cfg->workers > 1 && !l->admin ? LEV_OPT_REUSEABLE_PORT : 0),
	    512, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l->lev == NULL) {
		px_log_warn("event=listen-failed url=%s", l->cfg->url);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	l->ev_retry = evtimer_new(ctx->base, accept_retry_cb, l);
	px_log_info("event=listening url=%s", l->cfg->url);
	return 0;
}

int
px_ctx_init(struct px_ctx *ctx, struct px_cfg *cfg, struct pol_policy *pol,
    int listen)
{
	struct event_config	*ec;
	char			 err[600];
	size_t			 i;

	memset(ctx, 0, sizeof(*ctx));
	TAILQ_INIT(&ctx->conns);
	TAILQ_INIT(&ctx->pool);
	ctx->cfg = cfg;
	ctx->policy = pol;
	ctx->start_ms = ctx->reload_ok_ms = wall_ms();
	ctx->reload_ok = 1;
	ctx->m = ctx->mall = &ctx->m_own;
	ctx->mn = 1;
	px_metrics_attach(ctx->m, (uint64_t)getpid());
	PX_MSET(ctx->m->reload_ok_ms, (uint64_t)ctx->reload_ok_ms);
	if (RAND_bytes((unsigned char *)&ctx->boot, sizeof(ctx->boot)) != 1)
		ctx->boot = (uint32_t)getpid();
	/*
	 * epoll changes wait for the loop's next epoll_wait, so an event
	 * added and deleted in one turn (a bufferevent's write event
	 * around a write) costs no epoll_ctl.  pubgate never dup()s a
	 * descriptor, the flag's one caveat.
	 */
	if ((ec = event_config_new()) == NULL)
		goto fail;
	(void)event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	ctx->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (ctx->base == NULL)
		goto fail;
	ctx->dns = evdns_base_new(ctx->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (ctx->dns == NULL && (ctx->dns = evdns_base_new(ctx->base, 0)) ==
	    NULL)
		goto fail;
	if (cfg->up.tls) {
		ctx->up_ssl = px_tls_client_ctx(cfg->upstream_ca, err,
		    sizeof(err));
		if (ctx->up_ssl == NULL) {
			px_log_warnx("event=tls-error upstream=%s error=\"%s\"",
			    cfg->upstream, px_log_quote(err, sizeof(err), err));
			goto fail;
		}
	}
	/* With several workers, worker 0 alone serves egress and admin. */
	if (px_egress_init(ctx, listen && cfg->worker == 0) == -1)
		goto fail;
	if (!listen)
		return 0;
	for (i = 0; i < cfg->nlisten; i++) {
		ctx->listeners[i].ctx = ctx;
		ctx->listeners[i].cfg = &cfg->listen[i];
		ctx->nlisteners = i + 1;
		if (open_listener(ctx, &ctx->listeners[i]) == -1)
			goto fail;
	}
	if (cfg->admin.url[0] != '\0' && cfg->worker == 0) {
		struct px_listener *l = &ctx->listeners[ctx->nlisteners++];

		l->ctx = ctx;
		l->cfg = &cfg->admin;
		l->admin = 1;
		if (px_admin_load_token(ctx) == -1 ||
		    open_listener(ctx, l) == -1)
			goto fail;
		if (ctx->admin_token[0] == '\0')
			px_log_warnx("event=config key=admin note=\"no "
			    "token_file: metrics and decisions are open to "
			    "anyone who reaches %s\"", cfg->admin.url);
	}
	return 0;
fail:
	px_ctx_free(ctx);
	return -1;
}

void
px_ctx_free(struct px_ctx *ctx)
{
	size_t	 i;

	px_pp_abort_all(ctx);
	px_hook_stop(ctx);	/* its own loop and store: first */
	while (!TAILQ_EMPTY(&ctx->conns))
		px_conn_close(TAILQ_FIRST(&ctx->conns), "shutdown");
	/* Its events are on the base: closed before it. */
	px_store_close(ctx->audit);
	ctx->audit = NULL;
	px_whoami_free(ctx->whoami);	/* its lookups' bevs and timers */
	px_pcache_free(ctx);
	px_fwd_pool_free(ctx);
	px_egress_free(ctx);
	px_ui_free(ctx);
	px_quar_free(ctx->quar);	/* its timer is on the base */
	ctx->quar = NULL;
	for (i = 0; i < ctx->nlisteners; i++) {
		if (ctx->listeners[i].lev != NULL)
			evconnlistener_free(ctx->listeners[i].lev);
		if (ctx->listeners[i].ev_retry != NULL)
			event_free(ctx->listeners[i].ev_retry);
		ctx->listeners[i].ev_retry = NULL;
		SSL_CTX_free(ctx->listeners[i].ssl);
		ctx->listeners[i].lev = NULL;
		ctx->listeners[i].ssl = NULL;
	}
	ctx->nlisteners = 0;
	if (ctx->ev_hup != NULL)
		event_free(ctx->ev_hup);
	if (ctx->ev_term != NULL)
		event_free(ctx->ev_term);
	if (ctx->ev_int != NULL)
		event_free(ctx->ev_int);
	if (ctx->ev_drain != NULL)
		event_free(ctx->ev_drain);
	if (ctx->ev_mpull != NULL)
		event_free(ctx->ev_mpull);
	if (ctx->ev_flush != NULL)
		event_free(ctx->ev_flush);
	ctx->ev_hup = ctx->ev_term = ctx->ev_int = ctx->ev_drain = NULL;
	ctx->ev_mpull = ctx->ev_flush = NULL;
	SSL_CTX_free(ctx->up_ssl);
	free(ctx->clients);
	ctx->clients = NULL;
	ctx->up_ssl = NULL;
	if (ctx->dns != NULL)
		evdns_base_free(ctx->dns, 0);
	ctx->dns = NULL;
	if (ctx->base != NULL)
		event_base_free(ctx->base);
	ctx->base = NULL;
}

/*
 * reload() : SIGHUP.  A new policy or TLS context replaces the old one
 * only when it loaded; every error is logged.  systemd hears RELOADING=1
 * before and READY=1 after; the metrics keep the result.
 */
static void
reload(struct px_ctx *ctx)
{
	struct pol_policy	*p;
	SSL_CTX			*ssl;
	char			 err[600], sha[65];
	size_t			 i;
	unsigned int		 dc, dn;
	int			 ok = 1;

	if (ctx->cfg->workers <= 1)
		notify_reloading();
	px_log_info("event=reload");
	if (ctx->cfg->policy[0] != '\0') {
		if ((p = load_policy(ctx->cfg->policy, cache_dir(ctx->cfg), 1,
		    sha)) == NULL) {
			px_log_warnx("event=reload-failed what=policy file=%s "
			    "action=kept-old", ctx->cfg->policy);
			ok = 0;
		} else {
			pol_policy_unref(ctx->policy);
			ctx->policy = p;
			memcpy(ctx->policy_sha256, sha, sizeof(sha));
			pol_policy_detectors(p, &dc, &dn);
			px_log_info("event=reloaded what=policy worker=%d "
			    "file=%s rules=%zu sha256=%s detectors_cached=%u "
			    "detectors_compiled=%u", ctx->cfg->worker,
			    ctx->cfg->policy, pol_policy_nrules(p), sha, dc,
			    dn);
		}
	}
	if (ctx->cfg->admin_token_file[0] != '\0' &&
	    px_admin_load_token(ctx) == -1) {
		px_log_warnx("event=reload-failed what=admin-token "
		    "action=kept-old");
		ok = 0;
	}
	for (i = 0; i < ctx->nlisteners; i++) {
		struct px_listener *l = &ctx->listeners[i];

		if (!l->cfg->u.tls)
			continue;
		ssl = px_tls_server_ctx(l->cfg->cert, l->cfg->key,
		    l->cfg->chain, err, sizeof(err));
		if (ssl == NULL) {
			px_log_warnx("event=reload-failed what=tls url=%s "
			    "error=\"%s\" action=kept-old", l->cfg->url,
			    px_log_quote(err, sizeof(err), err));
			ok = 0;
			continue;
		}
		/* Connections hold their own reference (SSL_new). */
		SSL_CTX_free(l->ssl);
		l->ssl = ssl;
		px_log_info("event=reloaded what=tls url=%s", l->cfg->url);
	}
	if (px_egress_reload(ctx) == -1)
		ok = 0;
	if (px_hook_reload(ctx) == -1)
		ok = 0;
	ctx->reload_ok = ok;
	ctx->nreloads[ok]++;
	if (ok)
		ctx->reload_ok_ms = wall_ms();
	PX_MADD(ctx->m->reloads[ok], 1);
	PX_MSET(ctx->m->reload_ok_ms, (uint64_t)ctx->reload_ok_ms);
	PX_MSET(ctx->m->reload_ok, (uint64_t)ok);
	ready(ctx->cfg);
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_ctx	*ctx = arg;

	struct px_store_stat	 st;

	memset(&st, 0, sizeof(st));
	if (ctx->audit != NULL)
		px_store_stat(ctx->audit, &st);
	/* pending: store operations (upstream statuses) that are lost. */
	px_log_warnx("event=drain-timeout open=%zu store_pending=%llu",
	    ctx->nconns, (unsigned long long)st.pending);
	event_base_loopexit(ctx->base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct px_ctx	*ctx = arg;
	struct timeval	 tv = { PX_DRAIN_TIMEOUT_MS / 1000, 0 };

	if (sig == SIGHUP) {
		reload(ctx);
		return;
	}
	px_log_info("event=drain signal=%s open=%zu",
	    sig == SIGTERM ? "TERM" : "INT", ctx->nconns);
	if (ctx->cfg->workers <= 1)
		px_notify("STOPPING=1");
	if (ctx->draining) {
		event_base_loopexit(ctx->base, NULL);	/* second signal */
		return;
	}
	ctx->ev_drain = evtimer_new(ctx->base, drain_timeout_cb, ctx);
	if (ctx->ev_drain != NULL)
		evtimer_add(ctx->ev_drain, &tv);
	if (ctx->ev_mpull != NULL)
		event_del(ctx->ev_mpull);	/* the loop may end */
	px_ctx_drain(ctx);
}

/*
 * raise_nofile() : two descriptors per client (client and upstream) and
 * PX_CONN_MAX clients: lift the soft descriptor limit toward the hard one.
 */
static void
raise_nofile(void)
{
	struct rlimit	 rl;
	rlim_t		 want = PX_CONN_MAX * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		px_log_warn("event=setrlimit-nofile");
}

/*
 * readable() : for -n, whether the file a setting names can be read;
 * if not, one line naming the setting, where it came from and why.
 */
static int
readable(const char *at, const char *what, const char *path)
{
	if (path[0] == '\0' || access(path, R_OK) == 0)
		return 1;
	fprintf(stderr, "%s: %s %s: %s\n", at, what, path, strerror(errno));
	return 0;
}

/*
 * writable_dir() : for -n, whether files can be made in dir (of path when
 * is_file); one line if not.
 */
static int
writable_dir(const char *at, const char *what, const char *path,
    int is_file)
{
	char		 dir[PATH_MAX];
	const char	*slash;
	struct stat	 st;

	if (is_file) {
		if (access(path, W_OK) == 0)
			return 1;
		if ((slash = strrchr(path, '/')) == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == path)
			snprintf(dir, sizeof(dir), "/");
		else
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			    path);
	} else
		snprintf(dir, sizeof(dir), "%s", path);
	if (stat(dir, &st) == -1) {
		fprintf(stderr, "%s: %s %s: %s%s\n", at, what, path,
		    is_file ? "its folder: " : "", strerror(errno));
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: %s %s: %s is not a folder\n", at, what,
		    path, dir);
		return 0;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		fprintf(stderr, "%s: %s %s: cannot write in %s: %s\n", at,
		    what, path, dir, strerror(errno));
		return 0;
	}
	return 1;
}

/*
 * check_files() : for -n, every file and folder the settings name (the
 * policy file excepted: its loader reports it); TLS files are then loaded
 * by check_tls() only where they could be read, so each problem is told
 * once.  Returns the number of problems.
 */
static int
check_files(struct px_cfg *cfg, int *tls_ok, int *up_ok, int *eg_ok)
{
	const struct px_egress_cfg	*ec = &cfg->egress;
	const char			*file;
	char				 at[PX_AT_MAX + PX_URL_MAX + 16];
	size_t				 i;
	int				 bad = 0, ok;

	file = cfg->file[0] != '\0' ? cfg->file : "(flags)";
	for (i = 0; i < cfg->nlisten; i++) {
		const struct px_listen_cfg *l = &cfg->listen[i];

		snprintf(at, sizeof(at), "%s: listen %s", cfg->at.listen[i],
		    l->url);
		ok = readable(at, "cert", l->cert);
		ok &= readable(at, "key", l->key);
		ok &= readable(at, "chain", l->chain);
		tls_ok[i] = ok;
		bad += !ok;
	}
	*up_ok = readable(cfg->at.upstream_ca, "upstream_ca",
	    cfg->upstream_ca);
	bad += !*up_ok;
	if (!readable(cfg->at.token_file, "admin.token_file",
	    cfg->admin_token_file))
		bad++;
	*eg_ok = 1;
	if (ec->listen[0] != '\0') {
		*eg_ok = readable(file, "egress.ca_cert", ec->ca_cert);
		*eg_ok &= readable(file, "egress.ca_key", ec->ca_key);
		*eg_ok &= readable(file, "egress.ca_chain", ec->ca_chain);
		bad += !*eg_ok;
	}
	if (!writable_dir(cfg->at.spool_dir, "spool_dir", cfg->spool_dir, 0))
		bad++;
	if (!px_store_is_pg(cfg->db) &&
	    !writable_dir(cfg->at.db, "db", cfg->db, 1))
		bad++;
	if (strcmp(cfg->audit_log, "-") != 0 && cfg->audit_log[0] != '\0' &&
	    !writable_dir(cfg->at.audit_log, "audit_log", cfg->audit_log, 1))
		bad++;
	if (cfg->quar.dir[0] != '\0') {
		char	 err[400];

		/* Exists as it must be, or serve can make it: nothing made. */
		if (px_quar_check_dir(cfg->quar.dir, 0, err, sizeof(err)) ==
		    -1) {
			fprintf(stderr, "%s: quarantine.dir %s: %s\n",
			    cfg->at.quarantine, cfg->quar.dir, err);
			bad++;
		}
	}
	if (cfg->nhooks > 0) {
		char	 err[PATH_MAX + 700];

		if (px_hook_check(cfg, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			bad++;
		}
	}
	return bad;
}

/* check_tls() : for -n, loads each listener's TLS files; errors counted. */
static int
check_tls(struct px_cfg *cfg, const int *tls_ok, int up_ok, int eg_ok)
{
	SSL_CTX	*ssl;
	char	 err[600];
	size_t	 i;
	int	 bad = 0;

	for (i = 0; i < cfg->nlisten; i++) {
		if (!cfg->listen[i].u.tls || !tls_ok[i])
			continue;
		ssl = px_tls_server_ctx(cfg->listen[i].cert,
		    cfg->listen[i].key, cfg->listen[i].chain, err, sizeof(err));
		if (ssl == NULL) {
			fprintf(stderr, "%s: listen %s: %s\n",
			    cfg->at.listen[i], cfg->listen[i].url, err);
			bad++;
		}
		SSL_CTX_free(ssl);
	}
	if (cfg->up.tls && up_ok) {
		ssl = px_tls_client_ctx(cfg->upstream_ca, err, sizeof(err));
		if (ssl == NULL) {
			fprintf(stderr, "%s: upstream %s: %s\n",
			    cfg->at.upstream_ca, cfg->upstream, err);
			bad++;
		}
		SSL_CTX_free(ssl);
	}
	if (eg_ok && px_egress_check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: egress %s: %s\n", cfg->file[0] != '\0' ?
		    cfg->file : "(flags)", cfg->egress.listen, err);
		bad++;
	}
	return bad;
}

/* warn_insecure() : every start with allow_insecure_upstream in use. */
static void
warn_insecure(const struct px_cfg *cfg, int as_log)
{
	if (cfg->up.tls || px_cfg_loopback(cfg->up.host))
		return;
	if (as_log)
		px_log_warnx("event=config key=allow_insecure_upstream "
		    "upstream=%s note=\"plain http to a host that is not "
		    "loopback: publish tokens cross the network in clear\"",
		    cfg->upstream);
	else
		fprintf(stderr, "warning: %s: upstream %s: plain http to a "
		    "host that is not loopback (allow_insecure_upstream: "
		    "true): publish tokens cross the network in clear\n",
		    cfg->at.upstream, cfg->upstream);
}

/* open_audit() : the decision store and its JSON-lines stream. */
static int
open_audit(struct px_ctx *ctx, FILE **jsonl)
{
	char	 err[512];

	*jsonl = NULL;
	if (strcmp(ctx->cfg->audit_log, "-") == 0)
		*jsonl = stderr;
	else if (ctx->cfg->audit_log[0] != '\0' &&
	    (*jsonl = fopen(ctx->cfg->audit_log, "a")) == NULL) {
		px_log_warn("event=audit-log-open-failed file=%s",
		    ctx->cfg->audit_log);
		return -1;
	}
	err[0] = '\0';
	/*
	 * The loop's store: PostgreSQL is migrated here (blocking, before
	 * the loop runs) and then driven by the loop (store/pgloop.c);
	 * SQLite completes the same calls from a zero-timeout event.
	 */
	ctx->audit = px_store_open_loop(ctx->cfg->db, ctx->base, *jsonl, err,
	    sizeof(err));
	if (ctx->audit == NULL) {
		px_log_warnx("event=db-open-failed db=%s error=\"%s\"",
		    ctx->cfg->db, px_log_quote(err, sizeof(err), err));
		if (*jsonl != NULL && *jsonl != stderr)
			fclose(*jsonl);
		*jsonl = NULL;
		return -1;
	}
	return 0;
}

/*
 * The supervisor's metric slots, one per worker (NULL with one worker):
 * inherited by each fork, so a worker started again finds its slot.
 */
static struct px_metrics *shared_slots;

static void
mpull_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	px_metrics_pull(arg);
}

/*
 * serve_one() : one serving process: context, listeners, decision store,
 * signal events, the loop.  Takes ownership of pol.  Returns the exit
 * code.
 */
static int
serve_one(struct px_cfg *cfg, struct pol_policy *pol, const char *sha)
{
	struct px_ctx	 ctx;
	FILE		*jsonl = NULL;
	struct timeval	 tv = { 1, 0 };

	if (px_ctx_init(&ctx, cfg, pol, 1) == -1) {
		pol_policy_unref(pol);
		return 2;
	}
	if (shared_slots != NULL) {
		/* Counted in this worker's slot, where its predecessor's are. */
		ctx.mall = shared_slots;
		ctx.mn = (size_t)cfg->workers;
		ctx.m = &shared_slots[cfg->worker];
		px_metrics_attach(ctx.m, (uint64_t)getpid());
		PX_MSET(ctx.m->reload_ok_ms, (uint64_t)ctx.reload_ok_ms);
		/* The store's figures, pulled for worker 0's scrapes. */
		if ((ctx.ev_mpull = event_new(ctx.base, -1, EV_PERSIST,
		    mpull_cb, &ctx)) == NULL || evtimer_add(ctx.ev_mpull,
		    &tv) == -1)
			px_log_fatalx("event=metrics-timer-failed");
	}
	if (open_audit(&ctx, &jsonl) == -1) {
		pol_policy_unref(ctx.policy);
		px_ctx_free(&ctx);
		return 2;
	}
	snprintf(ctx.policy_sha256, sizeof(ctx.policy_sha256), "%s", sha);
	{
		/* Waiver records (approval, use, revocation) alert these. */
		char	 names[PX_HOOKS_MAX * (PX_HOOK_NAME_MAX + 1)];

		px_record_outbox(cfg, PX_HOOK_EV_WAIVER, names, sizeof(names));
		px_store_set_waiver_outbox(ctx.audit, names);
	}
	if (px_quar_start(&ctx) == -1) {
		pol_policy_unref(ctx.policy);
		px_ctx_free(&ctx);
		if (jsonl != NULL && jsonl != stderr)
			fclose(jsonl);
		return 2;
	}
	{
		char	 herr[PATH_MAX + 400];

		if (px_hook_start(&ctx, herr, sizeof(herr)) == -1) {
			fprintf(stderr, "pubgate serve: %s\n", herr);
			pol_policy_unref(ctx.policy);
			px_ctx_free(&ctx);
			if (jsonl != NULL && jsonl != stderr)
				fclose(jsonl);
			return 2;
		}
	}
	ctx.ev_hup = evsignal_new(ctx.base, SIGHUP, signal_cb, &ctx);
	ctx.ev_term = evsignal_new(ctx.base, SIGTERM, signal_cb, &ctx);
	ctx.ev_int = evsignal_new(ctx.base, SIGINT, signal_cb, &ctx);
	if (ctx.ev_hup == NULL || ctx.ev_term == NULL || ctx.ev_int == NULL ||
	    evsignal_add(ctx.ev_hup, NULL) == -1 ||
	    evsignal_add(ctx.ev_term, NULL) == -1 ||
	    evsignal_add(ctx.ev_int, NULL) == -1)
		px_log_fatalx("event=signal-setup-failed");
	if (cfg->worker == 0)
		warn_insecure(cfg, 1);
	px_log_info("event=started version=%s worker=%d upstream=%s "
	    "policy=%s db=%s", PUBGATE_VERSION, cfg->worker, cfg->upstream,
	    cfg->policy[0] ? cfg->policy : "(embedded strict)", cfg->db);
	ready(cfg);	/* the listeners are bound, the store is open */
	event_base_dispatch(ctx.base);
	px_log_info("event=stopped worker=%d requests=%llu "
	    "publishes_allowed=%llu publishes_denied=%llu", cfg->worker,
	    (unsigned long long)ctx.nrequests,
	    (unsigned long long)ctx.npublish_allow,
	    (unsigned long long)ctx.npublish_deny);
	pol_policy_unref(ctx.policy);
	px_ctx_free(&ctx);	/* closes the store */
	if (jsonl != NULL && jsonl != stderr)
		fclose(jsonl);
	return 0;
}

/*
 * supervisor_reload() : SIGHUP in the supervisor: the policy is loaded
 * here first, so that the workers read its detectors from the cache
 * (when cache_dir is set) instead of each compiling them, and a worker
 * started later serves the policy in force, not the one of the start.
 * On failure the old one stays (each worker logs the errors).
 */
static void
supervisor_reload(struct px_cfg *cfg, struct pol_policy **pol, char *sha)
{
	struct pol_policy	*p;
	char			 nsha[65];
	unsigned int		 dc, dn;

	if (cfg->policy[0] == '\0')
		return;
	if ((p = load_policy(cfg->policy, cache_dir(cfg), 1, nsha)) == NULL) {
		px_log_warnx("event=reload-failed what=policy "
		    "worker=supervisor file=%s action=kept-old", cfg->policy);
		return;
	}
	pol_policy_unref(*pol);
	*pol = p;
	memcpy(sha, nsha, sizeof(nsha));
	pol_policy_detectors(p, &dc, &dn);
	px_log_info("event=reloaded what=policy worker=supervisor file=%s "
	    "rules=%zu sha256=%s detectors_cached=%u detectors_compiled=%u",
	    cfg->policy, pol_policy_nrules(p), nsha, dc, dn);
}

/* spawn() : forks worker i; its pid, or -1. */
static pid_t
spawn(struct px_cfg *cfg, struct pol_policy *pol, const char *sha, int i,
    const sigset_t *oldmask)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		px_log_warn("event=fork-failed worker=%d", i);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		cfg->worker = i;
		_exit(serve_one(cfg, pol_policy_ref(pol), sha));
	}
	return pid;
}

/*
 * supervise() : `workers: N` > 1.  The parent forks N serving processes
 * (each with its own event loop, all accepting on the same addresses
 * through SO_REUSEPORT; worker 0 also serves egress and admin), passes
 * SIGHUP, SIGTERM and SIGINT on, restarts a worker that dies (at most
 * once a second) and exits when every worker has stopped after SIGTERM.
 * systemd hears READY=1 once every worker has said it serves (SIGRTMIN,
 * queued: one per worker), RELOADING=1 at SIGHUP and READY=1 when every
 * live worker has reloaded, STOPPING=1 at SIGTERM.
 * Takes ownership of pol.  Returns the exit code.
 */
static int
supervise(struct px_cfg *cfg, struct pol_policy *pol, const char *sha0)
{
	pid_t		 pids[PX_WORKERS_MAX];
	char		 sha[65];
	sigset_t	 set, old;
	int		 i, sig, st, stopping = 0, alive, rv = 0, awaited;
	pid_t		 pid;
	uint64_t	 last_spawn = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, &old);
	snprintf(sha, sizeof(sha), "%s", sha0);
	awaited = cfg->workers;	/* ready signals before READY=1 */
	if ((shared_slots = px_metrics_map((size_t)cfg->workers)) == NULL) {
		px_log_warn("event=metrics-map-failed workers=%d", cfg->workers);
		pol_policy_unref(pol);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 2;
	}
	for (i = 0; i < cfg->workers; i++)
		if ((pids[i] = spawn(cfg, pol, sha, i, &old)) == -1)
			stopping = 1;
	px_log_info("event=supervising workers=%d", cfg->workers);
	for (;;) {
		alive = 0;
		for (i = 0; i < cfg->workers; i++)
			if (pids[i] > 0)
				alive++;
		if (alive == 0)
			break;
		if (stopping == 1) {
			for (i = 0; i < cfg->workers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			stopping = 2;
		}
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGRTMIN) {
			if (awaited > 0 && --awaited == 0 && !stopping)
				px_notify("READY=1\nSTATUS=serving");
			continue;
		}
		if (sig == SIGHUP) {
			notify_reloading();
			supervisor_reload(cfg, &pol, sha);
			awaited = alive;
			for (i = 0; i < cfg->workers; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGHUP);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT) {
			if (stopping == 0) {
				px_notify("STOPPING=1");
				stopping = 1;
			}
			continue;
		}
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < cfg->workers; i++)
				if (pids[i] == pid)
					break;
			if (i == cfg->workers)
				continue;
			pids[i] = 0;
			px_metrics_gone(&shared_slots[i]);
			/* A dead worker will not answer. */
			if (awaited > 0 && --awaited == 0 && !stopping)
				px_notify("READY=1\nSTATUS=serving");
			if (stopping)
				continue;
			px_log_warnx("event=worker-died worker=%d status=%d",
			    i, WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st));
			if (WIFEXITED(st) && WEXITSTATUS(st) == 2 &&
			    last_spawn == 0) {
				/* A worker that cannot start: give up. */
				rv = 2;
				stopping = 1;
				continue;
			}
			if (px_now_ms() - last_spawn < 1000)
				sleep(1);
			last_spawn = px_now_ms();
			pids[i] = spawn(cfg, pol, sha, i, &old);
			if (pids[i] == -1)
				pids[i] = 0;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	pol_policy_unref(pol);
	px_log_info("event=stopped workers=%d", cfg->workers);
	return rv;
}

int
px_serve_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "upstream", required_argument, NULL, 'U' },
		{ "upstream-ca", required_argument, NULL, 'A' },
		{ "policy", required_argument, NULL, 'p' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "db", required_argument, NULL, 'D' },
		{ "admin", required_argument, NULL, 'M' },
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'W' },
		{ "egress-listen", required_argument, NULL, 'E' },
		{ "ca-cert", required_argument, NULL, 'G' },
		{ "ca-key", required_argument, NULL, 'H' },
		{ "intercept", required_argument, NULL, 'I' },
		{ "tunnel", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct px_cfg		*cfg = NULL;
	struct px_cfg_errs	*errs = NULL;
	struct px_cfg_flags	 fl;
	struct pol_policy	*pol = NULL;
	const char		*cfgfile = NULL;
	char			 sha[65];
	int			 ch, check = 0, rv = 2;
	unsigned int		 dc, dn;
	size_t			 i;

	memset(&fl, 0, sizeof(fl));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:hnvp:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c': cfgfile = optarg; break;
		case 'n': check = 1; break;
		case 'v': fl.verbose++; break;
		case 'L': fl.listen = optarg; break;
		case 'U': fl.upstream = optarg; break;
		case 'A': fl.upstream_ca = optarg; break;
		case 'p': fl.policy = optarg; break;
		case 'C': fl.tls_cert = optarg; break;
		case 'K': fl.tls_key = optarg; break;
		case 'D': fl.db = optarg; break;
		case 'M': fl.admin = optarg; break;
		case 'W': fl.workers = optarg; break;
		case 'E': fl.egress_listen = optarg; break;
		case 'G': fl.ca_cert = optarg; break;
		case 'H': fl.ca_key = optarg; break;
		case 'I':	/* too many: px_egress_cfg_apply() says so */
			if (fl.nintercept < PX_EGRESS_HOSTS_MAX)
				fl.intercept[fl.nintercept] = optarg;
			fl.nintercept++;
			break;
		case 'T':
			if (fl.ntunnel < PX_EGRESS_HOSTS_MAX)
				fl.tunnel[fl.ntunnel] = optarg;
			fl.ntunnel++;
			break;
		case 'h':
			serve_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "pubgate serve: unknown option or "
			    "missing value: %s (try pubgate serve --help)\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pubgate serve: unexpected argument \"%s\" "
		    "(try pubgate serve --help)\n", argv[optind]);
		return 2;
	}
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (errs = calloc(1, sizeof(*errs))) == NULL) {
		fprintf(stderr, "pubgate serve: out of memory\n");
		goto out;
	}
	px_cfg_defaults(cfg);
	/* The file and the flags: every error of both, at once. */
	if (cfgfile != NULL)
		(void)px_cfg_load(cfg, cfgfile, errs);
	(void)px_cfg_apply(cfg, &fl, errs);
	for (i = 0; i < errs->count && i < PX_CFG_ERRORS_MAX; i++)
		fprintf(stderr, "%s\n", errs->msg[i]);
	if (errs->count > PX_CFG_ERRORS_MAX)
		fprintf(stderr, "(%zu more errors)\n",
		    errs->count - PX_CFG_ERRORS_MAX);
	if (errs->count > 0 && !check)
		goto out;
	px_log_init(cfg->verbose);
	px_log_set_json(cfg->log_json);
	if (check) {
		/* -n: the settings, the policy, every file: all problems. */
		int	 tls_ok[PX_LISTEN_MAX], up_ok, eg_ok, bad;

		bad = (int)errs->count;
		/* Not through the cache: -n may run as another user. */
		if ((pol = load_policy(cfg->policy, NULL, 0, sha)) == NULL)
			bad++;
		bad += check_files(cfg, tls_ok, &up_ok, &eg_ok);
		bad += check_tls(cfg, tls_ok, up_ok, eg_ok);
		if (bad > 0)
			goto out;	/* each said in one line */
		warn_insecure(cfg, 0);
		printf("configuration OK\n");
		rv = 0;
		goto out;
	}
	if (cfg->workers > 1 && cfg->cache_dir[0] == '\0')
		priv_cache_make(cfg);
	if ((pol = load_policy(cfg->policy, cache_dir(cfg), 0, sha)) == NULL)
		goto out;
	pol_policy_detectors(pol, &dc, &dn);
	px_log_info("event=policy-loaded file=%s rules=%zu sha256=%s "
	    "detectors_cached=%u detectors_compiled=%u cache_dir=%s%s",
	    cfg->policy[0] ? cfg->policy : "(embedded)",
	    pol_policy_nrules(pol), sha, dc, dn,
	    cache_dir(cfg) != NULL ? cache_dir(cfg) : "-",
	    cfg->cache_dir[0] == '\0' && priv_cache[0] != '\0' ?
	    " cache_private=yes" : "");
	if (cfg->quar.dir[0] != '\0') {
		char	 err[400];

		/* Made 0700 here, once, before any worker opens it. */
		if (px_quar_check_dir(cfg->quar.dir, 1, err, sizeof(err)) ==
		    -1) {
			fprintf(stderr, "pubgate serve: %s: quarantine.dir "
			    "%s: %s\n", cfg->at.quarantine, cfg->quar.dir,
			    err);
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (cfg->workers > 1)
		rv = supervise(cfg, pol, sha);
	else
		rv = serve_one(cfg, pol, sha);
	pol = NULL;	/* the serving code dropped it */
out:
	priv_cache_remove();	/* the workers never come here */
	pol_policy_unref(pol);
	free(errs);
	free(cfg);
	return rv;
}
