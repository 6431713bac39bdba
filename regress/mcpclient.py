#!/usr/bin/env python3
#
# mcpclient.py: a minimal MCP Streamable HTTP client for the relay tests
# of brokerd (regress/integration/relay*.sh).  Python 3, standard library
# only (http.client), loopback only.  It does one thing per invocation and
# prints one JSON document, so that the shell tests can assert on it.
#
#   mcpclient.py request URL [options]
#       One HTTP request.  Options:
#         -X METHOD           default POST
#         --token T           Authorization: Bearer T
#         --session ID        Mcp-Session-Id: ID
#         --version V         MCP-Protocol-Version: V
#         --accept A          default "application/json, text/event-stream";
#                             "" omits the header
#         --content-type CT   default application/json; "" omits it
#         --origin O          Origin: O
#         -H 'Name: value'    more headers (repeatable)
#         --data TEXT         the body, as is
#         --data-file FILE    the body, from FILE (for bodies too large
#                             for a command line)
#         --pad N             with --data: the body is TEXT with N spaces
#                             inserted after its first "{" (still valid JSON)
#         --timeout S         whole-request bound, default 10 seconds
#       Output: {"status", "headers" (lower-cased names, last value wins),
#       "content_type", "body" (text, cut at 256 KiB), "json" (the body
#       parsed when it is JSON), "events" (for text/event-stream: one
#       {"event", "data", "json"} per event, comments left out), "t_start",
#       "t_end" (time.time()), "elapsed", "error" (a string when the
#       exchange failed: timeout, reset; null otherwise)}.
#
#   mcpclient.py init URL --token T [--version V] [--origin O] [--id ID]
#       initialize (protocolVersion V, default 2025-06-18), then
#       notifications/initialized on the new session.  Output:
#       {"status", "session", "json", "notified" (its status), "error"}.
#
#   mcpclient.py stream URL --token T --session ID --out FILE
#           [--version V] [--timeout S]
#       GET the session's event stream and append to FILE, flushed, a
#       line "status N" (and "end" when the stream closes), and one line
#       per message event: the JSON of its data.  Runs until the stream
#       ends, the timeout (default 60) passes, or it is killed.
#
#   mcpclient.py test FILE PYTHON-EXPR
#       Exit 0 if PYTHON-EXPR is true with "m" the JSON document in FILE
#       (the output of another command), 1 if not or if FILE is no JSON.
#
#   mcpclient.py wait FILE PYTHON-EXPR [--timeout S]
#       Wait until a line of FILE, parsed as JSON into "m", makes
#       PYTHON-EXPR true; print that line; exit 1 on timeout (default 10).
#

import argparse
import http.client
import json
import sys
import time
from urllib.parse import urlsplit

BODY_KEEP = 256 * 1024
ACCEPT_BOTH = "application/json, text/event-stream"


def connection(url, timeout):
    u = urlsplit(url)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "::1",
                                                "localhost"):
        raise SystemExit("mcpclient.py: loopback http URLs only")
    conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                      timeout=timeout)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return conn, path


def build_headers(a):
    h = []
    if a.token:
        h.append(("Authorization", "Bearer " + a.token))
    if getattr(a, "accept", None):
        h.append(("Accept", a.accept))
    if getattr(a, "content_type", None) and a.body is not None:
        h.append(("Content-Type", a.content_type))
    if a.session:
        h.append(("Mcp-Session-Id", a.session))
    if a.version:
        h.append(("MCP-Protocol-Version", a.version))
    if a.origin:
        h.append(("Origin", a.origin))
    for extra in getattr(a, "header", None) or []:
        name, _, value = extra.partition(":")
        h.append((name.strip(), value.strip()))
    return h


def parse_events(text):
    """SSE events of a complete stream: [{"event", "data", "json"}]."""
    events = []
    ev, data = None, []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line == "":
            if data or ev is not None:
                events.append(make_event(ev, data))
            ev, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            ev = value
        elif name == "data":
            data.append(value)
    if data or ev is not None:
        events.append(make_event(ev, data))
    return events


def make_event(ev, data):
    text = "\n".join(data)
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    return {"event": ev or "message", "data": text, "json": obj}


def do_request(url, method, headers, body, timeout):
    out = {"status": 0, "headers": {}, "content_type": None, "body": "",
           "json": None, "events": [], "t_start": time.time(),
           "t_end": None, "elapsed": None, "error": None}
    t0 = time.monotonic()
    raw = b""
    try:
        conn, path = connection(url, timeout)
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        try:
            conn.endheaders(body)
        except OSError as e:
            # The server may have answered (413) and closed before the
            # whole body was sent: read that answer if it is there.
            out["error"] = "while sending: %s: %s" % (type(e).__name__, e)
        resp = conn.getresponse()
        out["status"] = resp.status
        out["headers"] = {k.lower(): v for k, v in resp.getheaders()}
        out["content_type"] = resp.getheader("Content-Type")
        # Read until the answer ends (Content-Length or the close of a
        # stream), bounded by the socket timeout.
        while True:
            chunk = resp.read1(65536) if hasattr(resp, "read1") else \
                resp.read(65536)
            if not chunk:
                break
            raw += chunk
        conn.close()
    except (OSError, http.client.HTTPException) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    out["t_end"] = time.time()
    out["elapsed"] = round(time.monotonic() - t0, 3)
    text = raw.decode("utf-8", "replace")
    out["body"] = text[:BODY_KEEP]
    ctype = (out["content_type"] or "").lower()
    if ctype.startswith("text/event-stream"):
        out["events"] = parse_events(text)
    else:
        try:
            out["json"] = json.loads(text)
        except ValueError:
            pass
    return out


def cmd_request(a):
    body = a.data.encode("utf-8") if a.data is not None else None
    if a.data_file is not None:
        with open(a.data_file, "rb") as f:
            body = f.read()
    if body is not None and a.pad:
        i = body.index(b"{") + 1
        body = body[:i] + b" " * a.pad + body[i:]
    a.body = body
    out = do_request(a.url, a.X, build_headers(a), body, a.timeout)
    print(json.dumps(out))
    return 0


def cmd_init(a):
    a.accept = ACCEPT_BOTH
    a.content_type = "application/json"
    a.header = []
    init = {"jsonrpc": "2.0", "id": a.id, "method": "initialize",
            "params": {"protocolVersion": a.version or "2025-06-18",
                       "capabilities": {"sampling": {}},
                       "clientInfo": {"name": "regress-mcpclient",
                                      "version": "0"}}}
    a.body = b""
    sess = a.session
    a.session = None
    v = a.version
    a.version = None
    r = do_request(a.url, "POST", build_headers(a),
                   json.dumps(init).encode(), a.timeout)
    out = {"status": r["status"], "session": r["headers"].get(
        "mcp-session-id"), "json": r["json"], "notified": None,
           "error": r["error"], "body": r["body"][:2000],
           "headers": r["headers"]}
    if r["json"] is None and r["events"]:
        out["json"] = r["events"][-1]["json"]
    if r["status"] == 200 and out["session"]:
        a.session = out["session"]
        a.version = (out["json"] or {}).get("result", {}).get(
            "protocolVersion") or v
        n = do_request(a.url, "POST", build_headers(a), json.dumps(
            {"jsonrpc": "2.0", "method": "notifications/initialized"}
        ).encode(), a.timeout)
        out["notified"] = n["status"]
    a.session = sess
    print(json.dumps(out))
    return 0


def cmd_stream(a):
    a.accept = "text/event-stream"
    a.content_type = None
    a.body = None
    a.header = []
    deadline = time.monotonic() + a.timeout
    with open(a.out, "a") as f:
        def put(line):
            f.write(line + "\n")
            f.flush()
        try:
            conn, path = connection(a.url, a.timeout)
            conn.putrequest("GET", path, skip_accept_encoding=True)
            for name, value in build_headers(a):
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            put("status %d" % resp.status)
            data = []
            while time.monotonic() < deadline:
                line = resp.readline()
                if not line:
                    break
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if data:
                        put("\n".join(data).replace("\n", " "))
                    data = []
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
            put("end")
        except (OSError, http.client.HTTPException) as e:
            put("error %s" % e)
    return 0


def cmd_wait(a):
    deadline = time.monotonic() + a.timeout
    while True:
        try:
            with open(a.file) as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        for line in lines:
            try:
                m = json.loads(line)
            except ValueError:
                m = line
            try:
                if eval(a.expr, {"m": m}):
                    print(line)
                    return 0
            except Exception:
                pass
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.05)


def cmd_test(a):
    try:
        with open(a.file) as f:
            m = json.load(f)
        return 0 if eval(a.expr, {"m": m}) else 1
    except Exception as e:
        sys.stderr.write("mcpclient.py test: %s\n" % e)
        return 1


def main():
    p = argparse.ArgumentParser(prog="mcpclient.py")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("url")
        sp.add_argument("--token")
        sp.add_argument("--session")
        sp.add_argument("--version")
        sp.add_argument("--origin")
        sp.add_argument("--timeout", type=float, default=10)

    r = sub.add_parser("request")
    common(r)
    r.add_argument("-X", default="POST")
    r.add_argument("--accept", default=ACCEPT_BOTH)
    r.add_argument("--content-type", default="application/json")
    r.add_argument("-H", dest="header", action="append")
    r.add_argument("--data")
    r.add_argument("--data-file")
    r.add_argument("--pad", type=int, default=0)

    i = sub.add_parser("init")
    common(i)
    i.add_argument("--id", default=1, type=json.loads)

    s = sub.add_parser("stream")
    common(s)
    s.add_argument("--out", required=True)
    s.set_defaults(timeout=60)

    w = sub.add_parser("wait")
    w.add_argument("file")
    w.add_argument("expr")
    w.add_argument("--timeout", type=float, default=10)

    t = sub.add_parser("test")
    t.add_argument("file")
    t.add_argument("expr")

    a = p.parse_args()
    return {"request": cmd_request, "init": cmd_init, "stream": cmd_stream,
            "wait": cmd_wait, "test": cmd_test}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
