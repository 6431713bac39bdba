#!/bin/sh
# make demo: start brokerd on loopback with a throw-away database and
# show that every process answers, then stop it.
#
# usage: regress/demo.sh PREFIX   (where make demo installed brokerd)
set -u
PREFIX=$(cd "$1" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/brokerd-demo.XXXXXX)
chmod 755 "$DIR"
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && sleep 0.5
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '\n==> %s\n' "$*"; }

USER_LINE=
if [ "$(id -u)" = 0 ]; then
	id _brokerd >/dev/null 2>&1 ||
	    useradd -r -M -d /var/empty -s /usr/sbin/nologin _brokerd
else
	USER_LINE="user \"$(id -un)\""
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$DIR/empty" "$DIR/db"
[ "$(id -u)" = 0 ] && chown _brokerd "$DIR/db"
printf 'demo-secret\n' > "$DIR/secret"
chmod 600 "$DIR/secret"
cat > "$DIR/brokerd.conf" <<CONF
listen on 127.0.0.1 port $PORT
public url "http://127.0.0.1:$PORT"
database "$DIR/db/brokerd.db"
chroot "$DIR/empty"
$USER_LINE
forgejo url "http://127.0.0.1:3000"
forgejo client id "demo"
forgejo client secret file "$DIR/secret"
mcp command "/bin/cat"
CONF

say "configuration ($DIR/brokerd.conf)"
cat "$DIR/brokerd.conf"
say "brokerd -n"
"$PREFIX/sbin/brokerd" -n -f "$DIR/brokerd.conf" || exit 1
say "starting brokerd -d on 127.0.0.1:$PORT"
"$PREFIX/sbin/brokerd" -d -f "$DIR/brokerd.conf" 2>"$DIR/log" &
PID=$!
i=0
until grep -q "parent: ready" "$DIR/log" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { cat "$DIR/log"; exit 1; }
	sleep 0.1
done
sed 's/^/    /' "$DIR/log"
say "processes"
ps -o pid,user,args --ppid "$PID" --pid "$PID" | cut -c1-60
say "GET /healthz"
curl -s -i "http://127.0.0.1:$PORT/healthz"
echo
say "stopping brokerd (SIGTERM)"
kill "$PID"
wait "$PID"
echo "exit status $?"
PID=
