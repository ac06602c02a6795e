package fingerprint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is a fingerprint with its environment ranking, as the
// fingerprint command prints it.
type Report struct {
	Fingerprint *Fingerprint `json:"fingerprint"`
	// Ranking is nil when no environments were compared.
	Ranking *Ranking `json:"ranking,omitempty"`
	// Env is the [env] block of the best candidate (EnvBlock), empty when
	// there is none.
	Env string `json:"env,omitempty"`
}

// NewReport ranks envs for fp and drafts the best candidate's [env] block.
func NewReport(fp *Fingerprint, envs []Environment) *Report {
	r := &Report{Fingerprint: fp}
	if len(envs) == 0 {
		return r
	}
	r.Ranking = Rank(fp, envs)
	if len(r.Ranking.Candidates) > 0 && r.Ranking.Compared > 0 {
		r.Env = EnvBlock(&r.Ranking.Candidates[0])
	}
	return r
}

// WriteJSON writes the report as one indented JSON document
// (docs/fingerprint.md).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Schema string `json:"schema"`
		*Report
	}{Schema, r})
}

var mark = map[string]string{Match: "✓", Near: "≈", Mismatch: "✗", Unknown: "?"}

// WriteText writes the report for people; top is how many candidates to
// show (0: all).
func (r *Report) WriteText(w io.Writer, top int) error {
	b := bufio.NewWriter(w)
	fp := r.Fingerprint
	fmt.Fprintf(b, "%s: %d bytes, sha256 %s\n", fp.File.Name, fp.File.Size, fp.File.SHA256)
	fmt.Fprintf(b, "\nEvidence:\n")
	if len(fp.Evidence) == 0 {
		fmt.Fprintf(b, "  none: no generator left its version in a member\n")
	}
	for _, e := range fp.Evidence {
		more := ""
		if e.Count > 1 {
			more = fmt.Sprintf(" (and %d more members)", e.Count-1)
		}
		fmt.Fprintf(b, "  %-13s %-24s %s:%d%s\n", e.Tool, e.Value, e.Member, e.Line, more)
	}
	a := &fp.Archive
	fmt.Fprintf(b, "\nArchive:\n")
	fmt.Fprintf(b, "  format        %s, %d members (%d files, %d directories, %d symlinks, %d hardlinks), top directory %q\n",
		strings.Join(a.Formats, "+"), a.Members, a.Regular, a.Directories, a.Symlinks, a.Hardlinks, a.TopDirectory)
	if a.GitCommit != "" {
		fmt.Fprintf(b, "  git commit    %s (pax global header comment)\n", a.GitCommit)
	}
	var owners []string
	for i, o := range a.Owners {
		if i == 3 {
			owners = append(owners, fmt.Sprintf("%d more", len(a.Owners)-3))
			break
		}
		owners = append(owners, fmt.Sprintf("%d/%d %q/%q ×%d", o.UID, o.GID, o.Uname, o.Gname, o.Members))
	}
	fmt.Fprintf(b, "  owners        %s\n", strings.Join(owners, ", "))
	var modes []string
	for i, m := range a.Modes {
		if i == 4 {
			modes = append(modes, fmt.Sprintf("%d more", len(a.Modes)-4))
			break
		}
		modes = append(modes, fmt.Sprintf("%s %s ×%d", m.Type, m.Mode, m.Members))
	}
	fmt.Fprintf(b, "  modes         %s: %s\n", a.ModePolicy, strings.Join(modes, ", "))
	fmt.Fprintf(b, "  order         %s\n", a.Order)
	m := a.MTime
	fmt.Fprintf(b, "  mtimes        %s: %d distinct, %s .. %s; candidate %s = @%d\n", m.Policy, m.Distinct,
		m.Min.Format(time.RFC3339), m.Max.Format(time.RFC3339), m.Candidate.Format(time.RFC3339), m.CandidateUnix)
	fmt.Fprintf(b, "  tar           %d bytes, record size %d, %d end-marker blocks, %d trailing bytes\n",
		a.TarSize, a.RecordSize, a.EndMarkerBlocks, a.TrailingBytes)
	c := fp.Compression
	fmt.Fprintf(b, "  compression   %s, %d bytes", c.Format, c.Size)
	switch {
	case c.Gzip != nil:
		fmt.Fprintf(b, "; gzip MTIME %d, XFL %d (level %s), OS %d (%s)", c.Gzip.MTime, c.Gzip.XFL, c.Gzip.Level, c.Gzip.OS, c.Gzip.OSName)
		if c.Gzip.Name != "" {
			fmt.Fprintf(b, ", FNAME %q", c.Gzip.Name)
		}
	case c.XZ != nil:
		fmt.Fprintf(b, "; xz check %s", c.XZ.Check)
		if c.XZ.DictSize > 0 {
			fmt.Fprintf(b, ", dictionary %d MiB (preset %s)", c.XZ.DictSize>>20, c.XZ.Preset)
		}
		if c.XZ.SizesInHeader {
			fmt.Fprintf(b, ", sizes in block headers (xz -T)")
		}
	case c.Bzip2 != nil:
		fmt.Fprintf(b, "; bzip2 -%d", c.Bzip2.Level)
	}
	fmt.Fprintln(b)
	if c.Identified {
		if len(c.Matches) > 0 {
			var names []string
			for _, m := range c.Matches {
				names = append(names, m.String())
			}
			fmt.Fprintf(b, "  compressor    %s\n", strings.Join(names, "; "))
		} else {
			fmt.Fprintf(b, "  compressor    not reproduced by any known compressor (pkg/deflate)\n")
		}
	}
	fmt.Fprintf(b, "\nConclusions:\n")
	for _, s := range fp.Conclusions {
		fmt.Fprintf(b, "  - %s\n", s)
	}
	if rk := r.Ranking; rk != nil {
		r.writeRanking(b, top)
	}
	return b.Flush()
}

func (r *Report) writeRanking(b *bufio.Writer, top int) {
	rk := r.Ranking
	fmt.Fprintf(b, "\nEnvironments (%d compared on %d pieces of evidence):\n", len(rk.Candidates), rk.Compared)
	if rk.Compared == 0 {
		fmt.Fprintf(b, "  nothing to compare: no generator versions in the members\n")
		return
	}
	for i, c := range rk.Candidates {
		if top > 0 && i == top {
			fmt.Fprintf(b, "  ... %d more (--top 0 shows all)\n", len(rk.Candidates)-top)
			break
		}
		fmt.Fprintf(b, "  %d. %s: %d match, %d near, %d mismatch", i+1, c.Env.Name, c.Matches, c.Near, c.Mismatches)
		if c.Unknown > 0 {
			fmt.Fprintf(b, ", %d unknown", c.Unknown)
		}
		fmt.Fprintf(b, "  [%s]\n", c.Env.Source)
		var parts []string
		for _, k := range c.Checks {
			s := fmt.Sprintf("%s %s %s", checkLabel(k), k.Evidence, mark[k.Result])
			if k.Note != "" {
				s += " (" + k.Note + ")"
			}
			parts = append(parts, s)
		}
		for _, p := range parts {
			fmt.Fprintf(b, "       %s\n", p)
		}
	}
	if rk.Exact {
		fmt.Fprintf(b, "\nBest match: %s, no mismatch.\n", rk.Candidates[0].Env.Name)
	} else {
		fmt.Fprintf(b, "\nNo known environment matches every piece of evidence.\n")
	}
	if len(rk.RuledOut) > 0 {
		fmt.Fprintf(b, "Ruled out for every known environment:\n")
		for _, ro := range rk.RuledOut {
			fmt.Fprintf(b, "  - %s (%s:%d)\n", ro.Reason, ro.Member, ro.Line)
		}
	}
	if r.Env != "" {
		fmt.Fprintf(b, "\n[env] block for %s (Debian-archive form; paste into the recipe):\n%s", rk.Candidates[0].Env.Name, r.Env)
	}
}

func checkLabel(k Check) string {
	if k.Tool == ToolReleaseTools {
		return "release-tools:"
	}
	return k.Tool
}

// EnvBlock drafts the Debian-archive [env] block (distro, suite, exact
// packages) of a candidate: every package whose version matched is pinned
// to it; a point-release difference pins the version the tarball names
// (still in the pool, usually); mismatches become comments.
func EnvBlock(c *Candidate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[env]\n")
	fmt.Fprintf(&b, "distro = %q\n", c.Env.Distro)
	fmt.Fprintf(&b, "suite = %q\n", c.Env.Suite)
	var pkgs, notes []string
	seen := map[string]bool{}
	add := func(p string) {
		name, _, _ := strings.Cut(p, "=")
		if !seen[name] {
			seen[name] = true
			pkgs = append(pkgs, p)
		}
	}
	// The release-tools manifest is exact; it goes first.
	for pass := 0; pass < 2; pass++ {
		for _, k := range c.Checks {
			if (k.Tool == ToolReleaseTools) != (pass == 0) {
				continue
			}
			want := k.Has
			if k.Tool == ToolReleaseTools {
				_, want, _ = strings.Cut(k.Evidence, "=")
			} else if k.Tool == ToolLibtool && k.Result == Near {
				if i := strings.Index(k.Evidence, " Debian-"); i >= 0 {
					want = k.Evidence[i+len(" Debian-"):]
				}
			}
			switch k.Result {
			case Match, Near:
				add(k.Package + "=" + want)
			case Mismatch:
				if !seen[k.Package] {
					notes = append(notes, fmt.Sprintf("# %s: the tarball has %s (%s:%d); %s", k.Package, k.Evidence, k.Member, k.Line, k.Note))
				}
			}
		}
	}
	if !seen["make"] {
		add("make")
	}
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	fmt.Fprintf(&b, "packages = [")
	for i, p := range pkgs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", p)
	}
	b.WriteString("]\n")
	return b.String()
}
