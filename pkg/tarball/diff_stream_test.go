package tarball

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingSource opens p and counts, per open, the bytes read from it.
func countingSource(p string, reads *[]*atomic.Int64) source {
	return source{name: p, open: func() (io.ReadCloser, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		n := &atomic.Int64{}
		*reads = append(*reads, n)
		return &countingFile{f: f, n: n}, nil
	}}
}

type countingFile struct {
	f *os.File
	n *atomic.Int64
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingFile) Close() error { return c.f.Close() }

// TestDiffSecondPassStopsEarly: the re-read for unified diffs stops after
// the last wanted member instead of reading the whole archive.
func TestDiffSecondPassStopsEarly(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB after the text member
	for _, side := range []string{"a", "b"} {
		tree := filepath.Join(dir, side+"-tree", "p")
		require.NoError(t, os.MkdirAll(tree, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, "a.txt"), []byte("one\n"+side+"\nthree\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(tree, "z.bin"), big, 0o644))
		run(t, filepath.Join(dir, side+"-tree"), "tar", "--sort=name", "--format=gnu", "--mtime=@1700000000",
			"--owner=0", "--group=0", "--numeric-owner", "-cf", filepath.Join(dir, side+".tar"), "p")
	}
	pa, pb := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	st, err := os.Stat(pa)
	require.NoError(t, err)
	var readsA, readsB []*atomic.Int64
	res, err := diffSources(context.Background(), countingSource(pa, &readsA), countingSource(pb, &readsB))
	require.NoError(t, err)

	require.Len(t, res.Findings, 1)
	assert.Equal(t, KindContent, res.Findings[0].Kind)
	assert.Equal(t, "p/a.txt", res.Findings[0].Path)
	assert.Equal(t, "--- a/p/a.txt\n+++ b/p/a.txt\n@@ -1,3 +1,3 @@\n one\n-a\n+b\n three\n", res.Findings[0].Diff)
	for _, reads := range [][]*atomic.Int64{readsA, readsB} {
		require.Len(t, reads, 2, "one scan and one re-read per input")
		assert.Equal(t, st.Size(), reads[0].Load(), "the first pass reads everything")
		assert.Less(t, reads[1].Load(), st.Size()/2, "the re-read stops after p/a.txt")
	}
}
