/*
 * policy/hscache.c: the on-disk cache of compiled Hyperscan databases
 * (issue 13, startup).
 *
 * Owns one file per database in a cache folder: "hs-<key>.db", where the
 * key is SHA-256 over everything the compiled bytes depend on: the
 * pattern set (each expression, its flags and id, the mode), Hyperscan's
 * version and the host's platform (hs_populate_platform: tuning and CPU
 * features).  A file is a header (magic, the whole key, the length and
 * SHA-256 of the serialized database) and hs_serialize_database()'s
 * bytes.  It is written to a temporary file of its own (0600, O_EXCL)
 * and renamed into place, so concurrent writers never mix their bytes
 * and a reader sees a whole file or none.
 *
 * A cache file is never trusted: one that is not a regular file owned by
 * this user and writable by it alone, is over the size cap, or whose
 * magic, key, length or digest differ, or that Hyperscan will not
 * deserialize, is ignored; the caller compiles and stores a new one.
 * Every failure here is a cache miss, never an error of the policy.
 * Depends on libc, Hyperscan and libcrypto; never logs.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hs.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy-int.h"

#define HSC_MAGIC	"pubgate-hsdb-1\n"	/* 16 bytes with its NUL */
#define HSC_HEAD	(16 + POL_HSC_KEY + 8 + 32)
#define HSC_MAX		(64u << 20)	/* serialized bytes read at most */

/* The key's hash, fed piece by piece. */
static void
upd(EVP_MD_CTX *c, const void *p, size_t n)
{
	(void)EVP_DigestUpdate(c, p, n);
}

static void
upd_u64(EVP_MD_CTX *c, uint64_t v)
{
	unsigned char	 b[8];
	int		 i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	upd(c, b, 8);
}

/*
 * pol_hsc_key() : the key of n expressions (with their flags and ids)
 * compiled in mode on this host by this Hyperscan.  Returns 0, or -1 when
 * the platform or the digest cannot be had (then nothing is cached).
 */
int
pol_hsc_key(const char *const *exprs, const unsigned int *flags,
    const unsigned int *ids, size_t n, unsigned int mode,
    unsigned char key[POL_HSC_KEY])
{
	hs_platform_info_t	 plat;
	EVP_MD_CTX		*c;
	const char		*v = hs_version();
	unsigned int		 kl = 0;
	size_t			 i;
	int			 rc = -1;

	memset(&plat, 0, sizeof(plat));
	if (hs_populate_platform(&plat) != HS_SUCCESS)
		return -1;
	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		goto out;
	upd(c, HSC_MAGIC, sizeof(HSC_MAGIC));
	upd(c, v, strlen(v) + 1);
	upd_u64(c, plat.tune);
	upd_u64(c, plat.cpu_features);
	upd_u64(c, mode);
	upd_u64(c, n);
	for (i = 0; i < n; i++) {
		upd_u64(c, flags[i]);
		upd_u64(c, ids[i]);
		upd_u64(c, strlen(exprs[i]));
		upd(c, exprs[i], strlen(exprs[i]));
	}
	if (EVP_DigestFinal_ex(c, key, &kl) == 1 && kl == POL_HSC_KEY)
		rc = 0;
out:
	EVP_MD_CTX_free(c);
	return rc;
}

/* path_of() : dir/hs-<key hex>.db into buf; -1 if it does not fit. */
static int
path_of(const char *dir, const unsigned char key[POL_HSC_KEY], char *buf,
    size_t len)
{
	char	 hex[2 * POL_HSC_KEY + 1];
	size_t	 i;
	int	 n;

	for (i = 0; i < POL_HSC_KEY; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	n = snprintf(buf, len, "%s/hs-%s.db", dir, hex);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int kl = 0;

	return EVP_Digest(p, n, out, &kl, EVP_sha256(), NULL) == 1 &&
	    kl == 32 ? 0 : -1;
}

/*
 * Memory for the cache's bytes: anonymous pages populated by the mmap
 * itself (MAP_POPULATE), not one page fault per page as they are first
 * written; on the virtual machines pubgate runs on a fault costs
 * microseconds, and a database is hundreds of pages (issue 13, startup).
 * The block's size is kept in its first HSC_PAD bytes.
 */
#define HSC_PAD		64

static void *
blk_new(size_t n)
{
	unsigned char	*p;

	if (n > SIZE_MAX - HSC_PAD)
		return NULL;
	p = mmap(NULL, HSC_PAD + n, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	n += HSC_PAD;
	memcpy(p, &n, sizeof(n));
	return p + HSC_PAD;
}

static void
blk_free(void *v)
{
	unsigned char	*p;
	size_t		 n;

	if (v == NULL)
		return;
	p = (unsigned char *)v - HSC_PAD;
	memcpy(&n, p, sizeof(n));
	(void)munmap(p, n);
}

/*
 * pol_hsc_load() : the database cached under key in dir, or NULL (no
 * file, or one that is not to be trusted: see the file's comment).  It
 * lives in memory of this file's own: free it with pol_hsc_free().
 */
hs_database_t *
pol_hsc_load(const char *dir, const unsigned char key[POL_HSC_KEY])
{
	char		 path[PATH_MAX];
	unsigned char	*buf = NULL, dig[32];
	hs_database_t	*db = NULL;
	struct stat	 st;
	uint64_t	 len;
	size_t		 dlen = 0;
	void		*mem;
	int		 fd;

	if (dir == NULL || *dir == '\0' ||
	    path_of(dir, key, path, sizeof(path)) != 0)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
	    st.st_size < HSC_HEAD || (uint64_t)st.st_size > HSC_HEAD +
	    (uint64_t)HSC_MAX)
		goto out;
	/*
	 * The file's pages mapped read-only, not read into fresh memory:
	 * no copy, and no new pages to touch.  The checks below see the
	 * bytes Hyperscan then reads (a writer never rewrites a file in
	 * place: it renames a new one over it).
	 */
	buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE |
	    MAP_POPULATE, fd, 0);
	if (buf == MAP_FAILED) {
		buf = NULL;
		goto out;
	}
	len = get_u64(buf + 16 + POL_HSC_KEY);
	if (memcmp(buf, HSC_MAGIC, 16) != 0 ||
	    memcmp(buf + 16, key, POL_HSC_KEY) != 0 ||
	    len != (uint64_t)st.st_size - HSC_HEAD ||
	    sha256(buf + HSC_HEAD, (size_t)len, dig) != 0 ||
	    memcmp(dig, buf + 16 + POL_HSC_KEY + 8, 32) != 0)
		goto out;
	if (hs_serialized_database_size((const char *)buf + HSC_HEAD,
	    (size_t)len, &dlen) != HS_SUCCESS || dlen > HSC_MAX ||
	    (mem = blk_new(dlen)) == NULL)
		goto out;
	if (hs_deserialize_database_at((const char *)buf + HSC_HEAD,
	    (size_t)len, mem) != HS_SUCCESS)
		blk_free(mem);
	else
		db = mem;
out:
	if (buf != NULL)
		(void)munmap(buf, (size_t)st.st_size);
	close(fd);
	return db;
}

/* pol_hsc_free() : frees a database pol_hsc_load() gave. */
void
pol_hsc_free(hs_database_t *db)
{
	blk_free(db);
}

/* mkdirs() : dir and its missing parents, new ones 0700; 0 or -1. */
static int
mkdirs(const char *dir)
{
	char	 p[PATH_MAX];
	size_t	 i, n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -1;
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -1;
		p[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/*
 * pol_hsc_store() : caches db under key in dir (created 0700 if
 * missing): a temporary file of this writer's own, renamed into place.
 * Failures are ignored: the cache is an optimization.
 */
void
pol_hsc_store(const char *dir, const unsigned char key[POL_HSC_KEY],
    const hs_database_t *db)
{
	char		 path[PATH_MAX], tmp[PATH_MAX + 64];
	unsigned char	 head[HSC_HEAD], rnd[8];
	char		*bytes = NULL;
	size_t		 len = 0, off;
	ssize_t		 w;
	int		 fd = -1, made = 0, n;

	if (dir == NULL || *dir == '\0' || db == NULL ||
	    path_of(dir, key, path, sizeof(path)) != 0 || mkdirs(dir) != 0)
		return;
	if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS ||
	    len > HSC_MAX)
		goto out;
	memcpy(head, HSC_MAGIC, 16);
	memcpy(head + 16, key, POL_HSC_KEY);
	put_u64(head + 16 + POL_HSC_KEY, len);
	if (sha256(bytes, len, head + 16 + POL_HSC_KEY + 8) != 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	n = snprintf(tmp, sizeof(tmp), "%s.%ld.%02x%02x%02x%02x%02x%02x%02x"
	    "%02x.tmp", path, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3],
	    rnd[4], rnd[5], rnd[6], rnd[7]);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		goto out;
	made = 1;
	for (off = 0; off < HSC_HEAD + len; off += (size_t)w) {
		if (off < HSC_HEAD)
			w = write(fd, head + off, HSC_HEAD - off);
		else
			w = write(fd, bytes + (off - HSC_HEAD),
			    HSC_HEAD + len - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == 0)
		made = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlink(tmp);
	free(bytes);
}
