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

// streamPair writes a.tar and b.tar with GNU tar: p/a.txt differs in its
// second line, a 4 MiB p/z.bin follows, and extraB names files only b has.
func streamPair(t *testing.T, extraB ...string) (pa, pb string) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB after the text member
	for _, side := range []string{"a", "b"} {
		tree := filepath.Join(dir, side+"-tree", "p")
		require.NoError(t, os.MkdirAll(tree, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, "a.txt"), []byte("one\n"+side+"\nthree\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(tree, "z.bin"), big, 0o644))
		if side == "b" {
			for _, name := range extraB {
				require.NoError(t, os.WriteFile(filepath.Join(tree, name), []byte(name+"\n"), 0o644))
			}
		}
		run(t, filepath.Join(dir, side+"-tree"), "tar", "--sort=name", "--format=gnu", "--mtime=@1700000000",
			"--owner=0", "--group=0", "--numeric-owner", "-cf", filepath.Join(dir, side+".tar"), "p")
	}
	return filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
}

const streamPairDiff = "--- a/p/a.txt\n+++ b/p/a.txt\n@@ -1,3 +1,3 @@\n one\n-a\n+b\n three\n"

// TestDiffInStepOnePass: members in the same order are compared as they
// stream by: nothing is hashed, each input is read once, and the unified
// diff of the changed text member comes from that single pass.
func TestDiffInStepOnePass(t *testing.T) {
	pa, pb := streamPair(t)
	var readsA, readsB []*atomic.Int64
	res, hashed, err := diffSourcesStats(context.Background(), countingSource(pa, &readsA), countingSource(pb, &readsB))
	require.NoError(t, err)
	require.Len(t, res.Findings, 1)
	f := res.Findings[0]
	assert.Equal(t, KindContent, f.Kind)
	assert.Equal(t, "p/a.txt", f.Path)
	assert.Equal(t, streamPairDiff, f.Diff)
	// The reported digests are those of the contents (sha256sum by hand).
	assert.Equal(t, "size 12 sha256 "+sha256Hex(t, "one\na\nthree\n"), f.Old)
	assert.Equal(t, "size 12 sha256 "+sha256Hex(t, "one\nb\nthree\n"), f.New)
	assert.Zero(t, hashed, "members in step are compared, not hashed")
	assert.Len(t, readsA, 1, "one pass over A")
	assert.Len(t, readsB, 1, "one pass over B")
}

// TestDiffSecondPassStopsEarly: a text member that was not read in step
// with its counterpart (B has an extra member before it) is re-read for
// its unified diff, and the re-read stops after it instead of reading the
// whole archive.
func TestDiffSecondPassStopsEarly(t *testing.T) {
	pa, pb := streamPair(t, "0.txt")
	st, err := os.Stat(pa)
	require.NoError(t, err)
	var readsA, readsB []*atomic.Int64
	res, hashed, err := diffSourcesStats(context.Background(), countingSource(pa, &readsA), countingSource(pb, &readsB))
	require.NoError(t, err)

	// (B's record padding also differs: GNU tar pads to 10240 bytes.)
	require.Len(t, res.Findings, 3)
	assert.Equal(t, KindArchive, res.Findings[0].Kind)
	assert.Equal(t, KindOnlyInB, res.Findings[1].Kind)
	assert.Equal(t, "p/0.txt", res.Findings[1].Path)
	assert.Equal(t, KindContent, res.Findings[2].Kind)
	assert.Equal(t, "p/a.txt", res.Findings[2].Path)
	assert.Equal(t, streamPairDiff, res.Findings[2].Diff)
	assert.Equal(t, 3, hashed, "a.txt from both inputs and 0.txt; z.bin in step again")
	for _, reads := range [][]*atomic.Int64{readsA, readsB} {
		require.Len(t, reads, 2, "one scan and one re-read per input")
		assert.GreaterOrEqual(t, reads[0].Load(), st.Size(), "the first pass reads everything")
		assert.Less(t, reads[1].Load(), st.Size()/2, "the re-read stops after p/a.txt")
	}
}
