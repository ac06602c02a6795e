// Package corpus_test re-creates the real releases of corpus/debian/ and
// recipes/ from Debian's archive and checks each verdict against values
// found by hand (issue 12), and docs/results.md against the reports.
//
// It is a package of its own so that `go test ./...` runs these long,
// CPU-bound builds beside the other packages' tests rather than after
// cmd/verify-release's. The tests run the verify-release binary built
// from this checkout in TestMain, as a user would.
package corpus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/ci"
)

// Exit codes of verify-release (docs/cli.md).
const (
	exitOK     = 0
	exitDiffer = 1
)

// slots bounds the builds running at once across the package's tests
// (two cores): each test or subtest that runs a build holds one.
var slots = make(chan struct{}, 2)

// slot takes a build slot until the test ends.
func slot(t *testing.T) {
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
}

// bin is the verify-release binary TestMain builds.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "verify-release-corpus-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "verify-release")
	build := exec.Command("go", "build", "-o", bin, "../cmd/verify-release")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building verify-release:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs verify-release with args and returns its exit code, stdout
// and stderr. No VERIFY_RELEASE_* setting of the caller's environment
// leaks in.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VERIFY_RELEASE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	require.NoError(t, err)
	return -1, "", ""
}

// runRecipe runs 'verify-release run RECIPE ARGS... --out OUT --quiet'
// in a build slot, requires exit code want and returns OUT, the run's
// stdout and OUT/NAME/VERSION/report.json. The Debian mirror is read for
// real: unreachable, the run is exit 2 and the test fails (never skips).
func runRecipe(t *testing.T, recipe, name, version string, want int, args ...string) (out, stdout string, report []byte) {
	t.Helper()
	slot(t)
	out = t.TempDir()
	code, stdout, stderr := run(t, append(append([]string{"run", recipe}, args...), "--out", out, "--quiet")...)
	require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	report, err := os.ReadFile(filepath.Join(out, name, version, "report.json"))
	require.NoError(t, err)
	return out, stdout, report
}

// resultsDoc is the committed results table of the real recipes.
var resultsDoc = filepath.Join("..", "docs", "results.md")

var resultsMu sync.Mutex

// checkResultsTable checks that docs/results.md is current for the
// reports under out (the recipes a test just ran): each row, but for its
// time cell, is the one the table has. With VERIFY_RELEASE_UPDATE_RESULTS=1
// it writes the rows into the table instead ('verify-release ci table'
// does the same from any results directory).
func checkResultsTable(t *testing.T, out string) {
	t.Helper()
	res, err := ci.Collect(context.Background(), out)
	require.NoError(t, err)
	rows := res.Table()
	require.NotEmpty(t, rows, "no re-created artifact under %s", out)
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if os.Getenv("VERIFY_RELEASE_UPDATE_RESULTS") == "1" {
		require.NoError(t, ci.UpdateTableFile(resultsDoc, rows))
		return
	}
	doc, err := os.ReadFile(resultsDoc)
	require.NoError(t, err, "docs/results.md is missing: run the corpus tests with VERIFY_RELEASE_UPDATE_RESULTS=1")
	lines := strings.Split(string(doc), "\n")
	for _, r := range rows {
		var found string
		for _, l := range lines {
			if strings.HasPrefix(l, r.Key()+" ") {
				found = l
				break
			}
		}
		if !assert.NotEmpty(t, found, "docs/results.md has no row %s; run go test ./corpus with VERIFY_RELEASE_UPDATE_RESULTS=1 (or 'verify-release ci table') and commit it", r.Key()) {
			continue
		}
		assert.Equal(t, ci.Stable(r.Line()), ci.Stable(found), "docs/results.md is not current for %s; run go test ./corpus with VERIFY_RELEASE_UPDATE_RESULTS=1 and commit it", r.Key())
	}
}
