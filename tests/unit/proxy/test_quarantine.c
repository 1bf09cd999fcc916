/*
 * tests/unit/proxy/test_quarantine.c: the quarantine folder's rules
 * (proxy/gate/quarantine.c) without a gate: the sweep's plan (expired by
 * keep, then the oldest past max, room for what comes), a real folder
 * swept (only names of our shapes deleted, never through a symbolic link,
 * a dead process's part, not a live one's), the folder checks (made 0700;
 * a link, a file, a group-writable folder refused), a sweep that finds
 * the lock held doing nothing, and eight processes sweeping one folder at
 * once while files arrive.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy-int.h"

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh folder under $TMPDIR; its path in dir. */
static void
tmpdir(char *dir, size_t len)
{
	const char	*t = getenv("TMPDIR");

	snprintf(dir, len, "%s/pubgate-quar-XXXXXX", t != NULL && *t == '/' ?
	    t : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void
rmtree(const char *dir)
{
	char	 cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* mkfile() : dir/name with size bytes, its mtime age_ms ago. */
static void
mkfile(const char *dir, const char *name, size_t size, int64_t age_ms)
{
	char		 path[PATH_MAX + 64], buf[4096];
	struct timespec	 ts[2];
	int64_t		 t = now_ms() - age_ms;
	int		 fd;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	memset(buf, 'x', sizeof(buf));
	while (size > 0) {
		n = size < sizeof(buf) ? size : sizeof(buf);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		size -= n;
	}
	ts[0].tv_sec = ts[1].tv_sec = t / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = (t % 1000) * 1000000;
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static int
exists(const char *dir, const char *name)
{
	char		 path[PATH_MAX + 64];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static struct px_quar_ent
ent(const char *name, uint64_t size, int64_t mtime)
{
	struct px_quar_ent	 e;

	memset(&e, 0, sizeof(e));
	snprintf(e.name, sizeof(e.name), "%s", name);
	e.size = size;
	e.mtime_ms = mtime;
	return e;
}

/* del_of() : the fate planned for name. */
static enum px_quar_del
del_of(const struct px_quar_ent *e, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0)
			return e[i].del;
	fail_msg("%s not planned", name);
	return PX_QUAR_KEEP;
}

static void
test_plan(void **state)
{
	struct px_quar_ent	 e[6];
	uint64_t		 left;

	(void)state;
	/* Expired by age; then the oldest go until incoming fits. */
	e[0] = ent("a-5.tgz", 100, 5000);
	e[1] = ent("a-1.tgz", 100, 1000);	/* oldest: expired */
	e[2] = ent("a-3.tgz", 300, 3000);
	e[3] = ent("a-4.tgz", 400, 4000);
	e[4] = ent("b-4.tgz", 50, 4000);	/* same mtime: name order */
	e[5] = ent("a-2.tgz", 200, 2000);
	left = px_quar_plan(e, 6, 10000, 8500, 700, 150);
	/* 1050 kept + 150 incoming > 700: a-2, a-3 go (550 + 150). */
	assert_int_equal(del_of(e, 6, "a-1.tgz"), PX_QUAR_EXPIRED);
	assert_int_equal(del_of(e, 6, "a-2.tgz"), PX_QUAR_EVICTED);
	assert_int_equal(del_of(e, 6, "a-3.tgz"), PX_QUAR_EVICTED);
	assert_int_equal(del_of(e, 6, "a-4.tgz"), PX_QUAR_KEEP);
	assert_int_equal(del_of(e, 6, "b-4.tgz"), PX_QUAR_KEEP);
	assert_int_equal(del_of(e, 6, "a-5.tgz"), PX_QUAR_KEEP);
	assert_int_equal(left, 550);
	/* Sorted oldest first, the name settling a tie. */
	assert_string_equal(e[0].name, "a-1.tgz");
	assert_string_equal(e[3].name, "a-4.tgz");
	assert_string_equal(e[4].name, "b-4.tgz");

	/* Within max and keep: nothing goes. */
	e[0] = ent("c-1.tgz", 10, 9000);
	e[1] = ent("c-2.tgz", 10, 9500);
	left = px_quar_plan(e, 2, 10000, 60000, 100, 0);
	assert_int_equal(e[0].del, PX_QUAR_KEEP);
	assert_int_equal(e[1].del, PX_QUAR_KEEP);
	assert_int_equal(left, 20);
	/* Incoming alone exactly at max: everything else goes. */
	left = px_quar_plan(e, 2, 10000, 60000, 100, 100);
	assert_int_equal(e[0].del, PX_QUAR_EVICTED);
	assert_int_equal(e[1].del, PX_QUAR_EVICTED);
	assert_int_equal(left, 0);
	/* No entries at all. */
	assert_int_equal(px_quar_plan(NULL, 0, 1, 1, 1, 0), 0);
}

static void
test_sweep_dir(void **state)
{
	char			 dir[PATH_MAX], out[PATH_MAX], path[PATH_MAX + 64];
	char			 err[400];
	struct px_quar		*q;
	struct px_quar_sweep	 sw;

	(void)state;
	tmpdir(dir, sizeof(dir));
	tmpdir(out, sizeof(out));
	assert_int_equal(chmod(dir, 0700), 0);
	mkfile(dir, "0badc0de-1.tgz", 1000, 10 * 3600 * 1000);	/* expired */
	mkfile(dir, "0badc0de-2.tgz", 1000, 3000);
	mkfile(dir, "0badc0de-3.tgz", 1000, 2000);
	mkfile(dir, "0badc0de-4.tgz", 1000, 1000);
	/* Other shapes: never deleted, never counted. */
	mkfile(dir, "README.tgz", 50000, 10 * 3600 * 1000);
	mkfile(dir, "notes.txt", 50000, 10 * 3600 * 1000);
	mkfile(dir, "0badc0de-9.tgz.bak", 50000, 10 * 3600 * 1000);
	/* A link of our shape: not followed, not deleted, target intact. */
	mkfile(out, "victim", 10, 10 * 3600 * 1000);
	snprintf(path, sizeof(path), "%s/0badc0de-5.tgz", dir);
	{
		char	 target[PATH_MAX + 16];

		snprintf(target, sizeof(target), "%s/victim", out);
		assert_int_equal(symlink(target, path), 0);
	}
	snprintf(path, sizeof(path), "%s/0badc0de-6.tgz", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* Parts: a dead process's (old), a live one's (fresh). */
	mkfile(dir, ".part-0badc0de-7-000000000000", 500, 2 * 3600 * 1000);
	mkfile(dir, ".part-0badc0de-8-000000000000", 500, 10);

	q = px_quar_new(dir, 3600 * 1000, 2500, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(px_quar_sweep(q, now_ms(), 0, &sw), 0);
	assert_int_equal(sw.expired, 1);
	assert_int_equal(sw.evicted, 1);	/* 3000 > 2500: the oldest */
	assert_int_equal(sw.parts, 1);
	assert_int_equal(sw.files, 2);
	assert_int_equal(sw.bytes, 2000);
	assert_false(exists(dir, "0badc0de-1.tgz"));
	assert_false(exists(dir, "0badc0de-2.tgz"));
	assert_true(exists(dir, "0badc0de-3.tgz"));
	assert_true(exists(dir, "0badc0de-4.tgz"));
	assert_true(exists(dir, "README.tgz"));
	assert_true(exists(dir, "notes.txt"));
	assert_true(exists(dir, "0badc0de-9.tgz.bak"));
	assert_true(exists(dir, "0badc0de-5.tgz"));
	assert_true(exists(out, "victim"));
	assert_true(exists(dir, "0badc0de-6.tgz"));
	assert_false(exists(dir, ".part-0badc0de-7-000000000000"));
	assert_true(exists(dir, ".part-0badc0de-8-000000000000"));

	/* Room for an incoming 1500: the oldest left goes too. */
	assert_int_equal(px_quar_sweep(q, now_ms(), 1500, &sw), 0);
	assert_int_equal(sw.evicted, 1);
	assert_false(exists(dir, "0badc0de-3.tgz"));
	assert_true(exists(dir, "0badc0de-4.tgz"));
	/* Nothing to do: nothing done. */
	assert_int_equal(px_quar_sweep(q, now_ms(), 0, &sw), 0);
	assert_int_equal(sw.expired + sw.evicted + sw.parts, 0);
	assert_int_equal(sw.files, 1);

	/* A kept file read back by its id; a bad id, a link: none. */
	{
		struct px_ctx	 ctx;
		struct stat	 st;
		int		 fd;

		memset(&ctx, 0, sizeof(ctx));
		ctx.quar = q;
		fd = px_quar_open_kept(&ctx, "0badc0de-4", 10, &st);
		assert_true(fd != -1);
		assert_int_equal(st.st_size, 1000);
		close(fd);
		assert_int_equal(px_quar_open_kept(&ctx, "0badc0de-5", 10,
		    &st), -1);
		assert_int_equal(px_quar_open_kept(&ctx, "../x", 4, &st), -1);
		assert_int_equal(px_quar_open_kept(&ctx, "0badc0de-1", 10,
		    &st), -1);
		ctx.quar = NULL;
		assert_int_equal(px_quar_open_kept(&ctx, "0badc0de-4", 10,
		    &st), -1);
	}
	px_quar_free(q);
	rmtree(dir);
	rmtree(out);
}

static void
test_check_dir(void **state)
{
	char		 base[PATH_MAX], d[PATH_MAX + 16], l[PATH_MAX + 16];
	char		 err[400];
	struct stat	 st;

	(void)state;
	tmpdir(base, sizeof(base));
	snprintf(d, sizeof(d), "%s/q", base);
	/* Missing: -n says it can be made and makes nothing. */
	assert_int_equal(px_quar_check_dir(d, 0, err, sizeof(err)), 0);
	assert_int_equal(lstat(d, &st), -1);
	/* serve makes it 0700, whatever the umask. */
	assert_int_equal(px_quar_check_dir(d, 1, err, sizeof(err)), 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(px_quar_check_dir(d, 0, err, sizeof(err)), 0);
	/* Group-writable: refused, with the mode. */
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(px_quar_check_dir(d, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by its group or others"));
	assert_null(px_quar_new(d, 1000, 1000, err, sizeof(err)));
	assert_int_equal(chmod(d, 0700), 0);
	/* A symbolic link to a good folder: refused by name and by open. */
	snprintf(l, sizeof(l), "%s/link", base);
	assert_int_equal(symlink(d, l), 0);
	assert_int_equal(px_quar_check_dir(l, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_null(px_quar_new(l, 1000, 1000, err, sizeof(err)));
	/* A file. */
	snprintf(l, sizeof(l), "%s/file", base);
	mkfile(base, "file", 1, 0);
	assert_int_equal(px_quar_check_dir(l, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a folder"));
	/* Its parent missing: cannot be made. */
	snprintf(l, sizeof(l), "%s/no/q", base);
	assert_int_equal(px_quar_check_dir(l, 0, err, sizeof(err)), -1);
	assert_int_equal(px_quar_check_dir(l, 1, err, sizeof(err)), -1);
	/* Ids. */
	assert_true(px_quar_id_ok("1a2b3c4d-17", 11));
	assert_false(px_quar_id_ok("", 0));
	assert_false(px_quar_id_ok("1A2B-1", 6));
	assert_false(px_quar_id_ok("../etc", 6));
	assert_false(px_quar_id_ok("a/b", 3));
	assert_false(px_quar_id_ok("0123456789012345678901234567890123456789a",
	    41));
	rmtree(base);
}

/* A sweep finding the lock held (another worker sweeping) does nothing. */
static void
test_lock_busy(void **state)
{
	char			 dir[PATH_MAX], path[PATH_MAX + 8], err[400];
	struct px_quar		*q;
	struct px_quar_sweep	 sw;
	int			 fd;

	(void)state;
	tmpdir(dir, sizeof(dir));
	q = px_quar_new(dir, 1000, 1 << 20, err, sizeof(err));
	assert_non_null(q);
	mkfile(dir, "0badc0de-1.tgz", 10, 3600 * 1000);
	snprintf(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, O_RDWR);	/* its own open file description */
	assert_true(fd != -1);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	assert_int_equal(px_quar_sweep(q, now_ms(), 0, &sw), 1);
	assert_true(exists(dir, "0badc0de-1.tgz"));
	assert_int_equal(flock(fd, LOCK_UN), 0);
	assert_int_equal(px_quar_sweep(q, now_ms(), 0, &sw), 0);
	assert_false(exists(dir, "0badc0de-1.tgz"));
	close(fd);
	px_quar_free(q);
	rmtree(dir);
}

/*
 * Eight processes, each with its own px_quar on one folder, add 60 files
 * of 1000 bytes each and sweep after each one (max 20000): no sweep
 * fails, a foreign file stays, and after a last sweep exactly max's
 * worth is left (no sweep deleted more than it had to).
 */
#define NPROC	8
#define NFILES	60
static void
test_concurrent(void **state)
{
	char			 dir[PATH_MAX], err[400], name[64];
	struct px_quar		*q;
	struct px_quar_sweep	 sw;
	pid_t			 pids[NPROC];
	int			 i, j, st, r;

	(void)state;
	tmpdir(dir, sizeof(dir));
	mkfile(dir, "keepme.txt", 5, 10 * 3600 * 1000);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] != 0)
			continue;
		q = px_quar_new(dir, 3600 * 1000, 20000, err, sizeof(err));
		if (q == NULL)
			_exit(3);
		for (j = 0; j < NFILES; j++) {
			snprintf(name, sizeof(name), "%08x-%d.tgz", i, j);
			mkfile(dir, name, 1000, 0);
			r = px_quar_sweep(q, now_ms(), 0, &sw);
			if (r == -1)
				_exit(4);
		}
		px_quar_free(q);
		_exit(0);
	}
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	q = px_quar_new(dir, 3600 * 1000, 20000, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(px_quar_sweep(q, now_ms(), 0, &sw), 0);
	/* Exactly max's worth: none over, none deleted for nothing. */
	assert_true(sw.bytes <= 20000);
	assert_int_equal(sw.files, 20);
	assert_true(exists(dir, "keepme.txt"));
	px_quar_free(q);
	rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_sweep_dir),
		cmocka_unit_test(test_check_dir),
		cmocka_unit_test(test_lock_busy),
		cmocka_unit_test(test_concurrent),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
