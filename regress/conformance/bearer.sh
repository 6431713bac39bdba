# bearer.sh: a Forgejo double and a broker access token for the tests
# that drive third-party MCP software through brokerd
# (regress/integration/conformance.sh, everything.sh).  Sourced after
# regress/integration/lib.sh.
#
#	PORT=$(free_port)
#	start_double || ...		# sets FORGEJO_PORT, DOUBLE_PID
#	gen_config ...; start_brokerd ...
#	TOKEN=$(get_bearer) || ...	# why it failed: $T_DIR/bearer.err
#
# The token comes from the real flow, as a client gets it: dynamic
# registration of a public client, the scripted browser
# (regress/browser.py) through brokerd's consent page and the double's
# login to the redirect URI, then the authorization_code grant with the
# PKCE verifier and the resource indicator of /mcp.

BEARER_BROWSER=$TOP/regress/browser.py

# start_double: the Forgejo double on a free port, auto-approving, with
# brokerd's application registered for http://127.0.0.1:$PORT/callback.
start_double() {
	: > "$T_DIR/double.out"
	python3 "$TOP/regress/forgejo-double.py" --port 0 \
	    --app "regress-client:regress-client-secret:http://127.0.0.1:$PORT/callback:confidential" \
	    --auto-approve --log "$T_DIR/double.log" \
	    >"$T_DIR/double.out" 2>"$T_DIR/double.err" &
	DOUBLE_PID=$!
	track "$DOUBLE_PID"
	_i=0
	while [ "$_i" -lt 100 ]; do
		FORGEJO_PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' \
		    "$T_DIR/double.out")
		[ -n "$FORGEJO_PORT" ] && break
		kill -0 "$DOUBLE_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	export FORGEJO_PORT
	[ -n "$FORGEJO_PORT" ]
}

save_double_log() {
	{
		echo "==== $T_NAME: forgejo-double ===="
		cat "$T_DIR/double.log" "$T_DIR/double.err" 2>/dev/null
	} >> "$T_LOG"
}

# _bearer_json FILE PATH: a field of a JSON file, or exit status 1.
_bearer_json() {
	python3 "$BEARER_BROWSER" json "$1" "$2" 2>/dev/null
}

# get_bearer [USER [RESOURCE]]: prints a broker access token for USER
# (default alice) of the double, for RESOURCE (default: /mcp; /sse for
# the 2024-11-05 transport).
get_bearer() {
	_pub=http://127.0.0.1:$PORT
	_cb="http://127.0.0.1:$(free_port)/callback"	# nothing listens
	_err=$T_DIR/bearer.err
	: > "$_err"
	_st=$(curl -s -m 10 --noproxy '*' -o "$T_DIR/bearer.reg" \
	    -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary "{\"client_name\":\"regress $T_NAME\",\"redirect_uris\":[\"$_cb\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"none\"}" \
	    "$_pub/register")
	_cid=$(_bearer_json "$T_DIR/bearer.reg" client_id)
	if [ "$_st" != 201 ] || [ -z "$_cid" ]; then
		echo "registration: status $_st: $(head -c 300 "$T_DIR/bearer.reg")" >> "$_err"
		return 1
	fi
	_ver=$(python3 "$BEARER_BROWSER" verifier)
	_state=st$(python3 "$BEARER_BROWSER" verifier | cut -c1-16)
	python3 "$BEARER_BROWSER" flow --public-url "$_pub" --client-id "$_cid" \
	    --redirect-uri "$_cb" --verifier="$_ver" --state "$_state" \
	    --resource "$_pub${2:-/mcp}" --user "${1:-alice}" \
	    --jar "$T_DIR/bearer.jar" > "$T_DIR/bearer.flow" 2>>"$_err"
	_code=$(_bearer_json "$T_DIR/bearer.flow" params.code)
	if [ "$(_bearer_json "$T_DIR/bearer.flow" ok)" != true ] ||
	    [ -z "$_code" ] ||
	    [ "$(_bearer_json "$T_DIR/bearer.flow" params.state)" != "$_state" ]; then
		echo "browser flow: stage $(_bearer_json "$T_DIR/bearer.flow" stage): $(_bearer_json "$T_DIR/bearer.flow" error)" >> "$_err"
		return 1
	fi
	_st=$(curl -s -m 10 --noproxy '*' -o "$T_DIR/bearer.tok" \
	    -w '%{http_code}' \
	    --data-urlencode grant_type=authorization_code \
	    --data-urlencode "code=$_code" \
	    --data-urlencode "code_verifier=$_ver" \
	    --data-urlencode "redirect_uri=$_cb" \
	    --data-urlencode "client_id=$_cid" \
	    --data-urlencode "resource=$_pub${2:-/mcp}" "$_pub/token")
	_tok=$(_bearer_json "$T_DIR/bearer.tok" access_token)
	if [ "$_st" != 200 ] || [ -z "$_tok" ]; then
		echo "token: status $_st: $(head -c 300 "$T_DIR/bearer.tok")" >> "$_err"
		return 1
	fi
	printf '%s\n' "$_tok"
}
