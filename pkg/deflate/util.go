package deflate

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func trailingZeroBytes(x uint64) int { return bits.TrailingZeros64(x) >> 3 }

type crc32Sum struct{ v uint32 }

func (c *crc32Sum) update(p []byte) { c.v = crc32.Update(c.v, crc32.IEEETable, p) }

// slide moves hash chain positions down by the 32 KiB window: positions
// below it become NIL (0). With positions below 64 Ki, "m >= 32768 ?
// m - 32768 : 0" is the low 15 bits when the top bit is set.
func slide(t []uint16) {
	for i, v := range t {
		t[i] = v & 0x7fff & -(v >> 15)
	}
}
