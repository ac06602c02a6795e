package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// gaRepo makes a repository with a tag v1.0 and pinned dates.
func gaRepo(t *testing.T) string {
	t.Helper()
	for _, kv := range []string{
		"GIT_CONFIG_NOSYSTEM=1", "HOME=" + t.TempDir(),
		"GIT_AUTHOR_NAME=A", "GIT_AUTHOR_EMAIL=a@example.org", "GIT_AUTHOR_DATE=2024-04-13T10:04:00Z",
		"GIT_COMMITTER_NAME=C", "GIT_COMMITTER_EMAIL=c@example.org", "GIT_COMMITTER_DATE=2024-04-13T10:04:00Z",
	} {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), []byte("hello\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "main.c"), bytes.Repeat([]byte("int x;\n"), 2000), 0o644))
	gaGit(t, dir, "init", "-q", "-b", "main")
	gaGit(t, dir, "add", "-A")
	gaGit(t, dir, "commit", "-q", "-m", "init")
	gaGit(t, dir, "tag", "-a", "-m", "1.0", "v1.0")
	return dir
}

func gaGit(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "git %v: %s", args, stderr.String())
	return out
}

func gaPipe(t *testing.T, in []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

func TestGitarchiveCommand(t *testing.T) {
	dir := gaRepo(t)
	out := t.TempDir()

	// Plain tar to a file, compared with git archive.
	f := filepath.Join(out, "a.tar")
	code, stdout, stderr := run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--prefix", "proj-1.0/", "-o", f)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "wrote "+f)
	got, err := os.ReadFile(f)
	require.NoError(t, err)
	require.Equal(t, gaGit(t, dir, "archive", "--prefix=proj-1.0/", "v1.0"), got)

	// A device is written in place, not replaced by a rename.
	code, _, stderr = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "-o", os.DevNull)
	require.Equal(t, exitOK, code, stderr)
	st, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	require.Equal(t, os.ModeCharDevice|os.ModeDevice, st.Mode().Type(), "/dev/null is still a device")

	// Forge preset with its compressor, to stdout.
	code, stdout, stderr = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--forge", "github", "--project", "proj", "-o", "-")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stderr, "wrote (stdout)")
	require.Equal(t, gaPipe(t, gaGit(t, dir, "archive", "--prefix=proj-1.0/", "v1.0"), "gzip", "-cn"), []byte(stdout))

	// git-internal compressor, explicit level.
	code, stdout, stderr = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--forge", "gitlab", "--project", "proj", "--level", "9", "-o", "-")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, gaGit(t, dir, "archive", "--format=tar.gz", "-9", "--prefix=proj-v1.0/", "v1.0"), []byte(stdout))

	// Identify: a GitLab-style tarball.
	pub := filepath.Join(out, "proj-v1.0.tar.gz")
	require.NoError(t, os.WriteFile(pub, gaGit(t, dir, "archive", "--format=tar.gz", "--prefix=proj-v1.0/", "v1.0"), 0o644))
	code, stdout, stderr = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--identify", pub)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, `reproduced byte for byte from v1.0`)
	require.Contains(t, stdout, `--prefix="proj-v1.0/" --compress=git-internal (gitlab, srcdist)`)

	// Identify: same tar stream, unknown compressor -> exit 1.
	tarGz := gaPipe(t, gaGit(t, dir, "archive", "--prefix=proj-v1.0/", "v1.0"), "gzip", "-c", "-n", "--rsyncable")
	require.NoError(t, os.WriteFile(pub, tarGz, 0o644))
	code, stdout, _ = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--identify", pub)
	require.Equal(t, exitDiffer, code)
	require.Contains(t, stdout, `same tar stream from v1.0`)

	// Identify: nothing matches -> exit 1 and the list of tried prefixes.
	require.NoError(t, os.WriteFile(pub, gaPipe(t, gaGit(t, dir, "archive", "--prefix=elsewhere/", "HEAD:src"), "gzip", "-cn"), 0o644))
	code, stdout, _ = run(t, nil, "gitarchive", "--repo", dir, "v1.0", "--identify", pub, "--project", "proj")
	require.Equal(t, exitDiffer, code)
	require.Contains(t, stdout, "not reproduced from v1.0; tried:")
	require.Contains(t, stdout, `--prefix="proj-1.0/" (github, cgit)`)
}

func TestGitarchiveCommandErrors(t *testing.T) {
	dir := gaRepo(t)
	out := t.TempDir()
	dest := filepath.Join(out, "x.tar.gz")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"not a repository", []string{"--repo", out, "v1.0"}, exitError, "not a git repository: " + out},
		{"unknown ref", []string{"--repo", dir, "v9.9"}, exitError, `unknown ref: "v9.9"`},
		{"absolute prefix", []string{"--repo", dir, "v1.0", "--prefix", "/etc/"}, exitError, `bad prefix "/etc/": absolute path`},
		{"dotdot prefix", []string{"--repo", dir, "v1.0", "--prefix", "a/../../b/"}, exitError, `bad prefix "a/../../b/"`},
		{"tree without mtime", []string{"--repo", dir, "v1.0^{tree}"}, exitError, "tree archive needs an explicit mtime"},
		{"unknown forge", []string{"--repo", dir, "v1.0", "--forge", "sf", "--project", "p"}, exitError, `unknown forge preset "sf"`},
		{"unknown compressor", []string{"--repo", dir, "v1.0", "--compress", "zstd"}, exitError, `unknown compressor "zstd"`},
		{"bad mtime", []string{"--repo", dir, "v1.0", "--mtime", "yesterday"}, exitError, `--mtime "yesterday"`},
		{"missing object", []string{"--repo", dir, "v1.0"}, exitError, "missing object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "missing object" {
				blob := strings.TrimSpace(string(gaGit(t, dir, "rev-parse", "v1.0:README")))
				require.NoError(t, os.Remove(filepath.Join(dir, ".git", "objects", blob[:2], blob[2:])))
			}
			args := append([]string{"gitarchive"}, tc.args...)
			if tc.name != "unknown compressor" {
				args = append(args, "--compress", "gzip-n")
			}
			code, _, stderr := run(t, nil, append(args, "-o", dest)...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, "verify-release: error: ")
			require.Contains(t, stderr, tc.msg)
			_, err := os.Stat(dest)
			require.True(t, os.IsNotExist(err), "no partial output file")
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			require.Empty(t, entries, "no temporary files left")
		})
	}
	code, _, stderr := run(t, nil, "gitarchive", "--repo", dir)
	require.Equal(t, exitError, code)
	require.Contains(t, stderr, "want exactly one REF")
}
