package tarball

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// needTool fails the test when a real tool is missing (never skips).
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: install it (the tests use the real tool)", name)
	}
}

// run runs a command in dir and returns its stdout.
func run(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	needTool(t, name)
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), stderr.String())
	return out
}

// sh runs a shell pipeline in dir.
func sh(t testing.TB, dir, script string) []byte {
	t.Helper()
	return run(t, dir, "sh", "-ec", script)
}

// makeTree writes a small source tree p-1.0/ under dir with fixed mtimes.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	files := map[string]string{
		"p-1.0/README":      "hello\n",
		"p-1.0/src/main.c":  "int main(void) { return 0; }\n",
		"p-1.0/configure":   "#!/bin/sh\necho configured\n",
		"p-1.0/data/zeros":  strings.Repeat("\x00", 3000),
		"p-1.0/NEWS":        strings.Repeat("news line\n", 200),
		"p-1.0/src/empty.h": "",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "p-1.0/configure"), 0o755))
	require.NoError(t, os.Symlink("src/main.c", filepath.Join(dir, "p-1.0/main-link")))
	sh(t, dir, "find p-1.0 -exec touch -h -d @1700000000 {} +")
}

// gnuTar makes dir/out with GNU tar from p-1.0/ (sorted, fixed owner).
func gnuTar(t testing.TB, dir, out string, extra ...string) string {
	t.Helper()
	args := append([]string{"--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-cf", out}, extra...)
	run(t, dir, "tar", append(args, "p-1.0")...)
	return filepath.Join(dir, out)
}

// sha256Hex is the digest sha256sum(1) prints for s.
func sha256Hex(t testing.TB, s string) string {
	t.Helper()
	needTool(t, "sha256sum")
	cmd := exec.Command("sha256sum")
	cmd.Stdin = strings.NewReader(s)
	out, err := cmd.Output()
	require.NoError(t, err)
	return strings.Fields(string(out))[0]
}
