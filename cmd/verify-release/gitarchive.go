package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/atomicfile"
	"gitlab.com/verify-release/verify-release/pkg/gitarchive"
	"gitlab.com/verify-release/verify-release/pkg/tarball"
)

const gitarchiveUsage = `Usage:
  verify-release gitarchive --repo DIR REF [--prefix P | --forge NAME --project NAME]
                            [--compress C] [--level N] [--mtime T] -o FILE
  verify-release gitarchive --repo DIR REF --identify PUBLISHED [--project NAME]

Write exactly the bytes 'git archive --format=tar --prefix=P REF' (git 2.39)
writes, optionally compressed, without running git archive: objects come
from git cat-file and the tar is written by verify-release, streaming.
REF may be a commit, a tag or a tree (a tree needs --mtime or --allow-now).
.gitattributes export-ignore and export-subst ($Format:...$) are honoured;
features whose output cannot be reproduced exactly are errors.

Compressors (--compress; by default the output name chooses, as with
'git archive -o': NAME.tar.gz or NAME.tgz is git-internal; NAME.tar.xz,
NAME.tar.zst and NAME.tar.bz2 are the tar stream compressed as normalize
compresses (xz, zstd, bzip2 -9); else none):
  none           the tar stream (or the forge's compressor with --forge)
  gzip-n         GNU 'gzip -cn -LEVEL' (level 1-9, default 6)
  git-internal   git 2.38+ 'git archive --format=tar.gz' internal gzip
                 (zlib level 0-9, default 6)

Forge presets (--forge; file name and prefix for project P at tag T,
version V = T without a leading v):
  gitlab    P-T.tar.gz, prefix P-T/, git-internal
  github    P-V.tar.gz, prefix P-V/, gzip-n
  codeberg  P-T.tar.gz, prefix P/,   git-internal (also: forgejo)
  cgit      P-V.tar.gz, prefix P-V/, gzip-n
  srcdist   P-V-src.tar.gz, prefix P-vV/, gzip-n (libntlm 'make srcdist')

With --identify, try every prefix (the presets, the published tarball's
top directory, none) and compressor, and print which one reproduces
PUBLISHED byte for byte. Exit status 0 if one does, 1 if none does (the
output then says whether some prefix gives the same tar stream).

Examples:
  verify-release gitarchive --repo libntlm v1.8 --forge srcdist --project libntlm -o libntlm-1.8-src.tar.gz
  verify-release gitarchive --repo . HEAD --prefix proj-1.0/ --compress gzip-n --level 9 -o - | sha256sum
  verify-release gitarchive --repo repo.git 'v1.0^{tree}' --mtime 2024-04-13T10:04:00Z -o tree.tar
  verify-release gitarchive --repo libntlm v1.8 --identify libntlm-1.8-src.tar.gz
`

// gitarchiveOptions are the flags of 'verify-release gitarchive'.
type gitarchiveOptions struct {
	Repo     string
	Prefix   string
	Forge    string
	Project  string
	Compress string
	Level    int
	Mtime    string
	AllowNow bool
	Abbrev   int
	Output   string
	Identify string
	MaxSize  int64
}

func init() {
	register(command{name: "gitarchive", summary: "write git archive's exact tarball for a ref, or identify how a tarball was made", run: runGitarchive})
}

func runGitarchive(ctx context.Context, c *cli, args []string) error {
	var o gitarchiveOptions
	fs := newFlagSet(c, "gitarchive", gitarchiveUsage)
	fs.StringVar(&o.Repo, "repo", "", "git repository `DIR` (top of a clone, or a bare repository)")
	fs.StringVar(&o.Prefix, "prefix", "", "prepend `P` to every path (git archive --prefix)")
	fs.StringVar(&o.Forge, "forge", "", "use the prefix and compressor of forge preset `NAME`")
	fs.StringVar(&o.Project, "project", "", "project `NAME` for --forge (and --identify presets)")
	fs.StringVar(&o.Compress, "compress", "", "compressor `C`: none, gzip-n, git-internal")
	fs.IntVar(&o.Level, "level", -1, "compression level `N`: 1-9, or 0 for git-internal (default 6)")
	fs.StringVar(&o.Mtime, "mtime", "", "member mtime `T` (unix seconds or RFC 3339) instead of the committer time")
	fs.BoolVar(&o.AllowNow, "allow-now", false, "for a tree REF without --mtime, use the current time as git archive does")
	fs.IntVar(&o.Abbrev, "abbrev", 0, "pin core.abbrev to `N` for %h/%t/%p in export-subst files (default: repository's)")
	fs.StringVar(&o.Output, "o", "", "write the archive to `FILE` ('-' for stdout)")
	fs.StringVar(&o.Identify, "identify", "", "find the variant that reproduces `PUBLISHED` tarball")
	fs.Int64Var(&o.MaxSize, "max-size", tarball.DefaultMaxSize, "with --identify, fail if PUBLISHED decompresses to more than `BYTES`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("gitarchive", "want exactly one REF, got %d arguments", len(pos))
	}
	ref := pos[0]
	if o.Repo == "" {
		return usagef("gitarchive", "--repo DIR is required")
	}
	var opts []gitarchive.Option
	if o.Mtime != "" {
		t, err := parseMtime(o.Mtime)
		if err != nil {
			return usagef("gitarchive", "--mtime %q: %v", o.Mtime, err)
		}
		opts = append(opts, gitarchive.WithMtime(t))
	}
	if o.AllowNow {
		opts = append(opts, gitarchive.WithTreeTimeNow(time.Now))
	}
	if o.Abbrev != 0 {
		opts = append(opts, gitarchive.WithAbbrev(o.Abbrev))
	}
	if o.Identify != "" {
		if o.Output != "" || o.Prefix != "" || o.Forge != "" || o.Compress != "" {
			return usagef("gitarchive", "--identify cannot be combined with -o, --prefix, --forge or --compress")
		}
		if o.Project != "" {
			opts = append(opts, gitarchive.WithProject(o.Project))
		}
		opts = append(opts, gitarchive.WithMaxSize(o.MaxSize))
		return identify(ctx, c, o, ref, opts)
	}
	if o.Output == "" {
		return usagef("gitarchive", "-o FILE is required ('-o -' for stdout)")
	}
	if o.Prefix != "" && o.Forge != "" {
		return usagef("gitarchive", "--prefix and --forge are exclusive")
	}
	prefix, compress, level := o.Prefix, gitarchive.CompressNone, -1
	var outer tarball.Compression // set when -o names xz, zstd or bzip2
	if o.Forge != "" {
		f, err := gitarchive.LookupForge(o.Forge)
		if err != nil {
			return usagef("gitarchive", "%v", err)
		}
		if o.Project == "" {
			return usagef("gitarchive", "--forge needs --project NAME")
		}
		prefix, compress, level = f.PrefixFor(o.Project, ref), f.Compression, f.Level
	}
	if o.Compress != "" {
		compress, level = o.Compress, -1
		if !slices.Contains(gitarchive.Compressors, o.Compress) {
			return usagef("gitarchive", "%v %q", gitarchive.ErrUnknownCompressor, o.Compress)
		}
		if err := checkCompressionName("gitarchive", o.Output, o.Compress, family(o.Compress)); err != nil {
			return err
		}
	} else if o.Forge == "" {
		// Like 'git archive -o x.tar.gz' (git 2.38+: its internal gzip).
		switch want := compressionFromName(o.Output); want {
		case "gzip":
			compress = gitarchive.CompressGitInternal
		case "", "none":
		case "xz":
			outer = tarball.XZ
		case "zstd":
			outer = tarball.Zstd
		case "bzip2":
			outer = tarball.Bzip2
		}
	}
	if o.Level != -1 {
		if compress == gitarchive.CompressNone {
			return usagef("gitarchive", "--level needs --compress gzip-n or git-internal")
		}
		level = o.Level
	}
	opts = append(opts, gitarchive.WithCompression(compress, level))
	if prefix != "" {
		opts = append(opts, gitarchive.WithPrefix(prefix))
	}
	var info *gitarchive.Info
	write := func(w io.Writer) error {
		var err error
		if outer == "" {
			info, err = gitarchive.Write(ctx, w, o.Repo, ref, opts...)
			return err
		}
		// -o NAME.tar.xz/.tar.zst/.tar.bz2: git archive's tar stream,
		// compressed as normalize compresses (docs/cli.md, "Output files").
		cw, err := tarball.CompressWriter(ctx, w, outer, 0)
		if err != nil {
			return err
		}
		info, err = gitarchive.Write(ctx, cw, o.Repo, ref, opts...)
		if cerr := cw.Close(); err == nil {
			err = cerr
		}
		return err
	}
	summary := c.Stdout
	switch {
	case o.Output == "-":
		summary = c.Stderr
		err = write(c.Stdout)
	default:
		err = atomicfile.Write(o.Output, write)
	}
	if err != nil {
		return gitarchiveHint(err, o.Repo, ref)
	}
	name := o.Output
	if name == "-" {
		name = "(stdout)"
	}
	commit := info.Commit
	if commit == "" {
		commit = "none (tree)"
	}
	fmt.Fprintf(summary, "wrote %s: ref %s commit %s tree %s mtime %s prefix %q compress %s\n",
		name, ref, commit, info.Tree, info.Mtime.Format(time.RFC3339), prefix, outerName(outer, compressName(compress, level)))
	return nil
}

// outerName names the compression of the written file: the -o name's
// xz/zstd/bzip2 when it chose one, else the gitarchive method.
func outerName(outer tarball.Compression, method string) string {
	if outer != "" {
		return string(outer)
	}
	return method
}

func compressName(method string, level int) string {
	if method == gitarchive.CompressNone || level < 0 {
		return method
	}
	return method + " -" + strconv.Itoa(level)
}

func identify(ctx context.Context, c *cli, o gitarchiveOptions, ref string, opts []gitarchive.Option) error {
	id, err := gitarchive.Identify(ctx, o.Repo, ref, o.Identify, opts...)
	if err != nil {
		return gitarchiveHint(err, o.Repo, ref)
	}
	fmt.Fprintf(c.Stdout, "published %s\n  sha256 %s (%s)\n  tar stream sha256 %s\n", id.Published, id.PublishedSHA256, id.Compression, id.TarSHA256)
	if id.Match != nil {
		fmt.Fprintf(c.Stdout, "reproduced byte for byte from %s (commit %s) with %s\n", ref, orTree(id.Info.Commit), id.Match)
		for _, m := range id.Matches[1:] {
			fmt.Fprintf(c.Stdout, "  also with %s\n", m)
		}
		return nil
	}
	if id.TarMatch != nil {
		fmt.Fprintf(c.Stdout, "same tar stream from %s (commit %s) with --prefix=%q, but no known compressor reproduces the file\n", ref, orTree(id.Info.Commit), id.TarMatch.Prefix)
		return errDiffer
	}
	fmt.Fprintf(c.Stdout, "not reproduced from %s; tried:\n", ref)
	for _, v := range id.Tried {
		fmt.Fprintf(c.Stdout, "  %s\n", v)
	}
	return errDiffer
}

func orTree(commit string) string {
	if commit == "" {
		return "none (tree)"
	}
	return commit
}

// parseMtime accepts unix seconds (optionally "@N") or RFC 3339.
func parseMtime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(strings.TrimPrefix(s, "@"), 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("want unix seconds or RFC 3339 (2024-04-13T10:04:00Z)")
	}
	return t, nil
}

func gitarchiveHint(err error, repo, ref string) error {
	switch {
	case errors.Is(err, gitarchive.ErrNotRepository):
		return withHint(err, "pass the top directory of a git clone, or a bare repository, with --repo")
	case errors.Is(err, gitarchive.ErrUnknownRef):
		return withHint(err, fmt.Sprintf("list the tags with: git -C %s tag", repo))
	case errors.Is(err, gitarchive.ErrMissingObject):
		return withHint(err, fmt.Sprintf("the clone may be shallow or partial; try: git -C %s fetch --unshallow --tags", repo))
	case errors.Is(err, gitarchive.ErrNoMtime):
		return withHint(err, fmt.Sprintf("%s is a tree: pass --mtime T, or --allow-now to use the current time as git archive does", ref))
	case errors.Is(err, gitarchive.ErrBadPrefix), errors.Is(err, gitarchive.ErrUnknownCompressor):
		return usagef("gitarchive", "%v", err)
	}
	return err
}
