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
 * The parent's side of the configuration: the sockets and files only
 * it can open, and the part of the configuration each process gets.
 * Nothing here runs after the children are configured.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define TLS_FILE_MAX	(1024 * 1024)

static struct {
	char	*cert;
	size_t	 certlen;
	char	*key;
	size_t	 keylen;
} tlsfiles;

static int	config_listen(struct listen_addr *);
static void	config_send_chunks(struct imsgev *, uint32_t, const char *,
		    size_t);
static void	config_send_strings(struct imsgev *, uint32_t, char **, int);

static int
config_listen(struct listen_addr *la)
{
	char	 host[NI_MAXHOST];
	int	 fd, on = 1;

	if (getnameinfo((struct sockaddr *)&la->ss, la->sslen, host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(host, la->name, sizeof(host));
	if ((fd = socket(la->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket for %s", host);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (la->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&la->ss, la->sslen) == -1)
		goto fail;
	if (listen(fd, 128) == -1)
		goto fail;
	la->fd = fd;
	log_debug("listening on %s port %u%s", host, la->port,
	    la->tls ? " tls" : "");
	return 0;
fail:
	log_warn("listen on %s port %u", host, la->port);
	close(fd);
	return -1;
}

int
parent_open_listeners(struct brokerd_conf *conf)
{
	struct listen_addr	*la;

	TAILQ_FOREACH(la, &conf->listen, entry)
		if (config_listen(la) == -1)
			return -1;
	return 0;
}

/* Certificate and key are read as root and travel to http in memory. */
int
parent_load_tls(struct brokerd_conf *conf)
{
	struct listen_addr	*la;
	int			 tls = 0;

	TAILQ_FOREACH(la, &conf->listen, entry)
		tls |= la->tls;
	if (!tls)
		return 0;
	if (read_file(conf->tls_cert, &tlsfiles.cert, &tlsfiles.certlen,
	    TLS_FILE_MAX) == -1) {
		log_warn("tls certificate %s", conf->tls_cert);
		return -1;
	}
	if (read_file(conf->tls_key, &tlsfiles.key, &tlsfiles.keylen,
	    TLS_FILE_MAX) == -1) {
		log_warn("tls key %s", conf->tls_key);
		return -1;
	}
	return 0;
}

static void
config_send_chunks(struct imsgev *iev, uint32_t type, const char *buf,
    size_t len)
{
	size_t	 off, n;

	for (off = 0; off < len; off += n) {
		n = len - off;
		if (n > PROTO_MAX_PAYLOAD)
			n = PROTO_MAX_PAYLOAD;
		if (imsg_compose_event(iev, type, 0, -1, buf + off, n) == -1)
			fatal("%s", __func__);
	}
}

/* Each string a message of its own, with its NUL. */
static void
config_send_strings(struct imsgev *iev, uint32_t type, char **list, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (imsg_compose_event(iev, type, 0, -1, list[i],
		    strlen(list[i]) + 1) == -1)
			fatal("%s", __func__);
}

void
config_send_http(struct brokerd_conf *conf, struct imsgev *iev,
    const struct privdrop *pd)
{
	struct cfg_http		 ch;
	struct cfg_listen	 cl;
	struct listen_addr	*la;

	memset(&ch, 0, sizeof(ch));
	strlcpy(ch.public_url, conf->public_url, sizeof(ch.public_url));
	strlcpy(ch.forgejo_url, conf->forgejo_url, sizeof(ch.forgejo_url));
	strlcpy(ch.user, conf->user, sizeof(ch.user));
	ch.uid = pd->uid;
	ch.gid = pd->gid;
	if (pd->chroot != NULL)
		strlcpy(ch.chroot, pd->chroot, sizeof(ch.chroot));
	ch.max_sessions = conf->mcp_max_sessions;
	ch.max_sessions_per_user = conf->mcp_max_sessions_per_user;
	ch.idle_timeout = conf->mcp_idle_timeout;
	ch.register_rate_limit = conf->register_rate_limit;
	ch.max_message = conf->mcp_max_message;
	if (imsg_compose_event(iev, IMSG_CFG_HTTP, 0, -1, &ch,
	    sizeof(ch)) == -1)
		fatal("%s", __func__);
	config_send_strings(iev, IMSG_CFG_ORIGIN, conf->mcp_origins,
	    conf->mcp_norigins);

	TAILQ_FOREACH(la, &conf->listen, entry) {
		memset(&cl, 0, sizeof(cl));
		strlcpy(cl.addr, la->name, sizeof(cl.addr));
		cl.port = la->port;
		cl.tls = la->tls;
		if (imsg_compose_event(iev, IMSG_CFG_LISTEN, 0, la->fd, &cl,
		    sizeof(cl)) == -1)
			fatal("%s", __func__);
		la->fd = -1;	/* imsg closes it once sent */
	}
	if (tlsfiles.cert != NULL) {
		config_send_chunks(iev, IMSG_CFG_TLS_CERT, tlsfiles.cert,
		    tlsfiles.certlen);
		config_send_chunks(iev, IMSG_CFG_TLS_KEY, tlsfiles.key,
		    tlsfiles.keylen);
	}
	if (imsg_compose_event(iev, IMSG_CFG_DONE, 0, -1, NULL, 0) == -1)
		fatal("%s", __func__);
}

void
config_send_tokend(struct brokerd_conf *conf, struct imsgev *iev,
    const struct privdrop *pd)
{
	struct cfg_tokend	 ct;

	memset(&ct, 0, sizeof(ct));
	strlcpy(ct.database, conf->database, sizeof(ct.database));
	strlcpy(ct.public_url, conf->public_url, sizeof(ct.public_url));
	strlcpy(ct.forgejo_url, conf->forgejo_url, sizeof(ct.forgejo_url));
	strlcpy(ct.forgejo_client_id, conf->forgejo_client_id,
	    sizeof(ct.forgejo_client_id));
	strlcpy(ct.forgejo_client_secret, conf->forgejo_client_secret,
	    sizeof(ct.forgejo_client_secret));
	strlcpy(ct.forgejo_scope, conf->forgejo_scope,
	    sizeof(ct.forgejo_scope));
	strlcpy(ct.user, conf->user, sizeof(ct.user));
	ct.uid = pd->uid;
	ct.gid = pd->gid;
	ct.access_lifetime = conf->token_access_lifetime;
	ct.refresh_lifetime = conf->token_refresh_lifetime;
	ct.refresh_grace = conf->token_refresh_grace;
	ct.client_prune_after = conf->client_prune_after;
	ct.refresh_margin = conf->forgejo_refresh_margin;
	if (imsg_compose_event(iev, IMSG_CFG_TOKEND, 0, -1, &ct,
	    sizeof(ct)) == -1)
		fatal("%s", __func__);
	explicit_bzero(&ct, sizeof(ct));
	if (imsg_compose_event(iev, IMSG_CFG_DONE, 0, -1, NULL, 0) == -1)
		fatal("%s", __func__);
}

void
config_send_spawnd(struct brokerd_conf *conf, struct imsgev *iev,
    const struct privdrop *pd)
{
	struct cfg_spawnd	 cs;

	memset(&cs, 0, sizeof(cs));
	strlcpy(cs.forgejo_url, conf->forgejo_url, sizeof(cs.forgejo_url));
	strlcpy(cs.user, conf->user, sizeof(cs.user));
	cs.uid = pd->uid;
	cs.gid = pd->gid;
	cs.max_sessions = conf->mcp_max_sessions;
	cs.max_sessions_per_user = conf->mcp_max_sessions_per_user;
	cs.idle_timeout = conf->mcp_idle_timeout;
	strlcpy(cs.home, conf->mcp_home, sizeof(cs.home));
	cs.limit_data = conf->mcp_limit_data;
	cs.limit_files = conf->mcp_limit_files;
	cs.limit_procs = conf->mcp_limit_procs;
	cs.limit_cpu = conf->mcp_limit_cpu;
	if (imsg_compose_event(iev, IMSG_CFG_SPAWND, 0, -1, &cs,
	    sizeof(cs)) == -1)
		fatal("%s", __func__);
	config_send_strings(iev, IMSG_CFG_MCP_ARG, conf->mcp_argv,
	    conf->mcp_argc);
	config_send_strings(iev, IMSG_CFG_MCP_PATH, conf->mcp_paths,
	    conf->mcp_npaths);
	if (imsg_compose_event(iev, IMSG_CFG_DONE, 0, -1, NULL, 0) == -1)
		fatal("%s", __func__);
}

/* Once configured, the children hold the secrets; the parent does not. */
void
config_clear_secrets(struct brokerd_conf *conf)
{
	explicit_bzero(conf->forgejo_client_secret,
	    sizeof(conf->forgejo_client_secret));
	if (tlsfiles.key != NULL)
		freezero(tlsfiles.key, tlsfiles.keylen + 1);
	tlsfiles.key = NULL;
	free(tlsfiles.cert);
	tlsfiles.cert = NULL;
}
