package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/digest"
)

// ChecksumsFile is the checksum list in a results directory, in the format
// of sha256sum ("<hex>  <name>\n", sorted by name).
const ChecksumsFile = "SHA256SUMS"

// Signer makes an armored detached signature over data; *sign.Signer
// implements it.
type Signer interface {
	SignDetached(ctx context.Context, w io.Writer, data io.Reader) error
}

// File is an artifact listed in SHA256SUMS. If Path is set the file is
// copied into the results directory (and its digest computed or checked).
type File struct {
	Name   string // base name in the directory and in SHA256SUMS
	SHA256 string // hex; may be empty when Path is set
	Path   string
}

// Document is a file written verbatim, e.g. an encoded statement.
type Document struct {
	Name string
	Data []byte
}

// StatementDocuments encodes statements under their conventional names
// (SummaryFile, ProvenanceFile); nil statements are skipped.
func StatementDocuments(summary, provenance *Statement) ([]Document, error) {
	var docs []Document
	for _, s := range []struct {
		name string
		st   *Statement
	}{{SummaryFile, summary}, {ProvenanceFile, provenance}} {
		if s.st == nil {
			continue
		}
		b, err := s.st.Encode()
		if err != nil {
			return nil, err
		}
		docs = append(docs, Document{Name: s.name, Data: b})
	}
	return docs, nil
}

// WriteResults writes DIR/NAME/VERSION/ with the documents (statements),
// copies of files that have a Path, SHA256SUMS over both, and, when signer
// is not nil, an armored detached signature NAME.asc beside each document
// and SHA256SUMS.asc. The directory is assembled under a temporary name and
// renamed into place, replacing an earlier one only when complete. It
// returns the directory path.
func WriteResults(ctx context.Context, dir, name, version string, files []File, docs []Document, signer Signer) (string, error) {
	for _, n := range []string{name, version} {
		if err := checkName(n); err != nil {
			return "", err
		}
	}
	seen := map[string]bool{ChecksumsFile: true, ChecksumsFile + ".asc": true}
	claim := func(n string) error {
		if err := checkName(n); err != nil {
			return err
		}
		if seen[n] || (signer != nil && seen[n+".asc"]) {
			return fmt.Errorf("%w: duplicate or reserved file name %q in results", ErrInvalid, n)
		}
		seen[n] = true
		return nil
	}
	for _, f := range files {
		if err := claim(f.Name); err != nil {
			return "", err
		}
		if f.Path == "" {
			if err := checkDigest("file "+f.Name, f.SHA256); err != nil {
				return "", err
			}
		}
	}
	for _, d := range docs {
		if err := claim(d.Name); err != nil {
			return "", err
		}
		if signer != nil {
			seen[d.Name+".asc"] = true
		}
	}

	parent := filepath.Join(dir, name)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("creating results directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+version+".tmp-")
	if err != nil {
		return "", fmt.Errorf("creating results directory: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}

	sums := map[string]string{}
	for _, f := range files {
		sum := strings.ToLower(f.SHA256)
		if f.Path != "" {
			got, err := copyFile(ctx, f.Path, filepath.Join(tmp, f.Name))
			if err != nil {
				return "", err
			}
			if sum != "" && sum != got {
				return "", fmt.Errorf("%w: %s has sha256 %s, want %s", ErrInvalid, f.Path, got, sum)
			}
			sum = got
		}
		sums[f.Name] = sum
	}
	for _, d := range docs {
		if err := writeSigned(ctx, filepath.Join(tmp, d.Name), d.Data, signer); err != nil {
			return "", err
		}
		h := sha256.Sum256(d.Data)
		sums[d.Name] = hex.EncodeToString(h[:])
	}
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var list bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&list, "%s  %s\n", sums[n], n)
	}
	if err := writeSigned(ctx, filepath.Join(tmp, ChecksumsFile), list.Bytes(), signer); err != nil {
		return "", err
	}

	dest := filepath.Join(parent, version)
	if err := replaceDir(tmp, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// checkName rejects names that are not a single path element.
func checkName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") {
		return fmt.Errorf("%w: %q is not a plain file name", ErrInvalid, n)
	}
	return nil
}

func writeSigned(ctx context.Context, path string, data []byte, signer Signer) error {
	if err := atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return err
	}
	if signer == nil {
		return nil
	}
	return atomicfile.Write(path+".asc", func(w io.Writer) error {
		if err := signer.SignDetached(ctx, w, bytes.NewReader(data)); err != nil {
			return fmt.Errorf("signing %s: %w", filepath.Base(path), err)
		}
		return nil
	})
}

func copyFile(ctx context.Context, src, dest string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	h := sha256.New()
	err = atomicfile.Write(dest, func(w io.Writer) error {
		if _, err := io.Copy(io.MultiWriter(w, h), digest.Reader(ctx, in)); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// replaceDir renames tmp to dest, moving an existing dest aside first and
// restoring it if the rename fails.
func replaceDir(tmp, dest string) error {
	if _, err := os.Lstat(dest); err != nil {
		if err := os.Rename(tmp, dest); err != nil {
			return fmt.Errorf("writing %s: %w", dest, err)
		}
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dest, old); err != nil {
		return fmt.Errorf("replacing %s: %w", dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Rename(old, dest)
		return fmt.Errorf("replacing %s: %w", dest, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("removing old %s: %w", dest, err)
	}
	return nil
}
