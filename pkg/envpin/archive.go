package envpin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/filelock"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/rootfs"
)

// EnvRepo is the repository name of environments built from an archive
// in the engine: EnvRepo:<first 16 hex digits of the lock's env digest>.
const EnvRepo = "verify-release-env"

// LockedArchive records where an archive environment came from: the
// distribution, suites, and the signed Release files read at pin time.
type LockedArchive struct {
	Distro   string `toml:"distro"`
	Suite    string `toml:"suite"`
	Snapshot string `toml:"snapshot,omitempty"`
	// SourceDateEpoch is the primary suite's Release date (Unix seconds):
	// the mtime clamp and image creation time of the environment.
	SourceDateEpoch int64 `toml:"source_date_epoch"`
	// EnvDigest identifies the package set (rootfs.Spec.Digest).
	EnvDigest string          `toml:"env_digest"`
	Releases  []LockedRelease `toml:"release"`
}

// LockedRelease is one verified InRelease file.
type LockedRelease struct {
	Suite string `toml:"suite"`
	Date  string `toml:"date"`
	// SignedBy is the fingerprint of the archive key that signed it.
	SignedBy string `toml:"signed_by"`
	SHA256   string `toml:"inrelease_sha256"`
}

// Spec is the rootfs build spec the lock describes.
func (l *Lock) Spec() rootfs.Spec {
	return rootfs.Spec{
		Distro:   l.Archive.Distro,
		Suite:    l.Archive.Suite,
		Epoch:    time.Unix(l.Archive.SourceDateEpoch, 0).UTC(),
		Packages: l.Packages,
	}
}

// ErrArchiveLock is matched when an archive environment's lock is
// missing or does not describe one.
var ErrArchiveLock = errors.New("envpin: no archive lock")

// ArchiveOptions configure PinArchive and EnsureArchive.
type ArchiveOptions struct {
	// Mirror overrides the distribution's default mirror.
	Mirror string
	// Keyring overrides the distribution keyring.
	Keyring string
	// CacheDir is verify-release's cache directory: .debs go to debs/,
	// built environments to envs/.
	CacheDir string
	// Progress receives events; Log receives mmdebstrap's output.
	Progress func(step, msg string)
	Log      io.Writer
}

func (o ArchiveOptions) client(distro, snapshot string) (*debian.Client, error) {
	dist, err := debian.LookupDistribution(distro)
	if err != nil {
		return nil, err
	}
	opts := []debian.Option{debian.WithCacheDir(filepath.Join(o.CacheDir, "debs")), debian.WithMirror(o.Mirror), debian.WithSnapshot(snapshot)}
	if o.Keyring != "" {
		opts = append(opts, debian.WithKeyring(o.Keyring))
	}
	return debian.NewClient(dist, opts...), nil
}

func (o ArchiveOptions) event(step, format string, args ...any) {
	if o.Progress != nil {
		o.Progress(step, fmt.Sprintf(format, args...))
	}
}

func (o ArchiveOptions) rootfsOptions() rootfs.Options {
	return rootfs.Options{Log: o.Log, Progress: func(e rootfs.Event) { o.event(e.Step, "%s", e.Message) }}
}

// ResolveArchive resolves the recipe's archive environment against the
// archive (every InRelease verified, every index checked) into a lock
// without image digests.
func ResolveArchive(ctx context.Context, e recipe.Env, o ArchiveOptions) (*Lock, error) {
	c, err := o.client(e.Distro, e.Snapshot)
	if err != nil {
		return nil, err
	}
	req := debian.Request{Suite: e.Suite, Packages: e.Packages}
	for _, x := range e.Extra {
		req.Extra = append(req.Extra, debian.SuiteRequest{Suite: x.Suite, Packages: x.Packages})
	}
	o.event("resolve", "resolving %d packages against %s %s (%s)", len(e.Packages), e.Distro, e.Suite, strings.Join(c.Mirrors(), ", "))
	res, err := c.Resolve(ctx, req)
	if err != nil {
		return nil, err
	}
	l := &Lock{Version: LockVersion, Archive: &LockedArchive{
		Distro: e.Distro, Suite: e.Suite, Snapshot: e.Snapshot,
		SourceDateEpoch: res.Releases[0].Date.Unix(),
	}}
	for _, r := range res.Releases {
		l.Archive.Releases = append(l.Archive.Releases, LockedRelease{Suite: r.Suite, Date: r.Date.Format(time.RFC3339), SignedBy: r.SignedBy, SHA256: r.SHA256})
	}
	for _, p := range res.Packages {
		l.Packages = append(l.Packages, rootfs.Package{
			Name: p.Name, Version: p.Version, Architecture: p.Architecture, Suite: p.Suite,
			Filename: p.Filename, Size: p.Size, SHA256: p.SHA256, Essential: p.Essential,
		})
	}
	l.Archive.EnvDigest = l.Spec().Digest()
	return l, nil
}

// PinArchive resolves the environment, builds its image, loads it into
// the engine and returns the lock with the image's digests filled in.
// Tools are probed by the caller (ProbeImage).
func PinArchive(ctx context.Context, d *engine.Docker, e recipe.Env, o ArchiveOptions) (*Lock, Ensured, error) {
	l, err := ResolveArchive(ctx, e, o)
	if err != nil {
		return nil, Ensured{}, err
	}
	ens, err := ensureArchive(ctx, d, l, o, false)
	if err != nil {
		return nil, Ensured{}, err
	}
	l.Image = LockedImage{Ref: ens.Ref, Digest: ens.Digest, ConfigDigest: ens.ImageID}
	return l, ens, nil
}

// EnsureArchive makes the lock's environment available to the engine,
// from the lock alone: the engine's image with the locked config digest;
// else the built image kept in the cache; else the locked .debs (cache,
// then mirror, then snapshot, each checked by SHA-256) installed and
// normalized into an image whose digests must equal the lock's.
func EnsureArchive(ctx context.Context, d *engine.Docker, l *Lock, o ArchiveOptions) (Ensured, error) {
	if l == nil || l.Archive == nil || len(l.Packages) == 0 {
		return Ensured{}, fmt.Errorf("%w: the lock lists no archive packages", ErrArchiveLock)
	}
	if got := l.Spec().Digest(); got != l.Archive.EnvDigest {
		return Ensured{}, fmt.Errorf("%w: env_digest %s does not match its packages (%s): the lock was edited", ErrLock, l.Archive.EnvDigest, got)
	}
	return ensureArchive(ctx, d, l, o, true)
}

func envTag(envDigest string) (name.Tag, error) {
	return name.NewTag(EnvRepo + ":" + strings.TrimPrefix(envDigest, "sha256:")[:16])
}

func ensureArchive(ctx context.Context, d *engine.Docker, l *Lock, o ArchiveOptions, check bool) (Ensured, error) {
	spec := l.Spec()
	tag, err := envTag(l.Archive.EnvDigest)
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: %w", err)
	}
	res := Ensured{Ref: tag.String()}
	if check && l.Image.ConfigDigest != "" {
		if info, err := d.Image(ctx, l.Image.ConfigDigest); err == nil && info.ID == l.Image.ConfigDigest {
			res.Digest, res.ImageID, res.Source = l.Image.Digest, info.ID, SourceEngine
			o.event("image", "the engine has environment %s", shortHex(info.ID))
			return res, nil
		}
	}
	dir := filepath.Join(o.CacheDir, "envs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Ensured{}, fmt.Errorf("envpin: creating %s: %w", dir, err)
	}
	key := strings.TrimPrefix(l.Archive.EnvDigest, "sha256:")
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, key+".lock"))
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: locking environment %s: %w", key[:16], err)
	}
	defer unlock()
	archive := filepath.Join(dir, key+".tar")
	// The cached docker-archive is checked by its config digest, which
	// names the layer contents (diff IDs); its manifest is the archive
	// format's, so the locked OCI manifest digest is reported.
	if img, err := tarball.ImageFromPath(archive, nil); err == nil && check {
		if cd, err := img.ConfigName(); err == nil && cd.String() == l.Image.ConfigDigest {
			o.event("image", "loading environment %s from the cache", shortHex(cd.String()))
			if err := loadArchiveFile(ctx, d, archive, cd.String()); err == nil {
				res.Digest, res.ImageID, res.Source = l.Image.Digest, cd.String(), SourceCache
				now := time.Now()
				os.Chtimes(archive, now, now)
				return res, nil
			}
		}
		os.Remove(archive) // corrupt or stale: build again
	}
	c, err := o.client(l.Archive.Distro, l.Archive.Snapshot)
	if err != nil {
		return Ensured{}, err
	}
	work, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return Ensured{}, fmt.Errorf("envpin: %w", err)
	}
	defer os.RemoveAll(work)
	o.event("build", "building the %s %s environment from %d locked packages", spec.Distro, spec.Suite, len(spec.Packages))
	built, err := rootfs.Build(ctx, c, spec, work, o.rootfsOptions())
	if err != nil {
		return Ensured{}, err
	}
	if check && (built.Digest != l.Image.Digest || built.ConfigDigest != l.Image.ConfigDigest) {
		return Ensured{}, &DigestError{What: "environment image built from the lock", Source: l.Archive.EnvDigest, Want: l.Image.Digest + " (config " + l.Image.ConfigDigest + ")", Got: built.Digest + " (config " + built.ConfigDigest + ")"}
	}
	if err := atomicfile.Write(archive, func(w io.Writer) error { return tarball.Write(tag, built.Image, w) }); err != nil {
		return Ensured{}, fmt.Errorf("envpin: caching the environment: %w", err)
	}
	// Load the archive just written rather than serializing the image a
	// second time.
	if err := loadArchiveFile(ctx, d, archive, built.ConfigDigest); err != nil {
		return Ensured{}, err
	}
	res.Digest, res.ImageID, res.Source = built.Digest, built.ConfigDigest, SourceArchive
	res.Downloaded = built.Downloaded
	return res, nil
}

// loadArchiveFile loads a docker-archive file into the engine and checks
// the loaded image ID.
func loadArchiveFile(ctx context.Context, d *engine.Docker, path, configDigest string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("envpin: %w", err)
	}
	defer f.Close()
	if _, err := d.Load(ctx, f); err != nil {
		return fmt.Errorf("envpin: loading %s: %w", path, err)
	}
	return checkLoaded(ctx, d, configDigest, path)
}

func digests(img v1.Image) (string, string, error) {
	dg, err := img.Digest()
	if err != nil {
		return "", "", err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return "", "", err
	}
	return dg.String(), cd.String(), nil
}

func shortHex(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ProbeImage starts a session of image with no network and probes it.
func ProbeImage(ctx context.Context, d *engine.Docker, image string) (*Environment, error) {
	sess, err := d.Start(ctx, engine.Spec{Image: image, WorkDir: "/"})
	if err != nil {
		return nil, fmt.Errorf("starting %s to probe it: %w", image, err)
	}
	defer sess.Close(context.WithoutCancel(ctx))
	return Probe(ctx, sess)
}
