package gitarchive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Variant is one way of making a tarball: a prefix and a compressor.
type Variant struct {
	Prefix      string
	Compression string
	Level       int      // -1: the method's default
	Forges      []string // presets that use this prefix, if any
}

func (v Variant) String() string {
	s := fmt.Sprintf("--prefix=%q", v.Prefix)
	if v.Compression != "" {
		s += " --compress=" + v.Compression
		if v.Level >= 0 {
			s += fmt.Sprintf(" --level=%d", v.Level)
		}
	}
	if len(v.Forges) > 0 {
		s += " (" + strings.Join(v.Forges, ", ") + ")"
	}
	return s
}

// Identification is the result of Identify.
type Identification struct {
	Published       string    // path of the published tarball
	PublishedSHA256 string    // of the file
	Compression     string    // detected from magic bytes: gzip, xz, bzip2, none
	TarSHA256       string    // of its decompressed tar stream
	Info            *Info     // what was archived
	Match           *Variant  // reproduces the file byte for byte; nil if none
	Matches         []Variant // every compressor and level that does (tiny inputs can compress alike)
	TarMatch        *Variant  // reproduces the tar stream; nil if none
	Tried           []Variant // prefixes tried, in order

	gzipXFL byte
}

// WithProject sets the project name used in forge presets (default: from
// the published file name).
func WithProject(name string) Option {
	return func(o *options) error { o.project = name; return nil }
}

// Identify tries every prefix (from the forge presets, the published
// tarball's own top directory, and none) and every compressor, and reports
// which reproduces published byte for byte; if none does, TarMatch says
// which prefix gives the same tar stream. Options are as for Write
// (WithCompression is ignored).
func Identify(ctx context.Context, repoDir, ref, published string, opts ...Option) (*Identification, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	id := &Identification{Published: published}
	comp, observed, err := inspectPublished(ctx, published, o, id)
	if err != nil {
		return nil, err
	}
	id.Compression = comp
	project := o.project
	if project == "" {
		project = projectFromFileName(filepath.Base(published), ref)
	}
	id.Tried = candidatePrefixes(project, ref, observed)
	for i := range id.Tried {
		v := &id.Tried[i]
		cmp, err := openTarStream(ctx, published, o)
		if err != nil {
			return nil, err
		}
		w := &cmpWriter{r: bufio.NewReaderSize(cmp, 64<<10)}
		info, werr := Write(ctx, w, repoDir, ref, append(opts, WithPrefix(v.Prefix), WithCompression(CompressNone, -1))...)
		same := !w.differ && werr == nil && w.atEOF()
		cmp.Close()
		if werr != nil && !w.differ {
			return nil, werr
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !same {
			continue
		}
		id.Info = info
		id.TarMatch = v
		break
	}
	if id.TarMatch == nil {
		return id, nil
	}
	if comp == "none" {
		m := *id.TarMatch
		m.Compression = CompressNone
		id.Matches = []Variant{m}
		id.Match = &id.Matches[0]
		return id, nil
	}
	if comp != "gzip" {
		return id, nil
	}
	// The tar streams are equal, so compress the published one. The
	// compressor of the matching prefix's forge presets is preferred.
	methods := []string{CompressGzipN, CompressGitInternal}
	for _, name := range id.TarMatch.Forges {
		if f, err := LookupForge(name); err == nil && f.Compression == CompressGitInternal {
			methods = []string{CompressGitInternal, CompressGzipN}
			break
		}
	}
	found, err := compressorMatches(ctx, published, o, methods, id.gzipXFL)
	if err != nil {
		return nil, err
	}
	for _, c := range found {
		m := *id.TarMatch
		m.Compression, m.Level = c.Compression, c.Level
		id.Matches = append(id.Matches, m)
	}
	if len(id.Matches) > 0 {
		id.Match = &id.Matches[0]
	}
	return id, nil
}

// CompressorMatches reports which of methods (default: gzip-n, then
// git-internal), at the levels the gzip header's XFL byte allows,
// compress the published gzip file's own tar stream back to its exact
// bytes. Each match is a Variant with only Compression and Level set
// (Level -1 for the default, 6). A file that is not gzip has no match.
// Only WithMaxSize of the options applies.
func CompressorMatches(ctx context.Context, published string, methods []string, opts ...Option) ([]Variant, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(methods) == 0 {
		methods = []string{CompressGzipN, CompressGitInternal}
	}
	f, err := os.Open(published)
	if err != nil {
		return nil, fmt.Errorf("gitarchive: published tarball: %w", err)
	}
	head := make([]byte, 10)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || head[0] != 0x1f || head[1] != 0x8b {
		return nil, nil
	}
	return compressorMatches(ctx, published, o, methods, head[8])
}

// compressorMatches runs pkg/deflate's identification (one decompression,
// every candidate compressor in step) and keeps the methods and levels
// that reproduce the whole file: the deflate data, a header with no name
// and MTIME 0 as gzip -n and git write, the XFL of the level, and nothing
// after the member.
func compressorMatches(ctx context.Context, published string, o *options, methods []string, xfl byte) ([]Variant, error) {
	compressor := func(method string) deflate.Compressor {
		if method == CompressGitInternal {
			return deflate.Zlib
		}
		return deflate.GNU
	}
	var cands []deflate.Candidate
	for _, method := range methods {
		for _, level := range levelsForXFL(method, xfl) {
			cands = append(cands, deflate.Candidate{Compressor: compressor(method), Level: level})
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	id, err := deflate.IdentifyFile(ctx, published, deflate.WithMaxUncompressed(o.maxSize), deflate.WithCandidates(cands...))
	if err != nil {
		return nil, fmt.Errorf("gitarchive: %w", err)
	}
	h := id.Header
	if h.HasName || h.MTime != 0 || id.TrailingBytes != 0 {
		return nil, nil
	}
	exact := map[deflate.Candidate]bool{}
	for _, m := range id.Matches {
		if len(m.HeaderDifferences) == 0 {
			exact[m.Candidate] = true
		}
	}
	var out []Variant
	for _, method := range methods {
		for _, level := range levelsForXFL(method, xfl) {
			if !exact[deflate.Candidate{Compressor: compressor(method), Level: level}] {
				continue
			}
			v := Variant{Compression: method, Level: level}
			if level == 6 {
				v.Level = -1
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// levelsForXFL orders levels so that those matching the gzip XFL byte
// (2: level 9, 4: level 1, 0: others) come first, dropping impossible ones.
func levelsForXFL(method string, xfl byte) []int {
	var out []int
	for _, l := range Levels(method) {
		want := byte(0)
		if l == 9 {
			want = 2
		} else if l <= 1 {
			want = 4 // zlib writes 4 for level 0 too
		}
		if want == xfl {
			out = append(out, l)
		}
	}
	return out
}

// cmpWriter compares what is written with r and fails at the first
// difference.
type cmpWriter struct {
	r      *bufio.Reader
	buf    []byte
	differ bool
}

var errDiffer = errors.New("gitarchive: output differs from the published tarball")

func (c *cmpWriter) Write(p []byte) (int, error) {
	if c.differ {
		return 0, errDiffer
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	b := c.buf[:len(p)]
	n, _ := io.ReadFull(c.r, b)
	if n != len(p) || !bytes.Equal(b, p) {
		c.differ = true
		return 0, errDiffer
	}
	return len(p), nil
}

func (c *cmpWriter) atEOF() bool {
	_, err := c.r.ReadByte()
	return err == io.EOF
}

// inspectPublished hashes the file and its tar stream, detects the
// compression and returns the top directory of the tar, if it has one. It
// reads with pkg/tarball, so a published file is held to the same rules
// (and the same decompressed size limit) as diff and checksum apply.
func inspectPublished(ctx context.Context, path string, o *options, id *Identification) (string, string, error) {
	f, err := tarball.OpenFile(path)
	if err != nil {
		return "", "", fmt.Errorf("gitarchive: published tarball: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r, err := tarball.Open(ctx, io.TeeReader(f, h), tarball.WithName(path), tarball.WithMaxSize(o.maxSize))
	if err != nil {
		return "", "", fmt.Errorf("gitarchive: published tarball: %w", err)
	}
	defer r.Close()
	observed := ""
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("gitarchive: published tarball: %w", err)
		}
		if observed == "" && m.Typeflag == tar.TypeDir && strings.HasSuffix(m.Name, "/") {
			observed = m.Name
		}
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", "", fmt.Errorf("gitarchive: reading %s: %w", path, err)
	}
	ar := r.Archive()
	id.PublishedSHA256 = hex.EncodeToString(h.Sum(nil))
	id.TarSHA256 = ar.TarSHA256
	if len(ar.Compression.Gzip) > 0 {
		id.gzipXFL = ar.Compression.Gzip[0].XFL
	}
	if checkPrefix(observed) != nil {
		observed = ""
	}
	return string(ar.Compression.Format), observed, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// openTarStream opens path and returns its decompressed tar stream.
func openTarStream(ctx context.Context, path string, o *options) (io.ReadCloser, error) {
	f, err := tarball.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("gitarchive: published tarball: %w", err)
	}
	r, _, err := tarball.Decompress(ctx, f, tarball.WithName(path), tarball.WithMaxSize(o.maxSize))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gitarchive: published tarball: %w", err)
	}
	return readCloser{Reader: r, close: func() error { return errors.Join(r.Close(), f.Close()) }}, nil
}

// projectFromFileName guesses the project from a tarball name such as
// libntlm-1.8-src.tar.gz or proj-v1.0.tar.gz.
func projectFromFileName(name, ref string) string {
	for _, ext := range []string{".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar"} {
		if strings.HasSuffix(name, ext) {
			name = strings.TrimSuffix(name, ext)
			break
		}
	}
	name = strings.TrimSuffix(name, "-src")
	tag := strings.TrimPrefix(ref, "refs/tags/")
	for _, s := range []string{tag, Version(tag)} {
		if s != "" && strings.HasSuffix(name, "-"+s) {
			return strings.TrimSuffix(name, "-"+s)
		}
	}
	return name
}

// candidatePrefixes lists the prefixes to try: the published tarball's own
// top directory first, then those of the forge presets, then none.
func candidatePrefixes(project, ref, observed string) []Variant {
	var out []Variant
	index := map[string]int{}
	add := func(p, forge string) {
		i, ok := index[p]
		if !ok {
			index[p] = len(out)
			out = append(out, Variant{Prefix: p, Level: -1})
			i = len(out) - 1
		}
		if forge != "" {
			out[i].Forges = append(out[i].Forges, forge)
		}
	}
	if observed != "" {
		add(observed, "")
	}
	for _, f := range Forges {
		add(f.PrefixFor(project, ref), f.Name)
	}
	add("", "")
	return out
}
