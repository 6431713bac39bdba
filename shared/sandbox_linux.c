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
 * The Linux sandbox: PR_SET_NO_NEW_PRIVS in every process, Landlock
 * for the filesystem, and a seccomp-BPF allowlist for the http process
 * only.  Landlock and seccomp are both inherited across fork and exec,
 * so spawnd gets no seccomp filter: its children could not live with
 * one.
 *
 * Landlock is used through raw syscall(2): glibc has no wrappers.  The
 * ABI the kernel reports decides which rights are handled; a kernel
 * without Landlock (not built, or disabled at boot) is logged once and
 * the process goes on with no_new_privs and seccomp.  Any other failure
 * is fatal.  Network rights are never handled: tokend connects to
 * Forgejo, spawnd's children too, and http accepts on sockets it holds.
 * Where the kernel has scopes (ABI 6), http, tokend and spawnd may not
 * signal, nor reach the abstract unix sockets of, processes outside
 * their domain; their own children are inside it.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* What Debian 12's linux-libc-dev 6.1 lacks. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset	444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule		445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self	446
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL		(1ULL << 1)	/* ABI 6 */
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG			0x7ffc0000U
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL	2
#endif

/*
 * The ruleset attribute as of ABI 6.  The 6.1 header knows only the
 * first member; the kernel accepts a longer structure as long as the
 * members it does not know are zero.
 */
struct sb_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* always 0: no net rules */
	uint64_t	scoped;
};

/* Every right of ABI 1. */
#define LL_FS_ABI1	(LANDLOCK_ACCESS_FS_EXECUTE |			\
			 LANDLOCK_ACCESS_FS_WRITE_FILE |		\
			 LANDLOCK_ACCESS_FS_READ_FILE |			\
			 LANDLOCK_ACCESS_FS_READ_DIR |			\
			 LANDLOCK_ACCESS_FS_REMOVE_DIR |		\
			 LANDLOCK_ACCESS_FS_REMOVE_FILE |		\
			 LANDLOCK_ACCESS_FS_MAKE_CHAR |			\
			 LANDLOCK_ACCESS_FS_MAKE_DIR |			\
			 LANDLOCK_ACCESS_FS_MAKE_REG |			\
			 LANDLOCK_ACCESS_FS_MAKE_SOCK |			\
			 LANDLOCK_ACCESS_FS_MAKE_FIFO |			\
			 LANDLOCK_ACCESS_FS_MAKE_BLOCK |		\
			 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* The rights a rule on something other than a directory may carry. */
#define LL_FS_FILE	(LANDLOCK_ACCESS_FS_EXECUTE |			\
			 LANDLOCK_ACCESS_FS_WRITE_FILE |		\
			 LANDLOCK_ACCESS_FS_READ_FILE |			\
			 LANDLOCK_ACCESS_FS_TRUNCATE |			\
			 LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define LL_R		(LANDLOCK_ACCESS_FS_READ_FILE |			\
			 LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_RX		(LL_R | LANDLOCK_ACCESS_FS_EXECUTE)
/* Read and write a device node; a shell's "> /dev/null" truncates. */
#define LL_DEV		(LANDLOCK_ACCESS_FS_READ_FILE |			\
			 LANDLOCK_ACCESS_FS_WRITE_FILE |		\
			 LANDLOCK_ACCESS_FS_TRUNCATE |			\
			 LANDLOCK_ACCESS_FS_IOCTL_DEV)
/* What SQLite does beneath its directory: files, journals, WAL. */
#define LL_DB		(LL_R |						\
			 LANDLOCK_ACCESS_FS_WRITE_FILE |		\
			 LANDLOCK_ACCESS_FS_TRUNCATE |			\
			 LANDLOCK_ACCESS_FS_MAKE_REG |			\
			 LANDLOCK_ACCESS_FS_REMOVE_FILE)
/* A scratch home: anything but exec, device nodes and ioctls. */
#define LL_HOME		(LL_DB |					\
			 LANDLOCK_ACCESS_FS_MAKE_DIR |			\
			 LANDLOCK_ACCESS_FS_REMOVE_DIR |		\
			 LANDLOCK_ACCESS_FS_MAKE_SOCK |			\
			 LANDLOCK_ACCESS_FS_MAKE_FIFO |			\
			 LANDLOCK_ACCESS_FS_MAKE_SYM |			\
			 LANDLOCK_ACCESS_FS_REFER)

#define LL_SCOPE	(LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET |		\
			 LANDLOCK_SCOPE_SIGNAL)

/*
 * LeakSanitizer, at exit, stops the process' threads by reading
 * /proc/self/task and /proc/self/maps; it fails the exit if it cannot.
 * Sanitizer builds let http and tokend read /proc (spawnd always may).
 */
#ifdef BROKERD_SANITIZE
#define SB_SANITIZE_PROC(rfd)	landlock_allow((rfd), "/proc", LL_R, 0)
#else
#define SB_SANITIZE_PROC(rfd)	do { } while (0)
#endif

/* Flags of landlock_allow(). */
#define LL_REQUIRED	0x01	/* a path from the configuration */

struct sb_path {
	const char	*path;
	uint64_t	 access;
};

/*
 * Name resolution through glibc: the files NSS reads and the libraries
 * it loads.  A path that does not exist is left out.
 */
static const struct sb_path tokend_paths[] = {
	{ "/etc/resolv.conf",		LL_R },
	{ "/etc/hosts",			LL_R },
	{ "/etc/nsswitch.conf",		LL_R },
	{ "/etc/gai.conf",		LL_R },
	{ "/etc/host.conf",		LL_R },
	{ "/etc/services",		LL_R },
	{ "/etc/protocols",		LL_R },
	{ "/etc/ld.so.cache",		LL_R },
	{ "/etc/localtime",		LL_R },
	{ "/lib",			LL_R },
	{ "/lib64",			LL_R },
	{ "/usr/lib",			LL_R },
	{ "/usr/lib64",			LL_R },
	{ "/usr/share/zoneinfo",	LL_R },
	{ "/dev/urandom",		LANDLOCK_ACCESS_FS_READ_FILE },
	{ "/dev/null",			LL_DEV },
	{ NULL,				0 }
};

/*
 * What a program started by spawnd needs from the system: its binaries
 * and libraries, /etc, /proc, /dev and the few /sys files runtimes read
 * to size themselves.  Not /tmp: spawnd points TMPDIR at the home.
 */
static const struct sb_path spawnd_paths[] = {
	{ "/usr",			LL_RX },
	{ "/bin",			LL_RX },
	{ "/sbin",			LL_RX },
	{ "/lib",			LL_RX },
	{ "/lib64",			LL_RX },
	{ "/etc",			LL_R },
	{ "/proc",			LL_R },
	{ "/dev",			LL_R },
	{ "/dev/null",			LL_DEV },
	{ "/dev/zero",			LL_DEV },
	{ "/dev/full",			LL_DEV },
	{ "/dev/random",		LL_DEV },
	{ "/dev/urandom",		LL_DEV },
	{ "/dev/tty",			LL_DEV },
	{ "/sys/devices/system/cpu",	LL_R },
	{ "/sys/fs/cgroup",		LL_R },
	{ "/sys/kernel/mm/transparent_hugepage", LL_R },
	{ NULL,				0 }
};

static void	 set_no_new_privs(void);
static int	 landlock_abi(void);
static int	 landlock_ruleset(uint64_t);
static void	 landlock_allow(int, const char *, uint64_t, int);
static void	 landlock_paths(int, const struct sb_path *);
static void	 landlock_resolv(int, uint64_t);
static void	 landlock_enforce(int);
static const char *landlock_describe(void);
static const char *seccomp_http(void);
static void	 describe(const char *, const char *);

static char	 sb_desc[128] = "none";
static int	 ll_abi = -1;		/* < 0 not asked, 0 not available */
static uint64_t	 ll_handled;

void
sandbox_parent(void)
{
	/*
	 * Only no_new_privs, which stops a later exec from gaining
	 * privileges: the parent stays root to signal and reap its
	 * children and their process groups, and gets neither Landlock
	 * nor a seccomp filter.
	 */
	set_no_new_privs();
	describe(NULL, NULL);
}

void
sandbox_http(void)
{
	int	 rfd;

	set_no_new_privs();

	/* Every right handled, no rule: no filesystem at all. */
	if ((rfd = landlock_ruleset(LL_SCOPE)) != -1) {
		SB_SANITIZE_PROC(rfd);
		landlock_enforce(rfd);
	}

	describe(landlock_describe(), seccomp_http());
}

void
sandbox_tokend(const char *dbdir)
{
	int	 rfd;

	if (dbdir == NULL || *dbdir == '\0')
		fatalx("sandbox: tokend needs a database directory");

	set_no_new_privs();
	if ((rfd = landlock_ruleset(LL_SCOPE)) != -1) {
		landlock_allow(rfd, dbdir, LL_DB, LL_REQUIRED);
		landlock_paths(rfd, tokend_paths);
		landlock_resolv(rfd, LANDLOCK_ACCESS_FS_READ_FILE);
		SB_SANITIZE_PROC(rfd);
		landlock_enforce(rfd);
	}
	describe(landlock_describe(), NULL);
}

void
sandbox_spawnd(const char *const *execpaths, const char *homedir)
{
	size_t	 i;
	int	 rfd;

	set_no_new_privs();
	if ((rfd = landlock_ruleset(LL_SCOPE)) != -1) {
		landlock_paths(rfd, spawnd_paths);
		landlock_resolv(rfd, LANDLOCK_ACCESS_FS_READ_FILE);
		for (i = 0; execpaths != NULL && execpaths[i] != NULL; i++)
			landlock_allow(rfd, execpaths[i], LL_RX, LL_REQUIRED);
		if (homedir != NULL)
			landlock_allow(rfd, homedir, LL_HOME, LL_REQUIRED);
		landlock_enforce(rfd);
	}
	describe(landlock_describe(), NULL);
}

const char *
sandbox_describe(void)
{
	return sb_desc;
}

static void
set_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: prctl no_new_privs");
}

/*
 * The Landlock ABI of the running kernel, asked once; 0 if it has none.
 * Sets the rights this process will handle.
 */
static int
landlock_abi(void)
{
	long	 abi;

	if (ll_abi >= 0)
		return ll_abi;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi == -1) {
		if (errno != ENOSYS && errno != EOPNOTSUPP)
			fatal("sandbox: landlock abi");
		log_warnx("sandbox: landlock unavailable (%s), "
		    "no filesystem confinement", errno == ENOSYS ?
		    "not in this kernel" : "disabled at boot");
		ll_abi = 0;
		return 0;
	}
	if (abi < 1 || abi > INT_MAX)
		fatalx("sandbox: landlock abi %ld", abi);

	ll_abi = abi;
	ll_handled = LL_FS_ABI1;
	if (ll_abi >= 2)
		ll_handled |= LANDLOCK_ACCESS_FS_REFER;
	if (ll_abi >= 3)
		ll_handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (ll_abi >= 5)
		ll_handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return ll_abi;
}

/*
 * A ruleset that handles every filesystem right the kernel knows, with
 * the given scopes where the kernel has them (ABI 6).  Returns -1 when
 * there is no Landlock.
 */
static int
landlock_ruleset(uint64_t scoped)
{
	struct sb_ruleset_attr	 attr;
	long			 fd;

	if (landlock_abi() == 0)
		return -1;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_handled;
	if (ll_abi >= 6)
		attr.scoped = scoped;
	fd = syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd == -1)
		fatal("sandbox: landlock_create_ruleset");
	return fd;
}

/*
 * Allow access beneath path, or on path itself if it is no directory.
 * Rights the kernel does not handle are dropped.  A path that cannot be
 * opened is fatal if it comes from the configuration, and otherwise
 * left out, which only confines more.
 */
static void
landlock_allow(int rfd, const char *path, uint64_t access, int flags)
{
	struct landlock_path_beneath_attr	 pb;
	struct stat				 st;
	int					 fd;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (flags & LL_REQUIRED)
			fatal("sandbox: %s", path);
		log_debug("sandbox: %s: %s, left out", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1)
		fatal("sandbox: fstat %s", path);
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE;
	access &= ll_handled;
	if (access == 0) {
		close(fd);
		return;
	}

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access;
	pb.parent_fd = fd;
	if (syscall(__NR_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1)
		fatal("sandbox: landlock_add_rule %s", path);
	close(fd);
}

static void
landlock_paths(int rfd, const struct sb_path *p)
{
	for (; p->path != NULL; p++)
		landlock_allow(rfd, p->path, p->access, 0);
}

/*
 * /etc/resolv.conf is often a link into /run, rewritten by replacing
 * the file.  The rule on the path follows the link to today's file;
 * this one covers the directory it lives in, so that a replaced file is
 * still readable.
 */
static void
landlock_resolv(int rfd, uint64_t access)
{
	char	*real, *slash;

	if ((real = realpath("/etc/resolv.conf", NULL)) == NULL)
		return;
	if (strncmp(real, "/etc/", 5) != 0 &&
	    (slash = strrchr(real, '/')) != NULL && slash != real) {
		*slash = '\0';
		landlock_allow(rfd, real, access, 0);
	}
	free(real);
}

static void
landlock_enforce(int rfd)
{
	if (syscall(__NR_landlock_restrict_self, rfd, 0) == -1)
		fatal("sandbox: landlock_restrict_self");
	close(rfd);
}

static const char *
landlock_describe(void)
{
	static char	 buf[32];

	if (ll_abi <= 0)
		return "no landlock";
	(void)snprintf(buf, sizeof(buf), "landlock abi %d", ll_abi);
	return buf;
}

/*
 * The seccomp filter of the http process.
 *
 * An allowlist in the shape of openssh's sandbox-seccomp-filter.c:
 * check the architecture, then the syscall number against a list of
 * rules, some of which look at an argument.  What libevent (epoll),
 * libtls over OpenSSL, jansson and glibc need for a network server on
 * descriptors it already holds.  Path-based calls libc makes on its own
 * (open, stat, access, readlink) and socket(2), which syslog(3) tries
 * when its connection is gone, fail with EACCES instead of killing.
 * kill and tgkill reach this process only: abort(3) and raise(3) work.
 * mmap and mprotect may not ask for PROT_EXEC.  Anything else kills the
 * process with SIGSYS.
 *
 * Built with BROKERD_SANITIZE, the sanitizer runtimes make calls of
 * their own (prctl, sched_getaffinity, readlink, clone and ptrace for
 * the leak checker at exit, ...): there the default action is
 * SECCOMP_RET_LOG, which lets the call through and leaves a line in
 * the kernel's audit log, or ENOSYS where the kernel has no such
 * action.  The path-based calls are left to Landlock, which also lets
 * the leak checker read /proc (see SB_SANITIZE_PROC).  A syscall of
 * another ABI kills in every build.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SB_AUDIT_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && !defined(__ILP32__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SB_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#endif

#ifdef SB_AUDIT_ARCH

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args) + (n) * 8)
#define SC_ARG_HI(n)	(offsetof(struct seccomp_data, args) + (n) * 8 + 4)
#else
#define SC_ARG_LO(n)	(offsetof(struct seccomp_data, args) + (n) * 8 + 4)
#define SC_ARG_HI(n)	(offsetof(struct seccomp_data, args) + (n) * 8)
#endif

#define SC_LOAD(off)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define SC_LOAD_NR	SC_LOAD(offsetof(struct seccomp_data, nr))
#define SC_RET(action)	BPF_STMT(BPF_RET | BPF_K, (action))
#define SC_JEQ(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))

/* Allow a syscall. */
#define SC_ALLOW(nr)							\
	SC_JEQ((nr), 0, 1),						\
	SC_RET(SECCOMP_RET_ALLOW)
/* Fail a syscall with an errno. */
#define SC_ERRNO(nr, e)							\
	SC_JEQ((nr), 0, 1),						\
	SC_RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
/*
 * Allow a syscall if an argument the kernel takes as a 32-bit int has
 * a value, else go on down the list.
 */
#define SC_ALLOW_ARG(nr, n, v)						\
	SC_JEQ((nr), 0, 4),						\
	SC_LOAD(SC_ARG_LO(n)),						\
	SC_JEQ((uint32_t)(v), 0, 1),					\
	SC_RET(SECCOMP_RET_ALLOW),					\
	SC_LOAD_NR
/* Allow a syscall if a 64-bit argument (a pointer) is zero. */
#define SC_ALLOW_ARG_NULL(nr, n)					\
	SC_JEQ((nr), 0, 6),						\
	SC_LOAD(SC_ARG_LO(n)),						\
	SC_JEQ(0, 0, 3),						\
	SC_LOAD(SC_ARG_HI(n)),						\
	SC_JEQ(0, 0, 1),						\
	SC_RET(SECCOMP_RET_ALLOW),					\
	SC_LOAD_NR
/* Allow a syscall if none of bits is set in an argument's low half. */
#define SC_ALLOW_ARG_NOBITS(nr, n, bits)				\
	SC_JEQ((nr), 0, 4),						\
	SC_LOAD(SC_ARG_LO(n)),						\
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (bits), 1, 0),		\
	SC_RET(SECCOMP_RET_ALLOW),					\
	SC_LOAD_NR

static int	 seccomp_action_avail(uint32_t);
static void	 seccomp_install(uint32_t, uint32_t, uint32_t);

static int
seccomp_action_avail(uint32_t action)
{
	return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0,
	    &action) == 0;
}

/*
 * killact ends the process on a syscall of another ABI, in every build;
 * fail is what a syscall off the list gets.
 */
static void
seccomp_install(uint32_t killact, uint32_t fail, uint32_t pid)
{
	struct sock_filter	 filter[] = {
		/* The syscall ABI this program was built for, only. */
		SC_LOAD(offsetof(struct seccomp_data, arch)),
		SC_JEQ(SB_AUDIT_ARCH, 1, 0),
		SC_RET(killact),
		SC_LOAD_NR,
#ifdef __X32_SYSCALL_BIT
		/* x32 syscalls share the x86_64 audit arch. */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
		SC_RET(killact),
#endif

		/* Descriptors: I/O on what the process holds. */
		SC_ALLOW(__NR_read),
		SC_ALLOW(__NR_write),
		SC_ALLOW(__NR_readv),
		SC_ALLOW(__NR_writev),
		SC_ALLOW(__NR_pread64),
		SC_ALLOW(__NR_lseek),
		SC_ALLOW(__NR_close),
		SC_ALLOW(__NR_fcntl),
		SC_ALLOW(__NR_dup),
#ifdef __NR_dup2
		SC_ALLOW(__NR_dup2),
#endif
		SC_ALLOW(__NR_dup3),
#ifdef __NR_pipe
		SC_ALLOW(__NR_pipe),
#endif
		SC_ALLOW(__NR_pipe2),
#ifdef __NR_eventfd
		SC_ALLOW(__NR_eventfd),
#endif
		SC_ALLOW(__NR_eventfd2),
#ifdef __NR_fstat
		SC_ALLOW(__NR_fstat),
#endif
#ifdef __NR_newfstatat
		/* glibc 2.33 on: fstat(fd) is fstatat(fd, "", AT_EMPTY_PATH) */
		SC_ALLOW_ARG(__NR_newfstatat, 3, AT_EMPTY_PATH),
		SC_ERRNO(__NR_newfstatat, EACCES),
#endif
		/* isatty(3) from stdio, and libevent's FIONREAD. */
		SC_ALLOW_ARG(__NR_ioctl, 1, FIONREAD),
		SC_ALLOW_ARG(__NR_ioctl, 1, FIONBIO),
		SC_ALLOW_ARG(__NR_ioctl, 1, TCGETS),
		SC_ERRNO(__NR_ioctl, ENOTTY),

		/* Sockets it holds: accept, talk, pass descriptors. */
#ifdef __NR_accept
		SC_ALLOW(__NR_accept),
#endif
		SC_ALLOW(__NR_accept4),
		SC_ALLOW(__NR_recvfrom),
		SC_ALLOW(__NR_sendto),
		SC_ALLOW(__NR_recvmsg),
		SC_ALLOW(__NR_sendmsg),
		SC_ALLOW(__NR_shutdown),
		SC_ALLOW(__NR_getsockopt),
		SC_ALLOW(__NR_setsockopt),
		SC_ALLOW(__NR_getsockname),
		SC_ALLOW(__NR_getpeername),
		SC_ALLOW(__NR_socketpair),
		SC_ERRNO(__NR_socket, EACCES),

		/* Event loops. */
#ifdef __NR_epoll_create
		SC_ALLOW(__NR_epoll_create),
#endif
		SC_ALLOW(__NR_epoll_create1),
		SC_ALLOW(__NR_epoll_ctl),
#ifdef __NR_epoll_wait
		SC_ALLOW(__NR_epoll_wait),
#endif
		SC_ALLOW(__NR_epoll_pwait),
#ifdef __NR_epoll_pwait2
		SC_ALLOW(__NR_epoll_pwait2),
#endif
#ifdef __NR_poll
		SC_ALLOW(__NR_poll),
#endif
		SC_ALLOW(__NR_ppoll),
#ifdef __NR_select
		SC_ALLOW(__NR_select),
#endif
		SC_ALLOW(__NR_pselect6),

		/* Time, identity, randomness. */
		SC_ALLOW(__NR_clock_gettime),
		SC_ALLOW(__NR_clock_getres),
		SC_ALLOW(__NR_gettimeofday),
#ifdef __NR_time
		SC_ALLOW(__NR_time),
#endif
		SC_ALLOW(__NR_nanosleep),
		SC_ALLOW(__NR_clock_nanosleep),
		SC_ALLOW(__NR_getpid),
		SC_ALLOW(__NR_gettid),
		SC_ALLOW(__NR_getppid),
		SC_ALLOW(__NR_getuid),
		SC_ALLOW(__NR_geteuid),
		SC_ALLOW(__NR_getgid),
		SC_ALLOW(__NR_getegid),
		SC_ALLOW(__NR_getrandom),
		SC_ALLOW(__NR_getrusage),
		SC_ALLOW(__NR_sysinfo),
		SC_ALLOW(__NR_sched_yield),
		SC_ALLOW_ARG_NULL(__NR_prlimit64, 2),	/* getrlimit only */

		/* Memory, never executable. */
		SC_ALLOW(__NR_brk),
		SC_ALLOW_ARG_NOBITS(__NR_mmap, 2, PROT_EXEC),
		SC_ALLOW_ARG_NOBITS(__NR_mprotect, 2, PROT_EXEC),
		SC_ALLOW(__NR_munmap),
		SC_ALLOW(__NR_mremap),
		SC_ALLOW(__NR_madvise),
		SC_ALLOW(__NR_futex),

		/* Signals, to itself only, and the way out. */
		SC_ALLOW(__NR_rt_sigaction),
		SC_ALLOW(__NR_rt_sigprocmask),
		SC_ALLOW(__NR_rt_sigreturn),
		SC_ALLOW(__NR_sigaltstack),
		SC_ALLOW_ARG(__NR_kill, 0, pid),
		SC_ALLOW_ARG(__NR_tgkill, 0, pid),
		SC_ALLOW_ARG(__NR_tkill, 0, pid),
		SC_ALLOW(__NR_restart_syscall),
		SC_ALLOW(__NR_exit),
		SC_ALLOW(__NR_exit_group),

#ifndef BROKERD_SANITIZE
		/* The filesystem is Landlock's, but say no politely. */
#ifdef __NR_open
		SC_ERRNO(__NR_open, EACCES),
#endif
		SC_ERRNO(__NR_openat, EACCES),
#ifdef __NR_openat2
		SC_ERRNO(__NR_openat2, EACCES),
#endif
#ifdef __NR_creat
		SC_ERRNO(__NR_creat, EACCES),
#endif
#ifdef __NR_stat
		SC_ERRNO(__NR_stat, EACCES),
#endif
#ifdef __NR_lstat
		SC_ERRNO(__NR_lstat, EACCES),
#endif
		SC_ERRNO(__NR_statx, EACCES),
#ifdef __NR_access
		SC_ERRNO(__NR_access, EACCES),
#endif
		SC_ERRNO(__NR_faccessat, EACCES),
#ifdef __NR_faccessat2
		SC_ERRNO(__NR_faccessat2, EACCES),
#endif
#ifdef __NR_readlink
		SC_ERRNO(__NR_readlink, EACCES),
#endif
		SC_ERRNO(__NR_readlinkat, EACCES),
#endif

		SC_RET(fail)
	};
	struct sock_fprog	 prog;

	memset(&prog, 0, sizeof(prog));
	prog.len = sizeof(filter) / sizeof(filter[0]);
	prog.filter = filter;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1)
		fatal("sandbox: seccomp filter");
}

static const char *
seccomp_http(void)
{
	const char	*what;
	uint32_t	 killact, fail;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1 && errno == EINVAL) {
		log_warnx("sandbox: seccomp unavailable in this kernel");
		return "no seccomp";
	}

	/* Before Linux 4.14 only the thread dies: there is one. */
	killact = SECCOMP_RET_KILL_PROCESS;
	if (!seccomp_action_avail(killact))
		killact = SECCOMP_RET_KILL_THREAD;
#ifdef BROKERD_SANITIZE
	fail = SECCOMP_RET_LOG;
	what = "seccomp filter (log only)";
	if (!seccomp_action_avail(fail)) {
		fail = SECCOMP_RET_ERRNO | ENOSYS;
		what = "seccomp filter (enosys, no kill)";
	}
#else
	fail = killact;
	what = "seccomp filter";
#endif
	seccomp_install(killact, fail, getpid());
	return what;
}

#else /* !SB_AUDIT_ARCH */

static const char *
seccomp_http(void)
{
	log_warnx("sandbox: no seccomp filter for this architecture");
	return "no seccomp";
}

#endif /* SB_AUDIT_ARCH */

static void
describe(const char *landlock, const char *seccomp)
{
	(void)snprintf(sb_desc, sizeof(sb_desc), "%s%s%s%sno_new_privs",
	    landlock != NULL ? landlock : "", landlock != NULL ? ", " : "",
	    seccomp != NULL ? seccomp : "", seccomp != NULL ? ", " : "");
}
