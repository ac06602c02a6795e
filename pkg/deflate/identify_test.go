package deflate

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func identifyBytes(t testing.TB, b []byte) *Identification {
	t.Helper()
	id, err := Identify(context.Background(), bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	return id
}

// TestIdentifyRealCompressors makes files with the real gzip 1.12, libz
// 1.2.13 (gzip wrapper, as git) and Go's compress/gzip and checks that
// Identify names each one first, with no header differences.
func TestIdentifyRealCompressors(t *testing.T) {
	gz := gzipOracles(t)[1]
	zl := zlibOracles(t)[1]
	data := append(textLike(200000, 21), randomBytes(5000, 22)...)
	type tc struct {
		file []byte
		want Candidate
		cmd  string
	}
	var cases []tc
	for _, level := range []int{1, 6, 9} {
		for _, rsync := range []bool{false, true} {
			args := []string{"-n", fmt.Sprintf("-%d", level)}
			cmd := fmt.Sprintf("gzip -%dn", level)
			if rsync {
				args = append(args, "--rsyncable")
				cmd += " --rsyncable"
			}
			cases = append(cases, tc{gz.compress(t, data, args...), Candidate{GNU, level, rsync, false}, cmd})
		}
		gitCmd := "git archive --format=tar.gz"
		if level != 6 {
			gitCmd += fmt.Sprintf(" -%d", level)
		}
		cases = append(cases, tc{zl.compress(t, data, level, 31, 10240), Candidate{Zlib, level, false, false}, gitCmd})
		var b bytes.Buffer
		zw, err := gzip.NewWriterLevel(&b, level)
		require.NoError(t, err)
		_, err = zw.Write(data)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		cases = append(cases, tc{b.Bytes(), Candidate{Go, level, false, false}, ""})
	}
	for _, c := range cases {
		t.Run(c.want.String(), func(t *testing.T) {
			id := identifyBytes(t, c.file)
			require.NotEmpty(t, id.Matches, "rejections: %+v", id.Rejected)
			require.Equal(t, c.want, id.Matches[0].Candidate)
			require.Empty(t, id.Matches[0].HeaderDifferences)
			if c.cmd != "" {
				require.Equal(t, c.cmd, id.Matches[0].Command)
			}
			// Neighbouring levels can make the same bytes (8 and 9 do on
			// this input); the header's XFL then tells them apart.
			require.Equal(t, len(Candidates()), len(id.Matches)+len(id.Rejected))
			require.Equal(t, int64(len(data)), id.UncompressedSize)
			require.Equal(t, int64(0), id.TrailingBytes)
		})
	}
}

// TestIdentifyLibntlm names the compressor of the published libntlm 1.8
// tarball: `gzip -cn` (checked by hand: zcat | gzip -cn | sha256sum gives
// the file's sha256).
func TestIdentifyLibntlm(t *testing.T) {
	b := fetchCached(t, libntlmURL, "libntlm_1.8.orig.tar.gz", libntlmSHA256)
	id := identifyBytes(t, b)
	require.NotEmpty(t, id.Matches)
	require.Equal(t, Candidate{GNU, 6, false, false}, id.Matches[0].Candidate)
	require.Equal(t, "gzip -6n", id.Matches[0].Command)
	require.Equal(t, "dynamic", id.FirstBlock.Type)
	for _, r := range id.Rejected {
		require.NotEmpty(t, r.Reason)
		require.Greater(t, r.Offset, int64(9))
	}
}

// TestIdentifyNamedFile: gzip without -n keeps the name and mtime; the
// deflate data is the same, and the command says so.
func TestIdentifyNamedFile(t *testing.T) {
	o := gzipOracles(t)[1]
	p := t.TempDir() + "/notes.txt"
	data := textLike(20000, 23)
	writeWithMTime(t, p, data, 1600000000)
	id := identifyBytes(t, o.compressFile(t, p, "-9"))
	require.Equal(t, "notes.txt", id.Header.Name)
	require.Equal(t, uint32(1600000000), id.Header.MTime)
	require.Equal(t, Candidate{GNU, 9, false, false}, id.Matches[0].Candidate)
	require.Equal(t, "gzip -9 notes.txt", id.Matches[0].Command)
}

func TestIdentifyUnknown(t *testing.T) {
	// Two stored blocks made by hand: no candidate writes them for text
	// (git archive -0's zlib writes one).
	data := textLike(3000, 24)
	var b bytes.Buffer
	b.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	for i, half := range [][]byte{data[:1000], data[1000:]} {
		n := len(half)
		b.Write([]byte{byte(i), byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)})
		b.Write(half)
	}
	var crc crc32Sum
	crc.update(data)
	require.NoError(t, writeTrailer(&b, crc.v, int64(len(data))))
	id := identifyBytes(t, b.Bytes())
	require.Empty(t, id.Matches)
	require.Len(t, id.Rejected, len(Candidates()))
	require.Equal(t, BlockHeader{Type: "stored", StoredLen: 1000}, id.FirstBlock)
	for _, r := range id.Rejected {
		require.Contains(t, r.Reason, "first block differs", r.Candidate.String())
	}
}

func TestIdentifyBadInput(t *testing.T) {
	_, err := Identify(context.Background(), bytes.NewReader([]byte("hello")), 5)
	require.ErrorIs(t, err, ErrNotGzip)
	good := gnu(t, textLike(10000, 25))
	for _, cut := range []int{5, 30, len(good) - 4} {
		_, err := Identify(context.Background(), bytes.NewReader(good[:cut]), int64(cut))
		require.ErrorIs(t, err, ErrCorrupt, "cut at %d", cut)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-6] ^= 1 // CRC
	_, err = Identify(context.Background(), bytes.NewReader(bad), int64(len(bad)))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestIdentifyMaxUncompressed(t *testing.T) {
	data := textLike(300000, 26)
	good := gnu(t, data)
	_, err := Identify(context.Background(), bytes.NewReader(good), int64(len(good)), WithMaxUncompressed(100000))
	require.ErrorIs(t, err, ErrTooLarge)
	id, err := Identify(context.Background(), bytes.NewReader(good), int64(len(good)), WithMaxUncompressed(300000))
	require.NoError(t, err)
	require.Equal(t, Candidate{GNU, 6, false, false}, id.Best().Candidate)
}

// TestIdentifyPrefix: judged on a prefix, the right compressor still comes
// first, and a candidate whose early blocks differ is still ruled out.
func TestIdentifyPrefix(t *testing.T) {
	data := append(textLike(600000, 27), randomBytes(100000, 28)...)
	file := gnu(t, data, WithLevel(9), WithRsyncable(true))
	id, err := Identify(context.Background(), bytes.NewReader(file), int64(len(file)), WithPrefix(200000))
	require.NoError(t, err)
	require.True(t, id.Partial)
	require.Equal(t, int64(200000), id.CheckedUncompressed)
	require.Equal(t, int64(len(data)), id.UncompressedSize)
	require.Equal(t, Candidate{GNU, 9, true, false}, id.Best().Candidate)
	rejected := map[Candidate]bool{}
	for _, r := range id.Rejected {
		rejected[r.Candidate] = true
	}
	require.True(t, rejected[Candidate{GNU, 9, false, false}])
	require.True(t, rejected[Candidate{Zlib, 9, false, false}])
	full := identifyBytes(t, file)
	require.False(t, full.Partial)
	require.Equal(t, id.Best().Candidate, full.Best().Candidate)
}

func TestIdentifyWithCandidates(t *testing.T) {
	file := gnu(t, textLike(400000, 29), WithLevel(9))
	only := []Candidate{{Compressor: Zlib, Level: 9}, {Compressor: GNU, Level: 9}}
	id, err := Identify(context.Background(), bytes.NewReader(file), int64(len(file)), WithCandidates(only...))
	require.NoError(t, err)
	require.Len(t, id.Matches, 1)
	require.Equal(t, only[1], id.Matches[0].Candidate)
	require.Len(t, id.Rejected, 1)
	require.Equal(t, only[0], id.Rejected[0].Candidate)
}

// TestIdentifyRealTarballs names the compressor of every real .tar.gz the
// tests use (pool paths and sha256 as in pkg/fingerprint's real cases).
// The answers were checked with the real gzip 1.12 by hand:
//
//	zcat F | gzip -9n [--rsyncable] | sha256sum   # equals sha256sum F
func TestIdentifyRealTarballs(t *testing.T) {
	for _, c := range []struct {
		pool, sha, command string
		want               Candidate
	}{
		{"main/c/curl/curl_8.14.1.orig.tar.gz", "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4", "gzip -9n", Candidate{GNU, 9, false, false}},
		{"main/libi/libidn2/libidn2_2.3.3.orig.tar.gz", "f3ac987522c00d33d44b323cae424e2cffcb4c63c6aa6cd1376edacbf1c36eb0", "gzip -9n --rsyncable", Candidate{GNU, 9, true, false}},
		{"main/libn/libntlm/libntlm_1.6.orig.tar.gz", "f2376b87b06d8755aa3498bb1226083fdb1d2cf4460c3982b05a9aa0b51d6821", "gzip -9n --rsyncable", Candidate{GNU, 9, true, false}},
		{"main/libp/libpipeline/libpipeline_1.5.7.orig.tar.gz", "b8b45194989022a79ec1317f64a2a75b1551b2a55bea06f67704cb2a2e4690b0", "gzip -9n", Candidate{GNU, 9, false, false}},
		{"main/libn/libntlm/libntlm_1.8.orig.tar.gz", libntlmSHA256, "gzip -6n", Candidate{GNU, 6, false, false}},
	} {
		name := c.pool[strings.LastIndex(c.pool, "/")+1:]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := fetchCached(t, debMirror+"pool/"+c.pool, name, c.sha)
			id := identifyBytes(t, b)
			require.NotNil(t, id.Best(), "rejections: %+v", id.Rejected)
			require.Equal(t, c.want, id.Best().Candidate)
			require.Equal(t, c.command, id.Best().Command)
			require.Empty(t, id.Best().HeaderDifferences)
		})
	}
}

// TestIdentifyGitLevel0 names git archive -0 (the real git of this
// machine, with its zlib 1.2.13) and zlib 1.2.11's level 0 as git feeds it
// (the real libz 1.2.11 through zdeflate.c).
func TestIdentifyGitLevel0(t *testing.T) {
	_, err := exec.LookPath("git")
	require.NoError(t, err, "this test needs the git binary")
	dir := t.TempDir()
	git := func(args ...string) []byte {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		out, err := cmd.Output()
		require.NoError(t, err, "git %v", args)
		return out
	}
	git("init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), textLike(300000, 81), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.bin"), randomBytes(100000, 82), 0o644))
	git("add", ".")
	git("commit", "-q", "-m", "files")
	file := git("archive", "--format=tar.gz", "-0", "HEAD")
	id := identifyBytes(t, file)
	require.NotNil(t, id.Best(), "rejections: %+v", id.Rejected)
	require.Equal(t, Candidate{Zlib, 0, false, false}, id.Best().Candidate)
	require.Equal(t, "git archive --format=tar.gz -0", id.Best().Command)
	require.Empty(t, id.Best().HeaderDifferences)

	tar := git("archive", "--format=tar", "HEAD")
	old := zlibOracles(t)[0]
	require.Equal(t, "1.2.11", old.version)
	id = identifyBytes(t, old.compressLikeGit(t, tar, 0))
	require.NotNil(t, id.Best(), "rejections: %+v", id.Rejected)
	require.Equal(t, Candidate{Zlib, 0, false, true}, id.Best().Candidate)
	require.Len(t, id.Matches, 1, "1.2.12+ writes other blocks")
}
