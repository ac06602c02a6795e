package sign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// libntlm 1.8 as shipped in Debian trixie (libntlm 1.8-4): the .orig tarball
// equals upstream's libntlm-1.8-src.tar.gz.
const (
	libntlmURL    = "http://deb.debian.org/debian/pool/main/libn/libntlm/libntlm_1.8.orig.tar.gz"
	libntlmSHA256 = "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca"
	libntlmKey    = "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE"
	libntlmSubkey = "A3CC9C870B9D310ABAD4CF2F51722B08FE4745A2"
)

// fetchCached downloads url into the user cache directory once and checks
// its sha256.
func fetchCached(t *testing.T, url, name, sum string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	dir := filepath.Join(cache, "verify-release", "testdata")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	dest := filepath.Join(dir, name)
	if got, err := fileSHA256(dest); err == nil && got == sum {
		return dest
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("cannot download test input %s: %v (this test needs the Debian mirror, or a copy with sha256 %s at %s)", url, err, sum, dest)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cannot download test input %s: HTTP %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	require.NoError(t, err)
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), resp.Body)
	require.NoError(t, err)
	require.NoError(t, tmp.Close())
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		t.Fatalf("downloaded %s has sha256 %s, want %s", url, got, sum)
	}
	require.NoError(t, os.Rename(tmp.Name(), dest))
	return dest
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TestLibntlmExpiredKey checks the real case: Debian's copy of the libntlm
// signing key expired on 2020-05-26, and the 1.8 tarball was signed on
// 2024-04-13 with its signing subkey. gpgv reports EXPKEYSIG (exit 0).
func TestLibntlmExpiredKey(t *testing.T) {
	ctx := context.Background()
	tarball := fetchCached(t, libntlmURL, "libntlm-1.8-src.tar.gz", libntlmSHA256)
	sig := filepath.Join("testdata", "libntlm-1.8-src.tar.gz.asc")
	keyFile := filepath.Join("testdata", "libntlm-signing-key.asc")
	kr, err := ReadKeyring(keyFile)
	require.NoError(t, err)

	res, err := Verify(ctx, kr, tarball, sig, WithFingerprints(libntlmKey))
	require.ErrorIs(t, err, ErrKeyExpired)
	var ve *VerificationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, err.Error(), "refresh the key file")
	assert.Equal(t, StatusGoodExpiredKey, res.Status)
	assert.Equal(t, libntlmKey, res.PrimaryFingerprint)
	assert.Equal(t, libntlmSubkey, res.SigningKeyFingerprint)
	assert.Equal(t, time.Unix(1713009493, 0).UTC(), res.Created)
	assert.Equal(t, "SHA256", res.Hash)
	assert.Equal(t, "2020-05-26", res.KeyExpired.Format("2006-01-02"))
	assert.Equal(t, "Simon Josefsson <simon@josefsson.org>", res.UserID)

	res, err = Verify(ctx, kr, tarball, sig, WithFingerprints(libntlmKey), AllowExpiredKey())
	require.NoError(t, err)
	assert.Equal(t, StatusGoodExpiredKey, res.Status)

	// The recipe keyring is the same key.
	rk, err := ReadKeyring(filepath.Join("..", "..", "recipes", "keys", "libntlm.asc"))
	require.NoError(t, err)
	assert.Equal(t, []string{libntlmKey}, rk.Fingerprints())

	// Same inputs through gpgv (binary keyring made by gpg --dearmor).
	needTool(t, "gpg")
	bin := filepath.Join(t.TempDir(), "libntlm.gpg")
	out, err := runCmd(ctx, "gpg", "--batch", "--homedir", t.TempDir(), "--output", bin, "--dearmor", keyFile)
	require.NoError(t, err, out)
	g := runGPGV(t, bin, sig, tarball)
	assert.Equal(t, "EXPKEYSIG", g.verdict, g.output)
	assert.Equal(t, 0, g.exit)
	require.Len(t, g.validsig, 10, g.output)
	assert.Equal(t, []string{libntlmSubkey, "2024-04-13", "1713009493"}, g.validsig[:3])
	assert.Equal(t, "8", g.validsig[7], "SHA256")
	assert.Equal(t, libntlmKey, g.validsig[9])
	// gpgv's KEYEXPIRED lines give the same (earliest, primary key) expiry.
	assert.Contains(t, g.output, fmt.Sprintf("[GNUPG:] KEYEXPIRED %d\n", res.KeyExpired.Unix()))

	// A flipped byte in the tarball is a bad signature, for gpgv as well.
	data, err := os.ReadFile(tarball)
	require.NoError(t, err)
	data[len(data)/2] ^= 1
	tampered := writeFile(t, t.TempDir(), "libntlm-1.8-src.tar.gz", data)
	res, err = Verify(ctx, kr, tampered, sig, AllowExpiredKey())
	require.ErrorIs(t, err, ErrBadSignature)
	assert.Equal(t, StatusBad, res.Status)
	assert.Equal(t, "BADSIG", runGPGV(t, bin, sig, tampered).verdict)
}

func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	out, err := execCommand(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", name, err)
	}
	return string(out), nil
}
