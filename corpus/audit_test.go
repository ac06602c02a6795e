package corpus_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// The XZ pattern, modelled with real files: libntlm 1.8's dist tarball
// as re-created from Debian's archive (dist), whose m4/extensions.m4 is
// gnulib's at the commit libntlm pins, gets one injected line and a
// raised serial, as the XZ backdoor's m4/build-to-host.m4 had against
// gnulib's. The audit against the -src tarball (Debian's orig), the clean
// re-created tarball and gnulib checked out from Debian's bundle must
// flag exactly that member, with the line and both serials; the clean
// tarball needs no review.
func auditXZPattern(t *testing.T, dist string) {
	ctx := context.Background()
	src := testenv.DebianPool(t, "main/libn/libntlm/libntlm_1.8.orig.tar.gz", "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca")

	// gnulib at dfb71172 from trixie's gnulib package (the run put the
	// .deb in the cache), checked out with plain git.
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	c := debian.NewClient(debian.Debian, debian.WithCacheDir(filepath.Join(cache, "verify-release", "debs")))
	pkg, err := c.FindPackage(ctx, "trixie", "gnulib", "20250303-1", "amd64")
	require.NoError(t, err)
	bundle, err := c.ExtractFile(ctx, pkg, "usr/share/gnulib/gnulib.bundle")
	require.NoError(t, err)
	gnulib := filepath.Join(t.TempDir(), "gnulib")
	for _, args := range [][]string{
		{"clone", "-q", "--no-checkout", bundle, gnulib},
		{"-C", gnulib, "checkout", "-q", "dfb71172a46ef41f8cf8ab7ca529c1dd3097a41d"},
	} {
		out, err := exec.Command("git", args...).CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	orig, err := os.ReadFile(filepath.Join(gnulib, "m4", "extensions.m4"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^# serial (\d+)`).FindSubmatch(orig)
	require.NotNil(t, m, "gnulib's extensions.m4 has a serial line")
	serial, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	raised := strconv.Itoa(serial + 1)

	// The injected copy of the dist tarball.
	const injected = `AS_IF([test -f "$srcdir/tests/files/x"], [eval "$(sed 's/x/y/' "$srcdir/tests/files/x")"])`
	bad := filepath.Join(t.TempDir(), "libntlm-1.8.tar.gz")
	rewriteMember(t, dist, bad, "libntlm-1.8/m4/extensions.m4", func(b []byte) []byte {
		require.Equal(t, orig, b, "the re-created tarball's m4/extensions.m4 is gnulib's, byte for byte")
		s := strings.Replace(string(b), "# serial "+string(m[1]), "# serial "+raised, 1)
		return []byte(s + injected + "\n")
	})

	args := func(d string) []string {
		return []string{"audit", d, "--src", src, "--regenerated", dist, "--input", "gnulib=" + gnulib, "--json"}
	}
	type report struct {
		InGit   int `json:"in_git"`
		Members []struct {
			Path, Group, Input, Serial string
			InputSerial                string `json:"input_serial"`
			Lines                      []string
		}
		Counts map[string]int
	}
	// Clean: every dist-only member is explained (exit 0).
	code, stdout, stderr := run(t, args(dist)...)
	require.Equal(t, exitOK, code, stderr)
	var clean report
	require.NoError(t, json.Unmarshal([]byte(stdout), &clean))
	assert.Zero(t, clean.Counts["unexplained"])
	assert.Zero(t, clean.Counts["differs-from-input"])
	assert.Positive(t, clean.InGit)

	// Injected: exactly the one member, with the line and both serials.
	code, stdout, stderr = run(t, args(bad)...)
	require.Equal(t, exitDiffer, code, stderr)
	var rep report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, 1, rep.Counts["differs-from-input"])
	assert.Zero(t, rep.Counts["unexplained"])
	require.NotEmpty(t, rep.Members)
	first := rep.Members[0]
	assert.Equal(t, "m4/extensions.m4", first.Path)
	assert.Equal(t, "differs-from-input", first.Group)
	assert.Equal(t, "gnulib", first.Input)
	assert.Equal(t, raised, first.Serial)
	assert.Equal(t, string(m[1]), first.InputSerial)
	assert.Contains(t, first.Lines, "+"+injected)

	// The text form names it first, too.
	code, stdout, _ = run(t, "audit", bad, "--src", src, "--regenerated", dist, "--input", "gnulib="+gnulib)
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, stdout, "  differs-from-input  m4/extensions.m4 (input gnulib) serial "+raised+", input has "+string(m[1]))
}

// rewriteMember copies the gzip tarball in to out with member name's
// content replaced by edit's result (size updated, everything else kept).
func rewriteMember(t *testing.T, in, out, name string, edit func([]byte) []byte) {
	t.Helper()
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		if h.Name == name {
			found = true
			body = edit(body)
			h.Size = int64(len(body))
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err = tw.Write(body)
		require.NoError(t, err)
	}
	require.True(t, found, "%s has no member %s", in, name)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(out, buf.Bytes(), 0o644))
}
