package tarball

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/diff/*/want.diff")

// loadInput returns the archive bytes of a case input: a member spec
// (first line "# tarspec", see buildSpec) or a committed archive.
func loadInput(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	if bytes.HasPrefix(data, []byte("# tarspec")) {
		return buildSpec(t, string(data))
	}
	return data
}

// TestDiffGolden runs one subtest per testdata/diff/<case> directory and
// compares the text report with want.diff (go test -run TestDiffGolden -update
// rewrites only want.diff). The want.diff files were reviewed by hand
// against the specs.
func TestDiffGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/diff/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			pa, pb := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
			require.NoError(t, os.WriteFile(pa, loadInput(t, filepath.Join(dir, "a")), 0o644))
			require.NoError(t, os.WriteFile(pb, loadInput(t, filepath.Join(dir, "b")), 0o644))
			res, err := Diff(context.Background(), pa, pb, WithLabels("a", "b"))
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, res.WriteText(&got))
			want := filepath.Join(dir, "want.diff")
			if *update {
				require.NoError(t, os.WriteFile(want, got.Bytes(), 0o644))
				return
			}
			w, err := os.ReadFile(want)
			require.NoError(t, err)
			assert.Equal(t, string(w), got.String())
			// The identical case must say so; every other case must differ.
			assert.Equal(t, strings.HasPrefix(filepath.Base(dir), "identical"), res.Identical())
		})
	}
}
