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
 * What every process of brokerd does the same way: an imsg channel
 * driven by libevent, starting a program image on a channel, dropping
 * privileges, and leaving when a peer goes away.
 */

#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

#include <event.h>

#include "imsg.h"
#include "proto.h"

struct imsgev {
	struct imsgbuf		 ibuf;
	void			(*handler)(int, short, void *);
	struct event		 ev;
	void			*data;
	short			 events;
	const char		*name;	/* the peer, for log lines */
};

/* A set of processes, for proc_add_peer(). */
#define PROC_MASK(id)		(1U << (id))

struct privdrop {
	uid_t			 uid;
	gid_t			 gid;
	const char		*chroot;	/* NULL: no chroot */
};

const char	*proc_name(enum proc_id);
struct imsgev	*proc_channel(int, const char *, int,
		    void (*)(int, short, void *), void *);
void		 imsg_event_add(struct imsgev *);
int		 imsg_compose_event(struct imsgev *, uint32_t, uint32_t,
		    int, const void *, size_t);
int		 proc_channel_io(struct imsgev *, short);
int		 proc_imsg_next(struct imsgev *, struct imsg *);
void		 proc_add_peer(struct imsg *, struct imsgev *[PROC_MAX],
		    unsigned int, unsigned int, void (*)(int, short, void *));
pid_t		 proc_exec(const char *, char *const [], int);
void		 proc_privdrop(const struct privdrop *);
void		 proc_child_signals(void);

#endif /* PROC_H */
