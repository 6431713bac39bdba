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
 * The authorization server's front in the http process: metadata
 * (RFC 9728, RFC 8414), CORS, dynamic client registration (RFC 7591),
 * the token and revocation endpoints (RFC 6749, RFC 7009) and the
 * bearer check of the MCP endpoints (RFC 6750).  /authorize and
 * /callback are in consent.c.
 *
 * http checks the syntax of every request and renders every answer;
 * tokend keeps the state and the secrets and answers each request with
 * exactly one *_OK message or IMSG_OAUTH_ERROR.  While it works, the
 * connection carries a struct oauth_pending in c->oauth.
 *
 * Registration is limited per source address (an IPv6 address by its
 * /64) to "register rate limit" registrations in a fixed window of an
 * hour that opens with the first one; the table of addresses is small
 * and gives away the oldest window when full.  Only requests that pass
 * validation count.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <event.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "brokerd.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define REGISTER_BODY_MAX	(16 * 1024)
#define REGISTER_REDIRECTS_MAX	16
#define REGISTER_CONTACTS_MAX	8
#define REGISTER_NAME_MAX	200	/* bytes of client_name */
#define REGISTER_TEXT_MAX	255
#define CORS_MAX_AGE		"86400"
#define CORS_ALLOW_HEADERS	"authorization, content-type, accept, " \
				"mcp-session-id, mcp-protocol-version, " \
				"last-event-id"
#define CORS_EXPOSE_HEADERS	"mcp-session-id, mcp-protocol-version, " \
				"www-authenticate"
#define HDRS_MAX		2048
#define B64URL_CHARS		"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
				"abcdefghijklmnopqrstuvwxyz0123456789-_"

#define M(m)			(1 << (m))

struct route {
	const char	*path;
	int		 methods;	/* M() of the methods taken */
	const char	*allow;		/* the Allow header of a 405 */
	int		 cors;		/* answers preflights, carries CORS */
	void		(*handler)(struct conn *);
};

/* The kinds of string metadata a client may register. */
enum reg_kind {
	REG_DISPLAY,		/* shown to users: no control characters */
	REG_URL,		/* https, or http on loopback */
	REG_SCOPE,		/* printable ASCII */
	REG_APP_TYPE		/* "web" or "native" */
};

struct reg_string {
	const char	*name;
	enum reg_kind	 kind;
	size_t		 max;
};

static void	 prm_mcp(struct conn *);
static void	 prm_sse(struct conn *);
static void	 as_metadata(struct conn *);
static void	 no_oidc(struct conn *);
static void	 mcp_unrouted(struct conn *);
static void	 mcp_not_implemented(struct conn *, const struct auth_bearer *);
static void	 cors_preflight(struct conn *, const struct route *);
static void	 json_respond(struct conn *, int, const char *, size_t,
		    const char *);
static void	 json_error(struct conn *, int, const char *, const char *,
		    const char *);
static void	 token_error(struct conn *, int, const char *, const char *,
		    int);
static char	*metadata_prm(const char *);
static char	*metadata_as(void);
static int	 form_field(struct conn *, const char *, char *, size_t);
static int	 client_credentials(struct conn *, char *, size_t, char *,
		    size_t, uint8_t *);
static void	 oauth_register(struct conn *);
static json_t	*register_metadata(json_t *, const char **, const char **);
static int	 reg_redirect_uris(json_t *, json_t *, const char **);
static int	 reg_auth_method(json_t *, json_t *, const char **);
static int	 reg_word_list(json_t *, json_t *, const char *,
		    const char *const *, const char *, const char **);
static int	 reg_strings(json_t *, json_t *, const char **);
static int	 reg_string_ok(const struct reg_string *, const char *);
static int	 reg_contacts(json_t *, json_t *, const char **);
static void	 register_answer(struct conn *, struct oauth_pending *,
		    struct imsg *);
static void	 oauth_token(struct conn *);
static void	 token_answer(struct conn *, struct oauth_pending *,
		    struct imsg *);
static void	 oauth_revoke(struct conn *);
static void	 revoke_answer(struct conn *, struct oauth_pending *,
		    struct imsg *);
static int	 token_elsewhere(struct conn *);
static void	 bearer_challenge(struct conn *, int, const char *,
		    const char *, const char *);
static void	 bearer_answer(struct conn *, struct oauth_pending *,
		    struct imsg *);
static int	 status_or(int32_t, int, int, int);

static const struct route routes[] = {
	{ "/.well-known/oauth-protected-resource", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, prm_mcp },
	{ "/.well-known/oauth-protected-resource/mcp", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, prm_mcp },
	{ "/.well-known/oauth-protected-resource/sse", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, prm_sse },
	{ "/.well-known/oauth-authorization-server", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, as_metadata },
	{ "/.well-known/oauth-authorization-server/mcp", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, as_metadata },
	{ "/.well-known/openid-configuration", M(HTTP_METHOD_GET) |
	    M(HTTP_METHOD_HEAD), "GET, HEAD, OPTIONS", 1, no_oidc },
	{ "/register", M(HTTP_METHOD_POST), "POST, OPTIONS", 1,
	    oauth_register },
	{ "/authorize", M(HTTP_METHOD_GET) | M(HTTP_METHOD_POST),
	    "GET, POST", 0, consent_authorize },
	{ "/callback", M(HTTP_METHOD_GET), "GET", 0, consent_callback },
	{ "/token", M(HTTP_METHOD_POST), "POST, OPTIONS", 1, oauth_token },
	{ "/revoke", M(HTTP_METHOD_POST), "POST, OPTIONS", 1, oauth_revoke },
	{ "/mcp", M(HTTP_METHOD_GET) | M(HTTP_METHOD_POST) |
	    M(HTTP_METHOD_DELETE), "GET, POST, DELETE, OPTIONS", 1,
	    mcp_unrouted },
	{ "/sse", M(HTTP_METHOD_GET), "GET, OPTIONS", 1, mcp_unrouted },
	{ "/messages", M(HTTP_METHOD_POST), "POST, OPTIONS", 1,
	    mcp_unrouted },
	{ NULL, 0, NULL, 0, NULL }
};

static const struct reg_string reg_string_fields[] = {
	{ "client_name",	REG_DISPLAY,	REGISTER_NAME_MAX },
	{ "client_uri",		REG_URL,	OAUTH_REDIRECT_URI_MAX },
	{ "logo_uri",		REG_URL,	OAUTH_REDIRECT_URI_MAX },
	{ "tos_uri",		REG_URL,	OAUTH_REDIRECT_URI_MAX },
	{ "policy_uri",		REG_URL,	OAUTH_REDIRECT_URI_MAX },
	{ "software_id",	REG_DISPLAY,	REGISTER_TEXT_MAX },
	{ "software_version",	REG_DISPLAY,	REGISTER_TEXT_MAX },
	{ "scope",		REG_SCOPE,	PROTO_SCOPE_MAX - 1 },
	{ "application_type",	REG_APP_TYPE,	16 },
	{ NULL,			0,		0 }
};

static const char *const grant_types[] = {
	"authorization_code", "refresh_token", NULL
};
static const char *const response_types[] = { "code", NULL };

static char			*doc_prm_mcp, *doc_prm_sse, *doc_as;
static char			 canon_mcp[PROTO_URL_MAX];
static char			 canon_sse[PROTO_URL_MAX];
static char			 public_origin[PROTO_URL_MAX];
static struct oauth_ratelimit	 ratelimit;

/*
 * Everything that depends only on the configuration is made once:
 * the metadata documents, and the normalised forms of the resources
 * and of the public origin that requests are compared with.
 */
void
oauth_init(void)
{
	const char	*pu = http_env.cfg.public_url;
	char		 url[PROTO_URL_MAX + 8], *p;

	if ((doc_prm_mcp = metadata_prm("/mcp")) == NULL ||
	    (doc_prm_sse = metadata_prm("/sse")) == NULL ||
	    (doc_as = metadata_as()) == NULL)
		fatalx("%s: cannot build the metadata", __func__);
	(void)snprintf(url, sizeof(url), "%s/mcp", pu);
	if (oauth_resource_normalize(url, canon_mcp, sizeof(canon_mcp)) == -1)
		(void)strlcpy(canon_mcp, url, sizeof(canon_mcp));
	(void)snprintf(url, sizeof(url), "%s/sse", pu);
	if (oauth_resource_normalize(url, canon_sse, sizeof(canon_sse)) == -1)
		(void)strlcpy(canon_sse, url, sizeof(canon_sse));
	if (oauth_resource_normalize(pu, public_origin,
	    sizeof(public_origin)) == 0 &&
	    (p = strstr(public_origin, "://")) != NULL &&
	    (p = strchr(p + 3, '/')) != NULL)
		*p = '\0';
	if (http_env.cfg.register_rate_limit == 0)
		http_env.cfg.register_rate_limit = DEFAULT_REGISTER_RATE;
	consent_init();
}

int
oauth_route(struct conn *c)
{
	const struct route	*r;
	char			 hdrs[256];

	for (r = routes; r->path != NULL; r++)
		if (strcmp(c->req.path, r->path) == 0)
			break;
	if (r->path == NULL)
		return 0;
	if (c->req.method == HTTP_METHOD_OPTIONS && r->cors)
		cors_preflight(c, r);
	else if ((r->methods & M(c->req.method)) == 0) {
		(void)snprintf(hdrs, sizeof(hdrs), "Allow: %s\r\n", r->allow);
		if (r->cors)
			json_error(c, 405, "invalid_request",
			    "method not allowed", hdrs);
		else
			conn_respond(c, 405, "text/plain; charset=utf-8",
			    "method not allowed\n", 19, hdrs);
	} else
		r->handler(c);
	return 1;
}

/* The answer types of tokend that belong to oauth.c and consent.c. */
int
oauth_answer(enum proc_id from, struct conn *c, struct imsg *imsg)
{
	struct oauth_pending	*p;
	uint32_t		 type = imsg_get_type(imsg);

	switch (type) {
	case IMSG_OAUTH_REGISTER_OK:
	case IMSG_OAUTH_CLIENT_OK:
	case IMSG_OAUTH_AUTHORIZE_OK:
	case IMSG_OAUTH_CALLBACK_OK:
	case IMSG_OAUTH_TOKEN_OK:
	case IMSG_OAUTH_REVOKE_OK:
	case IMSG_OAUTH_ERROR:
	case IMSG_AUTH_BEARER_OK:
		break;
	default:
		return 0;
	}
	if (from != PROC_TOKEND)
		fatalx("%s: imsg %u from %s", __func__, type, proc_name(from));
	/* The client went away while tokend worked: nobody to tell. */
	if (c == NULL || (p = c->oauth) == NULL) {
		log_debug("%s: answer %u for a closed connection dropped",
		    __func__, type);
		return 1;
	}
	if (type != IMSG_OAUTH_ERROR && type != p->expect)
		fatalx("%s: imsg %u while waiting for %u", __func__, type,
		    p->expect);
	switch (p->op) {
	case OAUTH_OP_REGISTER:
		register_answer(c, p, imsg);
		break;
	case OAUTH_OP_TOKEN:
		token_answer(c, p, imsg);
		break;
	case OAUTH_OP_REVOKE:
		revoke_answer(c, p, imsg);
		break;
	case OAUTH_OP_BEARER:
		bearer_answer(c, p, imsg);
		break;
	default:
		consent_answer(c, p, imsg);
		break;
	}
	return 1;
}

void
oauth_conn_cleanup(struct conn *c)
{
	oauth_pending_free(c);
}

const char *
oauth_cors_headers(void)
{
	return "Access-Control-Allow-Origin: *\r\n"
	    "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS "\r\n";
}

struct oauth_pending *
oauth_pending_new(struct conn *c, enum oauth_op op, uint32_t expect)
{
	struct oauth_pending	*p;

	oauth_pending_free(c);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->op = op;
	p->expect = expect;
	c->oauth = p;
	return p;
}

/* The pending request may hold a client's state: cleared, not just freed. */
void
oauth_pending_free(struct conn *c)
{
	struct oauth_pending	*p = c->oauth;

	if (p == NULL)
		return;
	if (p->doc != NULL)
		freezero(p->doc, strlen(p->doc));
	freezero(p, sizeof(*p));
	c->oauth = NULL;
}

void
oauth_send(struct conn *c, uint32_t type, const void *data, size_t len)
{
	if (imsg_compose_event(http_env.iev[PROC_TOKEND], type, c->id, -1,
	    data, len) == -1)
		fatal("%s: imsg_compose_event", __func__);
}

/* tokend sends what proto.h says: a payload of another size is a bug. */
void
oauth_imsg_data(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_data(imsg, data, len) == -1)
		fatalx("%s: imsg %u of %zu bytes, want %zu", __func__,
		    imsg_get_type(imsg), imsg_get_len(imsg), len);
}

void
oauth_error_get(struct imsg *imsg, struct oauth_error *err)
{
	oauth_imsg_data(imsg, err, sizeof(*err));
	err->error[sizeof(err->error) - 1] = '\0';
	err->description[sizeof(err->description) - 1] = '\0';
	err->redirect_uri[sizeof(err->redirect_uri) - 1] = '\0';
	err->state[sizeof(err->state) - 1] = '\0';
	if (!oauth_error_code_ok(err->error))
		(void)strlcpy(err->error, "server_error", sizeof(err->error));
	if (!oauth_printable(err->description) ||
	    strpbrk(err->description, "\"\\") != NULL)
		err->description[0] = '\0';
}

/*
 * The resource indicator as brokerd binds codes and tokens to it: the
 * exact URL the protected-resource metadata names, whatever spelling
 * of it the client sent.  -1 if it names neither endpoint.
 */
int
oauth_resource_canon(const char *in, char *out, size_t outsz)
{
	char	 norm[PROTO_URL_MAX];
	int	 n;

	if (oauth_resource_normalize(in, norm, sizeof(norm)) == -1)
		return -1;
	if (strcmp(norm, canon_mcp) == 0)
		n = snprintf(out, outsz, "%s/mcp", http_env.cfg.public_url);
	else if (strcmp(norm, canon_sse) == 0)
		n = snprintf(out, outsz, "%s/sse", http_env.cfg.public_url);
	else
		return -1;
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* "scheme://host[:port]" of the public url, normalised. */
const char *
oauth_public_origin(void)
{
	return public_origin;
}

/* Whether the request's one Content-Type is the media type named. */
int
oauth_ctype_is(struct conn *c, const char *type)
{
	const char	*ct;
	size_t		 n = strlen(type);

	if (http_header_count(&c->req, "Content-Type") != 1 ||
	    (ct = http_header(&c->req, "Content-Type")) == NULL)
		return 0;
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Metadata */

/*
 * RFC 9728: one document per MCP endpoint, resource its exact URL,
 * the issuer byte for byte as the only authorization server.  The
 * root form describes /mcp.
 */
static char *
metadata_prm(const char *path)
{
	const char	*pu = http_env.cfg.public_url;
	json_t		*o;
	char		 resource[PROTO_URL_MAX + 8], *s;

	(void)snprintf(resource, sizeof(resource), "%s%s", pu, path);
	o = json_pack("{s:s, s:[s], s:[s], s:[s], s:s}",
	    "resource", resource,
	    "authorization_servers", pu,
	    "bearer_methods_supported", "header",
	    "scopes_supported", "mcp",
	    "resource_name", "Forgejo through brokerd");
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* RFC 8414, with what MCP clients check for (mcp-spec.md section 1.4). */
static char *
metadata_as(void)
{
	const char	*pu = http_env.cfg.public_url;
	json_t		*o;
	char		 authz[PROTO_URL_MAX + 16], token[PROTO_URL_MAX + 16];
	char		 reg[PROTO_URL_MAX + 16], revoke[PROTO_URL_MAX + 16];
	char		*s;

	(void)snprintf(authz, sizeof(authz), "%s/authorize", pu);
	(void)snprintf(token, sizeof(token), "%s/token", pu);
	(void)snprintf(reg, sizeof(reg), "%s/register", pu);
	(void)snprintf(revoke, sizeof(revoke), "%s/revoke", pu);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[sss], s:[s], s:[s], "
	    "s:[ss], s:[s], s:[sss], s:[s], s:b}",
	    "issuer", pu,
	    "authorization_endpoint", authz,
	    "token_endpoint", token,
	    "registration_endpoint", reg,
	    "revocation_endpoint", revoke,
	    "revocation_endpoint_auth_methods_supported", AUTH_METHOD_NONE,
	    AUTH_METHOD_POST, AUTH_METHOD_BASIC,
	    "response_types_supported", "code",
	    "response_modes_supported", "query",
	    "grant_types_supported", "authorization_code", "refresh_token",
	    "code_challenge_methods_supported", "S256",
	    "token_endpoint_auth_methods_supported", AUTH_METHOD_NONE,
	    AUTH_METHOD_POST, AUTH_METHOD_BASIC,
	    "scopes_supported", "mcp",
	    "authorization_response_iss_parameter_supported", 1);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void
prm_mcp(struct conn *c)
{
	json_respond(c, 200, doc_prm_mcp, strlen(doc_prm_mcp), NULL);
}

static void
prm_sse(struct conn *c)
{
	json_respond(c, 200, doc_prm_sse, strlen(doc_prm_sse), NULL);
}

static void
as_metadata(struct conn *c)
{
	json_respond(c, 200, doc_as, strlen(doc_as), NULL);
}

/*
 * Not a full OpenID Connect document, so none at all: clients go on
 * after a 4xx (mcp-spec.md section 1.4).
 */
static void
no_oidc(struct conn *c)
{
	json_error(c, 404, "not_found",
	    "this server offers RFC 8414 metadata only", NULL);
}

/*
 * mcp.c takes these paths first, but for the preflight; this answers
 * only if it ever does not: the bearer check, then 501.
 */
static void
mcp_unrouted(struct conn *c)
{
	oauth_require_bearer(c, strcmp(c->req.path, "/mcp") == 0 ? "/mcp" :
	    "/sse", mcp_not_implemented);
}

static void
mcp_not_implemented(struct conn *c, const struct auth_bearer *who)
{
	static const char	 body[] =
	    "{\"error\":\"the MCP relay is not implemented yet\"}";

	json_respond(c, 501, body, sizeof(body) - 1, NULL);
}

/* CORS */

/*
 * mcp-spec.md section 2.7: preflights succeed without credentials.
 * These endpoints use no cookies, so any origin may call them; the
 * MCP endpoints check Origin on the actual request.
 */
static void
cors_preflight(struct conn *c, const struct route *r)
{
	char	 hdrs[HDRS_MAX];

	(void)snprintf(hdrs, sizeof(hdrs),
	    "Access-Control-Allow-Origin: *\r\n"
	    "Access-Control-Allow-Methods: %s\r\n"
	    "Access-Control-Allow-Headers: " CORS_ALLOW_HEADERS "\r\n"
	    "Access-Control-Expose-Headers: " CORS_EXPOSE_HEADERS "\r\n"
	    "Access-Control-Max-Age: " CORS_MAX_AGE "\r\n", r->allow);
	conn_respond(c, 204, NULL, "", 0, hdrs);
}

/* An answer of a CORS endpoint: JSON, the CORS headers, then extra. */
static void
json_respond(struct conn *c, int status, const char *body, size_t len,
    const char *extra)
{
	char	 hdrs[HDRS_MAX];

	(void)snprintf(hdrs, sizeof(hdrs), "%s%s", oauth_cors_headers(),
	    extra != NULL ? extra : "");
	conn_respond(c, status, "application/json", body, len, hdrs);
}

/* An OAuth error document (RFC 6749 section 5.2). */
static void
json_error(struct conn *c, int status, const char *error, const char *desc,
    const char *extra)
{
	json_t	*o;
	char	*s;

	if ((o = json_pack("{s:s}", "error", error)) == NULL)
		fatalx("%s: json", __func__);
	if (desc != NULL && *desc != '\0')
		(void)json_object_set_new(o, "error_description",
		    json_string(desc));
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	json_decref(o);
	json_respond(c, status, s, strlen(s), extra);
	free(s);
}

/*
 * Errors of /token and /revoke.  A client that tried HTTP Basic learns
 * the scheme again with its 401 (RFC 6749 section 5.2).
 */
static void
token_error(struct conn *c, int status, const char *error, const char *desc,
    int basic)
{
	json_error(c, status, error, desc, status == 401 && basic ?
	    "Pragma: no-cache\r\n"
	    "WWW-Authenticate: Basic realm=\"brokerd\"\r\n" :
	    "Pragma: no-cache\r\n");
}

/* A status tokend gave, if it is one of the range expected. */
static int
status_or(int32_t status, int lo, int hi, int fallback)
{
	return status >= lo && status <= hi ? status : fallback;
}

/* Forms and client authentication */

/*
 * One parameter of the form body: 1 and its value, 0 if absent, -1 if
 * repeated, malformed or too long (OAuth forbids repeated parameters).
 */
static int
form_field(struct conn *c, const char *key, char *out, size_t outsz)
{
	int	 r;

	r = http_form_get(c->body != NULL ? c->body : "", c->bodylen, key,
	    out, outsz);
	return r < 0 ? -1 : r;
}

/*
 * Client authentication of RFC 6749 section 2.3.1: HTTP Basic, or
 * client_id (and client_secret) in the body, but never a secret both
 * ways.  tokend checks the secret against the registered method.
 * Returns 0, or -1 once the error is answered.
 */
static int
client_credentials(struct conn *c, char *id, size_t idsz, char *secret,
    size_t secretsz, uint8_t *basic)
{
	const char	*hdr;
	char		 bid[PROTO_CLIENT_ID_MAX], bsecret[PROTO_TOKEN_MAX];
	int		 n, rid, rsecret, r = -1;

	*basic = 0;
	n = http_header_count(&c->req, "Authorization");
	rid = form_field(c, "client_id", id, idsz);
	rsecret = form_field(c, "client_secret", secret, secretsz);
	if (n > 1 || rid == -1 || rsecret == -1) {
		token_error(c, 400, "invalid_request", "client_id, "
		    "client_secret or Authorization is repeated or malformed",
		    0);
		goto done;
	}
	if (n == 0) {
		if (rid != 1 || *id == '\0' || !oauth_printable(id)) {
			token_error(c, 401, "invalid_client",
			    "no client authentication", 0);
			goto done;
		}
		r = 0;
		goto done;
	}
	*basic = 1;
	hdr = http_header(&c->req, "Authorization");
	if (hdr == NULL || oauth_basic_decode(hdr, bid, sizeof(bid), bsecret,
	    sizeof(bsecret)) == -1) {
		token_error(c, 401, "invalid_client",
		    "the Authorization header is not valid HTTP Basic", 1);
		goto done;
	}
	if (rsecret == 1) {
		token_error(c, 400, "invalid_request", "client_secret both "
		    "in the Authorization header and in the body", 1);
		goto done;
	}
	if (rid == 1 && strcmp(id, bid) != 0) {
		token_error(c, 400, "invalid_request",
		    "client_id differs from the one of HTTP Basic", 1);
		goto done;
	}
	(void)strlcpy(id, bid, idsz);
	(void)strlcpy(secret, bsecret, secretsz);
	r = 0;
done:
	explicit_bzero(bsecret, sizeof(bsecret));
	if (r == -1)
		explicit_bzero(secret, secretsz);
	return r;
}

/* Registration (RFC 7591) */

static void
oauth_register(struct conn *c)
{
	struct oauth_register	 req;
	struct oauth_pending	*p;
	json_error_t		 jerr;
	json_t			*in, *doc;
	const char		*error = "invalid_client_metadata", *why = NULL;
	char			 key[OAUTH_RATE_KEY_MAX], hdr[64], *s;
	int64_t			 retry;

	if (!oauth_ctype_is(c, "application/json")) {
		json_error(c, 400, error,
		    "the body must be application/json", NULL);
		return;
	}
	if (c->bodylen > REGISTER_BODY_MAX) {
		json_error(c, 413, error, "the body is too large", NULL);
		return;
	}
	if ((in = json_loadb(c->body != NULL ? c->body : "", c->bodylen,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		json_error(c, 400, error,
		    "the body is not JSON or repeats a member", NULL);
		return;
	}
	doc = register_metadata(in, &error, &why);
	json_decref(in);
	if (doc == NULL) {
		json_error(c, 400, error, why, NULL);
		return;
	}

	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.auth_method, json_string_value(json_object_get(doc,
	    "token_endpoint_auth_method")), sizeof(req.auth_method));
	s = json_dumps(json_object_get(doc, "redirect_uris"), JSON_COMPACT);
	if (s == NULL || strlcpy(req.redirect_uris, s,
	    sizeof(req.redirect_uris)) >= sizeof(req.redirect_uris)) {
		free(s);
		json_decref(doc);
		json_error(c, 400, "invalid_redirect_uri",
		    "the redirect_uris are too long together", NULL);
		return;
	}
	free(s);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (s == NULL || strlcpy(req.metadata, s, sizeof(req.metadata)) >=
	    sizeof(req.metadata)) {
		free(s);
		json_error(c, 400, error, "the metadata is too large", NULL);
		return;
	}

	oauth_rate_key(c->peer, key, sizeof(key));
	if (!oauth_rate_take(&ratelimit, key, time(NULL),
	    http_env.cfg.register_rate_limit, &retry)) {
		free(s);
		log_info("%s: registration refused, rate limit of %u an hour "
		    "reached", c->peer, http_env.cfg.register_rate_limit);
		(void)snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n",
		    (long long)retry);
		json_error(c, 429, "too_many_requests",
		    "too many registrations from this address", hdr);
		return;
	}
	p = oauth_pending_new(c, OAUTH_OP_REGISTER, IMSG_OAUTH_REGISTER_OK);
	p->doc = s;
	oauth_send(c, IMSG_OAUTH_REGISTER, &req, sizeof(req));
}

/*
 * The registered metadata, normalised: every field brokerd keeps, with
 * the RFC 7591 defaults filled in; unknown members are dropped.  NULL
 * with *error and *why set if the request is refused.
 */
static json_t *
register_metadata(json_t *in, const char **error, const char **why)
{
	json_t	*doc;

	if (!json_is_object(in)) {
		*why = "the body is not a JSON object";
		return NULL;
	}
	if ((doc = json_object()) == NULL)
		fatalx("%s: json", __func__);
	if (reg_redirect_uris(in, doc, why) == -1) {
		*error = "invalid_redirect_uri";
		json_decref(doc);
		return NULL;
	}
	if (reg_auth_method(in, doc, why) == -1 ||
	    reg_word_list(in, doc, "grant_types", grant_types,
	    "authorization_code", why) == -1 ||
	    reg_word_list(in, doc, "response_types", response_types, "code",
	    why) == -1 ||
	    reg_strings(in, doc, why) == -1 ||
	    reg_contacts(in, doc, why) == -1) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int
reg_redirect_uris(json_t *in, json_t *doc, const char **why)
{
	json_t	*v, *u, *out;
	size_t	 i;

	v = json_object_get(in, "redirect_uris");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		*why = "redirect_uris must be a non-empty array of strings";
		return -1;
	}
	if (json_array_size(v) > REGISTER_REDIRECTS_MAX) {
		*why = "at most 16 redirect_uris may be registered";
		return -1;
	}
	if ((out = json_array()) == NULL)
		fatalx("%s: json", __func__);
	json_array_foreach(v, i, u) {
		if (!json_is_string(u)) {
			*why = "redirect_uris must be a non-empty array of "
			    "strings";
			json_decref(out);
			return -1;
		}
		if (oauth_redirect_uri_check(json_string_value(u), why) ==
		    -1) {
			json_decref(out);
			return -1;
		}
		(void)json_array_append(out, u);
	}
	(void)json_object_set_new(doc, "redirect_uris", out);
	return 0;
}

/* RFC 7591 section 2: absent means client_secret_basic. */
static int
reg_auth_method(json_t *in, json_t *doc, const char **why)
{
	json_t		*v;
	const char	*m = AUTH_METHOD_BASIC;

	v = json_object_get(in, "token_endpoint_auth_method");
	if (v != NULL && !json_is_null(v)) {
		m = json_is_string(v) ? json_string_value(v) : "";
		if (strcmp(m, AUTH_METHOD_NONE) != 0 &&
		    strcmp(m, AUTH_METHOD_POST) != 0 &&
		    strcmp(m, AUTH_METHOD_BASIC) != 0) {
			*why = "token_endpoint_auth_method must be none, "
			    "client_secret_post or client_secret_basic";
			return -1;
		}
	}
	(void)json_object_set_new(doc, "token_endpoint_auth_method",
	    json_string(m));
	return 0;
}

/*
 * grant_types and response_types: a non-empty subset of allowed,
 * without repeats, that includes required; absent means [required].
 */
static int
reg_word_list(json_t *in, json_t *doc, const char *name,
    const char *const *allowed, const char *required, const char **why)
{
	json_t		*v, *w, *out;
	size_t		 i, j;
	int		 k, have_required = 0;
	static char	 msg[128];

	(void)snprintf(msg, sizeof(msg), "%s must be a non-empty array "
	    "of supported values including %s", name, required);
	if ((out = json_array()) == NULL)
		fatalx("%s: json", __func__);
	v = json_object_get(in, name);
	if (v == NULL || json_is_null(v)) {
		(void)json_array_append_new(out, json_string(required));
		(void)json_object_set_new(doc, name, out);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		goto bad;
	json_array_foreach(v, i, w) {
		if (!json_is_string(w))
			goto bad;
		for (k = 0; allowed[k] != NULL; k++)
			if (strcmp(json_string_value(w), allowed[k]) == 0)
				break;
		if (allowed[k] == NULL)
			goto bad;
		if (strcmp(allowed[k], required) == 0)
			have_required = 1;
		for (j = 0; j < json_array_size(out); j++)
			if (json_equal(json_array_get(out, j), w))
				break;
		if (j == json_array_size(out))
			(void)json_array_append(out, w);
	}
	if (!have_required)
		goto bad;
	(void)json_object_set_new(doc, name, out);
	return 0;
bad:
	json_decref(out);
	*why = msg;
	return -1;
}

static int
reg_strings(json_t *in, json_t *doc, const char **why)
{
	const struct reg_string	*f;
	json_t			*v;
	const char		*s;
	static char		 msg[128];

	for (f = reg_string_fields; f->name != NULL; f++) {
		v = json_object_get(in, f->name);
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v) || !reg_string_ok(f,
		    json_string_value(v))) {
			(void)snprintf(msg, sizeof(msg), "%s is not a valid "
			    "value for this server", f->name);
			*why = msg;
			return -1;
		}
		s = json_string_value(v);
		/* Clients send "" for a URL they do not have. */
		if (f->kind == REG_URL && *s == '\0')
			continue;
		(void)json_object_set(doc, f->name, v);
	}
	return 0;
}

static int
reg_string_ok(const struct reg_string *f, const char *s)
{
	if (strlen(s) > f->max)
		return 0;
	switch (f->kind) {
	case REG_DISPLAY:
		return oauth_display_ok(s);
	case REG_URL:
		return *s == '\0' || oauth_web_uri_check(s) == 0;
	case REG_SCOPE:
		return oauth_printable(s) && strpbrk(s, "\"\\") == NULL;
	case REG_APP_TYPE:
		return strcmp(s, "web") == 0 || strcmp(s, "native") == 0;
	}
	return 0;
}

static int
reg_contacts(json_t *in, json_t *doc, const char **why)
{
	json_t	*v, *w;
	size_t	 i;

	v = json_object_get(in, "contacts");
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > REGISTER_CONTACTS_MAX)
		goto bad;
	json_array_foreach(v, i, w)
		if (!json_is_string(w) || strlen(json_string_value(w)) >
		    REGISTER_TEXT_MAX ||
		    !oauth_display_ok(json_string_value(w)))
			goto bad;
	(void)json_object_set(doc, "contacts", v);
	return 0;
bad:
	*why = "contacts must be an array of at most 8 short strings";
	return -1;
}

/*
 * 201 with every registered field (RFC 7591 section 3.2.1), and a
 * secret only if tokend issued one.
 */
static void
register_answer(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	struct oauth_registered	 reg;
	struct oauth_error	 err;
	json_t			*doc;
	char			*s;

	if (imsg_get_type(imsg) == IMSG_OAUTH_ERROR) {
		oauth_error_get(imsg, &err);
		oauth_pending_free(c);
		json_error(c, status_or(err.status, 400, 599, 500), err.error,
		    err.description, NULL);
		return;
	}
	oauth_imsg_data(imsg, &reg, sizeof(reg));
	reg.client_id[sizeof(reg.client_id) - 1] = '\0';
	reg.client_secret[sizeof(reg.client_secret) - 1] = '\0';
	doc = json_loads(p->doc, 0, NULL);
	oauth_pending_free(c);
	if (doc == NULL)
		fatalx("%s: json", __func__);
	(void)json_object_set_new(doc, "client_id",
	    json_string(reg.client_id));
	(void)json_object_set_new(doc, "client_id_issued_at",
	    json_integer(reg.issued_at));
	if (reg.client_secret[0] != '\0') {
		(void)json_object_set_new(doc, "client_secret",
		    json_string(reg.client_secret));
		(void)json_object_set_new(doc, "client_secret_expires_at",
		    json_integer(0));
	}
	explicit_bzero(&reg, sizeof(reg));
	if ((s = json_dumps(doc, JSON_COMPACT)) == NULL)
		fatalx("%s: json", __func__);
	json_decref(doc);
	json_respond(c, 201, s, strlen(s), NULL);
	freezero(s, strlen(s));
}

/* Token endpoint (RFC 6749 section 3.2) */

static void
oauth_token(struct conn *c)
{
	struct oauth_token_req	 req;
	struct oauth_pending	*p;
	char			 resource[PROTO_URL_MAX];
	int			 r;

	memset(&req, 0, sizeof(req));
	if (!oauth_ctype_is(c, "application/x-www-form-urlencoded")) {
		token_error(c, 400, "invalid_request", "the body must be "
		    "application/x-www-form-urlencoded", 0);
		return;
	}
	if (client_credentials(c, req.client_id, sizeof(req.client_id),
	    req.client_secret, sizeof(req.client_secret),
	    &req.auth_basic) == -1)
		goto done;
	if (form_field(c, "grant_type", req.grant_type,
	    sizeof(req.grant_type)) != 1) {
		token_error(c, 400, "invalid_request",
		    "grant_type is missing, repeated or not valid",
		    req.auth_basic);
		goto done;
	}
	if (strcmp(req.grant_type, "authorization_code") != 0 &&
	    strcmp(req.grant_type, "refresh_token") != 0) {
		token_error(c, 400, "unsupported_grant_type", "grant_type "
		    "must be authorization_code or refresh_token",
		    req.auth_basic);
		goto done;
	}
	if (form_field(c, "code", req.code, sizeof(req.code)) == -1 ||
	    form_field(c, "code_verifier", req.code_verifier,
	    sizeof(req.code_verifier)) == -1 ||
	    form_field(c, "refresh_token", req.refresh_token,
	    sizeof(req.refresh_token)) == -1 ||
	    form_field(c, "scope", req.scope, sizeof(req.scope)) == -1 ||
	    form_field(c, "resource", resource, sizeof(resource)) == -1 ||
	    (r = form_field(c, "redirect_uri", req.redirect_uri,
	    sizeof(req.redirect_uri))) == -1) {
		token_error(c, 400, "invalid_request",
		    "a parameter is repeated, malformed or too long",
		    req.auth_basic);
		goto done;
	}
	req.has_redirect_uri = r == 1;
	if (*resource != '\0' && oauth_resource_canon(resource,
	    req.resource, sizeof(req.resource)) == -1) {
		token_error(c, 400, "invalid_target",
		    "resource names no endpoint of this server",
		    req.auth_basic);
		goto done;
	}
	p = oauth_pending_new(c, OAUTH_OP_TOKEN, IMSG_OAUTH_TOKEN_OK);
	p->basic = req.auth_basic;
	oauth_send(c, IMSG_OAUTH_TOKEN, &req, sizeof(req));
done:
	explicit_bzero(&req, sizeof(req));
}

/*
 * tokend's refusal of a token or revocation request, answered as RFC 6749
 * section 5.2 says for both.  1 if imsg was one, 0 if it is an answer.
 */
static int
token_refused(struct conn *c, struct imsg *imsg, int basic)
{
	struct oauth_error	 err;

	if (imsg_get_type(imsg) != IMSG_OAUTH_ERROR)
		return 0;
	oauth_error_get(imsg, &err);
	token_error(c, status_or(err.status, 400, 599, 400), err.error,
	    err.description, basic);
	return 1;
}

/*
 * The token response is written by hand rather than with jansson, so
 * that no copy of a token is left behind in freed memory.  The tokens
 * are base64url and the scope is checked, so nothing needs escaping.
 */
static void
token_answer(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	struct oauth_token	 tok;
	char			 body[3 * PROTO_TOKEN_MAX + PROTO_SCOPE_MAX];
	int			 basic = p->basic, n;

	oauth_pending_free(c);
	if (token_refused(c, imsg, basic))
		return;
	oauth_imsg_data(imsg, &tok, sizeof(tok));
	tok.access_token[sizeof(tok.access_token) - 1] = '\0';
	tok.refresh_token[sizeof(tok.refresh_token) - 1] = '\0';
	tok.scope[sizeof(tok.scope) - 1] = '\0';
	if (tok.access_token[0] == '\0' ||
	    strspn(tok.access_token, B64URL_CHARS) !=
	    strlen(tok.access_token) ||
	    strspn(tok.refresh_token, B64URL_CHARS) !=
	    strlen(tok.refresh_token) ||
	    strspn(tok.scope, B64URL_CHARS " :.") != strlen(tok.scope)) {
		explicit_bzero(&tok, sizeof(tok));
		log_warnx("%s: tokend issued a token brokerd cannot send",
		    __func__);
		token_error(c, 500, "server_error", NULL, basic);
		return;
	}
	n = snprintf(body, sizeof(body), "{\"access_token\":\"%s\","
	    "\"token_type\":\"Bearer\",\"expires_in\":%lld%s%s%s%s%s%s}",
	    tok.access_token, (long long)(tok.expires_in > 0 ?
	    tok.expires_in : 0),
	    tok.refresh_token[0] != '\0' ? ",\"refresh_token\":\"" : "",
	    tok.refresh_token, tok.refresh_token[0] != '\0' ? "\"" : "",
	    tok.scope[0] != '\0' ? ",\"scope\":\"" : "", tok.scope,
	    tok.scope[0] != '\0' ? "\"" : "");
	explicit_bzero(&tok, sizeof(tok));
	if (n < 0 || (size_t)n >= sizeof(body))
		fatalx("%s: token response too long", __func__);
	json_respond(c, 200, body, n, "Pragma: no-cache\r\n");
	explicit_bzero(body, sizeof(body));
}

/* Revocation (RFC 7009) */

static void
oauth_revoke(struct conn *c)
{
	struct oauth_revoke_req	 req;
	struct oauth_pending	*p;
	int			 r;

	memset(&req, 0, sizeof(req));
	if (!oauth_ctype_is(c, "application/x-www-form-urlencoded")) {
		token_error(c, 400, "invalid_request", "the body must be "
		    "application/x-www-form-urlencoded", 0);
		return;
	}
	if (client_credentials(c, req.client_id, sizeof(req.client_id),
	    req.client_secret, sizeof(req.client_secret),
	    &req.auth_basic) == -1)
		goto done;
	if ((r = form_field(c, "token", req.token, sizeof(req.token))) != 1 ||
	    req.token[0] == '\0') {
		token_error(c, 400, "invalid_request", r == -1 ?
		    "token is repeated, malformed or too long" :
		    "token is missing", req.auth_basic);
		goto done;
	}
	if (form_field(c, "token_type_hint", req.token_type_hint,
	    sizeof(req.token_type_hint)) == -1) {
		token_error(c, 400, "invalid_request",
		    "token_type_hint is repeated or not valid",
		    req.auth_basic);
		goto done;
	}
	p = oauth_pending_new(c, OAUTH_OP_REVOKE, IMSG_OAUTH_REVOKE_OK);
	p->basic = req.auth_basic;
	oauth_send(c, IMSG_OAUTH_REVOKE, &req, sizeof(req));
done:
	explicit_bzero(&req, sizeof(req));
}

static void
revoke_answer(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	int			 basic = p->basic;

	oauth_pending_free(c);
	if (token_refused(c, imsg, basic))
		return;
	if (imsg_get_len(imsg) != 0)
		fatalx("%s: IMSG_OAUTH_REVOKE_OK with a payload", __func__);
	conn_respond(c, 200, NULL, "", 0, oauth_cors_headers());
}

/* Bearer check (RFC 6750) */

void
oauth_require_bearer(struct conn *c, const char *resource_path,
    void (*ok)(struct conn *, const struct auth_bearer *))
{
	struct auth_bearer_req	 req;
	struct oauth_pending	*p;
	const char		*hdr, *path;
	char			 token[PROTO_TOKEN_MAX];
	int			 n;

	/* Only two challenges exist; keep a pointer to our own string. */
	path = strcmp(resource_path, "/sse") == 0 ? "/sse" : "/mcp";
	if (token_elsewhere(c)) {
		bearer_challenge(c, 400, path, "invalid_request",
		    "send the access token in the Authorization header only");
		return;
	}
	n = http_header_count(&c->req, "Authorization");
	if (n > 1) {
		bearer_challenge(c, 400, path, "invalid_request",
		    "the Authorization header is repeated");
		return;
	}
	if (n == 0 || (hdr = http_header(&c->req, "Authorization")) == NULL) {
		bearer_challenge(c, 401, path, NULL, NULL);
		return;
	}
	switch (oauth_bearer_parse(hdr, token, sizeof(token))) {
	case OAUTH_BEARER_OTHER:
		bearer_challenge(c, 401, path, NULL, NULL);
		return;
	case OAUTH_BEARER_BAD:
		bearer_challenge(c, 401, path, "invalid_token",
		    "the access token is not valid");
		return;
	}
	memset(&req, 0, sizeof(req));
	sha256_hex(token, strlen(token), req.token_hash);
	explicit_bzero(token, sizeof(token));
	p = oauth_pending_new(c, OAUTH_OP_BEARER, IMSG_AUTH_BEARER_OK);
	p->resource_path = path;
	p->bearer_ok = ok;
	oauth_send(c, IMSG_AUTH_BEARER, &req, sizeof(req));
}

/*
 * RFC 6750 section 2 allows tokens in a form body or the query too,
 * but MCP forbids both (mcp-spec.md section 1.8): such a request is
 * refused even if it also has the header.
 */
static int
token_elsewhere(struct conn *c)
{
	char	 v[8];
	int	 r;

	if (c->req.query != NULL) {
		r = http_form_get(c->req.query, strlen(c->req.query),
		    "access_token", v, sizeof(v));
		/* -1: malformed or long; the name alone is enough then. */
		if (r == 1 || r == -2 || (r == -1 &&
		    strstr(c->req.query, "access_token=") != NULL))
			return 1;
	}
	if (c->bodylen > 0 &&
	    oauth_ctype_is(c, "application/x-www-form-urlencoded")) {
		r = http_form_get(c->body, c->bodylen, "access_token", v,
		    sizeof(v));
		if (r == 1 || r == -2 || (r == -1 &&
		    strstr(c->body, "access_token=") != NULL))
			return 1;
	}
	return 0;
}

/*
 * 401 (or 400) with the challenge that starts a client's OAuth flow:
 * no error without credentials (RFC 6750 section 3.1), every value
 * quoted and free of '=', ',' and '"' (mcp-spec.md section 3.9).
 */
static void
bearer_challenge(struct conn *c, int status, const char *path,
    const char *error, const char *desc)
{
	char	 hdr[PROTO_URL_MAX + 256];

	if (error == NULL)
		(void)snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
		    "resource_metadata=\"%s/.well-known/"
		    "oauth-protected-resource%s\"\r\n",
		    http_env.cfg.public_url, path);
	else
		(void)snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
		    "resource_metadata=\"%s/.well-known/"
		    "oauth-protected-resource%s\", error=\"%s\", "
		    "error_description=\"%s\"\r\n", http_env.cfg.public_url,
		    path, error, desc);
	json_error(c, status, error != NULL ? error : "unauthorized",
	    error != NULL ? desc : "an access token is required", hdr);
}

static void
bearer_answer(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	struct auth_bearer	 b;
	struct oauth_error	 err;
	void			(*ok)(struct conn *,
				    const struct auth_bearer *);
	const char		*path = p->resource_path;
	char			 norm[PROTO_URL_MAX];

	ok = p->bearer_ok;
	oauth_pending_free(c);
	if (imsg_get_type(imsg) == IMSG_OAUTH_ERROR) {
		oauth_error_get(imsg, &err);
		if (err.status >= 500)
			json_error(c, status_or(err.status, 500, 599, 500),
			    err.error, err.description, NULL);
		else
			bearer_challenge(c, 401, path, "invalid_token",
			    "the access token is invalid or expired or "
			    "revoked");
		return;
	}
	oauth_imsg_data(imsg, &b, sizeof(b));
	b.username[sizeof(b.username) - 1] = '\0';
	b.client_id[sizeof(b.client_id) - 1] = '\0';
	b.grant_id[sizeof(b.grant_id) - 1] = '\0';
	b.resource[sizeof(b.resource) - 1] = '\0';
	b.scope[sizeof(b.scope) - 1] = '\0';
	/* A token bound to a resource is good for that endpoint only. */
	if (b.resource[0] != '\0' && (oauth_resource_normalize(b.resource,
	    norm, sizeof(norm)) == -1 || strcmp(norm, strcmp(path, "/sse") ==
	    0 ? canon_sse : canon_mcp) != 0)) {
		log_debug("%s: token of %s for another resource", c->peer,
		    b.client_id);
		bearer_challenge(c, 401, path, "invalid_token",
		    "the access token was issued for another resource");
		return;
	}
	ok(c, &b);
	explicit_bzero(&b, sizeof(b));
}
