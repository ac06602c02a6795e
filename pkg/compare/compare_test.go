package compare_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/compare"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required (CI=%q): %v", name, os.Getenv("CI"), err)
	}
}

// makeTarball writes DIR/FILE as `tar --sort=name ... | gzip -n` (GNU tar
// and gzip) of a tree holding configure with the given content.
func makeTarball(t *testing.T, dir, file, configure string) string {
	t.Helper()
	needTool(t, "tar")
	needTool(t, "gzip")
	tree := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "demo-1.0"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "demo-1.0", "configure"), []byte(configure), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "demo-1.0", "README"), []byte("demo\n"), 0o644))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, file)
	cmd := exec.Command("sh", "-c", `tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -cf - demo-1.0 | gzip -n > "$0"`, out)
	cmd.Dir = tree
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func sha(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDirsMajorityAndOutlier(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, b, c := filepath.Join(root, "debian"), filepath.Join(root, "ubuntu"), filepath.Join(root, "fedora")
	makeTarball(t, a, "demo-1.0.tar.gz", "#!/bin/sh\necho autoconf 2.71\n")
	makeTarball(t, b, "demo-1.0.tar.gz", "#!/bin/sh\necho autoconf 2.71\n")
	odd := makeTarball(t, c, "demo-1.0.tar.gz", "#!/bin/sh\necho autoconf 2.72\n")
	for _, d := range []string{a, b, c} {
		require.NoError(t, os.WriteFile(filepath.Join(d, "demo-1.0-src.tar.gz"), []byte("same"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(a, "only-here.txt"), []byte("x"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(b, "subdir"), 0o755)) // ignored

	// The odd build is listed first: the majority still wins.
	res, err := compare.Dirs(ctx, []string{c, a, b})
	require.NoError(t, err)
	assert.False(t, res.Agree())
	require.Len(t, res.Files, 3)

	src := res.Files[0]
	assert.Equal(t, "demo-1.0-src.tar.gz", src.Name)
	assert.True(t, src.Agree)
	require.Len(t, src.Groups, 1)
	assert.Equal(t, []string{c, a, b}, src.Groups[0].Builds)
	assert.Empty(t, src.Diffs)

	dist := res.Files[1]
	assert.False(t, dist.Agree)
	require.Len(t, dist.Groups, 2)
	assert.Equal(t, []string{a, b}, dist.Groups[0].Builds, "majority first")
	assert.Equal(t, sha(t, filepath.Join(a, "demo-1.0.tar.gz")), dist.Groups[0].SHA256)
	assert.Equal(t, []string{c}, dist.Groups[1].Builds)
	assert.Equal(t, sha(t, odd), dist.Groups[1].SHA256)
	require.Len(t, dist.Diffs, 1)
	assert.Equal(t, a, dist.Diffs[0].A)
	assert.Equal(t, c, dist.Diffs[0].B)
	assert.Equal(t, []string{"demo-1.0/configure"}, dist.Diffs[0].Members())

	only := res.Files[2]
	assert.Equal(t, "only-here.txt", only.Name)
	assert.False(t, only.Agree)
	assert.Equal(t, []string{c, b}, only.Missing)

	var text bytes.Buffer
	require.NoError(t, res.WriteText(&text))
	out := text.String()
	assert.Contains(t, out, "DIFFER demo-1.0.tar.gz\n")
	assert.Contains(t, out, "agree  demo-1.0-src.tar.gz\n")
	assert.Contains(t, out, a+" "+b+" [majority]")
	assert.Contains(t, out, "==> demo-1.0.tar.gz: "+a+" vs "+c)
	assert.Contains(t, out, "demo-1.0/configure")
	assert.Contains(t, out, "-echo autoconf 2.71")
	assert.Contains(t, out, "+echo autoconf 2.72")
	assert.Contains(t, out, "missing  "+c+" "+b)
	assert.Contains(t, out, "result: 1 of 3 file(s) agree; differing: demo-1.0.tar.gz, only-here.txt")

	var js bytes.Buffer
	require.NoError(t, res.WriteJSON(&js))
	var doc struct {
		Agree bool `json:"agree"`
		Files []struct {
			Name  string `json:"name"`
			Diffs []struct {
				B      string          `json:"b"`
				Result json.RawMessage `json:"result"`
			} `json:"diffs"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.False(t, doc.Agree)
	require.Len(t, doc.Files[1].Diffs, 1)
	assert.Contains(t, string(doc.Files[1].Diffs[0].Result), `"demo-1.0/configure"`)
}

func TestDirsAllAgree(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	makeTarball(t, a, "demo-1.0.tar.gz", "x\n")
	makeTarball(t, b, "demo-1.0.tar.gz", "x\n")
	res, err := compare.Dirs(context.Background(), []string{a, b})
	require.NoError(t, err)
	assert.True(t, res.Agree())
	var text bytes.Buffer
	require.NoError(t, res.WriteText(&text))
	assert.Contains(t, text.String(), "result: 1 of 1 file(s) agree: all builds are identical")
}

func demoRecipe(t *testing.T, srcSHA, distSHA string) *recipe.Recipe {
	t.Helper()
	text := `name = "demo"
version = "1.0"
[source]
git = "https://example.org/demo.git"
tag = "v1.0"
commit = "0123456789abcdef0123456789abcdef01234567"
[env]
image = "debian:bookworm"
digest = "unresolved"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + srcSHA + `"
method = "git-archive"
prefix = "demo-v1.0/"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + distSHA + `"
method = "build"
commands = ["make dist"]
`
	r, err := recipe.Parse("demo.toml", []byte(text))
	require.NoError(t, err)
	return r
}

func TestDirsWithRecipe(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	makeTarball(t, a, "demo-1.0.tar.gz", "new\n")
	makeTarball(t, b, "demo-1.0.tar.gz", "new\n")
	good := makeTarball(t, c, "demo-1.0.tar.gz", "published\n")

	// The recipe's digest decides the reference, even against a majority;
	// the src artifact was not built at all.
	res, err := compare.Dirs(ctx, []string{a, b, c}, compare.WithRecipe(demoRecipe(t, strings.Repeat("e", 64), sha(t, good))))
	require.NoError(t, err)
	assert.False(t, res.Agree())
	require.Len(t, res.Files, 2)
	src, dist := res.Files[0], res.Files[1] // "-src" sorts before ".tar"
	assert.Equal(t, "dist", dist.Artifact)
	assert.True(t, dist.Groups[0].Expected)
	assert.Equal(t, []string{c}, dist.Groups[0].Builds)
	assert.Equal(t, c, dist.Diffs[0].A)
	assert.Equal(t, "demo-1.0-src.tar.gz", src.Name)
	assert.Equal(t, []string{a, b, c}, src.Missing)
	assert.False(t, src.Agree)

	// Builds that agree with each other but not with the recipe disagree.
	res, err = compare.Dirs(ctx, []string{a, b}, compare.WithRecipe(demoRecipe(t, strings.Repeat("e", 64), sha(t, good))), compare.WithNoDiff())
	require.NoError(t, err)
	assert.False(t, res.Files[1].Agree)
	var text bytes.Buffer
	require.NoError(t, res.WriteText(&text))
	assert.Contains(t, text.String(), "no build has the sha256 the recipe expects")
}

func TestDirsErrors(t *testing.T) {
	ctx := context.Background()
	_, err := compare.Dirs(ctx, nil)
	require.ErrorIs(t, err, compare.ErrNoBuilds)
	empty := t.TempDir()
	_, err = compare.Dirs(ctx, []string{empty, t.TempDir()})
	require.ErrorIs(t, err, compare.ErrNoFiles)
	_, err = compare.Dirs(ctx, []string{empty, empty + "/"})
	require.ErrorIs(t, err, compare.ErrDuplicateBuild)
	_, err = compare.Dirs(ctx, []string{empty, filepath.Join(empty, "nope")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(empty, "nope"))

	// A file that is not a tarball still compares; the diff error is kept.
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(a, "notes.txt"), []byte("one"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(b, "notes.txt"), []byte("two"), 0o644))
	res, err := compare.Dirs(ctx, []string{a, b})
	require.NoError(t, err)
	require.Len(t, res.Files[0].Diffs, 1)
	assert.NotEmpty(t, res.Files[0].Diffs[0].Error)
}

// The Markdown verdict: one row per content, cells escaped (a build
// directory may hold a '|'), the verdict line last.
func TestWriteMarkdown(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a|x"), filepath.Join(root, "b")
	pa := makeTarball(t, a, "demo-1.0.tar.gz", "x\n")
	pb := makeTarball(t, b, "demo-1.0.tar.gz", "y\n")
	res, err := compare.Dirs(context.Background(), []string{a, b})
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, res.WriteMarkdown(&md))
	esc := strings.ReplaceAll(a, "|", `\|`)
	assert.Equal(t, "### verify-release compare: **DIFFER**\n\n"+
		"2 build(s): `"+esc+" "+b+"`\n\n"+
		"| file | result | sha256 | builds |\n|---|---|---|---|\n"+
		"| `demo-1.0.tar.gz` | **DIFFER** | `"+sha(t, pa)+"` | "+esc+" (majority) |\n"+
		"|  |  | `"+sha(t, pb)+"` | "+b+" |\n"+
		"\n0 of 1 file(s) agree; differing: demo-1.0.tar.gz. The job log and compare.json have the per-member diff.\n", md.String())
}

// A gate comparison against its recipe as a verification summary: PASSED
// only when every recipe artifact was built identically with the
// expected sha256.
func TestAttestationRun(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	dist := sha(t, makeTarball(t, a, "demo-1.0.tar.gz", "x\n"))
	makeTarball(t, b, "demo-1.0.tar.gz", "x\n")
	src := sha(t, makeTarball(t, a, "demo-1.0-src.tar.gz", "s\n"))
	makeTarball(t, b, "demo-1.0-src.tar.gz", "s\n")
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		distSHA string
		passed  bool
	}{{dist, true}, {strings.Repeat("0", 64), false}} {
		rec := demoRecipe(t, src, tc.distSHA)
		res, err := compare.Dirs(context.Background(), []string{a, b}, compare.WithRecipe(rec))
		require.NoError(t, err)
		run := res.AttestationRun(rec, "recipes/demo/1.0.toml", "test", when)
		assert.Equal(t, tc.passed, run.Passed())
		require.Len(t, run.Artifacts, 2)
		assert.Equal(t, "demo-1.0-src.tar.gz", run.Artifacts[0].Name)
		assert.Equal(t, src, run.Artifacts[0].SHA256)
		assert.True(t, run.Artifacts[0].Reproduced)
		assert.Equal(t, dist, run.Artifacts[1].SHA256)
		assert.Equal(t, tc.distSHA, run.Artifacts[1].Expected)
		assert.Equal(t, "0123456789abcdef0123456789abcdef01234567", run.Commit)
	}
}
