/*
 * proxy/core/addr.c: who the client really is, behind load balancers.
 *
 * Owns three small readings, all pure (no sockets, no libevent):
 *  - trusted_proxies: a list of CIDR blocks (px_cidr_*), the only peers
 *    whose word about the client's address is taken;
 *  - X-Forwarded-For (px_xff_client): the list is read from the right,
 *    skipping trusted hops; the first untrusted address is the client
 *    (what a trusted balancer saw), never the leftmost, which anyone can
 *    write;
 *  - the PROXY protocol header HAProxy sends before anything else on a
 *    connection, version 1 (text) or 2 (binary) (px_pp_want, px_pp_parse).
 *    px_pp_want() says how many bytes may be read next without reading
 *    past the header (what follows is the client's TLS handshake or HTTP
 *    request and must stay in the socket), so the caller never needs to
 *    push bytes back.
 * A header that is not exactly one of these forms is refused: the
 * address of a decision record must not be guessed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy-int.h"

/* -------------------------------------------------------------- CIDR */

int
px_cidr_parse(const char *s, struct px_cidr *c, const char **why)
{
	char		 buf[64], *slash, *end;
	long		 bits;
	int		 max;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf)) {
		*why = "address too long";
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	bits = max;
	if (slash != NULL) {
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || bits < 0 || bits > max) {
			*why = "bad prefix length";
			return -1;
		}
	}
	c->bits = (int)bits;
	return 0;
}

/* match() : the first c->bits bits of a (len bytes) equal c's. */
static int
match(const struct px_cidr *c, int family, const unsigned char *a)
{
	int	 full = c->bits / 8, rest = c->bits % 8;
	unsigned char mask;

	if (family != c->family)
		return 0;
	if (memcmp(a, c->addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (c->addr[full] & mask);
}

/*
 * px_cidr_match() : 1 if the address text (IPv4, IPv6, or an IPv4-mapped
 * IPv6 address, which also matches IPv4 blocks) is in one of the n blocks.
 */
int
px_cidr_match(const struct px_cidr *list, size_t n, const char *addr)
{
	unsigned char	 a[16];
	int		 family;
	size_t		 i;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (inet_pton(AF_INET, addr, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, a) == 1)
		family = AF_INET6;
	else
		return 0;
	for (i = 0; i < n; i++) {
		if (match(&list[i], family, a))
			return 1;
		if (family == AF_INET6 && memcmp(a, mapped, 12) == 0 &&
		    match(&list[i], AF_INET, a + 12))
			return 1;
	}
	return 0;
}

/* px_peer_host() : the address part of "ip:port" / "[v6]:port" peers. */
int
px_peer_host(const char *peer, char *out, size_t outlen)
{
	const char	*c = strrchr(peer, ':');
	size_t		 n;

	if (c == NULL || c == peer)
		return -1;
	n = (size_t)(c - peer);
	if (peer[0] == '[' && c[-1] == ']') {
		peer++;
		n -= 2;
	}
	if (n >= outlen)
		return -1;
	memcpy(out, peer, n);
	out[n] = '\0';
	return 0;
}

/* --------------------------------------------------- X-Forwarded-For */

/* trim() : the span [*b, *e) without spaces and tabs around it. */
static void
trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/*
 * px_xff_client() : the client address in an X-Forwarded-For value (all
 * the request's X-Forwarded-For fields joined with ',' in order), read
 * from the right past the trusted hops.  Entries may be "ip", "ip:port"
 * or "[v6]:port".  Returns 0 with the address in out, or -1 when there
 * is none to take (an empty list, a malformed entry on the way: then the
 * direct peer stays the client).
 */
int
px_xff_client(const char *v, size_t len, const struct px_cidr *trusted,
    size_t ntrusted, char *out, size_t outlen)
{
	const char	*end = v + len, *b, *e;
	char		 item[64], host[64];
	unsigned char	 tmp[16];
	size_t		 n;

	while (end > v) {
		for (b = end; b > v && b[-1] != ','; b--)
			;
		e = end;
		end = b > v ? b - 1 : v;
		trim(&b, &e);
		n = (size_t)(e - b);
		if (n == 0 || n >= sizeof(item))
			return -1;
		memcpy(item, b, n);
		item[n] = '\0';
		/* ip, [v6]:port, v4:port (a bare v6 has several ':'). */
		if (inet_pton(AF_INET6, item, tmp) == 1 ||
		    inet_pton(AF_INET, item, tmp) == 1)
			snprintf(host, sizeof(host), "%s", item);
		else if (px_peer_host(item, host, sizeof(host)) == -1 ||
		    (inet_pton(AF_INET, host, tmp) != 1 &&
		    inet_pton(AF_INET6, host, tmp) != 1))
			return -1;
		if (!px_cidr_match(trusted, ntrusted, host) || end == v) {
			if (strlen(host) >= outlen)
				return -1;
			snprintf(out, outlen, "%s", host);
			return 0;
		}
	}
	return -1;
}

/* ---------------------------------------------------- PROXY protocol */

static const unsigned char pp2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define PP1_MIN		15	/* "PROXY UNKNOWN\r\n" */
#define PP1_MAX		107	/* the spec's longest line, CRLF included */

/*
 * px_pp_want() : how many more bytes may be read after the len bytes in
 * b without reading past the header: 0 when the header is complete, -1
 * when b cannot start a PROXY header (or its v2 length is over
 * PX_PP_MAX).  Version 1 is read byte by byte after its first 15 bytes.
 */
int
px_pp_want(const unsigned char *b, size_t len)
{
	size_t	 total, i, n = len < 12 ? len : 12;

	if (len == 0)
		return PP1_MIN;		/* no header of either kind is shorter */
	if (memcmp(b, pp2_sig, n) == 0) {
		if (len < 16)
			return (int)(16 - len);
		total = 16 + ((size_t)b[14] << 8 | b[15]);
		if (total > PX_PP_MAX)
			return -1;
		return (int)(total - len);
	}
	n = len < 6 ? len : 6;
	if (memcmp(b, "PROXY ", n) != 0)
		return -1;
	if (len < PP1_MIN)
		return (int)(PP1_MIN - len);
	for (i = 1; i < len; i++)
		if (b[i - 1] == '\r' && b[i] == '\n')
			return i == len - 1 ? 0 : -1;
	return len >= PP1_MAX ? -1 : 1;
}

/* set_sa() : a sockaddr from an address in binary form and a port. */
static void
set_sa(struct sockaddr_storage *ss, int family, const void *a, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		s4->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		s6->sin6_port = htons(port);
	}
}

/* pp1_port() : a decimal port 0..65535 without a leading zero. */
static int
pp1_port(const char *s, uint16_t *port)
{
	unsigned long	 v = 0;
	size_t		 i, n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* pp1() : "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN...". */
static int
pp1(const unsigned char *b, size_t len, struct sockaddr_storage *src,
    int *have)
{
	char		 line[PP1_MAX + 1], again[PP1_MAX + 1], *f[6], *save;
	char		*t;
	unsigned char	 a[16], d[16];
	uint16_t	 sport, dport;
	int		 n = 0, family;

	memcpy(line, b, len - 2);
	line[len - 2] = '\0';
	if (memchr(line, '\0', len - 2) != NULL)
		return -1;
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		*have = 0;	/* the balancer's own check: keep the socket's */
		return 0;
	}
	memcpy(again, line, len - 1);
	for (t = strtok_r(again, " ", &save); t != NULL && n < 6;
	    t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n != 6 || t != NULL)
		return -1;
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return -1;
	if (inet_pton(family, f[2], a) != 1 || inet_pton(family, f[3], d) != 1 ||
	    pp1_port(f[4], &sport) == -1 || pp1_port(f[5], &dport) == -1)
		return -1;
	/* Exactly six fields, one space apart: the line as it was sent. */
	{
		char	 re[PP1_MAX + 1];

		snprintf(re, sizeof(re), "PROXY %s %s %s %s %s", f[1], f[2],
		    f[3], f[4], f[5]);
		if (strcmp(re, line) != 0)
			return -1;
	}
	set_sa(src, family, a, sport);
	*have = 1;
	return 0;
}

/*
 * px_pp_parse() : reads the complete header b[0..len) (px_pp_want() said
 * 0).  *have is 1 with the client's address in src, or 0 when the header
 * carries none (v1 UNKNOWN, v2 LOCAL or a family other than TCP over
 * IPv4/IPv6): the connection's own address stands.  Returns 0 or -1.
 */
int
px_pp_parse(const unsigned char *b, size_t len, struct sockaddr_storage *src,
    int *have)
{
	size_t	 body;
	int	 cmd;

	*have = 0;
	if (px_pp_want(b, len) != 0)
		return -1;
	if (b[0] == 'P')
		return pp1(b, len, src, have);
	if ((b[12] >> 4) != 2)
		return -1;		/* version */
	cmd = b[12] & 0x0f;
	body = len - 16;
	if (cmd == 0)
		return 0;		/* LOCAL: a health check */
	if (cmd != 1)
		return -1;
	switch (b[13]) {
	case 0x11:			/* TCP over IPv4 */
		if (body < 12)
			return -1;
		set_sa(src, AF_INET, b + 16, (uint16_t)(b[24] << 8 | b[25]));
		*have = 1;
		return 0;
	case 0x21:			/* TCP over IPv6 */
		if (body < 36)
			return -1;
		set_sa(src, AF_INET6, b + 16,
		    (uint16_t)(b[48] << 8 | b[49]));
		*have = 1;
		return 0;
	default:
		return 0;		/* UNSPEC, UDP, unix: no address */
	}
}
