package fingerprint

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A tree written by GNU tar with SOURCE_DATE_EPOCH clamping, sorted by
// name, numeric root owner; one flex scanner. The expected values are the
// tar options used.
func TestGNUTarClampedSortedWithFlexScanner(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Fatalf("GNU tar is required: %v", err)
	}
	dir := t.TempDir()
	top := filepath.Join(dir, "demo-1.0")
	files := map[string]string{
		"src/scan.c":    "#line 2 \"scan.c\"\n\n#define  YY_INT_ALIGNED short int\n\n#define FLEX_SCANNER\n#define YY_FLEX_MAJOR_VERSION 2\n#define YY_FLEX_MINOR_VERSION 6\n#define YY_FLEX_SUBMINOR_VERSION 4\n",
		"README":        "demo\n",
		"src/b.c":       "int b;\n",
		"src.old/x.txt": "x\n",
	}
	for name, body := range files {
		p := filepath.Join(top, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	// README is older than the clamp, everything else newer.
	cmd := exec.Command("sh", "-c", `find demo-1.0 -exec touch -d @1800000000 {} + && touch -d @1600000000 demo-1.0/README &&
		tar --sort=name --mtime=@1700000000 --clamp-mtime --owner=0 --group=0 --numeric-owner --format=gnu -cf demo.tar demo-1.0`)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	fp, err := Scan(context.Background(), filepath.Join(dir, "demo.tar"))
	require.NoError(t, err)
	e := findEvidence(fp, ToolFlex, "2.6.4", "demo-1.0/src/scan.c")
	require.NotNil(t, e, "%+v", fp.Evidence)
	assert.Equal(t, 6, e.Line)
	a := fp.Archive
	assert.Equal(t, []string{"gnu"}, a.Formats)
	assert.Equal(t, "clamped", a.MTime.Policy)
	assert.Equal(t, int64(1700000000), a.MTime.CandidateUnix)
	assert.Equal(t, 1, a.MTime.Distinct-1, "README keeps its older time")
	// --sort=name sorts each directory: "src" before "src.old", so
	// src/scan.c comes before src.old/ (bytewise order would not).
	assert.Equal(t, "by-component", a.Order)
	assert.Equal(t, "umask 022", a.ModePolicy)
	require.Len(t, a.Owners, 1)
	assert.Equal(t, OwnerCount{Members: a.Members}, a.Owners[0])
	assert.Equal(t, "none", fp.Compression.Format)
	assert.Equal(t, 10240, a.RecordSize)
	assert.False(t, fp.Generated)
}
