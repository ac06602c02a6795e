package ci

import (
	"bytes"
	"context"
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

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/report"
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

// ID is NAME/VERSION.
func (e *Entry) ID() string { return e.Report.Recipe.Name + "/" + e.Report.Recipe.Version }

// Results is what a results page shows.
type Results struct {
	Entries []*Entry
	// Missing are expected recipes (NAME/VERSION) with no report: their
	// job failed before writing one.
	Missing []string
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
		return a.Version < b.Version
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
	Project, Version string
	// Artifact is "NAME FILE", "run" for a run-level error, or "" for a
	// missing report.
	Artifact string
	Result   string
	Detail   string
	// Diff, Report and Log are links relative to the page ("" if none).
	Diff, Report, Log string
}

// Rows lists the table rows: one per artifact, one per run-level error,
// one per missing report; in recipe order.
func (r *Results) Rows() []Row {
	type keyed struct {
		id  string
		row Row
	}
	var all []keyed
	for _, e := range r.Entries {
		rep := e.Report
		base := pageDir(rep.Recipe.Name, rep.Recipe.Version)
		reportLink := base + "/" + ReportFile
		logLink := ""
		if fileExists(filepath.Join(e.Dir, "build.log")) {
			logLink = base + "/build.log"
		}
		for _, a := range rep.Artifacts {
			row := Row{Project: rep.Recipe.Name, Version: rep.Recipe.Version, Artifact: strings.TrimSpace(a.Name + " " + a.File),
				Result: string(a.Status), Report: reportLink, Log: logLink}
			switch {
			case a.Error != "":
				row.Detail = firstLine(a.Error)
			case a.Diff != nil:
				row.Detail = a.Diff.Summary
			}
			if a.Diff != nil && a.Diff.File != "" && safeName(a.Diff.File) && fileExists(filepath.Join(e.Dir, a.Diff.File)) {
				row.Diff = base + "/" + a.Diff.File
			}
			all = append(all, keyed{e.ID(), row})
		}
		if rep.Error != "" || len(rep.Artifacts) == 0 {
			msg := rep.Error
			if msg == "" {
				msg = "the run recorded no artifacts"
			}
			all = append(all, keyed{e.ID(), Row{Project: rep.Recipe.Name, Version: rep.Recipe.Version, Artifact: "run",
				Result: string(report.Error), Detail: firstLine(msg), Report: reportLink, Log: logLink}})
		}
	}
	for _, id := range r.Missing {
		name, version, _ := strings.Cut(id, "/")
		all = append(all, keyed{id, Row{Project: name, Version: version, Result: Missing,
			Detail: "no report.json: the job failed before writing one (see its log)"}})
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i].row, all[j].row
		if a.Project != b.Project {
			return a.Project < b.Project
		}
		return a.Version < b.Version
	})
	rows := make([]Row, len(all))
	for i, k := range all {
		rows[i] = k.row
	}
	return rows
}

// Counts tallies the rows by result.
func (r *Results) Counts() map[string]int {
	c := map[string]int{}
	for _, row := range r.Rows() {
		c[row.Result]++
	}
	return c
}

// OK reports whether every recipe reproduced and none is missing.
func (r *Results) OK() bool {
	if len(r.Missing) > 0 {
		return false
	}
	for _, e := range r.Entries {
		if e.Report.Result != report.Reproduced {
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
	sort.Strings(keys)
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

// pageDir is where a recipe's files go in the output directory.
func pageDir(name, version string) string { return name + "/" + version }

// WriteMarkdown writes the results table as Markdown.
func (r *Results) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# verify-release results\n\n")
	b.WriteString(mdEscape(summaryLine(r)) + "\n\n")
	b.WriteString("| project | version | artifact | result | details | diff | report |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, row := range r.Rows() {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** | %s | %s | %s |\n",
			mdEscape(row.Project), mdEscape(row.Version), mdEscape(row.Artifact), mdEscape(row.Result),
			mdEscape(row.Detail), mdLink("diff", row.Diff), mdLink("report.json", row.Report))
	}
	_, err := w.Write(b.Bytes())
	return err
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

// linkPath escapes each path segment for use in a URL.
func linkPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = pathEscape(s)
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

// WriteHTML writes a static HTML page (no scripts) with the results table.
func (r *Results) WriteHTML(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>verify-release results</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.REPRODUCED { background: #dfd; }
td.MISMATCH, td.SIGNATURE_REJECTED { background: #fdd; }
td.ERROR, td.MISSING { background: #fed; }
td.SKIPPED { background: #eee; }
</style>
</head>
<body>
<h1>verify-release results</h1>
`)
	fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(summaryLine(r)))
	b.WriteString("<table>\n<thead><tr><th>project</th><th>version</th><th>artifact</th><th>result</th><th>details</th><th>diff</th><th>report</th></tr></thead>\n<tbody>\n")
	for _, row := range r.Rows() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(row.Project), html.EscapeString(row.Version), html.EscapeString(row.Artifact),
			html.EscapeString(cssClass(row.Result)), html.EscapeString(row.Result), html.EscapeString(row.Detail),
			htmlLink("diff", row.Diff), htmlLink("report.json", row.Report))
	}
	b.WriteString("</tbody>\n</table>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
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
// index.html, index.md, junit.xml (every report), and per recipe
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
	rel := pageDir(rep.Recipe.Name, rep.Recipe.Version)
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
