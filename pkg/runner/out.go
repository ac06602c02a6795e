package runner

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"

	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
)

// ReportFile is the report's name in the results directory.
const ReportFile = "report.json"

// writeOut assembles the results directory OUT/NAME/VERSION/: the
// re-created artifacts, report.json, diffs, the build log, the in-toto
// statements (verification summary and provenance) and SHA256SUMS, signed
// when a key was given. It is written under a temporary name and renamed
// into place, so a failed run never leaves a half-written directory.
func (x *run) writeOut(ctx context.Context) error {
	if x.o.outDir == "" || x.stage == "" {
		return nil
	}
	summary, provenance := x.statements()
	var buf bytes.Buffer
	if err := x.rep.Write(&buf); err != nil {
		return err
	}
	var page bytes.Buffer
	if err := report.WriteHTML(&page, x.rep, x.diffs); err != nil {
		return err
	}
	docs := []attest.Document{{Name: ReportFile, Data: buf.Bytes()}, {Name: report.HTMLFile, Data: page.Bytes()}}
	st, err := attest.StatementDocuments(summary, provenance)
	if err != nil {
		return err
	}
	docs = append(docs, st...)

	var files []attest.File
	for _, a := range x.rep.Artifacts {
		if p, ok := x.outputs[a.Name]; ok {
			files = append(files, attest.File{Name: a.File, SHA256: a.Actual, Path: p})
		}
	}
	entries, err := os.ReadDir(x.stage)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	for _, e := range entries {
		files = append(files, attest.File{Name: e.Name(), Path: filepath.Join(x.stage, e.Name())})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	var signer attest.Signer
	if x.o.signKey != nil {
		signer = x.o.signKey
	}
	if _, err := attest.WriteResults(ctx, x.o.outDir, x.r.Name, x.r.Version, files, docs, signer); err != nil {
		return fmt.Errorf("runner: writing results: %w", err)
	}
	return nil
}

// statements builds the in-toto verification summary and provenance of
// the run; nil when there is nothing to attest (no artifact re-created).
func (x *run) statements() (*attest.Statement, *attest.Statement) {
	in := &attest.Run{
		Name:            x.r.Name,
		Version:         x.r.Version,
		VerifierVersion: x.o.toolVersion,
		RecipePath:      recipePolicyPath(x.r),
		RecipeSHA256:    x.r.SHA256,
		PublishedURL:    publishedURL(x.r),
		Repository:      x.r.Source.Git,
		Tag:             x.r.Source.Tag,
		Commit:          x.r.Source.Commit,
		TimeVerified:    x.o.now().UTC(),
	}
	if e := x.rep.Env; e != nil {
		in.Environment, in.ImageRef, in.ImageDigest, in.Tools, in.Packages = e.Name, e.Image, e.ImageDigest, e.Tools, e.Packages
	}
	for _, p := range x.debs {
		in.Debs = append(in.Debs, attest.Deb{Distro: x.r.Env.Distro, Name: p.Name, Version: p.Version, Architecture: p.Architecture, SHA256: p.SHA256})
	}
	signed, verified := false, true
	for _, a := range x.rep.Artifacts {
		if a.Status == report.Skipped {
			continue
		}
		kind := attest.KindDist
		if a.Method == string(recipe.MethodGitArchive) {
			kind = attest.KindSrc
		}
		pub := a.Actual
		if a.Status != report.Reproduced {
			pub = ""
			if a.Published != nil {
				pub = a.Published.SHA256
			}
			if v := a.Verdict; v != nil && v.Proof != nil && v.Proof.Matched {
				pub = v.Proof.Got // proven: the recipe's sha256, reached from the re-created file
			}
		}
		in.Artifacts = append(in.Artifacts, attest.Artifact{
			Name: a.File, Kind: kind, SHA256: pub, Expected: a.Expected, Rebuilt: a.Actual,
			Reproduced: a.Status == report.Reproduced,
			Equivalent: a.Status == report.Equivalent,
			Accepted:   acceptedDifferences(a),
		})
		// A signature that could not be fetched is no claim either way: the
		// run passes (exit 0) and the summary says PASSED without the
		// signature level, as the run's own verdict does.
		if s := a.Signature; s != nil && s.Status != report.NotChecked {
			signed = true
			verified = verified && s.Error == "" && s.Status != "" && s.Status != "ERROR"
			if in.Signature == nil {
				in.Signature = &attest.Signature{Fingerprint: s.Signer}
			}
		}
	}
	if signed {
		in.Signature.Verified = verified
	}
	summary, err := attest.VerificationSummary(in)
	if err != nil {
		return nil, nil
	}
	provenance, err := attest.ProvenanceStatement(in)
	if err != nil {
		return summary, nil
	}
	return summary, provenance
}

// acceptedDifferences groups an equivalent artifact's accepted
// differences by member, class and reason for the verification summary.
func acceptedDifferences(a report.Artifact) []attest.AcceptedDifference {
	if a.Status != report.Equivalent || a.Verdict == nil {
		return nil
	}
	var out []attest.AcceptedDifference
	index := map[string]int{}
	for _, d := range a.Verdict.Accepted {
		member := d.Path
		if d.Rule == 0 {
			member = "" // the metadata policy: counted per class
		}
		k := fmt.Sprintf("%s\x00%s\x00%d", member, d.Class, d.Rule)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, attest.AcceptedDifference{Artifact: a.Name, Member: member, Class: string(d.Class), Rule: d.Rule, Reason: d.Reason})
		}
		out[i].Count++
	}
	return out
}

// recipePolicyPath names the recipe in the policy URI: recipes/NAME/VERSION.toml.
func recipePolicyPath(r *recipe.Recipe) string {
	return path.Join("recipes", r.Name, r.Version+".toml")
}

// publishedURL is the directory the release is published in, from the
// first artifact with a URL.
func publishedURL(r *recipe.Recipe) string {
	for _, n := range r.ArtifactNames() {
		if u := r.Artifacts[n].URL; u != "" {
			if p, err := url.Parse(u); err == nil {
				p.Path = path.Dir(p.Path) + "/"
				return p.String()
			}
		}
	}
	return ""
}
