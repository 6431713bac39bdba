# The official MCP TypeScript SDK client against brokerd: its auth() with a
# headless OAuthClientProvider (discovery, dynamic registration, PKCE, the
# browser through the scripted browser, the code exchange and a refresh),
# once as a public client ("none") and once as a confidential one
# ("client_secret_post"); each token is then used on /mcp.  The SDK, pinned
# in regress/sdk/package.json, is installed into regress/obj/sdk.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/oauth_lib.sh"
. "$TOP/regress/sdk_lib.sh"

# sdk_run METHOD: one run of the SDK client; its checks become TAP lines.
sdk_run() {
	: > "$T_DIR/sdk.$1.secrets"
	timeout 90 node "$SDK_DIR/oauth-client.mjs" \
	    --server-url "$PUB/mcp" --issuer "$PUB" --auth-method "$1" \
	    --browser "$BROWSER" --redirect-uri "$CB" \
	    --secrets-out "$T_DIR/sdk.$1.secrets" \
	    > "$T_DIR/sdk.$1.json" 2> "$T_DIR/sdk.$1.err"
	rc=$?
	cat "$T_DIR/sdk.$1.secrets" >> "$SECRETS"
	if ! sdk_tap "$T_DIR/sdk.$1.json" "$T_DIR/sdk.$1.tap" 400; then
		not_ok "$1: the SDK client runs (exit status $rc)"
		head -c 600 "$T_DIR/sdk.$1.err" | sed 's/^/#   /'
	fi
}

# --- set-up -----------------------------------------------------------------

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	skip "the MCP SDK client against brokerd" "node and npm are not installed"
	done_testing
fi
if ! sdk_install; then
	not_ok "the pinned MCP SDK installs into regress/obj/sdk (npm ci)"
	done_testing
fi
ok "the pinned MCP SDK $(jf version "$SDK_DIR/node_modules/@modelcontextprotocol/sdk/package.json") is installed"
cp "$SDK_SRC/oauth-client.mjs" "$SDK_DIR/oauth-client.mjs"

oauth_start
CB="http://127.0.0.1:$(free_port)/callback"	# nothing listens there
remember forgejo-client-secret regress-client-secret

sdk_run none
sdk_run client_secret_post

no_leak_in_logs() {
	_bad=
	for kind in access-token refresh-token code upstream-code \
	    client-secret forgejo-client-secret; do
		leaks $kind "$BROKERD_LOG" "$T_DIR/double.log" \
		    "$T_DIR/double.out" "$T_DIR/double.err" || _bad=1
	done
	[ -z "${_bad:-}" ]
}
expect "no token, code or secret of the SDK runs is in brokerd's or the double's log" \
    no_leak_in_logs

save_log
save_double_log
done_testing
