package runner_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// pin + run with an environment built from the Debian archive: no
// registry anywhere. The expected dist comes from a plain `docker run` of
// the documented commands in the pinned image, not from the runner.
func TestArchiveEnvironmentPinAndRun(t *testing.T) {
	d := testenv.RequireDocker(t)
	requireTools(t, "git", "mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cache, err := testenv.CacheDir() // survives between runs: a warm CI run builds nothing
	require.NoError(t, err)

	repo, commit := autotoolsRepo(t)
	dir := filepath.Join(t.TempDir(), "demo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "1.0.toml")
	body := func(distSHA string) string {
		return `name = "demo"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
distro = "debian"
suite = "bookworm"
packages = ["autoconf=2.71-3", "automake=1:1.16.5-1.3", "libtool=2.4.7-7~deb12u1", "make", "git"]
[env.tools]
ltmain = "2.4.7 Debian-2.4.7-7~deb12u1"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + distSHA + `"
method = "build"
commands = ` + tomlList(distCommands) + `
`
	}
	r, err := recipe.Parse(path, []byte(body(strings.Repeat("0", 64))), recipe.WithLocalGit())
	require.NoError(t, err)

	// pin: resolve against the archive, build, probe, write the lock.
	lock, ens, err := envpin.PinArchive(ctx, d, r.Env, envpin.ArchiveOptions{CacheDir: cache})
	require.NoError(t, err)
	probed, err := envpin.ProbeImage(ctx, d, ens.ImageID)
	require.NoError(t, err)
	lock.Tools = probed.Tools
	require.NoError(t, envpin.WriteLock(envpin.LockPath(path), lock))

	want := testenv.DemoDistByHand(t, repo, ens.ImageID, sharedTempDir(t), "")
	wantSHA := sh(t, repo, "sha256sum "+want+" | cut -c1-64")
	require.NoError(t, os.WriteFile(path, []byte(body(wantSHA)), 0o644))
	r, err = recipe.Load(path, recipe.WithLocalGit())
	require.NoError(t, err)

	rep, err := runner.Run(ctx, r, runner.WithEngine(d, runner.BackendDocker), runner.WithCacheDir(cache))
	require.NoError(t, err)
	require.Len(t, rep.Artifacts, 1)
	a := rep.Artifacts[0]
	assert.Equal(t, report.Reproduced, a.Status, a.Error)
	assert.Equal(t, wantSHA, a.Actual)
	require.NotNil(t, rep.Env.Archive)
	assert.Equal(t, lock.Archive.EnvDigest, rep.Env.Archive.EnvDigest)
	assert.Zero(t, rep.Env.Archive.Downloaded, "a warm run downloads nothing")
	assert.Equal(t, lock.Image.Digest, rep.Env.ImageDigest)
	assert.Equal(t, lock.Image.ConfigDigest, rep.Env.ImageID)
	assert.Contains(t, rep.Env.Packages, "libtool=2.4.7-7~deb12u1", "dpkg's view is in the report")
	assert.Equal(t, "2.4.7 Debian-2.4.7-7~deb12u1", rep.Env.Tools["ltmain"])

	// dist from dist: the published dist tarball itself, unpacked (its
	// sha256 checked first), then ./configure and make dist, with no git.
	// The expected bytes come from the same steps run by hand.
	pub := filepath.Join(dir, "published-demo-1.0.tar.gz")
	require.NoError(t, os.Rename(want, pub))
	byHand := distFromDistByHand(t, ens.ImageID, pub)
	fromDist := `name = "demo"
version = "1.0"
[source]
git = "https://example.org/unreachable/demo.git"
tag = "v1.0"
commit = "` + commit + `"
[env]
distro = "debian"
suite = "bookworm"
packages = ["autoconf=2.71-3", "automake=1:1.16.5-1.3", "libtool=2.4.7-7~deb12u1", "make", "git"]
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + wantSHA + `"
method = "build"
from = "dist"
path = "published-demo-1.0.tar.gz"
commands = ["./configure --quiet", '''TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime" make dist GZIP_ENV="--best -n"''']
`
	require.NoError(t, os.WriteFile(path, []byte(fromDist), 0o644))
	r, err = recipe.Load(path)
	require.NoError(t, err)
	rep, err = runner.Run(ctx, r, runner.WithEngine(d, runner.BackendDocker), runner.WithCacheDir(cache))
	require.NoError(t, err)
	a = rep.Artifacts[0]
	require.Empty(t, a.Error)
	assert.Equal(t, byHand, a.Actual, "the runner's dist-from-dist equals the by-hand one")
	if byHand == wantSHA {
		assert.Equal(t, report.Reproduced, a.Status)
	} else {
		assert.Equal(t, report.Mismatch, a.Status)
	}

	// A start tarball that is not the pinned bytes is never unpacked.
	require.NoError(t, os.WriteFile(pub, []byte("not the published tarball"), 0o644))
	rep, err = runner.Run(ctx, r, runner.WithEngine(d, runner.BackendDocker), runner.WithCacheDir(cache))
	require.NoError(t, err)
	assert.Equal(t, report.Error, rep.Artifacts[0].Status)
	assert.Contains(t, rep.Artifacts[0].Error, "not unpacking it")
}

// distFromDistByHand unpacks a dist tarball in image with plain docker
// run, sets every mtime to the newest one in the tarball, runs configure
// and make dist, and returns the sha256 of the result.
func distFromDistByHand(t *testing.T, image, dist string) string {
	t.Helper()
	out := sharedTempDir(t)
	script := `set -e
mkdir -p /work && cd /work && tar xzf /in/dist.tar.gz && cd demo-1.0
export SOURCE_DATE_EPOCH=$(tar tvzf /in/dist.tar.gz --full-time --utc | awk '{print $4" "$5}' | sort | tail -1 | xargs -I{} date -u -d {} +%s)
find . -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
export TZ=UTC LC_ALL=C LANG=C
umask 0022
./configure --quiet
TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime" make dist GZIP_ENV="--best -n"
sha256sum demo-1.0.tar.gz | cut -c1-64 > /out/sha`
	b, err := exec.Command("docker", "run", "--rm", "--network", "none", "-v", dist+":/in/dist.tar.gz:ro", "-v", out+":/out", image, "/bin/sh", "-c", script).CombinedOutput()
	require.NoError(t, err, "%s", b)
	sha, err := os.ReadFile(filepath.Join(out, "sha"))
	require.NoError(t, err)
	return strings.TrimSpace(string(sha))
}
