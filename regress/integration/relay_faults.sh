# Limits and faults of the MCP relay on /mcp, with the stand-in
# forgejo-mcp (regress/mcp-standin.py) as the child.
#
# Faults, each on a session of its own while another user's session must
# stay untouched: a child that exits (status 3) under a request, one that
# floods its stdout without a newline, one that writes a line that is not
# JSON, a DELETE with a request in flight, child stderr in the log (tagged,
# tokens redacted), SIGTERM of brokerd with live sessions.
#
# Limits, each with its own configuration on the same database (so that
# the tokens of the first OAuth flows stay good): mcp max sessions,
# mcp max sessions per user, mcp max message, mcp idle timeout.
#
# Last, kill -9 of spawnd with live sessions: the whole daemon stops and
# none of the children survives.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"

. "$TOP/regress/mcp_lib.sh"

# child_of SESSION: the pid of the session's current child, from the log
# (the child it started with, or the last one that replaced it after a
# token refresh).
child_of() {
	_s8=$(printf '%.8s' "$1")
	sed -n -e "s/.*session $_s8 of user [^ ]*: child \([0-9][0-9]*\) ready.*/\1/p" \
	    -e "s/.*session $_s8 of user [^ ]*: child \([0-9][0-9]*\) replaces child .*/\1/p" \
	    "$BROKERD_LOG" | tail -n 1
}

# pids_of SESSION PID...: the PIDs given and the session's current child,
# each once (a token refresh may have replaced the child meanwhile).
pids_of() {
	_s=$1
	shift
	echo "$@" $(child_of "$_s") | tr ' ' '\n' | awk 'NF && !seen[$0]++' |
	    tr '\n' ' '
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# gone_within SECONDS PID...: true once none of the processes is alive.
gone_within() {
	_lim=$(($1 * 10))
	shift
	_i=0
	while [ "$_i" -le "$_lim" ]; do
		_left=
		for _p in "$@"; do alive "$_p" && _left="$_left $_p"; done
		[ -z "$_left" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# expect_gone DESCRIPTION SECONDS PID...: one TAP line: none of the
# processes is alive within the time (an empty list fails).
expect_gone() {
	_d=$1 _s=$2
	shift 2
	_empty=
	for _p in "$@"; do [ -n "$_p" ] || _empty=1; done
	if [ $# -gt 0 ] && [ -z "$_empty" ] && gone_within "$_s" "$@"; then
		ok "$_d"
	else
		not_ok "$_d"
		echo "#   pids: '$*'; still running after $_s s:$(for _p in "$@"; do
		    alive "$_p" && printf ' %s (%s)' "$_p" \
		    "$(tr '\0' ' ' < /proc/$_p/cmdline | cut -c1-60)"; done)"
	fi
	return 0
}

# other_ok NAME: bob's session SO still works (a call, its own answer).
other_ok() {
	rpc "other.$1" "$TB" "$SO" "$(call "\"$1\"" echo "{\"message\":\"still $1\"}")"
	expect "$1: bob's session is untouched (echo answers)" "other.$1" \
	    "m['status'] == 200 and m['json']['id'] == '$1' and m['json']['result']['content'][0]['text'] == 'still $1'"
	_oc=$(child_of "$SO")
	expect_sh "$1: bob's child $_oc still runs" "it is gone" alive "$_oc"
}

BG_PIDS=
finish() {
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	save_log
	save_double_log
	done_testing
}

# restart EXTRA-STATEMENTS: stop brokerd, start it again on the same
# port and database with another configuration.
restart() {
	if kill -0 "$BROKERD_PID" 2>/dev/null; then
		kill -TERM "$BROKERD_PID"
		wait_gone "$BROKERD_PID" 10 || kill -9 "$BROKERD_PID"
	fi
	save_log
	gen_config "$T_DIR/brokerd.conf" "$1"
	start_brokerd "$T_DIR/brokerd.conf"
}

# bearer USER: get_bearer, tried three times: its PKCE verifier starts
# with "-" once in 64 runs, which browser.py's argument parser refuses.
bearer() {
	for _try in 1 2 3; do
		rm -f "$T_DIR/bearer.jar"
		get_bearer "$1" /mcp && return 0
	done
	return 1
}

# --- set-up -------------------------------------------------------------

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
PUB="http://127.0.0.1:$PORT"
MCP=$PUB/mcp
TA=$(bearer alice) || TA=
[ -n "$TA" ] || sed 's/^/#   alice: /' "$T_DIR/bearer.err"
TB=$(bearer bob) || TB=
[ -n "$TB" ] || sed 's/^/#   bob: /' "$T_DIR/bearer.err"
if [ -z "$TA" ] || [ -z "$TB" ]; then
	not_ok "alice and bob get broker access tokens through the OAuth flow"
	finish
fi
ok "alice and bob get broker access tokens through the OAuth flow"

SO=$(open_session other "$TB")
expect "bob's session (the one that must stay untouched) opens" other.init \
    "m['status'] == 200 and m['session']"

# --- a crashing child ------------------------------------------------------

SC=$(open_session crash "$TA")
PC=$(child_of "$SC")
rpc crash "$TA" "$SC" "$(call '"c1"' crash)" --timeout 15
expect "crash: the request in flight gets a JSON-RPC error naming exit status 3" crash \
    "m['status'] == 200 and m['json']['id'] == 'c1' and 'error' in m['json'] and 'status 3' in m['json']['error']['message']"
rpc crash.after "$TA" "$SC" "$(call 2 echo '{"message":"x"}')"
expect "crash: a later request on that session gets 404" crash.after \
    "m['status'] == 404"
PC=$(pids_of "$SC" $PC)
expect_gone "crash: the child ($PC) is gone" 5 $PC
other_ok crash

# --- a flooding child --------------------------------------------------------

SF=$(open_session flood "$TA")
PF=$(child_of "$SF")
rpc flood "$TA" "$SF" "$(call '"f1"' flood)" --timeout 20
expect "flood: the request in flight gets a JSON-RPC error" flood \
    "m['status'] == 200 and m['json']['id'] == 'f1' and 'error' in m['json'] and 'result' not in m['json']"
rpc flood.after "$TA" "$SF" "$(call 2 echo '{"message":"x"}')"
expect "flood: the session has ended (404)" flood.after "m['status'] == 404"
PF=$(pids_of "$SF" $PF)
expect_gone "flood: the child ($PF) is stopped within 5 s" 5 $PF
other_ok flood

# --- invalid JSON from the child ---------------------------------------------

SJ=$(open_session badjson "$TA")
PJ=$(child_of "$SJ")
rpc badjson "$TA" "$SJ" "$(call '"j1"' bad_json)" --timeout 15
expect "bad_json: the request in flight gets a JSON-RPC error" badjson \
    "m['status'] == 200 and m['json']['id'] == 'j1' and 'error' in m['json'] and 'result' not in m['json']"
rpc badjson.after "$TA" "$SJ" "$(call 2 echo '{"message":"x"}')"
expect "bad_json: the session has ended (404)" badjson.after \
    "m['status'] == 404"
PJ=$(pids_of "$SJ" $PJ)
expect_gone "bad_json: the child ($PJ) is stopped within 5 s" 5 $PJ
other_ok badjson

# --- DELETE with a request in flight --------------------------------------------

SD=$(open_session delete "$TA")
PD=$(child_of "$SD")
rpc inflight "$TA" "$SD" "$(call '"d1"' sleep '{"ms":3000}')" --timeout 15 &
p=$!
sleep 0.5
mc request "$MCP" -X DELETE --token="$TA" --session="$SD" --accept "" \
    > "$T_DIR/delete"
wait "$p"
expect "DELETE with a request in flight: 2xx" delete \
    "200 <= m['status'] < 300"
expect "DELETE: the request in flight gets a JSON-RPC error at once, not its answer nor a hang" \
    inflight "m['status'] == 200 and m['json']['id'] == 'd1' and 'error' in m['json'] and m['elapsed'] < 2.5"
rpc delete.after "$TA" "$SD" "$(call 2 echo '{"message":"x"}')"
expect "DELETE: the session answers 404 afterwards" delete.after \
    "m['status'] == 404"
PD=$(pids_of "$SD" $PD)
expect_gone "DELETE: the child ($PD) is stopped within 5 s" 5 $PD
other_ok delete

# The same with a call that would keep the child busy for a minute: EOF
# is not enough, spawnd's SIGTERM must come after its grace.
SD2=$(open_session delete2 "$TA")
PD2=$(child_of "$SD2")
rpc inflight2 "$TA" "$SD2" "$(call '"d2"' sleep '{"ms":60000}')" --timeout 15 &
p=$!
sleep 0.5
mc request "$MCP" -X DELETE --token="$TA" --session="$SD2" --accept "" \
    > "$T_DIR/delete2"
wait "$p"
expect "DELETE during sleep 60000: 2xx" delete2 "200 <= m['status'] < 300"
expect "DELETE during sleep 60000: the call gets a JSON-RPC error at once" \
    inflight2 "m['status'] == 200 and m['json']['id'] == 'd2' and 'error' in m['json'] and m['elapsed'] < 2.5"
PD2=$(pids_of "$SD2" $PD2)
expect_gone "DELETE during sleep 60000: the busy child ($PD2) is stopped within 5 s" \
    5 $PD2
expect_sh "DELETE during sleep 60000: spawnd sent SIGTERM after the grace" \
    "no such log line for child $PD2" \
    grep -E -q "child ($(echo $PD2 | tr ' ' '|')) of session .* did not exit, sending SIGTERM" \
    "$BROKERD_LOG"

# --- child stderr in the log ---------------------------------------------------

SE=$(open_session stderr "$TA")
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(36))')
rpc stderr "$TA" "$SE" "$(call 1 stderr "{\"message\":\"relay-stderr-marker token $SECRET end\"}")"
expect "stderr: the tool answers" stderr \
    "m['status'] == 200 and 'result' in m['json']"
wait_log "relay-stderr-marker" 5
grep -a 'relay-stderr-marker' "$BROKERD_LOG" > "$T_DIR/stderr.lines"
SE8=$(printf '%.8s' "$SE")
expect_sh "stderr: the child's line is logged, tagged with user alice and session $SE8" \
    "lines: $(head -c 300 "$T_DIR/stderr.lines")" \
    grep -q "user alice.*session $SE8.*relay-stderr-marker" "$T_DIR/stderr.lines"
expect_sh "stderr: the token-like string is replaced by [redacted]" \
    "lines: $(head -c 300 "$T_DIR/stderr.lines")" \
    grep -q -F 'relay-stderr-marker token [redacted] end' "$T_DIR/stderr.lines"
expect_sh "stderr: the token-like string is nowhere in the log" \
    "it is there" sh -c "! grep -a -q -F -e '$SECRET' '$BROKERD_LOG'"

# The default mcp max message is 4 MiB (brokerd.conf.5): a 2 MiB request
# is relayed, and so is its 2 MiB answer.
python3 -c 'import json; print(json.dumps({"jsonrpc": "2.0", "id": 2,
    "method": "tools/call", "params": {"name": "echo",
    "arguments": {"message": "y" * 2097152}}}))' > "$T_DIR/big.body"
rpc big.default "$TA" "$SE" "" --data-file "$T_DIR/big.body" --timeout 20
expect "default mcp max message (4 MiB): a request of 2 MiB is relayed" \
    big.default "m['status'] == 200 and len(m['json']['result']['content'][0]['text']) == 2097152"

# --- SIGTERM of brokerd with live sessions -----------------------------------------

ST=$(open_session term "$TA")
rpc term.call "$TA" "$ST" "$(call 1 sleep '{"ms":60000}')" --timeout 30 &
BG_PIDS="$BG_PIDS $!"
sleep 0.3
KIDS=$(pgrep -f "^/usr/bin/python3 $T_DIR/mcp-standin.py" | tr '\n' ' ')
NK=$(echo $KIDS | wc -w)
expect_sh "SIGTERM: children of live sessions run before ($NK)" "none" \
    [ "$NK" -ge 2 ]
kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 10; then
	ok "SIGTERM: brokerd exits"
else
	not_ok "SIGTERM: brokerd exits within 10 s"
fi
expect_gone "SIGTERM: none of the children survives ($KIDS)" 5 $KIDS

# --- limits -------------------------------------------------------------------------

if ! restart "mcp max sessions 2
mcp max sessions per user 1
mcp max message 65536"; then
	not_ok "brokerd starts with the limits"
	finish
fi
L1=$(open_session l1 "$TA")
expect "limits: alice's first session opens (tokens kept across the restart)" \
    l1.init "m['status'] == 200 and m['session']"
mc init "$MCP" --token="$TA" > "$T_DIR/l2"
expect "mcp max sessions per user 1: alice's second session gets 429" l2 \
    "m['status'] == 429"
L3=$(open_session l3 "$TB")
expect "mcp max sessions per user 1: bob still gets a session" l3.init \
    "m['status'] == 200 and m['session']"
mc init "$MCP" --token="$TB" > "$T_DIR/l4"
expect "mcp max sessions 2: a third initialize gets 503" l4 \
    "m['status'] == 503"
expect "mcp max sessions 2: the 503 carries Retry-After" l4 \
    "m['headers'].get('retry-after', '').strip().isdigit()"
rpc l1.call "$TA" "$L1" "$(call 1 get_my_user_info)"
expect "limits: the sessions within the limits work" l1.call \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'alice'"

BIG=$(python3 -c 'print("x" * 40000)')
rpc msg.small "$TA" "$L1" "$(call 2 echo "{\"message\":\"$BIG\"}")" --pad 20000
expect "mcp max message 65536: a body of 60 kB is relayed" msg.small \
    "m['status'] == 200 and len(m['json']['result']['content'][0]['text']) == 40000"
rpc msg.big "$TA" "$L1" "$(call 3 echo "{\"message\":\"$BIG\"}")" --pad 40000
expect "mcp max message 65536: a body of 80 kB gets 413" msg.big \
    "m['status'] == 413"
rpc msg.after "$TA" "$L1" "$(call 4 echo '{"message":"after"}')"
expect "limits: the session works after the 413" msg.after \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'after'"

# --- idle timeout --------------------------------------------------------------------

if ! restart "mcp idle timeout 2"; then
	not_ok "brokerd starts with mcp idle timeout 2"
	finish
fi
SI=$(open_session idle "$TA")
PI=$(child_of "$SI")
SK=$(open_session kept "$TB")
: > "$T_DIR/kept.events"
mc stream "$MCP" --token="$TB" --session="$SK" --version 2025-06-18 \
    --out "$T_DIR/kept.events" --timeout 30 &
KPID=$!
BG_PIDS="$BG_PIDS $KPID"
mc wait "$T_DIR/kept.events" "m == 'status 200'" --timeout 10 >/dev/null ||
    echo "# bob's GET stream did not open: $(cat "$T_DIR/kept.events")"
rpc idle.first "$TA" "$SI" "$(call 1 echo '{"message":"awake"}')"
expect "idle: a call right after initialize works" idle.first \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'awake'"
sleep 3.5
rpc idle.after "$TA" "$SI" "$(call 2 echo '{"message":"late"}')"
expect "mcp idle timeout 2: after 3.5 s without a request, the session gets 404" \
    idle.after "m['status'] == 404"
PI=$(pids_of "$SI" $PI)
expect_gone "mcp idle timeout 2: its child ($PI) is gone" 3 $PI
rpc kept.after "$TB" "$SK" "$(call 2 echo '{"message":"streamed"}')"
expect "mcp idle timeout 2: a session with its GET stream open is kept" \
    kept.after "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'streamed'"
kill "$KPID" 2>/dev/null

# --- kill -9 of spawnd -------------------------------------------------------------

if ! restart ""; then
	not_ok "brokerd starts again"
	finish
fi
S9A=$(open_session k9a "$TA")
S9B=$(open_session k9b "$TB")
rpc k9.call "$TA" "$S9A" "$(call 1 sleep '{"ms":60000}')" --timeout 30 &
BG_PIDS="$BG_PIDS $!"
sleep 0.3
KIDS=$(pgrep -f "^/usr/bin/python3 $T_DIR/mcp-standin.py" | tr '\n' ' ')
NK=$(echo $KIDS | wc -w)
expect_sh "kill -9 spawnd: children of live sessions run before ($NK)" "none" \
    [ "$NK" -ge 2 ]
SP=$(child_pid "$BROKERD_PID" spawnd)
DAEMON=$(ps -o pid= --ppid "$BROKERD_PID" | tr '\n' ' ')
if [ -n "$SP" ]; then
	kill -9 "$SP"
	if wait_gone "$BROKERD_PID" 5; then
		ok "kill -9 spawnd: brokerd exits"
	else
		not_ok "kill -9 spawnd: brokerd exits within 5 s"
	fi
	expect_gone "kill -9 spawnd: no process of the daemon is left" 3 $DAEMON
	expect_gone "kill -9 spawnd: none of the children survives ($KIDS)" 5 $KIDS
else
	not_ok "kill -9 spawnd: spawnd is found"
fi
finish
