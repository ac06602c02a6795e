package fingerprint

import (
	"archive/tar"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// ArchiveInfo is how the tar archive was written.
type ArchiveInfo struct {
	// Formats is the sorted set of header formats (ustar, gnu, pax, v7).
	Formats     []string `json:"formats"`
	Members     int      `json:"members"`
	Regular     int      `json:"regular"`
	Directories int      `json:"directories"`
	Symlinks    int      `json:"symlinks"`
	Hardlinks   int      `json:"hardlinks"`
	Other       int      `json:"other"`
	// TopDirectory is the first path component shared by every member
	// ("curl-8.14.1/"), empty when there is none.
	TopDirectory string `json:"top_directory"`
	// GitCommit is the commit id git archive writes into a pax global
	// header ("comment" record).
	GitCommit string `json:"git_commit,omitempty"`
	// PAXRecords is the sorted set of per-member pax record keys.
	PAXRecords []string     `json:"pax_records,omitempty"`
	Owners     []OwnerCount `json:"owners"`
	Modes      []ModeCount  `json:"modes"`
	// ModePolicy is how permission bits were set: "umask 022" (group and
	// other get the owner's bits minus write), "umask 002" (group as
	// owner, other minus write), "umask 000", or "mixed".
	ModePolicy string `json:"mode_policy"`
	// Order is "bytewise" (member paths in bytewise order: git archive,
	// tar --sort=name of flat trees), "by-component" (each directory's
	// entries sorted by name, depth first: GNU tar --sort=name) or
	// "unsorted" (directory order: tar without --sort, make dist).
	Order           string `json:"order"`
	OrderViolations struct {
		Bytewise    int `json:"bytewise"`
		ByComponent int `json:"by_component"`
	} `json:"order_violations"`
	MTime MTimeInfo `json:"mtime"`
	// TarSize is the uncompressed size; RecordSize the largest of 10240
	// (GNU tar's and git's default blocking) and 512 that divides it.
	TarSize         int64 `json:"tar_size"`
	RecordSize      int   `json:"record_size"`
	EndMarkerBlocks int   `json:"end_marker_blocks"`
	TrailingBytes   int64 `json:"trailing_bytes"`
}

// OwnerCount is one owner seen in the member headers.
type OwnerCount struct {
	UID     int    `json:"uid"`
	GID     int    `json:"gid"`
	Uname   string `json:"uname"`
	Gname   string `json:"gname"`
	Members int    `json:"members"`
}

// ModeCount is one permission mode seen for a member type.
type ModeCount struct {
	Type    string `json:"type"` // regular, directory, symlink, other
	Mode    string `json:"mode"` // octal, e.g. "0644"
	Members int    `json:"members"`
}

// MTimeInfo describes the distribution of member mtimes.
type MTimeInfo struct {
	// Policy is "single" (every member has one mtime: git archive's
	// commit time, or tar --mtime), "clamped" (most members share the
	// newest mtime and the rest are older: tar --clamp-mtime with
	// SOURCE_DATE_EPOCH) or "per-file" (files keep their own times).
	Policy   string    `json:"policy"`
	Distinct int       `json:"distinct"`
	Min      time.Time `json:"min,omitzero"`
	Max      time.Time `json:"max,omitzero"`
	// Mode is the most common mtime and ModeMembers how many have it.
	Mode        time.Time `json:"mode,omitzero"`
	ModeMembers int       `json:"mode_members"`
	// Candidate is the time a recipe would pin: the single mtime, the
	// clamp value, or the newest mtime; CandidateUnix the same in seconds
	// (a SOURCE_DATE_EPOCH or git committer time candidate).
	Candidate     time.Time `json:"candidate,omitzero"`
	CandidateUnix int64     `json:"candidate_unix"`
}

type ownerKey struct {
	uid, gid     int
	uname, gname string
}

type modeKey struct {
	typ  string
	mode int64
}

type archiveStats struct {
	ArchiveInfo
	owners  map[ownerKey]int
	modes   map[modeKey]int
	mtimes  map[int64]int
	pax     map[string]bool
	policy  map[string]int
	top     string
	topOK   bool
	prev    string
	hasPrev bool
}

func newArchiveStats() archiveStats {
	return archiveStats{owners: map[ownerKey]int{}, modes: map[modeKey]int{}, mtimes: map[int64]int{},
		pax: map[string]bool{}, policy: map[string]int{}, topOK: true}
}

func memberType(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA:
		return "regular"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	}
	return "other"
}

func (s *archiveStats) add(m *tarball.Member) {
	typ := memberType(m.Typeflag)
	switch typ {
	case "regular":
		s.Regular++
	case "directory":
		s.Directories++
	case "symlink":
		s.Symlinks++
	case "hardlink":
		s.Hardlinks++
	default:
		s.Other++
	}
	s.owners[ownerKey{m.UID, m.GID, m.Uname, m.Gname}]++
	perm := m.Mode & 0o7777
	s.modes[modeKey{typ, perm}]++
	if typ == "regular" || typ == "directory" {
		s.policy[umaskClass(perm)]++
	}
	s.mtimes[m.ModTime.Unix()]++
	for k := range m.PAXRecords {
		s.pax[k] = true
	}
	trimmed := strings.TrimSuffix(m.Name, "/")
	first, _, hasSub := strings.Cut(trimmed, "/")
	if s.Members == 0 {
		s.top = first
	}
	if first != s.top || (!hasSub && typ != "directory") {
		s.topOK = false
	}
	if s.hasPrev {
		if !(s.prev < m.Name) {
			s.OrderViolations.Bytewise++
		}
		if componentCompare(s.prev, m.Name) >= 0 {
			s.OrderViolations.ByComponent++
		}
	}
	s.prev, s.hasPrev = m.Name, true
	s.Members++
}

// umaskClass names the umask a permission mode is consistent with.
func umaskClass(perm int64) string {
	u, g, o := (perm>>6)&7, (perm>>3)&7, perm&7
	switch {
	case g == u&^2 && o == u&^2:
		return "umask 022"
	case g == u && o == u&^2:
		return "umask 002"
	case g == u && o == u:
		return "umask 000"
	}
	return "other"
}

// componentCompare compares paths component by component (GNU tar
// --sort=name order: a directory's entries by name, depth first).
func componentCompare(a, b string) int {
	pa := strings.Split(strings.TrimSuffix(a, "/"), "/")
	pb := strings.Split(strings.TrimSuffix(b, "/"), "/")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return len(pa) - len(pb)
}

func (s *scanner) archive(ar *tarball.Archive) ArchiveInfo {
	st := &s.stats
	a := st.ArchiveInfo
	a.Formats = ar.Formats
	if a.Formats == nil {
		a.Formats = []string{}
	}
	if st.topOK && st.top != "" {
		a.TopDirectory = st.top + "/"
	}
	for _, g := range ar.GlobalHeaders {
		if c := g.Records["comment"]; isHexID(c) {
			a.GitCommit = c
		}
	}
	for k := range st.pax {
		a.PAXRecords = append(a.PAXRecords, k)
	}
	sort.Strings(a.PAXRecords)
	for k, n := range st.owners {
		a.Owners = append(a.Owners, OwnerCount{UID: k.uid, GID: k.gid, Uname: k.uname, Gname: k.gname, Members: n})
	}
	sort.Slice(a.Owners, func(i, j int) bool {
		x, y := a.Owners[i], a.Owners[j]
		if x.Members != y.Members {
			return x.Members > y.Members
		}
		return fmt.Sprint(x) < fmt.Sprint(y)
	})
	for k, n := range st.modes {
		a.Modes = append(a.Modes, ModeCount{Type: k.typ, Mode: fmt.Sprintf("%04o", k.mode), Members: n})
	}
	sort.Slice(a.Modes, func(i, j int) bool {
		x, y := a.Modes[i], a.Modes[j]
		if x.Members != y.Members {
			return x.Members > y.Members
		}
		if x.Type != y.Type {
			return x.Type < y.Type
		}
		return x.Mode < y.Mode
	})
	if a.Owners == nil {
		a.Owners = []OwnerCount{}
	}
	if a.Modes == nil {
		a.Modes = []ModeCount{}
	}
	a.ModePolicy = modePolicy(st.policy)
	switch {
	case a.Members < 2 || a.OrderViolations.Bytewise == 0:
		a.Order = "bytewise"
	case a.OrderViolations.ByComponent == 0:
		a.Order = "by-component"
	default:
		a.Order = "unsorted"
	}
	a.MTime = mtimeInfo(st.mtimes, a.Members)
	a.TarSize, a.EndMarkerBlocks, a.TrailingBytes = ar.TarSize, ar.EndMarkerBlocks, ar.TrailingBytes
	switch {
	case ar.TarSize%10240 == 0:
		a.RecordSize = 10240
	case ar.TarSize%512 == 0:
		a.RecordSize = 512
	}
	return a
}

func modePolicy(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	if len(counts) == 1 {
		for k := range counts {
			return k
		}
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return "mixed (" + strings.Join(parts, ", ") + ")"
}

func mtimeInfo(counts map[int64]int, members int) MTimeInfo {
	var mi MTimeInfo
	if len(counts) == 0 {
		mi.Policy = "none"
		return mi
	}
	first := true
	var lo, hi, mode int64
	modeN := 0
	for t, n := range counts {
		if first || t < lo {
			lo = t
		}
		if first || t > hi {
			hi = t
		}
		if n > modeN || (n == modeN && t > mode) {
			mode, modeN = t, n
		}
		first = false
	}
	mi.Distinct = len(counts)
	mi.Min, mi.Max, mi.Mode, mi.ModeMembers = time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC(), time.Unix(mode, 0).UTC(), modeN
	switch {
	case len(counts) == 1:
		mi.Policy = "single"
	case mode == hi && modeN*2 >= members:
		mi.Policy = "clamped"
	default:
		mi.Policy = "per-file"
	}
	mi.Candidate, mi.CandidateUnix = mi.Max, hi
	return mi
}

func isHexID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
