package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/compare"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

func init() {
	register(command{name: "compare", summary: "check that artifacts built in different jobs are identical", run: runCompare})
}

const compareUsage = `Usage:
  verify-release compare DIR1 DIR2... [--recipe RECIPE.toml] [--json] [--report FILE] [--markdown FILE]
  verify-release compare DIR --recipe RECIPE.toml

Compares artifacts built in different jobs or environments: each DIR holds
files of the same names (e.g. a CI job's verify-release-out/JOB/). Files
are grouped by sha256 per name and the table says which builds agree. When
they disagree, the per-member tar diff of the reference build (the one the
recipe expects, else the majority) against each outlier is printed.
With --recipe every file the recipe names must also have the sha256 it
expects, and every artifact the recipe lists must have been built.

--report and --markdown also write the result as JSON and as a Markdown
table (the GitHub gate's job summary) to files. With --recipe,
--attestation writes the verification summary (in-toto Statement, SLSA
VSA; see docs/attestations.md) of the comparison: PASSED when every
artifact of the recipe was built identically everywhere with the sha256
the recipe expects; --sign-key signs it (passphrase from
$VERIFY_RELEASE_KEY_PASSPHRASE or --passphrase-file).

This is what the maintainer gates (ci/verify-release.gitlab-ci.yml,
.github/workflows/verify-release-gate.yml, action.yml) run;
see docs/ci.md.

Exit status: 0 all builds agree, 1 they disagree (or differ from the
recipe, or a file is missing from a build), 2 error.

Examples:
  verify-release compare verify-release-out/*/
  verify-release compare out/debian out/ubuntu out/fedora --json
  verify-release compare out/debian out/ubuntu --recipe recipes/libntlm/1.8.toml
`

type compareOptions struct {
	recipe       string
	asJSON       bool
	noDiff       bool
	maxDiffLines int
	report       string
	markdown     string
	attestation  string
	signKey      string
	pass         passphraseFlags
}

func runCompare(ctx context.Context, c *cli, args []string) error {
	var o compareOptions
	fs := newFlagSet(c, "compare", compareUsage)
	fs.StringVar(&o.recipe, "recipe", "", "also compare against the sha256s of recipe `FILE`")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&o.noDiff, "no-diff", false, "do not run the per-member diff of disagreeing files")
	fs.IntVar(&o.maxDiffLines, "max-diff-lines", tarball.DefaultMaxDiffLines, "show at most `N` lines of unified diff per member")
	fs.StringVar(&o.report, "report", "", "also write the result as JSON to `FILE`")
	fs.StringVar(&o.markdown, "markdown", "", "also write the verdict as a Markdown table to `FILE` (e.g. for $GITHUB_STEP_SUMMARY)")
	fs.StringVar(&o.attestation, "attestation", "", "with --recipe: write the verification summary (in-toto, SLSA VSA) to `FILE`")
	fs.StringVar(&o.signKey, "sign-key", "", "with --attestation: sign it with the secret key `FILE` (FILE.asc beside it)")
	o.pass.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usagef("compare", "want two or more build directories (or one with --recipe)")
	case len(pos) == 1 && o.recipe == "":
		return usagef("compare", "one build directory needs --recipe to compare against")
	case o.maxDiffLines < 0:
		return usagef("compare", "--max-diff-lines must be >= 0")
	case o.attestation != "" && o.recipe == "":
		return usagef("compare", "--attestation needs --recipe (the policy the builds are checked against)")
	case o.signKey != "" && o.attestation == "":
		return usagef("compare", "--sign-key signs the --attestation: give both")
	}
	opts := []compare.Option{compare.WithDiffOptions(tarball.WithMaxDiffLines(o.maxDiffLines))}
	if o.noDiff {
		opts = append(opts, compare.WithNoDiff())
	}
	var rec *recipe.Recipe
	if o.recipe != "" {
		if rec, err = recipe.Load(o.recipe); err != nil {
			return err
		}
		opts = append(opts, compare.WithRecipe(rec))
	}
	res, err := compare.Dirs(ctx, pos, opts...)
	if err != nil {
		return err
	}
	if o.asJSON {
		err = res.WriteJSON(c.Stdout)
	} else {
		err = res.WriteText(c.Stdout)
	}
	if err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	for _, f := range []struct {
		path  string
		write func(io.Writer) error
	}{{o.report, res.WriteJSON}, {o.markdown, res.WriteMarkdown}} {
		if f.path != "" {
			if err := atomicfile.Write(f.path, f.write); err != nil {
				return err
			}
		}
	}
	if o.attestation != "" {
		if err := writeGateAttestation(ctx, c, &o, res, rec); err != nil {
			return err
		}
	}
	if !res.Agree() {
		return errDiffer
	}
	return nil
}

// writeGateAttestation writes the verification summary of a gate
// comparison against its recipe, and its signature with --sign-key.
func writeGateAttestation(ctx context.Context, c *cli, o *compareOptions, res *compare.Result, rec *recipe.Recipe) error {
	st, err := attest.VerificationSummary(res.AttestationRun(rec, filepath.ToSlash(o.recipe), version, time.Now().Truncate(time.Second)))
	if err != nil {
		return err
	}
	data, err := st.Encode()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(o.attestation, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	if o.signKey == "" {
		return nil
	}
	s, err := loadSigner(c, o.signKey, &o.pass, time.Time{})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(o.attestation+".asc", func(w io.Writer) error { return s.SignDetached(ctx, w, bytes.NewReader(data)) }); err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "verify-release: %s signed by %s\n", o.attestation, s.Fingerprint())
	return nil
}
