package engine

import (
	"context"
	"errors"
	"io"
)

// ErrUnsupported is returned by operations a backend cannot perform, such as
// Commit on the host backend.
var ErrUnsupported = errors.New("engine: operation not supported by this backend")

// CannotExecute is the exit code of a command that could not be started.
const CannotExecute = 126

// ErrClosed is returned by Session methods called after Close.
var ErrClosed = errors.New("engine: session closed")

// Engine starts build sessions.
type Engine interface {
	Start(ctx context.Context, spec Spec) (Session, error)
}

// Spec describes the environment of a session.
type Spec struct {
	// Image is an image reference or ID (Docker). Ignored by the host backend.
	Image string
	// Network allows network access. Without it the Docker backend uses
	// network mode "none"; the host backend uses `unshare --net` when it
	// works (see Host).
	Network bool
	// User runs commands as this user ("uid", "uid:gid" or a name known to
	// the image). Empty means the image default. Ignored by the host backend.
	User string
	// Env is the base environment of every Exec ("KEY=value"). The host
	// backend starts from a clean environment holding only PATH and HOME.
	Env []string
	// WorkDir is the default directory of Exec (container path).
	WorkDir string
	// CapAdd adds Linux capabilities on top of DefaultCaps (Docker only;
	// all other capabilities are dropped).
	CapAdd []string
	// Memory limits memory in bytes (0: DefaultMemory).
	Memory int64
	// PidsLimit limits the number of processes (0: DefaultPidsLimit).
	PidsLimit int64
	// Keep leaves the container or temporary directory behind on Close,
	// for debugging.
	Keep bool
	// Name names the container (Docker); empty lets the engine pick one.
	Name string
}

// ExecSpec describes one command run in a session.
type ExecSpec struct {
	Cmd []string
	// Env is added to Spec.Env (later entries win).
	Env []string
	// Dir is the working directory (container path); empty: Spec.WorkDir.
	Dir string
	// User overrides Spec.User.
	User string
	// Stdout and Stderr receive the output as it is produced; nil discards it.
	Stdout, Stderr io.Writer
}

// Session is a running build environment.
type Session interface {
	// Exec runs a command and returns its exit code. err is non-nil only
	// when the session failed or ctx was canceled (exit code -1); a
	// non-zero exit is not an error. A command that cannot be started
	// (not found, not executable) gives CannotExecute (126), with the
	// engine's message on Stdout (Docker) or Stderr (host).
	Exec(ctx context.Context, e ExecSpec) (exitCode int, err error)
	// CopyIn extracts a tar stream into dstDir (container path, created if
	// missing).
	CopyIn(ctx context.Context, dstDir string, tarStream io.Reader) error
	// CopyOut writes the bytes of the single regular file at path
	// (container path) to w.
	CopyOut(ctx context.Context, path string, w io.Writer) error
	// Commit saves the session's filesystem as an image tagged ref and
	// returns its ID. The host backend returns ErrUnsupported.
	Commit(ctx context.Context, ref string) (imageID string, err error)
	// Close removes the container or temporary directory (unless
	// Spec.Keep). It is idempotent and works even when ctx is canceled.
	Close(ctx context.Context) error
	// ID identifies the session: the container ID, or the host root dir.
	ID() string
}
