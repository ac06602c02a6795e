package envpin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/envpin"
	"gitlab.com/verify-release/verify-release/pkg/rootfs"
)

// An Ubuntu lock (the archive is not reachable here): encode, parse back,
// and the env digest is the package list's.
func TestArchiveLockRoundTripUbuntu(t *testing.T) {
	l := &envpin.Lock{
		Version: envpin.LockVersion,
		Image:   envpin.LockedImage{Ref: "verify-release-env:0123456789abcdef", Digest: "sha256:" + strings.Repeat("a", 64), ConfigDigest: "sha256:" + strings.Repeat("b", 64)},
		Archive: &envpin.LockedArchive{Distro: "ubuntu", Suite: "jammy", Snapshot: "20240301T000000Z", SourceDateEpoch: 1650000000,
			Releases: []envpin.LockedRelease{{Suite: "jammy", Date: "2022-04-21T17:16:08Z", SignedBy: strings.Repeat("C", 40), SHA256: strings.Repeat("d", 64)}}},
		Packages: []rootfs.Package{
			{Name: "libtool", Version: "2.4.6-15build2", Architecture: "all", Suite: "jammy", Filename: "pool/main/libt/libtool/libtool_2.4.6-15build2_all.deb", Size: 164000, SHA256: strings.Repeat("e", 64)},
			{Name: "dpkg", Version: "1.21.1ubuntu2", Architecture: "amd64", Suite: "jammy", Filename: "pool/main/d/dpkg/dpkg_1.21.1ubuntu2_amd64.deb", Size: 1200000, SHA256: strings.Repeat("f", 64), Essential: true},
		},
	}
	l.Archive.EnvDigest = l.Spec().Digest()
	var buf bytes.Buffer
	require.NoError(t, envpin.EncodeLock(&buf, l))
	assert.Contains(t, buf.String(), "[[package]]")
	back, err := envpin.ParseLock(buf.Bytes(), "jammy.lock")
	require.NoError(t, err)
	assert.Equal(t, l, back)
	assert.Equal(t, l.Archive.EnvDigest, back.Spec().Digest())

	// A lock whose package lacks its digest, or names a path outside the
	// pool, is refused with the file named.
	for _, bad := range []string{
		strings.Replace(buf.String(), `sha256 = "`+strings.Repeat("e", 64)+`"`, `sha256 = "e"`, 1),
		strings.Replace(buf.String(), `filename = "pool/main/libt/`, `filename = "../../etc/`, 1),
		strings.Replace(buf.String(), `distro = "ubuntu"`, `distro = "arch"`, 1),
	} {
		_, err := envpin.ParseLock([]byte(bad), "jammy.lock")
		require.ErrorIs(t, err, envpin.ErrLock)
		assert.Contains(t, err.Error(), "jammy.lock")
	}
}
