package deflate

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
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

// TestZlibLevel0Oracles compares ZlibGzip level 0 (stored blocks, whose
// ends depend on the caller) with libz 1.2.11, 1.2.13 and 1.3.1 driven
// exactly as git archive drives zlib (10240-byte Z_NO_FLUSH calls into a
// 16384-byte output buffer, then Z_FINISH), on the whole corpus plus
// lengths around the 40960-byte blocks that pattern makes and the 64 KiB
// window (1.2.11 writes other blocks than the later two: each model is
// checked against its own library). The same calling pattern at levels 1 and 9 must give what
// ZlibGzip gives (levels 1-9 do not depend on it).
func TestZlibLevel0Oracles(t *testing.T) {
	oracles := zlibOracles(t)
	cases := corpus(t)
	text := textLike(1<<20, 9)
	for _, n := range []int{10240, 20480, 40959, 40960, 40961, 51200, 61440, 65536, 81920, 122880, 409600} {
		cases = append(cases, corpusCase{name: fmt.Sprintf("text-%d", n), data: text[:n]})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, o := range oracles {
				got := zlibGzipBytes(t, c.data, 0, WithZlibVersion(o.version))
				requireSameBytes(t, o.compressLikeGit(t, c.data, 0), got, fmt.Sprintf("zlib %s level 0 (git's calls) on %s", o.version, c.name))
			}
			if len(c.data) >= 200000 {
				assert.False(t, bytes.Equal(zlibGzipBytes(t, c.data, 0, WithZlibVersion("1.2.11")), zlibGzipBytes(t, c.data, 0)),
					"zlib 1.2.11 and 1.2.13 write other stored blocks")
			}
			if !c.big {
				return
			}
			for _, level := range []int{1, 9} {
				requireSameBytes(t, oracles[1].compressLikeGit(t, c.data, level), zlibGzipBytes(t, c.data, level),
					fmt.Sprintf("zlib 1.2.13 level %d (git's calls) on %s", level, c.name))
			}
		})
	}
}
