package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signer makes armored detached signatures with an OpenPGP secret key.
type Signer struct {
	name   string
	entity *openpgp.Entity
	now    func() time.Time
}

// SignerOption configures ReadSigner, ParseSigner and GenerateKey.
type SignerOption func(*signerOptions)

type signerOptions struct {
	passphrase []byte
	now        func() time.Time
	lifetime   time.Duration
}

// WithPassphrase unlocks an encrypted secret key (ReadSigner) or encrypts a
// new one (GenerateKey). An empty passphrase means none.
func WithPassphrase(p []byte) SignerOption {
	return func(o *signerOptions) { o.passphrase = p }
}

// WithTime fixes the creation time of signatures (and of generated keys),
// e.g. to the verification time recorded in an attestation, which makes
// Ed25519 signatures byte-for-byte reproducible. The default is the clock.
func WithTime(t time.Time) SignerOption {
	return func(o *signerOptions) { o.now = func() time.Time { return t } }
}

// WithKeyLifetime makes GenerateKey set an expiry; zero (the default) means
// the key does not expire.
func WithKeyLifetime(d time.Duration) SignerOption {
	return func(o *signerOptions) { o.lifetime = d }
}

func makeSignerOptions(opts []SignerOption) signerOptions {
	o := signerOptions{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// ReadSigner reads an armored or binary secret key file. An encrypted key
// needs WithPassphrase; a public key is ErrNotSecretKey.
func ReadSigner(path string, opts ...SignerOption) (*Signer, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSigner(data, path, opts...)
}

// ParseSigner is ReadSigner on data; name is used in error messages.
func ParseSigner(data []byte, name string, opts ...SignerOption) (*Signer, error) {
	o := makeSignerOptions(opts)
	el, err := parseEntities(data, name, armorSecretKey)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("secret key %s: %w: holds %d keys, want exactly one", name, ErrMalformed, len(el))
	}
	e := el[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("secret key %s: %w", name, ErrNotSecretKey)
	}
	if e.PrivateKey.Dummy() {
		return nil, fmt.Errorf("secret key %s: %w: the primary secret key is a stub (gpg --export-secret-subkeys); not supported", name, ErrMalformed)
	}
	if e.PrivateKey.Encrypted {
		if len(o.passphrase) == 0 {
			return nil, fmt.Errorf("secret key %s: %w", name, ErrPassphraseRequired)
		}
		if err := e.DecryptPrivateKeys(o.passphrase); err != nil {
			if errors.Is(err, pgperrors.ErrKeyIncorrect) || isChecksumError(err) {
				return nil, fmt.Errorf("secret key %s: %w", name, ErrWrongPassphrase)
			}
			return nil, fmt.Errorf("secret key %s: unlocking: %w", name, err)
		}
	}
	s := &Signer{name: name, entity: e, now: o.now}
	if _, ok := e.SigningKey(s.now()); !ok {
		return nil, fmt.Errorf("secret key %s: %w: no usable signing key (expired, revoked or not signing-capable)", name, ErrMalformed)
	}
	return s, nil
}

func isChecksumError(err error) bool {
	var se pgperrors.StructuralError
	return errors.As(err, &se)
}

// GenerateKey makes a new Ed25519 signing key (v4, EdDSA, with a Curve25519
// encryption subkey, readable by GnuPG 2.2) for "name <email>".
func GenerateKey(name, email string, opts ...SignerOption) (*Signer, error) {
	o := makeSignerOptions(opts)
	if o.lifetime < 0 || o.lifetime > time.Duration(1<<32-1)*time.Second {
		return nil, fmt.Errorf("sign: key lifetime %s out of range", o.lifetime)
	}
	cfg := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		DefaultHash:     crypto.SHA512,
		Time:            o.now,
		KeyLifetimeSecs: uint32(o.lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("sign: generating key: %w", err)
	}
	s := &Signer{name: "(generated)", entity: e, now: o.now}
	if len(o.passphrase) > 0 {
		if err := e.EncryptPrivateKeys(o.passphrase, cfg); err != nil {
			return nil, fmt.Errorf("sign: encrypting key: %w", err)
		}
	}
	return s, nil
}

// Fingerprint returns the primary key fingerprint (upper-case hex).
func (s *Signer) Fingerprint() string { return fingerprint(s.entity.PrimaryKey) }

// UserID returns the primary user ID.
func (s *Signer) UserID() string {
	if id := s.entity.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

// WritePublicKey writes the armored public key.
func (s *Signer) WritePublicKey(w io.Writer) error {
	aw, err := armor.Encode(w, armorPublicKey, nil)
	if err != nil {
		return err
	}
	if err := s.entity.Serialize(aw); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// WriteSecretKey writes the armored secret key, encrypted if it was
// generated with a passphrase.
func (s *Signer) WriteSecretKey(w io.Writer) error {
	aw, err := armor.Encode(w, armorSecretKey, nil)
	if err != nil {
		return err
	}
	if err := s.entity.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// SignDetached writes an armored detached signature (SHA-512, binary
// document) over data to w.
func (s *Signer) SignDetached(ctx context.Context, w io.Writer, data io.Reader) error {
	if s.entity.PrivateKey != nil && s.entity.PrivateKey.Encrypted {
		return fmt.Errorf("secret key %s: %w", s.name, ErrPassphraseRequired)
	}
	noSalt := false
	cfg := &packet.Config{
		DefaultHash: crypto.SHA512,
		Time:        s.now,
		// Ed25519 is deterministic; without the random salt notation the
		// same key, time and data give the same signature bytes.
		NonDeterministicSignaturesViaNotation: &noSalt,
	}
	cr := &ctxReader{ctx: ctx, r: data}
	if err := openpgp.ArmoredDetachSign(w, s.entity, cr, cfg); err != nil {
		if cr.err != nil {
			return cr.err
		}
		return fmt.Errorf("signing with %s: %w", s.name, err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteKeyFiles writes s's secret key to path (mode 0600) and its public key
// to path+".pub" (mode 0644), each atomically. Existing files are not
// overwritten.
func WriteKeyFiles(s *Signer, path string) error {
	pub := path + ".pub"
	for _, p := range []string{path, pub} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s already exists; not overwriting a key", p)
		}
	}
	if err := writeFileAtomic(path, 0o600, s.WriteSecretKey); err != nil {
		return err
	}
	if err := writeFileAtomic(pub, 0o644, s.WritePublicKey); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// writeFileAtomic is atomicfile.Write with a chosen mode: the temporary file
// is created 0600 (os.CreateTemp), so a secret key is never readable by
// others, not even briefly.
func writeFileAtomic(dest string, perm os.FileMode, fn func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", dest, err)
	}
	name := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	if err := fn(f); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	if err := os.Rename(name, dest); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	return nil
}
