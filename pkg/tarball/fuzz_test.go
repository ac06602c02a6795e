package tarball

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/diff/*")
	for _, d := range dirs {
		for _, side := range []string{"a", "b"} {
			data, err := os.ReadFile(filepath.Join(d, side))
			if err != nil {
				f.Fatal(err)
			}
			if bytes.HasPrefix(data, []byte("# tarspec")) {
				data = buildSpec(f, string(data))
			}
			f.Add(data)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"))
	f.Add([]byte("\xfd7zXZ\x00\x00\x04"))
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\x00"))
	f.Add([]byte("BZh9"))
}

// FuzzReader: any input either reads to EOF or fails with an *InputError,
// without panicking, within a 1 MiB size limit (keeps each execution fast).
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(context.Background(), bytes.NewReader(data), WithMaxSize(1<<20), WithXZDecoder(XZGo))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Open error is not an *InputError: %v", err)
			}
			return
		}
		defer r.Close()
		for {
			m, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Next error is not an *InputError: %v", err)
				}
				return
			}
			if len(m.SHA256) != 64 {
				t.Fatalf("member %q without hash", m.Name)
			}
		}
		var out bytes.Buffer
		if err := Normalize(context.Background(), bytes.NewReader(data), &out, WithSort(), WithMaxSize(1<<20), WithXZDecoder(XZGo)); err != nil {
			return // e.g. names the output format cannot encode
		}
	})
}

// FuzzDiff: diffing an input against a mutation of itself never panics and
// every writer accepts the result.
func FuzzDiff(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		half := len(data) / 2
		b := append(bytes.Clone(data[:half]), data[half:]...)
		if half > 0 {
			b[half/2] ^= 0x20
		}
		src := func(name string, d []byte) source {
			return source{name: name, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(d)), nil }}
		}
		res, err := diffSources(context.Background(), src("a", data), src("b", b), WithMaxSize(1<<20), WithXZDecoder(XZGo))
		if err != nil {
			return
		}
		if res.Identical() != bytes.Equal(data, b) {
			t.Fatalf("Identical() = %v for inputs equal=%v", res.Identical(), bytes.Equal(data, b))
		}
		if !res.Identical() && len(res.Findings) == 0 {
			t.Fatal("different inputs without findings")
		}
		for _, w := range []func(io.Writer) error{res.WriteText, res.WriteJSON, res.WriteMarkdown} {
			if err := w(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}
