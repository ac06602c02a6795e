package envpin

import (
	"context"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

// PinResult is what Pin resolved: the lock to write and how the image got
// to the engine.
type PinResult struct {
	Lock    *Lock
	Ensured Ensured
	// SetupImage is the image probed when the recipe has setup steps.
	SetupImage string
}

// Pin resolves ref (a tag or a digest) in its registry, makes the image
// available to d, runs the setup steps (cached, see SetupImage), probes
// the tools of the resulting environment with no network, and returns the
// lock that records all of it. This is what `verify-release pin` writes
// beside a recipe; digests are never typed by hand.
func Pin(ctx context.Context, d *engine.Docker, ref string, setup, packages []string, opts ...Option) (*PinResult, error) {
	digest, configDigest, err := PinImage(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	r, err := ParseRef(ref, opts...)
	if err != nil {
		return nil, err
	}
	pinned := r.Context().Digest(digest).String()
	ens, err := EnsureImage(ctx, d, pinned, configDigest, opts...)
	if err != nil {
		return nil, err
	}
	res := &PinResult{Ensured: ens}
	img := ens.ImageID
	if len(setup) > 0 || len(packages) > 0 {
		id, _, err := SetupImage(ctx, d, ens.ImageID, setup, packages, opts...)
		if err != nil {
			return nil, err
		}
		res.SetupImage, img = id, id
	}
	env, err := ProbeImage(ctx, d, img)
	if err != nil {
		return nil, err
	}
	res.Lock = NewLock(LockedImage{Ref: pinned, Digest: digest, ConfigDigest: configDigest}, env)
	return res, nil
}
