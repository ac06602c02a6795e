package deflate

import (
	"errors"
	"fmt"
	"io"
)

// This file ports zlib's deflate.c (1.2.11 to 1.3.1 behave the same here)
// for windowBits 15, memLevel 8 and the default strategy, fed as one
// stream and finished with Z_FINISH.

const (
	zWSize       = 1 << 15
	zWMask       = zWSize - 1
	zHashBits    = 8 + 7
	zHashSize    = 1 << zHashBits
	zHashMask    = zHashSize - 1
	zMaxDist     = zWSize - minLookahead
	zLitBufsize  = 1 << (8 + 6)
	zWindowSize  = 2 * zWSize
	winInit      = maxMatch
	zHashShift   = (zHashBits + minMatch - 1) / minMatch
	zSymEnd      = zLitBufsize - 1
	zMaxStored   = 65535
	zPendingSize = zLitBufsize * 4
)

type zlibDeflater struct {
	trees
	level   int
	in      io.Reader
	out     io.Writer
	eof     bool
	readErr error
	crc     crc32Sum
	bytesIn int64

	window [zWindowSize]byte
	prev   [zWSize]uint16
	head   [zHashSize]uint16

	highWater      int
	insH           uint32
	blockStart     int
	strstart       int
	matchStart     int
	lookahead      int
	insert         int
	matchLength    int
	prevLength     int
	prevMatch      int
	matchAvailable bool
	maxChainLength int
	maxLazyMatch   int
	goodMatch      int
	niceMatch      int

	// base, stopAt and handoff are gnuDeflater's (resume.go).
	base    int64
	stopAt  int64
	handoff *runState
}

// readBuf reads up to len(buf) bytes; a short read means the input ended.
func (d *zlibDeflater) readBuf(buf []byte) int {
	if d.eof || len(buf) == 0 {
		return 0
	}
	n, err := io.ReadFull(d.in, buf)
	if err != nil {
		d.eof = true
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			d.readErr = err
		}
	}
	d.crc.update(buf[:n])
	d.bytesIn += int64(n)
	return n
}

func (d *zlibDeflater) updateHash(h uint32, c byte) uint32 {
	return ((h << zHashShift) ^ uint32(c)) & zHashMask
}

func (d *zlibDeflater) insertString(str int) int {
	d.insH = d.updateHash(d.insH, d.window[str+minMatch-1])
	h := d.head[d.insH]
	d.prev[str&zWMask] = h
	d.head[d.insH] = uint16(str)
	return int(h)
}

func (d *zlibDeflater) lmInit() {
	c := configurationTable[d.level]
	d.maxLazyMatch = c.maxLazy
	d.goodMatch = c.goodLength
	d.niceMatch = c.niceLength
	d.maxChainLength = c.maxChain
	d.matchLength = minMatch - 1
	d.prevLength = minMatch - 1
}

func (d *zlibDeflater) slideHash() {
	slide(d.head[:])
	slide(d.prev[:])
}

func (d *zlibDeflater) fillWindow() {
	for {
		more := zWindowSize - d.lookahead - d.strstart
		if d.strstart >= zWSize+zMaxDist {
			copy(d.window[:zWSize-more], d.window[zWSize:2*zWSize-more])
			d.matchStart -= zWSize
			d.strstart -= zWSize
			d.blockStart -= zWSize
			d.base += zWSize
			if d.insert > d.strstart {
				d.insert = d.strstart
			}
			d.slideHash()
			more += zWSize
		}
		if d.eof {
			break
		}
		at := d.strstart + d.lookahead
		n := d.readBuf(d.window[at : at+more])
		d.lookahead += n
		if d.lookahead+d.insert >= minMatch {
			str := d.strstart - d.insert
			d.insH = uint32(d.window[str])
			d.insH = d.updateHash(d.insH, d.window[str+1])
			for d.insert != 0 {
				d.insH = d.updateHash(d.insH, d.window[str+minMatch-1])
				d.prev[str&zWMask] = d.head[d.insH]
				d.head[d.insH] = uint16(str)
				str++
				d.insert--
				if d.lookahead+d.insert < minMatch {
					break
				}
			}
		}
		if !(d.lookahead < minLookahead && !d.eof) {
			break
		}
	}
	if d.highWater < zWindowSize {
		curr := d.strstart + d.lookahead
		if d.highWater < curr {
			init := min(zWindowSize-curr, winInit)
			clear(d.window[curr : curr+init])
			d.highWater = curr + init
		} else if d.highWater < curr+winInit {
			init := min(curr+winInit-d.highWater, zWindowSize-d.highWater)
			clear(d.window[d.highWater : d.highWater+init])
			d.highWater += init
		}
	}
}

func (d *zlibDeflater) longestMatch(curMatch int) int {
	chainLength := d.maxChainLength
	w := d.window[:]
	scan := d.strstart
	bestLen := d.prevLength
	niceMatch := d.niceMatch
	limit := 0
	if d.strstart > zMaxDist {
		limit = d.strstart - zMaxDist
	}
	// The C code compares match[best_len], match[best_len-1], match[0]
	// and match[1] with the scan bytes; two 16-bit loads test the same.
	scanStart := le16(w[scan:])
	scanEnd := le16(w[scan+bestLen-1:])
	if d.prevLength >= d.goodMatch {
		chainLength >>= 2
	}
	if niceMatch > d.lookahead {
		niceMatch = d.lookahead
	}
	for {
		match := curMatch
		if le16(w[match+bestLen-1:]) == scanEnd && le16(w[match:]) == scanStart {
			l := matchLen(w, scan, match)
			if l > bestLen {
				d.matchStart = curMatch
				bestLen = l
				if l >= niceMatch {
					break
				}
				scanEnd = le16(w[scan+bestLen-1:])
			}
		}
		curMatch = int(d.prev[curMatch&zWMask])
		if curMatch <= limit {
			break
		}
		chainLength--
		if chainLength == 0 {
			break
		}
	}
	if bestLen <= d.lookahead {
		return bestLen
	}
	return d.lookahead
}

func (d *zlibDeflater) tallyLit(c byte) bool {
	d.trees.tallyLit(c)
	return len(d.syms) == zSymEnd
}

func (d *zlibDeflater) tallyDist(dist, lc int) bool {
	d.trees.tallyDist(dist, lc)
	return len(d.syms) == zSymEnd
}

// flush is FLUSH_BLOCK_ONLY.
func (d *zlibDeflater) flush(last bool) error {
	var buf []byte
	if d.blockStart >= 0 {
		buf = d.window[d.blockStart:]
	}
	d.flushBlock(buf, d.strstart-d.blockStart, last, false)
	d.blockStart = d.strstart
	return d.bw.flushTo(d.out)
}

func (d *zlibDeflater) deflateFast() error {
	for {
		if d.lookahead < minLookahead {
			d.fillWindow()
			if d.lookahead == 0 {
				break
			}
		}
		hashHead := 0
		if d.lookahead >= minMatch {
			hashHead = d.insertString(d.strstart)
		}
		if hashHead != 0 && d.strstart-hashHead <= zMaxDist {
			d.matchLength = d.longestMatch(hashHead)
		}
		var bflush bool
		if d.matchLength >= minMatch {
			bflush = d.tallyDist(d.strstart-d.matchStart, d.matchLength-minMatch)
			d.lookahead -= d.matchLength
			if d.matchLength <= d.maxLazyMatch && d.lookahead >= minMatch {
				d.matchLength--
				for {
					d.strstart++
					d.insertString(d.strstart)
					d.matchLength--
					if d.matchLength == 0 {
						break
					}
				}
				d.strstart++
			} else {
				d.strstart += d.matchLength
				d.matchLength = 0
				d.insH = uint32(d.window[d.strstart])
				d.insH = d.updateHash(d.insH, d.window[d.strstart+1])
			}
		} else {
			bflush = d.tallyLit(d.window[d.strstart])
			d.lookahead--
			d.strstart++
		}
		if bflush {
			if err := d.flush(false); err != nil {
				return err
			}
			if d.atStop() {
				return d.stopped(true)
			}
		}
	}
	return d.flush(true)
}

func (d *zlibDeflater) deflateSlow() error {
	for {
		if d.lookahead < minLookahead {
			d.fillWindow()
			if d.lookahead == 0 {
				break
			}
		}
		hashHead := 0
		if d.lookahead >= minMatch {
			hashHead = d.insertString(d.strstart)
		}
		d.prevLength, d.prevMatch = d.matchLength, d.matchStart
		d.matchLength = minMatch - 1
		if hashHead != 0 && d.prevLength < d.maxLazyMatch && d.strstart-hashHead <= zMaxDist {
			d.matchLength = d.longestMatch(hashHead)
			if d.matchLength <= 5 && d.matchLength == minMatch && d.strstart-d.matchStart > tooFar {
				d.matchLength = minMatch - 1
			}
		}
		switch {
		case d.prevLength >= minMatch && d.matchLength <= d.prevLength:
			maxInsert := d.strstart + d.lookahead - minMatch
			bflush := d.tallyDist(d.strstart-1-d.prevMatch, d.prevLength-minMatch)
			d.lookahead -= d.prevLength - 1
			d.prevLength -= 2
			for {
				d.strstart++
				if d.strstart <= maxInsert {
					d.insertString(d.strstart)
				}
				d.prevLength--
				if d.prevLength == 0 {
					break
				}
			}
			d.matchAvailable = false
			d.matchLength = minMatch - 1
			d.strstart++
			if bflush {
				if err := d.flush(false); err != nil {
					return err
				}
				if d.atStop() {
					return d.stopped(true)
				}
			}
		case d.matchAvailable:
			if d.tallyLit(d.window[d.strstart-1]) {
				if err := d.flush(false); err != nil {
					return err
				}
				if d.atStop() {
					return d.stopped(false)
				}
			}
			d.strstart++
			d.lookahead--
		default:
			d.matchAvailable = true
			d.strstart++
			d.lookahead--
		}
	}
	if d.matchAvailable {
		d.tallyLit(d.window[d.strstart-1])
		d.matchAvailable = false
	}
	return d.flush(true)
}

// run compresses all of in to out as raw deflate data.
func (d *zlibDeflater) run() error {
	if d.level < 1 || d.level > 9 {
		return fmt.Errorf("%w: zlib level %d (1-9)", ErrLevel, d.level)
	}
	d.trees.init(zLitBufsize)
	d.lmInit()
	return d.compress()
}

// compress runs the deflate loop of the level from the state set up
// (lm_init, or resume), and reports a read error first.
func (d *zlibDeflater) compress() error {
	var err error
	if d.level <= 3 {
		err = d.deflateFast()
	} else {
		err = d.deflateSlow()
	}
	if d.readErr != nil {
		return d.readErr
	}
	return err
}
