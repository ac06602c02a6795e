package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

var (
	// ErrNoBuilds is matched when there is nothing to compare.
	ErrNoBuilds = errors.New("compare: no builds to compare")
	// ErrNoFiles is matched when no build directory holds any file.
	ErrNoFiles = errors.New("compare: the build directories hold no files")
	// ErrDuplicateBuild is matched when a directory is given twice.
	ErrDuplicateBuild = errors.New("compare: build directory given twice")
)

// Option configures Dirs.
type Option func(*options)

type options struct {
	recipe   *recipe.Recipe
	diffOpts []tarball.Option
	noDiff   bool
}

// WithRecipe also compares every file against the sha256 the recipe's
// artifacts expect (by file name); a recipe artifact no build produced is
// a disagreement.
func WithRecipe(r *recipe.Recipe) Option { return func(o *options) { o.recipe = r } }

// WithDiffOptions passes options to the per-member diffs (tarball.Diff).
func WithDiffOptions(opts ...tarball.Option) Option {
	return func(o *options) { o.diffOpts = append(o.diffOpts, opts...) }
}

// WithNoDiff skips the per-member diffs of disagreeing files.
func WithNoDiff() Option { return func(o *options) { o.noDiff = true } }

// Result is the comparison of every file across the builds.
type Result struct {
	// Builds are the directories, in the order given.
	Builds []string `json:"builds"`
	// Recipe is the recipe compared against, if any.
	Recipe string `json:"recipe,omitempty"`
	// Files are sorted by name.
	Files []*File `json:"files"`
}

// Agree reports whether every file is identical in every build (and, with
// a recipe, has the expected sha256).
func (r *Result) Agree() bool {
	for _, f := range r.Files {
		if !f.Agree {
			return false
		}
	}
	return len(r.Files) > 0
}

// File is one file name across the builds.
type File struct {
	Name string `json:"name"`
	// Agree is true when every build has the file with the same bytes and
	// it matches the recipe's sha256 if the recipe names it.
	Agree bool `json:"agree"`
	// Groups are the distinct contents, the reference first (the one the
	// recipe expects, else the one most builds have), then by size of the
	// group and first build.
	Groups []*Group `json:"groups"`
	// Missing are the builds without the file.
	Missing []string `json:"missing,omitempty"`
	// Artifact and Expected come from the recipe ("" if it does not name
	// the file).
	Artifact string `json:"artifact,omitempty"`
	Expected string `json:"expected_sha256,omitempty"`
	// Diffs compare the reference with one build of each other group.
	Diffs []*Diff `json:"diffs,omitempty"`
}

// Group is the builds that produced the same bytes.
type Group struct {
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	Builds []string `json:"builds"`
	// Expected is true when the recipe expects this sha256.
	Expected bool `json:"expected,omitempty"`
}

// Diff is the per-member diff of the reference against an outlier.
type Diff struct {
	// A is the reference build, B the outlier.
	A      string              `json:"a"`
	B      string              `json:"b"`
	Result *tarball.DiffResult `json:"-"`
	// JSON is Result in the diff JSON format, filled by WriteJSON.
	JSON  json.RawMessage `json:"result,omitempty"`
	Error string          `json:"error,omitempty"`
}

// Dirs compares the files in each directory (top level, regular files)
// by name and sha256.
func Dirs(ctx context.Context, dirs []string, opts ...Option) (*Result, error) {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	if len(dirs) == 0 {
		return nil, ErrNoBuilds
	}
	res := &Result{Builds: append([]string(nil), dirs...)}
	if o.recipe != nil {
		res.Recipe = o.recipe.Path
	}
	seenDir := map[string]bool{}
	type member struct {
		sha  string
		size int64
	}
	have := map[string]map[string]member{} // file -> build -> digest
	for _, d := range dirs {
		clean := filepath.Clean(d)
		if seenDir[clean] {
			return nil, fmt.Errorf("%w: %s", ErrDuplicateBuild, d)
		}
		seenDir[clean] = true
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("compare: build %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(d, e.Name())
			sum, err := tarball.FileSHA256(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("compare: %s: %w", p, err)
			}
			st, err := os.Stat(p)
			if err != nil {
				return nil, fmt.Errorf("compare: %w", err)
			}
			if have[e.Name()] == nil {
				have[e.Name()] = map[string]member{}
			}
			have[e.Name()][d] = member{sum, st.Size()}
		}
	}
	expected := map[string][2]string{} // file -> artifact, sha256
	if o.recipe != nil {
		for _, n := range o.recipe.ArtifactNames() {
			a := o.recipe.Artifacts[n]
			expected[a.File] = [2]string{n, a.SHA256}
			if have[a.File] == nil {
				have[a.File] = map[string]member{}
			}
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoFiles, strings.Join(dirs, ", "))
	}
	names := make([]string, 0, len(have))
	for n := range have {
		names = append(names, n)
	}
	sort.Strings(names)
	order := map[string]int{}
	for i, d := range dirs {
		order[d] = i
	}
	for _, name := range names {
		f := &File{Name: name}
		if ex, ok := expected[name]; ok {
			f.Artifact, f.Expected = ex[0], ex[1]
		}
		byDigest := map[string]*Group{}
		for _, d := range dirs {
			m, ok := have[name][d]
			if !ok {
				f.Missing = append(f.Missing, d)
				continue
			}
			g := byDigest[m.sha]
			if g == nil {
				g = &Group{SHA256: m.sha, Size: m.size, Expected: m.sha == f.Expected}
				byDigest[m.sha] = g
				f.Groups = append(f.Groups, g)
			}
			g.Builds = append(g.Builds, d)
		}
		sort.SliceStable(f.Groups, func(i, j int) bool {
			a, b := f.Groups[i], f.Groups[j]
			if a.Expected != b.Expected {
				return a.Expected
			}
			if len(a.Builds) != len(b.Builds) {
				return len(a.Builds) > len(b.Builds)
			}
			return order[a.Builds[0]] < order[b.Builds[0]]
		})
		f.Agree = len(f.Missing) == 0 && len(f.Groups) == 1 && (f.Expected == "" || f.Groups[0].Expected)
		if !o.noDiff && len(f.Groups) > 1 {
			ref := f.Groups[0].Builds[0]
			for _, g := range f.Groups[1:] {
				out := g.Builds[0]
				d := &Diff{A: ref, B: out}
				dr, err := tarball.Diff(ctx, filepath.Join(ref, name), filepath.Join(out, name),
					append([]tarball.Option{tarball.WithLabels(filepath.Join(ref, name), filepath.Join(out, name))}, o.diffOpts...)...)
				if err != nil {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					d.Error = err.Error()
				} else {
					d.Result = dr
				}
				f.Diffs = append(f.Diffs, d)
			}
		}
		res.Files = append(res.Files, f)
	}
	return res, nil
}

// Members lists the member paths the diff found different, sorted.
func (d *Diff) Members() []string {
	if d.Result == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range d.Result.Findings {
		if f.Path != "" && !seen[f.Path] {
			seen[f.Path] = true
			out = append(out, f.Path)
		}
	}
	sort.Strings(out)
	return out
}

// WriteText writes the agreement table and, for each disagreement, the
// per-member diff of the reference against each outlier.
func (r *Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	agree := len(r.Files) - len(r.differing())
	ew.printf("%d build(s): %s\n", len(r.Builds), strings.Join(r.Builds, ", "))
	if r.Recipe != "" {
		ew.printf("recipe: %s\n", r.Recipe)
	}
	ew.printf("\n")
	for _, f := range r.Files {
		state := "agree"
		if !f.Agree {
			state = "DIFFER"
		}
		ew.printf("%-6s %s\n", state, f.Name)
		if f.Expected != "" {
			ew.printf("       recipe   %s (artifact %s)\n", f.Expected, f.Artifact)
		}
		for i, g := range f.Groups {
			tag := ""
			switch {
			case g.Expected:
				tag = " [as the recipe expects]"
			case i == 0 && len(f.Groups) > 1:
				tag = " [majority]"
			}
			ew.printf("       sha256 %s  %s%s\n", g.SHA256, strings.Join(g.Builds, " "), tag)
		}
		if len(f.Missing) > 0 {
			ew.printf("       missing  %s\n", strings.Join(f.Missing, " "))
		}
		if f.Expected != "" && len(f.Groups) > 0 && !f.Groups[0].Expected {
			ew.printf("       no build has the sha256 the recipe expects\n")
		}
	}
	for _, f := range r.Files {
		for _, d := range f.Diffs {
			ew.printf("\n==> %s: %s vs %s\n", f.Name, d.A, d.B)
			if d.Error != "" {
				ew.printf("no per-member diff: %s\n", d.Error)
				continue
			}
			if ew.err == nil {
				ew.err = d.Result.WriteText(w)
			}
		}
	}
	ew.printf("\nresult: %d of %d file(s) agree", agree, len(r.Files))
	if r.Agree() {
		ew.printf(": all builds are identical\n")
	} else {
		ew.printf("; differing: %s\n", strings.Join(r.differing(), ", "))
	}
	return ew.err
}

func (r *Result) differing() []string {
	var out []string
	for _, f := range r.Files {
		if !f.Agree {
			out = append(out, f.Name)
		}
	}
	return out
}

// JSONSchema names the document WriteJSON writes (docs/cli.md).
const JSONSchema = "verify-release/compare/v1"

// WriteJSON writes the result as indented JSON; each diff's "result" is
// the diff JSON of docs/diff-json.md.
func (r *Result) WriteJSON(w io.Writer) error {
	type out struct {
		Schema string `json:"schema"`
		*Result
		Agree bool `json:"agree"`
	}
	for _, f := range r.Files {
		for _, d := range f.Diffs {
			if d.Result == nil || d.JSON != nil {
				continue
			}
			var sb strings.Builder
			if err := d.Result.WriteJSON(&sb); err != nil {
				return err
			}
			d.JSON = json.RawMessage(sb.String())
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out{Schema: JSONSchema, Result: r, Agree: r.Agree()})
}

// WriteMarkdown writes the verdict as a Markdown table (for a CI job
// summary): one row per file with its state and, per distinct content,
// the sha256 and the builds that produced it, then the verdict line.
// Table cells are escaped; nothing depends on map order.
func (r *Result) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	agree := len(r.Files) - len(r.differing())
	verdict := "**DIFFER**"
	if r.Agree() {
		verdict = "**agree**"
	}
	ew.printf("### verify-release compare: %s\n\n", verdict)
	ew.printf("%d build(s): %s", len(r.Builds), mdCode(strings.Join(r.Builds, " ")))
	if r.Recipe != "" {
		ew.printf("; recipe %s", mdCode(r.Recipe))
	}
	ew.printf("\n\n| file | result | sha256 | builds |\n|---|---|---|---|\n")
	for _, f := range r.Files {
		state := "agree"
		if !f.Agree {
			state = "**DIFFER**"
		}
		for i, g := range f.Groups {
			name, st := mdCode(f.Name), state
			if i > 0 {
				name, st = "", ""
			}
			builds := mdCell(strings.Join(g.Builds, " "))
			switch {
			case g.Expected:
				builds += " (as the recipe expects)"
			case i == 0 && len(f.Groups) > 1:
				builds += " (majority)"
			}
			ew.printf("| %s | %s | %s | %s |\n", name, st, mdCode(g.SHA256), builds)
		}
		if len(f.Missing) > 0 {
			ew.printf("| %s | %s | missing | %s |\n", mdCode(f.Name), state, mdCell(strings.Join(f.Missing, " ")))
		}
		if f.Expected != "" && (len(f.Groups) == 0 || !f.Groups[0].Expected) {
			ew.printf("| %s | %s | %s | expected by the recipe, built by none |\n", mdCode(f.Name), state, mdCode(f.Expected))
		}
	}
	ew.printf("\n%d of %d file(s) agree", agree, len(r.Files))
	if r.Agree() {
		ew.printf(": all builds are identical.\n")
	} else {
		ew.printf("; differing: %s. The job log and compare.json have the per-member diff.\n", mdCell(strings.Join(r.differing(), ", ")))
	}
	return ew.err
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// mdCode is s as inline code in a table cell.
func mdCode(s string) string {
	return "`" + strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ").Replace(s) + "`"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// AttestationRun describes the comparison against rec (the recipe given
// with WithRecipe, loaded from policyPath) as the input of a verification
// summary (attest.VerificationSummary): one artifact per recipe artifact,
// reproduced when every build produced it with the same bytes, its
// digest the one the builds agree on (the reference content otherwise),
// expected the recipe's. Environments are not recorded (several images
// took part); the builds are in the JSON report.
func (r *Result) AttestationRun(rec *recipe.Recipe, policyPath, verifierVersion string, now time.Time) *attest.Run {
	run := &attest.Run{
		Name: rec.Name, Version: rec.Version, VerifierVersion: verifierVersion,
		RecipePath: policyPath, RecipeSHA256: rec.SHA256,
		Repository: rec.Source.Git, Tag: rec.Source.Tag, Commit: rec.Source.Commit,
		TimeVerified: now.UTC(),
	}
	byName := map[string]*File{}
	for _, f := range r.Files {
		byName[f.Name] = f
	}
	for _, n := range rec.ArtifactNames() {
		a := rec.Artifacts[n]
		kind := attest.KindDist
		if a.Method == recipe.MethodGitArchive {
			kind = attest.KindSrc
		}
		art := attest.Artifact{Name: a.File, Kind: kind, Expected: a.SHA256}
		if f := byName[a.File]; f != nil && len(f.Groups) > 0 {
			art.SHA256, art.Rebuilt = f.Groups[0].SHA256, f.Groups[0].SHA256
			art.Reproduced = len(f.Groups) == 1 && len(f.Missing) == 0
		}
		run.Artifacts = append(run.Artifacts, art)
	}
	return run
}
