package gitarchive

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// attrNames are the attributes git archive consults: export-ignore and
// export-subst, and those of convert_to_working_tree (ident, filter, line
// endings, working-tree-encoding).
var attrNames = []string{"export-ignore", "export-subst", "text", "eol", "crlf", "ident", "filter", "working-tree-encoding"}

// attrValue is a check-attr answer: "unspecified", "set", "unset" or a value.
type attrs struct {
	exportIgnore bool
	exportSubst  bool
	text         string
	eol          string
	crlf         string
	ident        bool
	filter       string
	encoding     string
}

// readAttrs reads the answers of check-attr -z for e's path.
func readAttrs(r *bufio.Reader, e *treeEntry) (attrs, error) {
	var at attrs
	for _, name := range attrNames {
		var tok [3]string
		for i := range tok {
			s, err := r.ReadString(0)
			if err != nil {
				return at, fmt.Errorf("%w: check-attr output for %q: %w", ErrGit, e.path, err)
			}
			tok[i] = s[:len(s)-1]
		}
		if tok[1] != name || strings.TrimSuffix(tok[0], "/") != e.path {
			return at, fmt.Errorf("%w: unexpected check-attr output %q for %q", ErrGit, tok, e.path)
		}
		v := tok[2]
		switch name {
		case "export-ignore":
			at.exportIgnore = v == "set"
		case "export-subst":
			at.exportSubst = v == "set"
		case "text":
			at.text = v
		case "eol":
			at.eol = v
		case "crlf":
			at.crlf = v
		case "ident":
			at.ident = v == "set"
		case "filter":
			at.filter = v
		case "working-tree-encoding":
			at.encoding = v
		}
	}
	return at, nil
}

// crlf actions of git's convert.c.
const (
	crlfUndefined = iota
	crlfBinary
	crlfText
	crlfTextInput
	crlfTextCRLF
	crlfAuto
	crlfAutoInput
	crlfAutoCRLF
)

func checkCRLF(v string) int {
	switch v {
	case "set":
		return crlfText
	case "unset":
		return crlfBinary
	case "unspecified":
		return crlfUndefined
	case "input":
		return crlfTextInput
	case "auto":
		return crlfAuto
	}
	return crlfUndefined
}

// crlfAction is convert_attrs' decision for e.
func (a *archiver) crlfAction(at attrs) int {
	act := checkCRLF(at.text)
	if act == crlfUndefined {
		act = checkCRLF(at.crlf)
	}
	if act != crlfBinary {
		switch {
		case act == crlfAuto && at.eol == "lf":
			act = crlfAutoInput
		case act == crlfAuto && at.eol == "crlf":
			act = crlfAutoCRLF
		case at.eol == "lf":
			act = crlfTextInput
		case at.eol == "crlf":
			act = crlfTextCRLF
		}
	}
	eolIsCRLF := a.cfg.autocrlf == "true" || (a.cfg.autocrlf != "input" && a.cfg.eolCRLF)
	if act == crlfText {
		if eolIsCRLF {
			act = crlfTextCRLF
		} else {
			act = crlfTextInput
		}
	}
	if act == crlfUndefined {
		switch a.cfg.autocrlf {
		case "true":
			act = crlfAutoCRLF
		case "input":
			act = crlfAutoInput
		default:
			act = crlfBinary
		}
	}
	return act
}

func (a *archiver) outputCRLF(act int) bool {
	switch act {
	case crlfTextCRLF, crlfAutoCRLF:
		return true
	case crlfAuto:
		return a.cfg.autocrlf == "true" || (a.cfg.autocrlf != "input" && a.cfg.eolCRLF)
	}
	return false
}

// needsConversion reports whether convert_to_working_tree may change e; it
// fails for conversions this package does not reproduce.
func (a *archiver) needsConversion(e *treeEntry) (bool, error) {
	at := e.attrs
	if at.filter != "unspecified" && at.filter != "set" && at.filter != "unset" && a.cfg.filterDrivers[at.filter] {
		return false, &UnsupportedError{Path: e.path, Feature: "filter driver " + at.filter}
	}
	if at.encoding != "unspecified" && at.encoding != "set" && at.encoding != "unset" && !strings.EqualFold(at.encoding, "UTF-8") {
		return false, &UnsupportedError{Path: e.path, Feature: "working-tree-encoding=" + at.encoding}
	}
	return at.ident || a.outputCRLF(a.crlfAction(at)), nil
}

// convert applies git's ident and LF-to-CRLF conversion to buf.
func (a *archiver) convert(e *treeEntry, buf []byte) ([]byte, error) {
	if e.attrs.ident && bytes.Contains(buf, []byte("$Id")) {
		return nil, &UnsupportedError{Path: e.path, Feature: "ident attribute with $Id$"}
	}
	act := a.crlfAction(e.attrs)
	if !a.outputCRLF(act) || len(buf) == 0 {
		return buf, nil
	}
	st := gatherStats(buf)
	if st.lonelf == 0 {
		return buf, nil
	}
	if act == crlfAuto || act == crlfAutoInput || act == crlfAutoCRLF {
		if st.lonecr > 0 || st.crlf > 0 || st.isBinary() {
			return buf, nil
		}
	}
	out := make([]byte, 0, len(buf)+st.lonelf)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		if i > 0 && buf[i-1] == '\r' {
			out = append(out, buf[:i+1]...)
		} else {
			out = append(out, buf[:i]...)
			out = append(out, '\r', '\n')
		}
		buf = buf[i+1:]
	}
	return append(out, buf...), nil
}

type textStat struct {
	nul, lonecr, lonelf, crlf int
	printable, nonprintable   int
}

// gatherStats is convert.c's gather_stats.
func gatherStats(buf []byte) textStat {
	var s textStat
	for i := 0; i < len(buf); i++ {
		c := buf[i]
		if c == '\r' {
			if i+1 < len(buf) && buf[i+1] == '\n' {
				s.crlf++
				i++
			} else {
				s.lonecr++
			}
			continue
		}
		if c == '\n' {
			s.lonelf++
			continue
		}
		if c == 127 {
			s.nonprintable++
		} else if c < 32 {
			switch c {
			case '\b', '\t', '\033', '\014':
				s.printable++
			case 0:
				s.nul++
				s.nonprintable++
			default:
				s.nonprintable++
			}
		} else {
			s.printable++
		}
	}
	if len(buf) >= 1 && buf[len(buf)-1] == '\032' {
		s.nonprintable--
	}
	return s
}

// isBinary is convert.c's convert_is_binary.
func (s textStat) isBinary() bool {
	return s.lonecr > 0 || s.nul > 0 || (s.printable>>7) < s.nonprintable
}

// noAttrs is the answer for every path when no attribute source exists.
var noAttrs = attrs{text: "unspecified", eol: "unspecified", crlf: "unspecified", filter: "unspecified", encoding: "unspecified"}

// treeHasAttributes reports whether the tree of ref has a .gitattributes
// file anywhere (true when unsure).
func treeHasAttributes(ctx context.Context, g *gitRunner, ref string) bool {
	p, err := g.start(ctx, nil, false, "ls-tree", "-r", "-z", "--name-only", "--full-tree", "--end-of-options", ref)
	if err != nil {
		return true
	}
	defer p.kill()
	r := bufio.NewReaderSize(p.stdout, 64<<10)
	found := false
	for {
		name, err := r.ReadSlice(0)
		if err == bufio.ErrBufferFull {
			// A name longer than the buffer: read the rest of it.
			rest, rerr := r.ReadBytes(0)
			if rerr != nil {
				return true
			}
			name = append(append([]byte(nil), name...), rest...)
			err = nil
		}
		if err != nil {
			break
		}
		name = name[:len(name)-1]
		if bytes.Equal(name, []byte(".gitattributes")) || bytes.HasSuffix(name, []byte("/.gitattributes")) {
			found = true
			break
		}
	}
	if found {
		return true
	}
	return p.wait() != nil
}

// attributeFilesExist reports whether an attribute file outside the tree
// exists: $GIT_COMMON_DIR/info/attributes, the global file
// (core.attributesFile or $XDG_CONFIG_HOME/git/attributes) or the system
// file /etc/gitattributes.
func attributeFilesExist(g *gitRunner, cfg *repoConfig) bool {
	files := []string{filepath.Join(g.commonDir, "info", "attributes")}
	if os.Getenv("GIT_ATTR_NOSYSTEM") == "" {
		files = append(files, "/etc/gitattributes")
	}
	switch {
	case cfg.attributesFile != "":
		files = append(files, cfg.attributesFile)
	case os.Getenv("XDG_CONFIG_HOME") != "":
		files = append(files, filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "git", "attributes"))
	case os.Getenv("HOME") != "":
		files = append(files, filepath.Join(os.Getenv("HOME"), ".config", "git", "attributes"))
	}
	for _, f := range files {
		if _, err := os.Stat(f); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return true
		}
	}
	return false
}
