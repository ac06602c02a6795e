package runner

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/digest"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// ErrStartTarball is matched when the tarball a from = "src"|"dist" build
// starts from is missing, not the pinned bytes, or unsafe to unpack.
var ErrStartTarball = errors.New("runner: starting tarball")

// startTarball returns the tarball a build with from = "src" or "dist"
// starts from, checked against the sha256 the recipe pins for it.
func (x *run) startTarball(ctx context.Context, name string, a *recipe.Artifact) (string, error) {
	from, fa := name, a
	if a.From == recipe.FromSrc {
		from = x.r.SrcArtifact()
		fa = x.r.Artifacts[from]
	}
	p := x.starts[from]
	if p == "" {
		if out, ok := x.outputs[from]; ok && from != name {
			if got, err := digest.File(ctx, out); err == nil && got == fa.SHA256 {
				p = out // the re-created src tarball, already proven equal
			}
		}
	}
	if p == "" {
		var err error
		if p, _, err = x.publishedCopy(ctx, from, fa); err != nil {
			return "", fmt.Errorf("%w: %s (%s): %v", ErrStartTarball, fa.File, from, err)
		}
	}
	got, err := digest.File(ctx, p)
	if err != nil {
		return "", err
	}
	if got != fa.SHA256 {
		return "", fmt.Errorf("%w: %s has sha256 %s, the recipe pins %s; not unpacking it", ErrStartTarball, p, got, fa.SHA256)
	}
	x.starts[from] = p
	x.event(name, "source", "starting from %s (%s, sha256 %s checked)", fa.File, from, got)
	return p, nil
}

// publishedCopy finds an artifact's published copy: --published DIR, the
// recipe's path, Debian's orig tarball ([artifacts.NAME.debian]), then
// the url.
func (x *run) publishedCopy(ctx context.Context, name string, a *recipe.Artifact) (path, origin string, err error) {
	if p, ok := x.localPublished(a.File, a.Path); ok {
		return p, p, nil
	}
	if d := a.Debian; d != nil {
		c := x.debianClient()
		x.event(name, "fetch", "fetching Debian %s's orig tarball of %s %s", d.Suite, d.Source, d.Version)
		p, f, err := c.FetchOrig(ctx, d.Suite, d.Source, d.Version)
		if err == nil {
			return p, c.URL(f.Pool), nil
		}
		if a.URL == "" {
			return "", "", err
		}
		x.warn("artifact %s: Debian's orig tarball: %v; trying %s", name, err, a.URL)
	}
	return x.published(ctx, a.File, a.Path, a.URL, a.SHA256)
}

// debianClient reads Debian's archive for inputs and published copies,
// caching into the run's debs/ cache and honouring --mirror.
func (x *run) debianClient() *debian.Client {
	return debian.NewClient(debian.Debian, debian.WithCacheDir(filepath.Join(x.o.cacheDir, "debs")), debian.WithMirror(x.o.mirror))
}

// newestMtime is the newest member mtime of a tarball: the stand-in for
// the commit time when no git history is read.
func newestMtime(ctx context.Context, p string) (time.Time, error) {
	f, err := os.Open(p)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	rc, _, err := tarball.Decompress(ctx, f)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %v", ErrStartTarball, p, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var newest time.Time
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return newest.UTC(), nil
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: %s: %v", ErrStartTarball, p, err)
		}
		if h.Typeflag != tar.TypeXGlobalHeader && h.ModTime.After(newest) {
			newest = h.ModTime
		}
	}
}

// tarballSourceTar writes the starting tarball p unpacked as src/: its
// top directory stripped, owners root, pax global headers dropped, mtimes
// kept (policy none) or set to the commit time (policy commit). Absolute
// names, ".." and links leaving src/ are errors: nothing hostile is
// copied into the build environment.
func (x *run) tarballSourceTar(ctx context.Context, w io.Writer, p string, policy recipe.MtimePolicy) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	rc, _, err := tarball.Decompress(ctx, f)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrStartTarball, p, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	tw := tar.NewWriter(w)
	root := &tar.Header{Name: "src/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: x.commitTime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(root); err != nil {
		return err
	}
	top := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrStartTarball, p, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		rest, err := stripTop(h.Name, &top)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrStartTarball, p, err)
		}
		if rest == "" {
			continue // the top directory itself
		}
		switch h.Typeflag {
		case tar.TypeLink:
			lr, err := stripTop(h.Linkname, &top)
			if err != nil || lr == "" {
				return fmt.Errorf("%w: %s: hard link %s -> %s leaves the tree", ErrStartTarball, p, h.Name, h.Linkname)
			}
			h.Linkname = "src/" + lr
		case tar.TypeSymlink:
			target := path.Clean(path.Join(path.Dir(rest), h.Linkname))
			if path.IsAbs(h.Linkname) || target == ".." || strings.HasPrefix(target, "../") {
				return fmt.Errorf("%w: %s: symlink %s -> %s leaves the tree", ErrStartTarball, p, h.Name, h.Linkname)
			}
		case tar.TypeReg, tar.TypeDir:
		default:
			return fmt.Errorf("%w: %s: %s is a %q entry, which a source tarball has no use for", ErrStartTarball, p, h.Name, h.Typeflag)
		}
		h.Name = "src/" + rest
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "root", "root"
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		h.PAXRecords = nil
		h.Format = tar.FormatPAX
		if policy == recipe.MtimeCommit {
			h.ModTime = x.commitTime
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return fmt.Errorf("%w: %s: %s: %v", ErrStartTarball, p, h.Name, err)
			}
		}
	}
	return tw.Close()
}

// stripTop removes the tarball's single top directory from name (set
// from the first member) and checks the rest stays inside it.
func stripTop(name string, top *string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if path.IsAbs(n) {
		return "", fmt.Errorf("absolute member name %q", name)
	}
	first, rest, _ := strings.Cut(n, "/")
	if *top == "" {
		*top = first
	}
	if first != *top {
		return "", fmt.Errorf("member %q is outside the top directory %s/", name, *top)
	}
	if rest == "" {
		return "", nil
	}
	clean := path.Clean(rest)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("member %q leaves the top directory", name)
	}
	if strings.HasSuffix(rest, "/") {
		clean += "/"
	}
	return clean, nil
}
