#!/usr/bin/env python3
#
# browser.py: a scripted browser for the OAuth regress tests of brokerd.
# Python 3, standard library only; loopback only.
#
# It plays the user's browser in the authorization code flow:
#
#   client -> GET  {public url}/authorize?...        brokerd's consent page
#          -> POST {public url}/authorize            consent=approve|deny
#          -> GET  {forgejo url}/login/oauth/authorize   (the double; the
#             browser logs in there with GET /user/login?user=LOGIN first,
#             and carries the session cookie; the double runs with
#             --auto-approve, but a Forgejo consent page is submitted too)
#          -> GET  {public url}/callback?code=...&state=...
#          -> 303 to the client's redirect URI with code, state, iss
#
# and stops at the redirect to the client's redirect URI, which it never
# fetches (nothing needs to listen there).
#
# The browser keeps a cookie jar (host-keyed as browsers do: cookies do
# not depend on the port, so brokerd's and the double's cookies are one
# jar on 127.0.0.1), follows redirects only when told to, and parses HTML
# forms and links with html.parser.
#
# As a module:
#
#   b = Browser()
#   result = login_flow(public_url, client_id, redirect_uri,
#                       verifier=..., state=..., resource=..., user="alice",
#                       approve=True, browser=b)
#   result["ok"], result["final_url"], result["params"]["code"], ...
#
# As a command (every command prints one JSON document on stdout):
#
#   browser.py flow --public-url URL --client-id ID --redirect-uri URI
#       [--verifier V | --challenge C] [--state S] [--resource R]
#       [--scope S] [--user LOGIN] [--deny] [--jar FILE]
#       [--stop-before-callback] [--csrf keep|omit|wrong]
#       [--post-header 'Name: value']... [--param NAME=VALUE]...
#       [--post-jar FILE] [--post-twice]
#   browser.py drive --url AUTHORIZE-URL --redirect-uri URI [--user LOGIN]
#       [--deny] [--jar FILE]      the same, from a ready authorize URL
#   browser.py get URL [--jar FILE] [-H 'Name: value']...
#                                  one GET, redirects not followed
#   browser.py verifier            a fresh PKCE verifier (64 characters)
#   browser.py pkce VERIFIER       its S256 challenge
#   browser.py json FILE PATH [--sorted-list]
#                                  a field of a JSON file ("a.b.0.c");
#                                  strings raw, others as JSON (a list
#                                  sorted and joined by commas with
#                                  --sorted-list); exit 1 if absent
#   browser.py qparam URL NAME     a query parameter of URL; exit 1 if absent
#
# The flow result (JSON):
#   ok             true if the flow ended at a redirect to redirect_uri
#   final_url      that redirect (with code, state and iss, or error)
#   params         its query parameters (first value of each)
#   final_status   the status of the answer that redirected there
#   stage          where it ended: "client" (at redirect_uri), "authorize",
#                  "consent", "forgejo", "callback" (stopped before it, or
#                  the callback's answer was no redirect)
#   callback_url   Forgejo's redirect to brokerd's /callback, when seen
#   consent_page   status, headers, form field names and the CSRF field
#   consent_post   status and headers of the consent POST
#   consent_repost status and headers of the same POST sent again right
#                  after the first (--post-twice), or null
#   last           status, url, headers, body (cut), links, forms of the
#                  last answer fetched
#   hops           [method, url, status] of every request
#   error          why the flow stopped somewhere else than the client
#
# --post-jar FILE posts the consent form from another browser than the
# one that fetched the consent page: one whose cookie jar is FILE, a
# fresh browser without cookies if FILE does not exist yet.  That other
# browser goes on from there.  This is a form fetched by one user and
# posted by another (login CSRF, the attacker's consent request).
#

import argparse
import base64
import hashlib
import http.client
import json
import secrets
import sys
import time
from html.parser import HTMLParser
from urllib.parse import (parse_qsl, urlencode, urljoin, urlsplit,
                          urlunsplit)

DEFAULT_TIMEOUT = 10
MAX_HOPS = 20
BODY_KEEP = 65536


# ---------------------------------------------------------------------
# PKCE

def new_verifier():
    """A PKCE code verifier: 64 characters of [A-Za-z0-9_-], the first
    alphanumeric so that no command line takes it for an option."""
    while True:
        v = secrets.token_urlsafe(48)
        if v[0].isalnum():
            return v


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------
# Cookies

class CookieJar:
    """A small, permissive cookie jar: keyed by host (not port), with
    Path matching and Max-Age=0 / past Expires deletion.  Secure cookies
    are sent on loopback http as browsers treat loopback as a secure
    context.  It can be saved to and loaded from a JSON file so that
    several command invocations share one browser."""

    def __init__(self, path=None):
        self.path = path
        self.cookies = {}       # host -> {name: {"value", "path"}}
        if path:
            try:
                with open(path) as f:
                    self.cookies = json.load(f)
            except (OSError, ValueError):
                self.cookies = {}

    def save(self):
        if self.path:
            with open(self.path, "w") as f:
                json.dump(self.cookies, f)

    @staticmethod
    def _default_path(url_path):
        if not url_path.startswith("/") or url_path.count("/") <= 1:
            return "/"
        return url_path[:url_path.rindex("/")]

    def store(self, url, set_cookie_values):
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        for line in set_cookie_values:
            fields = [f.strip() for f in line.split(";")]
            if not fields or "=" not in fields[0]:
                continue
            name, value = fields[0].split("=", 1)
            name, value = name.strip(), value.strip()
            path = self._default_path(parts.path or "/")
            delete = False
            for attr in fields[1:]:
                key, _, val = attr.partition("=")
                key = key.strip().lower()
                val = val.strip()
                if key == "path" and val.startswith("/"):
                    path = val
                elif key == "max-age":
                    try:
                        delete = int(val) <= 0
                    except ValueError:
                        pass
                elif key == "expires":
                    try:
                        t = time.mktime(time.strptime(
                            val, "%a, %d %b %Y %H:%M:%S GMT"))
                        delete = delete or t < time.time() - 86400
                    except ValueError:
                        pass
            jar = self.cookies.setdefault(host, {})
            if delete:
                jar.pop(name, None)
            else:
                jar[name] = {"value": value, "path": path}

    def header(self, url):
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        path = parts.path or "/"
        out = []
        for name, c in sorted(self.cookies.get(host, {}).items()):
            p = c["path"]
            if path == p or path.startswith(p.rstrip("/") + "/") or p == "/":
                out.append("%s=%s" % (name, c["value"]))
        return "; ".join(out)

    def has(self, url, name):
        host = (urlsplit(url).hostname or "").lower()
        return name in self.cookies.get(host, {})


# ---------------------------------------------------------------------
# HTML

class PageParser(HTMLParser):
    """Forms (action, method, controls) and links (<a href>) of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.links = []
        self._form = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""),
                          "method": (a.get("method") or "get").lower(),
                          "controls": []}
            self.forms.append(self._form)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag in ("input", "button") and self._form is not None:
            default_type = "submit" if tag == "button" else "text"
            self._form["controls"].append({
                "tag": tag,
                "type": (a.get("type") or default_type).lower(),
                "name": a.get("name", ""),
                "value": a.get("value", ""),
                "checked": "checked" in a})
        elif tag == "textarea" and self._form is not None:
            self._textarea = {"tag": "textarea", "type": "textarea",
                              "name": a.get("name", ""), "value": "",
                              "checked": False}
            self._form["controls"].append(self._textarea)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data


def parse_page(text):
    p = PageParser()
    try:
        p.feed(text)
        p.close()
    except Exception:           # a broken page still gives what was parsed
        pass
    return p


def is_submit(control):
    return control["type"] in ("submit", "image") or (
        control["tag"] == "button" and control["type"] not in ("button",
                                                               "reset"))


def form_fields(form):
    """The successful controls of a form without its submit buttons."""
    fields = []
    for c in form["controls"]:
        if not c["name"] or is_submit(c):
            continue
        if c["type"] in ("checkbox", "radio") and not c["checked"]:
            continue
        if c["type"] in ("button", "reset", "file"):
            continue
        fields.append((c["name"], c["value"]))
    return fields


def find_form_with_submit(forms, name):
    for f in forms:
        for c in f["controls"]:
            if c["name"] == name and is_submit(c):
                return f
    return None


def submit_values(form, name):
    return [c["value"] for c in form["controls"]
            if c["name"] == name and is_submit(c)]


def wrong_value(value):
    """A value as long as the given one (at least 16), but another."""
    n = max(len(value), 16)
    w = secrets.token_urlsafe(n)[:n]
    return w if w != value else w[::-1]


def csrf_field(fields):
    for name, _ in fields:
        if "csrf" in name.lower():
            return name
    return None


# ---------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, method, url, status, reason, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def location(self):
        loc = self.header("Location")
        return urljoin(self.url, loc) if loc is not None else None

    @property
    def is_redirect(self):
        return 300 <= self.status < 400 and self.location is not None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def summary(self):
        page = parse_page(self.text) if self.body else PageParser()
        headers = {}
        for k, v in self.headers:
            headers.setdefault(k.lower(), []).append(v)
        return {"status": self.status, "url": self.url,
                "location": self.location, "headers": headers,
                "body": self.text[:BODY_KEEP],
                "links": [urljoin(self.url, h) for h in page.links],
                "forms": page.forms}


class Browser:
    def __init__(self, jar_path=None, timeout=DEFAULT_TIMEOUT,
                 user_agent="brokerd-regress-browser/1"):
        self.jar = CookieJar(jar_path)
        self.timeout = timeout
        self.user_agent = user_agent
        self.hops = []

    def request(self, method, url, body=None, headers=None):
        """One request, redirects not followed."""
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ValueError("only http:// on loopback: %s" % url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("loopback only: %s" % url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80,
                                          timeout=self.timeout)
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        hdrs = {"User-Agent": self.user_agent, "Accept": "text/html,*/*"}
        cookie = self.jar.header(url)
        if cookie:
            hdrs["Cookie"] = cookie
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        status = 0
        try:
            conn.request(method, target, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            resp = Response(method, url, r.status, r.reason,
                            r.getheaders(), data)
            status = r.status
        finally:
            conn.close()
            self.hops.append([method, url, status])
        self.jar.store(url, resp.header_all("Set-Cookie"))
        self.jar.save()
        return resp

    def get(self, url, headers=None):
        return self.request("GET", url, headers=headers)

    def post_form(self, url, fields, headers=None, omit=()):
        """A form submission from a page of the same origin, with the
        Origin and Sec-Fetch-Site headers a browser sends; headers
        replaces them, and the names in omit are not sent."""
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        p = urlsplit(url)
        hdrs["Origin"] = "%s://%s" % (p.scheme, p.netloc)
        hdrs["Sec-Fetch-Site"] = "same-origin"
        hdrs.update(headers or {})
        for name in omit:
            hdrs.pop(name, None)
        return self.request("POST", url, body=urlencode(fields),
                            headers=hdrs)


def at_uri(url, base):
    """True if url is base, or base with a query or fragment added."""
    if url is None:
        return False
    return url == base or url.startswith(base + "?") or \
        url.startswith(base + "#") or \
        ("?" in base and url.startswith(base + "&"))


def query_params(url):
    out = {}
    for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def same_origin(a, b):
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname,
                                                 pb.port)


# ---------------------------------------------------------------------
# The flow

def authorize_url(public_url, client_id, redirect_uri, challenge,
                  state=None, resource=None, scope=None, extra=None):
    params = [("response_type", "code"), ("client_id", client_id),
              ("redirect_uri", redirect_uri),
              ("code_challenge", challenge),
              ("code_challenge_method", "S256")]
    if state is not None:
        params.append(("state", state))
    if resource is not None:
        params.append(("resource", resource))
    if scope is not None:
        params.append(("scope", scope))
    for k, v in (extra or []):
        params = [(a, b) for a, b in params if a != k]
        if v is not None:
            params.append((k, v))
    return public_url.rstrip("/") + "/authorize?" + urlencode(params)


def drive(url, redirect_uri, user="alice", approve=True, browser=None,
          stop_before_callback=False, csrf="keep", post_headers=None,
          post_browser=None, post_twice=False):
    """Run the browser part of the flow from an authorize URL.  See the
    header for the result.  post_browser, if given, posts the consent
    form and goes on from there; post_twice posts it once more right
    after the first time."""
    b = browser or Browser()
    public = "%s://%s" % (urlsplit(url).scheme, urlsplit(url).netloc)
    res = {"ok": False, "final_url": None, "params": {},
           "final_status": None, "stage": "authorize",
           "callback_url": None, "consent_page": None,
           "consent_post": None, "consent_repost": None, "last": None,
           "hops": b.hops, "error": None}

    def finish(resp, stage, error=None):
        res["stage"] = stage
        res["last"] = resp.summary() if resp is not None else None
        if error:
            res["error"] = error
        return res

    def arrived(resp, target):
        res["ok"] = True
        res["final_url"] = target
        res["params"] = query_params(target)
        res["final_status"] = resp.status
        return finish(resp, "client")

    try:
        # 1. brokerd's /authorize: a consent page, or an error redirect.
        resp = b.get(url)
        if resp.is_redirect:
            if at_uri(resp.location, redirect_uri):
                return arrived(resp, resp.location)
            return finish(resp, "authorize",
                          "/authorize redirected elsewhere than the "
                          "redirect URI")
        page = parse_page(resp.text)
        form = find_form_with_submit(page.forms, "consent")
        res["consent_page"] = {
            "status": resp.status,
            "headers": resp.summary()["headers"],
            "fields": [n for n, _ in form_fields(form)] if form else [],
            "csrf_field": csrf_field(form_fields(form)) if form else None,
            "consent_values": submit_values(form, "consent") if form
            else [],
            "body": resp.text[:BODY_KEEP]}
        if resp.status != 200 or form is None:
            return finish(resp, "authorize",
                          "no consent form with a 'consent' submit control")

        # 2. The consent decision.
        fields = form_fields(form)
        name = csrf_field(fields)
        if csrf == "omit":
            fields = [(k, v) for k, v in fields if k != name]
        elif csrf == "wrong":
            fields = [(k, wrong_value(v) if k == name else v)
                      for k, v in fields]
        fields.append(("consent", "approve" if approve else "deny"))
        action = urljoin(resp.url, form["action"] or resp.url)
        if form["method"] != "post":
            return finish(resp, "consent", "the consent form is not POST")
        headers = {}
        omit = []
        for k, v in (post_headers or {}).items():
            if v is None:
                omit.append(k)
            else:
                headers[k] = v
        if post_browser is not None:
            post_browser.hops = b.hops
            b = post_browser
        resp = b.post_form(action, fields, headers, omit)
        res["consent_post"] = {"status": resp.status,
                               "location": resp.location,
                               "headers": resp.summary()["headers"]}
        if post_twice:
            again = b.post_form(action, fields, headers, omit)
            res["consent_repost"] = {"status": again.status,
                                     "location": again.location,
                                     "headers": again.summary()["headers"],
                                     "body": again.text[:BODY_KEEP]}
        if not resp.is_redirect:
            return finish(resp, "consent",
                          "the consent POST answered no redirect")

        # 3. Follow: Forgejo (log in there first), /callback, the client.
        nxt = resp.location
        stage = "forgejo"
        for _ in range(MAX_HOPS):
            if at_uri(nxt, redirect_uri):
                return arrived(resp, nxt)
            parts = urlsplit(nxt)
            if same_origin(nxt, public) and parts.path == "/callback":
                res["callback_url"] = nxt
                stage = "callback"
                if stop_before_callback:
                    return finish(resp, "callback")
            elif not same_origin(nxt, public):
                stage = "forgejo"
                origin = "%s://%s" % (parts.scheme, parts.netloc)
                if parts.path.endswith("/login/oauth/authorize") and \
                        not b.jar.has(nxt, "forgejo_session"):
                    b.get(origin + "/user/login?" +
                          urlencode([("user", user)]))
                if parts.path == "/user/login" and \
                        "user" not in query_params(nxt):
                    nxt += ("&" if parts.query else "?") + \
                        urlencode([("user", user)])
            resp = b.get(nxt)
            if resp.is_redirect:
                nxt = resp.location
                continue
            # A Forgejo consent page (a double without --auto-approve).
            page = parse_page(resp.text)
            grant = [f for f in page.forms
                     if f["action"].endswith("/login/oauth/grant")]
            if stage == "forgejo" and resp.status == 200 and grant:
                gfields = [(k, v) for k, v in form_fields(grant[0])
                           if k != "granted"]
                gfields.append(("granted", "true" if approve else "false"))
                resp = b.post_form(urljoin(resp.url, grant[0]["action"]),
                                   gfields)
                if resp.is_redirect:
                    nxt = resp.location
                    continue
            return finish(resp, stage, "%s answered %d, not a redirect" %
                          (urlsplit(resp.url).path, resp.status))
        return finish(resp, stage, "too many redirects")
    except (OSError, http.client.HTTPException, ValueError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        return res


def login_flow(public_url, client_id, redirect_uri, verifier=None,
               challenge=None, state=None, resource=None, user="alice",
               approve=True, scope=None, browser=None,
               stop_before_callback=False, csrf="keep", extra=None,
               post_headers=None, post_browser=None, post_twice=False):
    """The whole browser flow for one client.  Give the PKCE verifier (its
    S256 challenge is computed) or the challenge itself."""
    if challenge is None:
        if verifier is None:
            raise ValueError("a verifier or a challenge is needed")
        challenge = s256(verifier)
    url = authorize_url(public_url, client_id, redirect_uri, challenge,
                        state, resource, scope, extra)
    res = drive(url, redirect_uri, user=user, approve=approve,
                browser=browser, stop_before_callback=stop_before_callback,
                csrf=csrf, post_headers=post_headers,
                post_browser=post_browser, post_twice=post_twice)
    res["authorize_url"] = url
    return res


# ---------------------------------------------------------------------
# Command line

def lookup(obj, path):
    for part in path.split(".") if path else []:
        if isinstance(obj, list):
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj[part]
        else:
            raise KeyError(part)
    return obj


def main(argv):
    p = argparse.ArgumentParser(prog="browser.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    f = sub.add_parser("flow")
    f.add_argument("--public-url", required=True)
    f.add_argument("--client-id", required=True)
    f.add_argument("--redirect-uri", required=True)
    f.add_argument("--verifier")
    f.add_argument("--challenge")
    f.add_argument("--state")
    f.add_argument("--resource")
    f.add_argument("--scope")
    f.add_argument("--param", action="append", default=[],
                   help="NAME=VALUE added to (or replacing in) the "
                   "authorize request; NAME alone removes it")

    d = sub.add_parser("drive")
    d.add_argument("--url", required=True)
    d.add_argument("--redirect-uri", required=True)

    for sp in (f, d):
        sp.add_argument("--user", default="alice")
        sp.add_argument("--deny", action="store_true")
        sp.add_argument("--jar")
        sp.add_argument("--stop-before-callback", action="store_true")
        sp.add_argument("--csrf", choices=("keep", "omit", "wrong"),
                        default="keep")
        sp.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
        sp.add_argument("--post-header", action="append", default=[],
                        help="'Name: value' sent with the consent POST "
                        "instead of the browser's own; 'Name:' alone "
                        "leaves the header out")
        sp.add_argument("--post-jar",
                        help="post the consent form from another browser "
                        "with this cookie jar (fresh if FILE does not "
                        "exist)")
        sp.add_argument("--post-twice", action="store_true",
                        help="post the consent form a second time right "
                        "after the first (consent_repost)")

    g = sub.add_parser("get")
    g.add_argument("url")
    g.add_argument("--jar")
    g.add_argument("-H", dest="headers", action="append", default=[])
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)

    sub.add_parser("verifier")
    k = sub.add_parser("pkce")
    k.add_argument("verifier")
    j = sub.add_parser("json")
    j.add_argument("file")
    j.add_argument("path")
    j.add_argument("--sorted-list", action="store_true",
                   help="print a list's items sorted, joined by commas")
    q = sub.add_parser("qparam")
    q.add_argument("url")
    q.add_argument("name")

    a = p.parse_args(argv)
    if a.cmd == "verifier":
        print(new_verifier())
        return 0
    if a.cmd == "pkce":
        print(s256(a.verifier))
        return 0
    if a.cmd == "json":
        try:
            with open(a.file, "rb") as fh:
                v = lookup(json.load(fh), a.path)
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return 1
        if a.sorted_list:
            if not isinstance(v, list):
                return 1
            v = ",".join(sorted(str(x) for x in v))
        print(v if isinstance(v, str) else json.dumps(v))
        return 0
    if a.cmd == "qparam":
        params = query_params(a.url)
        if a.name not in params:
            return 1
        print(params[a.name])
        return 0

    b = Browser(jar_path=a.jar, timeout=a.timeout)
    pb = None
    if getattr(a, "post_jar", None):
        pb = Browser(jar_path=a.post_jar, timeout=a.timeout)
    post_headers = {}
    for h in getattr(a, "post_header", []):
        name, _, value = h.partition(":")
        post_headers[name.strip()] = value.strip() or None
    if a.cmd == "get":
        headers = {}
        for h in a.headers:
            name, _, value = h.partition(":")
            headers[name.strip()] = value.strip()
        try:
            out = b.get(a.url, headers).summary()
        except (OSError, http.client.HTTPException, ValueError) as e:
            out = {"status": 0, "error": "%s: %s" % (type(e).__name__, e)}
    elif a.cmd == "drive":
        out = drive(a.url, a.redirect_uri, user=a.user, approve=not a.deny,
                    browser=b, stop_before_callback=a.stop_before_callback,
                    csrf=a.csrf, post_headers=post_headers,
                    post_browser=pb, post_twice=a.post_twice)
    else:
        extra = []
        for item in a.param:
            name, eq, value = item.partition("=")
            extra.append((name, value if eq else None))
        verifier = a.verifier
        if verifier is None and a.challenge is None:
            verifier = new_verifier()
        out = login_flow(a.public_url, a.client_id, a.redirect_uri,
                         verifier=verifier, challenge=a.challenge,
                         state=a.state, resource=a.resource, user=a.user,
                         approve=not a.deny, scope=a.scope, browser=b,
                         stop_before_callback=a.stop_before_callback,
                         csrf=a.csrf, extra=extra, post_headers=post_headers,
                         post_browser=pb, post_twice=a.post_twice)
        out["verifier"] = verifier
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
