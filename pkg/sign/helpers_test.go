package sign

import (
	"bytes"
	"context"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/require"
)

// t0 is the fixed creation time of generated test keys.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// newEntity generates a v4 EdDSA key (GnuPG 2.2 compatible) created at
// created, expiring after lifetime (0: never).
func newEntity(t *testing.T, name string, created time.Time, lifetime time.Duration) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		Time:            func() time.Time { return created },
		KeyLifetimeSecs: uint32(lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "", strings.ToLower(name)+"@example.org", cfg)
	require.NoError(t, err)
	return e
}

// addSigningSubkey adds an EdDSA signing subkey and returns its index.
func addSigningSubkey(t *testing.T, e *openpgp.Entity, created time.Time) int {
	t.Helper()
	cfg := &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
		Curve:     packet.Curve25519,
		Time:      func() time.Time { return created },
	}
	require.NoError(t, e.AddSigningSubkey(cfg))
	return len(e.Subkeys) - 1
}

// signRaw makes a binary detached signature with the packet API, so that
// tests can choose the time and hash freely (openpgp.DetachSign refuses
// expired keys and SHA-1).
func signRaw(t *testing.T, priv *packet.PrivateKey, data []byte, when time.Time, h crypto.Hash) []byte {
	t.Helper()
	sig := &packet.Signature{
		Version:           priv.PublicKey.Version,
		SigType:           packet.SigTypeBinary,
		PubKeyAlgo:        priv.PublicKey.PubKeyAlgo,
		Hash:              h,
		CreationTime:      when,
		IssuerKeyId:       &priv.KeyId,
		IssuerFingerprint: priv.Fingerprint,
	}
	noSalt := false // the salt notation does not support SHA-1
	cfg := &packet.Config{Time: func() time.Time { return when }, NonDeterministicSignaturesViaNotation: &noSalt}
	hh, err := sig.PrepareSign(cfg)
	require.NoError(t, err)
	hh.Write(data)
	require.NoError(t, sig.Sign(hh, priv, cfg))
	var buf bytes.Buffer
	require.NoError(t, sig.Serialize(&buf))
	return buf.Bytes()
}

func armored(t *testing.T, typ string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, typ, nil)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	buf.WriteString("\n")
	return buf.Bytes()
}

// publicKeyring serializes the public parts of es (binary, like gpg --export).
func publicKeyring(t *testing.T, es ...*openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, e := range es {
		require.NoError(t, e.Serialize(&buf))
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (CI=%q): %v", name, os.Getenv("CI"), err)
	}
}

// gpgvResult is what gpgv --status-fd reported.
type gpgvResult struct {
	verdict  string   // GOODSIG, EXPKEYSIG, REVKEYSIG, BADSIG, ERRSIG, EXPSIG or "" if none
	validsig []string // fields of VALIDSIG, if any
	exit     int
	output   string
}

// runGPGV runs the real gpgv on the same inputs: the independent oracle.
// keyring must be binary (gpgv does not read armored keyrings).
func runGPGV(t *testing.T, keyring, sig, data string) gpgvResult {
	t.Helper()
	needTool(t, "gpgv")
	home := t.TempDir()
	cmd := exec.CommandContext(context.Background(), "gpgv", "--homedir", home, "--status-fd", "1", "--keyring", keyring, sig, data)
	out, err := cmd.CombinedOutput()
	var r gpgvResult
	r.output = string(out)
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "[GNUPG:] "))
		if !strings.HasPrefix(line, "[GNUPG:] ") || len(f) == 0 {
			continue
		}
		switch f[0] {
		case "GOODSIG", "EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG", "EXPSIG":
			if r.verdict == "" {
				r.verdict = f[0]
			}
		case "VALIDSIG":
			r.validsig = f[1:]
		}
	}
	return r
}

func execCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
