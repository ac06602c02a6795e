package ci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
)

// The maintainer gate: the release tarballs built from one checkout in
// several environments, then compared. Build is one environment's part;
// the GitHub gate (.github/workflows/verify-release-gate.yml, action.yml)
// runs it as `verify-release ci build` in each environment.

var (
	// ErrNotCheckout is matched when the build directory is not a git
	// checkout.
	ErrNotCheckout = errors.New("ci: not a git checkout")
	// ErrBuildFailed is matched when a build command exits non-zero.
	ErrBuildFailed = errors.New("ci: build command failed")
	// ErrBadBuildName is matched when the build name is empty after
	// sanitizing.
	ErrBadBuildName = errors.New("ci: empty build name")
	// ErrBadOutDir is matched when the output directory would replace
	// something that is not an earlier build's output.
	ErrBadOutDir = errors.New("ci: output directory")
)

// DefaultDistCommands make the dist tarball when no commands are given:
// the project's bootstrap script, else autoreconf, then configure and make
// dist.
const DefaultDistCommands = "if [ -x ./bootstrap ]; then ./bootstrap; else autoreconf -fi; fi; ./configure; make dist"

// GateOutDir is where each build writes (one directory per build), and
// what the compare step compares.
const GateOutDir = "verify-release-out"

// BuildOption configures Build.
type BuildOption func(*buildOptions)

type buildOptions struct {
	project      string
	version      string
	srcPrefix    string
	noSrc        bool
	distCommands string
	keepMtimes   bool
	log          io.Writer
	env          []string
}

// WithProject is the project name (default: the checkout directory's
// base name).
func WithProject(name string) BuildOption { return func(o *buildOptions) { o.project = name } }

// WithVersion is the release version (default: `git describe --tags
// --always --abbrev=12 HEAD` without a leading "v").
func WithVersion(v string) BuildOption { return func(o *buildOptions) { o.version = v } }

// WithSrcPrefix is the git-archive prefix (default PROJECT-vVERSION/).
func WithSrcPrefix(p string) BuildOption { return func(o *buildOptions) { o.srcPrefix = p } }

// WithoutSrc skips the git-archive tarball.
func WithoutSrc() BuildOption { return func(o *buildOptions) { o.noSrc = true } }

// WithDistCommands are the shell commands that make the dist tarball
// (default DefaultDistCommands; run with sh -ec).
func WithDistCommands(s string) BuildOption { return func(o *buildOptions) { o.distCommands = s } }

// WithCheckoutMtimes keeps the checkout's file times instead of giving
// every tracked file the commit time.
func WithCheckoutMtimes() BuildOption { return func(o *buildOptions) { o.keepMtimes = true } }

// WithBuildLog receives the output of the build commands (default
// io.Discard).
func WithBuildLog(w io.Writer) BuildOption { return func(o *buildOptions) { o.log = w } }

// WithBuildEnv is the environment of the build commands (default
// os.Environ()); SOURCE_DATE_EPOCH, TZ and LC_ALL are always set on top.
func WithBuildEnv(env []string) BuildOption { return func(o *buildOptions) { o.env = env } }

// BuildResult is what one gate build produced.
type BuildResult struct {
	Project, Version string
	Commit           string
	// SourceDateEpoch is the commit time the build ran with.
	SourceDateEpoch string
	// Out is the output directory; Files its files, sorted by name.
	Out   string
	Files []BuiltFile
}

// BuiltFile is one tarball of a build.
type BuiltFile struct {
	Name   string
	SHA256 string
	Size   int64
}

var buildNameRE = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// BuildName turns an environment's name (an image reference) into the
// name of its output directory: every character but letters, digits,
// '.', '_' and '-' becomes '_'; an image digest is shortened to 12 hex
// digits so that names stay readable.
func BuildName(env string) (string, error) {
	if i := strings.Index(env, "@sha256:"); i >= 0 && len(env) >= i+8+12 {
		env = env[:i+8+12]
	}
	name := buildNameRE.ReplaceAllString(env, "_")
	if strings.Trim(name, "._") == "" {
		return "", fmt.Errorf("%w: %q", ErrBadBuildName, env)
	}
	return name, nil
}

// Build builds the release tarballs of the git checkout dir into out, as
// the maintainer gate's build jobs do: with SOURCE_DATE_EPOCH set to the
// commit time, TZ=UTC, LC_ALL=C and umask 022, every tracked file given
// the commit time, it writes `git archive --format=tar --prefix=PREFIX
// HEAD | gzip -cn` as PROJECT-VERSION-src.tar.gz, runs the dist commands,
// and copies the *.tar and *.tar.* files they left at the top of the
// checkout (untracked ones only) into out. It uses the environment's own
// git, gzip and tools. out is emptied first; it must not hold the
// checkout nor anything but an earlier build's files (ErrBadOutDir).
func Build(ctx context.Context, dir, out string, opts ...BuildOption) (*BuildResult, error) {
	o := &buildOptions{distCommands: DefaultDistCommands, log: io.Discard}
	for _, opt := range opts {
		opt(o)
	}
	if o.env == nil {
		o.env = os.Environ()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	commit, err := gitOutput(ctx, abs, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotCheckout, dir, err)
	}
	epoch, err := gitOutput(ctx, abs, "log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("ci: %s: commit time: %w", dir, err)
	}
	res := &BuildResult{Project: o.project, Version: o.version, Commit: commit, SourceDateEpoch: epoch, Out: out}
	if res.Project == "" {
		res.Project = filepath.Base(abs)
	}
	if res.Version == "" {
		v, err := gitOutput(ctx, abs, "describe", "--tags", "--always", "--abbrev=12", "HEAD")
		if err != nil {
			return nil, fmt.Errorf("ci: %s: git describe: %w", dir, err)
		}
		res.Version = strings.TrimPrefix(v, "v")
	}
	if err := clearOut(abs, out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	env := append(append([]string(nil), o.env...), "SOURCE_DATE_EPOCH="+epoch, "TZ=UTC", "LC_ALL=C")
	sh := func(what, script string, args ...string) error {
		cmd := exec.CommandContext(ctx, "sh", append([]string{"-ec", "umask 022\n" + script, "sh"}, args...)...)
		cmd.Dir = abs
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = o.log, o.log
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %s: %v", ErrBuildFailed, what, err)
		}
		return nil
	}
	if !o.keepMtimes {
		if err := sh("giving files the commit time", `git ls-files -z | xargs -0 -r touch -h -d "@$1"`, epoch); err != nil {
			return nil, err
		}
	}
	if !o.noSrc {
		prefix := o.srcPrefix
		if prefix == "" {
			prefix = res.Project + "-v" + res.Version + "/"
		}
		name := res.Project + "-" + res.Version + "-src.tar.gz"
		if err := sh("git archive | gzip -cn", `git archive --format=tar --prefix="$1" HEAD > "$2.tar"; gzip -cn < "$2.tar" > "$2.gz"; rm -f "$2.tar"; mv "$2.gz" "$2"`,
			prefix, filepath.Join(absOut, name)); err != nil {
			return nil, err
		}
	}
	if err := sh("dist commands", o.distCommands); err != nil {
		return nil, err
	}
	tracked, err := gitOutput(ctx, abs, "ls-files", "-z", "--", ":(top,glob)*.tar", ":(top,glob)*.tar.*")
	if err != nil {
		return nil, fmt.Errorf("ci: %s: git ls-files: %w", dir, err)
	}
	isTracked := map[string]bool{}
	for _, f := range strings.Split(tracked, "\x00") {
		isTracked[f] = true
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || isTracked[n] || !(strings.HasSuffix(n, ".tar") || strings.Contains(n, ".tar.")) {
			continue
		}
		if err := copyFile(filepath.Join(abs, n), filepath.Join(absOut, n)); err != nil {
			return nil, err
		}
	}
	if res.Files, err = listBuilt(absOut); err != nil {
		return nil, err
	}
	return res, nil
}

// clearOut empties out for a new build. It only removes what an earlier
// build leaves (regular files), never the checkout or a directory with
// anything else in it.
func clearOut(checkout, out string) error {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("ci: %w", err)
	}
	if rel, err := filepath.Rel(absOut, checkout); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("%w %s holds the checkout %s", ErrBadOutDir, out, checkout)
	}
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("ci: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return fmt.Errorf("%w %s holds %s, which is not a build's file: choose an empty or new directory", ErrBadOutDir, out, e.Name())
		}
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(out, e.Name())); err != nil {
			return fmt.Errorf("ci: %w", err)
		}
	}
	return nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		if s := strings.TrimSpace(stderr.String()); s != "" {
			return "", fmt.Errorf("%w: %s", err, s)
		}
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func listBuilt(dir string) ([]BuiltFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ci: %w", err)
	}
	var files []BuiltFile
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("ci: %w", err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ci: hashing %s: %w", e.Name(), err)
		}
		files = append(files, BuiltFile{Name: e.Name(), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

var (
	// ErrUnpinnedEnvironment is matched when a gate environment's image
	// has no digest and unpinned images are not allowed.
	ErrUnpinnedEnvironment = errors.New("ci: environment image has no digest")
	// ErrFewEnvironments is matched when the gate gets fewer than two
	// environments.
	ErrFewEnvironments = errors.New("ci: need two or more environments")
)

// Environments checks the gate's environments (image references): each
// must parse, none may repeat, there must be two or more, and each must
// be pinned by an @sha256 digest unless allowUnpinned (then unpinned
// lists the ones pulled by tag). It returns the list in the order given.
func Environments(envs []string, allowUnpinned bool) (list, unpinned []string, err error) {
	seen := map[string]bool{}
	var bad []string
	for _, e := range envs {
		if _, err := envpin.ParseRef(e); err != nil {
			return nil, nil, fmt.Errorf("ci: environment %q: %w", e, err)
		}
		if seen[e] {
			return nil, nil, fmt.Errorf("ci: environment %q given twice", e)
		}
		seen[e] = true
		list = append(list, e)
		if !envpin.Pinned(e) {
			unpinned = append(unpinned, e)
			bad = append(bad, e)
		}
	}
	if len(bad) > 0 && !allowUnpinned {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnpinnedEnvironment, strings.Join(bad, ", "))
	}
	if len(list) < 2 {
		return nil, nil, fmt.Errorf("%w, got %d", ErrFewEnvironments, len(list))
	}
	return list, unpinned, nil
}

// Setup prepares a gate environment before the checkout: it runs the
// shell commands setup when given, else installs packages with the
// image's package manager (apt-get, dnf or apk), as the recipe verify
// jobs do. Nothing happens for neither. Output goes to log.
func Setup(ctx context.Context, packages []string, setup string, log io.Writer) error {
	script := setup
	if script == "" {
		if len(packages) == 0 {
			return nil
		}
		script = installCommand(packages)
	}
	cmd := exec.CommandContext(ctx, "sh", "-ec", script)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: setup: %v", ErrBuildFailed, err)
	}
	return nil
}
