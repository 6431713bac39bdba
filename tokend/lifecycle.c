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
 * The life of the users' Forgejo tokens while MCP sessions use them.
 *
 * An MCP server reads its Forgejo token once, at start, and Forgejo's
 * access tokens live an hour.  So tokend refreshes a token the margin
 * (forgejo refresh margin) before it expires, stores the new pair, and
 * hands the new access token to spawnd, which replaces the children of
 * every session that uses it.  Only grants with live sessions are
 * watched: http says when a session opens (IMSG_SESSION_OPEN) and when
 * it ends (IMSG_SESSION_GONE), and a small table here remembers them.
 *
 * Whose token.  brokerd is one OAuth2 application at Forgejo, and
 * Forgejo keeps one grant per user and application: every login of a
 * user, through any MCP client, and every refresh move that grant's
 * counter on, and only the refresh token carrying the current counter
 * is accepted.  So the Forgejo token pairs of all the broker grants of
 * one user are generations of one upstream grant, and the refresh
 * state (in flight, backoff) is kept per user.  A refresh always starts
 * from the user's newest pair; its result replaces that pair and every
 * older one, in every broker grant of the user; a newer pair (a login
 * meanwhile) is never overwritten, and is taken over by the other
 * grants instead of a refresh when it is fresh enough.
 *
 * Refreshes are serialised per user: never two in flight, since each
 * would invalidate the other.  The new pair is stored in one
 * transaction; until it commits, the old pair is what every reader
 * sees.  A pair that cannot be stored (a database error) is kept here
 * and stored by the next tick, since Forgejo has already invalidated
 * the old refresh token.
 *
 * When Forgejo refuses the refresh (the user revoked brokerd there, or
 * the grant is gone), every broker grant holding that pair or an older
 * one is revoked.  When Forgejo cannot be reached, answers garbage or
 * refuses brokerd's own client credentials (invalid_client: a broken
 * configuration, not the user's doing), the refresh is tried again
 * after 1, 2, 4, ... LIFECYCLE_BACKOFF_MAX seconds; once the token has
 * expired meanwhile, http is told the grant is stale.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "proc.h"
#include "tokend.h"
#include "util.h"

#define LC_GRANT_ID_MAX		65

/* A user's upstream state: what is shared by all their broker grants. */
struct lc_user {
	TAILQ_ENTRY(lc_user)	 entry;
	int64_t			 user_id;
	char			 username[PROTO_NAME_MAX];
	int			 ngrants;	/* in the table */
	int			 busy;		/* in use up the stack */
	int			 refreshing;	/* a refresh in flight */
	int			 backoff;	/* seconds; 0: none */
	int64_t			 next_attempt;	/* oauth_now() */
	int64_t			 lifetime;	/* of the last pair obtained */
	struct forgejo_tokens	*unsaved;	/* obtained, not yet stored */
	int64_t			 unsaved_over;	/* it replaces pairs up to */
};

/* A broker grant with sessions. */
struct lc_grant {
	TAILQ_ENTRY(lc_grant)	 entry;
	char			 grant_id[LC_GRANT_ID_MAX];
	struct lc_user		*user;
	int			 nsessions;	/* waiting ones included */
	int			 nwaiting;	/* for a refresh, no child */
	int64_t			 expires_at;	/* of its children's token */
	char			 fp[SHA256_HEX_LEN];	/* that token's hash */
	int			 stale;		/* http was told */
};

struct lc_session {
	TAILQ_ENTRY(lc_session)	 entry;
	char			 session_id[PROTO_SESSION_MAX];
	struct lc_grant		*grant;
	int			 waiting;
};

/* A Forgejo pair as stored: secrets, cleared after use. */
struct lc_pair {
	char			 access[FORGEJO_TOKEN_MAX];
	char			 refresh[FORGEJO_TOKEN_MAX];
	int64_t			 expires_at;
};

/* A refresh in flight: the pair it started from. */
struct lc_refresh {
	struct lc_user		*user;
	char			 refresh[FORGEJO_TOKEN_MAX];
	int64_t			 expires_at;
};

TAILQ_HEAD(lc_users, lc_user);
TAILQ_HEAD(lc_grants, lc_grant);
TAILQ_HEAD(lc_sessions, lc_session);

static void	 lc_timer(int, short, void *);
static int64_t	 lc_margin(const struct lc_user *);
static void	 lc_user_check(struct lc_user *, int64_t);
static void	 lc_renew(struct lc_user *);
static void	 lc_refresh_done(enum forgejo_result, const char *,
		    const struct forgejo_tokens *, void *);
static int	 lc_store(struct lc_user *);
static void	 lc_refreshed(struct lc_user *, int64_t);
static void	 lc_refused(struct lc_user *, const struct lc_refresh *,
		    const char *);
static void	 lc_failed(struct lc_user *, enum forgejo_result,
		    const char *);
static int	 lc_adopt(struct lc_user *, const struct lc_pair *,
		    const char *);
static void	 lc_notify(struct lc_user *);
static void	 lc_settle(struct lc_user *);
static void	 lc_spawn(struct lc_session *, const struct lc_pair *);
static void	 lc_stale(struct lc_grant *, int);
static int	 lc_grant_pair(const char *, int64_t, struct lc_pair *);
static int	 lc_user_pair(int64_t, int64_t, const char *,
		    struct lc_pair *);
static int	 lc_grant_alive(const char *, int64_t);
static int	 lc_revoke_upto(struct lc_user *, int64_t, char **, size_t *);

static struct lc_user	*lc_user_get(int64_t, const char *);
static void	 lc_user_release(struct lc_user *);
static struct lc_grant	*lc_grant_find(const char *);
static struct lc_session *lc_session_find(const char *);
static void	 lc_session_free(struct lc_session *);
static void	 lc_grant_free(struct lc_grant *);
static int	 lc_spawned(const struct lc_grant *);
static void	 lc_send(enum proc_id, uint32_t, const void *, size_t);
static const char *lc_loggable(const char *);

static int	 lc_pair_row(sqlite3_stmt *, struct lc_pair *);

static struct lc_users		 users = TAILQ_HEAD_INITIALIZER(users);
static struct lc_grants		 grants = TAILQ_HEAD_INITIALIZER(grants);
static struct lc_sessions	 sessions = TAILQ_HEAD_INITIALIZER(sessions);
static struct event		 tick_ev;

void
lifecycle_init(void)
{
	struct timeval	 tv = { LIFECYCLE_TICK, 0 };

	evtimer_set(&tick_ev, lc_timer, NULL);
	evtimer_add(&tick_ev, &tv);
}

static void
lc_timer(int fd, short event, void *arg)
{
	struct timeval	 tv = { LIFECYCLE_TICK, 0 };

	lifecycle_tick();
	evtimer_add(&tick_ev, &tv);
}

/*
 * What the timer does every second: store what could not be stored,
 * end the sessions of grants without a live broker token (expired, or
 * their client pruned), and refresh what is about to expire.
 */
void
lifecycle_tick(void)
{
	struct lc_user	*u, *unext;
	struct lc_grant	*g, *gnext;
	int64_t		 now = oauth_now();
	int		 rc;

	TAILQ_FOREACH(u, &users, entry) {
		if (u->unsaved == NULL || u->refreshing)
			continue;
		u->busy++;
		if (lc_store(u) == 0)
			lc_refreshed(u, now);
		u->busy--;
	}

	for (g = TAILQ_FIRST(&grants); g != NULL; g = gnext) {
		gnext = TAILQ_NEXT(g, entry);
		if ((rc = lc_grant_alive(g->grant_id, now)) != 0)
			continue;
		log_info("user %s: grant %.8s has no live token left, ending "
		    "its sessions", g->user->username, g->grant_id);
		lifecycle_grant_revoked(g->grant_id);
	}

	for (u = TAILQ_FIRST(&users); u != NULL; u = unext) {
		unext = TAILQ_NEXT(u, entry);
		lc_user_check(u, now);
	}
}

/*
 * How long before expiry a token is refreshed: the configured margin,
 * but no more than half the lifetime of the tokens Forgejo hands out,
 * lest a short-lived token be refreshed on every tick.
 */
static int64_t
lc_margin(const struct lc_user *u)
{
	int64_t	 m = tokend_env.cfg.refresh_margin;

	if (m == 0)
		m = LIFECYCLE_MARGIN;
	if (u->lifetime > 0 && m > u->lifetime / 2)
		m = u->lifetime / 2;
	return m;
}

static void
lc_user_check(struct lc_user *u, int64_t now)
{
	struct lc_grant	*g;
	int		 need = 0;

	if (u->ngrants == 0) {
		lc_user_release(u);
		return;
	}
	TAILQ_FOREACH(g, &grants, entry) {
		if (g->user != u)
			continue;
		if (g->expires_at - now <= lc_margin(u))
			need = 1;
		/* Expired while Forgejo is away: http answers 503. */
		if (!u->refreshing && u->backoff > 0 && !g->stale &&
		    g->expires_at <= now)
			lc_stale(g, (int)(u->next_attempt > now ?
			    u->next_attempt - now : 1));
	}
	if (need && !u->refreshing && u->unsaved == NULL &&
	    now >= u->next_attempt)
		lc_renew(u);
}

/*
 * Get the user a fresh token: take over a newer pair of another login
 * if it is fresh enough, else ask Forgejo.  Sessions waiting for it are
 * settled here or when the refresh is done.  u may be gone on return.
 */
static void
lc_renew(struct lc_user *u)
{
	struct lc_refresh	*r;
	struct lc_pair		 n;
	int64_t			 now = oauth_now();
	int			 rc;

	u->busy++;
	if ((rc = lc_user_pair(u->user_id, now, NULL, &n)) != 1) {
		if (rc == 0)
			log_info("user %s: no forgejo token left to refresh",
			    u->username);
		lc_settle(u);
		goto done;
	}
	if (n.expires_at - now > lc_margin(u)) {
		if (lc_adopt(u, &n, NULL) == -1)
			lc_settle(u);
		goto done;
	}
	if (n.refresh[0] == '\0') {
		log_warnx("user %s: no forgejo refresh token stored",
		    u->username);
		lc_failed(u, FORGEJO_BAD_ANSWER, "");
		goto done;
	}

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	r->user = u;
	(void)strlcpy(r->refresh, n.refresh, sizeof(r->refresh));
	r->expires_at = n.expires_at;
	explicit_bzero(&n, sizeof(n));
	u->refreshing = 1;
	if (r->expires_at > now)
		log_debug("user %s: refreshing the forgejo token, it expires "
		    "in %lld s", u->username,
		    (long long)(r->expires_at - now));
	else
		log_debug("user %s: refreshing the forgejo token, it expired "
		    "%lld s ago", u->username,
		    (long long)(now - r->expires_at));
	/* The stub of regress may answer before this returns. */
	forgejo_refresh(r->refresh, lc_refresh_done, r);
 done:
	explicit_bzero(&n, sizeof(n));
	u->busy--;
	lc_user_release(u);
}

static void
lc_refresh_done(enum forgejo_result result, const char *error,
    const struct forgejo_tokens *tokens, void *arg)
{
	struct lc_refresh	*r = arg;
	struct lc_user		*u = r->user;
	int64_t			 now = oauth_now();

	if (error == NULL)
		error = "";
	if (result == FORGEJO_OK && (tokens == NULL ||
	    tokens->access_token[0] == '\0' ||
	    tokens->refresh_token[0] == '\0' ||
	    memchr(tokens->access_token, '\0',
	    sizeof(tokens->access_token)) == NULL ||
	    memchr(tokens->refresh_token, '\0',
	    sizeof(tokens->refresh_token)) == NULL))
		result = FORGEJO_BAD_ANSWER;

	switch (result) {
	case FORGEJO_OK:
		if ((u->unsaved = malloc(sizeof(*u->unsaved))) == NULL)
			fatal("%s", __func__);
		*u->unsaved = *tokens;
		u->unsaved_over = r->expires_at;
		if (lc_store(u) == 0)
			lc_refreshed(u, now);
		else {
			log_warnx("user %s: cannot store the refreshed forgejo "
			    "token, trying again", u->username);
			lc_settle(u);
		}
		break;
	case FORGEJO_REFUSED:
		if (strcmp(error, "invalid_client") != 0) {
			lc_refused(u, r, error);
			break;
		}
		/* FALLTHROUGH */
	default:
		lc_failed(u, result, error);
		break;
	}
	freezero(r, sizeof(*r));
	u->refreshing = 0;
	lc_user_release(u);
}

/*
 * Store the pair obtained, in one transaction: it replaces the pair the
 * refresh started from and every older one of the user, in the access
 * tokens of every broker grant and in codes not yet exchanged.
 */
static int
lc_store(struct lc_user *u)
{
	struct forgejo_tokens	*t = u->unsaved;
	int			 n;

	if (db_begin() == -1)
		return -1;
	if ((n = db_run("UPDATE access_tokens SET forgejo_access_token = ?1, "
	    "forgejo_refresh_token = ?2, forgejo_token_expires_at = ?3 "
	    "WHERE forgejo_user_id = ?4 AND revoked_at IS NULL AND "
	    "forgejo_access_token != '' AND forgejo_token_expires_at <= ?5",
	    "ttiii", t->access_token, t->refresh_token, t->expires_at,
	    u->user_id, u->unsaved_over)) == -1 ||
	    db_run("UPDATE auth_codes SET forgejo_access_token = ?1, "
	    "forgejo_refresh_token = ?2, forgejo_token_expires_at = ?3 "
	    "WHERE forgejo_user_id = ?4 AND used_at IS NULL AND "
	    "forgejo_access_token != '' AND forgejo_token_expires_at <= ?5",
	    "ttiii", t->access_token, t->refresh_token, t->expires_at,
	    u->user_id, u->unsaved_over) == -1 ||
	    db_commit() == -1) {
		db_rollback();
		return -1;
	}
	if (n == 0)
		log_info("user %s: refreshed forgejo token, but no grant left "
		    "to keep it", u->username);
	u->lifetime = t->expires_at - oauth_now();
	return 0;
}

/* The pair is stored: the sessions of the user get it. */
static void
lc_refreshed(struct lc_user *u, int64_t now)
{
	log_info("user %s: forgejo token refreshed, expires in %lld s",
	    u->username, (long long)(u->unsaved->expires_at - now));
	freezero(u->unsaved, sizeof(*u->unsaved));
	u->unsaved = NULL;
	u->backoff = 0;
	u->next_attempt = 0;
	lc_notify(u);
}

/*
 * Forgejo refused the refresh.  If a newer pair of the user exists (a
 * login raced with the refresh), that is why: take it over.  Else the
 * upstream grant is gone, and with it every broker grant that holds
 * this pair or an older one.
 */
static void
lc_refused(struct lc_user *u, const struct lc_refresh *r, const char *error)
{
	struct lc_pair	 n;
	char		*ids = NULL;
	size_t		 nids = 0, i;
	int		 rc;

	if ((rc = lc_user_pair(u->user_id, oauth_now(), r->refresh,
	    &n)) == 1 &&
	    (n.expires_at > r->expires_at ||
	    (n.expires_at == r->expires_at &&
	    strcmp(n.refresh, r->refresh) != 0))) {
		log_info("user %s: forgejo refused a refresh token that a "
		    "newer login replaced; using the newer token",
		    u->username);
		u->backoff = 0;
		u->next_attempt = 0;
		if (lc_adopt(u, &n, r->refresh) == -1)
			lc_settle(u);
		explicit_bzero(&n, sizeof(n));
		return;
	}
	explicit_bzero(&n, sizeof(n));
	if (rc == -1 || lc_revoke_upto(u, r->expires_at, &ids, &nids) == -1) {
		lc_failed(u, FORGEJO_REFUSED, error);
		return;
	}
	log_info("user %s: forgejo refused to refresh the grant (%s); its "
	    "tokens are revoked", u->username, lc_loggable(error));
	u->backoff = 0;
	u->next_attempt = 0;
	for (i = 0; i < nids; i++)
		lifecycle_grant_revoked(ids + i * LC_GRANT_ID_MAX);
	free(ids);
	/* Sessions of grants with a newer pair, if any. */
	lc_settle(u);
}

/*
 * Forgejo could not be asked: try again later, with the old token while
 * it lasts.
 */
static void
lc_failed(struct lc_user *u, enum forgejo_result result, const char *error)
{
	struct lc_grant	*g;
	int64_t		 now = oauth_now();

	if (u->backoff == 0)
		u->backoff = 1;
	else if ((u->backoff *= 2) > LIFECYCLE_BACKOFF_MAX)
		u->backoff = LIFECYCLE_BACKOFF_MAX;
	u->next_attempt = now + u->backoff;
	if (result == FORGEJO_REFUSED && strcmp(error, "invalid_client") == 0)
		log_warnx("user %s: forgejo refused brokerd's client "
		    "credentials (%s), check the forgejo client id and "
		    "secret; next attempt in %d s", u->username,
		    lc_loggable(error), u->backoff);
	else if (result == FORGEJO_REFUSED)
		log_warnx("user %s: forgejo refused to refresh the grant "
		    "(%s), but its tokens cannot be revoked now; next attempt "
		    "in %d s", u->username, lc_loggable(error), u->backoff);
	else
		log_warnx("user %s: cannot refresh the forgejo token (%s), "
		    "next attempt in %d s", u->username,
		    forgejo_result_str(result), u->backoff);
	u->busy++;
	lc_settle(u);
	TAILQ_FOREACH(g, &grants, entry)
		if (g->user == u && g->expires_at <= now)
			lc_stale(g, u->backoff);
	u->busy--;
}

/*
 * Give every pair of the user older than n, or with the refresh token
 * dead (Forgejo refused it), the pair n, in one transaction, and tell
 * the sessions.
 */
static int
lc_adopt(struct lc_user *u, const struct lc_pair *n, const char *dead)
{
	int	 rows;

	if (db_begin() == -1)
		return -1;
	if ((rows = db_run("UPDATE access_tokens SET "
	    "forgejo_access_token = ?1, forgejo_refresh_token = ?2, "
	    "forgejo_token_expires_at = ?3 WHERE forgejo_user_id = ?4 AND "
	    "revoked_at IS NULL AND forgejo_access_token != '' AND "
	    "(forgejo_token_expires_at < ?3 OR forgejo_refresh_token = ?5)",
	    "ttiit", n->access, n->refresh[0] != '\0' ? n->refresh : NULL,
	    n->expires_at, u->user_id, dead)) == -1 ||
	    db_run("UPDATE auth_codes SET forgejo_access_token = ?1, "
	    "forgejo_refresh_token = ?2, forgejo_token_expires_at = ?3 "
	    "WHERE forgejo_user_id = ?4 AND used_at IS NULL AND "
	    "forgejo_access_token != '' AND (forgejo_token_expires_at < ?3 "
	    "OR forgejo_refresh_token = ?5)", "ttiit", n->access,
	    n->refresh[0] != '\0' ? n->refresh : NULL, n->expires_at,
	    u->user_id, dead) == -1 ||
	    db_commit() == -1) {
		db_rollback();
		return -1;
	}
	if (rows > 0)
		log_info("user %s: forgejo token of a newer login taken over, "
		    "expires in %lld s", u->username,
		    (long long)(n->expires_at - oauth_now()));
	lc_notify(u);
	return 0;
}

/*
 * The stored pairs of the user changed: every grant whose token changed
 * sends it to spawnd, which replaces the children; then the sessions
 * waiting for a token get one.
 */
static void
lc_notify(struct lc_user *u)
{
	struct token_update	 tu;
	struct lc_grant		*g;
	struct lc_pair		 p;
	char			 fp[SHA256_HEX_LEN];

	TAILQ_FOREACH(g, &grants, entry) {
		if (g->user != u ||
		    lc_grant_pair(g->grant_id, u->user_id, &p) != 1)
			continue;
		sha256_hex(p.access, strlen(p.access), fp);
		if (strcmp(fp, g->fp) != 0) {
			(void)strlcpy(g->fp, fp, sizeof(g->fp));
			g->expires_at = p.expires_at;
			g->stale = 0;
			if (lc_spawned(g) > 0) {
				memset(&tu, 0, sizeof(tu));
				(void)strlcpy(tu.grant_id, g->grant_id,
				    sizeof(tu.grant_id));
				(void)strlcpy(tu.forgejo_token, p.access,
				    sizeof(tu.forgejo_token));
				tu.token_expires_at = p.expires_at;
				lc_send(PROC_SPAWND, IMSG_TOKEN_UPDATE, &tu,
				    sizeof(tu));
				explicit_bzero(&tu, sizeof(tu));
			}
		}
		explicit_bzero(&p, sizeof(p));
	}
	lc_settle(u);
}

/*
 * The sessions of the user waiting for a refresh: a child with the
 * grant's token while it is valid, else 503 (Forgejo unreachable) or
 * 401 (no token left).
 */
static void
lc_settle(struct lc_user *u)
{
	struct lc_session	*s, *next;
	struct lc_pair		 p;
	int64_t			 now = oauth_now();
	int			 rc;

	u->busy++;
	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (!s->waiting || s->grant->user != u)
			continue;
		rc = lc_grant_pair(s->grant->grant_id, u->user_id, &p);
		if (rc == 1 && p.expires_at > now)
			lc_spawn(s, &p);
		else {
			if (rc == 1)
				session_fail(s->session_id, 503, "forgejo "
				    "cannot be reached to renew the expired "
				    "token; try again later");
			else if (rc == 0)
				session_fail(s->session_id, 401,
				    "the grant is no longer valid");
			else
				session_fail(s->session_id, 503,
				    "the token store failed");
			lc_session_free(s);
		}
		explicit_bzero(&p, sizeof(p));
	}
	u->busy--;
}

static void
lc_spawn(struct lc_session *s, const struct lc_pair *p)
{
	struct lc_grant	*g = s->grant;
	struct lc_user	*u = g->user;

	if (lc_spawned(g) == 0) {
		sha256_hex(p->access, strlen(p->access), g->fp);
		g->expires_at = p->expires_at;
		g->stale = 0;
	}
	if (s->waiting) {
		s->waiting = 0;
		g->nwaiting--;
	}
	session_spawn(s->session_id, g->grant_id, u->user_id, u->username,
	    p->access, p->expires_at);
}

static void
lc_stale(struct lc_grant *g, int retry_after)
{
	struct grant_ref	 gr;

	if (lc_spawned(g) == 0)
		return;
	if (!g->stale)
		log_warnx("user %s: forgejo token of grant %.8s expired and "
		    "cannot be renewed now, sessions answer 503",
		    g->user->username, g->grant_id);
	g->stale = 1;
	memset(&gr, 0, sizeof(gr));
	(void)strlcpy(gr.grant_id, g->grant_id, sizeof(gr.grant_id));
	gr.retry_after = retry_after > 0 ? retry_after : 1;
	lc_send(PROC_HTTP, IMSG_GRANT_STALE, &gr, sizeof(gr));
}

/*
 * A session opens.  Its grant's token, if it is not about to expire,
 * goes to spawnd at once; else the session waits for the refresh.
 */
void
lifecycle_session_open(const struct session_open *so)
{
	struct lc_session	*s;
	struct lc_grant		*g;
	struct lc_user		*u;
	struct lc_pair		 p;
	int64_t			 now = oauth_now();
	int			 rc;

	if (lc_session_find(so->session_id) != NULL)
		fatalx("%s: session opened twice", __func__);
	if ((rc = lc_grant_pair(so->grant_id, so->user_id, &p)) != 1) {
		if (rc == 0) {
			log_info("user %s: grant has no live token, no session",
			    so->username);
			session_fail(so->session_id, 401,
			    "the grant is no longer valid");
		} else
			session_fail(so->session_id, 503,
			    "the token store failed");
		explicit_bzero(&p, sizeof(p));
		return;
	}

	if ((g = lc_grant_find(so->grant_id)) == NULL) {
		if ((g = calloc(1, sizeof(*g))) == NULL)
			fatal("%s", __func__);
		(void)strlcpy(g->grant_id, so->grant_id, sizeof(g->grant_id));
		g->user = lc_user_get(so->user_id, so->username);
		g->user->ngrants++;
		TAILQ_INSERT_TAIL(&grants, g, entry);
	} else if (g->user->user_id != so->user_id) {
		log_warnx("grant %.8s: session for user %s, grant of user %s",
		    so->grant_id, so->username, g->user->username);
		session_fail(so->session_id, 401, "the grant is not the "
		    "user's");
		explicit_bzero(&p, sizeof(p));
		return;
	}
	u = g->user;
	u->busy++;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("%s", __func__);
	(void)strlcpy(s->session_id, so->session_id, sizeof(s->session_id));
	s->grant = g;
	s->waiting = 1;
	g->nsessions++;
	g->nwaiting++;
	TAILQ_INSERT_TAIL(&sessions, s, entry);
	if (lc_spawned(g) == 0) {
		sha256_hex(p.access, strlen(p.access), g->fp);
		g->expires_at = p.expires_at;
	}

	if (p.expires_at - now > lc_margin(u)) {
		lc_spawn(s, &p);
		goto done;
	}
	/* Refresh first, then spawn with the new token. */
	if (u->refreshing)
		goto done;
	if (u->unsaved != NULL || now < u->next_attempt)
		lc_settle(u);
	else
		lc_renew(u);
 done:
	explicit_bzero(&p, sizeof(p));
	u->busy--;
	lc_user_release(u);
}

/* http ended a session. */
void
lifecycle_session_gone(const char *session_id)
{
	struct lc_session	*s;

	if ((s = lc_session_find(session_id)) == NULL)
		return;
	lc_session_free(s);
}

/*
 * The grant's broker tokens are revoked or gone: its sessions end now,
 * and spawnd stops their children.  Sessions waiting for a token learn
 * it first, so that their client gets 401.
 */
void
lifecycle_grant_revoked(const char *grant_id)
{
	struct grant_ref	 gr;
	struct lc_session	*s, *next;
	struct lc_grant		*g;
	struct lc_user		*u;

	if (grant_id == NULL || grant_id[0] == '\0' ||
	    (g = lc_grant_find(grant_id)) == NULL)
		return;
	u = g->user;
	u->busy++;
	log_info("user %s: grant %.8s revoked, ending its %d session%s",
	    u->username, g->grant_id, g->nsessions,
	    g->nsessions == 1 ? "" : "s");
	TAILQ_FOREACH(s, &sessions, entry)
		if (s->grant == g && s->waiting)
			session_fail(s->session_id, 401,
			    "the grant was revoked");
	memset(&gr, 0, sizeof(gr));
	(void)strlcpy(gr.grant_id, g->grant_id, sizeof(gr.grant_id));
	lc_send(PROC_HTTP, IMSG_GRANT_REVOKED, &gr, sizeof(gr));
	lc_send(PROC_SPAWND, IMSG_GRANT_REVOKED, &gr, sizeof(gr));
	/* The last session takes the grant with it. */
	for (s = TAILQ_FIRST(&sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->grant == g)
			lc_session_free(s);
	}
	u->busy--;
	lc_user_release(u);
}

/*
 * The newest Forgejo pair of a broker grant of the user: 1, 0 if none,
 * -1 on a database error.
 */
static int
lc_grant_pair(const char *grant_id, int64_t user_id, struct lc_pair *p)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if ((st = db_prepare("SELECT forgejo_access_token, "
	    "coalesce(forgejo_refresh_token, ''), forgejo_token_expires_at "
	    "FROM access_tokens WHERE grant_id = ? AND forgejo_user_id = ? "
	    "AND revoked_at IS NULL AND forgejo_access_token != '' "
	    "ORDER BY forgejo_token_expires_at DESC, created_at DESC "
	    "LIMIT 1", "ti", grant_id, user_id)) == NULL)
		return -1;
	rc = lc_pair_row(st, p);
	sqlite3_finalize(st);
	return rc;
}

/*
 * The newest Forgejo pair of the user, in any broker grant or in a
 * code not yet exchanged: the one whose refresh token Forgejo accepts.
 * Of two pairs issued in the same second, one whose refresh token is
 * not avoid.
 */
static int
lc_user_pair(int64_t user_id, int64_t now, const char *avoid,
    struct lc_pair *p)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(p, 0, sizeof(*p));
	if ((st = db_prepare("SELECT forgejo_access_token, "
	    "coalesce(forgejo_refresh_token, ''), forgejo_token_expires_at, "
	    "forgejo_refresh_token IS ?3 FROM access_tokens "
	    "WHERE forgejo_user_id = ?1 AND revoked_at IS NULL AND "
	    "forgejo_access_token != '' "
	    "UNION ALL SELECT forgejo_access_token, "
	    "coalesce(forgejo_refresh_token, ''), forgejo_token_expires_at, "
	    "forgejo_refresh_token IS ?3 FROM auth_codes "
	    "WHERE forgejo_user_id = ?1 AND used_at IS NULL AND "
	    "expires_at > ?2 AND forgejo_access_token != '' "
	    "ORDER BY 3 DESC, 4 ASC LIMIT 1", "iit", user_id, now,
	    avoid)) == NULL)
		return -1;
	rc = lc_pair_row(st, p);
	sqlite3_finalize(st);
	return rc;
}

/* Does the grant have an unexpired, unrevoked broker token left? */
static int
lc_grant_alive(const char *grant_id, int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare("SELECT EXISTS (SELECT 1 FROM access_tokens "
	    "WHERE grant_id = ?1 AND revoked_at IS NULL AND expires_at > ?2) "
	    "OR EXISTS (SELECT 1 FROM refresh_tokens WHERE grant_id = ?1 AND "
	    "revoked_at IS NULL AND expires_at > ?2)", "ti", grant_id,
	    now)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) != 0;
	else
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db_handle()));
	sqlite3_finalize(st);
	return rc;
}

/*
 * Revoke, in one transaction, every broker grant of the user that holds
 * a pair no newer than expires_at.  Their ids, LC_GRANT_ID_MAX bytes
 * each, go to *idsp.
 */
static int
lc_revoke_upto(struct lc_user *u, int64_t expires_at, char **idsp,
    size_t *np)
{
	sqlite3_stmt		*st;
	const unsigned char	*t;
	char			*ids = NULL, *id;
	size_t			 n = 0, i;
	int64_t			 now = oauth_now();
	int			 rc;

	*idsp = NULL;
	*np = 0;
	if (db_begin() == -1)
		return -1;
	if ((st = db_prepare("SELECT DISTINCT grant_id FROM access_tokens "
	    "WHERE forgejo_user_id = ? AND revoked_at IS NULL AND "
	    "grant_id IS NOT NULL AND forgejo_access_token != '' AND "
	    "forgejo_token_expires_at <= ?", "ii", u->user_id,
	    expires_at)) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((t = sqlite3_column_text(st, 0)) == NULL ||
		    strlen((const char *)t) >= LC_GRANT_ID_MAX)
			continue;
		if ((ids = reallocarray(ids, n + 1, LC_GRANT_ID_MAX)) == NULL)
			fatal("%s", __func__);
		(void)strlcpy(ids + n * LC_GRANT_ID_MAX, (const char *)t,
		    LC_GRANT_ID_MAX);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("%s: %s", __func__, sqlite3_errmsg(db_handle()));
		goto fail;
	}
	for (i = 0; i < n; i++) {
		id = ids + i * LC_GRANT_ID_MAX;
		if (db_grant_revoke(id, now) == -1)
			goto fail;
	}
	if (db_commit() == -1)
		goto fail;
	*idsp = ids;
	*np = n;
	return 0;
 fail:
	db_rollback();
	free(ids);
	return -1;
}

static struct lc_user *
lc_user_get(int64_t user_id, const char *username)
{
	struct lc_user	*u;

	TAILQ_FOREACH(u, &users, entry)
		if (u->user_id == user_id)
			return u;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		fatal("%s", __func__);
	u->user_id = user_id;
	(void)strlcpy(u->username, username, sizeof(u->username));
	TAILQ_INSERT_TAIL(&users, u, entry);
	return u;
}

/*
 * Forget a user nothing refers to, once a backoff is over: a client
 * that opens sessions in a loop does not make Forgejo asked more often.
 */
static void
lc_user_release(struct lc_user *u)
{
	if (u->ngrants > 0 || u->busy > 0 || u->refreshing ||
	    u->unsaved != NULL ||
	    (u->backoff > 0 && u->next_attempt > oauth_now()))
		return;
	TAILQ_REMOVE(&users, u, entry);
	free(u);
}

static struct lc_grant *
lc_grant_find(const char *grant_id)
{
	struct lc_grant	*g;

	TAILQ_FOREACH(g, &grants, entry)
		if (strcmp(g->grant_id, grant_id) == 0)
			return g;
	return NULL;
}

static struct lc_session *
lc_session_find(const char *session_id)
{
	struct lc_session	*s;

	TAILQ_FOREACH(s, &sessions, entry)
		if (strcmp(s->session_id, session_id) == 0)
			return s;
	return NULL;
}

static void
lc_session_free(struct lc_session *s)
{
	struct lc_grant	*g = s->grant;

	TAILQ_REMOVE(&sessions, s, entry);
	if (s->waiting)
		g->nwaiting--;
	g->nsessions--;
	free(s);
	if (g->nsessions == 0)
		lc_grant_free(g);
}

static void
lc_grant_free(struct lc_grant *g)
{
	struct lc_user	*u = g->user;

	TAILQ_REMOVE(&grants, g, entry);
	free(g);
	u->ngrants--;
	lc_user_release(u);
}

/* Sessions of the grant with a child (or one on its way). */
static int
lc_spawned(const struct lc_grant *g)
{
	return g->nsessions - g->nwaiting;
}

static void
lc_send(enum proc_id to, uint32_t type, const void *data, size_t len)
{
	if (tokend_env.iev[to] == NULL)
		return;
	if (imsg_compose_event(tokend_env.iev[to], type, 0, -1, data,
	    len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/* An OAuth error code as it may appear in the log. */
static const char *
lc_loggable(const char *s)
{
	size_t	 len;

	len = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
	if (s[len] != '\0' || len == 0 || len > PROTO_ERROR_MAX)
		return "an unprintable error";
	return s;
}

/* One row of (access, refresh, expires_at): 1, 0 for none, -1. */
static int
lc_pair_row(sqlite3_stmt *st, struct lc_pair *p)
{
	const unsigned char	*a, *r;

	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		a = sqlite3_column_text(st, 0);
		r = sqlite3_column_text(st, 1);
		if (a == NULL || r == NULL ||
		    strlcpy(p->access, (const char *)a, sizeof(p->access)) >=
		    sizeof(p->access) ||
		    strlcpy(p->refresh, (const char *)r, sizeof(p->refresh)) >=
		    sizeof(p->refresh)) {
			log_warnx("%s: unusable forgejo token", __func__);
			explicit_bzero(p, sizeof(*p));
			return -1;
		}
		p->expires_at = sqlite3_column_int64(st, 2);
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		log_warnx("sql \"%s\": %s", sqlite3_sql(st),
		    sqlite3_errmsg(db_handle()));
		return -1;
	}
}

