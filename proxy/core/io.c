/*
 * proxy/core/io.c: big reads from the socket of a plain (not TLS)
 * bufferevent, reads past libevent's one or two records per event
 * from a TLS bufferevent whose SSL reads ahead, and writes made at once
 * rather than at the loop's next turn (on TLS, corked while more than one
 * record goes).
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
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy-int.h"

#define IO_LIBEVENT_READ	4096	/* evbuffer_read()'s most per call */
#define IO_VECS			2
#define IO_WHOLE_VECS		8
#define IO_TLS_RECORD		16384	/* TLS's largest record payload */
/* A 64 KiB chain: libevent rounds chain + header up to a power of 2. */
#define IO_TLS_PIECE		(PX_FEED_CHUNK - 512)

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

/*
 * px_tls_fill() : the same for a TLS bufferevent whose SSL reads ahead
 * (px_tls_bulk()).  libevent 2.1 reads one or two records per readable
 * event and then stops unless SSL_pending() says the current record has
 * more: with read-ahead the records OpenSSL already pulled from the
 * socket are not counted there, and with the socket drained no event
 * would ever come for them.  So every consumer of such an input calls
 * this first: it decrypts what OpenSSL holds, and what the socket has,
 * into the input until cap, until OpenSSL wants the socket and the
 * socket has nothing (libevent's read event covers what comes next), or
 * until the end of the stream or an error, which it leaves for libevent's
 * own next read to report (the socket stays readable).
 */
size_t
px_tls_fill(struct bufferevent *bev, size_t cap)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v;
	SSL			*ssl;
	size_t			 len, total = 0, off, room;
	int			 r, blocked = 0;

	if ((ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    !(bufferevent_get_enabled(bev) & EV_READ) ||
	    !SSL_is_init_finished(ssl))
		return 0;
	len = evbuffer_get_length(in);
	while (len < cap && !blocked) {
		/*
		 * One piece, filled to its end (libevent may give more than
		 * asked): chains of whole records to write on, and no scrap
		 * of a chain for libevent's next read to split a record into.
		 */
		if (evbuffer_reserve_space(in, IO_TLS_PIECE, &v, 1) < 1)
			break;
		room = v.iov_len < 2 * IO_TLS_PIECE ? v.iov_len :
		    2 * IO_TLS_PIECE;
		off = 0;
		while (off < room) {
			ERR_clear_error();
			r = SSL_read(ssl, (char *)v.iov_base + off,
			    (int)(room - off));
			if (r <= 0) {
				/* Errors and the end: libevent's. */
				ERR_clear_error();
				blocked = 1;
				break;
			}
			off += (size_t)r;
		}
		if (off == 0)
			break;	/* the reservation lapses */
		v.iov_len = off;
		evbuffer_commit_space(in, &v, 1);
		total += off;
		len += off;
	}
	return total;
}

size_t
px_io_whole(struct evbuffer *buf, size_t max)
{
	struct evbuffer_iovec	 v[IO_WHOLE_VECS];
	size_t			 n = 0;
	int			 nv, i;

	nv = evbuffer_peek(buf, -1, NULL, v, IO_WHOLE_VECS);
	if (nv > IO_WHOLE_VECS)
		nv = IO_WHOLE_VECS;
	for (i = 0; i < nv; i++) {
		if (n > 0 && n + v[i].iov_len > max)
			break;
		n += v[i].iov_len;
	}
	if (n == 0 && (n = evbuffer_get_length(buf)) > max)
		n = max;
	return n;
}

/*
 * io_cork() : corks (on 1) a TLS client's TCP socket (TCP_CORK) so that
 * the records of the SSL_write()s that follow leave in full-sized
 * segments rather than one segment per 16 KiB record: OpenSSL writes
 * each record to the socket by itself, and on loopback and in virtual
 * machines every segment costs the sending side the whole way through
 * the stack.  On 0 uncorks it (the kernel then sends what is held at
 * once).  1 when the socket took the option.
 */
static int
io_cork(struct bufferevent *bev, int on)
{
	evutil_socket_t	 fd;

	return (fd = bufferevent_getfd(bev)) >= 0 &&
	    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0;
}

/*
 * px_io_flush() : writes a bufferevent's output now rather than in the
 * loop's next turn, when epoll says the socket is writable: for a
 * callback that just filled it from empty (no write of libevent's is
 * under way, and for TLS no SSL_write waits to be repeated).  When all
 * of it went, it does what libevent's own write does then: it deletes
 * the write event (the add that filling it made is still in epoll's
 * change list, serve.c: the pair costs no epoll_ctl) and runs the write
 * callback, deferred.  Else libevent's write event takes over, the rest
 * and any error left to it (an SSL_write that wants the socket writable
 * is repeated by libevent with the same bytes at the head of the
 * output, as OpenSSL requires).
 */
void
px_io_flush(struct bufferevent *bev)
{
	struct evbuffer		*out = bufferevent_get_output(bev);
	struct evbuffer_iovec	 v;
	evutil_socket_t		 fd;
	SSL			*ssl;
	int			 r, cork;

	if (!(bufferevent_get_enabled(bev) & EV_WRITE) ||
	    evbuffer_get_length(out) == 0 ||
	    bufferevent_get_underlying(bev) != NULL)	/* a filter */
		return;
	if ((ssl = bufferevent_openssl_get_ssl(bev)) != NULL) {
		if (!SSL_is_init_finished(ssl))
			return;
		cork = evbuffer_get_length(out) > IO_TLS_RECORD &&
		    io_cork(bev, 1);
		while (evbuffer_peek(out, -1, NULL, &v, 1) >= 1) {
			ERR_clear_error();
			r = SSL_write(ssl, v.iov_base, v.iov_len > INT_MAX ?
			    INT_MAX : (int)v.iov_len);
			if (r <= 0) {
				ERR_clear_error();
				if (cork)
					(void)io_cork(bev, 0);
				return;
			}
			evbuffer_drain(out, (size_t)r);
		}
		if (cork)
			(void)io_cork(bev, 0);
	} else {
		if ((fd = bufferevent_getfd(bev)) < 0)
			return;
		while (evbuffer_get_length(out) > 0)
			if (evbuffer_write(out, fd) <= 0)
				return;
	}
	event_del(&bev->ev_write);
	bufferevent_trigger(bev, EV_WRITE, BEV_OPT_DEFER_CALLBACKS);
}
