package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gitlab.com/verify-release/verify-release/pkg/digest"
	"gitlab.com/verify-release/verify-release/pkg/sign"
)

// Verification failures, wrapped in *VerificationError.
var (
	ErrSubjectMissing  = errors.New("attest: file is not a subject of the statement")
	ErrSubjectMismatch = errors.New("attest: file digest differs from the statement's subject")
	ErrResultFailed    = errors.New("attest: the statement records verificationResult FAILED")
)

// VerificationError is a statement that was checked and rejected; the CLI
// maps it to exit status 1.
type VerificationError struct {
	Statement string
	Detail    string
	err       error
}

func (e *VerificationError) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.Statement, e.err, e.Detail)
}

// Unwrap returns the sentinel.
func (e *VerificationError) Unwrap() error { return e.err }

// VerificationFailed marks a verification verdict (exit 1).
func (e *VerificationError) VerificationFailed() bool { return true }

// SubjectCheck is the outcome for one file given to VerifyStatement.
type SubjectCheck struct {
	File   string `json:"file"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Verified is what VerifyStatement found.
type Verified struct {
	Statement *Statement   `json:"-"`
	Signature *sign.Result `json:"signature"`
	// PredicateType of the statement, and VerificationResult when it is a
	// verification summary.
	PredicateType      string         `json:"predicate_type"`
	VerificationResult string         `json:"verification_result,omitempty"`
	Subjects           []SubjectCheck `json:"subjects,omitempty"`
}

// VerifyStatement checks the detached OpenPGP signature sigPath over the
// statement file, parses the statement, and checks that each file in
// subjectFiles is a subject (matched by base name) with the same sha256. A
// verification summary recording FAILED is also rejected. Rejections are
// *VerificationError or *sign.VerificationError; unreadable or malformed
// input is a plain error naming the file.
func VerifyStatement(ctx context.Context, kr *sign.Keyring, statementPath, sigPath string, subjectFiles []string, opts ...sign.Option) (*Verified, error) {
	sres, err := sign.Verify(ctx, kr, statementPath, sigPath, opts...)
	if err != nil {
		return &Verified{Signature: sres}, err
	}
	data, err := os.ReadFile(statementPath)
	if err != nil {
		return nil, err
	}
	st, err := ParseStatement(data, statementPath)
	if err != nil {
		return nil, err
	}
	v := &Verified{Statement: st, Signature: sres, PredicateType: st.PredicateType}
	if st.PredicateType == PredicateVSA {
		var p struct {
			VerificationResult string `json:"verificationResult"`
		}
		if err := json.Unmarshal(st.Predicate, &p); err != nil {
			return nil, fmt.Errorf("statement %s: %w: predicate: %v", statementPath, ErrMalformed, err)
		}
		v.VerificationResult = p.VerificationResult
	}
	for _, f := range subjectFiles {
		sum, err := digest.File(ctx, f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		var found *Subject
		for i := range st.Subject {
			if st.Subject[i].Name == name {
				found = &st.Subject[i]
				break
			}
		}
		if found == nil {
			return v, &VerificationError{Statement: statementPath, err: ErrSubjectMissing, Detail: fmt.Sprintf("no subject named %q (file %s)", name, f)}
		}
		if want := found.Digest["sha256"]; want != sum {
			return v, &VerificationError{Statement: statementPath, err: ErrSubjectMismatch,
				Detail: fmt.Sprintf("%s has sha256 %s, statement says %s", f, sum, want)}
		}
		v.Subjects = append(v.Subjects, SubjectCheck{File: f, Name: name, SHA256: sum})
	}
	if v.VerificationResult == resultFailed {
		return v, &VerificationError{Statement: statementPath, err: ErrResultFailed, Detail: "the signature is valid, but the release did not verify"}
	}
	return v, nil
}
