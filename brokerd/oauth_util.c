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
 * Pure helpers of the authorization server's front: URI checks,
 * matching and normalisation, the consent form's CSRF token, its
 * cookie and the table of consumed forms, HTTP Basic and Bearer,
 * escaping, and the registration rate limit.  No I/O, no globals, no
 * allocation.
 *
 * Redirect URIs a client may register (RFC 7591 section 2, RFC 8252):
 *
 * - https with any host.
 * - http only on a loopback host: localhost, 127.0.0.0/8 in dotted
 *   decimal, or [::1] (RFC 8252 sections 7.3 and 8.3).
 * - Any other syntactically valid scheme is taken as the private-use
 *   scheme of a native application (RFC 8252 section 7.1), with or
 *   without the dot of a reverse domain name: clients in use register
 *   "cursor://anysphere.cursor-mcp/oauth/callback".  Refused are the
 *   schemes that make the browser itself run or read something
 *   (javascript, vbscript, data, file, blob, about, filesystem,
 *   view-source) and the network schemes ftp, ws and wss, which would
 *   carry a code to a host that escaped the https rule.
 * - Never userinfo or a fragment; only the characters RFC 3986 allows
 *   in a URI, with well-formed percent escapes; at most
 *   OAUTH_REDIRECT_URI_MAX bytes.
 *
 * Matching is byte for byte, except that a registered loopback http
 * URI matches the same URI with any port (RFC 8252 section 7.3).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "brokerd.h"
#include "http.h"
#include "util.h"

/* Where the parts of a URI start and end; see uri_split(). */
struct uri {
	size_t		 scheme_len;	/* s[0..scheme_len) */
	int		 authority;	/* "//" follows the scheme */
	size_t		 host_off;	/* brackets of IPv6 included */
	size_t		 host_len;
	long		 port;		/* -1: none given */
	size_t		 rest_off;	/* path, query and fragment */
};

#define BASIC_DECODED_MAX	1024
#define HOST_CHARS		"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
				"abcdefghijklmnopqrstuvwxyz0123456789.-"

static int	 is_alpha(int);
static int	 is_digit(int);
static int	 is_hex(int);
static int	 is_b64url(int);
static int	 uri_chars_ok(const char *);
static int	 uri_split(const char *, struct uri *);
static int	 scheme_is(const char *, const struct uri *, const char *);
static int	 scheme_denied(const char *, const struct uri *);
static int	 ipv4_loopback(const char *, size_t);
static int	 host_loopback(const char *, size_t);
static int	 web_uri(const char *, struct uri *, int);
static int	 csrf_add(char *, size_t, size_t *, const char *);
static int	 csrf_mac(const uint8_t *, size_t, const char *,
		    const char *, const struct oauth_authz *,
		    uint8_t [HMAC_SHA256_LEN]);
static int	 nonce_valid(const char *);
static int	 nonce_slot_free(const struct oauth_nonce_slot *, int64_t);
static int64_t	 rate_rank(const struct oauth_rate_slot *, int64_t);
static int	 b64_value(int);
static int	 base64_decode(const char *, uint8_t *, size_t);

static const char *denied_schemes[] = {
	"javascript", "vbscript", "data", "file", "blob", "about",
	"filesystem", "view-source", "ftp", "ws", "wss", NULL
};

/* Locale-independent character classes: URIs are ASCII. */
static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_hex(int ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	    (ch >= 'A' && ch <= 'F');
}

static int
is_b64url(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '-' || ch == '_';
}

/* Only what RFC 3986 allows in a URI, and well-formed escapes. */
static int
uri_chars_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%') {
			if (!is_hex((unsigned char)s[1]) ||
			    !is_hex((unsigned char)s[2]))
				return 0;
			s += 2;
			continue;
		}
		if (!is_alpha((unsigned char)*s) &&
		    !is_digit((unsigned char)*s) &&
		    strchr("-._~:/?#[]@!$&'()*+,;=", *s) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Splits an absolute URI into scheme, authority and the rest.  A URI
 * with userinfo is refused outright: in a redirect or resource URI it
 * only ever serves to make one host look like another.
 */
static int
uri_split(const char *s, struct uri *u)
{
	const char	*rb;
	size_t		 i, end, h;
	long		 port;

	memset(u, 0, sizeof(*u));
	u->port = -1;
	if (!is_alpha((unsigned char)s[0]))
		return -1;
	for (i = 1; is_alpha((unsigned char)s[i]) ||
	    is_digit((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
	    s[i] == '.'; i++)
		;
	if (s[i] != ':')
		return -1;
	u->scheme_len = i++;
	if (s[i] != '/' || s[i + 1] != '/') {
		u->rest_off = i;
		return 0;
	}
	u->authority = 1;
	i += 2;
	end = i + strcspn(s + i, "/?#");
	if (memchr(s + i, '@', end - i) != NULL)
		return -1;
	u->host_off = i;
	if (s[i] == '[') {
		if ((rb = memchr(s + i, ']', end - i)) == NULL)
			return -1;
		h = rb - s + 1;
	} else
		for (h = i; h < end && s[h] != ':'; h++)
			;
	u->host_len = h - i;
	u->rest_off = end;
	if (h == end)
		return 0;
	if (s[h] != ':' || h + 1 == end || end - h > 6)
		return -1;
	for (port = 0, h++; h < end; h++) {
		if (!is_digit((unsigned char)s[h]))
			return -1;
		port = port * 10 + (s[h] - '0');
	}
	if (port > 65535)
		return -1;
	u->port = port;
	return 0;
}

static int
scheme_is(const char *s, const struct uri *u, const char *scheme)
{
	return u->scheme_len == strlen(scheme) &&
	    strncasecmp(s, scheme, u->scheme_len) == 0;
}

static int
scheme_denied(const char *s, const struct uri *u)
{
	int	 i;

	for (i = 0; denied_schemes[i] != NULL; i++)
		if (scheme_is(s, u, denied_schemes[i]))
			return 1;
	return 0;
}

/*
 * 127.0.0.0/8 in strict dotted decimal.  Leading zeros are refused:
 * some parsers read them as octal, and the address must mean the same
 * to every one.
 */
static int
ipv4_loopback(const char *h, size_t len)
{
	size_t	 i = 0, digits;
	int	 part, value;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || h[i] != '.')
				return 0;
			i++;
		}
		for (value = 0, digits = 0; i < len && digits < 4 &&
		    is_digit((unsigned char)h[i]); i++, digits++)
			value = value * 10 + (h[i] - '0');
		if (digits == 0 || digits > 3 || value > 255 ||
		    (digits > 1 && h[i - digits] == '0'))
			return 0;
		if (part == 0 && value != 127)
			return 0;
	}
	return i == len;
}

static int
host_loopback(const char *h, size_t len)
{
	struct in6_addr	 in6;
	char		 buf[INET6_ADDRSTRLEN];

	if (len == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	if (len > 2 && h[0] == '[' && h[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return 0;
		memcpy(buf, h + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &in6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&in6);
	}
	return ipv4_loopback(h, len);
}

/*
 * An http or https URL with a host, http only on loopback.  With
 * fragment 0, a fragment is refused too.
 */
static int
web_uri(const char *s, struct uri *u, int fragment)
{
	if (strlen(s) > OAUTH_REDIRECT_URI_MAX || !uri_chars_ok(s) ||
	    (!fragment && strchr(s, '#') != NULL) || uri_split(s, u) == -1)
		return 0;
	if (!u->authority || u->host_len == 0)
		return 0;
	if (scheme_is(s, u, "https"))
		return 1;
	return scheme_is(s, u, "http") && host_loopback(s + u->host_off,
	    u->host_len);
}

/*
 * Whether a client may register uri as a redirect URI (the policy at
 * the top of this file).  Returns 0, or -1 with *why set to a short
 * reason fit for error_description.
 */
int
oauth_redirect_uri_check(const char *uri, const char **why)
{
	struct uri	 u;

	*why = NULL;
	if (*uri == '\0')
		*why = "a redirect URI is empty";
	else if (strlen(uri) > OAUTH_REDIRECT_URI_MAX)
		*why = "a redirect URI is too long";
	else if (!uri_chars_ok(uri))
		*why = "a redirect URI contains characters a URI may not";
	else if (strchr(uri, '#') != NULL)
		*why = "a redirect URI must not contain a fragment";
	else if (uri_split(uri, &u) == -1)
		*why = "a redirect URI is not an absolute URI without userinfo";
	else if (scheme_is(uri, &u, "http") || scheme_is(uri, &u, "https")) {
		if (!u.authority || u.host_len == 0)
			*why = "a redirect URI has no host";
		else if (scheme_is(uri, &u, "http") &&
		    !host_loopback(uri + u.host_off, u.host_len))
			*why = "an http redirect URI must name a loopback host";
	} else if (scheme_denied(uri, &u))
		*why = "a redirect URI uses a scheme that is not allowed";
	else if (uri[u.scheme_len + 1] == '\0')
		*why = "a redirect URI has nothing after its scheme";
	return *why == NULL ? 0 : -1;
}

/* client_uri and the like: https, or http on a loopback host. */
int
oauth_web_uri_check(const char *uri)
{
	struct uri	 u;

	return web_uri(uri, &u, 1) ? 0 : -1;
}

/*
 * Whether the redirect URI of a request matches a registered one:
 * byte for byte, or for a loopback http URI, byte for byte but for
 * the port, which a native client picks when it starts listening.
 * localhost and 127.0.0.1 are different hosts here.
 */
int
oauth_redirect_match(const char *registered, const char *requested)
{
	struct uri	 r, q;

	if (strcmp(registered, requested) == 0)
		return 1;
	if (!uri_chars_ok(requested) || uri_split(registered, &r) == -1 ||
	    uri_split(requested, &q) == -1)
		return 0;
	if (!r.authority || !q.authority || !scheme_is(registered, &r,
	    "http") || r.scheme_len != q.scheme_len ||
	    strncmp(registered, requested, r.scheme_len) != 0)
		return 0;
	if (r.host_len != q.host_len || strncmp(registered + r.host_off,
	    requested + q.host_off, r.host_len) != 0 ||
	    !host_loopback(registered + r.host_off, r.host_len))
		return 0;
	return strcmp(registered + r.rest_off, requested + q.rest_off) == 0;
}

/* An http redirect URI on loopback: the client runs on this device. */
int
oauth_is_loopback_uri(const char *uri)
{
	struct uri	 u;

	return uri_split(uri, &u) == 0 && u.authority &&
	    scheme_is(uri, &u, "http") && host_loopback(uri + u.host_off,
	    u.host_len);
}

/* Whether uri is http or https at all; else a private-use scheme. */
int
oauth_is_web_uri(const char *uri)
{
	struct uri	 u;

	return uri_split(uri, &u) == 0 && (scheme_is(uri, &u, "http") ||
	    scheme_is(uri, &u, "https"));
}

/* The host of an http or https URL, for the consent page. */
int
oauth_uri_host(const char *uri, char *out, size_t outsz)
{
	struct uri	 u;

	if (!oauth_is_web_uri(uri) || uri_split(uri, &u) == -1 ||
	    !u.authority || u.host_len == 0 || u.host_len >= outsz)
		return -1;
	memcpy(out, uri + u.host_off, u.host_len);
	out[u.host_len] = '\0';
	return 0;
}

/*
 * A CSP source expression that lets a form's navigation end at uri:
 * its origin for http and https, its scheme otherwise, and the scheme
 * also for an IPv6 literal, which CSP cannot name.
 */
int
oauth_csp_source(const char *uri, char *out, size_t outsz)
{
	struct uri	 u;
	size_t		 n, i;

	if (!uri_chars_ok(uri) || uri_split(uri, &u) == -1)
		return -1;
	/*
	 * A host with anything but letters, digits, dots and dashes (RFC
	 * 3986 allows sub-delims such as ';') would end up in the header
	 * as CSP syntax: the scheme alone does then.
	 */
	if (u.authority && u.host_len > 0 &&
	    strspn(uri + u.host_off, HOST_CHARS) >= u.host_len &&
	    (scheme_is(uri, &u, "http") || scheme_is(uri, &u, "https")))
		n = u.rest_off;
	else
		n = u.scheme_len + 1;
	if (n >= outsz)
		return -1;
	memcpy(out, uri, n);
	out[n] = '\0';
	/* Schemes are case-insensitive; lowercase is their usual form. */
	for (i = 0; i < u.scheme_len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] += 'a' - 'A';
	return 0;
}

/*
 * The form of a resource indicator brokerd compares (RFC 8707 section
 * 2, RFC 3986 section 6.2.2-6.2.3): scheme and host in lowercase, no
 * default port, no trailing slash on the path, so that "https://H/"
 * equals "https://h" and "HTTPS://h:443/mcp/" equals "https://h/mcp".
 * Only http and https, without userinfo or fragment.
 */
int
oauth_resource_normalize(const char *in, char *out, size_t outsz)
{
	struct uri	 u;
	const char	*path, *query;
	size_t		 plen, i;
	int		 https, n;
	char		 host[PROTO_NAME_MAX];

	if (!uri_chars_ok(in) || strchr(in, '#') != NULL ||
	    uri_split(in, &u) == -1 || !u.authority || u.host_len == 0 ||
	    u.host_len >= sizeof(host))
		return -1;
	if (scheme_is(in, &u, "https"))
		https = 1;
	else if (scheme_is(in, &u, "http"))
		https = 0;
	else
		return -1;
	for (i = 0; i < u.host_len; i++) {
		host[i] = in[u.host_off + i];
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] += 'a' - 'A';
	}
	host[i] = '\0';
	path = in + u.rest_off;
	query = path + strcspn(path, "?");
	for (plen = query - path; plen > 0 && path[plen - 1] == '/'; plen--)
		;
	if (u.port == -1 || u.port == (https ? 443 : 80))
		n = snprintf(out, outsz, "%s://%s%.*s%s", https ? "https" :
		    "http", host, (int)plen, path, query);
	else
		n = snprintf(out, outsz, "%s://%s:%ld%.*s%s", https ?
		    "https" : "http", host, u.port, (int)plen, path, query);
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * brokerd knows one scope, "mcp".  An empty or absent scope asks for
 * it; any other word is invalid_scope.
 */
int
oauth_scope_normalize(const char *in, char *out, size_t outsz)
{
	const char	*p = in;
	size_t		 n;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		n = strcspn(p, " ");
		if (n != 3 || strncmp(p, "mcp", 3) != 0)
			return -1;
		p += n;
	}
	return strlcpy(out, "mcp", outsz) < outsz ? 0 : -1;
}

/* RFC 7636 section 4.2: 43 to 128 characters of base64url. */
int
oauth_challenge_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!is_b64url((unsigned char)s[i]))
			return 0;
	return i >= 43 && i <= 128;
}

/* VSCHAR of RFC 6749 appendix A: printable ASCII, space included. */
int
oauth_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * A string a client chose that the consent page will show (its
 * name): valid UTF-8 is jansson's business; refused here are control
 * characters, C0 and C1, and the bidirectional formatting characters
 * (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) that would
 * let a name display as something it is not.
 */
int
oauth_display_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 0;
		if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x8e ||
		    p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae)))
			return 0;
		if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 &&
		    p[2] <= 0xa9)
			return 0;
	}
	return 1;
}

/* An OAuth error code as tokend or Forgejo names them. */
int
oauth_error_code_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((*s < 'a' || *s > 'z') && *s != '_')
			return 0;
	return 1;
}

/* Appends s and its NUL, the separator: no value contains a NUL. */
static int
csrf_add(char *buf, size_t bufsz, size_t *off, const char *s)
{
	size_t	 len = strlen(s) + 1;

	if (len > bufsz - *off)
		return -1;
	memcpy(buf + *off, s, len);
	*off += len;
	return 0;
}

static int
csrf_mac(const uint8_t *key, size_t keylen, const char *ts,
    const char *nonce, const struct oauth_authz *a,
    uint8_t mac[HMAC_SHA256_LEN])
{
	char	 msg[sizeof(*a) + OAUTH_NONCE_MAX + 64];
	size_t	 off = 0;

	if (csrf_add(msg, sizeof(msg), &off, "brokerd consent v2") == -1 ||
	    csrf_add(msg, sizeof(msg), &off, ts) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, nonce) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->client_id) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->redirect_uri) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->has_state ? "1" : "0") == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->state) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->code_challenge) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->scope) == -1 ||
	    csrf_add(msg, sizeof(msg), &off, a->resource) == -1) {
		explicit_bzero(msg, sizeof(msg));
		return -1;
	}
	hmac_sha256(key, keylen, msg, off, mac);
	explicit_bzero(msg, sizeof(msg));
	return 0;
}

/* A consent nonce: 1 to OAUTH_NONCE_MAX - 1 characters of base64url. */
static int
nonce_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!is_b64url((unsigned char)s[i]))
			return 0;
	return i > 0 && i < OAUTH_NONCE_MAX;
}

/*
 * The consent form's CSRF token, "ts.nonce.base64url(mac)": an HMAC
 * under the process's key over the time, the nonce and every
 * parameter of the authorization request, so that a form only
 * approves the request it was shown for, only for OAUTH_CSRF_LIFETIME
 * seconds, and only from the browser that holds the nonce in its
 * cookie (oauth_consent_cookie()).
 */
int
oauth_csrf_make(const uint8_t *key, size_t keylen, int64_t now,
    const struct oauth_authz *a, const char *nonce, char *out, size_t outsz)
{
	uint8_t	 mac[HMAC_SHA256_LEN];
	char	 ts[24];
	int	 n;

	if (outsz > 0)
		out[0] = '\0';
	if (now < 0 || nonce == NULL || !nonce_valid(nonce))
		return -1;
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)now);
	if (csrf_mac(key, keylen, ts, nonce, a, mac) == -1)
		return -1;
	n = snprintf(out, outsz, "%s.%s.", ts, nonce);
	if (n < 0 || (size_t)n >= outsz ||
	    base64url_encode(mac, sizeof(mac), out + n, outsz - n) == 0) {
		explicit_bzero(mac, sizeof(mac));
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

/*
 * 0 if token is what oauth_csrf_make() gave for a in the last window
 * and its nonce is cookie, the value of the browser's consent cookie
 * (NULL if it sent none).  *expires, if expires is not NULL, is then
 * the last second the token is good for.
 */
int
oauth_csrf_check(const uint8_t *key, size_t keylen, int64_t now,
    const struct oauth_authz *a, const char *token, const char *cookie,
    int64_t *expires)
{
	char		 want[OAUTH_CSRF_MAX], nonce[OAUTH_NONCE_MAX];
	const char	*p;
	int64_t		 ts = 0;
	size_t		 i, n;
	int		 ok;

	for (i = 0; is_digit((unsigned char)token[i]) && i < 18; i++)
		ts = ts * 10 + (token[i] - '0');
	if (i == 0 || token[i] != '.' || ts > now ||
	    now - ts > OAUTH_CSRF_LIFETIME)
		return -1;
	p = token + i + 1;
	for (n = 0; is_b64url((unsigned char)p[n]); n++)
		if (n + 1 >= sizeof(nonce))
			return -1;
	if (n == 0 || p[n] != '.')
		return -1;
	memcpy(nonce, p, n);
	nonce[n] = '\0';
	ok = cookie != NULL && timingsafe_streq(nonce, cookie);
	if (oauth_csrf_make(key, keylen, ts, a, nonce, want,
	    sizeof(want)) == -1)
		ok = 0;
	else if (!timingsafe_streq(want, token))
		ok = 0;
	explicit_bzero(want, sizeof(want));
	explicit_bzero(nonce, sizeof(nonce));
	if (!ok)
		return -1;
	if (expires != NULL)
		*expires = ts + OAUTH_CSRF_LIFETIME;
	return 0;
}

/*
 * The consent cookie's name: with an https public url, the __Host-
 * prefix makes browsers keep it only if it is Secure, has Path=/ and
 * no Domain, so no other host (a sibling subdomain) can plant one.
 * A loopback http url cannot have it.
 */
const char *
oauth_consent_cookie_name(const char *public_url)
{
	struct uri	 u;

	if (uri_split(public_url, &u) == 0 && scheme_is(public_url, &u,
	    "https"))
		return OAUTH_CONSENT_COOKIE_HTTPS;
	return OAUTH_CONSENT_COOKIE_HTTP;
}

/*
 * The value of the Set-Cookie field that hands the browser the nonce
 * of its consent form.  Strict: no other site's request carries it.
 * Only for the form's action, /authorize, but for the __Host- prefix,
 * which requires Path=/.
 */
int
oauth_consent_cookie(const char *public_url, const char *nonce, char *out,
    size_t outsz)
{
	const char	*name;
	int		 https, n;

	if (outsz > 0)
		out[0] = '\0';
	if (!nonce_valid(nonce))
		return -1;
	name = oauth_consent_cookie_name(public_url);
	https = strcmp(name, OAUTH_CONSENT_COOKIE_HTTPS) == 0;
	n = snprintf(out, outsz, "%s=%s; Path=%s; Max-Age=%d; HttpOnly; "
	    "%sSameSite=Strict", name, nonce, https ? "/" : "/authorize",
	    OAUTH_CSRF_LIFETIME, https ? "Secure; " : "");
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Looks up the cookie name in the value of a Cookie field, "a=b; c=d"
 * (RFC 6265 section 4.2.1).  Names are case-sensitive; pairs without
 * '=' and other cookies, whatever they look like, are passed over:
 * on a loopback host every port's cookies arrive together.  Returns 1
 * and the value in out when name occurs once, 0 when it does not
 * occur, -2 when it occurs more than once, and -1 when its value does
 * not fit in out.
 */
int
oauth_cookie_get(const char *hdr, const char *name, char *out, size_t outsz)
{
	const char	*p, *end, *eq;
	size_t		 namelen = strlen(name), klen, vlen;
	int		 found = 0, toolong = 0;

	if (outsz > 0)
		out[0] = '\0';
	for (p = hdr; *p != '\0'; p = *end == ';' ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ";");
		if ((eq = memchr(p, '=', end - p)) == NULL)
			continue;
		for (klen = eq - p; klen > 0 && (p[klen - 1] == ' ' ||
		    p[klen - 1] == '\t'); klen--)
			;
		if (klen != namelen || strncmp(p, name, namelen) != 0)
			continue;
		if (found++ > 0)
			continue;
		for (eq++; *eq == ' ' || *eq == '\t'; eq++)
			;
		for (vlen = end - eq; vlen > 0 && (eq[vlen - 1] == ' ' ||
		    eq[vlen - 1] == '\t'); vlen--)
			;
		if (vlen >= outsz) {
			toolong = 1;
			continue;
		}
		memcpy(out, eq, vlen);
		out[vlen] = '\0';
	}
	if (found > 1) {
		if (outsz > 0)
			explicit_bzero(out, outsz);
		return -2;
	}
	if (toolong)
		return -1;
	return found;
}

/* A slot that holds no nonce whose form still lives. */
static int
nonce_slot_free(const struct oauth_nonce_slot *s, int64_t now)
{
	return s->expires == 0 || s->expires < now;
}

/*
 * Consumes the nonce of a consent form: a form is good once.  The
 * nonce is kept until expires, when its form is no good anyway.
 * Returns OAUTH_NONCE_FRESH if it was not consumed before and now
 * is, OAUTH_NONCE_USED if it was, and OAUTH_NONCE_FULL if it would
 * have to push out a nonce whose form still lives: the caller refuses
 * the consent then, rather than let a form be used twice.  What is
 * no nonce at all counts as used.
 */
int
oauth_nonce_use(struct oauth_nonces *t, const char *nonce, int64_t now,
    int64_t expires)
{
	struct oauth_nonce_slot	*s, *free_slot = NULL;
	size_t			 i;
	int			 used = 0;

	if (!nonce_valid(nonce))
		return OAUTH_NONCE_USED;
	for (i = 0; i < OAUTH_NONCE_SLOTS; i++) {
		s = &t->slot[i];
		if (nonce_slot_free(s, now)) {
			if (s->expires != 0)
				explicit_bzero(s, sizeof(*s));
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (timingsafe_streq(s->nonce, nonce))
			used = 1;
	}
	if (used)
		return OAUTH_NONCE_USED;
	if (free_slot == NULL)
		return OAUTH_NONCE_FULL;
	(void)strlcpy(free_slot->nonce, nonce, sizeof(free_slot->nonce));
	free_slot->expires = expires > 0 ? expires : 1;
	return OAUTH_NONCE_FRESH;
}

static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (is_digit(ch))
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Base64 of RFC 4648 section 4, as HTTP Basic uses it; the padding
 * may be left out, but if present must be right.  Returns the decoded
 * length or -1.
 */
static int
base64_decode(const char *in, uint8_t *out, size_t outsz)
{
	size_t		 len, pad = 0, i, o = 0;
	uint32_t	 acc = 0;
	int		 bits = 0, v;

	len = strlen(in);
	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)in[i])) == -1)
			return -1;
		acc = ((acc << 6) | (uint32_t)v) & 0xffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (acc >> bits) & 0xff;
		}
	}
	return (int)o;
}

/*
 * "Basic base64(id:secret)" (RFC 7617), where id and secret are
 * form-urlencoded first (RFC 6749 section 2.3.1).  Both must come out
 * as printable ASCII, the id not empty.  Returns 0 or -1.
 */
int
oauth_basic_decode(const char *hdr, char *id, size_t idsz, char *secret,
    size_t secretsz)
{
	uint8_t		 raw[BASIC_DECODED_MAX];
	const char	*p;
	char		*colon;
	int		 n, r = -1;

	if (idsz > 0)
		id[0] = '\0';
	if (secretsz > 0)
		secret[0] = '\0';
	if (strncasecmp(hdr, "basic ", 6) != 0)
		return -1;
	for (p = hdr + 6; *p == ' '; p++)
		;
	if ((n = base64_decode(p, raw, sizeof(raw) - 1)) <= 0)
		goto done;
	raw[n] = '\0';
	if (memchr(raw, '\0', n) != NULL ||
	    (colon = strchr((char *)raw, ':')) == NULL)
		goto done;
	if (http_pct_decode((char *)raw, colon - (char *)raw, id, idsz,
	    1) <= 0 || http_pct_decode(colon + 1, strlen(colon + 1),
	    secret, secretsz, 1) == -1 || !oauth_printable(id) ||
	    !oauth_printable(secret))
		goto done;
	r = 0;
done:
	explicit_bzero(raw, sizeof(raw));
	if (r == -1) {
		explicit_bzero(id, idsz);
		explicit_bzero(secret, secretsz);
	}
	return r;
}

/*
 * The credentials of "Authorization: Bearer token" (RFC 6750 section
 * 2.1), the scheme in any case.  brokerd's tokens are base64url, so
 * anything else after the scheme is no token of ours.
 */
int
oauth_bearer_parse(const char *hdr, char *token, size_t tokensz)
{
	const char	*p;
	size_t		 len;

	if (tokensz > 0)
		token[0] = '\0';
	if (strncasecmp(hdr, "bearer", 6) != 0 ||
	    (hdr[6] != ' ' && hdr[6] != '\0'))
		return OAUTH_BEARER_OTHER;
	for (p = hdr + 6; *p == ' '; p++)
		;
	for (len = 0; is_b64url((unsigned char)p[len]); len++)
		;
	if (len == 0 || p[len] != '\0' || len >= tokensz)
		return OAUTH_BEARER_BAD;
	memcpy(token, p, len);
	token[len] = '\0';
	return OAUTH_BEARER_OK;
}

/*
 * HTML-escapes in into out like strlcpy(3): returns the length the
 * whole escaped string needs, so out was too small if that is >=
 * outsz.  Fit for element content and quoted attribute values.
 */
size_t
html_escape(const char *in, char *out, size_t outsz)
{
	const char	*rep;
	char		 one[2];
	size_t		 n = 0, len;

	one[1] = '\0';
	for (; *in != '\0'; in++) {
		switch (*in) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			one[0] = *in;
			rep = one;
			break;
		}
		len = strlen(rep);
		if (outsz > 0 && n + len < outsz)
			memcpy(out + n, rep, len);
		else if (outsz > 0 && n < outsz)
			outsz = n + 1;	/* no partial entity: stop here */
		n += len;
	}
	if (outsz > 0)
		out[n < outsz ? n : outsz - 1] = '\0';
	return n;
}

/*
 * Percent-encodes everything but the unreserved characters of RFC
 * 3986, which is right for a query parameter's name and value.  Like
 * strlcpy(3), returns the length needed.
 */
size_t
oauth_pct_encode(const char *in, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 n = 0, len;
	char			 enc[4];

	for (; *p != '\0'; p++) {
		if (is_alpha(*p) || is_digit(*p) || strchr("-._~", *p) !=
		    NULL) {
			enc[0] = *p;
			enc[1] = '\0';
		} else {
			enc[0] = '%';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			enc[3] = '\0';
		}
		len = strlen(enc);
		if (outsz > 0 && n + len < outsz)
			memcpy(out + n, enc, len);
		else if (outsz > 0 && n < outsz)
			outsz = n + 1;
		n += len;
	}
	if (outsz > 0)
		out[n < outsz ? n : outsz - 1] = '\0';
	return n;
}

/*
 * Adds "name=value" to the query of url, after whatever query it has
 * (a redirect URI may carry one of its own).  Returns -1 and leaves
 * url as it was if the result does not fit.
 */
int
oauth_url_add_param(char *url, size_t urlsz, const char *name,
    const char *value)
{
	size_t		 len, n;
	const char	*sep;

	len = strlen(url);
	if (strchr(url, '?') == NULL)
		sep = "?";
	else if (url[len - 1] == '?' || url[len - 1] == '&')
		sep = "";
	else
		sep = "&";
	n = len + strlen(sep) + oauth_pct_encode(name, NULL, 0) + 1 +
	    oauth_pct_encode(value, NULL, 0);
	if (n >= urlsz)
		return -1;
	n = len + strlcpy(url + len, sep, urlsz - len);
	n += oauth_pct_encode(name, url + n, urlsz - n);
	n += strlcpy(url + n, "=", urlsz - n);
	(void)oauth_pct_encode(value, url + n, urlsz - n);
	return 0;
}

/*
 * The key an address is rate limited under: an IPv4 address as it
 * is, also when it comes mapped into IPv6; an IPv6 address by its
 * /64, since a host commonly gets a whole /64 to pick from.
 */
void
oauth_rate_key(const char *peer, char *out, size_t outsz)
{
	struct in6_addr	 in6;
	char		 buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, peer, &in6) != 1) {
		(void)strlcpy(out, peer, outsz);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&in6)) {
		if (inet_ntop(AF_INET, &in6.s6_addr[12], buf,
		    sizeof(buf)) == NULL)
			(void)strlcpy(buf, peer, sizeof(buf));
		(void)strlcpy(out, buf, outsz);
		return;
	}
	memset(&in6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &in6, buf, sizeof(buf)) == NULL)
		(void)strlcpy(buf, peer, sizeof(buf));
	(void)snprintf(out, outsz, "%s/64", buf);
}

/* Which slot to give away first: a free one, an expired one, the oldest. */
static int64_t
rate_rank(const struct oauth_rate_slot *s, int64_t now)
{
	if (s->count == 0)
		return INT64_MIN;
	if (now - s->start >= OAUTH_RATE_WINDOW)
		return INT64_MIN + 1;
	return s->start;
}

/*
 * A fixed window per key: the first event opens a window of
 * OAUTH_RATE_WINDOW seconds in which limit events are allowed.
 * Returns 1 and counts the event, or 0 with *retry_after set to the
 * seconds until the window closes.  A key not yet known takes a free
 * or expired slot, or else the slot whose window opened first: the
 * table stays small, and losing an old count only ever lets a client
 * register sooner.
 */
int
oauth_rate_take(struct oauth_ratelimit *rl, const char *key, int64_t now,
    uint32_t limit, int64_t *retry_after)
{
	struct oauth_rate_slot	*s, *victim = NULL;
	size_t			 i;

	*retry_after = 0;
	for (i = 0; i < OAUTH_RATE_SLOTS; i++) {
		s = &rl->slot[i];
		if (s->count > 0 && strcmp(s->key, key) == 0)
			break;
		if (victim == NULL ||
		    rate_rank(s, now) < rate_rank(victim, now))
			victim = s;
	}
	if (i == OAUTH_RATE_SLOTS) {
		s = victim;
		(void)strlcpy(s->key, key, sizeof(s->key));
		s->count = 0;
		s->start = now;
	} else if (now - s->start >= OAUTH_RATE_WINDOW || now < s->start) {
		s->count = 0;
		s->start = now;
	}
	if (s->count >= limit) {
		*retry_after = s->start + OAUTH_RATE_WINDOW - now;
		if (*retry_after < 1)
			*retry_after = 1;
		return 0;
	}
	s->count++;
	return 1;
}
