package runner

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// PickEnv against a real registry (go-containerregistry's, on
// 127.0.0.1) and a port nothing listens on: an environment whose registry
// does not answer is passed over with the reason; one whose registry
// serves the manifest is chosen.
func TestPickEnvFirstReachable(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host+"/demo/env:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)

	// A port that was listening and is closed now: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()

	recipeWith := func(envs ...string) *recipe.Recipe {
		var b strings.Builder
		b.WriteString("name = \"p\"\nversion = \"1.0\"\n[source]\ngit = \"https://example.org/p.git\"\ntag = \"v1.0\"\ncommit = \"" + strings.Repeat("a", 40) + "\"\n")
		for _, e := range envs {
			b.WriteString(e)
		}
		b.WriteString("[artifacts.dist]\nfile = \"p.tar.gz\"\nsha256 = \"" + strings.Repeat("b", 64) + "\"\nmethod = \"build\"\ncommands = [\"true\"]\n")
		r, err := recipe.Parse("p/1.0.toml", []byte(b.String()))
		require.NoError(t, err)
		return r
	}
	env := func(n, image string) string {
		return fmt.Sprintf("[[envs]]\nname = %q\nimage = %q\n", n, image)
	}
	live := host + "/demo/env@" + d.String()
	down := dead + "/demo/env@" + d.String()
	ctx := context.Background()

	r := recipeWith(env("down", down), env("live", live))
	got, skipped, err := PickEnv(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, "live", got.EnvName())
	assert.Equal(t, live, got.Env.Image)
	require.Len(t, skipped, 1)
	assert.Equal(t, "down", skipped[0].Name)
	assert.Contains(t, skipped[0].Reason, "does not answer")
	assert.Contains(t, skipped[0].Reason, dead)

	// The first reachable one wins, in recipe order.
	got, skipped, err = PickEnv(ctx, recipeWith(env("live", live), env("down", down)))
	require.NoError(t, err)
	assert.Equal(t, "live", got.EnvName())
	assert.Empty(t, skipped)

	// None reachable: ErrNoEnv naming each and why.
	_, skipped, err = PickEnv(ctx, recipeWith(env("a", down), env("b", down)))
	require.ErrorIs(t, err, ErrNoEnv)
	assert.Len(t, skipped, 2)
	assert.Contains(t, err.Error(), "a: image "+down)

	// The host backend cannot probe: the first, without probing.
	got, skipped, err = PickEnv(ctx, recipeWith(env("down", down), env("live", live)), WithEngine(nil, BackendHost))
	require.NoError(t, err)
	assert.Equal(t, "down", got.EnvName())
	assert.Empty(t, skipped)
}
