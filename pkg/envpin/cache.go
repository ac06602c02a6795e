package envpin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

// Annotations on the cache's index.json entries.
const (
	annotationRef    = "org.opencontainers.image.ref.name"
	annotationPinned = "dev.verify-release.pinned-digest"
)

// Cache is an OCI image layout holding fetched images, keyed by the
// digest they were pinned by.
type Cache struct {
	dir string
	p   layout.Path
}

// CachedImage is a verified image of the cache.
type CachedImage struct {
	// Digest is the pinned digest (manifest, or index of a multi-platform
	// image).
	Digest string
	// ManifestDigest is the digest of the platform image's manifest.
	ManifestDigest string
	// ConfigDigest is the digest of its config: the Docker image ID.
	ConfigDigest string
	Image        v1.Image
}

// OpenCache opens (creating it if needed) the cache in WithCacheDir's
// directory or CacheDir().
func OpenCache(opts ...Option) (*Cache, error) {
	o := makeOptions(opts)
	dir := o.cacheDir
	if dir == "" {
		var err error
		if dir, err = CacheDir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("envpin: creating cache %s: %w", dir, err)
	}
	c := &Cache{dir: dir}
	unlock, err := c.lock(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return nil, fmt.Errorf("envpin: creating OCI layout %s: %w", dir, err)
		}
	}
	c.p = p
	return c, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// lock takes an exclusive flock on the cache, polling until ctx is done.
func (c *Cache) lock(ctx context.Context) (func(), error) {
	unlock, err := filelock.Lock(ctx, filepath.Join(c.dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("envpin: locking cache: %w", err)
	}
	return unlock, nil
}

// Lookup returns the cached image pinned by digest after re-hashing its
// blobs. ok is false when it is not cached or a blob is missing or
// corrupt; corrupt blobs are deleted so a Fetch downloads them again.
func (c *Cache) Lookup(ctx context.Context, digest string) (img CachedImage, ok bool, err error) {
	unlock, err := c.lock(ctx)
	if err != nil {
		return CachedImage{}, false, err
	}
	defer unlock()
	return c.lookup(digest)
}

func (c *Cache) lookup(digest string) (CachedImage, bool, error) {
	idx, err := c.p.ImageIndex()
	if err != nil {
		return CachedImage{}, false, fmt.Errorf("envpin: reading cache index %s: %w", c.dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return CachedImage{}, false, fmt.Errorf("envpin: reading cache index %s: %w", c.dir, err)
	}
	for _, desc := range im.Manifests {
		if desc.Annotations[annotationPinned] != digest {
			continue
		}
		img, err := c.p.Image(desc.Digest)
		if err != nil {
			return CachedImage{}, false, nil
		}
		ok, cfg, err := c.verify(desc.Digest, img)
		if err != nil || !ok {
			return CachedImage{}, false, err
		}
		return CachedImage{Digest: digest, ManifestDigest: desc.Digest.String(), ConfigDigest: cfg.String(), Image: img}, true, nil
	}
	return CachedImage{}, false, nil
}

// verify re-hashes the manifest, config and layer blobs of a cached
// image, deleting those that do not match their digest.
func (c *Cache) verify(manifest v1.Hash, img v1.Image) (bool, v1.Hash, error) {
	good, err := c.checkBlob(manifest)
	if err != nil || !good {
		return false, v1.Hash{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return false, v1.Hash{}, nil
	}
	all := true
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		good, err := c.checkBlob(d.Digest)
		if err != nil {
			return false, v1.Hash{}, err
		}
		all = all && good
	}
	return all, m.Config.Digest, nil
}

func (c *Cache) checkBlob(h v1.Hash) (bool, error) {
	path := filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("envpin: reading cache blob %s: %w", path, err)
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return false, fmt.Errorf("envpin: reading cache blob %s: %w", path, err)
	}
	if h.Algorithm == "sha256" && hex.EncodeToString(sum.Sum(nil)) == h.Hex {
		return true, nil
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("envpin: removing corrupt cache blob %s: %w", path, err)
	}
	return false, nil
}

// Fetch returns the image pinned by ref from the cache, downloading it
// (and replacing missing or corrupt blobs) when needed. ref must be
// pinned; use Resolve first for a tag. The downloaded manifest must have
// the pinned digest.
func (c *Cache) Fetch(ctx context.Context, ref string, opts ...Option) (CachedImage, error) {
	o := makeOptions(opts)
	r, err := ParseRef(ref, opts...)
	if err != nil {
		return CachedImage{}, err
	}
	digest, ok := pinnedDigest(r)
	if !ok {
		return CachedImage{}, fmt.Errorf("%w: %s", ErrNotPinned, ref)
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return CachedImage{}, err
	}
	defer unlock()
	if ci, ok, err := c.lookup(digest); err != nil || ok {
		return ci, err
	}
	desc, err := remote.Get(r, o.remoteOpts(ctx)...)
	if err != nil {
		return CachedImage{}, fmt.Errorf("envpin: fetching %s: %w", ref, err)
	}
	if desc.Digest.String() != digest {
		return CachedImage{}, &DigestError{What: "manifest", Source: ref, Want: digest, Got: desc.Digest.String()}
	}
	img, err := desc.Image()
	if err != nil {
		return CachedImage{}, fmt.Errorf("envpin: fetching %s: %w", ref, err)
	}
	ann := map[string]string{annotationRef: r.String(), annotationPinned: digest}
	if err := c.p.ReplaceImage(img, match.Annotation(annotationPinned, digest), layout.WithAnnotations(ann)); err != nil {
		return CachedImage{}, fmt.Errorf("envpin: caching %s in %s: %w", ref, c.dir, err)
	}
	ci, ok, err := c.lookup(digest)
	if err != nil {
		return CachedImage{}, err
	}
	if !ok {
		return CachedImage{}, fmt.Errorf("envpin: caching %s in %s: %w", ref, c.dir, &DigestError{What: "downloaded blobs", Source: ref, Want: digest, Got: "content not matching its digests"})
	}
	return ci, nil
}
