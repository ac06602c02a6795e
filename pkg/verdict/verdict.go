package verdict

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Status is the verdict on one artifact.
type Status string

const (
	// Reproduced: the re-created artifact has the published bytes.
	Reproduced Status = "REPRODUCED"
	// Equivalent: every difference is accepted, by a recipe's [[accept]]
	// entry or because it is archive metadata or compression.
	Equivalent Status = "EQUIVALENT"
	// Different: some difference is not accepted.
	Different Status = "DIFFERENT"
)

// PolicyReason is the reason given for a metadata difference accepted
// without an [[accept]] entry.
const PolicyReason = "archive metadata or compression only: the members' contents are the same"

// Difference is one finding of the diff, as the verdict lists it.
type Difference struct {
	Path  string        `json:"path,omitempty"`
	Kind  tarball.Kind  `json:"kind"`
	Field string        `json:"field,omitempty"`
	Class tarball.Class `json:"class"`
	// Rule is the 1-based index of the [[accept]] entry that accepted the
	// difference; 0 when the metadata policy did, or when not accepted.
	Rule   int    `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Verdict is the decision on one artifact.
type Verdict struct {
	Status Status `json:"status"`
	// Accepted are the differences accepted, each with its reason.
	Accepted []Difference `json:"accepted"`
	// Unaccepted are the differences that make the verdict DIFFERENT.
	Unaccepted []Difference `json:"unaccepted"`
	// Counts are the findings per class, content first.
	Counts []tarball.ClassCount `json:"classes,omitempty"`
	// Used lists the 1-based indexes of the [[accept]] entries that
	// accepted at least one difference.
	Used []int `json:"rules_used,omitempty"`
	// Proof is the substitution proof, when the recipe declares
	// substitutions for the artifact and its sha256 did not match.
	Proof *Proof `json:"proof,omitempty"`
}

// FromProof is the verdict of a substitution proof: EQUIVALENT, each
// substitution accepted with its reason, when it reached the expected
// sha256; DIFFERENT otherwise.
func FromProof(p *Proof) *Verdict {
	v := &Verdict{Status: Different, Accepted: []Difference{}, Unaccepted: []Difference{}, Proof: p}
	if !p.Matched {
		return v
	}
	v.Status = Equivalent
	for _, s := range p.Substitutions {
		v.Accepted = append(v.Accepted, Difference{Path: s.Member, Kind: tarball.KindContent, Field: "substitution",
			Class: tarball.ClassContent, Rule: s.Rule, Reason: s.Reason})
		v.Used = append(v.Used, s.Rule)
	}
	return v
}

// Summary is one line: the status and the class counts.
func (v *Verdict) Summary() string {
	var parts []string
	for _, c := range v.Counts {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Class))
	}
	s := string(v.Status)
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, " · ")
	}
	switch {
	case v.Status == Equivalent:
		s += fmt.Sprintf("; %d accepted", len(v.Accepted))
	case len(v.Unaccepted) > 0:
		s += fmt.Sprintf("; %d not accepted", len(v.Unaccepted))
	}
	if v.Proof != nil {
		s += "; " + v.Proof.Summary()
	}
	return s
}

// Lines describes the accepted and unaccepted differences, one line
// each: the recipe's accepted differences by member with their reasons,
// the metadata policy's counted per class, then those not accepted.
func (v *Verdict) Lines() []string {
	var out []string
	policy := map[tarball.Class]int{}
	for _, d := range v.Accepted {
		if d.Rule == 0 {
			policy[d.Class]++
			continue
		}
		out = append(out, fmt.Sprintf("accepted %s %s (%s%s) by [[accept]] %d: %s", d.Class, d.Path, d.Kind, field(d), d.Rule, d.Reason))
	}
	if p := v.Proof; p != nil {
		for _, s := range p.Substitutions {
			out = append(out, fmt.Sprintf("substitution [[accept]] %d in %s: %q -> %q, %d time(s)", s.Rule, s.Member, s.Old, s.New, s.Count))
		}
	}
	for _, c := range tarball.Classes {
		if n := policy[c]; n > 0 {
			out = append(out, fmt.Sprintf("accepted %d %s by policy: %s", n, c, PolicyReason))
		}
	}
	for _, d := range v.Unaccepted {
		out = append(out, fmt.Sprintf("NOT accepted %s %s (%s%s)", d.Class, d.Path, d.Kind, field(d)))
	}
	return out
}

func field(d Difference) string {
	if d.Field == "" {
		return ""
	}
	return " " + d.Field
}

// ErrStale is matched by a StaleError.
var ErrStale = errors.New("verdict: stale [[accept]] entry")

// StaleError names [[accept]] entries that matched no difference: a
// policy that no longer describes the artifacts.
type StaleError struct {
	Rules []int // 1-based
	Entry []recipe.Accept
}

func (e *StaleError) Error() string {
	var b strings.Builder
	for i, r := range e.Rules {
		if i > 0 {
			b.WriteString("; ")
		}
		a := e.Entry[i]
		fmt.Fprintf(&b, "[[accept]] entry %d (member %q", r, a.Member)
		if a.Artifact != "" {
			fmt.Fprintf(&b, ", artifact %s", a.Artifact)
		}
		b.WriteString(") matches no difference")
	}
	return "verdict: stale policy: " + b.String()
}

func (e *StaleError) Is(target error) bool { return target == ErrStale }

// rule is a compiled [[accept]] entry.
type rule struct {
	index int // 1-based
	a     recipe.Accept
	line  *regexp.Regexp
}

// Rules are the [[accept]] entries of a recipe that apply to one artifact.
func Rules(r *recipe.Recipe, artifact string) []int {
	var out []int
	for i, a := range r.Accept {
		if a.Artifact == "" || a.Artifact == artifact {
			out = append(out, i+1)
		}
	}
	return out
}

// Evaluate decides the verdict on a diff of the published artifact (A)
// against the re-created one (B), with the recipe's [[accept]] entries
// numbered in indexes (1-based, see Rules). A difference is accepted by
// the first entry whose member glob matches and whose class, line pattern
// or substitution covers it; metadata classes are accepted by policy.
func Evaluate(res *tarball.DiffResult, accepts []recipe.Accept, indexes []int) (*Verdict, error) {
	v := &Verdict{Accepted: []Difference{}, Unaccepted: []Difference{}, Counts: res.ClassCounts()}
	if res.Identical() {
		v.Status = Reproduced
		return v, nil
	}
	var rules []rule
	for _, i := range indexes {
		a := accepts[i-1]
		ru := rule{index: i, a: a}
		if a.Line != "" {
			re, err := regexp.Compile(a.Line)
			if err != nil {
				return nil, fmt.Errorf("verdict: [[accept]] entry %d: line %q: %w", i, a.Line, err)
			}
			ru.line = re
		}
		rules = append(rules, ru)
	}
	// Content findings first: a member's size header is accepted with its
	// content.
	byMember := map[string]int{} // path\x00occurrence -> rule index accepting its content
	key := func(f *tarball.Finding) string { return fmt.Sprintf("%s\x00%d", f.Path, f.Occurrence) }
	for i := range res.Findings {
		f := &res.Findings[i]
		if f.Kind != tarball.KindContent {
			continue
		}
		if r := match(rules, f); r != nil {
			byMember[key(f)] = r.index
		}
	}
	used := map[int]bool{}
	for i := range res.Findings {
		f := &res.Findings[i]
		d := Difference{Path: f.Path, Kind: f.Kind, Field: f.Field, Class: f.Class}
		var r *rule
		if f.Kind == tarball.KindContent || (f.Kind == tarball.KindHeader && f.Field == "size") {
			if idx, ok := byMember[key(f)]; ok {
				r = ruleAt(rules, idx)
			}
		} else {
			r = match(rules, f)
		}
		switch {
		case r != nil:
			d.Rule, d.Reason = r.index, r.a.Reason
			used[r.index] = true
			v.Accepted = append(v.Accepted, d)
		case f.Class.Metadata():
			d.Reason = PolicyReason
			v.Accepted = append(v.Accepted, d)
		default:
			v.Unaccepted = append(v.Unaccepted, d)
		}
	}
	for _, r := range rules {
		if used[r.index] {
			v.Used = append(v.Used, r.index)
		}
	}
	v.Status = Equivalent
	if len(v.Unaccepted) > 0 {
		v.Status = Different
	}
	return v, nil
}

func ruleAt(rules []rule, index int) *rule {
	for i := range rules {
		if rules[i].index == index {
			return &rules[i]
		}
	}
	return nil
}

// match returns the first rule that accepts f, or nil.
func match(rules []rule, f *tarball.Finding) *rule {
	for i := range rules {
		r := &rules[i]
		if f.Path == "" {
			continue // compression and archive findings: metadata policy only
		}
		if ok, _ := path.Match(r.a.Member, f.Path); !ok {
			continue
		}
		switch {
		case r.a.Class != "":
			if string(f.Class) == r.a.Class {
				return r
			}
		case r.line != nil:
			if f.Kind == tarball.KindContent && linesMatch(f, r.line) {
				return r
			}
		case r.a.Substitution():
			if f.Kind == tarball.KindContent && substituted(f, r.a.Old, r.a.New) {
				return r
			}
		}
	}
	return nil
}

// linesMatch reports whether every changed line of f matches re.
func linesMatch(f *tarball.Finding, re *regexp.Regexp) bool {
	removed, added, ok := f.ChangedLines()
	if !ok {
		return false
	}
	for _, l := range append(append([]string{}, removed...), added...) {
		if !re.MatchString(l) {
			return false
		}
	}
	return true
}

// substituted reports whether the published lines (A, removed) are the
// re-created lines (B, added) with every old replaced by new.
func substituted(f *tarball.Finding, old, new string) bool {
	removed, added, ok := f.ChangedLines()
	if !ok || len(removed) != len(added) || len(added) == 0 {
		return false
	}
	for i := range added {
		if !strings.Contains(added[i], old) || strings.ReplaceAll(added[i], old, new) != removed[i] {
			return false
		}
	}
	return true
}

// Stale returns a *StaleError for the entries of accepts (all of them
// evaluated against at least one artifact, 1-based in evaluated) that
// accepted no difference in any verdict, or nil.
func Stale(accepts []recipe.Accept, evaluated []int, verdicts []*Verdict) error {
	used := map[int]bool{}
	for _, v := range verdicts {
		for _, i := range v.Used {
			used[i] = true
		}
	}
	var e StaleError
	for _, i := range evaluated {
		if !used[i] {
			e.Rules = append(e.Rules, i)
			e.Entry = append(e.Entry, accepts[i-1])
		}
	}
	if len(e.Rules) == 0 {
		return nil
	}
	return &e
}
