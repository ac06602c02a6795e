package deflate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sentinel errors.
var (
	// ErrLevel reports a compression level the emulated compressor lacks.
	ErrLevel = errors.New("deflate: unsupported compression level")
	// ErrOption reports an option the chosen compressor does not have.
	ErrOption = errors.New("deflate: unsupported option")
)

// OS codes written into gzip headers (RFC 1952).
const (
	OSUnix    byte = 3
	OSUnknown byte = 255
)

// Option configures GNUGzip, ZlibGzip and the raw deflate functions.
type Option func(*options) error

type options struct {
	level     int
	rsyncable bool
	name      string
	hasName   bool
	mtime     uint32
	zlib1211  bool
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{level: 6}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithLevel sets the compression level: 1-9 for GNU gzip (which has no
// level 0) and zlib, and 0 for zlib's stored blocks in ZlibGzip only (where
// the blocks end depends on how the caller feeds zlib, so level 0 is
// modelled for git archive's calling pattern; see zstored.go). The default
// is 6 for both.
func WithLevel(level int) Option {
	return func(o *options) error {
		if level < 0 || level > 9 {
			return fmt.Errorf("%w: %d (0-9)", ErrLevel, level)
		}
		o.level = level
		return nil
	}
}

// noLevel0 refuses level 0 for a compressor that has none.
func noLevel0(o *options, who string) error {
	if o.level == 0 {
		return fmt.Errorf("%w: %s has no level 0 (1-9)", ErrLevel, who)
	}
	return nil
}

// WithZlibVersion selects the zlib whose level-0 stored blocks ZlibGzip
// reproduces: "1.2.11" (Debian 11), or "" (the default) for 1.2.12 and
// later (1.2.13 in Debian 12, 1.3.1 in Debian 13). Levels 1-9 are the same
// in all of them.
func WithZlibVersion(v string) Option {
	return func(o *options) error {
		switch v {
		case "", "1.2.12", "1.2.13", "1.3", "1.3.1":
			o.zlib1211 = false
		case "1.2.11":
			o.zlib1211 = true
		default:
			return fmt.Errorf("%w: zlib version %q (known: 1.2.11, 1.2.12 and later)", ErrOption, v)
		}
		return nil
	}
}

// WithRsyncable is gzip --rsyncable (GNU gzip only).
func WithRsyncable(on bool) Option {
	return func(o *options) error { o.rsyncable = on; return nil }
}

// WithName stores name as the gzip FNAME field, as gzip without -n does
// for a named file (the base name, without directories).
func WithName(name string) Option {
	return func(o *options) error {
		for i := 0; i < len(name); i++ {
			if name[i] == 0 {
				return fmt.Errorf("%w: file name %q contains a NUL byte", ErrOption, name)
			}
		}
		o.name, o.hasName = name, true
		return nil
	}
}

// WithMTime sets the gzip MTIME field (0, the default, is what gzip -n and
// git write).
func WithMTime(mtime uint32) Option {
	return func(o *options) error { o.mtime = mtime; return nil }
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// GNUDeflate writes the raw deflate data GNU gzip (1.10-1.13) makes of r.
func GNUDeflate(ctx context.Context, w io.Writer, r io.Reader, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	if err := noLevel0(o, "GNU gzip"); err != nil {
		return err
	}
	_, _, err = gnuRaw(ctx, w, r, o)
	return err
}

func gnuRaw(ctx context.Context, w io.Writer, r io.Reader, o *options) (crc uint32, size int64, err error) {
	d := &gnuDeflater{level: o.level, rsync: o.rsyncable, in: ctxReader{ctx, r}, out: w}
	err = d.run()
	return d.crc.v, d.bytesIn, err
}

// ZlibDeflate writes the raw deflate data zlib (1.2.11-1.3.1) makes of r
// with deflateInit2(level, Z_DEFLATED, windowBits 15, memLevel 8,
// Z_DEFAULT_STRATEGY), all input followed by Z_FINISH. WithRsyncable is
// refused.
func ZlibDeflate(ctx context.Context, w io.Writer, r io.Reader, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	if o.rsyncable {
		return fmt.Errorf("%w: zlib has no --rsyncable", ErrOption)
	}
	if err := noLevel0(o, "raw zlib deflate (level 0 is modelled only for git archive's gzip, ZlibGzip)"); err != nil {
		return err
	}
	_, _, err = zlibRaw(ctx, w, r, o)
	return err
}

func zlibRaw(ctx context.Context, w io.Writer, r io.Reader, o *options) (crc uint32, size int64, err error) {
	d := &zlibDeflater{level: o.level, in: ctxReader{ctx, r}, out: w}
	err = d.run()
	return d.crc.v, d.bytesIn, err
}

// GNUGzip writes what `gzip -c -LEVEL` (GNU gzip 1.10-1.13) writes for r:
// with the default options, `gzip -cn`. WithName and WithMTime fill the
// header as gzip does for a named file without -n.
func GNUGzip(ctx context.Context, w io.Writer, r io.Reader, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	if err := noLevel0(o, "GNU gzip"); err != nil {
		return err
	}
	if _, err := w.Write(gnuHeader(o)); err != nil {
		return err
	}
	crc, size, err := gnuRaw(ctx, w, r, o)
	if err != nil {
		return err
	}
	return writeTrailer(w, crc, size)
}

// gnuHeader is zip.c's header: XFL 4 for -1, 2 for -9, OS 3 (Unix).
func gnuHeader(o *options) []byte {
	flags := byte(0)
	if o.hasName {
		flags = 0x08
	}
	xfl := byte(0)
	switch o.level {
	case 1:
		xfl = 4
	case 9:
		xfl = 2
	}
	h := []byte{0x1f, 0x8b, 8, flags, 0, 0, 0, 0, xfl, OSUnix}
	binary.LittleEndian.PutUint32(h[4:], o.mtime)
	if o.hasName {
		h = append(append(h, o.name...), 0)
	}
	return h
}

// ZlibGzip writes what zlib with windowBits 31 (a gzip wrapper) and the
// default strategy writes for r: the stream of git 2.38+'s internal gzip
// (`git archive --format=tar.gz`). The header has MTIME 0 (or WithMTime), no
// name, XFL 2 for level 9 and 4 for levels 0 and 1, OS 3. Level 0 is
// zlib's stored blocks as git archive -0 feeds zlib (10240-byte calls into
// a 16384-byte output buffer; zstored.go).
func ZlibGzip(ctx context.Context, w io.Writer, r io.Reader, opts ...Option) error {
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	if o.rsyncable || o.hasName {
		return fmt.Errorf("%w: git's zlib gzip has no --rsyncable or file name", ErrOption)
	}
	if o.level == 0 {
		return gitStoredGzip(w, ctxReader{ctx, r}, zlibHeader(o), o.zlib1211)
	}
	if _, err := w.Write(zlibHeader(o)); err != nil {
		return err
	}
	crc, size, err := zlibRaw(ctx, w, r, o)
	if err != nil {
		return err
	}
	return writeTrailer(w, crc, size)
}

// zlibHeader is deflate.c's gzip header without a gz_header.
func zlibHeader(o *options) []byte {
	xfl := byte(0)
	switch {
	case o.level == 9:
		xfl = 2
	case o.level < 2:
		xfl = 4
	}
	h := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, OSUnix}
	binary.LittleEndian.PutUint32(h[4:], o.mtime)
	return h
}

func writeTrailer(w io.Writer, crc uint32, size int64) error {
	var t [8]byte
	binary.LittleEndian.PutUint32(t[0:], crc)
	binary.LittleEndian.PutUint32(t[4:], uint32(size))
	_, err := w.Write(t[:])
	return err
}
