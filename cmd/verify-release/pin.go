package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func init() {
	register(command{name: "pin", summary: "resolve a recipe's image digest and tool versions into its lock file", run: runPin})
}

const pinUsage = `Usage:
  verify-release pin RECIPE.toml... [flags]

Resolves each recipe's image reference to a digest in its registry, makes
the image available to the Docker Engine, runs the recipe's setup steps
(cached), probes the tool versions of the resulting environment, and writes
everything to the lock file beside the recipe (NAME/VERSION.lock). Runs read
the lock when the recipe's image says digest = "unresolved"; they never
change it. The recipe itself is left untouched. See docs/pinning.md.

Tools whose probed version differs from the recipe's [env.tools] pins are
listed; the exit code is then 1.

Examples:
  verify-release pin recipes/libntlm/1.8.toml
  verify-release pin recipes/*/*.toml
  verify-release pin --dry-run recipes/libntlm/1.8.toml
`

type pinFailed struct{ n int }

func (e *pinFailed) Error() string {
	return fmt.Sprintf("%d recipe(s) have tool pins that differ from their image", e.n)
}
func (e *pinFailed) VerificationFailed() bool { return true }

func runPin(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "pin", pinUsage)
	dry := fs.Bool("dry-run", false, "print the lock instead of writing it")
	cacheDir := fs.String("cache-dir", "", "image cache directory (default $XDG_CACHE_HOME/verify-release/images)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("pin", "give at least one RECIPE.toml")
	}
	d, err := newDocker(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	var opts []envpin.Option
	if *cacheDir != "" {
		opts = append(opts, envpin.WithCacheDir(*cacheDir))
	}
	bad := 0
	for _, p := range pos {
		r, err := recipe.Load(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stderr, "verify-release: pin: resolving %s for %s\n", r.Env.Image, r.ID())
		res, err := envpin.Pin(ctx, d, r.Env.Image, r.Env.Setup, r.Env.Packages, opts...)
		if err != nil {
			return fmt.Errorf("pinning %s: %w", p, err)
		}
		lp := envpin.LockPath(p)
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
	return nil
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
