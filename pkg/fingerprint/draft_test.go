package fingerprint

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// libpipeline 1.5.7 was made with Debian's libtool 2.4.7-4, which no suite
// has: the draft still installs libtool, unversioned, and says why.
func TestDraftKeepsAMismatchedToolUnversioned(t *testing.T) {
	f := testenv.DebianPool(t, "main/libp/libpipeline/libpipeline_1.5.7.orig.tar.gz", "b8b45194989022a79ec1317f64a2a75b1551b2a55bea06f67704cb2a2e4690b0")
	fp, err := Scan(context.Background(), f)
	require.NoError(t, err)
	rep := NewReport(fp, append(archiveEnvironments(t), Known()...))
	d, err := NewDraft(context.Background(), rep, DraftOptions{Git: "https://git.savannah.nongnu.org/git/libpipeline.git", Tag: "1.5.7"})
	require.NoError(t, err)
	r, err := recipe.Parse("libpipeline/1.5.7.toml", d.TOML)
	require.NoError(t, err, "%s", d.TOML)
	assert.Equal(t, "libpipeline", r.Name)
	assert.Equal(t, recipe.Unresolved, r.Source.Commit)
	assert.Equal(t, "debian", r.Env.Distro)
	assert.Equal(t, "bookworm", r.Env.Suite)
	// grep -c 'checking whether the C compiler works' configure: a C
	// compiler check, so the C toolchain (gcc, libc6-dev, make).
	assert.Equal(t, []string{"autoconf=2.71-3", "automake=1:1.16.5-1.3", "libtool", "gcc", "libc6-dev", "make"}, r.Env.Packages)
	assert.Equal(t, "2.4.7 Debian-2.4.7-4", r.Env.Tools["ltmain"])
	// No clone: from the dist itself, whose members keep their mtimes.
	dist := r.Artifacts["dist"]
	assert.Equal(t, recipe.FromDist, dist.From)
	assert.Equal(t, recipe.MtimeNone, dist.Mtime)
	assert.Equal(t, []string{"./configure", "make dist"}, dist.Commands)
	assert.True(t, strings.Contains(string(d.TOML), "# NOT ESTABLISHED: libtool as the tarball has it (2.4.7 Debian-2.4.7-4): suffix -4, Debian 12 (bookworm) has -7~deb12u1\n"), "%s", d.TOML)
	assert.Contains(t, d.Missing, "libtool 2.4.7 Debian-2.4.7-4 is not in Debian 12 (bookworm)")
}
