package gitarchive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	out, err := g.output(ctx, "rev-parse", "--git-common-dir", "--is-bare-repository", "--show-prefix")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNotRepository, dir, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) >= 3 && lines[1] == "false" && lines[2] != "" {
		// git archive run in a subdirectory archives only that subdirectory;
		// require the top so the result does not depend on where we stand.
		return nil, fmt.Errorf("%w: %s is a subdirectory (%s) of a working tree, not its top", ErrNotRepository, dir, strings.TrimSuffix(lines[2], "/"))
	}
	g.commonDir = lines[0]
	if !filepath.IsAbs(g.commonDir) {
		g.commonDir = filepath.Join(dir, g.commonDir)
	}
	return g, nil
}

// resolve finds the tree and commit for ref the way git archive does:
// tags are peeled to their commit, a tree (or a tag of a tree) has no commit.
// One cat-file --batch answers both peelings and returns the commit.
func resolve(ctx context.Context, g *gitRunner, ref string) (*target, error) {
	if ref == "" || strings.ContainsAny(ref, "\x00\n") || strings.TrimSpace(ref) != ref {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRef, ref)
	}
	name := ref
	if strings.Contains(ref, ":") {
		// REV:PATH names a tree; "REV:PATH^{tree}" would be a path.
		out, err := g.output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", ref)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %q in %s", ErrUnknownRef, ref, g.dir)
		}
		name = strings.TrimSpace(string(out))
	}
	p, err := g.start(ctx, nil, true, "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	defer p.kill()
	fmt.Fprintf(p.stdin, "%s^{tree}\n%s^{commit}\n", name, name)
	p.stdin.Close()
	r := bufio.NewReader(p.stdout)
	read := func() (oid, typ string, body []byte, err error) {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", "", nil, fmt.Errorf("%w: cat-file: %w", ErrGit, err)
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return "", "", nil, nil // "NAME missing" or "NAME ambiguous"
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return "", "", nil, fmt.Errorf("%w: cat-file: %q", ErrGit, line)
		}
		body = make([]byte, n+1)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", "", nil, fmt.Errorf("%w: cat-file: %w", ErrGit, err)
		}
		return f[0], f[1], body[:n], nil
	}
	t := &target{}
	oid, typ, _, err := read()
	if err == nil && typ == "tree" {
		t.tree = oid
		var body []byte
		oid, typ, body, err = read()
		if err == nil && typ == "commit" {
			t.commit = oid
			t.commitTime = parseCommitDate(body)
		}
	}
	if werr := p.wait(); werr != nil {
		return nil, objectErr(oid, "", werr)
	}
	if err != nil {
		return nil, err
	}
	if t.tree == "" {
		return nil, fmt.Errorf("%w: %q is not a commit, tag or tree in %s", ErrUnknownRef, ref, g.dir)
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
	attributesFile    string // core.attributesFile, "" if unset
	objectFormatHexSz int
}

func readConfig(ctx context.Context, g *gitRunner) (*repoConfig, error) {
	c := &repoConfig{umask: 0o002, bigFileThreshold: 512 << 20, autocrlf: "false", filterDrivers: map[string]bool{}}
	out, err := g.output(ctx, "config", "-z", "--get-regexp", `^(tar\.umask|core\.bigfilethreshold|core\.autocrlf|core\.eol|core\.attributesfile|filter\..*\.(smudge|process))$`)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		// exit status 1 means no key matched
		return nil, err
	}
	var haveUmask, haveBig, haveAttrFile bool
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
		case key == "core.attributesfile":
			haveAttrFile = true
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
	if haveAttrFile {
		v, err := g.output(ctx, "config", "--path", "--get", "core.attributesFile")
		if err != nil {
			return nil, err
		}
		c.attributesFile = strings.TrimRight(string(v), "\n")
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
