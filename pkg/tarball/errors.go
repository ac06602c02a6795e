package tarball

import (
	"errors"
	"fmt"
)

// Sentinel errors. They are wrapped with the name of the input and the
// offset where the problem was found; match them with errors.Is.
var (
	// ErrNotArchive means the input is neither a tar archive nor a
	// supported compressed stream (gzip, xz, zstd, bzip2).
	ErrNotArchive = errors.New("tarball: not a tar archive")
	// ErrEmpty means the input has no bytes at all.
	ErrEmpty = errors.New("tarball: empty file")
	// ErrTruncated means the compressed or tar stream ended early.
	ErrTruncated = errors.New("tarball: truncated archive")
	// ErrCorrupt means the compressed stream or a tar header is invalid.
	ErrCorrupt = errors.New("tarball: corrupt archive")
	// ErrTooLarge means the decompressed data exceeds the configured
	// limit; the error is a *LimitError.
	ErrTooLarge = errors.New("tarball: decompressed size exceeds limit")
	// ErrNotRegular means an input path is not a regular file (a device,
	// a FIFO, a socket or a directory).
	ErrNotRegular = errors.New("tarball: not a regular file")
	// ErrUnsupported means an option value is not supported.
	ErrUnsupported = errors.New("tarball: unsupported")
)

// LimitError reports decompressed data that exceeds the limit, with the
// compression ratio seen so far (a "decompression bomb").
type LimitError struct {
	Limit      int64 // configured limit in bytes
	Compressed int64 // compressed bytes consumed when the limit was hit
	Sparse     int64 // declared size of the sparse member that exceeded it, or 0
}

func (e *LimitError) Error() string {
	if e.Sparse > 0 {
		return fmt.Sprintf("%v: a sparse member declares %s, more than the %s limit (possible sparse bomb; raise the limit if expected)",
			ErrTooLarge, humanBytes(e.Sparse), humanBytes(e.Limit))
	}
	ratio := ""
	if e.Compressed > 0 {
		ratio = fmt.Sprintf(", ratio over %d:1", e.Limit/e.Compressed)
	}
	return fmt.Sprintf("%v: more than %s decompressed from %s compressed%s (possible decompression bomb; raise the limit if expected)",
		ErrTooLarge, humanBytes(e.Limit), humanBytes(e.Compressed), ratio)
}

func (e *LimitError) Unwrap() error { return ErrTooLarge }

// InputError names the input and the byte offset (in the uncompressed tar
// stream, or -1 if unknown) where reading failed.
type InputError struct {
	Name   string // input name, usually its path
	Offset int64  // offset in the tar stream, -1 if not known
	Err    error
}

func (e *InputError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s: at tar offset %d: %v", e.Name, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
