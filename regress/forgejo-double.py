#!/usr/bin/env python3
#
# forgejo-double.py: a Forgejo test double for the forgejo-mcp-broker
# regress suite and for `make demo`.
#
# It reproduces, on loopback only, what brokerd sees of a Forgejo instance
# on the wire: the OAuth2 provider (discovery, JWKS, authorize, consent,
# token endpoint, userinfo, introspect) and the few /api/v1 routes the
# broker and forgejo-mcp use.  Behaviour follows
# shared/reference/forgejo.md Part 3; where Forgejo versions differ, the
# strict (newest) behaviour is the default and --legacy selects the
# F9/10 one.  Python 3.11, standard library only.
#
# COMMAND LINE
#
#   python3 forgejo-double.py [options]
#
#   --port N               port to listen on; 0 picks a free one.  The first
#                          line on stdout is always "port N" (flushed).
#   --host ADDR            127.0.0.1 (default) or ::1; nothing else.
#   --pidfile PATH         write our pid there; removed on clean exit.
#   --state PATH           JSON file that keeps users, apps, grants, codes,
#                          the token signing key and the issued-token table
#                          across restarts ("down then up" tests).  Written
#                          after every change.  Statistics, the mode and
#                          pending consent pages are not kept.
#   --log PATH             request log: one line "METHOD PATH STATUS" per
#                          request; STATUS is "-" for a dropped request.
#                          The query string is never logged, so neither
#                          tokens nor codes nor secrets reach the log.
#   --app CLIENT_ID:CLIENT_SECRET:REDIRECT_URI[:confidential|public]
#                          repeatable; an instance-wide OAuth2 application.
#                          Default kind: confidential.  To register several
#                          redirect URIs, repeat --app with the same id.
#   --user LOGIN:ID[:EMAIL[:FULL NAME]]
#                          repeatable; default users alice:1 and bob:2
#                          (only when no --user is given and the state file
#                          holds none).  EMAIL defaults to LOGIN@example.org.
#   --pat LOGIN:TOKEN[:SCOPES]
#                          repeatable; a personal access token (40 hex
#                          characters, as Forgejo makes them); SCOPES is a
#                          comma-separated token scope list, default "all".
#   --access-lifetime S    access token lifetime in seconds (default 3600,
#                          Forgejo's ACCESS_TOKEN_EXPIRATION_TIME).
#   --refresh-lifetime S   refresh token lifetime in seconds (default
#                          730 hours, Forgejo's default).
#   --code-lifetime S      Gitea-style authorization code expiry; 0 (the
#                          default, as in every Forgejo) means never.
#   --auto-approve         skip the consent page for every client: the
#                          authorize request is handled as if the user had
#                          pressed "Authorize" (including the "a grant
#                          exists with different scope" refusal).  Off by
#                          default; a real Forgejo always shows the page to
#                          public clients.  Tests use it for simplicity.
#   --legacy               F9/10 behaviour: at the token endpoint
#                          redirect_uri is optional and only has to be
#                          registered; refresh does not check the token
#                          type nor the client of the grant; on /api/v1
#                          "Authorization: Token X" (capital T) is not
#                          recognised (the request is anonymous); userinfo
#                          "name" is the full name, possibly empty.
#   --issuer-trailing-slash
#                          issuer with the trailing "/" (F9/10, F10.0).
#   --no-invalidate-refresh
#                          INVALIDATE_REFRESH_TOKENS=false: no counter, no
#                          "token was already used".
#   --api-401-message TEXT message of the 401 for a bad token on /api/v1
#                          (default "user does not exist [uid: 0, name: ]").
#
# BROWSER LOGIN (for a scripted browser)
#
#   GET /user/login?user=LOGIN[&redirect_to=/local/path?query]
#       sets the cookie "forgejo_session=LOGIN" and answers 303 to
#       redirect_to (or to the redirect_to cookie, or "/").  Only local
#       paths are followed.  POST /user/login with user_name=LOGIN (or
#       user=LOGIN) does the same.  Without a user, a small sign-in form is
#       shown.  GET or POST /user/logout clears the cookie.
#   The authorize endpoint, when there is no valid session, answers 303 to
#   /user/login?redirect_to=<the authorize URL>, so "curl -L -b jar -c jar"
#   with a prior /user/login visit, or a test following redirects, works.
#
# OAUTH2 PROVIDER (forgejo.md Part 1 and Part 3)
#
#   GET  /.well-known/openid-configuration   discovery (A.1)
#   GET  /.well-known/oauth-authorization-server   404 (A.2)
#   GET  /login/oauth/keys                   a static fake JWKS (A.3)
#   GET|POST /login/oauth/authorize          B.1-B.8; consent page whose form
#        posts to /login/oauth/grant with _csrf, client_id, state, scope,
#        nonce, redirect_uri and granted=true|false.
#   POST /login/oauth/grant                  the consent decision
#   POST /login/oauth/access_token           C.1-C.6 (OPTIONS is handled
#        like POST, as Forgejo routes both to the same handler)
#   GET|POST /login/oauth/userinfo           F.1
#   POST /login/oauth/introspect             F.2 (Basic client auth)
#
#   Tokens are JWT-shaped: header {"alg":"RS256","kid":...,"typ":"JWT"},
#   access claims {"gnt","tt":0,"exp","iat"}, refresh claims
#   {"gnt","tt":1,"cnt","exp","iat"}.  The "signature" is NOT RSA: it is
#   512 bytes of HMAC-SHA256 output keyed with a random per-run key (kept
#   in --state), so that tokens have the length of real RS256 tokens made
#   with Forgejo's 4096-bit key (about 860 characters).  Nobody but this
#   double can or should verify them.  As with Forgejo (RS256 signatures
#   are deterministic), two access tokens of one grant issued within the
#   same second are byte-identical; refresh tokens differ by "cnt".
#
# /api/v1 (forgejo.md 1.7 and Part 3 D, E)
#
#   GET /api/v1/version                      {"version":"11.0.0+gitea-1.22.0"};
#        401 JSON when a token is present but bad, as on every /api/v1 path.
#   GET /api/v1/user                         the full User object; 401 "token
#        is required" without a token; 403 without read:user.
#   GET|POST /api/v1/user/applications/oauth2, GET|PATCH|DELETE .../{id}
#        OAuth2 application management for the token's user (E.5).
#   Other /api/v1 paths: 404 with Forgejo's error envelope.
#   Credentials: "Authorization: token T", "Bearer T" (exactly two fields),
#   Basic (token as user name, or as password), ?token= and ?access_token=.
#
# TEST-CONTROL ENDPOINTS (only on this double)
#
#   POST /_double/revoke-grant?user=LOGIN&client_id=ID
#        delete the grant; every access and refresh token of it is refused
#        at once (as Forgejo, which reloads the grant on every request).
#   POST /_double/expire-tokens?user=LOGIN[&client_id=ID][&refresh=1]
#        make the user's access tokens (and refresh tokens with refresh=1)
#        expired now.
#   POST /_double/mode?mode=normal|slow|down|garbage[&seconds=N]
#        slow: sleep N (default 5) seconds before answering every request
#              outside /_double/;
#        down: read each request outside /_double/ and close the connection
#              without answering;
#        garbage: answer 200 with a body that is not JSON (but claims to be)
#              on the token endpoint and on /api/v1.
#   POST /_double/delete-app?client_id=ID    delete an app, its grants, codes
#   POST /_double/regenerate-secret?client_id=ID   answers the new secret
#   POST /_double/disable-user?user=LOGIN[&disabled=false]
#        prohibit login: /api/v1 answers 403 for the user's tokens.
#   POST /_double/reset-stats
#   GET  /_double/stats     JSON counters: token requests by grant_type,
#        token successes by grant_type, refresh_successes, token errors by
#        error code, api calls by path, live (unexpired, unrevoked) access
#        tokens per user, dropped requests, the grants, and the mode.
#
# WHAT IS DELIBERATELY DIFFERENT FROM FORGEJO
#
#   - One lock serialises all request handling, so two concurrent refreshes
#     with the same refresh token never both succeed (Forgejo has a race
#     there; the broker must serialise its refreshes anyway).
#   - Consent state is kept per consent page (keyed by its _csrf value),
#     not per browser session, so several concurrent logins of one test
#     browser work.
#   - Grant ids are never reused, even after a revocation.
#

import argparse
import base64
import email.parser
import email.policy
import hashlib
import hmac
import html
import ipaddress
import json
import os
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import (parse_qsl, quote, quote_plus, unquote, urlsplit,
                          urlunsplit)

FORGEJO_VERSION = "11.0.0+gitea-1.22.0"
MAX_BODY = 1 << 20
STATE_VERSION = 1
FIXED_TIME = "2024-01-01T00:00:00Z"

OIDC_SCOPES = ("openid", "profile", "email", "groups")
SCOPE_CATEGORIES = ("activitypub", "admin", "misc", "notification",
                    "organization", "package", "issue", "repository", "user")
VALID_TOKEN_SCOPES = frozenset(
    ["all", "public-only"] +
    ["%s:%s" % (rw, cat) for rw in ("read", "write")
     for cat in SCOPE_CATEGORIES])

MODES = ("normal", "slow", "down", "garbage")

MSG_CREDENTIALS = ("Credentials are incorrect or have expired. Retry your "
                   "command or see https://codeberg.org/forgejo/forgejo/"
                   "issues/2809 for more information")
MSG_PROHIBITED = ("This account is prohibited from signing in, please "
                  "contact your site administrator.")
MSG_TOKEN_REQUIRED = "token is required"
MSG_NOT_FOUND = "The target couldn't be found."

GARBAGE_BODY = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway"
                b"</title></head><body>upstream sent garbage {\"not\": json"
                b"</body></html>\n")


# ---------------------------------------------------------------------
# Small helpers

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Strict base64url without padding; None on any error."""
    alphabet = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789-_")
    if any(c not in alphabet for c in text) or len(text) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def random_base32(nbytes=32):
    """Lower-case base32 without padding: 52 characters for 32 bytes."""
    raw = base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii")
    return raw.rstrip("=").lower()


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def first(pairs, key):
    """url.Values.Get: the first value of key, or ""."""
    for k, v in pairs:
        if k == key:
            return v
    return ""


def go_parse_bool(text):
    """strconv.ParseBool; a bind error leaves the field false."""
    return text in ("1", "t", "T", "TRUE", "true", "True")


def go_quote(text):
    """An approximation of Go's %q for the error descriptions."""
    return json.dumps(text, ensure_ascii=False)


def split_scope_words(scope):
    """Forgejo splits the grant scope on single spaces."""
    return [w for w in scope.split(" ") if w != ""]


def token_scopes_from_grant(grant_scope):
    """grantAdditionalScopes: the API token scope set of a grant.

    An empty set means "all".  Words that are OIDC scopes are dropped;
    a word is kept when every comma-separated part of it is a valid
    token scope, or when it is "public-only".  Unknown words are
    silently dropped.
    """
    kept = []
    for word in split_scope_words(grant_scope):
        if word in OIDC_SCOPES:
            continue
        parts = [p.strip() for p in word.split(",") if p.strip() != ""]
        if word == "public-only" or (
                parts and all(p in VALID_TOKEN_SCOPES for p in parts)):
            kept.extend(parts)
    return frozenset(kept)


def parse_scope_list(text):
    return frozenset(p.strip() for p in text.split(",") if p.strip() != "")


def scopes_allow(scopes, required):
    """Does a token scope set satisfy one required scope (read:x/write:x)?

    An empty set means all.  "all" allows everything; write:x implies
    read:x; public-only grants nothing by itself.
    """
    if not scopes or "all" in scopes:
        return True
    if required in scopes:
        return True
    kind, _, category = required.partition(":")
    return kind == "read" and ("write:" + category) in scopes


def is_local_redirect(target):
    return (target.startswith("/") and not target.startswith("//") and
            not target.startswith("/\\"))


def ascii_location(url):
    """Percent-encode what may not appear in a header value."""
    return quote(url, safe="".join(chr(c) for c in range(0x21, 0x7f)))


def go_query_encode(values):
    """url.Values.Encode: keys sorted, values in order, QueryEscape."""
    out = []
    for key in sorted(values):
        for value in values[key]:
            out.append(quote_plus(key, safe="") + "=" +
                       quote_plus(value, safe=""))
    return "&".join(out)


def redirect_with(base_uri, params):
    """Add params to base_uri as Forgejo does (q.Set, then Encode)."""
    parts = urlsplit(base_uri)
    values = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        values.setdefault(key, []).append(value)
    for key, value in params:
        values[key] = [value]
    return urlunsplit((parts.scheme, parts.netloc, parts.path,
                       go_query_encode(values), parts.fragment))


def contains_redirect_uri(app, uri):
    """OAuth2Application.ContainsRedirectURI (forgejo.md 1.2, B.7)."""
    def norm(text):
        text = text.lower()
        return text[:-1] if text.endswith("/") else text

    registered = [norm(u) for u in app["redirect_uris"]]

    if not app["confidential"]:
        # RFC 8252 7.3: any port on an http loopback IP literal, for
        # public clients only.  The brackets of an IPv6 literal are lost
        # when the port is stripped, as in Forgejo, so [::1] never matches.
        try:
            parts = urlsplit(uri)
            port = parts.port
            host = parts.hostname
        except ValueError:
            parts, port, host = None, None, None
        if parts is not None and parts.scheme == "http" and \
                port is not None and host:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if loopback:
                netloc = host
                if "@" in parts.netloc:
                    netloc = parts.netloc.rsplit("@", 1)[0] + "@" + host
                stripped = urlunsplit((parts.scheme, netloc, parts.path,
                                       parts.query, parts.fragment))
                if norm(stripped) in registered:
                    return True
    return norm(uri) in registered


def parse_app_spec(spec):
    """CLIENT_ID:CLIENT_SECRET:REDIRECT_URI[:confidential|public]."""
    fields = spec.split(":", 2)
    if len(fields) != 3 or not fields[0] or not fields[2]:
        raise SystemExit("forgejo-double: bad --app %r" % spec)
    client_id, secret, uri = fields
    confidential = True
    for suffix in ("confidential", "public"):
        if uri.endswith(":" + suffix):
            confidential = suffix == "confidential"
            uri = uri[:-(len(suffix) + 1)]
            break
    if not uri:
        raise SystemExit("forgejo-double: bad --app %r" % spec)
    return client_id, secret, uri, confidential


def parse_multipart(content_type, body):
    """Field values of a multipart/form-data body, in order."""
    head = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" %
            content_type).encode("latin-1", "replace")
    try:
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            head + body)
    except Exception:
        return []
    if not msg.is_multipart():
        return []
    pairs = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        pairs.append((str(name), payload.decode("utf-8", "replace")))
    return pairs


# ---------------------------------------------------------------------
# Responses

class Response:
    def __init__(self, status, body=b"", ctype=None, headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = list(headers or [])
        self.drop = False


def json_response(status, obj, headers=None):
    # Go's encoding/json escapes <, > and & and ends with a newline.
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
    return Response(status, (text + "\n").encode("utf-8"),
                    "application/json;charset=utf-8", headers)


def text_response(status, text, headers=None):
    return Response(status, text.encode("utf-8"),
                    "text/plain;charset=utf-8", headers)


def html_response(status, title, body_html, headers=None):
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>%s - Forgejo double</title></head>\n<body>\n%s\n"
            "</body></html>\n" % (html.escape(title), body_html))
    return Response(status, page.encode("utf-8"),
                    "text/html; charset=utf-8", headers)


def redirect_response(location, headers=None):
    location = ascii_location(location)
    body = "<a href=\"%s\">See Other</a>.\n\n" % html.escape(location)
    hdrs = [("Location", location)] + list(headers or [])
    return Response(303, body.encode("utf-8"),
                    "text/html; charset=utf-8", hdrs)


def token_error(code, description):
    """handleAccessTokenError: always HTTP 400, no WWW-Authenticate."""
    resp = json_response(400, {"error": code,
                               "error_description": description})
    resp.token_error = code
    return resp


def garbage_response():
    return Response(200, GARBAGE_BODY, "application/json;charset=utf-8")


# ---------------------------------------------------------------------
# Token signing

class Signer:
    """JWT-shaped tokens with a fake, HMAC-derived, 512-byte signature."""

    SIG_LEN = 512

    def __init__(self, key):
        self.key = key
        self.kid = b64url(hashlib.sha256(b"kid:" + key).digest())

    def _signature(self, signing_input):
        out = b""
        block = 0
        while len(out) < self.SIG_LEN:
            out += hmac.new(self.key, block.to_bytes(4, "big") +
                            signing_input, hashlib.sha256).digest()
            block += 1
        return out[:self.SIG_LEN]

    def sign(self, claims):
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode()) +
            "." +
            b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self._signature(signing_input.encode("ascii"))
        return signing_input + "." + b64url(sig)

    def verify(self, token):
        """The claims of a token we signed, or None.  No time checks."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        sig = b64url_decode(parts[2])
        if sig is None:
            return None
        signing_input = (parts[0] + "." + parts[1]).encode("ascii", "replace")
        if not hmac.compare_digest(sig, self._signature(signing_input)):
            return None
        raw = b64url_decode(parts[1])
        if raw is None:
            return None
        try:
            claims = json.loads(raw)
        except ValueError:
            return None
        return claims if isinstance(claims, dict) else None

    def jwks(self):
        # A fake 4096-bit modulus: deterministic bytes, top bit and low bit
        # set.  It verifies nothing; it only has the right shape.
        modulus = b""
        block = 0
        while len(modulus) < 512:
            modulus += hashlib.sha256(b"modulus:" + self.key +
                                      block.to_bytes(4, "big")).digest()
            block += 1
        modulus = bytearray(modulus[:512])
        modulus[0] |= 0x80
        modulus[-1] |= 0x01
        return {"keys": [{"alg": "RS256", "e": "AQAB", "kid": self.kid,
                          "kty": "RSA", "n": b64url(bytes(modulus)),
                          "use": "sig"}]}


# ---------------------------------------------------------------------
# Persistent state

class Store:
    """Users, apps, grants, codes, tokens: one JSON document."""

    def __init__(self, path):
        self.path = path
        self.data = None
        if path and os.path.exists(path):
            with open(path, "r", encoding="utf-8") as f:
                data = json.load(f)
            if data.get("version") != STATE_VERSION:
                raise SystemExit("forgejo-double: %s: unknown state version"
                                 % path)
            self.data = data
        if self.data is None:
            self.data = {
                "version": STATE_VERSION,
                "key": secrets.token_hex(32),
                "next_grant_id": 1,
                "next_app_id": 1,
                "users": {},
                "apps": {},
                "grants": {},
                "codes": {},
                "tokens": {},
                "next_token_serial": 1,
                "pats": {},
            }

    def save(self):
        if not self.path:
            return
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------
# The double

class Identity:
    def __init__(self, user, scopes, grant=None):
        self.user = user
        self.scopes = scopes
        self.grant = grant


class Double:
    def __init__(self, cfg, store):
        self.cfg = cfg
        self.store = store
        self.db = store.data
        self.signer = Signer(bytes.fromhex(self.db["key"]))
        self.lock = threading.RLock()
        self.mode = "normal"
        self.slow_seconds = 5.0
        self.pending = {}
        self.dirty = False
        self.app_url = None
        self.log_file = None
        self.reset_stats()

    # -- configuration -------------------------------------------------

    def set_base(self, host, port):
        literal = "[%s]" % host if ":" in host else host
        self.app_url = "http://%s:%d/" % (literal, port)

    def issuer(self):
        if self.cfg.issuer_trailing_slash:
            return self.app_url
        return self.app_url.rstrip("/")

    def add_fixtures(self):
        users = self.db["users"]
        for spec in self.cfg.user:
            fields = spec.split(":", 3)
            if len(fields) < 2 or not fields[0] or not fields[1].isdigit():
                raise SystemExit("forgejo-double: bad --user %r" % spec)
            login = fields[0]
            users[login] = {
                "id": int(fields[1]),
                "login": login,
                "email": fields[2] if len(fields) > 2 and fields[2]
                else "%s@example.org" % login,
                "full_name": fields[3] if len(fields) > 3 else "",
                "prohibit_login": users.get(login, {}).get(
                    "prohibit_login", False),
            }
        if not users:
            for login, uid in (("alice", 1), ("bob", 2)):
                users[login] = {"id": uid, "login": login,
                                "email": "%s@example.org" % login,
                                "full_name": "", "prohibit_login": False}

        # --app may be repeated with the same id to add redirect URIs; the
        # command line replaces what the state file had for that id.
        wanted = {}
        for spec in self.cfg.app:
            client_id, secret, uri, confidential = parse_app_spec(spec)
            entry = wanted.setdefault(client_id, {"uris": []})
            entry["secret"] = secret
            entry["confidential"] = confidential
            if uri not in entry["uris"]:
                entry["uris"].append(uri)
        for client_id, entry in wanted.items():
            app = self.db["apps"].get(client_id)
            if app is None:
                app = {"id": self.db["next_app_id"], "uid": 0,
                       "name": "app-" + client_id[:8],
                       "client_id": client_id, "created": FIXED_TIME}
                self.db["next_app_id"] += 1
                self.db["apps"][client_id] = app
            app["client_secret"] = entry["secret"]
            app["confidential"] = entry["confidential"]
            app["redirect_uris"] = entry["uris"]

        for spec in self.cfg.pat:
            fields = spec.split(":", 2)
            if len(fields) < 2 or fields[0] not in users or \
                    len(fields[1]) != 40 or \
                    any(c not in "0123456789abcdef" for c in fields[1]):
                raise SystemExit("forgejo-double: bad --pat (want "
                                 "LOGIN:40-hex[:SCOPES], known login)")
            scopes = fields[2] if len(fields) > 2 and fields[2] else "all"
            self.db["pats"][sha256_hex(fields[1])] = {"user": fields[0],
                                                      "scopes": scopes}
        self.store.save()

    # -- statistics and logging -------------------------------------------

    def reset_stats(self):
        self.stats = {
            "token_requests": {},
            "token_successes": {},
            "token_errors": {},
            "refresh_successes": 0,
            "api_calls": {},
            "authorize_requests": 0,
            "codes_issued": 0,
            "logins": 0,
            "dropped": 0,
        }

    def bump(self, table, key):
        self.stats[table][key] = self.stats[table].get(key, 0) + 1

    def log_request(self, method, path, status):
        if self.log_file is None:
            return
        clean = "".join(c if 0x20 < ord(c) < 0x7f else "?" for c in path)
        line = "%s %s %s\n" % (method, clean[:200], status)
        with self.lock:
            self.log_file.write(line)
            self.log_file.flush()

    # -- model helpers ---------------------------------------------------

    def user(self, login):
        return self.db["users"].get(login)

    def user_json(self, u):
        login = u["login"]
        avatar = hashlib.sha256(u["email"].lower().encode()).hexdigest()
        return {
            "id": u["id"],
            "login": login,
            "login_name": "",
            "source_id": 0,
            "full_name": u["full_name"],
            "email": u["email"],
            "avatar_url": "%savatars/%s" % (self.app_url, avatar[:32]),
            "html_url": self.app_url + login,
            "language": "",
            "is_admin": False,
            "last_login": FIXED_TIME,
            "created": FIXED_TIME,
            "restricted": False,
            "active": True,
            "prohibit_login": bool(u.get("prohibit_login")),
            "location": "",
            "pronouns": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
            "username": login,
        }

    def display_name(self, u):
        if self.cfg.legacy:
            return u["full_name"]
        return u["full_name"] or u["login"]

    def grant_for(self, login, client_id):
        for grant in self.db["grants"].values():
            if grant["user"] == login and grant["client_id"] == client_id:
                return grant
        return None

    def create_grant(self, login, client_id, scope):
        gid = self.db["next_grant_id"]
        self.db["next_grant_id"] += 1
        grant = {"id": gid, "user": login, "client_id": client_id,
                 "scope": scope, "counter": 1, "nonce": "",
                 "created": int(time.time())}
        self.db["grants"][str(gid)] = grant
        self.dirty = True
        return grant

    def delete_grant(self, grant):
        gid = grant["id"]
        del self.db["grants"][str(gid)]
        for code in [c for c, v in self.db["codes"].items()
                     if v["grant_id"] == gid]:
            del self.db["codes"][code]
        for serial in [n for n, t in self.db["tokens"].items()
                       if t["grant_id"] == gid]:
            del self.db["tokens"][serial]
        self.dirty = True

    def delete_app(self, client_id):
        for grant in [g for g in self.db["grants"].values()
                      if g["client_id"] == client_id]:
            self.delete_grant(grant)
        self.db["apps"].pop(client_id, None)
        self.dirty = True

    def new_code(self, grant, redirect_uri, challenge, method):
        code = "gta_" + random_base32()
        self.db["codes"][code] = {"grant_id": grant["id"],
                                  "redirect_uri": redirect_uri,
                                  "challenge": challenge,
                                  "method": method,
                                  "created": int(time.time())}
        self.stats["codes_issued"] += 1
        self.dirty = True
        return code

    def secret_ok(self, app, secret):
        return hmac.compare_digest(app["client_secret"].encode(),
                                   secret.encode("utf-8", "surrogateescape"))

    # -- tokens ------------------------------------------------------------

    def prune_tokens(self, now):
        tokens = self.db["tokens"]
        for serial in [n for n, t in tokens.items() if t["exp"] < now - 60]:
            del tokens[serial]

    def record_token(self, token, grant, tt, exp):
        """Remember an issuance (not a token string: two access tokens of
        one grant issued in the same second are byte-identical, as with
        Forgejo's deterministic RS256, yet they are two issuances)."""
        serial = str(self.db["next_token_serial"])
        self.db["next_token_serial"] += 1
        self.db["tokens"][serial] = {"hash": sha256_hex(token),
                                     "grant_id": grant["id"], "tt": tt,
                                     "exp": exp, "expired": False}

    def issue_tokens(self, grant):
        """newAccessTokenResponse."""
        if self.cfg.invalidate_refresh:
            grant["counter"] += 1
        now = int(time.time())
        access_exp = now + self.cfg.access_lifetime
        access = self.signer.sign({"gnt": grant["id"], "tt": 0,
                                   "exp": access_exp, "iat": now})
        refresh_claims = {"gnt": grant["id"], "tt": 1}
        if grant["counter"]:
            refresh_claims["cnt"] = grant["counter"]
        refresh_claims["exp"] = now + self.cfg.refresh_lifetime
        refresh_claims["iat"] = now
        refresh = self.signer.sign(refresh_claims)

        self.prune_tokens(now)
        self.record_token(access, grant, 0, access_exp)
        self.record_token(refresh, grant, 1, refresh_claims["exp"])
        self.dirty = True

        body = {"access_token": access, "token_type": "bearer",
                "expires_in": self.cfg.access_lifetime,
                "refresh_token": refresh}
        words = split_scope_words(grant["scope"])
        if "openid" in words:
            body["id_token"] = self.id_token(grant, access_exp, now, words)
        return body

    def id_token(self, grant, exp, now, words):
        u = self.user(grant["user"])
        claims = {"iss": self.issuer(), "sub": str(u["id"]),
                  "aud": [grant["client_id"]], "exp": exp, "iat": now}
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        if "profile" in words:
            claims["name"] = self.display_name(u) or None
            claims["preferred_username"] = u["login"]
            claims["profile"] = self.app_url + u["login"]
            claims["picture"] = self.user_json(u)["avatar_url"]
            claims["updated_at"] = 1704067200
            claims = {k: v for k, v in claims.items() if v is not None}
        if "email" in words:
            claims["email"] = u["email"]
            claims["email_verified"] = True
        return self.signer.sign(claims)

    def parse_token(self, token):
        """oauth2.ParseToken plus our forced-expiry table.  Claims or None."""
        claims = self.signer.verify(token)
        if claims is None:
            return None
        for name in ("gnt", "tt", "exp", "iat"):
            if not isinstance(claims.get(name), int):
                return None
        now = time.time()
        if now > claims["exp"] or claims["iat"] > now:
            return None
        digest = sha256_hex(token)
        if any(t["expired"] and t["hash"] == digest
               for t in self.db["tokens"].values()):
            return None
        return claims

    def authenticate(self, token):
        """The identity of an API credential, or None when it is bad."""
        if "." in token:
            claims = self.parse_token(token)
            if claims is None or claims["tt"] != 0:
                return None
            grant = self.db["grants"].get(str(claims["gnt"]))
            if grant is None or grant["client_id"] not in self.db["apps"]:
                return None
            u = self.user(grant["user"])
            if u is None:
                return None
            return Identity(u, token_scopes_from_grant(grant["scope"]),
                            grant)
        pat = self.db["pats"].get(sha256_hex(token))
        if pat is None:
            return None
        u = self.user(pat["user"])
        if u is None:
            return None
        return Identity(u, parse_scope_list(pat["scopes"]))

    def live_access_tokens(self):
        now = time.time()
        counts = {login: 0 for login in self.db["users"]}
        for t in self.db["tokens"].values():
            if t["tt"] != 0 or t["expired"] or now > t["exp"]:
                continue
            grant = self.db["grants"].get(str(t["grant_id"]))
            if grant is None:
                continue
            counts[grant["user"]] = counts.get(grant["user"], 0) + 1
        return counts

    # -- request plumbing ----------------------------------------------------

    def session_user(self, req):
        login = req.cookies.get("forgejo_session", "")
        u = self.user(login)
        if u is None or u.get("prohibit_login"):
            return None
        return login

    def api_error(self, status, message, extra=None):
        body = {"message": message, "url": self.app_url + "api/swagger"}
        if extra:
            body.update(extra)
        return json_response(status, body)

    def extract_credential(self, req):
        """parseToken and Basic.Verify: the presented token, or None."""
        for name in ("token", "access_token"):
            value = first(req.query, name)
            if value:
                return value
        header = req.headers.get("Authorization", "")
        fields = header.split()
        if len(fields) != 2:
            return None
        scheme, value = fields
        if scheme == "token" or scheme.lower() == "bearer":
            return value
        if scheme.lower() == "token" and not self.cfg.legacy:
            return value
        if scheme.lower() == "basic":
            # An undecodable Basic header is ignored (anonymous), as in
            # Basic.Verify; a decodable one that is no token is a bad
            # credential.
            try:
                decoded = base64.b64decode(value, validate=True).decode(
                    "utf-8", "surrogateescape")
            except ValueError:
                return None
            user, sep, password = decoded.partition(":")
            if not sep:
                return None
            if password in ("", "x-oauth-basic"):
                return user
            return password
        return None

    # -- routing -------------------------------------------------------------

    def handle(self, req):
        """Answer one request; called with the lock held."""
        path = req.path
        if path.startswith("/_double/"):
            return self.control(req)
        if path == "/.well-known/openid-configuration":
            return self.discovery(req)
        if path == "/login/oauth/keys":
            return self.only(req, ("GET", "OPTIONS"),
                             lambda: Response(
                                 200, (json.dumps(self.signer.jwks(),
                                                  separators=(",", ":")) +
                                       "\n").encode(), "application/json"))
        if path == "/login/oauth/authorize":
            return self.only(req, ("GET", "POST"),
                             lambda: self.authorize(req))
        if path == "/login/oauth/grant":
            return self.only(req, ("POST",), lambda: self.grant_post(req))
        if path == "/login/oauth/access_token":
            return self.only(req, ("POST", "OPTIONS"),
                             lambda: self.access_token(req))
        if path == "/login/oauth/userinfo":
            return self.only(req, ("GET", "POST", "OPTIONS"),
                             lambda: self.userinfo(req))
        if path == "/login/oauth/introspect":
            return self.only(req, ("POST", "OPTIONS"),
                             lambda: self.introspect(req))
        if path == "/user/login":
            return self.login(req)
        if path == "/user/logout":
            return redirect_response("/", [(
                "Set-Cookie", "forgejo_session=; Path=/; Max-Age=0; "
                "HttpOnly; SameSite=Lax")])
        if path == "/api/v1" or path.startswith("/api/v1/"):
            return self.api(req)
        if path == "/":
            return html_response(200, "Forgejo double",
                                 "<p>Forgejo test double %s.</p>" %
                                 html.escape(FORGEJO_VERSION))
        return html_response(404, "Page Not Found",
                             "<p>404 page not found</p>")

    def only(self, req, methods, fn):
        if req.method not in methods:
            return text_response(405, "Method Not Allowed")
        return fn()

    # -- discovery ------------------------------------------------------------

    def discovery(self, req):
        base = self.app_url
        doc = {
            "issuer": self.issuer(),
            "authorization_endpoint": base + "login/oauth/authorize",
            "token_endpoint": base + "login/oauth/access_token",
            "jwks_uri": base + "login/oauth/keys",
            "userinfo_endpoint": base + "login/oauth/userinfo",
            "introspection_endpoint": base + "login/oauth/introspect",
            "response_types_supported": ["code", "id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email", "groups"],
            "claims_supported": ["aud", "exp", "iat", "iss", "sub", "name",
                                 "preferred_username", "profile", "picture",
                                 "website", "locale", "updated_at", "email",
                                 "email_verified", "groups"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "grant_types_supported": ["authorization_code",
                                      "refresh_token"],
        }
        return Response(200, (json.dumps(doc, indent=2) + "\n").encode(),
                        "application/json")

    # -- browser login --------------------------------------------------------

    def login(self, req):
        form = req.form_pairs() if req.method == "POST" else req.query
        login = first(form, "user") or first(form, "user_name")
        target = first(form, "redirect_to") or \
            req.cookies.get("redirect_to", "")
        if not is_local_redirect(target):
            target = "/"
        if not login:
            page = ("<form method=\"post\" action=\"/user/login\">\n"
                    "<label>Username <input name=\"user_name\"></label>\n"
                    "<input type=\"hidden\" name=\"redirect_to\" "
                    "value=\"%s\">\n<button type=\"submit\">Sign In"
                    "</button>\n</form>" % html.escape(target))
            return html_response(200, "Sign In", page)
        u = self.user(login)
        if u is None:
            return html_response(200, "Sign In",
                                 "<p class=\"error\">Username or password "
                                 "is incorrect.</p>")
        if u.get("prohibit_login"):
            return html_response(200, "Sign In Prohibited",
                                 "<p class=\"error\">%s</p>" %
                                 html.escape(MSG_PROHIBITED))
        self.stats["logins"] += 1
        return redirect_response(target, [
            ("Set-Cookie", "forgejo_session=%s; Path=/; HttpOnly; "
             "SameSite=Lax" % quote(login, safe="")),
            ("Set-Cookie", "redirect_to=; Path=/; Max-Age=0; HttpOnly; "
             "SameSite=Lax")])

    # -- authorization endpoint -----------------------------------------------

    def grant_error_page(self, code, description):
        body = ("<h1>Authorization failed</h1>\n<p>%s: %s</p>" %
                (html.escape(code), html.escape(description)))
        return html_response(400, "Authorization failed", body)

    def error_redirect(self, redirect_uri, code, description, state):
        """handleAuthorizeError: state is always present."""
        return redirect_response(redirect_with(redirect_uri, [
            ("error", code), ("error_description", description),
            ("state", state)]))

    def code_redirect(self, redirect_uri, code, state):
        params = [("code", code)]
        if state:
            params.append(("state", state))
        return redirect_response(redirect_with(redirect_uri, params))

    def authorize(self, req):
        self.stats["authorize_requests"] += 1
        login = self.session_user(req)
        if login is None:
            target = req.raw_path
            return redirect_response(
                "/user/login?redirect_to=" + quote(target, safe=""),
                [("Set-Cookie", "redirect_to=%s; Path=/; HttpOnly; "
                  "SameSite=Lax" % quote(target, safe=""))])

        form = req.query
        if req.method == "POST":
            form = req.form_pairs()
        client_id = first(form, "client_id")
        redirect_uri = first(form, "redirect_uri")
        state = first(form, "state")
        scope = first(form, "scope")
        nonce = first(form, "nonce")
        method = first(form, "code_challenge_method")
        challenge = first(form, "code_challenge")

        app = self.db["apps"].get(client_id)
        if app is None:
            return self.grant_error_page("unauthorized_client",
                                         "Client ID not registered")
        if not contains_redirect_uri(app, redirect_uri):
            return self.grant_error_page("invalid_request",
                                         "Unregistered Redirect URI")
        if first(form, "response_type") != "code":
            return self.error_redirect(
                redirect_uri, "unsupported_response_type",
                "Only code response type is supported.", state)
        if method in ("S256", "plain"):
            pass
        elif method == "":
            if not app["confidential"]:
                return self.error_redirect(
                    redirect_uri, "invalid_request",
                    "PKCE is required for public clients", state)
            challenge = ""
        else:
            return self.error_redirect(
                redirect_uri, "invalid_request",
                "unsupported code challenge method", state)

        grant = self.grant_for(login, client_id)
        if app["confidential"] and grant is not None:
            # No consent page; the scope of the existing grant is kept.
            code = self.new_code(grant, redirect_uri, challenge, method)
            if nonce:
                grant["nonce"] = nonce
            return self.code_redirect(redirect_uri, code, state)

        if self.cfg.auto_approve:
            return self.decide(login, app, redirect_uri, state, scope,
                               nonce, challenge, method, True)

        csrf = secrets.token_urlsafe(24)
        self.pending[csrf] = {"user": login, "client_id": client_id,
                              "state": state, "redirect_uri": redirect_uri,
                              "challenge": challenge, "method": method,
                              "created": time.time()}
        self.prune_pending()
        return self.consent_page(app, csrf, client_id, state, scope, nonce,
                                 redirect_uri)

    def prune_pending(self):
        cutoff = time.time() - 3600
        for key in [k for k, v in self.pending.items()
                    if v["created"] < cutoff]:
            del self.pending[key]
        while len(self.pending) > 1000:
            oldest = min(self.pending, key=lambda k:
                         self.pending[k]["created"])
            del self.pending[oldest]

    def consent_page(self, app, csrf, client_id, state, scope, nonce,
                     redirect_uri):
        e = html.escape
        hidden = "".join(
            "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n" %
            (e(k), e(v)) for k, v in (("_csrf", csrf),
                                      ("client_id", client_id),
                                      ("state", state), ("scope", scope),
                                      ("nonce", nonce),
                                      ("redirect_uri", redirect_uri)))
        body = (
            "<h1>Authorize application</h1>\n"
            "<p><strong>%s</strong> wants to access your account.</p>\n"
            "<p>You will be redirected to <strong>%s</strong>.</p>\n"
            "<p>Requested scope: <code>%s</code></p>\n"
            "<form method=\"post\" action=\"/login/oauth/grant\">\n%s"
            "<button type=\"submit\" id=\"authorize-app\" name=\"granted\" "
            "value=\"true\">Authorize Application</button>\n"
            "<button type=\"submit\" name=\"granted\" value=\"false\">"
            "Cancel</button>\n</form>" %
            (e(app["name"]), e(redirect_uri), e(scope), hidden))
        return html_response(200, "Authorize application", body)

    def grant_post(self, req):
        login = self.session_user(req)
        if login is None:
            return redirect_response("/user/login")
        form = req.form_pairs()
        pend = self.pending.get(first(form, "_csrf"))
        if pend is None or pend["user"] != login:
            return text_response(400, "Invalid CSRF token.")
        client_id = first(form, "client_id")
        state = first(form, "state")
        redirect_uri = first(form, "redirect_uri")
        if (pend["client_id"] != client_id or pend["state"] != state or
                pend["redirect_uri"] != redirect_uri):
            return text_response(400, "Bad Request")
        app = self.db["apps"].get(client_id)
        if app is None:
            return text_response(500, "Internal Server Error")
        return self.decide(login, app, redirect_uri, state,
                           first(form, "scope"), first(form, "nonce"),
                           pend["challenge"], pend["method"],
                           go_parse_bool(first(form, "granted")))

    def decide(self, login, app, redirect_uri, state, scope, nonce,
               challenge, method, granted):
        """GrantApplicationOAuth after the session checks."""
        if not granted:
            return self.error_redirect(redirect_uri, "access_denied",
                                       "the request is denied", state)
        grant = self.grant_for(login, app["client_id"])
        if grant is None:
            grant = self.create_grant(login, app["client_id"], scope)
        elif grant["scope"] != scope:
            return self.error_redirect(redirect_uri, "server_error",
                                       "a grant exists with different scope",
                                       state)
        if nonce:
            grant["nonce"] = nonce
        code = self.new_code(grant, redirect_uri, challenge, method)
        return self.code_redirect(redirect_uri, code, state)

    # -- token endpoint -------------------------------------------------------

    TOKEN_FIELDS = ("grant_type", "client_id", "client_secret",
                    "redirect_uri", "code", "refresh_token", "code_verifier")

    def bind_token_form(self, req):
        """go-chi/binding Bind for AccessTokenForm; errors are dropped."""
        ctype = req.headers.get("Content-Type", "")
        form = dict.fromkeys(self.TOKEN_FIELDS, "")
        if "form-urlencoded" in ctype:
            pairs = req.form_pairs()
        elif "multipart/form-data" in ctype:
            pairs = req.query + parse_multipart(ctype, req.body)
        elif "json" in ctype:
            pairs = []
            try:
                obj = json.loads(req.body)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                pairs = [(k, v) for k, v in obj.items()
                         if isinstance(v, str)]
        else:
            pairs = []
        for key in self.TOKEN_FIELDS:
            form[key] = first(pairs, key)
        return form

    def access_token(self, req):
        form = self.bind_token_form(req)
        grant_type = form["grant_type"] or "(none)"
        self.bump("token_requests", grant_type)
        if self.mode == "garbage":
            return garbage_response()
        resp = self.access_token_inner(req, form)
        if resp.status == 200:
            self.bump("token_successes", grant_type)
            if form["grant_type"] == "refresh_token":
                self.stats["refresh_successes"] += 1
        else:
            self.bump("token_errors", getattr(resp, "token_error", "?"))
        return resp

    def access_token_inner(self, req, form):
        if form["client_id"] == "" or form["client_secret"] == "":
            header = req.headers.get("Authorization", "")
            scheme, sep, data = header.partition(" ")
            if sep and scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(data, validate=True).decode(
                        "utf-8", "surrogateescape")
                except ValueError:
                    decoded = None
                if decoded is None or ":" not in decoded:
                    return token_error("invalid_request",
                                       "cannot parse basic auth header")
                client_id, _, secret = decoded.partition(":")
                if form["client_id"] and form["client_id"] != client_id:
                    return token_error(
                        "invalid_request", "client_id in request body "
                        "inconsistent with Authorization header")
                form["client_id"] = client_id
                if form["client_secret"] and \
                        form["client_secret"] != secret:
                    return token_error(
                        "invalid_request", "client_secret in request body "
                        "inconsistent with Authorization header")
                form["client_secret"] = secret

        if form["grant_type"] == "refresh_token":
            return self.refresh_grant(form)
        if form["grant_type"] == "authorization_code":
            return self.code_grant(form)
        return token_error("unsupported_grant_type",
                           "Only refresh_token or authorization_code grant "
                           "type is supported")

    def secret_error(self, app, secret, code):
        if not app["confidential"] or self.secret_ok(app, secret):
            return None
        if secret == "":
            return token_error(code, "invalid empty client secret")
        return token_error(code, "invalid client secret")

    def code_grant(self, form):
        """handleAuthorizationCode, checks in Forgejo's order."""
        client_id = form["client_id"]
        app = self.db["apps"].get(client_id)
        if app is None:
            return token_error("invalid_client",
                               "cannot load client with client id: '%s'" %
                               client_id)
        err = self.secret_error(app, form["client_secret"],
                                "unauthorized_client")
        if err:
            return err
        redirect_uri = form["redirect_uri"]
        if redirect_uri and not contains_redirect_uri(app, redirect_uri):
            return token_error("unauthorized_client",
                               "unexpected redirect URI")
        code = self.db["codes"].get(form["code"])
        grant = None
        if code is not None:
            grant = self.db["grants"].get(str(code["grant_id"]))
        if code is None or grant is None:
            return token_error("unauthorized_client",
                               "client is not authorized")
        if self.cfg.code_lifetime and \
                time.time() > code["created"] + self.cfg.code_lifetime:
            return token_error("invalid_grant", "authorization code expired")
        if not self.pkce_ok(code, form["code_verifier"]):
            return token_error("unauthorized_client",
                               "failed PKCE code challenge")
        if not self.cfg.legacy and code["redirect_uri"] and \
                redirect_uri != code["redirect_uri"]:
            return token_error("unauthorized_client",
                               "redirect_uri does not match the "
                               "authorization request")
        if grant["client_id"] != client_id:
            return token_error("invalid_grant", "invalid grant")
        del self.db["codes"][form["code"]]
        self.dirty = True
        return json_response(200, self.issue_tokens(grant))

    @staticmethod
    def pkce_ok(code, verifier):
        method = code["method"]
        if method == "S256":
            digest = hashlib.sha256(verifier.encode(
                "utf-8", "surrogateescape")).digest()
            return hmac.compare_digest(b64url(digest), code["challenge"])
        if method == "plain":
            return hmac.compare_digest(verifier.encode(
                "utf-8", "surrogateescape"), code["challenge"].encode())
        return method == ""

    def refresh_grant(self, form):
        """handleRefreshToken."""
        client_id = form["client_id"]
        app = self.db["apps"].get(client_id)
        if app is None:
            return token_error("invalid_client",
                               "cannot load client with client id: %s" %
                               go_quote(client_id))
        err = self.secret_error(app, form["client_secret"], "invalid_client")
        if err:
            return err
        claims = self.parse_token(form["refresh_token"])
        if claims is None:
            return token_error("unauthorized_client",
                               "unable to parse refresh token")
        if not self.cfg.legacy and claims["tt"] != 1:
            return token_error("unauthorized_client",
                               "token is not a refresh token")
        grant = self.db["grants"].get(str(claims["gnt"]))
        if grant is None:
            return token_error("invalid_grant", "grant does not exist")
        if not self.cfg.legacy and grant["client_id"] != client_id:
            return token_error("invalid_grant",
                               "refresh token was not issued to this client")
        counter = claims.get("cnt", 0)
        if self.cfg.invalidate_refresh and \
                (counter != grant["counter"] or counter == 0):
            return token_error("unauthorized_client",
                               "token was already used")
        return json_response(200, self.issue_tokens(grant))

    # -- userinfo and introspection -------------------------------------------

    def userinfo(self, req):
        token = self.extract_credential(req)
        if token is not None:
            ident = self.authenticate(token) if token else None
            if ident is None:
                return text_response(401, MSG_CREDENTIALS)
        else:
            ident = None
        if ident is None or ident.grant is None:
            return text_response(401, "no valid authorization",
                                 [("WWW-Authenticate", 'Bearer realm=""')])
        u = ident.user
        return json_response(200, {
            "sub": str(u["id"]),
            "name": self.display_name(u),
            "preferred_username": u["login"],
            "email": u["email"],
            "picture": self.user_json(u)["avatar_url"],
        })

    def introspect(self, req):
        header = req.headers.get("Authorization", "")
        scheme, sep, data = header.partition(" ")
        valid = False
        if sep and scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(data, validate=True).decode(
                    "utf-8", "surrogateescape")
            except ValueError:
                decoded = ""
            client_id, sep2, secret = decoded.partition(":")
            app = self.db["apps"].get(client_id)
            valid = bool(sep2) and app is not None and \
                self.secret_ok(app, secret)
        if not valid:
            return text_response(401, "no valid authorization",
                                 [("WWW-Authenticate", 'Basic realm=""')])
        body = {"active": False}
        claims = self.parse_token(first(req.form_pairs(), "token"))
        if claims is not None:
            grant = self.db["grants"].get(str(claims["gnt"]))
            if grant is not None and grant["client_id"] in self.db["apps"]:
                u = self.user(grant["user"])
                body = {"active": True}
                if grant["scope"]:
                    body["scope"] = grant["scope"]
                if u is not None:
                    body["username"] = u["login"]
                body["iss"] = self.issuer()
                if u is not None:
                    body["sub"] = str(u["id"])
                body["aud"] = [grant["client_id"]]
        return json_response(200, body)

    # -- /api/v1 --------------------------------------------------------------

    def api(self, req):
        path = req.path
        self.bump("api_calls", path)
        if self.mode == "garbage":
            return garbage_response()

        ident = None
        token = self.extract_credential(req)
        if token is not None:
            ident = self.authenticate(token) if token else None
            if ident is None:
                return self.api_error(401, self.cfg.api_401_message)
            if ident.user.get("prohibit_login"):
                return self.api_error(403, MSG_PROHIBITED)

        if path == "/api/v1/version":
            if req.method != "GET":
                return self.api_error(405, "Method Not Allowed")
            return json_response(200, {"version": FORGEJO_VERSION})

        if path == "/api/v1/user":
            if req.method != "GET":
                return self.api_error(405, "Method Not Allowed")
            err = self.require(ident, "read:user")
            if err:
                return err
            return json_response(200, self.user_json(ident.user))

        prefix = "/api/v1/user/applications/oauth2"
        if path == prefix or path.startswith(prefix + "/"):
            return self.api_apps(req, ident, path[len(prefix):])

        return self.api_error(404, MSG_NOT_FOUND, {"errors": []})

    def require(self, ident, scope):
        if ident is None:
            return self.api_error(401, MSG_TOKEN_REQUIRED)
        if not scopes_allow(ident.scopes, scope):
            return self.api_error(
                403, "token does not have at least one of required "
                "scope(s): [%s]" % scope)
        return None

    def app_json(self, app, secret=""):
        return {"id": app["id"], "name": app["name"],
                "client_id": app["client_id"], "client_secret": secret,
                "confidential_client": app["confidential"],
                "redirect_uris": list(app["redirect_uris"]),
                "created": app["created"]}

    def api_apps(self, req, ident, rest):
        need = "read:user" if req.method == "GET" else "write:user"
        err = self.require(ident, need)
        if err:
            return err
        uid = ident.user["id"]
        mine = [a for a in self.db["apps"].values() if a["uid"] == uid]

        if rest in ("", "/"):
            if req.method == "GET":
                return json_response(200, [self.app_json(a) for a in
                                           sorted(mine,
                                                  key=lambda a: a["id"])])
            if req.method != "POST":
                return self.api_error(405, "Method Not Allowed")
            opts = self.json_body(req)
            if opts is None or not isinstance(opts.get("name"), str) or \
                    not opts["name"]:
                return self.api_error(422, "[Name]: Required")
            uris = opts.get("redirect_uris") or []
            if not isinstance(uris, list) or \
                    not all(isinstance(u, str) for u in uris):
                return self.api_error(422, "[RedirectURIs]: invalid")
            app = {"id": self.db["next_app_id"], "uid": uid,
                   "name": opts["name"], "client_id": str(uuid.uuid4()),
                   "client_secret": "gto_" + random_base32(),
                   "confidential": bool(opts.get("confidential_client",
                                                 False)),
                   "redirect_uris": uris, "created": now_rfc3339()}
            self.db["next_app_id"] += 1
            self.db["apps"][app["client_id"]] = app
            self.dirty = True
            return json_response(201, self.app_json(app,
                                                    app["client_secret"]))

        ident_text = rest.lstrip("/")
        app = None
        if ident_text.isdigit():
            app = next((a for a in mine if a["id"] == int(ident_text)), None)
        if app is None:
            return self.api_error(404, MSG_NOT_FOUND, {"errors": []})
        if req.method == "GET":
            return json_response(200, self.app_json(app))
        if req.method == "DELETE":
            self.delete_app(app["client_id"])
            return Response(204)
        if req.method == "PATCH":
            opts = self.json_body(req)
            if opts is None:
                return self.api_error(422, "invalid JSON body")
            if isinstance(opts.get("name"), str) and opts["name"]:
                app["name"] = opts["name"]
            if isinstance(opts.get("redirect_uris"), list):
                app["redirect_uris"] = [u for u in opts["redirect_uris"]
                                        if isinstance(u, str)]
            if isinstance(opts.get("confidential_client"), bool):
                app["confidential"] = opts["confidential_client"]
            self.dirty = True
            return json_response(200, self.app_json(app))
        return self.api_error(405, "Method Not Allowed")

    @staticmethod
    def json_body(req):
        try:
            obj = json.loads(req.body or b"null")
        except ValueError:
            return None
        return obj if isinstance(obj, dict) else None

    # -- test control ---------------------------------------------------------

    def control(self, req):
        path = req.path
        q = req.query
        if path == "/_double/stats":
            if req.method != "GET":
                return text_response(405, "Method Not Allowed")
            stats = dict(self.stats)
            stats["live_access_tokens"] = self.live_access_tokens()
            stats["mode"] = self.mode
            stats["grants"] = [
                {"id": g["id"], "user": g["user"],
                 "client_id": g["client_id"], "scope": g["scope"],
                 "counter": g["counter"]}
                for g in sorted(self.db["grants"].values(),
                                key=lambda g: g["id"])]
            return json_response(200, stats)
        if req.method != "POST":
            return text_response(405, "Method Not Allowed")

        def bad(status, message):
            return json_response(status, {"error": message})

        if path == "/_double/mode":
            mode = first(q, "mode")
            if mode not in MODES:
                return bad(400, "mode must be one of " + ", ".join(MODES))
            seconds = first(q, "seconds")
            if seconds:
                try:
                    self.slow_seconds = max(0.0, float(seconds))
                except ValueError:
                    return bad(400, "bad seconds")
            self.mode = mode
            return json_response(200, {"mode": mode})

        if path == "/_double/revoke-grant":
            grant = self.grant_for(first(q, "user"), first(q, "client_id"))
            if grant is None:
                return bad(404, "no such grant")
            self.delete_grant(grant)
            return json_response(200, {"revoked": grant["id"]})

        if path == "/_double/expire-tokens":
            login = first(q, "user")
            if self.user(login) is None:
                return bad(404, "no such user")
            client_id = first(q, "client_id")
            with_refresh = go_parse_bool(first(q, "refresh"))
            count = 0
            for t in self.db["tokens"].values():
                grant = self.db["grants"].get(str(t["grant_id"]))
                if grant is None or grant["user"] != login:
                    continue
                if client_id and grant["client_id"] != client_id:
                    continue
                if t["tt"] == 0 or with_refresh:
                    if not t["expired"]:
                        count += 1
                    t["expired"] = True
            self.dirty = True
            return json_response(200, {"expired": count})

        if path == "/_double/delete-app":
            client_id = first(q, "client_id")
            if client_id not in self.db["apps"]:
                return bad(404, "no such app")
            self.delete_app(client_id)
            return json_response(200, {"deleted": client_id})

        if path == "/_double/regenerate-secret":
            app = self.db["apps"].get(first(q, "client_id"))
            if app is None:
                return bad(404, "no such app")
            app["client_secret"] = "gto_" + random_base32()
            self.dirty = True
            return json_response(200, {"client_secret":
                                       app["client_secret"]})

        if path == "/_double/disable-user":
            u = self.user(first(q, "user"))
            if u is None:
                return bad(404, "no such user")
            flag = first(q, "disabled")
            u["prohibit_login"] = True if flag == "" else go_parse_bool(flag)
            self.dirty = True
            return json_response(200, {"user": u["login"],
                                       "disabled": u["prohibit_login"]})

        if path == "/_double/reset-stats":
            self.reset_stats()
            return json_response(200, {"reset": True})

        return bad(404, "no such control endpoint")


# ---------------------------------------------------------------------
# HTTP server

class Request:
    def __init__(self, method, raw_path, headers, body):
        self.method = method
        self.raw_path = raw_path
        parts = urlsplit(raw_path)
        self.path = parts.path
        self.query = parse_qsl(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.cookies = {}
        for header in headers.get_all("Cookie") or []:
            for item in header.split(";"):
                name, sep, value = item.strip().partition("=")
                if sep and name not in self.cookies:
                    self.cookies[name] = value.strip('"')
        for name in ("forgejo_session", "redirect_to"):
            if name in self.cookies:
                self.cookies[name] = unquote(self.cookies[name])

    def form_pairs(self):
        """ParseForm: a form-urlencoded body first, then the query."""
        pairs = []
        if "form-urlencoded" in self.headers.get("Content-Type", ""):
            pairs = parse_qsl(self.body.decode("utf-8", "replace"),
                              keep_blank_values=True)
        return pairs + self.query


class BodyTooLarge(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "forgejo-double"
    timeout = 60
    double = None   # set by main()

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        # BaseHTTPRequestHandler would print the request line, query
        # string included, which may carry a token.  Our own log is in
        # Double.log_request.
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise BodyTooLarge("bad chunk")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return bytes(body)
                if len(body) + size > MAX_BODY:
                    raise BodyTooLarge("too large")
                body += self.rfile.read(size)
                self.rfile.readline(16)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyTooLarge("bad length")
        if n < 0 or n > MAX_BODY:
            raise BodyTooLarge("too large")
        return self.rfile.read(n)

    def send(self, resp):
        self.send_response(resp.status)
        for name, value in resp.headers:
            self.send_header(name, value)
        if resp.ctype:
            self.send_header("Content-Type", resp.ctype)
        self.send_header("Content-Length", str(len(resp.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    def dispatch(self):
        d = self.double
        path = urlsplit(self.path).path
        try:
            body = self.read_body()
        except BodyTooLarge:
            self.close_connection = True
            self.send(text_response(413, "Request Entity Too Large"))
            d.log_request(self.command, path, 413)
            return
        req = Request(self.command, self.path, self.headers, body)

        if not path.startswith("/_double/"):
            with d.lock:
                mode, delay = d.mode, d.slow_seconds
                if mode == "down":
                    d.stats["dropped"] += 1
            if mode == "down":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                d.log_request(self.command, path, "-")
                return
            if mode == "slow":
                time.sleep(delay)

        try:
            with d.lock:
                resp = d.handle(req)
                if d.dirty:
                    d.store.save()
                    d.dirty = False
        except Exception:
            traceback.print_exc(file=sys.stderr)
            resp = text_response(500, "Internal Server Error")
        self.send(resp)
        d.log_request(self.command, path, resp.status)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = \
        do_HEAD = dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server):
    address_family = socket.AF_INET6


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="forgejo-double.py",
        description="A Forgejo OAuth2 provider and API test double "
                    "(loopback only).")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1",
                   choices=("127.0.0.1", "::1"))
    p.add_argument("--pidfile")
    p.add_argument("--state")
    p.add_argument("--log")
    p.add_argument("--app", action="append", default=[])
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--pat", action="append", default=[])
    p.add_argument("--access-lifetime", type=int, default=3600)
    p.add_argument("--refresh-lifetime", type=int, default=730 * 3600)
    p.add_argument("--code-lifetime", type=int, default=0)
    p.add_argument("--auto-approve", action="store_true")
    p.add_argument("--legacy", action="store_true")
    p.add_argument("--issuer-trailing-slash", action="store_true")
    p.add_argument("--no-invalidate-refresh", dest="invalidate_refresh",
                   action="store_false")
    p.add_argument("--api-401-message",
                   default="user does not exist [uid: 0, name: ]")
    cfg = p.parse_args(argv)
    if not 0 <= cfg.port <= 65535:
        p.error("--port must be 0..65535")
    if cfg.access_lifetime < 1 or cfg.refresh_lifetime < 1 or \
            cfg.code_lifetime < 0:
        p.error("lifetimes must be positive")
    return cfg


def main(argv):
    cfg = parse_args(argv)
    store = Store(cfg.state)
    double = Double(cfg, store)
    double.add_fixtures()

    cls = Server6 if cfg.host == "::1" else Server
    Handler.double = double
    try:
        httpd = cls((cfg.host, cfg.port), Handler)
    except OSError as e:
        sys.stderr.write("forgejo-double: cannot listen on %s port %d: %s\n"
                         % (cfg.host, cfg.port, e.strerror or e))
        return 1
    port = httpd.server_address[1]
    double.set_base(cfg.host, port)

    if cfg.log:
        double.log_file = open(cfg.log, "a", encoding="utf-8")
    if cfg.pidfile:
        with open(cfg.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sys.stdout.write("port %d\n" % port)
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        if cfg.pidfile:
            try:
                os.unlink(cfg.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
