package gitarchive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteToDescriptors covers the splice path: the output is a regular
// file, a pipe, or an O_APPEND file (where splice fails and Write falls
// back to copying), with blobs above and below spliceMin.
func TestWriteToDescriptors(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for i, size := range []int{10, spliceMin - 1, spliceMin, spliceMin + 1, 300000, 2 << 20, 700, 5<<20 + 3} {
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		writeFile(t, dir, fmt.Sprintf("f%02d", i), string(b), 0o644)
	}
	commitAll(t, dir, "big")
	want := gitBytes(t, dir, "archive", "--prefix=p/", "HEAD")
	ctx := context.Background()

	t.Run("regular file", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "out.tar"))
		require.NoError(t, err)
		_, err = Write(ctx, f, dir, "HEAD", WithPrefix("p/"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		got, err := os.ReadFile(f.Name())
		require.NoError(t, err)
		requireSameBytes(t, want, got, "file")
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		var got bytes.Buffer
		done := make(chan error)
		go func() { _, err := io.Copy(&got, r); done <- err }()
		_, err = Write(ctx, w, dir, "HEAD", WithPrefix("p/"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, <-done)
		requireSameBytes(t, want, got.Bytes(), "pipe")
	})
	t.Run("append file", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "out.tar")
		f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(t, err)
		_, err = Write(ctx, f, dir, "HEAD", WithPrefix("p/"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		got, err := os.ReadFile(name)
		require.NoError(t, err)
		requireSameBytes(t, want, got, "append")
	})
}
