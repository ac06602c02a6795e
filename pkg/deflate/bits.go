package deflate

import (
	"encoding/binary"
	"io"
)

// bitWriter writes deflate's LSB-first bit stream into a buffer that the
// compressor hands to its io.Writer after each block.
type bitWriter struct {
	bits  uint64
	nbits int
	out   []byte
}

// sendBits appends the low length bits of value (length <= 16).
func (b *bitWriter) sendBits(value uint64, length int) {
	b.bits |= value << b.nbits
	b.nbits += length
	if b.nbits >= 48 {
		n := len(b.out)
		b.out = binary.LittleEndian.AppendUint64(b.out, b.bits)[:n+6]
		b.bits >>= 48
		b.nbits -= 48
	}
}

// windup flushes the bits left to a byte boundary.
func (b *bitWriter) windup() {
	for b.nbits > 0 {
		b.out = append(b.out, byte(b.bits))
		b.bits >>= 8
		b.nbits -= 8
	}
	b.bits, b.nbits = 0, 0
}

func (b *bitWriter) putShort(v uint16) {
	b.out = append(b.out, byte(v), byte(v>>8))
}

func (b *bitWriter) putBytes(p []byte) {
	b.out = append(b.out, p...)
}

// flushTo writes the whole bytes collected so far to w.
func (b *bitWriter) flushTo(w io.Writer) error {
	for b.nbits >= 8 {
		b.out = append(b.out, byte(b.bits))
		b.bits >>= 8
		b.nbits -= 8
	}
	if len(b.out) == 0 {
		return nil
	}
	_, err := w.Write(b.out)
	b.out = b.out[:0]
	return err
}
