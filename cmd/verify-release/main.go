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
	"sort"
	"strings"
	"syscall"
)

// Exit codes, documented in README.md ("Exit codes").
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
func runMain(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 {
		printMainUsage(c.Stderr)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if cmd, ok := commands[args[1]]; ok {
				return exitCode(c, cmd.name, cmd.run(ctx, c, []string{"--help"}))
			}
		}
		printMainUsage(c.Stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(c.Stdout, "verify-release %s\n", version)
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(c.Stderr, "verify-release: error: unknown flag %q\nhint: run 'verify-release --help'\n", args[0])
			return exitError
		}
		// verify-release NAME VERSION is short for verify-release run NAME VERSION.
		if run, ok := commands["run"]; ok {
			return exitCode(c, "run", run.run(ctx, c, args))
		}
		fmt.Fprintf(c.Stderr, "verify-release: error: unknown command %q\nhint: run 'verify-release --help'\n", args[0])
		return exitError
	}
	return exitCode(c, cmd.name, cmd.run(ctx, c, args[1:]))
}

// exitCode prints err (if any) and maps it to the documented exit code.
// This is the only place errors become exit codes.
func exitCode(c *cli, name string, err error) int {
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
	fmt.Fprintf(c.Stderr, "verify-release: error: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.Stderr, "hint: run 'verify-release %s --help'\n", ue.cmd)
	}
	var he *hintError
	if errors.As(err, &he) {
		for _, h := range he.hints {
			fmt.Fprintf(c.Stderr, "hint: %s\n", h)
		}
	}
	var ve interface{ VerificationFailed() bool }
	if errors.As(err, &ve) && ve.VerificationFailed() {
		return exitDiffer
	}
	return exitError
}

// newFlagSet returns a FlagSet that prints usage (with examples) to c.Stdout
// on --help and reports parse errors as usage errors.
func newFlagSet(c *cli, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprint(c.Stdout, usage)
		fs.SetOutput(c.Stdout)
		fmt.Fprintln(c.Stdout, "\nFlags:")
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args with fs; --help prints usage and returns
// flag.ErrHelp, other errors become usage errors naming the command.
// Flags and positional arguments may be interleaved.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp // the flag package already printed fs.Usage
			}
			return nil, usagef(fs.Name(), "%v", err)
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
