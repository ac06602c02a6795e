package corpus_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// libntlm 1.8's dist tarball re-created from its -src tarball with nothing
// but Debian's archive (recipes/libntlm/1.8.toml, environment
// debian-bookworm, locked in 1.8@debian-bookworm.lock): the environment
// from the locked .debs, the -src tarball from trixie's orig tarball,
// gnulib from trixie's gnulib bundle. The expected values were found by
// hand, independently of verify-release (issue 12, item 6): in a bookworm
// root with bullseye's libtool 2.4.6-15, `./bootstrap --skip-po
// --gnulib-srcdir=<bundle checkout at dfb71172>`, `./configure`, `make
// dist` from libntlm_1.8.orig.tar.gz gives 606b412d…2dd7; replacing
// `Debian-2.4.6-15` by `Debian-2.4.6-15build2` in build-aux/ltmain.sh (2
// lines) and recompressing the same tar stream with `gzip -9n --rsyncable`
// gives the published ce6569a4…fda1.
func TestCorpusLibntlm18DistFromSrc(t *testing.T) {
	testenv.RequireDocker(t)
	t.Parallel() // beside the other builds of the package, two at a time
	out, stdout, data := runRecipe(t, filepath.Join("..", "recipes", "libntlm", "1.8.toml"), "libntlm", "1.8", exitOK,
		"--env", "debian-bookworm", "--artifact", "dist")
	assert.Contains(t, stdout, "result: EQUIVALENT")

	var rep struct {
		Result    string `json:"result"`
		Env       struct{ Name string }
		Artifacts []struct {
			Name, Status, Env string
			Actual            string `json:"actual_sha256"`
			Verdict           struct {
				Proof struct {
					Substitutions []struct {
						Member, Old, New string
						Count            int
					}
					Compression string
					SHA256      string
					Matched     bool
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	assert.Equal(t, "EQUIVALENT", rep.Result)
	assert.Equal(t, "debian-bookworm", rep.Env.Name)
	var found bool
	for _, a := range rep.Artifacts {
		if a.Name != "dist" {
			continue
		}
		found = true
		assert.Equal(t, "EQUIVALENT", a.Status)
		assert.Equal(t, "debian-bookworm", a.Env)
		assert.Equal(t, "606b412dcf49606e9f6f2af54168f4e399494f185b2eed0e52ef8fad564b2dd7", a.Actual)
		p := a.Verdict.Proof
		assert.True(t, p.Matched)
		assert.Equal(t, "ce6569a47a21173ba69c990965f73eb82d9a093eb871f935ab64ee13df47fda1", p.SHA256)
		require.Len(t, p.Substitutions, 1)
		assert.Equal(t, "libntlm-1.8/build-aux/ltmain.sh", p.Substitutions[0].Member)
		assert.Equal(t, 2, p.Substitutions[0].Count, "two lines of ltmain.sh carry the package revision")
		assert.Contains(t, p.Compression, "GNU gzip -9 --rsyncable")
	}
	assert.True(t, found, "no dist artifact in report.json")
	checkResultsTable(t, out)

	t.Run("audit", func(t *testing.T) {
		auditXZPattern(t, filepath.Join(out, "libntlm", "1.8", "libntlm-1.8.tar.gz"))
	})
}
