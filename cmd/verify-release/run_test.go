package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/recipes"
)

// runRepo makes a tagged repository and a recipe store for it whose src
// artifact's sha256 comes from git archive | gzip -cn run by hand.
func runRepo(t *testing.T) (store, sha string) {
	t.Helper()
	for _, tool := range []string{"git", "gzip", "sha256sum"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the run tests need %s", tool)
	}
	repo := t.TempDir()
	out := shell(t, repo, `export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@example.org GIT_COMMITTER_NAME=c GIT_COMMITTER_EMAIL=c@example.org
export GIT_AUTHOR_DATE=2024-04-13T10:00:00Z GIT_COMMITTER_DATE=2024-04-13T10:00:00Z HOME=`+repo+`
git init -q -b main && echo hello > README && git add README && git commit -q -m r && git tag -a -m r v1.0
git rev-parse HEAD
git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn | sha256sum | cut -c1-64`)
	lines := strings.Fields(out)
	commit, sha := lines[0], lines[1]
	store = t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(store, "demo"), 0o755))
	recipe := `name = "demo"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "example.invalid/x@sha256:` + strings.Repeat("0", 64) + `"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + sha + `"
method = "git-archive"
prefix = "demo-v1.0/"
[artifacts.notes]
file = "notes.txt"
sha256 = "` + strings.Repeat("1", 64) + `"
method = "build"
commands = ["echo notes > notes.txt"]
`
	require.NoError(t, os.WriteFile(filepath.Join(store, "demo", "1.0.toml"), []byte(recipe), 0o644))
	return store, sha
}

func TestRunCommandExitCodesAndOutputs(t *testing.T) {
	store, sha := runRepo(t)
	cache := t.TempDir()
	env := map[string]string{"VERIFY_RELEASE_RECIPES": store, "XDG_CACHE_HOME": cache}

	// src: only the git-archive artifact, on this machine.
	code, out, errOut := run(t, env, "src", "demo", "1.0", "--allow-local-git", "--cache-dir", cache)
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "src      demo-1.0-src.tar.gz              REPRODUCED")
	assert.Contains(t, out, "sha256 "+sha)
	assert.Contains(t, errOut, "tag v1.0 resolves to the pinned commit")
	assert.Contains(t, out, "notes    notes.txt                        SKIPPED", "src skips build artifacts")

	// run on the host backend: notes.txt does not have the pinned digest.
	outDir := t.TempDir()
	junit := filepath.Join(outDir, "junit.xml")
	code, out, errOut = run(t, env, "run", "demo", "1.0", "--allow-local-git", "--backend", "host", "--cache-dir", cache, "--out", outDir, "--junit", junit, "--quiet")
	assert.Equal(t, exitDiffer, code, errOut)
	assert.Contains(t, out, "notes    notes.txt                        MISMATCH")
	assert.Contains(t, out, "result: MISMATCH")
	assert.Empty(t, strings.TrimSpace(strings.ReplaceAll(errOut, "verify-release: error: demo 1.0: MISMATCH in notes", "")), "--quiet")
	assert.FileExists(t, filepath.Join(outDir, "demo", "1.0", "report.json"))
	assert.FileExists(t, filepath.Join(outDir, "demo", "1.0", "notes.txt"))
	var suites struct {
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	data, err := os.ReadFile(junit)
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(data, &suites))
	require.Len(t, suites.Cases, 2)

	// --json prints report.json on stdout.
	code, out, _ = run(t, env, "run", "demo", "1.0", "--allow-local-git", "--backend", "host", "--cache-dir", cache, "--json", "--quiet", "--artifact", "src")
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(out, "{"), out)
	assert.Contains(t, out, `"result": "REPRODUCED"`)

	// Bad input: clear errors, exit 2.
	code, _, errOut = run(t, env, "run", "demo", "1.0", "--allow-local-git", "--backend", "vm")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, `--backend "vm": want docker or host`)
	code, _, errOut = run(t, env, "run", "demo", "1.0", "--allow-local-git", "--backend", "host", "--artifact", "nope", "--cache-dir", cache)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, `has no artifact "nope"`)
	code, _, errOut = run(t, env, "run", "demo")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "want NAME VERSION or a recipe PATH")
	code, _, errOut = run(t, env, "run", "demo", "1.0", "--allow-local-git", "--sign-key", "k.asc")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "give --out DIR too")
}

// TestUnpinnedHintForBuiltinRecipe: the hint after an unpinned image names
// a command pin accepts (NAME VERSION for a built-in recipe, which has no
// path on disk), not builtin:recipes/... (once suggested, and refused).
func TestUnpinnedHintForBuiltinRecipe(t *testing.T) {
	r, _, err := loadRecipe(&cli{Getenv: func(string) string { return "" }}, &recipe.Store{FS: recipes.FS}, "run", []string{"libntlm", "1.8"})
	require.NoError(t, err)
	require.Equal(t, "builtin:recipes/libntlm/1.8.toml", r.Path)
	err = runHint(r, "", fmt.Errorf("%w: the recipe marks the digest unresolved", runner.ErrUnpinned))
	assert.Equal(t, []string{"run 'verify-release pin libntlm 1.8' where the registry is reachable, pass --image-archive FILE, or pass --allow-unpinned to resolve the digest now"}, hints(err))
}

// An image that neither the engine nor its registry can supply: the hint
// names --image-archive (not --repo, not pin: the recipe is pinned).
func TestImageUnavailableHint(t *testing.T) {
	r, _, err := loadRecipe(&cli{Getenv: func(string) string { return "" }}, &recipe.Store{FS: recipes.FS}, "run", []string{"libntlm", "1.8"})
	require.NoError(t, err)
	r, err = r.ForEnv("ubuntu-22.04")
	require.NoError(t, err)
	err = runHint(r, "repo", fmt.Errorf("%w: fetching %s: no such host", envpin.ErrImageUnavailable, r.Env.Image))
	assert.Equal(t, []string{"pass --image-archive FILE with a docker-archive or OCI layout of " + r.Env.Image + " (e.g. from 'docker save' where the image is), or run where its registry is reachable"}, hints(err))
}

// A published copy compressed with gzip -1 instead of the recipe's gzip -n
// (level 6): same tar stream, so EQUIVALENT by the metadata policy, exit
// 0; --strict makes it exit 1; a stale [[accept]] entry exits 2.
func TestRunEquivalentAndStrict(t *testing.T) {
	store, _ := runRepo(t)
	cache := t.TempDir()
	env := map[string]string{"VERIFY_RELEASE_RECIPES": store, "XDG_CACHE_HOME": cache}
	file := filepath.Join(store, "demo", "1.0.toml")
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	repo := strings.Split(strings.SplitN(string(data), `git = "`, 2)[1], `"`)[0]
	pub := t.TempDir()
	sha := shell(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn -1 > "+pub+"/demo-1.0-src.tar.gz && sha256sum "+pub+"/demo-1.0-src.tar.gz | cut -c1-64")
	var old string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "sha256 = ") {
			old = l
			break
		}
	}
	recipe := strings.Replace(string(data), old, `sha256 = "`+strings.TrimSpace(sha)+`"`, 1)
	require.NoError(t, os.WriteFile(file, []byte(recipe), 0o644))

	args := []string{"src", "demo", "1.0", "--allow-local-git", "--cache-dir", cache, "--published", pub, "--quiet"}
	code, out, errOut := run(t, env, args...)
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "src      demo-1.0-src.tar.gz              EQUIVALENT")
	assert.Contains(t, out, "verdict: EQUIVALENT: ")
	assert.Contains(t, out, "by policy: archive metadata or compression only")
	assert.Contains(t, out, "result: EQUIVALENT")

	code, out, _ = run(t, env, append(args, "--strict")...)
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, out, "result: EQUIVALENT")

	stale := recipe + "\n[[accept]]\nmember = \"demo-v1.0/README\"\nclass = \"whitespace\"\nreason = \"nothing differs there\"\n"
	require.NoError(t, os.WriteFile(file, []byte(stale), 0o644))
	code, _, errOut = run(t, env, args...)
	assert.Equal(t, exitError, code, errOut)
	assert.Contains(t, errOut, `stale policy: [[accept]] entry 1 (member "demo-v1.0/README") matches no difference`)
}
