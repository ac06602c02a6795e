package ci

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// ErrTooManyJobs is matched when a GitHub matrix would exceed GitHub's
// limit of jobs per matrix.
var ErrTooManyJobs = errors.New("ci: too many recipes for one GitHub Actions matrix")

// GitHubMaxMatrix is GitHub Actions' limit of jobs one matrix generates.
const GitHubMaxMatrix = 256

// The third-party actions the GitHub workflows use, pinned by the full
// commit of the release named in the comment. github.com is not reachable
// from where they were written, so each commit was taken from public
// workflows that pin the same release by commit with that version comment
// (found with a code search over public repositories; several unrelated
// projects agree on each): checkout v4.2.2, upload-artifact v4.6.2,
// download-artifact v4.3.0. The shipped gate workflow and action.yml use
// the same lines; a test checks that they agree.
const (
	ActionCheckout         = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"          // v4.2.2
	ActionUploadArtifact   = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"   // v4.6.2
	ActionDownloadArtifact = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093" // v4.3.0
)

// ActionVersions are the release each pinned action commit is.
var ActionVersions = map[string]string{
	ActionCheckout:         "v4.2.2",
	ActionUploadArtifact:   "v4.6.2",
	ActionDownloadArtifact: "v4.3.0",
}

// GitHubRunner is the runner label of every job (the verify jobs run in
// their recipe's image as the job container on it).
const GitHubRunner = "ubuntu-24.04"

// Workflow is a generated GitHub Actions workflow that verifies recipes.
type Workflow struct {
	// Jobs are the verify jobs, sorted by recipe; refused ones run in the
	// "refused" job, without their image.
	Jobs []*VerifyJob
	// Skipped are the recipe environments that got no job, each with why.
	Skipped []string
	Binary  string
	Source  string
}

// GitHub plans the verification workflow for the recipes in store. It
// takes the options of GitLab; WithPages, WithBuildJob, WithResultsImage
// and WithMaxNeeds do not apply.
func GitHub(store *recipe.Store, opts ...Option) (*Workflow, error) {
	opts = append([]Option{func(o *options) {
		o.unpinnedHint = "regenerate the workflow with 'verify-release ci github --allow-unpinned'"
	}}, opts...)
	o, jobs, err := plan(store, opts)
	if err != nil {
		return nil, err
	}
	run, refused := 0, 0
	for _, j := range jobs {
		if j.Refused != "" {
			refused++
		} else {
			run++
		}
	}
	if run > GitHubMaxMatrix || refused > GitHubMaxMatrix {
		return nil, fmt.Errorf("%w: %d recipes exceed %d; select fewer with --only and generate several workflows", ErrTooManyJobs, len(jobs), GitHubMaxMatrix)
	}
	return &Workflow{Jobs: jobs, Skipped: o.skipped, Binary: o.binary, Source: o.source}, nil
}

// ArtifactName is the GitHub artifact holding the results of NAME VERSION.
func ArtifactName(name, version string) string {
	return "results-" + strings.NewReplacer("/", "_", ":", "_").Replace(name+"-"+version)
}

// uses is a step running a pinned action, its release in a trailing
// comment (where Dependabot and Renovate look for it), then rest.
func uses(action string, rest ...entry) mapping {
	return append(mapping{{key: "uses", value: action, trailing: ActionVersions[action]}}, rest...)
}

func with(kv ...entry) entry { return entry{key: "with", value: mapping(kv)} }

func kv(k string, v any) entry { return entry{key: k, value: v} }

func readPermissions() mapping { return mapping{{key: "contents", value: "read"}} }

// WriteYAML writes the workflow. The output depends only on the recipes:
// matrix entries sorted by recipe, keys in a fixed order.
func (w *Workflow) WriteYAML(out io.Writer) error {
	doc := mapping{}
	doc.add("name", "verify recipes")
	on := mapping{}
	on.add("workflow_dispatch", mapping{})
	on.add("schedule", []any{mapping{{key: "cron", value: "17 4 * * 1"}}})
	doc.add("on", on, "On demand, and weekly (Monday 04:17 UTC).")
	doc.add("permissions", mapping{}, "Least privilege: no job needs more than reading the repository.")

	jobs := mapping{}

	build := mapping{}
	build.add("runs-on", GitHubRunner)
	build.add("permissions", readPermissions())
	build.add("steps", []any{
		uses(ActionCheckout),
		mapping{{key: "name", value: "build the static binary"}, {key: "env", value: mapping{{key: "CGO_ENABLED", value: "0"}}},
			{key: "run", value: "go build -trimpath -o " + shellQuote(w.Binary) + " ./cmd/verify-release"}},
		uses(ActionUploadArtifact, with(kv("name", "verify-release-binary"), kv("path", w.Binary), kv("if-no-files-found", "error"))),
	})
	jobs.add("build", build, "The static verify-release binary of this commit, for every verify job.")

	var include, refused []any
	var expect []string
	for _, j := range w.Jobs {
		name, version, _ := strings.Cut(j.Recipe, "/")
		version = strings.ReplaceAll(version, "@", "-") // one artifact per environment
		e := mapping{}
		e.add("recipe", j.Recipe)
		e.add("image", j.Image)
		e.add("image-source", string(j.ImageSource))
		e.add("artifact", ArtifactName(name, version))
		e.add("setup", strings.Join(j.BeforeScript, "\n"))
		e.add("script", strings.Join(j.Script, "\n"))
		expect = append(expect, "--expect", j.Recipe)
		if j.Refused != "" {
			refused = append(refused, e)
			continue
		}
		include = append(include, e)
	}

	needs := []any{"build"}
	if len(include) > 0 {
		verify := mapping{}
		verify.add("name", "verify (${{ matrix.recipe }})")
		verify.add("needs", []any{"build"})
		verify.add("runs-on", GitHubRunner)
		verify.add("permissions", readPermissions())
		verify.add("strategy", mapping{{key: "fail-fast", value: false}, {key: "matrix", value: mapping{{key: "include", value: include}}}})
		verify.add("container", mapping{{key: "image", value: "${{ matrix.image }}"}}, "The recipe's pinned image (image-source: recipe or lock).")
		verify.add("steps", []any{
			uses(ActionCheckout),
			uses(ActionDownloadArtifact, with(kv("name", "verify-release-binary"))),
			mapping{{key: "name", value: "env.setup and env.packages"}, {key: "if", value: "matrix.setup != ''"},
				{key: "env", value: mapping{{key: "SETUP", value: "${{ matrix.setup }}"}}}, {key: "run", value: `sh -ec "$SETUP"`}},
			mapping{{key: "name", value: "verify-release run"}, {key: "env", value: mapping{{key: "SCRIPT", value: "${{ matrix.script }}"}}},
				{key: "run", value: "chmod +x " + shellQuote(w.Binary) + "\nsh -ec \"$SCRIPT\""}},
			uses(ActionUploadArtifact, kv("if", "always()"), with(kv("name", "${{ matrix.artifact }}"), kv("path", ResultsDir+"/"), kv("if-no-files-found", "ignore"))),
		})
		jobs.add("verify", verify, "One matrix entry per recipe, in the recipe's pinned image, with --backend host.")
		needs = append(needs, "verify")
	}
	if len(refused) > 0 {
		ref := mapping{}
		ref.add("name", "refused (${{ matrix.recipe }})")
		ref.add("runs-on", GitHubRunner)
		ref.add("permissions", mapping{})
		ref.add("strategy", mapping{{key: "fail-fast", value: false}, {key: "matrix", value: mapping{{key: "include", value: refused}}}})
		ref.add("steps", []any{
			mapping{{key: "name", value: "refuse the unpinned image"}, {key: "env", value: mapping{{key: "SCRIPT", value: "${{ matrix.script }}"}}}, {key: "run", value: `sh -ec "$SCRIPT"`}},
		})
		jobs.add("refused", ref, "Recipes whose image has no digest (no lock file either): each fails at once, without pulling the image.")
		needs = append(needs, "refused")
	}

	args := append([]string{w.Binary, "ci", "results", ResultsDir + "/", "-o", PublicDir + "/"}, expect...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	results := mapping{}
	results.add("needs", needs)
	results.add("if", "always()")
	results.add("runs-on", GitHubRunner)
	results.add("permissions", mapping{})
	results.add("steps", []any{
		uses(ActionDownloadArtifact, with(kv("name", "verify-release-binary"))),
		uses(ActionDownloadArtifact, entry{key: "continue-on-error", value: true, comment: []string{"No verify job may have uploaded anything (all refused): the page then lists them as MISSING."}},
			with(kv("pattern", "results-*"), kv("path", ResultsDir+"/"), kv("merge-multiple", true))),
		mapping{{key: "name", value: "verify-release ci results"},
			{key: "env", value: mapping{
				{key: "SIGN_KEY", value: "${{ secrets.VERIFY_RELEASE_SIGN_KEY }}"},
				{key: "VERIFY_RELEASE_KEY_PASSPHRASE", value: "${{ secrets.VERIFY_RELEASE_KEY_PASSPHRASE }}"},
			}},
			{key: "run", value: "chmod +x " + shellQuote(w.Binary) + "\n" +
				"if [ -n \"$SIGN_KEY\" ]; then\n" +
				"  printf '%s\\n' \"$SIGN_KEY\" > \"$RUNNER_TEMP/sign.key\"\n" +
				"  export VERIFY_RELEASE_SIGN_KEY=\"$RUNNER_TEMP/sign.key\"\n" +
				"fi\n" +
				strings.Join(quoted, " ") + "\n" +
				"cat " + PublicDir + "/index.md >> \"$GITHUB_STEP_SUMMARY\""}},
		uses(ActionUploadArtifact, kv("if", "always()"), with(kv("name", "results-page"), kv("path", PublicDir+"/"))),
	})
	jobs.add("results", results,
		"Collects every report.json into public/index.html, index.md and junit.xml (the job summary shows index.md);",
		"signs the attestations when the secret VERIFY_RELEASE_SIGN_KEY is set (passphrase: VERIFY_RELEASE_KEY_PASSPHRASE).")
	doc.add("jobs", jobs)

	header := []string{
		"Generated by `verify-release ci github` from " + w.Source + ": do not edit.",
		"One matrix entry per recipe, in the recipe's pinned image (the job's container),",
		"running the static verify-release binary built by the build job with --backend host.",
		"Third-party actions are pinned by commit. See docs/ci.md.",
	}
	return writeYAML(out, header, doc)
}
