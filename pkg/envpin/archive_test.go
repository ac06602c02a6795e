package envpin_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/rootfs"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// These tests build real environments from the real Debian mirror with
// mmdebstrap and load them into the real Docker Engine. They fail, never
// skip, when the mirror, mmdebstrap or the engine is missing.

func requireMmdebstrap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		t.Fatalf("mmdebstrap (Debian package mmdebstrap) is required: %v", err)
	}
}

// indexField reads FIELD of package NAME from SUITE's Packages index with
// curl, xz and awk: the independent path the lock is checked against.
func indexField(t *testing.T, root, suite, name, field string) string {
	t.Helper()
	script := `curl -fsS ` + root + `/dists/` + suite + `/main/binary-amd64/Packages.xz | xz -dc | awk -v RS= -v p="Package: ` + name + `" 'index($0, p "\n") == 1' | sed -n 's/^` + field + `: //p'`
	out, err := exec.Command("sh", "-c", script).Output()
	require.NoError(t, err, "reading the %s index (the Debian mirror is required)", suite)
	return strings.TrimSpace(string(out))
}

// dpkgView lists name=version of the image's installed packages with a
// plain docker run of dpkg-query, not through verify-release.
func dpkgView(t *testing.T, image string) []string {
	t.Helper()
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", image, "dpkg-query", "-W", "-f", "${Package}=${Version}\n").Output()
	require.NoError(t, err)
	lines := strings.Fields(string(out))
	sort.Strings(lines)
	return lines
}

func lockView(l *envpin.Lock) []string {
	var s []string
	for _, p := range l.Packages {
		s = append(s, p.Name+"="+p.Version)
	}
	sort.Strings(s)
	return s
}

func archiveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The libntlm environment: bookworm's autotools with bullseye's libtool
// 2.4.6-15. Pinned, probed, rebuilt in a second cache, re-used warm.
func TestArchiveEnvironmentBookwormWithBullseyeLibtool(t *testing.T) {
	requireMmdebstrap(t)
	d := testenv.RequireDocker(t)
	ctx := archiveCtx(t)
	env := recipe.Env{
		Distro:   "debian",
		Suite:    "bookworm",
		Packages: []string{"autoconf=2.71-3", "automake=1:1.16.5-1.3", "make", "git"},
		Extra:    []recipe.EnvExtra{{Suite: "bullseye", Packages: []string{"libtool=2.4.6-15"}}},
	}
	cacheA := t.TempDir()
	lock, ens, err := envpin.PinArchive(ctx, d, env, envpin.ArchiveOptions{CacheDir: cacheA})
	require.NoError(t, err)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ens.ImageID).Run() })

	// The lock lists the closure with the archive's own digests.
	byName := map[string]rootfs.Package{}
	for _, p := range lock.Packages {
		byName[p.Name] = p
	}
	require.Contains(t, byName, "libtool")
	assert.Equal(t, "2.4.6-15", byName["libtool"].Version)
	assert.Equal(t, "bullseye", byName["libtool"].Suite)
	assert.Equal(t, indexField(t, debian.Debian.Mirror, "bullseye", "libtool", "SHA256"), byName["libtool"].SHA256)
	assert.Equal(t, indexField(t, debian.Debian.Mirror, "bookworm", "autoconf", "SHA256"), byName["autoconf"].SHA256)
	for _, essential := range []string{"dpkg", "bash", "coreutils", "tar"} {
		assert.Contains(t, byName, essential, "the Essential set is in the lock")
	}
	require.Len(t, lock.Archive.Releases, 4)                                                       // bookworm, -updates, -security, bullseye
	assert.Equal(t, "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8", lock.Archive.Releases[0].SignedBy) // gpgv on bookworm's InRelease

	// dpkg's view of the image is exactly the lock.
	assert.Equal(t, lockView(lock), dpkgView(t, ens.ImageID))
	env2, err := envpin.ProbeImage(ctx, d, ens.ImageID)
	require.NoError(t, err)
	assert.Equal(t, "2.4.6 Debian-2.4.6-15", env2.Tools["ltmain"])
	assert.Equal(t, "2.71", env2.Tools["autoconf"])
	assert.Equal(t, "1.16.5", env2.Tools["automake"])

	// The lock round-trips through its file.
	lp := filepath.Join(t.TempDir(), "demo", "1.0.lock")
	require.NoError(t, os.MkdirAll(filepath.Dir(lp), 0o755))
	require.NoError(t, envpin.WriteLock(lp, lock))
	back, err := envpin.ReadLock(lp)
	require.NoError(t, err)
	assert.Equal(t, lock, back)

	// A second build of the same lock, in another cache directory and
	// later, gives the same image and config digests.
	cacheB := t.TempDir()
	cB := debian.NewClient(debian.Debian, debian.WithCacheDir(filepath.Join(cacheB, "debs")))
	built, err := rootfs.Build(ctx, cB, back.Spec(), t.TempDir(), rootfs.Options{})
	require.NoError(t, err)
	assert.Equal(t, lock.Image.Digest, built.Digest)
	assert.Equal(t, lock.Image.ConfigDigest, built.ConfigDigest)
	assert.Equal(t, len(lock.Packages), built.Downloaded)

	// Warm: the engine has it; nothing is downloaded.
	warm, err := envpin.EnsureArchive(ctx, d, back, envpin.ArchiveOptions{CacheDir: cacheA})
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceEngine, warm.Source)
	assert.Equal(t, lock.Image.ConfigDigest, warm.ImageID)
	assert.Zero(t, warm.Downloaded)

	// Not in the engine: loaded from the cached image, still no download.
	removeImageRetry(t, ens.ImageID)
	fromCache, err := envpin.EnsureArchive(ctx, d, back, envpin.ArchiveOptions{CacheDir: cacheA})
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceCache, fromCache.Source)
	assert.Equal(t, lock.Image.ConfigDigest, fromCache.ImageID)

	// A tampered cached .deb is detected and fetched again.
	c := debian.NewClient(debian.Debian, debian.WithCacheDir(filepath.Join(cacheA, "debs")))
	lt := byName["libtool"]
	p, ok := c.CachedPath(debian.FileSum{Size: lt.Size, SHA256: lt.SHA256})
	require.True(t, ok)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)/2] ^= 0x40
	require.NoError(t, os.WriteFile(p, b, 0o644))
	_, n, err := rootfs.Fetch(ctx, c, back.Spec(), rootfs.Options{})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err)
	assert.Equal(t, lt.SHA256, strings.Fields(string(out))[0])

	// An edited lock is refused before anything is built.
	edited := *back
	edited.Packages = append([]rootfs.Package(nil), back.Packages...)
	edited.Packages[0].Version += "+evil"
	_, err = envpin.EnsureArchive(ctx, d, &edited, envpin.ArchiveOptions{CacheDir: cacheA})
	require.ErrorIs(t, err, envpin.ErrLock)
}

// trixie's and bullseye's autotools, each probed against its own index.
func TestArchiveEnvironmentOtherSuites(t *testing.T) {
	requireMmdebstrap(t)
	d := testenv.RequireDocker(t)
	ctx := archiveCtx(t)
	for _, suite := range []string{"trixie", "bullseye"} {
		t.Run(suite, func(t *testing.T) {
			t.Parallel()
			env := recipe.Env{Distro: "debian", Suite: suite, Packages: []string{"autoconf", "automake", "make"}}
			lock, ens, err := envpin.PinArchive(ctx, d, env, envpin.ArchiveOptions{CacheDir: t.TempDir()})
			require.NoError(t, err)
			t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ens.ImageID).Run() })
			probed, err := envpin.ProbeImage(ctx, d, ens.ImageID)
			require.NoError(t, err)
			// The upstream part of the index's version ("2.72-3" -> "2.72").
			want := func(name string) string {
				v := indexField(t, debian.Debian.Mirror, suite, name, "Version")
				if _, after, ok := strings.Cut(v, ":"); ok {
					v = after
				}
				up, _, _ := strings.Cut(v, "-")
				return up
			}
			assert.Equal(t, want("autoconf"), probed.Tools["autoconf"])
			assert.True(t, strings.HasPrefix(want("automake"), probed.Tools["automake"]), "automake %s vs index %s", probed.Tools["automake"], want("automake"))
			assert.Equal(t, lockView(lock), dpkgView(t, ens.ImageID))
		})
	}
}

// A bad request leaves no image and no environment in the cache.
func TestArchiveEnvironmentErrors(t *testing.T) {
	d := testenv.RequireDocker(t)
	ctx := archiveCtx(t)
	cache := t.TempDir()
	opts := envpin.ArchiveOptions{CacheDir: cache}

	_, _, err := envpin.PinArchive(ctx, d, recipe.Env{Distro: "debian", Suite: "bookworm", Packages: []string{"autoconf=9.9-1"}}, opts)
	var ve *debian.VersionError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Have, indexField(t, debian.Debian.Mirror, "bookworm", "autoconf", "Version"))

	_, _, err = envpin.PinArchive(ctx, d, recipe.Env{Distro: "debian", Suite: "bookworm", Packages: []string{"no-such-package-vr"}}, opts)
	require.ErrorIs(t, err, debian.ErrNotFound)

	_, _, err = envpin.PinArchive(ctx, d, recipe.Env{Distro: "debian", Suite: "bookworm", Packages: []string{"make"}}, envpin.ArchiveOptions{CacheDir: cache, Mirror: "http://127.0.0.1:1/debian"})
	require.ErrorIs(t, err, debian.ErrFetch)

	_, _, err = envpin.PinArchive(ctx, d, recipe.Env{Distro: "debian", Suite: "bookworm", Packages: []string{"make"}}, envpin.ArchiveOptions{CacheDir: cache, Keyring: "/usr/share/keyrings/debian-archive-bullseye-stable.gpg"})
	require.ErrorIs(t, err, debian.ErrSignature)

	// No environment was built or loaded: that needs envs/ (the per-lock
	// build lock and image), which a failed pin never creates. (Comparing
	// the engine's image list would race with other packages' tests.)
	_, err = os.Stat(filepath.Join(cache, "envs"))
	assert.True(t, os.IsNotExist(err), "no environment entry after a failed pin")
	filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".tmp") {
			t.Errorf("partial cache entry %s after a failed pin", p)
		}
		return nil
	})
}

// removeImageRetry removes image from the engine. A container that is still
// being removed (docker run --rm, a probe session) holds the image for a
// moment, so a refusal is retried for up to a minute; the last error and
// docker's own message fail the test.
func removeImageRetry(t *testing.T, image string) {
	t.Helper()
	var out []byte
	var err error
	for i := 0; i < 30; i++ {
		if out, err = exec.Command("docker", "rmi", "-f", image).CombinedOutput(); err == nil {
			return
		}
		time.Sleep(2 * time.Second)
	}
	require.NoError(t, err, "docker rmi -f %s: %s", image, out)
}
