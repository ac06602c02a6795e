package tarball

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
)

// buildSpec makes an archive from a member spec, one entry per line:
//
//	# comment
//	@format ustar|pax|gnu        (default pax: Go chooses per header)
//	@gzip mtime=N os=N name=S     (compress with gzip, header as given)
//	@global key=value ...         (pax global header before the next member)
//	@pad N                        (N zero bytes after the end-of-archive marker)
//	TYPE NAME [key=value ...]     TYPE: reg dir sym hard char block fifo
//
// Keys: mode (octal), uid, gid, uname, gname, mtime (unix seconds),
// content (Go-quoted), link, major, minor, pax.KEY. Values may be Go-quoted.
func buildSpec(t testing.TB, spec string) []byte {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	format := tar.FormatUnknown
	var gz map[string]string
	pad := 0
	sc := bufio.NewScanner(strings.NewReader(spec))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := splitSpec(t, line)
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if ok {
				kv[k] = v
			}
		}
		switch fields[0] {
		case "@format":
			format = map[string]tar.Format{"ustar": tar.FormatUSTAR, "pax": tar.FormatPAX, "gnu": tar.FormatGNU}[fields[1]]
			continue
		case "@gzip":
			gz = kv
			continue
		case "@pad":
			n, err := strconv.Atoi(fields[1])
			require.NoError(t, err)
			pad = n
			continue
		case "@global":
			require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: kv, Format: tar.FormatPAX}))
			continue
		}
		typ := map[string]byte{"reg": tar.TypeReg, "dir": tar.TypeDir, "sym": tar.TypeSymlink, "hard": tar.TypeLink,
			"char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}
		tf, ok := typ[fields[0]]
		require.True(t, ok, "spec line %q: unknown type", line)
		h := &tar.Header{Typeflag: tf, Name: fields[1], Mode: 0o644, Uname: "root", Gname: "root",
			ModTime: time.Unix(1700000000, 0), Format: format}
		if tf == tar.TypeDir {
			h.Mode = 0o755
		}
		content := ""
		for k, v := range kv {
			num := func() int64 {
				base := 10
				if k == "mode" {
					base = 8
				}
				n, err := strconv.ParseInt(v, base, 64)
				require.NoError(t, err, "spec line %q", line)
				return n
			}
			switch {
			case k == "mode":
				h.Mode = num()
			case k == "uid":
				h.Uid = int(num())
			case k == "gid":
				h.Gid = int(num())
			case k == "uname":
				h.Uname = v
			case k == "gname":
				h.Gname = v
			case k == "mtime":
				h.ModTime = time.Unix(num(), 0)
			case k == "content":
				content = v
			case k == "link":
				h.Linkname = v
			case k == "major":
				h.Devmajor = num()
			case k == "minor":
				h.Devminor = num()
			case strings.HasPrefix(k, "pax."):
				if h.PAXRecords == nil {
					h.PAXRecords = map[string]string{}
				}
				h.PAXRecords[strings.TrimPrefix(k, "pax.")] = v
			default:
				t.Fatalf("spec line %q: unknown key %q", line, k)
			}
		}
		if tf == tar.TypeReg {
			h.Size = int64(len(content))
		}
		require.NoError(t, tw.WriteHeader(h), "spec line %q", line)
		_, err := tw.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	tarBuf.Write(make([]byte, pad))
	if gz == nil {
		return tarBuf.Bytes()
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Name = gz["name"]
	if v, ok := gz["mtime"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		zw.ModTime = time.Unix(n, 0)
	}
	if v, ok := gz["os"]; ok {
		n, err := strconv.Atoi(v)
		require.NoError(t, err)
		zw.OS = byte(n)
	}
	_, err := zw.Write(tarBuf.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// splitSpec splits a line at spaces, keeping Go-quoted values together and
// unquoting them.
func splitSpec(t testing.TB, line string) []string {
	var out []string
	for line != "" {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			break
		}
		var tok strings.Builder
		for line != "" && line[0] != ' ' && line[0] != '\t' {
			if line[0] == '"' {
				q, err := strconv.QuotedPrefix(line)
				if err != nil {
					t.Fatalf("spec %q: %v", line, err)
				}
				u, _ := strconv.Unquote(q)
				tok.WriteString(u)
				line = line[len(q):]
				continue
			}
			tok.WriteByte(line[0])
			line = line[1:]
		}
		out = append(out, tok.String())
	}
	if len(out) < 2 && !strings.HasPrefix(out[0], "@") {
		t.Fatalf("spec line %q: want TYPE NAME", fmt.Sprint(out))
	}
	return out
}
