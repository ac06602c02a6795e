package main

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const diffUsage = `Usage:
  verify-release diff [flags] A B

Compare two source tarballs member by member: members only in A or B,
changed header fields (mode, owner, mtime, pax records...), changed
content (unified diff for text members), order, tar-level facts (formats,
pax global headers such as git's commit id, padding) and the compression
layer (gzip header fields, zstd frames, xz check). Compression is detected
from magic bytes: tar, tar.gz, tar.xz, tar.zst, tar.bz2. Two zip
archives are compared member by member from their central directories
(names, order, mode, mtime, CRC-32, method, extra fields, content). Nothing
is extracted to disk.

Exit status: 0 if A and B have the same bytes, 1 if they differ, 2 on error.

Examples:
  verify-release diff libntlm-1.8.tar.gz rebuilt/libntlm-1.8.tar.gz
  verify-release diff --json a.tar.xz b.tar.xz > diff.json
  verify-release diff --markdown --max-diff-lines 50 a.tar.gz b.tar.gz
  verify-release diff --no-content upstream.tar.gz mine.tar.gz
  verify-release diff --json --tar-sha256 a.tar.gz b.tar.gz   # also the tar stream digests

Members that come in the same order in A and B are compared byte for byte
as both archives stream by; only members that differ or are out of step
are hashed. --tar-sha256 adds the SHA-256 of each uncompressed tar stream
(as 'verify-release checksum --tar' prints it) at the cost of hashing both.
`

// diffOptions are the flags of 'verify-release diff'.
type diffOptions struct {
	JSON         bool
	Markdown     bool
	MaxDiffLines int
	NoContent    bool
	MaxSize      int64
	TarSHA256    bool
}

// diffMemoryLimit is the soft memory limit of the diff command.
const diffMemoryLimit = 64 << 20

func init() {
	register(command{name: "diff", summary: "compare two tarballs member by member", run: runDiff})
}

func runDiff(ctx context.Context, c *cli, args []string) error {
	// A soft memory limit keeps peak RSS flat on archives with tens of
	// thousands of findings (the findings are the result and stay live);
	// the collector works harder only when the heap approaches it.
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(diffMemoryLimit)
	}
	var o diffOptions
	fs := newFlagSet(c, "diff", diffUsage)
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON (format: docs/diff-json.md)")
	fs.BoolVar(&o.Markdown, "markdown", false, "print the result as Markdown")
	fs.IntVar(&o.MaxDiffLines, "max-diff-lines", tarball.DefaultMaxDiffLines, "show at most `N` lines of unified diff per member")
	fs.BoolVar(&o.NoContent, "no-content", false, "do not show unified diffs of text members (changes are still reported by size and sha256)")
	fs.Int64Var(&o.MaxSize, "max-size", tarball.DefaultMaxSize, "fail if an archive decompresses to more than `BYTES`")
	fs.BoolVar(&o.TarSHA256, "tar-sha256", false, "also report the SHA-256 of each uncompressed tar stream")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("diff", "want two archives A and B, got %d argument(s)", len(pos))
	}
	if o.JSON && o.Markdown {
		return usagef("diff", "--json and --markdown are exclusive")
	}
	if o.MaxDiffLines < 0 {
		return usagef("diff", "--max-diff-lines must be >= 0")
	}
	opts := []tarball.Option{tarball.WithMaxDiffLines(o.MaxDiffLines), tarball.WithMaxSize(o.MaxSize)}
	if o.NoContent {
		opts = append(opts, tarball.WithNoContent())
	}
	if o.TarSHA256 {
		opts = append(opts, tarball.WithTarSHA256())
	}
	res, err := tarball.Diff(ctx, pos[0], pos[1], opts...)
	if err != nil {
		return err
	}
	switch {
	case o.JSON:
		err = res.WriteJSON(c.Stdout)
	case o.Markdown:
		err = res.WriteMarkdown(c.Stdout)
	default:
		err = res.WriteText(c.Stdout)
	}
	if err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	if !res.Identical() {
		return errDiffer
	}
	return nil
}
