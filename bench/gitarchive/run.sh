#!/bin/sh
# Benchmark 'verify-release gitarchive' against git archive on a large
# repository: the tree of a big source tarball (coreutils 9.1 by default,
# from the Debian mirror) committed into a fresh repository, plus a
# repository holding one 256 MiB file to show memory does not grow with
# blob size.
#
# Usage: bench/gitarchive/run.sh [ORIG_TARBALL_URL]
# Needs: go, git, gzip, xz, curl, /usr/bin/time; hyperfine if installed.
# Results (timings and max RSS) go to stdout.
set -eu

url=${1:-http://deb.debian.org/debian/pool/main/c/coreutils/coreutils_9.1.orig.tar.xz}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/verify-release/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$cache"

echo "== building verify-release"
(cd "$root" && go build -o "$work/verify-release" ./cmd/verify-release)
vr=$work/verify-release

# Isolate git from the user's configuration (after go build, which needs
# the real HOME for its module cache).
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org GIT_AUTHOR_DATE=2024-01-01T00:00:00Z
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
mkdir -p "$HOME"

tarball=$cache/$(basename "$url")
[ -s "$tarball" ] || curl -fsS -o "$tarball" "$url"

echo "== repository from $(basename "$tarball")"
repo=$work/repo
mkdir -p "$repo"
tar -xf "$tarball" -C "$repo" --strip-components=1
git -C "$repo" init -q -b main
git -C "$repo" config gc.auto 0  # the explicit gc below must not race an automatic one
git -C "$repo" add -f -A
git -C "$repo" commit -q -m bench
git -C "$repo" gc -q
echo "files: $(git -C "$repo" ls-files | wc -l)  tar size: $(git -C "$repo" archive HEAD | wc -c) bytes"

echo "== big-blob repository (one 256 MiB file)"
big=$work/big
git init -q -b main "$big"
seq 1 40000000 | head -c 268435456 > "$big/blob"
git -C "$big" add blob
git -C "$big" commit -q -m big
rm "$big/blob"

# Correctness first: the outputs must be identical.
for r in "$repo" "$big"; do
	git -C "$r" archive --prefix=p/ HEAD | sha256sum > "$work/want"
	"$vr" gitarchive --repo "$r" HEAD --prefix p/ -o - 2>/dev/null | sha256sum > "$work/got"
	cmp -s "$work/want" "$work/got" || { echo "MISMATCH (tar) in $r"; exit 1; }
done
git -C "$repo" archive --prefix=p/ HEAD | gzip -cn | sha256sum > "$work/want"
"$vr" gitarchive --repo "$repo" HEAD --prefix p/ --compress gzip-n -o - 2>/dev/null | sha256sum > "$work/got"
cmp -s "$work/want" "$work/got" || { echo "MISMATCH (gzip-n)"; exit 1; }
echo "outputs identical to git archive (tar and tar | gzip -cn)"

echo "== timings ($repo)"
# Everything writes to stdout, fed through a pipe (hyperfine --output=pipe),
# so no run pays for fsync (verify-release -o FILE syncs before renaming).
if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 2 --runs "${RUNS:-10}" --output=pipe --export-markdown "$work/times.md" \
		-n "git archive (tar)" "git -C $repo archive --prefix=p/ HEAD" \
		-n "verify-release (tar)" "$vr gitarchive --repo $repo HEAD --prefix p/ -o -" \
		-n "git archive | gzip -cn" "sh -c 'git -C $repo archive --prefix=p/ HEAD | gzip -cn'" \
		-n "verify-release gzip-n" "$vr gitarchive --repo $repo HEAD --prefix p/ --compress gzip-n -o -" \
		-n "git archive --format=tar.gz" "git -C $repo archive --format=tar.gz --prefix=p/ HEAD" \
		-n "verify-release git-internal" "$vr gitarchive --repo $repo HEAD --prefix p/ --compress git-internal -o -" \
		>/dev/null
	cat "$work/times.md"
else
	for c in "git -C $repo archive --prefix=p/ HEAD" "$vr gitarchive --repo $repo HEAD --prefix p/ -o -" \
		"sh -c 'git -C $repo archive --prefix=p/ HEAD | gzip -cn'" "$vr gitarchive --repo $repo HEAD --prefix p/ --compress gzip-n -o -"; do
		for i in 1 2 3 4 5; do
			/usr/bin/time -f "%e s  $c" sh -c "$c 2>/dev/null | cat >/dev/null"
		done
	done
fi

echo "== max RSS (KiB)"
rss() { /usr/bin/time -f "%M" sh -c "$1 >/dev/null 2>&1" 2>&1 | tail -1; }
# sh -c adds a small shell; %M is the largest process of the tree (the
# largest of the shell, git and verify-release children).
printf "%-40s %10s %10s\n" "" "coreutils" "256MiB-blob"
printf "%-40s %10s %10s\n" "git archive (tar)" "$(rss "git -C $repo archive HEAD")" "$(rss "git -C $big archive HEAD")"
printf "%-40s %10s %10s\n" "verify-release gitarchive (tar)" "$(rss "$vr gitarchive --repo $repo HEAD -o -")" "$(rss "$vr gitarchive --repo $big HEAD -o -")"
printf "%-40s %10s %10s\n" "verify-release gitarchive (gzip-n)" "$(rss "$vr gitarchive --repo $repo HEAD --compress gzip-n -o -")" "$(rss "$vr gitarchive --repo $big HEAD --compress gzip-n -o -")"
