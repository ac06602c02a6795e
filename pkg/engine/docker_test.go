package engine_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/owner"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

func TestMain(m *testing.M) {
	_, cleanup, err := testenv.SharedRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// srcTar is a small source tree: a directory, a file, a symlink.
func srcTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755, ModTime: mt}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "sub/", Mode: 0o755, ModTime: mt}))
	body := "hello from the host\n"
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "sub/hello.txt", Mode: 0o644, Size: int64(len(body)), ModTime: mt}))
	_, err := tw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "sub/hello.txt", ModTime: mt}))
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func startDocker(t *testing.T, spec engine.Spec) (*engine.Docker, engine.Session) {
	t.Helper()
	d := testenv.RequireDocker(t)
	if spec.Image == "" {
		_, id := testenv.BookwormAutotoolsImage(t)
		spec.Image = id
	}
	s, err := d.Start(context.Background(), spec)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(context.Background()) })
	return d, s
}

func TestDockerRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, s := startDocker(t, engine.Spec{Env: []string{"GREETING=spec"}, WorkDir: "/work"})

	require.NoError(t, s.CopyIn(ctx, "/work/src", bytes.NewReader(srcTar(t))))

	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{
		Cmd:    []string{"sh", "-c", `pwd; cat sub/hello.txt; readlink link; echo "$GREETING $EXTRA"; echo to-stderr >&2; tar -cf ../out/src.tar sub 2>/dev/null || { mkdir -p ../out && tar -cf ../out/src.tar sub; }; exit 3`},
		Env:    []string{"EXTRA=exec"},
		Dir:    "/work/src",
		Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Equal(t, "/work/src\nhello from the host\nsub/hello.txt\nspec exec\n", out.String())
	assert.Equal(t, "to-stderr\n", errOut.String())

	var file bytes.Buffer
	require.NoError(t, s.CopyOut(ctx, "/work/src/sub/hello.txt", &file))
	assert.Equal(t, "hello from the host\n", file.String())

	// A tar made in the container comes out byte for byte: its one
	// member is the file copied in.
	var tarOut bytes.Buffer
	require.NoError(t, s.CopyOut(ctx, "/work/out/src.tar", &tarOut))
	tr := tar.NewReader(&tarOut)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	assert.Equal(t, []string{"sub/", "sub/hello.txt"}, names)

	err = s.CopyOut(ctx, "/work/src/sub", &bytes.Buffer{})
	assert.ErrorIs(t, err, engine.ErrNotRegular)
	err = s.CopyOut(ctx, "/work/src/missing", &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/work/src/missing")

	// The default working directory comes from the spec.
	out.Reset()
	code, err = s.Exec(ctx, engine.ExecSpec{Cmd: []string{"pwd"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "/work\n", out.String())

	id := s.ID()
	exists, err := d.ContainerExists(ctx, id)
	require.NoError(t, err)
	assert.True(t, exists)
	require.NoError(t, s.Close(ctx))
	require.NoError(t, s.Close(ctx), "Close is idempotent")
	exists, err = d.ContainerExists(ctx, id)
	require.NoError(t, err)
	assert.False(t, exists, "container removed by Close")

	_, err = s.Exec(ctx, engine.ExecSpec{Cmd: []string{"true"}})
	assert.ErrorIs(t, err, engine.ErrClosed)
}

func TestDockerHardening(t *testing.T) {
	ctx := context.Background()
	d, s := startDocker(t, engine.Spec{PidsLimit: 64, Memory: 256 << 20})
	ins, err := d.Client().ContainerInspect(ctx, s.ID(), client.ContainerInspectOptions{})
	require.NoError(t, err)
	hc := ins.Container.HostConfig
	assert.Equal(t, "none", string(hc.NetworkMode))
	assert.Equal(t, []string{"ALL"}, []string(hc.CapDrop))
	assert.ElementsMatch(t, engine.DefaultCaps, []string(hc.CapAdd))
	assert.Contains(t, hc.SecurityOpt, "no-new-privileges")
	assert.Equal(t, int64(256<<20), hc.Memory)
	require.NotNil(t, hc.PidsLimit)
	assert.Equal(t, int64(64), *hc.PidsLimit)
	assert.Equal(t, "1", ins.Container.Config.Labels[engine.Label])

	// CapDrop ALL is in force: CAP_NET_RAW and CAP_MKNOD are gone. The
	// bounding set (CapBnd in /proc/self/status) of a default Docker
	// container is 00000000a80425fb; ours keeps only bits 0,1,3,4,5,6,7
	// (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID) = 0xfb.
	var out bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"sh", "-c", "grep CapBnd /proc/self/status"}, Stdout: &out})
	require.NoError(t, err)
	require.Equal(t, 0, code)
	assert.Equal(t, "CapBnd:\t00000000000000fb\n", out.String())
}

func TestDockerNoNetwork(t *testing.T) {
	ctx := context.Background()
	_, s := startDocker(t, engine.Spec{})
	// deb.debian.org resolves to 203.0.113.80 on this machine, and the
	// mirror answers there (debootstrap used it); without a network the
	// connection must fail. bash's /dev/tcp does the TCP connect.
	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{
		Cmd:    []string{"bash", "-c", "exec 3<>/dev/tcp/203.0.113.80/80 && echo connected; ip=$(getent hosts deb.debian.org) && echo resolved $ip; ls /sys/class/net"},
		Stdout: &out, Stderr: &errOut,
	})
	require.NoError(t, err)
	assert.NotContains(t, out.String(), "connected")
	assert.NotContains(t, out.String(), "resolved")
	assert.Contains(t, errOut.String(), "Network is unreachable")
	assert.Equal(t, 0, code, "ls succeeds")
	assert.Equal(t, "lo\n", out.String(), "only the loopback interface")

	// With Network the same connection works.
	_, s2 := startDocker(t, engine.Spec{Network: true})
	out.Reset()
	code, err = s2.Exec(ctx, engine.ExecSpec{Cmd: []string{"bash", "-c", "exec 3<>/dev/tcp/203.0.113.80/80 && echo connected"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "connected\n", out.String())
}

func TestDockerCancelMidExecLeavesNothing(t *testing.T) {
	d, s := startDocker(t, engine.Spec{})
	id := s.ID()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"sleep", "60"}})
	assert.Less(t, time.Since(start), 20*time.Second)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), err)
	assert.Equal(t, -1, code)
	// The runner's deferred Close gets the canceled ctx; it must still
	// remove the container.
	require.NoError(t, s.Close(ctx))
	ids, err := d.Containers(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, ids, id)
}

func TestDockerKeep(t *testing.T) {
	ctx := context.Background()
	d, s := startDocker(t, engine.Spec{Keep: true})
	id := s.ID()
	require.NoError(t, s.Close(ctx))
	ids, err := d.Containers(ctx)
	require.NoError(t, err)
	assert.Contains(t, ids, id)
	// Its owner (this process) is alive: neither Reap nor Prune touch it.
	removed, err := d.Prune(ctx)
	require.NoError(t, err)
	assert.NotContains(t, removed, id)
	exists, err := d.ContainerExists(ctx, id)
	require.NoError(t, err)
	require.True(t, exists)
	_, err = d.Client().ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	require.NoError(t, err)
}

// TestDockerReapOnlyDeadOwners: containers recorded as made by a process
// that has ended (a real one, run and waited for) are removed by Reap,
// unless kept, and by Prune; this process's containers never are.
func TestDockerReapOnlyDeadOwners(t *testing.T) {
	ctx := context.Background()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead, err := owner.Self()
	require.NoError(t, err)
	dead.PID = cmd.Process.Pid
	ghost, err := engine.NewDocker(engine.WithOwner(dead))
	require.NoError(t, err)
	defer ghost.Close()
	ref, _ := testenv.BookwormAutotoolsImage(t)
	start := func(d *engine.Docker, keep bool) string {
		s, err := d.Start(ctx, engine.Spec{Image: ref, Keep: keep})
		require.NoError(t, err)
		t.Cleanup(func() {
			d.Client().ContainerRemove(context.Background(), s.ID(), client.ContainerRemoveOptions{Force: true})
		})
		return s.ID()
	}
	live := testenv.RequireDocker(t)
	mine := start(live, false)
	crashed := start(ghost, false)
	kept := start(ghost, true)
	reaped, err := live.Reap(ctx)
	require.NoError(t, err)
	assert.Contains(t, reaped, crashed)
	assert.NotContains(t, reaped, kept, "Reap leaves kept containers")
	assert.NotContains(t, reaped, mine, "the owner is alive")
	pruned, err := live.Prune(ctx)
	require.NoError(t, err)
	assert.Contains(t, pruned, kept, "Prune removes kept containers of dead owners")
	assert.NotContains(t, pruned, mine)
	for id, want := range map[string]bool{mine: true, crashed: false, kept: false} {
		exists, err := live.ContainerExists(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, exists, id)
	}
}

func TestDockerStartFailureCleansUp(t *testing.T) {
	ctx := context.Background()
	d := testenv.RequireDocker(t)
	// An image without /bin/sh: create succeeds, start fails (the
	// keep-alive entrypoint is missing), so Start must remove the
	// container it created.
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	cfg, err := img.ConfigName()
	require.NoError(t, err)
	tag, err := name.NewTag("verify-release-test/no-shell:latest")
	require.NoError(t, err)
	var archive bytes.Buffer
	require.NoError(t, tarball.Write(tag, img, &archive))
	_, err = d.Load(ctx, &archive)
	require.NoError(t, err)
	t.Cleanup(func() { d.RemoveImage(context.Background(), cfg.String()) })

	cname := "verify-release-test-startfail-" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000"), ".", "")
	_, err = d.Start(ctx, engine.Spec{Image: cfg.String(), Name: cname})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "starting container")
	exists, err2 := d.ContainerExists(ctx, cname)
	require.NoError(t, err2)
	assert.False(t, exists, "half-started container %s removed (start error: %v)", cname, err)

	_, err = d.Start(ctx, engine.Spec{Image: "sha256:0000000000000000000000000000000000000000000000000000000000000000"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256:0000")
}

func TestDockerCommit(t *testing.T) {
	ctx := context.Background()
	d, s := startDocker(t, engine.Spec{})
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"sh", "-c", "echo committed > /marker"}})
	require.NoError(t, err)
	require.Equal(t, 0, code)
	ref := "verify-release-test-commit:" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000"), ".", "")
	imageID, err := s.Commit(ctx, ref)
	require.NoError(t, err)
	t.Cleanup(func() { d.RemoveImage(context.Background(), ref) })
	info, err := d.Image(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, imageID, info.ID)

	ins, err := d.Client().ImageInspect(ctx, ref)
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/bash"}, []string(ins.Config.Cmd), "original command kept")
	assert.Empty(t, ins.Config.Entrypoint, "keep-alive entrypoint not baked in")

	s2, err := d.Start(ctx, engine.Spec{Image: ref})
	require.NoError(t, err)
	defer s2.Close(ctx)
	var out bytes.Buffer
	code, err = s2.Exec(ctx, engine.ExecSpec{Cmd: []string{"cat", "/marker"}, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "committed\n", out.String())
}

func TestDockerExecMissingCommand(t *testing.T) {
	ctx := context.Background()
	_, s := startDocker(t, engine.Spec{})
	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"no-such-command-here"}, Stdout: &out, Stderr: &errOut})
	require.NoError(t, err)
	assert.Equal(t, engine.CannotExecute, code)
	assert.Contains(t, out.String(), `"no-such-command-here": executable file not found`)
}
