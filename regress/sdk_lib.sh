# sdk_lib.sh: the pinned MCP TypeScript SDK (regress/sdk/package.json)
# for the tests that run a client of it (regress/integration/oauth_sdk.sh,
# relay_sdk.sh).  Sourced after regress/integration/lib.sh and a jf
# (jf PATH FILE: a field of a JSON file).

SDK_SRC=$TOP/regress/sdk
SDK_DIR=$TOP/regress/obj/sdk

# sdk_install: the pinned SDK in regress/obj/sdk, unless it is there.
sdk_installed() {
	want=$(jf dependencies.@modelcontextprotocol/sdk "$SDK_SRC/package.json")
	have=$(jf version \
	    "$SDK_DIR/node_modules/@modelcontextprotocol/sdk/package.json")
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	    cmp -s "$SDK_SRC/package-lock.json" "$SDK_DIR/package-lock.json"
}
sdk_install() {
	sdk_installed && return 0
	mkdir -p "$SDK_DIR" || return 1
	cp "$SDK_SRC/package.json" "$SDK_SRC/package-lock.json" "$SDK_DIR/" ||
	    return 1
	(cd "$SDK_DIR" && timeout 240 npm ci --no-audit --no-fund) \
	    >> "$T_LOG" 2>&1 || return 1
	sdk_installed
}

# sdk_tap JSON TAP CUT: the checks of an SDK client's JSON output, one TAP
# line each (a failed one with its detail, cut to CUT characters, as a
# comment); they are kept in TAP.  False, and nothing said, without checks.
sdk_tap() {
	python3 - "$1" "$3" > "$2" <<'PY'
import json, sys
try:
    checks = json.load(open(sys.argv[1]))["checks"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
for c in checks:
    detail = " ".join(str(c.get("detail", "")).split())[:int(sys.argv[2])]
    print("%d\t%s\t%s" % (1 if c["ok"] else 0, c["name"], detail))
PY
	[ -s "$2" ] || return 1
	while IFS='	' read -r pass name detail; do
		if [ "$pass" = 1 ]; then
			ok "$name"
		else
			not_ok "$name"
			[ -n "$detail" ] && echo "#   $detail"
		fi
	done < "$2"
}
