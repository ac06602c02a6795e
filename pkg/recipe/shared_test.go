package recipe_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// curlLike is the shape of curl's release: one maketgz run leaves four
// files, built with the release script's SOURCE_DATE_EPOCH.
const curlLike = minimal + `
[artifacts.dist]
file = "demo-1.0.tar.gz"
sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
method = "build"
source_date_epoch = 1749015729
commands = ["./maketgz 1.0"]

[artifacts.dist-xz]
file = "demo-1.0.tar.xz"
sha256 = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
method = "build"
build = "dist"

[artifacts.dist-zip]
file = "demo-1.0.zip"
sha256 = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
method = "build"
build = "dist"
output = "out/demo-1.0.zip"
`

func TestSharedBuildAndSourceDateEpoch(t *testing.T) {
	r, err := recipe.Parse("demo.toml", []byte(curlLike))
	require.NoError(t, err)
	require.NotNil(t, r.Artifacts["dist"].SourceDateEpoch)
	assert.Equal(t, int64(1749015729), *r.Artifacts["dist"].SourceDateEpoch)
	assert.Nil(t, r.Artifacts["src"].SourceDateEpoch)
	assert.Equal(t, []string{"dist", "dist-xz", "dist-zip"}, r.SharedOutputs("dist"))
	assert.Equal(t, "dist", r.BuildOwner("dist-zip"))
	assert.Equal(t, "dist", r.BuildOwner("dist"))
	assert.Equal(t, "src", r.BuildOwner("src"))
	assert.Equal(t, "demo-1.0.tar.xz", r.Artifacts["dist-xz"].Output)
	assert.Equal(t, "out/demo-1.0.zip", r.Artifacts["dist-zip"].Output)
}

func TestSharedBuildAndSourceDateEpochInvalid(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"zero epoch", "source_date_epoch = 1749015729", "source_date_epoch = 0",
			"demo.toml:22: artifacts.dist.source_date_epoch: 0 is not a time in Unix seconds between 1 and 253402300799"},
		{"negative epoch", "source_date_epoch = 1749015729", "source_date_epoch = -5",
			"demo.toml:22: artifacts.dist.source_date_epoch: -5 is not a time"},
		{"epoch past 9999", "source_date_epoch = 1749015729", "source_date_epoch = 253402300800",
			"artifacts.dist.source_date_epoch: 253402300800 is not a time"},
		{"epoch as string", "source_date_epoch = 1749015729", `source_date_epoch = "1749015729"`,
			"demo.toml:22"},
		{"epoch as float", "source_date_epoch = 1749015729", `source_date_epoch = 1749015729.5`,
			"demo.toml:22"},
		{"epoch on git-archive", `prefix = "demo-v1.0/"`, "prefix = \"demo-v1.0/\"\nsource_date_epoch = 5",
			"artifacts.src: source_date_epoch and build apply to build artifacts only"},
		{"unknown build", `build = "dist"
output = "out/demo-1.0.zip"`, `build = "dist2"`,
			`demo.toml:35: artifacts.dist-zip.build: "dist2" is not an artifact of this recipe`},
		{"build of a git-archive", `build = "dist"
output = "out/demo-1.0.zip"`, `build = "src"`,
			`artifacts.dist-zip.build: "src" is a git-archive artifact, not a build`},
		{"chained build", `build = "dist"
output = "out/demo-1.0.zip"`, `build = "dist-xz"`,
			`artifacts.dist-zip.build: "dist-xz" is itself made by the build of "dist": name "dist"`},
		{"self", `build = "dist"
output = "out/demo-1.0.zip"`, `build = "dist-zip"`,
			`artifacts.dist-zip.build: an artifact cannot name itself`},
		{"commands with build", `build = "dist"
output = "out/demo-1.0.zip"`, "build = \"dist\"\ncommands = [\"true\"]",
			`artifacts.dist-zip.build: an artifact made by the build of "dist" takes no commands, mtime, from or source_date_epoch of its own`},
		{"epoch with build", `build = "dist"
output = "out/demo-1.0.zip"`, "build = \"dist\"\nsource_date_epoch = 5",
			`takes no commands, mtime, from or source_date_epoch`},
		{"from with build", `build = "dist"
output = "out/demo-1.0.zip"`, "build = \"dist\"\nfrom = \"dist\"",
			`takes no commands, mtime, from or source_date_epoch`},
		{"same output", `output = "out/demo-1.0.zip"`, `output = "demo-1.0.tar.xz"`,
			`artifacts.dist-zip.output: "demo-1.0.tar.xz" is also the output of artifact "dist-xz" of the same build`},
		{"build on git-archive", `prefix = "demo-v1.0/"`, "prefix = \"demo-v1.0/\"\nbuild = \"dist\"",
			"artifacts.src: source_date_epoch and build apply to build artifacts only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := replaceOnce(t, curlLike, tt.from, tt.to)
			_, err := recipe.Parse("demo.toml", []byte(data))
			require.Error(t, err)
			assert.True(t, errors.Is(err, recipe.ErrInvalid))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func replaceOnce(t *testing.T, s, from, to string) string {
	t.Helper()
	i := indexOnce(t, s, from)
	return s[:i] + to + s[i+len(from):]
}

func indexOnce(t *testing.T, s, sub string) int {
	t.Helper()
	first, last := -1, -1
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	require.True(t, first >= 0 && first == last, "%q must occur exactly once", sub)
	return first
}
