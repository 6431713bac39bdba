#!/usr/bin/env python3
#
# lifecycle_calls.py: the tool-call loops and the database check of the
# token lifecycle tests of brokerd (regress/integration/lifecycle*.sh).
# Python 3, standard library only, loopback only.  The HTTP requests are
# made by regress/mcpclient.py's do_request.
#
#   lifecycle_calls.py loop URL --token T --session S [--session S ...]
#           [--count N] [--duration S] [--stop-file F] [--interval S]
#           [--tool NAME] [--args JSON] [--expect TEXT] [--out FILE]
#           [--timeout S] [--version V]
#       One thread per session, each making tools/call requests one after
#       the other, --interval seconds apart (default 0.2), until it has
#       made --count of them, --duration seconds have passed or the
#       --stop-file exists.  Every call is one JSON line in --out
#       (flushed) and in the "results" of the summary printed at the end:
#         {"session" (its first 8 characters), "i", "t_start", "t_end",
#          "status", "kind", "text", "detail", "retry_after",
#          "www_authenticate"}
#       kind is "ok" (200, the JSON-RPC answer with the request's id, a
#       result that is not isError, and the text --expect if given),
#       "iserror", "rpcerror" (a JSON-RPC error), "wrongtext", "badanswer"
#       (200 without a usable JSON-RPC answer), "http" (any other status)
#       or "transport" (no HTTP answer).  The summary: {"calls", "kinds"
#       (count per kind), "failed" (the first 10 calls not ok), "t_first",
#       "t_last", "results"}.
#
#   lifecycle_calls.py jwt TOKEN CLAIM
#       A claim of a JWT-shaped token's payload (no signature check).
#
#   lifecycle_calls.py dbcheck DB FORGEJO-URL --client-id ID
#       The database of a stopped brokerd against the Forgejo double: for
#       every access_tokens row not revoked and holding a Forgejo token,
#       unless it waits for the reaper (expired, and no live refresh token
#       refers to it): the upstream grant of its Forgejo tokens still
#       exists at the double, for brokerd's application and the row's
#       user; its Forgejo access token, while unexpired, is accepted by
#       GET /api/v1/user (answering the row's user); its Forgejo refresh
#       token is one the double would accept (its grant's current
#       counter, not expired).  Prints {"rows", "live", "reaper",
#       "api_checked", "problems": [text, ...]}; exit 0 either way.

import argparse
import base64
import json
import os
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcpclient  # noqa: E402


def classify(r, call_id, expect):
    """The kind of one tools/call answer, with its text and detail."""
    if r["error"] and not r["status"]:
        return "transport", None, r["error"]
    if r["status"] != 200:
        return "http", None, r["body"][:300]
    m = r["json"]
    if m is None and r["events"]:
        # The answer is the event that carries our id.
        for e in r["events"]:
            j = e["json"]
            if isinstance(j, dict) and j.get("id") == call_id:
                m = j
    if not isinstance(m, dict) or m.get("id") != call_id:
        return "badanswer", None, r["body"][:300]
    if "error" in m:
        return "rpcerror", None, json.dumps(m["error"])[:300]
    res = m.get("result")
    if not isinstance(res, dict):
        return "badanswer", None, r["body"][:300]
    text = None
    try:
        text = res["content"][0]["text"]
    except (KeyError, IndexError, TypeError):
        pass
    if res.get("isError"):
        return "iserror", text, (text or "")[:300]
    if expect is not None and text != expect:
        return "wrongtext", text, (text or "")[:300]
    return "ok", text, None


class Loop:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.results = []
        self.out = open(a.out, "a") if a.out else None
        self.deadline = (time.monotonic() + a.duration) if a.duration \
            else None
        self.args = json.loads(a.args) if a.args else {}

    def stop(self, n):
        a = self.a
        if a.count and n >= a.count:
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return True
        if a.stop_file and os.path.exists(a.stop_file):
            return True
        return False

    def run_session(self, session, base):
        a = self.a
        n = 0
        while not self.stop(n):
            call_id = base + n
            body = json.dumps({"jsonrpc": "2.0", "id": call_id,
                               "method": "tools/call",
                               "params": {"name": a.tool,
                                          "arguments": self.args}})
            headers = [("Authorization", "Bearer " + a.token),
                       ("Accept", mcpclient.ACCEPT_BOTH),
                       ("Content-Type", "application/json"),
                       ("Mcp-Session-Id", session),
                       ("MCP-Protocol-Version", a.version)]
            r = mcpclient.do_request(a.url, "POST", headers,
                                     body.encode(), a.timeout)
            kind, text, detail = classify(r, call_id, a.expect)
            rec = {"session": session[:8], "i": n,
                   "t_start": r["t_start"], "t_end": r["t_end"],
                   "status": r["status"], "kind": kind, "text": text,
                   "detail": detail,
                   "retry_after": r["headers"].get("retry-after"),
                   "www_authenticate": r["headers"].get("www-authenticate")}
            with self.lock:
                self.results.append(rec)
                if self.out:
                    self.out.write(json.dumps(rec) + "\n")
                    self.out.flush()
            n += 1
            if not self.stop(n):
                time.sleep(a.interval)

    def run(self):
        threads = []
        for k, s in enumerate(self.a.session):
            t = threading.Thread(target=self.run_session,
                                 args=(s, 1000000 * (k + 1)))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        kinds = {}
        for r in self.results:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        res = sorted(self.results, key=lambda r: r["t_start"])
        return {"calls": len(res), "kinds": kinds,
                "failed": [r for r in res if r["kind"] != "ok"][:10],
                "t_first": res[0]["t_start"] if res else None,
                "t_last": res[-1]["t_end"] if res else None,
                "results": res}


def jwt_claims(token):
    try:
        part = token.split(".")[1]
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        claims = json.loads(raw)
        return claims if isinstance(claims, dict) else None
    except (IndexError, ValueError, TypeError):
        return None


def http_json(url, headers=None, data=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read() or b"null")
        except ValueError:
            body = None
        return e.code, body


def dbcheck(a):
    now = time.time()
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    rows = db.execute(
        "SELECT token_hash, grant_id, forgejo_username, "
        "forgejo_access_token, coalesce(forgejo_refresh_token, ''), "
        "forgejo_token_expires_at, expires_at, "
        "EXISTS (SELECT 1 FROM refresh_tokens r WHERE "
        "r.access_token_hash = a.token_hash AND r.revoked_at IS NULL AND "
        "r.expires_at > ?1) "
        "FROM access_tokens a WHERE revoked_at IS NULL AND "
        "forgejo_access_token != ''", (int(now),)).fetchall()
    db.close()
    st, stats = http_json(a.forgejo + "/_double/stats")
    if st != 200 or not isinstance(stats, dict):
        return {"problems": ["cannot read the double's stats: %s" % st]}
    grants = {g["id"]: g for g in stats.get("grants", [])}
    out = {"rows": len(rows), "live": 0, "reaper": 0, "api_checked": 0,
           "problems": []}
    for (th, gid, user, acc, ref, fexp, exp, live_refresh) in rows:
        name = "row %s (user %s, grant %s)" % (th[:8], user, (gid or "")[:8])
        if exp <= now and not live_refresh:
            out["reaper"] += 1
            continue
        out["live"] += 1
        ac = jwt_claims(acc)
        if ac is None:
            out["problems"].append("%s: the Forgejo access token is not "
                                   "one of the double's" % name)
            continue
        g = grants.get(ac.get("gnt"))
        if g is None:
            out["problems"].append(
                "%s: holds Forgejo tokens of upstream grant %s, which the "
                "double no longer has (revoked there)" %
                (name, ac.get("gnt")))
            continue
        if g["client_id"] != a.client_id or g["user"] != user:
            out["problems"].append(
                "%s: upstream grant %s is of client %s, user %s" %
                (name, g["id"], g["client_id"], g["user"]))
        if ac.get("exp", 0) > now + 1:
            out["api_checked"] += 1
            st, body = http_json(a.forgejo + "/api/v1/user",
                                 {"Authorization": "token " + acc})
            login = body.get("login") if isinstance(body, dict) else None
            if st != 200 or login != user:
                out["problems"].append(
                    "%s: GET /api/v1/user with its unexpired Forgejo "
                    "access token answers %s (%s)" % (name, st, login))
        rc = jwt_claims(ref) if ref else None
        if rc is None:
            out["problems"].append("%s: no usable Forgejo refresh token" %
                                   name)
            continue
        if rc.get("gnt") != g["id"] or rc.get("tt") != 1:
            out["problems"].append(
                "%s: its Forgejo refresh token is of grant %s (tt %s), "
                "its access token of grant %s" %
                (name, rc.get("gnt"), rc.get("tt"), g["id"]))
        elif rc.get("cnt", 0) != g["counter"]:
            out["problems"].append(
                "%s: its Forgejo refresh token carries counter %s, the "
                "double accepts only %s (already used)" %
                (name, rc.get("cnt"), g["counter"]))
        elif rc.get("exp", 0) <= now:
            out["problems"].append("%s: its Forgejo refresh token has "
                                   "expired" % name)
    return out


def main():
    p = argparse.ArgumentParser(prog="lifecycle_calls.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("loop")
    lp.add_argument("url")
    lp.add_argument("--token", required=True)
    lp.add_argument("--session", action="append", required=True)
    lp.add_argument("--count", type=int, default=0)
    lp.add_argument("--duration", type=float, default=0)
    lp.add_argument("--stop-file")
    lp.add_argument("--interval", type=float, default=0.2)
    lp.add_argument("--tool", default="get_my_user_info")
    lp.add_argument("--args")
    lp.add_argument("--expect")
    lp.add_argument("--out")
    lp.add_argument("--timeout", type=float, default=15)
    lp.add_argument("--version", default="2025-06-18")
    jp = sub.add_parser("jwt")
    jp.add_argument("token")
    jp.add_argument("claim")
    dp = sub.add_parser("dbcheck")
    dp.add_argument("db")
    dp.add_argument("forgejo")
    dp.add_argument("--client-id", required=True)
    a = p.parse_args()
    if a.cmd == "loop":
        if not (a.count or a.duration or a.stop_file):
            p.error("loop: --count, --duration or --stop-file")
        print(json.dumps(Loop(a).run()))
        return 0
    if a.cmd == "jwt":
        c = jwt_claims(a.token)
        if c is None or a.claim not in c:
            return 1
        print(c[a.claim])
        return 0
    print(json.dumps(dbcheck(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
