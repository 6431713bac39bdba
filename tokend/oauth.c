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
 * tokend's half of the OAuth 2.1 authorization server: the state and
 * every decision that needs stored data.  The http process has checked
 * the syntax of each request and sends a typed struct; each request is
 * answered, on the channel it came from and under its imsg peerid, by
 * exactly one *_OK message or IMSG_OAUTH_ERROR.
 *
 * Secrets.  Client secrets, broker authorization codes, access tokens
 * and refresh tokens are 128 or 256 random bits, handed out once and
 * stored only as the hex SHA-256 of their text.  Forgejo's tokens are
 * stored in clear (spawnd needs them) and never leave tokend but toward
 * spawnd.  Nothing here logs a token, a code, a secret or a verifier.
 *
 * Choices where the standards leave room:
 *
 * - The registered token endpoint authentication method is kept in
 *   clients.token_endpoint_auth_method (migration 3) and is the only
 *   one accepted.  A public client ("none") is identified by its id; if
 *   it presents a non-empty secret, in the body or with HTTP Basic, it
 *   is refused with invalid_client: it is not the client that was
 *   registered, and accepting a secret that proves nothing would let it
 *   believe otherwise.  An empty Basic password counts as no secret.
 *
 * - A grant (RFC 9700's token "family") is everything one authorization
 *   code started.  A replayed code or a refresh token reused after its
 *   grace period revokes the whole grant.  So does the revocation
 *   (RFC 7009) of any of its tokens, access or refresh: a client that
 *   revokes a token is ending the session, and a live refresh token
 *   left behind would quietly continue it.  A token of another client
 *   is left alone and answered like an unknown one, so that revocation
 *   tells nobody whether a token exists.
 *
 * - Refresh tokens rotate.  The presented one is marked rotated (and
 *   revoked); presented again less than refresh_grace seconds later
 *   while its grant is alive, it yields another pair, so that clients
 *   refreshing in parallel all succeed.  Later, it revokes the grant.
 *   Rotated tokens are kept until they expire, to recognize reuse.
 *
 * - A resource (RFC 8707) named at the token endpoint must be the one
 *   the grant is bound to.  A grant bound to none ("" - any resource of
 *   this server) is narrowed to the one named.
 *
 * - redirect_uri at the token endpoint, when sent, must equal the one of
 *   the authorization request exactly.  It may be left out: PKCE binds
 *   the code to the client that asked for it.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "proc.h"
#include "tokend.h"
#include "util.h"

#define OAUTH_REAP_INTERVAL	60	/* seconds */
#define OAUTH_PENDING_MAX	1024	/* authorizations at Forgejo */
#define OAUTH_PENDING_LIFETIME	600	/* seconds */
#define OAUTH_CODE_LIFETIME	600	/* seconds */
#define OAUTH_CLIENT_ID_BYTES	16
#define OAUTH_SECRET_BYTES	32
#define OAUTH_CODE_BYTES	32
#define OAUTH_TOKEN_BYTES	32
#define OAUTH_STATE_BYTES	32
#define OAUTH_VERIFIER_BYTES	32
#define OAUTH_GRANT_BYTES	32	/* 64 hex digits */
#define OAUTH_VERIFIER_MIN	43	/* RFC 7636 section 4.1 */
#define OAUTH_VERIFIER_MAX	128
#define OAUTH_CHALLENGE_LEN	43	/* base64url of a SHA-256 */

#define TERMINATE(a)		((a)[sizeof(a) - 1] = '\0')

/*
 * An authorization the user consented to, waiting for Forgejo to send
 * the browser back to /callback.  Found by our upstream state; there
 * are few enough of them for a list.
 */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	char			 state[TOKEN_STRLEN];
	char			 verifier[TOKEN_STRLEN];
	time_t			 expires;
	struct oauth_authorize	 req;
};

TAILQ_HEAD(pending_list, pending);

/* A /callback between Forgejo's redirect and its answers. */
struct callback {
	struct imsgev		*iev;
	uint32_t		 peerid;
	char			 verifier[TOKEN_STRLEN];
	struct oauth_authorize	 req;
	struct forgejo_tokens	 tokens;
};

/* What a new pair of tokens carries over from its code or its grant. */
struct grant {
	char		 grant_id[SHA256_HEX_LEN];
	char		 client_id[PROTO_CLIENT_ID_MAX];
	int64_t		 user_id;
	char		 username[PROTO_NAME_MAX];
	char		 scope[PROTO_SCOPE_MAX];
	char		 resource[PROTO_URL_MAX];
	char		 forgejo_access[FORGEJO_TOKEN_MAX];
	char		 forgejo_refresh[FORGEJO_TOKEN_MAX];
	int64_t		 forgejo_expires_at;
};

enum client_auth {
	CLIENT_AUTH_OK,
	CLIENT_AUTH_FAIL,
	CLIENT_AUTH_ERROR
};

static void	 oauth_reap_timer(int, short, void *);
static void	 pending_sweep(time_t);
static struct pending *pending_find(const char *);
static void	 pending_free(struct pending *);

static void	 oauth_do_register(struct imsgev *, struct imsg *);
static void	 oauth_do_client(struct imsgev *, struct imsg *);
static void	 oauth_do_authorize(struct imsgev *, struct imsg *);
static void	 oauth_do_callback(struct imsgev *, struct imsg *);
static void	 oauth_exchange_done(enum forgejo_result, const char *,
		    const struct forgejo_tokens *, void *);
static void	 oauth_user_done(enum forgejo_result,
		    const struct forgejo_user *, void *);
static void	 callback_upstream_error(struct callback *,
		    enum forgejo_result);
static void	 callback_free(struct callback *);
static void	 oauth_do_token(struct imsgev *, struct imsg *);
static int	 token_code(const struct oauth_token_req *,
		    struct oauth_token *, struct oauth_error *);
static int	 token_refresh(const struct oauth_token_req *,
		    struct oauth_token *, struct oauth_error *);
static int	 token_issue(struct grant *, time_t, struct oauth_token *);
static void	 oauth_do_revoke(struct imsgev *, struct imsg *);
static void	 oauth_do_bearer(struct imsgev *, struct imsg *);

static enum client_auth client_authenticate(const char *, const char *,
		    int);
static int	 client_exists(const char *);
static int	 client_touch(const char *, time_t);
static int	 grant_revoke(const char *, time_t);
static int	 token_revoke_one(const char *, int, time_t);
static int	 grant_alive(const char *, time_t);
static int	 grant_newest(const char *, struct grant *);

static int	 fail(struct oauth_error *, int32_t, const char *,
		    const char *);
static void	 answer(struct imsgev *, uint32_t, uint32_t, const void *,
		    size_t);
static void	 answer_error(struct imsgev *, uint32_t, int32_t,
		    const char *, const char *, const struct oauth_authorize *);
static void	 get_payload(struct imsg *, void *, size_t);

static int	 q_text(sqlite3_stmt *, int, char *, size_t);

static void	 pkce_s256(const char *, char *, size_t);
static int	 verifier_valid(const char *);
static int	 challenge_valid(const char *);
static int	 hash_valid(const char *);
static int	 auth_method_valid(const char *);
static int	 scope_subset(const char *, const char *);
static void	 grant_id_new(char [SHA256_HEX_LEN]);
static const char *loggable(const char *);

static struct pending_list	 pending_list =
				    TAILQ_HEAD_INITIALIZER(pending_list);
static size_t			 npending;
static struct event		 reap_ev;
static long			 clock_offset;

/*
 * The clock of every expiry decision.  Only the tests move it, to see
 * codes and tokens expire without waiting for them.
 */
time_t
oauth_now(void)
{
	return time(NULL) + clock_offset;
}

void
oauth_set_clock_offset(long offset)
{
	clock_offset = offset;
}

void
oauth_init(void)
{
	struct timeval	 tv = { OAUTH_REAP_INTERVAL, 0 };

	oauth_reap();
	evtimer_set(&reap_ev, oauth_reap_timer, NULL);
	evtimer_add(&reap_ev, &tv);
}

int
oauth_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_OAUTH_REGISTER:
		oauth_do_register(iev, imsg);
		break;
	case IMSG_OAUTH_CLIENT:
		oauth_do_client(iev, imsg);
		break;
	case IMSG_OAUTH_AUTHORIZE:
		oauth_do_authorize(iev, imsg);
		break;
	case IMSG_OAUTH_CALLBACK:
		oauth_do_callback(iev, imsg);
		break;
	case IMSG_OAUTH_TOKEN:
		oauth_do_token(iev, imsg);
		break;
	case IMSG_OAUTH_REVOKE:
		oauth_do_revoke(iev, imsg);
		break;
	case IMSG_AUTH_BEARER:
		oauth_do_bearer(iev, imsg);
		break;
	default:
		return 0;
	}
	return 1;
}

static void
oauth_reap_timer(int fd, short event, void *arg)
{
	struct timeval	 tv = { OAUTH_REAP_INTERVAL, 0 };

	oauth_reap();
	evtimer_add(&reap_ev, &tv);
}

/*
 * Delete what can no longer be used, in one transaction: expired codes;
 * refresh tokens that expired, or were revoked and belong to a grant
 * without a live refresh token (rotated ones of a live grant stay, to
 * recognize their reuse); access tokens expired or revoked that no
 * remaining refresh token refers to; and clients unused for longer than
 * client_prune_after, with everything issued to them.  Forgejo tokens
 * are also wiped from revoked access tokens and from expired ones that
 * a newer token of their grant supersedes.
 */
void
oauth_reap(void)
{
	time_t		 now = oauth_now();
	uint32_t	 prune = tokend_env.cfg.client_prune_after;
	int		 codes, refresh, access, clients = 0;

	pending_sweep(now);
	if (db_handle() == NULL)
		return;
	if (db_begin() == -1)
		return;
	if ((codes = db_run("DELETE FROM auth_codes WHERE expires_at <= ?",
	    "i", (int64_t)now)) == -1)
		goto fail;
	if ((refresh = db_run("DELETE FROM refresh_tokens "
	    "WHERE expires_at <= ?1 OR (revoked_at IS NOT NULL AND "
	    "NOT EXISTS (SELECT 1 FROM refresh_tokens AS r "
	    "WHERE r.grant_id = refresh_tokens.grant_id AND "
	    "r.revoked_at IS NULL AND r.expires_at > ?1))",
	    "i", (int64_t)now)) == -1)
		goto fail;
	if ((access = db_run("DELETE FROM access_tokens "
	    "WHERE (expires_at <= ? OR revoked_at IS NOT NULL) AND "
	    "NOT EXISTS (SELECT 1 FROM refresh_tokens AS r "
	    "WHERE r.access_token_hash = access_tokens.token_hash)",
	    "i", (int64_t)now)) == -1)
		goto fail;
	if (db_run("UPDATE access_tokens SET forgejo_access_token = '', "
	    "forgejo_refresh_token = NULL WHERE forgejo_access_token != '' "
	    "AND (revoked_at IS NOT NULL OR (expires_at <= ?1 AND EXISTS "
	    "(SELECT 1 FROM access_tokens AS n "
	    "WHERE n.grant_id = access_tokens.grant_id AND "
	    "(n.created_at > access_tokens.created_at OR "
	    "(n.created_at = access_tokens.created_at AND "
	    "n.rowid > access_tokens.rowid)))))",
	    "i", (int64_t)now) == -1)
		goto fail;
	if (prune > 0 && (clients = db_run("DELETE FROM clients "
	    "WHERE coalesce(last_used, created_at) < ?",
	    "i", (int64_t)now - prune)) == -1)
		goto fail;
	if (db_commit() == -1)
		goto fail;
	if (clients > 0)
		log_info("pruned %d client(s) unused for %u seconds", clients,
		    prune);
	if (codes + refresh + access > 0)
		log_debug("reaped %d code(s), %d refresh and %d access "
		    "token(s)", codes, refresh, access);
	return;
 fail:
	db_rollback();
	log_warnx("reaper failed; will try again");
}

/* Forget the pending authorizations whose time is up. */
static void
pending_sweep(time_t now)
{
	struct pending	*p, *next;

	for (p = TAILQ_FIRST(&pending_list); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->expires <= now)
			pending_free(p);
	}
}

/* The pending authorization of an upstream state, exactly. */
static struct pending *
pending_find(const char *state)
{
	struct pending	*p;

	TAILQ_FOREACH(p, &pending_list, entry) {
		if (timingsafe_streq(p->state, state))
			return p;
	}
	return NULL;
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&pending_list, p, entry);
	npending--;
	freezero(p, sizeof(*p));
}

/*
 * RFC 7591 registration.  The client id is 128 random bits; a client of
 * a secret method gets 256 random bits of secret, answered once and
 * stored as its SHA-256.
 */
static void
oauth_do_register(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_register	 req;
	struct oauth_registered	 ok;
	char			 hash[SHA256_HEX_LEN];
	const char		*secret_hash = NULL;
	uint32_t		 id = imsg_get_id(imsg);
	time_t			 now = oauth_now();

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.auth_method);
	TERMINATE(req.redirect_uris);
	TERMINATE(req.metadata);

	if (!auth_method_valid(req.auth_method)) {
		answer_error(iev, id, 400, "invalid_client_metadata",
		    "unsupported token_endpoint_auth_method", NULL);
		return;
	}
	if (req.redirect_uris[0] == '\0') {
		answer_error(iev, id, 400, "invalid_redirect_uri",
		    "no redirect_uris", NULL);
		return;
	}

	memset(&ok, 0, sizeof(ok));
	if (random_token(ok.client_id, sizeof(ok.client_id),
	    OAUTH_CLIENT_ID_BYTES) == -1)
		fatalx("%s: random_token", __func__);
	if (strcmp(req.auth_method, AUTH_METHOD_NONE) != 0) {
		if (random_token(ok.client_secret, sizeof(ok.client_secret),
		    OAUTH_SECRET_BYTES) == -1)
			fatalx("%s: random_token", __func__);
		sha256_hex(ok.client_secret, strlen(ok.client_secret), hash);
		secret_hash = hash;
	}
	ok.issued_at = now;

	if (db_run("INSERT INTO clients (client_id, client_secret, "
	    "redirect_uris, metadata_json, created_at, last_used, "
	    "token_endpoint_auth_method) VALUES (?, ?, ?, ?, ?, NULL, ?)",
	    "ttttit", ok.client_id, secret_hash, req.redirect_uris,
	    req.metadata[0] != '\0' ? req.metadata : NULL, (int64_t)now,
	    req.auth_method) != 1) {
		explicit_bzero(&ok, sizeof(ok));
		answer_error(iev, id, 500, "server_error",
		    "cannot store the client", NULL);
		return;
	}
	log_info("registered client %s (%s)", ok.client_id, req.auth_method);
	answer(iev, IMSG_OAUTH_REGISTER_OK, id, &ok, sizeof(ok));
	explicit_bzero(&ok, sizeof(ok));
}

/* What the consent page and the redirect checks need to know. */
static void
oauth_do_client(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_client_req	 req;
	struct oauth_client	 oc;
	sqlite3_stmt		*st;
	uint32_t		 id = imsg_get_id(imsg);
	int			 rc;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.client_id);

	memset(&oc, 0, sizeof(oc));
	if ((st = db_prepare("SELECT token_endpoint_auth_method, "
	    "redirect_uris, coalesce(metadata_json, '{}') FROM clients "
	    "WHERE client_id = ?", "t", req.client_id)) == NULL) {
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
		return;
	}
	if ((rc = db_step(st)) == 1) {
		(void)strlcpy(oc.client_id, req.client_id,
		    sizeof(oc.client_id));
		if (q_text(st, 0, oc.auth_method, sizeof(oc.auth_method)) ==
		    -1 ||
		    q_text(st, 1, oc.redirect_uris,
		    sizeof(oc.redirect_uris)) == -1 ||
		    q_text(st, 2, oc.metadata, sizeof(oc.metadata)) == -1)
			rc = -1;
	}
	sqlite3_finalize(st);

	if (rc == -1)
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
	else if (rc == 0)
		answer_error(iev, id, 401, "invalid_client", "unknown client",
		    NULL);
	else
		answer(iev, IMSG_OAUTH_CLIENT_OK, id, &oc, sizeof(oc));
}

/*
 * The user consented: remember the request under a fresh upstream state
 * with our own PKCE verifier for Forgejo, and send the browser there.
 * Errors for a known client go back to its redirect URI, which http has
 * checked against the registration.
 */
static void
oauth_do_authorize(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_authorize	 req;
	struct oauth_redirect	 ok;
	struct pending		*p;
	char			 challenge[TOKEN_STRLEN];
	uint32_t		 id = imsg_get_id(imsg);
	time_t			 now = oauth_now();
	int			 rc;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.client_id);
	TERMINATE(req.redirect_uri);
	TERMINATE(req.code_challenge);
	TERMINATE(req.scope);
	TERMINATE(req.resource);
	TERMINATE(req.state);
	if (!req.has_state)
		req.state[0] = '\0';

	if ((rc = client_exists(req.client_id)) == -1) {
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
		return;
	}
	if (rc == 0) {
		answer_error(iev, id, 401, "invalid_client", "unknown client",
		    NULL);
		return;
	}
	if (!challenge_valid(req.code_challenge)) {
		answer_error(iev, id, 400, "invalid_request",
		    "code_challenge is not an S256 challenge", &req);
		return;
	}

	pending_sweep(now);
	if (npending >= OAUTH_PENDING_MAX) {
		log_warnx("%zu authorizations pending at forgejo; refusing "
		    "more", npending);
		answer_error(iev, id, 503, "temporarily_unavailable",
		    "too many pending authorizations", &req);
		return;
	}

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	if (random_token(p->state, sizeof(p->state), OAUTH_STATE_BYTES) ==
	    -1 ||
	    random_token(p->verifier, sizeof(p->verifier),
	    OAUTH_VERIFIER_BYTES) == -1)
		fatalx("%s: random_token", __func__);
	p->expires = now + OAUTH_PENDING_LIFETIME;
	p->req = req;
	pkce_s256(p->verifier, challenge, sizeof(challenge));

	memset(&ok, 0, sizeof(ok));
	if (forgejo_authorize_url(ok.url, sizeof(ok.url), p->state,
	    challenge) == -1) {
		freezero(p, sizeof(*p));
		answer_error(iev, id, 500, "server_error",
		    "cannot build the forgejo authorization url", &req);
		return;
	}
	TAILQ_INSERT_TAIL(&pending_list, p, entry);
	npending++;

	(void)client_touch(req.client_id, now);
	log_debug("client %s: consent given, off to forgejo", req.client_id);
	answer(iev, IMSG_OAUTH_AUTHORIZE_OK, id, &ok, sizeof(ok));
	explicit_bzero(&ok, sizeof(ok));
}

/*
 * Forgejo sent the browser back.  An unknown, expired or replayed state
 * is answered without a redirect URI: nothing ties the browser to a
 * client then, and http shows a page instead of redirecting.
 */
static void
oauth_do_callback(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_callback	 req;
	struct pending		*p;
	struct callback		*cb;
	uint32_t		 id = imsg_get_id(imsg);
	time_t			 now = oauth_now();
	int			 expired;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.state);
	TERMINATE(req.code);
	TERMINATE(req.error);

	if ((p = pending_find(req.state)) == NULL) {
		explicit_bzero(&req, sizeof(req));
		log_info("callback with an unknown or used state");
		answer_error(iev, id, 400, "invalid_request",
		    "unknown or expired state", NULL);
		return;
	}

	/* Single use: whatever happens next, this state is spent. */
	if ((cb = calloc(1, sizeof(*cb))) == NULL)
		fatal("%s", __func__);
	cb->iev = iev;
	cb->peerid = id;
	cb->req = p->req;
	(void)strlcpy(cb->verifier, p->verifier, sizeof(cb->verifier));
	expired = p->expires <= now;
	pending_free(p);

	if (expired) {
		explicit_bzero(&req, sizeof(req));
		callback_free(cb);
		log_info("callback with an expired state");
		answer_error(iev, id, 400, "invalid_request",
		    "unknown or expired state", NULL);
		return;
	}

	if (req.error[0] != '\0') {
		log_info("client %s: forgejo answered %s", cb->req.client_id,
		    loggable(req.error));
		if (strcmp(req.error, "access_denied") == 0)
			answer_error(iev, id, 400, "access_denied",
			    "the user denied access at forgejo", &cb->req);
		else
			answer_error(iev, id, 502, "server_error",
			    "forgejo refused the authorization", &cb->req);
		explicit_bzero(&req, sizeof(req));
		callback_free(cb);
		return;
	}
	if (req.code[0] == '\0') {
		log_warnx("client %s: forgejo sent neither code nor error",
		    cb->req.client_id);
		answer_error(iev, id, 502, "server_error",
		    "forgejo sent no code", &cb->req);
		explicit_bzero(&req, sizeof(req));
		callback_free(cb);
		return;
	}

	/*
	 * The callbacks answer and free cb, maybe before this returns:
	 * cb is not to be touched after this call.
	 */
	forgejo_exchange_code(req.code, cb->verifier, oauth_exchange_done,
	    cb);
	explicit_bzero(&req, sizeof(req));
}

static void
oauth_exchange_done(enum forgejo_result result, const char *error,
    const struct forgejo_tokens *tokens, void *arg)
{
	struct callback	*cb = arg;

	if (result == FORGEJO_OK && (tokens == NULL ||
	    tokens->access_token[0] == '\0'))
		result = FORGEJO_BAD_ANSWER;
	if (result != FORGEJO_OK) {
		if (error != NULL && error[0] != '\0')
			log_warnx("client %s: forgejo code exchange: %s, %s",
			    cb->req.client_id, forgejo_result_str(result),
			    loggable(error));
		else
			log_warnx("client %s: forgejo code exchange: %s",
			    cb->req.client_id, forgejo_result_str(result));
		callback_upstream_error(cb, result);
		return;
	}
	cb->tokens = *tokens;
	TERMINATE(cb->tokens.access_token);
	TERMINATE(cb->tokens.refresh_token);
	/* As in oauth_do_callback(): cb may be gone when this returns. */
	forgejo_get_user(cb->tokens.access_token, oauth_user_done, cb);
}

/*
 * We know the user: store a broker authorization code bound to the
 * request, the user and the Forgejo tokens, and send the browser back
 * to the client with it.
 */
static void
oauth_user_done(enum forgejo_result result, const struct forgejo_user *user,
    void *arg)
{
	struct callback		*cb = arg;
	struct oauth_code	 ok;
	char			 hash[SHA256_HEX_LEN];
	char			 grant_id[SHA256_HEX_LEN];
	time_t			 now = oauth_now();

	if (result == FORGEJO_OK && (user == NULL || user->login[0] == '\0' ||
	    memchr(user->login, '\0', sizeof(user->login)) == NULL))
		result = FORGEJO_BAD_ANSWER;
	if (result != FORGEJO_OK) {
		log_warnx("client %s: forgejo user: %s", cb->req.client_id,
		    forgejo_result_str(result));
		callback_upstream_error(cb, result);
		return;
	}

	memset(&ok, 0, sizeof(ok));
	if (random_token(ok.code, sizeof(ok.code), OAUTH_CODE_BYTES) == -1)
		fatalx("%s: random_token", __func__);
	sha256_hex(ok.code, strlen(ok.code), hash);
	grant_id_new(grant_id);

	if (db_run("INSERT INTO auth_codes (code, client_id, redirect_uri, "
	    "code_challenge, code_challenge_method, scopes, "
	    "forgejo_access_token, forgejo_refresh_token, "
	    "forgejo_token_expires_at, forgejo_user_id, forgejo_username, "
	    "expires_at, used_at, resource, grant_id) "
	    "VALUES (?, ?, ?, ?, 'S256', ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
	    "tttttttiititt", hash, cb->req.client_id, cb->req.redirect_uri,
	    cb->req.code_challenge, cb->req.scope, cb->tokens.access_token,
	    cb->tokens.refresh_token[0] != '\0' ?
	    cb->tokens.refresh_token : NULL,
	    (int64_t)cb->tokens.expires_at, (int64_t)user->id, user->login,
	    (int64_t)now + OAUTH_CODE_LIFETIME, cb->req.resource,
	    grant_id) != 1) {
		explicit_bzero(&ok, sizeof(ok));
		answer_error(cb->iev, cb->peerid, 500, "server_error",
		    "cannot store the authorization code", &cb->req);
		callback_free(cb);
		return;
	}

	(void)strlcpy(ok.redirect_uri, cb->req.redirect_uri,
	    sizeof(ok.redirect_uri));
	(void)strlcpy(ok.state, cb->req.state, sizeof(ok.state));
	ok.has_state = cb->req.has_state;
	log_info("user %s (%lld) authorized client %s", user->login,
	    (long long)user->id, cb->req.client_id);
	answer(cb->iev, IMSG_OAUTH_CALLBACK_OK, cb->peerid, &ok, sizeof(ok));
	explicit_bzero(&ok, sizeof(ok));
	callback_free(cb);
}

/* Forgejo said no or could not be asked: tell the client, with its state. */
static void
callback_upstream_error(struct callback *cb, enum forgejo_result result)
{
	if (result == FORGEJO_UNAVAILABLE)
		answer_error(cb->iev, cb->peerid, 503,
		    "temporarily_unavailable", "forgejo is unavailable",
		    &cb->req);
	else if (result == FORGEJO_REFUSED)
		answer_error(cb->iev, cb->peerid, 502, "server_error",
		    "forgejo refused the authorization", &cb->req);
	else
		answer_error(cb->iev, cb->peerid, 502, "server_error",
		    "unexpected answer from forgejo", &cb->req);
	callback_free(cb);
}

static void
callback_free(struct callback *cb)
{
	freezero(cb, sizeof(*cb));
}

/*
 * The token endpoint.  The client authenticates the way it registered;
 * then the grant decides.  Every error is 400 but invalid_client, 401.
 */
static void
oauth_do_token(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_token_req	 req;
	struct oauth_token	 ok;
	struct oauth_error	 err;
	uint32_t		 id = imsg_get_id(imsg);
	int			 rc;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.grant_type);
	TERMINATE(req.code);
	TERMINATE(req.code_verifier);
	TERMINATE(req.redirect_uri);
	TERMINATE(req.refresh_token);
	TERMINATE(req.resource);
	TERMINATE(req.scope);
	TERMINATE(req.client_id);
	TERMINATE(req.client_secret);

	memset(&ok, 0, sizeof(ok));
	memset(&err, 0, sizeof(err));
	switch (client_authenticate(req.client_id, req.client_secret,
	    req.auth_basic)) {
	case CLIENT_AUTH_OK:
		if (strcmp(req.grant_type, "authorization_code") == 0)
			rc = token_code(&req, &ok, &err);
		else if (strcmp(req.grant_type, "refresh_token") == 0)
			rc = token_refresh(&req, &ok, &err);
		else
			rc = fail(&err, 400, "unsupported_grant_type",
			    "grant_type is not authorization_code or "
			    "refresh_token");
		break;
	case CLIENT_AUTH_FAIL:
		rc = fail(&err, 401, "invalid_client",
		    "client authentication failed");
		break;
	default:
		rc = fail(&err, 500, "server_error", "database error");
		break;
	}
	explicit_bzero(&req, sizeof(req));

	if (rc == 0)
		answer(iev, IMSG_OAUTH_TOKEN_OK, id, &ok, sizeof(ok));
	else
		answer(iev, IMSG_OAUTH_ERROR, id, &err, sizeof(err));
	explicit_bzero(&ok, sizeof(ok));
}

/*
 * The authorization_code grant, in one transaction: the code must be
 * this client's, unused, unexpired, for this redirect URI and this
 * verifier.  A code presented a second time revokes what it issued.
 */
static int
token_code(const struct oauth_token_req *req, struct oauth_token *ok,
    struct oauth_error *err)
{
	struct grant	 g;
	sqlite3_stmt	*st;
	char		 hash[SHA256_HEX_LEN];
	char		 redirect[PROTO_REDIRECT_MAX];
	char		 challenge[PROTO_CHALLENGE_MAX];
	char		 method[16];
	char		 computed[TOKEN_STRLEN];
	time_t		 now = oauth_now();
	int64_t		 expires_at = 0;
	int		 rc, used = 0, n;

	if (req->code[0] == '\0')
		return fail(err, 400, "invalid_request", "code is missing");
	sha256_hex(req->code, strlen(req->code), hash);

	memset(&g, 0, sizeof(g));
	if (db_begin() == -1)
		return fail(err, 500, "server_error", "database error");
	if ((st = db_prepare("SELECT client_id, redirect_uri, code_challenge, "
	    "code_challenge_method, scopes, forgejo_access_token, "
	    "coalesce(forgejo_refresh_token, ''), forgejo_token_expires_at, "
	    "forgejo_user_id, forgejo_username, expires_at, "
	    "used_at IS NOT NULL, resource, coalesce(grant_id, '') "
	    "FROM auth_codes WHERE code = ?", "t", hash)) == NULL)
		goto dberr;
	if ((rc = db_step(st)) == 1) {
		if (q_text(st, 0, g.client_id, sizeof(g.client_id)) == -1 ||
		    q_text(st, 1, redirect, sizeof(redirect)) == -1 ||
		    q_text(st, 2, challenge, sizeof(challenge)) == -1 ||
		    q_text(st, 3, method, sizeof(method)) == -1 ||
		    q_text(st, 4, g.scope, sizeof(g.scope)) == -1 ||
		    q_text(st, 5, g.forgejo_access,
		    sizeof(g.forgejo_access)) == -1 ||
		    q_text(st, 6, g.forgejo_refresh,
		    sizeof(g.forgejo_refresh)) == -1 ||
		    q_text(st, 9, g.username, sizeof(g.username)) == -1 ||
		    q_text(st, 12, g.resource, sizeof(g.resource)) == -1 ||
		    q_text(st, 13, g.grant_id, sizeof(g.grant_id)) == -1)
			rc = -1;
		g.forgejo_expires_at = sqlite3_column_int64(st, 7);
		g.user_id = sqlite3_column_int64(st, 8);
		expires_at = sqlite3_column_int64(st, 10);
		used = sqlite3_column_int(st, 11);
	}
	sqlite3_finalize(st);
	if (rc == -1)
		goto dberr;
	if (rc == 0) {
		db_rollback();
		return fail(err, 400, "invalid_grant",
		    "unknown authorization code");
	}

	if (used)
		goto replay;
	if (strcmp(g.client_id, req->client_id) != 0) {
		db_rollback();
		log_info("client %s presented a code of client %s",
		    req->client_id, g.client_id);
		rc = fail(err, 400, "invalid_grant",
		    "the code was issued to another client");
		goto done;
	}
	if (expires_at <= now) {
		db_rollback();
		rc = fail(err, 400, "invalid_grant", "the code has expired");
		goto done;
	}
	if (req->has_redirect_uri && strcmp(req->redirect_uri, redirect) != 0) {
		db_rollback();
		rc = fail(err, 400, "invalid_grant",
		    "redirect_uri differs from the authorization request");
		goto done;
	}
	if (strcmp(method, "S256") != 0 ||
	    !verifier_valid(req->code_verifier)) {
		db_rollback();
		rc = fail(err, 400, "invalid_grant",
		    "code_verifier is missing or malformed");
		goto done;
	}
	pkce_s256(req->code_verifier, computed, sizeof(computed));
	if (!timingsafe_streq(computed, challenge)) {
		db_rollback();
		rc = fail(err, 400, "invalid_grant",
		    "code_verifier does not match the code_challenge");
		goto done;
	}
	if (req->resource[0] != '\0') {
		if (g.resource[0] != '\0' &&
		    strcmp(req->resource, g.resource) != 0) {
			db_rollback();
			rc = fail(err, 400, "invalid_target",
			    "resource differs from the authorized one");
			goto done;
		}
		(void)strlcpy(g.resource, req->resource, sizeof(g.resource));
	}

	/* Spend the code, and wipe its copy of the Forgejo tokens. */
	if ((n = db_run("UPDATE auth_codes SET used_at = ?, "
	    "forgejo_access_token = '', forgejo_refresh_token = NULL "
	    "WHERE code = ? AND used_at IS NULL", "it", (int64_t)now,
	    hash)) == -1)
		goto dberr;
	if (n == 0)
		goto replay;
	if (g.grant_id[0] == '\0')
		grant_id_new(g.grant_id);
	if (token_issue(&g, now, ok) == -1 ||
	    client_touch(g.client_id, now) == -1 ||
	    db_commit() == -1)
		goto dberr;
	log_info("client %s: tokens issued to user %s", g.client_id,
	    g.username);
	rc = 0;
	goto done;

 replay:
	/* RFC 9700 section 4.5 and OAuth 2.1 section 4.1.2. */
	if (grant_revoke(g.grant_id, now) == -1 || db_commit() == -1)
		goto dberr;
	log_warnx("client %s: authorization code replayed, grant of user %s "
	    "revoked", req->client_id, g.username);
	lifecycle_grant_revoked(g.grant_id);
	rc = fail(err, 400, "invalid_grant",
	    "the code has already been used");
	goto done;

 dberr:
	db_rollback();
	rc = fail(err, 500, "server_error", "database error");
 done:
	explicit_bzero(&g, sizeof(g));
	return rc;
}

/*
 * The refresh_token grant, in one transaction.  A live refresh token is
 * rotated; a rotated one within the grace period gets a sibling pair
 * while its grant lives; any other one revokes its grant.
 */
static int
token_refresh(const struct oauth_token_req *req, struct oauth_token *ok,
    struct oauth_error *err)
{
	struct grant	 g;
	sqlite3_stmt	*st;
	char		 hash[SHA256_HEX_LEN];
	char		 client_id[PROTO_CLIENT_ID_MAX];
	char		 grant_id[SHA256_HEX_LEN];
	time_t		 now = oauth_now();
	int64_t		 expires_at = 0, rotated_at = 0;
	int		 rc, revoked = 0, rotated = 0, n;

	if (req->refresh_token[0] == '\0')
		return fail(err, 400, "invalid_request",
		    "refresh_token is missing");
	sha256_hex(req->refresh_token, strlen(req->refresh_token), hash);

	memset(&g, 0, sizeof(g));
	if (db_begin() == -1)
		return fail(err, 500, "server_error", "database error");
	if ((st = db_prepare("SELECT client_id, coalesce(grant_id, ''), "
	    "expires_at, revoked_at IS NOT NULL, rotated_at IS NOT NULL, "
	    "coalesce(rotated_at, 0) FROM refresh_tokens "
	    "WHERE token_hash = ?", "t", hash)) == NULL)
		goto dberr;
	if ((rc = db_step(st)) == 1) {
		if (q_text(st, 0, client_id, sizeof(client_id)) == -1 ||
		    q_text(st, 1, grant_id, sizeof(grant_id)) == -1)
			rc = -1;
		expires_at = sqlite3_column_int64(st, 2);
		revoked = sqlite3_column_int(st, 3);
		rotated = sqlite3_column_int(st, 4);
		rotated_at = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	if (rc == -1)
		goto dberr;
	if (rc == 0) {
		db_rollback();
		return fail(err, 400, "invalid_grant", "unknown refresh token");
	}
	if (strcmp(client_id, req->client_id) != 0) {
		db_rollback();
		log_info("client %s presented a refresh token of client %s",
		    req->client_id, client_id);
		return fail(err, 400, "invalid_grant",
		    "the refresh token was issued to another client");
	}
	if (grant_id[0] == '\0') {
		db_rollback();
		return fail(err, 400, "invalid_grant",
		    "the refresh token belongs to no grant");
	}
	if (expires_at <= now) {
		db_rollback();
		return fail(err, 400, "invalid_grant",
		    "the refresh token has expired");
	}

	if (!revoked) {
		if ((n = db_run("UPDATE refresh_tokens SET revoked_at = ?1, "
		    "rotated_at = ?1 WHERE token_hash = ?2 AND "
		    "revoked_at IS NULL", "it", (int64_t)now, hash)) == -1)
			goto dberr;
		if (n == 0)
			goto reuse;
	} else if (rotated && now - rotated_at <
	    (int64_t)tokend_env.cfg.refresh_grace) {
		if ((n = grant_alive(grant_id, now)) == -1)
			goto dberr;
		if (n == 0)
			goto reuse;
		log_debug("client %s: rotated refresh token presented "
		    "again within the grace period", req->client_id);
	} else
		goto reuse;

	if ((rc = grant_newest(grant_id, &g)) == -1)
		goto dberr;
	if (rc == 0) {
		db_rollback();
		return fail(err, 400, "invalid_grant",
		    "the grant has no token left");
	}
	if (req->scope[0] != '\0' && !scope_subset(req->scope, g.scope)) {
		db_rollback();
		rc = fail(err, 400, "invalid_scope",
		    "scope exceeds the granted scope");
		goto done;
	}
	if (req->resource[0] != '\0') {
		if (g.resource[0] != '\0' &&
		    strcmp(req->resource, g.resource) != 0) {
			db_rollback();
			rc = fail(err, 400, "invalid_target",
			    "resource differs from the authorized one");
			goto done;
		}
		(void)strlcpy(g.resource, req->resource, sizeof(g.resource));
	}
	if (token_issue(&g, now, ok) == -1 ||
	    client_touch(g.client_id, now) == -1 ||
	    db_commit() == -1)
		goto dberr;
	log_debug("client %s: tokens refreshed for user %s", g.client_id,
	    g.username);
	rc = 0;
	goto done;

 reuse:
	/* RFC 9700 section 4.14.2: a stolen token, or its thief, was here. */
	if (grant_revoke(grant_id, now) == -1 || db_commit() == -1)
		goto dberr;
	lifecycle_grant_revoked(grant_id);
	if (rotated)
		log_warnx("client %s: rotated refresh token reused, grant "
		    "revoked", req->client_id);
	else
		log_info("client %s: revoked refresh token presented",
		    req->client_id);
	rc = fail(err, 400, "invalid_grant",
	    "the refresh token is no longer valid");
	goto done;

 dberr:
	db_rollback();
	rc = fail(err, 500, "server_error", "database error");
 done:
	explicit_bzero(&g, sizeof(g));
	return rc;
}

/*
 * Make a new access and refresh token of grant g, store their hashes
 * with what g carries, and put their text into ok.  Inside the caller's
 * transaction.
 */
static int
token_issue(struct grant *g, time_t now, struct oauth_token *ok)
{
	char	access_hash[SHA256_HEX_LEN], refresh_hash[SHA256_HEX_LEN];
	int64_t	access_expires, refresh_expires;

	access_expires = (int64_t)now + tokend_env.cfg.access_lifetime;
	refresh_expires = (int64_t)now + tokend_env.cfg.refresh_lifetime;
	if (random_token(ok->access_token, sizeof(ok->access_token),
	    OAUTH_TOKEN_BYTES) == -1 ||
	    random_token(ok->refresh_token, sizeof(ok->refresh_token),
	    OAUTH_TOKEN_BYTES) == -1)
		fatalx("%s: random_token", __func__);
	sha256_hex(ok->access_token, strlen(ok->access_token), access_hash);
	sha256_hex(ok->refresh_token, strlen(ok->refresh_token),
	    refresh_hash);
	(void)strlcpy(ok->scope, g->scope, sizeof(ok->scope));
	ok->expires_in = tokend_env.cfg.access_lifetime;

	if (db_run("INSERT INTO access_tokens (token_hash, client_id, "
	    "forgejo_user_id, forgejo_username, scopes, "
	    "forgejo_access_token, forgejo_refresh_token, "
	    "forgejo_token_expires_at, expires_at, created_at, revoked_at, "
	    "resource, grant_id) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
	    "ttittttiiitt", access_hash, g->client_id, g->user_id,
	    g->username, g->scope, g->forgejo_access,
	    g->forgejo_refresh[0] != '\0' ? g->forgejo_refresh : NULL,
	    g->forgejo_expires_at, access_expires, (int64_t)now,
	    g->resource, g->grant_id) != 1 ||
	    db_run("INSERT INTO refresh_tokens (token_hash, "
	    "access_token_hash, client_id, expires_at, created_at, "
	    "revoked_at, grant_id, rotated_at) "
	    "VALUES (?, ?, ?, ?, ?, NULL, ?, NULL)",
	    "tttiit", refresh_hash, access_hash, g->client_id,
	    refresh_expires, (int64_t)now, g->grant_id) != 1) {
		explicit_bzero(ok, sizeof(*ok));
		return -1;
	}
	return 0;
}

/*
 * RFC 7009.  Whatever the token, the answer is OK once the client has
 * authenticated; only a token of this client is revoked, with its
 * whole grant.
 */
static void
oauth_do_revoke(struct imsgev *iev, struct imsg *imsg)
{
	struct oauth_revoke_req	 req;
	sqlite3_stmt		*st;
	static const char	*lookup[] = {
		"SELECT client_id, coalesce(grant_id, '') FROM access_tokens "
		    "WHERE token_hash = ?",
		"SELECT client_id, coalesce(grant_id, '') FROM refresh_tokens "
		    "WHERE token_hash = ?"
	};
	char			 hash[SHA256_HEX_LEN];
	char			 client_id[PROTO_CLIENT_ID_MAX];
	char			 grant_id[SHA256_HEX_LEN];
	uint32_t		 id = imsg_get_id(imsg);
	time_t			 now = oauth_now();
	int			 first, i, rc = 0, refresh = 0;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.token);
	TERMINATE(req.token_type_hint);
	TERMINATE(req.client_id);
	TERMINATE(req.client_secret);

	switch (client_authenticate(req.client_id, req.client_secret,
	    req.auth_basic)) {
	case CLIENT_AUTH_OK:
		break;
	case CLIENT_AUTH_FAIL:
		explicit_bzero(&req, sizeof(req));
		answer_error(iev, id, 401, "invalid_client",
		    "client authentication failed", NULL);
		return;
	default:
		explicit_bzero(&req, sizeof(req));
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
		return;
	}
	if (req.token[0] == '\0') {
		explicit_bzero(&req, sizeof(req));
		answer_error(iev, id, 400, "invalid_request",
		    "token is missing", NULL);
		return;
	}
	sha256_hex(req.token, strlen(req.token), hash);

	/* The hint orders the search; it does not limit it. */
	first = strcmp(req.token_type_hint, "refresh_token") == 0 ? 1 : 0;
	for (i = 0; i < 2; i++) {
		refresh = (first + i) % 2;
		if ((st = db_prepare(lookup[refresh], "t", hash)) == NULL) {
			rc = -1;
			break;
		}
		if ((rc = db_step(st)) == 1 &&
		    (q_text(st, 0, client_id, sizeof(client_id)) == -1 ||
		    q_text(st, 1, grant_id, sizeof(grant_id)) == -1))
			rc = -1;
		sqlite3_finalize(st);
		if (rc != 0)
			break;
	}

	if (rc == 1 && strcmp(client_id, req.client_id) != 0) {
		log_info("client %s: revocation of a token of client %s "
		    "ignored", req.client_id, client_id);
		rc = 0;
	}
	if (rc == 1) {
		if (db_begin() == -1)
			rc = -1;
		else if (grant_id[0] != '\0')
			rc = grant_revoke(grant_id, now);
		else
			rc = token_revoke_one(hash, refresh, now);
		if (rc == 0 && db_commit() == -1)
			rc = -1;
		if (rc == -1)
			db_rollback();
		else {
			log_info("client %s revoked a grant (%s token)",
			    req.client_id, refresh ? "refresh" : "access");
			lifecycle_grant_revoked(grant_id);
		}
	}
	explicit_bzero(&req, sizeof(req));

	if (rc == -1)
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
	else
		answer(iev, IMSG_OAUTH_REVOKE_OK, id, NULL, 0);
}

/*
 * Is this access token good for a request?  http sends its SHA-256
 * only; the answer names the user and never carries a Forgejo token.
 */
static void
oauth_do_bearer(struct imsgev *iev, struct imsg *imsg)
{
	struct auth_bearer_req	 req;
	struct auth_bearer	 ok;
	sqlite3_stmt		*st;
	uint32_t		 id = imsg_get_id(imsg);
	int			 rc = 0;

	get_payload(imsg, &req, sizeof(req));
	TERMINATE(req.token_hash);

	memset(&ok, 0, sizeof(ok));
	if (hash_valid(req.token_hash)) {
		if ((st = db_prepare("SELECT a.forgejo_user_id, "
		    "a.forgejo_username, a.client_id, "
		    "coalesce(a.grant_id, ''), a.resource, a.scopes, "
		    "a.expires_at FROM access_tokens AS a "
		    "JOIN clients AS c ON c.client_id = a.client_id "
		    "WHERE a.token_hash = ? AND a.revoked_at IS NULL AND "
		    "a.expires_at > ?", "ti", req.token_hash,
		    (int64_t)oauth_now())) == NULL)
			rc = -1;
		else {
			if ((rc = db_step(st)) == 1) {
				ok.user_id = sqlite3_column_int64(st, 0);
				ok.expires_at = sqlite3_column_int64(st, 6);
				if (q_text(st, 1, ok.username,
				    sizeof(ok.username)) == -1 ||
				    q_text(st, 2, ok.client_id,
				    sizeof(ok.client_id)) == -1 ||
				    q_text(st, 3, ok.grant_id,
				    sizeof(ok.grant_id)) == -1 ||
				    q_text(st, 4, ok.resource,
				    sizeof(ok.resource)) == -1 ||
				    q_text(st, 5, ok.scope,
				    sizeof(ok.scope)) == -1)
					rc = -1;
			}
			sqlite3_finalize(st);
		}
	}

	if (rc == 1)
		answer(iev, IMSG_AUTH_BEARER_OK, id, &ok, sizeof(ok));
	else if (rc == 0)
		answer_error(iev, id, 401, "invalid_token",
		    "the access token is invalid, expired or revoked", NULL);
	else
		answer_error(iev, id, 500, "server_error", "database error",
		    NULL);
}

/*
 * Authenticate a client at /token or /revoke by exactly the method it
 * registered with; see the comment at the top of this file for a public
 * client that presents a secret.
 */
static enum client_auth
client_authenticate(const char *client_id, const char *secret, int basic)
{
	sqlite3_stmt	*st;
	char		 method[32], stored[SHA256_HEX_LEN];
	char		 hash[SHA256_HEX_LEN];
	int		 rc;

	if (client_id[0] == '\0')
		return CLIENT_AUTH_FAIL;
	if ((st = db_prepare("SELECT token_endpoint_auth_method, "
	    "coalesce(client_secret, '') FROM clients WHERE client_id = ?",
	    "t", client_id)) == NULL)
		return CLIENT_AUTH_ERROR;
	if ((rc = db_step(st)) == 1 &&
	    (q_text(st, 0, method, sizeof(method)) == -1 ||
	    q_text(st, 1, stored, sizeof(stored)) == -1))
		rc = -1;
	sqlite3_finalize(st);
	if (rc == -1)
		return CLIENT_AUTH_ERROR;
	if (rc == 0) {
		log_debug("unknown client %s", client_id);
		return CLIENT_AUTH_FAIL;
	}

	if (strcmp(method, AUTH_METHOD_NONE) == 0) {
		if (secret[0] == '\0')
			return CLIENT_AUTH_OK;
		log_info("client %s: public client presented a secret",
		    client_id);
		return CLIENT_AUTH_FAIL;
	}
	if ((strcmp(method, AUTH_METHOD_POST) == 0 && basic) ||
	    (strcmp(method, AUTH_METHOD_BASIC) == 0 && !basic)) {
		log_info("client %s: authenticated by %s, registered for %s",
		    client_id, basic ? "http basic" : "the request body",
		    method);
		return CLIENT_AUTH_FAIL;
	}
	if (secret[0] == '\0' || stored[0] == '\0') {
		log_info("client %s: no secret presented", client_id);
		return CLIENT_AUTH_FAIL;
	}
	sha256_hex(secret, strlen(secret), hash);
	rc = timingsafe_streq(hash, stored);
	explicit_bzero(hash, sizeof(hash));
	if (!rc) {
		log_info("client %s: wrong secret", client_id);
		return CLIENT_AUTH_FAIL;
	}
	return CLIENT_AUTH_OK;
}

static int
client_exists(const char *client_id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT 1 FROM clients WHERE client_id = ?", "t",
	    client_id)) == NULL)
		return -1;
	rc = db_step(st);
	sqlite3_finalize(st);
	return rc;
}

static int
client_touch(const char *client_id, time_t now)
{
	return db_run("UPDATE clients SET last_used = ? WHERE client_id = ?",
	    "it", (int64_t)now, client_id) == -1 ? -1 : 0;
}

/* Revoke every token of a grant. */
static int
grant_revoke(const char *grant_id, time_t now)
{
	/* A token older than grants (migration 3) has none to revoke. */
	if (grant_id[0] == '\0')
		return 0;
	return db_grant_revoke(grant_id, (int64_t)now);
}

/*
 * Revoke a token that belongs to no grant (older than migration 3): the
 * token itself and, for a refresh token, its access token.
 */
static int
token_revoke_one(const char *hash, int refresh, time_t now)
{
	if (refresh && db_run("UPDATE access_tokens SET revoked_at = ?1 "
	    "WHERE revoked_at IS NULL AND token_hash = "
	    "(SELECT access_token_hash FROM refresh_tokens "
	    "WHERE token_hash = ?2)", "it", (int64_t)now, hash) == -1)
		return -1;
	if (db_run(refresh ? "UPDATE refresh_tokens SET revoked_at = ? "
	    "WHERE token_hash = ? AND revoked_at IS NULL" :
	    "UPDATE access_tokens SET revoked_at = ? "
	    "WHERE token_hash = ? AND revoked_at IS NULL", "it",
	    (int64_t)now, hash) == -1)
		return -1;
	return 0;
}

/* Does the grant still have a refresh token that can be used? */
static int
grant_alive(const char *grant_id, time_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT 1 FROM refresh_tokens WHERE grant_id = ? "
	    "AND revoked_at IS NULL AND expires_at > ? LIMIT 1", "ti",
	    grant_id, (int64_t)now)) == NULL)
		return -1;
	rc = db_step(st);
	sqlite3_finalize(st);
	return rc;
}

/* What the newest access token of a grant carries, for its successor. */
static int
grant_newest(const char *grant_id, struct grant *g)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare("SELECT client_id, forgejo_user_id, "
	    "forgejo_username, scopes, forgejo_access_token, "
	    "coalesce(forgejo_refresh_token, ''), forgejo_token_expires_at, "
	    "resource FROM access_tokens WHERE grant_id = ? "
	    "ORDER BY created_at DESC, rowid DESC LIMIT 1", "t",
	    grant_id)) == NULL)
		return -1;
	if ((rc = db_step(st)) == 1) {
		(void)strlcpy(g->grant_id, grant_id, sizeof(g->grant_id));
		g->user_id = sqlite3_column_int64(st, 1);
		g->forgejo_expires_at = sqlite3_column_int64(st, 6);
		if (q_text(st, 0, g->client_id, sizeof(g->client_id)) == -1 ||
		    q_text(st, 2, g->username, sizeof(g->username)) == -1 ||
		    q_text(st, 3, g->scope, sizeof(g->scope)) == -1 ||
		    q_text(st, 4, g->forgejo_access,
		    sizeof(g->forgejo_access)) == -1 ||
		    q_text(st, 5, g->forgejo_refresh,
		    sizeof(g->forgejo_refresh)) == -1 ||
		    q_text(st, 7, g->resource, sizeof(g->resource)) == -1)
			rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

static int
fail(struct oauth_error *err, int32_t status, const char *error,
    const char *desc)
{
	memset(err, 0, sizeof(*err));
	err->status = status;
	(void)strlcpy(err->error, error, sizeof(err->error));
	(void)strlcpy(err->description, desc, sizeof(err->description));
	return -1;
}

static void
answer(struct imsgev *iev, uint32_t type, uint32_t peerid, const void *data,
    size_t len)
{
	if (imsg_compose_event(iev, type, peerid, -1, data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/*
 * An error; with back, one to be sent to the client's redirect URI with
 * its state.
 */
static void
answer_error(struct imsgev *iev, uint32_t peerid, int32_t status,
    const char *error, const char *desc, const struct oauth_authorize *back)
{
	struct oauth_error	 err;

	(void)fail(&err, status, error, desc);
	if (back != NULL) {
		(void)strlcpy(err.redirect_uri, back->redirect_uri,
		    sizeof(err.redirect_uri));
		if (back->has_state) {
			(void)strlcpy(err.state, back->state,
			    sizeof(err.state));
			err.has_state = 1;
		}
	}
	answer(iev, IMSG_OAUTH_ERROR, peerid, &err, sizeof(err));
}

/* http checks what it sends: a payload of another size is a bug. */
static void
get_payload(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_data(imsg, data, len) == -1)
		fatalx("%s: imsg %u of %zu bytes, want %zu", __func__,
		    imsg_get_type(imsg), imsg_get_len(imsg), len);
}

/* Copy a text column; one that does not fit is an error, NULL is "". */
static int
q_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char	*t;

	t = sqlite3_column_text(st, col);
	if (strlcpy(buf, t != NULL ? (const char *)t : "", len) >= len) {
		log_warnx("sql \"%s\": column %d too long", sqlite3_sql(st),
		    col);
		return -1;
	}
	return 0;
}

/* BASE64URL(SHA256(verifier)), RFC 7636 section 4.2. */
static void
pkce_s256(const char *verifier, char *out, size_t outsz)
{
	SHA2_CTX	 ctx;
	uint8_t		 digest[SHA256_DIGEST_LENGTH];

	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)verifier, strlen(verifier));
	SHA256Final(digest, &ctx);
	if (base64url_encode(digest, sizeof(digest), out, outsz) == 0)
		fatalx("%s: buffer too small", __func__);
	explicit_bzero(digest, sizeof(digest));
	explicit_bzero(&ctx, sizeof(ctx));
}

/* 43 to 128 characters of [A-Za-z0-9-._~], RFC 7636 section 4.1. */
static int
verifier_valid(const char *v)
{
	size_t	 len;

	len = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~");
	return v[len] == '\0' && len >= OAUTH_VERIFIER_MIN &&
	    len <= OAUTH_VERIFIER_MAX;
}

/* What S256 makes: 43 characters of base64url. */
static int
challenge_valid(const char *c)
{
	size_t	 len;

	len = strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");
	return c[len] == '\0' && len == OAUTH_CHALLENGE_LEN;
}

/* A lowercase hex SHA-256. */
static int
hash_valid(const char *h)
{
	size_t	 len;

	len = strspn(h, "0123456789abcdef");
	return h[len] == '\0' && len == SHA256_HEX_LEN - 1;
}

static int
auth_method_valid(const char *m)
{
	return strcmp(m, AUTH_METHOD_NONE) == 0 ||
	    strcmp(m, AUTH_METHOD_POST) == 0 ||
	    strcmp(m, AUTH_METHOD_BASIC) == 0;
}

/* Is every space-separated scope of want one of have? */
static int
scope_subset(const char *want, const char *have)
{
	const char	*w, *h;
	size_t		 wl, hl;
	int		 found;

	for (w = want; *(w += strspn(w, " ")) != '\0'; w += wl) {
		wl = strcspn(w, " ");
		found = 0;
		for (h = have; !found && *(h += strspn(h, " ")) != '\0';
		    h += hl) {
			hl = strcspn(h, " ");
			found = hl == wl && strncmp(w, h, wl) == 0;
		}
		if (!found)
			return 0;
	}
	return 1;
}

static void
grant_id_new(char out[SHA256_HEX_LEN])
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 raw[OAUTH_GRANT_BYTES];
	size_t			 i;

	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[2 * i] = '\0';
}

/* An upstream error code as it may appear in the log. */
static const char *
loggable(const char *s)
{
	size_t	 len;

	len = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
	if (s[len] != '\0' || len == 0 || len > PROTO_ERROR_MAX)
		return "(an unprintable error)";
	return s;
}
