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


#ifndef BROKERD_H
#define BROKERD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>

#include <event.h>
#include <netdb.h>

#include "http.h"
#include "proto.h"

#define BROKERD_CONF		"/etc/brokerd.conf"
#define BROKERD_USER		"_brokerd"
#define BROKERD_CHROOT		"/var/empty"
#define BROKERD_DATABASE	"/var/db/brokerd/brokerd.db"

#define MCP_ARGS_MAX		PROTO_MCP_ARGS

/* Defaults of the statements a configuration may leave out. */
#define DEFAULT_PORT			443
#define DEFAULT_MAX_SESSIONS		256
#define DEFAULT_MAX_SESSIONS_PER_USER	8
#define DEFAULT_IDLE_TIMEOUT		900	/* seconds */
#define DEFAULT_ACCESS_LIFETIME		3600	/* seconds */
#define DEFAULT_REFRESH_LIFETIME	(30 * 24 * 3600)
#define DEFAULT_REFRESH_GRACE		30	/* seconds */
#define DEFAULT_REFRESH_MARGIN		300	/* seconds */
#define DEFAULT_CLIENT_PRUNE		(90 * 24 * 3600)
#define DEFAULT_REGISTER_RATE		20	/* per hour and address */
#define CONF_GRACE_MAX			3600
#define CONF_MARGIN_MAX			86400
#define DEFAULT_LIMIT_DATA		2048	/* MiB */
#define DEFAULT_LIMIT_FILES		256
#define DEFAULT_LIMIT_PROCS		256
#define DEFAULT_LIMIT_CPU		86400	/* seconds */
#define DEFAULT_MAX_MESSAGE		(4 * 1024 * 1024)
#define MCP_PATHS_MAX			16
#define MCP_ORIGINS_MAX			16

/* Upper bounds of the numeric statements; the lower bound is 1. */
#define CONF_SESSIONS_MAX		100000
#define CONF_SECONDS_MAX		(10 * 365 * 24 * 3600)	/* 10 years */

struct listen_addr {
	TAILQ_ENTRY(listen_addr)	 entry;
	char				 name[PROTO_NAME_MAX];
	uint16_t			 port;
	int				 tls;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	int				 fd;
};
TAILQ_HEAD(listen_addrs, listen_addr);

struct brokerd_conf {
	struct listen_addrs	 listen;
	char			 tls_cert[PROTO_PATH_MAX];
	char			 tls_key[PROTO_PATH_MAX];
	char			 public_url[PROTO_URL_MAX];
	char			 database[PROTO_PATH_MAX];
	char			 user[PROTO_NAME_MAX];
	char			 chroot[PROTO_PATH_MAX];
	char			 forgejo_url[PROTO_URL_MAX];
	char			 forgejo_client_id[PROTO_NAME_MAX];
	char			 forgejo_client_secret[PROTO_SECRET_MAX];
	char			 forgejo_client_secret_file[PROTO_PATH_MAX];
	char			 forgejo_scope[PROTO_SCOPE_MAX];
	uint32_t		 forgejo_refresh_margin;
	char			*mcp_argv[MCP_ARGS_MAX + 1];
	int			 mcp_argc;
	uint32_t		 mcp_max_sessions;
	uint32_t		 mcp_max_sessions_per_user;
	uint32_t		 mcp_idle_timeout;
	uint32_t		 token_access_lifetime;
	uint32_t		 token_refresh_lifetime;
	uint32_t		 token_refresh_grace;
	char			*mcp_paths[MCP_PATHS_MAX];
	int			 mcp_npaths;
	char			*mcp_origins[MCP_ORIGINS_MAX];
	int			 mcp_norigins;
	char			 mcp_home[PROTO_PATH_MAX];
	uint32_t		 mcp_limit_data;
	uint32_t		 mcp_limit_files;
	uint32_t		 mcp_limit_procs;
	uint32_t		 mcp_limit_cpu;
	uint32_t		 mcp_max_message;
	uint32_t		 client_prune_after;
	uint32_t		 register_rate_limit;
};

struct imsg;
struct imsgev;
struct privdrop;

/* How long /healthz waits for tokend and spawnd to answer. */
#define HEALTH_TIMEOUT		2	/* seconds */

enum conn_state {
	CONN_READING,		/* reading a request */
	CONN_WAITING,		/* routed, waiting for tokend or spawnd */
	CONN_STREAMING,		/* an event stream is open */
	CONN_WRITING		/* response queued */
};

struct health {
	int			 pending;	/* bit per proc_id */
	int			 failed;
	int64_t			 value[PROC_MAX];
	struct event		 ev_timer;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	uint32_t		 id;		/* imsg peerid of its queries */
	int			 fd;
	struct tls		*tls;
	char			 peer[NI_MAXHOST];
	struct event		 ev;
	struct event		 ev_timer;
	struct evbuffer		*in;
	struct evbuffer		*out;
	enum conn_state		 state;
	int			 want_read;	/* tls wants POLLIN */
	int			 want_write;	/* tls wants POLLOUT */
	int			 in_body;
	int			 keepalive;
	struct http_request	 req;
	char			*body;
	size_t			 bodylen;
	struct health		*health;
	void			*oauth;		/* oauth.c's state */
	void			*mcp;		/* mcp.c's state */
};
TAILQ_HEAD(conns, conn);

#define HTTP_ORIGINS_MAX	16

struct http_env {
	struct cfg_http		 cfg;
	char			*origins[HTTP_ORIGINS_MAX];
	int			 norigins;
	struct imsgev		*iev[PROC_MAX];
	struct conns		 conns;
	int			 nconns;
	int			 configured;
};

/* config.c */
int	 parent_open_listeners(struct brokerd_conf *);
int	 parent_load_tls(struct brokerd_conf *);
void	 config_send_http(struct brokerd_conf *, struct imsgev *,
	    const struct privdrop *);
void	 config_send_tokend(struct brokerd_conf *, struct imsgev *,
	    const struct privdrop *);
void	 config_send_spawnd(struct brokerd_conf *, struct imsgev *,
	    const struct privdrop *);
void	 config_clear_secrets(struct brokerd_conf *);

/* server.c */
extern struct http_env	 http_env;
__attribute__((__noreturn__)) void http_main(int, int);
void	 http_dispatch_peer(int, short, void *);
struct conn *conn_byid(uint32_t);
void	 conn_close(struct conn *);
void	 conn_respond(struct conn *, int, const char *, const char *, size_t,
	    const char *);
void	 conn_error(struct conn *, int, const char *);
void	 conn_stream_begin(struct conn *, int, const char *);
void	 conn_stream_write(struct conn *, const char *, size_t);
void	 conn_stream_end(struct conn *);

/*
 * oauth.c: the authorization server's front and the bearer check.
 * oauth_route() returns 1 if it took the request; oauth_answer()
 * returns 1 if it took the answer.  http_conn_cleanup() calls
 * oauth_conn_cleanup() for whatever oauth.c hangs on a connection.
 */
void	 oauth_init(void);
int	 oauth_route(struct conn *);
int	 oauth_answer(enum proc_id, struct conn *, struct imsg *);
void	 oauth_conn_cleanup(struct conn *);

/*
 * The bearer check of the MCP endpoints: resource_path is "/mcp" or
 * "/sse", the endpoint whose protected-resource metadata a challenge
 * names.  ok() runs once tokend has vouched for the token; every
 * failure is answered here.  oauth_cors_headers() are the header
 * lines every answer of a CORS endpoint carries.
 */
void	 oauth_require_bearer(struct conn *, const char *,
	    void (*)(struct conn *, const struct auth_bearer *));
const char *oauth_cors_headers(void);

/*
 * What oauth.c keeps on a connection (c->oauth) while tokend works on
 * its request.  consent.c shares it for /authorize and /callback.
 */
enum oauth_op {
	OAUTH_OP_REGISTER,
	OAUTH_OP_AUTHZ,		/* /authorize: fetching the client */
	OAUTH_OP_CONSENT,	/* approved: asking for Forgejo's URL */
	OAUTH_OP_CALLBACK,
	OAUTH_OP_TOKEN,
	OAUTH_OP_REVOKE,
	OAUTH_OP_BEARER
};

/* The parameters of an authorization request, validated. */
struct oauth_authz {
	char		 client_id[PROTO_CLIENT_ID_MAX];
	char		 redirect_uri[PROTO_REDIRECT_MAX];
	char		 state[PROTO_STATE_MAX];
	int		 has_state;
	char		 code_challenge[PROTO_CHALLENGE_MAX];
	char		 scope[PROTO_SCOPE_MAX];
	char		 resource[PROTO_URL_MAX];	/* canonical or "" */
};

struct oauth_pending {
	enum oauth_op	 op;
	uint32_t	 expect;	/* the *_OK answer awaited */
	int		 basic;		/* the client used HTTP Basic */
	int		 post;		/* POST /authorize */
	int		 approve;	/* POST /authorize: consent=approve */
	int		 has_redirect;	/* /authorize: redirect_uri sent */
	const char	*bad_error;	/* /authorize: first problem, for */
	const char	*bad_desc;	/* the client once it is known */
	char		*doc;		/* /register: the metadata to echo */
	const char	*resource_path;	/* bearer: "/mcp" or "/sse" */
	void		(*bearer_ok)(struct conn *,
			    const struct auth_bearer *);
	struct oauth_authz authz;
};

/* oauth.c, for consent.c */
struct oauth_pending *oauth_pending_new(struct conn *, enum oauth_op,
	    uint32_t);
void	 oauth_pending_free(struct conn *);
void	 oauth_send(struct conn *, uint32_t, const void *, size_t);
void	 oauth_imsg_data(struct imsg *, void *, size_t);
void	 oauth_error_get(struct imsg *, struct oauth_error *);
int	 oauth_ctype_is(struct conn *, const char *);
int	 oauth_resource_canon(const char *, char *, size_t);
const char *oauth_public_origin(void);

/* consent.c: /authorize, the consent page and /callback */
void	 consent_init(void);
void	 consent_authorize(struct conn *);
void	 consent_callback(struct conn *);
void	 consent_answer(struct conn *, struct oauth_pending *,
	    struct imsg *);

/*
 * oauth_util.c: the pure helpers of oauth.c and consent.c; no I/O, no
 * globals, tested alone by regress/unit/oauth_front_test.c.
 */
#define OAUTH_REDIRECT_URI_MAX	1000	/* bytes of a registered URI */
#define OAUTH_CSRF_LIFETIME	600	/* seconds a consent form lives */
#define OAUTH_CSRF_MAX		128	/* a CSRF token with its NUL */
#define OAUTH_NONCE_BYTES	16	/* random bytes of a consent nonce */
#define OAUTH_NONCE_MAX		32	/* a consent nonce with its NUL */
#define OAUTH_NONCE_SLOTS	1024	/* consumed consent nonces remembered */
#define OAUTH_COOKIE_MAX	160	/* a Set-Cookie value with its NUL */
#define OAUTH_CONSENT_COOKIE_HTTPS "__Host-brokerd_consent"
#define OAUTH_CONSENT_COOKIE_HTTP "brokerd_consent"	/* loopback http */
#define OAUTH_RATE_WINDOW	3600	/* seconds of a registration window */
#define OAUTH_RATE_SLOTS	256	/* addresses remembered */
#define OAUTH_RATE_KEY_MAX	64

/* oauth_bearer_parse() results */
#define OAUTH_BEARER_OK		0
#define OAUTH_BEARER_OTHER	(-1)	/* another scheme: no credentials */
#define OAUTH_BEARER_BAD	(-2)	/* Bearer, but no token of ours */

struct oauth_rate_slot {
	char		 key[OAUTH_RATE_KEY_MAX];
	int64_t		 start;		/* of the window */
	uint32_t	 count;		/* 0: free */
};

struct oauth_ratelimit {
	struct oauth_rate_slot	 slot[OAUTH_RATE_SLOTS];
};

/* oauth_nonce_use() results */
#define OAUTH_NONCE_FRESH	0	/* not seen before; now consumed */
#define OAUTH_NONCE_USED	(-1)	/* consumed already */
#define OAUTH_NONCE_FULL	(-2)	/* every slot holds a live nonce */

struct oauth_nonce_slot {
	char		 nonce[OAUTH_NONCE_MAX];
	int64_t		 expires;	/* forgotten after; 0: free */
};

struct oauth_nonces {
	struct oauth_nonce_slot	 slot[OAUTH_NONCE_SLOTS];
};

int	 oauth_redirect_uri_check(const char *, const char **);
int	 oauth_web_uri_check(const char *);
int	 oauth_redirect_match(const char *, const char *);
int	 oauth_is_loopback_uri(const char *);
int	 oauth_is_web_uri(const char *);
int	 oauth_uri_host(const char *, char *, size_t);
int	 oauth_csp_source(const char *, char *, size_t);
int	 oauth_resource_normalize(const char *, char *, size_t);
int	 oauth_scope_normalize(const char *, char *, size_t);
int	 oauth_challenge_valid(const char *);
int	 oauth_printable(const char *);
int	 oauth_display_ok(const char *);
int	 oauth_error_code_ok(const char *);
int	 oauth_csrf_make(const uint8_t *, size_t, int64_t,
	    const struct oauth_authz *, const char *, char *, size_t);
int	 oauth_csrf_check(const uint8_t *, size_t, int64_t,
	    const struct oauth_authz *, const char *, const char *,
	    int64_t *);
const char *oauth_consent_cookie_name(const char *);
int	 oauth_consent_cookie(const char *, const char *, char *, size_t);
int	 oauth_cookie_get(const char *, const char *, char *, size_t);
int	 oauth_nonce_use(struct oauth_nonces *, const char *, int64_t,
	    int64_t);
int	 oauth_basic_decode(const char *, char *, size_t, char *, size_t);
int	 oauth_bearer_parse(const char *, char *, size_t);
size_t	 html_escape(const char *, char *, size_t);
size_t	 oauth_pct_encode(const char *, char *, size_t);
int	 oauth_url_add_param(char *, size_t, const char *, const char *);
void	 oauth_rate_key(const char *, char *, size_t);
int	 oauth_rate_take(struct oauth_ratelimit *, const char *, int64_t,
	    uint32_t, int64_t *);
struct auth_bearer;
void	 oauth_require_bearer(struct conn *, const char *,
	    void (*)(struct conn *, const struct auth_bearer *));
const char *oauth_cors_headers(void);

/* mcp.c */
int	 mcp_route(struct conn *);
void	 mcp_session_ready(struct imsg *);
void	 mcp_session_fail(struct imsg *);
void	 mcp_session_exit(struct imsg *);
void	 mcp_session_replace(struct imsg *);
void	 mcp_grant_revoked(struct imsg *);
void	 mcp_grant_stale(struct imsg *);
void	 mcp_conn_cleanup(struct conn *);

/* http.c */
void	 http_route(struct conn *);
void	 http_answer(enum proc_id, struct conn *, struct imsg *);
void	 http_conn_cleanup(struct conn *);

/* parse.y */
struct brokerd_conf	*parse_config(const char *);
void			 free_config(struct brokerd_conf *);
int			 cmdline_symset(char *);
void			 print_config(struct brokerd_conf *);

#endif /* BROKERD_H */
