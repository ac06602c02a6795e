#!/bin/sh
# Memory against the number of members: peak RSS (GNU time %M) of diff,
# diff --json and normalize --sort on gzip'ed tars of N one-byte members
# (default 1,000,000; the issue's target is under 200 MB), with a baseline
# measured in the same run: gzip -dc of the same file (the decompression
# floor) and, for scale, N=100,000.
#
# Usage: bench/members/run.sh [N] [BINARY]
# Needs: go, gzip, /usr/bin/time. Prints a Markdown table.
set -eu
n=${1:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$root" && go build -o "$work/gen" ./bench/members/gen)
if [ $# -ge 2 ]; then vr=$2; else (cd "$root" && go build -o "$work/vr" ./cmd/verify-release); vr=$work/vr; fi
measure() { # label cmd...
	label=$1; shift
	/usr/bin/time -f "%M %e" -o "$work/time" "$@" > /dev/null 2> "$work/err" || true
	# GNU time puts "Command exited with non-zero status" first.
	read -r kb s <<-T
	$(tail -n 1 "$work/time")
	T
	printf '| %s | %s | %.0f | %.1f |\n' "$label" "$count" "$(echo "$kb / 1024" | bc -l)" "$s"
}
echo "| command | members | peak RSS MB | s |"
echo "|---|---|---|---|"
for count in $((n / 10)) "$n"; do
	"$work/gen" -n "$count" -o "$work/a.tar.gz"
	"$work/gen" -n "$count" -flip 1000 -o "$work/b.tar.gz"
	measure "gzip -dc (floor)" gzip -dc "$work/a.tar.gz"
	measure "diff" "$vr" diff "$work/a.tar.gz" "$work/b.tar.gz"
	measure "diff --json" "$vr" diff --json "$work/a.tar.gz" "$work/b.tar.gz"
	measure "normalize --sort" "$vr" normalize --sort -o "$work/n.tar.gz" "$work/a.tar.gz"
	rm -f "$work/n.tar.gz"
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
