package ci

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func generateGitHub(t *testing.T, dir string, opts ...Option) string {
	t.Helper()
	w, err := GitHub(recipe.DirStore(dir), append([]Option{WithRecipesDir("recipes"), WithSource("recipes/")}, opts...)...)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, w.WriteYAML(&buf))
	return buf.String()
}

func jobsOf(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for k, v := range doc["jobs"].(map[string]any) {
		out[k] = v.(map[string]any)
	}
	return out
}

func stepsOf(j map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range j["steps"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func TestGitHubGolden(t *testing.T) {
	dir := testRecipes(t)
	golden(t, "github.golden", generateGitHub(t, dir))
	golden(t, "github-allow-unpinned.golden", generateGitHub(t, dir, WithAllowUnpinned(true)))
}

// Every generated workflow passes actionlint and has the structure the
// results page relies on.
func TestGitHubGeneratedWorkflow(t *testing.T) {
	dir := testRecipes(t)
	for _, allow := range []bool{false, true} {
		text := generateGitHub(t, dir, WithAllowUnpinned(allow))
		assert.Empty(t, lint(t, ".github/workflows/verify-recipes.yml", []byte(text)), text)
		checkPinned(t, "generated", text)
		doc := parse(t, text)
		checkPermissions(t, "generated", doc)
		jobs := jobsOf(t, doc)

		verify := jobs["verify"]
		require.NotNil(t, verify)
		assert.Equal(t, []any{"build"}, verify["needs"])
		assert.Equal(t, map[string]any{"image": "${{ matrix.image }}"}, verify["container"])
		include := verify["strategy"].(map[string]any)["matrix"].(map[string]any)["include"].([]any)
		byRecipe := map[string]map[string]any{}
		var order []string
		for _, e := range include {
			m := e.(map[string]any)
			byRecipe[m["recipe"].(string)] = m
			order = append(order, m["recipe"].(string))
		}
		a10 := byRecipe["alpha/1.0"]
		assert.Equal(t, "registry.example/debian@"+digestA, a10["image"])
		assert.Equal(t, "recipe", a10["image-source"])
		assert.Equal(t, "results-alpha-1.0", a10["artifact"])
		assert.Equal(t, "./verify-release run alpha 1.0 --recipes recipes --backend host --out results/ --report results/alpha/1.0/report.json --junit results/alpha-1.0.junit.xml", a10["script"])
		assert.Equal(t, "docker.io/library/ubuntu:22.04@"+digestL, byRecipe["alpha/1.1"]["image"])

		if allow {
			assert.Equal(t, []string{"alpha/1.0", "alpha/1.1", "zeta/2.0"}, order)
			assert.NotContains(t, jobs, "refused")
			z := byRecipe["zeta/2.0"]
			assert.Equal(t, "apt-get update\necho 'it''s: #fine' > /tmp/x\n"+installCommand([]string{"make", "autoconf=2.71-3"}), z["setup"])
			assert.Contains(t, z["script"], "WARNING: docker.io/library/debian:bookworm is not pinned")
			assert.Equal(t, []any{"build", "verify"}, jobs["results"]["needs"])
		} else {
			// The unpinned recipe never gets its image: it fails at once in
			// a job without a container.
			assert.Equal(t, []string{"alpha/1.0", "alpha/1.1"}, order)
			ref := jobs["refused"]
			require.NotNil(t, ref)
			assert.NotContains(t, ref, "container")
			assert.NotContains(t, ref, "needs")
			ri := ref["strategy"].(map[string]any)["matrix"].(map[string]any)["include"].([]any)
			require.Len(t, ri, 1)
			z := ri[0].(map[string]any)
			assert.Equal(t, "zeta/2.0", z["recipe"])
			assert.Contains(t, z["script"], "has no digest and the recipe has no lock file")
			assert.Contains(t, z["script"], "verify-release ci github --allow-unpinned")
			assert.True(t, strings.HasSuffix(z["script"].(string), "\nexit 2"))
			assert.Equal(t, []any{"build", "verify", "refused"}, jobs["results"]["needs"])
		}

		res := jobs["results"]
		assert.Equal(t, "always()", res["if"])
		steps := stepsOf(res)
		assert.Contains(t, steps[2]["run"], "./verify-release ci results results/ -o public/ --expect alpha/1.0 --expect alpha/1.1 --expect zeta/2.0\n")
		assert.Contains(t, steps[2]["run"], `cat public/index.md >> "$GITHUB_STEP_SUMMARY"`)
		assert.Equal(t, map[string]any{"pattern": "results-*", "path": "results/", "merge-multiple": true}, steps[1]["with"])

		build := stepsOf(jobs["build"])
		assert.Equal(t, "go build -trimpath -o ./verify-release ./cmd/verify-release", build[1]["run"])
	}
}

func TestGitHubOnlyAndErrors(t *testing.T) {
	dir := testRecipes(t)
	doc := parse(t, generateGitHub(t, dir, WithOnly("zeta")))
	jobs := jobsOf(t, doc)
	assert.NotContains(t, jobs, "verify", "no runnable recipe: no verify job")
	assert.Contains(t, jobs, "refused")
	assert.Equal(t, []any{"build", "refused"}, jobs["results"]["needs"])
	assert.Empty(t, lint(t, ".github/workflows/only.yml", []byte(generateGitHub(t, dir, WithOnly("zeta")))))

	_, err := GitHub(recipe.DirStore(dir), WithOnly("nope"))
	require.ErrorIs(t, err, ErrUnknownRecipe)
	_, err = GitHub(recipe.DirStore(t.TempDir()))
	require.ErrorIs(t, err, ErrNoRecipes)

	// GitHub's limit of 256 jobs per matrix.
	many := t.TempDir()
	for i := 0; i <= GitHubMaxMatrix; i++ {
		v := fmt.Sprintf("1.%d", i)
		p := filepath.Join(many, "m", v+".toml")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(recipeText("m", v, `image = "registry.example/debian@`+digestA+`"`)), 0o644))
	}
	_, err = GitHub(recipe.DirStore(many))
	require.ErrorIs(t, err, ErrTooManyJobs)
	_, err = GitHub(recipe.DirStore(many), WithOnly("m/1.0", "m/1.256"))
	require.NoError(t, err)
}

// The shipped reusable workflow: actionlint, pinned actions, least
// privilege, and the job graph of the gate.
func TestGateWorkflow(t *testing.T) {
	const path = ".github/workflows/verify-release-gate.yml"
	text, doc := parseFile(t, path)
	assert.Empty(t, lint(t, path, []byte(text)))
	checkPinned(t, path, text)
	checkPermissions(t, path, doc)

	call := doc["on"].(map[string]any)["workflow_call"].(map[string]any)
	inputs := call["inputs"].(map[string]any)
	env := inputs["environments"].(map[string]any)
	assert.Equal(t, true, env["required"])
	assert.Equal(t, false, inputs["allow-unpinned"].(map[string]any)["default"])
	for _, in := range []string{"recipe", "dist-commands", "packages", "setup", "project", "version", "src-prefix", "tool-version", "sign-key-secret", "key-passphrase-secret"} {
		assert.Contains(t, inputs, in)
	}

	jobs := jobsOf(t, doc)
	assert.ElementsMatch(t, []string{"prepare", "build", "compare"}, keys(doc["jobs"].(map[string]any)))
	assert.Equal(t, "prepare", jobs["build"]["needs"])
	assert.Equal(t, "build", jobs["compare"]["needs"])
	matrix := jobs["build"]["strategy"].(map[string]any)["matrix"].(map[string]any)
	assert.Equal(t, "${{ fromJSON(needs.prepare.outputs.environments).environments }}", matrix["environment"])
	assert.Equal(t, false, jobs["build"]["strategy"].(map[string]any)["fail-fast"])
	assert.Equal(t, map[string]any{"image": "${{ matrix.environment }}"}, jobs["build"]["container"])
	assert.Equal(t, "${{ steps.environments.outputs.json }}", jobs["prepare"]["outputs"].(map[string]any)["environments"])

	// The refusal of unpinned images happens in prepare, before any
	// container is created.
	var prepareRuns []string
	for _, s := range stepsOf(jobs["prepare"]) {
		if r, ok := s["run"].(string); ok {
			prepareRuns = append(prepareRuns, r)
		}
	}
	assert.Contains(t, strings.Join(prepareRuns, "\n"), "ci environments")

	// Artifacts: each build's output, and the compare job's report.
	var uploads []string
	for _, jn := range []string{"build", "compare"} {
		for _, s := range stepsOf(jobs[jn]) {
			if s["uses"] == ActionUploadArtifact {
				uploads = append(uploads, s["with"].(map[string]any)["path"].(string))
			}
		}
	}
	assert.Equal(t, []string{"verify-release-out/", "verify-release-out/\nverify-release-report/\n"}, uploads)
}

// action.yml: actionlint reads it as the metadata of a local action (a
// caller passing an unknown input is an error, a correct one is clean),
// and its steps, linted as the steps of a workflow job with the same
// inputs, pass actionlint too.
func TestCompositeAction(t *testing.T) {
	text, doc := parseFile(t, "action.yml")
	checkPinned(t, "action.yml", text)
	runs := doc["runs"].(map[string]any)
	assert.Equal(t, "composite", runs["using"])
	inputs := doc["inputs"].(map[string]any)
	assert.Equal(t, true, inputs["environments"].(map[string]any)["required"])
	for name, in := range inputs {
		assert.NotEmpty(t, in.(map[string]any)["description"], "input %s", name)
	}
	for i, s := range runs["steps"].([]any) {
		step := s.(map[string]any)
		if _, ok := step["run"]; ok {
			assert.Equal(t, "bash", step["shell"], "step %d: a composite run step needs shell:", i)
		}
	}

	caller := func(with string) []byte {
		return []byte(`on: push
permissions: {}
jobs:
  gate:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
    steps:
      - uses: ` + ActionCheckout + `
        with:
          fetch-depth: 0
      - uses: ./
        with:
` + with)
	}
	good := "          environments: |\n            a@sha256:" + strings.Repeat("0", 64) + "\n            b@sha256:" + strings.Repeat("1", 64) + "\n          recipe: recipes/x/1.0.toml\n"
	assert.Empty(t, lint(t, ".github/workflows/caller.yml", caller(good)))
	bad := lint(t, ".github/workflows/caller.yml", caller("          environment: x\n"))
	all := strings.Join(bad, "\n")
	assert.Contains(t, all, `input "environment" is not defined in action "verify-release gate" defined at "./"`)
	assert.Contains(t, all, `missing input "environments" which is required`)

	// The steps as a workflow job: inputs become workflow_call inputs.
	wfInputs := map[string]any{}
	for name := range inputs {
		wfInputs[name] = map[string]any{"type": "string", "required": false}
	}
	wf := map[string]any{
		"on":          map[string]any{"workflow_call": map[string]any{"inputs": wfInputs}},
		"permissions": map[string]any{},
		"jobs": map[string]any{"action": map[string]any{
			"runs-on": "ubuntu-24.04", "permissions": map[string]any{}, "steps": runs["steps"],
		}},
	}
	b, err := yaml.Marshal(wf)
	require.NoError(t, err)
	assert.Empty(t, lint(t, ".github/workflows/action-steps.yml", b), string(b))
}

// The callers docs/ci.md shows (the ten lines of a maintainer's
// workflow) pass actionlint against this repository's gate: the remote
// references become the local ones and DIGEST a digest.
func TestDocsCallersLint(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "ci.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	n := 0
	for _, b := range blocks {
		text := b[1]
		if !strings.Contains(text, "verify-release/verify-release/.github/workflows/verify-release-gate.yml@COMMIT") {
			continue
		}
		n++
		text = strings.ReplaceAll(text, "verify-release/verify-release/.github/workflows/verify-release-gate.yml@COMMIT", "./.github/workflows/verify-release-gate.yml")
		text = strings.ReplaceAll(text, "DIGEST", strings.Repeat("0", 64))
		assert.LessOrEqual(t, strings.Count(strings.TrimSpace(text), "\n")+1, 10, "the caller is meant to be ten lines:\n%s", text)
		assert.Empty(t, lint(t, ".github/workflows/release-gate.yml", []byte(text)), text)
	}
	assert.Equal(t, 1, n, "docs/ci.md shows the reusable workflow's caller once")
}
