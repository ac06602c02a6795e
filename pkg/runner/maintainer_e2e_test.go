package runner_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// releaseEpoch is a SOURCE_DATE_EPOCH other than the demo's commit time
// (curl 8.14.1's: the time its release script ran).
const releaseEpoch = "1749015729"

// maintainerCommands are curl-like release commands: one build leaves
// three published files, and it must run as a user that is not root.
var maintainerCommands = []string{
	`test "$(id -u)" = 65534 && test -w "$HOME" && test -O .`,
	testenv.DemoDistCommands[0],
	testenv.DemoDistCommands[1],
	testenv.DemoDistCommands[2],
	`TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime" make dist-gzip dist-bzip2 dist-xz GZIP_ENV="--best -n"`,
}

// maintainerByHand builds the three files with plain `docker run`: root
// clones the tag into /work/src, sets every mtime to the commit time and
// gives /work to nobody (uid 65534, whose passwd home /nonexistent does
// not exist); then runuser runs the commands as nobody with HOME=/tmp/h
// and SOURCE_DATE_EPOCH=releaseEpoch. It returns the sha256 of each file
// as sha256sum prints it, by file name.
func maintainerByHand(t *testing.T, repo, image string) map[string]string {
	t.Helper()
	out := sharedTempDir(t)
	script := `set -e
git clone -q /in /work/src && cd /work/src && git -c advice.detachedHead=false checkout -q v1.0
find /work/src -exec touch -h -d @$(git log -1 --format=%ct) {} +
chown -hR nobody /work
runuser -u nobody -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/h \
  SOURCE_DATE_EPOCH=` + releaseEpoch + ` TZ=UTC LC_ALL=C LANG=C /bin/sh -ec 'umask 0022; mkdir -p "$HOME"
` + strings.Join(maintainerCommands[1:], "\n") + `'
cd /work/src && sha256sum demo-1.0.tar.gz demo-1.0.tar.bz2 demo-1.0.tar.xz > /out/SHA256SUMS`
	dockerRun(t, "run", "--rm", "--network", "none", "-v", repo+":/in:ro", "-v", out+":/out", image, "/bin/sh", "-c", script)
	sums := map[string]string{}
	for _, l := range strings.Split(sh(t, out, "cat SHA256SUMS"), "\n") {
		sum, file, ok := strings.Cut(l, "  ")
		require.True(t, ok, l)
		sums[file] = sum
	}
	require.Len(t, sums, 3)
	return sums
}

func dockerRun(t *testing.T, args ...string) {
	t.Helper()
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	sh(t, t.TempDir(), "docker "+strings.Join(q, " "))
}

// TestDockerMaintainerProcedure: env.user = "nobody" gets the workspace
// and a writable HOME, source_date_epoch reaches every step, and one
// build makes three artifacts (a fourth, whose file the build does not
// leave, fails alone), each compared to its own sha256.
func TestDockerMaintainerProcedure(t *testing.T) {
	e := setupE2E(t)
	want := maintainerByHand(t, e.repo, e.imageID)
	require.NotEqual(t, e.distSHA, want["demo-1.0.tar.gz"], "the epoch must change the tarball (generated files are clamped to it)")
	data := `name = "demo"
version = "1.0"
[source]
git = "` + e.repo + `"
tag = "v1.0"
commit = "` + e.commit + `"
[env]
image = "` + e.ref + `"
user = "nobody"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + want["demo-1.0.tar.gz"] + `"
method = "build"
source_date_epoch = ` + releaseEpoch + `
commands = ` + tomlList(maintainerCommands) + `
[artifacts.dist-bz2]
file = "demo-1.0.tar.bz2"
sha256 = "` + want["demo-1.0.tar.bz2"] + `"
method = "build"
build = "dist"
[artifacts.dist-xz]
file = "demo-1.0.tar.xz"
sha256 = "` + want["demo-1.0.tar.xz"] + `"
method = "build"
build = "dist"
[artifacts.dist-zip]
file = "demo-1.0.zip"
sha256 = "` + strings.Repeat("0", 64) + `"
method = "build"
build = "dist"
`
	r, err := recipe.Parse(filepath.Join(t.TempDir(), "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e)...)
	require.NoError(t, err)
	require.Len(t, rep.Artifacts, 4)
	got := map[string]report.Artifact{}
	for _, a := range rep.Artifacts {
		got[a.Name] = a
	}
	for _, n := range []string{"dist", "dist-bz2", "dist-xz"} {
		a := got[n]
		assert.Equal(t, report.Reproduced, a.Status, "%s: %s", n, a.Error)
		assert.Equal(t, want[a.File], a.Actual, n)
		assert.Equal(t, int64(1749015729), a.SourceDateEpoch, n)
	}
	assert.Empty(t, got["dist"].Build)
	assert.Equal(t, "dist", got["dist-xz"].Build)
	zip := got["dist-zip"]
	assert.Equal(t, report.Error, zip.Status)
	assert.Contains(t, zip.Error, "artifact dist-zip: the build of dist left no file demo-1.0.zip")
	assert.Equal(t, report.Error, rep.Result)
	// One build: each command ran once.
	require.Len(t, rep.Steps, len(maintainerCommands))
	for _, s := range rep.Steps {
		assert.Equal(t, "dist", s.Artifact)
		assert.Zero(t, s.ExitCode)
	}
	assert.Equal(t, "nobody", rep.Env.User)
	assertNoContainers(t, e.docker)
}
