# The HTTP server's limits: each abuse is answered or closed as
# brokerd.8 documents, and the daemon goes on serving the next client.
. "$TOP/regress/integration/lib.sh"

ensure_user || exit 1
gen_config "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts"
	save_log
	done_testing
fi

status_of() { head -n 1 | cut -d' ' -f2; }
still_serving() {
	check "$1: the next client is served" \
	    [ "$(http_get "http://127.0.0.1:$PORT/healthz")" = 200 ]
}

big=$(python3 -c 'print("a" * 20000)')
st=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$big" |
    raw "$PORT" | status_of)
check "oversize header block: 431" [ "$st" = 431 ]
still_serving "oversize header"

st=$(printf 'POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n' |
    raw "$PORT" | status_of)
check "oversize body: 413 before the body is sent" [ "$st" = 413 ]
still_serving "oversize body"

st=$(python3 -c '
import sys
h = "".join("X-H%d: v\r\n" % i for i in range(100))
sys.stdout.write("GET /healthz HTTP/1.1\r\nHost: x\r\n" + h + "\r\n")' |
    raw "$PORT" | status_of)
check "too many headers: 431" [ "$st" = 431 ]
still_serving "too many headers"

st=$(printf 'GARBAGE\r\n\r\n' | raw "$PORT" | status_of)
check "malformed request line: 400" [ "$st" = 400 ]
st=$(printf 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n' | raw "$PORT" | status_of)
check "unsupported version: 505" [ "$st" = 505 ]
url=$(python3 -c 'print("/" + "a" * 9000)')
st=$(printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$url" | raw "$PORT" | status_of)
check "oversize request line: 414" [ "$st" = 414 ]
still_serving "malformed request line"

# A client that sends one byte every half second never completes its
# headers within the header timeout: 408, then the connection closes.
start=$(date +%s)
out=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: %s\r\n\r\n' \
    "$(python3 -c 'print("s" * 60)')" | raw "$PORT" --delay 0.5 --timeout 30)
end=$(date +%s)
st=$(printf '%s\n' "$out" | grep '^HTTP/1.1' | head -n 1 | cut -d' ' -f2)
check "slow headers (slowloris): 408" [ "$st" = 408 ]
check "slow headers: cut off within the header timeout (took $((end - start)) s)" \
    [ $((end - start)) -le 14 ]
still_serving "slow headers"

# Keep-alive: two requests on one connection, both answered.
out=$(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    raw "$PORT")
n=$(printf '%s\n' "$out" | grep -o 'HTTP/1.1 200 OK' | wc -l)
check "keep-alive: two pipelined requests get two answers" [ "$n" -eq 2 ]

# An idle connection is not kept forever; meanwhile others are served.
python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(3)
PY
idle=$!
track "$idle"
still_serving "an idle connection open"
wait "$idle"

kill -TERM "$BROKERD_PID"
wait_gone "$BROKERD_PID" 5
check "no crash: the log has no fatal line" \
    sh -c "! grep -q 'fatal in' '$BROKERD_LOG'"
save_log

# TLS: the same server behind libtls, with a generated certificate.
PORT= FORGEJO_PORT=
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" >/dev/null 2>&1
chmod 600 "$T_DIR/key.pem"
gen_config "$T_DIR/tls.conf" "tls certificate \"$T_DIR/cert.pem\"
tls key \"$T_DIR/key.pem\""
sed -i "s|^listen on 127.0.0.1 port $PORT\$|listen on 127.0.0.1 port $PORT tls|; s|public url \"http://|public url \"https://|" \
    "$T_DIR/tls.conf"
if start_brokerd "$T_DIR/tls.conf"; then
	st=$(curl -s -m 10 --cacert "$T_DIR/cert.pem" -o "$T_DIR/body" \
	    -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
	check "tls: healthz answers 200 over https" [ "$st" = 200 ]
	st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$PORT/healthz")
	check "tls: plain http on the tls port gets no answer" [ "$st" = 000 ]
	st=$(curl -s -m 10 --cacert "$T_DIR/cert.pem" -o /dev/null \
	    -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
	check "tls: still serving after a plain-text client" [ "$st" = 200 ]
else
	not_ok "tls: brokerd starts with a certificate"
fi
save_log
done_testing
