package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/audit"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// SchemaVersion names the report.json schema written by this package
// (docs/schema/report.json, docs/cli.md). It changes only when a field
// changes meaning or is removed.
const SchemaVersion = "verify-release/report/v1"

// Status is the outcome for one artifact, or for a whole run.
type Status string

const (
	// Reproduced: the re-created artifact has the expected sha256.
	Reproduced Status = "REPRODUCED"
	// Equivalent: the bytes differ, but every difference is accepted (by
	// a recipe's [[accept]] entry, with its reason, or because it is
	// archive metadata or compression); see Artifact.Verdict.
	Equivalent Status = "EQUIVALENT"
	// Mismatch: the artifact was re-created but its bytes differ (the
	// verdict DIFFERENT).
	Mismatch Status = "MISMATCH"
	// Error: the artifact could not be re-created (or the run failed).
	Error Status = "ERROR"
	// Skipped: not attempted (e.g. filtered out with --artifact).
	Skipped Status = "SKIPPED"
	// Rejected: the artifact's upstream signature was rejected (bad
	// signature, unknown or revoked signer, weak hash, expired key).
	Rejected Status = "SIGNATURE_REJECTED"
)

// Report is the record of one run of one recipe.
type Report struct {
	Schema    string     `json:"schema"`
	Tool      Tool       `json:"tool"`
	Recipe    Recipe     `json:"recipe"`
	Source    Source     `json:"source"`
	Env       *Env       `json:"env,omitempty"`
	Artifacts []Artifact `json:"artifacts"`
	// Result is REPRODUCED when every attempted artifact reproduced,
	// EQUIVALENT when every one reproduced or is equivalent, ERROR when
	// the run or any artifact failed with an error, else MISMATCH (some
	// artifact differs or its signature was rejected).
	Result Status `json:"result"`
	// Error is a run-level failure (moved tag, tool pin mismatch, ...).
	Error string `json:"error,omitempty"`
	// Steps are the commands run, in order, with their timings.
	Steps []Step `json:"steps,omitempty"`
	// Warnings are conditions the user should know about (an unpinned
	// image resolved at run time, a missing published copy, ...).
	Warnings []string `json:"warnings,omitempty"`
}

// Tool names the verifier.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Recipe identifies the recipe a run used.
type Recipe struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
}

// Source is the upstream source that was used.
type Source struct {
	Git        string    `json:"git"`
	Tag        string    `json:"tag"`
	Commit     string    `json:"commit"`
	CommitTime time.Time `json:"commit_time,omitzero"`
	// Repo is the local repository or cache mirror read.
	Repo string `json:"repo,omitempty"`
}

// Env is the build environment that was used.
type Env struct {
	// Name is the recipe environment ([[envs]] name, or "default" for a
	// recipe's one [env]).
	Name    string `json:"name"`
	Backend string `json:"backend"`
	// Image is the recipe's image reference; ImageDigest the manifest
	// digest actually used; ImageID the engine's image (config) id.
	Image       string `json:"image,omitempty"`
	ImageDigest string `json:"image_digest,omitempty"`
	ImageID     string `json:"image_id,omitempty"`
	// Pinned is false when the digest was resolved at run time.
	Pinned bool `json:"pinned"`
	// SetupImage is the cached image holding the result of env.setup.
	SetupImage string `json:"setup_image,omitempty"`
	// Tools are the probed tool versions; Packages the distro package list.
	Tools    map[string]string `json:"tools,omitempty"`
	Packages []string          `json:"packages,omitempty"`
	// User is the user build steps ran as (env.user; root by default).
	User string `json:"user,omitempty"`
	// Archive describes an environment built from a distribution archive.
	Archive *Archive `json:"archive,omitempty"`
}

// Archive is an environment built from a distribution archive's locked
// packages; Env.Packages holds what dpkg reports installed.
type Archive struct {
	Distro    string `json:"distro"`
	Suite     string `json:"suite"`
	EnvDigest string `json:"env_digest"`
	// Packages is the number of locked .debs; Downloaded how many this
	// run fetched (0 on a warm run).
	Packages   int `json:"packages"`
	Downloaded int `json:"downloaded"`
}

// Artifact is the outcome for one artifact.
type Artifact struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Method string `json:"method"`
	// Build names the artifact whose build made this file, when that is
	// another artifact (recipe key build).
	Build string `json:"build,omitempty"`
	// From is where a build artifact's build started: "git" (the pinned
	// commit), "src" (the git-archive tarball) or "dist" (the published
	// tarball itself); empty for a git-archive artifact.
	From string `json:"from,omitempty"`
	// Env names the recipe environment a build artifact was re-created
	// in (Report.Env.Name); empty for a git-archive artifact.
	Env string `json:"env,omitempty"`
	// SourceDateEpoch is the SOURCE_DATE_EPOCH of the build that made a
	// build artifact (the recipe's source_date_epoch, or the commit time).
	SourceDateEpoch int64  `json:"source_date_epoch,omitempty"`
	Expected        string `json:"expected_sha256"`
	Actual          string `json:"actual_sha256,omitempty"`
	Status          Status `json:"status"`
	Error           string `json:"error,omitempty"`
	// Reason says why a SKIPPED artifact was not attempted.
	Reason string `json:"reason,omitempty"`
	// Output is the re-created file's name in OUT/NAME/VERSION/ (with --out).
	Output    string     `json:"output,omitempty"`
	Published *Published `json:"published,omitempty"`
	Diff      *Diff      `json:"diff,omitempty"`
	// Verdict is REPRODUCED, EQUIVALENT or DIFFERENT with every accepted
	// difference and its reason; absent when there was nothing to judge
	// (no published copy, an error).
	Verdict *verdict.Verdict `json:"verdict,omitempty"`
	// Audit is the generated-file audit of the published copy of a build
	// artifact: its members that are not in git and where each came from
	// (pkg/audit); absent when there was no published copy or git tree.
	Audit     *audit.Report `json:"audit,omitempty"`
	Signature *Signature    `json:"signature,omitempty"`
	Seconds   float64       `json:"seconds"`
}

// Published is the published copy used for the diff and the signature.
type Published struct {
	URL    string `json:"url,omitempty"`
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Diff summarises the per-member diff of the re-created artifact against
// the published copy.
type Diff struct {
	// File is the full diff (text): its name in OUT/NAME/VERSION/ (with --out).
	File string `json:"file,omitempty"`
	// Members are the member paths that differ, sorted.
	Members []string `json:"members"`
	// Summary is a one-line description.
	Summary string `json:"summary"`
	// Classes counts the differences per class, content first.
	Classes []tarball.ClassCount `json:"classes,omitempty"`
	// Hints name the generator versions on both sides when version
	// stamps differ.
	Hints []string `json:"hints,omitempty"`
}

// NotChecked is the Signature.Status of a signature that could not be
// checked because it (or the published copy it signs) could not be
// fetched; Signature.Error says why.
const NotChecked = "NOT_CHECKED"

// Signature is the outcome of checking the upstream signature.
type Signature struct {
	// Status is a sign.Status (good, good-expired-key, bad, ...),
	// NOT_CHECKED or ERROR.
	Status     string    `json:"status"`
	File       string    `json:"file,omitempty"`
	Signer     string    `json:"signer,omitempty"`
	SigningKey string    `json:"signing_key,omitempty"`
	Created    time.Time `json:"created,omitzero"`
	Hash       string    `json:"hash,omitempty"`
	Error      string    `json:"error,omitempty"`
	// KeyExpired is when the signing key expired, when it had expired
	// before the signature was made; AcceptedExpiredKey says the run
	// accepted such a signature (--allow-expired-key).
	KeyExpired         time.Time `json:"key_expired,omitzero"`
	AcceptedExpiredKey bool      `json:"accepted_expired_key,omitempty"`
}

// Step is one command run during the build.
type Step struct {
	Artifact string  `json:"artifact,omitempty"`
	Name     string  `json:"name"`
	Command  string  `json:"command,omitempty"`
	ExitCode int     `json:"exit_code"`
	Seconds  float64 `json:"seconds"`
}

// Finish computes Result from the artifacts and the run error.
func (r *Report) Finish() {
	r.Schema = SchemaVersion
	if r.Artifacts == nil {
		r.Artifacts = []Artifact{}
	}
	for i := range r.Artifacts {
		if d := r.Artifacts[i].Diff; d != nil && d.Members == nil {
			d.Members = []string{}
		}
	}
	switch {
	case r.Error != "":
		r.Result = Error
		return
	case len(r.Artifacts) == 0:
		r.Result = Error
		return
	}
	r.Result = Reproduced
	for _, a := range r.Artifacts {
		switch a.Status {
		case Error:
			r.Result = Error
			return
		case Mismatch, Rejected:
			r.Result = Mismatch
		case Equivalent:
			if r.Result == Reproduced {
				r.Result = Equivalent
			}
		}
	}
}

// Write writes r as indented JSON.
func (r *Report) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ErrSchema is matched when a report has an unknown schema version.
var ErrSchema = errors.New("report: unsupported schema version")

// Read decodes a report, rejecting unknown fields and schema versions.
func Read(r io.Reader) (*Report, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("report: decoding: %w", err)
	}
	if rep.Schema != SchemaVersion {
		return nil, fmt.Errorf("%w %q (this verify-release reads %q)", ErrSchema, rep.Schema, SchemaVersion)
	}
	return &rep, nil
}

// ReadFile reads the report at path.
func ReadFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	rep, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}
