package main

import (
	"context"
	"path/filepath"
	"strings"

	"gitlab.com/verify-release/verify-release/pkg/cache"
	"gitlab.com/verify-release/verify-release/pkg/debian"
	"gitlab.com/verify-release/verify-release/pkg/fingerprint"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const fingerprintUsage = `Usage:
  verify-release fingerprint [flags] TARBALL

Read the evidence a release tarball carries about how it was made, and rank
the environments that could have made it.

Evidence, each with the member and line it came from: generator versions
(autoconf, automake, libtool, gettext, texinfo/makeinfo, help2man, bison,
flex, gtk-doc), distribution build suffixes ("2.4.7 Debian-2.4.7-7~deb12u1")
and development builds ("-dirty"), config.guess/config.sub timestamps,
gnulib, release-tool manifests (curl's docs/RELEASE-TOOLS.md), pinned base
images; how the archive was written (tar format, owners, modes, member
order, mtime distribution with a SOURCE_DATE_EPOCH/commit-time candidate,
record size) and compressed (gzip header, xz check and preset; for gzip,
the exact compressor, level and --rsyncable, as 'verify-release
compression' names them).

Environments: the Debian suites the mirror serves (--suites; their Packages
indexes read through the signature-verified InRelease) and a shipped table
of older Debian releases, Ubuntu and Trisquel, each citing its source. The
best candidates are printed with what matches (✓), nearly matches (≈, a
point release apart) and does not (✗), and the [env] block to paste. When
nothing matches, the evidence that rules every environment out is named.

TARBALL may be tar, tar.gz, tar.xz, tar.bz2 or tar.zst (detected from its
bytes). --json prints the stable form documented in docs/fingerprint.md.

Examples:
  verify-release fingerprint curl-8.14.1.tar.gz
  verify-release fingerprint --json xz-5.8.1.tar.xz
  verify-release fingerprint --offline --top 0 libntlm-1.6.tar.gz
  verify-release fingerprint --suites bookworm,bullseye libidn2-2.3.3.tar.gz
`

// fingerprintOptions are the flags of 'verify-release fingerprint'.
type fingerprintOptions struct {
	JSON       bool
	Offline    bool
	Suites     string
	Mirror     string
	Top        int
	NoIdentify bool
	MaxSize    int64
}

func init() {
	register(command{name: "fingerprint", summary: "show the evidence of how a tarball was made and rank the environments", run: runFingerprint})
}

func runFingerprint(ctx context.Context, c *cli, args []string) error {
	var o fingerprintOptions
	fs := newFlagSet(c, "fingerprint", fingerprintUsage)
	fs.BoolVar(&o.JSON, "json", false, "print JSON (docs/fingerprint.md)")
	fs.BoolVar(&o.Offline, "offline", false, "rank against the shipped table only; do not read the Debian mirror")
	fs.StringVar(&o.Suites, "suites", strings.Join(fingerprint.DebianSuites, ","), "the Debian `SUITES` to read from the mirror, comma-separated")
	fs.StringVar(&o.Mirror, "mirror", "", "Debian mirror `URL` (default $"+debian.MirrorEnv("debian")+" or "+debian.Debian.Mirror+")")
	fs.IntVar(&o.Top, "top", 3, "show the best `N` environments in the text output (0: all)")
	fs.BoolVar(&o.NoIdentify, "no-identify", false, "do not identify the exact compressor of a gzip file")
	fs.Int64Var(&o.MaxSize, "max-size", tarball.DefaultMaxSize, "fail if the archive decompresses to more than `BYTES`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("fingerprint", "want one TARBALL, got %d argument(s)", len(pos))
	}
	if o.Top < 0 {
		return usagef("fingerprint", "--top must be 0 or more, got %d", o.Top)
	}
	rep, err := fingerprintReport(ctx, pos[0], o)
	if err != nil {
		return err
	}
	if o.JSON {
		return rep.WriteJSON(c.Stdout)
	}
	return rep.WriteText(c.Stdout, o.Top)
}

// fingerprintReport scans path and ranks the environments o selects.
func fingerprintReport(ctx context.Context, path string, o fingerprintOptions) (*fingerprint.Report, error) {
	opts := []fingerprint.Option{fingerprint.WithMaxSize(o.MaxSize)}
	if !o.NoIdentify {
		opts = append(opts, fingerprint.WithCompressorIdentification())
	}
	fp, err := fingerprint.Scan(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	var envs []fingerprint.Environment
	if !o.Offline {
		var suites []string
		for _, s := range strings.Split(o.Suites, ",") {
			if s = strings.TrimSpace(s); s != "" {
				suites = append(suites, s)
			}
		}
		if len(suites) > 0 {
			dir, err := cache.Dir()
			if err != nil {
				return nil, err
			}
			cl := debian.NewClient(debian.Debian, debian.WithMirror(o.Mirror), debian.WithCacheDir(filepath.Join(dir, "debian")))
			envs, err = fingerprint.DebianEnvironments(ctx, cl, fingerprint.WantedPackages(fp), suites...)
			if err != nil {
				return nil, withHint(err, "--offline ranks against the shipped table only, without the mirror")
			}
		}
	}
	envs = append(envs, fingerprint.Known()...)
	return fingerprint.NewReport(fp, envs), nil
}
