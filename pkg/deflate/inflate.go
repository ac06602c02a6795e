package deflate

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// blockInfo describes one deflate block.
type blockInfo struct {
	Index     int   // 0 for the first block the inflater decoded (counting from where it started)
	BitOffset int64 // bit offset of the block's 3-bit header, from bit 0 of the first byte of the reader given to newInflater
	Start     int64 // uncompressed offset of its first byte (0 = the first byte this inflater outputs)
	End       int64 // uncompressed offset after its last byte
	Type      int   // 0 stored, 1 fixed Huffman, 2 dynamic Huffman
	Final     bool  // BFINAL set
	LastMatch int   // length (3..258) of the block's last symbol if it is a length/distance pair, else 0
	LastDist  int   // the distance of that pair (0 if LastMatch == 0)
}

// inflater is a raw deflate (RFC 1951) decoder that reports where every
// block starts and ends, both in the compressed bit stream and in the
// output, and can start at any bit of its input with a preset dictionary
// (so that a stream can be re-decoded from a block boundary in parallel).
//
// It keeps the input in a large buffer read from the io.Reader in chunks
// and decodes from a 64-bit bit buffer refilled eight bytes at a time;
// Huffman codes are decoded with a primary table (10 bits for
// literal/length, 8 for distance) and second-level tables for longer
// codes. The output goes into a linear buffer that keeps at least hist
// bytes of history and slides down when full. Incomplete and
// over-subscribed codes are handled as zlib's inflate does.
type inflater struct {
	r     io.Reader
	buf   []byte // input buffer; in is buf[:n]
	in    []byte
	ip    int   // next unread byte of in
	base  int64 // bytes of r before in[0]
	rerr  error // the reader's error, once it gave one
	zeros int   // consecutive empty reads without error
	bits  uint64
	nb    uint // valid bits in bits; bits above nb are the next input bytes or 0
	skip  int  // bits to skip before the first block, until started
	start bool

	out   []byte // history and output; out[rpos:wpos] is not yet returned
	rpos  int
	wpos  int
	pos0  int64 // uncompressed offset of out[0] (negative while the dict is in it)
	hist  int
	state int
	err   error

	lt, dt, ct     []uint32 // current tables (lt and dt may be the fixed ones)
	dynL, dynD     []uint32
	storedLeft     int
	lastLen, lastD int
	nblocks        int
	cur            blockInfo

	// recMin, when set by recordMatches, is the shortest match recorded
	// into rec, a ring of the latest ones (recN written so far).
	recMin int
	rec    []matchSpan
	recN   int

	// onBlock, if set before the first Read, is called once per block when
	// its end-of-block code has been decoded, before any later byte is
	// returned or decoded. history is the last min(hist, output incl. the
	// dict) bytes of output ending at b.End; it is valid only during the
	// call. An error from it stops decoding and is returned by Read.
	onBlock func(b blockInfo, history []byte) error
}

const (
	infInSize   = 256 << 10
	infOutChunk = 256 << 10
	infSlack    = 32 << 10 // slide when less than this is free (>= maxMatch)
	infLitBits  = 10
	infDistBits = 8
	infCLBits   = 7

	// table entry: bits 0-3 code length, 4-7 extra bits (or subtable
	// bits), 8-11 kind, 16-31 value (literal, base, symbol or subtable offset).
	infLit  = 0
	infBase = 1 << 8 // length or distance base + extra bits
	infEOB  = 2 << 8
	infSub  = 4 << 8
	infBad  = 8 << 8
)

// inflater states.
const (
	stHeader = iota
	stStored
	stHuff
	stDone
)

var (
	infLenBase   = [29]uint32{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	infLenExtra  = [29]uint32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	infDistBase  = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	infDistExtra = [30]uint32{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	infCLOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	infLitSym, infDistSym, infCLSym = infSymbols()
	infFixedLit, infFixedDist       = infFixed()
)

// infSymbols returns the table entries (without code length) of every
// literal/length, distance and code-length symbol.
func infSymbols() (lit [288]uint32, dist [32]uint32, cl [19]uint32) {
	for s := range 256 {
		lit[s] = uint32(s)<<16 | infLit
	}
	lit[256] = infEOB
	for i := range 29 {
		lit[257+i] = infLenBase[i]<<16 | infLenExtra[i]<<4 | infBase
	}
	lit[286], lit[287] = infBad, infBad
	for i := range 30 {
		dist[i] = infDistBase[i]<<16 | infDistExtra[i]<<4 | infBase
	}
	dist[30], dist[31] = infBad, infBad
	for s := range 19 {
		cl[s] = uint32(s)<<16 | infLit
	}
	return
}

func infFixed() (lit, dist []uint32) {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [32]uint8
	for i := range d {
		d[i] = 5
	}
	lit, _ = infBuild(nil, l[:], infLitBits, infLitSym[:], false)
	dist, _ = infBuild(nil, d[:], infDistBits, infDistSym[:], false)
	return lit, dist
}

// infBuild builds into tab the decoding table of the code with lengths
// lens, whose symbols have the entries syms. It reports false for an
// over-subscribed code, and for an incomplete one except (as zlib allows)
// a single code of length 1 or no code at all; strict (the code-length
// code) refuses both.
func infBuild(tab []uint32, lens []uint8, pbits uint, syms []uint32, strict bool) ([]uint32, bool) {
	var count [16]int
	for _, l := range lens {
		count[l&15]++
	}
	count[0] = 0
	left, maxLen := 1, uint(0)
	for l := 1; l < 16; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return tab, false
		}
		if count[l] > 0 {
			maxLen = uint(l)
		}
	}
	if left > 0 && (strict || maxLen > 1) {
		return tab, false
	}
	var next [16]uint32
	code := uint32(0)
	for l := 1; l < 16; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	size := uint32(1) << pbits
	tab = tab[:0]
	for range size {
		tab = append(tab, infBad|uint32(pbits))
	}
	var rev [288]uint32
	for s, l := range lens {
		if l > 0 {
			c := next[l]
			next[l]++
			rev[s] = uint32(bits.Reverse16(uint16(c)) >> (16 - l))
		}
	}
	if maxLen > pbits {
		var sub [1 << infLitBits]uint8
		for s, l := range lens {
			if uint(l) > pbits {
				p := rev[s] & (size - 1)
				sub[p] = max(sub[p], l)
			}
		}
		for p := range size {
			if sub[p] == 0 {
				continue
			}
			sb := uint32(sub[p]) - uint32(pbits)
			tab[p] = uint32(len(tab))<<16 | infSub | sb<<4 | uint32(pbits)
			for range 1 << sb {
				tab = append(tab, infBad|uint32(sub[p]))
			}
		}
	}
	for s, l := range lens {
		if l == 0 {
			continue
		}
		ent := syms[s] | uint32(l)
		r := rev[s]
		if uint(l) <= pbits {
			for i := r; i < size; i += 1 << l {
				tab[i] = ent
			}
			continue
		}
		p := tab[r&(size-1)]
		off, sb := p>>16, p>>4&15
		for i := r >> pbits; i < 1<<sb; i += 1 << (uint(l) - pbits) {
			tab[off+i] = ent
		}
	}
	return tab, true
}

// newInflater decodes raw deflate data from r, starting skipBits (0..7)
// bits into r's first byte, with dict (its last 32 KiB at most) as the
// history that back-references may reach into. onBlock sees hist bytes of
// history (at least 32 KiB).
func newInflater(r io.Reader, skipBits int, dict []byte, hist int) *inflater {
	hist = max(hist, 32<<10)
	if len(dict) > 32<<10 {
		dict = dict[len(dict)-32<<10:]
	}
	f := &inflater{
		r:    r,
		buf:  make([]byte, infInSize),
		skip: skipBits & 7,
		out:  make([]byte, hist+infOutChunk),
		hist: hist,
	}
	f.in = f.buf[:0]
	f.wpos = copy(f.out, dict)
	f.rpos = f.wpos
	f.pos0 = -int64(f.wpos)
	f.state = stHeader
	f.recMin = maxMatch + 1
	return f
}

// matchSpan is a match in the output: length bytes from pos.
type matchSpan struct {
	pos    int64
	length int
}

// recRing holds the matches of at least 5 bytes that can end in 32 KiB
// and a match's length of output, with room to spare.
const recRing = 1 << 13

// recordMatches makes the inflater remember its latest matches of at least
// min (>= 5) bytes, for longMatches; 0 stops it.
func (f *inflater) recordMatches(min int) {
	if min == 0 {
		f.recMin, f.rec, f.recN = maxMatch+1, nil, 0
		return
	}
	f.recMin = max(min, 5)
	f.rec = make([]matchSpan, recRing)
}

// longMatches returns the recorded matches that end after from, oldest
// first; ok is false if some may have been dropped from the ring.
func (f *inflater) longMatches(from int64) (spans []matchSpan, ok bool) {
	n := min(f.recN, recRing)
	i := f.recN - n
	for i < f.recN && f.rec[i%recRing].pos+int64(f.rec[i%recRing].length) <= from {
		i++
	}
	if i == f.recN-n && f.recN > recRing {
		return nil, false // the oldest kept one still ends after from
	}
	for ; i < f.recN; i++ {
		spans = append(spans, f.rec[i%recRing])
	}
	return spans, true
}

func (f *inflater) record(wpos, length int) {
	f.rec[f.recN%recRing] = matchSpan{pos: f.pos0 + int64(wpos), length: length}
	f.recN++
}

// bitsRead is the number of bits consumed so far, counted from bit 0 of
// r's first byte (input read ahead into the buffer is not counted).
func (f *inflater) bitsRead() int64 {
	return (f.base+int64(f.ip))*8 - int64(f.nb) + int64(f.skip)
}

// Read implements io.Reader: it returns the decoded bytes, io.EOF after
// the final block, an error wrapping ErrCorrupt for invalid data and
// io.ErrUnexpectedEOF when the input ends early (or the reader's own
// error). It may return less than len(p) at a block's end, so that onBlock
// runs before any later byte is decoded.
func (f *inflater) Read(p []byte) (int, error) {
	for f.rpos == f.wpos {
		if f.err != nil {
			return 0, f.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if err := f.fill(); err != nil {
			f.err = err
		}
	}
	n := copy(p, f.out[f.rpos:f.wpos])
	f.rpos += n
	return n, nil
}

func infCorrupt(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }

// fill decodes until there is output to return, the stream ends (io.EOF)
// or an error. It is called with all output returned (rpos == wpos).
func (f *inflater) fill() error {
	if !f.start {
		if f.skip > 0 {
			s := f.skip
			f.skip = 0
			if err := f.need(uint(s)); err != nil {
				f.skip = s
				return err
			}
			f.bits >>= uint(s)
			f.nb -= uint(s)
		}
		f.start = true
	}
	for {
		if len(f.out)-f.wpos < infSlack && f.wpos > f.hist {
			d := f.wpos - f.hist
			copy(f.out, f.out[d:f.wpos])
			f.wpos -= d
			f.rpos = f.wpos
			f.pos0 += int64(d)
		}
		var done bool
		var err error
		switch f.state {
		case stDone:
			return io.EOF
		case stHeader:
			if err := f.header(); err != nil {
				return err
			}
			continue
		case stStored:
			done, err = f.stored()
		case stHuff:
			done, err = f.huff()
		}
		if err != nil {
			return err
		}
		if done {
			if err := f.endBlock(); err != nil {
				return err
			}
		}
		if f.wpos > f.rpos {
			return nil
		}
	}
}

func (f *inflater) endBlock() error {
	f.cur.End = f.pos0 + int64(f.wpos)
	if f.lastLen > 0 { // a literal clears only lastLen
		f.cur.LastMatch, f.cur.LastDist = f.lastLen, f.lastD
	}
	f.nblocks++
	f.state = stHeader
	if f.cur.Final {
		f.state = stDone
	}
	if f.onBlock != nil {
		return f.onBlock(f.cur, f.out[max(0, f.wpos-f.hist):f.wpos])
	}
	return nil
}

// readMore moves the unread input to the front of the buffer and reads
// more after it, until there are 8 bytes, the buffer is full or r fails.
func (f *inflater) readMore() {
	n := copy(f.buf, f.in[f.ip:])
	f.base += int64(f.ip)
	f.ip = 0
	for n < 8 && f.rerr == nil {
		m, err := f.r.Read(f.buf[n:])
		n += m
		if err != nil {
			f.rerr = err
		} else if m == 0 {
			if f.zeros++; f.zeros > 100 {
				f.rerr = io.ErrNoProgress
			}
		} else {
			f.zeros = 0
		}
	}
	f.in = f.buf[:n]
}

func (f *inflater) inputErr() error {
	if f.rerr == nil || f.rerr == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return f.rerr
}

// need makes sure that at least n (<= 56) bits are in the bit buffer.
func (f *inflater) need(n uint) error {
	for f.nb < n {
		if len(f.in)-f.ip < 8 && f.rerr == nil {
			f.readMore()
		}
		if f.ip <= len(f.in)-8 {
			f.bits |= binary.LittleEndian.Uint64(f.in[f.ip:]) << f.nb
			f.ip += int((63 - f.nb) >> 3)
			f.nb |= 56
			continue
		}
		if f.ip < len(f.in) {
			f.bits |= uint64(f.in[f.ip]) << f.nb
			f.ip++
			f.nb += 8
			continue
		}
		return f.inputErr()
	}
	return nil
}

func (f *inflater) take(n uint) uint32 {
	v := uint32(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nb -= n
	return v
}

func (f *inflater) header() error {
	off := f.bitsRead()
	if err := f.need(3); err != nil {
		return err
	}
	h := f.take(3)
	f.cur = blockInfo{Index: f.nblocks, BitOffset: off, Start: f.pos0 + int64(f.wpos), Type: int(h >> 1), Final: h&1 != 0}
	f.lastLen, f.lastD = 0, 0
	switch h >> 1 {
	case 0:
		f.take(f.nb & 7)
		if err := f.need(32); err != nil {
			return err
		}
		n, nn := f.take(16), f.take(16)
		if n != ^nn&0xffff {
			return infCorrupt("stored block length mismatch")
		}
		f.storedLeft = int(n)
		f.state = stStored
	case 1:
		f.lt, f.dt = infFixedLit, infFixedDist
		f.state = stHuff
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
		f.lt, f.dt = f.dynL, f.dynD
		f.state = stHuff
	default:
		return infCorrupt("invalid block type")
	}
	return nil
}

func (f *inflater) dynamic() error {
	if err := f.need(14); err != nil {
		return err
	}
	nlit := int(f.take(5)) + 257
	ndist := int(f.take(5)) + 1
	nclen := int(f.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return infCorrupt("too many length or distance symbols")
	}
	var cl [19]uint8
	for i := range nclen {
		if err := f.need(3); err != nil {
			return err
		}
		cl[infCLOrder[i]] = uint8(f.take(3))
	}
	var ok bool
	if f.ct, ok = infBuild(f.ct, cl[:], infCLBits, infCLSym[:], true); !ok {
		return infCorrupt("invalid code lengths set")
	}
	var lens [286 + 30]uint8
	n := nlit + ndist
	for i := 0; i < n; {
		e, err := f.slowSym(f.ct, infCLBits)
		if err != nil {
			return err
		}
		if e&infBad != 0 {
			return infCorrupt("invalid code lengths code")
		}
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var val uint8
		var rep int
		switch sym {
		case 16:
			if i == 0 {
				return infCorrupt("invalid bit length repeat")
			}
			if err := f.need(2); err != nil {
				return err
			}
			val, rep = lens[i-1], 3+int(f.take(2))
		case 17:
			if err := f.need(3); err != nil {
				return err
			}
			rep = 3 + int(f.take(3))
		default:
			if err := f.need(7); err != nil {
				return err
			}
			rep = 11 + int(f.take(7))
		}
		if i+rep > n {
			return infCorrupt("invalid bit length repeat")
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if lens[256] == 0 {
		return infCorrupt("invalid code -- missing end-of-block")
	}
	if f.dynL, ok = infBuild(f.dynL, lens[:nlit], infLitBits, infLitSym[:], false); !ok {
		return infCorrupt("invalid literal/lengths set")
	}
	if f.dynD, ok = infBuild(f.dynD, lens[nlit:n], infDistBits, infDistSym[:], false); !ok {
		return infCorrupt("invalid distances set")
	}
	return nil
}

// slowSym decodes one symbol, reading the input a byte at a time if needed.
func (f *inflater) slowSym(tab []uint32, pbits uint) (uint32, error) {
	for {
		e := tab[f.bits&(1<<pbits-1)]
		if e&infSub != 0 {
			e = tab[e>>16+uint32(f.bits>>pbits)&(1<<(e>>4&15)-1)]
		}
		n := uint(e & 15)
		if n <= f.nb {
			f.bits >>= n
			f.nb -= n
			return e, nil
		}
		if err := f.need(n); err != nil {
			return 0, err
		}
	}
}

// stored copies a stored block's data; it reports whether the block ended.
func (f *inflater) stored() (bool, error) {
	for f.storedLeft > 0 {
		if f.wpos == len(f.out) {
			return false, nil
		}
		if f.nb >= 8 {
			f.out[f.wpos] = byte(f.bits)
			f.wpos++
			f.bits >>= 8
			f.nb -= 8
			f.storedLeft--
			continue
		}
		f.bits = 0 // nb == 0: copying from in directly
		if f.ip == len(f.in) {
			if f.rerr != nil {
				return false, f.inputErr()
			}
			f.readMore()
			continue
		}
		n := copy(f.out[f.wpos:min(f.wpos+f.storedLeft, len(f.out))], f.in[f.ip:])
		f.ip += n
		f.wpos += n
		f.storedLeft -= n
	}
	return true, nil
}

// huff decodes a Huffman block's symbols; it reports whether the block
// ended (false: the output buffer is full).
func (f *inflater) huff() (bool, error) {
	for {
		in, ip := f.in, f.ip
		bits, nb := f.bits, f.nb
		out, wpos := f.out, f.wpos
		lt, dt := f.lt, f.dt
		lastLen, lastD := f.lastLen, f.lastD
		var err error
		done := false
		for ip <= len(in)-8 && wpos <= len(out)-maxMatch {
			bits |= binary.LittleEndian.Uint64(in[ip:]) << nb
			ip += int((63 - nb) >> 3)
			nb |= 56
			e := lt[bits&(1<<infLitBits-1)]
			if e&infSub != 0 {
				e = lt[e>>16+uint32(bits>>infLitBits)&(1<<(e>>4&15)-1)]
			}
			bits >>= e & 15
			nb -= uint(e & 15)
			if e&0xf00 == 0 {
				out[wpos] = byte(e >> 16)
				wpos++
				lastLen = 0
				continue
			}
			if e&infBase == 0 {
				if e&infEOB != 0 {
					done = true
				} else {
					err = infCorrupt("invalid literal/length code")
				}
				break
			}
			ex := e >> 4 & 15
			length := int(e>>16) + int(bits&(1<<ex-1))
			bits >>= ex
			nb -= uint(ex)
			e = dt[bits&(1<<infDistBits-1)]
			if e&infSub != 0 {
				e = dt[e>>16+uint32(bits>>infDistBits)&(1<<(e>>4&15)-1)]
			}
			bits >>= e & 15
			nb -= uint(e & 15)
			if e&infBase == 0 {
				err = infCorrupt("invalid distance code")
				break
			}
			ex = e >> 4 & 15
			dist := int(e>>16) + int(bits&(1<<ex-1))
			bits >>= ex
			nb -= uint(ex)
			if dist > wpos {
				err = infCorrupt("invalid distance too far back")
				break
			}
			if length >= f.recMin {
				f.record(wpos, length)
			}
			end := wpos + length
			src := wpos - dist
			if dist >= length {
				copy(out[wpos:end], out[src:src+length])
				wpos = end
			} else {
				for wpos < end {
					wpos += copy(out[wpos:end], out[src:wpos])
				}
			}
			lastLen, lastD = length, dist
		}
		f.ip, f.bits, f.nb, f.wpos = ip, bits, nb, wpos
		f.lastLen, f.lastD = lastLen, lastD
		if done || err != nil {
			return done, err
		}
		if f.wpos > len(f.out)-maxMatch {
			return false, nil
		}
		if done, err := f.slowOne(); done || err != nil {
			return done, err
		}
	}
}

// slowOne decodes one symbol near the end of the input buffer.
func (f *inflater) slowOne() (bool, error) {
	if len(f.in)-f.ip < 8 && f.rerr == nil {
		f.readMore()
	}
	e, err := f.slowSym(f.lt, infLitBits)
	if err != nil {
		return false, err
	}
	switch {
	case e&0xf00 == 0:
		f.out[f.wpos] = byte(e >> 16)
		f.wpos++
		f.lastLen = 0
		return false, nil
	case e&infEOB != 0:
		return true, nil
	case e&infBase == 0:
		return false, infCorrupt("invalid literal/length code")
	}
	length, err := f.extra(e)
	if err != nil {
		return false, err
	}
	if e, err = f.slowSym(f.dt, infDistBits); err != nil {
		return false, err
	}
	if e&infBase == 0 {
		return false, infCorrupt("invalid distance code")
	}
	dist, err := f.extra(e)
	if err != nil {
		return false, err
	}
	if dist > f.wpos {
		return false, infCorrupt("invalid distance too far back")
	}
	if length >= f.recMin {
		f.record(f.wpos, length)
	}
	for i := range length {
		f.out[f.wpos+i] = f.out[f.wpos+i-dist]
	}
	f.wpos += length
	f.lastLen, f.lastD = length, dist
	return false, nil
}

// extra returns an entry's base plus its extra bits.
func (f *inflater) extra(e uint32) (int, error) {
	ex := uint(e >> 4 & 15)
	if err := f.need(ex); err != nil {
		return 0, err
	}
	return int(e>>16 + f.take(ex)), nil
}
