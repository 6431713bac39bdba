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
 * The MCP relay of the http process: Streamable HTTP on /mcp and the
 * HTTP+SSE transport of 2024-11-05 on /sse and /messages, in front of
 * one child per session whose stdio arrives here from spawnd.
 *
 * Requests are written to the child with an id of our own, so that
 * answers find their HTTP request whatever order they come in and
 * whatever ids the client chose; the client's id is put back on the
 * way out.  Everything else the child says goes to the request it
 * belongs to when that is clear, and to the session's GET stream
 * otherwise.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <event.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define MCP_SSE_KEEPALIVE	15	/* seconds between ": ping" */
#define MCP_QUEUE_MAX		64	/* messages waiting for a GET stream */
#define MCP_RETRY_AFTER		"Retry-After: 10\r\n"
#define MCP_ERR_INTERNAL	(-32603)
#define MCP_ERR_PARSE		(-32700)
#define MCP_ERR_INVALID		(-32600)

static const char *const mcp_versions[] = {
	"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", NULL
};

/*
 * The stdio of one child.  A session has its current child and, after
 * a token refresh replaced it, retired ones that finish the requests
 * they were given and are then closed.
 */
struct chpipe {
	TAILQ_ENTRY(chpipe)	 entry;
	struct session		*session;
	int			 fd;		/* -1 until spawnd hands it */
	pid_t			 pid;
	struct event		 ev;
	int			 ev_set;
	struct evbuffer		*in;
	struct evbuffer		*out;
	int			 retired;
};
TAILQ_HEAD(chpipes, chpipe);

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	json_int_t		 id;		/* ours, sent to the child */
	json_t			*client_id;	/* the client's, put back */
	json_t			*progress;	/* _meta.progressToken */
	struct conn		*conn;		/* NULL: legacy, to the stream */
	struct chpipe		*pipe;		/* the child that was asked */
	int			 replay;	/* our own initialize */
};
TAILQ_HEAD(pendings, pending);

enum session_state {
	SESSION_STARTING,	/* waiting for spawnd */
	SESSION_READY,
	SESSION_DEAD
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	char			 id[PROTO_SESSION_MAX];
	int64_t			 user_id;
	char			 username[PROTO_NAME_MAX];
	char			 grant_id[65];
	enum session_state	 state;
	int			 legacy;	/* /sse and /messages */
	char			 version[16];	/* negotiated */
	struct chpipe		*cur;		/* the current child */
	struct chpipes		 retired;
	json_t			*init_msg;	/* replayed to a new child */
	int			 initialized;	/* client said so */
	int			 stale;		/* token expired, Forgejo down */
	int			 retry_after;
	struct pendings		 pending;
	json_int_t		 nextid;
	struct conn		*stream;	/* GET /mcp or GET /sse */
	json_t			*queue;		/* for a stream to come */
	struct conn		*init;		/* the initialize POST */
	struct event		 ev_idle;
	struct event		 ev_ping;
	time_t			 last_used;
};
TAILQ_HEAD(sessions, session);

/* What a connection waits for, hung on conn->mcp. */
struct mcp_wait {
	struct session		*session;
	int			 npending;	/* answers still due */
	int			 batch;
	json_t			*answers;	/* for a batch */
	int			 streaming;	/* switched to SSE */
	char			 method[16];	/* POST, GET, DELETE, SSE */
};

static struct sessions	 sessions = TAILQ_HEAD_INITIALIZER(sessions);
static int		 nsessions;

static void	 mcp_post(struct conn *, const struct auth_bearer *);
static void	 mcp_get(struct conn *, const struct auth_bearer *);
static void	 mcp_delete(struct conn *, const struct auth_bearer *);
static void	 mcp_sse(struct conn *, const struct auth_bearer *);
static void	 mcp_messages(struct conn *, const struct auth_bearer *);
static struct session *session_new(const struct auth_bearer *, int);
static void	 session_end(struct session *, const char *);
static void	 session_stop(struct session *, const char *, int);
static void	 session_free(struct session *);
static struct session *session_byid(const char *);
static void	 pipe_io(int, short, void *);
static void	 pipe_update(struct chpipe *);
static struct chpipe *pipe_new(struct session *);
static void	 pipe_free(struct chpipe *);
static void	 pipe_close(struct chpipe *);
static void	 session_reap(int, short, void *);
static int	 pipe_retire_done(struct chpipe *);
static void	 pipe_lost(struct chpipe *);
static void	 session_line(struct session *, struct chpipe *, const char *,
		    size_t);
static void	 session_send(struct session *, json_t *);
static void	 session_send_notification(struct session *, json_t *);
static void	 session_idle(int, short, void *);
static void	 session_ping(int, short, void *);
static void	 session_touch(struct session *);
static void	 session_to_stream(struct session *, json_t *);
static int	 session_stale(struct conn *, struct session *);
static int	 session_forward_request(struct session *, struct conn *,
		    json_t *);
static void	 pending_answer(struct session *, struct pending *,
		    json_t *);
static void	 pending_free(struct session *, struct pending *);
static void	 wait_deliver(struct conn *, json_t *, int);
static struct mcp_wait *wait_get(struct conn *);
static void	 rpc_error(struct conn *, int, json_t *, int, const char *,
		    const char *);
static json_t	*rpc_error_msg(json_t *, int, const char *);
static int	 mcp_origin_ok(struct conn *);
static int	 mcp_version_ok(const char *);
static void	 sse_event(struct conn *, json_t *);
static void	 wait_detach(struct session *, struct conn *);
static void	 mcp_unauthorized(struct conn *, const char *);

/*
 * Routing: every MCP endpoint checks Origin first, then the bearer
 * token; oauth.c answers the 401s.
 */
int
mcp_route(struct conn *c)
{
	const char	*path = c->req.path;
	enum http_method m = c->req.method;

	if (strcmp(path, "/mcp") != 0 && strcmp(path, "/sse") != 0 &&
	    strcmp(path, "/messages") != 0)
		return 0;
	if (m == HTTP_METHOD_OPTIONS)
		return 0;	/* CORS preflight: oauth.c, without auth */
	if (!mcp_origin_ok(c)) {
		log_info("%s: %s from a foreign origin or host refused",
		    c->peer, path);
		rpc_error(c, 403, NULL, MCP_ERR_INVALID,
		    "origin or host not allowed", NULL);
		return 1;
	}
	if (strcmp(path, "/mcp") == 0) {
		if (m == HTTP_METHOD_POST)
			oauth_require_bearer(c, "/mcp", mcp_post);
		else if (m == HTTP_METHOD_GET)
			oauth_require_bearer(c, "/mcp", mcp_get);
		else if (m == HTTP_METHOD_DELETE)
			oauth_require_bearer(c, "/mcp", mcp_delete);
		else
			conn_respond(c, 405, "text/plain", "", 0,
			    "Allow: GET, POST, DELETE, OPTIONS\r\n");
	} else if (strcmp(path, "/sse") == 0) {
		if (m == HTTP_METHOD_GET)
			oauth_require_bearer(c, "/sse", mcp_sse);
		else
			conn_respond(c, 405, "text/plain", "", 0,
			    "Allow: GET, OPTIONS\r\n");
	} else {
		if (m == HTTP_METHOD_POST)
			oauth_require_bearer(c, "/sse", mcp_messages);
		else
			conn_respond(c, 405, "text/plain", "", 0,
			    "Allow: POST, OPTIONS\r\n");
	}
	return 1;
}

/*
 * DNS rebinding: a browser page may only reach us from our own origin
 * or one the configuration allows, and only under our own host name.
 * Clients that are not browsers send no Origin.
 */
static int
mcp_origin_ok(struct conn *c)
{
	const char	*origin = http_header(&c->req, "Origin");
	const char	*host = http_header(&c->req, "Host");
	const char	*pu = http_env.cfg.public_url, *auth, *p;
	size_t		 len;
	int		 i;

	/* The public url's origin: scheme://host[:port], without a path. */
	if ((auth = strstr(pu, "://")) == NULL)
		return 0;
	auth += 3;
	if ((p = strchr(auth, '/')) != NULL)
		len = (size_t)(p - pu);
	else
		len = strlen(pu);
	if (host != NULL && (strlen(host) != len - (size_t)(auth - pu) ||
	    strncasecmp(host, auth, len - (size_t)(auth - pu)) != 0))
		return 0;
	if (origin == NULL)
		return 1;
	if (http_header_count(&c->req, "Origin") != 1)
		return 0;
	if (strlen(origin) == len && strncasecmp(origin, pu, len) == 0)
		return 1;
	for (i = 0; i < http_env.norigins; i++)
		if (strcasecmp(origin, http_env.origins[i]) == 0)
			return 1;
	return 0;
}

static int
mcp_version_ok(const char *v)
{
	int	 i;

	for (i = 0; mcp_versions[i] != NULL; i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			return 1;
	return 0;
}

static int
accept_has(const char *accept, const char *type)
{
	return accept != NULL && (strcasestr(accept, type) != NULL ||
	    strstr(accept, "*/*") != NULL);
}

static int
is_json_type(const char *ct)
{
	size_t	 n = strlen("application/json");

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* JSON-RPC error as an HTTP answer; id may be NULL. */
static void
rpc_error(struct conn *c, int status, json_t *id, int code,
    const char *message, const char *extra)
{
	json_t	*msg;
	char	*s;

	msg = rpc_error_msg(id, code, message);
	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	json_decref(msg);
	conn_respond(c, status, "application/json", s, strlen(s), extra);
	free(s);
}

static json_t *
rpc_error_msg(json_t *id, int code, const char *message)
{
	json_t	*msg;

	msg = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0",
	    "id", id, "error", "code", code, "message", message);
	if (msg == NULL)
		fatalx("%s: json", __func__);
	if (json_object_get(msg, "id") == NULL)
		json_object_set_new(msg, "id", json_null());
	return msg;
}

/* The requests of this connection will not be answered on it. */
static void
wait_detach(struct session *s, struct conn *c)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &s->pending, entry)
		if (p->conn == c)
			p->conn = NULL;
	if (c->mcp != NULL)
		((struct mcp_wait *)c->mcp)->npending = 0;
}

/*
 * The grant behind the token is gone (Forgejo revoked it): the client
 * must log in again, and a 401 with the challenge makes it.
 */
static void
mcp_unauthorized(struct conn *c, const char *resource)
{
	char	 hdr[PROTO_URL_MAX + 160];

	(void)snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
	    "resource_metadata=\"%s/.well-known/oauth-protected-resource%s\", "
	    "error=\"invalid_token\"\r\n%s", http_env.cfg.public_url,
	    resource, oauth_cors_headers());
	rpc_error(c, 401, NULL, MCP_ERR_INVALID, "invalid token", hdr);
}

static struct mcp_wait *
wait_get(struct conn *c)
{
	struct mcp_wait	*w;

	if (c->mcp != NULL)
		return c->mcp;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	c->mcp = w;
	return w;
}

/* The session of a request, or an answer saying why there is none. */
static struct session *
session_lookup(struct conn *c, const struct auth_bearer *who, int legacy)
{
	struct session	*s;
	const char	*id;
	char		 q[PROTO_SESSION_MAX];

	if (legacy) {
		if (c->req.query == NULL || http_form_get(c->req.query,
		    strlen(c->req.query), "sessionId", q, sizeof(q)) != 1) {
			rpc_error(c, 400, NULL, MCP_ERR_INVALID,
			    "sessionId required", NULL);
			return NULL;
		}
		id = q;
	} else if ((id = http_header(&c->req, "Mcp-Session-Id")) == NULL) {
		rpc_error(c, 400, NULL, MCP_ERR_INVALID,
		    "Mcp-Session-Id header required", NULL);
		return NULL;
	}
	/* Another user's session is as unknown as one that never was. */
	if ((s = session_byid(id)) == NULL || s->user_id != who->user_id ||
	    s->state == SESSION_DEAD || s->legacy != legacy) {
		rpc_error(c, 404, NULL, -32001, "session not found", NULL);
		return NULL;
	}
	return s;
}

static struct session *
session_byid(const char *id)
{
	struct session	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (timingsafe_streq(s->id, id))
			return s;
	return NULL;
}

static int
user_sessions(int64_t user_id)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, &sessions, entry)
		if (s->user_id == user_id && s->state != SESSION_DEAD)
			n++;
	return n;
}

/*
 * A new session: counted against the limits at once, its child asked
 * for from tokend, which hands the user's token to spawnd.
 */
static struct session *
session_new(const struct auth_bearer *who, int legacy)
{
	struct session_open	 so;
	struct session		*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	TAILQ_INIT(&s->retired);
	s->cur = pipe_new(s);
	if (random_token(s->id, sizeof(s->id), 32) == -1)
		fatalx("%s: random_token", __func__);
	s->user_id = who->user_id;
	strlcpy(s->username, who->username, sizeof(s->username));
	strlcpy(s->grant_id, who->grant_id, sizeof(s->grant_id));
	s->legacy = legacy;
	s->nextid = 1;
	TAILQ_INIT(&s->pending);
	evtimer_set(&s->ev_idle, session_idle, s);
	evtimer_set(&s->ev_ping, session_ping, s);
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	nsessions++;
	session_touch(s);

	memset(&so, 0, sizeof(so));
	strlcpy(so.session_id, s->id, sizeof(so.session_id));
	strlcpy(so.grant_id, who->grant_id, sizeof(so.grant_id));
	so.user_id = who->user_id;
	strlcpy(so.username, who->username, sizeof(so.username));
	if (imsg_compose_event(http_env.iev[PROC_TOKEND], IMSG_SESSION_OPEN,
	    0, -1, &so, sizeof(so)) == -1)
		fatal("%s: imsg_compose", __func__);
	log_info("session %.8s for user %s: starting", s->id, s->username);
	return s;
}

/*
 * The user's Forgejo token has expired and Forgejo cannot be reached to
 * refresh it: a tool call would only fail, so say when to come back.
 */
static int
session_stale(struct conn *c, struct session *s)
{
	char	 hdr[64];

	if (!s->stale)
		return 0;
	(void)snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n",
	    s->retry_after > 0 ? s->retry_after : 10);
	rpc_error(c, 503, NULL, MCP_ERR_INTERNAL, "Forgejo cannot be reached "
	    "and the session's token has expired; try again later", hdr);
	return 1;
}

/* Limits first: the whole daemon, then the user. */
static int
session_limits_ok(struct conn *c, const struct auth_bearer *who)
{
	if (nsessions >= (int)http_env.cfg.max_sessions) {
		log_warnx("session limit of %u reached",
		    http_env.cfg.max_sessions);
		rpc_error(c, 503, NULL, MCP_ERR_INTERNAL,
		    "too many sessions, try again later", MCP_RETRY_AFTER);
		return 0;
	}
	if (user_sessions(who->user_id) >=
	    (int)http_env.cfg.max_sessions_per_user) {
		log_info("user %s: session limit of %u reached",
		    who->username, http_env.cfg.max_sessions_per_user);
		rpc_error(c, 429, NULL, MCP_ERR_INTERNAL,
		    "too many sessions for this user", MCP_RETRY_AFTER);
		return 0;
	}
	return 1;
}

static json_t *
body_json(struct conn *c)
{
	json_error_t	 err;

	if (c->body == NULL)
		return NULL;
	return json_loadb(c->body, c->bodylen, JSON_REJECT_DUPLICATES, &err);
}

static int
is_request(json_t *m)
{
	return json_is_object(m) && json_is_string(json_object_get(m,
	    "method")) && json_object_get(m, "id") != NULL &&
	    !json_is_null(json_object_get(m, "id"));
}

static int
is_valid_message(json_t *m)
{
	return json_is_object(m) && (json_is_string(json_object_get(m,
	    "method")) || json_object_get(m, "result") != NULL ||
	    json_object_get(m, "error") != NULL);
}

/* POST /mcp: initialize, requests, notifications and responses. */
static void
mcp_post(struct conn *c, const struct auth_bearer *who)
{
	struct session	*s;
	struct mcp_wait	*w;
	const char	*v, *sid;
	json_t		*body, *m;
	size_t		 i, n;
	int		 requests = 0, init;

	if (!accept_has(http_header(&c->req, "Accept"), "application/json") ||
	    !accept_has(http_header(&c->req, "Accept"), "text/event-stream")) {
		rpc_error(c, 406, NULL, MCP_ERR_INVALID, "Accept must list "
		    "application/json and text/event-stream", NULL);
		return;
	}
	if (!is_json_type(http_header(&c->req, "Content-Type"))) {
		rpc_error(c, 415, NULL, MCP_ERR_INVALID,
		    "Content-Type must be application/json", NULL);
		return;
	}
	if ((body = body_json(c)) == NULL) {
		rpc_error(c, 400, NULL, MCP_ERR_PARSE, "parse error", NULL);
		return;
	}
	n = json_is_array(body) ? json_array_size(body) : 1;
	for (i = 0; i < n; i++) {
		m = json_is_array(body) ? json_array_get(body, i) : body;
		if (!is_valid_message(m)) {
			json_decref(body);
			rpc_error(c, 400, NULL, MCP_ERR_INVALID,
			    "invalid JSON-RPC message", NULL);
			return;
		}
		requests += is_request(m);
	}
	init = json_is_object(body) && is_request(body) &&
	    strcmp(json_string_value(json_object_get(body, "method")),
	    "initialize") == 0;
	sid = http_header(&c->req, "Mcp-Session-Id");

	if (init) {
		if (sid != NULL) {
			json_decref(body);
			rpc_error(c, 400, NULL, MCP_ERR_INVALID,
			    "already initialized", NULL);
			return;
		}
		if (!session_limits_ok(c, who)) {
			json_decref(body);
			return;
		}
		s = session_new(who, 0);
		s->init = c;
		/* A replacement child is initialized the same way. */
		if ((s->init_msg = json_deep_copy(body)) == NULL)
			fatal("%s", __func__);
		w = wait_get(c);
		w->session = s;
		strlcpy(w->method, "POST", sizeof(w->method));
		(void)session_forward_request(s, c, body);
		json_decref(body);
		return;
	}

	if ((s = session_lookup(c, who, 0)) == NULL) {
		json_decref(body);
		return;
	}
	if ((v = http_header(&c->req, "MCP-Protocol-Version")) != NULL &&
	    !mcp_version_ok(v)) {
		json_decref(body);
		rpc_error(c, 400, NULL, MCP_ERR_INVALID,
		    "unsupported MCP-Protocol-Version", NULL);
		return;
	}
	if (json_is_array(body) && strcmp(s->version, "2025-03-26") != 0) {
		json_decref(body);
		rpc_error(c, 400, NULL, MCP_ERR_INVALID,
		    "batches are only accepted on 2025-03-26 sessions", NULL);
		return;
	}
	if (json_is_array(body) && n == 0) {
		json_decref(body);
		rpc_error(c, 400, NULL, MCP_ERR_INVALID, "empty batch", NULL);
		return;
	}
	session_touch(s);
	if (requests > 0 && session_stale(c, s)) {
		json_decref(body);
		return;
	}
	if (requests == 0) {
		/* Notifications and responses: pass on, answer 202. */
		for (i = 0; i < n; i++)
			session_send_notification(s, json_is_array(body) ?
			    json_array_get(body, i) : body);
		json_decref(body);
		conn_respond(c, 202, NULL, "", 0, NULL);
		return;
	}
	w = wait_get(c);
	w->session = s;
	strlcpy(w->method, "POST", sizeof(w->method));
	if (json_is_array(body)) {
		w->batch = 1;
		if ((w->answers = json_array()) == NULL)
			fatal("%s", __func__);
	}
	for (i = 0; i < n; i++) {
		m = json_is_array(body) ? json_array_get(body, i) : body;
		if (is_request(m))
			(void)session_forward_request(s, c, m);
		else
			session_send_notification(s, m);
	}
	json_decref(body);
}

/*
 * Give a request our own id and remember whose it is.  The copy sent
 * keeps everything else as the client wrote it.
 */
static int
session_forward_request(struct session *s, struct conn *c, json_t *req)
{
	struct pending	*p;
	struct mcp_wait	*w;
	json_t		*copy, *meta;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (copy = json_deep_copy(req)) == NULL)
		fatal("%s", __func__);
	p->id = s->nextid++;
	p->client_id = json_incref(json_object_get(req, "id"));
	meta = json_object_get(json_object_get(req, "params"), "_meta");
	if ((p->progress = json_object_get(meta, "progressToken")) != NULL)
		json_incref(p->progress);
	p->conn = c;
	p->pipe = s->cur;
	if (c != NULL) {
		w = wait_get(c);
		w->npending++;
	}
	TAILQ_INSERT_TAIL(&s->pending, p, entry);
	json_object_set_new(copy, "id", json_integer(p->id));
	session_send(s, copy);
	json_decref(copy);
	return 0;
}

/*
 * A cancellation names the request by the client's id; the child knows
 * it by ours.  One for a request no longer pending is dropped.
 */
static void
session_send_notification(struct session *s, json_t *m)
{
	struct pending	*p;
	json_t		*copy, *rid;
	const char	*method;

	method = json_string_value(json_object_get(m, "method"));
	if (method != NULL && strcmp(method, "notifications/initialized") == 0)
		s->initialized = 1;
	if (method == NULL || strcmp(method, "notifications/cancelled") != 0) {
		session_send(s, m);
		return;
	}
	rid = json_object_get(json_object_get(m, "params"), "requestId");
	TAILQ_FOREACH(p, &s->pending, entry)
		if (rid != NULL && json_equal(rid, p->client_id))
			break;
	if (p == NULL) {
		log_debug("session %.8s: cancellation of no pending request",
		    s->id);
		return;
	}
	if ((copy = json_deep_copy(m)) == NULL)
		fatal("%s", __func__);
	json_object_set_new(json_object_get(copy, "params"), "requestId",
	    json_integer(p->id));
	session_send(s, copy);
	json_decref(copy);
}

/* Queue one message for the child, newline-delimited. */
static void
session_send(struct session *s, json_t *m)
{
	char	*line;

	if (s->cur == NULL)
		return;
	if ((line = json_dumps(m, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	evbuffer_add(s->cur->out, line, strlen(line));
	evbuffer_add(s->cur->out, "\n", 1);
	freezero(line, strlen(line));
	pipe_update(s->cur);
}

static struct chpipe *
pipe_new(struct session *s)
{
	struct chpipe	*cp;

	if ((cp = calloc(1, sizeof(*cp))) == NULL ||
	    (cp->in = evbuffer_new()) == NULL ||
	    (cp->out = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	cp->session = s;
	cp->fd = -1;
	return cp;
}

/* The child loses its stdio; the buffers stay until pipe_free(). */
static void
pipe_close(struct chpipe *cp)
{
	if (cp->fd == -1)
		return;
	if (cp->ev_set)
		event_del(&cp->ev);
	cp->ev_set = 0;
	close(cp->fd);
	cp->fd = -1;
}

static void
pipe_free(struct chpipe *cp)
{
	if (cp == NULL)
		return;
	pipe_close(cp);
	if (cp->retired)
		TAILQ_REMOVE(&cp->session->retired, cp, entry);
	evbuffer_free(cp->in);
	evbuffer_free(cp->out);
	free(cp);
}

static void
pipe_update(struct chpipe *cp)
{
	short	 events = EV_READ;

	if (cp->fd == -1)
		return;
	if (EVBUFFER_LENGTH(cp->out) > 0)
		events |= EV_WRITE;
	if (cp->ev_set)
		event_del(&cp->ev);
	cp->ev_set = 1;
	event_set(&cp->ev, cp->fd, events, pipe_io, cp);
	event_add(&cp->ev, NULL);
}

/*
 * A retired child with nothing left to answer loses its stdin, and so
 * exits; spawnd stops it if it lingers.  Returns 1 if it was freed.
 */
static int
pipe_retire_done(struct chpipe *cp)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &cp->session->pending, entry)
		if (p->pipe == cp)
			return 0;
	log_debug("session %.8s: retired child %d done", cp->session->id,
	    cp->pid);
	pipe_free(cp);
	return 1;
}

/* GET /mcp: the server-to-client stream of a session. */
static void
mcp_get(struct conn *c, const struct auth_bearer *who)
{
	struct session	*s;
	struct mcp_wait	*w;
	const char	*v;
	size_t		 i;

	if (!accept_has(http_header(&c->req, "Accept"), "text/event-stream")) {
		rpc_error(c, 406, NULL, MCP_ERR_INVALID,
		    "Accept must list text/event-stream", NULL);
		return;
	}
	if ((s = session_lookup(c, who, 0)) == NULL)
		return;
	if ((v = http_header(&c->req, "MCP-Protocol-Version")) != NULL &&
	    !mcp_version_ok(v)) {
		rpc_error(c, 400, NULL, MCP_ERR_INVALID,
		    "unsupported MCP-Protocol-Version", NULL);
		return;
	}
	if (s->stream != NULL) {
		rpc_error(c, 409, NULL, MCP_ERR_INVALID,
		    "a stream is already open for this session", NULL);
		return;
	}
	w = wait_get(c);
	w->session = s;
	strlcpy(w->method, "GET", sizeof(w->method));
	s->stream = c;
	session_touch(s);
	conn_stream_begin(c, 200, oauth_cors_headers());
	for (i = 0; s->queue != NULL && i < json_array_size(s->queue); i++)
		sse_event(c, json_array_get(s->queue, i));
	json_decref(s->queue);
	s->queue = NULL;
	session_ping(-1, 0, s);
}

/* DELETE /mcp: the client is done with its session. */
static void
mcp_delete(struct conn *c, const struct auth_bearer *who)
{
	struct session	*s;

	if ((s = session_lookup(c, who, 0)) == NULL)
		return;
	log_info("session %.8s of user %s: deleted by the client", s->id,
	    s->username);
	session_end(s, "session deleted by the client");
	conn_respond(c, 200, NULL, "", 0, oauth_cors_headers());
}

/* GET /sse: a 2024-11-05 session lives as long as this stream. */
static void
mcp_sse(struct conn *c, const struct auth_bearer *who)
{
	struct session	*s;
	struct mcp_wait	*w;
	char		 ev[256];

	if (!session_limits_ok(c, who))
		return;
	s = session_new(who, 1);
	strlcpy(s->version, "2024-11-05", sizeof(s->version));
	w = wait_get(c);
	w->session = s;
	strlcpy(w->method, "SSE", sizeof(w->method));
	s->stream = c;
	conn_stream_begin(c, 200, oauth_cors_headers());
	(void)snprintf(ev, sizeof(ev), "event: endpoint\ndata: "
	    "/messages?sessionId=%s\n\n", s->id);
	conn_stream_write(c, ev, strlen(ev));
	session_ping(-1, 0, s);
}

/* POST /messages: everything is answered on the session's stream. */
static void
mcp_messages(struct conn *c, const struct auth_bearer *who)
{
	struct session	*s;
	json_t		*body;

	if ((s = session_lookup(c, who, 1)) == NULL)
		return;
	if ((body = body_json(c)) == NULL) {
		rpc_error(c, 400, NULL, MCP_ERR_PARSE, "parse error", NULL);
		return;
	}
	if (!is_valid_message(body)) {
		json_decref(body);
		rpc_error(c, 400, NULL, MCP_ERR_INVALID,
		    "invalid JSON-RPC message", NULL);
		return;
	}
	session_touch(s);
	if (is_request(body) && session_stale(c, s)) {
		json_decref(body);
		return;
	}
	if (is_request(body))
		(void)session_forward_request(s, NULL, body);
	else
		session_send_notification(s, body);
	json_decref(body);
	conn_respond(c, 202, NULL, "", 0, oauth_cors_headers());
}

/* spawnd's answer: the child's stdio, or why there is no child. */
void
mcp_session_ready(struct imsg *imsg)
{
	struct session_ready	 sr;
	struct session		*s;
	int			 fd;

	if (imsg_get_data(imsg, &sr, sizeof(sr)) == -1)
		fatalx("%s: bad IMSG_SESSION_READY", __func__);
	sr.session_id[sizeof(sr.session_id) - 1] = '\0';
	fd = imsg_get_fd(imsg);
	if ((s = session_byid(sr.session_id)) == NULL ||
	    s->state != SESSION_STARTING) {
		/* Ended while starting: closing the fd stops the child. */
		if (fd != -1)
			close(fd);
		return;
	}
	if (fd == -1)
		fatalx("%s: IMSG_SESSION_READY without a descriptor",
		    __func__);
	s->cur->fd = fd;
	s->cur->pid = sr.pid;
	s->state = SESSION_READY;
	log_info("session %.8s of user %s: child %d ready", s->id,
	    s->username, sr.pid);
	pipe_update(s->cur);
}

/*
 * A refreshed token brought a new child for the session.  It gets the
 * client's initialize again (its answer is ours to drop) before any
 * new request; the old child finishes what it was asked, then loses
 * its stdin.  The client sees nothing of it.
 */
void
mcp_session_replace(struct imsg *imsg)
{
	struct session_ready	 sr;
	struct session		*s;
	struct chpipe		*old;
	struct pending		*p;
	json_t			*copy;
	int			 fd;

	if (imsg_get_data(imsg, &sr, sizeof(sr)) == -1)
		fatalx("%s: bad IMSG_SESSION_REPLACE", __func__);
	sr.session_id[sizeof(sr.session_id) - 1] = '\0';
	if ((fd = imsg_get_fd(imsg)) == -1)
		fatalx("%s: IMSG_SESSION_REPLACE without a descriptor",
		    __func__);
	if ((s = session_byid(sr.session_id)) == NULL ||
	    s->state != SESSION_READY) {
		close(fd);
		return;
	}
	old = s->cur;
	old->retired = 1;
	TAILQ_INSERT_TAIL(&s->retired, old, entry);
	s->cur = pipe_new(s);
	s->cur->fd = fd;
	s->cur->pid = sr.pid;
	s->stale = 0;
	log_info("session %.8s of user %s: child %d replaces child %d",
	    s->id, s->username, sr.pid, old->pid);

	if (s->init_msg != NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL ||
		    (copy = json_deep_copy(s->init_msg)) == NULL)
			fatal("%s", __func__);
		p->id = s->nextid++;
		p->client_id = json_incref(json_object_get(copy, "id"));
		p->pipe = s->cur;
		p->replay = 1;
		TAILQ_INSERT_TAIL(&s->pending, p, entry);
		json_object_set_new(copy, "id", json_integer(p->id));
		session_send(s, copy);
		json_decref(copy);
	}
	if (s->initialized) {
		if ((copy = json_pack("{s:s, s:s}", "jsonrpc", "2.0",
		    "method", "notifications/initialized")) == NULL)
			fatalx("%s: json", __func__);
		session_send(s, copy);
		json_decref(copy);
	}
	pipe_update(s->cur);
	(void)pipe_retire_done(old);
}

/* tokend says the grant is gone: its sessions end now. */
void
mcp_grant_revoked(struct imsg *imsg)
{
	struct grant_ref	 gr;
	struct session		*s, *next;

	if (imsg_get_data(imsg, &gr, sizeof(gr)) == -1)
		fatalx("%s: bad IMSG_GRANT_REVOKED", __func__);
	gr.grant_id[sizeof(gr.grant_id) - 1] = '\0';
	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (strcmp(s->grant_id, gr.grant_id) != 0 ||
		    s->state == SESSION_DEAD)
			continue;
		log_info("session %.8s of user %s: the grant was revoked, "
		    "ending it", s->id, s->username);
		session_stop(s, "the authorization was revoked", 1);
	}
}

void
mcp_grant_stale(struct imsg *imsg)
{
	struct grant_ref	 gr;
	struct session		*s;

	if (imsg_get_data(imsg, &gr, sizeof(gr)) == -1)
		fatalx("%s: bad IMSG_GRANT_STALE", __func__);
	gr.grant_id[sizeof(gr.grant_id) - 1] = '\0';
	TAILQ_FOREACH(s, &sessions, entry) {
		if (strcmp(s->grant_id, gr.grant_id) != 0)
			continue;
		if (!s->stale)
			log_warnx("session %.8s of user %s: token expired and "
			    "forgejo unreachable, answering 503", s->id,
			    s->username);
		s->stale = 1;
		s->retry_after = gr.retry_after;
	}
}

void
mcp_session_fail(struct imsg *imsg)
{
	struct session_fail	 sf;
	struct session		*s;
	struct conn		*c;

	if (imsg_get_data(imsg, &sf, sizeof(sf)) == -1)
		fatalx("%s: bad IMSG_SESSION_FAIL", __func__);
	sf.session_id[sizeof(sf.session_id) - 1] = '\0';
	sf.reason[sizeof(sf.reason) - 1] = '\0';
	if ((s = session_byid(sf.session_id)) == NULL)
		return;
	log_warnx("session %.8s of user %s: %s", s->id, s->username,
	    sf.reason);
	if ((c = s->init) != NULL) {
		/* The initialize POST learns why, with the right status. */
		s->init = NULL;
		wait_detach(s, c);
		if (sf.status == 401)
			mcp_unauthorized(c, s->legacy ? "/sse" : "/mcp");
		else
			rpc_error(c, sf.status, NULL, MCP_ERR_INTERNAL,
			    sf.reason, sf.status == 503 ? MCP_RETRY_AFTER :
			    NULL);
	}
	session_end(s, sf.reason);
}

void
mcp_session_exit(struct imsg *imsg)
{
	struct session_exit	 se;
	struct session		*s;
	char			 why[PROTO_DESC_MAX + 64];

	if (imsg_get_data(imsg, &se, sizeof(se)) == -1)
		fatalx("%s: bad IMSG_SESSION_EXIT", __func__);
	se.session_id[sizeof(se.session_id) - 1] = '\0';
	se.last_stderr[sizeof(se.last_stderr) - 1] = '\0';
	if ((s = session_byid(se.session_id)) == NULL ||
	    s->state == SESSION_DEAD)
		return;
	if (WIFSIGNALED(se.status))
		(void)snprintf(why, sizeof(why), "the MCP server was killed "
		    "by signal %d", WTERMSIG(se.status));
	else
		(void)snprintf(why, sizeof(why), "the MCP server exited with "
		    "status %d", WEXITSTATUS(se.status));
	if (se.last_stderr[0] != '\0') {
		strlcat(why, ": ", sizeof(why));
		strlcat(why, se.last_stderr, sizeof(why));
	}
	log_info("session %.8s of user %s: %s", s->id, s->username, why);
	session_end(s, why);
}

/* A retired child went away: what it still owed fails. */
static void
pipe_lost(struct chpipe *cp)
{
	struct session	*s = cp->session;
	struct pending	*p, *next;
	json_t		*err;

	for (p = TAILQ_FIRST(&s->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->pipe != cp)
			continue;
		err = rpc_error_msg(p->client_id, MCP_ERR_INTERNAL,
		    "the MCP server exited");
		if (p->conn != NULL)
			wait_deliver(p->conn, err, 1);
		else if (!p->replay)
			session_to_stream(s, err);
		json_decref(err);
		pending_free(s, p);
	}
	pipe_free(cp);
}

/* Read from and write to a child. */
static void
pipe_io(int fd, short event, void *arg)
{
	struct chpipe	*cp = arg;
	struct session	*s = cp->session;
	const char	*data, *nl;
	size_t		 len;
	int		 n;

	if (event & EV_WRITE) {
		n = evbuffer_write(cp->out, fd);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			if (cp->retired) {
				pipe_lost(cp);
				return;
			}
			/*
			 * It has gone, or is going: spawnd's report says how,
			 * with its last words, and ends the session.
			 */
			pipe_close(cp);
			return;
		}
	}
	if (event & EV_READ) {
		n = evbuffer_read(cp->in, fd, 65536);
		if (n == 0 || (n == -1 && errno != EAGAIN &&
		    errno != EINTR)) {
			if (cp->retired) {
				pipe_lost(cp);
				return;
			}
			/* spawnd reports how it ended; stop talking to it. */
			event_del(&cp->ev);
			cp->ev_set = 0;
			close(cp->fd);
			cp->fd = -1;
			return;
		}
		for (;;) {
			data = (const char *)EVBUFFER_DATA(cp->in);
			len = EVBUFFER_LENGTH(cp->in);
			if (len == 0 || (nl = memchr(data, '\n', len)) == NULL)
				break;
			session_line(s, cp, data, (size_t)(nl - data));
			if (s->state == SESSION_DEAD)
				return;
			evbuffer_drain(cp->in, (size_t)(nl - data) + 1);
		}
		/* That may have been a retired child's last answer. */
		if (cp->retired && pipe_retire_done(cp))
			return;
		if (EVBUFFER_LENGTH(cp->in) > http_env.cfg.max_message) {
			log_warnx("session %.8s of user %s: the MCP server "
			    "wrote more than %u bytes without a newline",
			    s->id, s->username, http_env.cfg.max_message);
			session_end(s, "the MCP server sent an oversize "
			    "message");
			return;
		}
	}
	pipe_update(cp);
}

static struct pending *
pending_byid(struct session *s, json_t *id)
{
	struct pending	*p;

	if (!json_is_integer(id))
		return NULL;
	TAILQ_FOREACH(p, &s->pending, entry)
		if (p->id == json_integer_value(id))
			return p;
	return NULL;
}

/* The request a notification belongs to, by its progress token. */
static struct pending *
pending_related(struct session *s, json_t *m)
{
	struct pending	*p, *first = NULL;
	json_t		*token;
	int		 n = 0;

	token = json_object_get(json_object_get(m, "params"),
	    "progressToken");
	TAILQ_FOREACH(p, &s->pending, entry) {
		if (p->conn == NULL)
			continue;
		if (token != NULL && p->progress != NULL &&
		    json_equal(token, p->progress))
			return p;
		if (first == NULL)
			first = p;
		n++;
	}
	/*
	 * Without a GET stream, what the child says goes to a request in
	 * flight, the oldest: the client may never open a stream, and a
	 * server request held back would wait for ever.
	 */
	if (s->stream == NULL && n > 0)
		return first;
	return NULL;
}

/* One line from a child: a response, a request or a notification. */
static void
session_line(struct session *s, struct chpipe *cp, const char *line,
    size_t len)
{
	struct pending	*p;
	json_error_t	 err;
	json_t		*m;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	if (len > http_env.cfg.max_message) {
		session_end(s, "the MCP server sent an oversize message");
		return;
	}
	if ((m = json_loadb(line, len, 0, &err)) == NULL ||
	    !is_valid_message(m)) {
		json_decref(m);
		log_warnx("session %.8s of user %s: the MCP server wrote "
		    "something that is not JSON-RPC", s->id, s->username);
		session_end(s, "the MCP server sent invalid JSON");
		return;
	}
	if (!json_is_string(json_object_get(m, "method"))) {
		/* A response: to whoever asked. */
		if ((p = pending_byid(s, json_object_get(m, "id"))) == NULL ||
		    p->pipe != cp)
			log_debug("session %.8s: answer to no request",
			    s->id);
		else
			pending_answer(s, p, m);
		json_decref(m);
		return;
	}
	if (s->legacy) {
		session_to_stream(s, m);
		json_decref(m);
		return;
	}
	if ((p = pending_related(s, m)) != NULL)
		wait_deliver(p->conn, m, 0);
	else
		session_to_stream(s, m);
	json_decref(m);
}

static void
session_to_stream(struct session *s, json_t *m)
{
	if (s->stream != NULL) {
		sse_event(s->stream, m);
		return;
	}
	if (s->queue == NULL && (s->queue = json_array()) == NULL)
		fatal("%s", __func__);
	if (json_array_size(s->queue) >= MCP_QUEUE_MAX) {
		log_info("session %.8s: no stream open, message dropped",
		    s->id);
		return;
	}
	json_array_append(s->queue, m);
}

/* A response of the child, with the client's id put back. */
static void
pending_answer(struct session *s, struct pending *p, json_t *m)
{
	const char	*v;
	json_t		*out;

	if (p->replay) {
		/* The new child answered our replay of initialize. */
		pending_free(s, p);
		return;
	}
	if ((out = json_deep_copy(m)) == NULL)
		fatal("%s", __func__);
	json_object_set(out, "id", p->client_id);
	if (s->init != NULL && p->conn == s->init) {
		/* The initialize answer fixes the session's version. */
		v = json_string_value(json_object_get(json_object_get(m,
		    "result"), "protocolVersion"));
		if (v != NULL)
			strlcpy(s->version, v, sizeof(s->version));
		s->init = NULL;
	}
	if (p->conn == NULL)
		session_to_stream(s, out);
	else
		wait_deliver(p->conn, out, 1);
	json_decref(out);
	pending_free(s, p);
}

static void
pending_free(struct session *s, struct pending *p)
{
	TAILQ_REMOVE(&s->pending, p, entry);
	json_decref(p->client_id);
	json_decref(p->progress);
	free(p);
}

static void
sse_event(struct conn *c, json_t *m)
{
	char	*s;

	if ((s = json_dumps(m, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	conn_stream_write(c, "event: message\ndata: ", 21);
	conn_stream_write(c, s, strlen(s));
	conn_stream_write(c, "\n\n", 2);
	free(s);
}

static char *
session_headers(struct session *s, int with_id)
{
	static char	 buf[512];

	(void)snprintf(buf, sizeof(buf), "%s%s%s%s",
	    oauth_cors_headers(), with_id ? "Mcp-Session-Id: " : "",
	    with_id ? s->id : "", with_id ? "\r\n" : "");
	return buf;
}

/*
 * Deliver a message to a waiting POST.  A response completes it (the
 * last one, for a batch); anything before the response turns the
 * answer into an event stream.
 */
static void
wait_deliver(struct conn *c, json_t *m, int is_response)
{
	struct mcp_wait	*w = c->mcp;
	struct session	*s = w->session;
	char		*out;

	if (!is_response || w->streaming) {
		if (!w->streaming) {
			w->streaming = 1;
			conn_stream_begin(c, 200, session_headers(s,
			    s->state != SESSION_DEAD));
		}
		sse_event(c, m);
		if (is_response && --w->npending == 0)
			conn_stream_end(c);
		return;
	}
	if (w->batch) {
		json_array_append(w->answers, m);
		if (--w->npending > 0)
			return;
		m = w->answers;
	} else
		w->npending--;
	if ((out = json_dumps(m, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	conn_respond(c, 200, "application/json", out, strlen(out),
	    session_headers(s, s->state != SESSION_DEAD));
	free(out);
}

/*
 * End a session: its child loses stdin (and is stopped by spawnd if it
 * lingers), every request still waiting gets a JSON-RPC error, its
 * stream closes, and its id answers 404 from now on.
 */
static void
session_end(struct session *s, const char *why)
{
	session_stop(s, why, 0);
}

/*
 * now: the grant is gone, so the children are stopped at once rather
 * than given time to finish.
 */
static void
session_stop(struct session *s, const char *why, int now)
{
	struct session_gone	 sg;
	struct session_ref	 sr;
	struct pending		*p;
	struct chpipe		*cp;
	struct conn		*c;
	struct timeval		 tv = { 0, 0 };
	json_t			*err;

	if (s->state == SESSION_DEAD)
		return;
	s->state = SESSION_DEAD;
	while ((p = TAILQ_FIRST(&s->pending)) != NULL) {
		err = rpc_error_msg(p->client_id, MCP_ERR_INTERNAL, why);
		if (p->conn != NULL)
			wait_deliver(p->conn, err, 1);
		else if (!p->replay && s->stream != NULL)
			sse_event(s->stream, err);
		json_decref(err);
		pending_free(s, p);
	}
	/* Closing their stdio is what stops the children. */
	pipe_close(s->cur);
	TAILQ_FOREACH(cp, &s->retired, entry)
		pipe_close(cp);
	nsessions--;

	memset(&sr, 0, sizeof(sr));
	strlcpy(sr.session_id, s->id, sizeof(sr.session_id));
	sr.now = now;
	if (imsg_compose_event(http_env.iev[PROC_SPAWND], IMSG_SESSION_CLOSE,
	    0, -1, &sr, sizeof(sr)) == -1)
		fatal("%s: imsg_compose", __func__);
	memset(&sg, 0, sizeof(sg));
	strlcpy(sg.session_id, s->id, sizeof(sg.session_id));
	strlcpy(sg.grant_id, s->grant_id, sizeof(sg.grant_id));
	if (imsg_compose_event(http_env.iev[PROC_TOKEND], IMSG_SESSION_GONE,
	    0, -1, &sg, sizeof(sg)) == -1)
		fatal("%s: imsg_compose", __func__);

	if ((c = s->stream) != NULL) {
		s->stream = NULL;
		((struct mcp_wait *)c->mcp)->session = NULL;
		conn_stream_end(c);
	}
	/*
	 * This may run deep inside the session's own I/O callback: the
	 * memory goes once the event loop is back at the top.
	 */
	evtimer_del(&s->ev_idle);
	evtimer_set(&s->ev_idle, session_reap, s);
	evtimer_add(&s->ev_idle, &tv);
}

static void
session_reap(int fd, short event, void *arg)
{
	struct session	*s = arg;
	struct chpipe	*cp;

	pipe_free(s->cur);
	s->cur = NULL;
	while ((cp = TAILQ_FIRST(&s->retired)) != NULL)
		pipe_free(cp);
	session_free(s);
}

static void
session_free(struct session *s)
{
	struct conn	*c;

	/* Connections that still point here forget the session. */
	TAILQ_FOREACH(c, &http_env.conns, entry)
		if (c->mcp != NULL &&
		    ((struct mcp_wait *)c->mcp)->session == s)
			((struct mcp_wait *)c->mcp)->session = NULL;
	evtimer_del(&s->ev_idle);
	evtimer_del(&s->ev_ping);
	json_decref(s->queue);
	json_decref(s->init_msg);
	TAILQ_REMOVE(&sessions, s, entry);
	free(s);
}

/* A connection closes: it waits for nothing any more. */
void
mcp_conn_cleanup(struct conn *c)
{
	struct mcp_wait	*w = c->mcp;
	struct session	*s;
	struct pending	*p;

	if (w == NULL)
		return;
	c->mcp = NULL;
	if ((s = w->session) != NULL) {
		TAILQ_FOREACH(p, &s->pending, entry)
			if (p->conn == c)
				p->conn = NULL;	/* the answer is dropped */
		if (s->init == c)
			s->init = NULL;
		if (s->stream == c) {
			s->stream = NULL;
			/* A 2024-11-05 session lives as long as its stream. */
			if (s->legacy)
				session_end(s, "stream closed");
		}
	}
	json_decref(w->answers);
	free(w);
}

static void
session_touch(struct session *s)
{
	struct timeval	 tv = { http_env.cfg.idle_timeout, 0 };

	s->last_used = time(NULL);
	evtimer_del(&s->ev_idle);
	evtimer_add(&s->ev_idle, &tv);
}

/* Idle: no request and no open stream for idle_timeout seconds. */
static void
session_idle(int fd, short event, void *arg)
{
	struct session	*s = arg;

	if (s->stream != NULL || !TAILQ_EMPTY(&s->pending)) {
		session_touch(s);
		return;
	}
	log_info("session %.8s of user %s: idle for %u seconds, ending it",
	    s->id, s->username, http_env.cfg.idle_timeout);
	session_end(s, "idle timeout");
}

/* Comments keep proxies from closing a quiet stream. */
static void
session_ping(int fd, short event, void *arg)
{
	struct session	*s = arg;
	struct timeval	 tv = { MCP_SSE_KEEPALIVE, 0 };

	if (s->stream == NULL)
		return;
	if (fd != -1)
		conn_stream_write(s->stream, ": ping\n\n", 8);
	evtimer_add(&s->ev_ping, &tv);
}
