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
 * The children: one MCP server per user session.  Each is started in a
 * process group of its own, as the unprivileged user, with exactly the
 * environment brokerd.8 documents, stdio on one socket whose other end
 * goes to the http process, and stderr read here for the log.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "spawnd.h"

#define CHILD_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"

/*
 * A user whose children keep failing at start.  There is one only while
 * a user has failed starts to remember.
 */
struct startloop {
	TAILQ_ENTRY(startloop)	 entry;
	int64_t			 user_id;
	int			 early;		/* failed starts in a row */
	int			 backoff;	/* seconds, 0: none yet */
	int64_t			 until;		/* child_clock(), in ms */
	char			 last[PROTO_DESC_MAX];
};
TAILQ_HEAD(startloops, startloop);

static struct child	*child_find(const char *);
static struct child	*child_bypid(pid_t);
static struct child	*child_start(const char *, const char *, int64_t,
			    const char *, const char *, int *);
static void		 child_exec(int, int, char *const []) __dead;
static void		 child_limits(void);
static void		 child_replace(struct child *, const char *);
static void		 child_term(struct child *, int);
static void		 child_stderr(int, short, void *);
static void		 child_stderr_line(struct child *);
static void		 child_stop(int, short, void *);
static void		 child_fail(const char *, int, const char *);
static void		 child_free(struct child *);
static int64_t		 child_clock(void);
static int		 child_sessions(void);
static struct startloop	*loop_find(int64_t);
static void		 loop_reset(int64_t, const char *);
static int		 loop_refuse(int64_t, const char *, char *, size_t);
static int		 loop_failed(struct child *, char *, size_t);
static void		 loop_reason(const char *, char *, size_t);

static struct startloops	 loops = TAILQ_HEAD_INITIALIZER(loops);
static long			 clock_offset;	/* seconds, regress only */
static int			 retire_term = CHILD_RETIRE_TERM;
static int			 retire_kill = CHILD_RETIRE_KILL;

/* The current child of a session; retired ones are not found. */
static struct child *
child_find(const char *session_id)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		if (!ch->retired && strcmp(ch->session_id, session_id) == 0)
			return ch;
	return NULL;
}

static struct child *
child_bypid(pid_t pid)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		if (ch->pid == pid)
			return ch;
	return NULL;
}

/* Milliseconds of the monotonic clock, for lifetimes and backoffs. */
static int64_t
child_clock(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec + clock_offset) * 1000 +
	    ts.tv_nsec / 1000000;
}

void
child_set_clock_offset(long seconds)
{
	clock_offset = seconds;
}

void
child_set_retire_grace(int term, int kill)
{
	retire_term = term > 0 ? term : CHILD_RETIRE_TERM;
	retire_kill = kill > 0 ? kill : CHILD_RETIRE_KILL;
}

/* Sessions with a child, for the limit: retired children do not count. */
static int
child_sessions(void)
{
	struct child	*ch;
	int		 n = 0;

	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		if (!ch->retired)
			n++;
	return n;
}

static void
child_fail(const char *session_id, int status, const char *reason)
{
	struct session_fail	 sf;

	memset(&sf, 0, sizeof(sf));
	strlcpy(sf.session_id, session_id, sizeof(sf.session_id));
	sf.status = status;
	strlcpy(sf.reason, reason, sizeof(sf.reason));
	if (imsg_compose_event(spawnd_env.iev[PROC_HTTP], IMSG_SESSION_FAIL,
	    0, -1, &sf, sizeof(sf)) == -1)
		fatal("%s", __func__);
}

/*
 * Limits of every child, from brokerd.conf; no core dumps, since a
 * child's memory holds the user's Forgejo token.
 */
static void
child_limits(void)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = rl.rlim_max =
	    (rlim_t)spawnd_env.cfg.limit_data * 1024 * 1024;
	(void)setrlimit(RLIMIT_DATA, &rl);
	rl.rlim_cur = rl.rlim_max = spawnd_env.cfg.limit_files;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max = spawnd_env.cfg.limit_procs;
	(void)setrlimit(RLIMIT_NPROC, &rl);
	rl.rlim_cur = rl.rlim_max = spawnd_env.cfg.limit_cpu;
	(void)setrlimit(RLIMIT_CPU, &rl);
}

/* In the forked child: become the MCP server.  Never returns. */
static void
child_exec(int io, int err, char *const envp[])
{
	sigset_t	 mask;
	int		 sig;

	if (setsid() == -1)
		_exit(126);
	if (dup2(io, STDIN_FILENO) == -1 || dup2(io, STDOUT_FILENO) == -1 ||
	    dup2(err, STDERR_FILENO) == -1)
		_exit(126);
	closefrom(STDERR_FILENO + 1);
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&mask);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	child_limits();
	execve(spawnd_env.argv[0], spawnd_env.argv, envp);
	dprintf(STDERR_FILENO, "exec %s: %s\n", spawnd_env.argv[0],
	    strerror(errno));
	_exit(127);
}

/*
 * Start a child with token in its environment, which is built here and
 * cleared before returning.  Returns the child, with the http end of
 * its stdio in *fdp, or NULL.
 */
static struct child *
child_start(const char *session_id, const char *grant_id, int64_t user_id,
    const char *username, const char *token, int *fdp)
{
	struct child_pg		 pg;
	struct child		*ch = NULL;
	char			*envp[6];
	int			 io[2], err[2], i;
	pid_t			 pid;

	memset(envp, 0, sizeof(envp));
	if (asprintf(&envp[0], "FORGEJO_URL=%s",
	    spawnd_env.cfg.forgejo_url) == -1 ||
	    asprintf(&envp[1], "FORGEJO_ACCESS_TOKEN=%s", token) == -1 ||
	    (envp[2] = strdup(CHILD_PATH)) == NULL ||
	    asprintf(&envp[3], "HOME=%s", spawnd_env.cfg.home) == -1 ||
	    (envp[4] = strdup("LANG=C.UTF-8")) == NULL)
		fatal("%s", __func__);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) == -1) {
		log_warn("%s: socketpair", __func__);
		goto done;
	}
	if (pipe2(err, O_CLOEXEC) == -1) {
		log_warn("%s: pipe2", __func__);
		close(io[0]);
		close(io[1]);
		goto done;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		close(io[0]);
		close(io[1]);
		close(err[0]);
		close(err[1]);
		goto done;
	case 0:
		child_exec(io[1], err[1], envp);
		/* NOTREACHED */
	}
	close(io[1]);
	close(err[1]);

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		fatal("%s", __func__);
	strlcpy(ch->session_id, session_id, sizeof(ch->session_id));
	strlcpy(ch->grant_id, grant_id, sizeof(ch->grant_id));
	strlcpy(ch->username, username, sizeof(ch->username));
	ch->user_id = user_id;
	ch->pid = pid;
	ch->started = child_clock();
	ch->kill_grace = CHILD_KILL_GRACE;
	ch->errfd = err[0];
	if (fcntl(ch->errfd, F_SETFL, O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	event_set(&ch->ev_err, ch->errfd, EV_READ | EV_PERSIST,
	    child_stderr, ch);
	event_add(&ch->ev_err, NULL);
	evtimer_set(&ch->ev_stop, child_stop, ch);
	TAILQ_INSERT_TAIL(&spawnd_env.children, ch, entry);
	spawnd_env.nchildren++;
	*fdp = io[0];

	pg.pgid = pid;
	if (imsg_compose_event(spawnd_env.iev[PROC_PARENT],
	    IMSG_CHILD_STARTED, 0, -1, &pg, sizeof(pg)) == -1)
		fatal("%s", __func__);
done:
	for (i = 0; envp[i] != NULL; i++)
		freezero(envp[i], strlen(envp[i]) + 1);
	return ch;
}

/*
 * Start the child of one session, unless the user's children keep
 * failing at start.  The token lives in the request, cleared before
 * returning.
 */
void
child_spawn(struct spawn_req *req)
{
	struct session_ready	 sr;
	struct child		*ch;
	char			 reason[PROTO_DESC_MAX];
	int			 fd, left;

	req->session_id[sizeof(req->session_id) - 1] = '\0';
	req->grant_id[sizeof(req->grant_id) - 1] = '\0';
	req->username[sizeof(req->username) - 1] = '\0';
	req->forgejo_token[sizeof(req->forgejo_token) - 1] = '\0';
	if (child_find(req->session_id) != NULL)
		fatalx("%s: session spawned twice", __func__);
	if ((left = loop_refuse(req->user_id, req->username, reason,
	    sizeof(reason))) > 0) {
		log_debug("user %s: session %.8s refused for %d s more, the "
		    "MCP server keeps failing at start", req->username,
		    req->session_id, left);
		child_fail(req->session_id, 503, reason);
		goto done;
	}
	if (child_sessions() >= (int)spawnd_env.cfg.max_sessions) {
		child_fail(req->session_id, 503, "too many sessions");
		goto done;
	}
	if ((ch = child_start(req->session_id, req->grant_id, req->user_id,
	    req->username, req->forgejo_token, &fd)) == NULL) {
		child_fail(req->session_id, 503, "cannot start a server");
		goto done;
	}
	memset(&sr, 0, sizeof(sr));
	strlcpy(sr.session_id, ch->session_id, sizeof(sr.session_id));
	sr.pid = ch->pid;
	if (imsg_compose_event(spawnd_env.iev[PROC_HTTP], IMSG_SESSION_READY,
	    0, fd, &sr, sizeof(sr)) == -1)
		fatal("%s", __func__);
	log_info("started child %d for user %s, session %.8s", ch->pid,
	    ch->username, ch->session_id);
done:
	explicit_bzero(req, sizeof(*req));
}

/*
 * tokend refreshed the Forgejo token of a grant: every session of the
 * grant gets a new child with it, and http the new child's stdio.  The
 * old child is retired; http closes it once it has answered what it
 * was asked.  The children started here are marked nowhere, so they
 * are not replaced again.
 */
void
child_token_update(struct token_update *tu)
{
	struct child	*ch;

	tu->grant_id[sizeof(tu->grant_id) - 1] = '\0';
	tu->forgejo_token[sizeof(tu->forgejo_token) - 1] = '\0';
	if (tu->grant_id[0] == '\0' || tu->forgejo_token[0] == '\0') {
		log_warnx("%s: token update without a grant or a token",
		    __func__);
		goto done;
	}
	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		ch->replace = !ch->retired && !ch->closing && !ch->stopping &&
		    strcmp(ch->grant_id, tu->grant_id) == 0;
	TAILQ_FOREACH(ch, &spawnd_env.children, entry) {
		if (!ch->replace)
			continue;
		ch->replace = 0;
		child_replace(ch, tu->forgejo_token);
	}
done:
	explicit_bzero(tu, sizeof(*tu));
}

static void
child_replace(struct child *old, const char *token)
{
	struct session_ready	 sr;
	struct timeval		 tv;
	struct child		*ch;
	int			 fd;

	if ((ch = child_start(old->session_id, old->grant_id, old->user_id,
	    old->username, token, &fd)) == NULL) {
		log_warnx("session %.8s of user %s: cannot start a "
		    "replacement, child %d keeps the old token",
		    old->session_id, old->username, old->pid);
		return;
	}
	memset(&sr, 0, sizeof(sr));
	strlcpy(sr.session_id, ch->session_id, sizeof(sr.session_id));
	sr.pid = ch->pid;
	if (imsg_compose_event(spawnd_env.iev[PROC_HTTP],
	    IMSG_SESSION_REPLACE, 0, fd, &sr, sizeof(sr)) == -1)
		fatal("%s", __func__);

	old->retired = 1;
	old->kill_grace = retire_kill;
	evtimer_del(&old->ev_stop);
	timerclear(&tv);
	tv.tv_sec = retire_term;
	evtimer_add(&old->ev_stop, &tv);
	log_info("session %.8s of user %s: replaced child %d by %d",
	    ch->session_id, ch->username, old->pid, ch->pid);
}

/*
 * http has closed its end of the session's stdio, so its children see
 * EOF.  Give them time to finish, then SIGTERM, then SIGKILL; with now,
 * SIGTERM at once.  Retired children of the session go the same way.
 *
 * A child that has exited already is reaped first: http closed the
 * session because the child went (its stdio closed), and that exit is
 * the child's own doing, a failure if it was one.  A child that exits
 * after this, because its stdio is gone, is not to blame.
 */
void
child_close(const char *session_id, int now)
{
	struct timeval	 tv = { CHILD_TERM_GRACE, 0 };
	struct child	*ch;
	int		 was;

	child_reap();
	TAILQ_FOREACH(ch, &spawnd_env.children, entry) {
		if (strcmp(ch->session_id, session_id) != 0)
			continue;
		was = ch->closing;
		ch->closing = 1;
		if (ch->stopping)
			continue;
		if (now) {
			child_term(ch, CHILD_KILL_GRACE);
			continue;
		}
		if (was)
			continue;
		/* A retired child's longer wait is cut short. */
		evtimer_del(&ch->ev_stop);
		ch->kill_grace = CHILD_KILL_GRACE;
		evtimer_add(&ch->ev_stop, &tv);
	}
}

/*
 * tokend says the grant is gone: every child started under it, current
 * or retired, gets SIGTERM now and SIGKILL a second later.
 */
void
child_grant_revoked(const char *grant_id)
{
	struct timeval	 tv = { CHILD_REVOKED_KILL, 0 };
	struct child	*ch;

	if (grant_id[0] == '\0')
		return;
	TAILQ_FOREACH(ch, &spawnd_env.children, entry) {
		if (strcmp(ch->grant_id, grant_id) != 0)
			continue;
		ch->closing = 1;
		if (ch->stopping == 0) {
			log_info("grant %.8s revoked: stopping child %d of "
			    "user %s, session %.8s", grant_id, ch->pid,
			    ch->username, ch->session_id);
			child_term(ch, CHILD_REVOKED_KILL);
		} else if (ch->stopping == 1) {
			evtimer_del(&ch->ev_stop);
			ch->kill_grace = CHILD_REVOKED_KILL;
			evtimer_add(&ch->ev_stop, &tv);
		}
	}
}

/* SIGTERM to the child's group now, SIGKILL kill_after seconds later. */
static void
child_term(struct child *ch, int kill_after)
{
	struct timeval	 tv;

	(void)kill(-ch->pid, SIGTERM);
	ch->stopping = 1;
	ch->kill_grace = kill_after;
	evtimer_del(&ch->ev_stop);
	timerclear(&tv);
	tv.tv_sec = kill_after;
	evtimer_add(&ch->ev_stop, &tv);
}

static void
child_stop(int fd, short event, void *arg)
{
	struct child	*ch = arg;

	if (ch->stopping == 0) {
		log_info("%schild %d of session %.8s did not exit, sending "
		    "SIGTERM", ch->retired ? "retired " : "", ch->pid,
		    ch->session_id);
		child_term(ch, ch->kill_grace);
	} else {
		log_warnx("%schild %d of session %.8s ignored SIGTERM, "
		    "killing it", ch->retired ? "retired " : "", ch->pid,
		    ch->session_id);
		(void)kill(-ch->pid, SIGKILL);
		ch->stopping = 2;
	}
}

/*
 * Reap every child that has exited.  http learns how the current child
 * of a session ended; a retired child's end is only logged.
 */
void
child_reap(void)
{
	struct session_exit	 se;
	struct child_pg		 pg;
	struct child		*ch;
	char			 reason[PROTO_DESC_MAX];
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((ch = child_bypid(pid)) == NULL)
			continue;
		/* What it said last may still be in the pipe. */
		if (ch->errfd != -1)
			child_stderr(ch->errfd, EV_READ, ch);
		if (WIFSIGNALED(status))
			log_info("%schild %d of user %s, session %.8s, killed "
			    "by signal %d", ch->retired ? "retired " : "", pid,
			    ch->username, ch->session_id, WTERMSIG(status));
		else
			log_info("%schild %d of user %s, session %.8s, exited "
			    "with status %d", ch->retired ? "retired " : "",
			    pid, ch->username, ch->session_id,
			    WEXITSTATUS(status));
		/* Whatever it started in its group goes with it. */
		(void)kill(-pid, SIGKILL);
		pg.pgid = pid;
		if (imsg_compose_event(spawnd_env.iev[PROC_PARENT],
		    IMSG_CHILD_GONE, 0, -1, &pg, sizeof(pg)) == -1)
			fatal("%s", __func__);

		if (ch->retired) {
			child_free(ch);
			continue;
		}
		/*
		 * A failure is one nobody caused: a status other than 0, or
		 * a signal, of a child nobody asked to go (see child_close).
		 */
		if (child_clock() - ch->started >= CHILD_EARLY_EXIT * 1000)
			loop_reset(ch->user_id, ch->username);
		else if (!ch->closing && ch->stopping == 0 &&
		    (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) &&
		    loop_failed(ch, reason, sizeof(reason))) {
			/* The user's spawns stop for a while: say why. */
			child_fail(ch->session_id, 503, reason);
			child_free(ch);
			continue;
		}
		memset(&se, 0, sizeof(se));
		strlcpy(se.session_id, ch->session_id, sizeof(se.session_id));
		se.pid = pid;
		se.status = status;
		strlcpy(se.last_stderr, ch->last, sizeof(se.last_stderr));
		if (imsg_compose_event(spawnd_env.iev[PROC_HTTP],
		    IMSG_SESSION_EXIT, 0, -1, &se, sizeof(se)) == -1)
			fatal("%s", __func__);
		child_free(ch);
	}
}

static struct startloop *
loop_find(int64_t user_id)
{
	struct startloop	*l;

	TAILQ_FOREACH(l, &loops, entry)
		if (l->user_id == user_id)
			return l;
	return NULL;
}

/* A child of the user lived long enough: its start works again. */
static void
loop_reset(int64_t user_id, const char *username)
{
	struct startloop	*l;

	if ((l = loop_find(user_id)) == NULL)
		return;
	if (l->backoff > 0)
		log_info("user %s: the MCP server starts again", username);
	TAILQ_REMOVE(&loops, l, entry);
	free(l);
}

/* The line is cut to fit: the reason is what the client reads. */
static void
loop_reason(const char *last, char *buf, size_t len)
{
	(void)strlcpy(buf, "the MCP server keeps exiting at start", len);
	if (last[0] != '\0') {
		(void)strlcat(buf, ": ", len);
		(void)strlcat(buf, last, len);
	}
}

/*
 * Is the user in backoff?  The seconds left and why, or 0.  A child of
 * the user that has been running for long enough ends the backoff.
 */
static int
loop_refuse(int64_t user_id, const char *username, char *reason, size_t len)
{
	struct startloop	*l;
	struct child		*ch;
	int64_t			 now = child_clock();

	if ((l = loop_find(user_id)) == NULL)
		return 0;
	TAILQ_FOREACH(ch, &spawnd_env.children, entry) {
		if (ch->user_id == user_id && !ch->retired &&
		    now - ch->started >= CHILD_EARLY_EXIT * 1000) {
			loop_reset(user_id, username);
			return 0;
		}
	}
	if (l->backoff == 0 || l->until <= now)
		return 0;
	loop_reason(l->last, reason, len);
	return (int)((l->until - now + 999) / 1000);
}

/*
 * A child failed soon after its start.  Returns 1, with the reason the
 * session is to fail with, if this puts (or keeps) its user in backoff.
 */
static int
loop_failed(struct child *ch, char *reason, size_t len)
{
	struct startloop	*l;
	int64_t			 now = child_clock();

	if ((l = loop_find(ch->user_id)) == NULL) {
		if ((l = calloc(1, sizeof(*l))) == NULL)
			fatal("%s", __func__);
		l->user_id = ch->user_id;
		TAILQ_INSERT_TAIL(&loops, l, entry);
	}
	if (ch->last[0] != '\0')
		strlcpy(l->last, ch->last, sizeof(l->last));
	if (++l->early < CHILD_EARLY_MAX)
		return 0;
	if (l->backoff > 0 && l->until > now) {
		/* Started before the backoff: it does not make it longer. */
		loop_reason(l->last, reason, len);
		return 1;
	}
	if (l->backoff == 0)
		l->backoff = CHILD_BACKOFF_MIN;
	else if ((l->backoff *= 2) > CHILD_BACKOFF_MAX)
		l->backoff = CHILD_BACKOFF_MAX;
	l->until = now + (int64_t)l->backoff * 1000;
	log_warnx("user %s: the MCP server failed %d times in a row within "
	    "%d s of its start, no new session for %d s", ch->username,
	    l->early, CHILD_EARLY_EXIT, l->backoff);
	loop_reason(l->last, reason, len);
	return 1;
}

static void
child_free(struct child *ch)
{
	if (ch->errfd != -1) {
		event_del(&ch->ev_err);
		close(ch->errfd);
	}
	evtimer_del(&ch->ev_stop);
	TAILQ_REMOVE(&spawnd_env.children, ch, entry);
	spawnd_env.nchildren--;
	free(ch);
}

/* spawnd is leaving: no child outlives it. */
void
child_kill_all(void)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		(void)kill(-ch->pid, SIGKILL);
}

static void
child_stderr(int fd, short event, void *arg)
{
	struct child	*ch = arg;
	char		 buf[4096];
	ssize_t		 n, i;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				child_stderr_line(ch);
				continue;
			}
			/* An endless line is cut into pieces. */
			if (ch->linelen == sizeof(ch->line) - 1)
				child_stderr_line(ch);
			ch->line[ch->linelen++] = buf[i];
		}
		explicit_bzero(buf, (size_t)n);
	}
	if (ch->linelen > 0)
		child_stderr_line(ch);
	event_del(&ch->ev_err);
	close(ch->errfd);
	ch->errfd = -1;
}

/*
 * Log one line of a child's stderr, tagged with user and session,
 * without anything that looks like a token, and at most
 * CHILD_STDERR_BURST lines a second.
 */
static void
child_stderr_line(struct child *ch)
{
	time_t	 now = time(NULL);
	size_t	 i;

	ch->line[ch->linelen] = '\0';
	ch->linelen = 0;
	for (i = 0; ch->line[i] != '\0'; i++)
		if ((unsigned char)ch->line[i] < 0x20 || ch->line[i] == 0x7f)
			ch->line[i] = '?';
	child_redact(ch->line);
	if (ch->line[0] != '\0')
		strlcpy(ch->last, ch->line, sizeof(ch->last));

	if (now != ch->burst_start) {
		if (ch->dropped > 0)
			log_info("child %d: %d lines of stderr not logged",
			    ch->pid, ch->dropped);
		ch->burst_start = now;
		ch->burst_lines = 0;
		ch->dropped = 0;
	}
	if (++ch->burst_lines > CHILD_STDERR_BURST) {
		ch->dropped++;
		return;
	}
	log_info("child %d of user %s, session %.8s: %s", ch->pid,
	    ch->username, ch->session_id, ch->line);
}

/*
 * Replace every run of 32 or more token characters (base64url, hex,
 * JWT segments with their dots) by "[redacted]": a Forgejo token, a
 * broker token or a secret never reaches the log through a child.
 */
void
child_redact(char *s)
{
	static const char	 tokchars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_.+/=";
	static const char	 mark[] = "[redacted]";
	char			*p = s, *out = s;
	size_t			 run;

	while (*p != '\0') {
		run = strspn(p, tokchars);
		if (run >= 32) {
			memcpy(out, mark, sizeof(mark) - 1);
			out += sizeof(mark) - 1;
			p += run;
			continue;
		}
		if (run == 0)
			run = 1;
		memmove(out, p, run);
		out += run;
		p += run;
	}
	*out = '\0';
}
