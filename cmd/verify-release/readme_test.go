package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quickStart returns the shell commands of README.md's quick start (its
// first sh block), continuation lines joined.
func quickStart(t *testing.T, readme string) []string {
	t.Helper()
	_, after, ok := strings.Cut(readme, "## Quick start")
	require.True(t, ok, "README.md has no Quick start section")
	_, block, ok := strings.Cut(after, "```sh\n")
	require.True(t, ok)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	block = strings.ReplaceAll(block, "\\\n", " ")
	var cmds []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// TestREADMEQuickStart runs README.md's quick start as written in a fresh
// clone of this repository (its committed HEAD): the clone command reads
// this repository instead of gitlab.com, and the one command marked
// "needs:" (Docker, gitlab.com, savannah) is left out; everything else,
// including the downloads from the Debian mirror, runs.
func TestREADMEQuickStart(t *testing.T) {
	for _, tool := range []string{"git", "go", "curl", "bash"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the quick start needs %s", tool)
	}
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	require.NoError(t, err)
	repo := strings.TrimSpace(string(top))
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	require.NoError(t, err)
	cmds := quickStart(t, string(readme))
	require.Equal(t, "git clone https://gitlab.com/verify-release/verify-release.git", cmds[0])
	require.Equal(t, "cd verify-release", cmds[1])

	var script []string
	skipped := 0
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, "git clone "):
			script = append(script, "git clone --quiet "+repo+" verify-release")
		case strings.Contains(c, "# needs:"):
			skipped++
		default:
			script = append(script, c)
		}
	}
	// './verify-release libntlm 1.8' needs gitlab.com and savannah; the
	// Debian-environment run needs Docker and is TestCorpusLibntlm18DistFromSrc.
	assert.Equal(t, 2, skipped, "only the two commands marked needs: are left out")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euxo", "pipefail", "-c", strings.Join(script, "\n"))
	cmd.Dir = dir
	// No VERIFY_RELEASE_* settings of the developer's shell leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERIFY_RELEASE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the quick start failed:\n%s", out)
	// What the commands print, from independent facts: the sha256 Debian's
	// libntlm_1.8.dsc lists for the orig tarball, the signer's fingerprint
	// as gpgv reports it (pkg/sign/testdata/README.md).
	assert.Contains(t, string(out), "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca  libntlm_1.8.orig.tar.gz")
	assert.Contains(t, string(out), "good signature, key expired 2020-05-26, accepted by --allow-expired-key")
	assert.Contains(t, string(out), "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE")
	assert.Contains(t, string(out), "ok   recipes/libntlm/1.8.toml libntlm/1.8 (environments ubuntu-22.04: image pinned; debian-bookworm: debian bookworm archive, locked in recipes/libntlm/1.8@debian-bookworm.lock)")
	assert.FileExists(t, filepath.Join(dir, "verify-release", "verify-release"))
}
