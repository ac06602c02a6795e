package tarball

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// Checksum returns the hex SHA-256 of the file at path and of its
// uncompressed tar stream (equal for an uncompressed tar). It reads the
// file once, with the same Reader as Diff and Normalize, so it rejects
// every archive they reject: a truncated stream, a bad header checksum, a
// negative or impossible size field.
func Checksum(ctx context.Context, path string, opts ...Option) (file, tar string, err error) {
	f, err := OpenFile(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	fh := sha256.New()
	r, err := Open(ctx, io.TeeReader(f, fh), append(opts, WithName(path))...)
	if err != nil {
		return "", "", err
	}
	defer r.Close()
	for {
		// Member contents are not needed: archive/tar skips them, and
		// they are hashed with the rest of the tar stream.
		m, err := r.nextHeader()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", err
		}
		if err := r.discardContent(m); err != nil {
			return "", "", r.fail(err)
		}
	}
	if err := r.Close(); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.Copy(fh, digest.Reader(ctx, f)); err != nil {
		return "", "", fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(fh.Sum(nil)), r.Archive().TarSHA256, nil
}

// FileSHA256 returns the hex SHA-256 of the file at path, which must be
// a regular file.
func FileSHA256(ctx context.Context, path string) (string, error) {
	f, err := OpenFile(path)
	if err != nil {
		return "", err
	}
	f.Close()
	return digest.File(ctx, path)
}
