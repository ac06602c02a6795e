package gitarchive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExportIgnore(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, ".gitattributes", "/ci export-ignore\n*.secret export-ignore\nsub/.gitattributes export-ignore\n", 0o644)
	writeFile(t, dir, "ci/a", "a\n", 0o644)
	writeFile(t, dir, "ci/b/c", "c\n", 0o644)
	writeFile(t, dir, "cix", "kept\n", 0o644)
	writeFile(t, dir, "x.secret", "s\n", 0o644)
	writeFile(t, dir, "sub/.gitattributes", "inner export-ignore\n", 0o644)
	writeFile(t, dir, "sub/inner/z", "z\n", 0o644)
	writeFile(t, dir, "sub/keep", "k\n", 0o644)
	writeFile(t, dir, "onlyinfo", "i\n", 0o644)
	commitAll(t, dir, "attrs")
	compareWithGit(t, dir, "HEAD", "", "p/")
	list := git(t, dir, "archive", "HEAD")
	require.NotContains(t, list, "x.secret")
	require.Contains(t, list, "cix")

	// $GIT_DIR/info/attributes counts too, also in a bare clone.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".git", "info", "attributes"), []byte("onlyinfo export-ignore\n"), 0o644))
	compareWithGit(t, dir, "HEAD")
	bare := filepath.Join(t.TempDir(), "b.git")
	git(t, dir, "clone", "-q", "--bare", dir, bare)
	compareWithGit(t, bare, "HEAD", "", "b/")
	require.NoError(t, os.MkdirAll(filepath.Join(bare, "info"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bare, "info", "attributes"), []byte("cix export-ignore\n"), 0o644))
	compareWithGit(t, bare, "HEAD")
	require.NotContains(t, git(t, bare, "archive", "HEAD"), "cix")
}

func TestExportSubst(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, ".gitattributes", "*.in export-subst\n", 0o644)
	writeFile(t, dir, "v.in", "commit $Format:%H$ short $Format:%h$ tree $Format:%T %t$\n"+
		"parents $Format:%P|%p$\nauthor $Format:%an <%ae> %ad|%aD|%ai|%aI|%at$\n"+
		"committer $Format:%cn <%ce> %cd|%cD|%ci|%cI|%ct$\nsubject $Format:%s$ pct $Format:100%%$\n"+
		"refs $Format:%d|%D$ nl $Format:a%nb$ empty $Format:$ unterminated $Format:%H\n", 0o644)
	writeFile(t, dir, "a.in", "describe $Format:%(describe)$ again $Format:%(describe)$\n", 0o644)
	writeFile(t, dir, "b.in", "describe $Format:%(describe:tags)$ $Format:%(describe:abbrev=4)$\n", 0o644)
	writeFile(t, dir, "plain.txt", "not $Format:%H$ substituted\n", 0o644)
	commitAll(t, dir, "first\n\nbody")
	git(t, dir, "tag", "-a", "-m", "v", "v1.0")
	writeFile(t, dir, "more", "x\n", 0o644)
	commitAll(t, dir, "second subject")
	git(t, dir, "tag", "light")
	compareWithGit(t, dir, "HEAD", "", "s/")
	compareWithGit(t, dir, "v1.0")
	// Sanity: git did expand, and only one %(describe) per archive.
	raw := git(t, dir, "archive", "HEAD")
	require.Contains(t, raw, "describe v1.0-1-g")
	require.Contains(t, raw, "again %(describe)")
	require.Contains(t, raw, "describe %(describe:tags) %(describe:abbrev=4)")

	// core.abbrev from the repository config and pinned by option.
	git(t, dir, "config", "core.abbrev", "12")
	compareWithGit(t, dir, "HEAD")
	git(t, dir, "config", "--unset", "core.abbrev")
	want := gitBytes(t, dir, "-c", "core.abbrev=9", "archive", "HEAD")
	requireSameBytes(t, want, ours(t, dir, "HEAD", WithAbbrev(9)), "abbrev 9")

	// A tree has no commit, so nothing is substituted.
	writeFile(t, dir, "x", "", 0o644)
	want = gitBytes(t, dir, "archive", "HEAD^{tree}")
	mt := parseOctal(t, want[136:147])
	requireSameBytes(t, want, ours(t, dir, "HEAD^{tree}", WithMtime(mt)), "tree")
}

func TestExportSubstUnsupported(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, ".gitattributes", "v.in export-subst\n", 0o644)
	writeFile(t, dir, "v.in", "x $Format:%H %aN$\n", 0o644)
	commitAll(t, dir, "c")
	_, err := Write(context.Background(), &bytes.Buffer{}, dir, "HEAD")
	require.ErrorIs(t, err, ErrUnsupported)
	var ue *UnsupportedError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "v.in", ue.Path)
	require.Contains(t, err.Error(), "%aN")
}

func TestUmask(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "f", "f\n", 0o644)
	writeFile(t, dir, "x", "x\n", 0o755)
	writeFile(t, dir, "d/g", "g\n", 0o644)
	commitAll(t, dir, "c")
	for _, v := range []string{"022", "0", "077", "18", "0x12"} {
		git(t, dir, "config", "tar.umask", v)
		compareWithGit(t, dir, "HEAD", "", "p/")
	}
	git(t, dir, "config", "tar.umask", "user")
	compareWithGit(t, dir, "HEAD", "p/")
}

func TestLineEndingConversion(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, ".gitattributes", "*.bat eol=crlf\n*.txt text\n*.auto text=auto\n*.bin -text\n", 0o644)
	writeFile(t, dir, "a.bat", "one\ntwo\r\nthree\n", 0o644)
	writeFile(t, dir, "b.txt", "one\ntwo\n", 0o644)
	writeFile(t, dir, "c.auto", "one\ntwo\n", 0o644)
	writeFile(t, dir, "d.auto", "one\r\ntwo\n", 0o644)
	writeFile(t, dir, "e.auto", "bin\x00\x01\ntwo\n", 0o644)
	writeFile(t, dir, "f.bin", "one\ntwo\n", 0o644)
	writeFile(t, dir, "plain", "one\ntwo\n", 0o644)
	commitAll(t, dir, "eol")
	compareWithGit(t, dir, "HEAD")
	require.Contains(t, git(t, dir, "archive", "HEAD"), "one\r\ntwo\r\nthree\r\n", "git converts eol=crlf")
	for _, cfg := range [][]string{{"core.autocrlf", "true"}, {"core.autocrlf", "input"}, {"core.eol", "crlf"}} {
		git(t, dir, "config", cfg[0], cfg[1])
		compareWithGit(t, dir, "HEAD")
		git(t, dir, "config", "--unset", cfg[0])
	}
}

func TestConversionUnsupported(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, ".gitattributes", "id.c ident\n*.lfs filter=lfs\n", 0o644)
	writeFile(t, dir, "id.c", "/* $Id$ */\n", 0o644)
	writeFile(t, dir, "x.lfs", "data\n", 0o644)
	commitAll(t, dir, "c")
	_, err := Write(context.Background(), &bytes.Buffer{}, dir, "HEAD")
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "id.c")

	writeFile(t, dir, "id.c", "no keyword\n", 0o644)
	commitAll(t, dir, "c2")
	// No driver configured for lfs: git ignores the attribute.
	compareWithGit(t, dir, "HEAD")
	git(t, dir, "config", "filter.lfs.smudge", "cat")
	_, err = Write(context.Background(), &bytes.Buffer{}, dir, "HEAD")
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "x.lfs")
}

func TestSHA256Repository(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t, "--object-format=sha256")
	writeFile(t, dir, "f", "f\n", 0o644)
	writeFile(t, dir, longName(230, 30), "long\n", 0o644)
	symlink(t, dir, "l", strings.Repeat("x", 150))
	writeFile(t, dir, ".gitattributes", "s export-subst\n", 0o644)
	writeFile(t, dir, "s", "$Format:%H %h$\n", 0o644)
	commit := commitAll(t, dir, "sha256")
	require.Len(t, commit, 64)
	git(t, dir, "tag", "-a", "-m", "t", "v2")
	compareWithGit(t, dir, "HEAD", "", "p/")
	compareWithGit(t, dir, "v2")
	require.Contains(t, git(t, dir, "archive", "HEAD"), "comment="+commit)
}

// TestAttributeSources checks the attribute files outside the tree, which
// decide whether check-attr runs at all.
func TestAttributeSources(t *testing.T) {
	setupEnv(t)
	dir := newRepo(t)
	writeFile(t, dir, "keep", "k\n", 0o644)
	writeFile(t, dir, "drop1", "1\n", 0o644)
	writeFile(t, dir, "drop2", "2\n", 0o644)
	writeFile(t, dir, "drop3", "3\n", 0o644)
	commitAll(t, dir, "c")
	compareWithGit(t, dir, "HEAD")

	xdg := os.Getenv("XDG_CONFIG_HOME")
	writeFile(t, xdg, "git/attributes", "drop1 export-ignore\n", 0o644)
	require.NotContains(t, git(t, dir, "archive", "HEAD"), "drop1")
	compareWithGit(t, dir, "HEAD")

	attrs := filepath.Join(t.TempDir(), "attrs")
	require.NoError(t, os.WriteFile(attrs, []byte("drop2 export-ignore\n"), 0o644))
	git(t, dir, "config", "core.attributesFile", attrs)
	out := git(t, dir, "archive", "HEAD")
	require.NotContains(t, out, "drop2")
	require.Contains(t, out, "drop1", "core.attributesFile replaces the XDG file")
	compareWithGit(t, dir, "HEAD")
	git(t, dir, "config", "--unset", "core.attributesFile")
	require.NoError(t, os.RemoveAll(filepath.Join(xdg, "git")))

	writeFile(t, dir, ".git/info/attributes", "drop3 export-ignore\n", 0o644)
	require.NotContains(t, git(t, dir, "archive", "HEAD"), "drop3")
	compareWithGit(t, dir, "HEAD")
}
