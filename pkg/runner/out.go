package runner

import (
	"context"
	"path/filepath"
)

// writeOut writes report.json into the out directory, if any.
func (x *run) writeOut(ctx context.Context) error {
	if x.outDir == "" {
		return nil
	}
	return writeAtomic(filepath.Join(x.outDir, "report.json"), x.rep.Write)
}
