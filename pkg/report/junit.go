package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// JUnit XML (the subset GitLab's artifacts:reports:junit reads, which is
// the common Jenkins/Ant schema): one <testsuites>, one <testsuite> per
// report and one <testcase> per artifact. Documented in docs/report.md.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped"`
	Error     *junitProblem `xml:"error"`
	Failure   *junitProblem `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit failure and error types.
const (
	junitMismatch  = "mismatch"
	junitSignature = "signature"
	junitError     = "error"
	junitRun       = "run"
)

// WriteJUnit writes the reports as one JUnit XML document: a <testsuite
// name="NAME VERSION"> per report (sorted by name, then version) with a
// <testcase classname="NAME/VERSION" name="ARTIFACT FILE"> per artifact,
// in the report's order. MISMATCH and SIGNATURE_REJECTED become
// <failure>, ERROR <error>, SKIPPED <skipped/>; a run-level error is one
// more test case named "run" with an <error>. The output depends only on
// the reports.
func WriteJUnit(w io.Writer, reps ...*Report) error {
	sorted := make([]*Report, 0, len(reps))
	for _, r := range reps {
		if r != nil {
			sorted = append(sorted, r)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i].Recipe, sorted[j].Recipe
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	doc := junitSuites{Name: "verify-release"}
	var total float64
	for _, r := range sorted {
		s, secs := junitSuiteOf(r)
		doc.Suites = append(doc.Suites, s)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		total += secs
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: writing JUnit XML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("report: writing JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(r *Report) (junitSuite, float64) {
	id := r.Recipe.Name + "/" + r.Recipe.Version
	s := junitSuite{Name: r.Recipe.Name + " " + r.Recipe.Version}
	var total float64
	for _, a := range r.Artifacts {
		c := junitCase{Name: strings.TrimSpace(a.Name + " " + a.File), Classname: id, Time: seconds(a.Seconds)}
		total += a.Seconds
		out := artifactDetails(&a)
		switch a.Status {
		case Reproduced, Equivalent:
			// EQUIVALENT passes; its accepted differences and their
			// reasons are in the case's system-out.
		case Skipped:
			c.Skipped = &junitSkipped{Message: firstLine(a.Error)}
			s.Skipped++
		case Mismatch:
			c.Failure = &junitProblem{
				Message: fmt.Sprintf("%s did not reproduce: expected sha256 %s, got %s", a.File, a.Expected, orNone(a.Actual)),
				Type:    junitMismatch,
				Text:    out,
			}
			s.Failures++
		case Rejected:
			msg := a.File + ": upstream signature rejected"
			if a.Signature != nil && a.Signature.Error != "" {
				msg += ": " + firstLine(a.Signature.Error)
			}
			c.Failure = &junitProblem{Message: msg, Type: junitSignature, Text: out}
			s.Failures++
		case Error:
			c.Error = &junitProblem{Message: a.File + ": " + orNone(firstLine(a.Error)), Type: junitError, Text: out}
			s.Errors++
		default:
			c.Error = &junitProblem{Message: fmt.Sprintf("%s: unknown status %q", a.File, a.Status), Type: junitError, Text: out}
			s.Errors++
		}
		if c.Failure == nil && c.Error == nil {
			c.SystemOut = out // a failure or error already carries it
		}
		s.Cases = append(s.Cases, c)
	}
	if r.Error != "" || len(r.Artifacts) == 0 {
		msg := r.Error
		if msg == "" {
			msg = "the run recorded no artifacts"
		}
		s.Cases = append(s.Cases, junitCase{
			Name: "run", Classname: id, Time: seconds(0),
			Error: &junitProblem{Message: firstLine(msg), Type: junitRun, Text: msg},
		})
		s.Errors++
	}
	s.Tests = len(s.Cases)
	s.Time = seconds(total)
	if len(r.Warnings) > 0 {
		s.SystemOut = "warning: " + strings.Join(r.Warnings, "\nwarning: ")
	}
	return s, total
}

// artifactDetails is the human text for one artifact: digests, the diff
// summary and the differing members.
func artifactDetails(a *Artifact) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status: %s\n", a.Status)
	if a.Expected != "" {
		fmt.Fprintf(&b, "expected sha256: %s\n", a.Expected)
	}
	if a.Actual != "" {
		fmt.Fprintf(&b, "actual sha256:   %s\n", a.Actual)
	}
	if a.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", a.Error)
	}
	if p := a.Published; p != nil {
		if p.URL != "" {
			fmt.Fprintf(&b, "published: %s\n", p.URL)
		}
		if p.SHA256 != "" {
			fmt.Fprintf(&b, "published sha256: %s\n", p.SHA256)
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "published copy: %s\n", p.Error)
		}
	}
	if d := a.Diff; d != nil {
		fmt.Fprintf(&b, "diff: %s\n", d.Summary)
		if d.File != "" {
			fmt.Fprintf(&b, "diff file: %s\n", d.File)
		}
		if len(d.Members) > 0 {
			fmt.Fprintf(&b, "members that differ (%d):\n", len(d.Members))
			for _, m := range d.Members {
				fmt.Fprintf(&b, "  %s\n", m)
			}
		}
	}
	if v := a.Verdict; v != nil && v.Status != verdict.Reproduced {
		fmt.Fprintf(&b, "verdict: %s\n", v.Summary())
		for _, l := range v.Lines() {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	if s := a.Signature; s != nil {
		fmt.Fprintf(&b, "signature: %s", s.Status)
		if s.Signer != "" {
			fmt.Fprintf(&b, " by %s", s.Signer)
		}
		b.WriteString("\n")
		if s.Error != "" {
			fmt.Fprintf(&b, "signature error: %s\n", s.Error)
		}
	}
	return b.String()
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
