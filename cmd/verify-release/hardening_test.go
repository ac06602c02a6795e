package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArchiveInputsOneVerdict runs every command that reads an archive on
// the same bad inputs: each must fail with exit 2 and name the input, and
// none may leave an output file.
func TestArchiveInputsOneVerdict(t *testing.T) {
	repo := gaRepo(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	require.NoError(t, os.WriteFile(good, gaGit(t, repo, "archive", "--format=tar", "v1.0"), 0o644))
	empty := filepath.Join(dir, "empty.tar.gz")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	// A bad header checksum in the first member after the pax header.
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	data[1024+1] ^= 0x40
	badsum := filepath.Join(dir, "badsum.tar")
	require.NoError(t, os.WriteFile(badsum, data, 0o644))
	out := filepath.Join(dir, "out.tar")

	for _, in := range []string{empty, "/dev/zero", fifo, badsum} {
		for _, args := range [][]string{
			{"checksum", "--tar", in},
			{"diff", in, good},
			{"normalize", "-o", out, in},
			{"gitarchive", "--repo", repo, "--identify", in, "v1.0"},
		} {
			if in != empty && in != badsum && args[0] == "checksum" {
				// Without --tar too: a device or a FIFO is never a release file.
				code, _, errOut := run(t, nil, "checksum", in)
				assert.Equal(t, exitError, code, "checksum %s: %s", in, errOut)
			}
			start := time.Now()
			code, _, errOut := run(t, nil, args...)
			assert.Equal(t, exitError, code, "%v: %s", args, errOut)
			assert.Contains(t, errOut, in, "%v names the input", args)
			assert.Less(t, time.Since(start), 10*time.Second, "%v", args)
			assert.NoFileExists(t, out)
		}
	}
}

// TestIdentifyMaxSize: --identify stops at --max-size instead of
// decompressing a whole bomb.
func TestIdentifyMaxSize(t *testing.T) {
	repo := gaRepo(t)
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.tar.gz")
	sh := exec.Command("sh", "-c", "head -c 268435456 /dev/zero | gzip -1 > "+bomb)
	require.NoError(t, sh.Run())
	code, _, errOut := run(t, nil, "gitarchive", "--repo", repo, "--identify", bomb, "--max-size", "1048576", "v1.0")
	assert.Equal(t, exitError, code, errOut)
	assert.Contains(t, errOut, "more than 1.0 MiB decompressed")
	assert.Contains(t, errOut, bomb)
}

// TestCachePruneSkipsMirrorsInUse is the attack run's race, smaller: src
// runs on one cache while 'cache prune --all' loops beside them. Every
// run must reproduce (before, a prune removed the git mirror under a
// running src: "Unable to read current working directory", or a false
// "tag not found"), and the prune loop must both remove mirrors between
// runs and skip them, saying so, during runs.
func TestCachePruneSkipsMirrorsInUse(t *testing.T) {
	store, _ := runRepo(t)
	cache := t.TempDir()
	env := map[string]string{"VERIFY_RELEASE_RECIPES": store}
	const runners, runs = 2, 6
	var wg sync.WaitGroup
	failures := make(chan string, runners*runs)
	for i := 0; i < runners; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < runs; j++ {
				code, _, errOut := run(t, env, "src", "demo", "1.0", "--allow-local-git", "--cache-dir", cache)
				if code != exitOK {
					failures <- fmt.Sprintf("exit %d: %s", code, errOut)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var prunes, removed, skipped int
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, out, errOut := run(t, nil, "cache", "prune", "--all", "--cache-dir", cache)
			if code != exitOK {
				failures <- fmt.Sprintf("prune exit %d: %s", code, errOut)
			}
			prunes++
			time.Sleep(10 * time.Millisecond)
			removed += strings.Count(out, "removed "+filepath.Join(cache, "git"))
			skipped += strings.Count(out, "(in use by another run)")
		}
	}()
	wg.Wait()
	close(stop)
	<-pruned
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	t.Logf("%d src runs, %d prunes: %d mirrors removed between runs, %d skipped as in use", runners*runs, prunes, removed, skipped)
	assert.Positive(t, skipped, "prune ran while a mirror was in use")
}
