package ci

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository root, as actionlint's project (it resolves
// local "uses: ./..." actions and reusable workflows against it).
const repoRoot = "../.."

// lint runs actionlint (its library, as the actionlint command would,
// without the shellcheck and pyflakes integrations, whose binaries are
// not installed) on a workflow and returns its findings as text. path
// only names the file in messages and decides, by living under
// .github/workflows, that it is a workflow.
func lint(t *testing.T, path string, content []byte) []string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	proj, err := actionlint.NewProject(root)
	require.NoError(t, err)
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: "", Pyflakes: "", WorkingDir: root})
	require.NoError(t, err)
	errs, err := l.Lint(filepath.Join(root, path), content, proj)
	require.NoError(t, err)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	return msgs
}

// pinnedRE is a third-party action pinned by a full commit.
var pinnedRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)

// usesLines returns every "uses:" line of a YAML text: the value and the
// trailing comment.
func usesLines(text string) [][2]string {
	re := regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)\s*(?:#\s*(.*))?$`)
	var out [][2]string
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		out = append(out, [2]string{m[1], strings.TrimSpace(m[2])})
	}
	return out
}

// checkPinned asserts that every action a file uses is one of the pinned
// actions of github.go, by full commit, with its release as the comment.
func checkPinned(t *testing.T, name, text string) {
	t.Helper()
	lines := usesLines(text)
	require.NotEmpty(t, lines, "%s uses no action", name)
	for _, u := range lines {
		if strings.HasPrefix(u[0], "./") {
			continue
		}
		assert.Regexp(t, pinnedRE, u[0], "%s: %s is not pinned by a full commit", name, u[0])
		v, ok := ActionVersions[u[0]]
		assert.True(t, ok, "%s: %s is not one of the pinned actions of pkg/ci/github.go", name, u[0])
		assert.Equal(t, v, u[1], "%s: %s: the comment must name its release", name, u[0])
	}
}

// checkPermissions asserts least privilege: no write permission, no
// "write-all"/"read-all", and a permissions key at the top and on every job.
func checkPermissions(t *testing.T, name string, doc map[string]any) {
	t.Helper()
	top, ok := doc["permissions"]
	require.True(t, ok, "%s: no top-level permissions", name)
	assert.Equal(t, map[string]any{}, top, "%s: top-level permissions must be {}", name)
	jobs := doc["jobs"].(map[string]any)
	for jn, j := range jobs {
		p, ok := j.(map[string]any)["permissions"]
		require.True(t, ok, "%s: job %s has no permissions", name, jn)
		pm, ok := p.(map[string]any)
		require.True(t, ok, "%s: job %s: permissions %v is not a mapping", name, jn, p)
		for scope, level := range pm {
			assert.Equal(t, "contents", scope, "%s: job %s asks for %s", name, jn, scope)
			assert.Equal(t, "read", level, "%s: job %s: %s: %v", name, jn, scope, level)
		}
	}
}

func parseFile(t *testing.T, path string) (string, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	return string(data), doc
}

// The linter is not a rubber stamp: it finds a bad expression, an
// undefined input and a needs: cycle in a small broken workflow.
func TestActionlintCatchesErrors(t *testing.T) {
	msgs := lint(t, ".github/workflows/broken.yml", []byte(`on: push
jobs:
  a:
    needs: b
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ inputs.nope }}
  b:
    needs: a
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ matrix.x.y }
`))
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "cyclic dependencies")
	assert.Contains(t, all, "nope")
	assert.GreaterOrEqual(t, len(msgs), 3, all)
}
