#!/bin/bash
# deps.sh: install what sesd needs to build, test and run locally (Debian 12, as root).
# Fast when everything is there: dpkg-query first; apt-get update + install only for
# missing packages. Then the Node packages of the integration tests (npm ci) when
# tests/integration/node_modules is missing or older than package-lock.json.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)

PACKAGES="build-essential cmake pkg-config libevent-dev libesmtp-dev libyajl-dev libpq-dev
libssl-dev libcmocka-dev postgresql-15 postfix python3-aiosmtpd python3-dkim clang-format cppcheck \
dnsmasq-base"

installed() {
	case "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" in
	*" ok installed") return 0 ;;
	*) return 1 ;;
	esac
}

missing=
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
# Node.js: the machine may carry NodeSource's nodejs, which bundles npm and conflicts with
# Debian's npm package; ask for Debian's packages only when the commands are absent.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing (run as root: apt-get install$missing)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# postfix is here only for smtp-sink/smtp-source: no mail system configured or started
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

# Node packages of the integration tests
IT="$REPO/tests/integration"
stamp="$IT/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$IT/package-lock.json" -nt "$stamp" ] || [ "$IT/package.json" -nt "$stamp" ]; then
	echo "deps: npm ci in tests/integration"
	(cd "$IT" && npm ci --no-audit --no-fund --loglevel=error)
	touch "$stamp"
fi
