package runner

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// writeInput writes one pinned input as a tar, laid out at in.Path.
func (x *run) writeInput(ctx context.Context, w io.Writer, in recipe.Input) error {
	if in.Git != "" {
		m, release, err := source.Mirror(ctx, in.Git, x.o.cacheDir)
		if err != nil {
			return err
		}
		defer release()
		dir := filepath.Join(x.work, "input-"+in.Name)
		if err := source.Checkout(ctx, m, in.Commit, dir); err != nil {
			return err
		}
		t, err := source.CommitTime(ctx, m, in.Commit)
		if err != nil {
			return err
		}
		return source.WriteTree(ctx, w, dir, source.TreeOptions{Prefix: in.Path, Policy: recipe.MtimeCommit, CommitTime: t})
	}
	p, err := x.fetchPinned(ctx, in.URL, in.SHA256)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: in.Path, Mode: 0o644, Size: st.Size(), ModTime: x.commitTime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return err
	}
	return tw.Close()
}
