package tarball

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// JSONVersion is the version of the JSON report format (docs/diff-json.md).
const JSONVersion = 2

// JSONSchema names the diff JSON document (docs/schema/diff.json); its
// v2 is format version 2 (JSONVersion).
const JSONSchema = "verify-release/diff/v2"

// JSONReport is the document WriteJSON writes (docs/diff-json.md).
type JSONReport struct {
	Schema       string       `json:"schema"`
	Version      int          `json:"version"`
	Identical    bool         `json:"identical"`
	TarIdentical bool         `json:"tar_identical"`
	Summary      string       `json:"summary"`
	Classes      []ClassCount `json:"classes"`
	Hints        []Hint       `json:"hints"`
	A            FileInfo     `json:"a"`
	B            FileInfo     `json:"b"`
	Findings     []Finding    `json:"findings"`
	Warnings     []Finding    `json:"warnings"`
}

// WriteJSON writes the result as one JSON document (docs/diff-json.md).
// Findings are encoded one at a time, so a result with many findings is
// not held twice in memory; the bytes are those of json.Encoder with
// two-space indentation.
func (d *DiffResult) WriteJSON(w io.Writer) error {
	rep := JSONReport{Schema: JSONSchema, Version: JSONVersion, Identical: d.Identical(), TarIdentical: d.TarIdentical(),
		Summary: d.Summary(), Classes: d.ClassCounts(), Hints: d.Hints(), A: d.A, B: d.B, Findings: []Finding{}, Warnings: []Finding{}}
	for _, f := range []*FileInfo{&rep.A, &rep.B} {
		if f.Formats == nil {
			f.Formats = []string{}
		}
	}
	head, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	// Findings and Warnings are the last fields of JSONReport.
	const tail = "\"findings\": [],\n  \"warnings\": []\n}"
	if !bytes.HasSuffix(head, []byte(tail)) {
		return fmt.Errorf("tarball: unexpected JSON layout of the report")
	}
	b := bufio.NewWriterSize(w, 64<<10)
	b.Write(bytes.TrimSuffix(head[:len(head)-len(tail)], []byte("  ")))
	if err := writeJSONArray(b, "findings", d.Findings, ","); err != nil {
		return err
	}
	if err := writeJSONArray(b, "warnings", d.Warnings, ""); err != nil {
		return err
	}
	b.WriteString("}\n")
	return b.Flush()
}

// writeJSONArray writes `"name": [...]` as a field of the top-level
// object, followed by sep and a newline.
func writeJSONArray(b *bufio.Writer, name string, fs []Finding, sep string) error {
	if len(fs) == 0 {
		fmt.Fprintf(b, "  %q: []%s\n", name, sep)
		return nil
	}
	fmt.Fprintf(b, "  %q: [\n", name)
	for i, f := range fs {
		j, err := json.MarshalIndent(f, "    ", "  ")
		if err != nil {
			return err
		}
		b.WriteString("    ")
		b.Write(j)
		if i < len(fs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "  ]%s\n", sep)
	return nil
}

// fileLine describes one input; the tar stream's digest is there only
// when it was computed (WithTarSHA256).
func fileLine(f FileInfo) string {
	if f.TarSHA256 != "" {
		return fmt.Sprintf("%s (%d bytes, %s, sha256 %s, tar sha256 %s)", f.Name, f.Size, f.Compression.Format, f.SHA256, f.TarSHA256)
	}
	return fmt.Sprintf("%s (%d bytes, %s, sha256 %s)", f.Name, f.Size, f.Compression.Format, f.SHA256)
}

// Describe renders a finding as one line without its kind, as the text
// report prints it.
func (f Finding) Describe() string {
	var b strings.Builder
	if f.Side != "" {
		fmt.Fprintf(&b, "[%s] ", f.Side)
	}
	b.WriteString(f.Path)
	if f.Occurrence > 0 {
		fmt.Fprintf(&b, " (#%d)", f.Occurrence)
	}
	if f.Field != "" {
		if f.Path != "" {
			b.WriteString(": ")
		}
		b.WriteString(f.Field)
	}
	switch {
	case f.Kind == KindWarning:
		if f.Old != "" {
			b.WriteString(": " + f.Old)
		}
	case f.Old != "" || f.New != "":
		if f.Field == "" && f.Path != "" {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " %s -> %s", f.Old, f.New)
	}
	if f.Note != "" {
		fmt.Fprintf(&b, " (%s)", f.Note)
	}
	return b.String()
}

// WriteText writes a human-readable report.
func (d *DiffResult) WriteText(w io.Writer) error {
	b := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(b, "--- %s\n+++ %s\n%s\n", fileLine(d.A), fileLine(d.B), d.Summary())
	if len(d.Findings) > 0 || len(d.Warnings) > 0 {
		b.WriteString("\n")
	}
	for _, fs := range [][]Finding{d.Findings, d.Warnings} {
		for _, f := range fs {
			if f.Class != "" {
				fmt.Fprintf(b, "%-12s %-14s %s\n", f.Kind, f.Class, f.Describe())
			} else {
				fmt.Fprintf(b, "%-12s %s\n", f.Kind, f.Describe())
			}
			if f.Diff != "" {
				for _, l := range strings.SplitAfter(strings.TrimSuffix(f.Diff, "\n"), "\n") {
					b.WriteString("    " + strings.TrimSuffix(l, "\n") + "\n")
				}
			}
		}
	}
	for _, h := range d.Hints() {
		fmt.Fprintf(b, "hint: %s\n", h.Text)
	}
	return b.Flush()
}

// WriteMarkdown writes the report as Markdown (a table plus diff blocks).
func (d *DiffResult) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(b, "## Tarball diff\n\n- A: `%s`\n- B: `%s`\n\n**%s**\n", fileLine(d.A), fileLine(d.B), mdEscape(d.Summary()))
	if len(d.Findings) > 0 || len(d.Warnings) > 0 {
		b.WriteString("\n| kind | class | path | field | old | new | note |\n|---|---|---|---|---|---|---|\n")
	}
	for _, fs := range [][]Finding{d.Findings, d.Warnings} {
		for _, f := range fs {
			p := f.Path
			if f.Occurrence > 0 {
				p = fmt.Sprintf("%s (#%d)", p, f.Occurrence)
			}
			field := f.Field
			if f.Side != "" {
				field = fmt.Sprintf("%s (%s)", field, f.Side)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", f.Kind, f.Class, mdCode(p), mdEscape(field), mdCode(f.Old), mdCode(f.New), mdEscape(f.Note))
		}
	}
	for _, h := range d.Hints() {
		fmt.Fprintf(b, "\n- hint: %s", mdEscape(h.Text))
	}
	for _, f := range d.Findings {
		if f.Diff == "" {
			continue
		}
		fence := "```"
		for strings.Contains(f.Diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(b, "\n### %s\n\n%sdiff\n%s%s\n", mdEscape(f.Path), fence, f.Diff, fence)
	}
	return b.Flush()
}

var mdReplacer = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = mdReplacer.Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + s + fence
}
