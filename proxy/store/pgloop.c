/*
 * proxy/store/pgloop.c: the PostgreSQL decision store of the serving
 * process, driven by its event loop: no call here waits on the database.
 * It owns one connection per process, made with PQconnectStartParams()
 * and PQconnectPoll() on the socket's events, put in non-blocking mode
 * (PQsetnonblocking), and a FIFO of operations (store-int.h) of which
 * one statement at a time is in flight (PQsendQueryParams, PQflush on
 * EV_WRITE, PQconsumeInput and PQisBusy on EV_READ, PQgetResult until
 * NULL).  The SQL and the rows are pg.c's, shared with the blocking CLI.
 *
 * States: down (waiting for the backoff timer: 100 ms doubling to 2 s),
 * connecting (at most PL_CONNECT_MS), setup (statement_timeout, then the
 * schema version must be this pubgate's), up.  While down, writes and
 * queries are refused at once (the gate answers 503, reads go on);
 * status updates, which are idempotent, wait in the queue (capped).
 *
 * A lost connection (the socket closes, an error, a statement that
 * outlives statement_timeout by PL_GRACE_MS) fails every write and query
 * queued.  The write in flight is uncertain: its COMMIT may have landed.
 * Its caller is told it failed (503: never forwarded without a known
 * commit), and a RESOLVE operation for its request id (unique in the
 * table, so a record never lands twice) goes first in the queue: once
 * reconnected, a record that did land gets status 503, what its client
 * was answered; a waiver's use (one statement with its waiver-use
 * record) is resolved the same way.  Every outcome goes through
 * px_store_op_done() (store.c), which calls back; callbacks run from
 * this file's events only.
 *
 * libpq would resolve a host name with a blocking getaddrinfo() when it
 * starts a connection, so a URL naming one host by name is resolved here
 * first, with evdns on the loop (its own evdns base: resolv.conf and
 * /etc/hosts), and connected to with hostaddr= set to the first IPv4
 * answer (else the first), host= still the name for TLS verify-full and
 * the passfile.  A lookup is never cancelled: one that outlives the
 * connect timeout fails that attempt and its late answer serves the next
 * one; evdns_base_free() at the end drops one still in flight, calling
 * nothing.  A URL with hostaddr=, an address, a socket folder or several
 * hosts is passed to libpq as it is (several hosts: libpq's blocking
 * lookups, see the README).
 * It never logs: the state and the last error are in px_pgloop_stat().
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "store.h"
#include "store-int.h"
#include "pg-int.h"

#define PL_QUEUE_MAX		1024	/* operations queued or in flight */
#define PL_BACKOFF_MIN_MS	100
#define PL_BACKOFF_MAX_MS	2000
#define PL_CONNECT_MS		5000
#define PL_STATEMENT_MS		5000	/* the server's statement_timeout */
#define PL_GRACE_MS		2000	/* then the connection is given up */

enum pl_state {
	PL_DOWN,
	PL_RESOLVING,
	PL_CONNECTING,
	PL_SETUP,
	PL_UP,
};

static const char *const pl_state_names[] = {
	"down", "connecting", "connecting", "connecting", "up",
};

struct px_pgloop {
	struct event_base	*base;
	char			*url;
	char			*host;		/* to resolve here, or NULL */
	char			 hostaddr[INET6_ADDRSTRLEN];
	struct evdns_base	*dns;
	struct evdns_getaddrinfo_request *dnsreq;	/* in flight */
	PGconn			*conn;
	enum pl_state		 state;
	struct event		*ev_sock;
	evutil_socket_t		 sock;
	short			 sock_what;
	struct event		*ev_timer;
	struct px_store_op	*head, *tail;	/* FIFO; head may be in flight */
	size_t			 nq;
	int			 inflight;	/* head's statement is sent */
	PGresult		*res;		/* the statement's result */
	int			 backoff_ms;
	int			 connected_once;
	int			 in_cb;		/* in px_store_op_done() */
	uint64_t		 errors, reconnects;
	char			 last_err[200];
};

/* statement_timeout is PL_STATEMENT_MS. */
static const char pl_sql_setup[] =
    "SET statement_timeout = 5000;"
    " SELECT coalesce(max(version), 0) FROM pubgate_schema";
static const char pl_sql_resolve[] =
    "UPDATE decisions SET status = 503 WHERE request_id = $1 AND kind = $2"
    " AND status = 0";

static void	pl_sock_cb(evutil_socket_t, short, void *);
static void	pl_timer_cb(evutil_socket_t, short, void *);
static void	pl_send_next(struct px_pgloop *);

/* pl_arm() : watch the connection's socket for what (EV_READ/EV_WRITE). */
static int
pl_arm(struct px_pgloop *pl, short what)
{
	evutil_socket_t	 fd = PQsocket(pl->conn);

	if (fd < 0)
		return -1;
	if (pl->ev_sock != NULL && fd == pl->sock && what == pl->sock_what)
		return 0;
	if (pl->ev_sock != NULL) {
		event_free(pl->ev_sock);
		pl->ev_sock = NULL;
	}
	pl->ev_sock = event_new(pl->base, fd, what | EV_PERSIST, pl_sock_cb,
	    pl);
	if (pl->ev_sock == NULL || event_add(pl->ev_sock, NULL) == -1)
		return -1;
	pl->sock = fd;
	pl->sock_what = what;
	return 0;
}

static void
pl_timer(struct px_pgloop *pl, int ms)
{
	struct timeval	 tv;

	evtimer_del(pl->ev_timer);
	if (ms < 0)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(pl->ev_timer, &tv);
}

static void
pl_seterr(struct px_pgloop *pl, const char *why)
{
	snprintf(pl->last_err, sizeof(pl->last_err), "%.199s", why);
}

/* q_pop() : removes and returns the head. */
static struct px_store_op *
q_pop(struct px_pgloop *pl)
{
	struct px_store_op	*op = pl->head;

	if (op == NULL)
		return NULL;
	pl->head = op->next;
	if (pl->head == NULL)
		pl->tail = NULL;
	op->next = NULL;
	pl->nq--;
	return op;
}

static void
q_push(struct px_pgloop *pl, struct px_store_op *op)
{
	op->next = NULL;
	if (pl->tail != NULL)
		pl->tail->next = op;
	else
		pl->head = op;
	pl->tail = op;
	pl->nq++;
}

/* done() : op's outcome to store.c, with callbacks guarded. */
static void
done(struct px_pgloop *pl, struct px_store_op *op, int rc, const char *err)
{
	op->rc = rc;
	if (err != NULL)
		snprintf(op->err, sizeof(op->err), "%.199s", err);
	pl->in_cb++;
	px_store_op_done(op);
	pl->in_cb--;
}

/*
 * pl_fail() : the connection is lost or could not be made: every write
 * and query queued fails, the write in flight is uncertain (see the top
 * of the file), status updates wait; reconnect after the backoff.
 */
static void
pl_fail(struct px_pgloop *pl, const char *why)
{
	struct px_store_op	*op, *list, *failed = NULL, **fl = &failed;
	struct px_store_op	*rs;
	char			 err[300];

	pl->errors++;
	if (pl->conn != NULL && why == NULL) {
		px_pg_errmsg(pl->conn, pl->res, err, sizeof(err));
		why = err;
	}
	pl_seterr(pl, why != NULL ? why : "postgresql: connection lost");
	if (pl->res != NULL) {
		PQclear(pl->res);
		pl->res = NULL;
	}
	if (pl->ev_sock != NULL) {
		event_free(pl->ev_sock);
		pl->ev_sock = NULL;
	}
	PQfinish(pl->conn);
	pl->conn = NULL;
	pl->state = PL_DOWN;
	list = pl->head;
	pl->head = pl->tail = NULL;
	pl->nq = 0;
	for (; (op = list) != NULL; ) {
		list = op->next;
		op->next = NULL;
		if ((op->kind == PX_OP_INSERT || (op->kind == PX_OP_WAIVER &&
		    !op->w->list && op->w->kind == PX_WOP_USE)) && op->sent &&
		    (rs = calloc(1, sizeof(*rs))) != NULL) {
			/* Uncertain: resolved once reconnected. */
			rs->store = op->store;
			rs->kind = PX_OP_RESOLVE;
			snprintf(rs->reqid, sizeof(rs->reqid), "%s", op->reqid);
			snprintf(rs->rkind, sizeof(rs->rkind), "%s",
			    op->kind == PX_OP_INSERT ? op->buf->kind :
			    "waiver-use");
			rs->next = pl->head;
			pl->head = rs;
			if (pl->tail == NULL)
				pl->tail = rs;
			pl->nq++;
		}
		if (op->kind == PX_OP_STATUS || op->kind == PX_OP_RESOLVE) {
			op->sent = 0;
			q_push(pl, op);
			continue;
		}
		*fl = op;
		fl = &op->next;
	}
	pl->inflight = 0;
	pl_timer(pl, pl->backoff_ms);
	pl->backoff_ms = pl->backoff_ms * 2 > PL_BACKOFF_MAX_MS ?
	    PL_BACKOFF_MAX_MS : pl->backoff_ms * 2;
	snprintf(err, sizeof(err), "the decision store is down (%s)",
	    pl->last_err);
	while ((op = failed) != NULL) {
		failed = op->next;
		op->next = NULL;
		done(pl, op, -1, op->sent ? "the decision store connection "
		    "was lost before the commit was confirmed" : err);
	}
}

/* The keys of px_pg_conn_keys() and hostaddr, set by the lookup. */
static const char *const pl_keys_addr[] = { "application_name",
    "connect_timeout", "dbname", "client_encoding", "hostaddr", NULL };

static void	pl_start(struct px_pgloop *);

/* pl_dns_cb() : the lookup's answer, for the attempt waiting on it. */
static void
pl_dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct px_pgloop	*pl = arg;
	struct evutil_addrinfo	*ai, *pick = NULL;
	char			 err[300];
	const void		*a;

	pl->dnsreq = NULL;
	for (ai = result == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
		if (ai->ai_family == AF_INET6 && pick == NULL)
			pick = ai;
	}
	pl->hostaddr[0] = '\0';
	if (pick != NULL) {
		a = pick->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)
		    pick->ai_addr)->sin_addr : (const void *)&((struct
		    sockaddr_in6 *)pick->ai_addr)->sin6_addr;
		if (inet_ntop(pick->ai_family, a, pl->hostaddr,
		    sizeof(pl->hostaddr)) == NULL)
			pl->hostaddr[0] = '\0';
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (pl->state != PL_RESOLVING)
		return;		/* that attempt timed out: a later one asks */
	if (pl->hostaddr[0] == '\0') {
		snprintf(err, sizeof(err), "postgresql: cannot resolve %s: %s",
		    pl->host, result != 0 ? evutil_gai_strerror(result) :
		    "no address");
		pl_fail(pl, err);
		return;
	}
	pl_start(pl);
}

/*
 * pl_connect() : starts an attempt: the host's lookup first when it is
 * a name (see the top of the file), else the connection at once.
 */
static void
pl_connect(struct px_pgloop *pl)
{
	struct evutil_addrinfo	 hints;
	struct evdns_getaddrinfo_request *req;

	if (pl->host == NULL) {
		pl_start(pl);
		return;
	}
	pl->state = PL_RESOLVING;
	pl_timer(pl, PL_CONNECT_MS);
	if (pl->dnsreq != NULL)
		return;		/* the last attempt's lookup answers this one */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* May answer at once (/etc/hosts): then NULL, pl_dns_cb has run. */
	req = evdns_getaddrinfo(pl->dns, pl->host, NULL, &hints, pl_dns_cb,
	    pl);
	if (req != NULL && pl->state == PL_RESOLVING)
		pl->dnsreq = req;
}

/* pl_start() : the connection itself, to pl->hostaddr when looked up. */
static void
pl_start(struct px_pgloop *pl)
{
	const char	*vals[6];

	px_pg_conn_params(pl->url, vals);
	vals[4] = pl->host != NULL ? pl->hostaddr : NULL;
	vals[5] = NULL;
	pl->state = PL_CONNECTING;
	pl->conn = PQconnectStartParams(pl->host != NULL ? pl_keys_addr :
	    px_pg_conn_keys(), vals, 1);
	if (pl->conn == NULL) {
		pl_fail(pl, "postgresql: out of memory");
		return;
	}
	if (PQstatus(pl->conn) == CONNECTION_BAD || pl_arm(pl, EV_WRITE) ==
	    -1) {
		pl_fail(pl, NULL);
		return;
	}
	pl_timer(pl, PL_CONNECT_MS);
}

/* pl_flush() : sends what libpq holds; waits for EV_WRITE if it must. */
static int
pl_flush(struct px_pgloop *pl)
{
	int	r = PQflush(pl->conn);

	if (r == -1)
		return -1;
	return pl_arm(pl, r == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void
pl_setup(struct px_pgloop *pl)
{
	if (PQsetnonblocking(pl->conn, 1) == -1) {
		pl_fail(pl, NULL);
		return;
	}
	px_pg_quiet(pl->conn);
	pl->state = PL_SETUP;
	if (PQsendQuery(pl->conn, pl_sql_setup) == 0 || pl_flush(pl) == -1) {
		pl_fail(pl, NULL);
		return;
	}
	pl_timer(pl, PL_CONNECT_MS);
}

static void
pl_connect_step(struct px_pgloop *pl)
{
	switch (PQconnectPoll(pl->conn)) {
	case PGRES_POLLING_READING:
		if (pl_arm(pl, EV_READ) == -1)
			pl_fail(pl, NULL);
		return;
	case PGRES_POLLING_WRITING:
		if (pl_arm(pl, EV_WRITE) == -1)
			pl_fail(pl, NULL);
		return;
	case PGRES_POLLING_OK:
		pl_setup(pl);
		return;
	default:
		pl_fail(pl, NULL);
		return;
	}
}

/* pl_setup_done() : the setup's result: up, or down with the reason. */
static void
pl_setup_done(struct px_pgloop *pl)
{
	PGresult	*res = pl->res;
	char		 why[300];
	int		 v;

	pl->res = NULL;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		px_pg_errmsg(pl->conn, res, why, sizeof(why));
		if (strstr(why, "pubgate_schema") != NULL)
			snprintf(why, sizeof(why), "not a pubgate decision "
			    "store (no schema; run pubgate db migrate)");
		PQclear(res);
		pl_fail(pl, why);
		return;
	}
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (v != px_pg_schema_version()) {
		snprintf(why, sizeof(why), "decision store schema version %d, "
		    "this pubgate's is %d (run pubgate db migrate with the "
		    "newest pubgate of the fleet)", v, px_pg_schema_version());
		pl_fail(pl, why);
		return;
	}
	pl->state = PL_UP;
	pl->backoff_ms = PL_BACKOFF_MIN_MS;
	if (pl->connected_once)
		pl->reconnects++;
	pl->connected_once = 1;
	pl_timer(pl, -1);
	pl_send_next(pl);
}

static int
store_one(const struct px_store_row *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
	return 1;
}

/* pl_op_done() : the head's statement has its whole result. */
static void
pl_op_done(struct px_pgloop *pl)
{
	struct px_store_op	*op = q_pop(pl);
	PGresult		*res = pl->res;
	ExecStatusType		 st = PQresultStatus(res);
	char			 err[300];
	int			 rc = -1, found = 0;

	pl->res = NULL;
	pl->inflight = 0;
	pl_timer(pl, -1);
	err[0] = '\0';
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
		px_pg_errmsg(pl->conn, res, err, sizeof(err));
	switch (op->kind) {
	case PX_OP_INSERT:
		if (st == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			op->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			rc = 0;
		}
		break;
	case PX_OP_STATUS:
		if (st == PGRES_COMMAND_OK && strcmp(PQcmdTuples(res), "1") == 0)
			rc = 0;
		break;
	case PX_OP_RESOLVE:
		if (st == PGRES_COMMAND_OK)
			rc = 0;
		break;
	case PX_OP_BYID:
		if (st == PGRES_TUPLES_OK) {
			(void)px_pg_rows(res, op->buf, store_one, &found);
			rc = found ? 0 : -1;
		}
		break;
	case PX_OP_QUERY:
		if (st == PGRES_TUPLES_OK) {
			rc = op->cancelled ? 0 : px_pg_rows(res, op->buf,
			    op->row, op->row_arg);
			if (rc == -1)
				snprintf(err, sizeof(err), "postgresql: "
				    "unexpected result");
		}
		break;
	case PX_OP_WAIVER:
		rc = px_pg_wresult(res, op, err, sizeof(err));
		break;
	}
	PQclear(res);
	done(pl, op, rc, err[0] != '\0' ? err : NULL);
}

/* pl_results() : reads what arrived; finishes the statement in flight. */
static void
pl_results(struct px_pgloop *pl)
{
	PGresult	*res;

	while (pl->conn != NULL && (pl->inflight || pl->state == PL_SETUP)) {
		if (PQisBusy(pl->conn))
			return;
		if ((res = PQgetResult(pl->conn)) != NULL) {
			/* Keep the first error, else the last result. */
			if (pl->res != NULL && PQresultStatus(pl->res) !=
			    PGRES_FATAL_ERROR) {
				PQclear(pl->res);
				pl->res = NULL;
			}
			if (pl->res == NULL)
				pl->res = res;
			else
				PQclear(res);
			continue;
		}
		if (pl->state == PL_SETUP) {
			pl_setup_done(pl);
			return;
		}
		pl_op_done(pl);
		pl_send_next(pl);
	}
	if (pl->conn != NULL && PQstatus(pl->conn) == CONNECTION_BAD)
		pl_fail(pl, NULL);
}

/* pl_send() : op's statement.  0, or -1 (out of memory: op failed). */
static int
pl_send(struct px_pgloop *pl, struct px_store_op *op)
{
	struct px_pg_params	 pp;
	char			 ids[24], sts[16];
	const char		*v[2] = { ids, sts };
	const char		*sql = NULL;
	int			 ok = 0, n = 0;

	snprintf(ids, sizeof(ids), "%" PRId64, op->id);
	snprintf(sts, sizeof(sts), "%d", op->status);
	switch (op->kind) {
	case PX_OP_INSERT:
		if (px_pg_params_insert(&pp, op->buf) == -1)
			return -1;
		ok = PQsendQueryParams(pl->conn, px_pg_sql_insert, pp.n, NULL,
		    pp.v, NULL, NULL, 0);
		px_pg_params_free(&pp);
		goto sent;
	case PX_OP_QUERY:
		if (px_pg_params_query(&pp, &op->q->qa, op->err,
		    sizeof(op->err)) == -1)
			return -1;
		ok = PQsendQueryParams(pl->conn, px_pg_sql_query(), pp.n,
		    NULL, pp.v, NULL, NULL, 0);
		px_pg_params_free(&pp);
		goto sent;
	case PX_OP_STATUS:
		sql = px_pg_sql_status;
		n = 2;
		break;
	case PX_OP_RESOLVE:
		sql = pl_sql_resolve;
		v[0] = op->reqid;
		v[1] = op->rkind;
		n = 2;
		break;
	case PX_OP_BYID:
		sql = px_pg_sql_byid;
		n = 1;
		break;
	case PX_OP_WAIVER:
		if ((ok = px_pg_wsend(pl->conn, op)) == -1)
			return -1;
		goto sent;
	}
	ok = PQsendQueryParams(pl->conn, sql, n, NULL, v, NULL, NULL, 0);
sent:
	op->sent = 1;
	pl->inflight = 1;
	if (!ok || pl_flush(pl) == -1) {
		pl_fail(pl, NULL);
		return 0;
	}
	pl_timer(pl, PL_STATEMENT_MS + PL_GRACE_MS);
	return 0;
}

/* pl_send_next() : sends the head of the queue when nothing is in flight. */
static void
pl_send_next(struct px_pgloop *pl)
{
	struct px_store_op	*op;

	while (pl->state == PL_UP && !pl->inflight && pl->in_cb == 0 &&
	    (op = pl->head) != NULL) {
		if (op->cancelled && (op->kind == PX_OP_INSERT ||
		    op->kind == PX_OP_QUERY || op->kind == PX_OP_WAIVER)) {
			/* Nobody waits for it: a write never sent is dropped. */
			px_store_op_free(q_pop(pl));
			continue;
		}
		if (pl_send(pl, op) == -1) {
			(void)q_pop(pl);
			done(pl, op, -1, op->err[0] != '\0' ? op->err :
			    "out of memory");
		}
	}
}

static void
pl_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_pgloop	*pl = arg;

	(void)fd;
	if (pl->conn == NULL)
		return;
	if (pl->state == PL_CONNECTING) {
		pl_connect_step(pl);
		return;
	}
	if ((what & EV_WRITE) && pl_flush(pl) == -1) {
		pl_fail(pl, NULL);
		return;
	}
	if (what & EV_READ) {
		if (PQconsumeInput(pl->conn) == 0) {
			pl_fail(pl, NULL);
			return;
		}
		pl_results(pl);
	}
}

static void
pl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_pgloop	*pl = arg;

	(void)fd;
	(void)what;
	switch (pl->state) {
	case PL_DOWN:
		pl_connect(pl);
		break;
	case PL_RESOLVING:
		pl_fail(pl, "postgresql: looking up the database host timed "
		    "out");
		break;
	case PL_CONNECTING:
	case PL_SETUP:
		pl_fail(pl, "postgresql: connection timed out");
		break;
	case PL_UP:
		pl_fail(pl, "postgresql: no answer within the statement "
		    "timeout");
		break;
	}
}

struct px_pgloop *
px_pgloop_new(struct event_base *base, const char *url, char *err,
    size_t errlen)
{
	struct px_pgloop	*pl;

	if (px_pq_load(err, errlen) == -1)
		return NULL;
	if ((pl = calloc(1, sizeof(*pl))) == NULL ||
	    (pl->url = strdup(url)) == NULL ||
	    (pl->ev_timer = evtimer_new(base, pl_timer_cb, pl)) == NULL) {
		if (pl != NULL)
			free(pl->url);
		free(pl);
		px_store_seterr(err, errlen, "out of memory");
		return NULL;
	}
	pl->base = base;
	pl->sock = -1;
	pl->backoff_ms = PL_BACKOFF_MIN_MS;
	if (px_pg_url_host(url, &pl->host, err, errlen) == -1 ||
	    (pl->host != NULL && (pl->dns = evdns_base_new(base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL)) {
		if (pl->host != NULL && pl->dns == NULL)
			px_store_seterr(err, errlen, "postgresql: cannot set "
			    "up the resolver (resolv.conf)");
		px_pgloop_free(pl);
		return NULL;
	}
	pl_seterr(pl, "not connected yet");
	pl_connect(pl);
	return pl;
}

int
px_pgloop_submit(struct px_pgloop *pl, struct px_store_op *op, char *err,
    size_t errlen)
{
	if (pl->nq >= PL_QUEUE_MAX) {
		px_store_seterr(err, errlen, "the decision store is busy "
		    "(%d operations waiting)", PL_QUEUE_MAX);
		return -1;
	}
	if (pl->state == PL_DOWN && op->kind != PX_OP_STATUS) {
		px_store_seterr(err, errlen, "the decision store is down (%s)",
		    pl->last_err);
		return -1;
	}
	q_push(pl, op);
	pl_send_next(pl);
	return 0;
}

void
px_pgloop_stat(const struct px_pgloop *pl, struct px_store_stat *st)
{
	st->up = pl->state == PL_UP;
	st->state = pl_state_names[pl->state];
	st->errors = pl->errors;
	st->reconnects = pl->reconnects;
	st->pending = pl->nq;
	snprintf(st->last_error, sizeof(st->last_error), "%s",
	    st->up ? "" : pl->last_err);
}

void
px_pgloop_free(struct px_pgloop *pl)
{
	struct px_store_op	*op;

	if (pl == NULL)
		return;
	while ((op = q_pop(pl)) != NULL)
		px_store_op_free(op);
	if (pl->res != NULL)
		PQclear(pl->res);
	if (pl->ev_sock != NULL)
		event_free(pl->ev_sock);
	event_free(pl->ev_timer);
	PQfinish(pl->conn);
	/* A lookup in flight is dropped, its callback never run. */
	if (pl->dns != NULL)
		evdns_base_free(pl->dns, 0);
	free(pl->host);
	free(pl->url);
	free(pl);
}
