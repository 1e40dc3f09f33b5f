#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing
# (redis-server, which every Redis test starts on its own loopback ports;
# promtool, for `promtool check metrics` and the alert rules of runbooks/),
# then go test -race.
#
# Usage: scripts/test.sh [extra go test flags, e.g. -run TestModel]
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

install() {
	if ! have apt-get; then
		echo "test.sh: please install $* with your package manager (Debian/Ubuntu: apt-get install $*)" >&2
		return 1
	fi
	local sudo=""
	if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
	echo "test.sh: installing $* (apt-get)" >&2
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! have redis-server || ! have redis-cli || ! have redis-benchmark; then
	install redis-server redis-tools || { echo "test.sh: redis-server (>= 7.0) is required" >&2; exit 1; }
fi
if ! have promtool; then
	install prometheus || { echo "test.sh: promtool (Debian/Ubuntu: prometheus) is required for runbooks/alerts.yaml" >&2; exit 1; }
fi
# runbooks/alerts_test.go fails instead of skipping without promtool.
export SESSIONMIGRATE_REQUIRE_PROMTOOL=1

if ! have go; then
	echo "test.sh: Go 1.26 is required (https://go.dev/dl/)" >&2
	exit 1
fi

echo "test.sh: $(go version); $(redis-server --version | cut -d' ' -f1-3)" >&2
go vet ./...
exec go test -race -count=1 -timeout 15m "$@" ./...
