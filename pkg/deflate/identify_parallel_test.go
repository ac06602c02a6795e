package deflate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// withSpacing sets the distance between resume points (tests only).
func withSpacing(n int64) IdentifyOption {
	return func(o *identifyOptions) { o.spacing = n }
}

func identifyWith(t testing.TB, b []byte, opts ...IdentifyOption) *Identification {
	t.Helper()
	id, err := Identify(context.Background(), bytes.NewReader(b), int64(len(b)), opts...)
	require.NoError(t, err)
	return id
}

// blocksOf lists the deflate blocks of a gzip file with a 10-byte header
// and the bit length of its deflate data.
func blocksOf(t testing.TB, gz []byte) ([]blockInfo, int64) {
	t.Helper()
	var blocks []blockInfo
	f := newInflater(bytes.NewReader(gz[10:]), 0, nil, gzWSize)
	f.onBlock = func(b blockInfo, _ []byte) error {
		blocks = append(blocks, b)
		return nil
	}
	_, err := io.Copy(io.Discard, f)
	require.NoError(t, err)
	return blocks, f.bitsRead()
}

// TestIdentifyInSegments has the real gzip 1.10, 1.12 and 1.13 compress
// real and made-up data at levels 1-9, with and without --rsyncable, and
// the real zlib 1.2.11, 1.2.13 and 1.3.1 as git archive calls it, and
// checks that the proof in segments on two workers names the same
// compressor as one sequential run, in many segments.
func TestIdentifyInSegments(t *testing.T) {
	gzips := gzipOracles(t)
	zlibs := zlibOracles(t)
	inputs := []struct {
		name string
		data []byte
	}{
		{"text-3M", textLike(3<<20, 31)},
		{"mixed", append(append(textLike(1<<20, 32), randomBytes(300000, 33)...), textLike(1<<20, 34)...)},
		{"libpipeline-1.5.7.tar", gunzip(t, fetchCached(t, debMirror+"pool/main/libp/libpipeline/libpipeline_1.5.7.orig.tar.gz",
			"libpipeline_1.5.7.orig.tar.gz", "b8b45194989022a79ec1317f64a2a75b1551b2a55bea06f67704cb2a2e4690b0"))},
	}
	check := func(t *testing.T, file []byte, want Candidate) {
		par := identifyWith(t, file, WithWorkers(2), withSpacing(256<<10))
		require.NotNil(t, par.Best(), "rejections: %+v", par.Rejected)
		require.Equal(t, want, par.Best().Candidate)
		require.GreaterOrEqual(t, par.Best().Segments, 4, "proved in segments")
		seq := identifyWith(t, file, WithWorkers(1))
		require.Zero(t, seq.Best().Segments)
		for i := range par.Matches {
			par.Matches[i].Segments = 0
		}
		require.Equal(t, seq.Matches, par.Matches)
		require.ElementsMatch(t, seq.Rejected, par.Rejected)
	}
	for i, in := range inputs {
		for _, level := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9} {
			if level <= 3 && i != 1 {
				continue // deflate_fast on the mixed input only: it is quick
			}
			for _, rsync := range []bool{false, true} {
				g := gzips[(level+b2i(rsync))%len(gzips)]
				want := Candidate{GNU, level, rsync, false}
				t.Run(fmt.Sprintf("%s/gzip-%s/%s", in.name, g.version, want), func(t *testing.T) {
					args := []string{"-n", fmt.Sprintf("-%d", level)}
					if rsync {
						args = append(args, "--rsyncable")
					}
					check(t, g.compress(t, in.data, args...), want)
				})
			}
			z := zlibs[level%len(zlibs)]
			want := Candidate{Zlib, level, false, false}
			t.Run(fmt.Sprintf("%s/zlib-%s/%s", in.name, z.version, want), func(t *testing.T) {
				check(t, z.compressLikeGit(t, in.data, level), want)
			})
		}
	}
}

// storedInstead rewrites block j of a gzip file as stored blocks of the
// same data: the file still decompresses to the same bytes, but gzip did
// not write it.
func storedInstead(t testing.TB, gz, data []byte, j int) []byte {
	t.Helper()
	blocks, total := blocksOf(t, gz)
	require.Less(t, j+1, len(blocks))
	b := blocks[j]
	deflate := gz[10:]
	var w bitWriter
	copyBits := func(from, to int64) {
		for p := from; p < to; {
			n := min(16, to-p)
			var v uint64
			for i := range n {
				bit := (deflate[(p+i)/8] >> ((p + i) % 8)) & 1
				v |= uint64(bit) << i
			}
			w.sendBits(v, int(n))
			p += n
		}
	}
	copyBits(0, b.BitOffset)
	for s := b.Start; s < b.End; s += 65535 {
		chunk := data[s:min(b.End, s+65535)]
		w.sendBits(storedBlock<<1, 3)
		w.windup()
		w.putShort(uint16(len(chunk)))
		w.putShort(^uint16(len(chunk)))
		w.putBytes(chunk)
	}
	copyBits(blocks[j+1].BitOffset, total)
	w.windup()
	out := append(append(append([]byte(nil), gz[:10]...), w.out...), gz[len(gz)-8:]...)
	zr, err := gzip.NewReader(bytes.NewReader(out))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the rewritten file decompresses to the same data")
	return out
}

// TestIdentifyInSegmentsLateDifference rewrites one block of a real gzip
// -9 file, early, in the middle and in the last segment, and checks that
// the proof in segments rejects gzip -9 at the same byte and block as one
// sequential run, which is where the rewritten block starts.
func TestIdentifyInSegmentsLateDifference(t *testing.T) {
	g := gzipOracles(t)[1]
	data := textLike(3<<20, 41)
	gz := g.compress(t, data, "-9n")
	blocks, _ := blocksOf(t, gz)
	require.Greater(t, len(blocks), 10)
	for _, j := range []int{1, len(blocks) / 2, len(blocks) - 2} {
		t.Run(fmt.Sprintf("block-%d", j), func(t *testing.T) {
			file := storedInstead(t, gz, data, j)
			gnu9 := WithCandidates(Candidate{GNU, 9, false, false}, Candidate{GNU, 8, false, false})
			seq := identifyWith(t, file, gnu9, WithWorkers(1))
			par := identifyWith(t, file, gnu9, WithWorkers(2), withSpacing(256<<10))
			require.Empty(t, par.Matches)
			require.Len(t, par.Rejected, 2)
			require.Equal(t, seq.Rejected[0].Offset, par.Rejected[0].Offset)
			require.Equal(t, seq.Rejected[0].Block, par.Rejected[0].Block)
			require.Equal(t, int64(10)+blocks[j].BitOffset/8, par.Rejected[0].Offset, par.Rejected[0].Reason)
			require.Equal(t, j, par.Rejected[0].Block)
		})
	}
}

// TestIdentifyInSegmentsFallback makes every resumed run assume a state
// the run before did not end in (as a gap in the model would) and checks
// that the candidate is then proven in one sequential run instead.
func TestIdentifyInSegmentsFallback(t *testing.T) {
	g := gzipOracles(t)[1]
	file := g.compress(t, textLike(2<<20, 51), "-9n")
	var resumed atomic.Int32
	resumeHook = func(s *runState) { resumed.Add(1); s.lookahead++ }
	defer func() { resumeHook = nil }()
	id := identifyWith(t, file, WithWorkers(2), withSpacing(256<<10), WithCandidates(Candidate{GNU, 9, false, false}))
	require.Greater(t, resumed.Load(), int32(3), "runs resumed")
	require.NotNil(t, id.Best(), "rejections: %+v", id.Rejected)
	require.Equal(t, Candidate{GNU, 9, false, false}, id.Best().Candidate)
	require.Zero(t, id.Best().Segments)
}

// TestIdentifyProgress checks what WithProgress reports while a real
// gzip -9 file is proven in segments: the trailer's size as the total,
// decompression that only grows, and in the end every byte re-created.
func TestIdentifyProgress(t *testing.T) {
	data := textLike(17<<20, 71)
	file := gzipOracles(t)[1].compress(t, data, "-9n")
	var got []Progress
	id := identifyWith(t, file, WithCandidates(Candidate{GNU, 9, false, false}), WithWorkers(2), withSpacing(256<<10),
		WithProgress(func(p Progress) { got = append(got, p) }))
	require.NotNil(t, id.Best())
	require.GreaterOrEqual(t, id.Best().Segments, 4)
	require.NotEmpty(t, got)
	var dec, proven int64
	for _, p := range got {
		require.Equal(t, int64(len(data)), p.Total)
		require.GreaterOrEqual(t, p.Decompressed, dec)
		require.GreaterOrEqual(t, p.Proven, proven)
		dec, proven = p.Decompressed, p.Proven
	}
	require.Equal(t, int64(len(data)), dec, "reported at the end")
	require.GreaterOrEqual(t, len(got), 2+id.Best().Segments, "at 16 MiB, at the end, and per segment")
	require.Equal(t, int64(len(data)), proven, "every segment proven")
}
