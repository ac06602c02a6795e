package gitarchive

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// The layout and arithmetic below follow git's archive-tar.c (git 2.39).
const (
	recordSize = 512
	blockSize  = recordSize * 20

	ustarMaxSize  = 0o77777777777 // 11 octal digits
	ustarMaxMtime = 0o77777777777

	typeReg    = '0'
	typeSymlnk = '2'
	typeDir    = '5'
	typeExt    = 'x'
	typeGlobal = 'g'
)

// Offsets of the ustar header fields.
const (
	offName     = 0
	offMode     = 100
	offUID      = 108
	offGID      = 116
	offSize     = 124
	offMtime    = 136
	offChksum   = 148
	offTypeflag = 156
	offLinkname = 157
	offMagic    = 257
	offVersion  = 263
	offUname    = 265
	offGname    = 297
	offDevmajor = 329
	offDevminor = 337
	offPrefix   = 345

	lenName     = 100
	lenLinkname = 100
	lenPrefix   = 155
)

// tarWriter writes git's record and block structure: every item is padded
// to 512 bytes and the trailer pads to a 10240-byte block with at least two
// zero records.
type tarWriter struct {
	w      io.Writer
	offset int64 // bytes written so far
	err    error
	bw     *bufio.Writer // w, when content may be spliced past it
	dstFD  int           // descriptor under bw, -1 if none
}

func (t *tarWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.w.Write(p)
	t.offset += int64(n)
	if err != nil {
		t.err = err
	}
	return n, err
}

var zeros [blockSize]byte

func (t *tarWriter) pad(to int64) error {
	if rem := t.offset % to; rem != 0 {
		_, err := t.Write(zeros[:to-rem])
		return err
	}
	return t.err
}

// finishRecord pads the current item to a 512-byte record.
func (t *tarWriter) finishRecord() error { return t.pad(recordSize) }

// writeBlocked writes data and pads it to a record (git's write_blocked).
func (t *tarWriter) writeBlocked(p []byte) error {
	if _, err := t.Write(p); err != nil {
		return err
	}
	return t.finishRecord()
}

// trailer is git's write_trailer: zero-fill the current block; if fewer
// than two records were left, add one more zero block.
func (t *tarWriter) trailer() error {
	tail := blockSize - t.offset%blockSize
	if _, err := t.Write(zeros[:tail]); err != nil {
		return err
	}
	if tail < 2*recordSize {
		_, err := t.Write(zeros[:])
		return err
	}
	return nil
}

// header is one ustar header block.
type header [recordSize]byte

// octal formats v like C's "%0*o" into a field of width n+1 (n digits and
// a NUL), as git's xsnprintf does.
func (h *header) octal(off, digits int, v uint64) {
	s := strconv.FormatUint(v, 8)
	for len(s) < digits {
		s = "0" + s
	}
	copy(h[off:off+digits], s)
	h[off+digits] = 0
}

// prepare is git's prepare_header.
func (h *header) prepare(mode uint32, size uint64, mtime uint64, regular bool) {
	h.octal(offMode, 7, uint64(mode&0o7777))
	if !regular {
		size = 0
	}
	h.octal(offSize, 11, size)
	h.octal(offMtime, 11, mtime)
	h.octal(offUID, 7, 0)
	h.octal(offGID, 7, 0)
	copy(h[offUname:], "root")
	copy(h[offGname:], "root")
	h.octal(offDevmajor, 7, 0)
	h.octal(offDevminor, 7, 0)
	copy(h[offMagic:], "ustar\x00")
	copy(h[offVersion:], "00")
	var sum uint64
	for i, b := range h {
		if i >= offChksum && i < offChksum+8 {
			sum += ' '
		} else {
			sum += uint64(b)
		}
	}
	h.octal(offChksum, 7, sum)
}

// appendExtHeader is git's strbuf_append_ext_header, including its length
// arithmetic (which counts the digits of the length before adding them).
func appendExtHeader(sb []byte, keyword string, value []byte) []byte {
	n := 1 + 1 + len(keyword) + 1 + len(value) + 1
	for tmp := n; tmp > 9; tmp /= 10 {
		n++
	}
	sb = fmt.Appendf(sb, "%d %s=", n, keyword)
	sb = append(sb, value...)
	return append(sb, '\n')
}

// pathPrefixLen is git's get_path_prefix.
func pathPrefixLen(path string, maxlen int) int {
	i := len(path)
	if i > 1 && path[i-1] == '/' {
		i--
	}
	if i > maxlen {
		i = maxlen
	}
	for {
		i--
		if !(i > 0 && path[i] != '/') {
			break
		}
	}
	return i
}

// entry is one archive member as git's write_tar_entry sees it.
type entry struct {
	oid  string // object id (hex) used in generated names
	path string // full path including prefix; directories end in '/'
	mode uint32 // git mode: 040000, 0100644, 0100755, 0120000, 0160000, or 040777 for the prefix
	size uint64 // content size (regular files and symlink targets)
	link []byte // symlink target
}

// writeEntryHeader writes the (optional) pax extended header and the ustar
// header of e, as write_tar_entry does; the caller writes the content.
func (t *tarWriter) writeEntryHeader(e *entry, umask uint32, mtime uint64) error {
	var h header
	var ext []byte
	mode := e.mode
	isReg := false
	switch mode & 0o170000 {
	case 0o040000, 0o160000:
		h[offTypeflag] = typeDir
		mode = (mode | 0o777) &^ umask
	case 0o120000:
		h[offTypeflag] = typeSymlnk
		mode |= 0o777
	case 0o100000:
		h[offTypeflag] = typeReg
		isReg = true
		if mode&0o100 != 0 {
			mode |= 0o777
		} else {
			mode |= 0o666
		}
		mode &^= umask
	default:
		return fmt.Errorf("gitarchive: unsupported file mode: 0%o (%s)", mode, e.oid)
	}
	if len(e.path) > lenName {
		plen := pathPrefixLen(e.path, lenPrefix)
		rest := len(e.path) - plen - 1
		if plen > 0 && rest <= lenName {
			copy(h[offPrefix:], e.path[:plen])
			copy(h[offName:], e.path[plen+1:])
		} else {
			copy(h[offName:offName+lenName], e.oid+".data")
			ext = appendExtHeader(ext, "path", []byte(e.path))
		}
	} else {
		copy(h[offName:], e.path)
	}
	if e.mode&0o170000 == 0o120000 {
		if len(e.link) > lenLinkname {
			copy(h[offLinkname:offLinkname+lenLinkname], "see "+e.oid+".paxheader")
			ext = appendExtHeader(ext, "linkpath", e.link)
		} else {
			copy(h[offLinkname:], e.link)
		}
	}
	sizeInHeader := e.size
	if isReg && e.size > ustarMaxSize {
		sizeInHeader = 0
		ext = appendExtHeader(ext, "size", []byte(strconv.FormatUint(e.size, 10)))
	}
	h.prepare(mode, sizeInHeader, mtime, isReg)
	if len(ext) > 0 {
		var x header
		x[offTypeflag] = typeExt
		copy(x[offName:offName+lenName], e.oid+".paxheader")
		x.prepare(0o100666, uint64(len(ext)), mtime, true)
		if err := t.writeBlocked(x[:]); err != nil {
			return err
		}
		if err := t.writeBlocked(ext); err != nil {
			return err
		}
	}
	return t.writeBlocked(h[:])
}

// writeGlobalHeader is git's write_global_extended_header; it returns the
// mtime to use in the member headers.
func (t *tarWriter) writeGlobalHeader(commit string, mtime uint64) (uint64, error) {
	var ext []byte
	if commit != "" {
		ext = appendExtHeader(ext, "comment", []byte(commit))
	}
	if mtime > ustarMaxMtime {
		ext = appendExtHeader(ext, "mtime", []byte(strconv.FormatUint(mtime, 10)))
		mtime = ustarMaxMtime
	}
	if len(ext) == 0 {
		return mtime, nil
	}
	var h header
	h[offTypeflag] = typeGlobal
	copy(h[offName:], "pax_global_header")
	h.prepare(0o100666, uint64(len(ext)), mtime, true)
	if err := t.writeBlocked(h[:]); err != nil {
		return 0, err
	}
	return mtime, t.writeBlocked(ext)
}
