package ci

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestL = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func recipeText(name, version, env string) string {
	return `name = "` + name + `"
version = "` + version + `"

[source]
git = "https://example.org/` + name + `.git"
tag = "v` + version + `"
commit = "0123456789abcdef0123456789abcdef01234567"

[env]
` + env + `

[artifacts.src]
file = "` + name + `-` + version + `-src.tar.gz"
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
method = "git-archive"
prefix = "` + name + `-v` + version + `/"
`
}

// testRecipes writes a recipes directory with one recipe of each kind:
// pinned in the recipe, pinned by a lock file, unpinned; written out of
// order so the generator must sort.
func testRecipes(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "recipes")
	write := func(rel, text string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	write("zeta/2.0.toml", recipeText("zeta", "2.0", `image = "docker.io/library/debian:bookworm"
digest = "unresolved"
setup = ["apt-get update", "echo 'it''s: #fine' > /tmp/x"]
packages = ["make", "autoconf=2.71-3"]`))
	write("alpha/1.0.toml", recipeText("alpha", "1.0", `image = "registry.example/debian@`+digestA+`"`))
	write("alpha/1.1.toml", recipeText("alpha", "1.1", `image = "docker.io/library/ubuntu:22.04"
digest = "unresolved"`))
	write("alpha/1.1.lock", "version = 1\n\n[image]\nref = \"docker.io/library/ubuntu:22.04\"\ndigest = \""+digestL+"\"\n")
	return dir
}

func generate(t *testing.T, dir string, opts ...Option) string {
	t.Helper()
	p, err := GitLab(recipe.DirStore(dir), append([]Option{WithRecipesDir("recipes"), WithSource("recipes/")}, opts...)...)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, p.WriteYAML(&buf))
	return buf.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run 'go test ./pkg/ci -update' to create %s", p)
	assert.Equal(t, string(want), got, "golden %s differs; rerun with -update if the change is intended", p)
}

func TestGitLabGolden(t *testing.T) {
	dir := testRecipes(t)
	golden(t, "child.golden", generate(t, dir, WithPages(true)))
	golden(t, "child-allow-unpinned.golden", generate(t, dir, WithAllowUnpinned(true)))
	golden(t, "child-only.golden", generate(t, dir, WithOnly("alpha/1.1")))
}

// parse reads the generated YAML with a real YAML parser (not the emitter).
func parse(t *testing.T, text string) map[string]any {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc), text)
	return doc
}

func job(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	j, ok := doc[name].(map[string]any)
	require.True(t, ok, "job %q missing; have %v", name, keys(doc))
	return j
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestGitLabStructure(t *testing.T) {
	doc := parse(t, generate(t, testRecipes(t), WithPages(true)))
	assert.Equal(t, []any{"verify", "results", "publish"}, doc["stages"])
	assert.ElementsMatch(t, []string{"stages", "verify:alpha:1.0", "verify:alpha:1.1", "verify:zeta:2.0", "results", "pages"}, keys(doc))

	binNeed := map[string]any{"pipeline": "$PARENT_PIPELINE_ID", "job": "build"}

	a10 := job(t, doc, "verify:alpha:1.0")
	assert.Equal(t, "registry.example/debian@"+digestA, a10["image"], "digest from the recipe")
	assert.Equal(t, []any{binNeed}, a10["needs"])
	assert.Equal(t, []any{"./verify-release run alpha 1.0 --recipes recipes --backend host --out results/ --report results/alpha/1.0/report.json --junit results/alpha-1.0.junit.xml"}, a10["script"])
	assert.NotContains(t, a10, "before_script")
	assert.Equal(t, map[string]any{
		"when":    "always",
		"paths":   []any{"results/"},
		"reports": map[string]any{"junit": "results/alpha-1.0.junit.xml"},
	}, a10["artifacts"])
	assert.Equal(t, map[string]any{"VERIFY_RELEASE_RECIPE": "alpha/1.0", "VERIFY_RELEASE_IMAGE_SOURCE": "recipe"}, a10["variables"])

	a11 := job(t, doc, "verify:alpha:1.1")
	assert.Equal(t, "docker.io/library/ubuntu:22.04@"+digestL, a11["image"], "digest from the lock file")
	assert.Equal(t, "lock", a11["variables"].(map[string]any)["VERIFY_RELEASE_IMAGE_SOURCE"])

	// Unpinned without --allow-unpinned: the job fails at once, naming the
	// recipe and the way out, and needs nothing.
	z := job(t, doc, "verify:zeta:2.0")
	assert.Equal(t, "docker.io/library/debian:bookworm", z["image"])
	assert.Equal(t, []any{}, z["needs"])
	script := z["script"].([]any)
	assert.Equal(t, "exit 2", script[len(script)-1])
	assert.Contains(t, script[0], "has no digest and the recipe has no lock file")
	assert.Contains(t, script[1], "VERIFY_RELEASE_ALLOW_UNPINNED=true")
	assert.NotContains(t, z, "before_script")

	res := job(t, doc, "results")
	assert.Equal(t, "always", res["when"])
	assert.Equal(t, []any{
		binNeed,
		map[string]any{"job": "verify:alpha:1.0", "artifacts": true},
		map[string]any{"job": "verify:alpha:1.1", "artifacts": true},
		map[string]any{"job": "verify:zeta:2.0", "artifacts": true},
	}, res["needs"])
	assert.Equal(t, []any{"./verify-release ci results results/ -o public/ --expect alpha/1.0 --expect alpha/1.1 --expect zeta/2.0"}, res["script"])
	assert.Equal(t, []any{"public/"}, res["artifacts"].(map[string]any)["paths"])

	pages := job(t, doc, "pages")
	assert.Equal(t, []any{map[string]any{"job": "results", "artifacts": true}}, pages["needs"])
	assert.Equal(t, []any{map[string]any{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}}, pages["rules"])
}

func TestGitLabAllowUnpinnedRunsSetup(t *testing.T) {
	doc := parse(t, generate(t, testRecipes(t), WithAllowUnpinned(true), WithBinary("bin/verify release")))
	z := job(t, doc, "verify:zeta:2.0")
	// The setup commands survive quoting exactly (they contain ': ', ' #'
	// and quotes); packages are installed sorted.
	bs := z["before_script"].([]any)
	require.Len(t, bs, 3)
	assert.Equal(t, "apt-get update", bs[0])
	assert.Equal(t, "echo 'it''s: #fine' > /tmp/x", bs[1])
	assert.Contains(t, bs[2], "apt-get install -y --no-install-recommends autoconf=2.71-3 make;")
	script := z["script"].([]any)
	require.Len(t, script, 2)
	assert.Contains(t, script[0], "WARNING: docker.io/library/debian:bookworm is not pinned")
	assert.True(t, strings.HasPrefix(script[1].(string), "'bin/verify release' run zeta 2.0 "), script[1])
	assert.Equal(t, []any{map[string]any{"pipeline": "$PARENT_PIPELINE_ID", "job": "build"}}, z["needs"])
	assert.NotContains(t, doc, "pages")
	assert.Equal(t, []any{"verify", "results"}, doc["stages"])
}

func TestGitLabOnly(t *testing.T) {
	dir := testRecipes(t)
	doc := parse(t, generate(t, dir, WithOnly("zeta/2.0, alpha/1.0")))
	assert.ElementsMatch(t, []string{"stages", "verify:alpha:1.0", "verify:zeta:2.0", "results"}, keys(doc))
	doc = parse(t, generate(t, dir, WithOnly("alpha")))
	assert.ElementsMatch(t, []string{"stages", "verify:alpha:1.0", "verify:alpha:1.1", "results"}, keys(doc))

	_, err := GitLab(recipe.DirStore(dir), WithOnly("alpha/9.9"))
	require.ErrorIs(t, err, ErrUnknownRecipe)
	assert.Contains(t, err.Error(), `"alpha/9.9"`)

	_, err = GitLab(recipe.DirStore(dir), WithMaxNeeds(3))
	require.ErrorIs(t, err, ErrTooManyNeeds)

	_, err = GitLab(recipe.DirStore(t.TempDir()))
	require.ErrorIs(t, err, ErrNoRecipes)
}

func TestGitLabBadLockNamesFile(t *testing.T) {
	dir := testRecipes(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alpha", "1.1.lock"), []byte("version = 1\n[image]\nref = \"x\"\n"), 0o644))
	_, err := GitLab(recipe.DirStore(dir))
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "alpha", "1.1.lock"))
	assert.Contains(t, err.Error(), "digest is missing")
}

// Every string the emitter writes reads back, with a real YAML parser, as
// the same string (never a bool, number, null, or a truncated value).
func TestQuoteRoundTrip(t *testing.T) {
	cases := []string{
		"", " ", "a", "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~", "1.8", "007", "0x1f", "1e3",
		".5", ".inf", ".NaN", "-", "- x", "-x", "+1", "?", ":", "a: b", "a:b", "a #b", "a#b", "#c", "[x]", "{x}", "*ref", "&anc",
		"!tag", "|", ">", "'q'", `"q"`, "%x", "@x", "`x`", ",x", "x ", " x", "a\tb", "line\nbreak", "crlf\r\n", "nul\x00",
		"esc\x1b[0m", "é", "\u2028", "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "./verify-release run x 1", "verify:alpha:1.0",
		"<<", "=", "a\nb", "a\nb\n", "a\n\nb", "a\nb\n\n", "\na", " a\nb", "a \nb", "a\n  b\n#c", "- a\n: b", "2024-04-13", "12:30", "x: ", "trailing:", "echo 'it''s: #fine' > /tmp/x", `back\slash`, "\\", "\xff",
	}
	for _, s := range cases {
		m := mapping{}
		m.add(s, s)
		m.add("list", []any{s, mapping{{key: s, value: s}}})
		var buf bytes.Buffer
		require.NoError(t, writeYAML(&buf, []string{"header " + s}, m))
		var got map[string]any
		require.NoError(t, yaml.Unmarshal(buf.Bytes(), &got), "%q:\n%s", s, buf.String())
		want := strings.ToValidUTF8(s, "\uFFFD")
		assert.Equal(t, want, got[want], "value %q in\n%s", s, buf.String())
		assert.Equal(t, []any{want, map[string]any{want: want}}, got["list"], "list %q", s)
	}
}

// A recipe with git-archive artifacts only needs no [env] (recipe check
// accepts it): its job is generated, not refused as unpinned, and runs in
// the results image with git installed, since verify-release writes the
// bytes itself. Once, the job said `image: ""` and "image  has no digest".
func TestGitLabRecipeWithoutEnv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "recipes")
	text := strings.Replace(recipeText("bare", "1.0", ""), "[env]\n", "", 1)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "bare"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bare", "1.0.toml"), []byte(text), 0o644))

	doc := parse(t, generate(t, dir))
	j := job(t, doc, "verify:bare:1.0")
	assert.Equal(t, DefaultResultsImage, j["image"])
	assert.Equal(t, "none", j["variables"].(map[string]any)["VERIFY_RELEASE_IMAGE_SOURCE"])
	assert.Equal(t, []any{gitInstall}, j["before_script"])
	script := j["script"].([]any)
	require.Len(t, script, 1)
	assert.True(t, strings.HasPrefix(script[0].(string), "./verify-release run bare 1.0 "), script[0])
	assert.NotContains(t, generate(t, dir), "REFUSED")

	w, err := GitHub(recipe.DirStore(dir), WithRecipesDir("recipes"))
	require.NoError(t, err)
	require.Len(t, w.Jobs, 1)
	assert.Empty(t, w.Jobs[0].Refused)
	assert.Equal(t, ImageNone, w.Jobs[0].ImageSource)
}
