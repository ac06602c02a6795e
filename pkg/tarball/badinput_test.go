package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawHeader builds one ustar header block by hand (for inputs archive/tar
// refuses to write).
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "14524672000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	copy(b[148:], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// withSizeField overwrites a header's size field and fixes its checksum.
func withSizeField(b, size []byte) []byte {
	copy(b[124:136], size)
	copy(b[148:], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestNonRegularInputsRefused: a character device or a FIFO is refused
// by name before a byte is read (reading /dev/zero would never end, and
// opening a FIFO without a writer would block).
func TestNonRegularInputsRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, p := range []string{"/dev/zero", fifo, dir} {
		_, _, err := Checksum(context.Background(), p)
		require.ErrorIs(t, err, ErrNotRegular, p)
		assert.Contains(t, err.Error(), p)
		_, err = FileSHA256(context.Background(), p)
		require.ErrorIs(t, err, ErrNotRegular, p)
		_, err = Diff(context.Background(), p, p)
		require.ErrorIs(t, err, ErrNotRegular, p)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	gnuTar(t, dir, "p.tar")
	sh(t, dir, `gzip -n -c p.tar > p.tar.gz; xz -c p.tar > p.tar.xz; zstd -q -c p.tar > p.tar.zst; bzip2 -c p.tar > p.tar.bz2
for f in p.tar.gz p.tar.xz p.tar.zst p.tar.bz2; do head -c $(( $(stat -c %s $f) / 2 )) $f > half-$f; done
head -c 1000 p.tar > cut-member.tar
echo 'just some text, not an archive' > notes.txt
: > empty.tar`)
	write := func(name string, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	// Second header's checksum broken (the first would make it "not an archive").
	tarData, err := os.ReadFile(filepath.Join(dir, "p.tar"))
	require.NoError(t, err)
	bad := bytes.Clone(tarData)
	ms, _, err := readAll(t, filepath.Join(dir, "p.tar"))
	require.NoError(t, err)
	bad[ms[1].Offset+1] ^= 0x40
	write("bad-checksum.tar", bad)
	// A pax record claiming an absurd length.
	paxData := []byte("99999999999999999999 path=x\n")
	absurd := append(rawHeader("PaxHeaders/x", tar.TypeXHeader, int64(len(paxData))), paxData...)
	absurd = append(absurd, make([]byte, 512-len(paxData))...)
	absurd = append(absurd, rawHeader("x", tar.TypeReg, 0)...)
	write("absurd-pax.tar", append(absurd, make([]byte, 1024)...))
	// A member claiming 10 GiB with no data.
	write("huge-claim.tar", append(rawHeader("huge", tar.TypeReg, 10<<30), make([]byte, 1024)...))
	// Size fields in base-256: negative, and 2^62.
	write("negative-size.tar", append(withSizeField(rawHeader("neg", tar.TypeReg, 0), append([]byte{0xff}, bytes.Repeat([]byte{0xff}, 11)...)), make([]byte, 1024)...))
	write("size-2p62.tar", append(withSizeField(rawHeader("big", tar.TypeReg, 0), []byte{0x80, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0}), make([]byte, 1024)...))

	cases := []struct {
		file string
		want error
		opts []Option
	}{
		{"half-p.tar.gz", ErrTruncated, nil},
		{"half-p.tar.xz", ErrTruncated, nil},
		{"half-p.tar.xz", ErrTruncated, []Option{WithXZDecoder(XZGo)}},
		{"half-p.tar.zst", ErrTruncated, nil},
		{"half-p.tar.bz2", ErrTruncated, nil},
		{"cut-member.tar", ErrTruncated, nil},
		{"bad-checksum.tar", ErrCorrupt, nil},
		{"absurd-pax.tar", ErrCorrupt, nil},
		{"huge-claim.tar", ErrTruncated, nil},
		{"negative-size.tar", ErrCorrupt, nil},
		{"size-2p62.tar", ErrTruncated, nil},
		{"notes.txt", ErrNotArchive, nil},
		{"empty.tar", ErrEmpty, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := readAll(t, filepath.Join(dir, c.file), c.opts...)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.file, "error names the file")
			var ie *InputError
			assert.True(t, errors.As(err, &ie))
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bounded allocation")
			// Diff and Checksum report the same problem instead of panicking.
			_, derr := Diff(context.Background(), filepath.Join(dir, c.file), filepath.Join(dir, "p.tar"), c.opts...)
			require.ErrorIs(t, derr, c.want)
			_, _, cerr := Checksum(context.Background(), filepath.Join(dir, c.file), c.opts...)
			require.ErrorIs(t, cerr, c.want)
			assert.Contains(t, cerr.Error(), c.file)
		})
	}
}

// TestDecompressionBomb: 1 GiB of zeros gzip'ed to about 1 MiB stops at the
// limit with the ratio in the message and without memory growth.
func TestDecompressionBomb(t *testing.T) {
	dir := t.TempDir()
	sh(t, dir, "head -c 1073741824 /dev/zero | gzip -1 > bomb.tar.gz")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := readAll(t, filepath.Join(dir, "bomb.tar.gz"), WithMaxSize(256<<20))
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrTooLarge)
	var le *LimitError
	require.True(t, errors.As(err, &le))
	assert.Equal(t, int64(256<<20), le.Limit)
	assert.Contains(t, err.Error(), "bomb.tar.gz")
	assert.Contains(t, err.Error(), "more than 256.0 MiB decompressed from")
	assert.Contains(t, err.Error(), "possible decompression bomb")
	assert.Less(t, after.HeapInuse, before.HeapInuse+32<<20)
	_, _, err = Checksum(context.Background(), filepath.Join(dir, "bomb.tar.gz"), WithMaxSize(256<<20))
	require.ErrorIs(t, err, ErrTooLarge)
}

// TestSparseClaim: a GNU tar sparse member of 10 GiB (real size ~0) is
// bounded by the limit and never allocated.
func TestSparseClaim(t *testing.T) {
	dir := t.TempDir()
	sh(t, dir, "truncate -s 10G big && printf data >> big && tar --sparse -cf sparse.tar big && rm big")
	st, err := os.Stat(filepath.Join(dir, "sparse.tar"))
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(1<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err = readAll(t, filepath.Join(dir, "sparse.tar"), WithMaxSize(64<<20))
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.Contains(t, err.Error(), "sparse.tar")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20))
}
