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
 * The OpenBSD sandbox: unveil(2), then pledge(2).  A violation of
 * either kills the process, which takes the whole daemon down with it.
 * unveil is not inherited across exec; pledge's execpromises are, and
 * spawnd passes none, so its children run unpledged.
 */

#include <sys/types.h>

#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

static void	 sb_unveil(const char *, const char *);
static void	 sb_unveil_lock(void);
static void	 sb_pledge(const char *);

/* Name resolution, as the dns promise reads it. */
static const char *const dns_files[] = {
	"/etc/resolv.conf",
	"/etc/hosts",
	"/etc/services",
	"/etc/protocols",
	NULL
};

static const char	*sb_desc = "none";

void
sandbox_parent(void)
{
	/* Signal and reap the children, pass them descriptors. */
	sb_pledge("stdio proc sendfd");
	sb_desc = "pledge";
}

void
sandbox_http(void)
{
	/*
	 * Hide the whole filesystem.  inet for the sockets it accepts on,
	 * recvfd and sendfd for descriptors to and from its peers.
	 */
	sb_unveil("/", "");
	sb_unveil_lock();
	sb_pledge("stdio inet recvfd sendfd");
	sb_desc = "pledge, unveil";
}

void
sandbox_tokend(const char *dbdir)
{
	size_t	 i;

	if (dbdir == NULL || *dbdir == '\0')
		fatalx("sandbox: tokend needs a database directory");

	sb_unveil(dbdir, "rwc");
	for (i = 0; dns_files[i] != NULL; i++)
		sb_unveil(dns_files[i], "r");
	/* SQLite seeds itself from here. */
	sb_unveil("/dev/urandom", "r");
	sb_unveil_lock();
	sb_pledge("stdio rpath wpath cpath flock fattr inet dns");
	sb_desc = "pledge, unveil";
}

void
sandbox_spawnd(const char *const *execpaths, const char *homedir)
{
	size_t	 i;

	/*
	 * Exec only the configured programs; an interpreter named on a
	 * #! line must be in the list too.  The children get their own
	 * view of the filesystem: unveil ends at exec.
	 */
	for (i = 0; execpaths != NULL && execpaths[i] != NULL; i++)
		sb_unveil(execpaths[i], "x");
	sb_unveil("/dev/null", "rw");
	if (homedir != NULL)
		sb_unveil(homedir, "rwc");
	sb_unveil_lock();
	if (homedir != NULL)
		sb_pledge("stdio rpath wpath cpath proc exec id sendfd recvfd");
	else
		sb_pledge("stdio rpath wpath proc exec id sendfd recvfd");
	sb_desc = "pledge, unveil";
}

const char *
sandbox_describe(void)
{
	return sb_desc;
}

static void
sb_unveil(const char *path, const char *permissions)
{
	if (unveil(path, permissions) == -1)
		fatal("sandbox: unveil %s", path);
}

static void
sb_unveil_lock(void)
{
	if (unveil(NULL, NULL) == -1)
		fatal("sandbox: unveil lock");
}

static void
sb_pledge(const char *promises)
{
	if (pledge(promises, NULL) == -1)
		fatal("sandbox: pledge");
}
