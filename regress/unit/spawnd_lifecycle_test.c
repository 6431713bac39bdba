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
 * spawnd's children (spawnd/child.c) through a token's life: crash-loop
 * backoff, replacement after a token update, retirement, revocation and
 * close.  The children are real (/bin/sh scripts); http and the parent
 * are the far ends of two socketpairs, read here.  Reaping is done by
 * calling child_reap(), timers by turning libevent's loop, and the
 * backoff clock is moved with child_set_clock_offset().
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "spawnd.h"
#include "regress.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* A child that fails at once, with a token on its stderr. */
#define SCRIPT_FAIL	"echo 'fatal: token ABCDEFGHIJKLMNOPQRSTUVWXYZ0" \
			"123456789abcdef rejected' >&2; exit 1"
/* One that says its token and then serves until EOF. */
#define SCRIPT_SERVE	"echo \"token=$FORGEJO_ACCESS_TOKEN\"; exec cat"
/* One that fails when its input ends. */
#define SCRIPT_EOF_FAIL	"read x; exit 1"
/* One that ignores SIGTERM and EOF. */
#define SCRIPT_STUBBORN	"trap '' TERM; echo up; while :; do sleep 1; done"
/* One that ignores EOF but not SIGTERM. */
#define SCRIPT_DEAF	"echo up; exec sleep 100"

struct spawnd_env	 spawnd_env;

struct msg {
	uint32_t	 type;
	size_t		 len;
	int		 fd;
	union {
		struct session_ready	 ready;
		struct session_fail	 fail;
		struct session_exit	 exit;
		struct child_pg		 pg;
		char			 raw[512];
	} u;
};

#define MSGS_MAX	32

static struct imsgbuf	 http;
static struct imsgbuf	 parent;
static char		*script_argv[4];
static int		 nsession;

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
ignore_events(int fd, short event, void *arg)
{
}

static void
channel(struct imsgbuf *peer, enum proc_id id, const char *name)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die("socketpair");
	nonblock(sv[0]);
	nonblock(sv[1]);
	if (imsgbuf_init(peer, sv[0]) == -1 ||
	    imsgbuf_set_maxsize(peer, PROTO_MAX_PAYLOAD) == -1)
		die("imsgbuf_init");
	imsgbuf_allow_fdpass(peer);
	spawnd_env.iev[id] = proc_channel(sv[1], name, 1, ignore_events,
	    NULL);
}

static void
script(const char *s)
{
	free(script_argv[2]);
	if ((script_argv[2] = strdup(s)) == NULL)
		die("strdup");
	spawnd_env.argv[2] = script_argv[2];
}

/* What spawnd's event loop would do for a while: timers, stderr, reap. */
static void
run(int ms)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i;

	for (i = 0; i <= ms / 10; i++) {
		child_reap();
		(void)event_loop(EVLOOP_NONBLOCK);
		child_reap();
		if (ms > 0)
			nanosleep(&ts, NULL);
	}
	if (imsgbuf_flush(&spawnd_env.iev[PROC_HTTP]->ibuf) == -1 ||
	    imsgbuf_flush(&spawnd_env.iev[PROC_PARENT]->ibuf) == -1)
		die("imsgbuf_flush");
}

/* Every message waiting on ib. */
static int
collect(struct imsgbuf *ib, struct msg *m, int max)
{
	struct imsg	 imsg;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 count = 0, fd;

	if (imsgbuf_flush(&spawnd_env.iev[PROC_HTTP]->ibuf) == -1 ||
	    imsgbuf_flush(&spawnd_env.iev[PROC_PARENT]->ibuf) == -1)
		die("imsgbuf_flush");
	for (;;) {
		if ((n = imsg_get(ib, &imsg)) == -1)
			die("imsg_get");
		if (n == 0) {
			pfd.fd = ib->fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 10) <= 0)
				return count;
			if (imsgbuf_read(ib) != 1)
				die("imsgbuf_read");
			continue;
		}
		fd = imsg_get_fd(&imsg);
		if (count < max) {
			memset(&m[count], 0, sizeof(m[count]));
			m[count].type = imsg_get_type(&imsg);
			m[count].len = imsg_get_len(&imsg);
			m[count].fd = fd;
			if (m[count].len > sizeof(m[count].u) ||
			    (m[count].len > 0 && imsg_get_buf(&imsg,
			    &m[count].u, m[count].len) == -1))
				die("message too long");
		} else if (fd != -1)
			close(fd);
		count++;
		imsg_free(&imsg);
	}
}

/*
 * What http received and the test has not looked at yet, in order: a
 * child that fails at once sends READY and EXIT in one go.
 */
static struct msg	 hq[MSGS_MAX];
static int		 hqn;

/* Take up to max messages of http; how many there were. */
static int
from_http(struct msg *m, int max)
{
	int	 n, i;

	if ((n = collect(&http, hq + hqn, MSGS_MAX - hqn)) >
	    MSGS_MAX - hqn) {
		fprintf(stderr, "too many messages to http\n");
		exit(2);
	}
	hqn += n;
	n = hqn;
	for (i = 0; i < max && i < hqn; i++)
		m[i] = hq[i];
	memmove(hq, hq + i, (hqn - i) * sizeof(hq[0]));
	hqn -= i;
	return n;
}

/* Wait up to ms for http to get a message; 1 if it did. */
static int
await(struct msg *m, int ms)
{
	int	 waited;

	for (waited = 0; waited <= ms; waited += 20) {
		if (from_http(m, 1) >= 1)
			return 1;
		run(20);
	}
	return 0;
}

static void
spawn(const char *sid, const char *grant, int64_t uid, const char *user,
    const char *token)
{
	struct spawn_req	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.session_id, sid, sizeof(req.session_id));
	(void)strlcpy(req.grant_id, grant, sizeof(req.grant_id));
	req.user_id = uid;
	(void)strlcpy(req.username, user, sizeof(req.username));
	(void)strlcpy(req.forgejo_token, token, sizeof(req.forgejo_token));
	child_spawn(&req);
	run(0);
}

static void
update(const char *grant, const char *token)
{
	struct token_update	 tu;

	memset(&tu, 0, sizeof(tu));
	(void)strlcpy(tu.grant_id, grant, sizeof(tu.grant_id));
	(void)strlcpy(tu.forgejo_token, token, sizeof(tu.forgejo_token));
	child_token_update(&tu);
	run(0);
}

static const char *
new_sid(char *sid)
{
	(void)snprintf(sid, PROTO_SESSION_MAX, "sess%04d-for-the-test",
	    ++nsession);
	return sid;
}

/* A line from a child's stdio, or "". */
static const char *
line_of(int fd)
{
	static char	 buf[256];
	struct pollfd	 pfd;
	size_t		 len = 0;
	ssize_t		 n;

	buf[0] = '\0';
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < sizeof(buf) - 1) {
		if (poll(&pfd, 1, 5000) != 1)
			break;
		if ((n = read(fd, buf + len, 1)) != 1)
			break;
		if (buf[len] == '\n')
			break;
		len++;
	}
	buf[len] = '\0';
	return buf;
}

static int
alive(pid_t pid)
{
	return kill(pid, 0) == 0;
}

/*
 * Wait, without reaping, for a child that writes nothing to exit: its
 * end of the stdio closes, and a moment later it is a zombie.
 */
static void
wait_exited(int fd)
{
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	struct pollfd	 pfd;
	char		 c;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 5000) == 1 && read(fd, &c, 1) == 1)
		;
	nanosleep(&ts, NULL);
}

/* The number of children started, as the parent hears of them. */
static int
started(void)
{
	struct msg	 m[MSGS_MAX];
	int		 i, n, count = 0;

	n = collect(&parent, m, MSGS_MAX);
	for (i = 0; i < n && i < MSGS_MAX; i++)
		if (m[i].type == IMSG_CHILD_STARTED)
			count++;
	return count;
}

/* Spawn a failing child and wait for its end; the message http got. */
static int
fail_once(int64_t uid, const char *user, struct msg *end)
{
	struct msg	 m;
	char		 sid[PROTO_SESSION_MAX];

	script(SCRIPT_FAIL);
	spawn(new_sid(sid), "grant-crash", uid, user, "tok");
	if (!await(&m, 5000))
		return -1;
	if (m.type == IMSG_SESSION_FAIL) {
		*end = m;
		return 0;
	}
	if (m.type != IMSG_SESSION_READY)
		return -1;
	if (m.fd != -1)
		close(m.fd);
	if (!await(end, 5000))
		return -1;
	return 1;
}

static void
test_crash_loop(void)
{
	struct msg	 m, e;
	char		 sid[PROTO_SESSION_MAX], want[PROTO_DESC_MAX];
	long		 clock_now;
	int		 i, n, ok;

	(void)started();
	ok = fail_once(1, "alice", &e) == 1 && e.type == IMSG_SESSION_EXIT &&
	    WIFEXITED(e.u.exit.status) && WEXITSTATUS(e.u.exit.status) == 1;
	CHECK(ok, "a child failing at start: READY, then SESSION_EXIT");
	CHECK(strcmp(e.u.exit.last_stderr, "fatal: token [redacted] "
	    "rejected") == 0, "its last stderr line, redacted: %s",
	    e.u.exit.last_stderr);
	CHECK(fail_once(1, "alice", &e) == 1 && e.type == IMSG_SESSION_EXIT,
	    "the second time too");
	(void)snprintf(want, sizeof(want), "the MCP server keeps exiting at "
	    "start: fatal: token [redacted] rejected");
	CHECK(fail_once(1, "alice", &e) == 1 &&
	    e.type == IMSG_SESSION_FAIL && e.u.fail.status == 503 &&
	    strcmp(e.u.fail.reason, want) == 0,
	    "the third time: SESSION_FAIL 503 \"%s\"", e.u.fail.reason);
	CHECK(started() == 3, "three children were started");

	spawn(new_sid(sid), "grant-crash", 1, "alice", "tok");
	CHECK(from_http(&m, 1) == 1 && m.type == IMSG_SESSION_FAIL &&
	    strcmp(m.u.fail.session_id, sid) == 0 &&
	    m.u.fail.status == 503 && strcmp(m.u.fail.reason, want) == 0,
	    "during the backoff, a spawn is answered 503 with that reason");
	CHECK(started() == 0, "without starting a child");

	spawn(new_sid(sid), "grant-other", 2, "bob", "tok");
	CHECK(from_http(&m, 1) == 1 && m.type == IMSG_SESSION_READY,
	    "another user is not held back");
	if (m.fd != -1)
		close(m.fd);
	(void)await(&m, 5000);

	/*
	 * A child that fails because http closed its session (it ended
	 * the session for the child's misbehaviour) is not to blame.
	 */
	(void)started();
	for (i = 0, n = 0; i < 3; i++) {
		script(SCRIPT_EOF_FAIL);
		spawn(new_sid(sid), "grant-closed", 7, "grace", "tok");
		if (await(&m, 5000) && m.type == IMSG_SESSION_READY) {
			child_close(sid, 0);
			close(m.fd);
			if (await(&e, 5000) && e.type == IMSG_SESSION_EXIT &&
			    WEXITSTATUS(e.u.exit.status) == 1)
				n++;
		}
	}
	CHECK(n == 3, "children that fail once http closed their session: "
	    "SESSION_EXIT, no backoff (%d)", n);

	/*
	 * http may see a failing child go first (its stdio closes) and
	 * close the session before spawnd reaps it: still a failure.
	 */
	for (i = 0, n = 0; i < 3; i++) {
		script(SCRIPT_FAIL);
		spawn(new_sid(sid), "grant-closed", 6, "frank", "tok");
		if (await(&m, 5000) && m.type == IMSG_SESSION_READY) {
			wait_exited(m.fd);
			child_close(sid, 0);
			close(m.fd);
			if (await(&e, 5000))
				n++;
		}
	}
	CHECK(n == 3 && e.type == IMSG_SESSION_FAIL &&
	    e.u.fail.status == 503,
	    "a session closed by http after its child failed counts");
	spawn(new_sid(sid), "grant-closed", 6, "frank", "tok");
	CHECK(from_http(&m, 1) == 1 && m.type == IMSG_SESSION_FAIL &&
	    started() == 6, "and the user's spawns stop");

	/* A client of another user retrying for ten seconds. */
	(void)started();
	n = 0;
	script(SCRIPT_FAIL);
	for (i = 0; i < 40; i++) {
		child_set_clock_offset(i / 4);
		spawn(new_sid(sid), "grant-storm", 5, "eve", "tok");
		n += started();
		if (from_http(&m, 1) == 1 &&
		    m.type == IMSG_SESSION_READY) {
			close(m.fd);
			(void)await(&m, 5000);
		}
	}
	CHECK(n == 3, "ten seconds of a client retrying: %d children", n);
	child_set_clock_offset(0);

	clock_now = 10;
	child_set_clock_offset(clock_now);
	CHECK(fail_once(1, "alice", &e) == 1 &&
	    e.type == IMSG_SESSION_FAIL && e.u.fail.status == 503,
	    "after 10 s one child is tried; its failure: 503 again");
	(void)started();
	clock_now = 29;
	child_set_clock_offset(clock_now);
	spawn(new_sid(sid), "grant-crash", 1, "alice", "tok");
	CHECK(from_http(&m, 1) == 1 && m.type == IMSG_SESSION_FAIL &&
	    started() == 0, "the backoff is now 20 s: still refused at 19 s");
	clock_now = 31;
	child_set_clock_offset(clock_now);
	CHECK(fail_once(1, "alice", &e) == 1 &&
	    e.type == IMSG_SESSION_FAIL, "tried again after 20 s");
	clock_now = 31 + 39;
	child_set_clock_offset(clock_now);
	spawn(new_sid(sid), "grant-crash", 1, "alice", "tok");
	CHECK(from_http(&m, 1) == 1 && m.type == IMSG_SESSION_FAIL,
	    "then 40 s");
	clock_now = 1000;
	child_set_clock_offset(clock_now);
	for (i = 0; i < 6; i++) {
		(void)fail_once(1, "alice", &e);
		clock_now += 301;
		child_set_clock_offset(clock_now);
	}
	clock_now -= 301;
	child_set_clock_offset(clock_now + 299);
	spawn(new_sid(sid), "grant-crash", 1, "alice", "tok");
	ok = from_http(&m, 1) == 1 && m.type == IMSG_SESSION_FAIL;
	child_set_clock_offset(clock_now + 301);
	script(SCRIPT_SERVE);
	spawn(new_sid(sid), "grant-crash", 1, "alice", "tok");
	CHECK(ok && from_http(&m, 1) == 1 &&
	    m.type == IMSG_SESSION_READY, "and at most 300 s");

	/* That child lives longer than 5 s: the backoff is over. */
	clock_now += 301 + 6;
	child_set_clock_offset(clock_now);
	close(m.fd);
	CHECK(await(&e, 5000) && e.type == IMSG_SESSION_EXIT,
	    "a child that lived 6 s ends (EOF)");
	CHECK(fail_once(1, "alice", &e) == 1 &&
	    e.type == IMSG_SESSION_EXIT &&
	    fail_once(1, "alice", &e) == 1 && e.type == IMSG_SESSION_EXIT,
	    "and two failures later, spawns still go on");
	CHECK(fail_once(1, "alice", &e) == 1 && e.type == IMSG_SESSION_FAIL,
	    "the count started again: the third is a crash loop");
	clock_now += 1000;
	child_set_clock_offset(clock_now);
	(void)started();
}

static void
test_replace(void)
{
	struct msg	 m[MSGS_MAX], r, e;
	char		 sid[PROTO_SESSION_MAX];
	pid_t		 old, new;
	int		 oldfd, newfd, n;

	script(SCRIPT_SERVE);
	spawn(new_sid(sid), "grant-r", 3, "carol", "tok-1");
	n = from_http(m, MSGS_MAX);
	CHECK(n == 1 && m[0].type == IMSG_SESSION_READY && m[0].fd != -1,
	    "a session");
	oldfd = m[0].fd;
	old = m[0].u.ready.pid;
	CHECK(strcmp(line_of(oldfd), "token=tok-1") == 0,
	    "its child has the token it was spawned with");
	(void)started();

	update("grant-other-one", "tok-x");
	CHECK(from_http(m, MSGS_MAX) == 0,
	    "an update of another grant replaces nothing");
	update("grant-r", "tok-2");
	n = from_http(m, MSGS_MAX);
	CHECK(n == 1 && m[0].type == IMSG_SESSION_REPLACE && m[0].fd != -1 &&
	    strcmp(m[0].u.ready.session_id, sid) == 0 &&
	    m[0].u.ready.pid != old,
	    "an update: SESSION_REPLACE, same session, new pid, new stdio");
	newfd = m[0].fd;
	new = m[0].u.ready.pid;
	CHECK(strcmp(line_of(newfd), "token=tok-2") == 0,
	    "the new child has the new token");
	CHECK(collect(&parent, m, MSGS_MAX) == 1 &&
	    m[0].type == IMSG_CHILD_STARTED && m[0].u.pg.pgid == new,
	    "the parent learns of the new child's process group");
	CHECK(alive(old), "the old child is still there, retired");

	close(oldfd);
	run(500);
	CHECK(!alive(old) && from_http(m, MSGS_MAX) == 0,
	    "its stdio closed, it exits, and http hears nothing of it");
	CHECK(collect(&parent, m, MSGS_MAX) == 1 &&
	    m[0].type == IMSG_CHILD_GONE && m[0].u.pg.pgid == old,
	    "the parent does");

	/* A retired child that ignores EOF is stopped. */
	child_set_retire_grace(1, 1);
	script(SCRIPT_DEAF);
	update("grant-r", "tok-3");
	CHECK(from_http(&r, 1) == 1 &&
	    r.type == IMSG_SESSION_REPLACE, "replaced again");
	close(newfd);
	run(300);
	CHECK(!alive(new), "the retired child exits on EOF");
	update("grant-r", "tok-4");
	old = r.u.ready.pid;
	close(r.fd);
	CHECK(from_http(&r, 1) == 1 &&
	    r.type == IMSG_SESSION_REPLACE, "and again");
	run(500);
	CHECK(alive(old), "a retired child that ignores EOF lingers");
	run(1000);
	CHECK(!alive(old) && from_http(m, MSGS_MAX) == 0,
	    "until the SIGTERM after its grace, silently");
	(void)collect(&parent, m, MSGS_MAX);

	/* Closing the session: now. */
	child_close(sid, 1);
	CHECK(await(&e, 500) && e.type == IMSG_SESSION_EXIT &&
	    e.u.exit.pid == r.u.ready.pid && WIFSIGNALED(e.u.exit.status) &&
	    WTERMSIG(e.u.exit.status) == SIGTERM,
	    "SESSION_CLOSE now: SIGTERM at once, SESSION_EXIT");
	close(r.fd);
	child_set_retire_grace(0, 0);
	(void)collect(&parent, m, MSGS_MAX);
}

static void
test_revoked(void)
{
	struct msg	 m[MSGS_MAX];
	struct timespec	 t0, t1;
	char		 s1[PROTO_SESSION_MAX], s2[PROTO_SESSION_MAX];
	pid_t		 a, b, c, d;
	int		 fa, fb, fc, fd, n, i, exits = 0;
	long		 ms;

	script(SCRIPT_STUBBORN);
	spawn(new_sid(s1), "grant-v", 4, "dave", "tok");
	spawn(new_sid(s2), "grant-v", 4, "dave", "tok");
	n = from_http(m, MSGS_MAX);
	CHECK(n == 2 && m[0].type == IMSG_SESSION_READY &&
	    m[1].type == IMSG_SESSION_READY, "two sessions of one grant");
	a = m[0].u.ready.pid;
	fa = m[0].fd;
	b = m[1].u.ready.pid;
	fb = m[1].fd;
	(void)line_of(fa);
	(void)line_of(fb);
	update("grant-v", "tok-2");
	n = from_http(m, MSGS_MAX);
	CHECK(n == 2 && m[0].type == IMSG_SESSION_REPLACE &&
	    m[1].type == IMSG_SESSION_REPLACE, "both replaced");
	c = m[0].u.ready.pid;
	fc = m[0].fd;
	d = m[1].u.ready.pid;
	fd = m[1].fd;
	(void)line_of(fc);
	(void)line_of(fd);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	child_grant_revoked("grant-v");
	for (i = 0; i < 300 && (alive(a) || alive(b) || alive(c) ||
	    alive(d)); i++)
		run(10);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(!alive(a) && !alive(b) && !alive(c) && !alive(d) && ms < 2000,
	    "GRANT_REVOKED: every child, retired or not, ignoring SIGTERM, "
	    "is gone in %ld ms", ms);
	run(100);
	n = from_http(m, MSGS_MAX);
	for (i = 0; i < n && i < MSGS_MAX; i++)
		if (m[i].type == IMSG_SESSION_EXIT)
			exits++;
	CHECK(exits == 2, "http hears of the two current children only");
	close(fa);
	close(fb);
	close(fc);
	close(fd);
	CHECK(spawnd_env.nchildren == 0, "no child is left");
}

int
main(void)
{
	log_init(1, LOG_DAEMON);
	log_setverbose(1);
	log_procinit("spawnd");
	signal(SIGPIPE, SIG_IGN);

	memset(&spawnd_env, 0, sizeof(spawnd_env));
	TAILQ_INIT(&spawnd_env.children);
	(void)strlcpy(spawnd_env.cfg.forgejo_url, "http://forgejo.test",
	    sizeof(spawnd_env.cfg.forgejo_url));
	(void)strlcpy(spawnd_env.cfg.home, "/tmp",
	    sizeof(spawnd_env.cfg.home));
	spawnd_env.cfg.limit_data = 4096;
	spawnd_env.cfg.limit_files = 64;
	spawnd_env.cfg.limit_procs = 100000;
	spawnd_env.cfg.limit_cpu = 60;
	spawnd_env.cfg.max_sessions = 16;
	script_argv[0] = "/bin/sh";
	script_argv[1] = "-c";
	script(SCRIPT_FAIL);
	script_argv[3] = NULL;
	memcpy(spawnd_env.argv, script_argv, sizeof(script_argv));
	spawnd_env.argc = 3;

	event_init();
	channel(&http, PROC_HTTP, "http");
	channel(&parent, PROC_PARENT, "parent");

	test_crash_loop();
	test_replace();
	test_revoked();

	child_kill_all();
	free(script_argv[2]);
	return regress_done();
}
