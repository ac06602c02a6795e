package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
	"gitlab.com/verify-release/verify-release/pkg/sign"
	"gitlab.com/verify-release/verify-release/pkg/source"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

func init() {
	register(command{name: "run", summary: "re-create and verify a release (default command)", run: runRun})
	register(command{name: "src", summary: "re-create a recipe's git-archive tarballs on this machine (no container)", run: runSrc})
}

const runUsage = `Usage:
  verify-release [run] NAME VERSION [flags]
  verify-release run RECIPE.toml [flags]

Re-creates every artifact of a recipe in its pinned environment: the
git-archive tarball on this machine with verify-release's own byte-exact
git archive, and 'make dist'-style artifacts in a container of the pinned
image (or, with --backend host, in a temporary directory here, for CI jobs
already running inside the pinned image). Each result is compared with the
recipe's sha256; on a mismatch the per-member diff against the published
copy is printed.

Progress and build logs go to stderr; the summary (and any diff) to stdout.

Examples:
  verify-release libntlm 1.8
  verify-release run recipes/libntlm/1.8.toml --repo ~/src/libntlm --out results/
  verify-release libntlm 1.8 --artifact src
  verify-release libntlm 1.8 --backend host --published /srv/mirror/libntlm --json
  verify-release libntlm 1.8 --out results/ --junit results/junit.xml --sign-key ci.key
  verify-release libntlm 1.8 --input gnulib=~/src/gnulib
  verify-release run recipes/demo/1.0.toml --input data=~/Downloads/data-1.2.tar.gz

Offline inputs: --input NAME=DIR gives a git [[inputs]] entry as a local
clone or mirror, which must hold the pinned commit; --input NAME=FILE gives
a url [[inputs]] entry as a copy of its file, which must have the pinned
sha256 and is then used exactly as the fetched file would be. Neither is
changed.

Verdicts: REPRODUCED (same bytes), EQUIVALENT (every difference accepted:
archive metadata and compression by policy, anything else by a recipe
[[accept]] entry with its reason; see docs/recipes.md), MISMATCH (the
verdict DIFFERENT). An [[accept]] entry that accepts nothing is an error.

Exit codes: 0 every artifact reproduced or equivalent, 1 a mismatch (or a
rejected upstream signature, or a moved tag; with --strict also an
equivalent artifact), 2 error (also a stale [[accept]] entry), 130 interrupted.
`

type runOptions struct {
	recipes       string
	repo          string
	backend       string
	out           string
	published     string
	cacheDir      string
	mirror        string
	keep          bool
	requirePinned bool
	allowUnpinned bool
	imageArchive  string
	artifacts     stringList
	inputs        stringList
	asJSON        bool
	quiet         bool
	maxDiffLines  int
	strict        bool
	allowExpired  bool
	localGit      bool
	reportFile    string
	junit         string
	signKey       string
	env           string
	pass          passphraseFlags
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (o *runOptions) register(c *cli, fs *flag.FlagSet) {
	fs.StringVar(&o.recipes, "recipes", "", "recipes `DIR` (default $VERIFY_RELEASE_RECIPES, ./recipes, or the built-in ones)")
	fs.StringVar(&o.repo, "repo", "", "use the local clone or mirror `DIR` instead of fetching the recipe's git URL")
	fs.StringVar(&o.out, "out", "", "keep artifacts, report.json, diffs and logs under `DIR`/NAME/VERSION/")
	fs.StringVar(&o.published, "published", "", "look for published copies and signatures in `DIR` before fetching them")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "cache `DIR` (default $XDG_CACHE_HOME/verify-release)")
	fs.StringVar(&o.mirror, "mirror", "", "distribution mirror `URL` for archive environments (default: the distribution's, or $VERIFY_RELEASE_DEBIAN_MIRROR)")
	fs.BoolVar(&o.asJSON, "json", false, "print report.json to stdout instead of the text summary")
	fs.StringVar(&o.reportFile, "report", "", "also write report.json to `FILE`")
	fs.BoolVar(&o.quiet, "quiet", false, "do not stream build logs and progress to stderr")
	fs.IntVar(&o.maxDiffLines, "max-diff-lines", 0, "cap unified diffs of text members at `N` lines (default 200)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 for an EQUIVALENT result too (differences accepted by the recipe or by the metadata policy)")
	fs.BoolVar(&o.allowExpired, "allow-expired-key", false, "accept a good upstream signature from a key that had expired when it signed")
	fs.BoolVar(&o.localGit, "allow-local-git", false, "accept a recipe whose git URL is a local path")
	fs.Var(&o.artifacts, "artifact", "only re-create the artifact `NAME` (repeatable), e.g. src or dist")
	fs.Var(&o.inputs, "input", "give the [[inputs]] entry NAME as `NAME=PATH` on this machine instead of fetching it: a git input's local clone or mirror (holding the pinned commit), a url input's file (with the pinned sha256); repeatable")
	fs.StringVar(&o.junit, "junit", "", "also write a JUnit XML report (one test case per artifact) to `FILE`")
	fs.StringVar(&o.env, "env", "", "re-create in the recipe environment `NAME` ([[envs]]), or in every one of them with \"all\" (default: the first that can be built on this machine)")
	fs.StringVar(&o.signKey, "sign-key", "", "sign the attestations in --out with this armored OpenPGP secret key `FILE`")
	o.pass.register(fs)
}

func runRun(ctx context.Context, c *cli, args []string) error {
	var o runOptions
	fs := newFlagSet(c, "run", runUsage)
	o.register(c, fs)
	fs.StringVar(&o.backend, "backend", "docker", "run build steps on `BACKEND`: docker or host")
	fs.BoolVar(&o.keep, "keep", false, "keep containers and work directories for debugging")
	fs.BoolVar(&o.requirePinned, "require-pinned", c.Getenv("CI") == "true", "refuse an image without a digest (default true when CI=true)")
	fs.BoolVar(&o.allowUnpinned, "allow-unpinned", false, "resolve an unresolved image digest at run time (recorded in the report, with a warning)")
	fs.StringVar(&o.imageArchive, "image-archive", "", "load the image from a docker-archive or OCI layout `FILE`, checked against the pinned digest")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	return execRun(ctx, c, "run", &o, pos, nil)
}

const srcUsage = `Usage:
  verify-release src NAME VERSION [flags]
  verify-release src RECIPE.toml [flags]

Re-creates the recipe's git-archive artifacts (e.g. NAME-VERSION-src.tar.gz)
on this machine, with no container: the tag must resolve to the pinned
commit, the tar stream is written by verify-release's own byte-exact
git archive and compressed as the recipe says, and the sha256 is compared.
On a mismatch the per-member diff against the published copy is printed.

Examples:
  verify-release src libntlm 1.8 --repo ~/src/libntlm
  verify-release src recipes/libntlm/1.8.toml --published ~/Downloads
`

func runSrc(ctx context.Context, c *cli, args []string) error {
	var o runOptions
	fs := newFlagSet(c, "src", srcUsage)
	o.register(c, fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	return execRun(ctx, c, "src", &o, pos, func(r *recipe.Recipe) []string {
		var names []string
		for _, n := range r.ArtifactNames() {
			if r.Artifacts[n].Method == recipe.MethodGitArchive {
				names = append(names, n)
			}
		}
		return names
	})
}

// runFailed maps a run that found a difference (MISMATCH, a rejected
// signature) to exit code 1 and a run that could not finish (ERROR: a
// failing build step, a timeout, a fetch failure) to exit code 2.
type runFailed struct{ rep *report.Report }

func (e *runFailed) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.rep.Recipe.Name, e.rep.Recipe.Version, e.rep.Result)
	var in []string
	for _, a := range e.rep.Artifacts {
		switch a.Status {
		case report.Reproduced, report.Equivalent, report.Skipped:
		case e.rep.Result:
			in = append(in, a.Name)
		default:
			in = append(in, a.Name+" "+string(a.Status))
		}
	}
	if len(in) > 0 {
		s += " in " + strings.Join(in, ", ")
	}
	return s
}
func (e *runFailed) VerificationFailed() bool { return e.rep.Result != report.Error }

func execRun(ctx context.Context, c *cli, cmd string, o *runOptions, pos []string, only func(*recipe.Recipe) []string) error {
	store := recipeStore(c, o.recipes)
	r, store, err := loadRecipe(c, store, cmd, pos, localGitOption(o.localGit)...)
	if err != nil {
		return err
	}
	if o.requirePinned && o.allowUnpinned {
		return usagef(cmd, "--require-pinned and --allow-unpinned contradict each other")
	}
	opts := []runner.Option{
		runner.WithStore(store),
		runner.WithToolVersion(version),
		runner.WithRequirePinned(o.requirePinned),
		runner.WithAllowUnpinned(o.allowUnpinned),
		runner.WithKeep(o.keep),
		runner.WithAllowExpiredKey(o.allowExpired),
	}
	if o.repo != "" {
		opts = append(opts, runner.WithRepo(o.repo))
	}
	for _, in := range o.inputs {
		name, dir, ok := strings.Cut(in, "=")
		if !ok || name == "" || dir == "" {
			return usagef(cmd, "--input %q: want NAME=DIR (a git input) or NAME=FILE (a url input)", in)
		}
		opts = append(opts, runner.WithInput(name, dir))
	}
	if o.out != "" {
		opts = append(opts, runner.WithOutDir(o.out))
	}
	if o.published != "" {
		opts = append(opts, runner.WithPublishedDir(o.published))
	}
	if o.mirror != "" {
		opts = append(opts, runner.WithMirror(o.mirror))
	}
	if o.cacheDir != "" {
		opts = append(opts, runner.WithCacheDir(o.cacheDir))
	}
	if o.imageArchive != "" {
		opts = append(opts, runner.WithImageArchive(o.imageArchive))
	}
	if o.maxDiffLines > 0 {
		opts = append(opts, runner.WithMaxDiffLines(o.maxDiffLines))
	}
	if o.signKey != "" {
		if o.out == "" {
			return usagef(cmd, "--sign-key signs the results in --out: give --out DIR too")
		}
		now := time.Now().UTC().Truncate(time.Second)
		signer, err := loadSigner(c, o.signKey, &o.pass, now)
		if err != nil {
			return err
		}
		opts = append(opts, runner.WithSignKey(signer), runner.WithClock(func() time.Time { return now }))
	}
	artifacts := []string(o.artifacts)
	if only != nil {
		sel := only(r)
		if len(sel) == 0 {
			return fmt.Errorf("recipe %s has no git-archive artifact", r.Path)
		}
		if len(artifacts) == 0 {
			artifacts = sel
		}
	}
	if len(artifacts) > 0 {
		opts = append(opts, runner.WithArtifacts(artifacts...))
	}
	if !o.quiet {
		opts = append(opts, runner.WithLog(c.Stderr), runner.WithProgress(func(e runner.Event) {
			msg := userMessage(e.Message)
			switch {
			case e.Warning:
				fmt.Fprintf(c.Stderr, "verify-release: warning: %s\n", msg)
			case e.Artifact != "":
				fmt.Fprintf(c.Stderr, "verify-release: [%s] %s: %s\n", e.Artifact, e.Step, msg)
			default:
				fmt.Fprintf(c.Stderr, "verify-release: %s: %s\n", e.Step, msg)
			}
		}))
	}
	if !o.asJSON {
		opts = append(opts, runner.WithDiffOutput(c.Stdout))
	}
	if cmd == "run" {
		eng, err := newEngine(ctx, o.backend)
		if err != nil {
			return err
		}
		opts = append(opts, runner.WithEngine(eng, runner.Backend(o.backend)))
	}
	if o.env == "all" {
		return runAllEnvs(ctx, c, o, r, opts)
	}
	switch {
	case o.env != "":
		if r, err = r.ForEnv(o.env); err != nil {
			return usagef(cmd, "--env: %v", err)
		}
	case r.Named() && cmd == "run":
		picked, skipped, err := runner.PickEnv(ctx, r, opts...)
		if err != nil {
			return withHint(err, "name one with --env NAME")
		}
		for _, s := range skipped {
			fmt.Fprintf(c.Stderr, "verify-release: warning: environment %s skipped: %s\n", s.Name, userMessage(s.Reason))
		}
		if !o.quiet {
			fmt.Fprintf(c.Stderr, "verify-release: env: using environment %s (of %s)\n", picked.EnvName(), strings.Join(r.EnvNames(), ", "))
		}
		r = picked
	default:
		if r, err = r.ForEnv(r.EnvNames()[0]); err != nil {
			return err
		}
	}
	_, err = finishRun(ctx, c, o, r, opts)
	return err
}

// finishRun runs r, writes the reports o asks for and prints the summary;
// its error maps the result to the exit code.
func finishRun(ctx context.Context, c *cli, o *runOptions, r *recipe.Recipe, opts []runner.Option) (*report.Report, error) {
	rep, runErr := runner.Run(ctx, r, opts...)
	if errors.Is(runErr, context.Canceled) {
		return rep, runErr
	}
	if o.reportFile != "" {
		if err := atomicfile.Write(o.reportFile, rep.Write); err != nil {
			return rep, err
		}
	}
	if o.junit != "" {
		if err := atomicfile.Write(o.junit, func(w io.Writer) error { return report.WriteJUnit(w, rep) }); err != nil {
			return rep, err
		}
	}
	if o.asJSON {
		if err := rep.Write(c.Stdout); err != nil {
			return rep, err
		}
	} else {
		printSummary(c.Stdout, rep)
	}
	if runErr != nil {
		return rep, runHint(r, o.repo, runErr)
	}
	hints := signatureHints(r, rep)
	if rep.Result != report.Reproduced && (rep.Result != report.Equivalent || o.strict) {
		return rep, withHint(&runFailed{rep: rep}, hints...)
	}
	for _, h := range hints {
		fmt.Fprintf(c.Stderr, "hint: %s\n", h)
	}
	return rep, nil
}

// signatureHints are the hints for signatures that were not checked or
// were rejected only because the key had expired.
func signatureHints(r *recipe.Recipe, rep *report.Report) []string {
	var hints []string
	for _, a := range rep.Artifacts {
		s := a.Signature
		switch {
		case s == nil:
		case s.Status == report.NotChecked:
			hints = append(hints, fmt.Sprintf("to check the signature of %s, pass --published DIR with %s and its signature", a.Name, a.File))
		case s.Status == string(sign.StatusGoodExpiredKey) && !s.AcceptedExpiredKey:
			key := "the recipe's key file"
			if r.Signature != nil {
				key = r.Signature.Key
			}
			hints = append(hints, fmt.Sprintf("the signature of %s is good but its key had expired: refresh %s, or pass --allow-expired-key to accept it", a.Name, key))
		}
	}
	return hints
}

// runHint attaches the hint that fixes this failure of a run: the flag
// for the input that could not be fetched, what --repo (repo, or "") must
// name, the pin command that accepts this recipe, ...
func runHint(r *recipe.Recipe, repo string, err error) error {
	var ie *runner.InputError
	if errors.As(err, &ie) {
		return withHint(err, inputHint(r, ie))
	}
	switch {
	case repo != "" && (errors.Is(err, source.ErrUnknownRef) || errors.Is(err, source.ErrNotRepository)):
		return withHint(err, fmt.Sprintf("--repo %s must name a clone or mirror of %s holding tag %s (commit %s)", repo, r.Source.Git, r.Source.Tag, r.Source.Commit))
	case errors.Is(err, source.ErrFetch):
		return withHint(err, "pass --repo DIR with a local clone or mirror of "+r.Source.Git)
	case errors.Is(err, envpin.ErrImageUnavailable):
		return withHint(err, fmt.Sprintf("pass --image-archive FILE with a docker-archive or OCI layout of %s (e.g. from 'docker save' where the image is), or run where its registry is reachable", r.Env.Image))
	case errors.Is(err, runner.ErrUnpinned):
		return withHint(err, fmt.Sprintf("run '%s' where the registry is reachable, pass --image-archive FILE, or pass --allow-unpinned to resolve the digest now", pinCommand(r)))
	}
	return err
}

// inputHint is the hint for an [[inputs]] entry that could not be
// obtained: the --input form that supplies it on this machine (a clone
// for a git input, a copy of the file for a url input), or, when --input
// was given, what it must name.
func inputHint(r *recipe.Recipe, ie *runner.InputError) string {
	var in recipe.Input
	for _, i := range r.Inputs {
		if i.Name == ie.Name {
			in = i
		}
	}
	switch {
	case in.Debian != nil:
		return fmt.Sprintf("input %s is /%s of Debian %s's %s %s: check --mirror (or $VERIFY_RELEASE_DEBIAN_MIRROR)", in.Name, in.Debian.File, in.Debian.Suite, in.Debian.Package, in.Debian.Version)
	case in.URL != "" && ie.Local != "":
		return fmt.Sprintf("--input %s=%s must name a copy of %s with sha256 %s", ie.Name, ie.Local, in.URL, in.SHA256)
	case in.URL != "":
		return fmt.Sprintf("pass --input %s=FILE with a copy of %s (sha256 %s)", ie.Name, in.URL, in.SHA256)
	case ie.Local != "":
		return fmt.Sprintf("--input %s=%s must name a clone holding the pinned commit of %s", ie.Name, ie.Local, in.Git)
	}
	return fmt.Sprintf("pass --input %s=DIR with a local clone or mirror of %s", ie.Name, in.Git)
}

// newEngine connects to the named backend.
func newEngine(ctx context.Context, backend string) (engine.Engine, error) {
	switch backend {
	case "docker":
		return newDocker(ctx)
	case "host":
		return engine.NewHost(), nil
	default:
		return nil, usagef("run", "--backend %q: want docker or host", backend)
	}
}

// newDocker connects to the Docker Engine (DOCKER_HOST honoured) and
// checks that it answers.
func newDocker(ctx context.Context) (*engine.Docker, error) {
	d, err := engine.NewDocker()
	if err != nil {
		return nil, err
	}
	if _, err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, withHint(err, "start the Docker Engine (or set DOCKER_HOST, e.g. to podman's socket)", "inside a CI job that already runs in the pinned image, use --backend host")
	}
	return d, nil
}

// runSignatureLine is the summary's verdict on an upstream signature.
func runSignatureLine(s *report.Signature) string {
	switch s.Status {
	case report.NotChecked:
		return "NOT CHECKED: " + userMessage(s.Error)
	case "ERROR":
		return "ERROR: " + userMessage(s.Error)
	}
	return signatureVerdict(sign.Status(s.Status), s.Signer, s.KeyExpired, s.AcceptedExpiredKey)
}

// summaryMembers is how many differing members the summary names.
const summaryMembers = 10

// capVerdictLines keeps a verdict's lines short in the summary: the
// per-class policy and substitution lines all, the per-member lines
// (accepted by an [[accept]] entry, not accepted) at most n of each, the
// rest counted. The diff above (and report.json) has every member.
func capVerdictLines(lines []string, n int) []string {
	var out []string
	var accepted, unaccepted int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "NOT accepted "):
			unaccepted++
			if unaccepted > n {
				continue
			}
		case strings.HasPrefix(l, "accepted ") && strings.Contains(l, " by [[accept]] "):
			accepted++
			if accepted > n {
				continue
			}
		}
		out = append(out, l)
	}
	if accepted > n {
		out = append(out, fmt.Sprintf("... and %d more member difference(s) accepted by [[accept]] entries", accepted-n))
	}
	if unaccepted > n {
		out = append(out, fmt.Sprintf("... and %d more difference(s) NOT accepted (see the diff above)", unaccepted-n))
	}
	return out
}

func printSummary(w io.Writer, rep *report.Report) {
	fmt.Fprintf(w, "%s %s (%s)\n", rep.Recipe.Name, rep.Recipe.Version, rep.Recipe.Path)
	if rep.Source.CommitTime.IsZero() {
		fmt.Fprintf(w, "  source   %s %s\n", rep.Source.Tag, rep.Source.Commit)
	} else {
		fmt.Fprintf(w, "  source   %s -> %s (%s)\n", rep.Source.Tag, rep.Source.Commit, rep.Source.CommitTime.Format("2006-01-02T15:04:05Z"))
	}
	if e := rep.Env; e != nil {
		img := e.Image
		if e.ImageDigest != "" && !strings.Contains(img, "@") {
			img += "@" + e.ImageDigest
		}
		fmt.Fprintf(w, "  env      %s: %s %s\n", e.Name, e.Backend, img)
	}
	for _, a := range rep.Artifacts {
		fmt.Fprintf(w, "  %-8s %-32s %s\n", a.Name, a.File, a.Status)
		switch a.Status {
		case report.Reproduced:
			fmt.Fprintf(w, "           sha256 %s\n", a.Actual)
		case report.Mismatch, report.Equivalent:
			fmt.Fprintf(w, "           expected sha256 %s\n           got      sha256 %s\n", a.Expected, a.Actual)
		}
		if a.Error != "" {
			fmt.Fprintf(w, "           error: %s\n", userMessage(a.Error))
		}
		if au := a.Audit; au != nil {
			fmt.Fprintf(w, "           audit (members not in git): %s\n", au.Summary())
			for _, m := range au.Review() {
				fmt.Fprintf(w, "             %s %s\n", m.Group, m.Path)
			}
		}
		if a.Diff != nil {
			// The full diff came before the summary (and is in the diff
			// file with --out): name a few members, not thousands.
			fmt.Fprintf(w, "           diff: %s\n", a.Diff.Summary)
			for i, m := range a.Diff.Members {
				if i == summaryMembers {
					fmt.Fprintf(w, "             ... and %d more member(s) (see the diff above", len(a.Diff.Members)-i)
					if a.Diff.File != "" {
						fmt.Fprintf(w, " or %s", a.Diff.File)
					}
					fmt.Fprintf(w, ")\n")
					break
				}
				fmt.Fprintf(w, "             %s\n", m)
			}
			for _, h := range a.Diff.Hints {
				fmt.Fprintf(w, "           hint: %s\n", h)
			}
		}
		if v := a.Verdict; v != nil && v.Status != verdict.Reproduced {
			fmt.Fprintf(w, "           verdict: %s\n", v.Summary())
			for _, l := range capVerdictLines(v.Lines(), summaryMembers) {
				fmt.Fprintf(w, "             %s\n", l)
			}
		}
		if s := a.Signature; s != nil {
			fmt.Fprintf(w, "           signature: %s\n", runSignatureLine(s))
		}
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", userMessage(warn))
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", userMessage(rep.Error))
	}
	fmt.Fprintf(w, "result: %s\n", rep.Result)
}

// runAllEnvs runs r in each of its environments in turn (--env all), each
// into OUT/ENV/ with --out, then prints how the re-created artifacts
// compare across the environments. The exit code is the worst run's.
func runAllEnvs(ctx context.Context, c *cli, o *runOptions, r *recipe.Recipe, opts []runner.Option) error {
	if o.asJSON || o.reportFile != "" || o.junit != "" {
		return usagef("run", "--env all writes one report per environment: give --out DIR (each report.json is under DIR/ENV/NAME/VERSION/), not --json, --report or --junit")
	}
	type result struct {
		env string
		rep *report.Report
		err error
	}
	var results []result
	envs, err := r.ForEnvs("")
	if err != nil {
		return err
	}
	for _, re := range envs {
		n := re.EnvName()
		eo := append([]runner.Option(nil), opts...)
		if o.out != "" {
			eo = append(eo, runner.WithOutDir(filepath.Join(o.out, n)))
		}
		fmt.Fprintf(c.Stdout, "== environment %s ==\n", n)
		rep, err := finishRun(ctx, c, o, re, eo)
		if errors.Is(err, context.Canceled) {
			return err
		}
		if err != nil {
			fmt.Fprintf(c.Stderr, "verify-release: environment %s: %s\n", n, userMessage(err.Error()))
		}
		results = append(results, result{n, rep, err})
		fmt.Fprintln(c.Stdout)
	}
	// Cross-environment comparison of the re-created bytes.
	fmt.Fprintf(c.Stdout, "across environments (%s):\n", strings.Join(r.EnvNames(), ", "))
	for _, name := range r.ArtifactNames() {
		got := map[string][]string{} // sha256 -> environments
		var order []string
		for _, res := range results {
			if res.rep == nil {
				continue
			}
			for _, a := range res.rep.Artifacts {
				if a.Name != name || a.Actual == "" {
					continue
				}
				if got[a.Actual] == nil {
					order = append(order, a.Actual)
				}
				got[a.Actual] = append(got[a.Actual], res.env)
			}
		}
		switch len(order) {
		case 0:
			fmt.Fprintf(c.Stdout, "  %-8s not re-created in any environment\n", name)
		case 1:
			fmt.Fprintf(c.Stdout, "  %-8s same bytes in %s: sha256 %s\n", name, strings.Join(got[order[0]], ", "), order[0])
		default:
			fmt.Fprintf(c.Stdout, "  %-8s DIFFERS across environments:\n", name)
			for _, sum := range order {
				fmt.Fprintf(c.Stdout, "           sha256 %s  %s\n", sum, strings.Join(got[sum], ", "))
			}
		}
	}
	var worst error
	for _, res := range results {
		var vf interface{ VerificationFailed() bool }
		switch {
		case res.err == nil:
		case worst == nil:
			worst = res.err
		case errors.As(worst, &vf) && vf.VerificationFailed() && !(errors.As(res.err, &vf) && vf.VerificationFailed()):
			worst = res.err // an error (exit 2) outranks a difference (exit 1)
		}
	}
	return worst
}
