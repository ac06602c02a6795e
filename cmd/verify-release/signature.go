package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/sign"
)

func init() {
	register(command{name: "signature", summary: "verify a detached OpenPGP signature against a key file", run: runSignature})
}

const signatureUsage = `Usage:
  verify-release signature verify FILE SIG --key KEYFILE [--fingerprint FPR]... [flags]

Checks the detached OpenPGP signature SIG (armored .asc or binary .sig) over
FILE against the public keys in KEYFILE only (armored or binary; no web of
trust, no keyserver). With --fingerprint, the signer's primary key (or the
signing subkey) must be one of the given full fingerprints.

Rejected: bad signatures, unknown signers, signers not in the list,
SHA-1/MD5/RIPEMD-160 hashes, revoked keys or subkeys, and keys that had
already expired when the signature was made ("good signature, key expired":
refresh the key file, or accept it with --allow-expired-key).

Examples:
  verify-release signature verify libntlm-1.8.tar.gz libntlm-1.8.tar.gz.sig --key recipes/keys/libntlm.asc
  verify-release signature verify libntlm-1.8.tar.gz libntlm-1.8.tar.gz.sig --key recipes/keys/libntlm.asc \
      --fingerprint B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE --allow-expired-key --json

Exit codes: 0 good signature, 1 signature rejected, 2 error (bad input).
`

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type signatureOptions struct {
	key          string
	fingerprints multiFlag
	allowExpired bool
	asJSON       bool
}

func runSignature(ctx context.Context, c *cli, args []string) error {
	var o signatureOptions
	fs := newFlagSet(c, "signature", signatureUsage)
	fs.StringVar(&o.key, "key", "", "public key `FILE` (armored or binary keyring) holding the accepted keys")
	fs.Var(&o.fingerprints, "fingerprint", "accept only the full primary or subkey fingerprint `FPR` (repeatable)")
	fs.BoolVar(&o.allowExpired, "allow-expired-key", false, "accept a good signature from a key that had expired when it signed")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "verify" {
		return usagef("signature", "want 'signature verify FILE SIG --key KEYFILE'")
	}
	if len(pos) != 3 {
		return usagef("signature", "want FILE and SIG, got %d argument(s)", len(pos)-1)
	}
	if o.key == "" {
		return usagef("signature", "--key KEYFILE is required")
	}
	for _, f := range o.fingerprints {
		if _, err := sign.ParseFingerprint(f); err != nil {
			return usagef("signature", "--fingerprint: %v", err)
		}
	}
	kr, err := sign.ReadKeyring(o.key)
	if err != nil {
		return err
	}
	opts := []sign.Option{sign.WithFingerprints(o.fingerprints...)}
	if o.allowExpired {
		opts = append(opts, sign.AllowExpiredKey())
	}
	res, err := sign.Verify(ctx, kr, pos[1], pos[2], opts...)
	if res != nil {
		if o.asJSON {
			if perr := printJSON(c.Stdout, "signature", res); perr != nil {
				return perr
			}
		} else {
			printSignatureResult(c.Stdout, res)
		}
	}
	if errors.Is(err, sign.ErrKeyExpired) {
		return withHint(err, fmt.Sprintf("replace %s with a current export of key %s, or pass --allow-expired-key to accept it", o.key, res.PrimaryFingerprint))
	}
	return err
}

// printJSON writes v, a struct, as indented JSON whose first key is
// "schema": "verify-release/KIND/v1" (docs/cli.md, "JSON").
func printJSON(w io.Writer, kind string, v any) error {
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	body := bytes.TrimSpace(enc.Bytes())
	if len(body) < 2 || body[0] != '{' {
		return fmt.Errorf("JSON output %s is not an object", kind)
	}
	var doc bytes.Buffer
	fmt.Fprintf(&doc, `{"schema":"verify-release/%s/v1"`, kind)
	if len(body) > 2 {
		doc.WriteByte(',')
	}
	doc.Write(body[1:])
	var out bytes.Buffer
	if err := json.Indent(&out, doc.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// statusLabel is the human verdict, in gpgv's terms where they exist.
func statusLabel(s sign.Status) string {
	switch s {
	case sign.StatusGood:
		return "good signature"
	case sign.StatusGoodExpiredKey:
		return "good signature, key expired"
	case sign.StatusBad:
		return "BAD signature"
	case sign.StatusUnknownSigner:
		return "unknown signer"
	case sign.StatusNotAccepted:
		return "signer not accepted"
	case sign.StatusWeakHash:
		return "weak hash algorithm"
	case sign.StatusRevoked:
		return "revoked key"
	}
	return string(s)
}

// signatureVerdict is one line on a signature: the verdict and the key,
// and for a key that had expired whether --allow-expired-key accepted it.
func signatureVerdict(st sign.Status, signer string, expired time.Time, accepted bool) string {
	by := ""
	if signer != "" {
		by = " by " + signer
	}
	switch {
	case st == sign.StatusGoodExpiredKey && accepted:
		return fmt.Sprintf("good signature%s, key expired %s, accepted by --allow-expired-key", by, expired.Format("2006-01-02"))
	case st == sign.StatusGoodExpiredKey:
		return fmt.Sprintf("REJECTED: good signature%s, but the key expired %s (refresh the key file, or pass --allow-expired-key)", by, expired.Format("2006-01-02"))
	case st == sign.StatusGood:
		return "good signature" + by
	}
	return "REJECTED: " + statusLabel(st) + by
}

// signerOf names the key that made r: its primary fingerprint, else the
// signing key's, else the issuer key id the signature claims.
func signerOf(r *sign.Result) string {
	for _, s := range []string{r.PrimaryFingerprint, r.SigningKeyFingerprint} {
		if s != "" {
			return s
		}
	}
	if r.IssuerKeyID != "" {
		return "key id " + r.IssuerKeyID
	}
	return ""
}

func printSignatureResult(w io.Writer, r *sign.Result) {
	fmt.Fprintf(w, "%s: %s\n", r.Signature, signatureVerdict(r.Status, "", r.KeyExpired, r.AcceptedExpiredKey))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-12s %s\n", k+":", v)
		}
	}
	row("file", r.File)
	signer := r.PrimaryFingerprint
	if r.UserID != "" {
		signer += " " + r.UserID
	}
	row("signer", signer)
	if r.SigningKeyFingerprint != r.PrimaryFingerprint {
		row("signing key", r.SigningKeyFingerprint)
	}
	if r.PrimaryFingerprint == "" && r.SigningKeyFingerprint == "" {
		row("issuer", r.IssuerKeyID)
	}
	if !r.Created.IsZero() {
		row("created", r.Created.Format(time.RFC3339))
	}
	row("hash", r.Hash)
	if !r.KeyExpired.IsZero() {
		row("key expired", r.KeyExpired.Format(time.RFC3339))
	}
	row("reason", r.Reason)
}
