#!/bin/sh
#
# doubles-selftest.sh: self-test of the two test programs the regress
# suite and `make demo` rely on, forgejo-double.py and mcp-standin.py.
#
# It starts the Forgejo double on a free loopback port, runs the OAuth2
# authorization code flow with PKCE S256 the way a scripted browser and
# brokerd would (login cookie, consent page, code exchange), calls
# /api/v1/user, refreshes twice, checks that an old refresh token is
# refused, revokes the grant and checks that its tokens die at once.  Then
# it runs the MCP stand-in against the double with a valid token, and
# checks that a refused token makes the stand-in exit 1.
#
# Output is TAP ("ok N - what" / "not ok N - what", then "1..N"); the
# exit status is non-zero when a check fails.  Every process it starts is
# bounded by timeout(1) and killed by pid on exit.  It needs sh, python3
# and timeout; curl is used when present, else a python3 urllib helper.
#
# usage: sh regress/doubles-selftest.sh
#

# The conditions given to expect() are single-quoted on purpose: eval
# expands them when the check runs.
# shellcheck disable=SC2016

set -u

here=$(cd "$(dirname "$0")" && pwd)
DOUBLE=$here/forgejo-double.py
STANDIN=$here/mcp-standin.py
PY=${PYTHON:-python3}

CID=selftest-public-client
CSECRET=selftest-unused-secret
REGISTERED=http://127.0.0.1/callback
REDIRECT=http://127.0.0.1:8765/callback

tmp=$(mktemp -d "${TMPDIR:-/tmp}/doubles-selftest.XXXXXX") || exit 1
dpid=

cleanup() {
	if [ -n "$dpid" ]; then
		kill "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- TAP -------------------------------------------------------------

n=0
failed=0

# expect DESCRIPTION CONDITION: CONDITION is a shell command list run by
# eval; on failure the last HTTP status and a bit of the body are shown.
expect() {
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n - $1"
	else
		failed=$((failed + 1))
		echo "not ok $n - $1"
		echo "#   condition: $2"
		echo "#   last status: ${status:-none}"
		if [ -s "$tmp/body" ]; then
			head -c 300 "$tmp/body" | sed 's/^/#   body: /'
			echo
		fi
	fi
}

# --- helpers (python3, standard library only) ----------------------------

cat >"$tmp/h.py" <<'EOF'
import base64, hashlib, json, sys, urllib.parse, urllib.request, urllib.error

def lookup(obj, path):
    for part in path.split(".") if path else []:
        if isinstance(obj, list):
            obj = obj[int(part)]
        else:
            obj = obj[part]
    return obj

def show(value):
    print(value if isinstance(value, str) else json.dumps(value))

cmd, args = sys.argv[1], sys.argv[2:]
try:
    if cmd == "urlenc":
        print(urllib.parse.quote(args[0], safe=""))
    elif cmd == "qparam":
        query = urllib.parse.urlsplit(args[0]).query
        print(urllib.parse.parse_qs(query, keep_blank_values=True)[args[1]][0])
    elif cmd == "pkce":
        digest = hashlib.sha256(args[0].encode()).digest()
        print(base64.urlsafe_b64encode(digest).rstrip(b"=").decode())
    elif cmd == "json":
        with open(args[0], "rb") as f:
            show(lookup(json.load(f), args[1]))
    elif cmd == "keys":
        with open(args[0], "rb") as f:
            print(",".join(sorted(json.load(f))))
    elif cmd == "rpc":
        # the message with id ARG of a newline-delimited JSON-RPC file
        with open(args[0], "rb") as f:
            for line in f:
                msg = json.loads(line)
                if msg.get("id") == int(args[1]):
                    show(lookup(msg, args[2]))
                    break
            else:
                sys.exit(1)
    elif cmd == "rpcline":
        # the line number of the answer with id ARG
        with open(args[0], "rb") as f:
            for number, line in enumerate(f, 1):
                if json.loads(line).get("id") == int(args[1]):
                    print(number)
                    break
            else:
                sys.exit(1)
    elif cmd == "jwt":
        parts = args[0].split(".")
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
        print("%d %s" % (len(parts), ",".join(sorted(claims))))
    elif cmd == "fetch":
        # fetch METHOD URL DATAFILE OUTDIR [HEADER...]: curl's stand-in
        method, url, datafile, outdir = args[:4]
        data = open(datafile, "rb").read() if datafile else None
        req = urllib.request.Request(url, data=data, method=method)
        for header in args[4:]:
            name, _, value = header.partition(":")
            req.add_header(name.strip(), value.strip())
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), NoRedirect)
        try:
            resp = opener.open(req, timeout=10)
        except urllib.error.HTTPError as e:
            resp = e
        with open(outdir + "/headers", "w") as f:
            for name, value in resp.headers.items():
                f.write("%s: %s\r\n" % (name, value))
        with open(outdir + "/body", "wb") as f:
            f.write(resp.read())
        print(resp.status)
    else:
        sys.exit("h.py: unknown command " + cmd)
except (KeyError, IndexError, ValueError, OSError):
    sys.exit(1)
EOF

h() {
	"$PY" "$tmp/h.py" "$@"
}

if command -v curl >/dev/null 2>&1; then
	have_curl=1
else
	have_curl=0
fi

# http METHOD URL DATAFILE [HEADER...]: sets $status; the answer is in
# $tmp/headers and $tmp/body.  DATAFILE may be empty.
http() {
	_m=$1 _u=$2 _d=$3
	shift 3
	rm -f "$tmp/headers" "$tmp/body"
	if [ "$have_curl" = 1 ]; then
		_k=$#
		while [ "$_k" -gt 0 ]; do
			set -- "$@" -H "$1"
			shift
			_k=$((_k - 1))
		done
		if [ -n "$_d" ]; then
			set -- "$@" --data-binary "@$_d"
		fi
		status=$(curl -sS --noproxy '*' --max-time 10 -X "$_m" \
		    -D "$tmp/headers" -o "$tmp/body" -w '%{http_code}' \
		    "$@" "$_u" 2>"$tmp/curl.err") || status=error
	else
		status=$(h fetch "$_m" "$_u" "$_d" "$tmp" "$@") || status=error
	fi
}

# header NAME: the first value of that response header (any case).
header() {
	awk -v name="$1" '
	BEGIN { name = tolower(name) ":" }
	{
		line = $0
		sub(/\r$/, "", line)
		if (tolower(substr(line, 1, length(name))) == name) {
			value = substr(line, length(name) + 1)
			sub(/^[ \t]+/, "", value)
			print value
			exit
		}
	}' "$tmp/headers"
}

FORM="Content-Type: application/x-www-form-urlencoded"

# --- 1. the Forgejo double ---------------------------------------------------

: >"$tmp/double.out"
timeout 300 "$PY" "$DOUBLE" --port 0 --log "$tmp/double.log" \
    --pidfile "$tmp/double.pid" --state "$tmp/double.state" \
    --app "$CID:$CSECRET:$REGISTERED:public" \
    >"$tmp/double.out" 2>"$tmp/double.err" &
dpid=$!

port=
i=0
while [ "$i" -lt 100 ]; do
	port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$tmp/double.out")
	[ -n "$port" ] && break
	sleep 0.1
	i=$((i + 1))
done
expect "the double starts and prints its port" '[ -n "$port" ]'
if [ -z "$port" ]; then
	sed 's/^/# /' "$tmp/double.err"
	echo "1..$n"
	exit 1
fi
BASE=http://127.0.0.1:$port

http GET "$BASE/.well-known/openid-configuration" ""
expect "discovery: issuer without trailing slash, S256 offered" \
    '[ "$status" = 200 ] &&
     [ "$(h json "$tmp/body" issuer)" = "$BASE" ] &&
     h json "$tmp/body" code_challenge_methods_supported | grep -q S256'
expect "discovery: no registration or revocation endpoint" \
    '! h json "$tmp/body" registration_endpoint >/dev/null &&
     ! h json "$tmp/body" revocation_endpoint >/dev/null'
http GET "$BASE/.well-known/oauth-authorization-server" ""
expect "no RFC 8414 metadata (404)" '[ "$status" = 404 ]'

# authorize USER: the browser part of the flow.  Leaves $verifier and
# $code behind.
authorize() {
	user=$1
	verifier=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
	challenge=$(h pkce "$verifier")
	state="state-$user-$$"
	query="client_id=$CID&redirect_uri=$(h urlenc "$REDIRECT")"
	query="$query&response_type=code&state=$state&scope=read%3Auser"
	query="$query&code_challenge=$challenge&code_challenge_method=S256"

	http GET "$BASE/login/oauth/authorize?$query" ""
	loc=$(header Location)
	expect "$user: authorize without a session: 303 to /user/login" \
	    '[ "$status" = 303 ] &&
	     case $loc in /user/login\?redirect_to=*) true ;; *) false ;; esac'

	http GET "$BASE$loc&user=$user" ""
	loc=$(header Location)
	cookie=$(header Set-Cookie | sed -n 's/^\(forgejo_session=[^;]*\).*/\1/p')
	expect "$user: /user/login sets the session and goes back" \
	    '[ "$status" = 303 ] &&
	     [ "$loc" = "/login/oauth/authorize?$query" ] &&
	     [ "$cookie" = "forgejo_session=$user" ]'

	http GET "$BASE$loc" "" "Cookie: $cookie"
	csrf=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$tmp/body")
	expect "$user: consent page with a form posting to /login/oauth/grant" \
	    '[ "$status" = 200 ] && [ -n "$csrf" ] &&
	     grep -q "action=\"/login/oauth/grant\"" "$tmp/body"'

	printf '_csrf=%s&client_id=%s&state=%s&scope=read%%3Auser&nonce=&redirect_uri=%s&granted=true' \
	    "$csrf" "$CID" "$state" "$(h urlenc "$REDIRECT")" >"$tmp/grant"
	http POST "$BASE/login/oauth/grant" "$tmp/grant" "Cookie: $cookie" \
	    "$FORM"
	loc=$(header Location)
	code=$(h qparam "$loc" code)
	expect "$user: consent: 303 to the redirect URI with a gta_ code and the state" \
	    '[ "$status" = 303 ] &&
	     case $loc in "$REDIRECT"\?*) true ;; *) false ;; esac &&
	     case $code in gta_*) true ;; *) false ;; esac &&
	     [ "$(h qparam "$loc" state)" = "$state" ]'
}

# token FILE: POST the form in FILE to the token endpoint.
token() {
	http POST "$BASE/login/oauth/access_token" "$1" "$FORM"
}

# error_is CODE DESCRIPTION: the last answer is that token endpoint error.
error_is() {
	[ "$status" = 400 ] &&
	    [ "$(h json "$tmp/body" error)" = "$1" ] &&
	    [ "$(h json "$tmp/body" error_description)" = "$2" ]
}

# --- 2. authorization code flow with PKCE S256 --------------------------------

authorize alice

printf 'grant_type=authorization_code&client_id=%s&code=%s&code_verifier=wrong-verifier&redirect_uri=%s' \
    "$CID" "$code" "$(h urlenc "$REDIRECT")" >"$tmp/form"
token "$tmp/form"
expect "a wrong PKCE verifier is refused" \
    'error_is unauthorized_client "failed PKCE code challenge"'

printf 'grant_type=authorization_code&client_id=%s&code=%s&code_verifier=%s&redirect_uri=%s' \
    "$CID" "$code" "$verifier" "$(h urlenc "$REDIRECT")" >"$tmp/exchange"
token "$tmp/exchange"
cp "$tmp/body" "$tmp/tokens1"
expect "the code exchange answers exactly the four Forgejo fields" \
    '[ "$status" = 200 ] &&
     [ "$(h keys "$tmp/tokens1")" = "access_token,expires_in,refresh_token,token_type" ] &&
     [ "$(h json "$tmp/tokens1" token_type)" = bearer ] &&
     [ "$(h json "$tmp/tokens1" expires_in)" = 3600 ]'
access1=$(h json "$tmp/tokens1" access_token)
refresh1=$(h json "$tmp/tokens1" refresh_token)
expect "the tokens are JWT-shaped with Forgejo's claims" \
    '[ "$(h jwt "$access1")" = "3 exp,gnt,iat,tt" ] &&
     [ "$(h jwt "$refresh1")" = "3 cnt,exp,gnt,iat,tt" ]'

token "$tmp/exchange"
expect "a used code is refused" \
    'error_is unauthorized_client "client is not authorized"'

http GET "$BASE/api/v1/user" "" "Authorization: token $access1"
expect "/api/v1/user with the token answers alice" \
    '[ "$status" = 200 ] &&
     [ "$(h json "$tmp/body" login)" = alice ] &&
     [ "$(h json "$tmp/body" username)" = alice ] &&
     [ "$(h json "$tmp/body" id)" = 1 ]'
http GET "$BASE/api/v1/user" ""
expect "/api/v1/user without a token: 401 token is required" \
    '[ "$status" = 401 ] &&
     [ "$(h json "$tmp/body" message)" = "token is required" ]'

# --- 3. refresh rotation ----------------------------------------------------------

printf 'grant_type=refresh_token&client_id=%s&refresh_token=%s' \
    "$CID" "$refresh1" >"$tmp/refresh1"
token "$tmp/refresh1"
cp "$tmp/body" "$tmp/tokens2"
refresh2=$(h json "$tmp/tokens2" refresh_token)
expect "first refresh succeeds with a new refresh token" \
    '[ "$status" = 200 ] && [ -n "$refresh2" ] &&
     [ "$refresh2" != "$refresh1" ]'

printf 'grant_type=refresh_token&client_id=%s&refresh_token=%s' \
    "$CID" "$refresh2" >"$tmp/refresh2"
token "$tmp/refresh2"
cp "$tmp/body" "$tmp/tokens3"
refresh3=$(h json "$tmp/tokens3" refresh_token)
access3=$(h json "$tmp/tokens3" access_token)
expect "second refresh succeeds" \
    '[ "$status" = 200 ] && [ -n "$refresh3" ] &&
     [ "$refresh3" != "$refresh2" ]'

token "$tmp/refresh1"
expect "the first refresh token is now refused (token was already used)" \
    'error_is unauthorized_client "token was already used"'

printf 'grant_type=refresh_token&client_id=%s&refresh_token=garbage' \
    "$CID" >"$tmp/form"
token "$tmp/form"
expect "a garbage refresh token is refused (unable to parse)" \
    'error_is unauthorized_client "unable to parse refresh token"'

http GET "$BASE/_double/stats" ""
expect "stats: four refresh requests reached the double, two succeeded" \
    '[ "$(h json "$tmp/body" token_requests.refresh_token)" = 4 ] &&
     [ "$(h json "$tmp/body" refresh_successes)" = 2 ] &&
     [ "$(h json "$tmp/body" live_access_tokens.alice)" = 3 ]'

# --- 4. revocation ---------------------------------------------------------------

http POST "$BASE/_double/revoke-grant?user=alice&client_id=$CID" ""
expect "revoke-grant answers 200" '[ "$status" = 200 ]'

printf 'grant_type=refresh_token&client_id=%s&refresh_token=%s' \
    "$CID" "$refresh3" >"$tmp/refresh3"
token "$tmp/refresh3"
expect "after revocation the newest refresh token gets invalid_grant" \
    'error_is invalid_grant "grant does not exist"'

http GET "$BASE/api/v1/user" "" "Authorization: token $access3"
expect "after revocation /api/v1/user answers 401" \
    '[ "$status" = 401 ] &&
     [ "$(h json "$tmp/body" message)" = "user does not exist [uid: 0, name: ]" ]'
http GET "$BASE/api/v1/version" "" "Authorization: Bearer $access3"
expect "after revocation even /api/v1/version answers 401" \
    '[ "$status" = 401 ]'
http GET "$BASE/api/v1/version" ""
expect "/api/v1/version without a token answers the version" \
    '[ "$status" = 200 ] &&
     [ "$(h json "$tmp/body" version)" = "11.0.0+gitea-1.22.0" ]'

http GET "$BASE/_double/stats" ""
expect "stats: no live access token left for alice" \
    '[ "$(h json "$tmp/body" live_access_tokens.alice)" = 0 ]'

expect "the request log has one line per request and no secret" \
    '[ "$(wc -l <"$tmp/double.log")" -gt 20 ] &&
     ! grep -q -e "$access1" -e "$refresh1" -e "gta_" -e "code=" \
         -e "$CSECRET" "$tmp/double.log"'

# --- 5. the MCP stand-in ------------------------------------------------------------

authorize bob
printf 'grant_type=authorization_code&client_id=%s&code=%s&code_verifier=%s&redirect_uri=%s' \
    "$CID" "$code" "$verifier" "$(h urlenc "$REDIRECT")" >"$tmp/form"
token "$tmp/form"
bobtoken=$(h json "$tmp/body" access_token)
expect "bob gets an access token" '[ "$status" = 200 ] && [ -n "$bobtoken" ]'

cat >"$tmp/mcp.in" <<'EOF'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"selftest","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_my_user_info","arguments":{}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":400}}}
{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"out of order"}}}
{"jsonrpc":"2.0","id":6,"method":"no/such/method"}
EOF
FORGEJO_URL=$BASE FORGEJO_ACCESS_TOKEN=$bobtoken \
    timeout 30 "$PY" "$STANDIN" --transport stdio \
    <"$tmp/mcp.in" >"$tmp/mcp.out" 2>"$tmp/mcp.err"
rc=$?
status="exit $rc"
expect "the stand-in answers initialize" \
    '[ "$(h rpc "$tmp/mcp.out" 1 result.protocolVersion)" = 2025-06-18 ] &&
     [ "$(h rpc "$tmp/mcp.out" 1 result.serverInfo.name)" = forgejo-mcp-standin ]'
expect "tools/list offers get_my_user_info" \
    'h rpc "$tmp/mcp.out" 2 result.tools | grep -q "\"get_my_user_info\""'
expect "get_my_user_info answers bob" \
    '[ "$(h rpc "$tmp/mcp.out" 3 result.content.0.text)" = bob ]'
expect "replies come out of order (echo before the earlier sleep)" \
    '[ "$(h rpc "$tmp/mcp.out" 5 result.content.0.text)" = "out of order" ] &&
     [ "$(h rpcline "$tmp/mcp.out" 5)" -lt "$(h rpcline "$tmp/mcp.out" 4)" ]'
expect "an unknown method gets -32601" \
    '[ "$(h rpc "$tmp/mcp.out" 6 error.code)" = -32601 ]'
expect "on EOF the stand-in drains its calls and exits 0" '[ "$rc" = 0 ]'
expect "the stand-in never writes the token to stderr" \
    '! grep -q -F "$bobtoken" "$tmp/mcp.err"'

echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' |
    FORGEJO_URL=$BASE FORGEJO_ACCESS_TOKEN=$access3 \
    timeout 30 "$PY" "$STANDIN" -t stdio >"$tmp/mcp.out" 2>"$tmp/mcp.err"
rc=$?
status="exit $rc"
expect "a revoked token makes the stand-in exit 1 before answering" \
    '[ "$rc" = 1 ] && [ ! -s "$tmp/mcp.out" ]'

echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' |
    FORGEJO_URL=$BASE FORGEJO_ACCESS_TOKEN=not-a-forgejo-token \
    timeout 30 "$PY" "$STANDIN" >"$tmp/mcp.out" 2>"$tmp/mcp.err"
rc=$?
status="exit $rc"
expect "a bad token makes the stand-in exit 1" \
    '[ "$rc" = 1 ] && [ ! -s "$tmp/mcp.out" ]'

echo "1..$n"
[ "$failed" -eq 0 ]
