package runner_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/sign"
)

// A run checks the recipe's upstream signature: a good one is recorded, a
// signature over other bytes rejects the artifact.
func TestRunChecksUpstreamSignature(t *testing.T) {
	repo, commit := demoRepo(t)
	pub := t.TempDir()
	sha := sh(t, repo, "git archive --format=tar --prefix=demo-v1.0/ v1.0 | gzip -cn > "+pub+"/demo-1.0-src.tar.gz && sha256sum "+pub+"/demo-1.0-src.tar.gz | cut -c1-64")

	signer, err := sign.GenerateKey("Upstream", "upstream@example.org")
	require.NoError(t, err)
	store := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(store, "keys"), 0o755))
	var pubKey bytes.Buffer
	require.NoError(t, signer.WritePublicKey(&pubKey))
	require.NoError(t, os.WriteFile(filepath.Join(store, "keys", "demo.asc"), pubKey.Bytes(), 0o644))
	signFile := func(content string) {
		var sig bytes.Buffer
		require.NoError(t, signer.SignDetached(context.Background(), &sig, strings.NewReader(content)))
		require.NoError(t, os.WriteFile(filepath.Join(pub, "demo-1.0-src.tar.gz.sig"), sig.Bytes(), 0o644))
	}
	data, err := os.ReadFile(filepath.Join(pub, "demo-1.0-src.tar.gz"))
	require.NoError(t, err)

	r := srcRecipe(t, repo, commit, sha)
	r.Signature = &recipe.Signature{Key: "keys/demo.asc", Fingerprints: []string{signer.Fingerprint()}, Suffix: ".sig"}
	var out string
	run := func() *report.Report {
		out = t.TempDir()
		rep, err := runner.Run(context.Background(), r, runner.WithCacheDir(t.TempDir()), runner.WithPublishedDir(pub), runner.WithStore(recipe.DirStore(store)), runner.WithOutDir(out))
		require.NoError(t, err)
		return rep
	}
	summary := func() string {
		b, err := os.ReadFile(filepath.Join(out, "demo", "1.0", "verification_summary.intoto.json"))
		require.NoError(t, err)
		return string(b)
	}

	signFile(string(data))
	rep := run()
	assert.Equal(t, report.Reproduced, rep.Result)
	s := rep.Artifacts[0].Signature
	require.NotNil(t, s)
	assert.Equal(t, "good", s.Status)
	assert.Equal(t, signer.Fingerprint(), s.Signer)
	assert.Contains(t, summary(), `"verificationResult":"PASSED"`)
	assert.Contains(t, summary(), `"VERIFY_RELEASE_SIGNATURE"`)

	// No signature to fetch: NOT_CHECKED, the run still passes (exit 0),
	// and its attestation agrees: PASSED, without the signature level.
	require.NoError(t, os.Remove(filepath.Join(pub, "demo-1.0-src.tar.gz.sig")))
	rep = run()
	assert.Equal(t, report.Reproduced, rep.Result)
	require.NotNil(t, rep.Artifacts[0].Signature)
	assert.Equal(t, report.NotChecked, rep.Artifacts[0].Signature.Status)
	assert.Contains(t, summary(), `"verificationResult":"PASSED"`)
	assert.NotContains(t, summary(), `"VERIFY_RELEASE_SIGNATURE"`)

	signFile("some other release")
	rep = run()
	assert.Equal(t, report.Mismatch, rep.Result, "a rejected signature fails the run")
	assert.Equal(t, report.Rejected, rep.Artifacts[0].Status)
	assert.Contains(t, rep.Artifacts[0].Error, "upstream signature rejected")
}
