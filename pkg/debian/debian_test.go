package debian

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests read the real Debian mirror. They fail (never skip) when it
// is unreachable.

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// gpgvSigner is the primary-key fingerprint gpgv(1) reports for a
// clearsigned file: the independent check of Release's signature code.
func gpgvSigners(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("gpgv", "--status-fd", "1", "--keyring", Debian.Keyrings[0], file).Output()
	require.NoError(t, err, "gpgv %s", file)
	var fprs []string
	for _, m := range regexp.MustCompile(`(?m)^\[GNUPG:\] VALIDSIG \S+ .* ([0-9A-F]{40})$`).FindAllStringSubmatch(string(out), -1) {
		fprs = append(fprs, m[1])
	}
	require.NotEmpty(t, fprs, "gpgv output: %s", out)
	return fprs
}

func fetchRaw(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err, "the Debian mirror is needed: %s", url)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func TestReleaseSignedByArchiveKey(t *testing.T) {
	c := NewClient(Debian)
	for _, suite := range []string{"bookworm", "trixie", "bullseye"} {
		t.Run(suite, func(t *testing.T) {
			rel, err := c.Release(ctxT(t), suite)
			require.NoError(t, err)
			raw := filepath.Join(t.TempDir(), "InRelease")
			require.NoError(t, os.WriteFile(raw, fetchRaw(t, Debian.Mirror+"/dists/"+suite+"/InRelease"), 0o644))
			assert.Contains(t, gpgvSigners(t, raw), rel.SignedBy)
			assert.Equal(t, suite, rel.Codename)
			assert.False(t, rel.Date.IsZero())
			// The index the environments use is listed with its digest.
			assert.Contains(t, rel.Files, "main/binary-amd64/Packages.xz")
		})
	}
}

// tamperingMirror forwards to the real mirror and flips one byte of the
// files whose path ends in one of flip: a mirror that serves altered
// bytes, which the real mirror cannot be made to do.
func tamperingMirror(t *testing.T, flip ...string) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	cache := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, ok := cache[r.URL.Path]
		mu.Unlock()
		if !ok {
			resp, err := http.Get(Debian.Mirror + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				http.Error(w, resp.Status, resp.StatusCode)
				return
			}
			b, _ = io.ReadAll(resp.Body)
			for _, f := range flip {
				if strings.HasSuffix(r.URL.Path, f) {
					b = append([]byte(nil), b...)
					i := len(b) / 3
					if f == "InRelease" {
						i = strings.Index(string(b), "Codename: ") + len("Codename: ")
					}
					b[i] ^= 0x01
				}
			}
			mu.Lock()
			cache[r.URL.Path] = b
			mu.Unlock()
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestReleaseFlippedByteIsRejected(t *testing.T) {
	srv := tamperingMirror(t, "InRelease")
	c := NewClient(Debian, WithMirror(srv.URL))
	_, err := c.Release(ctxT(t), "bookworm")
	require.ErrorIs(t, err, ErrSignature)
	assert.Contains(t, err.Error(), srv.URL+"/dists/bookworm/InRelease")
}

func TestReleaseWrongKeyringIsRejected(t *testing.T) {
	// bullseye's InRelease is not signed by the bookworm release key alone.
	c := NewClient(Debian, WithKeyring("/usr/share/keyrings/debian-archive-bookworm-stable.gpg"))
	_, err := c.Release(ctxT(t), "bullseye")
	require.ErrorIs(t, err, ErrSignature)
}

func TestPackagesMatchIndex(t *testing.T) {
	dir := t.TempDir()
	c := NewClient(Debian, WithCacheDir(dir))
	ctx := ctxT(t)
	rel, err := c.Release(ctx, "bookworm")
	require.NoError(t, err)
	pkgs, err := c.Packages(ctx, rel, "main", "amd64")
	require.NoError(t, err)

	// Independently: xz -dc Packages.xz | grep -c '^Package:' and the
	// autoconf stanza as grep reads it.
	raw := filepath.Join(t.TempDir(), "Packages.xz")
	require.NoError(t, os.WriteFile(raw, fetchRaw(t, Debian.Mirror+"/dists/bookworm/main/binary-amd64/Packages.xz"), 0o644))
	out, err := exec.Command("sh", "-c", "xz -dc "+raw+" | grep -c '^Package:'").Output()
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(out)), itoa(len(pkgs)))
	stanza, err := exec.Command("sh", "-c", "xz -dc "+raw+" | awk -v RS= '/^Package: autoconf\\n/'").Output()
	require.NoError(t, err)
	var got *Package
	for i := range pkgs {
		if pkgs[i].Name == "autoconf" {
			got = &pkgs[i]
		}
	}
	require.NotNil(t, got)
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(stanza)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			fields[k] = v
		}
	}
	assert.Equal(t, fields["Version"], got.Version)
	assert.Equal(t, fields["Filename"], got.Filename)
	assert.Equal(t, fields["SHA256"], got.SHA256)
	assert.Equal(t, fields["Size"], itoa(int(got.Size)))
	assert.Equal(t, "bookworm", got.Suite)

	// The index is cached under its digest: a second read needs no mirror.
	off := NewClient(Debian, WithCacheDir(dir), WithMirror("http://127.0.0.1:1"))
	rel.Root = "http://127.0.0.1:1"
	again, err := off.Packages(ctx, rel, "main", "amd64")
	require.NoError(t, err)
	assert.Len(t, again, len(pkgs))
}

func TestTamperedIndexIsRejectedAndNotCached(t *testing.T) {
	srv := tamperingMirror(t, "main/binary-amd64/Packages.xz")
	dir := t.TempDir()
	c := NewClient(Debian, WithMirror(srv.URL), WithCacheDir(dir))
	ctx := ctxT(t)
	rel, err := c.Release(ctx, "bookworm")
	require.NoError(t, err)
	_, err = c.Packages(ctx, rel, "main", "amd64")
	require.ErrorIs(t, err, ErrChecksum)
	assert.Contains(t, err.Error(), "main/binary-amd64/Packages.xz")
	assertNoCacheFiles(t, dir)
}

func TestFetchChecksAndRefetches(t *testing.T) {
	dir := t.TempDir()
	c := NewClient(Debian, WithCacheDir(dir))
	ctx := ctxT(t)
	rel, err := c.Release(ctx, "bookworm")
	require.NoError(t, err)
	pkgs, err := c.Packages(ctx, rel, "main", "amd64")
	require.NoError(t, err)
	var hello Package
	for _, p := range pkgs {
		if p.Name == "hello" {
			hello = p
		}
	}
	require.NotEmpty(t, hello.Filename)
	sum := FileSum{Size: hello.Size, SHA256: hello.SHA256}
	p, err := c.Fetch(ctx, hello.Suite, hello.Filename, sum)
	require.NoError(t, err)
	// sha256sum(1) agrees with the signed index.
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err)
	assert.Equal(t, hello.SHA256, strings.Fields(string(out))[0])

	// A tampered cache entry is detected and fetched again.
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[100] ^= 0xff
	require.NoError(t, os.WriteFile(p, b, 0o644))
	_, ok := c.CachedPath(sum)
	assert.False(t, ok)
	p2, err := c.Fetch(ctx, hello.Suite, hello.Filename, sum)
	require.NoError(t, err)
	_, ok = c.CachedPath(sum)
	assert.True(t, ok, p2)

	// A wrong digest is a checksum error and leaves nothing in the cache.
	bad := FileSum{Size: hello.Size, SHA256: strings.Repeat("0", 64)}
	_, err = c.Fetch(ctx, hello.Suite, hello.Filename, bad)
	require.ErrorIs(t, err, ErrChecksum)
	_, err = os.Stat(c.cachePath(bad.SHA256))
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestUnreachableMirror(t *testing.T) {
	c := NewClient(Debian, WithMirror("http://127.0.0.1:1/debian"))
	_, err := c.Release(ctxT(t), "bookworm")
	require.ErrorIs(t, err, ErrFetch)
	assert.Contains(t, err.Error(), "http://127.0.0.1:1/debian/dists/bookworm/InRelease")
}

func TestUnknownSuite(t *testing.T) {
	c := NewClient(Debian)
	_, err := c.Release(ctxT(t), "no-such-suite")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = c.Release(ctxT(t), "../etc")
	require.ErrorIs(t, err, ErrInvalid)
}

func TestMirrorDefaultsAndOverrides(t *testing.T) {
	assert.Equal(t, []string{"http://deb.debian.org/debian"}, NewClient(Debian).Mirrors())
	assert.Equal(t, []string{"http://archive.ubuntu.com/ubuntu", "https://snapshot.ubuntu.com/ubuntu/20240301T000000Z"},
		NewClient(Ubuntu, WithSnapshot("20240301T000000Z")).Mirrors())
	assert.Equal(t, []string{"http://local/debian", "http://snapshot.debian.org/archive/debian/20250604T000000Z"},
		NewClient(Debian, WithMirror("http://local/debian/"), WithSnapshot("20250604T000000Z")).Mirrors())
	t.Setenv("VERIFY_RELEASE_DEBIAN_MIRROR", "http://env/debian")
	assert.Equal(t, []string{"http://env/debian"}, NewClient(Debian).Mirrors())
	_, err := LookupDistribution("arch")
	require.ErrorIs(t, err, ErrInvalid)
}

func assertNoCacheFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".lock") {
			t.Errorf("cache holds %s after a failure", p)
		}
		return nil
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// Debian trixie's libntlm_1.8.orig.tar.gz is upstream's
// libntlm-1.8-src.tar.gz: sha256 91de8642… (upstream's published value,
// and sha256sum of the file on the mirror).
func TestFetchOrigThroughSources(t *testing.T) {
	c := NewClient(Debian, WithCacheDir(t.TempDir()))
	p, f, err := c.FetchOrig(ctxT(t), "trixie", "libntlm", "1.8-4")
	require.NoError(t, err)
	assert.Equal(t, "libntlm_1.8.orig.tar.gz", f.Name)
	assert.Equal(t, "pool/main/libn/libntlm/libntlm_1.8.orig.tar.gz", f.Pool)
	assert.Equal(t, "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca", f.SHA256)
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err)
	assert.Equal(t, f.SHA256, strings.Fields(string(out))[0])

	_, _, err = c.FetchOrig(ctxT(t), "trixie", "libntlm", "0.1-1")
	var ve *VersionError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Have, "1.8-4")
}

// curl 8.14.1's release was made with bookworm's git 1:2.39.5-0+deb12u2,
// superseded in bookworm by deb12u3 but still listed by the signed
// bookworm-security index, so it resolves like any other version. git
// deb12u1 is in no index any more but still in the security pool: it is
// accepted only with the digest the recipe pins. The expected digest is
// sha256sum of the pool file fetched with curl.
func TestResolveSupersededVersions(t *testing.T) {
	c := NewClient(Debian, WithCacheDir(t.TempDir()))
	ctx := ctxT(t)
	res, err := c.Resolve(ctx, Request{Suite: "bookworm", Packages: []string{"git=1:2.39.5-0+deb12u2"}})
	require.NoError(t, err)
	found := false
	for _, p := range res.Packages {
		if p.Name == "git" {
			found = true
			assert.Equal(t, "1:2.39.5-0+deb12u2", p.Version)
			assert.Equal(t, "bookworm-security", p.Suite)
		}
	}
	assert.True(t, found)

	const ver = "1:2.39.5-0+deb12u1"
	url := Debian.Security + "/pool/updates/main/g/git/git_2.39.5-0+deb12u1_amd64.deb"
	out, err := exec.Command("sh", "-c", "curl -fsS '"+url+"' | sha256sum").Output()
	require.NoError(t, err, "the Debian mirror is needed: %s", url)
	sha := strings.Fields(string(out))[0]

	_, err = c.Resolve(ctx, Request{Suite: "bookworm", Packages: []string{"git=" + ver}})
	var ve *VersionError
	require.ErrorAs(t, err, &ve, "in no index: refused without a digest")
	assert.Contains(t, ve.Have, "1:2.39.5-0+deb12u3")

	res, err = c.Resolve(ctx, Request{Suite: "bookworm", Packages: []string{"git=" + ver + "@sha256:" + sha}})
	require.NoError(t, err)
	var g Package
	for _, p := range res.Packages {
		if p.Name == "git" {
			g = p
		}
	}
	assert.Equal(t, ver, g.Version)
	assert.Equal(t, sha, g.SHA256)
	assert.Equal(t, "pool/updates/main/g/git/git_2.39.5-0+deb12u1_amd64.deb", g.Filename)
	assert.Positive(t, g.Size)

	_, err = c.Resolve(ctx, Request{Suite: "bookworm", Packages: []string{"git=" + ver + "@sha256:" + strings.Repeat("0", 64)}})
	require.ErrorIs(t, err, ErrChecksum)
}
