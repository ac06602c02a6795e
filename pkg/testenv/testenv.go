package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

// Suite and Mirror are what BookwormImage bootstraps from.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// AutotoolsPackages are the packages of BookwormAutotoolsImage (on top of
// debootstrap's minbase variant). With bookworm's versions (checked by hand
// in a chroot of this rootfs) they give autoconf 2.71, automake 1.16.5,
// libtool 2.4.7, gettext 0.21, git 2.39.5, gzip 1.12, tar 1.34, make 4.3,
// xz 5.4.1, m4 1.4.19, perl 5.36.0.
var AutotoolsPackages = []string{
	"autoconf", "automake", "autopoint", "bzip2", "ca-certificates", "gcc", "gettext",
	"git", "gzip", "libc6-dev", "libtool", "make", "pkgconf", "texinfo", "xz-utils",
}

// imageEnv is the config Env of images built here.
var imageEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

// RequireDocker returns a client of the Docker Engine named by DOCKER_HOST
// (or the default socket). It fails the test, never skips it, when the
// engine is unreachable.
func RequireDocker(t testing.TB) *engine.Docker {
	t.Helper()
	d, err := engine.NewDocker()
	if err != nil {
		t.Fatalf("testenv: Docker Engine required: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.Ping(ctx); err != nil {
		t.Fatalf("testenv: Docker Engine required: %v", err)
	}
	return d
}

// Registry is an in-process OCI registry (go-containerregistry's
// registry.New) listening on 127.0.0.1, which the Docker daemon treats as
// an insecure registry, so it can pull from it.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// StartRegistry starts a registry on a free port of 127.0.0.1. Blobs are
// kept in memory, or in blobDir when it is not empty (so large layers
// survive between test runs and are not uploaded again).
func StartRegistry(blobDir string) (*Registry, error) {
	opts := []registry.Option{registry.Logger(log.New(io.Discard, "", 0))}
	if blobDir != "" {
		if err := os.MkdirAll(blobDir, 0o755); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(blobDir)))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testenv: starting registry: %w", err)
	}
	r := &Registry{Host: ln.Addr().String(), srv: &http.Server{Handler: registry.New(opts...)}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.srv.Serve(ln)
	}()
	return r, nil
}

// NewRegistry starts an in-memory registry stopped at the end of the test.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r, err := StartRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Close stops the registry; later requests get "connection refused".
func (r *Registry) Close() error {
	err := r.srv.Close()
	<-r.done
	return err
}

// Push uploads img as HOST/repo:latest and returns "HOST/repo@sha256:...".
func (r *Registry) Push(ctx context.Context, repo string, img v1.Image) (string, error) {
	tag, err := name.NewTag(r.Host+"/"+repo+":latest", name.Insecure)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("testenv: pushing %s: %w", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	return r.Host + "/" + repo + "@" + d.String(), nil
}

var shared struct {
	once sync.Once
	reg  *Registry
	err  error
}

// SharedRegistry returns the registry that serves the images of this
// package for the lifetime of the test binary. Its blobs are kept under
// CacheDir. Call the returned cleanup from TestMain after m.Run, or never
// (the process exit closes the listener).
func SharedRegistry() (*Registry, func(), error) {
	shared.once.Do(func() {
		dir, err := CacheDir()
		if err != nil {
			shared.err = err
			return
		}
		shared.reg, shared.err = StartRegistry(filepath.Join(dir, "registry-blobs"))
	})
	if shared.err != nil {
		return nil, func() {}, shared.err
	}
	return shared.reg, func() { shared.reg.Close() }, nil
}

// CacheDir is where built root file systems and registry blobs are kept:
// $VERIFY_RELEASE_TESTENV_CACHE, or os.UserCacheDir()/verify-release/testenv.
func CacheDir() (string, error) {
	if d := os.Getenv("VERIFY_RELEASE_TESTENV_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	return filepath.Join(d, "verify-release", "testenv"), nil
}

// BookwormAutotoolsImage returns a Debian bookworm image with
// AutotoolsPackages, served by the shared registry and present in the
// Docker Engine: its reference "127.0.0.1:PORT/verify-release-test/bookworm-autotools@sha256:..."
// and its image ID (config digest). See BookwormImage.
func BookwormAutotoolsImage(t testing.TB) (ref, imageID string) {
	t.Helper()
	return BookwormImage(t, "bookworm-autotools", AutotoolsPackages...)
}

var pulled sync.Map // ref -> image ID, images pulled by this process

// BookwormImage builds (once per package list; later calls and test runs
// reuse the cached layer) a minbase Debian bookworm root file system with
// packages, using debootstrap from deb.debian.org, makes a one-layer image
// of it, pushes it to the shared registry as verify-release-test/<repo> and
// pulls it into the Docker Engine. The test fails when debootstrap is
// missing and cannot be installed, or the engine is unreachable.
func BookwormImage(t testing.TB, repo string, packages ...string) (ref, imageID string) {
	t.Helper()
	d := RequireDocker(t)
	ctx := context.Background()
	img, err := bookwormImage(ctx, packages)
	if err != nil {
		t.Fatal(err)
	}
	reg, _, err := SharedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return pushAndPull(t, d, reg, "verify-release-test/"+repo, img)
}

// UniqueBookwormImage is BookwormImage with files (see FilesLayer) in an
// extra bottom layer, so that the image shares no layer chain and no
// image ID with any other image, and without the pull: it is only pushed
// to the shared registry as verify-release-test/<repo>. Getting it into
// the engine therefore downloads and unpacks every layer, and removing
// it by ID touches no other image (a cold-start benchmark needs both).
func UniqueBookwormImage(t testing.TB, repo string, files map[string]string, packages ...string) (ref, imageID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	marker, err := FilesLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	img, err := bookwormImage(ctx, packages, marker)
	if err != nil {
		t.Fatal(err)
	}
	reg, _, err := SharedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	ref, imageID, err = push(ctx, reg, "verify-release-test/"+repo, img)
	if err != nil {
		t.Fatal(err)
	}
	return ref, imageID
}

// VariantImage returns a variant of the image base (a reference the shared
// registry serves, such as BookwormAutotoolsImage's) with one more layer
// holding files (absolute path -> content, mode 0755), pushed as
// verify-release-test/<repo> and pulled into the engine. Use it for
// "wrong tool pin" tests, e.g. a /usr/local/bin/autoconf script printing
// another version.
func VariantImage(t testing.TB, base, repo string, files map[string]string) (ref, imageID string) {
	t.Helper()
	d := RequireDocker(t)
	reg, _, err := SharedRegistry()
	if err != nil {
		t.Fatal(err)
	}
	baseRef, err := name.ParseReference(base, name.Insecure)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	baseImg, err := remote.Image(baseRef)
	if err != nil {
		t.Fatalf("testenv: reading %s: %v", base, err)
	}
	layer, err := FilesLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(baseImg, layer)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return pushAndPull(t, d, reg, "verify-release-test/"+repo, img)
}

// FilesLayer returns an uncompressed-source layer holding files (absolute
// path -> content), each mode 0755, owned by root, mtime 0, with their
// parent directories; entries are sorted by name.
func FilesLayer(files map[string]string) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		rel := strings.TrimPrefix(filepath.Clean(n), "/")
		var parents []string
		for p := filepath.Dir(rel); p != "." && !dirs[p]; p = filepath.Dir(p) {
			parents = append([]string{p}, parents...)
			dirs[p] = true
		}
		for _, p := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
				return nil, fmt.Errorf("testenv: %w", err)
			}
		}
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: int64(len(body)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// push pushes img to reg as repo and returns its reference by digest and
// its config digest (the image ID an engine will give it).
func push(ctx context.Context, reg *Registry, repo string, img v1.Image) (ref, configDigest string, err error) {
	if ref, err = reg.Push(ctx, repo, img); err != nil {
		return "", "", err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return "", "", fmt.Errorf("testenv: %w", err)
	}
	return ref, cfg.String(), nil
}

func pushAndPull(t testing.TB, d *engine.Docker, reg *Registry, repo string, img v1.Image) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ref, cfg, err := push(ctx, reg, repo, img)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := pulled.Load(ref); ok {
		return ref, id.(string)
	}
	if err := d.Pull(ctx, ref); err != nil {
		t.Fatal(err)
	}
	info, err := d.Image(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != cfg {
		t.Fatalf("testenv: engine pulled %s as image %s, want config digest %s", ref, info.ID, cfg)
	}
	pulled.Store(ref, info.ID)
	return ref, info.ID
}

// bookwormImage returns the image of the cached root file system (one
// layer, on top of the layers below), building the layer first when it
// is not cached.
func bookwormImage(ctx context.Context, packages []string, below ...v1.Layer) (v1.Image, error) {
	pkgs := append([]string(nil), packages...)
	sort.Strings(pkgs)
	sum := sha256.Sum256([]byte("v1\n" + Suite + "\n" + Mirror + "\n" + strings.Join(pkgs, ",") + "\n"))
	key := hex.EncodeToString(sum[:8])
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "bookworm-"+key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	layerPath := filepath.Join(dir, "rootfs.tar.gz")
	unlock, err := lockFile(ctx, filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(layerPath); errors.Is(err, os.ErrNotExist) {
		if err := buildRootfsLayer(ctx, dir, layerPath, pkgs); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	layer, err := cachedLayer(layerPath)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, append(append([]v1.Layer(nil), below...), layer)...)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Config.Env = imageEnv
	cf.Config.Cmd = []string{"/bin/bash"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return img, nil
}

// buildRootfsLayer runs debootstrap into a temporary directory beside
// layerPath and writes a deterministic gzip'd tar of it: members sorted by
// name, mtimes clamped to 0, numeric owners, no /dev, /proc, /sys
// contents, apt lists, caches or logs.
func buildRootfsLayer(ctx context.Context, dir, layerPath string, pkgs []string) error {
	debootstrap, err := exec.LookPath("debootstrap")
	if err != nil {
		if os.Geteuid() != 0 {
			return errors.New("testenv: debootstrap is missing and installing it needs root (apt-get install debootstrap)")
		}
		out, err := exec.CommandContext(ctx, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap").CombinedOutput()
		if err != nil {
			return fmt.Errorf("testenv: installing debootstrap: %v\n%s", err, out)
		}
		if debootstrap, err = exec.LookPath("debootstrap"); err != nil {
			return fmt.Errorf("testenv: debootstrap: %w", err)
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("testenv: debootstrap needs root")
	}
	root, err := os.MkdirTemp(dir, "rootfs-")
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	defer os.RemoveAll(root)
	args := []string{"--variant=minbase"}
	if len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(pkgs, ","))
	}
	args = append(args, Suite, root, Mirror)
	if out, err := exec.CommandContext(ctx, debootstrap, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: debootstrap %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", `set -e; cd "$1"; `+
		`rm -rf dev/* proc/* sys/* run/* tmp/* var/tmp/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/* debootstrap; `+
		`tar --sort=name --mtime=@0 --clamp-mtime --numeric-owner --format=gnu -cf - . | gzip -n -6 > "$2"`,
		"sh", root, layerPath+".tmp")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(layerPath + ".tmp")
		return fmt.Errorf("testenv: archiving rootfs: %v\n%s", err, out)
	}
	if err := os.Rename(layerPath+".tmp", layerPath); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// lockFile takes an exclusive flock on path, waiting until ctx is done.
func lockFile(ctx context.Context, path string) (func(), error) {
	return filelock.Lock(ctx, path)
}

// fileLayer is a gzip'd layer file whose digests were computed once and
// stored beside it (hashing 700 MB on every test binary start is slow,
// very slow under -race).
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)     { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) {
	return types.DockerLayer, nil
}
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// cachedLayer returns the layer of a gzip'd tar file, reading its digest,
// diff ID and size from path+".digests" (written on first use; the
// caller holds the cache lock).
func cachedLayer(path string) (v1.Layer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	side := path + ".digests"
	if b, err := os.ReadFile(side); err == nil {
		var d, u string
		var size int64
		if _, err := fmt.Sscanf(string(b), "%s %s %d", &d, &u, &size); err == nil && size == fi.Size() {
			dh, err1 := v1.NewHash(d)
			uh, err2 := v1.NewHash(u)
			if err1 == nil && err2 == nil {
				return &fileLayer{path: path, digest: dh, diffID: uh, size: size}, nil
			}
		}
	}
	l, err := tarball.LayerFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	d, err := l.Digest()
	if err != nil {
		return nil, fmt.Errorf("testenv: hashing %s: %w", path, err)
	}
	u, err := l.DiffID()
	if err != nil {
		return nil, fmt.Errorf("testenv: hashing %s: %w", path, err)
	}
	if err := os.WriteFile(side, []byte(fmt.Sprintf("%s %s %d\n", d, u, fi.Size())), 0o644); err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	return &fileLayer{path: path, digest: d, diffID: u, size: fi.Size()}, nil
}
