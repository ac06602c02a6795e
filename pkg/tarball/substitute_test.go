package tarball

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Substitute against GNU tar: a tree tarred, then changed with sed and
// tarred again by the same command, must equal the first tar with the
// substitution applied, byte for byte. The pax format with a member name
// longer than 100 bytes exercises the pax path record; the ustar format
// the name prefix; a change of length the size, checksum and record
// padding.
func TestSubstituteMatchesGNUTar(t *testing.T) {
	long := "p-1.0/" + strings.Repeat("d", 60) + "/" + strings.Repeat("f", 60) + ".sh"
	for _, c := range []struct {
		format, member string
		old, new       string
	}{
		{"pax", long, "VERSION=1.0", "VERSION=1.0-build2"},
		{"ustar", long, "VERSION=1.0", "VERSION=1.0-build2"},
		{"gnu", long, "VERSION=1.0", "VERSION=1"},
		{"ustar", "p-1.0/README", "VERSION=1.0", "VERSION=" + strings.Repeat("1", 11000)},
	} {
		t.Run(c.format+" "+filepath.Base(c.member)[:5], func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir)
			p := filepath.Join(dir, c.member)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nVERSION=1.0\necho $VERSION\n"), 0o644))
			tarCmd := "tar --format=" + c.format + " --pax-option=delete=atime,delete=ctime --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -cf"
			if c.format != "pax" {
				tarCmd = "tar --format=" + c.format + " --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 -cf"
			}
			sh(t, dir, tarCmd+" a.tar p-1.0 && sed -i 's/"+c.old+"/"+c.new+"/' '"+c.member+"' && "+tarCmd+" b.tar p-1.0")
			a, err := os.ReadFile(filepath.Join(dir, "a.tar"))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join(dir, "b.tar"))
			require.NoError(t, err)
			require.False(t, bytes.Equal(a, want), "sed changed nothing")
			var got bytes.Buffer
			res, err := Substitute(context.Background(), &got, bytes.NewReader(a), []Substitution{{Member: c.member, Old: c.old, New: c.new}})
			require.NoError(t, err)
			assert.Equal(t, 1, res[0].Count)
			assert.Equal(t, len(want), got.Len())
			assert.True(t, bytes.Equal(want, got.Bytes()), "substituted tar differs from GNU tar's")
		})
	}
}

func TestSubstituteErrors(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir)
	tarPath := gnuTar(t, dir, "a.tar")
	a, err := os.ReadFile(tarPath)
	require.NoError(t, err)
	for _, c := range []struct {
		sub  Substitution
		want string
	}{
		{Substitution{Member: "p-1.0/README", Old: "absent", New: "x"}, `"absent" does not occur in member p-1.0/README`},
		{Substitution{Member: "p-1.0/nope", Old: "a", New: "b"}, "member p-1.0/nope is not in the archive"},
		{Substitution{Member: "p-1.0/main-link", Old: "a", New: "b"}, "member p-1.0/main-link is not a regular file"},
		{Substitution{Member: "p-1.0/README", Old: "", New: "b"}, "empty old text"},
	} {
		_, err := Substitute(context.Background(), &bytes.Buffer{}, bytes.NewReader(a), []Substitution{c.sub})
		require.ErrorIs(t, err, ErrSubstitution)
		assert.Contains(t, err.Error(), c.want)
	}
	_, err = Substitute(context.Background(), &bytes.Buffer{}, bytes.NewReader(a[:1000]), []Substitution{{Member: "p-1.0/README", Old: "h", New: "j"}})
	assert.ErrorContains(t, err, "tar stream ends early")
}
