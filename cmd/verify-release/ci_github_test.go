package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestCIGitHubCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "verify.yml")
	// The shipped libntlm recipe is pinned: it gets a verify job.
	code, stdout, stderr := run(t, nil, "ci", "github", "../../recipes", "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wrote "+out+": 1 verify job(s)\n")

	// Unpinned, it is refused.
	unpinned := unpinnedRecipes(t)
	code, stdout, stderr = run(t, nil, "ci", "github", unpinned, "-o", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "wrote "+out+": 1 verify job(s), 1 refusing an unpinned image")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	jobs := doc["jobs"].(map[string]any)
	assert.Contains(t, jobs, "refused")
	assert.NotContains(t, jobs, "verify")

	code, stdout, _ = run(t, map[string]string{"VERIFY_RELEASE_ALLOW_UNPINNED": "true"}, "ci", "github", "--recipes", unpinned)
	require.Equal(t, 0, code)
	require.NoError(t, yaml.Unmarshal([]byte(stdout), &doc))
	assert.Contains(t, doc["jobs"].(map[string]any), "verify")

	code, _, stderr = run(t, nil, "ci", "github", unpinned, "--only", "nope", "-o", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `no such recipe "nope"`)
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, again, "a failed run leaves the earlier output alone")
}

func TestCIEnvironmentsCommand(t *testing.T) {
	a := "docker.io/library/debian@sha256:" + strings.Repeat("a", 64)
	b := "docker.io/library/ubuntu:24.04@sha256:" + strings.Repeat("b", 64)
	code, stdout, stderr := run(t, nil, "ci", "environments", a+"\n"+b)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"schema":"verify-release/environments/v1","environments":["`+a+`","`+b+`"],"unpinned":[]}`+"\n", stdout)

	code, _, stderr = run(t, nil, "ci", "environments", a, "debian:bookworm")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "has no digest: debian:bookworm")
	assert.Contains(t, stderr, "hint: pin each image by digest")

	code, stdout, stderr = run(t, map[string]string{"VERIFY_RELEASE_ALLOW_UNPINNED": "true"}, "ci", "environments", a, "debian:bookworm")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "warning: environment debian:bookworm is not pinned")
	assert.Equal(t, `{"schema":"verify-release/environments/v1","environments":["`+a+`","debian:bookworm"],"unpinned":["debian:bookworm"]}`+"\n", stdout)

	for _, args := range [][]string{{a}, {a, a}, {a, "Not A Ref!"}} {
		code, _, stderr = run(t, nil, append([]string{"ci", "environments"}, args...)...)
		assert.Equal(t, 2, code, "%v: %s", args, stderr)
	}
}

// ci build on this machine: the git-archive tarball equals the one made
// by hand with git and gzip, the dist commands see SOURCE_DATE_EPOCH and
// files with the commit time, an untracked tarball they leave is kept and
// a tracked one is not.
func TestCIBuildCommand(t *testing.T) {
	requireTool(t, "git", "gzip", "tar", "sh")
	dir := filepath.Join(t.TempDir(), "proj")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.tar"), []byte("tracked, not a build output\n"), 0o644))
	when := []string{"GIT_AUTHOR_DATE=2024-04-13T10:04:00Z", "GIT_COMMITTER_DATE=2024-04-13T10:04:00Z",
		"GIT_AUTHOR_NAME=M", "GIT_AUTHOR_EMAIL=m@example.org", "GIT_COMMITTER_NAME=M", "GIT_COMMITTER_EMAIL=m@example.org"}
	gitRun(t, dir, nil, "init", "-q", "-b", "main")
	gitRun(t, dir, nil, "add", ".")
	gitRun(t, dir, when, "commit", "-q", "-m", "1.0")
	gitRun(t, dir, when, "tag", "-a", "-m", "v1.0", "v1.0")
	epoch := gitRun(t, dir, nil, "log", "-1", "--format=%ct")
	require.Equal(t, "1713002640", epoch) // date -d 2024-04-13T10:04:00Z +%s

	dist := `printf '%s %s %s %s\n' "$SOURCE_DATE_EPOCH" "$TZ" "$(stat -c %Y hello.txt)" "$(umask)" > stamp
tar --owner=0 --group=0 --mtime=@$SOURCE_DATE_EPOCH -cf proj-1.0.tar stamp hello.txt`
	env := map[string]string{"GITHUB_REPOSITORY": "example/proj", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.0",
		"VERIFY_RELEASE_DIST_COMMANDS": dist}
	code, stdout, stderr := run(t, env, "ci", "build", dir, "--name", "docker.io/library/debian:bookworm@sha256:"+strings.Repeat("c", 64))
	require.Equal(t, 0, code, stderr)
	out := filepath.Join(dir, "verify-release-out", "docker.io_library_debian_bookworm_sha256_cccccccccccc")
	assert.Contains(t, stdout, "built proj 1.0 at ")
	assert.Contains(t, stdout, "into "+out)

	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"proj-1.0-src.tar.gz", "proj-1.0.tar"}, names)

	byHand := filepath.Join(t.TempDir(), "src.tar.gz")
	cmd := exec.Command("sh", "-c", `git archive --format=tar --prefix=proj-v1.0/ v1.0 | gzip -cn > "$0"`, byHand)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	assert.Equal(t, fileSHA256(t, byHand), fileSHA256(t, filepath.Join(out, "proj-1.0-src.tar.gz")))
	assert.Contains(t, stdout, fileSHA256(t, byHand)+"  proj-1.0-src.tar.gz\n")

	stamp, err := exec.Command("tar", "-xOf", filepath.Join(out, "proj-1.0.tar"), "stamp").Output()
	require.NoError(t, err)
	assert.Equal(t, epoch+" UTC "+epoch+" 0022\n", string(stamp))

	// A failing dist command: exit 2, naming the step; not a checkout: exit 2.
	env["VERIFY_RELEASE_DIST_COMMANDS"] = "exit 3"
	code, _, stderr = run(t, env, "ci", "build", dir, "--name", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "build command failed: dist commands")
	code, _, stderr = run(t, env, "ci", "build", t.TempDir(), "--name", "x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not a git checkout")
	code, _, stderr = run(t, nil, "ci", "build", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "needs --name")

	// The output directory never takes the checkout or foreign files with it.
	env["VERIFY_RELEASE_DIST_COMMANDS"] = "true"
	for _, o := range []string{dir, filepath.Dir(dir)} {
		code, _, stderr = run(t, env, "ci", "build", dir, "--name", "x", "-o", o)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "holds the checkout")
	}
	busy := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(busy, "keep"), 0o755))
	code, _, stderr = run(t, env, "ci", "build", dir, "--name", "x", "-o", busy)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "holds keep, which is not a build's file")
	assert.DirExists(t, filepath.Join(busy, "keep"))
	assert.FileExists(t, filepath.Join(dir, "hello.txt"))
}
