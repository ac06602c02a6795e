package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"time"
)

// DefaultMaxSize is the default limit on decompressed bytes (and on the
// sum of member content sizes, which sparse members can inflate).
const DefaultMaxSize int64 = 64 << 30

// Option configures Open, Diff, Normalize and Checksum.
type Option func(*options)

type options struct {
	maxSize int64
	xz      XZDecoder
	name    string
	sink    func(*Member) io.Writer
	ahead   bool
	diff    diffOptions
	norm    normalizeOptions
}

func makeOptions(opts []Option) options {
	o := options{maxSize: DefaultMaxSize, xz: XZExec, name: "input",
		diff: diffOptions{maxDiffLines: DefaultMaxDiffLines, maxTextSize: 1 << 20, maxTextTotal: 64 << 20}}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithMaxSize limits the decompressed size of the tar stream and the total
// member content read (default DefaultMaxSize). Exceeding it fails with a
// *LimitError.
func WithMaxSize(n int64) Option { return func(o *options) { o.maxSize = n } }

// WithXZDecoder selects the xz decoder (default XZExec).
func WithXZDecoder(d XZDecoder) Option { return func(o *options) { o.xz = d } }

// WithName sets the input name used in errors (default "input").
func WithName(name string) Option { return func(o *options) { o.name = name } }

// withContent makes Next copy the content of each member for which fn
// returns a non-nil writer.
func withContent(fn func(*Member) io.Writer) Option { return func(o *options) { o.sink = fn } }

// WithContent makes Next copy the content of each member for which fn
// returns a non-nil writer, while it hashes it (the writer sees the bytes
// before Member.SHA256 and Member.Text are set). A write error fails Next.
func WithContent(fn func(*Member) io.Writer) Option { return withContent(fn) }

// withReadAhead decompresses in a goroutine of its own (see readAhead),
// which also hashes the tar stream under WithTarSHA256, and digests the
// tar stream's skeleton (Reader.skeleton) for Diff.
func withReadAhead() Option { return func(o *options) { o.ahead = true } }

// WithTarSHA256 makes Diff report the SHA-256 of each uncompressed tar
// stream (FileInfo.TarSHA256), at the cost of hashing both streams.
// Whether the tar streams are identical is known without it.
func WithTarSHA256() Option { return func(o *options) { o.diff.tarSHA256 = true } }

// Member is one tar entry as stored: every header field plus the SHA-256
// of its content.
type Member struct {
	Index      int               `json:"index"`  // position among members, from 0
	Offset     int64             `json:"offset"` // offset of its first header block in the tar stream
	Name       string            `json:"name"`
	Typeflag   byte              `json:"typeflag"`
	Mode       int64             `json:"mode"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	Uname      string            `json:"uname"`
	Gname      string            `json:"gname"`
	ModTime    time.Time         `json:"mtime"`
	AccessTime time.Time         `json:"atime,omitzero"`
	ChangeTime time.Time         `json:"ctime,omitzero"`
	Size       int64             `json:"size"`
	Linkname   string            `json:"linkname,omitempty"`
	Devmajor   int64             `json:"devmajor,omitempty"`
	Devminor   int64             `json:"devminor,omitempty"`
	PAXRecords map[string]string `json:"pax,omitempty"`
	// Format is how the header is encoded: "ustar", "pax" (ustar with a
	// pax extended header), "gnu" or "v7".
	Format string `json:"format"`
	// SHA256 is the hex SHA-256 of the content (of the empty string for
	// entries without content).
	SHA256 string `json:"sha256"`
	// HeaderSHA256 is the hex SHA-256 of the raw header blocks, including
	// pax and GNU long-name blocks.
	HeaderSHA256 string `json:"header_sha256"`
	// Text reports that the content has no NUL byte in its first 8000
	// bytes (git's heuristic). A sparse member is never text.
	Text bool `json:"text"`

	sparse *sparseInfo // nil unless a sparse member (see sparse.go)
}

// GlobalHeader is a pax global extended header ('g'), for example git
// archive's "comment" record holding the commit id.
type GlobalHeader struct {
	Before  int               `json:"before_member"` // index of the member that follows it
	Records map[string]string `json:"records"`
}

// Archive holds archive-level facts, complete once Next returned io.EOF.
type Archive struct {
	Compression   CompressionInfo `json:"compression"`
	Formats       []string        `json:"formats"` // sorted set of member header formats
	GlobalHeaders []GlobalHeader  `json:"global_headers,omitempty"`
	Members       int             `json:"members"`
	// TarSize is the size of the uncompressed tar stream.
	TarSize int64 `json:"tar_size"`
	// TarSHA256 is the hex SHA-256 of the uncompressed tar stream; empty
	// when a Diff without WithTarSHA256 read it.
	TarSHA256 string `json:"tar_sha256,omitempty"`
	// EndMarkerBlocks is the number of zero blocks that ended the archive
	// (2 is correct; GNU tar and Go also accept 0 or 1).
	EndMarkerBlocks int `json:"end_marker_blocks"`
	// TrailingBytes counts bytes after the end-of-archive marker, usually
	// zero padding up to the record size (GNU tar and git: 10240).
	TrailingBytes int64 `json:"trailing_bytes"`
	// TrailingNonZero counts the non-zero bytes among TrailingBytes.
	TrailingNonZero int64 `json:"trailing_nonzero,omitempty"`
}

// Reader streams the members of a possibly compressed tar archive.
// Each call to Next reads one member's header and content; nothing is
// kept in memory beyond one member's header.
type Reader struct {
	ctx     context.Context
	opts    options
	dec     *decoder
	ra      *readAhead // nil unless withReadAhead
	ts      *tarStream
	tr      *tar.Reader
	archive Archive
	formats map[string]bool
	content int64  // member content bytes read so far
	err     error  // sticky
	buf     []byte // copy buffer reused for every member
	// skeleton is the SHA-256 of the tar stream without member contents
	// (headers, padding, end marker, trailing bytes), set at the end of a
	// read-ahead Reader.
	skeleton []byte
	cw       contentWriter
	lr       io.LimitedReader
}

// contentWriter hashes and sniffs member content and copies it to an
// optional sink; one is reused for every member.
type contentWriter struct {
	h    hash.Hash
	sn   sniffer
	sink io.Writer
}

func (c *contentWriter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.sn.Write(p)
	if c.sink != nil {
		return c.sink.Write(p)
	}
	return len(p), nil
}

// Open detects the compression of r from its magic bytes and returns a
// Reader. Close it to release the decompressor.
func Open(ctx context.Context, r io.Reader, opts ...Option) (*Reader, error) {
	o := makeOptions(opts)
	dec, err := newDecoder(ctx, r, o.maxSize, o.xz)
	if err != nil {
		return nil, &InputError{Name: o.name, Offset: -1, Err: err}
	}
	ts := &tarStream{ctx: ctx, r: dec.r, hash: sha256.New()}
	var ra *readAhead
	if o.ahead {
		ra = newReadAhead(dec.r, o.diff.tarSHA256)
		ts = &tarStream{ctx: ctx, r: ra, skel: sha256.New()}
	}
	return &Reader{
		ctx: ctx, opts: o, dec: dec, ra: ra, ts: ts, tr: tar.NewReader(ts),
		archive: Archive{Compression: dec.info}, formats: map[string]bool{},
		buf: make([]byte, 64<<10), cw: contentWriter{h: sha256.New()},
	}, nil
}

// Close releases the decompressor (and stops an xz process).
func (r *Reader) Close() error {
	if r.ra != nil {
		r.ra.close()
	}
	return r.dec.Close()
}

// Archive returns the archive-level facts; they are complete after Next
// returned io.EOF.
func (r *Reader) Archive() *Archive { return &r.archive }

// Next reads the next member, its content and content hash. It returns
// io.EOF after the last member; other errors are *InputError values
// wrapping ErrTruncated, ErrCorrupt or ErrTooLarge and are sticky.
func (r *Reader) Next() (*Member, error) {
	m, err := r.nextHeader()
	if err != nil {
		return nil, err
	}
	if err := r.readContent(m); err != nil {
		return nil, r.fail(err)
	}
	return m, nil
}

// nextHeader reads the next member's header, leaving its content unread
// for readContent or readChunk. Errors are sticky and wrapped like Next's.
func (r *Reader) nextHeader() (*Member, error) {
	if r.err != nil {
		return nil, r.err
	}
	m, err := r.next()
	if err != nil {
		return nil, r.fail(err)
	}
	return m, nil
}

// fail records err as the sticky error: io.EOF as is, anything else as an
// *InputError naming the input and the tar offset.
func (r *Reader) fail(err error) error {
	if r.err != nil {
		return r.err
	}
	if errors.Is(err, io.EOF) {
		r.err = io.EOF
		return io.EOF
	}
	r.err = &InputError{Name: r.opts.name, Offset: r.ts.off, Err: mapTarErr(err)}
	return r.err
}

func mapTarErr(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrTruncated), errors.Is(err, ErrCorrupt),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: tar stream ends inside a header or member", ErrTruncated)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("%w: invalid tar header (bad checksum or magic)", ErrCorrupt)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

func (r *Reader) next() (*Member, error) {
	for {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		start := r.ts.off
		r.ts.startHeader()
		hdr, err := r.tr.Next()
		raw := r.ts.endHeader()
		if errors.Is(err, io.EOF) {
			return nil, r.finish(start)
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, err
		}
		pad := (512 - start%512) % 512
		if int64(len(raw)) >= pad {
			raw = raw[pad:]
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			r.archive.GlobalHeaders = append(r.archive.GlobalHeaders, GlobalHeader{Before: r.archive.Members, Records: hdr.PAXRecords})
			r.formats["pax"] = true
			continue
		}
		hs := sha256.Sum256(raw)
		m := &Member{
			Index: r.archive.Members, Offset: start + pad,
			Name: hdr.Name, Typeflag: hdr.Typeflag, Mode: hdr.Mode, UID: hdr.Uid, GID: hdr.Gid,
			Uname: hdr.Uname, Gname: hdr.Gname, ModTime: hdr.ModTime.UTC(), Size: hdr.Size,
			Linkname: hdr.Linkname, Devmajor: hdr.Devmajor, Devminor: hdr.Devminor,
			PAXRecords: hdr.PAXRecords, Format: headerFormat(raw), HeaderSHA256: hex.EncodeToString(hs[:]),
		}
		if !hdr.AccessTime.IsZero() {
			m.AccessTime = hdr.AccessTime.UTC()
		}
		if !hdr.ChangeTime.IsZero() {
			m.ChangeTime = hdr.ChangeTime.UTC()
		}
		if isSparse(hdr) {
			if r.ts.headerLost {
				return nil, fmt.Errorf("%w: sparse member headers larger than %d bytes", ErrCorrupt, maxHeaderCapture)
			}
			if m.sparse, err = parseSparse(hdr, raw); err != nil {
				return nil, err
			}
		}
		r.formats[m.Format] = true
		r.archive.Members++
		return m, nil
	}
}

// readContent hashes the member content, bounded by the size limit. A
// sparse member is charged its declared size up front and hashed as map
// plus stored data (readSparse), unless a sink wants its expanded bytes.
func (r *Reader) readContent(m *Member) error {
	var sink io.Writer
	if r.opts.sink != nil {
		sink = r.opts.sink(m)
	}
	if m.sparse != nil {
		if m.Size > r.opts.maxSize-r.content {
			return &LimitError{Limit: r.opts.maxSize, Compressed: r.dec.cr.n.Load(), Sparse: m.Size}
		}
		if sink == nil {
			r.content += m.Size
			return r.readSparse(m)
		}
	}
	w := &r.cw
	w.h.Reset()
	w.sn = sniffer{}
	w.sink = sink
	budget := r.opts.maxSize - r.content
	r.lr = io.LimitedReader{R: r.tr, N: budget + 1}
	r.ts.inContent = true
	// The context is checked per buffer: archive/tar expands a sparse
	// member's holes without reading the stream below it.
	n, err := io.CopyBuffer(w, ctxReader{r.ctx, &r.lr}, r.buf)
	r.ts.inContent = false
	w.sink = nil
	r.content += n
	if err != nil {
		return err
	}
	if n > budget {
		return &LimitError{Limit: r.opts.maxSize, Compressed: r.dec.cr.n.Load()}
	}
	var sum [sha256.Size]byte
	m.SHA256 = hex.EncodeToString(w.h.Sum(sum[:0]))
	m.Text = !w.sn.nul
	return nil
}

// discardContent skips the current member's content without hashing it
// (Checksum): a regular member's bytes go by with the tar stream, a sparse
// member's stored data is read without expanding its holes.
func (r *Reader) discardContent(m *Member) error {
	if m.sparse == nil {
		return nil // archive/tar skips it before the next header
	}
	// Charged as readContent charges it, so that Checksum refuses what
	// Diff and Normalize refuse.
	if m.Size > r.opts.maxSize-r.content {
		return &LimitError{Limit: r.opts.maxSize, Compressed: r.dec.cr.n.Load(), Sparse: m.Size}
	}
	r.content += m.Size
	r.ts.inContent = true
	defer func() { r.ts.inContent = false }()
	if m.sparse.phys == 0 {
		return nil
	}
	n, err := io.CopyN(io.Discard, ctxReader{r.ctx, r.ts}, m.sparse.phys-1)
	if err == nil {
		var last [1]byte
		if _, err = io.ReadFull(r.ts, last[:]); err == nil {
			r.ts.skip(m.sparse.phys, last[0])
			return nil
		}
	}
	if errors.Is(err, io.EOF) && n < m.sparse.phys {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// ctxReader fails with the context's error once it is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// readChunk reads exactly len(p) bytes of the current member's content
// (the caller keeps within the member's size), bounded by the size limit.
func (r *Reader) readChunk(p []byte) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	r.ts.inContent = true
	n, err := io.ReadFull(r.tr, p)
	r.ts.inContent = false
	r.content += int64(n)
	if r.content > r.opts.maxSize {
		return &LimitError{Limit: r.opts.maxSize, Compressed: r.dec.cr.n.Load()}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the header promised more
	}
	return err
}

// finish records the end-of-archive facts and drains the streams.
func (r *Reader) finish(start int64) error {
	pad := (512 - start%512) % 512
	r.archive.EndMarkerBlocks = int((r.ts.off - start - pad) / 512)
	endOff := r.ts.off
	zc := &zeroCounter{}
	if _, err := io.Copy(zc, r.ts); err != nil {
		return err
	}
	r.archive.TrailingBytes = r.ts.off - endOff
	r.archive.TrailingNonZero = zc.nonzero
	r.archive.TarSize = r.ts.off
	switch {
	case r.ts.hash != nil:
		r.archive.TarSHA256 = hex.EncodeToString(r.ts.hash.Sum(nil))
	case r.ra != nil && r.ra.hash != nil:
		r.archive.TarSHA256 = hex.EncodeToString(r.ra.hash.Sum(nil))
	}
	if r.ts.skel != nil {
		r.skeleton = r.ts.skel.Sum(nil)
	}
	// Drain what the decompressor left (gzip trailing bytes, xz index).
	if _, err := io.Copy(io.Discard, r.dec.cr); err != nil {
		return err
	}
	r.archive.Compression = r.dec.info
	r.archive.Compression.Size = r.dec.cr.n.Load()
	for f := range r.formats {
		r.archive.Formats = append(r.archive.Formats, f)
	}
	sort.Strings(r.archive.Formats)
	return io.EOF
}

// headerFormat classifies raw header blocks (meta headers first).
func headerFormat(raw []byte) string {
	format := ""
	for len(raw) >= 512 {
		blk := raw[:512]
		typ := blk[156]
		switch typ {
		case tar.TypeXHeader, tar.TypeXGlobalHeader:
			format = "pax"
		case tar.TypeGNULongName, tar.TypeGNULongLink:
			if format == "" {
				format = "gnu"
			}
		default:
			magic := string(blk[257:265])
			switch {
			case format != "":
			case magic == "ustar\x0000":
				format = "ustar"
			case magic == "ustar  \x00":
				format = "gnu"
			default:
				format = "v7"
			}
			return format
		}
		size := parseOctal(blk[124:136])
		skip := 512 + (size+511)/512*512
		if skip <= 0 || skip > int64(len(raw)) {
			break
		}
		raw = raw[skip:]
	}
	if format == "" {
		return "unknown"
	}
	return format
}

func parseOctal(b []byte) int64 {
	var n int64
	for _, c := range bytes.Trim(b, " \x00") {
		if c < '0' || c > '7' {
			return -1
		}
		n = n*8 + int64(c-'0')
		if n > 1<<40 {
			return -1
		}
	}
	return n
}

// tarStream counts and hashes the uncompressed tar bytes and captures the
// raw header blocks read by archive/tar.
type tarStream struct {
	// ctx is checked on every read, so that archive/tar skipping a huge
	// member (or the trailing bytes of a bomb) stops once it is done.
	ctx        context.Context
	r          io.Reader
	off        int64
	hash       hash.Hash // nil when a readAhead hashes the stream
	skel       hash.Hash // nil, or everything but member contents (read-ahead)
	inContent  bool      // the bytes being read are member content
	inHeader   bool
	headerBuf  []byte
	headerLost bool
	// credit is stored data of a sparse member that was read ahead of
	// archive/tar, which skips it with Seek; pending is its last byte,
	// served to the one-byte read archive/tar makes after seeking.
	credit  int64
	pending []byte
}

// errSeek is what tarStream.Seek returns when archive/tar is to read,
// not skip.
var errSeek = errors.New("tarball: tar stream is not seekable")

// skip records that n bytes of stored data ending with last were read
// past archive/tar, which will skip them next.
func (t *tarStream) skip(n int64, last byte) {
	t.credit = n - 1
	t.pending = append(t.pending[:0], last)
}

// Seek lets archive/tar skip data already read (see skip); any other
// seek fails, so archive/tar reads instead.
func (t *tarStream) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || t.credit == 0 {
		return 0, errSeek
	}
	pos := t.off - t.credit - int64(len(t.pending))
	switch offset {
	case 0:
		return pos, nil
	case t.credit:
		t.credit = 0
		return pos + offset, nil
	}
	return 0, fmt.Errorf("%w: %w: %d bytes stored, %d expected", ErrCorrupt, errSparse, t.credit+1, offset+1)
}

// maxHeaderCapture bounds the captured raw header bytes (archive/tar
// itself limits pax and long-name data to 1 MiB).
const maxHeaderCapture = 2 << 20

func (t *tarStream) Read(p []byte) (int, error) {
	if len(t.pending) > 0 && t.credit == 0 {
		// Already counted and hashed when it was read ahead.
		n := copy(p, t.pending)
		t.pending = t.pending[n:]
		return n, nil
	}
	if err := t.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := t.r.Read(p)
	if t.hash != nil {
		t.hash.Write(p[:n])
	}
	if t.skel != nil && !t.inContent {
		t.skel.Write(p[:n])
	}
	t.off += int64(n)
	if t.inHeader {
		if len(t.headerBuf)+n <= maxHeaderCapture {
			t.headerBuf = append(t.headerBuf, p[:n]...)
		} else {
			t.headerLost = true
		}
	}
	return n, err
}

func (t *tarStream) startHeader() {
	t.inHeader = true
	t.headerBuf = t.headerBuf[:0]
	t.headerLost = false
}

func (t *tarStream) endHeader() []byte {
	t.inHeader = false
	return t.headerBuf
}

type sniffer struct {
	n   int
	nul bool
}

func (s *sniffer) Write(p []byte) (int, error) {
	if s.n < 8000 && !s.nul {
		q := p[:min(len(p), 8000-s.n)]
		s.nul = bytes.IndexByte(q, 0) >= 0
		s.n += len(q)
	}
	return len(p), nil
}

type zeroCounter struct{ nonzero int64 }

func (z *zeroCounter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 0 {
			z.nonzero++
		}
	}
	return len(p), nil
}

// typeName names a tar typeflag for reports.
func typeName(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA:
		return "regular"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeChar:
		return "char-device"
	case tar.TypeBlock:
		return "block-device"
	case tar.TypeDir:
		return "directory"
	case tar.TypeFifo:
		return "fifo"
	case tar.TypeCont:
		return "contiguous"
	case tar.TypeGNUSparse:
		return "gnu-sparse"
	}
	if t >= 0x20 && t < 0x7f {
		return fmt.Sprintf("type-%c", t)
	}
	return fmt.Sprintf("type-0x%02x", t)
}
