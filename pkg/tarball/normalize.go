package tarball

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
)

// Owner selects how Normalize rewrites ownership.
type Owner string

// Ownership policies.
const (
	OwnerKeep    Owner = ""        // keep uid, gid, uname, gname
	OwnerRoot    Owner = "root"    // 0/0, names "root"
	OwnerNumeric Owner = "numeric" // 0/0, empty names
)

type normalizeOptions struct {
	mtime      *time.Time
	clamp      bool
	owner      Owner
	modes      bool
	sort       bool
	format     tar.Format
	compressor Compression
	level      int
}

// WithMTime sets every member's mtime to t (SOURCE_DATE_EPOCH style).
func WithMTime(t time.Time) Option {
	return func(o *options) { o.norm.mtime, o.norm.clamp = &t, false }
}

// WithClampMTime sets mtimes later than t to t and keeps earlier ones.
func WithClampMTime(t time.Time) Option {
	return func(o *options) { o.norm.mtime, o.norm.clamp = &t, true }
}

// WithOwner sets the ownership policy (default OwnerKeep).
func WithOwner(ow Owner) Option { return func(o *options) { o.norm.owner = ow } }

// WithModeNormalize gives group and other the user's permission bits minus
// write, like GNU tar --mode=go+u,go-w (0755 or 0644 for usual files).
func WithModeNormalize() Option { return func(o *options) { o.norm.modes = true } }

// WithSort writes members sorted by name (bytewise) instead of input order.
// The input's content is then spooled to a temporary file, removed after.
func WithSort() Option { return func(o *options) { o.norm.sort = true } }

// WithFormat sets the output tar format: tar.FormatUSTAR, tar.FormatPAX
// (default) or tar.FormatGNU.
func WithFormat(f tar.Format) Option { return func(o *options) { o.norm.format = f } }

// WithCompressor compresses Normalize output with c (default None) at
// level (0 = the compressor's default). Headers carry no timestamp or name.
func WithCompressor(c Compression, level int) Option {
	return func(o *options) { o.norm.compressor, o.norm.level = c, level }
}

// Normalize rewrites the archive read from in to out with normalized
// metadata: mtimes, ownership and modes as configured, no pax global
// headers, no pax records other than those the format needs, access and
// change times removed, mtimes truncated to seconds. Its output depends
// only on the input members and the options.
func Normalize(ctx context.Context, in io.Reader, out io.Writer, opts ...Option) error {
	o := makeOptions(opts)
	n := o.norm
	if n.format == tar.FormatUnknown {
		n.format = tar.FormatPAX
	}
	switch n.format {
	case tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU:
	default:
		return fmt.Errorf("%w: tar format %v", ErrUnsupported, n.format)
	}
	cw, err := newCompressor(ctx, out, n.compressor, n.level)
	if err != nil {
		return err
	}
	if err := normalizeTar(ctx, in, cw, o, n, opts); err != nil {
		cw.abort()
		return err
	}
	return cw.Close()
}

func (n normalizeOptions) header(m *Member) *tar.Header {
	h := &tar.Header{
		Typeflag: m.Typeflag, Name: m.Name, Linkname: m.Linkname, Size: m.Size, Mode: m.Mode,
		Uid: m.UID, Gid: m.GID, Uname: m.Uname, Gname: m.Gname, ModTime: m.ModTime.Truncate(time.Second),
		Devmajor: m.Devmajor, Devminor: m.Devminor, Format: n.format,
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse, tar.TypeCont:
		h.Typeflag = tar.TypeReg
	default:
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
	}
	if n.mtime != nil {
		t := n.mtime.Truncate(time.Second)
		if !n.clamp || h.ModTime.After(t) {
			h.ModTime = t
		}
	}
	switch n.owner {
	case OwnerRoot:
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "root", "root"
	case OwnerNumeric:
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	}
	if n.modes {
		perm := h.Mode & 0o777
		u := perm >> 6 & 7
		g := (perm>>3&7 | u) &^ 2
		ot := (perm&7 | u) &^ 2
		h.Mode = h.Mode&^0o777 | u<<6 | g<<3 | ot
	}
	return h
}

func normalizeTar(ctx context.Context, in io.Reader, w io.Writer, o options, n normalizeOptions, opts []Option) error {
	if !n.sort {
		tw := tar.NewWriter(w)
		if err := writeMembers(ctx, in, tw, n, opts, nil); err != nil {
			return err
		}
		return tw.Close()
	}
	// --sort: each member is written out normalized (headers, content,
	// padding) to a spool file as it is read, and only its name and where
	// its record lies are kept, so memory is a few dozen bytes per member
	// whatever its header holds. The records are then copied out in name
	// order: tar.Writer encodes each member on its own, so this is the
	// archive writing them in that order would give.
	spool, err := os.CreateTemp("", "verify-release-normalize-*")
	if err != nil {
		return fmt.Errorf("creating spool file: %w", err)
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	type record struct {
		name     string
		off, end int64
	}
	var records []record
	cw := &countWriter{w: spool}
	stw := tar.NewWriter(cw)
	var off int64
	if err := writeMembers(ctx, in, stw, n, opts, func(m *Member) error {
		if err := stw.Flush(); err != nil { // the content's block padding
			return fmt.Errorf("writing spool file: %w", err)
		}
		records = append(records, record{strings.Clone(m.Name), off, cw.n})
		off = cw.n
		return nil
	}); err != nil {
		return err
	}
	sort.SliceStable(records, func(i, j int) bool { return records[i].name < records[j].name })
	for _, r := range records {
		if _, err := io.Copy(w, ctxReader{ctx, io.NewSectionReader(spool, r.off, r.end-r.off)}); err != nil {
			return fmt.Errorf("writing %s: %w", display(r.name), err)
		}
	}
	// The end of archive, as tar.Writer.Close writes it.
	if _, err := w.Write(make([]byte, 2*512)); err != nil {
		return fmt.Errorf("writing the end of archive: %w", err)
	}
	return nil
}

// writeMembers writes every member of in, normalized, to tw; after each
// member (header and content written) it calls done, if set.
func writeMembers(ctx context.Context, in io.Reader, tw *tar.Writer, n normalizeOptions, opts []Option, done func(*Member) error) error {
	var werr error
	sink := func(m *Member) io.Writer {
		h := n.header(m)
		if err := tw.WriteHeader(h); err != nil {
			werr = fmt.Errorf("writing %s: %w", display(m.Name), err)
			return errWriter{werr}
		}
		if m.Size == 0 || h.Size == 0 {
			return nil
		}
		return tw
	}
	var fn func(*Member)
	if done != nil {
		fn = func(m *Member) {
			if werr == nil {
				werr = done(m)
			}
		}
	}
	err := eachMember(ctx, in, append(opts, withContent(sink)), fn)
	if werr != nil {
		return werr
	}
	return err
}

type errWriter struct{ err error }

func (e errWriter) Write([]byte) (int, error) { return 0, e.err }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// eachMember reads all members of in, calling fn (if set) for each.
func eachMember(ctx context.Context, in io.Reader, opts []Option, fn func(*Member)) error {
	r, err := Open(ctx, in, opts...)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		m, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if fn != nil {
			fn(m)
		}
	}
}

// compressor is an output compression stream.
type compressor struct {
	io.Writer
	close func() error
	abrt  func()
}

func (c *compressor) Close() error { return c.close() }
func (c *compressor) abort() {
	if c.abrt != nil {
		c.abrt()
	}
}

// CompressWriter returns a writer that compresses into out with c at level
// (0: the compressor's default) exactly as Normalize's output is
// compressed. Close flushes and reports the compressor's error; after a
// failed write, call Close too (the error is returned again) so that no
// compressor goroutine or process is left behind.
func CompressWriter(ctx context.Context, out io.Writer, c Compression, level int) (io.WriteCloser, error) {
	return newCompressor(ctx, out, c, level)
}

func newCompressor(ctx context.Context, out io.Writer, c Compression, level int) (*compressor, error) {
	switch c {
	case None, "":
		return &compressor{Writer: out, close: func() error { return nil }}, nil
	case Gzip:
		// GNU gzip's own bytes (`gzip -cn -LEVEL`, pkg/deflate), so that a
		// normalized .tar.gz is what a release script's gzip makes of it.
		if level == 0 {
			level = 6
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("%w: gzip level %d", ErrUnsupported, level)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := deflate.GNUGzip(ctx, out, pr, deflate.WithLevel(level))
			pr.CloseWithError(err) // unblock the writer if the compressor failed
			done <- err
		}()
		return &compressor{Writer: pw,
			close: func() error {
				pw.Close()
				if err := <-done; err != nil {
					return fmt.Errorf("gzip: %w", err)
				}
				return nil
			},
			abrt: func() { pw.CloseWithError(context.Canceled); <-done },
		}, nil
	case XZ:
		zw, err := xz.WriterConfig{CheckSum: xz.CRC64}.NewWriter(out)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return &compressor{Writer: zw, close: zw.Close}, nil
	case Zstd:
		eo := []zstd.EOption{zstd.WithEncoderConcurrency(1)}
		if level != 0 {
			eo = append(eo, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
		}
		zw, err := zstd.NewWriter(out, eo...)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &compressor{Writer: zw, close: zw.Close}, nil
	case Bzip2:
		if level == 0 {
			level = 9
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("%w: bzip2 level %d", ErrUnsupported, level)
		}
		pr, pw := io.Pipe()
		ctx, cancel := context.WithCancel(ctx)
		cmd := exec.CommandContext(ctx, "bzip2", "-c", fmt.Sprintf("-%d", level))
		cmd.Stdin, cmd.Stdout = pr, out
		if err := cmd.Start(); err != nil {
			cancel()
			return nil, fmt.Errorf("starting bzip2: %w", err)
		}
		return &compressor{Writer: pw,
			close: func() error {
				pw.Close()
				err := cmd.Wait()
				cancel()
				if err != nil {
					return fmt.Errorf("bzip2: %w", err)
				}
				return nil
			},
			abrt: func() { cancel(); pw.CloseWithError(context.Canceled); cmd.Wait() },
		}, nil
	}
	return nil, fmt.Errorf("%w: compressor %q", ErrUnsupported, c)
}
