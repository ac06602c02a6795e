package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// A small runner for the GitHub gate's YAML, enough to execute the
// command sequence the workflow (and the composite action) declares
// without GitHub, on this machine's Docker Engine:
//
//   - run: steps run as Actions runs them: the script in a file, `bash -e
//     FILE` when shell: is unset and `bash --noprofile --norc -eo pipefail
//     FILE` for shell: bash, in the job's workspace, with the step's env:
//     and GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP,
//     GITHUB_WORKSPACE and the GITHUB_REF*/GITHUB_REPOSITORY of a tag push.
//     A job with container: runs its steps with `docker exec` in one
//     container of that image (created with the workspace and runner
//     temp directory mounted, network none), as the runner does.
//   - ${{ ... }} is substituted only in env:, with:, outputs: and the
//     matrix, and only plain context paths (inputs.X with the workflow's
//     defaults, matrix.X, runner.temp, strategy.job-index,
//     steps.ID.outputs.X, needs.JOB.outputs.X, github.action_path);
//     fromJSON(...) only in the matrix, which the test reads itself. A run: script holding
//     ${{ fails the test (an injection risk, and not emulated).
//   - uses: steps are emulated: actions/checkout is a full `git clone` of
//     the upstream repository at the tag; upload-artifact copies path
//     (relative to the workspace; a directory's contents) to an artifact
//     store; download-artifact copies one artifact (name:) or merges every
//     artifact matching pattern: into path.
//   - The one step that installs verify-release (go install from the
//     module proxy) is replaced by the binary built from this checkout.
//   - if: is evaluated for terms joined by &&: always(), success(),
//     failure() and CONTEXT.PATH == 'value'; without a status function a
//     step runs only while no step has failed, as on GitHub. The job's
//     exit status is that of its first failing step.
type ghStep struct {
	Name  string            `yaml:"name"`
	ID    string            `yaml:"id"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]any    `yaml:"with"`
}

type ghJob struct {
	Needs     any               `yaml:"needs"`
	Outputs   map[string]string `yaml:"outputs"`
	Container struct {
		Image string `yaml:"image"`
	} `yaml:"container"`
	Strategy struct {
		Matrix map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []ghStep `yaml:"steps"`
}

type ghWorkflow struct {
	On struct {
		WorkflowCall struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Jobs map[string]*ghJob `yaml:"jobs"`
}

// ghRunner holds what lives across the jobs of one workflow run.
type ghRunner struct {
	t         *testing.T
	upstream  string            // the repository being gated
	bin       string            // the verify-release binary of this checkout
	inputs    map[string]string // workflow inputs, defaults filled in
	artifacts string            // the artifact store: one directory per artifact
	outputs   map[string]map[string]string
	// summaries are the job summaries, in step order.
	summaries []string
}

var ghExprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// expand substitutes the ${{ }} expressions of s from vars.
func (r *ghRunner) expand(s string, vars map[string]string) string {
	r.t.Helper()
	return ghExprRE.ReplaceAllStringFunc(s, func(m string) string {
		expr := ghExprRE.FindStringSubmatch(m)[1]
		v, ok := vars[expr]
		if !ok {
			if strings.HasPrefix(expr, "inputs.") {
				v, ok = r.inputs[strings.TrimPrefix(expr, "inputs.")]
			} else if job, key, found := strings.Cut(strings.TrimPrefix(expr, "needs."), ".outputs."); found && strings.HasPrefix(expr, "needs.") {
				v, ok = r.outputs[job][key]
			}
		}
		require.True(r.t, ok, "expression %q is not emulated", expr)
		return v
	})
}

// ghJobRun is one job (or matrix entry) being run.
type ghJobRun struct {
	r         *ghRunner
	name      string
	workspace string
	temp      string
	container string // "" on the runner host
	vars      map[string]string
	steps     map[string]map[string]string // step id -> outputs
	env       []string                     // environment of every step
}

func (r *ghRunner) newJob(name, image string, vars map[string]string) *ghJobRun {
	t := r.t
	root := t.TempDir()
	j := &ghJobRun{r: r, name: name, workspace: filepath.Join(root, "ws"), temp: filepath.Join(root, "temp"),
		vars: map[string]string{}, steps: map[string]map[string]string{}}
	require.NoError(t, os.MkdirAll(j.workspace, 0o755))
	require.NoError(t, os.MkdirAll(j.temp, 0o755))
	ws, temp := j.workspace, j.temp
	if image != "" {
		ws, temp = "/__w/ws", "/__w/_temp"
		out, err := exec.Command("docker", "run", "-d", "--network", "none", "-v", j.workspace+":"+ws, "-v", j.temp+":"+temp,
			"-w", ws, image, "sleep", "infinity").CombinedOutput()
		require.NoError(t, err, "%s", out)
		j.container = strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", j.container).Run() })
	}
	for k, v := range vars {
		j.vars[k] = v
	}
	j.vars["runner.temp"] = temp
	j.env = []string{"GITHUB_WORKSPACE=" + ws, "RUNNER_TEMP=" + temp, "CI=true", "GITHUB_ACTIONS=true",
		"GITHUB_REPOSITORY=example/demo", "GITHUB_REF=refs/tags/v1.0", "GITHUB_REF_TYPE=tag", "GITHUB_REF_NAME=v1.0"}
	return j
}

// hostPath maps a path the steps see to this machine's path.
func (j *ghJobRun) hostPath(p string) string {
	if j.container == "" {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(j.workspace, p)
	}
	switch {
	case strings.HasPrefix(p, "/__w/_temp"):
		return filepath.Join(j.temp, strings.TrimPrefix(p, "/__w/_temp"))
	case strings.HasPrefix(p, "/__w/ws"):
		return filepath.Join(j.workspace, strings.TrimPrefix(p, "/__w/ws"))
	case filepath.IsAbs(p):
		j.r.t.Fatalf("path %s is outside the mounted directories", p)
	}
	return filepath.Join(j.workspace, p)
}

// run runs the steps; it returns the exit status of the first failing
// run: step (0 when all pass) and the output of every step.
func (j *ghJobRun) run(steps []ghStep, replace map[string]func(*ghJobRun)) (int, string) {
	t := j.r.t
	var log strings.Builder
	failed := 0
	for i, s := range steps {
		vars := map[string]string{}
		for k, v := range j.vars {
			vars[k] = v
		}
		for id, outs := range j.steps {
			for k, v := range outs {
				vars["steps."+id+".outputs."+k] = v
			}
		}
		if !j.r.cond(s.If, failed != 0, vars) {
			continue
		}
		if f, ok := replace[s.Name]; ok {
			f(j)
			continue
		}
		if s.Uses != "" {
			j.uses(s, vars)
			continue
		}
		require.NotContains(t, s.Run, "${{", "%s: step %q: expressions in a run: script", j.name, s.Name)
		stepEnv := append([]string(nil), j.env...)
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			stepEnv = append(stepEnv, k+"="+j.r.expand(s.Env[k], vars))
		}
		outFile := fmt.Sprintf("%s/_output_%d", j.vars["runner.temp"], i)
		sumFile := fmt.Sprintf("%s/_summary_%d", j.vars["runner.temp"], i)
		script := fmt.Sprintf("%s/_step_%d.sh", j.vars["runner.temp"], i)
		require.NoError(t, os.WriteFile(j.hostPath(outFile), nil, 0o644))
		require.NoError(t, os.WriteFile(j.hostPath(sumFile), nil, 0o644))
		require.NoError(t, os.WriteFile(j.hostPath(script), []byte(s.Run), 0o644))
		stepEnv = append(stepEnv, "GITHUB_OUTPUT="+outFile, "GITHUB_STEP_SUMMARY="+sumFile)
		shell := []string{"bash", "-e", script}
		if s.Shell == "bash" {
			shell = []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", script}
		}
		var cmd *exec.Cmd
		if j.container == "" {
			cmd = exec.Command(shell[0], shell[1:]...)
			cmd.Dir = j.workspace
			cmd.Env = append(hostEnv(), stepEnv...)
		} else {
			args := []string{"exec", "-w", "/__w/ws"}
			for _, e := range stepEnv {
				args = append(args, "-e", e)
			}
			cmd = exec.Command("docker", append(append(args, j.container), shell...)...)
		}
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(&log, "==> %s: %s\n%s", j.name, s.Name, out)
		sum, rerr := os.ReadFile(j.hostPath(sumFile))
		require.NoError(t, rerr)
		if len(sum) > 0 {
			j.r.summaries = append(j.r.summaries, string(sum))
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if failed == 0 {
				failed = ee.ExitCode()
			}
			continue
		}
		require.NoError(t, err)
		outs, rerr := os.ReadFile(j.hostPath(outFile))
		require.NoError(t, rerr)
		if s.ID != "" {
			j.steps[s.ID] = map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(string(outs)), "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					j.steps[s.ID][k] = v
				}
			}
		}
	}
	return failed, log.String()
}

// hostEnv is the environment of a step on the runner host: PATH, HOME,
// the Go and Docker settings of this machine (a runner has Go and Docker;
// its Go build cache is this machine's).
func hostEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range []string{"HOME", "GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "DOCKER_HOST"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// cond evaluates a step's if: (see the comment on ghStep).
func (r *ghRunner) cond(expr string, failed bool, vars map[string]string) bool {
	r.t.Helper()
	ok, status := true, false
	for _, term := range strings.Split(expr, "&&") {
		term = strings.TrimSpace(term)
		switch {
		case term == "":
		case term == "always()":
			status = true
		case term == "success()":
			status, ok = true, ok && !failed
		case term == "failure()":
			status, ok = true, ok && failed
		case strings.Contains(term, " == "):
			lhs, rhs, _ := strings.Cut(term, " == ")
			require.True(r.t, strings.HasPrefix(rhs, "'") && strings.HasSuffix(rhs, "'"), "if: %q", expr)
			ok = ok && r.expand("${{ "+lhs+" }}", vars) == strings.Trim(rhs, "'")
		default:
			r.t.Fatalf("if: %q: term %q is not emulated", expr, term)
		}
	}
	if !status {
		ok = ok && !failed
	}
	return ok
}

func withString(t *testing.T, s ghStep, key string, expand func(string) string) string {
	t.Helper()
	v, ok := s.With[key]
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case string:
		return expand(v)
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	}
	t.Fatalf("with.%s: %T", key, v)
	return ""
}

func (j *ghJobRun) uses(s ghStep, vars map[string]string) {
	t := j.r.t
	action, _, _ := strings.Cut(s.Uses, "@")
	w := func(k string) string {
		return withString(t, s, k, func(v string) string { return j.r.expand(v, vars) })
	}
	switch action {
	case "actions/checkout":
		gitRun(t, "", nil, "clone", "-q", j.r.upstream, j.workspace)
		gitRun(t, j.workspace, nil, "-c", "advice.detachedHead=false", "checkout", "-q", "v1.0")
	case "actions/upload-artifact":
		name := w("name")
		require.NotEmpty(t, name)
		dst := filepath.Join(j.r.artifacts, name)
		_, err := os.Stat(dst)
		require.True(t, errors.Is(err, fs.ErrNotExist), "artifact %s uploaded twice", name)
		for _, p := range strings.Fields(w("path")) {
			src := j.hostPath(p)
			st, err := os.Stat(src)
			require.NoError(t, err, "upload %s: %s", name, p)
			if st.IsDir() && len(strings.Fields(w("path"))) == 1 {
				copyTree(t, src, dst)
			} else if st.IsDir() {
				copyTree(t, src, filepath.Join(dst, filepath.Base(filepath.Clean(p))))
			} else {
				copyTree(t, src, filepath.Join(dst, filepath.Base(p)))
			}
		}
	case "actions/download-artifact":
		dst := j.hostPath(w("path"))
		if w("path") == "" {
			dst = j.workspace
		}
		if name := w("name"); name != "" {
			copyTree(t, filepath.Join(j.r.artifacts, name), dst)
			return
		}
		require.Equal(t, "true", w("merge-multiple"), "download without name: only merge-multiple is emulated")
		matches, err := filepath.Glob(filepath.Join(j.r.artifacts, w("pattern")))
		require.NoError(t, err)
		require.NotEmpty(t, matches, "no artifact matches %s", w("pattern"))
		for _, m := range matches {
			copyTree(t, m, dst)
		}
	default:
		t.Fatalf("action %s is not emulated", s.Uses)
	}
}

// copyTree copies a file or a directory's contents to dst (merging).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	}))
}

// ActionCheckoutForTest is the checkout a caller of the action runs first.
const ActionCheckoutForTest = "actions/checkout"

func loadGateWorkflow(t *testing.T) *ghWorkflow {
	t.Helper()
	data, err := os.ReadFile("../../.github/workflows/verify-release-gate.yml")
	require.NoError(t, err)
	var wf ghWorkflow
	require.NoError(t, yaml.Unmarshal(data, &wf))
	return &wf
}

func newGHRunner(t *testing.T, wf *ghWorkflow, upstream, bin string, inputs map[string]string) *ghRunner {
	defaults := map[string]any{}
	for k, in := range wf.On.WorkflowCall.Inputs {
		defaults[k] = in.Default
	}
	return newRunnerWithInputs(t, defaults, upstream, bin, inputs)
}

// newRunnerWithInputs fills in the inputs' defaults, as Actions does;
// an input the file does not declare fails the test.
func newRunnerWithInputs(t *testing.T, defaults map[string]any, upstream, bin string, inputs map[string]string) *ghRunner {
	r := &ghRunner{t: t, upstream: upstream, bin: bin, inputs: map[string]string{}, artifacts: t.TempDir(), outputs: map[string]map[string]string{}}
	for k, d := range defaults {
		if d != nil {
			r.inputs[k] = fmt.Sprint(d)
		}
	}
	for k, v := range inputs {
		_, known := defaults[k]
		require.True(t, known, "input %s is not declared", k)
		r.inputs[k] = v
	}
	return r
}

// ghAction is action.yml: its inputs and composite steps.
type ghAction struct {
	Inputs map[string]struct {
		Default any `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ghStep `yaml:"steps"`
	} `yaml:"runs"`
}

// installBinary replaces the go install step: the binary of this checkout.
func (r *ghRunner) installBinary(j *ghJobRun) {
	copyTree(r.t, r.bin, filepath.Join(j.workspace, "verify-release-bin", "verify-release"))
}

// prepare runs the prepare job and returns its exit status and log.
func (r *ghRunner) prepare(wf *ghWorkflow) (int, string) {
	job := wf.Jobs["prepare"]
	j := r.newJob("prepare", "", nil)
	code, log := j.run(job.Steps, map[string]func(*ghJobRun){"install verify-release": r.installBinary})
	if code == 0 {
		r.outputs["prepare"] = map[string]string{}
		for k, v := range job.Outputs {
			r.outputs["prepare"][k] = r.expand(v, map[string]string{"steps.environments.outputs.json": j.steps["environments"]["json"]})
		}
	}
	return code, log
}

// staticBinary builds verify-release from this checkout as the gate's
// prepare job does (CGO_ENABLED=0, so it runs in any image). After the
// first build the Go build cache makes it a link.
func staticBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "verify-release")
	gb := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	gb.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := gb.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// The prepare job refuses unpinned environments before any container
// exists, and a single environment; no Docker needed.
func TestGitHubGateRefusesUnpinned(t *testing.T) {
	requireTool(t, "bash", "git")
	wf := loadGateWorkflow(t)
	bin := staticBinary(t)
	pinned := "docker.io/library/debian@sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		envs, allow, want string
		code              int
	}{
		{pinned + "\ndocker.io/library/ubuntu:24.04", "false", "environment image has no digest: docker.io/library/ubuntu:24.04", 2},
		{pinned, "false", "need two or more environments, got 1", 2},
		{pinned + " docker.io/library/ubuntu:24.04", "true", "warning: environment docker.io/library/ubuntu:24.04 is not pinned", 0},
	} {
		r := newGHRunner(t, wf, "", bin, map[string]string{"environments": tc.envs, "allow-unpinned": tc.allow})
		code, log := r.prepare(wf)
		assert.Equal(t, tc.code, code, log)
		assert.Contains(t, log, tc.want)
		if tc.code == 0 {
			assert.Equal(t, `{"schema":"verify-release/environments/v1","environments":["`+pinned+`","docker.io/library/ubuntu:24.04"],"unpinned":["docker.io/library/ubuntu:24.04"]}`,
				r.outputs["prepare"]["environments"])
		}
	}
}

// TestGitHubGateWorkflow runs the gate workflow's jobs, step by step as
// declared in .github/workflows/verify-release-gate.yml, on the autotools
// demo project: the build matrix in three environments built here (the
// bookworm autotools image; a variant with an extra, unused file; a
// variant whose autoreconf appends a line to configure, so its dist
// differs), then the compare job over an equal and a different pair.
func TestGitHubGateWorkflow(t *testing.T) {
	requireTool(t, "bash", "git", "docker")
	testenv.RequireDocker(t)
	base, baseID := testenv.BookwormAutotoolsImage(t)
	same, _ := testenv.VariantImage(t, base, "gate-same", map[string]string{"/usr/local/share/gate-note": "an unused file\n"})
	odd, _ := testenv.VariantImage(t, base, "gate-odd", map[string]string{
		"/usr/local/bin/autoreconf": "#!/bin/sh\n/usr/bin/autoreconf \"$@\" || exit\necho '# configured in the odd environment' >> configure\n"})
	// The variants are deterministic (one layer of fixed files), so later
	// runs reuse the same two images instead of adding new ones; they
	// stay in the engine, as the base image does.
	upstream := t.TempDir()
	testenv.DemoProject(t, upstream)
	bin := staticBinary(t)
	wf := loadGateWorkflow(t)

	// The dist of the demo made by hand in the base image, by the
	// documented commands (testenv.DemoDistByHand: plain docker run).
	byHand := fileSHA256(t, testenv.DemoDistByHand(t, upstream, baseID, t.TempDir(), ""))

	r := newGHRunner(t, wf, upstream, bin, map[string]string{
		"environments":  base + "\n" + same + "\n" + odd,
		"packages":      "none",
		"dist-commands": strings.Join(testenv.DemoDistCommands, "\n"),
	})
	code, log := r.prepare(wf)
	require.Equal(t, 0, code, log)
	var prepared struct{ Environments []any }
	require.NoError(t, json.Unmarshal([]byte(r.outputs["prepare"]["environments"]), &prepared))
	envs := prepared.Environments
	require.Len(t, envs, 3)
	require.Equal(t, "${{ fromJSON(needs.prepare.outputs.environments).environments }}", wf.Jobs["build"].Strategy.Matrix["environment"])

	// The build matrix: one job per environment, in its container.
	build := wf.Jobs["build"]
	outDir := map[string]string{}
	for i, e := range envs {
		img := e.(string)
		vars := map[string]string{"matrix.environment": img, "strategy.job-index": strconv.Itoa(i)}
		require.Equal(t, "${{ matrix.environment }}", build.Container.Image)
		j := r.newJob("build "+img, r.expand(build.Container.Image, vars), vars)
		code, log := j.run(build.Steps, nil)
		require.Equal(t, 0, code, log)
		dirs, err := filepath.Glob(filepath.Join(j.workspace, "verify-release-out", "*"))
		require.NoError(t, err)
		require.Len(t, dirs, 1, log)
		outDir[img] = filepath.Base(dirs[0])
		for _, f := range []string{"demo-1.0-src.tar.gz", "demo-1.0.tar.gz"} {
			assert.FileExists(t, filepath.Join(dirs[0], f), log)
		}
	}
	// The base image's build is the dist made by hand.
	baseBuild := filepath.Join(r.artifacts, "verify-release-build-0", outDir[base])
	assert.Equal(t, byHand, fileSHA256(t, filepath.Join(baseBuild, "demo-1.0.tar.gz")), "the gate's build differs from the dist made by hand")

	// The compare job, over the artifacts of two of the builds.
	compareWith := func(inputs, secrets map[string]string, pair ...int) (int, string, string, map[string]any, string) {
		rr := *r
		rr.artifacts, rr.summaries = t.TempDir(), nil
		rr.inputs = map[string]string{}
		for k, v := range r.inputs {
			rr.inputs[k] = v
		}
		for k, v := range inputs {
			rr.inputs[k] = v
		}
		copyTree(t, filepath.Join(r.artifacts, "verify-release-gate-binary"), filepath.Join(rr.artifacts, "verify-release-gate-binary"))
		for _, i := range pair {
			name := "verify-release-build-" + strconv.Itoa(i)
			copyTree(t, filepath.Join(r.artifacts, name), filepath.Join(rr.artifacts, name))
		}
		vars := map[string]string{}
		for _, in := range []string{"sign-key-secret", "key-passphrase-secret"} {
			vars["secrets[inputs."+in+"]"] = secrets[rr.inputs[in]]
		}
		j := rr.newJob("compare", "", vars)
		code, log := j.run(wf.Jobs["compare"].Steps, nil)
		var report map[string]any
		data, err := os.ReadFile(filepath.Join(rr.artifacts, "verify-release-gate", "verify-release-report", "compare.json"))
		require.NoError(t, err, log)
		require.NoError(t, json.Unmarshal(data, &report))
		_, err = os.Stat(filepath.Join(rr.artifacts, "verify-release-gate", "verify-release-out", outDir[envs[pair[0]].(string)], "demo-1.0.tar.gz"))
		assert.NoError(t, err, "the builds are in the gate's artifact")
		return code, log, strings.Join(rr.summaries, ""), report, filepath.Join(rr.artifacts, "verify-release-gate", "verify-release-report")
	}
	compare := func(pair ...int) (int, string, string, map[string]any) {
		code, log, summary, report, _ := compareWith(nil, nil, pair...)
		return code, log, summary, report
	}

	code, log, summary, report := compare(0, 1)
	assert.Equal(t, 0, code, log)
	assert.Equal(t, true, report["agree"], log)
	assert.Contains(t, log, "result: 2 of 2 file(s) agree: all builds are identical")
	assert.Contains(t, summary, "### verify-release compare: **agree**")
	assert.Contains(t, summary, "| `demo-1.0.tar.gz` | agree | `"+byHand+"` |")

	code, log, summary, report = compare(0, 2)
	assert.Equal(t, 1, code, log)
	assert.Equal(t, false, report["agree"])
	assert.Contains(t, log, "agree  demo-1.0-src.tar.gz")
	assert.Contains(t, log, "DIFFER demo-1.0.tar.gz")
	assert.Contains(t, log, "demo-1.0/configure")
	assert.Contains(t, log, "+# configured in the odd environment")
	assert.Contains(t, summary, "### verify-release compare: **DIFFER**")
	assert.Contains(t, summary, "| `demo-1.0.tar.gz` | **DIFFER** | `"+byHand+"` |")
	assert.Contains(t, summary, "differing: demo-1.0.tar.gz")

	// The composite action: its steps in one job on the runner host (its
	// own go build of verify-release, a docker run per environment), on
	// the base and the odd environment.
	t.Run("composite action", func(t *testing.T) {
		data, err := os.ReadFile("../../action.yml")
		require.NoError(t, err)
		var act ghAction
		require.NoError(t, yaml.Unmarshal(data, &act))
		require.Equal(t, "composite", act.Runs.Using)
		defaults := map[string]any{}
		for k, in := range act.Inputs {
			defaults[k] = in.Default
		}
		root, err := filepath.Abs("../..")
		require.NoError(t, err)
		ar := newRunnerWithInputs(t, defaults, upstream, "", map[string]string{
			"environments":  base + " " + odd,
			"packages":      "none",
			"dist-commands": strings.Join(testenv.DemoDistCommands, "\n"),
		})
		j := ar.newJob("action", "", map[string]string{"github.action_path": root})
		j.uses(ghStep{Uses: ActionCheckoutForTest}, nil)
		code, log := j.run(act.Runs.Steps, nil)
		assert.Equal(t, 1, code, log)
		assert.Contains(t, log, "DIFFER demo-1.0.tar.gz")
		assert.Contains(t, log, "+# configured in the odd environment")
		sum := strings.Join(ar.summaries, "")
		assert.Contains(t, sum, "| `demo-1.0.tar.gz` | **DIFFER** | `"+byHand+"` |")
		got := filepath.Join(ar.artifacts, "verify-release-gate", "verify-release-out", outDir[base], "demo-1.0.tar.gz")
		assert.Equal(t, byHand, fileSHA256(t, got), "the action's build in the base image is the dist made by hand")
		var report map[string]any
		b, err := os.ReadFile(filepath.Join(ar.artifacts, "verify-release-gate", "verify-release-report", "compare.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &report))
		assert.Equal(t, false, report["agree"])
	})

	// With a recipe (its sha256s from independent paths) and a signing
	// key in the secret the inputs name: the signed verification summary
	// says PASSED for the equal pair, FAILED for the different one.
	rec := gateRecipe(t, upstream, base, byHand)
	keyFile := filepath.Join(t.TempDir(), "gate.key")
	code, _, stderr := run(t, nil, "key", "generate", "--name", "Gate", "--email", "gate@example.org", "-o", keyFile)
	require.Equal(t, 0, code, stderr)
	key, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	secrets := map[string]string{"VERIFY_RELEASE_SIGN_KEY": string(key)}
	for _, tc := range []struct {
		pair   []int
		code   int
		result string
	}{{[]int{0, 1}, 0, "PASSED"}, {[]int{0, 2}, 1, "FAILED"}} {
		code, log, _, _, reportDir := compareWith(map[string]string{"recipe": rec}, secrets, tc.pair...)
		assert.Equal(t, tc.code, code, log)
		assert.Contains(t, log, "recipe: "+rec)
		st := filepath.Join(reportDir, "verification_summary.intoto.json")
		vcode, vout, verr := run(t, nil, "attestation", "verify", st, "--key", keyFile+".pub", "--json")
		assert.Equal(t, tc.code, vcode, "%s%s", vout, verr)
		assert.Contains(t, vout, `"verification_result": "`+tc.result+`"`)
	}
}

// gateRecipe is a recipe for the demo whose sha256s come from the
// independent paths: git archive | gzip -cn on this machine, and the dist
// made by hand in the base image.
func gateRecipe(t *testing.T, upstream, image, distSHA string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src.tar.gz")
	cmd := exec.Command("sh", "-c", `git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn > "$0"`, src)
	cmd.Dir = upstream
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := `name = "demo"
version = "1.0"
[source]
git = "https://example.org/demo.git"
tag = "v1.0"
commit = "` + gitRun(t, upstream, nil, "rev-parse", "v1.0^{commit}") + `"
[env]
image = "` + image + `"
[artifacts.src]
file = "demo-1.0-src.tar.gz"
sha256 = "` + fileSHA256(t, src) + `"
method = "git-archive"
prefix = "demo-v1.0/"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + distSHA + `"
method = "build"
commands = ["autoreconf -fi", "./configure", "make dist"]
`
	p := filepath.Join(t.TempDir(), "demo-1.0.toml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}
