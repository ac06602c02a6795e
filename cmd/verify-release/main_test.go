package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// run runs the CLI in-process and returns exit code, stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""), Getenv: func(k string) string { return env[k] }}
	code := runMain(context.Background(), c, args)
	return code, out.String(), errb.String()
}

func TestMainHelpAndVersion(t *testing.T) {
	code, out, _ := run(t, nil, "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Examples:")
	assert.Contains(t, out, "recipe")

	code, out, _ = run(t, nil, "--version")
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(out, "verify-release "))

	code, _, errOut := run(t, nil)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "Usage:")

	code, _, errOut = run(t, nil, "--bogus")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "verify-release: error: unknown flag --bogus")
}

func TestEverySubcommandHasHelpWithExamples(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			code, out, _ := run(t, nil, name, "--help")
			assert.Equal(t, exitOK, code)
			assert.Contains(t, out, "Usage:")
			assert.Contains(t, out, "Examples:")
		})
	}
}

func TestRecipeCheck(t *testing.T) {
	code, out, errOut := run(t, nil, "recipe", "check", "../../recipes")
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "ok   ../../recipes/libntlm/1.8.toml libntlm/1.8")

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte("name = \"x\"\nversoin = \"1\"\n"), 0o644))
	code, out, errOut = run(t, nil, "recipe", "check", bad)
	assert.Equal(t, exitDiffer, code)
	assert.Contains(t, out, "FAIL "+bad)
	assert.Contains(t, errOut, bad+":2: versoin: unknown key")
	assert.Contains(t, errOut, bad+": version: required key is missing")

	code, _, errOut = run(t, nil, "recipe", "check", filepath.Join(dir, "missing.toml"))
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "missing.toml")

	code, _, errOut = run(t, nil, "recipe", "frobnicate")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "hint: run 'verify-release recipe --help'")
}

func TestRecipeShowAndList(t *testing.T) {
	env := map[string]string{"VERIFY_RELEASE_RECIPES": "../../recipes"}
	code, out, errOut := run(t, env, "recipe", "show", "libntlm", "1.8")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, `commit = "7dc46da7dba4322cb6d81068e93c31b909b71676"`)
	assert.Contains(t, out, `compress = "gzip-n"`, "defaults are filled in")

	code, _, errOut = run(t, env, "recipe", "show", "libntlm", "9.9")
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "no such recipe libntlm 9.9")
	assert.Contains(t, errOut, "hint: run 'verify-release list'")

	code, out, _ = run(t, env, "list", "--json")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, `"name": "libntlm"`)
}

// TestEverySubcommandUnknownFlagAndHelpSpelling: for every command, an
// unknown flag is a two-line error (no help dump) with exit 2, and --help
// spells every long flag --flag (docs/cli.md).
func TestEverySubcommandUnknownFlagAndHelpSpelling(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, nil, name, "--no-such-flag")
			assert.Equal(t, exitError, code)
			assert.Empty(t, out)
			assert.Equal(t, "verify-release: error: unknown flag --no-such-flag\nhint: run 'verify-release "+name+" --help'\n", errOut)

			_, out, _ = run(t, nil, name, "--help")
			_, flags, ok := strings.Cut(out, "\nFlags:\n")
			require.True(t, ok, "no Flags: section")
			for _, l := range strings.Split(flags, "\n") {
				if strings.HasPrefix(l, "  -") {
					assert.Regexp(t, `^  (--[a-z0-9][a-z0-9-]+|-[a-z])( [A-Z][A-Z0-9_=./-]*)?$`, l)
					// flag's generic placeholders say nothing: the usage
					// string names the value in backquotes.
					assert.NotRegexp(t, ` (STRING|VALUE|INT)$`, l)
				}
			}
			assert.NotContains(t, flags, "(default -1)")
		})
	}
}
