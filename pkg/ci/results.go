package ci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// ErrDuplicateReport is matched when two report.json files are for the
// same NAME VERSION.
var ErrDuplicateReport = errors.New("ci: two reports for the same recipe")

// ReportFile is the name of the reports Collect looks for.
const ReportFile = "report.json"

// Missing is the result shown for an expected recipe without a report.
const Missing = "MISSING"

// Entry is one collected report.
type Entry struct {
	Report *report.Report
	// Dir is the directory holding report.json (its diffs and logs are
	// beside it).
	Dir string
}

// ID is NAME/VERSION, or NAME/VERSION@ENV for a run in one of a recipe's
// named environments.
func (e *Entry) ID() string {
	id := e.Report.Recipe.Name + "/" + e.Report.Recipe.Version
	if env := e.Env(); env != "" {
		id += "@" + env
	}
	return id
}

// Env is the recipe environment the report's build artifacts were
// re-created in: "" for a recipe with one unnamed [env] (or none).
func (e *Entry) Env() string { return reportEnv(e.Report) }

func reportEnv(rep *report.Report) string {
	if rep.Env == nil || rep.Env.Name == recipe.DefaultEnvName {
		return ""
	}
	return rep.Env.Name
}

// Results is what a results page shows.
type Results struct {
	Entries []*Entry
	// Missing are expected recipes (NAME/VERSION) with no report: their
	// job failed before writing one.
	Missing []string
	// Info says when and by what the page was made.
	Info PageInfo
}

// PageInfo is the provenance line of a results page.
type PageInfo struct {
	// Generated is when the page was made (zero: not shown).
	Generated time.Time
	// Version is the verify-release version that made it.
	Version string
	// Commit is the commit of the recipes repository the pipeline ran
	// for (e.g. $CI_COMMIT_SHA), and CommitURL a link to it ("" if none).
	Commit, CommitURL string
}

// Collect reads every report.json under root (recursively), sorted by
// name and version. expected lists NAME/VERSION ids whose absence is
// recorded in Missing.
func Collect(ctx context.Context, root string, expected ...string) (*Results, error) {
	res := &Results{}
	seen := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || d.Name() != ReportFile || !d.Type().IsRegular() {
			return nil
		}
		rep, err := report.ReadFile(p)
		if err != nil {
			return err
		}
		e := &Entry{Report: rep, Dir: filepath.Dir(p)}
		if prev, ok := seen[e.ID()]; ok {
			return fmt.Errorf("%w %s: %s and %s", ErrDuplicateReport, e.ID(), prev, p)
		}
		seen[e.ID()] = p
		res.Entries = append(res.Entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ci: collecting reports: %w", err)
	}
	sort.Slice(res.Entries, func(i, j int) bool {
		a, b := res.Entries[i].Report.Recipe, res.Entries[j].Report.Recipe
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return res.Entries[i].Env() < res.Entries[j].Env()
	})
	for _, id := range expected {
		if _, ok := seen[id]; !ok {
			res.Missing = append(res.Missing, id)
		}
	}
	sort.Strings(res.Missing)
	res.Missing = compactStrings(res.Missing)
	return res, nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Row is one line of the results table.
type Row struct {
	Project string `json:"project"`
	Version string `json:"version"`
	// Env is the recipe environment ("" for a recipe's one [env]).
	Env string `json:"env,omitempty"`
	// Artifact is "NAME FILE", "run" for a run-level error, or "" for a
	// missing report.
	Artifact string `json:"artifact"`
	Result   string `json:"result"`
	// Detail is the reason: the error, the diff summary, why an artifact
	// was skipped or a report is missing.
	Detail string `json:"detail,omitempty"`
	// Verdict lists an equivalent or differing artifact's accepted
	// differences with their reasons, and those not accepted
	// (verdict.Verdict.Lines).
	Verdict []string `json:"verdict,omitempty"`
	// Diff, Report, Log and Checksums (SHA256SUMS) are links relative to
	// the page ("" if none); Attestations the in-toto statements and
	// their signatures.
	Diff   string `json:"diff,omitempty"`
	Report string `json:"report,omitempty"`
	// Page is the artifact's section of the release's HTML report
	// (report.html#artifact-NAME), when the run wrote one.
	Page         string   `json:"page,omitempty"`
	Log          string   `json:"log,omitempty"`
	Checksums    string   `json:"checksums,omitempty"`
	Attestations []string `json:"attestations"`
}

// failed reports whether a row's result is a failure (shown first).
func failed(result string) bool {
	switch result {
	case string(report.Reproduced), string(report.Equivalent), string(report.Skipped):
		return false
	}
	return true
}

// rank orders results on the page: failures, then skipped, then
// reproduced.
func rank(result string) int {
	switch result {
	case string(report.Reproduced), string(report.Equivalent):
		return 2
	case string(report.Skipped):
		return 1
	}
	return 0
}

// Rows lists the table rows: one per artifact, one per run-level error,
// one per missing report; failures first, then by recipe.
func (r *Results) Rows() []Row {
	var all []Row
	for _, e := range r.Entries {
		rep := e.Report
		base := pageDir(rep.Recipe.Name, rep.Recipe.Version, e.Env())
		reportLink, page := base+"/"+ReportFile, ""
		if fileExists(filepath.Join(e.Dir, report.HTMLFile)) {
			page = base + "/" + report.HTMLFile
		}
		logLink, sums := "", ""
		if fileExists(filepath.Join(e.Dir, "build.log")) {
			logLink = base + "/build.log"
		}
		if fileExists(filepath.Join(e.Dir, attest.ChecksumsFile)) {
			sums = base + "/" + attest.ChecksumsFile
		}
		atts := attestationLinks(e.Dir, base)
		for _, a := range rep.Artifacts {
			row := Row{Project: rep.Recipe.Name, Version: rep.Recipe.Version, Env: e.Env(), Artifact: strings.TrimSpace(a.Name + " " + a.File),
				Result: string(a.Status), Report: reportLink, Log: logLink, Checksums: sums, Attestations: atts}
			switch {
			case a.Error != "":
				row.Detail = firstLine(a.Error)
			case a.Diff != nil:
				row.Detail = a.Diff.Summary
			case a.Reason != "":
				row.Detail = a.Reason
			case a.Status == report.Skipped:
				row.Detail = "not attempted in this run"
			}
			if v := a.Verdict; v != nil && v.Status != verdict.Reproduced && a.Error == "" {
				row.Detail = v.Summary()
				row.Verdict = v.Lines()
			}
			if page != "" {
				row.Page = page + "#artifact-" + a.Name
			}
			if a.Diff != nil && a.Diff.File != "" && safeName(a.Diff.File) && fileExists(filepath.Join(e.Dir, a.Diff.File)) {
				row.Diff = base + "/" + a.Diff.File
			}
			all = append(all, row)
		}
		if rep.Error != "" || len(rep.Artifacts) == 0 {
			msg := rep.Error
			if msg == "" {
				msg = "the run recorded no artifacts"
			}
			all = append(all, Row{Project: rep.Recipe.Name, Version: rep.Recipe.Version, Env: e.Env(), Artifact: "run",
				Result: string(report.Error), Detail: firstLine(msg), Report: reportLink, Log: logLink, Checksums: sums, Attestations: atts})
		}
	}
	for _, id := range r.Missing {
		name, version, _ := strings.Cut(id, "/")
		version, env, _ := strings.Cut(version, "@")
		all = append(all, Row{Project: name, Version: version, Env: env, Result: Missing,
			Detail: "no report.json: the job failed before writing one (see its log)", Attestations: []string{}})
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if rank(a.Result) != rank(b.Result) {
			return rank(a.Result) < rank(b.Result)
		}
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		return a.Version < b.Version
	})
	return all
}

// attestationLinks lists the in-toto statements in dir and their
// signatures, as links below base.
func attestationLinks(dir, base string) []string {
	links := []string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return links
	}
	for _, d := range entries {
		if n := d.Name(); d.Type().IsRegular() && (strings.HasSuffix(n, ".intoto.json") || strings.HasSuffix(n, ".intoto.json.asc")) && safeName(n) {
			links = append(links, base+"/"+n)
		}
	}
	return links
}

// Counts tallies the rows by result.
func (r *Results) Counts() map[string]int {
	c := map[string]int{}
	for _, row := range r.Rows() {
		c[row.Result]++
	}
	return c
}

// passed reports whether a run's result verifies the release: reproduced,
// or equivalent (every difference accepted, with its reason).
func passed(s report.Status) bool { return s == report.Reproduced || s == report.Equivalent }

// OK reports whether every recipe reproduced (or is equivalent) and none
// is missing.
func (r *Results) OK() bool {
	if len(r.Missing) > 0 {
		return false
	}
	for _, e := range r.Entries {
		if !passed(e.Report.Result) {
			return false
		}
	}
	return len(r.Entries) > 0
}

func summaryLine(r *Results) string {
	counts := r.Counts()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	s := fmt.Sprintf("%d recipe(s)", len(r.Entries)+len(r.Missing))
	if len(parts) > 0 {
		s += ", artifacts: " + strings.Join(parts, ", ")
	}
	return s
}

// Verdicts of a results page.
const (
	Verified    = "VERIFIED"
	NotVerified = "NOT VERIFIED"
)

// Verdict is the page's overall verdict and its one-line reason.
func (r *Results) Verdict() (verdict, reason string) {
	total := len(r.Entries) + len(r.Missing)
	if r.OK() {
		equivalent := 0
		for _, e := range r.Entries {
			if e.Report.Result == report.Equivalent {
				equivalent++
			}
		}
		if equivalent > 0 {
			return Verified, fmt.Sprintf("every recipe reproduced or is equivalent (%d of %d, %d equivalent: see the accepted differences)", total, total, equivalent)
		}
		return Verified, fmt.Sprintf("every recipe reproduced (%d of %d)", total, total)
	}
	if total == 0 {
		return NotVerified, "no reports were found"
	}
	bad := len(r.Missing)
	for _, e := range r.Entries {
		if !passed(e.Report.Result) {
			bad++
		}
	}
	return NotVerified, fmt.Sprintf("%d of %d recipe(s) did not reproduce or have no report", bad, total)
}

// IndexSchema names the index.json document (docs/schema/results.json).
const IndexSchema = "verify-release/results/v1"

// Index is index.json: the page's verdict and rows as data.
type Index struct {
	Schema    string         `json:"schema"`
	Verdict   string         `json:"verdict"`
	Reason    string         `json:"reason"`
	Summary   string         `json:"summary"`
	Generated time.Time      `json:"generated,omitzero"`
	Tool      report.Tool    `json:"tool"`
	Commit    string         `json:"commit,omitempty"`
	Counts    map[string]int `json:"counts"`
	Rows      []Row          `json:"rows"`
}

// Index returns the index.json document.
func (r *Results) Index() *Index {
	v, why := r.Verdict()
	rows := r.Rows()
	if rows == nil {
		rows = []Row{}
	}
	return &Index{Schema: IndexSchema, Verdict: v, Reason: why, Summary: summaryLine(r), Generated: r.Info.Generated.UTC(),
		Tool: report.Tool{Name: "verify-release", Version: r.Info.Version}, Commit: r.Info.Commit, Counts: r.Counts(), Rows: rows}
}

// WriteJSON writes index.json.
func (r *Results) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r.Index())
}

// infoLine is the provenance line: date, tool version, commit.
func (r *Results) infoLine() string {
	var parts []string
	if !r.Info.Generated.IsZero() {
		parts = append(parts, "generated "+r.Info.Generated.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if r.Info.Version != "" {
		parts = append(parts, "by verify-release "+r.Info.Version)
	}
	if r.Info.Commit != "" {
		parts = append(parts, "for commit "+r.Info.Commit)
	}
	return strings.Join(parts, " ")
}

// pageDir is where a recipe's files go in the output directory.
func pageDir(name, version, env string) string {
	if env != "" {
		return name + "/" + version + "/" + env
	}
	return name + "/" + version
}

// WriteMarkdown writes the results table as Markdown.
func (r *Results) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	v, why := r.Verdict()
	b.WriteString("# verify-release results\n\n")
	fmt.Fprintf(&b, "**%s %s**: %s\n\n", statusIcon(v), v, mdEscape(why))
	if line := r.infoLine(); line != "" {
		b.WriteString(mdEscape(line) + "\n\n")
	}
	b.WriteString(mdEscape(summaryLine(r)) + "\n\n")
	rows := r.Rows()
	envCol := hasEnv(rows)
	if envCol {
		b.WriteString("| result | project | version | environment | artifact | details | links |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| result | project | version | artifact | details | links |\n")
		b.WriteString("|---|---|---|---|---|---|\n")
	}
	for _, row := range rows {
		var links []string
		for _, l := range rowLinks(row) {
			links = append(links, mdLink(l.text, l.href))
		}
		version := mdEscape(row.Version)
		if envCol {
			version += " | " + mdEscape(row.Env)
		}
		fmt.Fprintf(&b, "| **%s %s** | %s | %s | %s | %s | %s |\n",
			statusIcon(row.Result), mdEscape(row.Result), mdEscape(row.Project), version, mdEscape(row.Artifact),
			mdEscape(strings.Join(append([]string{row.Detail}, row.Verdict...), "; ")), strings.Join(links, " "))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// hasEnv reports whether a row names an environment: the pages show the
// environment column only then.
func hasEnv(rows []Row) bool {
	for _, r := range rows {
		if r.Env != "" {
			return true
		}
	}
	return false
}

// statusIcon marks each state with its own symbol, so no state is told
// apart by colour alone.
func statusIcon(result string) string {
	switch result {
	case string(report.Reproduced), Verified:
		return "✔"
	case string(report.Equivalent):
		return "≈"
	case string(report.Mismatch), NotVerified:
		return "✘"
	case string(report.Rejected):
		return "⛔"
	case string(report.Error):
		return "⚠"
	case Missing:
		return "∅"
	case string(report.Skipped):
		return "–"
	}
	return "•"
}

type link struct{ text, href string }

// rowLinks are a row's links, in page order.
func rowLinks(row Row) []link {
	var ls []link
	for _, l := range []link{{"report", row.Page}, {"report.json", row.Report}, {"diff", row.Diff}, {"build.log", row.Log}, {"SHA256SUMS", row.Checksums}} {
		if l.href != "" {
			ls = append(ls, l)
		}
	}
	for _, a := range row.Attestations {
		ls = append(ls, link{path.Base(a), a})
	}
	return ls
}

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "#", `\#`, "\n", " ", "\r", " ",
)

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func mdLink(text, href string) string {
	if href == "" {
		return ""
	}
	return "[" + mdEscape(text) + "](" + linkPath(href) + ")"
}

// linkPath escapes each path segment, and the fragment after a "#", for
// use in a URL.
func linkPath(p string) string {
	p, frag, hasFrag := strings.Cut(p, "#")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = pathEscape(s)
	}
	if hasFrag {
		return strings.Join(segs, "/") + "#" + pathEscape(frag)
	}
	return strings.Join(segs, "/")
}

// pathEscape percent-encodes everything but unreserved characters.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// pageCSS styles the page: a verdict banner, one colour and symbol per
// state, and below 640 px each row becomes a block with the result first,
// so nothing scrolls sideways on a phone.
const pageCSS = `
body { font-family: system-ui, sans-serif; margin: 1em auto; max-width: 80em; padding: 0 1em; line-height: 1.4; }
.banner { padding: 0.8em 1em; border-radius: 6px; font-size: 1.2em; margin: 0.5em 0 1em; }
.banner.pass { background: #dafbe1; color: #116329; border: 2px solid #1a7f37; }
.banner.fail { background: #ffebe9; color: #a40e26; border: 2px solid #cf222e; }
.meta { color: #57606a; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.6em; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0.1em 0.5em; border-radius: 4px; font-weight: bold; white-space: nowrap; }
.badge.REPRODUCED { background: #dafbe1; color: #116329; }
.badge.EQUIVALENT { background: #eef9d8; color: #3d5c00; }
td ul { margin: 0.3em 0 0 1.2em; padding: 0; }
.badge.MISMATCH { background: #ffebe9; color: #a40e26; }
.badge.SIGNATURE_REJECTED { background: #fbefff; color: #6e40c9; }
.badge.ERROR { background: #fff1e5; color: #953800; }
.badge.MISSING { background: #fff8c5; color: #7d4e00; }
.badge.SKIPPED { background: #f6f8fa; color: #57606a; }
.links a { margin-right: 0.6em; white-space: nowrap; }
@media (max-width: 640px) {
  body { margin: 0.5em; padding: 0; }
  table, tbody, tr, td { display: block; width: auto; }
  thead { display: none; }
  tr { border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: 0.8em; }
  td { border: none; padding: 0.2em 0.6em; }
  td::before { content: attr(data-label) ": "; color: #57606a; }
  td.result::before { content: ""; }
}
`

// WriteHTML writes a static HTML page (no scripts) with the verdict and
// the results table, failures first.
func (r *Results) WriteHTML(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>verify-release results</title>\n<style>" +
		pageCSS + "</style>\n</head>\n<body>\n<h1>verify-release results</h1>\n")
	v, why := r.Verdict()
	class := "fail"
	if v == Verified {
		class = "pass"
	}
	fmt.Fprintf(&b, "<p class=\"banner %s\" id=\"verdict\"><strong>%s %s</strong>: %s</p>\n", class, statusIcon(v), v, html.EscapeString(why))
	if line := r.infoLine(); line != "" {
		fmt.Fprintf(&b, "<p class=\"meta\">%s", html.EscapeString(strings.TrimSuffix(line, " for commit "+r.Info.Commit)))
		if r.Info.Commit != "" {
			c := "<code>" + html.EscapeString(r.Info.Commit) + "</code>"
			if r.Info.CommitURL != "" {
				c = `<a href="` + html.EscapeString(r.Info.CommitURL) + `">` + c + "</a>"
			}
			fmt.Fprintf(&b, " for commit %s", c)
		}
		b.WriteString("</p>\n")
	}
	fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(summaryLine(r)))
	rows := r.Rows()
	envCol, envTH := hasEnv(rows), ""
	if envCol {
		envTH = "<th>environment</th>"
	}
	b.WriteString("<table>\n<thead><tr><th>result</th><th>project</th><th>version</th>" + envTH + "<th>artifact</th><th>details</th><th>links</th></tr></thead>\n<tbody>\n")
	for _, row := range rows {
		envTD := ""
		if envCol {
			envTD = `<td data-label="environment">` + html.EscapeString(row.Env) + "</td>"
		}
		var links []string
		for _, l := range rowLinks(row) {
			links = append(links, htmlLink(l.text, l.href))
		}
		fmt.Fprintf(&b, "<tr><td class=\"result\"><span class=\"badge %s\">%s %s</span></td><td data-label=\"project\">%s</td><td data-label=\"version\">%s</td>%s<td data-label=\"artifact\">%s</td><td data-label=\"details\">%s</td><td class=\"links\" data-label=\"links\">%s</td></tr>\n",
			html.EscapeString(cssClass(row.Result)), statusIcon(row.Result), html.EscapeString(row.Result),
			html.EscapeString(row.Project), html.EscapeString(row.Version), envTD, html.EscapeString(row.Artifact),
			html.EscapeString(row.Detail)+verdictList(row.Verdict), strings.Join(links, " "))
	}
	b.WriteString("</tbody>\n</table>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// verdictList is the accepted differences as an HTML list ("" if none).
func verdictList(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<ul>")
	for _, l := range lines {
		b.WriteString("<li>" + html.EscapeString(l) + "</li>")
	}
	b.WriteString("</ul>")
	return b.String()
}

func cssClass(result string) string {
	for _, c := range result {
		if !(c >= 'A' && c <= 'Z' || c == '_') {
			return "other"
		}
	}
	return result
}

func htmlLink(text, href string) string {
	if href == "" {
		return ""
	}
	return `<a href="` + html.EscapeString(linkPath(href)) + `">` + html.EscapeString(text) + `</a>`
}

// PublishOption configures Publish.
type PublishOption func(*publishOptions)

type publishOptions struct {
	signer attest.Signer
}

// WithSigner signs the published attestations (*.intoto.json) and
// SHA256SUMS: an armored detached signature FILE.asc beside each.
func WithSigner(s attest.Signer) PublishOption { return func(o *publishOptions) { o.signer = s } }

// Published is what Publish wrote.
type Published struct {
	Results *Results
	// Files are the written files, relative to the output directory, sorted.
	Files []string
	// Signed are the files that got a signature, relative, sorted.
	Signed []string
}

// Publish writes the results page for the reports in res to outDir:
// index.html, index.md, index.json, junit.xml (every report), and per recipe
// NAME/VERSION/ with report.json, diffs, the build log, attestations and
// SHA256SUMS copied from the report's directory (the re-created artifacts
// themselves are not copied). Each file is written atomically.
func Publish(ctx context.Context, res *Results, outDir string, opts ...PublishOption) (*Published, error) {
	o := &publishOptions{}
	for _, opt := range opts {
		opt(o)
	}
	out := &Published{Results: res}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	for _, e := range res.Entries {
		if err := publishEntry(ctx, e, outDir, o, out); err != nil {
			return nil, err
		}
	}
	var reps []*report.Report
	for _, e := range res.Entries {
		reps = append(reps, e.Report)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"index.html", res.WriteHTML},
		{"index.md", res.WriteMarkdown},
		{"index.json", res.WriteJSON},
		{"junit.xml", func(w io.Writer) error { return report.WriteJUnit(w, reps...) }},
	} {
		if err := atomicfile.Write(filepath.Join(outDir, f.name), f.write); err != nil {
			return nil, fmt.Errorf("ci: writing %s: %w", f.name, err)
		}
		out.Files = append(out.Files, f.name)
	}
	sort.Strings(out.Files)
	sort.Strings(out.Signed)
	return out, nil
}

func publishEntry(ctx context.Context, e *Entry, outDir string, o *publishOptions, out *Published) error {
	rep := e.Report
	for _, n := range []string{rep.Recipe.Name, rep.Recipe.Version} {
		if !safeName(n) {
			return fmt.Errorf("ci: %s: %q is not a safe name for a directory", filepath.Join(e.Dir, ReportFile), n)
		}
	}
	if env := e.Env(); env != "" && !safeName(env) {
		return fmt.Errorf("ci: %s: environment %q is not a safe name for a directory", filepath.Join(e.Dir, ReportFile), env)
	}
	rel := pageDir(rep.Recipe.Name, rep.Recipe.Version, e.Env())
	dest := filepath.Join(outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("ci: %w", err)
	}
	skip := map[string]bool{}
	for _, a := range rep.Artifacts {
		if a.Output != "" {
			skip[a.Output] = true // the re-created tarball itself
		}
	}
	entries, err := os.ReadDir(e.Dir)
	if err != nil {
		return fmt.Errorf("ci: %w", err)
	}
	var toSign []string
	for _, d := range entries { // ReadDir sorts by name
		if err := ctx.Err(); err != nil {
			return err
		}
		name := d.Name()
		if !d.Type().IsRegular() || skip[name] || strings.HasPrefix(name, ".") {
			continue
		}
		if o.signer != nil && strings.HasSuffix(name, ".asc") {
			continue // replaced by the new signatures below
		}
		if err := copyFile(filepath.Join(e.Dir, name), filepath.Join(dest, name)); err != nil {
			return err
		}
		out.Files = append(out.Files, rel+"/"+name)
		if strings.HasSuffix(name, ".intoto.json") || name == attest.ChecksumsFile {
			toSign = append(toSign, name)
		}
	}
	if o.signer == nil {
		return nil
	}
	for _, name := range toSign {
		data, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil {
			return fmt.Errorf("ci: %w", err)
		}
		sig := filepath.Join(dest, name+".asc")
		if err := atomicfile.Write(sig, func(w io.Writer) error {
			return o.signer.SignDetached(ctx, w, bytes.NewReader(data))
		}); err != nil {
			return fmt.Errorf("ci: signing %s: %w", path.Join(rel, name), err)
		}
		out.Files = append(out.Files, rel+"/"+name+".asc")
		out.Signed = append(out.Signed, rel+"/"+name)
	}
	return nil
}

func copyFile(src, dest string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("ci: %w", err)
	}
	defer f.Close()
	if err := atomicfile.Write(dest, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	}); err != nil {
		return fmt.Errorf("ci: copying %s: %w", src, err)
	}
	return nil
}

func safeName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, `/\`) && !strings.ContainsRune(n, 0)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
