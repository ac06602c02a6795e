package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/sign"
)

func init() {
	register(command{name: "key", summary: "generate an OpenPGP key for signing attestations", run: runKey})
}

const defaultPassphraseEnv = "VERIFY_RELEASE_KEY_PASSPHRASE"

const keyUsage = `Usage:
  verify-release key generate --name NAME --email EMAIL -o KEYFILE [--expire DURATION]

Generates an Ed25519 OpenPGP key (v4, readable by GnuPG 2.2) for signing
attestations and SHA256SUMS. Writes the secret key to KEYFILE (mode 0600)
and the public key to KEYFILE.pub; neither may exist yet. The key does not
expire unless --expire is given.

The secret key is encrypted when a passphrase is available: from the
environment variable named by --passphrase-env (default
VERIFY_RELEASE_KEY_PASSPHRASE) or the first line of --passphrase-file.
A passphrase is never taken from a flag value.

Examples:
  verify-release key generate --name "Release Verifier" --email verifier@example.org -o verifier.key
  VERIFY_RELEASE_KEY_PASSPHRASE=... verify-release key generate --name CI --email ci@example.org -o ci.key --expire 2y
`

// passphraseFlags are shared by commands that read a secret key.
type passphraseFlags struct {
	env  string
	file string
}

func (p *passphraseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.env, "passphrase-env", defaultPassphraseEnv, "read the key passphrase from environment variable `NAME`")
	fs.StringVar(&p.file, "passphrase-file", "", "read the key passphrase from the first line of `FILE`")
}

// passphrase returns the passphrase, or nil if none is configured.
func (p *passphraseFlags) passphrase(c *cli) ([]byte, error) {
	if p.file != "" {
		data, err := os.ReadFile(p.file)
		if err != nil {
			return nil, fmt.Errorf("reading passphrase: %w", err)
		}
		line, _, _ := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", p.file)
		}
		return line, nil
	}
	if p.env != "" {
		if v := c.Getenv(p.env); v != "" {
			return []byte(v), nil
		}
	}
	return nil, nil
}

// loadSigner reads a secret key for signing results, unlocking it with the
// configured passphrase. at fixes the signature time (zero: the clock).
func loadSigner(c *cli, keyFile string, p *passphraseFlags, at time.Time) (*sign.Signer, error) {
	pass, err := p.passphrase(c)
	if err != nil {
		return nil, err
	}
	opts := []sign.SignerOption{sign.WithPassphrase(pass)}
	if !at.IsZero() {
		opts = append(opts, sign.WithTime(at))
	}
	s, err := sign.ReadSigner(keyFile, opts...)
	if err != nil {
		return nil, withHint(err, fmt.Sprintf("set %s or use --passphrase-file for an encrypted key", p.env))
	}
	return s, nil
}

type keyOptions struct {
	name, email, out, expire string
	pass                     passphraseFlags
}

func runKey(ctx context.Context, c *cli, args []string) error {
	var o keyOptions
	fs := newFlagSet(c, "key", keyUsage)
	fs.StringVar(&o.name, "name", "", "user ID `NAME`")
	fs.StringVar(&o.email, "email", "", "user ID `EMAIL`")
	fs.StringVar(&o.out, "o", "", "write the secret key to `KEYFILE` and the public key to KEYFILE.pub")
	fs.StringVar(&o.expire, "expire", "", "key lifetime `DURATION`, e.g. 365d, 2y, 8760h (default: never expires)")
	o.pass.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "generate" {
		return usagef("key", "want 'key generate --name NAME --email EMAIL -o KEYFILE'")
	}
	if o.name == "" || o.email == "" || o.out == "" {
		return usagef("key", "--name, --email and -o are required")
	}
	var opts []sign.SignerOption
	if o.expire != "" {
		d, err := parseDuration(o.expire)
		if err != nil {
			return usagef("key", "--expire: %v", err)
		}
		opts = append(opts, sign.WithKeyLifetime(d))
	}
	pass, err := o.pass.passphrase(c)
	if err != nil {
		return err
	}
	if pass != nil {
		opts = append(opts, sign.WithPassphrase(pass))
	}
	s, err := sign.GenerateKey(o.name, o.email, opts...)
	if err != nil {
		return err
	}
	if err := sign.WriteKeyFiles(s, o.out); err != nil {
		return err
	}
	if pass == nil {
		fmt.Fprintf(c.Stderr, "verify-release: warning: %s is not protected by a passphrase (set %s to encrypt it)\n", o.out, o.pass.env)
	}
	fmt.Fprintf(c.Stdout, "%s\n  secret key: %s\n  public key: %s.pub\n  user ID:    %s\n", s.Fingerprint(), o.out, o.out, s.UserID())
	return nil
}
