package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// ErrFetch is matched when a published file cannot be fetched.
var ErrFetch = errors.New("runner: fetch failed")

// fetchPinned returns a cached copy of url whose sha256 is want,
// downloading it when the cache has none or a corrupt one.
func (x *run) fetchPinned(ctx context.Context, url, want string) (string, error) {
	dst := filepath.Join(x.o.cacheDir, "files", want)
	if got, err := digest.File(ctx, dst); err == nil && got == want {
		return dst, nil
	}
	if err := x.download(ctx, url, dst); err != nil {
		return "", err
	}
	got, err := digest.File(ctx, dst)
	if err != nil {
		return "", err
	}
	if got != want {
		os.Remove(dst)
		return "", fmt.Errorf("%w: %s has sha256 %s, the recipe pins %s", ErrFetch, url, got, want)
	}
	return dst, nil
}

// download fetches url to dst (atomically) with retries.
func (x *run) download(ctx context.Context, url, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if p, ok := strings.CutPrefix(url, "file://"); ok {
		return copyFile(p, dst)
	}
	var last error
	for attempt := 0; attempt < max(1, x.o.retries); attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		last = x.get(ctx, url, dst)
		if last == nil || errors.Is(last, errPermanent) || ctx.Err() != nil {
			break
		}
	}
	if last != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s: %w", ErrFetch, url, last)
	}
	return nil
}

var errPermanent = errors.New("permanent")

func (x *run) get(ctx context.Context, url, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	req.Header.Set("User-Agent", "verify-release/"+x.o.toolVersion)
	resp, err := x.o.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("HTTP %s", resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return fmt.Errorf("%w: %w", errPermanent, err)
		}
		return err
	}
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, resp.Body)
		return err
	})
}

// localPublished finds a published copy on disk: in --published DIR, or
// at the recipe's path (relative to the recipe).
func (x *run) localPublished(name, rel string) (string, bool) {
	if x.o.publishedDir != "" {
		p := filepath.Join(x.o.publishedDir, name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	if rel != "" && x.r.Path != "" && !strings.HasPrefix(x.r.Path, "builtin:") {
		p := filepath.Join(filepath.Dir(x.r.Path), filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// published finds the published copy of a file: first in --published DIR,
// then at the recipe-relative path, then at the URL. name is the file
// name, rel the recipe-relative path, url the download URL. A cached
// download is reused only when its sha256 is want (the recipe's expected
// digest); anything else is fetched again, so a replaced upstream file is
// never hidden by the cache.
func (x *run) published(ctx context.Context, name, rel, url, want string) (path, origin string, err error) {
	if p, ok := x.localPublished(name, rel); ok {
		return p, p, nil
	}
	if url == "" {
		return "", "", fmt.Errorf("%w: no published copy of %s: the recipe gives no url and --published has none", ErrFetch, name)
	}
	sum := sha256.Sum256([]byte(url))
	dst := filepath.Join(x.o.cacheDir, "published", hex.EncodeToString(sum[:8]), name)
	if got, err := digest.File(ctx, dst); err == nil && want != "" && got == want {
		return dst, url, nil
	}
	x.event("", "fetch", "fetching %s", url)
	if err := x.download(ctx, url, dst); err != nil {
		return "", "", err
	}
	return dst, url, nil
}
