package tarball

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceJSON is the report as encoding/json's Encoder writes it in one
// piece; WriteJSON streams the findings and must produce the same bytes.
func referenceJSON(t *testing.T, d *DiffResult) string {
	rep := JSONReport{Schema: JSONSchema, Version: JSONVersion, Identical: d.Identical(), TarIdentical: d.TarIdentical(),
		Summary: d.Summary(), Classes: d.ClassCounts(), Hints: d.Hints(), A: d.A, B: d.B, Findings: d.Findings, Warnings: d.Warnings}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []Finding{}
	}
	for _, f := range []*FileInfo{&rep.A, &rep.B} {
		if f.Formats == nil {
			f.Formats = []string{}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(rep))
	return b.String()
}

func TestWriteJSONMatchesEncoder(t *testing.T) {
	dirs, err := filepath.Glob("testdata/diff/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			tmp := t.TempDir()
			pa, pb := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
			require.NoError(t, os.WriteFile(pa, loadInput(t, filepath.Join(dir, "a")), 0o644))
			require.NoError(t, os.WriteFile(pb, loadInput(t, filepath.Join(dir, "b")), 0o644))
			res, err := Diff(context.Background(), pa, pb, WithLabels("a", "b"))
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, res.WriteJSON(&got))
			assert.Equal(t, referenceJSON(t, res), got.String())
		})
	}
	// Hand-made results: no findings at all, and fields that need escaping.
	for _, d := range []*DiffResult{
		{A: FileInfo{Name: "x"}, B: FileInfo{Name: "x"}},
		{A: FileInfo{Name: "a<&>", SHA256: "1"}, B: FileInfo{Name: "b", SHA256: "2"},
			Findings: []Finding{{Kind: KindContent, Path: "\"q\"\u2028<", Old: "o", New: "n", Diff: "--- a\n+++ b\n-x\n+y\n"}},
			Warnings: []Finding{{Kind: KindWarning, Path: "p", Field: "device", Side: "both"}, {Kind: KindWarning, Path: "r", Side: "a"}}},
	} {
		var got bytes.Buffer
		require.NoError(t, d.WriteJSON(&got))
		assert.Equal(t, referenceJSON(t, d), got.String())
	}
}
