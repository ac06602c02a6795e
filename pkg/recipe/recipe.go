package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// MtimePolicy says which modification times the source tree gets before a
// build.
type MtimePolicy string

const (
	// MtimeCommit sets every file to the committer time of the pinned commit.
	MtimeCommit MtimePolicy = "commit"
	// MtimePerFile sets each file to the committer time of the last commit
	// that touched it.
	MtimePerFile MtimePolicy = "per-file"
	// MtimeNone leaves the times a fresh checkout gives.
	MtimeNone MtimePolicy = "none"
)

// Method is how an artifact is produced.
type Method string

const (
	// MethodGitArchive re-creates the artifact with git archive semantics
	// (pkg/gitarchive) from the pinned commit.
	MethodGitArchive Method = "git-archive"
	// MethodBuild runs the artifact's commands in the pinned environment.
	MethodBuild Method = "build"
)

// Unresolved is the explicit marker for a digest that could not be known
// when the recipe was written (env.digest = "unresolved"). Such a recipe
// is valid, but running it needs a lock file or --allow-unpinned. As
// source.commit it says the tag's commit could not be established (no
// clone at hand, as for a recipe drafted from a tarball); a run that needs
// the git source then fails and says so.
const Unresolved = "unresolved"

// Recipe is one release of one project.
type Recipe struct {
	Name        string `toml:"name"`
	Version     string `toml:"version"`
	Description string `toml:"description,omitempty"`
	Homepage    string `toml:"homepage,omitempty"`

	Source Source `toml:"source"`
	// Env is the environment build artifacts are re-created in: the
	// recipe's [env], or the selected one of its [[envs]] (the first
	// after Parse; ForEnv selects another).
	Env Env `toml:"env,omitempty"`
	// Envs are the recipe's named environments ([[envs]], each with a
	// name), in the order the recipe gives them; a recipe has [env] or
	// [[envs]], not both.
	Envs      []Env                `toml:"envs,omitempty"`
	Inputs    []Input              `toml:"inputs,omitempty"`
	Artifacts map[string]*Artifact `toml:"artifacts"`
	Signature *Signature           `toml:"signature,omitempty"`
	// Accept lists the differences from the published artifacts that are
	// accepted, each with its reason ([[accept]], see docs/recipes.md).
	Accept []Accept `toml:"accept,omitempty"`

	// Path is the file the recipe was read from ("" when parsed from
	// memory); SHA256 is the hex digest of its bytes.
	Path   string `toml:"-"`
	SHA256 string `toml:"-"`
}

// Source pins the upstream repository.
type Source struct {
	// Git is the clone URL of the upstream repository.
	Git string `toml:"git"`
	// Tag is the release tag.
	Tag string `toml:"tag"`
	// Commit is the full object id (40 hex SHA-1 or 64 hex SHA-256) the tag
	// must resolve to.
	Commit string `toml:"commit"`
}

// Env pins the build environment: a registry image (Image), or an
// environment built from a distribution's archive (Distro, Suite,
// Packages, Extra) whose exact .debs the lock file records.
type Env struct {
	// Name names one of a recipe's [[envs]] (e.g. "ubuntu-22.04",
	// "debian-bookworm"); an [env] table may leave it out.
	Name string `toml:"name,omitempty"`
	// Image is an OCI image reference, with a digest (name@sha256:...)
	// unless Digest is "unresolved".
	Image string `toml:"image,omitempty"`
	// Distro is "debian" or "ubuntu" for an environment built from the
	// archive; then Suite is required and Packages are exact archive
	// packages ("name=version", or "name" resolved and frozen at pin).
	Distro string `toml:"distro,omitempty"`
	Suite  string `toml:"suite,omitempty"`
	// Snapshot is a snapshot archive timestamp (20250604T000000Z) asked
	// for pool files the mirror no longer has.
	Snapshot string `toml:"snapshot,omitempty"`
	// Extra are packages taken from other suites.
	Extra []EnvExtra `toml:"extra,omitempty"`
	// Digest is "unresolved" when the image digest could not be known
	// offline; otherwise empty (the digest is part of Image).
	Digest string `toml:"digest,omitempty"`
	// Setup are shell commands run once, with network, before the build;
	// their result is cached as an image.
	Setup []string `toml:"setup,omitempty"`
	// Packages are installed during setup (e.g. "autoconf=2.71-2").
	Packages []string `toml:"packages,omitempty"`
	// Tools maps a tool name to the version the environment must report.
	Tools map[string]string `toml:"tools,omitempty"`
	// User is the build user inside the environment (default "root").
	User string `toml:"user,omitempty"`
	// CapAdd are extra Linux capabilities the build needs.
	CapAdd []string `toml:"cap_add,omitempty"`
	// Umask for build steps, octal (default "0022").
	Umask string `toml:"umask,omitempty"`
	// Memory limit for build containers, e.g. "4g" (default "4g").
	Memory string `toml:"memory,omitempty"`
	// Timeout for the whole build, e.g. "30m" (default "30m").
	Timeout string `toml:"timeout,omitempty"`
}

// EnvExtra names packages of another suite of the same distribution
// (e.g. bullseye's libtool in a bookworm environment).
type EnvExtra struct {
	Suite    string   `toml:"suite"`
	Packages []string `toml:"packages"`
}

// Input is an extra pinned input the build needs offline: a git
// repository at a commit or a file with a sha256.
type Input struct {
	Name   string `toml:"name"`
	Git    string `toml:"git,omitempty"`
	Commit string `toml:"commit,omitempty"`
	URL    string `toml:"url,omitempty"`
	SHA256 string `toml:"sha256,omitempty"`
	// Debian takes the input from a file of a Debian binary package (e.g.
	// gnulib's git bundle), checked through the archive's signed chain;
	// with Commit, the file is a git bundle checked out at that commit.
	Debian *DebianFile `toml:"debian,omitempty"`
	// Path is where the input appears, relative to the build workspace
	// (the directory that holds the source checkout "src").
	Path string `toml:"path"`
}

// DebianFile is one file of a Debian binary package.
type DebianFile struct {
	Suite   string `toml:"suite"`
	Package string `toml:"package"`
	Version string `toml:"version"`
	// File is the path inside the package, e.g.
	// "usr/share/gnulib/gnulib.bundle".
	File string `toml:"file"`
}

// Artifact is one published file and how to re-create it.
type Artifact struct {
	// File is the published file name.
	File string `toml:"file"`
	// SHA256 is the expected digest of the published file.
	SHA256 string `toml:"sha256"`
	// SHA512 optionally pins the published file further.
	SHA512 string `toml:"sha512,omitempty"`
	// Method is "git-archive" or "build".
	Method Method `toml:"method"`

	// Prefix is the git-archive path prefix (ends with "/").
	Prefix string `toml:"prefix,omitempty"`
	// Compress is the git-archive compressor: "gzip-n" (default),
	// "git-internal" or "none".
	Compress string `toml:"compress,omitempty"`
	// Level is the compression level for gzip-n (1-9, default 6 = gzip -n).
	Level int `toml:"level,omitempty"`

	// Commands are the build commands, run in order with /bin/sh -c in
	// the source directory.
	Commands []string `toml:"commands,omitempty"`
	// Output is the path, relative to the source directory, where the
	// build leaves the artifact (default: File).
	Output string `toml:"output,omitempty"`
	// Mtime is the mtime policy applied to the source tree before the build.
	Mtime MtimePolicy `toml:"mtime,omitempty"`
	// From is where a build starts: "git" (the pinned commit, default),
	// "src" (the recipe's git-archive artifact, unpacked) or "dist" (this
	// artifact's published copy, unpacked). The starting tarball's sha256
	// is checked before it is unpacked.
	From string `toml:"from,omitempty"`
	// Debian names a Debian source package whose orig tarball is this
	// artifact's published copy (checked through the archive's signed
	// chain, then against SHA256).
	Debian *DebianOrig `toml:"debian,omitempty"`
	// SourceDateEpoch, when set, is the SOURCE_DATE_EPOCH of every build
	// step instead of the commit time (e.g. the time upstream's release
	// script ran). Unix seconds, 1 to MaxSourceDateEpoch.
	SourceDateEpoch *int64 `toml:"source_date_epoch,omitempty"`
	// Envs names the [[envs]] that re-create this artifact (default: all
	// of them). An artifact with build takes its build's environments.
	Envs []string `toml:"envs,omitempty"`
	// Build names another build artifact whose build also leaves this
	// file (at Output): the file is copied out of that build's session
	// instead of running a build of its own. Such an artifact has no
	// commands, mtime or source_date_epoch.
	Build string `toml:"build,omitempty"`

	// URL is where the published copy can be fetched.
	URL string `toml:"url,omitempty"`
	// Path is a local copy of the published file, relative to the recipe.
	Path string `toml:"path,omitempty"`
	// SignatureURL overrides URL + signature.suffix.
	SignatureURL string `toml:"signature_url,omitempty"`
}

// Accept is one accepted difference: the members it covers (a path.Match
// glob), what it accepts (exactly one of Class, Line, or a substitution
// Old -> New) and why.
type Accept struct {
	// Artifact limits the entry to one artifact (default: every artifact).
	Artifact string `toml:"artifact,omitempty"`
	// Env limits the entry to one of the recipe's [[envs]] (default:
	// every environment).
	Env string `toml:"env,omitempty"`
	// Member is a path.Match glob over member paths; a Class of "content"
	// needs a literal member path.
	Member string `toml:"member"`
	// Class accepts every difference of that class in the members.
	Class string `toml:"class,omitempty"`
	// Line is a regular expression (RE2) that every removed and added line
	// of a member's content difference must match.
	Line string `toml:"line,omitempty"`
	// Old and New declare a substitution: the published member is the
	// re-created one with every Old replaced by New.
	Old string `toml:"old,omitempty"`
	New string `toml:"new,omitempty"`
	// Reason is a sentence saying why the difference is harmless.
	Reason string `toml:"reason"`
}

// Substitution reports whether the entry declares a substitution.
func (a *Accept) Substitution() bool { return a.Old != "" || a.New != "" }

// AcceptClasses are the difference classes an [[accept]] entry may name
// (pkg/tarball's classes; a verdict test keeps the lists equal).
var AcceptClasses = []string{"content", "version-string", "whitespace", "mtime", "owner", "mode", "order", "format", "compression"}

// Where a build starts (Artifact.From).
const (
	FromGit  = "git"
	FromSrc  = "src"
	FromDist = "dist"
)

// DebianOrig is a Debian source package's orig tarball, as published by
// upstream and shipped by Debian.
type DebianOrig struct {
	Suite   string `toml:"suite"`
	Source  string `toml:"source"`
	Version string `toml:"version"`
}

// NeedsGit reports whether re-creating the recipe's artifacts reads the
// upstream git repository.
func (r *Recipe) NeedsGit() bool { return r.NeedsGitFor(nil) }

// NeedsGitFor is NeedsGit for the named artifacts only (all when names is
// empty): a from = "src" build whose git-archive artifact is not selected
// starts from that artifact's published copy and needs no git.
func (r *Recipe) NeedsGitFor(names []string) bool {
	if len(names) == 0 {
		names = r.ArtifactNames()
	}
	for _, n := range names {
		a := r.Artifacts[n]
		if a != nil && a.Build != "" {
			a = r.Artifacts[a.Build]
		}
		if a == nil {
			continue
		}
		if a.Method == MethodGitArchive || (a.Method == MethodBuild && (a.From == FromGit || a.From == "")) {
			return true
		}
	}
	return false
}

// SrcArtifact returns the name of the recipe's git-archive artifact that
// a from = "src" build starts from.
func (r *Recipe) SrcArtifact() string {
	for _, n := range r.ArtifactNames() {
		if r.Artifacts[n].Method == MethodGitArchive {
			return n
		}
	}
	return ""
}

// Signature says how the published artifacts are signed upstream.
type Signature struct {
	// Key is the OpenPGP public key file, relative to the recipes
	// directory (e.g. "keys/libntlm.asc").
	Key string `toml:"key"`
	// Fingerprints are the accepted signer fingerprints, full length.
	Fingerprints []string `toml:"fingerprints"`
	// Suffix is appended to an artifact's URL to find its detached
	// signature (default ".sig").
	Suffix string `toml:"suffix,omitempty"`
	// Artifacts lists which artifacts are signed (default: all with a URL).
	Artifacts []string `toml:"artifacts,omitempty"`
}

// ArtifactNames returns the artifact keys sorted, "src" first, then
// "dist", then the rest alphabetically.
func (r *Recipe) ArtifactNames() []string {
	names := make([]string, 0, len(r.Artifacts))
	for n := range r.Artifacts {
		names = append(names, n)
	}
	rank := func(s string) int {
		switch s {
		case "src":
			return 0
		case "dist":
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// NeedsEnv reports whether some artifact is built in the recipe's
// environment; a recipe of git-archive artifacts only needs no [env].
func (r *Recipe) NeedsEnv() bool { return r.NeedsEnvFor(nil) }

// NeedsEnvFor is NeedsEnv for the named artifacts only (all when names is
// empty); an artifact with build needs its build's environment.
func (r *Recipe) NeedsEnvFor(names []string) bool {
	if len(names) == 0 {
		names = r.ArtifactNames()
	}
	for _, n := range names {
		if a := r.Artifacts[r.BuildOwner(n)]; a != nil && a.Method != MethodGitArchive {
			return true
		}
	}
	return false
}

// FromArchive reports whether the environment is built from a
// distribution archive ([env] distro = ...) rather than a registry image.
func (r *Recipe) FromArchive() bool { return r.Env.Distro != "" }

// BuildOwner returns the name of the artifact whose build produces
// artifact name: its Build, or name itself.
func (r *Recipe) BuildOwner(name string) string {
	if a := r.Artifacts[name]; a != nil && a.Build != "" {
		return a.Build
	}
	return name
}

// SharedOutputs returns the artifacts produced by owner's build: owner
// first, then those naming it in build, in ArtifactNames order.
func (r *Recipe) SharedOutputs(owner string) []string {
	out := []string{owner}
	for _, n := range r.ArtifactNames() {
		if a := r.Artifacts[n]; n != owner && a != nil && a.Build == owner {
			out = append(out, n)
		}
	}
	return out
}

// ImagePinned reports whether Env.Image carries a digest.
func (r *Recipe) ImagePinned() bool {
	_, d, ok := strings.Cut(r.Env.Image, "@")
	return ok && isSHA256Digest(d)
}

// ID is NAME/VERSION.
func (r *Recipe) ID() string { return r.Name + "/" + r.Version }

// PinTarget is how 'verify-release pin' is told to pin r: its path, or
// NAME VERSION for a built-in recipe, whose "builtin:" path pin does not
// open (it copies a built-in recipe to ./recipes and pins the copy).
func (r *Recipe) PinTarget() string {
	if r.Path == "" || strings.HasPrefix(r.Path, "builtin:") {
		return r.Name + " " + r.Version
	}
	return r.Path
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isSHA256Digest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	return ok && isHex(h, 64)
}

// IsObjectID reports whether s is a full git object id (SHA-1 or SHA-256),
// lower-case hex.
func IsObjectID(s string) bool { return isHex(s, 40) || isHex(s, 64) }

// String returns a short description for messages.
func (a *Artifact) String() string { return fmt.Sprintf("%s (%s)", a.File, a.Method) }
