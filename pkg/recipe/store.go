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
	if r.Name != name {
		return nil, &Error{File: s.location(rel), Line: 1, Key: "name", Msg: fmt.Sprintf("recipe says name = %q but its path says %s", r.Name, name)}
	}
	if r.Version != version {
		return nil, &Error{File: s.location(rel), Key: "version", Msg: fmt.Sprintf("recipe says version = %q but its path says %s", r.Version, version)}
	}
	if r.Signature != nil {
		if _, err := fs.Stat(s.FS, r.Signature.Key); errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: s.location(rel), Key: "signature.key", Msg: fmt.Sprintf("key file %s does not exist", s.location(r.Signature.Key))}
		} else if err != nil {
			return nil, &Error{File: s.location(rel), Key: "signature.key", Msg: fmt.Sprintf("key file %s: %v", s.location(r.Signature.Key), errors.Unwrap(err))}
		}
	}
	return r, nil
}

// LoadPath loads the recipe file at file with the rules Find applies: the
// file is DIR/NAME/VERSION.toml, its name and version say the same, and
// its signature key exists under DIR. It returns the recipe and the store
// DIR, which holds its key files and lock.
func LoadPath(file string, opts ...ParseOption) (*Recipe, *Store, error) {
	version, ok := strings.CutSuffix(filepath.Base(file), ".toml")
	if !ok {
		return nil, nil, &Error{File: file, Msg: "a recipe file is named VERSION.toml"}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading recipe: %w", err)
	}
	name := filepath.Base(filepath.Dir(abs))
	if !nameRE.MatchString(name) {
		return nil, nil, &Error{File: file, Msg: fmt.Sprintf("a recipe lives at NAME/VERSION.toml, but its directory %q is not a project name (move it to e.g. recipes/NAME/%s.toml)", name, version)}
	}
	if _, err := os.Stat(file); err != nil {
		return nil, nil, fmt.Errorf("reading recipe: %w", err)
	}
	dir := filepath.Join(filepath.Dir(file), "..")
	st := DirStore(dir)
	r, err := st.Find(name, version, opts...)
	if err != nil {
		// Name the file as the caller did.
		loc := st.location(path.Join(name, version+".toml"))
		var es Errors
		var e1 *Error
		if errors.As(err, &e1) {
			es = Errors{e1}
		} else {
			errors.As(err, &es)
		}
		for _, e := range es {
			if e.File == loc {
				e.File = file
			}
			if e.Key == "name" {
				e.Msg += " (a recipe lives at NAME/VERSION.toml: move it to a directory named after the project)"
			}
		}
		return nil, nil, err
	}
	r.Path = file
	return r, st, nil
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
