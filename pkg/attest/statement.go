package attest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Type and predicate type URIs.
const (
	StatementType        = "https://in-toto.io/Statement/v1"
	PredicateVSA         = "https://slsa.dev/verification_summary/v1"
	PredicateProvenance  = "https://slsa.dev/provenance/v1"
	VerifierID           = "https://gitlab.com/verify-release/verify-release"
	BuildTypeRecipe      = "https://gitlab.com/verify-release/verify-release/buildtypes/recipe/v1"
	SummaryFile          = "verification_summary.intoto.json"
	ProvenanceFile       = "provenance.intoto.json"
	verifierVersionKey   = "verify-release"
	resultPassed         = "PASSED"
	resultFailed         = "FAILED"
	slsaVersion          = "1.0"
	levelReproducedSrc   = "VERIFY_RELEASE_REPRODUCED_SRC"
	levelReproducedDist  = "VERIFY_RELEASE_REPRODUCED_DIST"
	levelEquivalentSrc   = "VERIFY_RELEASE_EQUIVALENT_SRC"
	levelEquivalentDist  = "VERIFY_RELEASE_EQUIVALENT_DIST"
	annotationAccepted   = "accepted_differences"
	annotationEnv        = "environment"
	levelSignature       = "VERIFY_RELEASE_SIGNATURE"
	levelRecipeDigest    = "VERIFY_RELEASE_RECIPE_DIGEST"
	annotationToolPrefix = "tool:"
	// annotationPackages lists the image's installed packages.
	annotationPackages = "packages"
)

// Sentinel errors.
var (
	ErrNoSubjects = errors.New("attest: no artifact with a sha256 digest to name as subject")
	ErrInvalid    = errors.New("attest: invalid input")
	ErrMalformed  = errors.New("attest: malformed statement")
)

// Kind says which verified level an artifact counts towards.
type Kind string

// Artifact kinds.
const (
	KindSrc  Kind = "src"  // a source tarball re-created from the git tag (git archive-like)
	KindDist Kind = "dist" // a distribution tarball (make dist-like) re-created from the tag
)

// Artifact is one published file and what the run found about it.
type Artifact struct {
	Name string // file name, e.g. "libntlm-1.8-src.tar.gz"; the subject name
	Kind Kind
	// SHA256 is the hex digest of the published file.
	SHA256 string
	// Expected is the digest pinned in the recipe ("" if none); a mismatch
	// fails the run.
	Expected string
	// Rebuilt is the digest of the re-created file ("" if the rebuild did
	// not produce one); it is the provenance subject.
	Rebuilt string
	// Reproduced reports that the re-created file is byte-identical.
	Reproduced bool
	// Equivalent reports that the re-created file differs but every
	// difference is accepted; Accepted lists them with their reasons.
	Equivalent bool
	Accepted   []AcceptedDifference
}

// AcceptedDifference is one difference of an EQUIVALENT artifact and the
// reason it was accepted; it is recorded in the summary's policy
// annotations ("accepted_differences").
type AcceptedDifference struct {
	Artifact string `json:"artifact"`
	Member   string `json:"member,omitempty"`
	Class    string `json:"class"`
	// Rule is the 1-based [[accept]] entry; 0 for the metadata policy.
	Rule   int    `json:"rule,omitempty"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Signature is the upstream signature check of the published files.
type Signature struct {
	Verified    bool
	Fingerprint string // signer primary key fingerprint
}

// Run is the input the runner fills after verifying one release. The
// statements are a pure function of it.
type Run struct {
	Name, Version string
	// VerifierVersion is verify-release's version (main.version).
	VerifierVersion string
	// RecipePath is the recipe as given in the policy URI (e.g.
	// "recipes/libntlm/1.8.toml") and RecipeSHA256 its digest.
	RecipePath, RecipeSHA256 string
	// PublishedURL is where the release is published (resourceUri).
	PublishedURL string
	Artifacts    []Artifact
	// Signature is nil when no upstream signature was checked.
	Signature *Signature
	// Source of the rebuild.
	Repository, Tag, Commit string
	// Environment names the recipe environment the build artifacts were
	// re-created in ([[envs]] name, or "default" for one [env]); "" when
	// no artifact was built.
	Environment string
	// Image used for the rebuild: reference without digest and its
	// "sha256:..." manifest digest.
	ImageRef, ImageDigest string
	// Tools maps tool names to versions found in the image.
	Tools map[string]string
	// Packages are the image's installed packages as its package manager
	// reports them ("name=version", dpkg's view).
	Packages []string
	// Debs are the locked .debs an archive environment was built from.
	Debs []Deb
	// TimeVerified is when the run finished; passed in, never read from
	// the clock here.
	TimeVerified time.Time
	// Optional: attestations the run consumed, and SLSA levels of
	// dependencies.
	InputAttestations []ResourceDescriptor
	DependencyLevels  map[string]int
}

// Deb is one .deb of an archive environment.
type Deb struct {
	Distro, Name, Version, Architecture, SHA256 string
}

// Passed reports whether the run verifies: at least one artifact, every
// artifact reproduced and matching its pinned digest, and the upstream
// signature (if checked) verified.
func (r *Run) Passed() bool {
	if len(r.Artifacts) == 0 {
		return false
	}
	for _, a := range r.Artifacts {
		if !(a.Reproduced || a.Equivalent) || a.SHA256 == "" || (a.Expected != "" && !strings.EqualFold(a.Expected, a.SHA256)) {
			return false
		}
	}
	return r.Signature == nil || r.Signature.Verified
}

// Levels returns the verified levels, sorted: each appears only when its
// check passed, also in a FAILED run.
func (r *Run) Levels() []string {
	kinds := map[Kind][]Artifact{}
	for _, a := range r.Artifacts {
		kinds[a.Kind] = append(kinds[a.Kind], a)
	}
	all := func(as []Artifact, ok func(Artifact) bool) bool {
		for _, a := range as {
			if !ok(a) {
				return false
			}
		}
		return len(as) > 0
	}
	reproduced := func(a Artifact) bool { return a.Reproduced }
	equivalent := func(a Artifact) bool { return a.Reproduced || a.Equivalent }
	levels := []string{}
	for _, k := range []struct {
		kind                   Kind
		reproduced, equivalent string
	}{{KindSrc, levelReproducedSrc, levelEquivalentSrc}, {KindDist, levelReproducedDist, levelEquivalentDist}} {
		switch {
		case all(kinds[k.kind], reproduced):
			levels = append(levels, k.reproduced)
		case all(kinds[k.kind], equivalent):
			// A custom level: the published bytes are the re-created
			// ones up to the accepted differences listed in the policy
			// annotations.
			levels = append(levels, k.equivalent)
		}
	}
	if r.Signature != nil && r.Signature.Verified {
		levels = append(levels, levelSignature)
	}
	pinned := len(r.Artifacts) > 0
	for _, a := range r.Artifacts {
		if a.Expected == "" || !strings.EqualFold(a.Expected, a.SHA256) {
			pinned = false
		}
	}
	if pinned {
		levels = append(levels, levelRecipeDigest)
	}
	sort.Strings(levels)
	return levels
}

// Statement is an in-toto Statement v1.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject names an artifact by digest.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ResourceDescriptor is the in-toto ResourceDescriptor (the fields used here).
type ResourceDescriptor struct {
	URI         string            `json:"uri,omitempty"`
	Digest      map[string]string `json:"digest,omitempty"`
	Name        string            `json:"name,omitempty"`
	Annotations map[string]any    `json:"annotations,omitempty"`
}

// VSA is the predicate of https://slsa.dev/verification_summary/v1.
type VSA struct {
	Verifier           Verifier             `json:"verifier"`
	TimeVerified       string               `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	DependencyLevels   map[string]int       `json:"dependencyLevels,omitempty"`
	SLSAVersion        string               `json:"slsaVersion"`
}

// Verifier identifies verify-release.
type Verifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func checkDigest(what, d string) error {
	if !hexSHA256.MatchString(d) {
		return fmt.Errorf("%w: %s: sha256 %q is not 64 lower-case hex digits", ErrInvalid, what, d)
	}
	return nil
}

// VerificationSummary builds the SLSA verification summary statement for
// run; a failed run gets one with verificationResult FAILED.
func VerificationSummary(run *Run) (*Statement, error) {
	if run.Name == "" || run.Version == "" {
		return nil, fmt.Errorf("%w: name and version are required", ErrInvalid)
	}
	if run.TimeVerified.IsZero() {
		return nil, fmt.Errorf("%w: TimeVerified is required", ErrInvalid)
	}
	if run.RecipePath == "" {
		return nil, fmt.Errorf("%w: RecipePath is required", ErrInvalid)
	}
	if err := checkDigest("recipe "+run.RecipePath, run.RecipeSHA256); err != nil {
		return nil, err
	}
	var subjects []Subject
	for _, a := range run.Artifacts {
		if a.SHA256 == "" {
			continue
		}
		if err := checkDigest("artifact "+a.Name, a.SHA256); err != nil {
			return nil, err
		}
		subjects = append(subjects, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
	}
	if len(subjects) == 0 {
		return nil, ErrNoSubjects
	}
	result := resultFailed
	if run.Passed() {
		result = resultPassed
	}
	p := VSA{
		Verifier:           verifier(run),
		TimeVerified:       run.TimeVerified.UTC().Format(time.RFC3339),
		ResourceURI:        run.PublishedURL,
		Policy:             policy(run),
		InputAttestations:  run.InputAttestations,
		VerificationResult: result,
		VerifiedLevels:     run.Levels(),
		DependencyLevels:   run.DependencyLevels,
		SLSAVersion:        slsaVersion,
	}
	return newStatement(subjects, PredicateVSA, p)
}

// policy names the recipe; the accepted differences of equivalent
// artifacts are its annotations.
func policy(run *Run) ResourceDescriptor {
	p := ResourceDescriptor{URI: run.RecipePath, Digest: map[string]string{"sha256": run.RecipeSHA256}}
	var acc []AcceptedDifference
	for _, a := range run.Artifacts {
		if a.Equivalent {
			acc = append(acc, a.Accepted...)
		}
	}
	if len(acc) > 0 || run.Environment != "" {
		p.Annotations = map[string]any{}
	}
	if len(acc) > 0 {
		p.Annotations[annotationAccepted] = acc
	}
	if run.Environment != "" {
		p.Annotations[annotationEnv] = run.Environment
	}
	return p
}

func verifier(run *Run) Verifier {
	v := Verifier{ID: VerifierID}
	if run.VerifierVersion != "" {
		v.Version = map[string]string{verifierVersionKey: run.VerifierVersion}
	}
	return v
}

// Provenance predicate (https://slsa.dev/provenance/v1).
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition describes the rebuild.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ExternalParameters are the inputs a user chose.
type ExternalParameters struct {
	Repository string             `json:"repository"`
	Tag        string             `json:"tag"`
	Recipe     ResourceDescriptor `json:"recipe"`
	// Environment is the recipe environment of the build artifacts.
	Environment string `json:"environment,omitempty"`
}

// RunDetails names the builder.
type RunDetails struct {
	Builder  Verifier       `json:"builder"`
	Metadata *BuildMetadata `json:"metadata,omitempty"`
}

// BuildMetadata holds the run's end time.
type BuildMetadata struct {
	FinishedOn string `json:"finishedOn,omitempty"`
}

var gitCommit = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// ProvenanceStatement builds the SLSA provenance statement for the rebuild:
// subjects are the re-created artifacts (Artifact.Rebuilt).
func ProvenanceStatement(run *Run) (*Statement, error) {
	if run.Repository == "" || run.Tag == "" {
		return nil, fmt.Errorf("%w: Repository and Tag are required for provenance", ErrInvalid)
	}
	if !gitCommit.MatchString(run.Commit) {
		return nil, fmt.Errorf("%w: git commit %q is not a full lower-case hex object name", ErrInvalid, run.Commit)
	}
	if err := checkDigest("recipe "+run.RecipePath, run.RecipeSHA256); err != nil {
		return nil, err
	}
	var subjects []Subject
	for _, a := range run.Artifacts {
		if a.Rebuilt == "" {
			continue
		}
		if err := checkDigest("rebuilt artifact "+a.Name, a.Rebuilt); err != nil {
			return nil, err
		}
		subjects = append(subjects, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.Rebuilt}})
	}
	if len(subjects) == 0 {
		return nil, ErrNoSubjects
	}
	deps := []ResourceDescriptor{{
		URI:    "git+" + run.Repository + "@refs/tags/" + run.Tag,
		Digest: map[string]string{"gitCommit": run.Commit},
	}}
	if run.ImageRef != "" {
		img := ResourceDescriptor{URI: "oci://" + strings.TrimPrefix(run.ImageRef, "oci://"), Name: "image"}
		if run.ImageDigest != "" {
			d, ok := strings.CutPrefix(run.ImageDigest, "sha256:")
			if !ok || checkDigest("image "+run.ImageRef, d) != nil {
				return nil, fmt.Errorf("%w: image digest %q is not sha256:<64 hex>", ErrInvalid, run.ImageDigest)
			}
			img.Digest = map[string]string{"sha256": d}
		}
		if len(run.Tools) > 0 {
			img.Annotations = map[string]any{}
			for tool, v := range run.Tools {
				img.Annotations[annotationToolPrefix+tool] = v
			}
		}
		if len(run.Packages) > 0 {
			if img.Annotations == nil {
				img.Annotations = map[string]any{}
			}
			img.Annotations[annotationPackages] = append([]string(nil), run.Packages...)
		}
		deps = append(deps, img)
	}
	for _, d := range run.Debs {
		if err := checkDigest("deb "+d.Name, d.SHA256); err != nil {
			return nil, err
		}
		deps = append(deps, ResourceDescriptor{
			URI:    "pkg:deb/" + d.Distro + "/" + d.Name + "@" + url.QueryEscape(d.Version) + "?arch=" + d.Architecture,
			Name:   d.Name + "_" + d.Version + "_" + d.Architecture + ".deb",
			Digest: map[string]string{"sha256": d.SHA256},
		})
	}
	p := Provenance{
		BuildDefinition: BuildDefinition{
			BuildType: BuildTypeRecipe,
			ExternalParameters: ExternalParameters{
				Repository:  run.Repository,
				Tag:         run.Tag,
				Recipe:      ResourceDescriptor{URI: run.RecipePath, Digest: map[string]string{"sha256": run.RecipeSHA256}},
				Environment: run.Environment,
			},
			ResolvedDependencies: deps,
		},
		RunDetails: RunDetails{Builder: verifier(run)},
	}
	if !run.TimeVerified.IsZero() {
		p.RunDetails.Metadata = &BuildMetadata{FinishedOn: run.TimeVerified.UTC().Format(time.RFC3339)}
	}
	return newStatement(subjects, PredicateProvenance, p)
}

func newStatement(subjects []Subject, predicateType string, predicate any) (*Statement, error) {
	sort.SliceStable(subjects, func(i, j int) bool { return subjects[i].Name < subjects[j].Name })
	raw, err := json.Marshal(predicate)
	if err != nil {
		return nil, fmt.Errorf("attest: encoding predicate: %w", err)
	}
	return &Statement{Type: StatementType, Subject: subjects, PredicateType: predicateType, Predicate: raw}, nil
}

// Canonical encodes v as canonical JSON: object keys sorted by code point
// (encoding/json's map order), no insignificant whitespace, no HTML
// escaping. It is RFC 8785 (JCS) for the values used here (strings,
// integers, no floats), except that encoding/json writes U+2028/U+2029 as
// \u escapes. The same input always gives the same bytes.
func Canonical(v any) ([]byte, error) {
	first, err := marshalNoHTML(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(first))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return marshalNoHTML(generic)
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Encode returns the statement file contents: canonical JSON and a newline.
func (s *Statement) Encode() ([]byte, error) {
	b, err := Canonical(s)
	if err != nil {
		return nil, fmt.Errorf("attest: encoding statement: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseStatement decodes an in-toto Statement v1; name is used in errors.
func ParseStatement(data []byte, name string) (*Statement, error) {
	var s Statement
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("statement %s: %w: %v", name, ErrMalformed, err)
	}
	if s.Type != StatementType {
		return nil, fmt.Errorf("statement %s: %w: _type is %q, want %q", name, ErrMalformed, s.Type, StatementType)
	}
	if len(s.Subject) == 0 {
		return nil, fmt.Errorf("statement %s: %w: no subject", name, ErrMalformed)
	}
	if s.PredicateType == "" {
		return nil, fmt.Errorf("statement %s: %w: no predicateType", name, ErrMalformed)
	}
	return &s, nil
}
