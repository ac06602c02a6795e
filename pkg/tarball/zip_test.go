package tarball

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// zipTree writes d/ with a text file, a binary file, a subdirectory and
// a symlink, all with mtime 2024-04-13T10:00:00Z, in dir.
func zipTree(t *testing.T, dir string) {
	t.Helper()
	sh(t, dir, `mkdir -p d/sub
printf 'hello\nworld\n' > d/a.txt
printf 'x\n' > d/sub/b.txt
head -c 3000 /dev/urandom > d/bin
ln -s a.txt d/link
find d -exec touch -h -d 2024-04-13T10:00:00Z {} +`)
}

// unzipLV returns, by member name, the fields `unzip -lv` prints: method,
// size, CRC-32.
func unzipLV(t *testing.T, dir, zipFile string) map[string][3]string {
	t.Helper()
	out := string(sh(t, dir, "unzip -lv "+zipFile))
	// " Length   Method    Size  Cmpr    Date    Time   CRC-32   Name"
	re := regexp.MustCompile(`(?m)^\s*(\d+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+\S+\s+([0-9a-f]{8})\s+(.+)$`)
	m := map[string][3]string{}
	for _, f := range re.FindAllStringSubmatch(out, -1) {
		m[f[4]] = [3]string{f[2], f[1], f[3]}
	}
	require.NotEmpty(t, m, out)
	return m
}

func findingsFor(fs []Finding, path string) map[string]Finding {
	m := map[string]Finding{}
	for _, f := range fs {
		if f.Path == path {
			m[string(f.Kind)+" "+f.Field] = f
		}
	}
	return m
}

// TestZipDiffMatchesUnzip compares two archives written by Info-ZIP's
// zip(1) with the expected values read back by unzip(1), zipinfo and
// diff(1).
func TestZipDiffMatchesUnzip(t *testing.T) {
	dir := t.TempDir()
	zipTree(t, dir)
	// Members are named one by one: zip -r would follow readdir order.
	sh(t, dir, `zip -qyX a.zip d d/a.txt d/bin d/link d/sub d/sub/b.txt
printf 'hello\nthere\n' > d/a.txt && touch -d 2024-04-13T10:00:00Z d/a.txt
chmod 600 d/sub/b.txt
printf 'new\n' > d/new.txt
zip -qy b.zip d/sub/b.txt d d/a.txt d/bin d/link d/sub d/new.txt`)
	res, err := Diff(context.Background(), filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip"))
	require.NoError(t, err)
	require.False(t, res.Identical())
	assert.Equal(t, Zip, res.A.Compression.Format)
	assert.Equal(t, 6, res.A.Members)
	assert.Equal(t, 7, res.B.Members)
	assert.Equal(t, strings.TrimSpace(string(sh(t, dir, "sha256sum a.zip | cut -c1-64"))), res.A.SHA256)

	lvA, lvB := unzipLV(t, dir, "a.zip"), unzipLV(t, dir, "b.zip")
	a := findingsFor(res.Findings, "d/a.txt")
	require.Contains(t, a, "header crc32")
	assert.Equal(t, lvA["d/a.txt"][2], a["header crc32"].Old)
	assert.Equal(t, lvB["d/a.txt"][2], a["header crc32"].New)
	c := a["content "]
	assert.Equal(t, "size 12 sha256 "+strings.TrimSpace(string(sh(t, dir, "unzip -p a.zip d/a.txt | sha256sum | cut -c1-64"))), c.Old)
	assert.Equal(t, "size 12 sha256 "+strings.TrimSpace(string(sh(t, dir, "unzip -p b.zip d/a.txt | sha256sum | cut -c1-64"))), c.New)
	// The hunks are diff -u's (its file header lines name the temp files).
	hunks := sh(t, dir, "unzip -p a.zip d/a.txt > x; unzip -p b.zip d/a.txt > y; diff -u x y | tail -n +3 || true")
	assert.Equal(t, "--- a/d/a.txt\n+++ b/d/a.txt\n"+string(hunks), c.Diff)

	// zipinfo prints the mode of b.txt.
	b := findingsFor(res.Findings, "d/sub/b.txt")
	assert.Equal(t, "-rw-------", strings.Fields(string(sh(t, dir, "zipinfo b.zip d/sub/b.txt")))[0])
	assert.Equal(t, "0644", b["header mode"].Old)
	assert.Equal(t, "0600", b["header mode"].New)
	assert.Contains(t, b, "header zip external attrs")
	assert.Equal(t, Finding{Kind: KindOrder, Path: "d/sub/b.txt", Field: "position", Old: "5", New: "0", Class: ClassOrder}, b["order position"], "b.zip starts with d/sub/b.txt")
	assert.NotContains(t, findingsFor(res.Findings, "d/"), "order position")

	// zip -X (no extra fields) against the default (UT and ux blocks).
	bin := findingsFor(res.Findings, "d/bin")
	assert.Equal(t, "(none)", bin["header zip extra"].Old)
	assert.Contains(t, bin["header zip extra"].New, "0x5455 UT extended timestamp")
	assert.NotContains(t, bin, "content ", "same bytes in both")
	assert.Equal(t, lvA["d/bin"][2], lvB["d/bin"][2])

	assert.Equal(t, Finding{Kind: KindOnlyInB, Path: "d/new.txt", Note: "file", Class: ClassContent}, findingsFor(res.Findings, "d/new.txt")["only-in-b "])
	assert.Equal(t, Finding{Kind: KindArchive, Field: "members", Old: "6", New: "7", Class: ClassFormat}, findingsFor(res.Findings, "")["archive members"])
	// Classes: a.txt, new.txt and a.txt's crc32 are content; b.txt's
	// mode and attributes are mode; the extra fields and member count are
	// format; b.txt's position is order; d/'s times (new.txt was added to
	// it) are mtime.
	assert.Equal(t, ClassContent, a["header crc32"].Class)
	assert.Equal(t, ClassMode, b["header zip external attrs"].Class)
	assert.Equal(t, ClassMode, b["header mode"].Class)
	assert.Equal(t, ClassOrder, b["order position"].Class)
	assert.Equal(t, ClassFormat, bin["header zip extra"].Class)
	assert.Equal(t, "zip archives differ: 3 content · 2 mtime · 2 mode · 1 order · 7 format", res.Summary())

	var text strings.Builder
	require.NoError(t, res.WriteText(&text))
	assert.Contains(t, text.String(), "content      content        d/a.txt: size 12 sha256 ")
	assert.Contains(t, text.String(), "    -world\n    +there\n")
}

// TestZipDiffCompressedData: the same content stored and deflated, and
// deflated at levels 1 and 9, differs only in the compression.
func TestZipDiffCompressedData(t *testing.T) {
	dir := t.TempDir()
	sh(t, dir, `mkdir d && seq 1 20000 > d/n.txt && touch -d 2024-04-13T10:00:00Z d/n.txt d
zip -qX -0 store.zip d/n.txt && zip -qX -1 fast.zip d/n.txt && zip -qX -9 best.zip d/n.txt`)
	lv := map[string]map[string][3]string{}
	for _, z := range []string{"store", "fast", "best"} {
		lv[z] = unzipLV(t, dir, z+".zip")
	}
	res, err := Diff(context.Background(), filepath.Join(dir, "store.zip"), filepath.Join(dir, "best.zip"))
	require.NoError(t, err)
	n := findingsFor(res.Findings, "d/n.txt")
	assert.Equal(t, "store (0)", n["header zip method"].Old)
	assert.Equal(t, "deflate (8)", n["header zip method"].New)
	assert.Equal(t, "Stored", lv["store"]["d/n.txt"][0])
	assert.Equal(t, "Defl:X", lv["best"]["d/n.txt"][0])
	assert.NotContains(t, n, "content ")
	assert.Equal(t, "same content; different compressor, level or settings", n["compression zip compressed data"].Note)
	for _, f := range res.Findings {
		assert.True(t, f.Class.Metadata(), "%+v", f)
	}

	res, err = Diff(context.Background(), filepath.Join(dir, "fast.zip"), filepath.Join(dir, "best.zip"))
	require.NoError(t, err)
	n = findingsFor(res.Findings, "d/n.txt")
	assert.Contains(t, n, "compression zip compressed data")
	assert.Contains(t, n, "header zip compressed size")
	assert.Contains(t, n, "header zip flags", "Info-ZIP records the level in the general purpose flags")
	assert.NotContains(t, n, "header crc32")
	assert.NotContains(t, n, "content ")
	for _, f := range res.Findings {
		assert.Equal(t, ClassCompression, f.Class, "levels 1 and 9: %+v", f)
	}
}

// TestZipDiffWriters compares Info-ZIP's zip(1) with Python's zipfile as
// a second, independent writer of the same member.
func TestZipDiffWriters(t *testing.T) {
	needTool(t, "python3")
	dir := t.TempDir()
	sh(t, dir, `mkdir d && printf 'same\n' > d/s.txt && touch -d 2024-04-13T10:00:00Z d/s.txt
zip -qX info.zip d/s.txt
python3 -c '
import zipfile
with zipfile.ZipFile("py.zip", "w", zipfile.ZIP_DEFLATED) as z:
    i = zipfile.ZipInfo("d/s.txt", (2024, 4, 13, 10, 0, 0))
    i.external_attr = 0o100644 << 16
    i.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(i, "same\n")
'`)
	res, err := Diff(context.Background(), filepath.Join(dir, "info.zip"), filepath.Join(dir, "py.zip"))
	require.NoError(t, err)
	s := findingsFor(res.Findings, "d/s.txt")
	assert.NotContains(t, s, "content ")
	assert.NotContains(t, s, "header mtime")
	assert.NotContains(t, s, "header mode")
	assert.Contains(t, s, "header zip made by")
	assert.Equal(t, strings.TrimSpace(string(sh(t, dir, "unzip -p info.zip d/s.txt | sha256sum | cut -c1-64"))),
		strings.TrimSpace(string(sh(t, dir, "unzip -p py.zip d/s.txt | sha256sum | cut -c1-64"))))
}

// TestZipDiffBadInput: truncated and corrupt archives, a zip bomb bounded
// by WithMaxSize, names that would escape an extraction directory (warned
// about, never written), a zip against a tar, and cancellation.
func TestZipDiffBadInput(t *testing.T) {
	dir := t.TempDir()
	zipTree(t, dir)
	sh(t, dir, `zip -qryX a.zip d
size=$(stat -c %s a.zip); head -c $((size - 30)) a.zip > truncated.zip
head -c 50000000 /dev/zero > zeros && zip -qX bomb.zip zeros && rm zeros
printf 'stored content\n' > s.txt && zip -qX -0 stored.zip s.txt
tar cf a.tar d`)
	ctx := context.Background()
	p := func(n string) string { return filepath.Join(dir, n) }

	_, err := Diff(ctx, p("a.zip"), p("truncated.zip"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrTruncated), "%v", err)
	assert.Contains(t, err.Error(), p("truncated.zip")+": ")

	// Flip one byte of the stored content: the CRC-32 check fails.
	data, err := os.ReadFile(p("stored.zip"))
	require.NoError(t, err)
	i := strings.Index(string(data), "stored content")
	require.Positive(t, i)
	data[i] ^= 0x20
	require.NoError(t, os.WriteFile(p("corrupt.zip"), data, 0o644))
	_, err = Diff(ctx, p("stored.zip"), p("corrupt.zip"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCorrupt), "%v", err)
	assert.Contains(t, err.Error(), p("corrupt.zip")+": ")
	assert.Contains(t, err.Error(), "s.txt")

	// 50 MB of zeros in about 50 KB: refused before any member is read.
	st, err := os.Stat(p("bomb.zip"))
	require.NoError(t, err)
	require.Less(t, st.Size(), int64(100_000))
	_, err = Diff(ctx, p("bomb.zip"), p("bomb.zip"), WithMaxSize(1<<20))
	require.Error(t, err)
	var le *LimitError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.True(t, errors.Is(err, ErrTooLarge))
	assert.Equal(t, int64(1<<20), le.Limit)
	assert.Contains(t, err.Error(), "possible decompression bomb")
	res, err := Diff(ctx, p("bomb.zip"), p("bomb.zip"))
	require.NoError(t, err, "the default limit admits it")
	assert.True(t, res.Identical())

	_, err = Diff(ctx, p("a.zip"), p("a.tar"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnsupported), "%v", err)
	assert.Contains(t, err.Error(), p("a.zip")+" is a zip archive and "+p("a.tar")+" is not")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Diff(cctx, p("a.zip"), p("a.zip"))
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
}

func TestZipDiffUnsafeNames(t *testing.T) {
	needTool(t, "python3")
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	sh(t, work, `python3 -c '
import zipfile
for name, members in (("evil.zip", ["../escaped.txt", "/tmp/verify-release-zip-abs.txt", "ok.txt"]), ("safe.zip", ["ok.txt"])):
    with zipfile.ZipFile(name, "w") as z:
        for m in members:
            z.writestr(zipfile.ZipInfo(m, (2024, 4, 13, 10, 0, 0)), "x\n")
'
mkdir d && ln -s ../../etc/passwd d/out && zip -qyX link.zip d/out`)
	res, err := Diff(context.Background(), filepath.Join(work, "evil.zip"), filepath.Join(work, "safe.zip"))
	require.NoError(t, err)
	// unzip -l lists the names as stored.
	assert.Contains(t, string(sh(t, work, "unzip -l evil.zip")), "../escaped.txt")
	var unsafe []string
	for _, w := range res.Warnings {
		if w.Field == "unsafe-path" {
			assert.Equal(t, "a", w.Side)
			unsafe = append(unsafe, w.Path)
		}
	}
	assert.Equal(t, []string{"../escaped.txt", "/tmp/verify-release-zip-abs.txt"}, unsafe)
	assert.Equal(t, KindOnlyInA, findingsFor(res.Findings, "../escaped.txt")["only-in-a "].Kind)
	assert.NoFileExists(t, filepath.Join(dir, "escaped.txt"), "nothing is extracted")
	assert.NoFileExists(t, "/tmp/verify-release-zip-abs.txt")

	res, err = Diff(context.Background(), filepath.Join(work, "link.zip"), filepath.Join(work, "link.zip"))
	require.NoError(t, err)
	require.Len(t, res.Warnings, 1)
	assert.Equal(t, Finding{Kind: KindWarning, Path: "d/out", Field: "link-outside", Side: "both",
		Old: "symlink to ../../etc/passwd points outside the archive"}, res.Warnings[0])
}

// FuzzZipDiff: any input that starts with a zip signature is compared
// with itself, or fails with an *InputError, without panicking, within a
// 1 MiB size limit. Seeds: an archive written by zip(1) (zip -qyX of a
// text file, a binary file and a symlink) and cuts of it.
func FuzzZipDiff(f *testing.F) {
	dir := f.TempDir()
	sh(f, dir, `printf 'hello\n' > a.txt && head -c 600 /dev/zero > z && ln -s a.txt l && zip -qyX s.zip a.txt z l`)
	data, err := os.ReadFile(filepath.Join(dir, "s.zip"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, n := range []int{4, 30, len(data) / 2, len(data) - 22, len(data) - 1} {
		f.Add(data[:n])
	}
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, zipLocalMagic) && !bytes.HasPrefix(data, zipEmptyMagic) {
			data = append(append([]byte(nil), zipLocalMagic...), data...)
		}
		p := filepath.Join(t.TempDir(), "f.zip")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Diff(context.Background(), p, p, WithMaxSize(1<<20))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Name != p {
				t.Fatalf("error is not an *InputError naming the input: %v", err)
			}
			return
		}
		if !res.Identical() || len(res.Findings) != 0 {
			t.Fatalf("a zip differs from itself: %+v", res.Findings)
		}
	})
}
