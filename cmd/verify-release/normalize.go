package main

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const normalizeUsage = `Usage:
  verify-release normalize IN -o OUT [flags]

Rewrite the tarball IN to OUT with normalized metadata so that archives
made by different tools can be compared: mtimes set (--mtime) or clamped
(--clamp-mtime) to an epoch, owners 0/0, optional mode normalization,
sorted members, a chosen tar format and compressor. Pax global headers,
pax records the format does not need, atime and ctime are dropped and
mtimes are truncated to seconds. The compressed output carries no
timestamp or file name, and the same input and flags always give the same
bytes. OUT is written atomically; IN is never modified.

--mtime defaults to $SOURCE_DATE_EPOCH when it is set.

Examples:
  verify-release normalize libntlm-1.8.tar.gz -o norm.tar.gz --sort --owner root --mode-normalize
  SOURCE_DATE_EPOCH=1700000000 verify-release normalize in.tar.xz -o out.tar
  verify-release normalize in.tar -o out.tar.xz --clamp-mtime 1700000000 --format ustar
  verify-release normalize in.tar -o out.tar.gz --compress gzip-9
`

// normalizeOptions are the flags of 'verify-release normalize'.
type normalizeOptions struct {
	Out           string
	MTime         string
	ClampMTime    string
	Owner         string
	ModeNormalize bool
	Sort          bool
	Format        string
	Compress      string
	MaxSize       int64
}

func init() {
	register(command{name: "normalize", summary: "rewrite a tarball with normalized metadata", run: runNormalize})
}

func runNormalize(ctx context.Context, c *cli, args []string) error {
	var o normalizeOptions
	fs := newFlagSet(c, "normalize", normalizeUsage)
	fs.StringVar(&o.Out, "o", "", "write the result to `OUT` (required)")
	fs.StringVar(&o.MTime, "mtime", "", "set every mtime to `EPOCH` (seconds; default $SOURCE_DATE_EPOCH)")
	fs.StringVar(&o.ClampMTime, "clamp-mtime", "", "set mtimes later than `EPOCH` to EPOCH")
	fs.StringVar(&o.Owner, "owner", "", "set owners to 0/0, `MODE` root (named 'root') or numeric (unnamed); default keep")
	fs.BoolVar(&o.ModeNormalize, "mode-normalize", false, "modes like GNU tar --mode=go+u,go-w (0755/0644)")
	fs.BoolVar(&o.Sort, "sort", false, "sort members by name (default: keep order)")
	fs.StringVar(&o.Format, "format", "pax", "tar `FORMAT`: pax, ustar or gnu")
	fs.StringVar(&o.Compress, "compress", "", "compressor `C`: none, gzip, gzip-N (N=1..9), xz, zstd, zstd-N, bzip2 (default: from OUT's name, as git archive -o does: .tar.gz/.tgz gzip, .tar.xz xz, .tar.zst zstd, .tar.bz2 bzip2, else none)")
	fs.Int64Var(&o.MaxSize, "max-size", tarball.DefaultMaxSize, "fail if IN decompresses to more than `BYTES`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("normalize", "want one input archive IN, got %d argument(s)", len(pos))
	}
	if o.Out == "" {
		return usagef("normalize", "missing -o OUT")
	}
	opts := []tarball.Option{tarball.WithMaxSize(o.MaxSize)}
	if o.MTime == "" && o.ClampMTime == "" {
		o.MTime = c.Getenv("SOURCE_DATE_EPOCH")
	}
	switch {
	case o.MTime != "" && o.ClampMTime != "":
		return usagef("normalize", "--mtime and --clamp-mtime are exclusive")
	case o.MTime != "":
		t, err := parseEpoch(o.MTime)
		if err != nil {
			return usagef("normalize", "--mtime (or SOURCE_DATE_EPOCH): %v", err)
		}
		opts = append(opts, tarball.WithMTime(t))
	case o.ClampMTime != "":
		t, err := parseEpoch(o.ClampMTime)
		if err != nil {
			return usagef("normalize", "--clamp-mtime: %v", err)
		}
		opts = append(opts, tarball.WithClampMTime(t))
	}
	switch o.Owner {
	case "":
	case "root":
		opts = append(opts, tarball.WithOwner(tarball.OwnerRoot))
	case "numeric":
		opts = append(opts, tarball.WithOwner(tarball.OwnerNumeric))
	default:
		return usagef("normalize", "--owner %q: want root or numeric", o.Owner)
	}
	if o.ModeNormalize {
		opts = append(opts, tarball.WithModeNormalize())
	}
	if o.Sort {
		opts = append(opts, tarball.WithSort())
	}
	format, ok := map[string]tar.Format{"pax": tar.FormatPAX, "ustar": tar.FormatUSTAR, "gnu": tar.FormatGNU}[o.Format]
	if !ok {
		return usagef("normalize", "--format %q: want pax, ustar or gnu", o.Format)
	}
	opts = append(opts, tarball.WithFormat(format))
	if o.Compress == "" {
		o.Compress = compressionFromName(o.Out)
		if o.Compress == "" {
			o.Compress = "none"
		}
	} else if err := checkCompressionName("normalize", o.Out, o.Compress, family(o.Compress)); err != nil {
		return err
	}
	comp, level, err := parseCompress(o.Compress)
	if err != nil {
		return usagef("normalize", "--compress %q: %v", o.Compress, err)
	}
	opts = append(opts, tarball.WithCompressor(comp, level))

	in, err := tarball.OpenFile(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	if ist, err := in.Stat(); err == nil {
		if ost, err := os.Stat(o.Out); err == nil && os.SameFile(ist, ost) {
			return usagef("normalize", "OUT %s is the input; choose another file", o.Out)
		}
	}
	return atomicfile.Write(o.Out, func(w io.Writer) error {
		return tarball.Normalize(ctx, in, w, append(opts, tarball.WithName(pos[0]))...)
	})
}

func parseEpoch(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("%q is not a non-negative number of seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func parseCompress(s string) (tarball.Compression, int, error) {
	name, lvl, hasLevel := strings.Cut(s, "-")
	level := 0
	if hasLevel {
		n, err := strconv.Atoi(lvl)
		if err != nil || n < 1 {
			return "", 0, fmt.Errorf("bad level %q", lvl)
		}
		level = n
	}
	switch name {
	case "none":
		if hasLevel {
			return "", 0, fmt.Errorf("none takes no level")
		}
		return tarball.None, 0, nil
	case "gzip":
		if level > 9 {
			return "", 0, fmt.Errorf("gzip level must be 1..9")
		}
		return tarball.Gzip, level, nil
	case "xz":
		if hasLevel {
			return "", 0, fmt.Errorf("xz takes no level (the Go encoder has one setting)")
		}
		return tarball.XZ, 0, nil
	case "zstd":
		if level > 22 {
			return "", 0, fmt.Errorf("zstd level must be 1..22")
		}
		return tarball.Zstd, level, nil
	case "bzip2":
		if level > 9 {
			return "", 0, fmt.Errorf("bzip2 level must be 1..9")
		}
		return tarball.Bzip2, level, nil
	}
	return "", 0, fmt.Errorf("want none, gzip, gzip-N, xz, zstd, zstd-N or bzip2")
}
