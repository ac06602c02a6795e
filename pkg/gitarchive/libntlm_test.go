package gitarchive

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The published libntlm-1.8-src.tar.gz (made by libntlm's "make srcdist":
// git archive --prefix=libntlm-v1.8/ v1.8 | gzip -cn) is byte-identical to
// Debian's libntlm_1.8.orig.tar.gz. Facts checked by hand with sha256sum,
// zcat | gzip -cn | sha256sum and zcat | head -c 1024.
const (
	libntlmURL    = "http://deb.debian.org/debian/pool/main/libn/libntlm/libntlm_1.8.orig.tar.gz"
	libntlmSHA256 = "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca"
	libntlmCommit = "7dc46da7dba4322cb6d81068e93c31b909b71676"
)

// fetchCached downloads url once into the user cache directory.
func fetchCached(t *testing.T, url, name, sha string) []byte {
	t.Helper()
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	p := filepath.Join(cache, "verify-release", "testdata", name)
	if b, err := os.ReadFile(p); err == nil && sum(b) == sha {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("downloading %s (needs the Debian mirror; CI=%q): %v", url, os.Getenv("CI"), err)
	}
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, sha, sum(b), "sha256 of %s", url)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestLibntlmSrcdist(t *testing.T) {
	setupEnv(t)
	requireTool(t, "gzip")
	requireTool(t, "tar")
	published := fetchCached(t, libntlmURL, "libntlm_1.8.orig.tar.gz", libntlmSHA256)
	zr, err := gzip.NewReader(bytes.NewReader(published))
	require.NoError(t, err)
	tarStream, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, "52 comment="+libntlmCommit+"\n", string(tarStream[512:512+52]))

	// gzip-n at the default level recompresses the tar stream exactly.
	var gz bytes.Buffer
	require.NoError(t, Compress(context.Background(), &gz, bytes.NewReader(tarStream), CompressGzipN, -1))
	require.Equal(t, libntlmSHA256, sum(gz.Bytes()))
	f, err := LookupForge("srcdist")
	require.NoError(t, err)
	require.Equal(t, "libntlm-1.8-src.tar.gz", f.FileName("libntlm", "v1.8"))
	require.Equal(t, "libntlm-v1.8/", f.PrefixFor("libntlm", "v1.8"))

	// Rebuild the tree from the tarball (with the real tar) in a new
	// repository: every member record we write must equal upstream's, only
	// the commit id in the pax comment differs.
	dir := newRepo(t)
	cmd := exec.Command("tar", "-x", "--strip-components=1", "-C", dir)
	cmd.Stdin = bytes.NewReader(tarStream)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	git(t, dir, "add", "-f", "-A")
	git(t, dir, "commit", "-q", "-m", "libntlm 1.8 tree")
	mtime := parseOctal(t, tarStream[136:147])
	got := ours(t, dir, "HEAD", WithPrefix(f.PrefixFor("libntlm", "v1.8")), WithMtime(mtime))
	require.Equal(t, len(tarStream), len(got))
	requireSameBytes(t, tarStream[:512], got[:512], "global header")
	requireSameBytes(t, tarStream[1024:], got[1024:], "members")
	copy(got[512:1024], tarStream[512:1024])
	var gz2 bytes.Buffer
	require.NoError(t, Compress(context.Background(), &gz2, bytes.NewReader(got), f.Compression, f.Level))
	require.Equal(t, libntlmSHA256, sum(gz2.Bytes()))
}
