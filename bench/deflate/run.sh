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
#      compressed with gzip -9n, against 'gzip -dc' of the same file: with
#      the default --jobs (every CPU proving segments), with --jobs 1 (one
#      sequential run, the way it worked before segments) and --quick.
#
# Usage: bench/deflate/run.sh
# Environment:
#   BENCH_CACHE   downloads and built files (default /var/cache/verify-release-bench)
#   SLICE_MB      size of the throughput input in MiB (default 256)
#   LEVELS        levels to measure (default "1 6 9")
#   REPS          runs per measurement, fastest kept (default 1)
#   SECTIONS      "compress identify" (default both; one alone writes results.partial.md)
#   BENCH_LOCK    lock file shared with the other benchmarks (default /tmp/verify-release-bench.lock)
# Output: a Markdown report on stdout, also written to bench/deflate/results.md;
# what follows the line "<!-- kept by run.sh -->" there (notes, fuzzing and
# oracle runs recorded by hand) is kept.
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
sections=${SECTIONS:-compress identify}
results=$here/results.md
# A run of some sections only does not replace the full report.
[ "$sections" = "compress identify" ] || results=$here/results.partial.md

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
gz1=$cache/deflate/$base.tar.1.gz
if [[ " ${SECTIONS:-compress identify} " == *" identify "* ]] && [ ! -s "$gz1" ]; then
	log "gzip -1n $(basename "$tarf")"
	gzip -1n < "$tarf" > "$gz1.tmp" && mv "$gz1.tmp" "$gz1"
fi
if [ ! -s "$slice" ]; then
	head -c $((slice_mb << 20)) "$tarf" > "$slice.tmp" && mv "$slice.tmp" "$slice"
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
# best CMD...: fastest of REPS runs, stdin from $in, stdout to $out; prints
# "WALL CPU" in seconds (CPU = user + sys, less sensitive to a shared machine).
best() {
	local b="" c="" w u s
	for _ in $(seq "$reps"); do
		/usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" < "$in" > "$out"
		read -r w u s < "$tmp/time"
		if [ -z "$b" ] || [ "$(echo "$w < $b" | bc -l)" = 1 ]; then b=$w; c=$(echo "$u + $s" | bc -l); fi
	done
	printf '%.2f %.2f' "$b" "$c"
}
mbps() { echo "scale=1; $1 / 1048576 / $2" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
# json FIELD FILE: the first value of FIELD in a compression --json report.
json() { grep -m1 "\"$1\"" "$2" | sed 's/.*": "*\([^",]*\)"*,*$/\1/'; }
# identify_table GZ [quick]: gzip -dc of GZ against verify-release
# compression on all CPUs and with --jobs 1 (and --quick), as a table.
identify_table() {
	local gz=$1 l td cd ti ci t1 c1 tq cq
	in=$gz out=/dev/null
	l[0]=$(load); read -r td cd <<< "$(best gzip -dc)"
	in=/dev/null out=$tmp/id.json
	l[1]=$(load); read -r ti ci <<< "$(best "$bin/verify-release" compression --json "$gz")"
	out=$tmp/id1.json
	l[2]=$(load); read -r t1 c1 <<< "$(best "$bin/verify-release" compression --json --jobs 1 "$gz")"
	echo "| measurement | wall s | CPU s | load avg before |"
	echo "|---|---|---|---|"
	echo "| gzip -dc | $td | $cd | ${l[0]} |"
	echo "| verify-release compression (38 candidates, $(nproc) jobs, $(json segments "$tmp/id.json") segments, answer: $(json command "$tmp/id.json")) | $ti | $ci | ${l[1]} |"
	echo "| verify-release compression --jobs 1 (one sequential run, answer: $(json command "$tmp/id1.json")) | $t1 | $c1 | ${l[2]} |"
	if [ "${2:-}" = quick ]; then
		out=$tmp/idq.json
		l[3]=$(load); read -r tq cq <<< "$(best "$bin/verify-release" compression --json --quick "$gz")"
		echo "| verify-release compression --quick (first 32 MiB judged, answer: $(json command "$tmp/idq.json")) | $tq | $cq | ${l[3]} |"
	fi
	echo "| ratio compression / gzip -dc | $(ratio "$ti" "$td") | $(ratio "$ci" "$cd") | |"
	echo "| ratio compression --jobs 1 / gzip -dc | $(ratio "$t1" "$td") | $(ratio "$c1" "$cd") | |"
	if [ "${2:-}" = quick ]; then
		echo "| ratio compression --quick / gzip -dc | $(ratio "$tq" "$td") | $(ratio "$cq" "$cd") | |"
	fi
}

size=$(stat -c %s "$slice")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
marker='<!-- kept by run.sh -->'
kept=$tmp/kept.md
: > "$kept"
[ -f "$here/results.md" ] && sed -n "/^$marker\$/,\$p" "$here/results.md" > "$kept"
[ -x /usr/bin/time ] || die "/usr/bin/time (Debian package time) is needed"
{
echo "# pkg/deflate benchmark"
echo
echo "$(nproc) CPUs, $(go version | cut -d' ' -f3), $(gzip --version | head -n1), zlib $(ZDEFLATE_VERSION=1 "$bin/zdeflate" "$libz" 0 0 0)"
echo
if [[ " $sections " == *" compress "* ]]; then
echo "## Compression: $slice_mb MiB of the $base tar stream"
echo
echo "Measured $(date -u +%Y-%m-%dT%H:%MZ)."
echo
echo "| compressor | level | C s (CPU s) | C MB/s | Go s (CPU s) | Go MB/s | Go/C wall | Go/C CPU | same bytes | load avg (before C, before Go) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for l in $levels; do
	in=$slice
	l1=$(load); out=$tmp/c.gz; read -r tc cc <<< "$(best gzip -cn -$l)"
	l2=$(load); out=$tmp/go.gz; read -r tg cg <<< "$(best "$bin/emulate" gnu $l)"
	same=no; cmp -s "$tmp/c.gz" "$tmp/go.gz" && same=yes
	echo "| GNU gzip -cn | $l | $tc ($cc) | $(mbps "$size" "$tc") | $tg ($cg) | $(mbps "$size" "$tg") | $(echo "scale=2; $tg / $tc" | bc -l) | $(echo "scale=2; $cg / $cc" | bc -l) | $same | $l1; $l2 |"
	l1=$(load); out=$tmp/c.z; read -r tc cc <<< "$(best "$bin/zdeflate" "$libz" $l -15 65536)"
	l2=$(load); out=$tmp/go.z; read -r tg cg <<< "$(best "$bin/emulate" zlib $l)"
	same=no; cmp -s "$tmp/c.z" "$tmp/go.z" && same=yes
	echo "| zlib (raw) | $l | $tc ($cc) | $(mbps "$size" "$tc") | $tg ($cg) | $(mbps "$size" "$tg") | $(echo "scale=2; $tg / $tc" | bc -l) | $(echo "scale=2; $cg / $cc" | bc -l) | $same | $l1; $l2 |"
done
echo
fi
if [[ " $sections " == *" identify "* ]]; then
gsize=$(stat -c %s "$gzf")
tsize=$(stat -c %s "$tarf")
echo "## Identification: $base.tar.gz (gzip -9n, $((gsize >> 20)) MiB; $((tsize >> 20)) MiB uncompressed)"
echo
echo "Measured $(date -u +%Y-%m-%dT%H:%MZ)."
echo
identify_table "$gzf" quick
echo
g1size=$(stat -c %s "$gz1")
echo "The same tar stream at gzip -1n ($((g1size >> 20)) MiB; deflate_fast, levels 1-3):"
echo
identify_table "$gz1"
fi
if [ -s "$kept" ]; then echo; cat "$kept"; fi
} | tee "$results.tmp"
mv "$results.tmp" "$results"
