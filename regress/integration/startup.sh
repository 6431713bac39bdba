# brokerd starts four processes with the documented titles, users and
# sandboxes, answers /healthz through tokend and spawnd, and stops
# cleanly on SIGTERM.
. "$TOP/regress/integration/lib.sh"

ensure_user || exit 1
gen_config "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts and reports ready"
	save_log
	done_testing
fi
ok "brokerd starts and reports ready"

status=$(http_get "http://127.0.0.1:$PORT/healthz")
check "healthz answers 200" [ "$status" = 200 ]
check "healthz reports the database schema through tokend" \
    grep -q '"schema_version":3' "$T_DIR/body"
check "healthz reports spawnd" grep -q '"spawnd":{"status":"ok"' "$T_DIR/body"

HTTP=$(child_pid "$BROKERD_PID" "brokerd: http")
TOKEND=$(child_pid "$BROKERD_PID" "tokend")
SPAWND=$(child_pid "$BROKERD_PID" "spawnd")
check "three children: http, tokend, spawnd" \
    [ -n "$HTTP" ] && [ -n "$TOKEND" ] && [ -n "$SPAWND" ]
nprocs=$(ps -o pid= --ppid "$BROKERD_PID" | wc -l)
check "exactly three children of the parent" [ "$nprocs" -eq 3 ]

# setproctitle() pads the title; compare the first NUL-terminated string.
title() { tr '\0' '\n' < "/proc/$1/cmdline" | head -n 1; }
check "parent title is 'brokerd: parent'" \
    [ "$(title "$BROKERD_PID")" = "brokerd: parent" ]
check "http title is 'brokerd: http'" [ "$(title "$HTTP")" = "brokerd: http" ]
check "tokend title is 'tokend: store'" [ "$(title "$TOKEND")" = "tokend: store" ]
check "spawnd title is 'spawnd: runner'" \
    [ "$(title "$SPAWND")" = "spawnd: runner" ]

# Separate program images: each child's executable is its own file,
# and no two children share an address space with the parent.
check "tokend is its own program image" \
    [ "$(readlink "/proc/$TOKEND/exe")" = "$ROOT/libexec/brokerd/tokend" ]
check "spawnd is its own program image" \
    [ "$(readlink "/proc/$SPAWND/exe")" = "$ROOT/libexec/brokerd/spawnd" ]

field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
uid_of() { awk '$1 == "Uid:" { print $2 }' "/proc/$1/status"; }
for p in "$HTTP:http" "$TOKEND:tokend" "$SPAWND:spawnd"; do
	pid=${p%%:*} name=${p#*:}
	check "$name has NoNewPrivs" [ "$(field "$pid" NoNewPrivs)" = 1 ]
	if is_root; then
		check "$name runs as $TEST_USER" \
		    [ "$(uid_of "$pid")" = "$(id -u "$TEST_USER")" ]
	else
		skip "$name runs as $TEST_USER" "not root"
	fi
done
check "http runs under a seccomp filter" [ "$(field "$HTTP" Seccomp)" = 2 ]
if is_root; then
	check "http is chrooted to the configured directory" \
	    [ "$(readlink "/proc/$HTTP/root")" = "$T_DIR/empty" ]
	check "the parent keeps root to supervise" [ "$(uid_of "$BROKERD_PID")" = 0 ]
else
	skip "http is chrooted" "not root"
	skip "the parent keeps root" "not root"
fi
check "the log says which sandbox applies" grep -q "started, sandbox:" "$BROKERD_LOG"

# The http process holds no descriptor of the database.
check "http holds no database descriptor" \
    sh -c "! ls -l /proc/$HTTP/fd | grep -q brokerd.db"
check "spawnd holds no database descriptor" \
    sh -c "! ls -l /proc/$SPAWND/fd | grep -q brokerd.db"

# SIGHUP is logged and ignored; the daemon keeps serving.
kill -HUP "$BROKERD_PID"
check "SIGHUP is logged as not supported" wait_log "reload is not supported" 5
status=$(http_get "http://127.0.0.1:$PORT/healthz")
check "still serving after SIGHUP" [ "$status" = 200 ]

# A stopped tokend makes /healthz answer 503 naming it.
kill -STOP "$TOKEND"
status=$(http_get "http://127.0.0.1:$PORT/healthz")
check "healthz answers 503 while tokend does not answer" [ "$status" = 503 ]
check "the 503 names tokend" grep -q '"unavailable":\["tokend"\]' "$T_DIR/body"
kill -CONT "$TOKEND"
status=$(http_get "http://127.0.0.1:$PORT/healthz")
check "healthz recovers once tokend answers" [ "$status" = 200 ]

check "unknown paths answer 404" \
    [ "$(http_get "http://127.0.0.1:$PORT/nowhere")" = 404 ]

kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 5; then
	wait "$BROKERD_PID"
	rc=$?
	check "SIGTERM: exit status 0" [ "$rc" -eq 0 ]
else
	not_ok "SIGTERM: exit within 5 seconds"
fi
for p in "$HTTP" "$TOKEND" "$SPAWND"; do
	check "child $p is gone after SIGTERM" sh -c "! kill -0 $p"
done
integrity=$(sqlite3 "$T_DIR/db/brokerd.db" 'PRAGMA integrity_check;')
check "the database passes integrity_check" [ "$integrity" = ok ]
mode=$(stat -c %a "$T_DIR/db/brokerd.db")
check "the database file is private (mode 600)" [ "$mode" = 600 ]
check "no process of the daemon is left" \
    [ -z "$(ps -o pid= --ppid "$BROKERD_PID")" ]
save_log
done_testing
