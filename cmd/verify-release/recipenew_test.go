package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

func TestRecipeNewCurl(t *testing.T) {
	f := testenv.DebianPool(t, curlPool, curlSHA256)
	// recipes/curl/ does not exist yet: recipe new makes it.
	out := filepath.Join(t.TempDir(), "recipes", "curl", "8.14.1.toml")
	code, stdout, errOut := run(t, nil, "recipe", "new", "--git", "https://github.com/curl/curl.git", "--tag", "curl-8_14_1",
		"--debian", "curl", "-o", out, f)
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, stdout)
	assert.Contains(t, errOut, "not established:\n  - the commit of tag curl-8_14_1")

	// The recipe passes 'recipe check'.
	code, stdout, errOut = run(t, nil, "recipe", "check", out)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, stdout, "ok")
	r, err := recipe.Load(out)
	require.NoError(t, err)
	assert.Equal(t, "curl", r.Name)
	assert.Equal(t, "8.14.1", r.Version)
	assert.Equal(t, recipe.Unresolved, r.Source.Commit, "no clone: the commit is not invented")
	// The Debian-archive form with the exact versions of
	// tar -xOzf F curl-8.14.1/docs/RELEASE-TOOLS.md | grep '^- '
	assert.Equal(t, "debian", r.Env.Distro)
	assert.Equal(t, "bookworm", r.Env.Suite)
	require.Len(t, r.Env.Packages, 15)
	assert.Equal(t, []string{"autoconf=2.71-3", "automake=1:1.16.5-1.3", "libtool=2.4.7-7~deb12u1", "make=4.3-4.1"}, r.Env.Packages[:4])
	// perl and git at deb12u2 are superseded point releases: left to pin
	// (bookworm's current ones), the tarball's named in a comment.
	assert.Equal(t, []string{"perl", "git"}, r.Env.Packages[4:6])
	// grep -n 'checking whether the C compiler works' configure (4982);
	// sed -n 30,31p Dockerfile (apt-get install ... zip zlib1g-dev gawk);
	// grep -nE '(gzip|bzip2|xz|zip|tar) -' scripts/maketgz (186-225).
	assert.Equal(t, []string{"gcc", "libc6-dev", "gawk", "zip", "zlib1g-dev", "gzip", "tar", "bzip2", "xz-utils"}, r.Env.Packages[6:])
	assert.Equal(t, "2.4.7 Debian-2.4.7-7~deb12u1", r.Env.Tools["ltmain"])
	dist := r.Artifacts["dist"]
	require.NotNil(t, dist)
	assert.Equal(t, curlSHA256, dist.SHA256, "sha256sum of the file given")
	assert.Equal(t, "curl-8.14.1.tar.gz", dist.File)
	// No clone: the dist is re-created from itself.
	assert.Equal(t, recipe.FromDist, dist.From)
	// sed -n 18,27p docs/RELEASE-TOOLS.md, ./configure's options from
	// sed -n 14p Dockerfile.
	assert.Equal(t, []string{"autoreconf -fi", "./configure --without-ssl --without-libpsl", "make", "./scripts/maketgz 8.14.1"}, dist.Commands)
	require.NotNil(t, dist.SourceDateEpoch)
	assert.Equal(t, int64(1749015729), *dist.SourceDateEpoch, "grep SOURCE_DATE_EPOCH docs/RELEASE-TOOLS.md")
	// Found in trixie's Sources index with the dist's sha256.
	require.NotNil(t, dist.Debian)
	assert.Equal(t, "trixie", dist.Debian.Suite)
	assert.Equal(t, "curl", dist.Debian.Source)
	assert.True(t, strings.HasPrefix(dist.Debian.Version, "8.14.1-"), dist.Debian.Version)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(data), "(http://deb.debian.org/debian/pool/main/c/curl/curl_8.14.1.orig.tar.gz), checked to have this sha256")
	assert.Contains(t, string(data), "# NOT ESTABLISHED: perl=5.36.0-7+deb12u2 as the tarball names it: ")
	assert.NotContains(t, string(data), "# NOT ESTABLISHED: the release commands")

	// An existing file is kept unless --force.
	code, _, errOut = run(t, nil, "recipe", "new", "--git", "https://github.com/curl/curl.git", "--tag", "curl-8_14_1", "--offline", "-o", out, f)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, out+" exists")
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, again)
}

// With a clone, the commit, the mtime policy and the -src tarball's prefix
// and compressor are established by running git and gitarchive.Identify.
func TestRecipeNewWithRepo(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "demo")
	require.NoError(t, os.MkdirAll(repo, 0o755))
	commit := testenv.DemoProject(t, repo)
	src := filepath.Join(dir, "demo-1.0-src.tar.gz")
	dist := filepath.Join(dir, "demo-1.0.tar.gz")
	cmd := exec.Command("sh", "-c", "git archive --format=tar --prefix=demo-1.0/ v1.0 | gzip -cn -9 > "+src+" && cp "+src+" "+dist)
	cmd.Dir = repo
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, string(outb))
	srcSum := sha256File(t, src)

	out := filepath.Join(dir, "recipes", "demo", "1.0.toml")
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	code, _, errOut := run(t, nil, "recipe", "new", "--offline", "--git", "https://example.org/demo.git", "--tag", "v1.0",
		"--repo", repo, "--src", src, "-o", out, dist)
	require.Equal(t, exitOK, code, errOut)
	r, err := recipe.Load(out)
	require.NoError(t, err)
	assert.Equal(t, commit, r.Source.Commit)
	s := r.Artifacts["src"]
	require.NotNil(t, s)
	assert.Equal(t, srcSum, s.SHA256)
	assert.Equal(t, "demo-1.0/", s.Prefix)
	assert.Equal(t, "gzip-n", s.Compress)
	assert.Equal(t, 9, s.Level)
	d := r.Artifacts["dist"]
	require.NotNil(t, d)
	assert.Equal(t, recipe.MtimeCommit, d.Mtime)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(data), "# every member has the commit time of "+commit)
	// No generator versions: the environment is not guessed.
	assert.Equal(t, recipe.Unresolved, r.Env.Digest)
	assert.Contains(t, errOut, "no distribution image is known")
}

func TestRecipeNewBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.tar.gz")
	require.NoError(t, os.WriteFile(bad, []byte("\x1f\x8b\x08\x00garbage"), 0o644))
	out := filepath.Join(dir, "out.toml")
	code, _, errOut := run(t, nil, "recipe", "new", "--offline", "--git", "https://example.org/x.git", "--tag", "v1", "-o", out, bad)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "verify-release: error: ")
	assert.NoFileExists(t, out, "no partial output")

	code, _, errOut = run(t, nil, "recipe", "new", "-o", out, bad)
	assert.Equal(t, exitError, code)
	assert.True(t, strings.Contains(errOut, "--git URL and --tag TAG are required"), errOut)
	assert.NoFileExists(t, out)
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))[0]
}
