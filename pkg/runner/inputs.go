package runner

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/source"
)

func writeAtomic(dst string, fn func(w io.Writer) error) error {
	if err := atomicfile.Write(dst, fn); err != nil {
		return fmt.Errorf("runner: writing %s: %w", dst, err)
	}
	return nil
}

// InputError is a failure to obtain or lay out one [[inputs]] entry.
type InputError struct {
	Name string // the input's name
	// Local is the local clone (git input) or file (url input) given with
	// WithInput, or "".
	Local string
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("input %s: %v", e.Name, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// checkInputs refuses WithInput names that are not inputs of r, and
// inputs that cannot be given locally (those from a Debian package, which
// are checked through the archive's signed chain).
func checkInputs(r *recipe.Recipe, local map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(local)) {
		i := slices.IndexFunc(r.Inputs, func(in recipe.Input) bool { return in.Name == name })
		switch {
		case i < 0:
			names := make([]string, len(r.Inputs))
			for j, in := range r.Inputs {
				names[j] = in.Name
			}
			return fmt.Errorf("recipe %s has no input %q (it has %v)", r.ID(), name, names)
		case r.Inputs[i].Debian != nil:
			return fmt.Errorf("input %s of recipe %s is a file of a Debian package, checked through the archive's signed chain; only git and url inputs can be given locally", name, r.ID())
		}
	}
	return nil
}

// writeInput writes one pinned input as a tar, laid out at in.Path.
func (x *run) writeInput(ctx context.Context, w io.Writer, in recipe.Input) error {
	if in.Debian != nil {
		return x.writeDebianInput(ctx, w, in)
	}
	local := x.o.localInputs[in.Name]
	if in.Git != "" {
		m := local
		if m != "" {
			if _, err := source.OpenRepo(ctx, m); err != nil {
				return err
			}
			if _, err := source.CommitTime(ctx, m, in.Commit); err != nil {
				return fmt.Errorf("the pinned commit %s is not in %s: %w", in.Commit, m, err)
			}
		} else {
			mirror, release, err := source.Mirror(ctx, in.Git, x.o.cacheDir)
			if err != nil {
				return err
			}
			defer release()
			m = mirror
		}
		return x.writeCommitInput(ctx, w, in, m)
	}
	if local != "" {
		// The local copy is checked while it is written, not copied
		// into the cache: it is only read.
		x.event("", "inputs", "input %s: reading %s instead of fetching %s", in.Name, local, in.URL)
		return x.writeFileInput(w, in, local, in.SHA256)
	}
	p, err := x.fetchPinned(ctx, in.URL, in.SHA256)
	if err != nil {
		return err
	}
	return x.writeFileInput(w, in, p, in.SHA256)
}

// writeDebianInput lays out a file of a Debian binary package (fetched
// and checked through the archive's signed chain), or, with a commit,
// the checkout of that commit from the file as a git bundle.
func (x *run) writeDebianInput(ctx context.Context, w io.Writer, in recipe.Input) error {
	d := in.Debian
	c := x.debianClient()
	x.event("", "inputs", "input %s: /%s of Debian %s's %s %s", in.Name, d.File, d.Suite, d.Package, d.Version)
	pkg, err := c.FindPackage(ctx, d.Suite, d.Package, d.Version, "amd64")
	if err != nil {
		return err
	}
	file, err := c.ExtractFile(ctx, pkg, d.File)
	if err != nil {
		return err
	}
	if in.Commit == "" {
		return x.writeFileInput(w, in, file, "")
	}
	repo, release, err := source.Mirror(ctx, file, x.o.cacheDir)
	if err != nil {
		return err
	}
	defer release()
	if err := source.HasCommit(ctx, repo, in.Commit); err != nil {
		newest, _ := source.NewestCommit(ctx, repo)
		return fmt.Errorf("input %s: the git bundle /%s of %s %s does not contain commit %s (its newest commit is %s)", in.Name, d.File, d.Package, d.Version, in.Commit, newest)
	}
	return x.writeCommitInput(ctx, w, in, repo)
}

// writeCommitInput writes the checkout of in.Commit from repo at in.Path,
// every mtime the commit's time.
func (x *run) writeCommitInput(ctx context.Context, w io.Writer, in recipe.Input, repo string) error {
	dir := filepath.Join(x.work, "input-"+in.Name)
	if err := source.Checkout(ctx, repo, in.Commit, dir); err != nil {
		return err
	}
	t, err := source.CommitTime(ctx, repo, in.Commit)
	if err != nil {
		return err
	}
	return source.WriteTree(ctx, w, dir, source.TreeOptions{Prefix: in.Path, Policy: recipe.MtimeCommit, CommitTime: t})
}

// writeFileInput writes the file p as the input at in.Path. With want,
// the bytes written must have that sha256: the check is made on the very
// bytes laid out, and a mismatch is an error naming p and both digests.
func (x *run) writeFileInput(w io.Writer, in recipe.Input, p, want string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: in.Path, Mode: 0o644, Size: st.Size(), ModTime: x.commitTime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), f); err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return fmt.Errorf("%s has sha256 %s, the recipe pins %s (for %s)", p, got, want, in.URL)
	}
	return tw.Close()
}
