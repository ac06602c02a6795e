package audit

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Group says where a dist-only member came from.
type Group string

// The groups, in the order a report shows them: the first two need a
// human, the rest are explained.
const (
	// DiffersFromInput: a file at the same path in a pinned input has
	// other bytes, and the re-created tarball does not explain it.
	DiffersFromInput Group = "differs-from-input"
	// Unexplained: not in git, not regenerated, not from any input.
	Unexplained Group = "unexplained"
	// RegeneratedDiffers: the re-created tarball has the member with other
	// bytes (a generated file whose generator differs, e.g. a version stamp).
	RegeneratedDiffers Group = "regenerated-differs"
	// FromInput: the same bytes as the file at the same path in an input.
	FromInput Group = "from-input"
	// Regenerated: the re-created tarball has the same bytes.
	Regenerated Group = "regenerated"
)

// Groups lists the groups in report order.
var Groups = []Group{DiffersFromInput, Unexplained, RegeneratedDiffers, FromInput, Regenerated}

// NeedsReview reports whether members of g must be looked at by a human.
func (g Group) NeedsReview() bool { return g == DiffersFromInput || g == Unexplained }

// ErrAudit is matched (errors.Is) by errors reading the audit's inputs.
var ErrAudit = errors.New("audit")

// Input is a pinned input's checkout.
type Input struct {
	Name string
	Dir  string
}

// Options are the trees a dist tarball is audited against.
type Options struct {
	// Src is the release's git tree as a tarball (its -src tarball or a
	// git archive of the tag); required.
	Src string
	// Regenerated is the re-created dist tarball ("" when there is none).
	Regenerated string
	// Inputs are the recipe's pinned inputs (e.g. gnulib).
	Inputs []Input
	// MaxDiffLines caps the changed lines shown per member (default 40).
	MaxDiffLines int
}

// Member is one member of the dist tarball that is not in git.
type Member struct {
	// Path is relative to the archive's top directory.
	Path  string `json:"path"`
	Group Group  `json:"group"`
	// Input names the input the member was compared with.
	Input string `json:"input,omitempty"`
	// Serial and InputSerial are the "# serial N" lines of an m4 file and
	// of the input's copy, when they differ.
	Serial      string `json:"serial,omitempty"`
	InputSerial string `json:"input_serial,omitempty"`
	// Lines are the changed lines against the input's file ("-" removed,
	// "+" added), capped at MaxDiffLines.
	Lines []string `json:"lines,omitempty"`
}

// Report is the audit of one dist tarball.
type Report struct {
	// InGit counts the members that are in the git tree.
	InGit int `json:"in_git"`
	// Members are the dist-only members (directories left out), by group
	// in Groups order, then by path.
	Members []Member `json:"members"`
	// Counts per group.
	Counts map[Group]int `json:"counts"`
}

// Review returns the members that need a human: differing from an input,
// or unexplained.
func (r *Report) Review() []Member {
	var out []Member
	for _, m := range r.Members {
		if m.Group.NeedsReview() {
			out = append(out, m)
		}
	}
	return out
}

// Summary is one line: the counts per group, the groups that need review
// first.
func (r *Report) Summary() string {
	parts := []string{fmt.Sprintf("%d in git", r.InGit)}
	for _, g := range Groups {
		if n := r.Counts[g]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, g))
		}
	}
	return strings.Join(parts, " · ")
}

// maxContent bounds the bytes kept of a member that has an input
// counterpart (to show its changed lines).
const maxContent = 4 << 20

// Audit audits the dist tarball at dist. The git tree and the re-created
// tarball are read once into their member digests; dist is streamed, and
// only the member being classified is held, when an input has a file at
// its path.
func Audit(ctx context.Context, dist string, o Options) (*Report, error) {
	if o.Src == "" {
		return nil, fmt.Errorf("%w: the git tree (a -src tarball) is required", ErrAudit)
	}
	if o.MaxDiffLines <= 0 {
		o.MaxDiffLines = 40
	}
	src, err := digests(ctx, o.Src)
	if err != nil {
		return nil, err
	}
	var regen map[string]string
	if o.Regenerated != "" {
		if regen, err = digests(ctx, o.Regenerated); err != nil {
			return nil, err
		}
	}
	rep := &Report{Counts: map[Group]int{}, Members: []Member{}}
	// in is the input file at the current member's path, found when its
	// content is routed (only such members' content is kept).
	var in inputMatch
	keep := func(rel string) bool {
		in = inputMatch{}
		if _, ok := src[rel]; !ok {
			in = inputFile(o.Inputs, rel)
		}
		return in.path != ""
	}
	err = walk(ctx, dist, keep, func(rel string, m *tarball.Member, content []byte) error {
		if _, ok := src[rel]; ok {
			rep.InGit++
			return nil
		}
		if m.Typeflag == tar.TypeDir {
			return nil
		}
		mem := Member{Path: rel}
		sha, inRegen := regen[rel]
		switch {
		case inRegen && sha == m.SHA256:
			mem.Group = Regenerated
		case in.path != "":
			mem.Input = in.name
			want, err := os.ReadFile(in.path)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrAudit, err)
			}
			if bytes.Equal(want, content) {
				mem.Group = FromInput
				break
			}
			mem.Group = DiffersFromInput
			if s, w := serial(content), serial(want); s != w {
				mem.Serial, mem.InputSerial = s, w
			}
			mem.Lines = changed(want, content, o.MaxDiffLines)
		case inRegen:
			mem.Group = RegeneratedDiffers
		default:
			mem.Group = Unexplained
		}
		rep.Members = append(rep.Members, mem)
		rep.Counts[mem.Group]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	rank := map[Group]int{}
	for i, g := range Groups {
		rank[g] = i
	}
	sort.Slice(rep.Members, func(i, j int) bool {
		a, b := rep.Members[i], rep.Members[j]
		if a.Group != b.Group {
			return rank[a.Group] < rank[b.Group]
		}
		return a.Path < b.Path
	})
	return rep, nil
}

// digests maps a tarball's member paths (relative to its top directory)
// to their content sha256.
func digests(ctx context.Context, file string) (map[string]string, error) {
	out := map[string]string{}
	err := walk(ctx, file, nil, func(rel string, m *tarball.Member, _ []byte) error {
		out[rel] = m.SHA256
		return nil
	})
	return out, err
}

// walk calls fn for every member of a tarball below its top directory,
// with the content of those keep selects (up to maxContent bytes).
func walk(ctx context.Context, file string, keep func(rel string) bool, fn func(rel string, m *tarball.Member, content []byte) error) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAudit, err)
	}
	defer f.Close()
	var buf *bytes.Buffer
	tr, err := tarball.Open(ctx, f, tarball.WithName(file), tarball.WithContent(func(m *tarball.Member) io.Writer {
		buf = nil
		if keep != nil && keep(rel(m.Name)) && m.Size <= maxContent {
			buf = &bytes.Buffer{}
			return buf
		}
		return nil
	}))
	if err != nil {
		return err
	}
	defer tr.Close()
	for {
		m, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r := rel(m.Name)
		if r == "" {
			continue
		}
		var content []byte
		if buf != nil {
			content = buf.Bytes()
		}
		if err := fn(r, m, content); err != nil {
			return err
		}
	}
}

// rel strips the archive's top directory and a trailing slash.
func rel(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// inputMatch is the file at a member's path in one of the inputs.
type inputMatch struct{ name, path string }

// inputFile returns the file at rel in the first input that has one.
func inputFile(inputs []Input, rel string) inputMatch {
	for _, in := range inputs {
		p := filepath.Join(in.Dir, filepath.FromSlash(rel))
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			return inputMatch{in.Name, p}
		}
	}
	return inputMatch{}
}

var serialRE = regexp.MustCompile(`(?m)^#\s*serial\s+(\S+)`)

func serial(b []byte) string {
	if m := serialRE.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

// changed lists the lines removed from old and added in new, as a
// line-set difference (order kept), capped at max.
func changed(old, new []byte, max int) []string {
	count := func(b []byte) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(string(b), "\n") {
			m[l]++
		}
		return m
	}
	co, cn := count(old), count(new)
	var out []string
	add := func(prefix string, b []byte, other map[string]int) {
		seen := map[string]int{}
		for _, l := range strings.Split(string(b), "\n") {
			seen[l]++
			if seen[l] > other[l] && len(out) < max {
				out = append(out, prefix+l)
			}
		}
	}
	add("-", old, cn)
	add("+", new, co)
	return out
}
