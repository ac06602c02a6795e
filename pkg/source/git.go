package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

var (
	// ErrUnknownRef is matched when a tag or commit does not exist in the
	// repository.
	ErrUnknownRef = errors.New("source: unknown ref")
	// ErrNotRepository is matched when a directory is not a git repository.
	ErrNotRepository = errors.New("source: not a git repository")
	// ErrFetch is matched when a repository cannot be cloned or updated.
	ErrFetch = errors.New("source: cannot fetch the repository")
)

// MovedTagError says a tag no longer resolves to the pinned commit.
type MovedTagError struct {
	Repo   string
	Tag    string
	Pinned string
	Found  string
}

func (e *MovedTagError) Error() string {
	return fmt.Sprintf("source: tag %s in %s resolves to %s, but the recipe pins %s: the tag was moved (or the recipe is wrong)", e.Tag, e.Repo, e.Found, e.Pinned)
}

// VerificationFailed marks a moved tag as a verification failure.
func (e *MovedTagError) VerificationFailed() bool { return true }

// git runs git with args in dir and returns stdout; stderr goes into the
// error.
func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return stdout.Bytes(), nil
}

// OpenRepo checks that dir is a git repository (bare or not) and returns
// its git directory.
func OpenRepo(ctx context.Context, dir string) (string, error) {
	out, err := git(ctx, dir, "rev-parse", "--absolute-git-dir")
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: %s", ErrNotRepository, dir)
	}
	return strings.TrimSpace(string(out)), nil
}

// ResolveTag returns the commit a tag (annotated or lightweight) points to.
func ResolveTag(ctx context.Context, repo, tag string) (string, error) {
	out, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: tag %s not found in %s", ErrUnknownRef, tag, repo)
	}
	return strings.TrimSpace(string(out)), nil
}

// CheckTag resolves tag and returns a *MovedTagError when it does not
// point at the pinned commit.
func CheckTag(ctx context.Context, repo, tag, pinned string) error {
	got, err := ResolveTag(ctx, repo, tag)
	if err != nil {
		return err
	}
	if got != pinned {
		return &MovedTagError{Repo: repo, Tag: tag, Pinned: pinned, Found: got}
	}
	return nil
}

// CommitTime returns the committer time of commit.
func CommitTime(ctx context.Context, repo, commit string) (time.Time, error) {
	out, err := git(ctx, repo, "show", "-s", "--format=%ct", commit+"^{commit}", "--")
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}, err
		}
		return time.Time{}, fmt.Errorf("%w: commit %s in %s", ErrUnknownRef, commit, repo)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("source: commit time of %s: %w", commit, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Mirror makes (or updates) a bare mirror of url under cacheDir and returns
// its path and a function that releases it. A local directory url is
// mirrored too, so the caller's repository is never modified.
//
// The mirror stays locked until release is called: shared (any number of
// runs use a mirror at once) on DIR.lock, which 'cache prune' must take
// exclusively to remove it, so a mirror is never removed while in use.
// Fetches into one mirror are serialised with DIR.fetch.
func Mirror(ctx context.Context, url, cacheDir string) (dir string, release func(), err error) {
	sum := sha256.Sum256([]byte(url))
	dir = filepath.Join(cacheDir, "git", hex.EncodeToString(sum[:8])+".git")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", nil, fmt.Errorf("source: cache: %w", err)
	}
	release, err = filelock.LockShared(ctx, dir+".lock")
	if err != nil {
		return "", nil, err
	}
	if err := fetchMirror(ctx, url, dir); err != nil {
		release()
		return "", nil, err
	}
	return dir, release, nil
}

func fetchMirror(ctx context.Context, url, dir string) error {
	unlock, err := filelock.Lock(ctx, dir+".fetch")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		if _, err := git(ctx, dir, "fetch", "--quiet", "--prune", "--tags", "--force", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
			return fmt.Errorf("%w: updating the mirror of %s: %w", ErrFetch, url, err)
		}
		return nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if _, err := git(ctx, "", "clone", "--quiet", "--mirror", "--", url, tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("%w: cloning %s: %w", ErrFetch, url, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("source: cache: %w", err)
	}
	return nil
}

// Checkout clones repo into dst (which must not exist) and checks out
// commit detached, keeping .git with all tags (make dist rules often run
// git describe).
func Checkout(ctx context.Context, repo, commit, dst string) error {
	if _, err := git(ctx, "", "clone", "--quiet", "--no-hardlinks", "--no-checkout", "--", repo, dst); err != nil {
		return fmt.Errorf("source: checkout: %w", err)
	}
	if _, err := git(ctx, dst, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit); err != nil {
		return fmt.Errorf("source: checkout %s: %w", commit, err)
	}
	return nil
}

// FileTimes returns, for every path changed in the history of commit, the
// committer time of the newest commit that touched it (the "per-file"
// mtime policy). Paths are relative to the repository root.
func FileTimes(ctx context.Context, repo, commit string) (map[string]time.Time, error) {
	out, err := git(ctx, repo, "log", "--no-renames", "--name-only", "-z", "--format=%x01%ct", commit)
	if err != nil {
		return nil, fmt.Errorf("source: file times: %w", err)
	}
	times := map[string]time.Time{}
	var cur time.Time
	for _, field := range bytes.Split(out, []byte{0}) {
		// With -z, each commit is "\x01TIME\n" followed by NUL-separated
		// names; the first name follows the newline.
		if i := bytes.IndexByte(field, 1); i >= 0 {
			rest := field[i+1:]
			ts, names, _ := bytes.Cut(rest, []byte{'\n'})
			sec, err := strconv.ParseInt(string(ts), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("source: file times: bad log line %q", field)
			}
			cur = time.Unix(sec, 0).UTC()
			field = bytes.TrimLeft(names, "\n")
		}
		name := string(bytes.TrimLeft(field, "\n"))
		if name == "" {
			continue
		}
		if _, seen := times[name]; !seen {
			times[name] = cur
		}
	}
	return times, nil
}

// HasCommit reports (as a nil error) whether repo holds commit.
func HasCommit(ctx context.Context, repo, commit string) error {
	if _, err := git(ctx, repo, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return fmt.Errorf("source: %s has no commit %s", repo, commit)
	}
	return nil
}

// NewestCommit returns "ID DATE" of the commit with the newest committer
// date among all refs of repo.
func NewestCommit(ctx context.Context, repo string) (string, error) {
	out, err := git(ctx, repo, "log", "--all", "-1", "--date-order", "--format=%H (%cI)")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}
