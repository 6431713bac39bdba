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
 * The Linux sandbox of each role, tried for real.  Every case forks a
 * child that applies one sandbox_*() function, tries what the role may
 * and may not do, and sends the results back through a pipe; the
 * parent makes the assertions, reads /proc/<pid>/status of the child
 * while it waits, and looks at how it died.  Checks that only Landlock
 * can make true are skipped, TAP style, on a kernel without it.
 */

#include <sys/types.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "regress.h"
#include "sandbox.h"

#ifdef __linux__

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#endif

/* A check that holds only under Landlock. */
#define CHECK_LL(cond, desc) do {					\
	if (landlock)							\
		CHECK(cond, "%s", desc);				\
	else								\
		CHECK(1, "%s # SKIP landlock unavailable", desc);	\
} while (0)

#define DESC_MAX	128

struct parent_res {
	int	reap_ok;
	int	read_ok;
	char	desc[DESC_MAX];
};

struct http_res {
	int	accept_ok;
	int	open_err;
	int	pair_ok;
	int	fdpass_ok;
	int	random_ok;
	int	fstat_ok;
	int	socket_err;
	char	desc[DESC_MAX];
};

struct tokend_res {
	int	db_ok;
	int	other_read_err;
	int	other_create_err;
	int	hosts_ok;
	int	passwd_err;
	int	urandom_ok;
	int	gai_ok;
	int	connect_ok;
	char	desc[DESC_MAX];
};

struct spawnd_res {
	int	true_status;
	int	db_err;
	int	home_ok;
	int	child_nnp;
	int	cat_db_status;
	int	execpath_status;
	int	other_err;
	int	home_exec_err;
	int	sh_status;
	char	desc[DESC_MAX];
};

static void	 test_parent(void);
static void	 test_http(void);
static void	 test_tokend(void);
static void	 test_spawnd(void);
static void	 child_start(void);
static void	 child_ready(int, int);
static int	 status_field(pid_t, const char *);
static ssize_t	 read_full(int, void *, size_t);
static int	 listener(struct sockaddr_in *);
static int	 connect_to(const struct sockaddr_in *);
static int	 send_fd(int, int);
static int	 recv_fd(int);
static int	 open_err(const char *, int);
static int	 read_file(const char *);
static int	 write_file(const char *, const char *, mode_t);
static int	 run(const char *const *, char *, size_t, int *);
static char	*tmpdir(void);
static char	*join(const char *, const char *);
static void	 cleanup(const char *, const char *const *);
static int	 wait_status(pid_t);

static int	 landlock;
static int	 filters;	/* seccomp filters this test runs under */

int
main(void)
{
	long	 abi;

	log_init(1, LOG_DAEMON);
	log_procinit("sandbox_test");
	signal(SIGPIPE, SIG_IGN);
	alarm(120);

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0, 1U);
	landlock = abi >= 1;
	if ((filters = status_field(getpid(), "Seccomp_filters:")) == -1)
		fatalx("no Seccomp_filters in /proc/self/status");
	log_info("landlock abi %ld%s, uid %d", abi, landlock ? "" :
	    " (unavailable: its checks are skipped)", (int)getuid());

	test_parent();
	test_http();
	test_tokend();
	test_spawnd();

	return regress_done();
}

/*
 * The parent keeps everything it needs after start-up: it may still
 * read files, signal and reap its children.
 */
static void
test_parent(void)
{
	struct parent_res	 r;
	pid_t			 pid, kid;
	int			 rp[2], gp[2], status;
	char			 c;

	if (pipe(rp) == -1 || pipe(gp) == -1)
		fatal("pipe");
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(rp[0]);
		close(gp[1]);
		child_start();
		sandbox_parent();
		child_ready(rp[1], gp[0]);

		memset(&r, 0, sizeof(r));
		if ((kid = fork()) == 0) {
			pause();
			_exit(0);
		}
		if (kid != -1 && kill(kid, SIGTERM) == 0) {
			status = wait_status(kid);
			r.reap_ok = WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGTERM;
		}
		r.read_ok = read_file("/etc/hosts") > 0;
		(void)snprintf(r.desc, sizeof(r.desc), "%s",
		    sandbox_describe());
		(void)write(rp[1], &r, sizeof(r));
		_exit(0);
	}
	close(rp[1]);
	close(gp[0]);

	CHECK(read_full(rp[0], &c, 1) == 1 && c == 'S',
	    "parent: sandbox_parent() applied");
	CHECK(status_field(pid, "NoNewPrivs:") == 1,
	    "parent: NoNewPrivs is set");
	CHECK(status_field(pid, "Seccomp_filters:") == filters,
	    "parent: no seccomp filter, it must go on reaping");
	(void)write(gp[1], "G", 1);

	memset(&r, 0, sizeof(r));
	(void)read_full(rp[0], &r, sizeof(r));
	r.desc[sizeof(r.desc) - 1] = '\0';
	CHECK(r.reap_ok, "parent: can still signal and reap a child");
	CHECK(r.read_ok, "parent: can still read files");
	CHECK(strcmp(r.desc, "no_new_privs") == 0,
	    "parent: sandbox_describe() says \"%s\"", r.desc);

	(void)wait_status(pid);
	close(rp[0]);
	close(gp[1]);
}

/*
 * http: no filesystem; sockets it holds keep working; anything off the
 * allowlist kills it.
 */
static void
test_http(void)
{
	struct http_res		 r;
	struct sockaddr_in	 sin;
	struct stat		 st;
	pid_t			 pid;
	ssize_t			 n;
	int			 rp[2], gp[2], sp[2], lfd, cfd, fd, e, status;
	int			 ok;
	char			 buf[32], c;
	char *const		 argv[] = { "true", NULL };
	char *const		 envp[] = { NULL };

	if (pipe(rp) == -1 || pipe(gp) == -1)
		fatal("pipe");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		fatal("socketpair");
	lfd = listener(&sin);
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(rp[0]);
		close(gp[1]);
		child_start();
		sandbox_http();
		child_ready(rp[1], gp[0]);

		memset(&r, 0, sizeof(r));
		if ((fd = accept(lfd, NULL, NULL)) != -1) {
			if (read(fd, &c, 1) == 1 && c == 'x' &&
			    write(fd, "y", 1) == 1)
				r.accept_ok = 1;
			close(fd);
		}
		r.open_err = open_err("/etc/passwd", O_RDONLY);
		if (write(sp[0], "ping", 4) == 4 &&
		    read(sp[1], buf, sizeof(buf)) == 4 &&
		    memcmp(buf, "ping", 4) == 0)
			r.pair_ok = 1;
		if (send_fd(sp[0], gp[0]) == 0 && (fd = recv_fd(sp[1])) != -1) {
			r.fdpass_ok = fd != gp[0] && fstat(fd, &st) == 0 &&
			    S_ISFIFO(st.st_mode);
			close(fd);
		}
		r.random_ok = getrandom(buf, sizeof(buf), 0) ==
		    (ssize_t)sizeof(buf);
		r.fstat_ok = fstat(rp[1], &st) == 0 && S_ISFIFO(st.st_mode);
		r.socket_err = (fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ?
		    errno : 0;
		(void)snprintf(r.desc, sizeof(r.desc), "%s",
		    sandbox_describe());
		(void)write(rp[1], &r, sizeof(r));

		/* Not on the list: dies here, but for sanitizer builds. */
		execve("/bin/true", argv, envp);
		e = errno;
		(void)write(rp[1], &e, sizeof(e));
		_exit(0);
	}
	close(rp[1]);
	close(gp[0]);
	close(sp[0]);
	close(sp[1]);
	close(lfd);

	CHECK(read_full(rp[0], &c, 1) == 1 && c == 'S',
	    "http: sandbox_http() applied");
	CHECK(status_field(pid, "NoNewPrivs:") == 1,
	    "http: NoNewPrivs is set");
	CHECK(status_field(pid, "Seccomp:") == 2 &&
	    status_field(pid, "Seccomp_filters:") == filters + 1,
	    "http: a seccomp filter is in place");

	ok = 0;
	if ((cfd = connect_to(&sin)) != -1) {
		(void)write(gp[1], "G", 1);
		if (write(cfd, "x", 1) == 1 && read(cfd, &c, 1) == 1 &&
		    c == 'y')
			ok = 1;
		close(cfd);
	} else
		(void)write(gp[1], "G", 1);

	memset(&r, 0, sizeof(r));
	(void)read_full(rp[0], &r, sizeof(r));
	r.desc[sizeof(r.desc) - 1] = '\0';
	CHECK(ok && r.accept_ok,
	    "http: accepts and talks on a listening socket it inherited");
	CHECK(strstr(r.desc, "seccomp filter") != NULL &&
	    strstr(r.desc, "no_new_privs") != NULL &&
	    (!landlock || strstr(r.desc, "landlock abi") != NULL),
	    "http: sandbox_describe() says \"%s\"", r.desc);
#ifdef BROKERD_SANITIZE
	/* Only Landlock says no to paths in sanitizer builds. */
	CHECK_LL(r.open_err == EACCES,
	    "http: open(\"/etc/passwd\") fails with EACCES");
#else
	CHECK(r.open_err == EACCES,
	    "http: open(\"/etc/passwd\") fails with EACCES (%s)",
	    strerror(r.open_err));
#endif
	CHECK(r.pair_ok, "http: a socketpair made before still works");
	CHECK(r.fdpass_ok, "http: passes a descriptor over the socketpair");
	CHECK(r.random_ok, "http: getrandom works");
	CHECK(r.fstat_ok, "http: fstat on a descriptor works");
	CHECK(r.socket_err == EACCES,
	    "http: socket(AF_INET) fails with EACCES (%s)",
	    strerror(r.socket_err));

	n = read_full(rp[0], &e, sizeof(e));
	status = wait_status(pid);
#ifdef BROKERD_SANITIZE
	(void)n;
	(void)status;
	CHECK(1, "http: execve kills the child with SIGSYS"
	    " # SKIP sanitizer build");
#else
	CHECK(n == 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	    "http: execve kills the child with SIGSYS (status %#x)", status);
#endif
	close(rp[0]);
	close(gp[1]);
}

/*
 * tokend: its database directory, name resolution and outbound
 * connections; nothing else on disk.
 */
static void
test_tokend(void)
{
	struct tokend_res	 r;
	struct sockaddr_in	 sin;
	struct addrinfo		 hints, *res;
	struct stat		 st;
	pid_t			 pid;
	int			 rp[2], gp[2], lfd, fd;
	char			*dbdir, *otherdir, *dbfile, *secret, *newfile;
	char			 buf[16], c;

	dbdir = tmpdir();
	otherdir = tmpdir();
	dbfile = join(dbdir, "brokerd.db");
	secret = join(otherdir, "secret");
	newfile = join(otherdir, "new");
	if (write_file(secret, "secret\n", 0600) == -1)
		fatal("%s", secret);

	if (pipe(rp) == -1 || pipe(gp) == -1)
		fatal("pipe");
	lfd = listener(&sin);
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(rp[0]);
		close(gp[1]);
		child_start();
		sandbox_tokend(dbdir);
		child_ready(rp[1], gp[0]);

		memset(&r, 0, sizeof(r));
		/* What SQLite does: create, write, read, truncate, unlink. */
		fd = open(dbfile, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1) {
			r.db_ok = write(fd, "hello", 5) == 5 &&
			    lseek(fd, 0, SEEK_SET) == 0 &&
			    read(fd, buf, sizeof(buf)) == 5 &&
			    memcmp(buf, "hello", 5) == 0 &&
			    ftruncate(fd, 0) == 0 &&
			    fstat(fd, &st) == 0 && st.st_size == 0;
			close(fd);
			if (unlink(dbfile) == -1)
				r.db_ok = 0;
		}
		r.other_read_err = open_err(secret, O_RDONLY);
		r.other_create_err = open_err(newfile, O_WRONLY | O_CREAT);
		r.hosts_ok = read_file("/etc/hosts") > 0;
		r.passwd_err = open_err("/etc/passwd", O_RDONLY);
		if ((fd = open("/dev/urandom", O_RDONLY)) != -1) {
			r.urandom_ok = read(fd, buf, sizeof(buf)) ==
			    (ssize_t)sizeof(buf);
			close(fd);
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo("localhost", "443", &hints, &res) == 0) {
			r.gai_ok = 1;
			freeaddrinfo(res);
		}
		if ((fd = connect_to(&sin)) != -1) {
			r.connect_ok = 1;
			close(fd);
		}
		(void)snprintf(r.desc, sizeof(r.desc), "%s",
		    sandbox_describe());
		(void)write(rp[1], &r, sizeof(r));
		_exit(0);
	}
	close(rp[1]);
	close(gp[0]);

	CHECK(read_full(rp[0], &c, 1) == 1 && c == 'S',
	    "tokend: sandbox_tokend() applied");
	CHECK(status_field(pid, "NoNewPrivs:") == 1,
	    "tokend: NoNewPrivs is set");
	(void)write(gp[1], "G", 1);

	memset(&r, 0, sizeof(r));
	(void)read_full(rp[0], &r, sizeof(r));
	r.desc[sizeof(r.desc) - 1] = '\0';
	CHECK(landlock ? strstr(r.desc, "landlock abi") != NULL :
	    strstr(r.desc, "no landlock") != NULL,
	    "tokend: sandbox_describe() says \"%s\"", r.desc);
	CHECK(r.db_ok, "tokend: creates, writes, reads, truncates and "
	    "removes a file in its database directory");
	CHECK_LL(r.other_read_err == EACCES,
	    "tokend: cannot read a file in another directory");
	CHECK_LL(r.other_create_err == EACCES,
	    "tokend: cannot create a file in another directory");
	CHECK(r.hosts_ok, "tokend: reads /etc/hosts");
	CHECK_LL(r.passwd_err == EACCES, "tokend: cannot read /etc/passwd");
	CHECK(r.urandom_ok, "tokend: reads /dev/urandom");
	CHECK(r.gai_ok, "tokend: getaddrinfo(\"localhost\") resolves");
	CHECK(r.connect_ok, "tokend: connects out over TCP");

	(void)wait_status(pid);
	close(rp[0]);
	close(gp[1]);
	close(lfd);

	CHECK_LL(stat(newfile, &st) == -1 && errno == ENOENT,
	    "tokend: left nothing behind in the other directory");
	{
		const char *const files[] = { secret, newfile, NULL };

		cleanup(otherdir, files);
	}
	{
		const char *const files[] = { dbfile, NULL };

		cleanup(dbdir, files);
	}
	free(dbfile);
	free(secret);
	free(newfile);
	free(dbdir);
	free(otherdir);
}

/*
 * spawnd: runs programs from the system and from its exec paths, writes
 * in its home, never reads the database; its children inherit all of
 * it.
 */
static void
test_spawnd(void)
{
	struct spawnd_res	 r;
	pid_t			 pid;
	int			 rp[2], gp[2], e;
	char			*dbdir, *homedir, *bindir, *tokens, *scratch;
	char			*hello, *other, *homeprog;
	char			 out[8192], c;

	dbdir = tmpdir();
	homedir = tmpdir();
	bindir = tmpdir();
	tokens = join(dbdir, "tokens.db");
	scratch = join(homedir, "scratch");
	homeprog = join(homedir, "prog");
	hello = join(bindir, "hello");
	other = join(bindir, "other");
	if (write_file(tokens, "token\n", 0600) == -1 ||
	    write_file(hello, "#!/bin/sh\nexit 3\n", 0755) == -1 ||
	    write_file(other, "#!/bin/sh\nexit 4\n", 0755) == -1)
		fatal("write_file");
	/* An unprivileged user must reach the scripts. */
	if (chmod(bindir, 0755) == -1)
		fatal("chmod %s", bindir);

	if (pipe(rp) == -1 || pipe(gp) == -1)
		fatal("pipe");
	fflush(stdout);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		const char *const	 execpaths[] = { hello, NULL };
		const char *const	 true_argv[] = { "/bin/true", NULL };
		const char *const	 status_argv[] =
		    { "/bin/cat", "/proc/self/status", NULL };
		const char *const	 cat_argv[] =
		    { "/bin/cat", tokens, NULL };
		const char *const	 hello_argv[] = { hello, NULL };
		const char *const	 other_argv[] = { other, NULL };
		const char *const	 prog_argv[] = { homeprog, NULL };
		const char *const	 sh_argv[] =
		    { "/bin/sh", "-c", "echo ok >/dev/null", NULL };

		close(rp[0]);
		close(gp[1]);
		child_start();
		sandbox_spawnd(execpaths, homedir);
		child_ready(rp[1], gp[0]);

		memset(&r, 0, sizeof(r));
		r.true_status = run(true_argv, NULL, 0, &e);
		r.db_err = open_err(tokens, O_RDONLY);
		r.home_ok = write_file(scratch, "scratch\n", 0600) == 0 &&
		    read_file(scratch) == 8 && unlink(scratch) == 0;
		if (run(status_argv, out, sizeof(out), &e) == 0)
			r.child_nnp = strstr(out, "\nNoNewPrivs:\t1\n") !=
			    NULL;
		r.cat_db_status = run(cat_argv, NULL, 0, &e);
		r.execpath_status = run(hello_argv, NULL, 0, &e);
		(void)run(other_argv, NULL, 0, &r.other_err);
		if (write_file(homeprog, "#!/bin/sh\nexit 0\n", 0755) == 0)
			(void)run(prog_argv, NULL, 0, &r.home_exec_err);
		(void)unlink(homeprog);
		r.sh_status = run(sh_argv, NULL, 0, &e);
		(void)snprintf(r.desc, sizeof(r.desc), "%s",
		    sandbox_describe());
		(void)write(rp[1], &r, sizeof(r));
		_exit(0);
	}
	close(rp[1]);
	close(gp[0]);

	CHECK(read_full(rp[0], &c, 1) == 1 && c == 'S',
	    "spawnd: sandbox_spawnd() applied");
	CHECK(status_field(pid, "NoNewPrivs:") == 1,
	    "spawnd: NoNewPrivs is set");
	CHECK(status_field(pid, "Seccomp_filters:") == filters,
	    "spawnd: no seccomp filter for its children to inherit");
	(void)write(gp[1], "G", 1);

	memset(&r, 0, sizeof(r));
	r.true_status = r.cat_db_status = r.execpath_status = -1;
	r.sh_status = -1;
	(void)read_full(rp[0], &r, sizeof(r));
	r.desc[sizeof(r.desc) - 1] = '\0';
	CHECK(landlock ? strstr(r.desc, "landlock abi") != NULL :
	    strstr(r.desc, "no landlock") != NULL,
	    "spawnd: sandbox_describe() says \"%s\"", r.desc);
	CHECK(r.true_status == 0, "spawnd: forks and execs /bin/true");
	CHECK_LL(r.db_err == EACCES,
	    "spawnd: cannot read a file in the database directory");
	CHECK(r.home_ok, "spawnd: writes and reads a file in its home");
	CHECK(r.child_nnp, "spawnd: an exec'd child inherits NoNewPrivs");
	CHECK_LL(r.cat_db_status != 0,
	    "spawnd: an exec'd child cannot read the database either");
	CHECK(r.execpath_status == 3 << 8,
	    "spawnd: runs a program named in its exec paths");
	CHECK_LL(r.other_err == EACCES,
	    "spawnd: cannot exec a program beside it that is not named");
	CHECK_LL(r.home_exec_err == EACCES,
	    "spawnd: cannot exec a file it wrote in its home");
	CHECK(r.sh_status == 0,
	    "spawnd: /bin/sh runs and writes to /dev/null");

	(void)wait_status(pid);
	close(rp[0]);
	close(gp[1]);

	{
		const char *const files[] = { tokens, NULL };

		cleanup(dbdir, files);
	}
	{
		const char *const files[] = { scratch, homeprog, NULL };

		cleanup(homedir, files);
	}
	{
		const char *const files[] = { hello, other, NULL };

		cleanup(bindir, files);
	}
	free(tokens);
	free(scratch);
	free(homeprog);
	free(hello);
	free(other);
	free(dbdir);
	free(homedir);
	free(bindir);
}

/* In a child, before the sandbox: no core files, no hanging around. */
static void
child_start(void)
{
	struct rlimit	 rl;

	memset(&rl, 0, sizeof(rl));
	(void)setrlimit(RLIMIT_CORE, &rl);
	alarm(30);
}

/* Tell the parent the sandbox is on, wait for it to have looked. */
static void
child_ready(int rfd, int gfd)
{
	char	 c;

	if (write(rfd, "S", 1) != 1 || read(gfd, &c, 1) != 1)
		_exit(1);
}

/* A number from /proc/<pid>/status, or -1. */
static int
status_field(pid_t pid, const char *name)
{
	FILE	*fp;
	char	 path[64], line[256];
	size_t	 len;
	int	 v = -1;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	len = strlen(name);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, name, len) == 0) {
			v = (int)strtol(line + len, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

static ssize_t
read_full(int fd, void *buf, size_t len)
{
	char	*p = buf;
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		if ((n = read(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		off += n;
	}
	return off;
}

static int
listener(struct sockaddr_in *sin)
{
	socklen_t	 len;
	int		 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		fatal("socket");
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	len = sizeof(*sin);
	if (bind(fd, (struct sockaddr *)sin, len) == -1 ||
	    listen(fd, 5) == -1 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) == -1)
		fatal("listener");
	return fd;
}

static int
connect_to(const struct sockaddr_in *sin)
{
	int	 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_fd(int sock, int fd)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	char			 c = 'f';

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int
recv_fd(int sock)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	int			 fd = -1;
	char			 c;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	}
	return fd;
}

/* 0 if path opens, else the errno. */
static int
open_err(const char *path, int flags)
{
	int	 fd;

	if ((fd = open(path, flags | O_CLOEXEC, 0600)) == -1)
		return errno;
	close(fd);
	return 0;
}

/* The number of bytes in a file, or -1. */
static int
read_file(const char *path)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 fd, total = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n == -1 ? -1 : total;
}

static int
write_file(const char *path, const char *s, mode_t mode)
{
	size_t	 len = strlen(s);
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	if (write(fd, s, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Fork and exec argv, its output in out if out is not NULL.  Returns
 * the wait status, or -1 with the errno of a failed exec in *errp.
 */
static int
run(const char *const *argv, char *out, size_t outlen, int *errp)
{
	pid_t	 pid;
	ssize_t	 n;
	size_t	 off = 0;
	int	 op[2], ep[2], e;
	char	 drain[512];
	char	*const envp[] = { "PATH=/usr/bin:/bin", NULL };

	*errp = 0;
	if (pipe2(op, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1) {
		*errp = errno;
		return -1;
	}
	if ((pid = fork()) == -1) {
		*errp = errno;
		return -1;
	}
	if (pid == 0) {
		if (dup2(op[1], STDOUT_FILENO) == -1)
			_exit(126);
		execve(argv[0], (char *const *)(uintptr_t)argv, envp);
		e = errno;
		(void)write(ep[1], &e, sizeof(e));
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	if (out != NULL && outlen > 0) {
		while (off < outlen - 1 &&
		    (n = read(op[0], out + off, outlen - 1 - off)) > 0)
			off += n;
		out[off] = '\0';
	}
	/* Whatever does not fit, or nobody wants: no SIGPIPE. */
	while ((n = read(op[0], drain, sizeof(drain))) > 0)
		continue;
	close(op[0]);
	if (read_full(ep[0], &e, sizeof(e)) == sizeof(e))
		*errp = e;
	close(ep[0]);
	e = wait_status(pid);
	return *errp != 0 ? -1 : e;
}

static char *
tmpdir(void)
{
	char	*dir;

	if ((dir = strdup("/tmp/sandbox_test.XXXXXX")) == NULL)
		fatal("strdup");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	return dir;
}

static char *
join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		fatal("asprintf");
	return p;
}

static void
cleanup(const char *dir, const char *const *files)
{
	for (; *files != NULL; files++)
		(void)unlink(*files);
	if (rmdir(dir) == -1)
		log_warn("rmdir %s", dir);
}

static int
wait_status(pid_t pid)
{
	int	 status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return status;
}

#else /* !__linux__ */

int
main(void)
{
	CHECK(1, "sandbox # SKIP the checks are written for Linux");
	return regress_done();
}

#endif /* __linux__ */
