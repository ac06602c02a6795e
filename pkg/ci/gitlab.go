package ci

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

var (
	// ErrNoRecipes is matched when the selection is empty.
	ErrNoRecipes = errors.New("ci: no recipes selected")
	// ErrUnknownRecipe is matched when --only names no recipe in the store.
	ErrUnknownRecipe = errors.New("ci: no such recipe")
	// ErrTooManyNeeds is matched when the results job would need more jobs
	// than GitLab allows in one needs: list.
	ErrTooManyNeeds = errors.New("ci: too many jobs for one needs: list")
)

// ImageSource says where a verify job's image digest came from.
type ImageSource string

const (
	// ImageRecipe: env.image carries the digest.
	ImageRecipe ImageSource = "recipe"
	// ImageLock: env.digest is "unresolved" and the lock file beside the
	// recipe records the digest.
	ImageLock ImageSource = "lock"
	// ImageUnpinned: no digest anywhere; the image is pulled by tag.
	ImageUnpinned ImageSource = "unpinned"
	// ImageNone: the recipe has no [env] (git-archive artifacts only,
	// whose bytes verify-release writes itself: the tar stream from git's
	// objects, the gzip by its own emulation), so no image is pinned and
	// none is refused: the job runs in the results image with git
	// installed, and the image cannot change the result.
	ImageNone ImageSource = "none"
	// ImageArchive: the environment is built from a distribution archive
	// ([env] distro = ...); its image exists only in the engine that
	// built it from the lock, so a CI job cannot pull it.
	ImageArchive ImageSource = "archive"
)

// gitInstall installs the git binary verify-release reads objects with,
// for recipes without an environment (ImageNone).
const gitInstall = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git ca-certificates"

// Default names and limits of the generated pipeline.
const (
	DefaultBinary       = "./verify-release"
	DefaultBuildJob     = "build"
	DefaultResultsImage = "docker.io/library/debian:bookworm-slim"
	// DefaultMaxNeeds is GitLab's default limit of jobs in one needs: list
	// (ci_max_needs); self-managed instances can raise it.
	DefaultMaxNeeds = 50
	// ParentPipelineVar is the variable the trigger job sets to the parent
	// pipeline's id, so child jobs can fetch the binary built there.
	ParentPipelineVar = "PARENT_PIPELINE_ID"
	// ResultsDir is where verify jobs write, and the results job reads.
	ResultsDir = "results"
	// PublicDir is where the results job writes the page (GitLab Pages'
	// directory).
	PublicDir = "public"
)

// Option configures GitLab.
type Option func(*options)

type options struct {
	only          []string
	binary        string
	recipesDir    string
	recipesDirSet bool
	allowUnpinned bool
	pages         bool
	buildJob      string
	resultsImage  string
	maxNeeds      int
	source        string
	// unpinnedHint is the way to allow unpinned images, in the refusal.
	unpinnedHint string
	skipped      []string
}

// WithOnly restricts the pipeline to recipes named NAME/VERSION, or every
// version of NAME.
func WithOnly(ids ...string) Option { return func(o *options) { o.only = append(o.only, ids...) } }

// WithBinary is the path of the verify-release binary in the jobs (the
// build job's artifact; default "./verify-release").
func WithBinary(p string) Option { return func(o *options) { o.binary = p } }

// WithRecipesDir is the recipes directory the job scripts pass to
// --recipes, relative to the checkout (default: the store's directory;
// none for the built-in recipes).
func WithRecipesDir(dir string) Option {
	return func(o *options) { o.recipesDir, o.recipesDirSet = dir, true }
}

// WithAllowUnpinned lets recipes whose image has no digest (neither in the
// recipe nor in a lock file) run, pulled by tag; the report then records
// pinned: false. Without it such a job fails at once, saying why.
func WithAllowUnpinned(b bool) Option { return func(o *options) { o.allowUnpinned = b } }

// WithPages adds a "pages" job that publishes the results page with
// GitLab Pages from the default branch.
func WithPages(b bool) Option { return func(o *options) { o.pages = b } }

// WithBuildJob names the parent pipeline's job whose artifact is the
// static binary (default "build").
func WithBuildJob(name string) Option { return func(o *options) { o.buildJob = name } }

// WithResultsImage is the image of the results and pages jobs, which only
// run the static binary (default DefaultResultsImage).
func WithResultsImage(ref string) Option { return func(o *options) { o.resultsImage = ref } }

// WithMaxNeeds sets the largest needs: list allowed (default
// DefaultMaxNeeds).
func WithMaxNeeds(n int) Option { return func(o *options) { o.maxNeeds = n } }

// WithSource names the recipes directory in the header comment.
func WithSource(s string) Option { return func(o *options) { o.source = s } }

// Pipeline is a generated child pipeline.
type Pipeline struct {
	Jobs []*VerifyJob
	// Skipped are the recipe environments that got no job, each with why.
	Skipped      []string
	Pages        bool
	BuildJob     string
	Binary       string
	ResultsImage string
	Source       string
}

// VerifyJob is the job that verifies one recipe.
type VerifyJob struct {
	// Name is "verify:NAME:VERSION".
	Name string
	// Recipe is NAME/VERSION, or NAME/VERSION@ENV for one environment of
	// a recipe with [[envs]]; RecipePath the recipe file.
	Recipe     string
	RecipePath string
	// Env is the recipe environment ("" for a recipe's one [env]).
	Env string
	// Image is the job's image; ImageSource where its digest came from.
	Image       string
	ImageSource ImageSource
	// BeforeScript runs the recipe's env.setup and env.packages, with
	// network, before the build (the host backend does not run them).
	BeforeScript []string
	// Script runs verify-release; for a refused job it explains why it
	// cannot run.
	Script []string
	// JUnit is the JUnit report the job writes.
	JUnit string
	// Refused is why the job refuses to run ("" when it runs).
	Refused string
}

// GitLab plans the child pipeline for the recipes in store.
func GitLab(store *recipe.Store, opts ...Option) (*Pipeline, error) {
	o, jobs, err := plan(store, opts)
	if err != nil {
		return nil, err
	}
	// The results job needs the build job and every verify job.
	if len(jobs)+1 > o.maxNeeds {
		return nil, fmt.Errorf("%w: %d recipes plus the build job exceed %d; select fewer with --only, or raise the instance's ci_max_needs and pass --max-needs", ErrTooManyNeeds, len(jobs), o.maxNeeds)
	}
	return &Pipeline{Jobs: jobs, Skipped: o.skipped, Pages: o.pages, BuildJob: o.buildJob, Binary: o.binary, ResultsImage: o.resultsImage, Source: o.source}, nil
}

// plan applies opts and makes the verify job of every selected recipe in
// store, sorted by name and version; GitLab and GitHub lay them out.
func plan(store *recipe.Store, opts []Option) (*options, []*VerifyJob, error) {
	o := &options{binary: DefaultBinary, buildJob: DefaultBuildJob, resultsImage: DefaultResultsImage, maxNeeds: DefaultMaxNeeds,
		unpinnedHint: "run the pipeline with VERIFY_RELEASE_ALLOW_UNPINNED=true"}
	for _, opt := range opts {
		opt(o)
	}
	if !o.recipesDirSet {
		o.recipesDir = filepath.ToSlash(store.Dir)
	}
	if o.source == "" {
		o.source = store.Name()
	}
	list, err := store.List()
	if err != nil {
		return nil, nil, err
	}
	selected, err := selectRecipes(list, o.only)
	if err != nil {
		return nil, nil, err
	}
	if len(selected) == 0 {
		return nil, nil, fmt.Errorf("%w in %s", ErrNoRecipes, store.Name())
	}
	var jobs []*VerifyJob
	for _, e := range selected {
		r, err := store.Find(e.Name, e.Version)
		if err != nil {
			return nil, nil, err
		}
		// One job per environment of a recipe with [[envs]]: the
		// maintainer's cross-environment check, run by the pipeline. An
		// archive environment cannot be a job's image: it is left out
		// (with a note) when another environment of the recipe can run.
		hasImage := false
		for _, e := range r.Envs {
			hasImage = hasImage || e.Distro == ""
		}
		envs, err := r.ForEnvs("")
		if err != nil {
			return nil, nil, err
		}
		for _, re := range envs {
			env := re.EnvName()
			if re.Named() && re.FromArchive() && re.NeedsEnv() && hasImage {
				o.skipped = append(o.skipped, fmt.Sprintf("%s@%s: environment built from the %s archive, left to local runs ('verify-release run %s --env %s' where Docker is available)", r.ID(), env, re.Env.Distro, r.Path, env))
				continue
			}
			j, err := verifyJob(store, re, o)
			if err != nil {
				return nil, nil, err
			}
			jobs = append(jobs, j)
		}
	}
	return o, jobs, nil
}

// selectRecipes filters the listing by NAME/VERSION or NAME; every
// selector must match something.
func selectRecipes(list []recipe.Entry, only []string) ([]recipe.Entry, error) {
	var sel []string
	for _, s := range only {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			sel = append(sel, f)
		}
	}
	if len(sel) == 0 {
		return list, nil
	}
	var out []recipe.Entry
	for _, s := range sel {
		name, version, hasVersion := strings.Cut(s, "/")
		found := false
		for _, e := range list {
			if e.Name == name && (!hasVersion || e.Version == version) {
				found = true
				out = append(out, e)
			}
		}
		if !found {
			return nil, fmt.Errorf("%w %q (want NAME/VERSION or NAME)", ErrUnknownRecipe, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	// Drop duplicates (a recipe selected twice).
	uniq := out[:0]
	for i, e := range out {
		if i == 0 || e != out[i-1] {
			uniq = append(uniq, e)
		}
	}
	return uniq, nil
}

// JobName is the verify job of NAME VERSION.
func JobName(name, version string) string { return "verify:" + name + ":" + version }

// JUnitPath is where the verify job of NAME VERSION writes its JUnit report.
func JUnitPath(name, version string) string {
	return ResultsDir + "/" + name + "-" + version + ".junit.xml"
}

func verifyJob(store *recipe.Store, r *recipe.Recipe, o *options) (*VerifyJob, error) {
	// Name the recipe as the job sees it (relative to the checkout), so
	// the output does not depend on where it was generated.
	recipePath := r.Path
	if o.recipesDir != "" {
		recipePath = path.Join(o.recipesDir, r.Name, r.Version+".toml")
	}
	j := &VerifyJob{
		Name:       JobName(r.Name, r.Version),
		Recipe:     r.ID(),
		RecipePath: recipePath,
		JUnit:      JUnitPath(r.Name, r.Version),
	}
	out := ResultsDir + "/"
	if r.Named() {
		j.Env = r.EnvName()
		j.Name += ":" + j.Env
		j.Recipe += "@" + j.Env
		j.JUnit = JUnitPath(r.Name, r.Version+"-"+j.Env)
		out = ResultsDir + "/" + j.Env + "/"
	}
	switch {
	case !r.NeedsEnv() && (r.Env.Image == "" || r.Named()):
		j.Image, j.ImageSource = o.resultsImage, ImageNone
		j.BeforeScript = append(j.BeforeScript, gitInstall)
	case r.FromArchive():
		j.Image, j.ImageSource = o.resultsImage, ImageArchive
		j.Refused = fmt.Sprintf("%s: environment %s is built from the %s %s archive; its image exists only in the Docker Engine that built it from the lock, so a CI job cannot pull it", recipePath, r.EnvName(), r.Env.Distro, r.Env.Suite)
		j.Script = []string{
			"echo " + shellQuote("verify-release: error: "+j.Refused) + " >&2",
			"echo " + shellQuote(fmt.Sprintf("hint: run 'verify-release run %s' on a machine with Docker, or give the recipe an environment with a registry image", recipePath)) + " >&2",
			"exit 2",
		}
		return j, nil
	case r.ImagePinned():
		j.Image, j.ImageSource = r.Env.Image, ImageRecipe
	default:
		lock, err := readLock(store, r)
		if err != nil {
			return nil, err
		}
		if lock != nil {
			j.Image, j.ImageSource = lock.Image.Ref, ImageLock
			if !envpin.Pinned(j.Image) {
				j.Image = r.Env.Image + "@" + lock.Image.Digest
			}
		} else {
			j.Image, j.ImageSource = r.Env.Image, ImageUnpinned
		}
	}
	if j.ImageSource == ImageUnpinned && !o.allowUnpinned {
		j.Refused = fmt.Sprintf("%s: image %s has no digest and the recipe has no lock file", recipePath, r.Env.Image)
		j.Script = []string{
			"echo " + shellQuote("verify-release: error: "+j.Refused) + " >&2",
			"echo " + shellQuote(fmt.Sprintf("hint: run 'verify-release pin %s' and commit %s, or %s", recipePath, envpin.EnvLockPath(recipePath, r), o.unpinnedHint)) + " >&2",
			"exit 2",
		}
		return j, nil
	}
	j.BeforeScript = append(j.BeforeScript, r.Env.Setup...)
	if len(r.Env.Packages) > 0 {
		j.BeforeScript = append(j.BeforeScript, installCommand(r.Env.Packages))
	}
	if j.ImageSource == ImageUnpinned {
		j.Script = append(j.Script, "echo "+shellQuote("verify-release: WARNING: "+r.Env.Image+" is not pinned: pulled by tag (VERIFY_RELEASE_ALLOW_UNPINNED=true); pin it with 'verify-release pin "+recipePath+"'")+" >&2")
	}
	args := []string{o.binary, "run", r.Name, r.Version}
	if o.recipesDir != "" {
		args = append(args, "--recipes", o.recipesDir)
	}
	if j.Env != "" {
		args = append(args, "--env", j.Env)
	}
	args = append(args,
		"--backend", "host",
		"--out", out,
		"--report", path.Join(out, r.Name, r.Version, "report.json"),
		"--junit", j.JUnit,
	)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	j.Script = append(j.Script, strings.Join(quoted, " "))
	return j, nil
}

// readLock reads the lock beside the recipe (NAME/VERSION.lock, or
// NAME/VERSION@ENV.lock); nil when absent.
func readLock(store *recipe.Store, r *recipe.Recipe) (*envpin.Lock, error) {
	rel := path.Join(r.Name, envpin.LockName(r))
	if _, err := fs.Stat(store.FS, rel); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	if store.Dir != "" {
		return envpin.ReadLock(filepath.Join(store.Dir, filepath.FromSlash(rel)))
	}
	// envpin reads lock files by path: copy a built-in one out.
	data, err := store.ReadFile(rel)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "verify-release-*.lock")
	if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("ci: %w", werr)
	}
	return envpin.ReadLock(f.Name())
}

// installCommand installs packages with the image's package manager, like
// the Docker backend's setup step.
func installCommand(packages []string) string {
	pkgs := append([]string(nil), packages...)
	sort.Strings(pkgs)
	for i, p := range pkgs {
		pkgs[i] = shellQuote(p)
	}
	list := strings.Join(pkgs, " ")
	return "if command -v apt-get >/dev/null; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + list +
		"; elif command -v dnf >/dev/null; then dnf install -y " + list +
		"; elif command -v apk >/dev/null; then apk add --no-cache " + list +
		"; else echo 'no apt-get, dnf or apk in the image' >&2; exit 127; fi"
}

var shellSafeRE = regexp.MustCompile(`^[A-Za-z0-9_./:@=+,-]+$`)

// shellQuote quotes s for /bin/sh when it is not a plain word.
func shellQuote(s string) string {
	if s != "" && shellSafeRE.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WriteYAML writes the child pipeline. The output depends only on the
// pipeline: jobs sorted by recipe, keys in a fixed order.
func (p *Pipeline) WriteYAML(w io.Writer) error {
	binaryNeed := mapping{}
	binaryNeed.add("pipeline", "$"+ParentPipelineVar)
	binaryNeed.add("job", p.BuildJob)

	stages := []any{"verify", "results"}
	if p.Pages {
		stages = append(stages, "publish")
	}
	doc := mapping{}
	doc.add("stages", stages)

	var expect []string
	resultNeeds := []any{binaryNeed}
	for _, j := range p.Jobs {
		doc.add(j.Name, j.yaml(binaryNeed), j.comment()...)
		n := mapping{}
		n.add("job", j.Name)
		n.add("artifacts", true)
		resultNeeds = append(resultNeeds, n)
		expect = append(expect, "--expect", j.Recipe)
	}

	args := append([]string{p.Binary, "ci", "results", ResultsDir + "/", "-o", PublicDir + "/"}, expect...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	results := mapping{}
	results.add("stage", "results")
	results.add("image", p.ResultsImage)
	results.add("needs", resultNeeds)
	results.add("when", "always")
	results.add("variables", mapping{{key: "GIT_STRATEGY", value: "none"}})
	results.add("script", []any{strings.Join(quoted, " ")},
		"signs the attestations when the CI/CD file variable VERIFY_RELEASE_SIGN_KEY is set",
		"(passphrase: VERIFY_RELEASE_KEY_PASSPHRASE)")
	results.add("artifacts", mapping{
		{key: "when", value: "always"},
		{key: "paths", value: []any{PublicDir + "/"}},
	})
	doc.add("results", results, "Collects every report.json into public/index.html, index.md and junit.xml.")

	if p.Pages {
		pages := mapping{}
		pages.add("stage", "publish")
		pages.add("image", p.ResultsImage)
		pages.add("needs", []any{mapping{{key: "job", value: "results"}, {key: "artifacts", value: true}}})
		pages.add("variables", mapping{{key: "GIT_STRATEGY", value: "none"}})
		pages.add("script", []any{"test -f " + PublicDir + "/index.html"})
		pages.add("artifacts", mapping{{key: "paths", value: []any{PublicDir + "/"}}})
		pages.add("rules", []any{mapping{{key: "if", value: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}}})
		doc.add("pages", pages, "Publishes the results page with GitLab Pages from the default branch.")
	}

	header := []string{
		"Generated by `verify-release ci gitlab` from " + p.Source + ": do not edit.",
		"One job per recipe, in the recipe's pinned image, running the static",
		"verify-release binary from the parent pipeline's " + quote(p.BuildJob) + " job with",
		"--backend host. The trigger job must set " + ParentPipelineVar + ": $CI_PIPELINE_ID.",
	}
	return writeYAML(w, header, doc)
}

func (j *VerifyJob) comment() []string {
	c := []string{j.Recipe + " (" + j.RecipePath + ")"}
	switch j.ImageSource {
	case ImageLock:
		c = append(c, "image digest from the lock file")
	case ImageNone:
		c = append(c, "no [env]: git-archive artifacts only, written by verify-release itself; any image with git will do")
	case ImageArchive:
		c = append(c, "REFUSED: the environment is built from a distribution archive (no registry image)")
	case ImageUnpinned:
		if j.Refused != "" {
			c = append(c, "REFUSED: the image is not pinned (no digest, no lock file)")
		} else {
			c = append(c, "WARNING: the image is not pinned; pulled by tag")
		}
	}
	return c
}

func (j *VerifyJob) yaml(binaryNeed mapping) mapping {
	m := mapping{}
	m.add("stage", "verify")
	m.add("image", j.Image)
	vars := mapping{}
	vars.add("VERIFY_RELEASE_RECIPE", j.Recipe)
	vars.add("VERIFY_RELEASE_IMAGE_SOURCE", string(j.ImageSource))
	if j.Refused != "" {
		m.add("needs", []any{})
		m.add("variables", vars)
		m.add("script", strs(j.Script))
		return m
	}
	m.add("needs", []any{binaryNeed})
	m.add("variables", vars)
	switch {
	case j.ImageSource == ImageNone:
		m.add("before_script", strs(j.BeforeScript), "git, which verify-release reads the tag's objects with (the recipe has no [env])")
	case len(j.BeforeScript) > 0:
		m.add("before_script", strs(j.BeforeScript), "env.setup and env.packages, with network (the host backend does not run them)")
	}
	m.add("script", strs(j.Script))
	m.add("artifacts", mapping{
		{key: "when", value: "always"},
		{key: "paths", value: []any{ResultsDir + "/"}},
		{key: "reports", value: mapping{{key: "junit", value: j.JUnit}}},
	})
	return m
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
