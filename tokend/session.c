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
 * Sessions, tokend's part: find the Forgejo token of the grant behind
 * a session and hand it to spawnd.  This is the only place a Forgejo
 * token leaves tokend.
 */

#include <sys/types.h>

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "proc.h"
#include "tokend.h"

static void	 session_fail(const char *, int, const char *);

static void
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

/*
 * The newest live token of the grant, for the user who asked.  Returns
 * 1 and fills req, 0 if the grant has none, -1 on a database error.
 */
static int
session_grant_token(const struct session_open *so, struct spawn_req *req)
{
	static const char	 sql[] =
	    "SELECT forgejo_access_token, forgejo_token_expires_at"
	    " FROM access_tokens WHERE grant_id = ?1 AND forgejo_user_id = ?2"
	    " AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1";
	sqlite3_stmt		*st;
	const unsigned char	*tok;
	int			 rc, ret = -1;

	if (sqlite3_prepare_v2((sqlite3 *)db_handle(), sql, -1, &st,
	    NULL) != SQLITE_OK) {
		log_warnx("%s: %s", __func__,
		    sqlite3_errmsg((sqlite3 *)db_handle()));
		return -1;
	}
	sqlite3_bind_text(st, 1, so->grant_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, so->user_id);
	switch (rc = sqlite3_step(st)) {
	case SQLITE_ROW:
		tok = sqlite3_column_text(st, 0);
		if (tok == NULL || strlcpy(req->forgejo_token,
		    (const char *)tok, sizeof(req->forgejo_token)) >=
		    sizeof(req->forgejo_token)) {
			log_warnx("%s: unusable forgejo token", __func__);
			break;
		}
		req->token_expires_at = sqlite3_column_int64(st, 1);
		ret = 1;
		break;
	case SQLITE_DONE:
		ret = 0;
		break;
	default:
		log_warnx("%s: %s", __func__,
		    sqlite3_errmsg((sqlite3 *)db_handle()));
	}
	sqlite3_finalize(st);
	return ret;
}

void
session_open(struct imsg *imsg)
{
	struct session_open	 so;
	struct spawn_req	 req;

	if (imsg_get_data(imsg, &so, sizeof(so)) == -1)
		fatalx("%s: bad IMSG_SESSION_OPEN", __func__);
	so.session_id[sizeof(so.session_id) - 1] = '\0';
	so.grant_id[sizeof(so.grant_id) - 1] = '\0';
	so.username[sizeof(so.username) - 1] = '\0';

	memset(&req, 0, sizeof(req));
	switch (session_grant_token(&so, &req)) {
	case 1:
		break;
	case 0:
		log_info("user %s: grant has no live token, no session",
		    so.username);
		session_fail(so.session_id, 401, "the grant is no longer "
		    "valid");
		return;
	default:
		session_fail(so.session_id, 503, "the token store failed");
		return;
	}
	strlcpy(req.session_id, so.session_id, sizeof(req.session_id));
	strlcpy(req.username, so.username, sizeof(req.username));
	req.user_id = so.user_id;
	if (imsg_compose_event(tokend_env.iev[PROC_SPAWND], IMSG_SPAWN, 0, -1,
	    &req, sizeof(req)) == -1)
		fatal("%s", __func__);
	explicit_bzero(&req, sizeof(req));
}
