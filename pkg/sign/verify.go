package sign

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Status is the verdict on one signature.
type Status string

// Statuses. Only StatusGood (and StatusGoodExpiredKey with AllowExpiredKey)
// pass.
const (
	StatusGood           Status = "good"
	StatusGoodExpiredKey Status = "good-expired-key" // cryptographically good, key expired when signing (gpg: EXPKEYSIG)
	StatusBad            Status = "bad"
	StatusUnknownSigner  Status = "unknown-signer"
	StatusNotAccepted    Status = "signer-not-accepted"
	StatusWeakHash       Status = "weak-hash"
	StatusRevoked        Status = "revoked-key"
)

// Result describes the verification of one detached signature.
type Result struct {
	Status    Status `json:"status"`
	File      string `json:"file"`
	Signature string `json:"signature"`
	// PrimaryFingerprint is the signer's primary key; SigningKeyFingerprint
	// is the key (often a subkey) that made the signature.
	PrimaryFingerprint    string    `json:"primary_fingerprint,omitempty"`
	SigningKeyFingerprint string    `json:"signing_key_fingerprint,omitempty"`
	IssuerKeyID           string    `json:"issuer_key_id,omitempty"`
	UserID                string    `json:"user_id,omitempty"`
	Created               time.Time `json:"created,omitzero"`
	Hash                  string    `json:"hash,omitempty"`
	// KeyExpired is when the signing key expired, if it had expired when
	// the signature was made.
	KeyExpired time.Time `json:"key_expired,omitzero"`
	// AcceptedExpiredKey is set when StatusGoodExpiredKey was accepted
	// because AllowExpiredKey was given.
	AcceptedExpiredKey bool `json:"accepted_expired_key,omitempty"`
	// Reason explains a failure in a few words.
	Reason string `json:"reason,omitempty"`
}

// Message is a one-line human description of the verdict.
func (r *Result) Message() string {
	signer := r.PrimaryFingerprint
	if r.UserID != "" {
		signer = fmt.Sprintf("%q (%s)", r.UserID, r.PrimaryFingerprint)
	}
	made := ""
	if !r.Created.IsZero() {
		made = " made " + r.Created.Format(time.RFC3339)
	}
	switch r.Status {
	case StatusGood:
		return fmt.Sprintf("good signature%s by %s", made, signer)
	case StatusGoodExpiredKey:
		if r.AcceptedExpiredKey {
			return fmt.Sprintf("good signature%s by %s, key expired %s, accepted (expired keys allowed)", made, signer, r.KeyExpired.Format("2006-01-02"))
		}
		return fmt.Sprintf("good signature%s by %s, but the key had expired on %s; refresh the key file (a current copy of the signer's key may carry a later expiry date)",
			made, signer, r.KeyExpired.Format("2006-01-02"))
	case StatusBad:
		return fmt.Sprintf("BAD signature (claims key %s): %s", firstNonEmpty(r.SigningKeyFingerprint, r.IssuerKeyID), r.Reason)
	case StatusUnknownSigner:
		return fmt.Sprintf("signature%s by key %s, which is not in the keyring", made, firstNonEmpty(r.SigningKeyFingerprint, r.IssuerKeyID))
	case StatusNotAccepted:
		return fmt.Sprintf("good signature%s by %s, but that key is not in the accepted fingerprint list", made, signer)
	case StatusWeakHash:
		return fmt.Sprintf("signature%s uses the %s hash, which is not accepted (SHA-1, MD5 and RIPEMD-160 are broken or weak)", made, r.Hash)
	case StatusRevoked:
		return fmt.Sprintf("signature%s by %s, whose key has been revoked", made, signer)
	}
	return string(r.Status)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Option configures Verify.
type Option func(*options)

type options struct {
	fingerprints []string
	allowExpired bool
}

// WithFingerprints restricts accepted signers to these full fingerprints. An
// entry may name the primary key or the signing subkey. Without this option
// every key in the keyring is accepted.
func WithFingerprints(fprs ...string) Option {
	return func(o *options) { o.fingerprints = append(o.fingerprints, fprs...) }
}

// AllowExpiredKey accepts a good signature whose key had expired when it was
// made (Result.Status stays StatusGoodExpiredKey).
func AllowExpiredKey() Option {
	return func(o *options) { o.allowExpired = true }
}

// Verify checks the detached signature sigFile (armored or binary) over file,
// which is streamed. It returns the result and nil when the signature is
// accepted, the result and a *VerificationError when it is rejected, and a
// plain error (naming the file) for unreadable or malformed input.
//
// Policy: no web of trust; validity is judged at the signature's creation
// time, except that any revocation of the primary key or signing subkey
// rejects it; SHA-1, MD5 and RIPEMD-160 hashes are rejected. If sigFile holds
// several signatures, the best verdict wins.
func Verify(ctx context.Context, kr *Keyring, file, sigFile string, opts ...Option) (*Result, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	accepted := make([]string, 0, len(o.fingerprints))
	for _, f := range o.fingerprints {
		fp, err := ParseFingerprint(f)
		if err != nil {
			return nil, err
		}
		accepted = append(accepted, fp)
	}
	raw, err := readSmallFile(sigFile)
	if err != nil {
		return nil, err
	}
	sigs, err := splitSignatures(raw, sigFile)
	if err != nil {
		return nil, err
	}
	var best *Result
	for _, s := range sigs {
		r, err := verifyOne(ctx, kr, file, sigFile, s, accepted)
		if err != nil {
			return nil, err
		}
		r.File, r.Signature = file, sigFile
		if best == nil || rank(r.Status) < rank(best.Status) {
			best = r
		}
	}
	best.AcceptedExpiredKey = o.allowExpired && best.Status == StatusGoodExpiredKey
	if err := verdict(best, o.allowExpired); err != nil {
		return best, err
	}
	return best, nil
}

// rank orders statuses from best to worst for choosing among several
// signatures; an unknown signer ranks last as it says nothing about us.
func rank(s Status) int {
	order := []Status{StatusGood, StatusGoodExpiredKey, StatusNotAccepted, StatusWeakHash, StatusRevoked, StatusBad, StatusUnknownSigner}
	return slices.Index(order, s)
}

func verdict(r *Result, allowExpired bool) error {
	var sentinel error
	switch r.Status {
	case StatusGood:
		return nil
	case StatusGoodExpiredKey:
		if allowExpired {
			return nil
		}
		sentinel = ErrKeyExpired
	case StatusBad:
		sentinel = ErrBadSignature
	case StatusUnknownSigner:
		sentinel = ErrUnknownSigner
	case StatusNotAccepted:
		sentinel = ErrSignerNotAccepted
	case StatusWeakHash:
		sentinel = ErrWeakHash
	case StatusRevoked:
		sentinel = ErrKeyRevoked
	default:
		sentinel = ErrBadSignature
	}
	return &VerificationError{Result: r, err: sentinel}
}

// rawSig is one signature packet, serialized on its own, plus the hash
// algorithm octet read from its header.
type rawSig struct {
	packet []byte
	hashID byte
}

// splitSignatures decodes armor if present and returns each signature packet.
func splitSignatures(data []byte, name string) ([]rawSig, error) {
	body := data
	if isArmored(data) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w: bad ASCII armor: %v", name, ErrMalformed, err)
		}
		if block.Type != armorSignature {
			return nil, fmt.Errorf("signature %s: %w: armored block is %q, want %q", name, ErrMalformed, block.Type, armorSignature)
		}
		body, err = io.ReadAll(block.Body)
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w: bad ASCII armor: %s", name, ErrMalformed, describe(err))
		}
	}
	or := packet.NewOpaqueReader(bytes.NewReader(body))
	var sigs []rawSig
	for {
		op, err := or.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("signature %s: %w: not an OpenPGP signature (%s)", name, ErrMalformed, describe(err))
		}
		if op.Tag != 2 {
			return nil, fmt.Errorf("signature %s: %w: found OpenPGP packet type %d, want a signature (type 2)", name, ErrMalformed, op.Tag)
		}
		var hashID byte
		switch {
		case len(op.Contents) > 16 && (op.Contents[0] == 2 || op.Contents[0] == 3):
			hashID = op.Contents[16]
		case len(op.Contents) > 3:
			hashID = op.Contents[3]
		default:
			return nil, fmt.Errorf("signature %s: %w: truncated signature packet", name, ErrMalformed)
		}
		var buf bytes.Buffer
		if err := op.Serialize(&buf); err != nil {
			return nil, fmt.Errorf("signature %s: %w: %v", name, ErrMalformed, err)
		}
		sigs = append(sigs, rawSig{packet: buf.Bytes(), hashID: hashID})
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("signature %s: %w: no signature packets", name, ErrMalformed)
	}
	return sigs, nil
}

// OpenPGP hash algorithm IDs that are rejected (RFC 9580, 9.5).
var weakHashIDs = map[byte]string{1: "MD5", 2: "SHA1", 3: "RIPEMD160"}

func verifyOne(ctx context.Context, kr *Keyring, file, sigFile string, s rawSig, accepted []string) (*Result, error) {
	if name, ok := weakHashIDs[s.hashID]; ok && s.hashID != 2 {
		// go-crypto cannot even parse these; reject without more detail.
		return &Result{Status: StatusWeakHash, Hash: name, Reason: name + " hash"}, nil
	}
	p, err := packet.Read(bytes.NewReader(s.packet))
	if err != nil {
		return nil, fmt.Errorf("signature %s: %w: %s", sigFile, ErrMalformed, describe(err))
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return nil, fmt.Errorf("signature %s: %w: not a signature packet", sigFile, ErrMalformed)
	}
	if sig.SigType != packet.SigTypeBinary && sig.SigType != packet.SigTypeText {
		return nil, fmt.Errorf("signature %s: %w: signature type 0x%02x is not a document signature", sigFile, ErrMalformed, uint8(sig.SigType))
	}
	r := &Result{Created: sig.CreationTime.UTC(), Hash: hashName(sig.Hash)}
	if sig.IssuerKeyId != nil {
		r.IssuerKeyID = fmt.Sprintf("%016X", *sig.IssuerKeyId)
	}
	if len(sig.IssuerFingerprint) > 0 {
		r.SigningKeyFingerprint = fmt.Sprintf("%X", sig.IssuerFingerprint)
	}
	if sig.IssuerKeyId == nil {
		return nil, fmt.Errorf("signature %s: %w: no issuer key ID", sigFile, ErrMalformed)
	}
	keys := kr.entities.KeysById(*sig.IssuerKeyId)
	if len(sig.IssuerFingerprint) > 0 {
		keys = slices.DeleteFunc(keys, func(k openpgp.Key) bool { return !bytes.Equal(k.PublicKey.Fingerprint, sig.IssuerFingerprint) })
	}
	if len(keys) == 0 {
		r.Status = StatusUnknownSigner
		return r, nil
	}
	describeKey(r, keys[0])

	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	signed := &ctxReader{ctx: ctx, r: f}
	// Judge key validity at the signature's creation time, so that a key
	// that expired later does not invalidate old signatures, and a key
	// already expired then is reported as such (not as a bad signature).
	cfg := &packet.Config{Time: func() time.Time { return sig.CreationTime }}
	vsig, signer, verr := openpgp.VerifyDetachedSignature(kr.entities, signed, bytes.NewReader(s.packet), cfg)
	if signed.err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, signed.err)
	}
	switch {
	case verr == nil:
		r.Status = StatusGood
	case errors.Is(verr, pgperrors.ErrKeyExpired), errors.Is(verr, pgperrors.ErrSignatureExpired):
		r.Status = StatusGoodExpiredKey
	case errors.Is(verr, pgperrors.ErrKeyRevoked):
		r.Status = StatusRevoked
	case errors.Is(verr, pgperrors.ErrUnknownIssuer):
		r.Status = StatusUnknownSigner
		r.Reason = "the key is not marked as a signing key"
		return r, nil
	default:
		var ue pgperrors.UnsupportedError
		if errors.As(verr, &ue) {
			return nil, fmt.Errorf("signature %s: %w", sigFile, verr)
		}
		r.Status = StatusBad
		r.Reason = verr.Error()
		return r, nil
	}
	if vsig == nil || signer == nil {
		r.Status = StatusBad
		r.Reason = "no verified signature"
		return r, nil
	}
	key, ok := findKey(signer, vsig)
	if !ok {
		r.Status = StatusBad
		r.Reason = "verified key not found in its entity"
		return r, nil
	}
	describeKey(r, key)
	if exp, ok := expiry(key); ok && !exp.After(sig.CreationTime) {
		r.KeyExpired = exp.UTC()
	}
	if r.Status == StatusGoodExpiredKey && r.KeyExpired.IsZero() && sigPredatesKey(key, sig) {
		r.Status = StatusBad
		r.Reason = "the signature is dated before its key was created"
		return r, nil
	}
	// Any revocation rejects the key, whatever its date: a revoked key's
	// old signatures are no longer trusted (gpgv: REVKEYSIG).
	if len(signer.Revocations) > 0 || (key.PublicKey != signer.PrimaryKey && len(key.Revocations) > 0) {
		r.Status = StatusRevoked
	}
	if r.Status == StatusRevoked {
		return r, nil
	}
	if _, weak := weakHashIDs[s.hashID]; weak {
		r.Status = StatusWeakHash
		return r, nil
	}
	if len(accepted) > 0 && !slices.Contains(accepted, r.PrimaryFingerprint) && !slices.Contains(accepted, r.SigningKeyFingerprint) {
		r.Status = StatusNotAccepted
	}
	return r, nil
}

// sigPredatesKey reports a signature time before the signing key (or its
// primary key) was created, which go-crypto reports as an expired key.
func sigPredatesKey(key openpgp.Key, sig *packet.Signature) bool {
	return sig.CreationTime.Before(key.PublicKey.CreationTime) || sig.CreationTime.Before(key.Entity.PrimaryKey.CreationTime)
}

// describeKey fills the signer fields of r from key.
func describeKey(r *Result, key openpgp.Key) {
	r.PrimaryFingerprint = fingerprint(key.Entity.PrimaryKey)
	r.SigningKeyFingerprint = fingerprint(key.PublicKey)
	if id := key.Entity.PrimaryIdentity(); id != nil {
		r.UserID = id.Name
	}
}

// findKey returns the key of e that made sig.
func findKey(e *openpgp.Entity, sig *packet.Signature) (openpgp.Key, bool) {
	for _, k := range (openpgp.EntityList{e}).KeysById(*sig.IssuerKeyId) {
		if len(sig.IssuerFingerprint) == 0 || bytes.Equal(sig.IssuerFingerprint, k.PublicKey.Fingerprint) {
			return k, true
		}
	}
	return openpgp.Key{}, false
}

// expiry returns the earliest expiry of the signing key and, for a subkey,
// its primary key.
func expiry(key openpgp.Key) (time.Time, bool) {
	var out time.Time
	add := func(pk *packet.PublicKey, sig *packet.Signature) {
		if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
			return
		}
		t := pk.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
		if out.IsZero() || t.Before(out) {
			out = t
		}
	}
	primarySig, _ := key.Entity.PrimarySelfSignature()
	add(key.Entity.PrimaryKey, primarySig)
	if key.PublicKey != key.Entity.PrimaryKey {
		add(key.PublicKey, key.SelfSignature)
	}
	return out, !out.IsZero()
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA224:
		return "SHA224"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	case crypto.SHA3_256:
		return "SHA3-256"
	case crypto.SHA3_512:
		return "SHA3-512"
	}
	return strings.ReplaceAll(h.String(), "-", "")
}

// ctxReader stops reading when ctx is done and remembers the first read
// error, so that I/O failures are not mistaken for bad signatures.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = err
	}
	return n, err
}
