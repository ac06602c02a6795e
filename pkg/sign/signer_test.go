package sign

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerateSignVerifyWithGPGV(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "release.key")
	s, err := GenerateKey("Release Bot", "bot@example.org", WithTime(t0), WithPassphrase([]byte("s3cret")))
	require.NoError(t, err)
	require.NoError(t, WriteKeyFiles(s, keyFile))

	st, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "secret key must be private")
	st, err = os.Stat(keyFile + ".pub")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary files left")
	require.Error(t, WriteKeyFiles(s, keyFile), "never overwrite a key")

	// Unlock and sign; the time is fixed, so signing twice gives the same bytes.
	signer, err := ReadSigner(keyFile, WithPassphrase([]byte("s3cret")), WithTime(t0.Add(time.Hour)))
	require.NoError(t, err)
	assert.Equal(t, s.Fingerprint(), signer.Fingerprint())
	assert.Equal(t, "Release Bot <bot@example.org>", signer.UserID())
	var sig1, sig2 bytes.Buffer
	require.NoError(t, signer.SignDetached(ctx, &sig1, bytes.NewReader(payload)))
	require.NoError(t, signer.SignDetached(ctx, &sig2, bytes.NewReader(payload)))
	assert.Equal(t, sig1.String(), sig2.String(), "deterministic signatures")
	assert.True(t, strings.HasPrefix(sig1.String(), "-----BEGIN PGP SIGNATURE-----"))

	file := writeFile(t, dir, "data", payload)
	sigFile := writeFile(t, dir, "data.asc", sig1.Bytes())
	kr, err := ReadKeyring(keyFile + ".pub")
	require.NoError(t, err)
	res, err := Verify(ctx, kr, file, sigFile, WithFingerprints(s.Fingerprint()))
	require.NoError(t, err)
	assert.Equal(t, StatusGood, res.Status)
	assert.Equal(t, "SHA512", res.Hash)
	assert.Equal(t, t0.Add(time.Hour), res.Created)

	// gpg reads the generated key (armored public key -> binary keyring) and
	// gpgv accepts the signature.
	needTool(t, "gpg")
	bin := filepath.Join(dir, "pub.gpg")
	out, err := runCmd(ctx, "gpg", "--batch", "--homedir", t.TempDir(), "--output", bin, "--dearmor", keyFile+".pub")
	require.NoError(t, err, out)
	g := runGPGV(t, bin, sigFile, file)
	assert.Equal(t, "GOODSIG", g.verdict, g.output)
	require.Len(t, g.validsig, 10, g.output)
	assert.Equal(t, s.Fingerprint(), g.validsig[9])
	assert.Equal(t, "10", g.validsig[7], "SHA512")

	// gpg can also unlock the generated secret key with the passphrase.
	home := t.TempDir()
	out, err = runCmd(ctx, "gpg", "--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", "s3cret", "--import", keyFile)
	require.NoError(t, err, out)
	out, err = runCmd(ctx, "gpg", "--batch", "--homedir", home, "--pinentry-mode", "loopback", "--passphrase", "s3cret",
		"--output", filepath.Join(dir, "gpg.sig"), "--detach-sign", file)
	require.NoError(t, err, out)
	res, err = Verify(ctx, kr, file, filepath.Join(dir, "gpg.sig"))
	require.NoError(t, err, "a gpg-made signature verifies")
	assert.Equal(t, StatusGood, res.Status)
}

func TestGenerateKeyExpiry(t *testing.T) {
	s, err := GenerateKey("A", "a@example.org", WithTime(t0), WithKeyLifetime(48*time.Hour))
	require.NoError(t, err)
	var pub bytes.Buffer
	require.NoError(t, s.WritePublicKey(&pub))
	dir := t.TempDir()
	p := writeFile(t, dir, "a.pub", pub.Bytes())
	needTool(t, "gpg")
	out, err := runCmd(context.Background(), "gpg", "--batch", "--homedir", t.TempDir(), "--with-colons", "--show-keys", p)
	require.NoError(t, err, out)
	// pub:e:255:22:KEYID:created:expires:...  (fields 6 and 7)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "pub:") {
			f := strings.Split(line, ":")
			assert.Equal(t, "1704067200", f[5], "created at t0")
			assert.Equal(t, "1704240000", f[6], "expires 48h later")
			return
		}
	}
	t.Fatalf("no pub line in gpg output:\n%s", out)
}

func TestReadSignerErrors(t *testing.T) {
	dir := t.TempDir()
	s, err := GenerateKey("A", "a@example.org", WithTime(t0), WithPassphrase([]byte("right")))
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "a.key")
	require.NoError(t, WriteKeyFiles(s, keyFile))

	_, err = ReadSigner(keyFile, WithPassphrase([]byte("wrong")))
	require.ErrorIs(t, err, ErrWrongPassphrase)
	assert.Contains(t, err.Error(), keyFile)

	_, err = ReadSigner(keyFile)
	require.ErrorIs(t, err, ErrPassphraseRequired)
	assert.Contains(t, err.Error(), keyFile)

	_, err = ReadSigner(keyFile + ".pub")
	require.ErrorIs(t, err, ErrNotSecretKey)
	assert.Contains(t, err.Error(), keyFile+".pub")

	garbage := writeFile(t, dir, "garbage", []byte("nope"))
	_, err = ReadSigner(garbage)
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), garbage)

	// An unencrypted key needs no passphrase.
	plain, err := GenerateKey("B", "b@example.org", WithTime(t0))
	require.NoError(t, err)
	var sec bytes.Buffer
	require.NoError(t, plain.WriteSecretKey(&sec))
	_, err = ParseSigner(sec.Bytes(), "b.key")
	require.NoError(t, err)
}
