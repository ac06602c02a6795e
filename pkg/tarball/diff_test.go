package tarball

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiffOptions(t *testing.T) {
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(pa, loadInput(t, "testdata/diff/content-text/a"), 0o644))
	require.NoError(t, os.WriteFile(pb, loadInput(t, "testdata/diff/content-text/b"), 0o644))
	ctx := context.Background()

	res, err := Diff(ctx, pa, pb, WithMaxDiffLines(4))
	require.NoError(t, err)
	news := res.Findings[1]
	require.Equal(t, KindContent, news.Kind)
	require.Equal(t, "p/NEWS", news.Path)
	// The full diff has 13 lines (---, +++, @@, 10 body lines): 4 shown.
	assert.Equal(t, "--- a/p/NEWS\n+++ b/p/NEWS\n@@ -1,8 +1,9 @@\n line 1\n... 9 more lines not shown (--max-diff-lines)\n", news.Diff)

	res, err = Diff(ctx, pa, pb, WithNoContent())
	require.NoError(t, err)
	for _, f := range res.Findings {
		assert.Empty(t, f.Diff)
	}
	assert.Equal(t, KindContent, res.Findings[1].Kind)

	res, err = Diff(ctx, pa, pb, WithMaxTextSize(10, 1<<20))
	require.NoError(t, err)
	assert.Equal(t, "text diff omitted: larger than 10 B", res.Findings[1].Note)

	var md strings.Builder
	require.NoError(t, res.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| content | `p/NEWS` |")
}
