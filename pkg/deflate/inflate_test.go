package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
	"testing/iotest"

	kflate "github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/require"
)

const infTestHist = 64<<10 + 512

// infDecode inflates raw from the reader r, collecting the block reports
// and checking each report's history against want (if not nil).
func infDecode(t testing.TB, r io.Reader, skip int, dict []byte, want []byte) ([]byte, []blockInfo, *inflater, error) {
	t.Helper()
	f := newInflater(r, skip, dict, infTestHist)
	var blocks []blockInfo
	var out bytes.Buffer
	f.onBlock = func(b blockInfo, history []byte) error {
		if int64(out.Len())+int64(f.wpos-f.rpos) != b.End {
			return fmt.Errorf("block %d: End %d but %d bytes decoded", b.Index, b.End, int64(out.Len())+int64(f.wpos-f.rpos))
		}
		if want != nil {
			full := append(append([]byte(nil), dict[len(dict)-min(len(dict), 32<<10):]...), want[:b.End]...)
			if n := min(infTestHist, len(full)); !bytes.Equal(history, full[len(full)-n:]) {
				return fmt.Errorf("block %d: history of %d bytes is not the %d bytes before End %d", b.Index, len(history), n, b.End)
			}
		}
		blocks = append(blocks, b)
		return nil
	}
	buf := make([]byte, 20000) // odd size: reads end mid-block
	for {
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out.Bytes(), blocks, f, err
		}
	}
}

func flateRaw(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// gzipRaw compresses with the system gzip and returns the deflate data.
func gzipRaw(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	gz := systemGzip(t, data, "-cn", fmt.Sprintf("-%d", level))
	require.Greater(t, len(gz), 18)
	require.Equal(t, byte(0), gz[3], "gzip -n writes no optional header fields")
	return gz[10 : len(gz)-8]
}

type infEncoded struct {
	name string
	raw  []byte
}

func infEncodings(t testing.TB, data []byte) []infEncoded {
	t.Helper()
	var es []infEncoded
	for _, l := range []int{-2, 0, 1, 6, 9} {
		es = append(es, infEncoded{fmt.Sprintf("flate%d", l), flateRaw(t, data, l)})
	}
	for _, l := range []int{1, 6, 9} {
		es = append(es, infEncoded{fmt.Sprintf("gzip-%d", l), gzipRaw(t, data, l)})
	}
	return es
}

func infMixed(n int) []byte {
	var b []byte
	for i := uint64(0); len(b) < n; i++ {
		b = append(b, textLike(300000, i)...)
		b = append(b, randomBytes(50000, i)...)
		b = append(b, make([]byte, 40000)...)
		b = append(b, bytes.Repeat([]byte("abcabd"), 5000)...)
	}
	return b[:n]
}

func TestInflateRoundTrip(t *testing.T) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one-byte", []byte{'x'}},
		{"random", randomBytes(100000, 1)},
		{"text", textLike(300000, 2)},
		{"run", bytes.Repeat([]byte{'a'}, 200000)},
		{"zeros-70k", make([]byte, 70<<10)},
		{"mixed-3M", infMixed(3 << 20)},
	}
	for _, in := range inputs {
		for _, e := range infEncodings(t, in.data) {
			t.Run(in.name+"/"+e.name, func(t *testing.T) {
				readers := map[string]io.Reader{"whole": bytes.NewReader(e.raw)}
				if len(e.raw) < 200000 {
					readers["one-byte-reads"] = iotest.OneByteReader(bytes.NewReader(e.raw))
					readers["half-reads"] = iotest.HalfReader(bytes.NewReader(e.raw))
				}
				for rn, r := range readers {
					got, blocks, f, err := infDecode(t, r, 0, nil, in.data)
					require.NoError(t, err, rn)
					requireSameBytes(t, in.data, got, rn)
					require.Equal(t, int64(len(e.raw)), (f.bitsRead()+7)/8, rn)
					require.NotEmpty(t, blocks)
					require.True(t, blocks[len(blocks)-1].Final)
					n, err := f.Read(make([]byte, 10))
					require.Equal(t, 0, n)
					require.Equal(t, io.EOF, err)
				}
			})
		}
	}
}

// infCheckBlocks checks the block reports of raw (the deflate data of
// data): they tile the output, and decoding again from every block's
// header, with the 32 KiB before it as the dictionary, gives the rest.
func infCheckBlocks(t *testing.T, data, raw []byte) []blockInfo {
	t.Helper()
	got, blocks, f, err := infDecode(t, bytes.NewReader(raw), 0, nil, data)
	require.NoError(t, err)
	requireSameBytes(t, data, got, "first decode")
	end := f.bitsRead()
	require.Greater(t, len(blocks), 3, "want a multi-block input")
	var at int64
	for i, b := range blocks {
		require.Equal(t, i, b.Index)
		require.Equal(t, at, b.Start, "block %d", i)
		require.GreaterOrEqual(t, b.End, b.Start)
		require.Equal(t, i == len(blocks)-1, b.Final, "block %d", i)
		require.Contains(t, []int{0, 1, 2}, b.Type)
		if i > 0 {
			require.Greater(t, b.BitOffset, blocks[i-1].BitOffset)
		}
		if b.LastMatch == 0 {
			require.Zero(t, b.LastDist)
		} else {
			require.True(t, b.LastMatch >= 3 && b.LastMatch <= 258 && b.LastDist >= 1 && b.LastDist <= 32768, "block %d: %+v", i, b)
			require.NotEqual(t, 0, b.Type)
		}
		at = b.End
	}
	require.Equal(t, int64(len(data)), at)
	for _, b := range blocks {
		dict := data[max(0, b.Start-32<<10):b.Start]
		got, again, f, err := infDecode(t, bytes.NewReader(raw[b.BitOffset/8:]), int(b.BitOffset%8), dict, data[b.Start:])
		require.NoError(t, err, "block %d", b.Index)
		requireSameBytes(t, data[b.Start:], got, fmt.Sprintf("decoding from block %d", b.Index))
		require.Equal(t, end-b.BitOffset/8*8, f.bitsRead())
		require.Equal(t, len(blocks)-b.Index, len(again))
		require.Equal(t, b.BitOffset%8, again[0].BitOffset)
		for j, a := range again {
			o := blocks[b.Index+j]
			require.Equal(t, blockInfo{Index: j, BitOffset: o.BitOffset - b.BitOffset/8*8, Start: o.Start - b.Start, End: o.End - b.Start,
				Type: o.Type, Final: o.Final, LastMatch: o.LastMatch, LastDist: o.LastDist}, a)
		}
	}
	return blocks
}

func TestInflateBlocks(t *testing.T) {
	data := infMixed(1 << 20)
	t.Run("gzip-9", func(t *testing.T) {
		blocks := infCheckBlocks(t, data, gzipRaw(t, data, 9))
		matches, unaligned := 0, 0
		for _, b := range blocks {
			if b.BitOffset%8 != 0 {
				unaligned++
			}
			if b.LastMatch > 0 {
				matches++
				e, l, d := b.End, int64(b.LastMatch), int64(b.LastDist)
				require.Equal(t, data[e-l-d:e-d], data[e-l:e], "block %d: %+v", b.Index, b)
			}
		}
		require.NotZero(t, matches, "gzip -9 ends some block with a match")
		require.NotZero(t, unaligned, "re-decoding starts mid-byte")
	})
	for _, level := range []int{-2, 0, 6} {
		t.Run(fmt.Sprintf("flate%d", level), func(t *testing.T) {
			blocks := infCheckBlocks(t, data, flateRaw(t, data, level))
			for _, b := range blocks {
				if level <= 0 {
					require.Zero(t, b.LastMatch, "block %d: no matches at level %d", b.Index, level)
				}
				if level == 0 {
					require.Equal(t, 0, b.Type)
				}
				if b.LastMatch > 0 {
					e, l, d := b.End, int64(b.LastMatch), int64(b.LastDist)
					require.Equal(t, data[e-l-d:e-d], data[e-l:e], "block %d: %+v", b.Index, b)
				}
			}
		})
	}
	t.Run("empty-blocks", func(t *testing.T) {
		// Flush writes an empty stored block (as gzip --rsyncable does).
		var b bytes.Buffer
		w, err := flate.NewWriter(&b, 6)
		require.NoError(t, err)
		for i := range 6 {
			_, err = w.Write(textLike(20000, uint64(i)))
			require.NoError(t, err)
			require.NoError(t, w.Flush())
			require.NoError(t, w.Flush())
		}
		require.NoError(t, w.Close())
		var data []byte
		for i := range 6 {
			data = append(data, textLike(20000, uint64(i))...)
		}
		blocks := infCheckBlocks(t, data, b.Bytes())
		empty := 0
		for _, b := range blocks {
			if b.Start == b.End {
				empty++
				require.Zero(t, b.LastMatch)
			}
		}
		require.GreaterOrEqual(t, empty, 6)
	})
	t.Run("empty-huffman-blocks", func(t *testing.T) {
		// An empty fixed block, a one-literal fixed block, an empty final
		// fixed block.
		var w bitWriter
		w.sendBits(0b010, 3) // fixed
		w.sendBits(0, 7)     // end of block
		w.sendBits(0b010, 3)
		infSendCode(&w, 0x30+'z', 8)
		w.sendBits(0, 7)
		w.sendBits(0b011, 3) // final fixed
		w.sendBits(0, 7)
		w.windup()
		got, blocks, f, err := infDecode(t, bytes.NewReader(w.out), 0, nil, []byte("z"))
		require.NoError(t, err)
		require.Equal(t, "z", string(got))
		require.Equal(t, int64(3+7+3+8+7+3+7), f.bitsRead())
		require.Equal(t, []blockInfo{
			{Index: 0, BitOffset: 0, Start: 0, End: 0, Type: 1},
			{Index: 1, BitOffset: 10, Start: 0, End: 1, Type: 1},
			{Index: 2, BitOffset: 28, Start: 1, End: 1, Type: 1, Final: true},
		}, blocks)
	})
}

// infSendCode writes a Huffman code of n bits, most significant bit first.
func infSendCode(w *bitWriter, code uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.sendBits(code>>i&1, 1)
	}
}

func TestInflateCorrupt(t *testing.T) {
	data := textLike(3000, 5)
	for _, e := range []infEncoded{{"flate6", flateRaw(t, data, 6)}, {"flate0", flateRaw(t, data, 0)}, {"gzip-9", gzipRaw(t, data, 9)}, {"flate-2", flateRaw(t, data, -2)}} {
		for cut := range len(e.raw) {
			_, _, _, err := infDecode(t, bytes.NewReader(e.raw[:cut]), 0, nil, nil)
			require.Error(t, err, "%s cut at %d", e.name, cut)
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s cut at %d: %v", e.name, cut, err)
			}
		}
	}
	fixed := func(f func(w *bitWriter)) []byte {
		var w bitWriter
		w.sendBits(0b011, 3)
		f(&w)
		w.windup()
		return w.out
	}
	lit := func(w *bitWriter, c byte) { infSendCode(w, 0x30+uint64(c), 8) }
	cases := []struct {
		name string
		raw  []byte
		dict []byte
		ok   bool
	}{
		{"block-type-3", []byte{0x07}, nil, false},
		{"block-type-3-not-final", []byte{0x06, 0, 0}, nil, false},
		{"stored-nlen", []byte{0x01, 5, 0, 0, 0, 'a', 'b', 'c', 'd', 'e'}, nil, false},
		{"stored-ok", []byte{0x01, 5, 0, 0xfa, 0xff, 'a', 'b', 'c', 'd', 'e'}, nil, true},
		{"too-far-back", fixed(func(w *bitWriter) {
			infSendCode(w, 1, 7) // length 3
			infSendCode(w, 0, 5) // distance 1
			w.sendBits(0, 7)
		}), nil, false},
		{"dict-reach", fixed(func(w *bitWriter) {
			lit(w, 'a')
			infSendCode(w, 1, 7) // length 3
			infSendCode(w, 6, 5) // distances 9-12
			w.sendBits(2, 2)     // 11
			infSendCode(w, 0, 7) // end
		}), []byte("0123456789"), true},
		{"dict-too-far", fixed(func(w *bitWriter) {
			lit(w, 'a')
			infSendCode(w, 1, 7)
			infSendCode(w, 6, 5)
			w.sendBits(3, 2) // 12 > 11
			infSendCode(w, 0, 7)
		}), []byte("0123456789"), false},
		{"distance-code-30", fixed(func(w *bitWriter) {
			lit(w, 'a')
			infSendCode(w, 1, 7)
			infSendCode(w, 30, 5)
			infSendCode(w, 0, 7)
		}), nil, false},
		{"length-code-286", fixed(func(w *bitWriter) {
			lit(w, 'a')
			infSendCode(w, 0xc0+286-280, 8)
			infSendCode(w, 0, 7)
		}), nil, false},
		{"hlit-287", func() []byte {
			var w bitWriter
			w.sendBits(0b101, 3)
			w.sendBits(30, 5)
			w.sendBits(0, 5)
			w.sendBits(15, 4)
			w.sendBits(0, 64-17)
			w.sendBits(0, 32)
			w.windup()
			return w.out
		}(), nil, false},
	}
	for _, c := range cases {
		// Padded, the data is decoded by the fast loop (which needs 8 bytes
		// of input ahead), else by the byte-at-a-time path.
		for _, raw := range [][]byte{c.raw, append(c.raw[:len(c.raw):len(c.raw)], make([]byte, 16)...)} {
			got, _, _, err := infDecode(t, bytes.NewReader(raw), 0, c.dict, nil)
			if c.ok {
				require.NoError(t, err, c.name)
				if c.name == "dict-reach" {
					require.Equal(t, "a012", string(got))
				}
				continue
			}
			require.ErrorIs(t, err, ErrCorrupt, c.name)
			// the oracle agrees
			zr := flate.NewReaderDict(bytes.NewReader(raw), c.dict)
			_, err = io.ReadAll(zr)
			require.Error(t, err, c.name)
		}
	}
	t.Run("callback-error", func(t *testing.T) {
		raw := flateRaw(t, infMixed(1<<20), 6)
		f := newInflater(bytes.NewReader(raw), 0, nil, infTestHist)
		stop := errors.New("stop")
		var end int64
		f.onBlock = func(b blockInfo, _ []byte) error { end = b.End; return stop }
		n, err := io.Copy(io.Discard, f)
		require.ErrorIs(t, err, stop)
		require.Equal(t, end, n, "Read returns the bytes up to the block's end")
	})
}

// FuzzInflate compares the inflater with compress/flate on arbitrary data.
//
//	go test ./pkg/deflate -run '^$' -fuzz FuzzInflate -fuzztime 3m -parallel 1
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0x07})
	f.Add([]byte{0x01, 5, 0, 0xfa, 0xff, 'a', 'b', 'c', 'd', 'e'})
	for i, l := range []int{-2, 0, 1, 6, 9} {
		f.Add(flateRaw(f, textLike(500+i*300, uint64(i)), l))
	}
	f.Add(flateRaw(f, bytes.Repeat([]byte("abcabd"), 300), 9))
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 8<<20))
		inf := newInflater(bytes.NewReader(raw), 0, nil, 0)
		if len(raw)%2 == 1 {
			// Recording matches must not change the output.
			inf.recordMatches(5)
			inf.onBlock = func(b blockInfo, _ []byte) error {
				inf.longMatches(b.End - 32768)
				return nil
			}
		}
		got, gerr := io.ReadAll(io.LimitReader(inf, 8<<20))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("compress/flate: %v, inflater: %v", werr, gerr)
		}
		if gerr != nil {
			if !errors.Is(gerr, ErrCorrupt) && !errors.Is(gerr, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", gerr)
			}
			return
		}
		requireSameBytes(t, want, got, "output")
	})
}

var infBench struct {
	once sync.Once
	data []byte
	raw  []byte
	err  error
}

// infBenchData is ~32 MiB of a tar of /usr/include (or /usr/share/doc),
// compressed with gzip -9.
func infBenchData(b *testing.B) ([]byte, []byte) {
	infBench.once.Do(func() {
		for _, dir := range []string{"/usr/include", "/usr/share/doc"} {
			out, err := exec.Command("sh", "-c", "tar -cf - "+dir+" 2>/dev/null | head -c 33554432").Output()
			if len(out) < 16<<20 {
				infBench.err = fmt.Errorf("tar of %s: %d bytes, %v", dir, len(out), err)
				continue
			}
			cmd := exec.Command("/usr/bin/gzip", "-cn9")
			cmd.Stdin = bytes.NewReader(out)
			gz, err := cmd.Output()
			if err != nil {
				infBench.err = err
				return
			}
			infBench.data, infBench.raw, infBench.err = out, gz[10:len(gz)-8], nil
			return
		}
	})
	if infBench.err != nil {
		b.Fatal(infBench.err)
	}
	return infBench.data, infBench.raw
}

func infBenchRun(b *testing.B, open func([]byte) io.Reader) {
	data, raw := infBenchData(b)
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 64<<10)
	b.ResetTimer()
	for b.Loop() {
		r := open(raw)
		var n int
		for {
			m, err := r.Read(buf)
			n += m
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if n != len(data) {
			b.Fatalf("%d bytes, want %d", n, len(data))
		}
	}
}

func BenchmarkInflate(b *testing.B) {
	infBenchRun(b, func(raw []byte) io.Reader {
		f := newInflater(bytes.NewReader(raw), 0, nil, infTestHist)
		f.onBlock = func(blockInfo, []byte) error { return nil }
		return f
	})
}

func BenchmarkInflateKlauspost(b *testing.B) {
	infBenchRun(b, func(raw []byte) io.Reader { return kflate.NewReader(bytes.NewReader(raw)) })
}

// TestInflateRecordsMatches has the real gzip -1 compress mixed data and
// checks the matches the inflater records: in order, apart, at least the
// minimum long, each a copy of bytes that occur in the 32 KiB before it,
// and longMatches gives the ones ending after an offset (or says it
// dropped some).
func TestInflateRecordsMatches(t *testing.T) {
	data := append(append(textLike(200000, 91), randomBytes(20000, 92)...), textLike(100000, 93)...)
	raw := gzipRaw(t, data, 1)
	f := newInflater(bytes.NewReader(raw), 0, nil, 0)
	f.recordMatches(5)
	var at []int64
	var got [][]matchSpan
	f.onBlock = func(b blockInfo, _ []byte) error {
		spans, ok := f.longMatches(b.End - 40000)
		require.True(t, ok, "block %d", b.Index)
		at = append(at, b.End-40000)
		got = append(got, spans)
		return nil
	}
	out, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, data, out)
	require.NotEmpty(t, got)
	n := 0
	for i, spans := range got {
		for j, s := range spans {
			require.GreaterOrEqual(t, s.length, 5)
			require.Greater(t, s.pos+int64(s.length), at[i], "ends after the offset asked for")
			if j > 0 {
				require.LessOrEqual(t, spans[j-1].pos+int64(spans[j-1].length), s.pos, "in order, apart")
			}
			src := data[max(0, s.pos-32768) : s.pos+int64(s.length)-1]
			require.GreaterOrEqual(t, bytes.Index(src, data[s.pos:s.pos+int64(s.length)]), 0, "a copy of earlier bytes at %d", s.pos)
			n++
		}
	}
	require.Greater(t, n, 1000)
	_, ok := f.longMatches(0)
	require.False(t, ok, "the ring no longer holds the first matches")
}
