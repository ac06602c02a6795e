package fingerprint

import (
	"fmt"
	"sort"
	"strings"
)

// Environment is a place a tarball could have been made: a distribution
// release and the versions of its packages.
type Environment struct {
	// Name is for people: "Debian 12 (bookworm)".
	Name string `json:"name"`
	// Distro is "debian", "ubuntu", "trisquel", ...; Suite the codename.
	Distro string `json:"distro"`
	Suite  string `json:"suite"`
	// Packages maps binary package names to versions ("libtool":
	// "2.4.7-7~deb12u1").
	Packages map[string]string `json:"packages"`
	// Source says where the versions come from: the InRelease the
	// Packages index was read through, or the citation of a shipped entry.
	Source string `json:"source"`
}

// toolPackage is the binary package whose version a tool's evidence is
// compared with.
var toolPackage = map[string]string{
	ToolAutoconf: "autoconf",
	ToolAutomake: "automake",
	ToolLibtool:  "libtool",
	ToolGettext:  "gettext",
	ToolTexinfo:  "texinfo",
	ToolHelp2man: "help2man",
	ToolBison:    "bison",
	ToolFlex:     "flex",
	ToolGtkDoc:   "gtk-doc-tools",
}

// ToolPackages lists the packages Environment.Packages should hold for
// Rank to compare every kind of evidence, sorted.
func ToolPackages() []string {
	var out []string
	for _, p := range toolPackage {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Result of one comparison.
const (
	Match    = "match"    // same version (for libtool: the same distribution package)
	Near     = "near"     // compatible: a newer gettext, a superseded point release of the same package
	Mismatch = "mismatch" // the environment cannot have written this
	Unknown  = "unknown"  // the environment's data has no such package
)

// Check compares one piece of evidence with one environment.
type Check struct {
	Tool     string `json:"tool"`
	Package  string `json:"package"`
	Evidence string `json:"evidence"` // the value found in the tarball
	Member   string `json:"member"`
	Line     int    `json:"line"`
	Has      string `json:"has"` // the environment's package version ("" if none)
	Result   string `json:"result"`
	Note     string `json:"note,omitempty"`
	// Weight is 3 for evidence that names an exact distribution package
	// version (libtool's "Debian-2.4.6-15" suffix, a release-tools
	// manifest), 2 for an upstream version.
	Weight int `json:"weight"`
}

// Candidate is one environment with its comparisons.
type Candidate struct {
	Env        Environment `json:"env"`
	Checks     []Check     `json:"checks"`
	Matches    int         `json:"matches"`
	Near       int         `json:"near"`
	Mismatches int         `json:"mismatches"`
	Unknown    int         `json:"unknown"`
}

// Score sums the comparisons: a match counts its weight, a near match 1,
// a mismatch minus its weight, an unknown (the environment's data lacks
// the package) 0.
func (c *Candidate) Score() int {
	n := 0
	for _, k := range c.Checks {
		switch k.Result {
		case Match:
			n += k.Weight
		case Near:
			n++
		case Mismatch:
			n -= k.Weight
		}
	}
	return n
}

// exact: nothing contradicts the environment and something confirms it.
func (c *Candidate) exact() bool { return c.Mismatches == 0 && c.Matches > 0 }

// RuledOut is evidence that no known environment matches.
type RuledOut struct {
	Tool     string `json:"tool"`
	Evidence string `json:"evidence"`
	Member   string `json:"member"`
	Line     int    `json:"line"`
	Reason   string `json:"reason"`
}

// Ranking is the result of Rank.
type Ranking struct {
	// Candidates are sorted best first: those with no mismatch and at
	// least one match, then by Score, then fewest mismatches, then name.
	Candidates []Candidate `json:"candidates"`
	// Exact reports that the first candidate has no mismatch (and at
	// least one match).
	Exact bool `json:"exact"`
	// RuledOut lists the evidence that every environment fails, with the
	// reason; when Exact is false it says why nothing matches.
	RuledOut []RuledOut `json:"ruled_out"`
	// Compared is the number of pieces of evidence compared.
	Compared int `json:"compared"`
}

// Rank compares the compared evidence of fp with every environment.
func Rank(fp *Fingerprint, envs []Environment) *Ranking {
	rk := &Ranking{Candidates: []Candidate{}, RuledOut: []RuledOut{}}
	var evs []Evidence
	seen := map[string]bool{}
	for _, e := range fp.Evidence {
		// Two members stating one version (aclocal.m4 and Makefile.in)
		// are compared once.
		if k := e.Tool + "\x00" + e.Value; e.Compared && !seen[k] {
			seen[k] = true
			evs = append(evs, e)
		}
	}
	rk.Compared = len(evs)
	if len(evs) == 0 {
		return rk
	}
	for _, env := range envs {
		c := Candidate{Env: env, Checks: []Check{}}
		for _, e := range evs {
			ck := check(e, env)
			switch ck.Result {
			case Match:
				c.Matches++
			case Near:
				c.Near++
			case Mismatch:
				c.Mismatches++
			default:
				c.Unknown++
			}
			c.Checks = append(c.Checks, ck)
		}
		rk.Candidates = append(rk.Candidates, c)
	}
	sort.SliceStable(rk.Candidates, func(i, j int) bool {
		a, b := &rk.Candidates[i], &rk.Candidates[j]
		switch {
		case a.exact() != b.exact():
			return a.exact()
		case a.Score() != b.Score():
			return a.Score() > b.Score()
		case a.Mismatches != b.Mismatches:
			return a.Mismatches < b.Mismatches
		}
		return a.Env.Name < b.Env.Name
	})
	rk.Exact = len(rk.Candidates) > 0 && rk.Candidates[0].exact()
	for i, e := range evs {
		all := len(rk.Candidates) > 0
		for _, c := range rk.Candidates {
			if c.Checks[i].Result != Mismatch {
				all = false
				break
			}
		}
		if all {
			rk.RuledOut = append(rk.RuledOut, RuledOut{Tool: e.Tool, Evidence: e.Value, Member: e.Member, Line: e.Line, Reason: ruledOutReason(e, len(rk.Candidates))})
		}
	}
	return rk
}

func ruledOutReason(e Evidence, n int) string {
	if e.Build != nil && e.Build.Kind == "development" {
		s := fmt.Sprintf("%s %s is a development build from git", e.Tool, e.Value)
		if e.Build.Dirty {
			s += " with uncommitted changes"
		}
		return s + fmt.Sprintf("; none of the %d known environments ships it", n)
	}
	return fmt.Sprintf("none of the %d known environments has %s %s", n, e.Tool, e.Value)
}

// check compares one piece of evidence with env.
func check(e Evidence, env Environment) Check {
	pkg := toolPackage[e.Tool]
	want := e.Version
	if e.Tool == ToolReleaseTools {
		pkg, want, _ = strings.Cut(e.Value, "=")
	}
	ck := Check{Tool: e.Tool, Package: pkg, Evidence: e.Value, Member: e.Member, Line: e.Line, Weight: 2}
	if e.Tool == ToolReleaseTools || (e.Build != nil && e.Build.Kind == "distro") {
		ck.Weight = 3
	}
	has, ok := env.Packages[pkg]
	ck.Has = has
	if !ok || has == "" {
		ck.Result = Unknown
		ck.Note = env.Name + " data has no " + pkg
		return ck
	}
	up := UpstreamVersion(has)
	switch {
	case e.Tool == ToolReleaseTools:
		// An exact Debian package version.
		switch {
		case has == want:
			ck.Result = Match
		case pointReleaseBase(has) == pointReleaseBase(want):
			ck.Result = Near
			ck.Note = fmt.Sprintf("same package, another point release (%s has %s)", env.Suite, has)
		default:
			ck.Result = Mismatch
			ck.Note = fmt.Sprintf("%s has %s", env.Suite, has)
		}
	case e.Tool == ToolLibtool:
		ck.Result, ck.Note = checkLibtool(e, env, has)
	case e.Tool == ToolGettext:
		// autopoint copies the infrastructure of the version a package
		// asks for, so the installed gettext may be newer.
		switch c := compareVersion(up, want); {
		case sameVersion(up, want):
			ck.Result = Match
		case c > 0:
			ck.Result = Near
			ck.Note = fmt.Sprintf("%s has a newer gettext %s (autopoint can install %s's files)", env.Suite, up, want)
		default:
			ck.Result = Mismatch
			ck.Note = fmt.Sprintf("%s has the older %s", env.Suite, up)
		}
	case e.Build != nil && e.Build.Kind == "development":
		ck.Result = Mismatch
		ck.Note = fmt.Sprintf("a development build; %s has %s", env.Suite, has)
	case sameVersion(up, want):
		ck.Result = Match
	default:
		ck.Result = Mismatch
		ck.Note = fmt.Sprintf("%s has %s", env.Suite, up)
	}
	return ck
}

// checkLibtool compares ltmain.sh's VERSION. Debian's and Ubuntu's libtool
// packages write "UPSTREAM Debian-PACKAGEVERSION" into it, so the package
// revision is part of the generated file's bytes.
func checkLibtool(e Evidence, env Environment, has string) (string, string) {
	patches := env.Distro == "debian" || env.Distro == "ubuntu" || env.Distro == "trisquel"
	switch {
	case e.Build != nil && e.Build.Kind == "development":
		return Mismatch, fmt.Sprintf("a development build; %s has %s", env.Suite, has)
	case e.Build != nil && e.Build.Kind == "distro":
		if !patches {
			return Mismatch, fmt.Sprintf("a %s package build; %s's libtool %s writes no distribution suffix", e.Build.Distro, env.Suite, has)
		}
		if e.Build.Package == has {
			return Match, ""
		}
		if pointReleaseBase(e.Build.Package) == pointReleaseBase(has) {
			return Near, fmt.Sprintf("same package, another point release (%s has %s)", env.Suite, has)
		}
		if !sameVersion(UpstreamVersion(has), e.Version) {
			return Mismatch, fmt.Sprintf("%s has %s", env.Suite, has)
		}
		return Mismatch, fmt.Sprintf("suffix -%s, %s has -%s", debianRevision(e.Build.Package), env.Name, debianRevision(has))
	}
	if patches {
		return Mismatch, fmt.Sprintf("no distribution suffix; %s's libtool %s writes \"%s Debian-%s\"", env.Suite, has, UpstreamVersion(has), has)
	}
	if sameVersion(UpstreamVersion(has), e.Version) {
		return Match, ""
	}
	return Mismatch, fmt.Sprintf("%s has %s", env.Suite, has)
}

// debianRevision is the part of a Debian version after the last '-'.
func debianRevision(v string) string {
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return v[i+1:]
	}
	return v
}
