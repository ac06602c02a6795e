package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/audit"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
)

// A published dist tarball with a member that is in no git commit and not
// made by the build (the XZ shape): even when the recipe accepts the
// content difference, the generated-file audit finds the member
// unexplained and the verdict is MISMATCH. The tarballs are made with
// GNU tar and gzip; the re-created one by the recipe's own commands.
func TestRunAuditOverridesAcceptedDifference(t *testing.T) {
	requireTools(t, "git", "tar", "gzip", "sha256sum")
	repo := t.TempDir()
	sh(t, repo, `git init -q -b main && echo hello > README && git add README && git commit -q -m r && git tag -a -m v v1.0`)
	commit := sh(t, repo, "git rev-parse HEAD")
	src := sh(t, repo, "git archive --format=tar --prefix=p-v1.0/ v1.0 | gzip -cn | sha256sum | cut -c1-64")
	pack := "tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=ustar -cf - p-1.0 | gzip -n"
	build := "mkdir -p ../o/p-1.0 && cp README ../o/p-1.0/ && echo generated > ../o/p-1.0/configure && (cd ../o && " + pack + ") > p-1.0.tar.gz"
	dir := filepath.Join(t.TempDir(), "p")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	// The published copy: the same, plus m4/evil.m4.
	sh(t, dir, "mkdir -p w/p-1.0/m4 && echo hello > w/p-1.0/README && echo generated > w/p-1.0/configure && echo 'eval $(payload)' > w/p-1.0/m4/evil.m4 && (cd w && "+pack+") > p-1.0.tar.gz")
	pub := sh(t, dir, "sha256sum p-1.0.tar.gz | cut -c1-64")
	data := `name = "p"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "example.invalid/unused@sha256:` + strings.Repeat("0", 64) + `"
[artifacts.src]
file = "p-1.0-src.tar.gz"
sha256 = "` + src + `"
method = "git-archive"
prefix = "p-v1.0/"
[artifacts.dist]
file = "p-1.0.tar.gz"
sha256 = "` + pub + `"
method = "build"
from = "src"
commands = ["` + build + `"]
path = "p-1.0.tar.gz"
[[accept]]
artifact = "dist"
member = "p-1.0/m4/evil.m4"
class = "content"
reason = "a reason that should not be enough"
`
	r, err := recipe.Parse(filepath.Join(dir, "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	out := t.TempDir()
	rep, err := runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(t.TempDir()), runner.WithOutDir(out))
	require.NoError(t, err)
	var dist *report.Artifact
	for i := range rep.Artifacts {
		if rep.Artifacts[i].Name == "dist" {
			dist = &rep.Artifacts[i]
		}
	}
	require.NotNil(t, dist)
	require.Empty(t, dist.Error)
	require.NotNil(t, dist.Audit, "no audit in the report")
	assert.Equal(t, []audit.Member{{Path: "m4/evil.m4", Group: audit.Unexplained}}, dist.Audit.Review())
	assert.Equal(t, 1, dist.Audit.Counts[audit.Regenerated], "configure is regenerated")
	assert.Equal(t, report.Mismatch, dist.Status)
	assert.Equal(t, report.Mismatch, rep.Result)

	// The release's page (report.html) leads with the verdict and shows the
	// member that needs review in the audit.
	page, err := os.ReadFile(filepath.Join(out, "p", "1.0", report.HTMLFile))
	require.NoError(t, err)
	assert.Regexp(t, `id="verdict"[^>]*><strong><span class="badge MISMATCH">MISMATCH</span>`, string(page))
	assert.Regexp(t, `needs review:</span> unexplained \(1\)</summary><ul><li><code>m4/evil.m4</code>`, string(page))
	assert.FileExists(t, filepath.Join(out, "p", "1.0", "p-1.0.tar.gz.diff"))
}
