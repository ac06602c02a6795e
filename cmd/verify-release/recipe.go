package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/recipes"
)

func init() {
	register(command{name: "recipe", summary: "check or show recipes", run: runRecipe})
	register(command{name: "list", summary: "list the known recipes", run: runList})
}

const recipeUsage = `Usage:
  verify-release recipe check PATH...            validate recipe files (or directories of them)
  verify-release recipe show NAME VERSION|PATH   print the resolved recipe (defaults filled in)
  verify-release recipe new --git URL --tag TAG DIST   draft a recipe from a tarball (see 'recipe new --help')

Recipes live at recipes/NAME/VERSION.toml; see docs/recipes.md for every key.
'check' prints one line per recipe and exits 1 if any is invalid, naming the
file, line and key of each problem.

Examples:
  verify-release recipe check recipes/
  verify-release recipe check recipes/libntlm/1.8.toml
  verify-release recipe show libntlm 1.8
  verify-release recipe show --json libntlm 1.8
`

// recipeStore picks where recipes come from: --recipes DIR, then
// $VERIFY_RELEASE_RECIPES, then ./recipes when it exists, then the recipes
// built into the binary.
func recipeStore(c *cli, dir string) *recipe.Store {
	if dir == "" {
		dir = c.Getenv("VERIFY_RELEASE_RECIPES")
	}
	if dir == "" {
		if st, err := os.Stat("recipes"); err == nil && st.IsDir() {
			dir = "recipes"
		}
	}
	if dir == "" {
		return &recipe.Store{FS: recipes.FS}
	}
	return recipe.DirStore(dir)
}

// isRecipePath reports whether a command-line argument names a recipe
// file (ends in .toml or has a directory part) rather than a NAME.
func isRecipePath(arg string) bool {
	return strings.HasSuffix(arg, ".toml") || strings.ContainsRune(arg, os.PathSeparator)
}

// loadRecipe resolves either a recipe path (one argument ending in .toml
// or naming a file) or NAME VERSION in the store, with the same rules
// either way, and returns the recipe and the store holding its key files
// and lock.
func loadRecipe(c *cli, store *recipe.Store, cmd string, args []string, opts ...recipe.ParseOption) (*recipe.Recipe, *recipe.Store, error) {
	switch {
	case len(args) == 1 && isRecipePath(args[0]):
		return recipe.LoadPath(args[0], opts...)
	case len(args) == 2 && !isRecipePath(args[0]):
		r, err := store.Find(args[0], args[1], opts...)
		if errors.Is(err, recipe.ErrNotFound) {
			return nil, nil, withHint(err, "run 'verify-release list' to see the known recipes, or pass --recipes DIR")
		}
		return r, store, err
	default:
		return nil, nil, usagef(cmd, "want NAME VERSION or a recipe PATH (NAME/VERSION.toml), got %d argument(s)", len(args))
	}
}

// pinCommand is the pin command line for r, as 'pin' accepts it.
func pinCommand(r *recipe.Recipe) string { return "verify-release pin " + r.PinTarget() }

func runRecipe(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && args[0] == "new" {
		return runRecipeNew(ctx, c, args[1:])
	}
	fs := newFlagSet(c, "recipe", recipeUsage)
	dir := fs.String("recipes", "", "recipes `DIR` (default $VERIFY_RELEASE_RECIPES, ./recipes, or the built-in ones)")
	asJSON := fs.Bool("json", false, "show: print JSON instead of TOML")
	localGit := fs.Bool("allow-local-git", false, "accept recipes whose git URL is a local path")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("recipe", "missing subcommand: check or show")
	}
	switch pos[0] {
	case "check":
		if len(pos) < 2 {
			return usagef("recipe", "check needs at least one PATH")
		}
		return recipeCheck(c, pos[1:], localGitOption(*localGit))
	case "show":
		r, _, err := loadRecipe(c, recipeStore(c, *dir), "recipe", pos[1:], localGitOption(*localGit)...)
		if err != nil {
			return err
		}
		if *asJSON {
			return printRecipeJSON(c.Stdout, r)
		}
		fmt.Fprintf(c.Stdout, "# %s (sha256 %s)\n", r.Path, r.SHA256)
		enc := toml.NewEncoder(c.Stdout)
		enc.Indent = ""
		return enc.Encode(r.AsWritten())
	default:
		return usagef("recipe", "unknown subcommand %q: want check or show", pos[0])
	}
}

// recipeFailed reports that some recipes are invalid (exit 1).
type recipeFailed struct{ n int }

func (e *recipeFailed) Error() string            { return fmt.Sprintf("%d recipe(s) invalid", e.n) }
func (e *recipeFailed) VerificationFailed() bool { return true }

// localGitOption turns --allow-local-git into recipe parse options.
func localGitOption(on bool) []recipe.ParseOption {
	if on {
		return []recipe.ParseOption{recipe.WithLocalGit()}
	}
	return nil
}

func recipeCheck(c *cli, paths []string, opts []recipe.ParseOption) error {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("recipe check: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".toml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("recipe check: %w", err)
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("recipe check: no .toml files in %s", strings.Join(paths, " "))
	}
	sort.Strings(files)
	bad := 0
	for _, f := range files {
		r, _, err := recipe.LoadPath(f, opts...)
		if err != nil {
			bad++
			fmt.Fprintf(c.Stdout, "FAIL %s\n", f)
			fmt.Fprintf(c.Stderr, "%s\n", userMessage(err.Error()))
			continue
		}
		note := ""
		switch {
		case r.Named():
			note = " (" + envsNote(f, r) + ")"
		case r.FromArchive():
			if _, err := os.Stat(envpin.LockPath(f)); err != nil {
				note = fmt.Sprintf(" (environment from the %s %s archive, not locked yet: run '%s')", r.Env.Distro, r.Env.Suite, pinCommand(r))
			} else {
				note = fmt.Sprintf(" (environment from the %s %s archive, locked in %s)", r.Env.Distro, r.Env.Suite, envpin.LockPath(f))
			}
		case r.Env.Image != "" && !r.ImagePinned():
			note = fmt.Sprintf(" (image digest unresolved: run '%s')", pinCommand(r))
		}
		fmt.Fprintf(c.Stdout, "ok   %s %s%s\n", f, r.ID(), note)
	}
	if bad > 0 {
		return &recipeFailed{n: bad}
	}
	return nil
}

const listUsage = `Usage:
  verify-release list [--recipes DIR] [--json]

Lists the known recipes, sorted by name and version.

Examples:
  verify-release list
  verify-release list --recipes ./my-recipes --json
`

func runList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "list", listUsage)
	dir := fs.String("recipes", "", "recipes `DIR` (default $VERIFY_RELEASE_RECIPES, ./recipes, or the built-in ones)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("list", "unexpected argument %q", pos[0])
	}
	entries, err := recipeStore(c, *dir).List()
	if err != nil {
		return err
	}
	if *asJSON {
		if entries == nil {
			entries = []recipe.Entry{}
		}
		return printJSON(c.Stdout, "recipes", struct {
			Recipes []recipe.Entry `json:"recipes"`
		}{entries})
	}
	for _, e := range entries {
		fmt.Fprintf(c.Stdout, "%-20s %-10s %s\n", e.Name, e.Version, e.Path)
	}
	return nil
}

// envsNote says, per environment of a recipe with [[envs]], where its
// image comes from and whether it is pinned.
func envsNote(f string, r *recipe.Recipe) string {
	var parts []string
	for _, n := range r.EnvNames() {
		e, err := r.ForEnv(n)
		if err != nil {
			continue
		}
		lp := envpin.EnvLockPath(f, e)
		_, lerr := os.Stat(lp)
		switch {
		case e.FromArchive() && lerr != nil:
			parts = append(parts, fmt.Sprintf("%s: %s %s archive, not locked yet: run '%s --env %s'", n, e.Env.Distro, e.Env.Suite, pinCommand(r), n))
		case e.FromArchive():
			parts = append(parts, fmt.Sprintf("%s: %s %s archive, locked in %s", n, e.Env.Distro, e.Env.Suite, lp))
		case !e.ImagePinned() && lerr != nil:
			parts = append(parts, fmt.Sprintf("%s: image digest unresolved: run '%s --env %s'", n, pinCommand(r), n))
		default:
			parts = append(parts, n+": image pinned")
		}
	}
	return "environments " + strings.Join(parts, "; ")
}

// printRecipeJSON prints the resolved recipe as JSON with the keys of its
// TOML file (snake_case), plus its path and sha256: the TOML encoding is
// decoded into a map so that JSON and TOML name every key alike.
func printRecipeJSON(w io.Writer, r *recipe.Recipe) error {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(r.AsWritten()); err != nil {
		return err
	}
	doc := map[string]any{}
	if _, err := toml.NewDecoder(&buf).Decode(&doc); err != nil {
		return err
	}
	doc["path"], doc["sha256"] = r.Path, r.SHA256
	return printJSON(w, "recipe", doc)
}
