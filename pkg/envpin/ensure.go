package envpin

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

// Source tells how EnsureImage made an image available to the engine.
type Source string

const (
	// SourceEngine: the engine already had the image.
	SourceEngine Source = "engine"
	// SourcePull: the engine pulled it by digest.
	SourcePull Source = "pull"
	// SourceCache: loaded from the OCI layout cache (fetched first if
	// needed) after the engine's pull failed.
	SourceCache Source = "cache"
	// SourceArchive: loaded from an image archive by LoadArchive.
	SourceArchive Source = "archive"
)

// Ensured describes an image made available to the engine.
type Ensured struct {
	// Ref is the pinned reference ("name@sha256:..."); empty for a
	// docker-archive loaded by LoadArchive.
	Ref string
	// Digest is the pinned manifest digest.
	Digest string
	// ImageID is the engine's image ID, equal to the config digest.
	ImageID string
	// Resolved is true when the reference was a tag resolved at run time:
	// the runner must warn and record Digest.
	Resolved bool
	Source   Source
	// PullError is why the engine's pull failed (Source == SourceCache).
	PullError error
	// Downloaded counts the .debs an archive environment fetched.
	Downloaded int
}

// LockedImage is what the lock file records about an image.
type LockedImage struct {
	Ref          string `toml:"ref"`
	Digest       string `toml:"digest"`
	ConfigDigest string `toml:"config_digest,omitempty"`
}

// EnsureImage makes the image ref available to the Docker engine d and
// returns its ID. An unpinned ref is resolved first (see Resolve and
// WithRequirePinned). In order it uses: the engine's image with the pinned
// repo digest, or whose ID is the config digest recorded in the cache; an
// engine pull by digest; the OCI layout cache (fetching the image there
// if missing), converted to a docker-archive and loaded. The loaded
// image's ID must equal the pinned manifest's config digest.
// configDigest, when not empty (the lock's config_digest), must match too.
func EnsureImage(ctx context.Context, d *engine.Docker, ref, configDigest string, opts ...Option) (Ensured, error) {
	digest, resolved, err := Resolve(ctx, ref, opts...)
	if err != nil {
		return Ensured{}, err
	}
	r, _ := ParseRef(ref, opts...)
	pinned := r.Context().Digest(digest).String()
	res := Ensured{Ref: pinned, Digest: digest, Resolved: resolved}
	check := func(id string) error {
		if configDigest != "" && id != configDigest {
			return &DigestError{What: "image ID (config digest)", Source: pinned, Want: configDigest, Got: id}
		}
		return nil
	}

	if info, err := d.Image(ctx, pinned); err == nil {
		res.ImageID, res.Source = info.ID, SourceEngine
		return res, check(info.ID)
	} else if !errors.Is(err, engine.ErrImageNotFound) {
		return Ensured{}, err
	}
	cache, err := OpenCache(opts...)
	if err != nil {
		return Ensured{}, err
	}
	// An image pinned from a local engine or a docker-archive (PinLocal):
	// the config digest names its content, whatever its repo digests.
	if configDigest != "" {
		if info, err := d.Image(ctx, configDigest); err == nil && info.ID == configDigest {
			res.ImageID, res.Source = info.ID, SourceEngine
			return res, nil
		}
	}
	if ci, ok, err := cache.Lookup(ctx, digest); err != nil {
		return Ensured{}, err
	} else if ok {
		if err := check(ci.ConfigDigest); err != nil {
			return Ensured{}, err
		}
		if info, err := d.Image(ctx, ci.ConfigDigest); err == nil && info.ID == ci.ConfigDigest {
			res.ImageID, res.Source = info.ID, SourceEngine
			return res, nil
		}
	}

	pullErr := d.Pull(ctx, pinned)
	if pullErr == nil {
		info, err := d.Image(ctx, pinned)
		if err != nil {
			return Ensured{}, err
		}
		res.ImageID, res.Source = info.ID, SourcePull
		return res, check(info.ID)
	}
	if ctx.Err() != nil {
		return Ensured{}, pullErr
	}
	res.PullError = pullErr

	ci, err := cache.Fetch(ctx, pinned, opts...)
	if err != nil {
		return Ensured{}, fmt.Errorf("%w: %w (engine pull failed too: %v)", ErrImageUnavailable, err, pullErr)
	}
	if err := check(ci.ConfigDigest); err != nil {
		return Ensured{}, err
	}
	tag, err := name.NewTag(r.Context().Name()+":verify-release-"+strings.TrimPrefix(digest, "sha256:")[:16], name.Insecure)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: %w", err)
	}
	if err := loadImage(ctx, d, tag, ci.Image, ci.ConfigDigest, pinned); err != nil {
		return Ensured{}, err
	}
	res.ImageID, res.Source = ci.ConfigDigest, SourceCache
	return res, nil
}

// loadImage writes img as a docker-archive into the engine and checks the
// engine's image ID is configDigest.
func loadImage(ctx context.Context, d *engine.Docker, tag name.Tag, img v1.Image, configDigest, source string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	_, err := d.Load(ctx, pr)
	pr.CloseWithError(errors.New("envpin: load aborted"))
	if err != nil {
		return fmt.Errorf("envpin: loading %s: %w", source, err)
	}
	return checkLoaded(ctx, d, configDigest, source)
}

func checkLoaded(ctx context.Context, d *engine.Docker, configDigest, source string) error {
	info, err := d.Image(ctx, configDigest)
	if errors.Is(err, engine.ErrImageNotFound) {
		return &DigestError{What: "loaded image ID", Source: source, Want: configDigest, Got: "no image with that ID in the engine"}
	}
	if err != nil {
		return err
	}
	if info.ID != configDigest {
		return &DigestError{What: "loaded image ID", Source: source, Want: configDigest, Got: info.ID}
	}
	return nil
}

// ErrArchiveFormat is returned by LoadArchive for a file that is neither a
// docker-archive nor an OCI image layout.
var ErrArchiveFormat = errors.New("envpin: not a docker-archive or OCI image layout")

// ErrImageUnavailable is matched when a pinned image is in neither the
// engine nor the image cache and can be fetched neither by the engine nor
// from its registry.
var ErrImageUnavailable = errors.New("envpin: image not available")

// LoadArchive loads an image archive into the engine after checking it
// against the lock's pin (--image-archive). path is an OCI image layout
// directory, an OCI layout tarball, or a docker-archive (`docker save`)
// tarball. OCI layouts are checked by manifest digest (pin.Digest; an
// index digest selects the platform image) and go through the cache,
// which re-hashes every blob. A docker-archive has no manifest, so it is
// checked by config digest (pin.ConfigDigest, required); the engine
// verifies the layers against the config's diff IDs while loading.
func LoadArchive(ctx context.Context, d *engine.Docker, path string, pin LockedImage, opts ...Option) (Ensured, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: image archive: %w", err)
	}
	if fi.IsDir() {
		return loadOCILayout(ctx, d, path, path, pin, opts)
	}
	kind, err := archiveKind(path)
	if err != nil {
		return Ensured{}, err
	}
	if kind == "oci" {
		tmp, err := os.MkdirTemp("", "verify-release-oci-")
		if err != nil {
			return Ensured{}, fmt.Errorf("envpin: %w", err)
		}
		defer os.RemoveAll(tmp)
		if err := untar(path, tmp); err != nil {
			return Ensured{}, err
		}
		return loadOCILayout(ctx, d, tmp, path, pin, opts)
	}

	if pin.ConfigDigest == "" {
		return Ensured{}, fmt.Errorf("envpin: %s is a docker-archive, which has no manifest digest; the lock must record the image's config_digest to check it", path)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: reading docker-archive %s: %w", path, err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: reading docker-archive %s: %w", path, err)
	}
	if cfg.String() != pin.ConfigDigest {
		return Ensured{}, &DigestError{What: "config", Source: path, Want: pin.ConfigDigest, Got: cfg.String()}
	}
	f, err := os.Open(path)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: %w", err)
	}
	defer f.Close()
	if _, err := d.Load(ctx, f); err != nil {
		return Ensured{}, fmt.Errorf("envpin: loading %s: %w", path, err)
	}
	if err := checkLoaded(ctx, d, pin.ConfigDigest, path); err != nil {
		return Ensured{}, err
	}
	return Ensured{Digest: pin.Digest, ImageID: pin.ConfigDigest, Source: SourceArchive}, nil
}

// archiveKind tells an OCI layout tarball ("oci") from a docker-archive
// ("docker") by their members.
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("envpin: image archive: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	docker := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrArchiveFormat, path, err)
		}
		switch strings.TrimPrefix(h.Name, "./") {
		case "oci-layout":
			return "oci", nil
		case "manifest.json":
			docker = true
		}
	}
	if docker {
		return "docker", nil
	}
	return "", fmt.Errorf("%w: %s has neither oci-layout nor manifest.json", ErrArchiveFormat, path)
}

// untar extracts the regular files and directories of a tarball into dir.
func untar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("envpin: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("envpin: reading %s: %w", path, err)
		}
		clean := filepath.Clean("/" + h.Name)
		dst := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("envpin: %w", err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("envpin: %w", err)
			}
			out, err := os.Create(dst)
			if err != nil {
				return fmt.Errorf("envpin: %w", err)
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("envpin: extracting %s from %s: %w", h.Name, path, err)
			}
		}
	}
}

// loadOCILayout imports the image pinned by pin.Digest from the layout
// at dir into the cache (verifying its blobs) and loads it.
func loadOCILayout(ctx context.Context, d *engine.Docker, dir, source string, pin LockedImage, opts []Option) (Ensured, error) {
	o := makeOptions(opts)
	if pin.Digest == "" {
		return Ensured{}, fmt.Errorf("envpin: checking %s: the lock records no image digest", source)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return Ensured{}, fmt.Errorf("%w: %s: %v", ErrArchiveFormat, source, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return Ensured{}, fmt.Errorf("%w: %s: %v", ErrArchiveFormat, source, err)
	}
	want, err := v1.NewHash(pin.Digest)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: lock digest %q: %w", pin.Digest, err)
	}
	img, found, err := findImage(idx, want, o.platform)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: reading %s: %w", source, err)
	}
	if img == nil {
		return Ensured{}, &DigestError{What: "manifest", Source: source, Want: pin.Digest, Got: strings.Join(found, ", ")}
	}
	cache, err := OpenCache(opts...)
	if err != nil {
		return Ensured{}, err
	}
	unlock, err := cache.lock(ctx)
	if err != nil {
		return Ensured{}, err
	}
	ann := map[string]string{annotationRef: pin.Ref, annotationPinned: pin.Digest}
	err = cache.p.ReplaceImage(img, match.Annotation(annotationPinned, pin.Digest), layout.WithAnnotations(ann))
	var ci CachedImage
	var ok bool
	if err == nil {
		ci, ok, err = cache.lookup(pin.Digest)
	}
	unlock()
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: importing %s: %w", source, err)
	}
	if !ok {
		return Ensured{}, &DigestError{What: "blobs", Source: source, Want: pin.Digest, Got: "content not matching its digests"}
	}
	if pin.ConfigDigest != "" && ci.ConfigDigest != pin.ConfigDigest {
		return Ensured{}, &DigestError{What: "config", Source: source, Want: pin.ConfigDigest, Got: ci.ConfigDigest}
	}
	repo := "verify-release/archive"
	if pin.Ref != "" {
		if r, err := ParseRef(pin.Ref, opts...); err == nil {
			repo = r.Context().Name()
		}
	}
	tag, err := name.NewTag(repo+":verify-release-"+want.Hex[:16], name.Insecure)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: %w", err)
	}
	if err := loadImage(ctx, d, tag, ci.Image, ci.ConfigDigest, source); err != nil {
		return Ensured{}, err
	}
	return Ensured{Digest: pin.Digest, ImageID: ci.ConfigDigest, Source: SourceArchive}, nil
}

// findImage finds the image with manifest digest want in idx, or the
// platform image of the index with that digest. found lists the digests
// seen, for the error message.
func findImage(idx v1.ImageIndex, want v1.Hash, platform v1.Platform) (v1.Image, []string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, err
	}
	var found []string
	for _, desc := range im.Manifests {
		found = append(found, desc.Digest.String())
		switch {
		case desc.MediaType.IsImage() && desc.Digest == want:
			img, err := idx.Image(desc.Digest)
			return img, found, err
		case desc.MediaType.IsIndex():
			child, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return nil, found, err
			}
			if desc.Digest == want {
				cm, err := child.IndexManifest()
				if err != nil {
					return nil, found, err
				}
				for _, cd := range cm.Manifests {
					if cd.Platform != nil && cd.Platform.Satisfies(platform) && cd.MediaType.IsImage() {
						img, err := child.Image(cd.Digest)
						return img, found, err
					}
				}
				return nil, found, fmt.Errorf("index %s has no image for %s", want, platform.String())
			}
			img, more, err := findImage(child, want, platform)
			found = append(found, more...)
			if img != nil || err != nil {
				return img, found, err
			}
		}
	}
	return nil, found, nil
}
