package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/cache"
	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/fingerprint"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const recipeNewUsage = `Usage:
  verify-release recipe new [flags] --git URL --tag TAG DIST

Draft a recipe from a release's make-dist tarball DIST (and optionally its
git-archive -src tarball) using the evidence 'verify-release fingerprint'
reads: the best environment's image and exact packages, the tool versions
to probe, the archive's mtimes, the compressor. Every sha256 is computed
from the files given. Anything that cannot be established is written as a
comment starting with "NOT ESTABLISHED", never as an invented value; a
required value nothing established is "unresolved" (source.commit without
--repo, env.digest of an image the tarball does not pin). The recipe is
checked with the same rules as 'recipe check' before it is written.

With --repo (a clone of --git), the tag's commit is resolved there, its time
compared with the tarball's mtimes, and the -src tarball's prefix and
compressor identified by re-creating it. With --debian PKG, the published
copy is Debian's orig tarball of source package PKG, found in the suites'
Sources indexes (signed chain) with the same sha256.

Without --repo, the dist artifact is re-created from the published dist
tarball itself (from = "dist": ./configure and make dist on its unpacked
tree), so the recipe needs no git history.

Examples:
  verify-release recipe new --git https://github.com/curl/curl.git --tag curl-8_14_1 \
      --debian curl -o recipes/curl/8.14.1.toml curl-8.14.1.tar.gz
  verify-release recipe new --git https://gitlab.com/gsasl/libntlm.git --tag v1.8 \
      --repo ~/src/libntlm --src libntlm-1.8-src.tar.gz libntlm-1.8.tar.gz
`

// recipeNewOptions are the flags of 'verify-release recipe new'.
type recipeNewOptions struct {
	Out, Name, Version, Git, Tag, Repo, Src, URL, SrcURL, Debian string
	Offline                                                      bool
	Suites, Mirror                                               string
	Force                                                        bool
}

func runRecipeNew(ctx context.Context, c *cli, args []string) error {
	var o recipeNewOptions
	fs := newFlagSet(c, "recipe new", recipeNewUsage)
	fs.StringVar(&o.Out, "o", "", "write the recipe to `FILE` (default: stdout)")
	fs.StringVar(&o.Name, "name", "", "project `NAME` (default: from the tarball's top directory)")
	fs.StringVar(&o.Version, "version", "", "release `VERSION` (default: from the tarball's top directory)")
	fs.StringVar(&o.Git, "git", "", "upstream clone `URL` (required)")
	fs.StringVar(&o.Tag, "tag", "", "release `TAG` (required)")
	fs.StringVar(&o.Repo, "repo", "", "local clone `DIR` of --git: resolve the commit, identify the -src tarball")
	fs.StringVar(&o.Src, "src", "", "the git-archive -src tarball `FILE`")
	fs.StringVar(&o.URL, "url", "", "the `URL` the published DIST can be fetched from")
	fs.StringVar(&o.SrcURL, "src-url", "", "the `URL` the published -src tarball can be fetched from")
	fs.StringVar(&o.Debian, "debian", "", "Debian source package `PKG` whose orig tarball is DIST (checked against the pool)")
	fs.BoolVar(&o.Offline, "offline", false, "rank environments against the shipped table only")
	fs.StringVar(&o.Suites, "suites", strings.Join(fingerprint.DebianSuites, ","), "the Debian `SUITES` to read from the mirror, comma-separated")
	fs.StringVar(&o.Mirror, "mirror", "", "Debian mirror `URL`")
	fs.BoolVar(&o.Force, "force", false, "overwrite an existing -o FILE")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("recipe new", "want one DIST tarball, got %d argument(s)", len(pos))
	}
	if o.Git == "" || o.Tag == "" {
		return usagef("recipe new", "--git URL and --tag TAG are required: a tarball does not record where it came from")
	}
	if o.Out != "" && !o.Force {
		if _, err := os.Stat(o.Out); err == nil {
			return withHint(fmt.Errorf("%s exists", o.Out), "--force overwrites it")
		}
	}
	rep, err := fingerprintReport(ctx, pos[0], fingerprintOptions{Offline: o.Offline, Suites: o.Suites, Mirror: o.Mirror, MaxSize: tarball.DefaultMaxSize})
	if err != nil {
		return err
	}
	do := fingerprint.DraftOptions{Name: o.Name, Version: o.Version, Git: o.Git, Tag: o.Tag, Repo: o.Repo,
		DistURL: o.URL, SrcURL: o.SrcURL, SrcPath: o.Src}
	if o.Src != "" {
		do.Src, err = fingerprint.Scan(ctx, o.Src, fingerprint.WithCompressorIdentification())
		if err != nil {
			return err
		}
	}
	if o.Debian != "" {
		var suites []string
		for _, x := range strings.Split(o.Suites, ",") {
			if x = strings.TrimSpace(x); x != "" {
				suites = append(suites, x)
			}
		}
		do.Debian, do.DebianURL, err = debianOrig(ctx, o.Debian, o.Mirror, suites, rep.Fingerprint)
		if err != nil {
			return err
		}
	}
	d, err := fingerprint.NewDraft(ctx, rep, do)
	if err != nil {
		return err
	}
	name := o.Out
	if name == "" {
		name = d.Name + "/" + d.Version + ".toml"
	} else if want := filepath.Join(d.Name, d.Version+".toml"); !strings.HasSuffix(filepath.Clean(o.Out), string(filepath.Separator)+want) && filepath.Clean(o.Out) != want {
		return withHint(fmt.Errorf("-o %s: a recipe of %s %s lives at .../%s (recipe check refuses it elsewhere)", o.Out, d.Name, d.Version, want),
			"write it to -o recipes/"+want)
	}
	if _, err := recipe.Parse(name, d.TOML); err != nil {
		return fmt.Errorf("the drafted recipe does not pass its own check (a bug in recipe new): %w", err)
	}
	write := func(w io.Writer) error { _, err := w.Write(d.TOML); return err }
	if o.Out == "" {
		if err := write(c.Stdout); err != nil {
			return err
		}
	} else {
		// recipes/NAME/ may not exist yet for a new project.
		if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(o.Out, write); err != nil {
			return err
		}
	}
	if len(d.Missing) > 0 {
		fmt.Fprintf(c.Stderr, "verify-release: recipe %s/%s drafted; not established:\n", d.Name, d.Version)
		for _, m := range d.Missing {
			fmt.Fprintf(c.Stderr, "  - %s\n", m)
		}
	}
	return nil
}

// debianOrig finds, in the Sources indexes of suites (read through the
// signed InRelease), source package pkg whose orig tarball is the dist
// fingerprinted in fp (same size and sha256). It returns the package and
// the file's pool URL.
func debianOrig(ctx context.Context, pkg, mirror string, suites []string, fp *fingerprint.Fingerprint) (*recipe.DebianOrig, string, error) {
	cdir, err := cache.Dir()
	if err != nil {
		return nil, "", err
	}
	cl := debian.NewClient(debian.Debian, debian.WithMirror(mirror), debian.WithCacheDir(filepath.Join(cdir, "debian")))
	var seen []string
	for _, suite := range suites {
		rel, err := cl.Release(ctx, suite)
		if err != nil {
			return nil, "", fmt.Errorf("--debian %s: %w", pkg, err)
		}
		srcs, err := cl.Sources(ctx, rel, "main")
		if err != nil {
			return nil, "", fmt.Errorf("--debian %s: %w", pkg, err)
		}
		for _, src := range srcs {
			if src.Name != pkg {
				continue
			}
			f, ok := src.OrigTarball()
			if !ok {
				continue
			}
			if f.SHA256 == fp.File.SHA256 && f.Size == fp.File.Size {
				return &recipe.DebianOrig{Suite: suite, Source: pkg, Version: src.Version}, cl.URL(f.Path(src)), nil
			}
			seen = append(seen, suite+" "+src.Version+" ("+f.Name+")")
		}
	}
	if len(seen) == 0 {
		return nil, "", fmt.Errorf("--debian %s: no source package %s in %s", pkg, pkg, strings.Join(suites, ", "))
	}
	return nil, "", fmt.Errorf("--debian %s: no orig tarball of %s is %s (sha256 %s); the archive has %s", pkg, pkg, filepath.Base(fp.File.Name), fp.File.SHA256, strings.Join(seen, ", "))
}
