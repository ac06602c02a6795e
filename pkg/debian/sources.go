package debian

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"pault.ag/go/debian/control"
)

// Source is one stanza of a Sources index: a source package and the
// files of its pool directory, with their sizes and SHA-256.
type Source struct {
	Name, Version, Directory string
	Files                    []SourceFile
	Suite, Root              string
}

// SourceFile is a file of a source package.
type SourceFile struct {
	Name string
	FileSum
	// Pool is its path below the archive root, set by FetchOrig.
	Pool string
}

// Path is the file's pool path.
func (f SourceFile) Path(s Source) string { return path.Join(s.Directory, f.Name) }

// OrigTarball returns the upstream tarball of the source package (the
// .orig.tar.*, not its signature or a component tarball).
func (s Source) OrigTarball() (SourceFile, bool) {
	for _, f := range s.Files {
		base := strings.TrimPrefix(f.Name, s.Name+"_")
		if strings.Contains(base, ".orig.tar.") && !strings.HasSuffix(base, ".asc") && !strings.Contains(base, ".orig-") {
			return f, true
		}
	}
	return SourceFile{}, false
}

// Sources returns the source package index of component in rel, checked
// against rel's SHA-256.
func (c *Client) Sources(ctx context.Context, rel *Release, component string) ([]Source, error) {
	base := component + "/source/Sources"
	r, err := c.openIndex(ctx, rel, base)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	pr, err := control.NewParagraphReader(r, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, base, err)
	}
	var out []Source
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s/%s: %v", ErrInvalid, rel.Suite, base, err)
		}
		s := Source{Name: p.Values["Package"], Version: p.Values["Version"], Directory: p.Values["Directory"], Suite: rel.Suite, Root: rel.Root}
		for _, line := range strings.Split(p.Values["Checksums-Sha256"], "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || len(f[0]) != 64 {
				return nil, fmt.Errorf("%w: %s/%s: source %s: bad Checksums-Sha256 line %q", ErrInvalid, rel.Suite, base, s.Name, line)
			}
			s.Files = append(s.Files, SourceFile{Name: f[2], FileSum: FileSum{Size: n, SHA256: f[0]}})
		}
		out = append(out, s)
	}
	return out, nil
}

// FetchOrig finds source package name at version in suite (or its
// -updates/-security suites) and fetches its orig tarball into the cache,
// every step checked through the signed chain. It returns the cached
// path and the file's pool name and digest.
func (c *Client) FetchOrig(ctx context.Context, suite, name, version string) (string, SourceFile, error) {
	var have []string
	suites := c.withUpdates(suite)
	for i, s := range suites {
		rel, err := c.Release(ctx, s)
		if err != nil {
			if i > 0 {
				continue
			}
			return "", SourceFile{}, err
		}
		srcs, err := c.Sources(ctx, rel, "main")
		if err != nil {
			return "", SourceFile{}, err
		}
		for _, src := range srcs {
			if src.Name != name {
				continue
			}
			if src.Version != version {
				have = append(have, src.Version)
				continue
			}
			f, ok := src.OrigTarball()
			if !ok {
				return "", SourceFile{}, fmt.Errorf("%w: source package %s %s in %s has no orig tarball (a native package?)", ErrNotFound, name, version, s)
			}
			one := *c
			one.mirrors = append([]string{rel.Root}, c.mirrors...)
			f.Pool = f.Path(src)
			p, err := one.fetchToCache(ctx, f.Pool, f.FileSum)
			if err != nil {
				return "", SourceFile{}, err
			}
			return p, f, nil
		}
	}
	return "", SourceFile{}, &VersionError{Package: "source " + name, Version: version, Suites: suites, Have: have}
}
