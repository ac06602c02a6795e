package deflate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// This file proves GNU gzip and zlib candidates (levels 1-9) on several
// cores: the
// decompression that Identify does anyway notes resume points (block
// boundaries after a match, resume.go) every few MiB, and workers
// re-create the blocks between two of them, each decompressing its own
// slice of the file again. A segment's end state must equal the state the
// next segment assumed; if one does not (a gap in the model, never seen),
// the candidate is proven again in one sequential run.

const (
	// maxResumePoints bounds the segments of one file.
	maxResumePoints = 255
	// minSpacing and maxSpacing bound the uncompressed distance between
	// resume points (WithWorkers and the file's size choose it).
	minSpacing = 4 << 20
	maxSpacing = 1 << 30
	// firstResume is where the first resume point may be at the earliest:
	// the single-core lanes drop most candidates before it.
	firstResume = 1 << 20
	// confirmAfter is how much data must follow a resume point (a resumed
	// run reads the rest of its 64 KiB window at once).
	confirmAfter = 2*gzWSize + 1024
)

// segCand is one candidate proven in segments.
type segCand struct {
	c    Candidate
	lane *lane
	// failedAt is the first segment found to differ (or not to resume):
	// later ones need not run.
	failedAt atomic.Int64

	mu      sync.Mutex
	results map[int]*segResult
}

// segJob is the segment k of a candidate's run, from one resume point
// (nil: the start of the data) to the next (nil: the end).
type segJob struct {
	cand     *segCand
	k        int
	from, to *resumePoint
}

type segResult struct {
	err error
	// at is the deflate-data offset of the first byte that differs;
	// block the candidate's block there.
	at    int64
	block int
	// begin is the state a resumed run assumed, end the state at its stop.
	begin, end runState
	// startByte is the deflate-data offset the segment starts in,
	// written the bytes it wrote; length is its uncompressed length.
	startByte, written, length int64
}

// prover runs the segments of the resumable candidates.
type prover struct {
	ctx       context.Context
	cancel    context.CancelFunc
	published io.ReaderAt
	size      int64
	workers   int
	spacing   int64
	first     int64
	lanes     []*lane // the lanes of resumable candidates
	progress  *progress
	// inf is the main decompression, when it records the long matches
	// that levels 1-3 need (recordMatches).
	inf *inflater

	// Touched only by the decompressing goroutine (onBlock).
	pending    *resumePoint
	needBits   bool
	points     []*resumePoint
	blocks     int
	handedOver bool
	cands      []*segCand
	jobs       chan segJob
	jobsClosed bool
	wg         sync.WaitGroup
}

func newProver(ctx context.Context, published io.ReaderAt, size int64, workers int, spacing int64, lanes []*lane, pr *progress) *prover {
	ctx, cancel := context.WithCancel(ctx)
	return &prover{ctx: ctx, cancel: cancel, published: published, size: size, workers: workers,
		spacing: spacing, first: min(firstResume, spacing), lanes: lanes, progress: pr}
}

// watch makes the main decompression report its blocks to the prover,
// and record its long matches while a level 1-3 candidate is in the
// running (deflate_fast does not insert the inside of a match longer than
// max_lazy: 4, 5, 6).
func (p *prover) watch(f *inflater) {
	f.onBlock = p.onBlock
	if slices.ContainsFunc(p.lanes, func(l *lane) bool { return l.c.Level <= 3 }) {
		f.recordMatches(5)
		p.inf = f
	}
}

// onBlock is the inflater's callback on the main decompression.
func (p *prover) onBlock(b blockInfo, history []byte) error {
	pad := b.Type == 0 && b.Start == b.End && !b.Final
	if p.pending != nil && p.needBits && !(pad && b.Start == p.pending.pos) {
		var c [1]byte
		if _, err := p.published.ReadAt(c[:], b.BitOffset/8); err != nil {
			return fmt.Errorf("%w: reading the byte at bit %d: %v", ErrCorrupt, b.BitOffset, err)
		}
		p.pending.bitOffset, p.pending.partial, p.pending.block = b.BitOffset, c[0], p.blocks
		p.needBits = false
	}
	if !pad {
		p.blocks++
	}
	if p.pending != nil && !p.needBits && b.End >= p.pending.pos+confirmAfter {
		p.confirm(p.pending)
		p.pending = nil
	}
	next := p.first
	if n := len(p.points); n > 0 {
		next = p.points[n-1].pos + p.spacing
	}
	if p.pending == nil && !b.Final && b.Type != 0 && b.LastMatch >= minMatch && b.End >= next &&
		b.End >= 2*gzWSize && len(p.points) < maxResumePoints && len(history) >= 2*gzWSize {
		p.pending = &resumePoint{pos: b.End, lastMatch: b.LastMatch,
			history: append([]byte(nil), history[len(history)-2*gzWSize:]...)}
		if p.inf != nil {
			p.pending.spans, p.pending.spansOK = p.inf.longMatches(b.End - gzWSize - maxMatch)
		}
		p.needBits = true
	}
	return nil
}

// confirm adds a resume point; the first hands the resumable candidates
// that are still alive over from their lanes to the workers.
func (p *prover) confirm(rp *resumePoint) {
	p.points = append(p.points, rp)
	k := len(p.points) - 1
	if !p.handedOver {
		p.handedOver = true
		for _, l := range p.lanes {
			l.halt()
		}
		for _, l := range p.lanes {
			<-l.done
			if l.cmp.differ {
				continue
			}
			c := &segCand{c: l.c, lane: l, results: map[int]*segResult{}}
			c.failedAt.Store(math.MaxInt64)
			p.cands = append(p.cands, c)
		}
		if p.inf != nil && !slices.ContainsFunc(p.cands, func(c *segCand) bool { return c.c.Level <= 3 }) {
			p.inf.recordMatches(0) // no deflate_fast candidate left
			p.inf = nil
		}
		p.jobs = make(chan segJob, len(p.cands)*(maxResumePoints+1)+1)
		for range p.workers {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.work()
			}()
		}
		for _, c := range p.cands {
			p.jobs <- segJob{cand: c, k: 0, to: rp}
		}
		return
	}
	for _, c := range p.cands {
		p.jobs <- segJob{cand: c, k: k, from: p.points[k-1], to: rp}
	}
}

// finish queues the last segments once the data ended and waits for the
// workers.
func (p *prover) finish() {
	if p.handedOver && !p.jobsClosed {
		last := p.points[len(p.points)-1]
		for _, c := range p.cands {
			p.jobs <- segJob{cand: c, k: len(p.points), from: last}
		}
	}
	p.stop()
}

// stop ends the workers (after the queued jobs, unless cancelled).
func (p *prover) stop() {
	if p.jobs != nil && !p.jobsClosed {
		close(p.jobs)
		p.jobsClosed = true
	}
	p.wg.Wait()
}

func (p *prover) work() {
	for j := range p.jobs {
		if p.ctx.Err() != nil || int64(j.k) > j.cand.failedAt.Load() {
			continue
		}
		r := p.runSegment(j)
		if r.err == nil {
			p.progress.proven(r.length)
		}
		for r.err != nil {
			at := j.cand.failedAt.Load()
			if int64(j.k) >= at || j.cand.failedAt.CompareAndSwap(at, int64(j.k)) {
				break
			}
		}
		j.cand.mu.Lock()
		j.cand.results[j.k] = r
		j.cand.mu.Unlock()
	}
}

// runSegment re-creates one segment and compares it with the file.
func (p *prover) runSegment(j segJob) *segResult {
	r := &segResult{}
	skip := 0
	var dict []byte
	if j.from != nil {
		r.startByte = j.from.bitOffset / 8
		skip = int(j.from.bitOffset % 8)
		dict = j.from.history[len(j.from.history)-gzWSize:]
	}
	in := newInflater(io.NewSectionReader(p.published, r.startByte, p.size-r.startByte), skip, dict, gzWSize)
	cmp := &segCmp{published: p.published, off: r.startByte}
	var d segDeflater
	switch j.cand.c.Compressor {
	case GNU:
		d = &gnuDeflater{level: j.cand.c.Level, rsync: j.cand.c.Rsyncable, in: ctxReader{p.ctx, in}, out: cmp, stopAt: j.stopAt()}
	case Zlib:
		d = &zlibDeflater{level: j.cand.c.Level, in: ctxReader{p.ctx, in}, out: cmp, stopAt: j.stopAt()}
	default:
		return &segResult{err: fmt.Errorf("%w: %s", errNoResume, j.cand.c)}
	}
	var err error
	if j.from == nil {
		err = d.run()
	} else {
		r.begin, err = d.resume(j.from)
		if err == nil {
			err = d.runFrom()
		}
	}
	r.written = cmp.n
	if r.length = d.consumed(); j.to != nil {
		r.length = j.to.pos
		if j.from != nil {
			r.length -= j.from.pos
		}
	}
	handoff, nbits, blocks := d.ended()
	r.block = blocks - 1
	switch {
	case errors.Is(err, errStopAt):
		r.end = *handoff
		r.end.bitPos = (r.startByte+cmp.n)*8 + int64(nbits)
	case err == nil && j.to != nil:
		r.err, r.at = errNoBoundary, r.startByte+cmp.n
	case err == nil:
	case errors.Is(err, errDiffers):
		r.err, r.at = err, cmp.at
	case errors.Is(err, errNoBoundary):
		r.err, r.at = err, r.startByte+cmp.n
	default:
		r.err = err
	}
	return r
}

// verdict is a proven candidate's result: a match, a rejection, or
// neither (fallback: prove it again in one run).
func (p *prover) verdict(c *segCand, id *Identification) (m *Match, rej *Rejection, fallback bool, err error) {
	reject := func(at int64, block int, reason string) (*Match, *Rejection, bool, error) {
		return nil, &Rejection{Candidate: c.c, Offset: int64(id.Header.Len) + at, Block: block, Reason: reason}, false, nil
	}
	n := len(p.points) + 1
	for k := range n {
		r := c.results[k]
		if r == nil {
			return nil, nil, false, fmt.Errorf("deflate: segment %d of %s did not run", k, c.c)
		}
		switch {
		case errors.Is(r.err, errDiffers):
			if r.at >= id.DeflateSize {
				return reject(r.at, r.block, fmt.Sprintf("its deflate data is longer than the file's %d bytes", id.DeflateSize))
			}
			return reject(r.at, r.block, fmt.Sprintf("deflate data differs at file offset %d (block %d)", int64(id.Header.Len)+r.at, r.block))
		case errors.Is(r.err, errNoBoundary):
			at := p.points[k].bitOffset / 8
			return reject(at, r.block, fmt.Sprintf("its block %d does not end at uncompressed offset %d, where the file's does", r.block, p.points[k].pos))
		case errors.Is(r.err, errNoResume):
			return nil, nil, true, nil
		case r.err != nil:
			return nil, nil, false, r.err
		}
		if k > 0 {
			prev := c.results[k-1].end
			if prev.bitPos != r.begin.bitPos || prev.bits != r.begin.bits {
				at := min(prev.bitPos, r.begin.bitPos) / 8
				return reject(at, p.points[k-1].block, fmt.Sprintf("deflate data differs at file offset %d (block %d)", int64(id.Header.Len)+at, p.points[k-1].block))
			}
			if !prev.modelEqual(r.begin) {
				return nil, nil, true, nil
			}
		}
		if k == n-1 && r.startByte+r.written != id.DeflateSize {
			return reject(r.startByte+r.written, r.block,
				fmt.Sprintf("its deflate data ends after %d bytes, the file's after %d", r.startByte+r.written, id.DeflateSize))
		}
	}
	mm := matchFor(c.c, id)
	mm.Segments = n
	return &mm, nil, false, nil
}

// segDeflater is what runSegment needs of gnuDeflater and zlibDeflater.
type segDeflater interface {
	run() error
	resume(*resumePoint) (runState, error)
	runFrom() error
	// ended gives the state a stopped run recorded, the bits it holds and
	// how many blocks it wrote.
	ended() (*runState, int, int)
	// consumed counts the bytes the run read after its start.
	consumed() int64
}

var (
	_ segDeflater = (*gnuDeflater)(nil)
	_ segDeflater = (*zlibDeflater)(nil)
)

func (d *gnuDeflater) ended() (*runState, int, int)  { return d.handoff, d.bw.nbits, d.blocks }
func (d *zlibDeflater) ended() (*runState, int, int) { return d.handoff, d.bw.nbits, d.blocks }
func (d *gnuDeflater) consumed() int64               { return d.bytesIn }
func (d *zlibDeflater) consumed() int64              { return d.bytesIn }

// stopAt is where the segment ends (0: at the end of the data; a resume
// point is never at 0).
func (j segJob) stopAt() int64 {
	if j.to == nil {
		return 0
	}
	return j.to.pos
}

// segCmp compares a segment's output with the deflate data from off.
type segCmp struct {
	published io.ReaderAt
	off, n    int64
	buf       []byte
	at        int64
}

func (c *segCmp) Write(p []byte) (int, error) {
	if i := matching(c.published, c.off+c.n, p, &c.buf); i < len(p) {
		c.at = c.off + c.n + int64(i)
		c.n += int64(i)
		return i, errDiffers
	}
	c.n += int64(len(p))
	return len(p), nil
}
