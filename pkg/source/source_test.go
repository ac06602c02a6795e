package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/source"
)

// gitCmd runs real git with fixed identities and dates.
func gitCmd(t *testing.T, dir string, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=A U Thor", "GIT_AUTHOR_EMAIL=author@example.org",
		"GIT_COMMITTER_NAME=C O Mitter", "GIT_COMMITTER_EMAIL=committer@example.org",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func requireGit(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("git")
	require.NoError(t, err, "these tests need the git binary")
}

// newRepo makes a repository with two commits a day apart and tag v1.0 on
// the second; returns the dir and both commit ids.
func newRepo(t *testing.T) (dir, first, second string) {
	requireGit(t)
	dir = t.TempDir()
	gitCmd(t, dir, "", "init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "b.sh"), []byte("#!/bin/sh\n"), 0o755))
	gitCmd(t, dir, "2024-01-01T00:00:00Z", "add", "-A")
	gitCmd(t, dir, "2024-01-01T00:00:00Z", "commit", "-q", "-m", "first")
	first = gitCmd(t, dir, "", "rev-parse", "HEAD")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a2\n"), 0o644))
	require.NoError(t, os.Symlink("a.txt", filepath.Join(dir, "link")))
	gitCmd(t, dir, "2024-01-02T00:00:00Z", "add", "-A")
	gitCmd(t, dir, "2024-01-02T00:00:00Z", "commit", "-q", "-m", "second")
	gitCmd(t, dir, "2024-01-02T00:00:00Z", "tag", "-a", "-m", "release", "v1.0")
	second = gitCmd(t, dir, "", "rev-parse", "HEAD")
	return dir, first, second
}

func TestCheckTag(t *testing.T) {
	ctx := context.Background()
	dir, first, second := newRepo(t)
	require.NoError(t, source.CheckTag(ctx, dir, "v1.0", second))

	err := source.CheckTag(ctx, dir, "v1.0", first)
	var moved *source.MovedTagError
	require.True(t, errors.As(err, &moved), "want MovedTagError, got %v", err)
	assert.Equal(t, second, moved.Found)
	assert.Contains(t, err.Error(), "the tag was moved")

	err = source.CheckTag(ctx, dir, "v9.9", second)
	require.ErrorIs(t, err, source.ErrUnknownRef)
	assert.Contains(t, err.Error(), "tag v9.9 not found")

	_, err = source.OpenRepo(ctx, t.TempDir())
	require.ErrorIs(t, err, source.ErrNotRepository)
}

func TestCommitTimeAndFileTimes(t *testing.T) {
	ctx := context.Background()
	dir, _, second := newRepo(t)
	ct, err := source.CommitTime(ctx, dir, second)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), ct)

	times, err := source.FileTimes(ctx, dir, second)
	require.NoError(t, err)
	// Independent path: git log -1 per file.
	for _, f := range []string{"a.txt", "sub/b.sh", "link"} {
		out := gitCmd(t, dir, "", "log", "-1", "--format=%ct", second, "--", f)
		sec, err := strconv.ParseInt(out, 10, 64)
		require.NoError(t, err)
		assert.Equal(t, time.Unix(sec, 0).UTC(), times[f], f)
	}
	assert.Len(t, times, 3)
}

func TestMirrorAndCheckout(t *testing.T) {
	ctx := context.Background()
	dir, _, second := newRepo(t)
	cache := t.TempDir()
	m, release, err := source.Mirror(ctx, dir, cache)
	require.NoError(t, err)
	defer release()
	require.NoError(t, source.CheckTag(ctx, m, "v1.0", second))

	// A moved tag upstream shows up after the mirror is updated.
	gitCmd(t, dir, "2024-01-03T00:00:00Z", "commit", "-q", "--allow-empty", "-m", "third")
	gitCmd(t, dir, "2024-01-03T00:00:00Z", "tag", "-f", "-a", "-m", "moved", "v1.0")
	m2, release2, err := source.Mirror(ctx, dir, cache)
	require.NoError(t, err)
	release2()
	assert.Equal(t, m, m2)
	var moved *source.MovedTagError
	require.True(t, errors.As(source.CheckTag(ctx, m, "v1.0", second), &moved))

	co := filepath.Join(t.TempDir(), "src")
	require.NoError(t, source.Checkout(ctx, m, second, co))
	b, err := os.ReadFile(filepath.Join(co, "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "a2\n", string(b))
	assert.DirExists(t, filepath.Join(co, ".git"))
	assert.Equal(t, second, gitCmd(t, co, "", "rev-parse", "HEAD"))

	_, _, err = source.Mirror(ctx, filepath.Join(t.TempDir(), "nope"), cache)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}

func readTar(t *testing.T, r io.Reader) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		out[h.Name] = h
	}
}

func TestWriteTreePolicies(t *testing.T) {
	ctx := context.Background()
	dir, _, second := newRepo(t)
	ct, err := source.CommitTime(ctx, dir, second)
	require.NoError(t, err)
	times, err := source.FileTimes(ctx, dir, second)
	require.NoError(t, err)

	var buf bytes.Buffer
	require.NoError(t, source.WriteTree(ctx, &buf, dir, source.TreeOptions{Prefix: "src", Policy: recipe.MtimeCommit, CommitTime: ct}))
	hdrs := readTar(t, bytes.NewReader(buf.Bytes()))
	require.Contains(t, hdrs, "src/a.txt")
	require.Contains(t, hdrs, "src/.git/HEAD")
	for name, h := range hdrs {
		assert.Equal(t, ct, h.ModTime.UTC(), name)
		assert.Equal(t, 0, h.Uid, name)
	}
	assert.Equal(t, int64(0o755), hdrs["src/sub/b.sh"].Mode)
	assert.Equal(t, byte(tar.TypeSymlink), hdrs["src/link"].Typeflag)
	assert.Equal(t, "a.txt", hdrs["src/link"].Linkname)

	buf.Reset()
	require.NoError(t, source.WriteTree(ctx, &buf, dir, source.TreeOptions{Prefix: "src", Policy: recipe.MtimePerFile, CommitTime: ct, FileTimes: times}))
	hdrs = readTar(t, bytes.NewReader(buf.Bytes()))
	assert.Equal(t, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), hdrs["src/sub/b.sh"].ModTime.UTC())
	assert.Equal(t, ct, hdrs["src/a.txt"].ModTime.UTC())

	// Deterministic: the same tree gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, source.WriteTree(ctx, &again, dir, source.TreeOptions{Prefix: "src", Policy: recipe.MtimePerFile, CommitTime: ct, FileTimes: times}))
	assert.Equal(t, buf.Bytes(), again.Bytes())
}
