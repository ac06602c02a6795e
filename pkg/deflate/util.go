package deflate

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func trailingZeroBytes(x uint64) int { return bits.TrailingZeros64(x) >> 3 }

type crc32Sum struct{ v uint32 }

func (c *crc32Sum) update(p []byte) { c.v = crc32.Update(c.v, crc32.IEEETable, p) }
