#!/bin/sh
# Benchmark the runner (runner.Run, Docker backend, artifact "dist" of the
# runner end-to-end tests' autotools project) against the same commands
# run by hand with plain `docker run`, and its warm second run against the
# cold first one (a minbase base image that is not in the engine, a fresh
# cache dir, and a setup step that installs the toolchain from the Debian
# mirror). Writes bench/runner/results.md and prints it.
#
# Usage: bench/runner/run.sh
#        (VERIFY_RELEASE_BENCH_N=7 repetitions by default, ~2 min each; it
#        holds ${BENCH_LOCK:-/tmp/verify-release-bench.lock} with flock(1) so
#        it never overlaps other benchmarks on the machine)
# Needs: go, git, docker (a reachable Docker Engine), network access to
# deb.debian.org; root the first time if the test image's root file system
# (pkg/testenv, debootstrap) is not cached yet.
# Exit status: non-zero when a target is missed (the results are still
# written) or the run fails.
set -eu

lock=${BENCH_LOCK:-/tmp/verify-release-bench.lock}
if [ -z "${BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
	BENCH_LOCKED=1 exec flock "$lock" "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/results.md
log=${TMPDIR:-/tmp}/verify-release-bench-runner.log

new=$(mktemp)
trap 'rm -f "$new"' EXIT INT TERM

cd "$root"
VERIFY_RELEASE_BENCH_OUT=$new \
VERIFY_RELEASE_BENCH_N=${VERIFY_RELEASE_BENCH_N:-7} \
	go test -tags bench -count=1 -timeout 60m -run '^TestBenchRunner$' -v ./bench/runner >"$log" 2>&1 || status=$?
# Only this run's tables: an earlier results.md is kept when the run
# fails before measuring anything.
if [ -s "$new" ]; then
	cp "$new" "$out.tmp" && mv "$out.tmp" "$out"
	cat "$out"
fi
if [ "${status:-0}" -ne 0 ]; then
	echo "bench/runner: go test failed (exit $status); see $log" >&2
	tail -n 30 "$log" >&2
	exit "$status"
fi
