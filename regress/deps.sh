#!/bin/sh
# Make sure the build and test dependencies are present.  On Debian, as
# root, install what is missing and say what; elsewhere say what to run.

debs="build-essential pkg-config byacc mandoc libevent-dev libtls-dev
libjansson-dev libsqlite3-dev libbsd-dev libmd-dev sqlite3 python3 curl
openssl nodejs npm procps"

if [ "$(uname -s)" = OpenBSD ]; then
	missing=
	for p in jansson sqlite3 mandoc node python3 curl; do
		pkg_info -e "$p-*" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "deps: missing packages; run: pkg_add$missing"
		exit 1
	fi
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not Debian; install the equivalents of: $debs" >&2
	exit 0
fi

missing=
for p in $debs; do
	# nodejs and npm may come from elsewhere than Debian (NodeSource):
	# a working node and npm are enough.
	case $p in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing; run as root: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
    { echo "deps: apt-get install failed" >&2; exit 1; }
