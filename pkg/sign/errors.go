package sign

import (
	"errors"
	"fmt"
)

// Sentinel errors. Verification failures are returned as *VerificationError,
// which wraps one of the first six; errors.Is matches them.
var (
	ErrBadSignature      = errors.New("sign: bad signature")
	ErrUnknownSigner     = errors.New("sign: no key in the keyring made this signature")
	ErrSignerNotAccepted = errors.New("sign: signer is not in the accepted fingerprint list")
	ErrWeakHash          = errors.New("sign: signature uses a weak hash algorithm")
	ErrKeyRevoked        = errors.New("sign: signing key is revoked")
	ErrKeyExpired        = errors.New("sign: signing key had expired when the signature was made")

	ErrMalformed          = errors.New("sign: malformed OpenPGP data")
	ErrSecretKey          = errors.New("sign: secret key given where a public key is expected")
	ErrNotSecretKey       = errors.New("sign: public key given where a secret key is expected")
	ErrPassphraseRequired = errors.New("sign: secret key is encrypted and no passphrase was given")
	ErrWrongPassphrase    = errors.New("sign: wrong passphrase")
	ErrInvalidFingerprint = errors.New("sign: invalid fingerprint")
)

// VerificationError reports a signature that was checked and rejected. Its
// VerificationFailed method tells the CLI to exit with status 1 rather than 2.
type VerificationError struct {
	Result *Result
	err    error // one of the verification sentinels
}

func (e *VerificationError) Error() string {
	return fmt.Sprintf("%s: %s", e.Result.Signature, e.Result.Message())
}

// Unwrap returns the sentinel for the failure, e.g. ErrBadSignature.
func (e *VerificationError) Unwrap() error { return e.err }

// VerificationFailed marks the error as a verification verdict (exit 1).
func (e *VerificationError) VerificationFailed() bool { return true }
