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
 * The parent process.  It reads the configuration, opens the listening
 * sockets and the files only root may read, starts the http process,
 * tokend and spawnd as fresh program images, wires them together, hands
 * each its part of the configuration, and from then on only watches:
 * when any of them dies, everything stops.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

#define SHUTDOWN_GRACE_MS	1500

static void	 usage(void) __dead;
static void	 parent_resolve_user(struct brokerd_conf *, struct privdrop *);
static void	 parent_prepare_dbdir(const char *, const struct privdrop *);
static void	 parent_start(const char *, int, int);
static void	 parent_connect_peers(void);
static void	 parent_dispatch(int, short, void *);
static void	 parent_sig(int, short, void *);
static void	 parent_track_pgid(struct imsg *);
static void	 parent_kill_pgids(int);
static int	 parent_reap_log(void);
static void	 parent_reap(void);
static void	 parent_collect(void);
static void	 parent_shutdown(int) __dead;

/* Process groups of the MCP children, as spawnd reports them. */
#define PARENT_PGIDS_MAX	4096

static struct {
	struct brokerd_conf	*conf;
	pid_t			 pgids[PARENT_PGIDS_MAX];
	int			 npgids;
	struct imsgev		*iev[PROC_MAX];
	pid_t			 pid[PROC_MAX];
	int			 ready;
	int			 shutting_down;
} env;

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file]\n",
	    getprogname());
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct event	 ev_sigint, ev_sigterm, ev_sighup, ev_sigchld;
	struct privdrop	 pd;
	const char	*conffile = BROKERD_CONF, *role = NULL;
	char		*self;
	int		 ch, debug = 0, noaction = 0, verbose = 0;

	log_init(1, LOG_DAEMON);

	while ((ch = getopt(argc, argv, "dD:f:nP:v")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'D':
			if (cmdline_symset(optarg) < 0)
				log_warnx("could not parse macro definition %s",
				    optarg);
			break;
		case 'f':
			conffile = optarg;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'P':
			role = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc > 0)
		usage();
	log_setverbose(verbose);

	/* A re-executed child: -P names its role, the rest comes by imsg. */
	if (role != NULL) {
		if (strcmp(role, "http") != 0)
			fatalx("unknown process role %s", role);
		http_main(debug, verbose);
		/* NOTREACHED */
	}

	if ((env.conf = parse_config(conffile)) == NULL)
		exit(1);
	if (noaction) {
		if (verbose)
			print_config(env.conf);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	/*
	 * The http process is this image again: exec needs the real path,
	 * and a copy of it, since setproctitle() may overwrite argv.
	 */
	if (argv[0][0] != '/')
		fatalx("brokerd must be started with an absolute path");
	if ((self = strdup(argv[0])) == NULL)
		fatal(NULL);

	parent_resolve_user(env.conf, &pd);
	parent_prepare_dbdir(env.conf->database, &pd);
	if (parent_open_listeners(env.conf) == -1)
		exit(1);
	if (parent_load_tls(env.conf) == -1)
		exit(1);

	if (!debug && daemon(1, 0) == -1)
		fatal("daemon");
	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	setproctitle("parent");
	log_procinit("parent");

	event_init();
	parent_start(self, debug, verbose);
	parent_connect_peers();
	config_send_http(env.conf, env.iev[PROC_HTTP], &pd);
	config_send_tokend(env.conf, env.iev[PROC_TOKEND], &pd);
	config_send_spawnd(env.conf, env.iev[PROC_SPAWND], &pd);
	config_clear_secrets(env.conf);

	signal_set(&ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	signal_add(&ev_sighup, NULL);
	signal_add(&ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);

	sandbox_parent();
	log_info("started, sandbox: %s", sandbox_describe());

	event_dispatch();
	parent_shutdown(1);
}

/*
 * Look the user up while /etc/passwd is still reachable.  As another
 * user than root nothing can be dropped: say so, and carry on with the
 * sandboxes alone.
 */
static void
parent_resolve_user(struct brokerd_conf *conf, struct privdrop *pd)
{
	struct passwd	*pw;

	memset(pd, 0, sizeof(*pd));
	if (geteuid() != 0) {
		log_warnx("running as uid %u, not root: no chroot and no "
		    "privilege drop, sandboxes only", (unsigned)geteuid());
		pd->uid = geteuid();
		pd->gid = getegid();
		return;
	}
	if ((pw = getpwnam(conf->user)) == NULL)
		fatalx("user %s does not exist; create it or set \"user\"",
		    conf->user);
	if (pw->pw_uid == 0)
		fatalx("user %s is root; brokerd needs an unprivileged user",
		    conf->user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	pd->chroot = conf->chroot;
}

/*
 * tokend runs as the unprivileged user, so the directory of the
 * database must be its own.  Create it if missing; never loosen an
 * existing one.
 */
static void
parent_prepare_dbdir(const char *database, const struct privdrop *pd)
{
	struct stat	 st;
	char		 path[PROTO_PATH_MAX], *dir;

	if (strlcpy(path, database, sizeof(path)) >= sizeof(path))
		fatalx("database path too long");
	dir = dirname(path);
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT)
			fatal("database directory %s", dir);
		if (mkdir(dir, 0700) == -1)
			fatal("mkdir %s", dir);
		if (geteuid() == 0 && chown(dir, pd->uid, pd->gid) == -1)
			fatal("chown %s", dir);
		log_info("created database directory %s", dir);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		fatalx("database directory %s is not a directory", dir);
	if (geteuid() == 0 && st.st_uid != pd->uid)
		log_warnx("database directory %s is not owned by the "
		    "configured user; tokend may not be able to write it", dir);
}

static void
parent_start(const char *self, int debug, int verbose)
{
	static const char	*vflags[] = { NULL, "-v", "-vv", "-vvv" };
	const char		*paths[PROC_MAX];
	char			*argv[8];
	int			 fds[2], n;
	enum proc_id		 id;

	paths[PROC_HTTP] = self;
	paths[PROC_TOKEND] = LIBEXECDIR "/tokend";
	paths[PROC_SPAWND] = LIBEXECDIR "/spawnd";
	if (verbose > 3)
		verbose = 3;

	for (id = PROC_HTTP; id < PROC_MAX; id++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0, fds) == -1)
			fatal("socketpair");
		n = 0;
		argv[n++] = (char *)(uintptr_t)paths[id];
		if (id == PROC_HTTP) {
			argv[n++] = "-P";
			argv[n++] = "http";
		}
		if (debug)
			argv[n++] = "-d";
		if (verbose)
			argv[n++] = (char *)(uintptr_t)vflags[verbose];
		argv[n] = NULL;

		env.pid[id] = proc_exec(paths[id], argv, fds[1]);
		close(fds[1]);
		env.iev[id] = proc_channel(fds[0], proc_name(id), 1,
		    parent_dispatch, NULL);
		log_debug("started %s, pid %d", proc_name(id), env.pid[id]);
	}
}

/*
 * One socketpair for each pair of children; each end travels to its
 * process as IMSG_CTL_PROCFD naming the peer.
 */
static void
parent_connect_peers(void)
{
	struct ctl_procfd	 pf;
	enum proc_id		 a, b;
	int			 fds[2];

	for (a = PROC_HTTP; a < PROC_MAX; a++) {
		for (b = a + 1; b < PROC_MAX; b++) {
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, 0, fds) == -1)
				fatal("socketpair");
			pf.peer = b;
			if (imsg_compose_event(env.iev[a], IMSG_CTL_PROCFD, 0,
			    fds[0], &pf, sizeof(pf)) == -1)
				fatal("imsg_compose");
			pf.peer = a;
			if (imsg_compose_event(env.iev[b], IMSG_CTL_PROCFD, 0,
			    fds[1], &pf, sizeof(pf)) == -1)
				fatal("imsg_compose");
		}
	}
}

static enum proc_id
parent_which(struct imsgev *iev)
{
	enum proc_id	 id;

	for (id = PROC_HTTP; id < PROC_MAX; id++)
		if (env.iev[id] == iev)
			return id;
	fatalx("%s: unknown channel", __func__);
}

static void
parent_dispatch(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	enum proc_id	 id = parent_which(iev);

	if (proc_channel_io(iev, event) == -1) {
		/*
		 * A channel closes when its process dies, or when the process
		 * leaves because a peer died.  Name the ones that are gone.
		 */
		log_debug("%s closed its channel", proc_name(id));
		parent_collect();
		parent_shutdown(1);
	}
	while (proc_imsg_next(iev, &imsg)) {
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_READY:
			log_debug("%s is ready", proc_name(id));
			if (++env.ready == PROC_MAX - 1)
				log_info("ready");
			break;
		case IMSG_CHILD_STARTED:
		case IMSG_CHILD_GONE:
			if (id != PROC_SPAWND)
				fatalx("%s: child report from %s", __func__,
				    proc_name(id));
			parent_track_pgid(&imsg);
			break;
		default:
			fatalx("%s: unexpected imsg %u from %s", __func__,
			    imsg_get_type(&imsg), proc_name(id));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

/*
 * spawnd kills its children when it leaves; the parent keeps their
 * process groups too, so that none survives even a spawnd killed with
 * SIGKILL.
 */
static void
parent_track_pgid(struct imsg *imsg)
{
	struct child_pg	 pg;
	int		 i;

	if (imsg_get_data(imsg, &pg, sizeof(pg)) == -1 || pg.pgid <= 1)
		fatalx("%s: bad child report", __func__);
	if (imsg_get_type(imsg) == IMSG_CHILD_GONE) {
		for (i = 0; i < env.npgids; i++)
			if (env.pgids[i] == pg.pgid) {
				env.pgids[i] = env.pgids[--env.npgids];
				break;
			}
		return;
	}
	if (env.npgids == PARENT_PGIDS_MAX)
		fatalx("%s: too many children", __func__);
	env.pgids[env.npgids++] = pg.pgid;
}

static void
parent_kill_pgids(int sig)
{
	int	 i;

	for (i = 0; i < env.npgids; i++)
		(void)kill(-env.pgids[i], sig);
}

static void
parent_sig(int sig, short event, void *arg)
{
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		log_info("received %s, shutting down",
		    sig == SIGINT ? "SIGINT" : "SIGTERM");
		parent_shutdown(0);
	case SIGHUP:
		log_warnx("SIGHUP: reload is not supported, restart brokerd "
		    "to change its configuration");
		break;
	case SIGCHLD:
		parent_reap();
		break;
	}
}

/* Name every child that died; any death of one ends the daemon. */
static void
parent_reap(void)
{
	if (parent_reap_log() > 0)
		parent_shutdown(1);
}

/*
 * A child that loses a peer leaves too, so when one dies the others
 * follow within moments.  Wait for all of them (a second at most) and
 * name each with its cause: the one killed stands out by its signal.
 */
static void
parent_collect(void)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	enum proc_id	 id;
	int		 i, lost = 0, alive;

	for (i = 0; i < 100; i++) {
		lost += parent_reap_log();
		alive = 0;
		for (id = PROC_HTTP; id < PROC_MAX; id++)
			alive += env.pid[id] != 0;
		if (alive == 0)
			return;
		nanosleep(&ts, NULL);
	}
	if (lost == 0)
		log_warnx("lost child: a channel closed, no process exited");
}

static int
parent_reap_log(void)
{
	enum proc_id	 id;
	pid_t		 pid;
	int		 status, lost = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (id = PROC_HTTP; id < PROC_MAX; id++)
			if (env.pid[id] == pid)
				break;
		if (id == PROC_MAX)
			continue;
		env.pid[id] = 0;
		if (env.shutting_down)
			continue;
		lost++;
		if (WIFSIGNALED(status))
			log_warnx("lost child: %s (pid %d) terminated by "
			    "signal %d", proc_name(id), pid, WTERMSIG(status));
		else
			log_warnx("lost child: %s (pid %d) exited with "
			    "status %d", proc_name(id), pid,
			    WEXITSTATUS(status));
	}
	return lost;
}

/*
 * Close every channel, so that each child sees EOF and leaves; then give
 * them a moment, and kill whatever is left.
 */
static void
parent_shutdown(int code)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	enum proc_id	 id;
	pid_t		 pid;
	int		 alive, status, waited;

	env.shutting_down = 1;
	parent_kill_pgids(SIGTERM);
	for (id = PROC_HTTP; id < PROC_MAX; id++) {
		if (env.iev[id] == NULL)
			continue;
		imsgbuf_clear(&env.iev[id]->ibuf);
		close(env.iev[id]->ibuf.fd);
	}
	for (waited = 0; ; waited += 20) {
		alive = 0;
		for (id = PROC_HTTP; id < PROC_MAX; id++) {
			if (env.pid[id] == 0)
				continue;
			pid = waitpid(env.pid[id], &status, WNOHANG);
			if (pid == env.pid[id] || (pid == -1 &&
			    errno == ECHILD))
				env.pid[id] = 0;
			else if (waited >= SHUTDOWN_GRACE_MS) {
				log_warnx("%s did not stop, killing it",
				    proc_name(id));
				kill(env.pid[id], SIGKILL);
				(void)waitpid(env.pid[id], &status, 0);
				env.pid[id] = 0;
			} else
				alive = 1;
		}
		if (!alive)
			break;
		nanosleep(&ts, NULL);
	}
	parent_kill_pgids(SIGKILL);
	log_info("terminating");
	exit(code);
}
