package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

// Debian trixie's curl_8.14.1.orig.tar.gz is upstream's curl-8.14.1.tar.gz.
const (
	curlPool   = "main/c/curl/curl_8.14.1.orig.tar.gz"
	curlSHA256 = "6766ada7101d292b42b8b15681120acd68effa4a9660935853cf6d61f0d984d4"
)

func TestFingerprintCurl(t *testing.T) {
	f := testenv.DebianPool(t, curlPool, curlSHA256)
	code, out, errOut := run(t, nil, "fingerprint", f)
	require.Equal(t, exitOK, code, errOut)
	// tar -xOf F curl-8.14.1/ltmain.sh | grep -n -m1 ^VERSION=: 34:VERSION="2.4.7 Debian-2.4.7-7~deb12u1"
	assert.Contains(t, out, "libtool       2.4.7 Debian-2.4.7-7~deb12u1 curl-8.14.1/ltmain.sh:34")
	assert.Contains(t, out, "  1. Debian 12 (bookworm): ")
	assert.Contains(t, out, "Best match: Debian 12 (bookworm), no mismatch.")
	assert.Contains(t, out, "suite = \"bookworm\"\npackages = [\"autoconf=2.71-3\", \"automake=1:1.16.5-1.3\", \"libtool=2.4.7-7~deb12u1\", \"make=4.3-4.1\", \"perl=5.36.0-7+deb12u2\", \"git=1:2.39.5-0+deb12u2\"]\n")

	code, out, errOut = run(t, nil, "fingerprint", "--json", "--offline", f)
	require.Equal(t, exitOK, code, errOut)
	var doc struct {
		Schema      string `json:"schema"`
		Fingerprint struct {
			File struct {
				SHA256 string `json:"sha256"`
			} `json:"file"`
			Archive struct {
				MTime struct {
					CandidateUnix int64 `json:"candidate_unix"`
				} `json:"mtime"`
			} `json:"archive"`
		} `json:"fingerprint"`
		Ranking struct {
			Candidates []struct {
				Env struct {
					Name string `json:"name"`
				} `json:"env"`
			} `json:"candidates"`
		} `json:"ranking"`
	}
	require.NoError(t, validateJSON("fingerprint", []byte(out)), "docs/schema/fingerprint.json")
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "verify-release/fingerprint/v1", doc.Schema)
	assert.Equal(t, curlSHA256, doc.Fingerprint.File.SHA256)
	assert.Equal(t, int64(1749015729), doc.Fingerprint.Archive.MTime.CandidateUnix)
	// --offline: only the shipped table, which has no bookworm.
	require.NotEmpty(t, doc.Ranking.Candidates)
	for _, c := range doc.Ranking.Candidates {
		assert.NotContains(t, c.Env.Name, "bookworm")
	}
}

func TestFingerprintBadInput(t *testing.T) {
	dir := t.TempDir()
	f := testenv.DebianPool(t, curlPool, curlSHA256)
	data, err := os.ReadFile(f)
	require.NoError(t, err)
	cut := filepath.Join(dir, "cut.tar.gz")
	require.NoError(t, os.WriteFile(cut, data[:len(data)/3], 0o644))
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("not a tarball\n"), 0o644))

	code, out, errOut := run(t, nil, "fingerprint", "--offline", cut)
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "verify-release: error: "+cut+": ")
	assert.Contains(t, errOut, "truncated")

	code, out, errOut = run(t, nil, "fingerprint", "--offline", text)
	assert.Equal(t, exitError, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "not a tar archive")

	code, _, errOut = run(t, nil, "fingerprint")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "want one TARBALL")
}
