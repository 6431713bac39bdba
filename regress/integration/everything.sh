# The MCP reference server @modelcontextprotocol/server-everything
# (pinned in regress/everything/package.json) as brokerd's MCP child, a
# Node program with a module tree that the sandbox must let it read
# ("mcp path"); then, with curl and a broker access token from the OAuth
# flow, Streamable HTTP through brokerd: initialize, tools/list, a
# tools/call of its echo tool, the child's environment (its get-env
# tool), DELETE of the session, and a clean stop that leaves no child.
# The server is installed once into regress/obj/everything.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"

EV_SRC=$TOP/regress/everything
EV_DIR=$TOP/regress/obj/everything
EV_REL=node_modules/@modelcontextprotocol/server-everything

jv() { python3 "$TOP/regress/browser.py" json "$1" "$2" 2>/dev/null; }

everything_installed() {
	want=$(jv "$EV_SRC/package.json" \
	    dependencies.@modelcontextprotocol/server-everything)
	have=$(jv "$EV_DIR/$EV_REL/package.json" version)
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	    cmp -s "$EV_SRC/package-lock.json" "$EV_DIR/package-lock.json"
}

everything_install() {
	everything_installed && return 0
	mkdir -p "$EV_DIR" || return 1
	cp "$EV_SRC/package.json" "$EV_SRC/package-lock.json" "$EV_DIR/" ||
	    return 1
	(cd "$EV_DIR" && umask 022 && timeout 150 npm ci --no-audit --no-fund) \
	    >> "$T_LOG" 2>&1 || return 1
	everything_installed
}

# The node children are brokerd's grandchildren (under spawnd), outside
# T_DIR: lib.sh's clean-up would not find them if brokerd went away
# first.  Those seen are remembered and killed by pid on exit.
KIDS=
descendants() {
	for _c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$_c"
		descendants "$_c"
	done
}
children() {
	for _c in $(descendants "$BROKERD_PID"); do
		tr '\0' ' ' < "/proc/$_c/cmdline" 2>/dev/null |
		    grep -qF "$EV_MAIN" && echo "$_c"
	done
}
ev_cleanup() {
	for _k in ${BROKERD_PID:+$(descendants "$BROKERD_PID")} $KIDS; do
		kill -9 "$_k" 2>/dev/null
	done
}
trap 'ev_cleanup; cleanup' EXIT

finish() {
	save_log
	save_double_log
	done_testing
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	skip "server-everything through brokerd" "node and npm are not installed"
	done_testing
fi
if ! everything_install; then
	not_ok "the pinned server-everything installs into regress/obj/everything (npm ci)"
	done_testing
fi
ok "@modelcontextprotocol/server-everything $(jv "$EV_DIR/$EV_REL/package.json" version) is installed"

ensure_user || exit 1
NODE=$(readlink -f "$(command -v node)")

# The child runs as the unprivileged user: it must reach the module tree.
# If the source tree is not open to it, a copy in T_DIR (which is) serves.
MODULES=$EV_DIR/node_modules
if is_root && ! runuser -u "$TEST_USER" -- test -r "$MODULES/@modelcontextprotocol/server-everything/dist/index.js"; then
	echo "# $EV_DIR is not readable by $TEST_USER: using a copy in $T_DIR"
	mkdir -p "$T_DIR/everything"
	cp -R "$MODULES" "$T_DIR/everything/node_modules"
	chmod -R a+rX "$T_DIR/everything"
	MODULES=$T_DIR/everything/node_modules
fi
EV_MAIN=$MODULES/@modelcontextprotocol/server-everything/dist/index.js

PORT=$(free_port)
if ! start_double; then
	not_ok "the Forgejo double starts"
	sed 's/^/# /' "$T_DIR/double.err"
	done_testing
fi
gen_config "$T_DIR/gen.conf" "mcp path \"$MODULES\""
{
	grep -v '^mcp command ' "$T_DIR/gen.conf"
	echo "mcp command \"$NODE\" \"$EV_MAIN\" \"stdio\""
} > "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts with server-everything as its MCP server"
	finish
fi
ok "brokerd starts with server-everything as its MCP server"
PUB="http://127.0.0.1:$PORT"

if ! TOKEN=$(get_bearer alice /mcp); then
	not_ok "a broker access token from the OAuth flow"
	sed 's/^/#   /' "$T_DIR/bearer.err"
	finish
fi
ok "a broker access token from the OAuth flow"

# --- Streamable HTTP with curl -----------------------------------------------

SID=
PROTO=

# post JSON [CURL-ARGS...]: one POST to /mcp with the session's headers;
# sets $st; headers in $T_DIR/h, body in $T_DIR/b, and the JSON-RPC
# message answering the request (from JSON or from an event stream) in
# $T_DIR/m.
post() {
	_body=$1
	shift
	: > "$T_DIR/h"
	: > "$T_DIR/b"
	: > "$T_DIR/m"
	st=$(curl -s -m 20 --noproxy '*' -D "$T_DIR/h" -o "$T_DIR/b" \
	    -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' \
	    -H 'Accept: application/json, text/event-stream' \
	    ${SID:+-H "Mcp-Session-Id: $SID"} \
	    ${PROTO:+-H "MCP-Protocol-Version: $PROTO"} \
	    "$@" --data-binary "$_body" "$PUB/mcp")
	[ -n "$st" ] || st=000
	python3 - "$T_DIR/h" "$T_DIR/b" "$_body" > "$T_DIR/m" <<'PY'
import json, sys
heads, body, sent = sys.argv[1:4]
ctype = ""
for line in open(heads, errors="replace"):
    if line.lower().startswith("content-type:"):
        ctype = line.split(":", 1)[1].strip().lower()
data = open(body, "rb").read().decode("utf-8", "replace")
try:
    want = json.loads(sent).get("id")
except ValueError:
    want = None
msgs = []
if ctype.startswith("text/event-stream"):
    # SSE: events separated by blank lines, "data:" lines joined.
    for event in data.replace("\r\n", "\n").split("\n\n"):
        lines = [l[5:].lstrip(" ") if l.startswith("data:") else None
                 for l in event.split("\n")]
        payload = "\n".join(l for l in lines if l is not None)
        if payload.strip():
            try:
                msgs.append(json.loads(payload))
            except ValueError:
                pass
elif data.strip():
    try:
        m = json.loads(data)
        msgs = m if isinstance(m, list) else [m]
    except ValueError:
        pass
for m in msgs:
    if isinstance(m, dict) and "method" not in m and m.get("id") == want:
        print(json.dumps(m))
        break
PY
}

hdr() {
	awk -v name="$(echo "$1" | tr '[:upper:]' '[:lower:]'):" '
	{ line = $0; sub(/\r$/, "", line) }
	tolower(substr(line, 1, length(name))) == name {
		v = substr(line, length(name) + 1); sub(/^[ \t]+/, "", v); print v; exit
	}' "$T_DIR/h"
}

# expect DESCRIPTION CONDITION: one TAP line; on failure, the answer.
expect() {
	if eval "$2" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   condition: $2"
		echo "#   status: ${st:-none}, content-type: $(hdr Content-Type)"
		head -c 400 "$T_DIR/b" | tr '\r\n' '  ' | sed 's/^/#   body: /'
		echo
	fi
}

post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"regress-everything","version":"1.0.0"}}}'
SID=$(hdr Mcp-Session-Id)
PROTO=$(jv "$T_DIR/m" result.protocolVersion)
expect "initialize: 200 with an Mcp-Session-Id" \
    '[ "$st" = 200 ] && [ -n "$SID" ]'
KIDS=$(children | tr '\n' ' ')
expect "initialize: server-everything answers (serverInfo mcp-servers/everything)" \
    '[ "$(jv "$T_DIR/m" result.serverInfo.name)" = mcp-servers/everything ]'
expect "initialize: protocol version 2025-06-18 negotiated" \
    '[ "$PROTO" = 2025-06-18 ]'
expect "initialize: the server offers tools" 'jv "$T_DIR/m" result.capabilities.tools'

post '{"jsonrpc":"2.0","method":"notifications/initialized"}'
expect "notifications/initialized: 202" '[ "$st" = 202 ]'

post '{"jsonrpc":"2.0","id":"list-1","method":"tools/list","params":{}}'
jv "$T_DIR/m" result.tools > "$T_DIR/tools.json"
python3 -c 'import json, sys
print("\n".join(t["name"] for t in json.load(open(sys.argv[1]))))' \
    "$T_DIR/tools.json" > "$T_DIR/tools" 2>/dev/null
expect "tools/list: 200, the answer keeps the client's id" \
    '[ "$st" = 200 ] && [ "$(jv "$T_DIR/m" id)" = list-1 ]'
expect "tools/list: lists echo, get-sum and get-env" \
    'grep -qx echo "$T_DIR/tools" && grep -qx get-sum "$T_DIR/tools" &&
     grep -qx get-env "$T_DIR/tools"'
expect "tools/list: at least 10 tools" '[ "$(wc -l < "$T_DIR/tools")" -ge 10 ]'

post '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello through brokerd"}}}'
expect "tools/call echo: 200" '[ "$st" = 200 ]'
expect "tools/call echo: answers \"Echo: hello through brokerd\"" \
    '[ "$(jv "$T_DIR/m" result.content.0.text)" = "Echo: hello through brokerd" ] &&
     [ "$(jv "$T_DIR/m" id)" = 7 ]'

post '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":2,"b":3}}}'
expect "tools/call get-sum 2 3: the sum is 5" \
    'jv "$T_DIR/m" result.content.0.text | grep -q "\b5\b"'

# The child's environment is exactly the documented one (brokerd.conf(5),
# DESIGN.md 3): nothing inherited, the user's Forgejo token, not ours.
post '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"get-env","arguments":{}}}'
jv "$T_DIR/m" result.content.0.text > "$T_DIR/env.json"
envkeys=$(python3 -c 'import json, sys
print(",".join(sorted(json.load(open(sys.argv[1])))))' "$T_DIR/env.json" 2>/dev/null)
expect "the child's environment is FORGEJO_ACCESS_TOKEN, FORGEJO_URL, HOME, LANG, PATH" \
    '[ "$envkeys" = "FORGEJO_ACCESS_TOKEN,FORGEJO_URL,HOME,LANG,PATH" ]'
echo "#   environment: $envkeys"
expect "the child's FORGEJO_URL is the configured one" \
    '[ "$(jv "$T_DIR/env.json" FORGEJO_URL)" = "http://127.0.0.1:$FORGEJO_PORT" ]'
fat=$(jv "$T_DIR/env.json" FORGEJO_ACCESS_TOKEN)
expect "the child holds a Forgejo token, not the broker token" \
    '[ -n "$fat" ] && [ "$fat" != "$TOKEN" ]'

st=$(curl -s -m 10 --noproxy '*' -o /dev/null -w '%{http_code}' -X DELETE \
    -H "Authorization: Bearer $TOKEN" -H "Mcp-Session-Id: $SID" \
    -H "MCP-Protocol-Version: $PROTO" "$PUB/mcp")
expect "DELETE /mcp ends the session: 200 or 204" \
    '[ "$st" = 200 ] || [ "$st" = 204 ]'
post '{"jsonrpc":"2.0","id":10,"method":"ping"}'
expect "the deleted session answers 404" '[ "$st" = 404 ]'

# A second session, left open: stopping brokerd must stop its child.
SID=
PROTO=
post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"regress-everything","version":"1.0.0"}}}'
SID=$(hdr Mcp-Session-Id)
expect "a second session starts" '[ "$st" = 200 ] && [ -n "$SID" ]'
kids=$(children | tr '\n' ' ')
expect "its node child runs" '[ -n "$kids" ]'
KIDS="$KIDS $kids"

kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 10; then
	ok "brokerd stops on SIGTERM"
else
	not_ok "brokerd stops on SIGTERM within 10 seconds"
fi
gone=1
for k in $KIDS; do
	wait_gone "$k" 5 || gone=
done
expect "no server-everything child is left" '[ -n "$gone" ]'
finish
