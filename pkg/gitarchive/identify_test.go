package gitarchive

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func pipeTo(t *testing.T, in []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

func TestIdentify(t *testing.T) {
	setupEnv(t)
	requireTool(t, "gzip")
	dir := compressRepo(t)
	git(t, dir, "tag", "-a", "-m", "release", "v1.2")
	out := t.TempDir()
	save := func(name string, data []byte) string {
		p := filepath.Join(out, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	goGzip := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, err := zw.Write(b)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	tarV := gitBytes(t, dir, "archive", "--prefix=proj-v1.2/", "v1.2")
	tarGH := gitBytes(t, dir, "archive", "--prefix=proj-1.2/", "v1.2")
	for _, tc := range []struct {
		name      string
		file      string
		data      []byte
		want      *Variant // byte match
		tarPrefix string   // expected TarMatch prefix, "-" for none
	}{
		{"gitlab internal gzip", "proj-v1.2.tar.gz", gitBytes(t, dir, "archive", "--format=tar.gz", "--prefix=proj-v1.2/", "v1.2"),
			&Variant{Prefix: "proj-v1.2/", Compression: CompressGitInternal, Level: -1}, "proj-v1.2/"},
		{"github gzip -cn", "proj-1.2.tar.gz", pipeTo(t, tarGH, "gzip", "-cn"),
			&Variant{Prefix: "proj-1.2/", Compression: CompressGzipN, Level: -1}, "proj-1.2/"},
		{"srcdist gzip -9n", "proj-1.2-src.tar.gz", pipeTo(t, tarV, "gzip", "-cn9"),
			&Variant{Prefix: "proj-v1.2/", Compression: CompressGzipN, Level: 9}, "proj-v1.2/"},
		{"internal gzip -1, unusual prefix", "x.tar.gz", gitBytes(t, dir, "archive", "--format=tar.gz", "-1", "--prefix=other/", "v1.2"),
			&Variant{Prefix: "other/", Compression: CompressGitInternal, Level: 1}, "other/"},
		{"plain tar, no prefix", "proj-1.2.tar", gitBytes(t, dir, "archive", "v1.2"),
			&Variant{Prefix: "", Compression: CompressNone, Level: -1}, ""},
		{"other gzip implementation", "proj-1.2.tar.gz", goGzip(tarGH), nil, "proj-1.2/"},
		{"different content", "proj-1.2.tar.gz", pipeTo(t, gitBytes(t, dir, "archive", "--prefix=proj-1.2/", "HEAD~0:text"), "gzip", "-cn"), nil, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := save(tc.file, tc.data)
			id, err := Identify(context.Background(), dir, "v1.2", p)
			require.NoError(t, err)
			require.Len(t, id.PublishedSHA256, 64)
			if tc.tarPrefix == "-" {
				require.Nil(t, id.TarMatch)
				require.Nil(t, id.Match)
				require.NotEmpty(t, id.Tried)
				return
			}
			require.NotNil(t, id.TarMatch)
			require.Equal(t, tc.tarPrefix, id.TarMatch.Prefix)
			if tc.want == nil {
				require.Nil(t, id.Match)
				return
			}
			require.NotNil(t, id.Match, "tried %v", id.Tried)
			require.Equal(t, tc.want.Prefix, id.Match.Prefix)
			require.Equal(t, tc.want.Compression, id.Match.Compression)
			require.Equal(t, tc.want.Level, id.Match.Level)
			// The identified variant really reproduces the file.
			opts := []Option{WithPrefix(id.Match.Prefix), WithCompression(id.Match.Compression, id.Match.Level)}
			requireSameBytes(t, tc.data, ours(t, dir, "v1.2", opts...), "identified variant")
		})
	}
}

func TestForgePresets(t *testing.T) {
	for _, tc := range []struct{ forge, file, prefix string }{
		{"gitlab", "libfoo-v1.0.tar.gz", "libfoo-v1.0/"},
		{"github", "libfoo-1.0.tar.gz", "libfoo-1.0/"},
		{"codeberg", "libfoo-v1.0.tar.gz", "libfoo/"},
		{"forgejo", "libfoo-v1.0.tar.gz", "libfoo/"},
		{"cgit", "libfoo-1.0.tar.gz", "libfoo-1.0/"},
		{"srcdist", "libfoo-1.0-src.tar.gz", "libfoo-v1.0/"},
	} {
		f, err := LookupForge(tc.forge)
		require.NoError(t, err)
		require.Equal(t, tc.file, f.FileName("libfoo", "v1.0"), tc.forge)
		require.Equal(t, tc.prefix, f.PrefixFor("libfoo", "refs/tags/v1.0"), tc.forge)
		require.NoError(t, checkCompression(f.Compression, f.Level))
		require.NotEmpty(t, f.Doc)
	}
	_, err := LookupForge("sourceforge")
	require.ErrorIs(t, err, ErrUnknownForge)
	require.Equal(t, "1.0", Version("v1.0"))
	require.Equal(t, "version-1", Version("version-1"))
	require.Equal(t, "libntlm", projectFromFileName("libntlm-1.8-src.tar.gz", "v1.8"))
	require.Equal(t, "proj", projectFromFileName("proj-v1.8.tar.gz", "refs/tags/v1.8"))
}
