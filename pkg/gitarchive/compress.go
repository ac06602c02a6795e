package gitarchive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os/exec"
	"strconv"
)

// Compression methods.
const (
	// CompressNone writes the tar stream as is.
	CompressNone = "none"
	// CompressGzipN pipes the tar through the system `gzip -cn -LEVEL`
	// (default level 6, i.e. plain `gzip -cn`): what git archive did for
	// tar.gz before git 2.38, what cgit, GitHub and most release scripts use.
	CompressGzipN = "gzip-n"
	// CompressGitInternal reproduces git 2.38+'s internal gzip (`git archive
	// --format=tar.gz`): zlib deflate with windowBits 15, memLevel 8, the
	// default strategy, and zlib's own gzip header (mtime 0, no name, XFL by
	// level, OS 3). The deflate data comes from the system zlib through
	// `zlib-flate -compress=LEVEL` (Debian package qpdf), which calls
	// deflateInit with the same parameters: its zlib wrapper (2-byte header,
	// Adler-32) is replaced by the gzip header and a CRC-32/size trailer
	// computed here. Byte-exact as long as both link the same zlib (zlib's
	// output has been stable across 1.2.x releases; zlib-ng differs).
	// Levels 1-9; level 0 (git archive -0) is refused because zlib's stored
	// blocks depend on how the caller chunks its deflate calls.
	CompressGitInternal = "git-internal"
)

// Compressors lists the compression methods in the order Identify tries them.
var Compressors = []string{CompressNone, CompressGzipN, CompressGitInternal}

// Levels returns the valid levels of method, default first.
func Levels(method string) []int {
	switch method {
	case CompressGzipN:
		return []int{6, 9, 1, 2, 3, 4, 5, 7, 8}
	case CompressGitInternal:
		return []int{6, 9, 1, 2, 3, 4, 5, 7, 8}
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
		// Level 0 (stored blocks) depends on how git chunks its zlib calls,
		// which zlib-flate does not repeat; it is refused.
		if level == -1 || (level >= 1 && level <= 9) {
			return nil
		}
	default:
		return fmt.Errorf("%w %q (known: none, gzip-n, git-internal)", ErrUnknownCompressor, method)
	}
	return fmt.Errorf("%w: level %d out of range for %s", ErrUnknownCompressor, level, method)
}

// Compress copies r to w compressed with method at level (-1: default 6).
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
		return runFilter(ctx, w, r, "gzip", "-cn", "-"+strconv.Itoa(level))
	default:
		return gitGzip(ctx, w, r, level)
	}
}

// runFilter runs a compressor with r on stdin and w on stdout.
func runFilter(ctx context.Context, w io.Writer, r io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = r
	ew := &errWriter{w: w}
	cmd.Stdout = ew
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{max: 4096, buf: &stderr}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ew.err != nil {
			// Our writer failed and the compressor died of it.
			return ew.err
		}
		var ee *exec.Error
		if errors.As(err, &ee) {
			return fmt.Errorf("gitarchive: compressor %s not found (install it; zlib-flate is in the Debian package qpdf): %w", name, err)
		}
		return fmt.Errorf("gitarchive: %s %v: %w: %s", name, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// gitGzip is git's internal gzip (archive-tar.c, write_tar_gzip_archive).
func gitGzip(ctx context.Context, w io.Writer, r io.Reader, level int) error {
	xfl := byte(0)
	switch {
	case level == 9:
		xfl = 2
	case level < 2:
		xfl = 4
	}
	hdr := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	crc := crc32.NewIEEE()
	cr := &countReader{r: io.TeeReader(r, crc)}
	zw := &zlibUnwrap{w: w}
	if err := runFilter(ctx, zw, cr, "zlib-flate", "-compress="+strconv.Itoa(level)); err != nil {
		return err
	}
	if zw.err != nil {
		return zw.err
	}
	if zw.n == 0 && cr.n == 0 {
		// zlib-flate writes nothing for empty input; zlib's deflate of
		// nothing is a final empty fixed-Huffman block.
		if _, err := w.Write([]byte{3, 0}); err != nil {
			return err
		}
	} else if zw.n < 2 || len(zw.tail) != 4 {
		return errors.New("gitarchive: zlib-flate: short output")
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[0:], crc.Sum32())
	binary.LittleEndian.PutUint32(trailer[4:], uint32(cr.n))
	_, err := w.Write(trailer[:])
	return err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zlibUnwrap passes a zlib stream to w without its 2-byte header and
// 4-byte Adler-32 trailer.
type zlibUnwrap struct {
	w    io.Writer
	n    int64 // bytes seen
	tail []byte
	err  error
}

func (z *zlibUnwrap) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	total := len(p)
	for z.n < 2 && len(p) > 0 {
		if z.n == 0 && p[0]&0x0f != 8 {
			z.err = fmt.Errorf("gitarchive: zlib-flate: not a zlib stream (first byte %#x)", p[0])
			return 0, z.err
		}
		p = p[1:]
		z.n++
	}
	z.n += int64(len(p))
	buf := append(z.tail, p...)
	if len(buf) > 4 {
		if _, err := z.w.Write(buf[:len(buf)-4]); err != nil {
			z.err = err
			return 0, err
		}
		buf = buf[len(buf)-4:]
	}
	z.tail = append(z.tail[:0:0], buf...)
	return total, nil
}

// errWriter remembers the first error of w.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
