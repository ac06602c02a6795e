package debian

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Distribution is an archive layout: its default mirror, snapshot service
// and keyring.
type Distribution struct {
	Name string
	// Mirror is the default mirror URL.
	Mirror string
	// Snapshot is the snapshot service URL pattern; %s is the timestamp.
	Snapshot string
	// Keyrings are the default keyring files.
	Keyrings []string
	// Security is the security archive, when it is a separate tree.
	Security string
}

// Distributions verify-release knows.
var (
	Debian = Distribution{
		Name:     "debian",
		Mirror:   "http://deb.debian.org/debian",
		Snapshot: "http://snapshot.debian.org/archive/debian/%s",
		Keyrings: []string{"/usr/share/keyrings/debian-archive-keyring.gpg"},
		Security: "http://deb.debian.org/debian-security",
	}
	Ubuntu = Distribution{
		Name:     "ubuntu",
		Mirror:   "http://archive.ubuntu.com/ubuntu",
		Snapshot: "https://snapshot.ubuntu.com/ubuntu/%s",
		Keyrings: []string{"/usr/share/keyrings/ubuntu-archive-keyring.gpg"},
	}
)

// MirrorEnv names the environment variable that overrides the mirror of
// every distribution (VERIFY_RELEASE_DEBIAN_MIRROR,
// VERIFY_RELEASE_UBUNTU_MIRROR).
func MirrorEnv(distro string) string {
	return "VERIFY_RELEASE_" + strings.ToUpper(distro) + "_MIRROR"
}

// LookupDistribution returns the named distribution.
func LookupDistribution(name string) (Distribution, error) {
	switch name {
	case "debian":
		return Debian, nil
	case "ubuntu":
		return Ubuntu, nil
	}
	return Distribution{}, fmt.Errorf("%w: unknown distribution %q (debian or ubuntu)", ErrInvalid, name)
}

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalid: a malformed request (distribution, suite, version).
	ErrInvalid = errors.New("debian: invalid request")
	// ErrSignature: InRelease is not signed by a key of the keyring.
	ErrSignature = errors.New("debian: bad archive signature")
	// ErrChecksum: a file does not have the size or SHA-256 its parent
	// in the chain of trust lists.
	ErrChecksum = errors.New("debian: checksum mismatch")
	// ErrFetch: the archive could not be reached or answered an error.
	ErrFetch = errors.New("debian: fetch failed")
	// ErrNotFound: the archive has no such file, package or version.
	ErrNotFound = errors.New("debian: not found")
)

// Client reads one archive.
type Client struct {
	dist     Distribution
	mirrors  []string
	keyrings []string
	cacheDir string
	http     *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithMirror replaces the distribution's default mirror (and the
// environment variable MirrorEnv). Several mirrors are tried in order.
func WithMirror(urls ...string) Option {
	return func(c *Client) {
		if len(urls) > 0 && urls[0] != "" {
			c.mirrors = urls
		}
	}
}

// WithSnapshot adds the snapshot archive at timestamp ts (e.g.
// "20250604T000000Z") after the mirrors, for pool files the mirror no
// longer has. An empty ts adds nothing.
func WithSnapshot(ts string) Option {
	return func(c *Client) {
		if ts != "" && c.dist.Snapshot != "" {
			c.mirrors = append(c.mirrors, fmt.Sprintf(c.dist.Snapshot, ts))
		}
	}
}

// WithKeyring replaces the default keyring files (binary or armored
// OpenPGP public keys).
func WithKeyring(paths ...string) Option {
	return func(c *Client) {
		if len(paths) > 0 {
			c.keyrings = paths
		}
	}
}

// WithCacheDir sets the directory of the content-addressed file cache
// (default: no cache for indexes; pool files then go to a temp dir the
// caller must name with Fetch's dest).
func WithCacheDir(dir string) Option { return func(c *Client) { c.cacheDir = dir } }

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// NewClient returns a client for dist.
func NewClient(dist Distribution, opts ...Option) *Client {
	c := &Client{dist: dist, keyrings: dist.Keyrings, http: &http.Client{Timeout: 10 * time.Minute}}
	c.mirrors = []string{dist.Mirror}
	if m := os.Getenv(MirrorEnv(dist.Name)); m != "" {
		c.mirrors = []string{m}
	}
	for _, o := range opts {
		o(c)
	}
	for i, m := range c.mirrors {
		c.mirrors[i] = strings.TrimRight(m, "/")
	}
	return c
}

// Distribution returns the client's distribution.
func (c *Client) Distribution() Distribution { return c.dist }

// Mirrors returns the URLs asked, in order.
func (c *Client) Mirrors() []string { return append([]string(nil), c.mirrors...) }

// URL is the address of path (relative to the archive root) on the
// first mirror.
func (c *Client) URL(path string) string { return c.mirrors[0] + "/" + path }

// get fetches path from the first mirror that has it and passes the
// body to fn. A 404 on every mirror is ErrNotFound.
func (c *Client) get(ctx context.Context, path string, fn func(io.Reader) error) error {
	var errs []error
	notFound := 0
	for _, m := range c.mirrors {
		u := m + "/" + path
		err := c.getURL(ctx, u, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrNotFound) {
			notFound++
		}
		if errors.Is(err, ErrChecksum) {
			return err
		}
		errs = append(errs, err)
	}
	if notFound == len(c.mirrors) {
		return fmt.Errorf("%w: %s on %s", ErrNotFound, path, strings.Join(c.mirrors, ", "))
	}
	return errors.Join(errs...)
}

func (c *Client) getURL(ctx context.Context, u string, fn func(io.Reader) error) error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrFetch, u, err)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			last = fmt.Errorf("%w: %s: %v", ErrFetch, u, err)
			continue
		}
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			resp.Body.Close()
			return fmt.Errorf("%w: %s (HTTP %d)", ErrNotFound, u, resp.StatusCode)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			last = fmt.Errorf("%w: %s: HTTP %s", ErrFetch, u, resp.Status)
			if resp.StatusCode < 500 {
				return last
			}
			continue
		}
		err = fn(resp.Body)
		resp.Body.Close()
		if err == nil || errors.Is(err, ErrChecksum) || errors.Is(err, ErrSignature) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return last
}

// cachePath is where a file with the given sha256 lives in the cache.
func (c *Client) cachePath(sha string) string {
	return filepath.Join(c.cacheDir, "sha256", sha[:2], sha)
}
