package deflate

import "io"

// bitWriter writes deflate's LSB-first bit stream into a buffer that the
// compressor hands to its io.Writer after each block.
type bitWriter struct {
	bits  uint64
	nbits int
	out   []byte
}

func (b *bitWriter) sendBits(value uint64, length int) {
	b.bits |= value << b.nbits
	b.nbits += length
	for b.nbits >= 8 {
		b.out = append(b.out, byte(b.bits))
		b.bits >>= 8
		b.nbits -= 8
	}
}

// windup flushes the bits left to a byte boundary.
func (b *bitWriter) windup() {
	if b.nbits > 0 {
		b.out = append(b.out, byte(b.bits))
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
	if len(b.out) == 0 {
		return nil
	}
	_, err := w.Write(b.out)
	b.out = b.out[:0]
	return err
}
