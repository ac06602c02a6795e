package deflate

import (
	"encoding/binary"
	"io"
)

// zlib level 0 emits stored blocks, and, unlike levels 1-9, where the
// blocks end depends on how the caller feeds deflate() and drains its
// output: deflate_stored copies straight to next_out when avail_out holds a
// "worthy" block, and otherwise fills its window and emits a block from the
// pending buffer once a window's worth has gathered. So level 0 is modelled
// together with its one caller that matters, git archive's internal gzip
// (archive-tar.c, git 2.38+): every call feeds one 10240-byte tar block
// with Z_NO_FLUSH into a 16384-byte output buffer that is written out and
// reset whenever deflate fills it, then Z_FINISH until Z_STREAM_END.
//
// The model below follows zlib 1.2.12-1.3.1's deflate() and
// deflate_stored() (deflate.c) statement by statement for that calling
// pattern, with windowBits 15 and memLevel 8 (window 2*32 KiB, pending
// buffer 64 KiB). Only the sequence of output bytes is kept, since git
// writes the buffer's bytes in order; avail_out is tracked because it
// steers deflate_stored. zlib 1.2.11 differs in one statement: it fills
// the window one byte short (window_size - strstart - 1, fixed in 1.2.12),
// so its blocks are 40959 bytes where later versions write 40960;
// WithZlibVersion("1.2.11") selects it.
const (
	gitRecord = 10240 // archive-tar.c BLOCKSIZE: bytes per deflate() call
	gitOutBuf = 16384 // archive-tar.c outbuf
	zNoFlush  = 0
	zFinish   = 4
)

type blockState int

const (
	needMore blockState = iota
	blockDone
	finishStarted
	finishDone
)

type zlibStored struct {
	out      io.Writer
	err      error
	availOut int
	pending  []byte
	window   [zWindowSize]byte
	strstart int
	blockStr int
	in       []byte // next_in .. next_in+avail_in
	crc      crc32Sum
	totalIn  int64
	finished bool // status == FINISH_STATE
	wrapDone bool // trailer written (wrap < 0)
	last     int  // last_flush
	// short is 1 for zlib 1.2.11, whose deflate_stored leaves one byte of
	// the window unfilled.
	short int
	// raw leaves the header and the trailer out of the output: they only
	// take their room in the output buffer.
	raw bool
}

// gitStoredGzip writes git archive's level-0 gzip stream of r (header
// included, as zlib writes it for git's gz_header with os 3).
func gitStoredGzip(w io.Writer, r io.Reader, header []byte, zlib1211 bool) error {
	return gitStored(w, r, header, zlib1211, false)
}

// gitStoredDeflate writes the deflate data of git archive's level-0 gzip
// stream of r (with git's 10-byte header, which steers where the blocks
// end: the blocks are the same as gitStoredGzip's).
func gitStoredDeflate(w io.Writer, r io.Reader, zlib1211 bool) error {
	return gitStored(w, r, zlibHeader(&options{}), zlib1211, true)
}

func gitStored(w io.Writer, r io.Reader, header []byte, zlib1211, raw bool) error {
	z := &zlibStored{out: w, availOut: gitOutBuf, last: zNoFlush, raw: raw}
	if zlib1211 {
		z.short = 1
	}
	// The header goes out in the first deflate() call, before any block;
	// it only takes its room in the output buffer.
	if raw {
		z.availOut -= len(header)
	} else {
		z.write(header)
	}
	buf := make([]byte, gitRecord)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			z.in = buf[:n]
			z.tgzDeflate(zNoFlush)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
		if z.err != nil {
			return z.err
		}
	}
	z.in = nil
	z.tgzDeflate(zFinish)
	return z.err
}

// write sends bytes to the output buffer (they never exceed availOut).
func (z *zlibStored) write(p []byte) {
	if z.err == nil && len(p) > 0 {
		_, z.err = z.out.Write(p)
	}
	z.availOut -= len(p)
}

// tgzDeflate is archive-tar.c's loop around git_deflate.
func (z *zlibStored) tgzDeflate(flush int) {
	for (len(z.in) > 0 || flush == zFinish) && z.err == nil {
		end := z.deflate(flush)
		if z.availOut == 0 || end {
			z.availOut = gitOutBuf
			if end {
				return
			}
		}
	}
}

func rank(f int) int {
	r := f * 2
	if f > 4 {
		r -= 9
	}
	return r
}

// flushPending is flush_pending().
func (z *zlibStored) flushPending() {
	n := min(len(z.pending), z.availOut)
	if n == 0 {
		return
	}
	z.write(z.pending[:n])
	z.pending = z.pending[n:]
}

// deflate is zlib's deflate() past the header; it reports Z_STREAM_END.
func (z *zlibStored) deflate(flush int) bool {
	old := z.last
	z.last = flush
	if len(z.pending) != 0 {
		z.flushPending()
		if z.availOut == 0 {
			z.last = -1
			return false
		}
	} else if len(z.in) == 0 && rank(flush) <= rank(old) && flush != zFinish {
		return false // Z_BUF_ERROR
	}
	if len(z.in) != 0 || (flush != zNoFlush && !z.finished) {
		b := z.stored(flush)
		if b == finishStarted || b == finishDone {
			z.finished = true
		}
		if b == needMore || b == finishStarted {
			if z.availOut == 0 {
				z.last = -1
			}
			return false
		}
	}
	if flush != zFinish {
		return false
	}
	if z.wrapDone {
		return true
	}
	if !z.raw {
		var t [8]byte
		binary.LittleEndian.PutUint32(t[0:], z.crc.v)
		binary.LittleEndian.PutUint32(t[4:], uint32(z.totalIn))
		z.pending = append(z.pending, t[:]...)
	}
	z.flushPending()
	z.wrapDone = true
	return len(z.pending) == 0
}

// readBuf is read_buf(): n bytes of input, counted in the gzip CRC.
func (z *zlibStored) readBuf(n int) []byte {
	p := z.in[:n]
	z.in = z.in[n:]
	z.crc.update(p)
	z.totalIn += int64(n)
	return p
}

// storedHeader is _tr_stored_block's header with bi_valid 0 (always so at
// level 0: every block ends on a byte boundary).
func storedHeader(n int, last bool) []byte {
	b := byte(0)
	if last {
		b = 1
	}
	return []byte{b, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}
}

// stored is deflate_stored().
func (z *zlibStored) stored(flush int) blockState {
	minBlock := min(zPendingSize-5, zWSize)
	used := len(z.in)
	last := false
	for !last {
		const have0 = 5 // (bi_valid + 42) >> 3 with bi_valid 0
		if z.availOut < have0 {
			break
		}
		have := z.availOut - have0
		left := z.strstart - z.blockStr
		n := zMaxStored
		if n > left+len(z.in) {
			n = left + len(z.in)
		}
		if n > have {
			n = have
		}
		if n < minBlock && ((n == 0 && flush != zFinish) || flush == zNoFlush || n != left+len(z.in)) {
			break
		}
		last = flush == zFinish && n == left+len(z.in)
		z.pending = append(z.pending, storedHeader(n, last)...)
		z.flushPending()
		if left > 0 {
			if left > n {
				left = n
			}
			z.write(z.window[z.blockStr : z.blockStr+left])
			z.blockStr += left
			n -= left
		}
		if n > 0 {
			z.write(z.readBuf(n))
		}
	}
	used -= len(z.in)
	if used > 0 {
		// zlib copies the input it wrote directly (or its last 32 KiB) into
		// the window, sliding it first if needed. Those bytes are before
		// block_start and are never written again at level 0, so only the
		// offsets are kept.
		if used >= zWSize {
			z.strstart = zWSize
		} else {
			if zWindowSize-z.strstart <= used {
				z.strstart -= zWSize
			}
			z.strstart += used
		}
		z.blockStr = z.strstart
	}
	if last {
		return finishDone
	}
	if flush != zNoFlush && flush != zFinish && len(z.in) == 0 && z.strstart == z.blockStr {
		return blockDone
	}
	have := zWindowSize - z.strstart - z.short
	if len(z.in) > have && z.blockStr >= zWSize {
		z.blockStr -= zWSize
		z.strstart -= zWSize
		copy(z.window[:z.strstart], z.window[zWSize:zWSize+z.strstart])
		have += zWSize
	}
	if have > len(z.in) {
		have = len(z.in)
	}
	if have > 0 {
		copy(z.window[z.strstart:], z.readBuf(have))
		z.strstart += have
	}
	have = min(zPendingSize-5, zMaxStored)
	minBlock = min(have, zWSize)
	left := z.strstart - z.blockStr
	if left >= minBlock || ((left > 0 || flush == zFinish) && flush != zNoFlush && len(z.in) == 0 && left <= have) {
		n := min(left, have)
		last = flush == zFinish && len(z.in) == 0 && n == left
		z.pending = append(z.pending, storedHeader(n, last)...)
		z.pending = append(z.pending, z.window[z.blockStr:z.blockStr+n]...)
		z.blockStr += n
		z.flushPending()
	}
	if last {
		return finishStarted
	}
	return needMore
}
