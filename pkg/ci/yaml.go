package ci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// A small YAML emitter for the block-style subset GitLab CI files need:
// ordered mappings, sequences, strings, booleans and integers, with
// comments before keys. Strings are written plain only when plain YAML
// (1.1 and 1.2) cannot read them as anything but that string; every other
// string is double-quoted with JSON escapes, which YAML accepts.

// mapping is an ordered YAML mapping.
type mapping []entry

// entry is one key of a mapping; comment lines are written before it.
type entry struct {
	key     string
	value   any // string, bool, int, mapping, []any
	comment []string
	// trailing is a comment after a scalar value on the same line.
	trailing string
}

func (m *mapping) add(key string, value any, comment ...string) {
	*m = append(*m, entry{key: key, value: value, comment: comment})
}

var (
	// plainRE: printable ASCII starting with a letter, '_', '$', '/' or
	// "./", with no YAML indicator at the start.
	plainRE = regexp.MustCompile(`^([A-Za-z_$/]|\./)[ -~]*$`)
	// notPlainRE: sequences that end or comment a plain scalar.
	notPlainRE = regexp.MustCompile(`: |:$| #|\t`)
)

// yamlKeywords are plain scalars YAML 1.1 resolves to booleans or null.
var yamlKeywords = map[string]bool{
	"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true,
}

// quote returns s as a YAML scalar: plain when that reads back as the same
// string, else double-quoted.
func quote(s string) string {
	if plainRE.MatchString(s) && !notPlainRE.MatchString(s) && !strings.HasSuffix(s, " ") && !yamlKeywords[strings.ToLower(s)] {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

type yamlWriter struct {
	w   io.Writer
	err error
}

// comment writes s as comment lines: one per line of s, with characters
// YAML does not allow in a stream replaced.
func (y *yamlWriter) comment(indent int, s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for _, l := range strings.Split(s, "\n") {
		l = strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' || r == 0x7f || r == 0xFEFF || r == '\u2028' || r == '\u2029' {
				return '?'
			}
			return r
		}, l)
		y.line(indent, strings.TrimRight("# "+l, " \t"))
	}
}

func (y *yamlWriter) line(indent int, s string) {
	if y.err != nil {
		return
	}
	_, y.err = fmt.Fprintf(y.w, "%s%s\n", strings.Repeat(" ", indent), s)
}

// literalOK reports whether s is written as a literal block scalar: it has
// more than one line, only printable ASCII, no trailing blanks, no
// leading blank on its first line and no run of newlines at the end
// (which block chomping would not keep).
func literalOK(s string) bool {
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || strings.HasSuffix(s, "\n\n") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasSuffix(l, " ") {
			return false
		}
		for _, r := range l {
			if r < 0x20 || r > 0x7e {
				return false
			}
		}
	}
	return true
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return quote(v), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case int:
		return fmt.Sprint(v), true
	case mapping:
		if len(v) == 0 {
			return "{}", true
		}
	case []any:
		if len(v) == 0 {
			return "[]", true
		}
	}
	return "", false
}

func (y *yamlWriter) mapping(indent int, m mapping) {
	for _, e := range m {
		for _, c := range e.comment {
			y.comment(indent, c)
		}
		k := quote(e.key)
		if v, ok := e.value.(string); ok && literalOK(v) {
			// A multi-line script: a literal block, kept as written.
			chomp := "|-"
			if strings.HasSuffix(v, "\n") {
				chomp, v = "|", strings.TrimSuffix(v, "\n")
			}
			y.line(indent, k+": "+chomp)
			for _, l := range strings.Split(v, "\n") {
				if l == "" {
					y.line(0, "")
				} else {
					y.line(indent+2, l)
				}
			}
			continue
		}
		if s, ok := scalar(e.value); ok {
			if e.trailing != "" {
				s += " # " + strings.Map(func(r rune) rune {
					if r < 0x20 || r == 0x7f {
						return '?'
					}
					return r
				}, e.trailing)
			}
			y.line(indent, k+": "+s)
			continue
		}
		y.line(indent, k+":")
		switch v := e.value.(type) {
		case mapping:
			y.mapping(indent+2, v)
		case []any:
			y.seq(indent+2, v)
		default:
			y.err = fmt.Errorf("ci: cannot write %T as YAML", v)
		}
	}
}

func (y *yamlWriter) seq(indent int, items []any) {
	for _, it := range items {
		if s, ok := scalar(it); ok {
			y.line(indent, "- "+s)
			continue
		}
		switch v := it.(type) {
		case mapping:
			// The first key goes on the dash line.
			var b bytes.Buffer
			sub := &yamlWriter{w: &b}
			sub.mapping(indent+2, v)
			if sub.err != nil {
				y.err = sub.err
				return
			}
			text := b.String()
			text = strings.Repeat(" ", indent) + "- " + text[indent+2:]
			if y.err == nil {
				_, y.err = io.WriteString(y.w, text)
			}
		case []any:
			y.err = fmt.Errorf("ci: nested sequences are not supported")
		default:
			y.err = fmt.Errorf("ci: cannot write %T as YAML", v)
		}
	}
}

// writeYAML writes the header comment lines and then m.
func writeYAML(w io.Writer, header []string, m mapping) error {
	y := &yamlWriter{w: w}
	for _, h := range header {
		y.comment(0, h)
	}
	if len(header) > 0 {
		y.line(0, "")
	}
	for i, e := range m {
		if i > 0 {
			y.line(0, "")
		}
		y.mapping(0, mapping{e})
	}
	return y.err
}
