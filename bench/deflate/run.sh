#!/bin/bash
# Benchmark pkg/deflate's GNU gzip and zlib emulation against the C
# implementations, and 'verify-release compression' against 'gzip -dc'.
#
#   1. MB/s at levels 1, 6 and 9 on the same input (a slice of the linux
#      6.1 tar stream): GNU gzip (the system gzip) vs the Go emulation of
#      gzip -cn, and zlib (the system libz through pkg/deflate/testdata/
#      zdeflate.c, 64 KiB per deflate call) vs the Go emulation of zlib.
#      Each pair is also checked to give identical bytes.
#   2. 'verify-release compression' on the whole linux 6.1 tar stream
#      compressed with gzip -9n, against 'gzip -dc' of the same file.
#
# Usage: bench/deflate/run.sh
# Environment:
#   BENCH_CACHE   downloads and built files (default /var/cache/verify-release-bench)
#   SLICE_MB      size of the throughput input in MiB (default 256)
#   LEVELS        levels to measure (default "1 6 9")
#   REPS          runs per measurement, fastest kept (default 1)
#   BENCH_LOCK    lock file shared with the other benchmarks (default /tmp/verify-release-bench.lock)
# Output: a Markdown report on stdout, also written to bench/deflate/results.md.
# The load average is recorded with every figure: the machine may be shared.
set -euo pipefail

lock=${BENCH_LOCK:-/tmp/verify-release-bench.lock}
if [ -z "${BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
	BENCH_LOCKED=1 exec flock "$lock" "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${BENCH_CACHE:-/var/cache/verify-release-bench}
slice_mb=${SLICE_MB:-256}
levels=${LEVELS:-1 6 9}
reps=${REPS:-1}
results=$here/results.md

log() { echo "== $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 2; }

for t in gzip xz gcc go; do command -v $t >/dev/null || die "$t is needed"; done
[ -e /lib/x86_64-linux-gnu/libz.so.1 ] || [ -e /usr/lib/x86_64-linux-gnu/libz.so.1 ] || die "libz.so.1 (zlib1g) is needed"
libz=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -n1)

mkdir -p "$cache/src" "$cache/deflate"
bin=$cache/deflate/bin
mkdir -p "$bin"
(cd "$root" && go build -o "$bin/verify-release" ./cmd/verify-release && go build -o "$bin/emulate" ./bench/deflate/emulate)
gcc -O2 -o "$bin/zdeflate" "$root/pkg/deflate/testdata/zdeflate.c" -ldl

# The linux orig tarball, as bench/diff/run.sh fetches it.
orig=$(ls "$cache/src"/linux_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n1 || true)
if [ -z "$orig" ]; then
	log "apt-get source --download-only linux"
	(cd "$cache/src" && apt-get source -qq --download-only linux >&2)
	orig=$(ls "$cache/src"/linux_*.orig.tar.* | grep -v '\.asc$' | head -n1)
fi
base=$(basename "$orig" | sed 's/\.orig\.tar\..*//')
tarf=$cache/deflate/$base.tar
gzf=$cache/deflate/$base.tar.gz
slice=$cache/deflate/$base.slice$slice_mb.tar
if [ ! -s "$tarf" ]; then
	log "decompressing $(basename "$orig")"
	xz -dc "$orig" > "$tarf.tmp" && mv "$tarf.tmp" "$tarf"
fi
if [ ! -s "$gzf" ]; then
	log "gzip -9n $(basename "$tarf")"
	gzip -9n < "$tarf" > "$gzf.tmp" && mv "$gzf.tmp" "$gzf"
fi
if [ ! -s "$slice" ]; then
	head -c $((slice_mb << 20)) "$tarf" > "$slice.tmp" && mv "$slice.tmp" "$slice"
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
# best CMD...: fastest wall time of REPS runs in seconds; stdin from $in, stdout to $out.
best() {
	local b="" t0 t1 d
	for _ in $(seq "$reps"); do
		t0=$(date +%s.%N)
		"$@" < "$in" > "$out"
		t1=$(date +%s.%N)
		d=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$d < $b" | bc -l)" = 1 ]; then b=$d; fi
	done
	printf '%.2f' "$b"
}
mbps() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }

size=$(stat -c %s "$slice")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
echo "# pkg/deflate benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(go version | cut -d' ' -f3), $(gzip --version | head -n1), zlib $(ZDEFLATE_VERSION=1 "$bin/zdeflate" "$libz" 0 0 0)"
echo
echo "## Compression: $slice_mb MiB of the $base tar stream"
echo
echo "| compressor | level | C s | C MB/s | Go s | Go MB/s | Go/C time | same bytes | load avg (before C, before Go) |"
echo "|---|---|---|---|---|---|---|---|---|"
for l in $levels; do
	in=$slice
	l1=$(load); out=$tmp/c.gz; tc=$(best gzip -cn -$l)
	l2=$(load); out=$tmp/go.gz; tg=$(best "$bin/emulate" gnu $l)
	same=no; cmp -s "$tmp/c.gz" "$tmp/go.gz" && same=yes
	echo "| GNU gzip -cn | $l | $tc | $(mbps "$size" "$tc") | $tg | $(mbps "$size" "$tg") | $(echo "scale=2; $tg / $tc" | bc -l) | $same | $l1; $l2 |"
	l1=$(load); out=$tmp/c.z; tc=$(best "$bin/zdeflate" "$libz" $l -15 65536)
	l2=$(load); out=$tmp/go.z; tg=$(best "$bin/emulate" zlib $l)
	same=no; cmp -s "$tmp/c.z" "$tmp/go.z" && same=yes
	echo "| zlib (raw) | $l | $tc | $(mbps "$size" "$tc") | $tg | $(mbps "$size" "$tg") | $(echo "scale=2; $tg / $tc" | bc -l) | $same | $l1; $l2 |"
done
echo
gsize=$(stat -c %s "$gzf")
tsize=$(stat -c %s "$tarf")
echo "## Identification: $base.tar.gz (gzip -9n, $((gsize >> 20)) MiB; $((tsize >> 20)) MiB uncompressed)"
echo
in=$gzf out=/dev/null
l1=$(load); td=$(best gzip -dc)
l2=$(load)
t0=$(date +%s.%N)
"$bin/verify-release" compression --json "$gzf" > "$tmp/id.json" || true
t1=$(date +%s.%N)
ti=$(printf '%.2f' "$(echo "$t1 - $t0" | bc -l)")
made=$(grep -m1 '"command"' "$tmp/id.json" | sed 's/.*"command": "\(.*\)".*/\1/')
l3=$(load)
t0=$(date +%s.%N)
"$bin/verify-release" compression --json --quick "$gzf" > "$tmp/idq.json" || true
t1=$(date +%s.%N)
tq=$(printf '%.2f' "$(echo "$t1 - $t0" | bc -l)")
madeq=$(grep -m1 '"command"' "$tmp/idq.json" | sed 's/.*"command": "\(.*\)".*/\1/')
echo "| measurement | s | load avg before |"
echo "|---|---|---|"
echo "| gzip -dc | $td | $l1 |"
echo "| verify-release compression (36 candidates, answer: $made) | $ti | $l2 |"
echo "| verify-release compression --quick (first 32 MiB judged, answer: $madeq) | $tq | $l3 |"
echo "| ratio compression / gzip -dc | $(echo "scale=2; $ti / $td" | bc -l) | |"
echo "| ratio compression --quick / gzip -dc | $(echo "scale=2; $tq / $td" | bc -l) | |"
} | tee "$results"
