package gitarchive

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testEnv isolates git from the user's configuration and pins identities
// and dates so the commits the tests make are reproducible.
var testEnv = []string{
	"GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.org", "GIT_AUTHOR_DATE=2021-03-04T05:06:07+01:00",
	"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.org", "GIT_COMMITTER_DATE=2022-05-06T07:08:09-02:00",
}

// setupEnv applies testEnv to the test process (the library inherits it) and
// points HOME at an empty directory.
func setupEnv(t *testing.T) {
	t.Helper()
	requireTool(t, "git")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, kv := range testEnv {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func requireTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (CI=%q): %v", name, os.Getenv("CI"), err)
	}
}

// git runs git in dir and returns stdout.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "git %v: %s", args, stderr.String())
	return string(out)
}

// gitBytes runs git in dir and returns stdout as bytes.
func gitBytes(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	return []byte(git(t, dir, args...))
}

// newRepo makes an empty repository (extra args go to git init).
func newRepo(t testing.TB, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, append([]string{"init", "-q", "-b", "main"}, args...)...)
	return dir
}

// writeFile writes a file below dir, creating directories.
func writeFile(t testing.TB, dir, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
	require.NoError(t, os.Chmod(p, mode))
}

func symlink(t testing.TB, dir, name, target string) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.Symlink(target, p))
}

func commitAll(t testing.TB, dir, msg string) string {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
}

// ours runs Write and returns the bytes.
func ours(t testing.TB, dir, ref string, opts ...Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := Write(context.Background(), &buf, dir, ref, opts...)
	require.NoError(t, err)
	return buf.Bytes()
}

// requireSameBytes compares archives and shows where they differ.
func requireSameBytes(t testing.TB, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	start := i / 512 * 512
	dump := func(b []byte) string {
		if start >= len(b) {
			return "(end)"
		}
		end := min(start+512, len(b))
		return hex.Dump(b[start:end])
	}
	t.Fatalf("%s: archives differ at byte %d (record %d, lengths want %d got %d)\nwant:\n%s\ngot:\n%s",
		what, i, i/512, len(want), len(got), dump(want), dump(got))
}

// compareWithGit checks Write against git archive for a set of argument
// combinations.
func compareWithGit(t *testing.T, dir, ref string, prefixes ...string) {
	t.Helper()
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	for _, p := range prefixes {
		args := []string{"archive", "--format=tar"}
		var opts []Option
		if p != "" {
			args = append(args, "--prefix="+p)
			opts = append(opts, WithPrefix(p))
		}
		want := gitBytes(t, dir, append(args, ref)...)
		got := ours(t, dir, ref, opts...)
		requireSameBytes(t, want, got, fmt.Sprintf("ref %s prefix %q", ref, p))
	}
}

func parseOctal(t testing.TB, b []byte) time.Time {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimRight(string(b), "\x00"), 8, 64)
	require.NoError(t, err)
	return time.Unix(int64(v), 0)
}
