package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"pault.ag/go/debian/control"
)

// maxInRelease bounds the InRelease file (Debian's are ~200 KB).
const maxInRelease = 16 << 20

// Release is a verified InRelease file of one suite.
type Release struct {
	// Suite as asked ("bookworm", "bookworm-updates", "bookworm-security").
	Suite    string
	Codename string
	// Date is the archive's Date field, UTC.
	Date time.Time
	// SignedBy is the full fingerprint of the primary key that signed it.
	SignedBy string
	// SHA256 of the InRelease file as fetched.
	SHA256 string
	// Root is the archive root the suite lives in (a mirror URL).
	Root string
	// Files maps a path below dists/SUITE/ to its size and SHA-256.
	Files map[string]FileSum
}

// FileSum is a size and SHA-256 from a Release or Packages file.
type FileSum struct {
	Size   int64
	SHA256 string
}

// Release fetches dists/SUITE/InRelease, verifies its signature with the
// keyring, and parses it. A suite ending in "-security" of Debian is read
// from the security archive.
func (c *Client) Release(ctx context.Context, suite string) (*Release, error) {
	if suite == "" || strings.ContainsAny(suite, "/ \t\n") || strings.HasPrefix(suite, ".") {
		return nil, fmt.Errorf("%w: suite %q", ErrInvalid, suite)
	}
	cl := c
	if strings.HasSuffix(suite, "-security") && c.dist.Security != "" && os.Getenv(MirrorEnv(c.dist.Name)) == "" {
		cp := *c
		cp.mirrors = []string{c.dist.Security}
		cl = &cp
	}
	keyring, err := c.readKeyring()
	if err != nil {
		return nil, err
	}
	path := "dists/" + suite + "/InRelease"
	var data []byte
	var root string
	for _, m := range cl.mirrors {
		one := *cl
		one.mirrors = []string{m}
		err = one.get(ctx, path, func(r io.Reader) error {
			b, err := io.ReadAll(io.LimitReader(r, maxInRelease+1))
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrFetch, one.URL(path), err)
			}
			if len(b) > maxInRelease {
				return fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalid, one.URL(path), maxInRelease)
			}
			data = b
			return nil
		})
		if err == nil {
			root = m
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	rel, err := ParseInRelease(data, root+"/"+path, keyring, time.Now())
	if err != nil {
		return nil, err
	}
	rel.Suite, rel.Root = suite, root
	return rel, nil
}

func (c *Client) readKeyring() (openpgp.EntityList, error) {
	var all openpgp.EntityList
	for _, p := range c.keyrings {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: reading keyring: %v", ErrSignature, err)
		}
		var el openpgp.EntityList
		if bytes.Contains(b, []byte("-----BEGIN PGP")) {
			el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
		} else {
			el, err = openpgp.ReadKeyRing(bytes.NewReader(b))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: keyring %s: %v", ErrSignature, p, err)
		}
		all = append(all, el...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: no keys in %s", ErrSignature, strings.Join(c.keyrings, ", "))
	}
	return all, nil
}

// ParseInRelease verifies a clearsigned InRelease file (data, named name
// in errors) against keyring at time now and parses it.
func ParseInRelease(data []byte, name string, keyring openpgp.EntityList, now time.Time) (*Release, error) {
	block, rest := clearsign.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: %s is not a clearsigned file", ErrSignature, name)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: %s has data after its signature", ErrSignature, name)
	}
	signer, err := block.VerifySignature(keyring, &packet.Config{Time: func() time.Time { return now }})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSignature, name, err)
	}
	sum := sha256.Sum256(data)
	rel := &Release{SHA256: hex.EncodeToString(sum[:]), SignedBy: strings.ToUpper(hex.EncodeToString(signer.PrimaryKey.Fingerprint)), Files: map[string]FileSum{}}
	pr, err := control.NewParagraphReader(bytes.NewReader(block.Plaintext), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	p, err := pr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	rel.Codename = p.Values["Codename"]
	if d := p.Values["Date"]; d != "" {
		t, err := parseDate(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: Date %q: %v", ErrInvalid, name, d, err)
		}
		rel.Date = t
	}
	if vu := p.Values["Valid-Until"]; vu != "" {
		if t, err := parseDate(vu); err == nil && now.After(t) {
			return nil, fmt.Errorf("%w: %s expired at %s (Valid-Until)", ErrSignature, name, t.Format(time.RFC3339))
		}
	}
	for _, line := range strings.Split(p.Values["SHA256"], "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || len(f[0]) != 64 {
			return nil, fmt.Errorf("%w: %s: bad SHA256 line %q", ErrInvalid, name, line)
		}
		rel.Files[f[2]] = FileSum{Size: n, SHA256: f[0]}
	}
	if len(rel.Files) == 0 {
		return nil, fmt.Errorf("%w: %s lists no SHA256 files", ErrInvalid, name)
	}
	return rel, nil
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an RFC 2822 date")
}
