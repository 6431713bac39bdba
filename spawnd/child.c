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

static struct child	*child_find(const char *);
static struct child	*child_bypid(pid_t);
static void		 child_exec(int, int, char *const []) __dead;
static void		 child_limits(void);
static void		 child_stderr(int, short, void *);
static void		 child_stderr_line(struct child *);
static void		 child_stop(int, short, void *);
static void		 child_fail(const char *, int, const char *);
static void		 child_free(struct child *);

static struct child *
child_find(const char *session_id)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &spawnd_env.children, entry)
		if (strcmp(ch->session_id, session_id) == 0)
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
 * Start the child of one session.  The token lives in the request and
 * in the environment built here; both are cleared before returning.
 */
void
child_spawn(struct spawn_req *req)
{
	struct session_ready	 sr;
	struct child_pg		 pg;
	struct child		*ch;
	char			*envp[6];
	int			 io[2], err[2], i;
	pid_t			 pid;

	req->session_id[sizeof(req->session_id) - 1] = '\0';
	req->username[sizeof(req->username) - 1] = '\0';
	req->forgejo_token[sizeof(req->forgejo_token) - 1] = '\0';
	if (child_find(req->session_id) != NULL)
		fatalx("%s: session spawned twice", __func__);
	if (spawnd_env.nchildren >= (int)spawnd_env.cfg.max_sessions) {
		child_fail(req->session_id, 503, "too many sessions");
		return;
	}
	memset(envp, 0, sizeof(envp));
	if (asprintf(&envp[0], "FORGEJO_URL=%s",
	    spawnd_env.cfg.forgejo_url) == -1 ||
	    asprintf(&envp[1], "FORGEJO_ACCESS_TOKEN=%s",
	    req->forgejo_token) == -1 ||
	    (envp[2] = strdup(CHILD_PATH)) == NULL ||
	    asprintf(&envp[3], "HOME=%s", spawnd_env.cfg.home) == -1 ||
	    (envp[4] = strdup("LANG=C.UTF-8")) == NULL)
		fatal("%s", __func__);
	explicit_bzero(req->forgejo_token, sizeof(req->forgejo_token));

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, io) == -1 ||
	    pipe2(err, O_CLOEXEC) == -1) {
		log_warn("%s: socketpair", __func__);
		child_fail(req->session_id, 503, "cannot start a server");
		goto done;
	}
	switch (pid = fork()) {
	case -1:
		log_warn("%s: fork", __func__);
		close(io[0]);
		close(io[1]);
		close(err[0]);
		close(err[1]);
		child_fail(req->session_id, 503, "cannot start a server");
		goto done;
	case 0:
		child_exec(io[1], err[1], envp);
		/* NOTREACHED */
	}
	close(io[1]);
	close(err[1]);

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		fatal("%s", __func__);
	strlcpy(ch->session_id, req->session_id, sizeof(ch->session_id));
	strlcpy(ch->username, req->username, sizeof(ch->username));
	ch->user_id = req->user_id;
	ch->pid = pid;
	ch->errfd = err[0];
	if (fcntl(ch->errfd, F_SETFL, O_NONBLOCK) == -1)
		fatal("%s: fcntl", __func__);
	event_set(&ch->ev_err, ch->errfd, EV_READ | EV_PERSIST,
	    child_stderr, ch);
	event_add(&ch->ev_err, NULL);
	evtimer_set(&ch->ev_stop, child_stop, ch);
	TAILQ_INSERT_TAIL(&spawnd_env.children, ch, entry);
	spawnd_env.nchildren++;

	pg.pgid = pid;
	if (imsg_compose_event(spawnd_env.iev[PROC_PARENT],
	    IMSG_CHILD_STARTED, 0, -1, &pg, sizeof(pg)) == -1)
		fatal("%s", __func__);
	memset(&sr, 0, sizeof(sr));
	strlcpy(sr.session_id, ch->session_id, sizeof(sr.session_id));
	sr.pid = pid;
	if (imsg_compose_event(spawnd_env.iev[PROC_HTTP], IMSG_SESSION_READY,
	    0, io[0], &sr, sizeof(sr)) == -1)
		fatal("%s", __func__);
	log_info("started child %d for user %s, session %.8s", pid,
	    ch->username, ch->session_id);
done:
	for (i = 0; envp[i] != NULL; i++)
		freezero(envp[i], strlen(envp[i]) + 1);
	explicit_bzero(req, sizeof(*req));
}

/*
 * http has closed its end of the child's stdio, so the child sees EOF.
 * Give it time to finish, then SIGTERM, then SIGKILL.
 */
void
child_close(const char *session_id)
{
	struct timeval	 tv = { CHILD_TERM_GRACE, 0 };
	struct child	*ch;

	if ((ch = child_find(session_id)) == NULL || ch->stopping ||
	    evtimer_pending(&ch->ev_stop, NULL))
		return;
	evtimer_add(&ch->ev_stop, &tv);
}

static void
child_stop(int fd, short event, void *arg)
{
	struct timeval	 tv = { CHILD_KILL_GRACE, 0 };
	struct child	*ch = arg;

	if (ch->stopping == 0) {
		log_info("child %d of session %.8s did not exit, sending "
		    "SIGTERM", ch->pid, ch->session_id);
		(void)kill(-ch->pid, SIGTERM);
		ch->stopping = 1;
		evtimer_add(&ch->ev_stop, &tv);
	} else {
		log_warnx("child %d of session %.8s ignored SIGTERM, "
		    "killing it", ch->pid, ch->session_id);
		(void)kill(-ch->pid, SIGKILL);
		ch->stopping = 2;
	}
}

/* Reap every child that has exited and tell http how it ended. */
void
child_reap(void)
{
	struct session_exit	 se;
	struct child_pg		 pg;
	struct child		*ch;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((ch = child_bypid(pid)) == NULL)
			continue;
		/* What it said last may still be in the pipe. */
		if (ch->errfd != -1)
			child_stderr(ch->errfd, EV_READ, ch);
		if (WIFSIGNALED(status))
			log_info("child %d of user %s, session %.8s, killed "
			    "by signal %d", pid, ch->username, ch->session_id,
			    WTERMSIG(status));
		else
			log_info("child %d of user %s, session %.8s, exited "
			    "with status %d", pid, ch->username,
			    ch->session_id, WEXITSTATUS(status));
		/* Whatever it started in its group goes with it. */
		(void)kill(-pid, SIGKILL);

		memset(&se, 0, sizeof(se));
		strlcpy(se.session_id, ch->session_id, sizeof(se.session_id));
		se.pid = pid;
		se.status = status;
		strlcpy(se.last_stderr, ch->last, sizeof(se.last_stderr));
		if (imsg_compose_event(spawnd_env.iev[PROC_HTTP],
		    IMSG_SESSION_EXIT, 0, -1, &se, sizeof(se)) == -1)
			fatal("%s", __func__);
		pg.pgid = pid;
		if (imsg_compose_event(spawnd_env.iev[PROC_PARENT],
		    IMSG_CHILD_GONE, 0, -1, &pg, sizeof(pg)) == -1)
			fatal("%s", __func__);
		child_free(ch);
	}
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
