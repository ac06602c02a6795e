package runner_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/source"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// sh runs a shell command line (the documented, independent path) and
// returns its stdout.
func sh(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.org",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.org",
		"GIT_AUTHOR_DATE=2024-04-13T10:00:00Z", "GIT_COMMITTER_DATE=2024-04-13T10:00:00Z",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s:\n%s", script, out)
	return strings.TrimSpace(string(out))
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "this test needs %s", tool)
	}
}

// demoRepo makes a small autotools-looking repository tagged v1.0.
func demoRepo(t *testing.T) (dir, commit string) {
	requireTools(t, "git", "gzip", "sha256sum")
	dir = t.TempDir()
	sh(t, dir, `git init -q -b main
mkdir m4
printf 'AC_INIT([demo],[1.0])\nAM_INIT_AUTOMAKE\nAC_OUTPUT\n' > configure.ac
printf 'dnl demo macros\n' > m4/demo.m4
printf '#!/bin/sh\nexec autoreconf -fi\n' > bootstrap && chmod +x bootstrap
git add -A && git commit -q -m 'demo 1.0' && git tag -a -m 'demo 1.0' v1.0`)
	return dir, sh(t, dir, "git rev-parse HEAD")
}

func srcRecipe(t *testing.T, repo, commit, sha string) *recipe.Recipe {
	t.Helper()
	data := `name = "demo"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "example.invalid/none@sha256:` + strings.Repeat("0", 64) + `"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + sha + `"
method = "git-archive"
prefix = "demo-v1.0/"
`
	r, err := recipe.Parse(filepath.Join(t.TempDir(), "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	return r
}

func TestSrcReproduced(t *testing.T) {
	repo, commit := demoRepo(t)
	// Independent path: the documented shell pipeline.
	pub := t.TempDir()
	want := sh(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn > "+pub+"/demo-1.0-src.tar.gz && sha256sum "+pub+"/demo-1.0-src.tar.gz | cut -c1-64")

	out := t.TempDir()
	rep, err := runner.Run(context.Background(), srcRecipe(t, repo, commit, want),
		runner.WithCacheDir(t.TempDir()), runner.WithOutDir(out))
	require.NoError(t, err)
	assert.Equal(t, report.Reproduced, rep.Result)
	require.Len(t, rep.Artifacts, 1)
	assert.Equal(t, want, rep.Artifacts[0].Actual)
	assert.Equal(t, commit, rep.Source.Commit)
	assert.Equal(t, "2024-04-13T10:00:00Z", rep.Source.CommitTime.Format("2006-01-02T15:04:05Z"))

	// --out keeps the artifact (same bytes) and report.json.
	got := sh(t, out, "sha256sum demo/1.0/demo-1.0-src.tar.gz | cut -c1-64")
	assert.Equal(t, want, got)
	r2, err := report.ReadFile(filepath.Join(out, "demo", "1.0", "report.json"))
	require.NoError(t, err)
	assert.Equal(t, report.Reproduced, r2.Result)
}

// The XZ-style tampering: the published tarball carries an extra m4 file
// and a changed line that are not in git. The diff must name exactly them.
func TestSrcTamperedPublishedCopy(t *testing.T) {
	repo, commit := demoRepo(t)
	pub := t.TempDir()
	sha := sh(t, repo, `git archive --format=tar --prefix=demo-v1.0/ v1.0 > `+pub+`/clean.tar
mkdir -p `+pub+`/x && cd `+pub+`/x && tar xf ../clean.tar
printf 'dnl backdoor\n' > demo-v1.0/m4/build-to-host.m4
printf 'AC_INIT([demo],[1.0])\nAM_INIT_AUTOMAKE\nAC_CONFIG_COMMANDS([x],[sh m4/build-to-host.m4])\nAC_OUTPUT\n' > demo-v1.0/configure.ac
# Keep every other header as git wrote it: append the new file, replace the changed one in place.
cp ../clean.tar ../t.tar
tar --delete -f ../t.tar demo-v1.0/configure.ac
tar --owner=root --group=root --numeric-owner --mtime=@1713002400 --format=ustar -rf ../t.tar demo-v1.0/configure.ac demo-v1.0/m4/build-to-host.m4
gzip -cn ../t.tar > `+pub+`/demo-1.0-src.tar.gz
sha256sum `+pub+`/demo-1.0-src.tar.gz | cut -c1-64`)

	var diff strings.Builder
	rep, err := runner.Run(context.Background(), srcRecipe(t, repo, commit, sha),
		runner.WithCacheDir(t.TempDir()), runner.WithPublishedDir(pub), runner.WithDiffOutput(&diff))
	require.NoError(t, err)
	assert.Equal(t, report.Mismatch, rep.Result)
	a := rep.Artifacts[0]
	assert.Equal(t, report.Mismatch, a.Status)
	require.NotNil(t, a.Diff)
	assert.Contains(t, a.Diff.Members, "demo-v1.0/m4/build-to-host.m4")
	assert.Contains(t, a.Diff.Members, "demo-v1.0/configure.ac")
	for _, m := range a.Diff.Members {
		assert.Contains(t, []string{"demo-v1.0/m4/build-to-host.m4", "demo-v1.0/configure.ac"}, m, "only the tampered members may be named")
	}
	assert.Contains(t, diff.String(), "-AC_CONFIG_COMMANDS([x],[sh m4/build-to-host.m4])", "the unified diff shows the injected line")
	assert.Contains(t, diff.String(), "AC_CONFIG_COMMANDS")
	assert.Equal(t, sha, a.Published.SHA256)
}

// A published copy whose configure.ac was changed after git archive (and
// appended, so it is also out of order): DIFFERENT without an [[accept]]
// entry; EQUIVALENT with one naming the member, its reason in report.json,
// the JUnit case and the verification summary; a stale entry is an error.
func TestSrcAcceptedDifference(t *testing.T) {
	repo, commit := demoRepo(t)
	pub := t.TempDir()
	sha := sh(t, repo, `git archive --format=tar --prefix=demo-v1.0/ v1.0 > `+pub+`/clean.tar
mkdir -p `+pub+`/x && cd `+pub+`/x && tar xf ../clean.tar
printf 'AC_INIT([demo],[1.0])\nAM_INIT_AUTOMAKE([foreign])\nAC_OUTPUT\n' > demo-v1.0/configure.ac
cp ../clean.tar ../t.tar
tar --delete -f ../t.tar demo-v1.0/configure.ac
tar --owner=root --group=root --numeric-owner --mtime=@1713002400 --format=ustar -rf ../t.tar demo-v1.0/configure.ac
gzip -cn ../t.tar > `+pub+`/demo-1.0-src.tar.gz
sha256sum `+pub+`/demo-1.0-src.tar.gz | cut -c1-64`)
	const reason = "upstream edited configure.ac in the release tarball after tagging (test)"
	withAccept := func(extra string) *recipe.Recipe {
		r := srcRecipe(t, repo, commit, sha)
		r.Accept = append(r.Accept, recipe.Accept{Member: "demo-v1.0/configure.ac", Class: "content", Reason: reason})
		if extra != "" {
			r.Accept = append(r.Accept, recipe.Accept{Member: extra, Class: "whitespace", Reason: "stale"})
		}
		return r
	}

	rep, err := runner.Run(context.Background(), srcRecipe(t, repo, commit, sha),
		runner.WithCacheDir(t.TempDir()), runner.WithPublishedDir(pub))
	require.NoError(t, err)
	assert.Equal(t, report.Mismatch, rep.Result)
	require.NotNil(t, rep.Artifacts[0].Verdict)
	assert.Equal(t, verdict.Different, rep.Artifacts[0].Verdict.Status)

	out := t.TempDir()
	var junit strings.Builder
	rep, err = runner.Run(context.Background(), withAccept(""),
		runner.WithCacheDir(t.TempDir()), runner.WithPublishedDir(pub), runner.WithOutDir(out))
	require.NoError(t, err)
	assert.Equal(t, report.Equivalent, rep.Result)
	a := rep.Artifacts[0]
	assert.Equal(t, report.Equivalent, a.Status)
	require.NotNil(t, a.Verdict)
	assert.Contains(t, a.Verdict.Accepted, verdict.Difference{Path: "demo-v1.0/configure.ac", Kind: tarball.KindContent,
		Class: tarball.ClassContent, Rule: 1, Reason: reason})
	assert.Contains(t, a.Verdict.Accepted, verdict.Difference{Path: "demo-v1.0/configure.ac", Kind: tarball.KindOrder,
		Field: "position", Class: tarball.ClassOrder, Reason: verdict.PolicyReason})
	require.NoError(t, report.WriteJUnit(&junit, rep))
	assert.NotContains(t, junit.String(), "<failure")
	assert.Contains(t, junit.String(), "by [[accept]] 1: "+reason)
	js, err := os.ReadFile(filepath.Join(out, "demo", "1.0", "report.json"))
	require.NoError(t, err)
	assert.Contains(t, string(js), `"status": "EQUIVALENT"`)
	vsa, err := os.ReadFile(filepath.Join(out, "demo", "1.0", "verification_summary.intoto.json"))
	require.NoError(t, err)
	assert.Contains(t, string(vsa), "VERIFY_RELEASE_EQUIVALENT_SRC")
	assert.Contains(t, string(vsa), reason)

	// An entry that matches nothing fails the run.
	rep, err = runner.Run(context.Background(), withAccept("demo-v1.0/m4/demo.m4"),
		runner.WithCacheDir(t.TempDir()), runner.WithPublishedDir(pub))
	require.ErrorIs(t, err, verdict.ErrStale)
	assert.Equal(t, report.Error, rep.Result)
	assert.Contains(t, rep.Error, `[[accept]] entry 2 (member "demo-v1.0/m4/demo.m4") matches no difference`)
}

func TestSrcMovedTag(t *testing.T) {
	repo, commit := demoRepo(t)
	sh(t, repo, "git commit -q --allow-empty -m later && git tag -f -a -m moved v1.0")
	rep, err := runner.Run(context.Background(), srcRecipe(t, repo, commit, strings.Repeat("1", 64)),
		runner.WithCacheDir(t.TempDir()))
	var moved *source.MovedTagError
	require.True(t, errors.As(err, &moved), "want a moved-tag error, got %v", err)
	assert.Equal(t, report.Error, rep.Result)
	assert.Contains(t, rep.Error, "the tag was moved")
	assert.Empty(t, rep.Artifacts, "nothing is built from a moved tag")
}

func TestSrcUnresolvedCommitIsRefused(t *testing.T) {
	repo, _ := demoRepo(t)
	rep, err := runner.Run(context.Background(), srcRecipe(t, repo, recipe.Unresolved, strings.Repeat("1", 64)),
		runner.WithCacheDir(t.TempDir()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `source.commit is "unresolved": the commit of tag v1.0 was not known`)
	assert.Equal(t, report.Error, rep.Result)
	assert.Empty(t, rep.Artifacts, "nothing is built from an unresolved commit")
}

func TestSrcPublishedOverHTTPWithRetry(t *testing.T) {
	repo, commit := demoRepo(t)
	pub := t.TempDir()
	sh(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn -1 > "+pub+"/demo-1.0-src.tar.gz")
	data, err := os.ReadFile(filepath.Join(pub, "demo-1.0-src.tar.gz"))
	require.NoError(t, err)
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if hits == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	r := srcRecipe(t, repo, commit, sh(t, pub, "sha256sum demo-1.0-src.tar.gz | cut -c1-64"))
	r.Artifacts["src"].URL = srv.URL + "/demo-1.0-src.tar.gz"

	rep, err := runner.Run(context.Background(), r, runner.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	a := rep.Artifacts[0]
	// gzip -1 is not what the recipe's gzip-n (level 6) makes; the tar
	// streams are the same, so the metadata policy accepts the difference.
	assert.Equal(t, report.Equivalent, a.Status)
	require.NotNil(t, a.Verdict)
	assert.Equal(t, verdict.Equivalent, a.Verdict.Status)
	assert.Equal(t, report.Equivalent, rep.Result)
	require.NotNil(t, a.Diff)
	assert.Empty(t, a.Diff.Members, "same tar stream: no member differs")
	assert.Contains(t, a.Diff.Summary, "tar streams identical, compression differs")
	assert.Equal(t, 2, hits, "one retry after a 503")
}

// The substitution proof without a published copy: the published tarball
// is git archive's with one same-length text changed in place (sed on
// the tar stream, so every header byte stays git's), gzip -cn. The recipe
// pins its sha256 and declares the substitution; the run proves it from
// the re-created file alone.
func TestSrcSubstitutionProof(t *testing.T) {
	repo, commit := demoRepo(t)
	sha := sh(t, repo, `git archive --format=tar --prefix=demo-v1.0/ v1.0 | sed 's/AC_INIT(\[demo\],\[1\.0\])/AC_INIT([demo],[1.1])/' | gzip -cn | sha256sum | cut -c1-64`)
	sub := recipe.Accept{Member: "demo-v1.0/configure.ac", Old: "AC_INIT([demo],[1.0])", New: "AC_INIT([demo],[1.1])",
		Reason: "the release tarball was made after the version bump (test)"}

	r := srcRecipe(t, repo, commit, sha)
	r.Accept = []recipe.Accept{sub}
	out := t.TempDir()
	rep, err := runner.Run(context.Background(), r, runner.WithCacheDir(t.TempDir()), runner.WithOutDir(out))
	require.NoError(t, err)
	a := rep.Artifacts[0]
	assert.Equal(t, report.Equivalent, a.Status)
	assert.Equal(t, report.Equivalent, rep.Result)
	// The verification summary names the published sha256 as its subject,
	// PASSED at the EQUIVALENT level, with the substitution's reason.
	vsa, err := os.ReadFile(filepath.Join(out, "demo", "1.0", "verification_summary.intoto.json"))
	require.NoError(t, err)
	assert.Contains(t, string(vsa), `"sha256":"`+sha+`"`)
	assert.Contains(t, string(vsa), "VERIFY_RELEASE_EQUIVALENT_SRC")
	assert.Contains(t, string(vsa), `"PASSED"`)
	assert.Contains(t, string(vsa), sub.Reason)
	require.NotNil(t, a.Verdict)
	require.NotNil(t, a.Verdict.Proof)
	assert.True(t, a.Verdict.Proof.Matched)
	assert.Equal(t, sha, a.Verdict.Proof.Got)
	assert.Equal(t, a.Actual, a.Verdict.Proof.Recreated)
	assert.Equal(t, 1, a.Verdict.Proof.Substitutions[0].Count)
	assert.Contains(t, a.Verdict.Proof.Compression, "GNU gzip -6")

	// A substitution that does not give the published bytes: MISMATCH
	// (DIFFERENT) with both sha256s.
	sub.New = "AC_INIT([demo],[1.2])"
	r.Accept = []recipe.Accept{sub}
	rep, err = runner.Run(context.Background(), r, runner.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	a = rep.Artifacts[0]
	assert.Equal(t, report.Mismatch, a.Status)
	require.NotNil(t, a.Verdict)
	assert.Equal(t, verdict.Different, a.Verdict.Status)
	assert.Contains(t, a.Verdict.Summary(), "expected "+sha)
	assert.Contains(t, a.Verdict.Summary(), a.Verdict.Proof.Got)
}
