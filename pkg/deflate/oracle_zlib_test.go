package deflate

import (
	"fmt"
	"testing"
)

// TestZlibOracles compares ZlibDeflate (raw deflate) and ZlibGzip (gzip
// wrapper, windowBits 31: git's internal gzip) with libz 1.2.11, 1.2.13
// and 1.3.1 of Debian 11, 12 and 13, fed in git's 10240-byte records.
func TestZlibOracles(t *testing.T) {
	oracles := zlibOracles(t)
	for _, c := range corpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, level := range levelsFor(c) {
				raw := zlibRawBytes(t, c.data, level)
				gz := zlibGzipBytes(t, c.data, level)
				for _, o := range oracles {
					requireSameBytes(t, o.compress(t, c.data, level, -15, 10240), raw,
						fmt.Sprintf("zlib %s raw level %d on %s", o.version, level, c.name))
					requireSameBytes(t, o.compress(t, c.data, level, 31, 10240), gz,
						fmt.Sprintf("zlib %s gzip level %d on %s", o.version, level, c.name))
				}
			}
		})
	}
}

// TestZlibChunking: zlib's output does not depend on how the caller splits
// its input (git writes 10240-byte records, zlib-flate its buffer size).
func TestZlibChunking(t *testing.T) {
	o := zlibOracles(t)[1]
	data := textLike(400000, 12)
	for _, chunk := range []int{1, 511, 4096, 10240, 1 << 20} {
		for _, level := range []int{1, 6, 9} {
			if chunk == 1 && level != 6 {
				continue
			}
			requireSameBytes(t, o.compress(t, data, level, -15, chunk), zlibRawBytes(t, data, level),
				fmt.Sprintf("zlib 1.2.13 level %d chunk %d", level, chunk))
		}
	}
}
