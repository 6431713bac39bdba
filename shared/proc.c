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


#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

static const char *const proc_names[PROC_MAX] = {
	[PROC_PARENT] = "parent",
	[PROC_HTTP] = "http",
	[PROC_TOKEND] = "tokend",
	[PROC_SPAWND] = "spawnd",
};

const char *
proc_name(enum proc_id id)
{
	if (id < 0 || id >= PROC_MAX)
		return "unknown";
	return proc_names[id];
}

/*
 * Wrap one end of a socketpair in an imsg channel served by libevent.
 * Only channels that carry descriptors allow fd passing.
 */
struct imsgev *
proc_channel(int fd, const char *name, int fdpass,
    void (*handler)(int, short, void *), void *data)
{
	struct imsgev	*iev;

	if ((iev = calloc(1, sizeof(*iev))) == NULL)
		fatal("%s", __func__);
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		fatal("%s: imsgbuf_init", __func__);
	if (fdpass)
		imsgbuf_allow_fdpass(&iev->ibuf);
	if (imsgbuf_set_maxsize(&iev->ibuf, PROTO_MAX_PAYLOAD) == -1)
		fatal("%s: imsgbuf_set_maxsize", __func__);
	iev->handler = handler;
	iev->data = data;
	iev->name = name;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
	return iev;
}

void
imsg_event_add(struct imsgev *iev)
{
	iev->events = EV_READ;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		iev->events |= EV_WRITE;
	event_del(&iev->ev);
	event_set(&iev->ev, iev->ibuf.fd, iev->events, iev->handler, iev);
	event_add(&iev->ev, NULL);
}

int
imsg_compose_event(struct imsgev *iev, uint32_t type, uint32_t peerid,
    int fd, const void *data, size_t datalen)
{
	int	ret;

	if ((ret = imsg_compose(&iev->ibuf, type, peerid, 0, fd, data,
	    datalen)) == -1)
		return -1;
	imsg_event_add(iev);
	return ret;
}

/*
 * The read and write half of every dispatch function.  Returns -1 when
 * the peer has gone away, which every caller treats as the end of the
 * daemon; any other failure means a bug or a compromised peer.
 */
int
proc_channel_io(struct imsgev *iev, short event)
{
	if (event & EV_READ) {
		switch (imsgbuf_read(&iev->ibuf)) {
		case -1:
			fatal("%s: imsgbuf_read from %s", __func__, iev->name);
		case 0:
			return -1;
		}
	}
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno == EPIPE)
				return -1;
			fatal("%s: imsgbuf_write to %s", __func__, iev->name);
		}
	}
	return 0;
}

/*
 * The next message read from a channel: 1, or 0 once none is complete.
 * A message that cannot be parsed comes from a bug or a compromised
 * peer, so it ends the daemon.
 */
int
proc_imsg_next(struct imsgev *iev, struct imsg *imsg)
{
	ssize_t	 n;

	if ((n = imsg_get(&iev->ibuf, imsg)) == -1)
		fatal("%s: imsg_get from %s", __func__, iev->name);
	return n != 0;
}

/*
 * Take the channel to a sibling that the parent passes in
 * IMSG_CTL_PROCFD.  The parent is trusted but checked all the same: the
 * sibling must be one in peers and come only once, and only the
 * channels in fdpass (those that carry a child's stdio) pass descriptors.
 */
void
proc_add_peer(struct imsg *imsg, struct imsgev *iev[PROC_MAX],
    unsigned int peers, unsigned int fdpass,
    void (*handler)(int, short, void *))
{
	struct ctl_procfd	 pf;
	int			 fd;

	if (imsg_get_data(imsg, &pf, sizeof(pf)) == -1 ||
	    pf.peer < 0 || pf.peer >= PROC_MAX ||
	    (peers & PROC_MASK(pf.peer)) == 0 || iev[pf.peer] != NULL)
		fatalx("%s: bad IMSG_CTL_PROCFD", __func__);
	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("%s: IMSG_CTL_PROCFD without a socket", __func__);
	iev[pf.peer] = proc_channel(fd, proc_name(pf.peer),
	    (fdpass & PROC_MASK(pf.peer)) != 0, handler, NULL);
}

/*
 * Start a program image with its channel to us on PROC_PARENT_FD.  Every
 * other descriptor is close-on-exec or closed here, so the new image
 * starts with stdio and its channel only.
 */
pid_t
proc_exec(const char *path, char *const argv[], int fd)
{
	pid_t	pid;

	switch (pid = fork()) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		break;
	default:
		return pid;
	}

	if (fd == PROC_PARENT_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			fatal("%s: fcntl", __func__);
	} else if (dup2(fd, PROC_PARENT_FD) == -1)
		fatal("%s: dup2", __func__);
	closefrom(PROC_PARENT_FD + 1);
	execv(path, argv);
	fatal("%s: exec %s", __func__, path);
}

/*
 * Chroot if asked, then give up root for good.  Started as another user
 * (a developer's run) the privileges are kept: the parent has said so
 * in the log once.
 */
void
proc_privdrop(const struct privdrop *pd)
{
	if (geteuid() != 0)
		return;
	if (pd->chroot != NULL) {
		if (chroot(pd->chroot) == -1)
			fatal("chroot %s", pd->chroot);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &pd->gid) == -1 ||
	    setresgid(pd->gid, pd->gid, pd->gid) == -1 ||
	    setresuid(pd->uid, pd->uid, pd->uid) == -1)
		fatal("cannot drop privileges");
	if (setuid(0) != -1 || geteuid() == 0)
		fatalx("privileges were not dropped");
}

/*
 * Children leave reload and broken pipes to the parent, and never dump
 * core: their memory holds tokens and secrets.
 */
void
proc_child_signals(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
}
