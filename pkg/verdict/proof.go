package verdict

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
	"gitlab.com/verify-release/verify-release/pkg/recipe"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

// Proof is the outcome of a substitution proof: the re-created artifact
// with the recipe's declared substitutions applied to its tar stream and
// compressed again as it was, compared with the expected sha256.
type Proof struct {
	Substitutions []ProofSubstitution `json:"substitutions"`
	// Compression says how the result was compressed: the re-created
	// file's compressor and its header bytes ("none" for a plain tar).
	Compression string `json:"compression"`
	// Recreated is the re-created artifact's sha256, Expected the
	// recipe's and Got the substituted result's.
	Recreated string `json:"recreated_sha256"`
	Expected  string `json:"expected_sha256"`
	Got       string `json:"sha256,omitempty"`
	// Matched: Got is Expected, so the published artifact is the
	// re-created one plus exactly the listed substitutions.
	Matched bool `json:"matched"`
	// Error says why the proof could not be made (a substitution matched
	// no text, an unknown compressor, ...).
	Error string `json:"error,omitempty"`
}

// ProofSubstitution is one declared substitution and how often it applied.
type ProofSubstitution struct {
	Rule   int    `json:"rule"`
	Member string `json:"member"`
	Old    string `json:"old"`
	New    string `json:"new"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Summary is one line for reports.
func (p *Proof) Summary() string {
	if p.Matched {
		return fmt.Sprintf("substitution proof: the re-created %s plus %d substitution(s), compressed as %s, gives the expected sha256 %s",
			short(p.Recreated), len(p.Substitutions), p.Compression, p.Expected)
	}
	if p.Error != "" {
		return fmt.Sprintf("substitution proof failed: %s (re-created sha256 %s, expected %s)", p.Error, p.Recreated, p.Expected)
	}
	return fmt.Sprintf("substitution proof failed: the substituted result has sha256 %s, expected %s (re-created %s)", p.Got, p.Expected, p.Recreated)
}

func short(s string) string {
	if len(s) > 12 {
		return "sha256 " + s[:12] + "…"
	}
	return s
}

// Substitutions returns the 1-based indexes (of those in indexes) of the
// [[accept]] entries that declare a substitution.
func Substitutions(accepts []recipe.Accept, indexes []int) []int {
	var out []int
	for _, i := range indexes {
		if accepts[i-1].Substitution() {
			out = append(out, i)
		}
	}
	return out
}

// ErrProof is matched by the errors of Prove that make a proof
// impossible for reasons outside the substitutions (an unreadable file).
var ErrProof = errors.New("verdict: substitution proof")

// Prove applies the substitution entries (1-based indexes into accepts)
// to the tar stream of the re-created artifact at path, compresses the
// result as the re-created file was compressed (the same gzip header
// bytes, then the deflate data of the compressor that reproduces the
// file, found with pkg/deflate), and compares its sha256 with expected.
// A substitution that matches no text, or a compressor that cannot be
// identified, gives a Proof with Error set; only I/O failures are
// returned as errors.
func Prove(ctx context.Context, path, expected string, accepts []recipe.Accept, indexes []int) (*Proof, error) {
	p := &Proof{Expected: expected, Substitutions: []ProofSubstitution{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProof, err)
	}
	sum := sha256.Sum256(data)
	p.Recreated = hex.EncodeToString(sum[:])
	var subs []tarball.Substitution
	for _, i := range indexes {
		a := accepts[i-1]
		subs = append(subs, tarball.Substitution{Member: a.Member, Old: a.Old, New: a.New})
		p.Substitutions = append(p.Substitutions, ProofSubstitution{Rule: i, Member: a.Member, Old: a.Old, New: a.New, Reason: a.Reason})
	}
	tr, format, err := tarball.Decompress(ctx, bytes.NewReader(data))
	if err != nil {
		p.Error = err.Error()
		return p, nil
	}
	defer tr.Close()
	var tarOut bytes.Buffer
	res, err := tarball.Substitute(ctx, &tarOut, tr, subs)
	for i := range res {
		p.Substitutions[i].Count = res[i].Count
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p.Error = err.Error()
		return p, nil
	}
	var out bytes.Buffer
	switch format {
	case tarball.None:
		p.Compression = "none"
		out = tarOut
	case tarball.Gzip:
		if err := recompressGzip(ctx, &out, data, tarOut.Bytes(), p); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			p.Error = err.Error()
			return p, nil
		}
	default:
		p.Error = fmt.Sprintf("re-compressing %s is not supported (gzip and plain tar are)", format)
		return p, nil
	}
	got := sha256.Sum256(out.Bytes())
	p.Got = hex.EncodeToString(got[:])
	p.Matched = p.Got == expected
	return p, nil
}

// recompressGzip writes orig's gzip header bytes, the deflate data of
// the compressor that reproduces orig applied to tarData, and the trailer.
func recompressGzip(ctx context.Context, w *bytes.Buffer, orig, tarData []byte, p *Proof) error {
	id, err := deflate.Identify(ctx, bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		return fmt.Errorf("identifying the re-created file's compressor: %w", err)
	}
	if id.TrailingBytes != 0 {
		return fmt.Errorf("the re-created file has %d bytes after its first gzip member", id.TrailingBytes)
	}
	m := id.Best()
	if m == nil {
		return fmt.Errorf("no known compressor reproduces the re-created file's deflate data")
	}
	opts := []deflate.Option{deflate.WithLevel(m.Level)}
	raw := deflate.ZlibDeflate
	switch m.Compressor {
	case deflate.GNU:
		raw = deflate.GNUDeflate
		opts = append(opts, deflate.WithRsyncable(m.Rsyncable))
	case deflate.Zlib:
	default:
		return fmt.Errorf("re-compressing with %s is not supported", m.Candidate)
	}
	p.Compression = fmt.Sprintf("%s (the re-created file's %d header bytes kept)", m.Candidate, id.DeflateOffset)
	w.Write(orig[:id.DeflateOffset])
	if err := raw(ctx, w, bytes.NewReader(tarData), opts...); err != nil {
		return err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], crc32.ChecksumIEEE(tarData))
	binary.LittleEndian.PutUint32(trailer[4:], uint32(len(tarData)))
	_, err = w.Write(trailer[:])
	return err
}
