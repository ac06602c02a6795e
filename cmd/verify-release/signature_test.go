package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// libntlmTarball returns Debian's libntlm_1.8.orig.tar.gz (= upstream
// libntlm-1.8-src.tar.gz), cached under os.UserCacheDir.
func libntlmTarball(t *testing.T) string {
	t.Helper()
	const (
		url = "http://deb.debian.org/debian/pool/main/libn/libntlm/libntlm_1.8.orig.tar.gz"
		sum = "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca"
	)
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	dir := filepath.Join(cache, "verify-release", "testdata")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	dest := filepath.Join(dir, "libntlm-1.8-src.tar.gz")
	check := func() bool {
		data, err := os.ReadFile(dest)
		h := sha256.Sum256(data)
		return err == nil && hex.EncodeToString(h[:]) == sum
	}
	if check() {
		return dest
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("cannot download %s (needed by this test; or place a copy with sha256 %s at %s): %v", url, sum, dest, err)
	}
	defer resp.Body.Close()
	tmp := dest + ".part"
	f, err := os.Create(tmp)
	require.NoError(t, err)
	_, err = io.Copy(f, resp.Body)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Rename(tmp, dest))
	if !check() {
		t.Fatalf("%s: sha256 is not %s", url, sum)
	}
	return dest
}

func TestSignatureVerifyLibntlm(t *testing.T) {
	tarball := libntlmTarball(t)
	sig := "../../pkg/sign/testdata/libntlm-1.8-src.tar.gz.asc"
	key := "../../recipes/keys/libntlm.asc"
	const fpr = "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE"

	code, out, errOut := run(t, nil, "signature", "verify", tarball, sig, "--key", key, "--fingerprint", fpr)
	assert.Equal(t, exitDiffer, code, errOut)
	assert.Contains(t, out, "REJECTED: good signature, but the key expired 2020-05-26 (refresh the key file, or pass --allow-expired-key)")
	assert.Contains(t, out, "A3CC9C870B9D310ABAD4CF2F51722B08FE4745A2")
	assert.Contains(t, out, "2024-04-13T11:58:13Z")
	assert.Contains(t, errOut, "refresh the key file")
	assert.Contains(t, errOut, "hint: ")

	code, out, errOut = run(t, nil, "signature", "verify", tarball, sig, "--key", key, "--fingerprint", fpr, "--allow-expired-key", "--json")
	assert.Equal(t, exitOK, code, errOut)
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	assert.Equal(t, "good-expired-key", res["status"])
	assert.Equal(t, fpr, res["primary_fingerprint"])
	assert.Equal(t, "SHA256", res["hash"])
	assert.Equal(t, "2024-04-13T11:58:13Z", res["created"])

	// Another accepted fingerprint: rejected, exit 1.
	code, out, _ = run(t, nil, "signature", "verify", tarball, sig, "--key", key, "--allow-expired-key",
		"--fingerprint", "0000000000000000000000000000000000000000")
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, out, "signer not accepted")

	// Signature over another file: exit 1.
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, os.WriteFile(other, []byte("x"), 0o644))
	code, out, _ = run(t, nil, "signature", "verify", other, sig, "--key", key, "--allow-expired-key")
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, out, "BAD signature")
}

func TestSignatureVerifyBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.asc")
	require.NoError(t, os.WriteFile(garbage, []byte("garbage"), 0o644))
	key := "../../recipes/keys/libntlm.asc"

	code, _, errOut := run(t, nil, "signature", "verify", garbage, garbage, "--key", key)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "verify-release: error: signature "+garbage)

	code, _, errOut = run(t, nil, "signature", "verify", garbage, key, "--key", key)
	assert.Equal(t, exitError, code, "a key where a signature is expected")
	assert.Contains(t, errOut, `armored block is "PGP PUBLIC KEY BLOCK"`)

	code, _, errOut = run(t, nil, "signature", "verify", garbage, garbage, "--key", garbage)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "keyring "+garbage)

	code, _, errOut = run(t, nil, "signature", "verify", garbage, garbage)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "--key KEYFILE is required")

	code, _, errOut = run(t, nil, "signature", "verify", garbage, garbage, "--key", key, "--fingerprint", "C53C06BE")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "40 or 64 hex digits")

	code, _, _ = run(t, nil, "signature", "check", garbage, garbage, "--key", key)
	assert.Equal(t, exitError, code)
}
