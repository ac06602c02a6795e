package filelock_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/filelock"
)

func TestLockExcludesAndWaits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := filelock.Lock(context.Background(), p)
	require.NoError(t, err)

	_, ok, err := filelock.TryLock(p)
	require.NoError(t, err)
	assert.False(t, ok, "held by the first lock")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = filelock.Lock(ctx, p)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	done := make(chan struct{})
	go func() {
		u, err := filelock.Lock(context.Background(), p)
		if err == nil {
			u()
		}
		close(done)
	}()
	time.Sleep(150 * time.Millisecond)
	unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting Lock did not get the lock after it was released")
	}
}

// Another process holding the lock (flock(1) from util-linux) is seen too.
func TestTryLockSeesOtherProcess(t *testing.T) {
	_, err := exec.LookPath("flock")
	require.NoError(t, err, "this test needs flock(1) from util-linux")
	p := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command("flock", p, "sleep", "2")
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	require.Eventually(t, func() bool {
		unlock, ok, err := filelock.TryLock(p)
		if ok {
			unlock() // flock(1) has not taken it yet
		}
		return err == nil && !ok
	}, 2*time.Second, 20*time.Millisecond)
}

// Shared locks coexist and keep an exclusive one out until the last is
// released; flock(1) -s in another process counts the same.
func TestSharedLocks(t *testing.T) {
	_, err := exec.LookPath("flock")
	require.NoError(t, err, "this test needs flock(1) from util-linux")
	p := filepath.Join(t.TempDir(), "x.lock")
	u1, err := filelock.LockShared(context.Background(), p)
	require.NoError(t, err)
	u2, err := filelock.LockShared(context.Background(), p)
	require.NoError(t, err)
	_, ok, err := filelock.TryLock(p)
	require.NoError(t, err)
	assert.False(t, ok, "shared locks are held")
	// flock(1) agrees: a shared lock is granted, an exclusive one is not.
	assert.NoError(t, exec.Command("flock", "-s", "-n", p, "true").Run())
	assert.Error(t, exec.Command("flock", "-x", "-n", p, "true").Run())
	u1()
	_, ok, err = filelock.TryLock(p)
	require.NoError(t, err)
	assert.False(t, ok, "one shared lock is still held")
	u2()
	unlock, ok, err := filelock.TryLock(p)
	require.NoError(t, err)
	require.True(t, ok)
	// While exclusive, a shared lock waits.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = filelock.LockShared(ctx, p)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	unlock()
}
