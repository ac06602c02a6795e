package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the script tests run the real binary: testscript runs
// this test binary under the name verify-release (main) or
// verify-release-panics (main with a command that panics, to prove the
// panic handler).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"verify-release": main,
		"verify-release-panics": func() {
			register(command{name: "boom", summary: "panic (test only)", run: func(context.Context, *cli, []string) error {
				var s []string
				_ = s[1:][0] // the slice-bounds panic the identify bug had
				return nil
			}})
			main()
		},
	})
}

// TestScript runs every testdata/script/*.txt: each runs the real binary
// and asserts its stdout, stderr, exit code and the files it leaves.
// See docs/cli.md for the contract they check.
func TestScript(t *testing.T) {
	recipes, err := filepath.Abs("../../recipes")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"git", "gzip", "sha256sum", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the script tests need %s: %v", tool, err)
		}
	}
	// Debian's copy of upstream's libntlm-1.8-src.tar.gz and its real
	// signature (by a key that expired in 2020), for the signature cases.
	libntlm := libntlmTarball(t)
	libntlmASC, err := filepath.Abs("../../pkg/sign/testdata/libntlm-1.8-src.tar.gz.asc")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			work := e.Getenv("WORK")
			for k, v := range map[string]string{
				"HOME":                work,
				"XDG_CACHE_HOME":      filepath.Join(work, ".cache"),
				"RECIPES":             recipes,
				"GIT_AUTHOR_NAME":     "A U Thor",
				"GIT_AUTHOR_EMAIL":    "author@example.org",
				"GIT_COMMITTER_NAME":  "C O Mitter",
				"GIT_COMMITTER_EMAIL": "committer@example.org",
				"GIT_AUTHOR_DATE":     "2024-04-13T10:00:00Z",
				"GIT_COMMITTER_DATE":  "2024-04-13T10:00:00Z",
				"GIT_CONFIG_NOSYSTEM": "1",
				"CI":                  os.Getenv("CI"),
				"DOCKER_HOST":         os.Getenv("DOCKER_HOST"),
				"LIBNTLM_SRC":         libntlm,
				"LIBNTLM_KEY":         filepath.Join(recipes, "keys", "libntlm.asc"),
				"LIBNTLM_ASC":         libntlmASC,
			} {
				e.Setenv(k, v)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"code":   cmdCode,
			"envout": cmdEnvout,
			"expand": cmdExpand,
			"schema": cmdSchema,
		},
	})
}

// cmdCode runs 'code N PROG ARGS...': PROG must exit with status N; its
// stdout and stderr are then checked with the usual stdout/stderr commands.
func cmdCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: code N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("code: %v", err)
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("code: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdEnvout runs 'envout NAME': sets $NAME to the first field of the
// last command's stdout (a commit id, a sha256, a fingerprint).
func cmdEnvout(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: envout NAME")
	}
	f := strings.Fields(ts.ReadFile("stdout"))
	if len(f) == 0 {
		ts.Fatalf("envout: stdout is empty")
	}
	ts.Setenv(args[0], f[0])
}

// cmdExpand runs 'expand IN OUT': writes IN with $VARS expanded to OUT
// (recipes that name the commits and digests made by the script).
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand IN OUT")
	}
	out := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(out), 0o755))
	ts.Check(os.WriteFile(out, []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o644))
}

// cmdSchema runs 'schema KIND FILE': FILE ("stdout" for the last
// command's) must validate against docs/schema/KIND.json.
func cmdSchema(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: schema KIND FILE")
	}
	err := validateJSON(args[0], []byte(ts.ReadFile(args[1])))
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s does not validate against docs/schema/%s.json: %v", args[1], args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s unexpectedly validates against docs/schema/%s.json", args[1], args[0])
	}
}
