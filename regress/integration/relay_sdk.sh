# The official MCP TypeScript SDK client (pinned in regress/sdk/package.json,
# installed into regress/obj/sdk) through brokerd's MCP relay, with the
# SDK's own OAuth (regress/sdk/relay-client.mjs): Streamable HTTP on /mcp
# (tools/list, tools/call get_my_user_info, session deleted by the SDK and
# by a raw DELETE, 404 afterwards, a new initialize works) and the
# 2024-11-05 HTTP+SSE transport on /sse (tools/list, tools/call).  The MCP
# server is the stand-in forgejo-mcp.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"

BROWSER=$TOP/regress/browser.py
SECRETS=$T_DIR/secrets
: > "$SECRETS"

jf() { python3 "$BROWSER" json "$2" "$1" 2>/dev/null; }
. "$TOP/regress/sdk_lib.sh"

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# children: the pids of the MCP children of this test's daemon.
children() {
	for _p in $(pgrep -f "^/usr/bin/python3 $T_DIR/mcp-standin.py"); do
		alive "$_p" && echo "$_p"
	done
}

finish() {
	save_log
	save_double_log
	done_testing
}

# --- set-up -----------------------------------------------------------------

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	skip "the MCP SDK client through the relay" "node and npm are not installed"
	done_testing
fi
if ! sdk_install; then
	not_ok "the pinned MCP SDK installs into regress/obj/sdk (npm ci)"
	done_testing
fi
ok "the pinned MCP SDK $(jf version "$SDK_DIR/node_modules/@modelcontextprotocol/sdk/package.json") is installed"
cp "$SDK_SRC/relay-client.mjs" "$SDK_DIR/relay-client.mjs"

ensure_user || exit 1
PORT=$(free_port)
if ! start_double; then
	not_ok "the Forgejo double starts"
	sed 's/^/# /' "$T_DIR/double.err"
	done_testing
fi
gen_config "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts"
	finish
fi
ok "brokerd and the Forgejo double start"
PUB="http://127.0.0.1:$PORT"
CB="http://127.0.0.1:$(free_port)/callback"	# nothing listens there

# --- the SDK ----------------------------------------------------------------------

(cd "$SDK_DIR" && timeout 90 node relay-client.mjs \
    --mcp-url "$PUB/mcp" --sse-url "$PUB/sse" --browser "$BROWSER" \
    --redirect-uri "$CB" --user alice --secrets-out "$SECRETS" \
    > "$T_DIR/sdk.json" 2> "$T_DIR/sdk.err")
rc=$?
if ! sdk_tap "$T_DIR/sdk.json" "$T_DIR/sdk.tap" 500; then
	not_ok "the SDK client runs (exit status $rc)"
	head -c 800 "$T_DIR/sdk.err" | sed 's/^/#   /'
elif [ "$rc" -eq 0 ]; then
	ok "the SDK client exits 0"
else
	not_ok "the SDK client exits 0 (it exited $rc)"
	head -c 800 "$T_DIR/sdk.err" | sed 's/^/#   /'
fi
{
	echo "==== $T_NAME: relay-client.mjs stderr ===="
	cat "$T_DIR/sdk.err"
} >> "$T_LOG"

# Every session the SDK opened was deleted or closed: no child is left.
i=0
while [ "$i" -lt 60 ] && [ -n "$(children)" ]; do
	sleep 0.1
	i=$((i + 1))
done
left=$(children | tr '\n' ' ')
if [ -z "$left" ]; then
	ok "every session of the SDK ended: no MCP child is left"
else
	not_ok "every session of the SDK ended: no MCP child is left"
	echo "#   still running: $left"
fi

# No token or code of the SDK run reaches brokerd's log.
n=0
while IFS='	' read -r k v; do
	[ -n "$v" ] || continue
	n=$((n + 1))
	if grep -a -q -F -e "$v" "$BROKERD_LOG"; then
		leak="${leak:-} $k"
	fi
done < "$SECRETS"
if [ "$n" -gt 0 ] && [ -z "${leak:-}" ]; then
	ok "none of the $n tokens and codes of the SDK run is in brokerd's log"
else
	not_ok "none of the tokens and codes of the SDK run is in brokerd's log"
	echo "#   $n remembered; found:${leak:-}"
fi
check "brokerd is still running" kill -0 "$BROKERD_PID"
finish
