package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/owner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// containersOf lists (with the docker CLI, not the code under test) the
// containers whose owner label names pid.
func containersOf(t *testing.T, pid int) []string {
	t.Helper()
	return dockerPS(t, "--filter", "label="+owner.LabelPID+"="+strconv.Itoa(pid))
}

func dockerPS(t *testing.T, filters ...string) []string {
	t.Helper()
	args := append([]string{"ps", "-aq", "--no-trunc", "--filter", "label=" + engine.Label + "=1"}, filters...)
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return strings.Fields(string(out))
}

// TestSIGKILLedRunIsReaped kills a real run with SIGKILL while its build
// step sleeps: its container (kept alive by the session loop) and its
// temporary directory stay behind. The next run removes both, and neither
// it nor 'cache prune --containers' touches the container of a run that
// is still alive.
func TestSIGKILLedRunIsReaped(t *testing.T) {
	testenv.RequireDocker(t)
	ref, _ := testenv.BookwormAutotoolsImage(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	store, _ := runRepo(t)
	data, err := os.ReadFile(filepath.Join(store, "demo", "1.0.toml"))
	require.NoError(t, err)
	recipe := strings.Replace(string(data), `image = "example.invalid/x@sha256:`+strings.Repeat("0", 64)+`"`, `image = "`+ref+`"`, 1)
	recipe = strings.Replace(recipe, `commands = ["echo notes > notes.txt"]`, `commands = ["sleep 600"]`, 1)
	require.NoError(t, os.WriteFile(filepath.Join(store, "demo", "1.0.toml"), []byte(recipe), 0o644))
	tmp := t.TempDir()
	cache := t.TempDir()
	start := func() (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(bin, "run", "demo", "1.0", "--allow-local-git", "--backend", "docker", "--cache-dir", cache)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "VERIFY_RELEASE_RECIPES="+store)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		stderr := &syncBuffer{}
		cmd.Stderr = stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		require.Eventually(t, func() bool {
			return len(dockerPS(t, "--filter", "status=running", "--filter", "label="+owner.LabelPID+"="+strconv.Itoa(cmd.Process.Pid))) == 1 &&
				strings.Contains(stderr.String(), "sleep 600")
		}, 3*time.Minute, 200*time.Millisecond, "the run starts its build step: %s", stderr)
		return cmd, stderr
	}
	workDirs := func() []string {
		m, err := filepath.Glob(filepath.Join(tmp, "verify-release-*"))
		require.NoError(t, err)
		return m
	}

	crashed, _ := start()
	left := containersOf(t, crashed.Process.Pid)
	require.Len(t, workDirs(), 1)
	require.NoError(t, crashed.Process.Kill())
	crashed.Wait()
	time.Sleep(time.Second)
	require.Equal(t, left, containersOf(t, crashed.Process.Pid), "SIGKILL leaves the container")
	require.Len(t, workDirs(), 1, "and the temporary directory")
	crashedDir := workDirs()[0]

	// The next run reaps them, and only them.
	live, liveErr := start()
	assert.Empty(t, containersOf(t, crashed.Process.Pid), "the next run removed the crashed run's container")
	assert.NoDirExists(t, crashedDir)
	assert.Contains(t, liveErr.String(), "removed container "+left[0][:12])
	mine := containersOf(t, live.Process.Pid)
	require.Len(t, mine, 1)

	// cache prune --containers leaves the live run's container.
	code, out, errOut := run(t, nil, "cache", "prune", "--containers", "--cache-dir", t.TempDir())
	require.Equal(t, exitOK, code, errOut)
	assert.NotContains(t, out, mine[0])
	assert.Equal(t, mine, containersOf(t, live.Process.Pid))

	// Interrupted properly, the live run cleans up after itself.
	require.NoError(t, live.Process.Signal(syscall.SIGINT))
	werr := live.Wait()
	assert.Empty(t, containersOf(t, live.Process.Pid), "%v: %s", werr, liveErr)
	assert.Empty(t, workDirs())
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
