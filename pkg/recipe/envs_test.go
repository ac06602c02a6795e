package recipe_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

const envsRecipe = `name = "p"
version = "1.0"
[source]
git = "https://example.org/p.git"
tag = "v1.0"
commit = "0123456789abcdef0123456789abcdef01234567"
[[envs]]
name = "ubuntu-22.04"
image = "docker.io/library/ubuntu:22.04@sha256:3b06811b2afd352be909dd088a004166d665dc76d38b13eada33522a9d915c6f"
[envs.tools]
libtool = "2.4.6"
[[envs]]
name = "debian-bookworm"
distro = "debian"
suite = "bookworm"
packages = ["make"]
[[envs.extra]]
suite = "bullseye"
packages = ["libtool=2.4.6-15"]
[artifacts.src]
file = "p-1.0-src.tar.gz"
sha256 = "1111111111111111111111111111111111111111111111111111111111111111"
method = "git-archive"
prefix = "p-v1.0/"
[artifacts.dist]
file = "p-1.0.tar.gz"
sha256 = "2222222222222222222222222222222222222222222222222222222222222222"
method = "build"
commands = ["make dist"]
[artifacts.zip]
file = "p-1.0.zip"
sha256 = "3333333333333333333333333333333333333333333333333333333333333333"
method = "build"
build = "deb"
[artifacts.deb]
file = "p-1.0.tar.xz"
sha256 = "4444444444444444444444444444444444444444444444444444444444444444"
method = "build"
envs = ["debian-bookworm"]
commands = ["make dist-xz"]
[[accept]]
env = "debian-bookworm"
artifact = "dist"
member = "p-1.0/build-aux/ltmain.sh"
old = "Debian-2.4.6-15"
new = "Debian-2.4.6-15build2"
reason = "distro revision"
[[accept]]
member = "p-1.0/*"
class = "mtime"
reason = "timestamps"
`

func TestEnvsParseAndSelect(t *testing.T) {
	r, err := recipe.Parse("p/1.0.toml", []byte(envsRecipe))
	require.NoError(t, err)
	assert.True(t, r.Named())
	assert.Equal(t, []string{"ubuntu-22.04", "debian-bookworm"}, r.EnvNames())
	// After Parse the first environment is selected; [envs.tools] and
	// [[envs.extra]] belong to the environment before them.
	assert.Equal(t, "ubuntu-22.04", r.EnvName())
	assert.Equal(t, map[string]string{"libtool": "2.4.6"}, r.Env.Tools)
	assert.Equal(t, []recipe.EnvExtra{{Suite: "bullseye", Packages: []string{"libtool=2.4.6-15"}}}, r.Envs[1].Extra)

	u, err := r.ForEnv("ubuntu-22.04")
	require.NoError(t, err)
	assert.False(t, u.FromArchive())
	assert.Equal(t, []string{"src", "dist"}, u.ArtifactNames(), "deb (and zip, built by deb) are debian-bookworm's only")
	require.Len(t, u.Accept, 1)
	assert.Equal(t, "mtime", u.Accept[0].Class)

	d, err := r.ForEnv("debian-bookworm")
	require.NoError(t, err)
	assert.True(t, d.FromArchive())
	assert.Equal(t, "bookworm", d.Env.Suite)
	assert.Equal(t, []string{"src", "dist", "deb", "zip"}, d.ArtifactNames())
	assert.Len(t, d.Accept, 2)
	// The original is untouched.
	assert.Equal(t, "ubuntu-22.04", r.EnvName())
	assert.Len(t, r.Artifacts, 4)

	_, err = r.ForEnv("fedora")
	require.ErrorIs(t, err, recipe.ErrUnknownEnv)
	assert.Contains(t, err.Error(), "p/1.0 has ubuntu-22.04, debian-bookworm")
}

func TestSingleEnvIsDefault(t *testing.T) {
	r, err := recipe.Parse("p/1.0.toml", []byte(minimal))
	require.NoError(t, err)
	assert.False(t, r.Named())
	assert.Equal(t, []string{recipe.DefaultEnvName}, r.EnvNames())
	c, err := r.ForEnv(recipe.DefaultEnvName)
	require.NoError(t, err)
	assert.Equal(t, r.Env, c.Env)
}

func TestEnvsInvalid(t *testing.T) {
	for _, tc := range []struct{ name, edit, want string }{
		{"no name", `name = "ubuntu-22.04"`, "envs[0].name: required key is missing"},
		{"bad name", `name = "ubuntu-22.04"` + "\x00" + `name = "Ubuntu 22"`, `"Ubuntu 22" is not an environment name`},
		{"twice", `name = "debian-bookworm"` + "\x00" + `name = "ubuntu-22.04"`, `environment "ubuntu-22.04" is defined twice`},
		{"artifact env", `envs = ["debian-bookworm"]` + "\x00" + `envs = ["fedora"]`, `"fedora" is not one of the recipe's environments (ubuntu-22.04, debian-bookworm)`},
		{"accept env", `env = "debian-bookworm"` + "\x00" + `env = "fedora"`, `accept[0].env`},
		{"build with envs", `build = "deb"`, "an artifact with build takes the environments of deb"},
		{"archive env checked", `suite = "bookworm"` + "\x00" + `suite = "Bookworm!"`, `envs[1].suite: "Bookworm!" is not a suite name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := envsRecipe
			old, repl, ok := strings.Cut(tc.edit, "\x00")
			switch {
			case ok:
				s = strings.Replace(s, old, repl, 1)
			case tc.name == "no name":
				s = strings.Replace(s, old+"\n", "", 1)
			default:
				s = strings.Replace(s, old, old+"\nenvs = [\"ubuntu-22.04\"]", 1)
			}
			require.NotEqual(t, envsRecipe, s)
			_, err := recipe.Parse("p/1.0.toml", []byte(s))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// An accept entry for an artifact the named environment does not
	// re-create.
	s := strings.Replace(envsRecipe, "env = \"debian-bookworm\"\nartifact = \"dist\"", "env = \"ubuntu-22.04\"\nartifact = \"deb\"", 1)
	_, err := recipe.Parse("p/1.0.toml", []byte(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "artifact deb is not re-created in environment ubuntu-22.04")
}
