package ci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nektos/act/pkg/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// checkSchema validates a workflow (definition "workflow-root-strict") or
// action metadata file ("action-root") against GitHub's own schema of
// them: actions/languageservices' workflow-v1.0 and action schemas, as
// nektos/act embeds them (pkg/schema). This is a second, independent check
// beside actionlint: it rejects keys and value shapes GitHub's parser
// does not know.
func checkSchema(t *testing.T, definition string, s *schema.Schema, content []byte) error {
	t.Helper()
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal(content, &node))
	return (&schema.Node{Definition: definition, Schema: s}).UnmarshalYAML(&node)
}

func TestShippedWorkflowsMatchGitHubSchema(t *testing.T) {
	gate, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", "verify-release-gate.yml"))
	require.NoError(t, err)
	assert.NoError(t, checkSchema(t, "workflow-root-strict", schema.GetWorkflowSchema(), gate), "verify-release-gate.yml")

	action, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	require.NoError(t, err)
	assert.NoError(t, checkSchema(t, "action-root", schema.GetActionSchema(), action), "action.yml")

	// The workflow 'ci github' generates for the shipped recipes.
	w, err := GitHub(recipe.DirStore(filepath.Join(repoRoot, "recipes")), WithRecipesDir("recipes"), WithAllowUnpinned(true))
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, w.WriteYAML(&b))
	assert.NoError(t, checkSchema(t, "workflow-root-strict", schema.GetWorkflowSchema(), []byte(b.String())), "generated workflow")
}

// The schema check fails on what GitHub would refuse: a key a job does
// not have, a step without run or uses, a bad permission level.
func TestGitHubSchemaRejects(t *testing.T) {
	gate, err := os.ReadFile(filepath.Join(repoRoot, ".github", "workflows", "verify-release-gate.yml"))
	require.NoError(t, err)
	for name, edit := range map[string]func(string) string{
		"unknown job key": func(s string) string { return strings.Replace(s, "    runs-on:", "    runs-onn: x\n    runs-on:", 1) },
		"bad permission":  func(s string) string { return strings.Replace(s, "contents: read", "contents: admin", 1) },
		"no jobs":         func(s string) string { return strings.Replace(s, "\njobs:", "\njobz:", 1) },
	} {
		t.Run(name, func(t *testing.T) {
			bad := edit(string(gate))
			require.NotEqual(t, string(gate), bad, "the edit must change the workflow")
			assert.Error(t, checkSchema(t, "workflow-root-strict", schema.GetWorkflowSchema(), []byte(bad)))
		})
	}
}
