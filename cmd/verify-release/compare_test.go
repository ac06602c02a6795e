package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func requireTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is required (CI=%q; apt-get install autoconf automake libtool make): %v", n, os.Getenv("CI"), err)
		}
	}
}

func TestCompareCommandExitCodes(t *testing.T) {
	requireTool(t, "tar", "gzip")
	root := t.TempDir()
	mk := func(dir, content string) {
		tree := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(tree, "p-1"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, "p-1", "configure"), []byte(content), 0o644))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		cmd := exec.Command("sh", "-c", `tar --sort=name --owner=0 --group=0 --mtime=@0 -cf - p-1 | gzip -n > "$0"`, filepath.Join(dir, "p-1.tar.gz"))
		cmd.Dir = tree
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, string(b))
	}
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	mk(a, "same\n")
	mk(b, "same\n")
	mk(c, "other\n")

	code, out, _ := run(t, nil, "compare", a, b)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "all builds are identical")

	code, out, _ = run(t, nil, "compare", a, b, c)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "==> p-1.tar.gz: "+a+" vs "+c)
	assert.Contains(t, out, "p-1/configure")

	code, out, _ = run(t, nil, "compare", "--json", a, c)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `"agree": false`)

	code, _, errOut := run(t, nil, "compare", a)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "one build directory needs --recipe")

	code, _, errOut = run(t, nil, "compare", a, filepath.Join(root, "missing"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, filepath.Join(root, "missing"))

	code, _, errOut = run(t, nil, "compare", a, b, "--recipe", filepath.Join(root, "nope.toml"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "nope.toml")
}

// gateJobs reads the gate template with a real YAML parser (anchors
// resolved) and returns each job's script as GitLab would run it: the
// lines of the job, after extends:, joined into one shell script.
func gateJobs(t *testing.T) (map[string]map[string]any, map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../../ci/verify-release.gitlab-ci.yml")
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	jobs := map[string]map[string]any{}
	scripts := map[string]string{}
	for name, v := range doc {
		j, ok := v.(map[string]any)
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		merged := map[string]any{}
		if ext, ok := j["extends"].(string); ok {
			base, ok := doc[ext].(map[string]any)
			require.True(t, ok, "%s extends unknown %s", name, ext)
			for k, v := range base {
				merged[k] = v
			}
		}
		for k, v := range j {
			merged[k] = v
		}
		jobs[name] = merged
		var lines []string
		for _, l := range merged["script"].([]any) {
			lines = append(lines, l.(string))
		}
		scripts[name] = strings.Join(lines, "\n")
	}
	return jobs, scripts
}

const gateConfigure = `AC_INIT([gatedemo], [1.0])
AM_INIT_AUTOMAKE([foreign -Wno-portability])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
`

// The project pins tar header times and owners, as reproducible projects
// do; its dist-hook records an environment variable, the "different
// environment" of the test.
const gateMakefile = `export TAR_OPTIONS = --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) --sort=name
EXTRA_DIST = hello.sh
dist-hook:
	echo "$${GATE_TEST_FLAVOR:-standard}" > $(distdir)/FLAVOR
`

func gitRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// TestGateTemplate runs the maintainer gate's job scripts, extracted from
// ci/verify-release.gitlab-ci.yml, in order on a small autotools project:
// three build jobs (two ordinary environments, checked out at different
// times; one whose environment changes a generated file), then the
// compare job over their artifacts.
func TestGateTemplate(t *testing.T) {
	requireTool(t, "git", "gzip", "tar", "autoreconf", "automake", "make", "sha256sum")
	jobs, scripts := gateJobs(t)

	// Structure GitLab relies on.
	build, cmp := jobs["verify-release-build"], jobs["verify-release-compare"]
	require.NotNil(t, build)
	require.NotNil(t, cmp)
	assert.Equal(t, "$VERIFY_RELEASE_IMAGE", build["image"])
	assert.NotEmpty(t, build["parallel"].(map[string]any)["matrix"])
	assert.Equal(t, []any{"verify-release-out/"}, build["artifacts"].(map[string]any)["paths"])
	assert.Equal(t, []any{map[string]any{"job": "verify-release-tool", "artifacts": true}, map[string]any{"job": "verify-release-build", "artifacts": true}}, cmp["needs"])
	assert.Equal(t, []any{map[string]any{"job": "verify-release-tool", "artifacts": true}}, build["needs"])
	assert.Equal(t, []any{".verify-release-bin/"}, jobs["verify-release-tool"]["artifacts"].(map[string]any)["paths"])
	assert.True(t, strings.HasSuffix(scripts["verify-release-tool"], "\nverify_release_install"))
	assert.True(t, strings.HasSuffix(scripts["verify-release-build"], "\nverify_release_build"))
	assert.True(t, strings.HasSuffix(scripts["verify-release-compare"], "\nverify_release_compare"))

	// verify-release itself, for the compare job.
	bin := t.TempDir()
	gb := exec.Command("go", "build", "-o", filepath.Join(bin, "verify-release"), ".")
	out, err := gb.CombinedOutput()
	require.NoError(t, err, string(out))

	// The upstream project, committed and tagged at a fixed time.
	upstream := t.TempDir()
	for name, text := range map[string]string{"configure.ac": gateConfigure, "Makefile.am": gateMakefile, "hello.sh": "#!/bin/sh\necho hello\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(upstream, name), []byte(text), 0o644))
	}
	when := []string{"GIT_AUTHOR_DATE=2024-04-13T10:04:00Z", "GIT_COMMITTER_DATE=2024-04-13T10:04:00Z",
		"GIT_AUTHOR_NAME=M", "GIT_AUTHOR_EMAIL=m@example.org", "GIT_COMMITTER_NAME=M", "GIT_COMMITTER_EMAIL=m@example.org"}
	gitRun(t, upstream, nil, "init", "-q", "-b", "main")
	gitRun(t, upstream, nil, "add", ".")
	gitRun(t, upstream, when, "commit", "-q", "-m", "release 1.0")
	gitRun(t, upstream, when, "tag", "-a", "-m", "v1.0", "v1.0")

	ciEnv := func(dir string, extra ...string) []string {
		env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"CI=true", "CI_PROJECT_NAME=gatedemo", "CI_PROJECT_DIR=" + dir, "VERIFY_RELEASE_PACKAGES=none"}
		return append(env, extra...)
	}
	runJob := func(name, dir string, env []string) (int, string) {
		cmd := exec.Command("sh", "-e", "-c", scripts[name])
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err)
		return 0, string(out)
	}

	// Three build jobs, each in a fresh clone (GIT_STRATEGY: clone).
	builds := map[string]string{}
	for i, img := range []string{"debian:bookworm", "ubuntu:24.04", "odd/image:1"} {
		dir := filepath.Join(t.TempDir(), "job")
		gitRun(t, "", nil, "clone", "-q", upstream, dir)
		env := ciEnv(dir, "CI_JOB_NAME=verify-release-build: ["+img+"]", "VERIFY_RELEASE_IMAGE="+img)
		if i == 1 {
			// Another checkout time: the gate gives files the commit time.
			later := time.Now().Add(time.Hour)
			require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				require.NoError(t, err)
				return os.Chtimes(p, later, later)
			}))
		}
		if i == 2 {
			env = append(env, "GATE_TEST_FLAVOR=odd")
		}
		code, log := runJob("verify-release-build", dir, env)
		require.Equal(t, 0, code, log)
		builds[img] = dir
	}
	outName := map[string]string{"debian:bookworm": "debian_bookworm", "ubuntu:24.04": "ubuntu_24.04", "odd/image:1": "odd_image_1"}
	for img, dir := range builds {
		for _, f := range []string{"gatedemo-1.0-src.tar.gz", "gatedemo-1.0.tar.gz"} {
			_, err := os.Stat(filepath.Join(dir, "verify-release-out", outName[img], f))
			require.NoError(t, err, "%s: %s", img, f)
		}
	}

	// The compare job gets the artifacts of the jobs it needs.
	compareJob := func(imgs []string, extra ...string) (int, string) {
		dir := filepath.Join(t.TempDir(), "job")
		gitRun(t, "", nil, "clone", "-q", upstream, dir)
		for _, img := range imgs {
			src := filepath.Join(builds[img], "verify-release-out", outName[img])
			dst := filepath.Join(dir, "verify-release-out", outName[img])
			require.NoError(t, os.MkdirAll(dst, 0o755))
			entries, err := os.ReadDir(src)
			require.NoError(t, err)
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(src, e.Name()))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
			}
		}
		return runJob("verify-release-compare", dir, ciEnv(dir, append([]string{"CI_JOB_NAME=verify-release-compare"}, extra...)...))
	}

	code, log := compareJob([]string{"debian:bookworm", "ubuntu:24.04"})
	assert.Equal(t, 0, code, log)
	assert.Contains(t, log, "result: 2 of 2 file(s) agree: all builds are identical")

	code, log = compareJob([]string{"debian:bookworm", "ubuntu:24.04", "odd/image:1"})
	assert.Equal(t, 1, code, log)
	assert.Contains(t, log, "agree  gatedemo-1.0-src.tar.gz")
	assert.Contains(t, log, "DIFFER gatedemo-1.0.tar.gz")
	assert.Contains(t, log, "verify-release-out/debian_bookworm verify-release-out/ubuntu_24.04 [majority]")
	assert.Contains(t, log, "==> gatedemo-1.0.tar.gz: verify-release-out/debian_bookworm vs verify-release-out/odd_image_1")
	assert.Contains(t, log, "gatedemo-1.0/FLAVOR")
	assert.Contains(t, log, "-standard")
	assert.Contains(t, log, "+odd")

	// Tag pipeline: compared with the recipe's checksums too. The digests
	// are sha256sum's, computed here from the debian build.
	sum := func(f string) string {
		data, err := os.ReadFile(filepath.Join(builds["debian:bookworm"], "verify-release-out", "debian_bookworm", f))
		require.NoError(t, err)
		s := sha256.Sum256(data)
		return hex.EncodeToString(s[:])
	}
	commit := gitRun(t, upstream, nil, "rev-parse", "HEAD")
	recipeText := func(dist string) string {
		return `name = "gatedemo"
version = "1.0"
[source]
git = "https://example.org/gatedemo.git"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "debian:bookworm"
digest = "unresolved"
[artifacts.src]
file = "gatedemo-1.0-src.tar.gz"
sha256 = "` + sum("gatedemo-1.0-src.tar.gz") + `"
method = "git-archive"
prefix = "gatedemo-v1.0/"
[artifacts.dist]
file = "gatedemo-1.0.tar.gz"
sha256 = "` + dist + `"
method = "build"
commands = ["autoreconf -fi", "./configure", "make dist"]
`
	}
	good := filepath.Join(t.TempDir(), "good.toml")
	require.NoError(t, os.WriteFile(good, []byte(recipeText(sum("gatedemo-1.0.tar.gz"))), 0o644))
	code, log = compareJob([]string{"debian:bookworm", "ubuntu:24.04"}, "CI_COMMIT_TAG=v1.0", "VERIFY_RELEASE_RECIPE="+good)
	assert.Equal(t, 0, code, log)
	assert.Contains(t, log, "recipe: "+good)

	bad := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte(recipeText(strings.Repeat("0", 64))), 0o644))
	code, log = compareJob([]string{"debian:bookworm", "ubuntu:24.04"}, "CI_COMMIT_TAG=v1.0", "VERIFY_RELEASE_RECIPE="+bad)
	assert.Equal(t, 1, code, log)
	assert.Contains(t, log, "no build has the sha256 the recipe expects")

	// Without a recipe a tag pipeline compares the builds only, or fails
	// when one is required.
	code, log = compareJob([]string{"debian:bookworm", "ubuntu:24.04"}, "CI_COMMIT_TAG=v1.0")
	assert.Equal(t, 0, code, log)
	assert.Contains(t, log, "no recipe for gatedemo 1.0")
	code, log = compareJob([]string{"debian:bookworm", "ubuntu:24.04"}, "CI_COMMIT_TAG=v1.0", "VERIFY_RELEASE_REQUIRE_RECIPE=true")
	assert.Equal(t, 2, code, log)
	assert.Contains(t, log, "verify-release: error: tag v1.0: no recipe recipes/gatedemo/1.0.toml")

	// One build is not a comparison.
	code, log = compareJob([]string{"debian:bookworm"})
	assert.Equal(t, 2, code, log)
	assert.Contains(t, log, "need the builds of two or more jobs")
}
