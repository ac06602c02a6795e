package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File is an output file being written. Call Commit to publish it or Abort
// (safe to defer, a no-op after Commit) to remove the temporary file.
type File struct {
	*os.File
	dest    string
	done    bool
	inPlace bool // dest is a device or FIFO, written directly
}

// Create starts writing dest. The temporary file is created beside dest so
// the final rename is atomic. When dest exists and is not a regular file
// (a device such as /dev/null, a FIFO), it is written in place instead:
// renaming over it would replace the device with a file.
func Create(dest string) (*File, error) {
	if st, err := os.Stat(dest); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		f, err := os.OpenFile(dest, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("creating %s: %w", dest, err)
		}
		return &File{File: f, dest: dest, inPlace: true}, nil
	}
	dir := filepath.Dir(dest)
	f, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", dest, err)
	}
	return &File{File: f, dest: dest}, nil
}

// Commit flushes, closes and renames the temporary file to its destination
// with mode 0644.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	f.done = true
	if f.inPlace {
		if err := f.File.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", f.dest, err)
		}
		return nil
	}
	name := f.File.Name()
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	if err := f.File.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	if err := os.Chmod(name, 0o644); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	if err := os.Rename(name, f.dest); err != nil {
		os.Remove(name)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	return nil
}

// Abort removes the temporary file. It is a no-op after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if !f.inPlace {
		os.Remove(f.File.Name())
	}
}

// Write writes dest atomically from the output of fn.
func Write(dest string, fn func(w io.Writer) error) error {
	f, err := Create(dest)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := fn(f); err != nil {
		return err
	}
	return f.Commit()
}
