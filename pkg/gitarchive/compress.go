package gitarchive

import (
	"context"
	"fmt"
	"io"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
)

// Compression methods.
const (
	// CompressNone writes the tar stream as is.
	CompressNone = "none"
	// CompressGzipN is GNU gzip's `gzip -cn -LEVEL` (default level 6, i.e.
	// plain `gzip -cn`; byte-exact for gzip 1.10-1.13, see pkg/deflate):
	// what git archive did for tar.gz before git 2.38, what cgit, GitHub and
	// most release scripts use.
	CompressGzipN = "gzip-n"
	// CompressGitInternal reproduces git 2.38+'s internal gzip (`git archive
	// --format=tar.gz`): zlib deflate with windowBits 15, memLevel 8, the
	// default strategy, and zlib's own gzip header (mtime 0, no name, XFL by
	// level, OS 3), byte-exact for zlib 1.2.11-1.3.1 (see pkg/deflate;
	// zlib-ng differs). Levels 0-9; level 0 (git archive -0: stored
	// blocks, whose ends depend on how the caller feeds zlib) is modelled
	// for git's own calls (10240-byte records into a 16384-byte buffer)
	// with zlib 1.2.12 and later, the zlib of every distribution whose git
	// has the internal gzip (1.2.11 ends its blocks a byte earlier).
	CompressGitInternal = "git-internal"
)

// Compressors lists the compression methods in the order Identify tries them.
var Compressors = []string{CompressNone, CompressGzipN, CompressGitInternal}

// Levels returns the levels Identify tries for method, default first
// (git-internal's level 0, git archive -0, last).
func Levels(method string) []int {
	switch method {
	case CompressGzipN:
		return []int{6, 9, 1, 2, 3, 4, 5, 7, 8}
	case CompressGitInternal:
		return []int{6, 9, 1, 2, 3, 4, 5, 7, 8, 0}
	}
	return []int{-1}
}

func checkCompression(method string, level int) error {
	switch method {
	case CompressNone:
		return nil
	case CompressGzipN:
		if level == -1 || (level >= 1 && level <= 9) {
			return nil
		}
	case CompressGitInternal:
		if level >= -1 && level <= 9 {
			return nil
		}
	default:
		return fmt.Errorf("%w %q (known: none, gzip-n, git-internal)", ErrUnknownCompressor, method)
	}
	return fmt.Errorf("%w: level %d out of range for %s", ErrUnknownCompressor, level, method)
}

// Compress copies r to w compressed with method at level (-1: default 6).
// Both gzip methods run pkg/deflate's emulation of GNU gzip and zlib, so
// no gzip or zlib-flate binary is needed.
func Compress(ctx context.Context, w io.Writer, r io.Reader, method string, level int) error {
	if err := checkCompression(method, level); err != nil {
		return err
	}
	if level == -1 {
		level = 6
	}
	switch method {
	case CompressNone:
		_, err := io.Copy(w, r)
		return err
	case CompressGzipN:
		return deflate.GNUGzip(ctx, w, r, deflate.WithLevel(level))
	default:
		return deflate.ZlibGzip(ctx, w, r, deflate.WithLevel(level))
	}
}
