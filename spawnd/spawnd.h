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
 * then SIGTERM to its process group, then SIGKILL.  A child replaced
 * after a token refresh is retired: http closes its stdin once its
 * requests are answered, and it is stopped the same way if it is still
 * there CHILD_RETIRE_TERM seconds later.  The children of a revoked
 * grant get SIGTERM at once.
 */
#define CHILD_TERM_GRACE	2	/* seconds after close, to SIGTERM */
#define CHILD_KILL_GRACE	2	/* seconds after SIGTERM, to SIGKILL */
#define CHILD_RETIRE_TERM	30	/* seconds after retirement, to TERM */
#define CHILD_RETIRE_KILL	5	/* seconds after that TERM, to KILL */
#define CHILD_REVOKED_KILL	1	/* seconds after a revocation's TERM */
#define CHILD_STDERR_LINE	1024	/* longer lines are cut */
#define CHILD_STDERR_BURST	20	/* lines logged per second and child */

/*
 * Crash loops.  A child that fails on its own (a non-zero status or a
 * signal, before anybody asked it to go) within CHILD_EARLY_EXIT
 * seconds of its start, for the CHILD_EARLY_MAX-th time in a row for
 * one user, stops that user's spawns for CHILD_BACKOFF_MIN seconds,
 * doubled by each further early failure up to CHILD_BACKOFF_MAX.  A
 * child that lives longer ends it.
 */
#define CHILD_EARLY_EXIT	5	/* seconds */
#define CHILD_EARLY_MAX		3
#define CHILD_BACKOFF_MIN	10	/* seconds */
#define CHILD_BACKOFF_MAX	300	/* seconds */

struct imsgev;

struct child {
	TAILQ_ENTRY(child)	 entry;
	char			 session_id[PROTO_SESSION_MAX];
	char			 grant_id[65];
	char			 username[PROTO_NAME_MAX];
	int64_t			 user_id;
	pid_t			 pid;		/* also its process group */
	int64_t			 started;	/* child_clock() at fork */
	int			 errfd;		/* its stderr, or -1 */
	struct event		 ev_err;
	struct event		 ev_stop;
	int			 stopping;	/* 0, 1 TERM sent, 2 KILL */
	int			 kill_grace;	/* seconds from TERM to KILL */
	int			 retired;	/* replaced; no SESSION_EXIT */
	int			 closing;	/* we asked it to go */
	int			 replace;	/* marked by a token update */
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
	int			 nchildren;	/* retired ones included */
	int			 configured;
};

extern struct spawnd_env	 spawnd_env;

/* child.c */
void	 child_spawn(struct spawn_req *);
void	 child_close(const char *, int);
void	 child_token_update(struct token_update *);
void	 child_grant_revoked(const char *);
void	 child_reap(void);
void	 child_kill_all(void);
void	 child_redact(char *);

/* child.c, for regress only: move the clock, shorten retirement */
void	 child_set_clock_offset(long);
void	 child_set_retire_grace(int, int);

#endif /* SPAWND_H */
