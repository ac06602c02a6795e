package digest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/digest"
)

func TestFileMatchesSha256sum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte(strings.Repeat("verify-release\n", 10000)), 0o644))
	out, err := exec.Command("sha256sum", p).Output()
	require.NoError(t, err, "needs sha256sum")
	got, err := digest.File(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, strings.Fields(string(out))[0], got)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = digest.File(ctx, p)
	require.ErrorIs(t, err, context.Canceled)

	_, err = digest.File(context.Background(), filepath.Join(t.TempDir(), "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
