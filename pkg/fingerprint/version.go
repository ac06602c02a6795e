package fingerprint

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	// "2.4.7 Debian-2.4.7-7~deb12u1": Debian's (and Ubuntu's) libtool.
	distroSuffixRE = regexp.MustCompile(`^(\d+(?:\.\d+)*[a-z]?)\s+([A-Z][A-Za-z]+)-(\S+)$`)
	// "2.5.4.1-baa1-dirty": git-version-gen's version of a build from git.
	devVersionRE = regexp.MustCompile(`^(\d+(?:\.\d+)+)-(?:g)?([0-9a-f]{4,40})(-dirty)?$`)
	// "1.16.5-dirty", "2.71-dirty".
	dirtyRE = regexp.MustCompile(`^(\d+(?:\.\d+)*[a-z]?)-dirty$`)
)

// parseValue splits a rule's value into the tool's upstream version and
// what its suffix says about the build.
func parseValue(tool, what, value string) (string, *Build) {
	switch tool {
	case ToolReleaseTools:
		_, v, _ := strings.Cut(value, "=")
		return v, nil
	case ToolConfigGuess, ToolConfigSub, ToolBaseImage:
		return "", nil
	case ToolGnulib:
		return "", nil
	}
	if !strings.HasSuffix(what, "VERSION") && tool == ToolLibtool {
		return "", nil // package_revision, libtool.m4 serial
	}
	if tool == ToolGettext && strings.HasPrefix(what, "gettext.m4") {
		return "", nil
	}
	if tool == ToolTexinfo && strings.HasPrefix(what, "texinfo.tex") {
		return "", nil
	}
	if m := distroSuffixRE.FindStringSubmatch(value); m != nil {
		return m[1], &Build{Kind: "distro", Distro: m[2], Package: m[3]}
	}
	if m := devVersionRE.FindStringSubmatch(value); m != nil {
		return value, &Build{Kind: "development", Revision: m[2], Dirty: m[3] != ""}
	}
	if m := dirtyRE.FindStringSubmatch(value); m != nil {
		return value, &Build{Kind: "development", Dirty: true}
	}
	return value, nil
}

// UpstreamVersion returns the upstream part of a Debian package version:
// without epoch, Debian revision and repack suffixes ("1:1.16.5-1.3" ->
// "1.16.5", "6.7.0.dfsg.2-6" -> "6.7.0", "2:3.8.2+dfsg-1" -> "3.8.2").
func UpstreamVersion(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	for _, sep := range []string{"+dfsg", ".dfsg", "+ds", "~", "+really"} {
		if i := strings.Index(v, sep); i >= 0 {
			v = v[:i]
		}
	}
	return v
}

// sameVersion compares dotted versions numerically, ignoring trailing
// zero components ("6.7" == "6.7.0").
func sameVersion(a, b string) bool {
	if a == b {
		return true
	}
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for len(pa) < len(pb) {
		pa = append(pa, "0")
	}
	for len(pb) < len(pa) {
		pb = append(pb, "0")
	}
	for i := range pa {
		x, err1 := strconv.Atoi(pa[i])
		y, err2 := strconv.Atoi(pb[i])
		if err1 != nil || err2 != nil {
			if pa[i] != pb[i] {
				return false
			}
			continue
		}
		if x != y {
			return false
		}
	}
	return true
}

// compareVersion orders dotted numeric versions (-1, 0, 1); non-numeric
// components compare as strings.
func compareVersion(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := "0", "0"
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		xi, err1 := strconv.Atoi(x)
		yi, err2 := strconv.Atoi(y)
		switch {
		case err1 == nil && err2 == nil:
			if xi != yi {
				if xi < yi {
					return -1
				}
				return 1
			}
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// pointReleaseBase strips a stable-update suffix ("+deb12u2", "~deb12u1",
// "+deb11u13") from a Debian version; two versions with the same base are
// the same package at different point releases of a suite.
func pointReleaseBase(v string) string {
	if m := pointReleaseRE.FindStringIndex(v); m != nil {
		return v[:m[0]]
	}
	return v
}

var pointReleaseRE = regexp.MustCompile(`[+~]deb\d+u\d+$`)
