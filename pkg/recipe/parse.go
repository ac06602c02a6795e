package recipe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"gitlab.com/verify-release/verify-release/pkg/debian"
)

// ErrInvalid is matched (errors.Is) by every validation error.
var ErrInvalid = errors.New("recipe: invalid recipe")

// Error is a problem in a recipe file. Line is 0 when the problem has no
// single line (e.g. a missing table).
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is every problem found in one recipe, sorted by line.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

func (es Errors) Is(target error) bool { return target == ErrInvalid }

// Load reads and validates the recipe at file.
func Load(file string, opts ...ParseOption) (*Recipe, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading recipe: %w", err)
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, fmt.Errorf("reading recipe %s: %w", file, err)
	}
	return Parse(file, data, opts...)
}

// readLimited reads r whole, or one byte past MaxFileSize, which Parse
// refuses.
func readLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, MaxFileSize+1))
}

// Parse decodes and validates recipe data; file names the source in errors.
func Parse(file string, data []byte, opts ...ParseOption) (*Recipe, error) {
	var po parseOptions
	for _, opt := range opts {
		opt(&po)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("recipe file is larger than %d bytes", MaxFileSize)}
	}
	var r Recipe
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&r)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: file, Line: line, Key: m[2], Msg: m[3]}
		}
		return nil, &Error{File: file, Msg: err.Error()}
	}
	lines := newKeyLines(data)
	var errs Errors
	undecoded := md.Undecoded()
	for i, k := range undecoded {
		// Report leaves only: an unknown table is reported through its keys.
		if i+1 < len(undecoded) && strings.HasPrefix(undecoded[i+1].String(), k.String()+".") {
			continue
		}
		errs = append(errs, &Error{File: file, Line: lines.line(k.String()), Key: k.String(), Msg: "unknown key"})
	}
	v := &validator{file: file, lines: lines, md: &md, opts: po}
	v.recipe(&r)
	errs = append(errs, v.errs...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	r.Path = file
	r.SHA256 = digestOf(data)
	return &r, nil
}

type validator struct {
	file  string
	lines *keyLines
	md    *toml.MetaData
	opts  parseOptions
	errs  Errors
}

// list refuses an array longer than MaxListLength.
func (v *validator) list(key string, n int) {
	if n > MaxListLength {
		v.errorf(key, "has %d entries, more than the %d accepted", n, MaxListLength)
	}
}

func (v *validator) errorf(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: v.lines.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) required(key, val string) bool {
	if val == "" {
		v.errorf(key, "required key is missing")
		return false
	}
	return true
}

// typeErrRE matches the decoder's type errors, which are not ParseErrors.
var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]*$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]*$`)
	fprRE     = regexp.MustCompile(`^([0-9A-F]{40}|[0-9A-F]{64})$`)
	capRE     = regexp.MustCompile(`^[A-Z_]+$`)
	memRE     = regexp.MustCompile(`^[0-9]+[kmgKMG]?$`)
	envNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

func (v *validator) recipe(r *Recipe) {
	if v.required("name", r.Name) && !nameRE.MatchString(r.Name) {
		v.errorf("name", "%q is not a valid project name (lower-case letters, digits, . _ + -)", r.Name)
	}
	if v.required("version", r.Version) && !versionRE.MatchString(r.Version) {
		v.errorf("version", "%q is not a valid version", r.Version)
	}
	v.source(&r.Source)
	v.envs(r)
	v.list("inputs", len(r.Inputs))
	v.list("artifacts", len(r.Artifacts))
	for i := range r.Inputs {
		v.input(i, &r.Inputs[i])
	}
	if len(r.Artifacts) == 0 {
		v.errorf("artifacts", "at least one [artifacts.NAME] table is required")
	}
	for _, name := range r.ArtifactNames() {
		v.artifact(name, r.Artifacts[name])
	}
	v.sharedBuilds(r)
	if r.Signature != nil {
		v.signature(r, r.Signature)
	}
	for _, name := range r.ArtifactNames() {
		if a := r.Artifacts[name]; a != nil && a.From == FromSrc && r.SrcArtifact() == "" {
			v.errorf("artifacts."+name+".from", "from = \"src\" needs a git-archive artifact in the recipe to start from")
		}
	}
	v.list("accept", len(r.Accept))
	for i := range r.Accept {
		v.accept(r, i, &r.Accept[i])
	}
}

func (v *validator) accept(r *Recipe, i int, a *Accept) {
	key := fmt.Sprintf("accept[%d]", i)
	if a.Artifact != "" && r.Artifacts[a.Artifact] == nil {
		v.errorf(key+".artifact", "%q is not an artifact of this recipe", a.Artifact)
	}
	if v.required(key+".member", a.Member) {
		if _, err := path.Match(a.Member, ""); err != nil {
			v.errorf(key+".member", "%q is not a valid glob: %v", a.Member, err)
		}
	}
	if strings.TrimSpace(a.Reason) == "" {
		v.errorf(key+".reason", "required key is missing: say why this difference is harmless")
	}
	n := 0
	for _, set := range []bool{a.Class != "", a.Line != "", a.Substitution()} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(key, "needs exactly one of class, line, or old and new (a substitution)")
	}
	if a.Class != "" {
		known := false
		for _, c := range AcceptClasses {
			known = known || c == a.Class
		}
		switch {
		case !known:
			v.errorf(key+".class", "%q is not a difference class (%s)", a.Class, strings.Join(AcceptClasses, ", "))
		case a.Class == "content" && strings.ContainsAny(a.Member, `*?[\`):
			v.errorf(key+".class", "content differences can be accepted only for a named member, not the glob %q", a.Member)
		}
	}
	if a.Line != "" {
		re, err := regexp.Compile(a.Line)
		switch {
		case err != nil:
			v.errorf(key+".line", "%q is not a valid regular expression: %v", a.Line, err)
		case re.MatchString("") && strings.ContainsAny(a.Member, `*?[\`):
			// A pattern that matches any line would accept any content
			// difference in every member the glob names.
			v.errorf(key+".line", "%q matches an empty line, so it would accept any change; with the glob %q it must name what the changed lines contain", a.Line, a.Member)
		}
	}
	if a.Substitution() {
		switch {
		case a.Old == "" || a.New == "":
			v.errorf(key, "a substitution needs both old and new")
		case a.Old == a.New:
			v.errorf(key+".new", "is the same as old")
		case strings.ContainsAny(a.Member, `*?[\`):
			v.errorf(key+".member", "a substitution names one member, not the glob %q", a.Member)
		}
	}
}

func (v *validator) source(s *Source) {
	if v.required("source.git", s.Git) {
		if msg := checkGitURL(s.Git, v.opts); msg != "" {
			v.errorf("source.git", "%q %s", s.Git, msg)
		}
	}
	if v.required("source.tag", s.Tag) {
		if msg := checkRefName(s.Tag); msg != "" {
			v.errorf("source.tag", "%q is not a valid git tag name: %s", s.Tag, msg)
		}
	}
	if v.required("source.commit", s.Commit) && s.Commit != Unresolved && !IsObjectID(s.Commit) {
		v.errorf("source.commit", "%q is not a full commit id (40 or 64 lower-case hex digits), or %q", s.Commit, Unresolved)
	}
}

func (v *validator) env(k string, e *Env) {
	if e.Distro != "" || e.Suite != "" || len(e.Extra) > 0 || e.Snapshot != "" {
		v.archiveEnv(k, e)
		return
	}
	if !v.required(k+".image", e.Image) {
		return
	}
	_, d, hasDigest := strings.Cut(e.Image, "@")
	switch {
	case hasDigest && !isSHA256Digest(d):
		v.errorf(k+".image", "digest %q is not sha256:<64 hex digits>", d)
	case hasDigest && e.Digest != "":
		v.errorf(k+".digest", "must be absent when env.image carries a digest")
	case !hasDigest && e.Digest != Unresolved:
		v.errorf(k+".image", "%q has no digest: pin it as NAME@sha256:... (run 'verify-release pin'), or say so explicitly with env.digest = %q", e.Image, Unresolved)
	}
	v.list(k+".setup", len(e.Setup))
	v.list(k+".packages", len(e.Packages))
	v.list(k+".tools", len(e.Tools))
	v.list(k+".cap_add", len(e.CapAdd))
	for tool, ver := range e.Tools {
		if strings.TrimSpace(ver) == "" {
			v.errorf(k+".tools."+tool, "version must not be empty")
		}
	}
	for _, c := range e.CapAdd {
		if !capRE.MatchString(c) {
			v.errorf(k+".cap_add", "%q is not a capability name like CHOWN", c)
		}
	}
	if e.User != "" && strings.ContainsAny(e.User, " \t\n") {
		v.errorf(k+".user", "%q is not a user name or uid", e.User)
	}
	if e.Umask != "" {
		if u, err := strconv.ParseUint(e.Umask, 8, 32); err != nil || u > 0o777 {
			v.errorf(k+".umask", "%q is not an octal umask like 0022", e.Umask)
		}
	}
	if e.Memory != "" && !memRE.MatchString(e.Memory) {
		v.errorf(k+".memory", "%q is not a size like 4g or 512m", e.Memory)
	}
	if e.Timeout != "" {
		if d, err := time.ParseDuration(e.Timeout); err != nil || d <= 0 {
			v.errorf(k+".timeout", "%q is not a positive duration like 30m", e.Timeout)
		}
	}
}

var (
	suiteRE    = regexp.MustCompile(`^[a-z][a-z0-9.-]*$`)
	snapshotRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z$`)
)

// archiveEnv validates the distribution form of [env].
func (v *validator) archiveEnv(k string, e *Env) {
	switch e.Distro {
	case "debian", "ubuntu":
	case "":
		v.errorf(k+".distro", "required key is missing (debian or ubuntu) when env.suite is given")
	default:
		v.errorf(k+".distro", "%q is not one of debian, ubuntu", e.Distro)
	}
	if e.Image != "" || e.Digest != "" {
		v.errorf(k+".image", "give either env.image (a registry image) or env.distro (built from the archive), not both")
	}
	if len(e.Setup) > 0 {
		v.errorf(k+".setup", "an environment built from the archive takes no setup commands (they would run with network and drift); list the packages instead")
	}
	if v.required(k+".suite", e.Suite) && !suiteRE.MatchString(e.Suite) {
		v.errorf(k+".suite", "%q is not a suite name like bookworm", e.Suite)
	}
	if e.Snapshot != "" && !snapshotRE.MatchString(e.Snapshot) {
		v.errorf(k+".snapshot", "%q is not a snapshot timestamp like 20250604T000000Z", e.Snapshot)
	}
	if len(e.Packages) == 0 {
		v.errorf(k+".packages", "an environment built from the archive needs at least one package")
	}
	v.packageList(k+".packages", e.Packages)
	for i, x := range e.Extra {
		key := fmt.Sprintf("%s.extra[%d]", k, i)
		if v.required(key+".suite", x.Suite) && !suiteRE.MatchString(x.Suite) {
			v.errorf(key+".suite", "%q is not a suite name like bullseye", x.Suite)
		}
		if len(x.Packages) == 0 {
			v.errorf(key+".packages", "list the packages to take from %s", x.Suite)
		}
		v.packageList(key+".packages", x.Packages)
	}
}

func (v *validator) packageList(key string, pkgs []string) {
	seen := map[string]bool{}
	for _, p := range pkgs {
		name, _, err := debian.ParseSpec(p)
		if err != nil {
			v.errorf(key, "%q: %s", p, strings.TrimPrefix(err.Error(), debian.ErrInvalid.Error()+": "))
			continue
		}
		if seen[name] {
			v.errorf(key, "package %s is listed twice", name)
		}
		seen[name] = true
	}
}

func (v *validator) input(i int, in *Input) {
	key := fmt.Sprintf("inputs[%d]", i)
	v.required(key+".name", in.Name)
	v.relPath(key+".path", in.Path, true)
	switch {
	case in.Debian != nil:
		d := in.Debian
		if in.Git != "" || in.URL != "" {
			v.errorf(key, "give one of git, url or debian")
		}
		if v.required(key+".debian.suite", d.Suite) && !suiteRE.MatchString(d.Suite) {
			v.errorf(key+".debian.suite", "%q is not a suite name like trixie", d.Suite)
		}
		if _, _, err := debian.ParseSpec(d.Package + "=" + d.Version); err != nil {
			v.errorf(key+".debian", "package %q version %q: %s", d.Package, d.Version, strings.TrimPrefix(err.Error(), debian.ErrInvalid.Error()+": "))
		}
		v.relPath(key+".debian.file", d.File, true)
		if in.Commit != "" && !IsObjectID(in.Commit) {
			v.errorf(key+".commit", "%q is not a full commit id", in.Commit)
		}
	case in.Git != "" && in.URL != "":
		v.errorf(key, "give either git (with commit) or url (with sha256), not both")
	case in.Git != "":
		if msg := checkGitURL(in.Git, v.opts); msg != "" {
			v.errorf(key+".git", "%q %s", in.Git, msg)
		}
		if !IsObjectID(in.Commit) {
			v.errorf(key+".commit", "a git input needs a full commit id, got %q", in.Commit)
		}
	case in.URL != "":
		if msg := checkHTTPURL(in.URL); msg != "" {
			v.errorf(key+".url", "%q %s", in.URL, msg)
		}
		if !isHex(in.SHA256, 64) {
			v.errorf(key+".sha256", "a url input needs a sha256 (64 lower-case hex digits), got %q", in.SHA256)
		}
	default:
		v.errorf(key, "an input needs git and commit, url and sha256, or debian (suite, package, version, file)")
	}
}

func (v *validator) relPath(key, p string, required bool) {
	if p == "" {
		if required {
			v.errorf(key, "required key is missing")
		}
		return
	}
	if path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "..") || strings.Contains(p, "\\") {
		v.errorf(key, "%q must be a relative path that stays inside its directory", p)
	}
}

func (v *validator) artifact(name string, a *Artifact) {
	key := "artifacts." + name
	if a == nil {
		v.errorf(key, "empty artifact table")
		return
	}
	if v.required(key+".file", a.File) && (strings.ContainsAny(a.File, "/\\") || a.File == "." || a.File == "..") {
		v.errorf(key+".file", "%q must be a plain file name", a.File)
	}
	if v.required(key+".sha256", a.SHA256) && !isHex(a.SHA256, 64) {
		v.errorf(key+".sha256", "%q is not a sha256 (64 lower-case hex digits)", a.SHA256)
	}
	if a.SHA512 != "" && !isHex(a.SHA512, 128) {
		v.errorf(key+".sha512", "%q is not a sha512 (128 lower-case hex digits)", a.SHA512)
	}
	if a.Build != "" && (a.Mtime != "" || a.SourceDateEpoch != nil || len(a.Commands) > 0 || a.From != "") {
		v.errorf(key+".build", "an artifact made by the build of %q takes no commands, mtime, from or source_date_epoch of its own (they are %q's)", a.Build, a.Build)
	}
	if e := a.SourceDateEpoch; e != nil && (*e < 1 || *e > MaxSourceDateEpoch) {
		v.errorf(key+".source_date_epoch", "%d is not a time in Unix seconds between 1 and %d", *e, int64(MaxSourceDateEpoch))
	}
	switch a.Mtime {
	case "":
		a.Mtime = MtimeCommit
	case MtimeCommit, MtimePerFile, MtimeNone:
	default:
		v.errorf(key+".mtime", "%q is not one of commit, per-file, none", a.Mtime)
	}
	switch a.Method {
	case MethodGitArchive:
		if v.required(key+".prefix", a.Prefix) {
			if !strings.HasSuffix(a.Prefix, "/") {
				v.errorf(key+".prefix", "%q must end with /", a.Prefix)
			}
			v.relPath(key+".prefix", a.Prefix, true)
		}
		switch a.Compress {
		case "":
			a.Compress = "gzip-n"
		case "gzip-n", "git-internal", "none":
		default:
			v.errorf(key+".compress", "%q is not one of gzip-n, git-internal, none", a.Compress)
		}
		if a.Level != 0 && (a.Level < 1 || a.Level > 9) {
			v.errorf(key+".level", "%d is not a gzip level 1-9", a.Level)
		}
		if len(a.Commands) > 0 {
			v.errorf(key+".commands", "a git-archive artifact takes no build commands")
		}
		if a.SourceDateEpoch != nil || a.Build != "" {
			v.errorf(key, "source_date_epoch and build apply to build artifacts only")
		}
	case MethodBuild:
		if len(a.Commands) == 0 && a.Build == "" {
			v.errorf(key+".commands", "a build artifact needs at least one command")
		}
		switch a.From {
		case "":
			a.From = FromGit
		case FromGit, FromSrc, FromDist:
		default:
			v.errorf(key+".from", "%q is not one of git, src, dist", a.From)
		}
		if a.From != FromGit && a.Mtime == MtimePerFile {
			v.errorf(key+".mtime", "per-file needs the git history; a build from a tarball takes commit or none")
		}
		if a.Output == "" {
			a.Output = a.File
		}
		v.relPath(key+".output", a.Output, false)
		if a.Prefix != "" || a.Compress != "" {
			v.errorf(key, "prefix and compress apply to git-archive artifacts only")
		}
	case "":
		v.errorf(key+".method", "required key is missing (git-archive or build)")
	default:
		v.errorf(key+".method", "%q is not one of git-archive, build", a.Method)
	}
	v.relPath(key+".path", a.Path, false)
	if d := a.Debian; d != nil {
		if v.required(key+".debian.suite", d.Suite) && !suiteRE.MatchString(d.Suite) {
			v.errorf(key+".debian.suite", "%q is not a suite name like trixie", d.Suite)
		}
		if _, _, err := debian.ParseSpec(d.Source + "=" + d.Version); err != nil {
			v.errorf(key+".debian", "source %q version %q: %s", d.Source, d.Version, strings.TrimPrefix(err.Error(), debian.ErrInvalid.Error()+": "))
		}
	}
	v.list(key+".commands", len(a.Commands))
	for k, u := range map[string]string{key + ".url": a.URL, key + ".signature_url": a.SignatureURL} {
		if msg := checkHTTPURL(u); msg != "" {
			v.errorf(k, "%q %s", u, msg)
		}
	}
}

// MaxSourceDateEpoch is the largest source_date_epoch accepted:
// 9999-12-31T23:59:59Z.
const MaxSourceDateEpoch = 253402300799

// sharedBuilds checks the build = "NAME" references: NAME is another
// build artifact with commands of its own (no chains), and the files of
// one build come from different output paths.
func (v *validator) sharedBuilds(r *Recipe) {
	outputs := map[string]map[string]string{} // owner -> output -> artifact
	for _, name := range r.ArtifactNames() {
		a := r.Artifacts[name]
		if a == nil || a.Method != MethodBuild {
			continue
		}
		owner := name
		if a.Build != "" {
			key := "artifacts." + name + ".build"
			o := r.Artifacts[a.Build]
			switch {
			case a.Build == name:
				v.errorf(key, "an artifact cannot name itself")
				continue
			case o == nil:
				v.errorf(key, "%q is not an artifact of this recipe", a.Build)
				continue
			case o.Method != MethodBuild:
				v.errorf(key, "%q is a %s artifact, not a build", a.Build, o.Method)
				continue
			case o.Build != "":
				v.errorf(key, "%q is itself made by the build of %q: name %q", a.Build, o.Build, o.Build)
				continue
			}
			owner = a.Build
		}
		if outputs[owner] == nil {
			outputs[owner] = map[string]string{}
		}
		if prev, ok := outputs[owner][a.Output]; ok && a.Output != "" {
			v.errorf("artifacts."+name+".output", "%q is also the output of artifact %q of the same build", a.Output, prev)
		}
		outputs[owner][a.Output] = name
	}
}

func (v *validator) signature(r *Recipe, s *Signature) {
	v.relPath("signature.key", s.Key, true)
	v.list("signature.fingerprints", len(s.Fingerprints))
	v.list("signature.artifacts", len(s.Artifacts))
	if len(s.Fingerprints) == 0 {
		v.errorf("signature.fingerprints", "at least one full signer fingerprint is required")
	}
	for i, f := range s.Fingerprints {
		n := strings.ToUpper(strings.ReplaceAll(f, " ", ""))
		if !fprRE.MatchString(n) {
			v.errorf("signature.fingerprints", "%q is not a full fingerprint (40 or 64 hex digits); short key ids are not accepted", f)
			continue
		}
		s.Fingerprints[i] = n
	}
	if s.Suffix == "" {
		s.Suffix = ".sig"
	}
	for _, a := range s.Artifacts {
		if _, ok := r.Artifacts[a]; !ok {
			v.errorf("signature.artifacts", "%q is not an artifact of this recipe", a)
		}
	}
}

// keyLines maps dotted TOML keys to the line that defines them, for error
// messages. It understands table headers and simple key = value lines,
// which is all a recipe uses.
type keyLines struct {
	lines map[string]int
}

var (
	tableRE = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?`)
	keyRE   = regexp.MustCompile(`^\s*("[^"]*"|[A-Za-z0-9_.-]+)\s*=`)
)

func newKeyLines(data []byte) *keyLines {
	kl := &keyLines{lines: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var tables []string // the current table, and its un-indexed name for [[arrays]]
	counts := map[string]int{}
	n := 0
	set := func(k string) {
		if _, ok := kl.lines[k]; !ok {
			kl.lines[k] = n
		}
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if m := tableRE.FindStringSubmatch(line); m != nil && strings.HasPrefix(trimmed, "[") {
			name := strings.ReplaceAll(m[1], " ", "")
			tables = []string{name}
			if strings.HasPrefix(trimmed, "[[") {
				tables = []string{fmt.Sprintf("%s[%d]", name, counts[name]), name}
				counts[name]++
			}
			for _, t := range tables {
				set(t)
			}
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			k := strings.Trim(m[1], `"`)
			if len(tables) == 0 {
				set(k)
			}
			for _, t := range tables {
				set(t + "." + k)
			}
		}
	}
	return kl
}

// line returns the line of key, or of its nearest enclosing table, or 0.
func (kl *keyLines) line(key string) int {
	for k := key; k != ""; {
		if n, ok := kl.lines[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}
