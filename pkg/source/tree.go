package source

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// TreeOptions says how WriteTree names and dates the files it writes.
type TreeOptions struct {
	// Prefix is prepended to every name (e.g. "src/").
	Prefix string
	// Policy is the recipe's mtime policy.
	Policy recipe.MtimePolicy
	// CommitTime is used by MtimeCommit for every entry, and by
	// MtimePerFile for entries with no history (directories, .git).
	CommitTime time.Time
	// FileTimes are the per-file times for MtimePerFile (see FileTimes).
	FileTimes map[string]time.Time
	// UID and GID are recorded in every header (default 0, root).
	UID, GID int
}

// WriteTree writes the directory root as a tar stream to w, in sorted
// order, with modes from the file system, owners from opts and mtimes set
// by the policy. It is how a checkout enters a build environment.
func WriteTree(ctx context.Context, w io.Writer, root string, opts TreeOptions) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			if opts.Prefix == "" {
				return nil
			}
			rel = ""
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{
			Name:    path.Join(opts.Prefix, rel),
			Mode:    int64(info.Mode().Perm()),
			Uid:     opts.UID,
			Gid:     opts.GID,
			ModTime: mtime(opts, rel, info),
			Format:  tar.FormatPAX,
		}
		switch {
		case info.Mode().IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
		case info.Mode().IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = info.Size()
		default:
			return fmt.Errorf("source: %s: unsupported file type %s", p, info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("source: packing %s: %w", root, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("source: packing %s: %w", root, err)
	}
	return nil
}

func mtime(opts TreeOptions, rel string, info fs.FileInfo) time.Time {
	switch opts.Policy {
	case recipe.MtimeNone:
		return info.ModTime().UTC().Truncate(time.Second)
	case recipe.MtimePerFile:
		if t, ok := opts.FileTimes[rel]; ok {
			return t
		}
	}
	return opts.CommitTime
}
