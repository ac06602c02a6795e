package gitarchive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// gitRunner runs git commands in one repository with a clean environment:
// variables that would redirect git away from the repository are dropped.
type gitRunner struct {
	bin       string
	dir       string
	env       []string
	commonDir string // $GIT_COMMON_DIR, set by openRepo
}

func newGitRunner(bin, dir string) *gitRunner {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_NAMESPACE",
			"GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_FLUSH":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GIT_FLUSH=1")
	return &gitRunner{bin: bin, dir: dir, env: env}
}

// command returns an unstarted git command.
func (g *gitRunner) command(ctx context.Context, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = g.dir
	cmd.Env = append(append([]string(nil), g.env...), extraEnv...)
	return cmd
}

// output runs git and returns its stdout; a failure is an error wrapping
// ErrGit with git's stderr.
func (g *gitRunner) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := g.command(ctx, nil, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{max: 8192, buf: &stderr}
	out, err := cmd.Output()
	if err != nil {
		return out, g.wrapErr(ctx, args, err, stderr.String())
	}
	return out, nil
}

func (g *gitRunner) wrapErr(ctx context.Context, args []string, err error, stderr string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &GitError{Args: args, Stderr: strings.TrimSpace(stderr), Err: err}
}

// GitError is a failed git command; errors.Is(err, ErrGit) is true and the
// underlying *exec.ExitError is reachable with errors.As.
type GitError struct {
	Args   []string
	Stderr string // git's message (truncated)
	Err    error
}

func (e *GitError) Error() string {
	msg := e.Stderr
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%v: git %s: %s", ErrGit, strings.Join(e.Args, " "), msg)
}

func (e *GitError) Unwrap() []error { return []error{ErrGit, e.Err} }

// proc is a running git process with piped stdin/stdout.
type proc struct {
	g      *gitRunner
	args   []string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *limitedBuffer
	ctx    context.Context
	once   sync.Once
	werr   error
}

func (g *gitRunner) start(ctx context.Context, extraEnv []string, withStdin bool, args ...string) (*proc, error) {
	cmd := g.command(ctx, extraEnv, args...)
	p := &proc{g: g, args: args, cmd: cmd, ctx: ctx, stderr: &limitedBuffer{max: 8192, buf: &bytes.Buffer{}}}
	cmd.Stderr = p.stderr
	var err error
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
	}
	if p.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting git: %w", ErrGit, err)
	}
	return p, nil
}

// wait closes stdin, waits for the process and returns its failure, if any.
func (p *proc) wait() error {
	p.once.Do(func() {
		if p.stdin != nil {
			p.stdin.Close()
		}
		if err := p.cmd.Wait(); err != nil {
			p.werr = p.g.wrapErr(p.ctx, p.args, err, p.stderr.String())
		}
	})
	return p.werr
}

// kill stops the process (used on error paths) and reaps it.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	_ = p.wait()
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf *bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
