package gitarchive

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// compressRepo makes a repository with about 1.5 MB of mixed content, so
// the deflate streams have several blocks.
func compressRepo(t *testing.T) string {
	dir := newRepo(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var words []string
	for i := 0; i < 500; i++ {
		words = append(words, fmt.Sprintf("w%x", rng.Uint32()))
	}
	for f := 0; f < 20; f++ {
		var b strings.Builder
		for b.Len() < 60000 {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(" \n"[rng.IntN(2)])
		}
		writeFile(t, dir, fmt.Sprintf("text/%02d.txt", f), b.String(), 0o644)
	}
	bin := make([]byte, 300000)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	writeFile(t, dir, "random.bin", string(bin), 0o644)
	commitAll(t, dir, "data")
	return dir
}

func TestGzipN(t *testing.T) {
	setupEnv(t)
	requireTool(t, "gzip")
	dir := compressRepo(t)
	tarball := gitBytes(t, dir, "archive", "--prefix=p/", "HEAD")
	for _, level := range []int{-1, 1, 6, 9} {
		args := []string{"-cn"}
		if level > 0 {
			args = append(args, "-"+strconv.Itoa(level))
		}
		cmd := exec.Command("gzip", args...)
		cmd.Stdin = bytes.NewReader(tarball)
		want, err := cmd.Output()
		require.NoError(t, err)
		got := ours(t, dir, "HEAD", WithPrefix("p/"), WithCompression(CompressGzipN, level))
		requireSameBytes(t, want, got, fmt.Sprintf("gzip -cn level %d", level))
	}
}

func TestGitInternalGzip(t *testing.T) {
	setupEnv(t)
	dir := compressRepo(t)
	for _, level := range []int{-1, 0, 1, 2, 5, 6, 9} {
		args := []string{"archive", "--format=tar.gz", "--prefix=p/"}
		if level >= 0 {
			args = append(args, "-"+strconv.Itoa(level))
		}
		want := gitBytes(t, dir, append(args, "HEAD")...)
		got := ours(t, dir, "HEAD", WithPrefix("p/"), WithCompression(CompressGitInternal, level))
		requireSameBytes(t, want, got, fmt.Sprintf("git archive --format=tar.gz level %d", level))
	}
	// Empty input still makes a valid member.
	var buf bytes.Buffer
	require.NoError(t, Compress(context.Background(), &buf, strings.NewReader(""), CompressGitInternal, -1))
	cmd := exec.Command("gzip", "-dc")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Empty(t, out)
}

func TestCompressBadMethod(t *testing.T) {
	for _, tc := range []struct {
		method string
		level  int
	}{{"zstd", -1}, {CompressGzipN, 0}, {CompressGitInternal, -2}, {CompressGzipN, 10}, {CompressGitInternal, 10}} {
		err := Compress(context.Background(), &bytes.Buffer{}, strings.NewReader("x"), tc.method, tc.level)
		require.ErrorIs(t, err, ErrUnknownCompressor)
		require.Contains(t, err.Error(), tc.method)
	}
}

// TestCompressWithoutTools: with only git in PATH (no gzip, no zlib-flate)
// both gzip methods still give the bytes of `gzip -cn` and git's internal
// gzip, which are computed first with the real tools.
func TestCompressWithoutTools(t *testing.T) {
	setupEnv(t)
	requireTool(t, "gzip")
	dir := compressRepo(t)
	tarball := gitBytes(t, dir, "archive", "--prefix=p/", "HEAD")
	cmd := exec.Command("gzip", "-cn", "-9")
	cmd.Stdin = bytes.NewReader(tarball)
	wantGzip, err := cmd.Output()
	require.NoError(t, err)
	wantGit := gitBytes(t, dir, "archive", "--format=tar.gz", "--prefix=p/", "HEAD")

	gitPath, err := exec.LookPath("git")
	require.NoError(t, err)
	bin := t.TempDir()
	require.NoError(t, os.Symlink(gitPath, filepath.Join(bin, "git")))
	t.Setenv("PATH", bin)
	_, err = exec.LookPath("gzip")
	require.Error(t, err, "gzip must not be in PATH")

	got := ours(t, dir, "HEAD", WithPrefix("p/"), WithCompression(CompressGzipN, 9))
	requireSameBytes(t, wantGzip, got, "gzip -cn -9 without gzip in PATH")
	got = ours(t, dir, "HEAD", WithPrefix("p/"), WithCompression(CompressGitInternal, -1))
	requireSameBytes(t, wantGit, got, "git archive --format=tar.gz without zlib-flate")
}
