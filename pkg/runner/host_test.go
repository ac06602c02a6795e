package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
)

// The host backend (for CI jobs already running in the pinned image) runs
// the same steps in a temporary directory. The expected tarball comes from
// the documented commands run by hand in a shell on this machine.
func TestHostBackendReproduces(t *testing.T) {
	requireTools(t, "git", "autoreconf", "libtoolize", "make", "tar", "gzip")
	repo, commit := autotoolsRepo(t)
	work := t.TempDir()
	want := sh(t, work, `git clone -q `+repo+` src && cd src && git -c advice.detachedHead=false checkout -q v1.0
export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
find . -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
export TZ=UTC LC_ALL=C LANG=C
umask 0022
`+strings.Join(distCommands, "\n")+` >/dev/null
sha256sum demo-1.0.tar.gz | cut -c1-64`)
	want = want[strings.LastIndex(want, "\n")+1:]

	pub := t.TempDir()
	srcSHA := sh(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn > "+pub+"/src.tgz && sha256sum "+pub+"/src.tgz | cut -c1-64")
	r := distRecipe(t, repo, commit, "example.invalid/unused@sha256:"+strings.Repeat("0", 64), want, srcSHA)
	r.Env.Tools = map[string]string{"autoconf": "2.71"} // this machine: Debian 12
	out := t.TempDir()
	rep, err := runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost),
		runner.WithCacheDir(t.TempDir()), runner.WithOutDir(out))
	require.NoError(t, err)
	for _, a := range rep.Artifacts {
		assert.Equal(t, report.Reproduced, a.Status, "%s: %s", a.Name, a.Error)
	}
	assert.Equal(t, "host", rep.Env.Backend)
	assert.Equal(t, "2.71", rep.Env.Tools["autoconf"])

	// The results directory holds the artifacts, the report, the log and
	// the attestations, with SHA256SUMS that sha256sum accepts.
	dir := filepath.Join(out, "demo", "1.0")
	for _, f := range []string{"demo-1.0.tar.gz", "demo-1.0-src.tar.gz", "report.json", "report.html", "build.log", "verification_summary.intoto.json", "provenance.intoto.json", "SHA256SUMS"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	sh(t, dir, "sha256sum --check --quiet SHA256SUMS")
	st, err := os.ReadFile(filepath.Join(dir, "verification_summary.intoto.json"))
	require.NoError(t, err)
	assert.Contains(t, string(st), `"verificationResult":"PASSED"`)
	log, err := os.ReadFile(filepath.Join(dir, "build.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "==> dist: step 3/4: ./configure --quiet")
}

// The mtime policies, checked on the host backend with a build that
// records file mtimes: expected tarballs come from touch(1) with the times
// git log reports, then the same tar command.
func TestHostMtimePolicies(t *testing.T) {
	requireTools(t, "git", "tar", "sha256sum", "touch")
	repo := t.TempDir()
	sh(t, repo, `git init -q -b main
echo a > a && git add a && GIT_COMMITTER_DATE=2023-01-01T00:00:00Z git commit -q -m a
echo b > b && git add b && git commit -q -m b && git tag -a -m v v1.0`)
	commit := sh(t, repo, "git rev-parse HEAD")
	build := "tar --sort=name --owner=0 --group=0 --numeric-owner --format=ustar -cf out.tar a b"
	expect := func(script string) string {
		work := t.TempDir()
		return sh(t, work, "git clone -q "+repo+" s && cd s && "+script+" && "+build+" && sha256sum out.tar | cut -c1-64")
	}
	want := map[string]string{
		"commit":   expect(`t=$(git log -1 --format=%ct) && touch -d @$t a b`),
		"per-file": expect(`touch -d @$(git log -1 --format=%ct -- a) a && touch -d @$(git log -1 --format=%ct -- b) b`),
	}
	require.NotEqual(t, want["commit"], want["per-file"], "the fixture must tell the policies apart")
	for policy, sha := range want {
		t.Run(policy, func(t *testing.T) {
			data := `name = "p"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "example.invalid/unused@sha256:` + strings.Repeat("0", 64) + `"
[artifacts.out]
file = "out.tar"
sha256 = "` + sha + `"
method = "build"
mtime = "` + policy + `"
commands = ["` + build + `"]
`
			r, err := recipe.Parse("p.toml", []byte(data), recipe.WithLocalGit())
			require.NoError(t, err)
			rep, err := runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(t.TempDir()))
			require.NoError(t, err)
			assert.Equal(t, report.Reproduced, rep.Artifacts[0].Status, "%s: got %s", rep.Artifacts[0].Error, rep.Artifacts[0].Actual)
		})
	}
}
