// Command gen writes a gzip'ed tar of N one-byte members (the member-count
// benchmark's input): names dNNN/fNNNNNNN in reverse order, so that
// normalize --sort has to sort them all; with -flip K, every K-th member's
// byte differs (the other side of a diff).
package main

import (
	"archive/tar"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 1000000, "members")
	flip := flag.Int("flip", 0, "change every K-th member's content (0: none)")
	out := flag.String("o", "", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	mtime := time.Unix(1712000000, 0)
	for i := *n - 1; i >= 0; i-- {
		b := byte('a' + i%26)
		if *flip > 0 && i%*flip == 0 {
			b = 'Z'
		}
		hdr := &tar.Header{Name: fmt.Sprintf("d%03d/f%07d", i%1000, i), Mode: 0o644, Size: 1, ModTime: mtime, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		tw.Write([]byte{b})
	}
	if err := tw.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	zw.Close()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
