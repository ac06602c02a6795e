package envpin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/engine"
)

// Execer runs commands; engine.Session implements it.
type Execer interface {
	Exec(ctx context.Context, e engine.ExecSpec) (exitCode int, err error)
}

// ProbedTools are the keys Probe fills in Environment.Tools (when the tool
// is installed): the program run is the key, except libtool
// (libtoolize --version) and ltmain (the VERSION= line of
// /usr/share/libtool/build-aux/ltmain.sh, which is what ends up in
// distributed tarballs, e.g. "2.4.7 Debian-2.4.7-7~deb12u1").
var ProbedTools = []string{"autoconf", "automake", "gettext", "git", "gzip", "libtool", "ltmain", "m4", "make", "perl", "tar", "xz"}

var toolCommands = map[string]string{
	"autoconf": "autoconf", "automake": "automake", "gettext": "gettext", "git": "git",
	"gzip": "gzip", "libtool": "libtoolize", "m4": "m4", "make": "make", "perl": "perl",
	"tar": "tar", "xz": "xz",
}

// Environment is what Probe found in an image.
type Environment struct {
	// Tools maps a ProbedTools key to its version.
	Tools map[string]string
	// Distro is "<ID> <VERSION_ID>" from /etc/os-release, e.g. "debian 12".
	Distro string
	// Packages lists installed packages as "name=version", sorted (dpkg,
	// rpm or apk).
	Packages []string
}

const probeMark = "@@verify-release-probe@@ "

// probeScript prints each section after a marker line.
func probeScript() string {
	var b strings.Builder
	b.WriteString("export LC_ALL=C\n")
	keys := make([]string, 0, len(toolCommands))
	for k := range toolCommands {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "echo '%s%s'; if command -v %s >/dev/null 2>&1; then %s --version 2>&1 </dev/null | head -n 5; fi\n", probeMark, k, toolCommands[k], toolCommands[k])
	}
	fmt.Fprintf(&b, "echo '%sltmain'; grep -m1 '^VERSION=' /usr/share/libtool/build-aux/ltmain.sh 2>/dev/null\n", probeMark)
	fmt.Fprintf(&b, "echo '%sos-release'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null\n", probeMark)
	fmt.Fprintf(&b, "echo '%spackages'\n", probeMark)
	b.WriteString(`if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f '${Package}=${Version}\n'
elif command -v rpm >/dev/null 2>&1; then rpm -qa --qf '%{NAME}=%{VERSION}-%{RELEASE}\n'
elif command -v apk >/dev/null 2>&1; then apk info -v 2>/dev/null
fi
exit 0
`)
	return b.String()
}

// Probe runs one shell script in s (needs /bin/sh and head) and returns
// the tool versions, distribution and package list it finds.
func Probe(ctx context.Context, s Execer) (*Environment, error) {
	var out, errOut bytes.Buffer
	code, err := s.Exec(ctx, engine.ExecSpec{Cmd: []string{"/bin/sh", "-c", probeScript()}, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return nil, fmt.Errorf("envpin: probing tools: %w", err)
	}
	if code != 0 {
		return nil, fmt.Errorf("envpin: probing tools: script exited with status %d: %s", code, strings.TrimSpace(errOut.String()))
	}
	return parseProbe(out.String()), nil
}

func parseProbe(out string) *Environment {
	env := &Environment{Tools: map[string]string{}}
	sections := map[string]string{}
	for _, chunk := range strings.Split(out, probeMark)[1:] {
		name, body, _ := strings.Cut(chunk, "\n")
		sections[name] = body
	}
	for k := range toolCommands {
		if v := ParseVersion(sections[k]); v != "" {
			env.Tools[k] = v
		}
	}
	if line := strings.TrimSpace(sections["ltmain"]); line != "" {
		v := strings.TrimPrefix(line, "VERSION=")
		env.Tools["ltmain"] = strings.Trim(v, `"'`)
	}
	osr := map[string]string{}
	for _, line := range strings.Split(sections["os-release"], "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			osr[k] = strings.Trim(v, `"'`)
		}
	}
	env.Distro = strings.TrimSpace(osr["ID"] + " " + osr["VERSION_ID"])
	for _, line := range strings.Split(sections["packages"], "\n") {
		if line = strings.TrimSpace(line); line != "" {
			env.Packages = append(env.Packages, line)
		}
	}
	sort.Strings(env.Packages)
	return env
}

var versionToken = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+[0-9A-Za-z.+~-]*$`)

// ParseVersion returns the last version-looking token (digits with at
// least one dot, optionally prefixed by "v" and wrapped in parentheses)
// of the first non-empty line of a --version output, or "".
func ParseVersion(output string) string {
	for _, line := range strings.Split(output, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		v := ""
		for _, tok := range strings.Fields(line) {
			tok = strings.Trim(tok, "(),;:")
			tok = strings.TrimPrefix(tok, "v")
			if versionToken.MatchString(tok) {
				v = tok
			}
		}
		return v
	}
	return ""
}

// ErrToolMismatch is matched (errors.Is) by *ToolMismatchError.
var ErrToolMismatch = errors.New("envpin: tool versions differ from the pins")

// Mismatch is one pinned tool whose version differs. Found is "" when the
// tool is not installed.
type Mismatch struct {
	Tool   string
	Pinned string
	Found  string
}

// ToolMismatchError lists the pinned tools whose versions differ.
type ToolMismatchError struct {
	Mismatches []Mismatch
}

func (e *ToolMismatchError) Error() string {
	parts := make([]string, len(e.Mismatches))
	for i, m := range e.Mismatches {
		found := m.Found
		if found == "" {
			found = "not installed"
		}
		parts[i] = fmt.Sprintf("%s: pinned %s, found %s", m.Tool, m.Pinned, found)
	}
	return ErrToolMismatch.Error() + ": " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrToolMismatch) true.
func (e *ToolMismatchError) Is(target error) bool { return target == ErrToolMismatch }

// Compare checks each pinned tool version against the probed one
// (exact string equality) and returns the mismatches sorted by tool, and
// a *ToolMismatchError when there are any.
func Compare(pins, probed map[string]string) ([]Mismatch, error) {
	var ms []Mismatch
	tools := make([]string, 0, len(pins))
	for t := range pins {
		tools = append(tools, t)
	}
	sort.Strings(tools)
	for _, t := range tools {
		if probed[t] != pins[t] {
			ms = append(ms, Mismatch{Tool: t, Pinned: pins[t], Found: probed[t]})
		}
	}
	if len(ms) > 0 {
		return ms, &ToolMismatchError{Mismatches: ms}
	}
	return nil, nil
}
