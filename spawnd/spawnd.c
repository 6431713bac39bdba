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
 * spawnd starts the configured MCP command, one child per user session,
 * as the unprivileged user and with a fixed environment.  It holds no
 * database and opens no network connection of its own.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "spawnd.h"

static void	 usage(void) __dead;
static void	 spawnd_sig(int, short, void *);
static void	 spawnd_dispatch_parent(int, short, void *);
static void	 spawnd_dispatch_peer(int, short, void *);
static void	 spawnd_add_arg(struct imsg *);
static void	 spawnd_add_path(struct imsg *);
static void	 spawnd_spawn(struct imsg *);
static void	 spawnd_close(struct imsg *);
static void	 spawnd_token_update(struct imsg *);
static void	 spawnd_grant_revoked(struct imsg *);
static void	 spawnd_configure(void);
static void	 spawnd_health(struct imsgev *, struct imsg *);
static void	 spawnd_shutdown(int) __dead;

struct spawnd_env	 spawnd_env;

static void
usage(void)
{
	fprintf(stderr, "usage: spawnd [-dv]\n"
	    "spawnd is started by brokerd(8), not by hand\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm, ev_sigchld;
	int		 ch, debug = 0, verbose = 0;

	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("spawnd");
	setproctitle("runner");
	proc_child_signals();

	event_init();
	signal_set(&ev_sigint, SIGINT, spawnd_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, spawnd_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_set(&ev_sigchld, SIGCHLD, spawnd_sig, NULL);
	signal_add(&ev_sigchld, NULL);
	TAILQ_INIT(&spawnd_env.children);
	spawnd_env.iev[PROC_PARENT] = proc_channel(PROC_PARENT_FD, "parent",
	    1, spawnd_dispatch_parent, NULL);
	event_dispatch();
	spawnd_shutdown(1);
}

static void
spawnd_sig(int sig, short event, void *arg)
{
	if (sig == SIGCHLD) {
		child_reap();
		return;
	}
	spawnd_shutdown(0);
}

static void
spawnd_shutdown(int code)
{
	child_kill_all();
	log_debug("exiting");
	exit(code);
}

static void
spawnd_add_arg(struct imsg *imsg)
{
	char	 arg[PROTO_ARG_MAX];

	if (spawnd_env.argc >= MCP_ARGS_MAX)
		fatalx("%s: too many arguments", __func__);
	if (imsg_get_strbuf(imsg, arg, sizeof(arg)) == -1)
		fatalx("%s: bad IMSG_CFG_MCP_ARG", __func__);
	if ((spawnd_env.argv[spawnd_env.argc++] = strdup(arg)) == NULL)
		fatal("%s", __func__);
	spawnd_env.argv[spawnd_env.argc] = NULL;
}

static void
spawnd_add_path(struct imsg *imsg)
{
	char	 path[PROTO_PATH_MAX];

	if (spawnd_env.npaths >= MCP_PATHS_MAX)
		fatalx("%s: too many paths", __func__);
	if (imsg_get_strbuf(imsg, path, sizeof(path)) == -1)
		fatalx("%s: bad IMSG_CFG_MCP_PATH", __func__);
	if ((spawnd_env.paths[spawnd_env.npaths++] = strdup(path)) == NULL)
		fatal("%s", __func__);
}

static void
spawnd_spawn(struct imsg *imsg)
{
	struct spawn_req	 req;

	if (imsg_get_data(imsg, &req, sizeof(req)) == -1)
		fatalx("%s: bad IMSG_SPAWN", __func__);
	child_spawn(&req);
	explicit_bzero(&req, sizeof(req));
}

static void
spawnd_close(struct imsg *imsg)
{
	struct session_ref	 sr;

	if (imsg_get_data(imsg, &sr, sizeof(sr)) == -1)
		fatalx("%s: bad IMSG_SESSION_CLOSE", __func__);
	sr.session_id[sizeof(sr.session_id) - 1] = '\0';
	child_close(sr.session_id, sr.now != 0);
}

/* One of the two messages with a Forgejo token: cleared once used. */
static void
spawnd_token_update(struct imsg *imsg)
{
	struct token_update	 tu;

	if (imsg_get_data(imsg, &tu, sizeof(tu)) == -1)
		fatalx("%s: bad IMSG_TOKEN_UPDATE", __func__);
	child_token_update(&tu);
	explicit_bzero(&tu, sizeof(tu));
}

static void
spawnd_grant_revoked(struct imsg *imsg)
{
	struct grant_ref	 gr;

	if (imsg_get_data(imsg, &gr, sizeof(gr)) == -1)
		fatalx("%s: bad IMSG_GRANT_REVOKED", __func__);
	gr.grant_id[sizeof(gr.grant_id) - 1] = '\0';
	child_grant_revoked(gr.grant_id);
}

static void
spawnd_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;

	if (proc_channel_io(iev, event) == -1) {
		log_debug("parent closed the channel");
		spawnd_shutdown(0);
	}
	while (proc_imsg_next(iev, &imsg)) {
		if (spawnd_env.configured)
			fatalx("%s: imsg %u after configuration", __func__,
			    imsg_get_type(&imsg));
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_PROCFD:
			proc_add_peer(&imsg, spawnd_env.iev,
			    PROC_MASK(PROC_HTTP) | PROC_MASK(PROC_TOKEND),
			    PROC_MASK(PROC_HTTP), spawnd_dispatch_peer);
			break;
		case IMSG_CFG_SPAWND:
			if (imsg_get_data(&imsg, &spawnd_env.cfg,
			    sizeof(spawnd_env.cfg)) == -1)
				fatalx("%s: bad IMSG_CFG_SPAWND", __func__);
			break;
		case IMSG_CFG_MCP_ARG:
			spawnd_add_arg(&imsg);
			break;
		case IMSG_CFG_MCP_PATH:
			spawnd_add_path(&imsg);
			break;
		case IMSG_CFG_DONE:
			spawnd_configure();
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/*
 * The children inherit this sandbox, so it allows what an MCP server
 * needs to run (the system's programs and libraries) and nothing of
 * brokerd's own state.
 */
static void
spawnd_configure(void)
{
	struct privdrop	 pd;
	const char	*paths[MCP_ARGS_MAX + MCP_PATHS_MAX + 1];
	struct stat	 st;
	int		 i, n = 0;

	if (spawnd_env.iev[PROC_HTTP] == NULL ||
	    spawnd_env.iev[PROC_TOKEND] == NULL)
		fatalx("configured without peers");
	if (spawnd_env.argc == 0)
		fatalx("configured without an mcp command");
	memset(&pd, 0, sizeof(pd));
	pd.uid = spawnd_env.cfg.uid;
	pd.gid = spawnd_env.cfg.gid;
	proc_privdrop(&pd);
	/*
	 * The command and every absolute path among its arguments (a script
	 * given to an interpreter) stay reachable; nothing else of ours.
	 */
	for (i = 0; i < spawnd_env.argc; i++)
		if (spawnd_env.argv[i][0] == '/' &&
		    access(spawnd_env.argv[i], R_OK) == 0)
			paths[n++] = spawnd_env.argv[i];
	for (i = 0; i < spawnd_env.npaths; i++)
		if (access(spawnd_env.paths[i], R_OK) == 0)
			paths[n++] = spawnd_env.paths[i];
		else
			log_warnx("mcp path %s: %s", spawnd_env.paths[i],
			    strerror(errno));
	paths[n] = NULL;
	sandbox_spawnd(paths, stat(spawnd_env.cfg.home, &st) == 0 &&
	    S_ISDIR(st.st_mode) ? spawnd_env.cfg.home : NULL);
	spawnd_env.configured = 1;
	if (imsg_compose_event(spawnd_env.iev[PROC_PARENT], IMSG_CTL_READY, 0,
	    -1, NULL, 0) == -1)
		fatal("imsg_compose");
	log_debug("ready to run %s", spawnd_env.argv[0]);
}

static enum proc_id
spawnd_which(struct imsgev *iev)
{
	if (iev == spawnd_env.iev[PROC_HTTP])
		return PROC_HTTP;
	if (iev == spawnd_env.iev[PROC_TOKEND])
		return PROC_TOKEND;
	fatalx("%s: unknown channel", __func__);
}

static void
spawnd_dispatch_peer(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	enum proc_id	 from = spawnd_which(iev);

	if (proc_channel_io(iev, event) == -1) {
		log_warnx("%s closed its channel", proc_name(from));
		spawnd_shutdown(1);
	}
	while (proc_imsg_next(iev, &imsg)) {
		if (!spawnd_env.configured)
			fatalx("%s: imsg from %s before configuration",
			    __func__, proc_name(from));
		switch (imsg_get_type(&imsg)) {
		case IMSG_HEALTH_REQ:
			if (from != PROC_HTTP)
				fatalx("%s: health request from %s",
				    __func__, proc_name(from));
			spawnd_health(iev, &imsg);
			break;
		case IMSG_SPAWN:
			if (from != PROC_TOKEND)
				fatalx("%s: spawn request from %s",
				    __func__, proc_name(from));
			spawnd_spawn(&imsg);
			break;
		case IMSG_SESSION_CLOSE:
			if (from != PROC_HTTP)
				fatalx("%s: close request from %s",
				    __func__, proc_name(from));
			spawnd_close(&imsg);
			break;
		case IMSG_TOKEN_UPDATE:
			if (from != PROC_TOKEND)
				fatalx("%s: token update from %s",
				    __func__, proc_name(from));
			spawnd_token_update(&imsg);
			break;
		case IMSG_GRANT_REVOKED:
			if (from != PROC_TOKEND)
				fatalx("%s: revocation from %s",
				    __func__, proc_name(from));
			spawnd_grant_revoked(&imsg);
			break;
		default:
			fatalx("%s: unexpected imsg %u from %s", __func__,
			    imsg_get_type(&imsg), proc_name(from));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

static void
spawnd_health(struct imsgev *iev, struct imsg *imsg)
{
	struct health_ok	 ok;

	memset(&ok, 0, sizeof(ok));
	ok.value = spawnd_env.nchildren;
	if (imsg_compose_event(iev, IMSG_HEALTH_OK, imsg_get_id(imsg), -1,
	    &ok, sizeof(ok)) == -1)
		fatal("imsg_compose");
}
