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
		want := systemGzip(t, data, args...)
		got := gnu(t, data, WithLevel(level), WithRsyncable(rsync))
		requireSameBytes(t, want, got, fmt.Sprintf("gzip %v on %d bytes", args, len(data)))
	})
}

// FuzzIdentifySegments checks the proof in segments on 600 KB inputs
// made of text, the fuzz bytes spliced in and repeated, and runs of
// zeros: for the file the system gzip (or the zlib emulation) makes, with
// resume points every 70 KB, it must prove the maker in segments (not
// by falling back to one run, which would mean a gap in the model) and
// agree with one sequential run.
//
//	go test -run '^$' -fuzz FuzzIdentifySegments -fuzztime 10m ./pkg/deflate
func FuzzIdentifySegments(f *testing.F) {
	if _, err := exec.LookPath("gzip"); err != nil {
		f.Fatalf("the system gzip makes the files: %v", err)
	}
	f.Add([]byte("\x05hello"), uint64(1))
	f.Add([]byte("\x13abcabcabd\x00\x00"), uint64(2))
	f.Add(append([]byte{0x2a}, randomBytes(500, 3)...), uint64(3))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		if len(in) == 0 {
			return
		}
		c := Candidate{Compressor: GNU, Level: 1 + int(in[0]%9), Rsyncable: in[0]&0x10 != 0}
		if in[0]&0x20 != 0 {
			c = Candidate{Compressor: Zlib, Level: c.Level}
		}
		data := textLike(600_000, seed)
		if p := in[1:]; len(p) > 0 {
			for i := 0; i < len(data); i += 9973 + len(p) {
				copy(data[i:], p)
			}
			if in[0]&0x40 != 0 {
				copy(data[100_000:], bytes.Repeat(p, 30_000/len(p)+1)[:30_000])
			}
		}
		if in[0]&0x80 != 0 {
			clear(data[170_000:200_000])
		}
		var file []byte
		if c.Compressor == GNU {
			args := []string{"-cn", fmt.Sprintf("-%d", c.Level)}
			if c.Rsyncable {
				args = append(args, "--rsyncable")
			}
			file = systemGzip(t, data, args...)
		} else {
			file = zlibGzipBytes(t, data, c.Level)
		}
		seq := identifyWith(t, file, WithCandidates(c), WithWorkers(1))
		par := identifyWith(t, file, WithCandidates(c), WithWorkers(2), withSpacing(70_000))
		if len(seq.Matches) != 1 || len(par.Matches) != 1 {
			t.Fatalf("%s: matches %+v (one run) and %+v (segments); rejections %+v, %+v", c, seq.Matches, par.Matches, seq.Rejected, par.Rejected)
		}
		if par.Matches[0].Segments < 2 {
			t.Fatalf("%s: proven in %d segments (0: fell back to one run)", c, par.Matches[0].Segments)
		}
	})
}
