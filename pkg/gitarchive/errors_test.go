package gitarchive

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBadInput(t *testing.T) {
	setupEnv(t)
	ctx := context.Background()
	dir := newRepo(t)
	writeFile(t, dir, "f", "content of f\n", 0o644)
	writeFile(t, dir, "sub/g", "g\n", 0o644)
	commitAll(t, dir, "c")

	t.Run("not a repository", func(t *testing.T) {
		empty := t.TempDir()
		_, err := Write(ctx, &bytes.Buffer{}, empty, "HEAD")
		require.ErrorIs(t, err, ErrNotRepository)
		require.Contains(t, err.Error(), empty)
		_, err = Write(ctx, &bytes.Buffer{}, filepath.Join(empty, "nope"), "HEAD")
		require.ErrorIs(t, err, ErrNotRepository)
	})
	t.Run("subdirectory of a work tree", func(t *testing.T) {
		_, err := Write(ctx, &bytes.Buffer{}, filepath.Join(dir, "sub"), "HEAD")
		require.ErrorIs(t, err, ErrNotRepository)
	})
	t.Run("unknown ref", func(t *testing.T) {
		for _, ref := range []string{"v9.9", "--output=/tmp/x", "", "HEAD:nope"} {
			_, err := Write(ctx, &bytes.Buffer{}, dir, ref)
			require.ErrorIs(t, err, ErrUnknownRef, ref)
			require.Contains(t, err.Error(), ref)
		}
		blob := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD:f"))
		_, err := Write(ctx, &bytes.Buffer{}, dir, blob)
		require.ErrorIs(t, err, ErrUnknownRef)
		_, err = ResolveCommit(ctx, dir, "HEAD^{tree}")
		require.ErrorIs(t, err, ErrUnknownRef)
	})
	t.Run("bad prefix", func(t *testing.T) {
		for _, p := range []string{"/abs/", "../up/", "a/../b/", "a/.."} {
			_, err := Write(ctx, &bytes.Buffer{}, dir, "HEAD", WithPrefix(p))
			require.ErrorIs(t, err, ErrBadPrefix, p)
			require.Contains(t, err.Error(), p)
		}
	})
	t.Run("resolve commit peels tags", func(t *testing.T) {
		git(t, dir, "tag", "-a", "-m", "t", "v1")
		id, err := ResolveCommit(ctx, dir, "v1")
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(git(t, dir, "rev-parse", "v1^{commit}")), id)
		require.NotEqual(t, strings.TrimSpace(git(t, dir, "rev-parse", "v1")), id)
	})
}

// looseObject returns the path of a loose object.
func looseObject(dir, oid string) string {
	return filepath.Join(dir, ".git", "objects", oid[:2], oid[2:])
}

func TestMissingAndCorruptObjects(t *testing.T) {
	setupEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		object string // rev whose loose object is damaged
		damage func(t *testing.T, path string)
		want   error
	}{
		{"missing blob", "HEAD:sub/g", func(t *testing.T, p string) { require.NoError(t, os.Remove(p)) }, ErrMissingObject},
		{"missing tree", "HEAD:sub", func(t *testing.T, p string) { require.NoError(t, os.Remove(p)) }, ErrMissingObject},
		{"corrupt blob", "HEAD:sub/g", func(t *testing.T, p string) {
			require.NoError(t, os.Chmod(p, 0o644))
			require.NoError(t, os.WriteFile(p, []byte("garbage, not zlib"), 0o644))
		}, ErrCorruptObject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t)
			writeFile(t, dir, "f", "content of f\n", 0o644)
			writeFile(t, dir, "sub/g", strings.Repeat("g", 100000), 0o644)
			commitAll(t, dir, "c")
			oid := strings.TrimSpace(git(t, dir, "rev-parse", tc.object))
			tc.damage(t, looseObject(dir, oid))
			var buf bytes.Buffer
			_, err := Write(ctx, &buf, dir, "HEAD")
			require.Error(t, err)
			require.ErrorIs(t, err, tc.want, err.Error())
			t.Log(err)
		})
	}
}

// failingWriter fails after n bytes, optionally canceling a context first.
type failingWriter struct {
	n      int
	cancel context.CancelFunc
}

var errSink = errors.New("sink full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		if w.cancel != nil {
			w.cancel()
			return 0, context.Canceled
		}
		return 0, errSink
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterFailureAndCancel(t *testing.T) {
	setupEnv(t)
	dir := compressRepo(t)
	for _, comp := range []string{CompressNone, CompressGzipN} {
		_, err := Write(context.Background(), &failingWriter{n: 100000}, dir, "HEAD", WithCompression(comp, -1))
		require.ErrorIs(t, err, errSink, comp)

		ctx, cancel := context.WithCancel(context.Background())
		_, err = Write(ctx, &failingWriter{n: 100000, cancel: cancel}, dir, "HEAD", WithCompression(comp, -1))
		require.ErrorIs(t, err, context.Canceled, comp)
		cancel()
	}
}
