package deflate

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"testing"
)

// benchInput is the first 32 MiB of $VERIFY_RELEASE_BENCH_TAR (say the
// linux tar stream bench/deflate/run.sh unpacks), or made-up text.
func benchInput(b *testing.B) []byte {
	if p := os.Getenv("VERIFY_RELEASE_BENCH_TAR"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 32<<20)
		n, err := io.ReadFull(f, buf)
		if err != nil && n == 0 {
			b.Fatal(err)
		}
		return buf[:n]
	}
	return textLike(32<<20, 61)
}

func benchmarkDeflate(b *testing.B, f func(context.Context, io.Writer, io.Reader, ...Option) error, level int) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if err := f(context.Background(), io.Discard, bytes.NewReader(data), WithLevel(level)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGNUDeflate1(b *testing.B)  { benchmarkDeflate(b, GNUDeflate, 1) }
func BenchmarkGNUDeflate6(b *testing.B)  { benchmarkDeflate(b, GNUDeflate, 6) }
func BenchmarkGNUDeflate9(b *testing.B)  { benchmarkDeflate(b, GNUDeflate, 9) }
func BenchmarkZlibDeflate1(b *testing.B) { benchmarkDeflate(b, ZlibDeflate, 1) }
func BenchmarkZlibDeflate6(b *testing.B) { benchmarkDeflate(b, ZlibDeflate, 6) }
func BenchmarkZlibDeflate9(b *testing.B) { benchmarkDeflate(b, ZlibDeflate, 9) }

// TestSlide checks the four-at-a-time slide against the C expression
// "m >= 32768 ? m - 32768 : 0" on every uint16 and odd lengths.
func TestSlide(t *testing.T) {
	t.Parallel()
	all := make([]uint16, 1<<16+3)
	for i := range all {
		all[i] = uint16(i * 40503)
	}
	want := make([]uint16, len(all))
	for i, m := range all {
		if m >= 32768 {
			want[i] = m - 32768
		}
	}
	for _, n := range []int{0, 1, 3, 4, 5, len(all)} {
		got := append([]uint16(nil), all[:n]...)
		slide(got)
		if !slices.Equal(got, want[:n]) {
			t.Fatalf("slide of %d entries differs", n)
		}
	}
}
