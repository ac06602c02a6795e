package recipe_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/recipes"
)

const minimal = `name = "demo"
version = "1.0"

[source]
git = "https://example.org/demo.git"
tag = "v1.0"
commit = "0123456789abcdef0123456789abcdef01234567"

[env]
image = "registry.example/debian@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
method = "git-archive"
prefix = "demo-v1.0/"
`

func TestParseMinimalFillsDefaults(t *testing.T) {
	r, err := recipe.Parse("demo.toml", []byte(minimal))
	require.NoError(t, err)
	assert.Equal(t, "demo/1.0", r.ID())
	src := r.Artifacts["src"]
	require.NotNil(t, src)
	assert.Equal(t, "gzip-n", src.Compress)
	assert.Equal(t, recipe.MtimeCommit, src.Mtime)
	assert.True(t, r.ImagePinned())
	sum := sha256.Sum256([]byte(minimal))
	assert.Equal(t, hex.EncodeToString(sum[:]), r.SHA256)
}

func TestParseErrorsNameFileLineAndKey(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown key", func(s string) string {
			return strings.Replace(s, `tag = "v1.0"`, "tag = \"v1.0\"\nbranch = \"main\"", 1)
		}, []string{"demo.toml:7: source.branch: unknown key"}},
		{"unknown table", func(s string) string { return s + "\n[extra]\nx = 1\n" }, []string{"demo.toml:19: extra.x: unknown key"}},
		{"wrong type", func(s string) string { return strings.Replace(s, `version = "1.0"`, `version = 1.0`, 1) }, []string{"demo.toml:2: version: incompatible types"}},
		{"missing commit", func(s string) string {
			return strings.Replace(s, "commit = \"0123456789abcdef0123456789abcdef01234567\"\n", "", 1)
		}, []string{"demo.toml:4: source.commit: required key is missing"}},
		{"short commit", func(s string) string {
			return strings.Replace(s, "0123456789abcdef0123456789abcdef01234567", "0123456", 1)
		}, []string{"demo.toml:7: source.commit:", "full commit id"}},
		{"image without digest", func(s string) string {
			return strings.Replace(s, "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ":bookworm", 1)
		}, []string{"demo.toml:10: env.image:", "has no digest", `env.digest = "unresolved"`}},
		{"bad sha256", func(s string) string { return strings.Replace(s, strings.Repeat("b", 64), "BBBB", 1) }, []string{"demo.toml:14: artifacts.src.sha256:", "not a sha256"}},
		{"bad method", func(s string) string { return strings.Replace(s, `"git-archive"`, `"magic"`, 1) }, []string{"artifacts.src.method", "not one of git-archive, build"}},
		{"prefix escapes", func(s string) string { return strings.Replace(s, `"demo-v1.0/"`, `"../x/"`, 1) }, []string{"artifacts.src.prefix", "relative path"}},
		{"bad mtime", func(s string) string { return s + `mtime = "yesterday"` + "\n" }, []string{"artifacts.src.mtime", "commit, per-file, none"}},
		{"no artifacts", func(s string) string { return s[:strings.Index(s, "[artifacts.src]")] }, []string{"artifacts: at least one"}},
		{"syntax", func(s string) string { return strings.Replace(s, `name = "demo"`, `name = "demo`, 1) }, []string{"demo.toml:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := recipe.Parse("demo.toml", []byte(tt.edit(minimal)))
			require.Error(t, err)
			assert.True(t, errors.Is(err, recipe.ErrInvalid), "error must match recipe.ErrInvalid: %v", err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseUnresolvedDigestIsExplicit(t *testing.T) {
	s := strings.Replace(minimal, "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ":bookworm\"\ndigest = \"unresolved", 1)
	r, err := recipe.Parse("demo.toml", []byte(s))
	require.NoError(t, err)
	assert.False(t, r.ImagePinned())
	assert.Equal(t, recipe.Unresolved, r.Env.Digest)
}

func TestParseUnresolvedCommitIsExplicit(t *testing.T) {
	s := strings.Replace(minimal, `commit = "0123456789abcdef0123456789abcdef01234567"`, `commit = "unresolved"`, 1)
	r, err := recipe.Parse("demo.toml", []byte(s))
	require.NoError(t, err)
	assert.Equal(t, recipe.Unresolved, r.Source.Commit)
	// Anything else that is not a full object id stays an error.
	s = strings.Replace(minimal, `commit = "0123456789abcdef0123456789abcdef01234567"`, `commit = "unknown"`, 1)
	_, err = recipe.Parse("demo.toml", []byte(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `demo.toml:7: source.commit: "unknown" is not a full commit id`)
}

func TestParseArrayOfTablesUnknownKey(t *testing.T) {
	s := minimal + "\n[[inputs]]\nname = \"gnulib\"\ngit = \"https://example.org/g.git\"\ncommit = \"0123456789abcdef0123456789abcdef01234567\"\npath = \"gnulib\"\nrev = \"x\"\n"
	_, err := recipe.Parse("demo.toml", []byte(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "demo.toml:23: inputs.rev: unknown key")
}

func TestSignatureFingerprints(t *testing.T) {
	s := minimal + "\n[signature]\nkey = \"keys/demo.asc\"\nfingerprints = [\"b1d2 bd13 75be cb78 4cf4 f8c4 d73c f638 c53c 06be\"]\n"
	r, err := recipe.Parse("demo.toml", []byte(s))
	require.NoError(t, err)
	assert.Equal(t, []string{"B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE"}, r.Signature.Fingerprints)
	assert.Equal(t, ".sig", r.Signature.Suffix)

	s = minimal + "\n[signature]\nkey = \"keys/demo.asc\"\nfingerprints = [\"C53C06BE\"]\n"
	_, err = recipe.Parse("demo.toml", []byte(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "short key ids are not accepted")
}

// The shipped libntlm recipe carries the values given in the project's
// foundation issue (upstream tag, commit, published digests).
func TestLibntlmRecipe(t *testing.T) {
	for _, store := range []*recipe.Store{recipe.DirStore("../../recipes"), {FS: recipes.FS}} {
		r, err := store.Find("libntlm", "1.8")
		require.NoError(t, err, store.Name())
		assert.Equal(t, "7dc46da7dba4322cb6d81068e93c31b909b71676", r.Source.Commit)
		assert.Equal(t, "v1.8", r.Source.Tag)
		assert.Equal(t, "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca", r.Artifacts["src"].SHA256)
		assert.Equal(t, "libntlm-v1.8/", r.Artifacts["src"].Prefix)
		assert.Equal(t, "ce6569a47a21173ba69c990965f73eb82d9a093eb871f935ab64ee13df47fda1", r.Artifacts["dist"].SHA256)
		assert.Equal(t, "2.4.6 Debian-2.4.6-15build2", r.Env.Tools["ltmain"])
		assert.Equal(t, []string{"src", "dist"}, r.ArtifactNames())
		assert.Equal(t, "dfb71172a46ef41f8cf8ab7ca529c1dd3097a41d", r.Inputs[0].Commit)
	}
}

// PinTarget names a recipe as 'verify-release pin' accepts it: a built-in
// recipe by NAME VERSION (its "builtin:" path is no file pin can open), a
// recipe on disk by its path.
func TestPinTarget(t *testing.T) {
	r, err := (&recipe.Store{FS: recipes.FS}).Find("libntlm", "1.8")
	require.NoError(t, err)
	assert.Equal(t, "builtin:recipes/libntlm/1.8.toml", r.Path)
	assert.Equal(t, "libntlm 1.8", r.PinTarget())

	r, err = recipe.DirStore("../../recipes").Find("libntlm", "1.8")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("../../recipes", "libntlm", "1.8.toml"), r.PinTarget())
}

func TestStoreFindAndList(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "demo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "demo", "1.0.toml"), []byte(minimal), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "demo", "2.0.toml"), []byte(minimal), 0o644))
	s := recipe.DirStore(dir)

	list, err := s.List()
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "1.0", list[0].Version)

	_, err = s.Find("demo", "3.0")
	require.ErrorIs(t, err, recipe.ErrNotFound)

	_, err = s.Find("demo", "2.0")
	require.Error(t, err, "a recipe whose contents disagree with its path is rejected")
	assert.Contains(t, err.Error(), `recipe says version = "1.0" but its path says 2.0`)

	_, err = s.Find("../etc", "passwd")
	require.ErrorIs(t, err, recipe.ErrNotFound)
}

// A dist built from the src tarball needs git only when the src artifact
// (a git archive) is re-created in the same run.
func TestNeedsGitFor(t *testing.T) {
	data := `name = "demo"
version = "1.0"
[source]
git = "https://example.org/demo.git"
tag = "v1.0"
commit = "0123456789abcdef0123456789abcdef01234567"
[env]
image = "debian@sha256:` + strings.Repeat("a", 64) + `"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + strings.Repeat("b", 64) + `"
method = "git-archive"
prefix = "demo-v1.0/"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + strings.Repeat("c", 64) + `"
method = "build"
from = "src"
commands = ["./configure", "make dist"]
[artifacts.redist]
file = "demo-1.0-re.tar.gz"
sha256 = "` + strings.Repeat("d", 64) + `"
method = "build"
from = "dist"
path = "demo-1.0.tar.gz"
commands = ["./configure", "make dist"]
`
	r, err := recipe.Parse("demo/1.0.toml", []byte(data))
	require.NoError(t, err)
	assert.True(t, r.NeedsGit())
	assert.True(t, r.NeedsGitFor([]string{"src", "dist"}))
	assert.False(t, r.NeedsGitFor([]string{"dist"}))
	assert.False(t, r.NeedsGitFor([]string{"redist"}))
	assert.Equal(t, "src", r.SrcArtifact())

	bad := strings.Replace(data, `from = "dist"`, `from = "tarball"`, 1)
	_, err = recipe.Parse("demo/1.0.toml", []byte(bad))
	require.ErrorContains(t, err, `artifacts.redist.from: "tarball" is not one of git, src, dist`)
	bad = strings.Replace(data, "[artifacts.src]", "[artifacts.src0]", 1)
	bad = strings.Replace(bad, `method = "git-archive"`, `method = "build"
commands = ["true"]`, 1)
	bad = strings.Replace(bad, `prefix = "demo-v1.0/"`, ``, 1)
	_, err = recipe.Parse("demo/1.0.toml", []byte(bad))
	require.ErrorContains(t, err, `from = "src" needs a git-archive artifact`)
}
