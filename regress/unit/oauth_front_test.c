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
 * Unit tests of the pure helpers of the OAuth front
 * (brokerd/oauth_util.c): among them the consent form's CSRF token, its
 * cookie and the table of consumed forms; and of hmac_sha256() in
 * shared/util.c.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd.h"
#include "regress.h"
#include "util.h"

static void	 test_redirect_check(void);
static void	 test_redirect_match(void);
static void	 test_resource(void);
static void	 test_hmac(void);
static void	 test_csrf(void);
static void	 test_cookie(void);
static void	 test_nonce(void);
static void	 test_basic(void);
static void	 test_bearer(void);
static void	 test_html(void);
static void	 test_pct(void);
static void	 test_misc(void);
static void	 test_rate(void);
static int	 uri_ok(const char *);
static int	 hmac_is(const char *, size_t, const char *, size_t,
		    const char *);
static void	 unhex(const char *, uint8_t *, size_t *);
static void	 authz_sample(struct oauth_authz *);

int
main(void)
{
	test_redirect_check();
	test_redirect_match();
	test_resource();
	test_hmac();
	test_csrf();
	test_cookie();
	test_nonce();
	test_basic();
	test_bearer();
	test_html();
	test_pct();
	test_misc();
	test_rate();
	return regress_done();
}

static int
uri_ok(const char *uri)
{
	const char	*why;

	return oauth_redirect_uri_check(uri, &why) == 0 && why == NULL;
}

static void
test_redirect_check(void)
{
	const char	*why;
	char		 long_uri[OAUTH_REDIRECT_URI_MAX + 16];

	CHECK(uri_ok("https://client.example/cb"), "https redirect URI");
	CHECK(uri_ok("https://client.example:8443/cb?x=1"),
	    "https with port and query");
	CHECK(uri_ok("http://127.0.0.1:33418/callback"), "http on 127.0.0.1");
	CHECK(uri_ok("http://127.10.0.1/cb"), "http on 127.0.0.0/8");
	CHECK(uri_ok("http://localhost:6274/oauth/callback"),
	    "http on localhost");
	CHECK(uri_ok("http://[::1]:8080/cb"), "http on [::1]");
	CHECK(!uri_ok("http://client.example/cb"),
	    "http on a non-loopback host refused");
	CHECK(!uri_ok("http://128.0.0.1/cb"), "http on 128.0.0.1 refused");
	CHECK(!uri_ok("http://0127.0.0.1/cb"),
	    "http on a loopback address with a leading zero refused");
	CHECK(!uri_ok("http://127.0.0.1.evil.example/cb"),
	    "http on a host merely starting with 127.0.0.1 refused");
	CHECK(!uri_ok("http://localhost.evil.example/cb"),
	    "http on a host merely starting with localhost refused");
	CHECK(!uri_ok("http://[::2]/cb"), "http on [::2] refused");
	CHECK(!uri_ok("javascript:alert(1)"), "javascript: refused");
	CHECK(!uri_ok("JavaScript:alert(1)"), "JavaScript: refused");
	CHECK(!uri_ok("data:text/html,hi"), "data: refused");
	CHECK(!uri_ok("file:///etc/passwd"), "file: refused");
	CHECK(!uri_ok("vbscript:x"), "vbscript: refused");
	CHECK(!uri_ok("https://client.example/cb#frag"), "fragment refused");
	CHECK(!uri_ok("com.example.app:/cb#"), "empty fragment refused");
	CHECK(uri_ok("com.example.app:/oauth2redirect"),
	    "private-use scheme with a dot");
	CHECK(uri_ok("cursor://anysphere.cursor-mcp/oauth/callback"),
	    "private-use scheme without a dot (Cursor)");
	CHECK(!uri_ok("myapp:"), "a scheme with nothing after it refused");
	CHECK(!uri_ok("/relative/cb"), "relative reference refused");
	CHECK(!uri_ok(""), "empty refused");
	CHECK(!uri_ok("https://user@client.example/cb"), "userinfo refused");
	CHECK(!uri_ok("https://client.example/c b"), "space refused");
	CHECK(!uri_ok("https://client.example/cb\r\nX: y"), "CRLF refused");
	CHECK(!uri_ok("https://client.example/%zz"), "bad escape refused");
	CHECK(!uri_ok("https:///cb"), "https without a host refused");
	CHECK(!uri_ok("https://client.example:99999/cb"),
	    "port out of range refused");
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	memcpy(long_uri, "https://x/", 10);
	long_uri[sizeof(long_uri) - 1] = '\0';
	CHECK(!uri_ok(long_uri), "overlong redirect URI refused");
	CHECK(oauth_redirect_uri_check("javascript:x", &why) == -1 &&
	    why != NULL && strchr(why, '"') == NULL,
	    "a refusal says why, fit for error_description");
	CHECK(oauth_web_uri_check("https://client.example/about") == 0,
	    "client_uri https");
	CHECK(oauth_web_uri_check("cursor://x/") == -1,
	    "client_uri with a private-use scheme refused");
}

static void
test_redirect_match(void)
{
	CHECK(oauth_redirect_match("https://c.example/cb",
	    "https://c.example/cb"), "exact match");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "https://c.example/cb2"), "path differs");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "https://c.example/cb/"), "trailing slash differs");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "https://d.example/cb"), "host differs");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "https://c.example/cb?x=1"), "query differs");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "https://c.example:8443/cb"), "https: port is not ignored");
	CHECK(!oauth_redirect_match("https://c.example/cb",
	    "HTTPS://c.example/cb"), "scheme case differs");
	CHECK(oauth_redirect_match("http://127.0.0.1/callback",
	    "http://127.0.0.1:51234/callback"), "loopback: any port (none)");
	CHECK(oauth_redirect_match("http://127.0.0.1:1111/callback",
	    "http://127.0.0.1:2222/callback"), "loopback: any port");
	CHECK(oauth_redirect_match("http://localhost:1111/cb",
	    "http://localhost/cb"), "localhost: any port");
	CHECK(oauth_redirect_match("http://[::1]:1/cb", "http://[::1]:2/cb"),
	    "[::1]: any port");
	CHECK(!oauth_redirect_match("http://localhost:1111/cb",
	    "http://127.0.0.1:1111/cb"), "localhost and 127.0.0.1 distinct");
	CHECK(!oauth_redirect_match("http://127.0.0.1/cb",
	    "http://127.0.0.2/cb"), "another loopback address differs");
	CHECK(!oauth_redirect_match("http://127.0.0.1/cb",
	    "http://127.0.0.1:80/other"), "loopback: path still matters");
	CHECK(!oauth_redirect_match("http://127.0.0.1/cb",
	    "http://127.0.0.1:80/cb?x=1"), "loopback: query still matters");
	CHECK(!oauth_redirect_match("http://127.0.0.1/cb",
	    "http://127.0.0.1:abc/cb"), "loopback: a bad port never matches");
	CHECK(!oauth_redirect_match("http://127.0.0.1/cb",
	    "http://evil@127.0.0.1/cb"), "loopback: userinfo never matches");
	CHECK(!oauth_redirect_match("https://127.0.0.1/cb",
	    "https://127.0.0.1:9/cb"), "loopback https: port matters");
	CHECK(oauth_is_loopback_uri("http://127.0.0.1:9/cb") &&
	    !oauth_is_loopback_uri("https://c.example/cb"),
	    "loopback redirect URIs recognised");
}

static void
test_resource(void)
{
	char	 out[PROTO_URL_MAX];

	CHECK(oauth_resource_normalize("https://mcp.example.org/mcp/", out,
	    sizeof(out)) == 0 && strcmp(out, "https://mcp.example.org/mcp") ==
	    0, "resource: trailing slash dropped");
	CHECK(oauth_resource_normalize("HTTPS://MCP.Example.ORG/mcp", out,
	    sizeof(out)) == 0 && strcmp(out, "https://mcp.example.org/mcp") ==
	    0, "resource: scheme and host lowercased");
	CHECK(oauth_resource_normalize("https://mcp.example.org/MCP", out,
	    sizeof(out)) == 0 && strcmp(out, "https://mcp.example.org/MCP") ==
	    0, "resource: path case kept");
	CHECK(oauth_resource_normalize("https://mcp.example.org:443/mcp", out,
	    sizeof(out)) == 0 && strcmp(out, "https://mcp.example.org/mcp") ==
	    0, "resource: default https port dropped");
	CHECK(oauth_resource_normalize("http://127.0.0.1:80/mcp", out,
	    sizeof(out)) == 0 && strcmp(out, "http://127.0.0.1/mcp") == 0,
	    "resource: default http port dropped");
	CHECK(oauth_resource_normalize("https://mcp.example.org:8443/mcp",
	    out, sizeof(out)) == 0 &&
	    strcmp(out, "https://mcp.example.org:8443/mcp") == 0,
	    "resource: other port kept");
	CHECK(oauth_resource_normalize("https://mcp.example.org/", out,
	    sizeof(out)) == 0 && strcmp(out, "https://mcp.example.org") == 0,
	    "resource: root slash equals no path");
	CHECK(oauth_resource_normalize("https://mcp.example.org/mcp#x", out,
	    sizeof(out)) == -1, "resource: fragment refused");
	CHECK(oauth_resource_normalize("urn:example:mcp", out,
	    sizeof(out)) == -1, "resource: not http(s) refused");
	CHECK(oauth_resource_normalize("https://mcp.example.org/mcp", out,
	    8) == -1, "resource: too small a buffer refused");
}

static void
unhex(const char *hex, uint8_t *out, size_t *len)
{
	size_t		 i;
	unsigned int	 v;

	for (i = 0; hex[2 * i] != '\0'; i++) {
		(void)sscanf(hex + 2 * i, "%2x", &v);
		out[i] = v;
	}
	*len = i;
}

static int
hmac_is(const char *key, size_t keylen, const char *msg, size_t msglen,
    const char *want_hex)
{
	uint8_t		 mac[HMAC_SHA256_LEN], want[HMAC_SHA256_LEN];
	size_t		 n;

	hmac_sha256(key, keylen, msg, msglen, mac);
	unhex(want_hex, want, &n);
	return n == sizeof(want) && memcmp(mac, want, n) == 0;
}

/* RFC 4231 section 4: test cases 1 to 4, 6 and 7 (5 is truncated). */
static void
test_hmac(void)
{
	uint8_t	 key[200], data[200];
	size_t	 klen, dlen;

	memset(key, 0x0b, 20);
	CHECK(hmac_is((char *)key, 20, "Hi There", 8,
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	    "HMAC-SHA256: RFC 4231 test case 1");
	CHECK(hmac_is("Jefe", 4, "what do ya want for nothing?", 28,
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	    "HMAC-SHA256: RFC 4231 test case 2");
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	CHECK(hmac_is((char *)key, 20, (char *)data, 50,
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
	    "HMAC-SHA256: RFC 4231 test case 3");
	unhex("0102030405060708090a0b0c0d0e0f10111213141516171819", key, &klen);
	memset(data, 0xcd, 50);
	CHECK(hmac_is((char *)key, klen, (char *)data, 50,
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
	    "HMAC-SHA256: RFC 4231 test case 4");
	memset(key, 0xaa, 131);
	CHECK(hmac_is((char *)key, 131,
	    "Test Using Larger Than Block-Size Key - Hash Key First", 54,
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
	    "HMAC-SHA256: RFC 4231 test case 6 (key longer than a block)");
	dlen = strlen("This is a test using a larger than block-size key and a "
	    "larger than block-size data. The key needs to be hashed before "
	    "being used by the HMAC algorithm.");
	CHECK(hmac_is((char *)key, 131, "This is a test using a larger than "
	    "block-size key and a larger than block-size data. The key needs "
	    "to be hashed before being used by the HMAC algorithm.", dlen,
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
	    "HMAC-SHA256: RFC 4231 test case 7");
}

static void
authz_sample(struct oauth_authz *a)
{
	memset(a, 0, sizeof(*a));
	(void)strlcpy(a->client_id, "client-1", sizeof(a->client_id));
	(void)strlcpy(a->redirect_uri, "http://127.0.0.1:9/cb",
	    sizeof(a->redirect_uri));
	(void)strlcpy(a->state, "xyz", sizeof(a->state));
	a->has_state = 1;
	(void)strlcpy(a->code_challenge,
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	    sizeof(a->code_challenge));
	(void)strlcpy(a->scope, "mcp", sizeof(a->scope));
	(void)strlcpy(a->resource, "https://mcp.example.org/mcp",
	    sizeof(a->resource));
}

static void
test_csrf(void)
{
	static const uint8_t	 key[32] = { 1, 2, 3, 4 };
	static const uint8_t	 other[32] = { 5, 6, 7, 8 };
	static const char	 nonce[] = "Nonce-of_the_browser1";
	static const char	 nonce2[] = "Nonce-of_the_browser2";
	struct oauth_authz	 a, b;
	const int64_t		 now = 1800000000;
	char			 tok[OAUTH_CSRF_MAX], bad[OAUTH_CSRF_MAX];
	char			 tok2[OAUTH_CSRF_MAX];
	int64_t			 expires = 0;

	authz_sample(&a);
	CHECK(oauth_csrf_make(key, sizeof(key), now, &a, nonce, tok,
	    sizeof(tok)) == 0 && strncmp(tok, "1800000000.", 11) == 0 &&
	    strncmp(tok + 11, nonce, strlen(nonce)) == 0 &&
	    tok[11 + strlen(nonce)] == '.' &&
	    strlen(tok) == 11 + strlen(nonce) + 1 + 43,
	    "csrf: \"ts.nonce.base64url(mac)\"");
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, tok, nonce,
	    &expires) == 0 && expires == now + OAUTH_CSRF_LIFETIME,
	    "csrf: the token verifies with its nonce, and says when it "
	    "expires");
	CHECK(oauth_csrf_check(key, sizeof(key), now + OAUTH_CSRF_LIFETIME,
	    &a, tok, nonce, NULL) == 0, "csrf: still valid at 10 minutes");
	CHECK(oauth_csrf_check(key, sizeof(key), now + OAUTH_CSRF_LIFETIME + 1,
	    &a, tok, nonce, NULL) == -1, "csrf: expired after 10 minutes");
	CHECK(oauth_csrf_check(key, sizeof(key), now - 1, &a, tok, nonce,
	    NULL) == -1, "csrf: a token from the future refused");
	CHECK(oauth_csrf_check(other, sizeof(other), now, &a, tok, nonce,
	    NULL) == -1, "csrf: another key refuses it");

	/* The nonce: the browser's cookie must carry the token's. */
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, tok, nonce2,
	    NULL) == -1, "csrf: a cookie with another nonce refused");
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, tok, NULL,
	    NULL) == -1, "csrf: no cookie refused");
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, tok, "", NULL) ==
	    -1, "csrf: an empty cookie refused");
	(void)snprintf(bad, sizeof(bad), "1800000000.%s", tok + 11 +
	    strlen(nonce) + 1);
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, nonce,
	    NULL) == -1 && oauth_csrf_check(key, sizeof(key), now, &a, bad,
	    "", NULL) == -1, "csrf: a token without its nonce refused");
	(void)snprintf(bad, sizeof(bad), "1800000000..%s", tok + 11 +
	    strlen(nonce) + 1);
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, "", NULL) ==
	    -1, "csrf: a token with an empty nonce refused");
	/* The attacker's own nonce in the victim's token, and cookie. */
	(void)strlcpy(bad, tok, sizeof(bad));
	bad[11 + 3] ^= 1;
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, nonce,
	    NULL) == -1, "csrf: a tampered nonce refused");
	(void)strlcpy(tok2, bad + 11, sizeof(tok2));
	tok2[strlen(nonce)] = '\0';
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, tok2,
	    NULL) == -1, "csrf: a tampered nonce refused even with a "
	    "cookie to match");
	CHECK(oauth_csrf_make(key, sizeof(key), now, &a, nonce2, tok2,
	    sizeof(tok2)) == 0 && strcmp(tok + 11 + strlen(nonce),
	    tok2 + 11 + strlen(nonce2)) != 0,
	    "csrf: the MAC covers the nonce");
	CHECK(oauth_csrf_make(key, sizeof(key), now, &a, "", bad,
	    sizeof(bad)) == -1 && bad[0] == '\0' &&
	    oauth_csrf_make(key, sizeof(key), now, &a, NULL, bad,
	    sizeof(bad)) == -1 &&
	    oauth_csrf_make(key, sizeof(key), now, &a, "a.b", bad,
	    sizeof(bad)) == -1 &&
	    oauth_csrf_make(key, sizeof(key), now, &a,
	    "0123456789012345678901234567890123", bad, sizeof(bad)) == -1,
	    "csrf: no token for an empty, missing, odd or long nonce");

	b = a;
	(void)strlcpy(b.redirect_uri, "http://127.0.0.1:9/cb2",
	    sizeof(b.redirect_uri));
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: tampered redirect_uri refused");
	b = a;
	b.state[0] = 'X';
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: tampered state refused");
	b = a;
	b.has_state = 0;
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: state dropped refused");
	b = a;
	b.code_challenge[0] = 'F';
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: tampered code_challenge refused");
	b = a;
	(void)strlcpy(b.client_id, "client-2", sizeof(b.client_id));
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: another client refused");
	b = a;
	b.resource[0] = '\0';
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: resource dropped refused");
	b = a;
	(void)strlcpy(b.scope, "mcp mcp", sizeof(b.scope));
	CHECK(oauth_csrf_check(key, sizeof(key), now, &b, tok, nonce,
	    NULL) == -1, "csrf: tampered scope refused");

	/* A later timestamp with the old MAC must not pass. */
	(void)snprintf(bad, sizeof(bad), "1800000100%s", tok + 10);
	CHECK(oauth_csrf_check(key, sizeof(key), now + 200, &a, bad, nonce,
	    NULL) == -1, "csrf: tampered timestamp refused");
	(void)strlcpy(bad, tok, sizeof(bad));
	bad[strlen(bad) - 1] ^= 1;
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, nonce,
	    NULL) == -1, "csrf: tampered mac refused");
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, "", nonce,
	    NULL) == -1 && oauth_csrf_check(key, sizeof(key), now, &a,
	    "1800000000", nonce, NULL) == -1 && oauth_csrf_check(key,
	    sizeof(key), now, &a, ".abc", nonce, NULL) == -1 &&
	    oauth_csrf_check(key, sizeof(key), now, &a, "1800000000.", nonce,
	    NULL) == -1 && oauth_csrf_check(key, sizeof(key), now, &a,
	    "1800000000.Nonce-of_the_browser1", nonce, NULL) == -1,
	    "csrf: malformed tokens refused");
	memset(bad, 'n', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	memcpy(bad, "1800000000.", 11);
	CHECK(oauth_csrf_check(key, sizeof(key), now, &a, bad, bad + 11,
	    NULL) == -1, "csrf: a token with an overlong nonce refused");
}

static void
test_cookie(void)
{
	char	 v[OAUTH_NONCE_MAX], set[OAUTH_COOKIE_MAX];
	int	 r;

	CHECK(strcmp(oauth_consent_cookie_name("https://mcp.example.org"),
	    "__Host-brokerd_consent") == 0 &&
	    strcmp(oauth_consent_cookie_name("http://127.0.0.1:8080"),
	    "brokerd_consent") == 0, "cookie: __Host- with https only");
	CHECK(oauth_consent_cookie("https://mcp.example.org/x", "abc", set,
	    sizeof(set)) == 0 && strcmp(set, "__Host-brokerd_consent=abc; "
	    "Path=/; Max-Age=600; HttpOnly; Secure; SameSite=Strict") == 0,
	    "cookie: https: __Host-, Secure, Path=/");
	CHECK(oauth_consent_cookie("http://127.0.0.1:8080", "abc", set,
	    sizeof(set)) == 0 && strcmp(set, "brokerd_consent=abc; "
	    "Path=/authorize; Max-Age=600; HttpOnly; SameSite=Strict") == 0,
	    "cookie: loopback http: no prefix, not Secure, Path=/authorize");
	CHECK(oauth_consent_cookie("http://127.0.0.1", "a;b", set,
	    sizeof(set)) == -1 && set[0] == '\0' &&
	    oauth_consent_cookie("http://127.0.0.1", "", set,
	    sizeof(set)) == -1 && oauth_consent_cookie("http://127.0.0.1",
	    "abc", set, 20) == -1, "cookie: no field for a bad nonce or "
	    "a small buffer");

	CHECK(oauth_cookie_get("", "n", v, sizeof(v)) == 0 && v[0] == '\0',
	    "cookie: an empty field has none");
	CHECK(oauth_cookie_get("a=b; c=d", "n", v, sizeof(v)) == 0,
	    "cookie: absent among others");
	CHECK(oauth_cookie_get("n=abc", "n", v, sizeof(v)) == 1 &&
	    strcmp(v, "abc") == 0, "cookie: alone");
	CHECK(oauth_cookie_get("a=b; n=abc; c=d", "n", v, sizeof(v)) == 1 &&
	    strcmp(v, "abc") == 0, "cookie: between others");
	CHECK(oauth_cookie_get("forgejo_session=x;n=abc;lang=en", "n", v,
	    sizeof(v)) == 1 && strcmp(v, "abc") == 0,
	    "cookie: without spaces after the semicolons");
	CHECK(oauth_cookie_get("a=b; n = abc ;c", "n", v, sizeof(v)) == 1 &&
	    strcmp(v, "abc") == 0, "cookie: blanks around name and value, "
	    "a pair without '='");
	CHECK(oauth_cookie_get("n=abc; a=b; n=abc", "n", v, sizeof(v)) == -2 &&
	    v[0] == '\0', "cookie: twice refused, even with one value");
	CHECK(oauth_cookie_get("n=abc; n=xyz", "n", v, sizeof(v)) == -2,
	    "cookie: twice with two values refused");
	CHECK(oauth_cookie_get("N=abc; nn=abc; xn=abc; n2=abc; a=n=abc", "n",
	    v, sizeof(v)) == 0, "cookie: names match exactly and "
	    "case-sensitively");
	CHECK(oauth_cookie_get("n=; a=b", "n", v, sizeof(v)) == 1 &&
	    v[0] == '\0', "cookie: an empty value");
	CHECK(oauth_cookie_get("a=\"x;y\"; n=abc", "n", v, sizeof(v)) == 1 &&
	    strcmp(v, "abc") == 0, "cookie: another cookie's odd value");
	CHECK(oauth_cookie_get("n=0123456789abcdef0123456789abcdef0", "n", v,
	    sizeof(v)) == -1, "cookie: a value too long refused");
	r = oauth_cookie_get("__Host-brokerd_consent=abc; "
	    "brokerd_consent=xyz", "__Host-brokerd_consent", v, sizeof(v));
	CHECK(r == 1 && strcmp(v, "abc") == 0,
	    "cookie: the prefixed name is another name");
}

static void
test_nonce(void)
{
	struct oauth_nonces	*t;
	char			 n[OAUTH_NONCE_MAX];
	const int64_t		 now = 1800000000;
	int			 i, ok;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		abort();
	CHECK(oauth_nonce_use(t, "nonce-1", now, now + 600) ==
	    OAUTH_NONCE_FRESH, "nonce: the first use is fresh");
	CHECK(oauth_nonce_use(t, "nonce-1", now + 1, now + 600) ==
	    OAUTH_NONCE_USED, "nonce: the second use is refused");
	CHECK(oauth_nonce_use(t, "nonce-2", now + 1, now + 600) ==
	    OAUTH_NONCE_FRESH, "nonce: another nonce is fresh");
	CHECK(oauth_nonce_use(t, "nonce-1", now + 600, now + 600) ==
	    OAUTH_NONCE_USED, "nonce: still refused in the form's last "
	    "second");
	CHECK(oauth_nonce_use(t, "", now, now + 600) == OAUTH_NONCE_USED &&
	    oauth_nonce_use(t, "a;b", now, now + 600) == OAUTH_NONCE_USED,
	    "nonce: what is no nonce counts as used");

	/* Full of live nonces: refused, and none forgotten. */
	for (ok = 1, i = 2; i < OAUTH_NONCE_SLOTS; i++) {
		(void)snprintf(n, sizeof(n), "fill-%d", i);
		ok &= oauth_nonce_use(t, n, now + 10, now + 10 + 600) ==
		    OAUTH_NONCE_FRESH;
	}
	CHECK(ok, "nonce: the table takes OAUTH_NONCE_SLOTS nonces");
	CHECK(oauth_nonce_use(t, "one-more", now + 20, now + 620) ==
	    OAUTH_NONCE_FULL, "nonce: a full table of live nonces refuses "
	    "a new one");
	CHECK(oauth_nonce_use(t, "nonce-1", now + 20, now + 600) ==
	    OAUTH_NONCE_USED && oauth_nonce_use(t, "fill-2", now + 20,
	    now + 610) == OAUTH_NONCE_USED,
	    "nonce: a full table still knows its nonces");

	/* nonce-1 and nonce-2 expire first: their slots are given again. */
	CHECK(oauth_nonce_use(t, "one-more", now + 601, now + 1201) ==
	    OAUTH_NONCE_FRESH && oauth_nonce_use(t, "two-more", now + 601,
	    now + 1201) == OAUTH_NONCE_FRESH && oauth_nonce_use(t,
	    "three-more", now + 601, now + 1201) == OAUTH_NONCE_FULL,
	    "nonce: expired nonces make room, live ones do not");
	CHECK(oauth_nonce_use(t, "nonce-1", now + 601, now + 1201) ==
	    OAUTH_NONCE_FULL, "nonce: an expired nonce is forgotten");
	CHECK(oauth_nonce_use(t, "fill-5", now + 611, now + 1211) ==
	    OAUTH_NONCE_FRESH && oauth_nonce_use(t, "one-more", now + 611,
	    now + 1211) == OAUTH_NONCE_USED,
	    "nonce: after every fill expired, only the live are known");
	free(t);
}

static void
test_basic(void)
{
	char	 id[PROTO_CLIENT_ID_MAX], secret[PROTO_TOKEN_MAX];

	/* "client:secret" */
	CHECK(oauth_basic_decode("Basic Y2xpZW50OnNlY3JldA==", id, sizeof(id),
	    secret, sizeof(secret)) == 0 && strcmp(id, "client") == 0 &&
	    strcmp(secret, "secret") == 0, "basic: id and secret");
	CHECK(oauth_basic_decode("basic   Y2xpZW50OnNlY3JldA", id, sizeof(id),
	    secret, sizeof(secret)) == 0 && strcmp(id, "client") == 0 &&
	    strcmp(secret, "secret") == 0,
	    "basic: scheme in any case, padding left out");
	/* "a%3Ab:p%2Bq+r" is "a:b" and "p+q r" once form-decoded. */
	CHECK(oauth_basic_decode("Basic YSUzQWI6cCUyQnErcg==", id, sizeof(id),
	    secret, sizeof(secret)) == 0 && strcmp(id, "a:b") == 0 &&
	    strcmp(secret, "p+q r") == 0,
	    "basic: id and secret form-urlencoded (RFC 6749 2.3.1)");
	/* "client:" */
	CHECK(oauth_basic_decode("Basic Y2xpZW50Og==", id, sizeof(id), secret,
	    sizeof(secret)) == 0 && strcmp(id, "client") == 0 &&
	    secret[0] == '\0', "basic: empty secret");
	/* "client" */
	CHECK(oauth_basic_decode("Basic Y2xpZW50", id, sizeof(id), secret,
	    sizeof(secret)) == -1, "basic: no colon refused");
	/* ":secret" */
	CHECK(oauth_basic_decode("Basic OnNlY3JldA==", id, sizeof(id), secret,
	    sizeof(secret)) == -1, "basic: empty id refused");
	CHECK(oauth_basic_decode("Basic Y2xp!W50OnNlY3JldA==", id, sizeof(id),
	    secret, sizeof(secret)) == -1, "basic: bad base64 refused");
	CHECK(oauth_basic_decode("Basic Y2xpZW50OnNlY3JldA=", id, sizeof(id),
	    secret, sizeof(secret)) == -1, "basic: wrong padding refused");
	CHECK(oauth_basic_decode("Bearer Y2xpZW50OnNlY3JldA==", id,
	    sizeof(id), secret, sizeof(secret)) == -1,
	    "basic: another scheme refused");
	/* "c%00:x" */
	CHECK(oauth_basic_decode("Basic YyUwMDp4", id, sizeof(id), secret,
	    sizeof(secret)) == -1, "basic: %%00 refused");
	CHECK(oauth_basic_decode("Basic Y2xpZW50OnNlY3JldA==", id, 4, secret,
	    sizeof(secret)) == -1 && id[0] == '\0' && secret[0] == '\0',
	    "basic: an id too long refused, nothing left behind");
}

static void
test_bearer(void)
{
	char	 tok[PROTO_TOKEN_MAX];

	CHECK(oauth_bearer_parse("Bearer abc-DEF_123", tok, sizeof(tok)) ==
	    OAUTH_BEARER_OK && strcmp(tok, "abc-DEF_123") == 0,
	    "bearer: token");
	CHECK(oauth_bearer_parse("bEaReR abc", tok, sizeof(tok)) ==
	    OAUTH_BEARER_OK, "bearer: scheme in any case");
	CHECK(oauth_bearer_parse("Basic abc", tok, sizeof(tok)) ==
	    OAUTH_BEARER_OTHER, "bearer: another scheme");
	CHECK(oauth_bearer_parse("Bearerabc", tok, sizeof(tok)) ==
	    OAUTH_BEARER_OTHER, "bearer: no space after the scheme");
	CHECK(oauth_bearer_parse("Bearer", tok, sizeof(tok)) ==
	    OAUTH_BEARER_BAD, "bearer: no token");
	CHECK(oauth_bearer_parse("Bearer a.b.c", tok, sizeof(tok)) ==
	    OAUTH_BEARER_BAD, "bearer: not base64url");
	CHECK(oauth_bearer_parse("Bearer abc def", tok, sizeof(tok)) ==
	    OAUTH_BEARER_BAD, "bearer: two words");
	CHECK(oauth_bearer_parse("Bearer abcdef", tok, 4) == OAUTH_BEARER_BAD,
	    "bearer: too long");
}

static void
test_html(void)
{
	char	 out[64];
	size_t	 n;

	n = html_escape("<a href=\"x\">&'</a>", out, sizeof(out));
	CHECK(strcmp(out, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
	    == 0 && n == strlen(out), "html: the five characters escaped");
	n = html_escape("Café ✓", out, sizeof(out));
	CHECK(n == strlen("Café ✓") && strcmp(out, "Café ✓") == 0,
	    "html: UTF-8 left alone");
	CHECK(html_escape("<<<", NULL, 0) == 12, "html: length without output");
	n = html_escape("ab<", out, 5);
	CHECK(n == 6 && strcmp(out, "ab") == 0,
	    "html: truncated output never holds half an entity");
}

static void
test_pct(void)
{
	char	 out[256], url[128];

	CHECK(oauth_pct_encode("a b&c=d/é~-._", out, sizeof(out)) ==
	    strlen("a%20b%26c%3Dd%2F%C3%A9~-._") &&
	    strcmp(out, "a%20b%26c%3Dd%2F%C3%A9~-._") == 0,
	    "pct: everything but unreserved encoded");
	(void)strlcpy(url, "https://c.example/cb", sizeof(url));
	CHECK(oauth_url_add_param(url, sizeof(url), "error", "access_denied")
	    == 0 && oauth_url_add_param(url, sizeof(url), "state", "a&b c") ==
	    0 && strcmp(url,
	    "https://c.example/cb?error=access_denied&state=a%26b%20c") == 0,
	    "pct: parameters added to a redirect URI");
	(void)strlcpy(url, "https://c.example/cb?x=1", sizeof(url));
	CHECK(oauth_url_add_param(url, sizeof(url), "iss",
	    "https://mcp.example.org") == 0 && strcmp(url,
	    "https://c.example/cb?x=1&iss=https%3A%2F%2Fmcp.example.org") == 0,
	    "pct: the redirect URI's own query kept");
	(void)strlcpy(url, "https://c.example/cb?", sizeof(url));
	CHECK(oauth_url_add_param(url, sizeof(url), "code", "abc") == 0 &&
	    strcmp(url, "https://c.example/cb?code=abc") == 0,
	    "pct: no '&' after a bare '?'");
	(void)strlcpy(url, "https://c.example/cb", sizeof(url));
	CHECK(oauth_url_add_param(url, 24, "state", "xyz") == -1 &&
	    strcmp(url, "https://c.example/cb") == 0,
	    "pct: a parameter that does not fit leaves the URL alone");
}

static void
test_misc(void)
{
	char	 out[PROTO_SCOPE_MAX], host[64];

	CHECK(oauth_scope_normalize("", out, sizeof(out)) == 0 &&
	    strcmp(out, "mcp") == 0, "scope: empty means mcp");
	CHECK(oauth_scope_normalize("mcp", out, sizeof(out)) == 0 &&
	    strcmp(out, "mcp") == 0, "scope: mcp");
	CHECK(oauth_scope_normalize(" mcp  mcp ", out, sizeof(out)) == 0,
	    "scope: repeated mcp and spaces");
	CHECK(oauth_scope_normalize("mcp admin", out, sizeof(out)) == -1,
	    "scope: another word refused");
	CHECK(oauth_scope_normalize("mcpx", out, sizeof(out)) == -1,
	    "scope: a longer word refused");
	CHECK(oauth_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
	    "challenge: 43 characters of base64url");
	CHECK(!oauth_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c"),
	    "challenge: 42 characters refused");
	CHECK(!oauth_challenge_valid(
	    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
	    "challenge: not base64url refused");
	CHECK(oauth_display_ok("Claude Code ✓") &&
	    !oauth_display_ok("evil\xe2\x80\xae" "cod.exe") &&
	    !oauth_display_ok("a\nb"),
	    "display strings: bidi overrides and controls refused");
	CHECK(oauth_uri_host("https://Client.example:8443/x", host,
	    sizeof(host)) == 0 && strcmp(host, "Client.example") == 0,
	    "the host of client_uri");
	CHECK(oauth_csp_source("http://127.0.0.1:5555/cb?x", host,
	    sizeof(host)) == 0 && strcmp(host, "http://127.0.0.1:5555") == 0,
	    "csp source: an origin");
	CHECK(oauth_csp_source("cursor://anysphere.cursor-mcp/cb", host,
	    sizeof(host)) == 0 && strcmp(host, "cursor:") == 0,
	    "csp source: a private-use scheme");
	CHECK(oauth_csp_source("http://[::1]:5555/cb", host,
	    sizeof(host)) == 0 && strcmp(host, "http:") == 0,
	    "csp source: an IPv6 literal falls back to the scheme");
	CHECK(oauth_csp_source("https://a;script-src/cb", host,
	    sizeof(host)) == 0 && strcmp(host, "https:") == 0,
	    "csp source: a host that would be CSP syntax falls back too");
	CHECK(oauth_error_code_ok("access_denied") &&
	    !oauth_error_code_ok("") && !oauth_error_code_ok("a\"b"),
	    "error codes");
}

static void
test_rate(void)
{
	struct oauth_ratelimit	*rl;
	char			 key[OAUTH_RATE_KEY_MAX];
	int64_t			 retry, now = 1000000;
	int			 i, ok;

	oauth_rate_key("2001:db8:1:2:3:4:5:6", key, sizeof(key));
	CHECK(strcmp(key, "2001:db8:1:2::/64") == 0, "rate: IPv6 by its /64");
	oauth_rate_key("::ffff:192.0.2.1", key, sizeof(key));
	CHECK(strcmp(key, "192.0.2.1") == 0, "rate: mapped IPv4 as IPv4");
	oauth_rate_key("192.0.2.7", key, sizeof(key));
	CHECK(strcmp(key, "192.0.2.7") == 0, "rate: IPv4 as it is");

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		abort();
	for (ok = 1, i = 0; i < 3; i++)
		ok &= oauth_rate_take(rl, "a", now + i, 3, &retry);
	CHECK(ok, "rate: three in the window allowed");
	CHECK(oauth_rate_take(rl, "a", now + 10, 3, &retry) == 0 &&
	    retry == OAUTH_RATE_WINDOW - 10, "rate: the fourth refused, with "
	    "the seconds until the window closes");
	CHECK(oauth_rate_take(rl, "b", now + 10, 3, &retry) == 1,
	    "rate: another address unaffected");
	CHECK(oauth_rate_take(rl, "a", now + OAUTH_RATE_WINDOW, 3, &retry) ==
	    1, "rate: a new window after an hour");
	for (ok = 1, i = 0; i < OAUTH_RATE_SLOTS; i++) {
		(void)snprintf(key, sizeof(key), "10.0.%d.%d", i / 256,
		    i % 256);
		ok &= oauth_rate_take(rl, key, now + 20 + i, 3, &retry);
	}
	CHECK(ok, "rate: a full table gives away its oldest windows");
	CHECK(oauth_rate_take(rl, "10.0.0.1", now + 20 + OAUTH_RATE_SLOTS, 1,
	    &retry) == 0, "rate: recent addresses are still counted");
	free(rl);
}
