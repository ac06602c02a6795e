package tarball

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Zip is the "compression" of a zip archive: Diff compares two zip
// archives member by member (see diffZip). A zip is never extracted.
const Zip Compression = "zip"

// Zip signatures: a local file header (an archive with members) or the
// end of central directory record (an empty archive).
var (
	zipLocalMagic = []byte("PK\x03\x04")
	zipEmptyMagic = []byte("PK\x05\x06")
)

// isZip reports whether the file at p starts with a zip signature. A file
// that cannot be read is not a zip; the tar path reports the error.
func isZip(p string) bool {
	f, err := OpenFile(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return bytes.Equal(b[:], zipLocalMagic) || bytes.Equal(b[:], zipEmptyMagic)
}

// zipSide is one zip input: its central directory and, per member, the
// digests of its content and of its compressed bytes.
type zipSide struct {
	name    string
	f       *os.File
	size    int64
	sha256  string
	zr      *zip.Reader
	members []*zipMember
	counts  map[string]int // members read so far with each name
	// read counts the uncompressed bytes read, bounded by limit;
	// compressed the compressed bytes of the members read so far.
	read, compressed, limit int64
}

type zipMember struct {
	f     *zip.File
	index int
	key   memberKey
	// sha256 and rawSHA256 are the digests of the content and of the
	// stored (compressed) bytes; text is the sniffer's verdict.
	sha256, rawSHA256 string
	text              bool
	link              string // symlink target (content of a symlink member, up to 4 KiB)
}

// fail wraps a zip problem in an *InputError naming the input.
func (z *zipSide) fail(err error) error {
	var le *LimitError
	switch {
	case errors.As(err, &le), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &InputError{Name: z.name, Offset: -1, Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = fmt.Errorf("%w: zip member data ends early: %v", ErrTruncated, err)
	case errors.Is(err, zip.ErrChecksum):
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	case errors.Is(err, zip.ErrAlgorithm):
		err = fmt.Errorf("%w: %v", ErrUnsupported, err)
	case errors.Is(err, zip.ErrFormat):
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &InputError{Name: z.name, Offset: -1, Err: err}
}

// openZip reads the central directory of the zip at p and refuses, before
// reading any member, an archive whose members declare more than limit
// uncompressed bytes in total.
func openZip(ctx context.Context, p string, limit int64) (*zipSide, error) {
	f, err := OpenFile(p)
	if err != nil {
		return nil, err
	}
	z := &zipSide{name: p, f: f, limit: limit, counts: map[string]int{}}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return nil, z.fail(err)
	}
	z.size, z.sha256 = n, hex.EncodeToString(h.Sum(nil))
	zr, err := zip.NewReader(f, n)
	if errors.Is(err, zip.ErrInsecurePath) {
		err = nil // reported as unsafe-path warnings; nothing is extracted
	}
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return nil, z.fail(fmt.Errorf("%w: no valid zip end of central directory record (cut short, or not a zip): %v", ErrTruncated, err))
		}
		return nil, z.fail(err)
	}
	z.zr = zr
	var declared uint64
	for _, zf := range zr.File {
		if declared += zf.UncompressedSize64; declared < zf.UncompressedSize64 || declared > uint64(limit) {
			return nil, z.fail(&LimitError{Limit: limit, Compressed: n})
		}
	}
	ok = true
	return z, nil
}

func (z *zipSide) close() { z.f.Close() }

// hash reads every member once, decompressed (verifying its CRC-32) and
// stored, for the digests.
func (z *zipSide) hash(ctx context.Context) error {
	for i, zf := range z.zr.File {
		if err := ctx.Err(); err != nil {
			return z.fail(err)
		}
		m := &zipMember{f: zf, index: i, key: memberKey{zf.Name, z.counts[zf.Name]}}
		z.counts[zf.Name]++
		z.compressed += int64(zf.CompressedSize64)
		h := sha256.New()
		var sn sniffer
		link := limitedBuffer{b: &bytes.Buffer{}, max: 4096}
		w := io.Writer(io.MultiWriter(h, &sn))
		if zf.Mode()&fs.ModeSymlink != 0 {
			w = io.MultiWriter(w, &link)
		}
		if err := z.copyMember(ctx, w, zf); err != nil {
			return err
		}
		m.sha256, m.text, m.link = hex.EncodeToString(h.Sum(nil)), !sn.nul, link.b.String()
		raw, err := zf.OpenRaw()
		if err != nil {
			return z.fail(fmt.Errorf("member %s: %w", display(zf.Name), err))
		}
		rh := sha256.New()
		if _, err := io.Copy(rh, ctxReader{ctx, raw}); err != nil {
			return z.fail(fmt.Errorf("member %s: %w", display(zf.Name), err))
		}
		m.rawSHA256 = hex.EncodeToString(rh.Sum(nil))
		z.members = append(z.members, m)
	}
	return nil
}

// copyMember writes the decompressed content of zf to w, counting it
// against the size limit.
func (z *zipSide) copyMember(ctx context.Context, w io.Writer, zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return z.fail(fmt.Errorf("member %s: %w", display(zf.Name), err))
	}
	defer rc.Close()
	if _, err := io.Copy(w, &zipLimitReader{z: z, r: ctxReader{ctx, rc}}); err != nil {
		return z.fail(fmt.Errorf("member %s: %w", display(zf.Name), err))
	}
	return nil
}

// zipLimitReader counts decompressed bytes against zipSide.limit.
type zipLimitReader struct {
	z *zipSide
	r io.Reader
}

func (l *zipLimitReader) Read(p []byte) (int, error) {
	if l.z.read >= l.z.limit {
		return 0, &LimitError{Limit: l.z.limit, Compressed: l.z.compressed}
	}
	if left := l.z.limit - l.z.read; int64(len(p)) > left {
		p = p[:left+1] // one byte more shows the limit is exceeded
	}
	n, err := l.r.Read(p)
	l.z.read += int64(n)
	if l.z.read > l.z.limit {
		return n, &LimitError{Limit: l.z.limit, Compressed: l.z.compressed}
	}
	return n, err
}

// content returns the decompressed content of a member for a unified
// diff (the caller bounds its size).
func (z *zipSide) content(ctx context.Context, m *zipMember) ([]byte, error) {
	var b bytes.Buffer
	if err := z.copyMember(ctx, &b, m.f); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (z *zipSide) info() FileInfo {
	var total int64
	for _, zf := range z.zr.File {
		total += int64(zf.UncompressedSize64)
	}
	return FileInfo{Name: z.name, SHA256: z.sha256, Size: z.size, TarSize: total, Members: len(z.zr.File),
		Compression: CompressionInfo{Format: Zip, Size: z.size}, Formats: []string{"zip"}}
}

// diffZip compares two zip archives member by member: names (with
// occurrence, as for tar), order, header fields of the central directory
// (type, mode, mtime, MS-DOS time, size, CRC-32, method, flags, versions,
// external attributes, extra fields, comment), content (SHA-256 of the
// decompressed data, unified diffs of text) and, for equal content, the
// compressed bytes. Member names that would escape an extraction
// directory are warnings; nothing is written to disk. The total
// decompressed size of each archive is bounded by WithMaxSize.
func diffZip(ctx context.Context, a, b string, opts ...Option) (*DiffResult, error) {
	o := makeOptions(opts)
	za, err := openZip(ctx, a, o.maxSize)
	if err != nil {
		return nil, err
	}
	defer za.close()
	zb, err := openZip(ctx, b, o.maxSize)
	if err != nil {
		return nil, err
	}
	defer zb.close()
	if err := za.hash(ctx); err != nil {
		return nil, err
	}
	if err := zb.hash(ctx); err != nil {
		return nil, err
	}
	res := &DiffResult{A: za.info(), B: zb.info(), zip: true}
	if o.diff.labelA != "" {
		res.A.Name, res.B.Name = o.diff.labelA, o.diff.labelB
	}
	res.tarIdentical = res.Identical()

	mt := newMatcher(o.diff)
	for side, z := range []*zipSide{za, zb} {
		for name, n := range z.counts { // the warnings they feed are sorted
			mt.counts.set(name, side, int32(n))
		}
	}
	mt.warnA, mt.warnB = zipWarnings(za.members), zipWarnings(zb.members)
	res.Warnings = mt.warnings()
	if res.Identical() {
		return res, nil
	}

	inB := make(map[memberKey]*zipMember, len(zb.members))
	for _, m := range zb.members {
		inB[m.key] = m
	}
	var fs []Finding
	var budget int64
	var pairs []matchedPair
	var pairKeys []memberKey
	matched := map[memberKey]bool{}
	for _, ma := range za.members {
		mb := inB[ma.key]
		if mb == nil {
			fs = append(fs, Finding{Kind: KindOnlyInA, Path: display(ma.f.Name), Occurrence: occurrence(ma.key, mt.counts), Note: zipType(ma.f)})
			continue
		}
		matched[ma.key] = true
		pairs = append(pairs, matchedPair{a: int32(ma.index), b: int32(mb.index)})
		pairKeys = append(pairKeys, ma.key)
		occ := occurrence(ma.key, mt.counts)
		for _, f := range compareZipHeaders(ma.f, mb.f) {
			f.Path, f.Occurrence = display(ma.f.Name), occ
			fs = append(fs, f)
		}
		switch {
		case ma.sha256 != mb.sha256:
			f := Finding{Kind: KindContent, Path: display(ma.f.Name), Occurrence: occ,
				Old: fmt.Sprintf("size %d sha256 %s", ma.f.UncompressedSize64, ma.sha256),
				New: fmt.Sprintf("size %d sha256 %s", mb.f.UncompressedSize64, mb.sha256)}
			sa, sb := int64(ma.f.UncompressedSize64), int64(mb.f.UncompressedSize64)
			switch {
			case !ma.text || !mb.text:
				f.Note = "binary"
			case o.diff.noContent || o.diff.maxDiffLines <= 0:
			case sa > o.diff.maxTextSize || sb > o.diff.maxTextSize:
				f.Note = fmt.Sprintf("text diff omitted: larger than %s", humanBytes(o.diff.maxTextSize))
			case budget+sa+sb > o.diff.maxTextTotal:
				f.Note = fmt.Sprintf("text diff omitted: total text diff budget of %s used", humanBytes(o.diff.maxTextTotal))
			default:
				budget += sa + sb
				ca, err := za.content(ctx, ma)
				if err != nil {
					return nil, err
				}
				cb, err := zb.content(ctx, mb)
				if err != nil {
					return nil, err
				}
				setDiff(&f, unifiedDiff("a/"+f.Path, ca, "b/"+f.Path, cb), o.diff.maxDiffLines)
			}
			fs = append(fs, f)
		case ma.rawSHA256 != mb.rawSHA256:
			fs = append(fs, Finding{Kind: KindCompression, Path: display(ma.f.Name), Occurrence: occ, Field: "zip compressed data",
				Old:  fmt.Sprintf("%d bytes sha256 %s", ma.f.CompressedSize64, ma.rawSHA256),
				New:  fmt.Sprintf("%d bytes sha256 %s", mb.f.CompressedSize64, mb.rawSHA256),
				Note: "same content; different compressor, level or settings"})
		}
	}
	for _, mb := range zb.members {
		if !matched[mb.key] {
			fs = append(fs, Finding{Kind: KindOnlyInB, Path: display(mb.f.Name), Occurrence: occurrence(mb.key, mt.counts), Note: zipType(mb.f)})
		}
	}
	keep := lis(pairs)
	for i, p := range pairs {
		if !keep[i] {
			fs = append(fs, Finding{Kind: KindOrder, Path: display(pairKeys[i].name), Occurrence: occurrence(pairKeys[i], mt.counts),
				Field: "position", Old: strconv.Itoa(int(p.a)), New: strconv.Itoa(int(p.b))})
		}
	}
	fs = add(fs, KindArchive, "members", strconv.Itoa(len(za.members)), strconv.Itoa(len(zb.members)))
	fs = add(fs, KindArchive, "zip comment", strconv.Quote(za.zr.Comment), strconv.Quote(zb.zr.Comment))
	if len(fs) == 0 {
		fs = append(fs, Finding{Kind: KindArchive, Field: "zip bytes",
			Old:  fmt.Sprintf("%d bytes sha256 %s", za.size, za.sha256),
			New:  fmt.Sprintf("%d bytes sha256 %s", zb.size, zb.sha256),
			Note: "zip bytes differ outside the compared fields (local headers, data descriptors, central directory layout)"})
	}
	sortFindings(fs)
	classify(fs)
	classifyZip(fs)
	res.Findings = fs
	return res, nil
}

// classifyZip corrects the classes classify gives the zip-only header
// fields: a CRC-32 or compressed size follows the member's content (or is
// compression when the content is equal), the MS-DOS time and the
// extended timestamp are mtimes, the Unix uid/gid block is the owner,
// the external attributes the mode, and the method and the deflate
// level bits of the flags compression.
func classifyZip(fs []Finding) {
	content := map[string]Class{}
	key := func(f *Finding) string { return f.Path + "\x00" + strconv.Itoa(f.Occurrence) }
	for i := range fs {
		if fs[i].Kind == KindContent {
			content[key(&fs[i])] = fs[i].Class
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Kind != KindHeader {
			continue
		}
		switch {
		case f.Field == "crc32" || f.Field == "zip compressed size":
			if c, ok := content[key(f)]; ok {
				f.Class = c
			} else {
				f.Class = ClassCompression
			}
		case f.Field == "zip method":
			f.Class = ClassCompression
		case f.Field == "zip flags":
			// Bits 1 and 2 are the deflate level (APPNOTE 4.4.4).
			var a, b uint16
			fmt.Sscanf(f.Old, "0x%x", &a)
			fmt.Sscanf(f.New, "0x%x", &b)
			if (a^b)&^0x6 == 0 {
				f.Class = ClassCompression
			}
		case f.Field == "zip dos time" || f.Field == "zip extra "+zipExtraID(0x5455) || f.Field == "zip extra "+zipExtraID(0x000a):
			f.Class = ClassMtime
		case f.Field == "zip extra "+zipExtraID(0x7875) || f.Field == "zip extra "+zipExtraID(0x5855) || f.Field == "zip extra "+zipExtraID(0x7855):
			f.Class = ClassOwner
		case f.Field == "zip external attrs":
			f.Class = ClassMode
		}
	}
}

// zipSummary is DiffResult.Summary for zip archives: the findings per
// class.
func (d *DiffResult) zipSummary() string {
	var parts []string
	for _, c := range d.ClassCounts() {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Class))
	}
	return "zip archives differ: " + strings.Join(parts, " · ")
}

func zipType(f *zip.File) string {
	m := f.Mode()
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsRegular():
		return "file"
	}
	return m.Type().String()
}

var zipMethods = map[uint16]string{zip.Store: "store", zip.Deflate: "deflate", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz"}

func zipMethod(m uint16) string {
	if s, ok := zipMethods[m]; ok {
		return fmt.Sprintf("%s (%d)", s, m)
	}
	return strconv.Itoa(int(m))
}

// zipHosts names the "version made by" host systems of APPNOTE 4.4.2.
var zipHosts = map[uint16]string{0: "msdos", 3: "unix", 10: "ntfs", 19: "osx"}

func zipVersion(v uint16) string {
	s := fmt.Sprintf("%d.%d", (v&0xff)/10, (v&0xff)%10)
	if h, ok := zipHosts[v>>8]; ok {
		return s + " " + h
	}
	return fmt.Sprintf("%s host %d", s, v>>8)
}

// zipDOSTime renders the MS-DOS date and time fields of the central
// directory (local time of the writer, 2-second resolution).
func zipDOSTime(f *zip.File) string {
	d, t := f.ModifiedDate, f.ModifiedTime //nolint:staticcheck // the raw fields are what differs
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", int(d>>9)+1980, d>>5&0xf, d&0x1f, t>>11, t>>5&0x3f, int(t&0x1f)*2)
}

// zipExtra splits an extra field into its blocks, by header id; ok is
// false when it is malformed.
func zipExtra(b []byte) (ids []uint16, blocks map[uint16][]byte, ok bool) {
	blocks = map[uint16][]byte{}
	for len(b) >= 4 {
		id, n := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if 4+n > len(b) {
			return nil, nil, false
		}
		if _, dup := blocks[id]; !dup {
			ids = append(ids, id)
		}
		blocks[id] = append(blocks[id], b[4:4+n]...)
		b = b[4+n:]
	}
	return ids, blocks, len(b) == 0
}

// zipExtraNames are well-known extra field ids (APPNOTE 4.5, Info-ZIP).
var zipExtraNames = map[uint16]string{0x0001: "zip64", 0x000a: "ntfs", 0x5455: "UT extended timestamp",
	0x7875: "ux unix uid/gid", 0x5855: "UX old unix", 0x7855: "Ux unix", 0xcafe: "jar"}

func zipExtraID(id uint16) string {
	if n, ok := zipExtraNames[id]; ok {
		return fmt.Sprintf("0x%04x %s", id, n)
	}
	return fmt.Sprintf("0x%04x", id)
}

func zipExtraList(ids []uint16, blocks map[uint16][]byte) string {
	if len(ids) == 0 {
		return "(none)"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprintf("%s (%d bytes)", zipExtraID(id), len(blocks[id]))
	}
	return strings.Join(s, ", ")
}

// compareZipHeaders compares the central directory fields of two members.
func compareZipHeaders(a, b *zip.File) []Finding {
	var fs []Finding
	const k = KindHeader
	fs = add(fs, k, "type", zipType(a), zipType(b))
	fs = add(fs, k, "mode", fmt.Sprintf("%04o", a.Mode().Perm()), fmt.Sprintf("%04o", b.Mode().Perm()))
	fs = add(fs, k, "mtime", fmtTime(a.Modified), fmtTime(b.Modified))
	fs = add(fs, k, "zip dos time", zipDOSTime(a), zipDOSTime(b))
	fs = add(fs, k, "size", strconv.FormatUint(a.UncompressedSize64, 10), strconv.FormatUint(b.UncompressedSize64, 10))
	fs = add(fs, k, "crc32", fmt.Sprintf("%08x", a.CRC32), fmt.Sprintf("%08x", b.CRC32))
	fs = add(fs, k, "zip method", zipMethod(a.Method), zipMethod(b.Method))
	fs = add(fs, k, "zip compressed size", strconv.FormatUint(a.CompressedSize64, 10), strconv.FormatUint(b.CompressedSize64, 10))
	fs = add(fs, k, "zip flags", fmt.Sprintf("0x%04x", a.Flags), fmt.Sprintf("0x%04x", b.Flags))
	fs = add(fs, k, "zip made by", zipVersion(a.CreatorVersion), zipVersion(b.CreatorVersion))
	fs = add(fs, k, "zip needed version", fmt.Sprintf("%d.%d", a.ReaderVersion/10, a.ReaderVersion%10), fmt.Sprintf("%d.%d", b.ReaderVersion/10, b.ReaderVersion%10))
	fs = add(fs, k, "zip external attrs", fmt.Sprintf("0x%08x", a.ExternalAttrs), fmt.Sprintf("0x%08x", b.ExternalAttrs))
	fs = add(fs, k, "zip comment", strconv.Quote(a.Comment), strconv.Quote(b.Comment))
	idsA, blA, okA := zipExtra(a.Extra)
	idsB, blB, okB := zipExtra(b.Extra)
	if !okA || !okB {
		fs = add(fs, k, "zip extra", hex.EncodeToString(a.Extra), hex.EncodeToString(b.Extra))
		return fs
	}
	fs = add(fs, k, "zip extra", zipExtraList(idsA, blA), zipExtraList(idsB, blB))
	for _, id := range idsA {
		if xb, ok := blB[id]; ok {
			fs = add(fs, k, "zip extra "+zipExtraID(id), hex.EncodeToString(blA[id]), hex.EncodeToString(xb))
		}
	}
	return fs
}

// zipWarnings lists suspicious members: names that would escape an
// extraction directory, names that are not UTF-8 and symlinks leaving the
// archive. Duplicate names are added by matcher.warnings.
func zipWarnings(ms []*zipMember) []Finding {
	var out []Finding
	for _, m := range ms {
		w := func(field, detail string) {
			out = append(out, Finding{Kind: KindWarning, Path: display(m.f.Name), Field: field, Old: detail})
		}
		name := m.f.Name
		if !utf8.ValidString(name) {
			w("non-utf8-name", "name is not valid UTF-8")
		}
		if unsafePath(name) || (len(name) >= 2 && name[1] == ':') {
			w("unsafe-path", "absolute, a drive letter or contains '..'; would write outside the extraction directory")
		}
		if m.f.Mode()&fs.ModeSymlink != 0 {
			target := m.link
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			if path.IsAbs(target) || target == ".." || strings.HasPrefix(target, "../") {
				w("link-outside", "symlink to "+display(m.link)+" points outside the archive")
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
