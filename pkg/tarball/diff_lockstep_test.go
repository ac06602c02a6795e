package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lsMember is one member of a generated archive.
type lsMember struct {
	name    string
	content []byte
	mtime   int64
}

func lsTar(t *testing.T, ms []lsMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: m.name, Mode: 0o644,
			Size: int64(len(m.content)), ModTime: time.Unix(m.mtime, 0), Format: tar.FormatPAX}))
		_, err := tw.Write(m.content)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func lsContent(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefgh\n"[r.IntN(9)]
	}
	return b
}

func memSource(name string, d []byte) source {
	return source{name: name, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(d)), nil }}
}

// TestDiffLockstepProperty mutates random archives in known ways and
// checks that the findings are exactly the mutations: content changes
// (same size, other size; in the first, a middle or the last chunk of
// members larger than one chunk), removed and added members, mtime
// changes and swapped members. The expected findings come from the
// mutation list, the expected digests from hashing the generated contents.
func TestDiffLockstepProperty(t *testing.T) {
	old := chunkSize
	chunkSize = 4096 // members of up to 5 chunks
	t.Cleanup(func() { chunkSize = old })
	for seed := range 60 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			n := 10 + r.IntN(60)
			a := make([]lsMember, n)
			for i := range a {
				a[i] = lsMember{name: fmt.Sprintf("p/f%03d", i), content: lsContent(r, r.IntN(5*4096)), mtime: 1700000000}
			}
			b := make([]lsMember, n)
			for i := range a {
				b[i] = a[i]
				b[i].content = bytes.Clone(a[i].content)
			}
			type key struct {
				kind Kind
				path string
			}
			want := map[key]bool{}
			content := map[string]bool{}
			inStep := true // no removal, insertion or swap
			for range 1 + r.IntN(4) {
				i := r.IntN(len(b))
				switch op := r.IntN(5); op {
				case 0, 1: // content change, same size (op 0) or not
					if len(b[i].content) == 0 || content[b[i].name] {
						continue
					}
					c := bytes.Clone(b[i].content)
					c[r.IntN(len(c))] = 'Z'
					if op == 1 {
						c = append(c, "more\n"...)
					}
					b[i].content = c
					content[b[i].name] = true
					want[key{KindContent, b[i].name}] = true
					if op == 1 {
						want[key{KindHeader, b[i].name}] = true // size
					}
				case 2: // mtime
					b[i].mtime++
					want[key{KindHeader, b[i].name}] = true
				case 3: // remove one, add one elsewhere
					if content[b[i].name] {
						continue
					}
					want[key{KindOnlyInA, b[i].name}] = true
					b = append(b[:i], b[i+1:]...)
					j := r.IntN(len(b) + 1)
					add := lsMember{name: fmt.Sprintf("p/new%03d", j), content: lsContent(r, r.IntN(9000)), mtime: 1700000000}
					b = append(b[:j], append([]lsMember{add}, b[j:]...)...)
					want[key{KindOnlyInB, add.name}] = true
					inStep = false
				case 4: // swap two members
					j := r.IntN(len(b))
					if i == j {
						continue
					}
					b[i], b[j] = b[j], b[i]
					inStep = false
				}
			}
			ta, tb := lsTar(t, a), lsTar(t, b)
			res, hashed, err := diffSourcesStats(context.Background(), memSource("a", ta), memSource("b", tb))
			require.NoError(t, err)
			require.Equal(t, bytes.Equal(ta, tb), res.Identical())
			got := map[key]bool{}
			for _, f := range res.Findings {
				switch f.Kind {
				case KindArchive, KindCompression:
					continue
				case KindOrder:
					continue // checked below
				case KindContent:
					var sa, sb int64
					var ha, hb string
					_, err := fmt.Sscanf(f.Old, "size %d sha256 %s", &sa, &ha)
					require.NoError(t, err)
					_, err = fmt.Sscanf(f.New, "size %d sha256 %s", &sb, &hb)
					require.NoError(t, err)
					assert.Equal(t, digestOf(a, f.Path), ha, "%s: A digest", f.Path)
					assert.Equal(t, digestOf(b, f.Path), hb, "%s: B digest", f.Path)
				}
				got[key{f.Kind, f.Path}] = true
			}
			wantList, gotList := keysOf(want), keysOf(got)
			assert.Equal(t, wantList, gotList)
			if inStep {
				// Only members whose size changed are hashed.
				resized := 0
				for i := range a {
					if len(a[i].content) != len(b[i].content) {
						resized++
					}
				}
				assert.Equal(t, 2*resized, hashed, "members in step are compared, not hashed")
			}
		})
	}
}

func digestOf(ms []lsMember, name string) string {
	for _, m := range ms {
		if m.name == name {
			s := sha256.Sum256(m.content)
			return hex.EncodeToString(s[:])
		}
	}
	return "(missing)"
}

func keysOf[K comparable](m map[K]bool) []string {
	var out []string
	for k := range m {
		out = append(out, fmt.Sprint(k))
	}
	sort.Strings(out)
	return out
}

// TestDiffLockstepResync: one member removed near the start and one added
// further on; the inputs fall back into step, so only a handful of members
// are hashed out of 2000.
func TestDiffLockstepResync(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a := make([]lsMember, 2000)
	for i := range a {
		a[i] = lsMember{name: fmt.Sprintf("p/f%04d", i), content: lsContent(r, 100), mtime: 1700000000}
	}
	b := append([]lsMember{}, a[:3]...)
	b = append(b, a[4:1000]...)
	b = append(b, lsMember{name: "p/added", content: []byte("x\n"), mtime: 1700000000})
	b = append(b, a[1000:]...)
	res, hashed, err := diffSourcesStats(context.Background(), memSource("a", lsTar(t, a)), memSource("b", lsTar(t, b)))
	require.NoError(t, err)
	var kinds []string
	for _, f := range res.Findings {
		kinds = append(kinds, string(f.Kind)+" "+f.Path)
	}
	assert.Equal(t, []string{"only-in-a p/f0003", "only-in-b p/added"}, kinds)
	assert.LessOrEqual(t, hashed, 8, "back in step after each change")
}

// TestDiffPaddingBytes: tar streams that differ only in the padding after
// a member's content (which archive/tar skips) are not identical, and the
// difference is reported even though no member field or content differs.
func TestDiffPaddingBytes(t *testing.T) {
	ta := lsTar(t, []lsMember{{name: "p/a", content: []byte("hello\n"), mtime: 1700000000},
		{name: "p/b", content: []byte("world\n"), mtime: 1700000000}})
	p := filepath.Join(t.TempDir(), "a.tar")
	require.NoError(t, os.WriteFile(p, ta, 0o644))
	ms, _, err := readAll(t, p)
	require.NoError(t, err)
	tb := bytes.Clone(ta)
	off := ms[1].Offset - 512 + 100 // in p/a's content block, after its 6 bytes: padding
	require.Zero(t, tb[off])
	tb[off] = 'X'
	res, err := diffSources(context.Background(), memSource("a", ta), memSource("b", tb))
	require.NoError(t, err)
	assert.False(t, res.TarIdentical())
	require.Len(t, res.Findings, 1)
	assert.Equal(t, Finding{Kind: KindArchive, Field: "tar bytes", Note: "tar bytes differ outside the compared fields", Class: ClassFormat}, res.Findings[0])
	assert.Empty(t, res.A.TarSHA256, "no tar digest without WithTarSHA256")

	res, err = diffSources(context.Background(), memSource("a", ta), memSource("b", tb), WithTarSHA256())
	require.NoError(t, err)
	require.Len(t, res.Findings, 1)
	assert.Equal(t, "tar-sha256", res.Findings[0].Field)
	assert.Equal(t, sha256Hex(t, string(ta)), res.A.TarSHA256)
	assert.Equal(t, sha256Hex(t, string(tb)), res.B.TarSHA256)
}

// cancelAfter is a file that cancels a context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= int64(k); c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func (c *cancelAfter) Close() error { return nil }

// TestDiffCancelInsideMember: cancelling while both inputs are inside one
// large member compared in step stops the diff there with the context's
// error, instead of reading the member to its end.
func TestDiffCancelInsideMember(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB
	ta := lsTar(t, []lsMember{{name: "p/big", content: big, mtime: 1700000000}})
	tb := lsTar(t, []lsMember{{name: "p/big", content: big, mtime: 1700000001}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var readB *cancelAfter
	srcB := source{name: "b", open: func() (io.ReadCloser, error) {
		readB = &cancelAfter{r: bytes.NewReader(tb), n: 4 << 20, cancel: cancel}
		return readB, nil
	}}
	_, err := diffSources(ctx, memSource("a", ta), srcB)
	require.ErrorIs(t, err, context.Canceled)
	assert.Regexp(t, `^[ab]: at tar offset [0-9]+: context canceled$`, err.Error(), "names the input and where")
	assert.Greater(t, readB.n, int64(-16<<20), "stopped well before the end of the 32 MiB member")
}

// TestDiffResizedOnePass: a text member whose size changed (bench pair
// (b): one line longer) gets its unified diff from the first pass too;
// each input is opened once.
func TestDiffResizedOnePass(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	ta := lsTar(t, []lsMember{{name: "p/a.txt", content: []byte("one\na\nthree\n"), mtime: 1700000000},
		{name: "p/z.bin", content: big, mtime: 1700000000}})
	tb := lsTar(t, []lsMember{{name: "p/a.txt", content: []byte("one\nbee\nthree\n"), mtime: 1700000000},
		{name: "p/z.bin", content: big, mtime: 1700000000}})
	opens := map[string]int{}
	src := func(name string, d []byte) source {
		return source{name: name, open: func() (io.ReadCloser, error) {
			opens[name]++
			return io.NopCloser(bytes.NewReader(d)), nil
		}}
	}
	res, err := diffSources(context.Background(), src("a", ta), src("b", tb))
	require.NoError(t, err)
	require.Len(t, res.Findings, 2)
	assert.Equal(t, Finding{Kind: KindHeader, Path: "p/a.txt", Field: "size", Old: "12", New: "14", Class: ClassContent}, res.Findings[0])
	f := res.Findings[1]
	assert.Equal(t, KindContent, f.Kind)
	assert.Equal(t, "size 12 sha256 "+sha256Hex(t, "one\na\nthree\n"), f.Old)
	assert.Equal(t, "size 14 sha256 "+sha256Hex(t, "one\nbee\nthree\n"), f.New)
	assert.Equal(t, "--- a/p/a.txt\n+++ b/p/a.txt\n@@ -1,3 +1,3 @@\n one\n-a\n+bee\n three\n", f.Diff)
	assert.Equal(t, map[string]int{"a": 1, "b": 1}, opens, "no second pass")
}
