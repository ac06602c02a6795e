package runner_test

import (
	"context"
	"os"
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

// perlZip writes the zip "$1" of the files named after it, in that order,
// deflated, with their mtimes and modes and no extra fields, with perl's
// core IO::Compress::Zip (the image has no zip(1)).
const perlZip = `perl -MIO::Compress::Zip=:zip_method -e 'my ($out, @f) = @ARGV; my $z; for my $f (@f) { open my $in, "<:raw", $f or die "$f: $!"; local $/; my $d = <$in>; my @s = stat $f; my %o = (Name => $f, Time => $s[9], ExtAttr => ($s[2] & 0xffff) << 16, Method => ZIP_CM_DEFLATE, Minimal => 1); if ($z) { $z->newStream(%o) or die } else { $z = IO::Compress::Zip->new($out, %o) or die } print $z $d } $z->close or die'`

// maintainerCommands are curl-like release commands: one build leaves
// four published files, and it must run as a user that is not root.
var maintainerCommands = []string{
	`test "$(id -u)" = 65534 && test -w "$HOME" && test -O .`,
	testenv.DemoDistCommands[0],
	testenv.DemoDistCommands[1],
	testenv.DemoDistCommands[2],
	`TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime" make dist-gzip dist-bzip2 dist-xz GZIP_ENV="--best -n"`,
	`rm -rf z && mkdir z && tar -C z -xzf demo-1.0.tar.gz && cd z && ` + perlZip + ` ../demo-1.0.zip $(find demo-1.0 -type f | LC_ALL=C sort)`,
}

// maintainerByHand builds the four files with plain `docker run`: root
// clones the tag into /work/src, sets every mtime to the commit time and
// gives /work to nobody (uid 65534, whose passwd home /nonexistent does
// not exist); then runuser runs the commands as nobody with HOME=/tmp/h
// and SOURCE_DATE_EPOCH=releaseEpoch. It also writes pub/demo-1.0.zip,
// the zip made the same way after appending "echo pwned" to configure.
// It returns the sha256 of each file as sha256sum prints it, by file
// name ("pub/demo-1.0.zip" for the tampered zip), and the pub directory.
func maintainerByHand(t *testing.T, repo, image string) (sums map[string]string, pub string) {
	t.Helper()
	out := sharedTempDir(t)
	require.NoError(t, os.Chmod(out, 0o755))
	build := "umask 0022\nmkdir -p \"$HOME\"\n" + strings.Join(maintainerCommands[1:], "\n") +
		"\nprintf 'echo pwned\\n' >> demo-1.0/configure\n" + perlZip + " ../tampered.zip $(find demo-1.0 -type f | LC_ALL=C sort)\n"
	require.NoError(t, os.WriteFile(filepath.Join(out, "build.sh"), []byte(build), 0o644))
	script := `set -e
git clone -q /in /work/src && cd /work/src && git -c advice.detachedHead=false checkout -q v1.0
find /work/src -exec touch -h -d @$(git log -1 --format=%ct) {} +
chown -hR nobody /work
runuser -u nobody -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp/h \
  SOURCE_DATE_EPOCH=` + releaseEpoch + ` TZ=UTC LC_ALL=C LANG=C /bin/sh -e /out/build.sh
mkdir /out/pub && cp tampered.zip /out/pub/demo-1.0.zip
sha256sum demo-1.0.tar.gz demo-1.0.tar.bz2 demo-1.0.tar.xz demo-1.0.zip > /out/SHA256SUMS
cd /out && sha256sum pub/demo-1.0.zip >> /out/SHA256SUMS`
	dockerRun(t, "run", "--rm", "--network", "none", "-v", repo+":/in:ro", "-v", out+":/out", image, "/bin/sh", "-c", script)
	sums = map[string]string{}
	for _, l := range strings.Split(sh(t, out, "cat SHA256SUMS"), "\n") {
		sum, file, ok := strings.Cut(l, "  ")
		require.True(t, ok, l)
		sums[file] = sum
	}
	require.Len(t, sums, 5)
	return sums, filepath.Join(out, "pub")
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
// build makes four artifacts, each compared to its own sha256: three
// reproduce, the zip's published copy is the tampered one and its diff
// names configure (a fifth artifact, whose file the build does not
// leave, fails alone).
func TestDockerMaintainerProcedure(t *testing.T) {
	e := setupE2E(t)
	want, pub := maintainerByHand(t, e.repo, e.imageID)
	require.NotEqual(t, want["demo-1.0.zip"], want["pub/demo-1.0.zip"])
	require.NotEqual(t, e.distSHA, want["demo-1.0.tar.gz"], "the epoch must change the tarball (generated files are clamped to it)")
	data := `name = "demo-maint"
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
sha256 = "` + want["pub/demo-1.0.zip"] + `"
method = "build"
build = "dist"
[artifacts.dist-lz]
file = "demo-1.0.tar.lz"
sha256 = "` + strings.Repeat("0", 64) + `"
method = "build"
build = "dist"
`
	r, err := recipe.Parse(filepath.Join(t.TempDir(), "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	var diff strings.Builder
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithPublishedDir(pub), runner.WithDiffOutput(&diff))...)
	require.NoError(t, err)
	require.Len(t, rep.Artifacts, 5)
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
	assert.Equal(t, report.Mismatch, zip.Status, zip.Error)
	assert.Equal(t, want["demo-1.0.zip"], zip.Actual, "the rebuild is the honest zip made by hand")
	require.NotNil(t, zip.Diff)
	assert.Equal(t, []string{"demo-1.0/configure"}, zip.Diff.Members, diff.String())
	assert.Contains(t, diff.String(), "-echo pwned")
	lz := got["dist-lz"]
	assert.Equal(t, report.Error, lz.Status)
	assert.Contains(t, lz.Error, "artifact dist-lz: the build of dist left no file demo-1.0.tar.lz")
	assert.Equal(t, report.Error, rep.Result)
	// One build: each command ran once.
	require.Len(t, rep.Steps, len(maintainerCommands))
	for _, s := range rep.Steps {
		assert.Equal(t, "dist", s.Artifact)
		assert.Zero(t, s.ExitCode)
	}
	assert.Equal(t, "nobody", rep.Env.User)
	// Only this test's containers: other tests (and runs) may be running.
	assert.Empty(t, sh(t, t.TempDir(), "docker ps -aq --filter label=verify-release=1 --filter name=verify-release-demo-maint-1.0-"), "containers left behind")
}
