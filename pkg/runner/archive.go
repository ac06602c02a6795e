package runner

import (
	"context"
	"io"

	"gitlab.com/verify-release/verify-release/pkg/gitarchive"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// gitArchive re-creates a git-archive artifact on this machine, with our
// own tar writer (byte-identical to git archive) and the named compressor.
func (x *run) gitArchive(ctx context.Context, a *recipe.Artifact, out string) error {
	level := a.Level
	if level == 0 {
		level = -1
	}
	return writeAtomic(out, func(w io.Writer) error {
		_, err := gitarchive.Write(ctx, w, x.repo, x.r.Source.Commit,
			gitarchive.WithPrefix(a.Prefix),
			gitarchive.WithCompression(a.Compress, level))
		return err
	})
}
