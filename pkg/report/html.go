package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/audit"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// HTMLFile is the per-release page's name in the results directory.
const HTMLFile = "report.html"

// MaxHTMLFindings caps the findings the page lists per class of one
// artifact; the rest are counted and left to the full text diff.
const MaxHTMLFindings = 500

// WriteHTML writes the per-release report page: one static HTML file with
// no scripts and no external resources (it works offline, from file://).
// The verdict comes first; then, per artifact, its classes, the accepted
// differences with their reasons, the generated-file audit and the
// differences themselves, one collapsed section per class with the
// unified diff of each content member. diffs holds the per-member diff of
// each artifact that was diffed against its published copy (by artifact
// name; nil or missing entries are fine). The page depends only on its
// inputs: no clock, no environment.
func WriteHTML(w io.Writer, r *Report, diffs map[string]*tarball.DiffResult) error {
	p := page{Title: r.Recipe.Name + " " + r.Recipe.Version, Report: r}
	p.Banner, p.BannerClass = bannerText(r)
	for i := range r.Artifacts {
		p.Artifacts = append(p.Artifacts, artifactView(&r.Artifacts[i], diffs[r.Artifacts[i].Name]))
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		return fmt.Errorf("report: rendering the HTML page: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type page struct {
	Title, Banner, BannerClass string
	Report                     *Report
	Artifacts                  []artView
}

type artView struct {
	A        *Artifact
	ID       string
	Classes  string
	Accepted []acceptedView
	Audit    []auditGroup
	Sections []classSection
	DiffFile string
}

type acceptedView struct{ What, Class, Reason string }

type auditGroup struct {
	Group   audit.Group
	Review  bool
	Members []audit.Member
}

type classSection struct {
	Class    tarball.Class
	Count    int
	Open     bool
	Findings []findingView
	More     int
}

type findingView struct {
	Kind tarball.Kind
	Path string
	Line string
	Diff string
}

func bannerText(r *Report) (text, class string) {
	var parts []string
	for _, a := range r.Artifacts {
		part := a.Name + " " + string(a.Status)
		switch {
		case a.Verdict != nil && len(a.Verdict.Unaccepted) > 0:
			part += ": " + unacceptedLine(a.Verdict.Unaccepted)
		case a.Error != "":
			part += ": " + a.Error
		case a.Reason != "":
			part += ": " + a.Reason
		}
		parts = append(parts, part)
	}
	text = strings.Join(parts, "; ")
	if r.Error != "" {
		text = r.Error
	}
	switch r.Result {
	case Reproduced, Equivalent:
		return text, "pass"
	}
	return text, "fail"
}

// unacceptedLine names the first members whose differences are not
// accepted ("3 not accepted: configure, src/main.c, …").
func unacceptedLine(ds []verdict.Difference) string {
	var names []string
	seen := map[string]bool{}
	for _, d := range ds {
		p := d.Path
		if p == "" {
			p = string(d.Kind)
		}
		if !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	const show = 3
	line := fmt.Sprintf("%d not accepted: ", len(names))
	if len(names) > show {
		return line + strings.Join(names[:show], ", ") + ", …"
	}
	return line + strings.Join(names, ", ")
}

func artifactView(a *Artifact, d *tarball.DiffResult) artView {
	v := artView{A: a, ID: "artifact-" + a.Name}
	if a.Diff != nil {
		v.DiffFile = a.Diff.File
		var cs []string
		for _, c := range a.Diff.Classes {
			cs = append(cs, fmt.Sprintf("%d %s", c.Count, c.Class))
		}
		v.Classes = strings.Join(cs, " · ")
	}
	if a.Verdict != nil {
		for _, d := range a.Verdict.Accepted {
			what := d.Path
			if d.Field != "" {
				what = strings.TrimPrefix(what+": "+d.Field, ": ")
			}
			if what == "" {
				what = string(d.Kind)
			}
			v.Accepted = append(v.Accepted, acceptedView{What: what, Class: string(d.Class), Reason: d.Reason})
		}
	}
	if a.Audit != nil {
		by := map[audit.Group][]audit.Member{}
		for _, m := range a.Audit.Members {
			by[m.Group] = append(by[m.Group], m)
		}
		for _, g := range audit.Groups {
			if len(by[g]) > 0 {
				v.Audit = append(v.Audit, auditGroup{Group: g, Review: g.NeedsReview(), Members: by[g]})
			}
		}
	}
	if d != nil {
		v.Sections = sections(d)
	}
	return v
}

// sections groups the findings by class, in the summary's order (content
// first); only the content section starts open.
func sections(d *tarball.DiffResult) []classSection {
	by := map[tarball.Class][]tarball.Finding{}
	for _, f := range d.Findings {
		by[f.Class] = append(by[f.Class], f)
	}
	var out []classSection
	for _, c := range append(append([]tarball.Class{}, tarball.Classes...), "") {
		fs := by[c]
		if len(fs) == 0 {
			continue
		}
		s := classSection{Class: c, Count: len(fs), Open: c == tarball.ClassContent}
		if c == "" {
			s.Class = "other"
		}
		for i, f := range fs {
			if i == MaxHTMLFindings {
				s.More = len(fs) - i
				break
			}
			s.Findings = append(s.Findings, findingView{Kind: f.Kind, Path: f.Path, Line: f.Describe(), Diff: f.Diff})
		}
		out = append(out, s)
	}
	if len(d.Warnings) > 0 {
		s := classSection{Class: "warning", Count: len(d.Warnings), Open: true}
		for _, f := range d.Warnings {
			s.Findings = append(s.Findings, findingView{Kind: f.Kind, Path: f.Path, Line: f.Describe()})
		}
		out = append(out, s)
	}
	return out
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"cls": func(s Status) string { return strings.ReplaceAll(string(s), "_", "-") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>verify-release: {{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1em auto; max-width: 72em; padding: 0 1em; line-height: 1.4; overflow-wrap: anywhere; }
h1 { font-size: 1.5em; margin: 0.3em 0; }
h2 { font-size: 1.2em; margin: 1.4em 0 0.4em; }
.banner { padding: 0.7em 1em; border-radius: 6px; font-size: 1.15em; margin: 0.4em 0 0.8em; }
.banner.pass { background: #dafbe1; color: #116329; border: 2px solid #1a7f37; }
.banner.fail { background: #ffebe9; color: #a40e26; border: 2px solid #cf222e; }
.badge { display: inline-block; padding: 0.05em 0.45em; border-radius: 4px; font-weight: bold; }
.badge.REPRODUCED { background: #dafbe1; color: #116329; }
.badge.EQUIVALENT { background: #eef9d8; color: #3d5c00; }
.badge.MISMATCH { background: #ffebe9; color: #a40e26; }
.badge.SIGNATURE-REJECTED { background: #fbefff; color: #6e40c9; }
.badge.ERROR { background: #fff1e5; color: #953800; }
.badge.SKIPPED { background: #f6f8fa; color: #57606a; }
.meta, .meta dd { color: #57606a; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 0.1em 0.8em; margin: 0.4em 0; }
dt { font-weight: bold; }
dd { margin: 0; min-width: 0; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { background: #f6f8fa; padding: 0.5em; overflow-x: auto; max-width: 100%; box-sizing: border-box; white-space: pre; overflow-wrap: normal; }
details { margin: 0.3em 0; }
summary { cursor: pointer; padding: 0.15em 0; }
details details { margin-left: 1em; }
ul { padding-left: 1.2em; }
.review { color: #a40e26; font-weight: bold; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
@media (max-width: 640px) {
  body { margin: 0.5em; padding: 0; }
  .banner { font-size: 1em; }
  dl { grid-template-columns: minmax(0, 1fr); }
  dd { margin-bottom: 0.3em; }
}
</style>
</head>
<body>
<header>
<h1>verify-release: {{.Title}}</h1>
<p class="banner {{.BannerClass}}" id="verdict" role="status"><strong><span class="badge {{cls .Report.Result}}">{{.Report.Result}}</span></strong> {{.Banner}}</p>
<nav aria-label="artifacts"><ul>{{range .Artifacts}}<li><a href="#{{.ID}}">{{.A.Name}}: {{.A.File}}</a> <span class="badge {{cls .A.Status}}">{{.A.Status}}</span>{{if .Classes}} — {{.Classes}}{{end}}</li>{{end}}</ul></nav>
</header>
<main>
<section aria-label="source and environment">
<dl class="meta">
{{with .Report.Source}}<dt>source</dt><dd>{{.Git}} tag <code>{{.Tag}}</code>{{if .Commit}} commit <code>{{.Commit}}</code>{{end}}{{if not .CommitTime.IsZero}} ({{.CommitTime.UTC.Format "2006-01-02T15:04:05Z"}}){{end}}</dd>{{end}}
{{with .Report.Env}}<dt>environment</dt><dd>{{if .Name}}{{.Name}}: {{end}}{{.Backend}}{{if .Image}} <code>{{.Image}}</code>{{end}}{{if .ImageDigest}} <code>{{.ImageDigest}}</code>{{end}}{{if .Pinned}} (pinned){{end}}</dd>{{end}}
<dt>verifier</dt><dd>{{.Report.Tool.Name}} {{.Report.Tool.Version}}</dd>
</dl>
{{range .Report.Warnings}}<p>warning: {{.}}</p>{{end}}
</section>
{{range .Artifacts}}
<section id="{{.ID}}" aria-labelledby="{{.ID}}-h">
<h2 id="{{.ID}}-h">{{.A.Name}}: {{.A.File}} <span class="badge {{cls .A.Status}}">{{.A.Status}}</span></h2>
<dl>
<dt>expected</dt><dd><code>{{.A.Expected}}</code></dd>
{{if .A.Actual}}<dt>re-created</dt><dd><code>{{.A.Actual}}</code></dd>{{end}}
<dt>method</dt><dd>{{.A.Method}}{{if .A.From}} from {{.A.From}}{{end}}{{if .A.Env}} in {{.A.Env}}{{end}}</dd>
{{if .A.Error}}<dt>error</dt><dd>{{.A.Error}}</dd>{{end}}
{{if .A.Reason}}<dt>reason</dt><dd>{{.A.Reason}}</dd>{{end}}
{{with .A.Diff}}<dt>differences</dt><dd>{{.Summary}}</dd>{{range .Hints}}<dt>hint</dt><dd>{{.}}</dd>{{end}}{{end}}
{{with .A.Verdict}}<dt>verdict</dt><dd>{{.Status}}{{with .Proof}} — {{.Summary}}{{end}}</dd>{{end}}
{{with .A.Signature}}<dt>signature</dt><dd>{{.Status}}{{if .Signer}} by {{.Signer}}{{end}}{{if .Error}}: {{.Error}}{{end}}</dd>{{end}}
{{if .DiffFile}}<dt>full diff</dt><dd><a href="{{.DiffFile}}">{{.DiffFile}}</a></dd>{{end}}
</dl>
{{with .A.Verdict}}{{with .Proof}}{{if .Substitutions}}<h3>Substitutions</h3><ul>{{range .Substitutions}}<li><code>{{.Member}}</code>: <code>{{.Old}}</code> → <code>{{.New}}</code> ({{.Count}}×) — {{.Reason}}</li>{{end}}</ul>{{end}}{{end}}{{end}}
{{if .Accepted}}<details><summary>Accepted differences ({{len .Accepted}}), each with its reason</summary><ul>{{range .Accepted}}<li><code>{{.What}}</code> ({{.Class}}): {{.Reason}}</li>{{end}}</ul></details>{{end}}
{{if .Audit}}<h3>Generated-file audit</h3>{{range .Audit}}<details{{if .Review}} open{{end}}><summary>{{if .Review}}<span class="review">needs review:</span> {{end}}{{.Group}} ({{len .Members}})</summary><ul>{{range .Members}}<li><code>{{.Path}}</code>{{if .Input}} (input {{.Input}}){{end}}{{if .Serial}} serial {{.Serial}}{{end}}{{if .InputSerial}}, input has {{.InputSerial}}{{end}}{{if .Lines}}<pre>{{range .Lines}}{{.}}
{{end}}</pre>{{end}}</li>{{end}}</ul></details>{{end}}{{end}}
{{if .Sections}}<h3>Differences by class</h3>{{range .Sections}}<details class="class"{{if .Open}} open{{end}}><summary>{{.Class}} ({{.Count}})</summary>{{range .Findings}}{{if .Diff}}<details class="member"><summary><code>{{.Path}}</code> — {{.Kind}}</summary><pre class="diff">{{.Diff}}</pre></details>{{else}}<div><code>{{.Line}}</code> — {{.Kind}}</div>{{end}}{{end}}{{if .More}}<p>… and {{.More}} more in the full diff</p>{{end}}</details>{{end}}{{end}}
</section>
{{end}}
{{if .Report.Steps}}<section aria-labelledby="steps-h"><h2 id="steps-h">Steps</h2><table><thead><tr><th>step</th><th>exit</th><th>seconds</th></tr></thead><tbody>{{range .Report.Steps}}<tr><td>{{if .Artifact}}{{.Artifact}}: {{end}}{{.Name}}{{if .Command}}<br><code>{{.Command}}</code>{{end}}</td><td>{{.ExitCode}}</td><td>{{printf "%.1f" .Seconds}}</td></tr>{{end}}</tbody></table></section>{{end}}
</main>
</body>
</html>
`))
