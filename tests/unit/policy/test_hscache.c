/*
 * tests/unit/policy/test_hscache.c: the on-disk cache of compiled
 * Hyperscan databases (hscache.c, through secrets.c): a stored database
 * loads back and matches; a corrupt, truncated, foreign-keyed, shared-
 * writable or symlinked file is ignored, and the secret detectors
 * compiled through such a cache still find what they must and repair the
 * file; concurrent writers leave one whole file and no temporary ones.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hs.h>

#include "policy-int.h"
#include "scan-int.h"

#define TOK	"sk_live_Zq81mNbVx02LkPwe93JdTy7u"

static char	 dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pubgate-hscache-XXXXXX");
	return mkdtemp(dir) == NULL;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}

/* files() : the entries of d (not . and ..); the first db name in one. */
static int
files(const char *d, char *one, size_t len, int *tmps)
{
	DIR		*dp;
	struct dirent	*e;
	int		 n = 0;

	*tmps = 0;
	assert_non_null(dp = opendir(d));
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (strstr(e->d_name, ".tmp") != NULL)
			(*tmps)++;
		else if (one != NULL)
			snprintf(one, len, "%s/%s", d, e->d_name);
	}
	closedir(dp);
	return n;
}

static hs_database_t *
compile_block(const char *re)
{
	hs_database_t		*db = NULL;
	hs_compile_error_t	*cerr = NULL;

	assert_int_equal(hs_compile(re, 0, HS_MODE_BLOCK, NULL, &db, &cerr),
	    HS_SUCCESS);
	return db;
}

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *ctx)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	(*(int *)ctx)++;
	return 0;
}

/* matches() : how many matches db finds in s (block mode). */
static int
matches(const hs_database_t *db, const char *s)
{
	hs_scratch_t	*sc = NULL;
	int		 n = 0;

	assert_int_equal(hs_alloc_scratch(db, &sc), HS_SUCCESS);
	assert_int_equal(hs_scan(db, s, (unsigned int)strlen(s), 0, sc,
	    on_match, &n), HS_SUCCESS);
	hs_free_scratch(sc);
	return n;
}

static void
key_of(const char *re, unsigned char key[POL_HSC_KEY])
{
	unsigned int	 flags = 0, ids = 0;

	assert_int_equal(pol_hsc_key(&re, &flags, &ids, 1, HS_MODE_BLOCK,
	    key), 0);
}

static void
rewrite(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f;

	(void)unlink(path);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char	*buf;
	FILE		*f;
	struct stat	 st;

	assert_int_equal(stat(path, &st), 0);
	assert_non_null(buf = malloc((size_t)st.st_size + 1));
	assert_non_null(f = fopen(path, "rb"));
	*len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	assert_int_equal(*len, (size_t)st.st_size);
	return buf;
}

/* Stored, loaded back, matching; every kind of bad file is a miss. */
static void
test_store_load(void **state)
{
	char		 d[128], path[512], link[600];
	unsigned char	 ka[POL_HSC_KEY], kb[POL_HSC_KEY], *good, *bad;
	hs_database_t	*db, *back;
	struct stat	 st;
	size_t		 len;
	int		 tmps;

	(void)state;
	snprintf(d, sizeof(d), "%s/a/b", dir);	/* parents made too */
	key_of("abc[0-9]+", ka);
	key_of("xyz", kb);
	assert_memory_not_equal(ka, kb, POL_HSC_KEY);
	assert_null(pol_hsc_load(d, ka));	/* no folder yet */
	db = compile_block("abc[0-9]+");
	pol_hsc_store(d, ka, db);
	assert_int_equal(files(d, path, sizeof(path), &tmps), 1);
	assert_int_equal(tmps, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_non_null(back = pol_hsc_load(d, ka));
	assert_int_equal(matches(back, "x abc123 y"), 3);	/* abc1 abc12 abc123 */
	assert_int_equal(matches(back, "x abd123 y"), 0);
	pol_hsc_free(back);
	/* Another key: not this file. */
	assert_null(pol_hsc_load(d, kb));

	good = slurp(path, &len);
	assert_non_null(bad = malloc(len));
	/* One flipped byte in the database, in the header's key, length
	   or digest, or the magic: each a miss. */
	{
		size_t at[] = { len - 1, len / 2 + 40, 3, 16, 16 + 31,
		    16 + POL_HSC_KEY, 16 + POL_HSC_KEY + 8 + 5 }, i;

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			memcpy(bad, good, len);
			bad[at[i]] ^= 0x20;
			rewrite(path, bad, len);
			assert_null(pol_hsc_load(d, ka));
		}
	}
	/* Truncated; empty; with bytes after it. */
	rewrite(path, good, len - 7);
	assert_null(pol_hsc_load(d, ka));
	rewrite(path, good, 0);
	assert_null(pol_hsc_load(d, ka));
	{
		unsigned char *more = malloc(len + 3);

		assert_non_null(more);
		memcpy(more, good, len);
		memcpy(more + len, "xyz", 3);
		rewrite(path, more, len + 3);
		assert_null(pol_hsc_load(d, ka));
		free(more);
	}
	/* A valid file of another key under this key's name (foreign). */
	{
		char		 pb[512];
		hs_database_t	*other = compile_block("xyz");

		pol_hsc_store(d, kb, other);
		hs_free_database(other);
		assert_int_equal(files(d, NULL, 0, &tmps), 2);
		assert_non_null(other = pol_hsc_load(d, kb));
		pol_hsc_free(other);
		{
			DIR		*dp = opendir(d);
			struct dirent	*e;

			assert_non_null(dp);
			pb[0] = '\0';
			while ((e = readdir(dp)) != NULL)
				if (e->d_name[0] != '.' && strcmp(path +
				    strlen(d) + 1, e->d_name) != 0)
					snprintf(pb, sizeof(pb), "%s/%s", d,
					    e->d_name);
			closedir(dp);
		}
		assert_int_equal(rename(pb, path), 0);
		assert_null(pol_hsc_load(d, ka));
	}
	/* The good bytes again: found; writable by others, or a symlink
	   to them: not trusted. */
	rewrite(path, good, len);
	assert_non_null(back = pol_hsc_load(d, ka));
	pol_hsc_free(back);
	assert_int_equal(chmod(path, 0622), 0);
	assert_null(pol_hsc_load(d, ka));
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s.real", path);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_null(pol_hsc_load(d, ka));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(link), 0);
	/* A folder that cannot be made: nothing stored, nothing fails. */
	pol_hsc_store("/proc/nonexistent/pubgate", ka, db);
	assert_null(pol_hsc_load("/proc/nonexistent/pubgate", ka));
	free(good);
	free(bad);
	hs_free_database(db);
}

static void
collect(void *arg, const struct pol_finding *f)
{
	(void)f;
	(*(int *)arg)++;
}

/* finds() : the findings of db's built-in detectors in a file of s. */
static int
finds(const struct pol_secrets_db *db, const char *s)
{
	struct pol_secrets_run	*r;
	int			 n = 0;

	assert_non_null(r = pol_secrets_run_new(db, 1, 0, collect, &n));
	assert_int_equal(pol_secrets_run_begin(r, "lib/a.js"), 0);
	assert_int_equal(pol_secrets_run_data(r, (const unsigned char *)s,
	    strlen(s)), 0);
	assert_int_equal(pol_secrets_run_end(r), 0);
	pol_secrets_run_free(r);
	return n;
}

/* The secret detectors through the cache: a miss compiles and stores, a
   hit finds the same, a corrupt file is repaired, another pattern set
   has a file of its own. */
static void
test_detectors(void **state)
{
	static const char text[] = "const k = \"" TOK "\";\n";
	struct pol_custom_secret c[] = {
		{ "acme-token", "acme_[a-z0-9]{32}" },
	};
	struct pol_secrets_db	*db;
	char			 d[128], path[512], err[256];
	unsigned char		*first, *now;
	size_t			 len, len2;
	int			 tmps, hit = -1;

	(void)state;
	snprintf(d, sizeof(d), "%s/det", dir);
	assert_non_null(db = pol_secrets_compile_in(NULL, 0, d, &hit, err,
	    sizeof(err)));
	assert_int_equal(hit, 0);
	assert_int_equal(finds(db, text), 1);
	pol_secrets_free(db);
	assert_int_equal(files(d, path, sizeof(path), &tmps), 1);
	first = slurp(path, &len);
	/* A hit. */
	assert_non_null(db = pol_secrets_compile_in(NULL, 0, d, &hit, err,
	    sizeof(err)));
	assert_int_equal(hit, 1);
	assert_int_equal(finds(db, text), 1);
	assert_int_equal(finds(db, "const k = \"sk_live_xxxxxxxxxxxxxxxxxxxx"
	    "xxxx\";\n"), 0);
	pol_secrets_free(db);
	/* Corrupt: ignored, compiled again, the file made whole. */
	first[len - 100] ^= 0xff;
	rewrite(path, first, len);
	first[len - 100] ^= 0xff;
	assert_non_null(db = pol_secrets_compile_in(NULL, 0, d, &hit, err,
	    sizeof(err)));
	assert_int_equal(hit, 0);
	assert_int_equal(finds(db, text), 1);
	pol_secrets_free(db);
	now = slurp(path, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(now, first, len);
	free(now);
	free(first);
	/* A custom pattern: another set, another file. */
	assert_non_null(db = pol_secrets_compile_in(c, 1, d, NULL, err,
	    sizeof(err)));
	pol_secrets_free(db);
	assert_int_equal(files(d, NULL, 0, &tmps), 2);
	assert_int_equal(tmps, 0);
}

/* A policy's load says how many detector databases it read from the
   cache and how many it compiled (pubgate serve logs it at each load). */
static void
test_policy_counts(void **state)
{
	static const char doc[] = "version: 1\nrules:\n"
	    "  - match: \"@acme/*\"\n    publish: allow\n"
	    "    custom_secrets:\n      - {id: acme-token, regex: "
	    "\"acme_[a-z0-9]{32}\"}\n"
	    "  - match: \"*\"\n    publish: allow\n";
	struct pol_load_opts	 o;
	struct pol_errors	 errs;
	struct pol_policy	*p;
	unsigned int		 cached, compiled;
	char			 d[128];

	(void)state;
	snprintf(d, sizeof(d), "%s/counts", dir);
	o.cache_dir = d;
	/* Cold: both compiled (the built-ins, the rule with its pattern). */
	assert_non_null(p = pol_load_buf_opts("c.yaml", doc, sizeof(doc) - 1,
	    &o, &errs));
	pol_policy_detectors(p, &cached, &compiled);
	assert_int_equal(cached, 0);
	assert_int_equal(compiled, 2);
	pol_policy_unref(p);
	/* Warm: both read back, nothing compiled. */
	assert_non_null(p = pol_load_buf_opts("c.yaml", doc, sizeof(doc) - 1,
	    &o, &errs));
	pol_policy_detectors(p, &cached, &compiled);
	assert_int_equal(cached, 2);
	assert_int_equal(compiled, 0);
	pol_policy_unref(p);
	/* No cache: compiled. */
	o.cache_dir = NULL;
	assert_non_null(p = pol_load_buf_opts("c.yaml", doc, sizeof(doc) - 1,
	    &o, &errs));
	pol_policy_detectors(p, &cached, &compiled);
	assert_int_equal(cached, 0);
	assert_int_equal(compiled, 2);
	pol_policy_unref(p);
}

/* Eight processes store the same key twenty times while this one loads:
   every load is a miss or a whole database; one file and no temporary
   one are left. */
static void
test_concurrent(void **state)
{
	char		 d[128];
	unsigned char	 key[POL_HSC_KEY];
	hs_database_t	*db, *back;
	pid_t		 kids[8];
	int		 i, k, st, tmps, hits = 0;

	(void)state;
	snprintf(d, sizeof(d), "%s/conc", dir);
	key_of("abc[0-9]+", key);
	db = compile_block("abc[0-9]+");
	for (i = 0; i < 8; i++) {
		if ((kids[i] = fork()) == 0) {
			for (k = 0; k < 20; k++)
				pol_hsc_store(d, key, db);
			_exit(0);
		}
		assert_true(kids[i] > 0);
	}
	for (k = 0; k < 400; k++) {
		if ((back = pol_hsc_load(d, key)) == NULL)
			continue;
		hits++;
		assert_int_equal(matches(back, "abc7"), 1);
		pol_hsc_free(back);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_non_null(back = pol_hsc_load(d, key));
	assert_int_equal(matches(back, "abc7"), 1);
	pol_hsc_free(back);
	assert_int_equal(files(d, NULL, 0, &tmps), 1);
	assert_int_equal(tmps, 0);
	print_message("loads during the writes that hit: %d of 400\n", hits);
	hs_free_database(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_load),
		cmocka_unit_test(test_detectors),
		cmocka_unit_test(test_policy_counts),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
