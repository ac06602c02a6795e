package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// pollInterval is how often Lock and LockShared retry a held lock.
const pollInterval = 100 * time.Millisecond

// Lock takes an exclusive lock on path (created if missing), waiting
// until it is free or ctx is done. The returned function releases it.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	return wait(ctx, path, syscall.LOCK_EX)
}

// LockShared takes a shared lock on path (created if missing), waiting
// while another holds it exclusively or until ctx is done. Any number of
// shared locks are held at once; an exclusive lock waits for all of them.
func LockShared(ctx context.Context, path string) (unlock func(), err error) {
	return wait(ctx, path, syscall.LOCK_SH)
}

// TryLock takes an exclusive lock on path without waiting; ok is false
// when another process (or another open file in this one) holds it,
// shared or exclusive.
func TryLock(path string) (unlock func(), ok bool, err error) {
	return try(path, syscall.LOCK_EX)
}

func wait(ctx context.Context, path string, how int) (func(), error) {
	for {
		unlock, ok, err := try(path, how)
		if err != nil || ok {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("filelock: waiting for %s: %w", path, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func try(path string, how int) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("filelock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("filelock: %s: %w", path, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, true, nil
}
