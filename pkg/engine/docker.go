package engine

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"gitlab.com/verify-release/verify-release/pkg/owner"
)

// Label is set (with value "1") on every container the Docker backend
// creates, so leftovers can be found with `docker ps -a --filter
// label=verify-release=1`. Beside it the owner labels (pkg/owner) name
// the process that created the container, and LabelKeep marks one kept
// with Spec.Keep; Docker.Reap and Docker.Prune remove only containers
// whose owner is gone.
const Label = "verify-release"

// LabelKeep is set (to "1") on containers of sessions with Spec.Keep.
const LabelKeep = "verify-release.keep"

// DefaultCaps are the capabilities a Docker session keeps after dropping
// all others. They are what package managers and typical autotools builds
// running as root need: changing ownership and modes of files they create
// (CHOWN, FOWNER, FSETID), reading and writing files regardless of their
// mode (DAC_OVERRIDE), dropping privileges (SETUID, SETGID: apt runs its
// downloads as the _apt user) and signalling their own children (KILL).
// Docker's defaults MKNOD, NET_RAW, NET_BIND_SERVICE, SETPCAP, SETFCAP,
// SYS_CHROOT and AUDIT_WRITE are left out; a recipe that needs one declares
// it in Spec.CapAdd.
var DefaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID"}

const (
	// DefaultMemory is the memory limit when Spec.Memory is 0 (swap is
	// disabled: the limit covers memory plus swap).
	DefaultMemory = 4 << 30
	// DefaultPidsLimit is the process limit when Spec.PidsLimit is 0.
	DefaultPidsLimit = 4096
	// closeTimeout bounds container removal in Close and in Start's cleanup.
	closeTimeout = 30 * time.Second
)

// keepAlive is the entrypoint of session containers: it does nothing until
// the container is removed. It needs /bin/sh and sleep in the image.
var keepAlive = []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done"}

// Docker runs sessions in containers of a Docker Engine.
type Docker struct {
	cli   *client.Client
	owner owner.Owner // recorded on every container Start creates
}

var _ Engine = (*Docker)(nil)

// DockerOption configures NewDocker.
type DockerOption func(*dockerOptions)

type dockerOptions struct {
	host  string
	owner *owner.Owner
}

// WithOwner records o instead of the calling process as the owner of the
// containers Start creates (a test stands in for a crashed run with it).
func WithOwner(o owner.Owner) DockerOption {
	return func(opt *dockerOptions) { opt.owner = &o }
}

// WithDockerHost talks to host (e.g. "unix:///var/run/docker.sock")
// instead of DOCKER_HOST.
func WithDockerHost(host string) DockerOption {
	return func(o *dockerOptions) { o.host = host }
}

// NewDocker connects to the Docker Engine named by DOCKER_HOST (and the
// other DOCKER_* variables), or the default socket. The API version is
// negotiated on the first request, so old engines (API 1.41) work. No
// request is made; use Ping to check the engine is reachable.
func NewDocker(opts ...DockerOption) (*Docker, error) {
	var o dockerOptions
	for _, opt := range opts {
		opt(&o)
	}
	copts := []client.Opt{client.FromEnv}
	if o.host != "" {
		copts = append(copts, client.WithHost(o.host))
	}
	cli, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("engine: connecting to Docker: %w", err)
	}
	d := &Docker{cli: cli}
	if o.owner != nil {
		d.owner = *o.owner
	} else if d.owner, err = owner.Self(); err != nil {
		cli.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	return d, nil
}

// Client returns the underlying Docker API client.
func (d *Docker) Client() *client.Client { return d.cli }

// Ping checks that the engine answers and returns its API version.
func (d *Docker) Ping(ctx context.Context) (apiVersion string, err error) {
	res, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return "", fmt.Errorf("engine: Docker Engine at %s unreachable: %w", d.cli.DaemonHost(), err)
	}
	return res.APIVersion, nil
}

// Close releases the client's connections.
func (d *Docker) Close() error { return d.cli.Close() }

// Start creates and starts a hardened container from spec.Image: no network
// unless spec.Network, all capabilities dropped but DefaultCaps and
// spec.CapAdd, no-new-privileges, memory and process limits, and the label
// verify-release=1. spec.Env, spec.User and spec.WorkDir are applied to
// each Exec rather than to the container, so Commit does not bake them
// into images. If Start fails after creating the container it removes it.
func (d *Docker) Start(ctx context.Context, spec Spec) (Session, error) {
	if spec.Image == "" {
		return nil, errors.New("engine: Spec.Image is empty")
	}
	img, err := d.cli.ImageInspect(ctx, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("engine: inspecting image %s: %w", spec.Image, err)
	}
	mem := spec.Memory
	if mem == 0 {
		mem = DefaultMemory
	}
	pids := spec.PidsLimit
	if pids == 0 {
		pids = DefaultPidsLimit
	}
	network := container.NetworkMode("none")
	if spec.Network {
		network = "bridge"
	}
	caps := append(append([]string(nil), DefaultCaps...), spec.CapAdd...)
	// Created without ctx's cancellation: a create cancelled in flight can
	// leave a container whose ID the client never learnt.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	res, err := d.cli.ContainerCreate(cctx, client.ContainerCreateOptions{
		Name: spec.Name,
		Config: &container.Config{
			Image:           img.ID,
			Entrypoint:      keepAlive,
			Cmd:             []string{},
			Labels:          d.labels(spec),
			NetworkDisabled: !spec.Network,
			StopSignal:      "SIGTERM",
		},
		HostConfig: &container.HostConfig{
			NetworkMode: network,
			CapDrop:     []string{"ALL"},
			CapAdd:      caps,
			SecurityOpt: []string{"no-new-privileges"},
			Resources: container.Resources{
				Memory:     mem,
				MemorySwap: mem,
				PidsLimit:  &pids,
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("engine: creating container from %s: %w", spec.Image, err)
	}
	s := &dockerSession{d: d, id: res.ID, spec: spec, imageID: img.ID}
	if img.Config != nil {
		s.entrypoint = img.Config.Entrypoint
		s.cmd = img.Config.Cmd
	}
	if err := ctx.Err(); err != nil {
		s.spec.Keep = false
		return nil, errors.Join(fmt.Errorf("engine: starting container from %s: %w", spec.Image, err), s.Close(ctx))
	}
	if _, err := d.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		s.spec.Keep = false
		return nil, errors.Join(fmt.Errorf("engine: starting container from %s: %w", spec.Image, err), s.Close(ctx))
	}
	return s, nil
}

func (d *Docker) labels(spec Spec) map[string]string {
	l := d.owner.Labels()
	l[Label] = "1"
	if spec.Keep {
		l[LabelKeep] = "1"
	}
	return l
}

// Containers lists the IDs of all containers (running or not) labelled
// verify-release=1.
func (d *Docker) Containers(ctx context.Context) ([]string, error) {
	items, err := d.list(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(items))
	for _, c := range items {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func (d *Docker) list(ctx context.Context) ([]container.Summary, error) {
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", Label+"=1"),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: listing containers: %w", err)
	}
	return res.Items, nil
}

// Reap force-removes the containers left by runs that crashed: labelled
// verify-release=1, not kept (Spec.Keep), and whose owner process is gone
// (owner.Owner.Gone). A live run's containers, another host's and those
// of older versions (no owner labels) are never touched. It returns the
// IDs removed; a run calls it before it starts.
func (d *Docker) Reap(ctx context.Context) ([]string, error) { return d.remove(ctx, false) }

// Prune is Reap that also removes kept containers whose owner is gone
// ('verify-release cache prune --containers').
func (d *Docker) Prune(ctx context.Context) ([]string, error) { return d.remove(ctx, true) }

func (d *Docker) remove(ctx context.Context, kept bool) ([]string, error) {
	items, err := d.list(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, c := range items {
		o, ok := owner.FromLabels(c.Labels)
		if !ok || !o.Gone() || (c.Labels[LabelKeep] == "1" && !kept) {
			continue
		}
		if err := d.removeContainer(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, c.ID)
	}
	return removed, errors.Join(errs...)
}

func (d *Docker) removeContainer(ctx context.Context, id string) error {
	_, err := d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("engine: removing container %s: %w", shortID(id), err)
	}
	return nil
}

// ContainerExists reports whether a container with this ID or name exists.
func (d *Docker) ContainerExists(ctx context.Context, idOrName string) (bool, error) {
	_, err := d.cli.ContainerInspect(ctx, idOrName, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("engine: inspecting container %s: %w", idOrName, err)
	}
	return true, nil
}

// ImageInfo is what the engine knows about a local image.
type ImageInfo struct {
	// ID is the image ID, the digest of its config ("sha256:...").
	ID string
	// RepoDigests are "name@sha256:..." manifest digests the engine
	// recorded when pulling or pushing the image.
	RepoDigests []string
	RepoTags    []string
}

// ErrImageNotFound is returned by Docker.Image for an image the engine
// does not have.
var ErrImageNotFound = errors.New("engine: image not found")

// Image inspects a local image by reference or ID. It wraps
// ErrImageNotFound when the engine does not have it.
func (d *Docker) Image(ctx context.Context, ref string) (ImageInfo, error) {
	res, err := d.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("engine: inspecting image %s: %w", ref, err)
	}
	return ImageInfo{ID: res.ID, RepoDigests: res.RepoDigests, RepoTags: res.RepoTags}, nil
}

// Pull pulls ref from its registry and waits for the pull to finish.
func (d *Docker) Pull(ctx context.Context, ref string) error {
	resp, err := d.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("engine: pulling %s: %w", ref, err)
	}
	defer resp.Close()
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("engine: pulling %s: %w", ref, err)
	}
	return nil
}

// Save writes the image ref as a docker-archive (`docker save` format)
// to w.
func (d *Docker) Save(ctx context.Context, ref string, w io.Writer) error {
	rc, err := d.cli.ImageSave(ctx, []string{ref})
	if err != nil {
		return fmt.Errorf("engine: saving %s: %w", ref, err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("engine: saving %s: %w", ref, err)
	}
	return nil
}

// Load loads a docker-archive (`docker save` format) tarball into the
// engine and returns the image IDs and references the engine reported.
func (d *Docker) Load(ctx context.Context, archive io.Reader) ([]string, error) {
	resp, err := d.cli.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, fmt.Errorf("engine: loading image: %w", err)
	}
	defer resp.Close()
	var loaded []string
	dec := json.NewDecoder(resp)
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return loaded, fmt.Errorf("engine: loading image: reading response: %w", err)
		}
		if m.Error != "" {
			return loaded, fmt.Errorf("engine: loading image: %s", m.Error)
		}
		for _, prefix := range []string{"Loaded image ID: ", "Loaded image: "} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(m.Stream), prefix); ok {
				loaded = append(loaded, rest)
			}
		}
	}
	return loaded, nil
}

// Tag adds the reference target to the image source.
func (d *Docker) Tag(ctx context.Context, source, target string) error {
	if _, err := d.cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		return fmt.Errorf("engine: tagging %s as %s: %w", source, target, err)
	}
	return nil
}

// RemoveImage removes a local image or tag (not found is not an error).
func (d *Docker) RemoveImage(ctx context.Context, ref string) error {
	_, err := d.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("engine: removing image %s: %w", ref, err)
	}
	return nil
}

type dockerSession struct {
	d               *Docker
	id              string
	spec            Spec
	imageID         string
	entrypoint, cmd []string
	mu              sync.Mutex
	closed          bool
	closeErr        error
}

func (s *dockerSession) ID() string { return s.id }

func (s *dockerSession) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

func (s *dockerSession) Exec(ctx context.Context, e ExecSpec) (int, error) {
	if err := s.check(); err != nil {
		return -1, err
	}
	if len(e.Cmd) == 0 {
		return -1, errors.New("engine: ExecSpec.Cmd is empty")
	}
	user := e.User
	if user == "" {
		user = s.spec.User
	}
	dir := e.Dir
	if dir == "" {
		dir = s.spec.WorkDir
	}
	env := append(append([]string(nil), s.spec.Env...), e.Env...)
	created, err := s.d.cli.ExecCreate(ctx, s.id, client.ExecCreateOptions{
		User:         user,
		AttachStdout: true,
		AttachStderr: true,
		Env:          env,
		WorkingDir:   dir,
		Cmd:          e.Cmd,
	})
	if err != nil {
		return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], err)
	}
	att, err := s.d.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("engine: exec %q: attaching: %w", e.Cmd[0], err)
	}
	defer att.Close()
	stdout, stderr := e.Stdout, e.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	done := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Closing the connection does not stop the process in the
		// container; Close (force removal) does.
		att.Close()
		<-done
		return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], context.Cause(ctx))
	}
	if err != nil {
		return -1, fmt.Errorf("engine: exec %q: reading output: %w", e.Cmd[0], err)
	}
	// The output stream ends when the process exits; the engine may
	// record the exit code a moment later.
	for {
		ins, err := s.d.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("engine: exec %q: %w", e.Cmd[0], context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// CopyIn streams the tar into the container with every member name
// prefixed by dstDir, so missing parent directories are created by the
// engine (root-owned, mode 0755) and no mkdir is needed in the image.
// Members keep the ownership and modes of their tar headers; a "./" member
// sets dstDir's own.
func (s *dockerSession) CopyIn(ctx context.Context, dstDir string, tarStream io.Reader) error {
	if err := s.check(); err != nil {
		return err
	}
	if !path.IsAbs(dstDir) {
		return fmt.Errorf("engine: copy into %q: destination must be an absolute path", dstDir)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(prefixTar(pw, tarStream, strings.TrimPrefix(path.Clean(dstDir), "/")))
	}()
	_, err := s.d.cli.CopyToContainer(ctx, s.id, client.CopyToContainerOptions{
		DestinationPath: "/",
		Content:         pr,
	})
	pr.CloseWithError(errors.New("engine: copy aborted"))
	if err != nil {
		return fmt.Errorf("engine: copy into %s: %w", dstDir, err)
	}
	return nil
}

// prefixTar copies a tar stream, joining prefix to each member name and
// hard link target. Names escaping the prefix are an error.
func prefixTar(w io.Writer, r io.Reader, prefix string) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	join := func(name string) (string, error) {
		for _, elem := range strings.Split(name, "/") {
			if elem == ".." {
				return "", fmt.Errorf("engine: tar member %q escapes the destination", name)
			}
		}
		joined := strings.TrimPrefix(path.Join("/"+prefix, name), "/")
		if joined == "" {
			joined = "."
		}
		return joined, nil
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return fmt.Errorf("engine: reading tar stream: %w", err)
		}
		name, err := join(hdr.Name)
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeDir {
			name += "/"
		}
		hdr.Name = name
		if hdr.Typeflag == tar.TypeLink {
			if hdr.Linkname, err = join(hdr.Linkname); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("engine: writing tar stream: %w", err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("engine: copying tar member %s: %w", hdr.Name, err)
		}
	}
}

// ErrNotRegular is returned by CopyOut for a path that is not a regular
// file.
var ErrNotRegular = errors.New("engine: not a regular file")

func (s *dockerSession) CopyOut(ctx context.Context, p string, w io.Writer) error {
	if err := s.check(); err != nil {
		return err
	}
	res, err := s.d.cli.CopyFromContainer(ctx, s.id, client.CopyFromContainerOptions{SourcePath: p})
	if err != nil {
		return fmt.Errorf("engine: copy out %s: %w", p, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return fmt.Errorf("engine: copy out %s: reading archive: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("%w: %s (tar type %q)", ErrNotRegular, p, hdr.Typeflag)
	}
	if _, err := io.Copy(w, tr); err != nil {
		return fmt.Errorf("engine: copy out %s: %w", p, err)
	}
	return nil
}

// Commit saves the container's filesystem as an image tagged ref. The
// image keeps the original image's entrypoint and command (not the
// session's keep-alive loop) and carries the label verify-release=1.
func (s *dockerSession) Commit(ctx context.Context, ref string) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	// Fields left empty here are filled from the container's config by
	// the engine; a non-nil empty Entrypoint stays empty.
	res, err := s.d.cli.ContainerCommit(ctx, s.id, client.ContainerCommitOptions{
		Reference: ref,
		Comment:   "verify-release setup",
		Config:    &container.Config{Entrypoint: nonNil(s.entrypoint), Cmd: nonNil(s.cmd)},
	})
	if err != nil {
		return "", fmt.Errorf("engine: committing container %s as %s: %w", shortID(s.id), ref, err)
	}
	return res.ID, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *dockerSession) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	if s.spec.Keep {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	s.closeErr = s.d.removeContainer(ctx, s.id)
	return s.closeErr
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
