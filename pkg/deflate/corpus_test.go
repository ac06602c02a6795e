package deflate

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// The published libntlm 1.8 source tarball, which the gitarchive, sign and
// CLI tests also use: `git archive | gzip -cn` (checked by hand with
// zcat libntlm_1.8.orig.tar.gz | gzip -cn | sha256sum).
const (
	libntlmURL    = "http://deb.debian.org/debian/pool/main/libn/libntlm/libntlm_1.8.orig.tar.gz"
	libntlmSHA256 = "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca"
)

// fetchCached returns the Debian pool file at url (debMirror + "pool/...")
// through testenv.DebianPool: fetched once into the shared test cache and
// checked by sha256. name is the file's base name.
func fetchCached(t testing.TB, url, name, sha string) []byte {
	t.Helper()
	pool, ok := strings.CutPrefix(url, debMirror+"pool/")
	require.True(t, ok, "%s is not a Debian pool URL", url)
	require.Equal(t, name, path.Base(pool))
	b, err := os.ReadFile(testenv.DebianPool(t, pool, sha))
	require.NoError(t, err)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

type corpusCase struct {
	name string
	data []byte
	// big inputs are run at levels 1, 6 and 9 only, to keep CI time small.
	big bool
}

// textLike is word soup with newlines: many matches at all distances.
func textLike(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	words := make([]string, 400)
	for i := range words {
		words[i] = fmt.Sprintf("w%x", rng.Uint32()&0xfffff)
	}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(" \n"[rng.IntN(2)])
	}
	return []byte(b.String()[:n])
}

func randomBytes(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 9))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// corpus returns the oracle corpus: real tar streams, random, repetitive,
// empty, one byte and inputs ending at the window edges (32 KiB window,
// 64 KiB buffer, 262 bytes of lookahead).
func corpus(t testing.TB) []corpusCase {
	t.Helper()
	text := textLike(1<<20, 1)
	cs := []corpusCase{
		{name: "empty", data: nil},
		{name: "one-byte", data: []byte{'x'}},
		{name: "two-bytes", data: []byte("ab")},
		{name: "random-200k", data: randomBytes(200000, 3)},
		{name: "zeros-300k", data: make([]byte, 300000)},
		{name: "abc-repeated", data: bytes.Repeat([]byte("abcabd"), 70000)},
		{name: "text-1M", data: text, big: true},
		// half text, half random: blocks of every kind.
		{name: "mixed", data: append(append(textLike(150000, 4), randomBytes(70000, 5)...), textLike(100000, 6)...)},
	}
	for _, n := range []int{32767, 32768, 32769, 65536 - 262, 65535, 65536, 65537, 98304} {
		cs = append(cs, corpusCase{name: fmt.Sprintf("text-%d", n), data: text[:n]})
	}
	ntlm := gunzip(t, fetchCached(t, libntlmURL, "libntlm_1.8.orig.tar.gz", libntlmSHA256))
	cs = append(cs, corpusCase{name: "libntlm-1.8.tar", data: ntlm, big: true})
	// The tar streams of the other orig tarballs the tests use (pool paths
	// and sha256 as in pkg/fingerprint's real cases); the two largest only
	// with VERIFY_RELEASE_DEFLATE_CORPUS=full, to keep CI time small.
	origs := []struct{ pool, sha string }{
		{"main/libn/libntlm/libntlm_1.6.orig.tar.gz", "f2376b87b06d8755aa3498bb1226083fdb1d2cf4460c3982b05a9aa0b51d6821"},
		{"main/libp/libpipeline/libpipeline_1.5.7.orig.tar.gz", "b8b45194989022a79ec1317f64a2a75b1551b2a55bea06f67704cb2a2e4690b0"},
	}
	if os.Getenv("VERIFY_RELEASE_DEFLATE_CORPUS") == "full" {
		origs = append(origs,
			struct{ pool, sha string }{"main/libi/libidn2/libidn2_2.3.3.orig.tar.gz", "f3ac987522c00d33d44b323cae424e2cffcb4c63c6aa6cd1376edacbf1c36eb0"},
			struct{ pool, sha string }{"main/c/curl/curl_8.14.1.orig.tar.gz", "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4"})
	}
	for _, o := range origs {
		name := o.pool[strings.LastIndex(o.pool, "/")+1:]
		data := gunzip(t, fetchCached(t, debMirror+"pool/"+o.pool, name, o.sha))
		cs = append(cs, corpusCase{name: strings.TrimSuffix(name, ".orig.tar.gz") + ".tar", data: data, big: true})
	}
	return cs
}

func levelsFor(c corpusCase) []int {
	if c.big {
		return []int{1, 6, 9}
	}
	return []int{1, 2, 3, 4, 5, 6, 7, 8, 9}
}
