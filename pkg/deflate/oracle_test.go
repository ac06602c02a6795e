package deflate

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// The oracles are the real gzip binaries and libz.so.1 of three Debian
// releases, fetched once from the pool into the user cache. Pool paths and
// sha256 sums were read from the suites' indexes:
//
//	curl -s http://deb.debian.org/debian/dists/SUITE/main/binary-amd64/Packages.xz |
//	  xz -dc | awk -v RS= '/^Package: (gzip|zlib1g|libc6)\n/' | grep -E '^(Filename|SHA256)'
//
// trixie's gzip 1.13 needs glibc 2.38, so it runs under trixie's own
// dynamic loader and libc (libc6 below), which works on any amd64 Linux.
type debFile struct {
	pool, sha256 string
}

var (
	debGzip110 = debFile{"pool/main/g/gzip/gzip_1.10-4+deb11u1_amd64.deb", "34c4c773e2a7600ea3ed0bec0b6931ae5b7de5741bf260cacc55b1a2b92e008d"}
	debGzip112 = debFile{"pool/main/g/gzip/gzip_1.12-1_amd64.deb", "eabec1dde2834f72540d7b93fc5df2625f52611c06d93d61f5cdb12480e0e6a3"}
	debGzip113 = debFile{"pool/main/g/gzip/gzip_1.13-1+deb13u1_amd64.deb", "74cf12212beee4ab8d473bdc0107abf9e8cef737492198e2f4944a19f142b0ac"}
	debLibc241 = debFile{"pool/main/g/glibc/libc6_2.41-12+deb13u5_amd64.deb", "b59b0625cd1a791375d40dab23a4d5d3d0641e3d0a773501becdc3725b7f99cf"}
	debZlib111 = debFile{"pool/main/z/zlib/zlib1g_1.2.11.dfsg-2+deb11u2_amd64.deb", "03d2ab2174af76df6f517b854b77460fbdafc3dac0dca979317da67538159a3e"}
	debZlib113 = debFile{"pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb", "d7dd1d1411fedf27f5e27650a6eff20ef294077b568f4c8c5e51466dc7c08ce4"}
	debZlib131 = debFile{"pool/main/z/zlib/zlib1g_1.3.dfsg+really1.3.1-1+deb13u1_amd64.deb", "8c27c342230503b73dfde629642c3b352e87b554e06d60cf58772f236a305ceb"}
)

const debMirror = "http://deb.debian.org/debian/"

// needMirror fails the test: the oracles come from the Debian mirror, and
// a test that cannot reach it must not pass by skipping.
func needMirror(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s (needs the Debian mirror %s)", fmt.Sprintf(format, args...), debMirror)
}

var debMu sync.Mutex

// debRoot returns the directory the package's data.tar is extracted into,
// downloading and checking the .deb the first time.
func debRoot(t testing.TB, d debFile) string {
	t.Helper()
	debMu.Lock()
	defer debMu.Unlock()
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	base := filepath.Join(cache, "verify-release", "testdata", "deflate-oracles")
	name := strings.TrimSuffix(filepath.Base(d.pool), ".deb")
	root := filepath.Join(base, name)
	if _, err := os.Stat(filepath.Join(root, ".complete")); err == nil {
		return root
	}
	// Fetched once into the shared test cache, checked by sha256.
	deb, err := os.ReadFile(testenv.DebianPool(t, strings.TrimPrefix(d.pool, "pool/"), d.sha256))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(base, 0o755))
	tmp, err := os.MkdirTemp(base, name+".tmp")
	require.NoError(t, err)
	defer os.RemoveAll(tmp)
	require.NoError(t, extractDeb(deb, tmp), d.pool)
	require.NoError(t, os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644))
	os.RemoveAll(root)
	require.NoError(t, os.Rename(tmp, root))
	return root
}

// extractDeb unpacks the regular files and symlinks of a .deb's data.tar.
func extractDeb(deb []byte, dir string) error {
	if !bytes.HasPrefix(deb, []byte("!<arch>\n")) {
		return errors.New("not an ar archive")
	}
	p := deb[8:]
	for len(p) >= 60 {
		hdr := p[:60]
		name := strings.TrimRight(string(hdr[:16]), " /")
		var size int
		if _, err := fmt.Sscan(strings.TrimSpace(string(hdr[48:58])), &size); err != nil {
			return fmt.Errorf("ar member size: %w", err)
		}
		body := p[60 : 60+size]
		p = p[60+size+size%2:]
		var r io.Reader
		switch name {
		case "data.tar.xz":
			xr, err := xz.NewReader(bytes.NewReader(body))
			if err != nil {
				return err
			}
			r = xr
		case "data.tar.zst":
			zr, err := zstd.NewReader(bytes.NewReader(body))
			if err != nil {
				return err
			}
			defer zr.Close()
			r = zr
		default:
			continue
		}
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			target := filepath.Join(dir, filepath.Clean("/"+h.Name))
			switch h.Typeflag {
			case tar.TypeReg:
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					return err
				}
				b, err := io.ReadAll(tr)
				if err != nil {
					return err
				}
				if err := os.WriteFile(target, b, 0o755); err != nil {
					return err
				}
			case tar.TypeSymlink:
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					return err
				}
				if err := os.Symlink(h.Linkname, target); err != nil {
					return err
				}
			}
		}
	}
	return errors.New("no data.tar in the .deb")
}

func findFile(t testing.TB, root, base string) string {
	t.Helper()
	var found string
	require.NoError(t, filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && found == "" && e.Name() == base && !e.IsDir() {
			found = p
		}
		return err
	}))
	require.NotEmpty(t, found, "%s in %s", base, root)
	return found
}

// gzipOracle runs one Debian release's gzip.
type gzipOracle struct {
	version string
	argv    []string // program and leading arguments
}

func gzipOracles(t testing.TB) []gzipOracle {
	t.Helper()
	g113 := findFile(t, debRoot(t, debGzip113), "gzip")
	libc := filepath.Dir(findFile(t, debRoot(t, debLibc241), "libc.so.6"))
	return []gzipOracle{
		{"1.10", []string{findFile(t, debRoot(t, debGzip110), "gzip")}},
		{"1.12", []string{findFile(t, debRoot(t, debGzip112), "gzip")}},
		{"1.13", []string{filepath.Join(libc, "ld-linux-x86-64.so.2"), "--library-path", libc, g113}},
	}
}

// systemGzip runs this machine's gzip (GNU gzip, which .ci/run installs)
// on data; a missing gzip fails the test.
func systemGzip(t testing.TB, data []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gzip", args...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "the system gzip %v is an oracle here: %s", args, stderr.String())
	return out
}

func (g gzipOracle) compress(t testing.TB, data []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(g.argv[0], append(append(g.argv[1:len(g.argv):len(g.argv)], "-c"), args...)...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "gzip %s %v: %s", g.version, args, stderr.String())
	return out
}

// zlibOracle runs testdata/zdeflate.c against one Debian release's libz.
type zlibOracle struct {
	version string
	tool    string
	lib     string
}

var (
	zdeflateOnce sync.Once
	zdeflatePath string
	zdeflateErr  error
)

func buildZdeflate(t testing.TB) string {
	t.Helper()
	zdeflateOnce.Do(func() {
		if _, err := exec.LookPath("gcc"); err != nil {
			zdeflateErr = fmt.Errorf("gcc is needed to build the zlib oracle testdata/zdeflate.c: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "zdeflate")
		if err != nil {
			zdeflateErr = err
			return
		}
		zdeflatePath = filepath.Join(dir, "zdeflate")
		out, err := exec.Command("gcc", "-O2", "-o", zdeflatePath, "testdata/zdeflate.c", "-ldl").CombinedOutput()
		if err != nil {
			zdeflateErr = fmt.Errorf("gcc: %v: %s", err, out)
		}
	})
	require.NoError(t, zdeflateErr)
	return zdeflatePath
}

func zlibOracles(t testing.TB) []zlibOracle {
	t.Helper()
	tool := buildZdeflate(t)
	var zs []zlibOracle
	for _, z := range []struct {
		v string
		d debFile
	}{{"1.2.11", debZlib111}, {"1.2.13", debZlib113}, {"1.3.1", debZlib131}} {
		lib := findFile(t, debRoot(t, z.d), "libz.so."+z.v)
		o := zlibOracle{z.v, tool, lib}
		cmd := exec.Command(tool, lib, "0", "0", "0")
		cmd.Env = append(os.Environ(), "ZDEFLATE_VERSION=1")
		out, err := cmd.Output()
		require.NoError(t, err)
		require.Equal(t, z.v, strings.TrimSpace(string(out)), "zlibVersion() of %s", lib)
		zs = append(zs, o)
	}
	return zs
}

// compress runs deflateInit2(level, 8, wbits, 8, 0) feeding chunk bytes a call.
func (z zlibOracle) compress(t testing.TB, data []byte, level, wbits, chunk int) []byte {
	t.Helper()
	return z.run(t, data, nil, level, wbits, chunk)
}

// compressLikeGit runs the same deflateInit2 with wbits 31, fed as git
// archive's internal gzip feeds zlib (ZDEFLATE_GIT, see zdeflate.c).
func (z zlibOracle) compressLikeGit(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	return z.run(t, data, []string{"ZDEFLATE_GIT=1"}, level, 31, gitRecord)
}

// run runs zdeflate on data with env added to the environment.
func (z zlibOracle) run(t testing.TB, data []byte, env []string, level, wbits, chunk int) []byte {
	t.Helper()
	cmd := exec.Command(z.tool, z.lib, fmt.Sprint(level), fmt.Sprint(wbits), fmt.Sprint(chunk))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "zlib %s level %d: %s", z.version, level, stderr.String())
	return out
}

// requireSameBytes compares two streams and reports the first difference.
func requireSameBytes(t testing.TB, want, got []byte, what string) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(0, i-8)
	t.Fatalf("%s: %d bytes want, %d got; first difference at byte %d:\nwant % x\ngot  % x",
		what, len(want), len(got), i, want[lo:min(len(want), i+8)], got[lo:min(len(got), i+8)])
}

func gnu(t testing.TB, data []byte, opts ...Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, GNUGzip(context.Background(), &buf, bytes.NewReader(data), opts...))
	return buf.Bytes()
}

func zlibRawBytes(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, ZlibDeflate(context.Background(), &buf, bytes.NewReader(data), WithLevel(level)))
	return buf.Bytes()
}

func zlibGzipBytes(t testing.TB, data []byte, level int, opts ...Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	require.NoError(t, ZlibGzip(context.Background(), w, bytes.NewReader(data), append([]Option{WithLevel(level)}, opts...)...))
	require.NoError(t, w.Flush())
	return buf.Bytes()
}

// compressFile runs gzip -c ARGS FILE (the header keeps the name and mtime).
func (g gzipOracle) compressFile(t testing.TB, path string, args ...string) []byte {
	t.Helper()
	dir, base := filepath.Split(path)
	cmd := exec.Command(g.argv[0], append(append(append(g.argv[1:len(g.argv):len(g.argv)], "-c"), args...), base)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	return out
}

func writeWithMTime(t testing.TB, path string, data []byte, mtime int64) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o644))
	tm := time.Unix(mtime, 0)
	require.NoError(t, os.Chtimes(path, tm, tm))
}
