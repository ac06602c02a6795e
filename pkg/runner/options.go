package runner

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/attest"
	"gitlab.com/verify-release/verify-release/pkg/cache"
	"gitlab.com/verify-release/verify-release/pkg/engine"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
)

// Backend names where build steps run.
type Backend string

const (
	// BackendDocker runs build steps in containers of the pinned image.
	BackendDocker Backend = "docker"
	// BackendHost runs build steps in a temporary directory on this
	// machine, for CI jobs that already run inside the pinned image.
	BackendHost Backend = "host"
)

// Event is a progress notification. The runner never prints; the caller
// decides how to show events.
type Event struct {
	// Artifact is the artifact the event concerns ("" for the whole run).
	Artifact string
	// Step names the step, e.g. "source", "image", "probe", "build".
	Step string
	// Message is a one-line human description.
	Message string
	// Warning marks events the user must not miss (e.g. unpinned image).
	Warning bool
}

// Option configures Run.
type Option func(*options)

type options struct {
	engine        engine.Engine
	backend       Backend
	store         *recipe.Store
	repoDir       string
	localInputs   map[string]string
	cacheDir      string
	mirror        string
	publishedDir  string
	outDir        string
	keep          bool
	requirePinned bool
	allowUnpinned bool
	imageArchive  string
	artifacts     []string
	log           io.Writer
	diffOut       io.Writer
	progress      func(Event)
	toolVersion   string
	httpClient    *http.Client
	retries       int
	maxDiffLines  int
	signKey       attest.Signer
	allowExpired  bool
	now           func() time.Time
}

func makeOptions(opts []Option) *options {
	dir, err := cache.Dir()
	if err != nil {
		dir = filepath.Join(os.TempDir(), "verify-release-cache")
	}
	o := &options{
		backend:     BackendDocker,
		cacheDir:    dir,
		log:         io.Discard,
		progress:    func(Event) {},
		toolVersion: "devel",
		httpClient:  &http.Client{Timeout: 5 * time.Minute},
		retries:     3,
		now:         func() time.Time { return time.Now().UTC() },
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithEngine sets the engine for build steps (required for builds).
func WithEngine(e engine.Engine, b Backend) Option {
	return func(o *options) { o.engine, o.backend = e, b }
}

// WithStore sets the recipe store, used to read signature keys and lock
// files beside the recipe.
func WithStore(s *recipe.Store) Option { return func(o *options) { o.store = s } }

// WithRepo uses a local clone or mirror instead of fetching the recipe's
// git URL into the cache. The repository is only read.
func WithRepo(dir string) Option { return func(o *options) { o.repoDir = dir } }

// WithInput reads the [[inputs]] entry name from path on this machine
// instead of fetching it: for a git input, path is a local clone or mirror
// that must hold the pinned commit; for a url input, path is a copy of the
// file, which must have the pinned sha256 (it is then used exactly as the
// fetched file would be). path is only read.
func WithInput(name, path string) Option {
	return func(o *options) {
		if o.localInputs == nil {
			o.localInputs = map[string]string{}
		}
		o.localInputs[name] = path
	}
}

// WithMirror overrides the distribution mirror for environments built
// from an archive ([env] distro = ...).
func WithMirror(url string) Option { return func(o *options) { o.mirror = url } }

// WithCacheDir sets the cache directory (default: the user cache dir).
func WithCacheDir(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithPublishedDir looks for published copies (and signatures) in dir
// before fetching them from the recipe's URLs.
func WithPublishedDir(dir string) Option { return func(o *options) { o.publishedDir = dir } }

// WithOutDir keeps re-created artifacts, logs, diffs, report.json and
// attestations under dir/NAME/VERSION/.
func WithOutDir(dir string) Option { return func(o *options) { o.outDir = dir } }

// WithKeep keeps containers and work directories for debugging.
func WithKeep(keep bool) Option { return func(o *options) { o.keep = keep } }

// WithRequirePinned makes an image without a digest an error.
func WithRequirePinned(b bool) Option { return func(o *options) { o.requirePinned = b } }

// WithAllowUnpinned lets a recipe whose image digest is "unresolved" (and
// has no lock file) run: the digest is resolved at run time, with a
// warning, and recorded in the report.
func WithAllowUnpinned(b bool) Option { return func(o *options) { o.allowUnpinned = b } }

// WithImageArchive loads the image from a docker-archive or OCI layout
// tarball (air-gapped use), checked against the pinned digest.
func WithImageArchive(path string) Option { return func(o *options) { o.imageArchive = path } }

// WithArtifacts restricts the run to the named artifacts.
func WithArtifacts(names ...string) Option { return func(o *options) { o.artifacts = names } }

// WithLog streams the output of build steps to w.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithDiffOutput writes the text per-member diff of every mismatching
// artifact against its published copy to w.
func WithDiffOutput(w io.Writer) Option { return func(o *options) { o.diffOut = w } }

// WithProgress receives progress events.
func WithProgress(f func(Event)) Option { return func(o *options) { o.progress = f } }

// WithToolVersion records the verify-release version in reports.
func WithToolVersion(v string) Option { return func(o *options) { o.toolVersion = v } }

// WithHTTPClient sets the client used to fetch published copies.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithMaxDiffLines caps unified diffs of text members.
func WithMaxDiffLines(n int) Option { return func(o *options) { o.maxDiffLines = n } }

// WithSignKey signs the attestations written to the out dir.
func WithSignKey(k attest.Signer) Option { return func(o *options) { o.signKey = k } }

// WithAllowExpiredKey accepts a good upstream signature from a key that
// had expired when it signed.
func WithAllowExpiredKey(b bool) Option { return func(o *options) { o.allowExpired = b } }

// WithClock sets the clock used for attestation timestamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }
