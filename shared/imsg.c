/*
 * Copyright (c) 2026 The forgejo-mcp-broker developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * The imsg channel; see imsg.h for the wire format.
 *
 * Sending: imsg_compose() and friends build one ibuf per message and
 * queue it on imsgbuf->w.  imsgbuf_write() hands the queue to one
 * sendmsg(2); what the socket did not take stays queued, and rpos of
 * the first buffer marks how much of it went.
 *
 * Receiving: imsgbuf_read() does one recvmsg(2) into rbuf, then sorts
 * the bytes: first into rhdr until a header is complete, then, once the
 * header has been checked, into an ibuf of exactly the announced size.
 * Complete messages wait on imsgbuf->rq for imsg_get().  No allocation
 * happens before a length has been checked against maxsize.
 *
 * Descriptors: the sender attaches one to the sendmsg(2) that starts
 * its message, and sets IMSG_FD_MARK in hdr.len.  The kernel delivers
 * it with the first byte of that message, so it is waiting in rfds
 * when the header is parsed.  Anything else is a protocol error.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

#define IMSG_ALLOW_FDPASS	0x01
#define IMSG_FD_MARK		0x80000000U	/* in hdr.len: an fd comes */
#define IMSG_READ_SIZE		65536		/* one recvmsg(2) at most */
#define IMSG_IOV_MAX		64		/* buffers per sendmsg(2) */

/*
 * With MSG_NOSIGNAL a write to a closed peer fails with EPIPE instead
 * of raising SIGPIPE, so that no daemon dies of it.  Where it does not
 * exist, the program must ignore SIGPIPE.
 */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL		0
#endif

/* Space for exactly one descriptor. */
union imsg_cmsgbuf {
	struct cmsghdr		 hdr;
	unsigned char		 buf[CMSG_SPACE(sizeof(int))];
};

static void	 imsg_closefd(int);
static void	 imsg_dropfds(struct imsgbuf *);
static int	 imsg_recvfd(struct msghdr *, int *);
static int	 imsg_parse(struct imsgbuf *, const unsigned char *, size_t);
static int	 imsg_start(struct imsgbuf *);
static int	 msgbuf_send(struct imsgbuf *);
static void	 msgbuf_drain(struct msgbuf *, size_t);

/*
 * Buffers.
 */

struct ibuf *
ibuf_open(size_t len)
{
	return ibuf_dynamic(len, len);
}

/* A buffer of len bytes that ibuf_reserve() may grow up to max. */
struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (len == 0 || len > max) {
		errno = EINVAL;
		return NULL;
	}
	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return NULL;
	if ((buf->buf = calloc(len, 1)) == NULL) {
		free(buf);
		return NULL;
	}
	buf->size = len;
	buf->max = max;
	buf->fd = -1;
	return buf;
}

/* Append len bytes of space and return where they start. */
void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	unsigned char	*p;
	size_t		 need, size;

	/* wpos <= max always holds, so this cannot wrap. */
	if (len > buf->max - buf->wpos) {
		errno = ERANGE;
		return NULL;
	}
	need = buf->wpos + len;
	if (need > buf->size) {
		size = buf->size < buf->max / 2 ? buf->size * 2 : buf->max;
		if (size < need)
			size = need;
		/* recallocarray(3) clears the old memory before freeing it. */
		if ((p = recallocarray(buf->buf, buf->size, size, 1)) == NULL)
			return NULL;
		buf->buf = p;
		buf->size = size;
	}
	p = buf->buf + buf->wpos;
	buf->wpos = need;
	return p;
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*p;

	if ((p = ibuf_reserve(buf, len)) == NULL)
		return -1;
	if (len > 0)
		memcpy(p, data, len);
	return 0;
}

/* The unread part: between rpos and wpos. */
void *
ibuf_data(const struct ibuf *buf)
{
	return buf->buf + buf->rpos;
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return buf->wpos - buf->rpos;
}

/* How much more may be added. */
size_t
ibuf_left(const struct ibuf *buf)
{
	return buf->max - buf->wpos;
}

/* Zero the contents, close the descriptor, keep errno. */
void
ibuf_free(struct ibuf *buf)
{
	int	saved_errno = errno;

	if (buf == NULL)
		return;
	imsg_closefd(buf->fd);
	freezero(buf->buf, buf->size);
	free(buf);
	errno = saved_errno;
}

/*
 * Channels.
 */

int
imsgbuf_init(struct imsgbuf *imsgbuf, int fd)
{
	/* Usable by imsgbuf_clear() even if the allocation fails. */
	memset(imsgbuf, 0, sizeof(*imsgbuf));
	TAILQ_INIT(&imsgbuf->w.bufs);
	TAILQ_INIT(&imsgbuf->rq);
	imsgbuf->rfds[0] = imsgbuf->rfds[1] = -1;
	imsgbuf->fd = fd;
	imsgbuf->pid = getpid();
	imsgbuf->maxsize = MAX_IMSGSIZE;
	if ((imsgbuf->rbuf = calloc(1, IMSG_READ_SIZE)) == NULL)
		return -1;
	return 0;
}

void
imsgbuf_allow_fdpass(struct imsgbuf *imsgbuf)
{
	imsgbuf->flags |= IMSG_ALLOW_FDPASS;
}

/* max is the largest payload; 0 allows header-only messages. */
int
imsgbuf_set_maxsize(struct imsgbuf *imsgbuf, uint32_t max)
{
	if (max > IMSG_MAXSIZE_LIMIT) {
		errno = ERANGE;
		return -1;
	}
	imsgbuf->maxsize = max + IMSG_HEADER_SIZE;
	return 0;
}

/*
 * Returns 1 when data was read or none was waiting, 0 at end of file
 * and -1 on error.  EBADMSG and ERANGE mean the peer broke the
 * protocol: the channel is no longer usable.
 */
int
imsgbuf_read(struct imsgbuf *imsgbuf)
{
	union imsg_cmsgbuf	 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	ssize_t			 n;
	int			 fd, flags, rv;

	if (imsgbuf->rbuf == NULL) {
		errno = EINVAL;
		return -1;
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = imsgbuf->rbuf;
	iov.iov_len = IMSG_READ_SIZE;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	flags = 0;
#ifdef MSG_CMSG_CLOEXEC
	/* Linux and most BSDs: no window where a fork could inherit it. */
	flags |= MSG_CMSG_CLOEXEC;
#endif

	while ((n = recvmsg(imsgbuf->fd, &msg, flags)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		return -1;
	}

	if (imsg_recvfd(&msg, &fd) == -1)
		return -1;
	if (n == 0) {
		imsg_closefd(fd);
		return 0;
	}
	if (fd != -1) {
		if (!(imsgbuf->flags & IMSG_ALLOW_FDPASS) ||
		    imsgbuf->nrfds == 2) {
			imsg_closefd(fd);
			errno = EBADMSG;
			return -1;
		}
		imsgbuf->rfds[imsgbuf->nrfds++] = fd;
	}

	rv = imsg_parse(imsgbuf, imsgbuf->rbuf, n);
	explicit_bzero(imsgbuf->rbuf, n);

	/*
	 * Every byte of this read has been sorted.  A descriptor may still
	 * wait only for a header that has begun to arrive: it came with the
	 * first byte of its message.  Holding more would let a peer pile
	 * up descriptors in us.
	 */
	if (rv == 0 && (imsgbuf->nrfds > 1 ||
	    (imsgbuf->nrfds == 1 && imsgbuf->rhdrlen == 0))) {
		errno = EBADMSG;
		rv = -1;
	}
	if (rv == -1) {
		imsg_dropfds(imsgbuf);
		return -1;
	}
	return 1;
}

/* Returns 0 (even when the socket is full and data stays queued) or -1. */
int
imsgbuf_write(struct imsgbuf *imsgbuf)
{
	if (msgbuf_send(imsgbuf) == -1)
		return -1;
	return 0;
}

/* Send everything queued; waits for room on a non-blocking socket. */
int
imsgbuf_flush(struct imsgbuf *imsgbuf)
{
	struct pollfd	 pfd;
	int		 rv;

	while (imsgbuf->w.queued > 0) {
		if ((rv = msgbuf_send(imsgbuf)) == -1)
			return -1;
		if (rv == 1)
			continue;
		pfd.fd = imsgbuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Free every buffer and close every descriptor held, whether queued to
 * be sent, received and not claimed, or in a partial message.  The
 * socket itself stays open.  Safe to call twice.
 */
void
imsgbuf_clear(struct imsgbuf *imsgbuf)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&imsgbuf->w.bufs)) != NULL) {
		TAILQ_REMOVE(&imsgbuf->w.bufs, buf, entry);
		ibuf_free(buf);
	}
	imsgbuf->w.queued = 0;
	while ((buf = TAILQ_FIRST(&imsgbuf->rq)) != NULL) {
		TAILQ_REMOVE(&imsgbuf->rq, buf, entry);
		ibuf_free(buf);
	}
	ibuf_free(imsgbuf->rmsg);
	imsgbuf->rmsg = NULL;
	imsgbuf->rhdrlen = 0;
	imsg_dropfds(imsgbuf);
	if (imsgbuf->rbuf != NULL)
		freezero(imsgbuf->rbuf, IMSG_READ_SIZE);
	imsgbuf->rbuf = NULL;
}

/* Messages waiting to be sent. */
uint32_t
imsgbuf_queuelen(struct imsgbuf *imsgbuf)
{
	return imsgbuf->w.queued;
}

/* imsg_get() returning 1 instead of the length. */
int
imsgbuf_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	switch (imsg_get(imsgbuf, imsg)) {
	case -1:
		return -1;
	case 0:
		return 0;
	default:
		return 1;
	}
}

/*
 * Messages.
 */

/*
 * Take the next complete message: returns its length, header included,
 * or 0 if there is none.  The caller owns it until imsg_free().
 */
ssize_t
imsg_get(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct ibuf	*buf;

	if ((buf = TAILQ_FIRST(&imsgbuf->rq)) == NULL)
		return 0;
	TAILQ_REMOVE(&imsgbuf->rq, buf, entry);
	memcpy(&imsg->hdr, buf->buf, sizeof(imsg->hdr));
	buf->rpos = IMSG_HEADER_SIZE;
	imsg->buf = buf;
	imsg->data = ibuf_size(buf) > 0 ? ibuf_data(buf) : NULL;
	return imsg->hdr.len;
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return imsg->hdr.type;
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return imsg->hdr.peerid;
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return imsg->hdr.pid;
}

/* Payload bytes not yet taken by imsg_get_buf() and friends. */
size_t
imsg_get_len(struct imsg *imsg)
{
	if (imsg->buf == NULL)
		return 0;
	return ibuf_size(imsg->buf);
}

/* The caller owns the descriptor from now on; -1 if there is none. */
int
imsg_get_fd(struct imsg *imsg)
{
	int	fd;

	if (imsg->buf == NULL)
		return -1;
	fd = imsg->buf->fd;
	imsg->buf->fd = -1;
	return fd;
}

/* The payload must be exactly len bytes: the one check a receiver needs. */
int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (imsg_get_len(imsg) != len) {
		errno = EBADMSG;
		return -1;
	}
	return imsg_get_buf(imsg, data, len);
}

/* Take the next len bytes of the payload. */
int
imsg_get_buf(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_len(imsg) < len) {
		errno = EBADMSG;
		return -1;
	}
	if (len > 0) {
		memcpy(data, ibuf_data(imsg->buf), len);
		imsg->buf->rpos += len;
	}
	return 0;
}

/*
 * Take the rest of the payload as a string.  It must end in a NUL and
 * fit in len bytes; on failure str holds the empty string.
 */
int
imsg_get_strbuf(struct imsg *imsg, char *str, size_t len)
{
	const char	*p;
	size_t		 n;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	str[0] = '\0';
	if ((n = imsg_get_len(imsg)) == 0) {
		errno = EBADMSG;
		return -1;
	}
	if (n > len) {
		errno = EOVERFLOW;
		return -1;
	}
	p = ibuf_data(imsg->buf);
	if (p[n - 1] != '\0') {
		errno = EBADMSG;
		return -1;
	}
	return imsg_get_buf(imsg, str, n);
}

/* Zeroes the payload and closes a descriptor nobody claimed. */
void
imsg_free(struct imsg *imsg)
{
	ibuf_free(imsg->buf);
	imsg->buf = NULL;
	imsg->data = NULL;
}

/*
 * Queue a message.  A descriptor, if fd >= 0, is closed here once sent,
 * and closed at once if anything fails.  Returns 1 or -1.
 */
int
imsg_compose(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*msg;

	if (fd >= 0 && !(imsgbuf->flags & IMSG_ALLOW_FDPASS)) {
		errno = EINVAL;
		goto fail;
	}
	if ((msg = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	if (imsg_add(msg, data, datalen) == -1)
		goto fail;
	msg->fd = fd >= 0 ? fd : -1;
	imsg_close(imsgbuf, msg);
	return 1;

 fail:
	imsg_closefd(fd);
	return -1;
}

int
imsg_composev(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*msg;
	size_t		 datalen;
	int		 i;

	if (fd >= 0 && !(imsgbuf->flags & IMSG_ALLOW_FDPASS)) {
		errno = EINVAL;
		goto fail;
	}
	if (iovcnt < 0 || (iovcnt > 0 && iov == NULL)) {
		errno = EINVAL;
		goto fail;
	}
	datalen = 0;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - datalen) {
			errno = ERANGE;
			goto fail;
		}
		datalen += iov[i].iov_len;
	}
	if ((msg = imsg_create(imsgbuf, type, id, pid, datalen)) == NULL)
		goto fail;
	for (i = 0; i < iovcnt; i++)
		if (imsg_add(msg, iov[i].iov_base, iov[i].iov_len) == -1)
			goto fail;
	msg->fd = fd >= 0 ? fd : -1;
	imsg_close(imsgbuf, msg);
	return 1;

 fail:
	imsg_closefd(fd);
	return -1;
}

/* Send a received message on, whole, without its descriptor. */
int
imsg_forward(struct imsgbuf *imsgbuf, struct imsg *imsg)
{
	struct ibuf	*msg;
	size_t		 len;

	len = imsg->hdr.len - IMSG_HEADER_SIZE;
	if ((msg = imsg_create(imsgbuf, imsg->hdr.type, imsg->hdr.peerid,
	    imsg->hdr.pid, len)) == NULL)
		return -1;
	if (imsg_add(msg, imsg->buf->buf + IMSG_HEADER_SIZE, len) == -1)
		return -1;
	imsg_close(imsgbuf, msg);
	return 1;
}

/*
 * Start a message of datalen bytes of payload; imsg_add() may add more,
 * up to the channel's maximum.  pid 0 means this process.
 */
struct ibuf *
imsg_create(struct imsgbuf *imsgbuf, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*msg;

	/* maxsize >= IMSG_HEADER_SIZE always holds. */
	if (datalen > imsgbuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return NULL;
	}
	hdr.type = type;
	hdr.len = 0;		/* imsg_close() knows the final length */
	hdr.peerid = id;
	hdr.pid = pid == 0 ? imsgbuf->pid : pid;
	if ((msg = ibuf_dynamic(IMSG_HEADER_SIZE + datalen,
	    imsgbuf->maxsize)) == NULL)
		return NULL;
	if (ibuf_add(msg, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(msg);
		return NULL;
	}
	return msg;
}

/*
 * Returns datalen, or -1 after freeing msg.  A NULL msg (imsg_create()
 * failed) returns -1 and leaves errno as that failure set it.
 */
int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (msg == NULL)
		return -1;
	if (ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return -1;
	}
	/* Bounded by the channel's maxsize, so it fits an int. */
	return datalen;
}

/* Write the final length into the header and queue the message. */
void
imsg_close(struct imsgbuf *imsgbuf, struct ibuf *msg)
{
	uint32_t	 len;

	if (msg == NULL)
		return;
	len = msg->wpos;
	if (msg->fd != -1)
		len |= IMSG_FD_MARK;
	memcpy(msg->buf + offsetof(struct imsg_hdr, len), &len, sizeof(len));
	TAILQ_INSERT_TAIL(&imsgbuf->w.bufs, msg, entry);
	imsgbuf->w.queued++;
}

/*
 * Internals.
 */

static void
imsg_closefd(int fd)
{
	int	saved_errno = errno;

	if (fd >= 0)
		close(fd);
	errno = saved_errno;
}

static void
imsg_dropfds(struct imsgbuf *imsgbuf)
{
	int	i;

	for (i = 0; i < imsgbuf->nrfds; i++)
		imsg_closefd(imsgbuf->rfds[i]);
	imsgbuf->rfds[0] = imsgbuf->rfds[1] = -1;
	imsgbuf->nrfds = 0;
}

/*
 * Find the descriptor a read brought, or -1.  More than one, or a
 * truncated control message (the kernel dropped some), closes them all
 * and fails with EBADMSG.
 */
static int
imsg_recvfd(struct msghdr *msg, int *fdp)
{
	struct cmsghdr	*cmsg;
	size_t		 i, nfds;
	int		 bad, fd;

	*fdp = -1;
	bad = (msg->msg_flags & MSG_CTRUNC) != 0;
	for (cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(fd));
			if (*fdp == -1)
				*fdp = fd;
			else {
				imsg_closefd(fd);
				bad = 1;
			}
		}
	}
	if (bad) {
		imsg_closefd(*fdp);
		*fdp = -1;
		errno = EBADMSG;
		return -1;
	}
#ifndef MSG_CMSG_CLOEXEC
	if (*fdp != -1 && fcntl(*fdp, F_SETFD, FD_CLOEXEC) == -1) {
		imsg_closefd(*fdp);
		*fdp = -1;
		return -1;
	}
#endif
	return 0;
}

/*
 * Sort the n bytes of one read: into the header being assembled, or
 * into the body of the message that header announced.
 */
static int
imsg_parse(struct imsgbuf *imsgbuf, const unsigned char *p, size_t n)
{
	struct ibuf	*msg;
	size_t		 take;

	while (n > 0) {
		if ((msg = imsgbuf->rmsg) == NULL) {
			take = IMSG_HEADER_SIZE - imsgbuf->rhdrlen;
			if (take > n)
				take = n;
			memcpy(imsgbuf->rhdr + imsgbuf->rhdrlen, p, take);
			imsgbuf->rhdrlen += take;
			if (imsgbuf->rhdrlen == IMSG_HEADER_SIZE &&
			    imsg_start(imsgbuf) == -1)
				return -1;
		} else {
			take = msg->size - msg->wpos;
			if (take > n)
				take = n;
			if (ibuf_add(msg, p, take) == -1)
				return -1;
		}
		p += take;
		n -= take;

		msg = imsgbuf->rmsg;
		if (msg != NULL && msg->wpos == msg->size) {
			TAILQ_INSERT_TAIL(&imsgbuf->rq, msg, entry);
			imsgbuf->rmsg = NULL;
		}
	}
	return 0;
}

/*
 * A header is complete: check it, then allocate its message, which
 * holds the header as received but without IMSG_FD_MARK.
 */
static int
imsg_start(struct imsgbuf *imsgbuf)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*msg;
	int		 fd, hasfd;

	memcpy(&hdr, imsgbuf->rhdr, sizeof(hdr));
	imsgbuf->rhdrlen = 0;
	hasfd = (hdr.len & IMSG_FD_MARK) != 0;
	hdr.len &= ~IMSG_FD_MARK;

	if (hdr.len < IMSG_HEADER_SIZE) {
		errno = EBADMSG;
		return -1;
	}
	if (hdr.len > imsgbuf->maxsize) {
		errno = ERANGE;
		return -1;
	}

	fd = -1;
	if (hasfd) {
		/* Never the case unless fd passing is allowed. */
		if (imsgbuf->nrfds == 0) {
			errno = EBADMSG;
			return -1;
		}
		fd = imsgbuf->rfds[0];
		imsgbuf->rfds[0] = imsgbuf->rfds[1];
		imsgbuf->rfds[1] = -1;
		imsgbuf->nrfds--;
	}

	if ((msg = ibuf_open(hdr.len)) == NULL) {
		imsg_closefd(fd);
		return -1;
	}
	msg->fd = fd;
	if (ibuf_add(msg, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(msg);
		return -1;
	}
	imsgbuf->rmsg = msg;
	return 0;
}

/*
 * One sendmsg(2) of as many queued buffers as it takes.  A buffer with
 * a descriptor always starts a call, so that the descriptor travels
 * with the first byte of its message.  Returns 1 after progress or with
 * nothing to send, 0 when the socket is full, -1 on error.
 */
static int
msgbuf_send(struct imsgbuf *imsgbuf)
{
	union imsg_cmsgbuf	 cmsgbuf;
	struct iovec		 iov[IMSG_IOV_MAX];
	struct msghdr		 msg;
	struct cmsghdr		*cmsg;
	struct ibuf		*buf, *first;
	ssize_t			 n;
	int			 i;

	if ((first = TAILQ_FIRST(&imsgbuf->w.bufs)) == NULL)
		return 1;

	memset(&msg, 0, sizeof(msg));
	i = 0;
	TAILQ_FOREACH(buf, &imsgbuf->w.bufs, entry) {
		if (i == IMSG_IOV_MAX || (buf != first && buf->fd != -1))
			break;
		iov[i].iov_base = ibuf_data(buf);
		iov[i].iov_len = ibuf_size(buf);
		i++;
	}
	msg.msg_iov = iov;
	msg.msg_iovlen = i;

	if (first->fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &first->fd, sizeof(int));
	}

	while ((n = sendmsg(imsgbuf->fd, &msg, MSG_NOSIGNAL)) == -1) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)
			return 0;
		return -1;
	}

	/* Some bytes went, so did the descriptor: the peer has its own. */
	if (first->fd != -1) {
		close(first->fd);
		first->fd = -1;
	}
	msgbuf_drain(&imsgbuf->w, n);
	return 1;
}

/* Forget n sent bytes: free the buffers that went whole. */
static void
msgbuf_drain(struct msgbuf *w, size_t n)
{
	struct ibuf	*buf;
	size_t		 left;

	while (n > 0 && (buf = TAILQ_FIRST(&w->bufs)) != NULL) {
		left = ibuf_size(buf);
		if (n < left) {
			buf->rpos += n;
			return;
		}
		n -= left;
		TAILQ_REMOVE(&w->bufs, buf, entry);
		w->queued--;
		ibuf_free(buf);
	}
}
