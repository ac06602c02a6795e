package envpin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

func TestMain(m *testing.M) {
	_, cleanup, err := testenv.SharedRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

const someDigest = "sha256:182fe3ebe785e0d195232360c47e45a2b761813d0cc9d38cd920f02a93654535"

func TestPinned(t *testing.T) {
	for ref, want := range map[string]bool{
		"debian:bookworm":                      false,
		"debian":                               false,
		"debian@" + someDigest:                 true,
		"127.0.0.1:5000/x/y:tag@" + someDigest: true,
		"debian@sha256:abc":                    false,
		"UPPER/case":                           false,
		"":                                     false,
	} {
		assert.Equal(t, want, envpin.Pinned(ref), ref)
	}
	_, err := envpin.ParseRef("UPPER/case")
	assert.ErrorIs(t, err, envpin.ErrBadReference)
	assert.Contains(t, err.Error(), `"UPPER/case"`)
}

func TestParseVersion(t *testing.T) {
	// First lines of --version output, from bookworm (run by hand in the
	// testenv image) and other distributions.
	for out, want := range map[string]string{
		"autoconf (GNU Autoconf) 2.71\nCopyright (C) 2021": "2.71",
		"automake (GNU automake) 1.16.5\n":                 "1.16.5",
		"libtoolize (GNU libtool) 2.4.7\n":                 "2.4.7",
		"git version 2.39.5\n":                             "2.39.5",
		"gzip 1.12\n":                                      "1.12",
		"GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu\n":    "4.3",
		"xz (XZ Utils) 5.4.1\nliblzma 5.4.1\n":             "5.4.1",
		"\nThis is perl 5, version 36, subversion 0 (v5.36.0) built for x86_64-linux-gnu-thread-multi": "5.36.0",
		"libtoolize (GNU libtool) 2.4.6.42-b88ce-dirty\n":                                              "2.4.6.42-b88ce-dirty",
		"no version here\n": "",
		"":                  "",
	} {
		assert.Equal(t, want, envpin.ParseVersion(out), out)
	}
}

func TestCompare(t *testing.T) {
	ms, err := envpin.Compare(
		map[string]string{"autoconf": "2.69", "automake": "1.16.5", "libtool": "2.4.6", "help2man": "1.49"},
		map[string]string{"autoconf": "2.71", "automake": "1.16.5", "libtool": "2.4.7"},
	)
	require.Error(t, err)
	assert.ErrorIs(t, err, envpin.ErrToolMismatch)
	var tm *envpin.ToolMismatchError
	require.True(t, errors.As(err, &tm))
	assert.Equal(t, ms, tm.Mismatches)
	assert.Equal(t, []envpin.Mismatch{
		{Tool: "autoconf", Pinned: "2.69", Found: "2.71"},
		{Tool: "help2man", Pinned: "1.49", Found: ""},
		{Tool: "libtool", Pinned: "2.4.6", Found: "2.4.7"},
	}, ms)
	assert.Equal(t, "envpin: tool versions differ from the pins: autoconf: pinned 2.69, found 2.71; help2man: pinned 1.49, found not installed; libtool: pinned 2.4.6, found 2.4.7", err.Error())

	ms, err = envpin.Compare(map[string]string{"autoconf": "2.71"}, map[string]string{"autoconf": "2.71", "git": "2.39.5"})
	assert.NoError(t, err)
	assert.Empty(t, ms)
}

func TestLockRoundTrip(t *testing.T) {
	dir := t.TempDir()
	assert.Equal(t, filepath.Join(dir, "hello.lock"), envpin.LockPath(filepath.Join(dir, "hello.toml")))
	l := envpin.NewLock(
		envpin.LockedImage{Ref: "debian:bookworm", Digest: someDigest, ConfigDigest: "sha256:bad95532449e" + strings.Repeat("0", 52)},
		&envpin.Environment{Tools: map[string]string{"xz": "5.4.1", "autoconf": "2.71"}, Distro: "debian 12", Packages: []string{"zlib1g=1", "autoconf=2.71-3"}},
	)
	path := envpin.LockPath(filepath.Join(dir, "hello.toml"))
	require.NoError(t, envpin.WriteLock(path, l))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "# Written by `verify-release pin`: the image and tools the recipe resolved to.\n# Builds read it and never change it.\n\n"+
		"version = 1\n\n[image]\nref = \"debian:bookworm\"\ndigest = \""+someDigest+"\"\nconfig_digest = \"sha256:bad95532449e"+strings.Repeat("0", 52)+"\"\n\n"+
		"[tools]\nautoconf = \"2.71\"\nxz = \"5.4.1\"\n\n"+
		"[environment]\ndistro = \"debian 12\"\npackages = [\"autoconf=2.71-3\", \"zlib1g=1\"]\n", string(data))
	got, err := envpin.ReadLock(path)
	require.NoError(t, err)
	assert.Equal(t, "2.71", got.Tools["autoconf"])
	assert.Equal(t, []string{"autoconf=2.71-3", "zlib1g=1"}, got.Environment.Packages)
	assert.Equal(t, l.Image, got.Image)

	bad := filepath.Join(dir, "bad.lock")
	require.NoError(t, os.WriteFile(bad, append(data, []byte("\n[image2]\nx = 1\n")...), 0o644))
	_, err = envpin.ReadLock(bad)
	assert.ErrorIs(t, err, envpin.ErrLock)
	assert.Contains(t, err.Error(), "bad.lock: unknown key image2.x")

	require.NoError(t, os.WriteFile(bad, []byte("version = 1\n[image]\ndigest = \"sha256:abc\"\n"), 0o644))
	_, err = envpin.ReadLock(bad)
	assert.ErrorIs(t, err, envpin.ErrLock)
	assert.Contains(t, err.Error(), `"sha256:abc" is not a sha256 digest`)
}

// smallImage is a random one-layer linux image, unique per call, so the
// engine never has it already.
func smallImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(1024, 1)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	return img
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	require.NoError(t, err)
	return h.String()
}

func removeImage(t *testing.T, d *engine.Docker, id string) {
	t.Helper()
	require.NoError(t, d.RemoveImage(context.Background(), id))
	_, err := d.Image(context.Background(), id)
	require.ErrorIs(t, err, engine.ErrImageNotFound)
}

func TestEnsureImagePullThenCache(t *testing.T) {
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	reg := testenv.NewRegistry(t)
	img := smallImage(t)
	cfg := configDigest(t, img)
	ref, err := reg.Push(ctx, "envpin/small", img)
	require.NoError(t, err)
	cacheOpt := envpin.WithCacheDir(t.TempDir())
	t.Cleanup(func() { d.RemoveImage(context.Background(), cfg) })

	// 1. Real engine pull from the in-process registry.
	res, err := envpin.EnsureImage(ctx, d, ref, cfg, cacheOpt)
	require.NoError(t, err)
	assert.Equal(t, envpin.SourcePull, res.Source)
	assert.Equal(t, cfg, res.ImageID)
	assert.False(t, res.Resolved)

	// 2. Now the engine has it.
	res, err = envpin.EnsureImage(ctx, d, ref, cfg, cacheOpt)
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceEngine, res.Source)

	// 3. Cache it, stop the registry, drop the image: the engine's pull
	// fails and the cache is loaded instead.
	cache, err := envpin.OpenCache(cacheOpt)
	require.NoError(t, err)
	ci, err := cache.Fetch(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, cfg, ci.ConfigDigest)
	require.NoError(t, reg.Close())
	removeImage(t, d, cfg)
	res, err = envpin.EnsureImage(ctx, d, ref, cfg, cacheOpt)
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceCache, res.Source)
	assert.Error(t, res.PullError)
	assert.Equal(t, cfg, res.ImageID)
	info, err := d.Image(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg, info.ID)

	// 4. A lock recording another config digest is refused.
	_, err = envpin.EnsureImage(ctx, d, ref, "sha256:"+strings.Repeat("1", 64), cacheOpt)
	assert.ErrorIs(t, err, envpin.ErrDigestMismatch)
}

func TestCacheCorruptBlobRefetched(t *testing.T) {
	ctx := context.Background()
	reg := testenv.NewRegistry(t)
	img := smallImage(t)
	ref, err := reg.Push(ctx, "envpin/corrupt", img)
	require.NoError(t, err)
	dir := t.TempDir()
	cache, err := envpin.OpenCache(envpin.WithCacheDir(dir))
	require.NoError(t, err)
	ci, err := cache.Fetch(ctx, ref)
	require.NoError(t, err)

	layers, err := img.Layers()
	require.NoError(t, err)
	ld, err := layers[0].Digest()
	require.NoError(t, err)
	blob := filepath.Join(dir, "blobs", "sha256", ld.Hex)
	good, err := os.ReadFile(blob)
	require.NoError(t, err)
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	require.NoError(t, os.WriteFile(blob, bad, 0o644))

	_, ok, err := cache.Lookup(ctx, ci.Digest)
	require.NoError(t, err)
	assert.False(t, ok, "corrupt blob detected")
	_, err = os.Stat(blob)
	assert.True(t, errors.Is(err, os.ErrNotExist), "corrupt blob removed")

	ci2, err := cache.Fetch(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, ci.ConfigDigest, ci2.ConfigDigest)
	got, err := os.ReadFile(blob)
	require.NoError(t, err)
	assert.Equal(t, good, got, "re-fetched")
}

func TestResolveUnpinned(t *testing.T) {
	ctx := context.Background()
	reg := testenv.NewRegistry(t)
	img := smallImage(t)
	pinned, err := reg.Push(ctx, "envpin/tagged", img)
	require.NoError(t, err)
	want, err := img.Digest()
	require.NoError(t, err)
	tag := reg.Host + "/envpin/tagged:latest"

	digest, resolved, err := envpin.Resolve(ctx, tag)
	require.NoError(t, err)
	assert.True(t, resolved)
	assert.Equal(t, want.String(), digest)

	digest, resolved, err = envpin.Resolve(ctx, pinned)
	require.NoError(t, err)
	assert.False(t, resolved)
	assert.Equal(t, want.String(), digest)

	_, _, err = envpin.Resolve(ctx, tag, envpin.WithRequirePinned())
	assert.ErrorIs(t, err, envpin.ErrNotPinned)
	assert.Contains(t, err.Error(), tag)

	d := testenv.RequireDocker(t)
	_, err = envpin.EnsureImage(ctx, d, tag, "", envpin.WithRequirePinned(), envpin.WithCacheDir(t.TempDir()))
	assert.ErrorIs(t, err, envpin.ErrNotPinned)
	res, err := envpin.EnsureImage(ctx, d, tag, "", envpin.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() { d.RemoveImage(context.Background(), res.ImageID) })
	assert.True(t, res.Resolved)
	assert.Equal(t, want.String(), res.Digest)
	assert.Equal(t, reg.Host+"/envpin/tagged@"+want.String(), res.Ref)

	dg, cfg, err := envpin.PinImage(ctx, tag)
	require.NoError(t, err)
	assert.Equal(t, want.String(), dg)
	assert.Equal(t, configDigest(t, img), cfg)
}

func TestLoadArchive(t *testing.T) {
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	img := smallImage(t)
	cfg := configDigest(t, img)
	dg, err := img.Digest()
	require.NoError(t, err)
	t.Cleanup(func() { d.RemoveImage(context.Background(), cfg) })
	dir := t.TempDir()
	cacheOpt := envpin.WithCacheDir(filepath.Join(dir, "cache"))

	// docker-archive: checked by config digest.
	archive := filepath.Join(dir, "image.tar")
	tag, err := name.NewTag("verify-release-test/archive:x")
	require.NoError(t, err)
	require.NoError(t, tarball.WriteToFile(archive, tag, img))
	wrong := "sha256:" + strings.Repeat("2", 64)
	_, err = envpin.LoadArchive(ctx, d, archive, envpin.LockedImage{Digest: dg.String(), ConfigDigest: wrong}, cacheOpt)
	var de *envpin.DigestError
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, wrong, de.Want)
	assert.Equal(t, cfg, de.Got)
	assert.Contains(t, err.Error(), archive)
	_, err = envpin.LoadArchive(ctx, d, archive, envpin.LockedImage{Digest: dg.String()}, cacheOpt)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config_digest")
	res, err := envpin.LoadArchive(ctx, d, archive, envpin.LockedImage{Digest: dg.String(), ConfigDigest: cfg}, cacheOpt)
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceArchive, res.Source)
	assert.Equal(t, cfg, res.ImageID)
	removeImage(t, d, cfg)

	// OCI layout directory: checked by manifest digest.
	oci := filepath.Join(dir, "oci")
	p, err := layout.Write(oci, empty.Index)
	require.NoError(t, err)
	require.NoError(t, p.AppendImage(img))
	_, err = envpin.LoadArchive(ctx, d, oci, envpin.LockedImage{Digest: someDigest}, cacheOpt)
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, someDigest, de.Want)
	assert.Equal(t, dg.String(), de.Got)
	res, err = envpin.LoadArchive(ctx, d, oci, envpin.LockedImage{Digest: dg.String()}, cacheOpt)
	require.NoError(t, err)
	assert.Equal(t, cfg, res.ImageID)
	info, err := d.Image(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg, info.ID)

	// Not an image archive.
	junk := filepath.Join(dir, "junk.tar")
	require.NoError(t, os.WriteFile(junk, bytes.Repeat([]byte{0}, 1024), 0o644))
	_, err = envpin.LoadArchive(ctx, d, junk, envpin.LockedImage{Digest: dg.String(), ConfigDigest: cfg}, cacheOpt)
	assert.ErrorIs(t, err, envpin.ErrArchiveFormat)
}

func TestSetupImageCached(t *testing.T) {
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	_, base := testenv.BookwormAutotoolsImage(t)
	nonce := time.Now().UTC().Format("20060102T150405.000000000")
	cmds := []string{"echo " + nonce + " > /setup-marker", "test -w /etc"}
	var out bytes.Buffer
	id, cached, err := envpin.SetupImage(ctx, d, base, cmds, nil, envpin.WithOutput(&out, &out))
	require.NoError(t, err)
	tag := envpin.SetupRepo + ":" + envpin.SetupKey(base, cmds, nil)
	t.Cleanup(func() { d.RemoveImage(context.Background(), tag) })
	assert.False(t, cached)
	assert.NotEqual(t, base, id)

	before, err := d.Containers(ctx)
	require.NoError(t, err)
	id2, cached, err := envpin.SetupImage(ctx, d, base, cmds, nil)
	require.NoError(t, err)
	assert.True(t, cached, "second call hits the cache")
	assert.Equal(t, id, id2)
	after, err := d.Containers(ctx)
	require.NoError(t, err)
	assert.Subset(t, before, after, "no container created for a cached setup")

	s, err := d.Start(ctx, engine.Spec{Image: id})
	require.NoError(t, err)
	defer s.Close(ctx)
	var marker bytes.Buffer
	require.NoError(t, s.CopyOut(ctx, "/setup-marker", &marker))
	assert.Equal(t, nonce+"\n", marker.String())

	_, _, err = envpin.SetupImage(ctx, d, base, []string{"echo " + nonce + " fails; exit 7"}, nil)
	var se *envpin.SetupError
	require.True(t, errors.As(err, &se), "%v", err)
	assert.Equal(t, 7, se.ExitCode)
}

func TestProbeBookworm(t *testing.T) {
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	ref, id := testenv.BookwormAutotoolsImage(t)
	s, err := d.Start(ctx, engine.Spec{Image: id})
	require.NoError(t, err)
	defer s.Close(ctx)
	env, err := envpin.Probe(ctx, s)
	require.NoError(t, err)
	// Values from `docker run --rm <image> sh -c 'autoconf --version; ...;
	// grep ^VERSION= /usr/share/libtool/build-aux/ltmain.sh;
	// dpkg-query -W autoconf automake libtool'` run by hand.
	want := map[string]string{
		"autoconf": "2.71", "automake": "1.16.5", "libtool": "2.4.7",
		"ltmain": "2.4.7 Debian-2.4.7-7~deb12u1", "gettext": "0.21", "git": "2.39.5",
		"gzip": "1.12", "tar": "1.34", "make": "4.3", "xz": "5.4.1", "m4": "1.4.19", "perl": "5.36.0",
	}
	assert.Equal(t, want, env.Tools)
	assert.Equal(t, "debian 12", env.Distro)
	assert.Contains(t, env.Packages, "autoconf=2.71-3")
	assert.Contains(t, env.Packages, "automake=1:1.16.5-1.3")
	assert.Contains(t, env.Packages, "libtool=2.4.7-7~deb12u1")
	assert.IsNonDecreasing(t, env.Packages)
	_, err = envpin.Compare(map[string]string{"autoconf": "2.71", "automake": "1.16.5", "libtool": "2.4.7"}, env.Tools)
	assert.NoError(t, err)

	// A variant image whose autoconf reports 2.69 fails the same pins.
	_, vid := testenv.VariantImage(t, ref, "bookworm-autoconf-269", map[string]string{
		"/usr/local/bin/autoconf": "#!/bin/sh\necho 'autoconf (GNU Autoconf) 2.69'\n",
	})
	s2, err := d.Start(ctx, engine.Spec{Image: vid})
	require.NoError(t, err)
	defer s2.Close(ctx)
	env2, err := envpin.Probe(ctx, s2)
	require.NoError(t, err)
	ms, err := envpin.Compare(map[string]string{"autoconf": "2.71", "automake": "1.16.5"}, env2.Tools)
	assert.ErrorIs(t, err, envpin.ErrToolMismatch)
	assert.Equal(t, []envpin.Mismatch{{Tool: "autoconf", Pinned: "2.71", Found: "2.69"}}, ms)
	assert.EqualError(t, err, "envpin: tool versions differ from the pins: autoconf: pinned 2.71, found 2.69")
}

func TestProbeHost(t *testing.T) {
	// Expected: the third field of the host's own `git --version`
	// ("git version 2.39.5").
	gitOut, err := exec.Command("git", "--version").Output()
	require.NoError(t, err)
	wantGit := strings.Fields(string(gitOut))[2]
	ctx := context.Background()
	s, err := engine.NewHost(engine.WithHostTempDir(t.TempDir())).Start(ctx, engine.Spec{Network: true})
	require.NoError(t, err)
	defer s.Close(ctx)
	env, err := envpin.Probe(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, wantGit, env.Tools["git"])
	assert.NotEmpty(t, env.Distro)
}
