package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// ErrNoEnv is matched (errors.Is) when none of a recipe's environments
// can be built on this machine.
var ErrNoEnv = errors.New("no environment can be built here")

// SkippedEnv is an environment PickEnv passed over, and why.
type SkippedEnv struct {
	Name   string
	Reason string
}

// probeTimeout bounds each reachability probe of PickEnv.
const probeTimeout = 10 * time.Second

// PickEnv selects the environment a run uses when none is named: the
// first of the recipe's environments, in recipe order, that can be built
// on this machine. An image environment can be built when the image is in
// the local engine, given with WithImageArchive, or its registry answers;
// an archive environment when its lock exists and its image is in the
// engine or the distribution mirror answers. With the host backend, or
// when the selected artifacts need no environment, it is the first. It
// returns the recipe for that environment (Recipe.ForEnv) and the
// environments passed over; none buildable is ErrNoEnv, naming each
// environment and why.
func PickEnv(ctx context.Context, r *recipe.Recipe, opts ...Option) (*recipe.Recipe, []SkippedEnv, error) {
	o := makeOptions(opts)
	names := r.EnvNames()
	first, err := r.ForEnv(names[0])
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 1 || o.backend == BackendHost || !first.NeedsEnvFor(o.artifacts) {
		return first, nil, nil
	}
	var skipped []SkippedEnv
	for _, n := range names {
		c, err := r.ForEnv(n)
		if err != nil {
			return nil, nil, err
		}
		if !c.NeedsEnvFor(o.artifacts) {
			return c, skipped, nil
		}
		reason := buildable(ctx, &run{o: o, r: c})
		if reason == "" {
			return c, skipped, nil
		}
		skipped = append(skipped, SkippedEnv{Name: n, Reason: reason})
	}
	var b strings.Builder
	for _, s := range skipped {
		fmt.Fprintf(&b, "; %s: %s", s.Name, s.Reason)
	}
	return nil, skipped, fmt.Errorf("%w for %s%s", ErrNoEnv, r.ID(), b.String())
}

// buildable returns why x's environment cannot be built here, or "".
func buildable(ctx context.Context, x *run) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d, _ := x.o.engine.(*engine.Docker)
	if x.r.FromArchive() {
		lock, err := x.lock()
		switch {
		case err != nil:
			return err.Error()
		case lock == nil || lock.Archive == nil:
			return "not pinned: no lock file (run 'verify-release pin " + x.r.PinTarget() + " --env " + x.r.EnvName() + "')"
		}
		if d != nil {
			if _, err := d.Image(ctx, lock.Image.Ref); err == nil {
				return ""
			}
		}
		dist, err := debian.LookupDistribution(x.r.Env.Distro)
		if err != nil {
			return err.Error()
		}
		// The client resolves the mirror as the build will: --mirror, the
		// distribution's environment variable, its default.
		u := debian.NewClient(dist, debian.WithMirror(x.o.mirror)).URL("dists/" + x.r.Env.Suite + "/InRelease")
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return err.Error()
		}
		resp, err := x.o.httpClient.Do(req)
		if err != nil {
			return "the mirror does not answer: " + err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprintf("the mirror answers %s for %s", resp.Status, u)
		}
		return ""
	}
	if x.o.imageArchive != "" {
		return ""
	}
	if d != nil {
		if _, err := d.Image(ctx, x.r.Env.Image); err == nil {
			return ""
		}
	}
	ref, err := name.ParseReference(x.r.Env.Image)
	if err != nil {
		return fmt.Sprintf("image %q: %v", x.r.Env.Image, err)
	}
	if _, err := remote.Head(ref, remote.WithContext(ctx)); err != nil {
		return fmt.Sprintf("image %s is not in the local engine and its registry %s does not answer: %v", x.r.Env.Image, ref.Context().RegistryStr(), err)
	}
	return ""
}
