package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func normalizeFile(t *testing.T, in, out string, opts ...Option) {
	t.Helper()
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	var buf bytes.Buffer
	require.NoError(t, Normalize(context.Background(), f, &buf, opts...))
	require.NoError(t, os.WriteFile(out, buf.Bytes(), 0o644))
}

// TestNormalizeGNUTarAndGitArchive: the same tree archived by GNU tar
// (unsorted, owner 1234) and by git archive normalizes to the same bytes,
// and normalizing twice gives the same bytes. Checked with real tar.
func TestNormalizeGNUTarAndGitArchive(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	run(t, dir, "tar", "--owner=1234", "--group=5678", "--mtime=@1600000000", "-czf", "gnu.tar.gz", "p-1.0")
	repo := filepath.Join(dir, "p-1.0")
	sh(t, repo, `git init -q . && git -c user.name=t -c user.email=t@example.org add -A &&
git -c user.name=t -c user.email=t@example.org commit -q -m one && git archive --format=tar --prefix=p-1.0/ -o ../git.tar HEAD && rm -rf .git`)
	opts := []Option{WithMTime(time.Unix(1700000000, 0)), WithOwner(OwnerRoot), WithModeNormalize(), WithSort(),
		WithCompressor(Gzip, 9)}
	for _, c := range []string{"gnu.tar.gz", "git.tar"} {
		normalizeFile(t, filepath.Join(dir, c), filepath.Join(dir, c+".norm1"), opts...)
		normalizeFile(t, filepath.Join(dir, c+".norm1"), filepath.Join(dir, c+".norm2"), opts...)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return b
	}
	assert.Equal(t, read("gnu.tar.gz.norm1"), read("gnu.tar.gz.norm2"), "idempotent")
	assert.Equal(t, read("gnu.tar.gz.norm1"), read("git.tar.norm1"), "GNU tar and git archive normalize alike")
	// gzip header: MTIME 0, no FNAME (RFC 1952 bytes 3..7).
	n := read("git.tar.norm1")
	assert.Equal(t, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, n[:8])
	listing := string(run(t, dir, "tar", "--numeric-owner", "--full-time", "-tvzf", "git.tar.norm1"))
	assert.Equal(t, `drwxr-xr-x 0/0               0 2023-11-14 22:13:20 p-1.0/
-rw-r--r-- 0/0            2000 2023-11-14 22:13:20 p-1.0/NEWS
-rw-r--r-- 0/0               6 2023-11-14 22:13:20 p-1.0/README
-rwxr-xr-x 0/0              26 2023-11-14 22:13:20 p-1.0/configure
drwxr-xr-x 0/0               0 2023-11-14 22:13:20 p-1.0/data/
-rw-r--r-- 0/0            3000 2023-11-14 22:13:20 p-1.0/data/zeros
lrwxr-xr-x 0/0               0 2023-11-14 22:13:20 p-1.0/main-link -> src/main.c
drwxr-xr-x 0/0               0 2023-11-14 22:13:20 p-1.0/src/
-rw-r--r-- 0/0               0 2023-11-14 22:13:20 p-1.0/src/empty.h
-rw-r--r-- 0/0              29 2023-11-14 22:13:20 p-1.0/src/main.c
`, listing)
	assert.Contains(t, string(run(t, dir, "tar", "-tvzf", "git.tar.norm1")), " root/root ")
}

func TestNormalizeOptions(t *testing.T) {
	dir := t.TempDir()
	in := buildSpec(t, `# tarspec
dir z/ mtime=1500000000 uid=7 uname=bob
reg z/new content="new\n" mtime=1800000000 mode=664
reg a content="a\n" mtime=1500000000 mode=600`)
	ctx := context.Background()
	read := func(data []byte) []*Member {
		p := filepath.Join(dir, "x")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		ms, _, err := readAll(t, p)
		require.NoError(t, err)
		return ms
	}
	var out bytes.Buffer
	require.NoError(t, Normalize(ctx, bytes.NewReader(in), &out, WithClampMTime(time.Unix(1600000000, 0)), WithOwner(OwnerNumeric),
		WithFormat(tar.FormatUSTAR)))
	ms := read(out.Bytes())
	require.Len(t, ms, 3)
	assert.Equal(t, "z/", ms[0].Name, "order kept without WithSort")
	assert.Equal(t, int64(1500000000), ms[0].ModTime.Unix())
	assert.Equal(t, int64(1600000000), ms[1].ModTime.Unix())
	assert.Equal(t, "", ms[0].Uname)
	assert.Equal(t, 0, ms[0].UID)
	assert.Equal(t, int64(0o664), ms[1].Mode)
	assert.Equal(t, "ustar", ms[1].Format)

	out.Reset()
	require.NoError(t, Normalize(ctx, bytes.NewReader(in), &out, WithSort(), WithModeNormalize(), WithFormat(tar.FormatGNU)))
	ms = read(out.Bytes())
	assert.Equal(t, []string{"a", "z/", "z/new"}, []string{ms[0].Name, ms[1].Name, ms[2].Name})
	assert.Equal(t, int64(0o644), ms[0].Mode) // GNU tar --mode=go+u,go-w: 0600 -> 0666 -> 0644
	assert.Equal(t, "gnu", ms[0].Format)
}

// TestNormalizeCompressors checks each output with the real tool's -t.
func TestNormalizeCompressors(t *testing.T) {
	dir := t.TempDir()
	in := buildSpec(t, "# tarspec\nreg p/README content=\"hello\\n\"\n")
	for _, c := range []struct {
		comp  Compression
		level int
		check string
	}{{Gzip, 9, "gzip -t"}, {XZ, 0, "xz -t"}, {Zstd, 19, "zstd -q -t"}, {Bzip2, 0, "bzip2 -t"}, {None, 0, "tar -tf"}} {
		var a, b bytes.Buffer
		require.NoError(t, Normalize(context.Background(), bytes.NewReader(in), &a, WithCompressor(c.comp, c.level)))
		require.NoError(t, Normalize(context.Background(), bytes.NewReader(in), &b, WithCompressor(c.comp, c.level)))
		assert.Equal(t, a.Bytes(), b.Bytes(), "%s deterministic", c.comp)
		p := filepath.Join(dir, "out."+string(c.comp))
		require.NoError(t, os.WriteFile(p, a.Bytes(), 0o644))
		sh(t, dir, c.check+" "+p)
		_, ar, err := readAll(t, p)
		require.NoError(t, err)
		assert.Equal(t, c.comp, ar.Compression.Format)
	}
	err := Normalize(context.Background(), bytes.NewReader(in), &bytes.Buffer{}, WithCompressor("lz4", 0))
	require.ErrorIs(t, err, ErrUnsupported)
	err = Normalize(context.Background(), strings.NewReader("not a tar"), &bytes.Buffer{})
	require.ErrorIs(t, err, ErrNotArchive)
}

// TestNormalizeGzipIsGNUGzip: the gzip output is the bytes GNU gzip -cn
// makes of the uncompressed normalized tar (the real gzip is the oracle).
func TestNormalizeGzipIsGNUGzip(t *testing.T) {
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Fatalf("gzip is needed as the oracle: %v", err)
	}
	var spec strings.Builder
	spec.WriteString("# tarspec\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&spec, "reg p/f%03d content=\"file %d: %s\\n\"\n", i, i, strings.Repeat(fmt.Sprint(i*i), i%17))
	}
	in := buildSpec(t, spec.String())
	var plain bytes.Buffer
	require.NoError(t, Normalize(context.Background(), bytes.NewReader(in), &plain))
	for _, level := range []int{0, 1, 9} {
		var got bytes.Buffer
		require.NoError(t, Normalize(context.Background(), bytes.NewReader(in), &got, WithCompressor(Gzip, level)))
		args := []string{"-cn"}
		if level != 0 {
			args = append(args, fmt.Sprintf("-%d", level))
		}
		cmd := exec.Command("gzip", args...)
		cmd.Stdin = bytes.NewReader(plain.Bytes())
		want, err := cmd.Output()
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got.Bytes()), "gzip %v: %d bytes want, %d got", args, len(want), got.Len())
	}
}
