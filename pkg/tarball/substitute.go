package tarball

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Substitution replaces every Old with New in the content of one member.
type Substitution struct {
	Member   string
	Old, New string
}

// SubstitutionResult says how often a substitution applied.
type SubstitutionResult struct {
	Substitution
	Count int
	// OldSize and NewSize are the member's content sizes.
	OldSize, NewSize int64
}

// ErrSubstitution is matched by every error of Substitute about the
// substitutions themselves (no match, a member it cannot rewrite).
var ErrSubstitution = errors.New("tarball: substitution")

// DefaultMaxSubstitutedMember bounds the content of a member Substitute
// holds in memory.
const DefaultMaxSubstitutedMember = 64 << 20

// Substitute copies the uncompressed tar stream r to w, replacing the
// text of the members named by subs. Every other byte is kept: headers
// are copied as written, except the size and checksum fields of a changed
// member, which are rewritten in the layout the original used (digit
// count, terminator); a changed member's content is padded with zeros to
// its 512-byte block; the zero blocks after the end of the archive are
// kept, and when the archive was padded to 10240-byte records (GNU tar's
// and git archive's default) the padding is recomputed so that it still
// is. A substitution that matches nothing, or names a member that is not
// a regular file, or one with a pax size record, is an error.
func Substitute(ctx context.Context, w io.Writer, r io.Reader, subs []Substitution) ([]SubstitutionResult, error) {
	res := make([]SubstitutionResult, len(subs))
	byMember := map[string][]int{}
	for i, s := range subs {
		if s.Old == "" {
			return nil, fmt.Errorf("%w: member %s: empty old text", ErrSubstitution, s.Member)
		}
		res[i].Substitution = s
		byMember[s.Member] = append(byMember[s.Member], i)
	}
	var (
		in, out  int64 // bytes read, written
		hdr      = make([]byte, blockSize)
		longName string // from a GNU 'L' member
		paxPath  string // from a pax 'x' member
		paxSize  bool
	)
	read := func(p []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, p)
		in += int64(n)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("tarball: tar stream ends early at byte %d", in)
		}
		return err
	}
	write := func(p []byte) error {
		n, err := w.Write(p)
		out += int64(n)
		return err
	}
	for {
		if err := read(hdr); err != nil {
			return nil, err
		}
		if isZeroBlock(hdr) {
			return res, finishTail(ctx, w, r, hdr, in, out, check(res))
		}
		size, err := parseSize(hdr[124:136])
		if err != nil {
			return nil, fmt.Errorf("tarball: header at byte %d: size: %w", in-blockSize, err)
		}
		padded := (size + blockSize - 1) / blockSize * blockSize
		typ := hdr[156]
		name := headerName(hdr)
		switch typ {
		case 'L', 'x':
			data := make([]byte, padded)
			if size > 1<<20 {
				return nil, fmt.Errorf("tarball: %c header of %d bytes at byte %d", typ, size, in-blockSize)
			}
			if err := read(data); err != nil {
				return nil, err
			}
			if typ == 'L' {
				longName = strings.TrimRight(string(data[:size]), "\x00")
			} else {
				paxPath, paxSize = paxRecords(data[:size])
			}
			if err := errors.Join(write(hdr), write(data)); err != nil {
				return nil, err
			}
			continue
		}
		if longName != "" {
			name = longName
		}
		if paxPath != "" {
			name = paxPath
		}
		hasPaxSize := paxSize
		longName, paxPath, paxSize = "", "", false
		idx := byMember[name]
		if len(idx) == 0 {
			if err := write(hdr); err != nil {
				return nil, err
			}
			n, err := io.CopyN(w, ctxReader{ctx, r}, padded)
			in += n
			out += n
			if err != nil {
				return nil, fmt.Errorf("tarball: tar stream ends early at byte %d: %w", in, err)
			}
			continue
		}
		switch {
		case typ != '0' && typ != 0 && typ != '7':
			return nil, fmt.Errorf("%w: member %s is not a regular file (type %q)", ErrSubstitution, name, typ)
		case hasPaxSize:
			return nil, fmt.Errorf("%w: member %s has a pax size record (not supported)", ErrSubstitution, name)
		case size > DefaultMaxSubstitutedMember:
			return nil, fmt.Errorf("%w: member %s is larger than %d bytes", ErrSubstitution, name, DefaultMaxSubstitutedMember)
		}
		data := make([]byte, padded)
		if err := read(data); err != nil {
			return nil, err
		}
		content := data[:size]
		for _, i := range idx {
			s := subs[i]
			res[i].OldSize = int64(len(content))
			res[i].Count += bytes.Count(content, []byte(s.Old))
			content = bytes.ReplaceAll(content, []byte(s.Old), []byte(s.New))
			res[i].NewSize = int64(len(content))
		}
		nh := bytes.Clone(hdr)
		if err := putOctal(nh[124:136], int64(len(content))); err != nil {
			return nil, fmt.Errorf("%w: member %s: size field: %v", ErrSubstitution, name, err)
		}
		if err := putChecksum(nh); err != nil {
			return nil, fmt.Errorf("%w: member %s: checksum field: %v", ErrSubstitution, name, err)
		}
		pad := (blockSize - len(content)%blockSize) % blockSize
		if err := errors.Join(write(nh), write(content), write(make([]byte, pad))); err != nil {
			return nil, err
		}
	}
}

// check is the error for substitutions that matched nothing, or nil.
func check(res []SubstitutionResult) error {
	var errs []error
	for _, r := range res {
		if r.Count == 0 {
			if r.OldSize == 0 && r.NewSize == 0 {
				errs = append(errs, fmt.Errorf("%w: member %s is not in the archive", ErrSubstitution, r.Member))
			} else {
				errs = append(errs, fmt.Errorf("%w: %q does not occur in member %s", ErrSubstitution, r.Old, r.Member))
			}
		}
	}
	return errors.Join(errs...)
}

const blockSize = 512

// recordSize is GNU tar's and git archive's default record (blocking
// factor 20).
const recordSize = 20 * blockSize

// finishTail writes the end of the archive: first is its first zero
// block, in and out the bytes read and written so far (first included in
// in). When the content before it changed length, zero padding is
// recomputed to keep 10240-byte records.
func finishTail(ctx context.Context, w io.Writer, r io.Reader, first []byte, in, out int64, err error) error {
	if err != nil {
		return err
	}
	var rest bytes.Buffer
	if _, err := io.Copy(&rest, io.LimitReader(ctxReader{ctx, r}, 16<<20)); err != nil {
		return err
	}
	tail := append(bytes.Clone(first), rest.Bytes()...)
	before := in - blockSize // bytes before the tail, original
	total := before + int64(len(tail))
	if out == before {
		_, err := w.Write(tail)
		return err
	}
	n := int64(len(tail))
	if total%recordSize == 0 && len(tail) >= 2*blockSize && isZero(tail) {
		end := out + 2*blockSize
		n = (end+recordSize-1)/recordSize*recordSize - out
	} else if !isZero(tail) {
		return fmt.Errorf("%w: bytes after the end of the archive are not zero; cannot re-pad them", ErrSubstitution)
	}
	_, err = w.Write(make([]byte, n))
	return err
}

func isZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// headerName is the ustar name (with its prefix, for ustar/pax headers).
func headerName(h []byte) string {
	name := cstring(h[0:100])
	if string(h[257:263]) == "ustar\x00" {
		if prefix := cstring(h[345:500]); prefix != "" {
			name = prefix + "/" + name
		}
	}
	return name
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// paxRecords returns the path record and whether there is a size record.
func paxRecords(data []byte) (path string, size bool) {
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		if sp < 0 {
			return path, size
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n <= sp || n > len(data) {
			return path, size
		}
		rec := string(data[sp+1 : n])
		rec = strings.TrimSuffix(rec, "\n")
		k, v, _ := strings.Cut(rec, "=")
		switch k {
		case "path":
			path = v
		case "size":
			size = true
		}
		data = data[n:]
	}
	return path, size
}

// parseSize reads a numeric header field: octal digits, possibly led by
// spaces or zeros and ended by NUL or space.
func parseSize(f []byte) (int64, error) {
	if f[0]&0x80 != 0 {
		return 0, fmt.Errorf("base-256 numbers are not supported")
	}
	s := strings.Trim(string(f), " \x00")
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 8, 64)
}

// putOctal writes v into a numeric field in the layout the field has:
// the same span of digits (zero-padded as before, or space-padded when
// the original was), the terminator bytes kept.
func putOctal(f []byte, v int64) error {
	start := 0
	for start < len(f) && f[start] == ' ' {
		start++
	}
	end := start
	for end < len(f) && f[end] >= '0' && f[end] <= '7' {
		end++
	}
	if end == start {
		return fmt.Errorf("no digits in %q", f)
	}
	digits := strconv.FormatInt(v, 8)
	width := end - start
	if len(digits) > end { // may use the leading spaces too
		return fmt.Errorf("%d does not fit in %d octal digits", v, end)
	}
	if len(digits) <= width {
		copy(f[start:end], strings.Repeat("0", width-len(digits))+digits)
		return nil
	}
	copy(f[:end], strings.Repeat(" ", end-len(digits))+digits)
	return nil
}

// putChecksum recomputes the header checksum (the unsigned sum of the
// header with the field read as spaces) in the field's layout.
func putChecksum(h []byte) error {
	orig := bytes.Clone(h[148:156])
	var sum int64
	for i, b := range h {
		if i >= 148 && i < 156 {
			b = ' '
		}
		sum += int64(b)
	}
	copy(h[148:156], orig)
	return putOctal(h[148:156], sum)
}
