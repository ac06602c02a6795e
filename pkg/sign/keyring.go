package sign

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxKeyFile bounds how much of a key or signature file is read into memory.
const maxKeyFile = 16 << 20

// Armor block types.
const (
	armorPublicKey = "PGP PUBLIC KEY BLOCK"
	armorSecretKey = "PGP PRIVATE KEY BLOCK"
	armorSignature = "PGP SIGNATURE"
)

// Keyring is a set of public keys read from one file: armored (one or more
// concatenated blocks) or binary (gpg --export, gpg --dearmor).
type Keyring struct {
	name     string
	entities openpgp.EntityList
}

// ReadKeyring reads a public keyring file. A secret key, garbage or a
// truncated key is an error naming the file.
func ReadKeyring(path string) (*Keyring, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	return ParseKeyring(data, path)
}

// ParseKeyring parses a public keyring; name is used in error messages.
func ParseKeyring(data []byte, name string) (*Keyring, error) {
	el, err := parseEntities(data, name, armorPublicKey)
	if err != nil {
		return nil, err
	}
	for _, e := range el {
		if e.PrivateKey != nil {
			return nil, fmt.Errorf("keyring %s: %w (key %X); export the public key with 'gpg --export' or use FILE.pub", name, ErrSecretKey, e.PrimaryKey.Fingerprint)
		}
	}
	return &Keyring{name: name, entities: el}, nil
}

// Name returns the file name the keyring was read from.
func (k *Keyring) Name() string { return k.name }

// Fingerprints returns the primary key fingerprints (upper-case hex), in
// file order.
func (k *Keyring) Fingerprints() []string {
	out := make([]string, 0, len(k.entities))
	for _, e := range k.entities {
		out = append(out, fingerprint(e.PrimaryKey))
	}
	return out
}

// parseEntities reads keys from armored or binary data. wantArmor is the
// armor type expected for this use; the other key type is read too so the
// caller can give a precise error.
func parseEntities(data []byte, name, wantArmor string) (openpgp.EntityList, error) {
	what := "keyring"
	if wantArmor == armorSecretKey {
		what = "secret key"
	}
	var el openpgp.EntityList
	if isArmored(data) {
		blocks := splitArmor(data)
		for _, b := range blocks {
			block, err := armor.Decode(bytes.NewReader(b))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w: bad ASCII armor: %v", what, name, ErrMalformed, err)
			}
			switch block.Type {
			case armorPublicKey, armorSecretKey:
			default:
				return nil, fmt.Errorf("%s %s: %w: armored block is %q, want %q", what, name, ErrMalformed, block.Type, wantArmor)
			}
			body, err := io.ReadAll(block.Body)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w: bad ASCII armor: %v", what, name, ErrMalformed, describe(err))
			}
			got, err := readEntities(body)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w: %v", what, name, ErrMalformed, describe(err))
			}
			el = append(el, got...)
		}
	} else {
		got, err := readEntities(data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w: not an OpenPGP key (%v)", what, name, ErrMalformed, describe(err))
		}
		el = got
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("%s %s: %w: no keys found", what, name, ErrMalformed)
	}
	return el, nil
}

// readEntities parses binary transferable keys. Unlike
// openpgp.ReadKeyRing it fails on any unreadable key instead of skipping it,
// so a truncated file is reported rather than silently shortened.
func readEntities(data []byte) (openpgp.EntityList, error) {
	if len(data) == 0 {
		return nil, errors.New("empty input")
	}
	packets := packet.NewReader(bytes.NewReader(data))
	var el openpgp.EntityList
	for {
		e, err := openpgp.ReadEntity(packets)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		el = append(el, e)
	}
	return el, nil
}

// describe turns go-crypto's terse errors into something a user can act on.
func describe(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated data (unexpected end of file)"
	}
	return err.Error()
}

func isArmored(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN PGP "))
}

// splitArmor returns each "-----BEGIN PGP" block of data (upstream KEYS
// files often concatenate several armored keys).
func splitArmor(data []byte) [][]byte {
	marker := []byte("-----BEGIN PGP ")
	var blocks [][]byte
	for {
		i := bytes.Index(data, marker)
		if i < 0 {
			return blocks
		}
		data = data[i:]
		j := bytes.Index(data[len(marker):], marker)
		if j < 0 {
			return append(blocks, data)
		}
		blocks = append(blocks, data[:len(marker)+j])
		data = data[len(marker)+j:]
	}
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrMalformed, maxKeyFile)
	}
	return data, nil
}

// ParseFingerprint normalises a full key fingerprint (40 hex digits for v4
// keys, 64 for v5/v6) to upper case. Spaces and a leading "0x" are allowed.
func ParseFingerprint(s string) (string, error) {
	f := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	f = strings.TrimPrefix(f, "0X")
	if len(f) != 40 && len(f) != 64 {
		return "", fmt.Errorf("%w %q: want 40 or 64 hex digits (a key ID is not enough)", ErrInvalidFingerprint, s)
	}
	if _, err := hex.DecodeString(f); err != nil {
		return "", fmt.Errorf("%w %q: not hexadecimal", ErrInvalidFingerprint, s)
	}
	return f, nil
}

func fingerprint(pk *packet.PublicKey) string {
	return strings.ToUpper(hex.EncodeToString(pk.Fingerprint))
}
