/*
 * proxy/core/io.c: big reads from the socket of a plain (not TLS)
 * bufferevent.
 *
 * libevent 2.1's evbuffer_read() reads at most 4096 bytes per call
 * (EVBUFFER_MAX_READ), whatever bufferevent_set_max_single_read() allows,
 * and asks FIONREAD before each read: relaying a 1 MiB response from a
 * plain-HTTP upstream took about 256 readv, 256 ioctl and, on the other
 * side, an epoll_ctl pair per 4 KiB piece.  px_io_fill() tops the input
 * of such a bufferevent up from its socket, PX_FEED_CHUNK bytes per read,
 * when libevent's own read came back full (more is likely waiting).
 *
 * It stops at the first short read, at cap bytes of input, at the end of
 * the stream or at an error, and reports neither: a closed or failed
 * socket stays readable, so the bufferevent's next read sees the end (an
 * error such as a reset is then seen as the end of the stream, which the
 * callers treat as a connection closed too early).  cap stays below the
 * bufferevent's read high watermark so filling never trips libevent's
 * suspend/unsuspend of the read event.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "proxy-int.h"

#define IO_LIBEVENT_READ	4096	/* evbuffer_read()'s most per call */
#define IO_VECS			2

size_t
px_io_fill(struct bufferevent *bev, size_t cap)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v[IO_VECS];
	struct iovec		 iov[IO_VECS];
	evutil_socket_t		 fd;
	size_t			 len, want, total = 0, left;
	ssize_t			 n;
	int			 nv, i;

	if ((len = evbuffer_get_length(in)) < IO_LIBEVENT_READ ||
	    (fd = bufferevent_getfd(bev)) < 0 ||
	    !(bufferevent_get_enabled(bev) & EV_READ))
		return 0;
	while (len < cap) {
		want = cap - len;
		if (want > PX_FEED_CHUNK)
			want = PX_FEED_CHUNK;
		/* A socket bufferevent's input only takes bytes from libevent. */
		evbuffer_unfreeze(in, 0);
		nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, IO_VECS);
		if (nv < 1) {
			evbuffer_freeze(in, 0);
			break;
		}
		left = want;
		for (i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len :
			    left;
			left -= iov[i].iov_len;
		}
		do
			n = readv(fd, iov, nv);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			evbuffer_freeze(in, 0);	/* the reservation lapses */
			break;
		}
		left = (size_t)n;
		for (i = 0; i < nv && left > 0; i++) {
			v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len :
			    left;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(in, v, i);
		evbuffer_freeze(in, 0);
		total += (size_t)n;
		len += (size_t)n;
		if ((size_t)n < want)
			break;	/* the socket has no more for now */
	}
	return total;
}
