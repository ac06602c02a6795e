package corpus_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// The draft 'recipe new' writes for curl 8.14.1's orig tarball runs: it is
// checked, pinned (its own bookworm environment: perl and git at bookworm's
// current point releases, not the tarball's superseded +deb12u2) and run
// from the published dist. The verdict must be REPRODUCED or DIFFERENT
// with named members, never an ERROR. Found by hand with the same steps
// (2026-12-03): DIFFERENT, one member, docs/RELEASE-TOOLS.md, the file in
// which curl's release records the perl and git versions that made it
// (+deb12u2, which no signed bookworm index lists any more; the draft pins
// what bookworm has): `diff <(tar -xzOf curl_8.14.1.orig.tar.gz
// curl-8.14.1/docs/RELEASE-TOOLS.md) <(tar -xzOf out/curl/8.14.1/curl-8.14.1.tar.gz
// curl-8.14.1/docs/RELEASE-TOOLS.md)` shows only those two lines. Steps:
//
//	curl -fsSLO http://deb.debian.org/debian/pool/main/c/curl/curl_8.14.1.orig.tar.gz
//	sha256sum curl_8.14.1.orig.tar.gz   # 6766ada7..., as curl_8.14.1-2+deb13u5.dsc lists
//	verify-release recipe new --git https://github.com/curl/curl.git --tag curl-8_14_1 \
//	    --debian curl -o r/curl/8.14.1.toml curl_8.14.1.orig.tar.gz
//	verify-release recipe check r/curl/8.14.1.toml && verify-release pin r/curl/8.14.1.toml
//	verify-release run r/curl/8.14.1.toml --out out
func TestCorpusCurl8141DraftRuns(t *testing.T) {
	testenv.RequireDocker(t)
	t.Parallel()
	const sha = "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4"
	f := testenv.DebianPool(t, "main/c/curl/curl_8.14.1.orig.tar.gz", sha)
	rec := filepath.Join(t.TempDir(), "r", "curl", "8.14.1.toml")
	code, _, stderr := run(t, "recipe", "new", "--git", "https://github.com/curl/curl.git", "--tag", "curl-8_14_1", "--debian", "curl", "-o", rec, f)
	require.Equal(t, 0, code, stderr)
	code, _, stderr = run(t, "recipe", "check", rec)
	require.Equal(t, 0, code, stderr)
	slot(t)
	code, _, stderr = run(t, "pin", rec)
	require.Equal(t, 0, code, stderr)
	out := t.TempDir()
	code, stdout, stderr := run(t, "run", rec, "--out", out, "--quiet")
	require.Contains(t, []int{0, 1}, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	data, err := os.ReadFile(filepath.Join(out, "curl", "8.14.1", "report.json"))
	require.NoError(t, err)
	var rep struct {
		Artifacts []struct {
			Status string
			Diff   *struct{ Members []string }
		}
	}
	require.NoError(t, json.Unmarshal(data, &rep))
	require.Len(t, rep.Artifacts, 1)
	a := rep.Artifacts[0]
	require.Contains(t, []string{"REPRODUCED", "MISMATCH"}, a.Status, stdout)
	if a.Status == "MISMATCH" {
		require.NotNil(t, a.Diff, "a MISMATCH names its differences")
		assert.Equal(t, []string{"curl-8.14.1/docs/RELEASE-TOOLS.md"}, a.Diff.Members, stdout)
	}
}
