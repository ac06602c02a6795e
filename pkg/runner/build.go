package runner

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/source"
)

// Workspace layout inside the build environment.
const (
	// WorkDir holds the checkout (src/) and the recipe's inputs.
	WorkDir = "/work"
	// SrcDir is the source checkout, with .git; build commands run here.
	SrcDir = WorkDir + "/src"
)

// buildEnv is the pinned environment shared by a run's build artifacts:
// the resolved image and the probed tool versions. Each artifact gets a
// fresh session (container) from it.
type buildEnv struct {
	x     *run
	image string // image ID or ref to start sessions from
	probe bool   // tools still to be probed
	// inputs are tar files, one per recipe input, made once per run.
	inputs []string
	// builds are the builds run so far, by the artifact that owns them.
	builds map[string]*built
}

func (x *run) newBuildEnv(ctx context.Context) (*buildEnv, error) {
	if x.o.engine == nil {
		return nil, ErrNoEngine
	}
	env := &buildEnv{x: x, probe: true}
	x.rep.Env = &report.Env{Name: x.r.EnvName(), Backend: string(x.o.backend), Image: x.r.Env.Image, Pinned: x.r.ImagePinned()}
	if x.o.backend == BackendDocker {
		img, err := x.resolveImage(ctx)
		if err != nil {
			return nil, err
		}
		env.image = img
	}
	if err := env.makeWorkspace(ctx); err != nil {
		return nil, err
	}
	return env, nil
}

func (env *buildEnv) close() {
	for _, f := range env.inputs {
		os.Remove(f)
	}
}

// makeWorkspace writes one tar per recipe input, laid out at the input's
// path below /work; the checkout itself is packed per artifact (see
// sourceTar) because its mtime policy is per artifact.
func (env *buildEnv) makeWorkspace(ctx context.Context) error {
	x := env.x
	for i, in := range x.r.Inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.event("", "inputs", "preparing input %s at %s", in.Name, in.Path)
		f, err := os.Create(filepath.Join(x.work, fmt.Sprintf("input-%d.tar", i)))
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		env.inputs = append(env.inputs, f.Name())
		err = x.writeInput(ctx, f, in)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &InputError{Name: in.Name, Local: x.o.localInputs[in.Name], Err: err}
		}
	}
	return nil
}

// sourceTar writes the checkout of the pinned commit, with .git and the
// artifact's mtime policy, as a tar with prefix src/.
func (x *run) sourceTar(ctx context.Context, w io.Writer, policy recipe.MtimePolicy) error {
	dir := filepath.Join(x.work, "checkout-"+string(policy))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := source.Checkout(ctx, x.repo, x.r.Source.Commit, dir); err != nil {
			return err
		}
	}
	opts := source.TreeOptions{Prefix: "src", Policy: policy, CommitTime: x.commitTime}
	if policy == recipe.MtimePerFile {
		times, err := source.FileTimes(ctx, x.repo, x.r.Source.Commit)
		if err != nil {
			return err
		}
		opts.FileTimes = times
	}
	return source.WriteTree(ctx, w, dir, opts)
}

// built is the outcome of one build, shared by the artifacts it makes.
type built struct {
	err    error            // the build failed: every artifact of it fails
	copied map[string]error // per artifact: copying its file out failed
}

// buildArtifact re-creates build artifact name: it runs the build of the
// artifact's owner (itself, or the artifact its build key names) once per
// run, copying out every file that build makes, and returns this
// artifact's outcome. outPath gives where each artifact's file goes.
func (env *buildEnv) buildArtifact(ctx context.Context, name string, ra *report.Artifact, outPath func(string) string) error {
	x := env.x
	owner := x.r.BuildOwner(name)
	o := x.r.Artifacts[owner]
	// After the build: a build from a tarball may set the commit time.
	defer func() { ra.SourceDateEpoch = env.sourceDateEpoch(o) }()
	if owner != name {
		ra.Build = owner
	}
	b, ok := env.builds[owner]
	if !ok {
		names := x.r.SharedOutputs(owner)
		outs := make(map[string]string, len(names))
		for _, n := range names {
			outs[n] = outPath(n)
		}
		b = &built{copied: map[string]error{}}
		b.err = env.build(ctx, owner, o, outs, b.copied)
		if env.builds == nil {
			env.builds = map[string]*built{}
		}
		env.builds[owner] = b
	} else if owner != name {
		x.event(name, "build", "made by the build of %s", owner)
	}
	if b.err != nil {
		if owner != name {
			return fmt.Errorf("runner: the build of %s, which makes %s, failed: %w", owner, name, b.err)
		}
		return b.err
	}
	return b.copied[name]
}

// sourceDateEpoch is the SOURCE_DATE_EPOCH of a's build steps: the
// recipe's source_date_epoch, or the commit time.
func (env *buildEnv) sourceDateEpoch(a *recipe.Artifact) int64 {
	if a.SourceDateEpoch != nil {
		return *a.SourceDateEpoch
	}
	return env.x.commitTime.Unix()
}

// build runs build artifact name's commands in a fresh session and
// copies each file in outs (artifact name -> local path) out of it; a
// file that cannot be copied is recorded in copied, by artifact.
func (env *buildEnv) build(ctx context.Context, name string, a *recipe.Artifact, outs map[string]string, copied map[string]error) (err error) {
	x := env.x
	timeout := 30 * time.Minute
	if d := x.r.Env.Timeout; d != "" {
		timeout, _ = time.ParseDuration(d) // validated by pkg/recipe
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("artifact %s timed out after %s (env.timeout): %w", name, timeout, err)
		}
	}()
	start := ""
	if a.From != recipe.FromGit && a.From != "" {
		var err error
		if start, err = x.startTarball(ctx, name, a); err != nil {
			return err
		}
		if x.commitTime.IsZero() {
			// No git history is read: the newest mtime of the starting
			// tarball stands in for the commit time (SOURCE_DATE_EPOCH).
			t, err := newestMtime(ctx, start)
			if err != nil {
				return err
			}
			x.commitTime = t
			x.event(name, "source", "SOURCE_DATE_EPOCH %d: the newest mtime in %s (%s)", t.Unix(), filepath.Base(start), t.Format(time.RFC3339))
		}
	}
	user := x.r.Env.User
	if user == "" {
		user = "root"
	}
	if x.o.backend == BackendHost {
		user = "" // the host backend runs as the calling user
	}
	home := "/root"
	if user != "" && !isRoot(user) {
		home = BuildHome
	}
	if x.rep.Env != nil && user != "" {
		x.rep.Env.User = user
	}
	sess, err := x.o.engine.Start(ctx, engine.Spec{
		Image:   env.image,
		Network: false,
		User:    user,
		Env:     buildEnvVars(env.sourceDateEpoch(a), home),
		WorkDir: SrcDir,
		CapAdd:  x.r.Env.CapAdd,
		Memory:  parseMemory(x.r.Env.Memory),
		Keep:    x.o.keep,
		Name:    containerName(x.r, name),
	})
	if err != nil {
		return fmt.Errorf("runner: starting the build environment: %w", err)
	}
	defer func() {
		if cerr := sess.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = cerr
		}
	}()
	x.event(name, "env", "started %s session %s", x.o.backend, shortID(sess.ID()))

	x.event(name, "source", "copying the source (from %s, mtime policy %s) and inputs into %s", orGit(a.From), a.Mtime, WorkDir)
	if err := env.copyWorkspace(ctx, sess, a.Mtime, start); err != nil {
		return err
	}
	if home == BuildHome {
		if err := env.handOver(ctx, sess, name, user); err != nil {
			return err
		}
	}

	if env.probe {
		if err := x.probeTools(ctx, sess); err != nil {
			return err
		}
		env.probe = false
	}

	umask := x.r.Env.Umask
	if umask == "" {
		umask = "0022"
	}
	for i, c := range a.Commands {
		x.event(name, "build", "[%d/%d] %s", i+1, len(a.Commands), c)
		fmt.Fprintf(x.o.log, "==> %s: step %d/%d: %s\n", name, i+1, len(a.Commands), c)
		start := time.Now()
		code, err := sess.Exec(ctx, engine.ExecSpec{
			Cmd:    []string{"/bin/sh", "-c", "umask " + umask + " && " + c},
			Dir:    SrcDir,
			Stdout: x.o.log,
			Stderr: x.o.log,
		})
		step := report.Step{Artifact: name, Name: fmt.Sprintf("build %d", i+1), Command: c, ExitCode: code, Seconds: time.Since(start).Round(time.Millisecond).Seconds()}
		x.rep.Steps = append(x.rep.Steps, step)
		if err != nil {
			return fmt.Errorf("runner: artifact %s: running %q: %w", name, c, err)
		}
		if code != 0 {
			return &StepError{Artifact: name, Command: c, ExitCode: code}
		}
	}
	for _, n := range x.r.SharedOutputs(name) {
		outPath := path.Join(SrcDir, x.r.Artifacts[n].Output)
		x.event(n, "copy", "copying %s out", outPath)
		if err := os.MkdirAll(filepath.Dir(outs[n]), 0o755); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		if err := writeAtomic(outs[n], func(w io.Writer) error {
			return sess.CopyOut(ctx, outPath, w)
		}); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			copied[n] = fmt.Errorf("runner: artifact %s: the build of %s left no file %s: %w", n, name, x.r.Artifacts[n].Output, err)
		}
	}
	return nil
}

// BuildHome is HOME for a build user other than root: a directory of the
// workspace the user owns (the image's home directory of that user, if
// any, may not exist or not be writable, e.g. nobody's /nonexistent).
const BuildHome = WorkDir + "/.home"

// isRoot reports whether the engine user spec names root.
func isRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	return u == "root" || u == "0"
}

// handOver gives the workspace to the build user: as root, it creates
// BuildHome and changes the owner of everything under WorkDir (not
// following symbolic links) to user, so that the build can write into
// the checkout (autom4te.cache, configure output) and its home.
func (env *buildEnv) handOver(ctx context.Context, sess engine.Session, name, user string) error {
	x := env.x
	x.event(name, "source", "handing %s over to the build user %s (HOME=%s)", WorkDir, user, BuildHome)
	var out strings.Builder
	code, err := sess.Exec(ctx, engine.ExecSpec{
		Cmd:    []string{"/bin/sh", "-c", `mkdir -p "$1" && chown -hR "$2" "$3"`, "sh", BuildHome, user, WorkDir},
		User:   "0",
		Stdout: &out,
		Stderr: &out,
	})
	if err != nil {
		return fmt.Errorf("runner: giving %s to the build user %s: %w", WorkDir, user, err)
	}
	if code != 0 {
		return fmt.Errorf("runner: giving %s to the build user %s (env.user): chown exited with code %d: %s", WorkDir, user, code, strings.TrimSpace(out.String()))
	}
	return nil
}

func orGit(from string) string {
	if from == "" {
		return recipe.FromGit
	}
	return from
}

// copyWorkspace copies the source (the checkout, or the unpacked start
// tarball when start is not empty) and the inputs into the session.
func (env *buildEnv) copyWorkspace(ctx context.Context, sess engine.Session, policy recipe.MtimePolicy, start string) error {
	x := env.x
	pr, pw := io.Pipe()
	go func() {
		if start != "" {
			pw.CloseWithError(x.tarballSourceTar(ctx, pw, start, policy))
			return
		}
		pw.CloseWithError(x.sourceTar(ctx, pw, policy))
	}()
	if err := sess.CopyIn(ctx, WorkDir, pr); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("runner: copying the source into the build environment: %w", err)
	}
	for _, p := range env.inputs {
		if err := copyTarIn(ctx, sess, p); err != nil {
			return err
		}
	}
	return nil
}

func copyTarIn(ctx context.Context, sess engine.Session, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	defer f.Close()
	if err := sess.CopyIn(ctx, WorkDir, f); err != nil {
		return fmt.Errorf("runner: copying inputs into the build environment: %w", err)
	}
	return nil
}

// buildEnvVars is the environment of every build step.
func buildEnvVars(sourceDateEpoch int64, home string) []string {
	return []string{
		"SOURCE_DATE_EPOCH=" + strconv.FormatInt(sourceDateEpoch, 10),
		"TZ=UTC",
		"LC_ALL=C",
		"LANG=C",
		"HOME=" + home,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	}
}

func parseMemory(s string) int64 {
	if s == "" {
		return 0
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult, s = 1<<10, s[:len(s)-1]
	case "m":
		mult, s = 1<<20, s[:len(s)-1]
	case "g":
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, _ := strconv.ParseInt(s, 10, 64) // validated by pkg/recipe
	return n * mult
}

// containerName names build containers after the recipe and artifact,
// so `docker ps -a --filter name=verify-release-NAME-VERSION-` finds them.
func containerName(r *recipe.Recipe, artifact string) string {
	var b [4]byte
	rand.Read(b[:])
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return fmt.Sprintf("verify-release-%s-%s-%s-%x", clean(r.Name), clean(r.Version), clean(artifact), b)
}

func shortID(id string) string {
	if len(id) > 12 && !strings.Contains(id, "/") {
		return id[:12]
	}
	return id
}
