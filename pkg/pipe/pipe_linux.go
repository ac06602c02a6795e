package pipe

import (
	"io"
	"os"
	"syscall"
)

// Size is what Grow asks for: the default pipe-max-size of Linux.
const Size = 1 << 20

// Grow enlarges the pipe behind r to Size bytes (F_SETPIPE_SZ), so that a
// producer process can run ahead of the reader instead of waking it every
// 64 KiB. It does nothing when r is not an *os.File or the call fails (the
// pipe then keeps its size; only speed is at stake).
func Grow(r io.Reader) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		const fSetPipeSz = 1031
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, Size)
	})
}
