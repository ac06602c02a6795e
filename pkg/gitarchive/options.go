package gitarchive

import (
	"fmt"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"strings"
	"time"
)

// Option configures Write, ResolveCommit and Identify.
type Option func(*options) error

type options struct {
	git         string
	prefix      string
	mtime       *uint64
	now         func() time.Time
	abbrev      int // 0: as git (core.abbrev or auto)
	compression string
	level       int
	project     string
	maxSize     int64
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{git: "git", compression: CompressNone, level: -1, maxSize: tarball.DefaultMaxSize}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithMaxSize limits how many bytes Identify decompresses from the
// published tarball (default tarball.DefaultMaxSize); past it Identify
// fails with a *tarball.LimitError.
func WithMaxSize(n int64) Option {
	return func(o *options) error { o.maxSize = n; return nil }
}

// WithGit sets the git binary (default "git" from PATH).
func WithGit(path string) Option {
	return func(o *options) error { o.git = path; return nil }
}

// WithPrefix is git archive --prefix. A prefix ending in '/' adds a
// directory entry for it; an absolute prefix or one with a ".." component
// is an ErrBadPrefix.
func WithPrefix(prefix string) Option {
	return func(o *options) error {
		if err := checkPrefix(prefix); err != nil {
			return err
		}
		o.prefix = prefix
		return nil
	}
}

func checkPrefix(prefix string) error {
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w %q: absolute path", ErrBadPrefix, prefix)
	}
	for _, c := range strings.Split(prefix, "/") {
		if c == ".." {
			return fmt.Errorf("%w %q: contains \"..\"", ErrBadPrefix, prefix)
		}
	}
	if strings.ContainsRune(prefix, 0) {
		return fmt.Errorf("%w %q: contains NUL", ErrBadPrefix, prefix)
	}
	return nil
}

// WithMtime sets the mtime of all members instead of the committer time
// (git archive --mtime in git 2.42+). Needed for tree refs.
func WithMtime(t time.Time) Option {
	return func(o *options) error {
		if t.Unix() < 0 {
			return fmt.Errorf("gitarchive: mtime %s is before 1970", t.UTC().Format(time.RFC3339))
		}
		v := uint64(t.Unix())
		o.mtime = &v
		return nil
	}
}

// WithTreeTimeNow lets a tree ref (no commit) use now() as mtime, as git
// archive does; without it such an archive is an ErrNoMtime.
func WithTreeTimeNow(now func() time.Time) Option {
	return func(o *options) error { o.now = now; return nil }
}

// WithAbbrev pins core.abbrev for %h, %t, %p and %(describe) in
// export-subst files; 0 (default) keeps the repository's setting.
func WithAbbrev(n int) Option {
	return func(o *options) error {
		if n != 0 && (n < 4 || n > 64) {
			return fmt.Errorf("gitarchive: abbrev %d out of range 4..64", n)
		}
		o.abbrev = n
		return nil
	}
}

// WithCompression compresses the tar with method (see Compressors) at
// level (-1 for the method's default).
func WithCompression(method string, level int) Option {
	return func(o *options) error {
		if err := checkCompression(method, level); err != nil {
			return err
		}
		o.compression, o.level = method, level
		return nil
	}
}
