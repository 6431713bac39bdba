# lifecycle_lib.sh: what regress/integration/lifecycle.sh and
# lifecycle_faults.sh share (the tests of the upstream token lifecycle:
# brokerd.8, TOKEN LIFECYCLE).  Sourced after regress/integration/lib.sh
# and regress/conformance/bearer.sh.
#
# The MCP requests are made by regress/mcpclient.py, the loops of tool
# calls and the database check by regress/lifecycle_calls.py; answers are
# asserted on with python expressions ("m" is the JSON document).

. "$TOP/regress/mcp_lib.sh"
EXPECT_CUT=1500		# a failed expect shows this much of the document

LC=$TOP/regress/lifecycle_calls.py
lcall() { python3 "$LC" "$@"; }

# A python condition on an rpc answer: get_my_user_info answered LOGIN.
whoami_ok() {
	echo "m['status'] == 200 and 'result' in m['json'] and not m['json']['result'].get('isError') and m['json']['result']['content'][0]['text'] == '$1'"
}

# child_of SESSION: the pid of the session's current child, from the log
# (the child it started with, or the last one that replaced it).
child_of() {
	_s8=$(printf '%.8s' "$1")
	sed -n -e "s/.*session $_s8 of user [^ ]*: child \([0-9][0-9]*\) ready.*/\1/p" \
	    -e "s/.*session $_s8 of user [^ ]*: child \([0-9][0-9]*\) replaces child .*/\1/p" \
	    "$BROKERD_LOG" | tail -n 1
}

# children_of SESSION: every child the log names for the session, the
# replaced ones included, each once.
children_of() {
	_s8=$(printf '%.8s' "$1")
	sed -n -e "s/.*session $_s8 of user [^ ]*: child \([0-9][0-9]*\) ready.*/\1/p" \
	    -e "s/.*session $_s8 of user [^ ]*: replaced child \([0-9][0-9]*\) by \([0-9][0-9]*\).*/\1 \2/p" \
	    "$BROKERD_LOG" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' '
}

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
	    [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# alive_of PID...: those of the processes that are alive.
alive_of() {
	for _p in "$@"; do alive "$_p" && printf '%s ' "$_p"; done
	return 0
}

# env_of PID NAME: a variable of the process's initial environment.
env_of() {
	tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | sed -n "s/^$2=//p"
}

# now: the time, in seconds with a fraction.
now() { date +%s.%N; }

# before A B: true if the time A is before the time B.
before() { python3 -c "import sys; sys.exit(0 if $1 < $2 else 1)"; }

# gone_by DEADLINE PID...: true once none of the processes is alive, at
# the latest at the time DEADLINE (seconds since the epoch).
gone_by() {
	_dl=$1
	shift
	while :; do
		[ -z "$(alive_of "$@")" ] && return 0
		before "$(now)" "$_dl" || break
		sleep 0.05
	done
	[ -z "$(alive_of "$@")" ]
}

# count PATTERN: the lines of the daemon's log that match (grep -E).
count() {
	grep -a -c -E -e "$1" "$BROKERD_LOG" 2>/dev/null | tr -d ' '
}

# wait_count PATTERN N SECONDS: wait until at least N lines match.
wait_count() {
	_i=0
	while [ "$_i" -lt $(($3 * 20)) ]; do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.05
		_i=$((_i + 1))
	done
	[ "$(count "$1")" -ge "$2" ]
}

# log_since LINE: the log from line LINE (a wc -l taken earlier) on.
log_since() {
	tail -n +"$(($1 + 1))" "$BROKERD_LOG"
}

loglines() { wc -l < "$BROKERD_LOG" | tr -d ' '; }

# bearer USER: get_bearer, tried three times: its PKCE verifier starts
# with "-" once in 64 runs, which browser.py's argument parser refuses.
# The token endpoint's answer stays in T_DIR/bearer.tok, the client's
# registration in T_DIR/bearer.reg.
bearer() {
	for _try in 1 2 3; do
		rm -f "$T_DIR/bearer.jar"
		get_bearer "$1" /mcp && return 0
	done
	return 1
}

# lc_double [forgejo-double options...]: the Forgejo double, as
# bearer.sh's start_double does, with more options (--access-lifetime,
# --state, --port).  Sets FORGEJO_PORT and DOUBLE_PID; the port is kept
# when --port names one.
lc_double() {
	: > "$T_DIR/double.out"
	python3 "$TOP/regress/forgejo-double.py" \
	    --app "regress-client:regress-client-secret:http://127.0.0.1:$PORT/callback:confidential" \
	    --auto-approve --log "$T_DIR/double.log" "$@" \
	    >"$T_DIR/double.out" 2>>"$T_DIR/double.err" &
	DOUBLE_PID=$!
	track "$DOUBLE_PID"
	_i=0 _fp=
	while [ "$_i" -lt 100 ]; do
		_fp=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$T_DIR/double.out")
		[ -n "$_fp" ] && break
		kill -0 "$DOUBLE_PID" 2>/dev/null || break
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -n "$_fp" ] || return 1
	FORGEJO_PORT=$_fp
	FJ=http://127.0.0.1:$FORGEJO_PORT
	export FORGEJO_PORT
}

# double_post PATH: a POST to a test-control endpoint of the double;
# prints the status.
double_post() {
	curl -s -m 10 --noproxy '*' -X POST -o "$T_DIR/double.ctl" \
	    -w '%{http_code}' "$FJ$1"
}

# double_stats FILE: the double's counters in T_DIR/FILE.
double_stats() {
	curl -s -m 10 --noproxy '*' -o "$T_DIR/$1" "$FJ/_double/stats"
}

# stat_of FILE EXPR: a number from the counters in T_DIR/FILE (a python
# expression on s, 0 for a counter not there yet).
stat_of() {
	python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
try:
    v = eval(sys.argv[2], {"s": s})
except (KeyError, IndexError, TypeError):
    v = 0
print(v)' "$T_DIR/$1" "$2"
}

# lc_config FILE MCP-COMMAND-STATEMENT [EXTRA]: gen_config's configuration
# with another mcp command statement (empty: the stand-in's).
lc_config() {
	gen_config "$1" "${3:-}"
	if [ -n "$2" ]; then
		grep -v '^mcp command ' "$1" > "$1.new"
		printf '%s\n' "$2" >> "$1.new"
		mv "$1.new" "$1"
	fi
}

# stop_brokerd: SIGTERM, and wait for the whole daemon to go.
stop_brokerd() {
	kill -0 "$BROKERD_PID" 2>/dev/null || return 0
	kill -TERM "$BROKERD_PID"
	wait_gone "$BROKERD_PID" 10 || kill -9 "$BROKERD_PID"
	wait "$BROKERD_PID" 2>/dev/null
	return 0
}

# restart_brokerd CONF: start again on the same port and database; the
# log of the run before goes to the suite's log.
restart_brokerd() {
	stop_brokerd
	save_log
	start_brokerd "$1"
}

# db_check WHEN: with brokerd stopped, the database passes PRAGMA
# integrity_check, and no row that is not waiting for the reaper holds
# a Forgejo token the double no longer accepts (lifecycle_calls.py
# dbcheck).  Three TAP lines.
db_check() {
	_db=$T_DIR/db/brokerd.db
	stop_brokerd
	expect_sh "$1: brokerd stopped for the database check" \
	    "brokerd ($BROKERD_PID) still runs" sh -c "! kill -0 $BROKERD_PID"
	_ic=$(sqlite3 -readonly "$_db" 'PRAGMA integrity_check' 2>&1)
	expect_sh "$1: the database passes PRAGMA integrity_check" \
	    "sqlite3 says: $(echo "$_ic" | head -n 5 | tr '\n' ' ')" \
	    [ "$_ic" = ok ]
	lcall dbcheck "$_db" "$FJ" --client-id regress-client \
	    > "$T_DIR/dbcheck.$T_N" 2>&1
	_f=dbcheck.$T_N
	expect "$1: no live row holds a Forgejo token the double no longer accepts" \
	    "$_f" "m['problems'] == [] and m['live'] >= 1"
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print("#   rows checked: %(live)s live (%(api_checked)s with an unexpired access token), %(reaper)s waiting for the reaper" % m)' \
	    "$T_DIR/$_f" 2>/dev/null
	# Whatever sqlite3 left behind is the daemon's again.
	is_root && chown -R "$TEST_USER" "$T_DIR/db"
	return 0
}

# lc_finish: end of a test.
lc_finish() {
	for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null; done
	stop_brokerd
	save_log
	save_double_log
	done_testing
}
BG_PIDS=
