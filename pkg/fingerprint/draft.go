package fingerprint

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/gitarchive"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/source"
)

// DraftOptions are what a person knows beyond the tarballs.
type DraftOptions struct {
	// Name and Version default to the dist tarball's top directory
	// ("curl-8.14.1/").
	Name, Version string
	// Git is the upstream clone URL and Tag the release tag; the tarballs
	// do not carry them.
	Git, Tag string
	// Repo is a local clone of Git: the tag is resolved there, its commit
	// time compared with the tarball's mtimes, and the -src tarball's
	// prefix and compressor identified (gitarchive.Identify).
	Repo string
	// Src is the fingerprint of the -src tarball (git archive), if any,
	// with SrcPath its file.
	Src     *Fingerprint
	SrcPath string
	// DistURL and SrcURL are where the published copies can be fetched.
	DistURL, SrcURL string
	// DebianURL is a Debian pool URL whose file was checked to have the
	// dist tarball's sha256 (the published copy, from the archive), and
	// Debian the source package it belongs to.
	DebianURL string
	Debian    *recipe.DebianOrig
}

// Draft is a drafted recipe: TOML text with comments for what could not be
// established.
type Draft struct {
	Name, Version string
	TOML          []byte
	// Missing lists what could not be established, one line each.
	Missing []string
}

var topDirRE = regexp.MustCompile(`^(.+?)-v?(\d[A-Za-z0-9._+~]*)/$`)

// NameVersion splits a top directory such as "curl-8.14.1/" or
// "libntlm-v1.8/" into a recipe name (lower case) and version.
func NameVersion(top string) (string, string, bool) {
	m := topDirRE.FindStringSubmatch(top)
	if m == nil {
		return "", "", false
	}
	return strings.ToLower(m[1]), m[2], true
}

// NewDraft writes a draft recipe for the dist tarball described by rep,
// with rep's best environment. Every sha256 is the given files'; what the
// files and o cannot establish becomes a TOML comment, and values the
// recipe requires but nothing established are written as
// recipe.Unresolved (source.commit, env.digest).
func NewDraft(ctx context.Context, rep *Report, o DraftOptions) (*Draft, error) {
	fp := rep.Fingerprint
	d := &Draft{Name: o.Name, Version: o.Version}
	if name, ver, ok := NameVersion(fp.Archive.TopDirectory); ok {
		if d.Name == "" {
			d.Name = name
		}
		if d.Version == "" {
			d.Version = ver
		}
	}
	if d.Name == "" || d.Version == "" {
		return nil, fmt.Errorf("fingerprint: %s: cannot tell the project name and version from its top directory %q: give them", fp.File.Name, fp.Archive.TopDirectory)
	}
	if o.Git == "" || o.Tag == "" {
		return nil, fmt.Errorf("fingerprint: a recipe needs the upstream git URL and the release tag, which a tarball does not carry: give them")
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	missing := func(format string, args ...any) {
		s := fmt.Sprintf(format, args...)
		d.Missing = append(d.Missing, s)
		w("# NOT ESTABLISHED: %s\n", s)
	}
	w("# Draft recipe for %s %s, written by `verify-release recipe new` from\n", d.Name, d.Version)
	w("#   %s (sha256 %s)\n", filepath.Base(fp.File.Name), fp.File.SHA256)
	if o.Src != nil {
		w("#   %s (sha256 %s)\n", filepath.Base(o.Src.File.Name), o.Src.File.SHA256)
	}
	w("# Values come from these files and the options given; what could not be\n")
	w("# established is a comment starting with NOT ESTABLISHED.\n")
	w("# Check: verify-release recipe check %s/%s.toml\n", d.Name, d.Version)
	w("name = %s\nversion = %s\n", q(d.Name), q(d.Version))

	// [source]
	w("\n[source]\ngit = %s\ntag = %s\n", q(o.Git), q(o.Tag))
	commit, how := "", ""
	var commitTime time.Time
	if o.Repo != "" {
		c, err := source.ResolveTag(ctx, o.Repo, o.Tag)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: resolving tag %s in %s: %w", o.Tag, o.Repo, err)
		}
		t, err := source.CommitTime(ctx, o.Repo, c)
		if err != nil {
			return nil, fmt.Errorf("fingerprint: %w", err)
		}
		commit, how, commitTime = c, "tag "+o.Tag+" resolved in "+o.Repo, t
	} else if o.Src != nil && o.Src.Archive.GitCommit != "" {
		commit, how = o.Src.Archive.GitCommit, "the pax global header of "+filepath.Base(o.Src.File.Name)+" (git archive)"
	} else if fp.Archive.GitCommit != "" {
		commit, how = fp.Archive.GitCommit, "the pax global header of "+filepath.Base(fp.File.Name)+" (git archive)"
	}
	if commit == "" {
		missing("the commit of tag %s: no clone given (--repo) and no git archive commit id in the tarballs", o.Tag)
		w("commit = %s\n", q(recipe.Unresolved))
	} else {
		w("# from %s\ncommit = %s\n", how, q(commit))
	}

	// [env]
	d.writeEnv(&b, rep, missing)

	// [artifacts.src]
	if o.Src != nil {
		if err := d.writeSrc(ctx, &b, o, missing); err != nil {
			return nil, err
		}
	}

	// [artifacts.dist]
	d.writeDist(&b, fp, o, commit, commitTime, missing)
	d.TOML = []byte(b.String())
	return d, nil
}

func (d *Draft) writeEnv(b *strings.Builder, rep *Report, missing func(string, ...any)) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	fp := rep.Fingerprint
	w("\n[env]\n")
	var ev []string
	for _, e := range fp.Evidence {
		if e.Compared && e.Tool != ToolReleaseTools {
			ev = append(ev, fmt.Sprintf("%s %s (%s:%d)", e.Tool, e.Value, relName(e.Member), e.Line))
		}
	}
	if len(ev) > 0 {
		w("# Evidence: %s.\n", strings.Join(ev, ", "))
	}
	rk := rep.Ranking
	var best *Candidate
	if rk != nil && rk.Compared > 0 && len(rk.Candidates) > 0 {
		best = &rk.Candidates[0]
		if rk.Exact {
			w("# Best environment: %s, no mismatch (%d match, %d near).\n", best.Env.Name, best.Matches, best.Near)
		} else {
			w("# No known environment matches every piece of evidence; closest: %s (%d match, %d near, %d mismatch).\n",
				best.Env.Name, best.Matches, best.Near, best.Mismatches)
			for _, ro := range rk.RuledOut {
				w("#   ruled out: %s (%s:%d)\n", ro.Reason, relName(ro.Member), ro.Line)
			}
		}
		if best.Env.Distro != "debian" && best.Env.Distro != "ubuntu" {
			w("# Its archive form (for a distribution recipes cannot build from yet):\n")
			for _, line := range strings.Split(strings.TrimSuffix(rep.Env, "\n"), "\n") {
				w("#   %s\n", line)
			}
		}
	}
	if best != nil && (best.Env.Distro == "debian" || best.Env.Distro == "ubuntu") {
		// The Debian-archive form: exact packages, locked by 'pin'.
		w("distro = %s\nsuite = %s\n", q(best.Env.Distro), q(best.Env.Suite))
		d.writePackages(b, fp, best, true)
		d.writeTools(b, fp)
		return
	}
	// The image: a base image pinned by digest in the tarball itself, if
	// it is the best environment's suite; else the suite's official image,
	// unresolved.
	image, from := "", ""
	for _, e := range fp.Evidence {
		if e.Tool == ToolBaseImage && (best == nil || strings.Contains(e.Value, ":"+best.Env.Suite)) {
			image, from = e.Value, fmt.Sprintf("%s:%d", relName(e.Member), e.Line)
			break
		}
	}
	switch {
	case image != "":
		w("# from %s\nimage = %s\n", from, q(image))
	case best != nil && (best.Env.Distro == "debian" || best.Env.Distro == "ubuntu"):
		ref := officialImage(best.Env)
		missing("the digest of %s: resolve it with 'verify-release pin'", ref)
		w("image = %s\ndigest = %s\n", q(ref), q(recipe.Unresolved))
	default:
		missing("the build environment: no distribution image is known for the evidence")
		w("image = %s\ndigest = %s\n", q("debian:stable"), q(recipe.Unresolved))
	}
	if best == nil {
		missing("the packages of the build environment: no generator versions in the tarball")
		return
	}
	d.writePackages(b, fp, best, false)
	d.writeTools(b, fp)
}

// writePackages writes env.packages for the best candidate: matched
// versions exact; a near match (another point release)
// bare (pin resolves it against the indexes, which list only current
// point releases) with the tarball's version as a comment; a mismatch
// bare with a comment.
func (d *Draft) writePackages(b *strings.Builder, fp *Fingerprint, best *Candidate, archive bool) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	var pkgs []string
	seen := map[string]bool{}
	var notes []string
	for _, k := range best.Checks {
		if seen[k.Package] {
			continue
		}
		switch k.Result {
		case Match:
			seen[k.Package] = true
			pkgs = append(pkgs, k.Package+"="+k.Has)
		case Near:
			seen[k.Package] = true
			exact := ""
			if k.Tool == ToolReleaseTools {
				_, exact, _ = strings.Cut(k.Evidence, "=")
			} else if i := strings.Index(k.Evidence, " Debian-"); k.Tool == ToolLibtool && i >= 0 {
				exact = k.Evidence[i+len(" Debian-"):]
			}
			if archive && exact != "" {
				// The suite's indexes list only current point releases
				// (and updates); 'pin' resolves the bare name to one.
				pkgs = append(pkgs, k.Package)
				notes = append(notes, fmt.Sprintf("# NOT ESTABLISHED: %s=%s as the tarball names it: %s; left to 'pin', which resolves the current one", k.Package, exact, k.Note))
				d.Missing = append(d.Missing, fmt.Sprintf("%s=%s (a superseded point release; %s has %s)", k.Package, exact, best.Env.Suite, k.Has))
			} else {
				pkgs = append(pkgs, k.Package)
				notes = append(notes, fmt.Sprintf("# %s: the tarball names %s; %s", k.Package, k.Evidence, k.Note))
			}
		case Mismatch:
			// The tool is still needed; its version is not established.
			seen[k.Package] = true
			pkgs = append(pkgs, k.Package)
			notes = append(notes, fmt.Sprintf("# NOT ESTABLISHED: %s as the tarball has it (%s): %s", k.Package, k.Evidence, k.Note))
			d.Missing = append(d.Missing, fmt.Sprintf("%s %s is not in %s", k.Package, k.Evidence, best.Env.Name))
		}
	}
	// What building needs beyond the generators, each with where it
	// was read; a package already listed is not repeated.
	needs := buildNeeds(fp)
	var from []string
	byFrom := map[string][]string{}
	for _, n := range needs {
		if seen[n.pkg] {
			continue
		}
		seen[n.pkg] = true
		pkgs = append(pkgs, n.pkg)
		if _, ok := byFrom[n.from]; !ok {
			from = append(from, n.from)
		}
		byFrom[n.from] = append(byFrom[n.from], n.pkg)
	}
	if !seen["make"] {
		pkgs = append(pkgs, "make")
	}
	for _, n := range notes {
		w("%s\n", n)
	}
	for _, f := range from {
		w("# %s: %s\n", f, strings.Join(byFrom[f], ", "))
	}
	if !hasTool(fp, ToolBuildDeps) {
		w("# NOT ESTABLISHED: the project's own build dependencies (libraries) are not in the tarball's evidence (no Dockerfile apt-get install).\n")
	}
	w("packages = [%s]\n", qlist(pkgs))
}

// need is a package the build needs and the evidence that says so.
type need struct{ pkg, from string }

// cToolchain is what a configure script's C compiler check needs in a
// Debian environment: the compiler, libc's headers and make.
var cToolchain = []string{"gcc", "libc6-dev", "make"}

// scriptPackages are the Debian packages of the programs a release script
// runs (sh is dash, which every Debian root has).
var scriptPackages = map[string]string{"gzip": "gzip", "bzip2": "bzip2", "xz": "xz-utils", "zip": "zip",
	"tar": "tar", "zstd": "zstd", "bash": "bash", "perl": "perl"}

// buildNeeds derives packages from the tarball's build evidence: the
// compilers configure checks for, the packages a shipped Dockerfile
// installs (build-essential resolved to the toolchain configure checks
// for: dpkg-dev builds .debs, g++ only if configure checks for C++) and
// the programs the release script runs.
func buildNeeds(fp *Fingerprint) []need {
	var out []need
	cxx := false
	for _, e := range fp.Evidence {
		if e.Tool == ToolCompiler && e.Value == "C++" {
			cxx = true
		}
	}
	toolchain := func(from string, withCXX bool) {
		for _, p := range cToolchain {
			out = append(out, need{p, from})
		}
		if withCXX {
			out = append(out, need{"g++", from})
		}
	}
	for _, e := range fp.Evidence {
		at := fmt.Sprintf("%s:%d", relName(e.Member), e.Line)
		switch e.Tool {
		case ToolCompiler:
			toolchain(at+" checks for a "+e.Value+" compiler", e.Value == "C++")
		case ToolBuildDeps:
			from := at + " apt-get install"
			if e.Value != "build-essential" {
				out = append(out, need{e.Value, from})
				continue
			}
			from += " build-essential (for configure its C toolchain; dpkg-dev is for building .debs"
			if !cxx {
				from += ", g++ unused: configure checks for no C++ compiler"
			}
			toolchain(from+")", cxx)
		case ToolScriptUses:
			if p, ok := scriptPackages[e.Value]; ok {
				out = append(out, need{p, at + " runs " + e.Value})
			}
		}
	}
	return out
}

func hasTool(fp *Fingerprint, tool string) bool {
	for _, e := range fp.Evidence {
		if e.Tool == tool {
			return true
		}
	}
	return false
}

// writeTools writes [env.tools]: the versions probed before the build.
func (d *Draft) writeTools(b *strings.Builder, fp *Fingerprint) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	tools := map[string]string{}
	for _, e := range fp.Evidence {
		if !e.Compared || e.Build != nil && e.Build.Kind == "development" {
			continue
		}
		switch e.Tool {
		case ToolAutoconf, ToolAutomake, ToolGettext:
			if _, ok := tools[e.Tool]; !ok {
				tools[e.Tool] = e.Version
			}
		case ToolLibtool:
			tools["libtool"] = e.Version
			tools["ltmain"] = e.Value
		}
	}
	if len(tools) > 0 {
		w("\n[env.tools]\n# from the generated files (the evidence above)\n")
		var names []string
		for n := range tools {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			w("%s = %s\n", n, q(tools[n]))
		}
	}
}

// officialImage names the distribution's image of an environment's suite.
func officialImage(env Environment) string {
	switch env.Distro {
	case "ubuntu":
		if v, ok := ubuntuVersions[env.Suite]; ok {
			return "docker.io/library/ubuntu:" + v
		}
		return "docker.io/library/ubuntu:" + env.Suite
	}
	return "docker.io/library/debian:" + env.Suite
}

var ubuntuVersions = map[string]string{"focal": "20.04", "jammy": "22.04", "noble": "24.04"}

func (d *Draft) writeSrc(ctx context.Context, b *strings.Builder, o DraftOptions, missing func(string, ...any)) error {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	src := o.Src
	w("\n# The git-archive tarball.\n[artifacts.src]\n")
	w("file = %s\nsha256 = %s\nmethod = \"git-archive\"\n", q(filepath.Base(src.File.Name)), q(src.File.SHA256))
	prefix, compress, level := src.Archive.TopDirectory, "", 0
	how := "its top directory"
	if o.Repo != "" && o.SrcPath != "" {
		id, err := gitarchive.Identify(ctx, o.Repo, o.Tag, o.SrcPath)
		if err != nil {
			return fmt.Errorf("fingerprint: identifying %s: %w", o.SrcPath, err)
		}
		if id.Match != nil {
			prefix, compress, level = id.Match.Prefix, id.Match.Compression, id.Match.Level
			how = "gitarchive.Identify against tag " + o.Tag + " in " + o.Repo + ": reproduced byte for byte"
		} else if id.TarMatch != nil {
			prefix = id.TarMatch.Prefix
			how = "gitarchive.Identify: same tar stream, but no known compressor reproduces the file"
		} else {
			missing("a git archive of tag %s in %s that gives %s's tar stream (prefixes tried: %d)", o.Tag, o.Repo, filepath.Base(o.SrcPath), len(id.Tried))
		}
	}
	if compress == "" {
		// Scan's identification (pkg/deflate): GNU gzip without
		// --rsyncable is gzip-n, zlib is git's internal gzip.
		for _, m := range src.Compression.Matches {
			if len(m.HeaderDifferences) > 0 {
				continue
			}
			switch {
			case m.Compressor == "gnu-gzip" && !m.Rsyncable:
				compress, level = gitarchive.CompressGzipN, m.Level
			case m.Compressor == "zlib":
				compress, level = gitarchive.CompressGitInternal, m.Level
			default:
				continue
			}
			how = "its top directory and pkg/deflate's identification: " + m.String()
			break
		}
	}
	if src.Compression.Format == "none" {
		compress = gitarchive.CompressNone
	}
	w("# prefix and compressor from %s\n", how)
	if prefix == "" {
		missing("the archive prefix: %s has no single top directory", filepath.Base(src.File.Name))
		prefix = d.Name + "-" + d.Version + "/"
	}
	w("prefix = %s\n", q(prefix))
	switch {
	case compress == "":
		missing("the compressor of %s: no git archive compressor (gzip -n, git's internal gzip) reproduces it", filepath.Base(src.File.Name))
	case compress == gitarchive.CompressNone:
		w("compress = \"none\"\n")
	default:
		w("compress = %s\n", q(compress))
		if compress == gitarchive.CompressGzipN && level > 0 && level != 6 {
			w("level = %d\n", level)
		}
	}
	if o.SrcURL != "" {
		w("url = %s\n", q(o.SrcURL))
	}
	return nil
}

func (d *Draft) writeDist(b *strings.Builder, fp *Fingerprint, o DraftOptions, commit string, commitTime time.Time, missing func(string, ...any)) {
	if o.Repo == "" && fp.Generated {
		d.writeDistFromDist(b, fp, o, missing)
		return
	}
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("\n# The make dist tarball.\n[artifacts.dist]\n")
	file := filepath.Base(fp.File.Name)
	ext := map[string]string{"gzip": ".tar.gz", "xz": ".tar.xz", "bzip2": ".tar.bz2", "zstd": ".tar.zst", "none": ".tar"}[fp.Compression.Format]
	upstream := strings.TrimSuffix(fp.Archive.TopDirectory, "/") + ext
	if strings.Contains(file, ".orig.tar") && fp.Archive.TopDirectory != "" {
		w("# %s is Debian's name for upstream's %s\n", file, upstream)
		file = upstream
	}
	w("file = %s\nsha256 = %s\nmethod = \"build\"\n", q(file), q(fp.File.SHA256))
	m := fp.Archive.MTime
	switch {
	case !commitTime.IsZero() && m.Policy == "single" && m.CandidateUnix == commitTime.Unix():
		w("# every member has the commit time of %s (@%d)\nmtime = \"commit\"\n", commit, m.CandidateUnix)
	case !commitTime.IsZero():
		missing("the mtime policy: the members' mtimes (%s, newest @%d) are not the commit time @%d", m.Policy, m.CandidateUnix, commitTime.Unix())
	default:
		missing("the mtime policy: the members' mtimes are %s (candidate @%d = %s), not compared with a commit time (no clone)",
			m.Policy, m.CandidateUnix, m.Candidate.Format(time.RFC3339))
	}
	boot := "autoreconf -fi"
	for _, e := range fp.Evidence {
		if e.Tool == ToolGnulib && strings.HasPrefix(e.What, "bootstrap.conf") {
			boot = "./bootstrap"
		}
	}
	missing("the release commands: a tarball does not record them; these are the usual autotools steps")
	w("commands = [%s]\n", qlist([]string{boot, "./configure", "make dist"}))
	if upstream != "" && upstream != ext {
		w("output = %s\n", q(upstream))
	}
	d.writePublished(b, o, missing)
}

// writeDistFromDist drafts a build that starts from the published dist
// tarball itself (from = "dist"): its generated files are already there,
// so configure and make dist re-create it, with SOURCE_DATE_EPOCH the
// newest member mtime (what the runner uses without git history).
func (d *Draft) writeDistFromDist(b *strings.Builder, fp *Fingerprint, o DraftOptions, missing func(string, ...any)) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("\n# The make dist tarball, re-created from itself (no clone given).\n[artifacts.dist]\n")
	file, upstream := distNames(fp)
	if file != filepath.Base(fp.File.Name) {
		w("# %s is Debian's name for upstream's %s\n", filepath.Base(fp.File.Name), file)
	}
	w("file = %s\nsha256 = %s\nmethod = \"build\"\nfrom = \"dist\"\n", q(file), q(fp.File.SHA256))
	m := fp.Archive.MTime
	sde, sdeFrom := int64(0), ""
	for _, e := range fp.Evidence {
		if e.Tool == ToolSourceDateEpoch {
			if v, err := strconv.ParseInt(e.Value, 10, 64); err == nil && v > 0 && v <= 253402300799 {
				sde, sdeFrom = v, fmt.Sprintf("%s:%d", relName(e.Member), e.Line)
				break
			}
		}
	}
	switch m.Policy {
	case "single":
		w("# every member has mtime @%d, the newest, which a build from the tarball takes as SOURCE_DATE_EPOCH\nmtime = \"commit\"\n", m.CandidateUnix)
	case "clamped", "per-file":
		w("# members keep their own mtimes (%s, newest @%d)\nmtime = \"none\"\n", m.Policy, m.CandidateUnix)
	}
	if sde != 0 {
		same := ""
		if sde == m.CandidateUnix {
			same = ", the newest member mtime too"
		}
		w("# the release procedure's SOURCE_DATE_EPOCH (%s%s)\nsource_date_epoch = %d\n", sdeFrom, same, sde)
	}
	cmds, notes, ok := d.releaseCommands(fp)
	for _, n := range notes {
		w("# %s\n", n)
	}
	if !ok {
		if hasTool(fp, ToolDistTarget) {
			missing("the release commands: a tarball does not record them; these are the usual steps from a dist tarball (Makefile.in has the dist target)")
		} else {
			missing("the release commands: a tarball does not record them; these are the usual steps from a dist tarball")
		}
		cmds = []string{"./configure", "make dist"}
	}
	w("commands = [%s]\n", qlist(cmds))
	if upstream != "" {
		w("output = %s\n", q(upstream))
	}
	d.writePublished(b, o, missing)
}

// releaseCommands are the release steps the tarball documents: those of
// its release notes (RELEASE-TOOLS.md) with their placeholders filled —
// "[version]" is the release's version, "[...]" the options of the same
// command in the Dockerfile's usage comments — or else the Dockerfile's
// commands, a version in them other than the release's replaced by it.
// ok is false when there are none, or a placeholder cannot be filled.
func (d *Draft) releaseCommands(fp *Fingerprint) (cmds, notes []string, ok bool) {
	var doc, dock []Evidence
	for _, e := range fp.Evidence {
		switch {
		case e.Tool == ToolReleaseStep && e.What == WhatDocStep:
			doc = append(doc, e)
		case e.Tool == ToolReleaseStep && e.What == WhatDockerRun:
			dock = append(dock, e)
		}
	}
	at := func(e Evidence) string { return fmt.Sprintf("%s:%d", relName(e.Member), e.Line) }
	steps := doc
	if len(steps) == 0 {
		steps = dock
	}
	if len(steps) == 0 {
		return nil, nil, false
	}
	for _, e := range steps {
		c, from := e.Value, at(e)
		if strings.Contains(c, "[...]") {
			prog := strings.Fields(c)[0]
			filled := false
			for _, x := range dock {
				if strings.Fields(x.Value)[0] == prog {
					c, from, filled = x.Value, from+" with the options of "+at(x), true
					break
				}
			}
			if !filled {
				notes = append(notes, fmt.Sprintf("NOT ESTABLISHED: the options of %q (%s)", c, from))
				d.Missing = append(d.Missing, fmt.Sprintf("the options of %q (%s)", c, from))
				return nil, notes, false
			}
		}
		if strings.Contains(c, "[version]") {
			c = strings.ReplaceAll(c, "[version]", d.Version)
			from += ", [version] = " + d.Version
		} else if e.What == WhatDockerRun {
			w := strings.Fields(c)
			for i, x := range w[1:] {
				if versionArgRE.MatchString(x) && x != d.Version {
					w[i+1] = d.Version
					from += fmt.Sprintf(", its example version %s = %s", x, d.Version)
				}
			}
			c = strings.Join(w, " ")
		}
		cmds = append(cmds, c)
		notes = append(notes, fmt.Sprintf("%s: %s", from, c))
	}
	notes = append([]string{"the release steps the tarball documents:"}, notes...)
	for i := 1; i < len(notes); i++ {
		notes[i] = "  " + notes[i]
	}
	return cmds, notes, true
}

var versionArgRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)*$`)

func distNames(fp *Fingerprint) (file, upstream string) {
	file = filepath.Base(fp.File.Name)
	ext := map[string]string{"gzip": ".tar.gz", "xz": ".tar.xz", "bzip2": ".tar.bz2", "zstd": ".tar.zst", "none": ".tar"}[fp.Compression.Format]
	if fp.Archive.TopDirectory != "" {
		upstream = strings.TrimSuffix(fp.Archive.TopDirectory, "/") + ext
	}
	if strings.Contains(file, ".orig.tar") && upstream != "" {
		file = upstream
	}
	return file, upstream
}

func (d *Draft) writePublished(b *strings.Builder, o DraftOptions, missing func(string, ...any)) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if o.DistURL != "" {
		w("url = %s\n", q(o.DistURL))
	}
	if o.Debian != nil {
		w("# the published copy: Debian's orig tarball (%s), checked to have this sha256\n", o.DebianURL)
		w("debian = { suite = %s, source = %s, version = %s }\n", q(o.Debian.Suite), q(o.Debian.Source), q(o.Debian.Version))
	} else if o.DebianURL != "" && o.DistURL == "" {
		w("# Debian's orig tarball, checked to have this sha256\nurl = %s\n", q(o.DebianURL))
	}
	if o.DistURL == "" && o.DebianURL == "" {
		missing("where the published dist tarball can be fetched (--url or --debian)")
	}
}

// q quotes s as a TOML basic string.
func q(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func qlist(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return strings.Join(out, ", ")
}
