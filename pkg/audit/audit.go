package audit

import (
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

type entry struct {
	sha     string
	content []byte // only for members read with content
	dir     bool
}

// Audit audits the dist tarball at dist.
func Audit(ctx context.Context, dist string, o Options) (*Report, error) {
	if o.Src == "" {
		return nil, fmt.Errorf("%w: the git tree (a -src tarball) is required", ErrAudit)
	}
	if o.MaxDiffLines <= 0 {
		o.MaxDiffLines = 40
	}
	src, err := members(ctx, o.Src, nil)
	if err != nil {
		return nil, err
	}
	var regen map[string]entry
	if o.Regenerated != "" {
		if regen, err = members(ctx, o.Regenerated, nil); err != nil {
			return nil, err
		}
	}
	// The dist's members, with the content of those an input may explain.
	d, err := members(ctx, dist, func(rel string) bool {
		_, ok := src[rel]
		return !ok && inputFile(o.Inputs, rel) != ""
	})
	if err != nil {
		return nil, err
	}
	rep := &Report{Counts: map[Group]int{}, Members: []Member{}}
	for rel, e := range d {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, ok := src[rel]; ok {
			rep.InGit++
			continue
		}
		if e.dir {
			continue
		}
		m := Member{Path: rel}
		r, inRegen := regen[rel]
		switch {
		case inRegen && r.sha == e.sha:
			m.Group = Regenerated
		default:
			if in := inputFile(o.Inputs, rel); in != "" {
				m.Input = inputName(o.Inputs, in)
				want, err := os.ReadFile(in)
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrAudit, err)
				}
				if bytes.Equal(want, e.content) {
					m.Group = FromInput
					break
				}
				m.Group = DiffersFromInput
				m.Serial, m.InputSerial = serial(e.content), serial(want)
				if m.Serial == m.InputSerial {
					m.Serial, m.InputSerial = "", ""
				}
				m.Lines = changed(want, e.content, o.MaxDiffLines)
				break
			}
			if inRegen {
				m.Group = RegeneratedDiffers
			} else {
				m.Group = Unexplained
			}
		}
		rep.Members = append(rep.Members, m)
		rep.Counts[m.Group]++
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

// members reads a tarball's members by path relative to its top
// directory; keep says which to read the content of.
func members(ctx context.Context, file string, keep func(rel string) bool) (map[string]entry, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAudit, err)
	}
	defer f.Close()
	var buf *bytes.Buffer
	tr, err := tarball.Open(ctx, f, tarball.WithName(file), tarball.WithContent(func(m *tarball.Member) io.Writer {
		buf = nil
		if keep != nil && m.Size <= maxContent && keep(rel(m.Name)) {
			buf = &bytes.Buffer{}
			return buf
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	out := map[string]entry{}
	for {
		m, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		r := rel(m.Name)
		if r == "" {
			continue
		}
		e := entry{sha: m.SHA256, dir: m.Typeflag == '5'}
		if buf != nil {
			e.content = buf.Bytes()
		}
		out[r] = e
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

// inputFile returns the file at rel in the first input that has one.
func inputFile(inputs []Input, rel string) string {
	for _, in := range inputs {
		p := filepath.Join(in.Dir, filepath.FromSlash(rel))
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func inputName(inputs []Input, file string) string {
	for _, in := range inputs {
		if strings.HasPrefix(file, filepath.Clean(in.Dir)+string(filepath.Separator)) {
			return in.Name
		}
	}
	return ""
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
