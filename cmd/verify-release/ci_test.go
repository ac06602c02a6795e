package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"gitlab.com/verify-release/verify-release/pkg/report"
)

func TestCIGitLabCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "child.yml")
	// The repository's own recipes: libntlm 1.8's ubuntu-22.04
	// environment pins ubuntu:22.04 by digest, so its job runs in exactly
	// that image; its debian-bookworm environment is built from the
	// archive (no registry image) and is left to local runs, with a note.
	code, stdout, stderr := run(t, nil, "ci", "gitlab", "../../recipes", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wrote "+out+": 1 verify job(s)")
	assert.Contains(t, stderr, "verify-release: note: no job for libntlm/1.8@debian-bookworm: environment built from the debian archive, left to local runs")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	assert.NotContains(t, doc, "verify:libntlm:1.8:debian-bookworm")
	j := doc["verify:libntlm:1.8:ubuntu-22.04"].(map[string]any)
	assert.Equal(t, "docker.io/library/ubuntu:22.04@sha256:3b06811b2afd352be909dd088a004166d665dc76d38b13eada33522a9d915c6f", j["image"])
	script := j["script"].([]any)
	assert.Equal(t, "./verify-release run libntlm 1.8 --recipes ../../recipes --env ubuntu-22.04 --backend host --out results/ubuntu-22.04/ --report results/ubuntu-22.04/libntlm/1.8/report.json --junit results/libntlm-1.8-ubuntu-22.04.junit.xml", script[len(script)-1])
	assert.Contains(t, j["before_script"].([]any), "apt-get update")

	// A recipe whose digest is unresolved and has no lock file: its job
	// refuses unless unpinned runs are allowed.
	unpinned := unpinnedRecipes(t)
	out2 := filepath.Join(t.TempDir(), "child.yml")
	code, stdout, stderr = run(t, nil, "ci", "gitlab", unpinned, "-o", out2)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wrote "+out2+": 1 verify job(s), 1 refusing an unpinned image")
	assert.Contains(t, stderr, "verify:libntlm:1.8:ubuntu-22.04 will fail")
	data2, err := os.ReadFile(out2)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data2, &doc))
	j = doc["verify:libntlm:1.8:ubuntu-22.04"].(map[string]any)
	assert.Equal(t, "docker.io/library/ubuntu:22.04", j["image"])
	assert.Equal(t, "exit 2", j["script"].([]any)[2])

	code, stdout, _ = run(t, map[string]string{"VERIFY_RELEASE_ALLOW_UNPINNED": "true", "VERIFY_RELEASE_ONLY": "libntlm/1.8"}, "ci", "gitlab", "--recipes", unpinned)
	require.Equal(t, 0, code)
	require.NoError(t, yaml.Unmarshal([]byte(stdout), &doc))
	j = doc["verify:libntlm:1.8:ubuntu-22.04"].(map[string]any)
	script = j["script"].([]any)
	assert.Equal(t, "./verify-release run libntlm 1.8 --recipes "+unpinned+" --env ubuntu-22.04 --backend host --out results/ubuntu-22.04/ --report results/ubuntu-22.04/libntlm/1.8/report.json --junit results/libntlm-1.8-ubuntu-22.04.junit.xml", script[len(script)-1])

	code, _, stderr = run(t, nil, "ci", "gitlab", "../../recipes", "--only", "libntlm/9.9", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `no such recipe "libntlm/9.9"`)
	// The earlier output is untouched by the failed run.
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, again)

	code, _, stderr = run(t, nil, "ci", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown subcommand")
}

func TestCIResultsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "demo", "1.0"), 0o755))
	rep := &report.Report{Recipe: report.Recipe{Name: "demo", Version: "1.0"},
		Artifacts: []report.Artifact{{Name: "src", File: "demo-1.0-src.tar.gz", Status: report.Reproduced, Expected: strings.Repeat("a", 64), Actual: strings.Repeat("a", 64)}}}
	rep.Finish()
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "demo", "1.0", "report.json"), buf.Bytes(), 0o644))

	out := filepath.Join(t.TempDir(), "public")
	code, stdout, stderr := run(t, nil, "ci", "results", dir, "-o", out, "--expect", "demo/1.0", "--expect", "other/2.0")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "1 report(s), 1 missing")
	assert.Contains(t, stderr, "no report for other/2.0")
	for _, f := range []string{"index.html", "index.md", "junit.xml", "demo/1.0/report.json"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NoError(t, err, f)
	}

	code, _, stderr = run(t, map[string]string{"VERIFY_RELEASE_SIGN_KEY": filepath.Join(dir, "no-such.key")}, "ci", "results", dir, "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no-such.key")

	code, _, stderr = run(t, nil, "ci", "results", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "needs -o OUTDIR")
}

// unpinnedRecipes copies the shipped libntlm recipe into a temporary
// recipes directory with its image digest marked unresolved (and no lock
// file), for the refusal rules of the ci generators.
func unpinnedRecipes(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	lib, err := os.ReadFile("../../recipes/libntlm/1.8.toml")
	require.NoError(t, err)
	pinned := "image = \"docker.io/library/ubuntu:22.04@sha256:3b06811b2afd352be909dd088a004166d665dc76d38b13eada33522a9d915c6f\""
	require.Contains(t, string(lib), pinned)
	lib = []byte(strings.Replace(string(lib), pinned, "image = \"docker.io/library/ubuntu:22.04\"\ndigest = \"unresolved\"", 1))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "libntlm"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "libntlm", "1.8.toml"), lib, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o755))
	key, err := os.ReadFile("../../recipes/keys/libntlm.asc")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", "libntlm.asc"), key, 0o644))
	return dir
}
