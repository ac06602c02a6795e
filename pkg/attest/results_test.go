package attest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/sign"
)

func testSigner(t *testing.T) (*sign.Signer, *sign.Keyring, string) {
	t.Helper()
	s, err := sign.GenerateKey("Results Bot", "bot@example.org", sign.WithTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	var pub bytes.Buffer
	require.NoError(t, s.WritePublicKey(&pub))
	p := filepath.Join(t.TempDir(), "bot.pub")
	require.NoError(t, os.WriteFile(p, pub.Bytes(), 0o644))
	kr, err := sign.ReadKeyring(p)
	require.NoError(t, err)
	return s, kr, p
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required (CI=%q): %v", name, os.Getenv("CI"), err)
	}
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v:\n%s", name, args, out)
	return string(out)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestWriteResults(t *testing.T) {
	ctx := context.Background()
	signer, kr, pubPath := testSigner(t)
	src := t.TempDir()
	tarball := filepath.Join(src, "libntlm-1.8.tar.gz")
	require.NoError(t, os.WriteFile(tarball, []byte("tarball bytes"), 0o644))

	r := libntlmRun()
	tarSum := strings.Fields(run(t, src, "sha256sum", "libntlm-1.8.tar.gz"))[0]
	r.Artifacts[0].SHA256, r.Artifacts[0].Rebuilt = tarSum, tarSum
	summary, err := VerificationSummary(r)
	require.NoError(t, err)
	prov, err := ProvenanceStatement(r)
	require.NoError(t, err)
	docs, err := StatementDocuments(summary, prov)
	require.NoError(t, err)

	out := t.TempDir()
	files := []File{
		{Name: "libntlm-1.8.tar.gz", Path: tarball},
		{Name: "libntlm-1.8-src.tar.gz", SHA256: "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca"},
	}
	dest, err := WriteResults(ctx, out, "libntlm", "1.8", files, docs, signer)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(out, "libntlm", "1.8"), dest)
	assert.Equal(t, []string{
		"SHA256SUMS", "SHA256SUMS.asc", "libntlm-1.8.tar.gz",
		"provenance.intoto.json", "provenance.intoto.json.asc",
		"verification_summary.intoto.json", "verification_summary.intoto.json.asc",
	}, listDir(t, dest))
	assert.Equal(t, []string{"1.8"}, listDir(t, filepath.Join(out, "libntlm")), "no temporary directory left")

	sums, err := os.ReadFile(filepath.Join(dest, "SHA256SUMS"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, "91de864224913b9493c7a6cec2890e6eded3610d34c3d983132823de348ec2ca  libntlm-1.8-src.tar.gz", lines[0])
	assert.True(t, sort.StringsAreSorted([]string{lines[0][66:], lines[1][66:], lines[2][66:], lines[3][66:]}))
	// sha256sum checks the files present (the -src one is listed only).
	var present bytes.Buffer
	for _, l := range lines[1:] {
		present.WriteString(l + "\n")
	}
	cmd := exec.CommandContext(ctx, "sha256sum", "--check", "--strict", "-")
	cmd.Dir = dest
	cmd.Stdin = &present
	o, err := cmd.CombinedOutput()
	require.NoError(t, err, string(o))

	// Every signature verifies with gpgv and with VerifyStatement.
	bin := filepath.Join(t.TempDir(), "pub.gpg")
	run(t, "", "gpg", "--batch", "--homedir", t.TempDir(), "--output", bin, "--dearmor", pubPath)
	for _, f := range []string{"SHA256SUMS", "provenance.intoto.json", "verification_summary.intoto.json"} {
		o := run(t, dest, "gpgv", "--homedir", t.TempDir(), "--status-fd", "1", "--keyring", bin, f+".asc", f)
		assert.Contains(t, o, "[GNUPG:] GOODSIG", f)
	}
	v, err := VerifyStatement(ctx, kr, filepath.Join(dest, SummaryFile), filepath.Join(dest, SummaryFile+".asc"),
		[]string{filepath.Join(dest, "libntlm-1.8.tar.gz")}, sign.WithFingerprints(signer.Fingerprint()))
	require.NoError(t, err)
	assert.Equal(t, "PASSED", v.VerificationResult)
	assert.Equal(t, signer.Fingerprint(), v.Signature.PrimaryFingerprint)

	// Writing again replaces the directory as a whole.
	dest2, err := WriteResults(ctx, out, "libntlm", "1.8", files[1:], docs[:1], nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"SHA256SUMS", "verification_summary.intoto.json"}, listDir(t, dest2))
	assert.Equal(t, []string{"1.8"}, listDir(t, filepath.Join(out, "libntlm")))
}

type failingSigner struct{ after int }

func (f *failingSigner) SignDetached(_ context.Context, w io.Writer, _ io.Reader) error {
	if f.after == 0 {
		return errors.New("token removed")
	}
	f.after--
	_, err := io.WriteString(w, "sig\n")
	return err
}

func TestWriteResultsFailureLeavesOldResults(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	docs := []Document{{Name: SummaryFile, Data: []byte("{}\n")}}
	files := []File{{Name: "a.tar.gz", SHA256: strings.Repeat("00", 32)}}
	_, err := WriteResults(ctx, out, "libfoo", "1.0", files, docs, nil)
	require.NoError(t, err)
	before, err := os.ReadFile(filepath.Join(out, "libfoo", "1.0", "SHA256SUMS"))
	require.NoError(t, err)

	_, err = WriteResults(ctx, out, "libfoo", "1.0", []File{{Name: "b.tar.gz", SHA256: strings.Repeat("11", 32)}}, docs, &failingSigner{after: 1})
	require.ErrorContains(t, err, "token removed")
	assert.Equal(t, []string{"1.0"}, listDir(t, filepath.Join(out, "libfoo")), "no partial directory")
	after, err := os.ReadFile(filepath.Join(out, "libfoo", "1.0", "SHA256SUMS"))
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the earlier results are intact")
}

func TestWriteResultsBadNames(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		name, version string
		files         []File
	}{
		"slash-in-name":  {"../x", "1", nil},
		"dot-version":    {"x", "..", nil},
		"file-traversal": {"x", "1", []File{{Name: "../../etc/passwd", SHA256: strings.Repeat("00", 32)}}},
		"reserved":       {"x", "1", []File{{Name: "SHA256SUMS", SHA256: strings.Repeat("00", 32)}}},
		"bad-digest":     {"x", "1", []File{{Name: "a", SHA256: "nope"}}},
		"duplicate":      {"x", "1", []File{{Name: "a", SHA256: strings.Repeat("00", 32)}, {Name: "a", SHA256: strings.Repeat("00", 32)}}},
	} {
		out := t.TempDir()
		_, err := WriteResults(ctx, out, tc.name, tc.version, tc.files, nil, nil)
		require.ErrorIs(t, err, ErrInvalid, name)
		assert.Empty(t, listDir(t, out), name)
	}
	_, err := WriteResults(ctx, t.TempDir(), "x", "1", []File{{Name: "a", Path: "/nonexistent/a"}}, nil, nil)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestVerifyStatement(t *testing.T) {
	ctx := context.Background()
	signer, kr, _ := testSigner(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o644))
		return p
	}
	signed := func(name string, data []byte) (string, string) {
		var sig bytes.Buffer
		require.NoError(t, signer.SignDetached(ctx, &sig, bytes.NewReader(data)))
		return write(name, data), write(name+".asc", sig.Bytes())
	}
	artifact := write("libfoo-1.0.tar.gz", []byte("release"))
	// The digest comes from the real sha256sum.
	sumOut := run(t, dir, "sha256sum", "libfoo-1.0.tar.gz")
	sum := strings.Fields(sumOut)[0]

	r := &Run{Name: "libfoo", Version: "1.0", RecipePath: "recipes/libfoo/1.0.toml", RecipeSHA256: strings.Repeat("ab", 32),
		TimeVerified: time.Unix(0, 0), Artifacts: []Artifact{{Name: "libfoo-1.0.tar.gz", Kind: KindSrc, SHA256: sum, Reproduced: true}}}
	st, err := VerificationSummary(r)
	require.NoError(t, err)
	good, err := st.Encode()
	require.NoError(t, err)
	stPath, sigPath := signed("good.intoto.json", good)

	v, err := VerifyStatement(ctx, kr, stPath, sigPath, []string{artifact})
	require.NoError(t, err)
	assert.Equal(t, []SubjectCheck{{File: artifact, Name: "libfoo-1.0.tar.gz", SHA256: sum}}, v.Subjects)

	t.Run("tampered-statement", func(t *testing.T) {
		p := write("tampered.intoto.json", bytes.Replace(good, []byte("PASSED"), []byte("PASSEX"), 1))
		_, err := VerifyStatement(ctx, kr, p, sigPath, nil)
		require.ErrorIs(t, err, sign.ErrBadSignature)
	})
	t.Run("subject-mismatch", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "libfoo-1.0.tar.gz")
		require.NoError(t, os.WriteFile(other, []byte("evil"), 0o644))
		_, err := VerifyStatement(ctx, kr, stPath, sigPath, []string{other})
		require.ErrorIs(t, err, ErrSubjectMismatch)
		assert.Contains(t, err.Error(), other)
		var ve interface{ VerificationFailed() bool }
		require.ErrorAs(t, err, &ve)
	})
	t.Run("subject-missing", func(t *testing.T) {
		_, err := VerifyStatement(ctx, kr, stPath, sigPath, []string{stPath})
		require.ErrorIs(t, err, ErrSubjectMissing)
	})
	t.Run("failed-result", func(t *testing.T) {
		r2 := *r
		r2.Artifacts = []Artifact{{Name: "libfoo-1.0.tar.gz", SHA256: sum}}
		st, err := VerificationSummary(&r2)
		require.NoError(t, err)
		b, err := st.Encode()
		require.NoError(t, err)
		p, s := signed("failed.intoto.json", b)
		v, err := VerifyStatement(ctx, kr, p, s, []string{artifact})
		require.ErrorIs(t, err, ErrResultFailed)
		assert.Equal(t, "FAILED", v.VerificationResult)
	})
	t.Run("signed-garbage", func(t *testing.T) {
		p, s := signed("garbage.intoto.json", []byte("not json\n"))
		_, err := VerifyStatement(ctx, kr, p, s, nil)
		require.ErrorIs(t, err, ErrMalformed)
		assert.Contains(t, err.Error(), p)
	})
	t.Run("wrong-key", func(t *testing.T) {
		_, other, _ := testSigner(t)
		_, err := VerifyStatement(ctx, other, stPath, sigPath, nil)
		require.ErrorIs(t, err, sign.ErrUnknownSigner)
	})
}
