package gitarchive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// target is a resolved ref: the tree to archive and, for commits and tags,
// the commit whose id and committer time go into the archive.
type target struct {
	tree       string
	commit     string // "" for a bare tree
	commitTime uint64 // committer time as git parses it (commit->date)
}

// openRepo checks that dir is the top of a git repository (bare or not).
func openRepo(ctx context.Context, gitBin, dir string) (*gitRunner, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRepository, dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s: not a directory", ErrNotRepository, dir)
	}
	g := newGitRunner(gitBin, dir)
	out, err := g.output(ctx, "rev-parse", "--is-bare-repository", "--show-prefix")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRepository, dir, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) >= 2 && lines[0] == "false" && lines[1] != "" {
		// git archive run in a subdirectory archives only that subdirectory;
		// require the top so the result does not depend on where we stand.
		return nil, fmt.Errorf("%w: %s is a subdirectory (%s) of a working tree, not its top", ErrNotRepository, dir, strings.TrimSuffix(lines[1], "/"))
	}
	return g, nil
}

// resolve finds the tree and commit for ref the way git archive does:
// tags are peeled to their commit, a tree (or a tag of a tree) has no commit.
func resolve(ctx context.Context, g *gitRunner, ref string) (*target, error) {
	if ref == "" || strings.ContainsAny(ref, "\x00\n") {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRef, ref)
	}
	out, err := g.output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %q in %s", ErrUnknownRef, ref, g.dir)
	}
	oid := strings.TrimSpace(string(out))
	p, err := g.start(ctx, nil, true, "cat-file", "--batch-check")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(p.stdin, "%s^{tree}\n%s^{commit}\n", oid, oid)
	p.stdin.Close()
	var buf bytes.Buffer
	_, rerr := buf.ReadFrom(p.stdout)
	if err := p.wait(); err != nil {
		return nil, err
	}
	if rerr != nil {
		return nil, rerr
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("%w: unexpected cat-file output %q", ErrGit, buf.String())
	}
	t := &target{}
	f := strings.Fields(lines[0])
	if len(f) != 3 || f[1] != "tree" {
		if strings.HasSuffix(lines[0], " missing") {
			return nil, fmt.Errorf("%w: %q is not a tree-ish in %s (or its objects are missing)", ErrUnknownRef, ref, g.dir)
		}
		return nil, fmt.Errorf("%w: %q: %s", ErrUnknownRef, ref, lines[0])
	}
	t.tree = f[0]
	if f := strings.Fields(lines[1]); len(f) == 3 && f[1] == "commit" {
		t.commit = f[0]
		body, err := g.output(ctx, "cat-file", "commit", t.commit)
		if err != nil {
			return nil, &ObjectError{OID: t.commit, Err: ErrCorruptObject}
		}
		t.commitTime = parseCommitDate(body)
	}
	return t, nil
}

// parseCommitDate mirrors git's parse_commit_date: skip the tree and parent
// lines, expect author then committer, and parse the number after '>'.
// Anything malformed gives 0, as in git.
func parseCommitDate(buf []byte) uint64 {
	line := func() []byte {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			l := buf
			buf = nil
			return l
		}
		l := buf[:i]
		buf = buf[i+1:]
		return l
	}
	rest := buf
	if bytes.HasPrefix(rest, []byte("tree ")) {
		line()
	}
	for bytes.HasPrefix(buf, []byte("parent ")) {
		line()
	}
	if len(buf) <= 6 || !bytes.HasPrefix(buf, []byte("author")) {
		return 0
	}
	line()
	if len(buf) <= 9 || !bytes.HasPrefix(buf, []byte("committer")) {
		return 0
	}
	i := bytes.IndexByte(buf, '>')
	if i < 0 {
		return 0
	}
	buf = buf[i+1:]
	j := bytes.IndexByte(buf, '\n')
	if j < 0 {
		return 0
	}
	s := strings.TrimLeft(string(buf[:j]), " \t")
	k := 0
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	v, err := strconv.ParseUint(s[:k], 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return ^uint64(0)
		}
		return 0
	}
	return v
}

// ResolveCommit returns the commit id ref names, peeling annotated tags; use
// it to check a pinned commit. A ref naming a tree is an ErrUnknownRef.
func ResolveCommit(ctx context.Context, repoDir, ref string, opts ...Option) (string, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return "", err
	}
	g, err := openRepo(ctx, o.git, repoDir)
	if err != nil {
		return "", err
	}
	t, err := resolve(ctx, g, ref)
	if err != nil {
		return "", err
	}
	if t.commit == "" {
		return "", fmt.Errorf("%w: %q names a tree, not a commit", ErrUnknownRef, ref)
	}
	return t.commit, nil
}

// repoConfig is the configuration git archive reads.
type repoConfig struct {
	umask             uint32
	bigFileThreshold  uint64
	autocrlf          string // "false", "true", "input"
	eolCRLF           bool   // core.eol=crlf
	filterDrivers     map[string]bool
	objectFormatHexSz int
}

func readConfig(ctx context.Context, g *gitRunner) (*repoConfig, error) {
	c := &repoConfig{umask: 0o002, bigFileThreshold: 512 << 20, autocrlf: "false", filterDrivers: map[string]bool{}}
	out, err := g.output(ctx, "config", "-z", "--get-regexp", `^(tar\.umask|core\.bigfilethreshold|core\.autocrlf|core\.eol|filter\..*\.(smudge|process))$`)
	if err != nil && len(out) == 0 && !strings.Contains(err.Error(), "exit status 1") {
		// exit status 1 means no key matched
		return nil, err
	}
	var haveUmask, haveBig bool
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		key, val, _ := strings.Cut(rec, "\n")
		switch {
		case key == "tar.umask":
			haveUmask = true
			if val == "user" {
				m, err := processUmask()
				if err != nil {
					return nil, err
				}
				c.umask = m
				haveUmask = false
			}
		case key == "core.bigfilethreshold":
			haveBig = true
		case key == "core.autocrlf":
			switch strings.ToLower(val) {
			case "input":
				c.autocrlf = "input"
			case "true", "yes", "on":
				c.autocrlf = "true"
			case "false", "no", "off", "":
				c.autocrlf = "false"
			default:
				if n, err := strconv.ParseInt(val, 0, 64); err == nil && n != 0 {
					c.autocrlf = "true"
				} else {
					c.autocrlf = "false"
				}
			}
		case key == "core.eol":
			c.eolCRLF = strings.EqualFold(val, "crlf")
		case strings.HasPrefix(key, "filter."):
			name := strings.TrimPrefix(key, "filter.")
			name = name[:strings.LastIndexByte(name, '.')]
			c.filterDrivers[name] = true
		}
	}
	if haveUmask {
		v, err := g.output(ctx, "config", "--int", "--get", "tar.umask")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("gitarchive: tar.umask %q: %w", strings.TrimSpace(string(v)), err)
		}
		c.umask = uint32(n)
	}
	if haveBig {
		v, err := g.output(ctx, "config", "--int", "--get", "core.bigfilethreshold")
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(v)), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("gitarchive: core.bigFileThreshold %q: %w", strings.TrimSpace(string(v)), err)
		}
		c.bigFileThreshold = n
	}
	return c, nil
}

// processUmask reads the umask without changing it (tar.umask=user).
func processUmask() (uint32, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("gitarchive: tar.umask=user: reading umask: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0, fmt.Errorf("gitarchive: tar.umask=user: %w", err)
			}
			return uint32(n), nil
		}
	}
	return 0, errors.New("gitarchive: tar.umask=user: no Umask in /proc/self/status")
}
