package gitarchive

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
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
	requireTool(t, "zlib-flate")
	dir := compressRepo(t)
	for _, level := range []int{-1, 1, 2, 5, 6, 9} {
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
	}{{"zstd", -1}, {CompressGzipN, 0}, {CompressGitInternal, 0}, {CompressGzipN, 10}, {CompressGitInternal, 10}} {
		err := Compress(context.Background(), &bytes.Buffer{}, strings.NewReader("x"), tc.method, tc.level)
		require.ErrorIs(t, err, ErrUnknownCompressor)
		require.Contains(t, err.Error(), tc.method)
	}
}
