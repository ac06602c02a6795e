package verdict

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

const ltmain = "libntlm-1.6/build-aux/ltmain.sh"

// proofPair makes, from libntlm 1.6's real dist tarball, a "re-created"
// tarball (the tree re-tarred as it is) and a "published" one whose
// ltmain.sh was changed by sedScript, both with GNU tar and the real
// `gzip -9n --rsyncable`; it returns the re-created path and the
// published sha256 (sha256sum's).
func proofPair(t *testing.T, sedScript string) (recreated, published string) {
	t.Helper()
	_, recreated = testenv.Libntlm16ChangedWith(t, t.TempDir(), "true", "gzip -9n --rsyncable")
	dir := t.TempDir()
	_, pub := testenv.Libntlm16ChangedWith(t, dir, sedScript, "gzip -9n --rsyncable")
	out, err := exec.Command("sha256sum", pub).Output()
	require.NoError(t, err)
	return recreated, strings.Fields(string(out))[0]
}

func prove(t *testing.T, recreated, expected string, accepts ...recipe.Accept) *Proof {
	t.Helper()
	var idx []int
	for i := range accepts {
		idx = append(idx, i+1)
	}
	p, err := Prove(context.Background(), recreated, expected, accepts, Substitutions(accepts, idx))
	require.NoError(t, err)
	return p
}

// The libtool distro-suffix case: the published ltmain.sh says
// Debian-2.4.6-9build2 where the re-created one says Debian-2.4.6-9.
func TestProveRealSuffixSubstitution(t *testing.T) {
	// ltmain.sh names the package revision twice (VERSION= and the
	// --version text); the substitution must change both.
	recreated, published := proofPair(t, `test "$(grep -c 'Debian-2.4.6-9' libntlm-1.6/build-aux/ltmain.sh)" = 2
sed -i 's/Debian-2\.4\.6-9/Debian-2.4.6-9build2/g' libntlm-1.6/build-aux/ltmain.sh`)
	sub := recipe.Accept{Member: ltmain, Old: "Debian-2.4.6-9", New: "Debian-2.4.6-9build2", Reason: "Ubuntu's libtool rebuild stamps its revision"}
	p := prove(t, recreated, published, sub)
	assert.True(t, p.Matched, p.Summary())
	assert.Empty(t, p.Error)
	assert.Equal(t, published, p.Got)
	assert.Equal(t, 2, p.Substitutions[0].Count)
	assert.Contains(t, p.Compression, "GNU gzip -9 --rsyncable")
	assert.Contains(t, p.Summary(), "gives the expected sha256 "+published)

	// A substitution that gives other text: DIFFERENT, both sha256s shown.
	wrong := sub
	wrong.New = "Debian-2.4.6-9build3"
	p = prove(t, recreated, published, wrong)
	assert.False(t, p.Matched)
	assert.NotEqual(t, published, p.Got)
	assert.Contains(t, p.Summary(), "has sha256 "+p.Got+", expected "+published)

	// A substitution whose old text is not in the member.
	absent := sub
	absent.Old = "Debian-2.4.6-15"
	p = prove(t, recreated, published, absent)
	assert.False(t, p.Matched)
	assert.Contains(t, p.Error, `"Debian-2.4.6-15" does not occur in member `+ltmain)

	// A member that is not in the archive.
	missing := sub
	missing.Member = "libntlm-1.6/nope.sh"
	p = prove(t, recreated, published, missing)
	assert.False(t, p.Matched)
	assert.Contains(t, p.Error, "member libntlm-1.6/nope.sh is not in the archive")
}

// A substitution that grows the member past its last 512-byte block, and
// the archive past a 10240-byte record: the size field, the checksum and
// the record padding GNU tar writes are all recomputed.
func TestProveRealSubstitutionCrossesBlocks(t *testing.T) {
	long := strings.Repeat("x", 11000)
	recreated, published := proofPair(t, `sed -i 's/^package_revision=2.4.6$/package_revision=2.4.6`+long+`/' libntlm-1.6/build-aux/ltmain.sh`)
	p := prove(t, recreated, published, recipe.Accept{Member: ltmain, Old: "package_revision=2.4.6\n", New: "package_revision=2.4.6" + long + "\n", Reason: "test"})
	assert.True(t, p.Matched, p.Summary())
	assert.Equal(t, 1, p.Substitutions[0].Count)
}
