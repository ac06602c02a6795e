package envpin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/rootfs"
)

// LockVersion is the lock file format version WriteLock writes.
const LockVersion = 1

// ErrLock is matched (errors.Is) by errors reading a lock file.
var ErrLock = errors.New("envpin: invalid lock file")

// Lock is the content of a recipe's lock file.
type Lock struct {
	Version     int               `toml:"version"`
	Image       LockedImage       `toml:"image"`
	Tools       map[string]string `toml:"tools,omitempty"`
	Environment LockedEnvironment `toml:"environment"`
	// Archive and Packages describe an environment built from a
	// distribution archive: every .deb of the installed closure.
	Archive  *LockedArchive   `toml:"archive,omitempty"`
	Packages []rootfs.Package `toml:"package,omitempty"`
}

// LockedEnvironment records the distribution and packages of the image.
type LockedEnvironment struct {
	Distro   string   `toml:"distro,omitempty"`
	Packages []string `toml:"packages,omitempty"`
}

// LockPath is the lock file of a recipe: the recipe's path with its
// extension replaced by ".lock" ("hello.toml" -> "hello.lock").
func LockPath(recipePath string) string {
	return strings.TrimSuffix(recipePath, filepath.Ext(recipePath)) + ".lock"
}

// EnvLockPath is the lock file of one environment of a recipe: LockPath
// for a recipe with one [env], and the recipe's path with its extension
// replaced by "@ENV.lock" for one of its [[envs]] ("1.8.toml" ->
// "1.8@debian-bookworm.lock"; "@" cannot occur in a version).
func EnvLockPath(recipePath string, r *recipe.Recipe) string {
	if !r.Named() {
		return LockPath(recipePath)
	}
	return strings.TrimSuffix(recipePath, filepath.Ext(recipePath)) + "@" + r.EnvName() + ".lock"
}

// LockName is the lock's name inside a recipe store's NAME/ directory:
// VERSION.lock, or VERSION@ENV.lock for one of the recipe's [[envs]]
// (EnvLockPath of NAME/VERSION.toml).
func LockName(r *recipe.Recipe) string {
	if !r.Named() {
		return r.Version + ".lock"
	}
	return r.Version + "@" + r.EnvName() + ".lock"
}

// NewLock builds a lock from a pinned image and a probed environment.
func NewLock(img LockedImage, env *Environment) *Lock {
	l := &Lock{Version: LockVersion, Image: img}
	if env != nil {
		l.Tools = env.Tools
		l.Environment = LockedEnvironment{Distro: env.Distro, Packages: env.Packages}
	}
	return l
}

// EncodeLock writes l as TOML: a header comment, keys in a fixed order,
// tools sorted by name, packages sorted.
func EncodeLock(w io.Writer, l *Lock) error {
	c := *l
	if c.Version == 0 {
		c.Version = LockVersion
	}
	c.Environment.Packages = append([]string(nil), l.Environment.Packages...)
	sort.Strings(c.Environment.Packages)
	var buf bytes.Buffer
	buf.WriteString("# Written by `verify-release pin`: the image and tools the recipe resolved to.\n# Builds read it and never change it.\n")
	if c.Archive != nil {
		buf.WriteString("# [[package]] lists every .deb of the environment; runs download exactly\n# these (checked by sha256) and rebuild the image with the digests above.\n")
	}
	buf.WriteString("\n")
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(&c); err != nil {
		return fmt.Errorf("envpin: encoding lock: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// WriteLock writes l to path atomically.
func WriteLock(path string, l *Lock) error {
	return atomicfile.Write(path, func(w io.Writer) error { return EncodeLock(w, l) })
}

// ReadLock reads and validates a lock file; unknown keys, a missing image
// digest or an unsupported version are errors naming the file.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("envpin: reading lock: %w", err)
	}
	return ParseLock(data, path)
}

// ParseLock decodes and validates lock file data; path names it in errors.
func ParseLock(data []byte, path string) (*Lock, error) {
	var l Lock
	md, err := toml.Decode(string(data), &l)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrLock, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		var keys []string
		for i, k := range und {
			// Report leaves: a table is followed by its own keys.
			if i+1 < len(und) && strings.HasPrefix(und[i+1].String(), k.String()+".") {
				continue
			}
			keys = append(keys, k.String())
		}
		return nil, fmt.Errorf("%w %s: unknown key %s", ErrLock, path, strings.Join(keys, ", "))
	}
	if l.Version != LockVersion {
		return nil, fmt.Errorf("%w %s: version %d, this verify-release reads version %d", ErrLock, path, l.Version, LockVersion)
	}
	if l.Image.Digest == "" {
		return nil, fmt.Errorf("%w %s: [image] digest is missing", ErrLock, path)
	}
	for _, d := range []string{l.Image.Digest, l.Image.ConfigDigest} {
		if d != "" && !validDigest(d) {
			return nil, fmt.Errorf("%w %s: %q is not a sha256 digest", ErrLock, path, d)
		}
	}
	if err := l.validateArchive(); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrLock, path, err)
	}
	return &l, nil
}

// validateArchive checks the archive part of a lock: every package has
// a name, version, architecture, pool path, size and sha256.
func (l *Lock) validateArchive() error {
	if l.Archive == nil {
		if len(l.Packages) > 0 {
			return fmt.Errorf("[[package]] entries without an [archive] table")
		}
		return nil
	}
	a := l.Archive
	if _, err := debian.LookupDistribution(a.Distro); err != nil {
		return fmt.Errorf("[archive] distro %q is not debian or ubuntu", a.Distro)
	}
	if a.Suite == "" || a.SourceDateEpoch <= 0 || !validDigest(a.EnvDigest) {
		return fmt.Errorf("[archive] needs suite, source_date_epoch and env_digest")
	}
	if len(l.Packages) == 0 {
		return fmt.Errorf("[archive] without [[package]] entries")
	}
	seen := map[string]bool{}
	for i, p := range l.Packages {
		if _, _, err := debian.ParseSpec(p.Name + "=" + p.Version); err != nil {
			return fmt.Errorf("package %d: %v", i+1, err)
		}
		if seen[p.Name] {
			return fmt.Errorf("package %s is listed twice", p.Name)
		}
		seen[p.Name] = true
		if p.Architecture == "" || p.Suite == "" || p.Size <= 0 || !validDigest("sha256:"+p.SHA256) ||
			!strings.HasPrefix(p.Filename, "pool/") || strings.Contains(p.Filename, "..") {
			return fmt.Errorf("package %s: needs architecture, suite, a pool/ filename, size and sha256", p.Name)
		}
	}
	return nil
}

func validDigest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
