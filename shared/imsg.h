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
 * Typed messages over a local stream socket, with the API of OpenBSD's
 * libutil imsg (the imsgbuf_* generation of late 2024), written for
 * this project so that every platform runs the same code.
 *
 * On the wire a message is a struct imsg_hdr in host byte order (both
 * ends are on one machine) followed by its payload; hdr.len counts both.
 * The top bit of hdr.len says that a descriptor travels with the
 * message: it is sent as SCM_RIGHTS with the first byte of the message.
 *
 * Where this differs from OpenBSD:
 *  - imsgbuf_set_maxsize() accepts at most IMSG_MAXSIZE_LIMIT bytes of
 *    payload, so that a peer can never make us allocate more than that.
 *  - imsg_compose() and imsg_composev() refuse a descriptor (EINVAL,
 *    after closing it) unless imsgbuf_allow_fdpass() was called.
 *  - A receiver that did not allow fd passing fails imsgbuf_read() with
 *    EBADMSG when a descriptor arrives, after closing it.
 *  - imsg_get_strbuf() takes the rest of the payload, which must end in
 *    a NUL and fit in the buffer; OpenBSD reads exactly len bytes.
 *  - imsgbuf_flush() waits with poll(2) instead of spinning when the
 *    socket is non-blocking.
 *  - Payload memory is zeroed before it is freed: tokens cross channels.
 */

#ifndef IMSG_H
#define IMSG_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>

#define IMSG_HEADER_SIZE	sizeof(struct imsg_hdr)
#define MAX_IMSGSIZE		16384		/* default, header included */
#define IMSG_MAXSIZE_LIMIT	(1024 * 1024)	/* largest payload allowed */

struct ibuf {
	TAILQ_ENTRY(ibuf)	 entry;
	unsigned char		*buf;
	size_t			 size;		/* allocated */
	size_t			 max;		/* size may grow up to this */
	size_t			 wpos;		/* end of the data */
	size_t			 rpos;		/* next byte to read or send */
	int			 fd;		/* travels with it, or -1 */
};

struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;
	uint32_t		 queued;	/* messages in bufs */
};

struct imsg_hdr {
	uint32_t		 type;
	uint32_t		 len;		/* header included */
	uint32_t		 peerid;
	uint32_t		 pid;
};

struct imsgbuf {
	struct msgbuf		 w;		/* waiting to be sent */
	TAILQ_HEAD(, ibuf)	 rq;		/* received, for imsg_get() */
	struct ibuf		*rmsg;		/* message being received */
	unsigned char		*rbuf;		/* for one recvmsg(2) */
	unsigned char		 rhdr[IMSG_HEADER_SIZE];
	size_t			 rhdrlen;	/* bytes of rhdr received */
	int			 rfds[2];	/* received, not yet claimed */
	int			 nrfds;
	int			 fd;		/* socket, never closed here */
	pid_t			 pid;
	uint32_t		 maxsize;	/* header included */
	int			 flags;
};

struct imsg {
	struct imsg_hdr		 hdr;
	void			*data;		/* payload, NULL if empty */
	struct ibuf		*buf;		/* payload and descriptor */
};

struct iovec;

/* Buffers. */
struct ibuf	*ibuf_open(size_t);
struct ibuf	*ibuf_dynamic(size_t, size_t);
int		 ibuf_add(struct ibuf *, const void *, size_t);
void		*ibuf_reserve(struct ibuf *, size_t);
void		*ibuf_data(const struct ibuf *);
size_t		 ibuf_size(const struct ibuf *);
size_t		 ibuf_left(const struct ibuf *);
void		 ibuf_free(struct ibuf *);

/* Channels. */
int		 imsgbuf_init(struct imsgbuf *, int);
void		 imsgbuf_allow_fdpass(struct imsgbuf *);
int		 imsgbuf_set_maxsize(struct imsgbuf *, uint32_t);
int		 imsgbuf_read(struct imsgbuf *);
int		 imsgbuf_write(struct imsgbuf *);
int		 imsgbuf_flush(struct imsgbuf *);
void		 imsgbuf_clear(struct imsgbuf *);
uint32_t	 imsgbuf_queuelen(struct imsgbuf *);
int		 imsgbuf_get(struct imsgbuf *, struct imsg *);

/* Messages. */
ssize_t		 imsg_get(struct imsgbuf *, struct imsg *);
uint32_t	 imsg_get_type(struct imsg *);
uint32_t	 imsg_get_id(struct imsg *);
pid_t		 imsg_get_pid(struct imsg *);
size_t		 imsg_get_len(struct imsg *);
int		 imsg_get_fd(struct imsg *);
int		 imsg_get_data(struct imsg *, void *, size_t);
int		 imsg_get_buf(struct imsg *, void *, size_t);
int		 imsg_get_strbuf(struct imsg *, char *, size_t);
void		 imsg_free(struct imsg *);
int		 imsg_compose(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
		    const void *, size_t);
int		 imsg_composev(struct imsgbuf *, uint32_t, uint32_t, pid_t, int,
		    const struct iovec *, int);
int		 imsg_forward(struct imsgbuf *, struct imsg *);
struct ibuf	*imsg_create(struct imsgbuf *, uint32_t, uint32_t, pid_t,
		    size_t);
int		 imsg_add(struct ibuf *, const void *, size_t);
void		 imsg_close(struct imsgbuf *, struct ibuf *);

#endif /* IMSG_H */
