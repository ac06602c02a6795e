package corpus_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// curl 8.14.1's release tarball re-created from itself
// (corpus/debian/curl/8.14.1.toml): Debian trixie's
// curl_8.14.1.orig.tar.gz unpacked, `autoreconf -fi`, `./configure
// --without-ssl --without-libpsl`, `make`, `./scripts/maketgz 8.14.1`
// with SOURCE_DATE_EPOCH=1749015729, in bookworm with the package versions
// the tarball's docs/RELEASE-TOOLS.md lists (perl and git at +deb12u2 from
// the pool, by digest). The expected sha256 is the one Debian's
// curl_8.14.1-2+deb13u5.dsc lists for the orig tarball; the same commands
// by hand in a bookworm root with those versions gave those bytes (issue
// 12, item 6).
func TestCorpusCurl8141DistFromDist(t *testing.T) {
	testenv.RequireDocker(t)
	t.Parallel() // beside the other builds of the package, two at a time
	out, stdout, data := runRecipe(t, filepath.Join("debian", "curl", "8.14.1.toml"), "curl", "8.14.1", exitOK)
	assert.Contains(t, stdout, "result: REPRODUCED")

	var rep struct {
		Result    string
		Artifacts []struct {
			Name, Status, From string
			Actual             string `json:"actual_sha256"`
			SourceDateEpoch    int64  `json:"source_date_epoch"`
		}
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Artifacts, 1)
	a := rep.Artifacts[0]
	assert.Equal(t, "REPRODUCED", a.Status)
	assert.Equal(t, "dist", a.From)
	assert.Equal(t, int64(1749015729), a.SourceDateEpoch, "docs/RELEASE-TOOLS.md of the tarball")
	assert.Equal(t, "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4", a.Actual)
	checkResultsTable(t, out)
}
