# The OAuth 2.1 authorization server, the way it is meant to be used:
# the metadata documents field by field, dynamic registration of a public
# and of a confidential client, the whole browser flow through the
# consent page and the Forgejo double for each, the code exchange, the
# bearer check on /mcp, refresh with rotation, the grace window and reuse
# detection, revocation, and at the end what the daemon left behind: no
# token, code or secret in clear in the database or in the logs.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/oauth_lib.sh"

# --- set-up -----------------------------------------------------------------

oauth_start "token refresh grace 2"
CB="http://127.0.0.1:$(free_port)/callback"	# nothing listens there
remember forgejo-client-secret regress-client-secret

# --- 1. metadata ----------------------------------------------------------------

req GET "$PUB/.well-known/oauth-protected-resource/mcp"
cp "$T_DIR/b" "$T_DIR/prm.mcp"
expect "PRM /mcp: 200 application/json" \
    '[ "$st" = 200 ] && hdr Content-Type | grep -qi "^application/json"'
expect "PRM /mcp: resource is exactly $PUB/mcp" \
    '[ "$(jf resource "$T_DIR/prm.mcp")" = "$PUB/mcp" ]'
expect "PRM /mcp: authorization_servers is [\"$PUB\"]" \
    '[ "$(jf authorization_servers "$T_DIR/prm.mcp")" = "[\"$PUB\"]" ]'

req GET "$PUB/.well-known/oauth-protected-resource/sse"
cp "$T_DIR/b" "$T_DIR/prm.sse"
expect "PRM /sse: 200, resource is exactly $PUB/sse" \
    '[ "$st" = 200 ] && [ "$(jf resource "$T_DIR/prm.sse")" = "$PUB/sse" ]'
expect "PRM /sse: authorization_servers is [\"$PUB\"]" \
    '[ "$(jf authorization_servers "$T_DIR/prm.sse")" = "[\"$PUB\"]" ]'

req GET "$PUB/.well-known/oauth-protected-resource"
cp "$T_DIR/b" "$T_DIR/prm.root"
expect "PRM at the root: 200, resource is the public url or its /mcp" \
    '[ "$st" = 200 ] &&
     { [ "$(jf resource "$T_DIR/prm.root")" = "$PUB/mcp" ] ||
       [ "$(jf resource "$T_DIR/prm.root")" = "$PUB" ]; }'
expect "PRM at the root: authorization_servers is [\"$PUB\"]" \
    '[ "$(jf authorization_servers "$T_DIR/prm.root")" = "[\"$PUB\"]" ]'

req GET "$PUB/.well-known/oauth-authorization-server"
cp "$T_DIR/b" "$T_DIR/asm"
A=$T_DIR/asm
expect "AS metadata: 200 application/json" \
    '[ "$st" = 200 ] && hdr Content-Type | grep -qi "^application/json"'
expect "AS metadata: issuer is byte-equal to the public url" \
    '[ "$(jf issuer "$A")" = "$PUB" ]'
expect "AS metadata: issuer is byte-equal to PRM authorization_servers[0]" \
    '[ -n "$(jf issuer "$A")" ] &&
     [ "$(jf issuer "$A")" = "$(jf authorization_servers.0 "$T_DIR/prm.mcp")" ]'
expect "AS metadata: the endpoints are built from the public url" \
    '[ "$(jf authorization_endpoint "$A")" = "$PUB/authorize" ] &&
     [ "$(jf token_endpoint "$A")" = "$PUB/token" ] &&
     [ "$(jf registration_endpoint "$A")" = "$PUB/register" ] &&
     [ "$(jf revocation_endpoint "$A")" = "$PUB/revoke" ]'
expect "AS metadata: response_types_supported is [code]" \
    '[ "$(jf response_types_supported "$A")" = "[\"code\"]" ]'
expect "AS metadata: code_challenge_methods_supported is S256 only" \
    '[ "$(jf code_challenge_methods_supported "$A")" = "[\"S256\"]" ]'
expect "AS metadata: token endpoint auth methods none, client_secret_post, client_secret_basic" \
    '[ "$(br json "$A" token_endpoint_auth_methods_supported --sorted-list)" = \
       "client_secret_basic,client_secret_post,none" ]'
expect "AS metadata: grant types authorization_code and refresh_token" \
    'br json "$A" grant_types_supported --sorted-list |
     grep -q "authorization_code" &&
     br json "$A" grant_types_supported --sorted-list | grep -q "refresh_token"'
expect "AS metadata: authorization_response_iss_parameter_supported is true" \
    '[ "$(jf authorization_response_iss_parameter_supported "$A")" = true ]'

req GET "$PUB/.well-known/openid-configuration"
expect "/.well-known/openid-configuration: 404" '[ "$st" = 404 ]'

req OPTIONS "$PUB/token" -H 'Origin: http://client.example' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type, authorization'
expect "CORS preflight on /token without credentials: 200 or 204" \
    '[ "$st" = 200 ] || [ "$st" = 204 ]'
expect "CORS preflight on /token: origin allowed, POST allowed" \
    'hdr Access-Control-Allow-Origin | grep -q . &&
     hdr Access-Control-Allow-Methods | grep -qi "post\|\*"'
expect "CORS preflight on /token: content-type and authorization allowed" \
    'ah=$(hdr Access-Control-Allow-Headers | tr A-Z a-z) &&
     { [ "$ah" = "*" ] ||
       { echo "$ah" | grep -q content-type && echo "$ah" | grep -q authorization; }; }'

# --- 2. the bearer challenge ------------------------------------------------------

req POST "$PUB/mcp" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$INIT"
expect "/mcp without a token: 401" '[ "$st" = 401 ]'
www=$(hdr WWW-Authenticate)
expect "/mcp without a token: WWW-Authenticate Bearer with resource_metadata of /mcp" \
    'case $www in Bearer\ *) true ;; *) false ;; esac &&
     printf "%s" "$www" |
     grep -qF "resource_metadata=\"$PUB/.well-known/oauth-protected-resource/mcp\""'
expect "/mcp without a token: no error= in the challenge (RFC 6750 3.1)" \
    '[ -n "$www" ] && ! printf "%s" "$www" | grep -q "error="'
mcp "not-a-token-$(br verifier)"
expect "/mcp with a bad token: 401 error=\"invalid_token\"" \
    '[ "$st" = 401 ] && hdr WWW-Authenticate | grep -q "error=\"invalid_token\""'
req GET "$PUB/sse" -H 'Accept: text/event-stream'
expect "/sse without a token: 401 with a Bearer challenge" \
    '[ "$st" = 401 ] && hdr WWW-Authenticate | grep -q "^Bearer "'
req POST "$PUB/messages?sessionId=00000000-0000-0000-0000-000000000000" \
    -H 'Content-Type: application/json' --data-binary "$INIT"
expect "/messages without a token: 401 with a Bearer challenge" \
    '[ "$st" = 401 ] && hdr WWW-Authenticate | grep -q "^Bearer "'

# --- 3. registration ------------------------------------------------------------------

register "$T_DIR/reg.pub" "{\"client_name\":\"Regress Public Client\",\"redirect_uris\":[\"$CB\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"none\"}"
R=$T_DIR/reg.pub
expect "register a public client: 201 application/json" \
    '[ "$st" = 201 ] && hdr Content-Type | grep -qi "^application/json"'
CID1=$(jf client_id "$R")
expect "public client: a client_id" '[ -n "$CID1" ]'
expect "public client: no client_secret in the answer" \
    '[ -n "$CID1" ] && ! jf client_secret "$R"'
expect "public client: redirect_uris echoed" \
    '[ "$(jf redirect_uris "$R")" = "[\"$CB\"]" ]'
expect "public client: token_endpoint_auth_method none echoed" \
    '[ "$(jf token_endpoint_auth_method "$R")" = none ]'

register "$T_DIR/reg.conf" "{\"client_name\":\"Regress Confidential Client\",\"redirect_uris\":[\"$CB\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"client_secret_post\"}"
R=$T_DIR/reg.conf
expect "register a client_secret_post client: 201" '[ "$st" = 201 ]'
CID2=$(jf client_id "$R")
SEC2=$(jf client_secret "$R")
remember client-secret "$SEC2"
expect "confidential client: a client_id and a client_secret" \
    '[ -n "$CID2" ] && [ -n "$SEC2" ] && [ "$CID2" != "$CID1" ]'
expect "confidential client: client_secret_expires_at present" \
    'jf client_secret_expires_at "$R" | grep -q "^[0-9][0-9]*$"'
expect "confidential client: token_endpoint_auth_method client_secret_post echoed" \
    '[ "$(jf token_endpoint_auth_method "$R")" = client_secret_post ]'
expect "confidential client: redirect_uris echoed" \
    '[ "$(jf redirect_uris "$R")" = "[\"$CB\"]" ]'

# --- 4. the flow, public client -----------------------------------------------------------

V1=$(br verifier)
S1="st-$(br verifier | cut -c1-20)"
flow "$T_DIR/flow1" "$CID1" "$V1" "$S1" --resource "$PUB/mcp"
F=$T_DIR/flow1
expect "consent page: 200 text/html" \
    '[ "$(jf consent_page.status "$F")" = 200 ] &&
     jf consent_page.headers.content-type.0 "$F" | grep -qi "^text/html"'
expect "consent page: X-Frame-Options DENY" \
    '[ "$(jf consent_page.headers.x-frame-options.0 "$F")" = DENY ]'
expect "consent page: CSP frame-ancestors 'none'" \
    'jf consent_page.headers.content-security-policy.0 "$F" |
     grep -q "frame-ancestors '\''none'\''"'
expect "consent page: Cache-Control no-store" \
    'jf consent_page.headers.cache-control.0 "$F" | grep -q no-store'
expect "consent page: a CSRF field and approve/deny controls named consent" \
    'jf consent_page.csrf_field "$F" | grep -q . &&
     jf consent_page.consent_values "$F" | grep -q approve &&
     jf consent_page.consent_values "$F" | grep -q deny'
jf consent_page.body "$F" > "$T_DIR/consent.html"
expect "consent page: names the client and its redirect URI" \
    'grep -qF "Regress Public Client" "$T_DIR/consent.html" &&
     grep -qF "$CB" "$T_DIR/consent.html"'
expect "consent POST: 303 to Forgejo's /login/oauth/authorize" \
    '[ "$(jf consent_post.status "$F")" = 303 ] &&
     jf consent_post.location "$F" |
     grep -q "^http://127.0.0.1:$FORGEJO_PORT/login/oauth/authorize?"'
expect "public client: the flow ends at the redirect URI with a code" \
    '[ "$(jf ok "$F")" = true ] && [ -n "$(jf params.code "$F")" ]'
expect "public client: the callback answers 303" \
    '[ "$(jf final_status "$F")" = 303 ]'
expect "public client: the redirect carries the state and iss" \
    '[ "$(jf params.state "$F")" = "$S1" ] &&
     [ "$(jf params.iss "$F")" = "$PUB" ]'
CODE1=$(jf params.code "$F")

token_code "$CID1" "" "$CODE1" "$V1" "$CB"
cp "$T_DIR/b" "$T_DIR/tok1"
expect "public client: code exchange 200 application/json" \
    '[ "$st" = 200 ] && hdr Content-Type | grep -qi "^application/json"'
expect "public client: the token answer says Cache-Control no-store" \
    'hdr Cache-Control | grep -q no-store'
AT1=$(jf access_token "$T_DIR/tok1")
RT1=$(jf refresh_token "$T_DIR/tok1")
remember access-token "$AT1"
remember refresh-token "$RT1"
expect "public client: access and refresh tokens of 43 characters or more" \
    'token_len_ok "$AT1" && token_len_ok "$RT1" && [ "$AT1" != "$RT1" ]'
expect "public client: token_type Bearer" \
    '[ "$(jf token_type "$T_DIR/tok1" | tr A-Z a-z)" = bearer ]'
expect "public client: expires_in a positive number" \
    'jf expires_in "$T_DIR/tok1" | grep -q "^[1-9][0-9]*$"'

mcp "$AT1"
expect "public client: /mcp with the access token is not 401" \
    '[ "$st" != 401 ] && [ "$st" != 000 ]'
expect "public client: /mcp answers 501 (no relay yet) or 2xx" relay_or_ok

# Rotation: a new pair; the old refresh token still works inside the
# grace window (2 s), and outside it its reuse revokes the whole family.
token_refresh "$CID1" "" "$RT1"
cp "$T_DIR/b" "$T_DIR/tok2"
AT2=$(jf access_token "$T_DIR/tok2")
RT2=$(jf refresh_token "$T_DIR/tok2")
remember access-token "$AT2"
remember refresh-token "$RT2"
expect "refresh: 200 with a new access and refresh token" \
    '[ "$st" = 200 ] && token_len_ok "$AT2" && token_len_ok "$RT2" &&
     [ "$AT2" != "$AT1" ] && [ "$RT2" != "$RT1" ]'
expect "refresh: Cache-Control no-store" 'hdr Cache-Control | grep -q no-store'
token_refresh "$CID1" "" "$RT1"
cp "$T_DIR/b" "$T_DIR/tok3"
AT3=$(jf access_token "$T_DIR/tok3")
RT3=$(jf refresh_token "$T_DIR/tok3")
remember access-token "$AT3"
remember refresh-token "$RT3"
expect "refresh: the old refresh token reused inside the grace window works" \
    '[ "$st" = 200 ] && token_len_ok "$AT3"'
mcp "$AT3"
expect "refresh: the access token from the grace reuse is accepted" \
    '[ "$st" != 401 ] && [ "$st" != 000 ]'
sleep 3
token_refresh "$CID1" "" "$RT1"
expect "refresh: reuse of the old refresh token after the grace window: 400 invalid_grant" \
    '[ "$st" = 400 ] && has_error invalid_grant'
mcp "$AT3"
expect "reuse detection: the newest access token then gets 401" '[ "$st" = 401 ]'
mcp "$AT2"
expect "reuse detection: the rotated access token gets 401 too" '[ "$st" = 401 ]'
newest=$RT3
[ -z "$newest" ] && newest=$RT2
token_refresh "$CID1" "" "$newest"
expect "reuse detection: the newest refresh token is refused (invalid_grant)" \
    '[ "$st" = 400 ] && has_error invalid_grant'

# Without a state (the TS SDK sends none unless asked), and from a
# loopback redirect URI on another port (RFC 8252 7.3: any port).
V7=$(br verifier)
br flow --public-url "$PUB" --client-id="$CID1" --redirect-uri "$CB" \
    --verifier="$V7" --resource "$PUB/mcp" --jar "$T_DIR/jar.nostate" \
    > "$T_DIR/flow.nostate"
FLOWF=$T_DIR/flow.nostate
remember code "$(jf params.code "$FLOWF")"
expect "a request without state: the redirect carries code and iss, no state" \
    '[ "$(jf ok "$FLOWF")" = true ] && [ -n "$(jf params.code "$FLOWF")" ] &&
     [ "$(jf params.iss "$FLOWF")" = "$PUB" ] && ! jf params.state "$FLOWF"'
CB_OTHER="http://127.0.0.1:$(free_port)/callback"
br flow --public-url "$PUB" --client-id="$CID1" --redirect-uri "$CB_OTHER" \
    --verifier="$V7" --state="$S1" --resource "$PUB/mcp" \
    --jar "$T_DIR/jar.port" > "$T_DIR/flow.port"
FLOWF=$T_DIR/flow.port
remember code "$(jf params.code "$FLOWF")"
expect "a loopback redirect URI on another port is accepted (RFC 8252 7.3)" \
    '[ "$(jf ok "$FLOWF")" = true ] && [ -n "$(jf params.code "$FLOWF")" ] &&
     case $(jf final_url "$FLOWF") in "$CB_OTHER?"*) true ;; *) false ;; esac'

# --- 5. the flow, confidential client ---------------------------------------------------------

V2=$(br verifier)
S2="st-$(br verifier | cut -c1-20)"
flow "$T_DIR/flow2" "$CID2" "$V2" "$S2" --resource "$PUB/mcp"
F=$T_DIR/flow2
expect "confidential client: the flow ends at the redirect URI with code, state, iss" \
    '[ "$(jf ok "$F")" = true ] && [ -n "$(jf params.code "$F")" ] &&
     [ "$(jf params.state "$F")" = "$S2" ] && [ "$(jf params.iss "$F")" = "$PUB" ]'
CODE2=$(jf params.code "$F")
token_code "$CID2" "$SEC2" "$CODE2" "$V2" "$CB"
cp "$T_DIR/b" "$T_DIR/tok4"
AT4=$(jf access_token "$T_DIR/tok4")
RT4=$(jf refresh_token "$T_DIR/tok4")
remember access-token "$AT4"
remember refresh-token "$RT4"
expect "confidential client: code exchange with client_secret_post: 200" \
    '[ "$st" = 200 ] && token_len_ok "$AT4" && token_len_ok "$RT4" &&
     [ "$(jf token_type "$T_DIR/tok4" | tr A-Z a-z)" = bearer ] &&
     hdr Cache-Control | grep -q no-store'
mcp "$AT4"
expect "confidential client: /mcp with the access token is not 401" \
    '[ "$st" != 401 ] && [ "$st" != 000 ]'
expect "confidential client: /mcp answers 501 (no relay yet) or 2xx" relay_or_ok
token_refresh "$CID2" "$SEC2" "$RT4"
cp "$T_DIR/b" "$T_DIR/tok5"
AT5=$(jf access_token "$T_DIR/tok5")
RT5=$(jf refresh_token "$T_DIR/tok5")
remember access-token "$AT5"
remember refresh-token "$RT5"
expect "confidential client: refresh: 200 with a new pair" \
    '[ "$st" = 200 ] && token_len_ok "$AT5" && [ "$AT5" != "$AT4" ] &&
     token_len_ok "$RT5" && [ "$RT5" != "$RT4" ]'
mcp "$AT5"
expect "confidential client: the refreshed access token is accepted" \
    '[ "$st" != 401 ] && [ "$st" != 000 ]'
revoke "$CID2" "$SEC2" "$RT5" refresh_token
expect "revoke the refresh token: 200" '[ "$st" = 200 ]'
mcp "$AT5"
expect "revocation: the refresh token's access token then gets 401" \
    '[ "$st" = 401 ]'
token_refresh "$CID2" "$SEC2" "$RT5"
expect "revocation: the revoked refresh token is refused (invalid_grant)" \
    '[ "$st" = 400 ] && has_error invalid_grant'
revoke "$CID2" "$SEC2" "unknown-$(br verifier)" refresh_token
expect "revoke an unknown token: 200" '[ "$st" = 200 ]'

# --- 6. the flow, client_secret_basic -----------------------------------------------------------

register "$T_DIR/reg.basic" "{\"client_name\":\"Regress Basic Client\",\"redirect_uris\":[\"$CB\"],\"grant_types\":[\"authorization_code\",\"refresh_token\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"client_secret_basic\"}"
CID3=$(jf client_id "$T_DIR/reg.basic")
SEC3=$(jf client_secret "$T_DIR/reg.basic")
remember client-secret "$SEC3"
expect "register a client_secret_basic client: 201 with a secret, method echoed" \
    '[ "$st" = 201 ] && [ -n "$CID3" ] && [ -n "$SEC3" ] &&
     [ "$(jf token_endpoint_auth_method "$T_DIR/reg.basic")" = client_secret_basic ]'
V3=$(br verifier)
flow "$T_DIR/flow3" "$CID3" "$V3" "st-basic" --resource "$PUB/mcp"
req POST "$PUB/token" --user "$CID3:$SEC3" \
    --data-urlencode grant_type=authorization_code \
    --data-urlencode "code=$(jf params.code "$T_DIR/flow3")" \
    --data-urlencode "code_verifier=$V3" --data-urlencode "redirect_uri=$CB" \
    --data-urlencode "resource=$PUB/mcp"
AT6=$(jf access_token)
RT6=$(jf refresh_token)
remember access-token "$AT6"
remember refresh-token "$RT6"
expect "client_secret_basic: code exchange with HTTP Basic: 200 with tokens" \
    '[ "$st" = 200 ] && token_len_ok "$AT6" && token_len_ok "$RT6"'
req POST "$PUB/token" --user "$CID3:$SEC3" \
    --data-urlencode grant_type=refresh_token \
    --data-urlencode "refresh_token=$RT6" --data-urlencode "resource=$PUB/mcp"
remember access-token "$(jf access_token)"
remember refresh-token "$(jf refresh_token)"
expect "client_secret_basic: refresh with HTTP Basic: 200 with a new pair" \
    '[ "$st" = 200 ] && [ -n "$(jf access_token)" ] &&
     [ "$(jf refresh_token)" != "$RT6" ]'

# --- 7. what is left behind ---------------------------------------------------------------------

kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 10; then
	ok "brokerd stops on SIGTERM"
else
	not_ok "brokerd stops on SIGTERM within 10 seconds"
fi
DB=$T_DIR/db/brokerd.db
for kind in access-token refresh-token code client-secret \
    forgejo-client-secret; do
	expect "the database holds no $kind in clear" \
	    'leaks $kind "$DB" "$DB-wal" "$DB-journal"'
done
integrity=$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)
expect "the database passes integrity_check" '[ "$integrity" = ok ]'

# Nothing the test saw or configured may reach a log: brokerd's (-vv)
# nor the double's.
for kind in access-token refresh-token code upstream-code client-secret \
    forgejo-client-secret; do
	expect "no $kind in brokerd's or the double's log" \
	    'leaks $kind "$BROKERD_LOG" "$T_DIR/double.log" "$T_DIR/double.out" "$T_DIR/double.err"'
done

save_log
save_double_log
done_testing
