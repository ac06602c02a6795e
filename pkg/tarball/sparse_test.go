package tarball

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sparseFormats are GNU tar's ways of storing a sparse file.
var sparseFormats = map[string]string{
	"gnu":     "--format=gnu",
	"pax-0.0": "--posix --pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f --sparse-version=0.0",
	"pax-0.1": "--posix --pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f --sparse-version=0.1",
	"pax-1.0": "--posix --pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f --sparse-version=1.0",
}

// sparseTar has GNU tar store a file of size bytes (holes, "data" at 1
// MiB and "DATA" or tail at the end) in format, and returns its path.
func sparseTar(t *testing.T, dir, name, format string, size int64, tail string) string {
	t.Helper()
	d := filepath.Join(dir, name+".d")
	require.NoError(t, os.MkdirAll(d, 0o755))
	f, err := os.Create(filepath.Join(d, "big"))
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("data"), 1<<20)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(tail), size-int64(len(tail)))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out := filepath.Join(dir, name+".tar")
	sh(t, d, "tar --sparse --mtime=@0 --owner=0 --group=0 --numeric-owner "+format+" -cf "+out+" big && rm big")
	return out
}

// TestSparseNotExpanded: sparse members of 1 TB (as GNU tar writes them in
// each of its formats) are read, compared and checksummed by map and
// stored data. Expanding one would take many minutes; the context's
// deadline would end the test with context.DeadlineExceeded.
func TestSparseNotExpanded(t *testing.T) {
	needTool(t, "tar")
	const tb = int64(1) << 40
	for name, format := range sparseFormats {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			a := sparseTar(t, dir, "a", format, tb, "tail")
			// b differs from a in one stored byte, c not at all (GNU tar
			// puts its pid in PAX 1.0 names, so a second run would differ).
			data, err := os.ReadFile(a)
			require.NoError(t, err)
			c := filepath.Join(dir, "c.tar")
			require.NoError(t, os.WriteFile(c, data, 0o644))
			require.Equal(t, 1, bytes.Count(data, []byte("tail")))
			b := filepath.Join(dir, "b.tar")
			require.NoError(t, os.WriteFile(b, bytes.Replace(data, []byte("tail"), []byte("TAIL"), 1), 0o644))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			opts := []Option{WithMaxSize(2 * tb)}

			ms, _, err := readAll(t, a, opts...)
			require.NoError(t, err)
			require.Len(t, ms, 1)
			assert.Equal(t, tb, ms[0].Size)
			assert.False(t, ms[0].Text)

			res, err := Diff(ctx, a, c, opts...)
			require.NoError(t, err)
			assert.True(t, res.TarIdentical(), "same file, same map: %v", res.Findings)
			res, err = Diff(ctx, a, b, opts...)
			require.NoError(t, err)
			require.Len(t, res.Findings, 1, "different stored data: %v", res.Findings)
			assert.Equal(t, "big", res.Findings[0].Path)
			assert.Equal(t, KindContent, res.Findings[0].Kind)

			// The tar stream digest is the file's, as sha256sum says.
			_, tarSum, err := Checksum(ctx, a, opts...)
			require.NoError(t, err)
			assert.Equal(t, sha256sum(t, dir, a), tarSum)

			// Over the limit: refused before a hole is produced.
			_, _, err = readAll(t, a)
			var le *LimitError
			require.True(t, errors.As(err, &le), "%v", err)
			assert.Equal(t, tb, le.Sparse)
			assert.Contains(t, err.Error(), "a sparse member declares 1.0 TiB")
			require.NoError(t, ctx.Err())
		})
	}
}

// TestSparseNormalizeExpands: normalize writes a sparse member out in
// full (within the limit), byte for byte what GNU tar extracts.
func TestSparseNormalizeExpands(t *testing.T) {
	needTool(t, "tar")
	for name, format := range sparseFormats {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in := sparseTar(t, dir, "a", format, 3<<20, "tail")
			f, err := os.Open(in)
			require.NoError(t, err)
			defer f.Close()
			var out bytes.Buffer
			require.NoError(t, Normalize(context.Background(), f, &out, WithCompressor(None, 0)))
			norm := filepath.Join(dir, "norm.tar")
			require.NoError(t, os.WriteFile(norm, out.Bytes(), 0o644))
			x := filepath.Join(dir, "x")
			require.NoError(t, os.MkdirAll(filepath.Join(x, "orig"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(x, "norm"), 0o755))
			sh(t, x, "tar -xf "+in+" -C orig && tar -xf "+norm+" -C norm && cmp orig/big norm/big")
			st, err := os.Stat(filepath.Join(x, "norm", "big"))
			require.NoError(t, err)
			assert.Equal(t, int64(3<<20), st.Size())
			// A small limit stops it up front.
			_, err = f.Seek(0, 0)
			require.NoError(t, err)
			err = Normalize(context.Background(), f, &bytes.Buffer{}, WithCompressor(None, 0), WithMaxSize(1<<20))
			require.ErrorIs(t, err, ErrTooLarge)
			assert.True(t, strings.Contains(err.Error(), "sparse member declares 3.0 MiB"), err.Error())
		})
	}
}

// TestSparseBomb208: the attack run's case, a gzip'ed PAX 1.0 sparse
// member of 1e12 bytes holding 4 data bytes, is refused by every reader
// as soon as its header is read.
func TestSparseBomb208(t *testing.T) {
	needTool(t, "tar")
	needTool(t, "gzip")
	dir := t.TempDir()
	in := sparseTar(t, dir, "s", "--posix --pax-option=delete=atime,delete=ctime,exthdr.name=%d/PaxHeaders/%f --sparse-version=1.0", 1e12, "data")
	sh(t, dir, "gzip -9n s.tar")
	in += ".gz"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := Diff(ctx, in, in)
	require.ErrorIs(t, err, ErrTooLarge)
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	err = Normalize(ctx, f, &bytes.Buffer{})
	require.ErrorIs(t, err, ErrTooLarge)
	_, _, err = readAll(t, in)
	require.ErrorIs(t, err, ErrTooLarge)
	require.NoError(t, ctx.Err())
}

// TestSparseMapMismatch: a GNU sparse map that lists more data than the
// member stores is corrupt for every reader, as archive/tar would find
// when expanding it.
func TestSparseMapMismatch(t *testing.T) {
	needTool(t, "tar")
	dir := t.TempDir()
	in := sparseTar(t, dir, "a", sparseFormats["gnu"], 4<<20, "tail")
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	n, ok := parseNumeric(data[386+12 : 386+24])
	require.True(t, ok)
	copy(data[386+12:386+24], fmt.Sprintf("%011o\x00", n+512))
	bad := filepath.Join(dir, "bad.tar")
	withSizeField(data[:512], bytes.Clone(data[124:136])) // fixes the header checksum
	require.NoError(t, os.WriteFile(bad, data, 0o644))
	_, _, err = readAll(t, bad)
	require.ErrorIs(t, err, ErrCorrupt)
	_, _, err = Checksum(context.Background(), bad)
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = Diff(context.Background(), bad, in)
	require.ErrorIs(t, err, ErrCorrupt)
}
