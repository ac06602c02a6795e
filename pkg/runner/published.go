package runner

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/audit"
	"gitlab.com/verify-release/verify-release/pkg/digest"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// diffPublished fetches the published copy of a and records the
// per-member diff of it (A) against the re-created file (B).
func (x *run) diffPublished(ctx context.Context, name string, a *recipe.Artifact, out string, ra *report.Artifact) {
	pub, origin, err := x.publishedCopy(ctx, name, a)
	if err != nil {
		ra.Published = &report.Published{URL: a.URL, Error: err.Error()}
		x.warn("artifact %s: cannot diff against the published copy: %v", name, err)
		return
	}
	sum, err := digest.File(ctx, pub)
	if err != nil {
		ra.Published = &report.Published{URL: a.URL, Error: err.Error()}
		return
	}
	ra.Published = &report.Published{URL: a.URL, Path: origin, SHA256: sum}
	if sum != a.SHA256 {
		x.warn("artifact %s: the published copy %s has sha256 %s, not the %s the recipe expects", name, origin, sum, a.SHA256)
	}
	x.event(name, "diff", "diffing the published %s against the re-created one", a.File)
	opts := []tarball.Option{tarball.WithLabels("published/"+a.File, "rebuilt/"+a.File)}
	if x.o.maxDiffLines > 0 {
		opts = append(opts, tarball.WithMaxDiffLines(x.o.maxDiffLines))
	}
	res, err := tarball.Diff(ctx, pub, out, opts...)
	if err != nil {
		ra.Diff = &report.Diff{Summary: "diff failed: " + err.Error(), Members: []string{}}
		return
	}
	d := &report.Diff{Summary: res.Summary(), Members: diffMembers(res), Classes: res.ClassCounts()}
	for _, h := range res.Hints() {
		d.Hints = append(d.Hints, h.Text)
	}
	if s, err := verdict.SuggestEnvironment(ctx, res, pub); err != nil {
		x.warn("artifact %s: fingerprinting the published copy for a hint: %v", name, err)
	} else if s != "" {
		d.Hints = append(d.Hints, s)
	}
	ra.Diff = d
	x.diffs[name] = res
	x.judge(name, res, ra)
	x.audit(ctx, name, a, pub, out, ra)
	if x.o.diffOut != nil {
		if err := res.WriteText(x.o.diffOut); err != nil {
			x.warn("artifact %s: writing the diff: %v", name, err)
		}
	}
	if x.stage != "" {
		d.File = a.File + ".diff"
		if err := writeAtomic(filepath.Join(x.stage, d.File), res.WriteText); err != nil {
			x.warn("artifact %s: %v", name, err)
		}
	}
}

// judge records the verdict on a diffed artifact and which [[accept]]
// entries it used.
func (x *run) judge(name string, res *tarball.DiffResult, ra *report.Artifact) {
	if ra.Verdict != nil && ra.Verdict.Proof != nil {
		return // the substitution proof decided
	}
	rules := verdict.Rules(x.r, name)
	v, err := verdict.Evaluate(res, x.r.Accept, rules)
	if err != nil {
		x.warn("artifact %s: %v", name, err)
		return
	}
	x.judged(rules, v)
	ra.Verdict = v
	if v.Status == verdict.Equivalent && ra.Status == report.Mismatch {
		ra.Status = report.Equivalent
	}
	x.event(name, "verdict", "%s", v.Summary())
}

// prove runs the substitution proof when the recipe declares
// substitutions for the artifact: the re-created file plus exactly those
// substitutions, compressed again as it was, must have the recipe's
// sha256. It decides the verdict, with or without a published copy.
func (x *run) prove(ctx context.Context, name string, a *recipe.Artifact, out string, ra *report.Artifact) error {
	subs := verdict.Substitutions(x.r.Accept, verdict.Rules(x.r, name))
	if len(subs) == 0 {
		return nil
	}
	x.event(name, "proof", "applying %d declared substitution(s) to the re-created %s", len(subs), a.File)
	p, err := verdict.Prove(ctx, out, a.SHA256, x.r.Accept, subs)
	if err != nil {
		return err
	}
	v := verdict.FromProof(p)
	ra.Verdict = v
	if v.Status == verdict.Equivalent {
		ra.Status = report.Equivalent
	}
	// The substitutions were judged either way: a failed proof is
	// DIFFERENT, not a stale policy.
	x.judged(subs, &verdict.Verdict{Used: subs})
	x.event(name, "verdict", "%s", v.Summary())
	return nil
}

// judged records a verdict for the stale-policy check at the end of the run.
func (x *run) judged(rules []int, v *verdict.Verdict) {
	x.evaluated = append(x.evaluated, rules...)
	x.verdicts = append(x.verdicts, v)
}

// diffMembers lists the member paths with findings, sorted and unique.
func diffMembers(res *tarball.DiffResult) []string {
	seen := map[string]bool{}
	for _, f := range res.Findings {
		if f.Path != "" {
			seen[f.Path] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// audit runs the generated-file audit on the published copy pub of a
// build artifact: against the git tree (the recipe's git-archive
// artifact, re-created or published), the re-created tarball out and the
// pinned inputs' checkouts. A member that differs from its input or is
// unexplained makes the verdict DIFFERENT, whatever the diff accepted.
func (x *run) audit(ctx context.Context, name string, a *recipe.Artifact, pub, out string, ra *report.Artifact) {
	if a.Method != recipe.MethodBuild {
		return
	}
	srcName := x.r.SrcArtifact()
	src := x.starts[srcName]
	if src == "" {
		src = x.outputs[srcName]
	}
	if srcName == "" || src == "" {
		return // no git tree to audit against (a build from dist)
	}
	var inputs []audit.Input
	for _, in := range x.r.Inputs {
		if d := filepath.Join(x.work, "input-"+in.Name); isDir(d) {
			inputs = append(inputs, audit.Input{Name: in.Name, Dir: d})
		}
	}
	rep, err := audit.Audit(ctx, pub, audit.Options{Src: src, Regenerated: out, Inputs: inputs})
	if err != nil {
		x.warn("artifact %s: generated-file audit: %v", name, err)
		return
	}
	ra.Audit = rep
	x.event(name, "audit", "members not in git: %s", rep.Summary())
	review := rep.Review()
	if len(review) == 0 {
		return
	}
	var paths []string
	for _, m := range review {
		paths = append(paths, m.Path+" ("+string(m.Group)+")")
	}
	x.warn("artifact %s: the published copy has %d member(s) not in git that differ from their input or are unexplained: %s", name, len(review), strings.Join(paths, ", "))
	ra.Status = report.Mismatch
	if ra.Verdict != nil {
		ra.Verdict.Status = verdict.Different
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
