/*
 * tests/fuzz/replay.c: runs fuzz inputs through LLVMFuzzerTestOneInput
 * without libFuzzer, so that the normal test command replays every
 * corpus as a regression test (curl-fuzzer's mainline.sh does the same).
 *
 * Usage: replay_<target> DIR|FILE...  Each file (and each regular file
 * of each directory, not recursively, dot files skipped) is one input.
 * Prints "replayed N inputs"; exits 1 if an argument cannot be read or a
 * directory holds no input.  A failing input aborts inside the target.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* run_file() : feeds one file to the target; 0, or -1 if unreadable. */
static int
run_file(const char *path)
{
	FILE *f;
	unsigned char *buf = NULL, *nb;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "replay: out of memory\n");
				goto fail;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		goto fail;
	}
	fclose(f);
	/* A copy of exactly len bytes, so ASan sees reads past the end. */
	if ((nb = malloc(len ? len : 1)) == NULL)
		goto fail_nofile;
	memcpy(nb, buf, len);
	free(buf);
	(void)LLVMFuzzerTestOneInput(nb, len);
	free(nb);
	return 0;
fail:
	fclose(f);
fail_nofile:
	free(buf);
	return -1;
}

int
main(int argc, char *argv[])
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char path[4096];
	unsigned long total = 0, here;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) != 0)
				rc = 1;
			else
				total++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
			continue;
		}
		here = 0;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((size_t)snprintf(path, sizeof(path), "%s/%s",
			    argv[i], de->d_name) >= sizeof(path))
				continue;
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path) != 0)
				rc = 1;
			else
				here++;
		}
		closedir(d);
		if (here == 0) {
			fprintf(stderr, "replay: %s: no inputs\n", argv[i]);
			rc = 1;
		}
		total += here;
	}
	printf("replayed %lu inputs\n", total);
	return rc;
}
