package runner

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/owner"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/rootfs"
	"gitlab.com/verify-release/verify-release/pkg/source"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/verdict"
)

var (
	// ErrNoEngine is matched when a recipe has build artifacts but no
	// engine was given.
	ErrNoEngine = errors.New("runner: no engine for build steps")
	// ErrUnpinned is matched when the image has no digest and the run may
	// not resolve one.
	ErrUnpinned = errors.New("runner: image not pinned")
	// ErrStepFailed is matched when a build command exits non-zero.
	ErrStepFailed = errors.New("runner: build step failed")
)

// StepError is a build command that exited non-zero.
type StepError struct {
	Artifact string
	Command  string
	ExitCode int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("artifact %s: command %q exited with code %d", e.Artifact, e.Command, e.ExitCode)
}

func (e *StepError) Unwrap() error { return ErrStepFailed }

// Run re-creates the recipe's artifacts and returns the report. The
// returned error is non-nil for run-level failures (moved tag, unpinned
// image, tool pin mismatch, ...); the report then carries the same error.
// Per-artifact failures are in the report only.
func Run(ctx context.Context, r *recipe.Recipe, opts ...Option) (*report.Report, error) {
	o := makeOptions(opts)
	run := &run{o: o, r: r, rep: &report.Report{
		Tool:   report.Tool{Name: "verify-release", Version: o.toolVersion},
		Recipe: report.Recipe{Name: r.Name, Version: r.Version, Path: r.Path, SHA256: r.SHA256},
		Source: report.Source{Git: r.Source.Git, Tag: r.Source.Tag, Commit: r.Source.Commit},
	}}
	run.reap(ctx)
	work, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	run.work = work
	if self, err := owner.Self(); err == nil {
		if err := self.WriteFile(work); err != nil {
			os.RemoveAll(work)
			return nil, fmt.Errorf("runner: %w", err)
		}
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	defer func() {
		for _, release := range run.releases {
			release()
		}
	}()
	err = run.do(ctx)
	if err != nil {
		run.rep.Error = err.Error()
	}
	run.rep.Finish()
	if err == nil || ctx.Err() == nil {
		if werr := run.writeOut(context.WithoutCancel(ctx)); werr != nil && err == nil {
			err = werr
			run.rep.Error = err.Error()
			run.rep.Finish()
		}
	}
	return run.rep, err
}

// workPrefix names a run's temporary directory, which records its owner
// (pkg/owner) so that a later run can remove it if the run crashes.
const workPrefix = "verify-release-"

// reaper is an engine that can remove the containers of crashed runs
// (engine.Docker).
type reaper interface {
	Reap(ctx context.Context) ([]string, error)
}

// reap removes what crashed runs left: their temporary directories and,
// with an engine that can, their containers. Nothing of a live run is
// touched (owner.Owner.Gone); failures are warnings.
func (x *run) reap(ctx context.Context) {
	dirs, err := owner.ReapDirs(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, d := range dirs {
		x.event("", "reap", "removed %s, left by a run that ended without cleaning up", d)
	}
	if err != nil {
		x.warn("removing what crashed runs left: %v", err)
	}
	rp, ok := x.o.engine.(reaper)
	if !ok {
		return
	}
	ids, err := rp.Reap(ctx)
	for _, id := range ids {
		x.event("", "reap", "removed container %.12s, left by a run that ended without cleaning up", id)
	}
	if err != nil {
		x.warn("removing containers crashed runs left: %v", err)
	}
}

type run struct {
	o          *options
	r          *recipe.Recipe
	rep        *report.Report
	repo       string
	commitTime time.Time
	work       string // temporary directory for this run
	// stage collects what --out keeps (diffs, logs) until writeOut
	// assembles the results directory; "" when there is no --out.
	stage string
	// outputs are the re-created files, by artifact name.
	outputs map[string]string
	// releases unlock the cache entries (git mirrors) the run uses.
	releases []func()
	// evaluated are the [[accept]] entries (1-based) judged against some
	// artifact; verdicts the verdicts that judged them.
	evaluated []int
	verdicts  []*verdict.Verdict
	// debs are the locked packages of an archive environment.
	debs []rootfs.Package
	// starts are the checked tarballs from = "src"|"dist" builds start
	// from, by artifact name.
	starts map[string]string
	// diffs are the per-member diffs against the published copies, by
	// artifact name, for the report page.
	diffs map[string]*tarball.DiffResult
}

func (x *run) event(artifact, step, format string, args ...any) {
	x.o.progress(Event{Artifact: artifact, Step: step, Message: fmt.Sprintf(format, args...)})
}

func (x *run) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	x.rep.Warnings = append(x.rep.Warnings, msg)
	x.o.progress(Event{Step: "warning", Message: msg, Warning: true})
}

func (x *run) do(ctx context.Context) error {
	names := x.r.ArtifactNames()
	if len(x.o.artifacts) > 0 {
		for _, n := range x.o.artifacts {
			if x.r.Artifacts[n] == nil {
				return fmt.Errorf("runner: recipe %s has no artifact %q (it has %v)", x.r.ID(), n, names)
			}
		}
	}
	if err := checkInputs(x.r, x.o.localInputs); err != nil {
		return err
	}
	work := x.work
	x.outputs = map[string]string{}
	x.diffs = map[string]*tarball.DiffResult{}
	x.starts = map[string]string{}
	if x.o.outDir != "" {
		x.stage = filepath.Join(work, "results")
		if err := os.MkdirAll(x.stage, 0o755); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		logf, err := os.Create(filepath.Join(x.stage, LogFile))
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		defer logf.Close()
		x.o.log = io.MultiWriter(x.o.log, logf)
	}

	if err := x.checkArchiveLock(names); err != nil {
		return err
	}
	if x.r.NeedsGitFor(x.o.artifacts) {
		if err := x.prepareSource(ctx); err != nil {
			return err
		}
	} else {
		x.event("", "source", "every artifact builds from a published tarball: the git repository is not read")
	}
	var env *buildEnv
	// envErr is why the build environment could not be made (an image
	// or an input): every build artifact records it, the git-archive ones
	// still run, and the run ends with it.
	var envErr error
	defer func() {
		if env != nil {
			env.close()
		}
	}()
	for _, name := range names {
		a := x.r.Artifacts[name]
		ra := report.Artifact{Name: name, File: a.File, Method: string(a.Method), Expected: a.SHA256}
		if a.Method == recipe.MethodBuild {
			ra.Env = x.r.EnvName()
			ra.From = x.r.Artifacts[x.r.BuildOwner(name)].From
			if ra.From == "" {
				ra.From = recipe.FromGit
			}
		}
		if len(x.o.artifacts) > 0 && !slices.Contains(x.o.artifacts, name) {
			ra.Status = report.Skipped
			ra.Reason = "not selected: this run re-created only " + strings.Join(x.o.artifacts, ", ")
			x.rep.Artifacts = append(x.rep.Artifacts, ra)
			continue
		}
		start := time.Now()
		out := filepath.Join(work, "out", name, a.File)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		var aerr error
		switch a.Method {
		case recipe.MethodGitArchive:
			x.event(name, "git-archive", "re-creating %s with git archive (prefix %s, %s)", a.File, a.Prefix, a.Compress)
			aerr = x.gitArchive(ctx, a, out)
		case recipe.MethodBuild:
			if env == nil && envErr == nil {
				env, envErr = x.newBuildEnv(ctx)
			}
			if envErr != nil {
				aerr = envErr
				break
			}
			aerr = env.buildArtifact(ctx, name, &ra, func(n string) string {
				return filepath.Join(work, "out", n, x.r.Artifacts[n].File)
			})
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if aerr == nil {
			aerr = x.compare(ctx, name, a, out, &ra)
		}
		if aerr != nil {
			ra.Status = report.Error
			ra.Error = aerr.Error()
			x.event(name, "result", "ERROR: %v", aerr)
			if errors.Is(aerr, envpin.ErrToolMismatch) {
				// The environment is not the pinned one: stop before
				// building anything else in it.
				x.rep.Artifacts = append(x.rep.Artifacts, ra)
				return aerr
			}
		}
		ra.Seconds = time.Since(start).Round(time.Millisecond).Seconds()
		x.rep.Artifacts = append(x.rep.Artifacts, ra)
	}
	if envErr != nil {
		return envErr
	}
	// An [[accept]] entry that accepted nothing in the artifacts it was
	// judged against is a stale policy.
	return verdict.Stale(x.r.Accept, unique(x.evaluated), x.verdicts)
}

// unique returns the sorted distinct values of xs.
func unique(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// prepareSource mirrors the upstream repository (or uses --repo) and
// checks the tag against the pinned commit.
func (x *run) prepareSource(ctx context.Context) error {
	if x.r.Source.Commit == recipe.Unresolved {
		return fmt.Errorf("%s: source.commit is %q: the commit of tag %s was not known when the recipe was written; pin it (git rev-parse %s^{commit} in a clone of %s)",
			x.r.Path, recipe.Unresolved, x.r.Source.Tag, x.r.Source.Tag, x.r.Source.Git)
	}
	repo := x.o.repoDir
	if repo == "" {
		x.event("", "source", "fetching %s into the cache", x.r.Source.Git)
		m, release, err := source.Mirror(ctx, x.r.Source.Git, x.o.cacheDir)
		if err != nil {
			return err
		}
		x.releases = append(x.releases, release) // held until the run ends
		repo = m
	} else if _, err := source.OpenRepo(ctx, repo); err != nil {
		return err
	}
	x.repo = repo
	x.rep.Source.Repo = repo
	if err := source.CheckTag(ctx, repo, x.r.Source.Tag, x.r.Source.Commit); err != nil {
		return err
	}
	t, err := source.CommitTime(ctx, repo, x.r.Source.Commit)
	if err != nil {
		return err
	}
	x.commitTime = t
	x.rep.Source.CommitTime = t
	x.event("", "source", "tag %s resolves to the pinned commit %s (%s)", x.r.Source.Tag, x.r.Source.Commit, t.Format(time.RFC3339))
	return nil
}

// compare hashes the re-created file, sets the status, and on a mismatch
// diffs it against the published copy.
func (x *run) compare(ctx context.Context, name string, a *recipe.Artifact, out string, ra *report.Artifact) error {
	s256, s512, err := hashFile(out)
	if err != nil {
		return err
	}
	ra.Actual = s256
	x.outputs[name] = out
	if x.stage != "" {
		ra.Output = a.File
	}
	ok := s256 == a.SHA256 && (a.SHA512 == "" || s512 == a.SHA512)
	if ok {
		ra.Status = report.Reproduced
		ra.Verdict = &verdict.Verdict{Status: verdict.Reproduced, Accepted: []verdict.Difference{}, Unaccepted: []verdict.Difference{}}
		x.judged(verdict.Rules(x.r, name), ra.Verdict)
		x.event(name, "result", "REPRODUCED %s sha256 %s", a.File, s256)
	} else {
		ra.Status = report.Mismatch
		x.event(name, "result", "MISMATCH %s: expected sha256 %s, got %s", a.File, a.SHA256, s256)
	}
	if !ok {
		if err := x.prove(ctx, name, a, out, ra); err != nil {
			return err
		}
	}
	x.checkSignature(ctx, name, a, out, ok, ra)
	if !ok {
		x.diffPublished(ctx, name, a, out, ra)
	}
	return nil
}

func hashFile(p string) (string, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", fmt.Errorf("runner: %w", err)
	}
	defer f.Close()
	h256, h512 := sha256.New(), sha512.New()
	if _, err := io.Copy(io.MultiWriter(h256, h512), f); err != nil {
		return "", "", fmt.Errorf("runner: hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h256.Sum(nil)), hex.EncodeToString(h512.Sum(nil)), nil
}

// LogFile is the build log kept in the results directory.
const LogFile = "build.log"

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	defer in.Close()
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
