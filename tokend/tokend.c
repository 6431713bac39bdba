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
 * tokend holds the token store and the Forgejo client secret.  It
 * answers typed requests from the http process and spawnd; it never
 * forks, never executes a program and never accepts a connection.
 */

#include <sys/types.h>

#include <event.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "sandbox.h"
#include "tokend.h"

static void	 usage(void) __dead;
static void	 tokend_sig(int, short, void *);
static void	 tokend_dispatch_parent(int, short, void *);
static void	 tokend_dispatch_peer(int, short, void *);
static void	 tokend_configure(void);
static void	 tokend_health(struct imsgev *, struct imsg *);
static void	 tokend_shutdown(int) __dead;

struct tokend_env	 tokend_env;

static void
usage(void)
{
	fprintf(stderr, "usage: tokend [-dv]\n"
	    "tokend is started by brokerd(8), not by hand\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm;
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
	log_procinit("tokend");
	setproctitle("store");
	proc_child_signals();

	event_init();
	signal_set(&ev_sigint, SIGINT, tokend_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, tokend_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	tokend_env.iev[PROC_PARENT] = proc_channel(PROC_PARENT_FD, "parent",
	    1, tokend_dispatch_parent, NULL);
	event_dispatch();
	tokend_shutdown(1);
}

static void
tokend_sig(int sig, short event, void *arg)
{
	tokend_shutdown(0);
}

/* Close the database cleanly: a checkpointed WAL, nothing half done. */
static void
tokend_shutdown(int code)
{
	db_close();
	explicit_bzero(&tokend_env.cfg, sizeof(tokend_env.cfg));
	log_debug("exiting");
	exit(code);
}

static void
tokend_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;

	if (proc_channel_io(iev, event) == -1) {
		log_debug("parent closed the channel");
		tokend_shutdown(0);
	}
	while (proc_imsg_next(iev, &imsg)) {
		if (tokend_env.configured)
			fatalx("%s: imsg %u after configuration", __func__,
			    imsg_get_type(&imsg));
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_PROCFD:
			proc_add_peer(&imsg, tokend_env.iev,
			    PROC_MASK(PROC_HTTP) | PROC_MASK(PROC_SPAWND),
			    0, tokend_dispatch_peer);
			break;
		case IMSG_CFG_TOKEND:
			if (imsg_get_data(&imsg, &tokend_env.cfg,
			    sizeof(tokend_env.cfg)) == -1)
				fatalx("%s: bad IMSG_CFG_TOKEND", __func__);
			tokend_env.cfg.database[
			    sizeof(tokend_env.cfg.database) - 1] = '\0';
			break;
		case IMSG_CFG_DONE:
			tokend_configure();
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
 * Drop to the configured user, confine ourselves to the directory of
 * the database, and only then open it: a hostile database file meets
 * a sandboxed reader.
 */
static void
tokend_configure(void)
{
	struct privdrop	 pd;
	char		 dir[PROTO_PATH_MAX];

	if (tokend_env.iev[PROC_HTTP] == NULL ||
	    tokend_env.iev[PROC_SPAWND] == NULL)
		fatalx("configured without peers");
	strlcpy(dir, tokend_env.cfg.database, sizeof(dir));
	memset(&pd, 0, sizeof(pd));
	pd.uid = tokend_env.cfg.uid;
	pd.gid = tokend_env.cfg.gid;
	/* The CA certificates are read now; the sandbox forbids it later. */
	forgejo_init(&tokend_env.cfg);
	proc_privdrop(&pd);
	sandbox_tokend(dirname(dir));
	if (db_open(tokend_env.cfg.database) == -1)
		fatalx("cannot use database %s", tokend_env.cfg.database);
	oauth_init();
	lifecycle_init();
	tokend_env.configured = 1;
	if (imsg_compose_event(tokend_env.iev[PROC_PARENT], IMSG_CTL_READY, 0,
	    -1, NULL, 0) == -1)
		fatal("imsg_compose");
	log_debug("serving database %s", tokend_env.cfg.database);
}

static enum proc_id
tokend_which(struct imsgev *iev)
{
	if (iev == tokend_env.iev[PROC_HTTP])
		return PROC_HTTP;
	if (iev == tokend_env.iev[PROC_SPAWND])
		return PROC_SPAWND;
	fatalx("%s: unknown channel", __func__);
}

static void
tokend_dispatch_peer(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	enum proc_id	 from = tokend_which(iev);

	if (proc_channel_io(iev, event) == -1) {
		log_warnx("%s closed its channel", proc_name(from));
		tokend_shutdown(1);
	}
	while (proc_imsg_next(iev, &imsg)) {
		if (!tokend_env.configured)
			fatalx("%s: imsg from %s before configuration",
			    __func__, proc_name(from));
		switch (imsg_get_type(&imsg)) {
		case IMSG_HEALTH_REQ:
			if (from != PROC_HTTP)
				fatalx("%s: health request from %s",
				    __func__, proc_name(from));
			tokend_health(iev, &imsg);
			break;
		case IMSG_SESSION_OPEN:
			if (from != PROC_HTTP)
				fatalx("%s: session request from %s",
				    __func__, proc_name(from));
			session_open(&imsg);
			break;
		case IMSG_SESSION_GONE:
			if (from != PROC_HTTP)
				fatalx("%s: session end from %s",
				    __func__, proc_name(from));
			session_gone(&imsg);
			break;
		default:
			if (from == PROC_HTTP && oauth_dispatch(iev, &imsg))
				break;
			fatalx("%s: unexpected imsg %u from %s", __func__,
			    imsg_get_type(&imsg), proc_name(from));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/* A real query, so that /healthz proves the database answers. */
static void
tokend_health(struct imsgev *iev, struct imsg *imsg)
{
	struct health_ok	 ok;
	int64_t			 version;

	memset(&ok, 0, sizeof(ok));
	if (db_schema_version(&version) == -1) {
		if (imsg_compose_event(iev, IMSG_HEALTH_FAIL,
		    imsg_get_id(imsg), -1, NULL, 0) == -1)
			fatal("imsg_compose");
		return;
	}
	ok.value = version;
	if (imsg_compose_event(iev, IMSG_HEALTH_OK, imsg_get_id(imsg), -1,
	    &ok, sizeof(ok)) == -1)
		fatal("imsg_compose");
}
