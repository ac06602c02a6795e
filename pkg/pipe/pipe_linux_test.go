// F_SETPIPE_SZ exists only on Linux: the file name limits this test to it.

package pipe

import (
	"os"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pipeSize(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	require.NoError(t, err)
	var size uintptr
	require.NoError(t, rc.Control(func(fd uintptr) {
		const fGetPipeSz = 1032
		size, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fGetPipeSz, 0)
	}))
	return int(size)
}

func TestGrow(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	before := pipeSize(t, r)
	Grow(r)
	assert.Equal(t, Size, pipeSize(t, w), "both ends share the buffer (was %d)", before)
	Grow(nil) // not a file: nothing happens
}
