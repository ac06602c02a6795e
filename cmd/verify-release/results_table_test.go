package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/ci"
)

// resultsDoc is the committed results table of the real recipes.
var resultsDoc = filepath.Join("..", "..", "docs", "results.md")

var resultsMu sync.Mutex

// checkResultsTable checks that docs/results.md is current for the
// reports under out (the recipes a corpus test just ran): each row, but
// for its time cell, is the one the table has. With
// VERIFY_RELEASE_UPDATE_RESULTS=1 it writes the rows into the table
// instead ('verify-release ci table' does the same from any results
// directory).
func checkResultsTable(t *testing.T, out string) {
	t.Helper()
	res, err := ci.Collect(context.Background(), out)
	require.NoError(t, err)
	rows := res.Table()
	require.NotEmpty(t, rows, "no re-created artifact under %s", out)
	resultsMu.Lock()
	defer resultsMu.Unlock()
	doc, err := os.ReadFile(resultsDoc)
	if os.Getenv("VERIFY_RELEASE_UPDATE_RESULTS") == "1" {
		if os.IsNotExist(err) {
			doc, err = []byte("# Results of the real recipes\n\n"), nil
		}
		require.NoError(t, err)
		doc = ci.UpdateTable(doc, rows)
		require.NoError(t, atomicfile.Write(resultsDoc, func(w io.Writer) error { _, err := w.Write(doc); return err }))
		return
	}
	require.NoError(t, err, "docs/results.md is missing: run the corpus tests with VERIFY_RELEASE_UPDATE_RESULTS=1")
	lines := strings.Split(string(doc), "\n")
	for _, r := range rows {
		var found string
		for _, l := range lines {
			if strings.HasPrefix(l, r.Key()+" ") {
				found = l
				break
			}
		}
		if !assert.NotEmpty(t, found, "docs/results.md has no row %s; run the corpus tests with VERIFY_RELEASE_UPDATE_RESULTS=1 (or 'verify-release ci table') and commit it", r.Key()) {
			continue
		}
		assert.Equal(t, ci.Stable(r.Line()), ci.Stable(found), "docs/results.md is not current for %s; run the corpus tests with VERIFY_RELEASE_UPDATE_RESULTS=1 and commit it", r.Key())
	}
}
