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
 * shared/imsg.c against a peer that behaves and one that does not.
 * Every socket is non-blocking so that a bug fails a check instead of
 * hanging; alarm(3) catches the rest.  SIGPIPE is deliberately left at
 * its default: imsgbuf_write() must not raise it.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "regress.h"

static void	 die(const char *);
static void	 nonblock(int);
static void	 mkpair(int[2]);
static void	 mkpipe(int[2]);
static int	 fd_is_open(int);
static int	 pipe_eof(int);
static void	 chan(struct imsgbuf *, int);
static size_t	 rawmsg(unsigned char *, uint32_t, uint32_t, uint32_t,
		    uint32_t, const void *, size_t);
static ssize_t	 send_raw(int, const void *, size_t, const int *, int);
static int	 pump(struct imsgbuf *, struct imsgbuf *, struct imsg *);
static void	 test_roundtrip(void);
static void	 test_split(void);
static void	 test_many(void);
static void	 test_fdpass(void);
static void	 test_fd_refused(void);
static void	 test_oversize(void);
static void	 test_truncated(void);
static void	 test_get_data(void);
static void	 test_strbuf(void);
static void	 test_epipe(void);
static void	 test_partial_writes(void);
static void	 test_clear(void);
static void	 test_forward(void);
static int	 open_fds(void);

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static void
nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		die("fcntl");
}

static void
mkpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die("socketpair");
	nonblock(sv[0]);
	nonblock(sv[1]);
}

/* A pipe whose read end never blocks. */
static void
mkpipe(int p[2])
{
	if (pipe(p) == -1)
		die("pipe");
	nonblock(p[0]);
}

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* True once every write end of the pipe is closed and it is empty. */
static int
pipe_eof(int rfd)
{
	char	c;

	return read(rfd, &c, 1) == 0;
}

static void
chan(struct imsgbuf *ib, int fd)
{
	if (imsgbuf_init(ib, fd) == -1)
		die("imsgbuf_init");
}

/* Lay out a message by hand, as a misbehaving peer could. */
static size_t
rawmsg(unsigned char *out, uint32_t type, uint32_t len, uint32_t peerid,
    uint32_t pid, const void *data, size_t datalen)
{
	struct imsg_hdr	 hdr;

	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = pid;
	memcpy(out, &hdr, sizeof(hdr));
	if (datalen > 0)
		memcpy(out + sizeof(hdr), data, datalen);
	return sizeof(hdr) + datalen;
}

/* sendmsg(2) with any number of descriptors attached. */
static ssize_t
send_raw(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	 hdr;
		unsigned char	 buf[CMSG_SPACE(4 * sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	return sendmsg(s, &msg, 0);
}

/*
 * Move messages from one channel to the other until one arrives at the
 * receiver; returns what imsg_get() returned, or -1 if the channel
 * failed or nothing came.
 */
static int
pump(struct imsgbuf *from, struct imsgbuf *to, struct imsg *imsg)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < 100000; i++) {
		if ((n = imsg_get(to, imsg)) != 0)
			return n;
		if (imsgbuf_write(from) == -1 || imsgbuf_read(to) != 1)
			return -1;
	}
	return -1;
}

static void
test_roundtrip(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct iovec	 iov[2];
	struct ibuf	*msg;
	unsigned char	 big[1000], got[1000];
	char		 s[32];
	size_t		 i;
	ssize_t		 n;
	int		 sv[2];

	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	for (i = 0; i < sizeof(big); i++)
		big[i] = i * 7 + 3;

	CHECK(imsg_compose(&a, 1, 100, 0, -1, "hello", 6) == 1,
	    "roundtrip: compose returns 1");
	CHECK(imsg_compose(&a, 2, UINT32_MAX, 4242, -1, NULL, 0) == 1,
	    "roundtrip: compose with an empty payload");
	CHECK(imsg_compose(&a, 0x7fffffff, 7, 1, -1, big, sizeof(big)) == 1,
	    "roundtrip: compose 1000 bytes");
	iov[0].iov_base = (void *)(uintptr_t)"abc";
	iov[0].iov_len = 3;
	iov[1].iov_base = (void *)(uintptr_t)"defg";
	iov[1].iov_len = 5;
	CHECK(imsg_composev(&a, 4, 8, 0, -1, iov, 2) == 1,
	    "roundtrip: composev of two pieces");
	msg = imsg_create(&a, 5, 9, 0, 2);
	CHECK(msg != NULL, "roundtrip: imsg_create");
	CHECK(imsg_add(msg, "1234", 4) == 4 && imsg_add(msg, "5678", 4) == 4,
	    "roundtrip: imsg_add past the size hint returns datalen");
	imsg_close(&a, msg);
	CHECK(imsgbuf_queuelen(&a) == 5, "roundtrip: five queued");
	CHECK(imsgbuf_flush(&a) == 0 && imsgbuf_queuelen(&a) == 0,
	    "roundtrip: flush empties the queue");
	CHECK(imsgbuf_read(&b) == 1, "roundtrip: one read takes them all");

	n = imsg_get(&b, &imsg);
	CHECK(n == (ssize_t)IMSG_HEADER_SIZE + 6 &&
	    imsg_get_type(&imsg) == 1 && imsg_get_id(&imsg) == 100 &&
	    imsg_get_pid(&imsg) == getpid() && imsg_get_len(&imsg) == 6 &&
	    memcmp(imsg.data, "hello", 6) == 0,
	    "roundtrip: first message, pid 0 means the sender's pid");
	CHECK(imsg_get_fd(&imsg) == -1, "roundtrip: no descriptor");
	imsg_free(&imsg);

	n = imsg_get(&b, &imsg);
	CHECK(n == (ssize_t)IMSG_HEADER_SIZE && imsg_get_type(&imsg) == 2 &&
	    imsg_get_id(&imsg) == UINT32_MAX && imsg_get_pid(&imsg) == 4242 &&
	    imsg_get_len(&imsg) == 0 && imsg.data == NULL,
	    "roundtrip: empty payload, data is NULL");
	imsg_free(&imsg);

	n = imsg_get(&b, &imsg);
	CHECK(n == (ssize_t)(IMSG_HEADER_SIZE + sizeof(big)) &&
	    imsg_get_type(&imsg) == 0x7fffffff && imsg_get_pid(&imsg) == 1 &&
	    imsg_get_buf(&imsg, got, sizeof(got)) == 0 &&
	    memcmp(got, big, sizeof(big)) == 0,
	    "roundtrip: 1000 bytes intact");
	imsg_free(&imsg);

	n = imsg_get(&b, &imsg);
	CHECK(n > 0 && imsg_get_type(&imsg) == 4 &&
	    imsg_get_strbuf(&imsg, s, sizeof(s)) == 0 &&
	    strcmp(s, "abcdefg") == 0, "roundtrip: composev joined");
	imsg_free(&imsg);

	n = imsg_get(&b, &imsg);
	CHECK(n == (ssize_t)IMSG_HEADER_SIZE + 8 && imsg_get_type(&imsg) == 5 &&
	    imsg_get_id(&imsg) == 9 && memcmp(imsg.data, "12345678", 8) == 0,
	    "roundtrip: create/add/close");
	imsg_free(&imsg);

	CHECK(imsg_get(&b, &imsg) == 0, "roundtrip: then nothing");
	CHECK(imsgbuf_get(&b, &imsg) == 0, "roundtrip: imsgbuf_get says 0");

	/* And the other way, on the same pair. */
	CHECK(imsg_compose(&b, 77, 3, 0, -1, "back", 4) == 1 &&
	    imsgbuf_flush(&b) == 0 && imsgbuf_read(&a) == 1 &&
	    imsgbuf_get(&a, &imsg) == 1 && imsg_get_type(&imsg) == 77 &&
	    memcmp(imsg.data, "back", 4) == 0, "roundtrip: reverse direction");
	imsg_free(&imsg);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_split(void)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	unsigned char	 wire[128];
	size_t		 cuts[] = { 1, 10, 16, 23, 41 }, len, len2, off;
	size_t		 i;
	int		 sv[2], ok;

	mkpair(sv);
	chan(&b, sv[1]);
	len = rawmsg(wire, 9, IMSG_HEADER_SIZE + 20, 5, 77,
	    "0123456789abcdefghij", 20);
	len2 = rawmsg(wire + len, 10, IMSG_HEADER_SIZE + 3, 6, 78, "xyz", 3);

	/* Pieces end inside the header, at its end, inside the payload. */
	ok = 1;
	off = 0;
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]) - 1; i++) {
		if (write(sv[0], wire + off, cuts[i] - off) !=
		    (ssize_t)(cuts[i] - off))
			die("write");
		off = cuts[i];
		if (imsgbuf_read(&b) != 1 || imsg_get(&b, &imsg) != 0)
			ok = 0;
	}
	CHECK(ok, "split: nothing until the message is complete");

	/* The last piece completes it and starts the next message. */
	if (write(sv[0], wire + off, 41 - off) != (ssize_t)(41 - off))
		die("write");
	CHECK(imsgbuf_read(&b) == 1, "split: last piece read");
	CHECK(imsg_get(&b, &imsg) == (ssize_t)len &&
	    imsg_get_type(&imsg) == 9 && imsg_get_id(&imsg) == 5 &&
	    imsg_get_pid(&imsg) == 77 && imsg_get_len(&imsg) == 20 &&
	    memcmp(imsg.data, "0123456789abcdefghij", 20) == 0,
	    "split: reassembled whole");
	imsg_free(&imsg);
	CHECK(imsg_get(&b, &imsg) == 0, "split: second message incomplete");

	if (write(sv[0], wire + 41, len + len2 - 41) !=
	    (ssize_t)(len + len2 - 41))
		die("write");
	CHECK(imsgbuf_read(&b) == 1 && imsg_get(&b, &imsg) == (ssize_t)len2 &&
	    imsg_get_type(&imsg) == 10 && memcmp(imsg.data, "xyz", 3) == 0,
	    "split: second message whole after its header was split");
	imsg_free(&imsg);
	CHECK(imsgbuf_read(&b) == 1 && imsg_get(&b, &imsg) == 0,
	    "split: nothing more, EAGAIN reads as 1");

	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_many(void)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	unsigned char	 wire[256];
	size_t		 len;
	int		 sv[2], ok;
	uint32_t	 t;

	mkpair(sv);
	chan(&b, sv[1]);
	len = rawmsg(wire, 1, IMSG_HEADER_SIZE + 4, 0, 0, "aaaa", 4);
	len += rawmsg(wire + len, 2, IMSG_HEADER_SIZE, 0, 0, NULL, 0);
	len += rawmsg(wire + len, 3, IMSG_HEADER_SIZE + 2, 0, 0, "cc", 2);
	if (write(sv[0], wire, len) != (ssize_t)len)
		die("write");

	CHECK(imsgbuf_read(&b) == 1, "many: one read");
	ok = 1;
	for (t = 1; t <= 3; t++) {
		if (imsg_get(&b, &imsg) <= 0 || imsg_get_type(&imsg) != t)
			ok = 0;
		else
			imsg_free(&imsg);
	}
	CHECK(ok, "many: three messages in order from one read");
	CHECK(imsg_get(&b, &imsg) == 0, "many: and no fourth");

	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fdpass(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	char		 buf[16];
	int		 sv[2], p[2], q1[2], q2[2], fd, fd2, i;

	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);

	mkpipe(p);
	CHECK(imsg_compose(&a, 10, 0, 0, p[1], "w", 1) == 1,
	    "fdpass: compose with a descriptor");
	CHECK(fd_is_open(p[1]), "fdpass: still ours while queued");
	CHECK(imsgbuf_flush(&a) == 0 && !fd_is_open(p[1]),
	    "fdpass: closed in the sender once sent");
	CHECK(imsgbuf_read(&b) == 1 && imsg_get(&b, &imsg) > 0 &&
	    imsg_get_type(&imsg) == 10, "fdpass: message received");
	fd = imsg_get_fd(&imsg);
	CHECK(fd >= 0, "fdpass: descriptor received");
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
	    "fdpass: received descriptor is close-on-exec");
	CHECK(imsg_get_fd(&imsg) == -1, "fdpass: claimed only once");
	CHECK(fd >= 0 && write(fd, "hello", 5) == 5 &&
	    read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0,
	    "fdpass: writing through it reaches the pipe");
	if (fd >= 0)
		close(fd);
	imsg_free(&imsg);
	CHECK(pipe_eof(p[0]), "fdpass: no copy of the write end left");
	close(p[0]);

	/* Descriptors stay with their messages among others. */
	mkpipe(q1);
	mkpipe(q2);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, "m1", 2) == 1 &&
	    imsg_compose(&a, 2, 0, 0, q1[1], "m2", 2) == 1 &&
	    imsg_compose(&a, 3, 0, 0, -1, "m3", 2) == 1 &&
	    imsg_compose(&a, 4, 0, 0, q2[1], NULL, 0) == 1 &&
	    imsgbuf_flush(&a) == 0, "fdpass: four messages, two with fds");
	fd = fd2 = -2;
	for (i = 1; i <= 4; i++) {
		if (pump(&a, &b, &imsg) <= 0 ||
		    imsg_get_type(&imsg) != (uint32_t)i)
			break;
		if (i == 2)
			fd = imsg_get_fd(&imsg);
		else if (i == 4)
			fd2 = imsg_get_fd(&imsg);
		else if (imsg_get_fd(&imsg) != -1)
			break;
		imsg_free(&imsg);
	}
	CHECK(i == 5 && fd >= 0 && fd2 >= 0,
	    "fdpass: each descriptor arrives with its own message");
	CHECK(fd >= 0 && write(fd, "1", 1) == 1 && fd2 >= 0 &&
	    write(fd2, "2", 1) == 1 && read(q1[0], buf, 2) == 1 &&
	    buf[0] == '1' && read(q2[0], buf, 2) == 1 && buf[0] == '2',
	    "fdpass: and they are the right ones");
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	close(q1[0]);
	close(q2[0]);

	/* imsg_free() closes a descriptor nobody claimed. */
	mkpipe(p);
	CHECK(imsg_compose(&a, 11, 0, 0, p[1], NULL, 0) == 1 &&
	    imsgbuf_flush(&a) == 0 && imsgbuf_read(&b) == 1 &&
	    imsg_get(&b, &imsg) > 0, "fdpass: unclaimed descriptor received");
	CHECK(!pipe_eof(p[0]), "fdpass: receiver holds it");
	imsg_free(&imsg);
	CHECK(pipe_eof(p[0]), "fdpass: imsg_free closed it");
	close(p[0]);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_refused(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	unsigned char	 wire[64];
	size_t		 len;
	int		 sv[2], p[2], q[2], r[2], fds[3];

	/* The receiver did not allow descriptors. */
	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&a);
	mkpipe(p);
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], "x", 1) == 1 &&
	    imsgbuf_flush(&a) == 0, "refused: sent with a descriptor");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "refused: read fails with EBADMSG");
	CHECK(imsg_get(&b, &imsg) == 0, "refused: no message delivered");
	CHECK(pipe_eof(p[0]), "refused: receiver closed the descriptor");
	close(p[0]);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* The sender did not allow them. */
	mkpair(sv);
	chan(&a, sv[0]);
	mkpipe(p);
	errno = 0;
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], "x", 1) == -1 &&
	    errno == EINVAL && imsgbuf_queuelen(&a) == 0,
	    "refused: compose without fdpass fails with EINVAL");
	CHECK(pipe_eof(p[0]), "refused: and closes the descriptor");
	close(p[0]);
	imsgbuf_clear(&a);
	close(sv[0]);
	close(sv[1]);

	/* A peer sends two descriptors at once. */
	mkpair(sv);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	mkpipe(p);
	mkpipe(q);
	fds[0] = p[1];
	fds[1] = q[1];
	len = rawmsg(wire, 1, (IMSG_HEADER_SIZE + 1) | 0x80000000U, 0, 0,
	    "x", 1);
	if (send_raw(sv[0], wire, len, fds, 2) != (ssize_t)len)
		die("sendmsg");
	close(p[1]);
	close(q[1]);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "refused: two descriptors in one message fail the read");
	CHECK(pipe_eof(p[0]) && pipe_eof(q[0]),
	    "refused: and both are closed");
	close(p[0]);
	close(q[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* Three at once: more than the control buffer holds (MSG_CTRUNC). */
	mkpair(sv);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	mkpipe(p);
	mkpipe(q);
	mkpipe(r);
	fds[0] = p[1];
	fds[1] = q[1];
	fds[2] = r[1];
	len = rawmsg(wire, 1, (IMSG_HEADER_SIZE + 1) | 0x80000000U, 0, 0,
	    "x", 1);
	if (send_raw(sv[0], wire, len, fds, 3) != (ssize_t)len)
		die("sendmsg");
	close(p[1]);
	close(q[1]);
	close(r[1]);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "refused: a truncated control message fails the read");
	CHECK(pipe_eof(p[0]) && pipe_eof(q[0]) && pipe_eof(r[0]),
	    "refused: and all three are closed");
	close(p[0]);
	close(q[0]);
	close(r[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* A descriptor no header asked for. */
	mkpair(sv);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	mkpipe(p);
	len = rawmsg(wire, 1, IMSG_HEADER_SIZE + 1, 0, 0, "x", 1);
	if (send_raw(sv[0], wire, len, &p[1], 1) != (ssize_t)len)
		die("sendmsg");
	close(p[1]);
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "refused: a descriptor for an unmarked message fails the read");
	CHECK(pipe_eof(p[0]), "refused: and it is closed");
	close(p[0]);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* A header that claims a descriptor which never came. */
	mkpair(sv);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	len = rawmsg(wire, 1, (IMSG_HEADER_SIZE + 1) | 0x80000000U, 0, 0,
	    "x", 1);
	if (write(sv[0], wire, len) != (ssize_t)len)
		die("write");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "refused: a marked message without a descriptor fails the read");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_oversize(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	struct ibuf	*msg;
	unsigned char	 wire[512];
	static unsigned char big[MAX_IMSGSIZE + 1];
	size_t		 len;
	int		 sv[2], p[2];

	mkpair(sv);
	chan(&a, sv[0]);
	imsgbuf_allow_fdpass(&a);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, big,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE) == 1,
	    "oversize: default maximum payload accepted");
	errno = 0;
	CHECK(imsg_compose(&a, 1, 0, 0, -1, big,
	    MAX_IMSGSIZE - IMSG_HEADER_SIZE + 1) == -1 && errno == ERANGE,
	    "oversize: one byte more fails with ERANGE");
	CHECK(imsgbuf_queuelen(&a) == 1, "oversize: nothing queued for it");
	mkpipe(p);
	CHECK(imsg_compose(&a, 1, 0, 0, p[1], big, sizeof(big)) == -1 &&
	    pipe_eof(p[0]), "oversize: failed compose closes its descriptor");
	close(p[0]);
	msg = imsg_create(&a, 1, 0, 0, 0);
	CHECK(msg != NULL && imsg_add(msg, big, sizeof(big)) == -1,
	    "oversize: imsg_add past the maximum fails");

	errno = 0;
	CHECK(imsgbuf_set_maxsize(&a, IMSG_MAXSIZE_LIMIT + 1) == -1 &&
	    errno == ERANGE, "oversize: set_maxsize above the limit refused");
	CHECK(imsgbuf_set_maxsize(&a, IMSG_MAXSIZE_LIMIT) == 0 &&
	    imsgbuf_set_maxsize(&a, 100) == 0,
	    "oversize: set_maxsize within the limit");
	CHECK(imsg_compose(&a, 1, 0, 0, -1, big, 100) == 1 &&
	    imsg_compose(&a, 1, 0, 0, -1, big, 101) == -1,
	    "oversize: the new maximum is the payload size");
	imsgbuf_clear(&a);
	close(sv[0]);
	close(sv[1]);

	/* A header announcing 2 GB. */
	mkpair(sv);
	chan(&b, sv[1]);
	len = rawmsg(wire, 1, 0x7ffffff0, 0, 0, NULL, 0);
	if (write(sv[0], wire, len) != (ssize_t)len)
		die("write");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && (errno == ERANGE || errno == EBADMSG),
	    "oversize: huge header length fails the read");
	CHECK(imsg_get(&b, &imsg) == 0, "oversize: no message");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* Every bit set. */
	mkpair(sv);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	len = rawmsg(wire, 1, UINT32_MAX, 0, 0, NULL, 0);
	if (write(sv[0], wire, len) != (ssize_t)len)
		die("write");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && (errno == ERANGE || errno == EBADMSG),
	    "oversize: length 0xffffffff fails the read");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* Shorter than a header. */
	mkpair(sv);
	chan(&b, sv[1]);
	len = rawmsg(wire, 1, IMSG_HEADER_SIZE - 1, 0, 0, NULL, 0);
	if (write(sv[0], wire, len) != (ssize_t)len)
		die("write");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == EBADMSG,
	    "oversize: length below the header size fails with EBADMSG");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* Within the sender's limit, above the receiver's. */
	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	if (imsgbuf_set_maxsize(&b, 100) == -1)
		die("imsgbuf_set_maxsize");
	CHECK(imsg_compose(&a, 1, 0, 0, -1, big, 100) == 1 &&
	    imsg_compose(&a, 2, 0, 0, -1, big, 200) == 1 &&
	    imsgbuf_flush(&a) == 0, "oversize: 100 and 200 bytes sent");
	errno = 0;
	CHECK(imsgbuf_read(&b) == -1 && errno == ERANGE,
	    "oversize: receiver limit enforced with ERANGE");
	CHECK(imsg_get(&b, &imsg) > 0 && imsg_get_len(&imsg) == 100,
	    "oversize: the message before it was fine");
	imsg_free(&imsg);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_truncated(void)
{
	struct imsgbuf	 b;
	struct imsg	 imsg;
	unsigned char	 wire[128], pad[84];
	int		 sv[2];

	memset(pad, 'p', sizeof(pad));
	mkpair(sv);
	chan(&b, sv[1]);
	(void)rawmsg(wire, 1, 100, 0, 0, pad, sizeof(pad));
	if (write(sv[0], wire, 40) != 40)
		die("write");
	close(sv[0]);
	CHECK(imsgbuf_read(&b) == 1 && imsg_get(&b, &imsg) == 0,
	    "truncated: 40 of 100 bytes deliver nothing");
	CHECK(imsgbuf_read(&b) == 0, "truncated: then end of file");
	CHECK(imsg_get(&b, &imsg) == 0, "truncated: and still no message");
	imsgbuf_clear(&b);
	close(sv[1]);

	/* A peer that simply goes away. */
	mkpair(sv);
	chan(&b, sv[1]);
	close(sv[0]);
	CHECK(imsgbuf_read(&b) == 0, "eof: closed peer reads as 0");
	imsgbuf_clear(&b);
	close(sv[1]);
}

static void
test_get_data(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	uint32_t	 v[3], w[2];
	unsigned char	 one;
	int		 sv[2];

	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	v[0] = 0xdeadbeef;
	v[1] = 42;
	v[2] = 7;
	if (imsg_compose(&a, 1, 0, 0, -1, v, 8) != 1 ||
	    imsg_compose(&a, 2, 0, 0, -1, NULL, 0) != 1 ||
	    imsg_compose(&a, 3, 0, 0, -1, v, 12) != 1 ||
	    imsgbuf_flush(&a) == -1 || imsgbuf_read(&b) != 1)
		die("setup");

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	errno = 0;
	CHECK(imsg_get_data(&imsg, w, 4) == -1 && errno == EBADMSG,
	    "get_data: shorter than the payload fails with EBADMSG");
	errno = 0;
	CHECK(imsg_get_data(&imsg, v, 12) == -1 && errno == EBADMSG,
	    "get_data: longer than the payload fails with EBADMSG");
	CHECK(imsg_get_data(&imsg, w, 8) == 0 && w[0] == 0xdeadbeef &&
	    w[1] == 42, "get_data: exact size succeeds");
	CHECK(imsg_get_len(&imsg) == 0, "get_data: payload consumed");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	CHECK(imsg_get_data(&imsg, w, 4) == -1 &&
	    imsg_get_data(&imsg, w, 0) == -1,
	    "get_data: empty payload never matches");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	CHECK(imsg_get_buf(&imsg, w, 4) == 0 && w[0] == 0xdeadbeef &&
	    imsg_get_len(&imsg) == 8, "get_buf: takes a prefix");
	CHECK(imsg_get_buf(&imsg, w, 8) == 0 && w[0] == 42 && w[1] == 7,
	    "get_buf: then the rest");
	errno = 0;
	CHECK(imsg_get_buf(&imsg, &one, 1) == -1 && errno == EBADMSG,
	    "get_buf: past the end fails");
	imsg_free(&imsg);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_strbuf(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	char		 s[16];
	int		 sv[2];

	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	if (imsg_compose(&a, 1, 0, 0, -1, "hello", 6) != 1 ||
	    imsg_compose(&a, 2, 0, 0, -1, "hello", 5) != 1 ||
	    imsg_compose(&a, 3, 0, 0, -1, "0123456789abcdef", 17) != 1 ||
	    imsg_compose(&a, 4, 0, 0, -1, "0123456789abcde", 16) != 1 ||
	    imsg_compose(&a, 5, 0, 0, -1, NULL, 0) != 1 ||
	    imsgbuf_flush(&a) == -1 || imsgbuf_read(&b) != 1)
		die("setup");

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	CHECK(imsg_get_strbuf(&imsg, s, sizeof(s)) == 0 &&
	    strcmp(s, "hello") == 0, "strbuf: terminated string copied");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	memset(s, 'x', sizeof(s));
	errno = 0;
	CHECK(imsg_get_strbuf(&imsg, s, sizeof(s)) == -1 && errno == EBADMSG,
	    "strbuf: no NUL fails with EBADMSG");
	CHECK(s[0] == '\0', "strbuf: and leaves an empty string");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	memset(s, 'x', sizeof(s));
	errno = 0;
	CHECK(imsg_get_strbuf(&imsg, s, sizeof(s)) == -1 &&
	    errno == EOVERFLOW && s[0] == '\0',
	    "strbuf: longer than the buffer fails with EOVERFLOW");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	CHECK(imsg_get_strbuf(&imsg, s, sizeof(s)) == 0 &&
	    strcmp(s, "0123456789abcde") == 0, "strbuf: exact fit");
	imsg_free(&imsg);

	if (imsg_get(&b, &imsg) <= 0)
		die("imsg_get");
	CHECK(imsg_get_strbuf(&imsg, s, sizeof(s)) == -1 && s[0] == '\0',
	    "strbuf: empty payload fails");
	imsg_free(&imsg);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_epipe(void)
{
	struct imsgbuf	 a;
	int		 sv[2];

	mkpair(sv);
	chan(&a, sv[0]);
	close(sv[1]);
	CHECK(imsg_compose(&a, 1, 0, 0, -1, "x", 1) == 1,
	    "epipe: compose to a closed peer still queues");
	errno = 0;
	CHECK(imsgbuf_write(&a) == -1 && errno == EPIPE,
	    "epipe: write fails with EPIPE, no SIGPIPE");
	CHECK(imsgbuf_queuelen(&a) == 1, "epipe: message still queued");
	errno = 0;
	CHECK(imsgbuf_flush(&a) == -1 && errno == EPIPE,
	    "epipe: flush fails the same way");
	imsgbuf_clear(&a);
	CHECK(imsgbuf_queuelen(&a) == 0, "epipe: clear empties the queue");
	close(sv[0]);
}

static void
test_partial_writes(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 imsg;
	static unsigned char big[150000], got[150000];
	unsigned char	 payload[1000];
	size_t		 i;
	uint32_t	 id;
	int		 sv[2], sz, ok;

	mkpair(sv);
	sz = 4096;
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == -1 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == -1)
		die("setsockopt");
	chan(&a, sv[0]);
	chan(&b, sv[1]);

	for (id = 0; id < 200; id++) {
		memset(payload, id & 0xff, sizeof(payload));
		if (imsg_compose(&a, 1, id, 0, -1, payload,
		    sizeof(payload)) != 1)
			die("imsg_compose");
	}
	CHECK(imsgbuf_write(&a) == 0 && imsgbuf_queuelen(&a) > 0,
	    "partial: full socket returns 0 and keeps the rest queued");
	CHECK(imsgbuf_write(&a) == 0, "partial: EAGAIN again is not an error");

	ok = 1;
	for (id = 0; id < 200 && ok; id++) {
		if (pump(&a, &b, &imsg) <= 0 || imsg_get_id(&imsg) != id ||
		    imsg_get_len(&imsg) != sizeof(payload)) {
			ok = 0;
			break;
		}
		memset(payload, id & 0xff, sizeof(payload));
		if (memcmp(imsg.data, payload, sizeof(payload)) != 0)
			ok = 0;
		imsg_free(&imsg);
	}
	CHECK(ok, "partial: 200 messages arrive whole and in order");
	CHECK(imsgbuf_queuelen(&a) == 0, "partial: queue drained");

	/* One message larger than a read and than the socket buffers. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = i % 251;
	if (imsgbuf_set_maxsize(&a, sizeof(big)) == -1 ||
	    imsgbuf_set_maxsize(&b, sizeof(big)) == -1)
		die("imsgbuf_set_maxsize");
	CHECK(imsg_compose(&a, 2, 0, 0, -1, big, sizeof(big)) == 1,
	    "partial: 150000 byte message composed");
	CHECK(pump(&a, &b, &imsg) == (int)(sizeof(big) + IMSG_HEADER_SIZE) &&
	    imsg_get_data(&imsg, got, sizeof(got)) == 0 &&
	    memcmp(got, big, sizeof(big)) == 0,
	    "partial: and received intact over many reads");
	imsg_free(&imsg);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_clear(void)
{
	struct imsgbuf	 a, b;
	unsigned char	 wire[64];
	size_t		 len;
	int		 sv[2], p[2];

	mkpair(sv);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&a);
	imsgbuf_allow_fdpass(&b);

	/* Queued, never sent. */
	mkpipe(p);
	if (imsg_compose(&a, 1, 0, 0, p[1], NULL, 0) != 1)
		die("imsg_compose");
	imsgbuf_clear(&a);
	CHECK(pipe_eof(p[0]) && imsgbuf_queuelen(&a) == 0,
	    "clear: closes a queued descriptor");
	imsgbuf_clear(&a);
	CHECK(imsgbuf_queuelen(&a) == 0, "clear: twice is harmless");
	errno = 0;
	CHECK(imsgbuf_read(&a) == -1 && errno == EINVAL,
	    "clear: reading afterwards fails cleanly");
	close(p[0]);

	/* Received whole, never taken. */
	chan(&a, sv[0]);
	imsgbuf_allow_fdpass(&a);
	mkpipe(p);
	if (imsg_compose(&a, 1, 0, 0, p[1], NULL, 0) != 1 ||
	    imsgbuf_flush(&a) == -1 || imsgbuf_read(&b) != 1)
		die("setup");
	CHECK(!pipe_eof(p[0]), "clear: receiver holds a descriptor");
	imsgbuf_clear(&b);
	CHECK(pipe_eof(p[0]), "clear: closes a received unclaimed one");
	close(p[0]);

	/* Received with a message that is still incomplete. */
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	mkpipe(p);
	len = rawmsg(wire, 1, (IMSG_HEADER_SIZE + 10) | 0x80000000U, 0, 0,
	    "abc", 3);
	if (send_raw(sv[0], wire, len, &p[1], 1) != (ssize_t)len)
		die("sendmsg");
	close(p[1]);
	CHECK(imsgbuf_read(&b) == 1 && !pipe_eof(p[0]),
	    "clear: partial message holds its descriptor");
	imsgbuf_clear(&b);
	CHECK(pipe_eof(p[0]), "clear: closes the partial message's one");
	close(p[0]);

	/* Received with a header that is still incomplete. */
	chan(&b, sv[1]);
	imsgbuf_allow_fdpass(&b);
	mkpipe(p);
	(void)rawmsg(wire, 1, (IMSG_HEADER_SIZE + 10) | 0x80000000U, 0, 0,
	    NULL, 0);
	if (send_raw(sv[0], wire, 8, &p[1], 1) != 8)
		die("sendmsg");
	close(p[1]);
	CHECK(imsgbuf_read(&b) == 1 && !pipe_eof(p[0]),
	    "clear: half a header holds its descriptor");
	imsgbuf_clear(&b);
	CHECK(pipe_eof(p[0]), "clear: closes the waiting descriptor");
	close(p[0]);

	imsgbuf_clear(&a);
	close(sv[0]);
	close(sv[1]);
}

static void
test_forward(void)
{
	struct imsgbuf	 a, b, c, d;
	struct imsg	 imsg, fwd;
	int		 sv[2], sv2[2];

	mkpair(sv);
	mkpair(sv2);
	chan(&a, sv[0]);
	chan(&b, sv[1]);
	chan(&c, sv2[0]);
	chan(&d, sv2[1]);
	if (imsg_compose(&a, 33, 44, 55, -1, "payload", 7) != 1 ||
	    imsgbuf_flush(&a) == -1 || imsgbuf_read(&b) != 1 ||
	    imsg_get(&b, &imsg) <= 0)
		die("setup");
	CHECK(imsg_forward(&c, &imsg) == 1 && imsgbuf_flush(&c) == 0,
	    "forward: queued and sent");
	CHECK(imsgbuf_read(&d) == 1 && imsg_get(&d, &fwd) > 0 &&
	    imsg_get_type(&fwd) == 33 && imsg_get_id(&fwd) == 44 &&
	    imsg_get_pid(&fwd) == 55 && imsg_get_len(&fwd) == 7 &&
	    memcmp(fwd.data, "payload", 7) == 0, "forward: arrives unaltered");
	imsg_free(&fwd);
	imsg_free(&imsg);
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	imsgbuf_clear(&c);
	imsgbuf_clear(&d);
	close(sv[0]);
	close(sv[1]);
	close(sv2[0]);
	close(sv2[1]);
}

/* Descriptors above stdio that are open: leaks show up here. */
static int
open_fds(void)
{
	int	fd, n = 0;

	for (fd = 3; fd < 256; fd++)
		if (fd_is_open(fd))
			n++;
	return n;
}

int
main(void)
{
	int	before;

	alarm(60);
	before = open_fds();
	CHECK(IMSG_HEADER_SIZE == 16, "header is 16 bytes");
	test_roundtrip();
	test_split();
	test_many();
	test_fdpass();
	test_fd_refused();
	test_oversize();
	test_truncated();
	test_get_data();
	test_strbuf();
	test_epipe();
	test_partial_writes();
	test_clear();
	test_forward();
	CHECK(open_fds() == before, "no descriptor leaked");
	return regress_done();
}
