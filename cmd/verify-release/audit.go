package main

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/audit"
)

const auditUsage = `Usage:
  verify-release audit DIST --src SRC [--regenerated FILE] [--input NAME=DIR]... [--json]

The generated-file audit (the XZ question): lists every member of the
dist tarball DIST that is not in the release's git tree (SRC: its -src
tarball or a git archive of the tag), grouped by where it came from:

  differs-from-input  a file at the same path in a pinned input (--input,
                      e.g. gnulib checked out at the recipe's commit) has
                      other bytes: the changed lines and both m4 serials
                      are shown
  unexplained         not in git, not regenerated, not from any input
  regenerated-differs the re-created tarball (--regenerated) has it with
                      other bytes (a generator's version stamp, say)
  from-input          the same bytes as the input's file
  regenerated         the re-created tarball has the same bytes

The first two need a human and are listed first; the rest are counted.
A member the build regenerated with the same bytes is explained even when
it differs from the input (gnulib-tool rewrites some files it copies).

Exit codes: 0 nothing needs review, 1 some member differs from its input
or is unexplained, 2 error.

Examples:
  verify-release audit libntlm-1.8.tar.gz --src libntlm-1.8-src.tar.gz \
      --regenerated rebuilt/libntlm-1.8.tar.gz --input gnulib=../gnulib
  verify-release audit xz-5.8.1.tar.xz --src xz-5.8.1-src.tar.gz --json
`

func init() {
	register(command{name: "audit", summary: "list a dist tarball's members that are not in git, and where each came from", run: runAudit})
}

// auditFailed maps members that need review to exit code 1.
type auditFailed struct{ n int }

func (e *auditFailed) Error() string {
	return fmt.Sprintf("%d member(s) differ from their input or are unexplained", e.n)
}
func (e *auditFailed) VerificationFailed() bool { return true }

func runAudit(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "audit", auditUsage)
	var o audit.Options
	var inputs stringList
	asJSON := fs.Bool("json", false, "print the audit as JSON (schema verify-release/audit/v1)")
	fs.StringVar(&o.Src, "src", "", "the release's git tree as a tarball `FILE` (required)")
	fs.StringVar(&o.Regenerated, "regenerated", "", "the re-created dist tarball `FILE`")
	fs.Var(&inputs, "input", "a pinned input's checkout `NAME=DIR` (repeatable)")
	fs.IntVar(&o.MaxDiffLines, "max-diff-lines", 40, "changed lines shown per member, at most `N`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("audit", "want one DIST tarball, got %d argument(s)", len(pos))
	}
	if o.Src == "" {
		return usagef("audit", "--src SRC is required: the git tree is what the dist tarball is audited against")
	}
	for _, in := range inputs {
		name, dir, ok := strings.Cut(in, "=")
		if !ok || name == "" || dir == "" {
			return usagef("audit", "--input %q: want NAME=DIR", in)
		}
		o.Inputs = append(o.Inputs, audit.Input{Name: name, Dir: dir})
	}
	rep, err := audit.Audit(ctx, pos[0], o)
	if err != nil {
		return err
	}
	review := rep.Review()
	if *asJSON {
		if err := printJSON(c.Stdout, "audit", rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.Stdout, "%s: %s\n", pos[0], rep.Summary())
		for _, m := range rep.Members {
			if !m.Group.NeedsReview() && m.Group != audit.RegeneratedDiffers {
				continue
			}
			line := fmt.Sprintf("  %-19s %s", m.Group, m.Path)
			if m.Input != "" {
				line += " (input " + m.Input + ")"
			}
			if m.Serial != "" || m.InputSerial != "" {
				line += fmt.Sprintf(" serial %s, input has %s", orNone(m.Serial), orNone(m.InputSerial))
			}
			fmt.Fprintln(c.Stdout, line)
			for _, l := range m.Lines {
				fmt.Fprintf(c.Stdout, "      %s\n", l)
			}
		}
	}
	if len(review) > 0 {
		return &auditFailed{n: len(review)}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
