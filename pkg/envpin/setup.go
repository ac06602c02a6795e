package envpin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

// SetupRepo is the repository of cached setup images; the tag is the
// setup key.
const SetupRepo = "verify-release-setup"

// SetupError reports a setup command that exited non-zero.
type SetupError struct {
	Command  string
	ExitCode int
}

func (e *SetupError) Error() string {
	return fmt.Sprintf("envpin: setup command %q exited with status %d", e.Command, e.ExitCode)
}

// SetupKey is the cache key of a setup image: the SHA-256 of the base
// image ID, the commands in order and the sorted packages.
func SetupKey(baseImageID string, commands, packages []string) string {
	pkgs := append([]string(nil), packages...)
	sort.Strings(pkgs)
	b, _ := json.Marshal(struct {
		V        int      `json:"v"`
		Base     string   `json:"base"`
		Commands []string `json:"commands"`
		Packages []string `json:"packages"`
	}{1, baseImageID, commands, pkgs})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// installScript installs packages with whichever of apt-get, dnf or apk
// the image has.
func installScript(packages []string) string {
	pkgs := append([]string(nil), packages...)
	sort.Strings(pkgs)
	for i, p := range pkgs {
		pkgs[i] = "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	}
	list := strings.Join(pkgs, " ")
	return `set -e
if command -v apt-get >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ` + list + `
  rm -rf /var/lib/apt/lists/*
elif command -v dnf >/dev/null; then
  dnf install -y ` + list + `
  dnf clean all
elif command -v apk >/dev/null; then
  apk add --no-cache ` + list + `
else
  echo "no apt-get, dnf or apk in the image" >&2; exit 127
fi`
}

// SetupImage returns the ID of the base image after the setup commands
// (run in order with /bin/sh -c, as root, with network) and the package
// installation. The result is committed as verify-release-setup:<SetupKey>;
// when that image exists it is returned with cached true and no container
// is run. Pass the base image's ID (not a tag) so the key changes with it.
// WithOutput receives the commands' output.
func SetupImage(ctx context.Context, d *engine.Docker, baseImageID string, commands, packages []string, opts ...Option) (imageID string, cached bool, err error) {
	o := makeOptions(opts)
	tag := SetupRepo + ":" + SetupKey(baseImageID, commands, packages)
	if info, err := d.Image(ctx, tag); err == nil {
		return info.ID, true, nil
	} else if !errors.Is(err, engine.ErrImageNotFound) {
		return "", false, err
	}
	if len(commands) == 0 && len(packages) == 0 {
		return baseImageID, false, nil
	}
	s, err := d.Start(ctx, engine.Spec{Image: baseImageID, Network: true, User: "0", Env: []string{"DEBIAN_FRONTEND=noninteractive"}, WorkDir: "/"})
	if err != nil {
		return "", false, err
	}
	defer s.Close(ctx)
	steps := append([]string(nil), commands...)
	if len(packages) > 0 {
		steps = append(steps, installScript(packages))
	}
	for _, c := range steps {
		code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"/bin/sh", "-c", c}, Stdout: o.stdout, Stderr: o.stderr})
		if err != nil {
			return "", false, err
		}
		if code != 0 {
			return "", false, &SetupError{Command: c, ExitCode: code}
		}
	}
	id, err := s.Commit(ctx, tag)
	if err != nil {
		return "", false, err
	}
	return id, false, nil
}
