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

#ifndef TOKEND_H
#define TOKEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The number of migrations this tokend knows, migrations/0001 up to this
 * one.  Adding a migration means adding its file and bumping this number;
 * the generated migrations.c refuses to compile until both agree.
 */
#define TOKEND_MIGRATIONS	3

/* One migrations/NNNN_name.sql, embedded by tokend/mkmigrations.sh. */
struct migration {
	int		 version;	/* NNNN */
	const char	*name;		/* name */
	const char	*sql;		/* the whole file */
};

/* migrations.c, generated */
extern const struct migration	migrations[];
extern const size_t		nmigrations;

#include "proto.h"

struct imsg;
struct imsgev;

struct tokend_env {
	struct cfg_tokend	 cfg;
	struct imsgev		*iev[PROC_MAX];
	int			 configured;
};

/* tokend.c */
extern struct tokend_env	 tokend_env;

/*
 * forgejo.c: tokend's client of Forgejo's OAuth2 provider and API.
 * Every call is asynchronous on tokend's event loop, bounded by
 * FORGEJO_TIMEOUT, and reports exactly once through its callback.
 * Tokens handed to a callback live in buffers that are cleared after
 * the callback returns: copy what you keep.
 */
#define FORGEJO_TIMEOUT		10		/* seconds, whole request */
#define FORGEJO_TOKEN_MAX	4096		/* Forgejo's JWTs: ~850 bytes */
#define FORGEJO_ANSWER_MAX	(1024 * 1024)

enum forgejo_result {
	FORGEJO_OK,
	FORGEJO_REFUSED,	/* an OAuth error, or 401/403 from the API */
	FORGEJO_UNAVAILABLE,	/* unreachable, timed out, or 5xx */
	FORGEJO_BAD_ANSWER	/* an answer that is not what Forgejo says */
};

struct forgejo_tokens {
	char		 access_token[FORGEJO_TOKEN_MAX];
	char		 refresh_token[FORGEJO_TOKEN_MAX];
	int64_t		 expires_at;	/* absolute, from expires_in */
};

struct forgejo_user {
	int64_t		 id;
	char		 login[256];
};

/* error: the OAuth "error" code when refused, else "" */
typedef void	(*forgejo_tokens_cb)(enum forgejo_result, const char *,
		    const struct forgejo_tokens *, void *);
typedef void	(*forgejo_user_cb)(enum forgejo_result,
		    const struct forgejo_user *, void *);

void	 forgejo_init(const struct cfg_tokend *);
int	 forgejo_authorize_url(char *, size_t, const char *, const char *);
void	 forgejo_exchange_code(const char *, const char *, forgejo_tokens_cb,
	    void *);
void	 forgejo_refresh(const char *, forgejo_tokens_cb, void *);
void	 forgejo_get_user(const char *, forgejo_user_cb, void *);
const char *forgejo_result_str(enum forgejo_result);
void	 forgejo_set_timeout(int);	/* regress only; 0: FORGEJO_TIMEOUT */

/*
 * session.c: the IMSG_SESSION_* of the http process, and the two ways a
 * session's open is answered: a spawn request to spawnd, or a failure
 * to http.
 */
void	 session_open(struct imsg *);
void	 session_gone(struct imsg *);
void	 session_spawn(const char *, const char *, int64_t, const char *,
	    const char *, int64_t);
void	 session_fail(const char *, int, const char *);

/*
 * lifecycle.c: the Forgejo tokens of grants with live sessions, kept
 * fresh.  lifecycle_tick() is what the timer runs every LIFECYCLE_TICK
 * seconds; lifecycle_grant_revoked() is called wherever a grant's
 * broker tokens are revoked, and ends its sessions.
 */
#define LIFECYCLE_TICK		1	/* seconds */
#define LIFECYCLE_MARGIN	300	/* seconds, if none is configured */
#define LIFECYCLE_BACKOFF_MAX	60	/* seconds between refresh attempts */

void	 lifecycle_init(void);
void	 lifecycle_tick(void);
void	 lifecycle_session_open(const struct session_open *);
void	 lifecycle_session_gone(const char *);
void	 lifecycle_grant_revoked(const char *);

/*
 * oauth.c: the authorization server's state.  oauth_dispatch() takes
 * the IMSG_OAUTH_* and IMSG_AUTH_* requests of the http process and
 * returns 0 for any other type.
 */
void	 oauth_init(void);
int	 oauth_dispatch(struct imsgev *, struct imsg *);

/*
 * Also oauth.c: oauth_reap() is what the reaper timer runs once a
 * minute; oauth_now() is the clock of every expiry decision, which a
 * test moves with oauth_set_clock_offset() instead of sleeping.
 */
void	 oauth_reap(void);
time_t	 oauth_now(void);
void	 oauth_set_clock_offset(long);

/* db.c */
struct sqlite3;
struct sqlite3_stmt;

int		 db_open(const char *);
void		 db_close(void);
int		 db_schema_version(int64_t *);
struct sqlite3	*db_handle(void);
int		 db_begin(void);
int		 db_commit(void);
void		 db_rollback(void);
struct sqlite3_stmt *db_prepare(const char *, const char *, ...);
int		 db_run(const char *, const char *, ...);
int		 db_step(struct sqlite3_stmt *);
int		 db_grant_revoke(const char *, int64_t);

#endif /* TOKEND_H */
