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
 * No sandbox on this platform: the processes are only separated and,
 * where they run as root, dropped to the configured user.  Say so once.
 */

#include <stddef.h>

#include "log.h"
#include "sandbox.h"

static void	 sb_none(void);

void
sandbox_parent(void)
{
	sb_none();
}

void
sandbox_http(void)
{
	sb_none();
}

void
sandbox_tokend(const char *dbdir)
{
	sb_none();
}

void
sandbox_spawnd(const char *const *execpaths, const char *homedir)
{
	sb_none();
}

const char *
sandbox_describe(void)
{
	return "none";
}

static void
sb_none(void)
{
	static int	 warned;

	if (!warned) {
		log_warnx("sandbox: none on this platform, the process runs "
		    "unconfined");
		warned = 1;
	}
}
