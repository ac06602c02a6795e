package recipe_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

func withTag(tag string) string {
	return strings.Replace(minimal, `tag = "v1.0"`, fmt.Sprintf("tag = %q", tag), 1)
}

func withGit(u string) string {
	return strings.Replace(minimal, `git = "https://example.org/demo.git"`, fmt.Sprintf("git = %q", u), 1)
}

// TestTagFollowsGitRefFormat checks tags against git itself: the recipe
// accepts a tag exactly when `git check-ref-format refs/tags/TAG` does,
// except that tags with shell metacharacters are refused even where git
// allows them.
func TestTagFollowsGitRefFormat(t *testing.T) {
	git, err := exec.LookPath("git")
	require.NoError(t, err, "git is required")
	shellMeta := map[string]bool{
		"v1.8; touch pwned": true, "v1.0$(touch x)": true, "v1.0`id`": true, "v1&&id": true,
		"v1|id": true, "v1>out": true, "v1'x": true, `v1"x`: true, "v1!x": true, "v1#x": true, "v1{a}": true,
	}
	tags := []string{"v1.0", "1.8", "release/2.0", "v1.0-rc1", "v1.0+build", "v1_0", "v@1",
		"v1..0", "v1.0.lock", ".v1", "v1/", "v1//x", "v1.", "v1@{0}", "@", "v1~1", "v1^", "v1:x",
		"v1?", "v1*", "v1[", `v1\x`, "v1 0", "v1\t0", "v1\x7f", "release/.hidden",
		"-v1", "-"}
	for tag := range shellMeta {
		tags = append(tags, tag)
	}
	for _, tag := range tags {
		t.Run(tag, func(t *testing.T) {
			gitOK := exec.Command(git, "check-ref-format", "refs/tags/"+tag).Run() == nil
			want := gitOK && !shellMeta[tag] && !strings.HasPrefix(tag, "-")
			_, err := recipe.Parse("demo.toml", []byte(withTag(tag)))
			if want {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, recipe.ErrInvalid))
			assert.Contains(t, err.Error(), "demo.toml:6: source.tag:")
		})
	}
}

func TestGitURLTransports(t *testing.T) {
	tests := []struct {
		url   string
		ok    bool
		local bool // accepted with WithLocalGit only
	}{
		{"https://gitlab.com/gsasl/libntlm.git", true, false},
		{"http://git.example.org/x.git", true, false},
		{"ssh://git@example.org/x.git", true, false},
		{"git@example.org:x/y.git", true, false},
		{"example.org:x.git", true, false},
		{"--upload-pack=touch /tmp/pwned", false, false},
		{"-oProxyCommand=id", false, false},
		{"ext::sh -c touch% /tmp/pwned", false, false},
		{"ext::sh", false, false},
		{"fd::3", false, false},
		{"git://example.org/x.git", false, false},
		{"ftp://example.org/x.git", false, false},
		{"ssh://-oProxyCommand=id/x", false, false},
		{"-host:x.git", false, false},
		{"https://exa mple.org/x", false, false},
		{"/srv/git/x.git", false, true},
		{"./x.git", false, true},
		{"file:///srv/git/x.git", false, true},
		{"x.git", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := recipe.Parse("demo.toml", []byte(withGit(tt.url)))
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "source.git:")
			}
			_, err = recipe.Parse("demo.toml", []byte(withGit(tt.url)), recipe.WithLocalGit())
			if tt.ok || tt.local {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestInputAndArtifactURLs(t *testing.T) {
	s := minimal + "url = \"file:///etc/passwd\"\n\n[[inputs]]\nname = \"g\"\ngit = \"ext::sh -c id\"\ncommit = \"0123456789abcdef0123456789abcdef01234567\"\npath = \"g\"\n"
	_, err := recipe.Parse("demo.toml", []byte(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "artifacts.src.url:")
	assert.Contains(t, err.Error(), "inputs[0].git:")
}

func TestRecipeSizeLimits(t *testing.T) {
	// A file over MaxFileSize is refused before it is decoded.
	big := minimal + "description = \"" + strings.Repeat("x", recipe.MaxFileSize) + "\"\n"
	dir := t.TempDir()
	p := filepath.Join(dir, "big.toml")
	require.NoError(t, os.WriteFile(p, []byte(big), 0o644))
	_, err := recipe.Load(p)
	require.Error(t, err)
	assert.True(t, errors.Is(err, recipe.ErrInvalid))
	assert.Contains(t, err.Error(), "larger than 1048576 bytes")

	// An array over MaxListLength is refused with its key.
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("commands = [")
	for i := 0; i <= recipe.MaxListLength; i++ {
		b.WriteString(`"x",`)
	}
	b.WriteString("]\n")
	_, err = recipe.Parse("demo.toml", []byte(b.String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "artifacts.src.commands: has 1001 entries, more than the 1000 accepted")
}
