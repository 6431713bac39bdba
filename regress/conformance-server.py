#!/usr/bin/env python3
#
# conformance-server.py: a stdio MCP server with the fixtures of the
# official MCP conformance suite's server scenarios
# (@modelcontextprotocol/conformance, "conformance server"), for running
# that suite through brokerd: regress/integration/conformance.sh
# configures it as brokerd's "mcp command".
#
# Python 3, standard library only.  MCP over stdio: newline-delimited
# JSON-RPC 2.0 on standard input and output; diagnostics go to standard
# error only.  Every request is handled on a thread of its own, so that a
# tool waiting for the client's answer to a server-to-client request
# (sampling/createMessage, elicitation/create) does not stop the reading
# of standard input, where that answer arrives.
#
# Fixtures (names fixed by the suite):
#   tools      test_simple_text, test_image_content, test_audio_content,
#              test_embedded_resource, test_multiple_content_types,
#              test_error_handling, test_tool_with_logging,
#              test_tool_with_progress, test_sampling, test_elicitation,
#              test_elicitation_sep1034_defaults,
#              test_elicitation_sep1330_enums, json_schema_2020_12_tool
#   resources  test://static-text, test://static-binary,
#              test://watched-resource, template test://template/{id}/data
#   prompts    test_simple_prompt, test_prompt_with_arguments,
#              test_prompt_with_embedded_resource, test_prompt_with_image
#   methods    initialize, ping, logging/setLevel, tools/list, tools/call,
#              resources/list, resources/read, resources/templates/list,
#              resources/subscribe, resources/unsubscribe, prompts/list,
#              prompts/get, completion/complete
#
# usage: conformance-server.py [-v]     (-v: log every message to stderr)

import base64
import io
import json
import os
import re
import struct
import sys
import threading
import time
import wave
import zlib

SERVER_NAME = "forgejo-mcp-broker-conformance-server"
SERVER_VERSION = "1.0.0"
VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
LATEST = "2025-11-25"
CLIENT_TIMEOUT = 30.0           # seconds to wait for a client's answer

LEVELS = ("debug", "info", "notice", "warning", "error", "critical",
          "alert", "emergency")

# JSON-RPC and MCP error codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002

VERBOSE = "-v" in sys.argv[1:]


def log(fmt, *args):
    sys.stderr.write("conformance-server[%d]: %s\n" %
                     (os.getpid(), fmt % args if args else fmt))
    sys.stderr.flush()


# ---------------------------------------------------------------------
# Media fixtures, made here rather than carried as opaque strings.

def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def red_pixel_png():
    """A 1x1 red RGB PNG."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x00\xff\x00\x00"           # filter 0, then R G B
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) +
            _png_chunk(b"IDAT", zlib.compress(raw)) +
            _png_chunk(b"IEND", b""))


def short_wav():
    """A tenth of a second of 8 kHz 16-bit mono silence."""
    buf = io.BytesIO()
    w = wave.open(buf, "wb")
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"\x00\x00" * 800)
    w.close()
    return buf.getvalue()


PNG_B64 = base64.b64encode(red_pixel_png()).decode("ascii")
WAV_B64 = base64.b64encode(short_wav()).decode("ascii")


# ---------------------------------------------------------------------
# Output and the server's own requests to the client

class RpcError(Exception):
    def __init__(self, code, message, data=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.data = data


class Peer:
    """The client at the other end of stdio."""

    def __init__(self, out):
        self.out = out
        self.wlock = threading.Lock()
        self.plock = threading.Lock()
        self.pending = {}               # our id -> [Event, answer]
        self.nextid = 0
        self.capabilities = {}
        self.level = None               # logging/setLevel, None: all
        self.subscriptions = set()

    def send(self, msg):
        line = json.dumps(msg, separators=(",", ":"), ensure_ascii=False)
        if VERBOSE:
            log("-> %s", line[:500])
        with self.wlock:
            try:
                self.out.write(line.encode("utf-8") + b"\n")
                self.out.flush()
            except (BrokenPipeError, ValueError, OSError):
                os._exit(0)

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def log_message(self, level, data, logger="conformance-server"):
        """notifications/message, if the level set allows it."""
        if (self.level is not None and
                LEVELS.index(level) < LEVELS.index(self.level)):
            return
        self.notify("notifications/message",
                    {"level": level, "logger": logger, "data": data})

    def request(self, method, params, timeout=CLIENT_TIMEOUT):
        """A request to the client; blocks this thread for the answer."""
        with self.plock:
            self.nextid += 1
            rid = self.nextid
            slot = [threading.Event(), None]
            self.pending[rid] = slot
        self.send({"jsonrpc": "2.0", "id": rid, "method": method,
                   "params": params})
        got = slot[0].wait(timeout)
        with self.plock:
            self.pending.pop(rid, None)
        if not got:
            raise RpcError(INTERNAL_ERROR,
                           "no answer from the client to %s within %gs" %
                           (method, timeout))
        answer = slot[1]
        if "error" in answer:
            err = answer["error"] or {}
            raise RpcError(err.get("code", INTERNAL_ERROR),
                           "the client answered %s with an error: %s" %
                           (method, err.get("message")))
        return answer.get("result")

    def answered(self, msg):
        """A response from the client to one of our requests."""
        with self.plock:
            slot = self.pending.get(msg.get("id"))
        if slot is None:
            log("an answer to no request of ours: id %r", msg.get("id"))
            return
        slot[1] = msg
        slot[0].set()


# ---------------------------------------------------------------------
# Tools

def text(t):
    return {"type": "text", "text": t}


NO_ARGS = {"type": "object", "properties": {}}


def tool_simple_text(peer, args, meta):
    return {"content": [text("This is a simple text response for testing.")]}


def tool_image(peer, args, meta):
    return {"content": [{"type": "image", "data": PNG_B64,
                         "mimeType": "image/png"}]}


def tool_audio(peer, args, meta):
    return {"content": [{"type": "audio", "data": WAV_B64,
                         "mimeType": "audio/wav"}]}


def tool_embedded_resource(peer, args, meta):
    return {"content": [{"type": "resource", "resource": {
        "uri": "test://embedded-resource", "mimeType": "text/plain",
        "text": "This is an embedded resource content."}}]}


def tool_multiple(peer, args, meta):
    return {"content": [
        text("Multiple content types test:"),
        {"type": "image", "data": PNG_B64, "mimeType": "image/png"},
        {"type": "resource", "resource": {
            "uri": "test://mixed-content-resource",
            "mimeType": "application/json",
            "text": json.dumps({"test": "data", "value": 123})}}]}


def tool_error(peer, args, meta):
    return {"isError": True, "content": [
        text("This tool intentionally returns an error for testing")]}


def tool_logging(peer, args, meta):
    peer.log_message("info", "Tool execution started")
    time.sleep(0.05)
    peer.log_message("info", "Tool processing data")
    time.sleep(0.05)
    peer.log_message("info", "Tool execution completed")
    return {"content": [text("Tool with logging executed successfully")]}


def tool_progress(peer, args, meta):
    token = (meta or {}).get("progressToken")
    for i, p in enumerate((0, 50, 100)):
        if i:
            time.sleep(0.05)
        if token is not None:
            peer.notify("notifications/progress",
                        {"progressToken": token, "progress": p,
                         "total": 100,
                         "message": "step %d of 3" % (i + 1)})
    return {"content": [text("Tool with progress executed successfully")]}


def need_capability(peer, name):
    if name not in peer.capabilities:
        raise ToolFailure("the client does not support %s" % name)


class ToolFailure(Exception):
    """A tool's own failure: a result with isError, not a JSON-RPC error."""


def tool_sampling(peer, args, meta):
    prompt = args.get("prompt")
    if not isinstance(prompt, str):
        raise RpcError(INVALID_PARAMS, "test_sampling: prompt (a string) "
                       "is required")
    need_capability(peer, "sampling")
    res = peer.request("sampling/createMessage", {
        "messages": [{"role": "user",
                      "content": {"type": "text", "text": prompt}}],
        "maxTokens": 100}) or {}
    content = res.get("content")
    if isinstance(content, list):
        said = " ".join(c.get("text", "") for c in content
                        if isinstance(c, dict) and c.get("type") == "text")
    elif isinstance(content, dict):
        said = content.get("text", "")
    else:
        said = ""
    return {"content": [text("LLM response: %s" % said)]}


def elicit(peer, message, schema):
    need_capability(peer, "elicitation")
    res = peer.request("elicitation/create",
                       {"message": message, "requestedSchema": schema}) or {}
    return res.get("action"), res.get("content")


def tool_elicitation(peer, args, meta):
    message = args.get("message")
    if not isinstance(message, str):
        raise RpcError(INVALID_PARAMS, "test_elicitation: message (a "
                       "string) is required")
    action, content = elicit(peer, message, {
        "type": "object",
        "properties": {
            "username": {"type": "string",
                         "description": "User's response"},
            "email": {"type": "string",
                      "description": "User's email address"}},
        "required": ["username", "email"]})
    return {"content": [text("User response: action=%s, content=%s" %
                             (action, json.dumps(content)))]}


def tool_elicitation_defaults(peer, args, meta):
    action, content = elicit(peer, "Please review and update the form "
                             "fields with defaults", {
                                 "type": "object",
                                 "properties": {
                                     "name": {"type": "string",
                                              "description": "User name",
                                              "default": "John Doe"},
                                     "age": {"type": "integer",
                                             "description": "User age",
                                             "default": 30},
                                     "score": {"type": "number",
                                               "description": "User score",
                                               "default": 95.5},
                                     "status": {"type": "string",
                                                "description": "User status",
                                                "enum": ["active",
                                                         "inactive",
                                                         "pending"],
                                                "default": "active"},
                                     "verified": {"type": "boolean",
                                                  "description":
                                                  "Verification status",
                                                  "default": True}}})
    return {"content": [text("Elicitation completed: action=%s, content=%s"
                             % (action, json.dumps(content)))]}


def tool_elicitation_enums(peer, args, meta):
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string", "title": "Untitled single-select",
                "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string", "title": "Titled single-select",
                "oneOf": [{"const": "value1", "title": "First Option"},
                          {"const": "value2", "title": "Second Option"},
                          {"const": "value3", "title": "Third Option"}]},
            "legacyEnum": {
                "type": "string", "title": "Legacy titled enum",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {
                "type": "array", "title": "Untitled multi-select",
                "items": {"type": "string",
                          "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {
                "type": "array", "title": "Titled multi-select",
                "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}]}}}}
    action, content = elicit(peer, "Please choose from the enum fields",
                             schema)
    return {"content": [text("Elicitation completed: action=%s, content=%s"
                             % (action, json.dumps(content)))]}


def tool_json_schema(peer, args, meta):
    return {"content": [text("json_schema_2020_12_tool called with %s" %
                             json.dumps(args))]}


TOOLS = [
    ("test_simple_text", "Returns a simple text response", NO_ARGS,
     tool_simple_text),
    ("test_image_content", "Returns a 1x1 red PNG image", NO_ARGS,
     tool_image),
    ("test_audio_content", "Returns a short WAV audio clip", NO_ARGS,
     tool_audio),
    ("test_embedded_resource", "Returns an embedded text resource",
     NO_ARGS, tool_embedded_resource),
    ("test_multiple_content_types",
     "Returns text, image and resource content together", NO_ARGS,
     tool_multiple),
    ("test_error_handling", "Always fails, with isError set", NO_ARGS,
     tool_error),
    ("test_tool_with_logging",
     "Sends three log notifications while it runs", NO_ARGS, tool_logging),
    ("test_tool_with_progress",
     "Reports progress 0, 50 and 100 of 100 to the request's progress "
     "token", NO_ARGS, tool_progress),
    ("test_sampling", "Asks the client's LLM (sampling/createMessage) "
     "and returns its answer",
     {"type": "object",
      "properties": {"prompt": {"type": "string",
                                "description": "The prompt for the LLM"}},
      "required": ["prompt"]}, tool_sampling),
    ("test_elicitation", "Asks the user for a username and an email "
     "(elicitation/create)",
     {"type": "object",
      "properties": {"message": {"type": "string",
                                 "description": "The message to show"}},
      "required": ["message"]}, tool_elicitation),
    ("test_elicitation_sep1034_defaults", "Elicitation with default "
     "values of every primitive type (SEP-1034)", NO_ARGS,
     tool_elicitation_defaults),
    ("test_elicitation_sep1330_enums", "Elicitation with the five enum "
     "schema variants (SEP-1330)", NO_ARGS, tool_elicitation_enums),
    ("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
     {"$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "$defs": {"address": {"type": "object", "properties": {
          "street": {"type": "string"}, "city": {"type": "string"}}}},
      "properties": {"name": {"type": "string"},
                     "address": {"$ref": "#/$defs/address"}},
      "additionalProperties": False}, tool_json_schema),
]
TOOL_BY_NAME = {t[0]: t for t in TOOLS}


# ---------------------------------------------------------------------
# Resources and prompts

STATIC = {
    "test://static-text": {
        "name": "Static text resource",
        "description": "A static text resource for testing",
        "mimeType": "text/plain",
        "text": "This is the content of the static text resource."},
    "test://static-binary": {
        "name": "Static binary resource",
        "description": "A static binary resource (a PNG image)",
        "mimeType": "image/png",
        "blob": PNG_B64},
    "test://watched-resource": {
        "name": "Watched resource",
        "description": "A resource to subscribe to",
        "mimeType": "text/plain",
        "text": "Watched resource content."},
}
TEMPLATE = "test://template/{id}/data"
TEMPLATE_RE = re.compile(r"^test://template/([^/]+)/data$")

PROMPTS = [
    {"name": "test_simple_prompt",
     "description": "A simple prompt without arguments"},
    {"name": "test_prompt_with_arguments",
     "description": "A prompt with two required arguments",
     "arguments": [
         {"name": "arg1", "description": "First test argument",
          "required": True},
         {"name": "arg2", "description": "Second test argument",
          "required": True}]},
    {"name": "test_prompt_with_embedded_resource",
     "description": "A prompt embedding a resource",
     "arguments": [
         {"name": "resourceUri", "description": "URI of the resource "
          "to embed", "required": True}]},
    {"name": "test_prompt_with_image",
     "description": "A prompt with an image"},
]
PROMPT_BY_NAME = {p["name"]: p for p in PROMPTS}

COMPLETIONS = ["paris", "park", "party", "test", "testValue1",
               "testing", "value1", "value2"]


def get_prompt(name, args):
    if name not in PROMPT_BY_NAME:
        raise RpcError(INVALID_PARAMS, "unknown prompt: %s" % name)
    for a in PROMPT_BY_NAME[name].get("arguments", []):
        if a.get("required") and not isinstance(args.get(a["name"]), str):
            raise RpcError(INVALID_PARAMS, "prompt %s: argument %s is "
                           "required" % (name, a["name"]))
    if name == "test_simple_prompt":
        msgs = [{"role": "user",
                 "content": text("This is a simple prompt for testing.")}]
    elif name == "test_prompt_with_arguments":
        msgs = [{"role": "user", "content": text(
            "Prompt with arguments: arg1='%s', arg2='%s'" %
            (args["arg1"], args["arg2"]))}]
    elif name == "test_prompt_with_embedded_resource":
        msgs = [{"role": "user", "content": {
            "type": "resource", "resource": {
                "uri": args["resourceUri"], "mimeType": "text/plain",
                "text": "Embedded resource content for testing."}}},
                {"role": "user", "content": text(
                    "Please process the embedded resource above.")}]
    else:
        msgs = [{"role": "user", "content": {
            "type": "image", "data": PNG_B64, "mimeType": "image/png"}},
                {"role": "user", "content": text(
                    "Please analyze the image above.")}]
    return {"description": PROMPT_BY_NAME[name]["description"],
            "messages": msgs}


# ---------------------------------------------------------------------
# Methods

def params_of(msg):
    p = msg.get("params")
    if p is None:
        return {}
    if not isinstance(p, dict):
        raise RpcError(INVALID_PARAMS, "params must be an object")
    return p


def m_initialize(peer, p):
    want = p.get("protocolVersion")
    caps = p.get("capabilities")
    peer.capabilities = caps if isinstance(caps, dict) else {}
    return {
        "protocolVersion": want if want in VERSIONS else LATEST,
        "capabilities": {
            "tools": {"listChanged": False},
            "resources": {"subscribe": True, "listChanged": False},
            "prompts": {"listChanged": False},
            "logging": {},
            "completions": {}},
        "serverInfo": {"name": SERVER_NAME, "version": SERVER_VERSION},
        "instructions": "Fixtures of the MCP conformance suite's server "
                        "scenarios."}


def m_ping(peer, p):
    return {}


def m_set_level(peer, p):
    level = p.get("level")
    if level not in LEVELS:
        raise RpcError(INVALID_PARAMS, "unknown log level: %r" % (level,))
    peer.level = level
    return {}


def m_tools_list(peer, p):
    return {"tools": [{"name": n, "description": d, "inputSchema": s}
                      for n, d, s, _ in TOOLS]}


def m_tools_call(peer, p):
    name = p.get("name")
    args = p.get("arguments") or {}
    if name not in TOOL_BY_NAME:
        raise RpcError(INVALID_PARAMS, "unknown tool: %s" % (name,))
    if not isinstance(args, dict):
        raise RpcError(INVALID_PARAMS, "arguments must be an object")
    try:
        return TOOL_BY_NAME[name][3](peer, args, p.get("_meta"))
    except ToolFailure as e:
        return {"isError": True, "content": [text(str(e))]}


def m_resources_list(peer, p):
    return {"resources": [
        {"uri": uri, "name": r["name"], "description": r["description"],
         "mimeType": r["mimeType"]} for uri, r in STATIC.items()]}


def m_templates_list(peer, p):
    return {"resourceTemplates": [
        {"uriTemplate": TEMPLATE, "name": "Template resource",
         "description": "A resource template with an id parameter",
         "mimeType": "application/json"}]}


def m_resources_read(peer, p):
    uri = p.get("uri")
    if not isinstance(uri, str):
        raise RpcError(INVALID_PARAMS, "uri (a string) is required")
    if uri in STATIC:
        r = STATIC[uri]
        c = {"uri": uri, "mimeType": r["mimeType"]}
        c["blob" if "blob" in r else "text"] = r.get("blob", r.get("text"))
        return {"contents": [c]}
    m = TEMPLATE_RE.match(uri)
    if m:
        ident = m.group(1)
        return {"contents": [{"uri": uri, "mimeType": "application/json",
                              "text": json.dumps({
                                  "id": ident, "templateTest": True,
                                  "data": "Data for ID: %s" % ident})}]}
    raise RpcError(RESOURCE_NOT_FOUND, "Resource not found",
                   {"uri": uri})


def m_subscribe(peer, p):
    uri = p.get("uri")
    if not isinstance(uri, str):
        raise RpcError(INVALID_PARAMS, "uri (a string) is required")
    peer.subscriptions.add(uri)
    return {}


def m_unsubscribe(peer, p):
    uri = p.get("uri")
    if not isinstance(uri, str):
        raise RpcError(INVALID_PARAMS, "uri (a string) is required")
    peer.subscriptions.discard(uri)
    return {}


def m_prompts_list(peer, p):
    return {"prompts": PROMPTS}


def m_prompts_get(peer, p):
    args = p.get("arguments") or {}
    if not isinstance(args, dict):
        raise RpcError(INVALID_PARAMS, "arguments must be an object")
    return get_prompt(p.get("name"), args)


def m_complete(peer, p):
    ref = p.get("ref") or {}
    arg = p.get("argument") or {}
    if ref.get("type") == "ref/prompt":
        prompt = PROMPT_BY_NAME.get(ref.get("name"))
        if prompt is None:
            raise RpcError(INVALID_PARAMS, "unknown prompt: %s" %
                           (ref.get("name"),))
        names = [a["name"] for a in prompt.get("arguments", [])]
        if arg.get("name") not in names:
            raise RpcError(INVALID_PARAMS, "prompt %s has no argument %s"
                           % (ref.get("name"), arg.get("name")))
    elif ref.get("type") == "ref/resource":
        if ref.get("uri") != TEMPLATE:
            raise RpcError(INVALID_PARAMS, "unknown resource template: %s"
                           % (ref.get("uri"),))
    else:
        raise RpcError(INVALID_PARAMS, "unknown ref type: %s" %
                       (ref.get("type"),))
    prefix = str(arg.get("value", ""))
    values = [v for v in COMPLETIONS if v.startswith(prefix)]
    return {"completion": {"values": values, "total": len(values),
                           "hasMore": False}}


METHODS = {
    "initialize": m_initialize,
    "ping": m_ping,
    "logging/setLevel": m_set_level,
    "tools/list": m_tools_list,
    "tools/call": m_tools_call,
    "resources/list": m_resources_list,
    "resources/templates/list": m_templates_list,
    "resources/read": m_resources_read,
    "resources/subscribe": m_subscribe,
    "resources/unsubscribe": m_unsubscribe,
    "prompts/list": m_prompts_list,
    "prompts/get": m_prompts_get,
    "completion/complete": m_complete,
}


def handle_request(peer, msg):
    rid = msg["id"]
    try:
        fn = METHODS.get(msg["method"])
        if fn is None:
            raise RpcError(METHOD_NOT_FOUND, "Method not found: %s" %
                           msg["method"])
        result = fn(peer, params_of(msg))
        peer.send({"jsonrpc": "2.0", "id": rid, "result": result})
    except RpcError as e:
        err = {"code": e.code, "message": e.message}
        if e.data is not None:
            err["data"] = e.data
        peer.send({"jsonrpc": "2.0", "id": rid, "error": err})
    except Exception as e:      # a bug here must not kill the session
        log("%s failed: %r", msg.get("method"), e)
        peer.send({"jsonrpc": "2.0", "id": rid, "error": {
            "code": INTERNAL_ERROR, "message": "internal error: %s" % e}})


def main():
    peer = Peer(sys.stdout.buffer)
    log("started, pid %d", os.getpid())
    for raw in sys.stdin.buffer:
        raw = raw.strip()
        if not raw:
            continue
        if VERBOSE:
            log("<- %s", raw[:500].decode("utf-8", "replace"))
        try:
            msg = json.loads(raw)
        except ValueError:
            peer.send({"jsonrpc": "2.0", "id": None, "error": {
                "code": PARSE_ERROR, "message": "Parse error"}})
            continue
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0":
            peer.send({"jsonrpc": "2.0", "id": None, "error": {
                "code": INVALID_REQUEST, "message": "Invalid Request"}})
            continue
        method = msg.get("method")
        if not isinstance(method, str):
            if "result" in msg or "error" in msg:
                peer.answered(msg)
            else:
                peer.send({"jsonrpc": "2.0", "id": msg.get("id"),
                           "error": {"code": INVALID_REQUEST,
                                     "message": "Invalid Request"}})
            continue
        if "id" not in msg or msg["id"] is None:
            # notifications/initialized, notifications/cancelled, ...
            continue
        threading.Thread(target=handle_request, args=(peer, msg),
                         daemon=True).start()
    log("end of input, leaving")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
