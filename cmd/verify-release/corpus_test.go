package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/tarball/tarballtest"
)

// TestHostileCorpus runs every command that reads an archive on every
// file of the hostile corpus (pkg/tarball/tarballtest), with the real
// binary in an empty working directory: no panic, a documented exit code
// (2 for what cannot be read), peak RSS under 150 MB, and nothing written
// anywhere but the named output file.
func TestHostileCorpus(t *testing.T) {
	base := t.TempDir()
	bin := buildBinary(t, base)
	corpusDir := filepath.Join(base, "corpus")
	require.NoError(t, os.Mkdir(corpusDir, 0o755))
	corpus, err := tarballtest.Corpus(corpusDir)
	require.NoError(t, err)
	repo := gaRepo(t)
	// Must be refused (exit 2) by every command.
	unreadable := map[string]bool{
		"truncated-header.tar": true, "truncated-content.tar": true, "truncated.tar.gz": true, "empty.tar": true,
		"pax-huge-length.tar": true, "pax-size-negative.tar": true, "pax-size-huge.tar": true, "size-claim.tar": true,
		"bomb-gzip": true, "bomb-xz": true, "bomb-zstd": true, "bomb-bzip2": true, "sparse-bomb.tar": true,
	}
	names := make([]string, 0, len(corpus))
	for n := range corpus {
		names = append(names, n)
	}
	sort.Strings(names)
	const limit = "16777216" // 16 MiB: the bombs hold 64 MiB
	for _, name := range names {
		in := corpus[name]
		for _, args := range [][]string{
			{"checksum", "--tar", "--max-size", limit, in},
			{"diff", "--max-size", limit, in, in},
			{"diff", "--json", "--max-size", limit, in, in},
			{"normalize", "--max-size", limit, "-o", "out.tar", in},
			{"normalize", "--sort", "--max-size", limit, "-o", "out.tar.gz", in},
			{"gitarchive", "--repo", repo, "--identify", in, "--max-size", limit, "v1.0"},
		} {
			t.Run(name+"/"+args[0]+"/"+strings.Join(args[1:2], ""), func(t *testing.T) {
				cwd := filepath.Join(base, "cwd", name)
				tmp := filepath.Join(base, "tmp", name)
				require.NoError(t, os.MkdirAll(cwd, 0o755))
				require.NoError(t, os.MkdirAll(tmp, 0o755))
				defer os.RemoveAll(cwd)
				cmd := exec.Command(bin, args...)
				cmd.Dir = cwd
				cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
				cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
				var stderr syncBuffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else {
					require.NoError(t, err)
				}
				assert.NotContains(t, stderr.String(), "internal error")
				assert.NotContains(t, stderr.String(), "panic")
				if unreadable[name] {
					assert.Equal(t, exitError, code, stderr.String())
					assert.Contains(t, stderr.String(), in, "the error names the input")
				} else {
					assert.Contains(t, []int{exitOK, exitDiffer, exitError}, code, stderr.String())
				}
				rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
				assert.Less(t, rss, int64(150<<10), "peak RSS %d KiB", rss)
				// Nothing but the output file, nowhere else.
				left, err := os.ReadDir(cwd)
				require.NoError(t, err)
				for _, e := range left {
					assert.Contains(t, []string{"out.tar", "out.tar.gz"}, e.Name())
					if code == exitError {
						t.Errorf("%s left %s after failing", args[0], e.Name())
					}
				}
				tmpLeft, err := os.ReadDir(tmp)
				require.NoError(t, err)
				assert.Empty(t, tmpLeft, "temporary files left")
				for _, p := range []string{filepath.Join(base, "cwd", "pwned"), filepath.Join(base, "pwned"), "/tmp/pwned-abs", "/tmp/pwned-link"} {
					assert.NoFileExists(t, p)
				}
			})
		}
	}
}
