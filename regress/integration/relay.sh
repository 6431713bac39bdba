# The MCP relay on /mcp (Streamable HTTP), with the stand-in forgejo-mcp
# (regress/mcp-standin.py) as the child and the Forgejo double upstream.
#
# Isolation: alice and bob, each through the full OAuth flow, at once:
# each child answers with its own user only; a token is refused on the
# other user's session exactly as an unknown session id is; no token is
# in any command line; the children have exactly the documented
# environment, run as the unprivileged user, lead their own process group
# and may not dump core.
#
# Protocol: the status codes of the transport (406, 415, 400 -32700, 400
# for a bad MCP-Protocol-Version, a missing session id or a second
# initialize, 404, 202), the client's ids put back, notifications before
# the answer on an event stream, the GET stream (409 for a second one), a
# request of the server answered by the client over the GET stream,
# answers out of order, batches only on 2025-03-26 sessions, Origin and
# the CORS preflight.
#
# The MCP requests are made by regress/mcpclient.py, whose JSON output is
# asserted on with python expressions ("m" is the document).
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

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# env_of PID NAME: a variable of the process's initial environment.
env_of() {
	tr '\0' '\n' < "/proc/$1/environ" | sed -n "s/^$2=//p"
}

finish() {
	for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null; done
	save_log
	save_double_log
	done_testing
}
BG_PIDS=

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
gen_config "$T_DIR/brokerd.conf" 'mcp allow origin "http://allowed.example"'
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
if [ -z "$TA" ] || [ -z "$TB" ] || [ "$TA" = "$TB" ]; then
	not_ok "alice and bob get broker access tokens through the OAuth flow"
	finish
fi
ok "alice and bob get broker access tokens through the OAuth flow"

# --- two users at once ----------------------------------------------------

SA=$(open_session alice "$TA")
SB=$(open_session bob "$TB")
expect "alice's initialize: 200 with a session id, notifications/initialized 202" \
    alice.init "m['status'] == 200 and m['session'] and m['notified'] == 202"
expect "bob's initialize: 200 with another session id, notifications/initialized 202" \
    bob.init "m['status'] == 200 and m['session'] and m['notified'] == 202 and m['session'] != '$SA'"

# Both calls at once.
rpc whoami.a "$TA" "$SA" "$(call 1 get_my_user_info)" &
w1=$!
rpc whoami.b "$TB" "$SB" "$(call 1 get_my_user_info)" &
w2=$!
wait "$w1" "$w2"
expect "alice's get_my_user_info answers alice" whoami.a \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'alice' and not m['json']['result'].get('isError')"
expect "bob's get_my_user_info answers bob" whoami.b \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'bob' and not m['json']['result'].get('isError')"

# Another user's session is as unknown as one that never was.
UNKNOWN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
rpc unknown "$TA" "$UNKNOWN" "$(call 2 echo '{"message":"x"}')"
expect "an unknown session id: 404" unknown "m['status'] == 404"
rpc cross.ab "$TA" "$SB" "$(call 2 get_my_user_info)"
rpc cross.ba "$TB" "$SA" "$(call 2 get_my_user_info)"
U404=$(jv "$T_DIR/unknown" body)
expect "alice's token on bob's session: 404 with the body of an unknown session" \
    cross.ab "m['status'] == 404 and m['body'] == '''$U404'''"
expect "bob's token on alice's session: 404 with the body of an unknown session" \
    cross.ba "m['status'] == 404 and m['body'] == '''$U404'''"
mc request "$MCP" -X GET --token="$TB" --session="$SA" \
    --accept text/event-stream > "$T_DIR/cross.get"
expect "bob's token: GET of alice's stream is 404" cross.get \
    "m['status'] == 404 and m['body'] == '''$U404'''"
mc request "$MCP" -X DELETE --token="$TB" --session="$SA" > "$T_DIR/cross.del"
expect "bob's token: DELETE of alice's session is 404" cross.del \
    "m['status'] == 404 and m['body'] == '''$U404'''"
rpc whoami.a2 "$TA" "$SA" "$(call 3 get_my_user_info)"
expect "alice's session still answers alice after bob's attempts" whoami.a2 \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'alice'"

# The children.
PA=$(child_of "$SA")
PB=$(child_of "$SB")
expect_sh "the log names a running child for each session" \
    "alice's child: '$PA', bob's: '$PB'" \
    sh -c "[ -n '$PA' ] && [ -n '$PB' ] && [ '$PA' != '$PB' ] && kill -0 $PA && kill -0 $PB"
FA=$(env_of "$PA" FORGEJO_ACCESS_TOKEN)
FB=$(env_of "$PB" FORGEJO_ACCESS_TOKEN)
expect_sh "each child has a Forgejo token of its own, not a broker token" \
    "lengths ${#FA} and ${#FB}" \
    sh -c "[ -n '$FA' ] && [ -n '$FB' ] && [ '$FA' != '$FB' ] && [ '$FA' != '$TA' ] && [ '$FB' != '$TB' ]"
# The token in alice's child is alice's at Forgejo, bob's is bob's.
for u in alice bob; do
	[ $u = alice ] && tok=$FA || tok=$FB
	login=$(curl -s -m 10 --noproxy '*' -H "Authorization: token $tok" \
	    "http://127.0.0.1:$FORGEJO_PORT/api/v1/user" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["login"])' 2>/dev/null)
	expect_sh "the Forgejo token in $u's child is $u's at Forgejo" \
	    "it is ${login:-nobody}'s" [ "$login" = $u ]
done

# No token in any command line: the whole process table, then the
# children's own argv.  Nothing of this test runs now but the shell.
ps -ww -eo args > "$T_DIR/ps.out"
leak=
for k in FA FB TA TB; do
	eval "v=\$$k"
	grep -q -F -e "$v" "$T_DIR/ps.out" && leak="$leak $k"
done
expect_sh "ps -eo args shows neither Forgejo nor broker token" \
    "found:$leak" [ -z "$leak" ]
for p in "$PA" "$PB"; do
	tr '\0' ' ' < "/proc/$p/cmdline" > "$T_DIR/cmdline.$p"
	leak=
	for k in FA FB TA TB; do
		eval "v=\$$k"
		grep -q -F -e "$v" "$T_DIR/cmdline.$p" && leak="$leak $k"
	done
	expect_sh "/proc/$p/cmdline (a child) holds no token" "found:$leak" \
	    [ -z "$leak" ]
done

uid=$(id -u "$TEST_USER")
for p in "$PA" "$PB"; do
	names=$(tr '\0' '\n' < "/proc/$p/environ" | sed 's/=.*//' | sort |
	    tr '\n' ' ')
	expect_sh "child $p: environment is exactly FORGEJO_ACCESS_TOKEN FORGEJO_URL HOME LANG PATH" \
	    "names: $names" \
	    [ "$names" = "FORGEJO_ACCESS_TOKEN FORGEJO_URL HOME LANG PATH " ]
	expect_sh "child $p: FORGEJO_URL is the forgejo url, LANG is C.UTF-8" \
	    "FORGEJO_URL=$(env_of "$p" FORGEJO_URL) LANG=$(env_of "$p" LANG)" \
	    sh -c "[ '$(env_of "$p" FORGEJO_URL)' = 'http://127.0.0.1:$FORGEJO_PORT' ] && [ '$(env_of "$p" LANG)' = C.UTF-8 ]"
	ids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status")
	expect_sh "child $p: runs as $TEST_USER (real, effective, saved uid $uid)" \
	    "Uid: $ids" [ "$ids" = "$uid $uid $uid $uid" ]
	pg=$(ps -o pgid= -p "$p" | tr -d ' ')
	expect_sh "child $p: leads its own process group" "pgid $pg" \
	    [ "$pg" = "$p" ]
	core=$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$p/limits")
	expect_sh "child $p: RLIMIT_CORE is 0 (soft and hard)" "limits: $core" \
	    [ "$core" = "0 0" ]
done

# --- transport details ------------------------------------------------------

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"regress","version":"0"}}}'
LIST='{"jsonrpc":"2.0","id":"abc","method":"tools/list"}'

rpc accept "$TA" "" "$INIT" --accept application/json
expect "POST with Accept: application/json only: 406" accept \
    "m['status'] == 406"
rpc accept2 "$TA" "$SA" "$LIST" --accept text/event-stream
expect "POST with Accept: text/event-stream only: 406" accept2 \
    "m['status'] == 406"
rpc ctype "$TA" "" "$INIT" --content-type text/plain
expect "POST with Content-Type: text/plain: 415" ctype "m['status'] == 415"
rpc parse "$TA" "$SA" '{"jsonrpc":"2.0","id":1,"method":'
expect "a body that is not JSON: 400 with JSON-RPC -32700 and id null" parse \
    "m['status'] == 400 and m['json']['error']['code'] == -32700 and m['json']['id'] is None"
rpc pver "$TA" "$SA" "$LIST" --version 1999-01-01
expect "MCP-Protocol-Version: 1999-01-01: 400" pver "m['status'] == 400"
rpc nosid "$TA" "" "$LIST"
expect "a request without Mcp-Session-Id: 400" nosid "m['status'] == 400"
rpc reinit "$TA" "$SA" "$INIT"
expect "a second initialize on a session (with its id): 400" reinit \
    "m['status'] == 400"
rpc notif "$TA" "$SA" '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}'
expect "a notification: 202 with an empty body" notif \
    "m['status'] == 202 and m['body'] == ''"
rpc strid "$TA" "$SA" "$LIST"
expect "a request with id \"abc\": 200 application/json with id \"abc\"" strid \
    "m['status'] == 200 and m['content_type'].startswith('application/json') and m['json']['id'] == 'abc' and any(t['name'] == 'get_my_user_info' for t in m['json']['result']['tools'])"
rpc bigid "$TA" "$SA" "$(call 9007199254740993 echo '{"message":"big"}')"
expect "a request with id 9007199254740993: 200 application/json with that id, exactly" bigid \
    "m['status'] == 200 and m['content_type'].startswith('application/json') and type(m['json']['id']) is int and m['json']['id'] == 9007199254740993 and m['json']['result']['content'][0]['text'] == 'big'"
rpc mixed "$TA" "$SA" "$(call -7 echo '{"message":"neg"}')"
expect "a request with id -7 gets id -7" mixed \
    "m['status'] == 200 and m['json']['id'] == -7"

# Notifications during a call, with no GET stream open: on the POST's
# own event stream, before the answer.
rpc notify "$TA" "$SA" '{"jsonrpc":"2.0","id":"n1","method":"tools/call","params":{"name":"notify_then_answer","arguments":{"message":"hi","count":2},"_meta":{"progressToken":"prog-1"}}}'
expect "notify_then_answer: 200 text/event-stream" notify \
    "m['status'] == 200 and m['content_type'].startswith('text/event-stream')"
expect "notify_then_answer: the notifications come first, the answer (id n1) last" notify \
    "len(m['events']) >= 3 and all(e['json'].get('method', '').startswith('notifications/') for e in m['events'][:-1]) and m['events'][-1]['json']['id'] == 'n1' and m['events'][-1]['json']['result']['content'][0]['text'] == 'notified 2 times'"
expect "notify_then_answer: both notifications/message and notifications/progress (token prog-1) arrive" notify \
    "sum(e['json'].get('method') == 'notifications/message' for e in m['events']) == 2 and sum(e['json'].get('method') == 'notifications/progress' and e['json']['params']['progressToken'] == 'prog-1' for e in m['events']) == 2"

# The GET stream.
: > "$T_DIR/get.events"
mc stream "$MCP" --token="$TA" --session="$SA" --version 2025-06-18 \
    --out "$T_DIR/get.events" --timeout 60 &
GETPID=$!
BG_PIDS="$BG_PIDS $GETPID"
track "$GETPID"
if mc wait "$T_DIR/get.events" "m == 'status 200'" --timeout 10 >/dev/null; then
	ok "GET /mcp opens the session's event stream (200)"
else
	not_ok "GET /mcp opens the session's event stream (200)"
	sed 's/^/#   /' "$T_DIR/get.events"
fi
mc request "$MCP" -X GET --token="$TA" --session="$SA" --version 2025-06-18 \
    --accept text/event-stream --timeout 5 > "$T_DIR/get2"
expect "a second GET on the session: 409" get2 "m['status'] == 409"

# A request of the server while the GET stream is open: it arrives on
# the GET stream, the client answers it with a POST.
rpc sampling "$TA" "$SA" "$(call '"s1"' ask_sampling '{"prompt":"relay"}')" \
    --timeout 30 &
SPID=$!
if mc wait "$T_DIR/get.events" \
    "isinstance(m, dict) and m.get('method') == 'sampling/createMessage'" \
    --timeout 10 > "$T_DIR/sampling.req"; then
	ok "ask_sampling: sampling/createMessage arrives on the GET stream"
else
	not_ok "ask_sampling: sampling/createMessage arrives on the GET stream"
	sed 's/^/#   /' "$T_DIR/get.events"
fi
SREQ_ID=$(jv "$T_DIR/sampling.req" id)
[ -n "$SREQ_ID" ] || SREQ_ID=null
case $SREQ_ID in
[0-9]*|-[0-9]*|null) ;;
*) SREQ_ID=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$SREQ_ID") ;;
esac
rpc sampling.answer "$TA" "$SA" "{\"jsonrpc\":\"2.0\",\"id\":$SREQ_ID,\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"sampled through the relay\"},\"model\":\"regress\"}}"
expect "the client's answer to sampling/createMessage (a POST): 202" \
    sampling.answer "m['status'] == 202"
wait "$SPID"
expect "ask_sampling completes with the text the client sent (application/json: the server's request was not on the POST)" sampling \
    "m['status'] == 200 and m['content_type'].startswith('application/json') and m['json']['id'] == 's1' and m['json']['result']['content'][0]['text'] == 'sampled through the relay' and not m['json']['result'].get('isError')"

# Answers out of order: a slow call, then a quick one, at once.
rpc slow "$TA" "$SA" "$(call '"slow"' sleep '{"ms":800}')" &
p1=$!
sleep 0.2
rpc fast "$TA" "$SA" "$(call '"fast"' echo '{"message":"quick"}')" &
p2=$!
wait "$p1" "$p2"
expect "sleep 800: its own answer (id slow)" slow \
    "m['status'] == 200 and m['json']['id'] == 'slow' and m['json']['result']['content'][0]['text'] == 'slept 800 ms'"
expect "echo sent during the sleep: its own answer (id fast)" fast \
    "m['status'] == 200 and m['json']['id'] == 'fast' and m['json']['result']['content'][0]['text'] == 'quick'"
ts=$(jv "$T_DIR/slow" t_end)
expect "the echo is answered before the sleep (out of order)" fast \
    "m['t_end'] < $ts and m['elapsed'] < 0.6"

kill "$GETPID" 2>/dev/null
wait "$GETPID" 2>/dev/null

# Batches: only on a session that negotiated 2025-03-26.
S25=$(open_session s25 "$TA" 2025-03-26)
expect "a 2025-03-26 session opens" s25.init \
    "m['status'] == 200 and m['json']['result']['protocolVersion'] == '2025-03-26'"
BATCH='[{"jsonrpc":"2.0","id":"b1","method":"tools/call","params":{"name":"echo","arguments":{"message":"one"}}},{"jsonrpc":"2.0","method":"notifications/roots/list_changed"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"two"}}}]'
rpc batch25 "$TA" "$S25" "$BATCH" --version 2025-03-26
expect "a batch on a 2025-03-26 session: 200 with the answer of each request" batch25 \
    "m['status'] == 200 and (sorted((a['id'] if isinstance(a['id'], str) else str(a['id']), a['result']['content'][0]['text']) for a in (m['json'] if m['json'] is not None else [e['json'] for e in m['events']])) == [('2', 'two'), ('b1', 'one')])"
rpc batch06 "$TA" "$SA" "$BATCH"
expect "a batch on a 2025-06-18 session: 400" batch06 "m['status'] == 400"

# Origin.
rpc origin.bad "$TA" "" "$INIT" --origin http://evil.example
expect "initialize with Origin: http://evil.example: 403" origin.bad \
    "m['status'] == 403"
rpc origin.bad2 "$TA" "$SA" "$LIST" --origin http://evil.example
expect "a request on a session with a foreign Origin: 403" origin.bad2 \
    "m['status'] == 403"
SO=$(open_session origin "$TA" 2025-06-18 --origin http://allowed.example)
expect "initialize with Origin: http://allowed.example (mcp allow origin): 200" \
    origin.init "m['status'] == 200 and m['session']"
rpc origin.ok "$TA" "$SO" "$(call 1 get_my_user_info)" \
    --origin http://allowed.example
expect "a call with the allowed Origin works" origin.ok \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'alice'"
rpc origin.pub "$TA" "$SO" "$(call 2 echo '{"message":"own"}')" --origin "$PUB"
expect "a call with the public url's own Origin works" origin.pub \
    "m['status'] == 200 and m['json']['result']['content'][0]['text'] == 'own'"

# CORS preflight: no credentials.
mc request "$MCP" -X OPTIONS --accept "" --origin http://allowed.example \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization, content-type, mcp-session-id' \
    > "$T_DIR/preflight"
expect "OPTIONS /mcp without credentials: 2xx" preflight \
    "200 <= m['status'] < 300"
expect "the preflight's Access-Control-Allow-Headers lists mcp-session-id" \
    preflight "'mcp-session-id' in [h.strip().lower() for h in m['headers'].get('access-control-allow-headers', '').split(',')]"
expect "the preflight's Access-Control-Expose-Headers lists mcp-session-id" \
    preflight "'mcp-session-id' in [h.strip().lower() for h in m['headers'].get('access-control-expose-headers', '').split(',')]"
expect "the answers of /mcp expose mcp-session-id (Access-Control-Expose-Headers)" \
    origin.ok "'mcp-session-id' in [h.strip().lower() for h in m['headers'].get('access-control-expose-headers', '').split(',')]"

check "brokerd is still running" kill -0 "$BROKERD_PID"
finish
