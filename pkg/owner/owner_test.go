package owner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/owner"
)

// exited returns the Owner of a real process that has ended.
func exited(t *testing.T) owner.Owner {
	t.Helper()
	cmd := exec.Command("sleep", "0.2")
	require.NoError(t, cmd.Start())
	self, err := owner.Self()
	require.NoError(t, err)
	o := self
	o.PID = cmd.Process.Pid
	require.NoError(t, cmd.Wait())
	return o // no process has this pid now (ids are not reused this soon)
}

func TestGone(t *testing.T) {
	self, err := owner.Self()
	require.NoError(t, err)
	assert.False(t, self.Gone(), "this process is running")
	assert.Equal(t, os.Getpid(), self.PID)

	o, ok := owner.FromLabels(self.Labels())
	require.True(t, ok)
	assert.Equal(t, self, o)
	_, ok = owner.FromLabels(map[string]string{"verify-release": "1"})
	assert.False(t, ok, "a container of an older version has no owner")

	reused := self
	reused.Start++ // same pid, another process
	assert.True(t, reused.Gone())

	rebooted := self
	rebooted.BootID = "00000000-0000-0000-0000-000000000000"
	assert.True(t, rebooted.Gone())

	elsewhere := reused
	elsewhere.Host = self.Host + ".other"
	assert.False(t, elsewhere.Gone(), "another host's process cannot be checked")

	assert.True(t, exited(t).Gone())
}

func TestReapDirs(t *testing.T) {
	base := t.TempDir()
	self, err := owner.Self()
	require.NoError(t, err)
	mk := func(name string, o *owner.Owner) string {
		d := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(filepath.Join(d, "src", "sub"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "src", "sub", "f"), []byte("x"), 0o444))
		require.NoError(t, os.Chmod(filepath.Join(d, "src", "sub"), 0o555))
		if o != nil {
			require.NoError(t, o.WriteFile(d))
		}
		return d
	}
	dead := exited(t)
	gone := mk("verify-release-1", &dead)
	live := mk("verify-release-2", &self)
	unknown := mk("verify-release-3", nil)
	other := mk("other-4", &dead)
	removed, err := owner.ReapDirs(filepath.Join(base, "verify-release-*"))
	require.NoError(t, err)
	assert.Equal(t, []string{gone}, removed)
	assert.NoDirExists(t, gone)
	assert.DirExists(t, live)
	assert.DirExists(t, unknown)
	assert.DirExists(t, other)
	for _, d := range []string{live, unknown, other} {
		os.Chmod(filepath.Join(d, "src", "sub"), 0o755)
	}
}
