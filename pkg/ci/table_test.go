package ci

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

func TestResultsTable(t *testing.T) {
	res := &Results{Entries: []*Entry{{Report: &report.Report{
		Recipe: report.Recipe{Name: "libntlm", Version: "1.8"},
		Env:    &report.Env{Name: "debian-bookworm"},
		Artifacts: []report.Artifact{
			{Name: "src", File: "libntlm-1.8-src.tar.gz", Method: "git-archive", Status: report.Skipped},
			{Name: "dist", File: "libntlm-1.8.tar.gz", Method: "build", From: "src", Env: "debian-bookworm", Status: report.Equivalent, Seconds: 52.4,
				Verdict: &verdict.Verdict{Status: verdict.Equivalent,
					Accepted: []verdict.Difference{{Path: "libntlm-1.8/build-aux/ltmain.sh", Class: tarball.ClassContent, Rule: 1}},
					Counts:   []tarball.ClassCount{{Class: tarball.ClassContent, Count: 1}}}},
		},
	}}, {Report: &report.Report{
		Recipe: report.Recipe{Name: "gss", Version: "1.0.4"},
		Env:    &report.Env{Name: "default"},
		Artifacts: []report.Artifact{
			{Name: "dist", File: "gss-1.0.4.tar.gz", Method: "build", From: "dist", Status: report.Mismatch, Seconds: 70,
				Verdict: &verdict.Verdict{Status: verdict.Different,
					Unaccepted: []verdict.Difference{{Path: "gss-1.0.4/doc/gss.info", Class: tarball.ClassContent}, {Path: "gss-1.0.4/configure", Class: tarball.ClassContent}},
					Accepted:   []verdict.Difference{{Path: "gss-1.0.4/a", Class: tarball.ClassMtime}},
					Counts:     []tarball.ClassCount{{Class: tarball.ClassContent, Count: 2}, {Class: tarball.ClassMtime, Count: 1}}}},
		},
	}}}}
	rows := res.Table()
	require.Len(t, rows, 2, "the skipped src artifact has no row")
	var b strings.Builder
	require.NoError(t, WriteTable(&b, rows))
	assert.Equal(t, TableHeader+
		"| gss 1.0.4 | dist gss-1.0.4.tar.gz | dist from dist | default | MISMATCH | 2 content · 1 mtime; 2 not accepted: gss-1.0.4/configure, gss-1.0.4/doc/gss.info | 70 s |\n"+
		"| libntlm 1.8 | dist libntlm-1.8.tar.gz | dist from src | debian-bookworm | EQUIVALENT | 1 content; 1 accepted (by the recipe: libntlm-1.8/build-aux/ltmain.sh) | 52 s |\n",
		b.String())

	// Stable drops only the time cell.
	assert.Equal(t, "| a | b | c | d | V | x |", Stable("| a | b | c | d | V | x | 12 s |\n"))

	// UpdateTable replaces the row with the same key, adds new ones in
	// order, and keeps every other line.
	doc := "# Results\n\nProse before.\n\n" + TableHeader +
		"| aaa 1 | dist aaa-1.tar.gz | dist from dist | default | REPRODUCED | nothing (bit-exact) | 3 s |\n" +
		"| libntlm 1.8 | dist libntlm-1.8.tar.gz | dist from src | debian-bookworm | MISMATCH | old | 9 s |\n" +
		"\nProse after.\n"
	got := string(UpdateTable([]byte(doc), rows))
	assert.Equal(t, "# Results\n\nProse before.\n\n"+TableHeader+
		"| aaa 1 | dist aaa-1.tar.gz | dist from dist | default | REPRODUCED | nothing (bit-exact) | 3 s |\n"+
		rows[0].Line()+rows[1].Line()+
		"\nProse after.\n", got)
	// Idempotent.
	assert.Equal(t, got, string(UpdateTable([]byte(got), rows)))
	// A doc without a table gets one at its end.
	assert.Equal(t, "# R\n\n"+TableHeader+rows[0].Line()+rows[1].Line(), string(UpdateTable([]byte("# R\n"), rows)))
}
