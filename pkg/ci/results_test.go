package ci

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/sign"
)

// writeResults lays out what two verify jobs leave under results/: one
// reproduced recipe and one with a mismatch (diff file, log, statements,
// the re-created tarball), plus the JUnit files beside them.
func writeResults(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "results")
	put := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	putReport := func(rel string, r *report.Report) {
		var buf bytes.Buffer
		r.Finish()
		require.NoError(t, r.Write(&buf))
		put(rel, buf.String())
	}
	putReport("zeta/2.0/report.json", &report.Report{
		Recipe: report.Recipe{Name: "zeta", Version: "2.0"},
		Artifacts: []report.Artifact{{Name: "src", File: "zeta-2.0-src.tar.gz", Expected: strings.Repeat("a", 64), Actual: strings.Repeat("a", 64),
			Status: report.Reproduced, Output: "zeta-2.0-src.tar.gz"}},
	})
	put("zeta/2.0/zeta-2.0-src.tar.gz", "tarball bytes")
	put("zeta/2.0/verification_summary.intoto.json", `{"_type":"https://in-toto.io/Statement/v1"}`)
	put("zeta/2.0/SHA256SUMS", strings.Repeat("a", 64)+"  zeta-2.0-src.tar.gz\n")
	put("zeta/2.0/SHA256SUMS.asc", "old signature")
	put("zeta-2.0.junit.xml", "<testsuites/>")

	putReport("alpha/1.0/report.json", &report.Report{
		Recipe: report.Recipe{Name: "alpha", Version: "1.0"},
		Artifacts: []report.Artifact{
			{Name: "src", File: "alpha-1.0-src.tar.gz", Status: report.Reproduced, Expected: strings.Repeat("b", 64), Actual: strings.Repeat("b", 64)},
			{Name: "dist", File: "alpha <1.0> & \"x\".tar.gz", Status: report.Mismatch, Expected: strings.Repeat("c", 64), Actual: strings.Repeat("d", 64),
				Output: "alpha-1.0.tar.gz",
				Diff:   &report.Diff{File: "alpha-1.0.tar.gz.diff", Summary: "tar streams differ: 1 content | <b>", Members: []string{"alpha-1.0/configure"}}},
		},
	})
	put("alpha/1.0/alpha-1.0.tar.gz.diff", "--- a\n+++ b\n")
	put("alpha/1.0/build.log", "==> dist: step 1/1: make dist\n")
	put("alpha/1.0/report.html", "<!DOCTYPE html>\n")
	put("alpha/1.0/alpha-1.0.tar.gz", "rebuilt tarball")
	return root
}

func TestCollectAndPages(t *testing.T) {
	ctx := context.Background()
	root := writeResults(t)
	res, err := Collect(ctx, root, "zeta/2.0", "alpha/1.0", "beta/3.0", "beta/3.0")
	require.NoError(t, err)
	require.Len(t, res.Entries, 2)
	assert.Equal(t, "alpha/1.0", res.Entries[0].ID())
	assert.Equal(t, []string{"beta/3.0"}, res.Missing)
	assert.False(t, res.OK())

	// Failures first (the mismatch, the missing report), then the
	// reproduced artifacts, each group by recipe.
	rows := res.Rows()
	require.Len(t, rows, 4)
	assert.Equal(t, "MISMATCH", rows[0].Result)
	assert.Equal(t, "alpha/1.0/alpha-1.0.tar.gz.diff", rows[0].Diff)
	assert.Equal(t, "alpha/1.0/build.log", rows[0].Log)
	assert.Equal(t, "alpha/1.0/report.html#artifact-dist", rows[0].Page, "each row links to its artifact's section of the release page")
	assert.Equal(t, Row{Project: "beta", Version: "3.0", Result: Missing, Detail: "no report.json: the job failed before writing one (see its log)", Attestations: []string{}}, rows[1])
	assert.Equal(t, Row{Project: "alpha", Version: "1.0", Artifact: "src alpha-1.0-src.tar.gz", Result: "REPRODUCED",
		Report: "alpha/1.0/report.json", Page: "alpha/1.0/report.html#artifact-src", Log: "alpha/1.0/build.log", Attestations: []string{}}, rows[2])
	assert.Equal(t, Row{Project: "zeta", Version: "2.0", Artifact: "src zeta-2.0-src.tar.gz", Result: "REPRODUCED",
		Report: "zeta/2.0/report.json", Checksums: "zeta/2.0/SHA256SUMS", Attestations: []string{"zeta/2.0/verification_summary.intoto.json"}}, rows[3])
	v, why := res.Verdict()
	assert.Equal(t, NotVerified, v)
	assert.Equal(t, "2 of 3 recipe(s) did not reproduce or have no report", why)

	res.Info = PageInfo{Generated: time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC), Version: "1.2.3", Commit: "abc123", CommitURL: "https://example.org/c/abc123"}
	var md bytes.Buffer
	require.NoError(t, res.WriteMarkdown(&md))
	lines := strings.Split(md.String(), "\n")
	assert.Equal(t, "**✘ NOT VERIFIED**: 2 of 3 recipe(s) did not reproduce or have no report", lines[2])
	assert.Equal(t, "generated 2026-12-02 16:00 UTC by verify-release 1.2.3 for commit abc123", lines[4])
	assert.Equal(t, "| result | project | version | artifact | details | links |", lines[8])
	assert.Equal(t, `| **✘ MISMATCH** | alpha | 1.0 | dist alpha &lt;1.0&gt; &amp; "x".tar.gz | tar streams differ: 1 content \| &lt;b&gt; | [report](alpha/1.0/report.html#artifact-dist) [report.json](alpha/1.0/report.json) [diff](alpha/1.0/alpha-1.0.tar.gz.diff) [build.log](alpha/1.0/build.log) |`, lines[10])
	// Every table row has the same number of unescaped cell separators.
	for _, l := range lines[8:14] {
		assert.Equal(t, 7, strings.Count(l, "|")-strings.Count(l, `\|`), l)
	}

	var page bytes.Buffer
	require.NoError(t, res.WriteHTML(&page))
	h := page.String()
	assert.Contains(t, h, `<p class="banner fail" id="verdict"><strong>✘ NOT VERIFIED</strong>: 2 of 3 recipe(s) did not reproduce or have no report</p>`)
	assert.Contains(t, h, `<p class="meta">generated 2026-12-02 16:00 UTC by verify-release 1.2.3 for commit <a href="https://example.org/c/abc123"><code>abc123</code></a></p>`)
	assert.Contains(t, h, `<tr><td class="result"><span class="badge MISMATCH">✘ MISMATCH</span></td><td data-label="project">alpha</td><td data-label="version">1.0</td><td data-label="artifact">dist alpha &lt;1.0&gt; &amp; &#34;x&#34;.tar.gz</td><td data-label="details">tar streams differ: 1 content | &lt;b&gt;</td><td class="links" data-label="links"><a href="alpha/1.0/report.html#artifact-dist">report</a> <a href="alpha/1.0/report.json">report.json</a> <a href="alpha/1.0/alpha-1.0.tar.gz.diff">diff</a> <a href="alpha/1.0/build.log">build.log</a></td></tr>`)
	assert.Contains(t, h, `<span class="badge MISSING">∅ MISSING</span>`)
	assert.Contains(t, h, `<a href="zeta/2.0/verification_summary.intoto.json">verification_summary.intoto.json</a>`)
	assert.Less(t, strings.Index(h, "MISMATCH</span>"), strings.Index(h, "REPRODUCED</span>"), "failures first")
	assert.NotContains(t, h, "<script")
	assert.NotContains(t, h, "<b>")
}

func TestPublishCopiesAndSigns(t *testing.T) {
	ctx := context.Background()
	root := writeResults(t)
	res, err := Collect(ctx, root)
	require.NoError(t, err)

	t0 := time.Date(2024, 4, 13, 10, 4, 0, 0, time.UTC)
	signer, err := sign.GenerateKey("CI", "ci@example.org", sign.WithTime(t0))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "public")
	pub, err := Publish(ctx, res, out, WithSigner(signer))
	require.NoError(t, err)
	assert.Equal(t, []string{"zeta/2.0/SHA256SUMS", "zeta/2.0/verification_summary.intoto.json"}, pub.Signed)

	var got []string
	require.NoError(t, filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	}))
	// The re-created tarballs are not copied; the old signature is replaced.
	assert.Equal(t, []string{
		"alpha/1.0/alpha-1.0.tar.gz.diff", "alpha/1.0/build.log", "alpha/1.0/report.html", "alpha/1.0/report.json",
		"index.html", "index.json", "index.md", "junit.xml",
		"zeta/2.0/SHA256SUMS", "zeta/2.0/SHA256SUMS.asc", "zeta/2.0/report.json",
		"zeta/2.0/verification_summary.intoto.json", "zeta/2.0/verification_summary.intoto.json.asc",
	}, got)
	assert.Equal(t, got, pub.Files)

	var pubKey bytes.Buffer
	require.NoError(t, signer.WritePublicKey(&pubKey))
	kr, err := sign.ParseKeyring(pubKey.Bytes(), "ci.pub")
	require.NoError(t, err)
	for _, f := range pub.Signed {
		p := filepath.Join(out, filepath.FromSlash(f))
		r, err := sign.Verify(ctx, kr, p, p+".asc", sign.WithFingerprints(signer.Fingerprint()))
		require.NoError(t, err, f)
		assert.Equal(t, sign.StatusGood, r.Status, f)
	}

	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	require.NoError(t, err)
	assert.Contains(t, string(junit), `<testsuites name="verify-release" tests="3" failures="1" errors="0" skipped="0"`)
}

func TestCollectRejectsDuplicatesAndBadReports(t *testing.T) {
	ctx := context.Background()
	root := writeResults(t)
	data, err := os.ReadFile(filepath.Join(root, "zeta", "2.0", "report.json"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "copy"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "copy", "report.json"), data, 0o644))
	_, err = Collect(ctx, root)
	require.ErrorIs(t, err, ErrDuplicateReport)

	require.NoError(t, os.WriteFile(filepath.Join(root, "copy", "report.json"), []byte(`{"schema": "verify-release/report/v9"}`), 0o644))
	_, err = Collect(ctx, root)
	require.ErrorIs(t, err, report.ErrSchema)
	assert.Contains(t, err.Error(), filepath.Join(root, "copy", "report.json"))
}
