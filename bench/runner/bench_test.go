//go:build bench

// Package runnerbench measures runner.Run with the Docker backend on the
// runner end-to-end tests' autotools project: its overhead over the same
// commands run by hand with plain `docker run`, and the warm (cached)
// run against the cold one, where the base image is a minimal Debian
// image that must be pulled and the setup installs the toolchain, as in
// the real recipes. Run it with bench/runner/run.sh.
package runnerbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// distCommands are the dist artifact's build commands, shared with
// pkg/runner's end-to-end tests.
var distCommands = testenv.DemoDistCommands

// toolchain is what the setup installs into the minimal base image: the
// package list of recipes/libntlm/1.8.toml (libtool brings gcc and
// libc6-dev, which the demo's LT_INIT needs), plus the packages in
// VERIFY_RELEASE_BENCH_SETUP_PKGS.
func toolchain() []string {
	return append([]string{"autoconf", "automake", "libtool", "make", "git", "gzip", "tar", "ca-certificates"},
		strings.Fields(os.Getenv("VERIFY_RELEASE_BENCH_SETUP_PKGS"))...)
}

// setupCommands install the toolchain from the Debian mirror with
// network, as real recipes do. The cold run executes them; the warm run
// finds the committed setup image by its key.
func setupCommands() []string {
	return []string{
		"apt-get update",
		"DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + strings.Join(toolchain(), " "),
	}
}

// baseMarker is the bottom layer of the benchmark's base image: it makes
// the image (and each of its layer chains) the benchmark's own, so it can
// be removed from the engine before each cold run without touching the
// images other tests share.
var baseMarker = map[string]string{"/etc/verify-release-bench-runner": "bench/runner base image: debootstrap minbase bookworm, no build tools\n"}

// Default number of repetitions of each measurement (VERIFY_RELEASE_BENCH_N).
const defaultN = 7

type sample struct {
	cold, warm, byHand     time.Duration
	coldPhases, warmPhases phases
	// warmSteps is the sum of the build steps' own seconds in the warm run
	// (as the report records them).
	warmSteps time.Duration
	// byHandSteps is the time the same commands took in the by-hand run.
	byHandSteps time.Duration
}

func TestBenchRunner(t *testing.T) {
	n := defaultN
	if s := os.Getenv("VERIFY_RELEASE_BENCH_N"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "VERIFY_RELEASE_BENCH_N=%q", s)
		require.GreaterOrEqual(t, v, 1, "VERIFY_RELEASE_BENCH_N=%q", s)
		n = v
	}
	out := os.Getenv("VERIFY_RELEASE_BENCH_OUT")
	for _, tool := range []string{"git", "docker", "sha256sum"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the benchmark needs %s", tool)
	}
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	// A minbase image without build tools, pushed to the in-process
	// registry (not pulled); the recipe pins it by digest.
	ref, imageID := testenv.UniqueBookwormImage(t, "bench-runner-minbase", baseMarker)
	repo, commit := autotoolsRepo(t)

	// Expected digest from the independent path: `docker pull`, then one
	// plain `docker run` of the base image with the setup commands and
	// the build commands (nothing committed).
	sh(t, repo, "docker pull -q "+ref)
	dist := testenv.DemoDistByHandWithSetup(t, repo, imageID, t.TempDir(), setupCommands())
	distSHA := strings.TrimSpace(sh(t, repo, "sha256sum "+dist+" | cut -c1-64"))
	r := distRecipe(t, repo, commit, ref, distSHA)

	load0 := loadavg()
	start := time.Now().UTC()
	var samples []sample
	for i := 0; i < n; i++ {
		var s sample
		// Cold: the base image is not in the engine (nor its setup
		// image), and the cache directory is new (mirror clone, image
		// cache).
		removeWithDescendants(t, imageID)
		cache := t.TempDir()
		rep, el, ph, msgs := runOnce(ctx, t, d, r, cache)
		s.coldPhases = ph
		require.Equal(t, report.Reproduced, rep.Result, "cold run %d: %+v", i, rep)
		require.NotEmpty(t, rep.Env.SetupImage)
		require.Contains(t, msgs, "via "+string(envpin.SourcePull), "cold run %d pulls the base image", i)
		require.NotContains(t, msgs, "using the cached setup image", "cold run %d runs the setup", i)
		if i == 0 {
			// Independent check that setup installed the toolchain into
			// the image, and that it is not in the base image.
			pkgs := strings.Join(toolchain(), " ")
			got := strings.TrimSpace(sh(t, repo, "docker run --rm --network none "+rep.Env.SetupImage+" sh -c 'dpkg -s "+pkgs+" >/dev/null && echo installed'"))
			require.Equal(t, "installed", got, "%s installed by the setup commands", pkgs)
			for _, tool := range []string{"autoconf", "automake", "libtoolize", "make", "gcc", "git"} {
				base := strings.TrimSpace(sh(t, repo, "docker run --rm --network none "+imageID+" sh -c 'command -v "+tool+" || echo missing'"))
				require.Equal(t, "missing", base, "%s must not be in the base image, or setup installs nothing", tool)
			}
		}
		s.cold = el
		setupImage := rep.Env.SetupImage

		// Warm (the second run, same cache) and by hand, interleaved with
		// the order alternating to spread drift evenly.
		warm := func() {
			rep, el, ph, msgs := runOnce(ctx, t, d, r, cache)
			s.warmPhases = ph
			require.Equal(t, report.Reproduced, rep.Result, "warm run %d: %+v", i, rep)
			require.Equal(t, setupImage, rep.Env.SetupImage, "warm run %d reuses the setup image", i)
			require.Contains(t, msgs, "via "+string(envpin.SourceEngine), "warm run %d finds the base image in the engine", i)
			require.Contains(t, msgs, "using the cached setup image", "warm run %d", i)
			s.warm = el
			for _, st := range rep.Steps {
				s.warmSteps += time.Duration(st.Seconds * float64(time.Second))
			}
		}
		hand := func() {
			t0 := time.Now()
			p, steps := byHand(t, repo, setupImage)
			s.byHand = time.Since(t0)
			s.byHandSteps = steps
			require.Equal(t, distSHA, strings.TrimSpace(sh(t, repo, "sha256sum "+p+" | cut -c1-64")), "by-hand run %d", i)
		}
		if i%2 == 0 {
			warm()
			hand()
		} else {
			hand()
			warm()
		}
		t.Logf("repetition %d/%d: cold %.2fs warm %.2fs (steps %.2fs) by hand %.2fs (steps %.2fs)", i+1, n, s.cold.Seconds(), s.warm.Seconds(), s.warmSteps.Seconds(), s.byHand.Seconds(), s.byHandSteps.Seconds())
		samples = append(samples, s)
	}
	load1 := loadavg()

	med := func(f func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		return median(v)
	}
	cold := med(func(s sample) time.Duration { return s.cold })
	warm := med(func(s sample) time.Duration { return s.warm })
	hand := med(func(s sample) time.Duration { return s.byHand })
	warmSteps := med(func(s sample) time.Duration { return s.warmSteps })
	handSteps := med(func(s sample) time.Duration { return s.byHandSteps })
	warmOut := med(func(s sample) time.Duration { return s.warm - s.warmSteps })
	handOut := med(func(s sample) time.Duration { return s.byHand - s.byHandSteps })
	// Paired figures: each warm run against the by-hand run next to it,
	// which cancels most of the load drift of a shared machine.
	pairDiff := med(func(s sample) time.Duration { return s.warm - s.byHand })
	pairRatio := medianF(samples, func(s sample) float64 { return s.warm.Seconds() / s.byHand.Seconds() })
	coldRatio := medianF(samples, func(s sample) float64 { return s.cold.Seconds() / s.warm.Seconds() })
	allowed := max(2*time.Second, hand/20)
	overheadOK := pairDiff <= allowed
	speedup := cold.Seconds() / warm.Seconds()
	speedupOK := speedup >= 3

	var b strings.Builder
	fmt.Fprintf(&b, "# Runner benchmark results\n\n")
	fmt.Fprintf(&b, "Generated by `bench/runner/run.sh` (`go test -tags bench -run TestBenchRunner ./bench/runner`).\n\n")
	fmt.Fprintf(&b, "- date: %s (UTC)\n", start.Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "- tree: %s\n", strings.TrimSpace(shOK(repoRoot(), "git describe --always --dirty 2>/dev/null || echo unknown")))
	fmt.Fprintf(&b, "- machine: %d cores (%s), %s; %s\n", runtime.NumCPU(), cpuModel(), strings.TrimSpace(shOK("/", "uname -sr")), strings.TrimSpace(shOK("/", "docker version --format 'Docker Engine {{.Server.Version}}'")))
	fmt.Fprintf(&b, "- load average (1/5/15 min) before: %s, after: %s (shared machine)\n", load0, load1)
	fmt.Fprintf(&b, "- project: the runner e2e tests' autotools demo 1.0 (libtoolize, autoreconf -fi, configure, make dist), artifact `dist`\n")
	fmt.Fprintf(&b, "- base image: debootstrap minbase bookworm without build tools over a one-file marker layer of its own (%s), served by an in-process registry on 127.0.0.1 and pinned by digest; image %s\n", imageSize(t, ref), shortID(imageID))
	fmt.Fprintf(&b, "- setup (`env.setup`, with network, from %s): `%s`\n", testenv.Mirror, strings.Join(setupCommands(), "; "))
	fmt.Fprintf(&b, "- repetitions: %d, interleaved (cold, then warm and by hand in alternating order); figures are medians\n\n", n)

	fmt.Fprintf(&b, "## Runner vs plain `docker run` (warm)\n\n")
	fmt.Fprintf(&b, "| median s | total | the 4 build commands | everything else |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| by hand: one `docker run --rm --network none` (bind-mount clone, checkout, touch, commands, copy out) | %.2f | %.2f | %.2f |\n", hand.Seconds(), handSteps.Seconds(), handOut.Seconds())
	fmt.Fprintf(&b, "| `runner.Run`, Docker backend, warm (image in engine, git mirror and setup image cached) | %.2f | %.2f | %.2f |\n\n", warm.Seconds(), warmSteps.Seconds(), warmOut.Seconds())
	fmt.Fprintf(&b, "| overhead of the runner | value | target | met |\n|---|---:|---|---|\n")
	fmt.Fprintf(&b, "| median(runner) − median(by hand) | %+.2f s | | |\n", (warm - hand).Seconds())
	fmt.Fprintf(&b, "| median(runner) / median(by hand) | %.3f | | |\n", warm.Seconds()/hand.Seconds())
	fmt.Fprintf(&b, "| median of paired differences (runner − by hand, same repetition) | %+.2f s | ≤ max(5%%, 2 s) = %.2f s | %s |\n", pairDiff.Seconds(), allowed.Seconds(), yesNo(overheadOK))
	fmt.Fprintf(&b, "| median of paired ratios | %.3f | | |\n\n", pairRatio)

	fmt.Fprintf(&b, "## Warm vs cold runner run\n\n")
	fmt.Fprintf(&b, "| | median s | cold/warm | target | met |\n|---|---:|---:|---|---|\n")
	fmt.Fprintf(&b, "| cold: base image and its setup image removed from the engine, fresh cache dir: the engine pulls the base image by digest, the setup (apt-get update, install the toolchain) runs with network and is committed as the setup image, the git mirror is cloned | %.2f | | | |\n", cold.Seconds())
	fmt.Fprintf(&b, "| warm: second run, same cache dir, base image and setup image in the engine | %.2f | %.2fx | ≥ 3x | %s |\n", warm.Seconds(), speedup, yesNo(speedupOK))
	fmt.Fprintf(&b, "| median of paired ratios (cold_i / warm_i) | | %.2fx | | |\n\n", coldRatio)
	fmt.Fprintf(&b, "Where the time goes (median s per phase; a phase runs from its first progress event to the next event):\n\n")
	fmt.Fprintf(&b, "| phase | cold | warm |\n|---|---:|---:|\n")
	for _, p := range phaseOrder {
		c := med(func(s sample) time.Duration { return s.coldPhases[p] })
		w := med(func(s sample) time.Duration { return s.warmPhases[p] })
		fmt.Fprintf(&b, "| %s | %.2f | %.2f |\n", p, c.Seconds(), w.Seconds())
	}
	fmt.Fprintf(&b, "\n")

	fmt.Fprintf(&b, "## Every repetition (s)\n\n| # | cold | warm | warm: build commands | by hand | by hand: build commands |\n|---:|---:|---:|---:|---:|---:|\n")
	for i, s := range samples {
		fmt.Fprintf(&b, "| %d | %.2f | %.2f | %.2f | %.2f | %.2f |\n", i+1, s.cold.Seconds(), s.warm.Seconds(), s.warmSteps.Seconds(), s.byHand.Seconds(), s.byHandSteps.Seconds())
	}
	t.Log("\n" + b.String())
	if out != "" {
		require.NoError(t, atomicfile.Write(out, func(w io.Writer) error {
			_, err := io.WriteString(w, b.String())
			return err
		}))
	}
	if !overheadOK {
		t.Errorf("runner overhead %.2fs over plain docker run (%.2fs) exceeds %.2fs", pairDiff.Seconds(), hand.Seconds(), allowed.Seconds())
	}
	if !speedupOK {
		t.Errorf("warm run (%.2fs) is only %.1fx faster than the cold one (%.2fs), want ≥ 3x", warm.Seconds(), speedup, cold.Seconds())
	}
}

// phases is the time a run spent per progress phase: from one event to
// the next is charged to the earlier event's phase ("setup",
// "dist/build", ...); phaseOrder lists the phases in order of appearance.
type phases map[string]time.Duration

var phaseOrder = []string{"start"}

// runOnce runs the recipe's dist artifact and returns the report, the
// wall time, the time per phase and the progress messages, one a line.
func runOnce(ctx context.Context, t *testing.T, d *engine.Docker, r *recipe.Recipe, cache string) (*report.Report, time.Duration, phases, string) {
	t.Helper()
	ph := phases{}
	var msgs strings.Builder
	t0 := time.Now()
	last, lastPhase := t0, "start"
	progress := func(ev runner.Event) {
		now := time.Now()
		fmt.Fprintf(&msgs, "%s: %s\n", ev.Step, ev.Message)
		ph[lastPhase] += now.Sub(last)
		lastPhase = ev.Step
		if ev.Artifact != "" {
			lastPhase = ev.Artifact + "/" + ev.Step
		}
		if !containsStr(phaseOrder, lastPhase) {
			phaseOrder = append(phaseOrder, lastPhase)
		}
		last = now
	}
	rep, err := runner.Run(ctx, r, runner.WithEngine(d, runner.BackendDocker), runner.WithCacheDir(cache), runner.WithArtifacts("dist"), runner.WithProgress(progress))
	el := time.Since(t0)
	ph[lastPhase] += time.Since(last)
	require.NoError(t, err)
	return rep, el, ph, msgs.String()
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// removeWithDescendants removes the image id from the engine, after the
// images built on it (the setup images committed from it), and checks
// it is gone; a missing image is fine. Only the benchmark's own base
// image is passed here.
func removeWithDescendants(t *testing.T, id string) {
	t.Helper()
	out, err := exec.Command("sh", "-c", "docker image ls -aq --no-trunc | sort -u | xargs -r docker image inspect --format '{{.Id}} {{.Parent}}'").CombinedOutput()
	require.NoError(t, err, "listing images: %s", out)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if child, parent, ok := strings.Cut(l, " "); ok && parent == id {
			removeWithDescendants(t, child)
		}
	}
	out, err = exec.Command("docker", "image", "rm", "--force", id).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such image") {
		require.NoError(t, err, "docker image rm %s: %s", id, out)
	}
	out, err = exec.Command("docker", "image", "inspect", id).CombinedOutput()
	require.Error(t, err, "image %s still in the engine: %s", id, out)
}

// imageSize describes the compressed size of the image ref in the
// registry: "N MB compressed: layers A MB + B MB".
func imageSize(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	img, err := remote.Image(r)
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	var total int64
	var l []string
	for _, d := range m.Layers {
		total += d.Size
		l = append(l, fmt.Sprintf("%.2f MB", float64(d.Size)/1e6))
	}
	return fmt.Sprintf("%.1f MB compressed: layers %s", float64(total)/1e6, strings.Join(l, " + "))
}

func medianF(samples []sample, f func(sample) float64) float64 {
	v := make([]float64, len(samples))
	for i, s := range samples {
		v[i] = f(s)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func median(v []time.Duration) time.Duration {
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// autotoolsRepo is the runner end-to-end tests' project (testenv.DemoProject).
func autotoolsRepo(t *testing.T) (dir, commit string) {
	dir = t.TempDir()
	return dir, testenv.DemoProject(t, dir)
}

// byHand builds the dist tarball by the documented commands with plain
// `docker run` (testenv.DemoDistByHand) and also returns the time the
// build commands took inside the container (date +%s%N before the first
// and after the last).
func byHand(t *testing.T, repo, image string) (string, time.Duration) {
	t.Helper()
	out := t.TempDir()
	dist := testenv.DemoDistByHand(t, repo, image, out, "echo $((t1 - t0)) > /out/steps-ns")
	ns, err := os.ReadFile(filepath.Join(out, "steps-ns"))
	require.NoError(t, err)
	v, err := strconv.ParseInt(strings.TrimSpace(string(ns)), 10, 64)
	require.NoError(t, err, "steps-ns %q", ns)
	return dist, time.Duration(v)
}

func distRecipe(t *testing.T, repo, commit, imageRef, distSHA string) *recipe.Recipe {
	t.Helper()
	q := func(ss []string) string {
		l := make([]string, len(ss))
		for i, s := range ss {
			l[i] = "'''" + s + "'''"
		}
		return "[" + strings.Join(l, ", ") + "]"
	}
	data := `name = "demo"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "` + imageRef + `"
setup = ` + q(setupCommands()) + `
[env.tools]
autoconf = "2.71"
automake = "1.16.5"
ltmain = "2.4.7 Debian-2.4.7-7~deb12u1"
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "` + distSHA + `"
method = "build"
commands = ` + q(distCommands) + `
`
	r, err := recipe.Parse(filepath.Join(t.TempDir(), "1.0.toml"), []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	return r
}

func sh(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", script, b)
	return string(b)
}

// shOK runs a script for the results' header; failures give "unknown".
func shOK(dir, script string) string {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return string(b)
}

func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return filepath.Join(wd, "..", "..")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}
