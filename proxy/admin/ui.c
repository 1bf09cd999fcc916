/*
 * proxy/admin/ui.c: the web console for security teams, served on the
 * admin listener under /-/pubgate/ui/ as server-rendered HTML (no
 * script, no external resource: it works with JavaScript off and without
 * a network) over the same store queries as the admin API:
 *   GET  /-/pubgate/ui/login	 the login form (takes the admin token);
 *   POST /-/pubgate/ui/login	 token + csrf -> a session cookie;
 *   POST /-/pubgate/ui/logout	 csrf -> the session ends;
 *   GET  /-/pubgate/ui/	 decisions, filtered (blocked, package,
 *				 scope, user, since, limit);
 *   GET  /-/pubgate/ui/decision?id=ID	 one decision: reasons, hashes,
 *				 who, where, the rule that judged it;
 *   GET  /-/pubgate/ui/tarball?id=ID	 the tarball a refused decision
 *				 kept in quarantine.dir (a download; its
 *				 page links it when it is kept);
 *   GET  /-/pubgate/ui/policy	 the policy in force and a check of its
 *				 file as it is on disk now;
 *   GET  /-/pubgate/ui/waivers	 the waivers, with a revoke form each;
 *   POST /-/pubgate/ui/approve	 csrf + decision, reason, expires, once:
 *				 a waiver for a blocked decision (its page
 *				 has the form); the reviewer is the name
 *				 given at login ("admin" if none);
 *   POST /-/pubgate/ui/revoke	 csrf + id, reason: ends a waiver;
 *   GET  /-/pubgate/ui/style.css	 the stylesheet (no login needed).
 *
 * Sessions: a login with the admin token (compared in constant time)
 * makes a session of 128 random bits (RAND_bytes), sent as the cookie
 * pubgate_session (HttpOnly, SameSite=Strict, Path=/-/pubgate/ui/,
 * Max-Age 8 h) and held here with its own CSRF token, its expiry and a
 * hash of the admin token it was opened with (a new token on SIGHUP ends
 * every session).  At most PX_UI_SESSIONS at once; the oldest goes
 * first.  Every form POST must carry the session's CSRF token (the login
 * form a token bound to a pre-login cookie): without it, 403.  A page
 * asked for without a session is a redirect (303) to the login form.
 * Without admin.token_file the console is closed (403): it never serves
 * decisions to anyone who reaches the port.
 *
 * Everything that comes from a record (package names, user agents,
 * reasons: attacker-controlled) is HTML-escaped; pages carry a
 * Content-Security-Policy with default-src 'none'.  Nothing here touches
 * the store's internals: it queries through admin.c (the store's
 * asynchronous calls, the conn waiting while the loop goes on).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "admin.h"
#include "log.h"
#include "proxy-int.h"
#include "store.h"

#define PX_UI_PREFIX		"/-/pubgate/ui"
#define PX_UI_SESSIONS		32
#define PX_UI_SESSION_MS	(8LL * 3600 * 1000)
#define PX_UI_PAGE_MAX		(8 * 1024 * 1024)
#define PX_UI_LIST_DEFAULT	100
#define PX_UI_POLICY_MAX	(1024 * 1024)
#define PX_UI_COOKIE		"pubgate_session"
#define PX_UI_PRECOOKIE		"pubgate_login"

struct px_ui_sess {
	char		 id[33];	/* 128 bits, hex; "" free */
	char		 csrf[33];
	int64_t		 created_ms, expires_ms;
	unsigned char	 tok[32];	/* SHA-256 of the admin token */
	char		 name[PX_STORE_BY_MAX + 1];	/* the reviewer */
};

struct px_ui {
	struct px_ui_sess	 s[PX_UI_SESSIONS];
};

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24}"
    "header{background:#1b1f24;color:#fff;padding:8px 16px;display:flex;"
    "gap:16px;align-items:center}header a{color:#fff}"
    "header form{margin-left:auto}main{padding:16px}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;"
    "vertical-align:top}th{background:#f3f4f6}"
    ".block{color:#b00020;font-weight:bold}.allow{color:#116329}"
    "code,pre{font:12px ui-monospace,monospace;word-break:break-all}"
    "pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:40em}"
    "form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;"
    "margin-bottom:12px}label{display:flex;flex-direction:column;"
    "font-size:12px}.err{background:#fde7e9;border:1px solid #b00020;"
    "padding:8px}.ok{background:#e6f4ea;border:1px solid #116329;"
    "padding:8px}dl{display:grid;grid-template-columns:12em 1fr;gap:2px 12px}"
    "dt{font-weight:bold}dd{margin:0}";

int
px_ui_path(const char *path, size_t plen)
{
	size_t	 n = sizeof(PX_UI_PREFIX) - 1;

	return plen >= n && memcmp(path, PX_UI_PREFIX, n) == 0 &&
	    (plen == n || path[n] == '/');
}

void
px_ui_free(struct px_ctx *ctx)
{
	if (ctx->ui == NULL)
		return;
	OPENSSL_cleanse(ctx->ui, sizeof(*ctx->ui));
	free(ctx->ui);
	ctx->ui = NULL;
}

/* hesc() : s HTML-escaped to f; control characters become U+FFFD. */
static void
hesc(FILE *f, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; p != NULL && *p != '\0'; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((*p < 0x20 && *p != '\n' && *p != '\t') ||
			    *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				putc(*p, f);
		}
	}
}

/* uesc() : s percent-encoded for a query value, to f. */
static void
uesc(FILE *f, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~", *p) != NULL)
			putc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/* randhex() : 128 random bits as 32 hex digits; -1 if RAND_bytes fails. */
static int
randhex(char out[33])
{
	unsigned char	 b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	px_hex(b, sizeof(b), out);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static void
token_hash(const char *tok, unsigned char out[32])
{
	unsigned int	 n = 32;

	EVP_Digest(tok, strlen(tok), out, &n, EVP_sha256(), NULL);
}

/*
 * cookie() : copies the value of cookie name from the request's Cookie
 * field into out (len bytes); 0 if absent or too long.
 */
static int
cookie(struct px_conn *conn, const char *name, char *out, size_t len)
{
	const char	*v, *e, *p;
	size_t		 n, nl = strlen(name), vl;

	if ((v = px_http_head_get(&conn->req, "cookie", &n)) == NULL)
		return 0;
	e = v + n;
	for (p = v; p < e;) {
		while (p < e && (*p == ' ' || *p == ';'))
			p++;
		for (vl = 0; p + vl < e && p[vl] != ';'; vl++)
			;
		if (vl > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			if (vl - nl - 1 >= len)
				return 0;
			memcpy(out, p + nl + 1, vl - nl - 1);
			out[vl - nl - 1] = '\0';
			return 1;
		}
		p += vl;
	}
	return 0;
}

/* session() : the live session the request's cookie names, or NULL. */
static struct px_ui_sess *
session(struct px_conn *conn)
{
	struct px_ctx		*ctx = conn->ctx;
	struct px_ui_sess	*s;
	unsigned char		 th[32];
	char			 id[40];
	int64_t			 now = px_admin_wall_ms();
	size_t			 i;

	if (ctx->ui == NULL || ctx->admin_token[0] == '\0' ||
	    !cookie(conn, PX_UI_COOKIE, id, sizeof(id)) || strlen(id) != 32)
		return NULL;
	token_hash(ctx->admin_token, th);
	for (i = 0; i < PX_UI_SESSIONS; i++) {
		s = &ctx->ui->s[i];
		if (s->id[0] == '\0')
			continue;
		if (s->expires_ms <= now ||
		    CRYPTO_memcmp(s->tok, th, sizeof(th)) != 0) {
			OPENSSL_cleanse(s, sizeof(*s));	/* expired or revoked */
			continue;
		}
		if (CRYPTO_memcmp(s->id, id, 32) == 0)
			return s;
	}
	return NULL;
}

/* session_new() : a new session, evicting the oldest when full. */
static struct px_ui_sess *
session_new(struct px_ctx *ctx)
{
	struct px_ui_sess	*s = NULL;
	int64_t			 now = px_admin_wall_ms();
	size_t			 i;

	if (ctx->ui == NULL && (ctx->ui = calloc(1, sizeof(*ctx->ui))) == NULL)
		return NULL;
	for (i = 0; i < PX_UI_SESSIONS; i++) {
		struct px_ui_sess *c = &ctx->ui->s[i];

		if (c->id[0] == '\0' || c->expires_ms <= now) {
			s = c;
			break;
		}
		if (s == NULL || c->created_ms < s->created_ms)
			s = c;
	}
	OPENSSL_cleanse(s, sizeof(*s));
	if (randhex(s->id) == -1 || randhex(s->csrf) == -1) {
		OPENSSL_cleanse(s, sizeof(*s));
		return NULL;
	}
	s->created_ms = now;
	s->expires_ms = now + PX_UI_SESSION_MS;
	token_hash(ctx->admin_token, s->tok);
	return s;
}

/*
 * ui_send() : the response: status, extra header lines (CRLF-ended, or
 * NULL), and body (len bytes) as ctype.  Every answer of the console
 * carries the same security headers.
 */
static int
ui_send(struct px_conn *conn, int status, const char *hdrs, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(conn->client);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Security-Policy: default-src 'none'; style-src 'self'; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	    "X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n%sConnection: %s\r\n\r\n",
	    status, px_http_reason(status), ctype, len,
	    hdrs != NULL ? hdrs : "", conn->keepalive ? "keep-alive" : "close");
	if (conn->method != HTTP_HEAD)
		evbuffer_add(out, body, len);
	conn->status = status;
	conn->bytes_out = len;
	conn->resp_head_sent = 1;
	return px_conn_resp_done(conn);
}

static int
redirect(struct px_conn *conn, const char *to, const char *hdrs)
{
	char	 h[600];

	snprintf(h, sizeof(h), "Location: %s\r\n%s", to, hdrs ? hdrs : "");
	return ui_send(conn, 303, h, "text/plain; charset=utf-8", "", 0);
}

/* A page under construction: an in-memory stream. */
struct page {
	FILE	*f;
	char	*buf;
	size_t	 len;
};

static int
page_begin(struct page *pg, const char *title, const struct px_ui_sess *s)
{
	memset(pg, 0, sizeof(*pg));
	if ((pg->f = open_memstream(&pg->buf, &pg->len)) == NULL)
		return -1;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<title>", pg->f);
	hesc(pg->f, title);
	fputs(" - pubgate</title><link rel=\"stylesheet\" href=\""
	    PX_UI_PREFIX "/style.css\"></head><body><header><b>pubgate</b>",
	    pg->f);
	if (s != NULL)
		fprintf(pg->f, "<a href=\"" PX_UI_PREFIX "/\">Decisions</a>"
		    "<a href=\"" PX_UI_PREFIX "/?blocked=1\">Blocked</a>"
		    "<a href=\"" PX_UI_PREFIX "/policy\">Policy</a>"
		    "<a href=\"" PX_UI_PREFIX "/waivers\">Waivers</a>"
		    "<form method=\"post\" action=\"" PX_UI_PREFIX "/logout\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<button type=\"submit\">Log out</button></form>", s->csrf);
	fputs("</header><main>\n<h1>", pg->f);
	hesc(pg->f, title);
	fputs("</h1>\n", pg->f);
	return 0;
}

/* page_end() : the page sent; its stream closed and freed (pg emptied). */
static int
page_end(struct px_conn *conn, struct page *pg, int status, const char *hdrs)
{
	int	 r, bad;

	fputs("</main></body></html>\n", pg->f);
	bad = fclose(pg->f) != 0 || pg->len > PX_UI_PAGE_MAX;
	pg->f = NULL;
	if (bad) {
		px_admin_json_error(conn, 500, "console: page too large or "
		    "out of memory", NULL);
		r = px_conn_resp_done(conn);
	} else
		r = ui_send(conn, status, hdrs, "text/html; charset=utf-8",
		    pg->buf, pg->len);
	free(pg->buf);
	pg->buf = NULL;
	return r;
}

/* page_free() : what is left of a page (nothing once page_end() sent it). */
static void
page_free(struct page *pg)
{
	if (pg->f != NULL)
		fclose(pg->f);
	free(pg->buf);
	pg->f = NULL;
	pg->buf = NULL;
}

/* store_failed() : says why the store failed; the status (503 if down). */
static int
store_failed(FILE *f, const char *err)
{
	fputs("<p class=\"err\">The decision store failed: ", f);
	hesc(f, err != NULL && err[0] ? err : "no decision store");
	fputs("</p>", f);
	return px_store_err_status(err);
}

/*
 * table_end() : a listing's query ended: its table closed, then how many
 * NOUNs it shows (n) or the store's error (n == -1), and the page sent.
 */
static int
table_end(struct px_conn *conn, struct page *pg, int n, const char *err,
    const char *noun)
{
	int	 status = 200;

	fputs("</tbody></table>\n", pg->f);
	if (n == -1)
		status = store_failed(pg->f, err);
	else
		fprintf(pg->f, "<p>%d %s%s shown.</p>", n, noun,
		    n == 1 ? "" : "s");
	return page_end(conn, pg, status, NULL);
}

/* simple() : a page holding one message (escaped), with a link back. */
static int
simple(struct px_conn *conn, int status, const char *title, const char *msg,
    const struct px_ui_sess *s)
{
	struct page	 pg;

	if (page_begin(&pg, title, s) == -1) {
		px_admin_json_error(conn, 500, "out of memory", NULL);
		return px_conn_resp_done(conn);
	}
	fputs("<p class=\"err\">", pg.f);
	hesc(pg.f, msg);
	fputs("</p><p><a href=\"" PX_UI_PREFIX "/\">Back to the decisions"
	    "</a></p>", pg.f);
	return page_end(conn, &pg, status, NULL);
}

/* ------------------------------------------------------------ login */

static int
login_form(struct px_conn *conn, const char *error, int status)
{
	struct page	 pg;
	char		 pre[33], hdr[200];

	if (randhex(pre) == -1 || page_begin(&pg, "Log in", NULL) == -1) {
		px_admin_json_error(conn, 500, "console: no randomness or "
		    "memory", NULL);
		return px_conn_resp_done(conn);
	}
	if (error != NULL) {
		fputs("<p class=\"err\">", pg.f);
		hesc(pg.f, error);
		fputs("</p>", pg.f);
	}
	fprintf(pg.f, "<form method=\"post\" action=\"" PX_UI_PREFIX "/login\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label>Admin token (the content of admin.token_file)"
	    "<input type=\"password\" name=\"token\" autocomplete=\"off\" "
	    "autofocus required></label> "
	    "<label>Your name (recorded with your approvals; A-Z a-z 0-9 . _ "
	    "@ + -)<input name=\"name\" autocomplete=\"username\" "
	    "placeholder=\"admin\"></label> "
	    "<button type=\"submit\">Log in</button></form>", pre);
	snprintf(hdr, sizeof(hdr), "Set-Cookie: " PX_UI_PRECOOKIE "=%s; "
	    "Path=" PX_UI_PREFIX "/; HttpOnly; SameSite=Strict; "
	    "Max-Age=3600\r\n", pre);
	return page_end(conn, &pg, status, hdr);
}

/*
 * form() : reads the urlencoded body into csrf and token (either may be
 * NULL: then that field must be absent).  Unknown fields are refused.
 * 0, or -1 with a message in err.
 */
static int
form(struct px_conn *conn, char *csrf, size_t clen, char *token, size_t tlen,
    char *name, size_t nlen, char *err, size_t errlen)
{
	const char	*p, *ct;
	char		 key[32], val[PX_ADMIN_ARG_MAX];
	size_t		 n = 0;
	int		 r;

	csrf[0] = '\0';
	if (token != NULL)
		token[0] = '\0';
	if (name != NULL)
		name[0] = '\0';
	if (conn->wbody == NULL || (n = evbuffer_get_length(conn->wbody)) == 0)
		return 0;
	if ((ct = px_http_head_get(&conn->req, "content-type", NULL)) == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		snprintf(err, errlen, "a form must be "
		    "application/x-www-form-urlencoded");
		return -1;
	}
	if ((p = (const char *)evbuffer_pullup(conn->wbody, -1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while ((r = px_admin_qnext(&p, &n, key, sizeof(key), val, sizeof(val),
	    err, errlen)) == 1) {
		if (strcmp(key, "csrf") == 0 && strlen(val) < clen)
			memcpy(csrf, val, strlen(val) + 1);
		else if (token != NULL && strcmp(key, "token") == 0 &&
		    strlen(val) < tlen)
			memcpy(token, val, strlen(val) + 1);
		else if (name != NULL && strcmp(key, "name") == 0 &&
		    strlen(val) < nlen)
			memcpy(name, val, strlen(val) + 1);
		else {
			snprintf(err, errlen, "unexpected form field '%s'",
			    key);
			r = -1;
			break;
		}
	}
	OPENSSL_cleanse(val, sizeof(val));
	return r == -1 ? -1 : 0;
}

static int
login_post(struct px_conn *conn)
{
	struct px_ctx		*ctx = conn->ctx;
	struct px_ui_sess	*s;
	char			 csrf[40], pre[40], token[sizeof(ctx->admin_token)],
				 err[200], hdr[400], name[PX_STORE_BY_MAX + 1];
	size_t			 tl = strlen(ctx->admin_token);
	int			 ok;

	if (form(conn, csrf, sizeof(csrf), token, sizeof(token), name,
	    sizeof(name), err, sizeof(err)) == -1)
		return simple(conn, 400, "Bad request", err, NULL);
	if (!cookie(conn, PX_UI_PRECOOKIE, pre, sizeof(pre)) ||
	    strlen(pre) != 32 || strlen(csrf) != 32 ||
	    CRYPTO_memcmp(pre, csrf, 32) != 0) {
		OPENSSL_cleanse(token, sizeof(token));
		px_log_info("conn=%llu event=console-csrf-refused path=login",
		    (unsigned long long)conn->id);
		return simple(conn, 403, "Forbidden", "the form's CSRF token "
		    "is missing or does not match: reload the login page",
		    NULL);
	}
	ok = strlen(token) == tl && CRYPTO_memcmp(token, ctx->admin_token,
	    tl) == 0;
	OPENSSL_cleanse(token, sizeof(token));
	if (!ok) {
		px_log_info("conn=%llu event=console-login result=fail "
		    "client=%s", (unsigned long long)conn->id,
		    px_conn_client(conn));
		return login_form(conn, "wrong token", 401);
	}
	if (name[0] != '\0' && !px_store_name_ok(name))
		return login_form(conn, "bad name: 1 to 64 of A-Z a-z 0-9 . _ "
		    "@ + -", 400);
	if ((s = session_new(ctx)) == NULL) {
		px_admin_json_error(conn, 500, "console: cannot make a session",
		    NULL);
		return px_conn_resp_done(conn);
	}
	snprintf(s->name, sizeof(s->name), "%s", name[0] ? name : "admin");
	px_log_info("conn=%llu event=console-login result=ok client=%s "
	    "name=%s", (unsigned long long)conn->id, px_conn_client(conn),
	    s->name);
	snprintf(hdr, sizeof(hdr), "Set-Cookie: " PX_UI_COOKIE "=%s; Path="
	    PX_UI_PREFIX "/; HttpOnly; SameSite=Strict; Max-Age=%lld\r\n"
	    "Set-Cookie: " PX_UI_PRECOOKIE "=; Path=" PX_UI_PREFIX "/; "
	    "HttpOnly; SameSite=Strict; Max-Age=0\r\n", s->id,
	    PX_UI_SESSION_MS / 1000);
	return redirect(conn, PX_UI_PREFIX "/", hdr);
}

/* csrf_ok() : the POST's form carries session s's CSRF token. */
static int
csrf_ok(struct px_conn *conn, const struct px_ui_sess *s)
{
	char	 csrf[40], err[200];

	if (form(conn, csrf, sizeof(csrf), NULL, 0, NULL, 0, err,
	    sizeof(err)) == -1)
		return 0;
	return strlen(csrf) == 32 && CRYPTO_memcmp(csrf, s->csrf, 32) == 0;
}

/* -------------------------------------------------------- decisions */

struct list_arg {
	struct page	 pg;	/* the page being written */
	FILE		*f;	/* pg.f */
	char		 user[72];	/* prefix of who, without "sha256:"; or "" */
	int		 want, n;
};

static const char *
bare_who(const char *w)
{
	return strncmp(w, "sha256:", 7) == 0 ? w + 7 : w;
}

static int
list_cb(const struct px_store_row *r, void *arg)
{
	struct list_arg	*la = arg;
	size_t		 i;

	if (la->user[0] != '\0' && strncmp(bare_who(r->who), la->user,
	    strlen(la->user)) != 0 && strcmp(r->user, la->user) != 0)
		return 0;
	fputs("<tr><td>", la->f);
	hesc(la->f, r->time);
	fprintf(la->f, "</td><td class=\"%s\">", strcmp(r->verdict, "block") ==
	    0 ? "block" : "allow");
	hesc(la->f, r->verdict);
	fprintf(la->f, "</td><td>%d</td><td>", r->status);
	hesc(la->f, r->kind);
	fputs("</td><td><a href=\"" PX_UI_PREFIX "/decision?id=", la->f);
	uesc(la->f, r->request_id);
	fputs("\">", la->f);
	hesc(la->f, r->package);
	if (r->version[0] != '\0') {
		fputs("@", la->f);
		hesc(la->f, r->version);
	}
	fputs("</a></td><td>", la->f);
	if (r->user[0] != '\0') {
		/* The npm user name (whoami.c), then the fingerprint. */
		hesc(la->f, r->user);
		fputs(" ", la->f);
	}
	fputs("<code>", la->f);
	hesc(la->f, bare_who(r->who)[0] ? bare_who(r->who) : "-");
	fputs("</code></td><td>", la->f);
	hesc(la->f, r->client);
	fputs("</td><td>", la->f);
	for (i = 0; i < r->nreasons && i < 3; i++) {
		if (i > 0)
			fputs(", ", la->f);
		fputs("<code>", la->f);
		hesc(la->f, r->reasons[i].rule);
		fputs("</code>", la->f);
	}
	if (r->reasons_total > 3)
		fprintf(la->f, " (+%lld)", (long long)r->reasons_total - 3);
	fputs("</td></tr>\n", la->f);
	return ++la->n >= la->want;
}

static void
input(FILE *f, const char *label, const char *name, const char *val,
    const char *ph)
{
	fprintf(f, "<label>%s<input name=\"%s\" value=\"", label, name);
	hesc(f, val);
	fprintf(f, "\" placeholder=\"%s\"></label>", ph);
}

static void
list_free(void *arg)
{
	struct list_arg	*la = arg;

	page_free(&la->pg);
	free(la);
}

/* list_done() : the decision list's query ended: the page.  -1 if freed. */
static int
list_done(struct px_conn *conn, void *arg, int n, const char *err)
{
	struct list_arg	*la = arg;

	/* la->n: the rows shown, after the user filter. */
	return table_end(conn, &la->pg, n == -1 ? -1 : la->n, err,
	    "decision");
}

static int
list_page(struct px_conn *conn, const struct px_ui_sess *s, const char *q,
    size_t qlen)
{
	struct px_admin_dq	 dq;
	struct list_arg		*la;
	char			 err[300], lim[16];

	if (px_admin_parse_dq(q, qlen, 1, px_admin_wall_ms(), &dq, err,
	    sizeof(err)) == -1)
		return simple(conn, 400, "Bad filter", err, s);
	if ((la = calloc(1, sizeof(*la))) == NULL)
		return simple(conn, 500, "Error", "out of memory", s);
	if (page_begin(&la->pg, dq.blocked ? "Blocked decisions" :
	    "Decisions", s) == -1) {
		free(la);
		return simple(conn, 500, "Error", "out of memory", s);
	}
	la->f = la->pg.f;
	snprintf(la->user, sizeof(la->user), "%s", dq.user);
	la->want = dq.q.limit > 0 ? dq.q.limit : PX_UI_LIST_DEFAULT;
	la->n = 0;
	lim[0] = '\0';
	if (dq.q.limit > 0)
		snprintf(lim, sizeof(lim), "%d", dq.q.limit);
	fprintf(la->f, "<form class=\"filters\" method=\"get\" action=\""
	    PX_UI_PREFIX "/\"><label>Blocked only<input type=\"checkbox\" "
	    "name=\"blocked\" value=\"1\"%s></label>", dq.blocked ?
	    " checked" : "");
	input(la->f, "Package (glob)", "package", dq.package, "@acme/*");
	input(la->f, "Scope", "scope", dq.scope, "@acme");
	input(la->f, "User (npm name or token fingerprint)", "user", dq.user,
	    "alice or 3f9a...");
	input(la->f, "Since", "since", dq.since, "24h, 7d, 2026-12-01");
	input(la->f, "Limit", "limit", lim, "100");
	fputs("<button type=\"submit\">Filter</button></form>\n", la->f);
	fputs("<table><thead><tr><th>Time (UTC)</th><th>Verdict</th>"
	    "<th>Status</th><th>Kind</th><th>Package</th><th>User</th>"
	    "<th>Client</th><th>Reasons</th></tr></thead><tbody>\n", la->f);
	/* A user filter is applied here: scan up to the store's cap. */
	if (dq.user[0] != '\0')
		dq.q.limit = PX_ADMIN_LIMIT_MAX;
	else
		dq.q.limit = la->want;
	return px_admin_query(conn, &dq.q, list_cb, la, list_free, list_done);
}

static void
field(FILE *f, const char *name, const char *val)
{
	fprintf(f, "<dt>%s</dt><dd>", name);
	hesc(f, val != NULL && val[0] != '\0' ? val : "-");
	fputs("</dd>", f);
}

static void
field_code(FILE *f, const char *name, const char *val)
{
	fprintf(f, "<dt>%s</dt><dd><code>", name);
	hesc(f, val != NULL && val[0] != '\0' ? val : "-");
	fputs("</code></dd>", f);
}

/* approve_form() : the waiver form of a blocked publish's page. */
static void
approve_form(FILE *f, const struct px_store_row *r,
    const struct px_ui_sess *s)
{
	if (strcmp(r->verdict, "block") != 0 || (strcmp(r->kind, "publish") !=
	    0 && strcmp(r->kind, "stage-publish") != 0) || r->sha512[0] == '\0')
		return;
	fputs("<h2>Approve this tarball</h2>\n<p>A waiver lets exactly this "
	    "tarball (sha512 above) of ", f);
	hesc(f, r->package);
	fputs("@", f);
	hesc(f, r->version);
	fputs(" through on its next publish; a different tarball or "
	    "version stays blocked. You approve as <b>", f);
	hesc(f, s->name);
	fprintf(f, "</b>; the publisher cannot approve their own publish.</p>"
	    "<form class=\"filters\" method=\"post\" action=\"" PX_UI_PREFIX
	    "/approve\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"decision\" value=\"", s->csrf);
	hesc(f, r->request_id);
	fputs("\"><label>Reason (required)<input name=\"reason\" required "
	    "maxlength=\"199\" size=\"50\"></label>"
	    "<label>Expires<select name=\"expires\"><option>1h</option>"
	    "<option>1d</option><option selected>7d</option>"
	    "<option>30d</option></select></label>"
	    "<label>Once<input type=\"checkbox\" name=\"once\" value=\"1\" "
	    "checked></label><button type=\"submit\">Approve</button></form>"
	    "\n", f);
}

/* What a page's row callbacks write to, and for whom (the CSRF token). */
struct sess_arg {
	FILE			*f;
	const struct px_ui_sess	*s;
};

/* A decision page being written while its query runs. */
struct one_arg {
	struct page		 pg;
	FILE			*f;	/* pg.f */
	const struct px_ui_sess	*s;	/* &sess */
	struct px_ui_sess	 sess;	/* a copy: the session may end first */
	char			 id[40];
	const struct px_ctx	*ctx;	/* for the quarantine */
};

/* ui_kept() : whether the decision's tarball is kept, with a link. */
static void
ui_kept(FILE *f, const struct px_ctx *ctx, const struct px_store_row *r)
{
	struct stat	 st;
	int		 fd;

	if (ctx->quar == NULL || r->sha512[0] == '\0' ||
	    strcmp(r->verdict, "block") != 0)
		return;
	fputs("<dt>Tarball kept</dt><dd>", f);
	fd = px_quar_open_kept(ctx, r->request_id, strlen(r->request_id),
	    &st);
	if (fd == -1) {
		fputs("no (not kept, expired or evicted)</dd>", f);
		return;
	}
	close(fd);
	fputs("<a href=\"" PX_UI_PREFIX "/tarball?id=", f);
	uesc(f, r->request_id);
	fputs("\">", f);
	hesc(f, r->request_id);
	fprintf(f, ".tgz</a> (%lld bytes)</dd>", (long long)st.st_size);
}

/* ui_files() : the file list with sizes and SHA-256, escaped. */
static void
ui_files(FILE *f, const struct px_store_row *r)
{
	struct px_store_file_row	*fr;
	const char			*cur = r->files;

	fputs("<h2>Files</h2>\n", f);
	if (r->files_listed < 0) {
		fputs("<p>No file list (not a publish, or recorded before "
		    "pubgate kept one).</p>\n", f);
		return;
	}
	fprintf(f, "<p>%lld of %lld files listed%s; as an SBOM: <code>pubgate "
	    "show --cyclonedx</code> or the API's <code>format=cyclonedx"
	    "</code>.</p>\n", (long long)r->files_listed,
	    (long long)r->files_total, r->files_listed < r->files_total ?
	    " (the list is capped; every file was judged)" : "");
	if ((fr = malloc(sizeof(*fr))) == NULL)
		return;
	fputs("<table><thead><tr><th>Path</th><th>Size</th><th>SHA-256</th>"
	    "</tr></thead><tbody>\n", f);
	while (px_store_files_next(&cur, fr)) {
		fputs("<tr><td><code>", f);
		hesc(f, fr->path);
		fprintf(f, "</code></td><td>%llu</td><td><code>%s</code></td>"
		    "</tr>\n", (unsigned long long)fr->size, fr->sha256);
	}
	fputs("</tbody></table>\n", f);
	free(fr);
}

static int
one_cb(const struct px_store_row *r, void *arg)
{
	struct one_arg	*oa = arg;
	FILE		*f = oa->f;
	char		 num[32];
	size_t		 i;

	fputs("<dl>", f);
	field_code(f, "Decision id", r->request_id);
	field(f, "Time (UTC)", r->time);
	fprintf(f, "<dt>Verdict</dt><dd class=\"%s\">", strcmp(r->verdict,
	    "block") == 0 ? "block" : "allow");
	hesc(f, r->verdict);
	fprintf(f, "</dd><dt>HTTP status</dt><dd>%d</dd>", r->status);
	field(f, "Kind", r->kind);
	field(f, "Package", r->package);
	field(f, "Version", r->version);
	field(f, "Tag", r->tag);
	field(f, "Access", r->access);
	field(f, "npm user (whoami)", r->user);
	field_code(f, "Who (token fingerprint)", r->who);
	field(f, "Client address", r->client);
	field(f, "Path", r->path);
	if (r->connect_target[0] != '\0')
		field_code(f, "CONNECT target", r->connect_target);
	field(f, "npm command", r->npm_command);
	field(f, "User agent", r->user_agent);
	field_code(f, "Policy rule (match)", r->rule_match);
	field_code(f, "Policy sha256", r->policy_sha256);
	field(f, "Policy name", r->policy_name);
	field(f, "Policy revision", r->policy_revision);
	if (r->tag_new[0] != '\0' || r->tag_old[0] != '\0') {
		field(f, "Tag before", r->tag_old);
		field(f, "Tag set to", r->tag_new);
	}
	field(f, "Message", r->message);
	field(f, "Inspection", r->inspection);
	field_code(f, "Tarball sha512", r->sha512);
	field_code(f, "Integrity", r->integrity);
	snprintf(num, sizeof(num), "%lld", (long long)r->body_bytes);
	field(f, "Body bytes", num);
	snprintf(num, sizeof(num), "%lld", (long long)r->tarball_bytes);
	field(f, "Tarball bytes", num);
	ui_kept(f, oa->ctx, r);
	snprintf(num, sizeof(num), "%lld", (long long)r->unpacked_bytes);
	field(f, "Unpacked bytes", num);
	snprintf(num, sizeof(num), "%lld", (long long)r->file_count);
	field(f, "Files", num);
	fputs("</dl>\n<h2>Reasons</h2>\n", f);
	if (r->nreasons == 0)
		fputs("<p>None.</p>", f);
	else {
		fputs("<table><thead><tr><th>Rule</th><th>File</th>"
		    "<th>Offset</th><th>What</th><th>Hint</th></tr></thead>"
		    "<tbody>\n", f);
		for (i = 0; i < r->nreasons; i++) {
			fputs("<tr><td><code>", f);
			hesc(f, r->reasons[i].rule);
			fputs("</code></td><td><code>", f);
			hesc(f, r->reasons[i].file);
			fputs("</code></td><td>", f);
			if (r->reasons[i].offset >= 0)
				fprintf(f, "%lld",
				    (long long)r->reasons[i].offset);
			fputs("</td><td>", f);
			hesc(f, r->reasons[i].text);
			fputs("</td><td>", f);
			hesc(f, r->reasons[i].hint);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
		if (r->reasons_total > (int64_t)r->nreasons)
			fprintf(f, "<p>%lld more reasons were not kept.</p>",
			    (long long)(r->reasons_total -
			    (int64_t)r->nreasons));
	}
	ui_files(f, r);
	fputs("<p>The JSON of this record: "
	    "<a href=\"/-/pubgate/decisions?id=", f);
	uesc(f, r->request_id);
	fputs("\">/-/pubgate/decisions?id=", f);
	hesc(f, r->request_id);
	fputs("</a> (bearer token) or <code>pubgate show ", f);
	hesc(f, r->request_id);
	fputs("</code>.</p>\n", f);
	approve_form(f, r, oa->s);
	return 1;
}

static void
one_free(void *arg)
{
	struct one_arg	*oa = arg;

	page_free(&oa->pg);
	free(oa);
}

/* one_done() : a decision's query ended: its page.  -1 if freed. */
static int
one_done(struct px_conn *conn, void *arg, int n, const char *err)
{
	struct one_arg	*oa = arg;
	FILE		*f = oa->pg.f;
	int		 status = 200;

	if (n == -1)
		status = store_failed(f, err);
	else if (n == 0) {
		fputs("<p class=\"err\">No decision ", f);
		hesc(f, oa->id);
		fputs(" in the store.</p>", f);
		status = 404;
	}
	return page_end(conn, &oa->pg, status, NULL);
}

static int
decision_page(struct px_conn *conn, const struct px_ui_sess *s,
    const char *q, size_t qlen)
{
	struct px_admin_dq	 dq;
	struct one_arg		*oa;
	char			 err[300];

	if (px_admin_parse_dq(q, qlen, 1, px_admin_wall_ms(), &dq, err,
	    sizeof(err)) == -1)
		return simple(conn, 400, "Bad request", err, s);
	if (dq.id[0] == '\0')
		return simple(conn, 400, "Bad request", "which decision? "
		    "(?id=DECISION-ID)", s);
	if ((oa = calloc(1, sizeof(*oa))) == NULL)
		return simple(conn, 500, "Error", "out of memory", s);
	if (page_begin(&oa->pg, "Decision", s) == -1) {
		free(oa);
		return simple(conn, 500, "Error", "out of memory", s);
	}
	oa->f = oa->pg.f;
	oa->ctx = conn->ctx;
	oa->sess = *s;
	oa->s = &oa->sess;
	snprintf(oa->id, sizeof(oa->id), "%s", dq.id);
	dq.q.limit = 1;
	return px_admin_query(conn, &dq.q, one_cb, oa, one_free, one_done);
}

/* tarball_get() : /tarball?id=ID, the kept tarball as a download. */
static int
tarball_get(struct px_conn *conn, const struct px_ui_sess *s, const char *q,
    size_t qlen)
{
	char		 key[32], val[PX_ADMIN_ARG_MAX], id[PX_QUAR_ID_MAX + 1];
	char		 err[300];
	struct stat	 st;
	int		 n, fd;

	id[0] = '\0';
	while ((n = px_admin_qnext(&q, &qlen, key, sizeof(key), val,
	    sizeof(val), err, sizeof(err))) == 1) {
		if (strcmp(key, "id") != 0 || strlen(val) > PX_QUAR_ID_MAX ||
		    !px_quar_id_ok(val, strlen(val)))
			return simple(conn, 400, "Bad request", "want "
			    "?id=DECISION-ID", s);
		snprintf(id, sizeof(id), "%s", val);
	}
	if (n == -1)
		return simple(conn, 400, "Bad request", err, s);
	if (id[0] == '\0')
		return simple(conn, 400, "Bad request", "which decision? "
		    "(?id=DECISION-ID)", s);
	if ((fd = px_quar_open_kept(conn->ctx, id, strlen(id), &st)) == -1)
		return simple(conn, 404, "Not found", "no tarball is kept for "
		    "that decision", s);
	close(fd);
	return px_admin_tarball(conn, id);
}

/* ----------------------------------------------------------- policy */

/* read_file() : at most max bytes of path (+1 to see it is over). */
static char *
read_file(const char *path, size_t max, size_t *len)
{
	FILE	*f;
	char	*b;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if ((b = malloc(max + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(b, 1, max + 1, f);
	fclose(f);
	return b;
}

static int
policy_page(struct px_conn *conn, const struct px_ui_sess *s)
{
	struct px_ctx		*ctx = conn->ctx;
	struct pol_errors	*errs;
	struct pol_policy	*p = NULL;
	struct page		 pg;
	const char		*path = ctx->cfg->policy, *text;
	char			*buf = NULL, line[POL_ERRMSG_MAX + 300], sha[65];
	unsigned char		 d[32];
	unsigned int		 dl = 32;
	size_t			 len = 0, i;
	int			 same;

	if ((errs = calloc(1, sizeof(*errs))) == NULL ||
	    page_begin(&pg, "Policy", s) == -1) {
		free(errs);
		return simple(conn, 500, "Error", "out of memory", s);
	}
	fputs("<dl>", pg.f);
	field(pg.f, "Source", path[0] ? path : "embedded strict policy "
	    "(contrib/policies/strict.yaml)");
	field_code(pg.f, "SHA-256 in force", ctx->policy_sha256);
	snprintf(line, sizeof(line), "%zu", ctx->policy ?
	    pol_policy_nrules(ctx->policy) : 0);
	field(pg.f, "Rules in force", line);
	field(pg.f, "Last reload", ctx->reload_ok ? "loaded everything" :
	    "FAILED: the previous policy stays in force");
	fputs("</dl>\n<h2>Check of the file as it is now</h2>\n", pg.f);
	/*
	 * Loading a policy compiles its detectors (seconds on a small
	 * machine, in the event loop): the file is loaded again only when
	 * its bytes differ from those in force, which passed at load.
	 */
	if (path[0] == '\0')
		text = pol_default_policy_text(&len);
	else if ((buf = read_file(path, PX_UI_POLICY_MAX, &len)) == NULL) {
		snprintf(line, sizeof(line), "%.400s: cannot be read", path);
		text = NULL;
	} else
		text = buf;
	sha[0] = '\0';
	if (text != NULL && len <= PX_UI_POLICY_MAX &&
	    EVP_Digest(text, len, d, &dl, EVP_sha256(), NULL) == 1)
		px_hex(d, 32, sha);
	same = sha[0] != '\0' && strcmp(sha, ctx->policy_sha256) == 0 &&
	    ctx->policy != NULL;
	if (same)
		p = pol_policy_ref(ctx->policy);
	else if (text != NULL)
		p = pol_load_buf(path[0] ? path : "(embedded)", text, len, errs);
	if (p != NULL) {
		fprintf(pg.f, "<p class=\"ok\" id=\"check\">policy OK (%zu "
		    "rules)", pol_policy_nrules(p));
		fputs(same ? "; it is the policy in force" : "; the file "
		    "differs from the policy in force: send SIGHUP to load it",
		    pg.f);
		fputs("</p>\n", pg.f);
	} else {
		fputs("<div class=\"err\" id=\"check\"><p>The policy file does "
		    "not load (the policy in force stays):</p><pre>", pg.f);
		if (text == NULL)
			hesc(pg.f, line);
		for (i = 0; i < errs->count && i < POL_ERRORS_MAX; i++) {
			pol_errors_format(errs, i, line, sizeof(line));
			hesc(pg.f, line);
			fputs("\n", pg.f);
		}
		fputs("</pre></div>\n", pg.f);
	}
	if (text != NULL && len <= PX_UI_POLICY_MAX) {
		fputs("<h2>Text</h2><pre>", pg.f);
		/* The text may hold a NUL: write it piece by piece. */
		for (i = 0; i < len;) {
			size_t	 k = strnlen(text + i, len - i);
			char	*piece = strndup(text + i, k);

			if (piece != NULL)
				hesc(pg.f, piece);
			free(piece);
			i += k + 1;
		}
		fputs("</pre>\n", pg.f);
	}
	pol_policy_unref(p);
	free(buf);
	free(errs);
	return page_end(conn, &pg, 200, NULL);
}

/* ---------------------------------------------------------- waivers */

/* The waivers page being written while the store answers. */
struct wl_arg {
	struct page	 pg;
	char		 csrf[sizeof(((struct px_ui_sess *)0)->csrf)];
};

static int
wl_cb(const struct px_store_waiver *w, void *arg)
{
	struct wl_arg	*wa = arg;
	FILE		*f = wa->pg.f;
	char		 t[40];
	time_t		 sec = (time_t)(w->expires_ms / 1000);
	struct tm	 tm;

	gmtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%SZ", &tm);
	fprintf(f, "<tr><td>%lld</td><td class=\"%s\">", (long long)w->id,
	    strcmp(w->state, "active") == 0 ? "allow" : "");
	hesc(f, w->state);
	fputs("</td><td>", f);
	hesc(f, w->package);
	fputs("@", f);
	hesc(f, w->version);
	fputs("</td><td><code>", f);
	fprintf(f, "%.16s...", w->sha512);
	fputs("</code></td><td><a href=\"" PX_UI_PREFIX "/decision?id=", f);
	uesc(f, w->decision);
	fputs("\">", f);
	hesc(f, w->decision);
	fputs("</a></td><td>", f);
	hesc(f, w->approved_by);
	fputs("</td><td>", f);
	hesc(f, w->reason);
	fprintf(f, "</td><td>%s</td><td>%s</td><td>%lld</td><td>", t,
	    w->once ? "once" : "until expiry", (long long)w->uses);
	if (w->revoked_ms > 0) {
		fputs("revoked by ", f);
		hesc(f, w->revoked_by);
		fputs(": ", f);
		hesc(f, w->revoke_reason);
	} else if (strcmp(w->state, "active") == 0) {
		fprintf(f, "<form method=\"post\" action=\"" PX_UI_PREFIX
		    "/revoke\"><input type=\"hidden\" name=\"csrf\" "
		    "value=\"%s\"><input type=\"hidden\" name=\"id\" "
		    "value=\"%lld\"><input name=\"reason\" required "
		    "maxlength=\"199\" placeholder=\"why\"><button "
		    "type=\"submit\">Revoke</button></form>", wa->csrf,
		    (long long)w->id);
	}
	fputs("</td></tr>\n", f);
	return 0;
}

static void
wl_free(void *arg)
{
	struct wl_arg	*wa = arg;

	page_free(&wa->pg);
	free(wa);
}

/* wl_done() : the waivers' query ended: the page.  -1 if freed. */
static int
wl_done(struct px_conn *conn, void *arg, int n, const char *err)
{
	struct wl_arg	*wa = arg;

	return table_end(conn, &wa->pg, n, err, "waiver");
}

static int
waivers_page(struct px_conn *conn, const struct px_ui_sess *s)
{
	struct wl_arg	*wa;

	if ((wa = calloc(1, sizeof(*wa))) == NULL)
		return simple(conn, 500, "Error", "out of memory", s);
	if (page_begin(&wa->pg, "Waivers", s) == -1) {
		free(wa);
		return simple(conn, 500, "Error", "out of memory", s);
	}
	memcpy(wa->csrf, s->csrf, sizeof(wa->csrf));
	fputs("<p>A waiver lets one blocked tarball (its sha512) of one "
	    "package@version through, once or until it expires; approve one "
	    "from a blocked decision's page.</p>\n<table><thead><tr>"
	    "<th>Id</th><th>State</th><th>Package</th><th>sha512</th>"
	    "<th>Decision</th><th>Approved by</th><th>Reason</th>"
	    "<th>Expires (UTC)</th><th>Use</th><th>Uses</th><th></th>"
	    "</tr></thead><tbody>\n", wa->pg.f);
	return px_admin_wlist(conn, 0, 0, 0, wl_cb, wa, wl_free, wl_done);
}

/* waiver_posted() : the store's answer to a console form.  -1 if freed. */
static int
waiver_posted(struct px_conn *conn, int revoke, int rc,
    const struct px_store_waiver *w, const char *err)
{
	(void)w;
	if (rc == 0)
		return redirect(conn, PX_UI_PREFIX "/waivers", NULL);
	/* The session as it is now: it may have ended meanwhile. */
	return simple(conn, rc == -1 ? px_store_err_status(err) :
	    rc == PX_STORE_NOTFOUND ? 404 : 409, revoke ?
	    "Not revoked" : "Not approved", err, session(conn));
}

/* waiver_post() : POST approve or revoke, CSRF-checked. */
static int
waiver_post(struct px_conn *conn, struct px_ui_sess *s, int revoke)
{
	struct px_admin_wform	 wf;
	char			 err[400];
	int			 rc;

	err[0] = '\0';
	rc = px_admin_wform_read(conn, &wf, err, sizeof(err));
	if (rc == -1 || strlen(wf.csrf) != 32 ||
	    CRYPTO_memcmp(wf.csrf, s->csrf, 32) != 0) {
		px_log_info("conn=%llu event=console-csrf-refused path=%s",
		    (unsigned long long)conn->id, revoke ? "revoke" :
		    "approve");
		return simple(conn, 403, "Forbidden", "the form's CSRF "
		    "token is missing or wrong: nothing was changed", s);
	}
	if (wf.by[0] != '\0')
		return simple(conn, 400, "Bad request", "the reviewer is the "
		    "name given at login", s);
	return px_admin_wact(conn, &wf, revoke, s->name, "console",
	    waiver_posted);
}

/* ------------------------------------------------------------ route */

int
px_ui_answer(struct px_conn *conn)
{
	const char		*url = conn->req.buf + conn->req.url, *q = NULL;
	size_t			 ulen = conn->req.url_len, plen, qlen = 0;
	struct px_ui_sess	*s;
	int			 get = conn->method == HTTP_GET ||
				    conn->method == HTTP_HEAD;

	for (plen = 0; plen < ulen && url[plen] != '?'; plen++)
		;
	if (plen < ulen) {
		q = url + plen + 1;
		qlen = ulen - plen - 1;
	}
	conn->kind = "console";
#define IS(s) (plen == strlen(PX_UI_PREFIX s) && \
    memcmp(url, PX_UI_PREFIX s, plen) == 0)
	if (IS("/style.css") && get)
		return ui_send(conn, 200, NULL, "text/css; charset=utf-8", css,
		    sizeof(css) - 1);
	if (!get && conn->method != HTTP_POST) {
		px_admin_json_error(conn, 405, "console: GET and POST only",
		    "Allow: GET, HEAD, POST\r\n");
		return px_conn_resp_done(conn);
	}
	if (conn->ctx->admin_token[0] == '\0')
		return simple(conn, 403, "Console closed", "the console needs "
		    "admin.token_file in pubgate.yaml: without a token it "
		    "would show every decision to anyone who reaches this "
		    "port", NULL);
	if (IS("/login"))
		return get ? login_form(conn, NULL, 200) : login_post(conn);
	if ((s = session(conn)) == NULL) {
		if (!get) {
			px_log_info("conn=%llu event=console-refused "
			    "reason=no-session", (unsigned long long)conn->id);
			return simple(conn, 403, "Forbidden", "no session: "
			    "log in first", NULL);
		}
		return redirect(conn, PX_UI_PREFIX "/login", NULL);
	}
	if (!get) {
		if (IS("/approve") || IS("/revoke"))
			return waiver_post(conn, s, IS("/revoke"));
		if (!csrf_ok(conn, s)) {
			px_log_info("conn=%llu event=console-csrf-refused",
			    (unsigned long long)conn->id);
			return simple(conn, 403, "Forbidden", "the form's CSRF "
			    "token is missing or wrong: nothing was changed",
			    s);
		}
		if (IS("/logout")) {
			OPENSSL_cleanse(s, sizeof(*s));
			return redirect(conn, PX_UI_PREFIX "/login",
			    "Set-Cookie: " PX_UI_COOKIE "=; Path=" PX_UI_PREFIX
			    "/; HttpOnly; SameSite=Strict; Max-Age=0\r\n");
		}
		return simple(conn, 404, "Not found", "no such form", s);
	}
	if (IS("") )
		return redirect(conn, PX_UI_PREFIX "/", NULL);
	if (IS("/"))
		return list_page(conn, s, q, qlen);
	if (IS("/decision"))
		return decision_page(conn, s, q, qlen);
	if (IS("/tarball"))
		return tarball_get(conn, s, q, qlen);
	if (IS("/waivers")) {
		if (qlen > 0)
			return simple(conn, 400, "Bad request", "the waivers "
			    "page takes no parameter", s);
		return waivers_page(conn, s);
	}
	if (IS("/policy")) {
		if (qlen > 0)
			return simple(conn, 400, "Bad request", "the policy "
			    "page takes no parameter", s);
		return policy_page(conn, s);
	}
#undef IS
	return simple(conn, 404, "Not found", "no such page", s);
}
