package deflate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// SchemaCompression names the JSON form written by WriteJSON.
const SchemaCompression = "verify-release/compression/v1"

// IdentifyFile runs Identify on the file at path and records its name.
func IdentifyFile(ctx context.Context, path string, opts ...IdentifyOption) (*Identification, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (not a regular file)", path, ErrNotGzip)
	}
	id, err := Identify(ctx, f, st.Size(), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	id.File = path
	return id, nil
}

// Best returns the first match, or nil when no known compressor
// reproduces the file.
func (id *Identification) Best() *Match {
	if len(id.Matches) == 0 {
		return nil
	}
	return &id.Matches[0]
}

type jsonIdentification struct {
	Schema string `json:"schema"`
	File   string `json:"file,omitempty"`
	Format string `json:"format"`
	*Identification
}

// WriteJSON writes the identification as one JSON document (schema
// verify-release/compression/v1; keys in snake_case).
func (id *Identification) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	c := *id
	if c.Matches == nil {
		c.Matches = []Match{}
	}
	if c.Rejected == nil {
		c.Rejected = []Rejection{}
	}
	return enc.Encode(jsonIdentification{Schema: SchemaCompression, File: id.File, Format: "gzip", Identification: &c})
}

func osName(os byte) string {
	switch os {
	case 0:
		return "FAT"
	case 3:
		return "Unix"
	case 7:
		return "Macintosh"
	case 11:
		return "NTFS"
	case 255:
		return "unknown"
	}
	return "other"
}

// WriteText writes the identification for a reader.
func (id *Identification) WriteText(w io.Writer) error {
	var b strings.Builder
	h := id.Header
	name := id.File
	if name == "" {
		name = "input"
	}
	fmt.Fprintf(&b, "%s: gzip, %d bytes; deflate data %d bytes at offset %d; %d bytes uncompressed\n",
		name, id.Size, id.DeflateSize, id.DeflateOffset, id.UncompressedSize)
	fname := "no FNAME"
	if h.HasName {
		fname = fmt.Sprintf("FNAME %q", h.Name)
	}
	fmt.Fprintf(&b, "header: FLG %#02x MTIME %d XFL %d OS %d (%s), %s\n", h.Flags, h.MTime, h.XFL, h.OS, osName(h.OS), fname)
	fmt.Fprintf(&b, "first block: %s\n", id.FirstBlock)
	if id.TrailingBytes > 0 {
		fmt.Fprintf(&b, "after the first member: %d bytes (not identified)\n", id.TrailingBytes)
	}
	made := "made by"
	if id.Partial {
		made = fmt.Sprintf("made by (judged on the blocks of the first %d uncompressed bytes only)", id.CheckedUncompressed)
	}
	if m := id.Best(); m != nil {
		fmt.Fprintf(&b, "%s: %s%s: %s\n", made, m.Candidate, versions(m.Candidate), m.Command)
		if m.Segments > 0 {
			fmt.Fprintf(&b, "  every block re-created, in %d segments on several cores\n", m.Segments)
		}
		if len(m.HeaderDifferences) > 0 {
			fmt.Fprintf(&b, "  the deflate data is reproduced; the header differs: %s\n", strings.Join(m.HeaderDifferences, "; "))
		}
		for _, o := range id.Matches[1:] {
			fmt.Fprintf(&b, "also reproduced by: %s", o.Candidate)
			if len(o.HeaderDifferences) > 0 {
				fmt.Fprintf(&b, " (header differs: %s)", strings.Join(o.HeaderDifferences, "; "))
			}
			b.WriteString("\n")
		}
	} else {
		fmt.Fprintf(&b, "%s: none of the known compressors\n", made)
	}
	fmt.Fprintf(&b, "ruled out (%d):\n", len(id.Rejected))
	for _, r := range id.Rejected {
		fmt.Fprintf(&b, "  %s: %s\n", r.Candidate, r.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func versions(c Candidate) string {
	switch {
	case c.Compressor == GNU:
		return " (gzip 1.10-1.13)"
	case c.Compressor == Zlib && c.Level != 0:
		return " (zlib " + c.zlibVersions() + ")"
	}
	return ""
}
