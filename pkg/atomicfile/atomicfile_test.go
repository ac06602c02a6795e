package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteCommits(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	require.NoError(t, Write(dest, func(w io.Writer) error {
		_, err := io.WriteString(w, "hello")
		return err
	}))
	b, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file may remain")
}

func TestWriteFailureLeavesNothingAndKeepsOld(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(dest, []byte("original"), 0o644))
	boom := errors.New("boom")
	err := Write(dest, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	require.ErrorIs(t, err, boom)
	b, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, "original", string(b), "the user's file must be untouched")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file may remain")
}

func TestCreateInMissingDir(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "nope", "out"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}

// Writing to a device must not rename a file over it.
func TestWriteToDeviceKeepsIt(t *testing.T) {
	require.NoError(t, Write(os.DevNull, func(w io.Writer) error {
		_, err := io.WriteString(w, "discarded")
		return err
	}))
	st, err := os.Stat(os.DevNull)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&os.ModeCharDevice, "/dev/null must still be a character device")
}
