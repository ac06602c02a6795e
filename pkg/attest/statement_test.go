package attest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.intoto.json golden files")

func libntlmRun() *Run {
	return &Run{
		Name: "libntlm", Version: "1.8", VerifierVersion: "0.1.0",
		RecipePath:   "recipes/libntlm/1.8.toml",
		RecipeSHA256: strings.Repeat("ab", 32),
		PublishedURL: "https://download.savannah.nongnu.org/releases/libntlm/libntlm-1.8.tar.gz",
		Artifacts: []Artifact{
			{Name: "libntlm-1.8.tar.gz", Kind: KindDist, SHA256: strings.Repeat("cd", 32), Rebuilt: strings.Repeat("cd", 32), Reproduced: true},
			{Name: "libntlm-1.8-src.tar.gz", Kind: KindSrc, SHA256: "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca",
				Expected: "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca", Rebuilt: "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca", Reproduced: true},
		},
		Signature:  &Signature{Verified: true, Fingerprint: "B1D2BD1375BECB784CF4F8C4D73CF638C53C06BE"},
		Repository: "https://gitlab.com/gsasl/libntlm.git", Tag: "v1.8", Commit: strings.Repeat("0123456789", 4),
		ImageRef: "docker.io/library/debian:trixie-20241111", ImageDigest: "sha256:" + strings.Repeat("ef", 32),
		Tools:        map[string]string{"gzip": "1.13", "tar": "1.35", "autoconf": "2.72"},
		TimeVerified: time.Date(2026, 11, 22, 6, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
}

// golden compares got with testdata/name (written with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run 'go test ./pkg/attest -update' to create it")
	assert.Equal(t, string(want), string(got))
}

// jqCanonical re-encodes with jq -S -c (sorted keys, compact): an
// independent canonical form.
func jqCanonical(t *testing.T, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatalf("jq is required (CI=%q): %v", os.Getenv("CI"), err)
	}
	cmd := exec.CommandContext(context.Background(), "jq", "-S", "-c", ".")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

func TestVerificationSummaryPassed(t *testing.T) {
	st, err := VerificationSummary(libntlmRun())
	require.NoError(t, err)
	b, err := st.Encode()
	require.NoError(t, err)
	golden(t, "verification_summary.intoto.json", b)
	assert.Equal(t, string(jqCanonical(t, b)), string(b), "keys sorted, no whitespace, trailing newline")

	// Same input, same bytes (maps iterate randomly).
	for range 5 {
		st2, err := VerificationSummary(libntlmRun())
		require.NoError(t, err)
		b2, err := st2.Encode()
		require.NoError(t, err)
		require.Equal(t, b, b2)
	}

	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, "https://in-toto.io/Statement/v1", doc["_type"])
	assert.Equal(t, "https://slsa.dev/verification_summary/v1", doc["predicateType"])
	p := doc["predicate"].(map[string]any)
	assert.Equal(t, "PASSED", p["verificationResult"])
	assert.Equal(t, "2026-11-22T05:00:00Z", p["timeVerified"], "UTC")
	assert.Equal(t, "1.0", p["slsaVersion"])
	assert.Equal(t, []any{"VERIFY_RELEASE_REPRODUCED_DIST", "VERIFY_RELEASE_REPRODUCED_SRC", "VERIFY_RELEASE_SIGNATURE"}, p["verifiedLevels"])
	for _, l := range p["verifiedLevels"].([]any) {
		assert.False(t, strings.HasPrefix(l.(string), "SLSA_"), "custom levels must not use the SLSA_ prefix")
	}
	assert.Equal(t, map[string]any{"uri": "recipes/libntlm/1.8.toml", "digest": map[string]any{"sha256": strings.Repeat("ab", 32)}}, p["policy"])
	assert.Equal(t, map[string]any{"id": "https://gitlab.com/verify-release/verify-release", "version": map[string]any{"verify-release": "0.1.0"}}, p["verifier"])
	subj := doc["subject"].([]any)
	require.Len(t, subj, 2)
	assert.Equal(t, "libntlm-1.8-src.tar.gz", subj[0].(map[string]any)["name"], "subjects sorted by name")
}

func TestVerificationSummaryFailed(t *testing.T) {
	cases := map[string]func(r *Run){
		"not-reproduced":  func(r *Run) { r.Artifacts[0].Reproduced = false },
		"pin-mismatch":    func(r *Run) { r.Artifacts[1].Expected = strings.Repeat("00", 32) },
		"bad-signature":   func(r *Run) { r.Signature.Verified = false },
		"no-rebuild-file": func(r *Run) { r.Artifacts[0].Rebuilt, r.Artifacts[0].Reproduced = "", false },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r := libntlmRun()
			mutate(r)
			st, err := VerificationSummary(r)
			require.NoError(t, err, "a failed run still gets a statement")
			var p VSA
			require.NoError(t, json.Unmarshal(st.Predicate, &p))
			assert.Equal(t, "FAILED", p.VerificationResult)
			assert.Len(t, st.Subject, 2)
		})
	}
	r := libntlmRun()
	r.Artifacts[0].Reproduced = false
	st, err := VerificationSummary(r)
	require.NoError(t, err)
	var p VSA
	require.NoError(t, json.Unmarshal(st.Predicate, &p))
	assert.Equal(t, []string{"VERIFY_RELEASE_REPRODUCED_SRC", "VERIFY_RELEASE_SIGNATURE"}, p.VerifiedLevels, "only passed checks are levels")
}

func TestVerificationSummaryInvalid(t *testing.T) {
	r := libntlmRun()
	r.TimeVerified = time.Time{}
	_, err := VerificationSummary(r)
	require.ErrorIs(t, err, ErrInvalid)

	r = libntlmRun()
	r.Artifacts[0].SHA256 = "XYZ"
	_, err = VerificationSummary(r)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "libntlm-1.8.tar.gz")

	r = libntlmRun()
	for i := range r.Artifacts {
		r.Artifacts[i].SHA256 = ""
	}
	_, err = VerificationSummary(r)
	require.ErrorIs(t, err, ErrNoSubjects)
}

func TestProvenance(t *testing.T) {
	st, err := ProvenanceStatement(libntlmRun())
	require.NoError(t, err)
	b, err := st.Encode()
	require.NoError(t, err)
	golden(t, "provenance.intoto.json", b)
	assert.Equal(t, string(jqCanonical(t, b)), string(b))

	var doc struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			BuildDefinition struct {
				BuildType            string               `json:"buildType"`
				ExternalParameters   map[string]any       `json:"externalParameters"`
				ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct{ ID string } `json:"builder"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, "https://slsa.dev/provenance/v1", doc.PredicateType)
	bd := doc.Predicate.BuildDefinition
	assert.Equal(t, BuildTypeRecipe, bd.BuildType)
	assert.Equal(t, "https://gitlab.com/gsasl/libntlm.git", bd.ExternalParameters["repository"])
	assert.Equal(t, "v1.8", bd.ExternalParameters["tag"])
	require.Len(t, bd.ResolvedDependencies, 2)
	assert.Equal(t, "git+https://gitlab.com/gsasl/libntlm.git@refs/tags/v1.8", bd.ResolvedDependencies[0].URI)
	assert.Equal(t, map[string]string{"gitCommit": strings.Repeat("0123456789", 4)}, bd.ResolvedDependencies[0].Digest)
	assert.Equal(t, "oci://docker.io/library/debian:trixie-20241111", bd.ResolvedDependencies[1].URI)
	assert.Equal(t, "1.13", bd.ResolvedDependencies[1].Annotations["tool:gzip"])
	assert.Equal(t, VerifierID, doc.Predicate.RunDetails.Builder.ID)

	r := libntlmRun()
	r.Commit = "v1.8"
	_, err = ProvenanceStatement(r)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestCanonicalIndependentOfStructOrder(t *testing.T) {
	type ab struct {
		B string `json:"b"`
		A string `json:"a"`
	}
	got, err := Canonical(map[string]any{"z": []any{ab{"<b>", "&"}}, "a": 1})
	require.NoError(t, err)
	assert.Equal(t, `{"a":1,"z":[{"a":"&","b":"<b>"}]}`, string(got))
}

func TestParseStatementErrors(t *testing.T) {
	for name, data := range map[string]string{
		"garbage":    "not json",
		"wrong-type": `{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"x","predicate":{}}`,
		"no-subject": `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}`,
		"unknown":    `{"_type":"https://in-toto.io/Statement/v1","extra":1}`,
	} {
		_, err := ParseStatement([]byte(data), "x.intoto.json")
		require.ErrorIs(t, err, ErrMalformed, name)
		assert.Contains(t, err.Error(), "x.intoto.json", name)
	}
}
