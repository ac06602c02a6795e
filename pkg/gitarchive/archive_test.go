package gitarchive

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBasicTree(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "README", "hello\n", 0o644)
	writeFile(t, dir, "empty", "", 0o644)
	writeFile(t, dir, "bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	writeFile(t, dir, "a/b/c/d/e/f/g/deep.txt", strings.Repeat("x", 513), 0o644)
	symlink(t, dir, "link", "README")
	symlink(t, dir, "a/dirlink", "../bin")
	writeFile(t, dir, "big.bin", strings.Repeat("0123456789", 3000), 0o644)
	writeFile(t, dir, "ünïcødé/名前.txt", "utf8\n", 0o644)
	commitAll(t, dir, "first")
	compareWithGit(t, dir, "HEAD", "", "proj-1.0/", "p/q/", "x", "a//")
}

// longName returns a path of exactly n bytes made of components of at most
// seg bytes.
func longName(n, seg int) string {
	var b strings.Builder
	c := 'a'
	for b.Len() < n {
		left := n - b.Len()
		if b.Len() > 0 {
			b.WriteByte('/')
			left--
		}
		k := min(seg, left)
		if k == 0 {
			k = 1
		}
		b.WriteString(strings.Repeat(string(c), k))
		c++
		if c > 'z' {
			c = 'a'
		}
	}
	return b.String()[:n]
}

func TestLongPaths(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	for _, n := range []int{98, 99, 100, 101, 154, 155, 156, 157, 200, 254, 255, 256, 300} {
		writeFile(t, dir, longName(n, 40), "x\n", 0o644)
		writeFile(t, dir, "single/"+strings.Repeat("s", min(n, 250)), "y\n", 0o644)
	}
	// A name too long for name with no '/' to split at in the prefix range.
	writeFile(t, dir, strings.Repeat("p", 150)+"/"+strings.Repeat("q", 101), "z\n", 0o644)
	writeFile(t, dir, strings.Repeat("r", 160)+"/x", "z\n", 0o644)
	for _, n := range []int{99, 100, 101, 200} {
		symlink(t, dir, "links/l"+strings.Repeat("1", n%7), strings.Repeat("t", n))
	}
	symlink(t, dir, longName(180, 50), strings.Repeat("u/", 80))
	commitAll(t, dir, "long")
	compareWithGit(t, dir, "HEAD", "", "pre/", strings.Repeat("P", 99)+"/", strings.Repeat("Q", 120)+"/")
	// Make sure the cases above really use git's pax records.
	raw := git(t, dir, "archive", "HEAD")
	require.Contains(t, raw, " path="+strings.Repeat("p", 150))
	require.Contains(t, raw, " linkpath="+strings.Repeat("t", 200))
	require.Contains(t, raw, ".paxheader")
}

func TestDeepDirectories(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, strings.Repeat("d/", 150)+"leaf", "deep\n", 0o644)
	writeFile(t, dir, strings.Repeat("dir/", 40)+"leaf", "deep\n", 0o755)
	commitAll(t, dir, "deep")
	compareWithGit(t, dir, "HEAD", "", "x/")
}

func TestSubmoduleGitlink(t *testing.T) {
	setupEnv(t)
	sub := newRepo(t)
	writeFile(t, sub, "s", "sub\n", 0o644)
	commitAll(t, sub, "sub")
	dir := newRepo(t)
	writeFile(t, dir, "top", "top\n", 0o644)
	git(t, dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "mod/sub")
	commitAll(t, dir, "with submodule")
	compareWithGit(t, dir, "HEAD", "", "v1/")
}

func TestTagAndTree(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "f", "one\n", 0o644)
	commitAll(t, dir, "one")
	git(t, dir, "tag", "-a", "-m", "release 1", "v1.0")
	git(t, dir, "tag", "light")
	writeFile(t, dir, "f", "two\n", 0o644)
	commitAll(t, dir, "two")
	compareWithGit(t, dir, "v1.0", "", "p-1.0/")
	compareWithGit(t, dir, "light")
	compareWithGit(t, dir, "refs/tags/v1.0")
	compareWithGit(t, dir, "HEAD~1")
}

func TestTreeRef(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "f", "one\n", 0o644)
	writeFile(t, dir, "sub/g", "two\n", 0o644)
	commitAll(t, dir, "one")
	for _, ref := range []string{"HEAD^{tree}", "HEAD:sub"} {
		want := gitBytes(t, dir, "archive", "--prefix=t/", ref)
		// git 2.39 uses the current time for trees; take it from git's
		// first header (no pax global header for trees).
		require.Equal(t, byte('5'), want[156], "first member is the prefix directory")
		mt, err := strconv.ParseUint(string(want[136:147]), 8, 64)
		require.NoError(t, err)
		got := ours(t, dir, ref, WithPrefix("t/"), WithMtime(time.Unix(int64(mt), 0)))
		requireSameBytes(t, want, got, ref)
	}
	_, err := Write(context.Background(), &bytes.Buffer{}, dir, "HEAD^{tree}")
	require.ErrorIs(t, err, ErrNoMtime)
	fixed := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	var buf bytes.Buffer
	info, err := Write(context.Background(), &buf, dir, "HEAD^{tree}", WithTreeTimeNow(func() time.Time { return fixed }))
	require.NoError(t, err)
	require.Equal(t, fixed, info.Mtime)
	require.Empty(t, info.Commit)
	require.Equal(t, strings.TrimSpace(git(t, dir, "rev-parse", "HEAD^{tree}")), info.Tree)
}

func TestMtimeOverride(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "f", "one\n", 0o644)
	commitAll(t, dir, "one")
	// Expected: git archive of a commit whose committer date is the override.
	want := gitBytes(t, dir, "archive", "HEAD")
	got := ours(t, dir, "HEAD", WithMtime(time.Unix(1651828089, 0)))
	requireSameBytes(t, want, got, "committer time 2022-05-06T07:08:09-02:00")
	got = ours(t, dir, "HEAD", WithMtime(time.Unix(1000, 0)))
	require.NotEqual(t, want, got)
	require.Equal(t, "00000001750", string(got[1024+136:1024+147]))
}
