package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Schema names the JSON form of a Report (docs/fingerprint.md).
const Schema = "verify-release/fingerprint/v1"

// Fingerprint is what a tarball says about how it was made.
type Fingerprint struct {
	File FileInfo `json:"file"`
	// Evidence lists what the members say about the tools that generated
	// them, in a fixed tool order, then by the member it was first found in.
	Evidence    []Evidence  `json:"evidence"`
	Archive     ArchiveInfo `json:"archive"`
	Compression Compression `json:"compression"`
	// Generated reports whether any autotools-generated file was found
	// (configure, Makefile.in, aclocal.m4, ltmain.sh): a "make dist"
	// tarball rather than a git archive.
	Generated bool `json:"generated"`
	// Conclusions are one-line statements drawn from the facts above, in
	// a fixed order (for people; the facts are the stable part).
	Conclusions []string `json:"conclusions"`
}

// FileInfo identifies the input file.
type FileInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Evidence is one fact a member states about a tool: its version, a
// serial number, a timestamp. Members stating the same value are counted
// in Count; Member and Line are where it was seen first.
type Evidence struct {
	Tool  string `json:"tool"`
	What  string `json:"what"`
	Value string `json:"value"`
	// Version is the upstream version of Tool when Value carries one
	// (for libtool "2.4.7 Debian-2.4.7-7~deb12u1": "2.4.7"; for a
	// release-tools entry "perl=5.36.0-7+deb12u2": "5.36.0-7+deb12u2").
	Version string `json:"version,omitempty"`
	// Build names a distribution or development build the value reveals.
	Build  *Build `json:"build,omitempty"`
	Member string `json:"member"`
	Line   int    `json:"line"`
	Text   string `json:"text"`
	Count  int    `json:"count"`
	// Compared reports whether environments are ranked on this evidence.
	Compared bool `json:"compared"`

	order int // member index of the first sighting
}

// Build is what a version suffix says about who built the tool.
type Build struct {
	// Kind is "distro" (a distribution package: "2.4.6 Debian-2.4.6-15build2")
	// or "development" (a build from a git checkout: "2.5.4.1-baa1-dirty").
	Kind string `json:"kind"`
	// Distro is the vendor string ("Debian"; Ubuntu's libtool also says
	// Debian, with an Ubuntu revision such as "build2").
	Distro string `json:"distro,omitempty"`
	// Package is the distribution package version ("2.4.6-15build2").
	Package string `json:"package,omitempty"`
	// Revision is the abbreviated commit of a development build; Dirty
	// says it was built with uncommitted changes.
	Revision string `json:"revision,omitempty"`
	Dirty    bool   `json:"dirty,omitempty"`
}

// Option configures Scan.
type Option func(*options)

type options struct {
	tarOpts  []tarball.Option
	identify bool
}

// WithTarballOptions passes options (the xz decoder) to tarball.Open.
func WithTarballOptions(opts ...tarball.Option) Option {
	return func(o *options) { o.tarOpts = append(o.tarOpts, opts...) }
}

// WithMaxSize limits the decompressed size of the tar stream (default
// tarball.DefaultMaxSize). Exceeding it fails with a *tarball.LimitError.
func WithMaxSize(n int64) Option {
	return func(o *options) { o.tarOpts = append(o.tarOpts, tarball.WithMaxSize(n)) }
}

// WithCompressorIdentification makes Scan name the exact compressor and
// level of a gzip file (pkg/deflate's Identify: every known GNU gzip,
// zlib and Go setting run in step with one decompression).
func WithCompressorIdentification() Option { return func(o *options) { o.identify = true } }

// Scan reads the tarball at path once, as a stream, and returns its
// fingerprint. Only the first bytes of the members that rules apply to
// are kept in memory, one member at a time. A file that is not a
// (complete) tar archive gives a *tarball.InputError wrapping
// tarball.ErrNotArchive, ErrEmpty, ErrTruncated or ErrCorrupt.
func Scan(ctx context.Context, path string, opts ...Option) (*Fingerprint, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	f, err := tarball.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	sc := newScanner()
	topts := append([]tarball.Option{tarball.WithName(path)}, o.tarOpts...)
	topts = append(topts, tarball.WithContent(sc.sink))
	r, err := tarball.Open(ctx, io.TeeReader(f, h), topts...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		sc.member(m)
	}
	// Hash what the decompressor did not read (nothing, usually).
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: reading %s: %w", path, err)
	}
	ar := r.Archive()
	fp := &Fingerprint{
		File: FileInfo{Name: path, Size: ar.Compression.Size + n, SHA256: hex.EncodeToString(h.Sum(nil))},
	}
	fp.Evidence = releaseScriptsOnly(sc.evidence())
	fp.Archive = sc.archive(ar)
	fp.Compression = compressionInfo(f, ar.Compression)
	if o.identify && ar.Compression.Format == tarball.Gzip {
		id, err := deflate.IdentifyFile(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: identifying the compressor of %s: %w", path, err)
		}
		fp.Compression.Identified = true
		fp.Compression.Matches = []CompressorMatch{}
		for _, m := range id.Matches {
			fp.Compression.Matches = append(fp.Compression.Matches, CompressorMatch{
				Compressor: string(m.Compressor), Level: m.Level, Rsyncable: m.Rsyncable,
				Name: m.Candidate.String(), Command: m.Command, HeaderDifferences: m.HeaderDifferences})
		}
	}
	for _, e := range fp.Evidence {
		switch e.Tool {
		case ToolAutoconf, ToolAutomake, ToolLibtool:
			fp.Generated = true
		}
	}
	fp.Conclusions = conclusions(fp)
	return fp, nil
}

// releaseScriptsOnly drops the script-uses evidence of scripts that no
// release step runs: only the release script's programs say what a
// release needs.
func releaseScriptsOnly(ev []Evidence) []Evidence {
	run := map[string]bool{}
	for _, e := range ev {
		if e.Tool == ToolReleaseStep {
			if w := strings.Fields(e.Value); len(w) > 0 {
				run[path.Clean(w[0])] = true
			}
		}
	}
	out := ev[:0]
	for _, e := range ev {
		if e.Tool != ToolScriptUses || run[relName(e.Member)] {
			out = append(out, e)
		}
	}
	return out
}

// scanner collects evidence and archive statistics member by member.
type scanner struct {
	head   headBuffer
	rules  []int // rules of the current member
	stream needleScanner
	ev     map[string]*Evidence
	stats  archiveStats
}

func newScanner() *scanner {
	return &scanner{ev: map[string]*Evidence{}, stats: newArchiveStats()}
}

// relName is a member's path below its top directory.
func relName(name string) string {
	if _, rest, ok := strings.Cut(name, "/"); ok {
		return rest
	}
	return name
}

// sink is tarball's content hook: it keeps the head of members that rules
// apply to.
func (s *scanner) sink(m *tarball.Member) io.Writer {
	s.rules = nil
	s.stream.reset(nil)
	if m.Typeflag != '0' && m.Typeflag != 0 {
		return nil
	}
	rel := relName(m.Name)
	idx, limit := rulesFor(rel)
	var stream []int
	for i := range streamRules {
		if streamRules[i].match(rel, path.Base(rel)) {
			stream = append(stream, i)
		}
	}
	s.stream.reset(stream)
	if idx != nil {
		s.rules = idx
		s.head.reset(limit)
	}
	switch {
	case idx != nil && stream != nil:
		return io.MultiWriter(&s.head, &s.stream)
	case idx != nil:
		return &s.head
	case stream != nil:
		return &s.stream
	}
	return nil
}

func (s *scanner) member(m *tarball.Member) {
	s.stats.add(m)
	for _, h := range s.stream.hits() {
		r := &streamRules[h.rule]
		s.add(r, m, h.line, h.text, r.value(nil))
	}
	s.stream.reset(nil)
	if s.rules == nil {
		return
	}
	flex := map[string]string{}
	flexLine, flexText := 0, ""
	scanHead(s.head.buf, s.rules, func(r *rule, line int, text, value string) {
		if r.tool == ToolFlex {
			k, v, _ := strings.Cut(value, "=")
			flex[k] = v
			if flexLine == 0 {
				flexLine, flexText = line, text
			}
			return
		}
		s.add(r, m, line, text, value)
	})
	if len(flex) == 3 {
		for i := range rules {
			if rules[i].tool == ToolFlex {
				s.add(&rules[i], m, flexLine, flexText, flex["MAJOR"]+"."+flex["MINOR"]+"."+flex["SUBMINOR"])
			}
		}
	}
	s.rules = nil
}

func (s *scanner) add(r *rule, m *tarball.Member, line int, text, value string) {
	key := r.tool + "\x00" + r.what + "\x00" + value
	if r.perMember {
		key += "\x00" + m.Name
	}
	if e, ok := s.ev[key]; ok {
		if !r.perMember { // the same member again is not another member
			e.Count++
		}
		return
	}
	if len(text) > 200 {
		text = text[:200]
	}
	e := &Evidence{Tool: r.tool, What: r.what, Value: value, Member: m.Name, Line: line,
		Text: text, Count: 1, Compared: r.compare, order: m.Index}
	e.Version, e.Build = parseValue(r.tool, r.what, value)
	s.ev[key] = e
}

func (s *scanner) evidence() []Evidence {
	rank := map[string]int{}
	for i, t := range toolOrder {
		rank[t] = i
	}
	out := make([]Evidence, 0, len(s.ev))
	for _, e := range s.ev {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Tool != b.Tool {
			return rank[a.Tool] < rank[b.Tool]
		}
		if a.order != b.order {
			return a.order < b.order
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.What != b.What {
			return a.What < b.What
		}
		return a.Value < b.Value
	})
	return out
}

// needleScanner finds the first line of a member holding each of some
// stream rules' literals, keeping only a literal's length of it.
type needleScanner struct {
	rules []int
	found []streamHit
	done  []bool
	carry []byte // the last bytes seen, shorter than the longest literal
	buf   []byte
	lines int // newlines before carry
}

type streamHit struct {
	rule, line int
	text       string
}

func (n *needleScanner) reset(rules []int) {
	n.rules, n.found, n.carry, n.lines = rules, n.found[:0], n.carry[:0], 0
	n.done = append(n.done[:0], make([]bool, len(rules))...)
}

func (n *needleScanner) hits() []streamHit { return n.found }

func (n *needleScanner) Write(p []byte) (int, error) {
	if len(n.rules) == 0 {
		return len(p), nil
	}
	n.buf = append(append(n.buf[:0], n.carry...), p...)
	keep := 0
	for k, i := range n.rules {
		nd := streamRules[i].needle
		keep = max(keep, len(nd)-1)
		if n.done[k] {
			continue
		}
		if j := bytes.Index(n.buf, nd); j >= 0 {
			// A literal starting with a newline names the line after it.
			at := j
			if nd[0] == '\n' {
				at++
			}
			n.done[k] = true
			n.found = append(n.found, streamHit{rule: i, line: n.lines + bytes.Count(n.buf[:at], []byte{'\n'}) + 1, text: strings.TrimSpace(string(nd))})
		}
	}
	cut := max(len(n.buf)-keep, 0)
	n.lines += bytes.Count(n.buf[:cut], []byte{'\n'})
	n.carry = append(n.carry[:0], n.buf[cut:]...)
	return len(p), nil
}

// headBuffer keeps the first limit bytes written to it.
type headBuffer struct {
	buf   []byte
	limit int
}

func (h *headBuffer) reset(limit int) { h.buf, h.limit = h.buf[:0], limit }

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.limit - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
