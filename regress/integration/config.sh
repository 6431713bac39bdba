# brokerd -n: a good configuration passes, and each kind of error is
# reported as file:line with exit status 1.
. "$TOP/regress/integration/lib.sh"

ensure_user || exit 1
gen_config "$T_DIR/good.conf"
out=$("$BROKERD" -n -f "$T_DIR/good.conf" 2>&1)
rc=$?
check "-n on a good configuration exits 0" [ "$rc" -eq 0 ]
check "-n prints 'configuration OK'" [ "$out" = "configuration OK" ]

"$BROKERD" -nv -f "$T_DIR/good.conf" > "$T_DIR/normalised.conf" 2>/dev/null
check "-nv prints the normalised configuration" \
    grep -q '^public url "http://127.0.0.1:' "$T_DIR/normalised.conf"
check "-nv shows the defaults explicitly" \
    grep -q '^mcp max sessions per user ' "$T_DIR/normalised.conf"
check "-nv hides the client secret" \
    sh -c "! grep -q regress-client-secret '$T_DIR/normalised.conf'"
cp "$T_DIR/secret" "$T_DIR/secret2"
sed "s|forgejo client secret \"[*]*\"|forgejo client secret file \"$T_DIR/secret2\"|" \
    "$T_DIR/normalised.conf" > "$T_DIR/reparse.conf"
check "the normalised configuration parses again" \
    "$BROKERD" -n -f "$T_DIR/reparse.conf"

sd=$(mktemp -d "$T_DIR/etc.XXXXXX")
printf 's3cret\n' > "$sd/forgejo-secret"
chmod 600 "$sd/forgejo-secret"
check "etc/brokerd.conf passes brokerd -n" \
    "$BROKERD" -n -D "secret_file=$sd/forgejo-secret" -f "$TOP/etc/brokerd.conf"

# expect_error NAME FILE PATTERN: exit 1 and a message matching PATTERN.
expect_error() {
	out=$("$BROKERD" -n -f "$2" 2>&1)
	rc=$?
	check "$1: exit status 1" [ "$rc" -eq 1 ]
	if printf '%s\n' "$out" | grep -q "$3"; then
		ok "$1: message names the place ($3)"
	else
		not_ok "$1: message names the place ($3); got: $out"
	fi
}

{ cat "$T_DIR/good.conf"; echo 'lisen on 127.0.0.1 port 1'; } > "$T_DIR/kw.conf"
line=$(wc -l < "$T_DIR/kw.conf")
expect_error "unknown keyword" "$T_DIR/kw.conf" "kw.conf:$line:"

sed 's/^listen on 127.0.0.1 port .*/listen on 127.0.0.1 port 99999/' \
    "$T_DIR/good.conf" > "$T_DIR/port.conf"
line=$(grep -n '^listen' "$T_DIR/port.conf" | cut -d: -f1)
expect_error "bad port" "$T_DIR/port.conf" "port.conf:$line:.*port"

grep -v '^public url' "$T_DIR/good.conf" > "$T_DIR/missing.conf"
expect_error "missing public url" "$T_DIR/missing.conf" "missing.conf.*public url"

{ cat "$T_DIR/good.conf"; echo "include \"$T_DIR/nonexistent.conf\""; } \
    > "$T_DIR/inc.conf"
line=$(wc -l < "$T_DIR/inc.conf")
expect_error "unreadable include" "$T_DIR/inc.conf" "inc.conf:$line:"

chmod 644 "$T_DIR/secret"
expect_error "world-readable secret file" "$T_DIR/good.conf" \
    "good.conf:[0-9]*:.*readable by group or others"
chmod 600 "$T_DIR/secret"

# An unknown user is refused at start, clearly.
if is_root; then
	sed "s/^user .*/user \"no-such-user-$$\"/" "$T_DIR/good.conf" \
	    > "$T_DIR/nouser.conf"
	out=$(timeout 10 "$BROKERD" -d -f "$T_DIR/nouser.conf" 2>&1)
	rc=$?
	check "unknown user: exit status 1" [ "$rc" -eq 1 ]
	check "unknown user: the message names the user" \
	    sh -c "printf '%s' '$out' | grep -q 'no-such-user-$$ does not exist'"
else
	skip "unknown user is refused" "not root"
fi

out=$("$BROKERD" -x 2>&1)
rc=$?
check "an unknown flag prints the usage and exits 1" \
    sh -c "[ $rc -eq 1 ] && printf '%s' '$out' | grep -q 'usage: brokerd \[-dnv\] \[-D macro=value\] \[-f file\]'"
done_testing
