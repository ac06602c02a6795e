package cache_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/cache"
)

func write(t *testing.T, p string, age time.Duration) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("data"), 0o644))
	when := time.Now().Add(-age)
	require.NoError(t, os.Chtimes(p, when, when))
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	old, fresh := 60*24*time.Hour, time.Hour
	write(t, filepath.Join(dir, "files", "aaaa"), old)
	write(t, filepath.Join(dir, "files", "bbbb"), fresh)
	write(t, filepath.Join(dir, "published", "u1", "x.tar.gz"), old)
	write(t, filepath.Join(dir, "git", "old.git", "HEAD"), 0)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "git", "old.git"), time.Now().Add(-old), time.Now().Add(-old)))
	write(t, filepath.Join(dir, "git", "busy.git", "HEAD"), 0)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "git", "busy.git"), time.Now().Add(-old), time.Now().Add(-old)))
	write(t, filepath.Join(dir, "git", "half.git.tmp", "HEAD"), 0)
	write(t, filepath.Join(dir, "images", "index.json"), 0)

	// Another run is using busy.git: it holds the mirror's lock.
	f, err := os.OpenFile(filepath.Join(dir, "git", "busy.git.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))

	dry, err := cache.Prune(context.Background(), dir, cache.DryRun())
	require.NoError(t, err)
	assert.Len(t, dry.Removed, 4)
	assert.FileExists(t, filepath.Join(dir, "files", "aaaa"), "dry run removes nothing")

	res, err := cache.Prune(context.Background(), dir)
	require.NoError(t, err)
	var removed []string
	for _, e := range res.Removed {
		rel, _ := filepath.Rel(dir, e.Path)
		removed = append(removed, rel)
	}
	assert.Equal(t, []string{"files/aaaa", "git/half.git.tmp", "git/old.git", "published/u1/x.tar.gz"}, removed)
	assert.Equal(t, []string{filepath.Join(dir, "git", "busy.git")}, res.Busy)
	assert.FileExists(t, filepath.Join(dir, "files", "bbbb"))
	assert.DirExists(t, filepath.Join(dir, "git", "busy.git"))
	assert.FileExists(t, filepath.Join(dir, "images", "index.json"), "images only go with All")

	res, err = cache.Prune(context.Background(), dir, cache.All())
	require.NoError(t, err)
	assert.NoDirExists(t, filepath.Join(dir, "images"))
	assert.NoFileExists(t, filepath.Join(dir, "files", "bbbb"))
	assert.DirExists(t, filepath.Join(dir, "git", "busy.git"), "still busy")

	res, err = cache.Prune(context.Background(), filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Empty(t, res.Removed)
}

// Archive environments: .debs age by last use; a built environment that
// a run is building or loading (its lock held) is busy.
func TestPruneArchiveEnvironments(t *testing.T) {
	dir := t.TempDir()
	old, fresh := 60*24*time.Hour, time.Hour
	write(t, filepath.Join(dir, "debs", "sha256", "aa", "aaaa"), old)
	write(t, filepath.Join(dir, "debs", "sha256", "bb", "bbbb"), fresh)
	write(t, filepath.Join(dir, "envs", "1111.tar"), old)
	write(t, filepath.Join(dir, "envs", "2222.tar"), old)
	f, err := os.OpenFile(filepath.Join(dir, "envs", "2222.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))

	res, err := cache.Prune(context.Background(), dir)
	require.NoError(t, err)
	var removed []string
	for _, e := range res.Removed {
		rel, _ := filepath.Rel(dir, e.Path)
		removed = append(removed, rel)
	}
	assert.Equal(t, []string{"debs/sha256/aa/aaaa", "envs/1111.tar"}, removed)
	assert.Equal(t, []string{filepath.Join(dir, "envs", "2222.tar")}, res.Busy)
	assert.FileExists(t, filepath.Join(dir, "debs", "sha256", "bb", "bbbb"))
}
