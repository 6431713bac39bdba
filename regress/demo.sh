#!/bin/sh
# make demo: the whole thing on loopback, as a remote MCP client sees it.
#
#   - the Forgejo test double (regress/forgejo-double.py) on 127.0.0.1,
#     with brokerd registered as an OAuth2 application for
#     {public url}/callback, consent auto-approved, users alice and bob;
#   - brokerd on 127.0.0.1 with an SQLite database in a temporary
#     directory, and the forgejo-mcp stand-in (regress/mcp-standin.py) as
#     the MCP server it starts for each session;
#   - the official MCP TypeScript SDK client (pinned in regress/sdk,
#     installed with `npm ci` into regress/obj/sdk) running
#     regress/demo/demo-client.mjs: the 401 challenge, the protected
#     resource and authorization server metadata, dynamic registration,
#     the consent page, the Forgejo login (regress/browser.py plays the
#     user alice), the code exchange, then initialize, tools/list and a
#     tools/call of get_my_user_info, which answers "alice" (DEMO_USER=bob
#     in the environment logs in as bob instead).
#
# One line per step; everything started here is stopped by pid and the
# temporary directory removed on exit.  Exit status 0 only if every step
# did what it should.
#
# usage: regress/demo.sh PREFIX   (where make demo installed brokerd)
set -u
PREFIX=$(cd "$1" && pwd) || exit 1
TOP=$(cd "$(dirname "$0")/.." && pwd)
SDK_SRC=$TOP/regress/sdk
SDK_DIR=$TOP/regress/obj/sdk
DIR=$(mktemp -d /tmp/brokerd-demo.XXXXXX) || exit 1
# The unprivileged user must traverse to the files it is given.
chmod 755 "$DIR"
PIDS=

# stop PID: SIGTERM, at most 5 s to finish, then SIGKILL; sets $rc to
# its exit status.
stop() {
	if ! kill "$1" 2>/dev/null; then
		# Already gone: its status, if it was ours.
		wait "$1" 2>/dev/null
		rc=$?
		return 0
	fi
	( sleep 5; kill -9 "$1" ) >/dev/null 2>&1 &
	_w=$!
	wait "$1" 2>/dev/null
	rc=$?
	kill "$_w" 2>/dev/null
}
cleanup() {
	for p in $PIDS; do
		stop "$p"
	done
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'FAILED: %s\n' "$*"
	for f in "$DIR/brokerd.log" "$DIR/double.err" "$DIR/npm.log"; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last lines)\n' "$(basename "$f")"
		tail -n 15 "$f"
	done
	exit 1
}
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# json FILE PATH: a field of a JSON file.
json() { python3 "$TOP/regress/browser.py" json "$1" "$2" 2>/dev/null; }

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    die "node and npm are needed for the MCP client (apt-get install nodejs npm)"

# --- the pinned SDK, as regress/integration/oauth_sdk.sh installs it --------

sdk_installed() {
	want=$(json "$SDK_SRC/package.json" dependencies.@modelcontextprotocol/sdk)
	have=$(json "$SDK_DIR/node_modules/@modelcontextprotocol/sdk/package.json" version)
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	    cmp -s "$SDK_SRC/package-lock.json" "$SDK_DIR/package-lock.json"
}
if ! sdk_installed; then
	say "installing the pinned MCP SDK into regress/obj/sdk (npm ci)"
	mkdir -p "$SDK_DIR" &&
	    cp "$SDK_SRC/package.json" "$SDK_SRC/package-lock.json" "$SDK_DIR/" ||
	    die "cannot write $SDK_DIR"
	(cd "$SDK_DIR" && timeout 240 npm ci --no-audit --no-fund) \
	    >"$DIR/npm.log" 2>&1 || die "npm ci in $SDK_DIR"
	sdk_installed || die "the SDK in $SDK_DIR is not the pinned one"
	rm -f "$DIR/npm.log"
fi
cp "$TOP/regress/demo/demo-client.mjs" "$SDK_DIR/demo-client.mjs" ||
    die "cannot copy the client into $SDK_DIR"

# --- the Forgejo double -----------------------------------------------------

if [ "$(id -u)" = 0 ]; then
	id _brokerd >/dev/null 2>&1 ||
	    useradd -r -M -d /var/empty -s /usr/sbin/nologin _brokerd ||
	    die "cannot create the user _brokerd"
	RUNAS=_brokerd
else
	RUNAS=$(id -un)
fi
PORT=$(free_port)
PUB=http://127.0.0.1:$PORT
python3 "$TOP/regress/forgejo-double.py" --port 0 \
    --app "brokerd-demo:demo-client-secret:$PUB/callback:confidential" \
    --auto-approve --log "$DIR/double.log" \
    >"$DIR/double.out" 2>"$DIR/double.err" &
PIDS="$PIDS $!"
DOUBLE_PID=$!
i=0
FORGEJO_PORT=
while [ -z "$FORGEJO_PORT" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && die "the Forgejo double did not start"
	kill -0 "$DOUBLE_PID" 2>/dev/null || die "the Forgejo double exited"
	sleep 0.1
	FORGEJO_PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$DIR/double.out")
done
FORGEJO=http://127.0.0.1:$FORGEJO_PORT
say "Forgejo double on $FORGEJO (pid $DOUBLE_PID): users alice and bob;" \
    "OAuth2 app brokerd-demo for $PUB/callback, consent auto-approved"

# --- brokerd ----------------------------------------------------------------

mkdir -p "$DIR/empty" "$DIR/db"
[ "$(id -u)" = 0 ] && chown _brokerd "$DIR/db"
chmod 700 "$DIR/db"
printf 'demo-client-secret\n' > "$DIR/secret"
chmod 600 "$DIR/secret"
cp "$TOP/regress/mcp-standin.py" "$DIR/mcp-standin.py"
chmod 644 "$DIR/mcp-standin.py"
# The child runs as the unprivileged user in its sandbox: the system's
# python3, not one from someone's home directory.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
cat > "$DIR/brokerd.conf" <<CONF
# generated by regress/demo.sh
listen on 127.0.0.1 port $PORT
public url "$PUB"
database "$DIR/db/brokerd.db"
user "$RUNAS"
chroot "$DIR/empty"
forgejo url "$FORGEJO"
forgejo client id "brokerd-demo"
forgejo client secret file "$DIR/secret"
mcp command "$PYTHON" "$DIR/mcp-standin.py" "--transport" "stdio"
CONF
"$PREFIX/sbin/brokerd" -n -f "$DIR/brokerd.conf" >"$DIR/brokerd.log" 2>&1 ||
    die "brokerd -n refuses the configuration"
"$PREFIX/sbin/brokerd" -d -v -f "$DIR/brokerd.conf" >"$DIR/brokerd.log" 2>&1 &
BROKERD_PID=$!
PIDS="$BROKERD_PID $PIDS"
i=0
until grep -q "parent: ready" "$DIR/brokerd.log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && die "brokerd did not report ready"
	kill -0 "$BROKERD_PID" 2>/dev/null || die "brokerd exited"
	sleep 0.1
done
say "brokerd on $PUB (pid $BROKERD_PID, runs as $RUNAS): database" \
    "$DIR/db/brokerd.db; mcp command: python3 mcp-standin.py (forgejo-mcp stand-in)"
st=$(curl -s -m 5 --noproxy '*' -o /dev/null -w '%{http_code}' "$PUB/healthz")
[ "$st" = 200 ] || die "GET $PUB/healthz answered $st"
say "GET $PUB/healthz -> 200 (http, tokend and spawnd answer)"

# --- the MCP client -----------------------------------------------------------

CB="http://127.0.0.1:$(free_port)/callback"	# nothing listens there
say "the MCP client, as a user would run it against $PUB/mcp:"
(cd "$SDK_DIR" && timeout 50 node demo-client.mjs --server-url "$PUB/mcp" \
    --browser "$TOP/regress/browser.py" --redirect-uri "$CB" --user "${DEMO_USER:-alice}" \
    --python "$PYTHON" --jar "$DIR/browser.jar" --timeout 45) \
    2>"$DIR/client.err"
rc=$?
if [ $rc -ne 0 ]; then
	[ -s "$DIR/client.err" ] && sed 's/^/    /' "$DIR/client.err" | tail -n 15
	die "the MCP client (exit status $rc)"
fi

# --- still serving? -------------------------------------------------------------

st=$(curl -s -m 5 --noproxy '*' -o /dev/null -w '%{http_code}' "$PUB/healthz")
[ "$st" = 200 ] && kill -0 "$BROKERD_PID" 2>/dev/null ||
    die "brokerd no longer serves after the client's session ended" \
	"(GET /healthz: $st)"
say "GET $PUB/healthz -> 200 after the session ended"

# --- stop ---------------------------------------------------------------------

stop "$BROKERD_PID"
PIDS=$DOUBLE_PID
say "brokerd stopped on SIGTERM (exit status $rc); the double is stopped" \
    "and $DIR removed on exit"
[ $rc -eq 0 ] || die "brokerd exited with status $rc"
exit 0
