package deflate

import (
	"errors"
	"fmt"
)

// This file starts the deflate of GNU gzip (with or without --rsyncable)
// and of zlib, levels 1-9, in the middle of a stream, so that the blocks
// of a large file can be re-created on several cores at once. The lazy
// loop (levels 4-9) is described first; deflate_fast (levels 1-3) is the
// same but for two points at the end.
//
// A run can start right after a block whose last symbol is a match: both
// flush such a block from their match branch, where match_available is 0
// and match_length is MIN_MATCH-1, so the parse carries nothing over. The
// rest of the state is a function of the data and the position (zlib's
// fill_window, reading whole windows as this emulation feeds it, slides at
// the same points as gzip's, and its high-water mark is past the window
// once the first 64 KiB are read):
//
//   - the hash chains: the lazy loop inserts every position, and a search
//     at strstart only follows positions above strstart-MAX_DIST, so
//     inserting the 32 KiB before the start gives the same searches;
//   - the window: with full reads, gzip slides it by 32 KiB at the end of
//     the first iteration that leaves fewer than MIN_LOOKAHEAD bytes of
//     lookahead, so the number of slides follows from where the iteration
//     before the match's ended (the match's start + 1), and the window
//     holds the 64 KiB from base = slides*32 KiB;
//   - --rsyncable: the rolling sum is the sum of the 4096 bytes before the
//     start, and rsync_chunk_end is unset (the match branch checks it after
//     rolling the match's bytes in, so a chunk end inside them flushed this
//     very block);
//   - trees.c's compressed_len, which --rsyncable reads modulo 8, is the
//     bit offset of the next block modulo 8.
//
// deflate_fast has no lazy state at any token boundary, but does not
// insert the positions inside a match longer than max_lazy (4, 5, 6), so
// the chains follow from the data and those matches: the main
// decompression records its matches of 5 bytes or more (recordMatches)
// and a resume point keeps the ones of its last 32 KiB. Its iteration
// before the last ended where the match began.
//
// A run stopped at the next such boundary records the same state
// (runState), and the two are compared: equal states at every boundary
// make the segments one run.

// resumeHook, set by a test only, alters the state a resumed run assumes
// (as a gap in the model would).
var resumeHook func(*runState)

// errNoResume reports a resume point a run cannot start from.
var errNoResume = errors.New("deflate: cannot resume here")

// resumePoint is a block boundary of a published stream.
type resumePoint struct {
	// pos is the uncompressed offset of the boundary.
	pos int64
	// lastMatch is the length of the match that ends the block before.
	lastMatch int
	// bitOffset is the bit offset of the next block's header in the
	// deflate data, after any empty stored block --rsyncable pads with.
	bitOffset int64
	// partial is the deflate data's byte holding bit bitOffset: its low
	// bitOffset%8 bits belong to what comes before.
	partial byte
	// block is the number of blocks before it (empty stored pads not
	// counted).
	block int
	// history is the data before pos: its last min(pos, 2*32 KiB) bytes
	// at least.
	history []byte
	// spans are the matches of 5 bytes or more that end in the 32 KiB
	// before pos (deflate_fast needs them), if spansOK.
	spans   []matchSpan
	spansOK bool
}

// runState is the state of a lazy-deflate run at a block boundary, before
// the end-of-iteration window fill.
type runState struct {
	pos, base     int64
	lookahead     int
	rsyncSum      uint64
	rsyncChunkEnd uint64
	// compressedLen is trees.c's compressed_len modulo 8, all that
	// --rsyncable reads of it (it does not count the empty stored
	// blocks' LEN and NLEN, so it is not the bit offset itself).
	compressedLen uint64
	// bitPos is the bit offset in the deflate data of what the run
	// writes next; bits holds the bitPos%8 bits of its last byte.
	bitPos int64
	bits   uint64
}

// modelEqual says whether s and t agree on everything but the output bits.
func (s runState) modelEqual(t runState) bool {
	s.bitPos, s.bits, t.bitPos, t.bits = 0, 0, 0, 0
	return s == t
}

func (s runState) String() string {
	return fmt.Sprintf("pos %d base %d lookahead %d rsync %d/%d compressed_len %d bit %d (%#x)",
		s.pos, s.base, s.lookahead, s.rsyncSum, s.rsyncChunkEnd, s.compressedLen, s.bitPos, s.bits)
}

// resumable says whether a candidate can be run in segments.
func resumable(c Candidate) bool {
	return (c.Compressor == GNU || c.Compressor == Zlib) && c.Level >= 1 && c.Level <= 9
}

// windowAt is where the window starts (its base, a multiple of 32 KiB)
// when a run reaches rp: every threshold (m+2)*32K - MIN_LOOKAHEAD that
// the iteration before the last one ended past slid the window. That
// iteration ended where the match began (deflate_fast, lazy false) or one
// byte after (the lazy loop, which looked one position ahead).
func windowAt(rp *resumePoint, lazy bool) int64 {
	ePrev := rp.pos - int64(rp.lastMatch)
	if lazy {
		ePrev++
	}
	x := ePrev + minLookahead
	return max(0, (x+gzWSize-1)/gzWSize-2) * gzWSize
}

// chainsAt fills head and prev as a run resumed at rp has when it reaches
// strstart in window (at base): with the positions of the 32 KiB before it
// that it inserted, under gzip's and zlib's hash (15 bits, a shift of 5:
// the last three bytes). The lazy loop inserts every position;
// deflate_fast (maxInsert > 0) skips those inside a match longer than
// maxInsert, as rp.spans tell. It returns ins_h for the next insertion.
func chainsAt(window []byte, head, prev []uint16, strstart int, base int64, rp *resumePoint, maxInsert int) (uint32, error) {
	if maxInsert > 0 && !rp.spansOK {
		return 0, fmt.Errorf("%w: the matches before offset %d are not known", errNoResume, rp.pos)
	}
	spans := rp.spans
	clear(head)
	clear(prev)
	hash := func(r int) uint32 {
		return (uint32(window[r])<<10 ^ uint32(window[r+1])<<5 ^ uint32(window[r+2])) & gzHashMask
	}
	for r := max(0, strstart-gzWSize); r < strstart; r++ {
		if maxInsert > 0 {
			at := base + int64(r)
			for len(spans) > 0 && spans[0].pos+int64(spans[0].length) <= at {
				spans = spans[1:]
			}
			if len(spans) > 0 && spans[0].length > maxInsert && spans[0].pos < at {
				continue
			}
		}
		h := hash(r)
		prev[r&gzWMask] = head[h]
		head[h] = uint16(r)
	}
	return (uint32(window[strstart])<<5 ^ uint32(window[strstart+1])) & gzHashMask, nil
}

// loadWindow fills window (64 KiB) for a run resumed at rp from base: the
// history up to rp.pos, then the data after it from read. It returns
// strstart.
func loadWindow(rp *resumePoint, base int64, window []byte, read func([]byte) int) (int, error) {
	if rp.lastMatch < minMatch || rp.pos < 2*gzWSize {
		return 0, fmt.Errorf("%w: offset %d", errNoResume, rp.pos)
	}
	strstart := int(rp.pos - base)
	if strstart > len(rp.history) || strstart >= 2*gzWSize {
		return 0, fmt.Errorf("%w: %d bytes of history, %d needed", errNoResume, len(rp.history), strstart)
	}
	copy(window[:strstart], rp.history[len(rp.history)-strstart:])
	if n := read(window[strstart : 2*gzWSize]); n < 2*gzWSize-strstart {
		return 0, fmt.Errorf("%w: the data ends %d bytes after offset %d", errNoResume, n, rp.pos)
	}
	return strstart, nil
}

// assumed is the state a run resumed at rp starts from: s, at rp's bit
// offset (and as resumeHook alters it, in a test).
func assumed(s runState, rp *resumePoint) runState {
	s.bitPos = rp.bitOffset
	if resumeHook != nil {
		resumeHook(&s)
	}
	return s
}

// preload starts a bit writer at rp's bit offset, holding the bits of the
// partial byte that belong to what comes before.
func preload(bw *bitWriter, rp *resumePoint) {
	bw.nbits = int(rp.bitOffset % 8)
	bw.bits = uint64(rp.partial) & (1<<bw.nbits - 1)
}

// state is the run's state now, but for bitPos: only the caller knows
// where in the deflate data its output went.
func (d *gnuDeflater) state() runState {
	return runState{
		pos: d.base + int64(d.strstart), base: d.base, lookahead: d.lookahead,
		rsyncSum: d.rsyncSum, rsyncChunkEnd: d.rsyncChunkEnd, compressedLen: d.compressedLen % 8,
		bits: d.bw.bits,
	}
}

// errStopAt ends a run that reached its stop at a block boundary.
var errStopAt = errors.New("deflate: run stopped at its block boundary")

// errNoBoundary ends a run that went past its stop without ending a block
// there the way the published stream does.
var errNoBoundary = errors.New("deflate: no block boundary where the file has one")

// stopHere ends a run right after a flush (which wrote out the whole
// bytes) at pos, at or beyond its stop; clean says the block ended with a
// match, as the published one does. It records state (the caller fixes
// bitPos).
func stopHere(clean bool, pos, stop int64, state runState, handoff **runState) error {
	if !clean || pos != stop {
		return errNoBoundary
	}
	*handoff = &state
	return errStopAt
}

// atStop says whether a flush just ended a block at or past the stop.
func (d *gnuDeflater) atStop() bool { return d.stopAt > 0 && d.base+int64(d.strstart) >= d.stopAt }

func (d *gnuDeflater) stopped(clean bool) error {
	return stopHere(clean, d.base+int64(d.strstart), d.stopAt, d.state(), &d.handoff)
}

// resume sets up a run (any level) starting at rp, reading the data
// after rp.pos from d.in; it returns the state it assumed.
func (d *gnuDeflater) resume(rp *resumePoint) (runState, error) {
	d.trees.init(gzLitBufsize)
	c := configurationTable[d.level]
	d.maxLazyMatch, d.goodMatch, d.niceMatch, d.maxChainLength = c.maxLazy, c.goodLength, c.niceLength, c.maxChain
	d.windowSize = 2 * gzWSize
	fast := d.level <= 3
	d.base = windowAt(rp, !fast)
	var err error
	if d.strstart, err = loadWindow(rp, d.base, d.window[:], d.readBuf); err != nil {
		return runState{}, err
	}
	d.lookahead = 2*gzWSize - d.strstart
	d.blockStart = d.strstart
	d.eofile = false
	d.prevLength = minMatch - 1
	d.matchStart = 0
	maxInsert := 0
	if fast {
		maxInsert = d.maxLazyMatch
	}
	if d.insH, err = chainsAt(d.window[:], d.head[:], d.prev[:], d.strstart, d.base, rp, maxInsert); err != nil {
		return runState{}, err
	}

	d.rsyncChunkEnd = noChunk
	d.rsyncSum = 0
	if d.rsync {
		for _, b := range d.window[d.strstart-rsyncWin : d.strstart] {
			d.rsyncSum += uint64(b)
		}
	}

	d.compressedLen = uint64(rp.bitOffset)
	preload(&d.bw, rp)
	d.blocks = rp.block
	return assumed(d.state(), rp), nil
}

// runFrom is run for a resumed deflater: the fill that ends the
// iteration the run stopped in, then the loop.
func (d *gnuDeflater) runFrom() error {
	for d.lookahead < minLookahead && !d.eofile {
		d.fillWindow()
	}
	return d.compress()
}

// zlib: the same, without --rsyncable and compressed_len.

func (d *zlibDeflater) state() runState {
	return runState{pos: d.base + int64(d.strstart), base: d.base, lookahead: d.lookahead, bits: d.bw.bits}
}

func (d *zlibDeflater) atStop() bool { return d.stopAt > 0 && d.base+int64(d.strstart) >= d.stopAt }

func (d *zlibDeflater) stopped(clean bool) error {
	return stopHere(clean, d.base+int64(d.strstart), d.stopAt, d.state(), &d.handoff)
}

// resume is gnuDeflater.resume for zlib.
func (d *zlibDeflater) resume(rp *resumePoint) (runState, error) {
	d.trees.init(zLitBufsize)
	d.lmInit()
	fast := d.level <= 3
	d.base = windowAt(rp, !fast)
	var err error
	if d.strstart, err = loadWindow(rp, d.base, d.window[:], d.readBuf); err != nil {
		return runState{}, err
	}
	d.lookahead = zWindowSize - d.strstart
	d.highWater = zWindowSize
	d.blockStart = d.strstart
	d.matchAvailable = false
	d.matchStart, d.prevMatch, d.insert = 0, 0, 0

	maxInsert := 0
	if fast {
		maxInsert = d.maxLazyMatch
		d.matchLength = 0
	}
	if d.insH, err = chainsAt(d.window[:], d.head[:], d.prev[:], d.strstart, d.base, rp, maxInsert); err != nil {
		return runState{}, err
	}
	preload(&d.bw, rp)
	d.blocks = rp.block
	return assumed(d.state(), rp), nil
}

// runFrom is run for a resumed deflater (zlib fills at the top of its
// loop).
func (d *zlibDeflater) runFrom() error { return d.compress() }
