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
 * One sandbox function per process role.  Each is called once, after
 * the process has chrooted (where it does), dropped privileges and
 * opened everything it will ever open.  The implementation lives in one
 * file per platform: sandbox_openbsd.c (pledge, unveil), sandbox_linux.c
 * (no_new_privs, Landlock, seccomp) and sandbox_none.c (nothing).
 * A step the system supports but refuses is fatal: no process runs
 * unconfined by accident.
 */

#ifndef SANDBOX_H
#define SANDBOX_H

/*
 * brokerd parent, once every child runs: it may still signal and reap
 * its children and pass descriptors, and nothing else it needs after
 * start-up.  On Linux this is only no_new_privs.
 */
void	sandbox_parent(void);

/*
 * brokerd http: no filesystem at all.  It works on descriptors it
 * already holds or receives: accept on listening sockets (already
 * listening), read, write, sendmsg and recvmsg with descriptors, the
 * poll and epoll families, time, random bytes and memory.  It may not
 * create sockets, open files or exec.
 */
void	sandbox_http(void);

/*
 * tokend: read, write, create and remove files beneath dbdir only;
 * read the few files name resolution needs (resolv.conf, hosts,
 * nsswitch.conf, gai.conf, the NSS libraries) and /dev/urandom;
 * create sockets and connect out.  CA certificates must be in memory
 * already.  SQLite must keep its temporary files in memory or in dbdir.
 */
void	sandbox_tokend(const char *);

/*
 * spawnd: fork and exec the programs named in the NULL-terminated
 * execpaths (files or directories), as any program from the system
 * directories; read /etc, /proc and /dev; read and write homedir
 * (which may be NULL).  The database directory stays out of reach.
 * The children inherit all of it, so it is what they get too.
 */
void	sandbox_spawnd(const char *const *, const char *);

/* What the last sandbox_*() call applied, for one log line. */
const char *sandbox_describe(void);

#endif /* SANDBOX_H */
