package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultHostPath is the PATH of host sessions unless WithHostPath is given.
const DefaultHostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Host runs sessions directly on this machine, each in a fresh temporary
// directory (the session root). It is for machines without Docker and for
// debugging; it gives no isolation of the file system and the tools are
// whatever the host has.
//
// Path mapping: a container path such as /work/src names <root>/work/src.
// The mapping applies to ExecSpec.Dir, Spec.WorkDir, CopyIn and CopyOut
// only; command arguments are passed unchanged, so recipe steps should use
// paths relative to their working directory.
//
// Environment: commands get a clean environment, not the host's: PATH
// (DefaultHostPath or WithHostPath), HOME=<root>/home, TMPDIR=<root>/tmp,
// then Spec.Env and ExecSpec.Env.
//
// Network: when Spec.Network is false, commands run under `unshare --net`
// (a new, empty network namespace) if that works here, which needs root or
// unprivileged user namespaces; see NetworkIsolation. Otherwise the network
// stays reachable and Session.NetworkIsolated reports false.
//
// Spec.Image, Spec.User, Spec.CapAdd, Spec.Memory and Spec.PidsLimit are
// ignored, ExecSpec.User too. On ctx cancellation the command's whole
// process group is killed.
type Host struct {
	o hostOptions

	once     sync.Once
	isolated bool
	unshare  []string
}

var _ Engine = (*Host)(nil)

// HostOption configures NewHost.
type HostOption func(*hostOptions)

type hostOptions struct {
	tempDir string
	path    string
}

// WithHostTempDir creates session roots under dir instead of os.TempDir().
func WithHostTempDir(dir string) HostOption {
	return func(o *hostOptions) { o.tempDir = dir }
}

// WithHostPath sets the PATH of host sessions.
func WithHostPath(p string) HostOption {
	return func(o *hostOptions) { o.path = p }
}

// NewHost returns a host backend.
func NewHost(opts ...HostOption) *Host {
	o := hostOptions{path: DefaultHostPath}
	for _, opt := range opts {
		opt(&o)
	}
	return &Host{o: o}
}

// NetworkIsolation reports whether sessions without Spec.Network run
// their commands in an empty network namespace (`unshare --net` works
// here). The probe runs once.
func (h *Host) NetworkIsolation(ctx context.Context) bool {
	h.once.Do(func() {
		p, err := exec.LookPath("unshare")
		if err != nil {
			return
		}
		for _, args := range [][]string{{p, "--net"}, {p, "--net", "--map-root-user"}} {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := exec.CommandContext(ctx, args[0], append(args[1:], "--", "true")...).Run()
			cancel()
			if err == nil {
				h.isolated = true
				h.unshare = append(args, "--")
				return
			}
		}
	})
	return h.isolated
}

// Start creates the session root: a new temporary directory.
func (h *Host) Start(ctx context.Context, spec Spec) (Session, error) {
	isolate := !spec.Network && h.NetworkIsolation(ctx)
	root, err := os.MkdirTemp(h.o.tempDir, "verify-release-host-")
	if err != nil {
		return nil, fmt.Errorf("engine: creating host session directory: %w", err)
	}
	for _, d := range []string{"home", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			os.RemoveAll(root)
			return nil, fmt.Errorf("engine: creating host session directory: %w", err)
		}
	}
	s := &hostSession{root: root, spec: spec, path: h.o.path}
	if isolate {
		s.wrap = h.unshare
	}
	return s, nil
}

type hostSession struct {
	root string
	spec Spec
	path string
	wrap []string

	mu     sync.Mutex
	closed bool
}

// HostSession is implemented by host sessions.
type HostSession interface {
	Session
	// Root is the directory container paths are mapped into.
	Root() string
	// NetworkIsolated reports whether commands run without network.
	NetworkIsolated() bool
}

var _ HostSession = (*hostSession)(nil)

func (s *hostSession) ID() string            { return s.root }
func (s *hostSession) Root() string          { return s.root }
func (s *hostSession) NetworkIsolated() bool { return len(s.wrap) > 0 }

func (s *hostSession) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// hostPath maps a container path to the session root. Relative paths are
// taken relative to "/" of the container.
func (s *hostSession) hostPath(p string) string {
	return filepath.Join(s.root, filepath.FromSlash(path.Clean("/"+p)))
}

func (s *hostSession) Exec(ctx context.Context, e ExecSpec) (int, error) {
	if err := s.check(); err != nil {
		return -1, err
	}
	if len(e.Cmd) == 0 {
		return -1, errors.New("engine: ExecSpec.Cmd is empty")
	}
	dir := e.Dir
	if dir == "" {
		dir = s.spec.WorkDir
	}
	dir = s.hostPath(dir)
	env := []string{"PATH=" + s.path, "HOME=" + filepath.Join(s.root, "home"), "TMPDIR=" + filepath.Join(s.root, "tmp")}
	env = append(append(env, s.spec.Env...), e.Env...)
	name := e.Cmd[0]
	if !strings.Contains(name, "/") {
		// Look the command up in the session's PATH, not the host's.
		p, err := lookPath(name, envValue(env, "PATH"))
		if err != nil {
			// Like the Docker backend: a command that cannot be
			// started is exit status 126 with a message, not an error.
			if e.Stderr != nil {
				fmt.Fprintf(e.Stderr, "engine: exec %q: %v\n", e.Cmd[0], err)
			}
			return CannotExecute, nil
		}
		name = p
	}
	argv := append(append(append([]string(nil), s.wrap...), name), e.Cmd[1:]...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], context.Cause(ctx))
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], err)
	}
	return 0, nil
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func lookPath(name, pathList string) (string, error) {
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w in PATH %s", exec.ErrNotFound, pathList)
}

// CopyIn extracts regular files, directories and symbolic links, with
// their modes and modification times (directories last, so their own times
// stick), no ownership, no hard links or devices, below dstDir.
func (s *hostSession) CopyIn(ctx context.Context, dstDir string, tarStream io.Reader) error {
	if err := s.check(); err != nil {
		return err
	}
	if !path.IsAbs(dstDir) {
		return fmt.Errorf("engine: copy into %q: destination must be an absolute path", dstDir)
	}
	base := s.hostPath(dstDir)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
	}
	tr := tar.NewReader(tarStream)
	// Directory times are set last, deepest first, because creating
	// entries inside a directory changes its mtime.
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			for i := len(dirs) - 1; i >= 0; i-- {
				if err := os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t); err != nil {
					return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("engine: copy into %s: reading tar stream: %w", dstDir, err)
		}
		for _, elem := range strings.Split(hdr.Name, "/") {
			if elem == ".." {
				return fmt.Errorf("engine: copy into %s: tar member %q escapes the destination", dstDir, hdr.Name)
			}
		}
		dst := filepath.Join(base, filepath.FromSlash(path.Clean("/"+hdr.Name)))
		mode := os.FileMode(hdr.Mode) & os.ModePerm
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
			if err := os.Chmod(dst, mode); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
			dirs = append(dirs, dirTime{dst, hdr.ModTime})
		case tar.TypeReg:
			if err := writeFile(dst, tr, mode); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
			if err := os.Chtimes(dst, hdr.ModTime, hdr.ModTime); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
			os.Remove(dst)
			if err := os.Symlink(hdr.Linkname, dst); err != nil {
				return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
			}
		default:
			return fmt.Errorf("engine: copy into %s: tar member %s: unsupported type %q on the host backend", dstDir, hdr.Name, hdr.Typeflag)
		}
	}
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (s *hostSession) CopyOut(ctx context.Context, p string, w io.Writer) error {
	if err := s.check(); err != nil {
		return err
	}
	src := s.hostPath(p)
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("engine: copy out %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s (mode %s)", ErrNotRegular, p, fi.Mode())
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("engine: copy out %s: %w", p, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("engine: copy out %s: %w", p, err)
	}
	return nil
}

func (s *hostSession) Commit(context.Context, string) (string, error) {
	return "", fmt.Errorf("%w: commit on the host backend", ErrUnsupported)
}

func (s *hostSession) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.spec.Keep {
		return nil
	}
	// Builds may leave read-only directories (e.g. `make distcheck`).
	filepath.WalkDir(s.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err := os.RemoveAll(s.root); err != nil {
		return fmt.Errorf("engine: removing %s: %w", s.root, err)
	}
	return nil
}
