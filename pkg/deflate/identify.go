package deflate

import (
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sort"
	"sync"
)

// Compressor names a family of known compressors.
type Compressor string

// Known compressors.
const (
	// GNU is GNU gzip 1.10-1.13 (gzip -N, with or without --rsyncable).
	GNU Compressor = "gnu-gzip"
	// Zlib is zlib 1.2.11-1.3.1 with windowBits 15, memLevel 8 and the
	// default strategy: git archive --format=tar.gz (git 2.38+), and
	// programs such as Python's gzip module that write their own header.
	Zlib Compressor = "zlib"
	// Go is the compress/gzip (compress/flate) of the Go release that
	// built this program.
	Go Compressor = "go"
)

// Candidate is one compressor at one level.
type Candidate struct {
	Compressor Compressor `json:"compressor"`
	Level      int        `json:"level"`
	Rsyncable  bool       `json:"rsyncable,omitempty"`
	// Zlib1211 is zlib 1.2.11's level 0, whose stored blocks are a byte
	// shorter than later versions' (level 0 only).
	Zlib1211 bool `json:"zlib_1_2_11,omitempty"`
}

func (c Candidate) String() string {
	switch c.Compressor {
	case GNU:
		s := fmt.Sprintf("GNU gzip -%d", c.Level)
		if c.Rsyncable {
			s += " --rsyncable"
		}
		return s
	case Zlib:
		if c.Level == 0 {
			return fmt.Sprintf("zlib level 0 (stored, as git archive -0 feeds zlib %s)", c.zlibVersions())
		}
		return fmt.Sprintf("zlib level %d", c.Level)
	case Go:
		return fmt.Sprintf("Go %s compress/gzip level %d", runtime.Version(), c.Level)
	}
	return string(c.Compressor)
}

// zlibVersions names the zlib releases that write c's bytes.
func (c Candidate) zlibVersions() string {
	switch {
	case c.Level != 0:
		return "1.2.11-1.3.1"
	case c.Zlib1211:
		return "1.2.11"
	}
	return "1.2.12-1.3.1"
}

// Candidates lists every known compressor, in the order matches are
// reported: GNU gzip (default level first, then 9, 1..8; without then with
// --rsyncable), zlib (then its level 0 as git archive -0 feeds it, of
// zlib 1.2.12+ and of 1.2.11), Go.
func Candidates() []Candidate {
	levels := []int{6, 9, 1, 2, 3, 4, 5, 7, 8}
	var cs []Candidate
	for _, l := range levels {
		cs = append(cs, Candidate{Compressor: GNU, Level: l})
	}
	for _, l := range levels {
		cs = append(cs, Candidate{Compressor: GNU, Level: l, Rsyncable: true})
	}
	for _, l := range levels {
		cs = append(cs, Candidate{Compressor: Zlib, Level: l})
	}
	cs = append(cs, Candidate{Compressor: Zlib}, Candidate{Compressor: Zlib, Zlib1211: true})
	for _, l := range levels {
		cs = append(cs, Candidate{Compressor: Go, Level: l})
	}
	return cs
}

// headerXFL is the XFL byte each compressor writes at level.
func (c Candidate) headerXFL() byte {
	switch {
	case c.Level == 9:
		return 2
	case c.Level == 1, c.Level == 0 && c.Compressor == Zlib:
		return 4
	}
	return 0
}

// Match is a candidate that reproduces the deflate data byte for byte.
type Match struct {
	Candidate
	// Command is how to make the same file, when the header says so too.
	Command string `json:"command"`
	// HeaderDifferences lists the header fields that differ from what the
	// compressor writes by itself (empty: the whole file is reproduced).
	HeaderDifferences []string `json:"header_differences,omitempty"`
	// Segments is how many segments of the file were re-created apart,
	// on several cores, to prove it (0: in one run).
	Segments int `json:"segments,omitempty"`
}

// Rejection says why a candidate does not reproduce the file.
type Rejection struct {
	Candidate
	Reason string `json:"reason"`
	// Offset is the file offset of the first byte that differs.
	Offset int64 `json:"offset"`
	// Block is the index of the candidate's deflate block that differs
	// (-1: not known, for Go's compressor).
	Block int `json:"block"`
	// FirstBlock is the candidate's first block header, when the first
	// block already differs.
	FirstBlock *BlockHeader `json:"first_block,omitempty"`
}

// Identification is what Identify found out about a gzip file.
type Identification struct {
	// File is the path given to IdentifyFile.
	File   string `json:"-"`
	Size   int64  `json:"size"`
	Header Header `json:"header"`
	// DeflateOffset and DeflateSize locate the deflate data of the first member.
	DeflateOffset    int64       `json:"deflate_offset"`
	DeflateSize      int64       `json:"deflate_size"`
	UncompressedSize int64       `json:"uncompressed_size"`
	CRC32            uint32      `json:"crc32"`
	FirstBlock       BlockHeader `json:"first_block"`
	// TrailingBytes counts the bytes after the first member (more
	// members, or garbage); only the first member is identified.
	TrailingBytes int64 `json:"trailing_bytes"`
	// Partial is set when the candidates ran on the first
	// CheckedUncompressed bytes only (WithPrefix).
	Partial             bool        `json:"partial"`
	CheckedUncompressed int64       `json:"checked_uncompressed"`
	Matches             []Match     `json:"matches"`
	Rejected            []Rejection `json:"rejected"`
}

// ErrTooLarge reports data that decompresses to more than the limit.
var ErrTooLarge = errors.New("deflate: too large")

// IdentifyOption configures Identify.
type IdentifyOption func(*identifyOptions)

type identifyOptions struct {
	maxUncompressed int64
	prefix          int64
	candidates      []Candidate
	workers         int
	spacing         int64 // tests: the distance between resume points
	progress        func(Progress)
}

// Progress is how far Identify has got.
type Progress struct {
	// Decompressed counts the uncompressed bytes decoded so far; Total is
	// the size the gzip trailer gives (modulo 4 GiB: 0 when that is less
	// than the file's size, so unknown).
	Decompressed, Total int64
	// Proven counts the uncompressed bytes whose blocks the workers have
	// re-created and compared (candidates proven in segments only; the
	// others keep pace with Decompressed).
	Proven int64
}

// WithProgress calls f every 16 MiB decompressed, at the end of the data
// and whenever a segment is proven, one call at a time (from several
// goroutines).
func WithProgress(f func(Progress)) IdentifyOption {
	return func(o *identifyOptions) { o.progress = f }
}

// WithWorkers sets how many goroutines prove GNU gzip and zlib candidates
// in segments of the file, besides the one decompressing it (default
// runtime.GOMAXPROCS(0); 1: one sequential run per candidate).
func WithWorkers(n int) IdentifyOption {
	return func(o *identifyOptions) { o.workers = n }
}

// WithCandidates runs only cs (default: Candidates()).
func WithCandidates(cs ...Candidate) IdentifyOption {
	return func(o *identifyOptions) { o.candidates = cs }
}

// WithPrefix runs the candidates on the first n uncompressed bytes only
// (n <= 0: all of them; the file is still decompressed to the end and its
// CRC checked). The matches then reproduce the deflate blocks made of that
// prefix, not necessarily the whole file: Identification.Partial says so.
// On large files this bounds the time to little more than a decompression.
func WithPrefix(n int64) IdentifyOption {
	return func(o *identifyOptions) { o.prefix = n }
}

// WithMaxUncompressed fails Identify with ErrTooLarge once the data
// decompresses to more than n bytes (n <= 0: no limit).
func WithMaxUncompressed(n int64) IdentifyOption {
	return func(o *identifyOptions) { o.maxUncompressed = n }
}

// Identify decompresses the first gzip member of r (size bytes) once and
// runs every candidate compressor on the data in step with it, dropping
// each candidate at its first block that differs from the file. It
// reports the candidates that reproduce the deflate data exactly and why
// the others do not.
func Identify(ctx context.Context, r io.ReaderAt, size int64, opts ...IdentifyOption) (*Identification, error) {
	var o identifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	head := make([]byte, min(size, 64<<10))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h, err := parseHeader(head)
	if err != nil {
		return nil, err
	}
	id := &Identification{Size: size, Header: h, DeflateOffset: int64(h.Len)}
	if fb, ok := parseBlockHeader(head[h.Len:]); ok {
		id.FirstBlock = fb
	}

	// The published deflate data, read by each lane's comparer.
	published := io.NewSectionReader(r, int64(h.Len), size-int64(h.Len))
	cands := o.candidates
	if cands == nil {
		cands = Candidates()
	}
	lanes := make([]*lane, len(cands))
	var wg sync.WaitGroup
	var segLanes []*lane
	for i, c := range cands {
		l := newLane(ctx, c, published)
		lanes[i] = l
		if resumable(c) {
			segLanes = append(segLanes, l)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(l.done)
			l.run()
		}()
	}
	workers := o.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	hint := sizeHint(r, size)
	pr := newProgress(o.progress, hint)
	var pv *prover
	if workers > 1 && o.prefix <= 0 && len(segLanes) > 0 {
		pv = newProver(ctx, published, size-int64(h.Len), workers, o.resumeSpacing(hint, size, workers), segLanes, pr)
	}
	defer func() {
		for _, l := range lanes {
			l.pw.CloseWithError(errStopped)
		}
		wg.Wait()
		if pv != nil {
			pv.cancel()
			pv.stop()
		}
	}()

	fr := newInflater(io.NewSectionReader(r, int64(h.Len), size-int64(h.Len)), 0, nil, 2*gzWSize+512)
	if pv != nil {
		pv.watch(fr)
	}
	crc := crc32.NewIEEE()
	buf := make([]byte, 128<<10)
	live := len(lanes)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, rerr := fr.Read(buf)
		if n > 0 {
			crc.Write(buf[:n])
			if id.UncompressedSize>>24 != (id.UncompressedSize+int64(n))>>24 {
				pr.decompressed(id.UncompressedSize + int64(n))
			}
			id.UncompressedSize += int64(n)
			if o.maxUncompressed > 0 && id.UncompressedSize > o.maxUncompressed {
				return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, o.maxUncompressed)
			}
			feed := n
			if o.prefix > 0 && id.CheckedUncompressed+int64(n) > o.prefix {
				feed = int(max(0, o.prefix-id.CheckedUncompressed))
				if !id.Partial {
					id.Partial = true
					for _, l := range lanes {
						l.halt()
					}
				}
			}
			id.CheckedUncompressed += int64(feed)
			if live > 0 && feed > 0 {
				live = 0
				for _, l := range lanes {
					if l.stopped {
						continue
					}
					if _, err := l.pw.Write(buf[:feed]); err != nil {
						l.stopped = true
						continue
					}
					live++
				}
			}
		}
		if errors.Is(rerr, io.EOF) {
			pr.decompressed(id.UncompressedSize)
			break
		}
		if rerr != nil {
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: deflate data ends early", ErrCorrupt)
			}
			if errors.Is(rerr, ErrCorrupt) {
				return nil, rerr
			}
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, rerr)
		}
	}
	id.DeflateSize = (fr.bitsRead() + 7) / 8
	var trailer [8]byte
	end := int64(h.Len) + id.DeflateSize
	if _, err := r.ReadAt(trailer[:], end); err != nil {
		return nil, fmt.Errorf("%w: no gzip trailer after the deflate data", ErrCorrupt)
	}
	id.CRC32 = crc.Sum32()
	if binary.LittleEndian.Uint32(trailer[:4]) != id.CRC32 {
		return nil, fmt.Errorf("%w: CRC-32 mismatch", ErrCorrupt)
	}
	if binary.LittleEndian.Uint32(trailer[4:]) != uint32(id.UncompressedSize) {
		return nil, fmt.Errorf("%w: ISIZE mismatch", ErrCorrupt)
	}
	id.TrailingBytes = size - end - 8
	for _, l := range lanes {
		if id.Partial {
			l.halt()
		} else {
			l.pw.Close()
		}
	}
	wg.Wait()
	if pv != nil {
		pv.finish()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	delegated := map[*lane]*segCand{}
	if pv != nil {
		for _, c := range pv.cands {
			delegated[c.lane] = c
		}
	}
	var again []Candidate
	for _, l := range lanes {
		if c := delegated[l]; c != nil {
			m, rej, fallback, err := pv.verdict(c, id)
			switch {
			case err != nil:
				return nil, err
			case fallback:
				again = append(again, c.c)
			case m != nil:
				id.Matches = append(id.Matches, *m)
			default:
				id.Rejected = append(id.Rejected, *rej)
			}
			continue
		}
		if l.err != nil && !errors.Is(l.err, errDiffers) && !errors.Is(l.err, errStopped) {
			return nil, fmt.Errorf("deflate: running %s: %w", l.c, l.err)
		}
		switch {
		case l.cmp.differ:
			id.Rejected = append(id.Rejected, l.cmp.rejection(l.c, id))
		case id.Partial && l.cmp.n == 0:
			id.Rejected = append(id.Rejected, Rejection{Candidate: l.c, Offset: int64(h.Len), Block: -1,
				Reason: fmt.Sprintf("undecided: it finished no block within the first %d bytes", id.CheckedUncompressed)})
		case id.Partial:
			id.Matches = append(id.Matches, matchFor(l.c, id))
		case l.cmp.n != id.DeflateSize:
			id.Rejected = append(id.Rejected, Rejection{Candidate: l.c, Offset: int64(h.Len) + l.cmp.n, Block: l.blocks(),
				Reason: fmt.Sprintf("its deflate data ends after %d bytes, the file's after %d", l.cmp.n, id.DeflateSize)})
		default:
			id.Matches = append(id.Matches, matchFor(l.c, id))
		}
	}
	if len(again) > 0 {
		// A segment boundary the model did not carry over: prove these
		// candidates again in one run each.
		seq, err := Identify(ctx, r, size, WithCandidates(again...), WithWorkers(1), WithMaxUncompressed(o.maxUncompressed))
		if err != nil {
			return nil, err
		}
		id.Matches = append(id.Matches, seq.Matches...)
		id.Rejected = append(id.Rejected, seq.Rejected...)
	}
	// Whole-file matches first, keeping the candidate order otherwise.
	sort.SliceStable(id.Matches, func(i, j int) bool {
		return len(id.Matches[i].HeaderDifferences) == 0 && len(id.Matches[j].HeaderDifferences) != 0
	})
	return id, nil
}

// matchFor fills in the command and the header fields the compressor
// would not have written.
func matchFor(c Candidate, id *Identification) Match {
	h := id.Header
	m := Match{Candidate: c}
	var diffs []string
	if h.XFL != c.headerXFL() {
		diffs = append(diffs, fmt.Sprintf("XFL %d (level %d writes %d)", h.XFL, c.Level, c.headerXFL()))
	}
	wantOS := OSUnix
	if c.Compressor == Go {
		wantOS = OSUnknown
	}
	if h.OS != wantOS {
		diffs = append(diffs, fmt.Sprintf("OS %d (%s writes %d)", h.OS, c.Compressor, wantOS))
	}
	if h.Comment != "" || h.ExtraLen != 0 || h.Flags&(flagHCRC|flagText) != 0 {
		diffs = append(diffs, fmt.Sprintf("FLG %#02x (FCOMMENT, FEXTRA, FHCRC or FTEXT set)", h.Flags))
	}
	switch c.Compressor {
	case GNU:
		n := "n"
		if h.HasName || h.MTime != 0 {
			n = ""
			if !h.HasName && h.MTime != 0 {
				n = " (input from a pipe or a file without a name)"
			}
		}
		m.Command = fmt.Sprintf("gzip -%d%s", c.Level, n)
		if c.Rsyncable {
			m.Command += " --rsyncable"
		}
		if h.HasName {
			m.Command += " " + h.Name
		}
		if !h.HasName && h.MTime != 0 {
			m.Command = fmt.Sprintf("gzip -%d", c.Level) + map[bool]string{true: " --rsyncable", false: ""}[c.Rsyncable]
			diffs = append(diffs, fmt.Sprintf("MTIME %d without FNAME (gzip writes both or neither)", h.MTime))
		}
	case Zlib:
		m.Command = "git archive --format=tar.gz"
		if c.Level != 6 {
			m.Command += fmt.Sprintf(" -%d", c.Level)
		}
		if h.HasName {
			diffs = append(diffs, fmt.Sprintf("FNAME %q (zlib's own header has none)", h.Name))
		}
		if h.MTime != 0 {
			diffs = append(diffs, fmt.Sprintf("MTIME %d (git writes 0)", h.MTime))
		}
	case Go:
		m.Command = fmt.Sprintf("gzip.NewWriterLevel(w, %d) (%s)", c.Level, runtime.Version())
	}
	m.HeaderDifferences = diffs
	return m
}

var (
	errDiffers = errors.New("deflate: output differs")
	errStopped = errors.New("deflate: identification stopped")
)

// lane runs one candidate on the data written to pw.
type lane struct {
	ctx     context.Context
	c       Candidate
	done    chan struct{} // closed when run returned
	pr      *io.PipeReader
	pw      *io.PipeWriter
	cmp     *cmpWriter
	stopped bool // the broadcaster no longer writes to it
	halted  bool // halt was called (broadcaster only)
	// inputEnded is set (by the lane's own goroutine) once its input
	// was cut: output after that is not judged.
	inputEnded bool
	err        error

	blocks func() int
}

func newLane(ctx context.Context, c Candidate, published io.ReaderAt) *lane {
	pr, pw := io.Pipe()
	l := &lane{ctx: ctx, c: c, pr: pr, pw: pw, done: make(chan struct{})}
	l.cmp = &cmpWriter{published: published, lane: l}
	l.blocks = func() int { return -1 }
	return l
}

// halt stops the lane without judging what it writes afterwards.
func (l *lane) halt() {
	if !l.halted {
		l.halted, l.stopped = true, true
		l.pw.CloseWithError(errStopped)
	}
}

// Read reads the lane's input and notes when it was cut.
func (l *lane) Read(p []byte) (int, error) {
	n, err := l.pr.Read(p)
	if errors.Is(err, errStopped) {
		l.inputEnded = true
	}
	return n, err
}

func (l *lane) run() {
	in := ctxReader{l.ctx, l}
	switch l.c.Compressor {
	case GNU:
		d := &gnuDeflater{level: l.c.Level, rsync: l.c.Rsyncable, in: in, out: l.cmp}
		l.blocks = func() int { return d.blocks - 1 }
		l.err = d.run()
	case Zlib:
		if l.c.Level == 0 {
			l.err = gitStoredDeflate(l.cmp, in, l.c.Zlib1211)
			break
		}
		d := &zlibDeflater{level: l.c.Level, in: in, out: l.cmp}
		l.blocks = func() int { return d.blocks - 1 }
		l.err = d.run()
	case Go:
		fw, err := flate.NewWriter(l.cmp, l.c.Level)
		if err == nil {
			if _, err = io.Copy(fw, in); err == nil {
				err = fw.Close()
			}
		}
		l.err = err
	}
	if l.err == nil {
		l.err = errStopped
	}
	l.pr.CloseWithError(l.err) // unblock the broadcaster
}

// cmpWriter compares a candidate's output with the published deflate data.
type cmpWriter struct {
	published io.ReaderAt
	lane      *lane
	n         int64 // bytes compared so far
	buf       []byte
	first     []byte // the candidate's first bytes
	differ    bool
	at        int64 // offset of the first difference in the deflate data
	block     int
}

func (c *cmpWriter) Write(p []byte) (int, error) {
	if c.lane.inputEnded {
		return 0, errStopped
	}
	if c.differ {
		return 0, errDiffers
	}
	if len(c.first) < 16 {
		c.first = append(c.first, p[:min(len(p), 16-len(c.first))]...)
	}
	if i := matching(c.published, c.n, p, &c.buf); i < len(p) {
		c.differ = true
		c.at = c.n + int64(i)
		c.block = c.lane.blocks()
		return 0, errDiffers
	}
	c.n += int64(len(p))
	return len(p), nil
}

// matching reads len(p) bytes of published at off into *buf (grown as
// needed) and says how many leading bytes of p they equal.
func matching(published io.ReaderAt, off int64, p []byte, buf *[]byte) int {
	if cap(*buf) < len(p) {
		*buf = make([]byte, len(p))
	}
	b := (*buf)[:len(p)]
	m, _ := published.ReadAt(b, off)
	i := 0
	for i < m && b[i] == p[i] {
		i++
	}
	return i
}

func (c *cmpWriter) rejection(cand Candidate, id *Identification) Rejection {
	r := Rejection{Candidate: cand, Offset: int64(id.Header.Len) + c.at, Block: c.block}
	if c.at >= id.DeflateSize {
		r.Reason = fmt.Sprintf("its deflate data is longer than the file's %d bytes", id.DeflateSize)
		return r
	}
	if c.block == 0 || (c.block < 0 && c.at < 8) {
		if fb, ok := parseBlockHeader(c.first); ok {
			r.FirstBlock = &fb
			if fb != id.FirstBlock {
				r.Reason = fmt.Sprintf("first block differs: %s, the file's is %s", fb, id.FirstBlock)
				return r
			}
		}
	}
	where := "block ?"
	if c.block >= 0 {
		where = fmt.Sprintf("block %d", c.block)
	}
	r.Reason = fmt.Sprintf("deflate data differs at file offset %d (%s)", r.Offset, where)
	return r
}

// resumeSpacing is the uncompressed distance between resume points: about
// four segments per worker, by the size the trailer gives (modulo 2^32).
func (o *identifyOptions) resumeSpacing(hint, size int64, workers int) int64 {
	if o.spacing > 0 {
		return o.spacing
	}
	if hint == 0 {
		hint = size * 4
	}
	return min(max(hint/int64(4*workers), minSpacing), maxSpacing)
}

// sizeHint is the uncompressed size the last four bytes of a one-member
// gzip file give, if it is more than the file's size (else 0).
func sizeHint(r io.ReaderAt, size int64) int64 {
	var t [4]byte
	if _, err := r.ReadAt(t[:], size-4); err == nil {
		if isize := int64(binary.LittleEndian.Uint32(t[:])); isize > size {
			return isize
		}
	}
	return 0
}

// progress serializes the calls of a WithProgress function.
type progress struct {
	mu sync.Mutex
	f  func(Progress)
	p  Progress
}

func newProgress(f func(Progress), total int64) *progress {
	return &progress{f: f, p: Progress{Total: total}}
}

func (p *progress) decompressed(n int64) {
	if p.f == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.Decompressed = n
	p.f(p.p)
}

func (p *progress) proven(n int64) {
	if p.f == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.Proven += n
	p.f(p.p)
}
