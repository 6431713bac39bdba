# standalone_lib.sh: what the scripts that run brokerd and the Forgejo
# double by themselves, outside regress/run (bench/run.sh, regress/demo.sh),
# share.  Sourced after they define die MESSAGE.

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# runas_user: sets RUNAS, the user brokerd runs as: _brokerd as root
# (created if it is not there), the invoking user otherwise.
runas_user() {
	if [ "$(id -u)" = 0 ]; then
		id _brokerd >/dev/null 2>&1 ||
		    useradd -r -M -d /var/empty -s /usr/sbin/nologin _brokerd ||
		    die "cannot create the user _brokerd"
		RUNAS=_brokerd
	else
		RUNAS=$(id -un)
	fi
}

# wait_double OUT: wait until the Forgejo double (DOUBLE_PID) prints its
# port into OUT, its standard output; sets FORGEJO_PORT and FORGEJO.
wait_double() {
	i=0
	FORGEJO_PORT=
	while [ -z "$FORGEJO_PORT" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && die "the Forgejo double did not start"
		kill -0 "$DOUBLE_PID" 2>/dev/null ||
		    die "the Forgejo double exited"
		sleep 0.1
		FORGEJO_PORT=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$1")
	done
	FORGEJO=http://127.0.0.1:$FORGEJO_PORT
}
