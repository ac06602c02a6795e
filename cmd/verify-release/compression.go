package main

import (
	"context"
	"fmt"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/deflate"
)

const compressionUsage = `Usage:
  verify-release compression [--json] [--quick] [--jobs N] [--quiet] FILE.gz

Name the compressor of a gzip file: decompress it once and run every known
compressor on the data in step, dropping each at its first deflate block
that differs from the file. The known compressors are GNU gzip -1..-9 with
and without --rsyncable (gzip 1.10-1.13 make the same bytes), zlib levels
1-9 (git archive --format=tar.gz, git 2.38+; zlib 1.2.11-1.3.1), zlib's
level 0 as git archive -0 feeds it (zlib 1.2.11, and 1.2.12-1.3.1) and
the Go compress/gzip that built verify-release. The report gives the header
facts (MTIME, XFL, OS, FNAME), the first deflate block's header, the
command that reproduces the file and why each other candidate was ruled
out. Only the first gzip member is identified.

Proving a file means re-creating every block of it, as long as one
compression at that level. GNU gzip and zlib are proven on several cores:
the file is cut at block boundaries every few MiB and each segment is
re-created on its own, its end state checked against the next one's
start; --jobs sets how many run at once (default: the number of CPUs).
Work that takes longer than five seconds reports its progress to stderr
every five seconds (--quiet: not).

With --quick the candidates only see the first 32 MiB of uncompressed data
(the file is still decompressed to the end and its CRC checked): the
answer is the compressor of the blocks made of that prefix, which bounds
the time on large files to little more than 'gzip -dc'.

Exit status: 0 a known compressor reproduces the deflate data, 1 none
does, 2 error (not a gzip file, corrupt data).

Examples:
  verify-release compression libntlm-1.8.tar.gz
  verify-release compression --json libntlm-1.8.tar.gz | jq -r '.matches[0].command'
  verify-release compression --jobs 1 linux-6.1.tar.gz   # one core
`

// compressionOptions are the flags of 'verify-release compression'.
type compressionOptions struct {
	JSON  bool
	Quick bool
	Jobs  int
	Quiet bool
}

// quickPrefix is how much uncompressed data --quick judges.
const quickPrefix = 32 << 20

// progressEvery is how often (and after how long) compression reports.
const progressEvery = 5 * time.Second

// progressLine says how far an identification got, in MiB.
func progressLine(p deflate.Progress) string {
	s := fmt.Sprintf("%d MiB decompressed", p.Decompressed>>20)
	if p.Total > 0 {
		s = fmt.Sprintf("%d of %d MiB decompressed", p.Decompressed>>20, p.Total>>20)
	}
	if p.Proven > 0 {
		s += fmt.Sprintf(", blocks of %d MiB re-created", p.Proven>>20)
	}
	return s
}

func init() {
	register(command{name: "compression", summary: "name the compressor (gzip -N, git's zlib, Go) that made a .gz", run: runCompression})
}

func runCompression(ctx context.Context, c *cli, args []string) error {
	var o compressionOptions
	fs := newFlagSet(c, "compression", compressionUsage)
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON (schema verify-release/compression/v1)")
	fs.BoolVar(&o.Quick, "quick", false, "judge the candidates on the first 32 MiB of uncompressed data only")
	fs.IntVar(&o.Jobs, "jobs", 0, "re-create `N` segments of a file at once (GNU gzip and zlib; default: the number of CPUs)")
	fs.BoolVar(&o.Quiet, "quiet", false, "do not report progress to stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("compression", "want one FILE, got %d argument(s)", len(pos))
	}
	if o.Jobs < 0 {
		return usagef("compression", "--jobs %d: want 1 or more (0: the number of CPUs)", o.Jobs)
	}
	opts := []deflate.IdentifyOption{deflate.WithWorkers(o.Jobs)}
	if !o.Quiet {
		// Calls come one at a time.
		start := time.Now()
		last := start
		opts = append(opts, deflate.WithProgress(func(p deflate.Progress) {
			if now := time.Now(); now.Sub(start) >= progressEvery && now.Sub(last) >= progressEvery {
				last = now
				fmt.Fprintf(c.Stderr, "verify-release: compression: %s: %s\n", pos[0], progressLine(p))
			}
		}))
	}
	if o.Quick {
		opts = append(opts, deflate.WithPrefix(quickPrefix))
	}
	id, err := deflate.IdentifyFile(ctx, pos[0], opts...)
	if err != nil {
		return withHint(err, "only gzip files are identified; 'verify-release checksum --tar' compares the contents of other formats")
	}
	if o.JSON {
		err = id.WriteJSON(c.Stdout)
	} else {
		err = id.WriteText(c.Stdout)
	}
	if err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	if id.Best() == nil {
		return errDiffer
	}
	return nil
}
