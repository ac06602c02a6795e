package runner_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/report"
	"gitlab.com/verify-release/verify-release/pkg/runner"
)

// Pinned inputs (a git repository at a commit, like gnulib for
// ./bootstrap, and a file with a sha256) appear beside the checkout, so
// builds need no network. A corrupt cached input is detected by its digest
// and fetched again.
func TestPinnedInputs(t *testing.T) {
	repo, commit := demoRepo(t)
	lib := t.TempDir()
	sh(t, lib, `git init -q -b main && echo 'gnulib module' > module.txt && git add -A && git commit -q -m lib && echo 'later' > module.txt && git commit -q -am later`)
	libCommit := sh(t, lib, "git rev-parse HEAD~1") // not the branch head: the pin wins

	payload := "pinned data file\n"
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(payload))
	}))
	defer srv.Close()
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "payload"), []byte(payload), 0o644))
	payloadSHA := sh(t, work, "sha256sum payload | cut -c1-64")
	want := sh(t, work, "printf 'gnulib module\\npinned data file\\n' | sha256sum | cut -c1-64")

	data := `name = "inputs"
version = "1.0"
[source]
git = "` + repo + `"
tag = "v1.0"
commit = "` + commit + `"
[env]
image = "example.invalid/unused@sha256:` + strings.Repeat("0", 64) + `"
[[inputs]]
name = "gnulib"
git = "` + lib + `"
commit = "` + libCommit + `"
path = "gnulib"
[[inputs]]
name = "data"
url = "` + srv.URL + `/data.txt"
sha256 = "` + payloadSHA + `"
path = "downloads/data.txt"
[artifacts.out]
file = "out.txt"
sha256 = "` + want + `"
method = "build"
commands = ["cat ../gnulib/module.txt ../downloads/data.txt > out.txt"]
`
	r, err := recipe.Parse("inputs.toml", []byte(data), recipe.WithLocalGit())
	require.NoError(t, err)
	cache := t.TempDir()
	run := func() *report.Report {
		rep, err := runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(cache))
		require.NoError(t, err)
		return rep
	}
	rep := run()
	require.Equal(t, report.Reproduced, rep.Result, "%+v", rep.Artifacts)
	assert.EqualValues(t, 1, hits.Load())

	run()
	assert.EqualValues(t, 1, hits.Load(), "the cached input is reused")

	require.NoError(t, os.WriteFile(filepath.Join(cache, "files", payloadSHA), []byte("corrupt"), 0o644))
	rep = run()
	assert.Equal(t, report.Reproduced, rep.Result)
	assert.EqualValues(t, 2, hits.Load(), "a corrupt cache entry is fetched again")

	// A URL serving other bytes than pinned is an error naming both digests.
	payload = "tampered\n"
	require.NoError(t, os.Remove(filepath.Join(cache, "files", payloadSHA)))
	rep, err = runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(cache))
	require.ErrorIs(t, err, runner.ErrFetch)
	assert.Contains(t, err.Error(), "the recipe pins "+payloadSHA)
	assert.Equal(t, report.Error, rep.Result)

	// Offline, with a copy of the file (WithInput): the server (still
	// serving other bytes) is not asked, the build sees the pinned bytes,
	// and the copy is neither changed nor copied into a new cache.
	hits.Store(0)
	local := filepath.Join(work, "payload")
	fresh := t.TempDir()
	rep, err = runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(fresh), runner.WithInput("data", local))
	require.NoError(t, err)
	assert.Equal(t, report.Reproduced, rep.Result, "%+v", rep.Artifacts)
	assert.EqualValues(t, 0, hits.Load(), "a url input given locally is not fetched")
	assert.NoFileExists(t, filepath.Join(fresh, "files", payloadSHA))
	assert.Equal(t, payloadSHA, sh(t, work, "sha256sum payload | cut -c1-64"))

	// A local copy with other bytes: an *InputError naming the input, the
	// file and both digests.
	wrong := filepath.Join(work, "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("not the pinned file\n"), 0o644))
	wrongSHA := sh(t, work, "sha256sum wrong | cut -c1-64")
	rep, err = runner.Run(context.Background(), r, runner.WithEngine(engine.NewHost(), runner.BackendHost), runner.WithCacheDir(fresh), runner.WithInput("data", wrong))
	var ie *runner.InputError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "data", ie.Name)
	assert.Equal(t, wrong, ie.Local)
	assert.Contains(t, err.Error(), wrong+" has sha256 "+wrongSHA+", the recipe pins "+payloadSHA)
	assert.Equal(t, report.Error, rep.Result)
	assert.EqualValues(t, 0, hits.Load())
	// The build artifacts are listed, each with the input's error.
	builds := 0
	for _, a := range rep.Artifacts {
		if a.Method == string(recipe.MethodBuild) {
			builds++
			assert.Equal(t, report.Error, a.Status, a.Name)
			assert.Contains(t, a.Error, "has sha256 "+wrongSHA, a.Name)
		}
	}
	assert.Positive(t, builds, "build artifacts listed: %+v", rep.Artifacts)
}
