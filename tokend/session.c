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
 * Sessions, tokend's part: the messages of the http process about MCP
 * sessions, handed to lifecycle.c, and the answers to an open: the
 * grant's Forgejo token to spawnd, or a failure to http.  IMSG_SPAWN
 * here and IMSG_TOKEN_UPDATE in lifecycle.c are the only messages that
 * take a Forgejo token out of tokend.
 */

#include <sys/types.h>

#include <stdint.h>
#include <string.h>

#include "log.h"
#include "proc.h"
#include "tokend.h"

void
session_fail(const char *session_id, int status, const char *reason)
{
	struct session_fail	 sf;

	memset(&sf, 0, sizeof(sf));
	strlcpy(sf.session_id, session_id, sizeof(sf.session_id));
	sf.status = status;
	strlcpy(sf.reason, reason, sizeof(sf.reason));
	if (imsg_compose_event(tokend_env.iev[PROC_HTTP], IMSG_SESSION_FAIL,
	    0, -1, &sf, sizeof(sf)) == -1)
		fatal("%s", __func__);
}

/* Ask spawnd for the session's child, with the token in its request. */
void
session_spawn(const char *session_id, const char *grant_id, int64_t user_id,
    const char *username, const char *token, int64_t expires_at)
{
	struct spawn_req	 req;

	memset(&req, 0, sizeof(req));
	strlcpy(req.session_id, session_id, sizeof(req.session_id));
	strlcpy(req.grant_id, grant_id, sizeof(req.grant_id));
	strlcpy(req.username, username, sizeof(req.username));
	req.user_id = user_id;
	if (strlcpy(req.forgejo_token, token, sizeof(req.forgejo_token)) >=
	    sizeof(req.forgejo_token)) {
		explicit_bzero(&req, sizeof(req));
		log_warnx("user %s: forgejo token too long", username);
		session_fail(session_id, 503, "the token store failed");
		return;
	}
	req.token_expires_at = expires_at;
	if (imsg_compose_event(tokend_env.iev[PROC_SPAWND], IMSG_SPAWN, 0, -1,
	    &req, sizeof(req)) == -1)
		fatal("%s", __func__);
	explicit_bzero(&req, sizeof(req));
}

void
session_open(struct imsg *imsg)
{
	struct session_open	 so;

	if (imsg_get_data(imsg, &so, sizeof(so)) == -1)
		fatalx("%s: bad IMSG_SESSION_OPEN", __func__);
	so.session_id[sizeof(so.session_id) - 1] = '\0';
	so.grant_id[sizeof(so.grant_id) - 1] = '\0';
	so.username[sizeof(so.username) - 1] = '\0';
	lifecycle_session_open(&so);
}

void
session_gone(struct imsg *imsg)
{
	struct session_gone	 sg;

	if (imsg_get_data(imsg, &sg, sizeof(sg)) == -1)
		fatalx("%s: bad IMSG_SESSION_GONE", __func__);
	sg.session_id[sizeof(sg.session_id) - 1] = '\0';
	sg.grant_id[sizeof(sg.grant_id) - 1] = '\0';
	lifecycle_session_gone(sg.session_id);
}
