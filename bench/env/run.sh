#!/bin/sh
# Benchmark building an environment from the Debian archive (cold and
# warm) against mmdebstrap run by hand with the same package list, in the
# same run. Writes bench/env/results.md and prints it.
#
# Usage: bench/env/run.sh   (VERIFY_RELEASE_BENCH_N=3 repetitions by default)
# Needs: go, docker, mmdebstrap, root, network access to deb.debian.org.
# Holds ${BENCH_LOCK:-/tmp/verify-release-bench.lock} so it never overlaps
# other benchmarks on the machine.
set -eu
lock=${BENCH_LOCK:-/tmp/verify-release-bench.lock}
if [ -z "${BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
	BENCH_LOCKED=1 exec flock "$lock" "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
new=$(mktemp)
log=${TMPDIR:-/tmp}/verify-release-bench-env.log
trap 'rm -f "$new"' EXIT INT TERM
cd "$root"
VERIFY_RELEASE_BENCH_OUT=$new go test -tags bench -count=1 -timeout 90m -run '^TestBenchEnv$' -v ./bench/env >"$log" 2>&1 || status=$?
if [ -s "$new" ]; then
	cp "$new" "$here/results.md.tmp" && mv "$here/results.md.tmp" "$here/results.md"
	cat "$here/results.md"
fi
if [ "${status:-0}" -ne 0 ]; then
	echo "bench/env: go test failed (exit $status); see $log" >&2
	tail -n 30 "$log" >&2
	exit "$status"
fi
