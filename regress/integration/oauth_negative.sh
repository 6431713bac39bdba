# Misuse of the OAuth 2.1 authorization server, one check per misuse,
# each on the exact HTTP status and OAuth error: PKCE missing or plain, a
# wrong verifier, redirect URIs that differ, unknown clients, code replay,
# a code presented by another client, refresh-token reuse after the grace
# window, revoked tokens, a token in the query string, the wrong resource,
# consent without (or with a wrong) CSRF token, consent posted from
# another browser than the one it was shown to or posted twice, callback
# state replay, bad registrations and the registration rate limit, and
# Forgejo going down in the middle of a login.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/oauth_lib.sh"

# --- set-up -----------------------------------------------------------------

# authz CLIENT REDIRECT [CURL-ARGS...]: GET /authorize with response_type,
# client_id, redirect_uri and state, plus the parameters given.
authz() {
	_c=$1 _r=$2
	shift 2
	req GET "$PUB/authorize" -G --data-urlencode response_type=code \
	    --data-urlencode "client_id=$_c" --data-urlencode "redirect_uri=$_r" \
	    --data-urlencode "state=$STATE" "$@"
}

# redirect_error CODE: the last answer is a redirect to the client's
# redirect URI with error=CODE, the state and iss.
redirect_error() {
	{ [ "$st" = 302 ] || [ "$st" = 303 ]; } || return 1
	_loc=$(hdr Location) || return 1
	case $_loc in "$CB?"*) ;; *) return 1 ;; esac
	[ "$(br qparam "$_loc" error)" = "$1" ] &&
	    [ "$(br qparam "$_loc" state)" = "$STATE" ] &&
	    [ "$(br qparam "$_loc" iss)" = "$PUB" ]
}

no_location() { ! hdr Location >/dev/null; }

# pub_client FILE NAME: register a public client; prints its id.
pub_client() {
	register "$1" "{\"client_name\":\"$2\",\"redirect_uris\":[\"$CB\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"none\"}"
	jf client_id "$1"
}

# tokens_for CLIENT FLOW-FILE VERIFIER [RESOURCE]: run a flow and exchange
# its code; sets AT and RT ("" when something failed).
tokens_for() {
	_c=$1 _f=$2 _v=$3 _r=${4:-$PUB/mcp}
	flow "$_f" "$_c" "$_v" "$STATE" --resource "$_r"
	token_code "$_c" "" "$(jf params.code "$_f")" "$_v" "$CB" "$_r"
	AT=$(jf access_token)
	RT=$(jf refresh_token)
	remember access-token "$AT"
	remember refresh-token "$RT"
	if [ "$st" != 200 ] || [ -z "$AT" ]; then
		echo "# set-up: no tokens from $(basename "$_f"): /token $st"
		flow_summary "$_f"
	fi
}

# --- set-up -----------------------------------------------------------------

oauth_start "token refresh grace 2"
CB_PORT=$(free_port)
CB="http://127.0.0.1:$CB_PORT/callback"		# nothing listens there
STATE="st-$(br verifier | cut -c1-24)"
remember forgejo-client-secret regress-client-secret
DOUBLE="http://127.0.0.1:$FORGEJO_PORT"

CID_A=$(pub_client "$T_DIR/reg.a" "Regress Client A")
CID_B=$(pub_client "$T_DIR/reg.b" "Regress Client B")
CID_C=$(pub_client "$T_DIR/reg.c" "Regress Client C")
register "$T_DIR/reg.d" "{\"client_name\":\"Regress Client D\",\"redirect_uris\":[\"$CB\"],\"token_endpoint_auth_method\":\"client_secret_post\"}"
CID_D=$(jf client_id "$T_DIR/reg.d")
SEC_D=$(jf client_secret "$T_DIR/reg.d")
remember client-secret "$SEC_D"
expect "four clients registered" \
    '[ -n "$CID_A" ] && [ -n "$CID_B" ] && [ -n "$CID_C" ] &&
     [ -n "$CID_D" ] && [ -n "$SEC_D" ]'

CH=$(br pkce "$(br verifier)")

# --- refresh rotation first: its grace window runs out meanwhile ----------

VR=$(br verifier)
tokens_for "$CID_A" "$T_DIR/flow.refresh" "$VR"
RT_OLD=$RT
token_refresh "$CID_A" "" "$RT_OLD"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "set-up: a refresh token rotated (grace window 2 s)" \
    '[ -n "$RT_OLD" ] && [ "$st" = 200 ]'
ROTATED_AT=$(date +%s)

# --- /authorize ------------------------------------------------------------------

authz "$CID_A" "$CB" --data-urlencode "resource=$PUB/mcp"
expect "/authorize without code_challenge: redirect with error=invalid_request, state, iss" \
    'redirect_error invalid_request'
authz "$CID_A" "$CB" --data-urlencode "code_challenge=$CH" \
    --data-urlencode code_challenge_method=plain
expect "/authorize with code_challenge_method=plain: redirect with error=invalid_request" \
    'redirect_error invalid_request'
authz "$CID_A" "$CB" --data-urlencode "code_challenge=$CH"
expect "/authorize with a challenge but no method (plain by default): error=invalid_request" \
    'redirect_error invalid_request'
authz "$CID_A" "$CB" --data-urlencode "code_challenge=$CH" \
    --data-urlencode code_challenge_method=S256 \
    --data-urlencode "resource=http://127.0.0.1:1/other"
expect "/authorize with resource=http://127.0.0.1:1/other: redirect with error=invalid_target" \
    'redirect_error invalid_target'

for bad in "http://127.0.0.1:$CB_PORT/other:path" \
    "http://127.0.0.2:$CB_PORT/callback:host" \
    "$CB?x=1:query"; do
	uri=${bad%:*}
	how=${bad##*:}
	authz "$CID_A" "$uri" --data-urlencode "code_challenge=$CH" \
	    --data-urlencode code_challenge_method=S256
	expect "/authorize with a redirect URI differing by $how: 400 page, no Location" \
	    '[ "$st" = 400 ] && no_location'
done
authz "unknown-client-$(br verifier | cut -c1-16)" "$CB" \
    --data-urlencode "code_challenge=$CH" --data-urlencode code_challenge_method=S256
expect "/authorize with an unregistered client_id: 400 page, no Location" \
    '[ "$st" = 400 ] && no_location'
req GET "$PUB/authorize" -G --data-urlencode response_type=token \
    --data-urlencode "client_id=$CID_A" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "state=$STATE" --data-urlencode "code_challenge=$CH" \
    --data-urlencode code_challenge_method=S256
expect "/authorize with response_type=token: redirect with error=unsupported_response_type" \
    'redirect_error unsupported_response_type'

# --- the consent form --------------------------------------------------------------

V=$(br verifier)
flow "$T_DIR/flow.nocsrf" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" --csrf omit
F=$T_DIR/flow.nocsrf
expect "consent POST without the CSRF token: 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ]'
flow "$T_DIR/flow.badcsrf" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" --csrf wrong
F=$T_DIR/flow.badcsrf
expect "consent POST with a wrong CSRF token: 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ]'
register "$T_DIR/reg.xss" "{\"client_name\":\"<script>alert(1)</script><b>bold\",\"redirect_uris\":[\"$CB\"],\"token_endpoint_auth_method\":\"none\"}"
CID_X=$(jf client_id "$T_DIR/reg.xss")
flow "$T_DIR/flow.xss" "$CID_X" "$V" "$STATE" --resource "$PUB/mcp" \
    --stop-before-callback
jf consent_page.body "$T_DIR/flow.xss" > "$T_DIR/xss.html"
expect "consent page: a client_name with markup is shown escaped, not as markup" \
    '[ -n "$CID_X" ] && grep -qF "&lt;script&gt;" "$T_DIR/xss.html" &&
     ! grep -qiF "<script>alert" "$T_DIR/xss.html" && ! grep -qF "<b>bold" "$T_DIR/xss.html"'
flow "$T_DIR/flow.xorigin" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-header "Origin: http://evil.example" --post-header "Sec-Fetch-Site:"
F=$T_DIR/flow.xorigin
expect "consent POST from another origin (Origin: http://evil.example): 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ]'
flow "$T_DIR/flow.xsite" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-header "Origin: null" --post-header "Sec-Fetch-Site: cross-site"
F=$T_DIR/flow.xsite
expect "consent POST from another site (Sec-Fetch-Site: cross-site): 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ]'
flow "$T_DIR/flow.deny" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" --deny
F=$T_DIR/flow.deny
expect "consent denied: 303 to the redirect URI with error=access_denied, state, iss" \
    '[ "$(jf consent_post.status "$F")" = 303 ] && [ "$(jf ok "$F")" = true ] &&
     [ "$(jf params.error "$F")" = access_denied ] &&
     [ "$(jf params.state "$F")" = "$STATE" ] &&
     [ "$(jf params.iss "$F")" = "$PUB" ] && ! jf params.code "$F"'

# The consent form is bound to the browser that fetched it (a cookie
# whose nonce the CSRF token carries) and is good once.

# consent_cookie_ok FLOW-FILE: the consent page set the cookie, with
# the attributes of a loopback http public url, and its nonce is the
# one in the form's CSRF token.
consent_cookie_ok() {
	python3 - "$1" <<'PY'
import html, json, re, sys
d = json.load(open(sys.argv[1]))
page = d["consent_page"]
sc = page["headers"].get("set-cookie", [])
if len(sc) != 1:
    sys.exit("%d Set-Cookie fields" % len(sc))
m = re.fullmatch(r"brokerd_consent=([A-Za-z0-9_-]{22}); Path=/authorize; "
                 r"Max-Age=600; HttpOnly; SameSite=Strict", sc[0])
if not m:
    sys.exit("Set-Cookie: " + sc[0])
t = re.search(r'name="csrf_token" value="([^"]*)"', page["body"])
if not t:
    sys.exit("no csrf_token in the form")
parts = html.unescape(t.group(1)).split(".")
if len(parts) != 3 or parts[1] != m.group(1):
    sys.exit("the token does not carry the cookie's nonce")
PY
}

V=$(br verifier)
flow "$T_DIR/flow.cookie" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --stop-before-callback
F=$T_DIR/flow.cookie
expect "consent page: sets brokerd_consent (Path=/authorize, Max-Age=600, HttpOnly, SameSite=Strict), the nonce of its CSRF token" \
    'consent_cookie_ok "$F" 2> "$T_DIR/why"'

rm -f "$T_DIR/jar.fresh"
flow "$T_DIR/flow.otherbrowser" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-jar "$T_DIR/jar.fresh" --post-header "Origin:" \
    --post-header "Sec-Fetch-Site:"
F=$T_DIR/flow.otherbrowser
expect "consent form posted from another browser without Origin and Sec-Fetch-Site (old browser, no cookie): 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ] &&
     [ "$(jf ok "$F")" = false ] &&
     jf last.body "$F" | grep -q "Consent form expired"'
rm -f "$T_DIR/jar.fresh"
flow "$T_DIR/flow.othernull" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-jar "$T_DIR/jar.fresh" --post-header "Origin: null" \
    --post-header "Sec-Fetch-Site:"
F=$T_DIR/flow.othernull
expect "consent form posted from another browser with Origin: null (no cookie): 403, no redirect" \
    '[ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ] && [ "$(jf ok "$F")" = false ]'

# The victim has a consent page of its own open: its cookie is another
# nonce than the one in the attacker's form.
VICTIM_URL=$(python3 -c '
import sys
from urllib.parse import urlencode
pub, cid, cb, ch, state = sys.argv[1:]
print(pub + "/authorize?" + urlencode([("response_type", "code"),
    ("client_id", cid), ("redirect_uri", cb), ("code_challenge", ch),
    ("code_challenge_method", "S256"), ("state", state),
    ("resource", pub + "/mcp")]))' "$PUB" "$CID_B" "$CB" "$CH" "$STATE")
rm -f "$T_DIR/jar.victim"
br get "$VICTIM_URL" --jar "$T_DIR/jar.victim" > "$T_DIR/victim.page"
flow "$T_DIR/flow.victim" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-jar "$T_DIR/jar.victim" --post-header "Origin:" \
    --post-header "Sec-Fetch-Site:"
F=$T_DIR/flow.victim
expect "consent form posted from a browser with a consent cookie of its own: 403, no redirect" \
    '[ "$(jf status "$T_DIR/victim.page")" = 200 ] &&
     grep -q brokerd_consent "$T_DIR/jar.victim" &&
     [ "$(jf consent_post.status "$F")" = 403 ] &&
     [ "$(jf consent_post.location "$F")" = null ] && [ "$(jf ok "$F")" = false ]'

V=$(br verifier)
flow "$T_DIR/flow.oldbrowser" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-header "Origin:" --post-header "Sec-Fetch-Site:"
F=$T_DIR/flow.oldbrowser
expect "control: the browser that fetched the form posts it without Origin and Sec-Fetch-Site: the flow ends at the client with a code" \
    '[ "$(jf consent_post.status "$F")" = 303 ] && [ "$(jf ok "$F")" = true ] &&
     jf params.code "$F" >/dev/null'

V=$(br verifier)
flow "$T_DIR/flow.posttwice" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --post-twice
F=$T_DIR/flow.posttwice
expect "consent form posted twice: the first is answered 303, the second 403 without a redirect" \
    '[ "$(jf consent_post.status "$F")" = 303 ] &&
     [ "$(jf consent_repost.status "$F")" = 403 ] &&
     [ "$(jf consent_repost.location "$F")" = null ] &&
     jf consent_repost.body "$F" | grep -q "already given"'
expect "consent form posted twice: the first post still ends at the client with a code" \
    '[ "$(jf ok "$F")" = true ] && jf params.code "$F" >/dev/null'
V=$(br verifier)
flow "$T_DIR/flow.denytwice" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --deny --post-twice
F=$T_DIR/flow.denytwice
expect "a denied consent form posted again: 403" \
    '[ "$(jf consent_post.status "$F")" = 303 ] &&
     [ "$(jf consent_repost.status "$F")" = 403 ]'

# --- /callback ----------------------------------------------------------------------

V=$(br verifier)
flow "$T_DIR/flow.replay" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp" \
    --stop-before-callback
CALLBACK=$(jf callback_url "$T_DIR/flow.replay")
br get "$CALLBACK" --jar "$T_DIR/jar.$CID_A" > "$T_DIR/cb1"
remember code "$(br qparam "$(jf location "$T_DIR/cb1")" code 2>/dev/null)"
expect "set-up: the callback answers 303 to the client with a code" \
    '[ "$(jf status "$T_DIR/cb1")" = 303 ] &&
     br qparam "$(jf location "$T_DIR/cb1")" code'
br get "$CALLBACK" --jar "$T_DIR/jar.$CID_A" > "$T_DIR/cb2"
expect "a replayed upstream state at /callback: 400 page, no redirect to the client" \
    '[ "$(jf status "$T_DIR/cb2")" = 400 ] &&
     [ "$(jf location "$T_DIR/cb2")" = null ]'
br get "$PUB/callback?code=gta_$(br verifier | cut -c1-30)&state=$(br verifier)" \
    --jar "$T_DIR/jar.$CID_A" > "$T_DIR/cb3"
expect "/callback with an unknown state: 400 page, no redirect to the client" \
    '[ "$(jf status "$T_DIR/cb3")" = 400 ] &&
     [ "$(jf location "$T_DIR/cb3")" = null ]'

# --- /token ---------------------------------------------------------------------------

req POST "$PUB/token" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$(br verifier)" \
    --data-urlencode "code_verifier=$(br verifier)" \
    --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "client_id=unknown-client-$(br verifier | cut -c1-16)"
expect "/token with an unregistered client_id: 401 invalid_client" \
    '[ "$st" = 401 ] && has_error invalid_client'

V=$(br verifier)
flow "$T_DIR/flow.secret" "$CID_D" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_D" "wrong-$SEC_D" "$(jf params.code "$T_DIR/flow.secret")" "$V" "$CB"
expect "/token for a client_secret_post client with a wrong secret: 401 invalid_client" \
    '[ "$st" = 401 ] && has_error invalid_client'

V=$(br verifier)
flow "$T_DIR/flow.verifier" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_A" "" "$(jf params.code "$T_DIR/flow.verifier")" "$(br verifier)" "$CB"
expect "/token with a wrong PKCE verifier: 400 invalid_grant" \
    '[ "$st" = 400 ] && has_error invalid_grant'
expect "/token errors are JSON with Cache-Control no-store" \
    'hdr Content-Type | grep -qi "^application/json" &&
     hdr Cache-Control | grep -q no-store'

V=$(br verifier)
flow "$T_DIR/flow.noverifier" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
req POST "$PUB/token" --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$(jf params.code "$T_DIR/flow.noverifier")" \
    --data-urlencode "redirect_uri=$CB" --data-urlencode "client_id=$CID_A" \
    --data-urlencode "resource=$PUB/mcp"
expect "/token without code_verifier for a code with a challenge: 400 invalid_request or invalid_grant" \
    '[ "$st" = 400 ] && { has_error invalid_request || has_error invalid_grant; }'

V=$(br verifier)
flow "$T_DIR/flow.target" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_A" "" "$(jf params.code "$T_DIR/flow.target")" "$V" "$CB" \
    "$PUB/sse"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "/token with a resource other than the authorized one: 400 invalid_target" \
    '[ "$st" = 400 ] && has_error invalid_target'

V=$(br verifier)
flow "$T_DIR/flow.other" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_B" "" "$(jf params.code "$T_DIR/flow.other")" "$V" "$CB"
expect "/token with a code issued to another client: 400 invalid_grant" \
    '[ "$st" = 400 ] && has_error invalid_grant'

V=$(br verifier)
flow "$T_DIR/flow.twice" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
CODE=$(jf params.code "$T_DIR/flow.twice")
token_code "$CID_A" "" "$CODE" "$V" "$CB"
AT_TWICE=$(jf access_token)
RT_TWICE=$(jf refresh_token)
remember access-token "$AT_TWICE"
remember refresh-token "$RT_TWICE"
expect "set-up: the code is exchanged once" '[ "$st" = 200 ] && [ -n "$AT_TWICE" ]'
token_code "$CID_A" "" "$CODE" "$V" "$CB"
expect "code replay: 400 invalid_grant" '[ "$st" = 400 ] && has_error invalid_grant'
mcp "$AT_TWICE"
expect "code replay: the access token issued from that code then gets 401" \
    '[ "$st" = 401 ]'
token_refresh "$CID_A" "" "$RT_TWICE"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "code replay: the refresh token issued from that code is refused (invalid_grant)" \
    '[ "$st" = 400 ] && has_error invalid_grant'

V=$(br verifier)
flow "$T_DIR/flow.redirect" "$CID_A" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_A" "" "$(jf params.code "$T_DIR/flow.redirect")" "$V" \
    "http://127.0.0.1:$CB_PORT/other"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "/token with a redirect_uri other than the authorization request's: 400 invalid_grant" \
    '[ "$st" = 400 ] && has_error invalid_grant'

# A client_secret_basic client: its registered method only, and one
# method at a time.
register "$T_DIR/reg.e" "{\"client_name\":\"Regress Client E\",\"redirect_uris\":[\"$CB\"],\"token_endpoint_auth_method\":\"client_secret_basic\"}"
CID_E=$(jf client_id "$T_DIR/reg.e")
SEC_E=$(jf client_secret "$T_DIR/reg.e")
remember client-secret "$SEC_E"
V=$(br verifier)
flow "$T_DIR/flow.method" "$CID_E" "$V" "$STATE" --resource "$PUB/mcp"
token_code "$CID_E" "$SEC_E" "$(jf params.code "$T_DIR/flow.method")" "$V" "$CB"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "/token: a client_secret_basic client authenticating with client_secret_post: 401 invalid_client" \
    '[ -n "$SEC_E" ] && [ "$st" = 401 ] && has_error invalid_client'
V=$(br verifier)
flow "$T_DIR/flow.both" "$CID_E" "$V" "$STATE" --resource "$PUB/mcp"
req POST "$PUB/token" --user "$CID_E:$SEC_E" \
    --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$(jf params.code "$T_DIR/flow.both")" \
    --data-urlencode "code_verifier=$V" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "client_id=$CID_E" --data-urlencode "client_secret=$SEC_E" \
    --data-urlencode "resource=$PUB/mcp"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "/token with HTTP Basic and client_secret in the body at once: 400 invalid_request" \
    '[ "$st" = 400 ] && has_error invalid_request'
req GET "$PUB/token"
expect "GET /token: 405" '[ "$st" = 405 ]'

skip "an expired authorization code is refused" \
    "codes live 10 minutes and no configuration statement shortens that; regress/unit/oauth_test.c covers it with a test clock"

# --- the bearer check -------------------------------------------------------------------

V=$(br verifier)
tokens_for "$CID_A" "$T_DIR/flow.revoke" "$V"
mcp "$AT"
expect "set-up: a fresh access token is accepted on /mcp" \
    '[ -n "$AT" ] && [ "$st" != 401 ] && [ "$st" != 000 ]'
revoke "$CID_A" "" "$AT" access_token
expect "revoke an access token: 200" '[ "$st" = 200 ]'
mcp "$AT"
expect "a revoked access token: 401 with error=\"invalid_token\"" \
    '[ "$st" = 401 ] && hdr WWW-Authenticate | grep -q "error=\"invalid_token\""'

V=$(br verifier)
tokens_for "$CID_A" "$T_DIR/flow.foreign" "$V"
revoke "$CID_B" "" "$AT" access_token
expect "revoke another client's access token: 200 (RFC 7009)" '[ "$st" = 200 ]'
mcp "$AT"
expect "a token revoked by another client stays valid" \
    '[ -n "$AT" ] && [ "$st" != 401 ] && [ "$st" != 000 ]'

V=$(br verifier)
tokens_for "$CID_A" "$T_DIR/flow.query" "$V"
req POST "$PUB/mcp?access_token=$AT" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$INIT"
expect "a token in the query string of /mcp: refused with 400 or 401" \
    '[ "$st" = 400 ] || [ "$st" = 401 ]'
req POST "$PUB/mcp?access_token=$AT" -H "Authorization: Bearer $AT" \
    -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$INIT"
expect "a token in the query string of /mcp besides the header: refused with 400 or 401" \
    '[ "$st" = 400 ] || [ "$st" = 401 ]'
mcp "$AT"
expect "control: the same token in the header is accepted" \
    '[ -n "$AT" ] && [ "$st" != 401 ] && [ "$st" != 000 ]'
token_refresh "$CID_B" "" "$RT"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "a refresh token presented by another client: 400 invalid_grant" \
    '[ -n "$RT" ] && [ "$st" = 400 ] && has_error invalid_grant'

V=$(br verifier)
tokens_for "$CID_A" "$T_DIR/flow.sse" "$V" "$PUB/sse"
expect "set-up: a token issued for the /sse resource" '[ -n "$AT" ]'
mcp "$AT"
expect "a token issued for /sse used on /mcp: 401" '[ "$st" = 401 ]'
req GET "$PUB/sse" -m 3 -H "Authorization: Bearer $AT" \
    -H 'Accept: text/event-stream'
expect "control: the /sse token is accepted on /sse" \
    '[ -n "$AT" ] && [ "$st" != 401 ] && [ "$st" != 000 ]'

# --- registration ---------------------------------------------------------------------------

register "$T_DIR/reg.js" '{"client_name":"x","redirect_uris":["javascript:alert(1)"],"token_endpoint_auth_method":"none"}'
expect "register a javascript: redirect URI: 400 invalid_redirect_uri" \
    '[ "$st" = 400 ] && has_error invalid_redirect_uri'
register "$T_DIR/reg.frag" '{"client_name":"x","redirect_uris":["https://client.example/cb#frag"],"token_endpoint_auth_method":"none"}'
expect "register a redirect URI with a fragment: 400 invalid_redirect_uri" \
    '[ "$st" = 400 ] && has_error invalid_redirect_uri'
register "$T_DIR/reg.http" '{"client_name":"x","redirect_uris":["http://client.example/cb"],"token_endpoint_auth_method":"none"}'
expect "register a plain http redirect URI on a non-loopback host: 400 invalid_redirect_uri" \
    '[ "$st" = 400 ] && has_error invalid_redirect_uri'
register "$T_DIR/reg.data" '{"client_name":"x","redirect_uris":["data:text/html,hi"],"token_endpoint_auth_method":"none"}'
expect "register a data: redirect URI: 400 invalid_redirect_uri" \
    '[ "$st" = 400 ] && has_error invalid_redirect_uri'
register "$T_DIR/reg.nouris" '{"client_name":"x","token_endpoint_auth_method":"none"}'
expect "register without redirect_uris: 400 invalid_redirect_uri or invalid_client_metadata" \
    '[ "$st" = 400 ] &&
     { has_error invalid_redirect_uri || has_error invalid_client_metadata; }'
register "$T_DIR/reg.method" "{\"client_name\":\"x\",\"redirect_uris\":[\"$CB\"],\"token_endpoint_auth_method\":\"private_key_jwt\"}"
expect "register with an unsupported token_endpoint_auth_method: 400 invalid_client_metadata" \
    '[ "$st" = 400 ] && has_error invalid_client_metadata'
register "$T_DIR/reg.notjson" 'this is not JSON'
expect "register with a body that is not JSON: 400 invalid_client_metadata" \
    '[ "$st" = 400 ] && has_error invalid_client_metadata'
python3 -c '
import json, sys
doc = {"client_name": "x" * (2 << 20), "redirect_uris": [sys.argv[1]],
       "token_endpoint_auth_method": "none"}
sys.stdout.write(json.dumps(doc))' "$CB" > "$T_DIR/big.json"
req POST "$PUB/register" -H 'Content-Type: application/json' \
    --data-binary "@$T_DIR/big.json"
expect "register with an oversize body (2 MiB): 413" '[ "$st" = 413 ]'

# --- Forgejo goes down during the callback ------------------------------------------------------

V=$(br verifier)
flow "$T_DIR/flow.down" "$CID_C" "$V" "$STATE" --resource "$PUB/mcp" \
    --stop-before-callback
CALLBACK=$(jf callback_url "$T_DIR/flow.down")
req POST "$DOUBLE/_double/mode?mode=down"
expect "set-up: Forgejo's code reached the callback, the double goes down" \
    '[ "$st" = 200 ] && [ "$CALLBACK" != null ] && [ -n "$CALLBACK" ]'
br get "$CALLBACK" --jar "$T_DIR/jar.$CID_C" --timeout 20 > "$T_DIR/cb.down"
D=$T_DIR/cb.down
expect "Forgejo down at the callback: the user gets a 502 or 503 page, no redirect" \
    '{ [ "$(jf status "$D")" = 502 ] || [ "$(jf status "$D")" = 503 ]; } &&
     [ "$(jf location "$D")" = null ]'
python3 - "$D" "$CB" > "$T_DIR/down.link" <<'PY'
import json, sys
from urllib.parse import parse_qs, urlsplit
page, cb = json.load(open(sys.argv[1])), sys.argv[2]
for link in page.get("links", []):
    if link.startswith(cb + "?"):
        q = parse_qs(urlsplit(link).query)
        print(json.dumps({k: v[0] for k, v in q.items()}))
        break
PY
expect "Forgejo down: the page links to the redirect URI with error=temporarily_unavailable or server_error" \
    'e=$(jf error "$T_DIR/down.link") &&
     { [ "$e" = temporarily_unavailable ] || [ "$e" = server_error ]; }'
expect "Forgejo down: that link carries the client's state and iss" \
    '[ "$(jf state "$T_DIR/down.link")" = "$STATE" ] &&
     [ "$(jf iss "$T_DIR/down.link")" = "$PUB" ]'
req POST "$DOUBLE/_double/mode?mode=normal"

# --- refresh-token reuse outside the grace window -------------------------------------------------

now=$(date +%s)
[ $((now - ROTATED_AT)) -lt 3 ] && sleep $((3 - (now - ROTATED_AT)))
token_refresh "$CID_A" "" "$RT_OLD"
expect "a rotated refresh token reused after the grace window: 400 invalid_grant" \
    '[ "$st" = 400 ] && has_error invalid_grant'

# --- what is left behind ----------------------------------------------------------------------------

no_leak_in_logs() {
	_bad=
	for kind in access-token refresh-token code upstream-code \
	    client-secret forgejo-client-secret; do
		leaks $kind "$BROKERD_LOG" "$T_DIR/double.log" \
		    "$T_DIR/double.out" "$T_DIR/double.err" || _bad=1
	done
	[ -z "${_bad:-}" ]
}
expect "no secret the test saw is in brokerd's or the double's log" \
    no_leak_in_logs
kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 10; then
	ok "brokerd stops on SIGTERM"
else
	not_ok "brokerd stops on SIGTERM within 10 seconds"
fi
save_log
DB=$T_DIR/db/brokerd.db
rows=$(sqlite3 "$DB" "SELECT count(*) FROM auth_codes WHERE client_id = '$CID_C';" 2>&1)
expect "Forgejo down: nothing half-written (no auth_codes row for that client)" \
    '[ "$rows" = 0 ]'
integrity=$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)
expect "the database passes integrity_check" '[ "$integrity" = ok ]'

# --- a fresh daemon and database: the registration rate limit, and short
# --- token lifetimes ------------------------------------------------------------------

# wait_until EPOCH: sleep until date +%s says EPOCH or later.
wait_until() {
	while [ "$(date +%s)" -lt "$1" ]; do
		sleep 0.2
	done
}

rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
gen_config "$T_DIR/brokerd-short.conf" "register rate limit 3
token access lifetime 3
token refresh lifetime 8"
if start_brokerd "$T_DIR/brokerd-short.conf"; then
	n=0
	for i in 1 2 3; do
		pub_client "$T_DIR/reg.rate$i" "Regress Rate $i" >/dev/null
		[ "$st" = 201 ] && n=$((n + 1))
	done
	expect "register rate limit 3: three registrations from 127.0.0.1 answered 201" \
	    '[ "$n" = 3 ]'
	pub_client "$T_DIR/reg.rate4" "Regress Rate 4" >/dev/null
	expect "register rate limit 3: the fourth registration gets 429" \
	    '[ "$st" = 429 ]'

	CID_R=$(jf client_id "$T_DIR/reg.rate1")
	tokens_for "$CID_R" "$T_DIR/flow.life1" "$(br verifier)"
	ISSUED1=$(date +%s)
	AT_L1=$AT RT_L1=$RT
	expect "token access lifetime 3: expires_in is 3" \
	    '[ "$(jf expires_in)" = 3 ]'
	mcp "$AT_L1"
	expect "token access lifetime 3: the fresh access token is accepted" \
	    '[ -n "$AT_L1" ] && [ "$st" != 401 ] && [ "$st" != 000 ]'
	tokens_for "$CID_R" "$T_DIR/flow.life2" "$(br verifier)"
	ISSUED2=$(date +%s)
	RT_L2=$RT
	wait_until $((ISSUED1 + 4))
	mcp "$AT_L1"
	expect "an expired access token: 401 with error=\"invalid_token\"" \
	    '[ "$st" = 401 ] &&
	     hdr WWW-Authenticate | grep -q "error=\"invalid_token\""'
	token_refresh "$CID_R" "" "$RT_L1"
	remember access-token "$(jf access_token)"
	remember refresh-token "$(jf refresh_token)"
	expect "the refresh token outlives its expired access token: 200" \
	    '[ -n "$RT_L1" ] && [ "$st" = 200 ]'
	wait_until $((ISSUED2 + 10))
	token_refresh "$CID_R" "" "$RT_L2"
	expect "token refresh lifetime 8: an expired refresh token: 400 invalid_grant" \
	    '[ -n "$RT_L2" ] && [ "$st" = 400 ] && has_error invalid_grant'
	save_log
else
	not_ok "brokerd restarts with register rate limit 3 and short token lifetimes"
	save_log
fi

save_double_log
done_testing
