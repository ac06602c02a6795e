package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/sign"
)

func init() {
	register(command{name: "attestation", summary: "verify or sign in-toto attestations (SLSA VSA, provenance)", run: runAttestation})
}

const attestationUsage = `Usage:
  verify-release attestation verify STATEMENT --key PUBKEY [--subject FILE]... [flags]
  verify-release attestation sign STATEMENT --key SECKEY [-o SIG]

An attestation is an in-toto Statement v1 file (e.g.
verification_summary.intoto.json) with an armored detached OpenPGP signature
beside it (STATEMENT.asc); see docs/attestations.md.

'verify' checks the signature against PUBKEY (and --fingerprint, if given),
that the statement is well formed, and that each --subject FILE is named in
it (by base name) with the same sha256. A verification summary recording
verificationResult FAILED is reported and exits 1.

'sign' writes STATEMENT.asc (or -o SIG) with the secret key SECKEY; the
passphrase comes from $VERIFY_RELEASE_KEY_PASSPHRASE (see --passphrase-env)
or --passphrase-file, never from a flag value.

Examples:
  verify-release attestation verify results/libntlm/1.8/verification_summary.intoto.json \
      --key verifier.key.pub --subject libntlm-1.8.tar.gz
  verify-release attestation verify provenance.intoto.json --key verifier.key.pub --json
  verify-release attestation sign verification_summary.intoto.json --key verifier.key

Exit codes: 0 verified (or signed), 1 verification failed, 2 error.
`

type attestationOptions struct {
	key          string
	sig          string
	out          string
	subjects     multiFlag
	fingerprints multiFlag
	allowExpired bool
	asJSON       bool
	pass         passphraseFlags
}

func runAttestation(ctx context.Context, c *cli, args []string) error {
	var o attestationOptions
	fs := newFlagSet(c, "attestation", attestationUsage)
	fs.StringVar(&o.key, "key", "", "verify: public key `FILE`; sign: secret key FILE")
	fs.StringVar(&o.sig, "signature", "", "verify: signature `FILE` (default STATEMENT.asc)")
	fs.StringVar(&o.out, "o", "", "sign: write the signature to `SIG` (default STATEMENT.asc)")
	fs.Var(&o.subjects, "subject", "verify: check `FILE` against the statement's subjects (repeatable)")
	fs.Var(&o.fingerprints, "fingerprint", "verify: accept only the full key fingerprint `FPR` (repeatable)")
	fs.BoolVar(&o.allowExpired, "allow-expired-key", false, "verify: accept a signature by a key that had expired when it signed")
	fs.BoolVar(&o.asJSON, "json", false, "verify: print the result as JSON")
	o.pass.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (pos[0] != "verify" && pos[0] != "sign") {
		return usagef("attestation", "want 'attestation verify STATEMENT' or 'attestation sign STATEMENT'")
	}
	if o.key == "" {
		return usagef("attestation", "--key is required")
	}
	if pos[0] == "sign" {
		return attestationSign(ctx, c, &o, pos[1])
	}
	return attestationVerify(ctx, c, &o, pos[1])
}

func attestationVerify(ctx context.Context, c *cli, o *attestationOptions, statement string) error {
	for _, f := range o.fingerprints {
		if _, err := sign.ParseFingerprint(f); err != nil {
			return usagef("attestation", "--fingerprint: %v", err)
		}
	}
	sig := o.sig
	if sig == "" {
		sig = statement + ".asc"
	}
	kr, err := sign.ReadKeyring(o.key)
	if err != nil {
		return err
	}
	opts := []sign.Option{sign.WithFingerprints(o.fingerprints...)}
	if o.allowExpired {
		opts = append(opts, sign.AllowExpiredKey())
	}
	v, err := attest.VerifyStatement(ctx, kr, statement, sig, o.subjects, opts...)
	if v != nil {
		if o.asJSON {
			if perr := printJSON(c.Stdout, "attestation", v); perr != nil {
				return perr
			}
		} else {
			printVerified(c.Stdout, statement, v, err == nil)
		}
	}
	return err
}

func printVerified(w io.Writer, statement string, v *attest.Verified, ok bool) {
	verdict := "verified"
	if !ok {
		verdict = "NOT verified"
	}
	fmt.Fprintf(w, "%s: %s\n", statement, verdict)
	if v.Signature != nil {
		fmt.Fprintf(w, "  %-14s %s\n", "signature:", signatureVerdict(v.Signature.Status, signerOf(v.Signature), v.Signature.KeyExpired, v.Signature.AcceptedExpiredKey))
	}
	if v.PredicateType != "" {
		fmt.Fprintf(w, "  %-14s %s\n", "predicate:", v.PredicateType)
	}
	if v.VerificationResult != "" {
		fmt.Fprintf(w, "  %-14s %s\n", "result:", v.VerificationResult)
	}
	for _, s := range v.Subjects {
		fmt.Fprintf(w, "  %-14s %s sha256:%s\n", "subject ok:", s.File, s.SHA256)
	}
}

func attestationSign(ctx context.Context, c *cli, o *attestationOptions, statement string) error {
	data, err := os.ReadFile(statement)
	if err != nil {
		return err
	}
	if _, err := attest.ParseStatement(data, statement); err != nil {
		return err
	}
	s, err := loadSigner(c, o.key, &o.pass, time.Time{})
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = statement + ".asc"
	}
	f, err := os.Open(statement)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := atomicfile.Write(out, func(w io.Writer) error { return s.SignDetached(ctx, w, f) }); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s: signed by %s\n", out, s.Fingerprint())
	return nil
}
