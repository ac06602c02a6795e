package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/ci"
)

func init() {
	register(command{name: "ci", summary: "generate the GitLab verification pipeline, or its results page", run: runCI})
}

const ciUsage = `Usage:
  verify-release ci gitlab [DIR] [--recipes DIR] [--only NAME/VERSION]... [--binary PATH] [--pages] [-o FILE]
  verify-release ci results DIR -o OUTDIR [--expect NAME/VERSION]... [--sign-key FILE]

'ci gitlab' writes a GitLab CI child pipeline with one job per recipe,
named verify:NAME:VERSION. Each job runs in the recipe's pinned image (the
digest from the recipe, else from NAME/VERSION.lock beside it), runs the
recipe's env.setup commands, then the static verify-release binary built
by the parent pipeline's 'build' job with --backend host, and keeps
results/ (report.json, logs, diffs, attestations) and a JUnit report as
artifacts. A final 'results' job collects every report into public/. A
recipe whose image has no digest anywhere gets a job that fails at once,
unless --allow-unpinned (default: $VERIFY_RELEASE_ALLOW_UNPINNED = true)
lets it pull the image by tag. The output is sorted and depends only on
the recipes. See docs/ci.md.

'ci results' reads every report.json under DIR and writes OUTDIR/index.html,
OUTDIR/index.md (table: project, version, artifact, result, diff link),
OUTDIR/junit.xml, and OUTDIR/NAME/VERSION/ with each report's diffs, log
and attestations. With --sign-key (default $VERIFY_RELEASE_SIGN_KEY, a
CI/CD file variable) every attestation and SHA256SUMS gets an armored
detached signature FILE.asc; the passphrase comes from
$VERIFY_RELEASE_KEY_PASSPHRASE or --passphrase-file. It exits 0 when the
page is written, whatever the results; the verify jobs carry the failures.

Examples:
  verify-release ci gitlab recipes/ -o child.yml
  verify-release ci gitlab --recipes recipes --only libntlm/1.8 -o child.yml
  verify-release ci results results/ -o public/ --expect libntlm/1.8
`

type ciOptions struct {
	recipes       string
	only          multiFlag
	binary        string
	buildJob      string
	resultsImage  string
	pages         bool
	allowUnpinned bool
	maxNeeds      int
	out           string
	expect        multiFlag
	signKey       string
	pass          passphraseFlags
}

func runCI(ctx context.Context, c *cli, args []string) error {
	var o ciOptions
	fs := newFlagSet(c, "ci", ciUsage)
	fs.StringVar(&o.recipes, "recipes", "", "gitlab: recipes `DIR` (default $VERIFY_RELEASE_RECIPES, ./recipes, or the built-in ones)")
	fs.Var(&o.only, "only", "gitlab: only the recipe `NAME/VERSION` (or every version of NAME; repeatable, comma-separated; default $VERIFY_RELEASE_ONLY)")
	fs.StringVar(&o.binary, "binary", ci.DefaultBinary, "gitlab: path of the verify-release binary inside the jobs")
	fs.StringVar(&o.buildJob, "build-job", ci.DefaultBuildJob, "gitlab: the parent pipeline's job whose artifact is the binary")
	fs.StringVar(&o.resultsImage, "results-image", ci.DefaultResultsImage, "gitlab: image of the results and pages jobs")
	fs.BoolVar(&o.pages, "pages", false, "gitlab: add a 'pages' job publishing the results page from the default branch")
	fs.BoolVar(&o.allowUnpinned, "allow-unpinned", c.Getenv("VERIFY_RELEASE_ALLOW_UNPINNED") == "true", "gitlab: let recipes without any image digest run, pulled by tag")
	fs.IntVar(&o.maxNeeds, "max-needs", ci.DefaultMaxNeeds, "gitlab: GitLab's limit of jobs in one needs: list")
	fs.StringVar(&o.out, "o", "", "gitlab: write the pipeline to `FILE` (default stdout); results: the output `DIR`")
	fs.Var(&o.expect, "expect", "results: a recipe `NAME/VERSION` that must have a report (repeatable)")
	fs.StringVar(&o.signKey, "sign-key", c.Getenv("VERIFY_RELEASE_SIGN_KEY"), "results: sign attestations with the secret key `FILE`")
	o.pass.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("ci", "want 'ci gitlab' or 'ci results'")
	}
	switch pos[0] {
	case "gitlab":
		return ciGitLab(c, &o, pos[1:])
	case "results":
		return ciResults(ctx, c, &o, pos[1:])
	default:
		return usagef("ci", "unknown subcommand %q: want gitlab or results", pos[0])
	}
}

func ciGitLab(c *cli, o *ciOptions, pos []string) error {
	switch {
	case len(pos) > 1:
		return usagef("ci", "ci gitlab takes at most one recipes DIR, got %d arguments", len(pos))
	case len(pos) == 1 && o.recipes != "" && pos[0] != o.recipes:
		return usagef("ci", "give the recipes directory once: DIR or --recipes DIR")
	case len(pos) == 1:
		o.recipes = pos[0]
	}
	only := []string(o.only)
	if len(only) == 0 {
		if v := c.Getenv("VERIFY_RELEASE_ONLY"); v != "" {
			only = []string{v}
		}
	}
	store := recipeStore(c, o.recipes)
	p, err := ci.GitLab(store,
		ci.WithOnly(only...),
		ci.WithBinary(o.binary),
		ci.WithBuildJob(o.buildJob),
		ci.WithResultsImage(o.resultsImage),
		ci.WithPages(o.pages),
		ci.WithAllowUnpinned(o.allowUnpinned),
		ci.WithMaxNeeds(o.maxNeeds),
	)
	if err != nil {
		return withHint(err, "run 'verify-release list --recipes DIR' to see the recipes")
	}
	var buf bytes.Buffer
	if err := p.WriteYAML(&buf); err != nil {
		return err
	}
	if o.out == "" || o.out == "-" {
		_, err = c.Stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.Write(o.out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return err
	}
	refused := 0
	for _, j := range p.Jobs {
		if j.Refused != "" {
			refused++
			fmt.Fprintf(c.Stderr, "verify-release: WARNING: %s will fail: %s\n", j.Name, j.Refused)
		}
	}
	fmt.Fprintf(c.Stdout, "wrote %s: %d verify job(s)", o.out, len(p.Jobs))
	if refused > 0 {
		fmt.Fprintf(c.Stdout, ", %d refusing an unpinned image", refused)
	}
	fmt.Fprintln(c.Stdout)
	return nil
}

func ciResults(ctx context.Context, c *cli, o *ciOptions, pos []string) error {
	if len(pos) != 1 {
		return usagef("ci", "ci results takes one results DIR, got %d arguments", len(pos))
	}
	if o.out == "" {
		return usagef("ci", "ci results needs -o OUTDIR")
	}
	res, err := ci.Collect(ctx, pos[0], o.expect...)
	if err != nil {
		return err
	}
	var opts []ci.PublishOption
	if o.signKey != "" {
		s, err := loadSigner(c, o.signKey, &o.pass, time.Time{})
		if err != nil {
			return err
		}
		opts = append(opts, ci.WithSigner(s))
		fmt.Fprintf(c.Stderr, "verify-release: signing attestations with key %s\n", s.Fingerprint())
	}
	pub, err := ci.Publish(ctx, res, o.out, opts...)
	if err != nil {
		return err
	}
	for _, m := range res.Missing {
		fmt.Fprintf(c.Stderr, "verify-release: WARNING: no report for %s: its job failed before writing one\n", m)
	}
	fmt.Fprintf(c.Stdout, "wrote %s: %d report(s), %d missing, %d file(s), %d signed\n",
		o.out, len(res.Entries), len(res.Missing), len(pub.Files), len(pub.Signed))
	for _, row := range res.Rows() {
		fmt.Fprintf(c.Stdout, "  %-12s %-10s %-36s %s\n", row.Project, row.Version, row.Artifact, row.Result)
	}
	return nil
}
