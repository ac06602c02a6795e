package debian

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"pault.ag/go/debian/deb"
	"pault.ag/go/debian/dependency"
	"pault.ag/go/debian/version"
)

// Request is an environment to resolve: packages of a primary suite
// (with its -updates and -security suites for Debian), and packages taken
// from extra suites (e.g. an older libtool).
type Request struct {
	Suite string
	// Packages are "name" (newest version) or "name=version" (exactly).
	Packages []string
	Extra    []SuiteRequest
	// Arch defaults to amd64; Components to ["main"].
	Arch       string
	Components []string
	// NoUpdates leaves out SUITE-updates and SUITE-security.
	NoUpdates bool
}

// SuiteRequest names packages taken from another suite.
type SuiteRequest struct {
	Suite    string
	Packages []string
}

// Resolution is the full closure of a Request: every package dpkg will
// install (the Essential set included), with the releases whose signed
// indexes list them.
type Resolution struct {
	// Releases are the verified suites read, primary first.
	Releases []*Release
	// Packages are sorted by name.
	Packages []Package
}

// VersionError is a requested version the archive does not have.
type VersionError struct {
	Package, Version string
	Suites           []string
	// Have are the versions the suites do have, newest first.
	Have []string
}

func (e *VersionError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("package %s is not in %s", e.Package, strings.Join(e.Suites, ", "))
	}
	return fmt.Sprintf("package %s has no version %s in %s; it has %s", e.Package, e.Version, strings.Join(e.Suites, ", "), strings.Join(e.Have, ", "))
}

func (e *VersionError) Unwrap() error { return ErrNotFound }

// ParseSpec splits "name=version" (or "name") and validates both parts.
// A version may carry "@sha256:<64 hex>": the digest of a .deb that the
// suite's indexes no longer list (superseded by a point release), which
// is then fetched from the pool and accepted only with that digest (see
// ParseSpecSHA).
func ParseSpec(s string) (name, ver string, err error) {
	name, ver, _, err = ParseSpecSHA(s)
	return name, ver, err
}

// ParseSpecSHA is ParseSpec that also returns the pinned .deb digest.
func ParseSpecSHA(s string) (name, ver, sha string, err error) {
	if before, digest, ok := strings.Cut(s, "@sha256:"); ok {
		if len(digest) != 64 || strings.Trim(digest, "0123456789abcdef") != "" {
			return "", "", "", fmt.Errorf("%w: %q is not @sha256:<64 lower-case hex digits>", ErrInvalid, "@sha256:"+digest)
		}
		if !strings.Contains(before, "=") {
			return "", "", "", fmt.Errorf("%w: %q: a pinned .deb digest needs an exact version (name=version@sha256:...)", ErrInvalid, s)
		}
		s, sha = before, digest
	}
	name, ver, err = parseSpec(s)
	return name, ver, sha, err
}

func parseSpec(s string) (name, ver string, err error) {
	name, ver, _ = strings.Cut(s, "=")
	if !validName(name) {
		return "", "", fmt.Errorf("%w: %q is not a Debian package name", ErrInvalid, name)
	}
	if strings.Contains(s, "=") {
		v, err := version.Parse(ver)
		if err != nil || ver == "" || strings.ContainsAny(ver, " \t") || v.Version == "" {
			return "", "", fmt.Errorf("%w: %q is not a Debian version", ErrInvalid, ver)
		}
	}
	return name, ver, nil
}

func validName(n string) bool {
	if len(n) < 2 || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= '0' && n[0] <= '9') {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// universe is the set of candidate packages, by name and by provided
// name, in preference order (primary suites first).
type universe struct {
	byName   map[string][]Package
	provides map[string][]Package
	suites   []string
}

func newUniverse() *universe {
	return &universe{byName: map[string][]Package{}, provides: map[string][]Package{}}
}

func (u *universe) add(suite string, pkgs []Package) {
	u.suites = append(u.suites, suite)
	for _, p := range pkgs {
		u.byName[p.Name] = append(u.byName[p.Name], p)
		if p.Provides == "" {
			continue
		}
		d, err := dependency.Parse(p.Provides)
		if err != nil {
			continue
		}
		for _, rel := range d.Relations {
			for _, pos := range rel.Possibilities {
				u.provides[pos.Name] = append(u.provides[pos.Name], p)
			}
		}
	}
}

// newest returns the candidates of name sorted newest first (stable over
// suites).
func (u *universe) newest(name string) []Package {
	c := append([]Package(nil), u.byName[name]...)
	sort.SliceStable(c, func(i, j int) bool { return cmpVersion(c[i].Version, c[j].Version) > 0 })
	return c
}

func cmpVersion(a, b string) int {
	va, err1 := version.Parse(a)
	vb, err2 := version.Parse(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(a, b)
	}
	return version.Compare(va, vb)
}

// Resolve reads the suites of req from the archive (each InRelease
// verified, each index checked) and computes the installed closure:
// the requested packages at their versions, every Essential package, and
// the Pre-Depends and Depends of all of them, each alternative satisfied
// by what is already chosen or else by its first installable
// alternative. The result is deterministic for the same archive state.
func (c *Client) Resolve(ctx context.Context, req Request) (*Resolution, error) {
	arch := req.Arch
	if arch == "" {
		arch = "amd64"
	}
	comps := req.Components
	if len(comps) == 0 {
		comps = []string{"main"}
	}
	res := &Resolution{}
	primary := newUniverse()
	read := func(u *universe, suite string, optional bool) error {
		rel, err := c.Release(ctx, suite)
		if err != nil {
			if optional && errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		res.Releases = append(res.Releases, rel)
		for _, comp := range comps {
			pkgs, err := c.Packages(ctx, rel, comp, arch)
			if err != nil {
				return err
			}
			u.add(suite, pkgs)
		}
		return nil
	}
	if err := read(primary, req.Suite, false); err != nil {
		return nil, err
	}
	if !req.NoUpdates {
		for _, s := range c.withUpdates(req.Suite)[1:] {
			if err := read(primary, s, true); err != nil {
				return nil, err
			}
		}
	}
	r := &resolver{u: primary, chosen: map[string]Package{}}
	// Requested packages first, so their versions win.
	type want struct {
		u              *universe
		name, ver, sha string
	}
	var wants []want
	for _, s := range req.Packages {
		n, v, sha, err := ParseSpecSHA(s)
		if err != nil {
			return nil, err
		}
		wants = append(wants, want{primary, n, v, sha})
	}
	for _, x := range req.Extra {
		eu := newUniverse()
		if err := read(eu, x.Suite, false); err != nil {
			return nil, err
		}
		r.extra = append(r.extra, eu)
		for _, s := range x.Packages {
			n, v, sha, err := ParseSpecSHA(s)
			if err != nil {
				return nil, err
			}
			wants = append(wants, want{eu, n, v, sha})
		}
	}
	for _, w := range wants {
		p, err := pick(w.u, w.name, w.ver)
		var ve *VersionError
		if errors.As(err, &ve) && w.sha != "" {
			p, err = c.superseded(ctx, w.u, w.name, w.ver, w.sha)
		}
		if err != nil {
			return nil, err
		}
		if w.sha != "" && p.SHA256 != w.sha {
			return nil, fmt.Errorf("%w: %s %s: the recipe pins .deb sha256 %s, the signed index lists %s", ErrChecksum, w.name, w.ver, w.sha, p.SHA256)
		}
		if prev, ok := r.chosen[p.Name]; ok && prev.Version != p.Version {
			return nil, fmt.Errorf("%w: package %s is requested as %s and as %s", ErrInvalid, p.Name, prev.Version, p.Version)
		}
		r.choose(p)
	}
	// The Essential set of the primary suite.
	var essential []string
	for name, cands := range primary.byName {
		if cands[0].Essential {
			essential = append(essential, name)
		}
	}
	sort.Strings(essential)
	for _, n := range essential {
		if _, ok := r.chosen[n]; !ok {
			r.choose(primary.newest(n)[0])
		}
	}
	if err := r.run(); err != nil {
		return nil, err
	}
	for _, p := range r.chosen {
		res.Packages = append(res.Packages, p)
	}
	sort.Slice(res.Packages, func(i, j int) bool { return res.Packages[i].Name < res.Packages[j].Name })
	return res, nil
}

// pick returns name at ver (or newest) from u.
func pick(u *universe, name, ver string) (Package, error) {
	cands := u.newest(name)
	if ver == "" {
		if len(cands) == 0 {
			return Package{}, &VersionError{Package: name, Suites: u.suites}
		}
		return cands[0], nil
	}
	var have []string
	for _, c := range cands {
		if c.Version == ver {
			return c, nil
		}
		have = append(have, c.Version)
	}
	return Package{}, &VersionError{Package: name, Version: ver, Suites: u.suites, Have: dedup(have)}
}

func dedup(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

type resolver struct {
	u      *universe
	extra  []*universe
	chosen map[string]Package
	queue  []Package
}

func (r *resolver) choose(p Package) {
	r.chosen[p.Name] = p
	r.queue = append(r.queue, p)
}

func (r *resolver) run() error {
	for len(r.queue) > 0 {
		p := r.queue[0]
		r.queue = r.queue[1:]
		for _, field := range []string{p.PreDepends, p.Depends} {
			if field == "" {
				continue
			}
			d, err := dependency.Parse(field)
			if err != nil {
				return fmt.Errorf("%w: %s %s: bad dependency field %q: %v", ErrInvalid, p.Name, p.Version, field, err)
			}
			for _, rel := range d.Relations {
				if err := r.satisfy(p, rel); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// satisfied reports whether a chosen package meets pos.
func (r *resolver) satisfied(pos dependency.Possibility) bool {
	if c, ok := r.chosen[pos.Name]; ok && versionOK(c.Version, pos.Version) {
		return true
	}
	for _, c := range r.chosen {
		if providesName(c, pos) {
			return true
		}
	}
	return false
}

func providesName(p Package, pos dependency.Possibility) bool {
	if p.Provides == "" {
		return false
	}
	d, err := dependency.Parse(p.Provides)
	if err != nil {
		return false
	}
	for _, rel := range d.Relations {
		for _, pp := range rel.Possibilities {
			if pp.Name != pos.Name {
				continue
			}
			if pos.Version == nil {
				return true
			}
			// A versioned dependency is met only by a versioned Provides.
			if pp.Version != nil && pp.Version.Operator == "=" && versionOK(pp.Version.Number, pos.Version) {
				return true
			}
		}
	}
	return false
}

func versionOK(have string, rel *dependency.VersionRelation) bool {
	if rel == nil {
		return true
	}
	v, err := version.Parse(have)
	if err != nil {
		return false
	}
	return rel.SatisfiedBy(v)
}

func (r *resolver) satisfy(from Package, rel dependency.Relation) error {
	for _, pos := range rel.Possibilities {
		if r.satisfied(pos) {
			return nil
		}
	}
	for _, u := range append([]*universe{r.u}, r.extra...) {
		for _, pos := range rel.Possibilities {
			if _, taken := r.chosen[pos.Name]; taken {
				continue // a different version is chosen: not this alternative
			}
			for _, c := range u.newest(pos.Name) {
				if versionOK(c.Version, pos.Version) {
					r.choose(c)
					return nil
				}
			}
			// A virtual package: its providers, by name.
			provs := append([]Package(nil), u.provides[pos.Name]...)
			// As apt does: the provider of highest priority, then by name.
			sort.SliceStable(provs, func(i, j int) bool {
				if a, b := priorityRank(provs[i].Priority), priorityRank(provs[j].Priority); a != b {
					return a < b
				}
				return provs[i].Name < provs[j].Name
			})
			for _, c := range provs {
				if providesName(c, pos) {
					if prev, ok := r.chosen[c.Name]; ok && prev.Version != c.Version {
						continue
					}
					r.choose(c)
					return nil
				}
			}
		}
	}
	return fmt.Errorf("%w: %s %s depends on %s, which nothing in %s satisfies", ErrNotFound, from.Name, from.Version, relString(rel), strings.Join(r.u.suites, ", "))
}

func relString(rel dependency.Relation) string {
	var parts []string
	for _, p := range rel.Possibilities {
		s := p.Name
		if p.Version != nil {
			s += " (" + p.Version.Operator + " " + p.Version.Number + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

func priorityRank(p string) int {
	switch p {
	case "required":
		return 0
	case "important":
		return 1
	case "standard":
		return 2
	case "optional":
		return 3
	}
	return 4
}

// superseded finds name=ver in the pool when no index lists it any more
// (a point release replaced it): its pool path is derived from the
// current entry of the same package (same source directory and
// architecture), the file is fetched and accepted only when its sha256
// is sha, and its own control file gives its dependencies.
func (c *Client) superseded(ctx context.Context, u *universe, name, ver, sha string) (Package, error) {
	cur := u.newest(name)
	if len(cur) == 0 {
		return Package{}, &VersionError{Package: name, Version: ver, Suites: u.suites}
	}
	upstream := ver
	if _, after, ok := strings.Cut(ver, ":"); ok {
		upstream = after
	}
	// Every pool directory the package is listed in (the main archive's
	// and the security archive's), newest first.
	var p, filename string
	var ref Package
	var errs []string
	tried := map[string]bool{}
	for _, cand := range cur {
		dir := cand.Filename[:strings.LastIndex(cand.Filename, "/")+1]
		fn := fmt.Sprintf("%s%s_%s_%s.deb", dir, name, upstream, cand.Architecture)
		if tried[cand.Suite+" "+fn] {
			continue
		}
		tried[cand.Suite+" "+fn] = true
		got, err := c.Fetch(ctx, cand.Suite, fn, FileSum{Size: -1, SHA256: sha})
		if err == nil {
			p, filename, ref = got, fn, cand
			break
		}
		if errors.Is(err, ErrChecksum) || ctx.Err() != nil {
			return Package{}, fmt.Errorf("%s %s is in no index of %s; the pool copy %s: %w", name, ver, strings.Join(u.suites, ", "), fn, err)
		}
		errs = append(errs, err.Error())
	}
	if p == "" {
		return Package{}, fmt.Errorf("%w: %s %s is in no index of %s nor in the pool: %s", ErrNotFound, name, ver, strings.Join(u.suites, ", "), strings.Join(errs, "; "))
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Package{}, fmt.Errorf("debian: %w", err)
	}
	f, err := os.Open(p)
	if err != nil {
		return Package{}, fmt.Errorf("debian: %w", err)
	}
	defer f.Close()
	d, err := deb.Load(f, p)
	if err != nil {
		return Package{}, fmt.Errorf("%w: %s: %v", ErrInvalid, filename, err)
	}
	defer d.Close()
	v := d.Control.Paragraph.Values
	if v["Package"] != name || v["Version"] != ver {
		return Package{}, fmt.Errorf("%w: %s holds %s %s, not %s %s", ErrInvalid, filename, v["Package"], v["Version"], name, ver)
	}
	return Package{
		Name: name, Version: ver, Architecture: v["Architecture"], Source: v["Source"],
		Filename: filename, Size: fi.Size(), SHA256: sha,
		Depends: v["Depends"], PreDepends: v["Pre-Depends"], Provides: v["Provides"],
		Essential: v["Essential"] == "yes", Priority: v["Priority"], MultiArch: v["Multi-Arch"],
		Suite: ref.Suite, Root: ref.Root,
	}, nil
}

// withUpdates is suite followed by the suites that update it in place
// (Debian's SUITE-updates and SUITE-security).
func (c *Client) withUpdates(suite string) []string {
	if c.dist.Name != "debian" {
		return []string{suite}
	}
	return []string{suite, suite + "-updates", suite + "-security"}
}
