/*
 * proxy/cmd/pack.c: streams the files of a packlist as the .tgz `npm pack`
 * would write (ustar headers under package/, pax for long paths, the
 * 1985-10-26 mtime, gzip level 9) to a callback, a chunk at a time, so
 * `pubgate scan DIR` judges a folder with the very pipeline that judges a
 * tarball, and nothing is written to disk.  Memory: one read buffer and
 * one deflate stream, whatever the package size.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pack.h"

#define PACK_CHUNK	(64u << 10)
#define PACK_MTIME	499162500ull	/* 1985-10-26T08:15:00Z, pacote's */
#define PACK_SIZE_MAX	077777777777ull	/* what 11 octal digits hold */

struct packer {
	z_stream	 z;
	px_pack_out_fn	 out;
	void		*arg;
	unsigned char	*zbuf;
	char		*err;
	size_t		 errlen;
	int		 stop;		/* the callback said stop */
};

static int
emit(struct packer *pk, const void *buf, size_t len, int flush)
{
	int	 r;

	pk->z.next_in = (unsigned char *)(uintptr_t)buf;
	pk->z.avail_in = (uInt)len;
	do {
		pk->z.next_out = pk->zbuf;
		pk->z.avail_out = PACK_CHUNK;
		r = deflate(&pk->z, flush);
		if (r == Z_STREAM_ERROR) {
			snprintf(pk->err, pk->errlen, "deflate failed");
			return -1;
		}
		if (PACK_CHUNK - pk->z.avail_out > 0 && !pk->stop &&
		    pk->out(pk->arg, pk->zbuf, PACK_CHUNK - pk->z.avail_out) !=
		    0)
			pk->stop = 1;
	} while (pk->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

static void
octal(char *dst, size_t width, unsigned long long v)
{
	/* width-1 digits and a NUL, as node-tar writes them */
	snprintf(dst, width, "%0*llo", (int)width - 1, v);
}

static void
header(unsigned char h[512], const char *name, const char *prefix,
    unsigned mode, unsigned long long size, char type)
{
	unsigned	 sum = 0;
	size_t		 i;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, PACK_MTIME);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	if (prefix != NULL)
		memcpy(h + 345, prefix, strlen(prefix));
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* put_header() : the header(s) for path: ustar name/prefix, else pax. */
static int
put_header(struct packer *pk, const char *path, unsigned mode,
    unsigned long long size)
{
	unsigned char	 h[512];
	char		 name[101], prefix[156], rec[2200];
	size_t		 len = strlen(path), i, n, d;
	const char	*sl;

	if (len <= 100) {
		header(h, path, NULL, mode, size, '0');
		return emit(pk, h, 512, Z_NO_FLUSH);
	}
	for (sl = path + len; sl > path; sl--) {
		if (*sl != '/')
			continue;
		if ((size_t)(sl - path) <= 155 && len - (size_t)(sl - path) - 1
		    <= 100 && len - (size_t)(sl - path) - 1 > 0) {
			memcpy(prefix, path, (size_t)(sl - path));
			prefix[sl - path] = '\0';
			snprintf(name, sizeof(name), "%s", sl + 1);
			header(h, name, prefix, mode, size, '0');
			return emit(pk, h, 512, Z_NO_FLUSH);
		}
	}
	/* pax: "<len> path=<path>\n", len counting itself */
	n = len + 7;
	for (d = 1; ; d++) {
		size_t	 t = n + d, digits = 0;

		for (i = t; i > 0; i /= 10)
			digits++;
		if (digits == d)
			break;
	}
	n = (size_t)snprintf(rec, sizeof(rec), "%zu path=%s\n", n + d, path);
	snprintf(name, sizeof(name), "PaxHeader/%.80s", path + len - 80);
	header(h, name, NULL, 0644, n, 'x');
	if (emit(pk, h, 512, Z_NO_FLUSH) != 0 ||
	    emit(pk, rec, n, Z_NO_FLUSH) != 0)
		return -1;
	memset(h, 0, sizeof(h));
	if (n % 512 && emit(pk, h, 512 - n % 512, Z_NO_FLUSH) != 0)
		return -1;
	snprintf(name, sizeof(name), "%.100s", path);
	header(h, name, NULL, mode, size, '0');
	return emit(pk, h, 512, Z_NO_FLUSH);
}

static int
put_file(struct packer *pk, const char *dir, const struct px_pl_file *f,
    unsigned char *buf)
{
	char			 abs[PX_PL_PATH_MAX * 2 + 16], tp[PX_PL_PATH_MAX + 16];
	struct stat		 st;
	unsigned long long	 left;
	unsigned		 mode;
	ssize_t			 n;
	int			 fd, rc = -1;

	snprintf(abs, sizeof(abs), "%s/%s", dir, f->path);
	snprintf(tp, sizeof(tp), "package/%s", f->path);
	if ((fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0) {
		snprintf(pk->err, pk->errlen, "%s: %s", f->path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(pk->err, pk->errlen, "%s: no longer a regular file",
		    f->path);
		goto out;
	}
	if ((unsigned long long)st.st_size > PACK_SIZE_MAX) {
		snprintf(pk->err, pk->errlen, "%s: over 8 GB", f->path);
		goto out;
	}
	/* node-tar keeps the permission bits; pacote adds x to bins */
	mode = (unsigned)st.st_mode & 0777;
	if (f->bin)
		mode |= 0111;
	if (put_header(pk, tp, mode, (unsigned long long)st.st_size) != 0)
		goto out;
	left = (unsigned long long)st.st_size;
	while (left > 0 && !pk->stop) {
		n = read(fd, buf, left < PACK_CHUNK ? (size_t)left :
		    PACK_CHUNK);
		if (n <= 0) {
			snprintf(pk->err, pk->errlen, "%s: %s", f->path,
			    n == 0 ? "shrank while read" : strerror(errno));
			goto out;
		}
		if (emit(pk, buf, (size_t)n, Z_NO_FLUSH) != 0)
			goto out;
		left -= (unsigned long long)n;
	}
	memset(buf, 0, 512);
	if (st.st_size % 512 && emit(pk, buf, 512 - (size_t)(st.st_size % 512),
	    Z_NO_FLUSH) != 0)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

int
px_pack_stream(const char *dir, const struct px_packlist *pl,
    px_pack_out_fn out, void *arg, char *err, size_t errlen)
{
	struct packer	 pk;
	unsigned char	*buf;
	size_t		 i;
	int		 rc = -1;

	memset(&pk, 0, sizeof(pk));
	pk.out = out;
	pk.arg = arg;
	pk.err = err;
	pk.errlen = errlen;
	err[0] = '\0';
	if ((buf = malloc(PACK_CHUNK)) == NULL ||
	    (pk.zbuf = malloc(PACK_CHUNK)) == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (deflateInit2(&pk.z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "deflate init failed");
		goto out2;
	}
	for (i = 0; i < pl->n && !pk.stop; i++)
		if (put_file(&pk, dir, &pl->files[i], buf) != 0)
			goto out;
	memset(buf, 0, 1024);
	if (emit(&pk, buf, 1024, Z_FINISH) != 0)
		goto out;
	rc = 0;
out:
	deflateEnd(&pk.z);
out2:
	free(pk.zbuf);
	free(buf);
	return rc;
}
