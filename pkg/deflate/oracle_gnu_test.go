package deflate

import (
	"fmt"
	"testing"
)

// TestGNUGzipOracles compares GNUGzip with the gzip -cn [--rsyncable] of
// Debian 11, 12 and 13 (gzip 1.10, 1.12, 1.13) on the whole corpus.
func TestGNUGzipOracles(t *testing.T) {
	oracles := gzipOracles(t)
	for _, c := range corpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, level := range levelsFor(c) {
				for _, rsync := range []bool{false, true} {
					args := []string{"-n", fmt.Sprintf("-%d", level)}
					if rsync {
						args = append(args, "--rsyncable")
					}
					got := gnu(t, c.data, WithLevel(level), WithRsyncable(rsync))
					for _, o := range oracles {
						want := o.compress(t, c.data, args...)
						requireSameBytes(t, want, got, fmt.Sprintf("gzip %s %v on %s", o.version, args, c.name))
					}
				}
			}
		})
	}
}

// TestGNUGzipHeaderName compares the header written for a named file with
// the one gzip 1.10, 1.12 and 1.13 write (gzip -c without -n on a file
// keeps its name and mtime; -n on a file drops both).
func TestGNUGzipHeaderName(t *testing.T) {
	data := textLike(5000, 11)
	dir := t.TempDir()
	p := dir + "/hello.txt"
	writeWithMTime(t, p, data, 1700000000)
	for _, o := range gzipOracles(t) {
		for _, level := range []int{1, 6, 9} {
			flag := fmt.Sprintf("-%d", level)
			got := gnu(t, data, WithLevel(level), WithName("hello.txt"), WithMTime(1700000000))
			requireSameBytes(t, o.compressFile(t, p, flag), got, "gzip "+o.version+" -c "+flag+" hello.txt")
			requireSameBytes(t, o.compressFile(t, p, "-n", flag), gnu(t, data, WithLevel(level)), "gzip "+o.version+" -cn "+flag+" hello.txt")
		}
	}
}
