package main

import (
	"strings"
)

// outputSuffixes map an output file name's ending to the compression it
// names, as 'git archive -o' and GNU tar -a read them (docs/cli.md,
// "Output files").
var outputSuffixes = []struct{ suffix, compression string }{
	{".tar", "none"},
	{".tar.gz", "gzip"}, {".tgz", "gzip"},
	{".tar.xz", "xz"}, {".txz", "xz"},
	{".tar.zst", "zstd"}, {".tzst", "zstd"},
	{".tar.bz2", "bzip2"}, {".tbz2", "bzip2"},
}

// compressionFromName returns the compression (none, gzip, xz, zstd,
// bzip2) an output name asks for, or "" when the name does not say.
func compressionFromName(name string) string {
	lower := strings.ToLower(name)
	for _, s := range outputSuffixes {
		if strings.HasSuffix(lower, s.suffix) {
			return s.compression
		}
	}
	return ""
}

// checkCompressionName reports an error when the compressor family
// explicit (from --compress) contradicts what the output name asks for.
func checkCompressionName(cmd, out, explicit, family string) error {
	want := compressionFromName(out)
	if want == "" || want == family {
		return nil
	}
	return usagef(cmd, "--compress %s contradicts the output name %s, which asks for %s; rename the output or drop --compress", explicit, out, want)
}

// family is the compression family of a --compress value: gzip-9,
// gzip-n and git-internal are all gzip.
func family(compress string) string {
	switch name, _, _ := strings.Cut(compress, "-"); name {
	case "git", "gzip":
		return "gzip"
	default:
		return name
	}
}
