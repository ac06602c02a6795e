package deflate

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNotGzip reports input that is not a gzip file.
var ErrNotGzip = errors.New("deflate: not a gzip file")

// ErrCorrupt reports a gzip file whose data cannot be decoded.
var ErrCorrupt = errors.New("deflate: corrupt gzip data")

// Gzip header flag bits (RFC 1952).
const (
	flagText    = 0x01
	flagHCRC    = 0x02
	flagExtra   = 0x04
	flagName    = 0x08
	flagComment = 0x10
)

// Header holds the fields of a gzip member header (RFC 1952).
type Header struct {
	Flags    byte   `json:"flg"`
	MTime    uint32 `json:"mtime"`
	XFL      byte   `json:"xfl"`
	OS       byte   `json:"os"`
	Name     string `json:"fname,omitempty"`
	HasName  bool   `json:"-"`
	Comment  string `json:"fcomment,omitempty"`
	ExtraLen int    `json:"fextra_len,omitempty"`
	// Len is the header's length in bytes: where the deflate data starts.
	Len int `json:"length"`
}

// parseHeader reads a gzip header from the start of b.
func parseHeader(b []byte) (Header, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return Header{}, fmt.Errorf("%w (no 1f 8b magic)", ErrNotGzip)
	}
	if len(b) < 10 {
		return Header{}, fmt.Errorf("%w: header ends early", ErrCorrupt)
	}
	if b[2] != 8 {
		return Header{}, fmt.Errorf("%w: compression method %d is not deflate", ErrNotGzip, b[2])
	}
	h := Header{Flags: b[3], MTime: binary.LittleEndian.Uint32(b[4:8]), XFL: b[8], OS: b[9]}
	p := 10
	short := fmt.Errorf("%w: header ends early", ErrCorrupt)
	if h.Flags&flagExtra != 0 {
		if len(b) < p+2 {
			return h, short
		}
		h.ExtraLen = int(binary.LittleEndian.Uint16(b[p:]))
		p += 2 + h.ExtraLen
	}
	str := func() (string, error) {
		for i := p; i < len(b); i++ {
			if b[i] == 0 {
				s := string(b[p:i])
				p = i + 1
				return s, nil
			}
		}
		return "", short
	}
	var err error
	if h.Flags&flagName != 0 {
		if h.Name, err = str(); err != nil {
			return h, err
		}
		h.HasName = true
	}
	if h.Flags&flagComment != 0 {
		if h.Comment, err = str(); err != nil {
			return h, err
		}
	}
	if h.Flags&flagHCRC != 0 {
		p += 2
	}
	if p > len(b) {
		return h, short
	}
	h.Len = p
	return h, nil
}

// BlockHeader describes the start of a deflate block (RFC 1951 3.2.3, 3.2.7).
type BlockHeader struct {
	Final bool   `json:"final"`
	Type  string `json:"type"` // stored, fixed, dynamic, reserved
	// HLIT, HDIST and HCLEN count the literal/length, distance and
	// code-length codes of a dynamic block.
	HLIT  int `json:"hlit,omitempty"`
	HDIST int `json:"hdist,omitempty"`
	HCLEN int `json:"hclen,omitempty"`
	// StoredLen is a stored block's LEN.
	StoredLen int `json:"stored_len,omitempty"`
}

func (b BlockHeader) String() string {
	s := b.Type
	switch b.Type {
	case "dynamic":
		s += fmt.Sprintf(" HLIT %d HDIST %d HCLEN %d", b.HLIT, b.HDIST, b.HCLEN)
	case "stored":
		s += fmt.Sprintf(" LEN %d", b.StoredLen)
	}
	if b.Final {
		s += ", final"
	}
	return s
}

// parseBlockHeader decodes the block header at the start of b (a block
// that starts on a byte boundary, as the first one does).
func parseBlockHeader(b []byte) (BlockHeader, bool) {
	if len(b) < 1 {
		return BlockHeader{}, false
	}
	var bits uint64
	for i := 0; i < len(b) && i < 8; i++ {
		bits |= uint64(b[i]) << (8 * i)
	}
	h := BlockHeader{Final: bits&1 != 0}
	switch (bits >> 1) & 3 {
	case 0:
		h.Type = "stored"
		if len(b) < 5 {
			return h, false
		}
		h.StoredLen = int(binary.LittleEndian.Uint16(b[1:]))
	case 1:
		h.Type = "fixed"
	case 2:
		h.Type = "dynamic"
		if len(b) < 3 {
			return h, false
		}
		h.HLIT = int((bits>>3)&31) + 257
		h.HDIST = int((bits>>8)&31) + 1
		h.HCLEN = int((bits>>13)&15) + 4
	default:
		h.Type = "reserved"
	}
	return h, true
}
