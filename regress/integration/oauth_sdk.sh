# The official MCP TypeScript SDK client against brokerd: its auth() with a
# headless OAuthClientProvider (discovery, dynamic registration, PKCE, the
# browser through the scripted browser, the code exchange and a refresh),
# once as a public client ("none") and once as a confidential one
# ("client_secret_post"); each token is then used on /mcp.  The SDK, pinned
# in regress/sdk/package.json, is installed into regress/obj/sdk.
. "$TOP/regress/integration/lib.sh"

BROWSER=$TOP/regress/browser.py
SECRETS=$T_DIR/secrets
: > "$SECRETS"

# --- helpers (the same in every oauth_*.sh) ------------------------------

br() { python3 "$BROWSER" "$@"; }

# jf PATH [FILE]: a field of a JSON file (default: the last body).
jf() { python3 "$BROWSER" json "${2:-$T_DIR/b}" "$1" 2>/dev/null; }

# req METHOD URL [CURL-ARGS...]: one request, no redirect followed; sets
# $st; the answer's headers in $T_DIR/h, its body in $T_DIR/b.
req() {
	_m=$1 _u=$2
	shift 2
	FLOWF=
	: > "$T_DIR/h"
	: > "$T_DIR/b"
	st=$(curl -s -m 10 --noproxy '*' -X "$_m" -D "$T_DIR/h" \
	    -o "$T_DIR/b" -w '%{http_code}' "$@" "$_u")
	[ -n "$st" ] || st=000
}

# hdr NAME: a header of the last answer (of its last header block).
hdr() {
	awk -v name="$1" '
	BEGIN { name = tolower(name) ":" }
	/^HTTP\// { found = 0; v = "" }
	{
		line = $0
		sub(/\r$/, "", line)
		if (!found && tolower(substr(line, 1, length(name))) == name) {
			v = substr(line, length(name) + 1)
			sub(/^[ \t]+/, "", v)
			found = 1
		}
	}
	END { if (found) print v; else exit 1 }' "$T_DIR/h"
}

# expect DESCRIPTION CONDITION: one TAP line; CONDITION is eval'd.  On
# failure the last answer is shown as TAP comments.
expect() {
	if eval "$2" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   condition: $2"
		echo "#   last status: ${st:-none}"
		if [ -s "$T_DIR/b" ]; then
			head -c 300 "$T_DIR/b" | tr '\r\n' '  ' | sed 's/^/#   body: /'
			echo
		fi
		[ -s "$T_DIR/why" ] && sed 's/^/#   /' "$T_DIR/why"
		[ -n "${FLOWF:-}" ] && flow_summary "$FLOWF"
	fi
	rm -f "$T_DIR/why"
}

# flow_summary FILE: where a browser flow ended, as TAP comments.
flow_summary() {
	python3 - "$1" "$T_DIR/browser.err" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    print("#   browser: no result (%s)" % e)
    try:
        err = open(sys.argv[2], errors="replace").read().strip().splitlines()
        for line in err[-6:]:
            print("#   browser: " + line)
    except OSError:
        pass
    sys.exit(0)
last = d.get("last") or {}
post = d.get("consent_post") or {}
print("#   browser: stage %s, consent POST %s, error %s" %
      (d.get("stage"), post.get("status"), d.get("error")))
print("#   browser: last %s %s: %s" %
      (last.get("status"), str(last.get("url", "")).split("?")[0],
       " ".join(str(last.get("body", ""))[:200].split())))
PY
}

# remember KIND VALUE: a secret the test saw, for the database and log
# checks at the end.
remember() {
	[ -n "$2" ] && printf '%s\t%s\n' "$1" "$2" >> "$SECRETS"
}

# leaks KIND FILE...: true if no remembered secret of KIND is found in
# any of the files; what was found is said in $T_DIR/why.
leaks() {
	_kind=$1
	shift
	_n=0
	while IFS='	' read -r _k _v; do
		[ "$_k" = "$_kind" ] || continue
		for _f in "$@"; do
			[ -f "$_f" ] || continue
			if grep -a -q -F -e "$_v" "$_f"; then
				_n=$((_n + 1))
				echo "a $_kind is in $(basename "$_f")" >> "$T_DIR/why"
			fi
		done
	done < "$SECRETS"
	[ "$_n" = 0 ]
}

# start_double: the Forgejo double on a free port, with brokerd's
# application; sets FORGEJO_PORT and DOUBLE_PID.
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

# register FILE JSON: POST /register; the answer is kept in FILE.
register() {
	req POST "$PUB/register" -H 'Content-Type: application/json' \
	    --data-binary "$2"
	cp "$T_DIR/b" "$1"
}

# token_code CLIENT SECRET CODE VERIFIER REDIRECT [RESOURCE]: the
# authorization_code grant; SECRET may be empty (public client).
token_code() {
	set -- "$1" "$2" "$3" "$4" "$5" "${6:-$PUB/mcp}"
	_sec=
	[ -n "$2" ] && _sec="client_secret=$2"
	req POST "$PUB/token" \
	    --data-urlencode grant_type=authorization_code \
	    --data-urlencode "code=$3" \
	    --data-urlencode "code_verifier=$4" \
	    --data-urlencode "redirect_uri=$5" \
	    --data-urlencode "client_id=$1" \
	    ${_sec:+--data-urlencode "$_sec"} \
	    --data-urlencode "resource=$6"
}

# token_refresh CLIENT SECRET REFRESH-TOKEN
token_refresh() {
	_sec=
	[ -n "$2" ] && _sec="client_secret=$2"
	req POST "$PUB/token" \
	    --data-urlencode grant_type=refresh_token \
	    --data-urlencode "refresh_token=$3" \
	    --data-urlencode "client_id=$1" \
	    ${_sec:+--data-urlencode "$_sec"} \
	    --data-urlencode "resource=$PUB/mcp"
}

# revoke CLIENT SECRET TOKEN HINT
revoke() {
	_sec=
	[ -n "$2" ] && _sec="client_secret=$2"
	req POST "$PUB/revoke" \
	    --data-urlencode "token=$3" \
	    --data-urlencode "token_type_hint=$4" \
	    --data-urlencode "client_id=$1" \
	    ${_sec:+--data-urlencode "$_sec"}
}

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"regress","version":"0"}}}'

# mcp TOKEN [PATH]: an MCP initialize POST with the bearer token.
mcp() {
	req POST "$PUB${2:-/mcp}" -H "Authorization: Bearer $1" \
	    -H 'Content-Type: application/json' \
	    -H 'Accept: application/json, text/event-stream' --data-binary "$INIT"
}

relay_or_ok() { [ "$st" = 501 ] || { [ "$st" -ge 200 ] && [ "$st" -lt 300 ]; }; }
has_error() { [ "$(jf error)" = "$1" ]; }
token_len_ok() { [ "${#1}" -ge 43 ]; }

# flow FILE CLIENT VERIFIER STATE [BROWSER-ARGS...]: the scripted browser
# from /authorize to the client's redirect URI; its JSON in FILE.
flow() {
	_f=$1 _c=$2 _v=$3 _s=$4
	shift 4
	br flow --public-url "$PUB" --client-id="$_c" --redirect-uri "$CB" \
	    --verifier="$_v" --state="$_s" --jar "$T_DIR/jar.$_c" "$@" > "$_f" \
	    2>> "$T_DIR/browser.err"
	FLOWF=$_f
	remember code "$(jf params.code "$_f")"
	remember upstream-code "$(br qparam "$(jf callback_url "$_f")" code 2>/dev/null)"
}

# --- set-up -----------------------------------------------------------------

# sdk_install: the pinned SDK in regress/obj/sdk, unless it is there.
SDK_SRC=$TOP/regress/sdk
SDK_DIR=$TOP/regress/obj/sdk
sdk_installed() {
	want=$(jf dependencies.@modelcontextprotocol/sdk "$SDK_SRC/package.json")
	have=$(jf version \
	    "$SDK_DIR/node_modules/@modelcontextprotocol/sdk/package.json")
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	    cmp -s "$SDK_SRC/package-lock.json" "$SDK_DIR/package-lock.json"
}
sdk_install() {
	sdk_installed && return 0
	mkdir -p "$SDK_DIR" || return 1
	cp "$SDK_SRC/package.json" "$SDK_SRC/package-lock.json" "$SDK_DIR/" ||
	    return 1
	(cd "$SDK_DIR" && timeout 240 npm ci --no-audit --no-fund) \
	    >> "$T_LOG" 2>&1 || return 1
	sdk_installed
}

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
	python3 - "$T_DIR/sdk.$1.json" > "$T_DIR/sdk.$1.tap" <<'PY'
import json, sys
try:
    checks = json.load(open(sys.argv[1]))["checks"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
for c in checks:
    detail = " ".join(str(c.get("detail", "")).split())[:400]
    print("%d\t%s\t%s" % (1 if c["ok"] else 0, c["name"], detail))
PY
	if [ ! -s "$T_DIR/sdk.$1.tap" ]; then
		not_ok "$1: the SDK client runs (exit status $rc)"
		head -c 600 "$T_DIR/sdk.$1.err" | sed 's/^/#   /'
		return
	fi
	while IFS='	' read -r pass name detail; do
		if [ "$pass" = 1 ]; then
			ok "$name"
		else
			not_ok "$name"
			[ -n "$detail" ] && echo "#   $detail"
		fi
	done < "$T_DIR/sdk.$1.tap"
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

ensure_user || exit 1
PORT=$(free_port)
if ! start_double; then
	not_ok "the Forgejo double starts"
	cat "$T_DIR/double.err" >&2
	done_testing
fi
gen_config "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts with the OAuth configuration"
	save_log
	done_testing
fi
ok "brokerd and the Forgejo double start"
PUB="http://127.0.0.1:$PORT"
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
