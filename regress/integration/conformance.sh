# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in regress/conformance/package.json to 0.1.13, the last release
# that runs on Node 20) against brokerd's /mcp, with a broker access token
# from the OAuth flow, and regress/conformance-server.py, the suite's
# fixtures over stdio, as brokerd's MCP child.  What it exercises is the
# relay: Streamable HTTP sessions, requests and answers, notifications
# during a call (logging, progress), requests of the server to the client
# (sampling, elicitation) and the DNS rebinding checks.
#
# One TAP line per scenario of the active suite, then one for the exit
# status of the suite, which is 0 only if the failing scenarios are
# exactly those of regress/conformance/expected-failures.yml.  The suite
# is installed once into regress/obj/conformance.
. "$TOP/regress/integration/lib.sh"
. "$TOP/regress/conformance/bearer.sh"

CONF_SRC=$TOP/regress/conformance
CONF_DIR=$TOP/regress/obj/conformance
CONF_PKG=$CONF_DIR/node_modules/@modelcontextprotocol/conformance

jv() { python3 "$TOP/regress/browser.py" json "$1" "$2" 2>/dev/null; }

conformance_installed() {
	want=$(jv "$CONF_SRC/package.json" \
	    dependencies.@modelcontextprotocol/conformance)
	have=$(jv "$CONF_PKG/package.json" version)
	[ -n "$want" ] && [ "$want" = "$have" ] &&
	    cmp -s "$CONF_SRC/package-lock.json" "$CONF_DIR/package-lock.json"
}

conformance_install() {
	conformance_installed && return 0
	mkdir -p "$CONF_DIR" || return 1
	cp "$CONF_SRC/package.json" "$CONF_SRC/package-lock.json" \
	    "$CONF_DIR/" || return 1
	(cd "$CONF_DIR" && timeout 150 npm ci --no-audit --no-fund) \
	    >> "$T_LOG" 2>&1 || return 1
	conformance_installed
}

finish() {
	save_log
	save_double_log
	done_testing
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	skip "the MCP conformance suite through brokerd" \
	    "node and npm are not installed"
	done_testing
fi
if ! conformance_install; then
	not_ok "the pinned conformance suite installs into regress/obj/conformance (npm ci)"
	done_testing
fi
ok "@modelcontextprotocol/conformance $(jv "$CONF_PKG/package.json" version) is installed"
# The preload imports undici: it must resolve from the suite's install.
cp "$CONF_SRC/bearer-preload.mjs" "$CONF_DIR/bearer-preload.mjs"

ensure_user || exit 1
PORT=$(free_port)
if ! start_double; then
	not_ok "the Forgejo double starts"
	sed 's/^/# /' "$T_DIR/double.err"
	done_testing
fi

# The child reads its script from T_DIR, which the unprivileged user can
# traverse; the sandbox allows the absolute paths of "mcp command".  The
# suite opens a session per scenario and never deletes one (about 32 per
# run), more than the default limit per user.
cp "$TOP/regress/conformance-server.py" "$T_DIR/conformance-server.py"
chmod 644 "$T_DIR/conformance-server.py"
gen_config "$T_DIR/gen.conf" "mcp max sessions 128
mcp max sessions per user 64"
{
	grep -v '^mcp command ' "$T_DIR/gen.conf"
	echo "mcp command \"/usr/bin/python3\" \"$T_DIR/conformance-server.py\""
} > "$T_DIR/brokerd.conf"
if ! start_brokerd "$T_DIR/brokerd.conf"; then
	not_ok "brokerd starts with the conformance fixtures as its MCP server"
	finish
fi
ok "brokerd starts with the conformance fixtures as its MCP server"
PUB="http://127.0.0.1:$PORT"

if ! TOKEN=$(get_bearer alice /mcp); then
	not_ok "a broker access token from the OAuth flow"
	sed 's/^/#   /' "$T_DIR/bearer.err"
	finish
fi
ok "a broker access token from the OAuth flow"

# --- the suite ------------------------------------------------------------

RESULTS=$T_DIR/results
(cd "$T_DIR" && MCP_URL="$PUB/mcp" MCP_BEARER="$TOKEN" NO_COLOR=1 \
    timeout 120 node --import "$CONF_DIR/bearer-preload.mjs" \
    "$CONF_PKG/dist/index.js" server --url "$PUB/mcp" \
    --expected-failures "$CONF_SRC/expected-failures.yml" \
    -o "$RESULTS" > "$T_DIR/suite.out" 2> "$T_DIR/suite.err")
rc=$?
{
	echo "==== $T_NAME: conformance output (exit $rc) ===="
	cat "$T_DIR/suite.out" "$T_DIR/suite.err"
} >> "$T_LOG"

# One line per scenario, from its checks.json: "STATUS<TAB>NAME<TAB>WHY",
# STATUS pass, fail, xfail (failing, as expected-failures.yml says) or
# xpass (passing although listed there).  Scenarios that the summary
# names but that left no results count as failing.
python3 - "$RESULTS" "$CONF_SRC/expected-failures.yml" "$T_DIR/suite.out" \
    > "$T_DIR/scenarios" <<'PY'
import json, os, re, sys

results, baseline, out = sys.argv[1:4]
# An entry's reason: the comment lines right above it.
expected = {}
reason = []
for line in open(baseline):
    s = line.strip()
    if s.startswith("#"):
        reason.append(s.lstrip("#").strip())
        continue
    names = re.findall(r"^-\s*([A-Za-z0-9_.-]+)", s)
    m = re.match(r"^server:\s*\[(.*)\]", s)     # the flow form
    if m:
        names = re.findall(r"[A-Za-z0-9_.-]+", m.group(1))
    for n in names:
        expected[n] = " ".join(reason) or "listed in expected-failures.yml"
    reason = []

seen = {}
try:
    dirs = sorted(os.listdir(results))
except OSError:
    dirs = []
for d in dirs:
    m = re.match(r"^server-(.+)-\d{4}-\d{2}-\d{2}T.*$", d)
    if not m:
        continue
    name = m.group(1)
    try:
        checks = json.load(open(os.path.join(results, d, "checks.json")))
    except (OSError, ValueError) as e:
        seen[name] = (False, 0, 0, ["no readable checks.json: %s" % e])
        continue
    fails = [c for c in checks if c.get("status") == "FAILURE"]
    warns = [c for c in checks if c.get("status") == "WARNING"]
    why = ["%s: %s" % (c.get("name"), c.get("errorMessage") or "")
           for c in fails + warns]
    npass = sum(1 for c in checks if c.get("status") == "SUCCESS")
    seen[name] = (not fails, npass, len(fails), why)

# The summary names every scenario run, "✓ name: N passed, M failed".
ansi = re.compile(r"\x1b\[[0-9;]*m")
for line in open(out, errors="replace"):
    m = re.match(r"^\s*\S+\s+([a-z0-9][a-z0-9-]*): \d+ passed, \d+ failed",
                 ansi.sub("", line))
    if m and m.group(1) not in seen:
        seen[m.group(1)] = (False, 0, 0, ["in the summary, but no results"])

for name in sorted(seen):
    good, npass, nfail, why = seen[name]
    if name in expected:
        status = "xpass" if good else "xfail"
        why = [expected[name]] + why
    else:
        status = "pass" if good else "fail"
    detail = "%d checks passed, %d failed" % (npass, nfail)
    print("%s\t%s\t%s\t%s" % (status, name, detail,
                              " | ".join(" ".join(w.split())[:300]
                                         for w in why)))
PY

if [ ! -s "$T_DIR/scenarios" ]; then
	not_ok "the conformance suite reports its scenarios"
	head -c 1500 "$T_DIR/suite.err" "$T_DIR/suite.out" | sed 's/^/#   /'
fi
npass=0
nscen=0
while IFS='	' read -r status name detail why; do
	nscen=$((nscen + 1))
	case $status in
	pass)
		npass=$((npass + 1))
		ok "conformance $name ($detail)"
		[ -n "$why" ] && echo "#   warnings: $why"
		;;
	xfail)
		skip "conformance $name ($detail)" "expected failure: $why"
		;;
	xpass)
		not_ok "conformance $name passes but is listed in expected-failures.yml"
		;;
	*)
		not_ok "conformance $name ($detail)"
		echo "#   $why"
		;;
	esac
done < "$T_DIR/scenarios"
echo "# conformance: $npass of $nscen scenarios passed"
if [ "$rc" -eq 0 ]; then
	ok "the conformance suite exits 0 (failures as in expected-failures.yml)"
else
	not_ok "the conformance suite exits 0 (it exited $rc)"
	grep -a -E 'Total:|[Bb]aseline|xpected|[Ss]tale|Error:' "$T_DIR/suite.out" \
	    "$T_DIR/suite.err" 2>/dev/null | head -n 10 | sed 's/^/#   /'
fi

check "brokerd is still running after the suite" kill -0 "$BROKERD_PID"

# The suite leaves its sessions open; stopping brokerd stops their
# children (whose command line names this test's directory).
mcp_children() {
	pgrep -f "^/usr/bin/python3 $T_DIR/conformance-server.py" | wc -l
}
nkids=$(mcp_children)
echo "# $nkids MCP children running after the suite"
kill -TERM "$BROKERD_PID"
if wait_gone "$BROKERD_PID" 10; then
	ok "brokerd stops on SIGTERM"
else
	not_ok "brokerd stops on SIGTERM within 10 seconds"
fi
i=0
while [ "$i" -lt 50 ] && [ "$(mcp_children)" -gt 0 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "no MCP child is left after brokerd stops" [ "$(mcp_children)" -eq 0 ]
finish
