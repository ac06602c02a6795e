#!/bin/sh
# The attack run's cache race at full size: RUNS 'verify-release src' runs
# (in PAR parallel loops) on one cache while 'cache prune --all' loops
# beside them. Every src run must exit 0; prune must skip the mirror while
# it is in use (and say so) and remove it between runs.
#
# Usage: bench/cache-race/run.sh [RUNS] [PAR] [BINARY]
#   BINARY: a verify-release to test instead of building this tree (e.g.
#   one built from an older commit, to see the race it had).
# Needs: go, git, gzip. Prints a Markdown table.
set -eu
runs=${1:-100}
par=${2:-4}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'kill $prune_pid 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
prune_pid=
if [ $# -ge 3 ]; then
	vr=$3
else
	(cd "$root" && go build -o "$work/verify-release" ./cmd/verify-release)
	vr=$work/verify-release
fi
export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home"
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@example.org GIT_AUTHOR_DATE=2024-04-13T10:00:00Z
export GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@example.org GIT_COMMITTER_DATE=2024-04-13T10:00:00Z
mkdir -p "$HOME" "$work/repo" "$work/recipes/demo" "$work/logs"
cd "$work/repo"
git init -q -b main
for i in $(seq 1 200); do echo "line $i" > "f$i.txt"; done
git add -A && git commit -q -m r && git tag -a -m r v1.0
commit=$(git rev-parse HEAD)
sha=$(git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn | sha256sum | cut -c1-64)
cat > "$work/recipes/demo/1.0.toml" <<TOML
name = "demo"
version = "1.0"
[source]
git = "$work/repo"
tag = "v1.0"
commit = "$commit"
[env]
image = "example.invalid/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "$sha"
method = "git-archive"
prefix = "demo-v1.0/"
TOML
cache=$work/cache
export VERIFY_RELEASE_RECIPES=$work/recipes
(while :; do "$vr" cache prune --all --cache-dir "$cache" >> "$work/logs/prune.txt" 2>&1; done) &
prune_pid=$!
start=$(date +%s.%N)
per=$(( (runs + par - 1) / par ))
for p in $(seq 1 "$par"); do
	(for i in $(seq 1 "$per"); do
		# --allow-local-git: the recipe's repository is a local path.
		if "$vr" src demo 1.0 --allow-local-git --cache-dir "$cache" > "$work/logs/src-$p-$i.txt" 2>&1; then
			echo ok
		else
			echo "FAIL exit $?: $(grep -m1 error "$work/logs/src-$p-$i.txt")"
		fi
	done > "$work/logs/loop-$p.txt") &
done
while [ "$(cat "$work"/logs/loop-*.txt 2>/dev/null | wc -l)" -lt $((per * par)) ]; do sleep 0.2; done
end=$(date +%s.%N)
kill $prune_pid; wait $prune_pid 2>/dev/null || true
total=$(cat "$work"/logs/loop-*.txt | wc -l)
fails=$(grep -c FAIL "$work"/logs/loop-*.txt | awk -F: '{s+=$2} END {print s+0}')
prunes=$(grep -c "^removed .* entries\|^would remove\|entries," "$work/logs/prune.txt" || true)
removed=$(grep -c "^removed $cache/git/" "$work/logs/prune.txt" || true)
skipped=$(grep -c "in use by another run" "$work/logs/prune.txt" || true)
echo "| src runs | parallel | failures | prune runs | mirror removed between runs | skipped as in use | wall s | load avg |"
echo "|---|---|---|---|---|---|---|---|"
printf '| %s | %s | %s | %s | %s | %s | %.1f | %s |\n' "$total" "$par" "$fails" "$prunes" "$removed" "$skipped" \
	"$(echo "$end - $start" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
grep -h FAIL "$work"/logs/loop-*.txt | sort | uniq -c | head -5 || true
[ "$fails" -eq 0 ]
