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
	IMSG_CFG_DONE,		/* configuration complete */
	IMSG_CTL_READY,		/* process -> parent: sandboxed, serving */

	/* http -> tokend, http -> spawnd, and the answers */
	IMSG_HEALTH_REQ,
	IMSG_HEALTH_OK,		/* struct health_ok */
	IMSG_HEALTH_FAIL,

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
};

struct cfg_spawnd {
	char		forgejo_url[PROTO_URL_MAX];
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

#endif /* PROTO_H */
