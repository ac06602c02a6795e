package gitarchive

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrNotRepository means the directory is not a git repository.
	ErrNotRepository = errors.New("gitarchive: not a git repository")
	// ErrUnknownRef means the ref does not name a commit, tag or tree.
	ErrUnknownRef = errors.New("gitarchive: unknown ref")
	// ErrMissingObject means an object needed for the archive is not in the
	// repository (a shallow or partial clone, or a damaged repository).
	ErrMissingObject = errors.New("gitarchive: missing object")
	// ErrCorruptObject means git could not read an object.
	ErrCorruptObject = errors.New("gitarchive: corrupt object")
	// ErrBadPrefix means the prefix is absolute or contains "..".
	ErrBadPrefix = errors.New("gitarchive: bad prefix")
	// ErrNoMtime means a tree (not a commit) was archived without an
	// explicit mtime and without permission to use the current time.
	ErrNoMtime = errors.New("gitarchive: tree archive needs an explicit mtime")
	// ErrUnsupported means the archive needs a git feature this package does
	// not reproduce (an export-subst placeholder, an eol/ident/filter
	// conversion...); the output would differ from git's, so none is made.
	ErrUnsupported = errors.New("gitarchive: unsupported")
	// ErrUnknownCompressor means the compression method name is not known.
	ErrUnknownCompressor = errors.New("gitarchive: unknown compressor")
	// ErrUnknownForge means the forge preset name is not known.
	ErrUnknownForge = errors.New("gitarchive: unknown forge preset")
	// ErrGit means a git command failed.
	ErrGit = errors.New("gitarchive: git failed")
)

// UnsupportedError names the file and the feature that cannot be reproduced.
type UnsupportedError struct {
	Path    string // path in the tree (without prefix)
	Feature string // e.g. "placeholder %N", "attribute eol=crlf"
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("gitarchive: %s: unsupported %s (the archive would differ from git archive)", e.Path, e.Feature)
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// ObjectError names the object and path that could not be read.
type ObjectError struct {
	Path   string // path in the tree, if known
	OID    string
	Err    error  // ErrMissingObject or ErrCorruptObject
	Detail string // git's message, if any
}

func (e *ObjectError) Error() string {
	s := fmt.Sprintf("%v: %s", e.Err, e.OID)
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *ObjectError) Unwrap() error { return e.Err }
