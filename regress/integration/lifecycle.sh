# The upstream token lifecycle (brokerd.8, TOKEN LIFECYCLE): refresh of
# the users' Forgejo tokens before they expire, replacement of the MCP
# servers, revocation.  The Forgejo double hands out access tokens that
# live 3 seconds, brokerd refreshes them 1 second before they expire
# (forgejo refresh margin 1: at most half their lifetime), so a refresh
# and a replacement of every child come every 2 or 3 seconds.
#
#   - One user, 100 tool calls one after the other over 20 seconds that
#     each need the child's token to be good at Forgejo: not one fails;
#     the log shows each refresh and each replacement, exactly one
#     refresh reaches the double per refresh logged, and the replaced
#     children exit.
#   - Four sessions of one grant (the same bearer token) call at once
#     across one expiry: one refresh reaches the double, all four
#     children are replaced, no call fails.
#   - /revoke of a broker refresh token: the grant's children are gone
#     within 1 s of the answer, the session is 404 for another login of
#     the same user, 401 for the revoked grant's token; the other grant
#     of that user goes on.
#   - The grant revoked at Forgejo: the next refresh is refused, the
#     child stops, the next request gets 401 with a WWW-Authenticate
#     challenge, and a new login through the whole OAuth flow works.
#
# After each fault brokerd is stopped and its database checked: PRAGMA
# integrity_check, and no live row holds a Forgejo token the double no
# longer accepts (regress/lifecycle_calls.py dbcheck).
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"
. "$TOP/regress/lifecycle_lib.sh"

REFRESHED="user alice: forgejo token refreshed, expires in [0-9]+ s"

# --- set-up ---------------------------------------------------------------

ensure_user || exit 1
PORT=$(free_port)
if ! lc_double --port 0 --access-lifetime 3; then
	not_ok "the Forgejo double starts (--access-lifetime 3)"
	sed 's/^/# /' "$T_DIR/double.err"
	done_testing
fi
CONF=$T_DIR/brokerd.conf
lc_config "$CONF" "" "forgejo refresh margin 1"
if ! start_brokerd "$CONF"; then
	not_ok "brokerd starts with forgejo refresh margin 1"
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

# --- 100 calls across several expiries ----------------------------------------

S1=$(open_session s1 "$TA")
expect "alice's session opens" s1.init \
    "m['status'] == 200 and m['session'] and m['notified'] == 202"
S1_8=$(printf '%.8s' "$S1")
L0=$(loglines)
R0=$(count "$REFRESHED")
double_stats stats.100.before
lcall loop "$MCP" --token="$TA" --session="$S1" --count 100 \
    --interval 0.2 --tool get_my_user_info --expect alice \
    > "$T_DIR/loop100"
# End the session first: its grant then has no live session, so no
# refresh can start between the double's count and the log's.  A refresh
# already in flight gets a moment to finish and be logged.
mc request "$MCP" -X DELETE --token="$TA" --session="$S1" --accept "" \
    > "$T_DIR/s1.delete"
expect "DELETE of the session: 2xx" s1.delete "200 <= m['status'] < 300"
sleep 1.5
double_stats stats.100.after
expect "100 sequential get_my_user_info calls across several expiries: every one answers alice (no isError, no JSON-RPC error, no HTTP error)" \
    loop100 "m['calls'] == 100 and m['kinds'] == {'ok': 100}"
expect "the 100 calls took at least 18 s (several 3-second token lifetimes)" \
    loop100 "m['t_last'] - m['t_first'] >= 18"
NR=$(($(count "$REFRESHED") - R0))
expect_sh "the log shows each refresh: more than 3 lines 'user alice: forgejo token refreshed, expires in N s' during the calls" \
    "$NR of them" [ "$NR" -gt 3 ]
log_since "$L0" > "$T_DIR/log.100"
NS=$(grep -a -c "spawnd: session $S1_8 of user alice: replaced child [0-9]* by [0-9]*" "$T_DIR/log.100")
expect_sh "the log shows each replacement: more than 3 lines 'spawnd: session $S1_8 of user alice: replaced child A by B'" \
    "$NS of them" [ "$NS" -gt 3 ]
NH=$(grep -a -c "session $S1_8 of user alice: child [0-9]* replaces child [0-9]*" "$T_DIR/log.100")
expect_sh "http took every replacement child ($NS spawnd, $NH http lines)" \
    "spawnd replaced $NS times, http names $NH replacements" [ "$NH" -eq "$NS" ]
RQ=$(($(stat_of stats.100.after "s['token_requests']['refresh_token']") - \
    $(stat_of stats.100.before "s['token_requests']['refresh_token']")))
RS=$(($(stat_of stats.100.after "s['refresh_successes']") - \
    $(stat_of stats.100.before "s['refresh_successes']")))
expect_sh "exactly one refresh reached the double per refresh logged ($NR), and each succeeded" \
    "refresh requests at the double: $RQ, successes: $RS, refreshes logged: $NR" \
    [ "$RQ" -eq "$NR" -a "$RS" -eq "$NR" ]
EQ=$(python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(sum(b["token_errors"].values()) - sum(a["token_errors"].values()))' \
    "$T_DIR/stats.100.before" "$T_DIR/stats.100.after")
expect_sh "the double answered no token request with an error during the calls" \
    "$EQ errors" [ "$EQ" -eq 0 ]
# The replaced children see the end of their input and exit, status 0.
OLD=$(sed -n "s/.*spawnd: session $S1_8 of user alice: replaced child \([0-9]*\) by .*/\1/p" "$T_DIR/log.100" | tr '\n' ' ')
gone_by "$(($(date +%s) + 3))" $OLD
LEFT=$(alive_of $OLD)
expect_sh "the $NS replaced children have exited (3 s after the last call)" \
    "still running: $LEFT" [ -n "$OLD" -a -z "$LEFT" ]
BAD=
for p in $OLD; do
	grep -a -q "retired child $p of user alice, session $S1_8, exited with status 0" \
	    "$BROKERD_LOG" || BAD="$BAD $p"
done
expect_sh "the log shows each replaced child exiting with status 0 ('retired child P of user alice, session $S1_8, exited with status 0')" \
    "no such line for:$BAD" [ -n "$OLD" -a -z "$BAD" ]

# --- four sessions of one grant across one expiry --------------------------------

S4=
for i in 1 2 3 4; do
	s=$(open_session "four$i" "$TA")
	S4="$S4 $s"
done
expect_sh "four sessions of alice's grant open (the same bearer token)" \
    "sessions:$S4" sh -c "[ \$(echo $S4 | tr ' ' '\n' | sort -u | grep -c .) -eq 4 ]"
# The window: from one refresh to the next (one expiry of the token the
# four children use), with the four sessions calling at once.
N=$(count "$REFRESHED")
if ! wait_count "$REFRESHED" $((N + 1)) 5; then
	not_ok "a refresh comes within 5 s (3-second tokens)"
fi
double_stats stats.4.before
LA=$(loglines)
SESSARGS=
for s in $S4; do SESSARGS="$SESSARGS --session=$s"; done
rm -f "$T_DIR/four.stop"
lcall loop "$MCP" --token="$TA" $SESSARGS --stop-file "$T_DIR/four.stop" \
    --interval 0.05 --tool get_my_user_info --expect alice \
    --out "$T_DIR/four.calls" > "$T_DIR/four.loop" &
LOOP=$!
BG_PIDS="$BG_PIDS $LOOP"
track "$LOOP"
if ! wait_count "$REFRESHED" $((N + 2)) 5; then
	not_ok "the next refresh comes within 5 s"
fi
T_K=$(now)
sleep 0.3
double_stats stats.4.after
LB=$(loglines)
sleep 0.5
touch "$T_DIR/four.stop"
wait "$LOOP"
NR=$(($(count "$REFRESHED") - N - 1))
RQ=$(($(stat_of stats.4.after "s['token_requests']['refresh_token']") - \
    $(stat_of stats.4.before "s['token_requests']['refresh_token']")))
RS=$(($(stat_of stats.4.after "s['refresh_successes']") - \
    $(stat_of stats.4.before "s['refresh_successes']")))
expect_sh "four sessions of one grant across one expiry: exactly one refresh request reached the double, and it succeeded" \
    "refresh requests: $RQ, successes: $RS (refreshes logged meanwhile: $NR)" \
    [ "$RQ" -eq 1 -a "$RS" -eq 1 ]
expect "four sessions calling at once across the expiry: every call answers alice" \
    four.loop "m['calls'] >= 40 and m['kinds'] == {'ok': m['calls']}"
expect "each of the four sessions made calls on both sides of the refresh" \
    four.loop "len(set(r['session'] for r in m['results'])) == 4 and all(any(r['t_end'] < $T_K - 0.3 for r in m['results'] if r['session'] == s) and any(r['t_start'] > $T_K + 0.1 for r in m['results'] if r['session'] == s) for s in set(r['session'] for r in m['results']))"
log_since "$LA" | head -n "$((LB - LA))" > "$T_DIR/log.four"
MISSING=
for s in $S4; do
	s8=$(printf '%.8s' "$s")
	grep -a -q "spawnd: session $s8 of user alice: replaced child" \
	    "$T_DIR/log.four" || MISSING="$MISSING $s8"
done
expect_sh "the refresh replaced the child of each of the four sessions" \
    "not replaced:$MISSING" [ -z "$MISSING" ]
TOKS=
for s in $S4; do
	p=$(child_of "$s")
	TOKS="$TOKS $(env_of "$p" FORGEJO_ACCESS_TOKEN | sha256sum | cut -c1-16)"
done
expect_sh "the four current children hold one and the same Forgejo token" \
    "token digests:$TOKS" sh -c "[ \$(echo $TOKS | tr ' ' '\n' | sort -u | grep -c .) -eq 1 ]"
for s in $S4; do
	mc request "$MCP" -X DELETE --token="$TA" --session="$s" --accept "" \
	    > /dev/null
done

# --- /revoke of a broker refresh token ---------------------------------------------

TB1=$(bearer bob) || TB1=
cp "$T_DIR/bearer.tok" "$T_DIR/b1.tok" 2>/dev/null
cp "$T_DIR/bearer.reg" "$T_DIR/b1.reg" 2>/dev/null
RT1=$(jv "$T_DIR/b1.tok" refresh_token)
CID1=$(jv "$T_DIR/b1.reg" client_id)
TB2=$(bearer bob) || TB2=
if [ -z "$TB1" ] || [ -z "$TB2" ] || [ -z "$RT1" ] || [ -z "$CID1" ]; then
	not_ok "bob logs in twice through the OAuth flow (two grants)"
	sed 's/^/#   /' "$T_DIR/bearer.err"
	lc_finish
fi
ok "bob logs in twice through the OAuth flow (two grants)"
SB1=$(open_session b1 "$TB1")
SB2=$(open_session b2 "$TB2")
rpc b1.call "$TB1" "$SB1" "$(call 1 get_my_user_info)"
rpc b2.call "$TB2" "$SB2" "$(call 1 get_my_user_info)"
expect "bob's first grant: a session whose call answers bob" b1.call \
    "$(whoami_ok bob)"
expect "bob's second grant: a session whose call answers bob" b2.call \
    "$(whoami_ok bob)"
KIDS=$(alive_of $(children_of "$SB1"))
curl -s -m 10 --noproxy '*' -o "$T_DIR/revoke.body" -w '%{http_code}' \
    --data-urlencode "token=$RT1" \
    --data-urlencode token_type_hint=refresh_token \
    --data-urlencode "client_id=$CID1" "$PUB/revoke" > "$T_DIR/revoke.status"
T_REV=$(now)
expect_sh "/revoke of the first grant's refresh token: 200" \
    "status $(cat "$T_DIR/revoke.status"): $(head -c 200 "$T_DIR/revoke.body")" \
    [ "$(cat "$T_DIR/revoke.status")" = 200 ]
KIDS="$KIDS $(alive_of $(children_of "$SB1"))"
if [ -n "$(echo $KIDS)" ] && gone_by "$(python3 -c "print($T_REV + 1.0)")" $KIDS; then
	ok "/revoke: the grant's children ($(echo $KIDS)) are gone within 1 s of the answer"
else
	not_ok "/revoke: the grant's children are gone within 1 s of the answer"
	echo "#   children: '$(echo $KIDS)'; alive 1 s after the answer: $(alive_of $KIDS)"
fi
rpc b1.other "$TB2" "$SB1" "$(call 2 get_my_user_info)"
expect "/revoke: the revoked grant's session is 404 for bob's other login" \
    b1.other "m['status'] == 404"
rpc b1.revoked "$TB1" "$SB1" "$(call 3 get_my_user_info)"
expect "/revoke: the revoked grant's access token gets 401 with a WWW-Authenticate challenge" \
    b1.revoked "m['status'] == 401 and m['headers'].get('www-authenticate', '').startswith('Bearer ')"
rpc b2.after "$TB2" "$SB2" "$(call 4 get_my_user_info)"
expect "/revoke: bob's other grant goes on (its call answers bob)" b2.after \
    "$(whoami_ok bob)"
P=$(child_of "$SB2")
expect_sh "/revoke: the other grant's child ($P) runs" "it is gone" alive "$P"

db_check "after /revoke"
if ! start_brokerd "$CONF"; then
	not_ok "brokerd starts again"
	lc_finish
fi

# --- the grant revoked at Forgejo ---------------------------------------------------------

SR=$(open_session r "$TA")
rpc r.call "$TA" "$SR" "$(call 1 get_my_user_info)"
expect "after the restart, alice's grant gets a session whose call answers alice" \
    r.call "$(whoami_ok alice)"
SO=$(open_session o "$TB2")
REFUSED="user alice: forgejo refused to refresh the grant \((invalid_grant|unauthorized_client)\); its tokens are revoked"
N=$(count "$REFUSED")
KIDS=$(alive_of $(children_of "$SR"))
st=$(double_post "/_double/revoke-grant?user=alice&client_id=regress-client")
expect_sh "the double revokes alice's grant of brokerd's application" \
    "status $st: $(cat "$T_DIR/double.ctl")" [ "$st" = 200 ]
if wait_count "$REFUSED" $((N + 1)) 5; then
	ok "the next refresh is refused, logged as 'user alice: forgejo refused to refresh the grant (...); its tokens are revoked'"
else
	not_ok "the next refresh is refused within 5 s, and logged"
	grep -a "alice" "$BROKERD_LOG" | tail -n 5 | sed 's/^/#   /'
fi
T_REF=$(now)
KIDS="$KIDS $(alive_of $(children_of "$SR"))"
if [ -n "$(echo $KIDS)" ] && gone_by "$(python3 -c "print($T_REF + 2.0)")" $KIDS; then
	ok "the children of the revoked grant ($(echo $KIDS)) are gone (within 2 s: SIGTERM, SIGKILL a second later)"
else
	not_ok "the children of the revoked grant are gone within 2 s"
	echo "#   children: '$(echo $KIDS)'; alive: $(alive_of $KIDS)"
fi
rpc r.after "$TA" "$SR" "$(call 2 get_my_user_info)"
expect "the next request on the session gets 401 with a WWW-Authenticate challenge" \
    r.after "m['status'] == 401 and m['headers'].get('www-authenticate', '').startswith('Bearer ') and 'resource_metadata=' in m['headers']['www-authenticate']"
mc init "$MCP" --token="$TA" > "$T_DIR/r.init2"
expect "a new initialize with the old token gets 401 too" r.init2 \
    "m['status'] == 401"
rpc o.after "$TB2" "$SO" "$(call 2 get_my_user_info)"
expect "bob's session is untouched (its call answers bob)" o.after \
    "$(whoami_ok bob)"
TN=$(bearer alice) || TN=
if [ -n "$TN" ] && [ "$TN" != "$TA" ]; then
	ok "alice logs in again through the whole OAuth flow"
	SN=$(open_session n "$TN")
	rpc n.call "$TN" "$SN" "$(call 1 get_my_user_info)"
	expect "the new login's session works (its call answers alice)" n.call \
	    "$(whoami_ok alice)"
	lcall loop "$MCP" --token="$TN" --session="$SN" --duration 4 \
	    --interval 0.2 --tool get_my_user_info --expect alice \
	    > "$T_DIR/n.loop"
	expect "the new login's session goes on across the next expiry (4 s of calls, all answer alice)" \
	    n.loop "m['calls'] >= 10 and m['kinds'] == {'ok': m['calls']}"
else
	not_ok "alice logs in again through the whole OAuth flow"
	sed 's/^/#   /' "$T_DIR/bearer.err"
fi

db_check "after the grant was revoked at Forgejo"
lc_finish
