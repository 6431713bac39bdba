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
 * The authorization endpoint, the consent page and Forgejo's way back
 * (/callback), in the http process.
 *
 * GET /authorize checks the request in the order RFC 6749 section
 * 4.1.2.1 demands: until client_id and redirect_uri are known good,
 * every error is a page for the user and nothing is redirected; after
 * that, errors go to the client's redirect URI with state and iss
 * (RFC 9207).  A good request gets the consent page, whose form posts
 * every parameter back with a CSRF token bound to them
 * (oauth_csrf_make()); POST /authorize checks it all again.
 *
 * A page of another site could fetch a consent form of its own and
 * have the user's browser post it.  So the token is bound to the
 * browser too: the consent page sets a cookie with a fresh nonce,
 * which the token carries and its MAC covers, and a POST whose Cookie
 * does not carry that nonce is refused.  The cookie is SameSite=Strict
 * and, with an https public url, __Host-.  Each GET overwrites it, so
 * only the consent page a browser fetched last can be posted.
 *
 * A form is good once: the nonces of the forms posted are kept until
 * their forms expire, in a table of OAUTH_NONCE_SLOTS.  When that is
 * full of live nonces, consents are refused with 503 until one
 * expires, rather than one forgotten that could then be posted again.
 *
 * Browsers also tell where a form comes from, so a POST whose
 * Sec-Fetch-Site is not same-origin, or whose Origin is another
 * origin, is refused as well.  Origin may be "null": this page's
 * Referrer-Policy makes browsers send that; old browsers send neither
 * header, which the cookie covers.
 *
 * The page's Content-Security-Policy lets the form's navigation go on
 * to Forgejo and to the client's redirect URI, not just to 'self':
 * browsers apply form-action to the redirects after a form, and
 * "approve" ends at Forgejo, "deny" at the client.
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

#define URL_MAX		8192	/* a redirect URI with our parameters */
#define CSP_SOURCE_MAX	PROTO_URL_MAX

#define PAGE_HEADERS \
	"X-Frame-Options: DENY\r\n" \
	"Referrer-Policy: no-referrer\r\n"
#define PAGE_CSP \
	"Content-Security-Policy: default-src 'none'; " \
	"style-src 'unsafe-inline'; frame-ancestors 'none'; " \
	"form-action 'self'"
#define PAGE_STYLE \
	"body{font-family:system-ui,sans-serif;line-height:1.5;" \
	"max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;" \
	"background:#fff}" \
	"h1{font-size:1.5rem}" \
	"dt{font-weight:bold;margin-top:.75rem}" \
	"dd{margin-left:0}" \
	"code{word-break:break-all;background:#f3f3f3;padding:0 .2rem}" \
	".tag{font-size:.85rem;border:1px solid #a15c00;color:#a15c00;" \
	"border-radius:.25rem;padding:0 .3rem}" \
	".note{color:#555}" \
	"fieldset{border:0;padding:0;margin:1.5rem 0}" \
	"legend{font-weight:bold;margin-bottom:.5rem}" \
	"button{font-size:1rem;padding:.5rem 1.25rem;margin-right:1rem}"

static void	 authz_bad(struct oauth_pending *, const char *, const char *);
static int	 authz_parse(const char *, size_t, struct oauth_pending *,
		    const char **);
static void	 authz_parse_state(const char *, size_t,
		    struct oauth_pending *);
static void	 authz_parse_pkce(const char *, size_t, struct oauth_pending *);
static void	 authz_parse_target(const char *, size_t,
		    struct oauth_pending *);
static int	 consent_post_ok(struct conn *, struct oauth_pending *,
		    const char *, size_t);
static int	 consent_cookie(struct conn *, char *, size_t);
static int	 consent_once(struct conn *, const char *, int64_t);
static int	 same_origin(struct conn *);
static void	 authz_client(struct conn *, struct oauth_pending *,
		    struct imsg *);
static int	 authz_redirect(struct oauth_pending *,
		    const struct oauth_client *);
static void	 authz_approved(struct conn *, struct oauth_pending *);
static void	 authz_forgejo(struct conn *, struct oauth_pending *,
		    struct imsg *);
static int	 client_url(char *, size_t, const char *, const char *,
		    const char *, const char *, int);
static void	 redirect_client(struct conn *, int, const char *,
		    const char *, const char *, const char *, int);
static void	 callback_answer(struct conn *, struct imsg *);
static void	 callback_error(struct conn *, struct oauth_error *);
static void	 callback_upstream_page(struct conn *, struct oauth_error *);
static void	 consent_page(struct conn *, struct oauth_pending *,
		    const struct oauth_client *);
static void	 consent_describe(struct evbuffer *, struct oauth_pending *,
		    const struct oauth_client *);
static void	 consent_form(struct evbuffer *, struct oauth_pending *,
		    const char *);
static struct evbuffer *page_begin(const char *);
static void	 page_respond(struct conn *, int, struct evbuffer *,
		    const char *, const char *);
static void	 page_message(struct conn *, int, const char *, const char *);
static void	 html_add(struct evbuffer *, const char *);
static void	 html_hidden(struct evbuffer *, const char *, const char *);
static int	 status_5xx(int32_t);

static uint8_t			 csrf_key[32];
static char			 forgejo_source[CSP_SOURCE_MAX];
static const char		*cookie_name;
static struct oauth_nonces	 used_nonces;

/* The CSRF key lives as long as the process: forms outlive no restart. */
void
consent_init(void)
{
	arc4random_buf(csrf_key, sizeof(csrf_key));
	cookie_name = oauth_consent_cookie_name(http_env.cfg.public_url);
	if (oauth_csp_source(http_env.cfg.forgejo_url, forgejo_source,
	    sizeof(forgejo_source)) == -1)
		forgejo_source[0] = '\0';
}

/* GET /authorize (the request) and POST /authorize (the decision). */
void
consent_authorize(struct conn *c)
{
	struct oauth_client_req	 req;
	struct oauth_pending	*p;
	const char		*form, *why = NULL;
	size_t			 len;

	if (c->req.method == HTTP_METHOD_POST) {
		if (!oauth_ctype_is(c, "application/x-www-form-urlencoded")) {
			page_message(c, 400, "Invalid consent form",
			    "The form did not arrive as a form.");
			return;
		}
		form = c->body != NULL ? c->body : "";
		len = c->bodylen;
	} else {
		form = c->req.query != NULL ? c->req.query : "";
		len = strlen(form);
	}
	p = oauth_pending_new(c, OAUTH_OP_AUTHZ, IMSG_OAUTH_CLIENT_OK);
	p->post = c->req.method == HTTP_METHOD_POST;
	if (authz_parse(form, len, p, &why) == -1) {
		oauth_pending_free(c);
		page_message(c, 400, "Invalid authorization request", why);
		return;
	}
	if (p->post && consent_post_ok(c, p, form, len) == -1)
		return;
	memset(&req, 0, sizeof(req));
	(void)strlcpy(req.client_id, p->authz.client_id,
	    sizeof(req.client_id));
	oauth_send(c, IMSG_OAUTH_CLIENT, &req, sizeof(req));
}

/* GET /callback: Forgejo sends the browser back with code or error. */
void
consent_callback(struct conn *c)
{
	struct oauth_callback	 cb;
	const char		*q = c->req.query != NULL ? c->req.query : "";
	size_t			 len = strlen(q);
	int			 r;

	memset(&cb, 0, sizeof(cb));
	if (http_form_get(q, len, "state", cb.state, sizeof(cb.state)) != 1 ||
	    cb.state[0] == '\0' ||
	    http_form_get(q, len, "code", cb.code, sizeof(cb.code)) < 0) {
		explicit_bzero(&cb, sizeof(cb));
		page_message(c, 400, "Invalid sign-in response",
		    "This address lacks what Forgejo sends back after a "
		    "sign-in. Start again from the application.");
		return;
	}
	r = http_form_get(q, len, "error", cb.error, sizeof(cb.error));
	/* An error too long or too odd is still an error. */
	if (r < 0 || (r == 1 && !oauth_error_code_ok(cb.error)))
		(void)strlcpy(cb.error, "server_error", sizeof(cb.error));
	(void)oauth_pending_new(c, OAUTH_OP_CALLBACK, IMSG_OAUTH_CALLBACK_OK);
	oauth_send(c, IMSG_OAUTH_CALLBACK, &cb, sizeof(cb));
	explicit_bzero(&cb, sizeof(cb));
}

void
consent_answer(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	switch (p->op) {
	case OAUTH_OP_AUTHZ:
		authz_client(c, p, imsg);
		break;
	case OAUTH_OP_CONSENT:
		authz_forgejo(c, p, imsg);
		break;
	case OAUTH_OP_CALLBACK:
		oauth_pending_free(c);
		callback_answer(c, imsg);
		break;
	default:
		fatalx("%s: operation %d", __func__, p->op);
	}
}

/* Parsing */

/* The first problem is the one the client hears of. */
static void
authz_bad(struct oauth_pending *p, const char *error, const char *desc)
{
	if (p->bad_error == NULL) {
		p->bad_error = error;
		p->bad_desc = desc;
	}
}

/*
 * Reads an authorization request from a query string or a form body.
 * -1 with *why set if it cannot even be tied to a client and a
 * redirect URI; other problems are kept for the client, which learns
 * of them once it is known (authz_client()).
 */
static int
authz_parse(const char *form, size_t len, struct oauth_pending *p,
    const char **why)
{
	struct oauth_authz	*a = &p->authz;
	char			 rtype[32];
	int			 r;

	r = http_form_get(form, len, "client_id", a->client_id,
	    sizeof(a->client_id));
	if (r != 1 || a->client_id[0] == '\0' ||
	    !oauth_printable(a->client_id)) {
		*why = r == -2 ? "The request names more than one client." :
		    "The request names no valid client (client_id).";
		return -1;
	}
	r = http_form_get(form, len, "redirect_uri", a->redirect_uri,
	    sizeof(a->redirect_uri));
	if (r < 0) {
		*why = "The redirect URI of the request (redirect_uri) is "
		    "repeated or not valid.";
		return -1;
	}
	p->has_redirect = r == 1;

	r = http_form_get(form, len, "response_type", rtype, sizeof(rtype));
	if (r == 0)
		authz_bad(p, "invalid_request", "response_type is missing");
	else if (r < 0)
		authz_bad(p, "invalid_request",
		    "response_type is repeated or not valid");
	else if (strcmp(rtype, "code") != 0)
		authz_bad(p, "unsupported_response_type",
		    "only response_type code is supported");
	authz_parse_state(form, len, p);
	authz_parse_pkce(form, len, p);
	authz_parse_target(form, len, p);
	return 0;
}

/* RFC 6749 appendix A.5: state is printable ASCII, echoed as is. */
static void
authz_parse_state(const char *form, size_t len, struct oauth_pending *p)
{
	struct oauth_authz	*a = &p->authz;
	int			 r;

	r = http_form_get(form, len, "state", a->state, sizeof(a->state));
	if (r == 1 && oauth_printable(a->state))
		a->has_state = 1;
	else if (r == 1)
		authz_bad(p, "invalid_request",
		    "state may hold printable ASCII only");
	else if (r < 0)
		authz_bad(p, "invalid_request",
		    "state is repeated or too long");
	if (!a->has_state)
		a->state[0] = '\0';
}

/* PKCE for every client, and S256 only (RFC 9700 section 2.1.1). */
static void
authz_parse_pkce(const char *form, size_t len, struct oauth_pending *p)
{
	struct oauth_authz	*a = &p->authz;
	char			 method[16];
	int			 r;

	r = http_form_get(form, len, "code_challenge", a->code_challenge,
	    sizeof(a->code_challenge));
	if (r == 0)
		authz_bad(p, "invalid_request", "code_challenge is required");
	else if (r < 0)
		authz_bad(p, "invalid_request",
		    "code_challenge is repeated or too long");
	else if (!oauth_challenge_valid(a->code_challenge))
		authz_bad(p, "invalid_request",
		    "code_challenge must be 43 to 128 characters of base64url");
	/* No method means plain (RFC 7636 section 4.3). */
	if (http_form_get(form, len, "code_challenge_method", method,
	    sizeof(method)) != 1 || strcmp(method, "S256") != 0)
		authz_bad(p, "invalid_request",
		    "code_challenge_method must be S256");
}

/* resource (RFC 8707) and scope, in their canonical forms. */
static void
authz_parse_target(const char *form, size_t len, struct oauth_pending *p)
{
	struct oauth_authz	*a = &p->authz;
	char			 buf[PROTO_URL_MAX];
	int			 r;

	r = http_form_get(form, len, "resource", buf, sizeof(buf));
	if (r == -2)
		authz_bad(p, "invalid_target",
		    "only one resource is supported");
	else if (r == -1 || (r == 1 && oauth_resource_canon(buf, a->resource,
	    sizeof(a->resource)) == -1))
		authz_bad(p, "invalid_target",
		    "resource must name the MCP endpoint of this server");
	r = http_form_get(form, len, "scope", buf, sizeof(buf));
	if (r < 0)
		authz_bad(p, "invalid_request",
		    "scope is repeated or too long");
	else if (oauth_scope_normalize(r == 1 ? buf : "", a->scope,
	    sizeof(a->scope)) == -1)
		authz_bad(p, "invalid_scope", "the only scope is mcp");
}

/*
 * The decision: posted from our own page by the browser it was shown
 * to, with a CSRF token that matches every parameter and is fresh, a
 * consent of approve or deny, and not posted before.  -1 once the
 * refusal is answered.
 */
static int
consent_post_ok(struct conn *c, struct oauth_pending *p, const char *form,
    size_t len)
{
	char	 csrf[OAUTH_CSRF_MAX], consent[16], nonce[OAUTH_NONCE_MAX];
	int64_t	 expires;
	int	 r = -1;

	if (!same_origin(c)) {
		oauth_pending_free(c);
		log_info("%s: consent form posted from another site refused",
		    c->peer);
		page_message(c, 403, "Consent refused",
		    "This form was not sent from this server's own consent "
		    "page. Start again from the application.");
		return -1;
	}
	if (consent_cookie(c, nonce, sizeof(nonce)) == -1) {
		log_info("%s: consent form posted without its cookie, or "
		    "with it twice", c->peer);
		goto expired;
	}
	if (http_form_get(form, len, "csrf_token", csrf, sizeof(csrf)) != 1 ||
	    oauth_csrf_check(csrf_key, sizeof(csrf_key), time(NULL),
	    &p->authz, csrf, nonce, &expires) == -1) {
		log_info("%s: consent form with a missing, wrong or expired "
		    "csrf token, or another browser's", c->peer);
		goto expired;
	}
	if (http_form_get(form, len, "consent", consent, sizeof(consent)) !=
	    1 || (strcmp(consent, "approve") != 0 &&
	    strcmp(consent, "deny") != 0)) {
		oauth_pending_free(c);
		page_message(c, 400, "Invalid consent form",
		    "The form carries no decision.");
		goto done;
	}
	if (consent_once(c, nonce, expires) == 0) {
		p->approve = strcmp(consent, "approve") == 0;
		r = 0;
	}
	goto done;
expired:
	oauth_pending_free(c);
	page_message(c, 403, "Consent form expired",
	    "This consent form is not valid any more, or was changed. "
	    "Start again from the application.");
done:
	explicit_bzero(csrf, sizeof(csrf));
	explicit_bzero(nonce, sizeof(nonce));
	return r;
}

/*
 * The nonce of the consent cookie, which must come once, in one of
 * the request's Cookie fields.  -1 if it does not.
 */
static int
consent_cookie(struct conn *c, char *out, size_t outsz)
{
	const struct http_header	*h;
	size_t				 i;
	int				 r, found = 0;

	for (i = 0; i < c->req.nheaders; i++) {
		h = &c->req.headers[i];
		if (strcasecmp(h->name, "Cookie") != 0)
			continue;
		if ((r = oauth_cookie_get(h->value, cookie_name, out,
		    outsz)) < 0) {
			found = 2;
			break;
		}
		found += r;
	}
	if (found != 1) {
		explicit_bzero(out, outsz);
		return -1;
	}
	return 0;
}

/* The form is used up now, or the consent is refused and -1. */
static int
consent_once(struct conn *c, const char *nonce, int64_t expires)
{
	switch (oauth_nonce_use(&used_nonces, nonce, time(NULL), expires)) {
	case OAUTH_NONCE_FRESH:
		return 0;
	case OAUTH_NONCE_FULL:
		oauth_pending_free(c);
		log_warnx("%s: consent refused: all %d consent forms "
		    "remembered as used are still live", c->peer,
		    OAUTH_NONCE_SLOTS);
		page_message(c, 503, "Temporarily unavailable",
		    "Too many consents were given in the last minutes. Try "
		    "again later.");
		return -1;
	default:
		oauth_pending_free(c);
		log_info("%s: consent form posted again refused", c->peer);
		page_message(c, 403, "Consent form already used",
		    "This consent was already given, or refused, with this "
		    "form. Start again from the application.");
		return -1;
	}
}

static int
same_origin(struct conn *c)
{
	const char	*site, *origin;
	char		 norm[PROTO_URL_MAX];

	if (http_header_count(&c->req, "Sec-Fetch-Site") > 1 ||
	    http_header_count(&c->req, "Origin") > 1)
		return 0;
	site = http_header(&c->req, "Sec-Fetch-Site");
	if (site != NULL && strcasecmp(site, "same-origin") != 0)
		return 0;
	origin = http_header(&c->req, "Origin");
	if (origin == NULL || strcmp(origin, "null") == 0)
		return 1;
	return oauth_resource_normalize(origin, norm, sizeof(norm)) == 0 &&
	    strcmp(norm, oauth_public_origin()) == 0;
}

/* The client is known */

static void
authz_client(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	struct oauth_client	 oc;
	struct oauth_error	 err;

	if (imsg_get_type(imsg) == IMSG_OAUTH_ERROR) {
		oauth_error_get(imsg, &err);
		oauth_pending_free(c);
		if (err.status >= 500)
			page_message(c, status_5xx(err.status),
			    "Temporarily unavailable", "The server could not "
			    "look up the application. Try again later.");
		else
			page_message(c, 400, "Unknown application",
			    "The application that sent you here is not "
			    "registered with this server, or not any more. "
			    "Nothing was sent to it. Start again from the "
			    "application.");
		return;
	}
	oauth_imsg_data(imsg, &oc, sizeof(oc));
	oc.client_id[sizeof(oc.client_id) - 1] = '\0';
	oc.auth_method[sizeof(oc.auth_method) - 1] = '\0';
	oc.redirect_uris[sizeof(oc.redirect_uris) - 1] = '\0';
	oc.metadata[sizeof(oc.metadata) - 1] = '\0';
	if (authz_redirect(p, &oc) == -1) {
		oauth_pending_free(c);
		page_message(c, 400, "Invalid redirect URI",
		    "The redirect URI of this request is missing or is not "
		    "one the application registered, so this server will not "
		    "send you there. Nothing was sent to it.");
		return;
	}
	if (p->bad_error != NULL)
		redirect_client(c, p->post ? 303 : 302, p->authz.redirect_uri,
		    p->bad_error, p->bad_desc, p->authz.state,
		    p->authz.has_state);
	else if (!p->post)
		consent_page(c, p, &oc);
	else if (!p->approve)
		redirect_client(c, 303, p->authz.redirect_uri,
		    "access_denied", "the user denied access",
		    p->authz.state, p->authz.has_state);
	else
		authz_approved(c, p);
}

/*
 * The redirect URI of the request matches one registered (exactly, or
 * but for the port of a loopback one), or, if the request has none,
 * is the only one registered.
 */
static int
authz_redirect(struct oauth_pending *p, const struct oauth_client *oc)
{
	json_t		*list, *u;
	size_t		 i;
	int		 found = 0;

	if ((list = json_loads(oc->redirect_uris, 0, NULL)) == NULL ||
	    !json_is_array(list)) {
		log_warnx("%s: client %s has no valid redirect_uris",
		    __func__, oc->client_id);
		json_decref(list);
		return -1;
	}
	if (!p->has_redirect) {
		u = json_array_get(list, 0);
		if (json_array_size(list) == 1 && json_is_string(u) &&
		    strlcpy(p->authz.redirect_uri, json_string_value(u),
		    sizeof(p->authz.redirect_uri)) <
		    sizeof(p->authz.redirect_uri))
			found = 1;
	} else
		json_array_foreach(list, i, u)
			if (json_is_string(u) && oauth_redirect_match(
			    json_string_value(u), p->authz.redirect_uri))
				found = 1;
	json_decref(list);
	return found ? 0 : -1;
}

/* Consent given: tokend remembers the request and names Forgejo's URL. */
static void
authz_approved(struct conn *c, struct oauth_pending *p)
{
	struct oauth_authorize	 a;

	memset(&a, 0, sizeof(a));
	(void)strlcpy(a.client_id, p->authz.client_id, sizeof(a.client_id));
	(void)strlcpy(a.redirect_uri, p->authz.redirect_uri,
	    sizeof(a.redirect_uri));
	(void)strlcpy(a.code_challenge, p->authz.code_challenge,
	    sizeof(a.code_challenge));
	(void)strlcpy(a.scope, p->authz.scope, sizeof(a.scope));
	(void)strlcpy(a.resource, p->authz.resource, sizeof(a.resource));
	(void)strlcpy(a.state, p->authz.state, sizeof(a.state));
	a.has_state = p->authz.has_state;
	p->op = OAUTH_OP_CONSENT;
	p->expect = IMSG_OAUTH_AUTHORIZE_OK;
	oauth_send(c, IMSG_OAUTH_AUTHORIZE, &a, sizeof(a));
	explicit_bzero(&a, sizeof(a));
}

static void
authz_forgejo(struct conn *c, struct oauth_pending *p, struct imsg *imsg)
{
	struct oauth_redirect	 r;
	struct oauth_error	 err;
	char			 hdrs[PROTO_UPSTREAM_URL_MAX + 128];

	if (imsg_get_type(imsg) == IMSG_OAUTH_ERROR) {
		/* The redirect URI is checked: the client hears of it. */
		oauth_error_get(imsg, &err);
		redirect_client(c, 303, p->authz.redirect_uri, err.error,
		    err.description, p->authz.state, p->authz.has_state);
		return;
	}
	oauth_pending_free(c);
	oauth_imsg_data(imsg, &r, sizeof(r));
	r.url[sizeof(r.url) - 1] = '\0';
	if (r.url[0] == '\0' || !oauth_printable(r.url) ||
	    strchr(r.url, ' ') != NULL) {
		log_warnx("%s: tokend sent no usable forgejo url", __func__);
		page_message(c, 500, "Internal error",
		    "The server could not send you on to Forgejo.");
		return;
	}
	(void)snprintf(hdrs, sizeof(hdrs), "Location: %s\r\n"
	    "Referrer-Policy: no-referrer\r\n", r.url);
	explicit_bzero(&r, sizeof(r));
	conn_respond(c, 303, NULL, "", 0, hdrs);
	explicit_bzero(hdrs, sizeof(hdrs));
}

/* Back to the client */

/*
 * The client's redirect URI with our parameters added to whatever
 * query it has: name=value (if name is set), error_description,
 * state (if the client sent one) and iss (RFC 9207).
 */
static int
client_url(char *url, size_t urlsz, const char *redirect, const char *name,
    const char *value, const char *desc, int has_state)
{
	const char	*why;

	/* Only where a client may be sent: never a made-up URL. */
	if (oauth_redirect_uri_check(redirect, &why) == -1 ||
	    strlcpy(url, redirect, urlsz) >= urlsz)
		return -1;
	if (name != NULL && oauth_url_add_param(url, urlsz, name, value) == -1)
		return -1;
	if (desc != NULL && *desc != '\0' &&
	    oauth_url_add_param(url, urlsz, "error_description", desc) == -1)
		return -1;
	return has_state ? 0 : 1;
}

/*
 * 302 after a GET, 303 after the form (RFC 9700 section 4.12), never
 * 307.  The pending request goes: its strings are copied first.
 */
static void
redirect_client(struct conn *c, int status, const char *redirect,
    const char *error, const char *desc, const char *state, int has_state)
{
	char	 url[URL_MAX], hdrs[URL_MAX + 64];
	int	 r;

	r = client_url(url, sizeof(url), redirect, "error", error, desc,
	    has_state);
	if (r == 0 && oauth_url_add_param(url, sizeof(url), "state",
	    state) == -1)
		r = -1;
	if (r != -1 && oauth_url_add_param(url, sizeof(url), "iss",
	    http_env.cfg.public_url) == -1)
		r = -1;
	oauth_pending_free(c);
	if (r == -1) {
		page_message(c, 500, "Internal error",
		    "The server could not send you back to the application.");
		return;
	}
	(void)snprintf(hdrs, sizeof(hdrs), "Location: %s\r\n"
	    "Referrer-Policy: no-referrer\r\n", url);
	conn_respond(c, status, NULL, "", 0, hdrs);
}

static void
callback_answer(struct conn *c, struct imsg *imsg)
{
	struct oauth_code	 code;
	struct oauth_error	 err;
	char			 url[URL_MAX], hdrs[URL_MAX + 64];
	int			 r;

	if (imsg_get_type(imsg) == IMSG_OAUTH_ERROR) {
		oauth_error_get(imsg, &err);
		callback_error(c, &err);
		return;
	}
	oauth_imsg_data(imsg, &code, sizeof(code));
	code.redirect_uri[sizeof(code.redirect_uri) - 1] = '\0';
	code.code[sizeof(code.code) - 1] = '\0';
	code.state[sizeof(code.state) - 1] = '\0';
	r = client_url(url, sizeof(url), code.redirect_uri, "code",
	    code.code, NULL, code.has_state);
	if (r == 0 && oauth_url_add_param(url, sizeof(url), "state",
	    code.state) == -1)
		r = -1;
	if (r != -1 && oauth_url_add_param(url, sizeof(url), "iss",
	    http_env.cfg.public_url) == -1)
		r = -1;
	explicit_bzero(&code, sizeof(code));
	if (r == -1) {
		explicit_bzero(url, sizeof(url));
		log_warnx("%s: cannot build the redirect to the client",
		    __func__);
		page_message(c, 500, "Internal error",
		    "The server could not send you back to the application.");
		return;
	}
	(void)snprintf(hdrs, sizeof(hdrs), "Location: %s\r\n"
	    "Referrer-Policy: no-referrer\r\n", url);
	explicit_bzero(url, sizeof(url));
	conn_respond(c, 303, NULL, "", 0, hdrs);
	explicit_bzero(hdrs, sizeof(hdrs));
}

/*
 * Without a redirect URI nothing ties the browser to a client: a page.
 * A user's "no" at Forgejo goes to the client.  Forgejo unreachable or
 * refusing gets a page that says so, and that links to the client with
 * the error, so that the user understands and the client learns.
 */
static void
callback_error(struct conn *c, struct oauth_error *err)
{
	if (err->redirect_uri[0] == '\0') {
		if (err->status >= 500)
			page_message(c, status_5xx(err->status),
			    "Sign-in failed", "The server could not finish "
			    "the sign-in. Start again from the application.");
		else
			page_message(c, 400, "Sign-in link not valid",
			    "This sign-in response is unknown, was used "
			    "already, or has expired. Start again from the "
			    "application.");
		return;
	}
	if (strcmp(err->error, "server_error") == 0 ||
	    strcmp(err->error, "temporarily_unavailable") == 0)
		callback_upstream_page(c, err);
	else
		redirect_client(c, 303, err->redirect_uri, err->error,
		    err->description, err->state, err->has_state);
}

static void
callback_upstream_page(struct conn *c, struct oauth_error *err)
{
	struct evbuffer	*b;
	char		 url[URL_MAX];
	int		 unavailable, status, r;

	unavailable = strcmp(err->error, "temporarily_unavailable") == 0;
	status = err->status >= 500 && err->status <= 599 ? err->status :
	    unavailable ? 503 : 502;
	r = client_url(url, sizeof(url), err->redirect_uri, "error",
	    err->error, err->description, err->has_state);
	if (r == 0 && oauth_url_add_param(url, sizeof(url), "state",
	    err->state) == -1)
		r = -1;
	if (r != -1 && oauth_url_add_param(url, sizeof(url), "iss",
	    http_env.cfg.public_url) == -1)
		r = -1;

	b = page_begin(unavailable ? "Forgejo could not be reached" :
	    "Forgejo refused the sign-in");
	evbuffer_add_printf(b, "<p>%s</p>\n", unavailable ?
	    "This server could not reach Forgejo to finish your sign-in. "
	    "Forgejo may be down or overloaded; try again in a while." :
	    "Forgejo did not accept this server's request to finish your "
	    "sign-in, or answered in a way this server does not understand.");
	evbuffer_add_printf(b, "<p>No access was granted to the "
	    "application.</p>\n");
	if (r != -1) {
		evbuffer_add_printf(b, "<p><a href=\"");
		html_add(b, url);
		evbuffer_add_printf(b, "\">Return to the application</a> "
		    "to tell it so.</p>\n");
	}
	page_respond(c, status, b, NULL, NULL);
}

/* Pages */

static void
consent_page(struct conn *c, struct oauth_pending *p,
    const struct oauth_client *oc)
{
	struct evbuffer	*b;
	char		 src[CSP_SOURCE_MAX], extra[2 * CSP_SOURCE_MAX + 4];
	char		 nonce[OAUTH_NONCE_MAX], cookie[OAUTH_COOKIE_MAX];
	char		 hdr[OAUTH_COOKIE_MAX + 16];

	if (random_token(nonce, sizeof(nonce), OAUTH_NONCE_BYTES) == -1 ||
	    oauth_consent_cookie(http_env.cfg.public_url, nonce, cookie,
	    sizeof(cookie)) == -1)
		fatalx("%s: consent cookie", __func__);
	(void)snprintf(hdr, sizeof(hdr), "Set-Cookie: %s\r\n", cookie);
	b = page_begin("Allow access to your Forgejo account?");
	consent_describe(b, p, oc);
	consent_form(b, p, nonce);
	if (oauth_csp_source(p->authz.redirect_uri, src, sizeof(src)) == -1)
		src[0] = '\0';
	(void)snprintf(extra, sizeof(extra), "%s%s%s%s",
	    forgejo_source[0] != '\0' ? " " : "", forgejo_source,
	    src[0] != '\0' ? " " : "", src);
	oauth_pending_free(c);
	page_respond(c, 200, b, extra, hdr);
	explicit_bzero(nonce, sizeof(nonce));
	explicit_bzero(cookie, sizeof(cookie));
	explicit_bzero(hdr, sizeof(hdr));
}

/* Who asks, where the browser goes afterwards, and for what. */
static void
consent_describe(struct evbuffer *b, struct oauth_pending *p,
    const struct oauth_client *oc)
{
	json_t		*md;
	const char	*name = NULL, *uri = NULL, *w;
	char		 host[PROTO_NAME_MAX];
	size_t		 n;

	if ((md = json_loads(oc->metadata, 0, NULL)) != NULL) {
		name = json_string_value(json_object_get(md, "client_name"));
		uri = json_string_value(json_object_get(md, "client_uri"));
	}
	if (name == NULL || *name == '\0' || !oauth_display_ok(name))
		name = "an unnamed client";
	if (uri == NULL || oauth_uri_host(uri, host, sizeof(host)) == -1)
		host[0] = '\0';

	evbuffer_add_printf(b, "<p>An application asks to use Forgejo on "
	    "your behalf through MCP.</p>\n<dl>\n<dt>Application</dt>\n"
	    "<dd><strong>");
	html_add(b, name);
	evbuffer_add_printf(b, "</strong> <span class=\"tag\">unverified"
	    "</span><br><span class=\"note\">The application chose this "
	    "name itself; this server has not checked it.</span></dd>\n");
	if (host[0] != '\0') {
		evbuffer_add_printf(b, "<dt>Web site it names</dt>\n<dd>");
		html_add(b, host);
		evbuffer_add_printf(b, " <span class=\"tag\">unverified"
		    "</span></dd>\n");
	}
	evbuffer_add_printf(b, "<dt>Where your browser goes next</dt>\n"
	    "<dd><code>");
	html_add(b, p->authz.redirect_uri);
	evbuffer_add_printf(b, "</code><br><span class=\"note\">%s</span>"
	    "</dd>\n", oauth_is_loopback_uri(p->authz.redirect_uri) ?
	    "A program on this computer receives the answer." :
	    !oauth_is_web_uri(p->authz.redirect_uri) ?
	    "An application installed on this device receives the answer." :
	    "This web site receives the answer.");
	evbuffer_add_printf(b, "<dt>Access requested</dt>\n<dd><ul>\n");
	for (w = p->authz.scope; *w != '\0'; w += n) {
		if ((n = strcspn(w, " ")) == 0) {
			n = 1;
			continue;
		}
		evbuffer_add_printf(b, "<li><code>%.*s</code>: use the Forgejo "
		    "tools of MCP as you, with everything your account may "
		    "read and change</li>\n", (int)n, w);
	}
	evbuffer_add_printf(b, "</ul></dd>\n");
	if (p->authz.resource[0] != '\0') {
		evbuffer_add_printf(b, "<dt>For</dt>\n<dd><code>");
		html_add(b, p->authz.resource);
		evbuffer_add_printf(b, "</code></dd>\n");
	}
	evbuffer_add_printf(b, "</dl>\n<p>If you approve, you sign in to "
	    "Forgejo next, and your browser then returns to the address "
	    "above. Approve only if you started this from that application "
	    "just now.</p>\n");
	json_decref(md);
}

/*
 * Every parameter travels back, bound to the CSRF token, and that to
 * the nonce of the browser's cookie.
 */
static void
consent_form(struct evbuffer *b, struct oauth_pending *p, const char *nonce)
{
	struct oauth_authz	*a = &p->authz;
	char			 csrf[OAUTH_CSRF_MAX];

	if (oauth_csrf_make(csrf_key, sizeof(csrf_key), time(NULL), a, nonce,
	    csrf, sizeof(csrf)) == -1)
		fatalx("%s: csrf token", __func__);
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/authorize\">"
	    "\n");
	html_hidden(b, "response_type", "code");
	html_hidden(b, "client_id", a->client_id);
	html_hidden(b, "redirect_uri", a->redirect_uri);
	html_hidden(b, "scope", a->scope);
	if (a->has_state)
		html_hidden(b, "state", a->state);
	html_hidden(b, "code_challenge", a->code_challenge);
	html_hidden(b, "code_challenge_method", "S256");
	if (a->resource[0] != '\0')
		html_hidden(b, "resource", a->resource);
	html_hidden(b, "csrf_token", csrf);
	evbuffer_add_printf(b, "<fieldset>\n<legend>Allow this application "
	    "to use your Forgejo account?</legend>\n"
	    "<button type=\"submit\" name=\"consent\" value=\"approve\">"
	    "Approve</button>\n"
	    "<button type=\"submit\" name=\"consent\" value=\"deny\">"
	    "Deny</button>\n</fieldset>\n</form>\n");
	explicit_bzero(csrf, sizeof(csrf));
}

static struct evbuffer *
page_begin(const char *title)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL)
		fatal("%s", __func__);
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	html_add(b, title);
	evbuffer_add_printf(b, "</title>\n<style>" PAGE_STYLE "</style>\n"
	    "</head>\n<body>\n<main>\n<h1>");
	html_add(b, title);
	evbuffer_add_printf(b, "</h1>\n");
	return b;
}

/*
 * Every page: no framing, no referrer, nothing loaded from anywhere;
 * form_action names where the form's navigation may end beyond 'self';
 * more, if not NULL, holds more header lines.
 */
static void
page_respond(struct conn *c, int status, struct evbuffer *b,
    const char *form_action, const char *more)
{
	char	 hdrs[3 * CSP_SOURCE_MAX + OAUTH_COOKIE_MAX + 512];

	evbuffer_add_printf(b, "</main>\n</body>\n</html>\n");
	(void)snprintf(hdrs, sizeof(hdrs), PAGE_HEADERS PAGE_CSP "%s\r\n%s",
	    form_action != NULL ? form_action : "", more != NULL ? more : "");
	conn_respond(c, status, "text/html; charset=utf-8",
	    (const char *)EVBUFFER_DATA(b), EVBUFFER_LENGTH(b), hdrs);
	evbuffer_free(b);
	explicit_bzero(hdrs, sizeof(hdrs));
}

/* A page that says what went wrong; it redirects nowhere. */
static void
page_message(struct conn *c, int status, const char *title,
    const char *message)
{
	struct evbuffer	*b;

	b = page_begin(title);
	evbuffer_add_printf(b, "<p>");
	html_add(b, message);
	evbuffer_add_printf(b, "</p>\n");
	page_respond(c, status, b, NULL, NULL);
}

static void
html_add(struct evbuffer *b, const char *s)
{
	size_t	 n;
	char	*e;

	n = html_escape(s, NULL, 0);
	if ((e = malloc(n + 1)) == NULL)
		fatal("%s", __func__);
	(void)html_escape(s, e, n + 1);
	evbuffer_add(b, e, n);
	free(e);
}

static void
html_hidden(struct evbuffer *b, const char *name, const char *value)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"",
	    name);
	html_add(b, value);
	evbuffer_add_printf(b, "\">\n");
}

/* A server error status tokend gave, or 500. */
static int
status_5xx(int32_t status)
{
	return status >= 500 && status <= 599 ? status : 500;
}
