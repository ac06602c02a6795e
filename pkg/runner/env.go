package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
)

// lock returns the recipe's lock file (NAME/VERSION.lock beside it), or
// nil when it has none.
func (x *run) lock() (*envpin.Lock, error) {
	p := x.r.Path
	if p == "" {
		return nil, nil
	}
	if strings.HasPrefix(p, "builtin:") {
		if x.o.store == nil {
			return nil, nil
		}
		rel := path.Join(x.r.Name, envpin.LockName(x.r))
		data, err := fs.ReadFile(x.o.store.FS, rel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("runner: reading %s: %w", rel, err)
		}
		return envpin.ParseLock(data, "builtin:recipes/"+rel)
	}
	lp := envpin.EnvLockPath(p, x.r)
	if _, err := os.Stat(lp); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return envpin.ReadLock(lp)
}

// resolveImage makes the recipe's image available to the Docker engine and
// returns the image to start build sessions from (after setup, if any).
func (x *run) resolveImage(ctx context.Context) (string, error) {
	d, ok := x.o.engine.(*engine.Docker)
	if !ok {
		return "", fmt.Errorf("runner: the docker backend needs a Docker engine")
	}
	if x.r.FromArchive() {
		return x.archiveImage(ctx, d)
	}
	ref, configDigest := x.r.Env.Image, ""
	lock, err := x.lock()
	if err != nil {
		return "", err
	}
	if lock != nil {
		configDigest = lock.Image.ConfigDigest
		if !x.r.ImagePinned() {
			ref = lock.Image.Ref
			if !envpin.Pinned(ref) {
				ref = x.r.Env.Image + "@" + lock.Image.Digest
			}
			x.event("", "image", "image digest from the lock file: %s", ref)
		}
	}
	pinned := envpin.Pinned(ref)
	if !pinned {
		switch {
		case x.o.requirePinned:
			return "", fmt.Errorf("%w: %s has no digest and the recipe has no lock file (--require-pinned is on)", ErrUnpinned, ref)
		case !x.o.allowUnpinned && x.r.Env.Digest == recipe.Unresolved:
			return "", fmt.Errorf("%w: the recipe marks the digest of %s unresolved and has no lock file", ErrUnpinned, ref)
		}
	}
	opts := []envpin.Option{envpin.WithCacheDir(path.Join(x.o.cacheDir, "images"))}
	var ens envpin.Ensured
	if x.o.imageArchive != "" {
		x.event("", "image", "loading %s from %s", ref, x.o.imageArchive)
		pin := envpin.LockedImage{Ref: ref, ConfigDigest: configDigest}
		if pinned {
			pin.Digest = ref[strings.LastIndex(ref, "@")+1:]
		}
		ens, err = envpin.LoadArchive(ctx, d, x.o.imageArchive, pin, opts...)
	} else {
		x.event("", "image", "making %s available to the engine", ref)
		ens, err = envpin.EnsureImage(ctx, d, ref, configDigest, opts...)
	}
	if err != nil {
		return "", err
	}
	if ens.Resolved || !pinned {
		x.warn("image %s is not pinned: resolved at run time to %s; pin it with 'verify-release pin'", x.r.Env.Image, ens.Digest)
	}
	x.rep.Env.ImageDigest = ens.Digest
	x.rep.Env.ImageID = ens.ImageID
	x.rep.Env.Pinned = pinned && !ens.Resolved
	x.event("", "image", "using %s (%s, via %s)", ens.Digest, shortID(strings.TrimPrefix(ens.ImageID, "sha256:")), ens.Source)

	img := ens.ImageID
	if len(x.r.Env.Setup) > 0 || len(x.r.Env.Packages) > 0 {
		x.event("", "setup", "running %d setup command(s) with network (cached by base digest + commands)", len(x.r.Env.Setup))
		id, cached, err := envpin.SetupImage(ctx, d, ens.ImageID, x.r.Env.Setup, x.r.Env.Packages, append(opts, envpin.WithOutput(x.o.log, x.o.log))...)
		if err != nil {
			return "", err
		}
		if cached {
			x.event("", "setup", "using the cached setup image %s", shortID(strings.TrimPrefix(id, "sha256:")))
		}
		x.rep.Env.SetupImage = id
		img = id
	}
	return img, nil
}

// probeTools records the environment's tool versions and stops the run
// when they differ from the recipe's pins, before any build step.
func (x *run) probeTools(ctx context.Context, sess engine.Session) error {
	x.event("", "probe", "probing tool versions")
	env, err := envpin.Probe(ctx, sess)
	if err != nil {
		return err
	}
	tools := map[string]string{}
	for k, v := range env.Tools {
		tools[k] = v
	}
	if env.Distro != "" {
		tools["distro"] = env.Distro
	}
	x.rep.Env.Tools = tools
	x.rep.Env.Packages = env.Packages
	if _, err := envpin.Compare(x.r.Env.Tools, tools); err != nil {
		return err
	}
	if len(x.r.Env.Tools) > 0 {
		x.event("", "probe", "all %d pinned tool versions match", len(x.r.Env.Tools))
	}
	return nil
}

// checkArchiveLock fails early, before any fetch, when the run builds
// in an archive environment that has no lock.
func (x *run) checkArchiveLock(names []string) error {
	if !x.r.FromArchive() || x.o.backend != BackendDocker {
		return nil
	}
	build := false
	for _, n := range names {
		if a := x.r.Artifacts[n]; a.Method == recipe.MethodBuild && (len(x.o.artifacts) == 0 || slices.Contains(x.o.artifacts, n)) {
			build = true
		}
	}
	if !build {
		return nil
	}
	lock, err := x.lock()
	if err != nil {
		return err
	}
	if lock == nil || lock.Archive == nil {
		return x.noArchiveLock()
	}
	return nil
}

func (x *run) noArchiveLock() error {
	env := ""
	if x.r.Named() {
		env = " --env " + x.r.EnvName()
	}
	return fmt.Errorf("%w: the environment is built from the %s archive (%s) and needs the lock that lists its packages; run 'verify-release pin %s%s'", ErrUnpinned, x.r.Env.Distro, x.r.Env.Suite, x.r.PinTarget(), env)
}

// archiveImage makes the recipe's archive environment available from its
// lock alone: no registry, no resolver, exactly the locked .debs.
func (x *run) archiveImage(ctx context.Context, d *engine.Docker) (string, error) {
	lock, err := x.lock()
	if err != nil {
		return "", err
	}
	if lock == nil || lock.Archive == nil {
		return "", x.noArchiveLock()
	}
	x.rep.Env.Image = lock.Image.Ref
	x.event("", "image", "environment %s %s from the lock: %d packages", lock.Archive.Distro, lock.Archive.Suite, len(lock.Packages))
	ens, err := envpin.EnsureArchive(ctx, d, lock, envpin.ArchiveOptions{
		Mirror:   x.o.mirror,
		CacheDir: x.o.cacheDir,
		Log:      x.o.log,
		Progress: func(step, msg string) { x.event("", "image", "%s", msg) },
	})
	if err != nil {
		return "", err
	}
	x.rep.Env.ImageDigest = ens.Digest
	x.rep.Env.ImageID = ens.ImageID
	x.rep.Env.Pinned = true
	x.debs = lock.Packages
	x.rep.Env.Archive = &report.Archive{Distro: lock.Archive.Distro, Suite: lock.Archive.Suite, EnvDigest: lock.Archive.EnvDigest, Packages: len(lock.Packages), Downloaded: ens.Downloaded}
	x.event("", "image", "using %s (%s, via %s, %d .debs downloaded)", ens.Digest, shortID(strings.TrimPrefix(ens.ImageID, "sha256:")), ens.Source, ens.Downloaded)
	return ens.ImageID, nil
}
