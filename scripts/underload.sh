#!/usr/bin/env bash
# underload.sh runs a command while N CPU-bound loops (default 8) run beside
# it, the way issue 10 measured the guard and the demo under contention:
#
#   scripts/underload.sh 8 go run ./cmd/migratectl demo
#   scripts/underload.sh 8 scripts/test.sh
#
# The loops are plain shell busy loops at normal priority, stopped when the
# command ends (or after 2 hours at most). It exits with the command's status.
set -u
n=${1:?usage: underload.sh N command...}
shift
pids=()
stop() { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; }
trap stop EXIT
for _ in $(seq "$n"); do
	timeout 7200 bash -c 'while :; do :; done' &
	pids+=($!)
done
"$@"
