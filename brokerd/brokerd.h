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
#define DEFAULT_CLIENT_PRUNE		(90 * 24 * 3600)
#define DEFAULT_REGISTER_RATE		20	/* per hour and address */
#define CONF_GRACE_MAX			3600
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
struct auth_bearer;
void	 oauth_require_bearer(struct conn *, const char *,
	    void (*)(struct conn *, const struct auth_bearer *));
const char *oauth_cors_headers(void);

/* mcp.c */
int	 mcp_route(struct conn *);
void	 mcp_session_ready(struct imsg *);
void	 mcp_session_fail(struct imsg *);
void	 mcp_session_exit(struct imsg *);
void	 mcp_conn_cleanup(struct conn *);
void	 mcp_shutdown(void);

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
