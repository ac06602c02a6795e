package tarball

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A sparse member (GNU 'S', or PAX GNU.sparse 0.0, 0.1 and 1.0) stores a
// map of data extents and only their bytes; its declared size is the
// expanded size, which a few hundred bytes can make 1 TB. The Reader never
// expands such a member to hash or compare it: its SHA256 covers the map
// and the stored data, so the cost is what is stored, and the declared
// size is charged against the size limit before anything is read.
type sparseInfo struct {
	extents [][2]int64 // offset, length
	phys    int64      // stored data bytes left in the tar stream
}

// errSparse is wrapped by errors about a sparse map that does not match
// the data stored.
var errSparse = errors.New("sparse map does not match the stored data")

// isSparse reports whether archive/tar treated hdr as a sparse member.
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	rec := hdr.PAXRecords
	major, minor := rec["GNU.sparse.major"], rec["GNU.sparse.minor"]
	switch {
	case major == "0" && (minor == "0" || minor == "1"), major == "1" && minor == "0":
		return true
	case major != "" || minor != "":
		return false // archive/tar reads unknown versions as regular files
	}
	return rec["GNU.sparse.map"] != ""
}

// parseSparse finds the sparse map of hdr and the number of stored bytes
// still to read. raw holds the member's header blocks (meta headers, the
// main header, GNU extension blocks or the PAX 1.0 map), as read.
func parseSparse(hdr *tar.Header, raw []byte) (*sparseInfo, error) {
	main := mainBlock(raw)
	if main < 0 {
		return nil, fmt.Errorf("%w: sparse member headers were not captured", ErrCorrupt)
	}
	blk := raw[main : main+512]
	after := raw[main+512:]
	size, ok := parseNumeric(blk[124:136])
	if s, has := hdr.PAXRecords["size"]; has {
		n, err := strconv.ParseInt(s, 10, 64)
		size, ok = n, err == nil
	}
	if !ok || size < 0 {
		return nil, fmt.Errorf("%w: sparse member has a bad size field", ErrCorrupt)
	}
	si := &sparseInfo{phys: size}
	var err error
	switch {
	case hdr.Typeflag == tar.TypeGNUSparse:
		si.extents, err = gnuSparseMap(blk, after)
	case hdr.PAXRecords["GNU.sparse.major"] == "1":
		// The map is the start of the data section: what archive/tar
		// consumed of it is no longer stored data.
		si.phys -= int64(len(after))
		si.extents, err = pax1SparseMap(after)
	default:
		si.extents, err = pax0SparseMap(hdr.PAXRecords["GNU.sparse.map"])
	}
	if err != nil {
		return nil, err
	}
	var sum int64
	for _, e := range si.extents {
		sum += e[1]
	}
	if sum != si.phys || si.phys < 0 {
		return nil, fmt.Errorf("%w: %w: the map lists %d data bytes, the member stores %d", ErrCorrupt, errSparse, sum, si.phys)
	}
	return si, nil
}

// mainBlock returns the offset in raw of the block after the meta headers
// (pax 'x'/'g', GNU 'L'/'K'), or -1.
func mainBlock(raw []byte) int {
	off := 0
	for off+512 <= len(raw) {
		switch raw[off+156] {
		case tar.TypeXHeader, tar.TypeXGlobalHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
			n, ok := parseNumeric(raw[off+124 : off+136])
			if !ok || n < 0 || n > int64(len(raw)) {
				return -1
			}
			off += 512 + int((n+511)/512*512)
		default:
			return off
		}
	}
	return -1
}

// parseNumeric decodes a tar numeric field: octal, or base-256 when the
// high bit of the first byte is set.
func parseNumeric(b []byte) (int64, bool) {
	if len(b) > 0 && b[0]&0x80 != 0 {
		if b[0]&0x40 != 0 {
			return 0, false // negative
		}
		var n int64
		for i, c := range b {
			if i == 0 {
				c &= 0x7f
			}
			if n > (1<<62)>>8 {
				return 0, false
			}
			n = n<<8 | int64(c)
		}
		return n, true
	}
	s := strings.Trim(string(b), " \x00")
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 8, 64)
	return n, err == nil
}

func gnuSparseMap(blk, ext []byte) ([][2]int64, error) {
	var out [][2]int64
	entries := func(b []byte, n int) error {
		for i := 0; i < n; i++ {
			e := b[i*24 : i*24+24]
			if bytes.Count(e, []byte{0}) == 24 {
				return nil
			}
			off, ok1 := parseNumeric(e[:12])
			length, ok2 := parseNumeric(e[12:])
			if !ok1 || !ok2 {
				return fmt.Errorf("%w: bad GNU sparse map entry", ErrCorrupt)
			}
			out = append(out, [2]int64{off, length})
		}
		return nil
	}
	if err := entries(blk[386:482], 4); err != nil {
		return nil, err
	}
	for extended := blk[482] != 0; extended; {
		if len(ext) < 512 {
			return nil, fmt.Errorf("%w: GNU sparse extension blocks were not captured", ErrCorrupt)
		}
		if err := entries(ext[:504], 21); err != nil {
			return nil, err
		}
		extended, ext = ext[504] != 0, ext[512:]
	}
	return out, nil
}

func pax0SparseMap(s string) ([][2]int64, error) {
	if s == "" {
		return nil, nil
	}
	f := strings.Split(s, ",")
	if len(f)%2 != 0 {
		return nil, fmt.Errorf("%w: odd GNU.sparse.map", ErrCorrupt)
	}
	return pairs(f)
}

func pax1SparseMap(b []byte) ([][2]int64, error) {
	tok := strings.Split(string(b), "\n")
	if len(tok) == 0 {
		return nil, fmt.Errorf("%w: empty sparse 1.0 map", ErrCorrupt)
	}
	n, err := strconv.ParseInt(tok[0], 10, 64)
	if err != nil || n < 0 || n > int64(len(tok)-1)/2 {
		return nil, fmt.Errorf("%w: bad sparse 1.0 map", ErrCorrupt)
	}
	return pairs(tok[1 : 1+2*n])
}

func pairs(f []string) ([][2]int64, error) {
	out := make([][2]int64, 0, len(f)/2)
	for i := 0; i+1 < len(f); i += 2 {
		off, err1 := strconv.ParseInt(f[i], 10, 64)
		length, err2 := strconv.ParseInt(f[i+1], 10, 64)
		if err1 != nil || err2 != nil || off < 0 || length < 0 {
			return nil, fmt.Errorf("%w: bad sparse map entry", ErrCorrupt)
		}
		out = append(out, [2]int64{off, length})
	}
	return out, nil
}

// readSparse hashes a sparse member's map and stored data, reading the
// data straight from the tar stream; archive/tar then skips it by Seek
// (tarStream.skipped) instead of reading it again.
func (r *Reader) readSparse(m *Member) error {
	si := m.sparse
	w := &r.cw
	w.h.Reset()
	fmt.Fprintf(w.h, "tarball sparse %d", m.Size)
	for _, e := range si.extents {
		fmt.Fprintf(w.h, " %d,%d", e[0], e[1])
	}
	w.h.Write([]byte{0})
	r.ts.inContent = true
	defer func() { r.ts.inContent = false }()
	left := si.phys
	for left > 0 {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		p := r.buf[:min(left, int64(len(r.buf)))]
		n, err := io.ReadFull(r.ts, p)
		w.h.Write(p[:n])
		left -= int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if left == 0 {
			r.ts.skip(si.phys, p[n-1])
		}
	}
	var sum [sha256.Size]byte
	m.SHA256 = hex.EncodeToString(w.h.Sum(sum[:0]))
	m.Text = false
	return nil
}
