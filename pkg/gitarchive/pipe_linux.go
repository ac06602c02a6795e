package gitarchive

import (
	"io"
	"os"
	"syscall"
)

// growPipe enlarges a pipe to 1 MiB (F_SETPIPE_SZ) so a cat-file process
// can run ahead of the tar writer; failures are ignored.
func growPipe(r io.Reader) {
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
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 1<<20)
	})
}
