package deflate

import (
	"errors"
	"fmt"
	"io"
)

// This file ports GNU gzip's deflate.c (gzip 1.10 to 1.13 share it
// unchanged apart from spelling), including --rsyncable.

const (
	gzWSize       = 0x8000
	gzWMask       = gzWSize - 1
	gzHashBits    = 15
	gzHashSize    = 1 << gzHashBits
	gzHashMask    = gzHashSize - 1
	hShift        = (gzHashBits + minMatch - 1) / minMatch
	minLookahead  = maxMatch + minMatch + 1
	gzMaxDist     = gzWSize - minLookahead
	tooFar        = 4096
	rsyncWin      = 4096
	gzLitBufsize  = 0x8000
	gzDistBufsize = 0x8000
	noChunk       = 0xFFFFFFFF
)

type config struct {
	goodLength, maxLazy, niceLength, maxChain int
}

// configurationTable is the same in gzip's deflate.c and zlib's.
var configurationTable = [10]config{
	{0, 0, 0, 0},
	{4, 4, 8, 4},
	{4, 5, 16, 8},
	{4, 6, 32, 32},
	{4, 4, 16, 16},
	{8, 16, 32, 32},
	{8, 16, 128, 128},
	{8, 32, 128, 256},
	{32, 128, 258, 1024},
	{32, 258, 258, 4096},
}

// gnuDeflater is the state of gzip's deflate.c and trees.c for one file.
type gnuDeflater struct {
	trees
	level   int
	rsync   bool
	in      io.Reader
	out     io.Writer
	readErr error
	crc     crc32Sum
	bytesIn int64

	window [2 * gzWSize]byte
	prev   [gzWSize]uint16
	head   [gzHashSize]uint16

	windowSize     int
	blockStart     int
	insH           uint32
	prevLength     int
	strstart       int
	matchStart     int
	eofile         bool
	lookahead      int
	maxChainLength int
	maxLazyMatch   int
	goodMatch      int
	niceMatch      int
	rsyncSum       uint64
	rsyncChunkEnd  uint64

	// base is the uncompressed offset of window[0]. A run with a stopAt
	// (not 0) ends at the block boundary there (resume.go): handoff then
	// holds the state there.
	base    int64
	stopAt  int64
	handoff *runState
}

// readBuf is gzip's file_read: it fills buf as far as the input allows.
func (d *gnuDeflater) readBuf(buf []byte) int {
	if d.readErr != nil {
		return 0
	}
	n, err := io.ReadFull(d.in, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		d.readErr = err
	}
	d.crc.update(buf[:n])
	d.bytesIn += int64(n)
	return n
}

func (d *gnuDeflater) lmInit() {
	d.rsyncChunkEnd = noChunk
	d.rsyncSum = 0
	c := configurationTable[d.level]
	d.maxLazyMatch = c.maxLazy
	d.goodMatch = c.goodLength
	d.niceMatch = c.niceLength
	d.maxChainLength = c.maxChain
	d.strstart = 0
	d.blockStart = 0
	d.windowSize = 2 * gzWSize
	d.lookahead = d.readBuf(d.window[:2*gzWSize])
	if d.lookahead == 0 {
		d.eofile = true
		d.lookahead = 0
		return
	}
	d.eofile = false
	for d.lookahead < minLookahead && !d.eofile {
		d.fillWindow()
	}
	d.insH = 0
	for j := 0; j < minMatch-1; j++ {
		d.updateHash(d.window[j])
	}
}

func (d *gnuDeflater) updateHash(c byte) {
	d.insH = ((d.insH << hShift) ^ uint32(c)) & gzHashMask
}

// insertString is INSERT_STRING: it returns the previous head of the chain.
func (d *gnuDeflater) insertString(s int) int {
	d.updateHash(d.window[s+minMatch-1])
	h := d.head[d.insH]
	d.prev[s&gzWMask] = h
	d.head[d.insH] = uint16(s)
	return int(h)
}

func (d *gnuDeflater) longestMatch(curMatch int) int {
	chainLength := d.maxChainLength
	w := d.window[:]
	scan := d.strstart
	bestLen := d.prevLength
	limit := 0
	if d.strstart > gzMaxDist {
		limit = d.strstart - gzMaxDist
	}
	// The C code compares match[best_len], match[best_len-1], match[0]
	// and match[1] with the scan bytes; two 16-bit loads test the same.
	scanStart := le16(w[scan:])
	scanEnd := le16(w[scan+bestLen-1:])
	if d.prevLength >= d.goodMatch {
		chainLength >>= 2
	}
	for {
		match := curMatch
		if le16(w[match+bestLen-1:]) == scanEnd && le16(w[match:]) == scanStart {
			l := matchLen(w, scan, match)
			if l > bestLen {
				d.matchStart = curMatch
				bestLen = l
				if l >= d.niceMatch {
					break
				}
				scanEnd = le16(w[scan+bestLen-1:])
			}
		}
		curMatch = int(d.prev[curMatch&gzWMask])
		if curMatch <= limit {
			break
		}
		chainLength--
		if chainLength == 0 {
			break
		}
	}
	return bestLen
}

// matchLen is the length the C longest_match loops compute for a
// candidate whose first two bytes (and, by the hash, the third) agree:
// bytes 3..257 are compared and the result is at most 258.
func matchLen(w []byte, scan, match int) int {
	j := 3
	for j+8 <= maxMatch {
		a := le64(w[scan+j:])
		b := le64(w[match+j:])
		if x := a ^ b; x != 0 {
			return j + trailingZeroBytes(x)
		}
		j += 8
	}
	for j < maxMatch && w[scan+j] == w[match+j] {
		j++
	}
	return j
}

func (d *gnuDeflater) fillWindow() {
	more := d.windowSize - d.lookahead - d.strstart
	if d.strstart >= gzWSize+gzMaxDist {
		copy(d.window[:gzWSize], d.window[gzWSize:2*gzWSize])
		d.matchStart -= gzWSize
		d.strstart -= gzWSize
		d.base += gzWSize
		if d.rsyncChunkEnd != noChunk {
			d.rsyncChunkEnd -= gzWSize
		}
		d.blockStart -= gzWSize
		slide(d.head[:])
		slide(d.prev[:])
		more += gzWSize
	}
	if !d.eofile {
		at := d.strstart + d.lookahead
		n := d.readBuf(d.window[at : at+more])
		if n == 0 {
			d.eofile = true
			clear(d.window[at : at+minMatch-1])
		} else {
			d.lookahead += n
		}
	}
}

func (d *gnuDeflater) rsyncRoll(start, num int) {
	if start < rsyncWin {
		for i := start; i < rsyncWin; i++ {
			if i == start+num {
				return
			}
			d.rsyncSum += uint64(d.window[i])
		}
		num -= rsyncWin - start
		start = rsyncWin
	}
	for i := start; i < start+num; i++ {
		d.rsyncSum += uint64(d.window[i])
		d.rsyncSum -= uint64(d.window[i-rsyncWin])
		if d.rsyncChunkEnd == noChunk && d.rsyncSum%rsyncWin == 0 {
			d.rsyncChunkEnd = uint64(i)
		}
	}
}

func (d *gnuDeflater) roll(start, num int) {
	if d.rsync {
		d.rsyncRoll(start, num)
	}
}

// ctTally is trees.c ct_tally: it records a symbol and says whether the
// block must be flushed.
func (d *gnuDeflater) ctTally(dist, lc int) bool {
	if dist == 0 {
		d.tallyLit(byte(lc))
	} else {
		d.tallyDist(dist, lc)
	}
	lastLit := len(d.syms)
	if d.level > 2 && lastLit&0xfff == 0 {
		outLength := uint64(lastLit) * 8
		inLength := uint64(d.strstart - d.blockStart)
		for dcode := 0; dcode < dCodes; dcode++ {
			outLength += uint64(d.dynDtree[dcode].fc) * uint64(5+extraDBits[dcode])
		}
		outLength >>= 3
		if d.lastDist < lastLit/2 && outLength < inLength/2 {
			return true
		}
	}
	return lastLit == gzLitBufsize-1 || d.lastDist == gzDistBufsize
}

// flush is FLUSH_BLOCK: pad is gzip's flush-1 (rsyncable padding).
func (d *gnuDeflater) flush(pad, eof bool) error {
	var buf []byte
	if d.blockStart >= 0 {
		buf = d.window[d.blockStart:]
	}
	d.flushBlock(buf, d.strstart-d.blockStart, eof, false)
	if pad && !eof {
		d.padStored()
	}
	return d.bw.flushTo(d.out)
}

func (d *gnuDeflater) deflateFast() error {
	flush := 0
	matchLength := 0
	d.prevLength = minMatch - 1
	for d.lookahead != 0 {
		hashHead := d.insertString(d.strstart)
		if hashHead != 0 && d.strstart-hashHead <= gzMaxDist && d.strstart <= d.windowSize-minLookahead {
			matchLength = d.longestMatch(hashHead)
			if matchLength > d.lookahead {
				matchLength = d.lookahead
			}
		}
		if matchLength >= minMatch {
			flush = b2i(d.ctTally(d.strstart-d.matchStart, matchLength-minMatch))
			d.lookahead -= matchLength
			d.roll(d.strstart, matchLength)
			if matchLength <= d.maxLazyMatch {
				matchLength--
				for {
					d.strstart++
					d.insertString(d.strstart)
					matchLength--
					if matchLength == 0 {
						break
					}
				}
				d.strstart++
			} else {
				d.strstart += matchLength
				matchLength = 0
				d.insH = uint32(d.window[d.strstart])
				d.updateHash(d.window[d.strstart+1])
			}
		} else {
			flush = b2i(d.ctTally(0, int(d.window[d.strstart])))
			d.roll(d.strstart, 1)
			d.lookahead--
			d.strstart++
		}
		if d.rsync && uint64(d.strstart) > d.rsyncChunkEnd {
			d.rsyncChunkEnd = noChunk
			flush = 2
		}
		if flush != 0 {
			if err := d.flush(flush == 2, false); err != nil {
				return err
			}
			d.blockStart = d.strstart
			if d.atStop() {
				return d.stopped(true)
			}
		}
		for d.lookahead < minLookahead && !d.eofile {
			d.fillWindow()
		}
	}
	return d.flush(false, true)
}

func (d *gnuDeflater) deflateLazy() error {
	flush := 0
	matchAvailable := false
	matchLength := minMatch - 1
	for d.lookahead != 0 {
		hashHead := d.insertString(d.strstart)
		d.prevLength = matchLength
		prevMatch := d.matchStart
		matchLength = minMatch - 1
		if hashHead != 0 && d.prevLength < d.maxLazyMatch && d.strstart-hashHead <= gzMaxDist &&
			d.strstart <= d.windowSize-minLookahead {
			matchLength = d.longestMatch(hashHead)
			if matchLength > d.lookahead {
				matchLength = d.lookahead
			}
			if matchLength == minMatch && d.strstart-d.matchStart > tooFar {
				matchLength--
			}
		}
		switch {
		case d.prevLength >= minMatch && matchLength <= d.prevLength:
			flush = b2i(d.ctTally(d.strstart-1-prevMatch, d.prevLength-minMatch))
			d.lookahead -= d.prevLength - 1
			d.prevLength -= 2
			d.roll(d.strstart, d.prevLength+1)
			for {
				d.strstart++
				d.insertString(d.strstart)
				d.prevLength--
				if d.prevLength == 0 {
					break
				}
			}
			matchAvailable = false
			matchLength = minMatch - 1
			d.strstart++
			if d.rsync && uint64(d.strstart) > d.rsyncChunkEnd {
				d.rsyncChunkEnd = noChunk
				flush = 2
			}
			if flush != 0 {
				if err := d.flush(flush == 2, false); err != nil {
					return err
				}
				d.blockStart = d.strstart
				if d.atStop() {
					return d.stopped(true)
				}
			}
		case matchAvailable:
			flush = b2i(d.ctTally(0, int(d.window[d.strstart-1])))
			if d.rsync && uint64(d.strstart) > d.rsyncChunkEnd {
				d.rsyncChunkEnd = noChunk
				flush = 2
			}
			if flush != 0 {
				if err := d.flush(flush == 2, false); err != nil {
					return err
				}
				d.blockStart = d.strstart
				if d.atStop() {
					return d.stopped(false)
				}
			}
			d.roll(d.strstart, 1)
			d.strstart++
			d.lookahead--
		default:
			if d.rsync && uint64(d.strstart) > d.rsyncChunkEnd {
				d.rsyncChunkEnd = noChunk
				flush = 2
				if err := d.flush(true, false); err != nil {
					return err
				}
				d.blockStart = d.strstart
				if d.atStop() {
					return d.stopped(false)
				}
			}
			matchAvailable = true
			d.roll(d.strstart, 1)
			d.strstart++
			d.lookahead--
		}
		for d.lookahead < minLookahead && !d.eofile {
			d.fillWindow()
		}
	}
	if matchAvailable {
		d.ctTally(0, int(d.window[d.strstart-1]))
	}
	return d.flush(false, true)
}

// run compresses all of in to out as raw deflate data.
func (d *gnuDeflater) run() error {
	if d.level < 1 || d.level > 9 {
		return fmt.Errorf("%w: gzip level %d (1-9)", ErrLevel, d.level)
	}
	d.trees.init(gzLitBufsize)
	d.lmInit()
	return d.compress()
}

// compress runs the deflate loop of the level from the state set up
// (lm_init, or resume), and reports a read error first.
func (d *gnuDeflater) compress() error {
	var err error
	if d.level <= 3 {
		err = d.deflateFast()
	} else {
		err = d.deflateLazy()
	}
	if d.readErr != nil {
		return d.readErr
	}
	return err
}
