package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/ci"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func init() {
	register(command{name: "ci", summary: "generate the GitLab or GitHub verification pipeline, its results page; build for the gate", run: runCI})
}

const ciUsage = `Usage:
  verify-release ci gitlab [DIR] [--recipes DIR] [--only NAME/VERSION]... [--binary PATH] [--pages] [-o FILE]
  verify-release ci github [DIR] [--recipes DIR] [--only NAME/VERSION]... [--allow-unpinned] [-o FILE]
  verify-release ci results DIR -o OUTDIR [--expect NAME/VERSION]... [--sign-key FILE]
  verify-release ci table DIR -o FILE.md
  verify-release ci environments [--allow-unpinned] IMAGE...
  verify-release ci setup [--packages "PKG..."] [--setup CMDS]
  verify-release ci build [CHECKOUT] --name NAME [-o OUTDIR] [--project P] [--version V] [--dist-commands CMDS]

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

'ci github' writes the same pipeline as a GitHub Actions workflow: a
matrix entry per recipe (verify (NAME/VERSION)) running in the recipe's
pinned image as the job's container, after a 'build' job that builds the
static binary from the checkout; JUnit and results/ are artifacts, and a
final 'results' job assembles the page. Unpinned images are refused the
same way.

'ci environments' checks the maintainer gate's environments (each
argument may hold several images separated by blanks): two or more image
references, each pinned by @sha256 digest (unless --allow-unpinned), and
prints them as one line of JSON: {"schema":"verify-release/environments/v1",
"environments":[...],"unpinned":[...]} (the list is a GitHub Actions
matrix). 'ci setup' prepares one environment before the checkout: it runs
--setup (default $VERIFY_RELEASE_SETUP), else installs --packages
(default $VERIFY_RELEASE_PACKAGES) with apt-get, dnf or apk.

'ci build' is one environment's part of the maintainer gate
(.github/workflows/verify-release-gate.yml, action.yml): in the git
checkout (default .) it sets SOURCE_DATE_EPOCH to the commit time,
TZ=UTC, LC_ALL=C and umask 022, gives every tracked file the commit time,
writes 'git archive --prefix=PROJECT-vVERSION/ HEAD | gzip -cn' as
PROJECT-VERSION-src.tar.gz, runs the dist commands (default: ./bootstrap
or autoreconf -fi, ./configure, make dist) and copies the tarballs they
leave into OUTDIR (default verify-release-out/NAME; NAME is the
environment's image, made file-name safe). Compare the builds with
'verify-release compare verify-release-out/*'. Defaults come from
$VERIFY_RELEASE_PROJECT (else the repository name in $GITHUB_REPOSITORY
or $CI_PROJECT_NAME), $VERIFY_RELEASE_PROJECT_VERSION (else the tag being
built, else git describe), $VERIFY_RELEASE_SRC_PREFIX, $VERIFY_RELEASE_SRC
(false: no git-archive tarball), $VERIFY_RELEASE_DIST_COMMANDS and
$VERIFY_RELEASE_MTIME (none: keep checkout times).

'ci results' reads every report.json under DIR and writes OUTDIR/index.html
and OUTDIR/index.md (the verdict, then a table with failures first:
result, project, version, artifact, reason, links to report.json, diff,
build.log, SHA256SUMS and attestations; the date, verify-release version
and $CI_COMMIT_SHA), OUTDIR/index.json (the same as data,
docs/schema/results.json),
OUTDIR/junit.xml, and OUTDIR/NAME/VERSION/ with each report's diffs, log
and attestations. With --sign-key (default $VERIFY_RELEASE_SIGN_KEY, a
CI/CD file variable) every attestation and SHA256SUMS gets an armored
detached signature FILE.asc; the passphrase comes from
$VERIFY_RELEASE_KEY_PASSPHRASE or --passphrase-file. It exits 0 when the
page is written, whatever the results; the verify jobs carry the failures.

'ci table' reads every report.json under DIR and writes the results
table of docs/results.md: one line per re-created artifact with release,
artifact, mode (git archive, dist from git/src/dist), environment, verdict,
what differs (class counts and the members that matter) and the run time.
When FILE exists, its rows for the same release, artifact, mode and
environment are replaced and the rest of FILE (other rows, prose) is kept,
so the reports of a few recipes update their lines only. Written
atomically. The corpus tests (go test ./corpus) check that docs/results.md is current for
the recipes they run (VERIFY_RELEASE_UPDATE_RESULTS=1 makes them update it).

Examples:
  verify-release ci gitlab recipes/ -o child.yml
  verify-release ci gitlab --recipes recipes --only libntlm/1.8 -o child.yml
  verify-release ci github --recipes recipes -o .github/workflows/verify-recipes.yml
  verify-release ci results results/ -o public/ --expect libntlm/1.8
  verify-release ci table results/ -o docs/results.md
  verify-release ci build --name debian:bookworm
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
	gate          gateBuildOptions
}

// gateBuildOptions are the flags of 'ci build'.
type gateBuildOptions struct {
	name, project, version, srcPrefix, distCommands string
	noSrc, keepMtimes                               bool
	packages, setup                                 string
}

func runCI(ctx context.Context, c *cli, args []string) error {
	var o ciOptions
	fs := newFlagSet(c, "ci", ciUsage)
	fs.StringVar(&o.recipes, "recipes", "", "gitlab, github: recipes `DIR` (default $VERIFY_RELEASE_RECIPES, ./recipes, or the built-in ones)")
	fs.Var(&o.only, "only", "gitlab, github: only the recipe `NAME/VERSION` (or every version of NAME; repeatable, comma-separated; default $VERIFY_RELEASE_ONLY)")
	fs.StringVar(&o.binary, "binary", ci.DefaultBinary, "gitlab, github: `PATH` of the verify-release binary inside the jobs")
	fs.StringVar(&o.buildJob, "build-job", ci.DefaultBuildJob, "gitlab: the parent pipeline's `JOB` whose artifact is the binary")
	fs.StringVar(&o.resultsImage, "results-image", ci.DefaultResultsImage, "gitlab: `IMAGE` of the results and pages jobs")
	fs.BoolVar(&o.pages, "pages", false, "gitlab: add a 'pages' job publishing the results page from the default branch")
	fs.BoolVar(&o.allowUnpinned, "allow-unpinned", c.Getenv("VERIFY_RELEASE_ALLOW_UNPINNED") == "true", "gitlab, github: let recipes without any image digest run, pulled by tag")
	fs.IntVar(&o.maxNeeds, "max-needs", ci.DefaultMaxNeeds, "gitlab: GitLab's limit of jobs in one needs: list, `N`")
	fs.StringVar(&o.out, "o", "", "gitlab, github: write the pipeline to `FILE` (default stdout); results, build: the output `DIR`")
	fs.Var(&o.expect, "expect", "results: a recipe `NAME/VERSION` that must have a report (repeatable)")
	fs.StringVar(&o.signKey, "sign-key", c.Getenv("VERIFY_RELEASE_SIGN_KEY"), "results: sign attestations with the secret key `FILE`")
	o.pass.register(fs)
	env := func(k, def string) string {
		if v := c.Getenv(k); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.gate.name, "name", env("VERIFY_RELEASE_BUILD_NAME", c.Getenv("VERIFY_RELEASE_IMAGE")), "build: the environment's `NAME` (its image), naming the output directory")
	fs.StringVar(&o.gate.project, "project", c.Getenv("VERIFY_RELEASE_PROJECT"), "build: project `NAME` (default the repository's name)")
	fs.StringVar(&o.gate.version, "version", c.Getenv("VERIFY_RELEASE_PROJECT_VERSION"), "build: `VERSION` (default the tag without a leading v, else git describe)")
	fs.StringVar(&o.gate.srcPrefix, "src-prefix", c.Getenv("VERIFY_RELEASE_SRC_PREFIX"), "build: git-archive `PREFIX` (default PROJECT-vVERSION/)")
	fs.BoolVar(&o.gate.noSrc, "no-src", c.Getenv("VERIFY_RELEASE_SRC") == "false", "build: no git-archive tarball")
	fs.StringVar(&o.gate.distCommands, "dist-commands", env("VERIFY_RELEASE_DIST_COMMANDS", ci.DefaultDistCommands), "build: shell `COMMANDS` that make the dist tarball")
	fs.BoolVar(&o.gate.keepMtimes, "keep-mtimes", c.Getenv("VERIFY_RELEASE_MTIME") == "none", "build: keep checkout file times")
	fs.StringVar(&o.gate.packages, "packages", c.Getenv("VERIFY_RELEASE_PACKAGES"), "setup: `PACKAGES` to install (blank-separated; none: nothing)")
	fs.StringVar(&o.gate.setup, "setup", c.Getenv("VERIFY_RELEASE_SETUP"), "setup: shell `COMMANDS` run instead of the install")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("ci", "want 'ci gitlab', 'ci github', 'ci results', 'ci table', 'ci environments', 'ci setup' or 'ci build'")
	}
	switch pos[0] {
	case "gitlab":
		return ciGitLab(c, &o, pos[1:])
	case "github":
		return ciGitHub(c, &o, pos[1:])
	case "results":
		return ciResults(ctx, c, &o, pos[1:])
	case "table":
		return ciTable(ctx, c, &o, pos[1:])
	case "build":
		return ciBuild(ctx, c, &o, pos[1:])
	case "environments":
		return ciEnvironments(c, &o, pos[1:])
	case "setup":
		return ciSetup(ctx, c, &o, pos[1:])
	default:
		return usagef("ci", "unknown subcommand %q: want gitlab, github, results, table, environments, setup or build", pos[0])
	}
}

// ciStore is the recipe store and --only selection of 'ci gitlab' and
// 'ci github'.
func ciStore(c *cli, o *ciOptions, sub string, pos []string) (*recipe.Store, []string, error) {
	switch {
	case len(pos) > 1:
		return nil, nil, usagef("ci", "ci %s takes at most one recipes DIR, got %d arguments", sub, len(pos))
	case len(pos) == 1 && o.recipes != "" && pos[0] != o.recipes:
		return nil, nil, usagef("ci", "give the recipes directory once: DIR or --recipes DIR")
	case len(pos) == 1:
		o.recipes = pos[0]
	}
	only := []string(o.only)
	if len(only) == 0 {
		if v := c.Getenv("VERIFY_RELEASE_ONLY"); v != "" {
			only = []string{v}
		}
	}
	return recipeStore(c, o.recipes), only, nil
}

func ciGitLab(c *cli, o *ciOptions, pos []string) error {
	store, only, err := ciStore(c, o, "gitlab", pos)
	if err != nil {
		return err
	}
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
	return writePipeline(c, o.out, p.WriteYAML, p.Jobs, p.Skipped)
}

func ciGitHub(c *cli, o *ciOptions, pos []string) error {
	store, only, err := ciStore(c, o, "github", pos)
	if err != nil {
		return err
	}
	w, err := ci.GitHub(store,
		ci.WithOnly(only...),
		ci.WithBinary(o.binary),
		ci.WithAllowUnpinned(o.allowUnpinned),
	)
	if err != nil {
		return withHint(err, "run 'verify-release list --recipes DIR' to see the recipes")
	}
	return writePipeline(c, o.out, w.WriteYAML, w.Jobs, w.Skipped)
}

// writePipeline writes a generated pipeline to out (stdout for "" or
// "-"), atomically, and says how many jobs refuse an unpinned image.
func writePipeline(c *cli, out string, write func(io.Writer) error, jobs []*ci.VerifyJob, skipped []string) error {
	for _, s := range skipped {
		fmt.Fprintf(c.Stderr, "verify-release: note: no job for %s\n", s)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	if out == "" || out == "-" {
		_, err := c.Stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.Write(out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return err
	}
	refused, archive := 0, 0
	for _, j := range jobs {
		if j.Refused != "" {
			if j.ImageSource == ci.ImageArchive {
				archive++
			} else {
				refused++
			}
			fmt.Fprintf(c.Stderr, "verify-release: warning: %s will fail: %s\n", j.Name, j.Refused)
		}
	}
	fmt.Fprintf(c.Stdout, "wrote %s: %d verify job(s)", out, len(jobs))
	if refused > 0 {
		fmt.Fprintf(c.Stdout, ", %d refusing an unpinned image", refused)
	}
	if archive > 0 {
		fmt.Fprintf(c.Stdout, ", %d refusing an archive environment", archive)
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
	res.Info = ci.PageInfo{Generated: time.Now().UTC().Truncate(time.Second), Version: version, Commit: c.Getenv("CI_COMMIT_SHA")}
	if res.Info.Commit != "" && c.Getenv("CI_PROJECT_URL") != "" {
		res.Info.CommitURL = c.Getenv("CI_PROJECT_URL") + "/-/commit/" + res.Info.Commit
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
		fmt.Fprintf(c.Stderr, "verify-release: warning: no report for %s: its job failed before writing one\n", m)
	}
	fmt.Fprintf(c.Stdout, "wrote %s: %d report(s), %d missing, %d file(s), %d signed\n",
		o.out, len(res.Entries), len(res.Missing), len(pub.Files), len(pub.Signed))
	for _, row := range res.Rows() {
		fmt.Fprintf(c.Stdout, "  %-12s %-10s %-36s %s\n", row.Project, row.Version, row.Artifact, row.Result)
	}
	return nil
}

func ciTable(ctx context.Context, c *cli, o *ciOptions, pos []string) error {
	if len(pos) != 1 {
		return usagef("ci", "ci table takes one results DIR, got %d arguments", len(pos))
	}
	if o.out == "" {
		return usagef("ci", "ci table needs -o FILE.md (e.g. docs/results.md)")
	}
	res, err := ci.Collect(ctx, pos[0])
	if err != nil {
		return err
	}
	rows := res.Table()
	if len(rows) == 0 {
		return fmt.Errorf("%s: no report.json with a re-created artifact", pos[0])
	}
	if err := ci.UpdateTableFile(o.out, rows); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "wrote %s: %d row(s) from %d report(s)\n", o.out, len(rows), len(res.Entries))
	return nil
}

func ciBuild(ctx context.Context, c *cli, o *ciOptions, pos []string) error {
	dir := "."
	switch {
	case len(pos) > 1:
		return usagef("ci", "ci build takes at most one CHECKOUT directory, got %d arguments", len(pos))
	case len(pos) == 1:
		dir = pos[0]
	}
	g := &o.gate
	if g.name == "" {
		return usagef("ci", "ci build needs --name NAME (or $VERIFY_RELEASE_IMAGE): the environment's name")
	}
	name, err := ci.BuildName(g.name)
	if err != nil {
		return usagef("ci", "--name: %v", err)
	}
	out := o.out
	if out == "" {
		out = filepath.Join(dir, ci.GateOutDir, name)
	}
	project := g.project
	if project == "" {
		if r := c.Getenv("GITHUB_REPOSITORY"); r != "" {
			project = path.Base(r)
		} else {
			project = c.Getenv("CI_PROJECT_NAME")
		}
	}
	version := g.version
	if version == "" {
		if c.Getenv("GITHUB_REF_TYPE") == "tag" {
			version = strings.TrimPrefix(c.Getenv("GITHUB_REF_NAME"), "v")
		} else if t := c.Getenv("CI_COMMIT_TAG"); t != "" {
			version = strings.TrimPrefix(t, "v")
		}
	}
	opts := []ci.BuildOption{ci.WithProject(project), ci.WithVersion(version), ci.WithSrcPrefix(g.srcPrefix),
		ci.WithDistCommands(g.distCommands), ci.WithBuildLog(c.Stderr)}
	if g.noSrc {
		opts = append(opts, ci.WithoutSrc())
	}
	if g.keepMtimes {
		opts = append(opts, ci.WithCheckoutMtimes())
	}
	res, err := ci.Build(ctx, dir, out, opts...)
	if err != nil {
		return withHint(err, "the build log above shows the failing command")
	}
	fmt.Fprintf(c.Stdout, "built %s %s at %s (SOURCE_DATE_EPOCH=%s) into %s\n", res.Project, res.Version, res.Commit, res.SourceDateEpoch, res.Out)
	for _, f := range res.Files {
		fmt.Fprintf(c.Stdout, "%s  %s\n", f.SHA256, f.Name)
	}
	if len(res.Files) == 0 {
		fmt.Fprintln(c.Stderr, "verify-release: warning: the build produced no tarball")
	}
	return nil
}

func ciEnvironments(c *cli, o *ciOptions, pos []string) error {
	var envs []string
	for _, p := range pos {
		envs = append(envs, strings.Fields(p)...)
	}
	list, unpinned, err := ci.Environments(envs, o.allowUnpinned)
	if err != nil {
		if errors.Is(err, ci.ErrUnpinnedEnvironment) {
			return withHint(err, "pin each image by digest (IMAGE@sha256:...; 'docker buildx imagetools inspect IMAGE' shows it), or allow unpinned images (allow-unpinned: true, --allow-unpinned)")
		}
		return err
	}
	for _, u := range unpinned {
		fmt.Fprintf(c.Stderr, "verify-release: warning: environment %s is not pinned: pulled by tag\n", u)
	}
	if unpinned == nil {
		unpinned = []string{}
	}
	// One line: it becomes a GitHub step output. The matrix is its
	// "environments" list.
	b, err := json.Marshal(struct {
		Schema       string   `json:"schema"`
		Environments []string `json:"environments"`
		Unpinned     []string `json:"unpinned"`
	}{"verify-release/environments/v1", list, unpinned})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.Stdout, "%s\n", b)
	return err
}

func ciSetup(ctx context.Context, c *cli, o *ciOptions, pos []string) error {
	if len(pos) > 0 {
		return usagef("ci", "ci setup takes no arguments, got %d", len(pos))
	}
	pkgs := strings.Fields(o.gate.packages)
	if len(pkgs) == 1 && pkgs[0] == "none" {
		pkgs = nil
	}
	return ci.Setup(ctx, pkgs, o.gate.setup, c.Stderr)
}
