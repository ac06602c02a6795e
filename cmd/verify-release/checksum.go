package main

import (
	"context"
	"fmt"

	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const checksumUsage = `Usage:
  verify-release checksum [--tar] FILE...

Print the SHA-256 of each FILE as sha256sum does ("HEX  FILE"), so the
output can be checked with 'sha256sum -c'. With --tar, also print the
SHA-256 of the uncompressed tar stream of each archive on a comment line
"# tar-sha256 HEX  FILE" (which 'sha256sum -c' skips): equal for two
tarballs that differ only in compression.

Examples:
  verify-release checksum libntlm-1.8.tar.gz
  verify-release checksum --tar libntlm-1.8.tar.gz rebuilt/libntlm-1.8.tar.xz
  verify-release checksum --tar *.tar.gz > SHA256SUMS && sha256sum -c SHA256SUMS
`

// checksumOptions are the flags of 'verify-release checksum'.
type checksumOptions struct {
	Tar     bool
	MaxSize int64
}

func init() {
	register(command{name: "checksum", summary: "print sha256 of files (and of their uncompressed tar)", run: runChecksum})
}

func runChecksum(ctx context.Context, c *cli, args []string) error {
	var o checksumOptions
	fs := newFlagSet(c, "checksum", checksumUsage)
	fs.BoolVar(&o.Tar, "tar", false, "also print the sha256 of the uncompressed tar stream")
	fs.Int64Var(&o.MaxSize, "max-size", tarball.DefaultMaxSize, "with --tar, fail if an archive decompresses to more than `BYTES`")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("checksum", "want at least one FILE")
	}
	for _, f := range files {
		if !o.Tar {
			sum, err := tarball.FileSHA256(ctx, f)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "%s  %s\n", sum, f)
			continue
		}
		sum, tarSum, err := tarball.Checksum(ctx, f, tarball.WithMaxSize(o.MaxSize))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "%s  %s\n# tar-sha256 %s  %s\n", sum, f, tarSum, f)
	}
	return nil
}
