package gitarchive

import (
	"errors"
	"io"
	"syscall"
	"unsafe"
)

// fdOf returns the descriptor of an *os.File-like value (os.File,
// atomicfile.File, exec pipes), or -1.
func fdOf(v any) int {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1
	}
	return fd
}

const (
	spliceFMove     = 0x1
	spliceFNonblock = 0x2
)

// errNoSplice means the kernel cannot splice between these descriptors.
var errNoSplice = errors.New("gitarchive: splice not supported")

// spliceN moves n bytes from the pipe src to dst inside the kernel. Both
// descriptors stay owned by their files, which outlive the call.
func spliceN(dst, src int, n int64) (int64, error) {
	var done int64
	for done < n {
		m, err := syscall.Splice(src, nil, dst, nil, int(min(n-done, 1<<20)), spliceFMove|spliceFNonblock)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			// Wait until the source has data and the destination has room.
			if err := waitFD(src, pollIn); err != nil {
				return done, err
			}
			if err := waitFD(dst, pollOut); err != nil {
				return done, err
			}
			continue
		case err == syscall.EINVAL && done == 0:
			return 0, errNoSplice
		case err != nil:
			return done, err
		case m == 0:
			return done, io.ErrUnexpectedEOF
		}
		done += m
	}
	return done, nil
}

const (
	pollIn  = 0x1
	pollOut = 0x4
)

// waitFD blocks in ppoll(2) until fd is ready for events (or hung up).
func waitFD(fd int, events int16) error {
	type pollFd struct {
		fd      int32
		events  int16
		revents int16
	}
	p := pollFd{fd: int32(fd), events: events}
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, 0, 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}
