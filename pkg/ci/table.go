package ci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

// The results table (docs/results.md): one line per re-created artifact
// of the real recipes, from their reports.

// TableHeader is the table's header and separator lines.
const TableHeader = "| release | artifact | mode | environment | verdict | what differs | time |\n|---|---|---|---|---|---|---|\n"

// maxTableMembers caps the members a table cell names.
const maxTableMembers = 8

// TableRow is one line of the results table.
type TableRow struct {
	Release  string // "NAME VERSION"
	Artifact string // "NAME FILE"
	// Mode is how the artifact was re-created: "git archive", "dist from
	// git", "dist from src" or "dist from dist".
	Mode    string
	Env     string // the recipe environment; "-" for a git-archive artifact
	Verdict string // REPRODUCED, EQUIVALENT, MISMATCH, ERROR
	// Differs names what differs from the published bytes: the class
	// counts and the members that matter (those not accepted, or those
	// accepted by the recipe), or the error.
	Differs string
	Seconds float64
}

// Table lists the rows for every artifact the reports re-created
// (skipped ones are left out), sorted by release, artifact and
// environment.
func (r *Results) Table() []TableRow {
	var rows []TableRow
	for _, e := range r.Entries {
		rep := e.Report
		for _, a := range rep.Artifacts {
			if a.Status == report.Skipped {
				continue
			}
			row := TableRow{
				Release:  rep.Recipe.Name + " " + rep.Recipe.Version,
				Artifact: a.Name + " " + a.File,
				Mode:     mode(a),
				Env:      "-",
				Verdict:  string(a.Status),
				Differs:  differs(a),
				Seconds:  a.Seconds,
			}
			if a.Method != string(recipe.MethodGitArchive) {
				row.Env = a.Env
				if row.Env == "" && rep.Env != nil {
					row.Env = rep.Env.Name
				}
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Release != b.Release {
			return a.Release < b.Release
		}
		if a.Artifact != b.Artifact {
			return a.Artifact < b.Artifact
		}
		return a.Env < b.Env
	})
	return rows
}

func mode(a report.Artifact) string {
	if a.Method == string(recipe.MethodGitArchive) {
		return "git archive"
	}
	from := a.From
	if from == "" {
		from = recipe.FromGit
	}
	return "dist from " + from
}

// differs says what differs, in one cell.
func differs(a report.Artifact) string {
	switch {
	case a.Error != "":
		return "error: " + firstLine(a.Error)
	case a.Status == report.Reproduced:
		return "nothing (bit-exact)"
	}
	v := a.Verdict
	if v == nil {
		if a.Diff != nil {
			return a.Diff.Summary + membersCell(a.Diff.Members)
		}
		return "sha256 differs; no published copy to diff"
	}
	var counts []string
	for _, c := range v.Counts {
		counts = append(counts, fmt.Sprintf("%d %s", c.Count, c.Class))
	}
	var members []string
	seen := map[string]bool{}
	add := func(ds []verdict.Difference, recipeOnly bool) {
		for _, d := range ds {
			if d.Path == "" || seen[d.Path] || (recipeOnly && d.Rule == 0) {
				continue
			}
			seen[d.Path] = true
			members = append(members, d.Path)
		}
	}
	var s string
	if v.Status == verdict.Equivalent {
		add(v.Accepted, true)
		s = fmt.Sprintf("%d accepted", len(v.Accepted))
		if len(members) > 0 {
			s += " (by the recipe: " + strings.Join(capList(members), ", ") + ")"
		}
	} else {
		add(v.Unaccepted, false)
		sort.Strings(members)
		s = fmt.Sprintf("%d not accepted", len(v.Unaccepted)) + membersCell(members)
	}
	if len(counts) > 0 {
		s = strings.Join(counts, " · ") + "; " + s
	}
	return s
}

func membersCell(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return ": " + strings.Join(capList(m), ", ")
}

func capList(m []string) []string {
	if len(m) <= maxTableMembers {
		return m
	}
	return append(append([]string(nil), m[:maxTableMembers]...), fmt.Sprintf("and %d more", len(m)-maxTableMembers))
}

// Line is the row as a Markdown table line (with its newline).
func (t TableRow) Line() string {
	return t.Key() + " " + mdEscape(t.Verdict) + " | " + mdEscape(t.Differs) + " | " + fmt.Sprintf("%.0f s", t.Seconds) + " |\n"
}

// Key is the start of the row's line that names it: release, artifact,
// mode and environment. A table has one row per key.
func (t TableRow) Key() string {
	return "| " + mdEscape(t.Release) + " | " + mdEscape(t.Artifact) + " | " + mdEscape(t.Mode) + " | " + mdEscape(t.Env) + " |"
}

// Stable is the line without its time cell: what a re-run must give
// again for the table to be current.
func Stable(line string) string {
	parts := strings.Split(strings.TrimSuffix(line, "\n"), " | ")
	if len(parts) < 3 {
		return line
	}
	return strings.Join(parts[:len(parts)-1], " | ") + " |"
}

// UpdateTable returns doc (a Markdown file holding a results table) with
// the rows replaced or added: a row whose key is in doc replaces that
// line, others are inserted in order. Lines outside the table are kept.
// A doc without a table gets one at its end.
func UpdateTable(doc []byte, rows []TableRow) []byte {
	lines := strings.SplitAfter(string(doc), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	head := strings.SplitAfter(TableHeader, "\n")[0]
	start := -1
	for i, l := range lines {
		if l == head {
			start = i
			break
		}
	}
	if start < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			lines = append(lines, "\n")
		}
		start = len(lines)
		lines = append(lines, strings.SplitAfter(strings.TrimSuffix(TableHeader, "\n"), "\n")...)
		lines[len(lines)-1] += "\n"
	}
	end := start + 2
	for end < len(lines) && strings.HasPrefix(lines[end], "| ") {
		end++
	}
	table := map[string]string{}
	for _, l := range lines[start+2 : end] {
		table[keyOf(l)] = l
	}
	for _, r := range rows {
		table[r.Key()] = r.Line()
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, l := range lines[:start+2] {
		b.WriteString(l)
	}
	for _, k := range keys {
		b.WriteString(table[k])
	}
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	return b.Bytes()
}

// NewTableDoc is the start of a results table file that does not exist
// yet.
const NewTableDoc = "# Results of the real recipes\n\n"

// UpdateTableFile applies UpdateTable to the file at path (NewTableDoc
// when it does not exist) and writes it atomically.
func UpdateTableFile(path string, rows []TableRow) error {
	doc, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		doc = []byte(NewTableDoc)
	case err != nil:
		return fmt.Errorf("ci: %w", err)
	}
	doc = UpdateTable(doc, rows)
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(doc); return err })
}

// keyOf is the key part (the first four cells) of a table line. Cells
// are mdEscape'd, so " | " only separates them.
func keyOf(line string) string {
	parts := strings.Split(strings.TrimSuffix(line, "\n"), " | ")
	if len(parts) < 5 {
		return line
	}
	return strings.Join(parts[:4], " | ") + " |"
}

// WriteTable writes the rows as a complete results table (header
// included).
func WriteTable(w io.Writer, rows []TableRow) error {
	var b bytes.Buffer
	b.WriteString(TableHeader)
	for _, r := range rows {
		b.WriteString(r.Line())
	}
	_, err := w.Write(b.Bytes())
	return err
}
