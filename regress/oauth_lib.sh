# oauth_lib.sh: the helpers of the OAuth tests (regress/integration/
# oauth_flow.sh, oauth_negative.sh, oauth_sdk.sh): requests and their
# answers, TAP checks that show the last answer, the secrets seen for the
# leak checks, registration, the browser flow and the token grants, and
# oauth_start for the Forgejo double and brokerd.  Sourced after
# regress/integration/lib.sh.

. "$TOP/regress/conformance/bearer.sh"	# start_double, save_double_log

BROWSER=$TOP/regress/browser.py
SECRETS=$T_DIR/secrets
: > "$SECRETS"

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

# oauth_start [CONFIG-LINES]: the Forgejo double and brokerd with the OAuth
# configuration (plus CONFIG-LINES); one TAP line, or the test ends.
# Sets PORT, FORGEJO_PORT and PUB.
oauth_start() {
	ensure_user || exit 1
	PORT=$(free_port)
	if ! start_double; then
		not_ok "the Forgejo double starts"
		cat "$T_DIR/double.err" >&2
		done_testing
	fi
	gen_config "$T_DIR/brokerd.conf" "${1:-}"
	if ! start_brokerd "$T_DIR/brokerd.conf"; then
		not_ok "brokerd starts with the OAuth configuration"
		save_log
		done_testing
	fi
	ok "brokerd and the Forgejo double start"
	PUB="http://127.0.0.1:$PORT"
}
