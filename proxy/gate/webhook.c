/*
 * proxy/gate/webhook.c: the webhook deliverer (issue 10): the alerts of the
 * decision store's outbox POSTed to the `webhooks:` of pubgate.yaml.
 *
 * A decision that raises alerts (a block; a monitor-mode would-block; a
 * waiver's approval, use or revocation) has one outbox row per webhook
 * written in its own transaction (record.c names them for the gate's
 * records, px_store_set_waiver_outbox() for the store's waiver records),
 * so an alert exists iff its record is committed, before the client's
 * answer, and survives any restart.
 *
 * Delivery runs on a thread of its own in one process (worker 0, the one
 * that serves admin and egress): its own event loop, its own store handle
 * (a SQLite connection or a blocking PostgreSQL one) and its own DNS and
 * TLS; nothing of it runs on, or waits on, the serving loop, which only
 * wakes it through a pipe after committing a record with alerts.  Each
 * second (and at a wake) it leases up to PX_HOOK_INFLIGHT due rows
 * (px_store_outbox_claim(): one statement, SKIP LOCKED on PostgreSQL, so
 * gates sharing a database never hold a row at once), reads each one's
 * decision, builds the payload from the stored record (its reasons are the
 * redacted texts the record holds: never a secret) and POSTs it with
 * libevent's HTTP client; 2xx ends the row as delivered, anything else
 * (refused, timed out, 3xx-5xx) makes it due again after 1 s, 2 s, 4 s
 * ... at most 10 min (+-25% jitter), until 24 h after the decision: then
 * it is given up (recorded, counted, logged).
 *
 * Exactly once by lease: a row is leased by one deliverer for
 * PX_HOOK_LEASE_MS, far longer than a POST may take (PX_HOOK_TIMEOUT_S),
 * and marked delivered when its 2xx arrives.  What is at-least-once: a
 * receiver that took the POST but whose 2xx never reached pubgate (cut,
 * timed out), or a pubgate that died between the 2xx and its commit, sees
 * the same alert again, with the same X-Pubgate-Delivery id to drop it by.
 *
 * Secrets (secret_file, the HMAC-SHA256 key) are read at start and at
 * SIGHUP by the serving thread and read under a mutex by the deliverer;
 * never logged.  A webhook's URL may itself be a credential (Slack's):
 * logs name the webhook and its host only.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "log.h"
#include "store.h"
#include "proxy-int.h"

#define PX_HOOK_INFLIGHT	8		/* POSTs at once */
#define PX_HOOK_LEASE_MS	(120 * 1000)	/* a claimed row's lease */
#define PX_HOOK_TIMEOUT_S	10		/* one POST, connect to answer */
#define PX_HOOK_TICK_MS		1000		/* the outbox is polled */
#define PX_HOOK_REOPEN_MS	5000		/* store reopened after */
#define PX_HOOK_BACKOFF_MIN_MS	1000
#define PX_HOOK_BACKOFF_MAX_MS	(600 * 1000)
#define PX_HOOK_GIVEUP_MS	(24LL * 3600 * 1000)
#define PX_HOOK_SECRET_MAX	4096
#define PX_HOOK_ANSWER_MAX	(64 * 1024)	/* a receiver's answer body */

struct px_hook_dlv {
	struct px_hooks			*hs;
	struct px_store_alert		 al;
	const struct px_hook_cfg	*hc;
	struct evhttp_connection	*evcon;
	char				 err[160];
	struct px_hook_dlv		*next;
};

struct px_hooks {
	const struct px_cfg	*cfg;		/* borrowed, immutable */
	pthread_t		 th;
	int			 running;
	int			 wake[2];	/* serving loop -> thread */
	pthread_mutex_t		 mtx;		/* secrets */
	unsigned char		*secret[PX_HOOKS_MAX];
	size_t			 secret_len[PX_HOOKS_MAX];
	/* The thread's own. */
	struct event_base	*base;
	struct evdns_base	*dns;
	struct event		*ev_tick, *ev_wake;
	struct px_store		*st;
	int64_t			 reopen_ms;
	SSL_CTX			*ssl[PX_HOOKS_MAX];
	struct px_hook_dlv	*inflight;
	int			 ninflight;
	int			 more;		/* last claim was full */
	int			 stopping;
	int			 warned;	/* store failure logged */
	/* Metrics (atomics: read by the serving thread). */
	uint64_t		 n_delivered, n_failed, n_given_up;
	int64_t			 pending;
};

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ payload */

/* json_str() : s as a JSON string (the store keeps its texts UTF-8). */
static void
json_str(FILE *f, const char *s)
{
	const unsigned char	*p;

	putc('"', f);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}

const char *
px_hook_event(const struct px_store_row *r)
{
	if (r->nreasons > 0 && strncmp(r->reasons[0].rule, "waiver.", 7) == 0)
		return "waiver";
	if (strcmp(r->verdict, "block") == 0)
		return "block";
	return "monitor";
}

/*
 * summary() : one human line and a line per reason into f; slack: the
 * text escaped for Slack's mrkdwn (&, <, >) and emphasis.
 */
static void
put_text(FILE *f, const char *s, int slack)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (slack && *s == '&')
			fputs("&amp;", f);
		else if (slack && *s == '<')
			fputs("&lt;", f);
		else if (slack && *s == '>')
			fputs("&gt;", f);
		else
			putc(*s, f);
	}
}

static void
summary(FILE *f, const struct px_store_row *r, const char *event, int slack)
{
	const char	*what;
	size_t		 i;

	if (strcmp(event, "block") == 0)
		what = "blocked";
	else if (strcmp(event, "monitor") == 0)
		what = "would have blocked (monitor mode)";
	else
		what = "waiver";
	fputs(slack ? "*pubgate " : "pubgate ", f);
	put_text(f, what, slack);
	fputs(slack ? "*: " : ": ", f);
	put_text(f, r->kind, slack);
	putc(' ', f);
	if (slack)
		putc('`', f);
	put_text(f, r->package, slack);
	if (r->version[0] != '\0') {
		putc('@', f);
		put_text(f, r->version, slack);
	}
	if (slack)
		putc('`', f);
	fputs(" by ", f);
	put_text(f, r->user[0] != '\0' ? r->user : r->who[0] != '\0' ?
	    r->who : "(no token)", slack);
	fputs(" from ", f);
	put_text(f, r->client, slack);
	fputs(", decision ", f);
	put_text(f, r->request_id, slack);
	for (i = 0; i < r->nreasons; i++) {
		fputs("\n- ", f);
		put_text(f, r->reasons[i].rule, slack);
		if (r->reasons[i].file[0] != '\0') {
			fputs(" in ", f);
			put_text(f, r->reasons[i].file, slack);
		}
		fputs(": ", f);
		put_text(f, r->reasons[i].text, slack);
	}
	if ((int64_t)r->nreasons < r->reasons_total)
		fprintf(f, "\n(%" PRId64 " more)", r->reasons_total -
		    (int64_t)r->nreasons);
}

/* text_json() : summary() as a JSON string. */
static int
text_json(FILE *out, const struct px_store_row *r, const char *event,
    int slack)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -1;
	summary(f, r, event, slack);
	if (fclose(f) != 0) {
		free(buf);
		return -1;
	}
	json_str(out, buf);
	free(buf);
	return 0;
}

int
px_hook_payload(FILE *f, const struct px_store_row *r, int64_t delivery,
    const char *hook, enum px_hook_format fmt)
{
	const char	*event = px_hook_event(r);
	size_t		 i;

	if (fmt == PX_HOOK_SLACK) {
		fputs("{\"text\":", f);
		if (text_json(f, r, event, 1) == -1)
			return -1;
		fputs("}", f);
		return ferror(f) ? -1 : 0;
	}
	fputs("{\"event\":", f);
	json_str(f, event);
	fprintf(f, ",\"delivery\":%" PRId64 ",\"webhook\":", delivery);
	json_str(f, hook);
	fputs(",\"decision\":", f);
	json_str(f, r->request_id);
	fputs(",\"time\":", f);
	json_str(f, r->time);
	fputs(",\"kind\":", f);
	json_str(f, r->kind);
	fputs(",\"package\":", f);
	json_str(f, r->package);
	fputs(",\"version\":", f);
	json_str(f, r->version);
	fputs(",\"tag\":", f);
	json_str(f, r->tag);
	fputs(",\"verdict\":", f);
	json_str(f, r->verdict);
	fprintf(f, ",\"status\":%d,\"user\":", r->status);
	json_str(f, r->user);
	fputs(",\"who\":", f);
	json_str(f, r->who);
	fputs(",\"client\":", f);
	json_str(f, r->client);
	fputs(",\"path\":", f);
	json_str(f, r->path);
	fputs(",\"sha512\":", f);
	json_str(f, r->sha512);
	fputs(",\"policy\":{\"sha256\":", f);
	json_str(f, r->policy_sha256);
	fputs(",\"name\":", f);
	json_str(f, r->policy_name);
	fputs(",\"revision\":", f);
	json_str(f, r->policy_revision);
	fputs("},\"message\":", f);
	json_str(f, r->message);
	fputs(",\"reasons\":[", f);
	for (i = 0; i < r->nreasons; i++) {
		fputs(i > 0 ? ",{\"rule\":" : "{\"rule\":", f);
		json_str(f, r->reasons[i].rule);
		fputs(",\"file\":", f);
		json_str(f, r->reasons[i].file);
		fputs(",\"text\":", f);
		json_str(f, r->reasons[i].text);
		fputs(",\"hint\":", f);
		json_str(f, r->reasons[i].hint);
		fputs("}", f);
	}
	fprintf(f, "],\"reasons_total\":%" PRId64 ",\"text\":",
	    r->reasons_total);
	if (text_json(f, r, event, 0) == -1)
		return -1;
	fputs("}", f);
	return ferror(f) ? -1 : 0;
}

void
px_hook_sign(const unsigned char *key, size_t keylen, const void *body,
    size_t len, char out[72])
{
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen = 0;

	memcpy(out, "sha256=", 7);
	if (HMAC(EVP_sha256(), key, (int)keylen, body, len, mac, &maclen) ==
	    NULL || maclen != 32) {
		out[7] = '\0';
		return;
	}
	px_hex(mac, 32, out + 7);
	OPENSSL_cleanse(mac, sizeof(mac));
}

int64_t
px_hook_backoff_ms(int attempts, uint32_t rnd)
{
	int64_t	d = PX_HOOK_BACKOFF_MIN_MS;
	int	i;

	for (i = 1; i < attempts && d < PX_HOOK_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > PX_HOOK_BACKOFF_MAX_MS)
		d = PX_HOOK_BACKOFF_MAX_MS;
	/* +-25% jitter, never under the minimum. */
	d = d * 3 / 4 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	return d < PX_HOOK_BACKOFF_MIN_MS ? PX_HOOK_BACKOFF_MIN_MS : d;
}

/* ------------------------------------------------------------ secrets */

int
px_hook_read_secret(const char *path, unsigned char **key, size_t *len,
    char *err, size_t errlen)
{
	unsigned char	 buf[PX_HOOK_SECRET_MAX + 1];
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	*key = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	while (got < sizeof(buf) && (n = read(fd, buf + got,
	    sizeof(buf) - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s", strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, sizeof(buf));
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > PX_HOOK_SECRET_MAX) {
		snprintf(err, errlen, "longer than %d bytes",
		    PX_HOOK_SECRET_MAX);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		got--;
	if (got == 0) {
		snprintf(err, errlen, "empty");
		return -1;
	}
	if ((*key = malloc(got)) == NULL) {
		snprintf(err, errlen, "out of memory");
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(*key, buf, got);
	*len = got;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static void
secret_free(unsigned char *key, size_t len)
{
	if (key != NULL)
		OPENSSL_cleanse(key, len);
	free(key);
}

/*
 * load_secrets() : every webhook's secret_file into key/len; 0, or -1
 * with one line naming the setting (never the content) in err.
 */
static int
load_secrets(const struct px_cfg *cfg, unsigned char **key, size_t *len,
    char *err, size_t errlen)
{
	char	 e[200];
	size_t	 i;

	for (i = 0; i < cfg->nhooks; i++) {
		key[i] = NULL;
		len[i] = 0;
	}
	for (i = 0; i < cfg->nhooks; i++) {
		if (cfg->hooks[i].secret_file[0] == '\0')
			continue;
		if (px_hook_read_secret(cfg->hooks[i].secret_file, &key[i],
		    &len[i], e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s: webhook %s: secret_file "
			    "%s: %s", cfg->hooks[i].at, cfg->hooks[i].name,
			    cfg->hooks[i].secret_file, e);
			while (i-- > 0)
				secret_free(key[i], len[i]);
			return -1;
		}
	}
	return 0;
}

int
px_hook_check(const struct px_cfg *cfg, char *err, size_t errlen)
{
	unsigned char	*key[PX_HOOKS_MAX];
	size_t		 len[PX_HOOKS_MAX], i;
	SSL_CTX		*ssl;
	char		 e[600];

	if (load_secrets(cfg, key, len, err, errlen) == -1)
		return -1;
	for (i = 0; i < cfg->nhooks; i++)
		secret_free(key[i], len[i]);
	for (i = 0; i < cfg->nhooks; i++) {
		if (!cfg->hooks[i].u.tls)
			continue;
		if (cfg->hooks[i].ca_file[0] != '\0' &&
		    access(cfg->hooks[i].ca_file, R_OK) == -1) {
			snprintf(err, errlen, "%s: webhook %s: ca_file %s: %s",
			    cfg->hooks[i].at, cfg->hooks[i].name,
			    cfg->hooks[i].ca_file, strerror(errno));
			return -1;
		}
		if ((ssl = px_tls_client_ctx(cfg->hooks[i].ca_file, e,
		    sizeof(e))) == NULL) {
			snprintf(err, errlen, "%s: webhook %s: %s",
			    cfg->hooks[i].at, cfg->hooks[i].name, e);
			return -1;
		}
		SSL_CTX_free(ssl);
	}
	return 0;
}

/* ------------------------------------------------------ the deliverer */

static void	poll_outbox(struct px_hooks *);

static const struct px_hook_cfg *
hook_by_name(const struct px_hooks *hs, const char *name, size_t *idx)
{
	size_t	i;

	for (i = 0; i < hs->cfg->nhooks; i++)
		if (strcmp(hs->cfg->hooks[i].name, name) == 0) {
			*idx = i;
			return &hs->cfg->hooks[i];
		}
	return NULL;
}

/* finish() : ends alert al's lease with result; counts and logs it. */
static void
finish(struct px_hooks *hs, const struct px_store_alert *al,
    const char *hook, int ok, const char *why)
{
	enum px_alert_result	 res;
	int64_t			 now = wall_ms(), due = 0;
	uint32_t		 rnd = 0;
	char			 err[300], q[200];

	if (ok)
		res = PX_ALERT_DELIVERED;
	else if (now - al->created_ms >= PX_HOOK_GIVEUP_MS ||
	    why == NULL)
		res = PX_ALERT_GIVEN_UP;
	else {
		res = PX_ALERT_RETRY;
		(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
		due = now + px_hook_backoff_ms(al->attempts, rnd);
	}
	if (px_store_outbox_finish(hs->st, al->id, now, res, due,
	    why != NULL ? why : "", err, sizeof(err)) == -1)
		/* The lease runs out: the row is claimed again then. */
		px_log_warnx("event=webhook-store-failed delivery=%" PRId64
		    " error=\"%s\"", al->id, px_log_quote(err, sizeof(err),
		    err));
	switch (res) {
	case PX_ALERT_DELIVERED:
		__atomic_fetch_add(&hs->n_delivered, 1, __ATOMIC_RELAXED);
		px_log_info("event=webhook-delivered webhook=%s delivery=%"
		    PRId64 " attempts=%d", hook, al->id, al->attempts);
		break;
	case PX_ALERT_RETRY:
		__atomic_fetch_add(&hs->n_failed, 1, __ATOMIC_RELAXED);
		px_log_warnx("event=webhook-failed webhook=%s delivery=%" PRId64
		    " attempts=%d retry_in_ms=%" PRId64 " error=\"%s\"", hook,
		    al->id, al->attempts, due - now, px_log_quote(q, sizeof(q),
		    why));
		break;
	case PX_ALERT_GIVEN_UP:
		__atomic_fetch_add(&hs->n_given_up, 1, __ATOMIC_RELAXED);
		px_log_warnx("event=webhook-given-up webhook=%s delivery=%"
		    PRId64 " attempts=%d error=\"%s\"", hook, al->id,
		    al->attempts, px_log_quote(q, sizeof(q), why != NULL ? why :
		    (char *)"gone"));
		break;
	}
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_connection_free(arg);
}

static void
dlv_unlink(struct px_hook_dlv *d)
{
	struct px_hooks		*hs = d->hs;
	struct px_hook_dlv	**pp;

	for (pp = &hs->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			hs->ninflight--;
			break;
		}
}

static void
req_error_cb(enum evhttp_request_error e, void *arg)
{
	struct px_hook_dlv	*d = arg;
	const char		*s;

	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		s = "timed out";
		break;
	case EVREQ_HTTP_EOF:
		s = "connection closed";
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		s = "bad answer";
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		s = "answer too long";
		break;
	default:
		s = "connection failed";
		break;
	}
	snprintf(d->err, sizeof(d->err), "%s", s);
}

static void
req_done_cb(struct evhttp_request *req, void *arg)
{
	struct px_hook_dlv	*d = arg;
	struct px_hooks		*hs = d->hs;
	struct timeval		 zero = { 0, 0 };
	int			 code = 0;

	if (req != NULL)
		code = evhttp_request_get_response_code(req);
	if (code >= 200 && code < 300)
		finish(hs, &d->al, d->hc->name, 1, NULL);
	else {
		if (code != 0)
			snprintf(d->err, sizeof(d->err), "HTTP %d", code);
		else if (d->err[0] == '\0')
			snprintf(d->err, sizeof(d->err), "connection failed");
		finish(hs, &d->al, d->hc->name, 0, d->err);
	}
	dlv_unlink(d);
	/* libevent uses the connection after this callback returns. */
	if (event_base_once(hs->base, -1, EV_TIMEOUT, conn_free_cb, d->evcon,
	    &zero) == -1)
		px_log_warnx("event=webhook-leak what=connection");
	free(d);
	if (hs->more)
		event_active(hs->ev_wake, EV_TIMEOUT, 0);
}

struct row_arg {
	FILE				*f;
	const struct px_store_alert	*al;
	const struct px_hook_cfg	*hc;
	const char			*event;
	int				 rc;
};

static void
row_cb(const struct px_store_row *r, void *arg)
{
	struct row_arg	*ra = arg;

	ra->event = px_hook_event(r);
	ra->rc = px_hook_payload(ra->f, r, ra->al->id, ra->hc->name,
	    ra->hc->format);
}

/* start() : the POST of claimed alert al. */
static void
start(struct px_hooks *hs, const struct px_store_alert *al)
{
	const struct px_hook_cfg	*hc;
	struct px_hook_dlv		*d = NULL;
	struct evhttp_request		*req = NULL;
	struct evkeyvalq		*h;
	struct bufferevent		*bev;
	struct row_arg			 ra;
	SSL				*ssl;
	char				*body = NULL, err[300], num[24],
					 sig[72], ev[16];
	size_t				 len = 0, idx = 0;
	int				 found;

	if ((hc = hook_by_name(hs, al->hook, &idx)) == NULL) {
		finish(hs, al, al->hook, 0, NULL);	/* not configured */
		return;
	}
	memset(&ra, 0, sizeof(ra));
	ra.al = al;
	ra.hc = hc;
	ra.rc = -1;
	if ((ra.f = open_memstream(&body, &len)) == NULL) {
		finish(hs, al, hc->name, 0, "out of memory");
		return;
	}
	found = px_store_by_id(hs->st, al->decision_id, row_cb, &ra, err,
	    sizeof(err));
	if (fclose(ra.f) != 0)
		ra.rc = -1;
	if (found == 0) {
		free(body);
		finish(hs, al, hc->name, 0, NULL);	/* no decision */
		return;
	}
	if (found == -1 || ra.rc == -1) {
		free(body);
		finish(hs, al, hc->name, 0, found == -1 ? "store read failed" :
		    "payload failed");
		return;
	}
	snprintf(ev, sizeof(ev), "%s", ra.event);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto fail;
	d->hs = hs;
	d->al = *al;
	d->hc = hc;
	if (hc->u.tls) {
		if (hs->ssl[idx] == NULL &&
		    (hs->ssl[idx] = px_tls_client_ctx(hc->ca_file, err,
		    sizeof(err))) == NULL)
			goto fail;
		if ((ssl = px_tls_client_new(hs->ssl[idx], hc->u.host)) ==
		    NULL)
			goto fail;
		bev = bufferevent_openssl_socket_new(hs->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
		    BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		d->evcon = evhttp_connection_base_bufferevent_new(hs->base,
		    hs->dns, bev, hc->u.host, (unsigned short)atoi(hc->u.port));
		if (d->evcon == NULL) {
			bufferevent_free(bev);
			goto fail;
		}
	} else if ((d->evcon = evhttp_connection_base_new(hs->base, hs->dns,
	    hc->u.host, (unsigned short)atoi(hc->u.port))) == NULL)
		goto fail;
	evhttp_connection_set_timeout(d->evcon, PX_HOOK_TIMEOUT_S);
	evhttp_connection_set_retries(d->evcon, 0);
	evhttp_connection_set_max_body_size(d->evcon, PX_HOOK_ANSWER_MAX);
	evhttp_connection_set_max_headers_size(d->evcon, PX_HOOK_ANSWER_MAX);
	if ((req = evhttp_request_new(req_done_cb, d)) == NULL)
		goto fail;
	evhttp_request_set_error_cb(req, req_error_cb);
	h = evhttp_request_get_output_headers(req);
	snprintf(num, sizeof(num), "%" PRId64, al->id);
	if (evhttp_add_header(h, "Host", hc->u.hostport) == -1 ||
	    evhttp_add_header(h, "User-Agent", "pubgate/" PUBGATE_VERSION) ==
	    -1 ||
	    evhttp_add_header(h, "Content-Type", "application/json") == -1 ||
	    evhttp_add_header(h, "Connection", "close") == -1 ||
	    evhttp_add_header(h, "X-Pubgate-Delivery", num) == -1 ||
	    evhttp_add_header(h, "X-Pubgate-Event", ev) == -1)
		goto fail;
	pthread_mutex_lock(&hs->mtx);
	sig[0] = '\0';
	if (hs->secret[idx] != NULL)
		px_hook_sign(hs->secret[idx], hs->secret_len[idx], body, len,
		    sig);
	pthread_mutex_unlock(&hs->mtx);
	if ((sig[0] != '\0' && evhttp_add_header(h, "X-Pubgate-Signature",
	    sig) == -1) ||
	    evbuffer_add(evhttp_request_get_output_buffer(req), body, len) ==
	    -1)
		goto fail;
	free(body);
	body = NULL;
	d->next = hs->inflight;
	hs->inflight = d;
	hs->ninflight++;
	/* On failure libevent calls req_done_cb (and frees req) itself. */
	(void)evhttp_make_request(d->evcon, req, EVHTTP_REQ_POST,
	    hc->u.prefix[0] != '\0' ? hc->u.prefix : "/");
	return;
fail:
	if (req != NULL)
		evhttp_request_free(req);
	if (d != NULL && d->evcon != NULL)
		evhttp_connection_free(d->evcon);
	free(d);
	free(body);
	finish(hs, al, hc->name, 0, "could not start the request");
}

static void
poll_outbox(struct px_hooks *hs)
{
	struct px_store_alert	 al[PX_HOOK_INFLIGHT];
	char			 err[300];
	int64_t			 now = wall_ms(), pending;
	int			 room, n, i;

	if (hs->stopping)
		return;
	if (hs->st == NULL) {
		if (now < hs->reopen_ms)
			return;
		hs->st = px_store_open(hs->cfg->db, NULL, err, sizeof(err));
		if (hs->st == NULL) {
			hs->reopen_ms = now + PX_HOOK_REOPEN_MS;
			if (!hs->warned)
				px_log_warnx("event=webhook-store-failed "
				    "error=\"%s\"", px_log_quote(err,
				    sizeof(err), err));
			hs->warned = 1;
			return;
		}
	}
	room = PX_HOOK_INFLIGHT - hs->ninflight;
	hs->more = 0;
	if (room > 0) {
		n = px_store_outbox_claim(hs->st, now, PX_HOOK_LEASE_MS, al,
		    room, err, sizeof(err));
		if (n == -1) {
			if (!hs->warned)
				px_log_warnx("event=webhook-store-failed "
				    "error=\"%s\"", px_log_quote(err,
				    sizeof(err), err));
			hs->warned = 1;
			/* A lost PostgreSQL connection: opened anew. */
			px_store_close(hs->st);
			hs->st = NULL;
			hs->reopen_ms = now + PX_HOOK_REOPEN_MS;
			return;
		}
		hs->warned = 0;
		hs->more = n == room;
		for (i = 0; i < n; i++)
			start(hs, &al[i]);
	}
	if ((pending = px_store_outbox_pending(hs->st, err, sizeof(err))) >= 0)
		__atomic_store_n(&hs->pending, pending, __ATOMIC_RELAXED);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	poll_outbox(arg);
}

/* stop() : the serving thread asked: leases given back, loop ended. */
static void
stop(struct px_hooks *hs)
{
	struct px_hook_dlv	*d;
	char			 err[300];

	hs->stopping = 1;
	while ((d = hs->inflight) != NULL) {
		hs->inflight = d->next;
		hs->ninflight--;
		/* Due again now: whoever runs next sends it (again). */
		if (hs->st != NULL && px_store_outbox_finish(hs->st, d->al.id,
		    wall_ms(), PX_ALERT_RETRY, wall_ms(), "stopped", err,
		    sizeof(err)) == -1)
			px_log_warnx("event=webhook-store-failed delivery=%"
			    PRId64 " error=\"%s\"", d->al.id,
			    px_log_quote(err, sizeof(err), err));
		evhttp_connection_free(d->evcon);
		free(d);
	}
	event_base_loopbreak(hs->base);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_hooks	*hs = arg;
	char		 buf[64];
	ssize_t		 n;
	int		 quit = 0;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (memchr(buf, 'q', (size_t)n) != NULL)
			quit = 1;
	if (quit)
		stop(hs);
	else
		poll_outbox(hs);
}

static void *
run(void *arg)
{
	struct px_hooks	*hs = arg;
	struct timeval	 tv = { PX_HOOK_TICK_MS / 1000,
			    (PX_HOOK_TICK_MS % 1000) * 1000 };
	size_t		 i;

	poll_outbox(hs);
	if (event_add(hs->ev_tick, &tv) == 0 && event_add(hs->ev_wake,
	    NULL) == 0)
		event_base_dispatch(hs->base);
	else
		px_log_warnx("event=webhook-thread-failed");
	for (i = 0; i < PX_HOOKS_MAX; i++)
		SSL_CTX_free(hs->ssl[i]);
	px_store_close(hs->st);
	hs->st = NULL;
	return NULL;
}

static void
hooks_free(struct px_hooks *hs)
{
	size_t	i;

	if (hs->ev_tick != NULL)
		event_free(hs->ev_tick);
	if (hs->ev_wake != NULL)
		event_free(hs->ev_wake);
	if (hs->dns != NULL)
		evdns_base_free(hs->dns, 0);
	if (hs->base != NULL)
		event_base_free(hs->base);
	if (hs->wake[0] != -1)
		close(hs->wake[0]);
	if (hs->wake[1] != -1)
		close(hs->wake[1]);
	for (i = 0; i < PX_HOOKS_MAX; i++)
		secret_free(hs->secret[i], hs->secret_len[i]);
	pthread_mutex_destroy(&hs->mtx);
	free(hs);
}

int
px_hook_start(struct px_ctx *ctx, char *err, size_t errlen)
{
	struct px_hooks	*hs;
	int		 i;

	if (ctx->cfg->nhooks == 0 || ctx->cfg->worker != 0)
		return 0;
	if ((hs = calloc(1, sizeof(*hs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	hs->cfg = ctx->cfg;
	hs->wake[0] = hs->wake[1] = -1;
	if (pthread_mutex_init(&hs->mtx, NULL) != 0) {
		free(hs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (load_secrets(ctx->cfg, hs->secret, hs->secret_len, err,
	    errlen) == -1)
		goto fail;
	if (pipe(hs->wake) == -1) {
		snprintf(err, errlen, "webhooks: pipe: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < 2; i++)
		if (fcntl(hs->wake[i], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(hs->wake[i], F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, errlen, "webhooks: pipe: %s",
			    strerror(errno));
			goto fail;
		}
	if ((hs->base = event_base_new()) == NULL ||
	    ((hs->dns = evdns_base_new(hs->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (hs->dns = evdns_base_new(hs->base, 0)) == NULL) ||
	    (hs->ev_tick = event_new(hs->base, -1, EV_PERSIST, tick_cb,
	    hs)) == NULL ||
	    (hs->ev_wake = event_new(hs->base, hs->wake[0], EV_READ |
	    EV_PERSIST, wake_cb, hs)) == NULL) {
		snprintf(err, errlen, "webhooks: event loop setup failed");
		goto fail;
	}
	if ((errno = pthread_create(&hs->th, NULL, run, hs)) != 0) {
		snprintf(err, errlen, "webhooks: thread: %s", strerror(errno));
		goto fail;
	}
	hs->running = 1;
	ctx->hooks = hs;
	px_log_info("event=webhooks-started webhooks=%zu", ctx->cfg->nhooks);
	return 0;
fail:
	hooks_free(hs);
	return -1;
}

void
px_hook_wake(struct px_ctx *ctx)
{
	if (ctx->hooks != NULL)
		(void)write(ctx->hooks->wake[1], "w", 1);	/* full: awake */
}

int
px_hook_reload(struct px_ctx *ctx)
{
	struct px_hooks	*hs = ctx->hooks;
	unsigned char	*key[PX_HOOKS_MAX], *old;
	size_t		 len[PX_HOOKS_MAX], i, oldlen;
	char		 err[PATH_MAX + 400];

	if (hs == NULL)
		return 0;
	if (load_secrets(hs->cfg, key, len, err, sizeof(err)) == -1) {
		px_log_warnx("event=reload-failed what=webhooks error=\"%s\" "
		    "action=kept-old", px_log_quote(err, sizeof(err), err));
		return -1;
	}
	for (i = 0; i < hs->cfg->nhooks; i++) {
		pthread_mutex_lock(&hs->mtx);
		old = hs->secret[i];
		oldlen = hs->secret_len[i];
		hs->secret[i] = key[i];
		hs->secret_len[i] = len[i];
		pthread_mutex_unlock(&hs->mtx);
		secret_free(old, oldlen);
	}
	px_log_info("event=reloaded what=webhooks");
	return 0;
}

void
px_hook_stop(struct px_ctx *ctx)
{
	struct px_hooks	*hs = ctx->hooks;

	if (hs == NULL)
		return;
	ctx->hooks = NULL;
	if (hs->running) {
		while (write(hs->wake[1], "q", 1) == -1 && errno == EINTR)
			;
		pthread_join(hs->th, NULL);
	}
	hooks_free(hs);
}

void
px_hook_metrics(struct px_ctx *ctx, FILE *f)
{
	struct px_hooks	*hs = ctx->hooks;
	uint64_t	 d = 0, fl = 0, g = 0;
	int64_t		 p = 0;

	if (hs != NULL) {
		d = __atomic_load_n(&hs->n_delivered, __ATOMIC_RELAXED);
		fl = __atomic_load_n(&hs->n_failed, __ATOMIC_RELAXED);
		g = __atomic_load_n(&hs->n_given_up, __ATOMIC_RELAXED);
		p = __atomic_load_n(&hs->pending, __ATOMIC_RELAXED);
	}
	fprintf(f, "# HELP pubgate_webhook_deliveries_total Webhook POSTs by "
	    "result (failed: retried later; given_up: no more tries).\n"
	    "# TYPE pubgate_webhook_deliveries_total counter\n"
	    "pubgate_webhook_deliveries_total{result=\"delivered\"} %llu\n"
	    "pubgate_webhook_deliveries_total{result=\"failed\"} %llu\n"
	    "pubgate_webhook_deliveries_total{result=\"given_up\"} %llu\n"
	    "# HELP pubgate_webhook_pending Webhook alerts in the outbox "
	    "neither delivered nor given up.\n"
	    "# TYPE pubgate_webhook_pending gauge\n"
	    "pubgate_webhook_pending %lld\n", (unsigned long long)d,
	    (unsigned long long)fl, (unsigned long long)g, (long long)p);
}
