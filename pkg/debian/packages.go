package debian

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
	"pault.ag/go/debian/control"
	"pault.ag/go/debian/version"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

// maxPoolFile bounds a pool file whose size no index gives (4 GiB).
const maxPoolFile = 4 << 30

// Package is one stanza of a Packages index.
type Package struct {
	Name         string
	Version      string
	Architecture string
	Source       string
	Filename     string
	Size         int64
	SHA256       string
	Depends      string
	PreDepends   string
	Provides     string
	Essential    bool
	Priority     string
	MultiArch    string
	// Suite is the suite whose index listed it.
	Suite string
	// Root is the archive root Filename is relative to.
	Root string
}

// ParsedVersion parses p.Version.
func (p Package) ParsedVersion() (version.Version, error) { return version.Parse(p.Version) }

// Packages returns the binary package index of component/arch in rel,
// checked against rel's SHA-256 (the .xz, else the .gz form). Indexes are
// cached by SHA-256 when the client has a cache directory.
func (c *Client) Packages(ctx context.Context, rel *Release, component, arch string) ([]Package, error) {
	base := component + "/binary-" + arch + "/Packages"
	r, err := c.openIndex(ctx, rel, base)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	pkgs, err := ParsePackages(r, rel.Suite+"/"+base)
	if err != nil {
		return nil, err
	}
	for i := range pkgs {
		pkgs[i].Suite, pkgs[i].Root = rel.Suite, rel.Root
	}
	return pkgs, nil
}

// openIndex opens dists/SUITE/BASE.xz (else .gz) decompressed, checked
// against rel's SHA-256.
func (c *Client) openIndex(ctx context.Context, rel *Release, base string) (io.ReadCloser, error) {
	for _, ext := range []string{".xz", ".gz"} {
		if sum, ok := rel.Files[base+ext]; ok {
			return c.index(ctx, rel, base+ext, sum)
		}
	}
	return nil, fmt.Errorf("%w: %s %s lists no %s.xz or .gz", ErrNotFound, c.dist.Name, rel.Suite, base)
}

// index opens the decompressed content of dists/SUITE/path, verified
// against sum before decompression.
func (c *Client) index(ctx context.Context, rel *Release, path string, sum FileSum) (io.ReadCloser, error) {
	var f *os.File
	if c.cacheDir != "" {
		p := c.cachePath(sum.SHA256)
		if err := verifyFile(p, sum); err == nil {
			var oerr error
			if f, oerr = os.Open(p); oerr != nil {
				return nil, fmt.Errorf("debian: %w", oerr)
			}
		}
	}
	if f == nil {
		full := "dists/" + rel.Suite + "/" + path
		one := *c
		one.mirrors = []string{rel.Root}
		tmp, err := one.download(ctx, full, sum)
		if err != nil {
			return nil, err
		}
		f = tmp
	}
	var r io.Reader
	var err error
	if strings.HasSuffix(path, ".xz") {
		r, err = xz.NewReader(bufio.NewReaderSize(f, 1<<20))
	} else {
		r, err = gzip.NewReader(f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// download fetches path into the cache (or a temp file that is removed
// when closed... the caller closes it) and checks size and SHA-256
// before the file becomes visible under its digest.
func (c *Client) download(ctx context.Context, path string, sum FileSum) (*os.File, error) {
	if c.cacheDir == "" {
		tmp, err := os.CreateTemp("", "verify-release-debian-")
		if err != nil {
			return nil, fmt.Errorf("debian: %w", err)
		}
		os.Remove(tmp.Name())
		if err := c.get(ctx, path, func(r io.Reader) error {
			if _, err := tmp.Seek(0, 0); err != nil {
				return err
			}
			if err := tmp.Truncate(0); err != nil {
				return err
			}
			return copyChecked(tmp, r, sum, c.URL(path))
		}); err != nil {
			tmp.Close()
			return nil, err
		}
		if _, err := tmp.Seek(0, 0); err != nil {
			tmp.Close()
			return nil, fmt.Errorf("debian: %w", err)
		}
		return tmp, nil
	}
	p, err := c.fetchToCache(ctx, path, sum)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("debian: %w", err)
	}
	return f, nil
}

// fetchToCache makes the file with digest sum.SHA256 present in the
// cache, downloading path when it is missing or corrupt, and returns
// its cache path. Concurrent callers are serialised by a lock per
// digest; a failed download leaves nothing behind.
func (c *Client) fetchToCache(ctx context.Context, path string, sum FileSum) (string, error) {
	p := c.cachePath(sum.SHA256)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("debian: creating cache: %w", err)
	}
	unlock, err := filelock.Lock(ctx, p+".lock")
	if err != nil {
		return "", fmt.Errorf("debian: locking %s: %w", p, err)
	}
	defer unlock()
	if err := verifyFile(p, sum); err == nil {
		touch(p)
		return p, nil
	}
	os.Remove(p)
	err = c.get(ctx, path, func(r io.Reader) error {
		return atomicfile.Write(p, func(w io.Writer) error { return copyChecked(w, r, sum, c.URL(path)) })
	})
	if err != nil {
		return "", err
	}
	return p, nil
}

func copyChecked(w io.Writer, r io.Reader, sum FileSum, name string) error {
	h := sha256.New()
	limit := sum.Size + 1
	if sum.Size < 0 {
		limit = maxPoolFile // a digest pinned by the recipe, size unknown
	}
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(r, limit))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrFetch, name, err)
	}
	if sum.Size >= 0 && n != sum.Size {
		return fmt.Errorf("%w: %s: %d bytes, the signed index says %d", ErrChecksum, name, n, sum.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum.SHA256 {
		who := "the signed index says"
		if sum.Size < 0 {
			who = "the recipe pins"
		}
		return fmt.Errorf("%w: %s: sha256 %s, %s %s", ErrChecksum, name, got, who, sum.SHA256)
	}
	return nil
}

// verifyFile checks that the file at p has size and SHA-256 sum.
func verifyFile(p string, sum FileSum) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return copyChecked(io.Discard, f, sum, p)
}

// ParsePackages parses a Packages index; name names it in errors.
func ParsePackages(r io.Reader, name string) ([]Package, error) {
	pr, err := control.NewParagraphReader(bufio.NewReaderSize(r, 1<<20), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	var out []Package
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
		}
		v := p.Values
		pkg := Package{
			Name: v["Package"], Version: v["Version"], Architecture: v["Architecture"],
			Source: v["Source"], Filename: v["Filename"], SHA256: v["SHA256"],
			Depends: v["Depends"], PreDepends: v["Pre-Depends"], Provides: v["Provides"],
			Essential: v["Essential"] == "yes", Priority: v["Priority"], MultiArch: v["Multi-Arch"],
		}
		if _, err := fmt.Sscan(v["Size"], &pkg.Size); err != nil || pkg.Name == "" || pkg.Version == "" || len(pkg.SHA256) != 64 {
			return nil, fmt.Errorf("%w: %s: stanza %q lacks Package, Version, Size or SHA256", ErrInvalid, name, pkg.Name)
		}
		out = append(out, pkg)
	}
	return out, nil
}

// Fetch makes pool file filename of suite present in the cache, checked
// against sum, and returns its path. A Debian "-security" suite's files
// are asked from the security archive first; then the mirrors and the
// snapshot archive are tried in order.
func (c *Client) Fetch(ctx context.Context, suite, filename string, sum FileSum) (string, error) {
	if c.cacheDir == "" {
		return "", fmt.Errorf("%w: Fetch needs a cache directory", ErrInvalid)
	}
	if strings.HasPrefix(filename, "/") || strings.Contains(filename, "..") || !strings.HasPrefix(filename, "pool/") {
		return "", fmt.Errorf("%w: pool path %q", ErrInvalid, filename)
	}
	if strings.HasSuffix(suite, "-security") && c.dist.Security != "" && os.Getenv(MirrorEnv(c.dist.Name)) == "" {
		cp := *c
		cp.mirrors = append([]string{c.dist.Security}, c.mirrors...)
		c = &cp
	}
	return c.fetchToCache(ctx, filename, sum)
}

// CachedPath returns the cache path of a file with this digest if it is
// present and intact.
func (c *Client) CachedPath(sum FileSum) (string, bool) {
	if c.cacheDir == "" {
		return "", false
	}
	p := c.cachePath(sum.SHA256)
	if verifyFile(p, sum) != nil {
		return "", false
	}
	touch(p)
	return p, true
}

// touch records a use of a cache entry (cache prune ages entries by it).
func touch(p string) {
	now := time.Now()
	os.Chtimes(p, now, now)
}
