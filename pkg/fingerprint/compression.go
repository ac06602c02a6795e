package fingerprint

import (
	"encoding/binary"
	"fmt"
	"io"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Compression is how the tar stream was compressed.
type Compression struct {
	Format string `json:"format"` // none, gzip, xz, zstd, bzip2
	// Size is the compressed size in bytes.
	Size  int64             `json:"size"`
	Gzip  *GzipInfo         `json:"gzip,omitempty"`
	XZ    *XZInfo           `json:"xz,omitempty"`
	Bzip2 *Bzip2Info        `json:"bzip2,omitempty"`
	Zstd  *tarball.ZstdInfo `json:"zstd,omitempty"`
	// Identified reports that the compressor of a gzip file was searched
	// for (pkg/deflate); Matches lists the compressors that reproduce its
	// deflate data byte for byte (empty: none of the known ones does).
	Identified bool              `json:"identified"`
	Matches    []CompressorMatch `json:"matches,omitempty"`
}

// CompressorMatch is a compressor setting that reproduces the deflate data.
type CompressorMatch struct {
	// Compressor is "gnu-gzip", "zlib" (git archive's internal gzip) or
	// "go"; Level 1-9, or 0 for zlib's stored blocks as git archive -0
	// writes them.
	Compressor string `json:"compressor"`
	Level      int    `json:"level"`
	Rsyncable  bool   `json:"rsyncable,omitempty"`
	// Name is for people ("GNU gzip -9 --rsyncable"); Command re-creates
	// the whole file when the header agrees too ("gzip -9n --rsyncable").
	Name    string `json:"name"`
	Command string `json:"command,omitempty"`
	// HeaderDifferences lists the gzip header fields the compressor would
	// write differently by itself.
	HeaderDifferences []string `json:"header_differences,omitempty"`
}

func (m CompressorMatch) String() string {
	if m.Command != "" {
		return m.Name + " (" + m.Command + ")"
	}
	return m.Name
}

// GzipInfo is the header of the first gzip member.
type GzipInfo struct {
	Members int    `json:"members"`
	MTime   uint32 `json:"mtime"`
	XFL     byte   `json:"xfl"`
	// Level says what XFL means: "9 (best)" for 2, "1 (fastest)" for 4,
	// "2-8" for 0.
	Level string `json:"level"`
	OS    byte   `json:"os"`
	// OSName names the OS byte (3: "Unix", 0: "FAT", 255: "unknown").
	OSName string `json:"os_name"`
	Name   string `json:"fname,omitempty"`
}

// XZInfo is the stream header and the first block header of an xz file.
type XZInfo struct {
	Check string `json:"check"`
	// DictSize is the LZMA2 dictionary size of the first block (0: not
	// found); Preset the xz presets that use it ("-6" for 8 MiB, ...).
	DictSize int64  `json:"dict_size,omitempty"`
	Preset   string `json:"preset,omitempty"`
	// SizesInHeader: the first block header records its sizes, which xz
	// does when it compresses with threads (-T) and a block size.
	SizesInHeader bool `json:"sizes_in_header"`
}

// Bzip2Info is the bzip2 stream header.
type Bzip2Info struct {
	Level int `json:"level"`
}

func compressionInfo(f io.ReaderAt, ci tarball.CompressionInfo) Compression {
	c := Compression{Format: string(ci.Format), Size: ci.Size, Zstd: ci.Zstd}
	if len(ci.Gzip) > 0 {
		g := ci.Gzip[0]
		c.Gzip = &GzipInfo{Members: len(ci.Gzip), MTime: g.MTime, XFL: g.XFL, OS: g.OS, Name: g.Name,
			Level: xflLevel(g.XFL), OSName: gzipOS(g.OS)}
	}
	if ci.XZ != nil {
		c.XZ = &XZInfo{Check: ci.XZ.Check}
		c.XZ.DictSize, c.XZ.SizesInHeader = xzFirstBlock(f)
		c.XZ.Preset = xzPreset(c.XZ.DictSize)
	}
	if ci.Bzip2 != nil {
		c.Bzip2 = &Bzip2Info{Level: ci.Bzip2.Level}
	}
	return c
}

func xflLevel(x byte) string {
	switch x {
	case 2:
		return "9 (best)"
	case 4:
		return "1 (fastest)"
	case 0:
		return "2-8 (6 is the default)"
	}
	return fmt.Sprintf("unknown XFL %d", x)
}

func gzipOS(b byte) string {
	switch b {
	case 0:
		return "FAT"
	case 3:
		return "Unix"
	case 7:
		return "Macintosh"
	case 10:
		return "TOPS-20"
	case 11:
		return "NTFS"
	case 255:
		return "unknown"
	}
	return fmt.Sprintf("OS %d", b)
}

// xzFirstBlock reads the first block header after the 12-byte stream
// header: its LZMA2 dictionary size and whether it records the sizes.
func xzFirstBlock(f io.ReaderAt) (int64, bool) {
	var b [1024]byte
	n, _ := f.ReadAt(b[:], 12)
	if n < 2 || b[0] == 0 {
		return 0, false // no block: an empty stream's index
	}
	size := (int(b[0]) + 1) * 4
	if size > n {
		return 0, false
	}
	hdr := b[1:size]
	flags := hdr[0]
	sizes := flags&0xc0 != 0
	p := 1
	skipVLI := func() bool {
		for p < len(hdr) {
			c := hdr[p]
			p++
			if c&0x80 == 0 {
				return true
			}
		}
		return false
	}
	if flags&0x40 != 0 && !skipVLI() {
		return 0, sizes
	}
	if flags&0x80 != 0 && !skipVLI() {
		return 0, sizes
	}
	filters := int(flags&3) + 1
	for i := 0; i < filters && p < len(hdr); i++ {
		id, n := binary.Uvarint(hdr[p:])
		if n <= 0 {
			return 0, sizes
		}
		p += n
		plen, n := binary.Uvarint(hdr[p:])
		if n <= 0 {
			return 0, sizes
		}
		p += n
		if id == 0x21 && plen == 1 && p < len(hdr) {
			return lzma2Dict(hdr[p]), sizes
		}
		p += int(plen)
	}
	return 0, sizes
}

// lzma2Dict decodes the LZMA2 dictionary size property byte.
func lzma2Dict(b byte) int64 {
	if b > 40 {
		return 0
	}
	if b == 40 {
		return 0xffffffff
	}
	return int64(2|(b&1)) << (b/2 + 11)
}

// xzPreset names the xz presets with that dictionary size (xz(1), "Presets").
func xzPreset(dict int64) string {
	switch dict {
	case 256 << 10:
		return "-0"
	case 1 << 20:
		return "-1"
	case 2 << 20:
		return "-2"
	case 4 << 20:
		return "-3 or -4"
	case 8 << 20:
		return "-5 or -6 (the default)"
	case 16 << 20:
		return "-7"
	case 32 << 20:
		return "-8"
	case 64 << 20:
		return "-9"
	}
	return ""
}
