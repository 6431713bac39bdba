# mcp_lib.sh: the helpers of the tests that talk MCP to brokerd's relay
# through regress/mcpclient.py (regress/integration/relay.sh,
# relay_faults.sh and, through regress/lifecycle_lib.sh, lifecycle.sh and
# lifecycle_faults.sh): TAP checks with a python expression on the JSON
# answer ("m" is the document), requests, tool calls and sessions.
# Sourced after regress/integration/lib.sh.  EXPECT_CUT (default 700) is
# how much of the document a failed expect shows.

MC=$TOP/regress/mcpclient.py
mc() { python3 "$MC" "$@"; }

# jv FILE PATH: a field of a JSON file ("a.b.0"), strings raw.
jv() { python3 "$TOP/regress/browser.py" json "$1" "$2" 2>/dev/null; }

# expect DESCRIPTION FILE EXPR: one TAP line, EXPR being a python
# expression on m, the JSON document in T_DIR/FILE.  On failure the
# document is shown, cut, as TAP comments.
expect() {
	if python3 "$MC" test "$T_DIR/$2" "$3" 2>"$T_DIR/expect.err"; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   condition: $3"
		head -c "${EXPECT_CUT:-700}" "$T_DIR/$2" 2>/dev/null | tr '\n' ' ' |
		    sed 's/^/#   got: /'
		echo
		[ -s "$T_DIR/expect.err" ] && sed 's/^/#   /' "$T_DIR/expect.err"
	fi
	return 0
}

# expect_sh DESCRIPTION WHY COMMAND...: one TAP line from a command's
# status; WHY is shown on failure.
expect_sh() {
	_d=$1 _w=$2
	shift 2
	if "$@" >/dev/null 2>&1; then ok "$_d"; else
		not_ok "$_d"
		echo "#   $_w"
	fi
	return 0
}

# rpc OUT TOKEN SESSION BODY [mcpclient request options...]: a POST to
# /mcp (protocol version 2025-06-18 unless told otherwise); the answer
# in T_DIR/OUT.
rpc() {
	_o=$1 _t=$2 _s=$3 _b=$4
	shift 4
	mc request "$MCP" --token="$_t" ${_s:+--session="$_s"} \
	    --version 2025-06-18 --data "$_b" "$@" > "$T_DIR/$_o"
}

# call ID TOOL [ARGUMENTS]: a tools/call request (ID is JSON).
call() {
	_a=${3:-}
	[ -n "$_a" ] || _a='{}'
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' \
	    "$1" "$2" "$_a"
}

# open_session NAME TOKEN [VERSION [mcpclient init options...]]:
# initialize and notifications/initialized; the answer in T_DIR/NAME.init,
# the session id printed.
open_session() {
	_n=$1 _t=$2 _v=${3:-2025-06-18}
	shift 2
	[ $# -gt 0 ] && shift
	mc init "$MCP" --token="$_t" --version "$_v" "$@" > "$T_DIR/$_n.init"
	jv "$T_DIR/$_n.init" session
}
