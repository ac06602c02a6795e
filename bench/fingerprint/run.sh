#!/bin/bash
# Benchmark 'verify-release fingerprint' against the decompression limit on
# the linux 6.1 orig tarball (137 MB xz, 1.3 GB tar, ~80k members) and
# smaller Debian orig tarballs: wall time of the fingerprint (one streaming
# pass: tar parsing, member hashing, the heads of generated files) against
# `xz -dc > /dev/null` / `gzip -dc > /dev/null` of the same file, measured
# in the same run; peak RSS. Target: within 1.3x of the decompressor,
# RSS < 100 MB.
#
# The fingerprint runs with --offline (environment ranking reads the Debian
# mirror's indexes, which is network time, not the streaming pass) and
# --no-identify (for gzip, identification recompresses the tar stream: a
# second, optional pass, timed separately in the "identify" column).
#
# Usage: bench/fingerprint/run.sh
# Environment:
#   BENCH_CACHE  downloads (default /var/cache/verify-release-bench; shares
#                bench/diff's src/ directory)
#   REPS         runs of each command, fastest kept (default 3)
#   VR           verify-release binary (default: built from this checkout)
#   BENCH_LOCK   lock file held while measuring (default /tmp/verify-release-bench.lock)
# Output: Markdown on stdout, also written to bench/fingerprint/results.md.
set -euo pipefail

lock=${BENCH_LOCK:-/tmp/verify-release-bench.lock}
if [ -z "${BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
	BENCH_LOCKED=1 exec flock "$lock" "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${BENCH_CACHE:-/var/cache/verify-release-bench}
reps=${REPS:-3}
results=$here/results.md
measure=$root/bench/diff/measure.py

log() { echo "== $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 2; }
[ -c /dev/null ] || die "/dev/null is not a character device"
command -v python3 >/dev/null || die "python3 is needed (bench/diff/measure.py)"

# Pool path and sha256 from the suites' Sources indexes
# (bookworm: linux 6.1.170-3; trixie/bookworm for the others).
inputs=(
	"main/l/linux/linux_6.1.170.orig.tar.xz d97c2b2683633677fa1f41bf5cc58cfac7664b84ca885ce6546d40fee87ba7fe"
	"main/c/coreutils/coreutils_9.1.orig.tar.xz 61a1f410d78ba7e7f37a5a4f50e6d1320aca33375484a3255eddf17a38580423"
	"main/c/curl/curl_8.14.1.orig.tar.gz 6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4"
)
mkdir -p "$cache/src"
fetch() {
	local pool=$1 sum=$2 f
	f=$cache/src/$(basename "$pool")
	if [ ! -f "$f" ] || [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$sum" ]; then
		log "downloading $pool"
		curl -sSf -o "$f.tmp" "http://deb.debian.org/debian/pool/$pool"
		[ "$(sha256sum "$f.tmp" | cut -d' ' -f1)" = "$sum" ] || die "$pool: sha256 mismatch"
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

if [ -z "${VR:-}" ]; then
	log "building verify-release"
	VR=/tmp/bench-vr-fingerprint
	(cd "$root" && go build -o "$VR" ./cmd/verify-release)
fi

# measure_into VAR CMD...: one run; keeps in VAR_t the fastest wall time and
# in VAR_r, VAR_tr the largest peak RSS (KiB, single process and tree).
measure_into() {
	local v=$1 line wall code rss tree
	shift
	line=$(python3 "$measure" -- "$@")
	read -r wall code rss tree _ <<<"$line"
	[ "$code" = 0 ] || die "$* exited $code"
	local t=${v}_t r=${v}_r tr=${v}_tr
	if [ -z "${!t:-}" ] || awk "BEGIN{exit !($wall < ${!t})}"; then printf -v "$t" '%s' "$wall"; fi
	[ "$rss" -gt "${!r:-0}" ] && printf -v "$r" '%s' "$rss"
	[ "$tree" -gt "${!tr:-0}" ] && printf -v "$tr" '%s' "$tree"
	return 0
}
mib() { awk "BEGIN{printf \"%.0f\", $1/1024}"; }
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1/$2; else print \"-\" }"; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
for entry in "${inputs[@]}"; do
	read -r pool sum <<<"$entry"
	f=$(fetch "$pool" "$sum")
	case $f in *.xz) dc="xz -dc" ;; *.gz) dc="gzip -dc" ;; *) die "$f: unknown compression" ;; esac
	name=$(basename "$f")
	tar_mib=$(mib $(( $($dc "$f" | wc -c) / 1024 )))
	# The runs alternate, so a change of load on a shared machine hits both.
	unset dc_t dc_r dc_tr fp_t fp_r fp_tr id_t id_r id_tr
	for ((i = 0; i < reps; i++)); do
		log "$name ($((i + 1))/$reps): $dc, verify-release fingerprint"
		measure_into dc $dc "$f"
		measure_into fp "$VR" fingerprint --offline --no-identify --json "$f"
		if [ "$dc" = "gzip -dc" ]; then
			measure_into id "$VR" fingerprint --offline --json "$f"
		fi
	done
	t_dc=$dc_t t_fp=$fp_t r_fp=$fp_r tr_fp=$fp_tr t_id=${id_t:--}
	rows+=("| $name | $(mib $(( $(stat -c %s "$f") / 1024 ))) | $tar_mib | $dc: $t_dc | $t_fp | **$(ratio "$t_fp" "$t_dc")** | $(mib "$r_fp") | $(mib "$tr_fp") | $t_id |")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "# bench/fingerprint results"
	echo
	echo "verify-release $(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown), $(nproc) CPUs, $(uname -sr)."
	echo "Load average at start: $load_start; at end: $load_end. Fastest of $reps runs each, the decompressor and the fingerprint alternating; the ratio is against the decompressor measured in the same run."
	echo
	echo "| input | file MiB | tar MiB | decompress s | fingerprint s | ratio | RSS MiB | tree RSS MiB | with identify s |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "fingerprint = \`verify-release fingerprint --offline --no-identify --json FILE\`; the tree RSS includes the xz(1) child that decodes xz."
} | tee "$results"
