package ci

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
)

// A recipe with [[envs]] gets one verify job per environment with a
// registry image (each with --env and its own results directory); an
// archive environment is left out with a note while another can run, and
// refused with the reason when it is the only one.
func TestGitLabOneJobPerEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "recipes")
	build := "\n[artifacts.dist]\nfile = \"NAME-1.0.tar.gz\"\nsha256 = \"" + strings.Repeat("c", 64) + "\"\nmethod = \"build\"\ncommands = [\"make dist\"]\n"
	envs := `[[envs]]
name = "ubuntu"
image = "registry.example/ubuntu@` + digestA + `"
[[envs]]
name = "fedora"
image = "registry.example/fedora@` + digestA + `"
[[envs]]
name = "debian"
distro = "debian"
suite = "bookworm"
packages = ["make"]
`
	multi := strings.Replace(recipeText("multi", "1.0", ""), "[env]\n", envs, 1) + strings.ReplaceAll(build, "NAME", "multi")
	only := recipeText("only", "1.0", "distro = \"debian\"\nsuite = \"bookworm\"\npackages = [\"make\"]") + strings.ReplaceAll(build, "NAME", "only")
	for rel, text := range map[string]string{"multi/1.0.toml": multi, "only/1.0.toml": only} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}

	p, err := GitLab(recipe.DirStore(dir), WithRecipesDir("recipes"))
	require.NoError(t, err)
	var names []string
	for _, j := range p.Jobs {
		names = append(names, j.Name)
	}
	assert.Equal(t, []string{"verify:multi:1.0:ubuntu", "verify:multi:1.0:fedora", "verify:only:1.0"}, names)
	require.Len(t, p.Skipped, 1)
	assert.Contains(t, p.Skipped[0], "multi/1.0@debian: environment built from the debian archive")

	ub := p.Jobs[0]
	assert.Equal(t, "multi/1.0@ubuntu", ub.Recipe)
	assert.Equal(t, "registry.example/ubuntu@"+digestA, ub.Image)
	assert.Equal(t, "./verify-release run multi 1.0 --recipes recipes --env ubuntu --backend host --out results/ubuntu/ --report results/ubuntu/multi/1.0/report.json --junit results/multi-1.0-ubuntu.junit.xml",
		ub.Script[len(ub.Script)-1])

	ar := p.Jobs[2]
	assert.Equal(t, ImageArchive, ar.ImageSource)
	assert.Contains(t, ar.Refused, "environment default is built from the debian bookworm archive")
	assert.Equal(t, "exit 2", ar.Script[len(ar.Script)-1])

	var buf bytes.Buffer
	require.NoError(t, p.WriteYAML(&buf))
	assert.Contains(t, buf.String(), "--expect multi/1.0@ubuntu")
	assert.Contains(t, buf.String(), "REFUSED: the environment is built from a distribution archive")
}

// Reports of one recipe from two environments are two entries (not a
// duplicate), each row names its environment, the pages get a column for
// it, and an expected NAME/VERSION@ENV without a report is missing.
func TestResultsPerEnvironment(t *testing.T) {
	root := filepath.Join(t.TempDir(), "results")
	for _, env := range []string{"ubuntu", "debian"} {
		r := &report.Report{
			Recipe:    report.Recipe{Name: "multi", Version: "1.0"},
			Env:       &report.Env{Name: env, Backend: "host"},
			Artifacts: []report.Artifact{{Name: "dist", File: "multi-1.0.tar.gz", Env: env, Expected: strings.Repeat("a", 64), Actual: strings.Repeat("a", 64), Status: report.Reproduced}},
		}
		r.Finish()
		var buf bytes.Buffer
		require.NoError(t, r.Write(&buf))
		p := filepath.Join(root, env, "multi", "1.0", ReportFile)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	}
	res, err := Collect(context.Background(), root, "multi/1.0@ubuntu", "multi/1.0@debian", "multi/1.0@fedora")
	require.NoError(t, err)
	require.Len(t, res.Entries, 2)
	assert.Equal(t, "multi/1.0@debian", res.Entries[0].ID())
	assert.Equal(t, "multi/1.0@ubuntu", res.Entries[1].ID())
	assert.Equal(t, []string{"multi/1.0@fedora"}, res.Missing)
	rows := res.Rows()
	var envs []string
	for _, r := range rows {
		envs = append(envs, r.Env)
	}
	assert.Equal(t, []string{"fedora", "debian", "ubuntu"}, envs)
	assert.Equal(t, "multi/1.0/debian/report.json", rows[1].Report)

	var md bytes.Buffer
	require.NoError(t, res.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| environment |")
	assert.Contains(t, md.String(), "| multi | 1.0 | debian | dist multi-1.0.tar.gz |")

	out := t.TempDir()
	_, err = Publish(context.Background(), res, out)
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(out, "multi", "1.0", "debian", ReportFile))
	assert.FileExists(t, filepath.Join(out, "multi", "1.0", "ubuntu", ReportFile))
}
