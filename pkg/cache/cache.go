package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

// Dir returns the default cache directory: $XDG_CACHE_HOME/verify-release
// (or the platform's user cache directory).
func Dir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return filepath.Join(d, "verify-release"), nil
}

// Entry is one cache entry removed (or, with DryRun, that would be).
type Entry struct {
	Path  string
	Bytes int64
}

// Result lists what Prune removed and what it skipped because another
// run was using it.
type Result struct {
	Removed []Entry
	Busy    []string
}

// Option configures Prune.
type Option func(*options)

type options struct {
	olderThan time.Duration
	all       bool
	dryRun    bool
	now       func() time.Time
}

// OlderThan removes entries not modified for d (default 30 days).
func OlderThan(d time.Duration) Option { return func(o *options) { o.olderThan = d } }

// All removes every entry, including the image layout.
func All() Option { return func(o *options) { o.all = true } }

// DryRun reports what would be removed without removing it.
func DryRun() Option { return func(o *options) { o.dryRun = true } }

// WithClock sets the clock used for ages (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Prune removes stale entries from the cache at dir:
//   - git/*.git mirrors, each under an exclusive lock on its .lock file,
//     which every run using the mirror holds shared until it ends: a
//     mirror in use is skipped and listed in Result.Busy;
//   - files/* (pinned inputs, re-fetched and re-verified on demand) and
//     published/*/* (published copies);
//   - leftover temporary entries (*.tmp*) of interrupted runs;
//   - debs/ (.debs and indexes of archive environments, by last use) and
//     envs/*.tar (built archive environments), each under its lock;
//   - with All, the image layout images/ (under its lock).
//
// An entry is stale when it was not modified for the OlderThan duration.
func Prune(ctx context.Context, dir string, opts ...Option) (*Result, error) {
	o := &options{olderThan: 30 * 24 * time.Hour, now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &Result{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	cutoff := o.now().Add(-o.olderThan)
	stale := func(p string) bool {
		if o.all || strings.Contains(filepath.Base(p), ".tmp") {
			return true
		}
		st, err := os.Stat(p)
		return err == nil && st.ModTime().Before(cutoff)
	}
	res := &Result{}
	remove := func(p string, lockPath string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if lockPath != "" {
			unlock, ok, err := filelock.TryLock(lockPath)
			if err != nil {
				return err
			}
			if !ok {
				res.Busy = append(res.Busy, p)
				return nil
			}
			defer unlock()
		}
		size := du(p)
		if !o.dryRun {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("cache: removing %s: %w", p, err)
			}
			// The lock file stays: removing it would let a run that
			// opened it before and one that creates it anew both lock.
		}
		res.Removed = append(res.Removed, Entry{Path: p, Bytes: size})
		return nil
	}

	mirrors, _ := filepath.Glob(filepath.Join(dir, "git", "*.git*"))
	for _, m := range mirrors {
		if strings.HasSuffix(m, ".lock") || strings.HasSuffix(m, ".fetch") || !stale(m) {
			continue
		}
		lock := strings.TrimSuffix(m, ".tmp") + ".lock"
		if err := remove(m, lock); err != nil {
			return nil, err
		}
	}
	var files []string
	for _, pattern := range []string{"files/*", "published/*/*"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		files = append(files, m...)
	}
	for _, f := range files {
		if stale(f) {
			if err := remove(f, ""); err != nil {
				return nil, err
			}
		}
	}
	if empty, _ := filepath.Glob(filepath.Join(dir, "published", "*")); len(empty) > 0 && !o.dryRun {
		for _, d := range empty {
			os.Remove(d) // only succeeds when empty
		}
	}
	// Archive environments: content-addressed .debs and indexes (their
	// mtime is their last use), and built environment images.
	debs, _ := filepath.Glob(filepath.Join(dir, "debs", "sha256", "*", "*"))
	envs, _ := filepath.Glob(filepath.Join(dir, "envs", "*.tar"))
	for _, f := range append(debs, envs...) {
		if strings.HasSuffix(f, ".lock") || !stale(f) {
			continue
		}
		lock := f + ".lock"
		if strings.HasSuffix(f, ".tar") {
			lock = strings.TrimSuffix(f, ".tar") + ".lock"
		}
		if err := remove(f, lock); err != nil {
			return nil, err
		}
	}
	if o.all {
		images := filepath.Join(dir, "images")
		if _, err := os.Stat(images); err == nil {
			if err := remove(images, filepath.Join(images, ".lock")); err != nil {
				return nil, err
			}
		}
	}
	sort.Slice(res.Removed, func(i, j int) bool { return res.Removed[i].Path < res.Removed[j].Path })
	sort.Strings(res.Busy)
	return res, nil
}

// du is the size of the files below p.
func du(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
