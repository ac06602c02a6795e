package runner

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/sign"
)

// signed reports whether the recipe says artifact name is signed upstream.
func (x *run) signed(name string, a *recipe.Artifact) bool {
	s := x.r.Signature
	if s == nil {
		return false
	}
	if len(s.Artifacts) > 0 {
		return slices.Contains(s.Artifacts, name)
	}
	return a.URL != "" || a.SignatureURL != "" || x.o.publishedDir != ""
}

// checkSignature verifies the upstream signature of an artifact. When the
// artifact reproduced, the re-created file has the published bytes, so
// only the signature needs fetching; otherwise the published copy is
// checked.
func (x *run) checkSignature(ctx context.Context, name string, a *recipe.Artifact, out string, reproduced bool, ra *report.Artifact) {
	if !x.signed(name, a) {
		return
	}
	rs := &report.Signature{}
	ra.Signature = rs
	fail := func(err error) {
		rs.Status = "ERROR"
		rs.Error = err.Error()
		x.warn("artifact %s: signature: %v", name, err)
	}
	// A signature or published copy that cannot be fetched leaves the
	// signature unchecked: said so, with the reason, not as an error.
	notChecked := func(err error) {
		rs.Status = report.NotChecked
		rs.Error = err.Error()
		x.warn("artifact %s: signature not checked: %v", name, err)
	}
	sigURL := a.SignatureURL
	if sigURL == "" && a.URL != "" {
		sigURL = a.URL + x.r.Signature.Suffix
	}
	sigName := path.Base(a.File + x.r.Signature.Suffix)
	if sigURL != "" {
		sigName = path.Base(sigURL)
	}
	sigRel := ""
	if a.Path != "" {
		sigRel = a.Path + x.r.Signature.Suffix
	}
	sigFile, origin, err := x.published(ctx, sigName, sigRel, sigURL, "")
	if err != nil {
		notChecked(err)
		return
	}
	rs.File = origin
	file := out
	if !reproduced {
		pub, _, err := x.published(ctx, a.File, a.Path, a.URL, a.SHA256)
		if err != nil {
			notChecked(err)
			return
		}
		file = pub
	}
	kr, err := x.keyring()
	if err != nil {
		fail(err)
		return
	}
	opts := []sign.Option{sign.WithFingerprints(x.r.Signature.Fingerprints...)}
	if x.o.allowExpired {
		opts = append(opts, sign.AllowExpiredKey())
	}
	res, err := sign.Verify(ctx, kr, file, sigFile, opts...)
	if res != nil {
		rs.Status = string(res.Status)
		rs.Signer = res.PrimaryFingerprint
		rs.SigningKey = res.SigningKeyFingerprint
		rs.Created = res.Created
		rs.Hash = res.Hash
		rs.KeyExpired = res.KeyExpired
		rs.AcceptedExpiredKey = res.AcceptedExpiredKey
	}
	var ve *sign.VerificationError
	switch {
	case errors.As(err, &ve):
		rs.Error = err.Error()
		ra.Status = report.Rejected
		ra.Error = "upstream signature rejected: " + err.Error()
		x.event(name, "signature", "REJECTED: %v", err)
	case err != nil:
		fail(err)
	default:
		x.event(name, "signature", "%s", res.Message())
	}
}

// keyring reads the recipe's signature key from the store (or beside the
// recipe file).
func (x *run) keyring() (*sign.Keyring, error) {
	key := x.r.Signature.Key
	if x.o.store != nil {
		data, err := x.o.store.ReadFile(key)
		if err == nil {
			return sign.ParseKeyring(data, key)
		}
	}
	if x.r.Path == "" || strings.HasPrefix(x.r.Path, "builtin:") {
		return nil, fmt.Errorf("runner: signature key %s: no recipe store to read it from", key)
	}
	// recipes/NAME/VERSION.toml -> recipes/KEY
	return sign.ReadKeyring(filepath.Join(filepath.Dir(filepath.Dir(x.r.Path)), filepath.FromSlash(key)))
}
