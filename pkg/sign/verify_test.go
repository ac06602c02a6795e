package sign

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// policyCase is one generated key/signature situation, checked against
// Verify and against the real gpgv on the same files.
type policyCase struct {
	name    string
	keyring []*openpgp.Entity // public keys given to Verify and gpgv
	sig     []byte            // binary signature packet(s)
	data    []byte            // the file Verify checks (defaults to payload)
	opts    []Option

	wantStatus Status
	wantErr    error  // nil: accepted
	wantGPGV   string // gpgv's status keyword on the same inputs
	// signer fingerprints to expect in the result (and in gpgv VALIDSIG)
	wantPrimary, wantSigning string
}

var payload = []byte("libfoo-1.0.tar.gz contents\n")

func policyCases(t *testing.T) []policyCase {
	alice := newEntity(t, "Alice", t0, 0)
	mallory := newEntity(t, "Mallory", t0, 0)
	day := 24 * time.Hour
	fpr := func(e *openpgp.Entity) string { return fingerprint(e.PrimaryKey) }

	withSub := newEntity(t, "Sub", t0, 0)
	sub := addSigningSubkey(t, withSub, t0)
	subFpr := fingerprint(withSub.Subkeys[sub].PublicKey)

	// Expired when the signature was made: key valid for 1 day, signature
	// 10 days later (the libntlm situation).
	expiring := newEntity(t, "Expiring", t0, day)
	// Valid when the signature was made, expired today.
	old := newEntity(t, "Old", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 365*day)

	revokedKey := newEntity(t, "Revoked", t0, 0)
	revokedSig := signRaw(t, revokedKey.PrivateKey, payload, t0.Add(day), crypto.SHA256)
	require.NoError(t, revokedKey.RevokeKey(packet.KeySuperseded, "superseded", &packet.Config{Time: func() time.Time { return t0.Add(2 * day) }}))

	revokedSub := newEntity(t, "RevokedSub", t0, 0)
	rsub := addSigningSubkey(t, revokedSub, t0)
	revokedSubSig := signRaw(t, revokedSub.Subkeys[rsub].PrivateKey, payload, t0.Add(day), crypto.SHA256)
	require.NoError(t, revokedSub.RevokeSubkey(&revokedSub.Subkeys[rsub], packet.KeySuperseded, "superseded", &packet.Config{Time: func() time.Time { return t0.Add(2 * day) }}))

	good := signRaw(t, alice.PrivateKey, payload, t0.Add(day), crypto.SHA256)
	// Patch the hash algorithm octet (v4: version, type, pubkey algo, hash)
	// of a SHA-256 signature; go-crypto cannot make MD5/RIPEMD160 ones.
	patchHash := func(id byte) []byte {
		s := bytes.Clone(good)
		require.Equal(t, byte(8), s[2+3], "header layout: old-format tag, length, then v4 fields")
		s[2+3] = id
		return s
	}

	return []policyCase{
		{name: "good", keyring: []*openpgp.Entity{alice}, sig: good,
			wantStatus: StatusGood, wantGPGV: "GOODSIG", wantPrimary: fpr(alice), wantSigning: fpr(alice)},
		{name: "good-accepted-primary", keyring: []*openpgp.Entity{mallory, alice}, sig: good, opts: []Option{WithFingerprints(strings.ToLower(fpr(alice)))},
			wantStatus: StatusGood, wantGPGV: "GOODSIG", wantPrimary: fpr(alice), wantSigning: fpr(alice)},
		{name: "subkey-accepted-by-primary", keyring: []*openpgp.Entity{withSub},
			sig:  signRaw(t, withSub.Subkeys[sub].PrivateKey, payload, t0.Add(day), crypto.SHA512),
			opts: []Option{WithFingerprints(fpr(withSub))}, wantStatus: StatusGood, wantGPGV: "GOODSIG",
			wantPrimary: fpr(withSub), wantSigning: subFpr},
		{name: "subkey-accepted-by-subkey", keyring: []*openpgp.Entity{withSub},
			sig:  signRaw(t, withSub.Subkeys[sub].PrivateKey, payload, t0.Add(day), crypto.SHA512),
			opts: []Option{WithFingerprints(subFpr)}, wantStatus: StatusGood, wantGPGV: "GOODSIG",
			wantPrimary: fpr(withSub), wantSigning: subFpr},
		{name: "bad-other-file", keyring: []*openpgp.Entity{alice}, sig: good, data: []byte("something else\n"),
			wantStatus: StatusBad, wantErr: ErrBadSignature, wantGPGV: "BADSIG"},
		{name: "unknown-signer", keyring: []*openpgp.Entity{mallory}, sig: good,
			wantStatus: StatusUnknownSigner, wantErr: ErrUnknownSigner, wantGPGV: "ERRSIG"},
		{name: "not-accepted", keyring: []*openpgp.Entity{alice, mallory}, sig: good, opts: []Option{WithFingerprints(fpr(mallory))},
			wantStatus: StatusNotAccepted, wantErr: ErrSignerNotAccepted, wantGPGV: "GOODSIG", wantPrimary: fpr(alice)},
		// gpgv 2.2 still accepts SHA-1 data signatures; we do not.
		{name: "sha1", keyring: []*openpgp.Entity{alice}, sig: signRaw(t, alice.PrivateKey, payload, t0.Add(day), crypto.SHA1),
			wantStatus: StatusWeakHash, wantErr: ErrWeakHash, wantGPGV: "GOODSIG", wantPrimary: fpr(alice)},
		{name: "md5", keyring: []*openpgp.Entity{alice}, sig: patchHash(1),
			wantStatus: StatusWeakHash, wantErr: ErrWeakHash, wantGPGV: "ERRSIG"},
		{name: "ripemd160", keyring: []*openpgp.Entity{alice}, sig: patchHash(3),
			wantStatus: StatusWeakHash, wantErr: ErrWeakHash, wantGPGV: "BADSIG"},
		{name: "revoked-key", keyring: []*openpgp.Entity{revokedKey}, sig: revokedSig,
			wantStatus: StatusRevoked, wantErr: ErrKeyRevoked, wantGPGV: "REVKEYSIG", wantPrimary: fpr(revokedKey)},
		{name: "revoked-subkey", keyring: []*openpgp.Entity{revokedSub}, sig: revokedSubSig,
			wantStatus: StatusRevoked, wantErr: ErrKeyRevoked, wantGPGV: "REVKEYSIG", wantPrimary: fpr(revokedSub)},
		{name: "expired-before-signing", keyring: []*openpgp.Entity{expiring},
			sig:        signRaw(t, expiring.PrivateKey, payload, t0.Add(10*day), crypto.SHA256),
			wantStatus: StatusGoodExpiredKey, wantErr: ErrKeyExpired, wantGPGV: "EXPKEYSIG",
			wantPrimary: fpr(expiring), wantSigning: fpr(expiring)},
		{name: "expired-before-signing-allowed", keyring: []*openpgp.Entity{expiring}, opts: []Option{AllowExpiredKey()},
			sig:        signRaw(t, expiring.PrivateKey, payload, t0.Add(10*day), crypto.SHA256),
			wantStatus: StatusGoodExpiredKey, wantGPGV: "EXPKEYSIG", wantPrimary: fpr(expiring), wantSigning: fpr(expiring)},
		// gpgv judges expiry now (EXPKEYSIG, exit 0); we judge it at signing
		// time, when the key was valid.
		{name: "expired-after-signing", keyring: []*openpgp.Entity{old},
			sig:        signRaw(t, old.PrivateKey, payload, time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), crypto.SHA256),
			wantStatus: StatusGood, wantGPGV: "EXPKEYSIG", wantPrimary: fpr(old), wantSigning: fpr(old)},
		// Dated before the key existed: go-crypto calls that expired; it is bad.
		{name: "predates-key", keyring: []*openpgp.Entity{alice},
			sig:        signRaw(t, alice.PrivateKey, payload, t0.Add(-day), crypto.SHA256),
			wantStatus: StatusBad, wantErr: ErrBadSignature, wantGPGV: "ERRSIG"},
		// Two signatures in one file: one by a stranger, one good.
		{name: "two-signatures", keyring: []*openpgp.Entity{alice},
			sig:        append(signRaw(t, mallory.PrivateKey, payload, t0.Add(day), crypto.SHA256), good...),
			wantStatus: StatusGood, wantGPGV: "ERRSIG", wantPrimary: fpr(alice), wantSigning: fpr(alice)},
	}
}

func TestVerifyPolicy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range policyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			data := tc.data
			if data == nil {
				data = payload
			}
			file := writeFile(t, dir, "libfoo-1.0.tar.gz", data)
			binKeyring := writeFile(t, dir, "keyring.gpg", publicKeyring(t, tc.keyring...))
			// Both encodings must give the same verdict.
			inputs := map[string][2]string{
				"binary": {binKeyring, writeFile(t, dir, "libfoo-1.0.tar.gz.sig", tc.sig)},
				"armored": {
					writeFile(t, dir, "keyring.asc", armored(t, armorPublicKey, publicKeyring(t, tc.keyring...))),
					writeFile(t, dir, "libfoo-1.0.tar.gz.asc", armored(t, armorSignature, tc.sig)),
				},
			}
			for enc, in := range inputs {
				kr, err := ReadKeyring(in[0])
				require.NoError(t, err, enc)
				res, err := Verify(ctx, kr, file, in[1], tc.opts...)
				require.NotNil(t, res, "%s: %v", enc, err)
				assert.Equal(t, tc.wantStatus, res.Status, "%s: %s", enc, res.Message())
				if tc.wantErr == nil {
					require.NoError(t, err, enc)
				} else {
					require.ErrorIs(t, err, tc.wantErr, enc)
					var ve interface{ VerificationFailed() bool }
					require.ErrorAs(t, err, &ve, "verification failures map to exit 1")
					assert.True(t, ve.VerificationFailed())
					assert.Contains(t, err.Error(), in[1], "the error names the signature file")
				}
				if tc.wantPrimary != "" {
					assert.Equal(t, tc.wantPrimary, res.PrimaryFingerprint, enc)
				}
				if tc.wantSigning != "" {
					assert.Equal(t, tc.wantSigning, res.SigningKeyFingerprint, enc)
				}
				assert.Equal(t, time.UTC, res.Created.Location())
			}

			g := runGPGV(t, binKeyring, inputs["binary"][1], file)
			assert.Equal(t, tc.wantGPGV, g.verdict, "gpgv output:\n%s", g.output)
			if tc.wantSigning != "" && (tc.wantStatus == StatusGood || tc.wantStatus == StatusGoodExpiredKey) {
				// VALIDSIG <signing fpr> <date> <ts> <expire> <ver> <rsvd> <pkalgo> <hashalgo> <class> <primary fpr>
				require.Len(t, g.validsig, 10, g.output)
				assert.Equal(t, tc.wantSigning, g.validsig[0])
				assert.Equal(t, tc.wantPrimary, g.validsig[9])
			}
			if tc.name == "sha1" {
				require.Len(t, g.validsig, 10, g.output)
				assert.Equal(t, "2", g.validsig[7], "gpgv confirms hash algorithm 2 (SHA-1)")
			}
		})
	}
}

func TestVerifyExpiredMessage(t *testing.T) {
	e := newEntity(t, "Expiring", t0, 24*time.Hour)
	dir := t.TempDir()
	file := writeFile(t, dir, "f", payload)
	sig := writeFile(t, dir, "f.sig", signRaw(t, e.PrivateKey, payload, t0.Add(48*time.Hour), crypto.SHA256))
	kr, err := ParseKeyring(publicKeyring(t, e), "k.gpg")
	require.NoError(t, err)
	res, err := Verify(context.Background(), kr, file, sig)
	require.ErrorIs(t, err, ErrKeyExpired)
	assert.Equal(t, t0.Add(24*time.Hour), res.KeyExpired)
	assert.Contains(t, err.Error(), "good signature")
	assert.Contains(t, err.Error(), "expired on 2024-01-02")
	assert.Contains(t, err.Error(), "refresh the key file")
}

func TestVerifyInvalidFingerprintOption(t *testing.T) {
	e := newEntity(t, "A", t0, 0)
	kr, err := ParseKeyring(publicKeyring(t, e), "k")
	require.NoError(t, err)
	dir := t.TempDir()
	file := writeFile(t, dir, "f", payload)
	sig := writeFile(t, dir, "f.sig", signRaw(t, e.PrivateKey, payload, t0, crypto.SHA256))
	for _, bad := range []string{"C53C06BE", "D73CF638C53C06BE", strings.Repeat("Z", 40)} {
		_, err := Verify(context.Background(), kr, file, sig, WithFingerprints(bad))
		require.ErrorIs(t, err, ErrInvalidFingerprint, bad)
	}
	fp, err := ParseFingerprint("0xb1d2 bd13 75be cb78 4cf4  f8c4 d73c f638 c53c 06be")
	require.NoError(t, err)
	assert.Equal(t, "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE", fp)
}

func TestVerifyCanceled(t *testing.T) {
	e := newEntity(t, "A", t0, 0)
	kr, err := ParseKeyring(publicKeyring(t, e), "k")
	require.NoError(t, err)
	dir := t.TempDir()
	file := writeFile(t, dir, "f", payload)
	sig := writeFile(t, dir, "f.sig", signRaw(t, e.PrivateKey, payload, t0, crypto.SHA256))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Verify(ctx, kr, file, sig)
	require.ErrorIs(t, err, context.Canceled)
}

// TestBadInput: malformed input is a plain error (exit 2) naming the file,
// never a verification verdict and never a panic.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	alice := newEntity(t, "Alice", t0, 0)
	pub := publicKeyring(t, alice)
	var secret bytes.Buffer
	require.NoError(t, alice.SerializePrivate(&secret, nil))
	file := writeFile(t, dir, "data", payload)
	goodSig := signRaw(t, alice.PrivateKey, payload, t0, crypto.SHA256)
	goodKeyring := writeFile(t, dir, "good.gpg", pub)
	armoredPub := armored(t, armorPublicKey, pub)

	keyCases := []struct {
		name, file string
		data       []byte
		want       error
		msg        string
	}{
		{"garbage-key", "garbage.asc", []byte("this is not a key\n"), ErrMalformed, "not an OpenPGP key"},
		{"empty-key", "empty.gpg", nil, ErrMalformed, "empty"},
		{"truncated-binary-key", "trunc.gpg", pub[:len(pub)/2], ErrMalformed, "truncated"},
		{"truncated-armored-key", "trunc.asc", armoredPub[:len(armoredPub)/2], ErrMalformed, "trunc.asc"},
		{"signature-as-key", "sig-as-key.asc", armored(t, armorSignature, goodSig), ErrMalformed, `armored block is "PGP SIGNATURE"`},
		{"secret-key-as-keyring", "secret.asc", armored(t, armorSecretKey, secret.Bytes()), ErrSecretKey, "secret key given"},
		{"secret-key-binary", "secret.gpg", secret.Bytes(), ErrSecretKey, "secret key given"},
	}
	for _, tc := range keyCases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, tc.file, tc.data)
			_, err := ReadKeyring(p)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}

	kr, err := ReadKeyring(goodKeyring)
	require.NoError(t, err)
	sigCases := []struct {
		name, file string
		data       []byte
		msg        string
	}{
		{"garbage-signature", "garbage.sig", []byte("hello, not a signature at all\n"), "not an OpenPGP signature"},
		{"empty-signature", "empty.sig", nil, "no signature packets"},
		{"key-instead-of-signature", "key.asc", armoredPub, `armored block is "PGP PUBLIC KEY BLOCK", want "PGP SIGNATURE"`},
		{"binary-key-instead-of-signature", "key.sig", pub, "want a signature"},
		{"truncated-signature", "trunc.sig", goodSig[:len(goodSig)-10], "not an OpenPGP signature"},
		{"bad-armor-checksum", "crc.asc", bytes.Replace(armored(t, armorSignature, goodSig), []byte("\n="), []byte("\n=AAAA"), 1), "bad ASCII armor"},
	}
	for _, tc := range sigCases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, dir, tc.file, tc.data)
			res, err := Verify(ctx, kr, file, p)
			require.Error(t, err)
			assert.Nil(t, res)
			require.ErrorIs(t, err, ErrMalformed)
			var ve *VerificationError
			assert.False(t, errors.As(err, &ve), "malformed input is not a verification verdict")
			assert.Contains(t, err.Error(), p)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}

	t.Run("missing-files", func(t *testing.T) {
		_, err := ReadKeyring(filepath.Join(dir, "nope.asc"))
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "nope.asc")
		sig := writeFile(t, dir, "ok.sig", goodSig)
		_, err = Verify(ctx, kr, filepath.Join(dir, "nofile"), sig)
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.Contains(t, err.Error(), "nofile")
	})
}

func TestArmorSplitsConcatenatedKeys(t *testing.T) {
	a, b := newEntity(t, "A", t0, 0), newEntity(t, "B", t0, 0)
	data := append(armored(t, armorPublicKey, publicKeyring(t, a)), armored(t, armorPublicKey, publicKeyring(t, b))...)
	kr, err := ParseKeyring(data, "KEYS")
	require.NoError(t, err)
	assert.Equal(t, []string{fingerprint(a.PrimaryKey), fingerprint(b.PrimaryKey)}, kr.Fingerprints())
}

func ExampleResult_Message() {
	r := &Result{Status: StatusGoodExpiredKey, PrimaryFingerprint: "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE",
		Created: time.Date(2024, 4, 13, 11, 58, 13, 0, time.UTC), KeyExpired: time.Date(2020, 5, 26, 12, 30, 50, 0, time.UTC)}
	fmt.Println(r.Message())
	// Output: good signature made 2024-04-13T11:58:13Z by B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE, but the key had expired on 2020-05-26; refresh the key file (a current copy of the signer's key may carry a later expiry date)
}
