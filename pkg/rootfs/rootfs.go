package rootfs

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"pault.ag/go/debian/deb"

	"gitlab.com/verify-release/verify-release/pkg/debian"
)

// Package is one locked .deb.
type Package struct {
	Name         string `toml:"name" json:"name"`
	Version      string `toml:"version" json:"version"`
	Architecture string `toml:"architecture" json:"architecture"`
	Suite        string `toml:"suite" json:"suite"`
	Filename     string `toml:"filename" json:"filename"`
	Size         int64  `toml:"size" json:"size"`
	SHA256       string `toml:"sha256" json:"sha256"`
	Essential    bool   `toml:"essential,omitempty" json:"essential,omitempty"`
}

// Spec is what an environment is built from: every package of the
// closure and the time that stands in for "now".
type Spec struct {
	Distro string
	Suite  string
	// Epoch is SOURCE_DATE_EPOCH for the build: the primary suite's
	// Release date.
	Epoch    time.Time
	Packages []Package
}

// BuilderVersion changes when the way a lock becomes an image changes,
// so that an old digest is not expected of a new builder.
const BuilderVersion = "1"

// Digest identifies the spec: a SHA-256 over the builder version, the
// epoch and the sorted package list. Built images are cached by it.
func (s Spec) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "verify-release rootfs %s\n%s %s %d\n", BuilderVersion, s.Distro, s.Suite, s.Epoch.Unix())
	pkgs := append([]Package(nil), s.Packages...)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s %s %s %s\n", p.Name, p.Version, p.Architecture, p.SHA256)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ErrBuild is matched by errors of the environment build itself
// (mmdebstrap, dpkg).
var ErrBuild = errors.New("rootfs: building the environment failed")

// Event is a progress report.
type Event struct {
	Step    string
	Message string
}

// Options of Build.
type Options struct {
	// Progress receives events; nil discards them.
	Progress func(Event)
	// Log receives mmdebstrap's output; nil discards it.
	Log io.Writer
	// Mmdebstrap is the program (default "mmdebstrap").
	Mmdebstrap string
}

// Result is a built environment.
type Result struct {
	Image v1.Image
	// Digest is the manifest digest, ConfigDigest the Docker image ID.
	Digest, ConfigDigest string
	// LayerPath is the normalized root filesystem tar (in the work dir).
	LayerPath string
	// Downloaded counts the .debs that were not in the cache.
	Downloaded int
}

func (o *Options) event(step, format string, args ...any) {
	if o.Progress != nil {
		o.Progress(Event{Step: step, Message: fmt.Sprintf(format, args...)})
	}
}

// Fetch makes every package of spec present in c's cache (each checked
// against its SHA-256) and returns their paths, in spec order, and how
// many had to be downloaded.
func Fetch(ctx context.Context, c *debian.Client, spec Spec, o Options) ([]string, int, error) {
	paths := make([]string, len(spec.Packages))
	var missing []int
	var bytes int64
	for i, p := range spec.Packages {
		if cp, ok := c.CachedPath(debian.FileSum{Size: p.Size, SHA256: p.SHA256}); ok {
			paths[i] = cp
			continue
		}
		missing = append(missing, i)
		bytes += p.Size
	}
	if len(missing) == 0 {
		o.event("fetch", "all %d .debs are in the cache", len(spec.Packages))
		return paths, 0, nil
	}
	o.event("fetch", "downloading %d of %d .debs (%.1f MB), each checked by sha256", len(missing), len(spec.Packages), float64(bytes)/1e6)
	for n, i := range missing {
		p := spec.Packages[i]
		cp, err := c.Fetch(ctx, p.Suite, p.Filename, debian.FileSum{Size: p.Size, SHA256: p.SHA256})
		if err != nil {
			return nil, n, fmt.Errorf("fetching %s %s: %w", p.Name, p.Version, err)
		}
		paths[i] = cp
	}
	return paths, len(missing), nil
}

// Build fetches the packages of spec and installs them into a root
// filesystem in workDir, then makes the image.
func Build(ctx context.Context, c *debian.Client, spec Spec, workDir string, o Options) (*Result, error) {
	if len(spec.Packages) == 0 {
		return nil, fmt.Errorf("%w: the lock lists no packages", ErrBuild)
	}
	paths, downloaded, err := Fetch(ctx, c, spec, o)
	if err != nil {
		return nil, err
	}
	repo := filepath.Join(workDir, "repo")
	if err := makeRepo(repo, spec, paths); err != nil {
		return nil, err
	}
	raw := filepath.Join(workDir, "mmdebstrap.tar")
	o.event("install", "installing %d packages with mmdebstrap", len(spec.Packages))
	if err := runMmdebstrap(ctx, spec, repo, raw, o); err != nil {
		return nil, err
	}
	layer := filepath.Join(workDir, "rootfs.tar")
	o.event("normalize", "normalizing the root filesystem")
	if err := Normalize(ctx, raw, layer, spec.Epoch); err != nil {
		return nil, err
	}
	os.Remove(raw)
	img, err := Image(layer, spec)
	if err != nil {
		return nil, err
	}
	dg, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	cd, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	return &Result{Image: img, Digest: dg.String(), ConfigDigest: cd.String(), LayerPath: layer, Downloaded: downloaded}, nil
}

// makeRepo lays out a flat apt repository holding exactly the locked
// .debs, with a Packages index made from their own control files.
func makeRepo(dir string, spec Spec, paths []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	idx, err := os.Create(filepath.Join(dir, "Packages"))
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer idx.Close()
	w := bufio.NewWriter(idx)
	for i, p := range spec.Packages {
		base := fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), p.Architecture)
		dst := filepath.Join(dir, base)
		if err := os.Link(paths[i], dst); err != nil {
			if err := copyFile(paths[i], dst); err != nil {
				return err
			}
		}
		d, closer, err := deb.LoadFile(dst)
		if err != nil {
			return fmt.Errorf("%w: reading %s: %v", ErrBuild, base, err)
		}
		para := d.Control.Paragraph
		closer()
		if para.Values["Package"] != p.Name || para.Values["Version"] != p.Version {
			return fmt.Errorf("%w: %s contains %s %s, the lock says %s %s", ErrBuild, base, para.Values["Package"], para.Values["Version"], p.Name, p.Version)
		}
		if err := para.WriteTo(w); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
		fmt.Fprintf(w, "Filename: ./%s\nSize: %d\nSHA256: %s\n\n", base, p.Size, p.SHA256)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := idx.Close(); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	// A Release file naming the suite: mmdebstrap selects the Essential
	// set with an apt pattern on the suite's archive/codename.
	sum, n, err := fileSHA256(filepath.Join(dir, "Packages"))
	if err != nil {
		return err
	}
	rel := fmt.Sprintf("Origin: verify-release\nLabel: verify-release\nSuite: %s\nCodename: %s\nArchitectures: amd64 all\nSHA256:\n %s %d Packages\n", spec.Suite, spec.Suite, sum, n)
	if err := os.WriteFile(filepath.Join(dir, "Release"), []byte(rel), 0o644); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return nil
}

func fileSHA256(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, fmt.Errorf("rootfs: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("rootfs: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("rootfs: %w", err)
	}
	return out.Close()
}

func runMmdebstrap(ctx context.Context, spec Spec, repo, out string, o Options) error {
	prog := o.Mmdebstrap
	if prog == "" {
		prog = "mmdebstrap"
	}
	if _, err := exec.LookPath(prog); err != nil {
		return fmt.Errorf("%w: %s is not installed (Debian package mmdebstrap)", ErrBuild, prog)
	}
	var include []string
	for _, p := range spec.Packages {
		if !p.Essential {
			include = append(include, p.Name)
		}
	}
	args := []string{
		"--variant=essential",
		"--format=tar",
		"--aptopt=Acquire::Languages \"none\"",
		"--aptopt=APT::Install-Recommends \"false\"",
		// Host files, and the sources.list naming this build's temporary
		// repository.
		"--customize-hook=rm -f \"$1/etc/hostname\" \"$1/etc/resolv.conf\" \"$1/etc/apt/sources.list\"",
	}
	if len(include) > 0 {
		args = append(args, "--include="+strings.Join(include, ","))
	}
	args = append(args, spec.Suite, out, "deb [trusted=yes] copy://"+repo+" ./")
	cmd := exec.CommandContext(ctx, prog, args...)
	// On cancellation mmdebstrap gets SIGTERM, so it unmounts what it
	// mounted in its chroot and removes its temporary directory; SIGKILL
	// would leave /proc and /sys mounted below /tmp.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(spec.Epoch.Unix(), 10), "LC_ALL=C.UTF-8", "TZ=UTC")
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(&tail, orDiscard(o.Log))
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: mmdebstrap: %v\n%s", ErrBuild, err, tail.String())
	}
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// dropped are paths (without leading "./") removed from the root
// filesystem because their content depends on the host or the day.
var dropped = map[string]bool{
	"etc/hostname":                        true,
	"etc/resolv.conf":                     true,
	"var/cache/ldconfig/aux-cache":        true,
	"var/lib/dbus/machine-id":             true,
	"var/cache/debconf/config.dat-old":    true,
	"var/cache/debconf/templates.dat-old": true,
	"var/lib/dpkg/status-old":             true,
	"var/lib/dpkg/diversions-old":         true,
	"var/lib/dpkg/statoverride-old":       true,
}

// droppedDirs have their contents removed (the directory stays).
var droppedDirs = []string{"var/log/", "var/cache/apt/", "var/lib/apt/lists/", "tmp/", "run/"}

func drop(name string) bool {
	n := strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/")
	if dropped[n] {
		return true
	}
	for _, d := range droppedDirs {
		if strings.HasPrefix(n, d) && n != d {
			return true
		}
	}
	return false
}

// Normalize copies the root filesystem tar in to out: volatile files
// dropped, mtimes clamped to epoch, access/change times and the tar
// format's free fields cleared, /etc/machine-id empty. Order, owners,
// modes, links and extended attributes are kept as mmdebstrap wrote them
// (it sorts by name).
func Normalize(ctx context.Context, in, out string, epoch time.Time) error {
	src, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	defer dst.Close()
	bw := bufio.NewWriterSize(dst, 1<<20)
	tr := tar.NewReader(bufio.NewReaderSize(src, 1<<20))
	tw := tar.NewWriter(bw)
	epoch = epoch.UTC().Truncate(time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: reading %s: %v", ErrBuild, in, err)
		}
		if drop(h.Name) {
			continue
		}
		body := io.Reader(tr)
		if strings.TrimPrefix(h.Name, "./") == "etc/machine-id" && h.Typeflag == tar.TypeReg {
			h.Size, body = 0, strings.NewReader("")
		}
		if h.ModTime.After(epoch) {
			h.ModTime = epoch
		}
		h.ModTime = h.ModTime.Truncate(time.Second)
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		h.Format = tar.FormatPAX
		// Only records that carry meaning are kept (xattrs, long names).
		for k := range h.PAXRecords {
			if !strings.HasPrefix(k, "SCHILY.xattr.") {
				delete(h.PAXRecords, k)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("rootfs: writing %s: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, body); err != nil {
				return fmt.Errorf("rootfs: copying %s: %w", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return dst.Close()
}

// Image makes the single-layer image of a normalized root filesystem tar:
// OCI media types, an uncompressed layer (its digest is its diff ID, so
// no compressor version can change it), and a config whose only time is
// the spec's epoch.
func Image(layerPath string, spec Spec) (v1.Image, error) {
	l, err := newFileLayer(layerPath)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: spec.Epoch.UTC()}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     l,
		MediaType: types.OCIUncompressedLayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "verify-release rootfs " + BuilderVersion + " " + spec.Digest(),
			Comment:   fmt.Sprintf("%s %s, %d packages", spec.Distro, spec.Suite, len(spec.Packages)),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = "amd64", "linux", created
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Cmd = []string{"/bin/sh"}
	cf.Config.Labels = map[string]string{
		"dev.verify-release.env":        spec.Digest(),
		"dev.verify-release.env.distro": spec.Distro + " " + spec.Suite,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	return img, nil
}

// fileLayer is an uncompressed layer backed by a file.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func newFileLayer(path string) (*fileLayer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("rootfs: hashing %s: %w", path, err)
	}
	return &fileLayer{path: path, size: n, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
