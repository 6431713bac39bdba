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
 * tokend's token lifecycle (tokend/lifecycle.c, with session.c and
 * oauth.c), driven the way the http process drives it: session opens and
 * ends are composed on one end of a socketpair and handed to tokend's
 * handlers; what tokend sends to http and to spawnd is read back from
 * two more socketpairs.  A stand-in for tokend/forgejo.c keeps each
 * refresh until the test answers it, so that a test sees what happens
 * while one is in flight.  Grants are rows written straight into a
 * scratch database; the clock is this program's own (see time() below),
 * and the timer's work is done by calling lifecycle_tick().
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "proc.h"
#include "tokend.h"
#include "util.h"
#include "regress.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define MARGIN		300
#define CLIENT		"lc-client"

struct tokend_env	 tokend_env;

/* A message as http or spawnd receives it. */
struct msg {
	uint32_t	 type;
	size_t		 len;
	union {
		struct spawn_req	 spawn;
		struct session_fail	 fail;
		struct token_update	 update;
		struct grant_ref	 grant;
		struct oauth_error	 err;
		char			 raw[8192];
	} u;
};

#define MSGS_MAX	16

static char		 dir[PATH_MAX];
static struct imsgbuf	 http;		/* the http process's end */
static struct imsgbuf	 spawnd;	/* spawnd's end */
static int		 saved_stderr = -1;
static int		 commits;
static int		 nsession;

/*
 * The stand-in for tokend/forgejo.c.  A refresh is kept until the test
 * answers it with stub_answer(), unless stub_now is set: then it is
 * answered before forgejo_refresh() returns, as a careless stub would.
 */
static int		 stub_refreshes;
static char		 stub_refresh_token[FORGEJO_TOKEN_MAX];
static forgejo_tokens_cb stub_cb;
static void		*stub_arg;
static int		 stub_now;
static enum forgejo_result stub_now_result;

void
forgejo_init(const struct cfg_tokend *cfg)
{
}

int
forgejo_authorize_url(char *buf, size_t len, const char *state,
    const char *challenge)
{
	return -1;
}

void
forgejo_exchange_code(const char *code, const char *verifier,
    forgejo_tokens_cb cb, void *arg)
{
	cb(FORGEJO_UNAVAILABLE, "", NULL, arg);
}

void
forgejo_get_user(const char *access, forgejo_user_cb cb, void *arg)
{
	cb(FORGEJO_UNAVAILABLE, NULL, arg);
}

const char *
forgejo_result_str(enum forgejo_result r)
{
	switch (r) {
	case FORGEJO_OK:
		return "ok";
	case FORGEJO_REFUSED:
		return "refused";
	case FORGEJO_UNAVAILABLE:
		return "unavailable";
	case FORGEJO_BAD_ANSWER:
		return "bad answer";
	}
	return "?";
}

static void stub_answer(enum forgejo_result, const char *, const char *,
    const char *, int64_t);

void
forgejo_refresh(const char *refresh, forgejo_tokens_cb cb, void *arg)
{
	if (stub_cb != NULL) {
		printf("# a second refresh while one is in flight\n");
		exit(2);
	}
	stub_refreshes++;
	(void)strlcpy(stub_refresh_token, refresh,
	    sizeof(stub_refresh_token));
	stub_cb = cb;
	stub_arg = arg;
	if (stub_now)
		stub_answer(stub_now_result, stub_now_result ==
		    FORGEJO_REFUSED ? "invalid_grant" : "", "fj-access-sync",
		    "fj-refresh-sync", 3600);
}

/* Answer the refresh in flight, and clear what was handed over. */
static void
stub_answer(enum forgejo_result result, const char *error,
    const char *access, const char *refresh, int64_t expires_in)
{
	struct forgejo_tokens	 t;
	forgejo_tokens_cb	 cb = stub_cb;

	if (cb == NULL) {
		printf("# no refresh in flight\n");
		exit(2);
	}
	stub_cb = NULL;
	memset(&t, 0, sizeof(t));
	if (result == FORGEJO_OK) {
		(void)strlcpy(t.access_token, access, sizeof(t.access_token));
		(void)strlcpy(t.refresh_token, refresh,
		    sizeof(t.refresh_token));
		t.expires_at = oauth_now() + expires_in;
	}
	cb(result, error, result == FORGEJO_OK ? &t : NULL, stub_arg);
	memset(&t, 'Z', sizeof(t));
}

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static const char *
path(const char *name)
{
	static char	buf[4][PATH_MAX];
	static int	i;

	i = (i + 1) % nitems(buf);
	if ((size_t)snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name) >=
	    sizeof(buf[i])) {
		fprintf(stderr, "path too long\n");
		exit(2);
	}
	return buf[i];
}

static int64_t
now(void)
{
	return oauth_now();
}

/*
 * The clock.  oauth_now(), the clock of every expiry decision, reads
 * time(3), and in this program that is the time() below: a test's
 * moments never drift by a second while it runs.
 */
static time_t	 clock_now;

time_t
time(time_t *tp)
{
	if (tp != NULL)
		*tp = clock_now;
	return clock_now;
}

static void
set_clock(int64_t t)
{
	clock_now = (time_t)t;
}

/*
 * Each test starts at a moment of its own, far from the others, so
 * that nothing of one test expires in another.
 */
static int64_t
new_epoch(void)
{
	static int64_t	 epoch;
	struct timespec	 ts;

	if (epoch == 0) {
		if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
			die("clock_gettime");
		epoch = ts.tv_sec;
	}
	epoch += 1000000;
	set_clock(epoch);
	return epoch;
}

static int
contains(const char *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

static int64_t
qint(const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	char		*sql;
	int64_t		 v = INT64_MIN;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sql == NULL)
		die("sqlite3_vmprintf");
	if (sqlite3_prepare_v2(db_handle(), sql, -1, &st, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db_handle()));
		sqlite3_free(sql);
		return v;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return v;
}

static void
sql(const char *fmt, ...)
{
	va_list	 ap;
	char	*q, *err = NULL;

	va_start(ap, fmt);
	q = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (q == NULL)
		die("sqlite3_vmprintf");
	if (sqlite3_exec(db_handle(), q, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", q, err);
		exit(2);
	}
	sqlite3_free(q);
}

static const char *
hash(const char *s)
{
	static char	 h[4][SHA256_HEX_LEN];
	static int	 i;

	i = (i + 1) % nitems(h);
	sha256_hex(s, strlen(s), h[i]);
	return h[i];
}

static int
count_commits(void *arg)
{
	commits++;
	return 0;
}

/*
 * A grant of user uid with one access and one refresh token (texts
 * "<name>-access" and "<name>-refresh", live until broker_expires) and
 * the Forgejo pair given.  Its id goes to gid.
 */
static void
mkgrant(char *gid, const char *name, int64_t uid, const char *login,
    const char *fj_access, const char *fj_refresh, int64_t fj_expires,
    int64_t broker_expires)
{
	char	 access[128], refresh[128];

	(void)snprintf(access, sizeof(access), "%s-access", name);
	(void)snprintf(refresh, sizeof(refresh), "%s-refresh", name);
	sha256_hex(name, strlen(name), gid);
	sql("INSERT INTO access_tokens (token_hash, client_id, "
	    "forgejo_user_id, forgejo_username, scopes, forgejo_access_token, "
	    "forgejo_refresh_token, forgejo_token_expires_at, expires_at, "
	    "created_at, revoked_at, resource, grant_id) VALUES "
	    "(%Q, %Q, %lld, %Q, '', %Q, %Q, %lld, %lld, %lld, NULL, '', %Q)",
	    hash(access), CLIENT, (long long)uid, login, fj_access, fj_refresh,
	    (long long)fj_expires, (long long)broker_expires, (long long)now(),
	    gid);
	sql("INSERT INTO refresh_tokens (token_hash, access_token_hash, "
	    "client_id, expires_at, created_at, revoked_at, grant_id, "
	    "rotated_at) VALUES (%Q, %Q, %Q, %lld, %lld, NULL, %Q, NULL)",
	    hash(refresh), hash(access), CLIENT, (long long)broker_expires,
	    (long long)now(), gid);
}

/* A second access token of the grant, as a broker refresh makes. */
static void
mkrotated(const char *gid, const char *name)
{
	char	 access[128];

	(void)snprintf(access, sizeof(access), "%s-access2", name);
	sql("INSERT INTO access_tokens (token_hash, client_id, "
	    "forgejo_user_id, forgejo_username, scopes, forgejo_access_token, "
	    "forgejo_refresh_token, forgejo_token_expires_at, expires_at, "
	    "created_at, revoked_at, resource, grant_id) SELECT %Q, "
	    "client_id, forgejo_user_id, forgejo_username, scopes, "
	    "forgejo_access_token, forgejo_refresh_token, "
	    "forgejo_token_expires_at, expires_at, created_at + 1, NULL, "
	    "resource, grant_id FROM access_tokens WHERE grant_id = %Q "
	    "LIMIT 1", hash(access), gid);
}

/* Is there something to read on fd within ms milliseconds? */
static int
wait_readable(int fd, int ms)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (n == -1)
		die("poll");
	return n;
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
	tokend_env.iev[id] = proc_channel(sv[1], name, 0, ignore_events,
	    NULL);
}

/* Push out what tokend queued for http and spawnd. */
static void
flush_tokend(void)
{
	if (imsgbuf_flush(&tokend_env.iev[PROC_HTTP]->ibuf) == -1 ||
	    imsgbuf_flush(&tokend_env.iev[PROC_SPAWND]->ibuf) == -1)
		die("imsgbuf_flush");
}

/* Every message waiting on ib, in order; their number. */
static int
collect(struct imsgbuf *ib, struct msg *m, int max)
{
	struct imsg	 imsg;
	ssize_t		 n;
	int		 count = 0;

	flush_tokend();
	for (;;) {
		if ((n = imsg_get(ib, &imsg)) == -1)
			die("imsg_get");
		if (n == 0) {
			/* The peer flushed already: there is no waiting. */
			if (!wait_readable(ib->fd, 10))
				return count;
			if (imsgbuf_read(ib) != 1)
				die("imsgbuf_read");
			continue;
		}
		if (count < max) {
			memset(&m[count], 0, sizeof(m[count]));
			m[count].type = imsg_get_type(&imsg);
			m[count].len = imsg_get_len(&imsg);
			if (m[count].len > sizeof(m[count].u) ||
			    (m[count].len > 0 && imsg_get_buf(&imsg,
			    &m[count].u, m[count].len) == -1))
				die("message too long");
		}
		count++;
		imsg_free(&imsg);
	}
}

/* http sends a message; tokend reads it and handles it. */
static void
from_http(uint32_t type, const void *data, size_t len)
{
	struct imsgev	*tev = tokend_env.iev[PROC_HTTP];
	struct imsg	 imsg;
	ssize_t		 n;

	if (imsg_compose(&http, type, 0, 0, -1, data, len) == -1 ||
	    imsgbuf_flush(&http) == -1)
		die("imsg_compose");
	for (;;) {
		if ((n = imsg_get(&tev->ibuf, &imsg)) == -1)
			die("imsg_get");
		if (n > 0)
			break;
		if (!wait_readable(tev->ibuf.fd, 5000)) {
			fprintf(stderr, "tokend got nothing from http\n");
			exit(2);
		}
		if (imsgbuf_read(&tev->ibuf) != 1)
			die("imsgbuf_read");
	}
	switch (imsg_get_type(&imsg)) {
	case IMSG_SESSION_OPEN:
		session_open(&imsg);
		break;
	case IMSG_SESSION_GONE:
		session_gone(&imsg);
		break;
	default:
		if (!oauth_dispatch(tev, &imsg)) {
			fprintf(stderr, "imsg %u not handled\n", type);
			exit(2);
		}
	}
	imsg_free(&imsg);
}

/* Open a session of grant gid; its id goes to sid. */
static void
open_session(const char *gid, int64_t uid, const char *login, char *sid)
{
	struct session_open	 so;

	memset(&so, 0, sizeof(so));
	(void)snprintf(sid, PROTO_SESSION_MAX, "session-%04d-%s", ++nsession,
	    login);
	(void)strlcpy(so.session_id, sid, sizeof(so.session_id));
	(void)strlcpy(so.grant_id, gid, sizeof(so.grant_id));
	so.user_id = uid;
	(void)strlcpy(so.username, login, sizeof(so.username));
	from_http(IMSG_SESSION_OPEN, &so, sizeof(so));
}

static void
end_session(const char *sid, const char *gid)
{
	struct session_gone	 sg;

	memset(&sg, 0, sizeof(sg));
	(void)strlcpy(sg.session_id, sid, sizeof(sg.session_id));
	(void)strlcpy(sg.grant_id, gid, sizeof(sg.grant_id));
	from_http(IMSG_SESSION_GONE, &sg, sizeof(sg));
}

static int
is_spawn(const struct msg *m, const char *sid, const char *gid,
    const char *token)
{
	if (m->type == IMSG_SPAWN && m->len == sizeof(m->u.spawn) &&
	    strcmp(m->u.spawn.session_id, sid) == 0 &&
	    strcmp(m->u.spawn.grant_id, gid) == 0 &&
	    strcmp(m->u.spawn.forgejo_token, token) == 0)
		return 1;
	printf("# got imsg %u of %zu bytes\n", m->type, m->len);
	return 0;
}

static int
is_fail(const struct msg *m, const char *sid, int status)
{
	if (m->type == IMSG_SESSION_FAIL && m->len == sizeof(m->u.fail) &&
	    strcmp(m->u.fail.session_id, sid) == 0 &&
	    m->u.fail.status == status)
		return 1;
	printf("# got imsg %u of %zu bytes\n", m->type, m->len);
	return 0;
}

static int
is_grant(const struct msg *m, uint32_t type, const char *gid)
{
	if (m->type == type && m->len == sizeof(m->u.grant) &&
	    strcmp(m->u.grant.grant_id, gid) == 0)
		return 1;
	printf("# got imsg %u of %zu bytes\n", m->type, m->len);
	return 0;
}

static int
is_update(const struct msg *m, const char *gid, const char *token)
{
	if (m->type == IMSG_TOKEN_UPDATE && m->len == sizeof(m->u.update) &&
	    strcmp(m->u.update.grant_id, gid) == 0 &&
	    strcmp(m->u.update.forgejo_token, token) == 0)
		return 1;
	printf("# got imsg %u of %zu bytes\n", m->type, m->len);
	return 0;
}

/* Nothing waits for http or for spawnd. */
static int
quiet(void)
{
	struct msg	 m[MSGS_MAX];
	int		 h, s, i;

	h = collect(&http, m, MSGS_MAX);
	for (i = 0; i < h && i < MSGS_MAX; i++)
		printf("# to http: imsg %u of %zu bytes\n", m[i].type,
		    m[i].len);
	s = collect(&spawnd, m, MSGS_MAX);
	for (i = 0; i < s && i < MSGS_MAX; i++)
		printf("# to spawnd: imsg %u of %zu bytes\n", m[i].type,
		    m[i].len);
	return h + s == 0;
}

/* A session of a grant with a fresh token is spawned at once. */
static void
test_fresh(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], sid[PROTO_SESSION_MAX];

	(void)new_epoch();
	mkgrant(gid, "fresh", 1, "alice", "fj-fresh-a", "fj-fresh-r",
	    now() + 3600, now() + 3600);
	open_session(gid, 1, "alice", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_spawn(&s[0], sid, gid, "fj-fresh-a") &&
	    s[0].u.spawn.user_id == 1 &&
	    strcmp(s[0].u.spawn.username, "alice") == 0,
	    "a fresh token: the session is spawned at once, with grant id");
	CHECK(collect(&http, h, MSGS_MAX) == 0 && stub_refreshes == 0,
	    "without a refresh");
	lifecycle_tick();
	CHECK(stub_refreshes == 0 && quiet(),
	    "the timer leaves a token far from expiry alone");
	end_session(sid, gid);

	open_session("no-such-grant", 1, "alice", sid);
	CHECK(collect(&http, h, MSGS_MAX) == 1 && is_fail(&h[0], sid, 401),
	    "a grant without a token: 401");
	CHECK(quiet(), "and nothing else");
}

/*
 * Two sessions open while the token is within the margin: one refresh,
 * both spawned with its result, stored in one transaction.
 */
static void
test_serialised(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], s1[PROTO_SESSION_MAX];
	char		 s2[PROTO_SESSION_MAX];
	int		 before = stub_refreshes;
	int64_t		 t0 = new_epoch();

	mkgrant(gid, "serial", 2, "bob", "fj-serial-a0", "fj-serial-r0",
	    now() + 100, now() + 3600);
	mkrotated(gid, "serial");
	open_session(gid, 2, "bob", s1);
	CHECK(stub_refreshes == before + 1 &&
	    strcmp(stub_refresh_token, "fj-serial-r0") == 0,
	    "a token within the margin is refreshed, with its refresh token");
	open_session(gid, 2, "bob", s2);
	CHECK(stub_refreshes == before + 1,
	    "a second session does not start a second refresh");
	CHECK(quiet(), "neither session is spawned before the refresh ends");
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND forgejo_access_token = 'fj-serial-a0'", gid) == 2,
	    "while it runs, the old pair is what is stored");

	commits = 0;
	stub_answer(FORGEJO_OK, "", "fj-serial-a1", "fj-serial-r1", 3600);
	CHECK(commits == 1, "the new pair is stored in one transaction");
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND forgejo_access_token = 'fj-serial-a1' AND "
	    "forgejo_refresh_token = 'fj-serial-r1' AND "
	    "forgejo_token_expires_at = %lld", gid,
	    (long long)now() + 3600) == 2,
	    "every access token of the grant has the new pair and expiry");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 2 &&
	    is_spawn(&s[0], s1, gid, "fj-serial-a1") &&
	    is_spawn(&s[1], s2, gid, "fj-serial-a1"),
	    "then both sessions are spawned, with the new token");
	CHECK(collect(&http, h, MSGS_MAX) == 0, "http hears nothing");

	end_session(s1, gid);
	end_session(s2, gid);
	set_clock(t0 + 3600 - 10);
	lifecycle_tick();
	CHECK(stub_refreshes == before + 1 && quiet(),
	    "a grant without sessions is not refreshed");
}

/* The timer refreshes a grant in use; spawnd gets the new token. */
static void
test_update(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], sid[PROTO_SESSION_MAX];
	int		 before = stub_refreshes;
	int64_t		 t0 = new_epoch();

	mkgrant(gid, "update", 3, "carol", "fj-update-a0", "fj-update-r0",
	    now() + 3600, now() + 7200);
	open_session(gid, 3, "carol", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_spawn(&s[0], sid, gid, "fj-update-a0"), "a session");

	set_clock(t0 + 3600 - MARGIN - 1);
	lifecycle_tick();
	CHECK(stub_refreshes == before, "not refreshed before the margin");
	set_clock(t0 + 3600 - MARGIN);
	lifecycle_tick();
	CHECK(stub_refreshes == before + 1 &&
	    strcmp(stub_refresh_token, "fj-update-r0") == 0,
	    "refreshed by the timer once within the margin");
	lifecycle_tick();
	CHECK(stub_refreshes == before + 1, "once");

	commits = 0;
	stub_answer(FORGEJO_OK, "", "fj-update-a1", "fj-update-r1", 3600);
	CHECK(commits == 1 && qint("SELECT count(*) FROM access_tokens "
	    "WHERE grant_id = %Q AND forgejo_access_token = 'fj-update-a1' "
	    "AND forgejo_refresh_token = 'fj-update-r1'", gid) == 1,
	    "the new pair is stored, in one transaction");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_update(&s[0], gid, "fj-update-a1") &&
	    s[0].u.update.token_expires_at == now() + 3600,
	    "spawnd gets IMSG_TOKEN_UPDATE with the new token and expiry");
	CHECK(collect(&http, h, MSGS_MAX) == 0, "http hears nothing");
	lifecycle_tick();
	CHECK(stub_refreshes == before + 1 && quiet(),
	    "and the timer is content");
	end_session(sid, gid);
}

/* Forgejo refuses: the grant is revoked, its sessions told. */
static void
test_refused(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], s1[PROTO_SESSION_MAX];
	char		 s2[PROTO_SESSION_MAX];
	int64_t		 t0 = new_epoch();

	mkgrant(gid, "refused", 4, "dave", "fj-refused-a0", "fj-refused-r0",
	    now() + 3600, now() + 7200);
	open_session(gid, 4, "dave", s1);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session");
	set_clock(t0 + 3600 - 10);
	open_session(gid, 4, "dave", s2);
	CHECK(stub_cb != NULL && quiet(),
	    "a second one, within the margin, waits for the refresh");

	stub_answer(FORGEJO_REFUSED, "invalid_grant", "", "", 0);
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", gid) == 0 &&
	    qint("SELECT count(*) FROM refresh_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", gid) == 0,
	    "refused: every access and refresh token of the grant is revoked");
	CHECK(collect(&http, h, MSGS_MAX) == 2 && is_fail(&h[0], s2, 401) &&
	    is_grant(&h[1], IMSG_GRANT_REVOKED, gid),
	    "http: the waiting session fails with 401, then GRANT_REVOKED");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_grant(&s[0], IMSG_GRANT_REVOKED, gid),
	    "spawnd: GRANT_REVOKED");
	end_session(s1, gid);
	end_session(s2, gid);
	lifecycle_tick();
	CHECK(stub_cb == NULL && quiet(), "nothing more");
	open_session(gid, 4, "dave", s1);
	CHECK(collect(&http, h, MSGS_MAX) == 1 && is_fail(&h[0], s1, 401),
	    "a new session of the grant: 401");
}

/*
 * Forgejo unreachable: retried after 1, 2, 4 ... 60 s; no staleness
 * while the token lasts, GRANT_STALE once it has expired, and a success
 * ends it.  The token expires 2000 s after the start, so the first
 * attempt is at 1700 s, the margin before, and the others fall at 1701,
 * 1703, 1707, 1715, 1731, 1763, 1823, 1883, 1943 and 2003 s: the token
 * expires between the last two.
 */
static void
test_unavailable(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], sid[PROTO_SESSION_MAX];
	char		 s2[PROTO_SESSION_MAX];
	int64_t		 at[] = { 1700, 1701, 1703, 1707, 1715, 1731, 1763,
			    1823, 1883, 1943 };
	int		 before = stub_refreshes, i, early = 0, missed = 0;
	int		 stale = 0;
	int64_t		 t0 = new_epoch();

	mkgrant(gid, "down", 5, "erin", "fj-down-a0", "fj-down-r0",
	    t0 + 2000, t0 + 86400);
	open_session(gid, 5, "erin", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session");

	for (i = 0; i < (int)nitems(at); i++) {
		set_clock(t0 + at[i] - 1);
		lifecycle_tick();
		if (stub_cb != NULL) {
			early++;
			stub_answer(FORGEJO_UNAVAILABLE, "", "", "", 0);
		}
		set_clock(t0 + at[i]);
		lifecycle_tick();
		if (stub_cb == NULL)
			missed++;
		else
			stub_answer(FORGEJO_UNAVAILABLE, "", "", "", 0);
		stale += collect(&http, h, MSGS_MAX);
	}
	CHECK(early == 0 && missed == 0 &&
	    stub_refreshes == before + (int)nitems(at),
	    "unavailable: tried again after 1, 2, 4, 8, 16, 32, 60, 60 and "
	    "60 seconds, not sooner (%d early, %d missed)", early, missed);
	CHECK(stale == 0 && collect(&spawnd, s, MSGS_MAX) == 0,
	    "no GRANT_STALE, nothing to spawnd while the token is valid");

	open_session(gid, 5, "erin", s2);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_spawn(&s[0], s2, gid, "fj-down-a0") && stub_cb == NULL,
	    "a session opened during the backoff gets the valid old token");
	end_session(s2, gid);

	set_clock(t0 + 2000);
	lifecycle_tick();
	CHECK(stub_cb == NULL && collect(&http, h, MSGS_MAX) == 1 &&
	    is_grant(&h[0], IMSG_GRANT_STALE, gid) &&
	    h[0].u.grant.retry_after == 3,
	    "expired during the backoff: GRANT_STALE, retry after the "
	    "next attempt (%d s)", h[0].u.grant.retry_after);
	lifecycle_tick();
	CHECK(quiet(), "said once");

	open_session(gid, 5, "erin", s2);
	CHECK(collect(&http, h, MSGS_MAX) == 1 && is_fail(&h[0], s2, 503) &&
	    collect(&spawnd, s, MSGS_MAX) == 0,
	    "a session opened now fails with 503");
	end_session(s2, gid);

	set_clock(t0 + 2003);
	lifecycle_tick();
	CHECK(stub_cb != NULL, "attempts go on after expiry");
	stub_answer(FORGEJO_UNAVAILABLE, "", "", "", 0);
	CHECK(collect(&http, h, MSGS_MAX) == 1 &&
	    is_grant(&h[0], IMSG_GRANT_STALE, gid) &&
	    h[0].u.grant.retry_after == 60,
	    "each failure says again when the next attempt is (%d s)",
	    h[0].u.grant.retry_after);

	set_clock(t0 + 2063);
	lifecycle_tick();
	CHECK(stub_cb != NULL, "and when Forgejo is back");
	stub_answer(FORGEJO_OK, "", "fj-down-a1", "fj-down-r1", 3600);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_update(&s[0], gid, "fj-down-a1"),
	    "the new token goes to spawnd, whose replacement ends staleness");
	CHECK(collect(&http, h, MSGS_MAX) == 0, "nothing stale any more");
	end_session(sid, gid);
}

/* Broker-side revocation: /revoke, and the timer's checks. */
static void
test_broker_revoked(void)
{
	struct oauth_revoke_req	 req;
	struct msg		 h[MSGS_MAX], s[MSGS_MAX];
	char			 gid[SHA256_HEX_LEN], sid[PROTO_SESSION_MAX];
	int64_t		 t0 = new_epoch();

	mkgrant(gid, "revoke", 6, "frank", "fj-revoke-a0", "fj-revoke-r0",
	    now() + 3600, now() + 3600);
	open_session(gid, 6, "frank", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session");
	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.token, "revoke-refresh", sizeof(req.token));
	(void)strlcpy(req.token_type_hint, "refresh_token",
	    sizeof(req.token_type_hint));
	(void)strlcpy(req.client_id, CLIENT, sizeof(req.client_id));
	from_http(IMSG_OAUTH_REVOKE, &req, sizeof(req));
	CHECK(collect(&http, h, MSGS_MAX) == 2 &&
	    is_grant(&h[0], IMSG_GRANT_REVOKED, gid) &&
	    h[1].type == IMSG_OAUTH_REVOKE_OK,
	    "/revoke: http gets GRANT_REVOKED, and the answer REVOKE_OK");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_grant(&s[0], IMSG_GRANT_REVOKED, gid),
	    "spawnd gets GRANT_REVOKED");
	end_session(sid, gid);
	CHECK(quiet(), "the end of the session is taken quietly");

	/* Every broker token expires. */
	mkgrant(gid, "expiry", 7, "grace", "fj-expiry-a0", "fj-expiry-r0",
	    now() + 86400, now() + 600);
	open_session(gid, 7, "grace", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session");
	set_clock(t0 + 599);
	lifecycle_tick();
	CHECK(quiet(), "its broker tokens live: nothing happens");
	set_clock(t0 + 600);
	lifecycle_tick();
	CHECK(collect(&http, h, MSGS_MAX) == 1 &&
	    is_grant(&h[0], IMSG_GRANT_REVOKED, gid) &&
	    collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_grant(&s[0], IMSG_GRANT_REVOKED, gid),
	    "once they have expired: GRANT_REVOKED within a tick");
	end_session(sid, gid);

	/* The client is pruned, and its tokens with it. */
	sql("INSERT INTO clients (client_id, client_secret, redirect_uris, "
	    "metadata_json, created_at, last_used, "
	    "token_endpoint_auth_method) VALUES ('lc-pruned', NULL, '[]', "
	    "NULL, %lld, NULL, 'none')", (long long)now());
	mkgrant(gid, "pruned", 8, "heidi", "fj-pruned-a0", "fj-pruned-r0",
	    now() + 86400, now() + 86400);
	sql("UPDATE access_tokens SET client_id = 'lc-pruned' "
	    "WHERE grant_id = %Q", gid);
	sql("UPDATE refresh_tokens SET client_id = 'lc-pruned' "
	    "WHERE grant_id = %Q", gid);
	open_session(gid, 8, "heidi", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session");
	sql("DELETE FROM clients WHERE client_id = 'lc-pruned'");
	lifecycle_tick();
	CHECK(collect(&http, h, MSGS_MAX) == 1 &&
	    is_grant(&h[0], IMSG_GRANT_REVOKED, gid) &&
	    collect(&spawnd, s, MSGS_MAX) == 1,
	    "a pruned client: GRANT_REVOKED within a tick");
	end_session(sid, gid);
}

/*
 * Two logins of one user are two broker grants of one Forgejo grant:
 * the newer pair is taken over, and a refusal caused by it is no
 * revocation.
 */
static void
test_two_logins(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 ga[SHA256_HEX_LEN], gb[SHA256_HEX_LEN];
	char		 gc[SHA256_HEX_LEN], sa[PROTO_SESSION_MAX];
	char		 sb[PROTO_SESSION_MAX];
	int		 before = stub_refreshes;
	int64_t		 t0 = new_epoch();

	mkgrant(ga, "login-a", 9, "ivan", "fj-login-a", "fj-login-ra",
	    now() + 100, now() + 86400);
	mkgrant(gb, "login-b", 9, "ivan", "fj-login-b", "fj-login-rb",
	    now() + 3600, now() + 86400);
	open_session(ga, 9, "ivan", sa);
	CHECK(stub_refreshes == before && collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_spawn(&s[0], sa, ga, "fj-login-b"),
	    "an old pair is not refreshed: the newer login's is taken over");
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND forgejo_refresh_token = 'fj-login-rb'", ga) == 1,
	    "and stored in the older grant");

	open_session(gb, 9, "ivan", sb);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1, "a session of each grant");
	set_clock(t0 + 3600 - 10);
	lifecycle_tick();
	CHECK(stub_refreshes == before + 1, "one refresh for both grants");
	mkgrant(gc, "login-c", 9, "ivan", "fj-login-c", "fj-login-rc",
	    now() + 3600, now() + 86400);
	stub_answer(FORGEJO_REFUSED, "unauthorized_client", "", "", 0);
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE "
	    "forgejo_user_id = 9 AND revoked_at IS NULL") == 3,
	    "refused because a login came meanwhile: nothing is revoked");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 2 &&
	    is_update(&s[0], ga, "fj-login-c") &&
	    is_update(&s[1], gb, "fj-login-c") &&
	    collect(&http, h, MSGS_MAX) == 0,
	    "both grants take over the newest pair");

	set_clock(t0 + 2 * 3600);
	lifecycle_tick();
	CHECK(stub_refreshes == before + 2 &&
	    strcmp(stub_refresh_token, "fj-login-rc") == 0,
	    "the next refresh starts from the newest pair");
	stub_answer(FORGEJO_OK, "", "fj-login-d", "fj-login-rd", 3600);
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE "
	    "forgejo_user_id = 9 AND forgejo_refresh_token = "
	    "'fj-login-rd'") == 3,
	    "and its result goes to every grant of the user");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 2 &&
	    is_update(&s[0], ga, "fj-login-d") &&
	    is_update(&s[1], gb, "fj-login-d"),
	    "with an update for each grant in use");
	end_session(sa, ga);
	end_session(sb, gb);
}

/*
 * Two logins in the same second: their pairs expire together.  The one
 * Forgejo refuses gives way to the other, and is never tried again.
 */
static void
test_same_second(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 ge[SHA256_HEX_LEN], gf[SHA256_HEX_LEN];
	char		 sid[PROTO_SESSION_MAX], dead[FORGEJO_TOKEN_MAX];
	int64_t		 t0 = new_epoch();

	mkgrant(ge, "tie-e", 13, "olivia", "fj-tie-a1", "fj-tie-r1",
	    t0 + 100, t0 + 86400);
	mkgrant(gf, "tie-f", 13, "olivia", "fj-tie-a2", "fj-tie-r2",
	    t0 + 100, t0 + 86400);
	open_session(ge, 13, "olivia", sid);
	CHECK(stub_cb != NULL, "a refresh from one of two pairs of a second");
	(void)strlcpy(dead, stub_refresh_token, sizeof(dead));
	stub_answer(FORGEJO_REFUSED, "unauthorized_client", "", "", 0);
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE "
	    "forgejo_user_id = 13 AND revoked_at IS NULL") == 2 &&
	    qint("SELECT count(*) FROM access_tokens WHERE "
	    "forgejo_user_id = 13 AND forgejo_refresh_token = %Q", dead) == 0,
	    "refused: the other pair replaces it, nothing is revoked");
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 && s[0].type == IMSG_SPAWN &&
	    collect(&http, h, MSGS_MAX) == 0, "the session starts");
	lifecycle_tick();
	CHECK(stub_cb != NULL && strcmp(stub_refresh_token, dead) != 0,
	    "the next refresh starts from the other pair");
	stub_answer(FORGEJO_OK, "", "fj-tie-a3", "fj-tie-r3", 3600);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_update(&s[0], ge, "fj-tie-a3"), "and works");
	end_session(sid, ge);
}

/* A stand-in that answers at once must not trip the bookkeeping. */
static void
test_sync(void)
{
	struct msg	 h[MSGS_MAX], s[MSGS_MAX];
	char		 gid[SHA256_HEX_LEN], sid[PROTO_SESSION_MAX];

	(void)new_epoch();
	stub_now = 1;
	stub_now_result = FORGEJO_OK;
	mkgrant(gid, "sync-ok", 10, "judy", "fj-sync-a0", "fj-sync-r0",
	    now() + 10, now() + 86400);
	open_session(gid, 10, "judy", sid);
	CHECK(collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_spawn(&s[0], sid, gid, "fj-access-sync"),
	    "answered at once: spawned with the new token");
	end_session(sid, gid);

	stub_now_result = FORGEJO_REFUSED;
	mkgrant(gid, "sync-refused", 11, "mallory", "fj-sync-a1",
	    "fj-sync-r1", now() + 10, now() + 86400);
	open_session(gid, 11, "mallory", sid);
	CHECK(collect(&http, h, MSGS_MAX) == 2 && is_fail(&h[0], sid, 401) &&
	    is_grant(&h[1], IMSG_GRANT_REVOKED, gid) &&
	    collect(&spawnd, s, MSGS_MAX) == 1 &&
	    is_grant(&s[0], IMSG_GRANT_REVOKED, gid),
	    "refused at once: 401 to the session, GRANT_REVOKED to both");
	end_session(sid, gid);

	stub_now_result = FORGEJO_UNAVAILABLE;
	mkgrant(gid, "sync-down", 12, "niaj", "fj-sync-a2", "fj-sync-r2",
	    now() - 1, now() + 86400);
	open_session(gid, 12, "niaj", sid);
	CHECK(collect(&http, h, MSGS_MAX) == 1 && is_fail(&h[0], sid, 503),
	    "expired and unreachable at once: 503");
	end_session(sid, gid);
	stub_now = 0;
	CHECK(quiet(), "nothing else");
}

/* No Forgejo token in the log. */
static void
test_log(void)
{
	char	*buf;
	size_t	 len;

	fflush(stderr);
	if (read_file(path("log"), &buf, &len, 64 * 1024 * 1024) == -1)
		die("read log");
	CHECK(!contains(buf, len, "fj-"),
	    "no forgejo token in the log");
	CHECK(contains(buf, len, "user bob: forgejo token refreshed, expires "
	    "in 3600 s"),
	    "a refresh is logged with the user and the expiry");
	CHECK(contains(buf, len, "user dave: forgejo refused to refresh the "
	    "grant (invalid_grant); its tokens are revoked"),
	    "a refusal is logged with the user and the error");
	free(buf);
}

static void
capture_start(void)
{
	int	 fd = -1;

	fflush(stderr);
	if ((saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    (fd = open(path("log"), O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1)
		die("capture_start");
	close(fd);
}

static void
capture_end(void)
{
	char	*buf;
	size_t	 len;

	fflush(stderr);
	if (dup2(saved_stderr, STDERR_FILENO) == -1)
		die("capture_end");
	close(saved_stderr);
	if (read_file(path("log"), &buf, &len, 64 * 1024 * 1024) == 0) {
		fwrite(buf, 1, len, stderr);
		free(buf);
	}
}

static void
cleanup(void)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlink(path(de->d_name));
	}
	closedir(d);
	(void)rmdir(dir);
}

int
main(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)snprintf(dir, sizeof(dir), "%s/lifecycle_test.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");

	(void)new_epoch();
	capture_start();
	log_init(1, LOG_DAEMON);
	log_setverbose(2);
	log_procinit("tokend");

	memset(&tokend_env, 0, sizeof(tokend_env));
	(void)strlcpy(tokend_env.cfg.database, path("lifecycle.db"),
	    sizeof(tokend_env.cfg.database));
	tokend_env.cfg.access_lifetime = 3600;
	tokend_env.cfg.refresh_lifetime = 86400;
	tokend_env.cfg.refresh_grace = 30;
	tokend_env.cfg.refresh_margin = MARGIN;

	event_init();
	if (db_open(tokend_env.cfg.database) == -1) {
		printf("not ok 1 - db_open\n");
		return 1;
	}
	sqlite3_commit_hook(db_handle(), count_commits, NULL);
	sql("INSERT INTO clients (client_id, client_secret, redirect_uris, "
	    "metadata_json, created_at, last_used, token_endpoint_auth_method) "
	    "VALUES (%Q, NULL, '[]', NULL, %lld, NULL, 'none')", CLIENT,
	    (long long)now());
	channel(&http, PROC_HTTP, "http");
	channel(&spawnd, PROC_SPAWND, "spawnd");
	oauth_init();
	lifecycle_init();

	test_fresh();
	test_serialised();
	test_update();
	test_refused();
	test_unavailable();
	test_broker_revoked();
	test_two_logins();
	test_same_second();
	test_sync();
	test_log();

	db_close();
	capture_end();
	cleanup();
	return regress_done();
}
