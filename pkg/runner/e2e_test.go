package runner_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// distCommands build the shared test project's dist artifact.
var distCommands = testenv.DemoDistCommands

// autotoolsRepo writes the shared autotools test project (see
// testenv.DemoProject) into a directory that lives until TestMain ends.
func autotoolsRepo(t *testing.T) (dir, commit string) {
	requireTools(t, "git")
	dir = sharedTempDir(t)
	return dir, testenv.DemoProject(t, dir)
}

// independentDist builds the dist tarball by the documented commands with
// plain `docker run`, not through the runner (testenv.DemoDistByHand).
func independentDist(t *testing.T, repo, imageID string) string {
	t.Helper()
	return testenv.DemoDistByHand(t, repo, imageID, sharedTempDir(t), "")
}

func distRecipe(t *testing.T, repo, commit, imageRef, distSHA, srcSHA string) *recipe.Recipe {
	t.Helper()
	data := `name = "demo"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "` + imageRef + `"
[env.tools]
autoconf = "2.71"
automake = "1.16.5"
ltmain = "2.4.7 Debian-2.4.7-7~deb12u1"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + srcSHA + `"
method = "git-archive"
prefix = "demo-v1.0/"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + distSHA + `"
method = "build"
commands = ` + tomlList(distCommands) + `
`
	r, err := recipe.Parse(filepath.Join(t.TempDir(), "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	return r
}

func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'''" + s + "'''"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// e2e holds what the Docker tests share: one test project, one image and
// the independently built expected tarballs.
type e2e struct {
	repo, commit    string
	ref, imageID    string
	dist            string // independently built dist tarball
	distSHA, srcSHA string
	docker          *engine.Docker
}

var (
	e2eMu  sync.Mutex
	e2eVal *e2e
)

// setupE2E builds the shared fixture once per test binary (the first test
// that needs it owns its temporary directories; they live until the test
// binary exits, see TestMain).
func setupE2E(t *testing.T) *e2e {
	t.Helper()
	e2eMu.Lock()
	defer e2eMu.Unlock()
	if e2eVal != nil {
		return e2eVal
	}
	d := testenv.RequireDocker(t)
	ref, id := testenv.BookwormAutotoolsImage(t)
	repo, commit := autotoolsRepo(t)
	dist := independentDist(t, repo, id)
	pub := sharedTempDir(t)
	e2eVal = &e2e{
		repo: repo, commit: commit, ref: ref, imageID: id, dist: dist, docker: d,
		distSHA: sh(t, repo, "sha256sum "+dist+" | cut -c1-64"),
		srcSHA:  sh(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn > "+pub+"/src.tgz && sha256sum "+pub+"/src.tgz | cut -c1-64"),
	}
	return e2eVal
}

var sharedDirs []string

// sharedTempDir is a temporary directory removed by TestMain.
func sharedTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "runner-e2e-")
	require.NoError(t, err)
	sharedDirs = append(sharedDirs, d)
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func runnerOpts(t *testing.T, e *e2e, extra ...runner.Option) []runner.Option {
	return append([]runner.Option{runner.WithEngine(e.docker, runner.BackendDocker), runner.WithCacheDir(t.TempDir())}, extra...)
}

func TestDockerReproduced(t *testing.T) {
	e := setupE2E(t)
	r := distRecipe(t, e.repo, e.commit, e.ref, e.distSHA, e.srcSHA)
	var events []runner.Event
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithProgress(func(ev runner.Event) { events = append(events, ev) }))...)
	require.NoError(t, err)
	require.Len(t, rep.Artifacts, 2)
	for _, a := range rep.Artifacts {
		assert.Equal(t, report.Reproduced, a.Status, "%s: %s", a.Name, a.Error)
	}
	assert.Equal(t, report.Reproduced, rep.Result)
	require.NotNil(t, rep.Env)
	assert.True(t, rep.Env.Pinned)
	assert.Equal(t, e.imageID, rep.Env.ImageID)
	assert.Equal(t, "2.71", rep.Env.Tools["autoconf"])
	assert.Equal(t, "debian 12", rep.Env.Tools["distro"])
	assert.NotEmpty(t, rep.Env.Packages)
	assert.Len(t, rep.Steps, len(distCommands))
	assertNoContainers(t, e.docker)
}

// The XZ pattern: the published dist tarball has an extra m4 file and a
// changed line in configure. The run fails and the diff names exactly
// those members.
func TestDockerTamperedDist(t *testing.T) {
	e := setupE2E(t)
	pub := t.TempDir()
	// Re-create it the way make dist did (automake's default v7 format,
	// "tar chof -", with the recipe's TAR_OPTIONS), so that only the
	// tampered members differ.
	tampered := sh(t, pub, `mkdir x && cd x && tar xzf `+e.dist+`
printf 'dnl injected\n' > demo-1.0/m4/build-to-host.m4
sed -i '0,/^as_me=/s//echo pwned; as_me=/' demo-1.0/configure
grep -q 'echo pwned' demo-1.0/configure
TAR_OPTIONS="--owner=0 --group=0 --numeric-owner --sort=name --mtime=@1713002400 --clamp-mtime" tar chof - demo-1.0 | gzip -9n > ../demo-1.0.tar.gz
cd .. && sha256sum demo-1.0.tar.gz | cut -c1-64`)
	r := distRecipe(t, e.repo, e.commit, e.ref, tampered, e.srcSHA)
	var diff strings.Builder
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithPublishedDir(pub), runner.WithDiffOutput(&diff), runner.WithArtifacts("dist"))...)
	require.NoError(t, err)
	assert.Equal(t, report.Mismatch, rep.Result)
	var dist report.Artifact
	for _, a := range rep.Artifacts {
		if a.Name == "dist" {
			dist = a
		}
	}
	assert.Equal(t, report.Mismatch, dist.Status)
	assert.Equal(t, e.distSHA, dist.Actual, "the rebuild itself is the independent one")
	require.NotNil(t, dist.Diff)
	assert.Equal(t, []string{"demo-1.0/configure", "demo-1.0/m4/build-to-host.m4"}, dist.Diff.Members, diff.String())
	assert.Contains(t, diff.String(), "-echo pwned; as_me=")
}

func TestDockerWrongToolPinStopsBeforeBuilding(t *testing.T) {
	e := setupE2E(t)
	r := distRecipe(t, e.repo, e.commit, e.ref, e.distSHA, e.srcSHA)
	r.Env.Tools["ltmain"] = "2.4.6 Debian-2.4.6-15build2"
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithArtifacts("dist"))...)
	var tm *envpin.ToolMismatchError
	require.True(t, errors.As(err, &tm), "want a tool mismatch, got %v", err)
	assert.Contains(t, err.Error(), "ltmain: pinned 2.4.6 Debian-2.4.6-15build2, found 2.4.7 Debian-2.4.7-7~deb12u1")
	assert.Empty(t, rep.Steps, "no build step may run in an environment that is not the pinned one")
	assert.Equal(t, report.Error, rep.Result)
	assertNoContainers(t, e.docker)
}

func TestDockerBuildHasNoNetwork(t *testing.T) {
	e := setupE2E(t)
	r := distRecipe(t, e.repo, e.commit, e.ref, e.distSHA, e.srcSHA)
	// deb.debian.org is reachable from this machine (the tests' image came
	// from it), so only the sandbox can make this fail.
	r.Artifacts["dist"].Commands = []string{"getent hosts deb.debian.org || bash -c 'exec 3<>/dev/tcp/203.0.113.80/80'"}
	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithArtifacts("dist"))...)
	require.NoError(t, err)
	var dist report.Artifact
	for _, a := range rep.Artifacts {
		if a.Name == "dist" {
			dist = a
		}
	}
	assert.Equal(t, report.Error, dist.Status)
	assert.Contains(t, dist.Error, "exited with code 1")
}

func TestDockerCancelLeavesNoContainer(t *testing.T) {
	e := setupE2E(t)
	r := distRecipe(t, e.repo, e.commit, e.ref, e.distSHA, e.srcSHA)
	r.Artifacts["dist"].Commands = []string{"echo started; sleep 300"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		for {
			n, err := pr.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "started") {
				cancel() // Ctrl-C mid-build
				return
			}
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_, err = runner.Run(ctx, r, runnerOpts(t, e, runner.WithArtifacts("dist"), runner.WithLog(pw))...)
	pw.Close()
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 2*time.Minute)
	assertNoContainers(t, e.docker)
}

func TestDockerSetupImageIsCached(t *testing.T) {
	e := setupE2E(t)
	r := distRecipe(t, e.repo, e.commit, e.ref, e.distSHA, e.srcSHA)
	// A unique setup so the first run really runs it.
	r.Env.Setup = []string{"echo " + strconv.FormatInt(time.Now().UnixNano(), 10) + " > /etc/verify-release-setup-test"}
	r.Artifacts["dist"].Commands = []string{"test -s /etc/verify-release-setup-test && cp /etc/verify-release-setup-test demo-1.0.tar.gz"}
	cache := t.TempDir()
	run := func() ([]string, *report.Report) {
		var msgs []string
		rep, err := runner.Run(context.Background(), r, runner.WithEngine(e.docker, runner.BackendDocker), runner.WithCacheDir(cache),
			runner.WithArtifacts("dist"), runner.WithProgress(func(ev runner.Event) { msgs = append(msgs, ev.Step+": "+ev.Message) }))
		require.NoError(t, err)
		return msgs, rep
	}
	first, rep1 := run()
	// The unique setup makes a new setup image per run of this test; remove
	// it so that repeated runs do not pile up images in the engine.
	t.Cleanup(func() {
		if rep1.Env.SetupImage != "" {
			if err := e.docker.RemoveImage(context.Background(), rep1.Env.SetupImage); err != nil {
				t.Logf("removing %s: %v", rep1.Env.SetupImage, err)
			}
		}
	})
	second, rep2 := run()
	assert.NotContains(t, strings.Join(first, "\n"), "using the cached setup image")
	assert.Contains(t, strings.Join(second, "\n"), "using the cached setup image")
	assert.Equal(t, rep1.Env.SetupImage, rep2.Env.SetupImage)
	assert.NotEmpty(t, rep1.Env.SetupImage)
	assert.Empty(t, rep2.Artifacts[1].Error, "the build step sees what setup wrote")
}

// assertNoContainers checks that no container of the demo recipe is left.
func assertNoContainers(t *testing.T, d *engine.Docker) {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+engine.Label+"=1", "--filter", "name=verify-release-demo-1.0-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "containers left behind")
}

// An image without a digest: refused by default, resolved with a loud
// warning under --allow-unpinned, and pinned through the lock file that
// `verify-release pin` (envpin.Pin) writes.
func TestDockerUnpinnedImageAndLock(t *testing.T) {
	e := setupE2E(t)
	tagRef := e.ref[:strings.Index(e.ref, "@")] + ":latest"
	digest := e.ref[strings.Index(e.ref, "@")+1:]
	dir := filepath.Join(t.TempDir(), "demo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	path := filepath.Join(dir, "1.0.toml")
	data := `name = "demo"
version = "1.0"
[source]
git = "` + e.repo + `"
tag = "v1.0"
commit = "` + e.commit + `"
[env]
image = "` + tagRef + `"
digest = "unresolved"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + e.distSHA + `"
method = "build"
commands = ` + tomlList(distCommands) + `
`
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
	r, err := recipe.Load(path, recipe.WithLocalGit())
	require.NoError(t, err)

	_, err = runner.Run(context.Background(), r, runnerOpts(t, e)...)
	require.ErrorIs(t, err, runner.ErrUnpinned)
	assert.Contains(t, err.Error(), "unresolved and has no lock file")

	_, err = runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithAllowUnpinned(true), runner.WithRequirePinned(true))...)
	require.ErrorIs(t, err, runner.ErrUnpinned, "--require-pinned wins")

	rep, err := runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithAllowUnpinned(true))...)
	require.NoError(t, err)
	assert.Equal(t, report.Reproduced, rep.Result)
	assert.False(t, rep.Env.Pinned)
	assert.Equal(t, digest, rep.Env.ImageDigest, "the digest used is recorded")
	require.NotEmpty(t, rep.Warnings)
	assert.Contains(t, rep.Warnings[0], "is not pinned")

	res, err := envpin.Pin(context.Background(), e.docker, tagRef, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, digest, res.Lock.Image.Digest, "pin resolves the tag to the digest the registry computed on push")
	assert.Equal(t, e.imageID, res.Lock.Image.ConfigDigest)
	assert.Equal(t, "2.71", res.Lock.Tools["autoconf"])
	require.NoError(t, envpin.WriteLock(envpin.LockPath(path), res.Lock))

	rep, err = runner.Run(context.Background(), r, runnerOpts(t, e, runner.WithRequirePinned(true))...)
	require.NoError(t, err)
	assert.True(t, rep.Env.Pinned, "the lock file pins it")
	assert.Equal(t, digest, rep.Env.ImageDigest)
	assert.Empty(t, rep.Warnings)
}
