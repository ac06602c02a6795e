package fingerprint

import (
	"fmt"
	"strings"
	"time"
)

// conclusions turns the facts into sentences, in a fixed order.
func conclusions(fp *Fingerprint) []string {
	var out []string
	a := &fp.Archive
	if fp.Generated {
		var tools []string
		seen := map[string]bool{}
		for _, e := range fp.Evidence {
			if e.Compared && e.Tool != ToolReleaseTools && !seen[e.Tool] {
				seen[e.Tool] = true
				tools = append(tools, e.Tool+" "+e.Value)
			}
		}
		out = append(out, "a make dist tarball with generated files: "+strings.Join(tools, ", "))
	} else {
		out = append(out, "no generated files (configure, Makefile.in, aclocal.m4, ltmain.sh): a git archive or a plain tar of a source tree")
	}
	if a.GitCommit != "" {
		s := "git archive of commit " + a.GitCommit + " (pax global header)"
		if a.MTime.Policy == "single" {
			s += ", mtime " + a.MTime.Candidate.Format(time.RFC3339) + " (the commit's committer time)"
		}
		out = append(out, s)
	}
	for _, e := range fp.Evidence {
		if e.Build == nil {
			continue
		}
		switch e.Build.Kind {
		case "distro":
			out = append(out, fmt.Sprintf("%s %s is a %s package build, version %s (%s:%d)", e.Tool, e.Version, e.Build.Distro, e.Build.Package, e.Member, e.Line))
		case "development":
			s := fmt.Sprintf("%s %s is a development build from a git checkout", e.Tool, e.Value)
			if e.Build.Revision != "" {
				s += " (revision " + e.Build.Revision + ")"
			}
			if e.Build.Dirty {
				s += " with uncommitted changes (-dirty)"
			}
			out = append(out, s+fmt.Sprintf(": no distribution ships it (%s:%d)", e.Member, e.Line))
		}
	}
	for _, e := range fp.Evidence {
		if e.Tool == ToolBaseImage {
			out = append(out, fmt.Sprintf("a Dockerfile names the base image %s (%s:%d)", e.Value, e.Member, e.Line))
		}
	}
	m := a.MTime
	switch m.Policy {
	case "single":
		out = append(out, fmt.Sprintf("every member has mtime %s (unix %d): git archive's commit time, or tar --mtime", m.Candidate.Format(time.RFC3339), m.CandidateUnix))
	case "clamped":
		out = append(out, fmt.Sprintf("%d of %d members have the newest mtime %s (unix %d), the rest are older: tar --clamp-mtime --mtime=@%d (SOURCE_DATE_EPOCH candidate)",
			m.ModeMembers, a.Members, m.Candidate.Format(time.RFC3339), m.CandidateUnix, m.CandidateUnix))
	case "per-file":
		out = append(out, fmt.Sprintf("members keep their own mtimes (%d distinct, %s to %s): a tree's file times, newest %d",
			m.Distinct, m.Min.Format(time.RFC3339), m.Max.Format(time.RFC3339), m.CandidateUnix))
	}
	switch a.Order {
	case "bytewise":
		out = append(out, "members are in bytewise path order (git archive, or tar --sort=name)")
	case "by-component":
		out = append(out, "members are sorted per directory (GNU tar --sort=name)")
	default:
		out = append(out, "members are in directory order (tar without --sort, as make dist runs it)")
	}
	if len(a.Owners) == 1 {
		o := a.Owners[0]
		s := fmt.Sprintf("one owner for all members: %d/%d", o.UID, o.GID)
		if o.Uname != "" || o.Gname != "" {
			s += fmt.Sprintf(" (%s/%s)", o.Uname, o.Gname)
		} else {
			s += " with no names (tar --numeric-owner)"
		}
		out = append(out, s)
	} else if len(a.Owners) > 1 {
		out = append(out, fmt.Sprintf("%d different owners: not normalized", len(a.Owners)))
	}
	out = append(out, "permission modes: "+a.ModePolicy)
	c := fp.Compression
	switch {
	case c.Gzip != nil:
		s := fmt.Sprintf("gzip header: MTIME %d, XFL %d (level %s), OS %d (%s)", c.Gzip.MTime, c.Gzip.XFL, c.Gzip.Level, c.Gzip.OS, c.Gzip.OSName)
		if c.Gzip.Name != "" {
			s += ", FNAME " + c.Gzip.Name
		}
		out = append(out, s)
	case c.XZ != nil:
		s := "xz: check " + c.XZ.Check
		if c.XZ.DictSize > 0 {
			s += fmt.Sprintf(", dictionary %d MiB (preset %s)", c.XZ.DictSize>>20, c.XZ.Preset)
		}
		if c.XZ.SizesInHeader {
			s += ", block sizes in headers (multi-threaded xz -T)"
		}
		out = append(out, s)
	}
	if c.Identified {
		if len(c.Matches) > 0 {
			var names []string
			for _, m := range c.Matches {
				names = append(names, m.String())
			}
			out = append(out, "compressed by: "+strings.Join(names, "; "))
		} else {
			out = append(out, "no known compressor (GNU gzip 1.10-1.13 -1..-9 with or without --rsyncable, zlib, Go) reproduces the deflate data")
		}
	}
	return out
}
