package gitarchive

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// substituter expands $Format:...$ in export-subst files like git's
// format_subst. Each placeholder set is expanded by git log itself (same
// pretty-format code), with the settings git archive uses: default date
// format, no re-encoding, and at most one %(describe) per archive.
type substituter struct {
	g            *gitRunner
	commit       string
	abbrev       int
	describeLeft int
	cache        map[string]string
}

// supportedPlaceholders are the one- and two-letter placeholders accepted.
var supportedPlaceholders = map[string]bool{
	"H": true, "h": true, "T": true, "t": true, "P": true, "p": true,
	"an": true, "ae": true, "ad": true, "aD": true, "ai": true, "aI": true, "at": true,
	"cn": true, "ce": true, "cd": true, "cD": true, "ci": true, "cI": true, "ct": true,
	"s": true, "d": true, "D": true, "n": true,
}

// apply is format_subst.
func (s *substituter) apply(ctx context.Context, path string, src []byte) ([]byte, error) {
	var out []byte
	for {
		b := bytes.Index(src, []byte("$Format:"))
		if b < 0 {
			break
		}
		c := bytes.IndexByte(src[b+8:], '$')
		if c < 0 {
			break
		}
		c += b + 8
		out = append(out, src[:b]...)
		exp, err := s.expand(ctx, path, string(src[b+8:c]))
		if err != nil {
			return nil, err
		}
		out = append(out, exp...)
		src = src[c+1:]
	}
	return append(out, src...), nil
}

// expand checks every placeholder of format, applies the %(describe) cap
// and asks git log for the result.
func (s *substituter) expand(ctx context.Context, path, format string) (string, error) {
	var f strings.Builder
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '%')
		if j < 0 {
			f.WriteString(format[i:])
			break
		}
		f.WriteString(format[i : i+j])
		i += j + 1
		rest := format[i:]
		switch {
		case rest == "":
			f.WriteString("%%")
		case rest[0] == '%':
			f.WriteString("%%")
			i++
		case strings.HasPrefix(rest, "(describe"):
			if s.describeLeft == 0 {
				// git leaves the '%' and goes on after it.
				f.WriteString("%%")
				continue
			}
			s.describeLeft--
			end := strings.IndexByte(rest, ')')
			if end < 0 || !validDescribeArgs(rest[len("(describe"):end]) {
				return "", &UnsupportedError{Path: path, Feature: fmt.Sprintf("placeholder %%%s", firstN(rest, 40))}
			}
			f.WriteString("%" + rest[:end+1])
			i += end + 1
		case len(rest) >= 2 && supportedPlaceholders[rest[:2]]:
			f.WriteString("%" + rest[:2])
			i += 2
		case supportedPlaceholders[rest[:1]]:
			f.WriteString("%" + rest[:1])
			i++
		default:
			return "", &UnsupportedError{Path: path, Feature: fmt.Sprintf("placeholder %%%s", firstN(rest, 2))}
		}
	}
	key := f.String()
	if v, ok := s.cache[key]; ok {
		return v, nil
	}
	var args []string
	if s.abbrev > 0 {
		args = append(args, "-c", "core.abbrev="+strconv.Itoa(s.abbrev))
	}
	args = append(args, "log", "-1", "--no-walk", "--encoding=none", "--date=default", "--no-show-signature",
		"--no-notes", "--no-color", "--format=format:"+key, s.commit, "--")
	out, err := s.g.output(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("gitarchive: expanding $Format:%s$ in %s: %w", format, path, err)
	}
	if !strings.Contains(key, "%(describe") {
		s.cache[key] = string(out)
	}
	return string(out), nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// validDescribeArgs accepts "" or ":opt,opt" with the options git's
// %(describe:...) knows: tags, abbrev=N, match=P, exclude=P.
func validDescribeArgs(a string) bool {
	if a == "" {
		return true
	}
	if a[0] != ':' {
		return false
	}
	for _, opt := range strings.Split(a[1:], ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "tags":
		case "abbrev":
			if _, err := strconv.Atoi(v); err != nil {
				return false
			}
		case "match", "exclude":
			if v == "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}
