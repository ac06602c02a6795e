package envpin_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// An image that exists only in the local engine (made by docker commit,
// no repo digest) is pinned, saved, loaded elsewhere and found again,
// with no registry at any step.
func TestPinLocalImage(t *testing.T) {
	d := testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, base := testenv.BookwormAutotoolsImage(t) // shared with the other e2e tests
	name := "vr-local-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ref := "verify-release-test/local-only:" + name
	sh := func(args ...string) string {
		out, err := exec.Command("docker", args...).CombinedOutput()
		require.NoError(t, err, "docker %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	sh("run", "--name", name, base, "sh", "-c", "echo local > /local-only")
	sh("commit", name, ref)
	sh("rm", name)
	id := sh("image", "inspect", "-f", "{{.Id}}", ref)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", id).Run() })
	assert.Equal(t, "[]", sh("image", "inspect", "-f", "{{json .RepoDigests}}", ref), "a local-only image")

	dest := filepath.Join(t.TempDir(), "img.tar")
	pin, err := envpin.PinLocal(ctx, d, ref, dest)
	require.NoError(t, err)
	assert.Equal(t, id, pin.ConfigDigest, "the config digest is docker's image ID")
	dg, cd, err := envpin.ArchiveDigests(dest)
	require.NoError(t, err)
	assert.Equal(t, pin.Digest, dg)
	assert.Equal(t, pin.ConfigDigest, cd)

	// Used by a run: the engine's image with the config digest, no registry.
	ens, err := envpin.EnsureImage(ctx, d, "verify-release-test/local-only@"+pin.Digest, pin.ConfigDigest, envpin.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	assert.Equal(t, envpin.SourceEngine, ens.Source)
	assert.Equal(t, id, ens.ImageID)

	// Another machine: not in the engine; loaded from the saved archive.
	sh("rmi", "-f", id)
	ens, err = envpin.LoadArchive(ctx, d, dest, pin, envpin.WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	assert.Equal(t, id, ens.ImageID)
	assert.Equal(t, "local", sh("run", "--rm", "--network", "none", id, "cat", "/local-only"))
}
