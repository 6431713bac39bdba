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


#ifndef SPAWND_H
#define SPAWND_H

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>

#include "proto.h"

#define MCP_ARGS_MAX		PROTO_MCP_ARGS
#define MCP_PATHS_MAX		16

/*
 * A child is closed in steps: stdin EOF first (http closes its end),
 * then SIGTERM to its process group, then SIGKILL.
 */
#define CHILD_TERM_GRACE	2	/* seconds after close, to SIGTERM */
#define CHILD_KILL_GRACE	2	/* seconds after SIGTERM, to SIGKILL */
#define CHILD_STDERR_LINE	1024	/* longer lines are cut */
#define CHILD_STDERR_BURST	20	/* lines logged per second and child */

struct imsgev;

struct child {
	TAILQ_ENTRY(child)	 entry;
	char			 session_id[PROTO_SESSION_MAX];
	char			 username[PROTO_NAME_MAX];
	int64_t			 user_id;
	pid_t			 pid;		/* also its process group */
	int			 errfd;		/* its stderr, or -1 */
	struct event		 ev_err;
	struct event		 ev_stop;
	int			 stopping;	/* 0, 1 TERM sent, 2 KILL */
	char			 line[CHILD_STDERR_LINE];
	size_t			 linelen;
	char			 last[PROTO_DESC_MAX];
	time_t			 burst_start;
	int			 burst_lines;
	int			 dropped;
};
TAILQ_HEAD(children, child);

struct spawnd_env {
	struct cfg_spawnd	 cfg;
	struct imsgev		*iev[PROC_MAX];
	char			*argv[MCP_ARGS_MAX + 1];
	int			 argc;
	char			*paths[MCP_PATHS_MAX + 1];
	int			 npaths;
	struct children		 children;
	int			 nchildren;
	int			 configured;
};

extern struct spawnd_env	 spawnd_env;

/* child.c */
void	 child_spawn(struct spawn_req *);
void	 child_close(const char *);
void	 child_reap(void);
void	 child_kill_all(void);
void	 child_redact(char *);

#endif /* SPAWND_H */
