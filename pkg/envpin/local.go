package envpin

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/engine"
)

// ArchiveDigests reads a docker-archive (`docker save`) tarball and
// returns its image's manifest digest (as go-containerregistry computes
// it for the archive's layers) and config digest (the Docker image ID).
func ArchiveDigests(path string) (digest, configDigest string, err error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: %v", ErrArchiveFormat, path, err)
	}
	return digests(img)
}

// PinLocal pins an image that exists only in the local engine (no
// registry): it is saved as a docker-archive into dest (kept, so other
// machines can run with --image-archive dest) and pinned by its config
// digest, which every engine that loads dest reports as the image ID.
func PinLocal(ctx context.Context, d *engine.Docker, ref, dest string) (LockedImage, error) {
	info, err := d.Image(ctx, ref)
	if err != nil {
		return LockedImage{}, err
	}
	if err := atomicfile.Write(dest, func(w io.Writer) error { return d.Save(ctx, info.ID, w) }); err != nil {
		return LockedImage{}, err
	}
	dg, cd, err := ArchiveDigests(dest)
	if err != nil {
		os.Remove(dest)
		return LockedImage{}, err
	}
	if cd != info.ID {
		os.Remove(dest)
		return LockedImage{}, &DigestError{What: "saved image config digest", Source: ref, Want: info.ID, Got: cd}
	}
	return LockedImage{Ref: ref, Digest: dg, ConfigDigest: cd}, nil
}
