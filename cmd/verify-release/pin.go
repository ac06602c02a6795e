package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/cache"
	"gitlab.com/verify-release/verify-release/pkg/engine"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func init() {
	register(command{name: "pin", summary: "resolve a recipe's image digest and tool versions into its lock file", run: runPin})
}

const pinUsage = `Usage:
  verify-release pin RECIPE.toml... [flags]
  verify-release pin NAME VERSION [flags]

Resolves each recipe's image reference to a digest in its registry, makes
the image available to the Docker Engine, runs the recipe's setup steps
(cached), probes the tool versions of the resulting environment, and writes
everything to the lock file beside the recipe (NAME/VERSION.lock). Runs read
the lock when the recipe's image says digest = "unresolved"; they never
change it. The recipe itself is left untouched. See docs/pinning.md.

NAME VERSION finds the recipe as runs do (--recipes DIR,
$VERIFY_RELEASE_RECIPES, ./recipes, then the built-in recipes). A built-in
recipe cannot take a lock beside it: pin copies it (and its key files) to
DIR/NAME/VERSION.toml, DIR being --recipes or ./recipes, and writes the lock
beside the copy; runs from this directory then read the copy (./recipes)
or take --recipes DIR.

For an environment built from a distribution archive ([env] distro =
"debian", suite, packages), pin resolves the packages against the archive
(InRelease signature verified with the distribution keyring, the sha256
chain Release -> Packages -> .deb checked), writes every package of the
installed closure (Essential set included) with its pool path, size and
sha256, builds the environment image from exactly those .debs, and records
its digests, so every later run rebuilds the same image bytes from the lock
alone. No registry is needed.

Tools whose probed version differs from the recipe's [env.tools] pins are
listed; the exit code is then 1.

Examples:
  verify-release pin recipes/libntlm/1.8.toml
  verify-release pin libntlm 1.8
  verify-release pin recipes/*/*.toml
  verify-release pin --dry-run recipes/libntlm/1.8.toml
  verify-release pin --mirror http://mirror.local/debian recipes/demo/1.0.toml
  verify-release pin --local --save demo-image.tar recipes/demo/1.0.toml
`

type pinFailed struct{ n int }

func (e *pinFailed) Error() string {
	return fmt.Sprintf("%d recipe(s) have tool pins that differ from their image", e.n)
}
func (e *pinFailed) VerificationFailed() bool { return true }

func runPin(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "pin", pinUsage)
	dry := fs.Bool("dry-run", false, "print the lock instead of writing it")
	cacheDir := fs.String("cache-dir", "", "image cache `DIR` (default $XDG_CACHE_HOME/verify-release/images; for archive environments the cache root, default $XDG_CACHE_HOME/verify-release)")
	keyring := fs.String("keyring", "", "OpenPGP keyring `FILE` that signs the archive's InRelease files (default: the distribution keyring in /usr/share/keyrings)")
	local := fs.Bool("local", false, "pin the recipe's image from the local Docker Engine, with no registry: by its config digest (the image ID)")
	save := fs.String("save", "", "with --local: keep the image as a docker-archive at `FILE`, for --image-archive on machines that lack it")
	mirror := fs.String("mirror", "", "distribution mirror `URL` for archive environments (default: the distribution's, or $VERIFY_RELEASE_DEBIAN_MIRROR)")
	recipesDir := fs.String("recipes", "", "recipes `DIR` for NAME VERSION, and where a built-in recipe is copied (default $VERIFY_RELEASE_RECIPES, ./recipes)")
	envName := fs.String("env", "", "pin only the recipe environment `NAME` ([[envs]]; default: every environment, each into RECIPE@NAME.lock)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("pin", "give at least one RECIPE.toml, or NAME VERSION")
	}
	type target struct {
		r     *recipe.Recipe
		store *recipe.Store
	}
	var targets []target
	if len(pos) == 2 && !isRecipePath(pos[0]) {
		r, st, err := loadRecipe(c, recipeStore(c, *recipesDir), "pin", pos)
		if err != nil {
			return err
		}
		targets = append(targets, target{r, st})
	} else {
		for _, p := range pos {
			if !isRecipePath(p) {
				return usagef("pin", "%s is not a recipe file (NAME/VERSION.toml); for a recipe by name give exactly NAME VERSION", p)
			}
			r, st, err := recipe.LoadPath(p)
			if err != nil {
				return err
			}
			targets = append(targets, target{r, st})
		}
	}
	// One target per environment of each recipe (or the one --env names).
	var perEnv []target
	for _, t := range targets {
		rs, err := t.r.ForEnvs(*envName)
		if err != nil {
			return usagef("pin", "%v", err)
		}
		for _, r := range rs {
			perEnv = append(perEnv, target{r, t.store})
		}
	}
	targets = perEnv
	var d *engine.Docker
	defer func() {
		if d != nil {
			d.Close()
		}
	}()
	var failedEnvs []string
	var opts []envpin.Option
	if *cacheDir != "" {
		opts = append(opts, envpin.WithCacheDir(*cacheDir))
	}
	bad := 0
	for _, t := range targets {
		r, p := t.r, t.r.Path
		if r.Env.Image == "" && !r.FromArchive() {
			fmt.Fprintf(c.Stdout, "%s: no [env] (git-archive artifacts only): nothing to pin\n", p)
			continue
		}
		if d == nil {
			if d, err = newDocker(ctx); err != nil {
				return err
			}
		}
		var res *envpin.PinResult
		if *local && !r.FromArchive() {
			res, err = pinLocal(ctx, c, d, r, *save)
		} else if r.FromArchive() {
			res, err = pinArchive(ctx, c, d, r, *cacheDir, *mirror, *keyring)
		} else {
			fmt.Fprintf(c.Stderr, "verify-release: pin: resolving %s for %s\n", r.Env.Image, r.ID())
			res, err = envpin.Pin(ctx, d, r.Env.Image, r.Env.Setup, r.Env.Packages, opts...)
		}
		if err != nil {
			hint := fmt.Sprintf("pin reads the registry of %s: run it on a machine that reaches it, then copy %s here", r.Env.Image, envpin.EnvLockPath(lockTarget(p, r), r))
			if r.FromArchive() {
				hint = fmt.Sprintf("pin reads the %s archive (InRelease, Packages, the pool): check the mirror (--mirror); a version no signed index lists any more is taken from the pool only as name=version@sha256:<digest of the .deb> (docs/recipes.md)", r.Env.Distro)
			}
			err = withHint(fmt.Errorf("pinning %s: %w", envLabel(p, r), err), hint)
			if r.Named() && *envName == "" && len(targets) > 1 {
				// One unreachable environment does not stop the others.
				fmt.Fprintf(c.Stderr, "verify-release: pin: %v\n", err)
				failedEnvs = append(failedEnvs, envLabel(p, r))
				continue
			}
			return err
		}
		if strings.HasPrefix(p, "builtin:") && !*dry {
			dir := *recipesDir
			if dir == "" {
				if dir = c.Getenv("VERIFY_RELEASE_RECIPES"); dir == "" {
					dir = "recipes"
				}
			}
			if p, err = copyBuiltin(t.store, r, dir); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "copied built-in recipe %s to %s\n", r.ID(), p)
		}
		lp := envpin.EnvLockPath(p, r)
		if *dry {
			if err := envpin.EncodeLock(c.Stdout, res.Lock); err != nil {
				return err
			}
		} else {
			if err := envpin.WriteLock(lp, res.Lock); err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "%s: %s (config %s)\n", lp, res.Lock.Image.Ref, res.Lock.Image.ConfigDigest)
		}
		ms, _ := envpin.Compare(r.Env.Tools, toolsWithDistro(res.Lock))
		for _, m := range ms {
			found := m.Found
			if found == "" {
				found = "not installed"
			}
			fmt.Fprintf(c.Stdout, "  tool %s: recipe pins %s, image has %s\n", m.Tool, m.Pinned, found)
		}
		if len(ms) > 0 {
			bad++
		} else if len(r.Env.Tools) > 0 {
			names := make([]string, 0, len(r.Env.Tools))
			for k := range r.Env.Tools {
				names = append(names, k)
			}
			sort.Strings(names)
			fmt.Fprintf(c.Stdout, "  tools match the recipe: %s\n", strings.Join(names, ", "))
		}
	}
	if bad > 0 {
		return &pinFailed{n: bad}
	}
	if len(failedEnvs) > 0 {
		return withHint(fmt.Errorf("pin: %d environment(s) could not be pinned: %s", len(failedEnvs), strings.Join(failedEnvs, ", ")),
			"pin one environment with --env NAME")
	}
	return nil
}

// envLabel names a recipe file and, for [[envs]], the environment.
func envLabel(p string, r *recipe.Recipe) string {
	if !r.Named() {
		return p
	}
	return p + " (environment " + r.EnvName() + ")"
}

func toolsWithDistro(l *envpin.Lock) map[string]string {
	m := map[string]string{}
	for k, v := range l.Tools {
		m[k] = v
	}
	if l.Environment.Distro != "" {
		m["distro"] = l.Environment.Distro
	}
	return m
}

// copyBuiltin copies the built-in recipe r and its key file into
// dir/NAME/VERSION.toml (and dir/keys/...), refusing to overwrite a
// different file, and returns the copy's path.
func copyBuiltin(st *recipe.Store, r *recipe.Recipe, dir string) (string, error) {
	files := []string{path.Join(r.Name, r.Version+".toml")}
	if r.Signature != nil {
		files = append(files, r.Signature.Key)
	}
	for _, rel := range files {
		data, err := st.ReadFile(rel)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if old, err := os.ReadFile(dst); err == nil {
			if !bytes.Equal(old, data) {
				return "", withHint(fmt.Errorf("%s exists and differs from the built-in recipe's %s", dst, rel),
					fmt.Sprintf("pin your copy with 'verify-release pin %s'", filepath.Join(dir, r.Name, r.Version+".toml")))
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := atomicfile.Write(dst, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, r.Name, r.Version+".toml"), nil
}

// lockTarget is the recipe path whose lock pin writes: a built-in recipe's
// copy under ./recipes.
func lockTarget(p string, r *recipe.Recipe) string {
	if strings.HasPrefix(p, "builtin:") {
		return filepath.Join("recipes", r.Name, r.Version+".toml")
	}
	return p
}

// pinLocal pins an image only the local engine has (no registry).
func pinLocal(ctx context.Context, c *cli, d *engine.Docker, r *recipe.Recipe, save string) (*envpin.PinResult, error) {
	ref := r.Env.Image
	fmt.Fprintf(c.Stderr, "verify-release: pin: pinning %s from the local Docker Engine\n", ref)
	dest := save
	if dest == "" {
		f, err := os.CreateTemp("", "verify-release-pin-*.tar")
		if err != nil {
			return nil, err
		}
		f.Close()
		dest = f.Name()
		defer os.Remove(dest)
	}
	img, err := envpin.PinLocal(ctx, d, ref, dest)
	if err != nil {
		return nil, err
	}
	probeImg := img.ConfigDigest
	res := &envpin.PinResult{Ensured: envpin.Ensured{Ref: ref, Digest: img.Digest, ImageID: img.ConfigDigest, Source: envpin.SourceEngine}}
	if len(r.Env.Setup) > 0 || len(r.Env.Packages) > 0 {
		id, _, err := envpin.SetupImage(ctx, d, img.ConfigDigest, r.Env.Setup, r.Env.Packages)
		if err != nil {
			return nil, err
		}
		res.SetupImage, probeImg = id, id
	}
	env, err := envpin.ProbeImage(ctx, d, probeImg)
	if err != nil {
		return nil, err
	}
	res.Lock = envpin.NewLock(img, env)
	return res, nil
}

// pinArchive resolves and builds an archive environment and probes it.
func pinArchive(ctx context.Context, c *cli, d *engine.Docker, r *recipe.Recipe, cacheDir, mirror, keyring string) (*envpin.PinResult, error) {
	if cacheDir == "" {
		var err error
		if cacheDir, err = cache.Dir(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(c.Stderr, "verify-release: pin: resolving %s %s for %s\n", r.Env.Distro, r.Env.Suite, r.ID())
	lock, ens, err := envpin.PinArchive(ctx, d, r.Env, envpin.ArchiveOptions{
		Mirror:   mirror,
		Keyring:  keyring,
		CacheDir: cacheDir,
		Progress: func(step, msg string) { fmt.Fprintf(c.Stderr, "verify-release: pin: %s\n", msg) },
	})
	if err != nil {
		return nil, err
	}
	env, err := envpin.ProbeImage(ctx, d, ens.ImageID)
	if err != nil {
		return nil, err
	}
	lock.Tools = env.Tools
	lock.Environment = envpin.LockedEnvironment{Distro: env.Distro, Packages: env.Packages}
	return &envpin.PinResult{Lock: lock, Ensured: ens}, nil
}
