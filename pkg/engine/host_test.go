package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

func TestHostRoundTrip(t *testing.T) {
	ctx := context.Background()
	t.Setenv("LEAKED_FROM_HOST", "yes")
	h := engine.NewHost(engine.WithHostTempDir(t.TempDir()))
	s, err := h.Start(ctx, engine.Spec{Env: []string{"GREETING=spec"}, WorkDir: "/work"})
	require.NoError(t, err)
	hs := s.(engine.HostSession)
	root := hs.Root()
	defer s.Close(ctx)

	require.NoError(t, s.CopyIn(ctx, "/work/src", bytes.NewReader(srcTar(t))))
	got, err := os.ReadFile(filepath.Join(root, "work/src/sub/hello.txt"))
	require.NoError(t, err)
	assert.Equal(t, "hello from the host\n", string(got))

	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{
		Cmd:    []string{"sh", "-c", `cat sub/hello.txt; readlink link; echo "$GREETING $EXTRA ${LEAKED_FROM_HOST:-clean}"; echo "$PATH"; echo to-stderr >&2; mkdir -p ../out; tar -cf ../out/src.tar sub; exit 3`},
		Env:    []string{"EXTRA=exec"},
		Dir:    "/work/src",
		Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Equal(t, "hello from the host\nsub/hello.txt\nspec exec clean\n"+engine.DefaultHostPath+"\n", out.String())
	assert.Equal(t, "to-stderr\n", errOut.String())

	var tarOut bytes.Buffer
	require.NoError(t, s.CopyOut(ctx, "/work/out/src.tar", &tarOut))
	want, err := os.ReadFile(filepath.Join(root, "work/out/src.tar"))
	require.NoError(t, err)
	assert.Equal(t, want, tarOut.Bytes())
	assert.ErrorIs(t, s.CopyOut(ctx, "/work/src/sub", &bytes.Buffer{}), engine.ErrNotRegular)
	assert.ErrorIs(t, s.CopyOut(ctx, "/work/src/link", &bytes.Buffer{}), engine.ErrNotRegular)

	out.Reset()
	code, err = s.Exec(ctx, engine.ExecSpec{Cmd: []string{"pwd"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, filepath.Join(root, "work")+"\n", out.String())

	errOut.Reset()
	code, err = s.Exec(ctx, engine.ExecSpec{Cmd: []string{"no-such-command-here"}, Stderr: &errOut})
	require.NoError(t, err)
	assert.Equal(t, engine.CannotExecute, code)
	assert.Contains(t, errOut.String(), `"no-such-command-here": executable file not found`)

	_, err = s.Commit(ctx, "x:y")
	assert.ErrorIs(t, err, engine.ErrUnsupported)

	// A read-only directory left by the build does not stop Close.
	require.NoError(t, os.Chmod(filepath.Join(root, "work/src/sub"), 0o555))
	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx))
	_, err = os.Stat(root)
	assert.True(t, errors.Is(err, os.ErrNotExist), "root removed: %v", err)
}

func TestHostCopyInRejectsEscape(t *testing.T) {
	ctx := context.Background()
	s, err := engine.NewHost(engine.WithHostTempDir(t.TempDir())).Start(ctx, engine.Spec{})
	require.NoError(t, err)
	defer s.Close(ctx)
	err = s.CopyIn(ctx, "/work", bytes.NewReader(tarOf(t, "../../etc/evil", "x")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"../../etc/evil" escapes`)
}

func TestHostKeep(t *testing.T) {
	ctx := context.Background()
	s, err := engine.NewHost(engine.WithHostTempDir(t.TempDir())).Start(ctx, engine.Spec{Keep: true})
	require.NoError(t, err)
	require.NoError(t, s.Close(ctx))
	_, err = os.Stat(s.ID())
	assert.NoError(t, err, "kept")
}

func TestHostNoNetwork(t *testing.T) {
	ctx := context.Background()
	h := engine.NewHost(engine.WithHostTempDir(t.TempDir()))
	// This machine runs the tests as root, where `unshare --net` works.
	require.True(t, h.NetworkIsolation(ctx), "unshare --net works here")
	s, err := h.Start(ctx, engine.Spec{})
	require.NoError(t, err)
	defer s.Close(ctx)
	assert.True(t, s.(engine.HostSession).NetworkIsolated())
	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{
		Cmd:    []string{"bash", "-c", "exec 3<>/dev/tcp/203.0.113.80/80 && echo connected"},
		Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	assert.Equal(t, 1, code)
	assert.Empty(t, out.String())
	assert.Contains(t, errOut.String(), "Network is unreachable")

	s2, err := h.Start(ctx, engine.Spec{Network: true})
	require.NoError(t, err)
	defer s2.Close(ctx)
	assert.False(t, s2.(engine.HostSession).NetworkIsolated())
	out.Reset()
	code, err = s2.Exec(ctx, engine.ExecSpec{Cmd: []string{"bash", "-c", "exec 3<>/dev/tcp/203.0.113.80/80 && echo connected"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "connected\n", out.String())
}

func TestHostCancelKillsProcessGroup(t *testing.T) {
	h := engine.NewHost(engine.WithHostTempDir(t.TempDir()))
	s, err := h.Start(context.Background(), engine.Spec{Network: true})
	require.NoError(t, err)
	defer s.Close(context.Background())
	root := s.(engine.HostSession).Root()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	// The grandchild writes its pid and would touch a file after 3s if
	// it survived the group kill.
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"sh", "-c", "(echo $$ > /dev/null; sh -c 'echo $$ > pid; sleep 3; touch survived') & wait"}, Dir: "/"})
	assert.Less(t, time.Since(start), 3*time.Second)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, -1, code)
	time.Sleep(4 * time.Second)
	_, err = os.Stat(filepath.Join(root, "survived"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "grandchild was killed")
	pid, err := os.ReadFile(filepath.Join(root, "pid"))
	require.NoError(t, err)
	_, err = os.Stat("/proc/" + strings.TrimSpace(string(pid)))
	assert.True(t, errors.Is(err, os.ErrNotExist), "process %s gone", strings.TrimSpace(string(pid)))
}

func tarOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}))
	_, err := tw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// The runner's mtime policies depend on CopyIn keeping the tar headers'
// modification times, for directories too.
func TestHostCopyInKeepsMtimes(t *testing.T) {
	s, err := engine.NewHost().Start(context.Background(), engine.Spec{})
	require.NoError(t, err)
	defer s.Close(context.Background())
	when := time.Date(2024, 4, 13, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "src/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: when}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "src/sub/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: when}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "src/sub/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, ModTime: when.Add(time.Hour)}))
	_, err = tw.Write([]byte("x"))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, s.CopyIn(context.Background(), "/work", &buf))

	root := s.(engine.HostSession).Root()
	for p, want := range map[string]time.Time{"work/src": when, "work/src/sub": when, "work/src/sub/f": when.Add(time.Hour)} {
		st, err := os.Stat(filepath.Join(root, p))
		require.NoError(t, err)
		assert.Equal(t, want, st.ModTime().UTC(), p)
	}
}
