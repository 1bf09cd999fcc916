/*
 * proxy/gate/quarantine.c: blocked tarballs kept for review (issue 10,
 * `quarantine: {dir, keep, max}` in pubgate.yaml; off by default).
 *
 * What is kept is the package tarball exactly as the engine decoded it
 * from the publish body (the .tgz npm would have stored), one file per
 * refused decision, named by the decision id: <dir>/<id>.tgz, mode 0600,
 * its SHA-512 the record's sha512 (the waiver flow keys on it).
 *
 *   publish head   px_quar_begin(): nothing yet (a write without a
 *                  tarball never makes a file)
 *   engine decodes px_quar_tee() (the engine's on_tarball): the first
 *                  byte opens ".part-<id>-<random>" in dir (O_EXCL,
 *                  0600); bytes are held in PX_QUAR_BUF and written when
 *                  it fills (one bounded write per callback), hashed
 *                  with SHA-512 as they pass; past `max` writing stops
 *   blocked        px_quar_keep(), once the refusal is committed and
 *                  before the 403: the byte count and SHA-512 must be
 *                  the report's, the oldest kept files are deleted until
 *                  the new one fits in `max`, then the part is linked to
 *                  <id>.tgz (never over an existing file) and unlinked
 *   anything else  px_quar_drop(): the part is unlinked (an allowed
 *                  publish leaves nothing behind)
 *
 * Every file operation is relative to a descriptor of dir opened once per
 * process (O_DIRECTORY|O_NOFOLLOW), after the folder was checked: a real
 * folder, owned by this user, not writable by group or others (made 0700
 * when missing).  Only names of our own shapes are ever deleted.
 *
 * The sweep (at the start of each worker, then every keep/2, at least
 * 1 s and at most 60 s) deletes kept files older than `keep` (by mtime,
 * the time the tarball was written), parts left over by a process that
 * died (untouched for PX_QUAR_PART_STALE_MS), then the oldest files until
 * the total is within `max`.  Several workers share the folder: a sweep
 * and the eviction of a keep hold an flock on "<dir>/.lock" taken without
 * waiting (a worker finding it held skips its sweep; a keep whose
 * eviction finds it held keeps its file and asks for a sweep in 1 s), and
 * a file another process deleted first (ENOENT) is simply gone.
 *
 * A quarantine failure never changes a verdict or an answer: it is logged
 * (event=quarantine-*) and counted (pubgate_quarantine_* metrics).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "proxy-int.h"
#include "store.h"

/* One publish's tarball being written (conn->quar). */
struct px_quar_tee {
	int		 fd;		/* the part, -1 none (yet) */
	char		 part[PX_QUAR_NAME_MAX];
	unsigned char	*buf;		/* PX_QUAR_BUF, bytes not yet written */
	size_t		 buflen;
	uint64_t	 bytes;		/* every byte the engine passed */
	EVP_MD_CTX	*md;		/* SHA-512 of them */
	const char	*failed;	/* why it cannot be kept, NULL none */
	int		 over;		/* past max: no longer written */
};

static const char *const skip_names[PX_QUAR_SKIP_N] = {
	"incomplete", "over-max", "write-failed", "digest", "exists",
};

/* ------------------------------------------------------- the folder */

int
px_quar_check_dir(const char *dir, int create, char *err, size_t errlen)
{
	struct stat	 st;
	char		 parent[PATH_MAX];
	const char	*slash;

	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		if (create) {
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "cannot make it: %s",
				    strerror(errno));
				return -1;
			}
			if (lstat(dir, &st) == -1) {
				snprintf(err, errlen, "%s", strerror(errno));
				return -1;
			}
		} else {
			/* -n makes nothing: can serve make it? */
			slash = strrchr(dir, '/');
			if (slash == dir)
				snprintf(parent, sizeof(parent), "/");
			else
				snprintf(parent, sizeof(parent), "%.*s",
				    (int)(slash - dir), dir);
			if (access(parent, W_OK | X_OK) == -1) {
				snprintf(err, errlen, "missing, and it cannot "
				    "be made in %s: %s", parent,
				    strerror(errno));
				return -1;
			}
			return 0;
		}
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "is a symbolic link (name the folder "
		    "itself)");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "is not a folder");
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "is owned by uid %u, not by the gate's "
		    "user (uid %u)", (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen, "is writable by its group or others "
		    "(mode %04o; chmod 0700 it)", (unsigned)(st.st_mode &
		    07777));
		return -1;
	}
	if (!create && access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "cannot write in it: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct px_quar *
px_quar_new(const char *dir, uint64_t keep_ms, uint64_t max_bytes, char *err,
    size_t errlen)
{
	struct px_quar	*q;
	struct stat	 st;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->dirfd = q->lockfd = -1;
	q->c = &q->own;
	snprintf(q->dir, sizeof(q->dir), "%s", dir);
	q->keep_ms = keep_ms;
	q->max_bytes = max_bytes;
	q->part_stale_ms = PX_QUAR_PART_STALE_MS;
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (q->dirfd == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	/* The folder checked by name may have been swapped since: again. */
	if (fstat(q->dirfd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "not owned by this user, or writable by "
		    "others");
		goto fail;
	}
	q->lockfd = openat(q->dirfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (q->lockfd == -1) {
		snprintf(err, errlen, "%s/.lock: %s", dir, strerror(errno));
		goto fail;
	}
	return q;
fail:
	px_quar_free(q);
	return NULL;
}

void
px_quar_free(struct px_quar *q)
{
	if (q == NULL)
		return;
	if (q->ev_sweep != NULL)
		event_free(q->ev_sweep);
	if (q->dirfd != -1)
		close(q->dirfd);
	if (q->lockfd != -1)
		close(q->lockfd);
	free(q);
}

int
px_quar_id_ok(const char *id, size_t len)
{
	size_t	 i;

	if (len == 0 || len > PX_QUAR_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f') || id[i] == '-'))
			return 0;
	return 1;
}

/* kept_name() : whether name is "<id>.tgz", a file this code keeps. */
static int
kept_name(const char *name)
{
	size_t	 n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".tgz") == 0 &&
	    px_quar_id_ok(name, n - 4);
}

/* part_name() : whether name is ".part-..." (a tarball being written). */
static int
part_name(const char *name)
{
	return strncmp(name, ".part-", 6) == 0;
}

static int64_t
mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 +
	    st->st_mtim.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ent_cmp() : oldest first; the name settles a tie. */
static int
ent_cmp(const void *a, const void *b)
{
	const struct px_quar_ent	*x = a, *y = b;

	if (x->mtime_ms != y->mtime_ms)
		return x->mtime_ms < y->mtime_ms ? -1 : 1;
	return strcmp(x->name, y->name);
}

uint64_t
px_quar_plan(struct px_quar_ent *e, size_t n, int64_t now_ms,
    uint64_t keep_ms, uint64_t max_bytes, uint64_t incoming)
{
	uint64_t	 total = 0;
	size_t		 i;

	if (n > 1)
		qsort(e, n, sizeof(*e), ent_cmp);
	for (i = 0; i < n; i++) {
		e[i].del = PX_QUAR_KEEP;
		if (keep_ms > 0 && now_ms - e[i].mtime_ms > (int64_t)keep_ms)
			e[i].del = PX_QUAR_EXPIRED;
		else
			total += e[i].size;
	}
	/* Oldest first until what stays, and what comes, fits. */
	for (i = 0; i < n && total + incoming > max_bytes; i++) {
		if (e[i].del != PX_QUAR_KEEP)
			continue;
		e[i].del = PX_QUAR_EVICTED;
		total -= e[i].size;
	}
	return total;
}

/*
 * scan() : the kept files of q's folder into *ents (at most
 * PX_QUAR_FILES_MAX; the rest are not seen until some are gone); stale
 * parts are unlinked on the way.  The count, or -1.
 */
static ssize_t
scan(struct px_quar *q, int64_t now_ms, struct px_quar_ent **ents,
    struct px_quar_sweep *sw)
{
	struct px_quar_ent	*e = NULL, *ne;
	struct dirent		*d;
	struct stat		 st;
	DIR			*dp;
	size_t			 n = 0, cap = 0;
	int			 fd;

	*ents = NULL;
	if ((fd = dup(q->dirfd)) == -1)
		return -1;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(dp);
	while ((d = readdir(dp)) != NULL) {
		if (part_name(d->d_name)) {
			if (fstatat(q->dirfd, d->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			    now_ms - mtime_ms(&st) > (int64_t)q->part_stale_ms &&
			    unlinkat(q->dirfd, d->d_name, 0) == 0)
				sw->parts++;
			continue;
		}
		if (!kept_name(d->d_name))
			continue;
		if (fstatat(q->dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;	/* gone meanwhile, or not ours */
		if (n == PX_QUAR_FILES_MAX) {
			sw->capped = 1;
			break;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if (cap > PX_QUAR_FILES_MAX)
				cap = PX_QUAR_FILES_MAX;
			if ((ne = reallocarray(e, cap, sizeof(*e))) == NULL) {
				free(e);
				closedir(dp);
				return -1;
			}
			e = ne;
		}
		snprintf(e[n].name, sizeof(e[n].name), "%s", d->d_name);
		e[n].size = (uint64_t)st.st_size;
		e[n].mtime_ms = mtime_ms(&st);
		n++;
	}
	closedir(dp);
	*ents = e;
	return (ssize_t)n;
}

int
px_quar_sweep(struct px_quar *q, int64_t now_ms, uint64_t incoming,
    struct px_quar_sweep *sw)
{
	struct px_quar_ent	*e;
	ssize_t			 n, i;
	uint64_t		 left;
	int64_t			 t0 = px_now_ms();

	memset(sw, 0, sizeof(*sw));
	if (flock(q->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK || errno == EINTR)
			return 1;	/* another process sweeps now */
		return -1;
	}
	if ((n = scan(q, now_ms, &e, sw)) == -1) {
		flock(q->lockfd, LOCK_UN);
		return -1;
	}
	left = px_quar_plan(e, (size_t)n, now_ms, q->keep_ms, q->max_bytes,
	    incoming);
	sw->files = (uint64_t)n;
	for (i = 0; i < n; i++) {
		if (e[i].del == PX_QUAR_KEEP)
			continue;
		sw->files--;
		if (unlinkat(q->dirfd, e[i].name, 0) == -1 &&
		    errno != ENOENT) {
			px_log_warn("event=quarantine-delete-failed dir=%s "
			    "file=%s", q->dir, e[i].name);
			left += e[i].size;
			sw->files++;
			continue;
		}
		if (e[i].del == PX_QUAR_EXPIRED)
			sw->expired++;
		else
			sw->evicted++;
	}
	free(e);
	flock(q->lockfd, LOCK_UN);
	sw->bytes = left;
	sw->ms = px_now_ms() - t0;
	PX_MSET(q->c->files, sw->files);
	PX_MSET(q->c->bytes, left);
	PX_MSET(q->c->at_ms, (uint64_t)now_ms);
	PX_MADD(q->c->expired, sw->expired);
	PX_MADD(q->c->evicted, sw->evicted);
	PX_MADD(q->c->parts, sw->parts);
	PX_MADD(q->c->sweeps, 1);
	return 0;
}

/* sweep_log() : one line when a sweep deleted something. */
static void
sweep_log(struct px_quar *q, const char *why, const struct px_quar_sweep *sw)
{
	if (sw->expired + sw->evicted + sw->parts == 0 && !sw->capped)
		return;
	px_log_info("event=quarantine-swept when=%s dir=%s expired=%llu "
	    "evicted=%llu stale_parts=%llu files=%llu bytes=%llu%s ms=%llu",
	    why, q->dir, (unsigned long long)sw->expired,
	    (unsigned long long)sw->evicted, (unsigned long long)sw->parts,
	    (unsigned long long)sw->files, (unsigned long long)sw->bytes,
	    sw->capped ? " capped=1" : "", (unsigned long long)sw->ms);
}

static void
sweep_arm(struct px_quar *q, unsigned ms)
{
	struct timeval	 tv;

	if (q->ev_sweep == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(q->ev_sweep, &tv);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct px_quar		*q = arg;
	struct px_quar_sweep	 sw;

	(void)fd;
	(void)what;
	switch (px_quar_sweep(q, wall_ms(), 0, &sw)) {
	case 0:
		sweep_log(q, "timer", &sw);
		break;
	case -1:
		PX_MADD(q->c->failed, 1);
		px_log_warn("event=quarantine-sweep-failed dir=%s", q->dir);
		break;
	default:
		break;		/* another worker's sweep */
	}
	sweep_arm(q, q->sweep_ms);
}

int
px_quar_start(struct px_ctx *ctx)
{
	const struct px_cfg	*cfg = ctx->cfg;
	struct px_quar		*q;
	struct px_quar_sweep	 sw;
	char			 err[400];
	uint64_t		 ms;

	if (cfg->quar.dir[0] == '\0')
		return 0;
	if ((q = px_quar_new(cfg->quar.dir, cfg->quar.keep_ms,
	    cfg->quar.max_bytes, err, sizeof(err))) == NULL) {
		px_log_warnx("event=quarantine-open-failed dir=%s error=\"%s\"",
		    cfg->quar.dir, px_log_quote(err, sizeof(err), err));
		return -1;
	}
	ms = cfg->quar.keep_ms / 2;
	if (ms > PX_QUAR_SWEEP_MAX_MS)
		ms = PX_QUAR_SWEEP_MAX_MS;
	if (ms < PX_QUAR_SWEEP_MIN_MS)
		ms = PX_QUAR_SWEEP_MIN_MS;
	q->sweep_ms = (unsigned)ms;
	/* A publish may take timeouts.request: its part is not stale. */
	if (2ULL * cfg->request_ms > q->part_stale_ms)
		q->part_stale_ms = 2ULL * cfg->request_ms;
	if ((q->ev_sweep = evtimer_new(ctx->base, sweep_cb, q)) == NULL) {
		px_quar_free(q);
		return -1;
	}
	/* Counted in the worker's slot from now on. */
	q->c = &ctx->m->quar;
	ctx->quar = q;
	if (px_quar_sweep(q, wall_ms(), 0, &sw) == 0)
		sweep_log(q, "start", &sw);
	sweep_arm(q, q->sweep_ms);
	px_log_info("event=quarantine dir=%s keep_ms=%llu max_bytes=%llu "
	    "files=%llu bytes=%llu", q->dir,
	    (unsigned long long)q->keep_ms, (unsigned long long)q->max_bytes,
	    (unsigned long long)q->c->files, (unsigned long long)q->c->bytes);
	return 0;
}

/* ------------------------------------------------------ one publish */

/* tee_fail() : this tarball will not be kept; its part goes now. */
static void
tee_fail(struct px_conn *conn, const char *why)
{
	struct px_quar_tee	*t = conn->quar;

	if (t->failed == NULL)
		t->failed = why;
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
		(void)unlinkat(conn->ctx->quar->dirfd, t->part, 0);
	}
}

/* tee_flush() : writes what the buffer holds; 0 or -1 (logged). */
static int
tee_flush(struct px_conn *conn)
{
	struct px_quar_tee	*t = conn->quar;
	size_t			 off = 0;
	ssize_t			 w;

	while (off < t->buflen) {
		w = write(t->fd, t->buf + off, t->buflen - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			px_log_warn("conn=%llu req=%s event=quarantine-failed "
			    "what=write dir=%s", (unsigned long long)conn->id,
			    conn->reqid, conn->ctx->quar->dir);
			PX_MADD(conn->ctx->quar->c->failed, 1);
			t->buflen = 0;
			tee_fail(conn, "write-failed");
			return -1;
		}
		off += (size_t)w;
	}
	t->buflen = 0;
	return 0;
}

/* tee_open() : the part for conn's tarball; 0 or -1 (logged). */
static int
tee_open(struct px_conn *conn)
{
	struct px_quar_tee	*t = conn->quar;
	struct px_quar		*q = conn->ctx->quar;
	unsigned char		 r[6];
	char			 rhex[2 * sizeof(r) + 1];
	int			 i;

	for (i = 0; i < 4; i++) {
		if (RAND_bytes(r, sizeof(r)) != 1)
			break;
		px_hex(r, sizeof(r), rhex);
		snprintf(t->part, sizeof(t->part), ".part-%.40s-%s",
		    conn->reqid, rhex);
		t->fd = openat(q->dirfd, t->part, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd != -1 || errno != EEXIST)
			break;
	}
	if (t->fd == -1) {
		px_log_warn("conn=%llu req=%s event=quarantine-failed "
		    "what=open dir=%s", (unsigned long long)conn->id,
		    conn->reqid, q->dir);
		PX_MADD(q->c->failed, 1);
		tee_fail(conn, "write-failed");
		return -1;
	}
	(void)fchmod(t->fd, 0600);	/* whatever the umask */
	return 0;
}

int
px_quar_begin(struct px_conn *conn)
{
	struct px_quar_tee	*t;

	px_quar_drop(conn);
	if (conn->ctx->quar == NULL)
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->fd = -1;
	if ((t->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(t->md, EVP_sha512(), NULL) != 1) {
		EVP_MD_CTX_free(t->md);
		free(t);
		return -1;
	}
	conn->quar = t;
	return 0;
}

void
px_quar_tee(void *arg, const void *buf, size_t len)
{
	struct px_conn		*conn = arg;
	struct px_quar_tee	*t = conn->quar;
	struct px_quar		*q = conn->ctx->quar;
	const unsigned char	*p = buf;
	size_t			 n;

	if (t == NULL || len == 0)
		return;
	t->bytes += len;
	if (EVP_DigestUpdate(t->md, buf, len) != 1)
		tee_fail(conn, "digest");
	if (t->failed != NULL)
		return;
	if (t->bytes > q->max_bytes) {
		/* It will not be kept: stop filling the disk with it. */
		t->over = 1;
		tee_fail(conn, "over-max");
		return;
	}
	if (t->fd == -1 && tee_open(conn) == -1)
		return;
	if (t->buf == NULL && (t->buf = malloc(PX_QUAR_BUF)) == NULL) {
		tee_fail(conn, "write-failed");
		return;
	}
	while (len > 0) {
		n = PX_QUAR_BUF - t->buflen;
		if (n > len)
			n = len;
		memcpy(t->buf + t->buflen, p, n);
		t->buflen += n;
		p += n;
		len -= n;
		if (t->buflen == PX_QUAR_BUF && tee_flush(conn) == -1)
			return;
	}
}

void
px_quar_drop(struct px_conn *conn)
{
	struct px_quar_tee	*t = conn->quar;

	if (t == NULL)
		return;
	if (t->fd != -1) {
		close(t->fd);
		(void)unlinkat(conn->ctx->quar->dirfd, t->part, 0);
	}
	free(t->buf);
	EVP_MD_CTX_free(t->md);
	free(t);
	conn->quar = NULL;
}

/* skip() : the tarball is not kept, for reason r: logged, counted. */
static void
skip(struct px_conn *conn, enum px_quar_skip r, uint64_t bytes)
{
	PX_MADD(conn->ctx->quar->c->skipped[r], 1);
	px_log_info("conn=%llu req=%s event=quarantine-skipped reason=%s "
	    "bytes=%llu", (unsigned long long)conn->id, conn->reqid,
	    skip_names[r], (unsigned long long)bytes);
	px_quar_drop(conn);
}

void
px_quar_keep(struct px_conn *conn, const struct pol_report *rep)
{
	struct px_quar_tee	*t = conn->quar;
	struct px_quar		*q = conn->ctx->quar;
	struct px_quar_sweep	 sw;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 mdhex[2 * EVP_MAX_MD_SIZE + 1];
	char			 name[PX_QUAR_NAME_MAX];
	int			 r;

	if (q == NULL || t == NULL)
		return;
	if (t->bytes == 0) {	/* no tarball at all: nothing to say */
		px_quar_drop(conn);
		return;
	}
	if (t->over) {
		skip(conn, PX_QUAR_SKIP_OVER, t->bytes);
		return;
	}
	if (t->failed != NULL) {
		skip(conn, strcmp(t->failed, "digest") == 0 ?
		    PX_QUAR_SKIP_DIGEST : PX_QUAR_SKIP_WRITE, t->bytes);
		return;
	}
	/* Only the whole tarball the record names (its sha512). */
	if (rep == NULL || rep->sha512_hex[0] == '\0' ||
	    rep->tarball_bytes != t->bytes) {
		skip(conn, PX_QUAR_SKIP_INCOMPLETE, t->bytes);
		return;
	}
	if (EVP_DigestFinal_ex(t->md, md, &mdlen) != 1 || mdlen != 64) {
		skip(conn, PX_QUAR_SKIP_DIGEST, t->bytes);
		return;
	}
	px_hex(md, mdlen, mdhex);
	if (strcmp(mdhex, rep->sha512_hex) != 0) {
		px_log_warnx("conn=%llu req=%s event=quarantine-failed "
		    "what=digest note=\"the bytes written are not the "
		    "record's\"", (unsigned long long)conn->id, conn->reqid);
		PX_MADD(q->c->failed, 1);
		skip(conn, PX_QUAR_SKIP_DIGEST, t->bytes);
		return;
	}
	if (tee_flush(conn) == -1) {
		skip(conn, PX_QUAR_SKIP_WRITE, t->bytes);
		return;
	}
	/* Room first: the oldest go until this one fits in max. */
	r = px_quar_sweep(q, wall_ms(), t->bytes, &sw);
	if (r == 0)
		sweep_log(q, "keep", &sw);
	else if (r == 1)
		sweep_arm(q, PX_QUAR_SWEEP_MIN_MS);	/* another sweeps */
	else {
		PX_MADD(q->c->failed, 1);
		px_log_warn("event=quarantine-sweep-failed dir=%s", q->dir);
	}
	snprintf(name, sizeof(name), "%.40s.tgz", conn->reqid);
	if (close(t->fd) == -1) {
		t->fd = -1;
		(void)unlinkat(q->dirfd, t->part, 0);
		PX_MADD(q->c->failed, 1);
		px_log_warn("conn=%llu req=%s event=quarantine-failed "
		    "what=close dir=%s", (unsigned long long)conn->id,
		    conn->reqid, q->dir);
		skip(conn, PX_QUAR_SKIP_WRITE, t->bytes);
		return;
	}
	t->fd = -1;
	/* A link never replaces a file that has this name already. */
	if (linkat(q->dirfd, t->part, q->dirfd, name, 0) == -1) {
		int	 e = errno;

		(void)unlinkat(q->dirfd, t->part, 0);
		errno = e;
		if (e == EEXIST) {
			skip(conn, PX_QUAR_SKIP_EXISTS, t->bytes);
			return;
		}
		PX_MADD(q->c->failed, 1);
		px_log_warn("conn=%llu req=%s event=quarantine-failed "
		    "what=link dir=%s", (unsigned long long)conn->id,
		    conn->reqid, q->dir);
		skip(conn, PX_QUAR_SKIP_WRITE, t->bytes);
		return;
	}
	(void)unlinkat(q->dirfd, t->part, 0);
	PX_MADD(q->c->kept, 1);
	PX_MADD(q->c->files, 1);
	PX_MADD(q->c->bytes, t->bytes);
	PX_MSET(q->c->at_ms, (uint64_t)wall_ms());
	px_log_info("conn=%llu req=%s event=quarantined file=%s bytes=%llu "
	    "evicted=%llu", (unsigned long long)conn->id, conn->reqid, name,
	    (unsigned long long)t->bytes, (unsigned long long)(r == 0 ?
	    sw.evicted : 0));
	px_quar_drop(conn);
}

/* ------------------------------------------------------ reading back */

int
px_quar_open_kept(const struct px_ctx *ctx, const char *id, size_t idlen,
    struct stat *st)
{
	char	 name[PX_QUAR_NAME_MAX];
	int	 fd;

	if (ctx->quar == NULL || !px_quar_id_ok(id, idlen)) {
		errno = ENOENT;
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s.tgz", (int)idlen, id);
	fd = openat(ctx->quar->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

void
px_quar_metrics(const struct px_ctx *ctx, const struct px_metrics *sum,
    FILE *f)
{
	const struct px_quar_count *q = &sum->quar;
	int			 i;

	if (ctx->quar == NULL)
		return;
	fprintf(f, "# HELP pubgate_quarantine_kept_total Blocked tarballs "
	    "kept in quarantine.dir.\n"
	    "# TYPE pubgate_quarantine_kept_total counter\n"
	    "pubgate_quarantine_kept_total %llu\n"
	    "# HELP pubgate_quarantine_skipped_total Blocked tarballs not "
	    "kept, by reason.\n"
	    "# TYPE pubgate_quarantine_skipped_total counter\n",
	    (unsigned long long)q->kept);
	for (i = 0; i < PX_QUAR_SKIP_N; i++)
		fprintf(f, "pubgate_quarantine_skipped_total{reason=\"%s\"} "
		    "%llu\n", skip_names[i], (unsigned long long)q->skipped[i]);
	fprintf(f, "# HELP pubgate_quarantine_deleted_total Kept tarballs "
	    "deleted: expired (keep) or evicted (max).\n"
	    "# TYPE pubgate_quarantine_deleted_total counter\n"
	    "pubgate_quarantine_deleted_total{reason=\"expired\"} %llu\n"
	    "pubgate_quarantine_deleted_total{reason=\"evicted\"} %llu\n"
	    "# HELP pubgate_quarantine_errors_total Quarantine file "
	    "operations that failed (the verdicts stand).\n"
	    "# TYPE pubgate_quarantine_errors_total counter\n"
	    "pubgate_quarantine_errors_total %llu\n"
	    "# HELP pubgate_quarantine_files Kept tarballs at the last sweep "
	    "or keep of any worker.\n"
	    "# TYPE pubgate_quarantine_files gauge\n"
	    "pubgate_quarantine_files %llu\n"
	    "# HELP pubgate_quarantine_bytes Bytes of kept tarballs at the "
	    "last sweep or keep of any worker.\n"
	    "# TYPE pubgate_quarantine_bytes gauge\n"
	    "pubgate_quarantine_bytes %llu\n",
	    (unsigned long long)q->expired, (unsigned long long)q->evicted,
	    (unsigned long long)q->failed, (unsigned long long)q->files,
	    (unsigned long long)q->bytes);
}
