package deflate

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"unsafe"
)

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func trailingZeroBytes(x uint64) int { return bits.TrailingZeros64(x) >> 3 }

type crc32Sum struct{ v uint32 }

func (c *crc32Sum) update(p []byte) { c.v = crc32.Update(c.v, crc32.IEEETable, p) }

// slide moves hash chain positions down by the 32 KiB window: positions
// below it become NIL (0). With positions below 64 Ki, "m >= 32768 ?
// m - 32768 : 0" is the low 15 bits when the top bit is set. Four
// positions at a time: (w>>15)&lanes is 1 in each lane whose top bit is
// set, and times 0xffff a mask of that lane (no carry crosses lanes). It
// runs once per 32 KiB of input on 96 KiB of tables, a sixth of the time
// at level 1 done one position at a time.
func slide(t []uint16) {
	const lanes = 0x0001_0001_0001_0001
	n := len(t) &^ 3
	if n > 0 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&t[0])), n/4)
		for i, v := range w {
			w[i] = v & (0x7fff * lanes) & ((v >> 15) & lanes * 0xffff)
		}
	}
	for i := n; i < len(t); i++ {
		v := t[i]
		t[i] = v & 0x7fff & -(v >> 15)
	}
}
