# kill -9 of any non-parent process ends the whole daemon within two
# seconds, with a log line naming the lost process and nothing left.
. "$TOP/regress/integration/lib.sh"

ensure_user || exit 1
for victim in "brokerd: http" "tokend" "spawnd"; do
	gen_config "$T_DIR/brokerd.conf"
	if ! start_brokerd "$T_DIR/brokerd.conf"; then
		not_ok "brokerd starts (before killing $victim)"
		save_log
		continue
	fi
	pids=$(ps -o pid= --ppid "$BROKERD_PID")
	v=$(child_pid "$BROKERD_PID" "$victim")
	kill -9 "$v"
	if wait_gone "$BROKERD_PID" 2; then
		ok "kill -9 $victim: brokerd exits within 2 s"
		wait "$BROKERD_PID"
		rc=$?
		check "kill -9 $victim: exit status is not 0" [ "$rc" -ne 0 ]
	else
		not_ok "kill -9 $victim: brokerd exits within 2 s"
	fi
	name=${victim#brokerd: }
	check "kill -9 $victim: the log names the lost process" \
	    grep -q "lost child: $name" "$BROKERD_LOG"
	left=
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && left="$left $p"
	done
	check "kill -9 $victim: no process left behind" [ -z "$left" ]
	save_log
	PORT= FORGEJO_PORT=
done
done_testing
