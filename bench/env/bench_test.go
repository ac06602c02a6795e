//go:build bench

// Package envbench measures building an environment from the Debian
// archive (envpin.EnsureArchive: locked .debs -> mmdebstrap -> normalized
// single-layer image -> docker load), cold (fresh cache, image not in the
// engine) and warm (image in the engine), against mmdebstrap run by hand
// with the same package list from the mirror, piped into `docker import`,
// in the same run. Run it with bench/env/run.sh.
package envbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// packages is a bookworm autotools environment (libntlm's tools).
var packages = []string{"autoconf=2.71-3", "automake=1:1.16.5-1.3", "libtool=2.4.7-7~deb12u1", "make", "git", "gzip", "tar"}

func TestBenchEnv(t *testing.T) {
	d := testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	n := 3
	if v, err := strconv.Atoi(os.Getenv("VERIFY_RELEASE_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	env := recipe.Env{Distro: "debian", Suite: "bookworm", Packages: packages}
	lock, err := envpin.ResolveArchive(ctx, env, envpin.ArchiveOptions{CacheDir: t.TempDir()})
	require.NoError(t, err)
	// Pin once (untimed) to learn the digests the cold runs must give.
	pinned, ens, err := envpin.PinArchive(ctx, d, env, envpin.ArchiveOptions{CacheDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, lock.Archive.EnvDigest, pinned.Archive.EnvDigest)
	size := imageSize(t, ens.ImageID)

	var cold, warm, hand []time.Duration
	load0 := loadavg()
	for i := 0; i < n; i++ {
		// By hand: the same request, apt resolving and downloading.
		out := filepath.Join(t.TempDir(), "hand.tar")
		start := time.Now()
		names := []string{}
		for _, p := range packages {
			names = append(names, p)
		}
		script := fmt.Sprintf("SOURCE_DATE_EPOCH=%d mmdebstrap --quiet --variant=essential --include=%s bookworm %s http://deb.debian.org/debian && docker import %s verify-release-bench-hand:%d >/dev/null",
			lock.Archive.SourceDateEpoch, strings.Join(names, ","), out, out, i)
		b, err := exec.CommandContext(ctx, "sh", "-c", script).CombinedOutput()
		require.NoError(t, err, "%s", b)
		hand = append(hand, time.Since(start))
		exec.Command("docker", "rmi", "-f", fmt.Sprintf("verify-release-bench-hand:%d", i)).Run()
		os.Remove(out)

		// Cold: the environment image is not in the engine, the cache is new.
		require.NoError(t, exec.Command("docker", "rmi", "-f", pinned.Image.ConfigDigest).Run())
		cache := t.TempDir()
		start = time.Now()
		got, err := envpin.EnsureArchive(ctx, d, pinned, envpin.ArchiveOptions{CacheDir: cache})
		require.NoError(t, err)
		cold = append(cold, time.Since(start))
		require.Equal(t, pinned.Image.ConfigDigest, got.ImageID)
		require.Equal(t, len(pinned.Packages), got.Downloaded)

		// Warm: same cache, image in the engine.
		start = time.Now()
		got, err = envpin.EnsureArchive(ctx, d, pinned, envpin.ArchiveOptions{CacheDir: cache})
		require.NoError(t, err)
		warm = append(warm, time.Since(start))
		require.Zero(t, got.Downloaded)
		os.RemoveAll(cache)
	}
	mc, mw, mh := median(cold), median(warm), median(hand)
	res := fmt.Sprintf(`# bench/env results

Environment: debian bookworm, %d packages requested (%s), %d in the locked
closure; image %s, %s. Repetitions: %d (medians). Load average before: %s,
after: %s.

| | median s | all s |
|---|---:|---|
| by hand: mmdebstrap from the mirror + docker import | %.1f | %s |
| verify-release cold (fresh cache, not in the engine) | %.1f | %s |
| verify-release warm (image in the engine) | %.3f | %s |

- cold / by hand: **%.2f** (target <= 1.2)
- warm: **%.3f s** (target <= 2 s)
- every cold build gave the locked config digest %s
`, len(packages), strings.Join(packages, " "), len(pinned.Packages), shortID(pinned.Image.ConfigDigest), size, n, load0, loadavg(),
		mh.Seconds(), secs(hand), mc.Seconds(), secs(cold), mw.Seconds(), secs(warm),
		mc.Seconds()/mh.Seconds(), mw.Seconds(), pinned.Image.ConfigDigest)
	if p := os.Getenv("VERIFY_RELEASE_BENCH_OUT"); p != "" {
		require.NoError(t, os.WriteFile(p, []byte(res), 0o644))
	}
	t.Log("\n" + res)
}

func secs(v []time.Duration) string {
	s := make([]string, len(v))
	for i, d := range v {
		s[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return strings.Join(s, ", ")
}

func median(v []time.Duration) time.Duration {
	c := append([]time.Duration(nil), v...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[len(c)/2]
}

func imageSize(t *testing.T, id string) string {
	out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Size}}", id).Output()
	require.NoError(t, err)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
