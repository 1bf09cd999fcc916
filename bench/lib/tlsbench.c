/*
 * bench/lib/tlsbench.c: a TLS handshake loop for bench/egress.  Each
 * iteration opens a TCP connection to ADDR:PORT, optionally sends
 * "CONNECT host:port" and reads the 200 (egress mode), then runs a full
 * TLS client handshake (no session reuse, no certificate verification:
 * the client's own cost is kept small and equal across modes), sends
 * close_notify and closes.  The SNI cycles through the names given, so
 * two names with a one-entry leaf cache make every handshake a miss.
 * Prints "n=<N> seconds=<S> rate=<handshakes per second>".
 *
 * The CONNECT targets cycle the same way (target i with name i).
 *
 * usage: tlsbench -a ADDR:PORT -n N [-c HOST:PORT[,...]] [-s NAME[,...]]
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define NAMES_MAX	16

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* dial() : a connected TCP socket to ip:port, or -1. */
static int
dial(const char *ip, int port)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* proxy_connect() : CONNECT target; 0 once "200" came back, else -1. */
static int
proxy_connect(int fd, const char *target)
{
	char	 buf[1024];
	size_t	 n = 0;
	ssize_t	 r;
	int	 len;

	len = snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	    "\r\n", target, target);
	if (write(fd, buf, (size_t)len) != len)
		return -1;
	/* Byte by byte: nothing after the head may be consumed. */
	while (n < sizeof(buf) - 1) {
		if ((r = read(fd, buf + n, 1)) != 1)
			return -1;
		n++;
		buf[n] = '\0';
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	const char	*addr = NULL;
	char		*names[NAMES_MAX], *targets[NAMES_MAX];
	char		*sni = NULL, *target = NULL, ip[64], *colon;
	SSL_CTX		*ctx;
	SSL		*ssl;
	double		 t0, t;
	long		 n = 0, i;
	int		 ch, port, fd, nnames = 0, ntargets = 0;

	while ((ch = getopt(argc, argv, "a:c:n:s:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'c': target = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 's': sni = optarg; break;
		default:
			fprintf(stderr, "usage: tlsbench -a ADDR:PORT -n N "
			    "[-c HOST:PORT] [-s NAME[,NAME...]]\n");
			return 2;
		}
	}
	if (addr == NULL || n <= 0 || (colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= sizeof(ip)) {
		fprintf(stderr,
		    "tlsbench: -a ADDR:PORT and -n N are required\n");
		return 2;
	}
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	port = atoi(colon + 1);
	for (; sni != NULL && nnames < NAMES_MAX; nnames++)
		names[nnames] = strsep(&sni, ",");
	for (; target != NULL && ntargets < NAMES_MAX; ntargets++)
		targets[ntargets] = strsep(&target, ",");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	t0 = now();
	for (i = 0; i < n; i++) {
		if ((fd = dial(ip, port)) == -1) {
			perror("tlsbench: connect");
			return 1;
		}
		if (ntargets > 0 &&
		    proxy_connect(fd, targets[i % ntargets]) == -1) {
			fprintf(stderr, "tlsbench: CONNECT %s refused\n",
			    targets[i % ntargets]);
			return 1;
		}
		ssl = SSL_new(ctx);
		if (nnames > 0)
			SSL_set_tlsext_host_name(ssl, names[i % nnames]);
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) != 1) {
			fprintf(stderr, "tlsbench: handshake %ld failed\n", i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	t = now() - t0;
	printf("n=%ld seconds=%.3f rate=%.0f\n", n, t, (double)n / t);
	SSL_CTX_free(ctx);
	return 0;
}
