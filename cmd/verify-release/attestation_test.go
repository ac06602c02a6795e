package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/attest"
)

func TestAttestationSignVerify(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"MY_PASS": "hunter2"}
	keyFile := filepath.Join(dir, "v.key")
	code, out, errOut := run(t, env, "key", "generate", "--name", "V", "--email", "v@example.org", "-o", keyFile, "--passphrase-env", "MY_PASS")
	require.Equal(t, exitOK, code, errOut)
	fpr := strings.Fields(out)[0]

	artifact := filepath.Join(dir, "libfoo-1.0.tar.gz")
	require.NoError(t, os.WriteFile(artifact, []byte("release bytes\n"), 0o644))
	sumOut, err := exec.CommandContext(context.Background(), "sha256sum", artifact).Output()
	require.NoError(t, err)
	sum := strings.Fields(string(sumOut))[0]
	st, err := attest.VerificationSummary(&attest.Run{Name: "libfoo", Version: "1.0", RecipePath: "recipes/libfoo/1.0.toml",
		RecipeSHA256: strings.Repeat("00", 32), TimeVerified: time.Unix(1e9, 0),
		Artifacts: []attest.Artifact{{Name: "libfoo-1.0.tar.gz", Kind: attest.KindSrc, SHA256: sum, Reproduced: true}}})
	require.NoError(t, err)
	data, err := st.Encode()
	require.NoError(t, err)
	statement := filepath.Join(dir, attest.SummaryFile)
	require.NoError(t, os.WriteFile(statement, data, 0o644))

	// Wrong or missing passphrase: exit 2, nothing written, passphrase not echoed.
	code, _, errOut = run(t, map[string]string{"MY_PASS": "wrong"}, "attestation", "sign", statement, "--key", keyFile, "--passphrase-env", "MY_PASS")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "wrong passphrase")
	assert.Contains(t, errOut, keyFile)
	assert.NotContains(t, errOut, "wrong\n")
	code, _, errOut = run(t, nil, "attestation", "sign", statement, "--key", keyFile)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "VERIFY_RELEASE_KEY_PASSPHRASE")
	_, err = os.Stat(statement + ".asc")
	require.ErrorIs(t, err, os.ErrNotExist)

	// Passphrase from a file.
	passFile := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(passFile, []byte("hunter2\n"), 0o600))
	code, out, errOut = run(t, nil, "attestation", "sign", statement, "--key", keyFile, "--passphrase-file", passFile)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, fpr)

	code, out, errOut = run(t, nil, "attestation", "verify", statement, "--key", keyFile+".pub", "--subject", artifact, "--fingerprint", fpr)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "verified")
	assert.Contains(t, out, "PASSED")
	assert.Contains(t, out, "sha256:"+sum)

	code, out, errOut = run(t, nil, "attestation", "verify", statement, "--key", keyFile+".pub", "--json")
	require.Equal(t, exitOK, code, errOut)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	assert.Equal(t, "https://slsa.dev/verification_summary/v1", v["predicate_type"])

	// A different file under the subject's name: exit 1.
	evil := filepath.Join(t.TempDir(), "libfoo-1.0.tar.gz")
	require.NoError(t, os.WriteFile(evil, []byte("evil"), 0o644))
	code, out, errOut = run(t, nil, "attestation", "verify", statement, "--key", keyFile+".pub", "--subject", evil)
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, out, "NOT verified")
	assert.Contains(t, errOut, "differs")

	// Tampered statement: exit 1.
	tampered := filepath.Join(dir, "tampered.json")
	require.NoError(t, os.WriteFile(tampered, []byte(strings.Replace(string(data), "PASSED", "PASSEX", 1)), 0o644))
	code, _, errOut = run(t, nil, "attestation", "verify", tampered, "--signature", statement+".asc", "--key", keyFile+".pub")
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, errOut, "BAD signature")

	// A secret key where the public key is expected: exit 2.
	code, _, errOut = run(t, nil, "attestation", "verify", statement, "--key", keyFile)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "secret key given where a public key is expected")

	// gpgv agrees with the signature (independent check).
	bin := filepath.Join(dir, "pub.gpg")
	o, err := exec.CommandContext(context.Background(), "gpg", "--batch", "--homedir", t.TempDir(), "--output", bin, "--dearmor", keyFile+".pub").CombinedOutput()
	require.NoError(t, err, string(o))
	o, err = exec.CommandContext(context.Background(), "gpgv", "--homedir", t.TempDir(), "--status-fd", "1", "--keyring", bin, statement+".asc", statement).CombinedOutput()
	require.NoError(t, err, string(o))
	assert.Contains(t, string(o), "[GNUPG:] GOODSIG")
}
