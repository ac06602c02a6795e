package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gpgShowKeys(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is required (CI=%q): %v", os.Getenv("CI"), err)
	}
	cmd := exec.CommandContext(context.Background(), "gpg", "--batch", "--homedir", t.TempDir(), "--with-colons", "--show-keys", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	return string(out)
}

func TestKeyGenerate(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "verifier.key")
	env := map[string]string{"VERIFY_RELEASE_KEY_PASSPHRASE": "correct horse"}
	code, out, errOut := run(t, env, "key", "generate", "--name", "Release Verifier", "--email", "v@example.org", "-o", keyFile, "--expire", "2y")
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, errOut, "correct horse", "the passphrase is never printed")
	assert.NotContains(t, out, "correct horse")
	assert.NotContains(t, errOut, "not protected")
	fpr := strings.Fields(out)[0]
	assert.Len(t, fpr, 40)

	st, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// gpg reads the public key: Ed25519 (algo 22), expires in two years.
	// --with-colons: pub:u:255:22:KEYID:CREATED:EXPIRES:..., then fpr:::::::::FPR:
	lines := strings.Split(gpgShowKeys(t, keyFile+".pub"), "\n")
	require.True(t, len(lines) > 3)
	pub := strings.Split(lines[0], ":")
	require.Equal(t, "pub", pub[0], lines[0])
	assert.Equal(t, "22", pub[3], "EdDSA")
	assert.Equal(t, int64(2*365*24*3600), atoi(t, pub[6])-atoi(t, pub[5]), "expires two years after creation")
	assert.Equal(t, "fpr:::::::::"+fpr+":", lines[1])
	assert.Contains(t, strings.Join(lines, "\n"), "Release Verifier <v@example.org>")

	// Never overwrite.
	code, _, errOut = run(t, env, "key", "generate", "--name", "X", "--email", "x@example.org", "-o", keyFile)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "already exists")

	// No passphrase: a warning on stderr, and no expiry.
	plain := filepath.Join(dir, "plain.key")
	code, _, errOut = run(t, nil, "key", "generate", "--name", "P", "--email", "p@example.org", "-o", plain)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "not protected by a passphrase")
	for _, line := range strings.Split(gpgShowKeys(t, plain+".pub"), "\n") {
		if strings.HasPrefix(line, "pub:") {
			assert.Equal(t, "", strings.Split(line, ":")[6], "no expiry")
		}
	}

	code, _, errOut = run(t, nil, "key", "generate", "--name", "P", "--email", "p@example.org", "-o", filepath.Join(dir, "e.key"), "--expire", "soon")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "invalid duration")
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1y": 365 * 24 * time.Hour, "36h": 36 * time.Hour} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "xd", "1x", "1.5d", "99999999999999y"} {
		_, err := parseDuration(bad)
		assert.ErrorContains(t, err, "want e.g. 30d", bad)
	}
	for _, zero := range []string{"0d", "-1y", "0s", "-5m"} {
		_, err := parseDuration(zero)
		assert.ErrorContains(t, err, "must be more than zero", zero)
	}
}
