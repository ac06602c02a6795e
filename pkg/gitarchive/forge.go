package gitarchive

import (
	"fmt"
	"strings"
)

// Forge is a named convention for release tarballs made with git archive:
// how the file and its top directory are named, and how it is compressed.
type Forge struct {
	Name string
	// File and Prefix are templates: {project}, {tag} and {version} (the
	// tag without a leading "v" before a digit) are replaced.
	File, Prefix string
	// Compression and Level are the compressor the forge is assumed to use.
	Compression string
	Level       int
	// Doc says where the convention and the compressor assumption come from.
	Doc string
}

// Forges are the known presets, in the order Identify tries them.
var Forges = []Forge{
	{
		Name: "gitlab", File: "{project}-{tag}.tar.gz", Prefix: "{project}-{tag}/",
		Compression: CompressGitInternal, Level: -1,
		Doc: "GitLab /-/archive/TAG/PROJECT-TAG.tar.gz; Gitaly runs git archive --format=tar.gz with its bundled git (2.38+: internal gzip)",
	},
	{
		Name: "github", File: "{project}-{version}.tar.gz", Prefix: "{project}-{version}/",
		Compression: CompressGzipN, Level: -1,
		Doc: "GitHub /archive/refs/tags/TAG.tar.gz, served as PROJECT-VERSION.tar.gz with the leading v of the tag dropped; gzip -cn output (kept stable since the 2023 revert of git's internal gzip)",
	},
	{
		Name: "codeberg", File: "{project}-{tag}.tar.gz", Prefix: "{project}/",
		Compression: CompressGitInternal, Level: -1,
		Doc: "Codeberg/Forgejo/Gitea /archive/TAG.tar.gz, prefix is the repository name; git archive --format=tar.gz (git 2.38+: internal gzip)",
	},
	{
		Name: "forgejo", File: "{project}-{tag}.tar.gz", Prefix: "{project}/",
		Compression: CompressGitInternal, Level: -1,
		Doc: "same as codeberg",
	},
	{
		Name: "cgit", File: "{project}-{version}.tar.gz", Prefix: "{project}-{version}/",
		Compression: CompressGzipN, Level: -1,
		Doc: "cgit /snapshot/PROJECT-VERSION.tar.gz; cgit pipes git's tar through gzip -n",
	},
	{
		Name: "srcdist", File: "{project}-{version}-src.tar.gz", Prefix: "{project}-v{version}/",
		Compression: CompressGzipN, Level: -1,
		Doc: "libntlm-style 'make srcdist': git archive --prefix=NAME-vVERSION/ | gzip -cn > NAME-VERSION-src.tar.gz (checked: libntlm-1.8-src.tar.gz is gzip -cn level 6)",
	},
}

// LookupForge returns the preset called name.
func LookupForge(name string) (Forge, error) {
	var names []string
	for _, f := range Forges {
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return Forge{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownForge, name, strings.Join(names, ", "))
}

// Version is the tag without a refs/tags/ prefix and without a leading
// "v" or "V" before a digit.
func Version(tag string) string {
	tag = strings.TrimPrefix(tag, "refs/tags/")
	if len(tag) > 1 && (tag[0] == 'v' || tag[0] == 'V') && tag[1] >= '0' && tag[1] <= '9' {
		return tag[1:]
	}
	return tag
}

func (f Forge) expand(tmpl, project, tag string) string {
	tag = strings.TrimPrefix(tag, "refs/tags/")
	return strings.NewReplacer("{project}", project, "{tag}", tag, "{version}", Version(tag)).Replace(tmpl)
}

// FileName is the name of the forge's tarball for project at tag.
func (f Forge) FileName(project, tag string) string { return f.expand(f.File, project, tag) }

// PrefixFor is the git archive --prefix the forge uses for project at tag.
func (f Forge) PrefixFor(project, tag string) string { return f.expand(f.Prefix, project, tag) }
