package fingerprint

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

func TestParseValue(t *testing.T) {
	for _, tc := range []struct {
		value, version string
		build          *Build
	}{
		{"2.4.7 Debian-2.4.7-7~deb12u1", "2.4.7", &Build{Kind: "distro", Distro: "Debian", Package: "2.4.7-7~deb12u1"}},
		{"2.4.6 Debian-2.4.6-15build2", "2.4.6", &Build{Kind: "distro", Distro: "Debian", Package: "2.4.6-15build2"}},
		{"2.5.4.1-baa1-dirty", "2.5.4.1-baa1-dirty", &Build{Kind: "development", Revision: "baa1", Dirty: true}},
		{"2.4.7", "2.4.7", nil},
	} {
		v, b := parseValue(ToolLibtool, "ltmain.sh: VERSION", tc.value)
		assert.Equal(t, tc.version, v, tc.value)
		assert.Equal(t, tc.build, b, tc.value)
	}
	assert.Equal(t, "1.16.5", UpstreamVersion("1:1.16.5-1.3"))
	assert.Equal(t, "6.7.0", UpstreamVersion("6.7.0.dfsg.2-6"))
	assert.Equal(t, "3.8.2", UpstreamVersion("2:3.8.2+dfsg-1build1"))
	assert.Equal(t, "2.4.7", UpstreamVersion("2.4.7-7~deb12u1"))
	assert.True(t, sameVersion("6.7", "6.7.0"))
	assert.False(t, sameVersion("1.16.4", "1.16.5"))
}

// The example: a tarball made with Ubuntu's libtool against
// Debian's package of the same upstream version.
func TestLibtoolSuffixNamesTheRevision(t *testing.T) {
	fp := &Fingerprint{Evidence: []Evidence{
		{Tool: ToolAutoconf, Value: "2.71", Version: "2.71", Compared: true},
		{Tool: ToolLibtool, Value: "2.4.6 Debian-2.4.6-15build2", Version: "2.4.6", Compared: true,
			Build: &Build{Kind: "distro", Distro: "Debian", Package: "2.4.6-15build2"}},
	}}
	deb := Environment{Name: "Debian 11 (bullseye)", Distro: "debian", Suite: "bullseye",
		Packages: map[string]string{"autoconf": "2.71-1", "libtool": "2.4.6-15"}}
	ubu := Environment{Name: "Ubuntu 22.04 (jammy)", Distro: "ubuntu", Suite: "jammy",
		Packages: map[string]string{"autoconf": "2.71-2", "libtool": "2.4.6-15build2"}}
	rk := Rank(fp, []Environment{deb, ubu})
	require.Len(t, rk.Candidates, 2)
	assert.Equal(t, "Ubuntu 22.04 (jammy)", rk.Candidates[0].Env.Name)
	assert.True(t, rk.Exact)
	lt := rk.Candidates[1].Checks[1]
	assert.Equal(t, Mismatch, lt.Result)
	assert.Equal(t, "suffix -15build2, Debian 11 (bullseye) has -15", lt.Note)
	// An unknown package is not a mismatch.
	rk = Rank(fp, []Environment{{Name: "X", Distro: "debian", Suite: "x", Packages: map[string]string{"autoconf": "2.71-1"}}})
	assert.Equal(t, Unknown, rk.Candidates[0].Checks[1].Result)
	assert.Empty(t, rk.RuledOut)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	curl := testenv.DebianPool(t, "main/c/curl/curl_8.14.1.orig.tar.gz", "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4")
	data, err := os.ReadFile(curl)
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	for _, tc := range []struct {
		name string
		path string
		want error
	}{
		{"truncated gzip", write("cut.tar.gz", data[:len(data)/2]), tarball.ErrTruncated},
		{"not a tarball", write("README", []byte("just some text\n")), tarball.ErrNotArchive},
		{"empty", write("empty.tar", nil), tarball.ErrEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := Scan(context.Background(), tc.path)
			require.Error(t, err)
			assert.Nil(t, fp)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.path)
		})
	}
}
