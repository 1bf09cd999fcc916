/*
 * proxy/gate/prev.c: fetching the previous version of a package for a
 * rule's diff: key, on the event loop.
 *
 * When pol_publish_end() says POL_PENDING (spool.c), the body is complete
 * and judged on its own; the verdict waits for the previous version:
 *   1. GET <prefix>/<name> (the abbreviated packument, gzip welcome) from
 *      the conn's upstream (the reverse proxy's upstream, or an egress
 *      conn's intercepted host), with the client's Authorization so that
 *      private packages can be read; the bytes stream into pol_prev_feed()
 *      (policy/prev.c), which keeps a few bounded fields and chooses the
 *      version: the one the publish's dist-tag points at now, else the
 *      highest lower one (semver order);
 *   2. GET its tarball (dist.tarball when it names the same upstream,
 *      else the registry's usual <name>/-/<base>-<version>.tgz), streamed
 *      into pol_publish_prev_feed(): gz + tar walkers, names and sizes
 *      only, no file kept;
 *   3. pol_publish_prev_end() adds the diff reasons and gives the final
 *      verdict, and px_spool_verdict() records and answers it.
 * A 404 packument, or one with no other version to compare with, is a
 * first publish: diff allows it.  Anything else that goes wrong (connect,
 * TLS, a status other than 200 or 404, a timeout after PX_PREV_TIMEOUT_MS,
 * a packument or tarball over its cap or unreadable) ends as
 * diff.unreachable, which blocks unless the rule says
 * diff.unreachable: allow.
 *
 * The GETs go through upget.c (a pooled or fresh upstream connection,
 * TLS verified, one retry of a reused one that fails before any answer;
 * a complete keep-alive answer leaves it in the pool).  Memory is bounded: responses are parsed as they
 * arrive (the read watermark holds at most PX_HIGH_WATER), nothing of
 * them is kept but what policy/prev.c and the file lists keep.  The
 * Authorization value is held only for the fetch, never logged, and
 * wiped when the fetch ends.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "proxy-int.h"

enum { ST_PACKUMENT = 1, ST_TARBALL = 2 };

struct px_prev {
	struct px_conn		*conn;
	struct px_ctx		*ctx;
	struct px_upget		*ug;		/* upget.c: the GETs */
	int			 stage;
	int			 status;	/* of the current response */
	int			 gzip;		/* Content-Encoding: gzip */
	int			 bad_coding;	/* another coding */
	uint64_t		 body;		/* bytes of the body */
	struct pol_prev		*pp;
	struct event		*timer;
	uint64_t		 t0;
	char			*auth;		/* wiped at the end */
	size_t			 authlen;
	char			 name[PX_NAME_MAX + 2];
	char			 version[POL_PREV_VERSION_MAX];
	char			 tag[64];
	char			 prev[POL_PREV_VERSION_MAX];
	char			 path[PX_URL_MAX * 3];	/* of the current GET */
};

static int	prev_request(struct px_prev *);

void
px_prev_free(struct px_prev *pv)
{
	if (pv == NULL)
		return;
	px_upget_free(pv->ug, 0);
	if (pv->timer != NULL)
		event_free(pv->timer);
	pol_prev_free(pv->pp);
	if (pv->auth != NULL) {
		explicit_bzero(pv->auth, pv->authlen);
		free(pv->auth);
	}
	free(pv);
}

/*
 * finish() : ends the judgement: version (the fed tarball's), none (a
 * first publish, both NULL) or why (unreachable).  Frees pv and acts on
 * the verdict; 1, or -1 if the conn was freed too.  Every function below
 * that can end the fetch returns 0 while pv lives, non-zero once it is
 * gone.
 */
static int
finish(struct px_prev *pv, const char *version, const char *why)
{
	struct px_conn		*conn = pv->conn;
	const struct pol_report	*rep;
	enum pol_verdict	 v;
	char			 pkg[PX_NAME_MAX + 2], prev[POL_PREV_VERSION_MAX];

	v = pol_publish_prev_end(conn->stream, version, why, &rep);
	px_log_value(pkg, sizeof(pkg), pv->name);
	px_log_value(prev, sizeof(prev), version != NULL ? version : "-");
	px_log_info("conn=%llu req=%s event=previous-version pkg=%s "
	    "previous=%s result=%s ms=%llu%s%s%s",
	    (unsigned long long)conn->id, conn->reqid, pkg, prev,
	    why != NULL ? "unreachable" : (version != NULL ? "judged" :
	    "first-publish"), (unsigned long long)(px_now_ms() - pv->t0),
	    why != NULL ? " reason=\"" : "", why != NULL ? why : "",
	    why != NULL ? "\"" : "");
	px_upget_free(pv->ug, why == NULL);
	pv->ug = NULL;
	px_prev_free(pv);
	conn->prev = NULL;
	px_conn_set_state(conn, PX_CONN_SPOOL);
	return px_spool_verdict(conn, v, rep, 0) == -1 ? -1 : 1;
}

/* fail() : finish() as unreachable with a formatted, log-safe reason. */
static int
fail(struct px_prev *pv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct px_prev *pv, const char *fmt, ...)
{
	char	 why[160];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return finish(pv, NULL, why);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_prev	*pv = arg;

	(void)fd;
	(void)what;
	(void)fail(pv, "the registry did not answer within %u s",
	    PX_PREV_TIMEOUT_MS / 1000);
}

/* ------------------------------------------------------- the response */

static int
prev_head(void *arg, int status, int gzip, int bad)
{
	struct px_prev	*pv = arg;

	pv->status = status;
	pv->gzip = gzip;
	pv->bad_coding = bad;
	pv->body = 0;
	/* A tarball travels as it is: a coding on it is not expected. */
	if (pv->stage == ST_TARBALL && pv->gzip)
		pv->bad_coding = 1;
	if (pv->stage == ST_PACKUMENT && pv->status == 200 &&
	    !pv->bad_coding && (pv->pp = pol_prev_new(pv->version,
	    pv->tag[0] ? pv->tag : NULL, pv->gzip)) == NULL)
		return -1;
	return 0;
}

static int
prev_body(void *arg, const char *at, size_t len)
{
	struct px_prev	*pv = arg;

	pv->body += len;
	if (pv->status != 200 || pv->bad_coding) {
		/* Read and dropped, so the connection stays usable. */
		return pv->body > PX_PREV_DISCARD_MAX ? -1 : 0;
	}
	if (pv->stage == ST_PACKUMENT) {
		if (pv->body > PX_PREV_PACKUMENT_MAX ||
		    pol_prev_feed(pv->pp, at, len) != 0)
			return -1;
		return 0;
	}
	if (pv->body > PX_PREV_TARBALL_MAX ||
	    pol_publish_prev_feed(pv->conn->stream, at, len) != POL_CONTINUE)
		return -1;
	return 0;
}

static void
prev_fail(void *arg, int parse, const char *why)
{
	struct px_prev	*pv = arg;

	if (!parse)
		(void)fail(pv, "%s", why);
	else if (pv->stage == ST_PACKUMENT && pv->pp != NULL &&
	    pv->body > PX_PREV_PACKUMENT_MAX)
		(void)fail(pv, "the packument is over %llu bytes",
		    (unsigned long long)PX_PREV_PACKUMENT_MAX);
	else
		(void)fail(pv, "%s: %s", pv->stage == ST_PACKUMENT ?
		    "packument" : "tarball", why);
}

/*
 * tarball_path() : the path of the previous tarball on pv's upstream:
 * dist.tarball when it is on the same origin (and plain), else the
 * registry's usual <name>/-/<base>-<version>.tgz.
 */
static void
tarball_path(struct px_prev *pv, const char *tarball)
{
	const struct px_url	*up = px_conn_up(pv->conn);
	const char		*base, *rest, *c;
	char			 origin[PX_URL_MAX * 2];
	size_t			 n;

	n = (size_t)snprintf(origin, sizeof(origin), "%s://%s%s/",
	    up->tls ? "https" : "http", up->hostport, up->prefix);
	if (tarball[0] && n < sizeof(origin) &&
	    strncasecmp(tarball, origin, n) == 0) {
		rest = tarball + strlen(up->tls ? "https://" : "http://") +
		    strlen(up->hostport);
		for (c = rest; *c > ' ' && *c < 0x7f; c++)
			;
		if (*c == '\0' && strlen(rest) < sizeof(pv->path)) {
			snprintf(pv->path, sizeof(pv->path), "%s", rest);
			return;
		}
	}
	base = strrchr(pv->name, '/');
	base = base != NULL ? base + 1 : pv->name;
	snprintf(pv->path, sizeof(pv->path), "%s/%s/-/%s-%s.tgz", up->prefix,
	    pv->name, base, pv->prev);
}

/* response_done() : one answer is complete; on to the next step. */
static int
response_done(struct px_prev *pv)
{
	char	 tarball[POL_PREV_URL_MAX];
	int	 r;

	if (pv->stage == ST_PACKUMENT) {
		if (pv->status == 404)
			return finish(pv, NULL, NULL);	/* a first publish */
		if (pv->status != 200)
			return fail(pv, "packument: HTTP %d", pv->status);
		if (pv->bad_coding)
			return fail(pv, "packument: unknown content coding");
		r = pol_prev_end(pv->pp, pv->prev, sizeof(pv->prev), tarball,
		    sizeof(tarball));
		if (r == -1)
			return fail(pv, "the packument is not readable");
		if (r == 0)
			return finish(pv, NULL, NULL);	/* nothing before */
		tarball_path(pv, tarball);
		pv->stage = ST_TARBALL;
		if (prev_request(pv) == -1)
			return fail(pv, "cannot connect to the registry");
		return 0;
	}
	if (pv->status != 200)
		return fail(pv, "tarball of %s: HTTP %d", pv->prev, pv->status);
	if (pv->bad_coding)
		return fail(pv, "tarball: unexpected content coding");
	return finish(pv, pv->prev, NULL);
}

static void
prev_done(void *arg)
{
	(void)response_done(arg);
}

static const struct px_upget_ops prev_ops = {
	prev_head, prev_body, prev_done, prev_fail
};

/* ------------------------------------------------------- the requests */

/* prev_request() : sends the GET of pv->stage; 0/-1. */
static int
prev_request(struct px_prev *pv)
{
	px_log_debug("conn=%llu req=%s event=previous-get stage=%s",
	    (unsigned long long)pv->conn->id, pv->conn->reqid,
	    pv->stage == ST_PACKUMENT ? "packument" : "tarball");
	return px_upget_get(pv->ug, pv->path, pv->stage == ST_PACKUMENT ?
	    "User-Agent: pubgate (previous version for diff:)\r\n"
	    "Accept: application/vnd.npm.install-v1+json; q=1.0, "
	    "application/json; q=0.8\r\nAccept-Encoding: gzip\r\n" :
	    "User-Agent: pubgate (previous version for diff:)\r\n"
	    "Accept: */*\r\nAccept-Encoding: identity\r\n", pv->auth,
	    pv->authlen);
}

int
px_prev_start(struct px_conn *conn)
{
	const struct pol_report	*rep = pol_publish_report(conn->stream);
	const struct px_url	*up = px_conn_up(conn);
	struct px_prev		*pv;
	struct timeval		 tv;
	const char		*auth, *slash;
	size_t			 alen;

	if ((pv = calloc(1, sizeof(*pv))) == NULL) {
		(void)pol_publish_prev_end(conn->stream, NULL, "out of memory",
		    &rep);
		return px_spool_verdict(conn, POL_DENY, rep, 0);
	}
	pv->conn = conn;
	pv->ctx = conn->ctx;
	pv->t0 = px_now_ms();
	pv->stage = ST_PACKUMENT;
	conn->prev = pv;
	/* The gate reads the request as a whole: keep it in the replay state. */
	px_conn_set_state(conn, PX_CONN_REPLAY);
	snprintf(pv->name, sizeof(pv->name), "%s", conn->pkg[0] ? conn->pkg :
	    rep->name);
	snprintf(pv->version, sizeof(pv->version), "%s", rep->version);
	snprintf(pv->tag, sizeof(pv->tag), "%s", rep->tag);
	if ((pv->ug = px_upget_new(conn, &prev_ops, pv)) == NULL)
		return fail(pv, "out of memory") == -1 ? -1 : 0;
	if ((auth = px_http_head_get(&conn->req, "authorization", &alen)) !=
	    NULL && alen > 0 && memchr(auth, '\r', alen) == NULL &&
	    memchr(auth, '\n', alen) == NULL) {
		if ((pv->auth = malloc(alen)) == NULL)
			return fail(pv, "out of memory") == -1 ? -1 : 0;
		memcpy(pv->auth, auth, alen);
		pv->authlen = alen;
	}
	/* npm's own spelling of a scoped name in a packument URL. */
	slash = strchr(pv->name, '/');
	if (slash != NULL)
		snprintf(pv->path, sizeof(pv->path), "%s/%.*s%%2f%s",
		    up->prefix, (int)(slash - pv->name), pv->name, slash + 1);
	else
		snprintf(pv->path, sizeof(pv->path), "%s/%s", up->prefix,
		    pv->name);
	if ((pv->timer = evtimer_new(pv->ctx->base, timer_cb, pv)) == NULL ||
	    evtimer_add(pv->timer, px_tv_ms(&tv, PX_PREV_TIMEOUT_MS)) == -1)
		return fail(pv, "out of memory") == -1 ? -1 : 0;
	if (prev_request(pv) == -1)
		return fail(pv, "cannot connect to the registry") == -1 ?
		    -1 : 0;
	return 0;
}
