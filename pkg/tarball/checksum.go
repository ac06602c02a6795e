package tarball

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// Checksum returns the hex SHA-256 of the file at path and of its
// uncompressed tar stream (equal for an uncompressed tar). It reads the
// file once.
func Checksum(ctx context.Context, path string, opts ...Option) (file, tar string, err error) {
	o := makeOptions(append([]Option{WithName(path)}, opts...))
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fh, th := sha256.New(), sha256.New()
	dec, err := newDecoder(ctx, io.TeeReader(f, fh), o.maxSize, o.xz)
	if err != nil {
		return "", "", &InputError{Name: path, Offset: -1, Err: err}
	}
	defer dec.Close()
	n, err := io.Copy(th, digest.Reader(ctx, dec.r))
	if err != nil {
		return "", "", &InputError{Name: path, Offset: n, Err: err}
	}
	if err := dec.Close(); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.Copy(fh, f); err != nil {
		return "", "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(fh.Sum(nil)), hex.EncodeToString(th.Sum(nil)), nil
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(ctx context.Context, path string) (string, error) { return digest.File(ctx, path) }
