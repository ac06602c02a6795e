package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func shell(t *testing.T, dir, script string) string {
	t.Helper()
	for _, tool := range []string{"tar", "gzip", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH (tests use the real tool)", tool)
		}
	}
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// fixtures makes p.tar with GNU tar and two gzip variants of it.
func fixtures(t *testing.T) string {
	dir := t.TempDir()
	shell(t, dir, `mkdir -p p-1.0 && printf 'hello\n' > p-1.0/README && printf 'int x;\n' > p-1.0/x.c
touch -d @1700000000 p-1.0 p-1.0/README p-1.0/x.c
tar --sort=name --owner=0 --group=0 --numeric-owner -cf p.tar p-1.0
gzip -n -c p.tar > plain.tar.gz
touch -d @1600000000 p.tar && gzip -c p.tar > named.tar.gz
cp plain.tar.gz copy.tar.gz
printf 'not an archive\n' > notes.txt`)
	return dir
}

func TestDiffCommand(t *testing.T) {
	dir := fixtures(t)
	p := func(n string) string { return filepath.Join(dir, n) }

	code, out, _ := run(t, nil, "diff", p("plain.tar.gz"), p("copy.tar.gz"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "identical (same bytes)")

	code, out, _ = run(t, nil, "diff", p("plain.tar.gz"), p("named.tar.gz"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, `tar streams identical, compression differs: gzip FLG 0x00 -> 0x08, gzip FNAME "" -> "p.tar", gzip MTIME 0 -> 1600000000`)

	code, out, _ = run(t, nil, "diff", "--json", p("plain.tar.gz"), p("named.tar.gz"))
	assert.Equal(t, 1, code)
	var doc struct {
		Version      int  `json:"version"`
		Identical    bool `json:"identical"`
		TarIdentical bool `json:"tar_identical"`
		Findings     []struct {
			Kind, Field, Old, New string
		} `json:"findings"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, 2, doc.Version)
	assert.False(t, doc.Identical)
	assert.True(t, doc.TarIdentical)
	require.Len(t, doc.Findings, 3)
	assert.Equal(t, "compression", doc.Findings[2].Kind)
	assert.Equal(t, "gzip MTIME", doc.Findings[2].Field)

	assert.NotContains(t, out, "tar_sha256", "tar digests only with --tar-sha256")

	// --tar-sha256: both tar streams are p.tar; its digest by sha256sum.
	code, out, _ = run(t, nil, "diff", "--json", "--tar-sha256", p("plain.tar.gz"), p("named.tar.gz"))
	assert.Equal(t, 1, code)
	var withTar struct {
		A, B struct {
			TarSHA256 string `json:"tar_sha256"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &withTar))
	sum, err := exec.Command("sha256sum", p("p.tar")).Output()
	require.NoError(t, err)
	assert.Equal(t, strings.Fields(string(sum))[0], withTar.A.TarSHA256)
	assert.Equal(t, withTar.A.TarSHA256, withTar.B.TarSHA256)

	code, out, _ = run(t, nil, "diff", "--markdown", p("p.tar"), p("named.tar.gz"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "| compression |  | format | `none` | `gzip` |  |\n")

	code, _, errOut := run(t, nil, "diff", p("notes.txt"), p("p.tar"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "verify-release: error: "+p("notes.txt")+": not a tar archive")

	code, _, errOut = run(t, nil, "diff", p("p.tar"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "want two archives")

	code, out, _ = run(t, nil, "diff", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Examples:")
	assert.Contains(t, out, "-max-diff-lines")
}

func TestNormalizeCommand(t *testing.T) {
	dir := fixtures(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	env := map[string]string{"SOURCE_DATE_EPOCH": "1234567890"}
	for _, out := range []string{"n1.tar.gz", "n2.tar.gz"} {
		code, _, errOut := run(t, env, "normalize", p("named.tar.gz"), "-o", p(out), "--sort", "--owner", "root", "--mode-normalize", "--compress", "gzip-9")
		require.Equal(t, 0, code, errOut)
	}
	a, err := os.ReadFile(p("n1.tar.gz"))
	require.NoError(t, err)
	b, err := os.ReadFile(p("n2.tar.gz"))
	require.NoError(t, err)
	assert.Equal(t, a, b)
	listing := shell(t, dir, "tar --full-time -tvzf n1.tar.gz")
	assert.Equal(t, `drwxr-xr-x root/root         0 2009-02-13 23:31:30 p-1.0/
-rw-r--r-- root/root         6 2009-02-13 23:31:30 p-1.0/README
-rw-r--r-- root/root         7 2009-02-13 23:31:30 p-1.0/x.c
`, listing)

	// A failure leaves no output and no temporary file; the input is untouched.
	before, err := os.ReadFile(p("notes.txt"))
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	code, _, errOut := run(t, nil, "normalize", p("notes.txt"), "-o", p("bad.tar"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, p("notes.txt"))
	assert.NoFileExists(t, p("bad.tar"))
	after, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, len(entries), len(after))
	still, err := os.ReadFile(p("notes.txt"))
	require.NoError(t, err)
	assert.Equal(t, before, still)

	code, _, errOut = run(t, nil, "normalize", p("p.tar"), "-o", p("x.tar"), "--compress", "lz4")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--compress")
	code, _, _ = run(t, nil, "normalize", p("p.tar"), "-o", p("p.tar"))
	assert.Equal(t, 2, code)
	code, _, errOut = run(t, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, "normalize", p("p.tar"), "-o", p("x.tar"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "SOURCE_DATE_EPOCH")
}

func TestChecksumCommand(t *testing.T) {
	dir := fixtures(t)
	files := []string{filepath.Join(dir, "plain.tar.gz"), filepath.Join(dir, "p.tar")}
	code, out, errOut := run(t, nil, append([]string{"checksum"}, files...)...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, shell(t, dir, "sha256sum "+strings.Join(files, " ")), out)

	code, out, errOut = run(t, nil, "checksum", "--tar", files[0])
	require.Equal(t, 0, code, errOut)
	fileSum := strings.Fields(shell(t, dir, "sha256sum plain.tar.gz"))[0]
	tarSum := strings.Fields(shell(t, dir, "gzip -dc plain.tar.gz | sha256sum"))[0]
	assert.Equal(t, fileSum+"  "+files[0]+"\n# tar-sha256 "+tarSum+"  "+files[0]+"\n", out)

	code, _, errOut = run(t, nil, "checksum", "--tar", filepath.Join(dir, "notes.txt"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "notes.txt: not a tar archive")
	code, _, _ = run(t, nil, "checksum")
	assert.Equal(t, 2, code)
}
