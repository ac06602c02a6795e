package debian

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"pault.ag/go/debian/deb"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

// FindPackage returns binary package name at version of suite (or its
// -updates and -security suites), from the verified indexes.
func (c *Client) FindPackage(ctx context.Context, suite, name, version, arch string) (Package, error) {
	suites := c.withUpdates(suite)
	var have []string
	for i, s := range suites {
		rel, err := c.Release(ctx, s)
		if err != nil {
			if i > 0 {
				continue
			}
			return Package{}, err
		}
		pkgs, err := c.Packages(ctx, rel, "main", arch)
		if err != nil {
			return Package{}, err
		}
		for _, p := range pkgs {
			if p.Name != name {
				continue
			}
			if p.Version == version {
				return p, nil
			}
			have = append(have, p.Version)
		}
	}
	return Package{}, &VersionError{Package: name, Version: version, Suites: suites, Have: have}
}

// ExtractFile makes file (a path inside the package, e.g.
// "usr/share/gnulib/gnulib.bundle") of binary package p present in the
// cache and returns its path. The .deb is fetched and checked by its
// sha256 first; the extracted file is cached under the .deb's digest.
func (c *Client) ExtractFile(ctx context.Context, p Package, file string) (string, error) {
	if c.cacheDir == "" {
		return "", fmt.Errorf("%w: ExtractFile needs a cache directory", ErrInvalid)
	}
	file = strings.TrimPrefix(path.Clean("/"+file), "/")
	debPath, err := c.Fetch(ctx, p.Suite, p.Filename, FileSum{Size: p.Size, SHA256: p.SHA256})
	if err != nil {
		return "", err
	}
	dst := filepath.Join(c.cacheDir, "extract", p.SHA256, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("debian: %w", err)
	}
	unlock, err := filelock.Lock(ctx, dst+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(dst); err == nil {
		touch(dst)
		return dst, nil
	}
	f, err := os.Open(debPath)
	if err != nil {
		return "", fmt.Errorf("debian: %w", err)
	}
	defer f.Close()
	d, err := deb.Load(f, debPath)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalid, p.Filename, err)
	}
	defer d.Close()
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		h, err := d.Data.Next()
		if err == io.EOF {
			return "", fmt.Errorf("%w: %s %s has no file /%s", ErrNotFound, p.Name, p.Version, file)
		}
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrInvalid, p.Filename, err)
		}
		if strings.TrimPrefix(h.Name, "./") != file {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return "", fmt.Errorf("%w: /%s in %s is not a regular file", ErrInvalid, file, p.Filename)
		}
		if err := atomicfile.Write(dst, func(w io.Writer) error {
			_, err := io.Copy(w, d.Data)
			return err
		}); err != nil {
			return "", fmt.Errorf("debian: extracting /%s: %w", file, err)
		}
		return dst, nil
	}
}
