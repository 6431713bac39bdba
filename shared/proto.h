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
 * The messages brokerd's processes exchange over imsg, and their
 * payloads.  Every payload is a fixed-size struct with bounded strings,
 * so that a receiver checks one length and nothing else.  The request
 * id of a query travels in the imsg peerid.
 */

#ifndef PROTO_H
#define PROTO_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>

/* File descriptor of a child's channel to the parent after exec. */
#define PROC_PARENT_FD		3

/* Largest imsg payload on any channel; see imsgbuf_set_maxsize(). */
#define PROTO_MAX_PAYLOAD	(64 * 1024)

#define PROTO_URL_MAX		512
#define PROTO_NAME_MAX		256
#define PROTO_SECRET_MAX	512
#define PROTO_SCOPE_MAX		512
#define PROTO_PATH_MAX		1024
#define PROTO_ARG_MAX		1024
#define PROTO_MCP_ARGS		32	/* argv elements of the mcp command */

enum proc_id {
	PROC_PARENT,
	PROC_HTTP,
	PROC_TOKEND,
	PROC_SPAWND,
	PROC_MAX
};

enum imsg_type {
	IMSG_NONE,

	/* parent -> every process: wiring and configuration */
	IMSG_CTL_PROCFD,	/* fd: channel to a peer, data: proc id */
	IMSG_CFG_HTTP,		/* struct cfg_http */
	IMSG_CFG_LISTEN,	/* fd: listening socket, struct cfg_listen */
	IMSG_CFG_TLS_CERT,	/* chunk of the certificate chain (PEM) */
	IMSG_CFG_TLS_KEY,	/* chunk of the private key (PEM) */
	IMSG_CFG_TOKEND,	/* struct cfg_tokend */
	IMSG_CFG_SPAWND,	/* struct cfg_spawnd */
	IMSG_CFG_MCP_ARG,	/* one argv element of the mcp command */
	IMSG_CFG_MCP_PATH,	/* a path the mcp command may read */
	IMSG_CFG_ORIGIN,	/* an allowed Origin of browser clients */
	IMSG_CFG_DONE,		/* configuration complete */
	IMSG_CTL_READY,		/* process -> parent: sandboxed, serving */

	/* http -> tokend, http -> spawnd, and the answers */
	IMSG_HEALTH_REQ,
	IMSG_HEALTH_OK,		/* struct health_ok */
	IMSG_HEALTH_FAIL,

	/*
	 * http -> tokend: OAuth.  http parses and validates the request and
	 * renders the answer; tokend keeps the state and the secrets.  Each
	 * request is answered by exactly one of its *_OK messages or by
	 * IMSG_OAUTH_ERROR (struct oauth_error).
	 */
	IMSG_OAUTH_REGISTER,	/* struct oauth_register */
	IMSG_OAUTH_REGISTER_OK,	/* struct oauth_registered */
	IMSG_OAUTH_CLIENT,	/* struct oauth_client_req */
	IMSG_OAUTH_CLIENT_OK,	/* struct oauth_client */
	IMSG_OAUTH_AUTHORIZE,	/* struct oauth_authorize: consent given */
	IMSG_OAUTH_AUTHORIZE_OK, /* struct oauth_redirect: to Forgejo */
	IMSG_OAUTH_CALLBACK,	/* struct oauth_callback */
	IMSG_OAUTH_CALLBACK_OK,	/* struct oauth_code: back to the client */
	IMSG_OAUTH_TOKEN,	/* struct oauth_token_req */
	IMSG_OAUTH_TOKEN_OK,	/* struct oauth_token */
	IMSG_OAUTH_REVOKE,	/* struct oauth_revoke_req */
	IMSG_OAUTH_REVOKE_OK,
	IMSG_OAUTH_ERROR,	/* struct oauth_error */
	IMSG_AUTH_BEARER,	/* struct auth_bearer_req */
	IMSG_AUTH_BEARER_OK,	/* struct auth_bearer */

	/*
	 * MCP sessions.  http asks tokend to open one; tokend hands the
	 * user's Forgejo token to spawnd (the only channel a Forgejo token
	 * ever crosses); spawnd starts the child and passes one end of its
	 * stdio socket to http, or says why not.
	 */
	IMSG_SESSION_OPEN,	/* http -> tokend: struct session_open */
	IMSG_SPAWN,		/* tokend -> spawnd: struct spawn_req */
	IMSG_SESSION_READY,	/* spawnd -> http: fd, struct session_ready */
	IMSG_SESSION_FAIL,	/* tokend|spawnd -> http: struct session_fail */
	IMSG_SESSION_CLOSE,	/* http -> spawnd: struct session_ref */
	IMSG_SESSION_EXIT,	/* spawnd -> http: struct session_exit */
	IMSG_CHILD_STARTED,	/* spawnd -> parent: struct child_pg */
	IMSG_CHILD_GONE,	/* spawnd -> parent: struct child_pg */

	/*
	 * Upstream token lifecycle.  http tells tokend when a session
	 * ends, so that tokend refreshes only grants in use; tokend hands a
	 * refreshed Forgejo token to spawnd, which starts a replacement
	 * child for every session of the grant and passes its stdio to
	 * http; tokend tells http when a grant is gone (its sessions end
	 * now) or stale (token expired, Forgejo unreachable: 503).
	 */
	IMSG_SESSION_GONE,	/* http -> tokend: struct session_gone */
	IMSG_TOKEN_UPDATE,	/* tokend -> spawnd: struct token_update */
	IMSG_SESSION_REPLACE,	/* spawnd -> http: fd, struct session_ready */
	IMSG_GRANT_REVOKED,	/* tokend -> http, spawnd: struct grant_ref */
	IMSG_GRANT_STALE,	/* tokend -> http: struct grant_ref */

	IMSG_MAX
};

/* Payload of IMSG_CTL_PROCFD. */
struct ctl_procfd {
	int32_t		peer;		/* enum proc_id */
};

struct cfg_listen {
	char		addr[PROTO_NAME_MAX];	/* as configured, for logs */
	uint16_t	port;
	uint8_t		tls;
};

struct cfg_http {
	char		public_url[PROTO_URL_MAX];
	char		forgejo_url[PROTO_URL_MAX];
	char		user[PROTO_NAME_MAX];
	uint32_t	uid;		/* resolved by the parent */
	uint32_t	gid;
	char		chroot[PROTO_PATH_MAX];
	uint32_t	max_sessions;
	uint32_t	max_sessions_per_user;
	uint32_t	idle_timeout;
	uint32_t	register_rate_limit;
	uint32_t	max_message;
};

struct cfg_tokend {
	char		database[PROTO_PATH_MAX];
	char		public_url[PROTO_URL_MAX];
	char		forgejo_url[PROTO_URL_MAX];
	char		forgejo_client_id[PROTO_NAME_MAX];
	char		forgejo_client_secret[PROTO_SECRET_MAX];
	char		forgejo_scope[PROTO_SCOPE_MAX];
	char		user[PROTO_NAME_MAX];
	uint32_t	uid;		/* resolved by the parent */
	uint32_t	gid;
	uint32_t	access_lifetime;
	uint32_t	refresh_lifetime;
	uint32_t	refresh_grace;
	uint32_t	client_prune_after;
	uint32_t	refresh_margin;	/* forgejo token, seconds */
};

struct cfg_spawnd {
	char		forgejo_url[PROTO_URL_MAX];
	char		home[PROTO_PATH_MAX];
	uint32_t	limit_data;	/* MiB */
	uint32_t	limit_files;
	uint32_t	limit_procs;
	uint32_t	limit_cpu;	/* seconds */
	char		user[PROTO_NAME_MAX];
	uint32_t	uid;		/* resolved by the parent */
	uint32_t	gid;
	uint32_t	max_sessions;
	uint32_t	max_sessions_per_user;
	uint32_t	idle_timeout;
};

struct health_ok {
	int64_t		value;		/* tokend: migrations; spawnd: children */
};

/*
 * OAuth.  Strings are NUL-terminated within their arrays; a receiver
 * terminates the last byte of every array before use.  Broker tokens,
 * codes and client secrets are random base64url strings.
 */
#define PROTO_CLIENT_ID_MAX	128
#define PROTO_TOKEN_MAX		128	/* a broker token, code or secret */
#define PROTO_REDIRECT_MAX	1024	/* one redirect URI */
#define PROTO_STATE_MAX		1024	/* the client's state, echoed */
#define PROTO_CHALLENGE_MAX	128	/* PKCE challenge or verifier */
#define PROTO_REDIRECTS_MAX	4096	/* JSON array of redirect URIs */
#define PROTO_METADATA_MAX	8192	/* JSON of registered metadata */
#define PROTO_ERROR_MAX		64
#define PROTO_DESC_MAX		256
#define PROTO_UPSTREAM_URL_MAX	2048

/* Token endpoint authentication methods of RFC 7591. */
#define AUTH_METHOD_NONE	"none"
#define AUTH_METHOD_POST	"client_secret_post"
#define AUTH_METHOD_BASIC	"client_secret_basic"

/*
 * Registration: http has validated the metadata and hands over what is
 * to be stored; tokend makes the client id and, for the secret methods,
 * the secret, which it stores only hashed.
 */
struct oauth_register {
	char		auth_method[32];
	char		redirect_uris[PROTO_REDIRECTS_MAX];	/* JSON array */
	char		metadata[PROTO_METADATA_MAX];	/* JSON object */
};

struct oauth_registered {
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		client_secret[PROTO_TOKEN_MAX];	/* "" for none */
	int64_t		issued_at;
};

struct oauth_client_req {
	char		client_id[PROTO_CLIENT_ID_MAX];
};

/* What the consent page and the redirect checks need; no secret. */
struct oauth_client {
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		auth_method[32];
	char		redirect_uris[PROTO_REDIRECTS_MAX];	/* JSON array */
	char		metadata[PROTO_METADATA_MAX];	/* JSON object */
};

/*
 * The user approved the client: tokend remembers the request for ten
 * minutes under a fresh upstream state and answers with the URL of
 * Forgejo's authorization endpoint, carrying brokerd's own PKCE
 * challenge.  redirect_uri is the one the client sent (a loopback one
 * may differ in port from the registered one).
 */
struct oauth_authorize {
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		redirect_uri[PROTO_REDIRECT_MAX];
	char		code_challenge[PROTO_CHALLENGE_MAX];
	char		scope[PROTO_SCOPE_MAX];
	char		resource[PROTO_URL_MAX];	/* "" if none given */
	char		state[PROTO_STATE_MAX];		/* the client's */
	uint8_t		has_state;
};

struct oauth_redirect {
	char		url[PROTO_UPSTREAM_URL_MAX];
};

/* Forgejo's redirect to /callback: code and state, or an error. */
struct oauth_callback {
	char		state[PROTO_STATE_MAX];
	char		code[PROTO_STATE_MAX];
	char		error[PROTO_ERROR_MAX];
};

/* A broker authorization code, to be sent to the client. */
struct oauth_code {
	char		redirect_uri[PROTO_REDIRECT_MAX];
	char		code[PROTO_TOKEN_MAX];
	char		state[PROTO_STATE_MAX];
	uint8_t		has_state;
};

/*
 * The token endpoint's parameters, already checked for form syntax and
 * repetition by http.  client_secret comes from the body or from HTTP
 * Basic (auth_basic says which); tokend checks it against the
 * registered method.
 */
struct oauth_token_req {
	char		grant_type[32];
	char		code[PROTO_TOKEN_MAX];
	char		code_verifier[PROTO_CHALLENGE_MAX];
	char		redirect_uri[PROTO_REDIRECT_MAX];
	char		refresh_token[PROTO_TOKEN_MAX];
	char		resource[PROTO_URL_MAX];
	char		scope[PROTO_SCOPE_MAX];
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		client_secret[PROTO_TOKEN_MAX];
	uint8_t		auth_basic;
	uint8_t		has_redirect_uri;
};

struct oauth_token {
	char		access_token[PROTO_TOKEN_MAX];
	char		refresh_token[PROTO_TOKEN_MAX];
	char		scope[PROTO_SCOPE_MAX];
	int64_t		expires_in;
};

struct oauth_revoke_req {
	char		token[PROTO_TOKEN_MAX];
	char		token_type_hint[32];
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		client_secret[PROTO_TOKEN_MAX];
	uint8_t		auth_basic;
};

/*
 * An OAuth error for http to render: status is the HTTP status for the
 * JSON endpoints.  For /callback, redirect_uri (if set) is where the
 * client is to learn of it, with state.
 */
struct oauth_error {
	int32_t		status;
	char		error[PROTO_ERROR_MAX];
	char		description[PROTO_DESC_MAX];
	char		redirect_uri[PROTO_REDIRECT_MAX];
	char		state[PROTO_STATE_MAX];
	uint8_t		has_state;
};

/* Bearer validation: http sends only the SHA-256 of the token. */
struct auth_bearer_req {
	char		token_hash[65];
};

/* Who the token belongs to; never a Forgejo token. */
struct auth_bearer {
	int64_t		user_id;
	char		username[PROTO_NAME_MAX];
	char		client_id[PROTO_CLIENT_ID_MAX];
	char		grant_id[65];
	char		resource[PROTO_URL_MAX];	/* "" for any */
	char		scope[PROTO_SCOPE_MAX];
	int64_t		expires_at;
};

#define PROTO_SESSION_MAX	65	/* a session id with its NUL */
#define PROTO_FORGEJO_TOKEN_MAX	4096

struct session_ref {
	char		session_id[PROTO_SESSION_MAX];
	uint8_t		now;		/* SIGTERM at once, no grace */
};

struct session_open {
	char		session_id[PROTO_SESSION_MAX];
	char		grant_id[65];
	int64_t		user_id;
	char		username[PROTO_NAME_MAX];
};

/* One of the two messages that carry a Forgejo token; cleared once used. */
struct spawn_req {
	char		session_id[PROTO_SESSION_MAX];
	char		grant_id[65];
	int64_t		user_id;
	char		username[PROTO_NAME_MAX];
	char		forgejo_token[PROTO_FORGEJO_TOKEN_MAX];
	int64_t		token_expires_at;
};

struct session_ready {
	char		session_id[PROTO_SESSION_MAX];
	int32_t		pid;
};

struct session_gone {
	char		session_id[PROTO_SESSION_MAX];
	char		grant_id[65];
};

/* The other message that carries a Forgejo token. */
struct token_update {
	char		grant_id[65];
	char		forgejo_token[PROTO_FORGEJO_TOKEN_MAX];
	int64_t		token_expires_at;
};

struct grant_ref {
	char		grant_id[65];
	int32_t		retry_after;	/* seconds, for GRANT_STALE */
};

/* status: the HTTP status the client is to get (401, 429, 503, ...). */
struct session_fail {
	char		session_id[PROTO_SESSION_MAX];
	int32_t		status;
	char		reason[PROTO_DESC_MAX];
};

/* wait(2) status of the child, and its last line on stderr. */
struct session_exit {
	char		session_id[PROTO_SESSION_MAX];
	int32_t		pid;
	int32_t		status;
	char		last_stderr[PROTO_DESC_MAX];
};

/* A child's process group, for the parent to kill at shutdown. */
struct child_pg {
	int32_t		pgid;
};

#endif /* PROTO_H */
