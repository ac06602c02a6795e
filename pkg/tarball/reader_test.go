package tarball

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t testing.TB, path string, opts ...Option) ([]*Member, *Archive, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := Open(context.Background(), f, append([]Option{WithName(path)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var ms []*Member
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ms, r.Archive(), nil
		}
		if err != nil {
			return ms, nil, err
		}
		ms = append(ms, m)
	}
}

func sha256sum(t testing.TB, dir, file string) string {
	t.Helper()
	out := run(t, dir, "sha256sum", file)
	return strings.Fields(string(out))[0]
}

// TestOpenRealCompressors compresses a GNU tar with the real gzip, xz,
// zstd and bzip2 and checks names against `tar -tf`, content hashes
// against sha256sum and the tar stream hash against sha256sum of the tar.
func TestOpenRealCompressors(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	tarPath := gnuTar(t, dir, "p.tar")
	names := strings.Split(strings.TrimSpace(string(run(t, dir, "tar", "-tf", "p.tar"))), "\n")
	wantTar := sha256sum(t, dir, "p.tar")
	wantMain := sha256sum(t, dir, "p-1.0/src/main.c")
	st, err := os.Stat(tarPath)
	require.NoError(t, err)

	cases := []struct {
		file   string
		script string
		comp   Compression
		opts   []Option
	}{
		{"p.tar", "true", None, nil},
		{"p.tar.gz", "gzip -n -9 -c p.tar > p.tar.gz", Gzip, nil},
		{"p.tar.xz", "xz -c p.tar > p.tar.xz", XZ, nil},
		{"p.tar.xz", "true", XZ, []Option{WithXZDecoder(XZGo)}},
		{"p.tar.zst", "zstd -q -c p.tar > p.tar.zst", Zstd, nil},
		{"p.tar.bz2", "bzip2 -c p.tar > p.tar.bz2", Bzip2, nil},
		{"renamed.txt", "gzip -n -c p.tar > renamed.txt", Gzip, nil}, // detection ignores the name
	}
	for _, c := range cases {
		t.Run(c.file+string(c.comp), func(t *testing.T) {
			sh(t, dir, c.script)
			ms, ar, err := readAll(t, filepath.Join(dir, c.file), c.opts...)
			require.NoError(t, err)
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
				if m.Name == "p-1.0/src/main.c" {
					assert.Equal(t, wantMain, m.SHA256)
					assert.True(t, m.Text)
				}
				if m.Name == "p-1.0/data/zeros" {
					assert.False(t, m.Text)
				}
				if m.Name == "p-1.0/main-link" {
					assert.Equal(t, "src/main.c", m.Linkname)
				}
				assert.Equal(t, int64(1700000000), m.ModTime.Unix())
			}
			assert.Equal(t, names, got)
			assert.Equal(t, c.comp, ar.Compression.Format)
			assert.Equal(t, wantTar, ar.TarSHA256)
			assert.Equal(t, st.Size(), ar.TarSize)
			assert.Equal(t, 2, ar.EndMarkerBlocks)
			assert.Zero(t, st.Size()%10240, "GNU tar pads to its 10240-byte record")
			assert.Equal(t, []string{"gnu"}, ar.Formats) // Debian's GNU tar defaults to --format=gnu
			fst, err := os.Stat(filepath.Join(dir, c.file))
			require.NoError(t, err)
			assert.Equal(t, fst.Size(), ar.Compression.Size)
		})
	}
}

func TestCompressionHeaders(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	gnuTar(t, dir, "p.tar")
	sh(t, dir, `touch -d @1600000000 p.tar
gzip -c p.tar > named.tar.gz
gzip -n -c p.tar > plain.tar.gz
head -c 5000 p.tar | gzip -n > m1.gz; tail -c +5001 p.tar | gzip -n > m2.gz; cat m1.gz m2.gz > multi.tar.gz
printf 'junk' | cat plain.tar.gz - > trailing.tar.gz
head -c 5000 p.tar | zstd -q > z1; tail -c +5001 p.tar | zstd -q --no-check > z2; cat z1 z2 > multi.tar.zst
xz -C crc32 -c p.tar > crc32.tar.xz
bzip2 -5 -c p.tar > five.tar.bz2`)
	_, ar, err := readAll(t, filepath.Join(dir, "named.tar.gz"))
	require.NoError(t, err)
	require.Len(t, ar.Compression.Gzip, 1)
	g := ar.Compression.Gzip[0]
	assert.Equal(t, "p.tar", g.Name)
	assert.Equal(t, uint32(1600000000), g.MTime)
	assert.Equal(t, byte(0x08), g.Flags) // FNAME
	assert.Equal(t, byte(3), g.OS)       // gzip on Unix

	_, ar, err = readAll(t, filepath.Join(dir, "multi.tar.gz"))
	require.NoError(t, err)
	assert.Len(t, ar.Compression.Gzip, 2)
	assert.Equal(t, sha256sum(t, dir, "p.tar"), ar.TarSHA256)

	_, ar, err = readAll(t, filepath.Join(dir, "trailing.tar.gz"))
	require.NoError(t, err)
	assert.Equal(t, int64(4), ar.Compression.TrailingBytes)

	_, ar, err = readAll(t, filepath.Join(dir, "multi.tar.zst"))
	require.NoError(t, err)
	assert.Equal(t, 2, ar.Compression.Zstd.Frames)
	assert.True(t, ar.Compression.Zstd.Checksum) // first frame, zstd's default --check

	_, ar, err = readAll(t, filepath.Join(dir, "crc32.tar.xz"))
	require.NoError(t, err)
	assert.Equal(t, "CRC32", ar.Compression.XZ.Check)

	_, ar, err = readAll(t, filepath.Join(dir, "five.tar.bz2"))
	require.NoError(t, err)
	assert.Equal(t, 5, ar.Compression.Bzip2.Level)

	// Same tar, different gzip headers: reported as exactly that.
	res, err := Diff(context.Background(), filepath.Join(dir, "plain.tar.gz"), filepath.Join(dir, "named.tar.gz"))
	require.NoError(t, err)
	assert.False(t, res.Identical())
	assert.True(t, res.TarIdentical())
	assert.Equal(t, `tar streams identical, compression differs: gzip FLG 0x00 -> 0x08, gzip FNAME "" -> "p.tar", gzip MTIME 0 -> 1600000000`, res.Summary())

	// Same tar, gzip vs xz.
	res, err = Diff(context.Background(), filepath.Join(dir, "plain.tar.gz"), filepath.Join(dir, "crc32.tar.xz"))
	require.NoError(t, err)
	assert.Equal(t, "tar streams identical, compression differs: format gzip -> xz", res.Summary())

	// Same tar, same gzip header, different level: only the bytes differ.
	sh(t, dir, "gzip -n -1 -c p.tar > fast.tar.gz; gzip -n -9 -c p.tar > best.tar.gz")
	res, err = Diff(context.Background(), filepath.Join(dir, "fast.tar.gz"), filepath.Join(dir, "best.tar.gz"))
	require.NoError(t, err)
	require.NotEmpty(t, res.Findings)
	assert.Equal(t, "gzip XFL", res.Findings[0].Field) // XFL 4 (fastest) -> 2 (best), RFC 1952
	assert.Equal(t, "4", res.Findings[0].Old)
	assert.Equal(t, "2", res.Findings[0].New)
}

// TestGitArchive uses real git: the pax global header carries the commit id.
func TestGitArchive(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	repo := filepath.Join(dir, "p-1.0")
	// Both commits get the same time, so the archives' mtimes agree even
	// when the two commits fall in different seconds (a loaded machine).
	sh(t, repo, `export GIT_COMMITTER_DATE='@1700000000 +0000' GIT_AUTHOR_DATE='@1700000000 +0000'
git init -q . && git -c user.name=t -c user.email=t@example.org add -A &&
git -c user.name=t -c user.email=t@example.org commit -q -m one &&
git archive --format=tar --prefix=p-1.0/ -o ../one.tar HEAD &&
echo more >> README &&
git -c user.name=t -c user.email=t@example.org commit -q -am two &&
git archive --format=tar --prefix=p-1.0/ HEAD | gzip -n > ../two.tar.gz`)
	head1 := strings.TrimSpace(string(run(t, repo, "git", "rev-parse", "HEAD~1")))
	head2 := strings.TrimSpace(string(run(t, repo, "git", "rev-parse", "HEAD")))

	ms, ar, err := readAll(t, filepath.Join(dir, "one.tar"))
	require.NoError(t, err)
	require.Len(t, ar.GlobalHeaders, 1)
	assert.Equal(t, map[string]string{"comment": head1}, ar.GlobalHeaders[0].Records)
	assert.Equal(t, 0, ar.GlobalHeaders[0].Before)
	assert.Equal(t, []string{"pax", "ustar"}, ar.Formats)
	listed := strings.Split(strings.TrimSpace(string(run(t, dir, "tar", "-tf", "one.tar"))), "\n")
	var got []string
	for _, m := range ms {
		got = append(got, m.Name)
	}
	assert.Equal(t, listed, got)

	res, err := Diff(context.Background(), filepath.Join(dir, "one.tar"), filepath.Join(dir, "two.tar.gz"))
	require.NoError(t, err)
	var kinds []string
	for _, f := range res.Findings {
		kinds = append(kinds, string(f.Kind)+" "+f.Path+" "+f.Field)
		if f.Kind == KindContent {
			assert.Contains(t, f.Diff, "+more\n")
		}
	}
	sort.Strings(kinds)
	assert.Equal(t, []string{
		"archive  pax global[0] comment",
		"compression  format",
		"content p-1.0/README ",
		"header p-1.0/README size",
	}, kinds)
	for _, f := range res.Findings {
		if f.Field == "pax global[0] comment" {
			assert.Equal(t, `"`+head1+`"`, f.Old)
			assert.Equal(t, `"`+head2+`"`, f.New)
		}
	}
}

func TestChecksum(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	gnuTar(t, dir, "p.tar")
	sh(t, dir, "xz -c p.tar > p.tar.xz; printf 'junk' | cat p.tar.xz - > junk.tar.xz; gzip -n -c p.tar > p.tar.gz; printf 'xx' >> p.tar.gz")
	wantTar := sha256sum(t, dir, "p.tar")
	for _, name := range []string{"p.tar", "p.tar.xz", "p.tar.gz"} {
		file, tarSum, err := Checksum(context.Background(), filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.Equal(t, sha256sum(t, dir, name), file, name)
		assert.Equal(t, wantTar, tarSum, name)
	}
	_, _, err := Checksum(context.Background(), filepath.Join(dir, "junk.tar.xz"))
	// xz(1) rejects trailing garbage, calling it "Unexpected end of input".
	require.ErrorIs(t, err, ErrTruncated)
	assert.Contains(t, err.Error(), "junk.tar.xz")
	h := sha256.Sum256(nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644))
	got, err := FileSHA256(context.Background(), filepath.Join(dir, "empty"))
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(h[:]), got)
}
