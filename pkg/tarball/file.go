package tarball

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// OpenFile opens path as an archive input. Anything but a regular file
// (a character device such as /dev/zero, a FIFO, a socket, a directory)
// is refused with ErrNotRegular before it is opened: such an input can be
// endless, and opening a FIFO would block.
func OpenFile(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, st); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The path may have been replaced between the two looks.
	if st, err = f.Stat(); err != nil || regular(path, st) != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w (it changed while being opened)", path, ErrNotRegular)
	}
	return f, nil
}

func regular(path string, st fs.FileInfo) error {
	if st.Mode().IsRegular() {
		return nil
	}
	kind := "special file"
	switch m := st.Mode(); {
	case m&fs.ModeDir != 0:
		kind = "directory"
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "block device"
	case m&fs.ModeNamedPipe != 0:
		kind = "FIFO"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	return &InputError{Name: path, Offset: -1, Err: fmt.Errorf("%w: it is a %s", ErrNotRegular, kind)}
}

// Decompress detects the compression of r from its magic bytes and
// returns the decompressed stream, bounded by WithMaxSize (a *LimitError
// past it) and failing with ctx.Err() once ctx is done. Close releases
// the decompressor.
func Decompress(ctx context.Context, r io.Reader, opts ...Option) (io.ReadCloser, Compression, error) {
	o := makeOptions(opts)
	dec, err := newDecoder(ctx, r, o.maxSize, o.xz)
	if err != nil {
		return nil, "", &InputError{Name: o.name, Offset: -1, Err: err}
	}
	return &decodedStream{Reader: digest.Reader(ctx, dec.r), dec: dec}, dec.info.Format, nil
}

type decodedStream struct {
	io.Reader
	dec *decoder
}

func (d *decodedStream) Close() error { return d.dec.Close() }
