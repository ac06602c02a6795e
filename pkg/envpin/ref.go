package envpin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var (
	// ErrNotPinned is returned for a reference without an @sha256 digest
	// when pinning is required.
	ErrNotPinned = errors.New("envpin: image reference is not pinned by digest")
	// ErrBadReference is returned for an image reference that does not
	// parse.
	ErrBadReference = errors.New("envpin: invalid image reference")
	// ErrDigestMismatch is matched (errors.Is) by every *DigestError.
	ErrDigestMismatch = errors.New("envpin: digest mismatch")
)

// DigestError reports content whose digest is not the pinned one.
type DigestError struct {
	// What names the content: "manifest", "config", "image ID", "blob".
	What string
	// Source names where it came from: a reference, file or cache path.
	Source string
	Want   string
	Got    string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("envpin: %s of %s has digest %s, pinned %s", e.What, e.Source, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrDigestMismatch) true.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// Option configures the functions of this package.
type Option func(*options)

type options struct {
	insecure      bool
	requirePinned bool
	cacheDir      string
	platform      v1.Platform
	stdout        io.Writer
	stderr        io.Writer
	remote        []remote.Option
}

func makeOptions(opts []Option) *options {
	o := &options{
		platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		stdout:   io.Discard,
		stderr:   io.Discard,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithInsecure allows plain-HTTP registries (go-containerregistry already
// uses HTTP for localhost, 127.0.0.0/8 and RFC 1918 addresses).
func WithInsecure() Option { return func(o *options) { o.insecure = true } }

// WithRequirePinned makes references without a digest an error
// (ErrNotPinned) instead of resolving them at run time.
func WithRequirePinned() Option { return func(o *options) { o.requirePinned = true } }

// WithCacheDir keeps the OCI layout cache in dir instead of CacheDir().
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithPlatform selects the image of a multi-platform index (default
// linux/GOARCH).
func WithPlatform(p v1.Platform) Option { return func(o *options) { o.platform = p } }

// WithOutput receives the output of setup commands (default: discarded).
func WithOutput(stdout, stderr io.Writer) Option {
	return func(o *options) { o.stdout, o.stderr = stdout, stderr }
}

// WithRemoteOptions adds go-containerregistry remote options (auth,
// transport) to registry requests.
func WithRemoteOptions(ro ...remote.Option) Option {
	return func(o *options) { o.remote = append(o.remote, ro...) }
}

func (o *options) nameOpts() []name.Option {
	if o.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (o *options) remoteOpts(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(o.platform)}, o.remote...)
}

// ParseRef parses an image reference ("debian:bookworm",
// "registry/repo@sha256:..."), wrapping ErrBadReference.
func ParseRef(ref string, opts ...Option) (name.Reference, error) {
	r, err := name.ParseReference(ref, makeOptions(opts).nameOpts()...)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadReference, ref, err)
	}
	return r, nil
}

// Pinned reports whether ref is a valid reference with an @sha256 digest.
func Pinned(ref string) bool {
	r, err := name.ParseReference(ref)
	if err != nil {
		return false
	}
	d, ok := r.(name.Digest)
	return ok && strings.HasPrefix(d.DigestStr(), "sha256:")
}

// pinnedDigest returns the digest of a pinned reference.
func pinnedDigest(r name.Reference) (string, bool) {
	d, ok := r.(name.Digest)
	if !ok {
		return "", false
	}
	return d.DigestStr(), true
}

// Resolve returns the manifest digest ref names. A pinned reference
// returns its own digest without contacting the registry; a tag is looked
// up in its registry (unless WithRequirePinned, which makes it an
// ErrNotPinned error). The runner should warn loudly when resolved is
// true and record the digest.
func Resolve(ctx context.Context, ref string, opts ...Option) (digest string, resolved bool, err error) {
	o := makeOptions(opts)
	r, err := ParseRef(ref, opts...)
	if err != nil {
		return "", false, err
	}
	if d, ok := pinnedDigest(r); ok {
		return d, false, nil
	}
	if o.requirePinned {
		return "", false, fmt.Errorf("%w: %s (write it as %s@sha256:...; `verify-release pin` resolves it)", ErrNotPinned, ref, r.Context().Name())
	}
	desc, err := remote.Head(r, o.remoteOpts(ctx)...)
	if err != nil {
		return "", false, fmt.Errorf("envpin: resolving %s: %w", ref, err)
	}
	return desc.Digest.String(), true, nil
}

// PinImage resolves ref in its registry and returns the manifest digest
// (the index digest for a multi-platform image) and the config digest of
// the selected platform's image, for the lock file.
func PinImage(ctx context.Context, ref string, opts ...Option) (digest, configDigest string, err error) {
	o := makeOptions(opts)
	r, err := ParseRef(ref, opts...)
	if err != nil {
		return "", "", err
	}
	desc, err := remote.Get(r, o.remoteOpts(ctx)...)
	if err != nil {
		return "", "", fmt.Errorf("envpin: resolving %s: %w", ref, err)
	}
	if want, ok := pinnedDigest(r); ok && desc.Digest.String() != want {
		return "", "", &DigestError{What: "manifest", Source: ref, Want: want, Got: desc.Digest.String()}
	}
	img, err := desc.Image()
	if err != nil {
		return "", "", fmt.Errorf("envpin: reading %s: %w", ref, err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return "", "", fmt.Errorf("envpin: reading config of %s: %w", ref, err)
	}
	return desc.Digest.String(), cfg.String(), nil
}

// CacheDir is the default image cache: os.UserCacheDir()/verify-release/images.
func CacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("envpin: locating the cache directory: %w", err)
	}
	return filepath.Join(d, "verify-release", "images"), nil
}
