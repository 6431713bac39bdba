#!/usr/bin/env python3
#
# mcp-standin.py: a stand-in for goern/forgejo-mcp in stdio mode, for the
# forgejo-mcp-broker regress suite and `make demo`
# (shared/reference/forgejo.md Part 2 and 2.3).  Python 3.11, standard
# library only.
#
# COMMAND LINE (Go "flag" rules: -x and --x, -x=v or -x v; flags stop at
# the first non-flag argument or "--"; an unknown flag or a missing value
# prints usage and exits 2)
#
#   -t, --transport stdio     only stdio is offered (sse/http: exit 1)
#   --url URL                 Forgejo base URL; overrides FORGEJO_URL
#   --token TOKEN             overrides FORGEJO_ACCESS_TOKEN (brokerd never
#                             uses it: tokens do not belong in argv)
#   --user-agent UA           overrides FORGEJO_USER_AGENT
#   --sse-port N, --http-port N   accepted and ignored
#   -d, --debug               DEBUG lines on stderr (or FORGEJO_DEBUG=true)
#   version, --version, -version  print "forgejo-mcp <version>", exit 0
#
# ENVIRONMENT: FORGEJO_URL (then the deprecated GITEA_HOST),
# FORGEJO_ACCESS_TOKEN (then GITEA_ACCESS_TOKEN), FORGEJO_USER_AGENT and
# FORGEJO_DEBUG are read ONCE at start and then removed from os.environ, so
# nothing can read them again.  For safety the URL must name a loopback
# host (127.0.0.0/8, ::1 or localhost).
#
# START-UP: like forgejo-mcp, GET {url}/api/v1/version with
# "Authorization: token T" (when T is set).  A network error, a non-2xx
# answer, a body that is not JSON, or a version older than 1.11 is logged
# on stderr and the process exits 1 before reading stdin.
#
# PROTOCOL: MCP over stdio, newline-delimited JSON-RPC 2.0, one message
# per line on stdout (serialised by a lock, flushed).  A last line without
# a newline at EOF is ignored.  Methods: initialize (echoes a known
# protocolVersion, else answers the newest), notifications/initialized,
# notifications/cancelled, ping, tools/list, tools/call, logging/setLevel.
# Unknown methods: -32601.  Unparsable lines: -32700 with id null.
# tools/call runs on a pool of 4 worker threads, so replies come out of
# order; everything else is answered in order by the reader.
#
# TOOLS
#   get_my_user_info     GET /api/v1/user with the token; the login as text.
#                        A 401 gives an isError result saying the token was
#                        refused; other failures give an isError result too.
#   echo {message}       returns message
#   sleep {ms}           sleeps, then answers (notifications/cancelled for
#                        it stops the sleep and suppresses the answer)
#   notify_then_answer {message?, count?}
#                        sends notifications/message (count times) and, when
#                        the call carried _meta.progressToken,
#                        notifications/progress, then the result
#   ask_sampling {prompt?}
#                        sends a sampling/createMessage request to the client
#                        (integer ids counting from 1, like mcp-go), waits
#                        up to 60 s for the answer, returns its text
#   crash                exits with status 3 at once
#   flood                writes 10 MiB to stdout without a newline, then
#                        never answers
#   bad_json             writes a line that is not JSON, then answers
#   stderr {message}     writes message to stderr, then answers
#
# END: on stdin EOF the queued and in-flight calls finish and are answered,
# then the process exits 0.  SIGTERM and SIGINT exit 0.  The token is never
# written anywhere.
#

import ipaddress
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from urllib.parse import urlsplit

VERSION = "2.34.1-standin"
SERVER_NAME = "forgejo-mcp-standin"
PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST_PROTOCOL_VERSION = "2025-11-25"
WORKERS = 4
QUEUE_SIZE = 100
UPSTREAM_TIMEOUT = 120
SAMPLING_TIMEOUT = 60
FLOOD_BYTES = 10 * 1024 * 1024
MAX_SLEEP_MS = 600000

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

USAGE = """Usage of forgejo-mcp:
  -d	enable debug mode
  -debug
    	enable debug mode
  -http-port int
    	HTTP port (default 8080)
  -sse-port int
    	SSE port (default 8080)
  -t string
    	transport type (stdio, sse or http) (default "stdio")
  -token string
    	Forgejo access token
  -transport string
    	transport type (stdio, sse or http) (default "stdio")
  -url string
    	Forgejo base URL
  -user-agent string
    	User-Agent for Forgejo API requests
"""


# ---------------------------------------------------------------------
# stderr logging, shaped like forgejo-mcp's zap console encoder

LEVEL_COLOURS = {"DEBUG": "\x1b[35m", "INFO": "\x1b[34m",
                 "WARN": "\x1b[33m", "ERROR": "\x1b[31m"}
log_lock = threading.Lock()
debug_enabled = False


def log(level, text, /, **fields):
    if level == "DEBUG" and not debug_enabled:
        return
    caller = sys._getframe(1)
    where = "standin/%s:%d" % (os.path.basename(caller.f_code.co_filename),
                               caller.f_lineno)
    line = "%s\t%s%s\x1b[0m\t%s\t%s" % (
        time.strftime("%Y-%m-%d %H:%M:%S"), LEVEL_COLOURS[level], level,
        where, text)
    if fields:
        line += "\t" + json.dumps(fields, separators=(",", ":"))
    line += "\n"
    if level == "ERROR":
        # zap adds a stack trace to every ERROR entry.
        line += "".join("\t" + entry.strip().replace("\n", "\n\t") + "\n"
                        for entry in traceback.format_stack(caller)[-4:])
    with log_lock:
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------------
# Command line

class UsageError(Exception):
    pass


FLAGS = {
    # name: (kind, destination)
    "t": ("string", "transport"),
    "transport": ("string", "transport"),
    "url": ("string", "url"),
    "token": ("string", "token"),
    "user-agent": ("string", "user_agent"),
    "sse-port": ("int", "sse_port"),
    "http-port": ("int", "http_port"),
    "d": ("bool", "debug"),
    "debug": ("bool", "debug"),
}


def parse_flags(argv):
    """The subset of Go's flag package that forgejo-mcp relies on."""
    opts = {"transport": "stdio", "url": "", "token": "", "user_agent": "",
            "sse_port": 8080, "http_port": 8080, "debug": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if len(arg) < 2 or arg[0] != "-":
            break
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if name == "" or name[0] in "-=":
            raise UsageError("bad flag syntax: %s" % arg)
        name, has_value, value = name.partition("=")
        if name in ("h", "help"):
            sys.stderr.write(USAGE)
            sys.exit(0)
        if name not in FLAGS:
            raise UsageError("flag provided but not defined: -%s" % name)
        kind, dest = FLAGS[name]
        if kind == "bool":
            if has_value:
                if value in ("1", "t", "T", "TRUE", "true", "True"):
                    opts[dest] = True
                elif value in ("0", "f", "F", "FALSE", "false", "False"):
                    opts[dest] = False
                else:
                    raise UsageError("invalid boolean value %r for -%s" %
                                     (value, name))
            else:
                opts[dest] = True
            i += 1
            continue
        if not has_value:
            if i + 1 >= len(argv):
                raise UsageError("flag needs an argument: -%s" % name)
            i += 1
            value = argv[i]
        if kind == "int":
            try:
                value = int(value, 0)
            except ValueError:
                raise UsageError("invalid value %r for flag -%s: parse "
                                 "error" % (value, name))
        opts[dest] = value
        i += 1
    if i < len(argv):
        log("WARN", "ignoring extra arguments", args=argv[i:])
    return opts


def take_environment():
    """Read the configuration variables once, then remove them."""
    names = ("FORGEJO_URL", "GITEA_HOST", "FORGEJO_ACCESS_TOKEN",
             "GITEA_ACCESS_TOKEN", "FORGEJO_USER_AGENT", "FORGEJO_DEBUG",
             "GITEA_DEBUG")
    env = {name: os.environ.get(name, "") for name in names}
    for name in names:
        os.environ.pop(name, None)
    return env


def loopback_url(url):
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def version_tuple(text):
    """hashicorp/go-version, roughly: leading numeric segments or None."""
    core = text.lstrip("v").split("+", 1)[0].split("-", 1)[0]
    try:
        numbers = tuple(int(p) for p in core.split("."))
    except ValueError:
        return None
    return numbers if 1 <= len(numbers) <= 4 else None


# ---------------------------------------------------------------------
# Forgejo client

class Forgejo:
    def __init__(self, url, token, user_agent):
        self.base = url.rstrip("/")
        self._token = token
        self.user_agent = user_agent
        # Never follow proxy variables: we only talk to loopback.
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def get(self, path, timeout=UPSTREAM_TIMEOUT):
        """(status, body bytes); raises OSError on a network error."""
        req = urllib.request.Request(self.base + path, method="GET")
        req.add_header("User-Agent", self.user_agent)
        req.add_header("Accept", "application/json")
        if self._token:
            req.add_header("Authorization", "token " + self._token)
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read()

    @staticmethod
    def message(body):
        try:
            obj = json.loads(body)
        except ValueError:
            return body[:200].decode("utf-8", "replace")
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            return obj["message"]
        return body[:200].decode("utf-8", "replace")


# ---------------------------------------------------------------------
# MCP server

class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def text_result(text, is_error=False):
    result = {"content": [{"type": "text", "text": text}]}
    if is_error:
        result["isError"] = True
    return result


def schema(properties=None, required=None):
    s = {"type": "object", "properties": properties or {}}
    if required:
        s["required"] = required
    return s


TOOLS = [
    {"name": "get_my_user_info",
     "description": "Get the user who owns the Forgejo token "
                    "(GET /api/v1/user); returns the login.",
     "inputSchema": schema()},
    {"name": "echo",
     "description": "Return the message argument unchanged.",
     "inputSchema": schema({"message": {"type": "string",
                                        "description": "text to return"}},
                           ["message"])},
    {"name": "sleep",
     "description": "Sleep for ms milliseconds, then answer.",
     "inputSchema": schema({"ms": {"type": "integer", "minimum": 0,
                                   "maximum": MAX_SLEEP_MS,
                                   "description": "milliseconds"}},
                           ["ms"])},
    {"name": "notify_then_answer",
     "description": "Send notifications/message (and notifications/progress "
                    "when a progressToken was given), then answer.",
     "inputSchema": schema({"message": {"type": "string"},
                            "count": {"type": "integer", "minimum": 1,
                                      "maximum": 100}})},
    {"name": "ask_sampling",
     "description": "Ask the client for sampling/createMessage and return "
                    "the text of its answer.",
     "inputSchema": schema({"prompt": {"type": "string"}})},
    {"name": "crash",
     "description": "Exit at once with status 3.",
     "inputSchema": schema()},
    {"name": "flood",
     "description": "Write 10 MiB to stdout without a newline; never "
                    "answers.",
     "inputSchema": schema()},
    {"name": "bad_json",
     "description": "Write a line that is not JSON to stdout, then answer.",
     "inputSchema": schema()},
    {"name": "stderr",
     "description": "Write the message argument to stderr, then answer.",
     "inputSchema": schema({"message": {"type": "string"}}, ["message"])},
]


class Call:
    """One tools/call in flight."""

    def __init__(self, msg_id, params):
        self.id = msg_id
        self.params = params
        self.cancelled = threading.Event()


class StdioServer:
    def __init__(self, forgejo):
        self.forgejo = forgejo
        self.out = sys.stdout.buffer
        self.out_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.jobs = queue.Queue(QUEUE_SIZE)
        self.inflight = {}          # json(id) -> Call
        self.waiting = {}           # our request id -> [Event, response]
        self.next_request_id = 1
        self.closing = False
        self.workers = [threading.Thread(target=self.worker,
                                         name="worker-%d" % n, daemon=True)
                        for n in range(WORKERS)]

    # -- output ------------------------------------------------------------

    def write_raw(self, data):
        with self.out_lock:
            try:
                self.out.write(data)
                self.out.flush()
            except (OSError, ValueError):
                log("ERROR", "stdout is gone")
                os._exit(1)

    def send(self, obj):
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        self.write_raw(line.encode("utf-8") + b"\n")

    def reply(self, msg_id, result):
        self.send({"jsonrpc": "2.0", "id": msg_id, "result": result})

    def reply_error(self, msg_id, code, message):
        self.send({"jsonrpc": "2.0", "id": msg_id,
                   "error": {"code": code, "message": message}})

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    # -- input -------------------------------------------------------------

    def run(self):
        for t in self.workers:
            t.start()
        log("INFO", "MCP server ready for stdio communication")
        stdin = sys.stdin.buffer
        while True:
            line = stdin.readline()
            if not line:
                break
            if not line.endswith(b"\n"):
                log("DEBUG", "ignoring a last line without a newline")
                break
            if line.strip() == b"":
                continue
            self.handle_line(line)
        self.shutdown()

    def shutdown(self):
        log("INFO", "stdin closed; finishing in-flight calls")
        with self.state_lock:
            self.closing = True
            for entry in self.waiting.values():
                entry[0].set()
        for _ in self.workers:
            self.jobs.put(None)
        for t in self.workers:
            t.join()
        log("INFO", "MCP stdio server shutdown")

    def handle_line(self, line):
        try:
            msg = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            log("ERROR", "parse error on stdin")
            self.reply_error(None, PARSE_ERROR, "Parse error")
            return
        if not isinstance(msg, dict):
            self.reply_error(None, INVALID_REQUEST, "Invalid Request")
            return
        msg_id = msg.get("id")
        has_id = "id" in msg
        if msg.get("jsonrpc") != "2.0":
            self.reply_error(msg_id if self.valid_id(msg_id) else None,
                             INVALID_REQUEST, "Invalid Request")
            return
        method = msg.get("method")
        params = msg.get("params")
        if params is None:
            params = {}

        if method is None:
            if has_id and ("result" in msg or "error" in msg):
                self.deliver_response(msg)
            else:
                self.reply_error(msg_id if self.valid_id(msg_id) else None,
                                 INVALID_REQUEST, "Invalid Request")
            return
        if not isinstance(method, str) or not isinstance(params, dict):
            self.reply_error(msg_id if self.valid_id(msg_id) else None,
                             INVALID_REQUEST, "Invalid Request")
            return
        if not has_id:
            self.handle_notification(method, params)
            return
        if not self.valid_id(msg_id):
            self.reply_error(None, INVALID_REQUEST, "Invalid Request")
            return

        log("DEBUG", "request", method=method, id=msg_id)
        if method == "tools/call":
            call = Call(msg_id, params)
            with self.state_lock:
                self.inflight[self.key(msg_id)] = call
            try:
                self.jobs.put_nowait(call)
            except queue.Full:
                # As mcp-go: a full queue runs the call synchronously.
                self.run_call(call)
            return
        try:
            self.reply(msg_id, self.dispatch(method, params))
        except RpcError as e:
            self.reply_error(msg_id, e.code, e.message)

    @staticmethod
    def valid_id(msg_id):
        return isinstance(msg_id, (str, int)) and \
            not isinstance(msg_id, bool)

    @staticmethod
    def key(msg_id):
        return json.dumps(msg_id)

    def handle_notification(self, method, params):
        log("DEBUG", "notification", method=method)
        if method == "notifications/cancelled":
            with self.state_lock:
                call = self.inflight.get(self.key(params.get("requestId")))
            if call is not None:
                log("INFO", "request cancelled by the client",
                    id=call.id)
                call.cancelled.set()
        # notifications/initialized and anything else: no answer.

    def deliver_response(self, msg):
        with self.state_lock:
            entry = self.waiting.get(self.key(msg.get("id")))
            if entry is None:
                log("WARN", "response to an unknown request",
                    id=msg.get("id"))
                return
            entry[1] = msg
            entry[0].set()

    # -- methods -------------------------------------------------------------

    def dispatch(self, method, params):
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in PROTOCOL_VERSIONS \
                else LATEST_PROTOCOL_VERSION
            client = params.get("clientInfo") or {}
            log("INFO", "initialize", client=client.get("name", ""),
                protocolVersion=version)
            return {"protocolVersion": version,
                    "capabilities": {"logging": {},
                                     "tools": {"listChanged": True}},
                    "serverInfo": {"name": SERVER_NAME, "version": VERSION}}
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": TOOLS}
        if method == "logging/setLevel":
            return {}
        raise RpcError(METHOD_NOT_FOUND, "Method not found")

    # -- tools ----------------------------------------------------------------

    def worker(self):
        while True:
            call = self.jobs.get()
            if call is None:
                return
            self.run_call(call)

    def run_call(self, call):
        name = call.params.get("name")
        args = call.params.get("arguments")
        if args is None:
            args = {}
        try:
            if not isinstance(name, str) or not isinstance(args, dict):
                raise RpcError(INVALID_PARAMS, "invalid tools/call params")
            fn = getattr(self, "tool_" + name, None)
            if fn is None or name not in {t["name"] for t in TOOLS}:
                raise RpcError(INVALID_PARAMS,
                               "tool '%s' not found: tool not found" % name)
            log("INFO", "tool call started", tool=name)
            result = fn(call, args)
            log("INFO", "tool call finished", tool=name)
        except RpcError as e:
            result = None
            if not call.cancelled.is_set():
                self.reply_error(call.id, e.code, e.message)
        except Exception as e:
            result = None
            log("ERROR", "tool call failed", error=repr(e))
            if not call.cancelled.is_set():
                self.reply_error(call.id, INTERNAL_ERROR, "internal error")
        else:
            if result is not None and not call.cancelled.is_set():
                self.reply(call.id, result)
        finally:
            with self.state_lock:
                if self.inflight.get(self.key(call.id)) is call:
                    del self.inflight[self.key(call.id)]

    def tool_get_my_user_info(self, call, args):
        try:
            status, body = self.forgejo.get("/api/v1/user")
        except OSError as e:
            log("ERROR", "get user info failed", error=str(e))
            return text_result("get user info err: %s" % e, True)
        if status == 401:
            message = Forgejo.message(body)
            log("ERROR", "forgejo refused the token", status=status,
                message=message)
            return text_result("get user info err: forgejo refused the "
                               "token (HTTP 401): %s" % message, True)
        if not 200 <= status < 300:
            message = Forgejo.message(body)
            log("ERROR", "get user info failed", status=status,
                message=message)
            return text_result("get user info err: HTTP %d: %s" %
                               (status, message), True)
        try:
            user = json.loads(body)
            login = user["login"]
            if not isinstance(login, str):
                raise TypeError("login is not a string")
        except (ValueError, KeyError, TypeError) as e:
            log("ERROR", "get user info: bad answer", error=str(e))
            return text_result("get user info err: unexpected answer from "
                               "forgejo", True)
        return text_result(login)

    def tool_echo(self, call, args):
        message = args.get("message", "")
        if not isinstance(message, str):
            raise RpcError(INVALID_PARAMS, "message must be a string")
        return text_result(message)

    def tool_sleep(self, call, args):
        ms = args.get("ms", 0)
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or \
                not 0 <= ms <= MAX_SLEEP_MS:
            raise RpcError(INVALID_PARAMS,
                           "ms must be a number from 0 to %d" % MAX_SLEEP_MS)
        if call.cancelled.wait(ms / 1000.0):
            return None
        return text_result("slept %d ms" % ms)

    def tool_notify_then_answer(self, call, args):
        message = args.get("message", "working")
        count = args.get("count", 1)
        if not isinstance(message, str) or isinstance(count, bool) or \
                not isinstance(count, int) or not 1 <= count <= 100:
            raise RpcError(INVALID_PARAMS, "bad message or count")
        meta = call.params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        for n in range(1, count + 1):
            self.notify("notifications/message",
                        {"level": "info", "logger": SERVER_NAME,
                         "data": "%s (%d/%d)" % (message, n, count)})
            if token is not None:
                self.notify("notifications/progress",
                            {"progressToken": token, "progress": n,
                             "total": count, "message": message})
        return text_result("notified %d time%s" %
                           (count, "" if count == 1 else "s"))

    def tool_ask_sampling(self, call, args):
        prompt = args.get("prompt", "Say hello.")
        if not isinstance(prompt, str):
            raise RpcError(INVALID_PARAMS, "prompt must be a string")
        entry = [threading.Event(), None]
        with self.state_lock:
            if self.closing:
                return text_result("sampling impossible: the client "
                                   "closed stdin", True)
            request_id = self.next_request_id
            self.next_request_id += 1
            self.waiting[self.key(request_id)] = entry
        try:
            self.send({"jsonrpc": "2.0", "id": request_id,
                       "method": "sampling/createMessage",
                       "params": {"messages": [
                           {"role": "user",
                            "content": {"type": "text", "text": prompt}}],
                           "maxTokens": 100}})
            entry[0].wait(SAMPLING_TIMEOUT)
        finally:
            with self.state_lock:
                self.waiting.pop(self.key(request_id), None)
        response = entry[1]
        if response is None:
            return text_result("no answer to sampling/createMessage", True)
        if "error" in response:
            error = response["error"]
            message = error.get("message") if isinstance(error, dict) \
                else None
            return text_result("sampling/createMessage failed: %s" %
                               (message or "error"), True)
        result = response.get("result")
        content = result.get("content") if isinstance(result, dict) else None
        if isinstance(content, list):
            content = content[0] if content else None
        if isinstance(content, dict) and \
                isinstance(content.get("text"), str):
            return text_result(content["text"])
        return text_result("sampling/createMessage answer has no text", True)

    def tool_crash(self, call, args):
        log("ERROR", "crash tool called: exiting with status 3")
        os._exit(3)

    def tool_flood(self, call, args):
        chunk = b"x" * 65536
        with self.out_lock:
            try:
                for _ in range(FLOOD_BYTES // len(chunk)):
                    self.out.write(chunk)
                self.out.flush()
            except (OSError, ValueError):
                os._exit(1)
        return None

    def tool_bad_json(self, call, args):
        self.write_raw(b"this is not JSON {\"jsonrpc\": \"2.0\"\n")
        return text_result("wrote a line that is not JSON")

    def tool_stderr(self, call, args):
        message = args.get("message", "")
        if not isinstance(message, str):
            raise RpcError(INVALID_PARAMS, "message must be a string")
        with log_lock:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        return text_result("wrote %d bytes to stderr" %
                           len(message.encode("utf-8")))


# ---------------------------------------------------------------------

def probe(forgejo):
    """VerifyConnection: GET /api/v1/version.  Exit 1 on failure."""
    log("INFO", "Testing connection to Forgejo instance")
    try:
        status, body = forgejo.get("/api/v1/version", timeout=30)
    except OSError as e:
        log("ERROR", "connection test failed", error=str(e))
        sys.exit(1)
    if not 200 <= status < 300:
        log("ERROR", "connection test failed", status=status,
            message=Forgejo.message(body))
        sys.exit(1)
    try:
        version = json.loads(body)["version"]
    except (ValueError, KeyError, TypeError):
        log("ERROR", "connection test failed: the version answer is not "
            "JSON", status=status)
        sys.exit(1)
    numbers = version_tuple(version) if isinstance(version, str) else None
    if numbers is None:
        log("WARN", "unknown server version", server_version=str(version))
    elif numbers < (1, 11):
        log("ERROR", "connection test failed: server version too old",
            server_version=version)
        sys.exit(1)
    log("INFO", "Connection verification successful",
        server_version=str(version), response_status=status)


def main(argv):
    global debug_enabled

    if argv and argv[0] in ("version", "--version", "-version"):
        print("forgejo-mcp %s" % VERSION)
        return 0
    env = take_environment()
    try:
        opts = parse_flags(argv)
    except UsageError as e:
        sys.stderr.write("%s\n%s" % (e, USAGE))
        return 2

    debug_enabled = opts["debug"] or \
        (env["FORGEJO_DEBUG"] or env["GITEA_DEBUG"]) == "true"
    url = opts["url"] or env["FORGEJO_URL"]
    if not url and env["GITEA_HOST"]:
        log("WARN", "GITEA_HOST is deprecated, use FORGEJO_URL")
        url = env["GITEA_HOST"]
    token = opts["token"] or env["FORGEJO_ACCESS_TOKEN"]
    if not token and env["GITEA_ACCESS_TOKEN"]:
        log("WARN", "GITEA_ACCESS_TOKEN is deprecated, use "
            "FORGEJO_ACCESS_TOKEN")
        token = env["GITEA_ACCESS_TOKEN"]
    user_agent = opts["user_agent"] or env["FORGEJO_USER_AGENT"] or \
        "forgejo-mcp/%s" % VERSION

    log("INFO", "Starting Forgejo MCP Server %s" % VERSION)
    if not url:
        log("ERROR", "Forgejo URL is required (--url or FORGEJO_URL)")
        return 1
    if not loopback_url(url):
        log("ERROR", "invalid Forgejo URL: the stand-in talks to http(s) "
            "loopback hosts only")
        return 1
    parts = urlsplit(url)
    log("INFO", "Server configuration loaded",
        url="%s://%s%s" % (parts.scheme, parts.netloc, parts.path),
        transport=opts["transport"], debug=debug_enabled,
        token_configured=bool(token), user_agent=user_agent)
    if opts["transport"] != "stdio":
        if opts["transport"] in ("sse", "http"):
            log("ERROR", "the stand-in offers the stdio transport only",
                transport=opts["transport"])
        else:
            log("ERROR", "invalid transport", transport=opts["transport"])
        return 1

    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    signal.signal(signal.SIGINT, lambda s, f: os._exit(0))

    forgejo = Forgejo(url, token, user_agent)
    del token
    probe(forgejo)
    log("INFO", "Starting MCP server with stdio transport")
    StdioServer(forgejo).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
