package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind classifies a Finding.
type Kind string

// Finding kinds, in the order reports list them.
const (
	KindCompression Kind = "compression" // compression layer differs
	KindArchive     Kind = "archive"     // tar-level fact differs (formats, global headers, padding)
	KindOnlyInA     Kind = "only-in-a"   // member present only in A
	KindOnlyInB     Kind = "only-in-b"   // member present only in B
	KindHeader      Kind = "header"      // a header field of a member differs
	KindContent     Kind = "content"     // member content differs
	KindOrder       Kind = "order"       // member is at another position
	KindWarning     Kind = "warning"     // suspicious member (unsafe path, link outside, device, duplicate)
)

var kindRank = map[Kind]int{KindCompression: 0, KindArchive: 1, KindOnlyInA: 2, KindOnlyInB: 3,
	KindHeader: 4, KindContent: 5, KindOrder: 6, KindWarning: 7}

// Finding is one difference (or, for KindWarning, one suspicious member).
type Finding struct {
	Kind Kind `json:"kind"`
	// Path is the member name; names that are not printable UTF-8 are
	// Go-quoted. Empty for compression and archive findings.
	Path string `json:"path,omitempty"`
	// Occurrence is 1-based for members whose name appears more than once
	// (the n-th member of that name), 0 otherwise.
	Occurrence int    `json:"occurrence,omitempty"`
	Field      string `json:"field,omitempty"`
	Old        string `json:"old,omitempty"`
	New        string `json:"new,omitempty"`
	// Side is "a", "b" or "both" for warnings.
	Side string `json:"side,omitempty"`
	// Diff is a unified diff of text content, possibly truncated.
	Diff string `json:"diff,omitempty"`
	Note string `json:"note,omitempty"`
	// Class is what kind of difference this is (see Class); warnings
	// have none.
	Class Class `json:"class,omitempty"`
	// Stamps are the generator version stamps of a ClassVersionString
	// content finding.
	Stamps []Stamp `json:"stamps,omitempty"`
	// removed and added are the changed lines of a text content finding
	// whose both sides were read in full (see ChangedLines).
	removed, added []string
}

// ChangedLines returns the removed and added lines of a text content
// finding, and whether they are known (both sides were read in full).
func (f *Finding) ChangedLines() (removed, added []string, ok bool) {
	return f.removed, f.added, f.removed != nil || f.added != nil
}

// FileInfo summarises one compared input.
type FileInfo struct {
	Name        string          `json:"name"`
	SHA256      string          `json:"sha256"`
	Size        int64           `json:"size"`
	TarSHA256   string          `json:"tar_sha256,omitempty"` // only with WithTarSHA256
	TarSize     int64           `json:"tar_size"`
	Members     int             `json:"members"`
	Compression CompressionInfo `json:"compression"`
	Formats     []string        `json:"formats"`
}

// DiffResult is the outcome of Diff. Findings are sorted by kind, path,
// occurrence and field.
type DiffResult struct {
	A, B     FileInfo
	Findings []Finding
	Warnings []Finding
	// tarIdentical: both tar streams have the same bytes.
	tarIdentical bool
	zip          bool // A and B are zip archives (see diffZip)
}

// Identical reports whether both inputs have the same bytes. When it is
// false, Findings is not empty.
func (d *DiffResult) Identical() bool { return d.A.SHA256 == d.B.SHA256 }

// TarIdentical reports whether the uncompressed tar streams are the same.
func (d *DiffResult) TarIdentical() bool { return d.tarIdentical }

// Summary is a one-line description of the result.
func (d *DiffResult) Summary() string {
	if d.Identical() {
		return "identical (same bytes)"
	}
	if d.zip {
		return d.zipSummary()
	}
	var comp []string
	for _, f := range d.Findings {
		if f.Kind == KindCompression {
			comp = append(comp, fmt.Sprintf("%s %s -> %s", f.Field, f.Old, f.New))
		}
	}
	if d.TarIdentical() {
		return "tar streams identical, compression differs: " + strings.Join(comp, ", ")
	}
	var parts []string
	for _, c := range d.ClassCounts() {
		if c.Class != ClassCompression {
			parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Class))
		}
	}
	s := "tar streams differ: " + strings.Join(parts, " · ")
	if len(comp) > 0 {
		s += "; compression differs: " + strings.Join(comp, ", ")
	}
	return s
}

// Diff options.
type diffOptions struct {
	maxDiffLines int
	noContent    bool
	labelA       string
	labelB       string
	maxTextSize  int64
	maxTextTotal int64
	tarSHA256    bool
}

// DefaultMaxDiffLines caps the unified diff of one member.
const DefaultMaxDiffLines = 200

// WithMaxDiffLines caps each member's unified diff at n lines (default
// DefaultMaxDiffLines; 0 means no unified diffs).
func WithMaxDiffLines(n int) Option { return func(o *options) { o.diff.maxDiffLines = n } }

// WithNoContent omits unified diffs of text members; content changes are
// still reported by size and SHA-256.
func WithNoContent() Option { return func(o *options) { o.diff.noContent = true } }

// WithLabels names the inputs in reports instead of their paths.
func WithLabels(a, b string) Option {
	return func(o *options) { o.diff.labelA, o.diff.labelB = a, b }
}

// WithMaxTextSize sets the largest member (default 1 MiB) and the total of
// all members (default 64 MiB) held in memory for unified diffs.
func WithMaxTextSize(member, total int64) Option {
	return func(o *options) { o.diff.maxTextSize, o.diff.maxTextTotal = member, total }
}

// source is a re-openable input.
type source struct {
	name string
	open func() (io.ReadCloser, error)
}

func fileSource(p string) source {
	return source{name: p, open: func() (io.ReadCloser, error) { return OpenFile(p) }}
}

// Diff compares two archive files member by member. It reads both files
// concurrently, comparing members as they arrive, so memory depends on the
// findings and on how far the member orders diverge, not on the archive
// size. Each file is read a second time only to extract differing text
// members (bounded in size) for unified diffs, and only up to the last of
// them.
//
// Two zip archives (detected by their signature) are compared member by
// member from their central directories instead (see diffZip); a zip and
// a tar archive are not compared (ErrUnsupported).
func Diff(ctx context.Context, a, b string, opts ...Option) (*DiffResult, error) {
	switch za, zb := isZip(a), isZip(b); {
	case za && zb:
		return diffZip(ctx, a, b, opts...)
	case za || zb:
		zipName, other := a, b
		if zb {
			zipName, other = b, a
		}
		return nil, fmt.Errorf("%w: %s is a zip archive and %s is not; a zip is compared only with a zip", ErrUnsupported, zipName, other)
	}
	return diffSources(ctx, fileSource(a), fileSource(b), opts...)
}

// side is one input of the first pass.
type side struct {
	src  source
	f    io.ReadCloser
	fh   hash.Hash // SHA-256 of the file
	r    *Reader
	head *Member // the current member, its content unread; nil when none is loaded
	eof  bool
}

func openSide(ctx context.Context, s source, opts []Option) (*side, error) {
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	sd := &side{src: s, f: f, fh: sha256.New()}
	sd.r, err = Open(ctx, io.TeeReader(f, sd.fh), append(opts, WithName(s.name), withReadAhead())...)
	if err != nil {
		f.Close()
		return nil, err
	}
	return sd, nil
}

func (sd *side) close() {
	sd.r.Close()
	sd.f.Close()
}

// load reads the next header unless one is loaded or the input ended.
func (sd *side) load() error {
	if sd.head != nil || sd.eof {
		return nil
	}
	m, err := sd.r.nextHeader()
	if errors.Is(err, io.EOF) {
		sd.eof = true
		return nil
	}
	sd.head = m
	return err
}

// hashHead reads the current member's content into its SHA256 and Text.
func (sd *side) hashHead() (*Member, error) {
	m := sd.head
	sd.head = nil
	if err := sd.r.readContent(m); err != nil {
		return nil, sd.r.fail(err)
	}
	return m, nil
}

// info finishes the input: the rest of the file is hashed.
func (sd *side) info() (FileInfo, error) {
	if _, err := io.Copy(sd.fh, sd.f); err != nil {
		return FileInfo{}, fmt.Errorf("reading %s: %w", sd.src.name, err)
	}
	ar := sd.r.Archive()
	return FileInfo{Name: sd.src.name, SHA256: hex.EncodeToString(sd.fh.Sum(nil)), Size: ar.Compression.Size,
		TarSHA256: ar.TarSHA256, TarSize: ar.TarSize, Members: ar.Members, Compression: ar.Compression, Formats: ar.Formats}, nil
}

// chunkSize is the unit of the lock-step content comparison. Members up
// to this size are compared without hashing; a text member that differs
// is kept for its unified diff, so no second pass is needed for it.
var chunkSize = 1 << 20 // a variable so tests can exercise multi-chunk members

// lockstep compares the members of two inputs as both are read. Members
// that come in the same order (the usual case) have their contents
// compared byte for byte as they stream by, which costs a memcmp instead
// of two SHA-256 passes; only members that differ, or that arrive out of
// step, are hashed. Both inputs are decompressed ahead in goroutines of
// their own (readAhead), so the comparison itself is a single goroutine.
type lockstep struct {
	a, b *side
	mt   *matcher
	bufA []byte
	bufB []byte
	turn int // which input the next unmatched member is taken from
	// inStep stays true while every member pair came in step with equal
	// contents: then equal skeletons mean equal tar streams.
	inStep bool
	kept   int64 // bytes of captured text
	o      diffOptions
	hashed int // members whose content was hashed (for tests)
}

func (ls *lockstep) run() error {
	a, b, mt := ls.a, ls.b, ls.mt
	for {
		if err := errors.Join(a.load(), b.load()); err != nil {
			return err
		}
		ha, hb := a.head, b.head
		var from *side
		switch {
		case ha == nil && hb == nil:
			return nil
		case ha != nil && hb != nil && ha.Name == hb.Name && mt.inStep(ha.Name):
			if err := ls.compareContent(ha, hb); err != nil {
				return err
			}
			if ha.SHA256 != hb.SHA256 {
				ls.inStep = false
			}
			a.head, b.head = nil, nil
			mt.addA(ha)
			mt.addB(hb)
			continue
		case hb == nil:
			from = a
		case ha == nil:
			from = b
		case mt.pending(hb.Name, 1):
			from = b // its counterpart from A is waiting
		case mt.pending(ha.Name, 0):
			from = a
		default:
			// Out of step: take one member from each input in turn, so
			// that a member inserted into or removed from either lets the
			// two fall back into step after a few members.
			from = a
			if ls.turn == 1 {
				from = b
			}
			ls.turn ^= 1
		}
		ls.inStep = false
		m, err := from.hashHead()
		if err != nil {
			return err
		}
		ls.hashed++
		if from == a {
			mt.addA(m)
		} else {
			mt.addB(m)
		}
	}
}

// compareContent reads the contents of ma and mb, members of the same
// name, side by side. When they are equal both SHA256 fields stay empty
// (equal); otherwise both are set, and a differing text member small
// enough for a unified diff is kept.
func (ls *lockstep) compareContent(ma, mb *Member) error {
	a, b := ls.a, ls.b
	if ma.sparse != nil || mb.sparse != nil {
		// Compared by sparse map and stored data, never expanded.
		ls.hashed += 2
		if _, err := a.hashHead(); err != nil {
			return err
		}
		_, err := b.hashHead()
		return err
	}
	if ma.Size != mb.Size {
		ls.hashed += 2
		if ls.keepable(max(ma.Size, mb.Size), ma.Size+mb.Size) {
			// Small enough to keep for a unified diff: read both whole.
			pa, pb := ls.bufA[:ma.Size], ls.bufB[:mb.Size]
			if err := a.r.readChunk(pa); err != nil {
				return a.r.fail(err)
			}
			if err := b.r.readChunk(pb); err != nil {
				return b.r.fail(err)
			}
			ma.SHA256, ma.Text = digestWhole(pa)
			mb.SHA256, mb.Text = digestWhole(pb)
			if ma.Text && mb.Text {
				ls.kept += ma.Size + mb.Size
				ls.mt.keep(ma.Name, bytes.Clone(pa), bytes.Clone(pb))
			}
			return nil
		}
		if _, err := a.hashHead(); err != nil {
			return err
		}
		if _, err := b.hashHead(); err != nil {
			return err
		}
		return nil
	}
	// common hashes the equal prefix, only for members larger than one
	// chunk; ha and hb are set from the first differing chunk on.
	var common, ha, hb hash.Hash
	var snA, snB sniffer
	for left := ma.Size; left > 0; {
		n := int(min(left, int64(chunkSize)))
		pa, pb := ls.bufA[:n], ls.bufB[:n]
		if err := a.r.readChunk(pa); err != nil {
			return a.r.fail(err)
		}
		if err := b.r.readChunk(pb); err != nil {
			return b.r.fail(err)
		}
		snA.Write(pa)
		snB.Write(pb)
		left -= int64(n)
		switch {
		case ha != nil:
		case bytes.Equal(pa, pb):
			if left > 0 {
				if common == nil {
					common = sha256.New()
				}
				common.Write(pa)
			}
			continue
		default:
			var err error
			if ha, hb, err = forkHash(common); err != nil {
				return err
			}
			if int64(n) == ma.Size && !snA.nul && !snB.nul && ls.keepable(ma.Size, 2*ma.Size) {
				ls.kept += 2 * ma.Size
				ls.mt.keep(ma.Name, bytes.Clone(pa), bytes.Clone(pb))
			}
		}
		ha.Write(pa)
		hb.Write(pb)
	}
	if ha != nil {
		ma.SHA256, mb.SHA256 = hex.EncodeToString(ha.Sum(nil)), hex.EncodeToString(hb.Sum(nil))
	}
	ma.Text, mb.Text = !snA.nul, !snB.nul
	return nil
}

// digestWhole returns the hex SHA-256 of a whole member content and
// whether it is text (the sniffer's rule).
func digestWhole(p []byte) (string, bool) {
	var sn sniffer
	sn.Write(p)
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:]), !sn.nul
}

// forkHash returns two SHA-256 states that continue prefix (nil: empty).
func forkHash(prefix hash.Hash) (hash.Hash, hash.Hash, error) {
	ha, hb := sha256.New(), sha256.New()
	if prefix == nil {
		return ha, hb, nil
	}
	state, err := prefix.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	for _, h := range []hash.Hash{ha, hb} {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
			return nil, nil, err
		}
	}
	return ha, hb, nil
}

// keepable reports whether members of up to size bytes each, total bytes
// together, may be kept for a unified diff: within one chunk, the text
// size limit and what is left of the text budget, and diffs wanted.
func (ls *lockstep) keepable(size, total int64) bool {
	o := ls.o
	return size <= int64(chunkSize) && size <= o.maxTextSize && ls.kept+total <= o.maxTextTotal &&
		!o.noContent && o.maxDiffLines > 0
}

func diffSources(ctx context.Context, a, b source, opts ...Option) (*DiffResult, error) {
	res, _, err := diffSourcesStats(ctx, a, b, opts...)
	return res, err
}

// diffSourcesStats is diffSources, also returning how many members were
// hashed rather than compared in step.
func diffSourcesStats(ctx context.Context, a, b source, opts ...Option) (*DiffResult, int, error) {
	o := makeOptions(opts)
	sa, err := openSide(ctx, a, opts)
	if err != nil {
		return nil, 0, err
	}
	defer sa.close()
	sb, err := openSide(ctx, b, opts)
	if err != nil {
		return nil, 0, err
	}
	defer sb.close()
	mt := newMatcher(o.diff)
	ls := &lockstep{a: sa, b: sb, mt: mt, o: o.diff, inStep: true, bufA: make([]byte, chunkSize), bufB: make([]byte, chunkSize)}
	if err := ls.run(); err != nil {
		return nil, ls.hashed, err
	}
	ia, err := sa.info()
	if err != nil {
		return nil, ls.hashed, err
	}
	ib, err := sb.info()
	if err != nil {
		return nil, ls.hashed, err
	}
	arA, arB := sa.r.Archive(), sb.r.Archive()
	res := &DiffResult{A: ia, B: ib}
	// Same file bytes imply the same tar stream; otherwise the streams are
	// the same when every member came in step with the same content and
	// everything between the contents is the same.
	res.tarIdentical = ia.SHA256 == ib.SHA256 ||
		(ls.inStep && ia.TarSize == ib.TarSize && bytes.Equal(sa.r.skeleton, sb.r.skeleton))
	if o.diff.labelA != "" {
		res.A.Name, res.B.Name = o.diff.labelA, o.diff.labelB
	}
	res.Warnings = mt.warnings()
	if res.Identical() {
		return res, ls.hashed, nil
	}
	// Findings are sorted below; the member findings, possibly many, come
	// first so that they are not copied.
	var fs []Finding
	if !res.tarIdentical {
		mf, wanted := mt.finish()
		if len(wanted) > 0 {
			if err := fillUnifiedDiffs(ctx, a, b, mf, wanted, mt.kept, o, opts); err != nil {
				return nil, ls.hashed, err
			}
		}
		fs = append(mf, compareArchive(arA, arB)...)
	}
	fs = append(fs, compareCompression(&arA.Compression, &arB.Compression)...)
	if !res.tarIdentical && !hasTarFinding(fs) {
		f := Finding{Kind: KindArchive, Field: "tar bytes", Note: "tar bytes differ outside the compared fields"}
		if ia.TarSHA256 != "" {
			f.Field, f.Old, f.New = "tar-sha256", ia.TarSHA256, ib.TarSHA256
		}
		fs = append(fs, f)
	}
	if !hasKind(fs, KindCompression) && res.tarIdentical {
		fs = append(fs, Finding{Kind: KindCompression, Field: "compressed-bytes",
			Old:  fmt.Sprintf("%d bytes sha256 %s", ia.Size, ia.SHA256),
			New:  fmt.Sprintf("%d bytes sha256 %s", ib.Size, ib.SHA256),
			Note: "same headers; different compressor, level or settings"})
	}
	sortFindings(fs)
	classify(fs)
	res.Findings = fs
	return res, ls.hashed, nil
}

func hasKind(fs []Finding, k Kind) bool {
	for _, f := range fs {
		if f.Kind == k {
			return true
		}
	}
	return false
}

func hasTarFinding(fs []Finding) bool {
	for _, f := range fs {
		if f.Kind != KindCompression {
			return true
		}
	}
	return false
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		x, y := fs[i], fs[j]
		if kindRank[x.Kind] != kindRank[y.Kind] {
			return kindRank[x.Kind] < kindRank[y.Kind]
		}
		if x.Path != y.Path {
			return x.Path < y.Path
		}
		if x.Occurrence != y.Occurrence {
			return x.Occurrence < y.Occurrence
		}
		if x.Side != y.Side {
			return x.Side < y.Side
		}
		return x.Field < y.Field
	})
}

func add(fs []Finding, kind Kind, field, old, new string) []Finding {
	if old == new {
		return fs
	}
	return append(fs, Finding{Kind: kind, Field: field, Old: old, New: new})
}

func compareCompression(a, b *CompressionInfo) []Finding {
	var fs []Finding
	const k = KindCompression
	if a.Format != b.Format {
		return add(fs, k, "format", string(a.Format), string(b.Format))
	}
	itoa := strconv.Itoa
	switch a.Format {
	case Gzip:
		fs = add(fs, k, "gzip members", itoa(len(a.Gzip)), itoa(len(b.Gzip)))
		for i := 0; i < min(len(a.Gzip), len(b.Gzip)); i++ {
			p := "gzip "
			if len(a.Gzip) > 1 || len(b.Gzip) > 1 {
				p = fmt.Sprintf("gzip[%d] ", i)
			}
			x, y := a.Gzip[i], b.Gzip[i]
			fs = add(fs, k, p+"FLG", fmt.Sprintf("0x%02x", x.Flags), fmt.Sprintf("0x%02x", y.Flags))
			fs = add(fs, k, p+"MTIME", fmt.Sprint(x.MTime), fmt.Sprint(y.MTime))
			fs = add(fs, k, p+"XFL", fmt.Sprint(x.XFL), fmt.Sprint(y.XFL))
			fs = add(fs, k, p+"OS", fmt.Sprint(x.OS), fmt.Sprint(y.OS))
			fs = add(fs, k, p+"FNAME", strconv.Quote(x.Name), strconv.Quote(y.Name))
			fs = add(fs, k, p+"FCOMMENT", strconv.Quote(x.Comment), strconv.Quote(y.Comment))
			fs = add(fs, k, p+"FEXTRA length", itoa(x.Extra), itoa(y.Extra))
		}
		fs = add(fs, k, "gzip trailing bytes", fmt.Sprint(a.TrailingBytes), fmt.Sprint(b.TrailingBytes))
	case Zstd:
		x, y := a.Zstd, b.Zstd
		fs = add(fs, k, "zstd frames", itoa(x.Frames), itoa(y.Frames))
		fs = add(fs, k, "zstd skippable frames", itoa(x.SkippableFrames), itoa(y.SkippableFrames))
		fs = add(fs, k, "zstd checksum", fmt.Sprint(x.Checksum), fmt.Sprint(y.Checksum))
		fs = add(fs, k, "zstd content size", fmt.Sprint(x.ContentSize), fmt.Sprint(y.ContentSize))
		fs = add(fs, k, "zstd single segment", fmt.Sprint(x.SingleSegment), fmt.Sprint(y.SingleSegment))
	case XZ:
		if a.XZ != nil && b.XZ != nil {
			fs = add(fs, k, "xz check", a.XZ.Check, b.XZ.Check)
		}
	case Bzip2:
		fs = add(fs, k, "bzip2 level", itoa(a.Bzip2.Level), itoa(b.Bzip2.Level))
	}
	return fs
}

func compareArchive(a, b *Archive) []Finding {
	var fs []Finding
	const k = KindArchive
	fs = add(fs, k, "formats", strings.Join(a.Formats, ","), strings.Join(b.Formats, ","))
	fs = add(fs, k, "pax global headers", strconv.Itoa(len(a.GlobalHeaders)), strconv.Itoa(len(b.GlobalHeaders)))
	for i := 0; i < min(len(a.GlobalHeaders), len(b.GlobalHeaders)); i++ {
		x, y := a.GlobalHeaders[i], b.GlobalHeaders[i]
		for _, key := range unionKeys(x.Records, y.Records) {
			fs = add(fs, k, fmt.Sprintf("pax global[%d] %s", i, key), recordValue(x.Records, key), recordValue(y.Records, key))
		}
	}
	fs = add(fs, k, "end-of-archive zero blocks", strconv.Itoa(a.EndMarkerBlocks), strconv.Itoa(b.EndMarkerBlocks))
	fs = add(fs, k, "bytes after end-of-archive", fmt.Sprint(a.TrailingBytes), fmt.Sprint(b.TrailingBytes))
	fs = add(fs, k, "non-zero bytes after end-of-archive", fmt.Sprint(a.TrailingNonZero), fmt.Sprint(b.TrailingNonZero))
	fs = add(fs, k, "tar size", fmt.Sprint(a.TarSize), fmt.Sprint(b.TarSize))
	return fs
}

func unionKeys(a, b map[string]string) []string {
	var keys []string
	for key := range a {
		keys = append(keys, key)
	}
	for key := range b {
		if _, ok := a[key]; !ok {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys
}

func recordValue(m map[string]string, key string) string {
	v, ok := m[key]
	if !ok {
		return "(none)"
	}
	return strconv.Quote(v)
}

// memberKey identifies a member by name and occurrence of that name.
type memberKey struct {
	name string
	occ  int // 0-based occurrence of name
}

// occurrence is the Finding.Occurrence of key, given how many members of
// each input have each name.
func occurrence(k memberKey, names *nameTable) int {
	if c := names.counts(k.name); c[0] > 1 || c[1] > 1 {
		return k.occ + 1
	}
	return 0
}

// wantedDiff locates a content finding that deserves a unified diff.
type wantedDiff struct {
	finding int // index in the findings
	aIndex  int // member index in A
}

// matchedPair is a member present in both inputs.
type matchedPair struct {
	a, b int32 // member indexes
	name int32 // entry in the matcher's nameTable
	occ  int32
}

// matcher compares the members of A and B as they are read. A member is
// held only until the member with the same key arrives from the other
// input; Occurrence is set once both inputs are read.
type matcher struct {
	o            diffOptions
	counts       *nameTable // members with each name in A, B
	pendA, pendB map[memberKey]*Member
	pairs        []matchedPair
	fs           []Finding
	keys         []memberKey // keys[i] is the member of fs[i]
	wanted       map[memberKey]wantedDiff
	kept         map[memberKey][2][]byte // contents of differing text members read in step
	warnA, warnB []Finding
}

func newMatcher(o diffOptions) *matcher {
	return &matcher{o: o, counts: newNameTable(),
		pendA: map[memberKey]*Member{}, pendB: map[memberKey]*Member{}, wanted: map[memberKey]wantedDiff{},
		kept: map[memberKey][2][]byte{}}
}

// pending reports whether the next member named name from input side (0
// for A, 1 for B) has its counterpart from the other input waiting.
func (mt *matcher) pending(name string, side int) bool {
	k := memberKey{name, int(mt.counts.counts(name)[side])}
	if side == 0 {
		_, ok := mt.pendB[k]
		return ok
	}
	_, ok := mt.pendA[k]
	return ok
}

// keep records the contents of the next pair of members named name, read
// in step, for its unified diff.
func (mt *matcher) keep(name string, a, b []byte) {
	mt.kept[memberKey{name, int(mt.counts.counts(name)[0])}] = [2][]byte{a, b}
}

// inStep reports whether the next members named name from A and B are
// counterparts (each input has had as many of that name so far).
func (mt *matcher) inStep(name string) bool {
	c := mt.counts.counts(name)
	return c[0] == c[1]
}

func (mt *matcher) addA(m *Member) {
	k := mt.key(m.Name, 0)
	mt.warnA = append(mt.warnA, memberWarnings(m)...)
	if mb, ok := mt.pendB[k]; ok {
		delete(mt.pendB, k)
		mt.match(k, m, mb)
		return
	}
	mt.pendA[k] = m
}

func (mt *matcher) addB(m *Member) {
	k := mt.key(m.Name, 1)
	mt.warnB = append(mt.warnB, memberWarnings(m)...)
	if ma, ok := mt.pendA[k]; ok {
		delete(mt.pendA, k)
		mt.match(k, ma, m)
		return
	}
	mt.pendB[k] = m
}

// key counts a member named name in input side (0 for A, 1 for B) and
// returns its key.
func (mt *matcher) key(name string, side int) memberKey {
	_, occ := mt.counts.add(name, side)
	return memberKey{name, int(occ)}
}

func (mt *matcher) add(k memberKey, f Finding) {
	mt.fs = append(mt.fs, f)
	mt.keys = append(mt.keys, k)
}

func (mt *matcher) match(k memberKey, ma, mb *Member) {
	mt.pairs = append(mt.pairs, matchedPair{int32(ma.Index), int32(mb.Index), mt.counts.find(ma.Name), int32(k.occ)})
	for _, f := range compareHeaders(ma, mb) {
		f.Path = display(ma.Name)
		mt.add(k, f)
	}
	if ma.SHA256 != mb.SHA256 {
		o := mt.o
		f := Finding{Kind: KindContent, Path: display(ma.Name),
			Old: fmt.Sprintf("size %d sha256 %s", ma.Size, ma.SHA256),
			New: fmt.Sprintf("size %d sha256 %s", mb.Size, mb.SHA256)}
		switch {
		case !ma.Text || !mb.Text:
			f.Note = "binary"
		case o.noContent || o.maxDiffLines <= 0:
		case ma.Size > o.maxTextSize || mb.Size > o.maxTextSize:
			f.Note = fmt.Sprintf("text diff omitted: larger than %s", humanBytes(o.maxTextSize))
		default:
			mt.wanted[k] = wantedDiff{finding: len(mt.fs), aIndex: ma.Index}
		}
		mt.add(k, f)
	}
}

// finish returns the member findings and the content findings that
// deserve a unified diff; call it once both inputs are read.
func (mt *matcher) finish() ([]Finding, map[memberKey]wantedDiff) {
	for _, side := range []struct {
		pend map[memberKey]*Member
		kind Kind
	}{{mt.pendA, KindOnlyInA}, {mt.pendB, KindOnlyInB}} {
		left := make([]memberKey, 0, len(side.pend))
		for k := range side.pend {
			left = append(left, k)
		}
		sort.Slice(left, func(i, j int) bool { return side.pend[left[i]].Index < side.pend[left[j]].Index })
		for _, k := range left {
			m := side.pend[k]
			mt.add(k, Finding{Kind: side.kind, Path: display(m.Name), Note: typeName(m.Typeflag)})
		}
	}
	mt.orderFindings()
	for i, k := range mt.keys {
		mt.fs[i].Occurrence = occurrence(k, mt.counts)
	}
	return mt.fs, mt.wanted
}

// orderFindings reports matched members outside the longest run kept in
// the same relative order.
func (mt *matcher) orderFindings() {
	sort.Slice(mt.pairs, func(i, j int) bool { return mt.pairs[i].a < mt.pairs[j].a })
	keep := lis(mt.pairs)
	for i, p := range mt.pairs {
		if keep[i] {
			continue
		}
		name := mt.counts.name(p.name)
		mt.add(memberKey{name, int(p.occ)}, Finding{Kind: KindOrder, Path: display(name), Field: "position",
			Old: strconv.Itoa(int(p.a)), New: strconv.Itoa(int(p.b))})
	}
	mt.pairs = nil
}

// lis marks a longest increasing subsequence of pairs[i].b.
func lis(pairs []matchedPair) []bool {
	n := len(pairs)
	tails := []int32{} // indexes into pairs
	prev := make([]int32, n)
	for i := range pairs {
		v := pairs[i].b
		j := sort.Search(len(tails), func(j int) bool { return pairs[tails[j]].b >= v })
		if j > 0 {
			prev[i] = tails[j-1]
		} else {
			prev[i] = -1
		}
		if j == len(tails) {
			tails = append(tails, int32(i))
		} else {
			tails[j] = int32(i)
		}
	}
	keep := make([]bool, n)
	if len(tails) > 0 {
		for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
			keep[i] = true
		}
	}
	return keep
}

func compareHeaders(a, b *Member) []Finding {
	var fs []Finding
	const k = KindHeader
	itoa := strconv.Itoa
	fs = add(fs, k, "type", typeName(a.Typeflag), typeName(b.Typeflag))
	fs = add(fs, k, "mode", fmt.Sprintf("%04o", a.Mode), fmt.Sprintf("%04o", b.Mode))
	fs = add(fs, k, "uid", itoa(a.UID), itoa(b.UID))
	fs = add(fs, k, "gid", itoa(a.GID), itoa(b.GID))
	fs = add(fs, k, "uname", strconv.Quote(a.Uname), strconv.Quote(b.Uname))
	fs = add(fs, k, "gname", strconv.Quote(a.Gname), strconv.Quote(b.Gname))
	fs = add(fs, k, "mtime", fmtTime(a.ModTime), fmtTime(b.ModTime))
	fs = add(fs, k, "atime", fmtTime(a.AccessTime), fmtTime(b.AccessTime))
	fs = add(fs, k, "ctime", fmtTime(a.ChangeTime), fmtTime(b.ChangeTime))
	fs = add(fs, k, "size", fmt.Sprint(a.Size), fmt.Sprint(b.Size))
	fs = add(fs, k, "linkname", display(a.Linkname), display(b.Linkname))
	fs = add(fs, k, "devmajor", fmt.Sprint(a.Devmajor), fmt.Sprint(b.Devmajor))
	fs = add(fs, k, "devminor", fmt.Sprint(a.Devminor), fmt.Sprint(b.Devminor))
	fs = add(fs, k, "format", a.Format, b.Format)
	for _, key := range unionKeys(a.PAXRecords, b.PAXRecords) {
		fs = add(fs, k, "pax "+key, recordValue(a.PAXRecords, key), recordValue(b.PAXRecords, key))
	}
	if len(fs) == 0 && a.HeaderSHA256 != b.HeaderSHA256 {
		fs = append(fs, Finding{Kind: k, Field: "header bytes", Old: "sha256 " + a.HeaderSHA256, New: "sha256 " + b.HeaderSHA256,
			Note: "same field values, different encoding (number format, padding or field order)"})
	}
	return fs
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64))
}

// display returns name unchanged if it is printable UTF-8, else quoted.
func display(name string) string {
	if utf8.ValidString(name) && strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return name
	}
	return strconv.Quote(name)
}

// fillUnifiedDiffs re-reads both inputs concurrently, keeping only the
// wanted text members (within the memory budget), and sets Finding.Diff.
// Each re-read stops after the last wanted member.
// Members whose contents were kept during the first pass are not re-read.
func fillUnifiedDiffs(ctx context.Context, a, b source, fs []Finding, wanted map[memberKey]wantedDiff,
	kept map[memberKey][2][]byte, o options, opts []Option) error {
	keys := make([]memberKey, 0, len(wanted))
	for k := range wanted {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return wanted[keys[i]].aIndex < wanted[keys[j]].aIndex })
	take := map[memberKey]bool{}
	var budget int64
	for _, k := range keys {
		f := &fs[wanted[k].finding]
		var sa, sb int64
		fmt.Sscanf(f.Old, "size %d", &sa)
		fmt.Sscanf(f.New, "size %d", &sb)
		if budget+sa+sb > o.diff.maxTextTotal {
			f.Note = fmt.Sprintf("text diff omitted: total text diff budget of %s used", humanBytes(o.diff.maxTextTotal))
			continue
		}
		budget += sa + sb
		if c, ok := kept[k]; ok {
			setDiff(f, unifiedDiff("a/"+f.Path, c[0], "b/"+f.Path, c[1]), o.diff.maxDiffLines)
			continue
		}
		take[k] = true
	}
	if len(take) == 0 {
		return nil
	}
	var ca, cb map[memberKey]*bytes.Buffer
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { cb, errB = collect(ctx, b, take, opts) })
	ca, errA = collect(ctx, a, take, opts)
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	for k := range take {
		f := &fs[wanted[k].finding]
		old, nw := "a/"+f.Path, "b/"+f.Path
		setDiff(f, unifiedDiff(old, ca[k].Bytes(), nw, cb[k].Bytes()), o.diff.maxDiffLines)
	}
	return nil
}

// setDiff classifies a text content finding from its whole unified diff
// d and keeps d, capped at maxLines lines, as its Diff.
func setDiff(f *Finding, d []byte, maxLines int) {
	f.removed, f.added = changedLines(string(d))
	if f.removed == nil && f.added == nil {
		f.removed = []string{}
	}
	f.Class, f.Stamps = classifyText(f.removed, f.added)
	f.Diff = capLines(string(d), maxLines)
}

// collect returns the content of the members in take, reading s only up
// to the last of them.
func collect(ctx context.Context, s source, take map[memberKey]bool, opts []Option) (map[memberKey]*bytes.Buffer, error) {
	f, err := s.open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[memberKey]*bytes.Buffer{}
	seen := map[string]int{}
	sink := func(m *Member) io.Writer {
		k := memberKey{m.Name, seen[m.Name]}
		seen[m.Name]++
		if !take[k] {
			return nil
		}
		b := &bytes.Buffer{}
		out[k] = b
		return b
	}
	r, err := Open(ctx, f, append(opts, WithName(s.name), withContent(sink))...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for len(out) < len(take) {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	for k := range take {
		if out[k] == nil {
			out[k] = &bytes.Buffer{}
		}
	}
	return out, nil
}

func capLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... %d more lines not shown (--max-diff-lines)\n", len(lines)-n)
}

// warnings lists suspicious members of both inputs; a warning found in
// both has Side "both".
func (mt *matcher) warnings() []Finding {
	wa := append(mt.warnA, duplicateWarnings(mt.counts, 0)...)
	wb := append(mt.warnB, duplicateWarnings(mt.counts, 1)...)
	type key struct{ path, field, old string }
	inB := map[key]bool{}
	for _, w := range wb {
		inB[key{w.Path, w.Field, w.Old}] = true
	}
	inA := map[key]bool{}
	var out []Finding
	for _, w := range wa {
		k := key{w.Path, w.Field, w.Old}
		inA[k] = true
		w.Side = "a"
		if inB[k] {
			w.Side = "both"
		}
		out = append(out, w)
	}
	for _, w := range wb {
		if !inA[key{w.Path, w.Field, w.Old}] {
			w.Side = "b"
			out = append(out, w)
		}
	}
	sortFindings(out)
	return out
}

// duplicateWarnings warns once per name given to more than one member.
func duplicateWarnings(names *nameTable, side int) []Finding {
	var fs []Finding
	names.each(func(name string, c [2]int32) {
		if n := c[side]; n > 1 {
			fs = append(fs, Finding{Kind: KindWarning, Path: display(name), Field: "duplicate-name",
				Old: fmt.Sprintf("%d members with this name", n)})
		}
	})
	return fs
}

// memberWarnings lists what is suspicious about one member, apart from a
// duplicate name.
func memberWarnings(m *Member) []Finding {
	var fs []Finding
	w := func(field, detail string) {
		fs = append(fs, Finding{Kind: KindWarning, Path: display(m.Name), Field: field, Old: detail})
	}
	if !utf8.ValidString(m.Name) {
		w("non-utf8-name", "name is not valid UTF-8")
	}
	if unsafePath(m.Name) {
		w("unsafe-path", "absolute or contains '..'; would write outside the extraction directory")
	}
	switch m.Typeflag {
	case tar.TypeSymlink:
		target := m.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(m.Name), target)
		}
		if path.IsAbs(target) || target == ".." || strings.HasPrefix(target, "../") {
			w("link-outside", "symlink to "+display(m.Linkname)+" points outside the archive")
		}
	case tar.TypeLink:
		if unsafePath(m.Linkname) {
			w("link-outside", "hardlink to "+display(m.Linkname)+" points outside the archive")
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		w("device", fmt.Sprintf("%s %d,%d", typeName(m.Typeflag), m.Devmajor, m.Devminor))
	}
	return fs
}

func unsafePath(p string) bool {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) {
		return true
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return true
		}
	}
	return false
}
