// Command verify-release proves that a published source tarball was made
// from the upstream git tag it claims, by re-creating it in a pinned
// environment and comparing bytes.
//
// This package only parses flags, prints results and maps errors to exit
// codes; all work happens in the libraries under pkg/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Exit codes, documented in docs/cli.md ("Exit codes").
const (
	exitOK       = 0   // success: identical, reproduced, verified
	exitDiffer   = 1   // the comparison ran and found a difference / mismatch / bad signature
	exitError    = 2   // usage error, bad input, environment failure
	exitCanceled = 130 // interrupted (SIGINT/SIGTERM)
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "devel"

// cli carries the streams a command writes to. Commands print results to
// Stdout and diagnostics/progress to Stderr.
type cli struct {
	Stdout io.Writer
	Stderr io.Writer
	Stdin  io.Reader
	// Getenv reads the environment (tests replace it).
	Getenv func(string) string
}

// command is one subcommand. run parses its own FlagSet from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// commands is the dispatch table; each entry lives in its own file.
var commands = map[string]command{}

func register(cmd command) { commands[cmd.name] = cmd }

// errDiffer is returned by commands whose comparison found a difference;
// it maps to exit code 1 and prints nothing more (the command already
// reported what differs).
var errDiffer = errors.New("differences found")

// usageError marks bad command-line usage; it maps to exit code 2 and
// prints the hint "run 'verify-release CMD --help'".
type usageError struct {
	cmd string
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// hintError attaches hint lines to an error for the user.
type hintError struct {
	err   error
	hints []string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hints: hints}
}

const mainUsage = `verify-release proves a published source tarball was made from the git tag it claims.

Usage:
  verify-release NAME VERSION [flags]      re-create and verify a release (same as 'run')
  verify-release COMMAND [flags] [args]

Commands:
%s
Global flags:
  --help, -h      show help (also 'verify-release COMMAND --help')
  --version       print the version and exit

Examples:
  verify-release libntlm 1.8
  verify-release diff libntlm-1.8.tar.gz rebuilt/libntlm-1.8.tar.gz
  verify-release recipe check recipes/libntlm/1.8.toml
  verify-release checksum libntlm-1.8-src.tar.gz

Exit codes: 0 success, 1 difference or mismatch found, 2 error, 130 interrupted.
`

func printMainUsage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, &cli{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

// runMain runs the CLI and returns the exit code; tests call it directly.
// A panic anywhere below becomes exit code 2 with a bug-report message
// instead of a Go stack dump on the user's terminal.
func runMain(ctx context.Context, c *cli, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(c.Stderr, "verify-release: error: internal error (a bug in verify-release %s): %v\n", version, r)
			fmt.Fprintf(c.Stderr, "hint: please report it with the command line and the stack below\n%s", debug.Stack())
			code = exitError
		}
	}()
	if len(args) == 0 {
		printMainUsage(c.Stderr)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if cmd, ok := commands[args[1]]; ok {
				return exitCode(c, cmd.run(ctx, c, []string{"--help"}))
			}
		}
		printMainUsage(c.Stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(c.Stdout, "verify-release %s\n", version)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if ok {
		return exitCode(c, cmd.run(ctx, c, args[1:]))
	}
	if strings.HasPrefix(args[0], "-") {
		return exitCode(c, withHint(fmt.Errorf("unknown flag %s", args[0]), "run 'verify-release --help'"))
	}
	if near := nearestCommand(args[0]); near != "" && !isRecipeName(c, args[0]) {
		return exitCode(c, withHint(fmt.Errorf("unknown command %s; did you mean %s?", args[0], near),
			"run 'verify-release --help' for the commands, 'verify-release list' for the recipes"))
	}
	// verify-release NAME VERSION is short for verify-release run NAME VERSION.
	return exitCode(c, commands["run"].run(ctx, c, args))
}

// isRecipeName reports whether name is a recipe in the default store, so
// that a recipe whose name is close to a command still runs.
func isRecipeName(c *cli, name string) bool {
	entries, err := recipeStore(c, "").List()
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name == name {
			return true
		}
	}
	return false
}

// nearestCommand returns the command within edit distance 2 of name (the
// closest, then the first alphabetically), or "".
func nearestCommand(name string) string {
	best, bestD := "", 3
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// exitCode prints err (if any) as 'verify-release: error: ...' plus its
// hint lines and maps it to the documented exit code. This is the only
// place errors become exit codes.
func exitCode(c *cli, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errDiffer) {
		return exitDiffer
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(c.Stderr, "verify-release: interrupted\n")
		return exitCanceled
	}
	fmt.Fprintf(c.Stderr, "verify-release: error: %s\n", userMessage(err.Error()))
	for _, h := range hints(err) {
		fmt.Fprintf(c.Stderr, "hint: %s\n", h)
	}
	var ve interface{ VerificationFailed() bool }
	if errors.As(err, &ve) && ve.VerificationFailed() {
		return exitDiffer
	}
	return exitError
}

// pkgPrefix matches a Go package name that leads an error message or one
// of its wrapped parts ("tarball: ...", "reading x: runner: ..."): the
// libraries' sentinel errors name their package, as Go's do, but a user
// reads the CLI's messages, which name inputs instead (docs/cli.md).
var pkgPrefix = regexp.MustCompile(`(^|: )(?:atomicfile|attest|cache|ci|compare|debian|deflate|digest|engine|envpin|filelock|fingerprint|gitarchive|pipe|recipe|report|rootfs|runner|sign|source|tarball): `)

// userMessage drops the Go package names from a library message.
func userMessage(msg string) string {
	for {
		m := pkgPrefix.ReplaceAllString(msg, "$1")
		if m == msg {
			return m
		}
		msg = m
	}
}

// hints collects the hint lines of every hintError and usageError in
// err's chain, outermost first, without repeats.
func hints(err error) []string {
	var out []string
	seen := map[string]bool{}
	add := func(h string) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e := e.(type) {
		case *hintError:
			for _, h := range e.hints {
				add(h)
			}
		case *usageError:
			add(fmt.Sprintf("run 'verify-release %s --help'", e.cmd))
		}
	}
	return out
}

// newFlagSet returns a FlagSet whose --help prints usage (with examples)
// and the flags, spelled --flag, to c.Stdout; a parse error prints nothing
// here (parseFlags turns it into a short usage error).
func newFlagSet(c *cli, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	helpText.Store(fs, func() {
		fmt.Fprint(c.Stdout, usage)
		fmt.Fprintln(c.Stdout, "\nFlags:")
		printFlags(c.Stdout, fs)
	})
	return fs
}

// helpText holds each FlagSet's --help printer (*flag.FlagSet -> func()).
var helpText sync.Map

// printFlags lists fs's flags GNU-style: --name VALUE (or -o VALUE for a
// one-letter flag), the usage on the next line, and the default when it is
// not the zero value and the usage does not already state it.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg == "value" {
			arg = "VALUE"
		}
		if arg != "" && arg == strings.ToLower(arg) {
			arg = strings.ToUpper(arg)
		}
		line := "  " + dash + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%s\n        %s", line, strings.ReplaceAll(usage, "\n", "\n        "))
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "-1" && !strings.Contains(usage, "default") {
			fmt.Fprintf(w, " (default %s)", def)
		}
		fmt.Fprintln(w)
	})
}

// parseFlags parses args with fs; --help prints usage and returns
// flag.ErrHelp, other errors become one-line usage errors naming the
// command. Flags and positional arguments may be interleaved.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if h, ok := helpText.Load(fs); ok {
					h.(func())()
				}
				return nil, flag.ErrHelp
			}
			return nil, usagef(fs.Name(), "%s", flagError(err))
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewords the flag package's messages in --flag spelling:
// "flag provided but not defined: -bogus" becomes "unknown flag --bogus".
func flagError(err error) string {
	msg := err.Error()
	dash := func(name string) string {
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag " + dash(strings.TrimPrefix(name, "-"))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag " + dash(strings.TrimPrefix(name, "-")) + " needs a value"
	}
	// invalid value "x" for flag -n: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		rest := msg[i+len(" for flag -"):]
		name, why, _ := strings.Cut(rest, ": ")
		return "flag " + dash(name) + ": " + msg[:i] + ": " + why
	}
	return msg
}
