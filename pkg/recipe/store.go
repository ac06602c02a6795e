package recipe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotFound is matched when no recipe exists for a name and version.
var ErrNotFound = errors.New("recipe: no such recipe")

// Store is a directory of recipes laid out as NAME/VERSION.toml, with
// key files under keys/.
type Store struct {
	// FS is the directory's contents.
	FS fs.FS
	// Dir is the directory on disk, or "" for a store that is not on disk
	// (the recipes built into the binary).
	Dir string
}

// DirStore returns the store for a directory on disk.
func DirStore(dir string) *Store { return &Store{FS: os.DirFS(dir), Dir: dir} }

// Name describes the store for messages.
func (s *Store) Name() string {
	if s.Dir == "" {
		return "built-in recipes"
	}
	return s.Dir
}

// location returns how a file in the store is named in messages and
// reports: a path on disk, or "builtin:recipes/REL".
func (s *Store) location(rel string) string {
	if s.Dir == "" {
		return "builtin:recipes/" + rel
	}
	return filepath.Join(s.Dir, filepath.FromSlash(rel))
}

// Find loads NAME/VERSION.toml from the store.
func (s *Store) Find(name, version string, opts ...ParseOption) (*Recipe, error) {
	if !nameRE.MatchString(name) || !versionRE.MatchString(version) {
		return nil, fmt.Errorf("%w: %q %q is not a valid name and version", ErrNotFound, name, version)
	}
	rel := path.Join(name, version+".toml")
	f, err := s.FS.Open(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %s %s in %s", ErrNotFound, name, version, s.Name())
	}
	if err != nil {
		return nil, fmt.Errorf("reading recipe %s: %w", s.location(rel), err)
	}
	data, err := readLimited(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading recipe %s: %w", s.location(rel), err)
	}
	r, err := Parse(s.location(rel), data, opts...)
	if err != nil {
		return nil, err
	}
	if r.Name != name || r.Version != version {
		return nil, &Error{File: s.location(rel), Key: "name", Msg: fmt.Sprintf("recipe says %s %s but its path says %s %s", r.Name, r.Version, name, version)}
	}
	return r, nil
}

// ReadFile reads a file named relative to the store root (a signature key,
// a lock file).
func (s *Store) ReadFile(rel string) ([]byte, error) {
	data, err := fs.ReadFile(s.FS, rel)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.location(rel), err)
	}
	return data, nil
}

// Entry is one recipe in a listing.
type Entry struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Path    string `json:"path"`
}

// List returns every NAME/VERSION.toml in the store, sorted by name and
// then version.
func (s *Store) List() ([]Entry, error) {
	matches, err := fs.Glob(s.FS, "*/*.toml")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.Name(), err)
	}
	var out []Entry
	for _, m := range matches {
		dir, file := path.Split(m)
		out = append(out, Entry{Name: strings.TrimSuffix(dir, "/"), Version: strings.TrimSuffix(file, ".toml"), Path: s.location(m)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}
