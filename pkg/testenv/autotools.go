package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DemoDistCommands build the dist tarball of the project DemoProject
// writes. GNU tar honours TAR_OPTIONS; --clamp-mtime keeps the source
// files' policy mtimes and clamps generated files to SOURCE_DATE_EPOCH;
// gzip -n stores no time.
//
// libtoolize runs first so that m4/ holds libtool's macros before aclocal
// runs: otherwise autoreconf's decision to re-run aclocal depends on
// whether libtoolize finished within the same second (a real source of
// irreproducible make dist output).
var DemoDistCommands = []string{
	"libtoolize --copy --force --install --quiet",
	"autoreconf -fi",
	"./configure --quiet",
	`TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime" make dist GZIP_ENV="--best -n"`,
}

// DemoCommitTime is the author and committer date of DemoProject's commit.
const DemoCommitTime = "2024-04-13T10:00:00Z"

// DemoProject writes a small autotools project "demo 1.0" (with libtool,
// so ltmain.sh lands in the tarball as in real releases) into a new git
// repository at dir, committed with fixed identities and dates and tagged
// v1.0 (annotated). It returns the commit id. It uses the real git.
func DemoProject(t testing.TB, dir string) (commit string) {
	t.Helper()
	files := map[string]string{
		"configure.ac": "AC_INIT([demo], [1.0])\nAC_CONFIG_AUX_DIR([build-aux])\nAC_CONFIG_MACRO_DIRS([m4])\nAM_INIT_AUTOMAKE([foreign])\nLT_INIT\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
		"Makefile.am":  "ACLOCAL_AMFLAGS = -I m4\ndist_data_DATA = hello.txt\n",
		"hello.txt":    "hello, world\n",
		"m4/local.m4":  "dnl local macros\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"commit", "-q", "-m", "demo 1.0"},
		{"tag", "-a", "-m", "demo 1.0", "v1.0"},
	} {
		demoGit(t, dir, args...)
	}
	return demoGit(t, dir, "rev-parse", "HEAD")
}

func demoGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.org",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.org",
		"GIT_AUTHOR_DATE="+DemoCommitTime, "GIT_COMMITTER_DATE="+DemoCommitTime,
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// DemoDistByHand builds DemoProject's dist tarball by the documented
// commands with plain `docker run --network none`, not through the
// runner: clone, check out the tag, set every mtime to the commit time,
// then DemoDistCommands with the runner's environment. extra runs in the
// same shell right after the commands (e.g. to record timings into /out).
// It writes out/demo-1.0.tar.gz and returns its path.
func DemoDistByHand(t testing.TB, repo, image, out, extra string) string {
	t.Helper()
	return demoDistByHand(t, repo, image, out, nil, extra)
}

// DemoDistByHandWithSetup is DemoDistByHand for a base image without the
// toolchain: the setup commands (e.g. apt-get update and install) run
// first, as root, in the same container, which therefore has network.
// Nothing is committed; the container is removed.
func DemoDistByHandWithSetup(t testing.TB, repo, image, out string, setup []string) string {
	t.Helper()
	return demoDistByHand(t, repo, image, out, setup, "")
}

func demoDistByHand(t testing.TB, repo, image, out string, setup []string, extra string) string {
	t.Helper()
	script := `set -e
` + strings.Join(setup, "\n") + `
git clone -q /in /work/src && cd /work/src && git -c advice.detachedHead=false checkout -q v1.0
export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
find /work/src -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
export TZ=UTC LC_ALL=C LANG=C
umask 0022
t0=$(date +%s%N)
` + strings.Join(DemoDistCommands, "\n") + `
t1=$(date +%s%N)
` + extra + `
cp demo-1.0.tar.gz /out/`
	args := []string{"run", "--rm", "-v", repo + ":/in:ro", "-v", out + ":/out"}
	if len(setup) == 0 {
		args = append(args, "--network", "none")
	}
	cmd := exec.Command("docker", append(args, image, "/bin/sh", "-c", script)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: docker run by hand: %v\n%s", err, tail(b, 8000))
	}
	return filepath.Join(out, "demo-1.0.tar.gz")
}
