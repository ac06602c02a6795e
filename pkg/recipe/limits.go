package recipe

import (
	"fmt"
	"net/url"
	"strings"
)

// MaxFileSize is the largest recipe file accepted. Real recipes are a few
// kilobytes; the limit keeps a hostile file from costing memory while it is
// decoded.
const MaxFileSize = 1 << 20

// MaxListLength is the longest array accepted for any recipe key (setup
// commands, packages, inputs, build commands, fingerprints, ...).
const MaxListLength = 1000

// ParseOption configures Load, Parse and Store.Find.
type ParseOption func(*parseOptions)

type parseOptions struct {
	localGit bool
}

// WithLocalGit accepts local paths (absolute, ./relative or file://) as
// git URLs, for recipes written against a clone on this machine. Without
// it only https://, http://, ssh:// and scp-style (user@host:path) URLs
// are accepted.
func WithLocalGit() ParseOption { return func(o *parseOptions) { o.localGit = true } }

// shellMeta are the characters a tag or ref may not contain even where
// git's ref-format rules allow them: a recipe value must never be able to
// mean something to a shell.
const shellMeta = "$`;&|<>()'\"!#{}"

// checkRefName reports why refs/tags/<tag> breaks git's ref-format rules
// (git-check-ref-format(1)) or carries a shell metacharacter, or "" when
// it is acceptable.
func checkRefName(tag string) string {
	full := "refs/tags/" + tag
	switch {
	case strings.HasPrefix(tag, "-"):
		return "must not start with -"
	case full == "@" || strings.Contains(full, "@{"):
		return "must not contain @{"
	case strings.Contains(full, ".."):
		return "must not contain .."
	case strings.HasSuffix(full, "/") || strings.Contains(full, "//"):
		return "must not end with / or contain //"
	case strings.HasSuffix(full, "."):
		return "must not end with ."
	}
	for _, c := range full {
		switch {
		case c < 0x20 || c == 0x7f:
			return "must not contain control characters"
		case strings.ContainsRune(" ~^:?*[\\", c):
			return fmt.Sprintf("must not contain %q", c)
		case strings.ContainsRune(shellMeta, c):
			return fmt.Sprintf("must not contain the shell metacharacter %q", c)
		}
	}
	for _, comp := range strings.Split(full, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return "no path component may start with . or end with .lock"
		}
	}
	return ""
}

// checkGitURL reports why u may not be handed to git as a repository URL,
// or "" when it is acceptable.
func checkGitURL(u string, o parseOptions) string {
	if u == "" {
		return ""
	}
	if strings.HasPrefix(u, "-") {
		return "must not start with - (git would read it as an option)"
	}
	for _, c := range u {
		if c <= 0x20 || c == 0x7f {
			return "must not contain spaces or control characters"
		}
	}
	if strings.Contains(u, "::") {
		return "git remote-helper transports (ext::, fd::, ...) are not accepted"
	}
	local := func() string {
		if o.localGit {
			return ""
		}
		return "is a local path: only https://, http://, ssh:// and user@host:path URLs are accepted (pass --allow-local-git for a clone on this machine)"
	}
	if scheme, _, ok := strings.Cut(u, "://"); ok {
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Sprintf("is not a valid URL: %v", err)
		}
		switch strings.ToLower(scheme) {
		case "https", "http", "ssh":
		case "file":
			return local()
		default:
			return fmt.Sprintf("transport %s:// is not accepted: use https://, http:// or ssh://", scheme)
		}
		if p.Hostname() == "" || strings.HasPrefix(p.Hostname(), "-") || strings.HasPrefix(p.User.Username(), "-") {
			return "needs a host name that does not start with -"
		}
		return ""
	}
	if strings.HasPrefix(u, "/") || strings.HasPrefix(u, "./") || strings.HasPrefix(u, "../") {
		return local()
	}
	// scp-style [user@]host:path: git takes it so when a colon comes
	// before any slash.
	host, _, ok := strings.Cut(u, ":")
	if ok && !strings.Contains(host, "/") {
		if _, h, found := strings.Cut(host, "@"); found {
			host = h
		}
		if host == "" || strings.HasPrefix(host, "-") || strings.HasPrefix(u, "-") {
			return "needs a host name that does not start with -"
		}
		return ""
	}
	return local()
}

// checkHTTPURL reports why u is not an http(s) URL to download from.
func checkHTTPURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("is not a valid URL: %v", err)
	}
	if (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return "must be an https:// or http:// URL"
	}
	return ""
}
