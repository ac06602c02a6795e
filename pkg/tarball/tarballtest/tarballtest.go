// Package tarballtest writes hostile archives for tests: sparse and
// decompression bombs, path traversal, links out, devices, long names,
// PAX extremes, truncations and archives of very many members. Every
// function writes one file into a directory and returns its path; the
// compressed ones are made with the real gzip, xz, zstd and bzip2.
package tarballtest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Header builds one ustar header block by hand, for headers archive/tar
// refuses to write.
func Header(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "14524672000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	return Checksum(b)
}

// Checksum sets the header checksum of block b (after an edit) and
// returns b.
func Checksum(b []byte) []byte {
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b[:512] {
		sum += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// pad rounds b up to whole 512-byte blocks.
func pad(b []byte) []byte {
	if n := len(b) % 512; n != 0 {
		b = append(b, make([]byte, 512-n)...)
	}
	return b
}

// PAXRecord encodes one pax record, length prefix included.
func PAXRecord(key, value string) string {
	rest := " " + key + "=" + value + "\n"
	n := len(rest) + 1
	for len(strconv.Itoa(n))+len(rest) != n {
		n++
	}
	return strconv.Itoa(n) + rest
}

// End is the end-of-archive marker.
var End = make([]byte, 1024)

// SparsePAX10 is a PAX GNU.sparse 1.0 member named name whose declared
// (expanded) size is realSize, holding the 4 bytes "data" at its end: a
// few hundred bytes that expand to realSize.
func SparsePAX10(name string, realSize int64) []byte {
	recs := PAXRecord("GNU.sparse.major", "1") + PAXRecord("GNU.sparse.minor", "0") +
		PAXRecord("GNU.sparse.name", name) + PAXRecord("GNU.sparse.realsize", strconv.FormatInt(realSize, 10))
	var b bytes.Buffer
	b.Write(Header("./PaxHeaders/"+name, tar.TypeXHeader, int64(len(recs))))
	b.Write(pad([]byte(recs)))
	b.Write(Header("GNUSparseFile.0/"+name, tar.TypeReg, 512+4))
	b.Write(pad([]byte(fmt.Sprintf("1\n%d\n4\n", realSize-4))))
	b.Write(pad([]byte("data")))
	return b.Bytes()
}

// Write writes data to dir/name and returns the path.
func Write(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, data, 0o644)
}

// Compress compresses dir/name with the real tool ("gzip", "xz", "zstd",
// "bzip2") into dir/name+ext and returns the new path.
func Compress(path, tool string) (string, error) {
	ext := map[string]string{"gzip": ".gz", "xz": ".xz", "zstd": ".zst", "bzip2": ".bz2"}[tool]
	if ext == "" {
		return "", fmt.Errorf("tarballtest: unknown compressor %q", tool)
	}
	out := path + ext
	cmd := exec.Command("sh", "-c", tool+" -c < \"$1\" > \"$2\"", "sh", path, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tarballtest: %s: %v: %s", tool, err, b)
	}
	return out, nil
}

// SparseBomb writes the attack run's case: a gzip'ed PAX 1.0 sparse
// member declaring realSize bytes (1e12 there), about 250 bytes on disk.
func SparseBomb(dir string, realSize int64) (string, error) {
	p, err := Write(dir, "sparse-bomb.tar", append(SparsePAX10("big", realSize), End...))
	if err != nil {
		return "", err
	}
	return Compress(p, "gzip")
}

// GzipBomb writes a multi-member gzip file whose tar stream is one
// regular member of gib GiB of zeros: a member of 64 MiB of zeros
// compressed once by gzip -9 (65 KiB) and repeated, so 16 GiB cost 16 MiB
// and a second to make.
func GzipBomb(dir string, gib int) (string, error) {
	hdr, err := Write(dir, "bomb-header.tar", Header("zeros", tar.TypeReg, int64(gib)<<30))
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "gzip-bomb.tar.gz")
	script := `gzip -n -c < "$1" > "$3" && head -c 67108864 /dev/zero | gzip -9 -n > "$2.z" &&
i=0; while [ $i -lt $4 ]; do cat "$2.z"; i=$((i+1)); done >> "$3" && rm "$2.z" "$1"`
	cmd := exec.Command("sh", "-c", script, "sh", hdr, filepath.Join(dir, "zeros"), out, strconv.Itoa(gib*16))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tarballtest: gzip bomb: %v: %s", err, b)
	}
	return out, nil
}

// Corpus writes the hostile corpus into dir and returns its files by
// case name. Bombs decompress to 64 MiB (run them with a smaller
// --max-size); the sparse bomb declares 1e12 bytes.
func Corpus(dir string) (map[string]string, error) {
	out := map[string]string{}
	raw := func(name string, blocks ...[]byte) error {
		var b bytes.Buffer
		for _, blk := range blocks {
			b.Write(blk)
		}
		b.Write(End)
		p, err := Write(dir, name, b.Bytes())
		out[name] = p
		return err
	}
	content := func(s string) []byte { return pad([]byte(s)) }
	pax := func(recs string) []byte {
		return append(Header("./PaxHeaders/x", tar.TypeXHeader, int64(len(recs))), pad([]byte(recs))...)
	}
	longName := strings.Repeat("deep/", 200_000) + "f" // 1 MB name
	steps := []error{
		raw("traversal.tar", Header("../pwned", tar.TypeReg, 2), content("x\n"), Header("/tmp/pwned-abs", tar.TypeReg, 2), content("x\n")),
		raw("symlink-out.tar", link("escape", tar.TypeSymlink, "/"), Header("escape/tmp/pwned-link", tar.TypeReg, 2), content("x\n")),
		raw("hardlink-out.tar", link("passwd", tar.TypeLink, "../../../../etc/passwd")),
		raw("devices.tar", Header("null", tar.TypeChar, 0), Header("sda", tar.TypeBlock, 0), Header("fifo", tar.TypeFifo, 0)),
		raw("longname.tar", Header("././@LongLink", tar.TypeGNULongName, int64(len(longName))), content(longName), Header("x", tar.TypeReg, 0)),
		raw("longname-nested.tar", Header("././@LongLink", tar.TypeGNULongName, 4), content("aaaa"), Header("././@LongLink", tar.TypeGNULongName, 4), content("bbbb"), Header("x", tar.TypeReg, 0)),
		raw("pax-huge-length.tar", pax("99999999999999999999 path=x\n"), Header("x", tar.TypeReg, 0)),
		raw("pax-many-records.tar", pax(strings.Repeat(PAXRecord("comment", "c"), 50_000)), Header("x", tar.TypeReg, 0)),
		raw("pax-size-negative.tar", pax(PAXRecord("size", "-1")), Header("x", tar.TypeReg, 0)),
		raw("pax-size-huge.tar", pax(PAXRecord("size", "9223372036854775807")), Header("x", tar.TypeReg, 0)),
		raw("pax-mtime-extreme.tar", pax(PAXRecord("mtime", "-99999999999999.999999999")), Header("x", tar.TypeReg, 0)),
		raw("size-claim.tar", Header("huge", tar.TypeReg, 10<<30)),
		raw("sparse-bomb.tar", SparsePAX10("big", 1e12)),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	// Truncations of a valid archive: inside a header, inside content.
	var good bytes.Buffer
	good.Write(Header("a.txt", tar.TypeReg, 1000))
	good.Write(pad(bytes.Repeat([]byte("a"), 1000)))
	good.Write(End)
	for name, n := range map[string]int{"truncated-header.tar": 300, "truncated-content.tar": 900} {
		p, err := Write(dir, name, good.Bytes()[:n])
		if err != nil {
			return nil, err
		}
		out[name] = p
	}
	// Bombs of each compressor: one member of 64 MiB of zeros.
	zeros := append(Header("zeros", tar.TypeReg, 64<<20), make([]byte, 64<<20)...)
	zeros = append(zeros, End...)
	plain, err := Write(dir, "zeros.tar", zeros)
	if err != nil {
		return nil, err
	}
	for _, tool := range []string{"gzip", "xz", "zstd", "bzip2"} {
		p, err := Compress(plain, tool)
		if err != nil {
			return nil, err
		}
		out["bomb-"+tool] = p
		if tool == "gzip" {
			// A truncated compressed stream.
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if out["truncated.tar.gz"], err = Write(dir, "truncated.tar.gz", data[:len(data)/2]); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Remove(plain); err != nil {
		return nil, err
	}
	if out["empty.tar"], err = Write(dir, "empty.tar", nil); err != nil {
		return nil, err
	}
	return out, nil
}

// link is a header of type typ (symlink or hard link) pointing at target.
func link(name string, typ byte, target string) []byte {
	b := Header(name, typ, 0)
	copy(b[157:257], target)
	return Checksum(b)
}
