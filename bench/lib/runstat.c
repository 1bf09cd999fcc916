/*
 * bench/lib/runstat.c: runs a command and prints its wall time, user and
 * system CPU time and peak RSS, measured by the kernel (wait4 rusage).
 *
 * Why not fork from the Python harness directly: on Linux ru_maxrss keeps
 * the high-water mark of the image a process had before execve, so a child
 * forked from a big Python process reports Python's RSS.  This helper is
 * small, so its child's maxrss is pubgate's own.
 *
 *   cc -O2 runstat.c -o runstat
 *   runstat OUTFILE CMD [ARG...]
 *
 * Writes "exit wall_s user_s sys_s maxrss_kib" to OUTFILE; the command's
 * stdout and stderr pass through.  Exit status: the command's.
 */
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec	 t0, t1;
	struct rusage	 ru;
	FILE		*f;
	pid_t		 pid;
	int		 status, code;

	if (argc < 3) {
		fprintf(stderr, "usage: runstat OUTFILE CMD [ARG...]\n");
		return 125;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) == -1) {
		perror("fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("wait4");
		return 125;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	if ((f = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 125;
	}
	fprintf(f, "%d %.6f %.6f %.6f %ld\n", code,
	    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
	fclose(f);
	return code;
}
