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
 * tokend's OAuth state machine (tokend/oauth.c), driven the way the
 * http process drives it: every request is composed on one end of a
 * socketpair, read by tokend's end, handed to oauth_dispatch(), and its
 * answer read back.  A stand-in for tokend/forgejo.c, below, answers at
 * once with canned results that a test may switch to a failure.  The
 * database is a scratch file; expiry is tested by moving oauth.c's clock.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sha2.h>
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

#define ACCESS_LIFETIME		3600
#define REFRESH_LIFETIME	86400
#define REFRESH_GRACE		30
#define PRUNE_AFTER		(7 * 86400)

#define MCP_RESOURCE		"https://mcp.example.test/mcp"
#define SSE_RESOURCE		"https://mcp.example.test/sse"
#define REDIRECT		"http://127.0.0.1:33418/callback"
#define REDIRECT_OTHER		"http://127.0.0.1:33418/other"

struct tokend_env	 tokend_env;

/* An answer as the http process receives it. */
struct reply {
	uint32_t	 type;
	uint32_t	 id;
	size_t		 len;
	union {
		struct oauth_registered	 reg;
		struct oauth_client	 client;
		struct oauth_redirect	 redirect;
		struct oauth_code	 code;
		struct oauth_token	 token;
		struct oauth_error	 err;
		struct auth_bearer	 bearer;
	} u;
};

/* A registered client, and how it authenticates. */
struct client {
	char		 id[PROTO_CLIENT_ID_MAX];
	char		 secret[PROTO_TOKEN_MAX];
	int		 basic;
};

static char		 dir[PATH_MAX];
static struct imsgbuf	 http;		/* the http process's end */
static struct imsgev	*tev;		/* tokend's end */
static uint32_t		 next_id = 1;
static int		 stray, wrong_id;
static int		 saved_stderr = -1;

/* Every broker secret handed out, to look for where it must not be. */
static char		*secrets[1024];
static size_t		 nsecrets;

/*
 * The stand-in for tokend/forgejo.c: it answers at once, with what the
 * test set, and clears what it handed over once the callback returns.
 */
static enum forgejo_result	 stub_exchange = FORGEJO_OK;
static enum forgejo_result	 stub_user = FORGEJO_OK;
static int			 stub_exchanges, stub_users;
static char			 stub_code[PROTO_STATE_MAX];
static char			 stub_verifier[256];
static char			 stub_user_token[FORGEJO_TOKEN_MAX];
static char			 stub_access[FORGEJO_TOKEN_MAX];

void
forgejo_init(const struct cfg_tokend *cfg)
{
}

int
forgejo_authorize_url(char *buf, size_t len, const char *state,
    const char *challenge)
{
	int	 n;

	n = snprintf(buf, len, "https://forgejo.example.test/login/oauth/"
	    "authorize?client_id=broker&redirect_uri=https%%3A%%2F%%2F"
	    "mcp.example.test%%2Fcallback&response_type=code&state=%s&"
	    "code_challenge=%s&code_challenge_method=S256", state, challenge);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void
forgejo_exchange_code(const char *code, const char *verifier,
    forgejo_tokens_cb cb, void *arg)
{
	struct forgejo_tokens	 t;

	stub_exchanges++;
	(void)strlcpy(stub_code, code, sizeof(stub_code));
	(void)strlcpy(stub_verifier, verifier, sizeof(stub_verifier));
	if (stub_exchange != FORGEJO_OK) {
		cb(stub_exchange, stub_exchange == FORGEJO_REFUSED ?
		    "invalid_grant" : "", NULL, arg);
		return;
	}
	memset(&t, 0, sizeof(t));
	(void)snprintf(t.access_token, sizeof(t.access_token),
	    "fj-access-%d", stub_exchanges);
	(void)snprintf(t.refresh_token, sizeof(t.refresh_token),
	    "fj-refresh-%d", stub_exchanges);
	t.expires_at = time(NULL) + 3600;
	(void)strlcpy(stub_access, t.access_token, sizeof(stub_access));
	cb(FORGEJO_OK, "", &t, arg);
	memset(&t, 'Z', sizeof(t));
}

void
forgejo_get_user(const char *access, forgejo_user_cb cb, void *arg)
{
	struct forgejo_user	 u;

	stub_users++;
	(void)strlcpy(stub_user_token, access, sizeof(stub_user_token));
	if (stub_user != FORGEJO_OK) {
		cb(stub_user, NULL, arg);
		return;
	}
	memset(&u, 0, sizeof(u));
	u.id = 42;
	(void)strlcpy(u.login, "alice", sizeof(u.login));
	cb(FORGEJO_OK, &u, arg);
	memset(&u, 'Z', sizeof(u));
}

/*
 * The stand-in for tokend/lifecycle.c: the grants oauth.c reported
 * revoked, so that a test sees that their sessions would end.
 */
static char	 lc_revoked[SHA256_HEX_LEN];
static int	 lc_nrevoked;

void
lifecycle_grant_revoked(const char *grant_id)
{
	(void)strlcpy(lc_revoked, grant_id, sizeof(lc_revoked));
	lc_nrevoked++;
}

/* Was grant, and only it, reported revoked since the last call? */
static int
reported_revoked(const char *grant)
{
	int	 ok;

	ok = lc_nrevoked == 1 && strcmp(lc_revoked, grant) == 0;
	if (!ok)
		printf("# %d grant(s) reported revoked, last %.8s\n",
		    lc_nrevoked, lc_revoked);
	lc_nrevoked = 0;
	lc_revoked[0] = '\0';
	return ok;
}

void
forgejo_refresh(const char *refresh, forgejo_tokens_cb cb, void *arg)
{
	cb(FORGEJO_UNAVAILABLE, "", NULL, arg);
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

static void
remember(const char *secret)
{
	if (secret[0] == '\0')
		return;
	if (nsecrets == nitems(secrets)) {
		fprintf(stderr, "too many secrets\n");
		exit(2);
	}
	if ((secrets[nsecrets++] = strdup(secret)) == NULL)
		die("strdup");
}

/* Do the bytes of file contain needle? */
static int
file_contains(const char *file, const char *needle)
{
	char	*buf;
	size_t	 len;
	int	 found;

	if (read_file(file, &buf, &len, 64 * 1024 * 1024) == -1)
		return errno == ENOENT ? 0 : -1;
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

/* Is needle anywhere in the database, its write-ahead log included? */
static int
db_contains(const char *needle)
{
	return file_contains(path("oauth.db"), needle) == 1 ||
	    file_contains(path("oauth.db-wal"), needle) == 1;
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

static const char *
qtext(const char *fmt, ...)
{
	static char		 buf[8192];
	sqlite3_stmt		*st;
	const unsigned char	*t;
	va_list			 ap;
	char			*sql;

	buf[0] = '\0';
	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sql == NULL)
		die("sqlite3_vmprintf");
	if (sqlite3_prepare_v2(db_handle(), sql, -1, &st, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(db_handle()));
		sqlite3_free(sql);
		return buf;
	}
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = sqlite3_column_text(st, 0)) != NULL)
		(void)strlcpy(buf, (const char *)t, sizeof(buf));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return buf;
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

static void
s256(const char *verifier, char *out, size_t len)
{
	SHA2_CTX	 ctx;
	uint8_t		 d[SHA256_DIGEST_LENGTH];

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)verifier, strlen(verifier));
	SHA256Final(d, &ctx);
	if (base64url_encode(d, sizeof(d), out, len) == 0)
		die("base64url_encode");
}

static void
wait_readable(int fd)
{
	struct pollfd	 pfd;
	int		 n;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((n = poll(&pfd, 1, 5000)) == -1 && errno == EINTR)
		;
	if (n == 0) {
		fprintf(stderr, "no answer within 5 seconds\n");
		exit(2);
	}
	if (n == -1)
		die("poll");
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
channel_setup(void)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		die("socketpair");
	nonblock(sv[0]);
	nonblock(sv[1]);
	if (imsgbuf_init(&http, sv[0]) == -1 ||
	    imsgbuf_set_maxsize(&http, PROTO_MAX_PAYLOAD) == -1)
		die("imsgbuf_init");
	tev = proc_channel(sv[1], "http", 0, ignore_events, NULL);
}

/* Take one message from ib, waiting for it. */
static void
next_imsg(struct imsgbuf *ib, struct imsg *imsg)
{
	ssize_t	 n;

	for (;;) {
		if ((n = imsg_get(ib, imsg)) == -1)
			die("imsg_get");
		if (n > 0)
			return;
		wait_readable(ib->fd);
		if (imsgbuf_read(ib) != 1)
			die("imsgbuf_read");
	}
}

/*
 * One round trip: http composes, tokend reads and dispatches, http reads
 * the answer, which must be the only one and carry the request's id.
 */
static void
request(uint32_t type, const void *data, size_t len, struct reply *r)
{
	struct imsg	 imsg;
	struct pollfd	 pfd;
	uint32_t	 id = next_id++;
	int		 handled;

	if (imsg_compose(&http, type, id, 0, -1, data, len) == -1 ||
	    imsgbuf_flush(&http) == -1)
		die("imsg_compose");

	next_imsg(&tev->ibuf, &imsg);
	handled = oauth_dispatch(tev, &imsg);
	imsg_free(&imsg);
	if (!handled) {
		fprintf(stderr, "oauth_dispatch did not take imsg %u\n", type);
		exit(2);
	}
	if (imsgbuf_flush(&tev->ibuf) == -1)
		die("imsgbuf_flush");

	memset(r, 0, sizeof(*r));
	next_imsg(&http, &imsg);
	r->type = imsg_get_type(&imsg);
	r->id = imsg_get_id(&imsg);
	r->len = imsg_get_len(&imsg);
	if (r->len > sizeof(r->u) ||
	    (r->len > 0 && imsg_get_buf(&imsg, &r->u, r->len) == -1))
		die("answer too long");
	imsg_free(&imsg);
	if (r->id != id)
		wrong_id++;

	/* Nothing else may come. */
	pfd.fd = http.fd;
	pfd.events = POLLIN;
	while (imsg_get(&http, &imsg) > 0 ||
	    (poll(&pfd, 1, 0) == 1 && imsgbuf_read(&http) == 1 &&
	    imsg_get(&http, &imsg) > 0)) {
		stray++;
		imsg_free(&imsg);
	}
}

/* Is r the error status/error?  Say what it was if not. */
static int
is_error(const struct reply *r, int status, const char *error)
{
	if (r->type == IMSG_OAUTH_ERROR && r->len == sizeof(r->u.err) &&
	    r->u.err.status == status && strcmp(r->u.err.error, error) == 0)
		return 1;
	if (r->type == IMSG_OAUTH_ERROR)
		printf("# got error %d %s (%s)\n", r->u.err.status,
		    r->u.err.error, r->u.err.description);
	else
		printf("# got imsg %u of %zu bytes\n", r->type, r->len);
	return 0;
}

static int
is_ok(const struct reply *r, uint32_t type, size_t len)
{
	if (r->type == type && r->len == len)
		return 1;
	return is_error(r, -1, "");
}

static void
do_register(const char *method, struct reply *r)
{
	struct oauth_register	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.auth_method, method, sizeof(req.auth_method));
	(void)snprintf(req.redirect_uris, sizeof(req.redirect_uris),
	    "[\"%s\"]", REDIRECT);
	(void)snprintf(req.metadata, sizeof(req.metadata),
	    "{\"client_name\":\"test\",\"redirect_uris\":[\"%s\"],"
	    "\"token_endpoint_auth_method\":\"%s\"}", REDIRECT, method);
	request(IMSG_OAUTH_REGISTER, &req, sizeof(req), r);
}

static void
new_client(const char *method, struct client *c)
{
	struct reply	 r;

	do_register(method, &r);
	if (!is_ok(&r, IMSG_OAUTH_REGISTER_OK, sizeof(r.u.reg))) {
		fprintf(stderr, "cannot register a client\n");
		exit(2);
	}
	memset(c, 0, sizeof(*c));
	(void)strlcpy(c->id, r.u.reg.client_id, sizeof(c->id));
	(void)strlcpy(c->secret, r.u.reg.client_secret, sizeof(c->secret));
	c->basic = strcmp(method, AUTH_METHOD_BASIC) == 0;
	remember(c->secret);
}

static void
do_authorize(const char *client_id, const char *challenge,
    const char *resource, const char *state, struct reply *r)
{
	struct oauth_authorize	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.client_id, client_id, sizeof(req.client_id));
	(void)strlcpy(req.redirect_uri, REDIRECT, sizeof(req.redirect_uri));
	(void)strlcpy(req.code_challenge, challenge,
	    sizeof(req.code_challenge));
	(void)strlcpy(req.scope, "read write", sizeof(req.scope));
	(void)strlcpy(req.resource, resource, sizeof(req.resource));
	if (state != NULL) {
		(void)strlcpy(req.state, state, sizeof(req.state));
		req.has_state = 1;
	}
	request(IMSG_OAUTH_AUTHORIZE, &req, sizeof(req), r);
}

/* The value of parameter name in url, "" if none. */
static const char *
url_param(const char *url, const char *name)
{
	static char	 buf[PROTO_UPSTREAM_URL_MAX];
	const char	*p;
	size_t		 nl = strlen(name);

	buf[0] = '\0';
	if ((p = strchr(url, '?')) == NULL)
		return buf;
	while (p != NULL) {
		p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			(void)strlcpy(buf, p + nl + 1, sizeof(buf));
			buf[strcspn(buf, "&")] = '\0';
			return buf;
		}
		p = strchr(p, '&');
	}
	return buf;
}

static void
do_callback(const char *state, const char *code, const char *error,
    struct reply *r)
{
	struct oauth_callback	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.state, state, sizeof(req.state));
	(void)strlcpy(req.code, code, sizeof(req.code));
	(void)strlcpy(req.error, error, sizeof(req.error));
	request(IMSG_OAUTH_CALLBACK, &req, sizeof(req), r);
}

/* Authorize and come back from Forgejo: the upstream state, or "". */
static const char *
start(const char *client_id, const char *verifier, const char *resource,
    const char *state)
{
	static char	 upstream[PROTO_STATE_MAX];
	struct reply	 r;
	char		 challenge[TOKEN_STRLEN];

	s256(verifier, challenge, sizeof(challenge));
	do_authorize(client_id, challenge, resource, state, &r);
	upstream[0] = '\0';
	if (is_ok(&r, IMSG_OAUTH_AUTHORIZE_OK, sizeof(r.u.redirect)))
		(void)strlcpy(upstream, url_param(r.u.redirect.url, "state"),
		    sizeof(upstream));
	return upstream;
}

/* A broker authorization code for c; 0 on success. */
static int
get_code(const struct client *c, const char *resource, char *verifier,
    char *code)
{
	struct reply	 r;
	char		 state[PROTO_STATE_MAX];

	if (random_token(verifier, TOKEN_STRLEN, 32) == -1)
		die("random_token");
	remember(verifier);
	(void)strlcpy(state, start(c->id, verifier, resource, "s1"),
	    sizeof(state));
	if (state[0] == '\0')
		return -1;
	do_callback(state, "forgejo-code", "", &r);
	if (!is_ok(&r, IMSG_OAUTH_CALLBACK_OK, sizeof(r.u.code)))
		return -1;
	(void)strlcpy(code, r.u.code.code, TOKEN_STRLEN);
	remember(code);
	remember(stub_verifier);
	return 0;
}

static void
do_token_code(const struct client *c, const char *code, const char *verifier,
    const char *redirect, const char *resource, struct reply *r)
{
	struct oauth_token_req	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.grant_type, "authorization_code",
	    sizeof(req.grant_type));
	(void)strlcpy(req.code, code, sizeof(req.code));
	(void)strlcpy(req.code_verifier, verifier, sizeof(req.code_verifier));
	if (redirect != NULL) {
		(void)strlcpy(req.redirect_uri, redirect,
		    sizeof(req.redirect_uri));
		req.has_redirect_uri = 1;
	}
	(void)strlcpy(req.resource, resource, sizeof(req.resource));
	(void)strlcpy(req.client_id, c->id, sizeof(req.client_id));
	(void)strlcpy(req.client_secret, c->secret, sizeof(req.client_secret));
	req.auth_basic = c->basic;
	request(IMSG_OAUTH_TOKEN, &req, sizeof(req), r);
	if (r->type == IMSG_OAUTH_TOKEN_OK) {
		remember(r->u.token.access_token);
		remember(r->u.token.refresh_token);
	}
}

static void
do_token_refresh(const struct client *c, const char *refresh,
    const char *scope, const char *resource, struct reply *r)
{
	struct oauth_token_req	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.grant_type, "refresh_token", sizeof(req.grant_type));
	(void)strlcpy(req.refresh_token, refresh, sizeof(req.refresh_token));
	(void)strlcpy(req.scope, scope, sizeof(req.scope));
	(void)strlcpy(req.resource, resource, sizeof(req.resource));
	(void)strlcpy(req.client_id, c->id, sizeof(req.client_id));
	(void)strlcpy(req.client_secret, c->secret, sizeof(req.client_secret));
	req.auth_basic = c->basic;
	request(IMSG_OAUTH_TOKEN, &req, sizeof(req), r);
	if (r->type == IMSG_OAUTH_TOKEN_OK) {
		remember(r->u.token.access_token);
		remember(r->u.token.refresh_token);
	}
}

/* Tokens for c through the whole flow; 0 on success. */
static int
get_tokens(const struct client *c, const char *resource,
    struct oauth_token *t)
{
	struct reply	 r;
	char		 verifier[TOKEN_STRLEN], code[TOKEN_STRLEN];

	if (get_code(c, resource, verifier, code) == -1)
		return -1;
	do_token_code(c, code, verifier, REDIRECT, "", &r);
	if (!is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)))
		return -1;
	*t = r.u.token;
	return 0;
}

static void
do_bearer(const char *token, struct reply *r)
{
	struct auth_bearer_req	 req;

	memset(&req, 0, sizeof(req));
	sha256_hex(token, strlen(token), req.token_hash);
	request(IMSG_AUTH_BEARER, &req, sizeof(req), r);
}

static int
bearer_ok(const char *token)
{
	struct reply	 r;

	do_bearer(token, &r);
	return r.type == IMSG_AUTH_BEARER_OK;
}

static int
bearer_invalid(const char *token)
{
	struct reply	 r;

	do_bearer(token, &r);
	return is_error(&r, 401, "invalid_token");
}

static void
do_revoke(const struct client *c, const char *token, const char *hint,
    struct reply *r)
{
	struct oauth_revoke_req	 req;

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.token, token, sizeof(req.token));
	(void)strlcpy(req.token_type_hint, hint, sizeof(req.token_type_hint));
	(void)strlcpy(req.client_id, c->id, sizeof(req.client_id));
	(void)strlcpy(req.client_secret, c->secret, sizeof(req.client_secret));
	req.auth_basic = c->basic;
	request(IMSG_OAUTH_REVOKE, &req, sizeof(req), r);
}

static void
test_register(void)
{
	struct oauth_client_req	 creq;
	struct reply		 r;
	struct client		 pub, post, basic;
	time_t			 now = time(NULL);

	do_register(AUTH_METHOD_NONE, &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REGISTER_OK, sizeof(r.u.reg)),
	    "register a public client");
	CHECK(strlen(r.u.reg.client_id) == 22 &&
	    r.u.reg.client_secret[0] == '\0' &&
	    r.u.reg.issued_at >= now && r.u.reg.issued_at <= now + 5,
	    "it gets a client id of 128 bits, no secret, and issued_at");
	(void)strlcpy(pub.id, r.u.reg.client_id, sizeof(pub.id));
	CHECK(qint("SELECT client_secret IS NULL AND last_used IS NULL AND "
	    "token_endpoint_auth_method = 'none' FROM clients "
	    "WHERE client_id = %Q", pub.id) == 1,
	    "stored without secret, never used, method none");

	new_client(AUTH_METHOD_POST, &post);
	CHECK(strlen(post.secret) == 43 && strlen(post.id) == 22,
	    "a client_secret_post client gets a secret of 256 bits");
	CHECK(strcmp(qtext("SELECT client_secret FROM clients "
	    "WHERE client_id = %Q", post.id), hash(post.secret)) == 0,
	    "its secret is stored as its sha-256");
	CHECK(!db_contains(post.secret),
	    "the plaintext secret is nowhere in the database files");
	CHECK(db_contains(hash(post.secret)),
	    "(while its hash is found there)");
	CHECK(strcmp(qtext("SELECT token_endpoint_auth_method FROM clients "
	    "WHERE client_id = %Q", post.id), AUTH_METHOD_POST) == 0,
	    "its method is stored");

	new_client(AUTH_METHOD_BASIC, &basic);
	CHECK(strlen(basic.secret) == 43 && strcmp(basic.secret,
	    post.secret) != 0 && strcmp(basic.id, post.id) != 0,
	    "a client_secret_basic client gets its own id and secret");

	do_register("private_key_jwt", &r);
	CHECK(is_error(&r, 400, "invalid_client_metadata"),
	    "an unsupported method is refused");

	memset(&creq, 0, sizeof(creq));
	(void)strlcpy(creq.client_id, post.id, sizeof(creq.client_id));
	request(IMSG_OAUTH_CLIENT, &creq, sizeof(creq), &r);
	CHECK(is_ok(&r, IMSG_OAUTH_CLIENT_OK, sizeof(r.u.client)) &&
	    strcmp(r.u.client.client_id, post.id) == 0 &&
	    strcmp(r.u.client.auth_method, AUTH_METHOD_POST) == 0 &&
	    strcmp(r.u.client.redirect_uris, "[\"" REDIRECT "\"]") == 0 &&
	    strstr(r.u.client.metadata, "\"client_name\":\"test\"") != NULL,
	    "IMSG_OAUTH_CLIENT answers id, method, redirect uris, metadata");
	CHECK(memmem(&r.u.client, sizeof(r.u.client), post.secret,
	    strlen(post.secret)) == NULL &&
	    memmem(&r.u.client, sizeof(r.u.client), hash(post.secret),
	    64) == NULL, "and neither the secret nor its hash");

	(void)strlcpy(creq.client_id, "no-such-client", sizeof(creq.client_id));
	request(IMSG_OAUTH_CLIENT, &creq, sizeof(creq), &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "an unknown client is invalid_client 401");
}

static void
test_flow(void)
{
	struct client	 c, other;
	struct reply	 r;
	char		 verifier[TOKEN_STRLEN], challenge[TOKEN_STRLEN];
	char		 upstream[PROTO_STATE_MAX], code[TOKEN_STRLEN];
	char		 url_challenge[TOKEN_STRLEN], access[TOKEN_STRLEN];
	char		 refresh[TOKEN_STRLEN], grant[SHA256_HEX_LEN];
	char		 bad[TOKEN_STRLEN];
	int		 before;

	new_client(AUTH_METHOD_NONE, &c);
	new_client(AUTH_METHOD_NONE, &other);

	if (random_token(verifier, sizeof(verifier), 32) == -1)
		die("random_token");
	remember(verifier);
	s256(verifier, challenge, sizeof(challenge));
	do_authorize(c.id, challenge, MCP_RESOURCE, "client-state", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_AUTHORIZE_OK, sizeof(r.u.redirect)),
	    "authorize: consent given, answered with a url");
	CHECK(strncmp(r.u.redirect.url, "https://forgejo.example.test/",
	    29) == 0 && strlen(url_param(r.u.redirect.url, "state")) == 43,
	    "to forgejo, with an upstream state of 256 bits");
	(void)strlcpy(upstream, url_param(r.u.redirect.url, "state"),
	    sizeof(upstream));
	(void)strlcpy(url_challenge, url_param(r.u.redirect.url,
	    "code_challenge"), sizeof(url_challenge));
	CHECK(strlen(url_challenge) == 43 && strcmp(url_challenge,
	    challenge) != 0, "with a challenge of its own, not the client's");
	CHECK(qint("SELECT last_used IS NOT NULL FROM clients "
	    "WHERE client_id = %Q", c.id) == 1,
	    "consent marks the client used");

	before = stub_exchanges;
	do_callback(upstream, "forgejo-code-1", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_CALLBACK_OK, sizeof(r.u.code)),
	    "callback: answered with a broker code");
	CHECK(strcmp(r.u.code.redirect_uri, REDIRECT) == 0 &&
	    strcmp(r.u.code.state, "client-state") == 0 &&
	    r.u.code.has_state == 1 && strlen(r.u.code.code) == 43,
	    "for the client's redirect uri and state, 256 bits of code");
	(void)strlcpy(code, r.u.code.code, sizeof(code));
	remember(code);
	remember(stub_verifier);
	CHECK(stub_exchanges == before + 1 &&
	    strcmp(stub_code, "forgejo-code-1") == 0 &&
	    strcmp(stub_user_token, stub_access) == 0,
	    "forgejo's code was exchanged, and its token asked for the user");
	s256(stub_verifier, challenge, sizeof(challenge));
	CHECK(strlen(stub_verifier) == 43 &&
	    strcmp(challenge, url_challenge) == 0,
	    "the verifier sent to forgejo matches the challenge sent there");
	CHECK(qint("SELECT count(*) FROM auth_codes WHERE code = %Q AND "
	    "client_id = %Q AND redirect_uri = %Q AND "
	    "code_challenge_method = 'S256' AND resource = %Q AND "
	    "scopes = 'read write' AND forgejo_user_id = 42 AND "
	    "forgejo_username = 'alice' AND used_at IS NULL AND "
	    "expires_at BETWEEN strftime('%%s', 'now') + 590 AND "
	    "strftime('%%s', 'now') + 610 AND length(grant_id) = 64",
	    hash(code), c.id, REDIRECT, MCP_RESOURCE) == 1,
	    "the code is stored by its hash with what it is bound to, "
	    "for ten minutes");

	/* Failures that must not spend the code. */
	(void)strlcpy(bad, verifier, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	do_token_code(&c, code, bad, REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "a wrong code_verifier is invalid_grant");
	do_token_code(&c, code, "short", REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "a malformed code_verifier is invalid_grant");
	do_token_code(&c, code, "", REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "a missing code_verifier is invalid_grant");
	do_token_code(&c, code, verifier, REDIRECT_OTHER, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "another redirect_uri is invalid_grant");
	do_token_code(&other, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "the code of another client is invalid_grant");
	do_token_code(&c, code, verifier, REDIRECT, SSE_RESOURCE, &r);
	CHECK(is_error(&r, 400, "invalid_target"),
	    "another resource is invalid_target");
	do_token_code(&c, "no-such-code", verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "an unknown code is invalid_grant");
	CHECK(qint("SELECT used_at IS NULL FROM auth_codes WHERE code = %Q",
	    hash(code)) == 1, "none of them spent the code");

	do_token_code(&c, code, verifier, REDIRECT, MCP_RESOURCE, &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "the right verifier, redirect uri and resource get tokens");
	CHECK(strlen(r.u.token.access_token) == 43 &&
	    strlen(r.u.token.refresh_token) == 43 &&
	    strcmp(r.u.token.scope, "read write") == 0 &&
	    r.u.token.expires_in == ACCESS_LIFETIME,
	    "256-bit access and refresh tokens, the scope, expires_in");
	(void)strlcpy(access, r.u.token.access_token, sizeof(access));
	(void)strlcpy(refresh, r.u.token.refresh_token, sizeof(refresh));
	CHECK(qint("SELECT count(*) FROM access_tokens AS a "
	    "JOIN refresh_tokens AS r ON r.access_token_hash = a.token_hash "
	    "WHERE a.token_hash = %Q AND r.token_hash = %Q AND "
	    "a.grant_id = r.grant_id AND a.resource = %Q AND "
	    "a.forgejo_access_token = %Q AND a.forgejo_username = 'alice'",
	    hash(access), hash(refresh), MCP_RESOURCE, stub_access) == 1,
	    "stored as hashes, in one grant, with the forgejo token and user");
	CHECK(qint("SELECT used_at IS NOT NULL AND forgejo_access_token = '' "
	    "AND forgejo_refresh_token IS NULL FROM auth_codes "
	    "WHERE code = %Q", hash(code)) == 1,
	    "the code is spent and its forgejo tokens are wiped");

	do_bearer(access, &r);
	CHECK(is_ok(&r, IMSG_AUTH_BEARER_OK, sizeof(r.u.bearer)),
	    "the access token is a valid bearer token");
	CHECK(r.u.bearer.user_id == 42 &&
	    strcmp(r.u.bearer.username, "alice") == 0 &&
	    strcmp(r.u.bearer.client_id, c.id) == 0 &&
	    strlen(r.u.bearer.grant_id) == 64 &&
	    strcmp(r.u.bearer.resource, MCP_RESOURCE) == 0 &&
	    strcmp(r.u.bearer.scope, "read write") == 0 &&
	    r.u.bearer.expires_at > time(NULL) + ACCESS_LIFETIME - 10 &&
	    r.u.bearer.expires_at <= time(NULL) + ACCESS_LIFETIME,
	    "it names the user, client, grant, resource, scope and expiry");
	CHECK(memmem(&r.u.bearer, sizeof(r.u.bearer), "fj-", 3) == NULL,
	    "and carries no forgejo token");
	(void)strlcpy(grant, r.u.bearer.grant_id, sizeof(grant));
	CHECK(bearer_invalid(refresh), "a refresh token is no bearer token");
	CHECK(bearer_invalid("garbage"), "nor is garbage");

	/* The replay. */
	lc_nrevoked = 0;
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "the code presented again is invalid_grant");
	CHECK(reported_revoked(grant),
	    "the replay reports the grant revoked, to end its sessions");
	CHECK(bearer_invalid(access),
	    "and the access token issued from it no longer validates");
	do_token_refresh(&c, refresh, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "nor does its refresh token");
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", grant) == 0 &&
	    qint("SELECT count(*) FROM refresh_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", grant) == 0,
	    "every token of the grant is revoked");
}

static void
test_client_auth(void)
{
	struct client		 pub, post, basic, c;
	struct oauth_token	 t;
	struct reply		 r;
	char			 verifier[TOKEN_STRLEN], code[TOKEN_STRLEN];

	new_client(AUTH_METHOD_NONE, &pub);
	new_client(AUTH_METHOD_POST, &post);
	new_client(AUTH_METHOD_BASIC, &basic);

	CHECK(get_code(&post, "", verifier, code) == 0,
	    "a client_secret_post client gets a code");
	c = post;
	c.secret[0] = '\0';
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "client_secret_post without a secret is invalid_client 401");
	c = post;
	c.secret[0] = c.secret[0] == 'A' ? 'B' : 'A';
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "with a wrong secret too");
	c = post;
	c.basic = 1;
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "and with the right secret by http basic");
	c = post;
	(void)strlcpy(c.secret, basic.secret, sizeof(c.secret));
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "and with the secret of another client");
	do_token_code(&post, code, verifier, REDIRECT, "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "the right secret in the body gets tokens");

	CHECK(get_code(&basic, "", verifier, code) == 0,
	    "a client_secret_basic client gets a code");
	c = basic;
	c.basic = 0;
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "client_secret_basic with the secret in the body is "
	    "invalid_client");
	do_token_code(&basic, code, verifier, REDIRECT, "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "the right secret by http basic gets tokens");

	CHECK(get_code(&pub, "", verifier, code) == 0,
	    "a public client gets a code");
	c = pub;
	(void)strlcpy(c.secret, "whatever", sizeof(c.secret));
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "a public client presenting a secret in the body is "
	    "invalid_client");
	c.basic = 1;
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "and by http basic too");
	c.secret[0] = '\0';
	do_token_code(&c, code, verifier, NULL, "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "an empty basic password is no secret; redirect_uri may be "
	    "left out");

	c = pub;
	(void)strlcpy(c.id, "no-such-client", sizeof(c.id));
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "an unknown client at the token endpoint is invalid_client 401");
	c.id[0] = '\0';
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "and so is a missing client id");

	CHECK(get_tokens(&pub, "", &t) == 0, "tokens for a public client");
	{
		struct oauth_token_req	 req;

		memset(&req, 0, sizeof(req));
		(void)strlcpy(req.grant_type, "client_credentials",
		    sizeof(req.grant_type));
		(void)strlcpy(req.client_id, pub.id, sizeof(req.client_id));
		request(IMSG_OAUTH_TOKEN, &req, sizeof(req), &r);
		CHECK(is_error(&r, 400, "unsupported_grant_type"),
		    "another grant type is unsupported_grant_type");
	}
}

static void
test_code_expiry(void)
{
	struct client	 c;
	struct reply	 r;
	char		 verifier[TOKEN_STRLEN], code[TOKEN_STRLEN];

	new_client(AUTH_METHOD_NONE, &c);
	CHECK(get_code(&c, "", verifier, code) == 0, "a code");
	oauth_set_clock_offset(601);
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	oauth_set_clock_offset(0);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "ten minutes later it has expired: invalid_grant");
	CHECK(qint("SELECT used_at IS NULL FROM auth_codes WHERE code = %Q",
	    hash(code)) == 1, "and it was not spent");

	CHECK(get_code(&c, "", verifier, code) == 0, "another code");
	oauth_set_clock_offset(590);
	do_token_code(&c, code, verifier, REDIRECT, "", &r);
	oauth_set_clock_offset(0);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "used within ten minutes it works");
}

static void
test_refresh(void)
{
	struct client		 c, other;
	struct oauth_token	 t0, t1, t2, t3, t4;
	struct reply		 r;
	char			 grant[SHA256_HEX_LEN];

	new_client(AUTH_METHOD_NONE, &c);
	new_client(AUTH_METHOD_NONE, &other);
	CHECK(get_tokens(&c, MCP_RESOURCE, &t0) == 0, "tokens A0 and R0");
	do_bearer(t0.access_token, &r);
	(void)strlcpy(grant, r.u.bearer.grant_id, sizeof(grant));

	do_token_refresh(&other, t0.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "R0 presented by another client is invalid_grant");

	do_token_refresh(&c, t0.refresh_token, "", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "R0 is refreshed (another client's attempt did not revoke it)");
	t1 = r.u.token;
	CHECK(strcmp(t1.access_token, t0.access_token) != 0 &&
	    strcmp(t1.refresh_token, t0.refresh_token) != 0 &&
	    strcmp(t1.scope, "read write") == 0 &&
	    t1.expires_in == ACCESS_LIFETIME,
	    "into a new pair A1 and R1 of the same scope");
	do_bearer(t1.access_token, &r);
	CHECK(is_ok(&r, IMSG_AUTH_BEARER_OK, sizeof(r.u.bearer)) &&
	    strcmp(r.u.bearer.grant_id, grant) == 0 &&
	    strcmp(r.u.bearer.resource, MCP_RESOURCE) == 0 &&
	    r.u.bearer.user_id == 42 &&
	    strcmp(r.u.bearer.username, "alice") == 0,
	    "A1 validates, in the same grant, for the same user and resource");
	CHECK(qint("SELECT forgejo_access_token = %Q FROM access_tokens "
	    "WHERE token_hash = %Q", stub_access, hash(t1.access_token)) == 1,
	    "A1 carries the grant's forgejo token");
	CHECK(qint("SELECT revoked_at IS NOT NULL AND rotated_at IS NOT NULL "
	    "FROM refresh_tokens WHERE token_hash = %Q",
	    hash(t0.refresh_token)) == 1, "R0 is marked rotated");
	CHECK(bearer_ok(t0.access_token), "A0 lives on until it expires");

	oauth_set_clock_offset(REFRESH_GRACE - 5);
	do_token_refresh(&c, t0.refresh_token, "", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "R0 again within the grace period gets a sibling pair");
	t2 = r.u.token;
	CHECK(strcmp(t2.refresh_token, t1.refresh_token) != 0 &&
	    bearer_ok(t2.access_token) && bearer_ok(t1.access_token),
	    "A1 and A2 both validate");
	do_token_refresh(&c, t1.refresh_token, "", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "R1 is still good and rotates too");
	t3 = r.u.token;

	do_token_refresh(&c, t3.refresh_token, "read admin", "", &r);
	CHECK(is_error(&r, 400, "invalid_scope"),
	    "asking for more scope is invalid_scope");
	do_token_refresh(&c, t3.refresh_token, "", SSE_RESOURCE, &r);
	CHECK(is_error(&r, 400, "invalid_target"),
	    "asking for another resource is invalid_target");
	do_token_refresh(&c, t3.refresh_token, "read", MCP_RESOURCE, &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "a narrower scope and the same resource are fine");
	t4 = r.u.token;

	oauth_set_clock_offset(REFRESH_GRACE + 5);
	lc_nrevoked = 0;
	do_token_refresh(&c, t0.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "R0 after the grace period is invalid_grant");
	CHECK(reported_revoked(grant),
	    "the reuse reports the grant revoked, to end its sessions");
	CHECK(bearer_invalid(t0.access_token) &&
	    bearer_invalid(t1.access_token) &&
	    bearer_invalid(t2.access_token) &&
	    bearer_invalid(t3.access_token) &&
	    bearer_invalid(t4.access_token),
	    "and every access token of the grant fails");
	do_token_refresh(&c, t4.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "and so does its newest refresh token");
	do_token_refresh(&c, t2.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"), "and its sibling");
	CHECK(qint("SELECT count(*) FROM refresh_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", grant) == 0 &&
	    qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", grant) == 0,
	    "the whole family is revoked");
	oauth_set_clock_offset(0);

	/* Expiry of a refresh token, and refresh after access expiry. */
	CHECK(get_tokens(&c, "", &t0) == 0, "a fresh grant");
	oauth_set_clock_offset(ACCESS_LIFETIME + 1);
	CHECK(bearer_invalid(t0.access_token),
	    "its access token expires after its lifetime");
	oauth_reap();
	do_token_refresh(&c, t0.refresh_token, "", MCP_RESOURCE, &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "its refresh token, after the reaper ran, still refreshes");
	t1 = r.u.token;
	CHECK(qint("SELECT forgejo_access_token != '' AND resource = %Q "
	    "FROM access_tokens WHERE token_hash = %Q", MCP_RESOURCE,
	    hash(t1.access_token)) == 1,
	    "with the forgejo token, narrowed to the resource asked for");
	oauth_set_clock_offset(ACCESS_LIFETIME + 1 + REFRESH_LIFETIME);
	do_token_refresh(&c, t1.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "an expired refresh token is invalid_grant");
	oauth_set_clock_offset(0);
}

static void
test_revoke(void)
{
	struct client		 c, other, post;
	struct oauth_token	 t, u;
	struct reply		 r;
	char			 grant[SHA256_HEX_LEN];

	new_client(AUTH_METHOD_NONE, &c);
	new_client(AUTH_METHOD_NONE, &other);
	new_client(AUTH_METHOD_POST, &post);

	CHECK(get_tokens(&c, "", &t) == 0, "tokens to revoke");
	do_bearer(t.access_token, &r);
	(void)strlcpy(grant, r.u.bearer.grant_id, sizeof(grant));
	lc_nrevoked = 0;
	do_revoke(&c, t.refresh_token, "refresh_token", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REVOKE_OK, 0),
	    "revoking the refresh token is ok");
	CHECK(reported_revoked(grant),
	    "and reports the grant revoked, to end its sessions");
	CHECK(bearer_invalid(t.access_token),
	    "its access token fails afterwards");
	do_token_refresh(&c, t.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "and the refresh token is refused");

	CHECK(get_tokens(&c, "", &t) == 0, "more tokens");
	do_revoke(&c, t.access_token, "refresh_token", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REVOKE_OK, 0),
	    "revoking an access token with a wrong hint is ok");
	CHECK(bearer_invalid(t.access_token), "it is revoked all the same");
	do_token_refresh(&c, t.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant"),
	    "and with it the grant's refresh token");

	CHECK(get_tokens(&c, "", &t) == 0, "tokens of one client");
	lc_nrevoked = 0;
	do_revoke(&other, t.access_token, "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REVOKE_OK, 0),
	    "another client revoking them is answered ok");
	CHECK(lc_nrevoked == 0, "and reports no grant revoked");
	CHECK(bearer_ok(t.access_token),
	    "but the token stays valid");
	do_revoke(&other, t.refresh_token, "refresh_token", &r);
	do_token_refresh(&c, t.refresh_token, "", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_TOKEN_OK, sizeof(r.u.token)),
	    "and so does the refresh token");

	do_revoke(&c, "no-such-token", "access_token", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REVOKE_OK, 0),
	    "revoking an unknown token is ok");

	CHECK(get_tokens(&post, "", &u) == 0,
	    "tokens of a client_secret_post client");
	c = post;
	c.secret[0] = c.secret[0] == 'A' ? 'B' : 'A';
	do_revoke(&c, u.access_token, "", &r);
	CHECK(is_error(&r, 401, "invalid_client"),
	    "revoking with a wrong secret is invalid_client 401");
	CHECK(bearer_ok(u.access_token), "and revokes nothing");
	do_revoke(&post, u.access_token, "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_REVOKE_OK, 0) &&
	    bearer_invalid(u.access_token),
	    "with the right secret it revokes");
}

static void
test_bearer(void)
{
	struct client		 c;
	struct oauth_token	 t;

	new_client(AUTH_METHOD_NONE, &c);
	CHECK(get_tokens(&c, "", &t) == 0, "an access token");
	oauth_set_clock_offset(ACCESS_LIFETIME - 5);
	CHECK(bearer_ok(t.access_token), "valid until its expiry");
	oauth_set_clock_offset(ACCESS_LIFETIME);
	CHECK(bearer_invalid(t.access_token),
	    "invalid_token 401 from its expiry on");
	oauth_set_clock_offset(0);

	sql("UPDATE access_tokens SET revoked_at = 1 WHERE token_hash = %Q",
	    hash(t.access_token));
	CHECK(bearer_invalid(t.access_token),
	    "a revoked access token is invalid_token");
}

static void
test_callback_errors(void)
{
	struct client	 c;
	struct reply	 r;
	char		 verifier[TOKEN_STRLEN], state[PROTO_STATE_MAX];
	int64_t		 codes;

	new_client(AUTH_METHOD_NONE, &c);
	if (random_token(verifier, sizeof(verifier), 32) == -1)
		die("random_token");

	do_callback("no-such-state", "forgejo-code", "", &r);
	CHECK(is_error(&r, 400, "invalid_request") &&
	    strcmp(r.u.err.description, "unknown or expired state") == 0 &&
	    r.u.err.redirect_uri[0] == '\0',
	    "an unknown state is invalid_request without a redirect");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	do_callback(state, "forgejo-code", "", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_CALLBACK_OK, sizeof(r.u.code)),
	    "a state is used once");
	remember(r.u.code.code);
	do_callback(state, "forgejo-code", "", &r);
	CHECK(is_error(&r, 400, "invalid_request") &&
	    r.u.err.redirect_uri[0] == '\0',
	    "and replayed it is invalid_request without a redirect");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	oauth_set_clock_offset(601);
	do_callback(state, "forgejo-code", "", &r);
	oauth_set_clock_offset(0);
	CHECK(is_error(&r, 400, "invalid_request") &&
	    r.u.err.redirect_uri[0] == '\0',
	    "an expired state is invalid_request without a redirect");
	do_callback(state, "forgejo-code", "", &r);
	CHECK(is_error(&r, 400, "invalid_request"), "and it is gone");

	codes = qint("SELECT count(*) FROM auth_codes");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	do_callback(state, "", "access_denied", &r);
	CHECK(is_error(&r, 400, "access_denied") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0 &&
	    strcmp(r.u.err.state, "cs") == 0 && r.u.err.has_state,
	    "forgejo's access_denied goes to the client with its state");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	do_callback(state, "", "invalid_scope", &r);
	CHECK(is_error(&r, 502, "server_error") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0 &&
	    strcmp(r.u.err.state, "cs") == 0,
	    "another error of forgejo's is server_error to the client");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	stub_exchange = FORGEJO_REFUSED;
	do_callback(state, "forgejo-code", "", &r);
	stub_exchange = FORGEJO_OK;
	CHECK(is_error(&r, 502, "server_error") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0 &&
	    strcmp(r.u.err.state, "cs") == 0 && r.u.err.has_state,
	    "forgejo refusing the code is server_error 502, to the client");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	stub_exchange = FORGEJO_UNAVAILABLE;
	do_callback(state, "forgejo-code", "", &r);
	stub_exchange = FORGEJO_OK;
	CHECK(is_error(&r, 503, "temporarily_unavailable") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0 &&
	    strcmp(r.u.err.state, "cs") == 0,
	    "forgejo unavailable is temporarily_unavailable 503");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	stub_exchange = FORGEJO_BAD_ANSWER;
	do_callback(state, "forgejo-code", "", &r);
	stub_exchange = FORGEJO_OK;
	CHECK(is_error(&r, 502, "server_error"),
	    "a bad answer from forgejo is server_error");

	(void)strlcpy(state, start(c.id, verifier, "", NULL), sizeof(state));
	stub_user = FORGEJO_REFUSED;
	do_callback(state, "forgejo-code", "", &r);
	stub_user = FORGEJO_OK;
	CHECK(is_error(&r, 502, "server_error") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0 &&
	    !r.u.err.has_state && r.u.err.state[0] == '\0',
	    "forgejo refusing the user query is server_error; no state "
	    "when the client sent none");

	(void)strlcpy(state, start(c.id, verifier, "", "cs"), sizeof(state));
	stub_user = FORGEJO_UNAVAILABLE;
	do_callback(state, "forgejo-code", "", &r);
	stub_user = FORGEJO_OK;
	CHECK(is_error(&r, 503, "temporarily_unavailable"),
	    "forgejo unavailable for the user query is "
	    "temporarily_unavailable");

	CHECK(qint("SELECT count(*) FROM auth_codes") == codes,
	    "none of these wrote an authorization code");

	do_authorize("no-such-client", "0123456789012345678901234567890123456"
	    "789012", "", "cs", &r);
	CHECK(is_error(&r, 401, "invalid_client") &&
	    r.u.err.redirect_uri[0] == '\0',
	    "authorize for an unknown client: invalid_client, no redirect");
	do_authorize(c.id, "too-short", "", "cs", &r);
	CHECK(is_error(&r, 400, "invalid_request") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0,
	    "a malformed challenge: invalid_request to the client");
}

static void
test_pending_limit(void)
{
	struct client	 c;
	struct reply	 r;
	char		 verifier[TOKEN_STRLEN], challenge[TOKEN_STRLEN];
	int		 i, ok = 0;

	new_client(AUTH_METHOD_NONE, &c);
	if (random_token(verifier, sizeof(verifier), 32) == -1)
		die("random_token");
	s256(verifier, challenge, sizeof(challenge));

	/* Whatever earlier tests left pending expires first. */
	oauth_set_clock_offset(601);
	for (i = 0; i < 1024; i++) {
		do_authorize(c.id, challenge, "", "cs", &r);
		if (r.type == IMSG_OAUTH_AUTHORIZE_OK)
			ok++;
	}
	CHECK(ok == 1024, "1024 authorizations may be pending (%d)", ok);
	do_authorize(c.id, challenge, "", "cs", &r);
	CHECK(is_error(&r, 503, "temporarily_unavailable") &&
	    strcmp(r.u.err.redirect_uri, REDIRECT) == 0,
	    "the next is temporarily_unavailable, to the client");
	oauth_set_clock_offset(1202);
	do_authorize(c.id, challenge, "", "cs", &r);
	CHECK(is_ok(&r, IMSG_OAUTH_AUTHORIZE_OK, sizeof(r.u.redirect)),
	    "once they expired there is room again");
	oauth_set_clock_offset(0);
}

static void
test_reaper(void)
{
	struct client		 c, stale;
	struct oauth_token	 t, s, n;
	struct reply		 r;
	char			 verifier[TOKEN_STRLEN], code[TOKEN_STRLEN];
	char			 grant[SHA256_HEX_LEN];

	new_client(AUTH_METHOD_NONE, &c);
	CHECK(get_code(&c, "", verifier, code) == 0, "a code left unused");
	oauth_set_clock_offset(599);
	oauth_reap();
	CHECK(qint("SELECT count(*) FROM auth_codes WHERE code = %Q",
	    hash(code)) == 1, "the reaper keeps it while it is valid");
	oauth_set_clock_offset(600);
	oauth_reap();
	oauth_set_clock_offset(0);
	CHECK(qint("SELECT count(*) FROM auth_codes WHERE code = %Q",
	    hash(code)) == 0, "and removes it once it has expired");
	CHECK(qint("SELECT count(*) FROM auth_codes WHERE expires_at <= "
	    "strftime('%%s', 'now') + 600") == 0, "with every expired code");

	/* Rotated tokens stay to catch reuse; revoked grants go. */
	CHECK(get_tokens(&c, "", &t) == 0, "tokens");
	do_bearer(t.access_token, &r);
	(void)strlcpy(grant, r.u.bearer.grant_id, sizeof(grant));
	do_token_refresh(&c, t.refresh_token, "", "", &r);
	n = r.u.token;
	oauth_set_clock_offset(ACCESS_LIFETIME + 1);
	oauth_reap();
	CHECK(qint("SELECT count(*) FROM refresh_tokens WHERE token_hash = %Q",
	    hash(t.refresh_token)) == 1,
	    "the reaper keeps a rotated refresh token of a live grant");
	CHECK(qint("SELECT forgejo_access_token = '' FROM access_tokens "
	    "WHERE token_hash = %Q", hash(t.access_token)) == 1 &&
	    qint("SELECT forgejo_access_token != '' FROM access_tokens "
	    "WHERE token_hash = %Q", hash(n.access_token)) == 1,
	    "but wipes the forgejo token of its superseded access token");
	do_token_refresh(&c, t.refresh_token, "", "", &r);
	CHECK(is_error(&r, 400, "invalid_grant") &&
	    qint("SELECT count(*) FROM refresh_tokens WHERE grant_id = %Q "
	    "AND revoked_at IS NULL", grant) == 0,
	    "so that its reuse still revokes the grant");
	oauth_reap();
	oauth_set_clock_offset(0);
	CHECK(qint("SELECT count(*) FROM refresh_tokens WHERE grant_id = %Q",
	    grant) == 0 &&
	    qint("SELECT count(*) FROM access_tokens WHERE grant_id = %Q",
	    grant) == 0, "the revoked grant's tokens are reaped");

	/* Pruning. */
	new_client(AUTH_METHOD_POST, &stale);
	CHECK(get_tokens(&stale, "", &s) == 0 && get_tokens(&c, "", &t) == 0,
	    "two clients with tokens");
	sql("UPDATE clients SET last_used = strftime('%%s', 'now') - %d "
	    "WHERE client_id = %Q", PRUNE_AFTER + 10, stale.id);
	sql("UPDATE clients SET last_used = strftime('%%s', 'now') - %d "
	    "WHERE client_id = %Q", PRUNE_AFTER - 10, c.id);
	oauth_reap();
	CHECK(qint("SELECT count(*) FROM clients WHERE client_id = %Q",
	    stale.id) == 0, "a client unused for too long is pruned");
	CHECK(qint("SELECT count(*) FROM access_tokens WHERE client_id = %Q",
	    stale.id) == 0 &&
	    qint("SELECT count(*) FROM refresh_tokens WHERE client_id = %Q",
	    stale.id) == 0 &&
	    qint("SELECT count(*) FROM auth_codes WHERE client_id = %Q",
	    stale.id) == 0, "with its codes and tokens");
	CHECK(bearer_invalid(s.access_token), "its access token fails");
	CHECK(qint("SELECT count(*) FROM clients WHERE client_id = %Q",
	    c.id) == 1 && bearer_ok(t.access_token),
	    "a client used recently stays, with its tokens");

	new_client(AUTH_METHOD_NONE, &stale);
	sql("UPDATE clients SET created_at = strftime('%%s', 'now') - %d "
	    "WHERE client_id = %Q", PRUNE_AFTER + 10, stale.id);
	oauth_reap();
	CHECK(qint("SELECT count(*) FROM clients WHERE client_id = %Q",
	    stale.id) == 0, "a client never used is pruned by its age");
}

static void
test_no_plaintext(void)
{
	char	*log, *buf;
	size_t	 i, len, indb = 0, inlog = 0, hashes = 0;

	for (i = 0; i < nsecrets; i++) {
		if (db_contains(secrets[i])) {
			printf("# secret %zu is in the database\n", i);
			indb++;
		}
	}
	CHECK(nsecrets > 50 && indb == 0,
	    "no token, code, secret or verifier handed out (%zu) is in the "
	    "database files", nsecrets);

	/* The last access token issued is still there, as a hash. */
	for (i = 0; i < nsecrets; i++)
		if (strlen(secrets[i]) == 43 && db_contains(hash(secrets[i])))
			hashes++;
	CHECK(hashes > 10, "while hashes of them are (%zu)", hashes);

	fflush(stderr);
	if (read_file(path("log"), &buf, &len, 64 * 1024 * 1024) == -1)
		die("read log");
	log = buf;
	for (i = 0; i < nsecrets; i++)
		if (memmem(log, len, secrets[i], strlen(secrets[i])) != NULL)
			inlog++;
	CHECK(inlog == 0 && memmem(log, len, "fj-", 3) == NULL &&
	    memmem(log, len, "forgejo-code", 12) == NULL,
	    "nor in the log, nor a forgejo token or code");
	CHECK(memmem(log, len, "registered client", 17) != NULL,
	    "(the log is there: %zu bytes)", len);
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

/* Put stderr back, and repeat the log there. */
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
	struct imsg	 imsg;
	const char	*tmp;
	size_t		 i;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)snprintf(dir, sizeof(dir), "%s/oauth_test.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");

	capture_start();
	log_init(1, LOG_DAEMON);
	log_setverbose(2);
	log_procinit("tokend");

	memset(&tokend_env, 0, sizeof(tokend_env));
	(void)strlcpy(tokend_env.cfg.database, path("oauth.db"),
	    sizeof(tokend_env.cfg.database));
	(void)strlcpy(tokend_env.cfg.public_url, "https://mcp.example.test",
	    sizeof(tokend_env.cfg.public_url));
	tokend_env.cfg.access_lifetime = ACCESS_LIFETIME;
	tokend_env.cfg.refresh_lifetime = REFRESH_LIFETIME;
	tokend_env.cfg.refresh_grace = REFRESH_GRACE;
	tokend_env.cfg.client_prune_after = PRUNE_AFTER;

	event_init();
	if (db_open(tokend_env.cfg.database) == -1) {
		fprintf(stdout, "not ok 1 - db_open\n");
		return 1;
	}
	oauth_init();
	channel_setup();

	memset(&imsg, 0, sizeof(imsg));
	imsg.hdr.type = IMSG_HEALTH_REQ;
	CHECK(oauth_dispatch(tev, &imsg) == 0,
	    "oauth_dispatch leaves other messages to its caller");

	test_register();
	test_flow();
	test_client_auth();
	test_code_expiry();
	test_refresh();
	test_revoke();
	test_bearer();
	test_callback_errors();
	test_pending_limit();
	test_reaper();
	test_no_plaintext();

	CHECK(stray == 0 && wrong_id == 0 && imsgbuf_queuelen(&tev->ibuf) == 0,
	    "every request got exactly one answer, under its own id "
	    "(%d extra, %d misaddressed)", stray, wrong_id);

	db_close();
	capture_end();
	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
	cleanup();
	return regress_done();
}
