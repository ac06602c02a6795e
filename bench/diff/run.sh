#!/bin/bash
# Benchmark 'verify-release diff' against diffoscope and against the
# decompression limit (xz -dc / gzip -dc) on pairs built from real Debian
# source tarballs:
#   (a) same content, every mtime changed
#   (b) one line changed in one member
#   (c) one member removed and one added
# and check that both tools name the same set of differing members.
#
# Usage: bench/diff/run.sh            (as root: installs packages with apt-get)
# Environment:
#   BENCH_CACHE         downloads and built pairs (default /var/cache/verify-release-bench)
#   PACKAGES            Debian source packages, small to large (default "libntlm coreutils linux")
#   PAIRS               pairs to measure (default "a b c")
#   REPS                runs of verify-release and xz/gzip -dc, fastest kept (default 3)
#   DIFFOSCOPE_TIMEOUT  seconds per diffoscope run before it is killed and recorded as a
#                       lower bound (default 1500)
#   SKIP_DIFFOSCOPE     space-separated "pkg/pair" entries not to run diffoscope on
#   VR                  verify-release binary to use (default: built from this checkout)
#   BENCH_LOCK          lock file the run holds, so benchmarks never overlap (default
#                       /tmp/verify-release-bench.lock)
# Output: a Markdown table on stdout, also written to bench/diff/results.md.
# Run it niced on a shared machine: nice -n 10 bench/diff/run.sh
set -euo pipefail

# Benchmarks on a shared machine take turns: one lock for all of them.
lock=${BENCH_LOCK:-/tmp/verify-release-bench.lock}
if [ -z "${BENCH_LOCKED:-}" ] && command -v flock >/dev/null; then
	BENCH_LOCKED=1 exec flock "$lock" "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${BENCH_CACHE:-/var/cache/verify-release-bench}
packages=${PACKAGES:-libntlm coreutils linux}
pairs=${PAIRS:-a b c}
reps=${REPS:-3}
dtimeout=${DIFFOSCOPE_TIMEOUT:-1500}
skip=" ${SKIP_DIFFOSCOPE:-} "
results=$here/results.md
mtime_a=1700000000
mtime_b=1700086400

log() { echo "== $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 2; }

# A /dev/null replaced by a regular file (something renamed a file onto it)
# would turn every '>/dev/null' below into a disk write and skew timings.
[ -c /dev/null ] || die "/dev/null is not a character device (ls -l /dev/null); restore it: rm /dev/null && mknod -m 666 /dev/null c 1 3"

# ---- tools -----------------------------------------------------------------
need_pkgs=()
command -v diffoscope >/dev/null || need_pkgs+=(diffoscope-minimal)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v gzip >/dev/null || need_pkgs+=(gzip)
command -v python3 >/dev/null || need_pkgs+=(python3)
command -v dpkg-source >/dev/null || need_pkgs+=(dpkg-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing ${need_pkgs[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi
if ! apt-cache showsrc coreutils 2>/dev/null | grep -q '^Package:'; then
	log "adding deb-src (bookworm main) to /etc/apt/sources.list.d/deb-src.sources"
	cat > /etc/apt/sources.list.d/deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	apt-get update -qq
fi

if [ -z "${VR:-}" ]; then
	log "building verify-release"
	VR=/tmp/bench-vr
	(cd "$root" && go build -o "$VR" ./cmd/verify-release)
fi

# ---- sources and pairs -----------------------------------------------------
mkdir -p "$cache/src" "$cache/pairs" "$cache/out"

# orig_of PKG: path of the package's upstream tarball, downloaded once.
orig_of() {
	local pkg=$1 f
	f=$(ls "$cache/src/${pkg}"_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n1 || true)
	if [ -z "$f" ]; then
		log "apt-get source --download-only $pkg/bookworm"
		(cd "$cache/src" && apt-get source -qq --download-only "$pkg/bookworm" >&2)
		f=$(ls "$cache/src/${pkg}"_*.orig.tar.* | grep -v '\.asc$' | head -n1)
	fi
	echo "$f"
}

# compress_like ORIG: the compressor command for the pair files (same
# format as the original; xz -3 keeps preparation time reasonable).
compress_like() {
	case $1 in
	*.xz) echo "xz -T0 -3 -c" ;;
	*.gz) echo "gzip -n -c" ;;
	*) die "unsupported compression: $1" ;;
	esac
}

# retar DIR TOP MTIME OUT COMPRESSOR: deterministic tar of DIR/TOP.
retar() {
	tar -C "$1" --sort=name --format=gnu --mtime="@$3" --owner=0 --group=0 --numeric-owner -cf - "$2" | $5 > "$4.tmp"
	mv "$4.tmp" "$4"
}

# build_pairs PKG: A (baseline) and B for pairs a, b, c, built with GNU tar
# (independently of the code under test). Prints the pair directory.
build_pairs() {
	local pkg=$1 orig dir ext comp tmp top f
	orig=$(orig_of "$pkg")
	dir=$cache/pairs/$pkg
	ext=${orig##*.tar.}
	if [ -e "$dir/done" ] && [ "$(cat "$dir/done")" = "$(basename "$orig") v1" ]; then
		echo "$dir"
		return
	fi
	log "building pairs for $pkg from $(basename "$orig")"
	rm -rf "$dir"
	mkdir -p "$dir"
	comp=$(compress_like "$orig")
	tmp=$(mktemp -d "$cache/extract.XXXXXX")
	tar -C "$tmp" -xf "$orig"
	top=$(ls "$tmp")
	[ "$(echo "$top" | wc -l)" = 1 ] || die "$orig: expected one top-level directory, got: $top"
	echo "$top" > "$dir/top"

	retar "$tmp" "$top" $mtime_a "$dir/A.tar.$ext" "$comp"
	# (a) every mtime changed
	retar "$tmp" "$top" $mtime_b "$dir/a.tar.$ext" "$comp"
	# (b) one line changed in one member: the first line of the top-level makefile
	for f in Makefile Makefile.am configure.ac README; do
		[ -f "$tmp/$top/$f" ] && break
	done
	[ -f "$tmp/$top/$f" ] || die "$pkg: no top-level Makefile, Makefile.am, configure.ac or README"
	cp -p "$tmp/$top/$f" "$tmp/saved"
	sed -i '1s/$/ (changed by bench)/' "$tmp/$top/$f"
	echo "$top/$f" > "$dir/b.changed"
	retar "$tmp" "$top" $mtime_a "$dir/b.tar.$ext" "$comp"
	mv "$tmp/saved" "$tmp/$top/$f"
	# (c) one member removed (the first regular file in sorted order at the top
	# level other than the one used above) and one added
	f=$(cd "$tmp/$top" && find . -maxdepth 1 -type f ! -name 'Makefile*' ! -name configure.ac -printf '%P\n' | LC_ALL=C sort | head -n1)
	[ -n "$f" ] || die "$pkg: no top-level file to remove"
	rm "$tmp/$top/$f"
	printf 'added by bench/diff/run.sh\n' > "$tmp/$top/BENCH-ADDED"
	printf '%s\n%s\n' "$top/$f" "$top/BENCH-ADDED" > "$dir/c.changed"
	retar "$tmp" "$top" $mtime_a "$dir/c.tar.$ext" "$comp"
	rm -rf "$tmp"
	echo "$(basename "$orig") v1" > "$dir/done"
	echo "$dir"
}

# ---- measurements ----------------------------------------------------------
# best_of N CMD...: runs CMD N times; prints the fastest wall time and the
# largest peak RSS seen (KiB, single process and tree).
best_of() {
	local n=$1 i line wall code rss tree cpu best="" bcpu="" brss=0 btree=0
	shift
	for ((i = 0; i < n; i++)); do
		line=$(python3 "$here/measure.py" -- "$@")
		read -r wall code rss tree _ cpu <<<"$line"
		if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall bcpu=$cpu; fi
		[ "$rss" -gt "$brss" ] && brss=$rss
		[ "$tree" -gt "$btree" ] && btree=$tree
	done
	echo "$best $code $brss $btree $bcpu"
}

mib() { awk "BEGIN{printf \"%.${2:-0}f\", $1/1024}"; }
ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.${3:-2}f\", $1/$2; else print \"-\" }"; }
size_of() { stat -c %s "$1"; }

rows=()
notes=()
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for pkg in $packages; do
	dir=$(build_pairs "$pkg")
	A=$(ls "$dir"/A.tar.*)
	ext=${A##*.tar.}
	case $ext in xz) dc="xz -dc" ;; gz) dc="gzip -dc" ;; esac
	tarsize=$($dc "$A" | wc -c)
	for p in $pairs; do
		B=$dir/$p.tar.$ext
		out=$cache/out/$pkg-$p
		mkdir -p "$out"
		larger=$A
		[ "$(size_of "$B")" -gt "$(size_of "$A")" ] && larger=$B
		log "$pkg ($p): $dc"
		read -r t_dc _ r_dc tr_dc _ <<<"$(best_of "$reps" $dc "$larger")"
		# The floor for any diff that decompresses with the same tool: both
		# inputs decompressed at once, each into a pipe that a reader drains.
		log "$pkg ($p): both inputs at once, $dc into pipes"
		read -r t_fl _ _ _ _ <<<"$(best_of "$reps" bash -c "$dc \"\$1\" | cat >/dev/null & $dc \"\$2\" | cat >/dev/null; wait" floor "$A" "$B")"
		log "$pkg ($p): verify-release diff"
		read -r t_vr c_vr r_vr tr_vr cpu_vr <<<"$(best_of "$reps" "$VR" diff "$A" "$B")"
		[ "$c_vr" = 1 ] || die "verify-release diff $A $B: exit $c_vr, want 1"
		set +e
		"$VR" diff --json "$A" "$B" > "$out/vr.json"
		set -e
		if [[ $skip == *" $pkg/$p "* ]]; then
			t_do=- c_do=- r_do=0 tr_do=0 to=0 cpu_do=-
			rm -f "$out/diffoscope.json"
		else
			log "$pkg ($p): diffoscope (timeout ${dtimeout}s)"
			rm -f "$out/diffoscope.json"
			# Default limits except --max-diff-block-lines 0, so that the file
			# list diff is complete and every differing member is named.
			read -r t_do c_do r_do tr_do to cpu_do <<<"$(python3 "$here/measure.py" --timeout "$dtimeout" -- \
				diffoscope --no-progress --max-diff-block-lines 0 --json "$out/diffoscope.json" "$A" "$B")"
			[ "$to" = 1 ] || [ "$c_do" = 1 ] || die "diffoscope $A $B: exit $c_do, want 1"
		fi
		if [ -s "$out/diffoscope.json" ]; then
			same=$(python3 "$here/members.py" "$out/vr.json" "$out/diffoscope.json" 2> "$out/members.txt" || true)
			if [ "$same" != equal ]; then
				notes+=("$pkg ($p): member sets differ: $(head -c 2000 "$out/members.txt" | tr '\n' ';')")
			fi
		else
			same="not run"
		fi
		nvr=$(python3 "$here/members.py" --count "$out/vr.json")
		d_cell=$t_do
		if [ "$to" = 1 ]; then
			d_cell=">$dtimeout (timeout)"
			same="timeout"
		fi
		dcell() { [ "$t_do" = - ] && echo - || { [ "$to" = 1 ] && echo ">$(ratio "$t_do" "$1" 0)" || ratio "$t_do" "$1" 0; }; }
		rows+=("| $pkg | ($p) | $(mib "$(($(size_of "$A") / 1024))" 1) / $(mib "$((tarsize / 1024))" 1) | $nvr | $t_dc | $t_fl | $t_vr ($cpu_vr) | $d_cell ($cpu_do) | $(ratio "$t_vr" "$t_dc") | $(ratio "$t_vr" "$t_fl") | $(dcell "$t_vr") | $(dcell "$t_fl") | $(mib "$r_vr") / $(mib "$tr_vr") | $( [ "$t_do" = - ] && echo - || echo "$(mib "$r_do") / $(mib "$tr_do")") | $same |")
		printf '%s\n' "${rows[-1]}" >&2
	done
done

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
{
	echo "# verify-release diff vs diffoscope vs decompression"
	echo
	echo "Produced by \`bench/diff/run.sh\` in one run on $(nproc) cores ($cpu), $(date -u +%Y-%m-%d)."
	echo "verify-release $(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)," \
		"$(diffoscope --version), $(xz --version | head -n1), $(gzip --version | head -n1), $(tar --version | head -n1)."
	echo
	echo "Pairs (built with GNU tar from the Debian orig tarball, \`--sort=name --format=gnu --owner=0 --group=0\`," \
		"recompressed with \`xz -T0 -3\` or \`gzip -n\`): (a) every mtime changed; (b) one line changed in one member;" \
		"(c) one member removed, one added."
	echo "Load average (1/5/15 min) at start: $load_start, at end: $load_end (the machine is shared)."
	echo "Times are wall seconds (CPU seconds, user + system including child processes, in parentheses); \`xz/gzip -dc\`, the floor and verify-release are the fastest of $reps runs, diffoscope is one run"
	echo "(default limits except \`--max-diff-block-lines 0\`, so its file list names every differing member)."
	echo "RSS is MiB: peak of the largest single process (what GNU time %M reports) / peak of the whole"
	echo "process tree sampled every 50 ms (verify-release pipes xz archives through xz(1) children)."
	echo "*-dc* is \`xz -dc\` (or \`gzip -dc\`) of the larger input to /dev/null, the decompression limit of the issue's target."
	echo "*floor* decompresses both inputs at once, each into a pipe drained by cat(1): what any diff that reads both"
	echo "inputs through xz(1)/gzip(1) pays before comparing a single byte; *diffoscope / floor* is therefore the largest"
	echo "speed-up over diffoscope any such tool can reach on this machine."
	echo "*members* is the number of members verify-release reports as differing; *same set* compares it with"
	echo "the members named in diffoscope's JSON (file-list lines and per-member details)."
	echo
	echo "| package | pair | A: MiB compressed / tar | members | -dc s | floor s | vr s (CPU s) | diffoscope s (CPU s) | vr / -dc | vr / floor | diffoscope / vr | diffoscope / floor | vr RSS | diffoscope RSS | same set |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	if [ ${#notes[@]} -gt 0 ]; then
		echo
		echo "Disagreements:"
		echo
		for n in "${notes[@]}"; do echo "- $n"; done
	fi
} > "$results.tmp"
mv "$results.tmp" "$results"
cat "$results"
