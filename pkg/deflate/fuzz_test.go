package deflate

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"
)

// FuzzGNUGzip compares GNUGzip with the system gzip (GNU gzip; on Debian 12
// gzip 1.12) on random inputs, levels and --rsyncable. The first input
// byte picks the level and the flag; the inputs are stretched by
// repetition so that matches, window slides and rsync boundaries occur.
//
//	go test -run '^$' -fuzz FuzzGNUGzip -fuzztime 10m ./pkg/deflate
func FuzzGNUGzip(f *testing.F) {
	if _, err := exec.LookPath("gzip"); err != nil {
		f.Fatalf("the system gzip is the oracle: %v", err)
	}
	f.Add([]byte{5}, uint16(0))
	f.Add([]byte("\x08hello hello hello world"), uint16(3000))
	f.Add(append([]byte{0x11}, textLike(3000, 1)...), uint16(40))
	f.Fuzz(func(t *testing.T, in []byte, rep uint16) {
		if len(in) == 0 {
			return
		}
		level := int(in[0]%9) + 1
		rsync := in[0]&0x10 != 0
		data := bytes.Repeat(in[1:], int(rep%64)+1)
		if len(data) > 1<<20 {
			data = data[:1<<20]
		}
		args := []string{"-cn", fmt.Sprintf("-%d", level)}
		if rsync {
			args = append(args, "--rsyncable")
		}
		cmd := exec.Command("gzip", args...)
		cmd.Stdin = bytes.NewReader(data)
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("gzip %v: %v", args, err)
		}
		got := gnu(t, data, WithLevel(level), WithRsyncable(rsync))
		requireSameBytes(t, want, got, fmt.Sprintf("gzip %v on %d bytes", args, len(data)))
	})
}
