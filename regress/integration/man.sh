# The manual pages are clean under mandoc's linter at warning level.
. "$TOP/regress/integration/lib.sh"

for m in brokerd.8 brokerd.conf.5; do
	out=$(mandoc -Tlint -Wwarning "$TOP/$m" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
		ok "mandoc -Tlint -Wwarning $m"
	else
		not_ok "mandoc -Tlint -Wwarning $m: $out"
	fi
done
done_testing
