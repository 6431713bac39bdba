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
 * tokend/forgejo.c against the Forgejo test double: a real authorization
 * code flow with PKCE, refresh rotation, refusals, a revoked grant, and
 * a server that answers garbage, answers late, hangs up, is not there or
 * does not speak TLS.  Everything forgejo.c logs is captured and must
 * hold no secret.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sha2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tokend.h"
#include "util.h"
#include "regress.h"

#define CLIENT_ID	"broker-test"
#define CLIENT_SECRET	"s3cret-of-the-broker"
#define PUBLIC_URL	"http://127.0.0.1:9/broker/"
#define REDIRECT_URI	"http://127.0.0.1:9/broker/callback"
#define SCOPE		"read:user read:repository"
#define WATCHDOG	100	/* seconds for the whole test */
#define MAX_SECRETS	64

struct result {
	int			 calls;
	enum forgejo_result	 res;
	char			 error[64];
	struct forgejo_tokens	 tok;
	struct forgejo_user	 user;
	struct result		*chain;	/* get_user from the cb */
};

struct answer {
	int		 status;
	char		 location[4096];
	char		 cookie[256];
};

static void	 double_stop(void);
static void	 on_signal(int);
static int	 double_start(void);
static int	 http(const char *, const char *, const char *,
		    struct answer *);
static int	 control(const char *);
static void	 query_param(const char *, const char *, char *, size_t);
static int	 starts(const char *, const char *);
static void	 remember(const char *);
static void	 configure(const char *);
static void	 tokens_cb(enum forgejo_result, const char *,
		    const struct forgejo_tokens *, void *);
static void	 user_cb(enum forgejo_result, const struct forgejo_user *,
		    void *);
static void	 run(struct result *);
static double	 now(void);
static int	 authorize(const char *, char *, size_t, char *, size_t);
static void	 test_bad_urls(void);
static void	 test_authorize_url(void);
static void	 test_flow(void);
static void	 test_unreachable(int *);
static void	 test_log(int);
static pid_t	 canned_start(char **, int *, int);
static void	 test_canned(void);

static pid_t	 double_pid = -1;
static pid_t	 test_pid;
static int	 port;
static char	 cookie[256];
static char	*secrets[MAX_SECRETS];
static int	 nsecrets;
static char	 logpath[PATH_MAX];
static int	 saved_stderr = -1;

static void
double_stop(void)
{
	if (double_pid <= 0 || getpid() != test_pid)
		return;
	kill(double_pid, SIGTERM);
	waitpid(double_pid, NULL, 0);
	double_pid = -1;
	if (logpath[0] != '\0')
		unlink(logpath);
}

static void
on_signal(int sig)
{
	static const char msg[] = "not ok - forgejo_test killed or timed out\n";

	if (double_pid > 0)
		kill(double_pid, SIGKILL);
	if (logpath[0] != '\0')
		unlink(logpath);
	(void)write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

/* Start the double, read "port N" from its stdout. */
static int
double_start(void)
{
	char		 path[PATH_MAX], src[PATH_MAX], line[64];
	const char	*top;
	FILE		*f;
	int		 p[2];

	if ((top = getenv("TOP")) != NULL && *top != '\0')
		(void)snprintf(path, sizeof(path),
		    "%s/regress/forgejo-double.py", top);
	else {
		(void)strlcpy(src, __FILE__, sizeof(src));
		(void)snprintf(path, sizeof(path), "%s/../forgejo-double.py",
		    dirname(src));
	}
	if (pipe(p) == -1 || (double_pid = fork()) == -1)
		return -1;
	if (double_pid == 0) {
#ifdef __linux__
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		if (dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		close(p[0]);
		close(p[1]);
		execlp("python3", "python3", path, "--port", "0",
		    "--auto-approve", "--access-lifetime", "3", "--app",
		    CLIENT_ID ":" CLIENT_SECRET ":" REDIRECT_URI
		    ":confidential",
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* f stays open: the double may write to its stdout again. */
	if ((f = fdopen(p[0], "r")) == NULL ||
	    fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "port %d", &port) != 1)
		return -1;
	return 0;
}

/* A blocking HTTP/1.0 exchange with the double, for the browser part. */
static int
http(const char *method, const char *path, const char *ck,
    struct answer *a)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { 10, 0 };
	char			 buf[16384], *p;
	size_t			 len = 0;
	ssize_t			 n;
	int			 fd;

	memset(a, 0, sizeof(*a));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	dprintf(fd, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n%s%s%s"
	    "Content-Length: 0\r\n\r\n", method, path, port,
	    ck != NULL ? "Cookie: " : "", ck != NULL ? ck : "",
	    ck != NULL ? "\r\n" : "");
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &a->status) != 1)
		return -1;
	if ((p = strcasestr(buf, "\r\nLocation: ")) != NULL)
		(void)snprintf(a->location, sizeof(a->location), "%.*s",
		    (int)strcspn(p + 12, "\r"), p + 12);
	if ((p = strcasestr(buf, "\r\nSet-Cookie: forgejo_session=")) != NULL)
		(void)snprintf(a->cookie, sizeof(a->cookie), "%.*s",
		    (int)strcspn(p + 14, ";\r"), p + 14);
	return 0;
}

/* POST to a /_double/ control endpoint; returns the status. */
static int
control(const char *path)
{
	struct answer	 a;

	if (http("POST", path, NULL, &a) == -1)
		return -1;
	return a.status;
}

/* The value of name in the query of url, percent-decoded. */
static void
query_param(const char *url, const char *name, char *out, size_t len)
{
	const char	*p = strchr(url, '?');
	size_t		 n = strlen(name), o = 0;
	unsigned int	 c;

	out[0] = '\0';
	while (p != NULL && (strncmp(p + 1, name, n) != 0 || p[n + 1] != '='))
		p = strchr(p + 1, '&');
	if (p == NULL)
		return;
	for (p += n + 2; *p != '\0' && *p != '&' && o + 1 < len; p++) {
		if (*p == '%' && sscanf(p + 1, "%2x", &c) == 1) {
			out[o++] = (char)c;
			p += 2;
		} else
			out[o++] = *p == '+' ? ' ' : *p;
	}
	out[o] = '\0';
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
remember(const char *secret)
{
	/* The canned answers' tokens are short and not secret. */
	if (nsecrets < MAX_SECRETS && strlen(secret) >= 16)
		secrets[nsecrets++] = strdup(secret);
}

static void
configure(const char *url)
{
	struct cfg_tokend	 cfg;

	memset(&cfg, 0, sizeof(cfg));
	(void)strlcpy(cfg.forgejo_url, url, sizeof(cfg.forgejo_url));
	(void)strlcpy(cfg.forgejo_client_id, CLIENT_ID,
	    sizeof(cfg.forgejo_client_id));
	(void)strlcpy(cfg.forgejo_client_secret, CLIENT_SECRET,
	    sizeof(cfg.forgejo_client_secret));
	(void)strlcpy(cfg.forgejo_scope, SCOPE, sizeof(cfg.forgejo_scope));
	(void)strlcpy(cfg.public_url, PUBLIC_URL, sizeof(cfg.public_url));
	forgejo_init(&cfg);
}

static void
tokens_cb(enum forgejo_result res, const char *error,
    const struct forgejo_tokens *tok, void *arg)
{
	struct result	*r = arg;

	r->calls++;
	r->res = res;
	(void)strlcpy(r->error, error, sizeof(r->error));
	if (tok != NULL) {
		r->tok = *tok;
		remember(tok->access_token);
		remember(tok->refresh_token);
	}
	if (res == FORGEJO_OK && r->chain != NULL)
		forgejo_get_user(tok->access_token, user_cb, r->chain);
}

static void
user_cb(enum forgejo_result res, const struct forgejo_user *user, void *arg)
{
	struct result	*r = arg;

	r->calls++;
	r->res = res;
	if (user != NULL)
		r->user = *user;
}

/* Run the event loop until r (and what it chains) has its answer. */
static void
run(struct result *r)
{
	while (r->calls == 0 || (r->chain != NULL && r->res == FORGEJO_OK &&
	    r->chain->calls == 0))
		if (event_loop(EVLOOP_ONCE) != 0)
			break;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A fresh authorization at the double; fills code and verifier. */
static int
authorize(const char *state, char *code, size_t codelen, char *verifier,
    size_t vlen)
{
	SHA2_CTX	 ctx;
	uint8_t		 md[SHA256_DIGEST_LENGTH];
	char		 challenge[64], url[4096], prefix[64], back[256];
	struct answer	 a;

	code[0] = '\0';
	if (random_token(verifier, vlen, 32) == -1)
		return -1;
	remember(verifier);
	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)verifier, strlen(verifier));
	SHA256Final(md, &ctx);
	(void)base64url_encode(md, sizeof(md), challenge, sizeof(challenge));
	(void)snprintf(prefix, sizeof(prefix), "http://127.0.0.1:%d", port);
	if (forgejo_authorize_url(url, sizeof(url), state, challenge) == -1 ||
	    !starts(url, prefix))
		return -1;
	if (http("GET", url + strlen(prefix), cookie, &a) == -1 ||
	    a.status != 303 || !starts(a.location, REDIRECT_URI "?"))
		return -1;
	query_param(a.location, "code", code, codelen);
	query_param(a.location, "state", back, sizeof(back));
	remember(code);
	return strcmp(back, state) == 0 ? 0 : -1;
}

/* forgejo_init() must refuse these, by exiting. */
static void
test_bad_urls(void)
{
	static const char *const bad[] = {
		"ftp://forgejo.example", "http://", "http:///path",
		"http://host:0", "http://host:65536", "http://host:80x",
		"http://[::1", "http://[zz::1]:80", "http://user@host",
		"http://host/a?b", "http://ho st", "http://host:", NULL
	};
	struct cfg_tokend	 cfg;
	const char *const	*u;
	pid_t			 pid;
	int			 status;

	for (u = bad; *u != NULL; u++) {
		fflush(stdout);
		if ((pid = fork()) == 0) {
			/* Keep the expected fatal message out of the log. */
			(void)freopen("/dev/null", "w", stderr);
			configure(*u);
			_exit(0);
		}
		status = 0;
		(void)waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "forgejo_init refuses \"%s\"", *u);
	}

	/* A configuration string without its NUL. */
	if ((pid = fork()) == 0) {
		(void)freopen("/dev/null", "w", stderr);
		memset(&cfg, 'a', sizeof(cfg));
		forgejo_init(&cfg);
		_exit(0);
	}
	(void)waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "forgejo_init refuses unterminated strings");
}

static void
test_authorize_url(void)
{
	char	 url[2048], want[2048];
	size_t	 len;

	configure("HTTPS://Forgejo.example:8443/git//");
	CHECK(forgejo_authorize_url(url, sizeof(url), "s", "c") == 0 &&
	    starts(url, "https://Forgejo.example:8443/git/login/oauth/"
	    "authorize?client_id="), "https, port and base path: %s", url);
	configure("http://[::1]:3000");
	CHECK(forgejo_authorize_url(url, sizeof(url), "s", "c") == 0 &&
	    starts(url, "http://[::1]:3000/login/oauth/authorize?"),
	    "ipv6 literal: %s", url);

	configure("http://127.0.0.1:3000/");
	(void)snprintf(want, sizeof(want), "http://127.0.0.1:3000"
	    "/login/oauth/authorize?client_id=" CLIENT_ID
	    "&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9%%2Fbroker%%2Fcallback"
	    "&response_type=code&state=a%%20b%%26c%%3Dd%%2F%%C3%%A9%%2B%%25"
	    "&code_challenge=Ab-_~9.x%%3D&code_challenge_method=S256"
	    "&scope=read%%3Auser%%20read%%3Arepository");
	CHECK(forgejo_authorize_url(url, sizeof(url), "a b&c=d/\xc3\xa9+%",
	    "Ab-_~9.x=") == 0 && strcmp(url, want) == 0,
	    "authorize url percent-encodes every value: %s", url);
	len = strlen(want);
	CHECK(forgejo_authorize_url(url, len + 1, "a b&c=d/\xc3\xa9+%",
	    "Ab-_~9.x=") == 0, "authorize url fits exactly");
	CHECK(forgejo_authorize_url(url, len, "a b&c=d/\xc3\xa9+%",
	    "Ab-_~9.x=") == -1 && url[0] == '\0',
	    "authorize url one byte short is refused");
}

static void
test_flow(void)
{
	struct result	 ex, user, bad, again, u[3], rf, old, gu;
	struct answer	 a;
	char		 code[256], verifier[64], access[FORGEJO_TOKEN_MAX];
	char		 refresh[FORGEJO_TOKEN_MAX];
	double		 start, took;
	time_t		 t;
	int		 i;

	CHECK(http("GET", "/user/login?user=alice", NULL, &a) == 0 &&
	    a.status == 303 && strcmp(a.cookie, "forgejo_session=alice") == 0,
	    "test login sets the session cookie");
	(void)strlcpy(cookie, a.cookie, sizeof(cookie));
	CHECK(authorize("st ate+/?&\xc3\xa9", code, sizeof(code), verifier,
	    sizeof(verifier)) == 0 && strncmp(code, "gta_", 4) == 0,
	    "authorize with PKCE S256 redirects with a code and the state");

	/* The exchange, and /api/v1/user started from its callback. */
	memset(&ex, 0, sizeof(ex));
	memset(&user, 0, sizeof(user));
	ex.chain = &user;
	t = time(NULL);
	forgejo_exchange_code(code, verifier, tokens_cb, &ex);
	CHECK(ex.calls == 0, "the callback never runs synchronously");
	run(&ex);
	CHECK(ex.calls == 1 && ex.res == FORGEJO_OK && ex.error[0] == '\0',
	    "exchange_code: %s", forgejo_result_str(ex.res));
	CHECK(strchr(ex.tok.access_token, '.') != NULL &&
	    strlen(ex.tok.refresh_token) > 100,
	    "exchange_code: JWT-shaped access and refresh tokens");
	CHECK(ex.tok.expires_at >= t + 2 && ex.tok.expires_at <= t + 5,
	    "exchange_code: expires_at is now + expires_in (3)");
	CHECK(user.calls == 1 && user.res == FORGEJO_OK && user.user.id == 1 &&
	    strcmp(user.user.login, "alice") == 0,
	    "get_user from the exchange callback: id %lld login %s",
	    (long long)user.user.id, user.user.login);
	(void)strlcpy(access, ex.tok.access_token, sizeof(access));
	(void)strlcpy(refresh, ex.tok.refresh_token, sizeof(refresh));

	memset(&again, 0, sizeof(again));
	forgejo_exchange_code(code, verifier, tokens_cb, &again);
	run(&again);
	CHECK(again.calls == 1 && again.res == FORGEJO_REFUSED &&
	    strcmp(again.error, "unauthorized_client") == 0,
	    "a used code is refused: %s", again.error);

	/* Several requests in flight at once. */
	memset(u, 0, sizeof(u));
	memset(&bad, 0, sizeof(bad));
	for (i = 0; i < 3; i++)
		forgejo_get_user(access, user_cb, &u[i]);
	forgejo_exchange_code("gta_nosuchcodeatallxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxx", verifier, tokens_cb, &bad);
	for (i = 0; i < 3; i++)
		run(&u[i]);
	run(&bad);
	CHECK(u[0].calls == 1 && u[1].calls == 1 && u[2].calls == 1 &&
	    u[0].res == FORGEJO_OK && u[1].res == FORGEJO_OK &&
	    u[2].res == FORGEJO_OK && strcmp(u[2].user.login, "alice") == 0,
	    "three concurrent get_user calls succeed");
	CHECK(bad.calls == 1 && bad.res == FORGEJO_REFUSED &&
	    (strcmp(bad.error, "unauthorized_client") == 0 ||
	    strcmp(bad.error, "invalid_grant") == 0),
	    "a wrong code is refused: %s", bad.error);

	memset(&rf, 0, sizeof(rf));
	t = time(NULL);
	forgejo_refresh(refresh, tokens_cb, &rf);
	run(&rf);
	CHECK(rf.calls == 1 && rf.res == FORGEJO_OK &&
	    strcmp(rf.tok.refresh_token, refresh) != 0 &&
	    rf.tok.access_token[0] != '\0' && rf.tok.expires_at >= t + 2 &&
	    rf.tok.expires_at <= t + 5, "refresh rotates the tokens: %s",
	    forgejo_result_str(rf.res));
	memset(&old, 0, sizeof(old));
	forgejo_refresh(refresh, tokens_cb, &old);
	run(&old);
	CHECK(old.calls == 1 && old.res == FORGEJO_REFUSED &&
	    strcmp(old.error, "unauthorized_client") == 0,
	    "the old refresh token is refused: %s", old.error);
	(void)strlcpy(access, rf.tok.access_token, sizeof(access));
	(void)strlcpy(refresh, rf.tok.refresh_token, sizeof(refresh));

	memset(&gu, 0, sizeof(gu));
	forgejo_get_user("garbage", user_cb, &gu);
	run(&gu);
	CHECK(gu.calls == 1 && gu.res == FORGEJO_REFUSED,
	    "get_user with a garbage token is refused");
	memset(&gu, 0, sizeof(gu));
	forgejo_get_user("a\r\nX-Injected: 1", user_cb, &gu);
	CHECK(gu.calls == 0, "a malformed token is refused asynchronously");
	run(&gu);
	CHECK(gu.calls == 1 && gu.res == FORGEJO_REFUSED,
	    "a malformed token is refused without being sent");

	/* An expired access token, and the refresh that follows. */
	CHECK(control("/_double/expire-tokens?user=alice") == 200,
	    "double: expire-tokens");
	memset(&gu, 0, sizeof(gu));
	forgejo_get_user(access, user_cb, &gu);
	run(&gu);
	CHECK(gu.calls == 1 && gu.res == FORGEJO_REFUSED,
	    "get_user with an expired token is refused");
	memset(&rf, 0, sizeof(rf));
	forgejo_refresh(refresh, tokens_cb, &rf);
	run(&rf);
	CHECK(rf.res == FORGEJO_OK, "refresh after expiry: %s",
	    forgejo_result_str(rf.res));
	(void)strlcpy(access, rf.tok.access_token, sizeof(access));
	(void)strlcpy(refresh, rf.tok.refresh_token, sizeof(refresh));

	/* A server answering garbage. */
	CHECK(control("/_double/mode?mode=garbage") == 200, "double: garbage");
	memset(&ex, 0, sizeof(ex));
	forgejo_exchange_code(code, verifier, tokens_cb, &ex);
	memset(&rf, 0, sizeof(rf));
	forgejo_refresh(refresh, tokens_cb, &rf);
	memset(&gu, 0, sizeof(gu));
	forgejo_get_user(access, user_cb, &gu);
	run(&ex);
	run(&rf);
	run(&gu);
	CHECK(ex.calls == 1 && ex.res == FORGEJO_BAD_ANSWER &&
	    rf.calls == 1 && rf.res == FORGEJO_BAD_ANSWER &&
	    gu.calls == 1 && gu.res == FORGEJO_BAD_ANSWER,
	    "garbage is a bad answer: %s, %s, %s", forgejo_result_str(ex.res),
	    forgejo_result_str(rf.res), forgejo_result_str(gu.res));

	/* A slow server, with a timeout shorter than its delay. */
	CHECK(control("/_double/mode?mode=slow&seconds=3") == 200,
	    "double: slow");
	forgejo_set_timeout(1);
	memset(&gu, 0, sizeof(gu));
	start = now();
	forgejo_get_user(access, user_cb, &gu);
	run(&gu);
	took = now() - start;
	CHECK(gu.calls == 1 && gu.res == FORGEJO_UNAVAILABLE && took > 0.9 &&
	    took < 2.5, "a slow server times out: %s after %.1f s",
	    forgejo_result_str(gu.res), took);
	forgejo_set_timeout(0);

	/* A server that hangs up without answering. */
	CHECK(control("/_double/mode?mode=down") == 200, "double: down");
	memset(&gu, 0, sizeof(gu));
	forgejo_get_user(access, user_cb, &gu);
	run(&gu);
	CHECK(gu.calls == 1 && gu.res == FORGEJO_UNAVAILABLE,
	    "a server that hangs up is unavailable: %s",
	    forgejo_result_str(gu.res));
	CHECK(control("/_double/mode?mode=normal") == 200, "double: normal");

	/* Garbage did not consume the refresh token; revocation does. */
	memset(&rf, 0, sizeof(rf));
	forgejo_refresh(refresh, tokens_cb, &rf);
	run(&rf);
	CHECK(rf.res == FORGEJO_OK, "refresh after the outage: %s",
	    forgejo_result_str(rf.res));
	CHECK(control("/_double/revoke-grant?user=alice&client_id=" CLIENT_ID)
	    == 200, "double: revoke-grant");
	memset(&old, 0, sizeof(old));
	forgejo_refresh(rf.tok.refresh_token, tokens_cb, &old);
	run(&old);
	CHECK(old.calls == 1 && old.res == FORGEJO_REFUSED &&
	    strcmp(old.error, "invalid_grant") == 0,
	    "refresh of a revoked grant is refused: %s", old.error);
	memset(&gu, 0, sizeof(gu));
	forgejo_get_user(rf.tok.access_token, user_cb, &gu);
	run(&gu);
	CHECK(gu.res == FORGEJO_REFUSED,
	    "get_user with a token of a revoked grant is refused");
}

static void
test_unreachable(int *closed)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct result		 r;
	char			 url[64];
	double			 start;
	int			 fd;

	/* A port that nobody listens on. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		*closed = 0;
	else
		*closed = ntohs(sin.sin_port);
	if (fd != -1)
		close(fd);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", *closed);
	configure(url);
	memset(&r, 0, sizeof(r));
	start = now();
	forgejo_refresh("x.y.z", tokens_cb, &r);
	run(&r);
	CHECK(r.calls == 1 && r.res == FORGEJO_UNAVAILABLE &&
	    now() - start < 2, "a closed port is unavailable: %s",
	    forgejo_result_str(r.res));

	/* https to the double, which speaks plain HTTP. */
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	configure(url);
	forgejo_set_timeout(3);
	memset(&r, 0, sizeof(r));
	forgejo_get_user("x.y.z", user_cb, &r);
	run(&r);
	CHECK(r.calls == 1 && r.res == FORGEJO_UNAVAILABLE,
	    "tls to a server without tls is unavailable: %s",
	    forgejo_result_str(r.res));
	forgejo_set_timeout(0);
}

/*
 * A server of canned answers, one per connection and in order, for
 * what the double never says.  The first request is copied to reqfd.
 */
static pid_t
canned_start(char **answers, int *cport, int reqfd)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 req[8192], *p;
	size_t			 n;
	ssize_t			 r;
	pid_t			 pid;
	int			 s, c, i;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	*cport = ntohs(sin.sin_port);
	if ((pid = fork()) != 0) {
		close(s);
		return pid;
	}
	signal(SIGALRM, SIG_DFL);
	alarm(WATCHDOG / 2);
	for (i = 0; answers[i] != NULL; i++) {
		if ((c = accept(s, NULL, NULL)) == -1)
			_exit(1);
		/* The headers, then Content-Length bytes of body. */
		n = 0;
		while (n < sizeof(req) - 1 && (r = read(c, req + n,
		    sizeof(req) - 1 - n)) > 0) {
			req[n += r] = '\0';
			if ((p = strstr(req, "\r\n\r\n")) == NULL)
				continue;
			if (strcasestr(req, "\r\nContent-Length: ") == NULL ||
			    n - (p + 4 - req) >= strtoul(strcasestr(req,
			    "\r\nContent-Length: ") + 18, NULL, 10))
				break;
		}
		if (i == 0)
			(void)write(reqfd, req, n);
		(void)write(c, answers[i], strlen(answers[i]));
		close(c);
	}
	_exit(0);
}

#define OK200	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"

static void
test_canned(void)
{
	static char	 ok_eof[] = "HTTP/1.0 200 OK\r\n\r\n"
	    "{\"access_token\":\"a.b.c\",\"refresh_token\":\"r.s.t\"}";
	static char	 chunked[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
	static char	 s502[] = "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Length: 0\r\n\r\n";
	static char	 trunc[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 99\r\n"
	    "\r\n{\"access_token\":";
	static char	 html400[] = "HTTP/1.1 400 Bad Request\r\n\r\n"
	    "<html>";
	static char	 dup[] = OK200 "{\"access_token\":\"a\","
	    "\"access_token\":\"b\",\"refresh_token\":\"r\"}";
	static char	 real[] = OK200 "{\"access_token\":\"a\","
	    "\"refresh_token\":\"r\",\"expires_in\":3600.0}";
	static const char body60[] = "{\"access_token\":\"a\","
	    "\"refresh_token\":\"r\",\"expires_in\":60}";
	static const char form[] = "grant_type=refresh_token&refresh_token="
	    "r%2B%2F%3D%26x&client_id=" CLIENT_ID "&client_secret="
	    CLIENT_SECRET;
	static char	 idstr[] = OK200
	    "{\"id\":\"1\",\"login\":\"alice\"}";
	static char	 s404[] = "HTTP/1.1 404 Not Found\r\n\r\n{}";
	static char	 http2[] = "HTTP/2 200\r\n\r\n"
	    "{\"id\":1,\"login\":\"a\"}";
	static char	 client[] = "HTTP/1.1 400 Bad Request\r\n\r\n"
	    "{\"error\":\"invalid_client\",\"error_description\":\"x\"}";
	char		*answers[16], *bigtok, *huge, url[64], req[8192];
	char		 clen[256], want[256];
	struct result	 r[14];
	const char	*names[14];
	int		 cport, p[2], i = 0, n, status;
	time_t		 t;
	ssize_t		 len;
	pid_t		 pid;

	/* A token one byte too long, and an answer one byte too long. */
	bigtok = calloc(1, FORGEJO_TOKEN_MAX + 128);
	huge = calloc(1, FORGEJO_ANSWER_MAX + 64);
	if (bigtok == NULL || huge == NULL || pipe(p) == -1)
		return;
	n = snprintf(bigtok, FORGEJO_TOKEN_MAX + 128, OK200
	    "{\"access_token\":\"%0*d\",\"refresh_token\":\"r\"}",
	    FORGEJO_TOKEN_MAX, 0);
	n = snprintf(huge, 64, "HTTP/1.0 200 OK\r\n\r\n");
	memset(huge + n, ' ', FORGEJO_ANSWER_MAX + 1 - n);
	huge[FORGEJO_ANSWER_MAX + 1] = '\0';
	(void)snprintf(clen, sizeof(clen), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: %zu\r\n\r\n%s{\"trailing\": 1}",
	    strlen(body60), body60);

	answers[0] = ok_eof;
	answers[1] = chunked;
	answers[2] = s502;
	answers[3] = trunc;
	answers[4] = html400;
	answers[5] = dup;
	answers[6] = real;
	answers[7] = clen;
	answers[8] = bigtok;
	answers[9] = huge;
	answers[10] = idstr;
	answers[11] = s404;
	answers[12] = http2;
	answers[13] = client;
	answers[14] = NULL;
	if ((pid = canned_start(answers, &cport, p[1])) == -1) {
		CHECK(0, "canned server");
		return;
	}
	close(p[1]);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/base/", cport);
	configure(url);

	memset(r, 0, sizeof(r));
	t = time(NULL);
	for (i = 0; i < 14; i++) {
		if (i >= 10 && i <= 12)
			forgejo_get_user("a.b.c", user_cb, &r[i]);
		else
			forgejo_refresh("r+/=&x", tokens_cb, &r[i]);
		run(&r[i]);
	}
	(void)waitpid(pid, &status, 0);
	len = read(p[0], req, sizeof(req) - 1);
	close(p[0]);
	req[len > 0 ? len : 0] = '\0';

	CHECK(starts(req, "POST /base/login/oauth/access_token HTTP/1.0\r\n") &&
	    strstr(req, "\r\nHost: 127.0.0.1:") != NULL &&
	    strstr(req, "\r\nConnection: close\r\n") != NULL &&
	    strstr(req, "\r\nAccept: application/json\r\n") != NULL &&
	    strstr(req, "\r\nUser-Agent: brokerd\r\n") != NULL &&
	    strstr(req, "\r\nContent-Type: application/x-www-form-urlencoded"
	    "\r\n") != NULL, "request line and headers");
	(void)snprintf(want, sizeof(want), "\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(form), form);
	CHECK(strstr(req, want) != NULL && strlen(strstr(req, want)) ==
	    strlen(want), "refresh body: client_secret_post, percent-encoded");
	CHECK(r[0].res == FORGEJO_OK && strcmp(r[0].tok.access_token,
	    "a.b.c") == 0 && r[0].tok.expires_at >= t + 3599 &&
	    r[0].tok.expires_at <= t + 3601,
	    "answer read until eof; no expires_in means 3600 s");
	names[1] = "chunked transfer-encoding";
	names[2] = "502";
	names[3] = "truncated body";
	names[4] = "400 without json";
	names[5] = "duplicate key";
	names[6] = "expires_in not an integer";
	names[8] = "token too long";
	names[9] = "answer too large";
	names[10] = "id not an integer";
	names[11] = "404";
	names[12] = "HTTP/2 status line";
	for (i = 1; i <= 12; i++) {
		if (i == 7)
			continue;
		CHECK(r[i].calls == 1 && r[i].res == (i == 2 ?
		    FORGEJO_UNAVAILABLE : FORGEJO_BAD_ANSWER), "%s: %s",
		    names[i], forgejo_result_str(r[i].res));
	}
	CHECK(r[7].res == FORGEJO_OK && r[7].tok.expires_at >= t + 59 &&
	    r[7].tok.expires_at <= t + 62,
	    "body cut at Content-Length, expires_in honoured");
	CHECK(r[13].res == FORGEJO_REFUSED &&
	    strcmp(r[13].error, "invalid_client") == 0,
	    "400 invalid_client is refused: %s", r[13].error);
	free(bigtok);
	free(huge);
}

/* What forgejo.c logged: no secret, and the failures as promised. */
static void
test_log(int closed)
{
	char	*buf, want[128];
	size_t	 len = 0, cap = 1 << 20;
	ssize_t	 n;
	int	 fd, i, clean = 1;

	fflush(stderr);
	if ((buf = calloc(1, cap)) == NULL ||
	    (fd = open(logpath, O_RDONLY)) == -1)
		return;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += n;
	close(fd);
	(void)dup2(saved_stderr, STDERR_FILENO);
	(void)write(STDERR_FILENO, buf, len);

	CHECK(nsecrets >= 10, "%d secrets to look for", nsecrets);
	for (i = 0; i < nsecrets; i++)
		if (strstr(buf, secrets[i]) != NULL)
			clean = 0;
	CHECK(clean && strstr(buf, CLIENT_SECRET) == NULL,
	    "no token, code, verifier or secret in the log");
	(void)snprintf(want, sizeof(want),
	    "forgejo: connect to 127.0.0.1 port %d: connection refused",
	    closed);
	CHECK(strstr(buf, want) != NULL, "log: \"%s\"", want);
	CHECK(strstr(buf, "forgejo: POST /login/oauth/access_token: 200") !=
	    NULL && strstr(buf, "forgejo: GET /api/v1/user: 401") != NULL,
	    "log: method, path and status at debug");
	CHECK(strstr(buf, "forgejo: GET /api/v1/user: timed out after 1s") !=
	    NULL, "log: the timeout");
	free(buf);
	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
}

int
main(void)
{
	const char	*tmp;
	char		 url[64];
	int		 fd, closed = 0;

	test_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	alarm(WATCHDOG);
	log_init(1, LOG_DAEMON);
	log_setverbose(1);
	log_procinit("tokend");
	event_init();

	test_bad_urls();
	test_authorize_url();

	if (double_start() == -1) {
		CHECK(0, "start the forgejo double");
		double_stop();
		return regress_done();
	}
	atexit(double_stop);
	CHECK(port > 0, "forgejo double on port %d", port);

	/* From here on, forgejo.c logs into a file we read at the end. */
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)snprintf(logpath, sizeof(logpath), "%s/forgejo_test.XXXXXX",
	    tmp);
	if ((fd = mkstemp(logpath)) == -1 ||
	    (saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		CHECK(0, "capture the log");
		return regress_done();
	}
	close(fd);

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	configure(url);
	test_flow();
	test_unreachable(&closed);
	test_canned();
	test_log(closed);

	CHECK(strcmp(forgejo_result_str(FORGEJO_OK), "ok") == 0 &&
	    strcmp(forgejo_result_str(FORGEJO_REFUSED), "refused") == 0 &&
	    strcmp(forgejo_result_str(FORGEJO_UNAVAILABLE), "unavailable") ==
	    0 && strcmp(forgejo_result_str(FORGEJO_BAD_ANSWER),
	    "bad answer") == 0, "forgejo_result_str");
	return regress_done();
}
