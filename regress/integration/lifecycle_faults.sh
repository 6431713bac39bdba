# Faults of the upstream token lifecycle (brokerd.8, TOKEN LIFECYCLE:
# "Forgejo unreachable", "Crash loops").
#
#   - Forgejo goes away while a session's token is still valid (the
#     double's access tokens live 6 seconds, forgejo refresh margin 3):
#     the refresh fails and is retried; calls go on while the token is
#     valid; once it has expired they get 503 with Retry-After, and so
#     does a new session; the double is then stopped and started again
#     on the same port with its state (--state); the calls recover
#     without a new login, on the same session.
#   - An MCP command that exits at start: initialize attempts for 10
#     seconds each get a JSON-RPC error quoting the child's last stderr
#     line; three failures put the user in a 10 s backoff (no more than
#     a handful of spawns), the next failure doubles it.
#
# After each fault brokerd is stopped and its database checked: PRAGMA
# integrity_check, and no live row holds a Forgejo token the double no
# longer accepts (regress/lifecycle_calls.py dbcheck).
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"
. "$TOP/regress/lifecycle_lib.sh"

REFRESHED="user alice: forgejo token refreshed, expires in [0-9]+ s"
FAILED="user alice: cannot refresh the forgejo token \(.*\), next attempt in [0-9]+ s"
STALE="user alice: forgejo token of grant [^ ]+ expired and cannot be renewed now, sessions answer 503"
STATE=$T_DIR/double.state

# --- set-up ---------------------------------------------------------------

ensure_user || exit 1
PORT=$(free_port)
if ! lc_double --port "$(free_port)" --access-lifetime 6 --state "$STATE"; then
	not_ok "the Forgejo double starts (--access-lifetime 6 --state)"
	sed 's/^/# /' "$T_DIR/double.err"
	done_testing
fi
CONF=$T_DIR/brokerd.conf
lc_config "$CONF" "" "forgejo refresh margin 3"
if ! start_brokerd "$CONF"; then
	not_ok "brokerd starts with forgejo refresh margin 3"
	sed 's/^/# /' "$BROKERD_LOG"
	lc_finish
fi
PUB="http://127.0.0.1:$PORT"
MCP=$PUB/mcp

TA=$(bearer alice) || TA=
if [ -z "$TA" ]; then
	not_ok "alice gets a broker access token through the OAuth flow"
	sed 's/^/#   /' "$T_DIR/bearer.err"
	lc_finish
fi
ok "alice gets a broker access token through the OAuth flow"

# --- Forgejo unreachable during a refresh ---------------------------------------

SD=$(open_session down "$TA")
SD8=$(printf '%.8s' "$SD")
rpc d.first "$TA" "$SD" "$(call 1 get_my_user_info)"
expect "alice's session works (get_my_user_info answers alice)" d.first \
    "$(whoami_ok alice)"
st=$(double_post "/_double/mode?mode=down")
expect_sh "the double goes down (mode=down: every request dropped)" \
    "status $st" [ "$st" = 200 ]
sleep 0.3
P=$(child_of "$SD")
E=$(lcall jwt "$(env_of "$P" FORGEJO_ACCESS_TOKEN)" exp) || E=
if [ -z "$E" ] || ! before "$(now) + 2" "$E"; then
	not_ok "the session's child holds a Forgejo token valid 2 s more (exp ${E:-unknown})"
	lc_finish
fi
ok "the session's child holds a Forgejo token valid $(python3 -c "print(round($E - $(now), 1))") s more"
F0=$(count "$FAILED")
rm -f "$T_DIR/d.stop"
: > "$T_DIR/d.calls"
lcall loop "$MCP" --token="$TA" --session="$SD" --stop-file "$T_DIR/d.stop" \
    --interval 0.2 --tool echo --args '{"message":"up"}' --expect up \
    --timeout 15 --out "$T_DIR/d.calls" > "$T_DIR/d.loop" &
LOOP=$!
BG_PIDS="$BG_PIDS $LOOP"
track "$LOOP"
if wait_count "$FAILED" $((F0 + 1)) 8; then
	T_F=$(now)
	expect_sh "a refresh attempt fails while the token is still valid (logged 'cannot refresh the forgejo token (...), next attempt in N s')" \
	    "first failure logged at $T_F, the token expires at $E" before "$T_F" "$E"
else
	not_ok "a refresh attempt fails, and is logged, while the token is still valid"
fi
if mc wait "$T_DIR/d.calls" "m['status'] == 503" --timeout 8 > "$T_DIR/d.first503"; then
	T_503=$(now)
	ok "once the token has expired, a call gets 503"
else
	T_503=$(now)
	not_ok "once the token has expired, a call gets 503 (within 8 s)"
	tail -n 3 "$T_DIR/d.calls" | sed 's/^/#   /'
fi
# brokerd keeps expiry times in whole seconds, counted from when
# Forgejo's answer arrived: it may call a token expired up to a second
# before the token's own exp.  Never earlier.
expect "the first 503 comes at the token's expiry, give or take brokerd's one-second clock ($E)" d.first503 \
    "m['t_end'] >= $E - 1"
expect "the 503 carries Retry-After: the seconds until the next attempt (1 to 60)" \
    d.first503 "m['retry_after'] is not None and m['retry_after'].strip().isdigit() and 1 <= int(m['retry_after']) <= 60"
expect_sh "the log says the session answers 503 ('forgejo token of grant ... expired and cannot be renewed now, sessions answer 503')" \
    "no such line" grep -a -q -E "$STALE" "$BROKERD_LOG"
mc init "$MCP" --token="$TA" > "$T_DIR/d.init2"
expect "a session that opens meanwhile is refused with 503" d.init2 \
    "m['status'] == 503"

# Forgejo stopped for good, then started again on its port with its
# state.
kill "$DOUBLE_PID"
wait "$DOUBLE_PID" 2>/dev/null
T_STOP=$(now)
sleep 1.5
OLDPORT=$FORGEJO_PORT
if lc_double --port "$FORGEJO_PORT" --access-lifetime 6 --state "$STATE" &&
    [ "$FORGEJO_PORT" = "$OLDPORT" ]; then
	ok "the double is stopped, then started again on port $OLDPORT with its state"
else
	not_ok "the double starts again on port $OLDPORT with its state"
	sed 's/^/# /' "$T_DIR/double.err"
fi
T_BACK=$(now)
rec=
i=0
while [ "$i" -lt 80 ]; do
	rpc d.rec "$TA" "$SD" "$(call "$((100 + i))" get_my_user_info)"
	if python3 "$MC" test "$T_DIR/d.rec" "$(whoami_ok alice)"; then
		rec=1
		break
	fi
	sleep 0.25
	i=$((i + 1))
done
T_REC=$(now)
if [ -n "$rec" ]; then
	ok "Forgejo back: get_my_user_info answers alice again, same bearer token, same session, no new login ($(python3 -c "print(round($T_REC - $T_BACK, 1))") s after the double's return)"
else
	not_ok "Forgejo back: get_my_user_info answers alice again within 20 s, without a new login"
	head -c 500 "$T_DIR/d.rec" | sed 's/^/#   got: /'
	echo
fi
sleep 1
touch "$T_DIR/d.stop"
wait "$LOOP"
python3 -c 'import json, sys
print(json.dumps([json.loads(l) for l in open(sys.argv[1]) if l.strip()]))' \
    "$T_DIR/d.calls" > "$T_DIR/d.all"
expect "while the token was valid (until 1 s before its expiry), every call was relayed and answered" \
    d.all "len([r for r in m if r['t_end'] < $E - 1]) >= 5 and all(r['kind'] == 'ok' for r in m if r['t_end'] < $E - 1)"
expect "throughout, every call was answered or got 503 with Retry-After: never 401, 404, a JSON-RPC error or a dropped connection" \
    d.all "all(r['kind'] == 'ok' or (r['status'] == 503 and (r['retry_after'] or '').strip().isdigit()) for r in m)"
expect "from the first 503 until the double was back, every call got 503" \
    d.all "len([r for r in m if $T_503 <= r['t_start'] and r['t_end'] <= $T_BACK]) >= 5 and all(r['status'] == 503 for r in m if $T_503 <= r['t_start'] and r['t_end'] <= $T_BACK)"
expect "after the recovery, the calls are answered again" \
    d.all "len([r for r in m if r['t_start'] > $T_REC]) >= 2 and all(r['kind'] == 'ok' for r in m if r['t_start'] > $T_REC)"
expect_sh "the recovery is a refresh ('forgejo token refreshed') and a replacement of the session's child" \
    "refreshed: $(count "$REFRESHED"), replaced: $(count "session $SD8 of user alice: replaced child")" \
    sh -c "[ $(count "$REFRESHED") -ge 1 ] && [ $(count "session $SD8 of user alice: replaced child") -ge 1 ]"

db_check "after Forgejo was unreachable"

# --- an MCP server that exits at start ------------------------------------------------

lc_config "$CONF" 'mcp command "/bin/sh" "-c" "echo boom-startup-failure >&2; exit 1"' \
    "forgejo refresh margin 3"
if ! start_brokerd "$CONF"; then
	not_ok "brokerd starts with an mcp command that exits at start"
	sed 's/^/# /' "$BROKERD_LOG"
	lc_finish
fi
STARTED="spawnd: started child [0-9]+ for user alice"
T_END=$(python3 -c "print($(now) + 10)")
i=0
while before "$(now)" "$T_END"; do
	mc init "$MCP" --token="$TA" > "$T_DIR/crash.$i"
	i=$((i + 1))
	sleep 0.3
done
NSPAWN=$(count "$STARTED")
# One line per attempt: status, Retry-After, session id, the error.
python3 -c 'import json, sys
out = []
for f in sys.argv[1:]:
    a = json.load(open(f))
    j = a["json"] if isinstance(a["json"], dict) else {}
    out.append({"status": a["status"], "session": a["session"],
                "retry_after": a["headers"].get("retry-after"),
                "result": "result" in j,
                "message": (j.get("error") or {}).get("message")})
print(json.dumps(out))' \
    $(j=0; while [ "$j" -lt "$i" ]; do echo "$T_DIR/crash.$j"; j=$((j + 1)); done) \
    > "$T_DIR/crash.all"
expect "initialize attempts for 10 s ($i): each gets a JSON-RPC error quoting the child's stderr (boom-startup-failure)" \
    crash.all "len(m) >= 10 and all(not a['result'] and 'boom-startup-failure' in (a['message'] or '') for a in m)"
expect_sh "no more than 6 children started in those 10 s (log: 'started child')" \
    "$NSPAWN started" [ "$NSPAWN" -ge 3 -a "$NSPAWN" -le 6 ]
expect_sh "the log says: 'user alice: the MCP server failed 3 times in a row within 5 s of its start, no new session for 10 s'" \
    "no such line" grep -a -q "user alice: the MCP server failed 3 times in a row within 5 s of its start, no new session for 10 s" "$BROKERD_LOG"
expect "the session whose child failed for the third time, and the ones after it, get 503 'the MCP server keeps exiting at start: boom-startup-failure'" \
    crash.all "len(m) >= 4 and all(a['status'] == 503 and 'the MCP server keeps exiting at start: boom-startup-failure' in (a['message'] or '') for a in m[2:])"
# The backoff ends after 10 s; the next failure doubles it.
j=0
while [ "$j" -lt 12 ] && ! grep -a -q "no new session for 20 s" "$BROKERD_LOG"; do
	mc init "$MCP" --token="$TA" > "$T_DIR/crash.more"
	sleep 0.5
	j=$((j + 1))
done
expect_sh "after the 10 s, one more child fails and the backoff doubles ('failed 4 times in a row ..., no new session for 20 s')" \
    "no such line; started: $(count "$STARTED")" \
    grep -a -q "user alice: the MCP server failed 4 times in a row within 5 s of its start, no new session for 20 s" "$BROKERD_LOG"
LEFT=$(pgrep -f "^/bin/sh -c echo boom-startup-failure" | tr '\n' ' ')
expect_sh "none of the failed children is left" "running: $LEFT" [ -z "$LEFT" ]

db_check "after the crash loop"
lc_finish
